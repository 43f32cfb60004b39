//! [`verify`]: replays every stream of a store and checks what must hold of it (invariants
//! 3, 4 and 6 of `DESIGN.md`): versions are gapless from 0, every event decodes, each
//! command's events are stored together and once, chips are conserved after every command,
//! and every snapshot equals the replay up to its version. `showdown verify` prints its
//! [`Report`].

use std::collections::{HashMap, HashSet};
use std::fmt;

use showdown_engine::table::{self, CommandId, Recorded, Table};

use crate::codec::TableCodec;
use crate::error::StoreError;
use crate::service::{decode_snapshot, starts_hand};
use crate::store::EventStore;
use crate::streams::{StreamKind, decode_player, decode_rejection};
use crate::types::{GlobalPosition, Snapshot, StoredEvent, StreamId, StreamVersion};

/// How many events [`verify`] reads at once.
const PAGE: usize = 4096;

/// What [`verify`] checked and found.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Report {
    /// Streams replayed.
    pub streams: u64,
    /// Events read, decoded and applied.
    pub events: u64,
    /// Hands started in them.
    pub hands: u64,
    /// Commands (runs of events with one command id).
    pub commands: u64,
    /// Snapshots compared with the replay.
    pub snapshots: u64,
    /// What is wrong, each naming the stream and version; empty when all is well.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether every check passed.
    #[must_use]
    pub fn is_consistent(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} streams, {} events, {} commands, {} hands, {} snapshots checked: ",
            self.streams, self.events, self.commands, self.hands, self.snapshots
        )?;
        match self.problems.len() {
            0 => f.write_str("consistent"),
            1 => f.write_str("1 problem"),
            n => write!(f, "{n} problems"),
        }
    }
}

/// One thing wrong with a stream.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Problem {
    /// The stream.
    pub stream: StreamId,
    /// The version where it shows.
    pub version: StreamVersion,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}: {}", self.stream, self.version, self.what)
    }
}

/// A table's stream replayed event by event with the checks [`verify`] makes (also run by
/// [`crate::reconcile`] on both branches before it writes anything).
#[derive(Clone, Debug, Default)]
pub(crate) struct CheckedReplay {
    /// The table as far as replayed.
    pub(crate) table: Table,
    /// The version expected next.
    pub(crate) next: StreamVersion,
    /// The command of the last event, and every command seen.
    command: Option<CommandId>,
    commands: HashSet<CommandId>,
}

/// A stream being replayed.
struct Replay {
    checked: CheckedReplay,
    snapshot: Option<Snapshot>,
    /// Stop checking a stream after its first problem: what follows would only echo it.
    broken: bool,
}

