//! The `[web] bind to` grammar (health-api-export.md §D.3).
//!
//! Owns: turning the `bind to` value into listen specifications. Entries are separated
//! by white space or commas; each is
//! `[tcp:]IP[%IFACE][:PORT][=ACL[|ACL…]]` where an ACL word may carry a `^SSL=force` or
//! `^SSL=optional` suffix. Invariants of the result: every [`BindSpec`] has at least one
//! resolved address, all carrying the entry's port (the default port when the entry has
//! none); `*`, `any`, `all` and an empty IP mean `0.0.0.0` (IPv4 only — add `[::]` to
//! listen on IPv6 too); an entry without `=` allows everything, `=` with no valid word
//! (e.g. `=^SSL=force`) allows nothing. Deviations from Netdata, all documented in
//! `conf/netdata.conf`: `unix:` entries are skipped with a warning (not supported yet),
//! `udp:` is an error, an IPv6 address without brackets is accepted when it has more
//! than one `:` (it then has no port), an empty value means `*`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, ToSocketAddrs};

/// The set of request kinds a listening port serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Acl(u8);

impl Acl {
    pub const NONE: Acl = Acl(0);
    pub const DASHBOARD: Acl = Acl(1);
    pub const REGISTRY: Acl = Acl(2);
    pub const BADGES: Acl = Acl(4);
    pub const MANAGEMENT: Acl = Acl(8);
    pub const STREAMING: Acl = Acl(16);
    pub const NETDATA_CONF: Acl = Acl(32);
    pub const ALL: Acl = Acl(63);

    const WORDS: [(&'static str, Acl); 6] = [
        ("dashboard", Acl::DASHBOARD),
        ("registry", Acl::REGISTRY),
        ("badges", Acl::BADGES),
        ("management", Acl::MANAGEMENT),
        ("streaming", Acl::STREAMING),
        ("netdata.conf", Acl::NETDATA_CONF),
    ];

    /// True iff every kind in `other` is allowed.
    pub fn contains(self, other: Acl) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn union(self, other: Acl) -> Acl {
        Acl(self.0 | other.0)
    }

    /// The ACL word (`streaming`, …) for one kind.
    pub fn from_word(word: &str) -> Option<Acl> {
        Acl::WORDS.iter().find(|(w, _)| *w == word).map(|(_, a)| *a)
    }
}

impl fmt::Display for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = Acl::WORDS.iter().filter(|(_, a)| self.contains(*a)).map(|(w, _)| *w).collect();
        if words.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&words.join("|"))
        }
    }
}

/// TLS policy of a listening port (only meaningful once a certificate is configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// No suffix: plain HTTP is redirected to HTTPS; plain and TLS streams accepted.
    #[default]
    Default,
    /// `^SSL=force`: HTTP redirected, plain streams refused.
    Force,
    /// `^SSL=optional`: everything accepted.
    Optional,
}

/// One `bind to` entry, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindSpec {
    /// The entry as written (for logs).
    pub entry: String,
    /// Every address to listen on (a hostname may resolve to several).
    pub addrs: Vec<SocketAddr>,
    pub acl: Acl,
    pub ssl: SslMode,
}

/// A `bind to` entry that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindError {
    pub entry: String,
    pub reason: String,
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid entry \"{}\": {}", self.entry, self.reason)
    }
}

/// The parsed `bind to` value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BindTo {
    pub specs: Vec<BindSpec>,
    /// Things ignored (unix sockets, unknown ACL words, bad `^` suffixes).
    pub warnings: Vec<String>,
}

