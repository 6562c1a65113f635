//! `/api/v1/allmetrics` (B.5): shell variables, JSON, and Prometheus text exposition
//! (average/sum over the scrape window, or as collected).
//!
//! [`prometheus`] takes any number of hosts. `prometheus_all_hosts` covers every host of
//! the agent: each shard renders its own hosts with [`prometheus_all_hosts_part`] and the
//! shard answering the request joins the parts in host-list order with
//! [`prometheus_all_hosts`]; [`handle`] alone renders only the addressed host.
//! The scrape window is stateless: `now − 10 s … now` (the first-scrape window of
//! Netdata); a caller that remembers the previous scrape per `server` can pass its own.

use std::fmt::Write;

use strata_storage::Sample;

use super::charts::viewable;
use super::json::push_str;
use super::number::fixed7;
use super::url::Query;
use super::{content_type, host_version, ApiContext, ApiRequest, HostSummary, Response};
use crate::hosts::{Algorithm, Chart, Dimension, Host, MemoryMode};

/// Exporter `update every`: the first-scrape window length.
pub const PROMETHEUS_UPDATE_EVERY: i64 = 10;

const FORMAT_HELP: &str =
    "Which format? 'shell', 'prometheus', 'prometheus_all_hosts' and 'json' are currently supported.";

/// Serves `/api/v1/allmetrics` for `host`.
pub fn handle(host: &Host, ctx: &ApiContext, q: &Query, client_ip: &str) -> Response {
    match q.get("format").unwrap_or("shell") {
        "shell" => Response::text(200, &shell(host)),
        "json" => Response::json(json(host)),
        f @ ("prometheus" | "prometheus_all_hosts") => {
            let opts = PromOptions::from_query(q, client_ip);
            let all = f == "prometheus_all_hosts";
            let version = host_version(host, ctx);
            let body = prometheus(
                std::iter::once((host, version)),
                &opts,
                ctx.now - PROMETHEUS_UPDATE_EVERY,
                ctx.now,
                ctx.now * 1000,
                all,
            );
            Response::new(200, content_type::PROMETHEUS, body)
        }
        _ => Response::text(400, FORMAT_HELP),
    }
}

/// One shard's share of `format=prometheus_all_hosts`: the exposition of each of `hosts`
/// (with `instance=` labels), keyed by machine GUID so the shard answering the request can
/// put every host in the agent's list order ([`prometheus_all_hosts`]).
pub fn prometheus_all_hosts_part<'a>(
    hosts: impl IntoIterator<Item = &'a Host>,
    ctx: &ApiContext,
    req: &ApiRequest,
) -> Vec<(String, String)> {
    let (_, query) = super::url::split_path_query(&req.url);
    let q = Query::parse(query);
    let opts = PromOptions::from_query(&q, &req.client_ip);
    hosts
        .into_iter()
        .map(|h| {
            let body = prometheus(
                std::iter::once((h, host_version(h, ctx))),
                &opts,
                ctx.now - PROMETHEUS_UPDATE_EVERY,
                ctx.now,
                ctx.now * 1000,
                true,
            );
            (h.info.machine_guid.clone(), body)
        })
        .collect()
}

/// Joins the shards' parts in the agent's host order (`order`: localhost first, then the
/// children as `/api/v1/info` lists them); hosts missing from `order` go last.
pub fn prometheus_all_hosts(order: &[HostSummary], mut parts: Vec<(String, String)>) -> Response {
    let rank = |guid: &str| order.iter().position(|h| h.guid == guid).unwrap_or(usize::MAX);
    parts.sort_by_cached_key(|(guid, _)| rank(guid));
    let body: String = parts.into_iter().map(|(_, text)| text).collect();
    Response::new(200, content_type::PROMETHEUS, body)
}

