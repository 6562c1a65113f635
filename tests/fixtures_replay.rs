//! Every `.request`/`.stream` capture of a real Netdata 1.37.1 child in `shared/fixtures`
//! replayed through a real socket into a running 2-shard parent: the handshake is
//! accepted, every chart and every visible dimension of the capture is served by the API
//! under `/host/<machine guid>/`, and `/api/v1/data` returns the streamed values. Run
//! twice: with the default `dbengine` (small blocks, so reads cross many sealed blocks and
//! the open one) and with `ram`.
//!
//! The first collection cycles are paced at one second (`common::replay_paced`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use strata::stream::command::parse_line;
use strata::stream::Command;

const PACED_CYCLES: usize = 5;

/// Visible dimension id → (multiplier, divisor, absolute?).
type Dims = BTreeMap<String, (i64, i64, bool)>;

struct Expect {
    guid: String,
    /// chart id → (update_every, visible dimension id → (multiplier, divisor, absolute?))
    charts: BTreeMap<String, (i64, Dims)>,
    hidden_charts: BTreeSet<String>,
    /// chart id → dimension id → collected values, in order
    sets: BTreeMap<String, BTreeMap<String, Vec<i64>>>,
}

/// Decodes the LZ4 framing of a compressed capture (spec §3.6): one LZ4 block per frame,
/// blocks chained through the previous 64 KiB of decoded text.
fn lz4_decode(mut data: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    let mut block = vec![0u8; 65536];
    while data.len() >= 4 {
        assert_eq!(data[0], 0xFA, "frame signature");
        let len = (data[1] & 0x7F) as usize | (((data[2] & 0x7F) as usize) << 7);
        let payload = &data[4..4 + len];
        let dict_start = out.len().saturating_sub(65536);
        let n = lz4_flex::block::decompress_into_with_dict(payload, &mut block, &out[dict_start..]).expect("lz4 block");
        out.extend_from_slice(&block[..n]);
        data = &data[4 + len..];
    }
    out
}

fn expectations(request: &[u8], stream: &[u8]) -> Expect {
    let req = String::from_utf8_lossy(request);
    let guid = req.split("machine_guid=").nth(1).and_then(|s| s.split('&').next()).expect("guid").to_string();
    let mut e = Expect { guid, charts: BTreeMap::new(), hidden_charts: BTreeSet::new(), sets: BTreeMap::new() };
    let mut current: Option<String> = None;
    for line in stream.split(|b| *b == b'\n') {
        let Ok(parsed) = parse_line(line, 4) else { continue };
        match parsed.command {
            Some(Command::Chart(c)) => {
                let id = String::from_utf8_lossy(c.type_id).to_string();
                let opts = c.options.map(|o| String::from_utf8_lossy(o).to_string()).unwrap_or_default();
                if opts.contains("hidden") || opts.contains("obsolete") {
                    e.hidden_charts.insert(id.clone());
                }
                e.charts.entry(id.clone()).or_default().0 = c.update_every.unwrap_or(1);
                current = Some(id);
            }
            Some(Command::Dimension(d)) => {
                let (Some(chart), id) = (current.clone(), String::from_utf8_lossy(d.id).to_string()) else { continue };
                let opts = d.options.map(|o| String::from_utf8_lossy(o).to_string()).unwrap_or_default();
                let entry = e.charts.entry(chart).or_default();
                if opts.contains("hidden") || opts.contains("obsolete") {
                    entry.1.remove(&id);
                } else {
                    let absolute = matches!(d.algorithm, None | Some(b"absolute") | Some(b""));
                    let m = d.multiplier.filter(|v| *v != 0).unwrap_or(1);
                    let dv = d.divisor.filter(|v| *v != 0).unwrap_or(1);
                    entry.1.insert(id, (m, dv, absolute));
                }
            }
            Some(Command::Begin { chart, .. }) => current = Some(String::from_utf8_lossy(chart).to_string()),
            Some(Command::Set { dimension, value: Some(v) }) => {
                if let Some(c) = &current {
                    e.sets
                        .entry(c.clone())
                        .or_default()
                        .entry(String::from_utf8_lossy(dimension).to_string())
                        .or_default()
                        .push(v);
                }
            }
            Some(Command::End) => current = None,
            _ => {}
        }
    }
    e.charts.retain(|id, (_, dims)| !e.hidden_charts.contains(id) && !dims.is_empty());
    e
}

