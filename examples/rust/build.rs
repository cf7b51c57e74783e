//! Link flags for libfden, from the `pkg-config` program.
//!
//! `pkg-config --libs fden` honours PKG_CONFIG_PATH (and PKG_CONFIG_SYSROOT_DIR
//! for a `meson install --destdir` tree). FDEN_LIB_DIR, if set, skips
//! pkg-config and links -lfden from that directory.
use std::env;
use std::process::Command;

fn main() {
    for var in ["PKG_CONFIG_PATH", "PKG_CONFIG_SYSROOT_DIR", "PKG_CONFIG_LIBDIR", "FDEN_LIB_DIR"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    if let Ok(dir) = env::var("FDEN_LIB_DIR") {
        println!("cargo:rustc-link-search=native={dir}");
        println!("cargo:rustc-link-lib=dylib=fden");
        return;
    }
    let out = Command::new(env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into()))
        .args(["--libs", "fden"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run pkg-config: {e}"));
    if !out.status.success() {
        panic!(
            "`pkg-config --libs fden` failed (set PKG_CONFIG_PATH to the directory holding \
             fden.pc, or FDEN_LIB_DIR): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let flags = String::from_utf8(out.stdout).expect("pkg-config output is not UTF-8");
    let mut linked = false;
    for flag in flags.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        } else if let Some(lib) = flag.strip_prefix("-l") {
            println!("cargo:rustc-link-lib={lib}");
            linked |= lib == "fden";
        } else if !flag.is_empty() {
            println!("cargo:rustc-link-arg={flag}");
        }
    }
    if !linked {
        panic!("pkg-config gave no -lfden: {flags}");
    }
}