/// Upper-cased, non-alphanumerics as `_` (shell variable names).
fn shell_name(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// Non-alphanumerics as `_` (prometheus metric names).
fn prom_name(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

/// A prometheus label value: backslash before `"` and `\`, newline as `\n`.
fn prom_label(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o
}

/// The unit suffix of average metrics: `_` + units, `%` ⇒ `percent`, `/s` ⇒ `_persec`.
fn prom_units(units: &str) -> String {
    if units == "%" {
        return "_percent".into();
    }
    match units.strip_suffix("/s") {
        Some(base) => format!("_{}_persec", prom_name(base)),
        None => format!("_{}", prom_name(units)),
    }
}

/// Value of the chart's newest slot for one dimension (NaN for a gap or no data).
fn last_stored(c: &Chart, col: usize) -> f64 {
    match c.store.last_time().map(|t| c.store.get(col, t)) {
        Some(Sample::Value { value, .. }) => value,
        _ => f64::NAN,
    }
}

/// Collected at least once and not obsolete.
fn exported(d: &Dimension) -> bool {
    d.last_collected_ut > 0 && !d.obsolete
}

/// `format=shell`.
pub fn shell(host: &Host) -> String {
    let mut o = String::new();
    for c in host.charts.iter().filter(|c| viewable(host, c)) {
        let chart = shell_name(&c.name);
        let _ = write!(o, "\n# chart: {} (name: {})\n", c.id, c.name);
        let mut total = 0.0;
        for (col, d) in c.dims.iter().enumerate().filter(|(_, d)| exported(d)) {
            let dim = shell_name(d.name());
            let mut n = last_stored(c, col);
            if !n.is_finite() {
                let _ = writeln!(o, "NETDATA_{chart}_{dim}=\"\"      # {}", c.units);
                continue;
            }
            if d.multiplier < 0 || d.divisor < 0 {
                n = -n;
            }
            n = n.round();
            if !d.hidden {
                total += n;
            }
            let _ = writeln!(o, "NETDATA_{chart}_{dim}=\"{n:.0}\"      # {}", c.units);
        }
        let _ = writeln!(o, "NETDATA_{chart}_VISIBLETOTAL=\"{:.0}\"      # {}", total.round(), c.units);
    }
    o.push_str("\n# NETDATA ALARMS RUNNING\n");
    o
}

/// `format=json`.
pub fn json(host: &Host) -> String {
    let mut o = String::from("{");
    for (i, c) in host.charts.iter().filter(|c| viewable(host, c)).enumerate() {
        o.push_str(if i == 0 { "\n\t" } else { ",\n\t" });
        push_str(&mut o, &c.id);
        o.push_str(": {\n\t\t\"name\":");
        push_str(&mut o, &c.name);
        o.push_str(",\n\t\t\"family\":");
        push_str(&mut o, &c.family);
        o.push_str(",\n\t\t\"context\":");
        push_str(&mut o, &c.context);
        o.push_str(",\n\t\t\"units\":");
        push_str(&mut o, &c.units);
        let _ = write!(o, ",\n\t\t\"last_updated\": {},\n\t\t\"dimensions\": {{", c.store.last_time().unwrap_or(0));
        for (k, (col, d)) in c.dims.iter().enumerate().filter(|(_, d)| exported(d)).enumerate() {
            o.push_str(if k == 0 { "\n\t\t\t" } else { ",\n\t\t\t" });
            push_str(&mut o, d.id());
            o.push_str(": {\n\t\t\t\t\"name\": ");
            push_str(&mut o, d.name());
            let _ = write!(o, ",\n\t\t\t\t\"value\": {}\n\t\t\t}}", fixed7(last_stored(c, col)));
        }
        o.push_str("\n\t\t}\n\t}");
    }
    o.push_str("\n}");
    o
}

/// Where prometheus values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    AsCollected,
    Average,
    Sum,
}

/// Prometheus rendering options (query parameters of B.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromOptions {
    pub prefix: String,
    pub source: Source,
    /// Scraper identity (`server=`, default the client IP), for per-scraper windows.
    pub server: String,
    pub help: bool,
    pub types: bool,
    pub names: bool,
    pub timestamps: bool,
    pub variables: bool,
    /// Accepted; pre-1.12 unit names are not substituted.
    pub oldunits: bool,
    pub hideunits: bool,
}

