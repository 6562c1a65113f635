//! Parsed commands of the streaming line protocol (spec streaming-protocol.md §4.3).
//!
//! Owns: the `Command` values produced by [`parse_line`] from one line of a child's
//! stream, the numeric parsers of §4.7, and the syntax-level error ([`ProtocolError`],
//! FATAL) and warning ([`Warning`], WARN) values. Every byte-slice field borrows from the
//! line being parsed (zero-copy); parsing BEGIN/SET/END allocates nothing. Errors that
//! need session state (SET before BEGIN, unknown chart or dimension, CLABEL without a
//! chart, CLAIMED_ID for another host) belong to the host layer. Invariants: never
//! panics; chart and dimension ids are truncated to [`MAX_ID_LEN`]; a `CHART` id always
//! has a non-empty type and id around its first `.`.

use crate::stream::request::is_guid;
use crate::stream::tokenizer::{keyword, tokenize, Words};

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
    Begin {
        chart: &'a [u8],
        microseconds: u64,
    },
    /// `SET id [=] [value]`; `value` is `None` when missing or empty (a no-op that is
    /// still FATAL outside a BEGIN block). `dimension` truncated to [`MAX_ID_LEN`].
    Set {
        dimension: &'a [u8],
        value: Option<i64>,
    },
    End,
    Flush,
    Variable {
        scope: VariableScope,
        name: &'a [u8],
        value: f64,
    },
    Label {
        name: &'a [u8],
        source: i64,
        value: LabelValue<'a>,
    },
    Overwrite,
    /// Both already validated as UUIDs (`claim_id` is `None` for `NULL`).
    ClaimedId {
        machine_guid: &'a [u8],
        claim_id: Option<&'a [u8]>,
    },
    ChartLabel {
        name: &'a [u8],
        value: &'a [u8],
        source: i64,
    },
    ChartLabelCommit,
}

impl<'a> ChartLine<'a> {
    /// `type` and `id`, split at the first `.` of [`ChartLine::type_id`].
    pub fn type_and_id(&self) -> (&'a [u8], &'a [u8]) {
        match self.type_id.iter().position(|&b| b == b'.') {
            Some(p) => (&self.type_id[..p], &self.type_id[p + 1..]),
            None => (self.type_id, &[]),
        }
    }
}

impl<'a> LabelValue<'a> {
    /// The value words, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.words.from(self.first)
    }
    /// Appends the value words to `out`, joined with single spaces (no trailing space).
    pub fn write_joined(&self, out: &mut Vec<u8>) {
        for (i, w) in self.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(w);
        }
    }
    /// The value words joined with single spaces.
    pub fn joined(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_joined(&mut out);
        out
    }
}

/// A syntax-level FATAL error: the receiver logs it and closes the connection (§4.2,
/// REC-7). Messages paraphrase Netdata's log wording (§9).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// Unknown keyword, including lower-case keywords, v1.37-only keywords and keywords
    /// that the negotiated version does not enable.
    #[error(
        "received unknown command '{keyword}' (stream protocol version {version}). Disabling it."
    )]
    UnknownKeyword { keyword: String, version: u32 },
    #[error("requested a CHART without a type.id. Disabling it.")]
    ChartWithoutId,
    #[error("requested a CHART with type.id '{0}' that is not of the form type.id. Disabling it.")]
    ChartInvalidId(String),
    #[error("requested a DIMENSION without a dimension id. Disabling it.")]
    DimensionWithoutId,
    #[error("requested a BEGIN without a chart id. Disabling it.")]
    BeginWithoutChart,
    #[error("requested a SET on a dimension without an id. Disabling it.")]
    SetWithoutId,
    #[error("requested a VARIABLE without a variable name. Disabling it.")]
    VariableWithoutName,
    #[error("requested CLAIMED_ID with {0} parameters instead of 2 (machine guid, claim id). Disabling it.")]
    ClaimedIdParameters(usize),
    #[error(
        "requested CLAIMED_ID with machine guid '{0}', which is not a valid GUID. Disabling it."
    )]
    ClaimedIdInvalidHost(String),
    #[error("requested CLAIMED_ID with claim id '{0}', which is neither a valid GUID nor NULL. Disabling it.")]
    ClaimedIdInvalidClaim(String),
    #[error("requested a CLABEL without name, value and source. Disabling it.")]
    ChartLabelParameters,
    #[error("called DISABLE. Disabling it.")]
    Disable,
}

