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
use crate::stream::tokenizer::{is_quote, is_separator, keyword, tokenize, tokenize_first, Words};

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
#[derive(Debug, Clone)]
pub struct LabelValue<'a> {
    /// Boxed: a `LABEL` is rare, and an inline word array would make every `Command`
    /// (moved once per line) hundreds of bytes large.
    pub words: Box<Words<'a>>,
    /// Index of the first value word in `words`.
    pub first: usize,
}

/// One parsed line.
#[derive(Debug, Clone)]
pub enum Command<'a> {
    /// Definitions are boxed so that the data commands (`BEGIN`, `SET`, `END`), which
    /// are nearly every line, stay small when a `Command` is moved.
    Chart(Box<ChartLine<'a>>),
    Dimension(Box<DimensionLine<'a>>),
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
        self.words.iter_from(self.first)
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
    #[error("received unknown command '{keyword}' (stream protocol version {version}). Disabling it.")]
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
    #[error("requested CLAIMED_ID with machine guid '{0}', which is not a valid GUID. Disabling it.")]
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
    #[error("the value '{value}' of VARIABLE '{name}' has leftovers after the number; using the number")]
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
    const NOTHING: Parsed<'static> = Parsed { command: None, warning: None };
    fn command(c: Command<'a>) -> Self {
        Parsed { command: Some(c), warning: None }
    }
    fn warning(w: Warning) -> Self {
        Parsed { command: None, warning: Some(w) }
    }
}

/// Bytes of input shown in a log message at most.
const SHOW_MAX: usize = 256;

/// Input bytes as text for a log message (lossy, bounded).
fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(SHOW_MAX)]).into_owned()
}

/// Truncates an id to [`MAX_ID_LEN`] bytes (REC-8), the same way at definition and lookup.
#[inline]
pub fn truncate_id(id: &[u8]) -> &[u8] {
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
        b"SET" => match set_as_netdata_writes_it(line) {
            Some(parsed) => Ok(parsed),
            None => parse_set(&tokenize_first::<3>(line)),
        },
        b"BEGIN" => parse_begin(&tokenize_first::<3>(line)),
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
        // A 1.37 child sends this after each chart definition only when REPLICATION was
        // negotiated (we never negotiate it). It carries no data (first/last/now times),
        // so it is recognised and ignored instead of ending the session (deviation from
        // spec vector P42, which makes it FATAL).
        b"CHART_DEFINITION_END" => Ok(Parsed { command: None, warning: None }),
        b"DISABLE" => Err(ProtocolError::Disable),
        _ => Err(ProtocolError::UnknownKeyword { keyword: show(kw), version }),
    }
}

/// `SET "id" = value` exactly as a Netdata child (and the loadgen) writes it: a quoted id
/// without backslashes, one ` = `, and a plain value up to the end of the line. This is
/// most of the lines a parent parses, so they skip the general tokenizer; any other shape
/// (unquoted, escaped, extra words or spaces, a NUL) returns `None` and goes through
/// [`tokenize_first`], which gives the same result for these lines (property-tested).
#[inline]
fn set_as_netdata_writes_it(line: &[u8]) -> Option<Parsed<'_>> {
    let rest = line.strip_prefix(b"SET \"")?;
    let close = memchr::memchr3(b'"', b'\\', 0, rest)?;
    let (id, after) = rest.split_at(close);
    let value = after.strip_prefix(b"\" = ")?;
    if id.is_empty()
        || value.is_empty()
        || value.iter().any(|&b| is_separator(b) || is_quote(b) || b == b'\\' || b == 0)
    {
        return None;
    }
    Some(set_command(id, Some(value)))
}

fn parse_set<'a>(w: &Words<'a, 3>) -> Result<Parsed<'a>, ProtocolError> {
    let id = non_empty(w.get(1)).ok_or(ProtocolError::SetWithoutId)?;
    Ok(set_command(id, non_empty(w.get(2))))
}

/// `SET` of dimension `id` (non-empty) with the value word, if any.
fn set_command<'a>(id: &'a [u8], value: Option<&[u8]>) -> Parsed<'a> {
    Parsed::command(Command::Set { dimension: truncate_id(id), value: value.map(|v| parse_i64_base0(v).0) })
}

fn parse_begin<'a>(w: &Words<'a, 3>) -> Result<Parsed<'a>, ProtocolError> {
    let chart = non_empty(w.get(1)).ok_or(ProtocolError::BeginWithoutChart)?;
    let microseconds = w.get(2).map(parse_digits_u64).unwrap_or(0);
    Ok(Parsed::command(Command::Begin { chart: truncate_id(chart), microseconds }))
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
    Ok(Parsed::command(Command::Chart(Box::new(ChartLine {
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
    }))))
}

fn parse_dimension<'a>(w: &Words<'a>) -> Result<Parsed<'a>, ProtocolError> {
    let id = non_empty(w.get(1)).ok_or(ProtocolError::DimensionWithoutId)?;
    Ok(Parsed::command(Command::Dimension(Box::new(DimensionLine {
        id: truncate_id(id),
        name: w.get(2),
        algorithm: w.get(3),
        multiplier: non_empty(w.get(4)).map(|v| parse_i64_base0(v).0),
        divisor: non_empty(w.get(5)).map(|v| parse_i64_base0(v).0),
        options: w.get(6),
    }))))
}

