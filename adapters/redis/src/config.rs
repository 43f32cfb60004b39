//! How to reach Redis and how the client behaves when Redis is slow or gone. Every default
//! is chosen for a cache that is never required: fail fast, never re-send a write blindly,
//! reconnect in the background.

use std::fmt;
use std::time::Duration;

use crate::error::{RedisError, Result};
use crate::keys::check_name;

/// The URL used when none is configured.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";
/// The key prefix used when none is configured.
pub const DEFAULT_NAMESPACE: &str = "showdown";

/// Connection settings, key namespace and limits.
///
/// Build it with [`RedisConfig::new`] and change the public fields; [`crate::RedisCache::connect`]
/// checks them.
#[derive(Clone, Debug, PartialEq)]
pub struct RedisConfig {
    /// `redis://[[user]:password@]host[:port][/database]`, or `redis-cluster://…`.
    pub url: String,
    /// Prefix of every key and channel (`{namespace}:table:{id}`): printable ASCII without
    /// spaces, `{` or `}` (braces would become the Cluster hash tag of every key).
    pub namespace: String,
    /// Longest wait for the answer to one operation. A cached table read takes well under a
    /// millisecond on a healthy server, so 250 ms only ever trips when Redis is in trouble,
    /// and then the caller is better served by the event store than by waiting.
    pub command_timeout: Duration,
    /// Longest wait for a TCP connection (and the handshake) at start and on each reconnect:
    /// `connect` gives up after this, so a process never hangs at start for an optional cache.
    pub connect_timeout: Duration,
    /// Most commands queued in the client while the connection is busy or reconnecting. A
    /// bounded queue turns an overload into a fast `Unavailable` error (fred's
    /// `Backpressure`) instead of unbounded memory and latency.
    pub max_command_buffer: usize,
    /// Reconnection after a lost connection: exponential backoff, bounded.
    pub reconnect: Backoff,
    /// How often the health monitor looks at the connection state (to log the change once,
    /// and to start a new round of reconnection after `reconnect.max_attempts`).
    pub health_check_interval: Duration,
    /// The per-player action limit of [`crate::RedisCache::check_rate`].
    pub rate_limit: RateLimit,
    /// Messages a [`crate::Subscription`] buffers before it starts dropping the oldest (its
    /// [`crate::GapDetector`] then reports the gap).
    pub subscription_buffer: usize,
}

impl RedisConfig {
    /// The defaults, with this URL.
    #[must_use]
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            url: url.into(),
            namespace: DEFAULT_NAMESPACE.to_owned(),
            command_timeout: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(1),
            max_command_buffer: 10_000,
            reconnect: Backoff::default(),
            health_check_interval: Duration::from_millis(100),
            rate_limit: RateLimit::default(),
            subscription_buffer: 1024,
        }
    }

    /// The same, under another namespace.
    #[must_use]
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> RedisConfig {
        self.namespace = namespace.into();
        self
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`RedisError::InvalidName`] for a bad namespace, [`RedisError::InvalidConfig`] for a
    /// duration or size out of range. The URL is checked when connecting.
    pub fn validate(&self) -> Result<()> {
        check_name("namespace", &self.namespace)?;
        positive("command_timeout", self.command_timeout)?;
        positive("connect_timeout", self.connect_timeout)?;
        positive("health_check_interval", self.health_check_interval)?;
        positive("reconnect.min_delay", self.reconnect.min_delay)?;
        if self.reconnect.max_delay < self.reconnect.min_delay {
            return Err(RedisError::InvalidConfig {
                field: "reconnect.max_delay",
                expected: "at least reconnect.min_delay",
                got: format!("{:?}", self.reconnect.max_delay),
            });
        }
        if self.reconnect.max_attempts == 0 {
            return Err(RedisError::InvalidConfig {
                field: "reconnect.max_attempts",
                expected: "at least 1 (the health monitor starts a new round after each)",
                got: "0".to_owned(),
            });
        }
        if self.max_command_buffer == 0 {
            return Err(RedisError::InvalidConfig {
                field: "max_command_buffer",
                expected: "at least 1 (0 would mean unbounded to the client library)",
                got: "0".to_owned(),
            });
        }
        if self.subscription_buffer == 0 {
            return Err(RedisError::InvalidConfig {
                field: "subscription_buffer",
                expected: "at least 1",
                got: "0".to_owned(),
            });
        }
        self.rate_limit.validate()
    }
}

impl Default for RedisConfig {
    fn default() -> RedisConfig {
        RedisConfig::new(DEFAULT_URL)
    }
}

fn positive(field: &'static str, value: Duration) -> Result<()> {
    if value.is_zero() {
        return Err(RedisError::InvalidConfig { field, expected: "more than zero", got: "0".to_owned() });
    }
    Ok(())
}

/// Reconnection with exponential backoff: `min_delay`, doubled each attempt up to
/// `max_delay`, for `max_attempts` attempts; then the health monitor waits `max_delay` and
/// starts another round, so a cache that was down for an hour comes back without a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// First delay after a lost connection.
    pub min_delay: Duration,
    /// Longest delay between two attempts.
    pub max_delay: Duration,
    /// Attempts in one round (at least 1).
    pub max_attempts: u32,
}

impl Default for Backoff {
    /// 50 ms doubling to 2 s, 10 attempts a round (about 10 s): a restarted Redis is
    /// picked up within a couple of seconds, a dead one costs one connect attempt every 2 s.
    fn default() -> Backoff {
        Backoff { min_delay: Duration::from_millis(50), max_delay: Duration::from_secs(2), max_attempts: 10 }
    }
}

/// A per-player action rate: `per_second` on average, up to `burst` at once (GCRA).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Sustained actions per second (more than zero; fractions allowed: 0.5 is one every 2 s).
    pub per_second: f64,
    /// Actions allowed at once after a quiet period (at least 1).
    pub burst: u32,
}

impl RateLimit {
    /// The time between two actions at the sustained rate, in microseconds (at least 1).
    pub(crate) fn interval_us(&self) -> u64 {
        // per_second is checked positive and finite; the cast saturates for tiny rates.
        ((1_000_000.0 / self.per_second).round() as u64).max(1)
    }

    fn validate(&self) -> Result<()> {
        if !(self.per_second.is_finite() && self.per_second > 0.0) {
            return Err(RedisError::InvalidConfig {
                field: "rate_limit.per_second",
                expected: "a finite number above zero",
                got: self.per_second.to_string(),
            });
        }
        if self.burst == 0 {
            return Err(RedisError::InvalidConfig {
                field: "rate_limit.burst",
                expected: "at least 1",
                got: "0".to_owned(),
            });
        }
        Ok(())
    }
}

impl Default for RateLimit {
    /// 5 actions a second, 10 at once: far above a human at a poker table, low enough to
    /// stop a client that loops.
    fn default() -> RateLimit {
        RateLimit { per_second: 5.0, burst: 10 }
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s, burst {}", self.per_second, self.burst)
    }
}
