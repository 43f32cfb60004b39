//! [`CacheSink`]: the Redis caches of a table server, in memory, fed by a projection as
//! `showdown_redis::RedisSink` is: each table's state with its stream version (written only
//! if newer) and the net leaderboard, with the checkpoint beside them. A flush drops
//! everything, checkpoint included, as `FLUSHALL` does; the projection then rebuilds.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use showdown_engine::table::Table;
use showdown_store::projection::{Batch, ReadModelSink};
use showdown_store::{BoxError, GlobalPosition, StreamId, StreamVersion};

/// The cached tables and leaderboard, and the position they reflect.
#[derive(Clone, Debug, Default)]
pub struct CacheSink {
    tables: BTreeMap<StreamId, (StreamVersion, Table)>,
    net: BTreeMap<u64, i64>,
    checkpoint: Option<GlobalPosition>,
}

impl CacheSink {
    /// An empty cache.
    #[must_use]
    pub fn new() -> CacheSink {
        CacheSink::default()
    }

    /// A table's cached state and the version it reflects.
    #[must_use]
    pub fn table(&self, stream: &StreamId) -> Option<&(StreamVersion, Table)> {
        self.tables.get(stream)
    }

    /// Every cached table.
    pub fn tables(&self) -> impl Iterator<Item = (&StreamId, &(StreamVersion, Table))> {
        self.tables.iter()
    }

    /// The net leaderboard: chips won or lost, by player.
    #[must_use]
    pub const fn net(&self) -> &BTreeMap<u64, i64> {
        &self.net
    }

    /// Drops every key.
    pub fn flush(&mut self) {
        *self = CacheSink::default();
    }
}

#[async_trait]
impl ReadModelSink for CacheSink {
    fn name(&self) -> &str {
        "cache"
    }

    async fn checkpoint(&mut self) -> Result<Option<GlobalPosition>, BoxError> {
        Ok(self.checkpoint)
    }

    async fn commit(&mut self, expected: Option<GlobalPosition>, batch: Batch<'_>) -> Result<bool, BoxError> {
        // Tables first, each only if newer (a lost race writes nothing older), then the
        // leaderboard with the checkpoint, as the Redis sink orders its writes.
        let touched: BTreeSet<&StreamId> = batch.events.iter().map(|e| &e.stream).collect();
        for stream in touched {
            // The fold names the version it expects next: the cached state is at the one before.
            let Some((table, next)) = batch.fold.table(stream) else { continue };
            let Some(version) = next.0.checked_sub(1).map(StreamVersion) else { continue };
            let newer = self.tables.get(stream).is_none_or(|(cached, _)| *cached < version);
            if newer {
                self.tables.insert(stream.clone(), (version, table.clone()));
            }
        }
        if self.checkpoint != expected {
            return Ok(false);
        }
        for (player, delta) in &batch.changes.stats {
            *self.net.entry(*player).or_default() += delta.net;
        }
        self.checkpoint = batch.changes.last_position;
        Ok(true)
    }

    async fn reset(&mut self) -> Result<(), BoxError> {
        self.flush();
        Ok(())
    }
}
