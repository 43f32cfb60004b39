//! The one error type of this crate, classified so that a caller knows what to do: a bad
//! configuration or argument is a bug to fix, `Unavailable` means "carry on without the
//! cache", `Refused` and `Corrupt` mean the server or the data in it is not what this crate
//! expects.

use std::borrow::Cow;
use std::error::Error as StdError;

/// A boxed cause, so that the client library's own error type stays out of this API.
pub type Cause = Box<dyn StdError + Send + Sync + 'static>;

/// Why a call to Redis did not give an answer.
///
/// Redis is never the source of truth: every variant leaves the event store untouched, and
/// a caller can always answer from the store instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {
    /// The URL could not be parsed. *Handling:* fix the configuration.
    #[error(
        "invalid Redis URL {url:?}: {reason}; expected redis://[[user]:password@]host[:port][/database] \
         (redis-cluster://… for a cluster)"
    )]
    InvalidUrl {
        /// The URL, with any password replaced by `***`.
        url: String,
        /// What the parser objected to.
        reason: String,
    },
    /// A configuration value is out of range. *Handling:* fix the configuration.
    #[error("invalid Redis configuration: {field} is {got}; expected {expected}")]
    InvalidConfig {
        /// The setting.
        field: &'static str,
        /// What it may be.
        expected: &'static str,
        /// What it was.
        got: String,
    },
    /// A name that goes into a key is unusable. *Handling:* a bug in the caller.
    #[error("invalid {what} {value:?} for a Redis key: expected {expected}")]
    InvalidName {
        /// Which name (`table id`, `session token`, `namespace`).
        what: &'static str,
        /// The name given.
        value: String,
        /// What it may be.
        expected: &'static str,
    },
    /// Redis could not be reached, or did not answer within the command timeout. A write
    /// that timed out may or may not have been applied (every write here is either
    /// versioned or harmless to lose). *Handling:* go on without the cache (degraded mode);
    /// the client reconnects on its own.
    #[error("Redis is unavailable for {operation}: {reason}; the cache is optional, so answer from the event store")]
    Unavailable {
        /// The operation, e.g. `get_table`.
        operation: &'static str,
        /// In a few words: not connected, timed out, connection lost, queue full.
        reason: Cow<'static, str>,
        /// The client's error, when there is one.
        #[source]
        source: Option<Cause>,
    },
    /// Redis answered with an error (a script error, `WRONGTYPE`, `OOM`, no permission).
    /// *Handling:* not retryable as is; look at the server and at who else writes these keys.
    #[error("Redis refused {operation}")]
    Refused {
        /// The operation.
        operation: &'static str,
        /// The server's error.
        #[source]
        source: Cause,
    },
    /// Redis answered, but not in the shape this crate writes. *Handling:* something else
    /// wrote these keys, or the server is misconfigured; invalidate and rebuild from the store.
    #[error("unexpected answer from Redis to {operation}: expected {expected}, got {got}")]
    Corrupt {
        /// The operation.
        operation: &'static str,
        /// What this crate writes there.
        expected: &'static str,
        /// What came back (shortened).
        got: String,
    },
}

impl RedisError {
    /// Whether this is [`RedisError::Unavailable`]: Redis is down or slow, and the caller
    /// should carry on without the cache.
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        matches!(self, RedisError::Unavailable { .. })
    }

    pub(crate) fn unavailable(operation: &'static str, reason: &'static str) -> RedisError {
        RedisError::Unavailable { operation, reason: Cow::Borrowed(reason), source: None }
    }

    pub(crate) fn corrupt(operation: &'static str, expected: &'static str, got: impl std::fmt::Debug) -> RedisError {
        let mut got = format!("{got:?}");
        if got.len() > 120 {
            let mut cut = 117;
            while !got.is_char_boundary(cut) {
                cut -= 1;
            }
            got.truncate(cut);
            got.push_str("...");
        }
        RedisError::Corrupt { operation, expected, got }
    }

    /// Classifies an error of the client library.
    pub(crate) fn from_fred(operation: &'static str, error: fred::error::Error) -> RedisError {
        use fred::error::ErrorKind as K;
        let reason = match error.kind() {
            K::IO => "the connection failed",
            K::Canceled => "the connection closed before an answer came",
            K::Timeout => "no answer within the command timeout",
            K::Backpressure => "the client's command queue is full",
            K::Routing | K::Cluster | K::Sentinel => "no server could take the command",
            // Fred also says `Unknown` for "client not initialized" and for exhausted write
            // attempts; a server error reply is `Unknown` too, but it has the server's text.
            K::Unknown if !error.details().starts_with("ERR") && is_client_side(error.details()) => {
                "the client is not connected"
            }
            K::Parse | K::Protocol | K::NotFound => {
                return RedisError::corrupt(operation, "a reply of the shape this crate writes", error.details());
            }
            _ => return RedisError::Refused { operation, source: Box::new(error) },
        };
        RedisError::Unavailable { operation, reason: Cow::Borrowed(reason), source: Some(Box::new(error)) }
    }
}

/// Fred's own `Unknown` errors (not a server reply).
fn is_client_side(details: &str) -> bool {
    ["Client is not initialized", "Too many failed write attempts", "Failed to send command", "Connection Closed"]
        .iter()
        .any(|text| details.contains(text))
}

/// A result of this crate.
pub type Result<T, E = RedisError> = std::result::Result<T, E>;
