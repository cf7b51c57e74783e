//! The safe wrapper against the real library: train, disentangle, entangle,
//! save and load, host networks through the vtable, data and errors.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use fden::{
    status, Config, DisentanglerKind, Dataset, Episodes, HostNet, InvNet, LrDecay, Model, Param, Sampler,
};

const DIM: usize = 16;

struct Rng(u64);
impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(2685821657736338717) >> 11) as f64 / 9007199254740992.0
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-12), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Class-structured latents: a centre per class plus low-rank style noise.
fn latents(classes: usize, per: usize, seed: u64) -> (Vec<f32>, Vec<i32>) {
    let mut r = Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1);
    let centres: Vec<f64> = (0..classes * DIM).map(|_| 2.0 * r.normal()).collect();
    let basis: Vec<f64> = (0..3 * DIM).map(|_| r.normal()).collect();
    let (mut z, mut y) = (Vec::new(), Vec::new());
    for c in 0..classes {
        for _ in 0..per {
            let s: Vec<f64> = (0..3).map(|_| r.normal()).collect();
            for j in 0..DIM {
                let st: f64 = (0..3).map(|k| s[k] * basis[k * DIM + j]).sum();
                z.push((centres[c * DIM + j] + st + 0.1 * r.normal()) as f32);
            }
            y.push(c as i32);
        }
    }
    (z, y)
}

fn small_config(seed: f64) -> Config {
    let mut cfg = Config::new().unwrap();
    for (k, v) in [
        (Param::Dim, DIM as f64),
        (Param::DisWidth, 32.0),
        (Param::DisTrunkDepth, 1.0),
        (Param::DisHeadDepth, 1.0),
        (Param::StatWidth1, 32.0),
        (Param::StatWidth2, 16.0),
        (Param::StatWidth3, 8.0),
        (Param::EntBranchWidth, 16.0),
        (Param::EntBranchDepth, 1.0),
        (Param::EntTrunkWidth, 32.0),
        (Param::EntTrunkDepth, 1.0),
        (Param::Dropout, 0.0),
        (Param::Lr, 1e-3),
        (Param::Seed, seed),
        // the paper's MLP D and E (the default is the flow) unless a test asks
        (Param::Disentangler, DisentanglerKind::Mlp as i32 as f64),
        (Param::Xcorr, 0.0),
        (Param::StyAdv, 0.0),
    ] {
        cfg.set(k, v).unwrap();
    }
    cfg
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fden-rust-{}-{}", std::process::id(), name));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn version_matches_crate() {
    assert_eq!(fden::version(), env!("CARGO_PKG_VERSION"));
    let parts: Vec<u32> = fden::version().split('.').map(|p| p.parse().unwrap()).collect();
    assert_eq!(fden::version_number(), parts[0] * 10000 + parts[1] * 100 + parts[2]);
}

#[test]
fn config_errors_carry_detail() {
    let mut cfg = Config::new().unwrap();
    assert_eq!(cfg.get(Param::Dim).unwrap(), 256.0);
    cfg.set(Param::Dim, 32.0).unwrap();
    assert_eq!(cfg.get(Param::Dim).unwrap(), 32.0);
    let (_, hi) = fden::bounds(Param::Dropout).unwrap();
    let e = cfg.set(Param::Dropout, hi + 1.0).unwrap_err();
    assert_eq!(e.status, status::INVALID);
    assert!(!e.message.is_empty());
    assert!(e.to_string().contains(&e.message));
    assert_ne!(e.reason(), fden::strerror(status::IO));
    assert_eq!(cfg.set_raw(9999, 1.0).unwrap_err().status, status::INVALID);
}

