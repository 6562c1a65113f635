//! `/api/v1/data` (B.3): parameters → chart lookup → fixed-step query → format.
//! [`query::query`] is reusable on its own (health lookups are `points=1` queries).

pub mod dims;
pub mod format;
pub mod params;
pub mod query;
pub mod window;

use crate::hosts::Host;
use crate::web::charts::find_chart;
use crate::web::json::html_escape;
use crate::web::url::Query;
use crate::web::Response;

pub use params::{DataParams, Format, Grouping, Options};
pub use query::{QueryRequest, QueryResult};

/// The stored range `/api/v1/data` will read for `q` (to load it from disk first).
pub fn load_spans(host: &Host, q: &Query) -> Vec<strata_storage::LoadSpan> {
    let p = DataParams::from_query(q);
    let Some(chart) = p.chart.as_deref().and_then(|key| find_chart(host, key)) else { return Vec::new() };
    let req = QueryRequest {
        after: p.after,
        before: p.before,
        points: p.points,
        group: p.group,
        gtime: p.gtime,
        options: p.options,
        dimensions: p.dimensions.as_deref(),
    };
    query::span(chart, &req).and_then(|(from, to)| chart.store.load_span(from, to)).into_iter().collect()
}

/// Serves `/api/v1/data` for `host`.
pub fn handle(host: &Host, q: &Query) -> Response {
    let p = DataParams::from_query(q);
    let Some(key) = p.chart.as_deref() else {
        return match p.context.as_deref() {
            Some(ctx) => context_query(host, ctx),
            None => Response::text(400, "No chart id is given at the request."),
        };
    };
    let Some(chart) = find_chart(host, key) else {
        return Response::html(404, &format!("Chart is not found: {}", html_escape(key)));
    };
    let req = QueryRequest {
        after: p.after,
        before: p.before,
        points: p.points,
        group: p.group,
        gtime: p.gtime,
        options: p.options,
        dimensions: p.dimensions.as_deref(),
    };
    let result = query::query(chart, &req);
    let mut resp = format::render(chart, &result, p.format, p.options, &p.callback, p.tqx.as_ref());
    let filename = p.filename.clone().or_else(|| p.tqx.as_ref().and_then(|t| t.out_file_name.clone()));
    if let Some(f) = filename {
        resp = resp.with_header("Content-Disposition", &format!("attachment; filename=\"{f}\""));
    }
    resp
}

/// `context=` composite queries are not supported yet: an unknown context is 404 as in
/// Netdata, a known one 400 asking for `chart=`.
fn context_query(host: &Host, ctx: &str) -> Response {
    let known = host.memory_mode != crate::hosts::MemoryMode::None && host.charts.iter().any(|c| c.context == ctx);
    if known {
        Response::text(400, "Context queries are not supported; use chart=.")
    } else {
        Response::html(404, &format!("Context is not found: {}", html_escape(ctx)))
    }
}

#[cfg(test)]
mod tests;
