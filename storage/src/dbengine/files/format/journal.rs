//! Journal records: where each extent is and which blocks it holds.
//!
//! Record frame: `u32` LE total length, kind byte, body, crc32 LE over everything before
//! it. Kinds: [`KIND_EXTENT`] and [`KIND_SEAL`] (the file was closed cleanly; nothing
//! follows). A length of zero where a record would start, followed only by zeros, is the
//! clean end of the journal.
//!
//! Extent record body (varints; `z` = zig-zag):
//! ```text
//! strings_before series_before dimsets_before      dictionary sizes before this record
//! extent_offset extent_len
//! n { len bytes }                                  new strings
//! n { host_string chart_string }                   new series
//! n { ndims { string }* }                          new dimension lists
//! n { series dims z(start - previous start) update_every slots }   blocks, in extent order
//! ```
//! Invariants: a dictionary entry is defined once per journal file, before its first use;
//! `*_before` let a reader that skipped a damaged record know which entries it lost, so
//! only the blocks that use them are dropped. The encoder validates every block before it
//! changes its dictionary. [`scan_journal`] never panics and classifies the first bad frame
//! as a torn tail unless a valid frame follows it (then the bad record is skipped).

use std::collections::HashMap;

use super::varint::Reader;
use super::{le_u32, FormatError, MAX_BLOCKS_PER_EXTENT, MAX_DIMS, MAX_STRING};
use crate::dbengine::block::{BlockMeta, SeriesKey};
use crate::dbengine::varint::{put_i, put_u};

/// Record kind: one extent and its blocks.
pub const KIND_EXTENT: u8 = 1;
/// Record kind: the journal was sealed (closed cleanly).
pub const KIND_SEAL: u8 = 2;
/// Smallest record: length, kind and crc.
pub const MIN_RECORD: usize = 9;

/// Writer side: the dictionary of one journal file and the record encoder.
#[derive(Debug, Default)]
pub struct JournalEncoder {
    strings: HashMap<String, u32>,
    series: HashMap<(u32, u32), u32>,
    dimsets: HashMap<Vec<u32>, u32>,
    dims_scratch: Vec<u32>,
}

/// Checks that a block can be stored (done before any dictionary change).
pub fn validate_block(m: &BlockMeta) -> Result<(), FormatError> {
    for s in [&m.series.host_guid, &m.series.chart_id].into_iter().chain(m.dims.iter()) {
        if s.len() > MAX_STRING {
            return Err(FormatError::Limit { what: "name length", value: s.len() as u64, limit: MAX_STRING as u64 });
        }
    }
    if m.dims.len() > MAX_DIMS {
        return Err(FormatError::Limit { what: "dimensions", value: m.dims.len() as u64, limit: MAX_DIMS as u64 });
    }
    if m.slots == 0 || m.update_every == 0 {
        return Err(FormatError::invalid("block", format!("slots {} update_every {}", m.slots, m.update_every)));
    }
    Ok(())
}

