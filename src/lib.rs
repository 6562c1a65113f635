//! strata: a Netdata-compatible metrics streaming server, thread-per-core.
//!
//! Layers, from the wire inwards: `stream` (pure protocol: tokenizer, commands, handshake,
//! version negotiation, encoder), `pattern` (Netdata simple patterns), `config`
//! (netdata.conf / stream.conf), `hosts` (per-shard host registry and the collected →
//! stored value algorithm), `shard` (glommio executors, listeners, receivers, cross-shard
//! messages, orphan cleanup, upstream forwarding), `sender` (streaming a host upstream:
//! queue, handshake, definitions, reconnects), `tls` (rustls server and client
//! configurations, the per-port TLS policy), `web` (the HTTP API), `latency` (the server's
//! HdrHistograms and their report), `report` (the `strata report` client), `log` (error
//! and access logs in Netdata's shapes), `resident` (dropping the headless collector's
//! resident code pages).

pub mod collectors;
pub mod config;
pub mod hosts;
pub mod latency;
pub mod localhost;
pub mod log;
pub mod pattern;
pub mod report;
pub mod resident;
pub mod sender;
pub mod shard;
pub mod stream;
pub mod tls;
pub mod web;
