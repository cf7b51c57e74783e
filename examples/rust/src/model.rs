//! The FDEN model: training, disentangle/entangle, prediction, checkpoints.

use std::marker::PhantomData;
use std::os::raw::{c_char, c_int, c_void};
use std::path::Path;
use std::ptr::{self, NonNull};

use crate::{c_path, check, cstr, ffi, rows, same_len, status, Config, ConfigEnum, Error, Param, Result};

/// A batch of episodes for [`Model::train_step`]: each episode is
/// `ways*shots` support rows then `ways*queries` query rows (Dim floats
/// each); `labels` are within-episode classes in `[0, ways)`.
#[derive(Debug, Clone, Copy)]
pub struct Episodes<'a> {
    pub z: &'a [f32],
    pub labels: &'a [i32],
    pub ways: usize,
    pub shots: usize,
    pub queries: usize,
    /// Optional host log-sigma of each row, like `z`.
    pub z_log_sigma: Option<&'a [f32]>,
    /// Optional global class ids, `n_episodes * ways` (class c of episode e
    /// at `e * ways + c`, as [`crate::Batch::classes`]), in
    /// `[0, Param::StyClsClasses)`: needed when `Param::StyCls` > 0.
    pub classes: Option<&'a [i32]>,
}

impl<'a> Episodes<'a> {
    pub fn new(z: &'a [f32], labels: &'a [i32], ways: usize, shots: usize, queries: usize) -> Self {
        Episodes { z, labels, ways, shots, queries, z_log_sigma: None, classes: None }
    }

    /// The same episodes with each episode class's global id.
    pub fn with_classes(self, classes: &'a [i32]) -> Self {
        Episodes { classes: Some(classes), ..self }
    }
}

/// What one training step measured (struct fden_step_stats); `lr` is the
/// learning rate the step used.
pub type StepStats = ffi::fden_step_stats;

/// A trainable FDEN model; freed on drop.
///
/// Methods taking `&self` (inference and `save`) may run concurrently from
/// many threads, as the library allows while no thread trains: hence `Sync`.
/// Training and other changes take `&mut self`.
pub struct Model {
    ptr: NonNull<ffi::fden_model>,
    log: Option<Box<LogBox>>,
}

unsafe impl Send for Model {}
unsafe impl Sync for Model {}

type LogBox = Box<dyn FnMut(i32, &str) + Send>;

extern "C" {
    fn vsnprintf(buf: *mut c_char, size: usize, fmt: *const c_char, ap: *mut c_void) -> c_int;
}

unsafe extern "C" fn log_trampoline(ud: *mut c_void, level: c_int, fmt: *const c_char, ap: *mut c_void) {
    let mut buf = [0 as c_char; 1024];
    vsnprintf(buf.as_mut_ptr(), buf.len(), fmt, ap);
    let msg = cstr(buf.as_ptr());
    let f = &mut *(ud as *mut LogBox);
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(level, msg.trim_end())));
}

