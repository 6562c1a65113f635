//! A strata parent with a certificate on three ports, for the TLS tests: `^SSL=optional`,
//! `^SSL=force` and one without a suffix (in that order), every port serving streams and
//! the dashboard. Include it next to `certs` (`#[path = "common/tls_parent.rs"] mod
//! tls_parent;`).
#![allow(dead_code)]

use std::net::SocketAddr;

use crate::certs::{self, Certs};
use crate::common::*;

/// The `bind to` of a [`TlsParent`].
pub const BIND: &str = "127.0.0.1:0=streaming|dashboard^SSL=optional 127.0.0.1:0=streaming|dashboard^SSL=force \
                        127.0.0.1:0=streaming|dashboard";

/// A running parent with its three addresses and the certificate it serves.
pub struct TlsParent {
    pub p: Parent,
    pub optional: SocketAddr,
    pub force: SocketAddr,
    pub default: SocketAddr,
    pub certs: Certs,
    _dir: TempDir,
}

impl TlsParent {
    /// Starts a parent on `cores` shards whose certificate is signed by a test CA
    /// (`ca_signed`) or self-signed, with `extra_web` added to its `[web]` section.
    pub fn start(ca_signed: bool, cores: usize, extra_web: &str) -> TlsParent {
        let dir = TempDir::new("certs");
        let c = if ca_signed { certs::ca_signed(&dir.0) } else { certs::self_signed(&dir.0) };
        let conf = format!(
            "[web]\n    ssl key = {}\n    ssl certificate = {}\n{extra_web}",
            c.key.display(),
            c.cert.display()
        );
        let p = Parent::start_with(
            config_dir(&conf, &default_stream_conf()),
            cores,
            &["-W", "set", "web", "bind to", BIND],
        );
        let a = p.listening();
        assert_eq!(a.len(), 3, "{a:?}");
        TlsParent { optional: a[0], force: a[1], default: a[2], certs: c, p, _dir: dir }
    }
}