impl PromOptions {
    pub fn from_query(q: &Query, client_ip: &str) -> Self {
        let flag = |name: &str, default: bool| match q.get(name) {
            Some(v) => matches!(v, "yes" | "1" | "true"),
            None => default,
        };
        let source = match q.get_any(&["data", "source", "data source", "data-source", "data_source", "datasource"]) {
            Some("as collected" | "raw" | "as-collected" | "as_collected" | "ascollected") => Source::AsCollected,
            Some("sum" | "volume") => Source::Sum,
            _ => Source::Average,
        };
        PromOptions {
            prefix: q.get("prefix").unwrap_or("netdata").to_string(),
            source,
            server: q.get("server").unwrap_or(client_ip).to_string(),
            help: flag("help", false),
            types: flag("types", false),
            names: flag("names", true),
            timestamps: flag("timestamps", true),
            variables: flag("variables", false),
            oldunits: flag("oldunits", false),
            hideunits: flag("hideunits", false),
        }
    }
}

/// Average (or sum) of the stored points of one column in the scrape window, with the
/// first and last slot times used. Window: both ends moved back 2 ue, aligned to ue, `before` one
/// more ue back, clamped to the database. `None` = nothing to report.
pub fn stored_average(c: &Chart, col: usize, after: i64, before: i64, sum: bool) -> Option<(f64, i64, i64)> {
    let (first, last) = (c.store.first_time()?, c.store.last_time()?);
    let ue = i64::from(c.update_every.max(1));
    let mut after = after - 2 * ue;
    let mut before = before - 2 * ue;
    after -= after.rem_euclid(ue);
    before -= before.rem_euclid(ue);
    before -= ue;
    if after > before {
        after = before;
    }
    after = after.max(first);
    before = before.min(last);
    if before < first || after > last {
        return None;
    }
    let (mut total, mut n) = (0.0, 0usize);
    let mut samples = Vec::new();
    c.store.read(col, after, before, &mut samples);
    for s in &samples {
        if let Sample::Value { value, .. } = s {
            total += value;
            n += 1;
        }
    }
    if n == 0 {
        return None;
    }
    let v = if sum { total } else { total / n as f64 };
    v.is_finite().then_some((v, after, before))
}

/// Prometheus exposition for `hosts` (each with the version it reports). With
/// `all_hosts` every series carries `instance="<hostname>"`. `after..before` is the
/// scrape window (unix s), `now_ms` the time of `netdata_info`.
pub fn prometheus<'a>(
    hosts: impl IntoIterator<Item = (&'a Host, &'a str)>,
    opts: &PromOptions,
    after: i64,
    before: i64,
    now_ms: i64,
    all_hosts: bool,
) -> String {
    let mut o = String::new();
    let ts = |ms: i64| {
        if opts.timestamps {
            format!(" {ms}")
        } else {
            String::new()
        }
    };
    let p = &opts.prefix;
    for (host, version) in hosts {
        let hostname = prom_label(&host.info.hostname);
        let _ = writeln!(
            o,
            "netdata_info{{instance=\"{hostname}\",application=\"{}\",version=\"{}\"}} 1{}",
            prom_label(&host.info.program_name),
            prom_label(version),
            ts(now_ms)
        );
        let instance = if all_hosts { format!(",instance=\"{hostname}\"") } else { String::new() };
        // Configured labels only (automatic ones start with `_`); nothing when none.
        let labels: Vec<String> = host
            .labels
            .iter()
            .filter(|l| !l.name.starts_with('_'))
            .map(|l| format!("{}=\"{}\"", prom_name(&l.name), prom_label(&l.value)))
            .collect();
        if !labels.is_empty() {
            let inst = if all_hosts { format!("instance=\"{hostname}\",") } else { String::new() };
            for metric in ["netdata_host_tags_info", "netdata_host_tags"] {
                let _ = writeln!(o, "{metric}{{{inst}{}}} 1{}", labels.join(","), ts(now_ms));
            }
        }
        if opts.variables {
            for v in host.variables.iter().filter(|v| v.value.is_finite()) {
                let lbl = if all_hosts { format!("{{instance=\"{hostname}\"}}") } else { String::new() };
                let _ = writeln!(o, "{p}_{}{lbl} {}{}", prom_name(&v.name), fixed7(v.value), ts(now_ms));
            }
        }
        for c in host.charts.iter() {
            let as_collected = opts.source == Source::AsCollected;
            let available = !c.hidden && !c.obsolete && !c.dims.is_empty();
            if !available || (host.memory_mode == MemoryMode::None && !as_collected) {
                continue;
            }
            chart_series(&mut o, c, opts, after, before, &instance, &ts);
        }
    }
    o
}

