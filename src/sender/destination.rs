//! Parsing of a `destination` list (`[stream] destination`, `proxy destination`;
//! streaming-protocol.md §5.4).
//!
//! Owns: the grammar `[tcp:|udp:|unix:]HOST[%IFACE][:PORT][:SSL]`, entries separated by
//! spaces, tabs, newlines or commas, IPv6 literals in `[...]`, a missing port taken from
//! `default port`. Pure: text in, entries out, order kept. Invariants: every entry of the
//! list yields exactly one result, so a refused entry can be reported by its own text;
//! a usable [`Destination`] always has a non-empty host and a port in 1..=65535.
//! Unlike Netdata v1.29.3, a `:SSL` suffix applies to its own entry only.

use thiserror::Error;

/// One usable destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The entry as written (for the logs).
    pub text: String,
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// `:SSL` was given: the connection must be TLS.
    pub tls: bool,
}

impl Destination {
    /// `host:port` in the form `ToSocketAddrs` and the logs expect (`[v6]:port`).
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Why an entry cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DestinationError {
    #[error("destination '{0}': UNIX sockets are not supported for streaming by strata")]
    Unix(String),
    #[error("destination '{0}': UDP cannot carry a stream")]
    Udp(String),
    #[error("destination '{0}': no host")]
    NoHost(String),
    #[error("destination '{0}': the port must be a number from 1 to 65535")]
    BadPort(String),
    #[error("destination '{0}': binding to a network interface (%IFACE) is not supported by strata")]
    Interface(String),
    #[error("destination '{0}': unterminated IPv6 literal")]
    BadIpv6(String),
}

fn is_list_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | ',')
}

/// Parses every entry of `list`, in order.
pub fn parse_list(list: &str, default_port: u16) -> Vec<Result<Destination, DestinationError>> {
    list.split(is_list_separator).filter(|e| !e.is_empty()).map(|e| parse_one(e, default_port)).collect()
}

fn parse_port(text: &str, entry: &str) -> Result<u16, DestinationError> {
    match text.parse::<u16>() {
        Ok(p) if p > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(DestinationError::BadPort(entry.to_string())),
    }
}

/// Parses one entry.
pub fn parse_one(entry: &str, default_port: u16) -> Result<Destination, DestinationError> {
    let owned = || entry.to_string();
    let (tls, rest) = match entry.strip_suffix(":SSL") {
        Some(r) => (true, r),
        None => (false, entry),
    };
    let rest = if let Some(r) = rest.strip_prefix("tcp:") {
        r
    } else if rest.starts_with("unix:") {
        return Err(DestinationError::Unix(owned()));
    } else if rest.starts_with("udp:") {
        return Err(DestinationError::Udp(owned()));
    } else {
        rest
    };
    let (host, port_text) = if let Some(v6) = rest.strip_prefix('[') {
        let close = v6.find(']').ok_or_else(|| DestinationError::BadIpv6(owned()))?;
        let after = &v6[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(DestinationError::BadPort(owned())),
        };
        (&v6[..close], port)
    } else if rest.matches(':').count() > 1 {
        // An unbracketed IPv6 literal: no port can follow it.
        (rest, None)
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if host.contains('%') {
        return Err(DestinationError::Interface(owned()));
    }
    if host.is_empty() {
        return Err(DestinationError::NoHost(owned()));
    }
    let port = match port_text {
        Some(p) => parse_port(p, entry)?,
        None => default_port,
    };
    if port == 0 {
        return Err(DestinationError::BadPort(owned()));
    }
    Ok(Destination { text: entry.to_string(), host: host.to_string(), port, tls })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(e: &str) -> Destination {
        parse_one(e, 19999).unwrap()
    }

    #[test]
    fn entries() {
        let d = ok("10.0.0.1");
        assert_eq!((d.host.as_str(), d.port, d.tls), ("10.0.0.1", 19999, false));
        let d = ok("tcp:parent.example:20000");
        assert_eq!(
            (d.host.as_str(), d.port, d.tls, d.text.as_str()),
            ("parent.example", 20000, false, "tcp:parent.example:20000")
        );
        let d = ok("parent:19999:SSL");
        assert_eq!((d.host.as_str(), d.port, d.tls), ("parent", 19999, true));
        let d = ok("parent:SSL");
        assert_eq!((d.host.as_str(), d.port, d.tls), ("parent", 19999, true));
        let d = ok("[::1]:1234");
        assert_eq!((d.host.as_str(), d.port), ("::1", 1234));
        assert_eq!(d.host_port(), "[::1]:1234");
        let d = ok("[fe80::1]");
        assert_eq!((d.host.as_str(), d.port), ("fe80::1", 19999));
        let d = ok("::1");
        assert_eq!((d.host.as_str(), d.port), ("::1", 19999));
        assert_eq!(ok("127.0.0.1:5").host_port(), "127.0.0.1:5");
    }

    #[test]
    fn refused_entries() {
        use DestinationError::*;
        assert_eq!(parse_one("unix:/run/x", 1), Err(Unix("unix:/run/x".into())));
        assert_eq!(parse_one("udp:h:1", 1), Err(Udp("udp:h:1".into())));
        assert_eq!(parse_one("h:0", 1), Err(BadPort("h:0".into())));
        assert_eq!(parse_one("h:http", 1), Err(BadPort("h:http".into())));
        assert_eq!(parse_one("h:+5", 1), Err(BadPort("h:+5".into())));
        assert_eq!(parse_one("h:70000", 1), Err(BadPort("h:70000".into())));
        assert_eq!(parse_one(":5", 1), Err(NoHost(":5".into())));
        assert_eq!(parse_one("h%eth0:5", 1), Err(Interface("h%eth0:5".into())));
        assert_eq!(parse_one("[::1", 1), Err(BadIpv6("[::1".into())));
        assert_eq!(parse_one("[::1]x", 1), Err(BadPort("[::1]x".into())));
        assert_eq!(parse_one("h", 0), Err(BadPort("h".into())));
    }

    #[test]
    fn lists_keep_order_and_report_every_entry() {
        let l = parse_list(" a:1, b:2:SSL\tunix:/x\n\n c ,,", 7);
        assert_eq!(l.len(), 4);
        assert_eq!(l[0].as_ref().map(|d| d.host_port()), Ok("a:1".to_string()));
        assert_eq!(l[1].as_ref().map(|d| (d.host_port(), d.tls)), Ok(("b:2".to_string(), true)));
        assert!(l[2].is_err());
        assert_eq!(l[3].as_ref().map(|d| d.host_port()), Ok("c:7".to_string()));
        assert!(parse_list("  ,\t", 7).is_empty());
    }

    proptest! {
        #[test]
        fn host_and_port_round_trip(host in "[a-z][a-z0-9.-]{0,20}", port in 1u16.., tls in any::<bool>(), tcp in any::<bool>()) {
            let text = format!("{}{host}:{port}{}", if tcp { "tcp:" } else { "" }, if tls { ":SSL" } else { "" });
            let d = parse_one(&text, 19999).unwrap();
            prop_assert_eq!(d.host, host);
            prop_assert_eq!(d.port, port);
            prop_assert_eq!(d.tls, tls);
            prop_assert_eq!(d.text, text);
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            for d in parse_list(&s, 19999).into_iter().flatten() {
                prop_assert!(!d.host.is_empty() && d.port > 0);
            }
        }
    }
}
