//! What only a file can show: state across a restart, two stores on one file (as two
//! processes would be), rows damaged behind the store's back, and paths that cannot open.

use std::error::Error as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use showdown_sqlite::{SqliteOptions, SqliteStore};
use showdown_store::{
    CommandId, ErrorKind, EventId, EventStore, ExpectedVersion, GlobalPosition, Metadata, NewEvent, Snapshot,
    StoreError, StreamId, StreamVersion,
};
use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use tempfile::TempDir;

fn temp_file() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("showdown.db");
    (dir, path)
}

fn url(path: &Path) -> String {
    format!("sqlite:{}", path.display())
}

fn stream(name: &str) -> StreamId {
    StreamId::new(name).expect("a valid stream id")
}

fn events(stream: &StreamId, command: u128, n: u32) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent {
            event_id: EventId::derive(stream, CommandId(command), i),
            schema: 3,
            event_type: "Test".to_owned(),
            payload: format!("{command}/{i}").into_bytes(),
            metadata: Metadata::from([("host".to_owned(), "dealer-1".to_owned())]),
        })
        .collect()
}

async fn append(
    store: &SqliteStore,
    s: &StreamId,
    expected: ExpectedVersion,
    command: u128,
    n: u32,
) -> showdown_store::Appended {
    store.append(s, expected, CommandId(command), events(s, command, n)).await.expect("append")
}

