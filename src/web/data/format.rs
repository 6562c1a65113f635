//! Output formats of `/api/v1/data` (B.3): json (rows or objects), jsonp, datatable,
//! datasource, csv/tsv/markdown/html/csvjsonarray, ssv/ssvcomma/array, and the jsonwrap
//! metadata object. Values pass through abs → percentage → null2zero on the way out.

use chrono::{Datelike, Local, TimeZone, Timelike};

use super::params::{Format, Options, Tqx};
use super::query::QueryResult;
use crate::hosts::Chart;
use crate::web::json::{html_escape, push_escaped, push_str, push_str_array};
use crate::web::number::push_value;
use crate::web::{content_type, Response};
use strata_storage::Sample;

/// Min/max over the values printed.
#[derive(Debug, Clone, Copy)]
struct MinMax {
    min: f64,
    max: f64,
}

impl MinMax {
    fn new() -> Self {
        MinMax { min: f64::NAN, max: f64::NAN }
    }

    fn add(&mut self, v: f64) {
        if self.min.is_nan() || v < self.min {
            self.min = v;
        }
        if self.max.is_nan() || v > self.max {
            self.max = v;
        }
    }
}

/// The visible columns and value transforms of one result.
struct View<'a> {
    r: &'a QueryResult,
    opts: Options,
    cols: Vec<usize>,
}

impl<'a> View<'a> {
    fn new(r: &'a QueryResult, opts: Options) -> Self {
        View { r, opts, cols: r.visible(opts) }
    }

    /// Row indices in output order: newest first unless `flip`.
    fn order(&self) -> Vec<usize> {
        let n = self.r.rows();
        if self.opts.has(Options::REVERSED) {
            (0..n).collect()
        } else {
            (0..n).rev().collect()
        }
    }

    fn raw(&self, row: usize, d: usize) -> f64 {
        let v = self.r.value(row, d);
        let v = if v.is_nan() { 0.0 } else { v };
        if self.opts.has(Options::ABSOLUTE) {
            v.abs()
        } else {
            v
        }
    }

    /// Row total over every dimension of the result (percentage denominator; 0 ⇒ 1).
    fn total(&self, row: usize) -> f64 {
        let t: f64 = (0..self.r.dims.len()).map(|d| self.raw(row, d)).sum();
        if t == 0.0 {
            1.0
        } else {
            t
        }
    }

    /// The shown value of a cell; `None` = empty point.
    fn cell(&self, row: usize, d: usize, total: f64) -> Option<f64> {
        if self.r.value(row, d).is_nan() {
            return None;
        }
        let n = self.raw(row, d);
        Some(if self.opts.has(Options::PERCENTAGE) { n * 100.0 / total } else { n })
    }

    fn total_if_needed(&self, row: usize) -> f64 {
        if self.opts.has(Options::PERCENTAGE) {
            self.total(row)
        } else {
            1.0
        }
    }

    fn push_cell(&self, out: &mut String, v: Option<f64>, mm: &mut MinMax) {
        match v {
            Some(n) => {
                mm.add(n);
                push_value(out, n);
            }
            None if self.opts.has(Options::NULL2ZERO) => out.push('0'),
            None => out.push_str("null"),
        }
    }

    fn push_time(&self, out: &mut String, t: i64, dates: bool) {
        if dates && !self.opts.has(Options::SECONDS) && !self.opts.has(Options::MILLISECONDS) {
            out.push_str(&local_date(t));
        } else {
            out.push_str(&t.to_string());
            if self.opts.has(Options::MILLISECONDS) {
                out.push_str("000");
            }
        }
    }

