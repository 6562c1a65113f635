//! One stored slot value.

/// A stored slot: a gap, or a value with its reset/overflow flag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sample {
    Gap,
    Value { value: f64, reset: bool },
}

impl Sample {
    /// The sample as the dbengine gives it back: its value rounded to `f32`, the
    /// precision every store keeps.
    pub fn as_stored(self) -> Sample {
        match self {
            Sample::Gap => Sample::Gap,
            Sample::Value { value, reset } => Sample::Value { value: f64::from(value as f32), reset },
        }
    }

    /// Equal bit for bit (`-0.0` is not `0.0`, a NaN equals the same NaN): what a round
    /// trip through a store must preserve.
    pub fn same_bits(&self, other: &Sample) -> bool {
        match (self, other) {
            (Sample::Gap, Sample::Gap) => true,
            (Sample::Value { value: x, reset: p }, Sample::Value { value: y, reset: q }) => {
                x.to_bits() == y.to_bits() && p == q
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_and_bitwise_equality() {
        let v = |value: f64| Sample::Value { value, reset: false };
        assert_eq!(v(0.1).as_stored(), v(f64::from(0.1f32)));
        assert_ne!(v(0.1).as_stored(), v(0.1));
        assert_eq!(Sample::Gap.as_stored(), Sample::Gap);
        assert!(v(-0.0).same_bits(&v(-0.0)) && !v(-0.0).same_bits(&v(0.0)));
        assert!(!v(1.0).same_bits(&Sample::Value { value: 1.0, reset: true }));
        assert!(Sample::Gap.same_bits(&Sample::Gap) && !Sample::Gap.same_bits(&v(0.0)));
    }
}
