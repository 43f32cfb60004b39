//! Cached table reads on loopback: `get_table` of a ~3 KB table, 20,000 sequential reads per
//! repeat, 5 repeats; prints p50, p99, p99.9 and max per repeat and the median of the p99s.
//! The target: p99 under 1 ms.
//!
//! `cargo bench -p showdown-redis --bench cache` (Redis at `SHOWDOWN_REDIS_URL`, `REDIS_URL`
//! or 127.0.0.1:6379; without one it prints a notice and exits).

use std::time::{Duration, Instant};

use showdown_redis::{RedisCache, RedisConfig};

const READS: usize = 20_000;
const REPEATS: usize = 5;
const STATE_BYTES: usize = 3 * 1024;
const PUBLIC_BYTES: usize = 1024;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest rank.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let url = std::env::var("SHOWDOWN_REDIS_URL")
        .or_else(|_| std::env::var("REDIS_URL"))
        .unwrap_or_else(|_| showdown_redis::DEFAULT_URL.to_owned());
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let config = RedisConfig::new(url.clone()).with_namespace(format!("showdown-bench-{nanos:x}"));
    let cache = match RedisCache::connect(config).await {
        Ok(cache) => cache,
        Err(e) => {
            eprintln!("NOTICE: benchmark not run: Redis at {url} is unreachable: {e}");
            return;
        }
    };
    // Bytes that do not compress to nothing, as an encoded table would not.
    let state: Vec<u8> = (0..STATE_BYTES).map(|i| (i * 31 % 251) as u8).collect();
    let public: Vec<u8> = (0..PUBLIC_BYTES).map(|i| (i * 17 % 241) as u8).collect();
    assert!(cache.put_table("bench", 1_234, &state, &public).await.expect("put_table"));

    // Warm up the connection and the server.
    for _ in 0..2_000 {
        cache.get_table("bench").await.expect("get_table");
    }

    println!(
        "get_table of a {} B state + {} B public view, {READS} sequential reads per repeat, on {url}",
        STATE_BYTES, PUBLIC_BYTES
    );
    let mut p99s = Vec::with_capacity(REPEATS);
    let mut samples = Vec::with_capacity(READS);
    for repeat in 1..=REPEATS {
        samples.clear();
        let started = Instant::now();
        for _ in 0..READS {
            let start = Instant::now();
            let table = cache.get_table("bench").await.expect("get_table").expect("cached");
            samples.push(start.elapsed());
            assert_eq!(table.state.len(), STATE_BYTES);
        }
        let total = started.elapsed();
        samples.sort_unstable();
        let p99 = percentile(&samples, 99.0);
        p99s.push(p99);
        #[allow(clippy::cast_precision_loss)]
        let per_second = READS as f64 / total.as_secs_f64();
        println!(
            "repeat {repeat}: p50 {}  p99 {}  p99.9 {}  max {}  ({per_second:.0} reads/s)",
            micros(percentile(&samples, 50.0)),
            micros(p99),
            micros(percentile(&samples, 99.9)),
            micros(*samples.last().expect("samples")),
        );
    }
    p99s.sort_unstable();
    let median = p99s[REPEATS / 2];
    println!(
        "median p99: {} (target: under 1 ms: {})",
        micros(median),
        if median < Duration::from_millis(1) { "met" } else { "NOT met" }
    );
    cache.invalidate_table("bench").await.expect("invalidate_table");
}