impl JournalEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the record of an extent at `offset` (`len` bytes) holding `blocks` in order.
    /// On error nothing was appended and the dictionary is unchanged.
    pub fn extent_record<'m, I>(
        &mut self,
        offset: u64,
        len: u32,
        blocks: I,
        out: &mut Vec<u8>,
    ) -> Result<(), FormatError>
    where
        I: IntoIterator<Item = &'m BlockMeta>,
        I::IntoIter: Clone,
    {
        let it = blocks.into_iter();
        let mut count = 0usize;
        for m in it.clone() {
            validate_block(m)?;
            count += 1;
        }
        if count == 0 || count > MAX_BLOCKS_PER_EXTENT {
            return Err(FormatError::Limit {
                what: "blocks per extent",
                value: count as u64,
                limit: MAX_BLOCKS_PER_EXTENT as u64,
            });
        }
        let before = (self.strings.len(), self.series.len(), self.dimsets.len());
        let mut new_strings: Vec<&'m str> = Vec::new();
        let mut new_series: Vec<(u32, u32)> = Vec::new();
        let mut new_dimsets: Vec<u32> = Vec::new(); // flattened: n, ids...
        let mut refs: Vec<(u32, u32)> = Vec::with_capacity(count);
        for m in it.clone() {
            let h = intern(&mut self.strings, &mut new_strings, &m.series.host_guid);
            let c = intern(&mut self.strings, &mut new_strings, &m.series.chart_id);
            let next = self.series.len() as u32;
            let s = *self.series.entry((h, c)).or_insert_with(|| {
                new_series.push((h, c));
                next
            });
            let mut ids = std::mem::take(&mut self.dims_scratch);
            ids.clear();
            for d in &m.dims {
                ids.push(intern(&mut self.strings, &mut new_strings, d));
            }
            let d = match self.dimsets.get(ids.as_slice()) {
                Some(d) => *d,
                None => {
                    let d = self.dimsets.len() as u32;
                    new_dimsets.push(ids.len() as u32);
                    new_dimsets.extend_from_slice(&ids);
                    self.dimsets.insert(ids.clone(), d);
                    d
                }
            };
            self.dims_scratch = ids;
            refs.push((s, d));
        }

        let start = out.len();
        out.extend_from_slice(&[0u8; 4]);
        out.push(KIND_EXTENT);
        put_u(out, before.0 as u64);
        put_u(out, before.1 as u64);
        put_u(out, before.2 as u64);
        put_u(out, offset);
        put_u(out, u64::from(len));
        put_u(out, new_strings.len() as u64);
        for s in &new_strings {
            put_u(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        put_u(out, new_series.len() as u64);
        for (h, c) in &new_series {
            put_u(out, u64::from(*h));
            put_u(out, u64::from(*c));
        }
        let ndimsets = self.dimsets.len() - before.2;
        put_u(out, ndimsets as u64);
        for v in &new_dimsets {
            put_u(out, u64::from(*v));
        }
        put_u(out, count as u64);
        let mut prev = 0i64;
        for (m, (s, d)) in it.zip(refs) {
            put_u(out, u64::from(s));
            put_u(out, u64::from(d));
            put_i(out, m.start.wrapping_sub(prev));
            prev = m.start;
            put_u(out, u64::from(m.update_every));
            put_u(out, u64::from(m.slots));
        }
        finish_frame(out, start);
        Ok(())
    }
}

/// Appends a seal record (`extents` = extent records written to the file).
pub fn seal_record(extents: u64, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0u8; 4]);
    out.push(KIND_SEAL);
    put_u(out, extents);
    finish_frame(out, start);
}

fn intern<'m>(map: &mut HashMap<String, u32>, new: &mut Vec<&'m str>, s: &'m str) -> u32 {
    if let Some(id) = map.get(s) {
        return *id;
    }
    let id = map.len() as u32;
    map.insert(s.to_owned(), id);
    new.push(s);
    id
}

fn finish_frame(out: &mut Vec<u8>, start: usize) {
    let len = (out.len() - start + 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Reader side: the dictionary rebuilt from a journal; `None` marks an entry whose
/// definition was in a skipped record (or that refers to one).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JournalDict {
    pub strings: Vec<Option<String>>,
    pub series: Vec<Option<SeriesKey>>,
    pub dims: Vec<Option<Vec<String>>>,
}

/// One block as the journal describes it (ids into the [`JournalDict`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordBlock {
    pub series: u32,
    pub dims: u32,
    pub start: i64,
    pub update_every: u32,
    pub slots: u32,
}

/// One extent record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtentRecord {
    /// Offset of the record in the journal file.
    pub record_offset: u64,
    /// The extent's offset in the datafile.
    pub offset: u64,
    /// The extent's stored length (not padded).
    pub len: u32,
    pub blocks: Vec<RecordBlock>,
}

