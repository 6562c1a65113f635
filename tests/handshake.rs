//! STREAM handshake over real sockets: prompts, and every rejection with its reason text
//! on the wire and its access-log / error-log lines.

mod common;

use std::time::Duration;

use common::*;

const NOT_PERMITTED: &[u8] = b"You are not permitted to access this. Check the logs for more info.";

fn parent_with(stream_conf: &str, netdata_conf: &str) -> Parent {
    Parent::start(config_dir(netdata_conf, stream_conf), 2)
}

fn guid(n: u32) -> String {
    format!("aaaaaaaa-0000-0000-0000-{n:012}")
}

#[test]
fn prompts_follow_the_negotiated_version() {
    let p = parent_with(&default_stream_conf(), "");
    // A 1.37.1 child offers a capability bitmask with CLABELS: we answer version 4.
    let (_s1, r) = handshake(p.addr, &stream_request(KEY, "c-bitmask", &guid(1), "16376"));
    assert_eq!(r, b"Hit me baby, push them over with the version=4");
    let (_s2, r) = handshake(p.addr, &stream_request(KEY, "c-v3", &guid(2), "3"));
    assert_eq!(r, b"Hit me baby, push them over with the version=3");
    let (_s3, r) = handshake(p.addr, &stream_request(KEY, "c-v5", &guid(3), "5"));
    assert_eq!(r, b"Hit me baby, push them over with the version=4", "never 5: we do not compress");
    let (_s4, r) = handshake(p.addr, &stream_request(KEY, "c-v0", &guid(4), "0"));
    assert_eq!(r, b"Hit me baby, push them over...");
    p.wait_log(&["'CONNECTED'", "host 'c-bitmask'", &guid(1)], Duration::from_secs(5));
    p.wait_log(&["c-bitmask", "negotiated capabilities: VN HLABELS CLAIM CLABELS"], Duration::from_secs(5));
}

#[test]
fn key_not_enabled_is_refused_with_reason_and_logs() {
    let p = parent_with(&default_stream_conf(), "");
    let other = "33333333-2222-3333-4444-555555555555";
    let (mut s, r) = handshake(p.addr, &stream_request(other, "c-nokey", &guid(10), "3"));
    assert_eq!(r, NOT_PERMITTED);
    assert!(is_closed(&mut s));
    p.wait_log(&["STREAM:", "'ACCESS DENIED - KEY NOT ENABLED'", "host 'c-nokey'", other], Duration::from_secs(5));
    p.wait_log(
        &["STREAM c-nokey [receive from [127.0.0.1]:", "is not allowed. Forbidding access."],
        Duration::from_secs(5),
    );
}

#[test]
fn non_guid_key_is_refused() {
    let p = parent_with(&default_stream_conf(), "");
    let (mut s, r) = handshake(p.addr, &stream_request("not-a-guid", "c-badkey", &guid(11), "3"));
    assert_eq!(r, NOT_PERMITTED);
    assert!(is_closed(&mut s));
    p.wait_log(&["'ACCESS DENIED - INVALID KEY'", "host 'c-badkey'"], Duration::from_secs(5));
    p.wait_log(&["is not a valid GUID", "Forbidding access."], Duration::from_secs(5));
}

#[test]
fn disallowed_ip_is_refused() {
    let conf = format!("[{KEY}]\n    enabled = yes\n    allow from = 10.* 192.168.*\n");
    let p = parent_with(&conf, "");
    let (mut s, r) = handshake(p.addr, &stream_request(KEY, "c-ip", &guid(12), "3"));
    assert_eq!(r, NOT_PERMITTED);
    assert!(is_closed(&mut s));
    p.wait_log(&["'ACCESS DENIED - KEY NOT ALLOWED FROM THIS IP'", "host 'c-ip'"], Duration::from_secs(5));
    p.wait_log(&["is not permitted from this IP", "Forbidding access."], Duration::from_secs(5));
}

#[test]
fn disabled_machine_guid_is_refused() {
    let conf = format!("{}\n[{}]\n    enabled = no\n", default_stream_conf(), guid(13));
    let p = parent_with(&conf, "");
    let (_s, r) = handshake(p.addr, &stream_request(KEY, "c-guid", &guid(13), "3"));
    assert_eq!(r, NOT_PERMITTED);
    p.wait_log(&["'ACCESS DENIED - MACHINE GUID NOT ENABLED'"], Duration::from_secs(5));
}

#[test]
fn rate_limit_refuses_the_second_request() {
    let p = parent_with(&default_stream_conf(), "[web]\n    accept a streaming request every seconds = 60\n");
    let (_s1, r1) = handshake(p.addr, &stream_request(KEY, "c-rate1", &guid(20), "3"));
    assert_eq!(r1, b"Hit me baby, push them over with the version=3", "the first request is accepted");
    let (mut s2, r2) = handshake(p.addr, &stream_request(KEY, "c-rate2", &guid(21), "3"));
    assert_eq!(r2, b"The server is too busy now to accept this request. Try later.");
    assert!(is_closed(&mut s2));
    p.wait_log(&["c-rate2", "too busy to accept a new streaming request", "secs"], Duration::from_secs(5));
}

#[test]
fn duplicate_guid_is_refused_while_the_first_is_alive() {
    let p = parent_with(&default_stream_conf(), "");
    let (_first, r1) = handshake(p.addr, &stream_request(KEY, "c-dup", &guid(30), "3"));
    assert_eq!(r1, b"Hit me baby, push them over with the version=3");
    let (mut second, r2) = handshake(p.addr, &stream_request(KEY, "c-dup", &guid(30), "3"));
    assert_eq!(r2, b"This GUID is already streaming to this server");
    assert!(is_closed(&mut second));
    p.wait_log(&["'REJECTED - ALREADY CONNECTED'", "host 'c-dup'"], Duration::from_secs(5));
    p.wait_log(&["c-dup", "rejecting new connection"], Duration::from_secs(5));
}

#[test]
fn own_machine_guid_is_refused() {
    let p = parent_with(&default_stream_conf(), "");
    let info = p.get_json("/api/v1/info");
    let own = info["uid"].as_str().expect("uid").to_string();
    let (mut s, r) = handshake(p.addr, &stream_request(KEY, "c-loop", &own, "3"));
    assert_eq!(r, b"Don't hit me baby, you are trying to stream my localhost back");
    assert!(is_closed(&mut s));
    p.wait_log(
        &["'DENIED - ATTEMPT TO RECEIVE METRICS FROM MACHINE_GUID IDENTICAL TO PARENT'"],
        Duration::from_secs(5),
    );
}

#[test]
fn malformed_url_gets_http_400() {
    let p = parent_with(&default_stream_conf(), "");
    let req = format!(
        "STREAM key={KEY}&hostname=a%0Ab&machine_guid={} HTTP/1.1\r\nUser-Agent: netdata/v1.37.1\r\n\r\n",
        guid(40)
    );
    let (_s, r) = handshake(p.addr, req.as_bytes());
    let text = String::from_utf8_lossy(&r);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
}
