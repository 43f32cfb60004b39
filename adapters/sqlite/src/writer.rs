//! Group commit: the one task that writes.
//!
//! SQLite commits one transaction at a time and, with `synchronous=FULL`, each commit waits
//! for an `fsync`. So every write of a [`crate::SqliteStore`] (appends, batches, snapshots)
//! is sent as a [`Job`] to a single writer task that owns the write connection. The task
//! takes everything queued (up to [`crate::SqliteOptions::max_group`] jobs), runs it all in
//! one `BEGIN IMMEDIATE` transaction, commits once, then answers each job: sixteen tables
//! appending at once share one `fsync`.
//!
//! Inside the transaction each request is checked on its own, in queue order, exactly as
//! `MemoryStore` does (empty append, then the command id, then the expected version); a
//! request that fails a check writes nothing and leaves the others alone. The group path
//! (`crate::group`) checks every request with one query and inserts the accepted ones with
//! a few multi-row statements, so a group costs a handful of statements whatever its size.
//! If one of those statements hits a constraint (another process cannot write inside
//! `BEGIN IMMEDIATE`, so that is a backstop), the transaction is rolled back and the group
//! is run again one request at a time (`crate::request`), each under a savepoint, where the
//! violation is answered as the conflict it stands for. Any other driver error aborts the
//! transaction and every request of the group gets [`StoreError::Unavailable`]: none of them
//! was stored. No answer is sent before the commit has returned.

use std::sync::Arc;

use showdown_store::{AppendRequest, Appended, GlobalPosition, Snapshot, StoreError, StreamId};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::SharedError;
use crate::{group, request};

/// A write for the writer task, with where to send its result.
pub(crate) enum Job {
    /// Appends, each independent, answered in order.
    Append { requests: Vec<AppendRequest>, reply: oneshot::Sender<Vec<Result<Appended, StoreError>>> },
    /// A snapshot to keep if it is newer than the stored one.
    Snapshot { stream: StreamId, snapshot: Snapshot, reply: oneshot::Sender<Result<(), StoreError>> },
}

/// What a job came to, before it is sent.
pub(crate) enum Outcome {
    /// One result per request.
    Append(Vec<Result<Appended, StoreError>>),
    /// The snapshot's result.
    Snapshot(Result<(), StoreError>),
}

/// What a committed group came to.
pub(crate) struct Committed {
    /// One per job, in order.
    pub outcomes: Vec<Outcome>,
    /// The position after the last event appended, if any was.
    pub head: Option<GlobalPosition>,
}

/// The writer task's state.
pub(crate) struct Writer {
    /// One connection (the pool is capped at one); in memory mode, also the readers' pool.
    pub pool: SqlitePool,
    /// Whether to close `pool` when the task ends (not when readers share it).
    pub close_pool: bool,
    /// The position after the last committed event, for subscriptions.
    pub head: Arc<watch::Sender<GlobalPosition>>,
    /// How errors name the store.
    pub location: Arc<str>,
    /// The most jobs per transaction.
    pub max_group: usize,
}

impl Writer {
    /// Runs until every sender is dropped and the queue is drained: whatever was queued
    /// when the store was dropped or closed is still committed and answered.
    pub(crate) async fn run(self, mut queue: mpsc::Receiver<Job>) {
        let mut jobs = Vec::with_capacity(self.max_group);
        while queue.recv_many(&mut jobs, self.max_group).await > 0 {
            self.commit_group(&mut jobs).await;
        }
        if self.close_pool {
            self.pool.close().await;
        }
    }

    /// Runs `jobs` in one transaction and answers them, leaving `jobs` empty.
    async fn commit_group(&self, jobs: &mut Vec<Job>) {
        match self.transaction(jobs).await {
            Ok(Committed { outcomes, head }) => {
                if let Some(head) = head {
                    advance(&self.head, head);
                }
                for (job, outcome) in jobs.drain(..).zip(outcomes) {
                    // A caller that stopped waiting (a cancelled future) gets no answer; its
                    // write is committed all the same, and a retry is deduplicated.
                    match (job, outcome) {
                        (Job::Append { reply, .. }, Outcome::Append(results)) => drop(reply.send(results)),
                        (Job::Snapshot { reply, .. }, Outcome::Snapshot(result)) => drop(reply.send(result)),
                        (job, _) => {
                            let e = sqlx::Error::Protocol("the writer matched a result to the wrong job".to_owned());
                            self.fail(job, &SharedError(Arc::new(e)));
                        }
                    }
                }
            }
            Err(e) => {
                let e = SharedError(Arc::new(e));
                for job in jobs.drain(..) {
                    self.fail(job, &e);
                }
            }
        }
    }

    /// Answers `job` with `error`: its group was not committed.
    fn fail(&self, job: Job, error: &SharedError) {
        let unavailable =
            || StoreError::Unavailable { location: self.location.to_string(), source: Box::new(error.clone()) };
        match job {
            Job::Append { requests, reply } => {
                let results = requests
                    .iter()
                    .map(|r| if r.events.is_empty() { Err(StoreError::EmptyAppend) } else { Err(unavailable()) })
                    .collect();
                drop(reply.send(results));
            }
            Job::Snapshot { reply, .. } => drop(reply.send(Err(unavailable()))),
        }
    }

    /// Runs every job in one transaction: the group path, or one request at a time if the
    /// group path hit a constraint. `Err` means nothing was committed.
    async fn transaction(&self, jobs: &[Job]) -> Result<Committed, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        match group::run(&mut tx, jobs, &self.location).await {
            Ok(committed) => {
                tx.commit().await?;
                return Ok(committed);
            }
            Err(group::Failed::Driver(e)) => return Err(e),
            Err(group::Failed::Constraint) => tx.rollback().await?,
        }
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let committed = one_by_one(&mut tx, jobs, &self.location).await?;
        tx.commit().await?;
        Ok(committed)
    }
}

/// Runs every job one request at a time, each append under its own savepoint.
pub(crate) async fn one_by_one(
    conn: &mut SqliteConnection,
    jobs: &[Job],
    location: &str,
) -> Result<Committed, sqlx::Error> {
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut head = None;
    for job in jobs {
        match job {
            Job::Append { requests, .. } => {
                let mut results = Vec::with_capacity(requests.len());
                for r in requests {
                    let result = request::append(conn, r, location).await?;
                    if let Ok(a) = &result
                        && !a.deduplicated
                    {
                        head = Some(a.last_position.next());
                    }
                    results.push(result);
                }
                outcomes.push(Outcome::Append(results));
            }
            Job::Snapshot { stream, snapshot, .. } => {
                outcomes.push(Outcome::Snapshot(request::save_snapshot(conn, stream, snapshot).await?));
            }
        }
    }
    Ok(Committed { outcomes, head })
}

/// Moves the change signal forward to `head` (never back: the poller may have seen further).
pub(crate) fn advance(signal: &watch::Sender<GlobalPosition>, head: GlobalPosition) {
    signal.send_if_modified(|h| {
        let moved = head > *h;
        if moved {
            *h = head;
        }
        moved
    });
}
