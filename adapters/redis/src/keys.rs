//! Key and channel names. Every key of one table, session or player carries that id in
//! braces, the Redis Cluster hash tag, so that a multi-key script touches one slot; the
//! leaderboard keys share the tag `{lb}`.

use crate::error::{RedisError, Result};
use crate::feed::Viewer;
use crate::leaderboard::LeaderboardKind;

/// What a name inside a key may be.
const NAME_RULE: &str = "1 to 200 bytes of printable ASCII without spaces, '{' or '}'";

/// Checks a name that goes into a key: printable ASCII, no braces (a brace would change the
/// hash tag, and with it the slot).
pub(crate) fn check_name(what: &'static str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 200
        && value.bytes().all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}');
    if ok {
        Ok(())
    } else {
        Err(RedisError::InvalidName { what, value: value.chars().take(210).collect(), expected: NAME_RULE })
    }
}

/// The Redis Cluster slot of a key (CRC16 of the hash tag, or of the key without one, mod
/// 16384). A standalone server has one slot space too, so this is what a cluster would use.
#[must_use]
pub fn key_slot(key: &str) -> u16 {
    fred::util::redis_keyslot(key.as_bytes())
}

/// The names of every key and channel under one namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    namespace: String,
}

impl Keys {
    /// Names under `namespace`.
    ///
    /// # Errors
    /// [`RedisError::InvalidName`] if the namespace is not a valid name.
    pub fn new(namespace: &str) -> Result<Keys> {
        check_name("namespace", namespace)?;
        Ok(Keys { namespace: namespace.to_owned() })
    }

    /// The namespace.
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `{ns}:table:{id}`: the cached table (a hash: `version`, `state`, `public`).
    ///
    /// # Errors
    /// [`RedisError::InvalidName`] for a bad table id.
    pub fn table(&self, table_id: &str) -> Result<String> {
        check_name("table id", table_id)?;
        Ok(format!("{}:table:{{{table_id}}}", self.namespace))
    }

    /// `{ns}:table:{id}:public` or `{ns}:table:{id}:seat:N`: a table's feed for one viewer.
    ///
    /// # Errors
    /// [`RedisError::InvalidName`] for a bad table id.
    pub fn channel(&self, table_id: &str, viewer: Viewer) -> Result<String> {
        let table = self.table(table_id)?;
        Ok(match viewer {
            Viewer::Spectator => format!("{table}:public"),
            Viewer::Seat(seat) => format!("{table}:seat:{seat}"),
        })
    }

    /// `{ns}:leaderboard:{lb}:net` or `…:hands`: one sorted set of the leaderboard.
    #[must_use]
    pub fn leaderboard(&self, kind: LeaderboardKind) -> String {
        let suffix = match kind {
            LeaderboardKind::NetChips => "net",
            LeaderboardKind::HandsPlayed => "hands",
        };
        format!("{}:leaderboard:{{lb}}:{suffix}", self.namespace)
    }

    /// `{ns}:leaderboard:{lb}:position`: the last global position applied to the leaderboard.
    #[must_use]
    pub fn leaderboard_position(&self) -> String {
        format!("{}:leaderboard:{{lb}}:position", self.namespace)
    }

    /// `{ns}:session:{token}`.
    ///
    /// # Errors
    /// [`RedisError::InvalidName`] for a bad token.
    pub fn session(&self, token: &str) -> Result<String> {
        check_name("session token", token)?;
        Ok(format!("{}:session:{{{token}}}", self.namespace))
    }

    /// `{ns}:ratelimit:{player}`: the player's GCRA state.
    #[must_use]
    pub fn rate_limit(&self, player: u64) -> String {
        format!("{}:ratelimit:{{{player}}}", self.namespace)
    }
}
