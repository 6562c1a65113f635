//! `/proc/net/dev` → system.net and, per interface, net.IFACE (bandwidth),
//! net_packets, net_errors and net_drops (Netdata 1.37 `proc_net_dev.c` facts).
//!
//! Owns: [`parse`] (pure, never panics) and [`NetDev`], the module's state. Netdata's
//! rules kept: the two header lines are skipped and an interface line needs 16
//! counters; interfaces matching `lo fireqos* *-ifb fwpr* fwbr* fwln*` are off; an
//! interface is virtual when `/sys/devices/virtual/net/IFACE` exists; bandwidth is
//! bytes × 8 ÷ 1000 (kilobits); each chart starts on the first round where its counters
//! are non-zero and then stays; system.net sums the enabled physical interfaces; the
//! bandwidth chart of a physical interface carries the `nic_speed_max` chart variable
//! (speed from `/sys/class/net/IFACE/speed`, Mbit/s × 1000); an interface that
//! disappears has its charts made obsolete. One deviation: the name is what precedes
//! the first `:` (old kernels glue the first counter to it), not the first word.

use std::path::Path;

use crate::hosts::{Algorithm, ChartType};
use crate::pattern::SimplePattern;

use super::super::emit::Emitter;
use super::super::spec::{ChartFacts, ChartSpec, DimSpec, Origin, LABEL_AUTO_PERMANENT};
use super::text::{collected, u64_of, word_vec};
use super::OnDemand;

pub const MODULE: &str = "/proc/net/dev";

/// Netdata's default `disable by default interfaces matching`.
pub const DEFAULT_DISABLED: &str = "lo fireqos* *-ifb fwpr* fwbr* fwln*";

/// One interface line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfaceLine {
    pub name: String,
    pub rbytes: u64,
    pub rpackets: u64,
    pub rerrors: u64,
    pub rdrops: u64,
    pub rmulticast: u64,
    pub tbytes: u64,
    pub tpackets: u64,
    pub terrors: u64,
    pub tdrops: u64,
}

/// Parses the file's contents.
pub fn parse(bytes: &[u8]) -> Vec<IfaceLine> {
    let mut out = Vec::new();
    for line in bytes.split(|&b| b == b'\n').skip(2) {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let name = String::from_utf8_lossy(&line[..colon]).trim().to_string();
        let w = word_vec(&line[colon + 1..], b" \t,|");
        if name.is_empty() || w.len() < 16 {
            continue;
        }
        let n = |i: usize| u64_of(w[i]);
        out.push(IfaceLine {
            name,
            rbytes: n(0),
            rpackets: n(1),
            rerrors: n(2),
            rdrops: n(3),
            rmulticast: n(7),
            tbytes: n(8),
            tpackets: n(9),
            terrors: n(10),
            tdrops: n(11),
        });
    }
    out
}

#[derive(Debug)]
struct Iface {
    name: String,
    enabled: bool,
    is_virtual: bool,
    bandwidth: OnDemand,
    packets: OnDemand,
    errors: OnDemand,
    drops: OnDemand,
    charts: Vec<String>,
    seen: bool,
}

/// State of the module between rounds.
#[derive(Debug)]
pub struct NetDev {
    ifaces: Vec<Iface>,
    disabled: Option<SimplePattern>,
    system_net: OnDemand,
}

impl Default for NetDev {
    fn default() -> Self {
        NetDev { ifaces: Vec::new(), disabled: SimplePattern::new(DEFAULT_DISABLED), system_net: OnDemand::Auto }
    }
}

struct IfaceChart {
    ty: &'static str,
    title: &'static str,
    units: &'static str,
    context: &'static str,
    chart_type: ChartType,
    offset: i64,
    detail: bool,
}

const BANDWIDTH: IfaceChart = IfaceChart {
    ty: "net",
    title: "Bandwidth",
    units: "kilobits/s",
    context: "net.net",
    chart_type: ChartType::Area,
    offset: 0,
    detail: false,
};
const PACKETS: IfaceChart = IfaceChart {
    ty: "net_packets",
    title: "Packets",
    units: "packets/s",
    context: "net.packets",
    chart_type: ChartType::Line,
    offset: 1,
    detail: true,
};
const ERRORS: IfaceChart = IfaceChart {
    ty: "net_errors",
    title: "Interface Errors",
    units: "errors/s",
    context: "net.errors",
    chart_type: ChartType::Line,
    offset: 2,
    detail: true,
};
const DROPS: IfaceChart = IfaceChart {
    ty: "net_drops",
    title: "Interface Drops",
    units: "drops/s",
    context: "net.drops",
    chart_type: ChartType::Line,
    offset: 3,
    detail: true,
};

