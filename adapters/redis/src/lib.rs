//! Redis for Showdown: caches derived from the event store, never the truth.
//!
//! - the table-state cache ([`RedisCache::put_table`], [`RedisCache::get_table`]): versioned,
//!   a write never moves a table back;
//! - fan-out ([`RedisCache::publish_event`], [`RedisCache::subscribe`]): per-viewer feeds
//!   whose messages carry the stream version, with a [`GapDetector`];
//! - leaderboards ([`RedisCache::apply_leaderboard`]): idempotent by global position;
//! - sessions ([`RedisCache::create_session`]) with a TTL;
//! - per-player rate limits ([`RedisCache::check_rate`], GCRA on Redis's clock);
//! - wired to the store: [`RedisSink`], a projection sink keeping the table cache, the feeds
//!   and the leaderboards, [`cached_table`] for a server starting cold, and
//!   [`RedisRateGate`], the rate limit as the table service's command gate.
//!
//! Redis is never required: while it is down every call fails fast with
//! [`RedisError::Unavailable`], one warning is logged, and the client reconnects in the
//! background. Keys live under a namespace (`showdown` by default) and carry Redis Cluster
//! hash tags, so that each script touches one slot. See `README.md` for the key list.
#![warn(missing_docs)]

mod client;
mod config;
mod error;
mod feed;
mod gate;
mod keys;
mod leaderboard;
mod ratelimit;
mod scripts;
mod session;
mod sink;
mod table;

pub use client::RedisCache;
pub use config::{Backoff, DEFAULT_NAMESPACE, DEFAULT_URL, RateLimit, RedisConfig};
pub use error::{Cause, RedisError, Result};
pub use feed::{FeedMessage, GapDetector, Observed, Subscription, Viewer};
pub use gate::RedisRateGate;
pub use keys::{Keys, key_slot};
pub use leaderboard::{LeaderboardDelta, LeaderboardKind};
pub use ratelimit::{RateDecision, RateLimited};
pub use session::Session;
pub use sink::{RedisSink, SINK_NAME, SinkStats, cached_table, decode_public, decode_state, encode_state};
pub use table::CachedTable;
