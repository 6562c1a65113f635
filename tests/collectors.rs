//! A strata parent collects its own host (localhost): the internal collectors' charts
//! are in `/api/v1/charts` with values in `/api/v1/data`; an external plugin (a shell
//! script written by the test) is run with the `update every` argument and its chart
//! has the values it printed; a plugin that prints garbage and exits is restarted with
//! back-off, logged, and the daemon keeps serving; a clean stop terminates the plugins.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use common::*;

fn write_plugin(dir: &Path, file: &str, script: &str) {
    std::fs::create_dir_all(dir).expect("plugins dir");
    let path = dir.join(file);
    std::fs::write(&path, script).expect("write plugin");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Rows of `/api/v1/data` for a chart over the last `secs` seconds (newest first).
fn rows(p: &Parent, chart: &str, secs: u32) -> Option<(Vec<String>, Vec<Vec<serde_json::Value>>)> {
    let (status, body) = p.get(&format!("/api/v1/data?chart={chart}&after=-{secs}&format=json"));
    if status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    let labels = v["labels"].as_array()?.iter().filter_map(|l| l.as_str().map(str::to_string)).collect();
    let data = v["data"].as_array()?.iter().filter_map(|r| r.as_array().cloned()).collect();
    Some((labels, data))
}

/// A row of the chart whose every dimension has a value.
fn full_row(p: &Parent, chart: &str) -> Option<Vec<f64>> {
    let (_, data) = rows(p, chart, 30)?;
    data.into_iter().find_map(|r| r.iter().skip(1).map(serde_json::Value::as_f64).collect::<Option<Vec<f64>>>())
}

#[test]
fn a_parent_collects_its_own_host() {
    let p = Parent::start(config_dir("", &default_stream_conf()), 2);
    let must =
        ["system.cpu", "system.ram", "system.load", "system.uptime", "system.processes", "system.ctxt", "system.intr"];
    let charts = wait_for("localhost's system charts", Duration::from_secs(20), || {
        let v = p.get_json("/api/v1/charts");
        let c = v["charts"].as_object()?.clone();
        must.iter().all(|id| c.contains_key(*id)).then_some(c)
    });
    let cpu = &charts["system.cpu"];
    assert_eq!(cpu["title"], "Total CPU utilization (system.cpu)", "the API appends the id, as Netdata does");
    assert_eq!((cpu["units"].as_str(), cpu["family"].as_str()), (Some("percentage"), Some("cpu")));
    assert_eq!((cpu["plugin"].as_str(), cpu["module"].as_str()), (Some("proc.plugin"), Some("/proc/stat")));
    assert_eq!(cpu["chart_type"], "stacked");
    assert_eq!(charts["system.load"]["update_every"], 5, "loads change every 5 s");
    assert!(charts["system.ram"]["dimensions"].as_object().is_some_and(|d| d.contains_key("used")));

    for chart in ["system.cpu", "system.ram", "system.uptime", "system.processes", "system.ctxt"] {
        let row = wait_for(&format!("values of {chart}"), Duration::from_secs(20), || full_row(&p, chart));
        assert!(!row.is_empty(), "{chart}");
        if chart == "system.cpu" {
            // Shares of the non-idle states (idle is hidden, as in Netdata).
            assert!(row.iter().all(|v| (0.0..=100.0).contains(v)), "{row:?}");
            assert!(row.iter().sum::<f64>() <= 100.5, "{row:?}");
        }
        if chart == "system.ram" {
            assert!(row.iter().sum::<f64>() > 1.0, "some MiB of RAM: {row:?}");
        }
        if chart == "system.uptime" {
            assert!(row[0] > 1.0, "uptime in seconds: {row:?}");
        }
    }
    wait_for("a load average value", Duration::from_secs(25), || full_row(&p, "system.load"));
    // The API also answers for localhost by name.
    let (status, _) = p.get("/host/strata-test-parent/api/v1/chart?chart=system.cpu");
    assert_eq!(status, 200);
}

#[test]
fn an_external_plugin_feeds_localhost() {
    let dir = config_dir("", &default_stream_conf());
    let plugins = plugins_dir(&dir);
    let args = plugins.join("args.txt");
    let pid_file = plugins.join("pid.txt");
    let script = format!(
        r#"#!/bin/sh
echo "$@" > '{}'
echo $$ > '{}'
echo "from stderr" >&2
echo 'CHART testplug.values "" "Test plugin values" "widgets" "testfamily" "testplug.values" line 90000 $1'
echo 'DIMENSION tenth "a tenth" absolute 1 10'
echo 'DIMENSION neg neg absolute -3 1'
while true; do
  echo 'BEGIN testplug.values'
  echo 'SET tenth = 1000'
  echo 'SET neg = 7'
  echo 'END'
  sleep 1
done
"#,
        args.display(),
        pid_file.display()
    );
    write_plugin(&plugins, "testplug.plugin", &script);
    let p = Parent::start(dir, 2);
    let chart = wait_for("the plugin's chart", Duration::from_secs(20), || {
        let v = p.get_json("/api/v1/charts");
        v["charts"].get("testplug.values").cloned()
    });
    assert_eq!(chart["title"], "Test plugin values (testplug.values)");
    assert_eq!((chart["units"].as_str(), chart["family"].as_str()), (Some("widgets"), Some("testfamily")));
    assert_eq!(chart["plugin"], "testplug.plugin", "a chart without a plugin field is named after the file");
    assert_eq!(chart["priority"], 90000);
    assert_eq!(std::fs::read_to_string(&args).expect("plugin ran").trim(), "1", "started with update every");
    let row = wait_for("the plugin's values", Duration::from_secs(20), || {
        let (labels, data) = rows(&p, "testplug.values", 20)?;
        let i = labels.iter().position(|l| l == "a tenth")?;
        let j = labels.iter().position(|l| l == "neg")?;
        data.iter().find_map(|r| Some((r[i].as_f64()?, r[j].as_f64()?)))
    });
    assert_eq!(row, (100.0, -21.0), "1000 × 1 ÷ 10 and 7 × −3");
    p.wait_log(&["PLUGINSD[testplug]: connected to '", "testplug.plugin' running on pid"], Duration::from_secs(5));
    p.wait_log(&["PLUGINSD[testplug]: from stderr"], Duration::from_secs(5));

    // A clean stop terminates and reaps the plugin.
    let pid: i32 = std::fs::read_to_string(&pid_file).expect("pid").trim().parse().expect("a pid");
    let stopped = p.stop_with(libc::SIGTERM);
    assert!(stopped.status.success(), "{:?}", stopped.status);
    stopped.wait_log(&[&format!("PLUGINSD: killing child process pid {pid} (testplug.plugin)")]);
    // SAFETY: kill(2) with signal 0 only checks that the pid exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    assert!(!alive, "the plugin (pid {pid}) is gone");
}

#[test]
fn a_plugin_printing_garbage_is_restarted_and_the_daemon_keeps_serving() {
    let dir = config_dir("", &default_stream_conf());
    let plugins = plugins_dir(&dir);
    write_plugin(&plugins, "garbage.plugin", "#!/bin/sh\necho 'this is not the protocol'\nexit 0\n");
    write_plugin(&plugins, "failing.plugin", "#!/bin/sh\nexit 3\n");
    let p = Parent::start(dir, 2);
    p.wait_log(
        &["PLUGINSD[garbage]: ", "received unknown command 'this'", "(line: 'this is not the protocol')"],
        Duration::from_secs(10),
    );
    p.wait_log(
        &[
            "PLUGINSD[garbage]: ",
            "garbage.plugin' (pid ",
            "was stopped after a protocol error and haven't collected any data. Waiting a bit before starting it again.",
        ],
        Duration::from_secs(10),
    );
    p.wait_log(
        &["PLUGINSD[failing]: ", "exited with error code 3 and haven't collected any data. Waiting a bit"],
        Duration::from_secs(10),
    );
    let starts = |name: &str| {
        let needle = format!("{name}.plugin' running on pid");
        p.logs.lock().unwrap().iter().filter(|l| l.contains("connected to '") && l.contains(&needle)).count()
    };
    wait_for("the garbage plugin restarted twice", Duration::from_secs(20), || (starts("garbage") >= 3).then_some(()));
    assert!(starts("failing") >= 2);
    // The daemon is fine: its API answers and localhost is still collected.
    assert_eq!(p.get("/api/v1/info").0, 200);
    let before = wait_for("uptime collected", Duration::from_secs(20), || full_row(&p, "system.uptime"))[0];
    let after = wait_for("uptime moving on", Duration::from_secs(20), || {
        full_row(&p, "system.uptime").map(|r| r[0]).filter(|u| *u > before)
    });
    assert!(after > before);
}
