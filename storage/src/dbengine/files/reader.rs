//! The read path: a location in, a checked block payload out.
//!
//! Owns: the shard's shared state (the set of live managed datafiles, their cached read
//! handles, the counters) and [`FilesReader`], a cheap clonable handle that query tasks
//! hold while the writer works. Invariants: a location in a managed directory whose file
//! is not live (deleted by retention) is [`FilesError::Gone`] even if the file still
//! exists; a foreign file (another shard manages it) is opened per read and closed after,
//! so this shard never keeps a deleted file's space alive; every extent is crc-checked
//! before it is decompressed; no `RefCell` borrow is held across an await.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::rc::Rc;

use super::error::FilesError;
use super::format::extent::{decode_extent, Extent, EXTENT_HEADER_LEN};
use super::format::{align_up, FileKind, FormatError, BLOCK};
use super::io::Io;
use super::layout::{file_name, shard_dir};
use super::location::{BlockLocation, FileId};
use super::stats::{add, Counters, FilesStats};

pub(crate) struct LiveFile<I: Io> {
    pub path: PathBuf,
    pub handle: Option<Rc<I::File>>,
}

pub(crate) struct Shared<I: Io> {
    pub io: I,
    pub root: PathBuf,
    /// Directory numbers this shard manages (own first).
    pub managed: Vec<u32>,
    pub live: RefCell<HashMap<FileId, LiveFile<I>>>,
    pub counters: Counters,
}

impl<I: Io> Shared<I> {
    pub(crate) fn datafile_path(&self, id: FileId) -> PathBuf {
        shard_dir(&self.root, id.dir).join(file_name(FileKind::Datafile, id.seq))
    }
}

/// Reads blocks of any directory under the root. Clone it into query tasks.
pub struct FilesReader<I: Io> {
    pub(crate) shared: Rc<Shared<I>>,
}

impl<I: Io> Clone for FilesReader<I> {
    fn clone(&self) -> Self {
        FilesReader { shared: self.shared.clone() }
    }
}

struct Handle<F> {
    file: Rc<F>,
    foreign: bool,
}

impl<I: Io> FilesReader<I> {
    /// `sizes` (a snapshot of [`super::ShardFiles::stats`]) with the counters as they are
    /// now (they are shared with the writer, so they are live even while it is busy).
    pub fn stats_into(&self, mut sizes: FilesStats) -> FilesStats {
        self.shared.counters.fill(&mut sizes);
        sizes
    }

    /// The payload of the block at `loc`.
    pub async fn read_block(&self, loc: &BlockLocation) -> Result<Vec<u8>, FilesError> {
        self.with_extent(loc, |e| {
            e.block(usize::from(loc.index)).map(<[u8]>::to_vec).ok_or_else(|| FormatError::Limit {
                what: "block index",
                value: u64::from(loc.index),
                limit: e.len().saturating_sub(1) as u64,
            })
        })
        .await
    }

    /// The whole checked, decompressed extent `loc` points into (for an extent cache: one
    /// read serves every block of the extent, see [`BlockLocation::same_extent`]).
    pub async fn read_extent(&self, loc: &BlockLocation) -> Result<Extent<'static>, FilesError> {
        self.with_extent(loc, |e| Ok(e.clone().into_owned())).await
    }

    async fn with_extent<R>(
        &self,
        loc: &BlockLocation,
        f: impl FnOnce(&Extent<'_>) -> Result<R, FormatError>,
    ) -> Result<R, FilesError> {
        let r = self.with_extent_inner(loc, f).await;
        if r.is_err() {
            add(&self.shared.counters.read_errors, 1);
        }
        r
    }

    async fn with_extent_inner<R>(
        &self,
        loc: &BlockLocation,
        f: impl FnOnce(&Extent<'_>) -> Result<R, FormatError>,
    ) -> Result<R, FilesError> {
        let corrupt = |error| FilesError::Corrupt { file: loc.file, offset: loc.offset, error };
        if !loc.offset.is_multiple_of(BLOCK as u64)
            || loc.offset < BLOCK as u64
            || (loc.len as usize) < EXTENT_HEADER_LEN
        {
            return Err(corrupt(FormatError::invalid("location", format!("offset {} length {}", loc.offset, loc.len))));
        }
        let h = self.handle(loc.file).await?;
        let s = &self.shared;
        let want = align_up(u64::from(loc.len)) as usize;
        let read = s.io.read_at(&h.file, loc.offset, want).await;
        if h.foreign {
            if let Ok(file) = Rc::try_unwrap(h.file) {
                let _ = s.io.close(file).await;
            }
        }
        let buf = read.map_err(FilesError::io("read extent", s.datafile_path(loc.file)))?;
        add(&s.counters.extents_read, 1);
        add(&s.counters.bytes_read, buf.len() as u64);
        let len = loc.len as usize;
        let bytes = buf.get(..len).ok_or(corrupt(FormatError::Truncated { offset: 0, needed: len, len: buf.len() }))?;
        let extent = match decode_extent(bytes) {
            Ok(e) => e,
            Err(e) => {
                if matches!(e, FormatError::Crc { .. }) {
                    add(&s.counters.crc_failures, 1);
                }
                return Err(corrupt(e));
            }
        };
        f(&extent).map_err(corrupt)
    }

    async fn handle(&self, id: FileId) -> Result<Handle<I::File>, FilesError> {
        let s = &self.shared;
        if !s.managed.contains(&id.dir) {
            let path = s.datafile_path(id);
            let file = s.io.open_read(&path).await.map_err(|e| not_found_is_gone(id, "open datafile", path, e))?;
            return Ok(Handle { file: Rc::new(file), foreign: true });
        }
        let path = {
            let live = s.live.borrow();
            let l = live.get(&id).ok_or(FilesError::Gone { file: id })?;
            if let Some(h) = &l.handle {
                return Ok(Handle { file: h.clone(), foreign: false });
            }
            l.path.clone()
        };
        let file = s.io.open_read(&path).await.map_err(|e| not_found_is_gone(id, "open datafile", path, e))?;
        let file = Rc::new(file);
        let mut live = s.live.borrow_mut();
        let l = live.get_mut(&id).ok_or(FilesError::Gone { file: id })?;
        let h = l.handle.get_or_insert(file).clone();
        Ok(Handle { file: h, foreign: false })
    }
}

fn not_found_is_gone(id: FileId, op: &'static str, path: PathBuf, e: io::Error) -> FilesError {
    if e.kind() == io::ErrorKind::NotFound {
        FilesError::Gone { file: id }
    } else {
        FilesError::Io { op, path, source: e }
    }
}
