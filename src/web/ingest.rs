//! `/api/v1/ingest` (strata's own, not a Netdata endpoint): what the addressed host has
//! received so far — charts, dimensions, samples collected from its children's
//! `BEGIN`…`END` blocks, and values kept by its memory mode. Load generators and tests
//! compare `values_collected` with the samples they sent to prove nothing was lost.
//!
//! Invariant: the counts come from the host model, so they mean the same whatever the
//! storage engine keeps.

use super::json::push_str;
use super::Response;
use crate::hosts::Host;

/// `/api/v1/ingest` for `host`.
pub fn render(host: &Host) -> Response {
    let mut o = String::with_capacity(256);
    o.push_str("{\n \"hostname\": ");
    push_str(&mut o, &host.info.hostname);
    o.push_str(",\n \"machine_guid\": ");
    push_str(&mut o, &host.info.machine_guid);
    o.push_str(&format!(
        ",\n \"connected\": {},\n \"memory_mode\": \"{}\",\n \"charts\": {},\n \"dimensions\": {},\n \"values_collected\": {},\n \"points_stored\": {}\n}}",
        host.connected || host.is_localhost,
        host.memory_mode.name(),
        host.charts.len(),
        host.dimension_count(),
        host.values_collected(),
        host.points_stored(),
    ));
    Response::json(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::collect;
    use crate::web::testutil::host_with_charts;
    use serde_json::Value;

    #[test]
    fn counts_follow_the_host_model() {
        let mut h = host_with_charts();
        let before: Value = serde_json::from_slice(&render(&h).body).unwrap();
        assert_eq!(before["hostname"], h.info.hostname.as_str());
        assert_eq!(before["charts"], h.charts.len() as u64);
        assert_eq!(before["dimensions"], h.dimension_count() as u64);
        assert_eq!(before["points_stored"], h.points_stored());
        let collected = before["values_collected"].as_u64().unwrap();
        let chart = &mut h.charts[0];
        let dims = chart.dims.len() as u64;
        collect::begin(chart, 0, 2_000_000_000_000);
        for d in chart.dims.iter_mut() {
            collect::set(d, 7);
        }
        collect::end(chart, 2_000_000_000_000);
        let after: Value = serde_json::from_slice(&render(&h).body).unwrap();
        assert_eq!(after["values_collected"].as_u64().unwrap(), collected + dims);
        assert!(dims > 0);
    }
}
