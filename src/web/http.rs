//! HTTP/1.1 framing for the API: parsing one request head with `httparse`, and writing a
//! [`Response`] with Netdata's header set (B.0).

use std::fmt::Write;

use super::{ApiRequest, Response};

/// Most headers a request may carry before it is refused.
const MAX_HEADERS: usize = 64;

/// The 400 text for a request Netdata cannot parse.
pub const BAD_REQUEST: &str = "I don't understand you...";
/// The 400 text for a request line whose URL is not valid.
pub const BAD_URL: &str = "URL not valid. I don't understand you...";

/// Parses one HTTP/1.1 request head from `buf`. Incomplete ⇒ `Ok(None)`; otherwise the
/// request and the length of its head (the body, if any, is not read). Methods other
/// than GET, OPTIONS and STREAM (the streaming handshake) and URLs other than
/// origin-form (`/…`, except for STREAM) are answered with 400.
pub fn parse_request(buf: &[u8], client_ip: &str) -> Result<Option<(ApiRequest, usize)>, Response> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Partial) => return Ok(None),
        Ok(httparse::Status::Complete(n)) => n,
        Err(_) => return Err(Response::text(400, BAD_REQUEST)),
    };
    let method = req.method.unwrap_or_default();
    if !matches!(method, "GET" | "OPTIONS" | "STREAM") {
        return Err(Response::text(400, BAD_REQUEST));
    }
    let url = req.path.unwrap_or_default();
    if url.is_empty() || (method != "STREAM" && !url.starts_with('/')) {
        return Err(Response::text(400, BAD_URL));
    }
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(|v| v.trim().to_string())
    };
    // HTTP/1.1 keeps the connection unless the client asks to close; 1.0 closes unless
    // it asks to keep it.
    let connection = header("Connection").map(|v| v.to_ascii_lowercase());
    let keep_alive = match req.version {
        Some(0) => connection.as_deref() == Some("keep-alive"),
        _ => connection.as_deref() != Some("close"),
    };
    let api = ApiRequest {
        method: method.to_string(),
        url: url.to_string(),
        host_header: header("Host"),
        forwarded_host: header("X-Forwarded-Host"),
        origin: header("Origin"),
        client_ip: client_ip.to_string(),
        keep_alive,
    };
    Ok(Some((api, len)))
}

/// Reason phrase of a status code.
pub fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        412 => "Preconditions Failed",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// RFC 7231 date (`Wed, 03 Feb 2021 10:20:30 GMT`) of a unix time.
pub fn http_date(unix: i64) -> String {
    match chrono::DateTime::from_timestamp(unix, 0) {
        Some(t) => t.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        None => "Thu, 01 Jan 1970 00:00:00 GMT".to_string(),
    }
}

