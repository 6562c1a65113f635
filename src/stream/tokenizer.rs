//! Netdata's line tokenizer (spec §4.1), zero-copy.

/// At most this many words per line (keyword + 19 parameters).
pub const MAX_WORDS: usize = 20;

/// The words of one line, borrowed from it. No allocation.
#[derive(Debug, Clone, Copy)]
pub struct Words<'a> {
    words: [&'a [u8]; MAX_WORDS],
    len: usize,
}

impl<'a> Words<'a> {
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Words from a slice (at most [`MAX_WORDS`] are kept); for building commands by hand.
    pub fn from_slice(words: &[&'a [u8]]) -> Words<'a> {
        let mut w = Words {
            words: [&[]; MAX_WORDS],
            len: 0,
        };
        for (slot, word) in w.words.iter_mut().zip(words) {
            *slot = word;
            w.len += 1;
        }
        w
    }

    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        if i < self.len {
            Some(self.words[i])
        } else {
            None
        }
    }
}

/// Splits a line into words (to be implemented).
pub fn tokenize(_line: &[u8]) -> Words<'_> {
    Words { words: [&[]; MAX_WORDS], len: 0 }
}
