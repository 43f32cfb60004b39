//! The pure, one-to-one mapping between Showdown's stored shapes and EventStoreDB's: expected
//! versions, actual versions, positions, the event record (id, type, payload, metadata) and
//! the snapshot record, and client errors. No I/O here, so every rule is unit-tested
//! without a server.
//!
//! An event is stored as a *binary* EventStoreDB event: its id is the [`EventId`] as a UUID
//! (the same 128 bits), its type is [`NewEvent::event_type`], its data is the payload bytes
//! untouched, and its custom metadata is a small JSON object ([`METADATA_FORMAT`] 1):
//!
//! ```json
//! {"v":1,"command":"0000002a-0000-0000-0000-000000000000","schema":3,"metadata":{"host":"dealer-1"}}
//! ```
//!
//! `command` is the [`CommandId`] written as a UUID, `schema` the payload's schema version
//! and `metadata` the writer's [`Metadata`] map. The format is a stored boundary: fields are
//! only ever added, and `v` changes if one changes meaning.

use bytes::Bytes;
use kurrentdb::{CurrentRevision, EventData, Position, StreamState};
use serde::{Deserialize, Serialize};
use showdown_store::{
    CommandId, EventId, ExpectedVersion, GlobalPosition, Metadata, NewEvent, Snapshot, StoreError, StoredEvent,
    StreamId, StreamVersion,
};
use uuid::Uuid;

use crate::backend::Record;

/// The version of the JSON metadata this code writes beside events and snapshots.
pub const METADATA_FORMAT: u16 = 1;

/// The EventStoreDB event type of snapshot records.
pub const SNAPSHOT_EVENT_TYPE: &str = "Snapshot";

/// The client's expected revision for an [`ExpectedVersion`]: `NoStream` → `NoStream`,
/// `Exact(n)` → `StreamRevision(n)`, `Any` → `Any`.
#[must_use]
pub const fn expected_revision(expected: ExpectedVersion) -> StreamState {
    match expected {
        ExpectedVersion::NoStream => StreamState::NoStream,
        ExpectedVersion::Exact(v) => StreamState::StreamRevision(v.0),
        ExpectedVersion::Any => StreamState::Any,
    }
}

/// The [`ExpectedVersion`] for a client expected revision, the inverse of
/// [`expected_revision`]; `None` for `StreamExists`, which Showdown never sends.
#[must_use]
pub const fn expected_version(state: StreamState) -> Option<ExpectedVersion> {
    match state {
        StreamState::NoStream => Some(ExpectedVersion::NoStream),
        StreamState::StreamRevision(n) => Some(ExpectedVersion::Exact(StreamVersion(n))),
        StreamState::Any => Some(ExpectedVersion::Any),
        StreamState::StreamExists => None,
    }
}

/// The version of a stream's last event from the client's current revision (`None`: the
/// stream has no events).
#[must_use]
pub const fn actual_version(current: CurrentRevision) -> Option<StreamVersion> {
    match current {
        CurrentRevision::Current(rev) => Some(StreamVersion(rev)),
        CurrentRevision::NoStream => None,
    }
}

/// The client's current revision for the version of a stream's last event, the inverse of
/// [`actual_version`].
#[must_use]
pub const fn current_revision(actual: Option<StreamVersion>) -> CurrentRevision {
    match actual {
        Some(v) => CurrentRevision::Current(v.0),
        None => CurrentRevision::NoStream,
    }
}

/// Our conflict for the client's wrong-expected-version answer.
#[must_use]
pub fn wrong_expected_version(stream: &StreamId, expected: ExpectedVersion, current: CurrentRevision) -> StoreError {
    StoreError::WrongExpectedVersion { stream: stream.clone(), expected, actual: actual_version(current) }
}

/// Any other client error: the store at `location` is unavailable (the client's error,
/// which never holds the password, is the source).
#[must_use]
pub fn unavailable(location: &str, error: kurrentdb::Error) -> StoreError {
    StoreError::Unavailable { location: location.to_owned(), source: Box::new(error) }
}