#[test]
fn train_disentangle_entangle() {
    let (z, y) = latents(10, 30, 1);
    let ds = Dataset::from_slices(&z, &y, DIM).unwrap();
    let mut sampler = Sampler::new(&ds, 5, 1, 1, 3).unwrap();
    let mut model = Model::new(&small_config(7.0)).unwrap();
    assert_eq!(model.dim(), DIM);

    let err = |m: &Model| {
        let (ide, sty) = m.disentangle(&z).unwrap();
        let zt = m.entangle(&ide, &sty).unwrap();
        zt.iter().zip(&z).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>() / z.len() as f64
    };
    let before = err(&model);
    let mut last = None;
    for _ in 0..200 {
        let b = sampler.next_batch(8).unwrap();
        last = Some(model.train_step(&b.episodes()).unwrap());
    }
    let st = last.unwrap();
    assert_eq!(st.step, 200);
    assert_eq!(model.step(), 200);
    assert!(st.loss.is_finite() && (0.0..=1.0).contains(&st.accuracy));
    assert!(err(&model) < before, "reconstruction did not improve");

    let (ide, sty) = model.disentangle(&z[..7 * DIM]).unwrap();
    assert_eq!((ide.len(), sty.len()), (7 * DIM, 7 * DIM));
    assert_eq!(model.disentangle(&z[..7 * DIM]).unwrap().0, ide); // evaluation mode
    let (dide, dsty) = model.disentangler().run(&z[..7 * DIM]).unwrap();
    assert_eq!((dide, dsty), (ide.clone(), sty.clone()));
    assert_eq!(model.entangler().run(&ide, &sty).unwrap(), model.entangle(&ide, &sty).unwrap());
    assert!(model.factorizer().mine(&ide, &sty, 1).unwrap().is_finite());
}

#[test]
fn style_classifier_reads_episode_classes() {
    // Param::StyCls trains a classifier of the global class from f_sty: the
    // library needs fden_episodes.classes, which Batch::episodes() passes.
    let (z, y) = latents(10, 30, 1);
    let ds = Dataset::from_slices(&z, &y, DIM).unwrap();
    let mut sampler = Sampler::new(&ds, 5, 1, 1, 3).unwrap();
    let mut cfg = small_config(7.0);
    cfg.set(Param::StyCls, 1.0).unwrap();
    cfg.set(Param::StyClsClasses, 10.0).unwrap();
    let mut model = Model::new(&cfg).unwrap();
    let b = sampler.next_batch(4).unwrap();
    assert_eq!(b.episodes().classes, Some(&b.classes[..]));
    let st = model.train_step(&b.episodes()).unwrap();
    assert_eq!(st.step, 1);
    // at the start the classifier is near chance: log(10) nats
    assert!(st.l_sty_cls > 1.0 && st.l_sty_cls < 4.0, "l_sty_cls {}", st.l_sty_cls);
    assert!((0.0..=1.0).contains(&st.sty_cls_accuracy));
    // without classes, the library refuses the batch
    let bare = Episodes::new(&b.z, &b.labels, 5, 1, 1);
    let e = model.train_step(&bare).unwrap_err();
    assert_eq!(e.status, status::INVALID);
    assert!(e.message.contains("classes"), "{}", e.message);
    // the library reads the ids where they are: one out of range
    let mut bad = b.classes.clone();
    bad[7] = 10;
    let e = model.train_step(&bare.with_classes(&bad)).unwrap_err();
    assert_eq!(e.status, status::INVALID);
    assert!(e.message.contains("classes[7] = 10"), "{}", e.message);
    // one id per episode class, checked before the call
    let e = model.train_step(&bare.with_classes(&b.classes[..3])).unwrap_err();
    assert_eq!(e.status, status::SHAPE);
    assert_eq!(model.step(), 1);
    // without the classifier the ids are not needed
    let mut plain = Model::new(&small_config(7.0)).unwrap();
    let st = plain.train_step(&bare).unwrap();
    assert_eq!(st.l_sty_cls, 0.0);
    assert_eq!(st.l_sty_between, 0.0);
    // the between-class share of f_sty (Param::StyBetween): in (0, 1]
    let mut cfg = small_config(7.0);
    cfg.set(Param::StyBetween, 2.0).unwrap();
    let mut model = Model::new(&cfg).unwrap();
    let st = model.train_step(&bare).unwrap();
    assert!(st.l_sty_between > 0.0 && st.l_sty_between <= 1.0, "l_sty_between {}", st.l_sty_between);
}

