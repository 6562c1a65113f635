//! Version negotiation, prompts and rejection texts (spec §2.4, §2.5, §3).
//!
//! Owns: the exact byte strings a parent writes after the STREAM request, the mapping
//! from a child's offer to the legacy version we speak (never above the offer, never
//! above [`CEILING`]), and the classification of a parent's reply for our own sender.
//! Invariants: prompts carry no trailing newline; [`negotiate`] never returns more than
//! the (legacy equivalent of the) offer nor more than [`CEILING`].

/// V1 prompt (legacy version 0), 30 bytes.
pub const PROMPT_V1: &[u8] = b"Hit me baby, push them over...";
/// V2 prompt (legacy version 1, host labels), 56 bytes.
pub const PROMPT_V2: &[u8] = b"Hit me baby, push them over and bring the host labels...";
/// VN prompt prefix (45 bytes), followed by the decimal version.
pub const PROMPT_VN_PREFIX: &[u8] = b"Hit me baby, push them over with the version=";

/// Rejection for every authorisation failure (S2–S10, W3).
pub const NOT_PERMITTED: &[u8] = b"You are not permitted to access this. Check the logs for more info.";
/// Rejection by the rate limiter (S11).
pub const TOO_BUSY: &[u8] = b"The server is too busy now to accept this request. Try later.";
/// Rejection of a second live connection for one host (S12).
pub const ALREADY_STREAMING: &[u8] = b"This GUID is already streaming to this server";
/// Rejection of a host whose machine GUID is the parent's own (S13).
pub const SAME_LOCALHOST: &[u8] = b"Don't hit me baby, you are trying to stream my localhost back";

/// Highest legacy version we speak (4: chart labels are handled).
pub const CEILING: u32 = 4;

/// Capability bits of a v1.37 bitmask offer (§3.2).
pub mod caps {
    pub const V1: u64 = 8;
    pub const V2: u64 = 16;
    pub const VN: u64 = 32;
    pub const VCAPS: u64 = 64;
    pub const HLABELS: u64 = 128;
    pub const CLAIM: u64 = 256;
    pub const CLABELS: u64 = 512;
    pub const COMPRESSION: u64 = 1024;
    pub const FUNCTIONS: u64 = 2048;
    pub const REPLICATION: u64 = 4096;
    pub const BINARY: u64 = 8192;
}

/// The legacy version a child's offer stands for (§3.3): numbers up to 5 are legacy
/// versions, larger numbers are v1.37 capability bitmasks.
pub fn legacy_equivalent(offer: u64) -> u64 {
    if offer <= 5 {
        return offer;
    }
    if offer & (caps::VN | caps::VCAPS) != 0 {
        if offer & caps::CLABELS != 0 {
            4
        } else {
            3
        }
    } else if offer & (caps::V2 | caps::HLABELS) != 0 {
        1
    } else {
        0
    }
}

/// The version we answer an offer with, capped at `ceiling`.
pub fn negotiate_with_ceiling(offer: u64, ceiling: u32) -> u32 {
    let v = legacy_equivalent(offer).min(u64::from(ceiling));
    // `v <= ceiling`, so it fits.
    u32::try_from(v).unwrap_or(ceiling)
}

/// The version we answer an offer with (§3.3 "our implementation", ceiling [`CEILING`]).
pub fn negotiate(offer: u64) -> u32 {
    negotiate_with_ceiling(offer, CEILING)
}

/// The prompt for a negotiated version (REC-3): 0 → V1, 1 → V2, ≥ 2 → VN + number.
pub fn prompt(version: u32) -> Vec<u8> {
    match version {
        0 => PROMPT_V1.to_vec(),
        1 => PROMPT_V2.to_vec(),
        n => {
            let mut out = Vec::with_capacity(PROMPT_VN_PREFIX.len() + 10);
            out.extend_from_slice(PROMPT_VN_PREFIX);
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out
        }
    }
}

/// The capability names of a negotiated legacy version, for the log.
pub fn capabilities(version: u32) -> &'static str {
    match version {
        0 => "V1",
        1 => "V2 HLABELS",
        2 => "VN HLABELS",
        3 => "VN HLABELS CLAIM",
        4 => "VN HLABELS CLAIM CLABELS",
        _ => "VN HLABELS CLAIM CLABELS COMPRESSION",
    }
}

