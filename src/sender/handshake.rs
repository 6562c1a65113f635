//! The sender's side of the STREAM handshake (streaming-protocol.md §2.2, §3.7): the
//! request for a host, and sending it / reading the parent's one reply over any
//! byte stream (plain TCP today, TLS later: both are `AsyncRead + AsyncWrite`).
//!
//! Owns: [`OFFER`], [`request_for`] (pure) and [`handshake`]. Invariants: the request
//! carries the host's own identity (GUID, hostname, OS, timezone, tags, system info, the
//! program that produced the data) with `hops` one more than the host's, and never
//! offers more than we speak; a reply is classified by `stream::version::classify_reply`,
//! so nothing but a prompt for a version we offered starts a session; every wait is
//! bounded by `timeout seconds`.

use std::future::Future;
use std::time::Duration;

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::hosts::Host;
use crate::stream::encode::{stream_request, RequestParams};
use crate::stream::version::{
    classify_reply, ParentReply, ALREADY_STREAMING, NOT_PERMITTED, PROMPT_V1, PROMPT_V2, PROMPT_VN_PREFIX,
    SAME_LOCALHOST, TOO_BUSY,
};

use super::backoff::Failure;

/// The version we offer: 4 (we send `CLABEL` after definitions of charts with labels).
pub const OFFER: u32 = 4;

/// Largest reply read (as Netdata's `HTTP_HEADER_SIZE` buffer).
const MAX_REPLY: usize = 8192;

/// `f`, or `None` when it takes longer than `d`.
pub async fn within<T>(d: Duration, f: impl Future<Output = T>) -> Option<T> {
    futures_lite::future::or(async { Some(f.await) }, async {
        glommio::timer::sleep(d).await;
        None
    })
    .await
}

/// The STREAM request for `host`, sent with `api_key`, announcing this node's own
/// `update_every` (spec §7).
pub fn request_for(host: &Host, api_key: &str, update_every: u32) -> Vec<u8> {
    let i = &host.info;
    let mut out = Vec::with_capacity(2048);
    stream_request(
        &mut out,
        &RequestParams {
            key: api_key,
            hostname: &i.hostname,
            registry_hostname: &i.registry_hostname,
            machine_guid: &i.machine_guid,
            update_every: u64::from(update_every),
            os: &i.os,
            timezone: &i.timezone,
            abbrev_timezone: Some(&i.abbrev_timezone),
            utc_offset: Some(i.utc_offset),
            hops: Some(i.hops.max(0).saturating_add(1)),
            ml_capable: None,
            ml_enabled: None,
            mc_version: None,
            tags: i.tags.as_deref().unwrap_or(""),
            ver: u64::from(OFFER),
            system_info: &i.system_info,
            program_name: &i.program_name,
            program_version: &i.program_version,
        },
    );
    out
}

/// Bytes that could still grow into a reply we know (read more before classifying).
fn incomplete(reply: &[u8]) -> bool {
    reply.len() < PROMPT_VN_PREFIX.len()
        && [PROMPT_VN_PREFIX, PROMPT_V1, PROMPT_V2, NOT_PERMITTED, ALREADY_STREAMING, SAME_LOCALHOST, TOO_BUSY]
            .iter()
            .any(|known| known.len() > reply.len() && known.starts_with(reply))
}

/// Sends `request` and reads the parent's reply; the negotiated version on success.
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    request: &[u8],
    timeout: Duration,
) -> Result<u32, Failure> {
    let sent = within(timeout, async {
        stream.write_all(request).await?;
        stream.flush().await
    })
    .await;
    if !matches!(sent, Some(Ok(()))) {
        return Err(Failure::SendTimeout);
    }
    let deadline = std::time::Instant::now() + timeout;
    let mut reply = Vec::with_capacity(128);
    let mut buf = [0u8; MAX_REPLY];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match within(left, stream.read(&mut buf[..MAX_REPLY - reply.len()])).await {
            Some(Ok(n)) if n > 0 => reply.extend_from_slice(&buf[..n]),
            _ => break,
        }
        if !incomplete(&reply) || reply.len() >= MAX_REPLY {
            break;
        }
    }
    match classify_reply(&reply, OFFER) {
        ParentReply::Version(v) => Ok(v),
        other => Err(Failure::Handshake(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::{HostInfo, MemoryMode};
    use crate::stream::request::parse_stream_request;

    #[test]
    fn request_carries_the_hosts_identity_one_hop_further() {
        let info = HostInfo {
            machine_guid: "aaaaaaaa-0000-0000-0000-000000000001".into(),
            hostname: "child 1".into(),
            registry_hostname: "reg".into(),
            os: "linux".into(),
            timezone: "Europe/Athens".into(),
            abbrev_timezone: "EET".into(),
            utc_offset: 7200,
            tags: Some("a b".into()),
            program_name: "netdata".into(),
            program_version: "v1.37.1".into(),
            hops: 1,
            update_every: 2,
            system_info: vec![("NETDATA_HOST_OS_NAME".into(), "Debian GNU/Linux".into())],
        };
        let host = Host::new(info.clone(), MemoryMode::None, 5);
        let req = request_for(&host, "11111111-2222-3333-4444-555555555555", 1);
        let r = parse_stream_request(&req).unwrap();
        assert_eq!(r.key.as_deref(), Some("11111111-2222-3333-4444-555555555555"));
        assert_eq!(r.hostname.as_deref(), Some("child 1"));
        assert_eq!(r.registry_hostname.as_deref(), Some("reg"));
        assert_eq!(r.machine_guid.as_deref(), Some(info.machine_guid.as_str()));
        assert_eq!(r.update_every, Some(1), "the sender's own update every");
        assert_eq!(
            (r.timezone.as_deref(), r.abbrev_timezone.as_deref(), r.utc_offset),
            (Some("Europe/Athens"), Some("EET"), Some(7200))
        );
        assert_eq!(r.tags.as_deref(), Some("a b"));
        assert_eq!(r.hops, Some(2));
        assert_eq!(r.offer, 4);
        assert_eq!(r.system_info, info.system_info);
        assert_eq!((r.program_name.as_deref(), r.program_version.as_deref()), (Some("netdata"), Some("v1.37.1")));
        assert!(r.unused.is_empty());
        let mut localhost = host;
        localhost.info.hops = 0;
        assert_eq!(parse_stream_request(&request_for(&localhost, "k", 1)).unwrap().hops, Some(1));
    }

    #[test]
    fn partial_replies_are_read_further() {
        assert!(incomplete(b""));
        assert!(incomplete(b"Hit me baby"));
        assert!(incomplete(b"You are not"));
        assert!(!incomplete(PROMPT_V1), "V1 is complete");
        assert!(!incomplete(b"Hit me baby, push them over with the version=4"));
        assert!(!incomplete(b"HTTP/1.1 400"));
    }
}
