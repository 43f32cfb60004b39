//! One request at a time, inside the group's transaction: the checks of an append (empty,
//! command id, expected version) and its insert under a savepoint, and the snapshot
//! upsert. The writer uses this path when a group's bulk insert (`crate::group`) hits a
//! constraint, and the group path reuses its checks.

use showdown_store::{
    AppendRequest, Appended, BoxError, CommandId, GlobalPosition, NewEvent, Snapshot, StoreError, StoredEvent,
    StreamId, StreamVersion,
};
use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

use crate::group::{self, Accepted};
use crate::rows::{self, BadRecord, event_columns};

/// The inner result is the request's own; the outer error aborts the group.
pub(crate) type Step<T> = Result<Result<T, StoreError>, sqlx::Error>;

/// A command's stored result, as read from `commands`.
pub(crate) struct CommandRow {
    pub first_version: i64,
    pub last_version: i64,
    pub first_position: i64,
    pub last_position: i64,
}

impl CommandRow {
    /// The result the command's append reported (`deduplicated` set, as for a retry).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if a stored number is negative.
    pub(crate) fn appended(&self, stream: &StreamId, command: CommandId) -> Result<Appended, StoreError> {
        let (Some(first_version), Some(last_version), Some(first_position), Some(last_position)) = (
            rows::from_sql(self.first_version),
            rows::from_sql(self.last_version),
            rows::from_sql(self.first_position),
            rows::from_sql(self.last_position),
        ) else {
            let problem = format!(
                "command {}: a negative version or position ({}..={}, {}..={})",
                command.0, self.first_version, self.last_version, self.first_position, self.last_position
            );
            return Err(StoreError::Corrupt {
                stream: stream.clone(),
                version: StreamVersion(rows::from_sql(self.first_version).unwrap_or(0)),
                source: Box::new(BadRecord { table: "commands", position: None, column: "first_version", problem }),
            });
        };
        Ok(Appended {
            first_version: StreamVersion(first_version),
            last_version: StreamVersion(last_version),
            first_position: GlobalPosition(first_position),
            last_position: GlobalPosition(last_position),
            deduplicated: true,
        })
    }
}

/// What the checks read: the stream's last version and the command's earlier append.
struct Checked {
    head: Option<i64>,
    command: Option<CommandRow>,
}

const CHECK_SQL: &str = "SELECT (SELECT MAX(version) FROM events WHERE stream_id = ?), \
     c.first_version, c.last_version, c.first_position, c.last_position \
     FROM (SELECT 1) LEFT JOIN commands AS c ON c.stream_id = ? AND c.command_id = ?";

async fn check(conn: &mut SqliteConnection, request: &AppendRequest) -> Result<Checked, sqlx::Error> {
    let stream = request.stream.as_str();
    let command = rows::id_to_blob(request.command.0);
    let row = sqlx::query(CHECK_SQL).bind(stream).bind(stream).bind(&command[..]).fetch_one(&mut *conn).await?;
    let head: Option<i64> = row.try_get(0)?;
    let first_version: Option<i64> = row.try_get(1)?;
    let command = match first_version {
        None => None,
        Some(first_version) => Some(CommandRow {
            first_version,
            last_version: row.try_get(2)?,
            first_position: row.try_get(3)?,
            last_position: row.try_get(4)?,
        }),
    };
    Ok(Checked { head, command })
}

/// The stream's last version as a [`StreamVersion`], or the corruption that prevents it.
pub(crate) fn head_version(stream: &StreamId, head: Option<i64>) -> Result<Option<StreamVersion>, StoreError> {
    match head {
        None => Ok(None),
        Some(v) => rows::from_sql(v).map(|v| Some(StreamVersion(v))).ok_or_else(|| StoreError::Corrupt {
            stream: stream.clone(),
            version: StreamVersion::FIRST,
            source: Box::new(BadRecord {
                table: "events",
                position: None,
                column: "version",
                problem: format!("the stream's highest version is {v}"),
            }),
        }),
    }
}

/// An append that passed its checks: where its events go, and their metadata encoded.
pub(crate) struct Prepared {
    /// The version of its first event.
    pub first: u64,
    /// Each event's metadata as stored.
    pub metadata: Vec<String>,
}

