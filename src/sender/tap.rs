//! The line tap: turns the protocol lines of one host (as a receiver or a collector
//! applied them to the host model) into what the host's sender needs.
//!
//! Owns: the collection being assembled (`BEGIN` … `END`). Complete collections go to the
//! [`Sink`] as one block; `OVERWRITE` (host labels), `CLAIMED_ID` and host `VARIABLE`s
//! outside a collection only tell the sink that the host's metadata changed (the sender
//! re-reads it from the model); `CHART`, `DIMENSION`, `CLABEL…` need nothing here, because
//! applying them marks the chart's definition dirty in the model and the sender resends
//! it from there. Invariants: a block handed to the sink starts with `BEGIN`, ends with
//! `END`, holds only `BEGIN`/`SET`/`VARIABLE`/`END` lines, each ending with `\n`; a
//! collection interrupted by `FLUSH`, a new `BEGIN`, a `CHART` or the end of the source
//! is discarded, never forwarded in part. Pure: no I/O, nothing that can block.

use crate::stream::tokenizer::keyword;

/// Where the tap delivers (implemented by the sender's upstream handle).
pub trait Sink {
    /// One complete collection.
    fn push_block(&mut self, block: Vec<u8>);
    /// Host labels, claim id or host variables changed.
    fn meta_changed(&mut self);
}

/// Splits a host's line stream into collections for its sender.
#[derive(Debug)]
pub struct LineTap<S: Sink> {
    sink: S,
    block: Vec<u8>,
    in_block: bool,
    /// A partial line carried over between [`LineTap::forward`] calls.
    carry: Vec<u8>,
    /// Collections discarded because they were interrupted.
    pub abandoned: u64,
}

impl<S: Sink> LineTap<S> {
    pub fn new(sink: S) -> LineTap<S> {
        LineTap { sink, block: Vec::new(), in_block: false, carry: Vec::new(), abandoned: 0 }
    }

    pub fn sink(&self) -> &S {
        &self.sink
    }

    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    fn abandon(&mut self) {
        if self.in_block {
            self.abandoned += 1;
        }
        self.in_block = false;
        self.block.clear();
    }

    fn append(&mut self, line: &[u8]) {
        self.block.extend_from_slice(line);
        self.block.push(b'\n');
    }

    /// One complete line (without its `\n`) that was applied to the host model
    /// successfully.
    pub fn line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match keyword(line) {
            b"BEGIN" => {
                self.abandon();
                self.in_block = true;
                self.append(line);
            }
            b"SET" if self.in_block => self.append(line),
            b"VARIABLE" if self.in_block => self.append(line),
            b"END" if self.in_block => {
                self.append(line);
                self.in_block = false;
                let cap = self.block.capacity();
                let block = std::mem::replace(&mut self.block, Vec::with_capacity(cap));
                self.sink.push_block(block);
            }
            b"FLUSH" | b"CHART" => self.abandon(),
            b"VARIABLE" | b"OVERWRITE" | b"CLAIMED_ID" => self.sink.meta_changed(),
            _ => {}
        }
    }

    /// Protocol bytes that were applied to the host model: every complete line is
    /// tapped; a trailing partial line waits for the next call.
    pub fn forward(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        if !self.carry.is_empty() {
            match rest.iter().position(|&b| b == b'\n') {
                Some(p) => {
                    let mut line = std::mem::take(&mut self.carry);
                    line.extend_from_slice(&rest[..p]);
                    self.line(&line);
                    rest = &rest[p + 1..];
                }
                None => {
                    self.carry.extend_from_slice(rest);
                    return;
                }
            }
        }
        while let Some(p) = rest.iter().position(|&b| b == b'\n') {
            self.line(&rest[..p]);
            rest = &rest[p + 1..];
        }
        self.carry.extend_from_slice(rest);
    }

    /// The source ended: an unfinished collection is discarded.
    pub fn finish(&mut self) {
        self.abandon();
        self.carry.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Debug)]
    struct Rec {
        blocks: Vec<String>,
        meta: usize,
    }

    impl Sink for Rec {
        fn push_block(&mut self, block: Vec<u8>) {
            self.blocks.push(String::from_utf8(block).unwrap());
        }
        fn meta_changed(&mut self) {
            self.meta += 1;
        }
    }

    fn tap(text: &str) -> LineTap<Rec> {
        let mut t = LineTap::new(Rec::default());
        t.forward(text.as_bytes());
        t
    }

    #[test]
    fn collections_become_blocks() {
        let t = tap(
            "CHART \"a.b\" \"\"\nDIMENSION x\nBEGIN \"a.b\" 0\r\nSET \"x\" = 1\nVARIABLE CHART v = 1\nEND\nBEGIN a.b 1000000\nSET x = 2\nEND\n",
        );
        assert_eq!(
            t.sink().blocks,
            ["BEGIN \"a.b\" 0\nSET \"x\" = 1\nVARIABLE CHART v = 1\nEND\n", "BEGIN a.b 1000000\nSET x = 2\nEND\n"]
        );
        assert_eq!((t.sink().meta, t.abandoned), (0, 0));
    }

    #[test]
    fn metadata_lines_only_signal() {
        let t = tap("LABEL \"a\" = 1 \"b\"\nOVERWRITE labels\nCLAIMED_ID x NULL\nVARIABLE HOST h = 1\nCLABEL k v 1\nCLABEL_COMMIT\n");
        assert!(t.sink().blocks.is_empty());
        assert_eq!(t.sink().meta, 3);
    }

    #[test]
    fn interrupted_collections_are_never_forwarded_in_part() {
        let t = tap("BEGIN a.b 0\nSET x = 1\nFLUSH\nSET x = 2\nEND\nBEGIN a.b 0\nSET x = 3\nBEGIN a.c 0\nEND\nBEGIN a.b 0\nCHART a.d\nSET y = 1\nEND\n");
        assert_eq!(t.sink().blocks, ["BEGIN a.c 0\nEND\n"]);
        assert_eq!(t.abandoned, 3);
        let mut t = tap("BEGIN a.b 0\nSET x = 1\n");
        t.finish();
        t.forward(b"END\n");
        assert!(t.sink().blocks.is_empty());
        assert_eq!(t.abandoned, 1);
    }

    #[test]
    fn partial_lines_wait_for_the_rest() {
        let mut t = LineTap::new(Rec::default());
        for piece in ["BEG", "IN a.b 0\nSET x", " = 5", "\nE", "ND", "\n"] {
            t.forward(piece.as_bytes());
        }
        assert_eq!(t.sink().blocks, ["BEGIN a.b 0\nSET x = 5\nEND\n"]);
    }
}
