//! Extents: a group of sealed block payloads written together, with one crc32.
//!
//! Layout (all little-endian):
//! ```text
//!  0  magic "SEXT"
//!  4  flags u8 (bit 0: body is one LZ4 block)   5  reserved u8 (0)
//!  6  block count u16
//!  8  stored body length u32                    12  raw body length u32
//! 16  crc32 over bytes 0..16 and the stored body
//! 20  stored body
//! raw body = count x u32 payload length, then the payloads in order
//! ```
//! Invariants: a block count of zero is never written; the raw body is at most
//! [`MAX_EXTENT_RAW`]; compression is used only when it makes the body smaller, so a
//! stored body is never larger than the raw one; decoding checks the crc before it
//! decompresses and checks the length table against the body, and never panics.

use std::borrow::Cow;
use std::ops::Range;

use super::{le_u32, FormatError, MAX_BLOCKS_PER_EXTENT, MAX_EXTENT_RAW};

/// Bytes of the extent header.
pub const EXTENT_HEADER_LEN: usize = 20;
const MAGIC: [u8; 4] = *b"SEXT";
const FLAG_LZ4: u8 = 1;

/// Reusable scratch space for encoding extents (keeps its capacity between extents).
#[derive(Debug, Default)]
pub struct ExtentEncoder {
    raw: Vec<u8>,
    out: Vec<u8>,
}

impl ExtentEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes `payloads` as one extent; returns its bytes (header and stored body, not
    /// padded). With `compress` the body is LZ4-compressed when that makes it smaller.
    pub fn encode<'p, I>(&mut self, payloads: I, compress: bool) -> Result<&[u8], FormatError>
    where
        I: IntoIterator<Item = &'p [u8]>,
        I::IntoIter: Clone,
    {
        let it = payloads.into_iter();
        let (mut count, mut total) = (0usize, 0usize);
        for p in it.clone() {
            count += 1;
            total = total.saturating_add(p.len());
        }
        if count == 0 {
            return Err(FormatError::invalid("extent", "no blocks"));
        }
        if count > MAX_BLOCKS_PER_EXTENT {
            return Err(FormatError::Limit {
                what: "blocks per extent",
                value: count as u64,
                limit: MAX_BLOCKS_PER_EXTENT as u64,
            });
        }
        let raw_len = total.saturating_add(4 * count);
        if raw_len > MAX_EXTENT_RAW {
            return Err(FormatError::Limit {
                what: "extent body bytes",
                value: raw_len as u64,
                limit: MAX_EXTENT_RAW as u64,
            });
        }
        let body = if compress { &mut self.raw } else { &mut self.out };
        body.clear();
        if !compress {
            body.resize(EXTENT_HEADER_LEN, 0);
        }
        body.reserve(raw_len);
        for p in it.clone() {
            body.extend_from_slice(&(p.len() as u32).to_le_bytes());
        }
        for p in it {
            body.extend_from_slice(p);
        }
        let mut flags = 0u8;
        if compress {
            self.out.clear();
            self.out.resize(EXTENT_HEADER_LEN + lz4_flex::block::get_maximum_output_size(raw_len), 0);
            let n = lz4_flex::block::compress_into(&self.raw, &mut self.out[EXTENT_HEADER_LEN..])
                .map_err(|e| FormatError::Lz4(e.to_string()))?;
            if n < raw_len {
                self.out.truncate(EXTENT_HEADER_LEN + n);
                flags = FLAG_LZ4;
            } else {
                self.out.truncate(EXTENT_HEADER_LEN);
                self.out.extend_from_slice(&self.raw);
            }
        }
        let stored_len = self.out.len() - EXTENT_HEADER_LEN;
        let h = &mut self.out[..EXTENT_HEADER_LEN];
        h[0..4].copy_from_slice(&MAGIC);
        h[4] = flags;
        h[5] = 0;
        h[6..8].copy_from_slice(&(count as u16).to_le_bytes());
        h[8..12].copy_from_slice(&(stored_len as u32).to_le_bytes());
        h[12..16].copy_from_slice(&(raw_len as u32).to_le_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&self.out[..16]);
        crc.update(&self.out[EXTENT_HEADER_LEN..]);
        let crc = crc.finalize();
        self.out[16..20].copy_from_slice(&crc.to_le_bytes());
        Ok(&self.out)
    }
}

