//! Byte-level helpers for identifiers received from children: id truncation, display-name
//! sanitising and the substring option matching of `CHART` / `DIMENSION`
//! (streaming-protocol.md §4.3, §4.5).
//!
//! Invariants: nothing here allocates except the functions returning a `String`; every
//! function is total (no panics on any input).

pub use crate::stream::command::truncate_id;

/// The bytes as a `String`, invalid UTF-8 replaced.
pub fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Netdata's display-name sanitising: every byte that is not ASCII alphanumeric and not
/// `.` becomes `_` (a multi-byte character therefore becomes several `_`).
pub fn sanitize_name(b: &[u8]) -> String {
    b.iter().map(|&c| if c.is_ascii_alphanumeric() || c == b'.' { char::from(c) } else { '_' }).collect()
}

/// Substring search, as Netdata's `strstr` on option words.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// Splits a chart's full id at its first `.` into (`type`, `id`); `None` when there is
/// no dot or either side is empty.
pub fn split_type_id(type_id: &[u8]) -> Option<(&[u8], &[u8])> {
    let dot = type_id.iter().position(|&c| c == b'.')?;
    let (t, rest) = (&type_id[..dot], &type_id[dot + 1..]);
    (!t.is_empty() && !rest.is_empty()).then_some((t, rest))
}

/// The sanitised display name of a chart (`CHART` field 2 rules): the name field with a
/// leading `type.` removed; none when missing, empty, equal to the id part, or
/// `NULL` / `(NULL)` (any case); the display name is `type.name`, or `type.id` without a
/// name, sanitised with [`sanitize_name`].
pub fn chart_display_name(type_: &[u8], id: &[u8], type_id: &[u8], name: Option<&[u8]>) -> String {
    let name = name.map(|n| match n.strip_prefix(type_) {
        Some(rest) if rest.first() == Some(&b'.') => &rest[1..],
        _ => n,
    });
    let name = name.filter(|n| {
        !n.is_empty() && *n != id && !n.eq_ignore_ascii_case(b"NULL") && !n.eq_ignore_ascii_case(b"(NULL)")
    });
    match name {
        Some(n) => {
            let mut full = Vec::with_capacity(type_.len() + 1 + n.len());
            full.extend_from_slice(type_);
            full.push(b'.');
            full.extend_from_slice(n);
            sanitize_name(&full)
        }
        None => sanitize_name(type_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitising_and_display_names() {
        assert_eq!(sanitize_name(b"a.my name-1"), "a.my_name_1");
        assert_eq!(sanitize_name("a.é".as_bytes()), "a.__");
        let dn = |n: Option<&[u8]>| chart_display_name(b"net", b"eth0", b"net.eth0", n);
        for n in [&b"net.eth0"[..], b"eth0", b"NULL", b"(null)", b"", b"net."] {
            assert_eq!(dn(Some(n)), "net.eth0", "{:?}", String::from_utf8_lossy(n));
        }
        assert_eq!(dn(None), "net.eth0");
        assert_eq!(dn(Some(b"net.eth0_in")), "net.eth0_in");
        assert_eq!(dn(Some(b"network")), "net.network");
        assert_eq!(chart_display_name(b"a", b"b", b"a.b", Some(b"my name")), "a.my_name");
    }

    #[test]
    fn type_id_split_and_truncation() {
        assert_eq!(split_type_id(b"system.cpu.x"), Some((&b"system"[..], &b"cpu.x"[..])));
        assert_eq!(split_type_id(b"nodot"), None);
        assert_eq!(split_type_id(b".x"), None);
        assert_eq!(split_type_id(b"x."), None);
        let long = vec![b'x'; 300];
        assert_eq!(truncate_id(&long).len(), crate::stream::command::MAX_ID_LEN);
        assert!(contains(b" hidden noreset", b"noreset"));
        assert!(!contains(b"  ", b"hidden"));
    }
}
