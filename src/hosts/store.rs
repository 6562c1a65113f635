//! The store of a chart being created, from its host's memory mode.
//!
//! Owns: the choice of [`ChartStore`] per memory mode. `dbengine` charts go to the shard's
//! engine (a host without one — e.g. in unit tests — keeps them in a ram ring). `save` and `map` stores read their
//! file here (`<host files dir>/<chart file name>`, see `strata_storage::ringfile`); a
//! host without a files directory keeps those charts in memory. The note returned is to
//! be logged (a file not used, set aside, or a chart kept in memory only).

use strata_storage::{ChartStore, OpenSpec, StoreError};

use super::{Host, MemoryMode};

/// The store for a new chart `chart_id` of `host` with interval `update_every`, at unix
/// second `now`.
pub fn for_new_chart(host: &Host, chart_id: &[u8], update_every: u32, now: i64) -> (ChartStore, Option<StoreError>) {
    let spec = |dir| OpenSpec { dir, chart_id, entries: host.history, update_every, now };
    match (host.memory_mode, host.files_dir.as_deref()) {
        (MemoryMode::None, _) => (ChartStore::None, None),
        (MemoryMode::DbEngine, _) => match &host.engine {
            Some(e) => {
                let id = String::from_utf8_lossy(chart_id);
                (ChartStore::dbengine(e, &host.info.machine_guid, &id, update_every), None)
            }
            None => (ChartStore::ram(host.history, update_every), None),
        },
        (MemoryMode::Save, Some(dir)) => ChartStore::open_save(&spec(dir)),
        (MemoryMode::Map, Some(dir)) => ChartStore::open_map(&spec(dir)),
        (MemoryMode::Ram | MemoryMode::Save | MemoryMode::Map, _) => {
            (ChartStore::ram(host.history, update_every), None)
        }
    }
}
