//! Leaderboards: two sorted sets (net chips won, hands played) and the global position of
//! the last event folded into them. A projection applies the deltas of a batch of events
//! together with the batch's last position; a batch at or below the stored position is a
//! no-op, so replaying after a crash never counts anything twice. Rebuild: clear, then apply
//! from position zero.
//!
//! Scores are doubles in Redis: exact for integers up to 2^53 chips.

use fred::interfaces::{ClientLike, KeysInterface, SortedSetsInterface};
use fred::types::Value;

use crate::client::RedisCache;
use crate::error::{RedisError, Result};

/// Which leaderboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeaderboardKind {
    /// Chips won less chips lost, over all hands.
    NetChips,
    /// Hands dealt in.
    HandsPlayed,
}

/// One player's change, as `(player, net chips, hands)`.
pub type LeaderboardDelta = (u64, i64, u64);

impl RedisCache {
    /// Adds every delta to both leaderboards and records `position`, in one script, only if
    /// `position` is above the stored one; returns whether it applied.
    ///
    /// # Errors
    /// [`RedisError::Unavailable`] when Redis is down or slow (a timed-out call may have
    /// applied: apply the same batch again, it is a no-op if it did).
    pub async fn apply_leaderboard(&self, position: u64, deltas: &[LeaderboardDelta]) -> Result<bool> {
        const OP: &str = "apply_leaderboard";
        let keys = vec![
            self.keys().leaderboard(LeaderboardKind::NetChips),
            self.keys().leaderboard(LeaderboardKind::HandsPlayed),
            self.keys().leaderboard_position(),
        ];
        let mut args: Vec<Value> = Vec::with_capacity(1 + 3 * deltas.len());
        args.push(position.to_string().into());
        for &(player, net, hands) in deltas {
            args.push(player.to_string().into());
            args.push(net.to_string().into());
            args.push(hands.to_string().into());
        }
        let applied: i64 =
            self.run(OP, self.scripts().apply_leaderboard.evalsha_with_reload(self.client(), keys, args)).await?;
        match applied {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(RedisError::corrupt(OP, "0 or 1 from the script", other)),
        }
    }

    /// Adds every delta and moves the position from `expected` to `position`, in one script,
    /// only if the stored position is `expected` (`None`: no position stored, as after a
    /// clear or on an empty server). This is the compare-and-set a projection needs: a
    /// server that restarted empty (no position) refuses a batch from the middle of the
    /// store, so the runner rebuilds from the start instead of counting half the history.
    /// Returns `Ok(None)` when applied, `Ok(Some(stored))` with the stored position when not.
    ///
    /// # Errors
    /// As [`RedisCache::apply_leaderboard`].
    pub async fn apply_leaderboard_from(
        &self,
        expected: Option<u64>,
        position: u64,
        deltas: &[LeaderboardDelta],
    ) -> Result<Option<Option<u64>>> {
        const OP: &str = "apply_leaderboard";
        let keys = vec![
            self.keys().leaderboard(LeaderboardKind::NetChips),
            self.keys().leaderboard(LeaderboardKind::HandsPlayed),
            self.keys().leaderboard_position(),
        ];
        let mut args: Vec<Value> = Vec::with_capacity(2 + 3 * deltas.len());
        args.push(expected.map_or_else(String::new, |p| p.to_string()).into());
        args.push(position.to_string().into());
        for &(player, net, hands) in deltas {
            args.push(player.to_string().into());
            args.push(net.to_string().into());
            args.push(hands.to_string().into());
        }
        let reply: Vec<Value> =
            self.run(OP, self.scripts().apply_leaderboard_from.evalsha_with_reload(self.client(), keys, args)).await?;
        let applied = reply.first().and_then(Value::as_i64);
        let stored = reply.get(1).and_then(Value::as_str).map(|s| s.to_string());
        match (applied, stored.as_deref()) {
            (Some(1), _) => Ok(None),
            (Some(0), Some("")) => Ok(Some(None)),
            (Some(0), Some(p)) => match p.parse::<u64>() {
                Ok(p) => Ok(Some(Some(p))),
                Err(_) => Err(RedisError::corrupt(OP, "a decimal position", p)),
            },
            _ => Err(RedisError::corrupt(OP, "{applied, stored position} from the script", reply)),
        }
    }

    /// The best `n` players, highest score first, as `(player, score)`.
    ///
    /// # Errors
    /// [`RedisError::Unavailable`] when Redis is down or slow; [`RedisError::Corrupt`] for
    /// members that are not player numbers.
    pub async fn leaderboard_top(&self, kind: LeaderboardKind, n: usize) -> Result<Vec<(u64, i64)>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let stop = i64::try_from(n).unwrap_or(i64::MAX) - 1;
        self.leaderboard_range("leaderboard_top", kind, stop).await
    }

    /// Every player, highest score first.
    ///
    /// # Errors
    /// As [`RedisCache::leaderboard_top`].
    pub async fn leaderboard_all(&self, kind: LeaderboardKind) -> Result<Vec<(u64, i64)>> {
        self.leaderboard_range("leaderboard_all", kind, -1).await
    }

    async fn leaderboard_range(&self, op: &'static str, kind: LeaderboardKind, stop: i64) -> Result<Vec<(u64, i64)>> {
        let key = self.keys().leaderboard(kind);
        let client = self.client().with_options(self.read_options());
        let reply: Value = self.run(op, client.zrevrange(key, 0, stop, true)).await?;
        // RESP2 gives a flat [member, score, …]; RESP3 gives [[member, score], …].
        let mut flat = Vec::new();
        for value in reply.into_array() {
            match value {
                Value::Array(pair) => flat.extend(pair),
                other => flat.push(other),
            }
        }
        if flat.len() % 2 != 0 {
            return Err(RedisError::corrupt(op, "member and score pairs", flat.len()));
        }
        flat.chunks_exact(2)
            .map(|pair| {
                let player = pair[0].as_str().and_then(|p| p.parse::<u64>().ok());
                let score = pair[1].as_f64();
                match (player, score) {
                    // Scores are sums of integers: exact below 2^53.
                    #[allow(clippy::cast_possible_truncation)]
                    (Some(player), Some(score)) if score.fract() == 0.0 => Ok((player, score as i64)),
                    _ => Err(RedisError::corrupt(op, "a player number and an integer score", pair)),
                }
            })
            .collect()
    }

    /// The global position of the last batch applied, `None` if none was.
    ///
    /// # Errors
    /// [`RedisError::Unavailable`] when Redis is down or slow.
    pub async fn leaderboard_position(&self) -> Result<Option<u64>> {
        const OP: &str = "leaderboard_position";
        let client = self.client().with_options(self.read_options());
        let stored: Option<String> = self.run(OP, client.get(self.keys().leaderboard_position())).await?;
        stored.map(|p| p.parse::<u64>().map_err(|_| RedisError::corrupt(OP, "a decimal position", p))).transpose()
    }

    /// Deletes both leaderboards and the position (before a rebuild from position zero).
    ///
    /// # Errors
    /// [`RedisError::Unavailable`] when Redis is down or slow.
    pub async fn clear_leaderboards(&self) -> Result<()> {
        let keys = vec![
            self.keys().leaderboard(LeaderboardKind::NetChips),
            self.keys().leaderboard(LeaderboardKind::HandsPlayed),
            self.keys().leaderboard_position(),
        ];
        let _removed: i64 = self.run("clear_leaderboards", self.client().del(keys)).await?;
        Ok(())
    }
}
