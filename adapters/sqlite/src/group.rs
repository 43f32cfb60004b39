//! The group path: every request of a group checked with one query, decided in queue order
//! in memory, and the accepted ones inserted with a few multi-row statements, so that a
//! group of sixteen appends costs about as many statements as one.
//!
//! The decisions are the same as one request at a time (`crate::request`): a request sees
//! the stream as the requests before it in the group left it (`heads`), and a command
//! appended earlier in the group is a retry of it (`appended_here`). Nothing is written
//! until every request is decided, so a check never reads a write of the same group.

use std::collections::HashMap;

use showdown_store::{AppendRequest, Appended, GlobalPosition, StoreError, StreamId, StreamVersion};
use sqlx::sqlite::SqliteConnection;
use sqlx::{AssertSqlSafe, Row};

use crate::request::{self, CommandRow, Prepared};
use crate::rows;
use crate::writer::{Committed, Job, Outcome};

/// Requests looked up per query (3 parameters each).
const PROBE_CHUNK: usize = 256;
/// Events inserted per statement (8 parameters each; SQLite allows 32,766).
const EVENT_CHUNK: usize = 256;
/// Command rows inserted per statement (6 parameters each).
const COMMAND_CHUNK: usize = 256;

/// Why the group path gave up; the transaction must be rolled back either way.
pub(crate) enum Failed {
    /// A constraint failed: run the group again one request at a time (where the same
    /// violation is met again and explained).
    Constraint,
    /// The driver failed: the group fails.
    Driver(sqlx::Error),
}

impl From<sqlx::Error> for Failed {
    fn from(e: sqlx::Error) -> Failed {
        if request::is_constraint(&e) { Failed::Constraint } else { Failed::Driver(e) }
    }
}

fn protocol(what: &str) -> Failed {
    Failed::Driver(sqlx::Error::Protocol(what.to_owned()))
}

/// An append that passed its checks.
pub(crate) struct Accepted<'a> {
    /// The request.
    pub request: &'a AppendRequest,
    /// Where its events go.
    pub prepared: Prepared,
}

impl Accepted<'_> {
    fn last(&self) -> u64 {
        self.prepared.first + self.request.events.len() as u64 - 1
    }
}

/// What a request of the group came to before the insert.
enum Slot {
    /// Decided: a check failed, or a retry of a command stored before.
    Done(Result<Appended, StoreError>),
    /// To insert: the index in the accepted list.
    New(usize),
    /// A retry of a command accepted earlier in the group.
    Again(usize),
}

enum Plan<'a> {
    Append(Vec<Slot>),
    Snapshot(Result<Option<(&'a StreamId, i64, &'a showdown_store::Snapshot)>, StoreError>),
}

/// What the lookup found for one request: the stream's last version and the command's
/// stored append, as of the start of the group.
struct Found {
    head: Option<i64>,
    command: Option<CommandRow>,
}

