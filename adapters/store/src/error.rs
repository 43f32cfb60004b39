//! What can go wrong in a store, classified so that callers know what to do
//! ([`ErrorKind`]): re-read and decide again on a conflict, give up on a rejection or
//! corruption, retry later (where safe) when the store is unavailable.

use showdown_engine::table::CommandId;

use crate::types::{ExpectedVersion, InvalidStreamId, StreamId, StreamVersion};

/// A boxed error from a backend's driver or a codec, kept as the `source` of ours.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How a caller should handle a [`StoreError`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Someone else wrote first: re-read the stream, decide again, append again.
    Conflict,
    /// The request itself is wrong: retrying it cannot help.
    Rejected,
    /// Stored data cannot be read: an operator must look (name the stream and version).
    Corrupt,
    /// The store cannot be reached or failed: retry later, where the operation is safe to
    /// repeat (an append with a command id is).
    Unavailable,
}

/// An error from an [`crate::EventStore`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The stream is not at the version the writer expected. *Handling:* re-read from
    /// `actual`, decide again, append with the new expectation.
    #[error("{stream}: expected {expected}, but the stream is at {}", .actual.map_or("no stream".to_owned(), |v| v.to_string()))]
    WrongExpectedVersion {
        /// The stream.
        stream: StreamId,
        /// What the writer expected.
        expected: ExpectedVersion,
        /// The version of the stream's last event (`None`: no events).
        actual: Option<StreamVersion>,
    },
    /// The command id was already appended to the stream with other events. *Handling:* a
    /// bug in the sender (ids reused, or a command decided twice differently); do not retry.
    #[error("{stream}: command {} was already appended at {first_version} with different events", .command.0)]
    CommandConflict {
        /// The stream.
        stream: StreamId,
        /// The command id.
        command: CommandId,
        /// The version of the first event the command appended.
        first_version: StreamVersion,
    },
    /// An append with no events. *Handling:* a command that causes no events needs no append.
    #[error("an append needs at least one event")]
    EmptyAppend,
    /// A snapshot of a version the stream has not reached. *Handling:* a bug in the writer:
    /// snapshot only what was read back from the stream.
    #[error("{stream}: a snapshot at {version} is past the stream's end ({})", .actual.map_or("no stream".to_owned(), |v| v.to_string()))]
    SnapshotAhead {
        /// The stream.
        stream: StreamId,
        /// The snapshot's version.
        version: StreamVersion,
        /// The version of the stream's last event (`None`: no events).
        actual: Option<StreamVersion>,
    },
    /// A stream name the store refuses.
    #[error("invalid stream id")]
    InvalidStreamId(#[source] InvalidStreamId),
    /// A stored record cannot be read. *Handling:* stop and report the stream and version.
    #[error("{stream} at {version}: the stored event is corrupt")]
    Corrupt {
        /// The stream.
        stream: StreamId,
        /// The event's version.
        version: StreamVersion,
        /// What was wrong.
        #[source]
        source: BoxError,
    },
    /// The store failed or cannot be reached. *Handling:* retry later where safe.
    #[error("the store at {location} is unavailable")]
    Unavailable {
        /// The store's URL or name (never with a password).
        location: String,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// How to handle this error.
    #[must_use]
    pub const fn kind(&self) -> ErrorKind {
        match self {
            StoreError::WrongExpectedVersion { .. } | StoreError::CommandConflict { .. } => ErrorKind::Conflict,
            StoreError::EmptyAppend | StoreError::SnapshotAhead { .. } | StoreError::InvalidStreamId(_) => {
                ErrorKind::Rejected
            }
            StoreError::Corrupt { .. } => ErrorKind::Corrupt,
            StoreError::Unavailable { .. } => ErrorKind::Unavailable,
        }
    }
}

impl From<InvalidStreamId> for StoreError {
    fn from(e: InvalidStreamId) -> StoreError {
        StoreError::InvalidStreamId(e)
    }
}

/// An error encoding or decoding a payload. Decoding untrusted bytes returns one of these,
/// never panics and never allocates beyond the codec's limit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The value could not be encoded (or its encoding passes the size limit).
    #[error("cannot encode the value")]
    Encode(#[source] BoxError),
    /// The bytes are not a valid encoding (garbage, truncated, or over the size limit).
    #[error("cannot decode the bytes")]
    Decode(#[source] BoxError),
    /// Bytes left over after a complete value: the record is not what it claims to be.
    #[error("{extra} bytes left over after the value")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// A schema version newer than this code knows. *Handling:* upgrade the reader.
    #[error("schema version {found} is newer than this code's {current}")]
    SchemaTooNew {
        /// The stored version.
        found: u16,
        /// The version this code writes.
        current: u16,
    },
    /// An older schema version with no upcaster registered for it.
    #[error("no upcaster from schema version {found} (this code writes {current})")]
    NoUpcaster {
        /// The stored version.
        found: u16,
        /// The version this code writes.
        current: u16,
    },
    /// The stored type name does not match the decoded event.
    #[error("the record says {stored}, but the payload is {decoded}")]
    TypeMismatch {
        /// The type name stored beside the payload.
        stored: String,
        /// The type of the decoded event.
        decoded: &'static str,
    },
}
