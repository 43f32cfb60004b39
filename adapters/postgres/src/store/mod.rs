//! [`PostgresStore`]: the [`EventStore`] on PostgreSQL, with group commit.
//!
//! # Tables
//!
//! `migrations/0001_event_store.sql` creates four tables in the connection's schema
//! ([`PostgresOptions::schema`], else the first schema of the `search_path`):
//! - `events`: one row per event, `UNIQUE (stream_id, version)`, the global `position` (an
//!   identity column), and `xact_id`, the id of the appending transaction;
//! - `streams`: each stream's last version; an append locks the row to check its expected
//!   version, so one writer wins per version across processes;
//! - `commands`: `PRIMARY KEY (stream_id, command_id)` and where each command's events went,
//!   so a retried command is stored once, across restarts;
//! - `snapshots`: at most one per stream, replaced only by a later one.
//!
//! # Group commit
//!
//! [`EventStore::append`] and [`EventStore::append_batch`] do not talk to the database: they
//! check what needs no database (an empty append, text PostgreSQL cannot store), then queue
//! the request (a bounded channel, with a oneshot for the answer) to a committer task,
//! which owns one connection. The committer takes everything queued (up to
//! [`PostgresOptions::max_batch_requests`] and [`PostgresOptions::max_batch_events`]) and
//! commits it in one transaction, so one WAL flush serves many appends. The transaction is
//! one call of the SQL function `showdown_append_batch` (in the migration), made outside an
//! explicit transaction, so it commits before it answers: one round trip per batch. It
//! does, each request keeping its own checks, in queue order:
//!
//! 1. take the store's advisory lock (see *Global order* below);
//! 2. lock the rows of the batch's streams in `streams` (in one order, so two processes
//!    cannot deadlock), creating missing ones, and read their versions;
//! 3. look up the batch's command ids in `commands` (after the locks, so it sees what a
//!    racing process committed);
//! 4. decide each request in order: a stored command is reported back (the committer
//!    reads its events back and compares them: the same events make the request a retry,
//!    answered with the first result and `deduplicated` set, others a
//!    [`StoreError::CommandConflict`]); otherwise the expected version is checked against
//!    the stream's version so far, so two requests to one stream in one batch chain;
//! 5. insert every passing event with one `INSERT … SELECT … FROM unnest(…)`, move the
//!    streams' versions, record the commands, drop stream rows created for nothing;
//! 6. release the advisory lock; the call commits; the committer answers every request.
//!
//! Nothing is acknowledged before the commit. A request that fails its checks fails alone
//! (and a batch where every request fails commits without waiting for the disk: nothing
//! changed). If the call fails with an error from the database (a deadlock or unique
//! violation from a racing process, say), nothing was committed: it is retried, at most
//! [`MAX_ATTEMPTS`] times, and an error that does not look transient makes the committer
//! retry each request in a call of its own, so one bad request cannot fail the others. If
//! the connection is lost during the call, the outcome is unknown: every request of the
//! batch gets [`StoreError::Unavailable`] saying so, and appending again with the same
//! command id is safe (it is then answered as a retry). The committer reconnects for the
//! next batch.
//!
//! Requests are routed to one of [`PostgresOptions::committers`] committers by a hash of
//! their stream, so one process never races with itself for a stream's row lock, and one
//! committer's call runs while another's waits for its flush; an
//! [`EventStore::append_batch`] goes to one committer whole, to keep its order. Dropping an
//! append's future after it was queued does not withdraw it.
//!
//! # Global order
//!
//! Positions come from a sequence, so a transaction can take positions before another
//! that commits first. [`EventStore::read_all`] therefore returns only events whose
//! `xact_id` is older than every transaction still running
//! (`xact_id < pg_snapshot_xmin(pg_current_snapshot())`): a reader never passes a position
//! whose transaction may still commit. That rule needs transaction ids and positions to be
//! taken in the same order, which holds because every append takes its transaction id and
//! its positions while holding a session advisory lock (key [`advisory_lock_key`] of the
//! schema) that it releases just before it commits: the lock orders the appends, while
//! their WAL flushes still overlap. *Invariant: any other writer of `events` must follow
//! the same protocol* (lock before the first write, unlock before commit; calling
//! `showdown_append_batch` does), or readers may skip its events. A transaction left open
//! anywhere in the cluster holds back what `read_all` returns (never what it has returned)
//! until it ends.
//!
//! # Change signal
//!
//! [`EventStore::subscribe`] builds a [`Subscription`] over a `watch` of the head position,
//! which changes:
//! - after each of this store's commits (at once, in process);
//! - on a notification on the store's channel (`LISTEN`; a background task sends
//!   `pg_notify(channel, head)` after commits, coalesced, so other processes hear of this
//!   one's appends);
//! - when a poll ([`PostgresOptions::poll_interval`], only while someone subscribes) sees the
//!   visible head move: a lost notification, a dropped `LISTEN` connection, or events that
//!   became visible when an older transaction ended only delay a subscriber by one interval.
//!
//! The committers and the signal tasks run on the tokio runtime that called
//! [`PostgresStore::connect`]; use the store inside that runtime.

