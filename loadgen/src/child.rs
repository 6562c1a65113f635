//! One simulated child, as a cheap task on an executor thread: connect (targets in
//! order), handshake, host labels and chart definitions, then one write per tick on an
//! open-loop schedule, until the run ends; reconnects after failures, rejections,
//! broken sessions and churn.
//!
//! Schedule: tick `k` of child `i` is due at `start + phase_i + k × update_every`, whatever
//! happened before (open loop). The lag of a tick is the time its write completed minus
//! its due time, recorded with coordinated-omission correction; a child more than one
//! interval late skips the ticks the correction already accounts for (so nothing is
//! counted twice) and goes on with the next one due. The first connection of child `i` is
//! due at `start + i / ramp`; its handshake latency runs from that due time to the
//! parent's reply. Invariants: a tick is one `write` of bytes encoded into a pooled
//! buffer (no allocation per sample); samples count as sent only when their write
//! completed; every wait ends by the run's end plus [`GRACE`].

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::freshness::ProbeSlot;
use crate::handshake::{self, Outcome, Session};
use crate::ident::Identity;
use crate::options::Options;
use crate::stats::{micros, record, record_correct, Live, ThreadStats};
use crate::template::{ChildValues, Template};
use crate::transport::{Conn, Target, Tls};

/// How long after the end of the run a pending write or handshake may still finish.
pub const GRACE: Duration = Duration::from_secs(5);
/// Buffers kept for reuse per thread.
const POOL_MAX: usize = 64;
/// Ticks of a session that are not probed for freshness: a new chart's first collection
/// is not stored, and the parent's data API starts its window after the oldest slot, so
/// the first two ticks of a new host never show up on their own.
pub const PROBE_AFTER_TICKS: u64 = 2;
/// Largest reply read during the handshake (a child reads one `recv` of up to 8 KiB).
const REPLY_MAX: usize = 8192;

/// Per-child flags the thread's churn task reads and sets.
#[derive(Debug, Default, Clone, Copy)]
struct Flags {
    connected: bool,
    churn: bool,
}

/// Everything the children of one executor thread share.
pub struct ThreadCtx {
    pub opts: Arc<Options>,
    pub tpl: Arc<Template>,
    pub targets: Arc<Vec<Target>>,
    pub tls: Option<Tls>,
    pub live: Arc<Live>,
    pub start: Instant,
    pub end: Instant,
    pub stats: RefCell<ThreadStats>,
    pool: RefCell<Vec<Vec<u8>>>,
    flags: RefCell<Vec<Flags>>,
}

impl ThreadCtx {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        opts: Arc<Options>,
        tpl: Arc<Template>,
        targets: Arc<Vec<Target>>,
        tls: Option<Tls>,
        live: Arc<Live>,
        start: Instant,
        end: Instant,
        children: usize,
    ) -> ThreadCtx {
        ThreadCtx {
            opts,
            tpl,
            targets,
            tls,
            live,
            start,
            end,
            stats: RefCell::new(ThreadStats::default()),
            pool: RefCell::new(Vec::new()),
            flags: RefCell::new(vec![Flags::default(); children]),
        }
    }

    fn take_buf(&self) -> Vec<u8> {
        self.pool.borrow_mut().pop().unwrap_or_else(|| Vec::with_capacity(self.tpl.tick_bytes()))
    }

    fn give_buf(&self, mut buf: Vec<u8>) {
        buf.clear();
        let mut pool = self.pool.borrow_mut();
        if pool.len() < POOL_MAX {
            pool.push(buf);
        }
    }

    fn set_connected(&self, slot: usize, connected: bool) {
        if let Some(f) = self.flags.borrow_mut().get_mut(slot) {
            f.connected = connected;
            f.churn = false;
        }
        let delta = if connected { 1 } else { -1 };
        self.live.connected.fetch_add(delta, Ordering::Relaxed);
    }

    fn take_churn(&self, slot: usize) -> bool {
        self.flags.borrow_mut().get_mut(slot).is_some_and(|f| std::mem::take(&mut f.churn))
    }

    /// Asks child `slot` to disconnect at its next tick; `false` when it is not connected.
    pub fn churn(&self, slot: usize) -> bool {
        match self.flags.borrow_mut().get_mut(slot) {
            Some(f) if f.connected && !f.churn => {
                f.churn = true;
                true
            }
            _ => false,
        }
    }

    fn deadline(&self) -> Instant {
        self.end + GRACE
    }
}

async fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        glommio::timer::sleep(t - now).await;
    }
}

/// Why a session ended.
enum SessionEnd {
    RunOver,
    Churned,
    Broken(String),
}

/// Runs child `ident` (local index `slot` on this thread) until the run ends.
pub async fn run(ctx: Rc<ThreadCtx>, slot: usize, ident: Identity, probe: Option<Arc<ProbeSlot>>) {
    let o = &ctx.opts;
    let ramp_offset = if o.ramp > 0.0 { Duration::from_secs_f64(ident.index as f64 / o.ramp) } else { Duration::ZERO };
    let mut connect_at = ctx.start + ramp_offset;
    let mut vals = ctx.tpl.child_values(ident.seed);
    let mut ever = false;
    while connect_at < ctx.end {
        sleep_until(connect_at).await;
        let Some((conn, session, target)) = establish(&ctx, &ident, connect_at).await else {
            connect_at = Instant::now() + Duration::from_secs_f64(o.reconnect_delay);
            continue;
        };
        if !ever {
            ever = true;
            ctx.stats.borrow_mut().ever_connected += 1;
        }
        if let Some(p) = &probe {
            p.connected(target);
        }
        ctx.set_connected(slot, true);
        let end = stream(&ctx, slot, &ident, conn, &session, &mut vals, probe.as_deref()).await;
        ctx.set_connected(slot, false);
        match end {
            SessionEnd::RunOver => {
                ctx.stats.borrow_mut().connected_at_end += 1;
                break;
            }
            SessionEnd::Churned => {
                ctx.stats.borrow_mut().churned += 1;
                connect_at = Instant::now() + Duration::from_secs_f64(o.churn_downtime);
            }
            SessionEnd::Broken(reason) => {
                ThreadStats::count(&mut ctx.stats.borrow_mut().disconnects, reason);
                // A Netdata child reconnects at once after an established session breaks.
                connect_at = Instant::now();
            }
        }
    }
}

/// Tries the targets in order; returns the first accepted session.
async fn establish(ctx: &ThreadCtx, ident: &Identity, due: Instant) -> Option<(Conn, Session, std::net::SocketAddr)> {
    let o = &ctx.opts;
    for target in ctx.targets.iter() {
        if Instant::now() >= ctx.end {
            return None;
        }
        ctx.stats.borrow_mut().attempts += 1;
        let deadline = (Instant::now() + Duration::from_secs_f64(o.timeout)).min(ctx.deadline());
        let fail = |why: String| {
            ThreadStats::count(&mut ctx.stats.borrow_mut().failed, format!("{}: {why}", target.text));
            Live::add(&ctx.live.failed, 1);
        };
        let (mut conn, tls_time) = match Conn::open(target, ctx.tls.as_ref(), deadline).await {
            Ok(c) => c,
            Err(e) => {
                fail(format!("{}: {}", e.step, e.error));
                continue;
            }
        };
        if let Some(t) = tls_time {
            record(&mut ctx.stats.borrow_mut().tls_handshake, t);
        }
        let mut buf = ctx.take_buf();
        handshake::request(&mut buf, ident, &o.api_key, o.update_every, o.ver);
        let sent = conn.send(&buf, deadline).await;
        buf.clear();
        buf.resize(REPLY_MAX, 0);
        let reply = match sent {
            Ok(()) => conn.recv(&mut buf, deadline).await,
            Err(e) => Err(e),
        };
        let outcome = match reply {
            Ok(n) => handshake::classify(&buf[..n], o.ver),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Outcome::NoResponse,
            Err(e) => {
                ctx.give_buf(buf);
                fail(format!("handshake: {e}"));
                continue;
            }
        };
        ctx.give_buf(buf);
        match outcome {
            Outcome::Accepted(session) => {
                let mut st = ctx.stats.borrow_mut();
                record(&mut st.handshake, Instant::now().saturating_duration_since(due));
                st.sessions += 1;
                Live::add(&ctx.live.sessions, 1);
                return Some((conn, session, target.addr));
            }
            Outcome::Rejected(text) => {
                ThreadStats::count(&mut ctx.stats.borrow_mut().rejected, text);
                Live::add(&ctx.live.rejected, 1);
            }
            Outcome::NoResponse => fail("no reply (timeout or closed)".into()),
        }
        conn.close(Instant::now() + Duration::from_secs(1)).await;
    }
    None
}

