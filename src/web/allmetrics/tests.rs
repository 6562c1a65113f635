//! allmetrics: shell, json and prometheus bodies for the test host.

use serde_json::Value;

use super::*;
use crate::web::testutil::{ctx_hosts, host_with_charts, summaries, T0};
use crate::web::{handle as route, ApiRequest};

fn get(url: &str) -> Response {
    let h = host_with_charts();
    let hs = summaries();
    route(&ApiRequest::get(url), &h, &ctx_hosts(&hs))
}

#[test]
fn shell_format() {
    let r = get("/api/v1/allmetrics");
    assert_eq!((r.status, r.content_type), (200, content_type::TEXT));
    assert_eq!(get("/api/v1/allmetrics?format=shell").body, r.body);
    // cpu: user 9.5 ⇒ 10, system 18, hidden guest 1 (not in the total)
    // net: received 100, sent -50 negated (negative multiplier) ⇒ 50
    assert_eq!(
        r.body_str(),
        "\n# chart: system.cpu (name: system.cpu)\n\
         NETDATA_SYSTEM_CPU_USER=\"10\"      # percentage\n\
         NETDATA_SYSTEM_CPU_SYSTEM=\"18\"      # percentage\n\
         NETDATA_SYSTEM_CPU_GUEST=\"1\"      # percentage\n\
         NETDATA_SYSTEM_CPU_VISIBLETOTAL=\"28\"      # percentage\n\
         \n# chart: net.eth0 (name: net.eth0_renamed)\n\
         NETDATA_NET_ETH0_RENAMED_RECEIVED=\"100\"      # kilobits/s\n\
         NETDATA_NET_ETH0_RENAMED_SENT=\"50\"      # kilobits/s\n\
         NETDATA_NET_ETH0_RENAMED_VISIBLETOTAL=\"150\"      # kilobits/s\n\
         \n# NETDATA ALARMS RUNNING\n"
    );
}

#[test]
fn shell_gap_is_empty_string() {
    let mut h = host_with_charts();
    h.charts[0].store.append(T0 + 10, &[Sample::Gap, Sample::Value { value: 3.0, reset: false }]).unwrap();
    let text = shell(&h);
    assert!(text.contains("NETDATA_SYSTEM_CPU_USER=\"\"      # percentage\n"), "{text}");
    assert!(text.contains("NETDATA_SYSTEM_CPU_VISIBLETOTAL=\"3\"      # percentage\n"), "{text}");
}

#[test]
fn json_format() {
    let r = get("/api/v1/allmetrics?format=json");
    assert_eq!(r.content_type, content_type::JSON);
    let text = r.body_str();
    assert!(text.starts_with(
        "{\n\t\"system.cpu\": {\n\t\t\"name\":\"system.cpu\",\n\t\t\"family\":\"cpu\",\n\t\t\"context\":\"system.cpu\",\n\t\t\"units\":\"percentage\",\n\t\t\"last_updated\": 1612343009,\n\t\t\"dimensions\": {\n\t\t\t\"user\": {\n\t\t\t\t\"name\": \"user\",\n\t\t\t\t\"value\": 9.5000000\n\t\t\t},"
    ), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 2);
    assert_eq!(v["net.eth0"]["name"], "net.eth0_renamed");
    assert_eq!(v["net.eth0"]["dimensions"]["sent"]["value"], -50.0);
    assert_eq!(v["system.cpu"]["dimensions"]["guest"]["value"], 1.0);
}

#[test]
fn json_skips_never_collected_and_obsolete_dims() {
    let mut h = host_with_charts();
    h.charts[0].dims[0].last_collected_ut = 0;
    h.charts[0].dims[1].obsolete = true;
    let v: Value = serde_json::from_str(&json(&h)).unwrap();
    let dims = v["system.cpu"]["dimensions"].as_object().unwrap();
    assert_eq!(dims.keys().collect::<Vec<_>>(), vec!["guest"]);
}

#[test]
fn bad_format_is_400() {
    let r = get("/api/v1/allmetrics?format=xml");
    assert_eq!((r.status, r.body_str().as_ref()), (400, FORMAT_HELP));
}

