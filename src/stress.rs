//! `showdown stress`: writers race on one table through the [`TableService`], and the
//! stream is checked afterwards: every acknowledged command stored exactly once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use showdown_store::{CommandId, EventStore, ServiceError, StoredEvent, StreamId, StreamVersion, TableService};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::bots::TableBot;

/// What a stress run saw.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct StressReport {
    /// Commands accepted and stored.
    pub appended: u64,
    /// Races lost for the table's next version.
    pub conflicts: u64,
    /// Commands decided again after a lost race (a conflict, then a retry).
    pub retries: u64,
    /// Acknowledged commands sent again (as after a lost answer), each answered as a
    /// duplicate without storing anything.
    pub resent: u64,
    /// Commands the table refused once the race was lost (the hand moved on).
    pub rejected: u64,
    /// Commands given up after too many lost races.
    pub gave_up: u64,
    /// Acknowledged commands missing from the stream: must be 0.
    pub lost: u64,
    /// Commands stored more than once: must be 0.
    pub duplicated: u64,
    /// Events in the stream at the end.
    pub events: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// `writers` tasks each send `commands` bot commands to the table `stream` at once (each
/// deciding on its own copy of the table), re-sending every fifth acknowledged command.
/// Then reads the stream back and counts lost and duplicated commands.
///
/// # Errors
/// A store failure, or a re-sent command that was stored again or refused.
pub async fn stress(
    service: &TableService,
    stream: &StreamId,
    writers: u32,
    commands: u64,
    seed: u64,
) -> anyhow::Result<StressReport> {
    let started = Instant::now();
    let bot = TableBot::new(seed, u64::MAX);
    let barrier = Arc::new(Barrier::new(writers as usize));
    let mut tasks = JoinSet::new();
    for w in 0..writers {
        let (service, stream, barrier) = (service.clone(), stream.clone(), Arc::clone(&barrier));
        tasks.spawn(async move { writer(&service, &stream, bot, u64::from(w), commands, &barrier).await });
    }
    let mut report = StressReport::default();
    let mut acknowledged = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (r, acks) = done.context("a writer panicked")??;
        report.appended += r.appended;
        report.conflicts += r.conflicts;
        report.retries += r.retries;
        report.resent += r.resent;
        report.rejected += r.rejected;
        report.gave_up += r.gave_up;
        acknowledged.extend(acks);
    }
    let stored = read_stream(&**service.store(), stream).await?;
    report.events = stored.len() as u64;
    let (lost, duplicated) = count_lost_and_duplicated(&stored, &acknowledged);
    report.lost = lost;
    report.duplicated = duplicated;
    report.elapsed = started.elapsed();
    Ok(report)
}

async fn writer(
    service: &TableService,
    stream: &StreamId,
    bot: TableBot,
    w: u64,
    commands: u64,
    barrier: &Barrier,
) -> anyhow::Result<(StressReport, Vec<CommandId>)> {
    let mut report = StressReport::default();
    let mut acks = Vec::new();
    let mut loaded = service.load(stream).await?;
    barrier.wait().await;
    for k in 0..commands {
        let events = loaded.events();
        let Some(command) = bot.next(loaded.table(), events, (w << 40) | k) else { break };
        match service.handle(&mut loaded, &command).await {
            Ok(handled) => {
                anyhow::ensure!(!handled.duplicate, "writer {w}: a new command was taken for a duplicate");
                report.appended += 1;
                report.conflicts += u64::from(handled.conflicts);
                report.retries += u64::from(handled.conflicts);
                acks.push(command.id);
                if k % 5 == 0 {
                    let again = service.handle(&mut loaded, &command).await?;
                    anyhow::ensure!(
                        again.duplicate && again.appended.map(|a| a.original()) == handled.appended,
                        "writer {w}: a re-sent command was not answered with its first result: {again:?}"
                    );
                    report.resent += 1;
                }
            }
            Err(ServiceError::Rejected { conflicts, .. }) => {
                report.rejected += 1;
                report.conflicts += u64::from(conflicts);
                report.retries += u64::from(conflicts);
            }
            Err(ServiceError::Conflict { attempts, .. }) => {
                report.gave_up += 1;
                report.conflicts += u64::from(attempts);
                report.retries += u64::from(attempts - 1);
            }
            Err(e) => return Err(e).with_context(|| format!("writer {w}")),
        }
        // Let the others in: the race is the point.
        tokio::task::yield_now().await;
    }
    Ok((report, acks))
}

async fn read_stream(store: &dyn EventStore, stream: &StreamId) -> anyhow::Result<Vec<StoredEvent>> {
    let mut out: Vec<StoredEvent> = Vec::new();
    loop {
        let page = store.read_stream(stream, StreamVersion(out.len() as u64), 4096).await?;
        if page.is_empty() {
            return Ok(out);
        }
        out.extend(page);
    }
}

/// Acknowledged commands missing from `stored`, and commands stored in more than one run
/// of events.
#[must_use]
pub fn count_lost_and_duplicated(stored: &[StoredEvent], acknowledged: &[CommandId]) -> (u64, u64) {
    let mut runs: HashMap<CommandId, u64> = HashMap::new();
    let mut previous = None;
    for e in stored {
        if previous != Some(e.command) {
            *runs.entry(e.command).or_default() += 1;
            previous = Some(e.command);
        }
    }
    let acknowledged: HashSet<CommandId> = acknowledged.iter().copied().collect();
    let lost = acknowledged.iter().filter(|c| !runs.contains_key(c)).count() as u64;
    let duplicated = runs.values().filter(|&&n| n > 1).count() as u64;
    (lost, duplicated)
}
