//! The STREAM handshake of a simulated child, as pure functions: the request it sends,
//! what the parent's reply means, and the lines it sends first in a session (host labels,
//! claim id), per the negotiated version.
//!
//! Reuses strata's encoder (`stream_request`, `label`, `claimed_id`) and reply
//! classification (`classify_reply`). Invariants: a reply is accepted only for a version
//! the child offered and can speak — plain text, no compression, no replication; any
//! other reply is a rejection carrying the parent's own text.

use strata::stream::encode::{self, RequestParams};
use strata::stream::version::{self, caps, ParentReply};

use crate::ident::Identity;

/// What the session may send, from the negotiated version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// The version (legacy number or bitmask) the parent answered.
    pub version: u64,
    /// `LABEL` … `OVERWRITE labels` is understood.
    pub host_labels: bool,
    /// `CLAIMED_ID` is understood.
    pub claim: bool,
}

/// How a handshake ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted(Session),
    /// The parent answered something we cannot stream with; its text (lossy UTF-8,
    /// at most [`MAX_REASON`] characters) or, for a reply we understood but cannot
    /// speak, what is missing.
    Rejected(String),
    /// Nothing came back (timeout or close).
    NoResponse,
}

/// Longest reply text kept as a rejection reason.
pub const MAX_REASON: usize = 120;

/// Capabilities the loadgen cannot speak: the parent would expect compressed frames or
/// replication.
const UNSPEAKABLE: u64 = caps::COMPRESSION | caps::REPLICATION | caps::BINARY;

/// Appends the STREAM request of `ident`.
pub fn request(out: &mut Vec<u8>, ident: &Identity, api_key: &str, update_every: u32, ver: u64) {
    let system_info = system_info();
    encode::stream_request(
        out,
        &RequestParams {
            key: api_key,
            hostname: &ident.hostname,
            registry_hostname: &ident.hostname,
            machine_guid: &ident.machine_guid,
            update_every: u64::from(update_every),
            os: "linux",
            timezone: "Etc/UTC",
            abbrev_timezone: Some("UTC"),
            utc_offset: Some(0),
            hops: Some(1),
            tags: "",
            ver,
            system_info: &system_info,
            program_name: "strata-loadgen",
            program_version: env!("CARGO_PKG_VERSION"),
            ..RequestParams::default()
        },
    );
}

