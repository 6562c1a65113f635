//! The strata-vs-Netdata grid benchmark: for every (children × metrics per child) point,
//! a fresh strata parent and (when installed) a fresh Netdata parent, each fed by the
//! loadgen, each measured from `/proc` over the steady phase. Results go to stdout, and as
//! JSON plus markdown to the results directory.
//!
//! With `--tls`, every grid point also runs strata with the children streaming over TLS
//! (a self-signed certificate made at start), and the results compare TLS with plain.
//!
//! Layers: `procfs` (CPU, RSS, du), `progress` (the loadgen's progress lines), `server`
//! (the parents' configs and processes), `point` (one measurement), `tls` (the
//! certificate, TLS/plain ratios), `table` (markdown).
//! Nothing here builds anything: the binaries are found next to this one or given.

pub mod point;
pub mod procfs;
pub mod progress;
pub mod server;
pub mod table;
pub mod tls;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Parser;
use serde_json::json;

use point::{Figures, Load, LoadgenCmd};
use server::{Kind, Spec};

/// Runs strata (and a real Netdata when installed) as a parent under the loadgen over a
/// grid of children × metrics per child, and reports CPU, memory, latency and disk figures.
#[derive(Debug, Clone, Parser)]
#[command(name = "grid", about)]
pub struct Options {
    /// Grid points, CHILDRENxMETRICS separated by commas (metrics per child = charts × --dims).
    #[arg(long, default_value = "100x500,1000x500,2000x500")]
    pub grid: String,
    /// Dimensions per chart.
    #[arg(long, default_value_t = 10)]
    pub dims: usize,
    /// Seconds of loadgen per grid point and parent (ramp included).
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// New connections per second while the swarm starts.
    #[arg(long, default_value_t = 1000.0)]
    pub ramp: f64,
    /// Seconds after every child is connected before the CPU window opens.
    #[arg(long, default_value_t = 2.0)]
    pub settle: f64,
    /// Loadgen children whose freshness is probed through the parent's API (each probe
    /// polls the API and costs the parent CPU).
    #[arg(long, default_value_t = 0)]
    pub probe_children: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The strata binary (default: `strata` next to this program, i.e. target/release/strata).
    #[arg(long, value_name = "PATH")]
    pub strata: Option<PathBuf>,
    /// strata's `--cores` (default: all cores).
    #[arg(long)]
    pub cores: Option<usize>,
    /// The Netdata binary; measured only when it exists.
    #[arg(long, value_name = "PATH", default_value = "/usr/sbin/netdata")]
    pub netdata: PathBuf,
    /// Measure strata only.
    #[arg(long)]
    pub no_netdata: bool,
    /// Also run every grid point against strata with the children streaming over TLS
    /// (a self-signed certificate made at start; strata's `^SSL=force` port), and report
    /// TLS/plain ratios. Netdata runs plain only.
    #[arg(long)]
    pub tls: bool,
    /// A strata-loadgen binary (default: the loadgen built into this program, run as a
    /// separate process).
    #[arg(long, value_name = "PATH")]
    pub loadgen: Option<PathBuf>,
    /// An extra option for the loadgen (repeatable), e.g. --loadgen-arg=--ver=3008.
    #[arg(long = "loadgen-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub loadgen_args: Vec<String>,
    /// dbengine page cache of both parents, MiB.
    #[arg(long, default_value_t = 64)]
    pub page_cache_mib: u32,
    /// dbengine disk space of both parents, MiB.
    #[arg(long, default_value_t = 1024)]
    pub disk_mib: u32,
    /// Where results are written (grid-TIMESTAMP.json/.md and latest.md).
    #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    pub out: PathBuf,
    /// Print and do not write result files.
    #[arg(long)]
    pub no_save: bool,
    /// Directory for the parents' private directories (default: a fresh one under the
    /// system temp dir, removed at the end unless --keep).
    #[arg(long, value_name = "DIR")]
    pub work: Option<PathBuf>,
    /// Keep the parents' directories (configs, logs, dbengine files, loadgen reports).
    #[arg(long)]
    pub keep: bool,
    /// Do not echo the loadgen's progress lines.
    #[arg(long)]
    pub quiet: bool,
}

/// Parses `100x500,1000x500` into (children, metrics) pairs.
pub fn parse_grid(s: &str) -> anyhow::Result<Vec<(usize, usize)>> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (c, m) =
                p.trim().split_once(['x', 'X', '×']).with_context(|| format!("grid point '{p}': CHILDRENxMETRICS"))?;
            let (c, m): (usize, usize) = (c.trim().parse()?, m.trim().parse()?);
            if c == 0 || m == 0 {
                bail!("grid point '{p}': counts must be at least 1");
            }
            Ok((c, m))
        })
        .collect()
}

fn version_of(bin: &Path, arg: &str) -> String {
    std::process::Command::new(bin)
        .arg(arg)
        .output()
        .map(|o| {
            let t = if o.stdout.is_empty() { o.stderr } else { o.stdout };
            String::from_utf8_lossy(&t).lines().next().unwrap_or("").trim().to_string()
        })
        .unwrap_or_default()
}

