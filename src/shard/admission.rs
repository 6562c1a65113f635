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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_from_str;
    use crate::stream::request::parse_stream_request;

    /// The parent fixture of streaming-protocol.md §10.1.
    fn fixture() -> Config {
        let stream = "[11111111-2222-3333-4444-555555555555]\n    enabled = yes\n    allow from = 10.* 127.0.0.1\n\
                      [abcdef01-2222-3333-4444-555555555555]\n    enabled = yes\n\
                      [22222222-2222-3333-4444-555555555555]\n    enabled = no\n\
                      [aaaaaaaa-0000-0000-0000-000000000003]\n    enabled = no\n";
        load_from_str(("netdata.conf", ""), ("stream.conf", stream), &[]).expect("fixture config")
    }

    fn request(params: &str) -> StreamRequest {
        let head = format!("STREAM {params} HTTP/1.1\r\nUser-Agent: netdata/v1.29.3\r\n\r\n");
        parse_stream_request(head.as_bytes()).expect("request parses")
    }

    const H1: &str = "key=11111111-2222-3333-4444-555555555555&hostname=child1&machine_guid=aaaaaaaa-0000-0000-0000-000000000001&ver=3";

    fn status(params: &str, ip: &str) -> Result<Admitted, &'static str> {
        admit(&fixture(), &request(params), ip).map_err(|r| {
            assert_eq!(r.reply, version::NOT_PERMITTED);
            r.status
        })
    }

    #[test]
    fn h1_is_admitted() {
        let a = status(H1, "127.0.0.1").expect("admitted");
        assert_eq!(a.machine_guid, "aaaaaaaa-0000-0000-0000-000000000001");
        assert_eq!(a.hostname, "child1");
    }

    #[test]
    fn rejections_in_netdata_order() {
        let cases = [
            ("hostname=child1&machine_guid=aaaaaaaa-0000-0000-0000-000000000001", "ACCESS DENIED - NO KEY"),
            (
                "key=11111111-2222-3333-4444-555555555555&hostname=&machine_guid=aaaaaaaa-0000-0000-0000-000000000001",
                "ACCESS DENIED - NO HOSTNAME",
            ),
            ("key=11111111-2222-3333-4444-555555555555&hostname=child1", "ACCESS DENIED - NO MACHINE GUID"),
            ("key=not-a-guid&hostname=child1&machine_guid=aaaaaaaa-0000-0000-0000-000000000001", "ACCESS DENIED - INVALID KEY"),
            (
                "key=11111111-2222-3333-4444-555555555555&hostname=child1&machine_guid=aaaaaaaa-0000-0000-0000-00000000001",
                "ACCESS DENIED - INVALID MACHINE GUID",
            ),
            (
                "key=22222222-2222-3333-4444-555555555555&hostname=child1&machine_guid=aaaaaaaa-0000-0000-0000-000000000001",
                "ACCESS DENIED - KEY NOT ENABLED",
            ),
            (
                "key=33333333-2222-3333-4444-555555555555&hostname=child1&machine_guid=aaaaaaaa-0000-0000-0000-000000000001",
                "ACCESS DENIED - KEY NOT ENABLED",
            ),
            (
                "key=ABCDEF01-2222-3333-4444-555555555555&hostname=child1&machine_guid=aaaaaaaa-0000-0000-0000-000000000001",
                "ACCESS DENIED - KEY NOT ENABLED",
            ),
            (
                "key=11111111-2222-3333-4444-555555555555&hostname=child1&machine_guid=aaaaaaaa-0000-0000-0000-000000000003",
                "ACCESS DENIED - MACHINE GUID NOT ENABLED",
            ),
        ];
        for (params, want) in cases {
            assert_eq!(status(params, "127.0.0.1").err(), Some(want), "{params}");
        }
        // H18: the key's allow from does not match.
        assert_eq!(status(H1, "192.168.1.5").err(), Some("ACCESS DENIED - KEY NOT ALLOWED FROM THIS IP"));
        assert!(status(H1, "10.1.2.3").is_ok());
    }

    #[test]
    fn web_allow_streaming_from_is_checked_first() {
        let cfg = load_from_str(
            ("netdata.conf", "[web]\n    allow streaming from = 10.*\n"),
            ("stream.conf", "[11111111-2222-3333-4444-555555555555]\n    enabled = yes\n"),
            &[],
        )
        .expect("config");
        let r = admit(&cfg, &request("hostname=x"), "127.0.0.1").expect_err("denied");
        assert!(r.status.contains("allow streaming from"), "{}", r.status);
        assert!(admit(&cfg, &request(H1), "10.0.0.1").is_ok());
    }

    #[test]
    fn messages_say_forbidding_access() {
        let r = admit(&fixture(), &request(&H1.replace("1111", "3333")), "127.0.0.1").expect_err("denied");
        assert!(r.message.ends_with("Forbidding access."), "{}", r.message);
    }
}
