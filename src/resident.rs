//! Keeps the headless collector's resident code small: drops this process's page-table
//! entries for code pages (the strata executable's text and its libraries' text) so that
//! only the code still in use is mapped again on its next use, and drops the strata
//! executable's page-cache pages that no process maps any more.
//!
//! Why: most of a headless collector's VmRSS is clean code. Start-up (configuration, TLS
//! set-up, the first connection, the first definitions) runs code that is never used again,
//! and the kernel maps code in 64 KiB fault-around windows of whatever the page cache holds
//! around every fault, and reads executables ahead of a fault. Neither can be turned off for
//! one mapping: measured on Linux 6.18, `madvise(MADV_RANDOM)` changes neither (one touch still
//! maps 16 pages; the kernel ignores `MADV_RANDOM` for executable mappings' read-ahead). So the
//! pages are dropped after the fact, and the executable's unmapped page cache with them, so
//! that fault-around finds only the pages in use. The release build also links the code the
//! collector runs every second next to each other (`src/link/hot-symbols.txt`, see `src/build.rs`).
//!
//! Invariants (why it is safe):
//! * Only mappings that are readable, executable, **not writable, private and file-backed**
//!   (`r-xp` with an inode and a path) are touched, and only when none of their pages is
//!   anonymous or swapped (`Anonymous: 0 kB`, `Swap: 0 kB` in `/proc/self/smaps`), i.e. when no
//!   page was ever made private by a write (a text relocation, a debugger's breakpoint). For
//!   such a mapping `MADV_DONTNEED` removes only page-table entries: the next access maps the
//!   same file page again, byte for byte the same.
//! * Never a writable or read-only-data mapping (`rw-p`, `r--p`: `.data`, `.bss`, RELRO,
//!   `.rodata`, the heap, stacks): dropping their pages could lose relocated or written data.
//!   Never a locked mapping (`MADV_DONTNEED` fails on those anyway).
//! * The ranges come from `/proc/self/smaps` read just before; strata never unmaps code while
//!   it runs (no `dlclose`), so a range cannot change from code to data in between.
//! * The page cache is dropped (`POSIX_FADV_DONTNEED`) only for the strata executable itself,
//!   never for a shared library other processes use; the kernel drops only clean pages that no
//!   process maps, so nothing is lost: such a page is read from the file again when used.
//!
//! Cost: each code page used again costs one fault, and a read from the executable file when
//! its page cache was dropped (a few hundred KiB after each release); nothing is copied.

use std::fmt;
use std::time::Duration;

use thiserror::Error;

/// When the first release happens: start-up (configuration, the collectors' first rounds,
/// the first connection upstream) is over by then.
pub const FIRST_RELEASE: Duration = Duration::from_secs(10);
/// How often it is repeated: code used once since (a reconnection, a plugin restart, a
/// rarely taken branch) stays resident at most this long. Not more often: the collection
/// loop maps its own code again within a second of every release (and reads it from the file,
/// its page cache having been dropped), so a release gains only what ran once since.
pub const RELEASE_EVERY: Duration = Duration::from_secs(3600);

/// Errors of [`release_code_pages`].
#[derive(Debug, Error)]
pub enum ResidentError {
    #[error("cannot read /proc/self/smaps: {0}")]
    Read(std::io::Error),
    #[error("madvise(MADV_DONTNEED) of {path} failed: {source}")]
    Madvise { path: String, source: std::io::Error },
}

/// One mapping of `/proc/PID/smaps`: its header and the counters this module needs (KiB).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    /// The four permission characters, e.g. `r-xp`.
    pub perms: String,
    pub inode: u64,
    /// The path (empty for an anonymous mapping; `[heap]`, `[stack]`, `[vdso]` …).
    pub path: String,
    pub rss_kib: u64,
    pub anonymous_kib: u64,
    pub swap_kib: u64,
    pub locked_kib: u64,
    /// `VmFlags` has `lo` (the mapping is `mlock`ed).
    pub vm_locked: bool,
}

impl Mapping {
    /// A private, read-only, executable mapping of a file (code of the executable or of a
    /// library).
    pub fn is_file_code(&self) -> bool {
        self.perms == "r-xp" && self.inode != 0
    }

