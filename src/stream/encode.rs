//! Encoder of the line protocol and of the STREAM request, in the exact formats real
//! children produce (spec §4.4, §2.2, REC-14).
//!
//! Owns: appending protocol lines to a `Vec<u8>` (used by the load generator, tests, and
//! our sender/proxy). Invariants: every line ends with `\n`; string fields are always
//! double-quoted and sanitised (`"` → `'`, `\` → `/`, control bytes → space) so a
//! quoted field can never end early or swallow the line; unquoted names lose anything
//! that would split them; numbers are written without heap allocation. What
//! [`crate::stream::command::parse_line`] and [`crate::stream::request::parse_stream_request`]
//! read back is exactly the sanitised input.

use std::io::Write as _;

use crate::stream::command::VariableScope;
use crate::stream::tokenizer::is_separator;

/// A `CHART` definition. `S` is any byte-string type (`&str`, `&[u8]`, `String`, …), so
/// both borrowed and owned field values can be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartDef<S> {
    /// Full `type.id`.
    pub type_id: S,
    /// Empty when the name equals the id, else the part after the type.
    pub name: S,
    pub title: S,
    pub units: S,
    pub family: S,
    pub context: S,
    /// `line`, `area` or `stacked`.
    pub chart_type: S,
    pub priority: i64,
    pub update_every: i64,
    /// See [`chart_options`].
    pub options: S,
    pub plugin: S,
    pub module: S,
}

/// A `DIMENSION` definition (see [`ChartDef`] for `S`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionDef<S> {
    pub id: S,
    pub name: S,
    /// `absolute`, `incremental`, `percentage-of-absolute-row`,
    /// `percentage-of-incremental-row`.
    pub algorithm: S,
    pub multiplier: i64,
    pub divisor: i64,
    /// See [`dimension_options`].
    pub options: S,
}

/// The CHART options field as children write it: four slots separated by single spaces,
/// each `obsolete` / `detail` / `store_first` / `hidden` or empty (`"   "` for none).
pub fn chart_options(obsolete: bool, detail: bool, store_first: bool, hidden: bool) -> String {
    [
        if obsolete { "obsolete" } else { "" },
        if detail { "detail" } else { "" },
        if store_first { "store_first" } else { "" },
        if hidden { "hidden" } else { "" },
    ]
    .join(" ")
}

/// The DIMENSION options field: three slots, `obsolete` / `hidden` / `noreset` or empty
/// (`"  "` for none).
pub fn dimension_options(obsolete: bool, hidden: bool, noreset: bool) -> String {
    [if obsolete { "obsolete" } else { "" }, if hidden { "hidden" } else { "" }, if noreset { "noreset" } else { "" }]
        .join(" ")
}

/// The byte a quoted field holds instead of `b`.
#[inline]
fn quoted_byte(b: u8) -> u8 {
    match b {
        b'"' => b'\'',
        b'\\' => b'/',
        0..=0x1f | 0x7f => b' ',
        other => other,
    }
}

/// What a quoted field reads back as after [`quoted`] (for tests and callers that keep
/// the sent value).
pub fn sanitize_quoted(s: &[u8]) -> Vec<u8> {
    s.iter().map(|&b| quoted_byte(b)).collect()
}

/// The byte an unquoted word holds instead of `b`.
#[inline]
fn bare_byte(b: u8) -> u8 {
    if is_separator(b) || matches!(b, b'"' | b'\'' | b'\\' | 0..=0x1f | 0x7f) {
        b'_'
    } else {
        b
    }
}

/// What an unquoted word reads back as after [`bare`].
pub fn sanitize_bare(s: &[u8]) -> Vec<u8> {
    s.iter().map(|&b| bare_byte(b)).collect()
}

/// Appends `"s"` (sanitised).
fn quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend(s.iter().map(|&b| quoted_byte(b)));
    out.push(b'"');
}

