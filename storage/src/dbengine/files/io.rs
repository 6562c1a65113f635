//! The file I/O seam: one small async trait, a plain std implementation ([`StdIo`]) and a
//! glommio one ([`super::dma::DmaIo`], O_DIRECT through io_uring).
//!
//! Owns: the contract every backend keeps. Invariants: data reads and writes use offsets
//! and lengths that are multiples of [`ALIGN`] (O_DIRECT's rule; [`StdIo`] rejects anything
//! else with `InvalidInput`, so the std-backed tests catch what O_DIRECT would refuse);
//! buffers are owned and move into and out of each call (io_uring keeps them while the
//! kernel works); a read may return fewer bytes than asked only at the end of the file.
//! Futures are polled on one shard's executor and are not `Send` by design.

use std::fs::{File, OpenOptions};
use std::io;
use std::ops::Deref;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The alignment of data I/O offsets and lengths.
pub const ALIGN: usize = super::format::BLOCK;

/// A buffer the caller fills before handing it to [`Io::write_at`].
pub trait WriteBuf {
    fn bytes_mut(&mut self) -> &mut [u8];
}

impl WriteBuf for Vec<u8> {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

/// File operations, generic (no `dyn`): the engine is built for one backend.
#[allow(async_fn_in_trait)] // single-threaded executor: callers never need `Send` futures
pub trait Io: Clone + 'static {
    /// An open file.
    type File: 'static;
    /// An owned, aligned buffer for writes.
    type WriteBuf: WriteBuf;
    /// An owned buffer returned by reads.
    type ReadBuf: Deref<Target = [u8]>;

    /// A write buffer of `len` bytes (a multiple of [`ALIGN`]); contents unspecified, the
    /// caller writes every byte.
    fn alloc(&self, len: usize) -> Self::WriteBuf;
    /// Creates a new file (fails if it exists), open for reading and writing.
    async fn create_new(&self, path: &Path) -> io::Result<Self::File>;
    /// Opens an existing file read-only.
    async fn open_read(&self, path: &Path) -> io::Result<Self::File>;
    /// Opens an existing file for reading and writing.
    async fn open_rw(&self, path: &Path) -> io::Result<Self::File>;
    /// Reads `len` bytes at `offset` (both aligned); shorter only at the end of the file.
    async fn read_at(&self, file: &Self::File, offset: u64, len: usize) -> io::Result<Self::ReadBuf>;
    /// Writes the whole buffer at `offset` (both aligned).
    async fn write_at(&self, file: &Self::File, buf: Self::WriteBuf, offset: u64) -> io::Result<()>;
    /// The file's size in bytes.
    async fn size(&self, file: &Self::File) -> io::Result<u64>;
    /// Cuts (or extends) the file to `len` bytes (any length).
    async fn truncate(&self, file: &Self::File, len: u64) -> io::Result<()>;
    /// Makes the file's data durable (fdatasync).
    async fn sync(&self, file: &Self::File) -> io::Result<()>;
    /// Closes the file.
    async fn close(&self, file: Self::File) -> io::Result<()>;
    async fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    async fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes a directory's entries (created, renamed files) durable.
    async fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

pub(crate) fn check_aligned(offset: u64, len: usize) -> io::Result<()> {
    if !offset.is_multiple_of(ALIGN as u64) || !len.is_multiple_of(ALIGN) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unaligned I/O: offset {offset}, length {len} (alignment {ALIGN})"),
        ));
    }
    Ok(())
}

/// Plain std files, positional reads and writes (no O_DIRECT). Its futures complete on the
/// first poll, so it runs under any executor or `block_on`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdIo;

impl Io for StdIo {
    type File = File;
    type WriteBuf = Vec<u8>;
    type ReadBuf = Vec<u8>;

    fn alloc(&self, len: usize) -> Vec<u8> {
        vec![0u8; len]
    }

    async fn create_new(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().read(true).write(true).create_new(true).open(path)
    }

    async fn open_read(&self, path: &Path) -> io::Result<File> {
        File::open(path)
    }

    async fn open_rw(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().read(true).write(true).open(path)
    }

    async fn read_at(&self, file: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        check_aligned(offset, len)?;
        let mut buf = vec![0u8; len];
        let mut got = 0;
        while got < len {
            match file.read_at(&mut buf[got..], offset + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(got);
        Ok(buf)
    }

    async fn write_at(&self, file: &File, buf: Vec<u8>, offset: u64) -> io::Result<()> {
        check_aligned(offset, buf.len())?;
        file.write_all_at(&buf, offset)
    }

    async fn size(&self, file: &File) -> io::Result<u64> {
        Ok(file.metadata()?.len())
    }

    async fn truncate(&self, file: &File, len: u64) -> io::Result<()> {
        file.set_len(len)
    }

    async fn sync(&self, file: &File) -> io::Result<()> {
        file.sync_data()
    }

    async fn close(&self, file: File) -> io::Result<()> {
        drop(file);
        Ok(())
    }

    async fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    async fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    async fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;

    #[test]
    fn std_io_rejects_unaligned_and_reads_short_at_eof() {
        let dir = std::env::temp_dir().join(format!("strata-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let _ = std::fs::remove_file(&path);
        block_on(async {
            let io = StdIo;
            let f = io.create_new(&path).await.unwrap();
            assert!(io.create_new(&path).await.is_err());
            assert_eq!(io.write_at(&f, vec![1u8; 100], 0).await.unwrap_err().kind(), io::ErrorKind::InvalidInput);
            assert_eq!(io.write_at(&f, vec![1u8; 4096], 1).await.unwrap_err().kind(), io::ErrorKind::InvalidInput);
            io.write_at(&f, vec![7u8; 4096], 4096).await.unwrap();
            assert_eq!(io.size(&f).await.unwrap(), 8192);
            let r = io.read_at(&f, 4096, 8192).await.unwrap();
            assert_eq!(r.len(), 4096);
            assert!(r.iter().all(|b| *b == 7));
            io.truncate(&f, 5000).await.unwrap();
            assert_eq!(io.read_at(&f, 4096, 4096).await.unwrap().len(), 904);
            io.close(f).await.unwrap();
        });
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
