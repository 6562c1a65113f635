//! The ring file of one chart, shared by `memory mode = save` and `map`: pure encode,
//! decode and validation over bytes (no I/O here).
//!
//! Layout (version 1, every integer little-endian):
//!
//! ```text
//! header, HEADER_LEN = 320 bytes
//!   0  magic "strataRG"            8  format version u32     12  crc32 of bytes 16..320
//!  16  entries u32                20  update_every u32       24  columns u32
//!  28  head u32                   32  filled u32             36  reserved (0)
//!  40  last_time i64              48  points u64             56  reserved (0)
//!  64  chart id slot (ID_SLOT bytes)
//! then `columns` blocks, one per dimension, each:
//!   id slot (ID_SLOT bytes) | entries × f32 values (NaN = gap), padded to 8 | ⌈entries/64⌉ × u64 reset bits
//! id slot: length u32 | crc32 of the id u32 | id bytes (at most MAX_ID) | zeros
//! ```
//!
//! Invariants: a decoded header has `entries` in 5..=MAX_ENTRIES, `update_every` ≥ 1,
//! `head < entries`, `filled ≤ entries`, and the buffer holds every column block; decoded
//! dimension ids are unique. The values region carries no checksum (a mapped ring writes
//! it continuously); the header checksum covers the ring position and the chart id, and
//! each id slot checks its id. A file may be longer than its columns need (a column being
//! added when the process died); the extra bytes are ignored.

use thiserror::Error;

use crate::columns::{decode_sample, encode_sample, Column, Columns, Cursor};
use crate::Sample;

/// First bytes of every ring file.
pub const MAGIC: [u8; 8] = *b"strataRG";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Bytes of the header, chart id slot included.
pub const HEADER_LEN: usize = 64 + ID_SLOT;
/// Bytes of an id slot.
pub const ID_SLOT: usize = 256;
/// Longest id an id slot holds.
pub const MAX_ID: usize = ID_SLOT - 8;
/// Largest `entries` accepted (Netdata's `history` maximum).
pub const MAX_ENTRIES: usize = 31_536_000;
/// Extension of ring files.
pub const EXTENSION: &str = "ring";

/// Why bytes are not a usable ring file (the file is set aside, not reused).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Corrupt {
    #[error("it is {len} bytes long, {need} bytes expected")]
    Short { len: usize, need: usize },
    #[error("it does not start with the ring file magic")]
    Magic,
    #[error("it has format version {0}, this build reads version {VERSION}")]
    Version(u32),
    #[error("its header checksum does not match")]
    Checksum,
    #[error("its header has an invalid {what} ({value})")]
    Field { what: &'static str, value: u64 },
    #[error("the id slot of {what} is invalid")]
    Id { what: String },
    #[error("dimension id '{0}' appears twice")]
    DuplicateDimension(String),
}

/// Why a valid ring file does not fit the chart being created (it is not used).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Mismatch {
    #[error("chart id ('{found}' in the file)")]
    ChartId { found: String },
    #[error("entries ({found} in the file, {expected} expected)")]
    Entries { found: usize, expected: usize },
    #[error("update every ({found} in the file, {expected} expected)")]
    UpdateEvery { found: u32, expected: u32 },
    #[error("age (its last slot is {age} seconds old, more than the {span} seconds it holds)")]
    TooOld { age: i64, span: i64 },
    #[error("time (its last slot is {ahead} seconds in the future)")]
    InFuture { ahead: i64 },
}

/// Why a ring could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormatError {
    #[error("id of {len} bytes is longer than the {MAX_ID} bytes a ring file holds")]
    IdTooLong { len: usize },
    #[error("buffer of {len} bytes is too small, {need} bytes needed")]
    BufferTooSmall { len: usize, need: usize },
}

/// Byte offsets of a ring with `entries` slots per column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub entries: usize,
}

impl Layout {
    pub fn values_len(self) -> usize {
        (self.entries * 4).next_multiple_of(8)
    }

    pub fn resets_len(self) -> usize {
        self.entries.div_ceil(64) * 8
    }

    pub fn block_len(self) -> usize {
        ID_SLOT + self.values_len() + self.resets_len()
    }

