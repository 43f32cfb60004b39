//! The whole pipeline: `showdown simulate` on SQLite with the PostgreSQL read models and a
//! Redis of this test's own, which is stopped in the middle of the run and started again
//! (empty). No hand is lost or wrong, the caches converge: every cached table is at its
//! stream's version and the leaderboards equal the SQL sums of the read models.

#![cfg(all(unix, feature = "sqlite", feature = "postgres", feature = "redis"))]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use showdown::store::GlobalPosition;
use showdown::store::streams::{StreamKind, is_table_name};
use showdown_postgres::ReadModels;
use showdown_redis::{LeaderboardKind, RedisCache, RedisConfig};

mod common;
use common::{Db, scalar};

const TABLES: u32 = 8;
const HANDS: u64 = 400;

struct Redis(Child);

impl Redis {
    fn start(port: u16) -> Redis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs (it is installed on this project's machines)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis(child)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_mid_simulation_loses_nothing_and_caches_converge() {
    let Some(db) = Db::create("pipeline").await else { return };
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let redis_url = format!("redis://127.0.0.1:{port}");
    let redis = Redis::start(port);
    let dir = tempfile::tempdir().unwrap();
    let store_url = format!("sqlite:{}", dir.path().join("store.db").display());

    let mut sim = Command::new(env!("CARGO_BIN_EXE_showdown"))
        .args(["simulate", "--store", &store_url, "--quiet", "--postgres-read-models", &db.url, "--redis", &redis_url])
        .args(["--tables", &TABLES.to_string(), "--hands", &HANDS.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(sim.try_wait().unwrap().is_none(), "the simulation ended before Redis was stopped: make it longer");
    drop(redis); // SIGKILL: everything it held is gone
    std::thread::sleep(Duration::from_millis(1500));
    assert!(sim.try_wait().unwrap().is_none(), "the simulation ended while Redis was down: make it longer");
    let _redis = Redis::start(port);
    let out = sim.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "simulate failed:\n{stdout}\n{stderr}");
    eprintln!("{stdout}{stderr}");

    // The store is whole: every hand played.
    let verify = Command::new(env!("CARGO_BIN_EXE_showdown")).args(["verify", "--store", &store_url]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    let rm = ReadModels::connect(&db.url).await.unwrap();
    assert_eq!(scalar(&rm, "SELECT count(*) FROM hands").await, i64::from(TABLES) * HANDS as i64);
    assert_eq!(
        scalar(&rm, "SELECT count(*) FROM (SELECT 1 FROM ledger WHERE hand_no IS NOT NULL GROUP BY table_id, hand_no HAVING sum(amount) <> 0) x").await,
        0
    );

    // Every cached table is at its stream's version.
    let store = showdown::stores::open(&store_url).await.unwrap();
    let cache = RedisCache::connect(RedisConfig::new(redis_url.clone())).await.unwrap();
    let mut streams = std::collections::BTreeSet::new();
    let mut from = GlobalPosition::START;
    loop {
        let page = store.read_all(from, 4096).await.unwrap();
        let Some(last) = page.last() else { break };
        from = last.position.next();
        streams.extend(page.into_iter().map(|e| e.stream).filter(is_table_name));
    }
    assert_eq!(streams.len(), TABLES as usize);
    for stream in &streams {
        assert_eq!(StreamKind::of(stream), StreamKind::Table);
        let version = store.stream_version(stream).await.unwrap().expect("played").0;
        let cached =
            cache.get_table(stream.as_str()).await.unwrap().unwrap_or_else(|| panic!("{stream} is not cached"));
        assert_eq!(cached.version, version, "{stream}: the cache is at another version than the stream");
    }

    // The leaderboards equal the SQL sums of the read models.
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT player_id, sum(net)::bigint, count(*) FROM hand_players GROUP BY player_id ORDER BY player_id",
    )
    .fetch_all(rm.pool())
    .await
    .unwrap();
    let mut net = cache.leaderboard_all(LeaderboardKind::NetChips).await.unwrap();
    let mut hands = cache.leaderboard_all(LeaderboardKind::HandsPlayed).await.unwrap();
    net.sort_unstable();
    hands.sort_unstable();
    let sql_net: Vec<(u64, i64)> = rows.iter().map(|r| (r.0 as u64, r.1)).collect();
    let sql_hands: Vec<(u64, i64)> = rows.iter().map(|r| (r.0 as u64, r.2)).collect();
    assert_eq!(net, sql_net, "the net leaderboard differs from SUM(net) of hand_players");
    assert_eq!(hands, sql_hands, "the hands leaderboard differs from COUNT(*) of hand_players");
}
