//! The connection: how fred is configured (and why), the health monitor that logs a lost and
//! a regained Redis once each, and the wrapper every operation goes through so that it fails
//! fast with [`RedisError::Unavailable`] instead of waiting for a reconnection.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fred::clients::Client;
use fred::interfaces::ClientLike;
use fred::types::Builder;
use fred::types::config::{
    Config as FredConfig, ConnectionConfig, Options, PerformanceConfig, ReconnectPolicy, UnresponsiveConfig,
};
use tokio::task::JoinHandle;

use crate::config::RedisConfig;
use crate::error::{RedisError, Result};
use crate::keys::Keys;
use crate::scripts::Scripts;

/// The cache client: cheap to clone (one shared connection), safe to use from many tasks.
///
/// Every operation first checks [`RedisCache::is_available`] and returns
/// [`RedisError::Unavailable`] at once while Redis is down, and otherwise gives up after the
/// configured command timeout. Nothing here is ever required for a table to work.
#[derive(Clone)]
pub struct RedisCache {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    /// The same settings, to build one subscriber connection per [`crate::Subscription`].
    builder: Builder,
    config: RedisConfig,
    keys: Keys,
    scripts: Scripts,
    /// Options for reads: see `read_options`.
    read_options: Options,
    monitor: JoinHandle<()>,
    url: String,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.monitor.abort();
        // Close the connection task too; without a runtime (at process exit) there is
        // nothing left to close.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let client = self.client.clone();
            runtime.spawn(async move {
                let _ = client.quit().await;
            });
        }
    }
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("url", &self.inner.url)
            .field("namespace", &self.inner.keys.namespace())
            .field("available", &self.is_available())
            .finish()
    }
}

/// The URL with any password replaced by `***`, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_owned() };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user_info = &rest[..at];
            let user = user_info.split(':').next().unwrap_or("");
            let hidden = if user_info.contains(':') { format!("{user}:***") } else { "***".to_owned() };
            format!("{}{hidden}{}", &url[..scheme_end + 3], &rest[at..])
        }
        None => url.to_owned(),
    }
}

/// The schemes fred reads (TLS ones only with a TLS feature, which this crate leaves off).
const SCHEMES: [&str; 3] = ["redis", "redis-cluster", "redis-sentinel"];

/// Refuses what is not a Redis URL before fred guesses (it takes `http://x` for host `x`).
fn check_scheme(url: &str) -> std::result::Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("it is not a URL (no scheme://)".to_owned());
    };
    if !SCHEMES.contains(&scheme) {
        return Err(format!("the scheme is {scheme:?}, not one of {SCHEMES:?}"));
    }
    if rest.is_empty() || rest.starts_with('/') {
        return Err("it names no host".to_owned());
    }
    Ok(())
}

/// Fred's settings, each for a reason.
fn builder(config: &RedisConfig, fred_config: FredConfig) -> Builder {
    let mut builder = Builder::from_config(fred_config);
    builder.set_policy(ReconnectPolicy::new_exponential(
        config.reconnect.max_attempts,
        millis_u32(config.reconnect.min_delay),
        millis_u32(config.reconnect.max_delay),
        2,
    ));
    builder.set_connection_config(ConnectionConfig {
        // A connect attempt (start or reconnect) never waits longer than this.
        connection_timeout: config.connect_timeout,
        // AUTH, SELECT, HELLO, CLUSTER SLOTS: part of connecting, so the same bound.
        internal_command_timeout: config.connect_timeout,
        // The heart of "no blind re-send": fred counts a write attempt each time it writes a
        // command to a socket, and re-sends a command whose connection closed before the
        // answer while attempts remain. With 1, a command that may have reached the server
        // is answered with an error and never written again. Reads ask for one more attempt
        // (`read_options`), because reading twice is harmless.
        max_command_attempts: 1,
        // A full queue answers `Backpressure` (→ `Unavailable`) rather than growing.
        max_command_buffer_len: config.max_command_buffer,
        // A server that accepts the connection but stops answering (paused, swapped out) is
        // treated as gone after 2 s, so the client reconnects instead of queueing forever;
        // commands in flight then are not re-sent (one attempt, as above).
        unresponsive: UnresponsiveConfig {
            max_timeout: Some(Duration::from_secs(2)),
            interval: Duration::from_millis(500),
        },
        ..ConnectionConfig::default()
    });
    builder.set_performance_config(PerformanceConfig {
        // Fred's own timeout per command, the same as the operation's; the wrapper in
        // `RedisCache::run` bounds operations of several commands (script reload) as a whole.
        default_command_timeout: config.command_timeout,
        // Subscribers share nothing else, so a deeper buffer here only costs memory there.
        broadcast_channel_capacity: config.subscription_buffer,
        ..PerformanceConfig::default()
    });
    builder
}

