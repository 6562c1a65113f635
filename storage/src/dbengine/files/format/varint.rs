//! The bounds-checked reader of journal record bodies, over the shared varints of
//! [`crate::dbengine::varint`].
//!
//! Invariants: a reader never reads past its slice and never panics; a varint
//! overflowing `u64` is an error, reported with its offset in our
//! [`FormatError`].

use super::FormatError;
use crate::dbengine::varint::{self, VarintError};

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
        varint::get_u(self.buf, &mut self.pos).map_err(|e| self.error(e))
    }

    pub(crate) fn i(&mut self) -> Result<i64, FormatError> {
        varint::get_i(self.buf, &mut self.pos).map_err(|e| self.error(e))
    }

    fn error(&self, e: VarintError) -> FormatError {
        match e {
            VarintError::Truncated => FormatError::Truncated { offset: self.pos, needed: 1, len: self.buf.len() },
            VarintError::Overflow => FormatError::invalid("varint", "overflows u64"),
        }
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
    use crate::dbengine::varint::{put_i, put_u};
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
