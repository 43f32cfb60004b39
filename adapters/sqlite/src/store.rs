//! [`SqliteStore`]: opening the file, the read side of the [`EventStore`] trait, and the
//! hand-off of every write to the writer task (`crate::writer`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use showdown_store::{
    AppendRequest, Appended, BoxError, CommandId, EventStore, ExpectedVersion, GlobalPosition, NewEvent, Snapshot,
    StoreError, StoredEvent, StreamId, StreamVersion, Subscription,
};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::error::{OpenError, driver};
use crate::options::{Location, SqliteOptions};
use crate::request;
use crate::rows::{self, BadRecord, Undecodable, event_columns};
use crate::writer::{self, Job, Writer};

/// Rows a connection hands over before waiting for the reader.
const ROW_BUFFER: usize = 1024;

/// The migrations in `migrations/`, compiled in.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Showdown's embedded event store: one SQLite file in WAL mode, created and migrated on
/// open, with group commit for appends. See the crate documentation for the design.
///
/// Reads (`read_stream`, `read_all`, `stream_version`, `load_snapshot`, subscriptions) use a
/// pool of read connections. Writes (`append`, `append_batch`, `save_snapshot`) are queued
/// to a single writer task that commits whatever is queued in one transaction; each call
/// returns after the commit that holds its write.
///
/// Dropping the store stops taking requests; what was already queued is still committed in
/// the background (while the tokio runtime runs). [`SqliteStore::close`] waits for that and
/// closes the file.
pub struct SqliteStore {
    location: Arc<str>,
    readers: SqlitePool,
    jobs: mpsc::Sender<Job>,
    head: Arc<watch::Sender<GlobalPosition>>,
    writer: JoinHandle<()>,
    /// Dropping it stops the poller (if any) at once.
    stop_poller: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("location", &self.location).finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the store at `url` (`sqlite:PATH`, `sqlite://PATH`, `sqlite::memory:` or a
    /// bare path) with [`SqliteOptions::default`]: creates the file if it is missing,
    /// applies the migrations, and starts the writer task (so it must be called within a
    /// tokio runtime).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] (naming the URL, with the file and the cause in its
    /// source) if the URL is not a SQLite one, the file cannot be opened or created (say, its
    /// directory does not exist), it is not a database, or its schema is from a newer
    /// version of this crate.
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(url, SqliteOptions::default()).await
    }