fn parse_variable<'a>(w: &Words<'a>) -> Result<Parsed<'a>, ProtocolError> {
    let (scope, at) = match w.get(1) {
        Some(b"GLOBAL") | Some(b"HOST") => (VariableScope::Host, 2),
        Some(b"LOCAL") | Some(b"CHART") => (VariableScope::Chart, 2),
        _ => (VariableScope::Auto, 1),
    };
    let name = non_empty(w.get(at)).ok_or(ProtocolError::VariableWithoutName)?;
    let Some(raw) = non_empty(w.get(at + 1)) else {
        return Ok(Parsed::warning(Warning::VariableEmptyValue { name: show(name) }));
    };
    let (value, used) = parse_f64_prefix(raw);
    let warning = (used < raw.len()).then(|| Warning::VariableLeftovers { name: show(name), value: show(raw) });
    Ok(Parsed { command: Some(Command::Variable { scope, name, value }), warning })
}

fn parse_label(w: Words<'_>) -> Parsed<'_> {
    match (w.get(1), w.get(2)) {
        (Some(name), Some(source)) if w.len() >= 4 => Parsed::command(Command::Label {
            name,
            source: parse_i64_base10(source),
            value: LabelValue { words: Box::new(w), first: 3 },
        }),
        _ => Parsed::warning(Warning::LabelMalformed),
    }
}

fn parse_claimed_id<'a>(w: &Words<'a>) -> Result<Parsed<'a>, ProtocolError> {
    if w.len() != 3 {
        return Err(ProtocolError::ClaimedIdParameters(w.len().saturating_sub(1)));
    }
    let (Some(machine_guid), Some(claim)) = (w.get(1), w.get(2)) else {
        return Err(ProtocolError::ClaimedIdParameters(w.len().saturating_sub(1)));
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
    Ok(Parsed::command(Command::ClaimedId { machine_guid, claim_id }))
}

fn parse_clabel<'a>(w: &Words<'a>) -> Result<Parsed<'a>, ProtocolError> {
    match (w.get(1), w.get(2), w.get(3)) {
        (Some(name), Some(value), Some(source)) => {
            Ok(Parsed::command(Command::ChartLabel { name, value, source: parse_i64_base10(source) }))
        }
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
        magnitude = magnitude.and_then(|m| m.checked_mul(u64::from(radix))).and_then(|m| m.checked_add(u64::from(d)));
        i += 1;
    }
    if i == start {
        return Scanned { negative: false, magnitude: Some(0), end: 0 };
    }
    Scanned { negative, magnitude, end: i }
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
        v = if negative { v.saturating_mul(10).saturating_sub(d) } else { v.saturating_mul(10).saturating_add(d) };
    }
    v
}