    /// Code of a file ([`Mapping::is_file_code`]) none of whose pages was ever written or
    /// locked: the only kind [`release_code_pages`] touches.
    pub fn is_clean_code(&self) -> bool {
        self.is_file_code()
            && self.path.starts_with('/')
            && self.anonymous_kib == 0
            && self.swap_kib == 0
            && self.locked_kib == 0
            && !self.vm_locked
            && self.end > self.start
    }
}

/// Parses the text of `/proc/PID/smaps`. Pure; lines it does not understand are skipped.
pub fn parse_smaps(text: &str) -> Vec<Mapping> {
    let mut out: Vec<Mapping> = Vec::new();
    for line in text.lines() {
        if let Some(m) = parse_header(line) {
            out.push(m);
            continue;
        }
        let Some(cur) = out.last_mut() else { continue };
        let Some((key, value)) = line.split_once(':') else { continue };
        match key {
            "Rss" => cur.rss_kib = kib(value),
            "Anonymous" => cur.anonymous_kib = kib(value),
            "Swap" => cur.swap_kib = kib(value),
            "Locked" => cur.locked_kib = kib(value),
            "VmFlags" => cur.vm_locked = value.split_whitespace().any(|f| f == "lo"),
            _ => {}
        }
    }
    out
}

/// `start-end perms offset dev inode [path]`, or `None` when `line` is not a header.
fn parse_header(line: &str) -> Option<Mapping> {
    let mut f = line.splitn(6, ' ');
    let (range, perms, offset, dev, inode) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
    let (start, end) = range.split_once('-')?;
    let start = u64::from_str_radix(start, 16).ok()?;
    let end = u64::from_str_radix(end, 16).ok()?;
    if perms.len() != 4 || u64::from_str_radix(offset, 16).is_err() || !dev.contains(':') {
        return None;
    }
    let inode = inode.trim().parse().ok()?;
    let path = f.next().unwrap_or("").trim_start().to_string();
    Some(Mapping { start, end, perms: perms.to_string(), inode, path, ..Mapping::default() })
}

fn kib(value: &str) -> u64 {
    value.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// What [`release_code_pages`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Released {
    /// Code mappings whose pages were dropped.
    pub mappings: usize,
    /// Their resident size just before (KiB).
    pub resident_kib: u64,
    /// Code mappings left alone because a page of theirs is anonymous, swapped or locked.
    pub skipped: usize,
    /// One of them was the strata executable's code.
    pub executable: bool,
    /// The executable's unmapped page cache was dropped.
    pub page_cache_dropped: bool,
}

impl fmt::Display for Released {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "released {} KiB of resident code pages of {} executable mappings (strata and its libraries)",
            self.resident_kib, self.mappings
        )?;
        if self.page_cache_dropped {
            write!(f, ", and the executable's unmapped page cache")?;
        }
        if self.skipped > 0 {
            write!(f, ", left {} modified or locked code mappings alone", self.skipped)?;
        }
        Ok(())
    }
}

/// Drops the page-table entries of every clean code mapping of this process, then the strata
/// executable's unmapped page cache (see the module's invariants). Code keeps running: a
/// dropped page is mapped again on its next use.
pub fn release_code_pages() -> Result<Released, ResidentError> {
    let text = std::fs::read_to_string("/proc/self/smaps").map_err(ResidentError::Read)?;
    let exe = std::fs::read_link("/proc/self/exe").ok().and_then(|p| p.to_str().map(str::to_string));
    let mut done = Released::default();
    for m in parse_smaps(&text) {
        if !m.is_clean_code() {
            if m.is_file_code() {
                done.skipped += 1;
            }
            continue;
        }
        let len = (m.end - m.start) as usize;
        // SAFETY: [start, end) is, as of the read just above, one whole private, read-only,
        // executable file mapping with no anonymous, swapped or locked page, and strata never
        // unmaps code (module invariants). MADV_DONTNEED on it only removes page-table
        // entries; the next access maps the unchanged file page again.
        let rc = unsafe { libc::madvise(m.start as usize as *mut libc::c_void, len, libc::MADV_DONTNEED) };
        if rc != 0 {
            return Err(ResidentError::Madvise { path: m.path, source: std::io::Error::last_os_error() });
        }
        done.mappings += 1;
        done.resident_kib += m.rss_kib;
        done.executable |= exe.as_deref().is_some_and(|e| m.path.strip_suffix(" (deleted)").unwrap_or(&m.path) == e);
    }
    if done.executable {
        done.page_cache_dropped = drop_executable_page_cache().is_ok();
    }
    Ok(done)
}

