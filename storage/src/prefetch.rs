//! A hint to the CPU that some memory is about to be used.
//!
//! Owns: [`prefetch`] and [`prefetch_slice`]. A parent touches every collected metric's
//! state (its dimension, its store column, its open block) once per collection, far too much to stay in cache (tens of MB per second at half a million
//! metrics), so the first touch of each dimension is a cache miss that stalls the parser;
//! asking for the next dimension while the current line is parsed overlaps that miss with
//! useful work. Invariants: only a hint (never faults, never changes a value; a no-op on
//! targets without the instruction); the pointer may be dangling or out of bounds.

/// Asks the CPU to load the `size_of::<T>()` bytes at `p` into cache.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let bytes = std::mem::size_of::<T>();
        let base = p.cast::<i8>();
        let mut off = 0;
        while off < bytes {
            // SAFETY: prefetch is a hint that never faults, whatever the address;
            // `wrapping_add` keeps the address computation defined out of bounds.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(off)) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Asks the CPU to load every cache line of `s`.
#[inline(always)]
pub fn prefetch_slice<T>(s: &[T]) {
    let base = s.as_ptr().cast::<u8>();
    let bytes = std::mem::size_of_val(s);
    let mut off = 0;
    while off < bytes {
        prefetch(base.wrapping_add(off));
        off += 64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_address_is_only_a_hint() {
        let v = [1u64, 2, 3];
        prefetch(v.as_ptr());
        prefetch(v.as_ptr().wrapping_add(1000));
        prefetch(std::ptr::null::<[u8; 200]>());
        prefetch_slice(&v);
        prefetch_slice::<u64>(&[]);
        assert_eq!(v, [1, 2, 3]);
    }
}
