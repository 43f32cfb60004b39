//! [`MemoryStore`]: the event store in process memory, for tests, simulations and the
//! `memory:` URL. It keeps everything until dropped; one lock orders all appends, so global
//! positions are gapless (0, 1, 2, …).

use std::collections::HashMap;

use async_trait::async_trait;
use showdown_engine::table::CommandId;
use tokio::sync::{RwLock, watch};

use crate::error::StoreError;
use crate::store::{EventStore, Subscription};
use crate::types::{
    Appended, ExpectedVersion, GlobalPosition, NewEvent, Snapshot, StoredEvent, StreamId, StreamVersion,
};

/// An [`EventStore`] in memory.
#[derive(Debug)]
pub struct MemoryStore {
    state: RwLock<State>,
    /// The position after the last event; changes after every append.
    head: watch::Sender<GlobalPosition>,
}

#[derive(Debug, Default)]
struct State {
    /// Every event, in global order: `all[i].position == i`.
    all: Vec<StoredEvent>,
    streams: HashMap<StreamId, Stream>,
}

#[derive(Debug, Default)]
struct Stream {
    /// Indices into `all`, in version order: `all[events[v]].version == v`.
    events: Vec<usize>,
    /// The result of each command's append, for retries.
    commands: HashMap<CommandId, Appended>,
    /// The latest snapshot.
    snapshot: Option<Snapshot>,
}

impl Default for MemoryStore {
    fn default() -> MemoryStore {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> MemoryStore {
        MemoryStore { state: RwLock::new(State::default()), head: watch::channel(GlobalPosition::START).0 }
    }
}

fn version_of(len: usize) -> Option<StreamVersion> {
    len.checked_sub(1).map(|v| StreamVersion(v as u64))
}

#[async_trait]
impl EventStore for MemoryStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        command: CommandId,
        events: Vec<NewEvent>,
    ) -> Result<Appended, StoreError> {
        if events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        let mut state = self.state.write().await;
        let State { all, streams } = &mut *state;
        let s = streams.entry(stream.clone()).or_default();
        // The command check comes first: a retry carries the expectation of its first try,
        // which that try made stale.
        if let Some(&done) = s.commands.get(&command) {
            let first = done.first_position.0 as usize;
            let same = all[first..=done.last_position.0 as usize]
                .iter()
                .map(StoredEvent::to_new_event)
                .eq(events.iter().cloned());
            if !same {
                return Err(StoreError::CommandConflict {
                    stream: stream.clone(),
                    command,
                    first_version: done.first_version,
                });
            }
            return Ok(Appended { deduplicated: true, ..done });
        }
        let actual = version_of(s.events.len());
        if !expected.matches(actual) {
            return Err(StoreError::WrongExpectedVersion { stream: stream.clone(), expected, actual });
        }
        let first_version = StreamVersion(s.events.len() as u64);
        let first_position = GlobalPosition(all.len() as u64);
        for (i, e) in events.into_iter().enumerate() {
            s.events.push(all.len());
            all.push(StoredEvent {
                stream: stream.clone(),
                version: StreamVersion(first_version.0 + i as u64),
                position: GlobalPosition(all.len() as u64),
                event_id: e.event_id,
                command,
                schema: e.schema,
                event_type: e.event_type,
                payload: e.payload,
                metadata: e.metadata,
            });
        }
        let last = all.last().expect("events is not empty");
        let done = Appended {
            first_version,
            last_version: last.version,
            first_position,
            last_position: last.position,
            deduplicated: false,
        };
        s.commands.insert(command, done);
        let head = last.position.next();
        drop(state);
        self.head.send_replace(head);
        Ok(done)
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let state = self.state.read().await;
        let Some(s) = state.streams.get(stream) else { return Ok(Vec::new()) };
        let from = usize::try_from(from.0).unwrap_or(usize::MAX);
        Ok(s.events.iter().skip(from).take(limit).map(|&i| state.all[i].clone()).collect())
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<StreamVersion>, StoreError> {
        let state = self.state.read().await;
        Ok(state.streams.get(stream).and_then(|s| version_of(s.events.len())))
    }

    async fn read_all(&self, from: GlobalPosition, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let state = self.state.read().await;
        let from = usize::try_from(from.0).unwrap_or(usize::MAX);
        Ok(state.all.iter().skip(from).take(limit).cloned().collect())
    }

    async fn find_command(&self, stream: &StreamId, command: CommandId) -> Result<Option<Appended>, StoreError> {
        let state = self.state.read().await;
        let found = state.streams.get(stream).and_then(|s| s.commands.get(&command));
        Ok(found.map(|&a| Appended { deduplicated: true, ..a }))
    }

    async fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), StoreError> {
        let mut state = self.state.write().await;
        let actual = state.streams.get(stream).and_then(|s| version_of(s.events.len()));
        if actual.is_none_or(|v| snapshot.version > v) {
            return Err(StoreError::SnapshotAhead { stream: stream.clone(), version: snapshot.version, actual });
        }
        let s = state.streams.get_mut(stream).expect("the stream has events");
        if s.snapshot.as_ref().is_none_or(|old| old.version < snapshot.version) {
            s.snapshot = Some(snapshot);
        }
        Ok(())
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.state.read().await.streams.get(stream).and_then(|s| s.snapshot.clone()))
    }

    async fn subscribe(&self, from: GlobalPosition) -> Result<Subscription<'_>, StoreError> {
        Ok(Subscription::new(self, from, self.head.subscribe(), "memory:"))
    }
}