mod committer;
mod error;
mod location;
mod rows;
mod signal;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use showdown_engine::table::CommandId;
use showdown_store::{
    AppendRequest, Appended, BoxError, EventStore, ExpectedVersion, GlobalPosition, NewEvent, Snapshot, StoreError,
    StoredEvent, StreamId, StreamVersion, Subscription,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use error::DriverError;
pub use location::redact_url;

use committer::{Committer, Job, PreparedRequest};

/// How many times a committer tries a batch whose transaction failed as a whole.
pub const MAX_ATTEMPTS: u32 = 3;

/// Settings of a [`PostgresStore`]. The defaults suit a game server; tests may isolate
/// themselves with [`PostgresOptions::schema`].
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    schema: Option<String>,
    application_name: String,
    committers: usize,
    max_batch_requests: usize,
    max_batch_events: usize,
    queue_capacity: usize,
    max_connections: u32,
    connect_timeout: Duration,
    poll_interval: Duration,
}

impl Default for PostgresOptions {
    fn default() -> PostgresOptions {
        PostgresOptions {
            schema: None,
            application_name: "showdown-postgres".to_owned(),
            committers: 1,
            max_batch_requests: 256,
            max_batch_events: 4096,
            queue_capacity: 1024,
            max_connections: 8,
            connect_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// Why a name cannot be a schema of a [`PostgresStore`].
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("a schema name is 1 to 63 lowercase ASCII letters, digits or underscores, not starting with a digit: {name:?}")]
pub struct InvalidSchema {
    /// The name refused.
    pub name: String,
}

impl PostgresOptions {
    /// The default settings.
    #[must_use]
    pub fn new() -> PostgresOptions {
        PostgresOptions::default()
    }

    /// Keeps the store's tables in `name` (created if missing) instead of the first schema
    /// of the connection's `search_path`: one database can hold independent stores.
    ///
    /// # Errors
    /// [`InvalidSchema`] unless `name` is 1 to 63 of `[a-z0-9_]`, not starting with a digit
    /// (so it needs no quoting).
    pub fn schema(mut self, name: &str) -> Result<PostgresOptions, InvalidSchema> {
        let valid = !name.is_empty()
            && name.len() <= 63
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(InvalidSchema { name: name.to_owned() });
        }
        self.schema = Some(name.to_owned());
        Ok(self)
    }

    /// The schema set with [`PostgresOptions::schema`], if any.
    #[must_use]
    pub fn schema_name(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// How many committer tasks (each with its own connection) share the appends, by
    /// stream; at least 1. Default 1: the store's calls run one at a time anyway (they hold
    /// the advisory lock), and one committer makes the largest groups, so the fewest WAL
    /// flushes. More committers overlap one's call with another's flush, which pays when
    /// flushes are slow and batches large.
    #[must_use]
    pub fn committers(mut self, n: usize) -> PostgresOptions {
        self.committers = n.max(1);
        self
    }

    /// The most append requests one transaction commits (default 256); 1 to 2^16.
    #[must_use]
    pub fn max_batch_requests(mut self, n: usize) -> PostgresOptions {
        self.max_batch_requests = n.clamp(1, 1 << 16);
        self
    }

    /// The `application_name` of the store's connections, to find them in
    /// `pg_stat_activity` (default `showdown-postgres`; the committers' get ` committer`
    /// appended).
    #[must_use]
    pub fn application_name(mut self, name: &str) -> PostgresOptions {
        self.application_name = name.to_owned();
        self
    }

    /// The most events one transaction commits, unless a single request has more
    /// (default 4,096); 1 to 2^20.
    #[must_use]
    pub fn max_batch_events(mut self, n: usize) -> PostgresOptions {
        self.max_batch_events = n.clamp(1, 1 << 20);
        self
    }

    /// How many requests may wait for each committer before appends wait to queue
    /// (default 1,024); at least 1.
    #[must_use]
    pub fn queue_capacity(mut self, n: usize) -> PostgresOptions {
        self.queue_capacity = n.max(1);
        self
    }

    /// The size of the pool for reads, snapshots and the change signal (default 8; at least
    /// 2, as the `LISTEN` connection keeps one). Committers have their own connections.
    #[must_use]
    pub fn max_connections(mut self, n: u32) -> PostgresOptions {
        self.max_connections = n.max(2);
        self
    }

    /// How long connecting, or waiting for a pooled connection, may take (default 10 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> PostgresOptions {
        self.connect_timeout = timeout;
        self
    }

    /// How often subscribers' change signal is checked against the database, in case a
    /// notification was missed (default 500 ms; at least 1 ms).
    #[must_use]
    pub fn poll_interval(mut self, every: Duration) -> PostgresOptions {
        self.poll_interval = every.max(Duration::from_millis(1));
        self
    }
}

/// What the committers have done since the store connected: for tuning and benchmarks.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct CommitStats {
    /// Transactions that committed events.
    pub transactions: u64,
    /// Append requests answered (appended, deduplicated or refused), by any transaction.
    pub requests: u64,
    /// Events appended.
    pub events: u64,
    /// The most requests one transaction answered.
    pub largest_batch: u64,
    /// Transactions retried after failing as a whole.
    pub retries: u64,
    /// Time spent in transactions, from `BEGIN` to the end of `COMMIT`, summed over
    /// committers.
    pub busy: Duration,
}

