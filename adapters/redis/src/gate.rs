//! [`RedisRateGate`]: the per-player GCRA rate limit as a [`CommandGate`] of the table
//! service. A command that names a player counts against that player's limit; one over it
//! is refused before the table sees it. While Redis is unavailable every command goes
//! through: the limiter protects the tables, it must never stop them (the client's
//! availability monitor logs the outage once).

use async_trait::async_trait;
use showdown_engine::table::CommandEnvelope;
use showdown_store::streams::command_player;
use showdown_store::{CommandGate, GateRefusal, StreamId};

use crate::client::RedisCache;

/// A [`CommandGate`] that applies [`RedisCache::check_rate`] to every command naming a
/// player (`SitDown`, `Act`, …); host commands (`Open`, `StartHand`, `Tick`, `Close`) pass.
#[derive(Clone, Debug)]
pub struct RedisRateGate {
    cache: RedisCache,
}

impl RedisRateGate {
    /// A gate with the limit of `cache`'s configuration (`RedisConfig::rate_limit`).
    #[must_use]
    pub fn new(cache: RedisCache) -> RedisRateGate {
        RedisRateGate { cache }
    }
}

#[async_trait]
impl CommandGate for RedisRateGate {
    async fn admit(&self, stream: &StreamId, command: &CommandEnvelope) -> Result<(), GateRefusal> {
        let Some(player) = command_player(&command.command) else { return Ok(()) };
        match self.cache.check_rate(player.0).await {
            Ok(decision) => decision
                .check()
                .map_err(|limited| GateRefusal { reason: limited.to_string(), retry_after: Some(limited.retry_after) }),
            Err(e) => {
                // Degraded mode: let it through. The monitor warned once about the outage.
                tracing::debug!(%stream, player = player.0, error = %e, "rate limit skipped: Redis unavailable");
                Ok(())
            }
        }
    }
}
