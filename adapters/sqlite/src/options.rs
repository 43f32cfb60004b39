//! Where the store lives (`sqlite:PATH`, `sqlite::memory:`) and how it is tuned
//! ([`SqliteOptions`]), with the durability choice ([`Synchronous`]) explained.

use std::path::PathBuf;
use std::time::Duration;

/// How hard a commit pushes its data to the disk before the append is acknowledged: SQLite's
/// `PRAGMA synchronous`, in WAL mode.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// `FULL` (the default): every commit waits for an `fsync` of the write-ahead log, so an
    /// acknowledged append survives a killed process **and** a power loss or kernel crash.
    /// Group commit ([`crate::SqliteStore`]) pays that `fsync` once per group, not per
    /// append.
    #[default]
    Full,
    /// `NORMAL`: commits reach the operating system (a killed process still loses nothing
    /// acknowledged) but are synced only at checkpoints, so a power loss or kernel crash
    /// can roll back the last acknowledged appends (never corrupting the file). For tests
    /// and simulations; never for real money.
    Normal,
}

impl Synchronous {
    pub(crate) const fn to_sqlx(self) -> sqlx::sqlite::SqliteSynchronous {
        match self {
            Synchronous::Full => sqlx::sqlite::SqliteSynchronous::Full,
            Synchronous::Normal => sqlx::sqlite::SqliteSynchronous::Normal,
        }
    }
}

/// How a [`crate::SqliteStore`] is run. `SqliteOptions::default()` is what
/// [`crate::SqliteStore::open`] uses; change fields on it for others.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Durability of each commit (default [`Synchronous::Full`]).
    pub synchronous: Synchronous,
    /// How long a connection waits for another process's lock before failing with
    /// `StoreError::Unavailable` (SQLite's busy timeout; default 5 s).
    pub busy_timeout: Duration,
    /// Connections in the read pool (default 4); WAL lets them read while the writer writes.
    pub read_connections: u32,
    /// The most queued requests (appends, batches or snapshots) committed in one transaction
    /// (default 256).
    pub max_group: usize,
    /// Requests that may wait for the writer before `append` waits to enqueue (default 1024).
    pub queue_capacity: usize,
    /// How often to look for events appended by *other processes* to wake subscriptions
    /// (default 1 s; `None`: never, so subscribers see only this process's appends live).
    /// Appends made through this store wake subscriptions at once, whatever this is.
    pub poll_interval: Option<Duration>,
}

impl Default for SqliteOptions {
    fn default() -> SqliteOptions {
        SqliteOptions {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            read_connections: 4,
            max_group: 256,
            queue_capacity: 1024,
            poll_interval: Some(Duration::from_secs(1)),
        }
    }
}

/// Where the database is.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum Location {
    /// A file, created if missing.
    File(PathBuf),
    /// A private database in this process's memory, gone when the store is dropped.
    Memory,
}

/// Why a store URL was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BadUrl {
    #[error("no path after `sqlite:`")]
    NoPath,
    #[error("not a SQLite store URL (expected `sqlite:PATH`, `sqlite::memory:` or a path)")]
    OtherScheme,
}

impl Location {
    /// Parses `sqlite:PATH`, `sqlite://PATH`, `sqlite::memory:`, `:memory:` or a bare path.
    /// Everything after the prefix is the path, verbatim (no percent-decoding, no query
    /// parameters).
    pub(crate) fn parse(url: &str) -> Result<Location, BadUrl> {
        let rest = if let Some(rest) = url.strip_prefix("sqlite:") {
            rest.strip_prefix("//").unwrap_or(rest)
        } else if url.contains("://") {
            return Err(BadUrl::OtherScheme);
        } else {
            url
        };
        match rest {
            "" => Err(BadUrl::NoPath),
            ":memory:" => Ok(Location::Memory),
            path => Ok(Location::File(PathBuf::from(path))),
        }
    }

    /// How errors name the store: `sqlite:PATH` or `sqlite::memory:`.
    pub(crate) fn display_url(&self) -> String {
        match self {
            Location::File(path) => format!("sqlite:{}", path.display()),
            Location::Memory => "sqlite::memory:".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths() {
        let file = |p: &str| Ok::<_, ()>(Location::File(PathBuf::from(p)));
        let parse = |u: &str| Location::parse(u).map_err(|_| ());
        assert_eq!(parse("sqlite:showdown.db"), file("showdown.db"));
        assert_eq!(parse("sqlite:/var/lib/showdown.db"), file("/var/lib/showdown.db"));
        assert_eq!(parse("sqlite:///var/lib/showdown.db"), file("/var/lib/showdown.db"));
        assert_eq!(parse("sqlite://showdown.db"), file("showdown.db"));
        assert_eq!(parse("data/showdown.db"), file("data/showdown.db"));
        assert_eq!(parse("sqlite::memory:"), Ok(Location::Memory));
        assert_eq!(parse(":memory:"), Ok(Location::Memory));
        assert!(matches!(Location::parse("sqlite:"), Err(BadUrl::NoPath)));
        assert!(matches!(Location::parse(""), Err(BadUrl::NoPath)));
        assert!(matches!(Location::parse("postgres://localhost/test"), Err(BadUrl::OtherScheme)));
        assert_eq!(Location::File(PathBuf::from("a.db")).display_url(), "sqlite:a.db");
    }
}
