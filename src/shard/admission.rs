//! Streaming admission: the checks a STREAM request passes before a receiver starts,
//! in Netdata's order (streaming-protocol.md §2.3): W3 `[web] allow streaming from`,
//! S2–S10 (key, hostname, machine GUID present and well-formed, key section enabled and
//! its `allow from`, GUID section enabled and its `allow from`). S11 (rate limit), S12
//! (already connected) and S13 (own GUID) need shard state and live in the receiver.
//!
//! Pure: config + request + client IP in, a decision out.

use crate::config::Config;
use crate::pattern::SimplePattern;
use crate::stream::request::{is_guid, normalize_guid, StreamRequest};
use crate::stream::version;

/// A refused request: what goes on the wire, in the access log and in the error log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Access-log status token, e.g. `ACCESS DENIED - KEY NOT ENABLED`.
    pub status: &'static str,
    /// Error-log message (ends with Netdata's "Forbidding access." where it has one).
    pub message: String,
    /// Raw reason text written to the child before closing.
    pub reply: &'static [u8],
}

/// An admitted request's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub api_key: String,
    /// Lower-case machine GUID.
    pub machine_guid: String,
    pub hostname: String,
}

fn deny(status: &'static str, message: String) -> Rejection {
    Rejection { status, message, reply: version::NOT_PERMITTED }
}

/// `allow from` semantics: an empty or absent list allows everything.
fn allowed(list: Option<&str>, ip: &str) -> bool {
    match list.and_then(SimplePattern::new) {
        None => true,
        Some(p) => p.matches(ip.as_bytes()),
    }
}

/// Runs W3 and S2–S10 in order.
pub fn admit(config: &Config, req: &StreamRequest, client_ip: &str) -> Result<Admitted, Rejection> {
    if !allowed(Some(config.web.allow_streaming_from.as_str()), client_ip) {
        return Err(deny(
            "ACCESS DENIED - NOT ALLOWED BY [web] allow streaming from",
            format!("streaming from IP '{client_ip}' is not allowed by [web] allow streaming from. Forbidding access."),
        ));
    }
    let key = match req.key.as_deref() {
        Some(k) if !k.is_empty() => k,
        _ => return Err(deny("ACCESS DENIED - NO KEY", "request without an API key. Forbidding access.".into())),
    };
    let hostname = match req.hostname.as_deref() {
        Some(h) if !h.is_empty() => h,
        _ => return Err(deny("ACCESS DENIED - NO HOSTNAME", "request without a hostname. Forbidding access.".into())),
    };
    let guid = match req.machine_guid.as_deref() {
        Some(g) if !g.is_empty() => g,
        _ => {
            return Err(deny(
                "ACCESS DENIED - NO MACHINE GUID",
                "request without a machine GUID. Forbidding access.".into(),
            ))
        }
    };
    if !is_guid(key.as_bytes()) {
        return Err(deny(
            "ACCESS DENIED - INVALID KEY",
            format!("API key '{key}' is not a valid GUID (hint: generate one with uuidgen). Forbidding access."),
        ));
    }
    let Some(machine_guid) = normalize_guid(guid).filter(|_| is_guid(guid.as_bytes())) else {
        return Err(deny(
            "ACCESS DENIED - INVALID MACHINE GUID",
            format!("machine GUID '{guid}' is not a GUID. Forbidding access."),
        ));
    };
    let key_section = config.stream.section(key);
    if let Some(t) = key_section.and_then(|s| s.type_.as_deref()) {
        if t != "api" {
            return Err(deny(
                "ACCESS DENIED - API KEY GIVEN IS NOT API KEY",
                format!("API key '{key}' is a {t} GUID. Forbidding access."),
            ));
        }
    }
    if !key_section.and_then(|s| s.enabled).unwrap_or(false) {
        return Err(deny(
            "ACCESS DENIED - KEY NOT ENABLED",
            format!("API key '{key}' is not allowed. Forbidding access."),
        ));
    }
    if !allowed(key_section.and_then(|s| s.allow_from.as_deref()), client_ip) {
        return Err(deny(
            "ACCESS DENIED - KEY NOT ALLOWED FROM THIS IP",
            format!("API key '{key}' is not permitted from this IP '{client_ip}'. Forbidding access."),
        ));
    }
    let guid_section = config.stream.section(guid);
    if let Some(t) = guid_section.and_then(|s| s.type_.as_deref()) {
        if t != "machine" && guid != key {
            return Err(deny(
                "ACCESS DENIED - MACHINE GUID GIVEN IS NOT A MACHINE GUID",
                format!("machine GUID '{guid}' is a {t} GUID. Forbidding access."),
            ));
        }
    }
    if !guid_section.and_then(|s| s.enabled).unwrap_or(true) {
        return Err(deny(
            "ACCESS DENIED - MACHINE GUID NOT ENABLED",
            format!("machine GUID '{guid}' is not allowed. Forbidding access."),
        ));
    }
    if !allowed(guid_section.and_then(|s| s.allow_from.as_deref()), client_ip) {
        return Err(deny(
            "ACCESS DENIED - MACHINE GUID NOT ALLOWED FROM THIS IP",
            format!("machine GUID '{guid}' is not permitted from this IP '{client_ip}'. Forbidding access."),
        ));
    }
    Ok(Admitted { api_key: key.to_string(), machine_guid, hostname: hostname.to_string() })
}