/// A WARN outcome: logged, the connection goes on (§4.2, REC-7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Warning {
    /// The variable is not set.
    #[error("cannot set VARIABLE '{name}' to an empty value; ignoring it")]
    VariableEmptyValue { name: String },
    /// The parsed prefix of the value is used anyway.
    #[error(
        "the value '{value}' of VARIABLE '{name}' has leftovers after the number; using the number"
    )]
    VariableLeftovers { name: String, value: String },
    /// Fewer than 3 parameters; the label is not added.
    #[error("requested a LABEL that is malformed or empty; ignoring it")]
    LabelMalformed,
    /// Gap filling is never negotiated.
    #[error("received TIMESTAMP, but gap filling is not supported at this stream protocol version; ignoring it")]
    TimestampIgnored,
}

/// The outcome of one line: a command, a warning, both (a VARIABLE with leftovers), or
/// neither (a blank line).
#[derive(Debug, Clone)]
pub struct Parsed<'a> {
    pub command: Option<Command<'a>>,
    pub warning: Option<Warning>,
}

impl<'a> Parsed<'a> {
    const NOTHING: Parsed<'static> = Parsed {
        command: None,
        warning: None,
    };
    fn command(c: Command<'a>) -> Self {
        Parsed {
            command: Some(c),
            warning: None,
        }
    }
    fn warning(w: Warning) -> Self {
        Parsed {
            command: None,
            warning: Some(w),
        }
    }
}

/// Bytes of input shown in a log message at most.
const SHOW_MAX: usize = 256;

/// Input bytes as text for a log message (lossy, bounded).
fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(SHOW_MAX)]).into_owned()
}

#[inline]
fn truncate_id(id: &[u8]) -> &[u8] {
    &id[..id.len().min(MAX_ID_LEN)]
}

/// `Some(word)` when present and non-empty.
#[inline]
fn non_empty(w: Option<&[u8]>) -> Option<&[u8]> {
    w.filter(|w| !w.is_empty())
}

/// Parses one line (without its `\n`) at the negotiated legacy `version` (0..=4).
/// Stateless: see the module documentation for what is left to the host layer.
pub fn parse_line(line: &[u8], version: u32) -> Result<Parsed<'_>, ProtocolError> {
    let kw = keyword(line);
    match kw {
        b"" => Ok(Parsed::NOTHING),
        b"SET" => parse_set(&tokenize(line)),
        b"BEGIN" => parse_begin(&tokenize(line)),
        b"END" => Ok(Parsed::command(Command::End)),
        b"CHART" => parse_chart(&tokenize(line)),
        b"DIMENSION" => parse_dimension(&tokenize(line)),
        b"VARIABLE" => parse_variable(&tokenize(line)),
        b"FLUSH" => Ok(Parsed::command(Command::Flush)),
        b"LABEL" => Ok(parse_label(tokenize(line))),
        b"OVERWRITE" => Ok(Parsed::command(Command::Overwrite)),
        b"CLAIMED_ID" if version >= 3 => parse_claimed_id(&tokenize(line)),
        b"CLABEL" if version >= 4 => parse_clabel(&tokenize(line)),
        b"CLABEL_COMMIT" if version >= 4 => Ok(Parsed::command(Command::ChartLabelCommit)),
        b"TIMESTAMP" => Ok(Parsed::warning(Warning::TimestampIgnored)),
        b"DISABLE" => Err(ProtocolError::Disable),
        _ => Err(ProtocolError::UnknownKeyword {
            keyword: show(kw),
            version,
        }),
    }
}

fn parse_set<'a>(w: &Words<'a>) -> Result<Parsed<'a>, ProtocolError> {
    let id = non_empty(w.get(1)).ok_or(ProtocolError::SetWithoutId)?;
    let value = non_empty(w.get(2)).map(|v| parse_i64_base0(v).0);
    Ok(Parsed::command(Command::Set {
        dimension: truncate_id(id),
        value,
    }))
}

fn parse_begin<'a>(w: &Words<'a>) -> Result<Parsed<'a>, ProtocolError> {
    let chart = non_empty(w.get(1)).ok_or(ProtocolError::BeginWithoutChart)?;
    let microseconds = w.get(2).map(parse_digits_u64).unwrap_or(0);
    Ok(Parsed::command(Command::Begin {
        chart: truncate_id(chart),
        microseconds,
    }))
}

fn parse_chart<'a>(w: &Words<'a>) -> Result<Parsed<'a>, ProtocolError> {
    let raw = w.get(1).ok_or(ProtocolError::ChartWithoutId)?;
    if raw.is_empty() {
        return Err(ProtocolError::ChartWithoutId);
    }
    let type_id = truncate_id(raw);
    match type_id.iter().position(|&b| b == b'.') {
        Some(p) if p > 0 && p + 1 < type_id.len() => {}
        _ => return Err(ProtocolError::ChartInvalidId(show(raw))),
    }
    Ok(Parsed::command(Command::Chart(ChartLine {
        type_id,
        name: w.get(2),
        title: w.get(3),
        units: w.get(4),
        family: w.get(5),
        context: w.get(6),
        chart_type: w.get(7),
        priority: non_empty(w.get(8)).map(parse_decimal_i64),
        update_every: non_empty(w.get(9)).map(parse_decimal_i64),
        options: w.get(10),
        plugin: w.get(11),
        module: w.get(12),
    })))
}

