//! What a sender tells its parent about a host, generated from the host model in the
//! formats real children use (streaming-protocol.md §4.4, §5.1, REC-14).
//!
//! Owns: the host metadata block (`VARIABLE HOST` …, `CLAIMED_ID` at v ≥ 3, `LABEL` … +
//! `OVERWRITE labels` at v ≥ 1) and a chart's definition block (`CHART`, `CLABEL` … +
//! `CLABEL_COMMIT` at v ≥ 4 when the chart has labels, `DIMENSION` …, `VARIABLE CHART` …).
//! Invariants: everything written parses back (with the tokenizer of §4.1) into the same
//! model values, modulo the encoder's sanitising of quotes; nothing is written that the
//! negotiated version does not allow. Pure: host in, bytes out.

use crate::hosts::names::sanitize_name;
use crate::hosts::{Chart, Host};
use crate::stream::command::VariableScope;
use crate::stream::encode::{self, chart_options, dimension_options, ChartDef, DimensionDef};

/// The `CHART` name field: empty when the display name is the (sanitised) id, else the
/// display name without its `type.` prefix.
pub fn chart_name_field(chart: &Chart) -> &str {
    if chart.name == sanitize_name(chart.id.as_bytes()) {
        return "";
    }
    match chart.name.split_once('.') {
        Some((_, rest)) => rest,
        None => &chart.name,
    }
}

/// Host variables, claim id and host labels, as far as `version` allows.
pub fn host_metadata(out: &mut Vec<u8>, host: &Host, version: u32) {
    for v in host.variables.iter().filter(|v| !v.name.is_empty()) {
        encode::variable(out, VariableScope::Host, v.name.as_bytes(), v.value);
    }
    if version >= 3 {
        encode::claimed_id(out, host.info.machine_guid.as_bytes(), host.claim_id.as_deref().map(str::as_bytes));
    }
    if version >= 1 {
        for l in &host.labels {
            encode::label(out, l.name.as_bytes(), l.source, l.value.as_bytes());
        }
        encode::overwrite(out);
    }
}