/// What a parent's first reply means to our sender (§3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentReply {
    /// Session version to speak.
    Version(u32),
    /// `NOT_PERMITTED` (back-off 60 s).
    Denied,
    /// `ALREADY_STREAMING` (back-off 120 s).
    AlreadyStreaming,
    /// `SAME_LOCALHOST` (back-off 3600 s).
    SameLocalhost,
    /// Anything else, including a version we did not offer (back-off 60 s).
    NotUnderstood,
    /// Nothing received (timeout or closed; back-off 30 s).
    NoResponse,
}

/// Longest tail accepted after the VN prompt (1–29 bytes).
const VN_MAX_TAIL: usize = 29;

/// Classifies the bytes of one `recv` after our request (§3.7 rules 1–4). `offered` is
/// the legacy version we offered.
pub fn classify_reply(bytes: &[u8], offered: u32) -> ParentReply {
    if bytes.is_empty() {
        return ParentReply::NoResponse;
    }
    if let Some(tail) = bytes.strip_prefix(PROMPT_VN_PREFIX) {
        if tail.len() > VN_MAX_TAIL {
            return ParentReply::NotUnderstood;
        }
        let n: u64 = if tail.is_empty() {
            3
        } else {
            let digits = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return ParentReply::NotUnderstood;
            }
            tail[..digits].iter().fold(0u64, |acc, &d| acc.saturating_mul(10).saturating_add(u64::from(d - b'0')))
        };
        return if n >= 1 && n <= u64::from(offered) {
            ParentReply::Version(u32::try_from(n).unwrap_or(0))
        } else {
            ParentReply::NotUnderstood
        };
    }
    match bytes {
        b if b == PROMPT_V2 => ParentReply::Version(1),
        b if b == PROMPT_V1 => ParentReply::Version(0),
        b if b == NOT_PERMITTED => ParentReply::Denied,
        b if b == ALREADY_STREAMING => ParentReply::AlreadyStreaming,
        b if b == SAME_LOCALHOST => ParentReply::SameLocalhost,
        _ => ParentReply::NotUnderstood,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_as_specified() {
        assert_eq!(PROMPT_V1.len(), 30);
        assert_eq!(PROMPT_V2.len(), 56);
        assert_eq!(PROMPT_VN_PREFIX.len(), 45);
        assert_eq!(NOT_PERMITTED.len(), 67);
        assert_eq!(TOO_BUSY.len(), 61);
        assert_eq!(ALREADY_STREAMING.len(), 45);
        assert_eq!(SAME_LOCALHOST.len(), 61);
    }

    #[test]
    fn prompts() {
        assert_eq!(prompt(0), PROMPT_V1);
        assert_eq!(prompt(1), PROMPT_V2);
        assert_eq!(prompt(2), b"Hit me baby, push them over with the version=2");
        assert_eq!(prompt(3), b"Hit me baby, push them over with the version=3");
        assert_eq!(prompt(3).len(), 46);
        assert_eq!(prompt(4), b"Hit me baby, push them over with the version=4");
    }

    #[test]
    fn negotiation_never_exceeds_offer_or_ceiling() {
        for offer in 0..=5u64 {
            let v = negotiate(offer);
            assert!(u64::from(v) <= offer);
            assert!(v <= CEILING);
        }
        assert_eq!(negotiate(16376), 4);
        assert_eq!(negotiate(15352), 4);
        assert_eq!(negotiate(3008), 4);
        assert_eq!(negotiate(caps::VN | caps::HLABELS | caps::CLAIM), 3);
        assert_eq!(negotiate(caps::V2 | caps::HLABELS), 1);
        assert_eq!(negotiate(caps::HLABELS), 1);
        assert_eq!(negotiate(6), 0);
        assert_eq!(negotiate(caps::V1), 0);
        assert_eq!(negotiate(u64::MAX), 4);
        assert_eq!(negotiate_with_ceiling(16376, 3), 3);
        assert_eq!(negotiate_with_ceiling(5, 3), 3);
    }

    /// Expected replies of H1–H9 (§10.2): the offer is what the request parser resolves
    /// (`ver`, else 1 with `NETDATA_PROTOCOL_VERSION`, else 0).
    #[test]
    fn handshake_vectors_h1_to_h9() {
        let vn = |n: &str| [PROMPT_VN_PREFIX, n.as_bytes()].concat();
        // (vector, offer, reply at CEILING 3, reply at CEILING 4)
        let cases: [(&str, u64, Vec<u8>, Vec<u8>); 9] = [
            ("H1", 3, vn("3"), vn("3")),
            ("H2", 16376, vn("3"), vn("4")),
            ("H3", 15352, vn("3"), vn("4")),
            ("H4", 0, PROMPT_V1.to_vec(), PROMPT_V1.to_vec()),
            ("H5", 1, PROMPT_V2.to_vec(), PROMPT_V2.to_vec()),
            ("H6", 2, vn("2"), vn("2")),
            ("H7", 5, vn("3"), vn("4")),
            ("H8", 4, vn("3"), vn("4")),
            ("H9", 0, PROMPT_V1.to_vec(), PROMPT_V1.to_vec()),
        ];
        for (name, offer, at3, at4) in cases {
            assert_eq!(prompt(negotiate_with_ceiling(offer, 3)), at3, "{name} @3");
            assert_eq!(prompt(negotiate(offer)), at4, "{name} @4");
        }
    }

    #[test]
    fn capability_names() {
        assert_eq!(capabilities(0), "V1");
        assert_eq!(capabilities(1), "V2 HLABELS");
        assert_eq!(capabilities(3), "VN HLABELS CLAIM");
        assert_eq!(capabilities(4), "VN HLABELS CLAIM CLABELS");
    }

    /// §10.3 C1–C10 from our sender's point of view (offered 3, and 4 where relevant).
    #[test]
    fn reply_vectors_c1_to_c10() {
        use ParentReply::*;
        let c1 = b"Hit me baby, push them over with the version=3";
        assert_eq!(classify_reply(c1, 3), Version(3));
        assert_eq!(classify_reply(c1, 4), Version(3));
        let c2 = b"Hit me baby, push them over with the version=3\n";
        assert_eq!(classify_reply(c2, 3), Version(3));
        assert_eq!(classify_reply(PROMPT_V2, 3), Version(1));
        assert_eq!(classify_reply(PROMPT_V1, 3), Version(0));
        assert_eq!(classify_reply(b"Hit me baby, push them over...\n", 3), NotUnderstood);
        assert_eq!(classify_reply(b"", 3), NoResponse);
        assert_eq!(classify_reply(ALREADY_STREAMING, 3), AlreadyStreaming);
        assert_eq!(classify_reply(NOT_PERMITTED, 3), Denied);
        assert_eq!(
            classify_reply(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", 3),
            NotUnderstood
        );
        let c10 = b"Hit me baby, push them over with the version=16376";
        assert_eq!(classify_reply(c10, 4), NotUnderstood);
    }

    #[test]
    fn reply_rules_edges() {
        use ParentReply::*;
        let vn = |tail: &[u8]| [PROMPT_VN_PREFIX, tail].concat();
        assert_eq!(classify_reply(&vn(b"4"), 4), Version(4));
        assert_eq!(classify_reply(&vn(b"4"), 3), NotUnderstood);
        assert_eq!(classify_reply(&vn(b"0"), 4), NotUnderstood);
        assert_eq!(classify_reply(&vn(b"abc"), 4), NotUnderstood);
        assert_eq!(classify_reply(&vn(b""), 4), Version(3));
        assert_eq!(classify_reply(&vn(b"3\r\n"), 4), Version(3));
        assert_eq!(classify_reply(&vn(b"3\\n"), 4), Version(3));
        assert_eq!(classify_reply(&vn(b"2"), 4), Version(2));
        let mut long = b"3".to_vec();
        long.extend_from_slice(&[b' '; 28]);
        assert_eq!(long.len(), 29);
        assert_eq!(classify_reply(&vn(&long), 4), Version(3));
        long.push(b' ');
        assert_eq!(classify_reply(&vn(&long), 4), NotUnderstood);
        assert_eq!(classify_reply(&vn(b"99999999999999999999999"), 4), NotUnderstood);
        assert_eq!(classify_reply(TOO_BUSY, 4), NotUnderstood);
        assert_eq!(classify_reply(SAME_LOCALHOST, 4), SameLocalhost);
        assert_eq!(classify_reply(b"Hit me baby, push them over..", 4), NotUnderstood);
        assert_eq!(classify_reply(b"hit me baby, push them over...", 4), NotUnderstood);
        assert_eq!(classify_reply(b"You are not allowed to access this resource.", 4), NotUnderstood);
    }
}
