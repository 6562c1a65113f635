//! Lints are tests: `cargo fmt --check` and `cargo clippy -D warnings` over the workspace.
//! Clippy uses its own target directory so it never waits on the test build's lock.

use std::process::Command;

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn rustfmt_check() {
    let out = cargo().args(["fmt", "--all", "--", "--check"]).output().expect("run cargo fmt");
    assert!(
        out.status.success(),
        "cargo fmt --check:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn clippy_deny_warnings() {
    let target = concat!(env!("CARGO_MANIFEST_DIR"), "/target/lint");
    let out = cargo()
        .args(["clippy", "--workspace", "--all-targets", "--target-dir", target, "--", "-D", "warnings"])
        .output()
        .expect("run cargo clippy");
    assert!(out.status.success(), "cargo clippy:\n{}", String::from_utf8_lossy(&out.stderr));
}