fn parse_dimension<'a>(w: &Words<'a>) -> Result<Parsed<'a>, ProtocolError> {
    let id = non_empty(w.get(1)).ok_or(ProtocolError::DimensionWithoutId)?;
    Ok(Parsed::command(Command::Dimension(DimensionLine {
        id: truncate_id(id),
        name: w.get(2),
        algorithm: w.get(3),
        multiplier: non_empty(w.get(4)).map(|v| parse_i64_base0(v).0),
        divisor: non_empty(w.get(5)).map(|v| parse_i64_base0(v).0),
        options: w.get(6),
    })))
}

fn parse_variable<'a>(w: &Words<'a>) -> Result<Parsed<'a>, ProtocolError> {
    let (scope, at) = match w.get(1) {
        Some(b"GLOBAL") | Some(b"HOST") => (VariableScope::Host, 2),
        Some(b"LOCAL") | Some(b"CHART") => (VariableScope::Chart, 2),
        _ => (VariableScope::Auto, 1),
    };
    let name = non_empty(w.get(at)).ok_or(ProtocolError::VariableWithoutName)?;
    let Some(raw) = non_empty(w.get(at + 1)) else {
        return Ok(Parsed::warning(Warning::VariableEmptyValue {
            name: show(name),
        }));
    };
    let (value, used) = parse_f64_prefix(raw);
    let warning = (used < raw.len()).then(|| Warning::VariableLeftovers {
        name: show(name),
        value: show(raw),
    });
    Ok(Parsed {
        command: Some(Command::Variable { scope, name, value }),
        warning,
    })
}

fn parse_label(w: Words<'_>) -> Parsed<'_> {
    match (w.get(1), w.get(2)) {
        (Some(name), Some(source)) if w.len() >= 4 => Parsed::command(Command::Label {
            name,
            source: parse_i64_base10(source),
            value: LabelValue { words: w, first: 3 },
        }),
        _ => Parsed::warning(Warning::LabelMalformed),
    }
}

fn parse_claimed_id<'a>(w: &Words<'a>) -> Result<Parsed<'a>, ProtocolError> {
    if w.len() != 3 {
        return Err(ProtocolError::ClaimedIdParameters(
            w.len().saturating_sub(1),
        ));
    }
    let (Some(machine_guid), Some(claim)) = (w.get(1), w.get(2)) else {
        return Err(ProtocolError::ClaimedIdParameters(
            w.len().saturating_sub(1),
        ));
    };
    if !is_guid(machine_guid) {
        return Err(ProtocolError::ClaimedIdInvalidHost(show(machine_guid)));
    }
    let claim_id = if claim == b"NULL" {
        None
    } else if is_guid(claim) {
        Some(claim)
    } else {
        return Err(ProtocolError::ClaimedIdInvalidClaim(show(claim)));
    };
    Ok(Parsed::command(Command::ClaimedId {
        machine_guid,
        claim_id,
    }))
}

fn parse_clabel<'a>(w: &Words<'a>) -> Result<Parsed<'a>, ProtocolError> {
    match (w.get(1), w.get(2), w.get(3)) {
        (Some(name), Some(value), Some(source)) => Ok(Parsed::command(Command::ChartLabel {
            name,
            value,
            source: parse_i64_base10(source),
        })),
        _ => Err(ProtocolError::ChartLabelParameters),
    }
}

// ---------------------------------------------------------------------------------
// Numeric parsing (§4.7), C-compatible, saturating, never panicking.

/// C `isspace` in the "C" locale.
#[inline]
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Result of scanning an integer the way C's `strto*` family does.
struct Scanned {
    negative: bool,
    /// Magnitude, `None` when it overflowed `u64`.
    magnitude: Option<u64>,
    /// Bytes consumed; 0 when there were no digits.
    end: usize,
}

fn digit_value(b: u8) -> u32 {
    match b {
        b'0'..=b'9' => u32::from(b - b'0'),
        b'a'..=b'z' => u32::from(b - b'a') + 10,
        b'A'..=b'Z' => u32::from(b - b'A') + 10,
        _ => u32::MAX,
    }
}

