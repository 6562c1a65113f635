//! `memory mode = map`: the ring lives in a shared memory map of its file, so whatever
//! the kernel holds survives a crash of the process (`kill -9`) without any save step.
//!
//! Owns: the file and its map. Invariants: the map always covers the whole file, which
//! holds exactly `columns` column blocks after the header (a longer file is trimmed when
//! the next column is added); the header's ring position is rewritten (with its checksum)
//! after every change, after the values it describes; a new column's block is fully
//! written (id, gaps) before the header counts it. `flush` (msync) is only needed for
//! durability across a machine crash, not a process crash.
//!
//! The map is created with `MAP_SHARED`; another process truncating the file while it is
//! mapped would fault this one (as with Netdata's `map` mode): the directory is strata's.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use crate::columns::{Columns, Cursor};
use crate::files::{ensure_dir, judge, set_aside, OpenSpec, StoreError, Verdict};
use crate::ram::RamChart;
use crate::ringfile::{self, Header, Layout, HEADER_LEN};
use crate::Sample;

/// Columns in a mapped ring file.
#[derive(Debug)]
pub struct Mapped {
    file: File,
    map: MmapMut,
    path: PathBuf,
    layout: Layout,
    columns: usize,
    cur: Cursor,
}

/// A ring whose slots live in its mapped file.
pub type MappedChart = RamChart<Mapped>;

fn map_file(file: &File, path: &Path) -> Result<MmapMut, StoreError> {
    // SAFETY: the file is strata's own ring file, opened read-write by this process
    // only; every access through the map is bounds-checked against the map length.
    unsafe { MmapMut::map_mut(file) }.map_err(|e| StoreError::io("map", path, e))
}

fn open_rw(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| StoreError::io("open", path, e))
}

impl Mapped {
    /// Opens the chart's file: a valid, fitting file is used in place; otherwise a fresh
    /// ring replaces it (a corrupt one is renamed aside first). The second value is a note
    /// to log. `Err` when nothing usable could be set up (nothing was destroyed).
    pub fn open(spec: &OpenSpec<'_>) -> Result<(MappedChart, Option<StoreError>), StoreError> {
        let path = spec.path();
        ensure_dir(spec.dir)?;
        let mut file = open_rw(&path)?;
        let len = file.metadata().map_err(|e| StoreError::io("stat", &path, e))?.len();
        let mut note = None;
        if len > 0 {
            let map = map_file(&file, &path)?;
            match judge(&map, spec) {
                Verdict::Use(h) => {
                    let cur = h.cursor;
                    let m = Mapped { file, map, path, layout: Layout { entries: h.entries }, columns: h.columns, cur };
                    return Ok((RamChart::from_parts(m, cur), None));
                }
                Verdict::Ignore(what) => note = Some(StoreError::Ignored { path: path.clone(), what }),
                Verdict::Corrupt(reason) => {
                    drop(map);
                    drop(file);
                    note = Some(set_aside(&path, reason, spec.now)?);
                    file = open_rw(&path)?;
                }
            }
        }
        let m = Self::create(file, path, spec)?;
        let cur = m.cur;
        Ok((RamChart::from_parts(m, cur), note))
    }

    /// Turns `file` into an empty ring for `spec`.
    fn create(file: File, path: PathBuf, spec: &OpenSpec<'_>) -> Result<Mapped, StoreError> {
        let cur = Cursor { update_every: spec.update_every(), ..Cursor::default() };
        let h = Header { chart_id: spec.chart_id.to_vec(), entries: spec.entries(), columns: 0, cursor: cur };
        file.set_len(0)
            .and_then(|()| file.set_len(HEADER_LEN as u64))
            .map_err(|e| StoreError::io("resize", &path, e))?;
        let mut map = map_file(&file, &path)?;
        ringfile::encode_header(&h, &mut map).map_err(|source| StoreError::Format { path: path.clone(), source })?;
        Ok(Mapped { file, map, path, layout: Layout { entries: h.entries }, columns: 0, cur })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Asks the kernel to write the map to disk now and waits for it (msync).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.map.flush().map_err(|e| StoreError::io("msync", &self.path, e))
    }
}

impl Columns for Mapped {
    type Error = StoreError;

    fn entries(&self) -> usize {
        self.layout.entries
    }

    fn count(&self) -> usize {
        self.columns
    }

    fn id(&self, col: usize) -> &[u8] {
        if col >= self.columns {
            return &[];
        }
        let at = self.layout.block_offset(col);
        let slot = self.map.get(at..at + ringfile::ID_SLOT).unwrap_or(&[]);
        let len = slot.get(0..4).and_then(|b| b.try_into().ok()).map_or(0, u32::from_le_bytes) as usize;
        slot.get(8..8 + len).unwrap_or(&[])
    }

    fn push(&mut self, id: &[u8]) -> Result<usize, StoreError> {
        let col = self.columns;
        let len = self
            .layout
            .file_len(col + 1)
            .ok_or_else(|| StoreError::io("grow", &self.path, std::io::Error::other("file size overflows")))?;
        self.file.set_len(len as u64).map_err(|e| StoreError::io("grow", &self.path, e))?;
        let mut map = map_file(&self.file, &self.path)?;
        ringfile::init_column(&mut map, self.layout, col, id)
            .map_err(|source| StoreError::Format { path: self.path.clone(), source })?;
        self.map = map;
        self.columns = col + 1;
        ringfile::write_cursor(&mut self.map, self.columns, &self.cur);
        Ok(col)
    }

