//! Sessions: a token maps to a player for a while. The hash holds the player, the server
//! time it was created and a version that rises with each `create_session` on the token;
//! the key expires after its TTL unless touched.

use std::time::Duration;

use fred::interfaces::{ClientLike, HashesInterface, KeysInterface};
use fred::types::Value;

use crate::client::RedisCache;
use crate::error::{RedisError, Result};

/// A live session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Session {
    /// The player it authenticates.
    pub player: u64,
    /// When it was (last) created, in milliseconds since the Unix epoch, by Redis's clock.
    pub created_ms: u64,
    /// Rises by one each time the session is written.
    pub version: u64,
}

fn ttl_ms(operation: &'static str, ttl: Duration) -> Result<i64> {
    let ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    if ms < 1 {
        return Err(RedisError::InvalidConfig {
            field: "session ttl",
            expected: "at least 1 ms",
            got: format!("{ttl:?} (in {operation})"),
        });
    }
    Ok(ms)
}

impl RedisCache {
    /// Creates (or replaces) a session expiring after `ttl`; returns its version.
    ///
    /// # Errors
    /// [`RedisError::InvalidName`] for a bad token, [`RedisError::InvalidConfig`] for a TTL
    /// under 1 ms, [`RedisError::Unavailable`] when Redis is down or slow.
    pub async fn create_session(&self, token: &str, player: u64, ttl: Duration) -> Result<u64> {
        const OP: &str = "create_session";
        let key = self.keys().session(token)?;
        let args: Vec<Value> = vec![player.to_string().into(), ttl_ms(OP, ttl)?.into()];
        let version: i64 =
            self.run(OP, self.scripts().create_session.evalsha_with_reload(self.client(), vec![key], args)).await?;
        u64::try_from(version).map_err(|_| RedisError::corrupt(OP, "a positive version", version))
    }

    /// The session, or `None` if it expired, ended or never existed.
    ///
    /// # Errors
    /// [`RedisError::Unavailable`] when Redis is down or slow; [`RedisError::Corrupt`] for a
    /// hash not written by [`RedisCache::create_session`].
    pub async fn get_session(&self, token: &str) -> Result<Option<Session>> {
        const OP: &str = "get_session";
        let key = self.keys().session(token)?;
        let client = self.client().with_options(self.read_options());
        let fields: Vec<Option<String>> =
            self.run(OP, client.hmget(key, vec!["player", "created_ms", "version"])).await?;
        if fields.iter().all(Option::is_none) {
            return Ok(None);
        }
        let number = |i: usize| fields.get(i).and_then(|f| f.as_deref()).and_then(|f| f.parse::<u64>().ok());
        match (number(0), number(1), number(2)) {
            (Some(player), Some(created_ms), Some(version)) => Ok(Some(Session { player, created_ms, version })),
            _ => Err(RedisError::corrupt(OP, "player, created_ms and version as numbers", fields)),
        }
    }

    /// Sets the session to expire `ttl` from now; returns whether it existed.
    ///
    /// # Errors
    /// As [`RedisCache::create_session`].
    pub async fn touch_session(&self, token: &str, ttl: Duration) -> Result<bool> {
        const OP: &str = "touch_session";
        let key = self.keys().session(token)?;
        let ms = ttl_ms(OP, ttl)?;
        let set: i64 = self.run(OP, self.client().pexpire(key, ms, None)).await?;
        Ok(set == 1)
    }

    /// Ends a session; returns whether it existed.
    ///
    /// # Errors
    /// [`RedisError::InvalidName`] for a bad token, [`RedisError::Unavailable`] when Redis
    /// is down or slow.
    pub async fn end_session(&self, token: &str) -> Result<bool> {
        let key = self.keys().session(token)?;
        let removed: i64 = self.run("end_session", self.client().del(key)).await?;
        Ok(removed > 0)
    }
}
