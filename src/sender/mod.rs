//! The sender: streams one host upstream to a parent (`[stream] enabled = yes` for this
//! node's own host, `proxy enabled` for hosts received from children; streaming-protocol.md
//! §5, §7).
//!
//! Data flow: a host's protocol lines, after they were applied to the host model (by a
//! receiver for a proxied child, by the collectors for localhost), go through a
//! [`tap::LineTap`] into the host's bounded [`queue::SendQueue`] as whole collections; the
//! host's sending [`task`] connects to the first working destination, hand-shakes
//! ([`handshake`]), sends the host metadata and the queued collections re-encoded, each
//! chart's definition generated from the model ([`definitions`]) before its first
//! collection on the link ([`batch`]).
//!
//! Invariants: one sender per host, on the shard that owns the host; feeding a sender
//! never waits (a slow or dead parent of one host cannot delay another host or the
//! receiver), the queue is bounded by `buffer size bytes` and drops the oldest whole
//! collections, counted and logged, instead of closing the link and discarding
//! everything; definitions are never dropped, they are regenerated after every connect.
//!
//! Entry points: [`spawn`] starts a host's sender; [`Upstream::attach`] returns the tap a
//! data source feeds ([`tap::LineTap::line`] for one applied line,
//! [`tap::LineTap::forward`] for applied protocol bytes). A `:SSL` destination runs the
//! same session over TLS ([`transport`]), with `[stream]`'s `ssl skip certificate
//! verification`, `CAfile` and `CApath` for every sender (this node's and the proxied
//! hosts', as Netdata has one client context for all of them).

pub mod backoff;
pub mod batch;
pub mod definitions;
pub mod destination;
pub mod handshake;
pub mod queue;
pub mod tap;
pub mod task;
pub mod transport;
pub mod upstream;

pub use task::{spawn, HostModel, SenderSettings};
pub use upstream::{HostTap, LinkState, Stats, Upstream};

use crate::config::{Config, ProxySettings};
use crate::tls::ClientTlsOptions;

impl SenderSettings {
    /// The sender of this node's own host (`[stream]`).
    pub fn for_localhost(config: &Config) -> SenderSettings {
        let s = &config.stream.sender;
        Self::with(config, s.destination.clone(), s.api_key.clone(), s.send_charts_matching.clone())
    }

    /// The sender of a host received from a child, with its resolved proxy settings.
    pub fn for_proxy(config: &Config, proxy: &ProxySettings) -> SenderSettings {
        Self::with(config, proxy.destination.clone(), proxy.api_key.clone(), proxy.send_charts_matching.clone())
    }

    fn with(config: &Config, destination: String, api_key: String, send_charts_matching: String) -> SenderSettings {
        let s = &config.stream.sender;
        SenderSettings {
            destination,
            api_key,
            send_charts_matching,
            timeout_secs: s.timeout_secs,
            default_port: s.default_port,
            buffer_size_bytes: s.buffer_size_bytes,
            reconnect_delay_secs: s.reconnect_delay_secs,
            initial_clock_resync_iterations: s.initial_clock_resync_iterations,
            update_every: config.global.update_every,
            tls: sender_tls_options(config),
        }
    }
}

/// The TLS client options of every sender: `[stream]`'s settings, with the certificate
/// chain checked but not its name, as Netdata 1.37.1 does (it only looks at the verify
/// result of the chain), so a parent reached by an address its certificate does not name
/// is accepted by both.
pub fn sender_tls_options(config: &Config) -> ClientTlsOptions {
    ClientTlsOptions { check_server_name: false, ..ClientTlsOptions::from_stream_conf(&config.stream.sender) }
}