/// Parse a whole `bind to` value. `default_port` is `[web] default port`.
pub fn parse_bind_to(value: &str, default_port: u16) -> Result<BindTo, BindError> {
    let mut out = BindTo::default();
    let entries: Vec<&str> = value.split(|c: char| c.is_whitespace() || c == ',').filter(|e| !e.is_empty()).collect();
    if entries.is_empty() {
        out.specs.push(parse_entry("*", default_port, &mut out.warnings)?);
        return Ok(out);
    }
    for entry in entries {
        if entry.starts_with("unix:") {
            out.warnings.push(format!("entry \"{entry}\" skipped: unix domain sockets are not supported yet"));
            continue;
        }
        let spec = parse_entry(entry, default_port, &mut out.warnings)?;
        out.specs.push(spec);
    }
    if out.specs.is_empty() {
        return Err(BindError {
            entry: value.trim().to_string(),
            reason: "no usable entry (unix domain sockets are not supported yet)".into(),
        });
    }
    Ok(out)
}

fn parse_entry(entry: &str, default_port: u16, warnings: &mut Vec<String>) -> Result<BindSpec, BindError> {
    let err = |reason: String| BindError { entry: entry.to_string(), reason };
    let body = if let Some(rest) = entry.strip_prefix("tcp:") {
        rest
    } else if entry.starts_with("udp:") {
        return Err(err("udp is not supported by the web server".into()));
    } else {
        entry
    };
    let (host_port, acl_list) = match body.split_once('=') {
        Some((hp, acl)) => (hp, Some(acl)),
        None => (body, None),
    };
    let (host, port_text) = split_host_port(host_port).map_err(&err)?;
    let port = match port_text {
        None | Some("") => default_port,
        Some(p) => parse_port(p).map_err(&err)?,
    };
    let addrs = resolve(host, port).map_err(&err)?;
    let (acl, ssl) = match acl_list {
        None => (Acl::ALL, SslMode::Default),
        Some(list) => parse_acl(entry, list, warnings),
    };
    Ok(BindSpec { entry: entry.to_string(), addrs, acl, ssl })
}

/// Split `IP[:PORT]`, `[IPv6][:PORT]` or a bare IPv6 address.
fn split_host_port(s: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = s.strip_prefix('[') {
        let Some((ip, after)) = rest.split_once(']') else {
            return Err("missing ']' after the IPv6 address".into());
        };
        return match after {
            "" => Ok((ip, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((ip, Some(port))),
                None => Err(format!("unexpected \"{after}\" after ']'")),
            },
        };
    }
    if s.matches(':').count() > 1 {
        return Ok((s, None));
    }
    match s.split_once(':') {
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((s, None)),
    }
}

fn parse_port(p: &str) -> Result<u16, String> {
    if p.bytes().all(|b| b.is_ascii_digit()) {
        return p.parse::<u16>().map_err(|_| format!("port \"{p}\" is out of range (0-65535)"));
    }
    if p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') {
        if let Some(port) = service_port(p) {
            return Ok(port);
        }
        return Err(format!("port \"{p}\" is neither a number nor a tcp service in /etc/services"));
    }
    let hint = if p.contains('^') {
        " (a ^SSL= suffix is only recognised after an ACL list: IP:PORT=streaming|dashboard^SSL=force)"
    } else {
        ""
    };
    Err(format!("invalid port \"{p}\"{hint}"))
}

/// Look a tcp service name up in /etc/services.
fn service_port(name: &str) -> Option<u16> {
    let text = std::fs::read_to_string("/etc/services").ok()?;
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let service = words.next()?;
        let (port, proto) = words.next()?.split_once('/')?;
        let mut names = std::iter::once(service).chain(words);
        if proto == "tcp" && names.any(|n| n == name) {
            port.parse().ok()
        } else {
            None
        }
    })
}

fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let (ip_text, iface) = match host.split_once('%') {
        Some((ip, iface)) => (ip, Some(iface)),
        None => (host, None),
    };
    if matches!(ip_text, "" | "*" | "any" | "all") && iface.is_none() {
        return Ok(vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)]);
    }
    if let Ok(v6) = ip_text.parse::<Ipv6Addr>() {
        let scope = match iface {
            None => 0,
            Some(i) => scope_id(i)?,
        };
        return Ok(vec![SocketAddr::V6(SocketAddrV6::new(v6, port, 0, scope))]);
    }
    if iface.is_some() {
        return Err("an %INTERFACE suffix is only supported on IPv6 addresses".into());
    }
    if let Ok(v4) = ip_text.parse::<Ipv4Addr>() {
        return Ok(vec![SocketAddr::new(IpAddr::V4(v4), port)]);
    }
    let resolved = (ip_text, port).to_socket_addrs().map_err(|e| format!("cannot resolve \"{ip_text}\": {e}"))?;
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for a in resolved {
        if !addrs.contains(&a) {
            addrs.push(a);
        }
    }
    if addrs.is_empty() {
        return Err(format!("\"{ip_text}\" resolves to no address"));
    }
    Ok(addrs)
}

