//! Which destination to try next, and for how long a failed one is skipped
//! (streaming-protocol.md §2.6.2, §5.4; Netdata 1.37.1's per-destination postponement).
//!
//! Owns: the usable destinations of one sender in configured order, with their last
//! handshake result and postponement. Invariants: every connection attempt walks the
//! list from the first entry (so the first destination is preferred again as soon as it
//! works), skipping destinations postponed until a later time; a successful handshake
//! clears a destination's postponement. Pure: times are parameters (unix seconds).

use crate::stream::version::ParentReply;

use super::destination::Destination;

/// Why an attempt on a destination failed, with Netdata 1.37.1's code, reason text and
/// postponement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The parent answered something we do not accept.
    Handshake(ParentReply),
    /// The request could not be sent in time.
    SendTimeout,
    /// The parent's certificate was refused (verification on).
    InvalidCertificate,
    /// Any other TLS-level failure (including a parent that does not speak TLS).
    Tls,
}

impl Failure {
    /// Netdata's `STREAM_HANDSHAKE` code.
    pub fn code(self) -> i32 {
        match self {
            Failure::Handshake(ParentReply::SameLocalhost) => -2,
            Failure::Handshake(ParentReply::AlreadyStreaming) => -3,
            Failure::Handshake(ParentReply::Denied) => -4,
            Failure::SendTimeout => -5,
            Failure::Handshake(ParentReply::NoResponse) => -6,
            Failure::InvalidCertificate => -7,
            Failure::Tls => -8,
            Failure::Handshake(_) => -1,
        }
    }

    /// The reason, as Netdata 1.37.1 logs it.
    pub fn reason(self) -> &'static str {
        match self {
            Failure::Handshake(ParentReply::SameLocalhost) => {
                "remote server rejected this stream, the host we are trying to stream is its localhost"
            }
            Failure::Handshake(ParentReply::AlreadyStreaming) => {
                "remote server rejected this stream, the host we are trying to stream is already streamed to it"
            }
            Failure::Handshake(ParentReply::Denied) => {
                "remote server denied access, probably we don't have the right API key?"
            }
            Failure::Handshake(ParentReply::NoResponse) => "timeout while expecting first response",
            Failure::SendTimeout => "timeout while sending request",
            Failure::InvalidCertificate => "invalid SSL certificate",
            Failure::Tls => "SSL error",
            Failure::Handshake(_) => "remote node response is not understood, is it Netdata?",
        }
    }

    /// Seconds the destination is skipped after this failure.
    pub fn postpone_secs(self) -> i64 {
        match self {
            Failure::Handshake(ParentReply::SameLocalhost) => 3600,
            Failure::Handshake(ParentReply::AlreadyStreaming) => 120,
            Failure::Handshake(ParentReply::NoResponse) => 30,
            Failure::Tls | Failure::InvalidCertificate => 300,
            Failure::Handshake(_) | Failure::SendTimeout => 60,
        }
    }
}

/// One destination and its state.
#[derive(Debug, Clone)]
pub struct Entry {
    pub dest: Destination,
    /// Skipped until this time (unix seconds); 0 = not postponed.
    pub postponed_until: i64,
    pub last_failure: Option<Failure>,
}

/// The candidates of one attempt, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidate {
    Try(usize),
    /// Postponed: (index, seconds left).
    Skip(usize, i64),
}

/// The usable destinations of one sender.
#[derive(Debug, Clone)]
pub struct Destinations {
    entries: Vec<Entry>,
}

impl Destinations {
    pub fn new(dests: Vec<Destination>) -> Destinations {
        Destinations {
            entries: dests.into_iter().map(|dest| Entry { dest, postponed_until: 0, last_failure: None }).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&Entry> {
        self.entries.get(i)
    }

    /// Every destination in configured order, tried or skipped at `now`.
    pub fn plan(&self, now: i64) -> Vec<Candidate> {
        self.entries
            .iter()
            .enumerate()
            .map(
                |(i, e)| {
                    if e.postponed_until > now {
                        Candidate::Skip(i, e.postponed_until - now)
                    } else {
                        Candidate::Try(i)
                    }
                },
            )
            .collect()
    }

    /// Seconds until the first postponed destination may be tried again (0 if one can be
    /// tried now).
    pub fn wait_secs(&self, now: i64) -> i64 {
        self.entries.iter().map(|e| (e.postponed_until - now).max(0)).min().unwrap_or(0)
    }

    pub fn failed(&mut self, i: usize, failure: Failure, now: i64) {
        if let Some(e) = self.entries.get_mut(i) {
            e.postponed_until = now + failure.postpone_secs();
            e.last_failure = Some(failure);
        }
    }

    pub fn succeeded(&mut self, i: usize) {
        if let Some(e) = self.entries.get_mut(i) {
            e.postponed_until = 0;
            e.last_failure = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sender::destination::parse_one;

    fn dests(list: &[&str]) -> Destinations {
        Destinations::new(list.iter().map(|d| parse_one(d, 19999).unwrap()).collect())
    }

    #[test]
    fn failures_postpone_as_netdata_1_37() {
        use ParentReply::*;
        let cases = [
            (Failure::Handshake(SameLocalhost), -2, 3600),
            (Failure::Handshake(AlreadyStreaming), -3, 120),
            (Failure::Handshake(Denied), -4, 60),
            (Failure::SendTimeout, -5, 60),
            (Failure::Handshake(NoResponse), -6, 30),
            (Failure::Handshake(NotUnderstood), -1, 60),
            (Failure::InvalidCertificate, -7, 300),
            (Failure::Tls, -8, 300),
        ];
        for (f, code, secs) in cases {
            assert_eq!((f.code(), f.postpone_secs()), (code, secs), "{f:?}");
            assert!(!f.reason().is_empty());
        }
        assert_eq!(
            (Failure::Tls.reason(), Failure::InvalidCertificate.reason()),
            ("SSL error", "invalid SSL certificate")
        );
        assert_eq!(
            Failure::Handshake(Denied).reason(),
            "remote server denied access, probably we don't have the right API key?"
        );
    }

    #[test]
    fn always_walks_from_the_first_skipping_postponed() {
        let mut d = dests(&["a:1", "b:2", "c:3"]);
        assert_eq!(d.plan(100), [Candidate::Try(0), Candidate::Try(1), Candidate::Try(2)]);
        d.failed(0, Failure::Handshake(ParentReply::Denied), 100);
        d.failed(1, Failure::Handshake(ParentReply::NoResponse), 100);
        assert_eq!(d.plan(110), [Candidate::Skip(0, 50), Candidate::Skip(1, 20), Candidate::Try(2)]);
        assert_eq!(d.wait_secs(110), 0);
        d.failed(2, Failure::Handshake(ParentReply::AlreadyStreaming), 110);
        assert_eq!(d.wait_secs(110), 20);
        assert_eq!(d.plan(130), [Candidate::Skip(0, 30), Candidate::Try(1), Candidate::Skip(2, 100)]);
        d.succeeded(1);
        assert!(d.get(1).is_some_and(|e| e.postponed_until == 0 && e.last_failure.is_none()));
        assert_eq!(d.plan(160), [Candidate::Try(0), Candidate::Try(1), Candidate::Skip(2, 70)]);
        assert!(Destinations::new(Vec::new()).is_empty());
    }
}