/// Appends an unquoted word (sanitised).
fn bare(out: &mut Vec<u8>, s: &[u8]) {
    out.extend(s.iter().map(|&b| bare_byte(b)));
}

fn int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// `CHART "type.id" "name" "title" "units" "family" "context" "charttype" priority update_every "options" "plugin" "module"`
pub fn chart<S: AsRef<[u8]>>(out: &mut Vec<u8>, c: &ChartDef<S>) {
    out.extend_from_slice(b"CHART ");
    for f in [&c.type_id, &c.name, &c.title, &c.units, &c.family, &c.context, &c.chart_type] {
        quoted(out, f.as_ref());
        out.push(b' ');
    }
    int(out, c.priority);
    out.push(b' ');
    int(out, c.update_every);
    for f in [&c.options, &c.plugin, &c.module] {
        out.push(b' ');
        quoted(out, f.as_ref());
    }
    out.push(b'\n');
}

/// `DIMENSION "id" "name" "algorithm" multiplier divisor "options"`
pub fn dimension<S: AsRef<[u8]>>(out: &mut Vec<u8>, d: &DimensionDef<S>) {
    out.extend_from_slice(b"DIMENSION ");
    for f in [&d.id, &d.name, &d.algorithm] {
        quoted(out, f.as_ref());
        out.push(b' ');
    }
    int(out, d.multiplier);
    out.push(b' ');
    int(out, d.divisor);
    out.push(b' ');
    quoted(out, d.options.as_ref());
    out.push(b'\n');
}

/// `VARIABLE HOST|CHART name = value` with the value as C's `%.7f` (`nan`, `inf`,
/// `-inf` for non-finite values). [`VariableScope::Auto`] writes no scope word. The name
/// must be non-empty (an empty one is FATAL at the parent).
pub fn variable(out: &mut Vec<u8>, scope: VariableScope, name: &[u8], value: f64) {
    out.extend_from_slice(match scope {
        VariableScope::Host => b"VARIABLE HOST ",
        VariableScope::Chart => b"VARIABLE CHART ",
        VariableScope::Auto => b"VARIABLE ",
    });
    bare(out, name);
    out.extend_from_slice(b" = ");
    if value.is_nan() {
        out.extend_from_slice(b"nan");
    } else if value.is_infinite() {
        out.extend_from_slice(if value > 0.0 { b"inf" } else { b"-inf" });
    } else {
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{value:.7}");
    }
    out.push(b'\n');
}

/// `BEGIN "type.id" microseconds`
pub fn begin(out: &mut Vec<u8>, chart: &[u8], microseconds: u64) {
    out.extend_from_slice(b"BEGIN ");
    quoted(out, chart);
    out.push(b' ');
    int(out, microseconds);
    out.push(b'\n');
}

/// `SET "id" = value`
pub fn set(out: &mut Vec<u8>, dimension: &[u8], value: i64) {
    out.extend_from_slice(b"SET ");
    quoted(out, dimension);
    out.extend_from_slice(b" = ");
    int(out, value);
    out.push(b'\n');
}

/// `END`
pub fn end(out: &mut Vec<u8>) {
    out.extend_from_slice(b"END\n");
}

/// `LABEL "name" = source "value"` (the v1.37.1 form).
pub fn label(out: &mut Vec<u8>, name: &[u8], source: i64, value: &[u8]) {
    out.extend_from_slice(b"LABEL ");
    quoted(out, name);
    out.extend_from_slice(b" = ");
    int(out, source);
    out.push(b' ');
    quoted(out, value);
    out.push(b'\n');
}

/// `OVERWRITE labels`
pub fn overwrite(out: &mut Vec<u8>) {
    out.extend_from_slice(b"OVERWRITE labels\n");
}

/// `CLAIMED_ID machine_guid claim_id|NULL` (both should be GUIDs).
pub fn claimed_id(out: &mut Vec<u8>, machine_guid: &[u8], claim_id: Option<&[u8]>) {
    out.extend_from_slice(b"CLAIMED_ID ");
    bare(out, machine_guid);
    out.push(b' ');
    match claim_id {
        Some(c) => bare(out, c),
        None => out.extend_from_slice(b"NULL"),
    }
    out.push(b'\n');
}