fn chart_series(
    o: &mut String,
    c: &Chart,
    opts: &PromOptions,
    after: i64,
    before: i64,
    instance: &str,
    ts: &dyn Fn(i64) -> String,
) {
    let p = &opts.prefix;
    let chart_shown = if opts.names { &c.name } else { &c.id };
    let chart = prom_label(chart_shown);
    let family = prom_label(&c.family);
    let context = prom_name(&c.context);
    let as_collected = opts.source == Source::AsCollected;
    let homogeneous = !as_collected
        || c.dims.windows(2).all(|w| {
            w[0].algorithm == w[1].algorithm && w[0].multiplier == w[1].multiplier && w[0].divisor == w[1].divisor
        });
    let units = if opts.source == Source::Average && !opts.hideunits { prom_units(&c.units) } else { String::new() };
    if opts.help {
        let _ = write!(
            o,
            "\n# COMMENT {} chart \"{chart_shown}\", context \"{}\", family \"{}\", units \"{}\"\n",
            if homogeneous { "homogeneous" } else { "heterogeneous" },
            c.context,
            c.family,
            c.units
        );
    }
    for (col, d) in c.dims.iter().enumerate().filter(|(_, d)| exported(d)) {
        let dim_shown = if opts.names { d.name() } else { d.id() };
        if as_collected {
            if d.last_collected_ut / 1_000_000 < after {
                continue;
            }
            let counter = matches!(d.algorithm, Algorithm::Incremental | Algorithm::PercentageOfIncrementalRow);
            let (t, h, suffix) = if counter { ("counter", "delta gives", "_total") } else { ("gauge", "gives", "") };
            let value = if c.module.as_deref() == Some("prometheus") && d.divisor != 0 {
                d.last_collected().saturating_mul(d.multiplier) / d.divisor
            } else {
                d.last_collected()
            };
            let ms = d.last_collected_ut / 1000;
            let (metric, labels) = if homogeneous {
                (
                    format!("{p}_{context}"),
                    format!("chart=\"{chart}\",family=\"{family}\",dimension=\"{}\"", prom_label(dim_shown)),
                )
            } else {
                (format!("{p}_{context}_{}", prom_name(dim_shown)), format!("chart=\"{chart}\",family=\"{family}\""))
            };
            if opts.help {
                let _ = writeln!(
                    o,
                    "# COMMENT {metric}{suffix}: chart \"{chart_shown}\", context \"{}\", family \"{}\", dimension \"{dim_shown}\", value * {} / {} {h} {} ({t})",
                    c.context, c.family, d.multiplier, d.divisor, c.units
                );
            }
            if opts.types {
                let _ = writeln!(o, "# TYPE {metric} {t}");
            }
            let _ = writeln!(o, "{metric}{suffix}{{{labels}{instance}}} {value}{}", ts(ms));
        } else {
            let sum = opts.source == Source::Sum;
            let Some((value, first_t, last_t)) = stored_average(c, col, after, before, sum) else {
                continue;
            };
            let suffix = if sum { "_sum" } else { "_average" };
            let metric = format!("{p}_{context}{units}{suffix}");
            if opts.help {
                let _ = writeln!(
                    o,
                    "# COMMENT {metric}: dimension \"{dim_shown}\", value is {}, gauge, dt {first_t} to {last_t} inclusive",
                    c.units
                );
            }
            if opts.types {
                let _ = writeln!(o, "# TYPE {metric} gauge");
            }
            let _ = writeln!(
                o,
                "{metric}{{chart=\"{chart}\",family=\"{family}\",dimension=\"{}\"{instance}}} {}{}",
                prom_label(dim_shown),
                fixed7(value),
                ts(last_t * 1000)
            );
        }
    }
}

#[cfg(test)]
mod tests;
