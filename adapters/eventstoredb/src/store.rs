//! [`EventStoreDbStore`]: the [`EventStore`] trait on the official client. The mapping it
//! applies lives in [`crate::mapping`] and its append decisions in [`crate::dedup`]; this
//! module only sends requests and follows those decisions.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use kurrentdb::Client;
use showdown_store::{
    Appended, BoxError, CommandId, EventStore, ExpectedVersion, GlobalPosition, NewEvent, Snapshot, StoreError,
    StoredEvent, StreamId, StreamVersion, Subscription,
};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::backend::{Backend, KurrentBackend, Record};
use crate::config::{ConfigError, EsdbConfig};
use crate::dedup::{self, CommandSpan, Outcome, Step, StreamIndex};
use crate::mapping::{self, EncodedEvent, RecordView};

/// How many records one read of a stream asks for while building a command index.
const INDEX_PAGE: usize = 1024;

/// How many times an append or a snapshot save goes round (each round means another
/// writer got in first) before it gives up with [`StoreError::Unavailable`].
const MAX_ROUNDS: usize = 100;

/// How many snapshots a snapshot stream keeps (its `$maxCount`): readers only want the last.
const SNAPSHOTS_KEPT: u64 = 1;

/// An [`EventStore`] on EventStoreDB or KurrentDB (22.6 or later).
///
/// Cheap to share behind an `Arc`; all methods take `&self`. Create it inside a tokio
/// runtime: the client and the subscription signal run tasks on it. See the crate docs for
/// how streams, events, positions, snapshots and idempotency map onto the server.
pub struct EventStoreDbStore {
    backend: Arc<dyn Backend>,
    config: EsdbConfig,
    /// Per stream, the command index, behind an async lock that also orders this process's
    /// appends to the stream.
    indexes: Mutex<HashMap<StreamId, Arc<tokio::sync::Mutex<StreamIndex>>>>,
    /// The change signal: bumped after each of our appends and, once a subscription asked
    /// for it, after each append anyone makes to our streams.
    head: Arc<watch::Sender<GlobalPosition>>,
    /// The task that follows `$all` for [`EventStoreDbStore::head`], once started.
    watcher: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl fmt::Debug for EventStoreDbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStoreDbStore").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Drop for EventStoreDbStore {
    fn drop(&mut self) {
        if let Some(task) = self.watcher.get_mut().take() {
            task.abort();
        }
    }
}

