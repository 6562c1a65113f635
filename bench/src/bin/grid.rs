//! `grid`: strata (and a real Netdata, when installed) as a parent under the loadgen, over
//! a grid of children × metrics per child. `grid loadgen OPTIONS` runs the loadgen built
//! into this program (the same options as `strata-loadgen`); the grid starts it that way
//! as a separate process unless `--loadgen PATH` names another binary.

use anyhow::Context;
use clap::Parser;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("loadgen") {
        let opts = strata_loadgen::Options::parse_from(
            std::iter::once("strata-loadgen".to_string()).chain(args.iter().skip(2).cloned()),
        );
        let report = strata_loadgen::run(&opts).context("loadgen run")?;
        print!("{}", report.text());
        if let Some(path) = &opts.json {
            report.write_files(path).context("writing the report")?;
        }
        return Ok(());
    }
    let opts = strata_bench::grid::Options::parse();
    let command =
        args.iter().map(|a| if a.contains(' ') { format!("'{a}'") } else { a.clone() }).collect::<Vec<_>>().join(" ");
    strata_bench::grid::run(&opts, &command)?;
    Ok(())
}
