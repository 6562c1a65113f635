//! Line framing of a connection's read side (spec §4.1, REC-6).
//!
//! Owns: [`LineBuffer`], the buffer a receiver reads socket bytes into and takes complete
//! `\n`-terminated lines out of. Invariants: a partial line stays buffered across reads;
//! a line longer than [`MAX_LINE`] bytes including its `\n` is an error (never split into
//! two commands); in steady state nothing is allocated per line (the buffer is compacted
//! in place and only grows while a single line needs room, bounded by about
//! 2 × [`MAX_LINE`]); every byte is scanned for `\n` once.

/// Longest accepted line, including its `\n`.
pub const MAX_LINE: usize = 16384;

/// Smallest free space [`LineBuffer::spare_mut`] hands out.
const MIN_SPARE: usize = 4096;

/// Initial size of a stream's buffer: a child's whole second of 500 metrics (~11 KB)
/// arrives in two reads, and a parent holding thousands of children keeps 8 KiB per
/// connection instead of 16. It grows (up to about 2 × [`MAX_LINE`]) only while one line
/// needs the room.
const STREAM_BUFFER: usize = 8192;

/// A line exceeded [`MAX_LINE`] bytes including its `\n` (REC-6: log and close).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("received a line longer than {max} bytes (at least {len} bytes without a newline); closing the connection")]
pub struct LineTooLong {
    /// Bytes of the offending line seen so far (without `\n`).
    pub len: usize,
    pub max: usize,
}

/// Read buffer + line splitter. Bytes in `buf[start..end]` are buffered and unconsumed;
/// `buf[start..scanned]` is known to hold no `\n`.
#[derive(Debug, Clone)]
pub struct LineBuffer {
    buf: Vec<u8>,
    start: usize,
    scanned: usize,
    end: usize,
}

