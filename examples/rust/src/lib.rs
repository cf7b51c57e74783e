//! Safe Rust bindings for libfden: FDEN (Yoon & Suk) latent disentanglement
//! on top of a host's frozen encoder/decoder.
//!
//! Every handle is owned and freed on `Drop`; every fallible call returns
//! [`Result`] whose [`Error`] carries the library's [`Status`] and detail
//! message (`fden_last_error()`). Arrays are flat, row-major `f32` slices
//! (`n * dim` long) and `i32` labels.
//!
//! ```no_run
//! use fden::{Config, Episodes, Init, Model, Param};
//! let mut cfg = Config::new()?;
//! cfg.set_int(Param::Dim, 16)?.set_enum(Init::HeNormal)?.set(Param::Lr, 1e-3)?;
//! let mut model = Model::new(&cfg)?;
//! # let (z, labels) = (vec![0f32; 160], vec![0i32; 10]);
//! let stats = model.train_step(&Episodes::new(&z, &labels, 5, 1, 1))?;
//! let (f_ide, f_sty) = model.disentangle(&z)?;
//! let z2 = model.entangle(&f_ide, &f_sty)?;
//! # Ok::<(), fden::Error>(())
//! ```
//!
//! Linking: `build.rs` asks `pkg-config --libs fden` (honouring
//! PKG_CONFIG_PATH and PKG_CONFIG_SYSROOT_DIR), or uses FDEN_LIB_DIR.

pub mod ffi;

mod config;
mod data;
mod fewshot;
mod invnet;
mod model;

pub use config::{
    bounds, key_name, AlignHead, AlignNorm, Config, ConfigEnum, DisentanglerKind, Init, LrDecay, Param, Preset,
};
pub use fewshot::{fewshot_eval, FewShotOptions, FewShotResult, FewShotTransform};
pub use data::{save_npy_f32, save_npy_i32, Batch, Dataset, Sampler};
pub use invnet::{AliOptions, ConvOptions, HostNet, InvNet};
pub use model::{Disentangler, Entangler, Episodes, Factorizer, Model, StepStats};

use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int};
use std::path::Path;

/// Why a call failed: the library's `enum fden_status` (its values never
/// change). `Other` holds a code newer than these bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// FDEN_E_INVALID: a bad argument or setting.
    Invalid,
    /// FDEN_E_NOMEM: out of memory.
    NoMem,
    /// FDEN_E_SHAPE: sizes that do not fit together.
    Shape,
    /// FDEN_E_IO: a file could not be read or written.
    Io,
    /// FDEN_E_FORMAT: not a file of the expected kind.
    Format,
    /// FDEN_E_VERSION: a file or struct from an unsupported version.
    Version,
    /// FDEN_E_CORRUPT: a checksum or structure check failed.
    Corrupt,
    /// FDEN_E_NONFINITE: NaN or infinity in the data or the training.
    NonFinite,
    /// FDEN_E_HOST: a host network's callback failed (or panicked).
    Host,
    /// FDEN_E_STATE: a call out of order.
    State,
    /// FDEN_E_OVERFLOW: a size too large to compute.
    Overflow,
    /// FDEN_E_UNSUPPORTED: not available for this object.
    Unsupported,
    /// A code these bindings do not know.
    Other(i32),
}

const STATUS_TABLE: [(Status, i32, &str); 12] = [
    (Status::Invalid, -1, "FDEN_E_INVALID"),
    (Status::NoMem, -2, "FDEN_E_NOMEM"),
    (Status::Shape, -3, "FDEN_E_SHAPE"),
    (Status::Io, -4, "FDEN_E_IO"),
    (Status::Format, -5, "FDEN_E_FORMAT"),
    (Status::Version, -6, "FDEN_E_VERSION"),
    (Status::Corrupt, -7, "FDEN_E_CORRUPT"),
    (Status::NonFinite, -8, "FDEN_E_NONFINITE"),
    (Status::Host, -9, "FDEN_E_HOST"),
    (Status::State, -10, "FDEN_E_STATE"),
    (Status::Overflow, -11, "FDEN_E_OVERFLOW"),
    (Status::Unsupported, -12, "FDEN_E_UNSUPPORTED"),
];

