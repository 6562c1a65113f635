//! The STREAM handshake request (spec §2.2, rules 1–7, REC-1).
//!
//! Owns: telling a STREAM request from HTTP by its first bytes ([`sniff`]), finding the
//! end of the request head ([`head_end`]), and parsing the head into a
//! [`StreamRequest`] exactly like Netdata does: the whole request-target is
//! percent-decoded first (`+` → space), then split on `&` and each piece at its first
//! `=`; empty names and empty values are skipped; the last repeated key wins. Admission
//! checks (missing key, GUID validity, ACLs) are done by the caller with the parsed
//! fields. Invariants: no panics on any input; all strings in a [`StreamRequest`] are
//! valid UTF-8 without control bytes.

use crate::stream::command::{parse_i64_base0, parse_i64_base10, parse_u64_base0};

/// Largest request head accepted (a bigger incomplete request is refused).
pub const MAX_REQUEST: usize = 16384;

/// Decoded request-target size limit; the excess is silently dropped.
pub const MAX_DECODED_TARGET: usize = 8192;

const STREAM_PREFIX: &[u8] = b"STREAM ";
const HTTP_MARK: &[u8] = b" HTTP/";
const HEAD_END: &[u8] = b"\r\n\r\n";

/// What a new connection is, judging by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    /// Too few bytes to tell.
    NeedMore,
    /// Starts with `STREAM ` (case-sensitive).
    Stream,
    /// Anything else (an HTTP request for the web API).
    Other,
}

/// Classifies the first bytes of a connection (rule 1).
pub fn sniff(buf: &[u8]) -> Sniff {
    if buf.len() >= STREAM_PREFIX.len() {
        if buf.starts_with(STREAM_PREFIX) {
            Sniff::Stream
        } else {
            Sniff::Other
        }
    } else if STREAM_PREFIX.starts_with(buf) {
        Sniff::NeedMore
    } else {
        Sniff::Other
    }
}

/// Offset just past the first `\r\n\r\n` (rule 2), if the head is complete.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(HEAD_END.len()).position(|w| w == HEAD_END).map(|p| p + HEAD_END.len())
}

/// Why a request head cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The request line does not begin with `STREAM `.
    #[error("not a STREAM request")]
    NotStream,
    /// No ` HTTP/` after the request-target on the request line.
    #[error("malformed STREAM request line (no HTTP version)")]
    Malformed,
    /// The decoded target holds a control byte or invalid UTF-8 (HTTP 400 "URL not valid").
    #[error("URL not valid")]
    UrlNotValid,
    /// The head exceeds [`MAX_REQUEST`] bytes.
    #[error("request too big")]
    TooBig,
}

/// The parsed STREAM request. `None` = absent (or sent empty, which Netdata treats as
/// absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamRequest {
    pub key: Option<String>,
    pub hostname: Option<String>,
    pub registry_hostname: Option<String>,
    pub machine_guid: Option<String>,
    pub os: Option<String>,
    pub timezone: Option<String>,
    pub abbrev_timezone: Option<String>,
    pub tags: Option<String>,
    /// `strtoul` base 0.
    pub update_every: Option<u64>,
    /// `strtol` base 0, seconds east of UTC.
    pub utc_offset: Option<i64>,
    /// Decimal.
    pub hops: Option<i64>,
    /// The resolved offer (§3.3): last `ver` (as the 32-bit value Netdata keeps), else 1
    /// if `NETDATA_PROTOCOL_VERSION` was seen, else 0.
    pub offer: u64,
    /// Host system info: the `NETDATA_*` keys of §2.2.1, verbatim, in first-seen order,
    /// `NETDATA_SYSTEM_OS_*` renamed to `NETDATA_HOST_OS_*`.
    pub system_info: Vec<(String, String)>,
    /// From `User-Agent: <name>/<version>`.
    pub program_name: Option<String>,
    pub program_version: Option<String>,
    /// Unknown parameters, in order (for the "is not used" info log).
    pub unused: Vec<(String, String)>,
    /// Decimal.
    pub ml_capable: Option<i64>,
    pub ml_enabled: Option<i64>,
    pub mc_version: Option<i64>,
}