#[test]
fn set_param_changes_the_schedule() {
    // small_config keeps the default preset's cosine schedule, no horizon
    let (z, y) = latents(10, 30, 4);
    let ds = Dataset::from_slices(&z, &y, DIM).unwrap();
    let mut sampler = Sampler::new(&ds, 5, 1, 1, 3).unwrap();
    let mut model = Model::new(&small_config(7.0)).unwrap();
    let (lr, f, horizon) = (1e-3, 0.1, 4.0);
    assert_eq!(model.config().unwrap().get(Param::LrDecay).unwrap(), LrDecay::Cosine as i32 as f64);
    let mut step = |m: &mut Model| m.train_step(&sampler.next_batch(4).unwrap().episodes()).unwrap();
    assert_eq!(step(&mut model).lr, lr, "no horizon: the constant rate");
    model.set_param(Param::LrDecaySteps, horizon).unwrap();
    assert_eq!(model.config().unwrap().get(Param::LrDecaySteps).unwrap(), horizon);
    // the rate of step t+1 is lr (f + (1 - f) (1 + cos(pi min(t, T) / T)) / 2)
    for t in 1..=6 {
        let st = step(&mut model);
        let cos = (std::f64::consts::PI * (t as f64).min(horizon) / horizon).cos();
        let want = lr * (f + (1.0 - f) * 0.5 * (1.0 + cos));
        assert!((st.lr - want).abs() <= 1e-15, "step {}: lr {} want {want}", t + 1, st.lr);
        assert!(st.lr < lr);
    }
    // an enum key from its type; the step schedule: lr f^floor(t / T)
    model.set_param_enum(LrDecay::Step).unwrap();
    model.set_param(Param::LrDecayFactor, 0.5).unwrap();
    assert!((step(&mut model).lr - 0.5 * lr).abs() <= 1e-15);

    // a horizon set before the first step: step 1 runs at lr itself
    let mut fresh = Model::new(&small_config(7.0)).unwrap();
    fresh.set_param(Param::LrDecaySteps, 10.0).unwrap();
    assert_eq!(step(&mut fresh).lr, lr);
    assert!(step(&mut fresh).lr < lr);
}

#[test]
fn set_param_rejects_fixed_keys_and_bad_values() {
    let mut model = Model::new(&small_config(7.0)).unwrap();
    for (key, value) in [(Param::Lr, 1e-2), (Param::Dim, 8.0), (Param::Seed, 3.0)] {
        let e = model.set_param(key, value).unwrap_err();
        assert_eq!(e.status, status::INVALID);
        let name = fden::key_name(key).unwrap();
        assert!(e.message.contains(&format!("({name}) is fixed when the model is made")), "{e}");
        assert!(e.message.contains("lr_decay_steps"), "names what may change: {e}");
        assert_eq!(model.last_error(), e.message);
    }
    for (key, value, why) in [
        (Param::LrDecayFactor, 2.0, "outside [0, 1]"),
        (Param::LrDecaySteps, -1.0, "outside"),
        (Param::LrDecaySteps, 2.5, "not an integer"),
        (Param::LrDecay, 3.0, "outside [0, 2]"),
    ] {
        let e = model.set_param(key, value).unwrap_err();
        assert_eq!(e.status, status::INVALID);
        let name = fden::key_name(key).unwrap();
        assert!(e.message.contains(&format!("({name})")) && e.message.contains(why), "{e}");
    }
    // nothing changed
    let cfg = model.config().unwrap();
    assert_eq!(cfg.get(Param::Lr).unwrap(), 1e-3);
    assert_eq!(cfg.get(Param::Dim).unwrap(), DIM as f64);
    assert_eq!(cfg.get(Param::LrDecaySteps).unwrap(), 0.0);
    assert_eq!(cfg.get(Param::LrDecayFactor).unwrap(), 0.1);
}

