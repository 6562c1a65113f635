//! `/api/v1/dbengine` (a strata extension): the dbengine counters of every shard and their
//! total, as JSON. Pure rendering; the runtime gathers the numbers.

use serde_json::{json, Map, Value};
use strata_storage::dbengine::EngineStats;

use super::Response;

/// One shard's engine as the endpoint shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardEngine {
    pub shard: usize,
    /// The shard's files directory.
    pub dir: String,
    pub disk_quota_bytes: u64,
    pub stats: EngineStats,
}

fn stats_json(s: &EngineStats, disk_quota_bytes: u64) -> Map<String, Value> {
    let v = json!({
        "files_attached": s.files_attached,
        "page_cache": {
            "size_bytes": s.cache_limit_bytes,
            "used_bytes": s.cache_used_bytes,
            "dirty_bytes": s.cache_dirty_bytes,
            "clean_bytes": s.cache_clean_bytes,
            "dirty_blocks": s.cache_dirty_blocks,
            "clean_blocks": s.cache_clean_blocks,
            "hits": s.cache_hits,
            "misses": s.cache_misses,
            "evictions": s.cache_evictions,
        },
        "open_blocks_bytes": s.open_bytes,
        "flush": {
            "backlog_bytes": s.flush_backlog_bytes,
            "backlog_blocks": s.flush_backlog_blocks,
            "in_flight_bytes": s.flush_in_flight_bytes,
            "blocks_flushed": s.blocks_flushed,
            "values_flushed": s.values_flushed,
            "bytes_flushed": s.bytes_flushed,
            "errors": s.flush_errors,
        },
        "index": {
            "series": s.series,
            "blocks": s.blocks_indexed,
            "blocks_on_disk": s.blocks_on_disk,
        },
        "sealed": {
            "blocks": s.blocks_sealed,
            "values": s.values_sealed,
            "bytes": s.bytes_sealed,
            "bytes_per_sample": s.encoded_bytes_per_sample,
        },
        "disk": {
            "quota_bytes": disk_quota_bytes,
            "bytes_written": s.files.bytes_written,
            "bytes_read": s.files.bytes_read,
            "bytes_per_sample": s.disk_bytes_per_sample,
            "extent_bytes_per_sample": s.extent_bytes_per_sample,
            "datafiles": s.files.datafiles,
            "datafiles_bytes": s.files.datafile_bytes,
            "journals_bytes": s.files.journal_bytes,
            "datafile_target_bytes": s.files.datafile_target_bytes,
            "extents_written": s.files.extents_written,
            "extents_read": s.files.extents_read,
            "datafiles_created": s.files.datafiles_created,
            "datafiles_deleted": s.files.datafiles_deleted,
            "crc_failures": s.files.crc_failures,
            "read_errors": s.files.read_errors,
            "write_errors": s.files.write_errors,
            "corrupt_blocks": s.corrupt_blocks,
            "loads": s.disk_loads,
            "load_errors": s.load_errors,
        },
        "decode_errors": s.decode_errors,
        "dropped": {
            "blocks": s.dropped_blocks,
            "values": s.dropped_values,
            "bytes": s.dropped_bytes,
        },
        "backpressure": {
            "waits": s.backpressure_waits,
            "wait_ms": s.backpressure_wait_ms,
        },
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The endpoint's body: `{ "shards": [...], "total": {...} }`.
pub fn render(shards: &[ShardEngine]) -> Response {
    let total = EngineStats::sum(shards.iter().map(|s| &s.stats));
    let quota: u64 = shards.iter().map(|s| s.disk_quota_bytes).sum();
    let list: Vec<Value> = shards
        .iter()
        .map(|s| {
            let mut m = Map::new();
            m.insert("shard".into(), json!(s.shard));
            m.insert("dir".into(), json!(s.dir));
            m.extend(stats_json(&s.stats, s.disk_quota_bytes));
            Value::Object(m)
        })
        .collect();
    let body = json!({ "shards": list, "total": Value::Object(stats_json(&total, quota)) });
    Response::json(serde_json::to_vec_pretty(&body).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_shard_and_total() {
        let a = EngineStats {
            cache_limit_bytes: 100,
            cache_dirty_bytes: 7,
            values_sealed: 10,
            bytes_sealed: 20,
            encoded_bytes_per_sample: 2.0,
            ..Default::default()
        };
        let b = EngineStats {
            cache_limit_bytes: 100,
            cache_dirty_bytes: 3,
            values_sealed: 30,
            bytes_sealed: 20,
            ..Default::default()
        };
        let r = render(&[
            ShardEngine { shard: 0, dir: "/c/dbengine/shard-0".into(), disk_quota_bytes: 5, stats: a },
            ShardEngine { shard: 1, dir: "/c/dbengine/shard-1".into(), disk_quota_bytes: 5, stats: b },
        ]);
        assert_eq!(r.status, 200);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["shards"][1]["dir"], "/c/dbengine/shard-1");
        assert_eq!(v["shards"][0]["page_cache"]["dirty_bytes"], 7);
        assert_eq!(v["shards"][0]["sealed"]["bytes_per_sample"], 2.0);
        assert_eq!(v["total"]["page_cache"]["size_bytes"], 200);
        assert_eq!(v["total"]["page_cache"]["dirty_bytes"], 10);
        assert_eq!(v["total"]["sealed"]["bytes_per_sample"], 1.0);
        assert_eq!(v["total"]["disk"]["quota_bytes"], 10);
        assert_eq!(v["total"]["disk"]["datafiles"], 0);
    }
}
