//! The internal collectors define their charts exactly as a real Netdata 1.37.1 child
//! does: the `proc.plugin` runs on files captured from the machine the fixture child ran
//! on (`tests/data/proc-root`), and every chart it defines is compared, field by field,
//! with the definition block the real child sent for the same chart id
//! (`shared/fixtures/netdata-1.37.1-child-v4.stream`): the 12 CHART fields, the chart
//! labels (name, value, source) and every DIMENSION (id, name, algorithm, multiplier,
//! divisor, options), in order.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use strata::collectors::procfs::ProcPlugin;
use strata::stream::tokenizer::tokenize;

/// One definition block: the CHART words, the CLABEL words, the DIMENSION words.
#[derive(Debug, Default, Clone)]
struct Block {
    chart: Vec<String>,
    labels: Vec<Vec<String>>,
    dims: Vec<Vec<String>>,
}

fn words(line: &[u8]) -> Vec<String> {
    tokenize(line).iter().map(|w| String::from_utf8_lossy(w).into_owned()).collect()
}

/// The first definition block of every chart in a stream.
fn blocks(stream: &[u8]) -> BTreeMap<String, Block> {
    let mut out: BTreeMap<String, Block> = BTreeMap::new();
    let mut current: Option<Block> = None;
    let flush = |b: Option<Block>, out: &mut BTreeMap<String, Block>| {
        if let Some(b) = b {
            out.entry(b.chart[1].clone()).or_insert(b);
        }
    };
    for line in stream.split(|&b| b == b'\n') {
        let w = words(line);
        match w.first().map(String::as_str) {
            Some("CHART") => {
                flush(current.take(), &mut out);
                current = Some(Block { chart: w, ..Default::default() });
            }
            Some("CLABEL") => {
                if let Some(b) = current.as_mut() {
                    b.labels.push(w);
                }
            }
            Some("DIMENSION") => {
                if let Some(b) = current.as_mut() {
                    b.dims.push(w);
                }
            }
            Some("CLABEL_COMMIT") => {}
            _ => flush(current.take(), &mut out),
        }
    }
    flush(current, &mut out);
    out
}

const CHART_FIELDS: [&str; 13] = [
    "keyword",
    "type.id",
    "name",
    "title",
    "units",
    "family",
    "context",
    "chart type",
    "priority",
    "update every",
    "options",
    "plugin",
    "module",
];

const DIM_FIELDS: [&str; 7] = ["keyword", "id", "name", "algorithm", "multiplier", "divisor", "options"];

/// The charts the collectors must provide (issue 5).
const REQUIRED: [&str; 11] = [
    "system.cpu",
    "system.load",
    "system.ram",
    "system.io",
    "system.net",
    "net.eth0",
    "disk.vda",
    "system.processes",
    "system.uptime",
    "system.ctxt",
    "system.intr",
];

fn compare(id: &str, ours: &Block, theirs: &Block, problems: &mut Vec<String>) {
    for (i, field) in CHART_FIELDS.iter().enumerate() {
        let (a, b) = (ours.chart.get(i), theirs.chart.get(i));
        if a != b {
            problems.push(format!("{id}: CHART {field}: ours {a:?}, Netdata {b:?}"));
        }
    }
    if ours.labels != theirs.labels {
        problems.push(format!("{id}: CLABELs: ours {:?}, Netdata {:?}", ours.labels, theirs.labels));
    }
    if ours.dims.len() != theirs.dims.len() {
        problems.push(format!("{id}: {} dimensions, Netdata {}", ours.dims.len(), theirs.dims.len()));
    }
    for (d, (a, b)) in ours.dims.iter().zip(&theirs.dims).enumerate() {
        for (i, field) in DIM_FIELDS.iter().enumerate() {
            if a.get(i) != b.get(i) {
                problems.push(format!("{id}: DIMENSION #{d} {field}: ours {:?}, Netdata {:?}", a.get(i), b.get(i)));
            }
        }
    }
}

#[test]
fn proc_plugin_definitions_match_a_real_netdata_child() {
    let fixture = common::shared_dir().join("fixtures/netdata-1.37.1-child-v4.stream");
    let theirs = blocks(&std::fs::read(&fixture).expect("read the v4 capture"));
    assert!(theirs.len() > 150, "the capture holds the child's ~200 charts");

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/proc-root");
    let mut plugin = ProcPlugin::new(&root, |_| true);
    let mut stream = plugin.tick(1_700_000_000_250_000, 0, 1);
    stream.extend(plugin.tick(1_700_000_001_250_000, 1_000_000, 1));
    let ours = blocks(&stream);

    for id in REQUIRED {
        assert!(ours.contains_key(id), "we do not define {id}; we define {:?}", ours.keys());
        assert!(theirs.contains_key(id), "the capture has no {id}");
    }
    let mut problems = Vec::new();
    for (id, block) in &ours {
        match theirs.get(id) {
            Some(t) => compare(id, block, t, &mut problems),
            None => problems.push(format!("{id}: not in the capture")),
        }
    }
    assert!(problems.is_empty(), "{} differences:\n{}", problems.len(), problems.join("\n"));
    eprintln!("{} chart definitions identical to Netdata's: {:?}", ours.len(), ours.keys());
}
