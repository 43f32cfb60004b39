//! [`RedisSink`]: the store's projection runner writing into Redis. Each batch of events
//! (a) caches every table it touched, at the last version folded, (b) publishes its table
//! events on the spectator and seat feeds (each redacted for its viewer), then (c) adds the
//! batch's finished hands to the leaderboards and moves the leaderboard position, which is
//! the sink's checkpoint. A crash between the steps is harmless: (a) is versioned, (b) is at
//! most once anyway (subscribers see gaps by the versions) and (c) is a compare-and-set on
//! the position, so the batch is simply done again.
//!
//! [`cached_table`] is the reader's side: a server starting cold loads the cached table and
//! reads only the events after its version from the store.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use fred::interfaces::{ClientLike, KeysInterface, PubsubInterface};
use fred::types::{ClusterHash, CustomCommand, Value};
use showdown_engine::table::{Recorded, Table, TableEvent, TableView, Viewer as TableViewer};
use showdown_store::codec::{Codec, TableCodec};
use showdown_store::projection::{Batch, ReadModelSink};
use showdown_store::service::{SNAPSHOT_SCHEMA, decode_snapshot};
use showdown_store::streams::StreamKind;
use showdown_store::{BoxError, CodecError, GlobalPosition, Snapshot, StoredEvent, StreamId, StreamVersion};

use crate::client::RedisCache;
use crate::error::{RedisError, Result};
use crate::feed::{FeedMessage, Viewer};
use crate::keys::key_slot;

/// The projection's name (its checkpoint is the leaderboard position).
pub const SINK_NAME: &str = "redis";

/// The most commands sent in one pipeline: far below the client's command queue
/// (`max_command_buffer`, 10,000 by default) and small enough to answer within the command
/// timeout.
const PIPELINE_COMMANDS: usize = 2_000;

/// What a [`RedisSink`] sent, to see what a batch costs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Batches committed (leaderboard applied).
    pub batches: u64,
    /// Round trips to Redis (a pipeline is one).
    pub round_trips: u64,
    /// Table cache writes sent (a write of an older version is a no-op on the server).
    pub tables: u64,
    /// Feed messages published (one per event and viewer).
    pub messages: u64,
}

/// A [`ReadModelSink`] that keeps the Redis caches: tables, feeds and leaderboards.
pub struct RedisSink {
    cache: RedisCache,
    codec: Arc<TableCodec>,
    publish_after: Option<GlobalPosition>,
    /// Tables this sink cached, to invalidate on reset (besides a SCAN).
    tables: BTreeSet<StreamId>,
    stats: SinkStats,
}

