//! The on-disk format of datafiles and journals: pure encoders and decoders, no I/O.
//!
//! Owns: every byte layout below, the format version and the limits a decoder enforces.
//! Invariants: decoding never panics and its allocations are bounded (counts and lengths are
//! checked against the bytes that remain, strings against [`MAX_STRING`], a decompressed
//! extent against [`MAX_EXTENT_RAW`]); integers are little-endian; every
//! datafile and journal starts with one [`BLOCK`]-sized header block; every extent starts
//! at a [`BLOCK`]-aligned offset and is zero-padded to a [`BLOCK`] multiple.
//!
//! Files (one pair per sequence number, in `<root>/shard-<K>/`):
//! - datafile `datafile-<seq:010>.sdf`: header block, then extents.
//! - journal `journal-<seq:010>.sjf`: header block, then records packed back to back (a
//!   record may cross a block boundary); the bytes after the last record are zero.
//!
//! Header (first 32 bytes of the header block, rest zero): magic (8), version u16,
//! flags u16 (0), shard directory u32, sequence u32, creation time i64 (unix µs),
//! crc32 of the previous 28 bytes.
//!
//! Extent ([`extent`]): 20-byte header (magic, flags, block count, stored and raw body
//! lengths, crc32 over the header and the stored body), then the body, LZ4-compressed as
//! one block when the flag says so. The raw body is a table of `u32` payload lengths, one
//! per block, followed by the payloads in order. The block metadata is not repeated here:
//! it lives once, in the journal.
//!
//! Journal records ([`journal`]): `u32` length (whole record), kind byte, body, crc32 over
//! everything before it. An extent record names the extent's offset and length and each
//! block's metadata, with host, chart and dimension names defined once per journal file
//! in a dictionary that grows record by record.

pub mod extent;
pub mod journal;
mod varint;

use thiserror::Error;

/// The I/O and layout unit: O_DIRECT alignment, header size, extent alignment.
pub const BLOCK: usize = 4096;
/// Format version written by this build; decoders accept exactly this one.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes of the header that carry meaning (the rest of the header block is zero).
pub const HEADER_LEN: usize = 32;
/// Largest raw (uncompressed) extent body a decoder accepts.
pub const MAX_EXTENT_RAW: usize = 64 << 20;
/// Largest number of blocks in one extent.
pub const MAX_BLOCKS_PER_EXTENT: usize = u16::MAX as usize;
/// Longest host GUID, chart id or dimension id the journal stores.
pub const MAX_STRING: usize = 4096;
/// Largest number of dimensions of one block.
pub const MAX_DIMS: usize = 65_535;

const DATAFILE_MAGIC: [u8; 8] = *b"STRTDATA";
const JOURNAL_MAGIC: [u8; 8] = *b"STRTJRNL";

/// Why bytes could not be decoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FormatError {
    #[error("truncated: needed {needed} bytes at offset {offset}, have {len}")]
    Truncated { offset: usize, needed: usize, len: usize },
    #[error("bad magic {found:02x?}")]
    BadMagic { found: Vec<u8> },
    #[error("unsupported format version {0}")]
    Version(u16),
    #[error("crc mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Crc { stored: u32, computed: u32 },
    #[error("{what} {value} exceeds the limit {limit}")]
    Limit { what: &'static str, value: u64, limit: u64 },
    #[error("invalid {what}: {detail}")]
    Invalid { what: &'static str, detail: String },
    #[error("lz4: {0}")]
    Lz4(String),
}

impl FormatError {
    pub(crate) fn invalid(what: &'static str, detail: impl Into<String>) -> Self {
        FormatError::Invalid { what, detail: detail.into() }
    }
}

/// Rounds `v` up to a multiple of [`BLOCK`].
pub fn align_up(v: u64) -> u64 {
    v.div_ceil(BLOCK as u64) * BLOCK as u64
}

/// Which file a header belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Datafile,
    Journal,
}