impl Model {
    /// A new model from a configuration (parameters seeded by `Param::Seed`).
    pub fn new(cfg: &Config) -> Result<Model> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::fden_model_new(cfg.ptr.as_ptr(), &mut p) })?;
        Ok(Model::adopt(p))
    }

    fn adopt(p: *mut ffi::fden_model) -> Model {
        Model { ptr: NonNull::new(p).expect("libfden returned FDEN_OK and a NULL model"), log: None }
    }

    /// Load a model written by [`Model::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let c = c_path(path.as_ref())?;
        let mut p = ptr::null_mut();
        check(unsafe { ffi::fden_model_load(c.as_ptr(), ptr::null(), &mut p) })?;
        Ok(Model::adopt(p))
    }

    /// Save everything (atomic write, compressed, checksummed).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let c = c_path(path.as_ref())?;
        check(unsafe { ffi::fden_model_save(self.ptr.as_ptr(), c.as_ptr()) })
    }

    /// Latent width Dim.
    pub fn dim(&self) -> usize {
        unsafe { ffi::fden_model_dim(self.ptr.as_ptr()) }
    }

    /// Width of f_ide: Dim, or `ide_dim` for the flow disentangler.
    pub fn ide_dim(&self) -> usize {
        unsafe { ffi::fden_model_ide_dim(self.ptr.as_ptr()) }
    }

    /// Width of f_sty: Dim, or Dim - `ide_dim` for the flow disentangler.
    pub fn sty_dim(&self) -> usize {
        unsafe { ffi::fden_model_sty_dim(self.ptr.as_ptr()) }
    }

    /// Optimisation steps taken.
    pub fn step(&self) -> u64 {
        unsafe { ffi::fden_model_step(self.ptr.as_ptr()) }
    }

    /// Detail of the last failure on this model ("" if none).
    pub fn last_error(&self) -> String {
        cstr(unsafe { ffi::fden_model_last_error(self.ptr.as_ptr()) })
    }

    /// A copy of the model's configuration.
    pub fn config(&self) -> Result<Config> {
        let mut p = ptr::null_mut();
        check(unsafe { ffi::fden_model_config(self.ptr.as_ptr(), &mut p) })?;
        Ok(Config::adopt(p))
    }

    /// Change a key of the live model between training steps
    /// (fden_model_set_param). Only the learning-rate schedule may change
    /// after [`Model::new`]: `Param::LrDecay`, `Param::LrDecaySteps` (the
    /// horizon; 0 = no decay, the default: set it to the run's steps) and
    /// `Param::LrDecayFactor`. The value holds from the next step on and is
    /// saved with the model. Any other key, a value out of [`crate::bounds`]
    /// or a fraction for an integer key is a `Status::Invalid` error with
    /// the library's message; the model is unchanged.
    pub fn set_param(&mut self, key: Param, value: f64) -> Result<()> {
        check(unsafe { ffi::fden_model_set_param(self.ptr.as_ptr(), key as i32, value) })
    }

    /// [`Model::set_param`] for an enum key, the key from the type:
    /// `model.set_param_enum(LrDecay::Step)`.
    pub fn set_param_enum<E: ConfigEnum>(&mut self, value: E) -> Result<()> {
        self.set_param(E::KEY, value.value() as f64)
    }

    /// Receive log lines as `f(level, message)`; `None` removes the callback.
    pub fn set_log(&mut self, f: Option<Box<dyn FnMut(i32, &str) + Send>>) {
        match f {
            Some(f) => {
                let mut b: Box<LogBox> = Box::new(f);
                let ud = &mut *b as *mut LogBox as *mut c_void;
                unsafe { ffi::fden_model_set_log(self.ptr.as_ptr(), Some(log_trampoline), ud) };
                self.log = Some(b);
            }
            None => {
                unsafe { ffi::fden_model_set_log(self.ptr.as_ptr(), None, ptr::null_mut()) };
                self.log = None;
            }
        }
    }

    /// Per-dimension `(z - mean) / std` inside the model; `None` resets.
    pub fn set_standardization(&mut self, mean_std: Option<(&[f32], &[f32])>) -> Result<()> {
        let (m, s) = match mean_std {
            Some((m, s)) => {
                same_len("mean", m.len(), self.dim())?;
                same_len("std", s.len(), self.dim())?;
                (m.as_ptr(), s.as_ptr())
            }
            None => (ptr::null(), ptr::null()),
        };
        check(unsafe { ffi::fden_model_set_standardization(self.ptr.as_ptr(), m, s) })
    }

    /// Set the standardisation to the per-dimension mean and sample
    /// standard deviation (floored at 1e-6) of `z`, `n * Dim` floats such
    /// as the training latents (fden_model_fit_standardization).
    pub fn fit_standardization(&mut self, z: &[f32]) -> Result<()> {
        let n = rows("z", z, self.dim())?;
        if n == 0 {
            return Err(Error::new(status::SHAPE, "z has no rows"));
        }
        check(unsafe { ffi::fden_model_fit_standardization(self.ptr.as_ptr(), z.as_ptr(), n) })
    }

    /// As [`Model::fit_standardization`] over the rows of `z` whose label
    /// (`labels`, one per row) is not in `exclude`, exactly as a copy of
    /// those rows would give (fden_model_fit_standardization_except): the
    /// classes a [`Sampler::new_except`](crate::Sampler::new_except) with
    /// the same `exclude` never draws.
    pub fn fit_standardization_except(&mut self, z: &[f32], labels: &[i32], exclude: &[i32]) -> Result<()> {
        let n = rows("z", z, self.dim())?;
        if n == 0 {
            return Err(Error::new(status::SHAPE, "z has no rows"));
        }
        same_len("labels", labels.len(), n)?;
        check(unsafe {
            ffi::fden_model_fit_standardization_except(
                self.ptr.as_ptr(),
                z.as_ptr(),
                labels.as_ptr(),
                n,
                exclude.as_ptr(),
                exclude.len(),
            )
        })
    }

    /// One optimisation step. A non-finite loss is rejected with
    /// `status::NONFINITE` and leaves the model as it was.
    pub fn train_step(&mut self, ep: &Episodes<'_>) -> Result<StepStats> {
        let d = self.dim();
        let n = rows("z", ep.z, d)?;
        let per = ep.ways * (ep.shots + ep.queries);
        if per == 0 || n % per != 0 {
            return Err(Error::new(
                status::SHAPE,
                format!("z has {n} rows, not a multiple of ways*(shots+queries) = {per}"),
            ));
        }
        same_len("labels", ep.labels.len(), n)?;
        if let Some(ls) = ep.z_log_sigma {
            same_len("z_log_sigma", ls.len(), ep.z.len())?;
        }
        if let Some(cl) = ep.classes {
            same_len("classes", cl.len(), n / per * ep.ways)?;
        }
        let c = ffi::fden_episodes {
            struct_size: std::mem::size_of::<ffi::fden_episodes>(),
            n_episodes: n / per,
            ways: ep.ways,
            shots: ep.shots,
            queries: ep.queries,
            z: ep.z.as_ptr(),
            z_log_sigma: ep.z_log_sigma.map_or(ptr::null(), |s| s.as_ptr()),
            labels: ep.labels.as_ptr(),
            classes: ep.classes.map_or(ptr::null(), |s| s.as_ptr()),
        };
        let mut st = StepStats { struct_size: std::mem::size_of::<StepStats>(), ..Default::default() };
        check(unsafe { ffi::fden_train_step(self.ptr.as_ptr(), &c, &mut st) })?;
        Ok(st)
    }

    /// `(f_ide, f_sty) = D(z)` for n rows of Dim floats (evaluation mode).
    pub fn disentangle(&self, z: &[f32]) -> Result<(Vec<f32>, Vec<f32>)> {
        let n = rows("z", z, self.dim())?;
        let mut ide = vec![0f32; n * self.ide_dim()];
        let mut sty = vec![0f32; n * self.sty_dim()];
        check(unsafe {
            ffi::fden_disentangle(self.ptr.as_ptr(), z.as_ptr(), n, ide.as_mut_ptr(), sty.as_mut_ptr())
        })?;
        Ok((ide, sty))
    }

    /// `z~ = E(f_ide, f_sty)` (evaluation mode).
    pub fn entangle(&self, f_ide: &[f32], f_sty: &[f32]) -> Result<Vec<f32>> {
        let n = rows("f_ide", f_ide, self.ide_dim())?;
        same_len("f_sty", f_sty.len(), n * self.sty_dim())?;
        let mut z = vec![0f32; n * self.dim()];
        check(unsafe {
            ffi::fden_entangle(self.ptr.as_ptr(), f_ide.as_ptr(), f_sty.as_ptr(), n, z.as_mut_ptr())
        })?;
        Ok(z)
    }

    /// Few-shot classes of query latents given a labelled support set
    /// (labels in `[0, ways)`); returns predictions and `n_query x ways`
    /// probabilities.
    pub fn predict(
        &self,
        support_z: &[f32],
        support_labels: &[i32],
        ways: usize,
        query_z: &[f32],
    ) -> Result<(Vec<i32>, Vec<f32>)> {
        let d = self.dim();
        let ns = rows("support_z", support_z, d)?;
        same_len("support_labels", support_labels.len(), ns)?;
        let nq = rows("query_z", query_z, d)?;
        let mut pred = vec![0i32; nq];
        let mut prob = vec![0f32; nq * ways];
        check(unsafe {
            ffi::fden_predict(
                self.ptr.as_ptr(),
                support_z.as_ptr(),
                support_labels.as_ptr(),
                ns,
                ways,
                query_z.as_ptr(),
                nq,
                pred.as_mut_ptr(),
                prob.as_mut_ptr(),
            )
        })?;
        Ok((pred, prob))
    }

    /// D, borrowed from the model.
    pub fn disentangler(&self) -> Disentangler<'_> {
        let p = unsafe { ffi::fden_model_disentangler(self.ptr.as_ptr()) };
        Disentangler { ptr: p, model: self }
    }

    /// E, borrowed from the model.
    pub fn entangler(&self) -> Entangler<'_> {
        let p = unsafe { ffi::fden_model_entangler(self.ptr.as_ptr()) };
        Entangler { ptr: p, model: self }
    }

    /// F (statistician and alignment net), borrowed from the model.
    pub fn factorizer(&self) -> Factorizer<'_> {
        let p = unsafe { ffi::fden_model_factorizer(self.ptr.as_ptr()) };
        Factorizer { ptr: p, dim: self.ide_dim(), sty_dim: self.sty_dim(), _model: PhantomData }
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        unsafe { ffi::fden_model_free(self.ptr.as_ptr()) }
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("dim", &self.dim()).field("step", &self.step()).finish()
    }
}

