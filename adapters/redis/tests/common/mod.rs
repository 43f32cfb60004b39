//! What the Redis tests share: the URL, connecting or skipping, fresh namespaces.
#![allow(dead_code)] // Each test binary uses a different part.

pub mod driver;

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use showdown_redis::{RedisCache, RedisConfig, RedisError};

/// `SHOWDOWN_REDIS_URL`, else `REDIS_URL`, else the local server.
pub fn url() -> String {
    std::env::var("SHOWDOWN_REDIS_URL")
        .or_else(|_| std::env::var("REDIS_URL"))
        .unwrap_or_else(|_| showdown_redis::DEFAULT_URL.to_owned())
}

/// A namespace no other run uses: the process id and the time.
pub fn namespace(what: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("showdown-test-{what}-{}-{nanos:x}", std::process::id())
}

/// The test configuration under a fresh namespace.
pub fn config(what: &str) -> RedisConfig {
    RedisConfig::new(url()).with_namespace(namespace(what))
}

/// Connects, or returns `None` after a notice when Redis cannot be reached, unless the
/// environment variable `CI` is set: then the test fails.
pub async fn connect_or_skip(config: RedisConfig) -> Option<RedisCache> {
    match RedisCache::connect(config).await {
        Ok(cache) => Some(cache),
        Err(e @ RedisError::Unavailable { .. }) => {
            let chain = error_chain(&e);
            if std::env::var_os("CI").is_some() {
                panic!("Redis is unreachable and CI is set, so this test fails: {chain}");
            }
            // Straight to stderr: the test harness captures `eprintln!` of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "NOTICE: test skipped (it passes without checking anything): Redis is unreachable: {chain}. \
                 Start it, or set SHOWDOWN_REDIS_URL; with CI set this is a failure."
            );
            None
        }
        Err(e) => panic!("connecting: {}", error_chain(&e)),
    }
}

/// The error and its causes on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A `redis-server` this test owns, on its own port, keeping nothing on disk.
pub struct Server {
    child: std::process::Child,
    pub port: u16,
}

impl Server {
    /// A port nobody listens on now.
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    /// Starts `redis-server` on `port` and waits until it accepts connections; `None` when
    /// there is no `redis-server` binary (and `CI` is not set).
    pub fn start(port: u16) -> Option<Server> {
        use std::process::{Command, Stdio};
        use std::time::{Duration, Instant};
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) => {
                if std::env::var_os("CI").is_some() {
                    panic!("redis-server cannot be started and CI is set, so this test fails: {e}");
                }
                eprintln!("NOTICE: test skipped (it passes without checking anything): cannot run redis-server: {e}");
                return None;
            }
        };
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen on port {port} within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn kill(mut self) {
        self.child.kill().expect("kill redis-server");
        self.child.wait().expect("reap redis-server");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
