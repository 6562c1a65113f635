//! Netdata's scalar value rules, as pure functions.
//!
//! Owns: booleans (`appconfig_get_boolean` rules), integers with C `strtoll(…, 0)`
//! semantics, durations (health-style `10s`, `5m`, `never`) and GUID syntax checks.
//! Invariants: nothing here allocates a config tree or does I/O; every function is total
//! (no panics on any input).

/// Netdata boolean: true iff the value is, case-insensitively, `yes`, `true`, `on`,
/// `auto` or `on demand`. Everything else — including `1` — is false.
pub fn parse_bool(value: &str) -> bool {
    let v = value.trim();
    ["yes", "true", "on", "auto", "on demand"].iter().any(|t| v.eq_ignore_ascii_case(t))
}

/// Result of [`parse_strtoll`]: the number and the text left after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeadingNumber<'a> {
    pub value: i64,
    /// What `strtoll` would leave in `*endptr` (already ignored by Netdata).
    pub rest: &'a str,
}

/// C `strtoll(s, &end, 0)`: leading white space, an optional sign, then `0x`/`0X` → hex,
/// a leading `0` → octal, otherwise decimal; stops at the first character that is not a
/// digit of the base; saturates at `i64::MIN`/`i64::MAX` on overflow. Returns `None`
/// when no digit was consumed (where C returns 0 and leaves `end == s`).
pub fn parse_strtoll(s: &str) -> Option<LeadingNumber<'_>> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut negative = false;
    if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
        negative = bytes[i] == b'-';
        i += 1;
    }
    let mut base = 10u32;
    if bytes.get(i) == Some(&b'0') {
        let hex_prefix =
            matches!(bytes.get(i + 1), Some(b'x' | b'X')) && bytes.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit());
        if hex_prefix {
            base = 16;
            i += 2;
        } else {
            base = 8;
        }
    }
    let start = i;
    let mut magnitude: u128 = 0;
    while let Some(d) = bytes.get(i).and_then(|&c| (c as char).to_digit(base)) {
        magnitude = (magnitude * u128::from(base) + u128::from(d)).min(u128::from(u64::MAX));
        i += 1;
    }
    if i == start {
        return None;
    }
    let value = if negative {
        if magnitude > i64::MAX as u128 + 1 {
            i64::MIN
        } else {
            (-(magnitude as i128)) as i64
        }
    } else if magnitude > i64::MAX as u128 {
        i64::MAX
    } else {
        magnitude as i64
    };
    Some(LeadingNumber { value, rest: &s[i..] })
}

/// Health-style duration in seconds: a number (decimals and exponents allowed) that
/// starts with a digit, `+` or `-`, then an optional unit `s` (or none), `m`, `h`, `d`,
/// `w`, `M` (30 days) or `Y` (365 days); any other letter counts as seconds. `never` is 0.
/// The result is truncated to whole seconds. `None` when there is no number.
pub fn parse_duration_secs(value: &str) -> Option<i64> {
    let v = value.trim_start();
    if v.trim_end() == "never" {
        return Some(0);
    }
    let first = v.chars().next()?;
    if !(first.is_ascii_digit() || first == '+' || first == '-') {
        return None;
    }
    // Longest prefix that parses as a float.
    let mut end = 0;
    let mut number = None;
    for (idx, ch) in v.char_indices() {
        let next = idx + ch.len_utf8();
        if let Ok(n) = v[..next].parse::<f64>() {
            end = next;
            number = Some(n);
        } else if !(ch.is_ascii_digit() || matches!(ch, '.' | 'e' | 'E' | '+' | '-')) {
            break;
        }
    }
    let number = number?;
    let multiplier = match v[end..].chars().next() {
        Some('m') => 60.0,
        Some('h') => 3600.0,
        Some('d') => 86400.0,
        Some('w') => 604800.0,
        Some('M') => 2592000.0,
        Some('Y') => 31536000.0,
        _ => 1.0,
    };
    let secs = (number * multiplier).trunc();
    if secs.is_nan() {
        return None;
    }
    // `as` saturates for out-of-range floats.
    Some(secs as i64)
}