/// The [`GlobalPosition`] of an event at `$all` position `position`: twice its commit
/// position, or `None` if the server gave none.
///
/// Doubling keeps the odd numbers for "just after an event": a reader that resumes from
/// `event.position.next()` asks for `2c + 1`, which [`read_start`] turns back into the
/// event's own, valid, `$all` position `c` (and [`is_at_or_after`] drops the event itself).
/// EventStoreDB refuses reads from a position that is not a record boundary, so `c + 1`
/// could not be used. Positions increase with the log but skip numbers, which the trait
/// allows.
///
/// Events appended over gRPC commit one by one, so commit and prepare positions are equal
/// and the commit position alone orders them. A commit position of 2⁶³ or more is the
/// client's "no position" (`u64::MAX`), which EventStoreDB before 22.6 sends for stream
/// reads.
#[must_use]
pub fn global_position(position: Position) -> Option<GlobalPosition> {
    if position.commit >= 1 << 63 {
        return None;
    }
    Some(GlobalPosition(position.commit * 2))
}

/// Where in `$all` to start reading events at or after `from`: the `$all` position of the
/// event `from` names (`from / 2`). Every position a store hands out (an event's, or the
/// next one) maps to a record boundary; others may be refused by the server.
#[must_use]
pub const fn read_start(from: GlobalPosition) -> Position {
    let commit = from.0 / 2;
    Position { commit, prepare: commit }
}

/// Whether an event at `position` is one a read from `from` returns.
#[must_use]
pub fn is_at_or_after(position: GlobalPosition, from: GlobalPosition) -> bool {
    position >= from
}

/// The UUID of an event id (the same 128 bits).
#[must_use]
pub const fn event_uuid(id: EventId) -> Uuid {
    Uuid::from_u128(id.0)
}

/// The event id of a UUID, the inverse of [`event_uuid`].
#[must_use]
pub const fn event_id(uuid: Uuid) -> EventId {
    EventId(uuid.as_u128())
}

/// The UUID form a command id takes in the metadata.
#[must_use]
pub const fn command_uuid(command: CommandId) -> Uuid {
    Uuid::from_u128(command.0)
}

/// The stored metadata of an event.
#[derive(Serialize, Deserialize)]
struct EventMeta {
    v: u16,
    command: String,
    schema: u16,
    #[serde(default)]
    metadata: Metadata,
}

/// The stored metadata of a snapshot.
#[derive(Serialize, Deserialize)]
struct SnapshotMeta {
    v: u16,
    version: u64,
    schema: u16,
}

/// Why a stored record cannot be read back (the source of a [`StoreError::Corrupt`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record has no custom metadata: it was not written by Showdown.
    #[error("the record has no Showdown metadata")]
    MissingMetadata,
    /// The custom metadata is not Showdown's JSON.
    #[error("the record's metadata is not Showdown's JSON")]
    BadMetadata(#[source] serde_json::Error),
    /// A metadata format newer than this code. *Handling:* upgrade the reader.
    #[error("metadata format {found} is newer than this code's {current}")]
    FormatTooNew {
        /// The stored format.
        found: u16,
        /// The format this code writes.
        current: u16,
    },
    /// The command id in the metadata is not a UUID.
    #[error("the command id `{0}` is not a UUID")]
    BadCommandId(String),
    /// The server gave no `$all` position for the event (EventStoreDB before 22.6 gives none
    /// for stream reads): Showdown needs 22.6 or later.
    #[error("the server gave no $all position for the event (EventStoreDB 22.6 or later is needed)")]
    NoPosition,
    /// A snapshot record of another type.
    #[error("a snapshot record has type `{0}`")]
    NotASnapshot(String),
}

/// An event ready to send: what [`EventData`] will hold, in a form tests can look at.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EncodedEvent {
    /// The event id (`None`: the client draws a random one).
    pub id: Option<Uuid>,
    /// The event type.
    pub event_type: String,
    /// The payload, as binary data.
    pub data: Bytes,
    /// The custom metadata (JSON).
    pub metadata: Bytes,
}

impl EncodedEvent {
    /// The client's event: binary content type, our id, our metadata.
    #[must_use]
    pub fn into_event_data(self) -> EventData {
        let data = EventData::binary(self.event_type, self.data).metadata(self.metadata);
        match self.id {
            Some(id) => data.id(id),
            None => data,
        }
    }
}

