//! End-to-end freshness: how long after a child sent a sample the parent serves it from
//! `/host/<guid>/api/v1/data`. Runs on its own plain thread with blocking HTTP.
//!
//! How: the first `--probe-children` children are probes; on them, dimension 0 of the
//! first `--probe-charts` charts is `absolute` and carries the tick number (see
//! `template`). Each probe child publishes (tick, time its write completed) into its
//! [`ProbeSlot`], which wakes this thread; it polls the parent at once, then every
//! `--probe-interval-ms`, until a value ≥ that tick is visible, and records the
//! difference. Invariants: one sample per probe
//! is in flight at a time (newer ticks replace an unseen older one only after it was
//! seen or timed out); the first two ticks of a session are never probed (see
//! `child::PROBE_AFTER_TICKS`); a sample not seen within three intervals plus two seconds
//! counts as a timeout, not as a latency. The figure is an upper bound, by at most one
//! poll interval plus one request.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::http::Client;
use crate::stats::{histogram, record};
use crate::template::{chart_id, dim_id};

/// Wakes the probe thread when any probe child publishes a tick, so the first poll for
/// a sample goes out at once instead of at the next poll interval.
#[derive(Debug, Default)]
pub struct Board {
    generation: Mutex<u64>,
    cv: Condvar,
}

impl Board {
    fn bump(&self) {
        if let Ok(mut g) = self.generation.lock() {
            *g = g.wrapping_add(1);
        }
        self.cv.notify_all();
    }

    fn current(&self) -> u64 {
        self.generation.lock().map(|g| *g).unwrap_or(0)
    }

    /// Waits until the generation moves past `seen`, at most `timeout`.
    fn wait(&self, seen: u64, timeout: Duration) {
        if let Ok(g) = self.generation.lock() {
            let _ = self.cv.wait_timeout_while(g, timeout, |g| *g == seen);
        }
    }
}

/// What one probe child publishes.
#[derive(Debug)]
pub struct ProbeSlot {
    pub machine_guid: String,
    board: Arc<Board>,
    state: Mutex<SlotState>,
}

#[derive(Debug, Default, Clone, Copy)]
struct SlotState {
    /// The parent the child is connected to.
    target: Option<SocketAddr>,
    /// Latest probe-able tick and when its write completed.
    latest: Option<(u64, Instant)>,
}

impl ProbeSlot {
    pub fn new(machine_guid: String, board: Arc<Board>) -> ProbeSlot {
        ProbeSlot { machine_guid, board, state: Mutex::new(SlotState::default()) }
    }

    /// The child's session now goes to `target`.
    pub fn connected(&self, target: SocketAddr) {
        if let Ok(mut s) = self.state.lock() {
            s.target = Some(target);
        }
    }

    /// Tick `tick` was sent at `at`.
    pub fn sent(&self, tick: u64, at: Instant) {
        if let Ok(mut s) = self.state.lock() {
            s.latest = Some((tick, at));
        }
        self.board.bump();
    }

    fn snapshot(&self) -> SlotState {
        self.state.lock().map(|s| *s).unwrap_or_default()
    }
}

/// What the probe thread measured.
#[derive(Debug, Clone)]
pub struct Freshness {
    pub latency: Histogram<u64>,
    /// Samples not visible within the deadline.
    pub timeouts: u64,
    /// API requests that failed (connection errors, non-200, unreadable JSON).
    pub errors: u64,
    pub requests: u64,
}

/// One (probe child, chart) pair being measured.
struct Probe {
    slot: Arc<ProbeSlot>,
    path_prefix: String,
    pending: Option<(u64, Instant)>,
    done: u64,
}

/// Polls until `stop` is set; `update_every` is the children's interval; `board` is the
/// one the slots publish on.
pub fn run(
    slots: Vec<Arc<ProbeSlot>>,
    board: Arc<Board>,
    charts: usize,
    update_every: Duration,
    poll: Duration,
    stop: Arc<AtomicBool>,
) -> Freshness {
    let mut out = Freshness { latency: histogram(), timeouts: 0, errors: 0, requests: 0 };
    let window = update_every.as_secs().max(1) * 3 + 2;
    let deadline = update_every * 3 + Duration::from_secs(2);
    let mut probes: Vec<Probe> = slots
        .iter()
        .flat_map(|slot| {
            (0..charts).map(move |c| Probe {
                slot: slot.clone(),
                path_prefix: format!(
                    "/host/{}/api/v1/data?chart={}&dimensions={}&format=json&after=-{window}",
                    slot.machine_guid,
                    chart_id(c),
                    dim_id(0)
                ),
                pending: None,
                done: 0,
            })
        })
        .collect();
    let mut clients: Vec<Client> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let sweep = Instant::now();
        let generation = board.current();
        for p in probes.iter_mut() {
            let state = p.slot.snapshot();
            if p.pending.is_none() {
                p.pending = state.latest.filter(|(tick, _)| *tick > p.done);
            }
            let (Some((tick, sent)), Some(target)) = (p.pending, state.target) else { continue };
            let client = match clients.iter().position(|c| c.addr() == target) {
                Some(i) => &mut clients[i],
                None => {
                    clients.push(Client::new(target, Duration::from_secs(5)));
                    let last = clients.len() - 1;
                    &mut clients[last]
                }
            };
            out.requests += 1;
            let seen = match client.get(&p.path_prefix) {
                Ok((200, body)) => match newest_value(&body) {
                    Some(v) => v >= tick as f64 - 0.001,
                    None => false,
                },
                Ok(_) | Err(_) => {
                    out.errors += 1;
                    false
                }
            };
            let now = Instant::now();
            if seen {
                record(&mut out.latency, now.saturating_duration_since(sent));
            } else if now.saturating_duration_since(sent) > deadline {
                out.timeouts += 1;
            } else {
                continue;
            }
            p.done = tick;
            p.pending = None;
        }
        if probes.iter().any(|p| p.pending.is_some()) {
            let next = sweep + poll;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
        } else {
            // Nothing in flight: sleep until a probe child publishes (or a while passes,
            // to notice `stop`).
            board.wait(generation, Duration::from_millis(100));
        }
    }
    out
}

/// The largest value of the first dimension in a `format=json` data response.
fn newest_value(body: &[u8]) -> Option<f64> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("data")?
        .as_array()?
        .iter()
        .filter_map(|row| row.as_array()?.get(1)?.as_f64())
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_value_reads_the_data_rows() {
        let body =
            br#"{ "labels": ["time", "dim_0"], "data": [ [1700000003, 41], [1700000002, null], [1700000001, 40] ] }"#;
        assert_eq!(newest_value(body), Some(41.0));
        assert_eq!(newest_value(br#"{ "labels": ["time", "no data"], "data": [] }"#), None);
        assert_eq!(newest_value(b"not json"), None);
    }

    #[test]
    fn slots_publish_the_latest_tick() {
        let board = Arc::new(Board::default());
        let s = ProbeSlot::new("g".into(), board.clone());
        let g = board.current();
        assert!(s.snapshot().latest.is_none());
        let t = Instant::now();
        s.connected("127.0.0.1:1".parse().unwrap());
        s.sent(3, t);
        s.sent(4, t);
        assert_eq!(board.current(), g + 2, "each tick wakes the probe thread");
        let st = s.snapshot();
        assert_eq!(st.latest.map(|(k, _)| k), Some(4));
        assert_eq!(st.target.map(|a| a.port()), Some(1));
    }
}