/// Drops the clean page-cache pages of the strata executable that no process maps, so that
/// fault-around maps none of the code this process no longer runs.
fn drop_executable_page_cache() -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // /proc/self/exe opens the running file even when it was replaced on disk since.
    let f = std::fs::File::open("/proc/self/exe")?;
    // SAFETY: advice on a file descriptor we own; the kernel only drops clean, unmapped pages.
    match unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) } {
        0 => Ok(()),
        e => Err(std::io::Error::from_raw_os_error(e)),
    }
}

/// Releases the code pages [`FIRST_RELEASE`] after it is started and every
/// [`RELEASE_EVERY`] after that, until `stopping()`; logs what each release did. Run on one
/// executor only (the release is process-wide).
pub async fn keep_releasing(stopping: impl Fn() -> bool) {
    let mut wait = FIRST_RELEASE;
    loop {
        glommio::timer::sleep(wait).await;
        if stopping() {
            return;
        }
        match release_code_pages() {
            Ok(done) => crate::info!(
                "MEMORY: {done}; they are mapped again from the page cache when used (next release in {} s)",
                RELEASE_EVERY.as_secs()
            ),
            Err(e) => {
                crate::error!("MEMORY: cannot release resident code pages ({e}); not trying again");
                return;
            }
        }
        wait = RELEASE_EVERY;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SMAPS: &str = "\
5581a0000000-5581a0100000 r--p 00000000 fd:00 1311 /usr/bin/strata
Rss:                 128 kB
Anonymous:             0 kB
Swap:                  0 kB
Locked:                0 kB
VmFlags: rd mr mw me dw sd
5581a0100000-5581a0500000 r-xp 00100000 fd:00 1311 /usr/bin/strata
Size:               4096 kB
Rss:                3800 kB
Anonymous:             0 kB
Swap:                  0 kB
Locked:                0 kB
VmFlags: rd ex mr mw me dw sd
5581a0500000-5581a0600000 rw-p 00500000 fd:00 1311 /usr/bin/strata
Rss:                  64 kB
Anonymous:            64 kB
VmFlags: rd wr mr mw me dw ac sd
7f0000000000-7f0000100000 r-xp 00028000 fd:00 77 /usr/lib/libtextrel.so
Rss:                 100 kB
Anonymous:             4 kB
Swap:                  0 kB
7f0000200000-7f0000300000 r-xp 00028000 fd:00 78 /usr/lib/libswapped.so
Rss:                 100 kB
Anonymous:             0 kB
Swap:                  8 kB
7f0000300000-7f0000400000 r-xp 00028000 fd:00 79 /usr/lib/liblocked.so
Rss:                 100 kB
Locked:              100 kB
VmFlags: rd ex mr mw me lo sd
7f0000400000-7f0000500000 r-xs 00000000 fd:00 80 /dev/shm/shared code
Rss:                  12 kB
7f0000500000-7f0000600000 r-xp 00028000 fd:00 81 /opt/my lib/libc.so.6 (deleted)
Rss:                 900 kB
Anonymous:             0 kB
Swap:                  0 kB
Locked:                0 kB
VmFlags: rd ex mr mw me sd
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]
Rss:                   8 kB
7ffd00010000-7ffd00030000 rw-p 00000000 00:00 0                          [stack]
Rss:                  40 kB
";

    #[test]
    fn only_private_unmodified_file_code_is_selected() {
        let maps = parse_smaps(SMAPS);
        assert_eq!(maps.len(), 10);
        let code: Vec<&str> = maps.iter().filter(|m| m.is_clean_code()).map(|m| m.path.as_str()).collect();
        assert_eq!(code, ["/usr/bin/strata", "/opt/my lib/libc.so.6 (deleted)"]);
        let text = &maps[1];
        assert_eq!((text.start, text.end, text.inode, text.rss_kib), (0x5581a0100000, 0x5581a0500000, 1311, 3800));
        assert!(maps[5].vm_locked && maps[5].locked_kib == 100);
        assert_eq!(maps[8].path, "[vdso]");
        // Never data: the writable and read-only mappings of the same file stay.
        assert!(!maps[0].is_clean_code() && !maps[2].is_clean_code() && !maps[9].is_clean_code());
    }

    #[test]
    fn a_line_that_is_not_a_header_or_counter_is_skipped() {
        let maps =
            parse_smaps("garbage\nRss: 5 kB\nzz-yy r-xp 0 fd:00 1 /x\n1000-2000 r-xp 0 fd:00 9 /bin/x\nRss: 4 kB\n");
        assert_eq!(maps.len(), 1);
        assert_eq!((maps[0].start, maps[0].rss_kib, maps[0].path.as_str()), (0x1000, 4, "/bin/x"));
    }

    /// Resident KiB of this test executable's own code mappings.
    fn own_code_rss() -> (u64, u64) {
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let exe = exe.to_str().unwrap();
        let maps = parse_smaps(&std::fs::read_to_string("/proc/self/smaps").unwrap());
        let own: Vec<&Mapping> = maps.iter().filter(|m| m.path == exe && m.perms == "r-xp").collect();
        assert!(!own.is_empty(), "no code mapping of {exe}");
        (own.iter().map(|m| m.rss_kib).sum(), own.iter().map(|m| (m.end - m.start) / 1024).sum())
    }

    #[inline(never)]
    fn checksum(bytes: &[u8]) -> u32 {
        bytes.iter().fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(*b)))
    }

    const SCENARIO: &str = "resident::tests::releasing_drops_resident_code_and_code_still_runs";

    /// Runs in a fresh process of this test executable with only this test in it: tests
    /// running in parallel threads would map much of the code again meanwhile.
    #[test]
    fn releasing_drops_resident_code_and_code_still_runs() {
        if std::env::var_os("STRATA_RESIDENT_SCENARIO").is_some() {
            return release_scenario();
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", SCENARIO, "--test-threads=1", "--nocapture"])
            .env("STRATA_RESIDENT_SCENARIO", "1")
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{text}");
        assert!(text.contains("release scenario passed:"), "the scenario did not run: {text}");
    }

    fn release_scenario() {
        // Make all of this executable's code resident by reading it.
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let exe = exe.to_str().unwrap().to_string();
        let maps = parse_smaps(&std::fs::read_to_string("/proc/self/smaps").unwrap());
        let mut sum = 0u64;
        for m in maps.iter().filter(|m| m.path == exe && m.is_clean_code()) {
            for a in (m.start..m.end).step_by(4096) {
                // SAFETY: a readable page of a live code mapping of this process.
                sum = sum.wrapping_add(u64::from(unsafe { std::ptr::read_volatile(a as *const u8) }));
            }
        }
        let (before, size) = own_code_rss();
        assert!(before * 10 >= size * 9, "code not resident after reading it: {before} of {size} KiB ({sum})");
        let expected = checksum(b"strata resident code");

        let done = release_code_pages().unwrap();
        let (after, _) = own_code_rss();
        assert!(done.mappings >= 1 && done.resident_kib >= before && done.executable, "{done:?}");
        assert!(after * 2 < before, "resident code {before} KiB before, {after} KiB after");
        // Code and constant data still work after their pages were dropped.
        assert_eq!(checksum(b"strata resident code"), expected);
        assert_eq!(parse_smaps(SMAPS).len(), 10);
        assert!(done.to_string().starts_with("released "));
        println!("release scenario passed: {before} KiB of code resident before, {after} KiB after; {done}");
    }

    proptest! {
        #[test]
        fn parsing_any_text_never_panics(text in "\\PC{0,400}") {
            let _ = parse_smaps(&text);
        }

        #[test]
        fn a_header_round_trips(start in 0u64..1 << 47, len in 1u64..1 << 30, inode in 0u64..u64::MAX,
                                w in any::<bool>(), path in "(/[a-z ]{1,12}){0,3}") {
            let perms = if w { "rw-p" } else { "r-xp" };
            let text = format!("{start:x}-{:x} {perms} 00000000 fd:01 {inode} {path}\nRss: 8 kB\n", start + len);
            let maps = parse_smaps(&text);
            prop_assert_eq!(maps.len(), 1);
            let m = &maps[0];
            prop_assert_eq!((m.start, m.end, m.inode, m.rss_kib), (start, start + len, inode, 8));
            prop_assert_eq!(m.path.as_str(), path.as_str());
            prop_assert_eq!(m.is_clean_code(), !w && inode != 0 && path.starts_with('/'));
        }
    }
}
