//! The conformance suite every [`EventStore`] backend runs (feature `conformance`), in the
//! manner of SqlStreamStore's acceptance tests: one function per property of the trait's
//! contract, each panicking with a message on failure, and [`run_all`] to run them all.
//!
//! Every check writes to streams named from [`Config::prefix`], so the suite can run
//! against a database that outlives one run (give each run a fresh prefix) and beside
//! other writers: checks of the global order only look at their own streams.
//!
//! The checks need a tokio runtime with timers; [`concurrent_writers`] spawns tasks, so
//! give it a multi-threaded runtime to race for real:
//! `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use showdown_engine::table::CommandId;
use tokio::sync::Barrier;

use crate::error::{ErrorKind, StoreError};
use crate::store::EventStore;
use crate::types::{
    AppendRequest, Appended, EventId, ExpectedVersion, GlobalPosition, Metadata, NewEvent, Snapshot, StoredEvent,
    StreamId, StreamVersion,
};

/// How long a live subscription may take to see an append before the check fails.
const LIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the suite runs with.
#[derive(Clone, Debug)]
pub struct Config {
    /// The start of every stream name the suite writes; unique per run on a lasting store.
    pub prefix: String,
    /// Writers racing on one stream in [`concurrent_writers`] (the issue asks for 16).
    pub writers: usize,
    /// Commands each writer appends there (the issue asks for 1,000; tests use fewer).
    pub rounds: usize,
}

impl Config {
    /// 16 writers × `rounds`, streams named from `prefix`.
    #[must_use]
    pub fn new(prefix: impl Into<String>, rounds: usize) -> Config {
        Config { prefix: prefix.into(), writers: 16, rounds }
    }
}

/// What [`concurrent_writers`] saw.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct RaceReport {
    /// Commands appended (each exactly once).
    pub appended: u64,
    /// Appends refused for a stale expected version (each then retried).
    pub conflicts: u64,
    /// Re-sent commands answered with their first result.
    pub deduplicated: u64,
}

/// Runs every check, then the race of `config.writers` × `config.rounds`.
pub async fn run_all(store: Arc<dyn EventStore>, config: &Config) -> RaceReport {
    let s = &*store;
    let p = config.prefix.as_str();
    append_no_stream(s, p).await;
    append_exact(s, p).await;
    append_any(s, p).await;
    empty_append_is_rejected(s, p).await;
    read_stream_from_version(s, p).await;
    stored_fields_round_trip(s, p).await;
    global_order(s, p).await;
    idempotent_retry(s, p).await;
    same_command_other_events_conflicts(s, p).await;
    command_ids_are_per_stream(s, p).await;
    subscribe_catch_up_then_live(s, p).await;
    batch_appends_are_independent(s, p).await;
    snapshots_move_forward(s, p).await;
    concurrent_writers(store, p, config.writers, config.rounds).await
}

fn stream(prefix: &str, name: &str) -> StreamId {
    StreamId::new(format!("{prefix}-{name}")).expect("the suite's stream names are valid")
}

/// One event whose payload names it, as a writer would build it.
fn event(stream: &StreamId, command: CommandId, index: u32, tag: &str) -> NewEvent {
    NewEvent {
        event_id: EventId::derive(stream, command, index),
        schema: 1,
        event_type: "Test".to_owned(),
        payload: tag.as_bytes().to_vec(),
        metadata: Metadata::new(),
    }
}

fn events(stream: &StreamId, command: CommandId, n: u32, tag: &str) -> Vec<NewEvent> {
    (0..n).map(|i| event(stream, command, i, &format!("{tag}/{i}"))).collect()
}

async fn append(
    store: &dyn EventStore,
    stream: &StreamId,
    expected: ExpectedVersion,
    command: u128,
    n: u32,
) -> Result<Appended, StoreError> {
    store
        .append(stream, expected, CommandId(command), events(stream, CommandId(command), n, &command.to_string()))
        .await
}

#[track_caller]
fn ok<T>(r: Result<T, StoreError>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e} ({e:?})"))
}

