//! The streaming protocol, free of I/O: bytes in, values out (fuzzable, reusable by the
//! loadgen). See `shared/spec/streaming-protocol.md`.

pub mod command;
pub mod encode;
pub mod lines;
pub mod request;
pub mod tokenizer;
pub mod version;

pub use command::Command;
