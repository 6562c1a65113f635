//! Storage benchmark: write throughput, query throughput, bytes per sample on disk per
//! data pattern, and restart time per GiB of strata's dbengine, per files backend.
//!
//! `cargo run --release -p strata-bench --bin storage [-- --quick] [-- --help]`
//!
//! Prints one markdown table per section; `--md` and `--json` also write them to files.
//! The run fails when data read back after the restart differs from what was written.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use strata_bench::storage::{self, shard::Backend, Options};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Backends {
    Std,
    Dma,
    Both,
}

#[derive(Parser, Debug)]
#[command(about = "Measure strata's dbengine: write, query, bytes on disk, restart")]
struct Args {
    /// Small sizes (64 MiB instead of 1 GiB, fewer queries and pattern samples).
    #[arg(long)]
    quick: bool,
    /// Files backend: std (buffered files), dma (glommio O_DIRECT, io_uring) or both.
    #[arg(long, value_enum, default_value = "both")]
    backend: Backends,
    /// Scratch directory (a fresh subdirectory is made in it and removed at the end).
    #[arg(long, default_value_os_t = std::env::temp_dir())]
    dir: PathBuf,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write the markdown report to this file.
    #[arg(long)]
    md: Option<PathBuf>,
    /// Target size on disk of the large workload in MiB [default: 1024, --quick: 64].
    #[arg(long)]
    size_mib: Option<u64>,
    /// Values per data pattern of section 3 [default: 8000000, --quick: 500000].
    #[arg(long)]
    pattern_samples: Option<u64>,
    /// Seconds per chart of the data patterns [default: 4096, --quick: 1024].
    #[arg(long)]
    pattern_seconds: Option<i64>,
    /// Queries per range and state, at most [default: 40, --quick: 10].
    #[arg(long)]
    queries: Option<usize>,
    /// Wall-time budget of one cold query pass in seconds [default: 10, --quick: 2].
    #[arg(long)]
    query_budget: Option<f64>,
    /// Directory of `.request`/`.stream` captures of a real Netdata child.
    #[arg(long, default_value = "../shared/fixtures")]
    fixtures: PathBuf,
    /// Keep the shard directories written.
    #[arg(long)]
    keep: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let q = args.quick;
    let fixtures = if args.fixtures.is_absolute() {
        args.fixtures.clone()
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(&args.fixtures)
    };
    let opts = Options {
        size_mib: args.size_mib.unwrap_or(if q { 64 } else { 1024 }),
        pattern_samples: args.pattern_samples.unwrap_or(if q { 500_000 } else { 8_000_000 }),
        pattern_seconds: args.pattern_seconds.unwrap_or(if q { 1024 } else { 4096 }),
        queries: args.queries.unwrap_or(if q { 10 } else { 40 }),
        query_budget_s: args.query_budget.unwrap_or(if q { 2.0 } else { 10.0 }),
        backends: match args.backend {
            Backends::Std => vec![Backend::Std],
            Backends::Dma => vec![Backend::Dma],
            Backends::Both => vec![Backend::Std, Backend::Dma],
        },
        scratch: args.dir.clone(),
        fixtures: fixtures.canonicalize().unwrap_or(fixtures),
        keep: args.keep,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let command = format!("cargo run --release -p strata-bench --bin storage -- {}", argv.join(" "));
    let report = storage::run(&opts, command.trim_end_matches(" -- ").trim_end())?;
    let md = report.markdown();
    print!("{md}");
    if let Some(p) = &args.md {
        std::fs::write(p, &md).with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &args.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
