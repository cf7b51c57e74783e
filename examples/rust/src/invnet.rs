//! Invertible networks: a host encoder/decoder written in Rust through the
//! vtable, or the built-in PCA and MLP autoencoder.

use std::os::raw::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr::{self, NonNull};

use crate::{c_path, check, ffi, rows, status, Error, Result};

/// A host's pretrained encoder/decoder. Slices are row-major: `x` is
/// `n * input_dim`, `z` is `n * latent_dim`. Return `Err(message)` on
/// failure; the library then reports `status::HOST` and the message is
/// appended to the [`Error`]. Panics are caught and reported the same way,
/// with the panic's message ("host callback panicked: ...").
pub trait HostNet: Send + 'static {
    fn input_dim(&self) -> usize;
    fn latent_dim(&self) -> usize;
    fn encode(&mut self, x: &[f32], z: &mut [f32]) -> std::result::Result<(), String>;
    fn decode(&mut self, z: &[f32], x: &mut [f32]) -> std::result::Result<(), String>;
    /// Whether [`HostNet::encode_dist`] is implemented.
    fn has_dist(&self) -> bool {
        false
    }
    /// Mean and log-sigma of q(z|x).
    fn encode_dist(&mut self, _x: &[f32], _mu: &mut [f32], _log_sigma: &mut [f32]) -> std::result::Result<(), String> {
        Err("encode_dist is not implemented".into())
    }
}

struct HostBox<H: HostNet> {
    host: H,
    ind: usize,
    lat: usize,
    error: Option<String>,
}

fn guard<H: HostNet>(b: &mut HostBox<H>, f: impl FnOnce(&mut H) -> std::result::Result<(), String>) -> c_int {
    match catch_unwind(AssertUnwindSafe(|| f(&mut b.host))) {
        Ok(Ok(())) => 0,
        Ok(Err(msg)) => {
            b.error = Some(msg);
            1
        }
        Err(payload) => {
            b.error = Some(format!("host callback panicked: {}", panic_message(&*payload)));
            1
        }
    }
}

/// The message of a panic's payload (`panic!("...")` gives a `&str` or a
/// `String`), or a placeholder for other payloads.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(a payload that is not a string)"
    }
}

unsafe extern "C" fn cb_encode<H: HostNet>(ud: *mut c_void, x: *const f32, n: usize, z: *mut f32) -> c_int {
    let b = &mut *(ud as *mut HostBox<H>);
    let (ind, lat) = (b.ind, b.lat);
    let xs = std::slice::from_raw_parts(x, n * ind);
    let zs = std::slice::from_raw_parts_mut(z, n * lat);
    guard(b, |h| h.encode(xs, zs))
}

unsafe extern "C" fn cb_decode<H: HostNet>(ud: *mut c_void, z: *const f32, n: usize, x: *mut f32) -> c_int {
    let b = &mut *(ud as *mut HostBox<H>);
    let (ind, lat) = (b.ind, b.lat);
    let zs = std::slice::from_raw_parts(z, n * lat);
    let xs = std::slice::from_raw_parts_mut(x, n * ind);
    guard(b, |h| h.decode(zs, xs))
}

unsafe extern "C" fn cb_dist<H: HostNet>(ud: *mut c_void, x: *const f32, n: usize, mu: *mut f32, ls: *mut f32) -> c_int {
    let b = &mut *(ud as *mut HostBox<H>);
    let (ind, lat) = (b.ind, b.lat);
    let xs = std::slice::from_raw_parts(x, n * ind);
    let mus = std::slice::from_raw_parts_mut(mu, n * lat);
    let lss = std::slice::from_raw_parts_mut(ls, n * lat);
    guard(b, |h| h.encode_dist(xs, mus, lss))
}

unsafe extern "C" fn cb_destroy<H: HostNet>(ud: *mut c_void) {
    drop(Box::from_raw(ud as *mut HostBox<H>));
}

/// An invertible network (host-supplied or built in); freed on drop.
pub struct InvNet {
    ptr: NonNull<ffi::fden_invnet>,
    /// The host box's error slot, for host networks.
    host_error: Option<*mut Option<String>>,
}

// A host network is Send (HostNet: Send); built-in ones own plain data.
unsafe impl Send for InvNet {}

impl InvNet {
    fn adopt(p: *mut ffi::fden_invnet, host_error: Option<*mut Option<String>>) -> InvNet {
        InvNet { ptr: NonNull::new(p).expect("libfden returned FDEN_OK and a NULL network"), host_error }
    }

