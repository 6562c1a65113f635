//! Alarm endpoints (B.4) while health is not implemented: the shapes a dashboard polls,
//! with no alarms in them.

use super::charts::find_chart;
use super::json::{html_escape, push_str};
use super::number::fixed5;
use super::url::Query;
use super::{ApiContext, Response};
use crate::hosts::Host;

pub fn handle(cmd: &str, host: &Host, ctx: &ApiContext, q: &Query) -> Response {
    let mut o = String::new();
    match cmd {
        "alarms" => {
            o.push_str("{\n \"hostname\": ");
            push_str(&mut o, &host.info.hostname);
            o.push_str(&format!(
                ",\n \"latest_alarm_log_unique_id\": 0,\n \"status\": false,\n \"now\": {},\n \"alarms\": {{\n }}\n}}",
                ctx.now
            ));
        }
        "alarms_values" => {
            o.push_str("{\n \"hostname\": ");
            push_str(&mut o, &host.info.hostname);
            o.push_str(",\n \"alarms\": {\n }\n}");
        }
        "alarm_log" => o.push_str("[\n]"),
        "alarm_count" => o.push_str("[0]"),
        _ => return variables(host, q),
    }
    Response::json(o)
}

/// `/api/v1/alarm_variables?chart=`: the chart's and host's custom variables.
fn variables(host: &Host, q: &Query) -> Response {
    let Some(key) = q.get("chart") else {
        return Response::text(400, "No chart id is given at the request.");
    };
    let Some(c) = find_chart(host, key) else {
        return Response::html(404, &format!("Chart is not found: {}", html_escape(key)));
    };
    let vars = |o: &mut String, list: &[crate::hosts::Variable]| {
        o.push('{');
        for (i, v) in list.iter().enumerate() {
            o.push_str(if i == 0 { "\n  " } else { ",\n  " });
            push_str(o, &v.name);
            o.push_str(": ");
            o.push_str(&fixed5(v.value));
        }
        o.push_str("\n }");
    };
    let mut o = String::from("{\n \"chart\": ");
    push_str(&mut o, &c.id);
    o.push_str(",\n \"chart_name\": ");
    push_str(&mut o, &c.name);
    o.push_str(",\n \"chart_context\": ");
    push_str(&mut o, &c.context);
    o.push_str(",\n \"chart_variables\": ");
    vars(&mut o, &c.variables);
    o.push_str(",\n \"family\": ");
    push_str(&mut o, &c.family);
    o.push_str(",\n \"family_variables\": {\n },\n \"host\": ");
    push_str(&mut o, &host.info.hostname);
    o.push_str(",\n \"host_variables\": ");
    vars(&mut o, &host.variables);
    o.push_str("\n}");
    Response::json(o)
}

#[cfg(test)]
mod tests {
    use crate::web::testutil::{ctx_hosts, host_with_charts, summaries, T0};
    use crate::web::{handle, ApiRequest};
    use serde_json::{json, Value};

    #[test]
    fn empty_alarm_shapes() {
        let h = host_with_charts();
        let hs = summaries();
        let ctx = ctx_hosts(&hs);
        let get = |u: &str| serde_json::from_slice::<Value>(&handle(&ApiRequest::get(u), &h, &ctx).body).unwrap();
        assert_eq!(
            get("/api/v1/alarms?all"),
            json!({"hostname": "parent1", "latest_alarm_log_unique_id": 0, "status": false, "now": T0 + 20, "alarms": {}})
        );
        assert_eq!(get("/api/v1/alarms_values"), json!({"hostname": "parent1", "alarms": {}}));
        assert_eq!(get("/api/v1/alarm_log?after=5"), json!([]));
        assert_eq!(get("/api/v1/alarm_count?status=WARNING"), json!([0]));
        assert_eq!(get("/api/v1/alarm_variables?chart=system.cpu")["chart_variables"], json!({"cpu_var": 2.0}));
        assert_eq!(get("/api/v1/alarm_variables?chart=system.cpu")["host_variables"], json!({"my_var": 1.5}));
        assert_eq!(handle(&ApiRequest::get("/api/v1/alarm_variables?chart=x"), &h, &ctx).status, 404);
    }
}