/// The system facts every simulated child reports.
fn system_info() -> Vec<(String, String)> {
    [
        ("NETDATA_SYSTEM_OS_NAME", "strata-loadgen"),
        ("NETDATA_SYSTEM_OS_ID", "loadgen"),
        ("NETDATA_SYSTEM_OS_VERSION", env!("CARGO_PKG_VERSION")),
        ("NETDATA_SYSTEM_KERNEL_NAME", "Linux"),
        ("NETDATA_SYSTEM_ARCHITECTURE", std::env::consts::ARCH),
        ("NETDATA_SYSTEM_VIRTUALIZATION", "none"),
        ("NETDATA_SYSTEM_CONTAINER", "none"),
        ("NETDATA_SYSTEM_CPU_LOGICAL_CPU_COUNT", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn reason(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(MAX_REASON).collect()
}

/// What the parent's first reply (one read) means for a child that offered `offer`.
pub fn classify(bytes: &[u8], offer: u64) -> Outcome {
    if offer > 5 {
        if let Some(n) = bitmask_reply(bytes) {
            if n & !offer != 0 {
                return Outcome::Rejected(format!("parent answered capabilities we did not offer: {}", reason(bytes)));
            }
            if n & UNSPEAKABLE != 0 {
                return Outcome::Rejected(format!(
                    "parent negotiated compression or replication, which the loadgen does not speak: {}",
                    reason(bytes)
                ));
            }
            return Outcome::Accepted(Session {
                version: n,
                host_labels: n & caps::HLABELS != 0,
                claim: n & caps::CLAIM != 0,
            });
        }
    }
    let offered = u32::try_from(version::legacy_equivalent(offer)).unwrap_or(u32::MAX);
    match version::classify_reply(bytes, offered) {
        ParentReply::Version(v) if v >= 5 => {
            Outcome::Rejected(format!("version {v} needs compression, which the loadgen does not speak"))
        }
        ParentReply::Version(v) => {
            Outcome::Accepted(Session { version: u64::from(v), host_labels: v >= 1, claim: v >= 3 })
        }
        ParentReply::NoResponse => Outcome::NoResponse,
        ParentReply::Denied
        | ParentReply::AlreadyStreaming
        | ParentReply::SameLocalhost
        | ParentReply::NotUnderstood => Outcome::Rejected(reason(bytes)),
    }
}

/// The number of a `…version=N` reply when it is a v1.37 bitmask (N > 5).
fn bitmask_reply(bytes: &[u8]) -> Option<u64> {
    let tail = bytes.strip_prefix(version::PROMPT_VN_PREFIX)?;
    let digits = tail.iter().take_while(|b| b.is_ascii_digit()).count();
    let n: u64 = std::str::from_utf8(&tail[..digits]).ok()?.parse().ok()?;
    (n > 5).then_some(n)
}

/// Appends what a session sends before its charts: host labels and the claim id, as the
/// negotiated version allows.
pub fn preamble(out: &mut Vec<u8>, session: &Session, ident: &Identity, seed: u64) {
    if session.host_labels {
        encode::label(out, b"_os_name", 1, b"strata-loadgen");
        encode::label(out, b"_architecture", 1, std::env::consts::ARCH.as_bytes());
        encode::label(out, b"_virtualization", 1, b"none");
        encode::label(out, b"loadgen_index", 2, ident.index.to_string().as_bytes());
        encode::label(out, b"loadgen_seed", 2, seed.to_string().as_bytes());
        encode::overwrite(out);
    }
    if session.claim {
        encode::claimed_id(out, ident.machine_guid.as_bytes(), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata::stream::command::{parse_line, Command};
    use strata::stream::request::parse_stream_request;

    fn ident() -> Identity {
        Identity::new(42, 7, "lg")
    }

    #[test]
    fn request_parses_with_the_parent_parser() {
        let mut out = Vec::new();
        request(&mut out, &ident(), "11111111-2222-3333-4444-555555555555", 2, 16376);
        assert!(out.len() < 8192);
        let r = parse_stream_request(&out).unwrap();
        assert_eq!(r.key.as_deref(), Some("11111111-2222-3333-4444-555555555555"));
        assert_eq!(r.hostname.as_deref(), Some("lg-42-00007"));
        assert_eq!(r.machine_guid.as_deref(), Some(ident().machine_guid.as_str()));
        assert_eq!(r.update_every, Some(2));
        assert_eq!(r.offer, 16376);
        assert_eq!(r.program_name.as_deref(), Some("strata-loadgen"));
    }

    #[test]
    fn legacy_replies() {
        let vn = |n: &str| [version::PROMPT_VN_PREFIX, n.as_bytes()].concat();
        let s = |version, host_labels, claim| Outcome::Accepted(Session { version, host_labels, claim });
        assert_eq!(classify(&vn("3"), 3), s(3, true, true));
        assert_eq!(classify(&vn("3"), 4), s(3, true, true));
        assert_eq!(classify(version::PROMPT_V2, 3), s(1, true, false));
        assert_eq!(classify(version::PROMPT_V1, 0), s(0, false, false));
        assert_eq!(classify(&vn("4"), 16376), s(4, true, true), "strata answers a bitmask offer with 4");
        assert_eq!(classify(b"", 3), Outcome::NoResponse);
        assert_eq!(classify(version::NOT_PERMITTED, 3), Outcome::Rejected(reason(version::NOT_PERMITTED)));
        assert_eq!(
            classify(version::ALREADY_STREAMING, 3),
            Outcome::Rejected("This GUID is already streaming to this server".into())
        );
        assert!(matches!(classify(&vn("4"), 3), Outcome::Rejected(_)), "more than offered");
        assert!(matches!(classify(&vn("5"), 5), Outcome::Rejected(r) if r.contains("compression")));
        let long = vec![b'x'; 500];
        assert!(matches!(classify(&long, 3), Outcome::Rejected(r) if r.len() == MAX_REASON));
    }

    #[test]
    fn bitmask_replies() {
        let vn = |n: u64| [version::PROMPT_VN_PREFIX, n.to_string().as_bytes()].concat();
        assert_eq!(
            classify(&vn(3008), 3008),
            Outcome::Accepted(Session { version: 3008, host_labels: true, claim: true })
        );
        assert!(matches!(classify(&vn(16320), 16376), Outcome::Rejected(r) if r.contains("compression")));
        assert!(matches!(classify(&vn(3008 | 8192), 3008), Outcome::Rejected(r) if r.contains("did not offer")));
        assert_eq!(
            classify(&vn(64), 3008),
            Outcome::Accepted(Session { version: 64, host_labels: false, claim: false })
        );
    }

    #[test]
    fn preamble_follows_the_session() {
        let full = Session { version: 3, host_labels: true, claim: true };
        let mut out = Vec::new();
        preamble(&mut out, &full, &ident(), 42);
        let mut kinds = Vec::new();
        for l in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            match parse_line(l, 3).unwrap().command {
                Some(Command::Label { .. }) => kinds.push("label"),
                Some(Command::Overwrite) => kinds.push("overwrite"),
                Some(Command::ClaimedId { machine_guid, claim_id: None }) => {
                    assert_eq!(machine_guid, ident().machine_guid.as_bytes());
                    kinds.push("claim")
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(kinds, ["label", "label", "label", "label", "label", "overwrite", "claim"]);
        out.clear();
        preamble(&mut out, &Session { version: 0, host_labels: false, claim: false }, &ident(), 42);
        assert!(out.is_empty());
    }
}
