//! `/api/v1/data` end to end: exact bodies for the formats and options.

use serde_json::{json, Value};

use crate::hosts::{Chart, Host};
use crate::web::testutil::{chart_rows, chart_with, ctx_hosts, host_with_charts, summaries, T0};
use crate::web::{content_type, handle, ApiRequest, Response};

fn get_on(h: &Host, url: &str) -> Response {
    let hs = summaries();
    handle(&ApiRequest::get(url), h, &ctx_hosts(&hs))
}

fn get(url: &str) -> Response {
    get_on(&host_with_charts(), url)
}

fn body(url: &str) -> String {
    let r = get(url);
    assert_eq!(r.status, 200, "{url}: {}", r.body_str());
    r.body_str().into_owned()
}

fn host_plus(c: Chart) -> Host {
    let mut h = host_with_charts();
    let i = h.charts.len();
    h.chart_names.insert(c.name.to_string(), i);
    h.charts.push(c);
    h.index_last_chart();
    h
}

const CPU3: &str = "/api/v1/data?chart=system.cpu&after=-3";

#[test]
fn json_newest_first_with_null_gaps() {
    let r = get(CPU3);
    assert_eq!((r.status, r.content_type), (200, content_type::JSON));
    assert!(!r.cacheable);
    assert_eq!(
        r.body_str(),
        "{\n \"labels\": [\"time\", \"user\", \"system\"],\n \"data\":\n [\n  [1612343009, 9.5, 18],\n  [1612343008, 8.5, 16],\n  [1612343007, 7.5, null]\n ]\n}"
    );
}

#[test]
fn default_window_is_clamped_to_the_database() {
    // 10 stored slots, default after=-600: one row per slot after the first
    let v: Value = serde_json::from_str(&body("/api/v1/data?chart=system.cpu")).unwrap();
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 9);
    assert_eq!(data[0], json!([T0 + 9, 9.5, 18]));
    assert_eq!(data[8], json!([T0 + 1, 1.5, 2]));
    // a long database: 600 rows of 1 s
    let rows: Vec<Vec<Option<f64>>> = (0..700).map(|k| vec![Some(k as f64)]).collect();
    let h = host_plus(chart_rows("test.long", &[("a", "a")], 1, &rows));
    let v: Value = serde_json::from_slice(&get_on(&h, "/api/v1/data?chart=test.long").body).unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 600);
    assert_eq!(v["data"][0], json!([T0 + 699, 699]));
}

#[test]
fn points_five_over_twenty_seconds() {
    let h = host_plus(chart_with(100, &[]));
    let r = get_on(&h, "/api/v1/data?chart=test.chart&points=5&after=-20&options=jsonwrap");
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["view_update_every"], 4);
    assert_eq!(v["points"], 5);
    let data = v["result"]["data"].as_array().unwrap();
    assert_eq!(data.len(), 5);
    // last slot T0+99 aligned down to a multiple of 4 ⇒ T0+96; row = average of 93..96
    assert_eq!(data[0], json!([T0 + 96, 94.5, 945]));
    assert_eq!(data[4], json!([T0 + 80, 78.5, 785]));
    assert_eq!((v["before"].as_i64(), v["after"].as_i64()), (Some(T0 + 96), Some(T0 + 77)));
}

#[test]
fn grouping_methods() {
    let base = "/api/v1/data?chart=system.cpu&after=-8&points=2&format=json&options=flip";
    let rows = |group: &str| {
        let v: Value = serde_json::from_str(&body(&format!("{base}&group={group}"))).unwrap();
        v["data"].clone()
    };
    assert_eq!(rows("average"), json!([[T0 + 4, 3, 5], [T0 + 8, 7, 12.6666667]]));
    assert_eq!(rows("nonsense"), rows("average"));
    assert_eq!(rows("min"), json!([[T0 + 4, 1.5, 2], [T0 + 8, 5.5, 10]]));
    assert_eq!(rows("max"), json!([[T0 + 4, 4.5, 8], [T0 + 8, 8.5, 16]]));
    assert_eq!(rows("sum"), json!([[T0 + 4, 12, 20], [T0 + 8, 28, 38]]));
    assert_eq!(rows("incremental-sum"), json!([[T0 + 4, 3, 6], [T0 + 8, 3, 6]]));
    assert_eq!(rows("median"), json!([[T0 + 4, 3, 5], [T0 + 8, 7, 12]]));
}

