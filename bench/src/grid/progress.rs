//! Reads the loadgen's progress lines (`[   5.0s] connected 100/100 | sessions … |
//! samples 12345 (…/s of …/s) | …`), which tell the benchmark when every child is
//! connected and how many samples were sent by then, so the parent's CPU can be measured
//! over the steady phase only.
//!
//! Pure parsing: a line that is not a progress line is `None`.

/// One progress line of the loadgen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Seconds since the swarm's start.
    pub elapsed: f64,
    pub connected: i64,
    pub children: u64,
    /// Samples sent so far (whole run).
    pub samples: u64,
}

fn word_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(key)? + key.len();
    line[at..].split_whitespace().next()
}

/// Parses one progress line.
pub fn parse(line: &str) -> Option<Progress> {
    let line = line.trim();
    let inner = line.strip_prefix('[')?;
    let close = inner.find("s]")?;
    let elapsed: f64 = inner[..close].trim().parse().ok()?;
    let (connected, children) = word_after(line, "] connected ")?.split_once('/')?;
    let samples = word_after(line, "| samples ")?;
    Some(Progress {
        elapsed,
        connected: connected.parse().ok()?,
        children: children.parse().ok()?,
        samples: samples.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_line() {
        let l = "[    5.0s] connected 98/100 | sessions 98 failed 0 rejected 2 | samples 245000 (49000/s of 50000/s) | 12.3 MiB | lag max 1.2 ms | cpu 0.4s";
        assert_eq!(parse(l), Some(Progress { elapsed: 5.0, connected: 98, children: 100, samples: 245_000 }));
    }

    #[test]
    fn other_lines_are_not_progress() {
        assert_eq!(parse("report: a.json and a.svg"), None);
        assert_eq!(parse("[x] connected 1/2 | samples 3"), None);
        assert_eq!(parse("[ 1.0s] connected 1/2 | samples many"), None);
        assert_eq!(parse(""), None);
    }
}