/// Due time of tick `k`.
fn due(ctx: &ThreadCtx, phase: Duration, interval_us: u64, k: u64) -> Instant {
    ctx.start + phase + Duration::from_micros(interval_us.saturating_mul(k))
}

/// An established session: definitions, then ticks until the run ends or it breaks.
async fn stream(
    ctx: &ThreadCtx,
    slot: usize,
    ident: &Identity,
    mut conn: Conn,
    session: &Session,
    vals: &mut ChildValues,
    probe: Option<&ProbeSlot>,
) -> SessionEnd {
    let o = &ctx.opts;
    let interval = o.interval();
    let interval_us = micros(interval);
    // Children are spread over the interval, deterministically, on a 1 ms grid so that
    // the children of a thread due in the same millisecond share one wake-up.
    let phase = Duration::from_millis(ident.seed % (interval_us / 1000).max(1));

    let mut buf = ctx.take_buf();
    handshake::preamble(&mut buf, session, ident, o.seed);
    buf.extend_from_slice(ctx.tpl.definitions(probe.is_some()));
    let sent = conn.send(&buf, ctx.deadline()).await;
    let len = buf.len() as u64;
    ctx.give_buf(buf);
    if let Err(e) = sent {
        return SessionEnd::Broken(format!("send definitions: {e}"));
    }
    ctx.stats.borrow_mut().bytes += len;
    Live::add(&ctx.live.bytes, len);

    let since = Instant::now().saturating_duration_since(ctx.start + phase);
    let mut k = u64::try_from(since.as_micros()).unwrap_or(u64::MAX).div_ceil(interval_us);
    let mut prev: Option<u64> = None;
    let mut session_ticks = 0u64;
    loop {
        let due_at = due(ctx, phase, interval_us, k);
        if due_at >= ctx.end {
            // Stay connected to the end of the run, then leave politely.
            sleep_until(ctx.end).await;
            conn.close(ctx.end + Duration::from_secs(1)).await;
            return SessionEnd::RunOver;
        }
        sleep_until(due_at).await;
        if ctx.take_churn(slot) {
            conn.close(Instant::now() + Duration::from_secs(1)).await;
            return SessionEnd::Churned;
        }
        let mut buf = ctx.take_buf();
        let interval_sent = prev.map_or(0, |p| (k - p) * interval_us);
        let samples = ctx.tpl.encode_tick(&mut buf, vals, k, interval_sent, probe.is_some());
        let res = conn.send(&buf, ctx.deadline()).await;
        let done = Instant::now();
        let len = buf.len() as u64;
        ctx.give_buf(buf);
        if let Err(e) = res {
            if e.kind() == std::io::ErrorKind::TimedOut && done >= ctx.end {
                ctx.stats.borrow_mut().ticks_cut += 1;
                return SessionEnd::RunOver;
            }
            return SessionEnd::Broken(format!("send: {e}"));
        }
        let lag = done.saturating_duration_since(due_at);
        {
            let mut st = ctx.stats.borrow_mut();
            st.samples += samples;
            st.bytes += len;
            st.ticks += 1;
            record_correct(&mut st.tick_lag, lag, interval);
        }
        Live::add(&ctx.live.samples, samples);
        Live::add(&ctx.live.bytes, len);
        ctx.live.lag_max_us.fetch_max(micros(lag), Ordering::Relaxed);
        if let Some(p) = probe {
            if session_ticks >= PROBE_AFTER_TICKS {
                p.sent(k, done);
            }
        }
        session_ticks += 1;
        prev = Some(k);
        // Ticks a whole interval late or more were accounted for by the correction.
        let late = micros(lag) / interval_us;
        let next = k + late.max(1);
        let skipped = (k + 1..next).take_while(|&j| due(ctx, phase, interval_us, j) < ctx.end).count() as u64;
        ctx.stats.borrow_mut().ticks_skipped += skipped;
        k = next;
    }
}
