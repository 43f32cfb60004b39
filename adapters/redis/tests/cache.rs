//! Every primitive against a real Redis (skipped with a notice when there is none, failed
//! when `CI` is set).

mod common;

use std::time::{Duration, Instant};

use common::{config, connect_or_skip};
use showdown_redis::{
    GapDetector, LeaderboardKind, Observed, RateLimit, RedisCache, RedisConfig, RedisError, Viewer, key_slot,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_cache_writes_only_newer_versions() {
    let Some(cache) = connect_or_skip(config("table")).await else { return };
    assert_eq!(cache.get_table("t1").await.unwrap(), None);

    assert!(cache.put_table("t1", 5, b"state-5", b"public-5").await.unwrap());
    let cached = cache.get_table("t1").await.unwrap().expect("cached");
    assert_eq!((cached.version, &cached.state[..], &cached.public[..]), (5, &b"state-5"[..], &b"public-5"[..]));

    // Older and equal versions are refused, and leave the cache as it was.
    assert!(!cache.put_table("t1", 4, b"state-4", b"public-4").await.unwrap());
    assert!(!cache.put_table("t1", 5, b"other", b"other").await.unwrap());
    assert_eq!(cache.get_table("t1").await.unwrap().unwrap().state, b"state-5");

    // Newer wins; versions compare as integers, not as text ("10" > "9"), up to u64::MAX.
    assert!(cache.put_table("t1", 9, b"state-9", b"p").await.unwrap());
    assert!(cache.put_table("t1", 10, b"state-10", b"p").await.unwrap());
    assert!(!cache.put_table("t1", 9, b"state-9", b"p").await.unwrap());
    assert!(cache.put_table("t1", u64::MAX, b"last", b"p").await.unwrap());
    assert_eq!(cache.get_table("t1").await.unwrap().unwrap().version, u64::MAX);

    // Binary state survives (every byte value, and empty).
    let bytes: Vec<u8> = (0..=255).collect();
    assert!(cache.put_table("t2", 0, &bytes, b"").await.unwrap());
    let cached = cache.get_table("t2").await.unwrap().unwrap();
    assert_eq!((cached.state, cached.public), (bytes, Vec::new()));

    assert!(cache.invalidate_table("t1").await.unwrap());
    assert!(!cache.invalidate_table("t1").await.unwrap());
    assert_eq!(cache.get_table("t1").await.unwrap(), None);
    // After an invalidation any version is accepted again (a rebuild).
    assert!(cache.put_table("t1", 1, b"rebuilt", b"p").await.unwrap());
    cache.invalidate_table("t1").await.unwrap();
    cache.invalidate_table("t2").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writers_leave_the_newest_version() {
    let Some(cache) = connect_or_skip(config("race")).await else { return };
    let mut tasks = Vec::new();
    for writer in 0..8u64 {
        let cache = cache.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50u64 {
                let version = i * 8 + writer;
                cache.put_table("raced", version, version.to_string().as_bytes(), b"").await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let cached = cache.get_table("raced").await.unwrap().unwrap();
    assert_eq!(cached.version, 399);
    assert_eq!(cached.state, b"399");
    cache.invalidate_table("raced").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_of_one_table_share_a_cluster_slot() {
    // Known slots (the Redis Cluster specification's CRC16 and its test vector).
    assert_eq!(key_slot("123456789"), 0x31C3);
    assert_eq!(key_slot("foo"), 12182);
    assert_eq!(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));

    let keys = showdown_redis::Keys::new("showdown").unwrap();
    assert_eq!(keys.table("t-42").unwrap(), "showdown:table:{t-42}");
    for table in ["t-42", "table-1", "x"] {
        let slot = key_slot(&keys.table(table).unwrap());
        assert_eq!(slot, key_slot(table), "the hash tag is the table id");
        assert_eq!(key_slot(&keys.channel(table, Viewer::Spectator).unwrap()), slot);
        for seat in [0, 5, 9] {
            assert_eq!(key_slot(&keys.channel(table, Viewer::Seat(seat)).unwrap()), slot);
        }
    }
    let lb = [
        keys.leaderboard(LeaderboardKind::NetChips),
        keys.leaderboard(LeaderboardKind::HandsPlayed),
        keys.leaderboard_position(),
    ];
    assert!(lb.iter().all(|k| key_slot(k) == key_slot(&lb[0])), "{lb:?}");
    assert_eq!(keys.session("abc").unwrap(), "showdown:session:{abc}");
    assert_eq!(keys.rate_limit(7), "showdown:ratelimit:{7}");

    // Braces would move the hash tag: refused, with a message saying what is allowed.
    let e = keys.table("a{b}").unwrap_err();
    assert!(matches!(e, RedisError::InvalidName { .. }), "{e}");
    assert!(e.to_string().contains("without spaces, '{' or '}'"), "{e}");
    assert!(keys.table("").is_err());
    assert!(showdown_redis::Keys::new("bad ns").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_see_versions_in_order_and_gaps_are_flagged() {
    let Some(cache) = connect_or_skip(config("feed")).await else { return };
    let mut public = cache.subscribe("t1", Viewer::Spectator).await.unwrap();
    let mut seat3 = cache.subscribe("t1", Viewer::Seat(3)).await.unwrap();
    let mut seat4 = cache.subscribe("t1", Viewer::Seat(4)).await.unwrap();

    // Versions 1, 2, 3, then 5: 4 is never published.
    for version in [1u64, 2, 3, 5] {
        let seats = vec![(3u8, format!("seat3-{version}").into_bytes()), (4, format!("seat4-{version}").into_bytes())];
        cache.publish_event("t1", version, format!("public-{version}").as_bytes(), &seats).await.unwrap();
    }

    for (subscription, prefix) in [(&mut public, "public"), (&mut seat3, "seat3"), (&mut seat4, "seat4")] {
        let mut gaps = GapDetector::expecting(1);
        let mut seen = Vec::new();
        for _ in 0..4 {
            let message = tokio::time::timeout(Duration::from_secs(2), subscription.next())
                .await
                .unwrap_or_else(|_| panic!("{prefix}: a message within 2 s, after {seen:?}"))
                .expect("open")
                .expect("well formed");
            assert_eq!(message.payload, format!("{prefix}-{}", message.version).into_bytes());
            seen.push((message.version, gaps.observe(message.version)));
        }
        assert_eq!(
            seen,
            [
                (1, Observed::InOrder),
                (2, Observed::InOrder),
                (3, Observed::InOrder),
                (5, Observed::Gap { expected: 4, got: 5 })
            ],
            "{prefix}"
        );
        assert_eq!(gaps.next_expected(), Some(6));
    }

    // A seat only hears its own channel: seat 4 got no seat-3 payloads (checked above), and
    // an event without seat payloads reaches spectators only.
    cache.publish_event("t1", 6, b"public-6", &[]).await.unwrap();
    let message = tokio::time::timeout(Duration::from_secs(2), public.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(message.version, 6);
    assert!(tokio::time::timeout(Duration::from_millis(100), seat3.next()).await.is_err());
}

#[test]
fn gap_detector() {
    let mut gaps = GapDetector::new();
    assert_eq!(gaps.next_expected(), None);
    assert_eq!(gaps.observe(10), Observed::InOrder);
    assert_eq!(gaps.observe(11), Observed::InOrder);
    assert_eq!(gaps.observe(11), Observed::Stale { expected: 12, got: 11 });
    assert_eq!(gaps.observe(3), Observed::Stale { expected: 12, got: 3 });
    assert_eq!(gaps.observe(15), Observed::Gap { expected: 12, got: 15 });
    assert_eq!(gaps.next_expected(), Some(16));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaderboards_apply_each_position_once() {
    let Some(cache) = connect_or_skip(config("leaderboard")).await else { return };
    assert_eq!(cache.leaderboard_position().await.unwrap(), None);
    assert!(cache.leaderboard_all(LeaderboardKind::NetChips).await.unwrap().is_empty());

    let batch = [(1u64, 150i64, 1u64), (2, -100, 1), (3, -50, 1)];
    assert!(cache.apply_leaderboard(10, &batch).await.unwrap());
    // The same batch again, and an older one: no-ops.
    assert!(!cache.apply_leaderboard(10, &batch).await.unwrap());
    assert!(!cache.apply_leaderboard(9, &[(1, 1_000, 1)]).await.unwrap());
    assert_eq!(cache.leaderboard_position().await.unwrap(), Some(10));

    assert!(cache.apply_leaderboard(11, &[(2, 300, 1), (4, 0, 1)]).await.unwrap());
    assert_eq!(cache.leaderboard_position().await.unwrap(), Some(11));
    assert_eq!(cache.leaderboard_all(LeaderboardKind::NetChips).await.unwrap(), [(2, 200), (1, 150), (4, 0), (3, -50)]);
    assert_eq!(cache.leaderboard_top(LeaderboardKind::NetChips, 2).await.unwrap(), [(2, 200), (1, 150)]);
    assert_eq!(cache.leaderboard_top(LeaderboardKind::NetChips, 0).await.unwrap(), []);
    let hands = cache.leaderboard_all(LeaderboardKind::HandsPlayed).await.unwrap();
    assert_eq!(hands.iter().find(|(p, _)| *p == 2), Some(&(2, 2)));
    assert_eq!(hands.len(), 4);

    // Positions compare as integers ("100" > "99"), not as text.
    assert!(cache.apply_leaderboard(99, &[]).await.unwrap());
    assert!(cache.apply_leaderboard(100, &[]).await.unwrap());
    assert!(!cache.apply_leaderboard(99, &[]).await.unwrap());

    // A rebuild: clear, then apply from the start.
    cache.clear_leaderboards().await.unwrap();
    assert_eq!(cache.leaderboard_position().await.unwrap(), None);
    assert!(cache.leaderboard_all(LeaderboardKind::HandsPlayed).await.unwrap().is_empty());
    assert!(cache.apply_leaderboard(10, &batch).await.unwrap());
    assert_eq!(cache.leaderboard_top(LeaderboardKind::NetChips, 1).await.unwrap(), [(1, 150)]);
    cache.clear_leaderboards().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_and_carry_versions() {
    let Some(cache) = connect_or_skip(config("session")).await else { return };
    assert_eq!(cache.get_session("tok").await.unwrap(), None);
    let before_ms =
        u64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap();

    assert_eq!(cache.create_session("tok", 7, Duration::from_secs(60)).await.unwrap(), 1);
    let session = cache.get_session("tok").await.unwrap().expect("live");
    assert_eq!((session.player, session.version), (7, 1));
    // Redis's clock, on this machine: close to ours.
    assert!(session.created_ms.abs_diff(before_ms) < 5_000, "{session:?} vs {before_ms}");
    // Written again: the version rises.
    assert_eq!(cache.create_session("tok", 7, Duration::from_secs(60)).await.unwrap(), 2);
    assert!(cache.end_session("tok").await.unwrap());
    assert!(!cache.end_session("tok").await.unwrap());
    assert_eq!(cache.get_session("tok").await.unwrap(), None);

    // Expiry, and touch extending it.
    cache.create_session("short", 8, Duration::from_millis(300)).await.unwrap();
    cache.create_session("touched", 9, Duration::from_millis(300)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(cache.touch_session("touched", Duration::from_secs(5)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cache.get_session("short").await.unwrap(), None, "expired after its TTL");
    assert!(!cache.touch_session("short", Duration::from_secs(5)).await.unwrap());
    assert_eq!(cache.get_session("touched").await.unwrap().map(|s| s.player), Some(9));
    cache.end_session("touched").await.unwrap();

    let e = cache.create_session("tok", 1, Duration::ZERO).await.unwrap_err();
    assert!(matches!(e, RedisError::InvalidConfig { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_allows_the_burst_then_denies_then_recovers() {
    let mut config = config("rate");
    config.rate_limit = RateLimit { per_second: 10.0, burst: 5 };
    let Some(cache) = connect_or_skip(config).await else { return };

    for i in 0..5 {
        let decision = cache.check_rate(7).await.unwrap();
        assert!(decision.allowed, "action {i} of the burst: {decision}");
    }
    let denied = cache.check_rate(7).await.unwrap();
    assert!(!denied.allowed);
    // One action every 100 ms: the next one is at most 100 ms away.
    assert!(denied.retry_after > Duration::ZERO && denied.retry_after <= Duration::from_millis(100), "{denied:?}");
    let rejection = denied.check().unwrap_err();
    let text = rejection.to_string();
    assert!(text.starts_with("player 7 is over the action rate limit (10/s, burst 5): retry in "), "{text}");
    assert!(text.ends_with(" ms"), "{text}");

    // Another player has their own budget.
    assert!(cache.check_rate(8).await.unwrap().allowed);

    tokio::time::sleep(denied.retry_after + Duration::from_millis(5)).await;
    assert!(cache.check_rate(7).await.unwrap().allowed, "allowed again after retry_after");
    assert!(!cache.check_rate(7).await.unwrap().allowed, "and only one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_is_reported_clearly() {
    let e = RedisCache::connect(RedisConfig::new("not a url")).await.unwrap_err();
    assert!(matches!(e, RedisError::InvalidUrl { .. }), "{e}");
    assert!(e.to_string().contains("expected redis://"), "{e}");

    let e = RedisCache::connect(RedisConfig::new("http://127.0.0.1:6379")).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid Redis URL \"http://127.0.0.1:6379\": the scheme is \"http\", not one of \
         [\"redis\", \"redis-cluster\", \"redis-sentinel\"]; expected redis://[[user]:password@]host[:port][/database] \
         (redis-cluster://… for a cluster)"
    );

    let e = RedisCache::connect(RedisConfig::new("redis://:hunter2@127.0.0.1:6379/notanumber")).await.unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "the password is hidden: {e}");

    let mut config = RedisConfig::new(common::url());
    config.rate_limit.per_second = 0.0;
    let e = RedisCache::connect(config).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid Redis configuration: rate_limit.per_second is 0; expected a finite number above zero"
    );

    // Nothing listens on port 1: refused at once, not after the reconnect policy.
    let start = Instant::now();
    let e = RedisCache::connect(RedisConfig::new("redis://127.0.0.1:1")).await.unwrap_err();
    assert!(e.is_unavailable(), "{e}");
    assert!(e.to_string().contains("could not connect to redis://127.0.0.1:1"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
}