/// Serializes metadata made of integers, strings and a string map, which cannot fail.
fn to_json<T: Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("strings, integers and string maps always serialize to JSON"))
}

/// The record for `event`, caused by `command`.
#[must_use]
pub fn encode_event(command: CommandId, event: &NewEvent) -> EncodedEvent {
    let meta = EventMeta {
        v: METADATA_FORMAT,
        command: command_uuid(command).to_string(),
        schema: event.schema,
        metadata: event.metadata.clone(),
    };
    EncodedEvent {
        id: Some(event_uuid(event.event_id)),
        event_type: event.event_type.clone(),
        data: Bytes::from(event.payload.clone()),
        metadata: to_json(&meta),
    }
}

/// The record for a snapshot (the client draws its id: snapshots need no deduplication,
/// since they only move forward).
#[must_use]
pub fn encode_snapshot(snapshot: &Snapshot) -> EncodedEvent {
    let meta = SnapshotMeta { v: METADATA_FORMAT, version: snapshot.version.0, schema: snapshot.schema };
    EncodedEvent {
        id: None,
        event_type: SNAPSHOT_EVENT_TYPE.to_owned(),
        data: Bytes::from(snapshot.payload.clone()),
        metadata: to_json(&meta),
    }
}

/// The parts of a recorded event the mapping reads, borrowed (the client's
/// `RecordedEvent` cannot be built outside the client, so tests build these).
#[derive(Clone, Copy, Debug)]
pub struct RecordView<'a> {
    /// The EventStoreDB stream name.
    pub stream: &'a str,
    /// The event id.
    pub id: Uuid,
    /// Its revision (version) in the stream.
    pub revision: u64,
    /// The event type.
    pub event_type: &'a str,
    /// The data.
    pub data: &'a [u8],
    /// The custom metadata.
    pub custom_metadata: &'a [u8],
    /// Its `$all` position.
    pub position: Position,
}

impl<'a> RecordView<'a> {
    /// A view of a record read from the server.
    #[must_use]
    pub(crate) fn of(record: &'a Record) -> RecordView<'a> {
        RecordView {
            stream: &record.stream,
            id: record.id,
            revision: record.revision,
            event_type: &record.event_type,
            data: &record.data,
            custom_metadata: &record.custom_metadata,
            position: record.position,
        }
    }

    /// Whether the server wrote it (a `$`-prefixed type, such as `$streamDeleted` or
    /// `$metadata`).
    #[must_use]
    pub fn is_system(&self) -> bool {
        self.event_type.starts_with('$')
    }
}

/// The command id and metadata stored beside an event.
fn decode_event_meta(record: &RecordView<'_>) -> Result<(CommandId, EventMeta), RecordError> {
    if record.custom_metadata.is_empty() {
        return Err(RecordError::MissingMetadata);
    }
    let meta: EventMeta = serde_json::from_slice(record.custom_metadata).map_err(RecordError::BadMetadata)?;
    if meta.v > METADATA_FORMAT {
        return Err(RecordError::FormatTooNew { found: meta.v, current: METADATA_FORMAT });
    }
    let command = Uuid::parse_str(&meta.command).map_err(|_| RecordError::BadCommandId(meta.command.clone()))?;
    Ok((CommandId(command.as_u128()), meta))
}

/// The command that caused a record of `stream`: `Ok(None)` for a record the server wrote
/// (a `$` type without Showdown metadata), which readers skip.
///
/// # Errors
/// [`StoreError::Corrupt`] if the metadata is missing or malformed.
pub fn decode_command(stream: &StreamId, record: &RecordView<'_>) -> Result<Option<CommandId>, StoreError> {
    match decode_event_meta(record) {
        Ok((command, _)) => Ok(Some(command)),
        Err(_) if record.is_system() => Ok(None),
        Err(e) => Err(corrupt(stream, record.revision, e)),
    }
}

/// The stored event a record of `stream` holds: `Ok(None)` for a record the server wrote
/// (a `$` type without Showdown metadata), which readers skip.
///
/// # Errors
/// [`StoreError::Corrupt`] if the metadata is missing or malformed, or the server gave no
/// `$all` position.
pub fn decode_event(stream: &StreamId, record: &RecordView<'_>) -> Result<Option<StoredEvent>, StoreError> {
    let (command, meta) = match decode_event_meta(record) {
        Ok(decoded) => decoded,
        Err(_) if record.is_system() => return Ok(None),
        Err(e) => return Err(corrupt(stream, record.revision, e)),
    };
    let position =
        global_position(record.position).ok_or_else(|| corrupt(stream, record.revision, RecordError::NoPosition))?;
    Ok(Some(StoredEvent {
        stream: stream.clone(),
        version: StreamVersion(record.revision),
        position,
        event_id: event_id(record.id),
        command,
        schema: meta.schema,
        event_type: record.event_type.to_owned(),
        payload: record.data.to_vec(),
        metadata: meta.metadata,
    }))
}

/// The snapshot a snapshot record holds.
///
/// # Errors
/// [`RecordError`] if it is not a snapshot record or its metadata is malformed.
pub fn decode_snapshot(record: &RecordView<'_>) -> Result<Snapshot, RecordError> {
    if record.event_type != SNAPSHOT_EVENT_TYPE {
        return Err(RecordError::NotASnapshot(record.event_type.to_owned()));
    }
    if record.custom_metadata.is_empty() {
        return Err(RecordError::MissingMetadata);
    }
    let meta: SnapshotMeta = serde_json::from_slice(record.custom_metadata).map_err(RecordError::BadMetadata)?;
    if meta.v > METADATA_FORMAT {
        return Err(RecordError::FormatTooNew { found: meta.v, current: METADATA_FORMAT });
    }
    Ok(Snapshot { version: StreamVersion(meta.version), schema: meta.schema, payload: record.data.to_vec() })
}

/// A corrupt record of `stream` at `revision`.
#[must_use]
pub fn corrupt(stream: &StreamId, revision: u64, error: RecordError) -> StoreError {
    StoreError::Corrupt { stream: stream.clone(), version: StreamVersion(revision), source: Box::new(error) }
}

#[cfg(test)]
mod tests {
    use showdown_store::ErrorKind;

