//! Minimal MSB-first bit writer and reader for the benchmark's own candidates (kept apart
//! from the dbengine's so a candidate never shares code with what it is compared to).

#[derive(Debug, Default)]
pub struct BitW {
    pub buf: Vec<u8>,
    bits: usize,
}

impl BitW {
    pub fn write(&mut self, value: u64, n: u32) {
        for i in (0..n).rev() {
            if self.bits.is_multiple_of(8) {
                self.buf.push(0);
            }
            if (value >> i) & 1 == 1 {
                let last = self.buf.len() - 1;
                self.buf[last] |= 0x80 >> (self.bits % 8);
            }
            self.bits += 1;
        }
    }
}

#[derive(Debug)]
pub struct BitR<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitR<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        BitR { data, pos: 0 }
    }

    pub fn read(&mut self, n: u32) -> Option<u64> {
        let mut v = 0u64;
        for _ in 0..n {
            let byte = *self.data.get(self.pos / 8)?;
            v = (v << 1) | u64::from((byte >> (7 - self.pos % 8)) & 1);
            self.pos += 1;
        }
        Some(v)
    }
}

pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn get_varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let b = *data.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}