impl EventStoreDbStore {
    /// A store for `config`. Connects lazily: the first request reaches the server (use
    /// [`EventStoreDbStore::ping`] to check it at once).
    ///
    /// # Errors
    /// [`ConfigError::NoRuntime`] outside a tokio runtime, [`ConfigError::Client`] if the
    /// client refuses the settings.
    pub fn new(config: EsdbConfig) -> Result<EventStoreDbStore, ConfigError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ConfigError::NoRuntime)?;
        let client = Client::with_runtime_handle(runtime.clone(), config.settings().clone()).map_err(|e| {
            ConfigError::Client { location: config.location().to_owned(), source: BoxError::from(e.to_string()) }
        })?;
        let backend = KurrentBackend { client, runtime, timeout: config.timeout() };
        Ok(EventStoreDbStore::with_backend(config, Arc::new(backend)))
    }

    /// A store for a connection string (see [`EsdbConfig::parse`]).
    ///
    /// # Errors
    /// As [`EsdbConfig::parse`] and [`EventStoreDbStore::new`].
    pub fn open(url: &str) -> Result<EventStoreDbStore, ConfigError> {
        EventStoreDbStore::new(EsdbConfig::parse(url)?)
    }

    pub(crate) fn with_backend(config: EsdbConfig, backend: Arc<dyn Backend>) -> EventStoreDbStore {
        EventStoreDbStore {
            backend,
            config,
            indexes: Mutex::new(HashMap::new()),
            head: Arc::new(watch::channel(GlobalPosition::START).0),
            watcher: tokio::sync::Mutex::new(None),
        }
    }

    /// Checks that the server answers (it asks for the server's version and features).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], naming the store's location, if it does not within the
    /// configured timeout.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.backend.ping().await.map_err(|e| self.unavailable(e))
    }

    /// The configuration: location, category, limits.
    #[must_use]
    pub const fn config(&self) -> &EsdbConfig {
        &self.config
    }

    fn unavailable(&self, error: kurrentdb::Error) -> StoreError {
        mapping::unavailable(self.config.location(), error)
    }

    fn gave_up(&self, why: String) -> StoreError {
        StoreError::Unavailable { location: self.config.location().to_owned(), source: BoxError::from(why) }
    }

    /// The last record of `name`, if any.
    async fn last_record(&self, name: &str, leader: bool) -> Result<Option<Record>, StoreError> {
        self.backend.read_last(name, leader).await.map_err(|e| self.unavailable(e))
    }

    /// Appends `events` to `name` if its last event is at `at`; the revision of the last
    /// event appended.
    async fn write(
        &self,
        name: &str,
        at: Option<StreamVersion>,
        events: &[EncodedEvent],
    ) -> Result<u64, kurrentdb::Error> {
        self.backend.append(name, mapping::expected_revision(ExpectedVersion::of(at)), events.to_vec()).await
    }

    /// The events a span of `stream` holds, decoded.
    async fn read_span(
        &self,
        stream: &StreamId,
        name: &str,
        span: CommandSpan,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let count = usize::try_from(span.count).unwrap_or(usize::MAX);
        let records =
            self.backend.read_forward(name, span.first.0, count, true).await.map_err(|e| self.unavailable(e))?;
        decode_all(stream, &records)
    }

    /// Reads what `stream` gained since `index`'s head into it.
    async fn catch_up(&self, stream: &StreamId, name: &str, index: &mut StreamIndex) -> Result<(), StoreError> {
        loop {
            let page = self
                .backend
                .read_forward(name, index.next_version(), INDEX_PAGE, true)
                .await
                .map_err(|e| self.unavailable(e))?;
            for record in &page {
                let command = mapping::decode_command(stream, &RecordView::of(record))?;
                index.observe(StreamVersion(record.revision), command);
            }
            if page.len() < INDEX_PAGE {
                index.trusted = true;
                return Ok(());
            }
        }
    }

    /// The command index of `stream`, created empty if this process has none; idle indexes
    /// are evicted past the configured bound.
    fn index_of(&self, stream: &StreamId) -> Arc<tokio::sync::Mutex<StreamIndex>> {
        let mut indexes = self.indexes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(index) = indexes.get(stream) {
            return Arc::clone(index);
        }
        let max = self.config.max_indexed_streams();
        if indexes.len() >= max {
            // Only indexes no append holds; they are rebuilt from their streams when needed.
            let mut excess = indexes.len() + 1 - max;
            indexes.retain(|_, index| {
                let evict = excess > 0 && Arc::strong_count(index) == 1;
                excess -= usize::from(evict);
                !evict
            });
        }
        Arc::clone(indexes.entry(stream.clone()).or_default())
    }

    /// Starts the task that turns a `$all` subscription into change signals, unless it
    /// runs, and waits until the server confirms the subscription (so no append after this
    /// returns goes unsignalled).
    async fn ensure_watcher(&self) -> Result<(), StoreError> {
        let mut watcher = self.watcher.lock().await;
        if watcher.as_ref().is_some_and(|task| !task.is_finished()) {
            return Ok(());
        }
        let (ready_tx, ready_rx) = oneshot::channel();
        let task = self.backend.follow(self.config.event_stream_prefix(), Arc::clone(&self.head), ready_tx);
        match tokio::time::timeout(self.config.timeout(), ready_rx).await {
            Ok(Ok(Ok(()))) => {
                *watcher = Some(task);
                Ok(())
            }
            Ok(Ok(Err(e))) => Err(self.unavailable(e)),
            Ok(Err(_)) => Err(self.gave_up("the $all subscription task stopped before it was confirmed".to_owned())),
            Err(_) => {
                task.abort();
                Err(self.gave_up(format!("the $all subscription was not confirmed within {:?}", self.config.timeout())))
            }
        }
    }
}

