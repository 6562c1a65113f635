//! The HTTP API (`/api/v1/...`) of a Netdata v1.29.3 parent, as pure functions: request
//! parsing, routing, and one renderer per command. No sockets and no clock reads; the
//! connection loop hands in an [`ApiRequest`] and writes out the [`Response`].
//!
//! Two routing steps: [`target_of`] tells the shard that owns the connection which host
//! the URL addresses (`/host/<HOST>/…`); [`handle`] then runs on the shard owning that
//! host. Spec: health-api-export.md part B.

mod alarms;
pub mod allmetrics;
mod charts;
pub mod data;
pub mod dbengine;
mod http;
mod info;
mod ingest;
mod json;
pub mod latency;
pub mod number;
mod route;
mod url;

#[cfg(test)]
mod testutil;

use crate::hosts::Host;

pub use http::{parse_request, BAD_REQUEST};
pub use route::{
    api_command, find_host, handle, host_not_found, is_dbengine_stats, is_latency_stats, is_prometheus_all_hosts,
    load_spans, target_of,
};

/// Content types used by the API (B.0).
pub mod content_type {
    pub const JSON: &str = "application/json; charset=utf-8";
    pub const JAVASCRIPT: &str = "application/x-javascript; charset=utf-8";
    pub const TEXT: &str = "text/plain; charset=utf-8";
    pub const HTML: &str = "text/html; charset=utf-8";
    pub const SVG: &str = "image/svg+xml";
    pub const PROMETHEUS: &str = "text/plain; version=0.0.4";
}

/// What the HTTP connection loop hands to the API for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    pub method: String,
    /// Path and query, raw, as received.
    pub url: String,
    pub host_header: Option<String>,
    pub forwarded_host: Option<String>,
    pub origin: Option<String>,
    pub client_ip: String,
    /// Whether the connection stays open after the response (HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    pub keep_alive: bool,
}

impl ApiRequest {
    /// A GET request for `url` (convenience for callers and tests).
    pub fn get(url: &str) -> Self {
        ApiRequest {
            method: "GET".into(),
            url: url.into(),
            host_header: None,
            forwarded_host: None,
            origin: None,
            client_ip: "127.0.0.1".into(),
            keep_alive: true,
        }
    }
}

/// A response, serialisable to HTTP/1.1 bytes with [`Response::to_http`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// `Cache-Control: public` instead of the no-cache set. The API sends `false` always.
    pub cacheable: bool,
    /// Extra headers: `Location`, `Content-Disposition`, CORS preflight headers, …
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// A non-cacheable response.
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Response { status, content_type, body: body.into(), cacheable: false, headers: Vec::new() }
    }

    /// 200 `application/json`.
    pub fn json(body: impl Into<Vec<u8>>) -> Self {
        Self::new(200, content_type::JSON, body)
    }

    /// A `text/plain` message (fixed error texts).
    pub fn text(status: u16, msg: &str) -> Self {
        Self::new(status, content_type::TEXT, msg)
    }

    /// A `text/html` message; `msg` must already be HTML-escaped where it carries input.
    pub fn html(status: u16, msg: &str) -> Self {
        Self::new(status, content_type::HTML, msg)
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The value of an extra header, if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy), for logs and tests.
    pub fn body_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

/// First routing step: which host does the URL address?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The agent's own host (no `/host/` prefix).
    Local,
    /// The `<HOST>` segment of `/host/<HOST>/…`, URL-decoded; resolve with [`find_host`].
    Host(String),
    /// Answered without any host (OPTIONS, malformed URL).
    Done(Response),
}

/// A summary of every host of the agent (all shards), for `mirrored_hosts`, host lists
/// and host lookup by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSummary {
    pub hostname: String,
    /// Lower-case machine GUID.
    pub guid: String,
    pub reachable: bool,
    pub claim_id: Option<String>,
    pub hops: i64,
    pub is_localhost: bool,
    pub created_seq: u64,
}

/// What the API needs besides the addressed host.
#[derive(Debug, Clone, Copy)]
pub struct ApiContext<'a> {
    /// Localhost first, then children in the order to list.
    pub hosts: &'a [HostSummary],
    /// Unix seconds.
    pub now: i64,
    /// strata's own version string (reported as localhost's version).
    pub version: &'a str,
    /// The dbengine counters summed over every shard, when the runtime gathered them
    /// (shown by `/api/v1/info` for a `dbengine` host).
    pub dbengine: Option<strata_storage::dbengine::EngineStats>,
}

/// The program version reported for `host`: our own for localhost, else what the child
/// announced.
fn host_version<'a>(host: &'a Host, ctx: &ApiContext<'a>) -> &'a str {
    if host.is_localhost {
        ctx.version
    } else {
        &host.info.program_version
    }
}
