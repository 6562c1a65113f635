//! Hand-built hosts, charts and stored values for the API tests.

use std::collections::HashMap;

use strata_storage::{ChartStore, Sample};

use super::{ApiContext, HostSummary};
use crate::hosts::{Algorithm, Chart, ChartType, Dimension, Host, HostInfo, Label, MemoryMode, Variable};

/// Time of the first stored slot of the test charts (a multiple of 1000).
pub const T0: i64 = 1_612_343_000;

pub fn dim(id: &str, name: &str) -> Dimension {
    let mut d = Dimension::new(id);
    d.set_name(name);
    d
}

/// A chart `id` (name = id) whose slot `i` is at `T0 + i*ue` and holds `rows[i]`
/// (one entry per dimension, `None` = gap).
pub fn chart_rows(id: &str, dims: &[(&str, &str)], ue: u32, rows: &[Vec<Option<f64>>]) -> Chart {
    chart_rows_in(ChartStore::ram(1000, ue), id, dims, ue, rows)
}

/// [`chart_rows`] stored in a dbengine with small blocks (`block_slots` rows each), so
/// reads cross sealed blocks and the open one.
pub fn chart_rows_db(id: &str, dims: &[(&str, &str)], ue: u32, rows: &[Vec<Option<f64>>], block_slots: u32) -> Chart {
    use strata_storage::dbengine::{Engine, EngineConfig};
    let engine = Engine::new(EngineConfig { block_slots, ..EngineConfig::new(1 << 24) }, None);
    chart_rows_in(ChartStore::dbengine(&engine, "6b1f0000-0000-0000-0000-000000000001", id, ue), id, dims, ue, rows)
}

/// [`chart_rows`] in the given (empty) store.
pub fn chart_rows_in(
    mut store: ChartStore,
    id: &str,
    dims: &[(&str, &str)],
    ue: u32,
    rows: &[Vec<Option<f64>>],
) -> Chart {
    let mut ds = Vec::new();
    let mut dim_index = crate::hosts::IdIndex::default();
    for (i, (did, name)) in dims.iter().enumerate() {
        store.add_column(did.as_bytes());
        let mut d = dim(did, name);
        d.state.prev = 100 * (i as i64 + 1);
        d.last_collected_ut = (T0 + rows.len().max(1) as i64 * i64::from(ue) - i64::from(ue)) * 1_000_000 + 250_000;
        ds.push(d);
        dim_index.insert(&ds, i);
    }
    for (i, row) in rows.iter().enumerate() {
        let samples: Vec<Sample> = row
            .iter()
            .map(|v| match v {
                Some(value) => Sample::Value { value: *value, reset: false },
                None => Sample::Gap,
            })
            .collect();
        store.append(T0 + i as i64 * i64::from(ue), &samples).expect("increasing slot times");
    }
    let (type_, _) = id.split_once('.').unwrap_or((id, ""));
    Chart {
        id: id.into(),
        type_: type_.into(),
        name: id.into(),
        title: format!("Title of {id}").into(),
        units: "units".into(),
        family: "fam".into(),
        context: id.into(),
        chart_type: ChartType::Line,
        priority: 1000,
        update_every: ue,
        obsolete: false,
        detail: false,
        store_first: false,
        hidden: false,
        plugin: "test.plugin".into(),
        module: None,
        labels: Vec::new(),
        variables: Vec::new(),
        dims: ds,
        dim_index,
        clock: Default::default(),
        store,
    }
}

/// `test.chart` with dimensions `d0`/`dim0` = k and `d1`/`dim1` = 10k at slot k
/// (`n` slots, 1 s), gaps in both at the `gaps` slots.
pub fn chart_with(n: usize, gaps: &[usize]) -> Chart {
    let rows: Vec<Vec<Option<f64>>> = (0..n)
        .map(|k| if gaps.contains(&k) { vec![None, None] } else { vec![Some(k as f64), Some(10.0 * k as f64)] })
        .collect();
    chart_rows("test.chart", &[("d0", "dim0"), ("d1", "dim1")], 1, &rows)
}

fn add_chart(h: &mut Host, c: Chart) {
    let i = h.charts.len();
    h.chart_names.insert(c.name.to_string(), i);
    h.charts.push(c);
    h.index_last_chart();
}

