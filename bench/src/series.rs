//! Stored-value data sets for the encoding benchmark.
//!
//! Owns: turning streaming-protocol bytes into the per-chart rows of stored slots that the
//! dbengine would receive, using strata's own receiver ([`ReceiverSession`] applying
//! parsed lines to a [`Host`] in `memory mode = ram`), so values carry exactly the
//! interpolation, multipliers, f32 rounding, gaps and reset flags of the daemon.
//! Invariants: every row of a [`ChartSeries`] has one sample per dimension of the chart
//! (dimensions added later read as gaps before they existed); rows are consecutive slots
//! of the chart's `update_every` grid; everything is deterministic for a given seed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use strata::hosts::{Host, HostInfo, MemoryMode, ReceiverSession};
use strata::stream::command::parse_line;
use strata::stream::Command;
use strata_storage::Sample;

/// The parent's wall clock at the first line replayed (µs; `.3 s` into a second).
const BASE_US: i64 = 1_700_000_000_300_000;
/// Slots kept per dimension while replaying (longer captures are cut to this).
const HISTORY: u32 = 8192;

/// All stored slots of one chart of one capture.
#[derive(Debug, Clone)]
pub struct ChartSeries {
    /// Where the chart came from (capture file or synthetic set).
    pub source: String,
    pub chart: String,
    pub update_every: u32,
    /// `rows[slot][column]`.
    pub rows: Vec<Vec<Sample>>,
}

impl ChartSeries {
    pub fn columns(&self) -> usize {
        self.rows.first().map_or(0, Vec::len)
    }
}

/// A small deterministic generator (SplitMix64). Written here rather than taken from a
/// crate so the data sets stay identical whatever version of a random-number crate
/// resolves: the benchmark's figures must be comparable across runs and commits.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[0, n)`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// Decodes the LZ4 framing of a compressed capture (streaming-protocol.md §3.6): frames of
/// `0xFA`, a 14-bit length, one byte, then one LZ4 block that may refer to the previous
/// 64 KiB of decoded text.
pub fn lz4_stream_decode(mut data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let mut block = vec![0u8; 65536];
    while data.len() >= 4 {
        if data[0] != 0xFA {
            bail!("bad LZ4 frame signature {:#x}", data[0]);
        }
        let len = (data[1] & 0x7F) as usize | (((data[2] & 0x7F) as usize) << 7);
        let payload = data.get(4..4 + len).context("truncated LZ4 frame")?;
        let dict_start = out.len().saturating_sub(65536);
        let n =
            lz4_flex::block::decompress_into_with_dict(payload, &mut block, &out[dict_start..]).context("LZ4 block")?;
        out.extend_from_slice(&block[..n]);
        data = &data[4 + len..];
    }
    Ok(out)
}

/// How the parent's clock advances while replaying.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// Arrival jitter per collection, uniform in `[0, jitter_us)`, from this seed (0 = none).
    pub jitter_us: u64,
    pub seed: u64,
}