/// Parses a complete request head (the bytes up to and including `\r\n\r\n`; a head
/// without the terminator is parsed as far as it goes).
pub fn parse_stream_request(head: &[u8]) -> Result<StreamRequest, RequestError> {
    if head.len() > MAX_REQUEST {
        return Err(RequestError::TooBig);
    }
    let rest = head.strip_prefix(STREAM_PREFIX).ok_or(RequestError::NotStream)?;
    let line_len = rest.windows(2).position(|w| w == b"\r\n").unwrap_or(rest.len());
    let request_line = &rest[..line_len];
    let target_len =
        request_line.windows(HTTP_MARK.len()).position(|w| w == HTTP_MARK).ok_or(RequestError::Malformed)?;
    let decoded = url_decode(&request_line[..target_len])?;

    let mut req = StreamRequest::default();
    let mut ver: Option<u64> = None;
    let mut protocol_version_seen = false;
    for piece in decoded.split('&') {
        let Some((name, value)) = piece.split_once('=') else {
            continue;
        };
        if name.is_empty() || value.is_empty() {
            continue;
        }
        match name {
            "key" => req.key = Some(value.to_owned()),
            "hostname" => req.hostname = Some(value.to_owned()),
            "registry_hostname" => req.registry_hostname = Some(value.to_owned()),
            "machine_guid" => req.machine_guid = Some(value.to_owned()),
            "update_every" => req.update_every = Some(parse_u64_base0(value.as_bytes()).0),
            "os" => req.os = Some(value.to_owned()),
            "timezone" => req.timezone = Some(value.to_owned()),
            "abbrev_timezone" => req.abbrev_timezone = Some(value.to_owned()),
            "utc_offset" => req.utc_offset = Some(parse_i64_base0(value.as_bytes()).0),
            "hops" => req.hops = Some(parse_i64_base10(value.as_bytes())),
            "ml_capable" => req.ml_capable = Some(parse_i64_base10(value.as_bytes())),
            "ml_enabled" => req.ml_enabled = Some(parse_i64_base10(value.as_bytes())),
            "mc_version" => req.mc_version = Some(parse_i64_base10(value.as_bytes())),
            "tags" => req.tags = Some(value.to_owned()),
            // Netdata keeps the offer in 32 bits.
            "ver" => ver = Some(u64::from(parse_u64_base0(value.as_bytes()).0 as u32)),
            "NETDATA_PROTOCOL_VERSION" => protocol_version_seen = true,
            _ => match system_info_key(name) {
                SystemInfoKey::Store(stored) => set_pair(&mut req.system_info, stored, value),
                SystemInfoKey::Drop => {}
                SystemInfoKey::Unknown => req.unused.push((name.to_owned(), value.to_owned())),
            },
        }
    }
    req.offer = match ver {
        Some(v) => v,
        None if protocol_version_seen => 1,
        None => 0,
    };

    let headers = &rest[line_len..];
    for line in headers.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if !line[..colon].eq_ignore_ascii_case(b"User-Agent") {
            continue;
        }
        let value = String::from_utf8_lossy(&line[colon + 1..]);
        let value = value.trim_matches(|c: char| c == ' ' || c == '\t');
        match value.split_once('/') {
            Some((name, version)) => {
                req.program_name = Some(name.to_owned());
                req.program_version = Some(version.to_owned());
            }
            None => {
                req.program_name = Some(value.to_owned());
                req.program_version = None;
            }
        }
    }
    Ok(req)
}

/// Replaces the value of `key` (last wins) or appends it.
fn set_pair(list: &mut Vec<(String, String)>, key: String, value: &str) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some(entry) => entry.1 = value.to_owned(),
        None => list.push((key, value.to_owned())),
    }
}

enum SystemInfoKey {
    /// Stored under this name.
    Store(String),
    /// Accepted and dropped silently.
    Drop,
    /// Not a system-info key.
    Unknown,
}

const OS_SUFFIXES: [&str; 6] = ["NAME", "ID", "ID_LIKE", "VERSION", "VERSION_ID", "DETECTION"];

