//! `/proc/diskstats` → system.io and, per disk, disk.DEV (I/O bandwidth), disk_ops,
//! disk_backlog, disk_busy, disk_util, disk_mops and disk_iotime (Netdata 1.37
//! `proc_diskstats.c` facts).
//!
//! Owns: [`parse`] (pure, never panics), the disk classification from sysfs
//! ([`probe`], I/O under the host prefix) and [`Diskstats`], the module's state.
//! Netdata's rules kept: lines need 14 words; sectors are 512 bytes; a disk is
//! physical when `/sys/block/DEV` exists, a partition when
//! `/sys/dev/block/MAJ:MIN/partition` exists, else virtual when
//! `/sys/devices/virtual/block/DEV` exists or `…/slaves/` has entries, else unknown;
//! its name comes from `/dev/mapper` or `/dev/disk/by-label` (a link to this very
//! device), lower-cased and sanitised, else the kernel name; an LVM volume's chart id
//! is `dm-N-<uuid>`; the family is the mount point, else the name; `loop*` and `ram*`
//! are excluded; partitions get no charts (performance metrics for partitions: no);
//! each chart starts on the first round where its counters are non-zero and then stays
//! (`auto`); system.io sums the physical disks (KiB, rounded down per disk); disk_util
//! is the busy-time delta ÷ (10 × update every), at most 100; a disk that disappears has
//! its charts made obsolete.

use std::path::Path;

use crate::hosts::{Algorithm, ChartType};
use crate::pattern::SimplePattern;

use super::super::emit::Emitter;
use super::super::spec::{ChartFacts, ChartSpec, DimSpec, Origin, LABEL_AUTO};
use super::mountinfo::{self, Mount};
use super::text::{collected, lines, u64_at, word_vec};
use super::OnDemand;

pub const MODULE: &str = "/proc/diskstats";

/// Kernel sector size used by /proc/diskstats.
const SECTOR: i64 = 512;

/// Netdata's default `exclude disks`.
pub const DEFAULT_EXCLUDED_DISKS: &str = "loop* ram*";

/// One line of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskLine {
    pub major: u64,
    pub minor: u64,
    pub device: String,
    pub reads: u64,
    pub mreads: u64,
    pub readsectors: u64,
    pub readms: u64,
    pub writes: u64,
    pub mwrites: u64,
    pub writesectors: u64,
    pub writems: u64,
    pub queued: u64,
    pub busy_ms: u64,
    pub backlog_ms: u64,
    pub discards: u64,
    pub mdiscards: u64,
    pub discardsectors: u64,
    pub discardms: u64,
    pub flushes: u64,
    pub flushms: u64,
}

/// Parses the file's contents (lines with fewer than 14 words are skipped).
pub fn parse(bytes: &[u8]) -> Vec<DiskLine> {
    let mut out = Vec::new();
    for line in lines(bytes) {
        let w = word_vec(line, b" \t");
        if w.len() < 14 {
            continue;
        }
        let n = |i| u64_at(&w, i);
        out.push(DiskLine {
            major: n(0),
            minor: n(1),
            device: String::from_utf8_lossy(w[2]).into_owned(),
            reads: n(3),
            mreads: n(4),
            readsectors: n(5),
            readms: n(6),
            writes: n(7),
            mwrites: n(8),
            writesectors: n(9),
            writems: n(10),
            queued: n(11),
            busy_ms: n(12),
            backlog_ms: n(13),
            discards: n(14),
            mdiscards: n(15),
            discardsectors: n(16),
            discardms: n(17),
            flushes: n(18),
            flushms: n(19),
        });
    }
    out
}

/// What kind of block device a disk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskType {
    Unknown,
    Physical,
    Partition,
    Virtual,
}

impl DiskType {
    fn label(self) -> &'static str {
        match self {
            DiskType::Unknown => "unknown",
            DiskType::Physical => "physical",
            DiskType::Partition => "partition",
            DiskType::Virtual => "virtual",
        }
    }
}

/// What the sysfs, /dev and mountinfo lookups found for a disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskFacts {
    pub kind: DiskType,
    /// Display name (`disk` in Netdata).
    pub name: String,
    pub chart_id: String,
    pub mount_point: Option<String>,
}

