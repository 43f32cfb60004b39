//! The [`EventStore`] trait and [`Subscription`], the catch-up-then-live reader built on
//! any store's [`EventStore::read_all`] and a change signal.

use std::collections::VecDeque;

use async_trait::async_trait;
use showdown_engine::table::CommandId;
use tokio::sync::watch;

use crate::error::{BoxError, StoreError};
use crate::types::{
    AppendRequest, Appended, ExpectedVersion, GlobalPosition, NewEvent, Snapshot, StoredEvent, StreamId, StreamVersion,
};

/// An append-only store of streams of events: the source of truth for every table.
///
/// Contract (checked by `showdown_store::conformance`):
/// - an append is atomic: all its events are stored, with consecutive versions, or none;
/// - versions in a stream start at 0 and have no gaps; one writer wins per version;
/// - global positions strictly increase in the order readers see events in
///   [`EventStore::read_all`], and a reader never skips an event committed before it;
/// - an append whose command id is already in the stream stores nothing and returns the
///   first append's result (with [`Appended::deduplicated`] set), whatever its expected
///   version, as long as its events are the same; with other events it is a
///   [`StoreError::CommandConflict`].
///
/// Every method may fail with [`StoreError::Unavailable`] when the backend does; the
/// conditions below are the others.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends `events`, all caused by `command`, to `stream` if it is at `expected`.
    ///
    /// # Errors
    /// [`StoreError::WrongExpectedVersion`] (with the actual version) if the stream is
    /// elsewhere, [`StoreError::CommandConflict`] if `command` was appended with other
    /// events, [`StoreError::EmptyAppend`] if `events` is empty.
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        command: CommandId,
        events: Vec<NewEvent>,
    ) -> Result<Appended, StoreError>;

    /// Appends each request as [`EventStore::append`] would, in order, and returns each one's
    /// result in the same order. Each request is atomic and independent: a conflict or error
    /// in one does not fail the others, and a later request to the same stream sees the
    /// earlier ones. Backends may commit many requests in one transaction (group commit);
    /// the default appends them one by one.
    async fn append_batch(&self, requests: Vec<AppendRequest>) -> Vec<Result<Appended, StoreError>> {
        let mut results = Vec::with_capacity(requests.len());
        for r in requests {
            results.push(self.append(&r.stream, r.expected, r.command, r.events).await);
        }
        results
    }

    /// Where the append of `command` to `stream` put its events, if it was appended: the
    /// same result a retry of it gets (with `deduplicated` set). Hosts ask it when a command
    /// they receive again no longer decides the same way (a client's retry after a lost
    /// answer, once the table moved on).
    ///
    /// The default reads the whole stream; backends answer from their command index.
    ///
    /// # Errors
    /// As [`EventStore::read_stream`].
    async fn find_command(&self, stream: &StreamId, command: CommandId) -> Result<Option<Appended>, StoreError> {
        let mut from = StreamVersion::FIRST;
        let mut found: Option<Appended> = None;
        loop {
            let page = self.read_stream(stream, from, 1024).await?;
            for e in &page {
                if e.command == command {
                    let a = found.get_or_insert(Appended {
                        first_version: e.version,
                        last_version: e.version,
                        first_position: e.position,
                        last_position: e.position,
                        deduplicated: true,
                    });
                    a.last_version = e.version;
                    a.last_position = e.position;
                } else if found.is_some() {
                    return Ok(found);
                }
            }
            match page.last() {
                Some(last) if page.len() == 1024 => from = last.version.next(),
                _ => return Ok(found),
            }
        }
    }

    /// Stores `snapshot` beside `stream`, unless the stream already has one at the same or a
    /// later version (then it does nothing: snapshots only move forward).
    ///
    /// # Errors
    /// [`StoreError::SnapshotAhead`] if the stream has not reached the snapshot's version.
    async fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), StoreError>;

    /// The latest snapshot stored beside `stream`, if any.
    ///
    /// # Errors
    /// Only [`StoreError::Unavailable`].
    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError>;

    /// Reads up to `limit` events of `stream` from version `from` on, in version order. A
    /// stream with no events, or a `from` past its end, gives an empty list.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if a stored record cannot be read.
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// The version of the stream's last event, `None` if it has none.
    ///
    /// # Errors
    /// Only [`StoreError::Unavailable`].
    async fn stream_version(&self, stream: &StreamId) -> Result<Option<StreamVersion>, StoreError>;

    /// Reads up to `limit` events of all streams at position `from` or later, in global order.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if a stored record cannot be read.
    async fn read_all(&self, from: GlobalPosition, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// Subscribes to all streams from position `from`: the [`Subscription`] first yields the
    /// stored events (catch-up), then waits for new ones (live). Backends build it with
    /// [`Subscription::new`] over a signal that changes after every append.
    ///
    /// # Errors
    /// Only [`StoreError::Unavailable`].
    async fn subscribe(&self, from: GlobalPosition) -> Result<Subscription<'_>, StoreError>;
}

/// How many events a [`Subscription`] reads at once.
pub const SUBSCRIPTION_BATCH: usize = 512;

/// Events of all streams in global order, from a position on, without end: an async
/// [`Subscription::next`] returns the next event, waiting for one to be appended if needed.
///
/// Catch-up and live are one loop: read a batch after the last event seen; if there is
/// none, wait for the store's change signal (a [`watch`] of the head position) and read
/// again. So no event is missed or repeated at the switch from catch-up to live, and a slow
/// subscriber only falls behind (it never overflows a buffer or drops events). Dropping the
/// subscription stops it; resume later from the last position handled, plus one.
pub struct Subscription<'a> {
    store: &'a dyn EventStore,
    changed: watch::Receiver<GlobalPosition>,
    location: String,
    from: GlobalPosition,
    buffer: VecDeque<StoredEvent>,
}

impl std::fmt::Debug for Subscription<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("location", &self.location).field("from", &self.from).finish()
    }
}

impl<'a> Subscription<'a> {
    /// A subscription to `store` from `from`. `changed` must change after every append
    /// (its value is not read: any change means "read again"); `location` names the store
    /// in errors.
    #[must_use]
    pub fn new(
        store: &'a dyn EventStore,
        from: GlobalPosition,
        changed: watch::Receiver<GlobalPosition>,
        location: impl Into<String>,
    ) -> Subscription<'a> {
        Subscription { store, changed, location: location.into(), from, buffer: VecDeque::new() }
    }

    /// The position the next event will be at or after.
    #[must_use]
    pub const fn position(&self) -> GlobalPosition {
        self.from
    }

    /// The next event, waiting for one if the subscriber has seen them all. Cancel-safe:
    /// dropping the future loses no event.
    ///
    /// # Errors
    /// As [`EventStore::read_all`]; [`StoreError::Unavailable`] if the store closed its
    /// change signal.
    pub async fn next(&mut self) -> Result<StoredEvent, StoreError> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                self.from = event.position.next();
                return Ok(event);
            }
            // Mark the signal seen before reading: an append after the read changes it again.
            self.changed.borrow_and_update();
            let batch = self.store.read_all(self.from, SUBSCRIPTION_BATCH).await?;
            if batch.is_empty() {
                if self.changed.changed().await.is_err() {
                    return Err(StoreError::Unavailable {
                        location: self.location.clone(),
                        source: BoxError::from("the store closed its change signal"),
                    });
                }
            } else {
                self.buffer.extend(batch);
            }
        }
    }
}
