//! Where the files live: shard directories, file names, and which shard manages which
//! directory after a change of the shard count.
//!
//! Owns: the naming scheme. `<root>` is `<cache dir>/dbengine`; shard `K` writes only in
//! `<root>/shard-<K>/`, files `datafile-<seq:010>.sdf` and `journal-<seq:010>.sjf` (our own
//! format and extensions, not Netdata's); a file set aside gets `.bad` appended.
//! Invariants: with `N` shards, directory `shard-<J>` is managed (quota, deletion,
//! recovery) by shard `J mod N` only: its own for `J < N`, adopted for `J >= N`; every other
//! directory is foreign to a shard and only ever read. Directory listing is synchronous
//! (std) and happens only when a shard opens its files.

use std::io;
use std::path::{Path, PathBuf};

use super::format::FileKind;

const DATAFILE_EXT: &str = "sdf";
const JOURNAL_EXT: &str = "sjf";
/// Suffix of a file set aside by recovery.
pub const SET_ASIDE_SUFFIX: &str = ".bad";

/// `<root>/shard-<dir>`.
pub fn shard_dir(root: &Path, dir: u32) -> PathBuf {
    root.join(format!("shard-{dir}"))
}

/// The shard number of a directory name `shard-<K>`.
pub fn parse_dir_name(name: &str) -> Option<u32> {
    let k = name.strip_prefix("shard-")?;
    if k.is_empty() || !k.bytes().all(|b| b.is_ascii_digit()) || (k.len() > 1 && k.starts_with('0')) {
        return None;
    }
    k.parse().ok()
}

/// The file name of a datafile or journal.
pub fn file_name(kind: FileKind, seq: u32) -> String {
    match kind {
        FileKind::Datafile => format!("datafile-{seq:010}.{DATAFILE_EXT}"),
        FileKind::Journal => format!("journal-{seq:010}.{JOURNAL_EXT}"),
    }
}

/// A file name of ours: its kind, sequence number and whether it was set aside.
pub fn parse_file_name(name: &str) -> Option<(FileKind, u32, bool)> {
    let (base, aside) = match name.strip_suffix(SET_ASIDE_SUFFIX) {
        Some(b) => (b, true),
        None => (name, false),
    };
    let (kind, rest) = if let Some(r) = base.strip_prefix("datafile-") {
        (FileKind::Datafile, r.strip_suffix(&format!(".{DATAFILE_EXT}"))?)
    } else {
        (FileKind::Journal, base.strip_prefix("journal-")?.strip_suffix(&format!(".{JOURNAL_EXT}"))?)
    };
    if rest.len() != 10 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((kind, rest.parse().ok()?, aside))
}

/// The directories one shard deals with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirPlan {
    /// This shard's number `K`: it writes in `shard-<K>`.
    pub own: u32,
    /// Directories `shard-<J>`, `J >= N`, `J mod N == K`: managed (quota, deletion,
    /// recovery) by this shard, never written.
    pub adopted: Vec<u32>,
    /// Every other existing shard directory: read-only for this shard.
    pub foreign: Vec<u32>,
}

impl DirPlan {
    /// The plan of shard `shard` of `shards` given the existing directory numbers.
    pub fn new(shard: u32, shards: u32, existing: impl IntoIterator<Item = u32>) -> DirPlan {
        let n = shards.max(1);
        let mut all: Vec<u32> = existing.into_iter().collect();
        all.sort_unstable();
        all.dedup();
        let adopted = all.iter().copied().filter(|j| *j != shard && *j >= n && j % n == shard).collect();
        let foreign = all.iter().copied().filter(|j| *j != shard && j % n != shard).collect();
        DirPlan { own: shard, adopted, foreign }
    }

    /// Lists `root` for `shard-<J>` directories (a missing root means none).
    pub fn discover(root: &Path, shard: u32, shards: u32) -> io::Result<DirPlan> {
        let mut found = Vec::new();
        match std::fs::read_dir(root) {
            Ok(rd) => {
                for e in rd {
                    let e = e?;
                    if !e.file_type()?.is_dir() {
                        continue;
                    }
                    if let Some(j) = e.file_name().to_str().and_then(parse_dir_name) {
                        found.push(j);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(DirPlan::new(shard, shards, found))
    }

    /// The directories this shard manages: its own first, then the adopted ones.
    pub fn managed(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::once(self.own).chain(self.adopted.iter().copied())
    }
}

/// The files of one directory: (name, size in bytes). A missing directory is empty.
pub(crate) fn list_files(dir: &Path) -> io::Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(rd) => {
            for e in rd {
                let e = e?;
                let md = e.metadata()?;
                if md.is_file() {
                    if let Some(name) = e.file_name().to_str() {
                        out.push((name.to_owned(), md.len()));
                    }
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in [FileKind::Datafile, FileKind::Journal] {
            for seq in [0, 1, 42, u32::MAX] {
                let n = file_name(kind, seq);
                assert_eq!(parse_file_name(&n), Some((kind, seq, false)));
                assert_eq!(parse_file_name(&format!("{n}{SET_ASIDE_SUFFIX}")), Some((kind, seq, true)));
            }
        }
        assert_eq!(file_name(FileKind::Datafile, 7), "datafile-0000000007.sdf");
        for bad in
            ["datafile-7.sdf", "datafile-000000000x.sdf", "journal-0000000001.sdf", "x", "datafile-0000000001.sdf.tmp"]
        {
            assert_eq!(parse_file_name(bad), None, "{bad}");
        }
        assert_eq!(parse_dir_name("shard-12"), Some(12));
        for bad in ["shard-", "shard-01", "shard-x", "shard12"] {
            assert_eq!(parse_dir_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn plans_after_shard_count_changes() {
        // 4 shards ran before, now 2: shard 0 adopts 2, shard 1 adopts 3.
        let p = DirPlan::new(0, 2, [0, 1, 2, 3]);
        assert_eq!(p, DirPlan { own: 0, adopted: vec![2], foreign: vec![1, 3] });
        assert_eq!(p.managed().collect::<Vec<_>>(), vec![0, 2]);
        let p = DirPlan::new(1, 2, [3, 2, 1, 0, 3]);
        assert_eq!(p, DirPlan { own: 1, adopted: vec![3], foreign: vec![0, 2] });
        // 2 shards ran before, now 4: the new shards adopt nothing, read the old ones.
        let p = DirPlan::new(3, 4, [0, 1]);
        assert_eq!(p, DirPlan { own: 3, adopted: vec![], foreign: vec![0, 1] });
        // Every directory is managed by exactly one shard.
        let dirs = [0, 1, 2, 3, 4, 5, 6, 9];
        for n in 1..6u32 {
            for d in dirs {
                let managers = (0..n).filter(|s| DirPlan::new(*s, n, dirs).managed().any(|m| m == d)).count();
                assert_eq!(managers, 1, "dir {d} n {n}");
            }
        }
    }
}