/// Replays a stream (plain text lines) into a fresh host and returns every chart's stored
/// slots. A child sends each chart once per its `update_every`, and sends `BEGIN` with 0
/// microseconds, which makes the parent use its own clock: so the clock seen by the
/// chart's `n`-th `BEGIN` is `n × update_every` seconds after the start, plus arrival
/// jitter. (A single clock for all charts would make charts of different collector threads
/// drift against it and see two collections in one second now and then.)
pub fn replay(source: &str, guid: &str, stream: &[u8], pacing: Pacing) -> Vec<ChartSeries> {
    let info = HostInfo { machine_guid: guid.to_string(), hostname: source.to_string(), ..Default::default() };
    let mut host = Host::new(info, MemoryMode::Ram, HISTORY);
    let mut session = ReceiverSession::new(4, "127.0.0.1:19999", 1);
    let mut rng = SplitMix::new(pacing.seed);
    let mut begins: HashMap<Vec<u8>, i64> = HashMap::new();
    let mut now = BASE_US;
    for line in stream.split(|b| *b == b'\n') {
        let Ok(parsed) = parse_line(line, 4) else { continue };
        let Some(cmd) = parsed.command else { continue };
        if let Command::Begin { chart, .. } = &cmd {
            let n = begins.entry(chart.to_vec()).or_insert(0);
            *n += 1;
            let ue = host.chart_idx(chart).and_then(|i| host.charts.get(i)).map_or(1, |c| c.update_every.max(1));
            let jitter = if pacing.jitter_us == 0 { 0 } else { rng.below(pacing.jitter_us) as i64 };
            now = BASE_US + *n * i64::from(ue) * 1_000_000 + jitter;
        }
        // A real receiver closes the connection on a FATAL; the captures hold none except
        // a cut last line, so the bench simply goes on.
        let _ = session.apply(&mut host, cmd, now);
    }
    host.charts
        .iter()
        .filter_map(|c| {
            let (first, last) = (c.store.first_time()?, c.store.last_time()?);
            let ue = i64::from(c.update_every.max(1));
            let rows = (0..)
                .map(|k| first + k * ue)
                .take_while(|t| *t <= last)
                .map(|t| (0..c.dims.len()).map(|col| c.store.get(col, t)).collect())
                .collect();
            Some(ChartSeries {
                source: source.to_string(),
                chart: c.id.to_string(),
                update_every: c.update_every,
                rows,
            })
        })
        .collect()
}

/// `prefix` + `.` + `suffix` (capture names hold dots, so no `with_extension`).
fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".");
    s.push(suffix);
    PathBuf::from(s)
}

/// The machine GUID of a `.request` handshake.
fn request_guid(request: &[u8]) -> String {
    let req = String::from_utf8_lossy(request);
    req.split("machine_guid=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .unwrap_or("00000000-0000-0000-0000-000000000000")
        .to_string()
}

/// Replays one `<prefix>.request` / `<prefix>.stream` capture (LZ4-framed when the name
/// says `lz4`). Captures without samples (replication-only) yield no charts.
pub fn capture(prefix: &Path, pacing: Pacing) -> anyhow::Result<Vec<ChartSeries>> {
    let request = std::fs::read(with_suffix(prefix, "request"))
        .with_context(|| format!("reading {}.request", prefix.display()))?;
    let mut stream =
        std::fs::read(with_suffix(prefix, "stream")).with_context(|| format!("reading {}.stream", prefix.display()))?;
    let name = prefix.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    if name.contains("lz4") {
        stream = lz4_stream_decode(&stream)?;
    }
    Ok(replay(&name, &request_guid(&request), &stream, pacing))
}

/// Every capture prefix (`*.request` with a `.stream` twin) in a directory, sorted.
pub fn capture_prefixes(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let prefix = PathBuf::from(p.to_str()?.strip_suffix(".request")?);
            with_suffix(&prefix, "stream").exists().then_some(prefix)
        })
        .collect();
    out.sort();
    Ok(out)
}

/// The synthetic data sets (loadgen-like charts), in print order.
pub const SYNTHETIC: [&str; 5] = ["constant", "counter", "random-walk", "sine", "mixed"];

/// Dimensions per synthetic chart.
const SYNTH_DIMS: usize = 8;

/// A synthetic data set: one chart of [`SYNTH_DIMS`] dimensions of the given kind,
/// collected every second for `seconds` seconds, turned into stored values by strata's own
/// receiver (so incremental rates are interpolated exactly as for a real child).
pub fn synthetic(kind: &str, seconds: usize, seed: u64) -> Vec<ChartSeries> {
    let mut rng = SplitMix::new(seed);
    let chart = format!("synth.{kind}");
    let mut text = String::new();
    // Per dimension: (algorithm, divisor, generator state).
    let dims: Vec<(&str, u32, Gen)> = (0..SYNTH_DIMS)
        .map(|d| {
            let k = if kind == "mixed" { SYNTHETIC[d % 4] } else { kind };
            let gen = Gen::new(k, d, &mut rng);
            let (algo, div) = match k {
                "counter" => ("incremental", if d % 2 == 0 { 1 } else { 1024 }),
                "sine" => ("absolute", 1000),
                _ => ("absolute", 1),
            };
            (algo, div, gen)
        })
        .collect();
    text.push_str(&format!("CHART \"{chart}\" \"\" \"synthetic {kind}\" \"units\" \"synth\" \"synth\" line 1 1\n"));
    for (i, (algo, div, _)) in dims.iter().enumerate() {
        text.push_str(&format!("DIMENSION \"d{i}\" \"\" {algo} 1 {div}\n"));
    }
    let mut dims = dims;
    for t in 0..seconds {
        text.push_str(&format!("BEGIN \"{chart}\" 0\n"));
        for (i, (_, _, gen)) in dims.iter_mut().enumerate() {
            let missing = kind == "mixed" && i == SYNTH_DIMS - 1 && rng.below(100) < 3;
            let v = gen.next(t, &mut rng);
            if !missing {
                text.push_str(&format!("SET \"d{i}\" = {v}\n"));
            }
        }
        text.push_str("END\n");
    }
    let pacing = Pacing { jitter_us: 1000, seed: seed ^ 0x5eed };
    replay(&format!("synthetic {kind}"), "5e5e5e5e-0000-0000-0000-000000000000", text.as_bytes(), pacing)
}