/// `CLABEL "name" "value" source`
pub fn clabel(out: &mut Vec<u8>, name: &[u8], value: &[u8], source: i64) {
    out.extend_from_slice(b"CLABEL ");
    quoted(out, name);
    out.push(b' ');
    quoted(out, value);
    out.push(b' ');
    int(out, source);
    out.push(b'\n');
}

/// `CLABEL_COMMIT`
pub fn clabel_commit(out: &mut Vec<u8>) {
    out.extend_from_slice(b"CLABEL_COMMIT\n");
}

/// The values of a STREAM request (§2.2, v1.37.1 field order). `None` fields are not
/// sent at all; empty strings are sent as `name=` (the parent treats them as absent).
#[derive(Debug, Clone, Default)]
pub struct RequestParams<'a> {
    pub key: &'a str,
    pub hostname: &'a str,
    pub registry_hostname: &'a str,
    pub machine_guid: &'a str,
    pub update_every: u64,
    pub os: &'a str,
    pub timezone: &'a str,
    pub abbrev_timezone: Option<&'a str>,
    pub utc_offset: Option<i64>,
    pub hops: Option<i64>,
    pub ml_capable: Option<i64>,
    pub ml_enabled: Option<i64>,
    pub mc_version: Option<i64>,
    pub tags: &'a str,
    /// The offer (`ver=`): 3, or 4 with chart labels (§3.7).
    pub ver: u64,
    /// `NETDATA_*` system-info pairs. Names stored by the parser as
    /// `NETDATA_HOST_OS_*` are sent as `NETDATA_SYSTEM_OS_*` again.
    pub system_info: &'a [(String, String)],
    pub program_name: &'a str,
    pub program_version: &'a str,
}

/// Appends a percent-encoded query value: alphanumerics and `-_.~` kept, space → `+`,
/// other bytes `%xx` (lower-case hex). `&` and control bytes cannot survive the
/// parent's decode-then-split parsing, so they are sent as spaces.
fn query_value(out: &mut Vec<u8>, v: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in v.as_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b),
            b' ' | b'&' | 0..=0x1f | 0x7f => out.push(b'+'),
            _ => out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]),
        }
    }
}

fn query_pair(out: &mut Vec<u8>, first: bool, name: &str, value: &str) {
    if !first {
        out.push(b'&');
    }
    out.extend_from_slice(name.as_bytes());
    out.push(b'=');
    query_value(out, value);
}

fn query_int(out: &mut Vec<u8>, name: &str, value: impl itoa::Integer) {
    out.push(b'&');
    out.extend_from_slice(name.as_bytes());
    out.push(b'=');
    int(out, value);
}

/// Header values lose CR, LF and other control bytes.
fn header_value(out: &mut Vec<u8>, v: &str) {
    out.extend(v.bytes().map(|b| if b < 0x20 || b == 0x7f { b' ' } else { b }));
}