    pub fn block_offset(self, col: usize) -> usize {
        HEADER_LEN + col * self.block_len()
    }

    /// Bytes of a file with `columns` columns (`None` on overflow).
    pub fn file_len(self, columns: usize) -> Option<usize> {
        columns.checked_mul(self.block_len())?.checked_add(HEADER_LEN)
    }

    fn value_offset(self, col: usize, idx: usize) -> usize {
        self.block_offset(col) + ID_SLOT + idx * 4
    }

    fn reset_offset(self, col: usize, idx: usize) -> usize {
        self.block_offset(col) + ID_SLOT + self.values_len() + (idx / 64) * 8
    }
}

/// The decoded header of a ring file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub chart_id: Vec<u8>,
    pub entries: usize,
    pub columns: usize,
    pub cursor: Cursor,
}

/// What the chart being created expects of its file.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub chart_id: &'a [u8],
    pub entries: usize,
    pub update_every: u32,
    /// Unix seconds now.
    pub now: i64,
}

fn get<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = buf.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    get(buf, at).map_or(0, u32::from_le_bytes)
}

fn u64_at(buf: &[u8], at: usize) -> u64 {
    get(buf, at).map_or(0, u64::from_le_bytes)
}

/// File name of a chart's ring: the id with every byte that is not ASCII alphanumeric,
/// `.`, `_` or `-` turned into `_` (Netdata names chart directories alike), plus
/// `-<crc32 of the id>` when that changed anything (or the id is empty, starts with `.`
/// or is long), so two ids never share a file.
pub fn file_name(chart_id: &[u8]) -> String {
    let keep = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-');
    let mut name: String = chart_id.iter().take(200).map(|&c| if keep(c) { char::from(c) } else { '_' }).collect();
    let plain =
        !chart_id.is_empty() && chart_id.len() <= 200 && chart_id[0] != b'.' && chart_id.iter().all(|&c| keep(c));
    if name.starts_with('.') {
        name.replace_range(0..1, "_");
    }
    if !plain {
        name.push_str(&format!("-{:08x}", crc32fast::hash(chart_id)));
    }
    name.push('.');
    name.push_str(EXTENSION);
    name
}

fn encode_id_slot(id: &[u8], slot: &mut [u8]) -> Result<(), FormatError> {
    if id.len() > MAX_ID {
        return Err(FormatError::IdTooLong { len: id.len() });
    }
    if slot.len() < ID_SLOT {
        return Err(FormatError::BufferTooSmall { len: slot.len(), need: ID_SLOT });
    }
    slot[..ID_SLOT].fill(0);
    slot[0..4].copy_from_slice(&(id.len() as u32).to_le_bytes());
    slot[4..8].copy_from_slice(&crc32fast::hash(id).to_le_bytes());
    slot[8..8 + id.len()].copy_from_slice(id);
    Ok(())
}

fn decode_id_slot(slot: &[u8]) -> Option<&[u8]> {
    let len = u32_at(slot, 0) as usize;
    if len > MAX_ID {
        return None;
    }
    let id = slot.get(8..8 + len)?;
    (crc32fast::hash(id) == u32_at(slot, 4)).then_some(id)
}

/// Writes the ring position and column count into an encoded header and updates its
/// checksum (what a mapped ring does after every append).
pub fn write_cursor(header: &mut [u8], columns: usize, cur: &Cursor) {
    if header.len() < HEADER_LEN {
        return;
    }
    put(header, 20, &cur.update_every.to_le_bytes());
    put(header, 24, &(columns as u32).to_le_bytes());
    put(header, 28, &(cur.head as u32).to_le_bytes());
    put(header, 32, &(cur.filled as u32).to_le_bytes());
    put(header, 40, &cur.last_time.to_le_bytes());
    put(header, 48, &cur.points.to_le_bytes());
    let crc = crc32fast::hash(&header[16..HEADER_LEN]);
    put(header, 12, &crc.to_le_bytes());
}

