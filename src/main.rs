//! The `strata` daemon: parse the command line, load the configuration, start the shards.
//! Runs in the foreground until `SIGTERM` or `SIGINT`, then stops cleanly and exits 0.
//! `strata report --target HOST:PORT` instead prints a running strata's latency table.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use strata::config::{self, Override};

/// A Netdata-compatible metrics streaming server (parent, proxy or child), thread-per-core.
#[derive(Debug, Parser)]
#[command(name = "strata", version = concat!("v", env!("CARGO_PKG_VERSION")), about)]
struct Cli {
    /// Directory holding netdata.conf and stream.conf (a missing file means defaults).
    #[arg(long, value_name = "DIR")]
    config_dir: Option<PathBuf>,

    /// `-W set SECTION KEY VALUE`: set a netdata.conf value (repeatable; wins over the file).
    #[arg(short = 'W', num_args = 4, value_names = ["set", "SECTION", "KEY", "VALUE"], action = clap::ArgAction::Append, allow_hyphen_values = true)]
    w: Vec<String>,

    /// Number of shards (one executor pinned per core). Default: all cores (one with
    /// `[web] mode = none`, which receives nothing).
    #[arg(long, value_name = "N")]
    cores: Option<usize>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the latency histograms (ingest, flush, api; all shards merged and per shard,
    /// in microseconds) of a running strata, read from its `/api/v1/latency`.
    Report {
        /// The strata to ask (its web server, plain HTTP).
        #[arg(long, value_name = "HOST:PORT")]
        target: String,
        /// Give up on the connection or the answer after this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 10)]
        timeout: u64,
    },
}

fn report(target: &str, timeout_secs: u64) -> anyhow::Result<()> {
    let r = strata::report::fetch(target, Duration::from_secs(timeout_secs.max(1)))?;
    print!("{}", r.table(target));
    Ok(())
}

fn overrides(words: &[String]) -> anyhow::Result<Vec<Override>> {
    words
        .chunks(4)
        .map(|c| match c {
            [verb, section, key, value] if verb == "set" => {
                Ok(Override { section: section.clone(), key: key.clone(), value: value.clone() })
            }
            [verb, ..] => anyhow::bail!("unknown -W option '{verb}' (supported: -W set SECTION KEY VALUE)"),
            _ => anyhow::bail!("-W set needs SECTION KEY VALUE"),
        })
        .collect()
}

fn tls_policy(mode: config::SslMode) -> &'static str {
    match mode {
        config::SslMode::Default => "default (plain HTTP redirected to HTTPS; plain and TLS streams accepted)",
        config::SslMode::Force => "force (plain HTTP redirected to HTTPS; plain streams refused)",
        config::SslMode::Optional => "optional (plain and TLS accepted)",
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let overrides = overrides(&cli.w)?;
    let config = config::load(cli.config_dir.as_deref(), &overrides)?;
    strata::log::init(config.directories.log.as_deref()).context("cannot open the log files")?;
    for w in &config.warnings {
        strata::error!("CONFIG: {w}");
    }
    let guid = config::load_or_create_machine_guid(&config.directories.lib)
        .context("cannot load or create the machine GUID")?;
    let web_off = config.web.mode == config::WebMode::None;
    let cores = match cli.cores {
        Some(0) => anyhow::bail!("--cores must be at least 1"),
        Some(n) => n,
        // Nothing is received without a web server: every host of the node (localhost)
        // lives on one shard, and more shards would only idle.
        None if web_off => 1,
        None => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    };
    let tls = if web_off {
        None
    } else {
        strata::tls::ServerTls::from_web(&config.web).context("cannot set up TLS for the web server")?
    };
    let listeners = strata::shard::bind_listeners(&config)?;
    if web_off {
        // Netdata's wording when `[web] mode = none` leaves its web server thread out.
        strata::info!("Not starting thread WEB_SERVER[static1]: [web] mode = none, no listening socket (no API, no streams received)");
    }
    for l in &listeners {
        strata::info!("web server listening on {}", l.addr);
    }
    if let Some(t) = &tls {
        for w in &t.warnings {
            strata::error!("TLS: {w}");
        }
        strata::info!("{}", t.summary);
        for l in &listeners {
            strata::info!("TLS policy of {}: {}", l.addr, tls_policy(l.ssl));
        }
    }
    strata::info!(
        "strata {} started: machine guid {guid}, hostname '{}', {cores} shard(s), memory mode {}",
        strata::shard::VERSION,
        config.global.hostname,
        config.global.memory_mode.name()
    );
    strata::shard::run(config, guid, cores, listeners, tls.map(|t| t.config))?;
    strata::info!("EXIT: every shard stopped - strata is exiting");
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let done = match &cli.command {
        Some(Command::Report { target, timeout }) => report(target, *timeout),
        None => run(cli),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strata: {e:#}");
            ExitCode::FAILURE
        }
    }
}