/// How a journal scan ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalEnd {
    /// Zeros (or nothing) after the last record.
    Clean,
    /// A bad frame with no valid frame after it, at `offset` (file offset).
    Torn { offset: u64, error: FormatError },
}

/// Everything a journal says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalScan {
    pub dict: JournalDict,
    pub extents: Vec<ExtentRecord>,
    /// A seal record was found (the file was closed cleanly).
    pub sealed: bool,
    /// File offset just past the last good record.
    pub valid_end: u64,
    pub end: JournalEnd,
    /// Damaged records that were skipped (file offset, why).
    pub skipped: Vec<(u64, FormatError)>,
}

/// Parses the records in `bytes`, which start at file offset `base` (the header size).
pub fn scan_journal(bytes: &[u8], base: u64) -> JournalScan {
    let mut scan = JournalScan {
        dict: JournalDict::default(),
        extents: Vec::new(),
        sealed: false,
        valid_end: base,
        end: JournalEnd::Clean,
        skipped: Vec::new(),
    };
    let mut o = 0usize;
    loop {
        match frame(bytes, o) {
            Ok(None) => break,
            Ok(Some((kind, body, len))) => {
                let at = base + o as u64;
                if scan.sealed {
                    scan.end =
                        JournalEnd::Torn { offset: at, error: FormatError::invalid("journal", "record after seal") };
                    break;
                }
                match kind {
                    KIND_EXTENT => match decode_extent_record(body, &mut scan.dict) {
                        Ok((offset, len, blocks)) => {
                            scan.extents.push(ExtentRecord { record_offset: at, offset, len, blocks })
                        }
                        Err(e) => scan.skipped.push((at, e)),
                    },
                    KIND_SEAL => scan.sealed = true,
                    k => scan.skipped.push((at, FormatError::invalid("record kind", k.to_string()))),
                }
                o += len;
                scan.valid_end = base + o as u64;
            }
            Err(error) => {
                let next = plausible_len(bytes, o).map(|l| o + l);
                if let Some(n) = next.filter(|n| matches!(frame(bytes, *n), Ok(Some(_)))) {
                    scan.skipped.push((base + o as u64, error));
                    o = n;
                    continue;
                }
                scan.end = JournalEnd::Torn { offset: base + o as u64, error };
                break;
            }
        }
    }
    scan
}

fn plausible_len(bytes: &[u8], o: usize) -> Option<usize> {
    let l = le_u32(bytes.get(o..o + 4)?) as usize;
    (l >= MIN_RECORD && o + l <= bytes.len()).then_some(l)
}

/// The frame at `o`: `Ok(None)` at the clean end, else kind, body and total length.
fn frame(bytes: &[u8], o: usize) -> Result<Option<Frame<'_>>, FormatError> {
    let rest = bytes.get(o..).unwrap_or(&[]);
    if rest.iter().all(|b| *b == 0) {
        return Ok(None);
    }
    if rest.len() < MIN_RECORD {
        return Err(FormatError::Truncated { offset: o, needed: MIN_RECORD, len: rest.len() });
    }
    let len = le_u32(&rest[0..4]) as usize;
    if len < MIN_RECORD {
        return Err(FormatError::invalid("record length", len.to_string()));
    }
    if len > rest.len() {
        return Err(FormatError::Truncated { offset: o, needed: len, len: rest.len() });
    }
    let stored = le_u32(&rest[len - 4..len]);
    let computed = crc32fast::hash(&rest[..len - 4]);
    if stored != computed {
        return Err(FormatError::Crc { stored, computed });
    }
    Ok(Some((rest[4], &rest[5..len - 4], len)))
}

type Decoded = (u64, u32, Vec<RecordBlock>);
/// A record frame: kind, body and total length.
type Frame<'a> = (u8, &'a [u8], usize);

