//! Per-player action rate limits: the generic cell rate algorithm (GCRA) in one Lua script,
//! on Redis's clock (`TIME` inside the script), so that every host enforces the same limit
//! whatever its own clock says. One key per player, expiring when the player is idle.

use std::fmt;
use std::time::Duration;

use fred::types::Value;

use crate::client::RedisCache;
use crate::config::RateLimit;
use crate::error::{RedisError, Result};

/// The answer of [`RedisCache::check_rate`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateDecision {
    /// The player.
    pub player: u64,
    /// Whether the action may go ahead (it was counted if so).
    pub allowed: bool,
    /// When refused, how long until one more action would be allowed; zero when allowed.
    pub retry_after: Duration,
    /// The limit applied.
    pub limit: RateLimit,
}

impl RateDecision {
    /// `Ok` when allowed, else the rejection to give the player.
    ///
    /// # Errors
    /// [`RateLimited`] when the action was refused.
    pub fn check(self) -> std::result::Result<(), RateLimited> {
        if self.allowed {
            Ok(())
        } else {
            Err(RateLimited { player: self.player, retry_after: self.retry_after, limit: self.limit })
        }
    }
}

impl fmt::Display for RateDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.allowed {
            write!(f, "player {} is within the action rate limit ({})", self.player, self.limit)
        } else {
            RateLimited { player: self.player, retry_after: self.retry_after, limit: self.limit }.fmt(f)
        }
    }
}

/// An action refused by the rate limit: a rejection for the player, before anything
/// reaches the event store.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[error("player {player} is over the action rate limit ({limit}): retry in {} ms", ceil_ms(*retry_after))]
pub struct RateLimited {
    /// The player.
    pub player: u64,
    /// How long until one more action would be allowed.
    pub retry_after: Duration,
    /// The limit.
    pub limit: RateLimit,
}

fn ceil_ms(d: Duration) -> u128 {
    d.as_micros().div_ceil(1000)
}

impl RedisCache {
    /// Counts one action of `player` against the configured limit, if it fits.
    ///
    /// # Errors
    /// [`RedisError::Unavailable`] when Redis is down or slow: the caller decides whether
    /// to let actions through unlimited meanwhile (degraded mode) or to refuse them.
    pub async fn check_rate(&self, player: u64) -> Result<RateDecision> {
        const OP: &str = "check_rate";
        let limit = self.config().rate_limit;
        let key = self.keys().rate_limit(player);
        let args: Vec<Value> = vec![limit.interval_us().to_string().into(), limit.burst.to_string().into()];
        let reply: Vec<i64> =
            self.run(OP, self.scripts().gcra.evalsha_with_reload(self.client(), vec![key], args)).await?;
        match reply[..] {
            [1, _] => Ok(RateDecision { player, allowed: true, retry_after: Duration::ZERO, limit }),
            [0, retry_us] if retry_us >= 0 => Ok(RateDecision {
                player,
                allowed: false,
                retry_after: Duration::from_micros(retry_us.unsigned_abs()),
                limit,
            }),
            _ => Err(RedisError::corrupt(OP, "{allowed, retry after µs} from the script", reply)),
        }
    }
}