    /// Plug a host network in; the library owns it from now on and drops
    /// it (through the vtable's destroy) when this InvNet is dropped.
    pub fn from_host<H: HostNet>(host: H) -> Result<InvNet> {
        let (ind, lat) = (host.input_dim(), host.latent_dim());
        let dist = host.has_dist();
        let raw = Box::into_raw(Box::new(HostBox { host, ind, lat, error: None }));
        let ops = ffi::fden_invnet_ops {
            struct_size: std::mem::size_of::<ffi::fden_invnet_ops>(),
            version: ffi::FDEN_INVNET_OPS_VERSION,
            encode: Some(cb_encode::<H>),
            decode: Some(cb_decode::<H>),
            encode_dist: if dist { Some(cb_dist::<H>) } else { None },
            destroy: Some(cb_destroy::<H>),
        };
        let mut p = ptr::null_mut();
        let rc = unsafe { ffi::fden_invnet_new(&ops, ind, lat, raw as *mut c_void, &mut p) };
        if rc != ffi::FDEN_OK {
            let e = Error::last(rc);
            drop(unsafe { Box::from_raw(raw) }); // not taken over on failure
            return Err(e);
        }
        let slot = unsafe { &mut (*raw).error as *mut Option<String> };
        Ok(InvNet::adopt(p, Some(slot)))
    }

    /// Fit a PCA network on `x` (`n * input_dim`).
    pub fn fit_pca(x: &[f32], input_dim: usize, latent_dim: usize, seed: u64) -> Result<InvNet> {
        let n = rows("x", x, input_dim)?;
        let mut p = ptr::null_mut();
        check(unsafe { ffi::fden_invnet_fit_pca(x.as_ptr(), n, input_dim, latent_dim, seed, &mut p) })?;
        Ok(InvNet::adopt(p, None))
    }

    /// Fit the built-in MLP autoencoder (sigmoid output: x in [0, 1]);
    /// `hidden`, `epochs`, `seed` override the defaults when `Some`.
    pub fn fit_autoencoder(
        x: &[f32],
        input_dim: usize,
        latent_dim: usize,
        hidden: Option<usize>,
        epochs: Option<usize>,
        seed: Option<u64>,
    ) -> Result<InvNet> {
        let n = rows("x", x, input_dim)?;
        let mut opt = std::mem::MaybeUninit::<ffi::fden_ae_options>::zeroed();
        let mut opt = unsafe {
            ffi::fden_ae_options_default(opt.as_mut_ptr());
            opt.assume_init()
        };
        opt.struct_size = std::mem::size_of::<ffi::fden_ae_options>();
        if let Some(h) = hidden {
            opt.hidden = h;
        }
        if let Some(e) = epochs {
            opt.epochs = e;
        }
        if let Some(s) = seed {
            opt.seed = s;
        }
        let mut p = ptr::null_mut();
        check(unsafe { ffi::fden_invnet_fit_autoencoder(x.as_ptr(), n, input_dim, latent_dim, &opt, &mut p) })?;
        Ok(InvNet::adopt(p, None))
    }

    /// Fit the built-in convolutional autoencoder (sigmoid output: x in
    /// [0, 1]). Each row of `x` is one `shape = (height, width, channels)`
    /// image, channels last; `opts` overrides the library's defaults
    /// (fden_conv_options_default) where a field is `Some`.
    pub fn fit_conv(x: &[f32], shape: (usize, usize, usize), latent_dim: usize,
                    opts: &ConvOptions) -> Result<InvNet> {
        let input_dim = shape.0 * shape.1 * shape.2;
        let n = rows("x", x, input_dim)?;
        let mut opt = std::mem::MaybeUninit::<ffi::fden_conv_options>::zeroed();
        let mut opt = unsafe {
            ffi::fden_conv_options_default(opt.as_mut_ptr());
            opt.assume_init()
        };
        opt.struct_size = std::mem::size_of::<ffi::fden_conv_options>();
        opt.height = shape.0;
        opt.width = shape.1;
        opt.channels = shape.2;
        if let Some(v) = opts.base_channels { opt.base_channels = v; }
        if let Some(v) = opts.levels { opt.levels = v; }
        if let Some(v) = opts.epochs { opt.epochs = v; }
        if let Some(v) = opts.batch { opt.batch = v; }
        if let Some(v) = opts.lr { opt.lr = v; }
        if let Some(v) = opts.bce { opt.loss = if v { 1 } else { 0 }; }
        if let Some(v) = opts.seed { opt.seed = v; }
        if let Some(v) = opts.threads { opt.threads = v as c_int; }
        if let Some(v) = opts.time_budget { opt.time_budget = v; }
        if let Some(v) = opts.contrast { opt.contrast = v; }
        if let Some(v) = opts.contrast_tau { opt.contrast_tau = v; }
        if let Some(v) = opts.aug_rotation { opt.aug_rotation = v; }
        if let Some(v) = opts.aug_scale { opt.aug_scale = v; }
        if let Some(v) = opts.aug_shift { opt.aug_shift = v; }
        let mut p = ptr::null_mut();
        check(unsafe { ffi::fden_invnet_fit_conv(x.as_ptr(), n, input_dim, latent_dim, &opt, &mut p) })?;
        Ok(InvNet::adopt(p, None))
    }

