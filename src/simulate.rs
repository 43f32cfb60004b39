//! `showdown simulate`: bot tables played concurrently through the [`TableService`] on a
//! real store. Restartable: each table is loaded from the store (snapshot and later events)
//! and its bots carry on from there, so a run stopped at any instant (even by SIGKILL)
//! continues where the store is.

use std::fs::File;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::ProgressBar;
use std::collections::BTreeMap;

use showdown_engine::player::{Moderation, PlayerCommand, PlayerEnvelope};
use showdown_engine::table::{CommandId, PlayerId, TableCommand};
use showdown_store::players::handle_player;
use showdown_store::service::starts_hand;
use showdown_store::{ServiceError, StreamId, TableService};
use tokio::task::JoinSet;

use crate::bots::TableBot;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimulateOptions {
    /// Tables played at once.
    pub tables: u32,
    /// Hands each table deals in all (across restarts).
    pub hands: u64,
    /// The bots' seed.
    pub seed: u64,
    /// Table `i` is the stream `{prefix}-{i}`.
    pub prefix: String,
    /// Appends a line `STREAM COMMAND-ID` per acknowledged command (for crash tests).
    pub ack_log: Option<PathBuf>,
}

/// What a simulation did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SimulateReport {
    /// Hands the tables had dealt before this run.
    pub hands_before: u64,
    /// Hands dealt in this run.
    pub hands: u64,
    /// Commands accepted in this run.
    pub commands: u64,
    /// Events appended in this run.
    pub events: u64,
    /// Lost races for a table's next version (each decided again).
    pub conflicts: u64,
    /// Commands refused (only when another process plays the same tables).
    pub rejected: u64,
    /// Wall time.
    pub elapsed: Duration,
}

impl SimulateReport {
    fn add(&mut self, other: &SimulateReport) {
        self.hands_before += other.hands_before;
        self.hands += other.hands;
        self.commands += other.commands;
        self.events += other.events;
        self.conflicts += other.conflicts;
        self.rejected += other.rejected;
    }
}

/// The stream of table `i`.
///
/// # Panics
/// If `prefix` makes an invalid stream id (checked by [`simulate`] first).
#[must_use]
pub fn table_stream(prefix: &str, i: u32) -> StreamId {
    StreamId::new(format!("{prefix}-{i}")).expect("checked prefix")
}

/// Plays every table to `options.hands` hands, `progress` counting hands dealt (its length
/// set to the total).
///
/// # Errors
/// A bad prefix, an ack log that cannot be opened or written, or the first table whose
/// store failed or whose stream cannot be read (naming it).
pub async fn simulate(
    service: &TableService,
    options: &SimulateOptions,
    progress: &ProgressBar,
) -> anyhow::Result<SimulateReport> {
    StreamId::new(format!("{}-0", options.prefix)).context("the table prefix makes an invalid stream name")?;
    let ack_log = match &options.ack_log {
        Some(path) => Some(Arc::new(Mutex::new(
            File::options()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the ack log {}", path.display()))?,
        ))),
        None => None,
    };
    progress.set_length(u64::from(options.tables) * options.hands);
    let started = Instant::now();
    let bot = TableBot::new(options.seed, options.hands);
    let mut tasks = JoinSet::new();
    for i in 0..options.tables {
        let (service, progress, ack_log) = (service.clone(), progress.clone(), ack_log.clone());
        let stream = table_stream(&options.prefix, i);
        tasks.spawn(async move {
            play_table(&service, &stream, bot, u64::from(i), &progress, ack_log.as_deref())
                .await
                .with_context(|| format!("table {stream}"))
        });
    }
    let mut report = SimulateReport::default();
    while let Some(done) = tasks.join_next().await {
        report.add(&done.context("a table task panicked")??);
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

async fn play_table(
    service: &TableService,
    stream: &StreamId,
    bot: TableBot,
    salt: u64,
    progress: &ProgressBar,
    ack_log: Option<&Mutex<File>>,
) -> anyhow::Result<SimulateReport> {
    let mut loaded = service.load(stream).await?;
    let mut report = SimulateReport { hands_before: loaded.table().hand_no().0, ..SimulateReport::default() };
    progress.inc(report.hands_before);
    loop {
        let events = loaded.events();
        let Some(command) = bot.next(loaded.table(), events, salt) else { break };
        if let TableCommand::SitDown { player, .. } = command.command {
            register_bot(service, player, command.now_ms).await?;
        }
        let handled = match service.handle(&mut loaded, &command).await {
            Ok(handled) => handled,
            Err(ServiceError::Rejected { .. }) => {
                // Someone else moved the table on; the bots choose again from its state.
                report.rejected += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(log) = ack_log {
            let line = format!("{stream} {:032x}\n", command.id.0);
            // One write per line: it reaches the kernel before the next command, so a
            // killed process never loses an acknowledgement it made.
            log.lock().map_err(|_| anyhow::anyhow!("the ack log lock is poisoned"))?.write_all(line.as_bytes())?;
        }
        report.commands += 1;
        report.conflicts += u64::from(handled.conflicts);
        report.events += handled.events.len() as u64;
        let hands = handled.events.iter().filter(|r| starts_hand(&r.event)).count() as u64;
        report.hands += hands;
        progress.inc(hands);
    }
    Ok(report)
}

/// Gives a bot a profile before it first sits down (a few change preferences or upload an
/// avatar, so that every kind of profile event is stored). Command ids are derived from the
/// player, so a restarted simulation stores nothing twice.
async fn register_bot(service: &TableService, player: PlayerId, now_ms: u64) -> anyhow::Result<()> {
    let (store, codec) = (&**service.store(), service.codec());
    let mut commands = vec![PlayerCommand::Register { player, display_name: format!("bot-{}", player.0) }];
    if player.0.is_multiple_of(3) {
        let set =
            BTreeMap::from([("theme".to_owned(), "dark".to_owned()), ("four_colour".to_owned(), "on".to_owned())]);
        commands.push(PlayerCommand::SetPreferences { set, unset: Vec::new() });
    }
    if player.0.is_multiple_of(5) {
        let id = format!("upload-{}", player.0);
        commands
            .push(PlayerCommand::SetAvatar { id: id.clone(), url: Some(format!("https://avatars.invalid/{id}.png")) });
        commands.push(PlayerCommand::ModerateAvatar { id, verdict: Moderation::Approved });
    }
    for (i, command) in commands.into_iter().enumerate() {
        let id = CommandId((0xB07 << 112) | (u128::from(player.0) << 8) | i as u128);
        let envelope = PlayerEnvelope { id, now_ms, command };
        // A command stored by an earlier run is found by its id and not applied again.
        handle_player(store, codec, player, &envelope).await.with_context(|| format!("registering {player}"))?;
    }
    Ok(())
}
