//! Safe Rust bindings for libfden: FDEN (Yoon & Suk) latent disentanglement
//! on top of a host's frozen encoder/decoder.
//!
//! Every handle is owned and freed on `Drop`; every fallible call returns
//! [`Result`] whose [`Error`] carries the library's status code and detail
//! message (`fden_last_error()`). Arrays are flat, row-major `f32` slices
//! (`n * dim` long) and `i32` labels.
//!
//! ```no_run
//! use fden::{Config, Episodes, Model, Param};
//! let mut cfg = Config::new()?;
//! cfg.set(Param::Dim, 16.0)?;
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
mod invnet;
mod model;

pub use config::{bounds, key_name, AlignHead, Config, DisentanglerKind, Init, Param, Preset};
pub use data::{save_npy_f32, save_npy_i32, Batch, Dataset, Sampler};
pub use invnet::{ConvOptions, HostNet, InvNet};
pub use model::{Disentangler, Entangler, Episodes, Factorizer, Model, StepStats};

use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int};
use std::path::Path;

/// Status codes (enum fden_status).
pub mod status {
    pub const OK: i32 = 0;
    pub const INVALID: i32 = -1;
    pub const NOMEM: i32 = -2;
    pub const SHAPE: i32 = -3;
    pub const IO: i32 = -4;
    pub const FORMAT: i32 = -5;
    pub const VERSION: i32 = -6;
    pub const CORRUPT: i32 = -7;
    pub const NONFINITE: i32 = -8;
    pub const HOST: i32 = -9;
    pub const STATE: i32 = -10;
    pub const OVERFLOW: i32 = -11;
    pub const UNSUPPORTED: i32 = -12;
}

/// A failed call: the library's status code and the detail message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// A negative `enum fden_status` value (see [`status`]).
    pub status: i32,
    /// `fden_last_error()` at the time of the failure, or a message from
    /// these bindings for argument checks made before calling C.
    pub message: String,
}

impl Error {
    /// An error with the calling thread's `fden_last_error()` as message.
    pub fn last(status: i32) -> Error {
        Error { status, message: cstr(unsafe { ffi::fden_last_error() }) }
    }

    /// An error raised by these bindings (not by the library).
    pub fn new(status: i32, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }

    /// `fden_strerror(status)`: the static message for the code.
    pub fn reason(&self) -> String {
        strerror(self.status)
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

/// `fden_strerror()`.
pub fn strerror(status: i32) -> String {
    cstr(unsafe { ffi::fden_strerror(status as c_int) })
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
    if rc == status::OK {
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
