//! The table service over the in-memory store: tables reload to the same state from
//! snapshots and events, racing hosts stay correct, retries are bounded and safe, a
//! command sent twice is applied once, a rejection stores nothing, and `verify` finds
//! what is wrong, naming the stream and version.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use showdown::bots::TableBot;
use showdown::engine::table::{CommandEnvelope, CommandId, PlayerId, Table, TableCommand};
use showdown::store::codec::TableCodec;
use showdown::store::service::LoadedTable;
use showdown::store::verify::verify;
use showdown::store::{
    Appended, BoxError, EventStore, ExpectedVersion, GlobalPosition, MemoryStore, NewEvent, ServiceConfig,
    ServiceError, Snapshot, StoreError, StoredEvent, StreamId, StreamVersion, Subscription, TableService,
};

fn stream(name: &str) -> StreamId {
    StreamId::new(name).unwrap()
}

/// Plays `loaded` with bots until the table dealt `hands` hands.
async fn play(service: &TableService, loaded: &mut LoadedTable, hands: u64) {
    let bot = TableBot::new(3, hands);
    while let Some(command) = bot.next(loaded.table(), loaded.events(), 0) {
        service.handle(loaded, &command).await.unwrap_or_else(|e| panic!("{:?}: {e:?}", command.command));
    }
}

async fn all_events(store: &dyn EventStore, s: &StreamId) -> Vec<StoredEvent> {
    store.read_stream(s, StreamVersion(0), usize::MAX).await.unwrap()
}

fn replay(codec: &TableCodec, stored: &[StoredEvent]) -> Table {
    let recorded: Vec<_> = stored.iter().map(|e| codec.decode(e).unwrap()).collect();
    Table::replay(&recorded)
}

#[tokio::test]
async fn tables_reload_from_snapshots_and_events_to_the_live_state() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let config = ServiceConfig { snapshot_every: 100, ..ServiceConfig::default() };
    let service = TableService::new(Arc::clone(&store), config);
    let s = stream("t1");
    let mut live = service.load(&s).await.unwrap();
    assert_eq!(live.version(), None);
    play(&service, &mut live, 120).await;
    assert_eq!(live.table().hand_no().0, 120);

    let stored = all_events(&*store, &s).await;
    assert_eq!(live.version(), Some(StreamVersion(stored.len() as u64 - 1)));
    assert_eq!(&replay(service.codec(), &stored), live.table(), "the live table is the replay of its stream");

    let snapshot = store.load_snapshot(&s).await.unwrap().expect("snapshots were taken");
    assert!(snapshot.version.0 + 100 > stored.len() as u64, "the latest snapshot is recent");
    assert_eq!(live.snapshot_version(), Some(snapshot.version));
    let reloaded = service.load(&s).await.unwrap();
    assert_eq!(reloaded.snapshot_version(), Some(snapshot.version), "loading starts from the snapshot");
    assert_eq!(reloaded.table(), live.table());
    assert_eq!(reloaded.version(), live.version());

    let report = verify(&*store, service.codec()).await.unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    assert_eq!((report.streams, report.events, report.hands), (1, stored.len() as u64, 120));
    assert_eq!(report.snapshots, 1);
}

#[tokio::test]
async fn a_snapshot_of_another_schema_or_garbage_is_ignored_and_the_stream_replayed() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let service = TableService::new(Arc::clone(&store), ServiceConfig { snapshot_every: 0, ..Default::default() });
    let s = stream("t-snap");
    let mut live = service.load(&s).await.unwrap();
    play(&service, &mut live, 5).await;
    let version = live.version().unwrap();
    store.save_snapshot(&s, Snapshot { version, schema: 99, payload: vec![1, 2, 3] }).await.unwrap();
    let reloaded = service.load(&s).await.unwrap();
    assert_eq!(reloaded.snapshot_version(), None, "an unknown snapshot schema is not used");
    assert_eq!(reloaded.table(), live.table());
    let report = verify(&*store, service.codec()).await.unwrap();
    assert_eq!(report.problems.len(), 1);
    assert!(report.problems[0].what.contains("schema 99"), "{}", report.problems[0]);
}