    fn get(&self, col: usize, idx: usize) -> Sample {
        if col >= self.columns {
            return Sample::Gap;
        }
        ringfile::read_sample(&self.map, self.layout, col, idx)
    }

    fn set(&mut self, col: usize, idx: usize, s: Sample) {
        if col < self.columns {
            ringfile::write_sample(&mut self.map, self.layout, col, idx, s);
        }
    }

    fn sync(&mut self, cursor: &Cursor) {
        self.cur = *cursor;
        ringfile::write_cursor(&mut self.map, self.columns, cursor);
    }

    fn memory_bytes(&self) -> usize {
        self.map.len()
    }
}

impl RamChart<Mapped> {
    /// See [`Mapped::flush`].
    pub fn flush(&self) -> Result<(), StoreError> {
        self.backend().flush()
    }

    pub fn path(&self) -> &Path {
        self.backend().path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ringfile::{Corrupt, Mismatch};

    fn v(x: f64) -> Sample {
        Sample::Value { value: x, reset: false }
    }

    fn spec(dir: &Path, now: i64) -> OpenSpec<'_> {
        OpenSpec { dir, chart_id: b"system.load", entries: 50, update_every: 1, now }
    }

    #[test]
    fn data_survives_a_drop_without_msync() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let (mut r, note) = Mapped::open(&spec(tmp.path(), 100)).unwrap();
            assert!(note.is_none());
            r.add_column(b"load1").unwrap();
            for t in 100..120 {
                r.append(t, &[v(t as f64 / 4.0)]).unwrap();
            }
            r.add_column(b"load5").unwrap();
            r.append(120, &[v(1.0), Sample::Value { value: 2.0, reset: true }]).unwrap();
            // Dropped here: no flush, no save; only the kernel's copy of the pages remains.
        }
        let bytes = std::fs::read(tmp.path().join("system.load.ring")).unwrap();
        let h = ringfile::decode_header(&bytes).unwrap();
        assert_eq!((h.columns, h.cursor.last_time, h.cursor.filled), (2, 120, 21));
        let (mut r, note) = Mapped::open(&spec(tmp.path(), 125)).unwrap();
        assert!(note.is_none(), "{note:?}");
        assert_eq!(r.add_column(b"load5").unwrap(), 0);
        assert_eq!(r.add_column(b"load1").unwrap(), 1);
        assert_eq!(r.get(1, 100), v(25.0));
        assert_eq!(r.get(1, 119), v(29.75));
        assert_eq!(r.get(0, 119), Sample::Gap, "load5 did not exist yet");
        assert_eq!(r.get(0, 120), Sample::Value { value: 2.0, reset: true });
        assert_eq!(r.points_stored(), 22);
        r.append(123, &[v(7.0), v(8.0)]).unwrap();
        assert_eq!(r.get(0, 121), Sample::Gap);
        assert_eq!(r.last_value(1), Some((123, 8.0)));
        r.flush().unwrap();
    }

    #[test]
    fn map_and_save_share_the_format() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let (mut r, _) = Mapped::open(&spec(tmp.path(), 100)).unwrap();
            r.add_column(b"load1").unwrap();
            r.append(100, &[v(3.0)]).unwrap();
        }
        let (mut s, note) = crate::SavedChart::open(&spec(tmp.path(), 101)).unwrap();
        assert!(note.is_none());
        s.ring.add_column(b"load1").unwrap();
        assert_eq!(s.ring.get(0, 100), v(3.0));
    }

    #[test]
    fn mismatched_file_is_replaced_and_corrupt_file_set_aside() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let (mut r, _) = Mapped::open(&spec(tmp.path(), 100)).unwrap();
            r.add_column(b"load1").unwrap();
            r.append(100, &[v(3.0)]).unwrap();
        }
        let other = OpenSpec { update_every: 5, ..spec(tmp.path(), 101) };
        let (r, note) = Mapped::open(&other).unwrap();
        assert!(matches!(
            note,
            Some(StoreError::Ignored { what: Mismatch::UpdateEvery { found: 1, expected: 5 }, .. })
        ));
        assert_eq!((r.last_time(), r.backend().count(), r.update_every()), (None, 0, 5));
        drop(r);
        let path = tmp.path().join("system.load.ring");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), HEADER_LEN as u64);
        std::fs::write(&path, vec![7u8; 10_000]).unwrap();
        let (r, note) = Mapped::open(&spec(tmp.path(), 102)).unwrap();
        assert!(matches!(note, Some(StoreError::SetAside { reason: Corrupt::Magic, .. })), "{note:?}");
        assert_eq!(r.last_time(), None);
        assert_eq!(std::fs::read(tmp.path().join("system.load.ring.corrupt-102")).unwrap(), vec![7u8; 10_000]);
    }

    #[test]
    fn a_file_left_longer_by_a_crash_while_adding_a_column_is_used() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("system.load.ring");
        {
            let (mut r, _) = Mapped::open(&spec(tmp.path(), 100)).unwrap();
            r.add_column(b"load1").unwrap();
            r.append(100, &[v(3.0)]).unwrap();
        }
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(f.metadata().unwrap().len() + 5000).unwrap();
        let (mut r, note) = Mapped::open(&spec(tmp.path(), 101)).unwrap();
        assert!(note.is_none());
        r.add_column(b"load1").unwrap();
        r.add_column(b"load5").unwrap();
        assert_eq!(r.get(0, 100), v(3.0));
        assert_eq!(r.get(1, 100), Sample::Gap, "the leftover bytes are not data");
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, Layout { entries: 50 }.file_len(2).unwrap());
    }
}
