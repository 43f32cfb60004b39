//! The committer: one task with one connection that commits queued appends in groups (see
//! "Group commit" in the [module documentation](super)).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use showdown_store::{
    AppendRequest, Appended, BoxError, ExpectedVersion, GlobalPosition, NewEvent, StoreError, StreamVersion,
};
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{PgConnection, Row};
use tokio::sync::{mpsc, oneshot};

use super::error::{self, DriverError};
use super::{MAX_ATTEMPTS, PostgresOptions, Shared, rows};

/// The pause before a batch's second try (then twice as long before the third).
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// How many times a committer lets other tasks run to gather a batch, at most.
const MAX_GATHER_TURNS: usize = 8;

/// The most events one append may carry (indices into a batch are SQL `int`s).
pub(crate) const MAX_APPEND_EVENTS: usize = 1 << 24;

/// An append request checked and encoded for the database by the caller's task.
#[derive(Debug)]
pub(crate) struct PreparedRequest {
    pub(crate) request: AppendRequest,
    /// Each event's metadata as JSON.
    metadata: Vec<String>,
}

/// Requests queued together, answered together, in order.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) requests: Vec<PreparedRequest>,
    pub(crate) reply: oneshot::Sender<Vec<Result<Appended, StoreError>>>,
}

/// Checks what can be checked without the database, so that a request the database would
/// refuse never fails the others of its transaction.
pub(crate) fn prepare(request: AppendRequest, shared: &Shared) -> Result<PreparedRequest, StoreError> {
    if request.events.is_empty() {
        return Err(StoreError::EmptyAppend);
    }
    if request.events.len() > MAX_APPEND_EVENTS {
        return Err(shared.unavailable_msg(format!(
            "{}: an append of {} events is more than the {MAX_APPEND_EVENTS} one transaction takes",
            request.stream,
            request.events.len()
        )));
    }
    let mut metadata = Vec::with_capacity(request.events.len());
    for (i, e) in request.events.iter().enumerate() {
        // PostgreSQL text and jsonb cannot hold NUL characters.
        let nul = e.event_type.contains('\0') || e.metadata.iter().any(|(k, v)| k.contains('\0') || v.contains('\0'));
        if nul {
            return Err(shared.unavailable_msg(format!(
                "{}: event {i} of the append has a NUL character in its type or metadata, \
                 which PostgreSQL cannot store",
                request.stream
            )));
        }
        let json = serde_json::to_string(&e.metadata)
            .map_err(|e| shared.unavailable_msg(format!("cannot encode metadata as JSON: {e}")))?;
        metadata.push(json);
    }
    Ok(PreparedRequest { request, metadata })
}

/// A commit that failed as a whole.
struct TxFailure {
    error: sqlx::Error,
    context: &'static str,
    /// The connection failed during the call: the transaction may have committed.
    outcome_unknown: bool,
}

/// What a transaction did.
struct Outcome {
    results: Vec<Result<Appended, StoreError>>,
    /// The position after the last event appended, if any was.
    head: Option<GlobalPosition>,
    events: u64,
}

/// How the database decided a request (`o_status` of `showdown_append_batch`).
enum Decision {
    /// Appended.
    Appended(Appended),
    /// The command is stored already, as this: compare the events.
    Stored(Appended),
    /// The command is appended by the `n`th (0-based) request of this batch.
    RetryOf(usize),
    /// The stream is elsewhere.
    WrongVersion(Option<StreamVersion>),
}

/// Stored events of a command, or the version and description of what is wrong with them.
type Found = Result<Vec<NewEvent>, (StreamVersion, String)>;

pub(crate) struct Committer {
    queue: mpsc::Receiver<Job>,
    conn: Option<PgConnection>,
    connect: PgConnectOptions,
    shared: Arc<Shared>,
    lock_key: i64,
    connect_timeout: std::time::Duration,
    max_requests: usize,
    max_events: usize,
}

impl Committer {
    pub(crate) fn new(
        queue: mpsc::Receiver<Job>,
        conn: PgConnection,
        connect: PgConnectOptions,
        shared: Arc<Shared>,
        lock_key: i64,
        options: &PostgresOptions,
    ) -> Committer {
        Committer {
            queue,
            conn: Some(conn),
            connect,
            shared,
            lock_key,
            connect_timeout: options.connect_timeout,
            max_requests: options.max_batch_requests,
            max_events: options.max_batch_events,
        }
    }

