//! Messages between shards. Only fds, bytes and owned values cross a shard boundary.

use std::net::SocketAddr;
use std::os::fd::RawFd;

use strata_storage::dbengine::EngineStats;

use crate::latency::Histograms;
use crate::stream::request::StreamRequest;
use crate::web::{ApiRequest, HostSummary, Response};

use super::admission::Admitted;

/// What the fd of a handed-over stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A `dup` of the child's TCP socket (plain text).
    Tcp,
    /// This shard's end of a socket pair carrying a TLS session's plaintext, relayed by
    /// the shard that terminates the session (`tls_relay`).
    TlsRelay,
}

/// One cross-shard message.
#[derive(Debug)]
pub enum Msg {
    /// An admitted STREAM connection for a host this shard owns. The fd is owned by the
    /// message; `early` holds bytes read after the request head.
    Stream {
        fd: RawFd,
        peer: SocketAddr,
        request: Box<StreamRequest>,
        admitted: Admitted,
        early: Vec<u8>,
        transport: Transport,
    },
    /// An API request for a host this shard owns; answer with `ApiReply` to `from`.
    Api {
        id: u64,
        from: usize,
        request: Box<ApiRequest>,
        machine_guid: String,
    },
    ApiReply {
        id: u64,
        response: Box<Response>,
    },
    /// `prometheus_all_hosts`: render every host of this shard; answer with `PartsReply`.
    PrometheusPart {
        id: u64,
        from: usize,
        request: Box<ApiRequest>,
    },
    /// Per host: (machine GUID, exposition text).
    PartsReply {
        id: u64,
        parts: Vec<(String, String)>,
    },
    /// A host appeared or changed (`Some`) or was removed (`None`): update the replica.
    Directory {
        machine_guid: String,
        summary: Option<HostSummary>,
    },
    /// Shard 0 owns the streaming rate limit: may a new stream be accepted now?
    RateAsk {
        id: u64,
        from: usize,
    },
    RateReply {
        id: u64,
        wait_secs: Option<u64>,
    },
    /// The counters of the receiving shard's dbengine; answer with `EngineStatsReply`.
    EngineStats {
        id: u64,
        from: usize,
    },
    EngineStatsReply {
        id: u64,
        stats: Box<EngineStats>,
    },
    /// The latency histograms of the receiving shard; answer with `LatencyReply`.
    Latency {
        id: u64,
        from: usize,
    },
    LatencyReply {
        id: u64,
        /// Unix seconds when the answering shard started.
        since: i64,
        histograms: Box<Histograms>,
    },
}