/// Runs the whole grid; returns the results (also written unless `--no-save`).
pub fn run(opts: &Options, command: &str) -> anyhow::Result<Vec<Figures>> {
    let grid = parse_grid(&opts.grid)?;
    if opts.dims == 0 {
        bail!("--dims must be at least 1");
    }
    for &(_, m) in &grid {
        if m % opts.dims != 0 {
            bail!("{m} metrics per child is not a multiple of --dims {}", opts.dims);
        }
    }
    let me = std::env::current_exe().context("where is this program")?;
    let strata = opts.strata.clone().unwrap_or_else(|| me.with_file_name("strata"));
    if !strata.is_file() {
        bail!(
            "no strata binary at {} (build it: cargo build --release -p strata, or pass --strata PATH)",
            strata.display()
        );
    }
    let loadgen = match &opts.loadgen {
        Some(p) => LoadgenCmd { program: p.clone(), prefix: vec![], extra: opts.loadgen_args.clone() },
        None => LoadgenCmd { program: me.clone(), prefix: vec!["loadgen".into()], extra: opts.loadgen_args.clone() },
    };
    let with_netdata = !opts.no_netdata && opts.netdata.is_file();
    let mut specs = vec![Spec {
        kind: Kind::Strata,
        binary: strata.clone(),
        cores: opts.cores,
        page_cache_mib: opts.page_cache_mib,
        disk_mib: opts.disk_mib,
        tls: None,
    }];
    let work = match &opts.work {
        Some(w) => w.clone(),
        None => std::env::temp_dir().join(format!("strata-grid-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work).with_context(|| format!("create {}", work.display()))?;
    if opts.tls {
        let certs = tls::self_signed(&work.join("tls")).context("the TLS certificate")?;
        specs.push(Spec { tls: Some(certs), ..specs[0].clone() });
    }
    if with_netdata {
        specs.push(Spec { kind: Kind::Netdata, binary: opts.netdata.clone(), cores: None, ..specs[0].clone() });
    }
    let started = chrono::Local::now();
    let strata_version = version_of(&strata, "--version");
    let netdata_version = if with_netdata { version_of(&opts.netdata, "-V") } else { String::new() };
    eprintln!(
        "grid: {} | {strata_version}{}",
        crate::machine(),
        if with_netdata { format!(" | {netdata_version}") } else { " | no Netdata".into() }
    );

    let mut rows = Vec::new();
    for &(children, metrics) in &grid {
        let load = Load {
            children,
            charts: metrics / opts.dims,
            dims: opts.dims,
            duration_secs: opts.duration,
            ramp_per_sec: opts.ramp,
            settle_secs: opts.settle,
            probe_children: opts.probe_children,
            seed: opts.seed,
        };
        for spec in &specs {
            let name = format!("{}{}", spec.kind.name(), if spec.tls.is_some() { " over TLS" } else { "" });
            eprintln!("grid: {children} children × {metrics} metrics against {name}");
            match point::run(spec, &load, &loadgen, &work, !opts.quiet) {
                Ok(f) => {
                    print!(
                        "{}",
                        table::figures(std::slice::from_ref(&f))
                            .lines()
                            .nth(2)
                            .map(|l| format!("{l}\n"))
                            .unwrap_or_default()
                    );
                    rows.push(f);
                }
                Err(e) => eprintln!("grid: {children}×{metrics} against {name} could not run: {e:#}"),
            }
        }
    }
    if !opts.keep && opts.work.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }

    let md = format!(
        "# strata vs Netdata: parent under the loadgen\n\n{} · {}\n\n```sh\n{command}\n```\n\n{} · {strata_version} (--cores {}){}{} · {} s per point, ramp {}/s, {} dims per chart, CPU window from {} s after every child connected to the last second of the run\n\n{}\n{}{}",
        started.format("%Y-%m-%d %H:%M:%S %z"),
        crate::machine(),
        opts.grid,
        opts.cores.map_or("all".to_string(), |c| c.to_string()),
        if opts.tls { ", plain and over TLS (self-signed certificate, ^SSL=force port)" } else { "" },
        if with_netdata { format!(" · {netdata_version}, dbengine") } else { " · Netdata not measured".into() },
        opts.duration,
        opts.ramp,
        opts.dims,
        opts.settle,
        table::figures(&rows),
        match table::ratios(&rows) {
            r if r.is_empty() => String::new(),
            r => format!("\nstrata / Netdata (below 1 = strata smaller):\n\n{r}"),
        },
        match table::tls_ratios(&rows) {
            r if r.is_empty() => String::new(),
            r => format!("\nTLS / plain (above 1 = TLS costs more):\n\n{r}"),
        }
    );
    println!("\n{md}");
    if !opts.no_save {
        std::fs::create_dir_all(&opts.out).with_context(|| format!("create {}", opts.out.display()))?;
        let stamp = started.format("%Y%m%d-%H%M%S");
        let body = json!({
            "command": command,
            "started": started.to_rfc3339(),
            "machine": crate::machine(),
            "strata_version": strata_version,
            "netdata_version": netdata_version,
            "grid": opts.grid,
            "dims": opts.dims,
            "duration_secs": opts.duration,
            "ramp_per_sec": opts.ramp,
            "settle_secs": opts.settle,
            "tls": opts.tls,
            "results": rows,
            "tls_ratios": tls::ratios(&rows),
        });
        let json_path = opts.out.join(format!("grid-{stamp}.json"));
        std::fs::write(&json_path, serde_json::to_string_pretty(&body)?)?;
        std::fs::write(opts.out.join(format!("grid-{stamp}.md")), &md)?;
        std::fs::write(opts.out.join("latest.md"), &md)?;
        eprintln!("grid: wrote {} (+ .md, latest.md)", json_path.display());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_points() {
        assert_eq!(parse_grid("100x500, 2000X50,3×10").unwrap(), [(100, 500), (2000, 50), (3, 10)]);
        assert!(parse_grid("100").is_err());
        assert!(parse_grid("0x5").is_err());
        assert!(parse_grid("ax5").is_err());
    }
}