#[tokio::test]
async fn racing_hosts_catch_up_and_decide_again() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let service = TableService::new(Arc::clone(&store), ServiceConfig::default());
    let s = stream("t-race");
    let mut a = service.load(&s).await.unwrap();
    play(&service, &mut a, 2).await;
    let mut b = service.load(&s).await.unwrap();
    // Host a moves on; host b still holds the old table.
    let bot = TableBot::new(3, 3);
    let first = bot.next(a.table(), a.events(), 0).unwrap();
    service.handle(&mut a, &first).await.unwrap();
    // b's command (dealing the next hand) was decided on the old table: it loses the race,
    // catches up, and its StartHand is refused (a hand is running now).
    let stale = bot.next(b.table(), b.events(), 1).unwrap();
    assert!(matches!(stale.command, TableCommand::StartHand { .. }));
    match service.handle(&mut b, &stale).await {
        Err(ServiceError::Rejected { conflicts: 1, .. }) => {}
        other => panic!("expected a rejection after one lost race, got {other:?}"),
    }
    assert_eq!(b.table(), a.table(), "the losing host caught up");
    // b's next command, decided on the caught-up table, goes through.
    let next = bot.next(b.table(), b.events(), 1).unwrap();
    let handled = service.handle(&mut b, &next).await.unwrap();
    assert_eq!(handled.conflicts, 0);
    assert_eq!(&replay(service.codec(), &all_events(&*store, &s).await), b.table());
}

#[tokio::test]
async fn a_refused_command_stores_nothing_and_leaves_the_table() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let service = TableService::new(Arc::clone(&store), ServiceConfig::default());
    let s = stream("t-refused");
    let mut t = service.load(&s).await.unwrap();
    play(&service, &mut t, 1).await;
    let before = (t.clone(), all_events(&*store, &s).await);
    let command = CommandEnvelope {
        id: CommandId(999),
        now_ms: t.table().last_now_ms(),
        command: TableCommand::SitOut { player: PlayerId(123_456) },
    };
    match service.handle(&mut t, &command).await {
        Err(e @ ServiceError::Rejected { .. }) => {
            assert_eq!(e.kind(), showdown::store::ErrorKind::Rejected);
            assert!(format!("{:#}", anyhow::Error::from(e)).contains("not seated"));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!((t, all_events(&*store, &s).await), before);
}

#[tokio::test]
async fn a_command_sent_twice_is_applied_once() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let service = TableService::new(Arc::clone(&store), ServiceConfig { snapshot_every: 0, ..Default::default() });
    let s = stream("t-twice");
    let mut t = service.load(&s).await.unwrap();
    play(&service, &mut t, 1).await;
    let bot = TableBot::new(3, 10);
    let command = bot.next(t.table(), t.events(), 0).unwrap();
    let first = service.handle(&mut t, &command).await.unwrap();
    assert!(!first.duplicate && !first.events.is_empty());
    let stored = all_events(&*store, &s).await.len();
    // At once (this host remembers it) ...
    let again = service.handle(&mut t, &command).await.unwrap();
    assert!(again.duplicate && again.events.is_empty());
    assert_eq!(again.appended.map(Appended::original), first.appended);
    // ... and after the table moved on, on a host that never saw it (the store knows it).
    play(&service, &mut t, 4).await;
    let mut fresh = service.load(&s).await.unwrap();
    let before = all_events(&*store, &s).await;
    assert!(before.len() > stored);
    let late = service.handle(&mut fresh, &command).await.unwrap();
    assert!(late.duplicate);
    assert_eq!(late.appended.map(Appended::original), first.appended);
    assert_eq!(all_events(&*store, &s).await, before, "nothing stored twice");
}