/// Decodes records of `stream`, skipping the server's own.
fn decode_all(stream: &StreamId, records: &[Record]) -> Result<Vec<StoredEvent>, StoreError> {
    records.iter().filter_map(|r| mapping::decode_event(stream, &RecordView::of(r)).transpose()).collect()
}

#[async_trait]
impl EventStore for EventStoreDbStore {
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
        let name = self.config.event_stream_name(stream);
        let data: Vec<EncodedEvent> = events.iter().map(|e| mapping::encode_event(command, e)).collect();
        let count = events.len() as u64;
        let index = self.index_of(stream);
        let mut index = index.lock().await;
        let mut synced = false;
        for _ in 0..MAX_ROUNDS {
            match dedup::next_step(&index, command, expected, synced) {
                Step::Compare(span) => {
                    drop(index);
                    let stored = self.read_span(stream, &name, span).await?;
                    return match dedup::compare(&stored, command, &events) {
                        Outcome::Duplicate(first) => Ok(first),
                        Outcome::Conflict => Err(StoreError::CommandConflict {
                            stream: stream.clone(),
                            command,
                            first_version: span.first,
                        }),
                    };
                }
                Step::CatchUp => {
                    self.catch_up(stream, &name, &mut index).await?;
                    synced = true;
                }
                Step::Reject { actual } => {
                    return Err(StoreError::WrongExpectedVersion { stream: stream.clone(), expected, actual });
                }
                Step::Write { at } => match self.write(&name, at, &data).await {
                    Ok(last) => {
                        let Some(first) = last.checked_add(1).and_then(|end| end.checked_sub(count)) else {
                            return Err(self.gave_up(format!("{stream}: the server acknowledged an append ending at revision {last}, before {count} events fit")));
                        };
                        let span = CommandSpan { first: StreamVersion(first), count };
                        // The positions are read back: the append's answer holds only one.
                        let stored = match self.read_span(stream, &name, span).await {
                            Ok(stored) => stored,
                            Err(e) => {
                                index.trusted = false;
                                return Err(e);
                            }
                        };
                        let Some(appended) =
                            dedup::appended_of(&stored).filter(|_| dedup::is_own_write(&stored, command, &events))
                        else {
                            index.trusted = false;
                            return Err(self.gave_up(format!(
                                "{stream}: the server acknowledged the append, but versions {first} to {last} hold other events"
                            )));
                        };
                        index.record_append(command, span);
                        drop(index);
                        self.head.send_modify(|p| *p = (*p).max(appended.last_position.next()));
                        return Ok(appended);
                    }
                    Err(kurrentdb::Error::WrongExpectedVersion { current, .. }) => {
                        self.catch_up(stream, &name, &mut index).await?;
                        // A read that lags the server's answer is not current: go round again.
                        synced = index.head >= mapping::actual_version(current);
                    }
                    Err(e) => {
                        // The write may still have happened (a timeout, a dropped connection):
                        // a retry must read the stream before it trusts the command's absence.
                        index.trusted = false;
                        return Err(self.unavailable(e));
                    }
                },
            }
        }
        Err(self.gave_up(format!("{stream}: other writers got in first {MAX_ROUNDS} times in a row")))
    }

    async fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), StoreError> {
        let name = self.config.event_stream_name(stream);
        let actual = self.last_record(&name, true).await?.map(|r| StreamVersion(r.revision));
        if actual.is_none_or(|v| snapshot.version > v) {
            return Err(StoreError::SnapshotAhead { stream: stream.clone(), version: snapshot.version, actual });
        }
        let name = self.config.snapshot_stream_name(stream);
        let data = [mapping::encode_snapshot(&snapshot)];
        for _ in 0..MAX_ROUNDS {
            let last = self.last_record(&name, true).await?;
            if let Some(record) = &last {
                // A record that cannot be read is replaced: snapshots are derived data.
                let old = mapping::decode_snapshot(&RecordView::of(record));
                if old.is_ok_and(|old| old.version >= snapshot.version) {
                    return Ok(());
                }
            } else {
                self.backend.set_max_count(&name, SNAPSHOTS_KEPT).await.map_err(|e| self.unavailable(e))?;
            }
            match self.write(&name, last.map(|r| StreamVersion(r.revision)), &data).await {
                Ok(_) => return Ok(()),
                Err(kurrentdb::Error::WrongExpectedVersion { .. }) => {}
                Err(e) => return Err(self.unavailable(e)),
            }
        }
        Err(self.gave_up(format!("{stream}: other snapshot writers got in first {MAX_ROUNDS} times in a row")))
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        let name = self.config.snapshot_stream_name(stream);
        let Some(record) = self.last_record(&name, false).await? else { return Ok(None) };
        mapping::decode_snapshot(&RecordView::of(&record))
            .map(Some)
            .map_err(|e| mapping::corrupt(stream, record.revision, e))
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let name = self.config.event_stream_name(stream);
        let records = self.backend.read_forward(&name, from.0, limit, false).await.map_err(|e| self.unavailable(e))?;
        decode_all(stream, &records)
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<StreamVersion>, StoreError> {
        let name = self.config.event_stream_name(stream);
        Ok(self.last_record(&name, false).await?.map(|r| StreamVersion(r.revision)))
    }

    async fn read_all(&self, from: GlobalPosition, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let start = (from != GlobalPosition::START).then(|| mapping::read_start(from));
        // One more than asked: a read from just after an event starts at that event.
        let records = self
            .backend
            .read_all(start, &self.config.event_stream_prefix(), limit.saturating_add(1))
            .await
            .map_err(|e| self.unavailable(e))?;
        let mut out = Vec::with_capacity(limit.min(records.len()));
        for record in &records {
            let view = RecordView::of(record);
            let Some(stream) = self.config.stream_id_of(view.stream) else { continue };
            match mapping::decode_event(&stream, &view)? {
                Some(event) if mapping::is_at_or_after(event.position, from) => out.push(event),
                _ => {}
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    async fn subscribe(&self, from: GlobalPosition) -> Result<Subscription<'_>, StoreError> {
        self.ensure_watcher().await?;
        Ok(Subscription::new(self, from, self.head.subscribe(), self.config.location()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use showdown_store::conformance::{self, Config};
    use showdown_store::{ErrorKind, EventId, Metadata};

    use super::*;
    use crate::fake::FakeServer;

    /// Nothing listens on port 1 of the loopback interface: the connection is refused at
    /// once, and one discovery attempt keeps the test short.
    const UNREACHABLE: &str = "esdb://127.0.0.1:1?tls=false&maxDiscoverAttempts=1&discoveryInterval=10";

    /// A store ("a process") on the shared double of a server.
    fn process(server: &Arc<FakeServer>) -> EventStoreDbStore {
        let config = EsdbConfig::parse("esdb://fake:2113?tls=false").expect("valid");
        EventStoreDbStore::with_backend(config, Arc::clone(server) as Arc<dyn Backend>)
    }

    fn stream(name: &str) -> StreamId {
        StreamId::new(name).expect("valid")
    }

    fn events(stream: &StreamId, command: u128, n: u32, tag: &str) -> Vec<NewEvent> {
        (0..n)
            .map(|i| NewEvent {
                event_id: EventId::derive(stream, CommandId(command), i),
                schema: 1,
                event_type: "Test".to_owned(),
                payload: format!("{tag}/{i}").into_bytes(),
                metadata: Metadata::new(),
            })
            .collect()
    }

    async fn append(
        store: &EventStoreDbStore,
        s: &StreamId,
        expected: ExpectedVersion,
        command: u128,
        n: u32,
    ) -> Result<Appended, StoreError> {
        store.append(s, expected, CommandId(command), events(s, command, n, &command.to_string())).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_conformance_suite_passes_on_the_server_double() {
        let server = FakeServer::new();
        let report = conformance::run_all(Arc::new(process(&server)), &Config::new("suite", 20)).await;
        assert_eq!(report.appended, 16 * 20);
        // A second process sees the same streams and positions.
        let other = process(&server);
        assert_eq!(other.read_stream(&stream("suite-race"), StreamVersion(0), 1000).await.expect("read").len(), 320);
    }

    #[tokio::test]
    async fn a_retry_from_another_process_is_deduplicated_whatever_its_expectation() {
        let server = FakeServer::new();
        let (a, b) = (process(&server), process(&server));
        let s = stream("t");
        let first = append(&a, &s, ExpectedVersion::NoStream, 42, 3).await.expect("first");
        let later = append(&a, &s, first.next_expected(), 43, 1).await.expect("later");
        let expectations = [
            ExpectedVersion::NoStream,
            ExpectedVersion::Any,
            ExpectedVersion::Exact(later.last_version),
            ExpectedVersion::Exact(StreamVersion(1)),
        ];
        for expected in expectations {
            let again = append(&b, &s, expected, 42, 3).await.expect("retry");
            assert!(again.deduplicated, "{expected:?}");
            assert_eq!(again.original(), first);
        }
        // A restarted process (an empty index) too.
        let restarted = process(&server);
        let again = append(&restarted, &s, ExpectedVersion::Exact(later.last_version), 42, 3).await.expect("retry");
        assert!(again.deduplicated && again.original() == first);
        match restarted.append(&s, ExpectedVersion::Any, CommandId(42), events(&s, 42, 3, "other")).await {
            Err(e @ StoreError::CommandConflict { first_version: StreamVersion(0), .. }) => {
                assert_eq!(e.kind(), ErrorKind::Conflict);
            }
            other => panic!("expected a command conflict, got {other:?}"),
        }
        assert_eq!(server.records("showdown-t").len(), 4, "nothing was written twice");
    }

    #[tokio::test]
    async fn a_write_that_timed_out_after_committing_is_recognised_on_retry() {
        let server = FakeServer::new();
        let store = process(&server);
        let s = stream("t");
        append(&store, &s, ExpectedVersion::NoStream, 1, 1).await.expect("first");
        server.commit_then_time_out.store(1, Ordering::SeqCst);
        let e = append(&store, &s, ExpectedVersion::Exact(StreamVersion(0)), 2, 2).await.expect_err("timed out");
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        // The retry carries the first try's expectation, now stale.
        let again = append(&store, &s, ExpectedVersion::Exact(StreamVersion(0)), 2, 2).await.expect("retry");
        assert!(again.deduplicated, "the committed write is found, not appended again");
        assert_eq!((again.first_version, again.last_version), (StreamVersion(1), StreamVersion(2)));
        assert_eq!(server.records("showdown-t").len(), 3);
        // A failure before the commit leaves nothing, and the retry appends.
        server.fail_before_commit.store(1, Ordering::SeqCst);
        append(&store, &s, ExpectedVersion::Exact(StreamVersion(2)), 3, 1).await.expect_err("failed");
        let third = append(&store, &s, ExpectedVersion::Exact(StreamVersion(2)), 3, 1).await.expect("retry");
        assert!(!third.deduplicated && third.first_version == StreamVersion(3));
    }

    #[tokio::test]
    async fn conflicts_with_other_processes_report_the_actual_version() {
        let server = FakeServer::new();
        let (a, b) = (process(&server), process(&server));
        let s = stream("t");
        append(&a, &s, ExpectedVersion::NoStream, 1, 2).await.expect("a");
        append(&b, &s, ExpectedVersion::Exact(StreamVersion(1)), 2, 1).await.expect("b, after reading a's");
        // a's index is stale: the server refuses, a catches up and reports b's version.
        match append(&a, &s, ExpectedVersion::Exact(StreamVersion(1)), 3, 1).await {
            Err(StoreError::WrongExpectedVersion { actual: Some(StreamVersion(2)), .. }) => {}
            other => panic!("expected a conflict at version 2, got {other:?}"),
        }
        // Any goes round until it lands.
        let any = append(&a, &s, ExpectedVersion::Any, 4, 1).await.expect("Any");
        assert_eq!(any.first_version, StreamVersion(3));
        let any = append(&b, &s, ExpectedVersion::Any, 5, 1).await.expect("Any from the stale one");
        assert_eq!(any.first_version, StreamVersion(4));
    }

    #[tokio::test]
    async fn records_from_elsewhere_are_corrupt_or_skipped() {
        let server = FakeServer::new();
        let store = process(&server);
        let s = stream("t");
        append(&store, &s, ExpectedVersion::NoStream, 1, 1).await.expect("first");
        server.write_raw("showdown-t", "$streamDeleted", b"");
        let read = store.read_stream(&s, StreamVersion(0), 10).await.expect("the server's record is skipped");
        assert_eq!(read.len(), 1);
        assert_eq!(store.stream_version(&s).await.expect("version"), Some(StreamVersion(1)));
        server.write_raw("showdown-t", "Foreign", b"{}");
        match store.read_stream(&s, StreamVersion(0), 10).await {
            Err(e @ StoreError::Corrupt { version: StreamVersion(2), .. }) => assert_eq!(e.kind(), ErrorKind::Corrupt),
            other => panic!("expected Corrupt at version 2, got {other:?}"),
        }
        let fresh = process(&server);
        assert!(matches!(
            append(&fresh, &s, ExpectedVersion::Any, 9, 1).await,
            Err(StoreError::Corrupt { version: StreamVersion(2), .. })
        ));
        // Other categories, snapshot streams and system streams never reach read_all.
        server.write_raw("other-t", "Foreign", b"");
        server.write_raw("$stats", "$statsCollected", b"");
        store
            .save_snapshot(&s, Snapshot { version: StreamVersion(0), schema: 1, payload: vec![1] })
            .await
            .expect("saved");
        let all = store.read_all(GlobalPosition::START, 100).await.expect_err("the foreign record is in showdown-t");
        assert_eq!(all.kind(), ErrorKind::Corrupt);
        let first = store.read_all(GlobalPosition::START, 1).await.expect("the first event is fine");
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].stream, s);
    }

    #[tokio::test]
    async fn reads_of_all_resume_from_any_position_handed_out() {
        let server = FakeServer::new();
        let store = process(&server);
        let (x, y) = (stream("x"), stream("y"));
        let mut ex = ExpectedVersion::NoStream;
        let mut ey = ExpectedVersion::NoStream;
        for c in 0..10u128 {
            if c % 3 == 0 {
                ey = append(&store, &y, ey, c, 2).await.expect("y").next_expected();
            } else {
                ex = append(&store, &x, ex, c, 1).await.expect("x").next_expected();
            }
        }
        let all = store.read_all(GlobalPosition::START, 1000).await.expect("all");
        assert_eq!(all.len(), 4 * 2 + 6);
        for (i, e) in all.iter().enumerate() {
            assert_eq!(store.read_all(e.position, 1).await.expect("from an event")[0], *e);
            let after = store.read_all(e.position.next(), 1000).await.expect("from just after an event");
            assert_eq!(after, all[i + 1..], "resuming from {} skips nothing and repeats nothing", e.position);
        }
    }

    #[tokio::test]
    async fn a_snapshot_that_cannot_be_read_is_corrupt_then_replaced() {
        let server = FakeServer::new();
        let store = process(&server);
        let s = stream("t");
        append(&store, &s, ExpectedVersion::NoStream, 1, 3).await.expect("events");
        server.write_raw("showdown_snapshots-t", "Snapshot", b"garbage");
        assert!(matches!(store.load_snapshot(&s).await, Err(StoreError::Corrupt { .. })));
        let snapshot = Snapshot { version: StreamVersion(1), schema: 2, payload: vec![7; 10] };
        store.save_snapshot(&s, snapshot.clone()).await.expect("saved over it");
        assert_eq!(store.load_snapshot(&s).await.expect("load"), Some(snapshot));
    }

    #[tokio::test]
    async fn subscribers_wake_for_appends_by_other_processes() {
        let server = FakeServer::new();
        let (reader, writer) = (process(&server), process(&server));
        let s = stream("t");
        let mut sub = reader.subscribe(GlobalPosition::START).await.expect("subscribe");
        let wait = tokio::time::timeout(std::time::Duration::from_secs(5), sub.next());
        let write = async {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            append(&writer, &s, ExpectedVersion::NoStream, 1, 1).await.expect("append")
        };
        let (seen, _) = tokio::join!(wait, write);
        assert_eq!(seen.expect("woken in time").expect("an event").stream, s);
    }

    #[test]
    fn a_store_needs_a_runtime() {
        match EventStoreDbStore::open("esdb://localhost:2113?tls=false") {
            Err(e @ ConfigError::NoRuntime) => assert!(e.to_string().contains("tokio runtime")),
            other => panic!("expected NoRuntime, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_bad_url_is_refused_before_any_io() {
        let e = EventStoreDbStore::open("esdb://admin:pw@host:port?tls=false").expect_err("bad port");
        assert_eq!(e.to_string(), "`esdb://host:port?tls=false` is not an EventStoreDB connection string");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_unavailable_naming_the_url() {
        let store = EventStoreDbStore::open(&UNREACHABLE.replace("esdb://", "esdb://admin:changeit@")).expect("valid");
        let stream = StreamId::new("t").expect("valid");
        let event = NewEvent {
            event_id: EventId::derive(&stream, CommandId(1), 0),
            schema: 1,
            event_type: "Test".to_owned(),
            payload: Vec::new(),
            metadata: Metadata::new(),
        };
        let results = [
            store.ping().await,
            store.stream_version(&stream).await.map(drop),
            store.read_stream(&stream, StreamVersion(0), 10).await.map(drop),
            store.read_all(GlobalPosition::START, 10).await.map(drop),
            store.append(&stream, ExpectedVersion::NoStream, CommandId(1), vec![event]).await.map(drop),
            store.load_snapshot(&stream).await.map(drop),
            store.subscribe(GlobalPosition::START).await.map(drop),
        ];
        for result in results {
            let e = result.expect_err("nothing listens there");
            assert_eq!(e.kind(), ErrorKind::Unavailable, "{e:?}");
            assert_eq!(e.to_string(), format!("the store at {UNREACHABLE} is unavailable"));
            assert!(!format!("{e:?}").contains("changeit"), "errors never show the password");
        }
        // Requests that need no I/O are answered without the server.
        assert!(matches!(
            store.append(&stream, ExpectedVersion::Any, CommandId(1), Vec::new()).await,
            Err(StoreError::EmptyAppend)
        ));
        assert!(store.read_stream(&stream, StreamVersion(0), 0).await.expect("limit 0").is_empty());
        assert!(store.read_all(GlobalPosition::START, 0).await.expect("limit 0").is_empty());
    }

    #[tokio::test]
    async fn idle_indexes_are_evicted_past_the_bound() {
        let config = EsdbConfig::parse(UNREACHABLE).expect("valid").with_max_indexed_streams(2);
        let store = EventStoreDbStore::new(config).expect("created");
        let ids: Vec<StreamId> = (0..4).map(|i| StreamId::new(format!("s{i}")).expect("valid")).collect();
        let held = store.index_of(&ids[0]);
        for id in &ids[1..] {
            drop(store.index_of(id));
        }
        let indexes = store.indexes.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(indexes.len() <= 2, "{} indexes kept", indexes.len());
        assert!(indexes.contains_key(&ids[0]), "an index in use is never evicted");
        drop(indexes);
        drop(held);
    }
}
