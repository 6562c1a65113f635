//! `strata-loadgen`: runs a swarm against a parent, prints the report table, and writes
//! the JSON report and the latency plot when `--json FILE` is given.

use anyhow::Context;
use clap::Parser;

fn main() -> anyhow::Result<()> {
    let opts = strata_loadgen::Options::parse();
    let report = strata_loadgen::run(&opts).context("loadgen run")?;
    print!("{}", report.text());
    if let Some(path) = &opts.json {
        let svg = report.write_files(path).context("writing the report")?;
        eprintln!("report: {} and {}", path.display(), svg.display());
    }
    Ok(())
}
