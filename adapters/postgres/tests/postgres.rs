//! What the conformance suite cannot check on any backend: restarts, rows corrupted by hand,
//! a database that is down, group commit, and notifications between processes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use showdown_engine::table::CommandId;
use showdown_postgres::{PostgresOptions, PostgresStore};
use showdown_store::{
    AppendRequest, EventId, EventStore, ExpectedVersion, GlobalPosition, Metadata, NewEvent, StoreError, StreamId,
    StreamVersion,
};

fn stream(name: &str) -> StreamId {
    StreamId::new(name).expect("a valid stream id")
}

fn events(stream: &StreamId, command: CommandId, n: u32, tag: &str) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent {
            event_id: EventId::derive(stream, command, i),
            schema: 1,
            event_type: "Test".to_owned(),
            payload: format!("{tag}/{i}").into_bytes(),
            metadata: Metadata::new(),
        })
        .collect()
}

#[tokio::test]
async fn down_database_is_unavailable_and_names_the_url_without_password() {
    let url = "postgres://postgres:s3cret@127.0.0.1:1/test";
    let e = PostgresStore::connect(url).await.expect_err("nothing listens on port 1");
    let chain = common::error_chain(&e);
    match &e {
        StoreError::Unavailable { location, .. } => assert_eq!(location, "postgres://postgres:***@127.0.0.1:1/test"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(chain.contains("127.0.0.1:1"), "the message names the server: {chain}");
    assert!(!chain.contains("s3cret") && !format!("{e:?}").contains("s3cret"), "no password in {chain}");
    eprintln!("{chain}");

    for bad in ["postgres://postgres:s3cret@127.0.0.1:notaport/test", "postgres://postgres:s3cret@[::1/test"] {
        let e = PostgresStore::connect(bad).await.expect_err("an invalid URL");
        let chain = common::error_chain(&e);
        assert!(matches!(e, StoreError::Unavailable { .. }), "{chain}");
        assert!(!chain.contains("s3cret") && !format!("{e:?}").contains("s3cret"), "no password in {chain}");
        eprintln!("{chain}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_survives_a_restart() {
    // The default options: tables in the first schema of the search path.
    let Some(first) = common::connect_or_skip(PostgresOptions::new()).await else { return };
    let s = stream(&common::unique("restart"));
    let command = CommandId(42);
    let original =
        first.append(&s, ExpectedVersion::NoStream, command, events(&s, command, 3, "a")).await.expect("append");
    drop(first);

    let second = PostgresStore::connect(&common::url()).await.expect("reconnect");
    let again = second.append(&s, ExpectedVersion::Any, command, events(&s, command, 3, "a")).await.expect("retry");
    assert!(again.deduplicated);
    assert_eq!(again.original(), original, "a retry after a restart gets the first result");
    match second.append(&s, ExpectedVersion::Any, command, events(&s, command, 3, "other")).await {
        Err(StoreError::CommandConflict { first_version, .. }) => assert_eq!(first_version, StreamVersion(0)),
        other => panic!("the same command with other events must conflict, got {other:?}"),
    }
    assert_eq!(second.read_stream(&s, StreamVersion(0), 10).await.expect("read").len(), 3);
}

/// Waits until `read_all` shows every committed event: other tests' transactions running
/// at the same time hide the later ones for a moment (see "Global order" in the store's
/// documentation).
async fn wait_until_visible(store: &PostgresStore) {
    for _ in 0..200 {
        let hidden: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT FROM events WHERE xact_id >= pg_snapshot_xmin(pg_current_snapshot()))",
        )
        .fetch_one(store.pool())
        .await
        .expect("look for hidden events");
        if !hidden {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("events stayed hidden for 5 s: is a transaction left open?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_rows_are_reported_with_their_stream_and_version() {
    // A throwaway schema: no other reader should meet these rows.
    let schema = format!("showdown_corrupt_{}", std::process::id());
    let options = || PostgresOptions::new().schema(&schema).expect("a valid schema name");
    let Some(store) = common::connect_or_skip(options()).await else { return };
    // Migrating an up-to-date schema again changes nothing.
    let again = PostgresStore::connect_with(&common::url(), options()).await.expect("connect again");
    let migrations: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(again.pool())
        .await
        .expect("count migrations");
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).expect("migrations").count();
    assert_eq!(migrations, i64::try_from(shipped).expect("a few migrations"));
    drop(again);

    let s = stream("corrupt-metadata");
    let good = store.append(&s, ExpectedVersion::NoStream, CommandId(1), events(&s, CommandId(1), 2, "ok")).await;
    let good = good.expect("append");
    // Version 2 with metadata that is not an object of strings, as a hand edit might leave it.
    let position: i64 = sqlx::query_scalar(
        "INSERT INTO events (stream_id, version, event_id, command_id, schema, event_type, payload, metadata)
         VALUES ($1, 2, gen_random_uuid(), $2, 1, 'Test', '\\x00', '{\"seat\": 3}') RETURNING position",
    )
    .bind(s.as_str())
    .bind(&7u128.to_be_bytes()[..])
    .fetch_one(store.pool())
    .await
    .expect("insert a corrupt row");
    sqlx::query("UPDATE streams SET version = 2 WHERE stream_id = $1")
        .bind(s.as_str())
        .execute(store.pool())
        .await
        .expect("move the stream");

    wait_until_visible(&store).await;
    let check = |r: Result<Vec<showdown_store::StoredEvent>, StoreError>, what: &str| match r {
        Err(e @ StoreError::Corrupt { .. }) => {
            let StoreError::Corrupt { stream, version, .. } = &e else { unreachable!() };
            assert_eq!((stream, *version), (&s, StreamVersion(2)), "{what}");
            let chain = common::error_chain(&e);
            assert!(chain.contains("corrupt-metadata") && chain.contains("version 2"), "{what}: {chain}");
            eprintln!("{what}: {chain}");
        }
        other => panic!("{what}: expected Corrupt, got {other:?}"),
    };
    check(store.read_stream(&s, StreamVersion(0), 10).await, "read_stream");
    check(store.read_all(good.first_position, 10).await, "read_all");
    // The events before it are still readable.
    assert_eq!(store.read_stream(&s, StreamVersion(0), 2).await.expect("read before").len(), 2);
    assert_eq!(store.read_all(good.first_position, 2).await.expect("read_all before").len(), 2);

    // A stream id that is not a valid one is named as closely as possible.
    sqlx::query(
        "INSERT INTO events (stream_id, version, event_id, command_id, schema, event_type, payload)
         VALUES ('bad name', 0, gen_random_uuid(), $1, 1, 'Test', '\\x00')",
    )
    .bind(&7u128.to_be_bytes()[..])
    .execute(store.pool())
    .await
    .expect("insert a row with a bad stream id");
    wait_until_visible(&store).await;
    match store.read_all(GlobalPosition(position as u64 + 1), 10).await {
        Err(StoreError::Corrupt { stream, version, .. }) => {
            assert_eq!((stream.as_str(), version), ("bad?name", StreamVersion(0)));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // A retry of a command whose stored events are corrupt is reported, not compared blindly.
    sqlx::query("UPDATE events SET metadata = '[]' WHERE stream_id = $1 AND version = 1")
        .bind(s.as_str())
        .execute(store.pool())
        .await
        .expect("corrupt a stored event of command 1");
    match store.append(&s, ExpectedVersion::Any, CommandId(1), events(&s, CommandId(1), 2, "ok")).await {
        Err(StoreError::Corrupt { stream, version, .. }) => {
            assert_eq!((stream, version), (s.clone(), StreamVersion(1)))
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }

    drop(store);
    let url = common::url();
    let admin = PostgresStore::connect(&url).await.expect("connect to drop the schema");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(admin.pool())
        .await
        .expect("drop the throwaway schema");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_share_transactions() {
    let Some(store) = common::connect_or_skip(common::test_options().committers(1)).await else { return };
    let store = Arc::new(store);
    let prefix = common::unique("group");
    let mut tasks = Vec::new();
    for t in 0..16 {
        let (store, s) = (Arc::clone(&store), stream(&format!("{prefix}-{t}")));
        tasks.push(tokio::spawn(async move {
            let mut expected = ExpectedVersion::NoStream;
            for c in 0..50u128 {
                let a = store.append(&s, expected, CommandId(c), events(&s, CommandId(c), 4, "e")).await;
                expected = a.expect("append").next_expected();
            }
            expected
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("writer"), ExpectedVersion::Exact(StreamVersion(199)));
    }
    let stats = store.commit_stats();
    eprintln!("{stats:?}");
    assert_eq!((stats.requests, stats.events), (16 * 50, 16 * 50 * 4));
    assert!(stats.largest_batch > 1, "concurrent appends must share a transaction: {stats:?}");
    assert!(stats.transactions < 16 * 50, "fewer transactions than appends: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_postgres_cannot_store_fails_alone() {
    let Some(store) = common::connect_or_skip(common::test_options()).await else { return };
    let prefix = common::unique("nul");
    let (x, y) = (stream(&format!("{prefix}-x")), stream(&format!("{prefix}-y")));
    let mut bad = events(&y, CommandId(2), 1, "bad");
    bad[0].metadata.insert("note".to_owned(), "a\0b".to_owned());
    let results = store
        .append_batch(vec![
            AppendRequest {
                stream: x.clone(),
                expected: ExpectedVersion::NoStream,
                command: CommandId(1),
                events: events(&x, CommandId(1), 2, "ok"),
            },
            AppendRequest {
                stream: y.clone(),
                expected: ExpectedVersion::NoStream,
                command: CommandId(2),
                events: bad,
            },
            AppendRequest {
                stream: x.clone(),
                expected: ExpectedVersion::Exact(StreamVersion(1)),
                command: CommandId(3),
                events: events(&x, CommandId(3), 1, "ok"),
            },
        ])
        .await;
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    let e = results[1].as_ref().expect_err("NUL cannot be stored");
    assert!(common::error_chain(e).contains("NUL"), "{e}");
    assert_eq!(store.stream_version(&y).await.expect("version"), None);
    assert_eq!(store.stream_version(&x).await.expect("version"), Some(StreamVersion(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_hears_of_appends_by_notification() {
    // `listener` polls once an hour, so only a notification can wake its subscriber.
    let options = common::test_options().poll_interval(Duration::from_secs(3600));
    let Some(listener) = common::connect_or_skip(options).await else { return };
    let writer = PostgresStore::connect_with(&common::url(), common::test_options()).await.expect("connect");
    let s = stream(&common::unique("notify"));
    let first = writer.append(&s, ExpectedVersion::NoStream, CommandId(1), events(&s, CommandId(1), 1, "a")).await;
    let first = first.expect("append");
    let mut sub = listener.subscribe(first.last_position.next()).await.expect("subscribe");
    let target = s.clone();
    let wait = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let r = writer.append(&s, first.next_expected(), CommandId(2), events(&s, CommandId(2), 1, "b")).await;
        // Kept until the end: dropping the store right away could stop the notification.
        (writer, r)
    });
    let seen = loop {
        let e = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("the notification woke the subscriber")
            .expect("next");
        if e.stream == target {
            break e;
        }
    };
    assert_eq!(seen.version, StreamVersion(1));
    wait.await.expect("writer").1.expect("append");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committers_reconnect_and_retries_stay_safe() {
    let name = common::unique("showdown-kill");
    let options = common::test_options().application_name(&name).committers(1);
    let Some(store) = common::connect_or_skip(options).await else { return };
    let s = stream(&common::unique("reconnect"));
    let first = store.append(&s, ExpectedVersion::NoStream, CommandId(1), events(&s, CommandId(1), 2, "a")).await;
    let mut expected = first.expect("append").next_expected();
    for round in 0..3u128 {
        // Cut the committer's connection, as a restarting server or a proxy would.
        let killed: Vec<bool> =
            sqlx::query_scalar("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
                .bind(format!("{name} committer"))
                .fetch_all(store.pool())
                .await
                .expect("terminate the committer's backend");
        assert_eq!(killed, [true], "round {round}: one committer connection");
        let command = CommandId(10 + round);
        let batch = events(&s, command, 2, "b");
        // The first try may fail (the connection is gone, perhaps after committing); the
        // same command again is then safe, and is stored once.
        let appended = match store.append(&s, expected, command, batch.clone()).await {
            Ok(a) => a,
            Err(e @ StoreError::Unavailable { .. }) => {
                eprintln!("round {round}: {}", common::error_chain(&e));
                let again = store.append(&s, expected, command, batch).await.expect("the retry succeeds");
                again.original()
            }
            Err(e) => panic!("round {round}: {e:?}"),
        };
        expected = appended.next_expected();
    }
    let stored = store.read_stream(&s, StreamVersion(0), 100).await.expect("read");
    assert_eq!(stored.len(), 8, "each command once");
}
