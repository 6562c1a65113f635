//! The one ingest path of a shard: protocol lines → a host's charts. Receivers (a
//! child's stream), the internal collectors and every external plugin (localhost) feed
//! their bytes through [`ingest`], so the same parser and the same `ReceiverSession`
//! rules apply whatever produced the lines. Also owns the per-host line taps.
//!
//! Owns: [`LineSource`] (one producer's parser state: session, line buffer, tap
//! buffer) and [`LineTaps`]. Invariants: lines are applied in arrival order, each at
//! most once; a FATAL line ends the source (the caller closes it) and nothing after it
//! is applied; the registry is borrowed only inside [`ingest`], never across an await,
//! and taps run after that borrow is released.
//!
//! # Line taps
//!
//! A tap is a callback registered on the shard for one host (by machine GUID). It
//! receives, for every source that feeds that host, the exact bytes of the lines that
//! were applied successfully ([`TapBatch`]). Every batch ends at a point where the
//! source has no open chart (after an `END`, or after lines outside any chart), so
//! batches of different sources of one host (the collectors and each plugin of
//! localhost) can be concatenated into one valid stream: a block `BEGIN … END` or a
//! definition `CHART … DIMENSION …` is never split or interleaved. Lines of a block
//! that never ends (the source failed) are never delivered. A source that (re)starts
//! sends its `CHART`/`DIMENSION` definitions again before its data, as a child does
//! after a reconnect. A tap added while sources are running starts with each source's
//! next block; the internal collectors then define all their charts again (they watch
//! [`LineTaps::generation`]), while definitions an external plugin or a child sent
//! earlier are not replayed: they are in the host's charts (`hosts::Host`). Taps run
//! synchronously on the owning shard, after the registry borrow is released: they must
//! not block; they may add or remove taps.
//!
//! API: `shard.taps.borrow_mut().add(guid, Rc::new(|batch: &TapBatch| …)) -> TapId`,
//! `shard.taps.borrow_mut().remove(id)`.

use std::rc::Rc;

use crate::hosts::{Host, HostId, ReceiverSession, SessionError};
use crate::stream::command::{parse_line, Command, ProtocolError};
use crate::stream::lines::{LineBuffer, LineTooLong};

use super::state::Shard;

/// Why a source had to stop (FATAL). The offending line is shown lossily.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    #[error("{0} (line: '{1}')")]
    Protocol(ProtocolError, String),
    #[error("{0} (line: '{1}')")]
    Session(SessionError, String),
    #[error("{0}")]
    LineTooLong(LineTooLong),
    #[error("host removed")]
    HostGone,
}

/// One batch of protocol lines applied to a host.
#[derive(Debug, Clone, Copy)]
pub struct TapBatch<'a> {
    /// The host the lines were applied to.
    pub machine_guid: &'a str,
    /// Who produced them: `proc.plugin`, an external plugin's file name, or
    /// `receiver` for a child's stream.
    pub source: &'a str,
    /// Complete lines, each ending with `\n`.
    pub bytes: &'a [u8],
}

/// A tap callback.
pub type TapFn = Rc<dyn Fn(&TapBatch<'_>)>;

/// Handle of a registered tap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TapId(u64);

/// The taps of one shard, by host.
#[derive(Default)]
pub struct LineTaps {
    next: u64,
    taps: Vec<(TapId, String, TapFn)>,
}

impl LineTaps {
    /// Changes whenever a tap is added: a source that can define its charts again
    /// (the internal collectors) does so when it sees a new value, so that a new tap
    /// gets their definitions too.
    pub fn generation(&self) -> u64 {
        self.next
    }
}

impl std::fmt::Debug for LineTaps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineTaps").field("taps", &self.taps.len()).finish()
    }
}

impl LineTaps {
    /// Registers `tap` for the host `machine_guid` (lower-case) and returns its handle.
    pub fn add(&mut self, machine_guid: &str, tap: TapFn) -> TapId {
        self.next += 1;
        let id = TapId(self.next);
        self.taps.push((id, machine_guid.to_string(), tap));
        id
    }

    /// Removes a tap; false if it was not registered.
    pub fn remove(&mut self, id: TapId) -> bool {
        let before = self.taps.len();
        self.taps.retain(|(t, _, _)| *t != id);
        self.taps.len() != before
    }