#[test]
fn flow_disentangler_is_exactly_inverted() {
    let (z, y) = latents(10, 30, 2);
    let ds = Dataset::from_slices(&z, &y, DIM).unwrap();
    let mut sampler = Sampler::new(&ds, 5, 1, 1, 3).unwrap();
    let mut cfg = small_config(3.0);
    cfg.set(Param::Disentangler, DisentanglerKind::Flow as i32 as f64).unwrap();
    cfg.set(Param::IdeDim, 5.0).unwrap();
    cfg.set(Param::FlowLayers, 4.0).unwrap();
    cfg.set(Param::FlowWidth, 16.0).unwrap();
    cfg.set(Param::StyAdv, 0.5).unwrap();
    let mut model = Model::new(&cfg).unwrap();
    assert_eq!((model.ide_dim(), model.sty_dim()), (5, DIM - 5));
    for _ in 0..30 {
        let b = sampler.next_batch(8).unwrap();
        let st = model.train_step(&b.episodes()).unwrap();
        assert_eq!(st.l_r, 0.0);
    }
    let (ide, sty) = model.disentangle(&z[..9 * DIM]).unwrap();
    assert_eq!((ide.len(), sty.len()), (9 * 5, 9 * (DIM - 5)));
    let back = model.entangle(&ide, &sty).unwrap();
    for (a, b) in back.iter().zip(&z[..9 * DIM]) {
        assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
    }
    assert!(model.entangle(&sty, &ide).is_err());
}

#[test]
fn same_seed_same_model() {
    let (z, _) = latents(3, 4, 2);
    let a = Model::new(&small_config(5.0)).unwrap();
    let b = Model::new(&small_config(5.0)).unwrap();
    let c = Model::new(&small_config(6.0)).unwrap();
    assert_eq!(a.disentangle(&z).unwrap(), b.disentangle(&z).unwrap());
    assert_ne!(a.disentangle(&z).unwrap(), c.disentangle(&z).unwrap());
}

