//! Data collection for the agent's own host (localhost), as Netdata does it: internal
//! collectors (`procfs`, the `proc.plugin`) and external plugins (`plugins`).
//!
//! Design: a collector produces the same protocol lines a plugin or a child would —
//! `CHART`/`CLABEL`/`DIMENSION` once, `BEGIN`/`SET`/`END` every round — and they enter
//! localhost through the shard's one ingest path (`shard::ingest`), exactly like the
//! lines of a streaming child. So the line taps of `shard::ingest` see localhost as a
//! sender must forward it. `local` runs it all on the shard that owns localhost.

pub mod emit;
pub mod heartbeat;
pub mod local;
pub mod plugins;
pub mod procfs;
pub mod spec;
