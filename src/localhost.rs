//! The parent's own host ("localhost"): its identity and system facts, read once at start
//! from `/etc/os-release`, `/proc` and `uname`-like sources, in the `NETDATA_*` key names
//! that children send (so `/api/v1/info` reads both the same way).

use crate::config::Config;
use crate::hosts::HostInfo;

fn os_release() -> Vec<(String, String)> {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn total_ram() -> Option<String> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = text.lines().find(|l| l.starts_with("MemTotal:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some((kib * 1024).to_string())
}

fn timezone() -> String {
    if let Ok(tz) = std::env::var("TZ") {
        let tz = tz.trim_start_matches(':');
        if !tz.is_empty() && !tz.starts_with('/') {
            return tz.to_string();
        }
    }
    if let Some(tz) = read_trim("/etc/timezone") {
        return tz;
    }
    std::fs::read_link("/etc/localtime")
        .ok()
        .and_then(|p| p.to_str().and_then(|s| s.split("zoneinfo/").nth(1)).map(str::to_string))
        .unwrap_or_else(|| "Etc/UTC".into())
}

/// CPUs online in the system. Not `available_parallelism`: that is the calling thread's
/// affinity, and this runs on a shard pinned to one core.
fn logical_cpus() -> Option<u64> {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    u64::try_from(n).ok().filter(|n| *n > 0)
}

/// The identity of this agent's own host.
pub fn host_info(config: &Config, machine_guid: &str) -> HostInfo {
    let osr = os_release();
    let get = |k: &str| osr.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let mut system_info = vec![
        ("NETDATA_HOST_OS_NAME".into(), get("NAME")),
        ("NETDATA_HOST_OS_ID".into(), get("ID")),
        ("NETDATA_HOST_OS_ID_LIKE".into(), get("ID_LIKE")),
        ("NETDATA_HOST_OS_VERSION".into(), get("VERSION")),
        ("NETDATA_HOST_OS_VERSION_ID".into(), get("VERSION_ID")),
        ("NETDATA_HOST_OS_DETECTION".into(), "/etc/os-release".into()),
        ("NETDATA_SYSTEM_KERNEL_NAME".into(), read_trim("/proc/sys/kernel/ostype").unwrap_or_else(|| "Linux".into())),
        ("NETDATA_SYSTEM_KERNEL_VERSION".into(), read_trim("/proc/sys/kernel/osrelease").unwrap_or_default()),
        ("NETDATA_SYSTEM_ARCHITECTURE".into(), std::env::consts::ARCH.into()),
        ("NETDATA_SYSTEM_CPU_LOGICAL_CPU_COUNT".into(), logical_cpus().map(|n| n.to_string()).unwrap_or_default()),
    ];
    if let Some(ram) = total_ram() {
        system_info.push(("NETDATA_SYSTEM_TOTAL_RAM".into(), ram));
    }
    system_info.retain(|(_, v)| !v.is_empty());
    HostInfo {
        machine_guid: machine_guid.to_string(),
        hostname: config.global.hostname.clone(),
        registry_hostname: config.global.hostname.clone(),
        os: "linux".into(),
        timezone: timezone(),
        abbrev_timezone: chrono::Local::now().format("%Z").to_string(),
        utc_offset: i64::from(chrono::Local::now().offset().local_minus_utc()),
        tags: None,
        program_name: "strata".into(),
        program_version: crate::shard::VERSION.into(),
        hops: 0,
        update_every: config.global.update_every,
        system_info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The count is the system's, even from a thread pinned to one CPU (as a shard is).
    #[test]
    fn cpu_count_ignores_thread_affinity() {
        let from_proc = std::fs::read_to_string("/proc/stat")
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
            .count() as u64;
        let pinned = std::thread::spawn(|| {
            // SAFETY: a zeroed cpu_set_t with CPU 0 set, applied to this thread only.
            unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(0, &mut set);
                assert_eq!(libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set), 0);
            }
            assert_eq!(std::thread::available_parallelism().unwrap().get(), 1);
            logical_cpus()
        })
        .join()
        .unwrap();
        assert_eq!(pinned, Some(from_proc));
    }
}