#[test]
fn save_and_load() {
    let (z, y) = latents(10, 20, 3);
    let ds = Dataset::from_slices(&z, &y, DIM).unwrap();
    let mut sampler = Sampler::new(&ds, 5, 1, 1, 4).unwrap();
    let mut model = Model::new(&small_config(7.0)).unwrap();
    for _ in 0..5 {
        model.train_step(&sampler.next_batch(4).unwrap().episodes()).unwrap();
    }
    let dir = tmp("save");
    let path = dir.join("model.fden");
    model.save(&path).unwrap();
    let mut loaded = Model::load(&path).unwrap();
    assert_eq!(loaded.step(), 5);
    assert_eq!(loaded.dim(), DIM);
    assert_eq!(loaded.disentangle(&z).unwrap(), model.disentangle(&z).unwrap());
    assert_eq!(loaded.config().unwrap().get(Param::Seed).unwrap(), 7.0);
    let b = sampler.next_batch(4).unwrap();
    let s1 = model.train_step(&b.episodes()).unwrap();
    let s2 = loaded.train_step(&b.episodes()).unwrap();
    assert_eq!(s1.loss, s2.loss, "a loaded model continues training identically");

    let e = Model::load(dir.join("missing.fden")).unwrap_err();
    assert_eq!(e.status, status::IO);
    assert!(e.message.contains("missing.fden"), "{e}");
    std::fs::write(dir.join("junk.fden"), b"junk junk junk junk junk junk").unwrap();
    let e = Model::load(dir.join("junk.fden")).unwrap_err();
    assert!([status::FORMAT, status::CORRUPT, status::VERSION].contains(&e.status), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn argument_errors() {
    let mut model = Model::new(&small_config(1.0)).unwrap();
    let e = model.disentangle(&[0.0; 5]).unwrap_err();
    assert_eq!(e.status, status::SHAPE);
    let z = vec![0f32; 10 * DIM];
    let labels = vec![0i32; 9];
    let e = model.train_step(&Episodes::new(&z, &labels, 5, 1, 1)).unwrap_err();
    assert_eq!(e.status, status::SHAPE);
    // the library's own check: labels out of [0, ways)
    let labels = vec![9i32; 10];
    let e = model.train_step(&Episodes::new(&z, &labels, 5, 1, 1)).unwrap_err();
    assert!(e.status == status::INVALID || e.status == status::SHAPE, "{e}");
    assert!(!e.message.is_empty());
    // non-finite input is rejected and the model is unchanged
    let (zz, _) = latents(5, 2, 9);
    let mut bad = zz.clone();
    bad[3] = f32::NAN;
    let lab: Vec<i32> = (0..10).map(|i| (i % 5) as i32).collect();
    let before = model.disentangle(&zz).unwrap();
    let e = model.train_step(&Episodes::new(&bad, &lab, 5, 1, 1)).unwrap_err();
    assert!(e.status == status::NONFINITE || e.status == status::INVALID, "{e}");
    assert_eq!(model.step(), 0);
    assert_eq!(model.disentangle(&zz).unwrap(), before);
}

#[test]
fn predict_few_shot() {
    let (z, y) = latents(10, 20, 5);
    let ds = Dataset::from_slices(&z, &y, DIM).unwrap();
    let (train, test) = ds.split(5).unwrap();
    assert_eq!(train.len() + test.len(), ds.len());
    let mut model = Model::new(&small_config(3.0)).unwrap();
    let mut s = Sampler::new(&train, 5, 1, 1, 1).unwrap();
    for _ in 0..100 {
        model.train_step(&s.next_batch(8).unwrap().episodes()).unwrap();
    }
    let mut ts = Sampler::new(&test, 5, 2, 4, 2).unwrap();
    let (mut right, mut total) = (0, 0);
    for _ in 0..10 {
        let b = ts.next_batch(1).unwrap();
        let ns = 5 * 2;
        let (pred, prob) =
            model.predict(&b.z[..ns * DIM], &b.labels[..ns], 5, &b.z[ns * DIM..]).unwrap();
        assert_eq!(pred.len(), 20);
        for (q, p) in pred.iter().enumerate() {
            let row = &prob[q * 5..(q + 1) * 5];
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
            right += (*p == b.labels[ns + q]) as usize;
            total += 1;
        }
    }
    let acc = right as f64 / total as f64;
    assert!(acc > 0.4, "few-shot accuracy {acc} on well separated classes (chance 0.2)");
}

/// A host network: z = 2x, x = z/2; counts drops.
struct Doubler {
    dropped: Arc<AtomicUsize>,
    fail: bool,
}

impl HostNet for Doubler {
    fn input_dim(&self) -> usize {
        4
    }
    fn latent_dim(&self) -> usize {
        4
    }
    fn encode(&mut self, x: &[f32], z: &mut [f32]) -> Result<(), String> {
        if self.fail {
            return Err("the host said no".into());
        }
        for (o, i) in z.iter_mut().zip(x) {
            *o = 2.0 * i;
        }
        Ok(())
    }
    fn decode(&mut self, z: &[f32], x: &mut [f32]) -> Result<(), String> {
        if self.fail {
            panic!("host panic");
        }
        for (o, i) in x.iter_mut().zip(z) {
            *o = i / 2.0;
        }
        Ok(())
    }
}

impl Drop for Doubler {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn host_network_through_vtable() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut net = InvNet::from_host(Doubler { dropped: dropped.clone(), fail: false }).unwrap();
    assert_eq!((net.input_dim(), net.latent_dim()), (4, 4));
    let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let z = net.encode(&x).unwrap();
    assert_eq!(z, x.iter().map(|v| 2.0 * v).collect::<Vec<_>>());
    assert_eq!(net.decode(&z).unwrap(), x.to_vec());
    assert_eq!(net.encode_dist(&x).unwrap_err().status, status::UNSUPPORTED);
    assert_eq!(net.save(tmp("host").join("n")).unwrap_err().status, status::UNSUPPORTED);
    drop(net);
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "destroy dropped the host once");

    let mut bad = InvNet::from_host(Doubler { dropped: dropped.clone(), fail: true }).unwrap();
    let e = bad.encode(&x).unwrap_err();
    assert_eq!(e.status, status::HOST);
    assert!(e.message.contains("the host said no"), "{e}");
    let e = bad.decode(&x).unwrap_err();
    assert_eq!(e.status, status::HOST);
    assert!(e.message.contains("host callback panicked: host panic"), "{e}");
}

#[test]
fn pca_fit_save_load() {
    let mut r = Rng(11);
    let (n, d, k) = (200, 24, 4);
    let a: Vec<f64> = (0..n * k).map(|_| r.normal()).collect();
    let b: Vec<f64> = (0..k * d).map(|_| r.normal()).collect();
    let x: Vec<f32> = (0..n * d)
        .map(|i| (0..k).map(|t| a[(i / d) * k + t] * b[t * d + i % d]).sum::<f64>() as f32 + 1.0)
        .collect();
    let mut net = InvNet::fit_pca(&x, d, k, 1).unwrap();
    let zz = net.encode(&x).unwrap();
    let back = net.decode(&zz).unwrap();
    let maxerr = back.iter().zip(&x).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
    assert!(maxerr < 0.05, "PCA of rank-{k} data reconstructs, max error {maxerr}");
    let dir = tmp("pca");
    net.save(dir.join("pca.fdn")).unwrap();
    let mut loaded = InvNet::load(dir.join("pca.fdn")).unwrap();
    assert_eq!(loaded.encode(&x).unwrap(), net.encode(&x).unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn conv_fit_save_load() {
    // 96 one-blob images of 6 x 10 x 2, channels last
    let (h, w, c) = (6usize, 10usize, 2usize);
    let mut r = Rng(5);
    let mut x = Vec::with_capacity(96 * h * w * c);
    for _ in 0..96 {
        let (cy, cx) = (1.0 + 3.0 * r.uniform(), 1.0 + 7.0 * r.uniform());
        for y in 0..h {
            for xx in 0..w {
                let d2 = (y as f64 - cy).powi(2) + (xx as f64 - cx).powi(2);
                for _ in 0..c {
                    x.push((-d2 / 4.0).exp() as f32);
                }
            }
        }
    }
    let opts = fden::ConvOptions { base_channels: Some(4), epochs: Some(2), batch: Some(32),
                                   seed: Some(3), bce: Some(true), ..Default::default() };
    let mut net = InvNet::fit_conv(&x, (h, w, c), 4, &opts).unwrap();
    let z = net.encode(&x).unwrap();
    assert_eq!(z.len(), 96 * 4);
    let y = net.decode(&z).unwrap();
    assert!(y.iter().all(|v| (0.0..=1.0).contains(v)), "sigmoid output");
    let dir = tmp("conv");
    net.save(dir.join("conv.fdn")).unwrap();
    let mut loaded = InvNet::load(dir.join("conv.fdn")).unwrap();
    assert_eq!(loaded.encode(&x).unwrap(), z);
    assert_eq!(loaded.decode(&z).unwrap(), y);
    std::fs::remove_dir_all(dir).unwrap();
    // a shape that is not the rows' width is refused
    assert!(InvNet::fit_conv(&x, (6, 9, 2), 4, &opts).is_err());
}

#[test]
fn sampler_reset_matches_fresh_sampler() {
    let (z, y) = latents(6, 4, 9);
    let ds = Dataset::from_slices(&z, &y, DIM).unwrap();
    let mut a = Sampler::new(&ds, 3, 1, 1, 1).unwrap();
    let first = a.next_batch(5).unwrap();
    a.reset(2).unwrap();
    let mut b = Sampler::new(&ds, 3, 1, 1, 2).unwrap();
    let (ra, rb) = (a.next_batch(3).unwrap(), b.next_batch(3).unwrap());
    assert_eq!(ra.z, rb.z);
    assert_eq!(ra.classes, rb.classes);
    a.reset(1).unwrap();
    assert_eq!(a.next_batch(5).unwrap().z, first.z);
}

#[test]
fn sampler_except_draws_what_a_copy_without_the_classes_draws() {
    let (z, y) = latents(8, 5, 10);
    let ds = Dataset::from_slices(&z, &y, DIM).unwrap();
    let excl = [6, 1, 6, 42]; // any order, a duplicate, a label the set lacks
    let kept: Vec<i32> = (0..8).filter(|c| !excl.contains(c)).collect();
    let rest = ds.select(&kept).unwrap();
    let mut a = Sampler::new_except(&ds, 3, 1, 2, 4, &excl).unwrap();
    let mut b = Sampler::new(&rest, 3, 1, 2, 4).unwrap();
    for round in 0..3 {
        if round == 2 {
            // the exclusion outlives a reset
            a.reset(9).unwrap();
            b.reset(9).unwrap();
        }
        let (ra, rb) = (a.next_batch(20).unwrap(), b.next_batch(20).unwrap());
        assert!(ra.classes.iter().all(|c| !excl.contains(c)), "{:?}", ra.classes);
        assert_eq!((ra.z, ra.labels, ra.classes), (rb.z, rb.labels, rb.classes));
    }
    // nothing excluded: Sampler::new's draws
    let mut none = Sampler::new_except(&ds, 3, 1, 2, 4, &[]).unwrap();
    assert_eq!(none.next_batch(5).unwrap().z, Sampler::new(&ds, 3, 1, 2, 4).unwrap().next_batch(5).unwrap().z);
    // 2 classes left for 3 ways
    let e = Sampler::new_except(&ds, 3, 1, 2, 4, &[0, 1, 2, 3, 4, 5]).err().unwrap();
    assert_eq!(e.status, status::INVALID);
    assert!(e.to_string().contains("excluded"), "{e}");
}

#[test]
fn dataset_roundtrip_npy() {
    let (z, y) = latents(4, 5, 8);
    let dir = tmp("npy");
    fden::save_npy_f32(dir.join("z.npy"), &z, DIM).unwrap();
    fden::save_npy_i32(dir.join("y.npy"), &y).unwrap();
    let ds = Dataset::load_npy(dir.join("z.npy"), Some(&dir.join("y.npy"))).unwrap();
    assert_eq!((ds.len(), ds.dim()), (20, DIM));
    assert_eq!(ds.data(), &z[..]);
    assert_eq!(ds.labels(), &y[..]);
    let sel = ds.select(&[1, 3]).unwrap();
    assert_eq!(sel.len(), 10);
    assert!(sel.labels().iter().all(|&l| l == 1 || l == 3));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn log_callback_receives_formatted_lines() {
    use std::sync::Mutex;
    let (z, y) = latents(5, 4, 12);
    let ds = Dataset::from_slices(&z, &y, DIM).unwrap();
    let mut s = Sampler::new(&ds, 5, 1, 1, 1).unwrap();
    let mut model = Model::new(&small_config(2.0)).unwrap();
    let lines = Arc::new(Mutex::new(Vec::<(i32, String)>::new()));
    let sink = lines.clone();
    model.set_log(Some(Box::new(move |level, msg| sink.lock().unwrap().push((level, msg.to_string())))));
    let mut b = s.next_batch(2).unwrap();
    for v in &mut b.z[..DIM] {
        *v = 3e38; // finite input whose loss overflows: the step is rejected and logged
    }
    let e = model.train_step(&b.episodes()).unwrap_err();
    assert_eq!(e.status, status::NONFINITE, "{e}");
    assert_eq!(model.step(), 0);
    let got = lines.lock().unwrap().clone();
    assert!(got.iter().any(|(l, m)| *l == 10 && !m.contains('%') && !m.is_empty()), "{got:?}");
    model.set_log(None);
    assert!(model.train_step(&b.episodes()).is_err());
    assert_eq!(lines.lock().unwrap().len(), got.len());
}
