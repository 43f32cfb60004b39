//! How the stored shapes map to SQLite columns and back, and what "corrupt" means here.
//!
//! - ids (`EventId`, `CommandId`, both `u128`) are 16-byte **big-endian** blobs, so that
//!   byte order is numeric order when a human sorts them in the `sqlite3` shell;
//! - versions and positions are `u64` in Rust and `INTEGER` (`i64`) in SQLite: writing one
//!   above `i64::MAX` is refused, and reading a negative one is [`StoreError::Corrupt`];
//! - `schema` is a `u16` in an `INTEGER` column (out of range on read: corrupt);
//! - metadata is a JSON object of strings in a `TEXT` column (`{}` when empty), readable
//!   with SQLite's `json_extract`; its keys are sorted (a `BTreeMap`), so an event encodes
//!   the same way every time.
//!
//! Decoding never panics: every column of a row read back is checked, and a bad one becomes
//! a [`StoreError::Corrupt`] naming the stream, the version and, in its source, the column
//! and the global position of the row.

use std::fmt;

use showdown_store::{
    CommandId, EventId, GlobalPosition, MAX_STREAM_ID_LEN, Metadata, StoreError, StoredEvent, StreamId, StreamVersion,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

/// The columns every event query selects, in the order [`decode_event`] reads them (a
/// macro, so that queries are `concat!`ed into `&'static str`s).
macro_rules! event_columns {
    () => {
        "position, stream_id, version, event_id, command_id, schema, event_type, payload, metadata"
    };
}
pub(crate) use event_columns;

/// A `u128` id as it is stored.
pub(crate) const fn id_to_blob(id: u128) -> [u8; 16] {
    id.to_be_bytes()
}

/// A `u64` as an SQLite integer, if it fits.
pub(crate) fn to_sql(n: u64) -> Option<i64> {
    i64::try_from(n).ok()
}

/// An SQLite integer as a `u64` version or position, if it is one.
pub(crate) fn from_sql(n: i64) -> Option<u64> {
    u64::try_from(n).ok()
}

/// Metadata as stored.
pub(crate) fn metadata_to_json(metadata: &Metadata) -> Result<String, serde_json::Error> {
    serde_json::to_string(metadata)
}

/// What is wrong with a stored row: the source of a [`StoreError::Corrupt`].
#[derive(Debug)]
pub(crate) struct BadRecord {
    /// The table.
    pub table: &'static str,
    /// The row's global position (`events` only), if it could be read.
    pub position: Option<i64>,
    /// The column at fault.
    pub column: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.table, self.column)?;
        if let Some(p) = self.position {
            write!(f, " (row at position {p})")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for BadRecord {}

/// A row of `events` that does not decode, with what is known of where it is.
#[derive(Debug)]
pub(crate) struct Undecodable {
    /// The row's `stream_id` as stored (possibly not a valid [`StreamId`]).
    pub stream: Option<String>,
    /// The row's version, if that column is readable.
    pub version: Option<u64>,
    /// What is wrong.
    pub error: BadRecord,
}

impl Undecodable {
    /// The error to report, given the stream the caller asked for (if any) and the version
    /// to name when the row's own is unreadable (`place`: the row's place in its stream).
    pub(crate) fn into_error(self, asked: Option<&StreamId>, place: Option<u64>) -> StoreError {
        let stream = match (asked, self.stream.as_deref()) {
            (Some(s), _) => s.clone(),
            (None, Some(raw)) => lossy_stream_id(raw),
            (None, None) => lossy_stream_id(""),
        };
        let version = StreamVersion(self.version.or(place).unwrap_or(0));
        StoreError::Corrupt { stream, version, source: Box::new(self.error) }
    }
}

/// A [`StreamId`] to name a stored stream whose id is not a valid one: bytes that are not
/// printable ASCII become `?` (the error's source shows the stored value).
pub(crate) fn lossy_stream_id(raw: &str) -> StreamId {
    if let Ok(id) = StreamId::new(raw) {
        return id;
    }
    let mut name: String =
        raw.chars().map(|c| if c.is_ascii_graphic() { c } else { '?' }).take(MAX_STREAM_ID_LEN).collect();
    if name.is_empty() {
        name.push('?');
    }
    StreamId::new(name).expect("1 to MAX_STREAM_ID_LEN bytes of printable ASCII are a valid stream id")
}

/// Reads column `index` of `row` as `T`, or says why not.
fn column<'r, T>(row: &'r SqliteRow, index: usize, name: &'static str, position: Option<i64>) -> Result<T, BadRecord>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get::<T, _>(index).map_err(|e| BadRecord {
        table: "events",
        position,
        column: name,
        problem: format!("cannot read the value: {e}"),
    })
}