    /// [`SqliteStore::open`] with other options.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub async fn open_with(url: &str, options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        let location = Location::parse(url).map_err(|e| StoreError::Unavailable {
            // Only the scheme of a foreign URL: the rest may hold a password.
            location: url.split_once("://").map_or_else(|| url.to_owned(), |(scheme, _)| format!("{scheme}://…")),
            source: Box::new(e),
        })?;
        let name: Arc<str> = location.display_url().into();
        let unavailable = |source: BoxError| StoreError::Unavailable { location: name.to_string(), source };
        let base = match &location {
            Location::File(path) => SqliteConnectOptions::new().filename(path),
            Location::Memory => {
                "sqlite::memory:".parse::<SqliteConnectOptions>().map_err(|e| unavailable(driver(e)))?
            }
        }
        .busy_timeout(options.busy_timeout)
        .synchronous(options.synchronous.to_sqlx())
        // Savepoint journals and sorts stay in memory.
        .pragma("temp_store", "MEMORY")
        // Rows cross from SQLite's thread to the caller through a channel; a page of rows
        // fits in it at once, instead of a wake-up per 50 rows.
        .row_buffer_size(ROW_BUFFER);
        let writer_options = base.clone().create_if_missing(true).journal_mode(SqliteJournalMode::Wal);
        let (writes, reads) = match &location {
            Location::File(path) => {
                let writes = one_connection().connect_with(writer_options).await.map_err(|e| {
                    unavailable(Box::new(OpenError {
                        path: path.display().to_string(),
                        hint: missing_dir(path),
                        source: driver(e),
                    }))
                })?;
                migrate(&writes).await.map_err(|e| unavailable(Box::new(e)))?;
                // Readers never write (WAL lets them read during a commit); they come after
                // the writer, which created the file and its WAL.
                let reads = SqlitePoolOptions::new()
                    .max_connections(options.read_connections.max(1))
                    .test_before_acquire(false)
                    .connect_with(base.read_only(true))
                    .await
                    .map_err(|e| unavailable(driver(e)))?;
                (writes, reads)
            }
            Location::Memory => {
                // One connection holds the database; readers and the writer share it.
                let pool = one_connection().connect_with(writer_options).await.map_err(|e| unavailable(driver(e)))?;
                migrate(&pool).await.map_err(|e| unavailable(Box::new(e)))?;
                (pool.clone(), pool)
            }
        };
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(position) FROM events")
            .fetch_one(&reads)
            .await
            .map_err(|e| unavailable(driver(e)))?;
        let head = Arc::new(watch::channel(GlobalPosition(last.and_then(rows::from_sql).map_or(0, |p| p + 1))).0);
        let (jobs, queue) = mpsc::channel(options.queue_capacity.max(1));
        let writer = Writer {
            pool: writes,
            close_pool: matches!(location, Location::File(_)),
            head: Arc::clone(&head),
            location: Arc::clone(&name),
            max_group: options.max_group.max(1),
        };
        let writer = tokio::spawn(writer.run(queue));
        let stop_poller = match (&location, options.poll_interval) {
            (Location::File(_), Some(every)) => {
                let (stop, stopped) = oneshot::channel();
                tokio::spawn(poll(reads.clone(), Arc::clone(&head), every, stopped));
                Some(stop)
            }
            _ => None,
        };
        Ok(SqliteStore { location: name, readers: reads, jobs, head, writer, stop_poller })
    }

    /// The store's URL, as errors name it (`sqlite:PATH`).
    #[must_use]
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Stops taking requests, waits until every queued write is committed and answered,
    /// and closes the file (checkpointing the WAL into it).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the writer task failed (panicked or was cancelled by
    /// the runtime shutting down); writes it had not answered were not acknowledged.
    pub async fn close(self) -> Result<(), StoreError> {
        let SqliteStore { location, readers, jobs, head, writer, stop_poller } = self;
        drop(jobs);
        drop(stop_poller);
        let finished = writer.await;
        readers.close().await;
        drop(head);
        finished.map_err(|e| StoreError::Unavailable { location: location.to_string(), source: Box::new(e) })
    }

    fn unavailable(&self, source: BoxError) -> StoreError {
        StoreError::Unavailable { location: self.location.to_string(), source }
    }

    fn stopped(&self) -> StoreError {
        self.unavailable(BoxError::from("the store's writer task has stopped"))
    }

    /// Queues `requests` for the writer and waits for their results.
    async fn submit(&self, requests: Vec<AppendRequest>) -> Vec<Result<Appended, StoreError>> {
        let n = requests.len();
        let (reply, answer) = oneshot::channel();
        if self.jobs.send(Job::Append { requests, reply }).await.is_err() {
            return (0..n).map(|_| Err(self.stopped())).collect();
        }
        match answer.await {
            Ok(results) => results,
            Err(_) => (0..n).map(|_| Err(self.stopped())).collect(),
        }
    }

    /// Turns a row that does not decode into the error to report, naming the version by the
    /// row's place in its stream when its own version column is unreadable.
    async fn corrupt(&self, bad: Undecodable, asked: Option<&StreamId>) -> StoreError {
        let place = match (&bad.stream, bad.version, bad.error.position) {
            (Some(stream), None, Some(position)) => {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM events WHERE stream_id = ? AND position < ?")
                    .bind(stream.as_str())
                    .bind(position)
                    .fetch_one(&self.readers)
                    .await
                    .ok()
                    .and_then(rows::from_sql)
            }
            _ => None,
        };
        bad.into_error(asked, place)
    }

    async fn decode_all(&self, rows: &[SqliteRow], asked: Option<&StreamId>) -> Result<Vec<StoredEvent>, StoreError> {
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            match rows::decode_event(row) {
                Ok(e) => events.push(e),
                Err(bad) => return Err(self.corrupt(bad, asked).await),
            }
        }
        Ok(events)
    }
}

/// A pool of exactly one connection that never expires (in memory mode, closing it would
/// drop the database).
fn one_connection() -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
}

/// A note for the error when the file's directory is missing, the usual cause.
fn missing_dir(path: &Path) -> String {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            format!(": the directory {} does not exist", dir.display())
        }
        _ => String::new(),
    }
}

/// Applies the migrations. Two processes opening a new file at once can race to apply the
/// first one; the loser's retry sees it applied.
async fn migrate(pool: &SqlitePool) -> Result<(), sqlx::migrate::MigrateError> {
    match MIGRATOR.run(pool).await {
        Ok(()) => Ok(()),
        Err(_) => MIGRATOR.run(pool).await,
    }
}