fn millis_u32(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl RedisCache {
    /// Connects, or fails within about `connect_timeout`.
    ///
    /// # Errors
    /// [`RedisError::InvalidConfig`] / [`RedisError::InvalidName`] for a bad setting,
    /// [`RedisError::InvalidUrl`] for a URL that does not parse, [`RedisError::Unavailable`]
    /// if Redis cannot be reached (the caller may go on without a cache and try again later).
    pub async fn connect(config: RedisConfig) -> Result<RedisCache> {
        config.validate()?;
        let keys = Keys::new(&config.namespace)?;
        let url = redact(&config.url);
        check_scheme(&config.url).map_err(|reason| RedisError::InvalidUrl { url: url.clone(), reason })?;
        let mut fred_config = FredConfig::from_url(&config.url)
            .map_err(|e| RedisError::InvalidUrl { url: url.clone(), reason: e.details().to_string() })?;
        // Return the first connection error instead of entering the reconnect loop: a
        // misconfigured or absent Redis is reported at once.
        fred_config.fail_fast = true;
        let builder = builder(&config, fred_config);
        let client = builder
            .build()
            .map_err(|e| RedisError::InvalidUrl { url: url.clone(), reason: e.details().to_string() })?;

        // `connection_timeout` bounds each attempt inside fred; the outer bound is a
        // backstop against a handshake that never ends (so `connect` never hangs).
        let backstop = config.connect_timeout + config.command_timeout;
        let handle = match tokio::time::timeout(backstop, client.init()).await {
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => {
                return Err(RedisError::Unavailable {
                    operation: "connect",
                    reason: format!("could not connect to {url}").into(),
                    source: Some(Box::new(e)),
                });
            }
            Err(_) => {
                let closing = client.clone();
                tokio::spawn(async move {
                    let _ = closing.quit().await;
                });
                return Err(RedisError::Unavailable {
                    operation: "connect",
                    reason: format!("no connection to {url} within {:?}", config.connect_timeout).into(),
                    source: None,
                });
            }
        };
        let monitor = tokio::spawn(monitor(
            client.clone(),
            handle,
            config.health_check_interval,
            config.reconnect.max_delay,
            url.clone(),
        ));
        let read_options = Options { max_attempts: Some(2), ..Options::default() };
        Ok(RedisCache {
            inner: Arc::new(Inner {
                client,
                builder,
                keys,
                scripts: Scripts::new(),
                read_options,
                monitor,
                url,
                config,
            }),
        })
    }

    /// Whether the connection is up right now (a lock read, no round trip). While it is
    /// not, every operation fails at once with [`RedisError::Unavailable`].
    #[must_use]
    pub fn is_available(&self) -> bool {
        self.inner.client.is_connected()
    }

    /// The names of the keys and channels.
    #[must_use]
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// The configuration this client was made with.
    #[must_use]
    pub fn config(&self) -> &RedisConfig {
        &self.inner.config
    }

    /// Closes the connection (also done, in the background, when the last clone is dropped).
    pub async fn close(self) {
        self.inner.monitor.abort();
        let _ = self.inner.client.quit().await;
    }

    pub(crate) fn client(&self) -> &Client {
        &self.inner.client
    }

    pub(crate) fn scripts(&self) -> &Scripts {
        &self.inner.scripts
    }

    pub(crate) fn read_options(&self) -> &Options {
        &self.inner.read_options
    }

    pub(crate) fn builder(&self) -> &Builder {
        &self.inner.builder
    }

    /// Runs one operation: at once `Unavailable` while disconnected, else bounded by the
    /// command timeout, with fred's errors classified.
    pub(crate) async fn run<T, F>(&self, operation: &'static str, call: F) -> Result<T>
    where
        F: Future<Output = std::result::Result<T, fred::error::Error>>,
    {
        if !self.is_available() {
            return Err(RedisError::unavailable(operation, "not connected (reconnecting in the background)"));
        }
        match tokio::time::timeout(self.inner.config.command_timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(RedisError::from_fred(operation, e)),
            Err(_) => Err(RedisError::unavailable(operation, "no answer within the command timeout")),
        }
    }
}

/// Watches the connection state: one `warn!` when Redis is lost, one `info!` when it is
/// back, and a new round of reconnection each `rearm_after` once fred has used up its
/// attempts (its connection task then ends).
async fn monitor(
    client: Client,
    mut task: fred::types::ConnectHandle,
    every: Duration,
    rearm_after: Duration,
    url: String,
) {
    let mut up = true;
    let mut down_since = Instant::now();
    let mut last_round = Instant::now();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let now_up = client.is_connected();
        if now_up != up {
            up = now_up;
            if up {
                let down_ms = u64::try_from(down_since.elapsed().as_millis()).unwrap_or(u64::MAX);
                tracing::info!(%url, down_ms, "Redis is reachable again: the cache is in use");
            } else {
                down_since = Instant::now();
                last_round = Instant::now();
                tracing::warn!(
                    %url,
                    "Redis is unreachable: cache calls fail fast and are skipped (degraded mode) until it is back"
                );
            }
        }
        if !up && task.is_finished() && last_round.elapsed() >= rearm_after {
            tracing::debug!(%url, "Redis reconnection attempts used up: starting another round");
            task = client.connect();
            last_round = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redact("redis://:secret@host:1/0"), "redis://:***@host:1/0");
        assert_eq!(redact("redis://user:secret@host"), "redis://user:***@host");
        assert_eq!(redact("redis://token@host"), "redis://***@host");
        assert_eq!(redact("not a url"), "not a url");
    }
}