    /// Commits queued jobs until every sender is gone.
    pub(crate) async fn run(mut self) {
        while let Some(first) = self.queue.recv().await {
            let mut requests = first.requests.len();
            let mut events: usize = first.requests.iter().map(|r| r.request.events.len()).sum();
            let mut jobs = vec![first];
            // Writers woken by the previous commit are about to queue their next appends:
            // let them run while they keep coming (a few scheduler turns, not a timer), so
            // that this transaction carries them too.
            for _ in 0..MAX_GATHER_TURNS {
                tokio::task::yield_now().await;
                let before = jobs.len();
                while requests < self.max_requests && events < self.max_events {
                    let Ok(job) = self.queue.try_recv() else { break };
                    requests += job.requests.len();
                    events += job.requests.iter().map(|r| r.request.events.len()).sum::<usize>();
                    jobs.push(job);
                }
                if jobs.len() == before || requests >= self.max_requests || events >= self.max_events {
                    break;
                }
            }
            let batch: Vec<&PreparedRequest> = jobs.iter().flat_map(|j| &j.requests).collect();
            let results = self.commit(&batch).await;
            drop(batch);
            let mut results = results.into_iter();
            for job in jobs {
                let answers: Vec<_> = results.by_ref().take(job.requests.len()).collect();
                // The caller may have stopped waiting; the append stands either way.
                let _ = job.reply.send(answers);
            }
        }
    }

    /// Commits `batch`, retrying a transaction that failed as a whole, and answers each request.
    async fn commit(&mut self, batch: &[&PreparedRequest]) -> Vec<Result<Appended, StoreError>> {
        match self.commit_with_retries(batch).await {
            Ok(results) => results,
            Err(failure) if failure.outcome_unknown || batch.len() == 1 || error::is_transient(&failure.error) => {
                self.fail_all(batch.len(), failure)
            }
            // Perhaps one request upsets the database: try each alone, in order, so that it
            // fails alone.
            Err(_) => {
                let mut results = Vec::with_capacity(batch.len());
                for request in batch {
                    match self.commit_with_retries(std::slice::from_ref(request)).await {
                        Ok(mut r) => results.append(&mut r),
                        Err(failure) => results.append(&mut self.fail_all(1, failure)),
                    }
                }
                results
            }
        }
    }

    fn fail_all(&self, n: usize, failure: TxFailure) -> Vec<Result<Appended, StoreError>> {
        let driver = DriverError::new(failure.context, failure.error);
        (0..n)
            .map(|_| {
                let source: BoxError = if failure.outcome_unknown {
                    BoxError::from(format!(
                        "the connection failed before the commit was confirmed, so the append may or may not be stored \
                         (appending again with the same command id is safe): {driver}"
                    ))
                } else {
                    Box::new(driver.clone())
                };
                Err(StoreError::Unavailable { location: self.shared.location.clone(), source })
            })
            .collect()
    }