/// Netdata's chart-name character map: lower case; digits, `-`, `.`, `/` kept; `,`
/// becomes `.`, `\` becomes `/`; anything else `_`.
pub fn fix_chart_name(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'/' => b as char,
            b'A'..=b'Z' => b.to_ascii_lowercase() as char,
            b',' => '.',
            b'\\' => '/',
            _ => '_',
        })
        .collect()
}

/// A `/dev/mapper` or `/dev/disk/by-label` entry that points at `major:minor` and whose
/// target's base name is `device`.
fn name_from_dir(dir: &Path, major: u64, minor: u64, device: &str) -> Option<String> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let entries = std::fs::read_dir(dir).ok()?;
    for e in entries.flatten() {
        let path = e.path();
        let Ok(meta) = std::fs::metadata(&path) else { continue };
        if !meta.file_type().is_block_device() {
            continue;
        }
        let rdev = meta.rdev();
        if libc::major(rdev) as u64 != major || libc::minor(rdev) as u64 != minor {
            continue;
        }
        let target = std::fs::canonicalize(&path).unwrap_or(path);
        if target.file_name().and_then(|n| n.to_str()) != Some(device) {
            continue;
        }
        if let Some(name) = e.file_name().to_str() {
            return Some(name.to_string());
        }
    }
    None
}

/// Classifies and names a disk (I/O under `root`, Netdata's host prefix).
pub fn probe(root: &Path, d: &DiskLine, mounts: &[Mount]) -> DiskFacts {
    let exists = |p: String| root.join(p).exists();
    let mut kind = DiskType::Unknown;
    if exists(format!("sys/block/{}", d.device)) {
        kind = DiskType::Physical;
    }
    let has_slaves = || {
        std::fs::read_dir(root.join(format!("sys/dev/block/{}:{}/slaves", d.major, d.minor)))
            .is_ok_and(|mut r| r.next().is_some())
    };
    if exists(format!("sys/dev/block/{}:{}/partition", d.major, d.minor)) {
        kind = DiskType::Partition;
    } else if exists(format!("sys/devices/virtual/block/{}", d.device)) || has_slaves() {
        kind = DiskType::Virtual;
    }
    let found = name_from_dir(&root.join("dev/mapper"), d.major, d.minor, &d.device)
        .or_else(|| name_from_dir(&root.join("dev/disk/by-label"), d.major, d.minor, &d.device));
    let name = fix_chart_name(found.as_deref().unwrap_or(&d.device));
    let mut chart_id = d.device.clone();
    if d.device.starts_with("dm-") {
        let uuid = std::fs::read(root.join(format!("sys/devices/virtual/block/{}/dm/uuid", d.device))).ok();
        if let Some(lvm) = uuid.as_deref().and_then(|u| u.strip_prefix(b"LVM-")) {
            chart_id = format!("{}-{}", d.device, String::from_utf8_lossy(lvm).trim());
        }
    }
    let mount_point = mountinfo::find(mounts, d.major, d.minor, &d.device).map(|m| m.mount_point.clone());
    DiskFacts { kind, name, chart_id, mount_point }
}

#[derive(Debug)]
struct Disk {
    major: u64,
    minor: u64,
    device: String,
    facts: DiskFacts,
    io: OnDemand,
    ops: OnDemand,
    backlog: OnDemand,
    util: OnDemand,
    mops: OnDemand,
    iotime: OnDemand,
    last_busy_ms: Option<u64>,
    /// Chart ids emitted for this disk (made obsolete when it goes away).
    charts: Vec<String>,
    seen: bool,
}

/// State of the module between rounds.
#[derive(Debug)]
pub struct Diskstats {
    disks: Vec<Disk>,
    excluded: Option<SimplePattern>,
    system_io: OnDemand,
}

impl Default for Diskstats {
    fn default() -> Self {
        Diskstats { disks: Vec::new(), excluded: SimplePattern::new(DEFAULT_EXCLUDED_DISKS), system_io: OnDemand::Auto }
    }
}

