//! Showdown's embedded default event store: [`SqliteStore`], one SQLite file, zero set-up.
//!
//! ```no_run
//! # async fn demo() -> Result<(), showdown_store::StoreError> {
//! use showdown_sqlite::SqliteStore;
//! let store = SqliteStore::open("sqlite:showdown.db").await?; // created and migrated if new
//! // … use it as any `showdown_store::EventStore` …
//! store.close().await?; // commits what is queued, checkpoints the WAL
//! # Ok(()) }
//! ```
//!
//! # The file
//!
//! URLs are `sqlite:PATH` (also `sqlite://PATH` or a bare path) and `sqlite::memory:` (a
//! private database in this process, gone with the store). The file is created if missing
//! and migrated with the SQL files in `migrations/`, compiled in (`sqlx::migrate!`; their
//! history is in the `_sqlx_migrations` table). It runs in WAL mode, so readers never block
//! the writer nor the writer them, and with a busy timeout (default 5 s) for the locks of
//! other processes.
//!
//! Schema (see `migrations/0001_event_store.sql`; all tables `STRICT`):
//! - `events(position INTEGER PRIMARY KEY AUTOINCREMENT, stream_id, version, event_id,
//!   command_id, schema, event_type, payload, metadata, UNIQUE(stream_id, version))`:
//!   positions strictly increase, in commit order, and are never reused;
//! - `commands(stream_id, command_id, first_version, last_version, first_position,
//!   last_position, PRIMARY KEY(stream_id, command_id))`: where each command's events went,
//!   so a retried command is answered from here, after a restart too;
//! - `snapshots(stream_id PRIMARY KEY, version, schema, payload)`: the latest per stream.
//!
//! Ids are 16-byte big-endian blobs, metadata a JSON object of strings, versions and
//! positions SQLite integers (`u64` values past `i64::MAX` are refused on write and
//! negative ones reported as [`showdown_store::StoreError::Corrupt`] on read).
//!
//! # Durability
//!
//! Commits use `synchronous=FULL` by default ([`Synchronous::Full`]): an append is
//! acknowledged only after the write-ahead log holding it is `fsync`ed, so neither a killed
//! process nor a power loss or kernel crash loses an acknowledged append.
//! [`Synchronous::Normal`] skips that `fsync` (the WAL is synced at checkpoints only): a
//! killed process still loses nothing acknowledged, since the data is in the kernel's page
//! cache, but a power loss or kernel crash may roll back the last acknowledged appends.
//!
//! # Group commit
//!
//! One `fsync` per transaction bounds SQLite's write rate, so writes are not committed one by
//! one. Every append, batch and snapshot is queued (a bounded channel) to one writer task
//! that owns the write connection; it takes everything queued (up to
//! [`SqliteOptions::max_group`]), runs it in one `BEGIN IMMEDIATE` transaction and commits
//! once, and only then answers each caller. Within the group, each request is checked on its
//! own and in queue order, as `MemoryStore` does (command id, then expected version), seeing
//! the requests before it: one query looks up every request's stream and command, the
//! decisions are made in memory, and the accepted appends go in with a few multi-row
//! `INSERT`s, so a group costs about as many statements as a single append. A conflict in
//! one request does not fail the others. If an insert hits a constraint anyway, the group is
//! rolled back and run again one request at a time, each under a savepoint, so only the
//! offending request fails. If the commit itself fails, every request of the group gets
//! [`showdown_store::StoreError::Unavailable`] and none was stored.
//!
//! Other processes may write the same file: `BEGIN IMMEDIATE` serializes writers, and the
//! unique constraints on `(stream_id, version)` and `(stream_id, command_id)` hold whatever
//! happens (a violation is answered as the matching conflict).
//!
//! # Subscriptions
//!
//! The change signal is a tokio `watch` moved by the writer task after each commit, so
//! subscribers in this process see appends at once. Appends by other processes are seen
//! when the store polls the file's highest position ([`SqliteOptions::poll_interval`],
//! default every second), or when a subscriber reads anyway.
//!
//! # Shutting down
//!
//! Nothing is acknowledged before its commit. [`SqliteStore::close`] stops taking requests,
//! commits and answers every queued one, then closes the file. Dropping the store does the
//! same in the background, as long as the tokio runtime runs; a write whose caller stopped
//! waiting (a cancelled future) may or may not be stored, and resending it with the same
//! command id is safe.

mod error;
mod group;
mod options;
mod request;
mod rows;
mod store;
mod writer;

pub use options::{SqliteOptions, Synchronous};
pub use store::SqliteStore;
