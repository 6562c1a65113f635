//! Tokenizer and line parser at every negotiated version: no input may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strata::stream::command::{parse_line, Command};
use strata::stream::tokenizer::{keyword, tokenize, MAX_WORDS};

fuzz_target!(|data: &[u8]| {
    let words = tokenize(data);
    assert!(words.len() <= MAX_WORDS);
    for w in words.iter() {
        // Every word is a sub-slice of the line.
        let start = w.as_ptr() as usize - data.as_ptr() as usize;
        assert!(start + w.len() <= data.len());
    }
    let _ = keyword(data);
    for version in 0..=5 {
        if let Ok(parsed) = parse_line(data, version) {
            match parsed.command {
                Some(Command::Label { value, .. }) => {
                    let _ = value.joined();
                }
                Some(Command::Chart(c)) => {
                    let (ty, id) = c.type_and_id();
                    assert!(!ty.is_empty() && !id.is_empty());
                }
                _ => {}
            }
        }
    }
});