    async fn commit_with_retries(
        &mut self,
        batch: &[&PreparedRequest],
    ) -> Result<Vec<Result<Appended, StoreError>>, TxFailure> {
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            match self.transaction(batch).await {
                Ok(outcome) => {
                    self.record(batch.len(), &outcome, started);
                    if let Some(head) = outcome.head {
                        self.shared.advance_head(head);
                        self.shared.committed.send_modify(|h| *h = (*h).max(head));
                    }
                    return Ok(outcome.results);
                }
                Err(failure) => {
                    // Closing the connection rolls back whatever is open and frees the
                    // advisory lock, whatever state the failure left it in.
                    self.conn = None;
                    if failure.outcome_unknown || attempt >= MAX_ATTEMPTS || !error::is_transient(&failure.error) {
                        return Err(failure);
                    }
                    self.shared.stats.retries.fetch_add(1, Ordering::Relaxed);
                    // A racing process or a restarting server: give it a moment.
                    tokio::time::sleep(RETRY_PAUSE * attempt).await;
                    attempt += 1;
                }
            }
        }
    }

    fn record(&self, requests: usize, outcome: &Outcome, started: Instant) {
        let stats = &self.shared.stats;
        if outcome.events > 0 {
            stats.transactions.fetch_add(1, Ordering::Relaxed);
        }
        stats.requests.fetch_add(requests as u64, Ordering::Relaxed);
        stats.events.fetch_add(outcome.events, Ordering::Relaxed);
        stats.largest_batch.fetch_max(requests as u64, Ordering::Relaxed);
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        stats.busy_ns.fetch_add(nanos, Ordering::Relaxed);
    }

    /// One try at the whole batch in one transaction: one call of `showdown_append_batch`,
    /// outside an explicit transaction, so it commits before it answers.
    async fn transaction(&mut self, batch: &[&PreparedRequest]) -> Result<Outcome, TxFailure> {
        if self.conn.is_none() {
            let conn = super::open(&self.connect, self.connect_timeout).await.map_err(|error| TxFailure {
                error,
                context: "connecting",
                outcome_unknown: false,
            })?;
            self.conn = Some(conn);
        }
        let Some(conn) = self.conn.as_mut() else { unreachable!("connected above") };
        let call = Call::new(batch);
        let rows = call.run(conn, self.lock_key).await?;
        let decisions = decode_decisions(&rows).map_err(|error| TxFailure {
            error,
            context: "reading the append's results",
            outcome_unknown: true,
        })?;
        if decisions.len() != batch.len() {
            return Err(TxFailure {
                error: sqlx::Error::Protocol(format!("{} results for {} requests", decisions.len(), batch.len())),
                context: "reading the append's results",
                outcome_unknown: true,
            });
        }

        // Retries of stored commands: read their events back (committed, so the read can
        // come after the commit) and compare.
        let stored: Vec<(&str, Appended)> = batch
            .iter()
            .zip(&decisions)
            .filter_map(|(r, d)| match d {
                Decision::Stored(a) => Some((r.request.stream.as_str(), *a)),
                _ => None,
            })
            .collect();
        let found = if stored.is_empty() { Ok(HashMap::new()) } else { command_events(conn, &stored).await };
        let found = match found {
            Ok(found) => Ok(found),
            Err(e) => {
                // The batch committed; only these answers are lost.
                self.conn = None;
                Err(DriverError::new("reading a retried command's events", e))
            }
        };

        let mut results: Vec<Result<Appended, StoreError>> = Vec::with_capacity(batch.len());
        let mut events = 0u64;
        let mut head = None;
        for (r, d) in batch.iter().zip(&decisions) {
            let r = &r.request;
            let result = match *d {
                Decision::Appended(a) => {
                    events += a.last_version.0 - a.first_version.0 + 1;
                    head = Some(a.last_position.next()).max(head);
                    Ok(a)
                }
                Decision::WrongVersion(actual) => {
                    Err(StoreError::WrongExpectedVersion { stream: r.stream.clone(), expected: r.expected, actual })
                }
                Decision::RetryOf(n) => match (&batch[n].request, &results[n]) {
                    (first, Ok(a)) if first.events == r.events => Ok(Appended { deduplicated: true, ..*a }),
                    (_, Ok(a)) => Err(StoreError::CommandConflict {
                        stream: r.stream.clone(),
                        command: r.command,
                        first_version: a.first_version,
                    }),
                    (_, Err(_)) => Err(self.shared.unavailable_msg("the database answered out of order")),
                },
                Decision::Stored(a) => match &found {
                    Err(e) => Err(StoreError::Unavailable {
                        location: self.shared.location.clone(),
                        source: Box::new(e.clone()),
                    }),
                    Ok(found) => match found.get(&(r.stream.as_str(), a.first_version)) {
                        Some(Ok(stored)) if *stored == r.events => Ok(Appended { deduplicated: true, ..a }),
                        Some(Ok(_)) => Err(StoreError::CommandConflict {
                            stream: r.stream.clone(),
                            command: r.command,
                            first_version: a.first_version,
                        }),
                        Some(Err((version, what))) => Err(StoreError::Corrupt {
                            stream: r.stream.clone(),
                            version: *version,
                            source: BoxError::from(what.clone()),
                        }),
                        None => Err(StoreError::Corrupt {
                            stream: r.stream.clone(),
                            version: a.first_version,
                            source: BoxError::from("the command's events are missing"),
                        }),
                    },
                },
            };
            results.push(result);
        }
        Ok(Outcome { results, head, events })
    }
}