/// Decodes an extent record body; the dictionary changes only when it succeeds.
fn decode_extent_record(body: &[u8], dict: &mut JournalDict) -> Result<Decoded, FormatError> {
    let mut r = Reader::new(body);
    let bases = [r.u()?, r.u()?, r.u()?];
    let have = [dict.strings.len() as u64, dict.series.len() as u64, dict.dims.len() as u64];
    for (b, h) in bases.iter().zip(have) {
        // A base beyond what we have means skipped records defined entries (lost); a base
        // below it means the record disagrees with the records before it.
        if *b < h || *b > u64::from(u32::MAX) {
            return Err(FormatError::invalid("dictionary base", format!("{b} (have {h})")));
        }
    }
    let offset = r.u()?;
    let len = r.u32("extent length")?;

    let n = r.bounded("new strings", r.remaining() as u64)? as usize;
    let mut strings = Vec::new();
    for _ in 0..n {
        let l = r.bounded("name length", MAX_STRING as u64)? as usize;
        let s = std::str::from_utf8(r.bytes(l)?).map_err(|e| FormatError::invalid("name", e.to_string()))?;
        strings.push(s.to_owned());
    }
    let nstr = bases[0] + strings.len() as u64;
    let n = r.bounded("new series", r.remaining() as u64)? as usize;
    let mut series = Vec::new();
    for _ in 0..n {
        series.push((r.bounded("string id", nstr.saturating_sub(1))?, r.bounded("string id", nstr.saturating_sub(1))?));
    }
    let n = r.bounded("new dimension lists", r.remaining() as u64)? as usize;
    let mut dimsets = Vec::new();
    for _ in 0..n {
        let nd = r.bounded("dimensions", (MAX_DIMS as u64).min(r.remaining() as u64))? as usize;
        let mut ids = Vec::with_capacity(nd);
        for _ in 0..nd {
            ids.push(r.bounded("string id", nstr.saturating_sub(1))?);
        }
        dimsets.push(ids);
    }
    if nstr == 0 && (!series.is_empty() || dimsets.iter().any(|d| !d.is_empty())) {
        return Err(FormatError::invalid("dictionary", "reference to an empty string table"));
    }
    let nseries = bases[1] + series.len() as u64;
    let ndims = bases[2] + dimsets.len() as u64;
    let n = r.bounded("blocks", (MAX_BLOCKS_PER_EXTENT as u64).min(r.remaining() as u64))? as usize;
    if n == 0 {
        return Err(FormatError::invalid("extent record", "no blocks"));
    }
    let mut blocks = Vec::with_capacity(n);
    let mut prev = 0i64;
    for _ in 0..n {
        let s = r.u()?;
        let d = r.u()?;
        if s >= nseries || d >= ndims {
            return Err(FormatError::invalid("block", format!("series {s} of {nseries}, dims {d} of {ndims}")));
        }
        let start = prev.wrapping_add(r.i()?);
        prev = start;
        let update_every = r.u32("update_every")?;
        let slots = r.u32("slots")?;
        if update_every == 0 || slots == 0 {
            return Err(FormatError::invalid("block", format!("slots {slots} update_every {update_every}")));
        }
        blocks.push(RecordBlock { series: s as u32, dims: d as u32, start, update_every, slots });
    }
    if !r.is_empty() {
        return Err(FormatError::invalid("extent record", format!("{} trailing bytes", r.remaining())));
    }

    // Commit: pad entries lost with skipped records, then add this record's entries.
    dict.strings.resize(bases[0] as usize, None);
    dict.strings.extend(strings.into_iter().map(Some));
    dict.series.resize(bases[1] as usize, None);
    for (h, c) in series {
        let key = match (&dict.strings[h as usize], &dict.strings[c as usize]) {
            (Some(h), Some(c)) => Some(SeriesKey { host_guid: h.clone(), chart_id: c.clone() }),
            _ => None,
        };
        dict.series.push(key);
    }
    dict.dims.resize(bases[2] as usize, None);
    for ids in dimsets {
        let names: Option<Vec<String>> = ids.iter().map(|i| dict.strings[*i as usize].clone()).collect();
        dict.dims.push(names);
    }
    Ok((offset, len, blocks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn meta(host: &str, chart: &str, dims: &[&str], start: i64) -> BlockMeta {
        BlockMeta {
            series: SeriesKey { host_guid: host.into(), chart_id: chart.into() },
            dims: dims.iter().map(|d| d.to_string()).collect(),
            start,
            update_every: 1,
            slots: 60,
        }
    }

    fn resolve(scan: &JournalScan, b: &RecordBlock) -> Option<BlockMeta> {
        Some(BlockMeta {
            series: scan.dict.series.get(b.series as usize)?.clone()?,
            dims: scan.dict.dims.get(b.dims as usize)?.clone()?,
            start: b.start,
            update_every: b.update_every,
            slots: b.slots,
        })
    }

    #[test]
    fn dictionary_is_shared_across_records() {
        let mut enc = JournalEncoder::new();
        let mut out = Vec::new();
        let a = [meta("h1", "system.cpu", &["user", "system"], 1000), meta("h1", "system.load", &["load1"], 1000)];
        enc.extent_record(4096, 500, a.iter(), &mut out).unwrap();
        let first = out.len();
        enc.extent_record(8192, 600, a.iter(), &mut out).unwrap();
        assert!(out.len() - first < first / 2, "second record repeats the names");
        seal_record(2, &mut out);
        let scan = scan_journal(&out, 4096);
        assert!(scan.sealed);
        assert_eq!(scan.end, JournalEnd::Clean);
        assert_eq!(scan.extents.len(), 2);
        assert_eq!(scan.extents[1].offset, 8192);
        assert_eq!(scan.extents[1].record_offset, 4096 + first as u64);
        assert_eq!(resolve(&scan, &scan.extents[1].blocks[0]), Some(a[0].clone()));
        assert_eq!(resolve(&scan, &scan.extents[1].blocks[1]), Some(a[1].clone()));
    }

    #[test]
    fn invalid_block_leaves_dictionary_unchanged() {
        let mut enc = JournalEncoder::new();
        let mut out = Vec::new();
        let mut bad = meta("h", "c", &["d"], 0);
        bad.slots = 0;
        assert!(enc.extent_record(4096, 10, [meta("h2", "c2", &["x"], 0), bad].iter(), &mut out).is_err());
        assert!(out.is_empty());
        enc.extent_record(4096, 10, [meta("h2", "c2", &["x"], 0)].iter(), &mut out).unwrap();
        let scan = scan_journal(&out, 0);
        assert_eq!(resolve(&scan, &scan.extents[0].blocks[0]), Some(meta("h2", "c2", &["x"], 0)));
    }

    #[test]
    fn damaged_middle_record_is_skipped_and_only_its_names_are_lost() {
        let mut enc = JournalEncoder::new();
        let mut out = Vec::new();
        let a = meta("h", "a", &["x"], 0);
        let b = meta("h", "b", &["y"], 0);
        enc.extent_record(4096, 10, [a.clone()].iter(), &mut out).unwrap();
        let r2 = out.len();
        enc.extent_record(8192, 10, [b.clone()].iter(), &mut out).unwrap();
        let r3 = out.len();
        enc.extent_record(12288, 10, [a.clone(), b.clone()].iter(), &mut out).unwrap();
        out[r2 + 12] ^= 0xff;
        let scan = scan_journal(&out, 0);
        assert_eq!(scan.end, JournalEnd::Clean);
        assert_eq!(scan.skipped.len(), 1);
        assert_eq!(scan.skipped[0].0, r2 as u64);
        assert_eq!(scan.extents.len(), 2);
        let last = &scan.extents[1];
        assert_eq!(last.record_offset, r3 as u64);
        assert_eq!(resolve(&scan, &last.blocks[0]), Some(a));
        assert_eq!(resolve(&scan, &last.blocks[1]), None, "b's names were defined in the lost record");
    }

    #[test]
    fn torn_tail_at_every_offset() {
        let mut enc = JournalEncoder::new();
        let mut out = Vec::new();
        let mut ends = Vec::new();
        for i in 0..5 {
            enc.extent_record(
                4096 * (i + 1),
                10,
                [meta("h", &format!("c{i}"), &["x", "y"], i as i64)].iter(),
                &mut out,
            )
            .unwrap();
            ends.push(out.len());
        }
        for cut in 0..=out.len() {
            let complete = ends.iter().filter(|e| **e <= cut).count();
            let valid = if complete == 0 { 0 } else { ends[complete - 1] };
            for garble in [false, true] {
                let mut b = out[..cut].to_vec();
                b.resize(out.len(), if garble { 0xa5 } else { 0 });
                let scan = scan_journal(&b, 0);
                assert_eq!(scan.extents.len(), complete, "cut {cut} garble {garble}");
                assert_eq!(scan.valid_end, valid as u64);
                let torn = valid != b.len() && b[valid..].iter().any(|x| *x != 0);
                assert_eq!(matches!(scan.end, JournalEnd::Torn { .. }), torn, "cut {cut} garble {garble}");
            }
        }
    }

    fn arb_meta() -> impl Strategy<Value = BlockMeta> {
        (
            prop_oneof![Just("h1".to_string()), Just("h2".to_string()), "[a-f0-9-]{0,36}"],
            prop_oneof![Just("system.cpu".to_string()), "[a-z._]{0,20}"],
            proptest::collection::vec(prop_oneof![Just("user".to_string()), "\\PC{0,8}"], 0..5),
            any::<i64>(),
            1u32..=u32::MAX,
            1u32..=u32::MAX,
        )
            .prop_map(|(h, c, dims, start, update_every, slots)| BlockMeta {
                series: SeriesKey { host_guid: h, chart_id: c },
                dims,
                start,
                update_every,
                slots,
            })
    }

    proptest! {
        #[test]
        fn round_trip(records in proptest::collection::vec((any::<u64>(), any::<u32>(), proptest::collection::vec(arb_meta(), 1..6)), 1..6), seal in any::<bool>()) {
            let mut enc = JournalEncoder::new();
            let mut out = Vec::new();
            for (off, len, metas) in &records {
                enc.extent_record(*off, *len, metas.iter(), &mut out).unwrap();
            }
            if seal {
                seal_record(records.len() as u64, &mut out);
            }
            out.resize(out.len() + 50, 0);
            let scan = scan_journal(&out, 4096);
            prop_assert_eq!(&scan.end, &JournalEnd::Clean);
            prop_assert!(scan.skipped.is_empty());
            prop_assert_eq!(scan.sealed, seal);
            prop_assert_eq!(scan.extents.len(), records.len());
            for (rec, (off, len, metas)) in scan.extents.iter().zip(&records) {
                prop_assert_eq!(rec.offset, *off);
                prop_assert_eq!(rec.len, *len);
                let got: Vec<_> = rec.blocks.iter().map(|b| resolve(&scan, b)).collect();
                let want: Vec<_> = metas.iter().cloned().map(Some).collect();
                prop_assert_eq!(got, want);
            }
        }

        #[test]
        fn scan_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = scan_journal(&bytes, 0);
        }

        #[test]
        fn scan_of_valid_frames_with_garbage_bodies_never_panics(bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..5)) {
            let mut out = Vec::new();
            for body in bodies {
                let start = out.len();
                out.extend_from_slice(&[0u8; 4]);
                out.push(KIND_EXTENT);
                out.extend_from_slice(&body);
                finish_frame(&mut out, start);
            }
            let _ = scan_journal(&out, 0);
        }
    }
}
