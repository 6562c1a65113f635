//! Build script of the `strata` package. Owns one thing: in a release build of the `strata`
//! binary, has the linker place the functions of `src/link/hot-symbols.txt` (the code a headless
//! collector runs every second) in one output section, `.text.hot`, before the rest of the
//! code, so that once the start-up code is released (`src/resident.rs`) the code that stays
//! resident spans a few 64 KiB fault-around windows instead of most of the executable. Only
//! the order of functions changes, not the code: a parent is not slowed down.
//!
//! Invariants: the linker script is generated into `OUT_DIR` and only adds a section placed
//! `INSERT BEFORE .text` (the default layout stays as it is otherwise). Each name becomes the
//! pattern `.text.NAME*` (and `.text.unlikely.NAME*` for cold functions), without the
//! `.llvm.NUMBER` suffix LLVM gives to promoted local functions: that number changes with any
//! edit of the code unit, the rest of the name does not; and with every crate hash
//! (`Cs<base62>_`) a glob, since those change with the dependencies and the compiler. A
//! name the binary does not have
//! matches nothing: a stale list costs only the grouping, never the build. Only for
//! `x86_64-unknown-linux-gnu` with rustc 1.90 or later (its default linker is LLD);
//! `STRATA_SYMBOL_ORDER=no` turns it off (e.g. for another linker), `=yes` forces it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=src/link/hot-symbols.txt");
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
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/link/hot-symbols.txt");
    let Ok(names) = std::fs::read_to_string(&list) else { return };
    if !wanted {
        return;
    }
    let script = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("hot-text.ld");
    std::fs::write(&script, linker_script(&names)).expect("write the hot-text linker script");
    println!("cargo:rustc-link-arg-bin=strata=-Wl,-T,{}", script.display());
}

/// The linker script placing the sections of `names` (one symbol a line) in `.text.hot`.
fn linker_script(names: &str) -> String {
    let mut patterns: Vec<String> = names
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty() && !n.starts_with('#'))
        .map(|n| n.split(".llvm.").next().unwrap_or(n))
        .map(without_crate_hashes)
        .flat_map(|n| [format!(".text.{n}*"), format!(".text.unlikely.{n}*")])
        .collect();
    patterns.sort();
    patterns.dedup();
    let mut out = String::from("SECTIONS\n{\n  .text.hot :\n  {\n");
    for p in patterns {
        out.push_str(&format!("    *({p})\n"));
    }
    out.push_str("  }\n}\nINSERT BEFORE .text;\n");
    out
}

/// `name` (a mangled symbol) with every crate disambiguator of the v0 scheme (`Cs<base62>_`)
/// replaced by the glob `Cs*_` (the trailing hash of a legacy `_ZN…17h<hex>E` name stays:
/// that scheme does not spell out generic arguments, so the hash is what tells one
/// instantiation from the others): those hashes change with the dependency graph, the compiler and the
/// build flags, while the paths of the functions do not. A pattern may then match a few
/// more functions of the same path in another build, which only groups them too.
fn without_crate_hashes(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find("Cs") {
        let (head, tail) = rest.split_at(at + 2);
        out.push_str(head);
        let hash_len = tail.bytes().take_while(u8::is_ascii_alphanumeric).count();
        if hash_len > 0 && tail.as_bytes().get(hash_len) == Some(&b'_') {
            out.push('*');
            rest = &tail[hash_len..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// The minor version of the rustc building this (1.MINOR), from `rustc -V`.
fn rustc_minor() -> Option<u32> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let out = Command::new(rustc).arg("-V").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    text.split_whitespace().nth(1)?.split('.').nth(1)?.parse().ok()
}