#[derive(Debug, Default)]
struct Stats {
    transactions: AtomicU64,
    requests: AtomicU64,
    events: AtomicU64,
    largest_batch: AtomicU64,
    retries: AtomicU64,
    busy_ns: AtomicU64,
}

/// What the store's tasks share.
#[derive(Debug)]
struct Shared {
    /// The URL without its password, for errors.
    location: String,
    /// The position after the last event known to be stored; changes to wake subscribers.
    head: watch::Sender<GlobalPosition>,
    /// The position after this process's last commit, for the notifying task.
    committed: watch::Sender<GlobalPosition>,
    stats: Stats,
}

impl Shared {
    fn unavailable(&self, context: &'static str, error: sqlx::Error) -> StoreError {
        StoreError::Unavailable { location: self.location.clone(), source: Box::new(DriverError::new(context, error)) }
    }

    fn unavailable_msg(&self, message: impl Into<String>) -> StoreError {
        StoreError::Unavailable { location: self.location.clone(), source: BoxError::from(message.into()) }
    }

    /// Wakes subscribers; the head only moves forward.
    fn advance_head(&self, to: GlobalPosition) {
        self.head.send_modify(|h| *h = (*h).max(to));
    }
}

/// The [`EventStore`] on PostgreSQL (see the [module documentation](self) for the tables,
/// group commit, the global order and the change signal).
pub struct PostgresStore {
    shared: Arc<Shared>,
    pool: PgPool,
    queues: Vec<mpsc::Sender<Job>>,
    schema: String,
    tasks: Vec<JoinHandle<()>>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.shared.location)
            .field("schema", &self.schema)
            .field("committers", &self.queues.len())
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // The committers stop by themselves once their queues close (after answering what
        // they hold), and the notifying task once they have (after sending the last
        // notification); the listening and polling tasks would run forever.
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Opens a connection, giving up after `timeout`.
/// Parses `url`, points it at `options`' schema (created if missing) and runs the embedded
/// migrations (`migrations/`: the store's tables and the read models). Returns the
/// connection options and the schema the tables are in.
pub(crate) async fn migrate(url: &str, options: &PostgresOptions) -> Result<(PgConnectOptions, String), StoreError> {
    let location = redact_url(url);
    let unavailable = |context: &'static str, e: sqlx::Error| StoreError::Unavailable {
        location: location.clone(),
        source: Box::new(DriverError::new(context, e)),
    };
    let mut connect = PgConnectOptions::from_str(url).map_err(|e| unavailable("parsing the URL", e))?;
    if let Some(schema) = &options.schema {
        connect = connect.options([("search_path", schema.as_str())]);
    }
    let mut conn = open(&connect, options.connect_timeout).await.map_err(|e| unavailable("connecting", e))?;
    if let Some(schema) = &options.schema {
        // `schema` was checked to need no quoting.
        let sql = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
        if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await {
            // Two stores creating the schema at once: one of them loses, harmlessly.
            if !error::is_unique_violation(&e) {
                return Err(unavailable("creating the schema", e));
            }
        }
    }
    let mut migrator = sqlx::migrate!("./migrations");
    // An older binary keeps working against a database a newer one migrated further.
    migrator.set_ignore_missing(true);
    migrator.run(&mut conn).await.map_err(|e| unavailable("running the migrations", e.into()))?;
    let schema: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| unavailable("reading the schema", e))?;
    let _ = conn.close().await;
    Ok((connect, schema))
}