#[test]
fn every_fixture_replays_into_a_dbengine_parent() {
    let p = replay_all("[db]\n    dbengine block slots = 4\n", &default_stream_conf());
    // The values came back through sealed blocks: the engines sealed and indexed them.
    let st = p.get_json("/api/v1/dbengine");
    let total = &st["total"];
    assert_eq!(st["shards"].as_array().map(Vec::len), Some(2), "{st}");
    assert!(total["sealed"]["blocks"].as_u64().unwrap_or(0) > 100, "{st}");
    assert!(total["sealed"]["values"].as_u64().unwrap_or(0) > 1_000, "{st}");
    // Every sealed block is either still dirty or already written to a datafile.
    let dirty = total["page_cache"]["dirty_bytes"].as_u64().unwrap_or(0);
    let written = total["disk"]["extents_written"].as_u64().unwrap_or(0);
    assert!(dirty > 0 || written > 0, "{st}");
    assert_eq!(total["disk"]["crc_failures"], 0, "{st}");
    assert_eq!(total["index"]["blocks"], total["sealed"]["blocks"], "nothing dropped: {st}");
    assert_eq!(total["dropped"]["blocks"], 0, "{st}");
    assert!(total["page_cache"]["hits"].as_u64().unwrap_or(0) > 0, "queries read sealed blocks: {st}");
    let charts = p.get_json("/host/localhost/api/v1/charts");
    assert_eq!(charts["memory_mode"], "dbengine");
    let info = p.get_json("/api/v1/info");
    assert_eq!(info["dbengine"]["page_cache_size_bytes"], 32 * 1024 * 1024, "{info}");
    assert_eq!(info["dbengine"]["values_sealed"], total["sealed"]["values"], "{info}");
    eprintln!(
        "dbengine after the replay: {} blocks sealed, {} values, {} encoded bytes per value, {} bytes in open blocks",
        total["sealed"]["blocks"],
        total["sealed"]["values"],
        total["sealed"]["bytes_per_sample"],
        total["open_blocks_bytes"]
    );
}

#[test]
fn every_fixture_replays_into_a_ram_parent() {
    let p = replay_all("", &stream_conf_with_mode("ram"));
    let st = p.get_json("/api/v1/dbengine");
    assert_eq!(st["total"]["sealed"]["blocks"], 0, "ram children never touch the engine: {st}");
}