/// Encodes a whole header into `out[..HEADER_LEN]`.
pub fn encode_header(h: &Header, out: &mut [u8]) -> Result<(), FormatError> {
    if out.len() < HEADER_LEN {
        return Err(FormatError::BufferTooSmall { len: out.len(), need: HEADER_LEN });
    }
    out[..HEADER_LEN].fill(0);
    out[0..8].copy_from_slice(&MAGIC);
    out[8..12].copy_from_slice(&VERSION.to_le_bytes());
    out[16..20].copy_from_slice(&(h.entries as u32).to_le_bytes());
    encode_id_slot(&h.chart_id, &mut out[64..HEADER_LEN])?;
    write_cursor(out, h.columns, &h.cursor);
    Ok(())
}

/// Decodes and checks a header; the buffer must also hold every column block.
pub fn decode_header(buf: &[u8]) -> Result<Header, Corrupt> {
    if buf.len() < HEADER_LEN {
        return Err(Corrupt::Short { len: buf.len(), need: HEADER_LEN });
    }
    if buf[0..8] != MAGIC {
        return Err(Corrupt::Magic);
    }
    let version = u32_at(buf, 8);
    if version != VERSION {
        return Err(Corrupt::Version(version));
    }
    if crc32fast::hash(&buf[16..HEADER_LEN]) != u32_at(buf, 12) {
        return Err(Corrupt::Checksum);
    }
    let field = |what, value: u64| Corrupt::Field { what, value };
    let entries = u32_at(buf, 16) as usize;
    if !(5..=MAX_ENTRIES).contains(&entries) {
        return Err(field("entries", entries as u64));
    }
    let update_every = u32_at(buf, 20);
    if update_every == 0 {
        return Err(field("update every", 0));
    }
    let columns = u32_at(buf, 24) as usize;
    let head = u32_at(buf, 28) as usize;
    if head >= entries {
        return Err(field("head", head as u64));
    }
    let filled = u32_at(buf, 32) as usize;
    if filled > entries {
        return Err(field("filled", filled as u64));
    }
    let last_time = get(buf, 40).map_or(0, i64::from_le_bytes);
    let points = u64_at(buf, 48);
    let chart_id = decode_id_slot(&buf[64..HEADER_LEN]).ok_or_else(|| Corrupt::Id { what: "the chart".into() })?;
    let layout = Layout { entries };
    let need = layout.file_len(columns).unwrap_or(usize::MAX);
    if buf.len() < need {
        return Err(Corrupt::Short { len: buf.len(), need });
    }
    Ok(Header {
        chart_id: chart_id.to_vec(),
        entries,
        columns,
        cursor: Cursor { update_every, head, filled, last_time, points },
    })
}

/// Whether a valid header fits the chart being created.
pub fn check(h: &Header, e: &Expected<'_>) -> Result<(), Mismatch> {
    if h.chart_id != e.chart_id {
        return Err(Mismatch::ChartId { found: String::from_utf8_lossy(&h.chart_id).into_owned() });
    }
    if h.entries != e.entries {
        return Err(Mismatch::Entries { found: h.entries, expected: e.entries });
    }
    let ue = h.cursor.update_every;
    if ue != e.update_every {
        return Err(Mismatch::UpdateEvery { found: ue, expected: e.update_every });
    }
    if h.cursor.filled > 0 {
        let span = (h.entries as i64).saturating_mul(i64::from(ue));
        let age = e.now.saturating_sub(h.cursor.last_time);
        if age > span {
            return Err(Mismatch::TooOld { age, span });
        }
        if age < -i64::from(ue) {
            return Err(Mismatch::InFuture { ahead: -age });
        }
    }
    Ok(())
}

/// The dimension ids of the columns of a decoded file, checked and unique.
pub fn column_ids<'a>(buf: &'a [u8], h: &Header) -> Result<Vec<&'a [u8]>, Corrupt> {
    let layout = Layout { entries: h.entries };
    let mut ids: Vec<&[u8]> = Vec::with_capacity(h.columns);
    for col in 0..h.columns {
        let at = layout.block_offset(col);
        let slot = buf.get(at..at + ID_SLOT).ok_or(Corrupt::Short { len: buf.len(), need: at + ID_SLOT })?;
        let id = decode_id_slot(slot).ok_or_else(|| Corrupt::Id { what: format!("dimension {col}") })?;
        if ids.contains(&id) {
            return Err(Corrupt::DuplicateDimension(String::from_utf8_lossy(id).into_owned()));
        }
        ids.push(id);
    }
    Ok(ids)
}

