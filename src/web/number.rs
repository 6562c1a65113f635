//! Netdata number formatting: data values with up to 7 decimals, trailing zeros removed,
//! never an exponent; NaN/∞ as `null`; fixed `%0.7f` and rounded-integer variants.

use std::fmt::Write;

/// Appends `v` the way `/api/v1/data` prints values: up to 7 decimals, no trailing zeros,
/// no exponent, `-0` as `0`; NaN and ∞ as `null`.
pub fn push_value(out: &mut String, v: f64) {
    if !v.is_finite() {
        out.push_str("null");
        return;
    }
    let start = out.len();
    let _ = write!(out, "{v:.7}");
    if out[start..].contains('.') {
        let trimmed = out[start..].trim_end_matches('0').trim_end_matches('.').len();
        out.truncate(start + trimmed);
    }
    if &out[start..] == "-0" {
        out.truncate(start);
        out.push('0');
    }
}

/// `v` formatted by [`push_value`].
pub fn value(v: f64) -> String {
    let mut s = String::new();
    push_value(&mut s, v);
    s
}

/// `%0.7f` (allmetrics json and prometheus); NaN/∞ as `null`.
pub fn fixed7(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.7}")
    } else {
        "null".to_string()
    }
}

/// `%0.5f` (chart variables); NaN/∞ as `null`.
pub fn fixed5(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.5}")
    } else {
        "null".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_values() {
        assert_eq!(value(2.0), "2");
        assert_eq!(value(0.25), "0.25");
        assert_eq!(value(12.3456789), "12.3456789");
        assert_eq!(value(12.34567894), "12.3456789");
        assert_eq!(value(-1.5), "-1.5");
        assert_eq!(value(-0.00000001), "0");
        assert_eq!(value(-0.0), "0");
        assert_eq!(value(1e20), "100000000000000000000");
        assert_eq!(value(1e-9), "0");
        assert_eq!(value(100.0), "100");
        assert_eq!(value(f64::NAN), "null");
        assert_eq!(value(f64::INFINITY), "null");
    }

    #[test]
    fn fixed_formats() {
        assert_eq!(fixed7(3.1234567), "3.1234567");
        assert_eq!(fixed7(2.0), "2.0000000");
        assert_eq!(fixed7(f64::NAN), "null");
        assert_eq!(fixed5(1.0), "1.00000");
    }
}