/// A checked, decompressed extent: the payload of every block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extent<'a> {
    body: Cow<'a, [u8]>,
    ranges: Vec<Range<usize>>,
    compressed: bool,
}

impl Extent<'_> {
    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Always false for a decoded extent (extents hold at least one block).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The payload of block `i`.
    pub fn block(&self, i: usize) -> Option<&[u8]> {
        self.ranges.get(i).and_then(|r| self.body.get(r.clone()))
    }

    /// Whether the extent was stored LZ4-compressed.
    pub fn compressed(&self) -> bool {
        self.compressed
    }

    /// An owned copy (copies the body only when it borrows the read buffer).
    pub fn into_owned(self) -> Extent<'static> {
        Extent { body: Cow::Owned(self.body.into_owned()), ranges: self.ranges, compressed: self.compressed }
    }
}

/// The stored length (header plus stored body) an extent header announces, after checking
/// the magic; lets a reader that has only the first bytes know how much to read.
pub fn extent_len(bytes: &[u8]) -> Result<usize, FormatError> {
    let h = bytes.get(..EXTENT_HEADER_LEN).ok_or(FormatError::Truncated {
        offset: 0,
        needed: EXTENT_HEADER_LEN,
        len: bytes.len(),
    })?;
    if h[0..4] != MAGIC {
        return Err(FormatError::BadMagic { found: h[0..4].to_vec() });
    }
    Ok(EXTENT_HEADER_LEN + le_u32(&h[8..12]) as usize)
}