/// `parent1` (localhost) with charts:
/// - `system.cpu` (10 slots from T0): user = k + 0.5, system = 2k (gap at k = 7),
///   hidden `guest` = 1;
/// - `net.eth0` (name `net.eth0_renamed`, 10 slots): received = 100, sent = −50;
/// - `system.old`: obsolete; `system.empty`: no dimensions.
pub fn host_with_charts() -> Host {
    let mut h = Host {
        info: HostInfo {
            machine_guid: "6b1f0000-0000-0000-0000-000000000001".into(),
            hostname: "parent1".into(),
            registry_hostname: "parent1".into(),
            os: "linux".into(),
            timezone: "Etc/UTC".into(),
            abbrev_timezone: "UTC".into(),
            utc_offset: 0,
            tags: None,
            program_name: "netdata".into(),
            program_version: "v1.29.3".into(),
            hops: 0,
            update_every: 1,
            system_info: vec![
                ("NETDATA_HOST_OS_NAME".into(), "Debian GNU/Linux".into()),
                ("NETDATA_HOST_OS_ID".into(), "debian".into()),
                ("NETDATA_HOST_OS_VERSION".into(), "11 (bullseye)".into()),
                ("NETDATA_HOST_OS_VERSION_ID".into(), "11".into()),
                ("NETDATA_HOST_OS_DETECTION".into(), "/etc/os-release".into()),
                ("NETDATA_SYSTEM_CPU_LOGICAL_CPU_COUNT".into(), "8".into()),
                ("NETDATA_SYSTEM_TOTAL_RAM".into(), "16663842816".into()),
                ("NETDATA_SYSTEM_KERNEL_NAME".into(), "Linux".into()),
                ("NETDATA_SYSTEM_KERNEL_VERSION".into(), "5.10.0-8-amd64".into()),
                ("NETDATA_SYSTEM_ARCHITECTURE".into(), "x86_64".into()),
                ("NETDATA_SYSTEM_VIRTUALIZATION".into(), "none".into()),
                ("NETDATA_SYSTEM_CONTAINER".into(), "none".into()),
            ],
        },
        memory_mode: MemoryMode::Ram,
        history: 3996,
        files_dir: None,
        engine: None,
        labels: vec![
            Label { name: "_os_name".into(), value: "Debian GNU/Linux".into(), source: 0 },
            Label { name: "room".into(), value: "lab \"1\"".into(), source: 1 },
        ],
        claim_id: None,
        variables: vec![Variable { name: "my_var".into(), value: 1.5 }],
        charts: Vec::new(),
        chart_index: Default::default(),
        chart_names: HashMap::default(),
        connected: true,
        connected_at: 0,
        disconnected_at: 0,
        created_seq: 0,
        is_localhost: true,
        health: crate::config::HealthSetting::Yes,
        health_enabled: true,
    };

    let rows: Vec<Vec<Option<f64>>> = (0..10)
        .map(|k| vec![Some(k as f64 + 0.5), if k == 7 { None } else { Some(2.0 * k as f64) }, Some(1.0)])
        .collect();
    let mut cpu = chart_rows("system.cpu", &[("user", "user"), ("system", "system"), ("guest", "guest")], 1, &rows);
    cpu.title = "Total CPU utilization".into();
    cpu.units = "percentage".into();
    cpu.family = "cpu".into();
    cpu.chart_type = ChartType::Stacked;
    cpu.priority = 100;
    cpu.plugin = "proc.plugin".into();
    cpu.module = Some("/proc/stat".into());
    cpu.dims[2].hidden = true;
    for d in &mut cpu.dims {
        d.algorithm = Algorithm::Incremental;
    }
    cpu.labels.push(Label { name: "cpu_group".into(), value: "all".into(), source: 1 });
    cpu.variables.push(Variable { name: "cpu_var".into(), value: 2.0 });
    add_chart(&mut h, cpu);

    let rows: Vec<Vec<Option<f64>>> = (0..10).map(|_| vec![Some(100.0), Some(-50.0)]).collect();
    let mut net = chart_rows("net.eth0", &[("received", "received"), ("sent", "sent")], 1, &rows);
    net.name = "net.eth0_renamed".into();
    net.units = "kilobits/s".into();
    net.family = "eth0".into();
    net.context = "net.net".into();
    net.chart_type = ChartType::Area;
    net.plugin = "proc.plugin".into();
    net.module = Some("/proc/net/dev".into());
    net.dims[0].multiplier = 8;
    net.dims[0].divisor = 1000;
    net.dims[1].multiplier = -8;
    net.dims[1].divisor = 1000;
    for d in &mut net.dims {
        d.algorithm = Algorithm::Incremental;
    }
    add_chart(&mut h, net);

    let mut old = chart_rows("system.old", &[("x", "x")], 1, &[vec![Some(1.0)], vec![Some(2.0)]]);
    old.obsolete = true;
    add_chart(&mut h, old);
    add_chart(&mut h, chart_rows("system.empty", &[], 1, &[]));
    h
}

/// localhost `parent1`, then `child-b`, then `child-a` (unreachable).
pub fn summaries() -> Vec<HostSummary> {
    let s = |hostname: &str, guid: &str, reachable: bool, hops: i64, local: bool, seq: u64| HostSummary {
        hostname: hostname.into(),
        guid: guid.into(),
        reachable,
        claim_id: None,
        hops,
        is_localhost: local,
        created_seq: seq,
    };
    vec![
        s("parent1", "6b1f0000-0000-0000-0000-000000000001", true, 0, true, 0),
        s("child-b", "1c0e0000-0000-0000-0000-000000000002", true, 1, false, 2),
        s("child-a", "9a7d0000-0000-0000-0000-000000000003", false, 1, false, 1),
    ]
}

pub fn ctx_hosts(hosts: &[HostSummary]) -> ApiContext<'_> {
    ApiContext { hosts, now: T0 + 20, version: "v1.29.3-strata", dbengine: None }
}
