//! Value patterns of the simulated metrics (`--value-pattern`) and what each means on the
//! wire: the dimension algorithm and how a value follows from the tick number.
//!
//! Invariants: constant, counter and sine values are pure functions of (dimension
//! constant, tick), so a skipped tick never shifts later values; only random-walk keeps
//! state (one position per dimension of a child). `mixed` cycles the four patterns over
//! the charts of a child.

/// What `--value-pattern` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValuePattern {
    /// The same value every tick (`absolute`).
    Constant,
    /// A growing counter (`incremental`), like network byte counters.
    Counter,
    /// ±10 per tick from a starting value (`absolute`).
    RandomWalk,
    /// A sine wave with a 60-tick period (`absolute`).
    Sine,
    /// The four above, cycled over the charts.
    Mixed,
}

/// The pattern of one chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Constant,
    Counter,
    RandomWalk,
    Sine,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Constant => "constant",
            Kind::Counter => "counter",
            Kind::RandomWalk => "random_walk",
            Kind::Sine => "sine",
        }
    }

    /// The `DIMENSION` algorithm that makes the stored value meaningful.
    pub fn algorithm(self) -> &'static str {
        match self {
            Kind::Counter => "incremental",
            _ => "absolute",
        }
    }
}

impl ValuePattern {
    /// The kind of chart `c`.
    pub fn kind_of_chart(self, c: usize) -> Kind {
        match self {
            ValuePattern::Constant => Kind::Constant,
            ValuePattern::Counter => Kind::Counter,
            ValuePattern::RandomWalk => Kind::RandomWalk,
            ValuePattern::Sine => Kind::Sine,
            ValuePattern::Mixed => [Kind::Constant, Kind::Counter, Kind::RandomWalk, Kind::Sine][c % 4],
        }
    }
}

/// Ticks per sine period.
pub const SINE_PERIOD: usize = 60;

/// sin(2πk/60) in thousandths, k = 0..60 (rounded), so a tick needs no floating point.
pub const SINE_PERMILLE: [i16; SINE_PERIOD] = [
    0, 105, 208, 309, 407, 500, 588, 669, 743, 809, 866, 914, 951, 978, 995, 1000, 995, 978, 951, 914, 866, 809, 743,
    669, 588, 500, 407, 309, 208, 105, 0, -105, -208, -309, -407, -500, -588, -669, -743, -809, -866, -914, -951, -978,
    -995, -1000, -995, -978, -951, -914, -866, -809, -743, -669, -588, -500, -407, -309, -208, -105,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_table_is_the_sine() {
        for (k, &v) in SINE_PERMILLE.iter().enumerate() {
            let exact = (2.0 * std::f64::consts::PI * k as f64 / SINE_PERIOD as f64).sin() * 1000.0;
            assert_eq!(i64::from(v), exact.round() as i64, "k = {k}");
        }
    }

    #[test]
    fn mixed_cycles_every_kind() {
        let kinds: Vec<Kind> = (0..5).map(|c| ValuePattern::Mixed.kind_of_chart(c)).collect();
        assert_eq!(kinds, [Kind::Constant, Kind::Counter, Kind::RandomWalk, Kind::Sine, Kind::Constant]);
        assert_eq!(ValuePattern::Counter.kind_of_chart(3), Kind::Counter);
        assert_eq!(Kind::Counter.algorithm(), "incremental");
        assert_eq!(Kind::Sine.algorithm(), "absolute");
    }
}
