//! Append and read throughput of [`PostgresStore`] on the real path (group commit, the
//! database at `SHOWDOWN_POSTGRES_URL` / `DATABASE_URL` / the local test database).
//!
//! 16 tables write at once, each in a loop: one command of 4 events of 60 bytes, appended
//! with the exact expected version, then the next. Then `read_all` reads the run back in
//! pages of 1,000. Three runs; the medians are printed last.
//!
//! `cargo bench -p showdown-postgres --bench throughput`, with optional environment:
//! `BENCH_SECONDS` (per run, default 10), `BENCH_TABLES` (16), `BENCH_COMMITTERS` (the
//! store's default), `BENCH_RUNS` (3). It writes to the schema `showdown_bench`, which it
//! empties first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use showdown_engine::table::CommandId;
use showdown_postgres::{PostgresOptions, PostgresStore};
use showdown_store::{EventId, EventStore, ExpectedVersion, GlobalPosition, Metadata, NewEvent, StreamId};

const EVENTS_PER_COMMAND: u32 = 4;
const PAYLOAD_BYTES: usize = 60;
const READ_PAGE: usize = 1000;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn command_events(stream: &StreamId, command: CommandId) -> Vec<NewEvent> {
    (0..EVENTS_PER_COMMAND)
        .map(|i| NewEvent {
            event_id: EventId::derive(stream, command, i),
            schema: 1,
            event_type: "BetPlaced".to_owned(),
            payload: vec![(command.0 as u8).wrapping_add(i as u8); PAYLOAD_BYTES],
            metadata: Metadata::new(),
        })
        .collect()
}

struct Run {
    commit_probe_ms: f64,
    append_eps: f64,
    read_eps: f64,
    events: u64,
    batch_requests: f64,
    commit_ms: f64,
}

/// The median latency of an empty commit that must reach the disk (`pg_current_xact_id()`
/// gives the transaction an id, so its commit is flushed): the floor under every append,
/// which on a shared machine moves with the other users of the disk.
async fn commit_probe_ms(store: &PostgresStore) -> f64 {
    let mut times = Vec::new();
    for _ in 0..100 {
        let started = Instant::now();
        sqlx::query("SELECT pg_current_xact_id()").execute(store.pool()).await.expect("probe");
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    median(times)
}

async fn run(store: &Arc<PostgresStore>, tables: usize, seconds: f64, run_no: usize) -> Run {
    let commit_probe_ms = commit_probe_ms(store).await;
    let before = store.commit_stats();
    let start_position = {
        let head: Option<i64> =
            sqlx::query_scalar("SELECT max(position) FROM events").fetch_one(store.pool()).await.expect("head");
        GlobalPosition(head.map_or(0, |h| h as u64 + 1))
    };
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut writers = Vec::new();
    for t in 0..tables {
        let store = Arc::clone(store);
        let stream = StreamId::new(format!("bench-{run_no}-{t}")).expect("valid");
        writers.push(tokio::spawn(async move {
            let mut expected = ExpectedVersion::NoStream;
            let mut events = 0u64;
            let mut c = 0u128;
            while Instant::now() < deadline {
                let command = CommandId(c);
                let a = store.append(&stream, expected, command, command_events(&stream, command)).await;
                expected = a.expect("append").next_expected();
                events += u64::from(EVENTS_PER_COMMAND);
                c += 1;
            }
            events
        }));
    }
    let mut events = 0;
    for w in writers {
        events += w.await.expect("writer");
    }
    let append_secs = started.elapsed().as_secs_f64();
    let after = store.commit_stats();
    let transactions = (after.transactions - before.transactions).max(1) as f64;
    let batch_requests = (after.requests - before.requests) as f64 / transactions;
    let commit_ms = (after.busy - before.busy).as_secs_f64() * 1e3 / transactions;

    let started = Instant::now();
    let mut read = 0u64;
    let mut from = start_position;
    loop {
        let page = store.read_all(from, READ_PAGE).await.expect("read_all");
        let Some(last) = page.last() else { break };
        from = last.position.next();
        read += page.len() as u64;
    }
    let read_secs = started.elapsed().as_secs_f64();
    assert_eq!(read, events, "read_all gives back every event appended");
    Run {
        commit_probe_ms,
        append_eps: events as f64 / append_secs,
        read_eps: read as f64 / read_secs,
        events,
        batch_requests,
        commit_ms,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let tables = env_or("BENCH_TABLES", 16usize);
    let seconds = env_or("BENCH_SECONDS", 10.0f64);
    let runs = env_or("BENCH_RUNS", 3usize);
    let url = std::env::var("SHOWDOWN_POSTGRES_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut options = PostgresOptions::new().schema("showdown_bench").expect("valid schema");
    if let Some(n) = std::env::var("BENCH_COMMITTERS").ok().and_then(|v| v.parse().ok()) {
        options = options.committers(n);
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    rt.block_on(async {
        let store = match PostgresStore::connect_with(&url, options.clone()).await {
            Ok(s) => Arc::new(s),
            Err(e) => {
                eprintln!("benchmark skipped: {e}: {:?}", std::error::Error::source(&e));
                return;
            }
        };
        sqlx::raw_sql("TRUNCATE events, streams, commands, snapshots")
            .execute(store.pool())
            .await
            .expect("empty the bench schema");
        sqlx::raw_sql("VACUUM ANALYZE events, streams, commands").execute(store.pool()).await.expect("vacuum");
        println!(
            "{tables} tables × commands of {EVENTS_PER_COMMAND} events of {PAYLOAD_BYTES} bytes, {seconds} s per run, \
             {runs} runs, {options:?}"
        );
        let mut results = Vec::new();
        for r in 0..runs {
            let x = run(&store, tables, seconds, r).await;
            println!(
                "run {}: append {:>6.0} events/s ({} events; {:.1} appends per transaction, {:.2} ms per transaction; \
                 an empty commit took {:.2} ms) | read_all {:>6.0} events/s; load average {}",
                r + 1,
                x.append_eps,
                x.events,
                x.batch_requests,
                x.commit_ms,
                x.commit_probe_ms,
                x.read_eps,
                std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split(' ').next().unwrap_or("?"),
            );
            results.push(x);
        }
        println!(
            "median: append {:.0} events/s, read_all {:.0} events/s (empty commit {:.2} ms)",
            median(results.iter().map(|r| r.append_eps).collect()),
            median(results.iter().map(|r| r.read_eps).collect()),
            median(results.iter().map(|r| r.commit_probe_ms).collect()),
        );
    });
}