/// Every event of a stream, read in pages of 7 to exercise `limit`.
async fn read_whole(store: &dyn EventStore, stream: &StreamId) -> Vec<StoredEvent> {
    let mut out: Vec<StoredEvent> = Vec::new();
    loop {
        let from = StreamVersion(out.len() as u64);
        let page = ok(store.read_stream(stream, from, 7).await, "read_stream");
        assert!(page.len() <= 7, "read_stream returned {} events with a limit of 7", page.len());
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// Every event of the given streams at `from` or later, in global order.
async fn read_all_of(store: &dyn EventStore, from: GlobalPosition, streams: &[&StreamId]) -> Vec<StoredEvent> {
    let mut out = Vec::new();
    let mut at = from;
    loop {
        let page = ok(store.read_all(at, 5).await, "read_all");
        assert!(page.len() <= 5, "read_all returned {} events with a limit of 5", page.len());
        let Some(last) = page.last() else { return out };
        at = last.position.next();
        out.extend(page.into_iter().filter(|e| streams.contains(&&e.stream)));
    }
}

#[track_caller]
fn assert_wrong_version(r: Result<Appended, StoreError>, want_actual: Option<StreamVersion>) {
    match r {
        Err(e @ StoreError::WrongExpectedVersion { actual, .. }) => {
            assert_eq!(actual, want_actual, "the error must carry the stream's actual version");
            assert_eq!(e.kind(), ErrorKind::Conflict);
        }
        other => panic!("expected a wrong-expected-version conflict at {want_actual:?}, got {other:?}"),
    }
}

/// `NoStream` appends to a new stream, numbering from 0, and fails once the stream exists.
pub async fn append_no_stream(store: &dyn EventStore, prefix: &str) {
    let s = stream(prefix, "no-stream");
    assert_eq!(ok(store.stream_version(&s).await, "stream_version"), None);
    let a = ok(append(store, &s, ExpectedVersion::NoStream, 1, 3).await, "append to a new stream");
    assert_eq!((a.first_version, a.last_version), (StreamVersion(0), StreamVersion(2)));
    assert!(a.first_position < a.last_position && !a.deduplicated);
    assert_eq!(ok(store.stream_version(&s).await, "stream_version"), Some(StreamVersion(2)));
    assert_wrong_version(append(store, &s, ExpectedVersion::NoStream, 2, 1).await, Some(StreamVersion(2)));
}

/// `Exact` appends at the stream's version and fails, naming the actual version, otherwise.
pub async fn append_exact(store: &dyn EventStore, prefix: &str) {
    let s = stream(prefix, "exact");
    assert_wrong_version(append(store, &s, ExpectedVersion::Exact(StreamVersion(0)), 1, 1).await, None);
    let a = ok(append(store, &s, ExpectedVersion::NoStream, 2, 2).await, "first append");
    let b = ok(append(store, &s, a.next_expected(), 3, 2).await, "append at the version");
    assert_eq!((b.first_version, b.last_version), (StreamVersion(2), StreamVersion(3)));
    assert!(b.first_position > a.last_position, "positions increase across appends");
    // Stale, and ahead.
    assert_wrong_version(append(store, &s, a.next_expected(), 4, 1).await, Some(StreamVersion(3)));
    assert_wrong_version(
        append(store, &s, ExpectedVersion::Exact(StreamVersion(9)), 5, 1).await,
        Some(StreamVersion(3)),
    );
    assert_eq!(read_whole(store, &s).await.len(), 4, "failed appends store nothing");
}

/// `Any` appends whatever the stream holds, to new and existing streams.
pub async fn append_any(store: &dyn EventStore, prefix: &str) {
    let s = stream(prefix, "any");
    let a = ok(append(store, &s, ExpectedVersion::Any, 1, 1).await, "Any on a new stream");
    assert_eq!(a.first_version, StreamVersion(0));
    let b = ok(append(store, &s, ExpectedVersion::Any, 2, 2).await, "Any on an existing stream");
    assert_eq!((b.first_version, b.last_version), (StreamVersion(1), StreamVersion(2)));
}

/// An append without events is refused and creates nothing.
pub async fn empty_append_is_rejected(store: &dyn EventStore, prefix: &str) {
    let s = stream(prefix, "empty");
    match store.append(&s, ExpectedVersion::Any, CommandId(1), Vec::new()).await {
        Err(e @ StoreError::EmptyAppend) => assert_eq!(e.kind(), ErrorKind::Rejected),
        other => panic!("an empty append must be refused, got {other:?}"),
    }
    assert_eq!(ok(store.stream_version(&s).await, "stream_version"), None);
}

/// Versions are gapless and in order; reading from a version gives that version on.
pub async fn read_stream_from_version(store: &dyn EventStore, prefix: &str) {
    let s = stream(prefix, "read");
    let mut expected = ExpectedVersion::NoStream;
    for c in 1..=6u32 {
        expected = ok(append(store, &s, expected, u128::from(c), c).await, "append").next_expected();
    }
    let all = read_whole(store, &s).await;
    assert_eq!(all.len(), 21);
    for (v, e) in all.iter().enumerate() {
        assert_eq!(e.version, StreamVersion(v as u64), "versions are gapless, from 0");
        assert_eq!(e.stream, s);
    }
    assert!(all.windows(2).all(|w| w[0].position < w[1].position), "positions follow versions");
    let tail = ok(store.read_stream(&s, StreamVersion(10), 100).await, "read from version 10");
    assert_eq!(tail, all[10..], "reading from a version gives that version on");
    assert!(ok(store.read_stream(&s, StreamVersion(21), 10).await, "read past the end").is_empty());
    assert!(ok(store.read_stream(&s, StreamVersion(0), 0).await, "limit 0").is_empty());
    let nothing = stream(prefix, "never-written");
    assert!(ok(store.read_stream(&nothing, StreamVersion(0), 10).await, "read a missing stream").is_empty());
}

/// Every field a writer gives comes back unchanged, whatever the payload bytes.
pub async fn stored_fields_round_trip(store: &dyn EventStore, prefix: &str) {
    let s = stream(prefix, "fields");
    let command = CommandId(u128::MAX - 7);
    let mut metadata = Metadata::new();
    metadata.insert("host".to_owned(), "dealer-1".to_owned());
    metadata.insert("correlation".to_owned(), "ünïcödé ✓".to_owned());
    let written = vec![
        NewEvent {
            event_id: EventId(u128::MAX),
            schema: 0,
            event_type: "Opened".to_owned(),
            payload: (0..=255).collect(),
            metadata: metadata.clone(),
        },
        NewEvent {
            event_id: EventId(0),
            schema: u16::MAX,
            event_type: "Hand".to_owned(),
            payload: Vec::new(),
            metadata,
        },
    ];
    let a = ok(store.append(&s, ExpectedVersion::NoStream, command, written.clone()).await, "append");
    let read = read_whole(store, &s).await;
    assert_eq!(read.iter().map(StoredEvent::to_new_event).collect::<Vec<_>>(), written);
    assert!(read.iter().all(|e| e.command == command && e.stream == s));
    assert_eq!((read[0].position, read[1].position), (a.first_position, a.last_position));
}

/// `read_all` gives every stream's events in one increasing order, each stream's in version
/// order, each event once.
pub async fn global_order(store: &dyn EventStore, prefix: &str) {
    let (x, y) = (stream(prefix, "order-x"), stream(prefix, "order-y"));
    let first = ok(append(store, &x, ExpectedVersion::NoStream, 1, 2).await, "append x");
    let mut ex = first.next_expected();
    let mut ey = ExpectedVersion::NoStream;
    for c in 2..8u128 {
        if c % 2 == 0 {
            ey = ok(append(store, &y, ey, c, 3).await, "append y").next_expected();
        } else {
            ex = ok(append(store, &x, ex, c, 1).await, "append x").next_expected();
        }
    }
    let all = read_all_of(store, first.first_position, &[&x, &y]).await;
    assert_eq!(all.len(), 2 + 3 * 3 + 3);
    assert!(all.windows(2).all(|w| w[0].position < w[1].position), "global positions strictly increase");
    for s in [&x, &y] {
        let versions: Vec<u64> = all.iter().filter(|e| &e.stream == s).map(|e| e.version.0).collect();
        assert_eq!(versions, (0..versions.len() as u64).collect::<Vec<_>>(), "{s} in version order, once each");
    }
    let from_middle = read_all_of(store, all[5].position, &[&x, &y]).await;
    assert_eq!(from_middle, all[5..], "reading all from a position gives that position on");
}

/// A command appended again (a retry after a lost answer) stores nothing and gets the first
/// result back, whatever expected version it carries.
pub async fn idempotent_retry(store: &dyn EventStore, prefix: &str) {
    let s = stream(prefix, "retry");
    let first = ok(append(store, &s, ExpectedVersion::NoStream, 42, 3).await, "first append");
    let later = ok(append(store, &s, first.next_expected(), 43, 1).await, "another command");
    for expected in [ExpectedVersion::NoStream, ExpectedVersion::Any, ExpectedVersion::Exact(later.last_version)] {
        let again = ok(append(store, &s, expected, 42, 3).await, "retry");
        assert!(again.deduplicated, "a retry is reported as one");
        assert_eq!(again.original(), first, "a retry gets the first result back");
    }
    let again = ok(append(store, &s, first.next_expected(), 43, 1).await, "retry of the second");
    assert_eq!(again.original(), later);
    let found = ok(store.find_command(&s, CommandId(42)).await, "find_command");
    assert_eq!(found.map(Appended::original), Some(first), "find_command gives the first result");
    assert!(found.is_some_and(|a| a.deduplicated), "find_command reports a retry's result");
    assert_eq!(ok(store.find_command(&s, CommandId(44)).await, "find_command"), None);
    assert_eq!(read_whole(store, &s).await.len(), 4, "no duplicate");
}

/// The same command id with other events is a conflict and stores nothing.
pub async fn same_command_other_events_conflicts(store: &dyn EventStore, prefix: &str) {
    let s = stream(prefix, "command-conflict");
    let first = ok(append(store, &s, ExpectedVersion::NoStream, 7, 2).await, "first append");
    let other_payload = events(&s, CommandId(7), 2, "something else");
    let fewer = events(&s, CommandId(7), 2, "7")[..1].to_vec();
    for other in [other_payload, fewer] {
        match store.append(&s, first.next_expected(), CommandId(7), other).await {
            Err(e @ StoreError::CommandConflict { first_version, command, .. }) => {
                assert_eq!((first_version, command), (first.first_version, CommandId(7)));
                assert_eq!(e.kind(), ErrorKind::Conflict);
            }
            other => panic!("the same command id with other events must conflict, got {other:?}"),
        }
    }
    assert_eq!(read_whole(store, &s).await.len(), 2);
}

/// A command id names a command in one stream: another stream may use it.
pub async fn command_ids_are_per_stream(store: &dyn EventStore, prefix: &str) {
    let (x, y) = (stream(prefix, "ids-x"), stream(prefix, "ids-y"));
    let a = ok(append(store, &x, ExpectedVersion::NoStream, 5, 1).await, "append x");
    let b = ok(append(store, &y, ExpectedVersion::NoStream, 5, 1).await, "append y");
    assert!(!a.deduplicated && !b.deduplicated);
    assert_eq!(read_whole(store, &y).await.len(), 1);
}

/// A subscription first yields what is stored from its position, then what is appended
/// while it waits.
pub async fn subscribe_catch_up_then_live(store: &dyn EventStore, prefix: &str) {
    let s = stream(prefix, "subscribe");
    let first = ok(append(store, &s, ExpectedVersion::NoStream, 1, 3).await, "append");
    let mut sub = ok(store.subscribe(first.first_position).await, "subscribe");
    let mut next_of_s = async || loop {
        let e = tokio::time::timeout(LIVE_TIMEOUT, sub.next()).await.expect("the subscription saw the append");
        let e = ok(e, "subscription");
        if e.stream == s {
            return e;
        }
    };
    for v in 0..3 {
        assert_eq!(next_of_s().await.version, StreamVersion(v), "catch-up in order");
    }
    // Live: the subscriber waits before the append happens.
    let writer = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        ok(append(store, &s, first.next_expected(), 2, 2).await, "live append")
    };
    let (live, _) = tokio::join!(next_of_s(), writer);
    assert_eq!(live.version, StreamVersion(3));
    assert_eq!(next_of_s().await.version, StreamVersion(4));
}

/// `writers` tasks race to append `rounds` commands each to one stream, re-reading the
/// version and retrying on every conflict, and re-sending some commands that succeeded (as
/// after a lost answer). Then: exactly one winner per version, no gap, every command
/// exactly once, and each re-sent command got its first result.
pub async fn concurrent_writers(store: Arc<dyn EventStore>, prefix: &str, writers: usize, rounds: usize) -> RaceReport {
    let s = stream(prefix, "race");
    let barrier = Arc::new(Barrier::new(writers));
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (store, s, barrier) = (Arc::clone(&store), s.clone(), Arc::clone(&barrier));
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            let mut report = RaceReport::default();
            for r in 0..rounds {
                barrier.wait().await;
                let command = CommandId(((w as u128) << 64) | r as u128);
                let batch = vec![event(&s, command, 0, &format!("w{w} r{r}"))];
                let result = loop {
                    let seen = ok(store.stream_version(&s).await, "stream_version");
                    let expected = ExpectedVersion::of(seen);
                    // Let the other writers read the same version: on a fast store a task
                    // would otherwise read and append without ever being overtaken.
                    tokio::task::yield_now().await;
                    match store.append(&s, expected, command, batch.clone()).await {
                        Ok(a) => break a,
                        Err(StoreError::WrongExpectedVersion { actual, .. }) => {
                            assert!(actual > seen, "a conflict means the stream moved on: {seen:?} → {actual:?}");
                            report.conflicts += 1;
                        }
                        Err(e) => panic!("writer {w} round {r}: {e} ({e:?})"),
                    }
                };
                assert!(!result.deduplicated, "writer {w} round {r}: a first append is not a retry");
                report.appended += 1;
                if r % 5 == w % 5 {
                    let again = store.append(&s, ExpectedVersion::NoStream, command, batch).await;
                    let again = ok(again, "re-sent command");
                    assert_eq!(again.original(), result, "writer {w} round {r}: a re-sent command gets its result");
                    report.deduplicated += 1;
                }
                won.push((result.first_version, command));
            }
            (won, report)
        }));
    }
    let mut winners: BTreeMap<StreamVersion, CommandId> = BTreeMap::new();
    let mut report = RaceReport::default();
    for t in tasks {
        let (won, r) = t.await.expect("a writer panicked");
        for (v, command) in won {
            assert!(winners.insert(v, command).is_none(), "two writers won {v}");
        }
        report.appended += r.appended;
        report.conflicts += r.conflicts;
        report.deduplicated += r.deduplicated;
    }
    let total = (writers * rounds) as u64;
    assert_eq!(winners.len() as u64, total, "one winning append per command");
    let stored = read_whole(&*store, &s).await;
    assert_eq!(stored.len() as u64, total, "no lost and no duplicated event");
    let mut seen = HashSet::new();
    for (i, e) in stored.iter().enumerate() {
        assert_eq!(e.version, StreamVersion(i as u64), "no gap");
        assert_eq!(winners.get(&e.version), Some(&e.command), "the stored event at {} is its winner's", e.version);
        assert!(seen.insert(e.command), "command {} stored twice", e.command.0);
    }
    report
}

