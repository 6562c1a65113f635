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
    buf.windows(HEAD_END.len())
        .position(|w| w == HEAD_END)
        .map(|p| p + HEAD_END.len())
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
    let rest = head
        .strip_prefix(STREAM_PREFIX)
        .ok_or(RequestError::NotStream)?;
    let line_len = rest
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(rest.len());
    let request_line = &rest[..line_len];
    let target_len = request_line
        .windows(HTTP_MARK.len())
        .position(|w| w == HTTP_MARK)
        .ok_or(RequestError::Malformed)?;
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

const OS_SUFFIXES: [&str; 6] = [
    "NAME",
    "ID",
    "ID_LIKE",
    "VERSION",
    "VERSION_ID",
    "DETECTION",
];

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
            b'%' => match (
                target.get(i + 1).copied().and_then(hex_value),
                target.get(i + 2).copied().and_then(hex_value),
            ) {
                (Some(h), Some(l)) => {
                    i += 2;
                    (h << 4) | l
                }
                _ => b'%',
            },
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