/// The definition block of one chart.
pub fn chart_definition(out: &mut Vec<u8>, chart: &Chart, version: u32) {
    encode::chart(
        out,
        &ChartDef {
            type_id: chart.id.as_str(),
            name: chart_name_field(chart),
            title: &chart.title,
            units: &chart.units,
            family: &chart.family,
            context: &chart.context,
            chart_type: chart.chart_type.name(),
            priority: chart.priority,
            update_every: i64::from(chart.update_every),
            options: &chart_options(chart.obsolete, chart.detail, chart.store_first, chart.hidden),
            plugin: &chart.plugin,
            module: chart.module.as_deref().unwrap_or(""),
        },
    );
    if version >= 4 && !chart.labels.is_empty() {
        for l in &chart.labels {
            encode::clabel(out, l.name.as_bytes(), l.value.as_bytes(), l.source);
        }
        encode::clabel_commit(out);
    }
    for d in &chart.dims {
        encode::dimension(
            out,
            &DimensionDef {
                id: d.id(),
                name: d.name(),
                algorithm: d.algorithm.name(),
                multiplier: d.multiplier,
                divisor: d.divisor,
                options: &dimension_options(d.obsolete, d.hidden, d.noreset),
            },
        );
    }
    for v in chart.variables.iter().filter(|v| !v.name.is_empty()) {
        encode::variable(out, VariableScope::Chart, v.name.as_bytes(), v.value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::{HostInfo, MemoryMode, ReceiverSession};
    use crate::stream::command::parse_line;

    const GUID: &str = "aaaaaaaa-0000-0000-0000-000000000001";

    fn host() -> Host {
        let info = HostInfo { machine_guid: GUID.into(), hostname: "h".into(), ..Default::default() };
        Host::new(info, MemoryMode::None, 5)
    }

    /// Applies protocol text to `host` at `version`; panics on any error or warning.
    fn apply(host: &mut Host, version: u32, text: &[u8]) {
        let mut s = ReceiverSession::new(version, "10.0.0.1:1234", 1);
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let parsed = parse_line(line, version).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(line)));
            assert_eq!(parsed.warning, None);
            let cmd = parsed.command.expect("a command");
            assert_eq!(s.apply(host, cmd, 1_000_000_000), Ok(None), "{}", String::from_utf8_lossy(line));
        }
    }

    fn same_chart(a: &Chart, b: &Chart, labels: bool) {
        let fields = |c: &Chart| {
            (
                c.id.clone(),
                c.name.clone(),
                c.title.clone(),
                c.units.clone(),
                c.family.clone(),
                c.context.clone(),
                c.chart_type,
                c.priority,
                c.update_every,
                (c.obsolete, c.detail, c.store_first, c.hidden),
                c.plugin.clone(),
                // A missing module is sent as "".
                c.module.clone().unwrap_or_default(),
            )
        };
        assert_eq!(fields(a), fields(b));
        let dims = |c: &Chart| {
            c.dims
                .iter()
                .map(|d| {
                    (
                        d.id().to_string(),
                        d.name().to_string(),
                        d.algorithm,
                        d.multiplier,
                        d.divisor,
                        d.hidden,
                        d.obsolete,
                        d.noreset,
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(dims(a), dims(b));
        assert_eq!(a.variables, b.variables);
        if labels {
            assert_eq!(a.labels, b.labels);
        } else {
            assert!(b.labels.is_empty());
        }
    }

    const SOURCE: &[u8] = b"VARIABLE HOST max = 10.5\n\
CLAIMED_ID aaaaaaaa-0000-0000-0000-000000000001 bbbbbbbb-1111-2222-3333-444444444444\n\
LABEL \"_os\" = 1 \"Debian GNU/Linux\"\n\
LABEL \"k\" = 536870913 v\n\
OVERWRITE labels\n\
CHART \"system.cpu\" \"\" \"Total CPU utilization\" \"percentage\" \"cpu\" \"system.cpu\" \"stacked\" 100 1 \" detail  \" \"proc.plugin\" \"/proc/stat\"\n\
CLABEL \"l1\" \"v1\" 1\n\
CLABEL_COMMIT\n\
DIMENSION \"user\" \"\" \"percentage-of-incremental-row\" 1 1 \"  \"\n\
DIMENSION \"nice\" \"Nice!\" \"incremental\" -8 1024 \"obsolete hidden noreset\"\n\
VARIABLE CHART limit = -2\n\
CHART \"net.eth0\" \"eth0_renamed\" \"t\" \"u\" \"\" \"\" \"area\" -5 5 \"obsolete   \" \"\" \"\"\n\
DIMENSION \"received\" \"in\" \"absolute\" 8 1000\n\
CHART apps.mem\n";

    #[test]
    fn definitions_round_trip_through_a_parent() {
        for version in [0u32, 1, 3, 4] {
            let mut src = host();
            apply(&mut src, 4, SOURCE);
            let mut out = Vec::new();
            host_metadata(&mut out, &src, version);
            for c in &src.charts {
                chart_definition(&mut out, c, version);
            }
            let mut dst = host();
            apply(&mut dst, version, &out);
            assert_eq!(dst.variables, src.variables);
            assert_eq!(dst.claim_id, if version >= 3 { src.claim_id.clone() } else { None });
            assert_eq!(dst.labels, if version >= 1 { src.labels.clone() } else { Vec::new() });
            assert_eq!(dst.charts.len(), 3);
            for (a, b) in src.charts.iter().zip(&dst.charts) {
                same_chart(a, b, version >= 4);
            }
        }
    }

    #[test]
    fn exact_lines() {
        let mut src = host();
        apply(&mut src, 4, SOURCE);
        let mut out = Vec::new();
        chart_definition(&mut out, &src.charts[1], 4);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "CHART \"net.eth0\" \"eth0_renamed\" \"t\" \"u\" \"net\" \"net.eth0\" \"area\" -5 5 \"obsolete   \" \"10.0.0.1:1234\" \"\"\n\
             DIMENSION \"received\" \"in\" \"absolute\" 8 1000 \"  \"\n"
        );
        let mut out = Vec::new();
        host_metadata(&mut out, &src, 3);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "VARIABLE HOST max = 10.5000000\n\
             CLAIMED_ID aaaaaaaa-0000-0000-0000-000000000001 bbbbbbbb-1111-2222-3333-444444444444\n\
             LABEL \"_os\" = 1 \"Debian GNU/Linux\"\n\
             LABEL \"k\" = 536870913 \"v\"\n\
             OVERWRITE labels\n"
        );
        let mut out = Vec::new();
        host_metadata(&mut out, &src, 0);
        assert_eq!(String::from_utf8(out).unwrap(), "VARIABLE HOST max = 10.5000000\n");
        assert_eq!(chart_name_field(&src.charts[0]), "");
        assert_eq!(chart_name_field(&src.charts[1]), "eth0_renamed");
    }
}
