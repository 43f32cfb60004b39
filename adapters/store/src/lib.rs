//! Durable tables: the [`EventStore`] trait every backend implements, the stored envelope
//! ([`StoredEvent`]) and payload codec ([`codec`]), and an in-memory store ([`MemoryStore`]).
//!
//! One table is one stream. A stream is a gapless sequence of events numbered by
//! [`StreamVersion`] from 0; every event also has a [`GlobalPosition`] that orders all
//! streams together. Appends are atomic and guarded by an [`ExpectedVersion`], so one writer
//! wins per version (invariant 6), and carry the [`CommandId`] of the command that caused
//! them, so a retried command is appended once.
//!
//! *Boundary: only adapters know how events are stored.* The engine hands over
//! [`showdown_engine::table::Recorded`] values; [`codec::TableCodec`] turns them into
//! [`NewEvent`]s and stored records back into `Recorded`, upcasting older schema versions.
//!
//! Backends run the shared suite in `showdown_store::conformance` (feature `conformance`).

pub mod codec;
mod error;
mod memory;
pub mod players;
pub mod projection;
pub mod readmodel;
pub mod reconcile;
pub mod service;
mod store;
pub mod streams;
pub mod sync;
mod types;
pub mod verify;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::{BoxError, CodecError, ErrorKind, StoreError};
pub use memory::MemoryStore;
pub use service::{CommandGate, GateRefusal, Handled, LoadedTable, ServiceConfig, ServiceError, TableService};
pub use showdown_engine::table::CommandId;
pub use store::{EventStore, SUBSCRIPTION_BATCH, Subscription};
pub use types::{
    AppendRequest, Appended, EventId, ExpectedVersion, GlobalPosition, InvalidStreamId, MAX_STREAM_ID_LEN, Metadata,
    NewEvent, Snapshot, StoredEvent, StreamId, StreamVersion,
};
