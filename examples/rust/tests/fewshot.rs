//! fden::fewshot_eval against a nearest-class-mean reference on the
//! episodes it reports; Model::fit_standardization against the moments.

use fden::{fewshot_eval, Config, FewShotOptions, FewShotTransform, Model, Param, Status};

const DIM: usize = 8;

fn rng(state: &mut u64) -> f32 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
}

/// Overlapping classes: a centre per class plus wide noise.
fn features(classes: usize, per: usize, noise: f32, seed: u64) -> (Vec<f32>, Vec<i32>) {
    let mut s = seed;
    let centres: Vec<f32> = (0..classes * DIM).map(|_| 4.0 * rng(&mut s)).collect();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for c in 0..classes {
        for _ in 0..per {
            x.extend((0..DIM).map(|j| centres[c * DIM + j] + noise * rng(&mut s)));
            y.push(c as i32);
        }
    }
    (x, y)
}

/// Nearest class mean in f64 on the episode's rows: its accuracy.
fn reference(x: &[f32], rows: &[usize], ways: usize, shots: usize, queries: usize) -> f64 {
    let mean: Vec<Vec<f64>> = (0..ways)
        .map(|c| {
            (0..DIM)
                .map(|j| (0..shots).map(|s| x[rows[c * shots + s] * DIM + j] as f64).sum::<f64>() / shots as f64)
                .collect()
        })
        .collect();
    let mut right = 0;
    for c in 0..ways {
        for q in 0..queries {
            let r = rows[ways * shots + c * queries + q];
            let d = |k: usize| (0..DIM).map(|j| (x[r * DIM + j] as f64 - mean[k][j]).powi(2)).sum::<f64>();
            let best = (0..ways).min_by(|&a, &b| d(a).partial_cmp(&d(b)).unwrap()).unwrap();
            right += (best == c) as usize;
        }
    }
    right as f64 / (ways * queries) as f64
}

#[test]
fn fewshot_eval_against_a_reference() {
    let (x, y) = features(10, 12, 6.0, 5);
    let d = FewShotOptions::default();
    assert_eq!((d.ways, d.shots, d.queries, d.episodes, d.seed), (5, 1, 15, 1000, 1));
    assert_eq!(d.transform, FewShotTransform::None);
    let opt = FewShotOptions { ways: 4, shots: 2, queries: 3, episodes: 80, seed: 3, keep_episodes: true, ..d };
    let r = fewshot_eval(&x, &y, DIM, &opt).unwrap();
    assert_eq!((r.episodes, r.classes), (80, 10));
    assert_eq!(r.episode_rows.len(), 80 * 4 * 5);
    let per = 4 * 5;
    let mut acc = Vec::new();
    for (e, a) in r.episode_accuracy.iter().enumerate() {
        let rows = &r.episode_rows[e * per..(e + 1) * per];
        for c in 0..4 {
            let label = y[rows[c * 2]];
            assert!(rows[c * 2..c * 2 + 2].iter().all(|&i| y[i] == label), "a class per block");
        }
        let want = reference(&x, rows, 4, 2, 3);
        assert!((a - want).abs() < 1e-12, "episode {e}: {a} vs {want}");
        acc.push(want);
    }
    let mean = acc.iter().sum::<f64>() / 80.0;
    let sd = (acc.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 79.0).sqrt();
    assert!((r.mean - mean).abs() < 1e-12);
    assert!((r.ci95 - 1.96 * sd / 80f64.sqrt()).abs() < 1e-9);
    assert!(r.mean > 0.3 && r.mean < 1.0, "overlapping classes: {}", r.mean);
    // without keep_episodes: the same numbers, no per-episode vectors
    let r2 = fewshot_eval(&x, &y, DIM, &FewShotOptions { keep_episodes: false, ..opt.clone() }).unwrap();
    assert_eq!((r2.mean, r2.ci95), (r.mean, r.ci95));
    assert!(r2.episode_rows.is_empty() && r2.episode_accuracy.is_empty());
    // SimpleShot with a centre changes the features, not the episodes
    let centre = vec![1.0f32; DIM];
    let s = fewshot_eval(&x, &y, DIM, &FewShotOptions {
        transform: FewShotTransform::SimpleShot, center: Some(&centre), ..opt.clone()
    }).unwrap();
    assert_eq!(s.episode_rows, r.episode_rows);
    assert_ne!(s.episode_accuracy, r.episode_accuracy);
    // a label map: classes 0..3 only
    let map = [0, 1, 2, 3, -1, -1, -1, -1, -1, -1];
    let m = fewshot_eval(&x, &y, DIM, &FewShotOptions { label_map: Some(&map), ..opt.clone() }).unwrap();
    assert_eq!(m.classes, 4);
    assert!(m.episode_rows.iter().all(|&i| y[i] < 4));
    // errors: the library's, and these bindings' shape checks
    let e = fewshot_eval(&x, &y, DIM, &FewShotOptions { ways: 11, ..opt.clone() }).unwrap_err();
    assert_eq!(e.status, Status::Invalid);
    assert!(e.message.contains("11 ways"), "{e}");
    let e = fewshot_eval(&x, &y[1..], DIM, &opt).unwrap_err();
    assert_eq!(e.status, Status::Shape);
    let e = fewshot_eval(&x, &y, DIM, &FewShotOptions { center: Some(&centre[1..]), ..opt.clone() }).unwrap_err();
    assert_eq!(e.status, Status::Shape);
}