/// Appends the complete STREAM request: request line, `User-Agent`, `Accept` and the
/// blank line. A `/` in the program name is sent as `_` (the parent splits at the
/// first `/`). The caller keeps the request within 8192 bytes, as children do.
pub fn stream_request(out: &mut Vec<u8>, p: &RequestParams<'_>) {
    out.extend_from_slice(b"STREAM ");
    query_pair(out, true, "key", p.key);
    query_pair(out, false, "hostname", p.hostname);
    query_pair(out, false, "registry_hostname", p.registry_hostname);
    query_pair(out, false, "machine_guid", p.machine_guid);
    query_int(out, "update_every", p.update_every);
    query_pair(out, false, "os", p.os);
    query_pair(out, false, "timezone", p.timezone);
    if let Some(v) = p.abbrev_timezone {
        query_pair(out, false, "abbrev_timezone", v);
    }
    for (name, v) in [
        ("utc_offset", p.utc_offset),
        ("hops", p.hops),
        ("ml_capable", p.ml_capable),
        ("ml_enabled", p.ml_enabled),
        ("mc_version", p.mc_version),
    ] {
        if let Some(v) = v {
            query_int(out, name, v);
        }
    }
    query_pair(out, false, "tags", p.tags);
    query_int(out, "ver", p.ver);
    for (name, value) in p.system_info {
        let sent = match name.strip_prefix("NETDATA_HOST_OS_") {
            Some(suffix) => format!("NETDATA_SYSTEM_OS_{suffix}"),
            None => name.clone(),
        };
        let sent: String = sent.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
        query_pair(out, false, &sent, value);
    }
    out.extend_from_slice(b"&NETDATA_PROTOCOL_VERSION=1.1 HTTP/1.1\r\nUser-Agent: ");
    header_value(out, &p.program_name.replace('/', "_"));
    out.push(b'/');
    header_value(out, p.program_version);
    out.extend_from_slice(b"\r\nAccept: */*\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::command::{parse_line, Command};
    use crate::stream::request::parse_stream_request;
    use crate::stream::tokenizer::tokenize;
    use proptest::prelude::*;

    fn text(out: &[u8]) -> &str {
        std::str::from_utf8(out).unwrap()
    }

    #[test]
    fn formats_match_real_children() {
        let mut out = Vec::new();
        chart(
            &mut out,
            &ChartDef {
                type_id: "system.cpu",
                name: "",
                title: "Total CPU utilization",
                units: "percentage",
                family: "cpu",
                context: "system.cpu",
                chart_type: "stacked",
                priority: 100,
                update_every: 1,
                options: &chart_options(false, false, false, false),
                plugin: "proc.plugin",
                module: "/proc/stat",
            },
        );
        assert_eq!(
            text(&out),
            "CHART \"system.cpu\" \"\" \"Total CPU utilization\" \"percentage\" \"cpu\" \"system.cpu\" \"stacked\" 100 1 \"   \" \"proc.plugin\" \"/proc/stat\"\n"
        );
        out.clear();
        dimension(
            &mut out,
            &DimensionDef {
                id: "user".to_string(),
                name: "user".to_string(),
                algorithm: "percentage-of-incremental-row".to_string(),
                multiplier: 1,
                divisor: 1,
                options: dimension_options(false, false, false),
            },
        );
        assert_eq!(text(&out), "DIMENSION \"user\" \"user\" \"percentage-of-incremental-row\" 1 1 \"  \"\n");
        out.clear();
        variable(&mut out, VariableScope::Host, b"max_conn", 100.0);
        variable(&mut out, VariableScope::Chart, b"x", -1.0);
        variable(&mut out, VariableScope::Chart, b"z", 0.0);
        begin(&mut out, b"system.cpu", 0);
        set(&mut out, b"user", -1234567);
        end(&mut out);
        label(&mut out, b"_os_name", 1, b"Debian GNU/Linux");
        overwrite(&mut out);
        claimed_id(&mut out, b"aaaaaaaa-0000-0000-0000-000000000001", None);
        clabel(&mut out, b"k", b"v", 536870913);
        clabel_commit(&mut out);
        assert_eq!(
            text(&out),
            "VARIABLE HOST max_conn = 100.0000000\n\
             VARIABLE CHART x = -1.0000000\n\
             VARIABLE CHART z = 0.0000000\n\
             BEGIN \"system.cpu\" 0\n\
             SET \"user\" = -1234567\n\
             END\n\
             LABEL \"_os_name\" = 1 \"Debian GNU/Linux\"\n\
             OVERWRITE labels\n\
             CLAIMED_ID aaaaaaaa-0000-0000-0000-000000000001 NULL\n\
             CLABEL \"k\" \"v\" 536870913\n\
             CLABEL_COMMIT\n"
        );
        assert_eq!(chart_options(false, true, false, false), " detail  ");
        assert_eq!(chart_options(true, false, false, false), "obsolete   ");
        assert_eq!(dimension_options(false, true, false), " hidden ");
    }

    #[test]
    fn sanitising() {
        let mut out = Vec::new();
        set(&mut out, b"a\"b\\c\nd", 1);
        assert_eq!(text(&out), "SET \"a'b/c d\" = 1\n");
        out.clear();
        variable(&mut out, VariableScope::Auto, b"a b=c\"", f64::NAN);
        variable(&mut out, VariableScope::Auto, b"i", f64::NEG_INFINITY);
        assert_eq!(text(&out), "VARIABLE a_b_c_ = nan\nVARIABLE i = -inf\n");
    }

    #[test]
    fn fixture_request_round_trips() {
        let path = crate::stream::request::fixtures_dir().join("netdata-1.37.1-child-v3.request");
        let original = parse_stream_request(&std::fs::read(path).unwrap()).unwrap();
        let mut out = Vec::new();
        let p = RequestParams {
            key: original.key.as_deref().unwrap_or(""),
            hostname: original.hostname.as_deref().unwrap_or(""),
            registry_hostname: original.registry_hostname.as_deref().unwrap_or(""),
            machine_guid: original.machine_guid.as_deref().unwrap_or(""),
            update_every: original.update_every.unwrap_or(1),
            os: original.os.as_deref().unwrap_or(""),
            timezone: original.timezone.as_deref().unwrap_or(""),
            abbrev_timezone: original.abbrev_timezone.as_deref(),
            utc_offset: original.utc_offset,
            hops: original.hops,
            ml_capable: original.ml_capable,
            ml_enabled: original.ml_enabled,
            mc_version: original.mc_version,
            tags: original.tags.as_deref().unwrap_or(""),
            ver: original.offer,
            system_info: &original.system_info,
            program_name: original.program_name.as_deref().unwrap_or(""),
            program_version: original.program_version.as_deref().unwrap_or(""),
        };
        stream_request(&mut out, &p);
        assert!(out.starts_with(b"STREAM key=11111111-2222-3333-4444-555555555555&hostname=capture-child&"));
        assert!(out.ends_with(
            b"&NETDATA_PROTOCOL_VERSION=1.1 HTTP/1.1\r\nUser-Agent: netdata/v1.37.1\r\nAccept: */*\r\n\r\n"
        ));
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("&NETDATA_SYSTEM_OS_NAME=Debian+GNU%2fLinux&"));
        assert!(text.contains("&tags=&ver=16376&"));
        assert_eq!(parse_stream_request(&out).unwrap(), original);
    }

    fn field() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 ._=\"'\\\\/%+&()é\t-]{0,24}"
    }

    fn id() -> impl Strategy<Value = String> {
        "[a-z0-9_\"'\\\\ =-][a-z0-9_.\"'\\\\ =-]{0,30}"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn chart_and_dimension_round_trip(
            ty in id(), cid in id(), fields in proptest::collection::vec(field(), 9),
            priority in any::<i64>(), update_every in any::<i64>(),
            multiplier in any::<i64>(), divisor in any::<i64>(),
        ) {
            let type_id = format!("{ty}.{cid}");
            let def = ChartDef {
                type_id: type_id.as_str(),
                name: &fields[0], title: &fields[1], units: &fields[2], family: &fields[3],
                context: &fields[4], chart_type: &fields[5], priority, update_every,
                options: &fields[6], plugin: &fields[7], module: &fields[8],
            };
            let mut out = Vec::new();
            chart(&mut out, &def);
            prop_assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
            let line = &out[..out.len() - 1];
            let words = tokenize(line);
            prop_assert_eq!(words.len(), 13);
            let s = |f: &String| sanitize_quoted(f.as_bytes());
            match parse_line(line, 4).unwrap().command {
                Some(Command::Chart(c)) => {
                    prop_assert_eq!(c.type_id, &sanitize_quoted(type_id.as_bytes())[..]);
                    prop_assert_eq!(c.name, Some(&s(&fields[0])[..]));
                    prop_assert_eq!(c.title, Some(&s(&fields[1])[..]));
                    prop_assert_eq!(c.units, Some(&s(&fields[2])[..]));
                    prop_assert_eq!(c.family, Some(&s(&fields[3])[..]));
                    prop_assert_eq!(c.context, Some(&s(&fields[4])[..]));
                    prop_assert_eq!(c.chart_type, Some(&s(&fields[5])[..]));
                    prop_assert_eq!(c.priority, Some(priority));
                    prop_assert_eq!(c.update_every, Some(update_every));
                    prop_assert_eq!(c.options, Some(&s(&fields[6])[..]));
                    prop_assert_eq!(c.plugin, Some(&s(&fields[7])[..]));
                    prop_assert_eq!(c.module, Some(&s(&fields[8])[..]));
                }
                other => prop_assert!(false, "{:?}", other),
            }

            out.clear();
            dimension(&mut out, &DimensionDef {
                id: cid.as_bytes(), name: fields[0].as_bytes(), algorithm: fields[1].as_bytes(),
                multiplier, divisor, options: fields[2].as_bytes(),
            });
            match parse_line(&out[..out.len() - 1], 0).unwrap().command {
                Some(Command::Dimension(d)) => {
                    prop_assert_eq!(d.id, &sanitize_quoted(cid.as_bytes())[..]);
                    prop_assert_eq!(d.name, Some(&s(&fields[0])[..]));
                    prop_assert_eq!(d.algorithm, Some(&s(&fields[1])[..]));
                    prop_assert_eq!(d.multiplier, Some(multiplier));
                    prop_assert_eq!(d.divisor, Some(divisor));
                    prop_assert_eq!(d.options, Some(&s(&fields[2])[..]));
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn data_lines_round_trip(
            chart_id in id(), dim in id(), us in any::<u64>(), value in any::<i64>(),
        ) {
            let mut out = Vec::new();
            begin(&mut out, chart_id.as_bytes(), us);
            set(&mut out, dim.as_bytes(), value);
            end(&mut out);
            let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
            prop_assert_eq!(lines.len(), 4);
            match parse_line(lines[0], 3).unwrap().command {
                Some(Command::Begin { chart, microseconds }) => {
                    prop_assert_eq!(chart, &sanitize_quoted(chart_id.as_bytes())[..]);
                    prop_assert_eq!(microseconds, us);
                }
                other => prop_assert!(false, "{:?}", other),
            }
            match parse_line(lines[1], 3).unwrap().command {
                Some(Command::Set { dimension, value: v }) => {
                    prop_assert_eq!(dimension, &sanitize_quoted(dim.as_bytes())[..]);
                    prop_assert_eq!(v, Some(value));
                }
                other => prop_assert!(false, "{:?}", other),
            }
            prop_assert!(matches!(parse_line(lines[2], 3).unwrap().command, Some(Command::End)));
        }

        #[test]
        fn labels_variables_claims_round_trip(
            name in "[a-zA-Z0-9_ .=\"'\\\\-]{1,20}", value in field(), source in any::<i64>(),
            number in any::<f64>(), host in any::<bool>(),
            guid in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            claim in proptest::option::of("[0-9A-F]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
        ) {
            let mut out = Vec::new();
            label(&mut out, name.as_bytes(), source, value.as_bytes());
            match parse_line(&out[..out.len() - 1], 1).unwrap().command {
                Some(Command::Label { name: n, source: s, value: v }) => {
                    prop_assert_eq!(n, &sanitize_quoted(name.as_bytes())[..]);
                    prop_assert_eq!(s, source);
                    prop_assert_eq!(v.joined(), sanitize_quoted(value.as_bytes()));
                }
                other => prop_assert!(false, "{:?}", other),
            }

            out.clear();
            clabel(&mut out, name.as_bytes(), value.as_bytes(), source);
            match parse_line(&out[..out.len() - 1], 4).unwrap().command {
                Some(Command::ChartLabel { name: n, value: v, source: s }) => {
                    prop_assert_eq!(n, &sanitize_quoted(name.as_bytes())[..]);
                    prop_assert_eq!(v, &sanitize_quoted(value.as_bytes())[..]);
                    prop_assert_eq!(s, source);
                }
                other => prop_assert!(false, "{:?}", other),
            }

            out.clear();
            let scope = if host { VariableScope::Host } else { VariableScope::Chart };
            variable(&mut out, scope, name.as_bytes(), number);
            let parsed = parse_line(&out[..out.len() - 1], 0).unwrap();
            prop_assert_eq!(parsed.warning, None);
            match parsed.command {
                Some(Command::Variable { scope: sc, name: n, value: v }) => {
                    prop_assert_eq!(sc, scope);
                    prop_assert_eq!(n, &sanitize_bare(name.as_bytes())[..]);
                    if number.is_nan() {
                        prop_assert!(v.is_nan());
                    } else if number.is_finite() {
                        let expected: f64 = format!("{number:.7}").parse().unwrap();
                        prop_assert_eq!(v, expected);
                    } else {
                        prop_assert_eq!(v, number);
                    }
                }
                other => prop_assert!(false, "{:?}", other),
            }

            out.clear();
            claimed_id(&mut out, guid.as_bytes(), claim.as_deref().map(str::as_bytes));
            match parse_line(&out[..out.len() - 1], 3).unwrap().command {
                Some(Command::ClaimedId { machine_guid, claim_id }) => {
                    prop_assert_eq!(machine_guid, guid.as_bytes());
                    prop_assert_eq!(claim_id, claim.as_deref().map(str::as_bytes));
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn request_round_trips(
            hostname in "[a-zA-Z0-9 ._/%+=()é'\"-]{1,30}",
            tags in "[a-zA-Z0-9 ._/%+=:é-]{0,30}",
            timezone in "[a-zA-Z/+_-]{1,20}",
            os_name in "[a-zA-Z0-9 ()/.-]{1,20}",
            ver in any::<u32>(),
            utc_offset in proptest::option::of(any::<i64>()),
            hops in proptest::option::of(any::<i64>()),
            version in "[a-zA-Z0-9./-]{1,12}",
        ) {
            let system_info = vec![
                ("NETDATA_HOST_OS_NAME".to_string(), os_name.clone()),
                ("NETDATA_SYSTEM_KERNEL_NAME".to_string(), "Linux".to_string()),
            ];
            let p = RequestParams {
                key: "11111111-2222-3333-4444-555555555555",
                hostname: &hostname,
                registry_hostname: &hostname,
                machine_guid: "aaaaaaaa-0000-0000-0000-000000000001",
                update_every: 1,
                os: "linux",
                timezone: &timezone,
                abbrev_timezone: Some("UTC"),
                utc_offset,
                hops,
                tags: &tags,
                ver: u64::from(ver),
                system_info: &system_info,
                program_name: "netdata",
                program_version: &version,
                ..RequestParams::default()
            };
            let mut out = Vec::new();
            stream_request(&mut out, &p);
            let r = parse_stream_request(&out).unwrap();
            prop_assert_eq!(r.hostname.as_deref(), Some(hostname.as_str()));
            prop_assert_eq!(r.tags.as_deref(), (!tags.is_empty()).then_some(tags.as_str()));
            prop_assert_eq!(r.timezone.as_deref(), Some(timezone.as_str()));
            prop_assert_eq!(r.offer, u64::from(ver));
            prop_assert_eq!(r.utc_offset, utc_offset);
            prop_assert_eq!(r.hops, hops);
            prop_assert_eq!(r.system_info, system_info);
            prop_assert_eq!(r.program_name.as_deref(), Some("netdata"));
            prop_assert_eq!(r.program_version.as_deref(), Some(version.as_str()));
            prop_assert!(r.unused.is_empty());
        }
    }
}
