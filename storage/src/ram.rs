//! `memory mode = ram`: a ring of `history` slots per dimension.
#[derive(Debug)]
pub struct RamChart {}
