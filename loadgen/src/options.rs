//! The command line of `strata-loadgen` (also the swarm's configuration when it runs as a
//! library), and its validation.
//!
//! Invariants after [`Options::validate`]: at least one target, every count ≥ 1 where a
//! zero would make the run meaningless, `update_every` ≥ 1, TLS options only with
//! `--tls`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::values::ValuePattern;
use crate::LoadgenError;

/// The API key of the shipped `conf/stream.conf`.
pub const DEFAULT_API_KEY: &str = "3c0a832a-c7ff-44bb-9e51-1064803470d5";

/// A swarm of simulated Netdata children streaming into a parent.
#[derive(Debug, Clone, Parser)]
#[command(name = "strata-loadgen", version, about, args_override_self = true)]
pub struct Options {
    /// Parent to stream to, HOST:PORT; repeat for a destination list tried in order, as a
    /// Netdata child does.
    #[arg(long = "target", value_name = "HOST:PORT", default_value = "127.0.0.1:19999")]
    pub targets: Vec<String>,
    /// Number of simulated children.
    #[arg(long, default_value_t = 100)]
    pub children: usize,
    /// Charts per child.
    #[arg(long, default_value_t = 50)]
    pub charts: usize,
    /// Dimensions per chart.
    #[arg(long, default_value_t = 10)]
    pub dims: usize,
    /// Seconds between two collections of a child.
    #[arg(long, default_value_t = 1)]
    pub update_every: u32,
    /// Length of the run in seconds (ramp included).
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// New connections per second while the swarm starts (0 = all at once).
    #[arg(long, default_value_t = 1000.0)]
    pub ramp: f64,
    /// Disconnect/reconnect events per second over the whole swarm (0 = none).
    #[arg(long, default_value_t = 0.0)]
    pub churn: f64,
    /// Seconds a churned child stays away before it reconnects.
    #[arg(long, default_value_t = 1.0)]
    pub churn_downtime: f64,
    /// Stream over TLS.
    #[arg(long)]
    pub tls: bool,
    /// With --tls: accept any server certificate.
    #[arg(long, requires = "tls")]
    pub insecure: bool,
    /// With --tls: trust the certificates in this PEM file (default: the system bundle).
    #[arg(long, value_name = "FILE", requires = "tls", conflicts_with = "insecure")]
    pub ca: Option<PathBuf>,
    /// With --tls: the name to verify the certificate against (default: the target's host).
    #[arg(long, value_name = "NAME", requires = "tls")]
    pub tls_server_name: Option<String>,
    /// API key sent in the STREAM request.
    #[arg(long, default_value = DEFAULT_API_KEY)]
    pub api_key: String,
    /// Protocol version to offer (`ver=`): a legacy number (0–4), or a v1.37 capability
    /// bitmask without compression or replication, e.g. 3008.
    #[arg(long = "ver", default_value_t = 3)]
    pub ver: u64,
    /// How the values move.
    #[arg(long, value_enum, default_value_t = ValuePattern::Mixed)]
    pub value_pattern: ValuePattern,
    /// Seed of the machine GUIDs, hostnames and random values.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Hostname prefix (hostnames are PREFIX-SEED-INDEX).
    #[arg(long, default_value = "loadgen")]
    pub hostname_prefix: String,
    /// Write the report as JSON here, and the latency plot next to it (same name, .svg).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Executor threads (each runs many children on non-blocking sockets).
    #[arg(long, default_value_t = default_threads())]
    pub threads: usize,
    /// Seconds to wait for a connection and for the parent's reply.
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
    /// Seconds to wait after a failed or rejected connection before trying again.
    #[arg(long, default_value_t = 5.0)]
    pub reconnect_delay: f64,
    /// Children whose data freshness is measured through the parent's API.
    #[arg(long, default_value_t = 4)]
    pub probe_children: usize,
    /// Charts per probe child whose freshness is measured.
    #[arg(long, default_value_t = 1)]
    pub probe_charts: usize,
    /// Milliseconds between two API polls of a probe waiting for a sample (the first
    /// poll goes out as soon as the sample is sent).
    #[arg(long, default_value_t = 2)]
    pub probe_interval_ms: u64,
    /// Seconds between progress lines on stderr (0 = none).
    #[arg(long, default_value_t = 5.0)]
    pub progress: f64,
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

impl Options {
    /// Checks the values that clap cannot.
    pub fn validate(&self) -> Result<(), LoadgenError> {
        let bad = |m: &str| Err(LoadgenError::InvalidOption(m.to_string()));
        if self.targets.is_empty() {
            return bad("at least one --target is needed");
        }
        if self.children == 0 || self.charts == 0 || self.dims == 0 {
            return bad("--children, --charts and --dims must be at least 1");
        }
        if self.update_every == 0 {
            return bad("--update-every must be at least 1");
        }
        if self.threads == 0 {
            return bad("--threads must be at least 1");
        }
        for (name, v) in [
            ("--duration", self.duration),
            ("--ramp", self.ramp),
            ("--churn", self.churn),
            ("--churn-downtime", self.churn_downtime),
            ("--reconnect-delay", self.reconnect_delay),
            ("--progress", self.progress),
        ] {
            if !v.is_finite() || v < 0.0 {
                return bad(&format!("{name} must be a finite number ≥ 0"));
            }
        }
        if !self.timeout.is_finite() || self.timeout <= 0.0 {
            return bad("--timeout must be > 0");
        }
        if self.duration <= 0.0 {
            return bad("--duration must be > 0");
        }
        if self.probe_interval_ms == 0 {
            return bad("--probe-interval-ms must be at least 1");
        }
        Ok(())
    }

    /// The interval between two ticks of a child.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.update_every))
    }

    /// Samples per second the swarm should send once every child is connected.
    pub fn target_rate(&self) -> f64 {
        (self.children * self.charts * self.dims) as f64 / f64::from(self.update_every)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_repeated_targets() {
        let o = Options::parse_from(["x", "--target", "a:1", "--target", "b:2", "--children", "3"]);
        assert_eq!(o.targets, ["a:1", "b:2"]);
        assert_eq!((o.children, o.charts, o.dims, o.update_every), (3, 50, 10, 1));
        assert_eq!(o.api_key, DEFAULT_API_KEY);
        assert_eq!(o.value_pattern, ValuePattern::Mixed);
        assert!(o.validate().is_ok());
        assert_eq!(o.target_rate(), 1500.0);
        let o = Options::parse_from(["x"]);
        assert_eq!(o.targets, ["127.0.0.1:19999"]);
    }

    #[test]
    fn invalid_values_are_refused() {
        for args in [
            &["x", "--children", "0"][..],
            &["x", "--update-every", "0"],
            &["x", "--duration", "0"],
            &["x", "--ramp=-1"],
            &["x", "--churn", "NaN"],
            &["x", "--timeout", "0"],
        ] {
            let o = Options::parse_from(args);
            assert!(o.validate().is_err(), "{args:?}");
        }
        assert!(Options::try_parse_from(["x", "--insecure"]).is_err(), "--insecure needs --tls");
        assert!(Options::try_parse_from(["x", "--tls", "--insecure", "--ca", "f"]).is_err());
        let o = Options::try_parse_from(["x", "--tls", "--ca", "f.pem", "--value-pattern", "random-walk"]).unwrap();
        assert_eq!(o.value_pattern, ValuePattern::RandomWalk);
    }
}
