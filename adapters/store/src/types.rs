//! The stored shapes: stream ids, versions and positions, the event a writer appends
//! ([`NewEvent`]) and the record a reader gets back ([`StoredEvent`]). They are plain data,
//! serializable so that a backend can keep them in whatever form suits it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use showdown_engine::table::CommandId;

/// The longest stream id, in bytes: it fits an indexed text column in every backend.
pub const MAX_STREAM_ID_LEN: usize = 200;

/// The name of a stream (one table is one stream): 1 to [`MAX_STREAM_ID_LEN`] bytes of
/// printable ASCII, so it is safe in URLs, SQL text columns and EventStoreDB stream names.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StreamId(String);

/// Why a string is not a [`StreamId`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidStreamId {
    /// The empty string.
    #[error("a stream id cannot be empty")]
    Empty,
    /// More than [`MAX_STREAM_ID_LEN`] bytes.
    #[error("a stream id has at most {MAX_STREAM_ID_LEN} bytes; this one has {len}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A byte that is not printable ASCII (space included is refused).
    #[error("a stream id is printable ASCII without spaces; byte {index} is not")]
    BadByte {
        /// Where the first such byte is.
        index: usize,
    },
}

impl StreamId {
    /// Checks and wraps a stream name.
    ///
    /// # Errors
    /// [`InvalidStreamId`] if the name is empty, too long, or not printable ASCII.
    pub fn new(name: impl Into<String>) -> Result<StreamId, InvalidStreamId> {
        let name = name.into();
        if name.is_empty() {
            return Err(InvalidStreamId::Empty);
        }
        if name.len() > MAX_STREAM_ID_LEN {
            return Err(InvalidStreamId::TooLong { len: name.len() });
        }
        if let Some(index) = name.bytes().position(|b| !b.is_ascii_graphic()) {
            return Err(InvalidStreamId::BadByte { index });
        }
        Ok(StreamId(name))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StreamId {
    type Error = InvalidStreamId;

    fn try_from(name: String) -> Result<StreamId, InvalidStreamId> {
        StreamId::new(name)
    }
}

impl From<StreamId> for String {
    fn from(id: StreamId) -> String {
        id.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The number of an event in its stream: the first event is version 0, and versions have
/// no gaps.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StreamVersion(pub u64);

impl StreamVersion {
    /// The version of a stream's first event.
    pub const FIRST: StreamVersion = StreamVersion(0);

    /// The version after this one.
    #[must_use]
    pub const fn next(self) -> StreamVersion {
        StreamVersion(self.0 + 1)
    }
}

impl fmt::Display for StreamVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "version {}", self.0)
    }
}

/// The place of an event in the order of all streams together. Positions only increase;
/// a backend may skip numbers (a Postgres sequence does), so read from a position, never
/// count to one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GlobalPosition(pub u64);

impl GlobalPosition {
    /// Before every event: reading all from here reads everything.
    pub const START: GlobalPosition = GlobalPosition(0);

    /// The position after this one.
    #[must_use]
    pub const fn next(self) -> GlobalPosition {
        GlobalPosition(self.0 + 1)
    }
}

impl fmt::Display for GlobalPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "position {}", self.0)
    }
}

/// What a writer believes about the stream it appends to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// The stream has no events yet.
    NoStream,
    /// The stream's last event has this version.
    Exact(StreamVersion),
    /// Whatever the stream holds: no concurrency check.
    Any,
}

impl ExpectedVersion {
    /// Whether a stream whose last event has version `actual` (`None`: no events) matches.
    #[must_use]
    pub fn matches(self, actual: Option<StreamVersion>) -> bool {
        match self {
            ExpectedVersion::NoStream => actual.is_none(),
            ExpectedVersion::Exact(v) => actual == Some(v),
            ExpectedVersion::Any => true,
        }
    }

    /// The expectation a stream whose last event has version `actual` meets exactly.
    #[must_use]
    pub fn of(actual: Option<StreamVersion>) -> ExpectedVersion {
        actual.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact)
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exact(v) => v.fmt(f),
            ExpectedVersion::Any => f.write_str("any version"),
        }
    }
}

/// The id of one stored event, unique across all streams.
///
/// A retried command must produce the same ids, or the store sees different events under
/// the same command id; [`EventId::derive`] gives them deterministically.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub u128);