/// Decodes the extent at the start of `bytes` (trailing bytes, e.g. padding, are ignored).
pub fn decode_extent(bytes: &[u8]) -> Result<Extent<'_>, FormatError> {
    let total = extent_len(bytes)?;
    let all = bytes.get(..total).ok_or(FormatError::Truncated { offset: 0, needed: total, len: bytes.len() })?;
    let (h, stored) = all.split_at(EXTENT_HEADER_LEN);
    let computed = {
        let mut c = crc32fast::Hasher::new();
        c.update(&h[..16]);
        c.update(stored);
        c.finalize()
    };
    let crc = le_u32(&h[16..20]);
    if crc != computed {
        return Err(FormatError::Crc { stored: crc, computed });
    }
    let flags = h[4];
    if flags & !FLAG_LZ4 != 0 || h[5] != 0 {
        return Err(FormatError::invalid("extent flags", format!("{flags:#x}/{:#x}", h[5])));
    }
    let count = usize::from(u16::from_le_bytes([h[6], h[7]]));
    let raw_len = le_u32(&h[12..16]) as usize;
    if raw_len > MAX_EXTENT_RAW {
        return Err(FormatError::Limit {
            what: "extent body bytes",
            value: raw_len as u64,
            limit: MAX_EXTENT_RAW as u64,
        });
    }
    let compressed = flags & FLAG_LZ4 != 0;
    let body: Cow<'_, [u8]> = if compressed {
        let mut out = vec![0u8; raw_len];
        let n = lz4_flex::block::decompress_into(stored, &mut out).map_err(|e| FormatError::Lz4(e.to_string()))?;
        if n != raw_len {
            return Err(FormatError::invalid(
                "extent body",
                format!("decompressed to {n} bytes, header says {raw_len}"),
            ));
        }
        Cow::Owned(out)
    } else {
        if stored.len() != raw_len {
            return Err(FormatError::invalid("extent body", format!("stored {} bytes, raw {raw_len}", stored.len())));
        }
        Cow::Borrowed(stored)
    };
    if count == 0 {
        return Err(FormatError::invalid("extent", "no blocks"));
    }
    let table = 4 * count;
    if table > body.len() {
        return Err(FormatError::Truncated { offset: 0, needed: table, len: body.len() });
    }
    let mut ranges = Vec::with_capacity(count);
    let mut at = table;
    for i in 0..count {
        let n = le_u32(&body[4 * i..4 * i + 4]) as usize;
        let end = at.checked_add(n).filter(|e| *e <= body.len()).ok_or(FormatError::Truncated {
            offset: at,
            needed: n,
            len: body.len(),
        })?;
        ranges.push(at..end);
        at = end;
    }
    if at != body.len() {
        return Err(FormatError::invalid("extent body", format!("{} bytes after the last block", body.len() - at)));
    }
    Ok(Extent { body, ranges, compressed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(payloads: &[Vec<u8>], compress: bool) -> Vec<u8> {
        ExtentEncoder::new().encode(payloads.iter().map(|p| p.as_slice()), compress).unwrap().to_vec()
    }

    #[test]
    fn compressible_body_is_compressed() {
        let payloads = vec![vec![7u8; 5000], vec![1, 2, 3]];
        let b = encode(&payloads, true);
        assert!(b.len() < 1000);
        let e = decode_extent(&b).unwrap();
        assert!(e.compressed());
        assert_eq!(e.block(0), Some(&payloads[0][..]));
        assert_eq!(e.block(1), Some(&payloads[1][..]));
        assert_eq!(e.block(2), None);
    }

    #[test]
    fn incompressible_body_is_stored_raw() {
        let payloads = vec![vec![9u8]];
        let b = encode(&payloads, true);
        let e = decode_extent(&b).unwrap();
        assert!(!e.compressed());
        assert_eq!(b.len(), EXTENT_HEADER_LEN + 4 + 1);
    }

    #[test]
    fn every_flipped_byte_is_caught() {
        let payloads = vec![vec![1u8; 300], (0..=255u8).collect()];
        for compress in [false, true] {
            let b = encode(&payloads, compress);
            for i in 0..b.len() {
                let mut c = b.clone();
                c[i] ^= 0x10;
                assert!(decode_extent(&c).is_err(), "flip at {i} (compress {compress}) not caught");
            }
        }
    }

    #[test]
    fn limits() {
        assert!(ExtentEncoder::new().encode(std::iter::empty::<&[u8]>(), false).is_err());
        assert!(decode_extent(&[0u8; 10]).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(payloads in proptest::collection::vec(proptest::collection::vec(0u8..4, 0..600), 1..12), compress in any::<bool>()) {
            let b = encode(&payloads, compress);
            let mut padded = b.clone();
            padded.resize(b.len() + 100, 0);
            let e = decode_extent(&padded).unwrap();
            prop_assert_eq!(e.len(), payloads.len());
            for (i, p) in payloads.iter().enumerate() {
                prop_assert_eq!(e.block(i), Some(&p[..]));
            }
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_extent(&bytes);
        }

        #[test]
        fn decode_of_valid_crc_garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200), flags in 0u8..2, count in any::<u16>(), raw in 0u32..100_000) {
            let mut b = vec![0u8; EXTENT_HEADER_LEN];
            b[0..4].copy_from_slice(&MAGIC);
            b[4] = flags;
            b[6..8].copy_from_slice(&count.to_le_bytes());
            b[8..12].copy_from_slice(&(body.len() as u32).to_le_bytes());
            b[12..16].copy_from_slice(&raw.to_le_bytes());
            b.extend_from_slice(&body);
            let mut c = crc32fast::Hasher::new();
            c.update(&b[..16]);
            c.update(&body);
            let crc = c.finalize();
            b[16..20].copy_from_slice(&crc.to_le_bytes());
            let _ = decode_extent(&b);
        }
    }
}