#[test]
fn options_flip_null2zero_ms_objectrows() {
    assert_eq!(
        body(&format!("{CPU3}&options=flip,null2zero")),
        "{\n \"labels\": [\"time\", \"user\", \"system\"],\n \"data\":\n [\n  [1612343007, 7.5, 0],\n  [1612343008, 8.5, 16],\n  [1612343009, 9.5, 18]\n ]\n}"
    );
    assert_eq!(
        body(&format!("{CPU3}&options=milliseconds|objectrows")),
        "{\n \"labels\": [\"time\", \"user\", \"system\"],\n \"data\":\n [\n  {\"time\": 1612343009000, \"user\": 9.5, \"system\": 18},\n  {\"time\": 1612343008000, \"user\": 8.5, \"system\": 16},\n  {\"time\": 1612343007000, \"user\": 7.5, \"system\": null}\n ]\n}"
    );
}

#[test]
fn options_abs_and_percentage() {
    let v: Value = serde_json::from_str(&body("/api/v1/data?chart=net.eth0&after=-1")).unwrap();
    assert_eq!(v["data"], json!([[T0 + 9, 100, -50]]));
    let v: Value = serde_json::from_str(&body("/api/v1/data?chart=net.eth0&after=-1&options=abs")).unwrap();
    assert_eq!(v["data"], json!([[T0 + 9, 100, 50]]));
    // percentage of the row total of all dimensions (hidden guest = 1 included)
    let text = body(&format!("{CPU3}&options=percentage"));
    assert!(text.contains("[1612343009, 33.3333333, 63.1578947]"), "{text}");
    assert!(text.contains("[1612343007, 88.2352941, null]"), "{text}");
    let v: Value = serde_json::from_str(&body("/api/v1/data?chart=net.eth0&after=-1&options=abs,percentage")).unwrap();
    assert_eq!(v["data"], json!([[T0 + 9, 66.6666667, 33.3333333]]));
}

#[test]
fn dimension_filter_and_nonzero() {
    let v: Value = serde_json::from_str(&body(&format!("{CPU3}&dimensions=sys*"))).unwrap();
    assert_eq!(v["labels"], json!(["time", "system"]));
    assert_eq!(v["data"][0], json!([T0 + 9, 18]));
    // a hidden dimension is shown when asked for; repeated parameters are joined
    let v: Value = serde_json::from_str(&body(&format!("{CPU3}&dims=guest&dim=user"))).unwrap();
    assert_eq!(v["labels"], json!(["time", "user", "guest"]));
    let v: Value = serde_json::from_str(&body(&format!("{CPU3}&dimension=nothing"))).unwrap();
    assert_eq!(v, json!({"labels": ["time", "no data"], "data": []}));
    let rows: Vec<Vec<Option<f64>>> = (0..5).map(|k| vec![Some(0.0), Some(k as f64)]).collect();
    let h = host_plus(chart_rows("test.z", &[("zero", "zero"), ("some", "some")], 1, &rows));
    let r = get_on(&h, "/api/v1/data?chart=test.z&after=-2&options=nonzero");
    assert_eq!(
        r.body_str(),
        "{\n \"labels\": [\"time\", \"some\"],\n \"data\":\n [\n  [1612343004, 4],\n  [1612343003, 3]\n ]\n}"
    );
}

#[test]
fn jsonwrap_object() {
    let r = get(&format!("{CPU3}&options=jsonwrap"));
    assert_eq!(r.content_type, content_type::JSON);
    let text = r.body_str();
    let expected_head = "{\n \"api\": 1,\n \"id\": \"system.cpu\",\n \"name\": \"system.cpu\",\n \"view_update_every\": 1,\n \"update_every\": 1,\n \"first_entry\": 1612343000,\n \"last_entry\": 1612343009,\n \"before\": 1612343009,\n \"after\": 1612343007,\n \"dimension_names\": [\"user\", \"system\"],\n \"dimension_ids\": [\"user\", \"system\"],\n \"latest_values\": [9.5, 18],\n \"view_latest_values\": [9.5, 18],\n \"dimensions\": 2,\n \"points\": 3,\n \"format\": \"json\",\n \"result\": {\n \"labels\"";
    assert!(text.starts_with(expected_head), "{text}");
    assert!(text.ends_with("\n ]\n},\n \"min\": 7.5,\n \"max\": 18\n}"), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["result"]["data"][2], json!([T0 + 7, 7.5, null]));

    // showcustomvars, and no dimensions at all
    let v: Value = serde_json::from_str(&body(&format!("{CPU3}&options=jsonwrap,showcustomvars&dims=none"))).unwrap();
    assert_eq!(v["chart_variables"], json!({"cpu_var": 2.0}));
    assert_eq!(v["dimension_names"], json!(["no data"]));
    assert_eq!(v["latest_values"], json!([null]));
    assert_eq!((v["dimensions"].as_i64(), v["min"].is_null()), (Some(0), true));
}