    /// One value per row (ssv/array): the sum of the visible dimensions, or max − min
    /// with `min2max`; `None` when every visible point is empty.
    fn row_value(&self, row: usize) -> Option<f64> {
        let total = self.total_if_needed(row);
        let (mut sum, mut min, mut max) = (0.0, 0.0, 0.0);
        let mut all_null = true;
        for (i, &d) in self.cols.iter().enumerate() {
            let empty = self.r.value(row, d).is_nan();
            let mut n = self.raw(row, d);
            if self.opts.has(Options::PERCENTAGE) {
                n = n * 100.0 / total;
            }
            if i == 0 {
                (min, max) = if n > 0.0 { (0.0, n) } else { (n, 0.0) };
            }
            if !empty {
                all_null = false;
                sum += n;
            }
            min = f64::min(min, n);
            max = f64::max(max, n);
        }
        if all_null {
            None
        } else if self.opts.has(Options::MIN2MAX) {
            Some(max - min)
        } else {
            Some(sum)
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` in the server's local time.
pub fn local_date(t: i64) -> String {
    match Local.timestamp_opt(t, 0).single() {
        Some(d) => d.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => t.to_string(),
    }
}

/// Google `Date(y,m0,d,h,mi,s)` in the server's local time (month 0-based).
fn google_date(t: i64) -> String {
    match Local.timestamp_opt(t, 0).single() {
        Some(d) => {
            format!("Date({},{},{},{},{},{})", d.year(), d.month0(), d.day(), d.hour(), d.minute(), d.second())
        }
        None => format!("Date({t})"),
    }
}

fn json(v: &View, mm: &mut MinMax) -> String {
    let objectrows = v.opts.has(Options::OBJECTROWS);
    let names: Vec<&str> = v.cols.iter().map(|&d| v.r.dims[d].name.as_str()).collect();
    let mut out = String::from("{\n \"labels\": [\"time\"");
    for n in &names {
        out.push_str(", ");
        push_str(&mut out, n);
    }
    if names.is_empty() {
        out.push_str(", \"no data\"");
    }
    out.push_str("],\n \"data\":\n [");
    if !names.is_empty() {
        for (i, row) in v.order().into_iter().enumerate() {
            out.push_str(if i == 0 { "\n  " } else { ",\n  " });
            out.push_str(if objectrows { "{\"time\": " } else { "[" });
            v.push_time(&mut out, v.r.times[row], false);
            let total = v.total_if_needed(row);
            for (&d, n) in v.cols.iter().zip(&names) {
                out.push_str(", ");
                if objectrows {
                    push_str(&mut out, n);
                    out.push_str(": ");
                }
                v.push_cell(&mut out, v.cell(row, d, total), mm);
            }
            out.push(if objectrows { '}' } else { ']' });
        }
    }
    out.push_str("\n ]\n}");
    out
}

fn datatable(v: &View, mm: &mut MinMax) -> String {
    let mut out = String::from(
        "{\n \"cols\":\n [\n  {\"id\":\"\",\"label\":\"time\",\"pattern\":\"\",\"type\":\"datetime\"},\n  \
         {\"id\":\"\",\"label\":\"\",\"pattern\":\"\",\"type\":\"string\",\"p\":{\"role\":\"annotation\"}},\n  \
         {\"id\":\"\",\"label\":\"\",\"pattern\":\"\",\"type\":\"string\",\"p\":{\"role\":\"annotationText\"}}",
    );
    let mut labels: Vec<&str> = v.cols.iter().map(|&d| v.r.dims[d].name.as_str()).collect();
    let no_data = labels.is_empty();
    if no_data {
        labels.push("no data");
    }
    for l in labels {
        out.push_str(",\n  {\"id\":\"\",\"label\":");
        push_str(&mut out, l);
        out.push_str(",\"pattern\":\"\",\"type\":\"number\"}");
    }
    out.push_str("\n ],\n \"rows\":\n [");
    if !no_data {
        for (i, row) in v.order().into_iter().enumerate() {
            out.push_str(if i == 0 { "\n  {\"c\":[{\"v\":\"" } else { ",\n  {\"c\":[{\"v\":\"" });
            out.push_str(&google_date(v.r.times[row]));
            out.push_str("\"},");
            if v.r.resets[row] {
                out.push_str("{\"v\":\"RESET OR OVERFLOW\"},{\"v\":\"The counters have been wrapped.\"}");
            } else {
                out.push_str("{\"v\":null},{\"v\":null}");
            }
            let total = v.total_if_needed(row);
            for &d in &v.cols {
                out.push_str(",{\"v\":");
                v.push_cell(&mut out, v.cell(row, d, total), mm);
                out.push('}');
            }
            out.push_str("]}");
        }
    }
    out.push_str("\n ]\n}");
    out
}

/// Separators of one csv-like format.
struct Csv<'s> {
    start: &'s str,
    sep: &'s str,
    end: &'s str,
    between: &'s str,
    quotes: bool,
    markdown: bool,
    html: bool,
}

fn csv(v: &View, mm: &mut MinMax, f: &Csv) -> String {
    let mut out = String::new();
    if v.cols.is_empty() {
        out.push_str(f.end);
        return out;
    }
    let label = |out: &mut String, s: &str| {
        if f.quotes {
            out.push('"');
            push_escaped(out, s);
            out.push('"');
        } else if f.html {
            out.push_str(&html_escape(s));
        } else {
            out.push_str(s);
        }
    };
    out.push_str(f.start);
    label(&mut out, "time");
    for &d in &v.cols {
        out.push_str(f.sep);
        label(&mut out, &v.r.dims[d].name);
    }
    out.push_str(f.end);
    if f.markdown {
        out.push_str(f.start);
        out.push_str(":---:");
        for _ in &v.cols {
            out.push_str(f.sep);
            out.push_str(":---:");
        }
        out.push_str(f.end);
    }
    for row in v.order() {
        out.push_str(f.between);
        out.push_str(f.start);
        v.push_time(&mut out, v.r.times[row], true);
        let total = v.total_if_needed(row);
        for &d in &v.cols {
            out.push_str(f.sep);
            v.push_cell(&mut out, v.cell(row, d, total), mm);
        }
        out.push_str(f.end);
    }
    out
}

fn ssv(v: &View, mm: &mut MinMax, prefix: &str, sep: &str, suffix: &str) -> String {
    let mut out = String::from(prefix);
    for (i, row) in v.order().into_iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        v.push_cell(&mut out, v.row_value(row), mm);
    }
    out.push_str(suffix);
    out
}

/// The payload of a format and whether it goes into jsonwrap as a JSON string.
fn payload(v: &View, fmt: Format, wrapped: bool, mm: &mut MinMax) -> (String, bool) {
    let nl = if wrapped { "\n" } else { "\r\n" };
    let plain = |start, sep, end| Csv { start, sep, end, between: "", quotes: false, markdown: false, html: false };
    match fmt {
        Format::Json | Format::Jsonp => (json(v, mm), false),
        Format::Datatable | Format::Datasource => (datatable(v, mm), false),
        Format::Csv => (csv(v, mm, &plain("", ",", nl)), true),
        Format::Tsv => (csv(v, mm, &plain("", "\t", nl)), true),
        Format::Markdown => (csv(v, mm, &Csv { markdown: true, ..plain("", "|", "\n") }), true),
        Format::Html => {
            let rows = csv(v, mm, &Csv { html: true, ..plain("<tr><td>", "</td><td>", "</td></tr>\n") });
            let body = format!(
                "<html>\n<center>\n<table border=\"0\" cellpadding=\"5\" cellspacing=\"5\">\n{rows}</table>\n</center>\n</html>\n"
            );
            (body, true)
        }
        Format::CsvJsonArray => {
            if v.cols.is_empty() {
                return ("[\n]".to_string(), false);
            }
            let f = Csv { start: "[", sep: ",", end: "]", between: ",\n", quotes: true, markdown: false, html: false };
            (format!("[\n{}\n]", csv(v, mm, &f)), false)
        }
        Format::Ssv => (ssv(v, mm, "", " ", ""), true),
        Format::SsvComma => (ssv(v, mm, "", ",", ""), true),
        Format::Array => (ssv(v, mm, "[", ",", "]"), false),
    }
}

fn content_type_of(fmt: Format) -> &'static str {
    match fmt {
        Format::Json | Format::Datatable | Format::Array | Format::CsvJsonArray => content_type::JSON,
        Format::Jsonp | Format::Datasource => content_type::JAVASCRIPT,
        Format::Html => content_type::HTML,
        Format::Csv | Format::Tsv | Format::Ssv | Format::SsvComma | Format::Markdown => content_type::TEXT,
    }
}

fn push_numbers(out: &mut String, vals: impl IntoIterator<Item = f64>) {
    out.push('[');
    for (i, v) in vals.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_value(out, v);
    }
    out.push(']');
}

/// The jsonwrap object around `payload`.
fn wrap(chart: &Chart, v: &View, fmt: Format, payload: &str, as_string: bool, mm: MinMax) -> String {
    let r = v.r;
    let first = chart.store.first_time().unwrap_or(0);
    let last = chart.store.last_time().unwrap_or(0);
    let mut o = String::with_capacity(payload.len() + 1024);
    o.push_str("{\n \"api\": 1,\n \"id\": ");
    push_str(&mut o, &chart.id);
    o.push_str(",\n \"name\": ");
    push_str(&mut o, &chart.name);
    o.push_str(&format!(
        ",\n \"view_update_every\": {},\n \"update_every\": {},\n \"first_entry\": {first},\n \"last_entry\": {last},\n \"before\": {},\n \"after\": {},\n \"dimension_names\": ",
        r.view_update_every, r.update_every, r.before, r.after
    ));
    let no_data = v.cols.is_empty();
    if no_data {
        o.push_str("[\"no data\"],\n \"dimension_ids\": [\"no data\"],\n \"latest_values\": [null],\n \"view_latest_values\": [null]");
    } else {
        push_str_array(&mut o, v.cols.iter().map(|&d| r.dims[d].name.as_str()));
        o.push_str(",\n \"dimension_ids\": ");
        push_str_array(&mut o, v.cols.iter().map(|&d| r.dims[d].id.as_str()));
        o.push_str(",\n \"latest_values\": ");
        push_numbers(
            &mut o,
            v.cols.iter().map(|&d| match (chart.store.last_time(), r.dims[d].column) {
                (Some(t), col) => match chart.store.get(col, t) {
                    Sample::Value { value, .. } => value,
                    Sample::Gap => f64::NAN,
                },
                (None, _) => f64::NAN,
            }),
        );
        o.push_str(",\n \"view_latest_values\": [");
        let newest = r.rows().checked_sub(1);
        let mut ignore = MinMax::new();
        for (i, &d) in v.cols.iter().enumerate() {
            if i > 0 {
                o.push_str(", ");
            }
            match newest {
                Some(row) => v.push_cell(&mut o, v.cell(row, d, v.total_if_needed(row)), &mut ignore),
                None => o.push_str("null"),
            }
        }
        o.push(']');
    }
    o.push_str(&format!(",\n \"dimensions\": {},\n \"points\": {},\n \"format\": ", v.cols.len(), r.rows()));
    push_str(&mut o, fmt.wrapper_name());
    if v.opts.has(Options::CUSTOM_VARS) {
        o.push_str(",\n \"chart_variables\": {");
        for (i, var) in chart.variables.iter().enumerate() {
            o.push_str(if i == 0 { "\n  " } else { ",\n  " });
            push_str(&mut o, &var.name);
            o.push_str(": ");
            o.push_str(&crate::web::number::fixed5(var.value));
        }
        o.push_str("\n }");
    }
    o.push_str(",\n \"result\": ");
    if as_string {
        push_str(&mut o, payload);
    } else {
        o.push_str(payload);
    }
    o.push_str(",\n \"min\": ");
    push_value(&mut o, mm.min);
    o.push_str(",\n \"max\": ");
    push_value(&mut o, mm.max);
    o.push_str("\n}");
    o
}

/// Renders a query result of `chart` in `fmt` with `opts` as a complete response.
pub fn render(
    chart: &Chart,
    r: &QueryResult,
    fmt: Format,
    opts: Options,
    callback: &str,
    tqx: Option<&Tqx>,
) -> Response {
    let v = View::new(r, opts);
    let mut mm = MinMax::new();
    if fmt == Format::Datasource {
        let default_tqx = Tqx::default();
        let t = tqx.unwrap_or(&default_tqx);
        let last = chart.store.last_time().unwrap_or(0);
        let head = format!("{}({{version:'{}',reqId:'{}',status:", t.response_handler, t.version, t.req_id);
        let body = if t.sig.parse::<i64>().is_ok_and(|s| s >= last) && last != 0 {
            format!("{head}'error',errors:[{{reason:'not_modified',message:'Data not modified'}}]}});")
        } else {
            format!("{head}'ok',sig:'{last}',table:{}}});", datatable(&v, &mut mm))
        };
        return Response::new(200, content_type::JAVASCRIPT, body);
    }
    let wrapped = opts.has(Options::JSON_WRAP);
    let (body, as_string) = payload(&v, fmt, wrapped, &mut mm);
    let (mut body, ct) = if wrapped {
        (wrap(chart, &v, fmt, &body, as_string, mm), content_type::JSON)
    } else {
        (body, content_type_of(fmt))
    };
    let mut ct = ct;
    if fmt == Format::Jsonp {
        body = format!("{callback}({body});");
        ct = content_type::JAVASCRIPT;
    }
    Response::new(200, ct, body)
}
