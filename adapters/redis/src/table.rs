//! The table-state cache: one hash per table with the stream version, the encoded table and
//! the encoded spectator view. A write lands only if its version is newer than the cached
//! one, so writers racing or replaying old events never move the cache back.

use fred::interfaces::{ClientLike, HashesInterface, KeysInterface};
use fred::types::Value;

use crate::client::RedisCache;
use crate::error::{RedisError, Result};

/// A table as cached: the stream version it reflects and two opaque encodings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedTable {
    /// The stream version of the last event folded into `state`.
    pub version: u64,
    /// The whole table, encoded by the caller (never shown to a player).
    pub state: Vec<u8>,
    /// The spectator view, encoded by the caller.
    pub public: Vec<u8>,
}

impl RedisCache {
    /// Caches a table at `version` if the cached one is older (or absent); returns whether
    /// it wrote. A Lua script compares and writes atomically.
    ///
    /// # Errors
    /// [`RedisError::InvalidName`] for a bad table id, [`RedisError::Unavailable`] when
    /// Redis is down or slow (a timed-out write may have landed: harmless, it is versioned).
    pub async fn put_table(&self, table_id: &str, version: u64, state: &[u8], public: &[u8]) -> Result<bool> {
        const OP: &str = "put_table";
        let key = self.keys().table(table_id)?;
        let args: Vec<Value> =
            vec![version.to_string().into(), Value::Bytes(state.to_vec().into()), Value::Bytes(public.to_vec().into())];
        let wrote: i64 =
            self.run(OP, self.scripts().put_table.evalsha_with_reload(self.client(), vec![key], args)).await?;
        match wrote {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(RedisError::corrupt(OP, "0 or 1 from the script", other)),
        }
    }

    /// The cached table, or `None` if nothing is cached.
    ///
    /// # Errors
    /// [`RedisError::Unavailable`] when Redis is down or slow; [`RedisError::Corrupt`] if
    /// the hash is not what [`RedisCache::put_table`] writes (invalidate it).
    pub async fn get_table(&self, table_id: &str) -> Result<Option<CachedTable>> {
        const OP: &str = "get_table";
        let key = self.keys().table(table_id)?;
        let client = self.client().with_options(self.read_options());
        let fields: Vec<Value> = self.run(OP, client.hmget(key, vec!["version", "state", "public"])).await?;
        let [version, state, public]: [Value; 3] =
            fields.try_into().map_err(|v| RedisError::corrupt(OP, "three fields", v))?;
        if version.is_null() && state.is_null() && public.is_null() {
            return Ok(None);
        }
        let version = version
            .as_str()
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| RedisError::corrupt(OP, "a decimal version", &version))?;
        let bytes = |value: Value| match value {
            Value::Bytes(b) => Ok(b.to_vec()),
            Value::String(s) => Ok(s.as_bytes().to_vec()),
            other => Err(RedisError::corrupt(OP, "the state and public fields as bytes", other)),
        };
        Ok(Some(CachedTable { version, state: bytes(state)?, public: bytes(public)? }))
    }

    /// Drops a table from the cache (the next reader loads it from the store); returns
    /// whether there was one.
    ///
    /// # Errors
    /// [`RedisError::Unavailable`] when Redis is down or slow.
    pub async fn invalidate_table(&self, table_id: &str) -> Result<bool> {
        let key = self.keys().table(table_id)?;
        let removed: i64 = self.run("invalidate_table", self.client().del(key)).await?;
        Ok(removed > 0)
    }
}