const VERBATIM: [&str; 15] = [
    "NETDATA_HOST_IS_K8S_NODE",
    "NETDATA_SYSTEM_KERNEL_NAME",
    "NETDATA_SYSTEM_KERNEL_VERSION",
    "NETDATA_SYSTEM_ARCHITECTURE",
    "NETDATA_SYSTEM_VIRTUALIZATION",
    "NETDATA_SYSTEM_VIRT_DETECTION",
    "NETDATA_SYSTEM_CONTAINER",
    "NETDATA_SYSTEM_CONTAINER_DETECTION",
    "NETDATA_SYSTEM_CPU_LOGICAL_CPU_COUNT",
    "NETDATA_SYSTEM_CPU_FREQ",
    "NETDATA_SYSTEM_TOTAL_RAM",
    "NETDATA_SYSTEM_TOTAL_DISK_SIZE",
    "NETDATA_INSTANCE_CLOUD_TYPE",
    "NETDATA_INSTANCE_CLOUD_INSTANCE_TYPE",
    "NETDATA_INSTANCE_CLOUD_INSTANCE_REGION",
];

const DROPPED: [&str; 5] = [
    "NETDATA_SYSTEM_CPU_VENDOR",
    "NETDATA_SYSTEM_CPU_MODEL",
    "NETDATA_SYSTEM_CPU_DETECTION",
    "NETDATA_SYSTEM_RAM_DETECTION",
    "NETDATA_SYSTEM_DISK_DETECTION",
];