    use super::*;

    #[test]
    fn expected_versions_map_one_to_one() {
        let cases = [
            (ExpectedVersion::NoStream, StreamState::NoStream),
            (ExpectedVersion::Exact(StreamVersion(0)), StreamState::StreamRevision(0)),
            (ExpectedVersion::Exact(StreamVersion(41)), StreamState::StreamRevision(41)),
            (ExpectedVersion::Exact(StreamVersion(u64::MAX)), StreamState::StreamRevision(u64::MAX)),
            (ExpectedVersion::Any, StreamState::Any),
        ];
        for (ours, theirs) in cases {
            assert_eq!(expected_revision(ours), theirs);
            assert_eq!(expected_version(theirs), Some(ours), "the mapping is one-to-one");
        }
        assert_eq!(expected_version(StreamState::StreamExists), None, "StreamExists has no Showdown meaning");
    }

    #[test]
    fn actual_versions_map_both_ways() {
        let cases = [
            (CurrentRevision::NoStream, None),
            (CurrentRevision::Current(0), Some(StreamVersion(0))),
            (CurrentRevision::Current(9), Some(StreamVersion(9))),
        ];
        for (theirs, ours) in cases {
            assert_eq!(actual_version(theirs), ours);
            assert_eq!(current_revision(ours), theirs);
        }
    }

    #[test]
    fn wrong_expected_version_is_a_conflict_with_the_actual_version() {
        let stream = StreamId::new("t-1").expect("valid");
        let e = wrong_expected_version(&stream, ExpectedVersion::NoStream, CurrentRevision::Current(4));
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert!(matches!(
            e,
            StoreError::WrongExpectedVersion {
                expected: ExpectedVersion::NoStream,
                actual: Some(StreamVersion(4)),
                ..
            }
        ));
        let e = wrong_expected_version(&stream, ExpectedVersion::Exact(StreamVersion(0)), CurrentRevision::NoStream);
        assert!(matches!(e, StoreError::WrongExpectedVersion { actual: None, .. }));
        assert_eq!(e.to_string(), "t-1: expected version 0, but the stream is at no stream");
    }