/// The arguments of one `showdown_append_batch` call: the batch as arrays.
struct Call<'a> {
    streams: Vec<&'a str>,
    request_stream: Vec<i32>,
    expected: Vec<i64>,
    command: Vec<[u8; 16]>,
    count: Vec<i32>,
    previous: Vec<i32>,
    event_request: Vec<i32>,
    event_index: Vec<i32>,
    event_id: Vec<[u8; 16]>,
    event_schema: Vec<i32>,
    event_type: Vec<&'a str>,
    event_payload: Vec<&'a [u8]>,
    event_metadata: Vec<&'a str>,
}

impl<'a> Call<'a> {
    fn new(batch: &[&'a PreparedRequest]) -> Call<'a> {
        let n_events: usize = batch.iter().map(|r| r.request.events.len()).sum();
        let mut call = Call {
            streams: Vec::new(),
            request_stream: Vec::with_capacity(batch.len()),
            expected: Vec::with_capacity(batch.len()),
            command: Vec::with_capacity(batch.len()),
            count: Vec::with_capacity(batch.len()),
            previous: Vec::with_capacity(batch.len()),
            event_request: Vec::with_capacity(n_events),
            event_index: Vec::with_capacity(n_events),
            event_id: Vec::with_capacity(n_events),
            event_schema: Vec::with_capacity(n_events),
            event_type: Vec::with_capacity(n_events),
            event_payload: Vec::with_capacity(n_events),
            event_metadata: Vec::with_capacity(n_events),
        };
        let mut stream_index: HashMap<&str, i32> = HashMap::new();
        let mut last_of_command: HashMap<(&str, u128), i32> = HashMap::new();
        // Indices are 1-based, as SQL arrays are; request and event counts fit an i32
        // because batches are bounded far below.
        for (i, p) in batch.iter().enumerate() {
            let r = &p.request;
            let next = call.streams.len() as i32 + 1;
            let s = *stream_index.entry(r.stream.as_str()).or_insert(next);
            if s == next {
                call.streams.push(r.stream.as_str());
            }
            call.request_stream.push(s);
            call.expected.push(match r.expected {
                ExpectedVersion::Any => -2,
                ExpectedVersion::NoStream => -1,
                // No stream reaches past i64::MAX, so that expectation never matches.
                ExpectedVersion::Exact(v) => i64::try_from(v.0).unwrap_or(i64::MAX),
            });
            call.command.push(r.command.0.to_be_bytes());
            call.count.push(r.events.len() as i32);
            call.previous.push(last_of_command.insert((r.stream.as_str(), r.command.0), i as i32 + 1).unwrap_or(0));
            for (k, (e, metadata)) in r.events.iter().zip(&p.metadata).enumerate() {
                call.event_request.push(i as i32 + 1);
                call.event_index.push(k as i32);
                call.event_id.push(e.event_id.0.to_be_bytes());
                call.event_schema.push(i32::from(e.schema));
                call.event_type.push(&e.event_type);
                call.event_payload.push(&e.payload);
                call.event_metadata.push(metadata);
            }
        }
        call
    }

    async fn run(&self, conn: &mut PgConnection, lock_key: i64) -> Result<Vec<PgRow>, TxFailure> {
        let command: Vec<&[u8]> = self.command.iter().map(|c| c.as_slice()).collect();
        let event_id: Vec<&[u8]> = self.event_id.iter().map(|c| c.as_slice()).collect();
        sqlx::query(
            "SELECT o_status, o_first_version, o_last_version, o_first_position, o_last_position, o_other
             FROM showdown_append_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(lock_key)
        .bind(&self.streams)
        .bind(&self.request_stream)
        .bind(&self.expected)
        .bind(&command)
        .bind(&self.count)
        .bind(&self.previous)
        .bind(&self.event_request)
        .bind(&self.event_index)
        .bind(&event_id)
        .bind(&self.event_schema)
        .bind(&self.event_type)
        .bind(&self.event_payload)
        .bind(&self.event_metadata)
        .fetch_all(&mut *conn)
        .await
        .map_err(|error| {
            // An error from the database rolled the call back; a lost connection may have
            // lost the answer to a commit.
            let outcome_unknown = !error::rolled_back(&error);
            TxFailure { error, context: "appending", outcome_unknown }
        })
    }
}

fn decode_decisions(rows: &[PgRow]) -> Result<Vec<Decision>, sqlx::Error> {
    let version = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let status: i16 = row.try_get(0)?;
        let numbers: [Option<i64>; 4] = [row.try_get(1)?, row.try_get(2)?, row.try_get(3)?, row.try_get(4)?];
        let other: Option<i64> = row.try_get(5)?;
        let appended = || match numbers.map(version) {
            [Some(fv), Some(lv), Some(fp), Some(lp)] => Ok(Appended {
                first_version: StreamVersion(fv),
                last_version: StreamVersion(lv),
                first_position: GlobalPosition(fp),
                last_position: GlobalPosition(lp),
                deduplicated: false,
            }),
            _ => Err(sqlx::Error::Protocol(format!("invalid versions and positions {numbers:?}"))),
        };
        out.push(match status {
            0 => Decision::Appended(appended()?),
            1 => Decision::Stored(appended()?),
            2 => match other.and_then(|o| usize::try_from(o).ok()).and_then(|o| o.checked_sub(1)) {
                Some(n) if n < out.len() => Decision::RetryOf(n),
                _ => return Err(sqlx::Error::Protocol(format!("invalid earlier request {other:?}"))),
            },
            3 => Decision::WrongVersion(version(other).map(StreamVersion)),
            _ => return Err(sqlx::Error::Protocol(format!("unknown append status {status}"))),
        });
    }
    Ok(out)
}

/// The stored events of commands found in `commands` (`stream`, as recorded), by stream
/// and first version.
async fn command_events<'b>(
    conn: &mut PgConnection,
    commands: &[(&'b str, Appended)],
) -> Result<HashMap<(&'b str, StreamVersion), Found>, sqlx::Error> {
    let streams: Vec<&str> = commands.iter().map(|c| c.0).collect();
    let firsts: Vec<i64> = commands.iter().map(|c| c.1.first_version.0 as i64).collect();
    let lasts: Vec<i64> = commands.iter().map(|c| c.1.last_version.0 as i64).collect();
    let rows = sqlx::query(
        "SELECT e.stream_id, e.version, e.position, uuid_send(e.event_id), e.command_id, e.schema, e.event_type,
                e.payload, e.metadata::text, u.i
         FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS u(stream_id, first_version, last_version, i)
         JOIN events e ON e.stream_id = u.stream_id AND e.version BETWEEN u.first_version AND u.last_version
         ORDER BY u.i, e.version",
    )
    .bind(&streams)
    .bind(&firsts)
    .bind(&lasts)
    .fetch_all(&mut *conn)
    .await?;
    let mut events: Vec<Vec<Result<showdown_store::StoredEvent, StoreError>>> =
        std::iter::repeat_with(Vec::new).take(commands.len()).collect();
    for row in &rows {
        let i: i64 = row.try_get(9)?;
        if let Some(slot) = usize::try_from(i - 1).ok().and_then(|i| events.get_mut(i)) {
            slot.push(rows::stored_event(row));
        }
    }
    let mut out = HashMap::with_capacity(commands.len());
    for ((stream, a), stored) in commands.iter().zip(events) {
        let want = (a.last_version.0 - a.first_version.0 + 1) as usize;
        let mut found = Vec::with_capacity(want);
        let mut problem = None;
        for e in stored {
            match e {
                Ok(e) => found.push(e.to_new_event()),
                Err(StoreError::Corrupt { version, source, .. }) => {
                    problem = Some((version, source.to_string()));
                    break;
                }
                Err(e) => {
                    problem = Some((a.first_version, e.to_string()));
                    break;
                }
            }
        }
        if problem.is_none() && found.len() != want {
            problem =
                Some((a.first_version, format!("the command recorded {want} events, {} are stored", found.len())));
        }
        out.insert((*stream, a.first_version), problem.map_or(Ok(found), Err));
    }
    Ok(out)
}