/// One synthetic dimension's collected-value generator.
#[derive(Debug, Clone)]
struct Gen {
    kind: &'static str,
    value: i64,
    rate: f64,
    phase: f64,
}

impl Gen {
    fn new(kind: &str, d: usize, rng: &mut SplitMix) -> Gen {
        let kind = SYNTHETIC.iter().find(|k| **k == kind).copied().unwrap_or("constant");
        let value = match kind {
            "constant" => [0, 1, 1234, 4_000_000_000][d % 4],
            "random-walk" => 10_000 + rng.below(1000) as i64,
            _ => rng.below(1 << 30) as i64,
        };
        Gen { kind, value, rate: 100.0 + rng.unit() * 1e6, phase: rng.unit() * std::f64::consts::TAU }
    }

    /// The collected value at second `t`.
    fn next(&mut self, t: usize, rng: &mut SplitMix) -> i64 {
        match self.kind {
            // Cumulative counter: a slowly drifting rate with ±20 % noise per second.
            "counter" => {
                self.rate = (self.rate * (0.99 + 0.02 * rng.unit())).max(1.0);
                self.value += (self.rate * (0.8 + 0.4 * rng.unit())) as i64;
            }
            "random-walk" => self.value += rng.below(11) as i64 - 5,
            // A 5-minute sine in thousandths, plus noise.
            "sine" => {
                let x = 50.0 + 40.0 * (t as f64 * std::f64::consts::TAU / 300.0 + self.phase).sin();
                self.value = (x * 1000.0) as i64 + rng.below(200) as i64 - 100;
            }
            _ => {}
        }
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_constants_are_stored_as_collected() {
        let set = synthetic("constant", 20, 3);
        assert_eq!(set.len(), 1);
        let rows = &set[0].rows;
        // Two collections before the first stored slot; then one slot per second.
        assert!(rows.len() >= 17, "{}", rows.len());
        let want = [0.0, 1.0, 1234.0, 4_000_000_000.0];
        for row in &rows[1..] {
            for (d, cell) in row.iter().enumerate() {
                assert_eq!(*cell, Sample::Value { value: f64::from(want[d % 4] as f32), reset: false }, "dim {d}");
            }
        }
    }

    #[test]
    fn a_real_capture_replays_into_stored_rows() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures");
        let prefix = dir.join("netdata-1.37.1-child-v1-80s");
        let set = capture(&prefix, Pacing { jitter_us: 1000, seed: 1 }).unwrap();
        assert!(set.len() > 150, "{} charts", set.len());
        let cpu = set.iter().find(|s| s.chart == "system.cpu").unwrap();
        assert!(cpu.rows.len() >= 75, "{} slots", cpu.rows.len());
        // Percentages of a busy CPU: some values, every one within 0..=100.
        let values: Vec<f64> = cpu
            .rows
            .iter()
            .flatten()
            .filter_map(|s| match s {
                Sample::Value { value, .. } => Some(*value),
                Sample::Gap => None,
            })
            .collect();
        assert!(values.len() > cpu.rows.len() * cpu.columns() / 2);
        assert!(values.iter().all(|v| (0.0..=100.0).contains(v)));
    }
}