impl EventId {
    /// The id of the `index`th event (from 0) that `command` caused in `stream`: the first 16
    /// bytes of SHA-256 over the three, so ids are unique across streams without a random
    /// source, and a retry gives the same ids.
    #[must_use]
    pub fn derive(stream: &StreamId, command: CommandId, index: u32) -> EventId {
        let mut h = Sha256::new();
        h.update((stream.0.len() as u64).to_le_bytes());
        h.update(stream.0.as_bytes());
        h.update(command.0.to_le_bytes());
        h.update(index.to_le_bytes());
        let digest = h.finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        EventId(u128::from_le_bytes(id))
    }
}

/// Free-form key–value metadata kept beside an event (correlation ids, the host's name);
/// never read by the engine. Sorted, so it encodes the same way every time.
pub type Metadata = BTreeMap<String, String>;

/// An event to append. The store adds the stream, version, position and command id.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct NewEvent {
    /// Its id (see [`EventId::derive`]).
    pub event_id: EventId,
    /// The schema version of the payload's shape.
    pub schema: u16,
    /// The event's type name (for a table, the [`showdown_engine::table::TableEvent`] variant),
    /// so that readers can filter without decoding.
    pub event_type: String,
    /// The encoded event.
    pub payload: Vec<u8>,
    /// Metadata.
    pub metadata: Metadata,
}

/// A stored event, as read back.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StoredEvent {
    /// The stream it belongs to.
    pub stream: StreamId,
    /// Its version in the stream.
    pub version: StreamVersion,
    /// Its place in the order of all streams.
    pub position: GlobalPosition,
    /// Its id.
    pub event_id: EventId,
    /// The command that caused it (every event of one append shares it).
    pub command: CommandId,
    /// The schema version of the payload's shape when written.
    pub schema: u16,
    /// The event's type name.
    pub event_type: String,
    /// The encoded event.
    pub payload: Vec<u8>,
    /// Metadata.
    pub metadata: Metadata,
}

impl StoredEvent {
    /// The event as it was appended, without what the store added.
    #[must_use]
    pub fn to_new_event(&self) -> NewEvent {
        NewEvent {
            event_id: self.event_id,
            schema: self.schema,
            event_type: self.event_type.clone(),
            payload: self.payload.clone(),
            metadata: self.metadata.clone(),
        }
    }
}

/// Where an append put its events: the versions and positions of the first and last.
///
/// A retried command gets back the result of its first append, with `deduplicated` set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Appended {
    /// The version of the first event appended.
    pub first_version: StreamVersion,
    /// The version of the last event appended: the stream's version afterwards.
    pub last_version: StreamVersion,
    /// The position of the first event appended.
    pub first_position: GlobalPosition,
    /// The position of the last event appended.
    pub last_position: GlobalPosition,
    /// Whether the command had been appended before, and this append did nothing.
    pub deduplicated: bool,
}

impl Appended {
    /// The same result as reported the first time (`deduplicated` cleared), for comparing a
    /// retry's result with the original's.
    #[must_use]
    pub const fn original(self) -> Appended {
        Appended { deduplicated: false, ..self }
    }

    /// The expectation for the next append after this one.
    #[must_use]
    pub const fn next_expected(self) -> ExpectedVersion {
        ExpectedVersion::Exact(self.last_version)
    }
}

/// One append of a batch ([`crate::EventStore::append_batch`]): the arguments of
/// [`crate::EventStore::append`], as a value.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AppendRequest {
    /// The stream to append to.
    pub stream: StreamId,
    /// What the writer believes the stream is at.
    pub expected: ExpectedVersion,
    /// The command that caused the events.
    pub command: CommandId,
    /// The events, in order.
    pub events: Vec<NewEvent>,
}

/// A stream's state folded up to a version and encoded, stored beside the stream so that a
/// reader loads it and reads only the events after it. Never the source of truth: a
/// snapshot must always equal a replay of its stream up to `version` (`showdown verify`
/// checks it).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    /// The version of the last event folded into it.
    pub version: StreamVersion,
    /// The schema version of the payload's shape.
    pub schema: u16,
    /// The encoded state.
    pub payload: Vec<u8>,
}