#[test]
fn csv_family() {
    let r = get(&format!("{CPU3}&format=csv&options=seconds"));
    assert_eq!(r.content_type, content_type::TEXT);
    assert_eq!(r.body_str(), "time,user,system\r\n1612343009,9.5,18\r\n1612343008,8.5,16\r\n1612343007,7.5,null\r\n");
    assert_eq!(
        body(&format!("{CPU3}&format=csv&options=ms,flip")),
        "time,user,system\r\n1612343007000,7.5,null\r\n1612343008000,8.5,16\r\n1612343009000,9.5,18\r\n"
    );
    assert_eq!(
        body(&format!("{CPU3}&format=tsv&options=seconds,null2zero")),
        "time\tuser\tsystem\r\n1612343009\t9.5\t18\r\n1612343008\t8.5\t16\r\n1612343007\t7.5\t0\r\n"
    );
    assert_eq!(
        body(&format!("{CPU3}&format=markdown&options=seconds")),
        "time|user|system\n:---:|:---:|:---:\n1612343009|9.5|18\n1612343008|8.5|16\n1612343007|7.5|null\n"
    );
    let r = get(&format!("{CPU3}&format=html&options=seconds"));
    assert_eq!(r.content_type, content_type::HTML);
    assert_eq!(
        r.body_str(),
        "<html>\n<center>\n<table border=\"0\" cellpadding=\"5\" cellspacing=\"5\">\n<tr><td>time</td><td>user</td><td>system</td></tr>\n<tr><td>1612343009</td><td>9.5</td><td>18</td></tr>\n<tr><td>1612343008</td><td>8.5</td><td>16</td></tr>\n<tr><td>1612343007</td><td>7.5</td><td>null</td></tr>\n</table>\n</center>\n</html>\n"
    );
    let r = get(&format!("{CPU3}&format=csvjsonarray&options=seconds"));
    assert_eq!(r.content_type, content_type::JSON);
    assert_eq!(
        r.body_str(),
        "[\n[\"time\",\"user\",\"system\"],\n[1612343009,9.5,18],\n[1612343008,8.5,16],\n[1612343007,7.5,null]\n]"
    );
    // local dates without seconds/ms
    let text = body(&format!("{CPU3}&format=csv"));
    let line = text.lines().nth(1).unwrap();
    let (date, rest) = line.split_at(19);
    assert_eq!(rest, ",9.5,18");
    assert_eq!(date, crate::web::data::format::local_date(T0 + 9));
    assert!(date.as_bytes()[4] == b'-' && date.as_bytes()[10] == b' ' && date.as_bytes()[13] == b':');
}

#[test]
fn csv_in_jsonwrap_is_a_string() {
    let v: Value = serde_json::from_str(&body(&format!("{CPU3}&format=csv&options=seconds,jsonwrap"))).unwrap();
    assert_eq!(v["format"], "csv");
    assert_eq!(v["result"], "time,user,system\n1612343009,9.5,18\n1612343008,8.5,16\n1612343007,7.5,null\n");
    let v: Value = serde_json::from_str(&body(&format!("{CPU3}&format=markdown&options=seconds,jsonwrap"))).unwrap();
    assert_eq!(v["format"], "unknown");
    let v: Value = serde_json::from_str(&body(&format!("{CPU3}&format=array&options=jsonwrap"))).unwrap();
    assert_eq!(v["result"], json!([27.5, 24.5, 7.5]));
    assert_eq!((v["min"].as_f64(), v["max"].as_f64()), (Some(7.5), Some(27.5)));
}

