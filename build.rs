//! Build script of the `strata` package. Owns one thing: in a release build of the `strata`
//! binary, asks the linker to place the functions of `link/hot-symbols.txt` (the code a
//! headless collector runs every second) next to each other, so that once the start-up code
//! is released (`src/resident.rs`) the code that stays resident spans a few 64 KiB
//! fault-around windows instead of most of the executable. Only the order of functions
//! changes, not the code: a parent is unaffected.
//!
//! Invariants: only for `x86_64-unknown-linux-gnu` with rustc 1.90 or later, whose default
//! linker is LLD (the option is LLD's); `STRATA_SYMBOL_ORDER=no` turns it off (e.g. for
//! another linker), `=yes` forces it. A name the binary does not have is ignored by LLD
//! (its warning is turned off): a stale list costs only the grouping, never the build.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=link/hot-symbols.txt");
    println!("cargo:rerun-if-env-changed=STRATA_SYMBOL_ORDER");
    let wanted = match std::env::var("STRATA_SYMBOL_ORDER").as_deref() {
        Ok("no") => false,
        Ok("yes") => true,
        _ => {
            std::env::var("PROFILE").as_deref() == Ok("release")
                && std::env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu")
                && rustc_minor().is_some_and(|m| m >= 90)
        }
    };
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("link/hot-symbols.txt");
    if wanted && list.is_file() {
        println!("cargo:rustc-link-arg-bin=strata=-Wl,--symbol-ordering-file={}", list.display());
        println!("cargo:rustc-link-arg-bin=strata=-Wl,--no-warn-symbol-ordering");
    }
}

/// The minor version of the rustc building this (1.MINOR), from `rustc -V`.
fn rustc_minor() -> Option<u32> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let out = Command::new(rustc).arg("-V").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    text.split_whitespace().nth(1)?.split('.').nth(1)?.parse().ok()
}