/// A 16-byte id blob as a `u128`.
pub(crate) fn blob_to_id(blob: &[u8]) -> Option<u128> {
    <[u8; 16]>::try_from(blob).ok().map(u128::from_be_bytes)
}

/// Decodes one row selected with [`event_columns`].
pub(crate) fn decode_event(row: &SqliteRow) -> Result<StoredEvent, Undecodable> {
    let mut stream_raw: Option<String> = None;
    let mut version: Option<u64> = None;
    let mut decode = || -> Result<StoredEvent, BadRecord> {
        let position_raw: i64 = column(row, 0, "position", None)?;
        let p = Some(position_raw);
        let bad = |column: &'static str, problem: String| BadRecord { table: "events", position: p, column, problem };
        let position = from_sql(position_raw)
            .ok_or_else(|| bad("position", format!("{position_raw} is negative, not a position")))?;
        let stream_str: &str = column(row, 1, "stream_id", p)?;
        stream_raw = Some(stream_str.to_owned());
        let version_raw: i64 = column(row, 2, "version", p)?;
        version = Some(
            from_sql(version_raw).ok_or_else(|| bad("version", format!("{version_raw} is negative, not a version")))?,
        );
        let stream = StreamId::new(stream_str).map_err(|e| bad("stream_id", format!("{stream_str:?}: {e}")))?;
        let event_id: &[u8] = column(row, 3, "event_id", p)?;
        let event_id =
            blob_to_id(event_id).ok_or_else(|| bad("event_id", format!("{} bytes, not 16", event_id.len())))?;
        let command: &[u8] = column(row, 4, "command_id", p)?;
        let command =
            blob_to_id(command).ok_or_else(|| bad("command_id", format!("{} bytes, not 16", command.len())))?;
        let schema: i64 = column(row, 5, "schema", p)?;
        let schema = u16::try_from(schema).map_err(|_| bad("schema", format!("{schema} is not a u16")))?;
        let event_type: String = column(row, 6, "event_type", p)?;
        let payload: Vec<u8> = column(row, 7, "payload", p)?;
        let metadata: &str = column(row, 8, "metadata", p)?;
        let metadata: Metadata = if metadata == "{}" {
            Metadata::new()
        } else {
            serde_json::from_str(metadata).map_err(|e| bad("metadata", format!("not a JSON object of strings: {e}")))?
        };
        Ok(StoredEvent {
            stream,
            version: StreamVersion(version.unwrap_or_default()),
            position: GlobalPosition(position),
            event_id: EventId(event_id),
            command: CommandId(command),
            schema,
            event_type,
            payload,
            metadata,
        })
    };
    let result = decode();
    result.map_err(|error| Undecodable { stream: stream_raw, version, error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_big_endian_and_round_trip() {
        let id = 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10_u128;
        let blob = id_to_blob(id);
        assert_eq!(blob[0], 0x01);
        assert_eq!(blob[15], 0x10);
        assert_eq!(blob_to_id(&blob), Some(id));
        assert_eq!(blob_to_id(&blob[..3]), None);
        assert_eq!(blob_to_id(&[0; 17]), None);
    }

    #[test]
    fn integers_fit_sqlite_or_are_refused() {
        assert_eq!(to_sql(i64::MAX as u64), Some(i64::MAX));
        assert_eq!(to_sql(i64::MAX as u64 + 1), None);
        assert_eq!(from_sql(-1), None);
        assert_eq!(from_sql(7), Some(7));
    }

    #[test]
    fn bad_stream_ids_are_named_readably() {
        assert_eq!(lossy_stream_id("table-1").as_str(), "table-1");
        assert_eq!(lossy_stream_id("a b\n").as_str(), "a?b?");
        assert_eq!(lossy_stream_id("").as_str(), "?");
        assert_eq!(lossy_stream_id(&"x".repeat(300)).as_str().len(), MAX_STREAM_ID_LEN);
    }

    #[test]
    fn metadata_is_a_sorted_json_object() {
        let mut m = Metadata::new();
        m.insert("z".to_owned(), "1".to_owned());
        m.insert("a".to_owned(), "ü".to_owned());
        assert_eq!(metadata_to_json(&m).ok().as_deref(), Some(r#"{"a":"ü","z":"1"}"#));
        assert_eq!(metadata_to_json(&Metadata::new()).ok().as_deref(), Some("{}"));
    }
}