/// The checks after the command id's: the expected version against the stream's last
/// version `actual`, then whether the events fit (versions within `i64`, metadata
/// encodable).
pub(crate) fn prepare(
    request: &AppendRequest,
    actual: Option<StreamVersion>,
    location: &str,
) -> Result<Prepared, StoreError> {
    if !request.expected.matches(actual) {
        return Err(StoreError::WrongExpectedVersion {
            stream: request.stream.clone(),
            expected: request.expected,
            actual,
        });
    }
    let first = actual.map_or(0, |v| v.0 + 1);
    let fits = u64::try_from(request.events.len())
        .ok()
        .and_then(|n| first.checked_add(n.saturating_sub(1)))
        .and_then(rows::to_sql)
        .is_some();
    if !fits {
        return Err(StoreError::Unavailable {
            location: location.to_owned(),
            source: BoxError::from(format!(
                "{}: the stream's versions would pass i64::MAX, SQLite's largest integer",
                request.stream
            )),
        });
    }
    let metadata = request
        .events
        .iter()
        .map(|e| rows::metadata_to_json(&e.metadata))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::Unavailable { location: location.to_owned(), source: Box::new(e) })?;
    Ok(Prepared { first, metadata })
}

/// One append, checked and stored under a savepoint inside the group's transaction.
pub(crate) async fn append(conn: &mut SqliteConnection, request: &AppendRequest, location: &str) -> Step<Appended> {
    if request.events.is_empty() {
        return Ok(Err(StoreError::EmptyAppend));
    }
    let checked = check(conn, request).await?;
    // The command check comes first: a retry carries the expectation of its first try,
    // which that try made stale.
    if let Some(done) = checked.command {
        return compare_retry(conn, request, &done).await;
    }
    let actual = match head_version(&request.stream, checked.head) {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let Prepared { first, metadata } = match prepare(request, actual, location) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    sqlx::query("SAVEPOINT append").execute(&mut *conn).await?;
    let accepted = [Accepted { request, prepared: Prepared { first, metadata } }];
    match group::insert(conn, &accepted).await {
        Ok(appended) => {
            sqlx::query("RELEASE append").execute(&mut *conn).await?;
            match appended.first() {
                Some(&a) => Ok(Ok(a)),
                None => Err(sqlx::Error::Protocol("an insert returned no result".to_owned())),
            }
        }
        Err(e) if is_constraint(&e) => {
            sqlx::query("ROLLBACK TO append").execute(&mut *conn).await?;
            sqlx::query("RELEASE append").execute(&mut *conn).await?;
            after_constraint(conn, request, location, e).await
        }
        Err(e) => Err(e),
    }
}

pub(crate) fn is_constraint(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if !matches!(db.kind(), sqlx::error::ErrorKind::Other))
}

/// Explains a constraint violation the checks did not foresee (another process wrote in
/// between, which `BEGIN IMMEDIATE` rules out, or a bug): re-read, and answer as the checks
/// would have.
async fn after_constraint(
    conn: &mut SqliteConnection,
    request: &AppendRequest,
    location: &str,
    e: sqlx::Error,
) -> Step<Appended> {
    let checked = check(conn, request).await?;
    if let Some(done) = checked.command {
        return compare_retry(conn, request, &done).await;
    }
    let actual = match head_version(&request.stream, checked.head) {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    if !request.expected.matches(actual) || is_version_clash(&e) {
        return Ok(Err(StoreError::WrongExpectedVersion {
            stream: request.stream.clone(),
            expected: request.expected,
            actual,
        }));
    }
    Ok(Err(StoreError::Unavailable { location: location.to_owned(), source: crate::error::driver(e) }))
}

/// Whether `e` is the `UNIQUE (stream_id, version)` constraint of `events`.
fn is_version_clash(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation() && db.message().contains("events.stream_id"))
}

