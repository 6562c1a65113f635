//! Building what goes on the wire next for one upstream session: queued collections,
//! re-encoded, each preceded by its chart's definition when the parent does not have the
//! current one (streaming-protocol.md §5.1 rule 6, §7, REC-14).
//!
//! Owns: [`Session`], what one upstream connection has been told (charts defined, resync
//! deadlines), and [`ChartFilter`] (`send charts matching`). Invariants: a chart's
//! definition always precedes its first collection on a session, and is sent again
//! after the model marked it dirty; `BEGIN` carries 0 µs until `initial clock resync
//! iterations` × `update_every` seconds of collection time have passed since the
//! definition was (re)sent, then the child's measured interval; `SET` values are the
//! collected integers untouched; ids are written exactly as the definition wrote them;
//! a collection for a chart the model does not have (or that the filter excludes) is
//! skipped, never sent. Pure: host, queue and session in, bytes out.

use crate::hosts::names::truncate_id;
use crate::hosts::{Chart, Host};
use crate::pattern::SimplePattern;
use crate::stream::command::{parse_line, Command};
use crate::stream::encode;

use super::definitions::chart_definition;
use super::queue::SendQueue;

/// `send charts matching` / `proxy send charts matching`, tested against the chart id
/// and its display name; an empty pattern list matches nothing (Netdata). Answers are
/// cached per chart index (charts are never renamed away from a match at runtime).
#[derive(Debug)]
pub struct ChartFilter {
    pattern: Option<SimplePattern>,
    cache: Vec<Option<bool>>,
}

impl ChartFilter {
    pub fn new(list: &str) -> ChartFilter {
        ChartFilter { pattern: SimplePattern::new(list), cache: Vec::new() }
    }

    pub fn matches(&mut self, idx: usize, chart: &Chart) -> bool {
        if let Some(Some(m)) = self.cache.get(idx) {
            return *m;
        }
        let m =
            self.pattern.as_ref().is_some_and(|p| p.matches(chart.id.as_bytes()) || p.matches(chart.name.as_bytes()));
        if self.cache.len() <= idx {
            self.cache.resize(idx + 1, None);
        }
        self.cache[idx] = Some(m);
        m
    }
}

/// What one upstream connection has been told.
#[derive(Debug)]
pub struct Session {
    /// Negotiated legacy version.
    pub version: u32,
    resync_iterations: i64,
    /// Per chart index: `None` = not defined on this connection; `Some(t)` = defined,
    /// `BEGIN` sends 0 µs for collections before `t` (µs).
    defined: Vec<Option<i64>>,
}

/// Counts of one [`fill`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filled {
    pub blocks: u64,
    pub definitions: u64,
    /// Collections of charts the model does not have (or malformed ones).
    pub unknown: u64,
    /// Collections of charts excluded by `send charts matching`.
    pub filtered: u64,
}

impl Session {
    pub fn new(version: u32, resync_iterations: u64) -> Session {
        Session {
            version,
            resync_iterations: i64::try_from(resync_iterations).unwrap_or(i64::MAX),
            defined: Vec::new(),
        }
    }

    /// Whether chart `idx` has been defined on this connection.
    pub fn is_defined(&self, idx: usize) -> bool {
        matches!(self.defined.get(idx), Some(Some(_)))
    }

    fn define(&mut self, idx: usize, until_us: i64) {
        if self.defined.len() <= idx {
            self.defined.resize(idx + 1, None);
        }
        self.defined[idx] = Some(until_us);
    }
}

/// Re-encodes one queued collection of chart `chart`; `begin_us` is the µs field to send.
fn encode_block(out: &mut Vec<u8>, chart: &Chart, data: &[u8], begin_us: u64) {
    encode::begin(out, chart.id.as_bytes(), begin_us);
    for line in data.split(|&b| b == b'\n').skip(1) {
        let Ok(parsed) = parse_line(line, 4) else { continue };
        match parsed.command {
            Some(Command::Set { dimension, value: Some(v) }) => {
                if let Some(d) = chart.dim_idx(truncate_id(dimension)).and_then(|i| chart.dims.get(i)) {
                    encode::set(out, d.id().as_bytes(), v);
                }
            }
            Some(Command::Variable { scope, name, value }) if !name.is_empty() => {
                encode::variable(out, scope, name, value);
            }
            _ => {}
        }
    }
    encode::end(out);
}