impl std::fmt::Debug for RedisSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSink")
            .field("cache", &self.cache)
            .field("publish_after", &self.publish_after)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl RedisSink {
    /// A sink writing through `cache`, encoding with `codec` (the store's). Only events at
    /// positions after `publish_after` are published on the feeds: a host passes the position
    /// of the store's last event when it starts (`None` for an empty store), so that a
    /// rebuild or a catch-up over old history does not flood the subscribers. The caches and
    /// leaderboards are written for every event either way.
    #[must_use]
    pub fn new(cache: RedisCache, codec: Arc<TableCodec>, publish_after: Option<GlobalPosition>) -> RedisSink {
        RedisSink { cache, codec, publish_after, tables: BTreeSet::new(), stats: SinkStats::default() }
    }

    /// The client.
    #[must_use]
    pub fn cache(&self) -> &RedisCache {
        &self.cache
    }

    /// What was sent so far.
    #[must_use]
    pub fn stats(&self) -> SinkStats {
        self.stats
    }

    /// Publishes only events after `position` from now on.
    pub fn set_publish_after(&mut self, position: Option<GlobalPosition>) {
        self.publish_after = position;
    }

    fn publishes(&self, stored: &StoredEvent) -> bool {
        self.publish_after.is_none_or(|after| stored.position > after)
    }

    /// Caches one table and publishes its events of the batch.
    async fn write_table(&mut self, stream: &StreamId, events: &[&StoredEvent], batch: &Batch<'_>) -> Result<()> {
        const OP: &str = "project_table";
        let Some((table, next)) = batch.fold.table(stream) else { return Ok(()) };
        let Some(version) = next.0.checked_sub(1) else { return Ok(()) };
        let codec = self.codec.codec();
        let encode = |e: CodecError| RedisError::corrupt(OP, "a table the codec encodes", e.to_string());
        let state = encode_state(&self.codec, table).map_err(encode)?;
        let public = codec.encode(&table.view_for(TableViewer::Spectator)).map_err(encode)?;
        let messages = self.messages(stream, table, events)?;

        let key = self.cache.keys().table(stream.as_str())?;
        let put_args: Vec<Value> =
            vec![version.to_string().into(), Value::Bytes(state.clone().into()), Value::Bytes(public.clone().into())];
        let script = &self.cache.scripts().put_table;
        // One pipeline: the cache write first (a subscriber woken by a message finds the
        // cache at least as new), then the messages in version order.
        let mut first = true;
        let mut rest = messages.as_slice();
        let mut reload = false;
        while first || !rest.is_empty() {
            let room = if first { PIPELINE_COMMANDS - 1 } else { PIPELINE_COMMANDS };
            let (chunk, after) = rest.split_at(rest.len().min(room));
            let pipeline = self.cache.client().pipeline();
            let results: Vec<std::result::Result<Value, fred::error::Error>> = self
                .cache
                .run(OP, async {
                    if first {
                        // EVALSHA by hand: fred's pipelines have no script interface.
                        let command = CustomCommand::new("EVALSHA", ClusterHash::Custom(key_slot(&key)), false);
                        let mut args: Vec<Value> = vec![script.sha1().clone().into(), 1.into(), key.clone().into()];
                        args.extend(put_args.iter().cloned());
                        let () = pipeline.custom(command, args).await?;
                    }
                    for (channel, message) in chunk {
                        let () = pipeline.publish(channel.clone(), Value::Bytes(message.clone().into())).await?;
                    }
                    Ok(pipeline.try_all::<Value>().await)
                })
                .await?;
            self.stats.round_trips += 1;
            for (i, result) in results.into_iter().enumerate() {
                match result {
                    Err(e) if first && i == 0 && e.details().starts_with("NOSCRIPT") => reload = true,
                    Err(e) => return Err(RedisError::from_fred(OP, e)),
                    Ok(_) => {}
                }
            }
            if first {
                self.stats.tables += 1;
            }
            self.stats.messages += chunk.len() as u64;
            first = false;
            rest = after;
        }
        if reload {
            // A server that lost its scripts (restarted): load it and write again.
            self.cache.put_table(stream.as_str(), version, &state, &public).await?;
            self.stats.round_trips += 2;
        }
        self.tables.insert(stream.clone());
        Ok(())
    }

    /// The feed messages of a table's events in the batch that are published: each event
    /// redacted for spectators, and for each seat occupied before or after it.
    fn messages(&self, stream: &StreamId, table: &Table, events: &[&StoredEvent]) -> Result<Vec<(String, Vec<u8>)>> {
        const OP: &str = "project_table";
        let published: Vec<&StoredEvent> = events.iter().copied().filter(|e| self.publishes(e)).collect();
        if published.is_empty() {
            return Ok(Vec::new());
        }
        let decoded: Vec<Recorded> = published
            .iter()
            .map(|e| self.codec.decode(e))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| RedisError::corrupt(OP, "table events the codec decodes", e.to_string()))?;
        // Who sits where at each event: the seats at the end of the batch, walked back.
        let mut occupied: Vec<bool> = table.seats().iter().map(Option::is_some).collect();
        let mut seats: Vec<Vec<u8>> = vec![Vec::new(); decoded.len()];
        for (i, recorded) in decoded.iter().enumerate().rev() {
            let after = occupied.clone();
            match &recorded.event {
                TableEvent::SatDown { seat, .. } => set(&mut occupied, seat.0, false),
                TableEvent::CashedOut { seat, .. } => set(&mut occupied, seat.0, true),
                _ => {}
            }
            seats[i] =
                (0..after.len()).filter(|&s| after[s] || occupied[s]).filter_map(|s| u8::try_from(s).ok()).collect();
        }
        let codec = self.codec.codec();
        let encode = |e: CodecError| RedisError::corrupt(OP, "an event the codec encodes", e.to_string());
        let spectator_channel = self.cache.keys().channel(stream.as_str(), Viewer::Spectator)?;
        let mut messages = Vec::new();
        for ((stored, recorded), seats) in published.iter().zip(&decoded).zip(&seats) {
            let spectator = recorded.redacted_for(TableViewer::Spectator);
            let spectator_bytes = codec.encode(&spectator).map_err(encode)?;
            for &seat in seats {
                let own = recorded.redacted_for(TableViewer::Seat(showdown_engine::table::SeatIdx(seat)));
                let bytes =
                    if own == spectator { spectator_bytes.clone() } else { codec.encode(&own).map_err(encode)? };
                let channel = self.cache.keys().channel(stream.as_str(), Viewer::Seat(seat))?;
                messages.push((channel, FeedMessage::encode(stored.version.0, &bytes)));
            }
            messages.push((spectator_channel.clone(), FeedMessage::encode(stored.version.0, &spectator_bytes)));
        }
        Ok(messages)
    }

    /// Deletes every cached table of the namespace (a SCAN), and those this sink wrote.
    async fn invalidate_tables(&mut self) -> Result<()> {
        const OP: &str = "reset";
        let pattern = format!("{}:table:*", glob_escape(self.cache.keys().namespace()));
        let client = self.cache.client().with_options(self.cache.read_options());
        let mut cursor = "0".to_owned();
        let mut keys: Vec<String> = Vec::new();
        for stream in &self.tables {
            if let Ok(key) = self.cache.keys().table(stream.as_str()) {
                keys.push(key);
            }
        }
        loop {
            let page: Value =
                self.cache.run(OP, client.scan_page(cursor.clone(), pattern.clone(), Some(1000), None)).await?;
            let mut page = page.into_array().into_iter();
            let (Some(next), Some(found)) = (page.next(), page.next()) else {
                return Err(RedisError::corrupt(OP, "a SCAN page", "a short reply"));
            };
            keys.extend(found.into_array().into_iter().filter_map(|k| k.as_string()));
            cursor = next.as_string().ok_or_else(|| RedisError::corrupt(OP, "a SCAN cursor", &next))?;
            if !keys.is_empty() {
                let batch = std::mem::take(&mut keys);
                let _removed: i64 = self.cache.run(OP, self.cache.client().del(batch)).await?;
            }
            if cursor == "0" {
                break;
            }
        }
        self.tables.clear();
        Ok(())
    }
}

