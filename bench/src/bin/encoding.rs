//! Block encoding comparison: bytes per sample, encode and decode cost, and open-block
//! heap, for several block lengths, on real Netdata child captures and synthetic series.
//!
//! `cargo run --release -p strata-bench --bin encoding [-- --capture PREFIX ...]`
//!
//! Every candidate's output is decoded and compared with its input before anything is
//! printed (a candidate that loses a bit aborts the run).

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Parser;
use strata_bench::candidates::{gorilla::Gorilla, raw::Raw32, Candidate, Strata};
use strata_bench::series::{self, ChartSeries, Pacing};
use strata_bench::thread_cpu_ns;
use strata_storage::Sample;

/// Block lengths compared (slots per block).
const LENGTHS: [usize; 5] = [64, 128, 256, 512, 1024];
/// Blocks per LZ4 extent (Netdata 1.29 puts at most 64 pages in an extent).
const EXTENT_BLOCKS: usize = 64;
/// Index/journal bytes per block: fixed part and per column (see the README).
const INDEX_FIXED: usize = 32;
const INDEX_PER_COLUMN: usize = 4;

#[derive(Parser, Debug)]
#[command(about = "Compare dbengine block encodings")]
struct Args {
    /// Directory of `.request`/`.stream` captures of a real Netdata child.
    #[arg(long, default_value = "../shared/fixtures")]
    fixtures: PathBuf,
    /// Extra capture (path prefix of a `.request`/`.stream` pair), measured as its own set.
    #[arg(long)]
    capture: Vec<PathBuf>,
    /// Seconds of synthetic data per set.
    #[arg(long, default_value_t = 4100)]
    seconds: usize,
    /// Timing repetitions (the fastest is kept).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Parent clock jitter per collection cycle when replaying captures (µs).
    #[arg(long, default_value_t = 1000)]
    jitter_us: u64,
    /// Only these synthetic sets (default: all).
    #[arg(long)]
    synthetic: Vec<String>,
}

struct Block<'a> {
    rows: &'a [Vec<Sample>],
}

impl Block<'_> {
    fn columns(&self) -> usize {
        self.rows.first().map_or(0, Vec::len)
    }
    fn cells(&self) -> usize {
        self.rows.len() * self.columns()
    }
}

/// Blocks of `len` slots in the order they would be sealed: every chart's first block,
/// then every chart's second block, and so on.
fn blocks(set: &[ChartSeries], len: usize) -> Vec<Block<'_>> {
    let chunked: Vec<Vec<&[Vec<Sample>]>> = set.iter().map(|s| s.rows.chunks(len).collect()).collect();
    let most = chunked.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = Vec::new();
    for k in 0..most {
        for c in &chunked {
            if let Some(rows) = c.get(k) {
                if !rows.is_empty() && !rows[0].is_empty() {
                    out.push(Block { rows });
                }
            }
        }
    }
    out
}

struct Figures {
    payload: f64,
    indexed: f64,
    encode_ns: f64,
    decode_ns: f64,
    heap_per_col: Option<f64>,
}

fn measure(cand: &dyn Candidate, lz4: bool, blocks: &[Block<'_>], len: usize, reps: usize) -> anyhow::Result<Figures> {
    let cells: usize = blocks.iter().map(Block::cells).sum();
    let index: usize = blocks.iter().map(|b| INDEX_FIXED + INDEX_PER_COLUMN * b.columns()).sum();
    let (mut best_enc, mut best_dec) = (f64::MAX, f64::MAX);
    let mut stored_bytes = 0;
    let (mut heap, mut heap_cols) = (0usize, 0usize);
    for rep in 0..reps.max(1) {
        let t = thread_cpu_ns();
        let mut payloads = Vec::with_capacity(blocks.len());
        for b in blocks {
            let (p, h) = cand.encode(b.rows);
            if rep == 0 && b.rows.len() == len {
                heap += h;
                heap_cols += b.columns();
            }
            payloads.push(p);
        }
        let extents: Vec<Vec<u8>> = if lz4 {
            payloads.chunks(EXTENT_BLOCKS).map(|group| lz4_flex::block::compress(&group.concat())).collect()
        } else {
            Vec::new()
        };
        best_enc = best_enc.min((thread_cpu_ns() - t) as f64);
        stored_bytes = if lz4 { extents.iter().map(Vec::len).sum() } else { payloads.iter().map(Vec::len).sum() };

        let t = thread_cpu_ns();
        let mut out = Vec::new();
        let mut check = |b: &Block<'_>, p: &[u8]| -> anyhow::Result<()> {
            for col in 0..b.columns() {
                cand.decode(p, b.columns(), b.rows.len() as u32, col, &mut out)
                    .with_context(|| format!("{} column {col}", cand.name()))?;
                if rep == 0 {
                    let ok = out.len() == b.rows.len()
                        && out.iter().zip(b.rows).all(|(got, row)| got.same_bits(&row[col].as_stored()));
                    if !ok {
                        bail!("{} lost data in column {col}", cand.name());
                    }
                }
            }
            Ok(())
        };
        if lz4 {
            let mut bi = 0;
            for (e, group) in extents.iter().zip(payloads.chunks(EXTENT_BLOCKS)) {
                let raw_len: usize = group.iter().map(Vec::len).sum();
                let raw = lz4_flex::block::decompress(e, raw_len).context("lz4")?;
                let mut at = 0;
                for p in group {
                    check(&blocks[bi], &raw[at..at + p.len()])?;
                    at += p.len();
                    bi += 1;
                }
            }
        } else {
            for (b, p) in blocks.iter().zip(&payloads) {
                check(b, p)?;
            }
        }
        best_dec = best_dec.min((thread_cpu_ns() - t) as f64);
    }
    let cells_f = cells.max(1) as f64;
    Ok(Figures {
        payload: stored_bytes as f64 / cells_f,
        indexed: (stored_bytes + index) as f64 / cells_f,
        encode_ns: best_enc / cells_f,
        decode_ns: best_dec / cells_f,
        heap_per_col: (heap_cols > 0).then(|| heap as f64 / heap_cols as f64),
    })
}

