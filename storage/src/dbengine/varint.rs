//! LEB128 varints and zig-zag signed integers: the one encoding of variable-length integers
//! shared by the block codec (payload directory) and the files format (journal records).
//!
//! Invariants: pure, never panics, never reads past its slice; a varint that overflows
//! `u64` (a tenth byte above 1) is refused, so at most ten bytes are read. Written here
//! rather than taken from a crate: it is a dozen lines, and each caller reports failures
//! in its own error type with its own offsets.

/// Why a varint could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarintError {
    /// The bytes ran out before the last byte of the varint.
    Truncated,
    /// The value does not fit `u64`.
    Overflow,
}

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

/// Reads an unsigned varint at `*pos`, advancing `*pos` past every byte read.
pub(crate) fn get_u(data: &[u8], pos: &mut usize) -> Result<u64, VarintError> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = *data.get(*pos).ok_or(VarintError::Truncated)?;
        *pos += 1;
        // The tenth byte (shift 63) holds one bit and ends the varint.
        if shift == 63 && b > 1 {
            return Err(VarintError::Overflow);
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
        shift += 7;
    }
}

/// Reads a zig-zag encoded signed varint at `*pos` (see [`get_u`]).
pub(crate) fn get_i(data: &[u8], pos: &mut usize) -> Result<i64, VarintError> {
    let u = get_u(data, pos)?;
    Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
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
            let mut pos = 0;
            for u in &us { prop_assert_eq!(get_u(&out, &mut pos), Ok(*u)); }
            for i in &is { prop_assert_eq!(get_i(&out, &mut pos), Ok(*i)); }
            prop_assert_eq!(pos, out.len());
        }

        #[test]
        fn never_panics_nor_reads_past_ten_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            let mut pos = 0;
            while pos < bytes.len() {
                let at = pos;
                let r = get_u(&bytes, &mut pos);
                prop_assert!(pos - at <= 10 && pos <= bytes.len());
                if r.is_err() { break; }
            }
        }
    }

    #[test]
    fn limits() {
        let mut max = Vec::new();
        put_u(&mut max, u64::MAX);
        assert_eq!(max.len(), 10);
        assert_eq!(get_u(&max, &mut 0), Ok(u64::MAX));
        assert_eq!(get_u(&[0xff; 10], &mut 0), Err(VarintError::Overflow));
        assert_eq!(get_u(&[0x80, 0x80], &mut 0), Err(VarintError::Truncated));
        assert_eq!(get_u(&[], &mut 0), Err(VarintError::Truncated));
    }
}