fn part<T>(p: *mut T) -> Result<*mut T> {
    if p.is_null() {
        Err(Error::new(status::STATE, "the model returned no such part"))
    } else {
        Ok(p)
    }
}

/// D: z -> (f_ide, f_sty), borrowed from a [`Model`].
pub struct Disentangler<'m> {
    ptr: *mut ffi::fden_disentangler,
    model: &'m Model,
}

impl Disentangler<'_> {
    /// Same contract as [`Model::disentangle`].
    pub fn run(&self, z: &[f32]) -> Result<(Vec<f32>, Vec<f32>)> {
        let p = part(self.ptr)?;
        let n = rows("z", z, self.model.dim())?;
        let mut ide = vec![0f32; n * self.model.ide_dim()];
        let mut sty = vec![0f32; n * self.model.sty_dim()];
        check(unsafe { ffi::fden_disentangler_run(p, z.as_ptr(), n, ide.as_mut_ptr(), sty.as_mut_ptr()) })?;
        Ok((ide, sty))
    }
}

/// E: (f_ide, f_sty) -> z~, borrowed from a [`Model`].
pub struct Entangler<'m> {
    ptr: *mut ffi::fden_entangler,
    model: &'m Model,
}

impl Entangler<'_> {
    /// Same contract as [`Model::entangle`].
    pub fn run(&self, f_ide: &[f32], f_sty: &[f32]) -> Result<Vec<f32>> {
        let p = part(self.ptr)?;
        let n = rows("f_ide", f_ide, self.model.ide_dim())?;
        same_len("f_sty", f_sty.len(), n * self.model.sty_dim())?;
        let mut z = vec![0f32; n * self.model.dim()];
        check(unsafe { ffi::fden_entangler_run(p, f_ide.as_ptr(), f_sty.as_ptr(), n, z.as_mut_ptr()) })?;
        Ok(z)
    }
}

