//! One stored slot value.

/// A stored slot: a gap, or a value with its reset/overflow flag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sample {
    Gap,
    Value { value: f64, reset: bool },
}