    /// Fit the built-in ALI host (adversarially learned inference, plus an
    /// optional reconstruction term `l2_weight`) on images of at least
    /// 20 x 20. Each row of `x` is one `shape = (height, width, channels)`
    /// image, channels last, in [0, 1] (sigmoid output, the default) or
    /// [-1, 1] (`tanh: Some(true)`); `opts` overrides the library's defaults
    /// (fden_ali_options_default) where a field is `Some`. `encode` gives
    /// the mean of q(z|x), `encode_dist` the mean and log-sigma.
    pub fn fit_ali(x: &[f32], shape: (usize, usize, usize), latent_dim: usize,
                   opts: &AliOptions) -> Result<InvNet> {
        let input_dim = shape.0 * shape.1 * shape.2;
        let n = rows("x", x, input_dim)?;
        let mut opt = std::mem::MaybeUninit::<ffi::fden_ali_options>::zeroed();
        let mut opt = unsafe {
            ffi::fden_ali_options_default(opt.as_mut_ptr());
            opt.assume_init()
        };
        opt.struct_size = std::mem::size_of::<ffi::fden_ali_options>();
        opt.height = shape.0;
        opt.width = shape.1;
        opt.channels = shape.2;
        if let Some(v) = opts.base_channels { opt.base_channels = v; }
        if let Some(v) = opts.epochs { opt.epochs = v; }
        if let Some(v) = opts.batch { opt.batch = v; }
        if let Some(v) = opts.lr { opt.lr = v; }
        if let Some(v) = opts.beta1 { opt.beta1 = v; }
        if let Some(v) = opts.dropout { opt.dropout = v; }
        if let Some(v) = opts.l2_weight { opt.l2_weight = v; }
        if let Some(v) = opts.tanh { opt.output = if v { 1 } else { 0 }; }
        if let Some(v) = opts.seed { opt.seed = v; }
        if let Some(v) = opts.threads {
            opt.threads = c_int::try_from(v)
                .map_err(|_| Error::new(status::INVALID, format!("threads {v} is too large")))?;
        }
        if let Some(v) = opts.time_budget { opt.time_budget = v; }
        let mut p = ptr::null_mut();
        check(unsafe { ffi::fden_invnet_fit_ali(x.as_ptr(), n, input_dim, latent_dim, &opt, &mut p) })?;
        Ok(InvNet::adopt(p, None))
    }

