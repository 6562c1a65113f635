//! The glommio backend of [`Io`]: `DmaFile` (O_DIRECT, io_uring), `DmaBuffer` for writes,
//! `ReadResult` for reads.
//!
//! Invariants: must be used from inside a glommio `LocalExecutor` (buffers come from the
//! executor's io memory, falling back to the heap when that is used up); files are opened
//! read+write through `OpenOptions` (`DmaFile::create` would open them write-only); a short
//! write is an error, never silently accepted.
//!
//! iopoll probe: glommio decides once per device and thread whether reads may use its
//! polled ring, by reading offset 0 of the first file it opens there. If that file is new
//! (empty), the read succeeds without touching the device, polling is wrongly enabled, and
//! every later read fails with EOPNOTSUPP on devices without poll queues. So before the
//! first open on a device, each thread opens a small probe file that holds written data.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use glommio::io::{DmaBuffer, DmaFile, OpenOptions, ReadResult};

use super::io::{check_aligned, Io, WriteBuf, ALIGN};

thread_local! {
    static PROBED: RefCell<HashSet<u64>> = RefCell::new(HashSet::new());
}

/// Makes glommio's iopoll probe for the device of `path` run on a file with data.
async fn ensure_probed(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(dev) = std::fs::metadata(dir).map(|m| m.dev()) else { return };
    if !PROBED.with(|p| p.borrow_mut().insert(dev)) {
        return;
    }
    let probe = dir.join(format!(".strata-iopoll-probe-{}-{:?}", std::process::id(), std::thread::current().id()));
    let written = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&probe)
        .and_then(|f| f.write_all_at(&[0xa5u8; ALIGN], 0).and_then(|()| f.sync_data()));
    if written.is_ok() {
        if let Ok(f) = OpenOptions::new().read(true).dma_open(&probe).await {
            let _ = f.close().await;
        }
    }
    let _ = std::fs::remove_file(&probe);
}

/// glommio DMA files. Cheap to clone (no state).
#[derive(Debug, Clone, Copy, Default)]
pub struct DmaIo;

impl WriteBuf for DmaBuffer {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.as_bytes_mut()
    }
}

impl Io for DmaIo {
    type File = DmaFile;
    type WriteBuf = DmaBuffer;
    type ReadBuf = ReadResult;

    fn alloc(&self, len: usize) -> DmaBuffer {
        glommio::allocate_dma_buffer(len)
    }

    async fn create_new(&self, path: &Path) -> io::Result<DmaFile> {
        ensure_probed(path).await;
        Ok(OpenOptions::new().read(true).write(true).create_new(true).dma_open(path).await?)
    }

    async fn open_read(&self, path: &Path) -> io::Result<DmaFile> {
        ensure_probed(path).await;
        Ok(OpenOptions::new().read(true).dma_open(path).await?)
    }

    async fn open_rw(&self, path: &Path) -> io::Result<DmaFile> {
        ensure_probed(path).await;
        Ok(OpenOptions::new().read(true).write(true).dma_open(path).await?)
    }

    async fn read_at(&self, file: &DmaFile, offset: u64, len: usize) -> io::Result<ReadResult> {
        check_aligned(offset, len)?;
        Ok(file.read_at_aligned(offset, len).await?)
    }

    async fn write_at(&self, file: &DmaFile, buf: DmaBuffer, offset: u64) -> io::Result<()> {
        check_aligned(offset, buf.len())?;
        let want = buf.len();
        let n = file.write_at(buf, offset).await?;
        if n != want {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short write: {n} of {want} bytes at {offset}"),
            ));
        }
        Ok(())
    }

    async fn size(&self, file: &DmaFile) -> io::Result<u64> {
        Ok(file.file_size().await?)
    }

    async fn truncate(&self, file: &DmaFile, len: u64) -> io::Result<()> {
        Ok(file.truncate(len).await?)
    }

    async fn sync(&self, file: &DmaFile) -> io::Result<()> {
        Ok(file.fdatasync().await?)
    }

    async fn close(&self, file: DmaFile) -> io::Result<()> {
        Ok(file.close().await?)
    }

    async fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        Ok(glommio::io::rename(from, to).await?)
    }

    async fn remove(&self, path: &Path) -> io::Result<()> {
        Ok(glommio::io::remove(path).await?)
    }

    async fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let d = glommio::io::Directory::open(dir).await?;
        d.sync().await?;
        Ok(d.close().await?)
    }
}
