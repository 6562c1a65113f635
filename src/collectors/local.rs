//! Localhost's collection, on the shard that owns localhost: the `proc.plugin` round
//! every `update every` (aligned like Netdata's heartbeat) and the external plugin
//! supervisor, both feeding the shard's ingest path.
//!
//! Owns: [`start`]. Invariants: collection runs whatever the node's role (a parent and
//! a proxy collect their own host too); `[plugins] proc = no` turns the internal
//! collectors off, `[plugin:proc] MODULE = no` one module; our own lines failing to
//! parse would be a bug, which is logged and answered by defining every chart again on
//! a fresh session, never by stopping.

use std::rc::Rc;
use std::time::Duration;

use crate::hosts::ReceiverSession;
use crate::shard::ingest::{ingest, LineSource};
use crate::shard::state::Shard;
use crate::shard::unix_now_us;

use super::heartbeat::Heartbeat;
use super::plugins::{self, Target};
use super::procfs::{ProcPlugin, PLUGIN};

/// Stream version our own lines are parsed at (they carry chart labels).
const PROC_PROTOCOL_VERSION: u32 = 4;

/// Starts localhost's collectors on this shard (call only on the shard that owns it,
/// after localhost exists).
pub fn start(shard: &Rc<Shard>) {
    let guid = shard.local_guid.clone();
    let Some(host_id) = shard.registry.borrow().find_guid(&guid) else {
        crate::error!("collectors: localhost {guid} is not on this shard; nothing is collected");
        return;
    };
    // With `[stream] enabled = yes`, everything collected here also goes upstream.
    if let Some(tap) = crate::shard::forward::localhost_tap(shard) {
        crate::shard::forward::register(shard, &guid, tap);
    }
    let target = Target { host_id, guid, running: Default::default() };
    shard.on_shutdown(plugins::shutdown_hook(target.running.clone()));
    if shard.config.plugins.internal_enabled("proc") {
        glommio::spawn_local(proc_loop(shard.clone(), target.clone())).detach();
    } else {
        crate::info!("PROC: disabled by [plugins] proc = no");
    }
    glommio::spawn_local(plugins::supervise(shard.clone(), target)).detach();
}

fn new_source(ue: u32) -> LineSource {
    LineSource::new(PLUGIN, ReceiverSession::new(PROC_PROTOCOL_VERSION, PLUGIN, ue), true)
}

async fn proc_loop(shard: Rc<Shard>, target: Target) {
    let ue = shard.config.global.update_every;
    let config = shard.config.clone();
    let mut plugin = ProcPlugin::new("/", |m| config.plugins.proc_module_enabled(m));
    let mut src = new_source(ue);
    let mut hb = Heartbeat::new(ue, unix_now_us());
    let mut taps_seen = shard.taps.borrow().generation();
    loop {
        let now = unix_now_us();
        let wait = u64::try_from(hb.next_at(now) - now).unwrap_or(0);
        glommio::timer::sleep(Duration::from_micros(wait)).await;
        let now = unix_now_us();
        let dt = hb.tick(now);
        let generation = shard.taps.borrow().generation();
        if generation != taps_seen {
            // A new line tap: it gets every definition too.
            taps_seen = generation;
            plugin.redefine_all();
        }
        let bytes = plugin.tick(now, dt, ue);
        src.push(&bytes);
        if let Err(e) = ingest(&shard, target.host_id, &target.guid, &mut src, "PROC") {
            crate::error!("PROC: {e}; defining every chart again");
            src = new_source(ue);
            plugin.redefine_all();
        }
    }
}
