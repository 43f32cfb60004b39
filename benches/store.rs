//! Criterion benchmarks of the store path a server takes to recover tables: a bot table's
//! stream (about 100,000 events) decoded and applied from bytes in memory, the same read
//! through the in-memory store first, and appends through the table service to the
//! in-memory store. The goal for replay is 20 million events per second.

use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use showdown::bots::TableBot;
use showdown::engine::table::{self, Table};
use showdown::store::codec::TableCodec;
use showdown::store::{
    EventStore, ExpectedVersion, MemoryStore, ServiceConfig, StoredEvent, StreamId, StreamVersion, TableService,
};

const HANDS: u64 = 2_000;

/// A table played by bots through the service on a memory store; returns the store and
/// the stream.
fn played(rt: &tokio::runtime::Runtime) -> (Arc<MemoryStore>, StreamId) {
    let store = Arc::new(MemoryStore::new());
    let service = TableService::new(
        Arc::clone(&store) as Arc<dyn EventStore>,
        ServiceConfig { snapshot_every: 0, ..Default::default() },
    );
    let stream = StreamId::new("bench-table").unwrap();
    rt.block_on(async {
        let mut t = service.load(&stream).await.unwrap();
        let bot = TableBot::new(1, HANDS);
        while let Some(c) = bot.next(t.table(), t.events(), 0) {
            service.handle(&mut t, &c).await.unwrap();
        }
    });
    (store, stream)
}

fn replay(codec: &TableCodec, events: &[StoredEvent]) -> Table {
    let mut t = Table::new();
    for e in events {
        table::apply(&mut t, &codec.decode(e).unwrap());
    }
    t
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (store, stream) = played(&rt);
    let events = rt.block_on(store.read_stream(&stream, StreamVersion(0), usize::MAX)).unwrap();
    let codec = TableCodec::default();
    let mut g = c.benchmark_group("store");
    g.sample_size(20);
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("replay decode+apply from bytes in memory", |b| b.iter(|| replay(&codec, &events)));
    // Recovery loads many tables, each independent: one per core.
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    g.throughput(Throughput::Elements((events.len() * threads) as u64));
    g.bench_function(format!("replay decode+apply, {threads} tables on {threads} threads"), |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                let replays: Vec<_> = (0..threads).map(|_| s.spawn(|| replay(&codec, &events))).collect();
                for handle in replays {
                    std::hint::black_box(handle.join().unwrap());
                }
            })
        });
    });
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("replay read_stream+decode+apply, memory store", |b| {
        b.iter(|| {
            let read = rt.block_on(store.read_stream(&stream, StreamVersion(0), usize::MAX)).unwrap();
            replay(&codec, &read)
        });
    });
    let new_events: Vec<_> = events.iter().map(StoredEvent::to_new_event).collect();
    g.bench_function("append one event per call, memory store", |b| {
        b.iter_batched(
            MemoryStore::new,
            |store| {
                rt.block_on(async {
                    let mut expected = ExpectedVersion::NoStream;
                    for (i, e) in new_events.iter().enumerate() {
                        let command = showdown::store::CommandId(i as u128);
                        expected =
                            store.append(&stream, expected, command, vec![e.clone()]).await.unwrap().next_expected();
                    }
                });
                store
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
