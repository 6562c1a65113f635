//! The storage benchmark's figures and their markdown tables.
//!
//! Owns: the result records (serialised as the JSON report) and one markdown table per
//! section. Invariants: every number printed is one of these records' fields or a ratio
//! of them; nothing here measures.

use serde::Serialize;

use super::phases::{QueryPass, Timing, Verified, Written};
use super::shard::Backend;

const MIB: f64 = (1u64 << 20) as f64;
const GIB: f64 = (1u64 << 30) as f64;

/// Section 1: one backend's write of the large workload.
#[derive(Debug, Clone, Serialize)]
pub struct WriteRow {
    pub backend: Backend,
    pub written: Written,
    /// Bytes of the files after the close.
    pub datafile_bytes: u64,
    pub journal_bytes: u64,
}

/// Section 2: one backend's query passes.
#[derive(Debug, Clone, Serialize)]
pub struct QueryRow {
    pub backend: Backend,
    pub pass: QueryPass,
}

/// Section 3: one data set written with one backend.
#[derive(Debug, Clone, Serialize)]
pub struct PatternRow {
    pub pattern: String,
    pub backend: Backend,
    pub hosts: usize,
    pub written: Written,
    pub datafile_bytes: u64,
    pub journal_bytes: u64,
    pub other_bytes: u64,
}

impl PatternRow {
    pub fn disk_bytes_per_sample(&self) -> f64 {
        per(self.datafile_bytes + self.journal_bytes + self.other_bytes, self.written.samples)
    }
}

/// Section 4: one reopen of the large workload.
#[derive(Debug, Clone, Serialize)]
pub struct RestartRow {
    pub backend: Backend,
    /// `cold`: the files were evicted from the OS page cache first; `warm`: they were just read.
    pub state: String,
    pub files_bytes: u64,
    pub time: Timing,
    pub seconds_per_gib: f64,
    pub journals_read: u64,
    pub journal_bytes_read: u64,
    pub blocks_indexed: u64,
    pub blocks_written: u64,
    pub clean: bool,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub command: String,
    pub machine: String,
    pub load_average_start: String,
    pub load_average_end: String,
    pub date: String,
    pub scratch: String,
    pub workload: String,
    pub pattern_backend: Backend,
    pub write: Vec<WriteRow>,
    pub query: Vec<QueryRow>,
    pub patterns: Vec<PatternRow>,
    pub restart: Vec<RestartRow>,
    /// Read-back of the large workload after the restart, per backend.
    pub verify: Vec<(Backend, Verified)>,
    pub notes: Vec<String>,
}

fn per(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn rate(n: f64, secs: f64) -> f64 {
    if secs > 0.0 {
        n / secs
    } else {
        0.0
    }
}

/// `1234567.0` → `1.23 M`.
fn si(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2} G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.1}")
    }
}

