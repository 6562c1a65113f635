//! Parsed commands of the streaming line protocol (spec streaming-protocol.md §4.3).
//!
//! Owns: the `Command` values produced by [`parse_line`] from one line of a child's
//! stream. Every byte-slice field borrows from the line being parsed (zero-copy);
//! nothing here allocates. Syntax-level errors (unknown keyword, malformed CHART id,
//! malformed CLAIMED_ID, …) are reported here as [`ProtocolError`]; errors that need
//! session state (SET before BEGIN, unknown chart) belong to the host layer.

use crate::stream::tokenizer::Words;

/// Chart ids and dimension ids longer than this are truncated, consistently at definition
/// and at lookup (REC-8).
pub const MAX_ID_LEN: usize = 200;

/// Scope of a `VARIABLE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariableScope {
    /// `GLOBAL` or `HOST`.
    Host,
    /// `LOCAL` or `CHART`.
    Chart,
    /// No scope word: chart scope if a chart is open, else host scope.
    Auto,
}

/// `CHART` fields as sent. `None` = the word is missing, `Some(b"")` = sent empty (`""`).
/// Defaults (family from type, context from id, plugin from the client address, …) are
/// resolved by the host layer, which knows the connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartLine<'a> {
    /// Full `type.id`, truncated to [`MAX_ID_LEN`]; guaranteed to contain a `.` with a
    /// non-empty part on both sides of the first one.
    pub type_id: &'a [u8],
    pub name: Option<&'a [u8]>,
    pub title: Option<&'a [u8]>,
    pub units: Option<&'a [u8]>,
    pub family: Option<&'a [u8]>,
    pub context: Option<&'a [u8]>,
    pub chart_type: Option<&'a [u8]>,
    /// Parsed as Netdata does (decimal, leading `-`, stops at first non-digit); `None`
    /// when missing or empty.
    pub priority: Option<i64>,
    /// `None` when missing or empty.
    pub update_every: Option<i64>,
    pub options: Option<&'a [u8]>,
    pub plugin: Option<&'a [u8]>,
    pub module: Option<&'a [u8]>,
}

/// `DIMENSION` fields as sent (same conventions as [`ChartLine`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DimensionLine<'a> {
    /// Non-empty, truncated to [`MAX_ID_LEN`].
    pub id: &'a [u8],
    pub name: Option<&'a [u8]>,
    pub algorithm: Option<&'a [u8]>,
    /// strtol base 0; `None` when missing or empty (0 is returned as `Some(0)`).
    pub multiplier: Option<i64>,
    pub divisor: Option<i64>,
    pub options: Option<&'a [u8]>,
}

/// The value words of a `LABEL` line (a v1.29.3 child sends the value unquoted, so a
/// value with spaces arrives as several words; they are re-joined with single spaces).
#[derive(Debug, Clone, Copy)]
pub struct LabelValue<'a> {
    pub words: Words<'a>,
    /// Index of the first value word in `words`.
    pub first: usize,
}

/// One parsed line.
#[derive(Debug, Clone, Copy)]
pub enum Command<'a> {
    Chart(ChartLine<'a>),
    Dimension(DimensionLine<'a>),
    /// `BEGIN type.id [microseconds]`; `chart` truncated to [`MAX_ID_LEN`].
    Begin { chart: &'a [u8], microseconds: u64 },
    /// `SET id [=] [value]`; `value` is `None` when missing or empty (a no-op that is
    /// still FATAL outside a BEGIN block). `dimension` truncated to [`MAX_ID_LEN`].
    Set { dimension: &'a [u8], value: Option<i64> },
    End,
    Flush,
    Variable { scope: VariableScope, name: &'a [u8], value: f64 },
    Label { name: &'a [u8], source: i64, value: LabelValue<'a> },
    Overwrite,
    /// Both already validated as UUIDs (`claim_id` is `None` for `NULL`).
    ClaimedId { machine_guid: &'a [u8], claim_id: Option<&'a [u8]> },
    ChartLabel { name: &'a [u8], value: &'a [u8], source: i64 },
    ChartLabelCommit,
}
