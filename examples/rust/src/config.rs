//! Model configuration (struct fden_config).

use std::ptr::NonNull;

use crate::{check, cstr, ffi, Result};

/// Configuration keys (enum fden_param); values never change meaning.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Param {
    Dim = 1,
    DisWidth = 2,
    DisTrunkDepth = 3,
    DisHeadDepth = 4,
    StatWidth1 = 5,
    StatWidth2 = 6,
    StatWidth3 = 7,
    EntBranchWidth = 8,
    EntBranchDepth = 9,
    EntTrunkWidth = 10,
    EntTrunkDepth = 11,
    Dropout = 12,
    DropoutOutput = 13,
    LeakySlope = 14,
    Batchnorm = 15,
    Alpha = 16,
    Beta = 17,
    Gamma = 18,
    Grl = 19,
    Lr = 20,
    AdamBeta1 = 21,
    AdamBeta2 = 22,
    AdamEps = 23,
    Init = 24,
    InitSigma = 25,
    Seed = 26,
    AlignHead = 27,
    AlignWidth = 28,
    MineMa = 29,
    MineMaRate = 30,
    Stochastic = 31,
    StochasticScale = 32,
    Clip = 33,
    Threads = 34,
    BnMomentum = 35,
    Disentangler = 36,
    IdeDim = 37,
    FlowLayers = 38,
    FlowWidth = 39,
    FlowDepth = 40,
    FlowClamp = 41,
    Xcorr = 42,
    StyAdv = 43,
    LrStat = 44,
}

/// Values of [`Param::Disentangler`] (enum fden_disentangler_kind).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisentanglerKind {
    /// The paper's MLP disentangler and entangler.
    Mlp = 0,
    /// An affine-coupling flow; the entangler is its exact inverse.
    Flow = 1,
}

/// Values of [`Param::Init`] (enum fden_init).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    TruncNormal = 0,
    GlorotNormal = 1,
    HeNormal = 2,
}

/// Values of [`Param::AlignHead`] (enum fden_align_head).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlignHead {
    Prototypical = 0,
    Relation = 1,
    Matching = 2,
}

/// Whole-configuration presets (enum fden_preset).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Default = 0,
    Paper = 1,
}

/// Valid range `(lo, hi)` of a key.
pub fn bounds(key: Param) -> Result<(f64, f64)> {
    let (mut lo, mut hi) = (0.0, 0.0);
    check(unsafe { ffi::fden_config_bounds(key as i32, &mut lo, &mut hi) })?;
    Ok((lo, hi))
}

/// The library's name of a key ("dim", "lr", ...).
pub fn key_name(key: Param) -> Option<String> {
    let p = unsafe { ffi::fden_config_key_name(key as i32) };
    if p.is_null() {
        None
    } else {
        Some(cstr(p))
    }
}

/// Settings for a new model; starts from the library's defaults.
/// Freed on drop.
pub struct Config {
    pub(crate) ptr: NonNull<ffi::fden_config>,
}

// A configuration is plain data owned by this handle.
unsafe impl Send for Config {}

impl Config {
    /// A configuration holding the defaults (`Preset::Default`).
    pub fn new() -> Result<Config> {
        let mut p = std::ptr::null_mut();
        check(unsafe { ffi::fden_config_new(&mut p) })?;
        Ok(Config::adopt(p))
    }

    pub(crate) fn adopt(p: *mut ffi::fden_config) -> Config {
        Config { ptr: NonNull::new(p).expect("libfden returned FDEN_OK and a NULL config") }
    }

    /// Reset every key to a preset.
    pub fn preset(&mut self, preset: Preset) -> Result<&mut Self> {
        check(unsafe { ffi::fden_config_preset(self.ptr.as_ptr(), preset as i32) })?;
        Ok(self)
    }

    /// Set one key; an `INVALID` error when out of [`bounds`].
    pub fn set(&mut self, key: Param, value: f64) -> Result<&mut Self> {
        check(unsafe { ffi::fden_config_set(self.ptr.as_ptr(), key as i32, value) })?;
        Ok(self)
    }

    /// Set a key by its raw number (for keys newer than these bindings).
    pub fn set_raw(&mut self, key: i32, value: f64) -> Result<&mut Self> {
        check(unsafe { ffi::fden_config_set(self.ptr.as_ptr(), key, value) })?;
        Ok(self)
    }

    /// Read one key.
    pub fn get(&self, key: Param) -> Result<f64> {
        let mut v = 0.0;
        check(unsafe { ffi::fden_config_get(self.ptr.as_ptr(), key as i32, &mut v) })?;
        Ok(v)
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        unsafe { ffi::fden_config_free(self.ptr.as_ptr()) }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("dim", &self.get(Param::Dim).unwrap_or(f64::NAN))
            .field("seed", &self.get(Param::Seed).unwrap_or(f64::NAN))
            .finish()
    }
}