/// Moves queued collections into `out` until it holds at least `max_bytes` or the queue
/// is empty. `host` is the host the queue belongs to; definitions it marks dirty are
/// sent (and marked clean).
pub fn fill(
    out: &mut Vec<u8>,
    host: &mut Host,
    queue: &mut SendQueue,
    session: &mut Session,
    filter: &mut ChartFilter,
    max_bytes: usize,
) -> Filled {
    let mut f = Filled::default();
    while out.len() < max_bytes {
        let Some(block) = queue.pop() else { break };
        let first = block.data.split(|&b| b == b'\n').next().unwrap_or_default();
        let (chart_id, child_us) = match parse_line(first, 4).map(|p| p.command) {
            Ok(Some(Command::Begin { chart, microseconds })) => (chart, microseconds),
            _ => {
                f.unknown += 1;
                continue;
            }
        };
        let Some(idx) = host.chart_idx(truncate_id(chart_id)) else {
            f.unknown += 1;
            continue;
        };
        let Some(chart) = host.charts.get_mut(idx) else {
            f.unknown += 1;
            continue;
        };
        if !filter.matches(idx, chart) {
            f.filtered += 1;
            continue;
        }
        if !session.is_defined(idx) || chart.clock.definition_dirty {
            chart_definition(out, chart, session.version);
            chart.clock.definition_dirty = false;
            let window =
                session.resync_iterations.saturating_mul(i64::from(chart.update_every)).saturating_mul(1_000_000);
            session.define(idx, block.at_us.saturating_add(window));
            f.definitions += 1;
        }
        let until = session.defined.get(idx).copied().flatten().unwrap_or(i64::MAX);
        let us = if block.at_us < until { 0 } else { child_us };
        encode_block(out, chart, &block.data, us);
        f.blocks += 1;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::{HostInfo, MemoryMode, ReceiverSession};
    use crate::sender::queue::Block;

    fn host() -> Host {
        let info = HostInfo { machine_guid: "aaaaaaaa-0000-0000-0000-000000000001".into(), ..Default::default() };
        let mut h = Host::new(info, MemoryMode::None, 5);
        let mut s = ReceiverSession::new(4, "1.2.3.4:5", 1);
        for line in [
            &b"CHART \"a.b\" \"\" \"t\" \"u\" \"f\" \"c\" \"line\" 1 1 \"\" \"p\" \"m\""[..],
            b"DIMENSION x",
            b"DIMENSION \"y z\" yz incremental",
            b"CHART \"c.d\" \"name\"",
            b"DIMENSION w",
        ] {
            let cmd = parse_line(line, 4).unwrap().command.unwrap();
            s.apply(&mut h, cmd, 0).unwrap();
        }
        h
    }

    fn push(q: &mut SendQueue, text: &str, at_us: i64) {
        q.push(Block { data: text.as_bytes().to_vec(), at_us });
    }

    fn text(out: &[u8]) -> String {
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn definitions_precede_data_and_resync_window_zeroes_begin() {
        let mut h = host();
        let mut q = SendQueue::new(1 << 20);
        let mut s = Session::new(3, 2);
        let mut filter = ChartFilter::new("*");
        push(&mut q, "BEGIN \"a.b\" 1000123\nSET x = 5\nSET \"y z\" = -7\nVARIABLE CHART v = 1\nEND\n", 10_000_000);
        push(&mut q, "BEGIN a.b 999999\nSET x = 6\nSET x =\nEND\n", 11_000_000);
        push(&mut q, "BEGIN a.b 1000001\nSET x = 7\nEND\n", 12_000_000);
        push(&mut q, "BEGIN x.unknown 1\nEND\n", 12_000_000);
        let mut out = Vec::new();
        let f = fill(&mut out, &mut h, &mut q, &mut s, &mut filter, usize::MAX);
        assert_eq!(f, Filled { blocks: 3, definitions: 1, unknown: 1, filtered: 0 });
        assert_eq!(
            text(&out),
            "CHART \"a.b\" \"\" \"t\" \"u\" \"f\" \"c\" \"line\" 1 1 \"   \" \"p\" \"m\"\n\
             DIMENSION \"x\" \"x\" \"absolute\" 1 1 \"  \"\n\
             DIMENSION \"y z\" \"yz\" \"incremental\" 1 1 \"  \"\n\
             BEGIN \"a.b\" 0\nSET \"x\" = 5\nSET \"y z\" = -7\nVARIABLE CHART v = 1.0000000\nEND\n\
             BEGIN \"a.b\" 0\nSET \"x\" = 6\nEND\n\
             BEGIN \"a.b\" 1000001\nSET \"x\" = 7\nEND\n"
        );
        assert!(!h.charts[0].clock.definition_dirty);
        assert!(h.charts[1].clock.definition_dirty, "c.d had no data: not defined yet");

        // A redefinition in the model is sent again before the next collection; a new
        // session (reconnect) defines every chart again.
        h.charts[0].clock.definition_dirty = true;
        push(&mut q, "BEGIN a.b 1000000\nSET x = 8\nEND\n", 20_000_000);
        out.clear();
        assert_eq!(fill(&mut out, &mut h, &mut q, &mut s, &mut filter, usize::MAX).definitions, 1);
        assert!(text(&out).starts_with("CHART \"a.b\""));
        assert!(text(&out).ends_with("BEGIN \"a.b\" 0\nSET \"x\" = 8\nEND\n"));
        push(&mut q, "BEGIN a.b 1000000\nSET x = 9\nEND\n", 30_000_000);
        out.clear();
        assert_eq!(fill(&mut out, &mut h, &mut q, &mut s, &mut filter, usize::MAX).definitions, 0);
        let mut s2 = Session::new(3, 2);
        push(&mut q, "BEGIN a.b 1000000\nSET x = 9\nEND\n", 31_000_000);
        out.clear();
        assert_eq!(fill(&mut out, &mut h, &mut q, &mut s2, &mut filter, usize::MAX).definitions, 1);
    }

    #[test]
    fn filter_and_batch_size() {
        let mut h = host();
        let mut q = SendQueue::new(1 << 20);
        let mut s = Session::new(4, 0);
        let mut filter = ChartFilter::new("!a.* *");
        push(&mut q, "BEGIN a.b 1\nSET x = 1\nEND\n", 1);
        push(&mut q, "BEGIN c.d 5\nSET w = 1\nEND\n", 1);
        push(&mut q, "BEGIN c.d 5\nSET w = 2\nEND\n", 2);
        let mut out = Vec::new();
        let f = fill(&mut out, &mut h, &mut q, &mut s, &mut filter, 1);
        assert_eq!(f, Filled { blocks: 1, definitions: 1, unknown: 0, filtered: 1 });
        assert_eq!(q.len(), 1, "stops once the batch is big enough");
        assert!(text(&out).starts_with("CHART \"c.d\" \"name\""));
        assert!(text(&out).ends_with("BEGIN \"c.d\" 5\nSET \"w\" = 1\nEND\n"), "no resync window");

        let mut by_name = ChartFilter::new("c.name");
        assert!(by_name.matches(1, &h.charts[1]));
        assert!(!by_name.matches(0, &h.charts[0]));
        let mut none = ChartFilter::new("");
        assert!(!none.matches(0, &h.charts[0]));
    }

    struct IntoQueue(SendQueue, i64);

    impl crate::sender::tap::Sink for IntoQueue {
        fn push_block(&mut self, block: Vec<u8>) {
            self.1 += 1_000_000;
            self.0.push(Block { data: block, at_us: self.1 });
        }
        fn meta_changed(&mut self) {}
    }

    /// A real child's 80-second capture goes through the whole forwarding path (model,
    /// tap, queue, re-encoding) and a parent applying the output gets every collection
    /// with the same values. Prints the throughput of tap + fill.
    #[test]
    fn a_real_capture_is_forwarded_whole() {
        let path = crate::stream::request::fixtures_dir().join("netdata-1.37.1-child-v1-80s.stream");
        let stream = std::fs::read(path).unwrap();
        let mut src = host();
        src.charts.clear();
        src.chart_index.clear();
        src.chart_names.clear();
        let mut rs = ReceiverSession::new(4, "1.2.3.4:5", 1);
        let mut tap = crate::sender::tap::LineTap::new(IntoQueue(SendQueue::new(usize::MAX), 0));
        let (mut lines, mut sets) = (0u64, Vec::new());
        let started = std::time::Instant::now();
        let mut tap_time = std::time::Duration::ZERO;
        // The parent's clock: one second per collection cycle of the capture.
        let mut now_us = 1_700_000_000_000_000i64;
        for line in stream.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let cmd = parse_line(line, 4).unwrap().command.unwrap();
            match cmd {
                Command::Set { value: Some(v), .. } => sets.push(v),
                Command::Begin { chart: b"system.cpu", .. } => now_us += 1_000_000,
                _ => {}
            }
            rs.apply(&mut src, cmd, now_us).unwrap();
            let t = std::time::Instant::now();
            tap.line(line);
            tap_time += t.elapsed();
            lines += 1;
        }
        let mut queue = std::mem::replace(&mut tap.sink_mut().0, SendQueue::new(1));
        let blocks = queue.len() as u64;
        let collected: std::collections::BTreeSet<&[u8]> = stream
            .split(|&b| b == b'\n')
            .filter_map(|l| match parse_line(l, 4).ok()?.command? {
                Command::Begin { chart, .. } => Some(chart),
                _ => None,
            })
            .collect();
        let mut session = Session::new(4, 60);
        let mut filter = ChartFilter::new("*");
        let mut out = Vec::new();
        let t = std::time::Instant::now();
        let f = fill(&mut out, &mut src, &mut queue, &mut session, &mut filter, usize::MAX);
        let fill_time = t.elapsed();
        assert_eq!((f.blocks, f.unknown, f.filtered), (blocks, 0, 0));
        assert_eq!(f.definitions, collected.len() as u64, "one definition per collected chart");

        let mut dst = host();
        dst.charts.clear();
        dst.chart_index.clear();
        dst.chart_names.clear();
        let mut ds = ReceiverSession::new(4, "1.2.3.4:5", 1);
        let mut got = Vec::new();
        for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let cmd = parse_line(line, 4).unwrap().command.unwrap();
            match cmd {
                Command::Set { value: Some(v), .. } => got.push(v),
                Command::Begin { chart: b"system.cpu", .. } => now_us += 1_000_000,
                _ => {}
            }
            ds.apply(&mut dst, cmd, now_us).unwrap();
        }
        assert_eq!(ds.completed_updates, rs.completed_updates);
        assert_eq!(got, sets, "every collected value, in order");
        assert_eq!(dst.charts.len(), src.charts.len());
        let secs = (tap_time + fill_time).as_secs_f64();
        eprintln!(
            "forwarding path: {lines} lines ({} bytes in, {} bytes out): tap {:.1} ms + fill {:.1} ms = {:.0} lines/s (whole test {:.0} ms)",
            stream.len(),
            out.len(),
            tap_time.as_secs_f64() * 1e3,
            fill_time.as_secs_f64() * 1e3,
            lines as f64 / secs,
            started.elapsed().as_secs_f64() * 1e3
        );
    }
}