fn disk_spec(origin: Origin<'_>, d: &Disk, ty: &str, what: DiskChart) -> ChartSpec {
    let type_id = format!("{ty}.{}", d.facts.chart_id);
    let name = if d.facts.name == d.facts.chart_id { "" } else { d.facts.name.as_str() };
    let family = d.facts.mount_point.as_deref().unwrap_or(&d.facts.name);
    let facts = ChartFacts {
        type_id: &type_id,
        name,
        title: what.title,
        units: what.units,
        family,
        context: what.context,
        chart_type: what.chart_type,
        priority: what.priority,
    };
    let spec = ChartSpec::new(origin, facts)
        .label("device", &d.facts.name, LABEL_AUTO)
        .label("mount_point", d.facts.mount_point.as_deref().unwrap_or("[none]"), LABEL_AUTO)
        .label("device_type", d.facts.kind.label(), LABEL_AUTO);
    if what.detail {
        spec.detail()
    } else {
        spec
    }
}

#[derive(Debug, Clone, Copy)]
struct DiskChart {
    title: &'static str,
    units: &'static str,
    context: &'static str,
    chart_type: ChartType,
    priority: i64,
    detail: bool,
}

const IO: DiskChart = DiskChart {
    title: "Disk I/O Bandwidth",
    units: "KiB/s",
    context: "disk.io",
    chart_type: ChartType::Area,
    priority: 2000,
    detail: false,
};
const OPS: DiskChart = DiskChart {
    title: "Disk Completed I/O Operations",
    units: "operations/s",
    context: "disk.ops",
    chart_type: ChartType::Line,
    priority: 2010,
    detail: true,
};
const BACKLOG: DiskChart = DiskChart {
    title: "Disk Backlog",
    units: "milliseconds",
    context: "disk.backlog",
    chart_type: ChartType::Area,
    priority: 2020,
    detail: true,
};
const BUSY: DiskChart = DiskChart {
    title: "Disk Busy Time",
    units: "milliseconds",
    context: "disk.busy",
    chart_type: ChartType::Area,
    priority: 2030,
    detail: true,
};
const UTIL: DiskChart = DiskChart {
    title: "Disk Utilization Time",
    units: "% of time working",
    context: "disk.util",
    chart_type: ChartType::Area,
    priority: 2040,
    detail: true,
};
const MOPS: DiskChart = DiskChart {
    title: "Disk Merged Operations",
    units: "merged operations/s",
    context: "disk.mops",
    chart_type: ChartType::Line,
    priority: 2080,
    detail: true,
};
const IOTIME: DiskChart = DiskChart {
    title: "Disk Total I/O Time",
    units: "milliseconds/s",
    context: "disk.iotime",
    chart_type: ChartType::Line,
    priority: 2090,
    detail: true,
};

impl Diskstats {
    /// One round over the parsed file; `root` is the host prefix for sysfs and /dev
    /// lookups, `mounts` reads `/proc/self/mountinfo` when a new disk needs it.
    pub fn collect(
        &mut self,
        root: &Path,
        lines: &[DiskLine],
        ue: u32,
        mounts: &mut dyn FnMut() -> Vec<Mount>,
        em: &mut Emitter,
    ) {
        let origin = Origin { plugin: super::PLUGIN, module: MODULE, update_every: ue };
        let mut mount_cache: Option<Vec<Mount>> = None;
        let (mut read_kb, mut write_kb) = (0i64, 0i64);
        for d in &mut self.disks {
            d.seen = false;
        }
        for l in lines {
            let idx = match self
                .disks
                .iter()
                .position(|d| d.major == l.major && d.minor == l.minor && d.device == l.device)
            {
                Some(i) => i,
                None => {
                    let m = mount_cache.get_or_insert_with(&mut *mounts);
                    let facts = probe(root, l, m);
                    let excluded = self
                        .excluded
                        .as_ref()
                        .is_some_and(|p| p.matches(l.device.as_bytes()) || p.matches(facts.name.as_bytes()));
                    let perf = !excluded && facts.kind != DiskType::Partition;
                    let on = if perf { OnDemand::Auto } else { OnDemand::No };
                    self.disks.push(Disk {
                        major: l.major,
                        minor: l.minor,
                        device: l.device.clone(),
                        facts,
                        io: on,
                        ops: on,
                        backlog: on,
                        util: on,
                        mops: on,
                        iotime: on,
                        last_busy_ms: None,
                        charts: Vec::new(),
                        seen: false,
                    });
                    self.disks.len() - 1
                }
            };
            let Some(d) = self.disks.get_mut(idx) else { continue };
            d.seen = true;
            if d.facts.kind == DiskType::Physical {
                read_kb += collected(l.readsectors).saturating_mul(SECTOR) / 1024;
                write_kb += collected(l.writesectors).saturating_mul(SECTOR) / 1024;
            }
            Self::collect_disk(origin, d, l, ue, em);
        }

        if self.system_io.check(read_kb != 0 || write_kb != 0) {
            let facts = ChartFacts {
                type_id: "system.io",
                name: "",
                title: "Disk I/O",
                units: "KiB/s",
                family: "disk",
                context: "system.io",
                chart_type: ChartType::Area,
                priority: 150,
            };
            let make = || ChartSpec::new(origin, facts).dims(DimSpec::incremental_pair("in", "out", 1, 1));
            em.collect("system.io", make, &[("in", read_kb), ("out", write_kb)]);
        }

        // Disks that went away: their charts become obsolete.
        for d in self.disks.iter().filter(|d| !d.seen) {
            for id in &d.charts {
                em.obsolete(id);
            }
        }
        self.disks.retain(|d| d.seen);
    }

