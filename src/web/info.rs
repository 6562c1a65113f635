//! `/api/v1/info` (B.1): the v1.29.3 field set for the addressed host, plus every host
//! of the agent in `mirrored_hosts` / `mirrored_hosts_status` (the latter also carries
//! `hostname` and `hops`).

use super::json::{push_str, push_str_array};
use super::{host_version, ApiContext, Response};
use crate::hosts::{Host, MemoryMode};

/// System-info value: the first of `keys` that is set, else "".
fn sys<'a>(host: &'a Host, keys: &[&str]) -> &'a str {
    keys.iter().find_map(|k| host.info.system(k)).unwrap_or("")
}

fn field(out: &mut String, name: &str, value: &str) {
    out.push_str(",\n \"");
    out.push_str(name);
    out.push_str("\": ");
    push_str(out, value);
}

/// `/api/v1/info` for `host`.
pub fn render(host: &Host, ctx: &ApiContext) -> Response {
    let mut o = String::with_capacity(2048);
    o.push_str("{\n \"version\": ");
    push_str(&mut o, host_version(host, ctx));
    o.push_str(",\n \"uid\": ");
    push_str(&mut o, &host.info.machine_guid);
    o.push_str(",\n \"mirrored_hosts\": ");
    push_str_array(&mut o, ctx.hosts.iter().map(|h| h.hostname.as_str()));
    o.push_str(",\n \"mirrored_hosts_status\": [");
    for (i, h) in ctx.hosts.iter().enumerate() {
        o.push_str(if i == 0 { "\n  { \"guid\": " } else { ",\n  { \"guid\": " });
        push_str(&mut o, &h.guid);
        o.push_str(", \"hostname\": ");
        push_str(&mut o, &h.hostname);
        o.push_str(&format!(", \"reachable\": {}, \"hops\": {}, \"claim_id\": ", h.reachable, h.hops));
        match &h.claim_id {
            Some(c) => push_str(&mut o, c),
            None => o.push_str("null"),
        }
        o.push_str(" }");
    }
    o.push_str("\n ],\n \"alarms\": { \"normal\": 0, \"warning\": 0, \"critical\": 0 }");
    for (name, keys) in [
        ("os_name", ["NETDATA_HOST_OS_NAME", "NETDATA_SYSTEM_OS_NAME"]),
        ("os_id", ["NETDATA_HOST_OS_ID", "NETDATA_SYSTEM_OS_ID"]),
        ("os_id_like", ["NETDATA_HOST_OS_ID_LIKE", "NETDATA_SYSTEM_OS_ID_LIKE"]),
        ("os_version", ["NETDATA_HOST_OS_VERSION", "NETDATA_SYSTEM_OS_VERSION"]),
        ("os_version_id", ["NETDATA_HOST_OS_VERSION_ID", "NETDATA_SYSTEM_OS_VERSION_ID"]),
        ("os_detection", ["NETDATA_HOST_OS_DETECTION", "NETDATA_SYSTEM_OS_DETECTION"]),
    ] {
        field(&mut o, name, sys(host, &keys));
    }
    for (name, key) in [
        ("cores_total", "NETDATA_SYSTEM_CPU_LOGICAL_CPU_COUNT"),
        ("total_disk_space", "NETDATA_SYSTEM_TOTAL_DISK_SIZE"),
        ("cpu_freq", "NETDATA_SYSTEM_CPU_FREQ"),
        ("ram_total", "NETDATA_SYSTEM_TOTAL_RAM"),
    ] {
        field(&mut o, name, sys(host, &[key]));
    }
    // Only present when known.
    for (name, key) in [
        ("container_os_name", "NETDATA_CONTAINER_OS_NAME"),
        ("container_os_id", "NETDATA_CONTAINER_OS_ID"),
        ("container_os_id_like", "NETDATA_CONTAINER_OS_ID_LIKE"),
        ("container_os_version", "NETDATA_CONTAINER_OS_VERSION"),
        ("container_os_version_id", "NETDATA_CONTAINER_OS_VERSION_ID"),
        ("container_os_detection", "NETDATA_CONTAINER_OS_DETECTION"),
        ("is_k8s_node", "NETDATA_HOST_IS_K8S_NODE"),
    ] {
        if let Some(v) = host.info.system(key) {
            field(&mut o, name, v);
        }
    }
    for (name, key) in [
        ("kernel_name", "NETDATA_SYSTEM_KERNEL_NAME"),
        ("kernel_version", "NETDATA_SYSTEM_KERNEL_VERSION"),
        ("architecture", "NETDATA_SYSTEM_ARCHITECTURE"),
        ("virtualization", "NETDATA_SYSTEM_VIRTUALIZATION"),
        ("virt_detection", "NETDATA_SYSTEM_VIRT_DETECTION"),
        ("container", "NETDATA_SYSTEM_CONTAINER"),
        ("container_detection", "NETDATA_SYSTEM_CONTAINER_DETECTION"),
    ] {
        field(&mut o, name, sys(host, &[key]));
    }
    o.push_str(",\n \"host_labels\": {");
    for (i, l) in host.labels.iter().enumerate() {
        o.push_str(if i == 0 { "\n  " } else { ",\n  " });
        push_str(&mut o, &l.name);
        o.push_str(": ");
        push_str(&mut o, &l.value);
    }
    o.push_str("\n },\n \"collectors\": [");
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for c in host.charts.iter().filter(|c| super::charts::viewable(host, c)) {
        let pm = (c.plugin.as_str(), c.module.as_deref().unwrap_or(""));
        if seen.contains(&pm) {
            continue;
        }
        o.push_str(if seen.is_empty() { "\n  { \"plugin\": " } else { ",\n  { \"plugin\": " });
        push_str(&mut o, pm.0);
        o.push_str(", \"module\": ");
        push_str(&mut o, pm.1);
        o.push_str(" }");
        seen.push(pm);
    }
    o.push_str(
        "\n ],\n \"cloud-enabled\": false,\n \"cloud-available\": false,\n \"agent-claimed\": false,\n \"aclk-available\": false",
    );
    if let (MemoryMode::DbEngine, Some(s)) = (host.memory_mode, &ctx.dbengine) {
        // strata only: the agent's dbengine in a few numbers (all of /api/v1/dbengine
        // for the details).
        o.push_str(&format!(
            ",\n \"dbengine\": {{ \"files_attached\": {}, \"page_cache_size_bytes\": {}, \"page_cache_used_bytes\": {}, \"dirty_bytes\": {}, \"flush_backlog_bytes\": {}, \"open_blocks_bytes\": {}, \"values_sealed\": {}, \"bytes_per_sample\": {:.3}, \"disk_bytes_written\": {}, \"datafiles\": {}, \"datafiles_bytes\": {}, \"dropped_values\": {} }}",
            s.files_attached,
            s.cache_limit_bytes,
            s.cache_used_bytes,
            s.cache_dirty_bytes,
            s.flush_backlog_bytes,
            s.open_bytes,
            s.values_sealed,
            s.encoded_bytes_per_sample,
            s.files.bytes_written,
            s.files.datafiles,
            s.files.datafile_bytes,
            s.dropped_values
        ));
    }
    o.push_str("\n}");
    Response::json(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::testutil::{ctx_hosts, host_with_charts, summaries};
    use serde_json::{json, Value};

    #[test]
    fn info_fields_in_order() {
        let h = host_with_charts();
        let hs = summaries();
        let r = render(&h, &ctx_hosts(&hs));
        assert_eq!((r.status, r.content_type), (200, crate::web::content_type::JSON));
        assert!(!r.cacheable);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        let expected = json!({
            "version": "v1.29.3-strata",
            "uid": "6b1f0000-0000-0000-0000-000000000001",
            "mirrored_hosts": ["parent1", "child-b", "child-a"],
            "mirrored_hosts_status": [
                { "guid": "6b1f0000-0000-0000-0000-000000000001", "hostname": "parent1", "reachable": true, "hops": 0, "claim_id": null },
                { "guid": "1c0e0000-0000-0000-0000-000000000002", "hostname": "child-b", "reachable": true, "hops": 1, "claim_id": null },
                { "guid": "9a7d0000-0000-0000-0000-000000000003", "hostname": "child-a", "reachable": false, "hops": 1, "claim_id": null }
            ],
            "alarms": { "normal": 0, "warning": 0, "critical": 0 },
            "os_name": "Debian GNU/Linux", "os_id": "debian", "os_id_like": "", "os_version": "11 (bullseye)",
            "os_version_id": "11", "os_detection": "/etc/os-release", "cores_total": "8",
            "total_disk_space": "", "cpu_freq": "", "ram_total": "16663842816",
            "kernel_name": "Linux", "kernel_version": "5.10.0-8-amd64", "architecture": "x86_64",
            "virtualization": "none", "virt_detection": "", "container": "none", "container_detection": "",
            "host_labels": { "_os_name": "Debian GNU/Linux", "room": "lab \"1\"" },
            "collectors": [ { "plugin": "proc.plugin", "module": "/proc/stat" }, { "plugin": "proc.plugin", "module": "/proc/net/dev" } ],
            "cloud-enabled": false, "cloud-available": false, "agent-claimed": false, "aclk-available": false
        });
        assert_eq!(v, expected);
        let text = r.body_str();
        let order = [
            "\"version\"",
            "\"uid\"",
            "\"mirrored_hosts\"",
            "\"mirrored_hosts_status\"",
            "\"alarms\"",
            "\"os_name\"",
            "\"os_detection\"",
            "\"cores_total\"",
            "\"ram_total\"",
            "\"kernel_name\"",
            "\"container_detection\"",
            "\"host_labels\"",
            "\"collectors\"",
            "\"cloud-enabled\"",
            "\"aclk-available\"",
        ];
        let pos: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn dbengine_object_for_dbengine_hosts_only() {
        let mut h = host_with_charts();
        let hs = summaries();
        let mut ctx = ctx_hosts(&hs);
        let stats = strata_storage::dbengine::EngineStats {
            cache_limit_bytes: 33_554_432,
            cache_dirty_bytes: 10,
            values_sealed: 99,
            encoded_bytes_per_sample: 1.25,
            ..Default::default()
        };
        ctx.dbengine = Some(stats);
        let v: Value = serde_json::from_slice(&render(&h, &ctx).body).unwrap();
        assert!(v.get("dbengine").is_none(), "a ram host");
        h.memory_mode = MemoryMode::DbEngine;
        let v: Value = serde_json::from_slice(&render(&h, &ctx).body).unwrap();
        assert_eq!(v["dbengine"]["page_cache_size_bytes"], 33_554_432);
        assert_eq!(v["dbengine"]["dirty_bytes"], 10);
        assert_eq!(v["dbengine"]["values_sealed"], 99);
        assert_eq!(v["dbengine"]["bytes_per_sample"], 1.25);
        assert_eq!(v["dbengine"]["files_attached"], false);
        ctx.dbengine = None;
        let v: Value = serde_json::from_slice(&render(&h, &ctx).body).unwrap();
        assert!(v.get("dbengine").is_none(), "not gathered");
    }

    #[test]
    fn child_version_container_fields_and_claim() {
        let mut h = host_with_charts();
        h.is_localhost = false;
        h.info.program_version = "v1.37.1".into();
        h.info.system_info.push(("NETDATA_CONTAINER_OS_NAME".into(), "Alpine".into()));
        let mut hs = summaries();
        hs[1].claim_id = Some("abc".into());
        let v: Value = serde_json::from_slice(&render(&h, &ctx_hosts(&hs)).body).unwrap();
        assert_eq!(v["version"], "v1.37.1");
        assert_eq!(v["container_os_name"], "Alpine");
        assert!(v.get("container_os_id").is_none());
        assert!(v.get("is_k8s_node").is_none());
        assert_eq!(v["mirrored_hosts_status"][1]["claim_id"], "abc");
        let text = String::from_utf8(render(&h, &ctx_hosts(&hs)).body).unwrap();
        assert!(text.find("\"ram_total\"").unwrap() < text.find("\"container_os_name\"").unwrap());
        assert!(text.find("\"container_os_name\"").unwrap() < text.find("\"kernel_name\"").unwrap());
    }
}
