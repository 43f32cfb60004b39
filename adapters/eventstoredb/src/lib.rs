//! Showdown's event store on EventStoreDB / KurrentDB: [`EventStoreDbStore`] implements
//! [`showdown_store::EventStore`] with the official gRPC client (the `kurrentdb` crate, the
//! renamed `eventstore`). It needs EventStoreDB 22.6 or later (or any KurrentDB), which
//! report each event's `$all` position in stream reads.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use showdown_eventstoredb::EventStoreDbStore;
//! let store = EventStoreDbStore::open("esdb://localhost:2113?tls=false")?; // inside tokio
//! store.ping().await?; // optional: fail now if the server is not there
//! # Ok(()) }
//! ```
//!
//! # Mapping
//!
//! - **Streams.** Table stream `t` is EventStoreDB stream `{category}-t` (category
//!   `showdown` by default; `?category=NAME` in the URL or [`EsdbConfig::with_category`]),
//!   so `$ce-showdown` lists every table and `$`-leading ids stay out of the system
//!   namespace. Snapshots live in `{category}_snapshots-t`.
//! - **Expected versions.** `NoStream`, `Exact(n)` and `Any` are the client's
//!   `StreamState::NoStream`, `StreamRevision(n)` and `Any` (`StreamState` is what the
//!   `eventstore` crate called `ExpectedRevision`); a wrong-expected-version answer becomes
//!   [`showdown_store::StoreError::WrongExpectedVersion`] with the actual version
//!   (`Current(rev)` → `Some(StreamVersion(rev))`, `NoStream` → `None`). See
//!   [`mapping::expected_revision`] and [`mapping::actual_version`]. (The store sends
//!   only exact revisions, see *Idempotency*.)
//! - **Events.** A binary event: id = [`showdown_store::EventId`] as a UUID, type =
//!   `event_type`, data = the payload bytes, custom metadata = JSON with the command id,
//!   schema version and the writer's metadata map ([`mapping`] pins the format). Reading
//!   back: version = the event's revision; a record without valid metadata is
//!   [`showdown_store::StoreError::Corrupt`], except records the server writes (`$` types),
//!   which readers skip.
//! - **Global positions.** Twice the event's `$all` commit position
//!   ([`mapping::global_position`]): they increase with the log but skip numbers, as the
//!   trait allows, and the odd numbers mean "just after an event", so that reading from
//!   `position.next()` starts at a record boundary, the only place EventStoreDB reads `$all`
//!   from. Read from [`showdown_store::GlobalPosition::START`], an event's position or the
//!   one after it; the server may refuse other numbers.
//! - **`read_all`** reads `$all` with a server-side filter on the prefix `{category}-`: no
//!   system streams, no snapshot streams, no other category's tables. With access control
//!   on, reading `$all` needs a user in `$admins` (or an ACL that grants it), as does
//!   `subscribe`.
//! - **Errors.** Every other client error is
//!   [`showdown_store::StoreError::Unavailable`] whose location is the URL without
//!   credentials and whose source is the client's error (access denied, deleted streams and
//!   timeouts included).
//!
//! # Idempotency
//!
//! A command appended once is never appended again, whatever expected version a retry
//! carries, across restarts, and as long as the server keeps the stream: the command id is
//! stored in every event, and appends consult a per-stream index of command ids built from
//! the stream itself. Every write is sent at the exact revision that index has read to, so
//! the server's optimistic concurrency proves the index complete at the moment of the write;
//! a refused write catches the index up and decides again. [`dedup`] holds the decisions
//! and explains them.
//!
//! Cost: the first append to a stream in a process (or after its index was evicted, see
//! [`EsdbConfig::with_max_indexed_streams`]) reads the whole stream once, and the index
//! keeps about 50 bytes per command in memory. After that, an append is one write plus one
//! read of its own events (the write's answer has only one position, so the positions are
//! read back); a conflict adds a read of what others appended; a retry reads the first
//! append's events to compare them. Each process orders its own appends to one stream; an
//! append that loses 100 rounds in a row to other processes gives up with `Unavailable`.
//!
//! Exact guarantee, and its one gap: a write whose outcome is unknown (a timeout, a dropped
//! connection) makes the next append to that stream catch up first, so its retry is
//! recognised; but if two sends of one command are in flight at once (two processes, or a
//! retry racing a first send the server has not committed yet) and both are sent at the
//! same revision, both may be told `deduplicated: false`. The events are still stored once
//! (EventStoreDB deduplicates equal event ids written at the same expected revision) and
//! both answers carry the same versions and positions.
//!
//! # Snapshots
//!
//! Each save appends one binary `Snapshot` event (version and schema in its metadata) to
//! `{category}_snapshots-t`, whose `$maxCount` is set to 1 on first use; loading reads the
//! last event. A save first checks that the table's stream has reached the version
//! ([`showdown_store::StoreError::SnapshotAhead`] otherwise) and that the last snapshot is
//! older (else it does nothing), and writes at the snapshot stream's exact revision,
//! retrying when another saver got in first, so snapshots only move forward. A snapshot
//! that cannot be read makes `load_snapshot` fail with `Corrupt` and is replaced by the
//! next save.
//!
//! # Subscriptions
//!
//! [`showdown_store::Subscription`] reads with `read_all` and waits on a change signal. The
//! store bumps the signal after each of its own appends and, from the first `subscribe` on,
//! after every event a server-side `$all` subscription (filtered to `{category}-`) reports,
//! so appends by other processes wake subscribers too. `subscribe` waits until the server
//! confirms that subscription; when it drops, a background task re-subscribes with a
//! growing delay (up to 5 s) and bumps the signal so readers re-read what they missed.
//!
//! # Tests
//!
//! The mapping and the append decisions are pure and unit-tested. The store itself is
//! tested against an in-memory double of the server that keeps the behaviour it relies on
//! (exact-revision checks, idempotence on event ids, record-boundary `$all` reads); the
//! shared conformance suite runs on that double, and on a real server in
//! `tests/conformance.rs` where `EVENTSTORE_URL` is set.

mod backend;
mod config;
pub mod dedup;
#[cfg(test)]
mod fake;
pub mod mapping;
mod store;

pub use config::{
    ConfigError, DEFAULT_CATEGORY, DEFAULT_MAX_INDEXED_STREAMS, DEFAULT_TIMEOUT, EsdbConfig, MAX_CATEGORY_LEN, redact,
};
pub use mapping::RecordError;
pub use store::EventStoreDbStore;
