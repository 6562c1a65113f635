//! Bit-level writer and reader for the block codec (most significant bit first).
//!
//! Owns: packing variable-width codes into bytes. Written here rather than taken from a
//! crate because the open block keeps a [`BitWriter`] alive between rows (so its buffer,
//! growth and heap size are ours to control), and the reader must return `None` instead of
//! an I/O error or a panic when untrusted bytes run out. Invariants: `BitWriter::bits` is
//! the number of bits written; unused low bits of the last byte are zero; the reader never
//! reads past its slice.

/// Appends bits to a byte buffer.
///
/// The buffer is kept at least 8 bytes longer than the bytes written, all of them zero
/// past the last written bit, so that every write is one unaligned 8-byte
/// read-modify-write at a fixed size (no length-dependent copy, no pop and push).
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    buf: Vec<u8>,
    bits: usize,
}

impl BitWriter {
    pub fn new() -> Self {
        BitWriter::default()
    }

    /// Number of bits written.
    #[cfg(test)]
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Asks the CPU for the bytes the next write touches.
    pub fn prefetch_tail(&self) {
        crate::prefetch::prefetch(self.buf.as_ptr().wrapping_add(self.bits / 8));
    }

    /// The bytes written so far (the last one padded with zero bits).
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.bits.div_ceil(8)]
    }

    pub fn into_bytes(mut self) -> Vec<u8> {
        self.buf.truncate(self.bits.div_ceil(8));
        self.buf
    }

    /// Makes `buf[at..at + 8]` exist, growing by a quarter (at least 16 bytes) rather than
    /// doubling: open blocks live in RAM for every collected chart, so slack matters more
    /// than the few extra reallocations. New bytes are zero.
    #[inline]
    fn room_at(&mut self, at: usize) {
        let need = at + 8;
        if self.buf.len() < need {
            let len = need.max(self.buf.len() + (self.buf.len() / 4).max(16));
            self.buf.reserve_exact(len - self.buf.len());
            self.buf.resize(len, 0);
        }
    }

    /// Writes the low `n` bits of `value` (`n <= 64`), most significant first.
    #[inline]
    pub fn write(&mut self, value: u64, n: u32) {
        let n = n.min(64);
        if n > 56 {
            self.write(value >> 32, n - 32);
            self.write(value & 0xFFFF_FFFF, 32);
            return;
        }
        if n == 0 {
            return;
        }
        let at = self.bits / 8;
        let used = (self.bits % 8) as u32;
        self.room_at(at);
        let Some(window) = self.buf.get_mut(at..at + 8) else { return };
        let mut word = [0u8; 8];
        word.copy_from_slice(window);
        // The bits past `used` in the first byte and all later bytes are zero.
        let merged = u64::from_be_bytes(word) | ((value & ((1u64 << n) - 1)) << (64 - used - n));
        window.copy_from_slice(&merged.to_be_bytes());
        self.bits += n as usize;
    }

    /// Elias gamma code of `n >= 1` (`2 * floor(log2 n) + 1` bits).
    pub fn gamma(&mut self, n: u64) {
        let n = n.max(1);
        let width = 64 - n.leading_zeros();
        self.write(0, width - 1);
        self.write(n, width);
    }
}

/// Bits of the Elias gamma code of `n >= 1`.
pub fn gamma_bits(n: u64) -> u64 {
    let width = u64::from(64 - n.max(1).leading_zeros());
    2 * width - 1
}

/// Reads bits from a byte slice.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }

    /// Bits consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Reads `n <= 64` bits; `None` when the slice ends first.
    pub fn read(&mut self, n: u32) -> Option<u64> {
        let n = n.min(64);
        if n > 56 {
            let hi = self.read(n - 32)?;
            let lo = self.read(32)?;
            return Some((hi << 32) | lo);
        }
        if self.pos.checked_add(n as usize)? > self.data.len().saturating_mul(8) {
            return None;
        }
        if n == 0 {
            return Some(0);
        }
        let at = self.pos / 8;
        let mut word = [0u8; 8];
        let avail = self.data.get(at..)?;
        let take = avail.len().min(8);
        word[..take].copy_from_slice(&avail[..take]);
        let used = (self.pos % 8) as u32;
        let v = (u64::from_be_bytes(word) << used) >> (64 - n);
        self.pos += n as usize;
        Some(v)
    }

    pub fn bit(&mut self) -> Option<bool> {
        self.read(1).map(|b| b == 1)
    }

    /// Counts leading one bits, up to `max <= 56` (consumes the terminating zero if seen
    /// first).
    pub fn ones(&mut self, max: u32) -> Option<u32> {
        let max = max.min(56);
        let left = self.data.len().saturating_mul(8).saturating_sub(self.pos);
        let at = self.pos / 8;
        let mut word = [0u8; 8];
        let avail = self.data.get(at..)?;
        let take = avail.len().min(8);
        word[..take].copy_from_slice(&avail[..take]);
        let ones = (u64::from_be_bytes(word) << (self.pos % 8)).leading_ones().min(max);
        let used = if ones < max { ones + 1 } else { ones } as usize;
        if used > left {
            return None;
        }
        self.pos += used;
        Some(ones)
    }

    /// Reads an Elias gamma code; `None` on truncation or a code wider than 64 bits.
    pub fn gamma(&mut self) -> Option<u64> {
        let mut zeros = 0u32;
        while !self.bit()? {
            zeros += 1;
            if zeros > 63 {
                return None;
            }
        }
        let rest = self.read(zeros)?;
        Some((1u64 << zeros) | rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_round_trip() {
        let mut w = BitWriter::new();
        let items: [(u64, u32); 7] = [(1, 1), (0, 3), (0x5, 3), (u64::MAX, 64), (0x1234, 13), (0, 0), (0xAB, 8)];
        for (v, n) in items {
            w.write(v, n);
        }
        w.gamma(1);
        w.gamma(1000);
        assert_eq!(w.bits(), 1 + 3 + 3 + 64 + 13 + 8 + 1 + 19);
        let bytes = w.into_bytes();
        let mut r = BitReader::new(&bytes);
        for (v, n) in items {
            let mask = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
            assert_eq!(r.read(n), Some(v & mask), "{v:#x}/{n}");
        }
        assert_eq!(r.gamma(), Some(1));
        assert_eq!(r.gamma(), Some(1000));
        assert_eq!(gamma_bits(1000), 19);
        assert_eq!(r.read(1), None, "112 bits fill 14 bytes exactly");
        // The padding bits of a partial last byte read as zeros, then the slice ends.
        let mut w = BitWriter::new();
        w.write(0b101, 3);
        let bytes = w.into_bytes();
        assert_eq!(bytes, [0b1010_0000]);
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read(3), Some(0b101));
        assert_eq!(r.read(5), Some(0));
        assert_eq!(r.read(1), None);
    }

    #[test]
    fn ones_and_truncated_gamma() {
        let mut r = BitReader::new(&[0b1110_0000]);
        assert_eq!(r.ones(4), Some(3));
        let mut r = BitReader::new(&[0b1111_1111]);
        assert_eq!(r.ones(4), Some(4));
        assert_eq!(BitReader::new(&[0, 0]).gamma(), None);
        assert_eq!(BitReader::new(&[0; 16]).gamma(), None);
    }
}