/// Runs the group in the open transaction `conn`.
pub(crate) async fn run(conn: &mut SqliteConnection, jobs: &[Job], location: &str) -> Result<Committed, Failed> {
    let mut probes: Vec<(&str, Option<[u8; 16]>)> = Vec::new();
    for job in jobs {
        match job {
            Job::Append { requests, .. } => probes.extend(
                requests
                    .iter()
                    .filter(|r| !r.events.is_empty())
                    .map(|r| (r.stream.as_str(), Some(rows::id_to_blob(r.command.0)))),
            ),
            Job::Snapshot { stream, .. } => probes.push((stream.as_str(), None)),
        }
    }
    let mut found = look_up(conn, &probes).await?.into_iter();

    let mut heads: HashMap<&str, Option<StreamVersion>> = HashMap::new();
    let mut appended_here: HashMap<(&str, u128), usize> = HashMap::new();
    let mut accepted: Vec<Accepted<'_>> = Vec::new();
    let mut plans = Vec::with_capacity(jobs.len());
    for job in jobs {
        match job {
            Job::Append { requests, .. } => {
                let mut slots = Vec::with_capacity(requests.len());
                for r in requests {
                    if r.events.is_empty() {
                        slots.push(Slot::Done(Err(StoreError::EmptyAppend)));
                        continue;
                    }
                    let f = found.next().ok_or_else(|| protocol("the lookup lost a request"))?;
                    // The command check comes first: a retry carries the expectation of its
                    // first try, which that try made stale.
                    let key = (r.stream.as_str(), r.command.0);
                    if let Some(&j) = appended_here.get(&key) {
                        let first: &Accepted<'_> = &accepted[j];
                        slots.push(if first.request.events == r.events {
                            Slot::Again(j)
                        } else {
                            Slot::Done(Err(StoreError::CommandConflict {
                                stream: r.stream.clone(),
                                command: r.command,
                                first_version: StreamVersion(first.prepared.first),
                            }))
                        });
                        continue;
                    }
                    if let Some(done) = &f.command {
                        slots.push(Slot::Done(request::compare_retry(conn, r, done).await?));
                        continue;
                    }
                    let actual = match current(&mut heads, &r.stream, f.head) {
                        Ok(v) => v,
                        Err(e) => {
                            slots.push(Slot::Done(Err(e)));
                            continue;
                        }
                    };
                    match request::prepare(r, actual, location) {
                        Err(e) => slots.push(Slot::Done(Err(e))),
                        Ok(prepared) => {
                            let a = Accepted { request: r, prepared };
                            heads.insert(r.stream.as_str(), Some(StreamVersion(a.last())));
                            appended_here.insert(key, accepted.len());
                            slots.push(Slot::New(accepted.len()));
                            accepted.push(a);
                        }
                    }
                }
                plans.push(Plan::Append(slots));
            }
            Job::Snapshot { stream, snapshot, .. } => {
                let f = found.next().ok_or_else(|| protocol("the lookup lost a snapshot"))?;
                plans.push(Plan::Snapshot(current(&mut heads, stream, f.head).and_then(|actual| {
                    match rows::to_sql(snapshot.version.0) {
                        Some(v) if actual.is_some_and(|a| snapshot.version <= a) => Ok(Some((stream, v, snapshot))),
                        _ => {
                            Err(StoreError::SnapshotAhead { stream: stream.clone(), version: snapshot.version, actual })
                        }
                    }
                })));
            }
        }
    }

    let appended = insert(conn, &accepted).await?;
    let mut outcomes = Vec::with_capacity(plans.len());
    for plan in plans {
        outcomes.push(match plan {
            Plan::Append(slots) => Outcome::Append(
                slots
                    .into_iter()
                    .map(|slot| match slot {
                        Slot::Done(result) => result,
                        Slot::New(j) => Ok(appended[j]),
                        Slot::Again(j) => Ok(Appended { deduplicated: true, ..appended[j] }),
                    })
                    .collect(),
            ),
            Plan::Snapshot(Ok(Some((stream, version, snapshot)))) => {
                request::upsert_snapshot(conn, stream, version, snapshot).await?;
                Outcome::Snapshot(Ok(()))
            }
            Plan::Snapshot(Ok(None)) => Outcome::Snapshot(Ok(())),
            Plan::Snapshot(Err(e)) => Outcome::Snapshot(Err(e)),
        });
    }
    let head = appended.iter().map(|a| a.last_position).max().map(GlobalPosition::next);
    Ok(Committed { outcomes, head })
}

/// The stream's last version as the group has left it so far.
fn current<'a>(
    heads: &mut HashMap<&'a str, Option<StreamVersion>>,
    stream: &'a StreamId,
    stored: Option<i64>,
) -> Result<Option<StreamVersion>, StoreError> {
    if let Some(&v) = heads.get(stream.as_str()) {
        return Ok(v);
    }
    let v = request::head_version(stream, stored)?;
    heads.insert(stream.as_str(), v);
    Ok(v)
}

/// Looks up each probe's stream head and (if it has one) command, in chunks.
async fn look_up(conn: &mut SqliteConnection, probes: &[(&str, Option<[u8; 16]>)]) -> Result<Vec<Found>, Failed> {
    let mut found: Vec<Option<Found>> = Vec::with_capacity(probes.len());
    found.resize_with(probes.len(), || None);
    for (c, chunk) in probes.chunks(PROBE_CHUNK).enumerate() {
        let mut sql = String::with_capacity(300 + chunk.len() * 11);
        sql.push_str(
            "SELECT p.column1, (SELECT MAX(version) FROM events WHERE stream_id = p.column2), \
             c.first_version, c.last_version, c.first_position, c.last_position FROM (VALUES ",
        );
        push_rows(&mut sql, chunk.len(), "(?, ?, ?)");
        sql.push_str(") AS p LEFT JOIN commands AS c ON c.stream_id = p.column2 AND c.command_id = p.column3");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (i, (stream, command)) in chunk.iter().enumerate() {
            let index = i64::try_from(c * PROBE_CHUNK + i).map_err(|_| protocol("too many requests"))?;
            query = query.bind(index).bind(*stream).bind(command.map(|c| c.to_vec()));
        }
        for row in query.fetch_all(&mut *conn).await? {
            let index: i64 = row.try_get(0)?;
            let slot = usize::try_from(index)
                .ok()
                .and_then(|i| found.get_mut(i))
                .ok_or_else(|| protocol("the lookup returned a row it was not asked for"))?;
            let command = match row.try_get::<Option<i64>, _>(2)? {
                None => None,
                Some(first_version) => Some(CommandRow {
                    first_version,
                    last_version: row.try_get(3)?,
                    first_position: row.try_get(4)?,
                    last_position: row.try_get(5)?,
                }),
            };
            *slot = Some(Found { head: row.try_get(1)?, command });
        }
    }
    found.into_iter().map(|f| f.ok_or_else(|| protocol("the lookup missed a request"))).collect()
}