impl Response {
    /// Serialises the response: status line, Netdata's header set, extra headers,
    /// `Content-Length`, blank line, body.
    pub fn to_http(&self, keep_alive: bool, origin: Option<&str>, now_unix: i64) -> Vec<u8> {
        let mut h = String::with_capacity(512);
        let _ = write!(h, "HTTP/1.1 {} {}\r\n", self.status, status_text(self.status));
        let _ = write!(h, "Connection: {}\r\n", if keep_alive { "keep-alive" } else { "close" });
        let _ = write!(h, "Server: strata/{}\r\n", env!("CARGO_PKG_VERSION"));
        let _ = write!(h, "Access-Control-Allow-Origin: {}\r\n", origin.filter(|o| !o.is_empty()).unwrap_or("*"));
        h.push_str("Access-Control-Allow-Credentials: true\r\n");
        let _ = write!(h, "Content-Type: {}\r\n", self.content_type);
        let _ = write!(h, "Date: {}\r\n", http_date(now_unix));
        if self.cacheable {
            h.push_str("Cache-Control: public\r\n");
            let _ = write!(h, "Expires: {}\r\n", http_date(now_unix + 86400));
        } else {
            h.push_str("Cache-Control: no-cache, no-store, must-revalidate\r\nPragma: no-cache\r\n");
            let _ = write!(h, "Expires: {}\r\n", http_date(now_unix + 1));
        }
        for (k, v) in &self.headers {
            // Header injection guard: values come partly from requests.
            let clean: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            let _ = write!(h, "{k}: {clean}\r\n");
        }
        let _ = write!(h, "Content-Length: {}\r\n\r\n", self.body.len());
        let mut out = h.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_head_needs_more() {
        assert_eq!(parse_request(b"GET /api/v1/info HTTP/1.1\r\nHost: x\r\n", "1.2.3.4"), Ok(None));
        assert_eq!(parse_request(b"", "1.2.3.4"), Ok(None));
    }

    #[test]
    fn complete_head_with_headers() {
        let raw = b"GET /host/c1/api/v1/info?x=1 HTTP/1.1\r\nHost: parent:19999\r\nx-forwarded-host: proxy.example\r\nOrigin: http://dash\r\n\r\nBODY";
        let (req, len) = parse_request(raw, "10.0.0.5").unwrap().unwrap();
        assert_eq!(len, raw.len() - 4);
        assert_eq!(req.method, "GET");
        assert_eq!(req.url, "/host/c1/api/v1/info?x=1");
        assert_eq!(req.host_header.as_deref(), Some("parent:19999"));
        assert_eq!(req.forwarded_host.as_deref(), Some("proxy.example"));
        assert_eq!(req.origin.as_deref(), Some("http://dash"));
        assert_eq!(req.client_ip, "10.0.0.5");
    }

    #[test]
    fn malformed_is_400() {
        let e = parse_request(b"GET\x01 / HTTP/1.1\r\n\r\n", "ip").unwrap_err();
        assert_eq!((e.status, e.body_str().as_ref()), (400, BAD_REQUEST));
        let e = parse_request(b"GARBAGE\r\n\r\n", "ip").unwrap_err();
        assert_eq!(e.status, 400);
        let e = parse_request(b"POST /api/v1/info HTTP/1.1\r\n\r\n", "ip").unwrap_err();
        assert_eq!((e.status, e.body_str().as_ref()), (400, BAD_REQUEST));
        let e = parse_request(b"GET api/v1/info HTTP/1.1\r\n\r\n", "ip").unwrap_err();
        assert_eq!((e.status, e.body_str().as_ref()), (400, BAD_URL));
    }

    #[test]
    fn stream_handshake_passes() {
        let (req, _) = parse_request(b"STREAM key=k&hostname=c HTTP/1.1\r\n\r\n", "ip").unwrap().unwrap();
        assert_eq!((req.method.as_str(), req.url.as_str()), ("STREAM", "key=k&hostname=c"));
    }

    #[test]
    fn serialises_no_cache_response() {
        let r = Response::json("{}").with_header("Content-Disposition", "attachment; filename=\"a\"\r\nX: y");
        let text = String::from_utf8(r.to_http(true, Some("http://dash"), 1612343999)).unwrap();
        let expected = format!(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nServer: strata/{}\r\n\
             Access-Control-Allow-Origin: http://dash\r\nAccess-Control-Allow-Credentials: true\r\n\
             Content-Type: application/json; charset=utf-8\r\nDate: Wed, 03 Feb 2021 09:19:59 GMT\r\n\
             Cache-Control: no-cache, no-store, must-revalidate\r\nPragma: no-cache\r\n\
             Expires: Wed, 03 Feb 2021 09:20:00 GMT\r\n\
             Content-Disposition: attachment; filename=\"a\"X: y\r\nContent-Length: 2\r\n\r\n{{}}",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn serialises_cacheable_and_close() {
        let mut r = Response::text(404, "nope");
        r.cacheable = true;
        let text = String::from_utf8(r.to_http(false, None, 0)).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\nConnection: close\r\n"));
        assert!(text.contains("Access-Control-Allow-Origin: *\r\n"));
        assert!(text.contains("Cache-Control: public\r\nExpires: Fri, 02 Jan 1970 00:00:00 GMT\r\n"));
        assert!(!text.contains("Pragma"));
        assert!(text.ends_with("Content-Length: 4\r\n\r\nnope"));
    }
}

#[cfg(test)]
mod keep_alive_tests {
    use super::parse_request;

    fn keep(head: &str) -> bool {
        parse_request(head.as_bytes(), "127.0.0.1").expect("valid").expect("complete").0.keep_alive
    }

    #[test]
    fn keep_alive_follows_version_and_connection_header() {
        assert!(keep("GET / HTTP/1.1\r\n\r\n"));
        assert!(!keep("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
        assert!(!keep("GET / HTTP/1.1\r\nconnection: Close\r\n\r\n"));
        assert!(!keep("GET / HTTP/1.0\r\n\r\n"));
        assert!(keep("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
        // A header value that merely mentions it does not close the connection.
        assert!(keep("GET / HTTP/1.1\r\nX-Note: connection: close\r\n\r\n"));
    }
}