#[test]
fn prometheus_average() {
    // now = T0+20: window T0+10..T0+20 moved back 2 s ⇒ T0+8..T0+17, minus 1 s ⇒ ..T0+17,
    // clamped to the newest slot T0+9: points 8 and 9
    let r = get("/api/v1/allmetrics?format=prometheus");
    assert_eq!((r.status, r.content_type), (200, content_type::PROMETHEUS));
    let ms = (T0 + 20) * 1000;
    assert_eq!(
        r.body_str(),
        format!(
            "netdata_info{{instance=\"parent1\",application=\"netdata\",version=\"v1.29.3-strata\"}} 1 {ms}\n\
             netdata_host_tags_info{{room=\"lab \\\"1\\\"\"}} 1 {ms}\n\
             netdata_host_tags{{room=\"lab \\\"1\\\"\"}} 1 {ms}\n\
             netdata_system_cpu_percentage_average{{chart=\"system.cpu\",family=\"cpu\",dimension=\"user\"}} 9.0000000 1612343009000\n\
             netdata_system_cpu_percentage_average{{chart=\"system.cpu\",family=\"cpu\",dimension=\"system\"}} 17.0000000 1612343009000\n\
             netdata_system_cpu_percentage_average{{chart=\"system.cpu\",family=\"cpu\",dimension=\"guest\"}} 1.0000000 1612343009000\n\
             netdata_net_net_kilobits_persec_average{{chart=\"net.eth0_renamed\",family=\"eth0\",dimension=\"received\"}} 100.0000000 1612343009000\n\
             netdata_net_net_kilobits_persec_average{{chart=\"net.eth0_renamed\",family=\"eth0\",dimension=\"sent\"}} -50.0000000 1612343009000\n"
        )
    );
}

#[test]
fn prometheus_options() {
    let text = get("/api/v1/allmetrics?format=prometheus&source=sum&names=no&timestamps=no&types=yes&prefix=nd")
        .body_str()
        .into_owned();
    assert!(text.contains("# TYPE nd_system_cpu_sum gauge\nnd_system_cpu_sum{chart=\"system.cpu\",family=\"cpu\",dimension=\"user\"} 18.0000000\n"), "{text}");
    assert!(
        text.contains("nd_net_net_sum{chart=\"net.eth0\",family=\"eth0\",dimension=\"sent\"} -100.0000000\n"),
        "{text}"
    );
    let text = get("/api/v1/allmetrics?format=prometheus&hideunits=yes&help=yes").body_str().into_owned();
    assert!(text.contains("\n# COMMENT homogeneous chart \"system.cpu\", context \"system.cpu\", family \"cpu\", units \"percentage\"\n"), "{text}");
    assert!(text.contains("# COMMENT netdata_system_cpu_average: dimension \"user\", value is percentage, gauge, dt 1612343008 to 1612343009 inclusive\nnetdata_system_cpu_average{"), "{text}");
    let text = get("/api/v1/allmetrics?format=prometheus&variables=yes").body_str().into_owned();
    assert!(text.contains(&format!("\nnetdata_my_var 1.5000000 {}\n", (T0 + 20) * 1000)), "{text}");
}

#[test]
fn prometheus_as_collected() {
    // through the API the window starts at now − 10 s = T0+10: nothing collected since
    let text = get("/api/v1/allmetrics?format=prometheus&data=as%20collected&types=yes").body_str().into_owned();
    assert!(!text.contains("netdata_system_cpu"), "{text}");
    let h = host_with_charts();
    let q = Query::parse("data=as%20collected&types=yes");
    let text = prometheus([(&h, "v")], &PromOptions::from_query(&q, "ip"), T0 + 5, T0 + 15, 0, false);
    // cpu dims share algorithm/multiplier/divisor: one metric, dimension label, counter
    let ts = (T0 + 9) * 1000 + 250;
    assert!(text.contains(&format!(
        "# TYPE netdata_system_cpu counter\nnetdata_system_cpu_total{{chart=\"system.cpu\",family=\"cpu\",dimension=\"user\"}} 100 {ts}\n"
    )), "{text}");
    // net dims differ in multiplier: one metric per dimension, no dimension label
    assert!(text.contains(&format!(
        "# TYPE netdata_net_net_received counter\nnetdata_net_net_received_total{{chart=\"net.eth0_renamed\",family=\"eth0\"}} 100 {ts}\n"
    )), "{text}");
    assert!(text.contains("netdata_net_net_sent_total{chart=\"net.eth0_renamed\",family=\"eth0\"} 200 "), "{text}");
}