    /// Is any tap registered for this host?
    pub fn wanted(&self, machine_guid: &str) -> bool {
        self.taps.iter().any(|(_, g, _)| g == machine_guid)
    }

    fn for_host(&self, machine_guid: &str) -> Vec<TapFn> {
        self.taps.iter().filter(|(_, g, _)| g == machine_guid).map(|(_, _, f)| f.clone()).collect()
    }
}

/// One producer of lines for one host, with its parser state.
#[derive(Debug)]
pub struct LineSource {
    /// `proc.plugin`, a plugin's file name, or `receiver`.
    pub name: String,
    pub session: ReceiverSession,
    /// Bytes received and not yet applied (a partial line stays here).
    pub lines: LineBuffer,
    /// Use `BEGIN`'s microseconds (streams, our own collectors) or ignore them (external
    /// plugins, as Netdata does for plugins.d).
    trust_durations: bool,
    /// Applied lines not yet handed to taps; `tap_ready` of them end outside a block.
    tapped: Vec<u8>,
    tap_ready: usize,
    /// Recording for taps started outside a block (a tap added in the middle of a
    /// block starts with the next one).
    tap_synced: bool,
}

impl LineSource {
    pub fn new(name: impl Into<String>, session: ReceiverSession, trust_durations: bool) -> Self {
        LineSource::with_buffer(name, session, LineBuffer::new(0), trust_durations)
    }

    /// A source whose buffer already holds bytes (a stream's bytes after its request).
    pub fn with_buffer(name: impl Into<String>, session: ReceiverSession, lines: LineBuffer, trust: bool) -> Self {
        LineSource {
            name: name.into(),
            session,
            lines,
            trust_durations: trust,
            tapped: Vec::new(),
            tap_ready: 0,
            tap_synced: false,
        }
    }

    /// Appends bytes produced by the source (any split, partial lines allowed).
    pub fn push(&mut self, bytes: &[u8]) {
        self.lines.push(bytes);
    }
}

/// Applies every complete line buffered in `src` to `host` at wall clock `now_us`.
/// Warnings are passed to `warn`. When `tap` is set, applied lines are kept for the
/// taps (see the module documentation). `Err` is FATAL.
pub fn apply_buffered(
    src: &mut LineSource,
    host: &mut Host,
    now_us: i64,
    tap: bool,
    warn: &mut dyn FnMut(String),
) -> Result<(), IngestError> {
    let show = |line: &[u8]| String::from_utf8_lossy(&line[..line.len().min(512)]).into_owned();
    loop {
        if tap && !src.tap_synced && src.session.current_chart().is_none() {
            src.tap_synced = true;
        }
        let line = match src.lines.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => return Ok(()),
            Err(e) => return Err(IngestError::LineTooLong(e)),
        };
        let parsed = match parse_line(line, src.session.version) {
            Ok(p) => p,
            Err(e) => return Err(IngestError::Protocol(e, show(line))),
        };
        if let Some(w) = parsed.warning {
            warn(w.to_string());
        }
        if let Some(mut cmd) = parsed.command {
            if let Command::Begin { microseconds, .. } = &mut cmd {
                if !src.trust_durations {
                    *microseconds = 0;
                }
            }
            match src.session.apply(host, cmd, now_us) {
                Ok(None) => {}
                Ok(Some(w)) => warn(w.to_string()),
                Err(e) => return Err(IngestError::Session(e, show(line))),
            }
        }
        if tap && src.tap_synced {
            src.tapped.extend_from_slice(line);
            src.tapped.push(b'\n');
            if src.session.current_chart().is_none() {
                src.tap_ready = src.tapped.len();
            }
        }
    }
}

/// Applies `src`'s buffered lines to the host `host_id` of this shard (machine GUID
/// `guid`), logs warnings with `log_prefix`, then hands the completed blocks to the
/// host's taps. `Err` is FATAL (or the host is gone): close the source.
pub fn ingest(
    shard: &Shard,
    host_id: HostId,
    guid: &str,
    src: &mut LineSource,
    log_prefix: &str,
) -> Result<(), IngestError> {
    let tap = shard.taps.borrow().wanted(guid);
    let result = {
        let now_us = super::unix_now_us();
        let mut reg = shard.registry.borrow_mut();
        match reg.get_mut(host_id) {
            Some(host) => apply_buffered(src, host, now_us, tap, &mut |w| crate::error!("{log_prefix}: {w}")),
            None => Err(IngestError::HostGone),
        }
    };
    if tap {
        deliver(shard, guid, src);
    } else {
        src.tapped.clear();
        src.tap_ready = 0;
        src.tap_synced = false;
    }
    result
}

