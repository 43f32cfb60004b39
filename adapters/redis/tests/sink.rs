//! `RedisSink` and `RedisRateGate` against real Redis: bot tables played into a memory
//! store, projected into Redis, checked against replays of the streams and against the
//! players' stacks; the feeds in order and redacted; an outage survived; the rate gate.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::driver::Tables;
use showdown_engine::hand;
use showdown_engine::table::{Recorded, SeatIdx, TableEvent, Viewer as TableViewer};
use showdown_redis::{
    GapDetector, LeaderboardKind, Observed, RateLimit, RedisCache, RedisConfig, RedisRateGate, RedisSink, Viewer,
    cached_table, decode_public,
};
use showdown_store::codec::{Codec, TableCodec};
use showdown_store::projection::Projector;
use showdown_store::{CommandId, EventStore, ServiceError, StreamVersion};

fn codec() -> Arc<TableCodec> {
    Arc::new(TableCodec::default())
}

async fn leaderboard(cache: &RedisCache, kind: LeaderboardKind) -> BTreeMap<u64, i64> {
    cache.leaderboard_all(kind).await.unwrap().into_iter().collect()
}

/// Every cached table is at its stream's last version and equals a replay; the leaderboards
/// equal what the players' stacks say.
async fn check_caches(cache: &RedisCache, tables: &Tables) {
    let codec = codec();
    for stream in tables.streams() {
        let (replayed, version) = tables.replay(&stream, &codec).await;
        let (table, cached_version) =
            cached_table(cache, &stream, &codec).await.unwrap().unwrap_or_else(|| panic!("{stream} is not cached"));
        assert_eq!(cached_version, version, "{stream}: the cached version is the stream's");
        assert_eq!(table, replayed, "{stream}: the cached table is a replay of the stream");
        let public = cache.get_table(stream.as_str()).await.unwrap().unwrap().public;
        assert_eq!(decode_public(&codec, &public), Some(replayed.view_for(TableViewer::Spectator)));
    }
    assert_eq!(leaderboard(cache, LeaderboardKind::NetChips).await, tables.expected_net(), "net chips");
    assert_eq!(leaderboard(cache, LeaderboardKind::HandsPlayed).await, tables.expected_hands().await, "hands played");
    assert_eq!(tables.expected_net().values().sum::<i64>(), 0, "chips are conserved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_caches_every_table_and_the_leaderboards_and_rebuilds_to_the_same() {
    let Some(cache) = common::connect_or_skip(common::config("sink")).await else { return };
    let mut tables = Tables::new("sink", 3);
    tables.play(12).await;

    let store = tables.store.clone();
    let sink = RedisSink::new(cache.clone(), codec(), tables.last_position().await);
    let mut projector = Projector::new(&*store, TableCodec::default(), sink).with_batch(300);
    let progress = projector.catch_up().await.unwrap();
    assert!(progress.batches > 3, "several batches: {progress:?}");
    assert_eq!(projector.sink().stats().messages, 0, "history is not published");
    check_caches(&cache, &tables).await;

    // More hands, caught up incrementally.
    tables.play(20).await;
    projector.catch_up().await.unwrap();
    check_caches(&cache, &tables).await;

    // Rebuild: same leaderboards, same cached versions.
    projector.rebuild().await.unwrap();
    assert_eq!(cache.leaderboard_position().await.unwrap(), None);
    for stream in tables.streams() {
        assert!(cache.get_table(stream.as_str()).await.unwrap().is_none(), "reset drops {stream}");
    }
    projector.catch_up().await.unwrap();
    check_caches(&cache, &tables).await;

    // A second runner on the same checkpoint finds nothing to do.
    let sink = RedisSink::new(cache.clone(), codec(), tables.last_position().await);
    let mut second = Projector::new(&*store, TableCodec::default(), sink);
    assert_eq!(second.catch_up().await.unwrap().events, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_deliver_new_events_in_order_redacted_for_each_viewer() {
    let Some(cache) = common::connect_or_skip(common::config("sink-feed")).await else { return };
    let mut tables = Tables::new("feed", 1);
    tables.play(3).await;
    let stream = tables.streams().remove(0);
    let start = tables.store.stream_version(&stream).await.unwrap().unwrap();

    let store = tables.store.clone();
    let sink = RedisSink::new(cache.clone(), codec(), tables.last_position().await);
    let mut projector = Projector::new(&*store, TableCodec::default(), sink).with_batch(64);
    projector.catch_up().await.unwrap();

    let mut spectator = cache.subscribe(stream.as_str(), Viewer::Spectator).await.unwrap();
    let mut seat = cache.subscribe(stream.as_str(), Viewer::Seat(0)).await.unwrap();
    tables.play(6).await;
    projector.catch_up().await.unwrap();
    let end = tables.store.stream_version(&stream).await.unwrap().unwrap();
    assert!(end.0 > start.0 + 20);

    let codec = TableCodec::default();
    for (viewer, subscription) in [(TableViewer::Spectator, &mut spectator), (TableViewer::Seat(SeatIdx(0)), &mut seat)]
    {
        let mut gaps = GapDetector::expecting(start.0 + 1);
        let mut own_cards = 0;
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), subscription.next())
                .await
                .unwrap_or_else(|_| panic!("{viewer:?}: no message within 5 s"))
                .unwrap()
                .unwrap();
            assert_eq!(gaps.observe(message.version), Observed::InOrder, "{viewer:?}");
            let recorded: Recorded = codec.codec().decode(&message.payload).unwrap();
            let stored = tables.store.read_stream(&stream, StreamVersion(message.version), 1).await.unwrap();
            let original = codec.decode(&stored[0]).unwrap();
            assert_eq!(recorded, original.redacted_for(viewer), "{viewer:?} at {}", message.version);
            if let TableEvent::Hand { seat, event: hand::Event::HoleCardsDealt { cards, .. } } = &recorded.event {
                let own = viewer == TableViewer::Seat(SeatIdx(0)) && *seat == Some(SeatIdx(0));
                if own {
                    own_cards += 1;
                    assert!(cards.as_slice().iter().all(Option::is_some), "the seat sees its own cards");
                } else {
                    assert!(cards.as_slice().iter().all(Option::is_none), "{viewer:?} sees no other hole cards");
                }
            }
            if message.version == end.0 {
                break;
            }
        }
        if viewer != TableViewer::Spectator {
            assert!(own_cards >= 3, "seat 0 saw its cards in each new hand");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_projection_survives_an_outage_and_rebuilds_a_restarted_empty_redis() {
    let port = common::Server::free_port();
    let Some(server) = common::Server::start(port) else { return };
    let config = RedisConfig::new(server.url()).with_namespace(common::namespace("sink-outage"));
    let cache = RedisCache::connect(config).await.unwrap();
    let mut tables = Tables::new("outage", 2);
    tables.play(8).await;
    let store = tables.store.clone();
    let sink = RedisSink::new(cache.clone(), codec(), tables.last_position().await);
    let mut projector = Projector::new(&*store, TableCodec::default(), sink).with_batch(200);
    projector.catch_up().await.unwrap();
    check_caches(&cache, &tables).await;

    server.kill();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let playing = &mut tables;
    let cache_ref = &cache;
    let (run, restarted) = tokio::join!(projector.run(stopped, Duration::from_millis(50)), async move {
        // The tables keep playing: the service never touches Redis.
        playing.play(16).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let server = common::Server::start(port).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !cache_ref.is_available() {
            assert!(Instant::now() < deadline, "the client did not reconnect within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.send(true).unwrap();
        server
    });
    let progress = run.expect("the run never fails on an outage");
    assert!(progress.lost_races + progress.batches > 0);
    check_caches(&cache, &tables).await;
    assert_eq!(
        cache.leaderboard_position().await.unwrap(),
        tables.last_position().await.map(|p| p.0),
        "caught up to the last event"
    );
    restarted.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_gate_refuses_a_burst_and_lets_everything_through_without_redis() {
    let port = common::Server::free_port();
    let Some(server) = common::Server::start(port) else { return };
    let mut config = RedisConfig::new(server.url()).with_namespace(common::namespace("sink-gate"));
    config.rate_limit = RateLimit { per_second: 0.1, burst: 3 };
    let cache = RedisCache::connect(config).await.unwrap();
    let mut tables = Tables::new("gate", 1);
    tables.service = tables.service.clone().with_gate(Arc::new(RedisRateGate::new(cache.clone())));
    let loaded = &mut tables.loaded[0];

    use showdown_engine::chips::Chips;
    use showdown_engine::table::{CommandEnvelope, PlayerId, TableCommand, TableConfig};
    let player = PlayerId(7);
    let mut n = 0u128;
    let mut send = |command: TableCommand| {
        n += 1;
        CommandEnvelope { id: CommandId(n), now_ms: n as u64 * 1000, command }
    };
    let service = tables.service.clone();
    let open = send(TableCommand::Open { config: TableConfig::no_limit_holdem(1, 2) });
    service.handle(loaded, &open).await.unwrap();
    let sit = send(TableCommand::SitDown { seat: SeatIdx(0), player, buy_in: Chips(200), wait_for_big_blind: false });
    service.handle(loaded, &sit).await.unwrap();
    service.handle(loaded, &send(TableCommand::SitOut { player })).await.unwrap();
    service.handle(loaded, &send(TableCommand::SitIn { player, wait_for_big_blind: false })).await.unwrap();
    let before = tables.store.stream_version(loaded.stream()).await.unwrap();
    match service.handle(loaded, &send(TableCommand::SitOut { player })).await {
        Err(ServiceError::Gated { refusal, .. }) => {
            assert!(refusal.reason.contains("player 7 is over the action rate limit"), "{}", refusal.reason);
            assert!(refusal.retry_after.is_some_and(|d| d > Duration::ZERO));
        }
        other => panic!("the fourth command of the burst is gated, not {other:?}"),
    }
    assert_eq!(tables.store.stream_version(loaded.stream()).await.unwrap(), before, "nothing more stored");

    // Redis down: the limiter steps aside.
    server.kill();
    let deadline = Instant::now() + Duration::from_secs(5);
    while cache.is_available() {
        assert!(Instant::now() < deadline, "the client did not notice the outage");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for i in 0..6 {
        let command = if i % 2 == 0 {
            TableCommand::SitOut { player }
        } else {
            TableCommand::SitIn { player, wait_for_big_blind: false }
        };
        service.handle(loaded, &send(command)).await.unwrap_or_else(|e| panic!("command {i} without Redis: {e}"));
    }
    assert_eq!(tables.store.stream_version(loaded.stream()).await.unwrap(), before.map(|v| StreamVersion(v.0 + 6)));
}

/// The figure: `Projector::catch_up` from the start with `RedisSink` over 16 tables × 500
/// hands in a memory store, 3 repeats each (a reset before each), median events/s; once
/// publishing every event to its feeds (no subscribers), once with nothing to publish (a
/// rebuild over old history). Run with
/// `cargo test -p showdown-redis --release --test sink -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: prints figures"]
async fn projection_throughput() {
    let Some(cache) = common::connect_or_skip(common::config("sink-bench")).await else { return };
    let (n_tables, hands) = (16, 500);
    let mut tables = Tables::new("bench", n_tables);
    let started = Instant::now();
    tables.play(hands).await;
    let store = tables.store.clone();
    let events = store.read_all(showdown_store::GlobalPosition::START, usize::MAX).await.unwrap().len();
    println!("{n_tables} tables × {hands} hands: {events} events, played in {:.1?}", started.elapsed());
    let last = tables.last_position().await;
    for (what, publish_after) in [("publishing every event", None), ("nothing to publish (rebuild)", last)] {
        let sink = RedisSink::new(cache.clone(), codec(), publish_after);
        let mut projector = Projector::new(&*store, TableCodec::default(), sink);
        let mut rates = Vec::new();
        for _ in 0..3 {
            projector.rebuild().await.unwrap();
            let before = projector.sink().stats();
            let started = Instant::now();
            let progress = projector.catch_up().await.unwrap();
            let elapsed = started.elapsed();
            let stats = projector.sink().stats();
            let batches = stats.batches - before.batches;
            rates.push(events as f64 / elapsed.as_secs_f64());
            println!(
                "  {what}: {events} events in {elapsed:.2?} ({:.0} events/s), {batches} batches, {:.1} round trips \
                 and {:.1} ms a batch, {} messages",
                events as f64 / elapsed.as_secs_f64(),
                (stats.round_trips - before.round_trips) as f64 / batches as f64,
                elapsed.as_secs_f64() * 1000.0 / batches as f64,
                stats.messages - before.messages,
            );
            assert_eq!(progress.position, last);
        }
        rates.sort_by(f64::total_cmp);
        println!("{what}: median {:.0} events/s over 3 runs", rates[1]);
        check_caches(&cache, &tables).await;
    }
}
