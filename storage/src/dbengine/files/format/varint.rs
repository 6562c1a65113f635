//! LEB128 varints, zig-zag signed integers and a bounds-checked reader for journal records.
//!
//! Invariants: a reader never reads past its slice and never panics; a varint longer than
//! ten bytes or overflowing `u64` is an error. Written here rather than taken from a crate:
//! it is a dozen lines and the reader must report offsets in our [`FormatError`].

use super::FormatError;

/// Appends `v` as an unsigned LEB128 varint.
pub(crate) fn put_u(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zig-zag encoded.
pub(crate) fn put_i(out: &mut Vec<u8>, v: i64) {
    put_u(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// A forward reader over a record body.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(crate) fn u(&mut self) -> Result<u64, FormatError> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = *self.buf.get(self.pos).ok_or(FormatError::Truncated {
                offset: self.pos,
                needed: 1,
                len: self.buf.len(),
            })?;
            self.pos += 1;
            let bits = u64::from(b & 0x7f);
            if i == 9 && b > 1 {
                return Err(FormatError::invalid("varint", "overflows u64"));
            }
            v |= bits << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(FormatError::invalid("varint", "longer than 10 bytes"))
    }

    pub(crate) fn i(&mut self) -> Result<i64, FormatError> {
        let u = self.u()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A varint that must be at most `limit`.
    pub(crate) fn bounded(&mut self, what: &'static str, limit: u64) -> Result<u64, FormatError> {
        let v = self.u()?;
        if v > limit {
            return Err(FormatError::Limit { what, value: v, limit });
        }
        Ok(v)
    }

    /// A varint that fits `u32`.
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, FormatError> {
        Ok(self.bounded(what, u64::from(u32::MAX))? as u32)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len()).ok_or(FormatError::Truncated {
            offset: self.pos,
            needed: n,
            len: self.buf.len(),
        })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(us in proptest::collection::vec(any::<u64>(), 0..20), is in proptest::collection::vec(any::<i64>(), 0..20)) {
            let mut out = Vec::new();
            for u in &us { put_u(&mut out, *u); }
            for i in &is { put_i(&mut out, *i); }
            let mut r = Reader::new(&out);
            for u in &us { prop_assert_eq!(r.u()?, *u); }
            for i in &is { prop_assert_eq!(r.i()?, *i); }
            prop_assert!(r.is_empty());
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            let mut r = Reader::new(&bytes);
            while !r.is_empty() {
                if r.u().is_err() { break; }
            }
        }
    }

    #[test]
    fn overflow_rejected() {
        let bytes = [0xff; 10];
        assert!(Reader::new(&bytes).u().is_err());
        let mut max = Vec::new();
        put_u(&mut max, u64::MAX);
        assert_eq!(Reader::new(&max).u(), Ok(u64::MAX));
    }
}
