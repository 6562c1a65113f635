//! `/api/v1/charts` and `/api/v1/chart?chart=` (B.2): the host summary with every
//! viewable chart, and the chart object.

use std::fmt::Write;

use super::json::{html_escape, push_str};
use super::number::fixed5;
use super::url::Query;
use super::{host_version, ApiContext, Response};
use crate::hosts::{Chart, Host, MemoryMode};

/// A chart by id, then by name. Hosts without a database have none.
pub fn find_chart<'a>(host: &'a Host, key: &str) -> Option<&'a Chart> {
    if host.memory_mode == MemoryMode::None {
        return None;
    }
    let by_index = |i: Option<&usize>| i.and_then(|&i| host.charts.get(i));
    host.chart_idx(key.as_bytes())
        .and_then(|i| host.charts.get(i))
        .filter(|c| c.id == key)
        .or_else(|| host.charts.iter().find(|c| c.id == key))
        .or_else(|| by_index(host.chart_names.get(key)).filter(|c| c.name == key))
        .or_else(|| host.charts.iter().find(|c| c.name == key))
}

/// Whether a chart is listed and exported: not hidden, not obsolete, has dimensions,
/// and the host keeps a database.
pub fn viewable(host: &Host, c: &Chart) -> bool {
    !c.hidden && !c.obsolete && !c.dims.is_empty() && host.memory_mode != MemoryMode::None
}

/// Appends the chart object; returns the number of dimensions listed.
fn push_chart(out: &mut String, c: &Chart, indent: &str) -> usize {
    let first = c.store.first_time().unwrap_or(0);
    let last = c.store.last_time().unwrap_or(0);
    let i = indent;
    let _ = write!(out, "{{\n{i} \"id\": ");
    push_str(out, &c.id);
    let _ = write!(out, ",\n{i} \"name\": ");
    push_str(out, &c.name);
    let _ = write!(out, ",\n{i} \"type\": ");
    push_str(out, &c.type_);
    let _ = write!(out, ",\n{i} \"family\": ");
    push_str(out, &c.family);
    let _ = write!(out, ",\n{i} \"context\": ");
    push_str(out, &c.context);
    let _ = write!(out, ",\n{i} \"title\": ");
    push_str(out, &format!("{} ({})", c.title, c.name));
    let _ = write!(out, ",\n{i} \"priority\": {},\n{i} \"plugin\": ", c.priority);
    push_str(out, &c.plugin);
    let _ = write!(out, ",\n{i} \"module\": ");
    push_str(out, c.module.as_deref().unwrap_or(""));
    let _ = write!(out, ",\n{i} \"enabled\": true,\n{i} \"units\": ");
    push_str(out, &c.units);
    let _ = write!(out, ",\n{i} \"data_url\": ");
    push_str(out, &format!("/api/v1/data?chart={}", c.name));
    let _ = write!(out, ",\n{i} \"chart_type\": ");
    push_str(out, c.chart_type.name());
    let ue = i64::from(c.update_every);
    let _ = write!(
        out,
        ",\n{i} \"duration\": {},\n{i} \"first_entry\": {first},\n{i} \"last_entry\": {last},\n{i} \"update_every\": {ue},\n{i} \"dimensions\": {{",
        last - first + ue
    );
    let mut n = 0;
    for d in c.dims.iter().filter(|d| !d.hidden && !d.obsolete) {
        out.push_str(if n == 0 { "\n" } else { ",\n" });
        let _ = write!(out, "{i}  ");
        push_str(out, d.id());
        out.push_str(": { \"name\": ");
        push_str(out, d.name());
        out.push_str(" }");
        n += 1;
    }
    let _ = write!(out, "\n{i} }},\n{i} \"chart_variables\": {{");
    for (k, v) in c.variables.iter().enumerate() {
        out.push_str(if k == 0 { "\n" } else { ",\n" });
        let _ = write!(out, "{i}  ");
        push_str(out, &v.name);
        let _ = write!(out, ": {}", fixed5(v.value));
    }
    let _ = write!(
        out,
        "\n{i} }},\n{i} \"green\": null,\n{i} \"red\": null,\n{i} \"alarms\": {{\n{i} }},\n{i} \"chart_labels\": {{"
    );
    for (k, l) in c.labels.iter().enumerate() {
        out.push_str(if k == 0 { "\n" } else { ",\n" });
        let _ = write!(out, "{i}  ");
        push_str(out, &l.name);
        out.push_str(": ");
        push_str(out, &l.value);
    }
    let _ = write!(out, "\n{i} }}\n{i}}}");
    n
}