fn system_info_key(name: &str) -> SystemInfoKey {
    if let Some(suffix) = name.strip_prefix("NETDATA_SYSTEM_OS_") {
        if OS_SUFFIXES.contains(&suffix) {
            return SystemInfoKey::Store(format!("NETDATA_HOST_OS_{suffix}"));
        }
    }
    if let Some(suffix) = name.strip_prefix("NETDATA_CONTAINER_OS_") {
        if OS_SUFFIXES.contains(&suffix) {
            return SystemInfoKey::Store(name.to_owned());
        }
    }
    if VERBATIM.contains(&name) {
        return SystemInfoKey::Store(name.to_owned());
    }
    if DROPPED.contains(&name) {
        return SystemInfoKey::Drop;
    }
    SystemInfoKey::Unknown
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes a request-target (rule 3): `%XX` → byte, `+` → space; a `%` not
/// followed by two hex digits is kept as is. The result is limited to
/// [`MAX_DECODED_TARGET`] bytes (cut at a character boundary); a control byte or
/// invalid UTF-8 in it is [`RequestError::UrlNotValid`].
pub fn url_decode(target: &[u8]) -> Result<String, RequestError> {
    let mut out = Vec::with_capacity(target.len().min(MAX_DECODED_TARGET));
    let mut i = 0;
    while i < target.len() && out.len() < MAX_DECODED_TARGET {
        let b = target[i];
        let byte = match b {
            b'%' => {
                match (target.get(i + 1).copied().and_then(hex_value), target.get(i + 2).copied().and_then(hex_value)) {
                    (Some(h), Some(l)) => {
                        i += 2;
                        (h << 4) | l
                    }
                    _ => b'%',
                }
            }
            b'+' => b' ',
            other => other,
        };
        if byte < 0x20 || byte == 0x7f {
            return Err(RequestError::UrlNotValid);
        }
        out.push(byte);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Ok(s),
        Err(e) => {
            let err = e.utf8_error();
            // A character cut by the size limit is dropped; anything else is invalid.
            if err.error_len().is_none() && i < target.len() {
                let mut bytes = e.into_bytes();
                bytes.truncate(err.valid_up_to());
                String::from_utf8(bytes).map_err(|_| RequestError::UrlNotValid)
            } else {
                Err(RequestError::UrlNotValid)
            }
        }
    }
}

/// Is `s` a GUID: 36 bytes, 8-4-4-4-12 hex digits (any case) separated by `-`?
pub fn is_guid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The lower-case form of a GUID, or `None` if `s` is not one.
pub fn normalize_guid(s: &str) -> Option<String> {
    is_guid(s.as_bytes()).then(|| s.to_ascii_lowercase())
}

/// The capture fixtures: `shared/` is a sibling of the project root (a work tree one
/// level deeper is also accepted).
#[cfg(test)]
pub(crate) fn fixtures_dir() -> std::path::PathBuf {
    let near = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures"));
    if near.is_dir() {
        return near.to_path_buf();
    }
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures")).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H1_QUERY: &str = "key=11111111-2222-3333-4444-555555555555&hostname=child1&registry_hostname=child1\
&machine_guid=aaaaaaaa-0000-0000-0000-000000000001&update_every=1&os=linux&timezone=Etc/UTC\
&tags=&ver=3&NETDATA_SYSTEM_OS_NAME=Debian+GNU%2FLinux&NETDATA_SYSTEM_OS_ID=debian\
&NETDATA_SYSTEM_OS_ID_LIKE=&NETDATA_SYSTEM_OS_VERSION=11+%28bullseye%29\
&NETDATA_SYSTEM_OS_VERSION_ID=11&NETDATA_SYSTEM_OS_DETECTION=/etc/os-release\
&NETDATA_HOST_IS_K8S_NODE=false&NETDATA_SYSTEM_KERNEL_NAME=Linux\
&NETDATA_SYSTEM_KERNEL_VERSION=5.10.0-20-amd64&NETDATA_SYSTEM_ARCHITECTURE=x86_64\
&NETDATA_SYSTEM_VIRTUALIZATION=kvm&NETDATA_SYSTEM_VIRT_DETECTION=systemd-detect-virt\
&NETDATA_SYSTEM_CONTAINER=none&NETDATA_SYSTEM_CONTAINER_DETECTION=systemd-detect-virt\
&NETDATA_CONTAINER_OS_NAME=none&NETDATA_CONTAINER_OS_ID=none&NETDATA_CONTAINER_OS_ID_LIKE=none\
&NETDATA_CONTAINER_OS_VERSION=none&NETDATA_CONTAINER_OS_VERSION_ID=none\
&NETDATA_CONTAINER_OS_DETECTION=none&NETDATA_SYSTEM_CPU_LOGICAL_CPU_COUNT=4\
&NETDATA_SYSTEM_CPU_FREQ=2400000000&NETDATA_SYSTEM_TOTAL_RAM=8589934592\
&NETDATA_SYSTEM_TOTAL_DISK_SIZE=107374182400&NETDATA_PROTOCOL_VERSION=1.1";

    fn request(query: &str, agent: &str) -> Vec<u8> {
        format!("STREAM {query} HTTP/1.1\r\nUser-Agent: {agent}\r\nAccept: */*\r\n\r\n").into_bytes()
    }

    fn h1_with(query: &str) -> StreamRequest {
        parse_stream_request(&request(query, "netdata/v1.29.3")).unwrap()
    }

    fn info<'a>(r: &'a StreamRequest, k: &str) -> Option<&'a str> {
        r.system_info.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    fn replace(query: &str, from: &str, to: &str) -> String {
        assert!(query.contains(from), "{from}");
        query.replacen(from, to, 1)
    }

    #[test]
    fn h1_fields() {
        let r = h1_with(H1_QUERY);
        assert_eq!(r.key.as_deref(), Some("11111111-2222-3333-4444-555555555555"));
        assert_eq!(r.hostname.as_deref(), Some("child1"));
        assert_eq!(r.registry_hostname.as_deref(), Some("child1"));
        assert_eq!(r.machine_guid.as_deref(), Some("aaaaaaaa-0000-0000-0000-000000000001"));
        assert_eq!(r.update_every, Some(1));
        assert_eq!(r.os.as_deref(), Some("linux"));
        assert_eq!(r.timezone.as_deref(), Some("Etc/UTC"));
        assert_eq!(r.tags, None);
        assert_eq!(r.offer, 3);
        assert_eq!(info(&r, "NETDATA_HOST_OS_NAME"), Some("Debian GNU/Linux"));
        assert_eq!(info(&r, "NETDATA_HOST_OS_VERSION"), Some("11 (bullseye)"));
        assert_eq!(info(&r, "NETDATA_HOST_OS_ID_LIKE"), None);
        assert_eq!(info(&r, "NETDATA_SYSTEM_OS_NAME"), None);
        assert_eq!(info(&r, "NETDATA_SYSTEM_KERNEL_VERSION"), Some("5.10.0-20-amd64"));
        assert_eq!(info(&r, "NETDATA_CONTAINER_OS_DETECTION"), Some("none"));
        assert_eq!(info(&r, "NETDATA_SYSTEM_TOTAL_DISK_SIZE"), Some("107374182400"));
        assert_eq!(r.system_info.len(), 5 + 8 + 6 + 4);
        assert_eq!(r.program_name.as_deref(), Some("netdata"));
        assert_eq!(r.program_version.as_deref(), Some("v1.29.3"));
        assert!(r.unused.is_empty());
        assert_eq!(r.abbrev_timezone, None);
        assert_eq!(r.utc_offset, None);
        assert_eq!(r.hops, None);
        assert_eq!(crate::stream::version::negotiate_with_ceiling(r.offer, 3), 3);
    }

    #[test]
    fn h2_v1_37_fields() {
        let q = replace(
            H1_QUERY,
            "&tags=&ver=3",
            "&abbrev_timezone=UTC&utc_offset=0&hops=1&ml_capable=1&ml_enabled=1&mc_version=1\
             &tags=&ver=16376&NETDATA_INSTANCE_CLOUD_TYPE=unknown\
             &NETDATA_INSTANCE_CLOUD_INSTANCE_TYPE=unknown&NETDATA_INSTANCE_CLOUD_INSTANCE_REGION=unknown",
        );
        let r = parse_stream_request(&request(&q, "netdata/v1.37.1")).unwrap();
        assert_eq!(r.offer, 16376);
        assert_eq!(r.abbrev_timezone.as_deref(), Some("UTC"));
        assert_eq!(r.utc_offset, Some(0));
        assert_eq!(r.hops, Some(1));
        assert_eq!(r.ml_capable, Some(1));
        assert_eq!(r.ml_enabled, Some(1));
        assert_eq!(r.mc_version, Some(1));
        assert_eq!(info(&r, "NETDATA_INSTANCE_CLOUD_TYPE"), Some("unknown"));
        assert_eq!(r.program_version.as_deref(), Some("v1.37.1"));
        assert!(r.unused.is_empty());
    }

    #[test]
    fn offers_h3_to_h9() {
        let cases: [(&str, &str, u64); 7] = [
            ("H3", "&ver=15352&", 15352),
            ("H6", "&ver=2&", 2),
            ("H7", "&ver=5&", 5),
            ("H8", "&ver=0x4&", 4),
            ("H9", "&ver=0&", 0),
            ("octal", "&ver=010&", 8),
            ("u32", "&ver=4294967299&", 3),
        ];
        for (name, ver, offer) in cases {
            let r = h1_with(&replace(H1_QUERY, "&ver=3&", ver));
            assert_eq!(r.offer, offer, "{name}");
        }
        // H4: neither ver nor NETDATA_PROTOCOL_VERSION.
        let q = replace(H1_QUERY, "&ver=3", "");
        let q = replace(&q, "&NETDATA_PROTOCOL_VERSION=1.1", "");
        assert_eq!(h1_with(&q).offer, 0);
        // H5: no ver, NETDATA_PROTOCOL_VERSION present.
        assert_eq!(h1_with(&replace(H1_QUERY, "&ver=3", "")).offer, 1);
        // NETDATA_PROTOCOL_VERSION applies only if ver was not seen before it; a later
        // ver still wins.
        assert_eq!(h1_with("NETDATA_PROTOCOL_VERSION=1.1&ver=0").offer, 0);
        assert_eq!(h1_with("ver=0&NETDATA_PROTOCOL_VERSION=1.1").offer, 0);
        assert_eq!(h1_with("ver=3&ver=&x=1").offer, 3);
    }

    #[test]
    fn admission_vectors_parse() {
        // H10: no key.
        let r = h1_with(&replace(H1_QUERY, "key=11111111-2222-3333-4444-555555555555&", ""));
        assert_eq!(r.key, None);
        // H11: empty hostname is skipped.
        assert_eq!(h1_with(&replace(H1_QUERY, "hostname=child1&", "hostname=&")).hostname, None);
        // H12: no machine guid.
        let r = h1_with(&replace(H1_QUERY, "&machine_guid=aaaaaaaa-0000-0000-0000-000000000001", ""));
        assert_eq!(r.machine_guid, None);
        // H13, H14: present but not GUIDs.
        let r = h1_with(&replace(H1_QUERY, "key=11111111-2222-3333-4444-555555555555", "key=not-a-guid"));
        assert_eq!(r.key.as_deref(), Some("not-a-guid"));
        assert!(!is_guid(b"not-a-guid"));
        assert!(!is_guid(b"aaaaaaaa-0000-0000-0000-00000000001"));
        // H17: an upper-case key is kept as sent (section match is the caller's).
        let r = h1_with(&replace(H1_QUERY, "key=11111111", "key=ABCDEF01"));
        assert_eq!(r.key.as_deref(), Some("ABCDEF01-2222-3333-4444-555555555555"));
    }

    #[test]
    fn decoding_vectors_h24_to_h30() {
        // H24: a raw `+` decodes to a space.
        let r = h1_with(&replace(H1_QUERY, "timezone=Etc/UTC", "timezone=Etc/GMT+2"));
        assert_eq!(r.timezone.as_deref(), Some("Etc/GMT 2"));
        // H25: decode before split.
        let r = h1_with(&replace(H1_QUERY, "tags=&", "tags=a%26b&"));
        assert_eq!(r.tags.as_deref(), Some("a"));
        assert!(r.unused.is_empty(), "a piece without `=` is ignored");
        // H26.
        let r = h1_with(&replace(H1_QUERY, "hostname=child1&", "hostname=web%2001&"));
        assert_eq!(r.hostname.as_deref(), Some("web 01"));
        // H28.
        let r = h1_with(&format!("{H1_QUERY}&foo=bar"));
        assert_eq!(r.unused, vec![("foo".to_string(), "bar".to_string())]);
        // H29.
        assert_eq!(sniff(b"GET /api/v1/info HTTP/1.1\r\n"), Sniff::Other);
        assert_eq!(parse_stream_request(b"GET /api/v1/info HTTP/1.1\r\n\r\n"), Err(RequestError::NotStream));
        // H30.
        let head = request(&replace(H1_QUERY, "hostname=child1&", "hostname=a%0Ab&"), "x/y");
        assert_eq!(parse_stream_request(&head), Err(RequestError::UrlNotValid));
    }

    #[test]
    fn h27_split_delivery() {
        let full = request(H1_QUERY, "netdata/v1.29.3");
        let http = full.windows(8).position(|w| w == b"HTTP/1.1").unwrap() + 3;
        let end = full.len() - 2;
        let mut buf = Vec::new();
        for (k, seg) in [&full[..http], &full[http..end], &full[end..]].iter().enumerate() {
            buf.extend_from_slice(seg);
            assert_eq!(sniff(&buf), Sniff::Stream);
            if k < 2 {
                assert_eq!(head_end(&buf), None);
            }
        }
        assert_eq!(head_end(&buf), Some(full.len()));
        assert_eq!(parse_stream_request(&buf), parse_stream_request(&full));
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b""), Sniff::NeedMore);
        assert_eq!(sniff(b"STR"), Sniff::NeedMore);
        assert_eq!(sniff(b"STREAM"), Sniff::NeedMore);
        assert_eq!(sniff(b"STREAM "), Sniff::Stream);
        assert_eq!(sniff(b"stream "), Sniff::Other);
        assert_eq!(sniff(b"GE"), Sniff::Other);
        assert_eq!(sniff(b"STREAMX"), Sniff::Other);
    }

    #[test]
    fn head_end_and_early_stream_bytes() {
        let mut buf = request("key=a", "x");
        let head_len = buf.len();
        buf.extend_from_slice(b"CLAIMED_ID ");
        assert_eq!(head_end(&buf), Some(head_len));
        assert_eq!(head_end(b"STREAM a HTTP/1.1\r\n\r"), None);
    }

    #[test]
    fn decoding_rules() {
        assert_eq!(url_decode(b"a%2fb%2Fc+d").unwrap(), "a/b/c d");
        assert_eq!(url_decode(b"100%").unwrap(), "100%");
        assert_eq!(url_decode(b"%zz%4").unwrap(), "%zz%4");
        assert_eq!(url_decode(b"%c3%a9").unwrap(), "é");
        assert_eq!(url_decode(b"%c3"), Err(RequestError::UrlNotValid));
        assert_eq!(url_decode(b"%ff"), Err(RequestError::UrlNotValid));
        assert_eq!(url_decode(b"a%7fb"), Err(RequestError::UrlNotValid));
        assert_eq!(url_decode(b"a\tb"), Err(RequestError::UrlNotValid));
        assert_eq!(url_decode(b"%00"), Err(RequestError::UrlNotValid));
        // Decoded size limit: the excess is dropped, a cut character too.
        let long = vec![b'x'; MAX_DECODED_TARGET + 100];
        assert_eq!(url_decode(&long).unwrap().len(), MAX_DECODED_TARGET);
        let mut cut = vec![b'x'; MAX_DECODED_TARGET - 1];
        cut.extend_from_slice(b"%c3%a9yyy");
        assert_eq!(url_decode(&cut).unwrap().len(), MAX_DECODED_TARGET - 1);
    }

    #[test]
    fn split_rules() {
        // `=` inside a value: split at the first one.
        let r = h1_with("tags=a=b&hostname=x");
        assert_eq!(r.tags.as_deref(), Some("a=b"));
        // Encoded `=` breaks the split the same way (decode first).
        assert_eq!(h1_with("tags%3Da%3Db").tags.as_deref(), Some("a=b"));
        // Last wins; keys are case-sensitive; empty names skipped.
        let r = h1_with("hostname=a&hostname=b&Hostname=c&=d");
        assert_eq!(r.hostname.as_deref(), Some("b"));
        assert_eq!(r.unused, vec![("Hostname".to_string(), "c".to_string())]);
        // System info: last wins, dropped keys dropped.
        let r =
            h1_with("NETDATA_SYSTEM_OS_ID=a&NETDATA_SYSTEM_OS_ID=b&NETDATA_SYSTEM_CPU_MODEL=x&NETDATA_SYSTEM_OS_FOO=1");
        assert_eq!(r.system_info, vec![("NETDATA_HOST_OS_ID".into(), "b".into())]);
        assert_eq!(r.unused, vec![("NETDATA_SYSTEM_OS_FOO".into(), "1".into())]);
        // Numbers.
        let r = h1_with("update_every=0x2&utc_offset=-7200&hops=3xyz&ml_capable=abc");
        assert_eq!(r.update_every, Some(2));
        assert_eq!(r.utc_offset, Some(-7200));
        assert_eq!(r.hops, Some(3));
        assert_eq!(r.ml_capable, Some(0));
    }

    #[test]
    fn request_line_and_headers() {
        assert_eq!(parse_stream_request(b"STREAM key=a\r\n\r\n"), Err(RequestError::Malformed));
        // No User-Agent → unknown program.
        let r = parse_stream_request(b"STREAM key=a HTTP/1.1\r\nAccept: */*\r\n\r\n").unwrap();
        assert_eq!(r.program_name, None);
        // Header name is case-insensitive; split at the first `/`.
        let r = parse_stream_request(b"STREAM key=a HTTP/1.1\r\nuser-agent:  a/b/c \r\n\r\n").unwrap();
        assert_eq!(r.program_name.as_deref(), Some("a"));
        assert_eq!(r.program_version.as_deref(), Some("b/c"));
        let r = parse_stream_request(b"STREAM key=a HTTP/1.1\r\nUser-Agent: plain\r\n\r\n").unwrap();
        assert_eq!(r.program_name.as_deref(), Some("plain"));
        assert_eq!(r.program_version, None);
        // Too big.
        let mut big = b"STREAM ".to_vec();
        big.resize(MAX_REQUEST + 1, b'a');
        assert_eq!(parse_stream_request(&big), Err(RequestError::TooBig));
        // The target ends at the first " HTTP/".
        let r = parse_stream_request(b"STREAM tags=x HTTP/y HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(r.tags.as_deref(), Some("x"));
    }

    #[test]
    fn guids() {
        assert!(is_guid(b"aaaaaaaa-0000-0000-0000-000000000001"));
        assert!(is_guid(b"ABCDEF01-2222-3333-4444-555555555555"));
        assert!(!is_guid(b"aaaaaaaa-0000-0000-0000-0000000000011"));
        assert!(!is_guid(b"aaaaaaaa_0000-0000-0000-000000000001"));
        assert!(!is_guid(b"gaaaaaaa-0000-0000-0000-000000000001"));
        assert!(!is_guid(b""));
        assert_eq!(
            normalize_guid("ABCDEF01-2222-3333-4444-55555555555F").as_deref(),
            Some("abcdef01-2222-3333-4444-55555555555f")
        );
        assert_eq!(normalize_guid("nope"), None);
    }

    #[test]
    fn fixture_requests() {
        let dir = fixtures_dir();
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("request") {
                continue;
            }
            seen += 1;
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(sniff(&bytes), Sniff::Stream);
            assert_eq!(head_end(&bytes), Some(bytes.len()), "{path:?}");
            let r = parse_stream_request(&bytes).unwrap();
            assert_eq!(r.key.as_deref(), Some("11111111-2222-3333-4444-555555555555"));
            assert_eq!(r.hostname.as_deref(), Some("capture-child"));
            assert_eq!(r.registry_hostname.as_deref(), Some("capture-child"));
            assert!(is_guid(r.machine_guid.as_deref().unwrap().as_bytes()));
            assert_eq!(r.update_every, Some(1));
            assert_eq!(r.os.as_deref(), Some("linux"));
            assert_eq!(r.timezone.as_deref(), Some("Etc/UTC"));
            assert_eq!(r.abbrev_timezone.as_deref(), Some("UTC"));
            assert_eq!(r.utc_offset, Some(0));
            assert_eq!(r.hops, Some(1));
            assert_eq!((r.ml_capable, r.ml_enabled, r.mc_version), (Some(0), Some(0), Some(1)));
            assert_eq!(r.tags, None);
            assert_eq!(r.offer, 16376);
            assert_eq!(crate::stream::version::negotiate(r.offer), 4);
            assert_eq!(info(&r, "NETDATA_HOST_OS_NAME"), Some("Debian GNU/Linux"));
            assert_eq!(info(&r, "NETDATA_HOST_OS_VERSION"), Some("12 (bookworm)"));
            assert_eq!(info(&r, "NETDATA_HOST_OS_ID_LIKE"), Some("unknown"));
            assert_eq!(info(&r, "NETDATA_INSTANCE_CLOUD_TYPE"), None, "sent empty");
            assert_eq!(info(&r, "NETDATA_HOST_IS_K8S_NODE"), None, "sent empty");
            assert_eq!(info(&r, "NETDATA_SYSTEM_CPU_LOGICAL_CPU_COUNT"), Some("2"));
            assert_eq!(info(&r, "NETDATA_SYSTEM_TOTAL_RAM"), Some("25276510208"));
            assert_eq!(r.program_name.as_deref(), Some("netdata"));
            assert_eq!(r.program_version.as_deref(), Some("v1.37.1"));
            assert!(r.unused.is_empty(), "{:?}", r.unused);
        }
        assert_eq!(seen, 8);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = sniff(&bytes);
            let _ = head_end(&bytes);
            let _ = parse_stream_request(&bytes);
            let mut prefixed = b"STREAM ".to_vec();
            prefixed.extend_from_slice(&bytes);
            prefixed.extend_from_slice(b" HTTP/1.1\r\n\r\n");
            if let Ok(r) = parse_stream_request(&prefixed) {
                for s in [&r.key, &r.hostname, &r.tags, &r.os].into_iter().flatten() {
                    prop_assert!(!s.is_empty());
                    prop_assert!(!s.bytes().any(|b| b < 0x20 || b == 0x7f));
                }
            }
        }

        #[test]
        fn query_like_input_never_panics(q in "[a-z_A-Z%0-9+=&.\\-]{0,200}") {
            let _ = parse_stream_request(&request(&q, "a/b"));
        }
    }
}
