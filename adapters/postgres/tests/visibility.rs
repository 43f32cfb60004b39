//! `read_all` never passes a position whose transaction has not committed: an event
//! appended and committed after an open transaction's event stays hidden until that
//! transaction commits. (Its own test binary: the open transaction holds back every
//! `read_all` on the cluster while it lasts.)

mod common;

use std::time::Duration;

use showdown_engine::table::CommandId;
use showdown_store::{EventId, EventStore, ExpectedVersion, Metadata, NewEvent, StreamId};

fn event(stream: &StreamId, command: CommandId) -> Vec<NewEvent> {
    vec![NewEvent {
        event_id: EventId::derive(stream, command, 0),
        schema: 1,
        event_type: "Test".to_owned(),
        payload: b"later".to_vec(),
        metadata: Metadata::new(),
    }]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_all_waits_for_slower_transactions() {
    let options = common::test_options().poll_interval(Duration::from_millis(100));
    let Some(store) = common::connect_or_skip(options).await else { return };
    let prefix = common::unique("visibility");
    let (early, held, late) = (
        StreamId::new(format!("{prefix}-early")).expect("valid"),
        StreamId::new(format!("{prefix}-held")).expect("valid"),
        StreamId::new(format!("{prefix}-late")).expect("valid"),
    );
    let start = store.append(&early, ExpectedVersion::NoStream, CommandId(1), event(&early, CommandId(1))).await;
    let start = start.expect("append").first_position;
    let mut sub = store.subscribe(start).await.expect("subscribe");
    assert_eq!(sub.next().await.expect("next").stream, early);

    // A slow writer: its event takes a position, and its transaction stays open.
    let mut slow = store.pool().begin().await.expect("begin");
    let held_position: i64 = sqlx::query_scalar(
        "INSERT INTO events (stream_id, version, event_id, command_id, schema, event_type, payload)
         VALUES ($1, 0, gen_random_uuid(), $2, 1, 'Test', 'held') RETURNING position",
    )
    .bind(held.as_str())
    .bind(&9u128.to_be_bytes()[..])
    .fetch_one(&mut *slow)
    .await
    .expect("insert in the open transaction");

    // A later append takes a later position and commits first.
    let later = store.append(&late, ExpectedVersion::NoStream, CommandId(2), event(&late, CommandId(2))).await;
    let later = later.expect("append");
    assert!(later.first_position.0 > held_position as u64);
    assert_eq!(store.stream_version(&late).await.expect("version"), Some(later.last_version), "it committed");

    let streams_seen =
        |events: &[showdown_store::StoredEvent]| events.iter().map(|e| e.stream.clone()).collect::<Vec<_>>();
    let seen = store.read_all(start, 100).await.expect("read_all");
    assert_eq!(
        streams_seen(&seen),
        std::slice::from_ref(&early),
        "read_all must not pass the open transaction's position"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(500), sub.next()).await.is_err(),
        "the subscription must wait for the open transaction too"
    );

    slow.commit().await.expect("commit the slow writer");
    let seen = store.read_all(start, 100).await.expect("read_all");
    assert_eq!(streams_seen(&seen), [early, held.clone(), late.clone()], "both, in position order");
    // The subscription learns of it by its poll (the slow writer sent no notification).
    for want in [held, late] {
        let e =
            tokio::time::timeout(Duration::from_secs(5), sub.next()).await.expect("woken by the poll").expect("next");
        assert_eq!(e.stream, want);
    }
}
