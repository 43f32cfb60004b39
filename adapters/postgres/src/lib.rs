//! Showdown on PostgreSQL: the event store ([`store`], [`PostgresStore`]) and, in a later
//! issue, the read models projected from it.
//!
//! ```no_run
//! # async fn example() -> Result<(), showdown_store::StoreError> {
//! use showdown_postgres::PostgresStore;
//! use showdown_store::EventStore;
//!
//! let store = PostgresStore::connect("postgres://postgres@127.0.0.1:5432/showdown").await?;
//! let stream = showdown_store::StreamId::new("table-1").expect("a valid stream id");
//! let version = store.stream_version(&stream).await?;
//! # let _ = version;
//! # Ok(())
//! # }
//! ```
//!
//! *Boundary: only adapters know how events are stored.* The SQL schema lives in
//! `migrations/` (the store's tables in `0001_event_store.sql`), embedded in the library and
//! applied by [`PostgresStore::connect`].

pub mod readmodels;
pub mod store;

pub use readmodels::ReadModels;
pub use store::{CommitStats, DriverError, InvalidSchema, PostgresOptions, PostgresStore, redact_url};