/// Slot `idx` of column `col` in an encoded ring (a gap when out of range).
pub fn read_sample(buf: &[u8], layout: Layout, col: usize, idx: usize) -> Sample {
    let v = get(buf, layout.value_offset(col, idx)).map(|b| f32::from_bits(u32::from_le_bytes(b)));
    let w = get(buf, layout.reset_offset(col, idx)).map(u64::from_le_bytes);
    match (v, w) {
        (Some(v), Some(w)) => decode_sample(v, (w >> (idx % 64)) & 1 != 0),
        _ => Sample::Gap,
    }
}

/// Stores slot `idx` of column `col` in an encoded ring (ignored when out of range).
pub fn write_sample(buf: &mut [u8], layout: Layout, col: usize, idx: usize, s: Sample) {
    let (v, reset) = encode_sample(s);
    put(buf, layout.value_offset(col, idx), &v.to_bits().to_le_bytes());
    let at = layout.reset_offset(col, idx);
    if let Some(mut w) = get(buf, at).map(u64::from_le_bytes) {
        let bit = 1u64 << (idx % 64);
        w = if reset { w | bit } else { w & !bit };
        put(buf, at, &w.to_le_bytes());
    }
}

/// Writes an empty column block (id, every slot a gap) for column `col`.
pub fn init_column(buf: &mut [u8], layout: Layout, col: usize, id: &[u8]) -> Result<(), FormatError> {
    let start = layout.block_offset(col);
    let end = start + layout.block_len();
    let Some(block) = buf.get_mut(start..end) else {
        return Err(FormatError::BufferTooSmall { len: buf.len(), need: end });
    };
    encode_id_slot(id, &mut block[..ID_SLOT])?;
    let nan = f32::NAN.to_bits().to_le_bytes();
    for v in block[ID_SLOT..ID_SLOT + layout.entries * 4].chunks_exact_mut(4) {
        v.copy_from_slice(&nan);
    }
    block[ID_SLOT + layout.entries * 4..].fill(0);
    Ok(())
}

/// Encodes a whole ring: header, then every backend column in order.
pub fn encode<B: Columns>(chart_id: &[u8], cur: &Cursor, cols: &B) -> Result<Vec<u8>, FormatError> {
    let layout = Layout { entries: cols.entries() };
    let columns = cols.count();
    let len = layout.file_len(columns).ok_or(FormatError::BufferTooSmall { len: 0, need: usize::MAX })?;
    let mut buf = vec![0u8; len];
    encode_header(&Header { chart_id: chart_id.to_vec(), entries: layout.entries, columns, cursor: *cur }, &mut buf)?;
    for col in 0..columns {
        init_column(&mut buf, layout, col, cols.id(col))?;
        for idx in 0..layout.entries {
            let s = cols.get(col, idx);
            if s != Sample::Gap {
                write_sample(&mut buf, layout, col, idx, s);
            }
        }
    }
    Ok(buf)
}