fn push_rows(sql: &mut String, n: usize, row: &str) {
    for i in 0..n {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(row);
    }
}

/// Inserts the events and the command rows of `accepted`, in order, and says where each
/// went.
pub(crate) async fn insert(
    conn: &mut SqliteConnection,
    accepted: &[Accepted<'_>],
) -> Result<Vec<Appended>, sqlx::Error> {
    if accepted.is_empty() {
        return Ok(Vec::new());
    }
    let protocol = |what: &str| sqlx::Error::Protocol(what.to_owned());
    let to_sql = |n: u64| rows::to_sql(n).ok_or_else(|| protocol("a version past i64::MAX"));
    // Which append each (stream, version) belongs to, to place the positions SQLite returns
    // (in an order it does not promise).
    let mut owner: HashMap<(&str, i64), usize> = HashMap::new();
    let mut events = Vec::new();
    for (a, acc) in accepted.iter().enumerate() {
        for (i, (e, metadata)) in acc.request.events.iter().zip(&acc.prepared.metadata).enumerate() {
            let version = to_sql(acc.prepared.first + i as u64)?;
            owner.insert((acc.request.stream.as_str(), version), a);
            events.push((acc, version, e, metadata));
        }
    }
    let mut span = vec![(i64::MAX, i64::MIN); accepted.len()];
    for chunk in events.chunks(EVENT_CHUNK) {
        let mut sql = String::with_capacity(160 + chunk.len() * 26);
        sql.push_str(
            "INSERT INTO events (stream_id, version, event_id, command_id, schema, event_type, payload, metadata) \
             VALUES ",
        );
        push_rows(&mut sql, chunk.len(), "(?, ?, ?, ?, ?, ?, ?, ?)");
        sql.push_str(" RETURNING position, stream_id, version");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for &(acc, version, e, metadata) in chunk {
            query = query
                .bind(acc.request.stream.as_str())
                .bind(version)
                .bind(rows::id_to_blob(e.event_id.0).to_vec())
                .bind(rows::id_to_blob(acc.request.command.0).to_vec())
                .bind(i64::from(e.schema))
                .bind(e.event_type.as_str())
                .bind(e.payload.as_slice())
                .bind(metadata.as_str());
        }
        for row in query.fetch_all(&mut *conn).await? {
            let position: i64 = row.try_get(0)?;
            let stream: &str = row.try_get(1)?;
            let version: i64 = row.try_get(2)?;
            let a = *owner.get(&(stream, version)).ok_or_else(|| protocol("SQLite returned an event not inserted"))?;
            span[a] = (span[a].0.min(position), span[a].1.max(position));
        }
    }
    let mut result = Vec::with_capacity(accepted.len());
    for (acc, &(first, last)) in accepted.iter().zip(&span) {
        let (Some(first_position), Some(last_position)) = (rows::from_sql(first), rows::from_sql(last)) else {
            return Err(protocol("SQLite returned no position for an event"));
        };
        result.push(Appended {
            first_version: StreamVersion(acc.prepared.first),
            last_version: StreamVersion(acc.last()),
            first_position: GlobalPosition(first_position),
            last_position: GlobalPosition(last_position),
            deduplicated: false,
        });
    }
    for chunk in accepted.chunks(COMMAND_CHUNK).zip(result.chunks(COMMAND_CHUNK)) {
        let (accepted, appended) = chunk;
        let mut sql = String::with_capacity(130 + accepted.len() * 20);
        sql.push_str(
            "INSERT INTO commands (stream_id, command_id, first_version, last_version, first_position, last_position) \
             VALUES ",
        );
        push_rows(&mut sql, accepted.len(), "(?, ?, ?, ?, ?, ?)");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (acc, a) in accepted.iter().zip(appended) {
            query = query
                .bind(acc.request.stream.as_str())
                .bind(rows::id_to_blob(acc.request.command.0).to_vec())
                .bind(to_sql(a.first_version.0)?)
                .bind(to_sql(a.last_version.0)?)
                .bind(to_sql(a.first_position.0)?)
                .bind(to_sql(a.last_position.0)?);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(result)
}