/// Priority of an interface's first chart.
const FIRST_NET_IFACE: i64 = 7000;

fn iface_spec(origin: Origin<'_>, i: &Iface, what: &IfaceChart, dims: Vec<DimSpec>) -> ChartSpec {
    let type_id = format!("{}.{}", what.ty, i.name);
    let facts = ChartFacts {
        type_id: &type_id,
        name: "",
        title: what.title,
        units: what.units,
        family: &i.name,
        context: what.context,
        chart_type: what.chart_type,
        priority: FIRST_NET_IFACE + what.offset,
    };
    let spec = ChartSpec::new(origin, facts)
        .label("interface_type", if i.is_virtual { "virtual" } else { "real" }, LABEL_AUTO_PERMANENT)
        .label("device", &i.name, LABEL_AUTO_PERMANENT)
        .dims(dims);
    if what.detail {
        spec.detail()
    } else {
        spec
    }
}

/// `/sys/class/net/IFACE/speed` in Mbit/s (`None` when unreadable; a negative speed,
/// as virtual NICs report, reads as 0 like Netdata's number parser does).
fn read_speed(root: &Path, iface: &str) -> Option<u64> {
    let text = std::fs::read(root.join(format!("sys/class/net/{iface}/speed"))).ok()?;
    Some(u64_of(text.trim_ascii()))
}

impl NetDev {
    /// One round over the parsed file; `root` is the host prefix for sysfs lookups.
    pub fn collect(&mut self, root: &Path, lines: &[IfaceLine], ue: u32, em: &mut Emitter) {
        let origin = Origin { plugin: super::PLUGIN, module: MODULE, update_every: ue };
        let (mut rbytes, mut tbytes) = (0u64, 0u64);
        for i in &mut self.ifaces {
            i.seen = false;
        }
        for l in lines {
            let idx = match self.ifaces.iter().position(|i| i.name == l.name) {
                Some(i) => i,
                None => {
                    let enabled = !self.disabled.as_ref().is_some_and(|p| p.matches(l.name.as_bytes()));
                    let is_virtual = root.join(format!("sys/devices/virtual/net/{}", l.name)).exists();
                    let on = if enabled { OnDemand::Auto } else { OnDemand::No };
                    self.ifaces.push(Iface {
                        name: l.name.clone(),
                        enabled,
                        is_virtual,
                        bandwidth: on,
                        packets: on,
                        errors: on,
                        drops: on,
                        charts: Vec::new(),
                        seen: false,
                    });
                    self.ifaces.len() - 1
                }
            };
            let Some(i) = self.ifaces.get_mut(idx) else { continue };
            i.seen = true;
            if !i.enabled {
                continue;
            }
            if !i.is_virtual {
                rbytes = rbytes.wrapping_add(l.rbytes);
                tbytes = tbytes.wrapping_add(l.tbytes);
            }
            Self::collect_iface(origin, root, i, l, em);
        }

        if self.system_net.check(rbytes != 0 || tbytes != 0) {
            let facts = ChartFacts {
                type_id: "system.net",
                name: "",
                title: "Physical Network Interfaces Aggregated Bandwidth",
                units: "kilobits/s",
                family: "network",
                context: "system.net",
                chart_type: ChartType::Area,
                priority: 500,
            };
            let dims = vec![
                DimSpec::named("InOctets", "received", Algorithm::Incremental, 8, 1000),
                DimSpec::named("OutOctets", "sent", Algorithm::Incremental, -8, 1000),
            ];
            let make = || ChartSpec::new(origin, facts).dims(dims);
            em.collect("system.net", make, &[("InOctets", collected(rbytes)), ("OutOctets", collected(tbytes))]);
        }

        for i in self.ifaces.iter().filter(|i| !i.seen) {
            for id in &i.charts {
                em.obsolete(id);
            }
        }
        self.ifaces.retain(|i| i.seen);
    }