/// Unsigned decimal digits (BEGIN microseconds): the leading run of digits, anything
/// else stops it; no digits → 0; saturating.
pub fn parse_digits_u64(s: &[u8]) -> u64 {
    s.iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |v, &b| v.saturating_mul(10).saturating_add(u64::from(b - b'0')))
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
    let starts_with =
        |at: usize, word: &[u8]| s.len() >= at + word.len() && s[at..at + word.len()].eq_ignore_ascii_case(word);
    if starts_with(i, b"nan") {
        let mut end = i + 3;
        // `nan(chars)` is accepted as a whole by strtod.
        if s.get(end) == Some(&b'(') {
            if let Some(close) = s[end..].iter().position(|&b| b == b')') {
                let inner = &s[end + 1..end + close];
                if inner.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
                    end += close + 1;
                }
            }
        }
        return (f64::NAN, end);
    }
    if starts_with(i, b"inf") {
        let end = if starts_with(i, b"infinity") { i + 8 } else { i + 3 };
        let v = if negative { f64::NEG_INFINITY } else { f64::INFINITY };
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(line: &str, version: u32) -> Command<'_> {
        let p = parse_line(line.as_bytes(), version).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert_eq!(p.warning, None, "{line:?}");
        p.command.unwrap_or_else(|| panic!("{line:?}: no command"))
    }

    fn fatal(line: &str, version: u32) -> ProtocolError {
        match parse_line(line.as_bytes(), version) {
            Err(e) => e,
            Ok(p) => panic!("{line:?} parsed: {:?}", p.command),
        }
    }

    fn set(line: &str) -> (&[u8], Option<i64>) {
        match ok(line, 3) {
            Command::Set { dimension, value } => (dimension, value),
            c => panic!("{c:?}"),
        }
    }

    fn chart(line: &str) -> ChartLine<'_> {
        match ok(line, 3) {
            Command::Chart(c) => *c,
            c => panic!("{c:?}"),
        }
    }

    fn dim(line: &str) -> DimensionLine<'_> {
        match ok(line, 3) {
            Command::Dimension(d) => *d,
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn p1_chart() {
        let c = chart(
            r#"CHART "system.cpu" "" "Total CPU utilization" "percentage" "cpu" "system.cpu" "stacked" 100 1 "   " "proc.plugin" "/proc/stat""#,
        );
        assert_eq!(c.type_id, b"system.cpu");
        assert_eq!(c.type_and_id(), (&b"system"[..], &b"cpu"[..]));
        assert_eq!(c.name, Some(&b""[..]));
        assert_eq!(c.title, Some(&b"Total CPU utilization"[..]));
        assert_eq!(c.units, Some(&b"percentage"[..]));
        assert_eq!(c.family, Some(&b"cpu"[..]));
        assert_eq!(c.context, Some(&b"system.cpu"[..]));
        assert_eq!(c.chart_type, Some(&b"stacked"[..]));
        assert_eq!(c.priority, Some(100));
        assert_eq!(c.update_every, Some(1));
        assert_eq!(c.options, Some(&b"   "[..]));
        assert_eq!(c.plugin, Some(&b"proc.plugin"[..]));
        assert_eq!(c.module, Some(&b"/proc/stat"[..]));
    }

    #[test]
    fn p2_to_p4_dimensions() {
        let d = dim(r#"DIMENSION "user" "user" "percentage-of-incremental-row" 1 1 "  ""#);
        assert_eq!(d.id, b"user");
        assert_eq!(d.name, Some(&b"user"[..]));
        assert_eq!(d.algorithm, Some(&b"percentage-of-incremental-row"[..]));
        assert_eq!((d.multiplier, d.divisor), (Some(1), Some(1)));
        assert_eq!(d.options, Some(&b"  "[..]));
        let d = dim("DIMENSION system");
        assert_eq!(d.id, b"system");
        assert_eq!((d.name, d.algorithm, d.multiplier, d.divisor, d.options), (None, None, None, None, None));
        let d = dim(r#"DIMENSION "nice" "" "bogus" "0" "0" " hidden noreset""#);
        assert_eq!(d.name, Some(&b""[..]));
        assert_eq!((d.multiplier, d.divisor), (Some(0), Some(0)));
        assert_eq!(d.options, Some(&b" hidden noreset"[..]));
        // P25.
        let d = dim(r#"DIMENSION "d" "D" incremental -8 1024 nooverflow"#);
        assert_eq!((d.multiplier, d.divisor), (Some(-8), Some(1024)));
        assert_eq!(d.options, Some(&b"nooverflow"[..]));
        // strtol base 0.
        let d = dim("DIMENSION d d absolute 0x10 010");
        assert_eq!((d.multiplier, d.divisor), (Some(16), Some(8)));
        let d = dim(r#"DIMENSION d d absolute "" """#);
        assert_eq!((d.multiplier, d.divisor), (None, None));
    }

    #[test]
    fn p5_to_p17_data() {
        assert!(matches!(ok(r#"BEGIN "system.cpu" 0"#, 3), Command::Begin { chart: b"system.cpu", microseconds: 0 }));
        assert_eq!(set(r#"SET "user" = 12345"#), (&b"user"[..], Some(12345)));
        assert_eq!(set(r#"SET "system" = 0x1F"#).1, Some(31));
        assert_eq!(set(r#"SET "nice" = 010"#).1, Some(8));
        assert_eq!(set(r#"SET "nice" ="#), (&b"nice"[..], None));
        assert_eq!(set(r#"SET "nosuchdim" = """#), (&b"nosuchdim"[..], None));
        assert!(matches!(ok("END", 3), Command::End));
        assert!(matches!(
            ok("BEGIN system.cpu 1000000", 3),
            Command::Begin { chart: b"system.cpu", microseconds: 1_000_000 }
        ));
        assert_eq!(set("SET user = -5").1, Some(-5));
        assert_eq!(set(r#"SET "system" = 1.9"#).1, Some(1));
        assert_eq!(set(r#"SET "nice" = abc"#).1, Some(0));
        assert_eq!(set(r#"SET "x" = 08"#).1, Some(0));
        assert_eq!(set(r#"SET "x" = 12abc"#).1, Some(12));
        assert!(matches!(
            ok(r#"BEGIN "system.cpu" 1000000 1669300000"#, 3),
            Command::Begin { microseconds: 1_000_000, .. }
        ));
        assert_eq!(set(r#"SET "user" = 99999999999999999999"#).1, Some(i64::MAX));
        assert_eq!(set(r#"SET "user" = -99999999999999999999"#).1, Some(i64::MIN));
        assert_eq!(set(r#"SET "user" = -9223372036854775808"#).1, Some(i64::MIN));
        assert_eq!(set(r#"SET "user" = 9223372036854775807"#).1, Some(i64::MAX));
        assert_eq!(set(r#"SET "user" = " +7""#).1, Some(7));
        assert_eq!(set("SET x 5").1, Some(5));
        assert!(matches!(ok("BEGIN a.b", 3), Command::Begin { microseconds: 0, .. }));
        assert!(matches!(ok(r#"BEGIN a.b """#, 3), Command::Begin { microseconds: 0, .. }));
        assert!(matches!(ok("BEGIN a.b -5", 3), Command::Begin { microseconds: 0, .. }));
        assert!(matches!(ok("BEGIN a.b 12x", 3), Command::Begin { microseconds: 12, .. }));
    }

    #[test]
    fn syntax_fatal_cases() {
        assert_eq!(fatal("SET", 3), ProtocolError::SetWithoutId);
        assert_eq!(fatal(r#"SET "" = 1"#, 3), ProtocolError::SetWithoutId);
        assert_eq!(fatal("BEGIN", 3), ProtocolError::BeginWithoutChart);
        assert_eq!(fatal("DIMENSION", 3), ProtocolError::DimensionWithoutId);
        assert_eq!(fatal(r#"DIMENSION "" x"#, 3), ProtocolError::DimensionWithoutId);
        assert_eq!(fatal("CHART", 3), ProtocolError::ChartWithoutId);
        assert_eq!(fatal(r#"CHART """#, 3), ProtocolError::ChartWithoutId);
        // P24.
        for line in [r#"CHART "nodot" "x""#, r#"CHART ".x""#, r#"CHART "x.""#] {
            assert!(matches!(fatal(line, 3), ProtocolError::ChartInvalidId(_)), "{line}");
        }
        // P32.
        assert_eq!(fatal("VARIABLE", 3), ProtocolError::VariableWithoutName);
        assert_eq!(fatal("VARIABLE HOST", 3), ProtocolError::VariableWithoutName);
        assert_eq!(fatal(r#"VARIABLE CHART "" = 1"#, 3), ProtocolError::VariableWithoutName);
        // P49.
        assert_eq!(fatal("DISABLE", 3), ProtocolError::Disable);
        assert!(fatal("DISABLE", 3).to_string().contains("DISABLE"));
    }

    #[test]
    fn p20_to_p23_chart_fields() {
        let c = chart(r#"CHART "apps.cpu" "apps.cpu_total" "Apps CPU" "percent" "" "" "" "" "" "" "" """#);
        assert_eq!(c.name, Some(&b"apps.cpu_total"[..]));
        assert_eq!(c.family, Some(&b""[..]));
        assert_eq!((c.priority, c.update_every), (None, None));
        assert_eq!((c.options, c.plugin, c.module), (Some(&b""[..]), Some(&b""[..]), Some(&b""[..])));
        let c = chart("CHART apps.mem");
        assert_eq!((c.name, c.title, c.units, c.module), (None, None, None, None));
        assert_eq!((c.priority, c.update_every), (None, None));
        let c = chart(r#"CHART "a.b" "my name" "t" "u" "" "" "area" "-5" "0" "obsolete hidden""#);
        assert_eq!(c.priority, Some(-5));
        assert_eq!(c.update_every, Some(0));
        assert_eq!(c.options, Some(&b"obsolete hidden"[..]));
        assert_eq!(chart(r#"CHART a.b n t u f c line 12x -3y"#).priority, Some(12));
        assert_eq!(chart(r#"CHART a.b n t u f c line 12x -3y"#).update_every, Some(-3));
        assert_eq!(chart(r#"CHART a.b n t u f c line junk"#).priority, Some(0));
        assert_eq!(chart(r#"CHART a.b n t u f c line +5"#).priority, Some(0));
        // The type.id splits at the first dot.
        assert_eq!(chart("CHART a.b.c").type_and_id(), (&b"a"[..], &b"b.c"[..]));
    }

    #[test]
    fn p52_ids_are_truncated() {
        let long = format!("t.{}", "x".repeat(248));
        let line = format!(r#"CHART "{long}" "" "t""#);
        assert_eq!(chart(&line).type_id, &long.as_bytes()[..MAX_ID_LEN]);
        let line = format!(r#"BEGIN "{long}" 0"#);
        match ok(&line, 3) {
            Command::Begin { chart, .. } => assert_eq!(chart, &long.as_bytes()[..MAX_ID_LEN]),
            c => panic!("{c:?}"),
        }
        let id = "d".repeat(300);
        assert_eq!(set(&format!("SET {id} = 1")).0.len(), MAX_ID_LEN);
        assert_eq!(dim(&format!("DIMENSION {id}")).id.len(), MAX_ID_LEN);
        // A type of 200 bytes leaves no id after truncation.
        let line = format!("CHART {}.x", "t".repeat(200));
        assert!(matches!(fatal(&line, 3), ProtocolError::ChartInvalidId(_)));
    }

    #[test]
    fn p26_to_p31_variables() {
        let var = |line: &'static str| match parse_line(line.as_bytes(), 3).unwrap() {
            Parsed { command: Some(Command::Variable { scope, name, value }), warning } => {
                (scope, name, value, warning)
            }
            p => panic!("{line}: {p:?}"),
        };
        let (scope, name, value, w) = var("VARIABLE HOST max_conn = 100.0000000");
        assert_eq!((scope, name, value, w), (VariableScope::Host, &b"max_conn"[..], 100.0, None));
        assert_eq!(var("VARIABLE limit = 5").0, VariableScope::Auto);
        assert_eq!(var("VARIABLE limit = 5").2, 5.0);
        assert_eq!(var("VARIABLE CHART x = 1").0, VariableScope::Chart);
        assert_eq!(var("VARIABLE LOCAL x = 1").0, VariableScope::Chart);
        assert_eq!(var("VARIABLE GLOBAL x = 1").0, VariableScope::Host);
        assert_eq!(var("VARIABLE global x = 1").0, VariableScope::Auto);
        let p = parse_line(b"VARIABLE HOST y =", 3).unwrap();
        assert!(p.command.is_none());
        assert_eq!(p.warning, Some(Warning::VariableEmptyValue { name: "y".into() }));
        let (_, _, value, w) = var("VARIABLE HOST z = 12abc");
        assert_eq!(value, 12.0);
        assert_eq!(w, Some(Warning::VariableLeftovers { name: "z".into(), value: "12abc".into() }));
        assert_eq!(var("VARIABLE HOST e = 1.5e3").2, 1500.0);
        assert_eq!(var("VARIABLE HOST e = -1.0000000").2, -1.0);
        assert_eq!(var("VARIABLE HOST e = 2E-2").2, 0.02);
        assert!(var("VARIABLE HOST e = nan").2.is_nan());
        assert!(var("VARIABLE HOST e = NaN").3.is_none());
        assert_eq!(var("VARIABLE HOST e = -inf").2, f64::NEG_INFINITY);
        assert_eq!(var("VARIABLE HOST e = Infinity").2, f64::INFINITY);
        let (_, _, value, w) = var("VARIABLE HOST e = abc");
        assert_eq!(value, 0.0);
        assert!(w.is_some());
        let (_, _, value, w) = var("VARIABLE HOST e = 1e");
        assert_eq!(value, 1.0);
        assert!(w.is_some());
        assert_eq!(var("VARIABLE HOST e = .5").2, 0.5);
        assert_eq!(var("VARIABLE HOST e = 5.").2, 5.0);
        assert!(var("VARIABLE HOST e = 5.").3.is_none());
    }

    #[test]
    fn p33_to_p37_labels() {
        match ok(r#"LABEL "_os_name" = 1 "Debian GNU/Linux""#, 3) {
            Command::Label { name, source, value } => {
                assert_eq!(name, b"_os_name");
                assert_eq!(source, 1);
                assert_eq!(value.joined(), b"Debian GNU/Linux");
            }
            c => panic!("{c:?}"),
        }
        match ok(r#"LABEL "_k" = 0 two   words"#, 0) {
            Command::Label { source, value, .. } => {
                assert_eq!(source, 0);
                assert_eq!(value.joined(), b"two words");
                assert_eq!(value.iter().count(), 2);
            }
            c => panic!("{c:?}"),
        }
        match ok(r#"LABEL "p" = 536870913 "v""#, 1) {
            Command::Label { source, .. } => assert_eq!(source, 536870913),
            c => panic!("{c:?}"),
        }
        let p = parse_line(br#"LABEL "k" = 1"#, 3).unwrap();
        assert!(p.command.is_none());
        assert_eq!(p.warning, Some(Warning::LabelMalformed));
        assert_eq!(parse_line(b"LABEL", 3).unwrap().warning, Some(Warning::LabelMalformed));
        assert!(matches!(ok("OVERWRITE labels", 0), Command::Overwrite));
        assert!(matches!(ok("OVERWRITE", 4), Command::Overwrite));
    }

    #[test]
    fn p38_to_p41_claimed_id() {
        match ok("CLAIMED_ID aaaaaaaa-0000-0000-0000-000000000001 NULL", 3) {
            Command::ClaimedId { machine_guid, claim_id } => {
                assert_eq!(machine_guid, b"aaaaaaaa-0000-0000-0000-000000000001");
                assert_eq!(claim_id, None);
            }
            c => panic!("{c:?}"),
        }
        match ok("CLAIMED_ID aaaaaaaa-0000-0000-0000-000000000001 bbbbbbbb-1111-2222-3333-444444444444", 4) {
            Command::ClaimedId { claim_id, .. } => {
                assert_eq!(claim_id, Some(&b"bbbbbbbb-1111-2222-3333-444444444444"[..]))
            }
            c => panic!("{c:?}"),
        }
        // P40 (another host) is a state check: syntactically fine.
        assert!(matches!(ok("CLAIMED_ID aaaaaaaa-0000-0000-0000-000000000009 NULL", 3), Command::ClaimedId { .. }));
        assert_eq!(fatal("CLAIMED_ID aaaaaaaa-0000-0000-0000-000000000001", 3), ProtocolError::ClaimedIdParameters(1));
        assert!(matches!(fatal("CLAIMED_ID x NULL", 3), ProtocolError::ClaimedIdInvalidHost(_)));
        assert_eq!(
            fatal("CLAIMED_ID aaaaaaaa-0000-0000-0000-000000000001 NULL extra", 3),
            ProtocolError::ClaimedIdParameters(3)
        );
        assert!(matches!(
            fatal("CLAIMED_ID aaaaaaaa-0000-0000-0000-000000000001 null", 3),
            ProtocolError::ClaimedIdInvalidClaim(_)
        ));
        // Not enabled below version 3.
        assert!(matches!(
            fatal("CLAIMED_ID aaaaaaaa-0000-0000-0000-000000000001 NULL", 2),
            ProtocolError::UnknownKeyword { .. }
        ));
    }

    #[test]
    fn chart_definition_end_is_ignored_at_every_level() {
        for v in 0..=4 {
            let p = parse_line(b"CHART_DEFINITION_END 1 2 3", v).expect("not fatal");
            assert!(p.command.is_none() && p.warning.is_none());
        }
    }

    #[test]
    fn p42_to_p46_keywords() {
        for line in [
            "HELLO world",
            r#"set "user" = 1"#,
            r#"RSET "x" 1 """#,
            r#""SET" "x" = 1"#,
            "REPLAY_CHART a.b true 1 2",
            "FUNCTION x 1 y",
        ] {
            for v in 0..=4 {
                assert!(matches!(fatal(line, v), ProtocolError::UnknownKeyword { .. }), "{line}");
            }
        }
        let e = fatal("HELLO world", 3);
        assert_eq!(e, ProtocolError::UnknownKeyword { keyword: "HELLO".into(), version: 3 });
        assert!(e.to_string().contains("HELLO"));
        // P43: blank lines.
        for line in ["", "\r", "   \t "] {
            let p = parse_line(line.as_bytes(), 3).unwrap();
            assert!(p.command.is_none() && p.warning.is_none(), "{line:?}");
        }
        // P44.
        assert!(matches!(ok("END\r", 3), Command::End));
        // P45.
        let p = parse_line(b"TIMESTAMP 1669300000", 3).unwrap();
        assert!(p.command.is_none());
        assert_eq!(p.warning, Some(Warning::TimestampIgnored));
        // P46: CLABEL at v3 is unknown.
        assert!(matches!(fatal(r#"CLABEL "k" "v" 1"#, 3), ProtocolError::UnknownKeyword { .. }));
        assert!(matches!(fatal("CLABEL_COMMIT", 3), ProtocolError::UnknownKeyword { .. }));
        assert!(matches!(ok("FLUSH", 0), Command::Flush));
    }

    #[test]
    fn p47_p48_chart_labels() {
        match ok(r#"CLABEL "k" "v" 2"#, 4) {
            Command::ChartLabel { name, value, source } => {
                assert_eq!((name, value, source), (&b"k"[..], &b"v"[..], 2));
            }
            c => panic!("{c:?}"),
        }
        assert!(matches!(ok("CLABEL_COMMIT", 4), Command::ChartLabelCommit));
        assert_eq!(fatal(r#"CLABEL "k" "v""#, 4), ProtocolError::ChartLabelParameters);
        assert_eq!(fatal("CLABEL", 4), ProtocolError::ChartLabelParameters);
    }

    #[test]
    fn p53_to_p57_quoting() {
        assert_eq!(chart(r#"CHART "a.b" "x" "t \"q\"""#).title, Some(&br#"t \"q\""#[..]));
        let c = chart("CHART 'a.b' 'my name' 'single quoted title'");
        assert_eq!(c.name, Some(&b"my name"[..]));
        assert_eq!(c.title, Some(&b"single quoted title"[..]));
        assert_eq!(dim(r#"DIMENSION "a=b" "" absolute"#).id, b"a=b");
        assert_eq!(set(r#"SET "a=b" = 5"#), (&b"a=b"[..], Some(5)));
        match ok(r#"BEGIN "system.cpu 100"#, 3) {
            Command::Begin { chart, microseconds } => {
                assert_eq!(chart, b"system.cpu 100");
                assert_eq!(microseconds, 0);
            }
            c => panic!("{c:?}"),
        }
        let mut line = String::from(r#"CHART "a.b" "" "" "" "" "" "" "" "" "" "" """#);
        for i in 1..=10 {
            line.push_str(&format!(r#" "extra{i}""#));
        }
        let c = chart(&line);
        assert_eq!(c.module, Some(&b""[..]));
    }

    #[test]
    fn numeric_parsers() {
        assert_eq!(parse_i64_base0(b"  -0x10z"), (-16, 7));
        assert_eq!(parse_i64_base0(b"0x"), (0, 1));
        assert_eq!(parse_i64_base0(b"0xg"), (0, 1));
        assert_eq!(parse_i64_base0(b"-"), (0, 0));
        assert_eq!(parse_i64_base0(b""), (0, 0));
        assert_eq!(parse_i64_base0(b"0777"), (511, 4));
        assert_eq!(parse_i64_base0(b"0x7fffffffffffffff"), (i64::MAX, 18));
        assert_eq!(parse_i64_base0(b"0xffffffffffffffffff").0, i64::MAX);
        assert_eq!(parse_u64_base0(b"-1"), (u64::MAX, 2));
        assert_eq!(parse_u64_base0(b"99999999999999999999999").0, u64::MAX);
        assert_eq!(parse_u64_base0(b"16376"), (16376, 5));
        assert_eq!(parse_i64_base10(b"010"), 10);
        assert_eq!(parse_i64_base10(b" -12x"), -12);
        assert_eq!(parse_decimal_i64(b"-"), 0);
        assert_eq!(parse_decimal_i64(b"99999999999999999999"), i64::MAX);
        assert_eq!(parse_decimal_i64(b"-99999999999999999999"), i64::MIN);
        assert_eq!(parse_digits_u64(b"99999999999999999999999"), u64::MAX);
        assert_eq!(parse_f64_prefix(b" 1.5e3x"), (1500.0, 6));
        assert_eq!(parse_f64_prefix(b"1e+"), (1.0, 1));
        assert_eq!(parse_f64_prefix(b"."), (0.0, 0));
        assert_eq!(parse_f64_prefix(b"-"), (0.0, 0));
        assert_eq!(parse_f64_prefix(b"1e999").0, f64::INFINITY);
        let (v, n) = parse_f64_prefix(b"nan(123)x");
        assert!(v.is_nan());
        assert_eq!(n, 8);
        assert_eq!(parse_f64_prefix(b"infinit"), (f64::INFINITY, 3));
    }

    // -------- fixtures --------

    /// (capture name, legacy version, last line cut, keyword counts)
    type FixtureRow = (&'static str, u32, bool, Vec<(&'static str, usize)>);

    /// Plain-text captures, the legacy version the README gives each, and the expected
    /// keyword counts.
    fn fixture_table() -> Vec<FixtureRow> {
        let base = |c: usize, d: usize, b: usize, s: usize, v: usize| {
            vec![("CHART", c), ("DIMENSION", d), ("BEGIN", b), ("SET", s), ("END", b), ("VARIABLE", v)]
        };
        let with = |mut v: Vec<(&'static str, usize)>, extra: &[(&'static str, usize)]| {
            v.extend_from_slice(extra);
            v
        };
        vec![
            ("v1", 0, false, base(201, 753, 2255, 7645, 12)),
            ("v1-80s", 0, false, base(202, 754, 9252, 31526, 13)),
            ("v2", 1, false, with(base(201, 753, 2267, 7669, 12), &[("LABEL", 17), ("OVERWRITE", 1)])),
            (
                "v3",
                3,
                false,
                with(base(201, 753, 2340, 7921, 11), &[("LABEL", 17), ("OVERWRITE", 1), ("CLAIMED_ID", 1)]),
            ),
            (
                "v4",
                4,
                true,
                with(
                    base(201, 753, 2290, 7762, 11),
                    &[("LABEL", 17), ("OVERWRITE", 1), ("CLAIMED_ID", 1), ("CLABEL", 503), ("CLABEL_COMMIT", 201)],
                ),
            ),
            (
                "vcaps3008",
                4,
                false,
                with(
                    base(201, 753, 2267, 7669, 12),
                    &[("LABEL", 17), ("OVERWRITE", 1), ("CLAIMED_ID", 1), ("CLABEL", 503), ("CLABEL_COMMIT", 201)],
                ),
            ),
        ]
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = crate::stream::request::fixtures_dir().join(format!("netdata-1.37.1-child-{name}.stream"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
    }

    /// The complete lines of a capture (a cut last line is dropped when `cut`).
    fn fixture_lines(bytes: &[u8], cut: bool) -> Vec<&[u8]> {
        let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        let tail = lines.pop();
        if cut {
            assert!(!tail.unwrap_or_default().is_empty(), "the capture is cut");
        } else {
            assert_eq!(tail, Some(&b""[..]), "the capture ends with a newline");
        }
        lines
    }

    fn kind(c: &Command<'_>) -> &'static str {
        match c {
            Command::Chart(_) => "CHART",
            Command::Dimension(_) => "DIMENSION",
            Command::Begin { .. } => "BEGIN",
            Command::Set { .. } => "SET",
            Command::End => "END",
            Command::Flush => "FLUSH",
            Command::Variable { .. } => "VARIABLE",
            Command::Label { .. } => "LABEL",
            Command::Overwrite => "OVERWRITE",
            Command::ClaimedId { .. } => "CLAIMED_ID",
            Command::ChartLabel { .. } => "CLABEL",
            Command::ChartLabelCommit => "CLABEL_COMMIT",
        }
    }

    #[test]
    fn fixtures_parse_cleanly_with_expected_counts() {
        for (name, version, cut, expected) in fixture_table() {
            let bytes = fixture(name);
            let mut counts = std::collections::BTreeMap::<&str, usize>::new();
            for line in fixture_lines(&bytes, cut) {
                let p = parse_line(line, version)
                    .unwrap_or_else(|e| panic!("{name}: {:?}: {e}", String::from_utf8_lossy(line)));
                assert_eq!(p.warning, None, "{name}: {:?}", String::from_utf8_lossy(line));
                let c = p.command.unwrap_or_else(|| panic!("{name}: blank line"));
                *counts.entry(kind(&c)).or_default() += 1;
                if let Command::Chart(ch) = c {
                    assert!(ch.module.is_some(), "{name}: 12 parameters");
                }
            }
            let expected: std::collections::BTreeMap<&str, usize> = expected.into_iter().collect();
            assert_eq!(counts, expected, "{name}");
        }
    }

    #[test]
    fn fixtures_need_their_negotiated_level() {
        // A v4 capture at level 3 fails on the first CLABEL; a v3 one at level 2 on
        // CLAIMED_ID.
        let bytes = fixture("v4");
        let first_err = fixture_lines(&bytes, true).into_iter().find_map(|l| parse_line(l, 3).err());
        assert!(matches!(first_err, Some(ProtocolError::UnknownKeyword { ref keyword, .. }) if keyword == "CLABEL"));
        let bytes = fixture("v3");
        let first_err = fixture_lines(&bytes, false).into_iter().find_map(|l| parse_line(l, 2).err());
        assert!(
            matches!(first_err, Some(ProtocolError::UnknownKeyword { ref keyword, .. }) if keyword == "CLAIMED_ID")
        );
    }

    /// A sample of distinct fixture lines (every 7th, to keep the mutation test fast).
    fn sample_lines() -> Vec<Vec<u8>> {
        let bytes = fixture("vcaps3008");
        fixture_lines(&bytes, false).into_iter().step_by(7).map(<[u8]>::to_vec).collect()
    }

    #[derive(Debug, Clone)]
    enum Mutation {
        Flip(usize, u8),
        Truncate(usize),
        Insert(usize, u8),
        Remove(usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        let interesting = prop_oneof![
            Just(b'"'),
            Just(b'\''),
            Just(b'\\'),
            Just(b'='),
            Just(b' '),
            Just(b'.'),
            Just(b'-'),
            Just(0u8),
            any::<u8>()
        ];
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
            any::<usize>().prop_map(Mutation::Truncate),
            (any::<usize>(), interesting).prop_map(|(i, b)| Mutation::Insert(i, b)),
            any::<usize>().prop_map(Mutation::Remove),
        ]
    }

    #[test]
    fn set_lines_as_netdata_writes_them_skip_the_tokenizer() {
        for (line, id, value) in [
            (&b"SET \"user\" = 12345"[..], &b"user"[..], 12345),
            (b"SET \"a b=c'd\" = -7", b"a b=c'd", -7),
            (b"SET \"x\" = 0x10", b"x", 16),
        ] {
            match set_as_netdata_writes_it(line).map(|p| p.command) {
                Some(Some(Command::Set { dimension, value: v })) => assert_eq!((dimension, v), (id, Some(value))),
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(line)),
            }
        }
        for line in [
            &b"SET user = 1"[..],
            b"SET \"user\" =",
            b"SET \"user\" = 1 2",
            b"SET \"us\\\"er\" = 1",
            b"SET \"user\" = 1\r",
            b"SET \"user\"  = 1",
            b" SET \"user\" = 1",
            b"SET \"\" = 1",
            b"SET \"us\0er\" = 1",
        ] {
            assert!(set_as_netdata_writes_it(line).is_none(), "{:?}", String::from_utf8_lossy(line));
            assert!(parse_line(line, 4).is_ok() || line == b"SET \"\" = 1", "{:?}", String::from_utf8_lossy(line));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            for v in 0..=5 {
                let _ = tokenize(&bytes);
                if let Ok(p) = parse_line(&bytes, v) {
                    if let Some(Command::Label { value, .. }) = p.command {
                        let _ = value.joined();
                    }
                }
            }
        }

        #[test]
        fn the_set_fast_path_parses_like_the_tokenizer(
            line in prop_oneof![
                "SET \"[a-z_0-9 ='\\\\\\x00\"]{0,12}\" = -?(0x)?[0-9a-f]{0,22}",
                "SET \"[a-z_0-9 =\"]{0,8}\"[ =\t\r]{0,4}[-0-9a-z\"' =\\\\\\x00\r]{0,12}",
                "SET [\" a-z0-9=]{0,14}",
            ],
        ) {
            let general = parse_set(&tokenize_first::<3>(line.as_bytes()));
            if let Some(fast) = set_as_netdata_writes_it(line.as_bytes()) {
                prop_assert_eq!(format!("{:?}", Ok::<_, ProtocolError>(fast)), format!("{general:?}"), "line {:?}", line);
            }
        }

        #[test]
        fn protocol_like_lines_never_panic(
            line in "(CHART|DIMENSION|BEGIN|SET|END|VARIABLE|LABEL|CLAIMED_ID|CLABEL|CLABEL_COMMIT|OVERWRITE|TIMESTAMP|FLUSH)[ \"'=a-z.0-9\\\\x+-]{0,60}",
        ) {
            for v in 0..=4 {
                let _ = parse_line(line.as_bytes(), v);
            }
        }

        #[test]
        fn mutated_fixture_lines_never_panic(
            pick in any::<usize>(),
            muts in proptest::collection::vec(mutation(), 1..4),
        ) {
            thread_local! {
                static LINES: Vec<Vec<u8>> = sample_lines();
            }
            let mut line = LINES.with(|l| l[pick % l.len()].clone());
            for m in muts {
                let n = line.len().max(1);
                match m {
                    Mutation::Flip(i, b) => {
                        if let Some(x) = line.get_mut(i % n) {
                            *x ^= b;
                        }
                    }
                    Mutation::Truncate(i) => line.truncate(i % n),
                    Mutation::Insert(i, b) => line.insert(i % (line.len() + 1), b),
                    Mutation::Remove(i) => {
                        if !line.is_empty() {
                            line.remove(i % n);
                        }
                    }
                }
            }
            for v in 0..=4 {
                let _ = tokenize(&line);
                let _ = parse_line(&line, v);
            }
        }
    }
}
