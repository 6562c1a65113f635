//! `strata report --target HOST:PORT`: reads `/api/v1/latency` from a running strata with
//! one blocking HTTP/1.1 GET (plain text, `Connection: close`) and hands back the report,
//! which the command prints as a table ([`Report::table`]).
//!
//! Written by hand rather than with an HTTP client crate: one GET on a plain socket, with
//! the response head parsed by `httparse`, is all the command needs. Invariants: every
//! socket operation has a timeout; at most [`MAX_RESPONSE`] bytes are read; the response
//! parser is pure.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use thiserror::Error;

use crate::latency::report::Report;

/// The endpoint read.
pub const PATH: &str = "/api/v1/latency";
/// Largest response accepted.
pub const MAX_RESPONSE: u64 = 16 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum ReportError {
    #[error("{target}: cannot resolve: {source}")]
    Resolve { target: String, source: io::Error },
    #[error("{target}: resolves to no address")]
    NoAddress { target: String },
    #[error("{addr}: {source}")]
    Io { addr: SocketAddr, source: io::Error },
    #[error("{addr}: malformed HTTP response: {why}")]
    Http { addr: SocketAddr, why: String },
    #[error("{addr}: GET {PATH} answered {status}: {body}")]
    Status { addr: SocketAddr, status: u16, body: String },
    #[error("{addr}: {PATH} is not a latency report: {source}")]
    Json { addr: SocketAddr, source: serde_json::Error },
}

/// Fetches the latency report of the strata at `target` (`HOST:PORT`).
pub fn fetch(target: &str, timeout: Duration) -> Result<Report, ReportError> {
    let addrs: Vec<SocketAddr> =
        target.to_socket_addrs().map_err(|source| ReportError::Resolve { target: target.into(), source })?.collect();
    let mut last = None;
    for addr in addrs {
        match get(addr, target, timeout) {
            Ok(raw) => return decode(addr, &raw),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| ReportError::NoAddress { target: target.into() }))
}

/// Sends the GET and reads the whole response (the server closes after it).
fn get(addr: SocketAddr, host: &str, timeout: Duration) -> Result<Vec<u8>, ReportError> {
    let io = |source| ReportError::Io { addr, source };
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(io)?;
    s.set_read_timeout(Some(timeout)).map_err(io)?;
    s.set_write_timeout(Some(timeout)).map_err(io)?;
    let head = format!("GET {PATH} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).map_err(io)?;
    let mut raw = Vec::new();
    s.take(MAX_RESPONSE).read_to_end(&mut raw).map_err(io)?;
    Ok(raw)
}

fn decode(addr: SocketAddr, raw: &[u8]) -> Result<Report, ReportError> {
    let (status, body) = parse_response(raw).map_err(|why| ReportError::Http { addr, why })?;
    if status != 200 {
        let body = String::from_utf8_lossy(body).chars().take(200).collect();
        return Err(ReportError::Status { addr, status, body });
    }
    serde_json::from_slice(body).map_err(|source| ReportError::Json { addr, source })
}

/// Splits a complete HTTP/1.x response into its status and body (by `Content-Length`,
/// else everything after the head). Chunked bodies are refused (strata never sends one).
pub fn parse_response(raw: &[u8]) -> Result<(u16, &[u8]), String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let head_len = match resp.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err(format!("incomplete head ({} bytes)", raw.len())),
        Err(e) => return Err(e.to_string()),
    };
    let status = resp.code.ok_or("no status code")?;
    let header = |name: &str| {
        resp.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| String::from_utf8_lossy(h.value))
    };
    if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        return Err("chunked transfer encoding is not supported".into());
    }
    let rest = &raw[head_len..];
    match header("content-length") {
        None => Ok((status, rest)),
        Some(v) => {
            let len: usize = v.trim().parse().map_err(|_| format!("bad Content-Length '{v}'"))?;
            match rest.get(..len) {
                Some(body) => Ok((status, body)),
                None => Err(format!("body cut short: {} of {len} bytes", rest.len())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn body_by_content_length_or_to_the_end() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\n{}\r\nEXTRA";
        assert_eq!(parse_response(r), Ok((200, &b"{}\r\n"[..])));
        let r = b"HTTP/1.0 404 Not Found\r\n\r\nno such thing";
        assert_eq!(parse_response(r), Ok((404, &b"no such thing"[..])));
    }

    #[test]
    fn malformed_responses_are_errors() {
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Le").is_err(), "incomplete head");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n").is_err());
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
    }

    #[test]
    fn a_non_200_answer_names_the_status() {
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let e = decode(addr, b"HTTP/1.1 301 Moved\r\nContent-Length: 2\r\n\r\nno").unwrap_err();
        assert!(e.to_string().contains("answered 301: no"), "{e}");
        let e = decode(addr, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").unwrap_err();
        assert!(matches!(e, ReportError::Json { .. }), "{e}");
    }

    #[test]
    fn nothing_listening_is_an_io_error() {
        // Bind then drop: the port is (almost certainly) closed right after.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = fetch(&format!("127.0.0.1:{port}"), Duration::from_secs(2)).unwrap_err();
        assert!(matches!(e, ReportError::Io { .. }), "{e}");
        assert!(matches!(fetch("no-port-here", Duration::from_secs(1)), Err(ReportError::Resolve { .. })));
    }

    proptest! {
        #[test]
        fn never_panics_on_any_bytes(raw in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_response(&raw);
        }

        #[test]
        fn the_body_is_what_content_length_says(body in proptest::collection::vec(any::<u8>(), 0..256), extra in proptest::collection::vec(any::<u8>(), 0..16)) {
            let mut raw = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
            raw.extend_from_slice(&body);
            raw.extend_from_slice(&extra);
            prop_assert_eq!(parse_response(&raw), Ok((200, &body[..])));
        }
    }
}
