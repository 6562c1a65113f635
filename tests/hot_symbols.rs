//! The hot-code list (`src/link/hot-symbols.txt`, read by `src/build.rs`) against the code.
//!
//! The list names, by mangled symbol, the functions a headless collector runs every second,
//! so that a release build places them together. A function of strata's own crates that is
//! renamed, moved or removed keeps its old name in the list, which then matches nothing and
//! silently loses its grouping (the collector's resident code grows back). This test fails
//! when that happens: every function of `strata` and `strata_storage` the list names must
//! still be defined, under the same path, in the `strata` executable the tests use. The
//! executable is a debug build, so its symbols carry other hashes than the release build's
//! the list was made from; the comparison is by path (the legacy `17h<hash>E` suffix and
//! LLVM's `.llvm.N` suffix removed). A debug build inlines nothing that is not
//! `#[inline(always)]`, so every function the release build has a symbol for exists here too.

use object::{Object, ObjectSymbol};
use std::collections::HashSet;

/// The crates whose code this repository edits, as legacy-mangled path prefixes.
const OWN_CRATES: [&str; 2] = ["_ZN6strata", "_ZN14strata_storage"];

/// `name` without the suffixes that change between builds of the same source.
fn path_of(name: &str) -> &str {
    let name = name.split(".llvm.").next().unwrap_or(name);
    match name.len().checked_sub(20).and_then(|at| name.get(at..).map(|tail| (at, tail))) {
        Some((at, tail))
            if tail.starts_with("17h") && tail.ends_with('E') && tail[3..19].bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            &name[..at]
        }
        _ => name,
    }
}

#[test]
fn path_of_removes_only_build_specific_suffixes() {
    assert_eq!(path_of("_ZN6strata5hosts4Host9chart_idx17h0123456789abcdefE"), "_ZN6strata5hosts4Host9chart_idx");
    assert_eq!(
        path_of("_ZN6strata5hosts4Host9chart_idx17h0123456789abcdefE.llvm.42"),
        "_ZN6strata5hosts4Host9chart_idx"
    );
    assert_eq!(path_of("_ZN6strata5hosts4Host9chart_idxE"), "_ZN6strata5hosts4Host9chart_idxE");
    assert_eq!(path_of("_ZN6strata1a17hxyz3456789abcdefE"), "_ZN6strata1a17hxyz3456789abcdefE");
}

#[test]
fn every_own_function_in_the_hot_list_still_exists() {
    let list_file = concat!(env!("CARGO_MANIFEST_DIR"), "/src/link/hot-symbols.txt");
    let list = std::fs::read_to_string(list_file).expect("read src/link/hot-symbols.txt");
    let wanted: HashSet<&str> =
        list.lines().map(str::trim).filter(|n| OWN_CRATES.iter().any(|c| n.starts_with(c))).map(path_of).collect();
    assert!(wanted.len() >= 20, "the hot list names only {} functions of strata's crates", wanted.len());

    let bytes = std::fs::read(env!("CARGO_BIN_EXE_strata")).expect("read the strata executable");
    let file = object::File::parse(&*bytes).expect("parse the strata executable");
    let defined: HashSet<String> = file
        .symbols()
        .filter(|s| s.is_definition())
        .filter_map(|s| s.name().ok())
        .filter(|n| OWN_CRATES.iter().any(|c| n.starts_with(c)))
        .map(|n| path_of(n).to_string())
        .collect();
    assert!(!defined.is_empty(), "the strata executable has no symbols of its own crates (stripped?)");

    let mut gone: Vec<&str> = wanted.iter().copied().filter(|p| !defined.contains(*p)).collect();
    gone.sort_unstable();
    assert!(
        gone.is_empty(),
        "src/link/hot-symbols.txt names {} of strata's functions the code no longer has (renamed, moved or \
         removed), so a release build no longer groups them; regenerate the list with \
         `cargo build --release && src/link/hot-symbols.sh` (needs valgrind):\n{}",
        gone.len(),
        gone.join("\n")
    );
}
