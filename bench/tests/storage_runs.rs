//! The storage benchmark runs end to end at tiny sizes with both backends, and its report
//! holds together: every section has its rows, the data read back after the restart is
//! what was written, every block written is indexed again, warm queries read nothing from
//! disk while cold ones do, and bytes per sample order as the data does (constant below
//! counter). Speeds are only checked to be measured (positive), never against a machine.

use std::process::Command;

use serde_json::Value;

fn num(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    cur.as_f64().unwrap_or_else(|| panic!("{path} is not a number in {v}"))
}

#[test]
fn storage_bench_runs_quick_and_its_figures_hold_together() {
    let scratch = std::env::temp_dir().join(format!("strata-storage-runs-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let json = scratch.join("report.json");
    let md = scratch.join("report.md");
    let out = Command::new(env!("CARGO_BIN_EXE_storage"))
        .args(["--quick", "--size-mib", "3", "--pattern-samples", "40000", "--pattern-seconds", "600"])
        .args(["--queries", "3", "--backend", "both", "--dir"])
        .arg(&scratch)
        .arg("--json")
        .arg(&json)
        .arg("--md")
        .arg(&md)
        .output()
        .expect("run the storage bench");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&md).unwrap(), text, "--md writes what is printed");
    for heading in ["## 1. Write", "## 2. Query", "## 3. Bytes per sample", "## 4. Restart"] {
        assert!(text.contains(heading), "{heading} missing:\n{text}");
    }
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();

    // 1. Both backends wrote the same data, at a measured speed.
    let write = r["write"].as_array().unwrap();
    assert_eq!(write.len(), 2);
    let samples = num(&write[0], "written.samples");
    assert!(samples > 1e6, "{samples} samples for a 3 MiB target");
    for w in write {
        assert_eq!(num(w, "written.samples"), samples, "both backends store the same workload");
        assert!(num(w, "written.time.cpu_s") > 0.0 && num(w, "written.time.wall_s") > 0.0);
        assert!(num(w, "datafile_bytes") > 0.0 && num(w, "journal_bytes") > 0.0);
        assert_eq!(num(w, "written.dropped_blocks"), 0.0);
    }

    // 4. Every block is found again and the data read back is what was written.
    let restart = r["restart"].as_array().unwrap();
    assert_eq!(restart.len(), 4, "cold and warm per backend");
    for x in restart {
        assert_eq!(num(x, "blocks_indexed"), num(x, "blocks_written"), "{x}");
        assert!(num(x, "blocks_written") > 0.0);
        assert!(x["clean"].as_bool().unwrap());
        assert!(num(x, "seconds_per_gib") > 0.0 && num(x, "seconds_per_gib").is_finite());
    }
    for v in r["verify"].as_array().unwrap() {
        let v = &v[1];
        assert_eq!(num(v, "mismatches"), 0.0, "{v}");
        assert!(num(v, "values") > 0.0);
    }
    let verified: f64 = r["verify"].as_array().unwrap().iter().map(|v| num(&v[1], "values")).sum();
    assert_eq!(verified, 2.0 * samples, "a tiny workload is read back in full, per backend");

    // 2. Cold queries read from disk, warm ones from the engine's page cache, same answers.
    let query = r["query"].as_array().unwrap();
    assert!(query.len() >= 4, "{query:?}");
    for pair in query.chunks(2) {
        let (cold, warm) = (&pair[0]["pass"], &pair[1]["pass"]);
        assert_eq!((cold["state"].as_str(), warm["state"].as_str()), (Some("cold"), Some("warm")));
        assert!(num(cold, "queries") >= 1.0);
        assert!(num(cold, "extents_read") > 0.0 && num(cold, "blocks_loaded") > 0.0, "{cold}");
        assert_eq!(num(warm, "extents_read"), 0.0, "{warm}");
        assert_eq!(num(cold, "samples"), num(warm, "samples"));
        assert!(num(cold, "samples") > 0.0);
        // A query returns at most every slot of every dimension of its charts.
        assert!(num(cold, "samples") <= num(cold, "queries") * num(cold, "range_s") * 8.0);
    }

    // 3. Bytes per sample order as the data does.
    let patterns = r["patterns"].as_array().unwrap();
    let bps = |name: &str| {
        let p = patterns.iter().find(|p| p["pattern"].as_str().unwrap().ends_with(name)).unwrap();
        let w = &p["written"];
        let files = num(p, "datafile_bytes") + num(p, "journal_bytes") + num(p, "other_bytes");
        files / num(w, "samples")
    };
    assert_eq!(patterns.len(), 7);
    let (constant, counter, walk) = (bps("constant"), bps("counter"), bps("random-walk"));
    assert!(constant > 0.0 && constant < walk && walk < counter, "{constant} {walk} {counter}");
    assert!(counter < 4.5, "noisy counters cost about the f32 bits at most: {counter}");
    assert!(text.contains(&format!("**{constant:.3}**")), "the table prints the JSON's figure");
    let left: Vec<_> = std::fs::read_dir(&scratch).unwrap().flatten().filter(|e| e.path().is_dir()).collect();
    assert!(left.is_empty(), "the shard directories are removed: {left:?}");
    let _ = std::fs::remove_dir_all(&scratch);
}
