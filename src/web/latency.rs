//! `/api/v1/latency` (a strata extension): the latency histograms of every shard and
//! their merge, as JSON (the shape is [`Report`]). Pure rendering; the runtime gathers
//! the histograms.

use crate::latency::report::Report;

use super::Response;

/// The endpoint's body.
pub fn render(report: &Report) -> Response {
    match serde_json::to_vec_pretty(report) {
        Ok(body) => Response::json(body),
        Err(e) => Response::text(500, &format!("cannot render the latency report: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;

    use super::*;
    use crate::latency::report::ShardHistograms;
    use crate::latency::{Histograms, Kind};
    use crate::web::{is_latency_stats, ApiRequest};

    #[test]
    fn serves_merged_and_per_shard_figures() {
        let mut h = Histograms::default();
        h.record(Kind::Flush, Duration::from_millis(1));
        let shards = [
            ShardHistograms { shard: 0, since: 100, histograms: h.clone() },
            ShardHistograms { shard: 1, since: 90, histograms: h },
        ];
        let r = render(&Report::build(&shards, 160).0);
        assert_eq!((r.status, r.content_type), (200, crate::web::content_type::JSON));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["merged"]["flush"]["count"], 2);
        assert_eq!(v["merged"]["flush"]["p50"], 1000, "microseconds");
        assert_eq!(v["shards"][1]["flush"]["count"], 1);
        assert_eq!(v["since"], 90);
        assert_eq!(v["unit"], "microseconds");
    }

    #[test]
    fn the_route_matches_the_endpoint_only() {
        assert!(is_latency_stats(&ApiRequest::get("/api/v1/latency")));
        assert!(is_latency_stats(&ApiRequest::get("/host/child/api/v1/latency")));
        assert!(!is_latency_stats(&ApiRequest::get("/api/v1/latencyx")));
        assert!(!is_latency_stats(&ApiRequest::get("/api/v1/dbengine")));
        let mut post = ApiRequest::get("/api/v1/latency");
        post.method = "POST".into();
        assert!(!is_latency_stats(&post));
    }
}