    fn collect_disk(origin: Origin<'_>, d: &mut Disk, l: &DiskLine, ue: u32, em: &mut Emitter) {
        let c = collected;
        let mut emit = |d: &mut Disk, ty: &str, what: DiskChart, dims: Vec<DimSpec>, values: &[(&str, i64)]| {
            let id = format!("{ty}.{}", d.facts.chart_id);
            if !d.charts.contains(&id) {
                d.charts.push(id.clone());
            }
            em.collect(&id, || disk_spec(origin, d, ty, what).dims(dims), values);
        };
        if d.io.check(l.readsectors != 0 || l.writesectors != 0 || l.discardsectors != 0) {
            let values = [("reads", c(l.readsectors)), ("writes", c(l.writesectors))];
            emit(d, "disk", IO, DimSpec::incremental_pair("reads", "writes", SECTOR, 1024), &values);
        }
        if d.ops.check(l.reads != 0 || l.writes != 0 || l.discards != 0 || l.flushes != 0) {
            emit(
                d,
                "disk_ops",
                OPS,
                DimSpec::incremental_pair("reads", "writes", 1, 1),
                &[("reads", c(l.reads)), ("writes", c(l.writes))],
            );
        }
        if d.backlog.check(l.backlog_ms != 0) {
            let dims = vec![DimSpec::new("backlog", Algorithm::Incremental, 1, 1)];
            emit(d, "disk_backlog", BACKLOG, dims, &[("backlog", c(l.backlog_ms))]);
        }
        if d.util.check(l.busy_ms != 0) {
            let dims = vec![DimSpec::new("busy", Algorithm::Incremental, 1, 1)];
            emit(d, "disk_busy", BUSY, dims, &[("busy", c(l.busy_ms))]);
            let last = d.last_busy_ms.replace(l.busy_ms).unwrap_or(0);
            let util = (c(l.busy_ms).wrapping_sub(c(last)) / (10 * i64::from(ue.max(1)))).min(100);
            let dims = vec![DimSpec::new("utilization", Algorithm::Absolute, 1, 1)];
            emit(d, "disk_util", UTIL, dims, &[("utilization", util)]);
        }
        if d.mops.check(l.mreads != 0 || l.mwrites != 0 || l.mdiscards != 0) {
            emit(
                d,
                "disk_mops",
                MOPS,
                DimSpec::incremental_pair("reads", "writes", 1, 1),
                &[("reads", c(l.mreads)), ("writes", c(l.mwrites))],
            );
        }
        if d.iotime.check(l.readms != 0 || l.writems != 0 || l.discardms != 0 || l.flushms != 0) {
            let values = [("reads", c(l.readms)), ("writes", c(l.writems))];
            emit(d, "disk_iotime", IOTIME, DimSpec::incremental_pair("reads", "writes", 1, 1), &values);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = b"   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 372083 15220 19194250 943870 36331 103253 56563352 269031 0 49172 1222388 44285 77 21656072 9450 711 36
 254       1 vda1 10 0 80 3 0 0 0 0 0 4 3 0 0 0 0 0 0
 253       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   8       0 short 1 2 3
";

    #[test]
    fn parses_lines() {
        let d = parse(SAMPLE);
        assert_eq!(d.len(), 4, "the short line is skipped");
        let vda = &d[1];
        assert_eq!((vda.major, vda.minor, vda.device.as_str()), (254, 0, "vda"));
        assert_eq!(
            (vda.reads, vda.readsectors, vda.writesectors, vda.busy_ms, vda.backlog_ms),
            (372083, 19194250, 56563352, 49172, 1222388)
        );
        assert_eq!((vda.discards, vda.flushes, vda.flushms), (44285, 711, 36));
        assert_eq!(parse(b"1 2 x 1 1 1 1 1 1 1 1 1 1 1")[0].discards, 0, "14 words: no discard fields");
    }

    #[test]
    fn chart_names() {
        assert_eq!(fix_chart_name("VG0-Root,x\\y z"), "vg0-root.x/y_z");
    }

    struct Root(std::path::PathBuf);
    impl Drop for Root {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn root() -> Root {
        let r = std::env::temp_dir().join(format!("strata-disk-{}", uuid::Uuid::new_v4().simple()));
        for d in ["sys/block/vda", "sys/dev/block/254:1/partition", "sys/devices/virtual/block/zram0"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        std::fs::create_dir_all(r.join("sys/block/vda1")).unwrap();
        Root(r)
    }

    #[test]
    fn classifies_names_and_charts() {
        let r = root();
        let lines = parse(SAMPLE);
        let mounts = mountinfo::parse(b"27 1 254:0 / / rw - ext4 /dev/vda rw\n");
        assert_eq!(probe(&r.0, &lines[1], &mounts).kind, DiskType::Physical);
        assert_eq!(probe(&r.0, &lines[1], &mounts).mount_point.as_deref(), Some("/"));
        assert_eq!(probe(&r.0, &lines[2], &mounts).kind, DiskType::Partition, "partition wins over /sys/block");
        assert_eq!(probe(&r.0, &lines[3], &mounts).kind, DiskType::Virtual);
        assert_eq!(probe(&r.0, &lines[0], &mounts).kind, DiskType::Unknown);

        let mut m = Diskstats::default();
        let mut em = Emitter::new();
        m.collect(&r.0, &lines, 1, &mut || mounts.clone(), &mut em);
        let out = String::from_utf8(em.take()).unwrap();
        for chart in [
            "disk.vda",
            "disk_ops.vda",
            "disk_backlog.vda",
            "disk_busy.vda",
            "disk_util.vda",
            "disk_mops.vda",
            "disk_iotime.vda",
            "system.io",
        ] {
            assert!(out.contains(&format!("CHART \"{chart}\"")), "{chart} in {out}");
        }
        assert!(!out.contains("vda1") && !out.contains("zram0") && !out.contains("loop0"), "{out}");
        assert!(out.contains("SET \"in\" = 9597125\n"), "19194250 sectors × 512 / 1024");
        assert!(out.contains("SET \"utilization\" = 100\n"), "first round: busy since boot, capped");

        // The next round: 5 ms busy in 1 s = 0 %; 20 ms = 2 %.
        let mut next = lines.clone();
        next[1].busy_ms += 20;
        m.collect(&r.0, &next, 1, &mut || Vec::new(), &mut em);
        assert!(String::from_utf8(em.take()).unwrap().contains("SET \"utilization\" = 2\n"));

        // vda goes away: its charts become obsolete.
        m.collect(&r.0, &next[2..], 1, &mut || Vec::new(), &mut em);
        let out = String::from_utf8(em.take()).unwrap();
        assert!(out.contains("CHART \"disk.vda\"") && out.contains("\"obsolete   \""), "{out}");
        assert!(out.contains("BEGIN \"system.io\""), "system.io stays once on");
    }
}