#[test]
fn fit_standardization_equals_the_moments() {
    let (z, _) = features(6, 20, 3.0, 9);
    let z: Vec<f32> = z.iter().map(|v| v * 5.0 + 2.0).collect();
    let n = z.len() / DIM;
    let mut cfg = Config::new().unwrap();
    cfg.set_int(Param::Dim, DIM as i64).unwrap().set_int(Param::FlowLayers, 2).unwrap()
        .set_int(Param::FlowWidth, 16).unwrap().set_int(Param::Seed, 4).unwrap();
    let mut a = Model::new(&cfg).unwrap();
    let mut b = Model::new(&cfg).unwrap();
    a.fit_standardization(&z).unwrap();
    let mean: Vec<f64> = (0..DIM).map(|j| (0..n).map(|i| z[i * DIM + j] as f64).sum::<f64>() / n as f64).collect();
    let sd: Vec<f32> = (0..DIM)
        .map(|j| {
            let v = (0..n).map(|i| (z[i * DIM + j] as f64 - mean[j]).powi(2)).sum::<f64>() / (n - 1) as f64;
            v.sqrt().max(1e-6) as f32
        })
        .collect();
    let mean: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    b.set_standardization(Some((&mean, &sd))).unwrap();
    let (fa, _) = a.disentangle(&z[..10 * DIM]).unwrap();
    let (fb, _) = b.disentangle(&z[..10 * DIM]).unwrap();
    for (p, q) in fa.iter().zip(&fb) {
        assert!((p - q).abs() <= 1e-5 * q.abs().max(1.0), "{p} vs {q}");
    }
    let (f0, _) = Model::new(&cfg).unwrap().disentangle(&z[..10 * DIM]).unwrap();
    assert_ne!(f0, fa, "standardisation changes the factors");
    assert_eq!(a.fit_standardization(&z[..3]).unwrap_err().status, Status::Shape);
    assert_eq!(a.fit_standardization(&[]).unwrap_err().status, Status::Shape);
}

#[test]
fn fit_standardization_except_equals_the_fit_of_the_rows_kept() {
    let (z, y) = features(6, 20, 3.0, 9);
    let mut z: Vec<f32> = z.iter().map(|v| v * 5.0 + 2.0).collect();
    for (i, &l) in y.iter().enumerate() {
        if l == 2 {
            z[i * DIM..(i + 1) * DIM].fill(1e6); // excluded: never read
        }
    }
    let kept: Vec<f32> =
        y.iter().enumerate().filter(|(_, &l)| l != 2 && l != 4).flat_map(|(i, _)| z[i * DIM..(i + 1) * DIM].to_vec()).collect();
    let mut cfg = Config::new().unwrap();
    cfg.set_int(Param::Dim, DIM as i64).unwrap().set_int(Param::FlowLayers, 2).unwrap()
        .set_int(Param::FlowWidth, 16).unwrap().set_int(Param::Seed, 4).unwrap();
    let mut a = Model::new(&cfg).unwrap();
    let mut b = Model::new(&cfg).unwrap();
    a.fit_standardization_except(&z, &y, &[4, 2, 77]).unwrap();
    b.fit_standardization(&kept).unwrap();
    assert_eq!(a.disentangle(&kept[..10 * DIM]).unwrap(), b.disentangle(&kept[..10 * DIM]).unwrap());
    // nothing excluded: fit_standardization
    a.fit_standardization_except(&kept, &vec![0; kept.len() / DIM], &[]).unwrap();
    assert_eq!(a.disentangle(&kept[..10 * DIM]).unwrap(), b.disentangle(&kept[..10 * DIM]).unwrap());
    assert_eq!(a.fit_standardization_except(&z, &y[1..], &[2]).unwrap_err().status, Status::Shape);
    let e = a.fit_standardization_except(&z, &y, &[0, 1, 2, 3, 4, 5]).unwrap_err();
    assert_eq!(e.status, Status::Invalid);
}
