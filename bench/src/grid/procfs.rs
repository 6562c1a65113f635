//! What the benchmark reads about a parent process from `/proc`: its CPU time
//! (`utime + stime` of `/proc/<pid>/stat`, all threads) and its resident memory (`VmRSS` of
//! `/proc/<pid>/status`), and the allocated size of a directory tree (as `du` counts it).
//!
//! The parsers are pure functions over the file text; a process that is gone reads as
//! `None`, never as zero.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// CPU seconds (user + system) in the text of `/proc/<pid>/stat`.
pub fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces and ')': fields restart after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = f.nth(11)?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `VmRSS` in bytes from the text of `/proc/<pid>/status`.
pub fn parse_status_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line["VmRSS:".len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf with a constant name has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// CPU seconds used so far by process `pid` (all its threads).
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(parse_stat_cpu_ticks(&text)? as f64 / clock_ticks_per_sec())
}

/// Resident memory of process `pid`, bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    parse_status_rss(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// Bytes allocated on disk by the files under `dir` (512-byte blocks, as `du`), and the
/// number of files. A missing directory is `(0, 0)`.
pub fn du(dir: &Path) -> (u64, u64) {
    let mut total = (0, 0);
    let Ok(entries) = std::fs::read_dir(dir) else { return total };
    for e in entries.flatten() {
        let Ok(md) = e.metadata() else { continue };
        if md.is_dir() {
            let (b, n) = du(&e.path());
            total = (total.0 + b, total.1 + n);
        } else {
            total = (total.0 + md.blocks() * 512, total.1 + 1);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_a_tricky_comm() {
        let stat = "1234 (net data) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 77 1000 300";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(325));
        assert_eq!(parse_stat_cpu_ticks("garbage"), None);
        assert_eq!(parse_stat_cpu_ticks("1 (a) S 1 2"), None);
    }

    #[test]
    fn rss_from_status() {
        let status = "Name:\tstrata\nVmPeak:\t  9000 kB\nVmRSS:\t   2048 kB\nThreads:\t3\n";
        assert_eq!(parse_status_rss(status), Some(2 << 20));
        assert_eq!(parse_status_rss("Name: x\n"), None);
    }

    #[test]
    fn own_process_reads_and_du_counts_files() {
        let me = std::process::id();
        assert!(rss_bytes(me).unwrap() > 1 << 20);
        assert!(cpu_secs(me).is_some());
        let d = std::env::temp_dir().join(format!("strata-bench-du-{me}"));
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/f"), vec![1u8; 10_000]).unwrap();
        let (bytes, files) = du(&d);
        std::fs::remove_dir_all(&d).unwrap();
        assert_eq!(files, 1);
        assert!(bytes >= 10_000, "{bytes}");
        assert_eq!(du(&d), (0, 0));
    }
}
