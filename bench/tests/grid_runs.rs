//! The grid benchmark runs end to end (tiny: 5 children × 10 metrics for 4 s, strata only)
//! against the strata binary of this target directory: every child connects, the CPU
//! window exists, and the JSON and markdown results are written and parse. Figures are
//! not checked: a slow machine must not fail a test.

use std::path::PathBuf;
use std::process::Command;

fn strata_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("STRATA_BIN") {
        return Some(p.into());
    }
    // target/<profile>/strata, beside this package's binaries (built by any workspace
    // build or test run).
    let p = PathBuf::from(env!("CARGO_BIN_EXE_grid")).with_file_name("strata");
    // In CI the workspace test run builds it: a missing binary there is a failure, not a skip.
    assert!(
        p.is_file() || std::env::var("CI").as_deref() != Ok("true"),
        "no strata binary beside the grid binary ({}) under CI=true",
        p.display()
    );
    p.is_file().then_some(p)
}

/// Runs the grid (strata only, 5 children × 10 metrics, one core) with `extra` options
/// into a fresh output directory named after `name`: its stdout, the output directory
/// and the parsed JSON result; `None` (said) when there is no strata binary to run.
fn run_grid(name: &str, extra: &[&str]) -> Option<(String, PathBuf, serde_json::Value)> {
    let Some(strata) = strata_bin() else {
        eprintln!("SKIPPED: no strata binary beside the grid binary; run `cargo build -p strata` or set STRATA_BIN");
        return None;
    };
    let out = std::env::temp_dir().join(format!("strata-{name}-{}", std::process::id()));
    let run = Command::new(env!("CARGO_BIN_EXE_grid"))
        .args(["--grid", "5x10", "--settle", "0", "--no-netdata", "--cores", "1", "--quiet"])
        .args(extra)
        .arg("--strata")
        .arg(&strata)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run the grid bench");
    let text = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(run.status.success(), "{text}\n{}", String::from_utf8_lossy(&run.stderr));
    let json = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a JSON result");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    Some((text, out, v))
}

#[test]
fn grid_runs_tiny_against_strata() {
    let Some((text, out, v)) = run_grid("grid-test", &["--duration", "4"]) else { return };
    assert!(text.contains("| 5×10 | strata | "), "{text}");
    assert!(!text.contains("| 5×10 | netdata |"), "--no-netdata: {text}");
    let latest = std::fs::read_to_string(out.join("latest.md")).expect("latest.md");
    assert!(latest.contains("| 5×10 | strata | ") && latest.contains("| 5/5 |"), "{latest}");
    std::fs::remove_dir_all(&out).unwrap();
    let r = &v["results"][0];
    assert_eq!(r["parent"], "strata");
    assert_eq!(r["connected_at_end"], 5, "{r}");
    assert_eq!(r["never_connected"], 0, "{r}");
    assert!(r["samples_sent"].as_u64().unwrap() > 0, "{r}");
    assert!(r["window"].is_array(), "a steady window was found: {r}");
    assert!(r["cpu_secs_per_million_samples"].is_number(), "{r}");
    assert!(r["rss_mib"].as_f64().unwrap() > 1.0, "{r}");
    assert_eq!(r["clean_stop"], true, "{r}");
}

/// `--tls`: each point runs plain and over TLS; the TLS row has every child connected
/// through a TLS handshake, and the TLS/plain ratios are written.
#[test]
fn grid_runs_tiny_with_tls() {
    let Some((text, out, v)) = run_grid("grid-tls-test", &["--duration", "3", "--tls"]) else { return };
    assert!(text.contains("| 5×10 | strata | ") && text.contains("| 5×10 | strata TLS | "), "{text}");
    assert!(text.contains("TLS / plain"), "{text}");
    std::fs::remove_dir_all(&out).unwrap();
    assert_eq!(v["tls"], true);
    let rows = v["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let plain = rows.iter().find(|r| r["tls"] == false).expect("the plain row");
    let tls = rows.iter().find(|r| r["tls"] == true).expect("the TLS row");
    assert_eq!(plain["tls_handshake_p99_ms"], serde_json::Value::Null, "{plain}");
    for r in [plain, tls] {
        assert_eq!(r["parent"], "strata");
        assert_eq!(r["connected_at_end"], 5, "{r}");
        assert_eq!(r["never_connected"], 0, "{r}");
        assert!(r["samples_sent"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(r["clean_stop"], true, "{r}");
    }
    assert_eq!(tls["loadgen_report"]["settings"]["tls"], true, "{tls}");
    assert_eq!(tls["loadgen_report"]["latency_ms"]["tls_handshake"]["count"], 5, "one TLS handshake per child: {tls}");
    assert!(tls["tls_handshake_p99_ms"].as_f64().unwrap() > 0.0, "{tls}");
    let ratios = v["tls_ratios"].as_array().unwrap();
    assert_eq!(ratios.len(), 1, "{ratios:?}");
    assert_eq!(ratios[0]["children"], 5);
    assert!(ratios[0]["handshake_p99"].as_f64().unwrap() > 0.0, "{}", ratios[0]);
}