#[test]
fn prometheus_all_hosts_adds_instance() {
    let r = get("/api/v1/allmetrics?format=prometheus_all_hosts");
    let text = r.body_str();
    assert!(text.contains("netdata_host_tags_info{instance=\"parent1\",room="), "{text}");
    assert!(text.contains(
        "netdata_system_cpu_percentage_average{chart=\"system.cpu\",family=\"cpu\",dimension=\"user\",instance=\"parent1\"} 9.0000000 1612343009000\n"
    ), "{text}");
    // several hosts through the renderer
    let (a, mut b) = (host_with_charts(), host_with_charts());
    b.info.hostname = "child\"x".into();
    let opts = PromOptions::from_query(&Query::parse(""), "1.2.3.4");
    assert_eq!(opts.server, "1.2.3.4");
    let text = prometheus([(&a, "v1"), (&b, "v2")], &opts, T0 + 10, T0 + 20, 5, true);
    assert_eq!(text.matches("netdata_info{").count(), 2);
    assert!(text.contains("netdata_info{instance=\"child\\\"x\",application=\"netdata\",version=\"v2\"} 1 5\n"));
    assert!(text.contains("dimension=\"user\",instance=\"child\\\"x\"}"));
}

#[test]
fn units_and_names() {
    assert_eq!(prom_units("%"), "_percent");
    assert_eq!(prom_units("KiB/s"), "_KiB_persec");
    assert_eq!(prom_units("percentage"), "_percentage");
    assert_eq!(prom_units("kilobits/s"), "_kilobits_persec");
    assert_eq!(prom_units("GiB"), "_GiB");
    assert_eq!(prom_name("disk_space._dev"), "disk_space__dev");
    assert_eq!(prom_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    assert_eq!(shell_name("net.eth0-x"), "NET_ETH0_X");
}

#[test]
fn all_hosts_parts_are_joined_in_host_list_order() {
    let hs = summaries();
    let ctx = ctx_hosts(&hs);
    let mut a = host_with_charts();
    a.info.machine_guid = hs[2].guid.clone();
    a.info.hostname = "child-a".into();
    let mut b = host_with_charts();
    b.info.machine_guid = hs[1].guid.clone();
    b.info.hostname = "child-b".into();
    let req = ApiRequest::get("/host/child-a/api/v1/allmetrics?format=prometheus_all_hosts&timestamps=no");
    assert!(crate::web::is_prometheus_all_hosts(&req));
    assert!(!crate::web::is_prometheus_all_hosts(&ApiRequest::get("/api/v1/allmetrics?format=prometheus")));
    assert!(!crate::web::is_prometheus_all_hosts(&ApiRequest::get("/api/v1/data?format=prometheus_all_hosts")));
    // Two shards' parts arrive in any order; the answer follows the host list
    // (child-b before child-a here) and every series names its instance.
    let mut parts = prometheus_all_hosts_part([&a], &ctx, &req);
    parts.extend(prometheus_all_hosts_part([&b], &ctx, &req));
    let r = prometheus_all_hosts(&hs, parts);
    assert_eq!((r.status, r.content_type), (200, content_type::PROMETHEUS));
    let body = r.body_str().into_owned();
    let (ib, ia) = (body.find("instance=\"child-b\"").unwrap(), body.find("instance=\"child-a\"").unwrap());
    assert!(ib < ia, "{body}");
    for line in body.lines().filter(|l| l.starts_with("netdata_system_cpu")) {
        assert!(line.contains("instance=\"child-"), "{line}");
    }
    assert_eq!(body.matches("netdata_info{").count(), 2);
}