/// F: the MINE statistician and the alignment net, borrowed from a [`Model`].
pub struct Factorizer<'m> {
    ptr: *mut ffi::fden_factorizer,
    dim: usize,
    sty_dim: usize,
    _model: PhantomData<&'m Model>,
}

impl Factorizer<'_> {
    /// Donsker-Varadhan estimate of I(f_ide; f_sty), the marginal from a
    /// permutation drawn from `seed`.
    pub fn mine(&self, f_ide: &[f32], f_sty: &[f32], seed: u64) -> Result<f64> {
        let p = part(self.ptr)?;
        let n = rows("f_ide", f_ide, self.dim)?;
        same_len("f_sty", f_sty.len(), n * self.sty_dim)?;
        let mut est = 0.0;
        check(unsafe { ffi::fden_factorizer_mine(p, f_ide.as_ptr(), f_sty.as_ptr(), n, seed, &mut est) })?;
        Ok(est)
    }

    /// Class probabilities (`n_query x ways`) of query identity factors.
    pub fn align(&self, support_ide: &[f32], support_labels: &[i32], ways: usize, query_ide: &[f32]) -> Result<Vec<f32>> {
        let p = part(self.ptr)?;
        let ns = rows("support_ide", support_ide, self.dim)?;
        same_len("support_labels", support_labels.len(), ns)?;
        let nq = rows("query_ide", query_ide, self.dim)?;
        let mut prob = vec![0f32; nq * ways];
        check(unsafe {
            ffi::fden_factorizer_align(
                p,
                support_ide.as_ptr(),
                support_labels.as_ptr(),
                ns,
                ways,
                query_ide.as_ptr(),
                nq,
                prob.as_mut_ptr(),
            )
        })?;
        Ok(prob)
    }
}
