//! `memory mode = save`: the ring lives in memory and is written to its file on a clean
//! exit; a valid file is loaded when the chart is created again.
//!
//! Owns: one chart's in-memory ring and the path of its file. Invariants: the file is
//! replaced atomically (written to `<file>.<pid>.tmp`, synced, then renamed over the
//! original), so a crash while saving leaves the previous file intact; loading never
//! changes the ring semantics (it is the same [`RamChart`] as `ram`).

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::columns::Heap;
use crate::files::{ensure_dir, judge, set_aside, OpenSpec, StoreError, Verdict};
use crate::ram::RamChart;
use crate::ringfile;

/// A chart's ring in memory, with the file it is saved to.
#[derive(Debug)]
pub struct SavedChart {
    pub(crate) ring: RamChart,
    path: PathBuf,
    chart_id: Box<[u8]>,
}

impl SavedChart {
    /// Loads the chart's file when it exists and fits, else starts a fresh ring. The
    /// second value is a note to log (a file ignored or set aside). `Err` when the
    /// directory or file cannot be used at all (nothing was changed on disk).
    pub fn open(spec: &OpenSpec<'_>) -> Result<(SavedChart, Option<StoreError>), StoreError> {
        let path = spec.path();
        ensure_dir(spec.dir)?;
        let fresh = || RamChart::new(spec.entries() as u32, spec.update_every());
        let (ring, note) = match std::fs::read(&path) {
            Err(e) if e.kind() == ErrorKind::NotFound => (fresh(), None),
            Err(e) => return Err(StoreError::io("read", &path, e)),
            Ok(bytes) => match judge(&bytes, spec) {
                Verdict::Use(h) => match ringfile::decode_columns(&bytes, &h) {
                    Ok(cols) => (RamChart::from_parts(Heap::from_columns(h.entries, cols), h.cursor), None),
                    Err(c) => (fresh(), Some(set_aside(&path, c, spec.now)?)),
                },
                Verdict::Ignore(what) => (fresh(), Some(StoreError::Ignored { path: path.clone(), what })),
                Verdict::Corrupt(c) => (fresh(), Some(set_aside(&path, c, spec.now)?)),
            },
        };
        Ok((SavedChart { ring, path, chart_id: spec.chart_id.into() }, note))
    }

