//! Rows back into the store's types. A row that breaks the schema's rules (edited by hand,
//! or written by a faulty writer) gives [`StoreError::Corrupt`] naming its stream and
//! version, never a panic.

use showdown_engine::table::CommandId;
use showdown_store::{
    BoxError, EventId, MAX_STREAM_ID_LEN, Metadata, Snapshot, StoreError, StoredEvent, StreamId, StreamVersion,
};
use sqlx::Row;
use sqlx::postgres::PgRow;

/// A stream id read from the database, or, if it is not a valid one, the closest valid
/// name, to name the stream in an error.
fn stream_id(raw: &str) -> Result<StreamId, StreamId> {
    StreamId::new(raw).map_err(|_| {
        let cleaned: String =
            raw.chars().map(|c| if c.is_ascii_graphic() { c } else { '?' }).take(MAX_STREAM_ID_LEN).collect();
        StreamId::new(cleaned).unwrap_or_else(|_| StreamId::new("?").expect("\"?\" is a valid stream id"))
    })
}

fn corrupt(stream: &StreamId, version: StreamVersion, what: impl Into<BoxError>) -> StoreError {
    StoreError::Corrupt { stream: stream.clone(), version, source: what.into() }
}

/// A 16-byte big-endian integer.
fn u128_of(bytes: &[u8]) -> Option<u128> {
    <[u8; 16]>::try_from(bytes).ok().map(u128::from_be_bytes)
}

/// Decodes a row of `stream_id, version, position, uuid_send(event_id), command_id, schema,
/// event_type, payload, metadata::text`.
pub(crate) fn stored_event(row: &PgRow) -> Result<StoredEvent, StoreError> {
    let unknown = || StreamId::new("?").expect("\"?\" is a valid stream id");
    let raw_stream: String = row.try_get(0).map_err(|e| corrupt(&unknown(), StreamVersion(0), e))?;
    let stream = match stream_id(&raw_stream) {
        Ok(s) => s,
        Err(named) => return Err(corrupt(&named, StreamVersion(0), format!("invalid stream id {raw_stream:?}"))),
    };
    let raw_version: i64 = row.try_get(1).map_err(|e| corrupt(&stream, StreamVersion(0), e))?;
    let Ok(version) = u64::try_from(raw_version).map(StreamVersion) else {
        return Err(corrupt(&stream, StreamVersion(0), format!("negative version {raw_version}")));
    };
    let bad = |what: &dyn Fn() -> String| corrupt(&stream, version, what());
    let position: i64 = row.try_get(2).map_err(|e| corrupt(&stream, version, e))?;
    let position = u64::try_from(position).map_err(|_| bad(&|| format!("negative position {position}")))?;
    let event_id: Vec<u8> = row.try_get(3).map_err(|e| corrupt(&stream, version, e))?;
    let event_id = u128_of(&event_id).ok_or_else(|| bad(&|| format!("the event id has {} bytes", event_id.len())))?;
    let command: Vec<u8> = row.try_get(4).map_err(|e| corrupt(&stream, version, e))?;
    let command = u128_of(&command).ok_or_else(|| bad(&|| format!("the command id has {} bytes", command.len())))?;
    let schema: i32 = row.try_get(5).map_err(|e| corrupt(&stream, version, e))?;
    let schema = u16::try_from(schema).map_err(|_| bad(&|| format!("schema version {schema} is not a u16")))?;
    let event_type: String = row.try_get(6).map_err(|e| corrupt(&stream, version, e))?;
    let payload: Vec<u8> = row.try_get(7).map_err(|e| corrupt(&stream, version, e))?;
    let metadata: String = row.try_get(8).map_err(|e| corrupt(&stream, version, e))?;
    let metadata: Metadata = serde_json::from_str(&metadata)
        .map_err(|e| corrupt(&stream, version, format!("the metadata is not an object of strings: {e}")))?;
    Ok(StoredEvent {
        stream,
        version,
        position: showdown_store::GlobalPosition(position),
        event_id: EventId(event_id),
        command: CommandId(command),
        schema,
        event_type,
        payload,
        metadata,
    })
}

/// Decodes a row of `version, schema, payload` from `snapshots`.
pub(crate) fn snapshot(row: &PgRow, stream: &StreamId) -> Result<Snapshot, StoreError> {
    let raw_version: i64 = row.try_get(0).map_err(|e| corrupt(stream, StreamVersion(0), e))?;
    let Ok(version) = u64::try_from(raw_version).map(StreamVersion) else {
        return Err(corrupt(stream, StreamVersion(0), format!("the snapshot's version {raw_version} is negative")));
    };
    let schema: i32 = row.try_get(1).map_err(|e| corrupt(stream, version, e))?;
    let schema = u16::try_from(schema)
        .map_err(|_| corrupt(stream, version, format!("the snapshot's schema version {schema} is not a u16")))?;
    let payload: Vec<u8> = row.try_get(2).map_err(|e| corrupt(stream, version, e))?;
    Ok(Snapshot { version, schema, payload })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_stream_names_are_named_closely() {
        assert_eq!(stream_id("table-1").ok().map(String::from), Some("table-1".to_owned()));
        assert_eq!(stream_id("bad name\n").err().map(String::from), Some("bad?name?".to_owned()));
        assert_eq!(stream_id("").err().map(String::from), Some("?".to_owned()));
    }

    #[test]
    fn ids_are_sixteen_bytes() {
        assert_eq!(u128_of(&[0; 3]), None);
        assert_eq!(u128_of(&1u128.to_be_bytes()), Some(1));
    }
}
