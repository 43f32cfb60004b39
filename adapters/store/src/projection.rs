//! The projection runner: reads all streams in global order from a checkpoint, folds them
//! into read-model rows ([`ReadModelFold`]) and hands each batch to a [`ReadModelSink`], which
//! writes the rows and moves its checkpoint in one step (a compare-and-set on the
//! checkpoint), so a crash mid-batch writes nothing and a second runner never writes a
//! batch twice.
//!
//! A runner that starts from a checkpoint needs each stream's state at that point (who sits
//! where, the running hand): it folds the earlier events of a stream the first time it meets
//! the stream, from the store, without producing rows.

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::codec::TableCodec;
use crate::error::{BoxError, StoreError};
use crate::readmodel::{Changes, FoldError, ReadModelFold};
use crate::store::EventStore;
use crate::types::{GlobalPosition, StoredEvent, StreamVersion};

/// How many events a runner reads and writes at once, by default.
pub const DEFAULT_BATCH: usize = 4096;

/// One batch, as a sink sees it.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    /// The stored events, in global order.
    pub events: &'a [StoredEvent],
    /// Their rows.
    pub changes: &'a Changes,
    /// The fold after the batch (folded tables, by stream).
    pub fold: &'a ReadModelFold,
}

/// Where a projection's rows go. Implemented by the Postgres read models and the Redis caches.
#[async_trait]
pub trait ReadModelSink: Send {
    /// The projection's name (its checkpoint's key).
    fn name(&self) -> &str;

    /// The position of the last event whose rows are written (`None`: nothing yet).
    async fn checkpoint(&mut self) -> Result<Option<GlobalPosition>, BoxError>;

    /// Writes a batch's rows and moves the checkpoint from `expected` to the batch's last
    /// position, all or nothing. `Ok(false)`: the checkpoint was not `expected` (another runner
    /// moved it) and nothing was written.
    async fn commit(&mut self, expected: Option<GlobalPosition>, batch: Batch<'_>) -> Result<bool, BoxError>;

    /// Drops every row and the checkpoint, so that the next batches rebuild from the start.
    async fn reset(&mut self) -> Result<(), BoxError>;
}

/// Why a projection stopped.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The store failed.
    #[error("reading the event store failed")]
    Store(#[from] StoreError),
    /// An event cannot be folded: the store's data is wrong (`showdown verify` names it).
    #[error("an event cannot be projected")]
    Fold(#[from] FoldError),
    /// The sink failed.
    #[error("the {name} projection could not write")]
    Sink {
        /// The sink's name.
        name: String,
        /// Why.
        #[source]
        source: BoxError,
    },
}

impl ProjectionError {
    /// Whether trying again later may succeed (the store or the sink was unavailable), as
    /// opposed to data that will never fold.
    #[must_use]
    pub const fn is_transient(&self) -> bool {
        !matches!(self, ProjectionError::Fold(_))
    }
}

/// What a runner did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Progress {
    /// Events folded and written.
    pub events: u64,
    /// Batches committed.
    pub batches: u64,
    /// Rows written.
    pub rows: u64,
    /// Batches another runner had written first (thrown away, then read again from its
    /// checkpoint).
    pub lost_races: u64,
    /// Events folded only to rebuild a stream's state after a (re)start.
    pub history: u64,
    /// The checkpoint after the last batch.
    pub position: Option<GlobalPosition>,
}

/// Runs one projection: a fold and a sink, reading from a store.
pub struct Projector<'a, S> {
    store: &'a dyn EventStore,
    sink: S,
    fold: ReadModelFold,
    batch: usize,
    /// The sink's checkpoint, once read.
    checkpoint: Option<Option<GlobalPosition>>,
    progress: Progress,
}

impl<'a, S: ReadModelSink> Projector<'a, S> {
    /// A runner over `store` writing into `sink`.
    pub fn new(store: &'a dyn EventStore, codec: TableCodec, sink: S) -> Projector<'a, S> {
        Projector {
            store,
            sink,
            fold: ReadModelFold::new(codec),
            batch: DEFAULT_BATCH,
            checkpoint: None,
            progress: Progress::default(),
        }
    }

    /// Reads and writes `batch` events at a time.
    #[must_use]
    pub fn with_batch(mut self, batch: usize) -> Projector<'a, S> {
        self.batch = batch.max(1);
        self
    }

    /// The sink.
    pub const fn sink(&self) -> &S {
        &self.sink
    }

    /// The sink, mutably.
    pub const fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    /// What the runner did so far.
    #[must_use]
    pub const fn progress(&self) -> Progress {
        self.progress
    }

    /// Drops the sink's rows and checkpoint: the next batches rebuild from the first event.
    ///
    /// # Errors
    /// When the sink fails.
    pub async fn rebuild(&mut self) -> Result<(), ProjectionError> {
        self.sink.reset().await.map_err(|source| self.sink_error(source))?;
        self.forget();
        Ok(())
    }

    /// Reads the checkpoint again and forgets every stream's state (after an error, or when
    /// another runner moved the checkpoint).
    pub fn forget(&mut self) {
        self.checkpoint = None;
        self.fold.clear();
    }

