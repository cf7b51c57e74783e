//! Few-shot evaluation over seeded episodes (fden_fewshot_eval).

use std::ptr;

use crate::{check, ffi, rows, same_len, status, Error, Result};

/// The transform applied to every row before classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FewShotTransform {
    /// The rows as given.
    #[default]
    None,
    /// SimpleShot: `x - center` (when a centre is given), then L2-normalised.
    SimpleShot,
}

/// Settings of [`fewshot_eval`]; `Default` is the library's
/// (fden_fewshot_options_default: 5-way 1-shot, 15 queries, 1000
/// episodes, seed 1, no transform).
#[derive(Debug, Clone)]
pub struct FewShotOptions<'a> {
    pub episodes: usize,
    /// classes per episode, C
    pub ways: usize,
    /// support rows per class, K
    pub shots: usize,
    /// query rows per class
    pub queries: usize,
    /// same seed and labels, same episodes
    pub seed: u64,
    pub transform: FewShotTransform,
    /// SimpleShot's centre, `dim` floats, such as the training classes' mean
    pub center: Option<&'a [f32]>,
    /// a row labelled `y` in `0..label_map.len()` belongs to class
    /// `label_map[y]`, or is left out when that is negative
    pub label_map: Option<&'a [i32]>,
    /// also return each episode's accuracy and rows
    pub keep_episodes: bool,
}

impl Default for FewShotOptions<'_> {
    fn default() -> Self {
        let mut o = std::mem::MaybeUninit::<ffi::fden_fewshot_options>::zeroed();
        let o = unsafe {
            ffi::fden_fewshot_options_default(o.as_mut_ptr());
            o.assume_init()
        };
        FewShotOptions {
            episodes: o.episodes,
            ways: o.ways,
            shots: o.shots,
            queries: o.queries,
            seed: o.seed,
            transform: if o.transform == 1 { FewShotTransform::SimpleShot } else { FewShotTransform::None },
            center: None,
            label_map: None,
            keep_episodes: false,
        }
    }
}

/// What [`fewshot_eval`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct FewShotResult {
    /// mean accuracy over the episodes, in [0, 1]
    pub mean: f64,
    /// 95% half-width, 1.96 sample std / sqrt(episodes)
    pub ci95: f64,
    /// episodes run
    pub episodes: usize,
    /// classes with at least shots + queries rows (drawn from)
    pub classes: usize,
    /// with `keep_episodes`: each episode's accuracy, else empty
    pub episode_accuracy: Vec<f64>,
    /// with `keep_episodes`: each episode's `ways * (shots + queries)` row
    /// indices, support block first, else empty
    pub episode_rows: Vec<usize>,
}

/// C-way K-shot accuracy of the nearest class mean on `x` (`n * dim`
/// features: raw latents, f_ide, ...) with `labels` (`n`), over seeded
/// episodes that depend on the labels, the label map and the seed only,
/// so every feature set of the same rows is scored on the same episodes.
pub fn fewshot_eval(x: &[f32], labels: &[i32], dim: usize, opt: &FewShotOptions<'_>)
    -> Result<FewShotResult> {
    let n = rows("x", x, dim)?;
    same_len("labels", labels.len(), n)?;
    if let Some(c) = opt.center {
        same_len("center", c.len(), dim)?;
    }
    let per = opt.shots.checked_add(opt.queries).and_then(|k| k.checked_mul(opt.ways));
    let (mut acc, mut rws) = (Vec::new(), Vec::new());
    if opt.keep_episodes {
        let total = per.and_then(|p| p.checked_mul(opt.episodes))
            .ok_or_else(|| Error::new(status::OVERFLOW, "episodes * ways * (shots + queries) overflows"))?;
        acc = vec![0f64; opt.episodes];
        rws = vec![0usize; total];
    }
    let c = ffi::fden_fewshot_options {
        struct_size: std::mem::size_of::<ffi::fden_fewshot_options>(),
        episodes: opt.episodes,
        ways: opt.ways,
        shots: opt.shots,
        queries: opt.queries,
        seed: opt.seed,
        transform: match opt.transform {
            FewShotTransform::None => 0,
            FewShotTransform::SimpleShot => 1,
        },
        center: opt.center.map_or(ptr::null(), |c| c.as_ptr()),
        label_map: opt.label_map.map_or(ptr::null(), |m| m.as_ptr()),
        n_label_map: opt.label_map.map_or(0, |m| m.len()),
        episode_accuracy: if opt.keep_episodes { acc.as_mut_ptr() } else { ptr::null_mut() },
        episode_rows: if opt.keep_episodes { rws.as_mut_ptr() } else { ptr::null_mut() },
    };
    let mut r = ffi::fden_fewshot_result::default();
    check(unsafe { ffi::fden_fewshot_eval(x.as_ptr(), labels.as_ptr(), n, dim, &c, &mut r) })?;
    Ok(FewShotResult {
        mean: r.mean,
        ci95: r.ci95,
        episodes: r.episodes,
        classes: r.classes,
        episode_accuracy: acc,
        episode_rows: rws,
    })
}