fn set(occupied: &mut [bool], seat: u8, value: bool) {
    if let Some(slot) = occupied.get_mut(usize::from(seat)) {
        *slot = value;
    }
}

/// Escapes the glob characters of a SCAN pattern.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[async_trait]
impl ReadModelSink for RedisSink {
    fn name(&self) -> &str {
        SINK_NAME
    }

    async fn checkpoint(&mut self) -> std::result::Result<Option<GlobalPosition>, BoxError> {
        Ok(self.cache.leaderboard_position().await?.map(GlobalPosition))
    }

    async fn commit(
        &mut self,
        expected: Option<GlobalPosition>,
        batch: Batch<'_>,
    ) -> std::result::Result<bool, BoxError> {
        let Some(last) = batch.changes.last_position.or_else(|| batch.events.last().map(|e| e.position)) else {
            return Ok(true);
        };
        // (a) and (b): per table touched, its cache and its feed messages, one pipeline.
        let mut by_table: BTreeMap<&StreamId, Vec<&StoredEvent>> = BTreeMap::new();
        for stored in batch.events {
            if StreamKind::of(&stored.stream) == StreamKind::Table {
                by_table.entry(&stored.stream).or_default().push(stored);
            }
        }
        for (stream, events) in by_table {
            if let Err(e) = self.cache.keys().table(stream.as_str()) {
                // A stream name Redis keys cannot hold (a brace): never cached, never fatal.
                tracing::debug!(stream = %stream, error = %e, "table not cached in Redis");
                continue;
            }
            self.write_table(stream, &events, &batch).await?;
        }
        // (c) last: the leaderboards and the checkpoint, a compare-and-set on the position.
        // The fold's per-player statistics of the batch's hands hold both numbers.
        let deltas: Vec<(u64, i64, u64)> = batch.changes.stats.iter().map(|(p, d)| (*p, d.net, d.hands)).collect();
        let refused = self.cache.apply_leaderboard_from(expected.map(|p| p.0), last.0, &deltas).await?;
        self.stats.round_trips += 1;
        match refused {
            None => {
                self.stats.batches += 1;
                Ok(true)
            }
            // This batch landed already (an earlier attempt whose answer was lost).
            Some(stored) if stored == Some(last.0) => {
                self.stats.batches += 1;
                Ok(true)
            }
            // Another runner moved on, or Redis lost the position (restarted empty): the
            // runner reads the checkpoint again (and rebuilds from the start if it is gone).
            Some(_) => Ok(false),
        }
    }