/// Wakes subscriptions when another process appends: every `every`, reads the highest
/// position and moves the signal if it grew. Ends when `stop` is sent or dropped. Errors are
/// skipped (the next tick tries again; readers see errors on their own reads).
async fn poll(
    readers: SqlitePool,
    head: Arc<watch::Sender<GlobalPosition>>,
    every: Duration,
    mut stop: oneshot::Receiver<()>,
) {
    while tokio::time::timeout(every, &mut stop).await.is_err() {
        let last = sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(position) FROM events").fetch_one(&readers).await;
        if let Ok(Some(p)) = last
            && let Some(p) = rows::from_sql(p)
        {
            writer::advance(&head, GlobalPosition(p.saturating_add(1)));
        }
    }
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        command: CommandId,
        events: Vec<NewEvent>,
    ) -> Result<Appended, StoreError> {
        if events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        let request = AppendRequest { stream: stream.clone(), expected, command, events };
        self.submit(vec![request]).await.pop().unwrap_or_else(|| Err(self.stopped()))
    }

    async fn append_batch(&self, requests: Vec<AppendRequest>) -> Vec<Result<Appended, StoreError>> {
        if requests.is_empty() {
            return Vec::new();
        }
        self.submit(requests).await
    }

    async fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Snapshot { stream: stream.clone(), snapshot, reply };
        self.jobs.send(job).await.map_err(|_| self.stopped())?;
        answer.await.map_err(|_| self.stopped())?
    }

    async fn find_command(&self, stream: &StreamId, command: CommandId) -> Result<Option<Appended>, StoreError> {
        let row = sqlx::query(
            "SELECT first_version, last_version, first_position, last_position FROM commands
             WHERE stream_id = ? AND command_id = ?",
        )
        .bind(stream.as_str())
        .bind(rows::id_to_blob(command.0).to_vec())
        .fetch_optional(&self.readers)
        .await
        .map_err(|e| self.unavailable(driver(e)))?;
        let Some(row) = row else { return Ok(None) };
        let number = |i: usize| row.try_get::<i64, _>(i).map_err(|e| self.unavailable(driver(e)));
        let done = request::CommandRow {
            first_version: number(0)?,
            last_version: number(1)?,
            first_position: number(2)?,
            last_position: number(3)?,
        };
        done.appended(stream, command).map(Some)
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        let row = sqlx::query("SELECT version, schema, payload FROM snapshots WHERE stream_id = ?")
            .bind(stream.as_str())
            .fetch_optional(&self.readers)
            .await
            .map_err(|e| self.unavailable(driver(e)))?;
        let Some(row) = row else { return Ok(None) };
        let corrupt = |version: u64, column: &'static str, problem: String| StoreError::Corrupt {
            stream: stream.clone(),
            version: StreamVersion(version),
            source: Box::new(BadRecord { table: "snapshots", position: None, column, problem }),
        };
        let version: i64 = row.try_get(0).map_err(|e| corrupt(0, "version", e.to_string()))?;
        let version = rows::from_sql(version).ok_or_else(|| corrupt(0, "version", format!("{version} is negative")))?;
        let schema: i64 = row.try_get(1).map_err(|e| corrupt(version, "schema", e.to_string()))?;
        let schema = u16::try_from(schema).map_err(|_| corrupt(version, "schema", format!("{schema} is not a u16")))?;
        let payload: Vec<u8> = row.try_get(2).map_err(|e| corrupt(version, "payload", e.to_string()))?;
        Ok(Some(Snapshot { version: StreamVersion(version), schema, payload }))
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        // No stored version is past i64::MAX.
        let Some(from_sql) = rows::to_sql(from.0) else { return Ok(Vec::new()) };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE stream_id = ? AND version >= ? ORDER BY version LIMIT ?"
        ))
        .bind(stream.as_str())
        .bind(from_sql)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.readers)
        .await
        .map_err(|e| self.unavailable(driver(e)))?;
        let events = self.decode_all(&rows, Some(stream)).await?;
        // Versions have no gaps: a row where another version should be means one is missing
        // (or was overwritten with a value out of range).
        for (expected, event) in (from.0..).zip(&events) {
            if event.version.0 != expected {
                return Err(request::missing(stream, expected, event));
            }
        }
        Ok(events)
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<StreamVersion>, StoreError> {
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM events WHERE stream_id = ?")
            .bind(stream.as_str())
            .fetch_one(&self.readers)
            .await
            .map_err(|e| self.unavailable(driver(e)))?;
        request::head_version(stream, head)
    }

    async fn read_all(&self, from: GlobalPosition, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let Some(from_sql) = rows::to_sql(from.0) else { return Ok(Vec::new()) };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE position >= ? ORDER BY position LIMIT ?"
        ))
        .bind(from_sql)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.readers)
        .await
        .map_err(|e| self.unavailable(driver(e)))?;
        self.decode_all(&rows, None).await
    }

    async fn subscribe(&self, from: GlobalPosition) -> Result<Subscription<'_>, StoreError> {
        Ok(Subscription::new(self, from, self.head.subscribe(), self.location.to_string()))
    }
}