    #[test]
    fn client_errors_are_unavailable_naming_the_location() {
        let e = unavailable("esdb://db:2113?tls=false", kurrentdb::Error::DeadlineExceeded);
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert_eq!(e.to_string(), "the store at esdb://db:2113?tls=false is unavailable");
        let source = std::error::Error::source(&e).expect("the client's error is the source");
        assert_eq!(source.to_string(), "Deadline exceeded");
    }

    #[test]
    fn positions_double_and_every_handed_out_position_reads_from_a_boundary() {
        for commit in [0u64, 1, 1234, (1 << 63) - 1] {
            let at = global_position(Position { commit, prepare: commit }).expect("a real position");
            assert_eq!(at, GlobalPosition(commit * 2));
            // From the event itself, and from just after it: both start at its own position.
            assert_eq!(read_start(at), Position { commit, prepare: commit });
            assert_eq!(read_start(at.next()), Position { commit, prepare: commit });
            assert!(is_at_or_after(at, at), "a read from an event's position returns it");
            assert!(!is_at_or_after(at, at.next()), "a read from just after it does not");
        }
        assert_eq!(read_start(GlobalPosition::START), Position::start());
        assert_eq!(global_position(Position::end()), None, "the client's `no position`");
        assert_eq!(global_position(Position { commit: 1 << 63, prepare: 0 }), None);
        // Order is kept.
        let a = global_position(Position { commit: 100, prepare: 100 }).expect("position");
        let b = global_position(Position { commit: 101, prepare: 101 }).expect("position");
        assert!(a < a.next() && a.next() < b);
    }

    #[test]
    fn ids_are_the_same_128_bits() {
        for raw in [0u128, 1, u128::MAX, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210] {
            assert_eq!(event_id(event_uuid(EventId(raw))), EventId(raw));
            assert_eq!(command_uuid(CommandId(raw)).as_u128(), raw);
        }
        assert_eq!(command_uuid(CommandId(42)).to_string(), "00000000-0000-0000-0000-00000000002a");
    }

    fn sample_event() -> NewEvent {
        let mut metadata = Metadata::new();
        metadata.insert("host".to_owned(), "dealer-1".to_owned());
        metadata.insert("correlation".to_owned(), "ünïcödé ✓ \"quoted\"".to_owned());
        NewEvent {
            event_id: EventId(u128::MAX - 3),
            schema: 7,
            event_type: "HandStarted".to_owned(),
            payload: (0..=255).collect(),
            metadata,
        }
    }

    fn view<'a>(stream: &'a str, e: &'a EncodedEvent, revision: u64, commit: u64) -> RecordView<'a> {
        RecordView {
            stream,
            id: e.id.expect("events carry their id"),
            revision,
            event_type: &e.event_type,
            data: &e.data,
            custom_metadata: &e.metadata,
            position: Position { commit, prepare: commit },
        }
    }

    #[test]
    fn events_round_trip_with_ids_command_schema_and_metadata() {
        let stream = StreamId::new("table-1").expect("valid");
        let command = CommandId(u128::MAX - 7);
        for event in
            [sample_event(), NewEvent { payload: Vec::new(), metadata: Metadata::new(), schema: 0, ..sample_event() }]
        {
            let encoded = encode_event(command, &event);
            assert_eq!(encoded.id, Some(Uuid::from_u128(event.event_id.0)));
            assert_eq!(encoded.event_type, event.event_type);
            assert_eq!(&encoded.data[..], &event.payload[..], "the payload is stored as is, as binary data");
            let stored = decode_event(&stream, &view("showdown-table-1", &encoded, 5, 4096))
                .expect("decodes")
                .expect("not a system record");
            assert_eq!(stored.to_new_event(), event);
            assert_eq!(stored.command, command);
            assert_eq!(stored.stream, stream);
            assert_eq!(stored.version, StreamVersion(5));
            assert_eq!(stored.position, GlobalPosition(8192));
        }
    }

    #[test]
    fn the_metadata_format_is_pinned() {
        let mut event = sample_event();
        event.metadata = Metadata::from([("k".to_owned(), "v".to_owned())]);
        let encoded = encode_event(CommandId(42), &event);
        assert_eq!(
            std::str::from_utf8(&encoded.metadata).expect("JSON is UTF-8"),
            r#"{"v":1,"command":"00000000-0000-0000-0000-00000000002a","schema":7,"metadata":{"k":"v"}}"#
        );
    }