    /// Load a built-in network saved by [`InvNet::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<InvNet> {
        let c = c_path(path.as_ref())?;
        let mut p = ptr::null_mut();
        check(unsafe { ffi::fden_invnet_load(c.as_ptr(), &mut p) })?;
        Ok(InvNet::adopt(p, None))
    }

    /// Save a built-in network (`status::UNSUPPORTED` for host networks).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let c = c_path(path.as_ref())?;
        check(unsafe { ffi::fden_invnet_save(self.ptr.as_ptr(), c.as_ptr()) })
    }

    pub fn input_dim(&self) -> usize {
        unsafe { ffi::fden_invnet_input_dim(self.ptr.as_ptr()) }
    }

    pub fn latent_dim(&self) -> usize {
        unsafe { ffi::fden_invnet_latent_dim(self.ptr.as_ptr()) }
    }

    fn host_check(&mut self, rc: c_int) -> Result<()> {
        let host_msg = self.host_error.and_then(|slot| unsafe { (*slot).take() });
        if rc == ffi::FDEN_OK {
            return Ok(());
        }
        let mut e = Error::last(rc);
        if let Some(m) = host_msg {
            e.message = if e.message.is_empty() { m } else { format!("{}: {}", e.message, m) };
        }
        Err(e)
    }

    /// `z = encode(x)`: `n * input_dim` -> `n * latent_dim`.
    pub fn encode(&mut self, x: &[f32]) -> Result<Vec<f32>> {
        let n = rows("x", x, self.input_dim())?;
        let mut z = vec![0f32; n * self.latent_dim()];
        let rc = unsafe { ffi::fden_invnet_encode(self.ptr.as_ptr(), x.as_ptr(), n, z.as_mut_ptr()) };
        self.host_check(rc).map(|_| z)
    }

    /// `x = decode(z)`: `n * latent_dim` -> `n * input_dim`.
    pub fn decode(&mut self, z: &[f32]) -> Result<Vec<f32>> {
        let n = rows("z", z, self.latent_dim())?;
        let mut x = vec![0f32; n * self.input_dim()];
        let rc = unsafe { ffi::fden_invnet_decode(self.ptr.as_ptr(), z.as_ptr(), n, x.as_mut_ptr()) };
        self.host_check(rc).map(|_| x)
    }

    /// `(mu, log_sigma)` of q(z|x); `status::UNSUPPORTED` if the network has none.
    pub fn encode_dist(&mut self, x: &[f32]) -> Result<(Vec<f32>, Vec<f32>)> {
        let n = rows("x", x, self.input_dim())?;
        let mut mu = vec![0f32; n * self.latent_dim()];
        let mut ls = vec![0f32; n * self.latent_dim()];
        let rc = unsafe {
            ffi::fden_invnet_encode_dist(self.ptr.as_ptr(), x.as_ptr(), n, mu.as_mut_ptr(), ls.as_mut_ptr())
        };
        self.host_check(rc).map(|_| (mu, ls))
    }
}

impl std::fmt::Debug for InvNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvNet")
            .field("host", &self.host_error.is_some())
            .field("input_dim", &self.input_dim())
            .field("latent_dim", &self.latent_dim())
            .finish()
    }
}

impl Drop for InvNet {
    fn drop(&mut self) {
        unsafe { ffi::fden_invnet_free(self.ptr.as_ptr()) }
    }
}

/// Options of [`InvNet::fit_conv`]; `None` keeps the library's default.
#[derive(Clone, Debug, Default)]
pub struct ConvOptions {
    /// channels of the first convolution (32), doubled per level
    pub base_channels: Option<usize>,
    /// stride-2 convolutions (2)
    pub levels: Option<usize>,
    pub epochs: Option<usize>,
    pub batch: Option<usize>,
    pub lr: Option<f64>,
    /// binary cross entropy instead of mean squared error
    pub bce: Option<bool>,
    pub seed: Option<u64>,
    pub threads: Option<usize>,
    /// seconds of fitting (0: no limit)
    pub time_budget: Option<f64>,
    /// weight of the contrastive (InfoNCE) term (0: off)
    pub contrast: Option<f64>,
    /// its temperature (0.2)
    pub contrast_tau: Option<f64>,
    /// augmented view: rotation up to +- degrees (10), scale 1 +- (0.1),
    /// shift up to +- pixels (2)
    pub aug_rotation: Option<f64>,
    pub aug_scale: Option<f64>,
    pub aug_shift: Option<f64>,
}

/// Options of [`InvNet::fit_ali`]; `None` keeps the library's default.
#[derive(Clone, Debug, Default)]
pub struct AliOptions {
    /// channels of the first convolution (8), times 2, 4, 8, 16 deeper in
    pub base_channels: Option<usize>,
    /// passes over the data (100)
    pub epochs: Option<usize>,
    /// minibatch (100)
    pub batch: Option<usize>,
    /// Adam learning rate of the three networks (1e-4)
    pub lr: Option<f64>,
    /// Adam beta1 (0.5)
    pub beta1: Option<f64>,
    /// dropout in the discriminator, in [0, 1) (0.2)
    pub dropout: Option<f64>,
    /// weight of the reconstruction term in the generators' loss (0: plain ALI)
    pub l2_weight: Option<f64>,
    /// tanh output (x in [-1, 1]) instead of sigmoid (x in [0, 1])
    pub tanh: Option<bool>,
    pub seed: Option<u64>,
    pub threads: Option<usize>,
    /// seconds of fitting (0: no limit)
    pub time_budget: Option<f64>,
}
