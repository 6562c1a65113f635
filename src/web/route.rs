//! Routing (B.0, B.0.1): OPTIONS preflight, the `/host/<HOST>/` prefix (lookup, 308
//! redirect, nesting error), `/api/<version>/<command>` and the per-command handlers.

use super::json::html_escape;
use super::url::{self, Query};
use super::{alarms, allmetrics, charts, data, info, ingest};
use super::{http, ApiContext, ApiRequest, HostSummary, Response, Target};
use crate::hosts::Host;

/// A URL split for routing.
#[derive(Debug)]
struct Split<'a> {
    /// `<HOST>` of a `/host/<HOST>` prefix, decoded.
    host: Option<String>,
    /// `/host/<HOST>` with nothing after it (not even `/`): answered with a redirect.
    redirect: bool,
    /// Decoded, non-empty path segments after any host prefix.
    rest: Vec<String>,
    path: &'a str,
    query: &'a str,
}

fn split(req: &ApiRequest) -> Result<Split<'_>, Response> {
    let (path, query) = url::split_path_query(&req.url);
    if !path.starts_with('/') {
        return Err(Response::text(400, http::BAD_URL));
    }
    let mut segs = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        segs.push(url::decode(raw).ok_or_else(|| Response::text(400, http::BAD_URL))?);
    }
    if segs.first().map(String::as_str) != Some("host") {
        return Ok(Split { host: None, redirect: false, rest: segs, path, query });
    }
    let Some(name) = segs.get(1).cloned() else {
        return Err(Response::text(400, "Invalid host request"));
    };
    // Raw text after `/host/<name>`: empty means no trailing `/`.
    let after_host = path.trim_start_matches('/');
    let after_host = after_host.split_once('/').map_or("", |(_, rest)| rest).trim_start_matches('/');
    let redirect = !after_host.contains('/');
    Ok(Split { host: Some(name), redirect, rest: segs.split_off(2), path, query })
}

/// The answer to an OPTIONS (CORS preflight) request, for any path.
fn options_response() -> Response {
    Response::text(200, "OK")
        .with_header("Access-Control-Allow-Methods", "GET, OPTIONS")
        .with_header(
            "Access-Control-Allow-Headers",
            "accept, x-requested-with, origin, content-type, cookie, pragma, cache-control, x-auth-token",
        )
        .with_header("Access-Control-Max-Age", "1209600")
}

/// First routing step: which host does the URL address? OPTIONS and malformed URLs are
/// answered here. The `/host/<HOST>` redirect and the nesting error come from
/// [`handle`], after the host was found (Netdata answers an unknown host with 404 first).
pub fn target_of(req: &ApiRequest) -> Target {
    if req.method == "OPTIONS" {
        return Target::Done(options_response());
    }
    match split(req) {
        Err(r) => Target::Done(r),
        Ok(Split { host: None, .. }) => Target::Local,
        Ok(Split { host: Some(h), .. }) => Target::Host(h),
    }
}

/// Host lookup (B.0.1): `localhost`, then an exact hostname (in list order: localhost,
/// then children), then a machine GUID (case-insensitive input).
pub fn find_host<'a>(hosts: &'a [HostSummary], name: &str) -> Option<&'a HostSummary> {
    if name == "localhost" {
        if let Some(h) = hosts.iter().find(|h| h.is_localhost) {
            return Some(h);
        }
    }
    if let Some(h) = hosts.iter().find(|h| h.hostname == name) {
        return Some(h);
    }
    let lower = name.to_ascii_lowercase();
    hosts.iter().find(|h| h.guid == lower)
}

/// Whether `req` asks for `/api/v1/allmetrics?format=prometheus_all_hosts` (under any
/// `/host/<HOST>/` prefix): that answer covers every host of the agent, on every shard.
pub fn is_prometheus_all_hosts(req: &ApiRequest) -> bool {
    if req.method != "GET" {
        return false;
    }
    let Ok(s) = split(req) else { return false };
    if s.host.is_some() && s.redirect {
        return false;
    }
    s.rest.iter().map(String::as_str).eq(["api", "v1", "allmetrics"])
        && Query::parse(s.query).get("format") == Some("prometheus_all_hosts")
}

/// 404 for an unknown `/host/<HOST>`.
pub fn host_not_found(name: &str) -> Response {
    Response::html(404, &format!("This netdata does not maintain a database for host: {}", html_escape(name)))
}

/// The `/api/v1/<command>` a request names (after any `/host/<HOST>/` prefix).
pub fn api_command(req: &ApiRequest) -> Option<String> {
    let s = split(req).ok()?;
    match s.rest.as_slice() {
        [api, v1, cmd, ..] if api == "api" && v1 == "v1" => Some(cmd.clone()),
        _ => None,
    }
}