fn deliver(shard: &Shard, guid: &str, src: &mut LineSource) {
    if src.tap_ready == 0 {
        return;
    }
    let taps = shard.taps.borrow().for_host(guid);
    let batch = TapBatch { machine_guid: guid, source: &src.name, bytes: &src.tapped[..src.tap_ready] };
    for t in &taps {
        t(&batch);
    }
    src.tapped.drain(..src.tap_ready);
    src.tap_ready = 0;
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::hosts::{HostInfo, MemoryMode};

    fn host() -> Host {
        Host::new(
            HostInfo { machine_guid: "aaaaaaaa-0000-0000-0000-000000000001".into(), ..Default::default() },
            MemoryMode::Ram,
            100,
        )
    }

    const T0: i64 = 1_700_000_000_000_000;

    fn run(src: &mut LineSource, h: &mut Host, bytes: &[u8]) -> (Result<(), IngestError>, Vec<String>) {
        src.push(bytes);
        let mut warnings = Vec::new();
        let r = apply_buffered(src, h, T0, true, &mut |w| warnings.push(w));
        (r, warnings)
    }

    #[test]
    fn applies_lines_split_anywhere() {
        let text = b"CHART a.b '' 'T' u f c line 1 1\nDIMENSION x x absolute 1 1\nBEGIN a.b 0\nSET x = 5\nEND\n";
        let mut h = host();
        let mut src = LineSource::new("test.plugin", ReceiverSession::new(4, "test.plugin", 1), true);
        for chunk in text.chunks(7) {
            assert_eq!(run(&mut src, &mut h, chunk).0, Ok(()));
        }
        let c = h.chart("a.b").expect("chart");
        assert_eq!((c.title.as_str(), c.plugin.as_str(), c.dims[0].state.prev), ("T", "test.plugin", 5));
        assert_eq!(src.session.completed_updates, 1);
        assert_eq!(&src.tapped[..src.tap_ready], &text[..], "everything ended outside a block");
    }

    #[test]
    fn taps_get_whole_blocks_only() {
        let mut h = host();
        let mut src = LineSource::new("p", ReceiverSession::new(4, "p", 1), true);
        assert_eq!(run(&mut src, &mut h, b"CHART a.b\nDIMENSION x\nBEGIN a.b 0\nSET x = 1\n").0, Ok(()));
        assert_eq!(src.tap_ready, 0, "the definition is still open (CHART sets the current chart)");
        assert_eq!(run(&mut src, &mut h, b"END\nBEGIN a.b 0\n").0, Ok(()));
        assert_eq!(&src.tapped[..src.tap_ready], b"CHART a.b\nDIMENSION x\nBEGIN a.b 0\nSET x = 1\nEND\n");
        assert_eq!(src.tapped.len(), src.tap_ready + b"BEGIN a.b 0\n".len());
    }

    #[test]
    fn fatal_lines_stop_the_source_with_the_line() {
        let mut h = host();
        let mut src = LineSource::new("p", ReceiverSession::new(4, "p", 1), true);
        let (r, _) = run(&mut src, &mut h, b"CHART a.b\nDIMENSION x\nhello world\nEND\n");
        let e = r.expect_err("garbage is FATAL").to_string();
        assert!(e.contains("unknown command 'hello'") && e.contains("(line: 'hello world')"), "{e}");
        assert_eq!(src.tap_ready, 0, "the open definition is never handed to taps");
    }

    #[test]
    fn untrusted_durations_are_ignored() {
        // First END anchors the clock at T0 + 0.5 s; the next BEGIN clears the resync
        // flag (parent clock: T0 + 1 s); the third BEGIN says 2.5 s at T0 + 2 s: trusted,
        // the clock moves to T0 + 3.5 s; ignored (plugins.d), it follows the parent clock.
        for (trust, expect) in [(true, T0 + 3_500_000), (false, T0 + 2_000_000)] {
            let mut h = host();
            let mut src = LineSource::new("p", ReceiverSession::new(4, "p", 1), trust);
            for (i, us) in [(0, 0), (1, 0), (2, 2_500_000)] {
                let def = if i == 0 { "CHART a.b\nDIMENSION x\n" } else { "" };
                src.push(format!("{def}BEGIN a.b {us}\nSET x = 1\nEND\n").as_bytes());
                apply_buffered(&mut src, &mut h, T0 + i * 1_000_000, false, &mut |_| {}).unwrap();
            }
            assert_eq!(h.chart("a.b").unwrap().clock.last_collected_ut, expect, "trust={trust}");
        }
    }

    #[test]
    fn tap_registry() {
        let mut t = LineTaps::default();
        let seen = Rc::new(RefCell::new(0));
        let s = seen.clone();
        let id = t.add("g1", Rc::new(move |b: &TapBatch<'_>| *s.borrow_mut() += b.bytes.len()));
        assert!(t.wanted("g1") && !t.wanted("g2"));
        for f in t.for_host("g1") {
            f(&TapBatch { machine_guid: "g1", source: "x", bytes: b"END\n" });
        }
        assert_eq!(*seen.borrow(), 4);
        assert!(t.remove(id) && !t.remove(id));
        assert!(!t.wanted("g1"));
    }

    #[test]
    fn taps_receive_what_a_shard_ingests() {
        let guid = "aaaaaaaa-0000-0000-0000-000000000001";
        let config = crate::config::load_from_str(("n", ""), ("s", ""), &[]).expect("config");
        let shard = Shard::standalone(config, guid);
        let info = HostInfo { machine_guid: guid.into(), ..Default::default() };
        let id = shard.registry.borrow_mut().get_or_create(info, MemoryMode::Ram, 100, 0).id;
        let seen: Rc<RefCell<Vec<(String, String)>>> = Rc::default();
        let s2 = seen.clone();
        let tap = shard.taps.borrow_mut().add(
            guid,
            Rc::new(move |b: &TapBatch<'_>| {
                s2.borrow_mut().push((b.source.to_string(), String::from_utf8_lossy(b.bytes).into_owned()))
            }),
        );
        let mut src = LineSource::new("test.plugin", ReceiverSession::new(4, "test.plugin", 1), true);
        src.push(b"CHART a.b\nDIMENSION x\nBEGIN a.b 0\nSET x = 1\n");
        assert!(ingest(&shard, id, guid, &mut src, "T").is_ok());
        assert!(seen.borrow().is_empty(), "nothing until the block ends");
        src.push(b"END\nBEGIN a.b 0\n");
        assert!(ingest(&shard, id, guid, &mut src, "T").is_ok());
        assert_eq!(
            seen.borrow().as_slice(),
            [("test.plugin".to_string(), "CHART a.b\nDIMENSION x\nBEGIN a.b 0\nSET x = 1\nEND\n".to_string())]
        );
        assert!(shard.taps.borrow_mut().remove(tap));
        src.push(b"SET x = 2\n");
        assert!(ingest(&shard, id, guid, &mut src, "T").is_ok());
        // A tap added inside a block starts with the next block.
        let s3 = seen.clone();
        shard.taps.borrow_mut().add(
            guid,
            Rc::new(move |b: &TapBatch<'_>| {
                s3.borrow_mut().push((b.source.into(), String::from_utf8_lossy(b.bytes).into()))
            }),
        );
        src.push(b"END\nBEGIN a.b 0\nSET x = 3\nEND\n");
        assert!(ingest(&shard, id, guid, &mut src, "T").is_ok());
        assert_eq!(seen.borrow()[1].1, "BEGIN a.b 0\nSET x = 3\nEND\n");
        shard.taps.borrow_mut().remove(TapId(2));
        src.push(b"BEGIN a.b 0\nEND\n");
        assert!(ingest(&shard, id, guid, &mut src, "T").is_ok());
        assert_eq!(seen.borrow().len(), 2, "no tap, nothing delivered");
        assert_eq!(shard.registry.borrow().get(id).map(|h| h.charts.len()), Some(1));
    }
}