/// Replays every fixture into a fresh parent and checks what the API serves; returns the
/// parent, still running.
fn replay_all(netdata_conf: &str, stream_conf: &str) -> Parent {
    let dir = shared_dir().join("fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("shared/fixtures")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".request").map(str::to_string))
        .collect();
    names.sort();
    assert_eq!(names.len(), 8, "fixture pairs: {names:?}");

    let p = Parent::start(config_dir(netdata_conf, stream_conf), 2);
    let addr = p.addr;
    let runs: Vec<_> = names
        .iter()
        .map(|name| {
            let request = std::fs::read(dir.join(format!("{name}.request"))).expect("request");
            let mut stream = std::fs::read(dir.join(format!("{name}.stream"))).expect("stream");
            if name.contains("lz4") {
                stream = lz4_decode(&stream);
            }
            let e = expectations(&request, &stream);
            let tname = name.clone();
            let t = std::thread::spawn(move || {
                let (sock, reply) = handshake(addr, &request);
                assert_eq!(reply, b"Hit me baby, push them over with the version=4", "{tname}");
                replay_paced(sock, &stream, PACED_CYCLES)
            });
            (name.clone(), e, t)
        })
        .collect();
    let mut socks = Vec::new();
    let mut expects = Vec::new();
    for (name, e, t) in runs {
        socks.push(t.join().expect("replay thread"));
        expects.push((name, e));
    }

    for (name, e) in &expects {
        assert!(e.charts.len() > 150, "{name}: only {} visible charts in the capture", e.charts.len());
        // Every chart, with exactly its visible dimensions, is served (definitions are
        // applied in order, so once the last one answers all are in).
        let last = e.charts.keys().last().expect("a chart");
        wait_for(&format!("{name}: chart {last}"), Duration::from_secs(20), || {
            (p.get(&format!("/host/{}/api/v1/chart?chart={last}", e.guid)).0 == 200).then_some(())
        });
        for (id, (_, dims)) in &e.charts {
            let chart = p.get_json(&format!("/host/{}/api/v1/chart?chart={id}", e.guid));
            let got: BTreeSet<String> = chart["dimensions"].as_object().expect("dimensions").keys().cloned().collect();
            let want: BTreeSet<String> = dims.keys().cloned().collect();
            assert_eq!(got, want, "{name}: dimensions of {id}");
        }
        let charts = p.get_json(&format!("/host/{}/api/v1/charts", e.guid));
        assert_eq!(charts["charts"].as_object().expect("charts").len(), e.charts.len(), "{name}: /api/v1/charts");
    }

    // The streamed values come back from /api/v1/data: every stored value of a 1-s chart
    // whose dimensions are all absolute equals one collected value × multiplier ÷ divisor.
    let mut checked = 0;
    let mut exact = 0;
    for (name, e) in &expects {
        if e.sets.is_empty() {
            continue; // the replication capture holds definitions only
        }
        for (id, (ue, dims)) in &e.charts {
            if *ue != 1 || !dims.values().all(|d| d.2) || !e.sets.contains_key(id) {
                continue;
            }
            let data =
                p.get_json(&format!("/host/{}/api/v1/data?chart={id}&after=-600&format=json&options=nonzero", e.guid));
            let labels: Vec<String> = data["labels"]
                .as_array()
                .expect("labels")
                .iter()
                .map(|l| l.as_str().unwrap_or("").to_string())
                .collect();
            for row in data["data"].as_array().expect("data") {
                for (i, v) in row.as_array().expect("row").iter().enumerate().skip(1) {
                    let Some(v) = v.as_f64() else { continue };
                    let dim = &labels[i];
                    let Some((m, d, _)) = dims.get(dim) else { continue };
                    let scaled: Vec<f64> =
                        e.sets[id][dim].iter().map(|c| (*c as f64) * (*m as f64) / (*d as f64)).collect();
                    let tol = 1e-6 * v.abs().max(1.0);
                    let (lo, hi) = scaled.iter().fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
                    // A collection that crosses two slot boundaries stores an interpolated
                    // value for the earlier slot (dbengine-facts.md §2, quirk 4): it lies
                    // between streamed values; the normal case is the streamed value itself.
                    assert!(
                        v >= lo - tol && v <= hi + tol,
                        "{name}: {id}.{dim} = {v} outside the streamed values {scaled:?}"
                    );
                    if scaled.iter().any(|x| (x - v).abs() <= tol) {
                        exact += 1;
                    }
                    checked += 1;
                }
            }
        }
        let cpu = p.get_json(&format!("/host/{}/api/v1/data?chart=system.cpu&after=-600&format=json", e.guid));
        let non_null = cpu["data"]
            .as_array()
            .expect("data")
            .iter()
            .flat_map(|r| r.as_array().into_iter().flatten().skip(1))
            .filter(|v| !v.is_null())
            .count();
        assert!(non_null > 0, "{name}: system.cpu has no stored values: {cpu}");
    }
    assert!(checked > 100, "only {checked} stored values were compared");
    assert!(exact * 10 >= checked * 8, "only {exact} of {checked} stored values equal a streamed value");

    // `prometheus_all_hosts` covers every host, whichever shard owns it and whichever
    // shard answers: the parent itself and every child, each once in `netdata_info`, and
    // each streaming child's series under its own `instance=` label.
    let (status, body) = p.get("/api/v1/allmetrics?format=prometheus_all_hosts&timestamps=no&data=as-collected");
    assert_eq!(status, 200);
    let head = &body[..body.len().min(2000)];
    assert_eq!(body.matches("netdata_info{").count(), 1 + expects.len(), "{head}");
    for (name, e) in &expects {
        let info = p.get_json(&format!("/host/{}/api/v1/info", e.guid));
        let mirrored = info["mirrored_hosts_status"].as_array().expect("mirrored_hosts_status");
        let me = mirrored.iter().find(|h| h["guid"] == e.guid.as_str()).expect("child in mirrored_hosts_status");
        let hostname = me["hostname"].as_str().expect("hostname");
        let label = format!("instance=\"{hostname}\"");
        let series = body.lines().filter(|l| !l.starts_with("netdata_info") && l.contains(&label)).count();
        assert!(e.sets.is_empty() || series > 100, "{name}: {series} series of {hostname}");
    }
    drop(socks);
    p
}