/// Replays every stream of `store` (reading all streams in global order) and checks it.
/// Problems in the data are collected in the report, up to a hundred per run, and do not
/// stop the run.
///
/// # Errors
/// Only when the store itself fails ([`StoreError::Unavailable`]); a corrupt record is
/// reported as a problem when the store can still name its stream and version.
pub async fn verify(store: &dyn EventStore, codec: &TableCodec) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let mut replays: HashMap<StreamId, Replay> = HashMap::new();
    // Streams of players and refused commands: the next version expected (None once broken).
    let mut others: HashMap<StreamId, Option<StreamVersion>> = HashMap::new();
    let mut from = GlobalPosition::START;
    loop {
        let page = match store.read_all(from, PAGE).await {
            Ok(page) => page,
            Err(StoreError::Corrupt { stream, version, source }) => {
                report.problems.push(Problem {
                    stream,
                    version,
                    what: format!("the stored record is corrupt: {source}"),
                });
                return Ok(report);
            }
            Err(e) => return Err(e),
        };
        let Some(last) = page.last() else { break };
        from = last.position.next();
        for stored in &page {
            if StreamKind::of(&stored.stream) != StreamKind::Table {
                report.events += 1;
                let next = others.entry(stored.stream.clone()).or_insert_with(|| {
                    report.streams += 1;
                    Some(StreamVersion::FIRST)
                });
                if let Some(expected) = *next
                    && let Err(what) = check_other(stored, expected, codec)
                {
                    report.problems.push(Problem { stream: stored.stream.clone(), version: stored.version, what });
                    *next = None;
                } else if next.is_some() {
                    *next = Some(stored.version.next());
                }
                continue;
            }
            if !replays.contains_key(&stored.stream) {
                let snapshot = store.load_snapshot(&stored.stream).await?;
                let replay = Replay { checked: CheckedReplay::default(), snapshot, broken: false };
                replays.insert(stored.stream.clone(), replay);
                report.streams += 1;
            }
            let r = replays.get_mut(&stored.stream).expect("inserted above");
            report.events += 1;
            if r.broken {
                continue;
            }
            let problem = |what: String| Problem { stream: stored.stream.clone(), version: stored.version, what };
            let found = r.checked.step(stored, codec).map(|(recorded, new_command)| {
                report.commands += u64::from(new_command);
                report.hands += u64::from(starts_hand(&recorded.event));
            });
            if let Err(what) = found {
                r.broken = true;
                report.problems.push(problem(what));
                continue;
            }
            if let Some(s) = &r.snapshot
                && s.version == stored.version
            {
                report.snapshots += 1;
                match decode_snapshot(codec, s) {
                    Some(t) if t == r.checked.table => {}
                    Some(_) => report.problems.push(problem("the snapshot differs from the replay".to_owned())),
                    None => report.problems.push(problem(format!(
                        "the snapshot (schema {}) cannot be decoded by this code; it would be ignored",
                        s.schema
                    ))),
                }
            }
        }
        if report.problems.len() >= 100 {
            return Ok(report);
        }
    }
    // The last command of each stream, and snapshots past every event read (the store let
    // a snapshot run ahead of its stream).
    let mut streams: Vec<_> = replays.into_iter().collect();
    streams.sort_by(|a, b| a.0.cmp(&b.0));
    for (stream, r) in streams {
        if !r.broken && !r.checked.table.chips_conserved() {
            let version = StreamVersion(r.checked.next.0.saturating_sub(1));
            let what = "chips are not conserved after the last command".to_owned();
            report.problems.push(Problem { stream: stream.clone(), version, what });
        }
        if let Some(s) = r.snapshot
            && s.version >= r.checked.next
            && !r.broken
        {
            report.problems.push(Problem {
                stream,
                version: s.version,
                what: format!("a snapshot is stored past the stream's end ({} events)", r.checked.next.0),
            });
        }
    }
    Ok(report)
}

/// Checks one event of a player's or an audit stream: gapless, and it decodes.
fn check_other(stored: &crate::types::StoredEvent, expected: StreamVersion, codec: &TableCodec) -> Result<(), String> {
    if stored.version != expected {
        return Err(format!("versions have a gap: expected {expected} next"));
    }
    let decoded = match StreamKind::of(&stored.stream) {
        StreamKind::Player => decode_player(stored, codec.codec()).map(|_| ()),
        _ => decode_rejection(stored, codec.codec()).map(|_| ()),
    };
    decoded.map_err(|e| format!("the event does not decode: {}", error_chain(&e)))
}

impl CheckedReplay {
    /// Checks and applies the next event of the stream: gapless versions, the event decodes,
    /// chips conserved when a command ends, no command stored twice apart, the clock never
    /// going back, and the event fits the table. Returns the event decoded and whether it
    /// starts a command; on an error (what is wrong, in words) the replay must stop.
    pub(crate) fn step(&mut self, stored: &StoredEvent, codec: &TableCodec) -> Result<(Recorded, bool), String> {
        if stored.version != self.next {
            return Err(format!("versions have a gap: expected {} next", self.next));
        }
        self.next = stored.version.next();
        let recorded = codec.decode(stored).map_err(|e| format!("the event does not decode: {}", error_chain(&e)))?;
        let new_command = self.command != Some(stored.command);
        if new_command {
            // A new command starts: the one before it ended, and the table must be whole.
            if self.command.is_some() && !self.table.chips_conserved() {
                return Err("chips are not conserved after the command before this one".to_owned());
            }
            if !self.commands.insert(stored.command) {
                return Err(format!("command {} is stored twice, apart", stored.command.0));
            }
            self.command = Some(stored.command);
        }
        if recorded.now_ms < self.table.last_now_ms() {
            return Err(format!("the clock goes back: {} ms after {} ms", recorded.now_ms, self.table.last_now_ms()));
        }
        // `apply` trusts its input (the engine decided it); a stored event that decodes but
        // does not fit the table must be reported, not crash the check.
        let table = &mut self.table;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| table::apply(table, &recorded)))
            .map_err(|_| "the event does not fit the table (applying it panicked)".to_owned())?;
        Ok((recorded, new_command))
    }
}

/// An error and its sources, on one line.
#[must_use]
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