/// `base` is 0 (auto: `0x` hex, `0` octal, else decimal) or 10.
fn scan_integer(s: &[u8], base: u32) -> Scanned {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let mut radix = base;
    if base == 0 {
        let hex_prefix = s.get(i) == Some(&b'0')
            && matches!(s.get(i + 1), Some(b'x') | Some(b'X'))
            && s.get(i + 2).is_some_and(|b| b.is_ascii_hexdigit());
        if hex_prefix {
            radix = 16;
            i += 2;
        } else if s.get(i) == Some(&b'0') {
            radix = 8;
        } else {
            radix = 10;
        }
    }
    let start = i;
    let mut magnitude: Option<u64> = Some(0);
    while i < s.len() {
        let d = digit_value(s[i]);
        if d >= radix {
            break;
        }
        magnitude = magnitude
            .and_then(|m| m.checked_mul(u64::from(radix)))
            .and_then(|m| m.checked_add(u64::from(d)));
        i += 1;
    }
    if i == start {
        return Scanned {
            negative: false,
            magnitude: Some(0),
            end: 0,
        };
    }
    Scanned {
        negative,
        magnitude,
        end: i,
    }
}

fn to_i64(s: &Scanned) -> i64 {
    match (s.negative, s.magnitude) {
        (false, Some(m)) => i64::try_from(m).unwrap_or(i64::MAX),
        (false, None) => i64::MAX,
        (true, Some(m)) => 0i64.checked_sub_unsigned(m).unwrap_or(i64::MIN),
        (true, None) => i64::MIN,
    }
}

/// C `strtoll(s, &end, 0)`: leading whitespace, sign, `0x` hex, `0` octal, decimal;
/// stops at the first invalid byte; saturates. Returns the value and the bytes used
/// (0 when there were no digits, value 0).
pub fn parse_i64_base0(s: &[u8]) -> (i64, usize) {
    let sc = scan_integer(s, 0);
    (to_i64(&sc), sc.end)
}

/// C `strtoul(s, &end, 0)`: like [`parse_i64_base0`], but a leading `-` negates in
/// unsigned arithmetic and overflow gives `u64::MAX`.
pub fn parse_u64_base0(s: &[u8]) -> (u64, usize) {
    let sc = scan_integer(s, 0);
    let v = match sc.magnitude {
        None => u64::MAX,
        Some(m) if sc.negative => m.wrapping_neg(),
        Some(m) => m,
    };
    (v, sc.end)
}

/// C `strtol(s, NULL, 10)`, saturating (LABEL / CLABEL source, small query integers).
pub fn parse_i64_base10(s: &[u8]) -> i64 {
    to_i64(&scan_integer(s, 10))
}

/// Netdata's plain decimal parser (CHART priority / update_every): optional leading
/// `-`, digits, stops at the first non-digit; nothing → 0; saturating.
pub fn parse_decimal_i64(s: &[u8]) -> i64 {
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for &b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        let d = i64::from(b - b'0');
        v = if negative {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
    }
    v
}

/// Unsigned decimal digits (BEGIN microseconds): the leading run of digits, anything
/// else stops it; no digits → 0; saturating.
pub fn parse_digits_u64(s: &[u8]) -> u64 {
    s.iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |v, &b| {
            v.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        })
}

/// Decimal floating point like C `strtod` restricted to §4.7: leading whitespace,
/// optional sign, digits with an optional `.` fraction and optional exponent, or the
/// words `nan` / `inf` / `infinity` (any case). Returns the value and the bytes used
/// (0 when nothing was recognised, value 0).
pub fn parse_f64_prefix(s: &[u8]) -> (f64, usize) {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let num_start = i;
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let starts_with = |at: usize, word: &[u8]| {
        s.len() >= at + word.len() && s[at..at + word.len()].eq_ignore_ascii_case(word)
    };
    if starts_with(i, b"nan") {
        let mut end = i + 3;
        // `nan(chars)` is accepted as a whole by strtod.
        if s.get(end) == Some(&b'(') {
            if let Some(close) = s[end..].iter().position(|&b| b == b')') {
                let inner = &s[end + 1..end + close];
                if inner
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
                {
                    end += close + 1;
                }
            }
        }
        return (f64::NAN, end);
    }
    if starts_with(i, b"inf") {
        let end = if starts_with(i, b"infinity") {
            i + 8
        } else {
            i + 3
        };
        let v = if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        return (v, end);
    }
    let int_start = i;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    let mut mantissa_digits = i - int_start;
    if i < s.len() && s[i] == b'.' {
        let frac_start = i + 1;
        let mut j = frac_start;
        while j < s.len() && s[j].is_ascii_digit() {
            j += 1;
        }
        mantissa_digits += j - frac_start;
        if mantissa_digits > 0 {
            i = j;
        }
    }
    if mantissa_digits == 0 {
        return (0.0, 0);
    }
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        let mut j = i + 1;
        if j < s.len() && (s[j] == b'+' || s[j] == b'-') {
            j += 1;
        }
        let exp_digits = s[j..].iter().take_while(|b| b.is_ascii_digit()).count();
        if exp_digits > 0 {
            i = j + exp_digits;
        }
    }
    let text = std::str::from_utf8(&s[num_start..i]).unwrap_or("0");
    (text.parse::<f64>().unwrap_or(0.0), i)
}