/// A store that fails on purpose: every append returns a conflict (`always_conflict`), or
/// the next `lose_replies` appends are stored but answered with an error (a lost reply), or
/// the next `down` appends fail without storing.
#[derive(Default)]
struct Faulty {
    inner: MemoryStore,
    always_conflict: bool,
    lose_replies: AtomicU32,
    down: AtomicU32,
}

fn unavailable() -> StoreError {
    StoreError::Unavailable { location: "faulty:".into(), source: BoxError::from("connection reset") }
}

fn take(counter: &AtomicU32) -> bool {
    counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
}

#[async_trait]
impl EventStore for Faulty {
    async fn append(
        &self,
        s: &StreamId,
        expected: ExpectedVersion,
        command: CommandId,
        events: Vec<NewEvent>,
    ) -> Result<Appended, StoreError> {
        if self.always_conflict {
            let actual = self.inner.stream_version(s).await?;
            return Err(StoreError::WrongExpectedVersion { stream: s.clone(), expected, actual });
        }
        if take(&self.down) {
            return Err(unavailable());
        }
        let result = self.inner.append(s, expected, command, events).await;
        if result.is_ok() && take(&self.lose_replies) {
            return Err(unavailable());
        }
        result
    }
    async fn read_stream(&self, s: &StreamId, from: StreamVersion, n: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read_stream(s, from, n).await
    }
    async fn stream_version(&self, s: &StreamId) -> Result<Option<StreamVersion>, StoreError> {
        self.inner.stream_version(s).await
    }
    async fn read_all(&self, from: GlobalPosition, n: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read_all(from, n).await
    }
    async fn save_snapshot(&self, s: &StreamId, snapshot: Snapshot) -> Result<(), StoreError> {
        self.inner.save_snapshot(s, snapshot).await
    }
    async fn load_snapshot(&self, s: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        self.inner.load_snapshot(s).await
    }
    async fn subscribe(&self, from: GlobalPosition) -> Result<Subscription<'_>, StoreError> {
        self.inner.subscribe(from).await
    }
}

fn quick_retries(conflict_retries: u32) -> ServiceConfig {
    ServiceConfig {
        conflict_retries,
        unavailable_retries: 2,
        unavailable_backoff: Duration::from_millis(1),
        snapshot_every: 0,
        ..ServiceConfig::default()
    }
}

#[tokio::test]
async fn conflicts_are_retried_a_bounded_number_of_times() {
    let store = Arc::new(Faulty { always_conflict: true, ..Faulty::default() });
    let service = TableService::new(store, quick_retries(3));
    let mut t = service.load(&stream("t-conflict")).await.unwrap();
    let open = TableBot::new(1, 1).next(t.table(), 0, 0).unwrap();
    match service.handle(&mut t, &open).await {
        Err(e @ ServiceError::Conflict { attempts: 4, .. }) => {
            assert_eq!(e.kind(), showdown::store::ErrorKind::Conflict);
        }
        other => panic!("expected a conflict after 4 attempts, got {other:?}"),
    }
}

#[tokio::test]
async fn a_lost_reply_is_resent_and_stored_once() {
    let store = Arc::new(Faulty { lose_replies: AtomicU32::new(1), ..Faulty::default() });
    let service = TableService::new(Arc::clone(&store) as Arc<dyn EventStore>, quick_retries(3));
    let s = stream("t-lost-reply");
    let mut t = service.load(&s).await.unwrap();
    let open = TableBot::new(1, 1).next(t.table(), 0, 0).unwrap();
    let handled = service.handle(&mut t, &open).await.unwrap();
    assert_eq!(handled.resends, 1);
    assert!(handled.appended.is_some_and(|a| a.deduplicated), "the re-send found the first append");
    assert!(t.table().config().is_some(), "the table is open");
    assert_eq!(all_events(&store.inner, &s).await.len(), handled.events.len(), "stored once");
}