/// A batch appends each request on its own: in order (a later request to a stream sees an
/// earlier one), a conflict or a retry in one leaving the others alone.
pub async fn batch_appends_are_independent(store: &dyn EventStore, prefix: &str) {
    let (x, y, z) = (stream(prefix, "batch-x"), stream(prefix, "batch-y"), stream(prefix, "batch-z"));
    let first = ok(append(store, &y, ExpectedVersion::NoStream, 1, 2).await, "append y");
    let request = |s: &StreamId, expected, command: u128, n| AppendRequest {
        stream: s.clone(),
        expected,
        command: CommandId(command),
        events: events(s, CommandId(command), n, &command.to_string()),
    };
    let results = store
        .append_batch(vec![
            request(&x, ExpectedVersion::NoStream, 10, 2),
            // Stale: y is at version 1.
            request(&y, ExpectedVersion::NoStream, 11, 1),
            request(&x, ExpectedVersion::Exact(StreamVersion(1)), 12, 3),
            // A retry of y's first command.
            request(&y, ExpectedVersion::Any, 1, 2),
            request(&z, ExpectedVersion::Any, 13, 1),
            request(&z, ExpectedVersion::Any, 14, 0),
        ])
        .await;
    assert_eq!(results.len(), 6, "one result per request");
    let mut results = results.into_iter();
    let a = ok(results.next().expect("6 results"), "batch: new stream");
    assert_eq!((a.first_version, a.last_version), (StreamVersion(0), StreamVersion(1)));
    assert_wrong_version(results.next().expect("6 results"), Some(StreamVersion(1)));
    let b = ok(results.next().expect("6 results"), "batch: the same stream again");
    assert_eq!((b.first_version, b.last_version), (StreamVersion(2), StreamVersion(4)));
    assert!(b.first_position > a.last_position, "later requests come later in the global order");
    let retry = ok(results.next().expect("6 results"), "batch: a retry");
    assert!(retry.deduplicated && retry.original() == first, "a retry in a batch gets its first result");
    ok(results.next().expect("6 results"), "batch: Any");
    assert!(matches!(results.next(), Some(Err(StoreError::EmptyAppend))), "an empty request in a batch is refused");
    assert_eq!(read_whole(store, &x).await.len(), 5);
    assert_eq!(read_whole(store, &y).await.len(), 2, "the stale request stored nothing");
    assert_eq!(read_whole(store, &z).await.len(), 1);
    assert!(store.append_batch(Vec::new()).await.is_empty(), "an empty batch does nothing");
}