    #[test]
    fn event_data_carries_id_type_binary_content_and_metadata() {
        let encoded = encode_event(CommandId(1), &sample_event());
        let id = encoded.id.expect("id");
        // The client's EventData hides its fields; its Debug form shows them.
        let shown = format!("{:?}", encoded.into_event_data());
        assert!(shown.contains(&id.to_string()), "{shown}");
        assert!(shown.contains("HandStarted") && shown.contains("application/octet-stream"), "{shown}");
        assert!(shown.contains("custom_metadata: Some("), "{shown}");
    }

    #[test]
    fn bad_records_are_corrupt_and_server_records_are_skipped() {
        let stream = StreamId::new("table-1").expect("valid");
        let good = encode_event(CommandId(9), &sample_event());
        let cases: [(&[u8], &str); 6] = [
            (b"", "the record has no Showdown metadata"),
            (b"not json", "the record's metadata is not Showdown's JSON"),
            (br#"{"v":1,"schema":1}"#, "the record's metadata is not Showdown's JSON"),
            (br#"{"v":1,"command":"42","schema":1}"#, "the command id `42` is not a UUID"),
            (
                br#"{"v":1,"command":"00000000-0000-0000-0000-00000000002a","schema":70000}"#,
                "the record's metadata is not Showdown's JSON",
            ),
            (
                br#"{"v":2,"command":"00000000-0000-0000-0000-00000000002a","schema":1}"#,
                "metadata format 2 is newer than this code's 1",
            ),
        ];
        for (metadata, why) in cases {
            let record = RecordView { custom_metadata: metadata, ..view("showdown-table-1", &good, 3, 10) };
            match decode_event(&stream, &record) {
                Err(e @ StoreError::Corrupt { version: StreamVersion(3), .. }) => {
                    assert_eq!(e.kind(), ErrorKind::Corrupt);
                    assert_eq!(e.to_string(), "table-1 at version 3: the stored event is corrupt");
                    let source = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default();
                    assert_eq!(source, why, "{:?}", String::from_utf8_lossy(metadata));
                }
                other => panic!("{:?}: expected Corrupt, got {other:?}", String::from_utf8_lossy(metadata)),
            }
            assert!(decode_command(&stream, &record).is_err());
            // The same bytes under a `$` type are the server's, not ours: skipped.
            let system = RecordView { event_type: "$streamDeleted", ..record };
            assert!(matches!(decode_event(&stream, &system), Ok(None)));
            assert!(matches!(decode_command(&stream, &system), Ok(None)));
        }
        // A record with no $all position (EventStoreDB before 22.6).
        let no_position = RecordView { position: Position::end(), ..view("showdown-table-1", &good, 0, 0) };
        let e = decode_event(&stream, &no_position).expect_err("no position");
        assert!(std::error::Error::source(&e).is_some_and(|s| s.to_string().contains("22.6")));
        assert_eq!(decode_command(&stream, &no_position).expect("the command needs no position"), Some(CommandId(9)));
    }

    #[test]
    fn snapshots_round_trip() {
        for snapshot in [
            Snapshot { version: StreamVersion(0), schema: 0, payload: Vec::new() },
            Snapshot { version: StreamVersion(u64::MAX), schema: u16::MAX, payload: (0..=255).collect() },
        ] {
            let encoded = encode_snapshot(&snapshot);
            assert_eq!(encoded.id, None);
            assert_eq!(encoded.event_type, SNAPSHOT_EVENT_TYPE);
            let record = RecordView {
                stream: "showdown_snapshots-t",
                id: Uuid::nil(),
                revision: 3,
                event_type: &encoded.event_type,
                data: &encoded.data,
                custom_metadata: &encoded.metadata,
                position: Position::end(),
            };
            assert_eq!(decode_snapshot(&record).expect("decodes"), snapshot);
            assert!(matches!(
                decode_snapshot(&RecordView { event_type: "Other", ..record }),
                Err(RecordError::NotASnapshot(_))
            ));
            assert!(matches!(
                decode_snapshot(&RecordView { custom_metadata: b"{}", ..record }),
                Err(RecordError::BadMetadata(_))
            ));
        }
    }
}