    async fn reset(&mut self) -> std::result::Result<(), BoxError> {
        self.cache.clear_leaderboards().await?;
        self.invalidate_tables().await?;
        Ok(())
    }
}

/// A table's cached state: [`SNAPSHOT_SCHEMA`] (2 bytes, big endian), then the table encoded
/// exactly as a store snapshot's payload.
///
/// # Errors
/// When the codec cannot encode the table.
pub fn encode_state(codec: &TableCodec, table: &Table) -> std::result::Result<Vec<u8>, CodecError> {
    let payload = codec.codec().encode(table)?;
    let mut state = Vec::with_capacity(2 + payload.len());
    state.extend_from_slice(&SNAPSHOT_SCHEMA.to_be_bytes());
    state.extend_from_slice(&payload);
    Ok(state)
}

/// The table a cached state holds, if it is of this code's [`SNAPSHOT_SCHEMA`] and decodes
/// (the store's own rule for snapshots).
#[must_use]
pub fn decode_state(codec: &TableCodec, version: u64, state: &[u8]) -> Option<Table> {
    let (schema, payload) = state.split_first_chunk::<2>()?;
    let snapshot =
        Snapshot { version: StreamVersion(version), schema: u16::from_be_bytes(*schema), payload: payload.to_vec() };
    decode_snapshot(codec, &snapshot)
}

/// The spectator view a cached table holds, if it decodes.
#[must_use]
pub fn decode_public(codec: &TableCodec, public: &[u8]) -> Option<TableView> {
    codec.codec().decode(public).ok()
}

/// The cached table of `stream` and the stream version it reflects, for a server starting
/// cold: it then reads only the events after that version from the store. `None` when
/// nothing is cached, or the cached state is of another [`SNAPSHOT_SCHEMA`] or does not
/// decode (then load from the store as usual).
///
/// # Errors
/// [`RedisError::Unavailable`] when Redis is down or slow (load from the store);
/// [`RedisError::InvalidName`] for a stream name Redis keys cannot hold.
pub async fn cached_table(
    cache: &RedisCache,
    stream: &StreamId,
    codec: &TableCodec,
) -> Result<Option<(Table, StreamVersion)>> {
    let Some(cached) = cache.get_table(stream.as_str()).await? else { return Ok(None) };
    Ok(decode_state(codec, cached.version, &cached.state).map(|table| (table, StreamVersion(cached.version))))
}
