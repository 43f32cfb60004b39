//! Events per second through `SqliteStore` on a file (synchronous=FULL, the default):
//! - `append`: 16 tables at once, each appending commands of 4 events of 60 bytes, one
//!   command at a time with its expected version (as a game server would);
//! - `read_all`: every event of a 102,400-event file, in pages of 512.
//!
//! `cargo bench -p showdown-sqlite --bench throughput`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use showdown_sqlite::SqliteStore;
use showdown_store::{
    AppendRequest, CommandId, EventId, EventStore, ExpectedVersion, GlobalPosition, Metadata, NewEvent, StreamId,
};

const TABLES: usize = 16;
/// Commands per table per measured iteration.
const COMMANDS: usize = 50;
const EVENTS_PER_COMMAND: u32 = 4;
const PAYLOAD_BYTES: usize = 60;
const PAGE: usize = 512;

fn command_events(stream: &StreamId, command: CommandId) -> Vec<NewEvent> {
    (0..EVENTS_PER_COMMAND)
        .map(|i| NewEvent {
            event_id: EventId::derive(stream, command, i),
            schema: 1,
            event_type: "BetPlaced".to_owned(),
            payload: vec![i as u8; PAYLOAD_BYTES],
            metadata: Metadata::new(),
        })
        .collect()
}

/// 16 tables append `COMMANDS` commands each, concurrently, on fresh streams.
async fn append_round(store: &Arc<SqliteStore>, round: u64) {
    let mut tasks = Vec::with_capacity(TABLES);
    for t in 0..TABLES {
        let store = Arc::clone(store);
        tasks.push(tokio::spawn(async move {
            let stream = StreamId::new(format!("bench-{round}-table-{t}")).expect("a valid stream id");
            let mut expected = ExpectedVersion::NoStream;
            for c in 0..COMMANDS {
                let command = CommandId((u128::from(round) << 32) | c as u128);
                let events = command_events(&stream, command);
                expected = store.append(&stream, expected, command, events).await.expect("append").next_expected();
            }
        }));
    }
    for t in tasks {
        t.await.expect("a table task");
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");

    let url = format!("sqlite:{}", dir.path().join("append.db").display());
    let store = Arc::new(runtime.block_on(SqliteStore::open(&url)).expect("open"));
    let rounds = AtomicU64::new(0);
    let mut group = c.benchmark_group("sqlite");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements((TABLES * COMMANDS) as u64 * u64::from(EVENTS_PER_COMMAND)));
    group.bench_function("append/16 tables x 4 events of 60 B", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    append_round(&store, rounds.fetch_add(1, Ordering::Relaxed)).await;
                }
                start.elapsed()
            })
        });
    });

    // A file of 102,400 events to read back, filled in batches.
    let url = format!("sqlite:{}", dir.path().join("read.db").display());
    let reader = runtime.block_on(SqliteStore::open(&url)).expect("open");
    let total = runtime.block_on(async {
        let mut total = 0u64;
        for t in 0..TABLES {
            let stream = StreamId::new(format!("read-table-{t}")).expect("a valid stream id");
            let requests = (0..1_600u128)
                .map(|c| AppendRequest {
                    stream: stream.clone(),
                    expected: ExpectedVersion::Any,
                    command: CommandId(c),
                    events: command_events(&stream, CommandId(c)),
                })
                .collect();
            for r in reader.append_batch(requests).await {
                r.expect("fill");
                total += u64::from(EVENTS_PER_COMMAND);
            }
        }
        total
    });
    group.throughput(Throughput::Elements(total));
    group.bench_function("read_all/pages of 512", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut from = GlobalPosition::START;
                let mut read = 0u64;
                loop {
                    let page = reader.read_all(from, PAGE).await.expect("read_all");
                    let Some(last) = page.last() else { break };
                    from = last.position.next();
                    read += page.len() as u64;
                }
                assert_eq!(read, total);
            });
        });
    });
    group.finish();
    runtime.block_on(async {
        if let Some(store) = Arc::into_inner(store) {
            store.close().await.expect("close");
        }
        reader.close().await.expect("close");
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