/// `/api/v1/chart?chart=ID_OR_NAME`.
pub fn chart(host: &Host, _ctx: &ApiContext, q: &Query) -> Response {
    let Some(key) = q.get("chart") else {
        return Response::text(400, "No chart id is given at the request.");
    };
    match find_chart(host, key) {
        Some(c) => {
            let mut out = String::with_capacity(1024);
            push_chart(&mut out, c, "");
            Response::json(out)
        }
        None => Response::html(404, &format!("Chart is not found: {}", html_escape(key))),
    }
}

/// `/api/v1/charts`.
pub fn charts(host: &Host, ctx: &ApiContext) -> Response {
    let mut out = String::with_capacity(4096 + host.charts.len() * 1024);
    out.push_str("{\n \"hostname\": ");
    push_str(&mut out, &host.info.hostname);
    out.push_str(",\n \"version\": ");
    push_str(&mut out, host_version(host, ctx));
    out.push_str(",\n \"release_channel\": \"stable\",\n \"os\": ");
    push_str(&mut out, &host.info.os);
    out.push_str(",\n \"timezone\": ");
    push_str(&mut out, &host.info.timezone);
    let _ = write!(
        out,
        ",\n \"update_every\": {},\n \"history\": {},\n \"memory_mode\": \"{}\",\n \"custom_info\": \"\",\n \"charts\": {{",
        host.info.update_every,
        host.history,
        host.memory_mode.name()
    );
    let (mut charts, mut dims, mut memory) = (0usize, 0usize, 0usize);
    for c in host.charts.iter().filter(|c| viewable(host, c)) {
        out.push_str(if charts == 0 { "\n  " } else { ",\n  " });
        push_str(&mut out, &c.id);
        out.push_str(": ");
        dims += push_chart(&mut out, c, "  ");
        memory += c.store.memory_bytes();
        charts += 1;
    }
    let _ = write!(
        out,
        "\n }},\n \"charts_count\": {charts},\n \"dimensions_count\": {dims},\n \"alarms_count\": 0,\n \"rrd_memory_bytes\": {memory},\n \"hosts_count\": {},\n \"hosts\": [",
        ctx.hosts.len().max(1)
    );
    let names: Vec<&str> = if ctx.hosts.len() > 1 {
        ctx.hosts.iter().map(|h| h.hostname.as_str()).collect()
    } else {
        vec![host.info.hostname.as_str()]
    };
    for (k, n) in names.into_iter().enumerate() {
        out.push_str(if k == 0 { "\n  { \"hostname\": " } else { ",\n  { \"hostname\": " });
        push_str(&mut out, n);
        out.push_str(" }");
    }
    out.push_str("\n ]\n}");
    Response::json(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::testutil::{ctx_hosts, host_with_charts, summaries, T0};
    use crate::web::{handle, ApiRequest};
    use serde_json::{json, Value};

    fn get(url: &str) -> Response {
        let h = host_with_charts();
        let hs = summaries();
        handle(&ApiRequest::get(url), &h, &ctx_hosts(&hs))
    }

    #[test]
    fn chart_object_shape() {
        let r = get("/api/v1/chart?chart=system.cpu");
        assert_eq!((r.status, r.content_type), (200, crate::web::content_type::JSON));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        let expected = json!({
            "id": "system.cpu", "name": "system.cpu", "type": "system", "family": "cpu",
            "context": "system.cpu", "title": "Total CPU utilization (system.cpu)", "priority": 100,
            "plugin": "proc.plugin", "module": "/proc/stat", "enabled": true, "units": "percentage",
            "data_url": "/api/v1/data?chart=system.cpu", "chart_type": "stacked",
            "duration": 10, "first_entry": T0, "last_entry": T0 + 9, "update_every": 1,
            "dimensions": { "user": { "name": "user" }, "system": { "name": "system" } },
            "chart_variables": { "cpu_var": 2.0 },
            "green": null, "red": null, "alarms": {}, "chart_labels": { "cpu_group": "all" }
        });
        assert_eq!(v, expected);
        // key order follows Netdata's
        let text = r.body_str();
        let keys = [
            "\"id\"",
            "\"name\"",
            "\"type\"",
            "\"family\"",
            "\"context\"",
            "\"title\"",
            "\"priority\"",
            "\"plugin\"",
            "\"module\"",
            "\"enabled\"",
            "\"units\"",
            "\"data_url\"",
            "\"chart_type\"",
            "\"duration\"",
            "\"first_entry\"",
            "\"last_entry\"",
            "\"update_every\"",
            "\"dimensions\"",
            "\"chart_variables\"",
            "\"green\"",
            "\"red\"",
            "\"alarms\"",
            "\"chart_labels\"",
        ];
        let pos: Vec<usize> = keys.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.contains("\"chart_variables\": {\n  \"cpu_var\": 2.00000\n }"));
    }

    #[test]
    fn chart_lookup_by_name_and_errors() {
        let v: Value = serde_json::from_slice(&get("/api/v1/chart?chart=net.eth0_renamed").body).unwrap();
        assert_eq!(v["id"], "net.eth0");
        assert_eq!(v["data_url"], "/api/v1/data?chart=net.eth0_renamed");
        let r = get("/api/v1/chart");
        assert_eq!((r.status, r.body_str().as_ref()), (400, "No chart id is given at the request."));
        let r = get("/api/v1/chart?chart=no%3Cpe");
        assert_eq!((r.status, r.body_str().as_ref()), (404, "Chart is not found: no&lt;pe"));
    }

    #[test]
    fn charts_listing() {
        let r = get("/api/v1/charts");
        assert_eq!(r.status, 200);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["hostname"], "parent1");
        assert_eq!(v["version"], "v1.29.3-strata");
        assert_eq!(v["release_channel"], "stable");
        assert_eq!(v["os"], "linux");
        assert_eq!(v["timezone"], "Etc/UTC");
        assert_eq!((v["update_every"].as_i64(), v["history"].as_i64()), (Some(1), Some(3996)));
        assert_eq!(v["memory_mode"], "ram");
        assert_eq!(v["custom_info"], "");
        let charts = v["charts"].as_object().unwrap();
        assert_eq!(charts.keys().collect::<Vec<_>>(), vec!["net.eth0", "system.cpu"]);
        assert_eq!(v["charts_count"], 2);
        assert_eq!(v["dimensions_count"], 4);
        assert_eq!(v["alarms_count"], 0);
        assert!(v["rrd_memory_bytes"].as_u64().unwrap() > 0);
        assert_eq!(v["hosts_count"], 3);
        assert_eq!(v["hosts"], json!([{"hostname": "parent1"}, {"hostname": "child-b"}, {"hostname": "child-a"}]));
        assert_eq!(
            charts["system.cpu"],
            serde_json::from_slice::<Value>(&get("/api/v1/chart?chart=system.cpu").body).unwrap()
        );
        let text = r.body_str();
        assert!(text.find("\"charts\"").unwrap() < text.find("\"charts_count\"").unwrap());
    }

    #[test]
    fn memory_mode_none_has_no_charts() {
        let mut h = host_with_charts();
        h.memory_mode = MemoryMode::None;
        let hs = summaries();
        let ctx = ctx_hosts(&hs[..1]);
        let v: Value = serde_json::from_slice(&charts(&h, &ctx).body).unwrap();
        assert_eq!(v["charts"], json!({}));
        assert_eq!(v["hosts"], json!([{"hostname": "parent1"}]));
        assert_eq!(get_on(&h, "/api/v1/chart?chart=system.cpu").status, 404);
    }

    fn get_on(h: &Host, url: &str) -> Response {
        let hs = summaries();
        handle(&ApiRequest::get(url), h, &ctx_hosts(&hs))
    }
}