    pub fn ring(&self) -> &RamChart {
        &self.ring
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the ring to its file (temp file, fsync, rename).
    pub fn save(&self) -> Result<(), StoreError> {
        let bytes = ringfile::encode(&self.chart_id, self.ring.cursor(), self.ring.backend())
            .map_err(|source| StoreError::Format { path: self.path.clone(), source })?;
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(format!(".{}.tmp", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let written = File::create(&tmp)
            .and_then(|mut f| {
                f.write_all(&bytes)?;
                f.sync_data()
            })
            .map_err(|e| StoreError::io("write", &tmp, e));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, &self.path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            StoreError::io("rename into place", &self.path, e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ringfile::{Corrupt, Mismatch};
    use crate::Sample;

    fn v(x: f64) -> Sample {
        Sample::Value { value: x, reset: false }
    }

    fn spec(dir: &Path, now: i64) -> OpenSpec<'_> {
        OpenSpec { dir, chart_id: b"net.eth0", entries: 60, update_every: 1, now }
    }

    fn filled(dir: &Path) -> SavedChart {
        let (mut s, note) = SavedChart::open(&spec(dir, 1000)).unwrap();
        assert!(note.is_none());
        s.ring.add_column(b"received").unwrap();
        s.ring.add_column(b"sent").unwrap();
        for t in 1000..1030 {
            s.ring.append(t, &[v(t as f64), v(-(t as f64))]).unwrap();
        }
        s
    }

    #[test]
    fn saved_ring_is_loaded_again_with_dimensions_by_id() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("guid");
        let s = filled(&dir);
        s.save().unwrap();
        assert_eq!(s.path(), dir.join("net.eth0.ring"));
        let (mut back, note) = SavedChart::open(&spec(&dir, 1040)).unwrap();
        assert!(note.is_none(), "{note:?}");
        assert_eq!(back.ring.columns(), 0, "columns wait for their dimensions");
        assert_eq!(back.ring.add_column(b"sent").unwrap(), 0);
        assert_eq!(back.ring.add_column(b"new").unwrap(), 1);
        assert_eq!(back.ring.add_column(b"received").unwrap(), 2);
        assert_eq!(back.ring.get(0, 1029), v(-1029.0));
        assert_eq!(back.ring.get(2, 1000), v(1000.0));
        assert_eq!(back.ring.get(1, 1010), Sample::Gap);
        assert_eq!((back.ring.first_time(), back.ring.last_time()), (Some(1000), Some(1029)));
        // The ring goes on where it stopped: the downtime is a gap.
        back.ring.append(1035, &[v(1.0), v(2.0), v(3.0)]).unwrap();
        assert_eq!(back.ring.get(2, 1032), Sample::Gap);
        assert_eq!(back.ring.get(2, 1035), v(3.0));
        assert!(std::fs::read_dir(&dir).unwrap().count() == 1, "no temp file left");
    }

    #[test]
    fn a_file_of_another_shape_is_not_used() {
        let tmp = tempfile::tempdir().unwrap();
        let s = filled(tmp.path());
        s.save().unwrap();
        let other = OpenSpec { entries: 120, ..spec(tmp.path(), 1040) };
        let (back, note) = SavedChart::open(&other).unwrap();
        assert_eq!(back.ring.last_time(), None);
        let note = note.unwrap();
        assert!(matches!(&note, StoreError::Ignored { what: Mismatch::Entries { found: 60, expected: 120 }, .. }));
        let text = note.to_string();
        assert!(
            text.starts_with("File '")
                && text.ends_with("does not have the expected entries (60 in the file, 120 expected), ignoring it"),
            "{text}"
        );
        let other = OpenSpec { update_every: 2, ..spec(tmp.path(), 1040) };
        assert!(matches!(SavedChart::open(&other).unwrap().1, Some(StoreError::Ignored { .. })));
        let stale = spec(tmp.path(), 1029 + 61);
        assert!(matches!(
            SavedChart::open(&stale).unwrap().1,
            Some(StoreError::Ignored { what: Mismatch::TooOld { age: 61, span: 60 }, .. })
        ));
    }

    #[test]
    fn a_corrupt_or_short_file_is_set_aside() {
        let tmp = tempfile::tempdir().unwrap();
        let s = filled(tmp.path());
        s.save().unwrap();
        let bytes = std::fs::read(s.path()).unwrap();
        std::fs::write(s.path(), &bytes[..bytes.len() / 2]).unwrap();
        let (back, note) = SavedChart::open(&spec(tmp.path(), 1040)).unwrap();
        assert_eq!(back.ring.last_time(), None);
        let Some(StoreError::SetAside { reason: Corrupt::Short { .. }, aside, .. }) = note else { panic!("{note:?}") };
        assert_eq!(aside, tmp.path().join("net.eth0.ring.corrupt-1040"));
        assert_eq!(std::fs::read(&aside).unwrap().len(), bytes.len() / 2, "kept as it was");
        assert!(!s.path().exists());
        std::fs::write(s.path(), b"garbage").unwrap();
        let note = SavedChart::open(&spec(tmp.path(), 1041)).unwrap().1.unwrap().to_string();
        assert!(note.contains("is not a usable ring file") && note.contains("renamed it to"), "{note}");
    }

    #[test]
    fn an_unusable_directory_is_an_error_not_a_panic() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("plain");
        std::fs::write(&file, b"x").unwrap();
        let e = SavedChart::open(&spec(&file, 1)).unwrap_err();
        assert!(e.to_string().starts_with("cannot create directory"), "{e}");
    }
}