/// The error and every source under it, joined, for asserting on what a user would read.
fn chain(e: &StoreError) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(" / ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Runs `sql` on the file directly, with CHECK constraints off, as damage from outside would.
async fn tamper(path: &Path, sql: &str) {
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .pragma("ignore_check_constraints", "ON")
        .connect()
        .await
        .expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.expect("tamper");
}

#[tokio::test]
async fn a_retried_command_is_deduplicated_after_a_restart_and_versions_continue() {
    let (_dir, path) = temp_file();
    let s = stream("table-1");
    let store = SqliteStore::open(&url(&path)).await.expect("open");
    let first = append(&store, &s, ExpectedVersion::NoStream, 1, 3).await;
    let second = append(&store, &s, first.next_expected(), 2, 2).await;
    store.close().await.expect("close");
    let mut conn = SqliteConnectOptions::new().filename(&path).connect().await.expect("connect");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.expect("pragma");
    assert_eq!(mode, "wal", "the file is in WAL mode");
    drop(conn);

    let store = SqliteStore::open(&url(&path)).await.expect("reopen");
    let again = append(&store, &s, ExpectedVersion::NoStream, 1, 3).await;
    assert!(again.deduplicated, "the command table outlives the process");
    assert_eq!(again.original(), first);
    match store.append(&s, ExpectedVersion::Any, CommandId(2), events(&s, 99, 2)).await {
        Err(StoreError::CommandConflict { first_version, .. }) => assert_eq!(first_version, StreamVersion(3)),
        other => panic!("the same command with other events must conflict, got {other:?}"),
    }
    assert_eq!(store.stream_version(&s).await.expect("version"), Some(StreamVersion(4)));
    let third = append(&store, &s, second.next_expected(), 3, 1).await;
    assert_eq!(third.first_version, StreamVersion(5), "versions continue");
    assert!(third.first_position > second.last_position, "positions continue");
    let all = store.read_stream(&s, StreamVersion(0), 100).await.expect("read");
    assert_eq!(all.len(), 6);
    assert_eq!(all[5].metadata.get("host").map(String::as_str), Some("dealer-1"));
    // Dropped, not closed: the acknowledged appends are in the file all the same.
    drop(store);
    let store = SqliteStore::open(&url(&path)).await.expect("reopen after a drop");
    assert_eq!(store.stream_version(&s).await.expect("version"), Some(StreamVersion(5)));
    store.close().await.expect("close");
}

#[tokio::test]
async fn snapshots_survive_a_restart() {
    let (_dir, path) = temp_file();
    let s = stream("table-2");
    let store = SqliteStore::open(&url(&path)).await.expect("open");
    append(&store, &s, ExpectedVersion::NoStream, 1, 5).await;
    let snapshot = Snapshot { version: StreamVersion(3), schema: 2, payload: vec![0, 1, 2, 255] };
    store.save_snapshot(&s, snapshot.clone()).await.expect("save");
    store.close().await.expect("close");

    let store = SqliteStore::open(&url(&path)).await.expect("reopen");
    assert_eq!(store.load_snapshot(&s).await.expect("load"), Some(snapshot.clone()));
    store.save_snapshot(&s, Snapshot { version: StreamVersion(2), ..snapshot.clone() }).await.expect("older: ignored");
    assert_eq!(store.load_snapshot(&s).await.expect("load").map(|x| x.version), Some(StreamVersion(3)));
    store.close().await.expect("close");
}

#[tokio::test]
async fn a_negative_version_is_reported_as_corrupt_with_its_stream_and_version() {
    let (_dir, path) = temp_file();
    let s = stream("table-3");
    let store = SqliteStore::open(&url(&path)).await.expect("open");
    append(&store, &s, ExpectedVersion::NoStream, 1, 4).await;
    store.close().await.expect("close");
    tamper(&path, "UPDATE events SET version = -7 WHERE stream_id = 'table-3' AND version = 2").await;

    let store = SqliteStore::open(&url(&path)).await.expect("reopen");
    let e = store.read_stream(&s, StreamVersion(0), 100).await.expect_err("version 2 is missing");
    match &e {
        StoreError::Corrupt { stream, version, .. } => assert_eq!((stream, *version), (&s, StreamVersion(2))),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    let e = store.read_all(GlobalPosition::START, 100).await.expect_err("the row is out of range");
    match &e {
        // The version column is unreadable: the row is named by its place in the stream.
        StoreError::Corrupt { stream, version, .. } => assert_eq!((stream, *version), (&s, StreamVersion(2))),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(chain(&e).contains("-7"), "the source shows the stored value: {}", chain(&e));
    // Reads before the damage still work.
    assert_eq!(store.read_stream(&s, StreamVersion(0), 2).await.expect("read").len(), 2);
    store.close().await.expect("close");
}

#[tokio::test]
async fn a_short_command_id_is_reported_as_corrupt() {
    let (_dir, path) = temp_file();
    let s = stream("table-4");
    let store = SqliteStore::open(&url(&path)).await.expect("open");
    append(&store, &s, ExpectedVersion::NoStream, 1, 2).await;
    store.close().await.expect("close");
    tamper(&path, "UPDATE events SET command_id = x'010203' WHERE stream_id = 'table-4' AND version = 1").await;

    let store = SqliteStore::open(&url(&path)).await.expect("reopen");
    for e in [
        store.read_stream(&s, StreamVersion(0), 10).await.expect_err("corrupt"),
        store.read_all(GlobalPosition::START, 10).await.expect_err("corrupt"),
        // A retry compares with the stored events, and reads the damaged one.
        store.append(&s, ExpectedVersion::Any, CommandId(1), events(&s, 1, 2)).await.expect_err("corrupt"),
    ] {
        match &e {
            StoreError::Corrupt { stream, version, .. } => assert_eq!((stream, *version), (&s, StreamVersion(1))),
            other => panic!("expected Corrupt, got {other:?}"),
        }
        assert!(chain(&e).contains("command_id") && chain(&e).contains("3 bytes"), "{}", chain(&e));
    }
    store.close().await.expect("close");
}

/// A constraint the checks cannot foresee fails its request only: the group is run again one
/// request at a time, and the others are committed. (Here the constraints come from an index
/// and a trigger added behind the store's back; in use, they guard against other writers.)
#[tokio::test]
async fn a_constraint_failure_fails_only_its_request() {
    let (_dir, path) = temp_file();
    let (a, b, c, clash) = (stream("a"), stream("b"), stream("c"), stream("clash"));
    let store = SqliteStore::open(&url(&path)).await.expect("open");
    append(&store, &a, ExpectedVersion::NoStream, 1, 1).await;
    store.close().await.expect("close");
    // Payloads must now be unique (stream a holds "1/0"), and every append to `clash` finds
    // its version taken, as if another writer got there first.
    tamper(
        &path,
        "CREATE UNIQUE INDEX unique_payload ON events (payload);
         CREATE TRIGGER take_the_version BEFORE INSERT ON events WHEN NEW.stream_id = 'clash' BEGIN
             INSERT INTO events (stream_id, version, event_id, command_id, schema, event_type, payload, metadata)
             VALUES (NEW.stream_id, NEW.version, NEW.event_id, NEW.command_id, 0, 'Other', x'00', '{}');
         END;",
    )
    .await;

    let store = SqliteStore::open(&url(&path)).await.expect("reopen");
    let request = |s: &StreamId, command: u128| showdown_store::AppendRequest {
        stream: s.clone(),
        expected: ExpectedVersion::NoStream,
        command: CommandId(command),
        events: events(s, command, 1),
    };
    // b's command 1 has payload "1/0", like a's event.
    let results = store.append_batch(vec![request(&b, 1), request(&c, 2), request(&clash, 3), request(&c, 4)]).await;
    let mut results = results.into_iter();
    match results.next() {
        Some(Err(e @ StoreError::Unavailable { .. })) => assert!(chain(&e).contains("UNIQUE"), "{}", chain(&e)),
        other => panic!("the payload clash fails its request, got {other:?}"),
    }
    let first_c = results.next().expect("4 results").expect("c is appended");
    assert_eq!(first_c.first_version, StreamVersion(0));
    match results.next() {
        Some(Err(StoreError::WrongExpectedVersion { stream, .. })) => assert_eq!(stream, clash),
        other => panic!("a taken version is a version conflict, got {other:?}"),
    }
    match results.next() {
        Some(Err(StoreError::WrongExpectedVersion { actual, .. })) => assert_eq!(actual, Some(StreamVersion(0))),
        other => panic!("the second append to c sees the first, got {other:?}"),
    }
    assert_eq!(store.stream_version(&b).await.expect("version"), None, "the failed request stored nothing");
    assert_eq!(store.stream_version(&clash).await.expect("version"), None, "the failed request stored nothing");
    assert_eq!(store.read_stream(&c, StreamVersion(0), 10).await.expect("read").len(), 1);
    store.close().await.expect("close");
}

#[tokio::test]
async fn a_missing_directory_is_a_clear_error() {
    let (dir, _) = temp_file();
    let path = dir.path().join("no-such-dir").join("showdown.db");
    let e = SqliteStore::open(&url(&path)).await.expect_err("the directory does not exist");
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    let text = chain(&e);
    assert!(text.contains(&path.display().to_string()), "the error names the file: {text}");
    assert!(text.contains("does not exist"), "the error names the cause: {text}");
    eprintln!("{text}");
}

#[tokio::test]
async fn other_urls_and_files_are_refused() {
    let e = SqliteStore::open("postgres://user:secret@localhost/test").await.expect_err("not sqlite");
    assert!(chain(&e).contains("not a SQLite store URL"), "{}", chain(&e));
    assert!(!chain(&e).contains("secret"), "no password in errors: {}", chain(&e));
    let e = SqliteStore::open("sqlite:").await.expect_err("no path");
    assert!(chain(&e).contains("no path"), "{}", chain(&e));
    let (_dir, path) = temp_file();
    std::fs::write(&path, b"this is not a database, but it is long enough to have a header.......").expect("write");
    let e = SqliteStore::open(&url(&path)).await.expect_err("not a database");
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(chain(&e).contains(&path.display().to_string()), "{}", chain(&e));
}

/// Two stores on one file stand for two processes: the file's constraints and locks keep
/// one winner per version, and the poller wakes the other's subscribers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file() {
    let (_dir, path) = temp_file();
    let mut options = SqliteOptions::default();
    options.poll_interval = Some(Duration::from_millis(20));
    let a = SqliteStore::open_with(&url(&path), options.clone()).await.expect("open a");
    let b = SqliteStore::open_with(&url(&path), options).await.expect("open b");
    let s = stream("shared");
    let first = append(&a, &s, ExpectedVersion::NoStream, 1, 2).await;
    match b.append(&s, ExpectedVersion::NoStream, CommandId(2), events(&s, 2, 1)).await {
        Err(StoreError::WrongExpectedVersion { actual, .. }) => assert_eq!(actual, Some(StreamVersion(1))),
        other => panic!("b must see a's append, got {other:?}"),
    }
    let retry = append(&b, &s, ExpectedVersion::NoStream, 1, 2).await;
    assert!(retry.deduplicated && retry.original() == first, "b answers a's command from the file");

    let mut sub = b.subscribe(first.last_position.next()).await.expect("subscribe");
    let later = append(&a, &s, first.next_expected(), 3, 1).await;
    let seen = tokio::time::timeout(Duration::from_secs(5), sub.next()).await.expect("b's poller saw a's append");
    assert_eq!(seen.expect("event").position, later.first_position);
    drop(sub);

    // Both race on the stream: every command lands once, no version twice.
    let (ra, rb) = tokio::join!(write_many(&a, &s, 100, 0), write_many(&b, &s, 100, 1_000));
    assert_eq!(ra + rb, 200);
    let all = a.read_stream(&s, StreamVersion(0), 1_000).await.expect("read");
    assert_eq!(all.len(), 3 + 200);
    assert!(all.iter().enumerate().all(|(i, e)| e.version == StreamVersion(i as u64)));
    a.close().await.expect("close a");
    b.close().await.expect("close b");
}

/// Appends `n` one-event commands, re-reading the version on every conflict; returns `n`.
async fn write_many(store: &SqliteStore, s: &StreamId, n: u128, base: u128) -> u64 {
    let mut done = 0;
    for c in 0..n {
        let command = 10_000 + base + c;
        loop {
            let expected = ExpectedVersion::of(store.stream_version(s).await.expect("version"));
            match store.append(s, expected, CommandId(command), events(s, command, 1)).await {
                Ok(a) => {
                    assert!(!a.deduplicated);
                    done += 1;
                    break;
                }
                Err(StoreError::WrongExpectedVersion { .. }) => tokio::task::yield_now().await,
                Err(e) => panic!("{e} ({e:?})"),
            }
        }
    }
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn close_answers_every_queued_append_before_closing() {
    let (_dir, path) = temp_file();
    let store = std::sync::Arc::new(SqliteStore::open(&url(&path)).await.expect("open"));
    let mut tasks = Vec::new();
    for t in 0..16u128 {
        let store = std::sync::Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let s = stream(&format!("table-{t}"));
            let mut expected = ExpectedVersion::NoStream;
            for c in 0..50 {
                expected = append(&store, &s, expected, c, 4).await.next_expected();
            }
        }));
    }
    for t in tasks {
        t.await.expect("a writer");
    }
    let store = std::sync::Arc::into_inner(store).expect("the writers let go");
    store.close().await.expect("close");
    let store = SqliteStore::open(&url(&path)).await.expect("reopen");
    let all = store.read_all(GlobalPosition::START, 10_000).await.expect("read");
    assert_eq!(all.len(), 16 * 50 * 4);
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    store.close().await.expect("close");
}