/// A command already appended to the stream: the same events give the first result back,
/// others are a conflict.
pub(crate) async fn compare_retry(
    conn: &mut SqliteConnection,
    request: &AppendRequest,
    done: &CommandRow,
) -> Step<Appended> {
    let stream = &request.stream;
    let appended = match done.appended(stream, request.command) {
        Ok(appended) => appended,
        Err(e) => return Ok(Err(e)),
    };
    let (first_version, last_version) = (appended.first_version.0, appended.last_version.0);
    let conflict = || StoreError::CommandConflict {
        stream: stream.clone(),
        command: request.command,
        first_version: appended.first_version,
    };
    let count = last_version.saturating_sub(first_version).saturating_add(1);
    if usize::try_from(count).ok() != Some(request.events.len()) {
        return Ok(Err(conflict()));
    }
    let stored = sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        " FROM events WHERE stream_id = ? AND version BETWEEN ? AND ? ORDER BY version"
    ))
    .bind(stream.as_str())
    .bind(done.first_version)
    .bind(done.last_version)
    .fetch_all(&mut *conn)
    .await?;
    let mut expected_version = first_version;
    let mut same = stored.len() == request.events.len();
    for (row, new) in stored.iter().zip(&request.events) {
        let event = match rows::decode_event(row) {
            Ok(e) => e,
            Err(bad) => return Ok(Err(bad.into_error(Some(stream), Some(expected_version)))),
        };
        if event.version.0 != expected_version {
            return Ok(Err(missing(stream, expected_version, &event)));
        }
        expected_version += 1;
        same &= same_event(&event, new) && event.command == request.command;
    }
    if stored.len() < request.events.len() {
        return Ok(Err(StoreError::Corrupt {
            stream: stream.clone(),
            version: StreamVersion(expected_version),
            source: Box::new(BadRecord {
                table: "events",
                position: None,
                column: "version",
                problem: format!("command {} lists this version, but no event has it", request.command.0),
            }),
        }));
    }
    Ok(if same { Ok(appended) } else { Err(conflict()) })
}

/// A gap: `event` came where `version` should be.
pub(crate) fn missing(stream: &StreamId, version: u64, event: &StoredEvent) -> StoreError {
    StoreError::Corrupt {
        stream: stream.clone(),
        version: StreamVersion(version),
        source: Box::new(BadRecord {
            table: "events",
            position: Some(i64::try_from(event.position.0).unwrap_or(i64::MAX)),
            column: "version",
            problem: format!("no event has version {version}: the next one has {}", event.version.0),
        }),
    }
}

/// Whether a stored event is the one a request appends (the fields a writer gives).
pub(crate) fn same_event(stored: &StoredEvent, new: &NewEvent) -> bool {
    stored.event_id == new.event_id
        && stored.schema == new.schema
        && stored.event_type == new.event_type
        && stored.payload == new.payload
        && stored.metadata == new.metadata
}

/// Stores `snapshot` unless the stored one is as new; refuses one past the stream's end.
pub(crate) async fn save_snapshot(conn: &mut SqliteConnection, stream: &StreamId, snapshot: &Snapshot) -> Step<()> {
    let head: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM events WHERE stream_id = ?")
        .bind(stream.as_str())
        .fetch_one(&mut *conn)
        .await?;
    let actual = match head_version(stream, head) {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let version = match rows::to_sql(snapshot.version.0) {
        Some(v) if actual.is_some_and(|a| snapshot.version <= a) => v,
        _ => return Ok(Err(StoreError::SnapshotAhead { stream: stream.clone(), version: snapshot.version, actual })),
    };
    upsert_snapshot(conn, stream, version, snapshot).await?;
    Ok(Ok(()))
}

/// Stores `snapshot` (whose version is `version`, checked) unless the stored one is as new.
pub(crate) async fn upsert_snapshot(
    conn: &mut SqliteConnection,
    stream: &StreamId,
    version: i64,
    snapshot: &Snapshot,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO snapshots (stream_id, version, schema, payload) VALUES (?, ?, ?, ?) \
         ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, schema = excluded.schema, \
         payload = excluded.payload WHERE excluded.version > snapshots.version",
    )
    .bind(stream.as_str())
    .bind(version)
    .bind(i64::from(snapshot.schema))
    .bind(snapshot.payload.as_slice())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
