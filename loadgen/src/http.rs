//! A small blocking HTTP/1.1 GET client with keep-alive, for reading the parent's API from
//! a plain thread (the freshness probe and tests). Responses are parsed with `httparse`.
//!
//! Invariants: every socket operation has a timeout; a body is read by `Content-Length`
//! (or to the end of the connection when there is none); a failed keep-alive connection
//! is reopened once per request.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum HttpError {
    #[error("{addr}: {source}")]
    Io { addr: SocketAddr, source: io::Error },
    #[error("{addr}: malformed response: {why}")]
    Malformed { addr: SocketAddr, why: String },
}

/// Largest response head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Largest body accepted.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// A keep-alive connection to one server.
#[derive(Debug)]
pub struct Client {
    addr: SocketAddr,
    timeout: Duration,
    conn: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Client {
    pub fn new(addr: SocketAddr, timeout: Duration) -> Client {
        Client { addr, timeout, conn: None, buf: Vec::new() }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// GET `path`; returns the status and the body.
    pub fn get(&mut self, path: &str) -> Result<(u16, Vec<u8>), HttpError> {
        let reused = self.conn.is_some();
        match self.try_get(path) {
            Ok(r) => Ok(r),
            Err(_) if reused => {
                self.conn = None;
                self.try_get(path)
            }
            Err(e) => Err(e),
        }
    }

    fn io(&self, source: io::Error) -> HttpError {
        HttpError::Io { addr: self.addr, source }
    }

    fn try_get(&mut self, path: &str) -> Result<(u16, Vec<u8>), HttpError> {
        if self.conn.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, self.timeout).map_err(|e| self.io(e))?;
            s.set_read_timeout(Some(self.timeout)).map_err(|e| self.io(e))?;
            s.set_write_timeout(Some(self.timeout)).map_err(|e| self.io(e))?;
            let _ = s.set_nodelay(true);
            self.conn = Some(s);
            self.buf.clear();
        }
        let result = self.exchange(path);
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    fn exchange(&mut self, path: &str) -> Result<(u16, Vec<u8>), HttpError> {
        let addr = self.addr;
        let malformed = |why: &str| HttpError::Malformed { addr, why: why.to_string() };
        let Some(conn) = self.conn.as_mut() else { return Err(malformed("no connection")) };
        let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: keep-alive\r\n\r\n");
        conn.write_all(req.as_bytes()).map_err(|source| HttpError::Io { addr, source })?;
        let mut chunk = [0u8; 8192];
        // Read until the head is complete.
        let (status, head_len, length, close) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&self.buf) {
                Ok(httparse::Status::Complete(n)) => {
                    let header = |name: &str| {
                        resp.headers
                            .iter()
                            .find(|h| h.name.eq_ignore_ascii_case(name))
                            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
                    };
                    let length = match header("content-length") {
                        Some(v) => Some(v.parse::<usize>().map_err(|_| malformed("bad Content-Length"))?),
                        None => None,
                    };
                    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
                        return Err(malformed("chunked bodies are not supported"));
                    }
                    let close = header("connection").is_some_and(|v| v == "close");
                    break (resp.code.unwrap_or(0), n, length, close);
                }
                Ok(httparse::Status::Partial) => {
                    if self.buf.len() > MAX_HEAD {
                        return Err(malformed("response head too long"));
                    }
                }
                Err(e) => return Err(malformed(&e.to_string())),
            }
            let n = conn.read(&mut chunk).map_err(|source| HttpError::Io { addr, source })?;
            if n == 0 {
                return Err(HttpError::Io { addr, source: io::ErrorKind::UnexpectedEof.into() });
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        self.buf.drain(..head_len);
        let body = match length {
            Some(len) if len > MAX_BODY => return Err(malformed("body too large")),
            Some(len) => {
                while self.buf.len() < len {
                    let n = conn.read(&mut chunk).map_err(|source| HttpError::Io { addr, source })?;
                    if n == 0 {
                        return Err(HttpError::Io { addr, source: io::ErrorKind::UnexpectedEof.into() });
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                self.buf.drain(..len).collect()
            }
            None => {
                conn.read_to_end(&mut self.buf).map_err(|source| HttpError::Io { addr, source })?;
                self.conn = None;
                std::mem::take(&mut self.buf)
            }
        };
        if close {
            self.conn = None;
            self.buf.clear();
        }
        Ok((status, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A server answering each request on one connection with the given responses.
    fn serve(responses: Vec<&'static str>) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            for r in responses {
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut buf).unwrap();
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                // Split the response to exercise partial reads.
                let (a, b) = r.split_at(r.len() / 2);
                s.write_all(a.as_bytes()).unwrap();
                std::thread::sleep(Duration::from_millis(5));
                s.write_all(b.as_bytes()).unwrap();
            }
        });
        addr
    }

    #[test]
    fn keep_alive_requests_on_one_connection() {
        let addr = serve(vec![
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end",
        ]);
        let mut c = Client::new(addr, Duration::from_secs(5));
        assert_eq!(c.get("/a").unwrap(), (200, b"hello".to_vec()));
        assert_eq!(c.get("/b").unwrap(), (404, Vec::new()));
        assert_eq!(c.get("/c").unwrap(), (200, b"to the end".to_vec()));
    }

    #[test]
    fn garbage_is_an_error() {
        let addr = serve(vec!["NOT HTTP AT ALL\r\n\r\n"]);
        let mut c = Client::new(addr, Duration::from_secs(5));
        assert!(matches!(c.get("/"), Err(HttpError::Malformed { .. })));
    }
}