/// Interface index for an IPv6 scope: a number, or a name looked up in /sys/class/net.
fn scope_id(iface: &str) -> Result<u32, String> {
    if let Ok(n) = iface.parse::<u32>() {
        return Ok(n);
    }
    let bad = || format!("unknown network interface \"{iface}\"");
    if iface.is_empty() || iface.contains('/') || iface.starts_with('.') {
        return Err(bad());
    }
    std::fs::read_to_string(format!("/sys/class/net/{iface}/ifindex"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(bad)
}

fn parse_acl(entry: &str, list: &str, warnings: &mut Vec<String>) -> (Acl, SslMode) {
    let mut acl = Acl::NONE;
    let mut ssl = SslMode::Default;
    for item in list.split('|') {
        let (word, suffix) = match item.split_once('^') {
            Some((w, s)) => (w, Some(s)),
            None => (item, None),
        };
        if !word.is_empty() {
            match Acl::from_word(word) {
                Some(a) => acl = acl.union(a),
                None => warnings.push(format!("entry \"{entry}\": unknown ACL word \"{word}\" ignored")),
            }
        }
        match suffix {
            None => {}
            Some("SSL=force") => ssl = SslMode::Force,
            Some("SSL=optional") => ssl = SslMode::Optional,
            Some(other) => {
                warnings.push(format!("entry \"{entry}\": \"^{other}\" ignored (expected ^SSL=force or ^SSL=optional)"))
            }
        }
    }
    (acl, ssl)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(v: &str) -> BindSpec {
        let r = parse_bind_to(v, 19999);
        assert!(r.is_ok(), "{v}: {r:?}");
        let mut b = r.unwrap_or_default();
        assert_eq!(b.specs.len(), 1, "{v}");
        b.specs.remove(0)
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|_| SocketAddr::from(([255, 255, 255, 255], 1)))
    }

    fn err(v: &str) -> String {
        match parse_bind_to(v, 19999) {
            Ok(b) => panic!("{v} must fail, got {b:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn all_addresses() {
        for v in ["*", "any", "all", "tcp:*", "", "  ", ":19999", "*:19999"] {
            let s = one(v);
            assert_eq!(s.addrs, [addr("0.0.0.0:19999")], "{v:?}");
            assert_eq!(s.acl, Acl::ALL);
            assert_eq!(s.ssl, SslMode::Default);
        }
        assert_eq!(one("*:8080").addrs, [addr("0.0.0.0:8080")]);
        assert_eq!(one("any:0").addrs, [addr("0.0.0.0:0")]);
    }

    #[test]
    fn ipv4_ipv6_and_ports() {
        assert_eq!(one("127.0.0.1").addrs, [addr("127.0.0.1:19999")]);
        assert_eq!(one("10.1.2.3:1234").addrs, [addr("10.1.2.3:1234")]);
        assert_eq!(one("[::]").addrs, [addr("[::]:19999")]);
        assert_eq!(one("[::1]:8080").addrs, [addr("[::1]:8080")]);
        assert_eq!(one("tcp:[fe80::1]:1").addrs, [addr("[fe80::1]:1")]);
        assert_eq!(one("::1").addrs, [addr("[::1]:19999")]);
        assert_eq!(one("[fe80::1%3]:5").addrs, [addr("[fe80::1%3]:5")]);
        assert_eq!(one("[::1]:").addrs, [addr("[::1]:19999")]);
    }

    #[test]
    fn localhost_resolves() {
        let s = one("localhost:9000");
        assert!(!s.addrs.is_empty());
        assert!(s.addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 9000), "{s:?}");
    }

    #[test]
    fn acl_and_ssl() {
        let s = one("*:19999=dashboard|streaming^SSL=force");
        assert_eq!(s.acl, Acl::DASHBOARD.union(Acl::STREAMING));
        assert_eq!(s.ssl, SslMode::Force);
        assert_eq!(s.acl.to_string(), "dashboard|streaming");

        let s = one("*:19999=streaming^SSL=optional|dashboard");
        assert_eq!(s.acl, Acl::DASHBOARD.union(Acl::STREAMING));
        assert_eq!(s.ssl, SslMode::Optional);

        let s = one("*:19999=^SSL=force");
        assert_eq!(s.acl, Acl::NONE);
        assert_eq!(s.ssl, SslMode::Force);
        assert_eq!(s.acl.to_string(), "none");

        let s = one("127.0.0.1=netdata.conf|management|registry|badges");
        assert_eq!(s.addrs, [addr("127.0.0.1:19999")]);
        assert!(s.acl.contains(Acl::NETDATA_CONF) && s.acl.contains(Acl::BADGES));
        assert!(!s.acl.contains(Acl::STREAMING));

        let s = one("[::1]:7=streaming");
        assert_eq!(s.addrs, [addr("[::1]:7")]);
        assert_eq!(s.acl, Acl::STREAMING);

        let s = one("*=");
        assert_eq!(s.acl, Acl::NONE);
        assert!(Acl::ALL.contains(Acl::STREAMING.union(Acl::DASHBOARD)));
    }

    #[test]
    fn ignored_parts_warn() {
        let b = parse_bind_to("*=dashboard|bogus^SSL=maybe", 1).unwrap_or_default();
        assert_eq!(b.specs[0].acl, Acl::DASHBOARD);
        assert_eq!(b.specs[0].ssl, SslMode::Default);
        assert_eq!(b.warnings.len(), 2, "{:?}", b.warnings);
        assert!(b.warnings[0].contains("bogus"));
        assert!(b.warnings[1].contains("SSL=maybe"));
    }

    #[test]
    fn lists_and_unix() {
        let b = parse_bind_to("unix:/run/netdata.sock 127.0.0.1:1,[::1]:2=streaming\t*", 19999).unwrap_or_default();
        let all: Vec<SocketAddr> = b.specs.iter().flat_map(|s| s.addrs.clone()).collect();
        assert_eq!(all, [addr("127.0.0.1:1"), addr("[::1]:2"), addr("0.0.0.0:19999")]);
        assert_eq!(b.warnings.len(), 1);
        assert!(b.warnings[0].contains("not supported yet"));
        assert!(err("unix:/run/x.sock").contains("no usable entry"));
    }

    #[test]
    fn invalid_entries() {
        assert!(err("*:19999^SSL=force").contains("only recognised after an ACL list"));
        assert!(err("*:70000").contains("out of range"));
        assert!(err("*:12ab$").contains("invalid port"));
        assert!(err("*:no-such-service-xyz").contains("/etc/services"));
        assert!(err("udp:*:8125").contains("udp"));
        assert!(err("[::1").contains("']'"));
        assert!(err("[::1]x").contains("after ']'"));
        assert!(err("1.2.3.4%eth0").contains("only supported on IPv6"));
        assert!(err("[fe80::1%no-such-if0]").contains("no-such-if0"));
        assert!(err("no-such-host.invalid:1").contains("no-such-host.invalid"));
        assert!(err("*:19999 1.2.3.4:x^").starts_with("invalid entry \"1.2.3.4:x^\""));
    }

    #[test]
    fn service_names() {
        if std::fs::read_to_string("/etc/services").is_ok_and(|t| t.contains("http\t") || t.contains("http ")) {
            assert_eq!(one("*:http").addrs, [addr("0.0.0.0:80")]);
        }
    }
}