#[test]
fn single_value_formats() {
    assert_eq!(body(&format!("{CPU3}&format=ssv")), "27.5 24.5 7.5");
    assert_eq!(body(&format!("{CPU3}&format=ssvcomma&options=flip")), "7.5,24.5,27.5");
    let r = get(&format!("{CPU3}&format=array"));
    assert_eq!((r.content_type, r.body_str().as_ref()), (content_type::JSON, "[27.5,24.5,7.5]"));
    assert_eq!(body(&format!("{CPU3}&format=ssv&options=min2max")), "18 16 7.5");
    assert_eq!(body("/api/v1/data?chart=net.eth0&after=-1&format=ssv&options=min2max"), "150");
    assert_eq!(body(&format!("{CPU3}&format=ssv&dims=system&options=null2zero")), "18 16 0");
    assert_eq!(body(&format!("{CPU3}&format=ssv&dims=system")), "18 16 null");
}

#[test]
fn jsonp_datatable_datasource() {
    let r = get(&format!("{CPU3}&format=jsonp&callback=cb"));
    assert_eq!(r.content_type, content_type::JAVASCRIPT);
    let text = r.body_str();
    assert!(text.starts_with("cb({\n \"labels\"") && text.ends_with("});"), "{text}");
    assert!(body(&format!("{CPU3}&format=jsonp")).starts_with("callback("));

    let r = get(&format!("{CPU3}&format=datatable"));
    assert_eq!(r.content_type, content_type::JSON);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["cols"][0], json!({"id": "", "label": "time", "pattern": "", "type": "datetime"}));
    assert_eq!(v["cols"][1]["p"], json!({"role": "annotation"}));
    assert_eq!(v["cols"][3], json!({"id": "", "label": "user", "pattern": "", "type": "number"}));
    let row = &v["rows"][2]["c"];
    assert!(row[0]["v"].as_str().unwrap().starts_with("Date(2021,1,"));
    assert_eq!((row[1]["v"].is_null(), &row[3]["v"], row[4]["v"].is_null()), (true, &json!(7.5), true));

    let text = body(&format!("{CPU3}&tqx=reqId:5;responseHandler:h"));
    assert!(text.starts_with("h({version:'0.6',reqId:'5',status:'ok',sig:'1612343009',table:{"), "{text}");
    assert!(text.ends_with("});"));
    assert_eq!(
        body(&format!("{CPU3}&tqx=reqId:5;sig:1612343009")),
        "google.visualization.Query.setResponse({version:'0.6',reqId:'5',status:'error',errors:[{reason:'not_modified',message:'Data not modified'}]});"
    );
}

#[test]
fn filename_and_errors() {
    let r = get(&format!("{CPU3}&format=csv&filename=cpu.csv"));
    assert_eq!(r.header("Content-Disposition"), Some("attachment; filename=\"cpu.csv\""));
    let r = get("/api/v1/data?after=-10");
    assert_eq!((r.status, r.body_str().as_ref()), (400, "No chart id is given at the request."));
    let r = get("/api/v1/data?chart=nope");
    assert_eq!((r.status, r.body_str().as_ref()), (404, "Chart is not found: nope"));
    let r = get("/api/v1/data?context=nope.ctx");
    assert_eq!((r.status, r.body_str().as_ref()), (404, "Context is not found: nope.ctx"));
    // lookup by name, and absurd parameters never panic
    assert_eq!(get("/api/v1/data?chart=net.eth0_renamed&after=-1").status, 200);
    for q in [
        "points=-9223372036854775808",
        "after=9223372036854775807",
        "before=-9223372036854775807&after=1",
        "gtime=99999999999",
        "points=1&gtime=7&after=-5",
        "after=-1&before=-1",
        "after=-9223372036854775807&options=allow_past",
        "gtime=9223372036854775807",
        "after=-94608000&options=allow_past&points=0",
    ] {
        assert_eq!(get(&format!("/api/v1/data?chart=system.cpu&{q}")).status, 200, "{q}");
    }
    // an empty chart answers with no rows
    let v: Value = serde_json::from_str(&body("/api/v1/data?chart=system.empty&options=jsonwrap")).unwrap();
    assert_eq!((v["points"].as_i64(), v["dimension_names"].clone()), (Some(0), json!(["no data"])));
}
