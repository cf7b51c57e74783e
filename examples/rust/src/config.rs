//! Model configuration (struct fden_config).

use std::ptr::NonNull;

use crate::{check, cstr, ffi, status, Error, Result};

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
    FlowNll = 45,
    AlignNorm = 46,
    AlignTemp = 47,
    LrDecay = 48,
    LrDecaySteps = 49,
    LrDecayFactor = 50,
    Ema = 51,
    Hsic = 52,
    StyCls = 53,
    StyClsClasses = 54,
    StyClsWidth = 55,
    StyClsLr = 56,
    StyBetween = 57,
}

impl Param {
    /// Every key these bindings know, in the library's order.
    pub const ALL: [Param; 57] = {
        use Param::*;
        [Dim, DisWidth, DisTrunkDepth, DisHeadDepth, StatWidth1, StatWidth2, StatWidth3,
         EntBranchWidth, EntBranchDepth, EntTrunkWidth, EntTrunkDepth, Dropout, DropoutOutput,
         LeakySlope, Batchnorm, Alpha, Beta, Gamma, Grl, Lr, AdamBeta1, AdamBeta2, AdamEps, Init,
         InitSigma, Seed, AlignHead, AlignWidth, MineMa, MineMaRate, Stochastic, StochasticScale,
         Clip, Threads, BnMomentum, Disentangler, IdeDim, FlowLayers, FlowWidth, FlowDepth,
         FlowClamp, Xcorr, StyAdv, LrStat, FlowNll, AlignNorm, AlignTemp, LrDecay, LrDecaySteps,
         LrDecayFactor, Ema, Hsic, StyCls, StyClsClasses, StyClsWidth, StyClsLr,
         StyBetween]
    };

    /// Whether the key takes whole numbers only (widths, depths, counts,
    /// switches, seeds and enum keys): set it with [`Config::set_int`] or
    /// [`Config::set_enum`].
    pub fn is_integer(self) -> bool {
        use Param::*;
        matches!(self,
            Dim | DisWidth | DisTrunkDepth | DisHeadDepth | StatWidth1 | StatWidth2 | StatWidth3
            | EntBranchWidth | EntBranchDepth | EntTrunkWidth | EntTrunkDepth | DropoutOutput
            | Batchnorm | Init | Seed | AlignHead | AlignWidth | MineMa | Stochastic | Clip
            | Threads | Disentangler | IdeDim | FlowLayers | FlowWidth | FlowDepth | AlignNorm
            | LrDecay | LrDecaySteps | StyClsClasses | StyClsWidth)
    }

    /// Whether the key holds one of an enum's values ([`Init`],
    /// [`AlignHead`], [`DisentanglerKind`], [`AlignNorm`], [`LrDecay`]):
    /// set it with [`Config::set_enum`].
    pub fn is_enum(self) -> bool {
        matches!(self, Param::Init | Param::AlignHead | Param::Disentangler | Param::AlignNorm
                 | Param::LrDecay)
    }

    /// The library's name of the key ("flow_layers"), or its number.
    fn label(self) -> String {
        key_name(self).unwrap_or_else(|| format!("key {}", self as i32))
    }
}

/// A value of an enum key; [`Config::set_enum`] takes any of them and
/// knows the key from the type.
pub trait ConfigEnum: Copy {
    /// The key this enum's values are for.
    const KEY: Param;
    /// The C value.
    fn value(self) -> i32;
}

macro_rules! config_enum {
    ($t:ty, $key:expr) => {
        impl ConfigEnum for $t {
            const KEY: Param = $key;
            fn value(self) -> i32 {
                self as i32
            }
        }
    };
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

/// Values of [`Param::AlignNorm`] (enum fden_align_norm).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlignNorm {
    None = 0,
    Cosine = 1,
    SimpleShot = 2,
}

/// Values of [`Param::LrDecay`] (enum fden_lr_decay).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LrDecay {
    Constant = 0,
    Cosine = 1,
    Step = 2,
}

config_enum!(DisentanglerKind, Param::Disentangler);
config_enum!(Init, Param::Init);
config_enum!(AlignHead, Param::AlignHead);
config_enum!(AlignNorm, Param::AlignNorm);
config_enum!(LrDecay, Param::LrDecay);

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

    /// Set a real-valued key (`Lr`, `Dropout`, ...); an `INVALID` error
    /// when out of [`bounds`]. An integer key takes a whole number only:
    /// a fraction (2.5 layers) is an `INVALID` error before the library is
    /// called. Prefer [`Config::set_int`] and [`Config::set_enum`] there.
    pub fn set(&mut self, key: Param, value: f64) -> Result<&mut Self> {
        if key.is_integer() && value.fract() != 0.0 {
            return Err(Error::new(
                status::INVALID,
                format!("{} takes an integer, not {value} (use set_int or set_enum)", key.label()),
            ));
        }
        check(unsafe { ffi::fden_config_set(self.ptr.as_ptr(), key as i32, value) })?;
        Ok(self)
    }

    /// Set an integer key (widths, depths, counts, switches, the seed):
    /// `cfg.set_int(Param::FlowLayers, 4)`. A real-valued key is an
    /// `INVALID` error before the library is called; out of [`bounds`] is
    /// the library's `INVALID`. Enum keys take raw values here; prefer
    /// [`Config::set_enum`].
    pub fn set_int(&mut self, key: Param, value: i64) -> Result<&mut Self> {
        if !key.is_integer() {
            return Err(Error::new(
                status::INVALID,
                format!("{} takes a real value (use set), not an integer", key.label()),
            ));
        }
        if value.unsigned_abs() > 1u64 << 53 {
            return Err(Error::new(status::INVALID, format!("{} = {value} is beyond 2^53", key.label())));
        }
        check(unsafe { ffi::fden_config_set(self.ptr.as_ptr(), key as i32, value as f64) })?;
        Ok(self)
    }

    /// Set an enum key from its typed value; the key follows from the
    /// type: `cfg.set_enum(Init::HeNormal)`.
    pub fn set_enum<E: ConfigEnum>(&mut self, value: E) -> Result<&mut Self> {
        check(unsafe { ffi::fden_config_set(self.ptr.as_ptr(), E::KEY as i32, value.value() as f64) })?;
        Ok(self)
    }

    /// Set a key by its raw number (for keys newer than these bindings).
    pub fn set_raw(&mut self, key: i32, value: f64) -> Result<&mut Self> {
        check(unsafe { ffi::fden_config_set(self.ptr.as_ptr(), key, value) })?;
        Ok(self)
    }

    /// Read an integer key (an `INVALID` error for a real-valued one).
    pub fn get_int(&self, key: Param) -> Result<i64> {
        if !key.is_integer() {
            return Err(Error::new(status::INVALID, format!("{} is not an integer key", key.label())));
        }
        Ok(self.get(key)? as i64)
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

