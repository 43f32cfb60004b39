//! Degraded mode against a Redis this test owns: start `redis-server` on a free port, use
//! it, kill it, check that calls fail fast with `Unavailable`, restart it on the same port,
//! and check that the client reconnects by itself.

mod common;

use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicUsize, Ordering};

use showdown_redis::{RedisCache, RedisConfig, RedisError, Viewer};

/// Counts this crate's `warn!` and `info!` events (the health monitor's), process-wide.
struct CountLogs;

static WARNINGS: AtomicUsize = AtomicUsize::new(0);
static INFOS: AtomicUsize = AtomicUsize::new(0);

impl tracing::Subscriber for CountLogs {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let meta = event.metadata();
        if meta.target().starts_with("showdown_redis") {
            match *meta.level() {
                tracing::Level::WARN => WARNINGS.fetch_add(1, Ordering::SeqCst),
                tracing::Level::INFO => INFOS.fetch_add(1, Ordering::SeqCst),
                _ => 0,
            };
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Serializes the tests of this binary, so that the log counts belong to one of them.
static LOGS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `call`, checks it failed with `Unavailable` well under a second, and returns how long it took.
async fn fails_fast<T: std::fmt::Debug>(
    what: &str,
    call: impl std::future::Future<Output = Result<T, RedisError>>,
) -> Duration {
    let start = Instant::now();
    let result = call.await;
    let took = start.elapsed();
    match result {
        Err(e) if e.is_unavailable() => {}
        other => panic!("{what} while Redis is down: expected Unavailable, got {other:?}"),
    }
    assert!(took < Duration::from_millis(300), "{what} took {took:?} to fail");
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_fail_fast_while_redis_is_down_and_work_again_after_it_is_back() {
    // The other test of this binary logs too: count the difference made here, under a lock.
    let _ = tracing::subscriber::set_global_default(CountLogs);
    let _alone = LOGS.lock().await;
    let (warnings, infos) = (WARNINGS.load(Ordering::SeqCst), INFOS.load(Ordering::SeqCst));
    let port = common::Server::free_port();
    let Some(server) = common::Server::start(port) else { return };
    let config = RedisConfig::new(format!("redis://127.0.0.1:{port}")).with_namespace(common::namespace("outage"));
    let cache = RedisCache::connect(config.clone()).await.expect("connect to our own redis-server");
    assert!(cache.is_available());
    assert!(cache.put_table("t", 1, b"state", b"public").await.unwrap());
    assert!(cache.apply_leaderboard(1, &[(1, 10, 1)]).await.unwrap());

    server.kill();
    // The client notices the closed socket at once.
    let deadline = Instant::now() + Duration::from_secs(2);
    while cache.is_available() {
        assert!(Instant::now() < deadline, "the client still says it is connected 2 s after the server died");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut slowest = Duration::ZERO;
    for _ in 0..3 {
        slowest = slowest.max(fails_fast("get_table", cache.get_table("t")).await);
        slowest = slowest.max(fails_fast("put_table", cache.put_table("t", 2, b"s", b"p")).await);
        slowest = slowest.max(fails_fast("publish_event", cache.publish_event("t", 2, b"p", &[])).await);
        slowest = slowest.max(fails_fast("apply_leaderboard", cache.apply_leaderboard(2, &[])).await);
        slowest = slowest.max(fails_fast("check_rate", cache.check_rate(1)).await);
        slowest = slowest.max(fails_fast("get_session", cache.get_session("tok")).await);
        slowest = slowest.max(fails_fast("subscribe", cache.subscribe("t", Viewer::Spectator)).await);
    }
    eprintln!("slowest failure while down: {slowest:?}");
    // Twenty-odd failed calls, one warning.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(WARNINGS.load(Ordering::SeqCst) - warnings, 1, "one warning for the outage");
    let e = cache.get_table("t").await.unwrap_err();
    assert!(e.to_string().starts_with("Redis is unavailable for get_table: "), "{e}");
    // A new client fails to connect quickly too.
    let start = Instant::now();
    assert!(RedisCache::connect(config.clone()).await.unwrap_err().is_unavailable());
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());

    // Back on the same port (empty: it keeps nothing on disk). The client reconnects by
    // itself within the backoff's longest delay, and the scripts are loaded again on demand.
    let _server = common::Server::start(port).expect("restart redis-server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cache.is_available() {
        assert!(Instant::now() < deadline, "no reconnection within 10 s of the restart");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(cache.get_table("t").await.unwrap(), None, "a new server: the cache starts empty");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(INFOS.load(Ordering::SeqCst) - infos, 1, "one info when it is back");
    assert_eq!(WARNINGS.load(Ordering::SeqCst) - warnings, 1);
    assert!(cache.put_table("t", 3, b"state-3", b"p").await.unwrap());
    assert_eq!(cache.get_table("t").await.unwrap().unwrap().version, 3);
    assert!(cache.apply_leaderboard(3, &[(1, 5, 1)]).await.unwrap());
    assert!(cache.check_rate(1).await.unwrap().allowed);
    let mut feed = cache.subscribe("t", Viewer::Spectator).await.unwrap();
    cache.publish_event("t", 4, b"after", &[]).await.unwrap();
    let message = tokio::time::timeout(Duration::from_secs(2), feed.next()).await.unwrap().unwrap().unwrap();
    assert_eq!((message.version, message.payload), (4, b"after".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_round_of_reconnection_starts_after_the_attempts_are_used_up() {
    let _alone = LOGS.lock().await;
    let port = common::Server::free_port();
    let Some(server) = common::Server::start(port) else { return };
    let mut config = RedisConfig::new(format!("redis://127.0.0.1:{port}")).with_namespace(common::namespace("rearm"));
    // One attempt per round, rounds 100 ms apart.
    config.reconnect = showdown_redis::Backoff {
        min_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        max_attempts: 1,
    };
    let cache = RedisCache::connect(config).await.expect("connect to our own redis-server");
    assert!(cache.put_table("t", 1, b"s", b"p").await.unwrap());
    server.kill();
    // Long enough for fred to give up on its single attempt, several times over.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!cache.is_available());
    fails_fast("get_table", cache.get_table("t")).await;

    let _server = common::Server::start(port).expect("restart redis-server");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cache.is_available() {
        assert!(Instant::now() < deadline, "no reconnection within 5 s of the restart");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cache.put_table("t", 2, b"s", b"p").await.unwrap());
}