/// True iff `s` is a GUID in the 36-character `8-4-4-4-12` hex form (any case), the only
/// form Netdata's `uuid_parse` accepts.
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_follow_netdata() {
        for t in ["yes", "YES", "true", "True", "on", "auto", "on demand", "On Demand", " yes "] {
            assert!(parse_bool(t), "{t:?} must be true");
        }
        for f in ["no", "false", "off", "1", "0", "", "y", "enabled", "ondemand", "yes please"] {
            assert!(!parse_bool(f), "{f:?} must be false");
        }
    }

    fn n(s: &str) -> Option<(i64, &str)> {
        parse_strtoll(s).map(|l| (l.value, l.rest))
    }

    #[test]
    fn strtoll_base_detection() {
        assert_eq!(n("3996"), Some((3996, "")));
        assert_eq!(n("  -42"), Some((-42, "")));
        assert_eq!(n("+7"), Some((7, "")));
        assert_eq!(n("0x10"), Some((16, "")));
        assert_eq!(n("0XfF"), Some((255, "")));
        assert_eq!(n("010"), Some((8, "")));
        assert_eq!(n("0"), Some((0, "")));
        assert_eq!(n("08"), Some((0, "8")));
        assert_eq!(n("0x"), Some((0, "x")));
        assert_eq!(n("0xg"), Some((0, "xg")));
        assert_eq!(n("60 seconds"), Some((60, " seconds")));
        assert_eq!(n("1.5"), Some((1, ".5")));
    }

    #[test]
    fn strtoll_rejects_and_saturates() {
        assert_eq!(n("abc"), None);
        assert_eq!(n(""), None);
        assert_eq!(n("-"), None);
        assert_eq!(n(" + 1"), None);
        assert_eq!(n("99999999999999999999999"), Some((i64::MAX, "")));
        assert_eq!(n("-99999999999999999999999"), Some((i64::MIN, "")));
        assert_eq!(n("-9223372036854775808"), Some((i64::MIN, "")));
        assert_eq!(n("9223372036854775807"), Some((i64::MAX, "")));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_secs("10"), Some(10));
        assert_eq!(parse_duration_secs("10s"), Some(10));
        assert_eq!(parse_duration_secs("5m"), Some(300));
        assert_eq!(parse_duration_secs(" 2h"), Some(7200));
        assert_eq!(parse_duration_secs("1d"), Some(86400));
        assert_eq!(parse_duration_secs("1w"), Some(604800));
        assert_eq!(parse_duration_secs("1M"), Some(2592000));
        assert_eq!(parse_duration_secs("1Y"), Some(31536000));
        assert_eq!(parse_duration_secs("1.5m"), Some(90));
        assert_eq!(parse_duration_secs("1e2"), Some(100));
        assert_eq!(parse_duration_secs("-30s"), Some(-30));
        assert_eq!(parse_duration_secs("3x"), Some(3));
        assert_eq!(parse_duration_secs("never"), Some(0));
        assert_eq!(parse_duration_secs("m5"), None);
        assert_eq!(parse_duration_secs(""), None);
    }

    #[test]
    fn guid_syntax() {
        assert!(is_guid("11111111-2222-3333-4444-555555555555"));
        assert!(is_guid("ABCDEF01-2345-6789-abcd-ef0123456789"));
        assert!(!is_guid("API_KEY"));
        assert!(!is_guid("111111112222333344445555555555555555"));
        assert!(!is_guid("{11111111-2222-3333-4444-555555555555}"));
        assert!(!is_guid("11111111-2222-3333-4444-55555555555g"));
        assert!(!is_guid("11111111-2222-3333-4444-5555555555555"));
    }
}