    /// Folds and writes one batch; returns the events written (0: caught up).
    ///
    /// # Errors
    /// [`ProjectionError`]; the checkpoint has not moved and the batch can be tried again.
    pub async fn step(&mut self) -> Result<u64, ProjectionError> {
        let checkpoint = match self.checkpoint {
            Some(c) => c,
            None => {
                let c = self.sink.checkpoint().await.map_err(|source| self.sink_error(source))?;
                self.fold.clear();
                self.checkpoint = Some(c);
                self.progress.position = c;
                c
            }
        };
        let from = checkpoint.map_or(GlobalPosition::START, GlobalPosition::next);
        let events = self.store.read_all(from, self.batch).await?;
        if events.is_empty() {
            // Nothing new: check that the sink still holds this runner's checkpoint. A cache
            // that was flushed, or another runner, moved it; start again from the sink's.
            let theirs = self.sink.checkpoint().await.map_err(|source| self.sink_error(source))?;
            if theirs != checkpoint {
                self.progress.lost_races += 1;
                self.forget();
            }
            return Ok(0);
        }
        let mut changes = Changes::default();
        for stored in &events {
            if let Some(expects) = self.fold.expects(&stored.stream)
                && stored.version > expects
            {
                self.fold_history(stored, expects).await?;
            }
            self.fold.fold(stored, &mut changes)?;
        }
        let batch = Batch { events: &events, changes: &changes, fold: &self.fold };
        let written = self.sink.commit(checkpoint, batch).await;
        match written {
            Ok(true) => {
                self.checkpoint = Some(changes.last_position);
                self.progress.position = changes.last_position;
                self.progress.events += changes.events;
                self.progress.batches += 1;
                self.progress.rows += changes.rows() as u64;
                Ok(changes.events)
            }
            Ok(false) => {
                self.progress.lost_races += 1;
                self.forget();
                Ok(0)
            }
            Err(source) => {
                // The fold moved past what was written: start again from the checkpoint.
                self.forget();
                Err(self.sink_error(source))
            }
        }
    }

    /// Writes batches until the store has nothing more.
    ///
    /// # Errors
    /// As [`Projector::step`].
    pub async fn catch_up(&mut self) -> Result<Progress, ProjectionError> {
        loop {
            let n = self.step().await?;
            if n == 0 && self.checkpoint.is_some() && !self.behind().await? {
                return Ok(self.progress);
            }
        }
    }

    /// Catches up, then keeps following the store (polling every `poll`) until `stop` turns
    /// true; then catches up once more and returns. A store or sink that is unavailable is
    /// retried (one warning per outage); an event that cannot be folded ends the run.
    ///
    /// # Errors
    /// [`ProjectionError::Fold`]; or, after `stop`, the error of the final catch-up.
    pub async fn run(&mut self, mut stop: watch::Receiver<bool>, poll: Duration) -> Result<Progress, ProjectionError> {
        let mut failing = false;
        loop {
            let stopping = *stop.borrow();
            let result = if stopping { self.catch_up().await.map(|_| 0) } else { self.step().await };
            match result {
                Ok(n) => {
                    if failing {
                        tracing::info!(projection = self.sink.name(), "the projection writes again");
                        failing = false;
                    }
                    if stopping {
                        return Ok(self.progress);
                    }
                    if n > 0 {
                        continue;
                    }
                }
                Err(e) if e.is_transient() && !stopping => {
                    if !failing {
                        tracing::warn!(
                            projection = self.sink.name(),
                            error = %crate::verify::error_chain(&e),
                            "the projection cannot write; retrying (the tables keep playing)"
                        );
                        failing = true;
                    }
                }
                Err(e) => return Err(e),
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Whether the store holds events past the checkpoint (a batch may have come back empty
    /// after a lost race).
    async fn behind(&self) -> Result<bool, ProjectionError> {
        let from = self.checkpoint.flatten().map_or(GlobalPosition::START, GlobalPosition::next);
        Ok(!self.store.read_all(from, 1).await?.is_empty())
    }

    /// Folds the events of `stored`'s stream from `from` up to (not including) `stored`.
    async fn fold_history(&mut self, stored: &StoredEvent, mut from: StreamVersion) -> Result<(), ProjectionError> {
        while from < stored.version {
            let page = self.store.read_stream(&stored.stream, from, self.batch).await?;
            if page.is_empty() {
                break;
            }
            for e in page.iter().take_while(|e| e.version < stored.version) {
                self.fold.fold_history(e)?;
                self.progress.history += 1;
                from = e.version.next();
            }
        }
        Ok(())
    }

    fn sink_error(&self, source: BoxError) -> ProjectionError {
        ProjectionError::Sink { name: self.sink.name().to_owned(), source }
    }
}

/// A [`ReadModelSink`] in memory: every row a projection wrote, merged as the Postgres read
/// models merge them ([`Changes::absorb`]), and its checkpoint. For tests and the
/// deterministic simulator, which compare a projection that crashed and resumed with a
/// rebuild.
#[derive(Clone, Debug, Default)]
pub struct MemorySink {
    rows: Changes,
    checkpoint: Option<GlobalPosition>,
    fail_next: bool,
}

impl MemorySink {
    /// An empty sink.
    #[must_use]
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// Every row written, merged.
    #[must_use]
    pub const fn rows(&self) -> &Changes {
        &self.rows
    }

    /// Makes the next commit fail with nothing written, as a crash in the middle of a
    /// batch's transaction would (`false`: takes that back).
    pub const fn fail_next_commit(&mut self, fail: bool) {
        self.fail_next = fail;
    }
}

#[async_trait]
impl ReadModelSink for MemorySink {
    fn name(&self) -> &str {
        "memory"
    }

    async fn checkpoint(&mut self) -> Result<Option<GlobalPosition>, BoxError> {
        Ok(self.checkpoint)
    }

    async fn commit(&mut self, expected: Option<GlobalPosition>, batch: Batch<'_>) -> Result<bool, BoxError> {
        if std::mem::take(&mut self.fail_next) {
            return Err("the batch's transaction was cut off before it committed".into());
        }
        if self.checkpoint != expected {
            return Ok(false);
        }
        self.rows.absorb(batch.changes);
        self.checkpoint = batch.changes.last_position;
        Ok(true)
    }

    async fn reset(&mut self) -> Result<(), BoxError> {
        *self = MemorySink::default();
        Ok(())
    }
}