impl Status {
    /// The status of a (non-zero) C return code.
    pub fn from_code(code: i32) -> Status {
        STATUS_TABLE.iter().find(|t| t.1 == code).map_or(Status::Other(code), |t| t.0)
    }

    /// The C code (a negative `enum fden_status` value).
    pub fn code(self) -> i32 {
        match self {
            Status::Other(c) => c,
            s => STATUS_TABLE.iter().find(|t| t.0 == s).map_or(0, |t| t.1),
        }
    }

    /// The C name, "FDEN_E_INVALID", or "FDEN_E_?" for [`Status::Other`].
    pub fn name(self) -> &'static str {
        STATUS_TABLE.iter().find(|t| t.0 == self).map_or("FDEN_E_?", |t| t.2)
    }

    /// `fden_strerror()` of the code: the library's static message.
    pub fn reason(self) -> String {
        strerror(self.code())
    }
}

impl From<Status> for i32 {
    fn from(s: Status) -> i32 {
        s.code()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Other(c) => write!(f, "status {c}"),
            s => f.write_str(s.name()),
        }
    }
}

/// The statuses under their C names: `status::INVALID` is
/// [`Status::Invalid`], and so on.
pub mod status {
    use super::Status;
    pub const INVALID: Status = Status::Invalid;
    pub const NOMEM: Status = Status::NoMem;
    pub const SHAPE: Status = Status::Shape;
    pub const IO: Status = Status::Io;
    pub const FORMAT: Status = Status::Format;
    pub const VERSION: Status = Status::Version;
    pub const CORRUPT: Status = Status::Corrupt;
    pub const NONFINITE: Status = Status::NonFinite;
    pub const HOST: Status = Status::Host;
    pub const STATE: Status = Status::State;
    pub const OVERFLOW: Status = Status::Overflow;
    pub const UNSUPPORTED: Status = Status::Unsupported;
}

/// A failed call: why ([`Status`]) and the detail message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The library's status (match on it: `Status::Io`, ...).
    pub status: Status,
    /// `fden_last_error()` at the time of the failure (for a host
    /// network's failure, followed by the host's own message or panic
    /// message), or a message from these bindings for argument checks
    /// made before calling C.
    pub message: String,
}

impl Error {
    /// An error for a C return code with the calling thread's
    /// `fden_last_error()` as message.
    pub fn last(code: i32) -> Error {
        Error { status: Status::from_code(code), message: cstr(unsafe { ffi::fden_last_error() }) }
    }

    /// An error raised by these bindings (not by the library).
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }

    /// The C code of the status.
    pub fn code(&self) -> i32 {
        self.status.code()
    }

    /// `fden_strerror()`: the static message for the status.
    pub fn reason(&self) -> String {
        self.status.reason()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason(), self.status)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// `Result` with the library's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// `fden_strerror()` of a C code or a [`Status`].
pub fn strerror(status: impl Into<i32>) -> String {
    cstr(unsafe { ffi::fden_strerror(status.into()) })
}

/// The run-time library version, "MAJOR.MINOR.PATCH".
pub fn version() -> String {
    cstr(unsafe { ffi::fden_version() })
}

/// The run-time version as MAJOR*10000 + MINOR*100 + PATCH.
pub fn version_number() -> u32 {
    unsafe { ffi::fden_version_number() }
}

pub(crate) fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

pub(crate) fn check(rc: c_int) -> Result<()> {
    if rc == ffi::FDEN_OK {
        Ok(())
    } else {
        Err(Error::last(rc))
    }
}

pub(crate) fn c_path(path: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::new(status::INVALID, format!("path {path:?} contains a NUL byte")))
}

/// Rows of a flat slice of `dim`-wide rows, or a SHAPE error naming it.
pub(crate) fn rows(what: &str, v: &[f32], dim: usize) -> Result<usize> {
    if dim == 0 || v.len() % dim != 0 {
        return Err(Error::new(
            status::SHAPE,
            format!("{what} has {} values, not a multiple of the width {dim}", v.len()),
        ));
    }
    Ok(v.len() / dim)
}

pub(crate) fn same_len(what: &str, v: usize, want: usize) -> Result<()> {
    if v != want {
        return Err(Error::new(status::SHAPE, format!("{what} has {v} entries, expected {want}")));
    }
    Ok(())
}
