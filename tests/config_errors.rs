//! Bad configuration is a clear error naming file, section and key, and a non-zero exit;
//! `--help` and `--version` work.

mod common;

use std::process::Command;

use common::*;

fn run(dir: &TempDir, extra: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--config-dir")
        .arg(&dir.0)
        .args(["-W", "set", "web", "bind to", "127.0.0.1:0"])
        .args(extra)
        .output()
        .expect("run strata");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn history_not_a_number() {
    let d = config_dir("[global]\n    history = abc\n", "");
    let (ok, err) = run(&d, &[]);
    assert!(!ok);
    assert!(
        err.contains("netdata.conf") && err.contains("[global]") && err.contains("history") && err.contains("abc"),
        "{err}"
    );
}

#[test]
fn unknown_memory_mode() {
    let d = config_dir("[global]\n    memory mode = floppy\n", "");
    let (ok, err) = run(&d, &[]);
    assert!(!ok);
    assert!(err.contains("memory mode") && err.contains("floppy"), "{err}");
}

#[test]
fn api_key_section_that_is_not_a_guid() {
    let d = config_dir("", "[my-secret-key]\n    enabled = yes\n");
    let (ok, err) = run(&d, &[]);
    assert!(!ok);
    assert!(err.contains("stream.conf") && err.contains("my-secret-key") && err.contains("GUID"), "{err}");
}

#[test]
fn unknown_memory_mode_in_stream_conf() {
    let d = config_dir("", &format!("[{KEY}]\n    enabled = yes\n    default memory mode = tape\n"));
    let (ok, err) = run(&d, &[]);
    assert!(!ok);
    assert!(err.contains("stream.conf") && err.contains("default memory mode") && err.contains("tape"), "{err}");
}

#[test]
fn override_with_bad_value() {
    let d = config_dir("", "");
    let (ok, err) = run(&d, &["-W", "set", "global", "update every", "often"]);
    assert!(!ok);
    assert!(err.contains("update every") && err.contains("often"), "{err}");
}

#[test]
fn help_and_version() {
    let out = Command::new(env!("CARGO_BIN_EXE_strata")).arg("--version").output().expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
    let out = Command::new(env!("CARGO_BIN_EXE_strata")).arg("--help").output().expect("run");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--config-dir") && help.contains("--cores") && help.contains("-W"), "{help}");
}