impl LineBuffer {
    /// An empty buffer of (at least) `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        LineBuffer { buf: vec![0; capacity.max(MIN_SPARE)], start: 0, scanned: 0, end: 0 }
    }

    /// A buffer that already holds `bytes` (received after the handshake head).
    pub fn with_initial(bytes: &[u8]) -> Self {
        let mut lb = LineBuffer::new(STREAM_BUFFER.max(bytes.len() + MIN_SPARE));
        lb.buf[..bytes.len()].copy_from_slice(bytes);
        lb.end = bytes.len();
        lb
    }

    /// Unconsumed bytes (complete lines not yet taken, then the partial line).
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Number of unconsumed bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// No unconsumed bytes?
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Free space to read socket bytes into; call [`LineBuffer::advance`] with the
    /// number of bytes written. Compacts (and, only when needed, grows) the buffer so
    /// that the returned slice is never empty.
    pub fn spare_mut(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.scanned = 0;
            self.end = 0;
        }
        let spare = self.buf.len() - self.end;
        if spare < MIN_SPARE && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.scanned -= self.start;
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < MIN_SPARE {
            let new_len = (self.buf.len() * 2).max(self.end + MIN_SPARE);
            self.buf.resize(new_len, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Marks `n` bytes of the slice last returned by [`LineBuffer::spare_mut`] as
    /// received (clamped to the free space).
    pub fn advance(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Appends `bytes` (any split, partial lines allowed), growing the buffer as needed.
    pub fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let spare = self.spare_mut();
            let n = spare.len().min(bytes.len());
            spare[..n].copy_from_slice(&bytes[..n]);
            self.advance(n);
            bytes = &bytes[n..];
        }
    }

    /// The next complete line without its `\n` (a `\r` before it is kept; the tokenizer
    /// treats it as whitespace), `Ok(None)` if only a partial line is buffered, or an
    /// error once the current line is longer than [`MAX_LINE`] including its `\n`. The
    /// error is sticky: the offending bytes are not consumed.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, LineTooLong> {
        let found = memchr::memchr(b'\n', &self.buf[self.scanned..self.end]);
        match found {
            Some(p) => {
                let nl = self.scanned + p;
                let len = nl - self.start;
                if len + 1 > MAX_LINE {
                    self.scanned = nl;
                    return Err(LineTooLong { len, max: MAX_LINE });
                }
                let start = self.start;
                self.start = nl + 1;
                self.scanned = self.start;
                Ok(Some(&self.buf[start..nl]))
            }
            None => {
                self.scanned = self.end;
                let len = self.end - self.start;
                if len >= MAX_LINE {
                    Err(LineTooLong { len, max: MAX_LINE })
                } else {
                    Ok(None)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn feed(lb: &mut LineBuffer, bytes: &[u8]) {
        lb.push(bytes);
    }

    fn drain(lb: &mut LineBuffer) -> Result<Vec<Vec<u8>>, LineTooLong> {
        let mut out = Vec::new();
        while let Some(l) = lb.next_line()? {
            out.push(l.to_vec());
        }
        Ok(out)
    }

    #[test]
    fn partial_lines_survive_reads() {
        let mut lb = LineBuffer::new(64);
        feed(&mut lb, b"BEGIN \"a.b\" 0\nSET \"x\"");
        assert_eq!(drain(&mut lb).unwrap(), vec![b"BEGIN \"a.b\" 0".to_vec()]);
        assert_eq!(lb.buffered(), b"SET \"x\"");
        feed(&mut lb, b" = 1\r\nEND\n");
        assert_eq!(drain(&mut lb).unwrap(), vec![b"SET \"x\" = 1\r".to_vec(), b"END".to_vec()]);
        assert!(lb.is_empty());
    }

    #[test]
    fn initial_bytes_are_the_start_of_the_stream() {
        let mut lb = LineBuffer::with_initial(b"END\nFLU");
        assert_eq!(lb.next_line().unwrap(), Some(&b"END"[..]));
        assert_eq!(lb.next_line().unwrap(), None);
        feed(&mut lb, b"SH\n");
        assert_eq!(lb.next_line().unwrap(), Some(&b"FLUSH"[..]));
        assert_eq!(lb.len(), 0);
    }

    #[test]
    fn empty_lines_are_returned() {
        let mut lb = LineBuffer::new(16);
        feed(&mut lb, b"\n\nX\n");
        assert_eq!(drain(&mut lb).unwrap(), vec![b"".to_vec(), b"".to_vec(), b"X".to_vec()]);
    }

    #[test]
    fn max_line_limit_includes_newline() {
        let mut ok = vec![b'x'; MAX_LINE - 1];
        ok.push(b'\n');
        let mut lb = LineBuffer::new(1024);
        feed(&mut lb, &ok);
        assert_eq!(lb.next_line().unwrap().map(<[u8]>::len), Some(MAX_LINE - 1));

        let mut too_long = vec![b'x'; MAX_LINE];
        too_long.push(b'\n');
        let mut lb = LineBuffer::new(1024);
        feed(&mut lb, &too_long);
        assert!(lb.next_line().is_err());
        assert!(lb.next_line().is_err(), "sticky");
    }

    #[test]
    fn too_long_without_newline_is_detected_early() {
        // P51: a 20000-byte line.
        let mut lb = LineBuffer::new(1024);
        let mut sent = 0;
        let err = loop {
            let spare = lb.spare_mut();
            let n = spare.len().min(1000);
            spare[..n].fill(b'y');
            lb.advance(n);
            sent += n;
            match lb.next_line() {
                Ok(None) => assert!(sent < 20_000),
                Ok(Some(_)) => panic!("no newline was sent"),
                Err(e) => break e,
            }
        };
        assert!(err.len >= MAX_LINE);
        assert!(lb.buffered().len() < 2 * MAX_LINE + MIN_SPARE);
    }

    #[test]
    fn steady_state_does_not_grow() {
        let mut lb = LineBuffer::new(MAX_LINE);
        let cap = lb.buf.len();
        for i in 0..10_000u32 {
            feed(&mut lb, format!("SET \"d{i}\" = {i}\nEN").as_bytes());
            assert!(lb.next_line().unwrap().is_some());
            feed(&mut lb, b"D\n");
            assert_eq!(lb.next_line().unwrap(), Some(&b"END"[..]));
        }
        assert_eq!(lb.buf.len(), cap);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn random_chunks_give_the_same_lines(
            data in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'a'), any::<u8>()], 0..4000),
            cuts in proptest::collection::vec(1usize..700, 1..20),
        ) {
            let expected: Vec<Vec<u8>> = {
                let mut v: Vec<Vec<u8>> = data.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
                v.pop(); // the part after the last newline is not a line yet
                v
            };
            let mut lb = LineBuffer::new(16);
            let mut got = Vec::new();
            let mut rest = &data[..];
            let mut k = 0;
            while !rest.is_empty() {
                let n = cuts[k % cuts.len()].min(rest.len());
                k += 1;
                let spare = lb.spare_mut();
                let n = n.min(spare.len());
                spare[..n].copy_from_slice(&rest[..n]);
                lb.advance(n);
                rest = &rest[n..];
                got.extend(drain(&mut lb).unwrap());
            }
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn random_bytes_never_panic(
            chunks in proptest::collection::vec(
                proptest::collection::vec(any::<u8>(), 0..9000), 0..6),
            capacity in 0usize..40000,
        ) {
            let mut lb = LineBuffer::new(capacity);
            for c in &chunks {
                let spare = lb.spare_mut();
                prop_assert!(!spare.is_empty());
                let n = spare.len().min(c.len());
                spare[..n].copy_from_slice(&c[..n]);
                lb.advance(n);
                while let Ok(Some(l)) = lb.next_line() {
                    prop_assert!(l.len() < MAX_LINE);
                }
            }
        }
    }
}