/// `/api/v1/dbengine` (any `/host/<HOST>/` prefix too): agent-wide engine counters,
/// answered by the runtime with [`super::dbengine::render`].
pub fn is_dbengine_stats(req: &ApiRequest) -> bool {
    is_agent_get(req, "dbengine")
}

/// `/api/v1/latency` (any `/host/<HOST>/` prefix too): agent-wide latency histograms,
/// answered by the runtime with [`super::latency::render`].
pub fn is_latency_stats(req: &ApiRequest) -> bool {
    is_agent_get(req, "latency")
}

/// A GET of exactly `/api/v1/<command>`, under any `/host/<HOST>/` prefix (an
/// agent-wide endpoint answered by the runtime, whatever host the URL names).
fn is_agent_get(req: &ApiRequest, command: &str) -> bool {
    req.method == "GET" && split(req).is_ok_and(|s| s.rest.iter().map(String::as_str).eq(["api", "v1", command]))
}

/// Slots of an allmetrics scrape window that are loaded before serving (per chart).
const ALLMETRICS_LOAD_SLOTS: i64 = 120;

/// The stored ranges [`handle`] will read for `req` on `host`, so that the runtime can
/// bring them into memory first (dbengine charts only; empty otherwise).
pub fn load_spans(req: &ApiRequest, host: &Host) -> Vec<strata_storage::LoadSpan> {
    let Ok(s) = split(req) else { return Vec::new() };
    match s.rest.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["api", "v1", "data"] => data::load_spans(host, &Query::parse(s.query)),
        ["api", "v1", "allmetrics"] => host
            .charts
            .iter()
            .filter_map(|c| {
                let last = c.store.last_time()?;
                let ue = i64::from(c.update_every.max(1));
                c.store.load_span(last - ALLMETRICS_LOAD_SLOTS * ue, last)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Second step, on the shard owning `host`: serves the request (the part after any
/// `/host/<HOST>` prefix).
pub fn handle(req: &ApiRequest, host: &Host, ctx: &ApiContext) -> Response {
    if req.method == "OPTIONS" {
        return options_response();
    }
    if req.method != "GET" {
        return Response::text(400, http::BAD_REQUEST);
    }
    let s = match split(req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if s.host.is_some() {
        if s.redirect {
            return redirect(req, &s);
        }
        if s.rest.first().map(String::as_str) == Some("host") {
            return Response::text(400, "Nesting of hosts is not allowed.");
        }
    }
    let q = Query::parse(s.query);
    match s.rest.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["api"] => Response::text(400, "Which API version?"),
        ["api", "v1"] => Response::text(400, "Which API v1 command?"),
        ["api", "v1", cmd, ..] => command(cmd, &q, req, host, ctx),
        ["api", v, ..] => Response::html(404, &format!("Unsupported API version: {}", html_escape(v))),
        _ => Response::html(404, &format!("File does not exist, or is not accessible: {}", html_escape(s.path))),
    }
}

/// 308 to the same URL with a `/` after the host segment.
fn redirect(req: &ApiRequest, s: &Split) -> Response {
    let authority = req.forwarded_host.as_deref().or(req.host_header.as_deref()).filter(|a| !a.is_empty());
    let mut location = match authority {
        Some(a) => format!("http://{a}{}/", s.path),
        None => format!("{}/", s.path),
    };
    if !s.query.is_empty() || req.url.contains('?') {
        location.push('?');
        location.push_str(s.query);
    }
    Response::html(308, "Permanent redirect").with_header("Location", &location)
}

fn command(cmd: &str, q: &Query, req: &ApiRequest, host: &Host, ctx: &ApiContext) -> Response {
    match cmd {
        "info" => info::render(host, ctx),
        "ingest" => ingest::render(host),
        "charts" => charts::charts(host, ctx),
        "chart" => charts::chart(host, ctx, q),
        "data" => data::handle(host, q),
        "allmetrics" => allmetrics::handle(host, ctx, q, &req.client_ip),
        "archivedcharts" => Response::json("{}"),
        "alarms" | "alarms_values" | "alarm_log" | "alarm_count" | "alarm_variables" => {
            alarms::handle(cmd, host, ctx, q)
        }
        _ => Response::html(404, &format!("Unsupported v1 API command: {}", html_escape(cmd))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::testutil::{ctx_hosts, host_with_charts, summaries};

    fn body(r: &Response) -> String {
        r.body_str().into_owned()
    }

    #[test]
    fn options_any_path() {
        let mut req = ApiRequest::get("/whatever/x");
        req.method = "OPTIONS".into();
        let Target::Done(r) = target_of(&req) else { panic!("options must be answered") };
        assert_eq!((r.status, body(&r).as_str()), (200, "OK"));
        assert_eq!(r.header("Access-Control-Allow-Methods"), Some("GET, OPTIONS"));
        assert_eq!(
            r.header("Access-Control-Allow-Headers"),
            Some("accept, x-requested-with, origin, content-type, cookie, pragma, cache-control, x-auth-token")
        );
        assert_eq!(r.header("Access-Control-Max-Age"), Some("1209600"));
        let h = host_with_charts();
        let hs = summaries();
        assert_eq!(handle(&req, &h, &ctx_hosts(&hs)).status, 200);
    }

    #[test]
    fn targets() {
        assert_eq!(target_of(&ApiRequest::get("/api/v1/info")), Target::Local);
        assert_eq!(target_of(&ApiRequest::get("/host/c%201/api/v1/info")), Target::Host("c 1".into()));
        assert_eq!(target_of(&ApiRequest::get("/host/c1")), Target::Host("c1".into()));
        let Target::Done(r) = target_of(&ApiRequest::get("/api/%FF")) else { panic!() };
        assert_eq!((r.status, body(&r).as_str()), (400, http::BAD_URL));
        let Target::Done(r) = target_of(&ApiRequest::get("/host/")) else { panic!() };
        assert_eq!(r.status, 400);
    }

    #[test]
    fn host_lookup_order() {
        let hs = summaries();
        assert_eq!(find_host(&hs, "localhost").map(|h| h.hostname.as_str()), Some("parent1"));
        assert_eq!(find_host(&hs, "child-a").map(|h| h.guid.as_str()), Some("9a7d0000-0000-0000-0000-000000000003"));
        assert_eq!(
            find_host(&hs, "9A7D0000-0000-0000-0000-000000000003").map(|h| h.hostname.as_str()),
            Some("child-a")
        );
        assert!(find_host(&hs, "Child-A").is_none(), "hostnames are case-sensitive");
        let r = host_not_found("<x>");
        assert_eq!(r.status, 404);
        assert_eq!(r.content_type, crate::web::content_type::HTML);
        assert_eq!(body(&r), "This netdata does not maintain a database for host: &lt;x&gt;");
    }

    #[test]
    fn host_prefix_redirect_and_nesting() {
        let h = host_with_charts();
        let hs = summaries();
        let ctx = ctx_hosts(&hs);
        let mut req = ApiRequest::get("/host/c1");
        req.host_header = Some("parent:19999".into());
        let r = handle(&req, &h, &ctx);
        assert_eq!((r.status, body(&r).as_str()), (308, "Permanent redirect"));
        assert_eq!(r.header("Location"), Some("http://parent:19999/host/c1/"));
        req.forwarded_host = Some("proxy.example".into());
        req.url = "/host/c1?a=b".into();
        assert_eq!(handle(&req, &h, &ctx).header("Location"), Some("http://proxy.example/host/c1/?a=b"));

        let r = handle(&ApiRequest::get("/host/c1/host/c2/api/v1/info"), &h, &ctx);
        assert_eq!((r.status, body(&r).as_str()), (400, "Nesting of hosts is not allowed."));

        let r = handle(&ApiRequest::get("/host/c1/api/v1/info"), &h, &ctx);
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type, crate::web::content_type::JSON);
    }

    #[test]
    fn api_version_and_command_errors() {
        let h = host_with_charts();
        let hs = summaries();
        let ctx = ctx_hosts(&hs);
        let get = |u: &str| handle(&ApiRequest::get(u), &h, &ctx);
        let r = get("/api/v1/nope");
        assert_eq!((r.status, body(&r).as_str()), (404, "Unsupported v1 API command: nope"));
        let r = get("/api/v1/%3Cb%3E");
        assert_eq!(body(&r), "Unsupported v1 API command: &lt;b&gt;");
        let r = get("/api/v2/info");
        assert_eq!((r.status, body(&r).as_str()), (404, "Unsupported API version: v2"));
        let r = get("/api");
        assert_eq!((r.status, body(&r).as_str()), (400, "Which API version?"));
        let r = get("/api/v1/");
        assert_eq!((r.status, body(&r).as_str()), (400, "Which API v1 command?"));
        assert_eq!(get("//api//v1//info").status, 200, "empty segments are skipped");
        assert_eq!(get("/index.html").status, 404);
    }
}