/// Decodes the columns of a file whose header is `h` into memory.
pub(crate) fn decode_columns(buf: &[u8], h: &Header) -> Result<Vec<Column>, Corrupt> {
    let layout = Layout { entries: h.entries };
    let ids = column_ids(buf, h)?;
    Ok(ids
        .iter()
        .enumerate()
        .map(|(col, id)| {
            let mut c = Column::new(id, h.entries);
            let at = layout.block_offset(col) + ID_SLOT;
            for (i, v) in c.values.iter_mut().enumerate() {
                *v = f32::from_bits(u32_at(buf, at + i * 4));
            }
            let at = at + layout.values_len();
            for (i, w) in c.resets.iter_mut().enumerate() {
                *w = u64_at(buf, at + i * 8);
            }
            c
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::Heap;
    use crate::RamChart;
    use proptest::prelude::*;

    fn v(x: f64) -> Sample {
        Sample::Value { value: x, reset: false }
    }

    fn sample_ring() -> RamChart {
        let mut r = RamChart::new(70, 2);
        r.add_column(b"user").unwrap();
        r.add_column(b"system").unwrap();
        for t in 0..100 {
            let reset = t % 7 == 0;
            r.append(
                1000 + 2 * t,
                &[Sample::Value { value: t as f64, reset }, if t % 3 == 0 { Sample::Gap } else { v(-1.5) }],
            )
            .unwrap();
        }
        r
    }

    fn encoded(r: &RamChart) -> Vec<u8> {
        encode(b"system.cpu", r.cursor(), r.backend()).unwrap()
    }

    fn expected(now: i64) -> Expected<'static> {
        Expected { chart_id: b"system.cpu", entries: 70, update_every: 2, now }
    }

    #[test]
    fn round_trip_keeps_every_slot_and_the_position() {
        let r = sample_ring();
        let buf = encoded(&r);
        assert_eq!(buf.len(), Layout { entries: 70 }.file_len(2).unwrap());
        let h = decode_header(&buf).unwrap();
        assert_eq!((h.chart_id.as_slice(), h.entries, h.columns), (&b"system.cpu"[..], 70, 2));
        assert_eq!(&h.cursor, r.cursor());
        check(&h, &expected(1200)).unwrap();
        let cols = decode_columns(&buf, &h).unwrap();
        let mut back = RamChart::from_parts(Heap::from_columns(70, cols), h.cursor);
        // Claimed in the other order: columns are found by id.
        assert_eq!(back.add_column(b"system").unwrap(), 0);
        assert_eq!(back.add_column(b"user").unwrap(), 1);
        for t in (1000..1200).step_by(2) {
            assert_eq!(back.get(1, t), r.get(0, t), "user at {t}");
            assert_eq!(back.get(0, t), r.get(1, t), "system at {t}");
        }
        assert_eq!(back.get(1, 1198), v(99.0));
        assert_eq!(back.get(1, 1196), Sample::Value { value: 98.0, reset: true });
        assert_eq!(back.points_stored(), r.points_stored());
    }

    #[test]
    fn mismatches_are_reported() {
        let buf = encoded(&sample_ring());
        let h = decode_header(&buf).unwrap();
        let e = expected(1200);
        assert_eq!(
            check(&h, &Expected { chart_id: b"system.load", ..e }),
            Err(Mismatch::ChartId { found: "system.cpu".into() })
        );
        assert_eq!(check(&h, &Expected { entries: 80, ..e }), Err(Mismatch::Entries { found: 70, expected: 80 }));
        assert_eq!(check(&h, &Expected { update_every: 1, ..e }), Err(Mismatch::UpdateEvery { found: 2, expected: 1 }));
        assert_eq!(check(&h, &expected(1198 + 141)), Err(Mismatch::TooOld { age: 141, span: 140 }));
        assert!(check(&h, &expected(1198 + 140)).is_ok());
        assert_eq!(check(&h, &expected(1000)), Err(Mismatch::InFuture { ahead: 198 }));
        let text = Mismatch::Entries { found: 70, expected: 80 }.to_string();
        assert_eq!(text, "entries (70 in the file, 80 expected)");
    }

    #[test]
    fn corruption_is_detected() {
        let buf = encoded(&sample_ring());
        assert!(matches!(decode_header(&buf[..100]), Err(Corrupt::Short { len: 100, .. })));
        assert!(matches!(decode_header(&buf[..buf.len() - 1]), Err(Corrupt::Short { .. })));
        let mut b = buf.clone();
        b[0] = b'X';
        assert_eq!(decode_header(&b), Err(Corrupt::Magic));
        let mut b = buf.clone();
        b[8] = 9;
        assert_eq!(decode_header(&b), Err(Corrupt::Version(9)));
        let mut b = buf.clone();
        b[45] ^= 1;
        assert_eq!(decode_header(&b), Err(Corrupt::Checksum));
        let mut b = buf.clone();
        let at = Layout { entries: 70 }.block_offset(1) + 9;
        b[at] ^= 0x20;
        let h = decode_header(&b).unwrap();
        assert_eq!(column_ids(&b, &h), Err(Corrupt::Id { what: "dimension 1".into() }));
        // A second column with the first one's id.
        let mut r = RamChart::new(70, 2);
        r.add_column(b"a").unwrap();
        r.add_column(b"a").unwrap();
        let b = encode(b"x.y", r.cursor(), r.backend()).unwrap();
        let h = decode_header(&b).unwrap();
        assert_eq!(column_ids(&b, &h), Err(Corrupt::DuplicateDimension("a".into())));
    }

    #[test]
    fn a_longer_file_is_accepted() {
        let mut buf = encoded(&sample_ring());
        buf.extend_from_slice(&[0u8; 999]);
        let h = decode_header(&buf).unwrap();
        assert_eq!(column_ids(&buf, &h).unwrap(), vec![&b"user"[..], b"system"]);
    }

    #[test]
    fn ids_longer_than_a_slot_are_refused() {
        let mut r = RamChart::new(5, 1);
        r.add_column(&[b'x'; MAX_ID + 1]).unwrap();
        assert_eq!(encode(b"a.b", r.cursor(), r.backend()), Err(FormatError::IdTooLong { len: MAX_ID + 1 }));
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        assert_eq!(file_name(b"system.cpu"), "system.cpu.ring");
        assert_eq!(file_name(b"disk_util.sda-1"), "disk_util.sda-1.ring");
        let a = file_name(b"net.eth0/1");
        let b = file_name(b"net.eth0_1");
        assert!(a.starts_with("net.eth0_1-") && a.ends_with(".ring"), "{a}");
        assert_eq!(b, "net.eth0_1.ring");
        assert_ne!(a, b);
        for odd in [&b""[..], b".", b"..", b"../../etc/passwd", b"a/b", &[0xff, b'.', 0]] {
            let n = file_name(odd);
            assert!(!n.contains('/') && !n.starts_with('.') && n.len() < 255, "{n}");
        }
        assert!(file_name(&[b'a'; 400]).len() < 255);
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000), fix_header in any::<bool>()) {
            let mut bytes = bytes;
            if fix_header && bytes.len() >= HEADER_LEN {
                // Make the header pass its checks often enough to reach the columns.
                bytes[0..8].copy_from_slice(&MAGIC);
                bytes[8..12].copy_from_slice(&VERSION.to_le_bytes());
                bytes[16..20].copy_from_slice(&5u32.to_le_bytes());
                let cols = u32::from(bytes[24] % 4);
                bytes[24..28].copy_from_slice(&cols.to_le_bytes());
                let crc = crc32fast::hash(&bytes[16..HEADER_LEN]);
                bytes[12..16].copy_from_slice(&crc.to_le_bytes());
            }
            if let Ok(h) = decode_header(&bytes) {
                let _ = decode_columns(&bytes, &h);
                for c in 0..h.columns {
                    for i in 0..h.entries {
                        let _ = read_sample(&bytes, Layout { entries: h.entries }, c, i);
                    }
                }
            }
        }

        #[test]
        fn encode_decode_round_trip(
            entries in 5u32..200,
            ue in 1u32..5,
            ncols in 0usize..4,
            steps in proptest::collection::vec((1i64..4, proptest::option::of(-1e6f64..1e6), any::<bool>()), 0..300),
        ) {
            let mut r = RamChart::new(entries, ue);
            for c in 0..ncols {
                r.add_column(format!("d{c}").as_bytes()).unwrap();
            }
            let mut t = 10_000i64;
            for (dt, val, reset) in steps {
                t += dt * i64::from(ue);
                let s = val.map_or(Sample::Gap, |value| Sample::Value { value, reset });
                r.append(t, &vec![s; ncols]).unwrap();
            }
            let buf = encode(b"a.b", r.cursor(), r.backend()).unwrap();
            let h = decode_header(&buf).unwrap();
            prop_assert_eq!(&h.cursor, r.cursor());
            let mut back = RamChart::from_parts(Heap::from_columns(h.entries, decode_columns(&buf, &h).unwrap()), h.cursor);
            for c in 0..ncols {
                prop_assert_eq!(back.add_column(format!("d{c}").as_bytes()).unwrap(), c);
            }
            let first = r.first_time().unwrap_or(0);
            for tt in first..=r.last_time().unwrap_or(0) {
                for c in 0..ncols {
                    prop_assert_eq!(back.get(c, tt), r.get(c, tt));
                }
            }
        }
    }
}
