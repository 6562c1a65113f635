//! The encoding benchmark runs end to end (short): every candidate round-trips every block
//! of the real captures and of one synthetic set, and the table has a row per block length
//! and candidate. Figures are not checked: a slow machine must not fail a test.

use std::process::Command;

#[test]
fn encoding_bench_runs_short() {
    let out = Command::new(env!("CARGO_BIN_EXE_encoding"))
        .args(["--seconds", "300", "--reps", "1", "--synthetic", "mixed"])
        .output()
        .expect("run the encoding bench");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{}", text, String::from_utf8_lossy(&out.stderr));
    for heading in ["### real child captures", "### synthetic: mixed"] {
        assert!(text.contains(heading), "{heading} missing:\n{text}");
    }
    for slots in ["64", "128", "256", "512", "1024"] {
        let rows = text.lines().filter(|l| l.starts_with(&format!("| {slots} |"))).count();
        assert_eq!(rows, 2 * 6, "{slots}-slot rows:\n{text}");
    }
}