pub(crate) async fn open(options: &PgConnectOptions, timeout: Duration) -> Result<PgConnection, sqlx::Error> {
    match tokio::time::timeout(timeout, PgConnection::connect_with(options)).await {
        Ok(r) => r,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no connection after {timeout:?}"),
        ))),
    }
}

/// The advisory lock key of the store whose tables are in `schema`: FNV-1a (64 bits) of
/// `showdown_postgres.store:` and the schema name. Writers outside this crate take
/// `pg_advisory_lock(key)` before their first write and release it just before `COMMIT`.
#[must_use]
pub fn advisory_lock_key(schema: &str) -> i64 {
    i64::from_ne_bytes(fnv1a(format!("showdown_postgres.store:{schema}").as_bytes()).to_ne_bytes())
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`) with
    /// the default [`PostgresOptions`], and migrates it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] naming the URL without its password if the URL is
    /// invalid, the database cannot be reached or the migrations fail.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects to the database at `url` with `options`, creates the schema if one is set,
    /// runs the migrations, opens the committers' connections and starts the background
    /// tasks on the current tokio runtime.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] naming the URL without its password if the URL is
    /// invalid, the database cannot be reached or the migrations fail.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        let location = redact_url(url);
        let unavailable = |context: &'static str, e: sqlx::Error| StoreError::Unavailable {
            location: location.clone(),
            source: Box::new(DriverError::new(context, e)),
        };
        let (connect, schema) = migrate(url, &options).await?;
        let connect = connect
            .application_name(&options.application_name)
            // Every query of the store is a lookup by key or a range of an index. Prepared
            // statements keep the plan they got when the tables were small (until the next
            // ANALYZE), and a sequential scan then looks cheap: never let it be chosen.
            .options([("enable_seqscan", "off")]);

        let key = advisory_lock_key(&schema);
        let channel = signal::channel_name(&schema);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.connect_timeout)
            .connect_lazy_with(connect.clone());
        let shared = Arc::new(Shared {
            location: location.clone(),
            head: watch::channel(GlobalPosition::START).0,
            committed: watch::channel(GlobalPosition::START).0,
            stats: Stats::default(),
        });

        let mut queues = Vec::with_capacity(options.committers);
        let mut tasks = Vec::new();
        let committer_connect = connect.clone().application_name(&format!("{} committer", options.application_name));
        for _ in 0..options.committers {
            let conn = open(&committer_connect, options.connect_timeout)
                .await
                .map_err(|e| unavailable("connecting a committer", e))?;
            let (tx, rx) = mpsc::channel(options.queue_capacity);
            let committer = Committer::new(rx, conn, committer_connect.clone(), Arc::clone(&shared), key, &options);
            tokio::spawn(committer.run());
            queues.push(tx);
        }
        tasks.push(tokio::spawn(signal::listen(pool.clone(), channel.clone(), Arc::clone(&shared))));
        tokio::spawn(signal::notify(pool.clone(), channel, shared.committed.subscribe()));
        tasks.push(tokio::spawn(signal::poll(pool.clone(), Arc::clone(&shared), options.poll_interval)));
        Ok(PostgresStore { shared, pool, queues, schema, tasks })
    }

    /// The schema holding the store's tables.
    #[must_use]
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The database's URL without its password, as errors name it.
    #[must_use]
    pub fn location(&self) -> &str {
        &self.shared.location
    }

    /// What the committers have done so far.
    #[must_use]
    pub fn commit_stats(&self) -> CommitStats {
        let s = &self.shared.stats;
        CommitStats {
            transactions: s.transactions.load(Ordering::Relaxed),
            requests: s.requests.load(Ordering::Relaxed),
            events: s.events.load(Ordering::Relaxed),
            largest_batch: s.largest_batch.load(Ordering::Relaxed),
            retries: s.retries.load(Ordering::Relaxed),
            busy: Duration::from_nanos(s.busy_ns.load(Ordering::Relaxed)),
        }
    }

    /// The pool the store reads with (for tests and tools that inspect the tables). Its
    /// connections plan with `enable_seqscan = off`, as the store's queries all use indexes.
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn queue_of(&self, stream: &StreamId) -> &mpsc::Sender<Job> {
        // `committers` is at least 1, so the modulo is defined.
        let i = (fnv1a(stream.as_str().as_bytes()) % self.queues.len() as u64) as usize;
        &self.queues[i]
    }

    /// Queues `requests` (already checked) to the committer of the first one's stream and
    /// waits for their results.
    async fn submit(&self, requests: Vec<PreparedRequest>) -> Vec<Result<Appended, StoreError>> {
        let n = requests.len();
        let Some(first) = requests.first() else { return Vec::new() };
        let queue = self.queue_of(&first.request.stream).clone();
        let (reply, answer) = oneshot::channel();
        if queue.send(Job { requests, reply }).await.is_err() {
            return (0..n).map(|_| Err(self.shared.unavailable_msg("the store's committer has stopped"))).collect();
        }
        match answer.await {
            Ok(results) => results,
            Err(_) => (0..n)
                .map(|_| {
                    Err(self.shared.unavailable_msg(
                        "the store's committer stopped before answering; the append may or may not be stored",
                    ))
                })
                .collect(),
        }
    }

    fn read_error(&self, context: &'static str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
        move |e| self.shared.unavailable(context, e)
    }
}

/// Converts a count to the `LIMIT` of a query.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        command: CommandId,
        events: Vec<NewEvent>,
    ) -> Result<Appended, StoreError> {
        let request = AppendRequest { stream: stream.clone(), expected, command, events };
        let prepared = committer::prepare(request, &self.shared)?;
        let mut results = self.submit(vec![prepared]).await;
        results.pop().unwrap_or_else(|| Err(self.shared.unavailable_msg("the committer gave no answer")))
    }

    async fn append_batch(&self, requests: Vec<AppendRequest>) -> Vec<Result<Appended, StoreError>> {
        // Requests refused before queueing keep their place in the answer.
        let mut results: Vec<Option<Result<Appended, StoreError>>> = Vec::with_capacity(requests.len());
        let mut queued = Vec::new();
        for request in requests {
            match committer::prepare(request, &self.shared) {
                Ok(p) => {
                    queued.push(p);
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        let mut answers = self.submit(queued).await.into_iter();
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    answers.next().unwrap_or_else(|| Err(self.shared.unavailable_msg("the committer gave no answer")))
                })
            })
            .collect()
    }

    async fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), StoreError> {
        let ahead = |actual| StoreError::SnapshotAhead { stream: stream.clone(), version: snapshot.version, actual };
        // A version past i64 cannot be reached by any stream.
        let Ok(version) = i64::try_from(snapshot.version.0) else {
            let actual = self.stream_version(stream).await?;
            return Err(ahead(actual));
        };
        // Stores the snapshot only if the stream has reached it and it is newer than the
        // stored one; returns the stream's version either way.
        let actual: Option<i64> = sqlx::query_scalar(
            "WITH s AS (SELECT version FROM streams WHERE stream_id = $1),
             saved AS (
                 INSERT INTO snapshots (stream_id, version, schema, payload)
                 SELECT $1, $2, $3, $4 FROM s WHERE s.version >= $2
                 ON CONFLICT (stream_id) DO UPDATE
                     SET version = excluded.version, schema = excluded.schema, payload = excluded.payload
                     WHERE snapshots.version < excluded.version
             )
             SELECT (SELECT version FROM s)",
        )
        .bind(stream.as_str())
        .bind(version)
        .bind(i32::from(snapshot.schema))
        .bind(snapshot.payload.as_slice())
        .fetch_one(&self.pool)
        .await
        .map_err(self.read_error("saving a snapshot"))?;
        let actual = actual.and_then(|v| u64::try_from(v).ok()).map(StreamVersion);
        if actual.is_none_or(|v| v < snapshot.version) {
            return Err(ahead(actual));
        }
        Ok(())
    }

    async fn find_command(&self, stream: &StreamId, command: CommandId) -> Result<Option<Appended>, StoreError> {
        let row: Option<(i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT first_version, last_version, first_position, last_position FROM commands
             WHERE stream_id = $1 AND command_id = $2",
        )
        .bind(stream.as_str())
        .bind(command.0.to_be_bytes().to_vec())
        .fetch_optional(&self.pool)
        .await
        .map_err(self.read_error("finding a command"))?;
        // The table's checks keep these non-negative.
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(row.map(|(fv, lv, fp, lp)| Appended {
            first_version: StreamVersion(n(fv)),
            last_version: StreamVersion(n(lv)),
            first_position: GlobalPosition(n(fp)),
            last_position: GlobalPosition(n(lp)),
            deduplicated: true,
        }))
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        let row = sqlx::query("SELECT version, schema, payload FROM snapshots WHERE stream_id = $1")
            .bind(stream.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(self.read_error("loading a snapshot"))?;
        row.map(|row| rows::snapshot(&row, stream)).transpose()
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let Ok(from_sql) = i64::try_from(from.0) else { return Ok(Vec::new()) };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let found = sqlx::query(
            "SELECT stream_id, version, position, uuid_send(event_id), command_id, schema, event_type, payload,
                    metadata::text
             FROM events WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3",
        )
        .bind(stream.as_str())
        .bind(from_sql)
        .bind(sql_limit(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(self.read_error("reading a stream"))?;
        let mut events = Vec::with_capacity(found.len());
        for (i, row) in found.iter().enumerate() {
            let event = rows::stored_event(row)?;
            // Versions have no gaps: a hole means rows were deleted or edited by hand.
            let want = StreamVersion(from.0 + i as u64);
            if event.version != want || event.stream != *stream {
                return Err(StoreError::Corrupt {
                    stream: stream.clone(),
                    version: want,
                    source: BoxError::from(format!("the event at this version is missing (found {})", event.version)),
                });
            }
            events.push(event);
        }
        Ok(events)
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<StreamVersion>, StoreError> {
        let version: Option<Option<i64>> = sqlx::query_scalar("SELECT version FROM streams WHERE stream_id = $1")
            .bind(stream.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(self.read_error("reading a stream's version"))?;
        match version.flatten() {
            None => Ok(None),
            Some(v) => u64::try_from(v).map(|v| Some(StreamVersion(v))).map_err(|_| StoreError::Corrupt {
                stream: stream.clone(),
                version: StreamVersion(0),
                source: BoxError::from(format!("the stream's recorded version is negative ({v})")),
            }),
        }
    }

    async fn read_all(&self, from: GlobalPosition, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let Ok(from) = i64::try_from(from.0) else { return Ok(Vec::new()) };
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Only events of transactions older than every running one: see "Global order".
        let found = sqlx::query(
            "SELECT stream_id, version, position, uuid_send(event_id), command_id, schema, event_type, payload,
                    metadata::text
             FROM events
             WHERE position >= $1 AND xact_id < pg_snapshot_xmin(pg_current_snapshot())
             ORDER BY position LIMIT $2",
        )
        .bind(from)
        .bind(sql_limit(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(self.read_error("reading all streams"))?;
        found.iter().map(rows::stored_event).collect()
    }

    async fn subscribe(&self, from: GlobalPosition) -> Result<Subscription<'_>, StoreError> {
        Ok(Subscription::new(self, from, self.shared.head.subscribe(), self.shared.location.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_checked() {
        assert!(PostgresOptions::new().schema("showdown_test_1").is_ok());
        for bad in ["", "1abc", "Upper", "with space", "quote\"", &"x".repeat(64)] {
            assert!(PostgresOptions::new().schema(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn lock_keys_differ_per_schema_and_are_stable() {
        assert_ne!(advisory_lock_key("public"), advisory_lock_key("other"));
        assert_eq!(advisory_lock_key("public"), advisory_lock_key("public"));
        // FNV-1a of the empty string is its offset basis.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    }
}