/// A snapshot is stored beside its stream, only moves forward, and cannot be ahead of the
/// stream.
pub async fn snapshots_move_forward(store: &dyn EventStore, prefix: &str) {
    let s = stream(prefix, "snapshot");
    let snap = |v: u64, tag: &str| Snapshot { version: StreamVersion(v), schema: 1, payload: tag.as_bytes().to_vec() };
    assert_eq!(ok(store.load_snapshot(&s).await, "load_snapshot"), None);
    match store.save_snapshot(&s, snap(0, "ahead")).await {
        Err(e @ StoreError::SnapshotAhead { actual: None, .. }) => assert_eq!(e.kind(), ErrorKind::Rejected),
        other => panic!("a snapshot of a missing stream must be refused, got {other:?}"),
    }
    ok(append(store, &s, ExpectedVersion::NoStream, 1, 5).await, "append");
    ok(store.save_snapshot(&s, snap(2, "at 2")).await, "save at 2");
    assert_eq!(ok(store.load_snapshot(&s).await, "load"), Some(snap(2, "at 2")));
    ok(store.save_snapshot(&s, snap(4, "at 4")).await, "save at 4");
    ok(store.save_snapshot(&s, snap(3, "older")).await, "an older snapshot is ignored");
    ok(store.save_snapshot(&s, snap(4, "same")).await, "the same version is ignored");
    assert_eq!(ok(store.load_snapshot(&s).await, "load"), Some(snap(4, "at 4")));
    assert!(matches!(
        store.save_snapshot(&s, snap(5, "ahead")).await,
        Err(StoreError::SnapshotAhead { actual: Some(StreamVersion(4)), .. })
    ));
    let other = stream(prefix, "snapshot-other");
    assert_eq!(ok(store.load_snapshot(&other).await, "load"), None, "snapshots belong to their stream");
}