    fn collect_iface(origin: Origin<'_>, root: &Path, i: &mut Iface, l: &IfaceLine, em: &mut Emitter) {
        let c = collected;
        let note = |i: &mut Iface, what: &IfaceChart| {
            let id = format!("{}.{}", what.ty, i.name);
            if !i.charts.contains(&id) {
                i.charts.push(id.clone());
            }
            id
        };
        if i.bandwidth.check(l.rbytes != 0 || l.tbytes != 0) {
            let id = note(i, &BANDWIDTH);
            let speed = if i.is_virtual { None } else { read_speed(root, &i.name) };
            let vars: Vec<(&str, f64)> = speed.map(|s| ("nic_speed_max", (s * 1000) as f64)).into_iter().collect();
            let make = || iface_spec(origin, i, &BANDWIDTH, DimSpec::incremental_pair("received", "sent", 8, 1000));
            em.collect_with_vars(&id, make, &[("received", c(l.rbytes)), ("sent", c(l.tbytes))], &vars);
        }
        if i.packets.check(l.rpackets != 0 || l.tpackets != 0 || l.rmulticast != 0) {
            let id = note(i, &PACKETS);
            let mut dims = DimSpec::incremental_pair("received", "sent", 1, 1);
            dims.push(DimSpec::new("multicast", Algorithm::Incremental, 1, 1));
            let values = [("received", c(l.rpackets)), ("sent", c(l.tpackets)), ("multicast", c(l.rmulticast))];
            em.collect(&id, || iface_spec(origin, i, &PACKETS, dims), &values);
        }
        if i.errors.check(l.rerrors != 0 || l.terrors != 0) {
            let id = note(i, &ERRORS);
            let make = || iface_spec(origin, i, &ERRORS, DimSpec::incremental_pair("inbound", "outbound", 1, 1));
            em.collect(&id, make, &[("inbound", c(l.rerrors)), ("outbound", c(l.terrors))]);
        }
        if i.drops.check(l.rdrops != 0 || l.tdrops != 0) {
            let id = note(i, &DROPS);
            let make = || iface_spec(origin, i, &DROPS, DimSpec::incremental_pair("inbound", "outbound", 1, 1));
            em.collect(&id, make, &[("inbound", c(l.rdrops)), ("outbound", c(l.tdrops))]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = b"Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 109449036  721516    0    0    0     0          0         0 109449036  721516    0    0    0     0       0          0
  ifb0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  eth0: 105431242    6176    0    3    0     0          0         9   414364    4175    0    0    0     0       0          0
";

    #[test]
    fn parses_interfaces() {
        let l = parse(SAMPLE);
        assert_eq!(l.len(), 3);
        let eth0 = &l[2];
        assert_eq!(
            (eth0.name.as_str(), eth0.rbytes, eth0.tbytes, eth0.rdrops, eth0.rmulticast),
            ("eth0", 105431242, 414364, 3, 9)
        );
        let glued = parse(b"h\nh\n  eth1:123 1 0 0 0 0 0 0 456 2 0 0 0 0 0 0\nbad: 1 2 3\nnocolon 1 2\n");
        assert_eq!(glued.len(), 1);
        assert_eq!((glued[0].rbytes, glued[0].tbytes), (123, 456));
    }

    #[test]
    fn charts_for_enabled_interfaces_with_traffic() {
        let root = std::env::temp_dir().join(format!("strata-netdev-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(root.join("sys/devices/virtual/net/ifb0")).unwrap();
        std::fs::create_dir_all(root.join("sys/class/net/eth0")).unwrap();
        std::fs::write(root.join("sys/class/net/eth0/speed"), "-1\n").unwrap();
        let mut m = NetDev::default();
        let mut em = Emitter::new();
        let lines = parse(SAMPLE);
        m.collect(&root, &lines, 1, &mut em);
        let out = String::from_utf8(em.take()).unwrap();
        for c in ["net.eth0", "net_packets.eth0", "net_drops.eth0", "system.net"] {
            assert!(out.contains(&format!("CHART \"{c}\"")), "{c}: {out}");
        }
        assert!(!out.contains("net_errors.eth0") && !out.contains(".lo\"") && !out.contains("ifb0"), "{out}");
        assert!(out.contains("VARIABLE CHART nic_speed_max = 0.0000000"));
        assert!(out.contains("SET \"InOctets\" = 105431242\n"), "lo is not counted");
        m.collect(&root, &lines[..2], 1, &mut em);
        let out = String::from_utf8(em.take()).unwrap();
        assert!(out.contains("CHART \"net.eth0\"") && out.contains("\"obsolete   \""), "{out}");
        let _ = std::fs::remove_dir_all(&root);
    }
}