fn describe(name: &str, set: &[ChartSeries]) {
    let cells: usize = set.iter().map(|s| s.rows.len() * s.columns()).sum();
    let gaps: usize =
        set.iter().flat_map(|s| s.rows.iter()).flat_map(|r| r.iter()).filter(|c| matches!(c, Sample::Gap)).count();
    let resets: usize = set
        .iter()
        .flat_map(|s| s.rows.iter())
        .flat_map(|r| r.iter())
        .filter(|c| matches!(c, Sample::Value { reset: true, .. }))
        .count();
    let dims: usize = set.iter().map(ChartSeries::columns).sum();
    let longest = set.iter().map(|s| s.rows.len()).max().unwrap_or(0);
    println!(
        "\n### {name}\n\n{} charts, {dims} dimensions, {cells} stored slots (cells), longest chart {longest} slots, \
         {:.1} % gaps, {resets} reset flags\n",
        set.len(),
        100.0 * gaps as f64 / cells.max(1) as f64
    );
}

fn table(set: &[ChartSeries], reps: usize) -> anyhow::Result<()> {
    let cands: [(&dyn Candidate, bool, &str); 6] = [
        (&Raw32, false, "raw32 (4 B/slot, no compression)"),
        (&Raw32, true, "A: raw32 + LZ4 extents"),
        (&Gorilla, false, "B: Gorilla XOR f32"),
        (&Gorilla, true, "C: Gorilla + LZ4 extents"),
        (&Strata, false, "D: strata v1"),
        (&Strata, true, "E: strata v1 + LZ4 extents"),
    ];
    println!("| slots | encoding | B/sample payload | B/sample + index | encode ns/sample | decode ns/sample | open block heap B/column |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for len in LENGTHS {
        let bl = blocks(set, len);
        for (cand, lz4, label) in cands {
            let f = measure(cand, lz4, &bl, len, reps)?;
            let heap = f.heap_per_col.map_or_else(|| "-".to_string(), |h| format!("{h:.0}"));
            println!(
                "| {len} | {label} | {:.3} | {:.3} | {:.1} | {:.1} | {heap} |",
                f.payload, f.indexed, f.encode_ns, f.decode_ns
            );
        }
    }
    Ok(())
}

/// Where the bytes of the shipped codec go at 256 slots: per column scheme, its share of
/// the payload bytes, columns and cells, and bytes per cell.
fn breakdown(set: &[ChartSeries]) -> anyhow::Result<()> {
    use std::collections::BTreeMap;
    let mut by: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut total = 0;
    for b in blocks(set, 256) {
        let (payload, _) = Strata.encode(b.rows);
        total += payload.len();
        for l in strata_storage::dbengine::codec::column_layouts(&payload, b.columns())? {
            let key = format!("{}{}", l.scheme, if l.runs { " + runs" } else { "" });
            let e = by.entry(key).or_default();
            e.0 += l.bytes;
            e.1 += 1;
            e.2 += b.rows.len();
        }
    }
    let in_columns: usize = by.values().map(|v| v.0).sum();
    println!("\nWhere the bytes go (strata v1, 256 slots): {total} payload bytes, {} in block headers and column directories.\n", total - in_columns);
    println!("| column scheme | bytes | share | columns (per block) | cells | B/cell |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (k, (bytes, cols, cells)) in by {
        println!(
            "| {k} | {bytes} | {:.1} % | {cols} | {cells} | {:.2} |",
            100.0 * bytes as f64 / total.max(1) as f64,
            bytes as f64 / cells.max(1) as f64
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pacing = Pacing { jitter_us: args.jitter_us, seed: 1 };
    let fixtures = if args.fixtures.is_absolute() {
        args.fixtures.clone()
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(&args.fixtures)
    };
    let fixtures = fixtures.canonicalize().unwrap_or(fixtures);
    println!("# dbengine block encodings\n");
    println!(
        "Index overhead per block: {INDEX_FIXED} B + {INDEX_PER_COLUMN} B per column. LZ4 extents: {EXTENT_BLOCKS} \
         blocks in seal order. Replay clock jitter: {} µs. Timings: thread CPU time, fastest of {} runs.",
        args.jitter_us, args.reps
    );
    let mut real = Vec::new();
    for prefix in series::capture_prefixes(&fixtures)? {
        real.extend(series::capture(&prefix, pacing)?);
    }
    describe(&format!("real child captures ({})", fixtures.display()), &real);
    table(&real, args.reps)?;
    breakdown(&real)?;
    for prefix in &args.capture {
        let set = series::capture(prefix, pacing)?;
        describe(&format!("real child capture {}", prefix.display()), &set);
        table(&set, args.reps)?;
        breakdown(&set)?;
    }
    for kind in series::SYNTHETIC {
        if !args.synthetic.is_empty() && !args.synthetic.iter().any(|s| s == kind) {
            continue;
        }
        let set = series::synthetic(kind, args.seconds, 42);
        describe(&format!("synthetic: {kind}"), &set);
        table(&set, args.reps)?;
    }
    Ok(())
}
