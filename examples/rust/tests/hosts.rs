//! The built-in image hosts with tiny budgets: InvNet::fit_ali and
//! InvNet::fit_conv.

use fden::{AliOptions, ConvOptions, Error, InvNet, Status};

fn rng(state: &mut u64) -> f32 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
}

fn blobs(n: usize, h: usize, w: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    let mut x = Vec::with_capacity(n * h * w);
    for _ in 0..n {
        let (cy, cx) = ((rng(&mut s) + 0.5) * h as f32, (rng(&mut s) + 0.5) * w as f32);
        for yy in 0..h {
            for xx in 0..w {
                let d = (yy as f32 - cy).powi(2) + (xx as f32 - cx).powi(2);
                x.push((-d / 8.0).exp());
            }
        }
    }
    x
}

#[test]
fn ali_fit_tiny() {
    let x = blobs(32, 20, 20, 3);
    let opts = AliOptions { base_channels: Some(2), epochs: Some(1), batch: Some(16), seed: Some(5),
                            l2_weight: Some(10.0), ..Default::default() };
    let mut net = InvNet::fit_ali(&x, (20, 20, 1), 4, &opts).unwrap();
    assert_eq!((net.input_dim(), net.latent_dim()), (400, 4));
    let z = net.encode(&x).unwrap();
    let (mu, ls) = net.encode_dist(&x).unwrap();
    assert_eq!(z, mu, "encode is q(z|x)'s mean");
    assert!(ls.iter().all(|v| v.is_finite()));
    let back = net.decode(&z).unwrap();
    assert_eq!(back.len(), x.len());
    assert!(back.iter().all(|v| (0.0..=1.0).contains(v)), "sigmoid output");
    let path = std::env::temp_dir().join(format!("fden-rust-ali-{}.fden", std::process::id()));
    net.save(&path).unwrap();
    let mut again = InvNet::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(again.encode(&x).unwrap(), z);
    // the options reach the library: another seed, other weights; tanh output
    let mut other = InvNet::fit_ali(&x, (20, 20, 1), 4, &AliOptions { seed: Some(6), ..opts.clone() }).unwrap();
    assert_ne!(other.encode(&x).unwrap(), z);
    let xt: Vec<f32> = x.iter().map(|v| 2.0 * v - 1.0).collect();
    let mut t = InvNet::fit_ali(&xt, (20, 20, 1), 4, &AliOptions { tanh: Some(true), ..opts.clone() }).unwrap();
    let zt = t.encode(&xt).unwrap();
    let bt = t.decode(&zt).unwrap();
    assert!(bt.iter().all(|v| (-1.0..=1.0).contains(v)) && bt.iter().any(|&v| v < 0.0));
    // refusals
    let e = InvNet::fit_ali(&blobs(4, 8, 8, 1), (8, 8, 1), 4, &opts).unwrap_err();
    assert_eq!(e.status, Status::Invalid, "{e}");
    let e = InvNet::fit_ali(&x, (20, 20, 1), 4, &AliOptions { dropout: Some(1.0), ..opts.clone() }).unwrap_err();
    assert_eq!(e.status, Status::Invalid, "{e}");
    let e = InvNet::fit_ali(&x[1..], (20, 20, 1), 4, &opts).unwrap_err();
    assert_eq!(e.status, Status::Shape);
}

#[test]
fn conv_fit_tiny() {
    let x = blobs(32, 8, 12, 4);
    let opts = ConvOptions { base_channels: Some(2), epochs: Some(1), batch: Some(16), seed: Some(1),
                             ..Default::default() };
    let mut net = InvNet::fit_conv(&x, (8, 12, 1), 3, &opts).unwrap();
    assert_eq!((net.input_dim(), net.latent_dim()), (96, 3));
    let zc = net.encode(&x).unwrap();
    let back = net.decode(&zc).unwrap();
    assert!(back.iter().all(|v| (0.0..=1.0).contains(v)));
    let e: Error = InvNet::fit_conv(&x, (8, 12, 1), 3, &ConvOptions { time_budget: Some(-1.0), ..opts })
        .unwrap_err();
    assert_eq!(e.status, Status::Invalid, "{e}");
}

#[test]
fn conv_fit_contrast() {
    let x = blobs(32, 8, 12, 4);
    let opts = ConvOptions { base_channels: Some(2), epochs: Some(1), batch: Some(16), seed: Some(1),
                             contrast: Some(0.5), aug_shift: Some(1.0), ..Default::default() };
    let mut net = InvNet::fit_conv(&x, (8, 12, 1), 3, &opts).unwrap();
    assert_eq!(net.encode(&x).unwrap().len(), 32 * 3);
    let bad = ConvOptions { contrast: Some(0.5), aug_scale: Some(1.0), ..opts };
    assert!(InvNet::fit_conv(&x, (8, 12, 1), 3, &bad).is_err());
}