#[tokio::test]
async fn a_store_that_stays_down_fails_the_command_and_the_table_recovers() {
    let store = Arc::new(Faulty { down: AtomicU32::new(3), ..Faulty::default() });
    let service = TableService::new(Arc::clone(&store) as Arc<dyn EventStore>, quick_retries(3));
    let s = stream("t-down");
    let mut t = service.load(&s).await.unwrap();
    let open = TableBot::new(1, 1).next(t.table(), 0, 0).unwrap();
    match service.handle(&mut t, &open).await {
        Err(ServiceError::Store(e)) => {
            assert_eq!(e.kind(), showdown::store::ErrorKind::Unavailable);
            assert!(e.to_string().contains("faulty:"), "{e}");
        }
        other => panic!("expected the store's error after 2 re-sends, got {other:?}"),
    }
    assert_eq!(t.version(), None, "nothing applied");
    assert!(all_events(&store.inner, &s).await.is_empty(), "nothing stored");
    let handled = service.handle(&mut t, &open).await.unwrap();
    assert_eq!(handled.resends, 0);
    assert!(t.table().config().is_some());
}

#[tokio::test]
async fn verify_names_the_stream_and_version_of_what_is_wrong() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let service = TableService::new(Arc::clone(&store), ServiceConfig { snapshot_every: 0, ..Default::default() });
    let good = stream("good");
    let mut t = service.load(&good).await.unwrap();
    play(&service, &mut t, 3).await;
    let events = t.events();

    // A payload that is not an event, a schema newer than the code, and a snapshot that
    // differs from the replay, each on a copy of the good stream.
    let stored = all_events(&*store, &good).await;
    let copy = |name: &str, tamper: &dyn Fn(usize, &mut NewEvent)| {
        let store = Arc::clone(&store);
        let s = stream(name);
        // The good stream's appends again, one per command, with one event tampered with.
        let mut appends: Vec<(CommandId, Vec<NewEvent>)> = Vec::new();
        for (i, e) in stored.iter().enumerate() {
            let mut new = e.to_new_event();
            tamper(i, &mut new);
            match appends.last_mut() {
                Some((command, batch)) if *command == e.command => batch.push(new),
                _ => appends.push((e.command, vec![new])),
            }
        }
        async move {
            for (command, batch) in appends {
                store.append(&s, ExpectedVersion::Any, command, batch).await.unwrap();
            }
            s
        }
    };
    copy("garbage", &|i, e| {
        if i == 7 {
            e.payload = vec![0xff; 5];
        }
    })
    .await;
    copy("newer", &|i, e| {
        if i == 4 {
            e.schema = 99;
        }
    })
    .await;
    let snapped = copy("snapped", &|_, _| {}).await;
    let other_table = Table::new();
    let payload = showdown::store::codec::Codec::encode(service.codec().codec(), &other_table).unwrap();
    store
        .save_snapshot(
            &snapped,
            Snapshot { version: StreamVersion(5), schema: showdown::store::service::SNAPSHOT_SCHEMA, payload },
        )
        .await
        .unwrap();

    let report = verify(&*store, service.codec()).await.unwrap();
    let mut problems: Vec<(String, u64, String)> =
        report.problems.iter().map(|p| (p.stream.to_string(), p.version.0, p.what.clone())).collect();
    problems.sort();
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert_eq!((problems[0].0.as_str(), problems[0].1), ("garbage", 7));
    assert!(problems[0].2.contains("does not decode"), "{}", problems[0].2);
    assert_eq!((problems[1].0.as_str(), problems[1].1), ("newer", 4));
    assert!(problems[1].2.contains("schema version 99 is newer"), "{}", problems[1].2);
    assert_eq!((problems[2].0.as_str(), problems[2].1), ("snapped", 5));
    assert!(problems[2].2.contains("differs from the replay"), "{}", problems[2].2);
    assert_eq!(report.streams, 4);
    assert_eq!(report.events, events * 4);
    assert!(report.to_string().contains("3 problems"));
}