fn range_label(s: i64) -> String {
    match s {
        s if s % 86400 == 0 => format!("{} d", s / 86400),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        o.push_str("# strata dbengine: storage benchmark\n\n");
        o.push_str(&format!("* Command: `{}`\n", self.command));
        o.push_str(&format!("* Machine: {}\n", self.machine));
        o.push_str(&format!(
            "* Load average (1, 5, 15 min): {} at start, {} at end\n",
            self.load_average_start, self.load_average_end
        ));
        o.push_str(&format!("* Date: {}\n", self.date));
        o.push_str(&format!("* Scratch directory: `{}`\n", self.scratch));
        o.push_str(&format!("* Workload of sections 1, 2 and 4: {}\n", self.workload));
        for n in &self.notes {
            o.push_str(&format!("* {n}\n"));
        }

        o.push_str("\n## 1. Write throughput (one core)\n\n");
        o.push_str(
            "From the first append to the files closed: encoding, sealing, extent writes (LZ4, crc, \
             4 KiB alignment) and journal records by the daemon's flusher task, the final flush and \
             fsync. CPU is this thread's CPU time (the kernel's writeback threads are not in it).\n\n",
        );
        o.push_str("| backend | samples | blocks | extents | MiB written | wall s | CPU s | samples/s (wall) | samples/s per core (CPU) | back-pressure waits (ms) |\n");
        o.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.write {
            let w = &r.written;
            o.push_str(&format!(
                "| {} | {} | {} | {} | {:.1} | {:.2} | {:.2} | {} | {} | {} ({}) |\n",
                r.backend.label(),
                w.samples,
                w.blocks,
                w.extents,
                w.bytes_written as f64 / MIB,
                w.time.wall_s,
                w.time.cpu_s,
                si(rate(w.samples as f64, w.time.wall_s)),
                si(rate(w.samples as f64, w.time.cpu_s)),
                w.backpressure_waits,
                w.backpressure_wait_ms
            ));
        }

        o.push_str("\n## 2. Query throughput\n\n");
        o.push_str(
            "Each query reads the newest *range* of one chart (every dimension): `Engine::load` of the \
             span, then `DbChart::read` per column, as `/api/v1/data` does. **cold**: first read after \
             a restart, the files evicted from the OS page cache before each range's pass, a different \
             chart per query; **warm**: the same queries again (blocks in the engine's page cache). \
             Samples/s counts decoded values returned.\n\n",
        );
        o.push_str("| backend | range | state | queries | queries/s | samples/s | ms/query (wall) | CPU ms/query | blocks loaded | extents read | MiB read |\n");
        o.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.query {
            let p = &r.pass;
            let q = p.queries.max(1) as f64;
            o.push_str(&format!(
                "| {} | {} | {} | {} | {:.1} | {} | {:.2} | {:.2} | {} | {} | {:.1} |\n",
                r.backend.label(),
                range_label(p.range_s),
                p.state,
                p.queries,
                rate(p.queries as f64, p.time.wall_s),
                si(rate(p.samples as f64, p.time.wall_s)),
                1e3 * p.time.wall_s / q,
                1e3 * p.time.cpu_s / q,
                p.blocks_loaded,
                p.extents_read,
                p.bytes_read as f64 / MIB
            ));
        }

        o.push_str(&format!(
            "\n## 3. Bytes per sample on disk, per data pattern ({} backend)\n\n",
            self.pattern_backend.label()
        ));
        o.push_str(
            "On disk = the sizes of every file the shard wrote (datafiles with their headers and \
             padding, journals) ÷ values stored (gaps not counted). Payload = the codec's block \
             bytes; extents = after LZ4, before padding. Write rate: CPU time of the whole write.\n\n",
        );
        o.push_str("| data | hosts | dimensions | samples | **on disk B/sample** | datafiles B/sample | journals B/sample | payload B/sample | extents B/sample | samples/s per core |\n");
        o.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.patterns {
            let w = &r.written;
            o.push_str(&format!(
                "| {} | {} | {} | {} | **{:.3}** | {:.3} | {:.3} | {:.3} | {:.3} | {} |\n",
                r.pattern,
                r.hosts,
                w.dimensions,
                w.samples,
                r.disk_bytes_per_sample(),
                per(r.datafile_bytes, w.samples),
                per(r.journal_bytes, w.samples),
                per(w.payload_bytes, w.samples),
                per(w.extent_bytes, w.samples),
                si(rate(w.samples as f64, w.time.cpu_s))
            ));
        }

        o.push_str("\n## 4. Restart time per GiB\n\n");
        o.push_str(
            "Time to open the shard again until every block is indexed and queryable: recovery of \
             the directory, every journal read and parsed, the engine's index built (the daemon's \
             `open_engine`). **cold**: files evicted from the OS page cache first; **warm**: opened \
             again right after. GiB = datafiles + journals.\n\n",
        );
        o.push_str("| backend | state | GiB on disk | journals | journal MiB read | blocks indexed / written | wall s | CPU s | **s per GiB** |\n");
        o.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.restart {
            o.push_str(&format!(
                "| {} | {} | {:.3} | {} | {:.2} | {} / {} | {:.3} | {:.3} | **{:.3}** |\n",
                r.backend.label(),
                r.state,
                r.files_bytes as f64 / GIB,
                r.journals_read,
                r.journal_bytes_read as f64 / MIB,
                r.blocks_indexed,
                r.blocks_written,
                r.time.wall_s,
                r.time.cpu_s,
                r.seconds_per_gib
            ));
        }
        o.push('\n');
        for (b, v) in &self.verify {
            o.push_str(&format!(
                "Read back after the restart ({}): {} charts, {} slots, {} values, {} differences from what was written.{}\n\n",
                b.label(),
                v.charts,
                v.cells,
                v.values,
                v.mismatches,
                v.first_mismatch.as_ref().map(|m| format!(" First: {m}")).unwrap_or_default()
            ));
        }
        o
    }
}
