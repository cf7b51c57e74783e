//! Plug a host network written in Rust into libfden through the vtable,
//! train FDEN on its latents and decode a mix of one input's identity and
//! another's style. A host that panics comes back as an error carrying the
//! panic's message.
//!
//!     cargo run --offline --example host_net

use fden::{Config, Dataset, HostNet, InvNet, Model, Param, Sampler, Status};

const INPUT: usize = 12;
const LATENT: usize = 8;

/// A fixed linear host: z = W x with W's rows orthonormal (Gram-Schmidt
/// of a seeded matrix), x = W^T z. Stands in for a pretrained encoder.
struct Linear {
    w: Vec<f32>, // LATENT x INPUT
    fail_after: Option<usize>,
    calls: usize,
}

impl Linear {
    fn new(seed: u64) -> Linear {
        let mut s = seed;
        let mut w: Vec<f64> = (0..LATENT * INPUT)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f64 / (1u64 << 24) as f64) - 0.5
            })
            .collect();
        for r in 0..LATENT {
            for q in 0..r {
                let d: f64 = (0..INPUT).map(|j| w[r * INPUT + j] * w[q * INPUT + j]).sum();
                for j in 0..INPUT {
                    w[r * INPUT + j] -= d * w[q * INPUT + j];
                }
            }
            let n = (0..INPUT).map(|j| w[r * INPUT + j].powi(2)).sum::<f64>().sqrt();
            for j in 0..INPUT {
                w[r * INPUT + j] /= n;
            }
        }
        Linear { w: w.iter().map(|&v| v as f32).collect(), fail_after: None, calls: 0 }
    }
}

impl HostNet for Linear {
    fn input_dim(&self) -> usize {
        INPUT
    }
    fn latent_dim(&self) -> usize {
        LATENT
    }
    fn encode(&mut self, x: &[f32], z: &mut [f32]) -> Result<(), String> {
        self.calls += 1;
        if matches!(self.fail_after, Some(n) if self.calls > n) {
            panic!("encoder out of GPU memory on call {}", self.calls);
        }
        for (xi, zi) in x.chunks(INPUT).zip(z.chunks_mut(LATENT)) {
            for (r, o) in zi.iter_mut().enumerate() {
                *o = (0..INPUT).map(|j| self.w[r * INPUT + j] * xi[j]).sum();
            }
        }
        Ok(())
    }
    fn decode(&mut self, z: &[f32], x: &mut [f32]) -> Result<(), String> {
        for (zi, xi) in z.chunks(LATENT).zip(x.chunks_mut(INPUT)) {
            for (j, o) in xi.iter_mut().enumerate() {
                *o = (0..LATENT).map(|r| self.w[r * INPUT + j] * zi[r]).sum();
            }
        }
        Ok(())
    }
}

fn main() -> fden::Result<()> {
    // Inputs in the host's row space: 8 classes x 25 rows.
    let mut host = InvNet::from_host(Linear::new(3))?;
    let mut s = 7u64;
    let mut noise = move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    };
    let centres: Vec<f32> = (0..8 * LATENT).map(|_| 6.0 * noise()).collect();
    let (mut zc, mut y) = (Vec::new(), Vec::new());
    for c in 0..8 {
        for _ in 0..25 {
            zc.extend((0..LATENT).map(|j| centres[c * LATENT + j] + noise()));
            y.push(c as i32);
        }
    }
    let x = host.decode(&zc)?; // inputs the host maps back exactly
    let z = host.encode(&x)?;
    let err = z.iter().zip(&zc).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    println!("host: {} inputs of {INPUT} -> latents of {LATENT}, max |encode(decode(z)) - z| = {err:.1e}",
             z.len() / LATENT);
    assert!(err < 1e-4);

    let mut cfg = Config::new()?;
    cfg.set_int(Param::Dim, LATENT as i64)?.set_int(Param::FlowLayers, 2)?.set_int(Param::FlowWidth, 16)?
        .set_int(Param::StatWidth1, 32)?.set_int(Param::StatWidth2, 16)?.set_int(Param::StatWidth3, 8)?;
    let mut model = Model::new(&cfg)?;
    model.fit_standardization(&z)?;
    let ds = Dataset::from_slices(&z, &y, LATENT)?;
    let mut sampler = Sampler::new(&ds, 4, 1, 2, 1)?;
    for _ in 0..100 {
        let b = sampler.next_batch(4)?;
        model.train_step(&b.episodes())?;
    }

    // Identity of row 0 (class 0), style of row 30 (class 1), decoded by the host.
    let (ide, sty) = model.disentangle(&z)?;
    let (wi, ws) = (model.ide_dim(), model.sty_dim());
    let mixed = model.entangle(&ide[..wi], &sty[30 * ws..31 * ws])?;
    let image = host.decode(&mixed)?;
    println!("mixed input: {:?}", image.iter().map(|v| format!("{v:.2}")).collect::<Vec<_>>());
    assert_eq!(image.len(), INPUT);

    // A panicking host: the panic's message is in the error.
    let mut flaky = InvNet::from_host(Linear { fail_after: Some(1), ..Linear::new(3) })?;
    flaky.encode(&x[..INPUT])?;
    let hook = std::panic::take_hook(); // the default hook would print the panic too
    std::panic::set_hook(Box::new(|_| {}));
    let e = flaky.encode(&x[..INPUT]).unwrap_err();
    std::panic::set_hook(hook);
    println!("host failure: {e}");
    assert_eq!(e.status, Status::Host);
    assert!(e.message.contains("encoder out of GPU memory on call 2"), "{e}");
    Ok(())
}