impl FileKind {
    fn magic(self) -> [u8; 8] {
        match self {
            FileKind::Datafile => DATAFILE_MAGIC,
            FileKind::Journal => JOURNAL_MAGIC,
        }
    }
}

/// The header of a datafile or a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    pub kind: FileKind,
    /// The shard directory number `K` of `shard-<K>` the file was created in.
    pub dir: u32,
    /// The file pair's sequence number (also in the file name).
    pub seq: u32,
    /// Creation time, unix microseconds (orders files of different directories).
    pub created_us: i64,
}

impl FileHeader {
    /// The [`HEADER_LEN`] meaningful bytes (the caller pads the block with zeros).
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..8].copy_from_slice(&self.kind.magic());
        out[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        // 10..12: flags, zero
        out[12..16].copy_from_slice(&self.dir.to_le_bytes());
        out[16..20].copy_from_slice(&self.seq.to_le_bytes());
        out[20..28].copy_from_slice(&self.created_us.to_le_bytes());
        let crc = crc32fast::hash(&out[0..28]);
        out[28..32].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes and checks a header of the expected kind.
    pub fn decode(kind: FileKind, bytes: &[u8]) -> Result<FileHeader, FormatError> {
        let h = bytes.get(..HEADER_LEN).ok_or(FormatError::Truncated {
            offset: 0,
            needed: HEADER_LEN,
            len: bytes.len(),
        })?;
        if h[0..8] != kind.magic() {
            return Err(FormatError::BadMagic { found: h[0..8].to_vec() });
        }
        let stored = le_u32(&h[28..32]);
        let computed = crc32fast::hash(&h[0..28]);
        if stored != computed {
            return Err(FormatError::Crc { stored, computed });
        }
        let version = u16::from_le_bytes([h[8], h[9]]);
        if version != FORMAT_VERSION {
            return Err(FormatError::Version(version));
        }
        let flags = u16::from_le_bytes([h[10], h[11]]);
        if flags != 0 {
            return Err(FormatError::invalid("header flags", format!("{flags:#x}")));
        }
        let mut created = [0u8; 8];
        created.copy_from_slice(&h[20..28]);
        Ok(FileHeader {
            kind,
            dir: le_u32(&h[12..16]),
            seq: le_u32(&h[16..20]),
            created_us: i64::from_le_bytes(created),
        })
    }
}

/// `u32` from the first four bytes of `b` (callers pass exactly four).
fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn align() {
        assert_eq!(align_up(0), 0);
        assert_eq!(align_up(1), 4096);
        assert_eq!(align_up(4096), 4096);
        assert_eq!(align_up(4097), 8192);
    }

    #[test]
    fn header_checks() {
        let h = FileHeader { kind: FileKind::Journal, dir: 3, seq: 7, created_us: 1_700_000_000_000_000 };
        let b = h.encode();
        assert_eq!(FileHeader::decode(FileKind::Journal, &b), Ok(h));
        assert!(matches!(FileHeader::decode(FileKind::Datafile, &b), Err(FormatError::BadMagic { .. })));
        let mut bad = b;
        bad[13] ^= 1;
        assert!(matches!(FileHeader::decode(FileKind::Journal, &bad), Err(FormatError::Crc { .. })));
        assert!(matches!(FileHeader::decode(FileKind::Journal, &b[..20]), Err(FormatError::Truncated { .. })));
    }

    proptest! {
        #[test]
        fn header_round_trip(dir in any::<u32>(), seq in any::<u32>(), created in any::<i64>(), data in any::<bool>()) {
            let kind = if data { FileKind::Datafile } else { FileKind::Journal };
            let h = FileHeader { kind, dir, seq, created_us: created };
            prop_assert_eq!(FileHeader::decode(kind, &h.encode()), Ok(h));
        }

        #[test]
        fn header_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = FileHeader::decode(FileKind::Datafile, &bytes);
        }
    }
}
