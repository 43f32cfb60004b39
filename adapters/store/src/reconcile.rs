//! Reconciling two histories of one table: when two nodes both ran a table from the same
//! stream version (a failover split-brain, two regions), each holds a branch. [`reconcile`]
//! ([`plan`], then [`commit`]) reads the table's stream from both stores, finds the fork,
//! keeps one branch by a deterministic rule and appends to the kept (canonical) stream the
//! compensation that voids the other: one [`TableEvent::HandVoided`] per hand of the losing
//! branch and a [`TableEvent::BranchVoided`] with the money that crossed the table's edge
//! there.
//! `docs/RECONCILE.md` explains the rule and the chips.
//!
//! - **Fork**: the last version at which both streams hold the same event (event id,
//!   command, schema, type and payload). Streams that differ at version 0 are not branches of
//!   one table ([`ReconcileError::NotAFork`]); when one stream is the other plus more events
//!   nothing diverged ([`Outcome::Ahead`], nothing is copied).
//! - **Checks before any write**: both streams are decoded and replayed with the engine from
//!   version 0 (gapless versions, the clock never going back, chips conserved after every
//!   command and at the end), and the losing branch's account must add up per player
//!   ([`showdown_engine::table::compensation`]). A stream that fails is named with its side
//!   and version, and nothing is written.
//! - **Canonical rule** (symmetric: swapping the two stores chooses the same stream):
//!   [`Rule`], in order: a stream that already recorded voiding a branch from this fork
//!   stays canonical; else more hands finished after the fork; else more events after the
//!   fork; else the smaller SHA-256 over the branch's events.
//! - **Idempotent**: the compensation's command id is derived from the stream, the fork, the
//!   voided range and both branch hashes, and a second run finds the `BranchVoided` already
//!   stored and writes nothing ([`Outcome::AlreadyReconciled`]). If the losing node kept
//!   writing after a reconciliation, a later run voids only what it added.
//! - **No clock**: the compensation's host time is the latest time the canonical stream
//!   recorded, so a run is a pure function of the two streams and never moves the live
//!   table's clock.

use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest, Sha256};
use showdown_engine::table::compensation::{BranchTally, VoidedHand};
use showdown_engine::table::{self, CommandId, EdgeVoid, PlayerId, Recorded, SCHEMA_VERSION, Table, TableEvent};

use crate::codec::TableCodec;
use crate::error::{CodecError, ErrorKind, StoreError};
use crate::store::EventStore;
use crate::streams::{META_COMMAND, StreamKind};
use crate::types::{Appended, ExpectedVersion, StoredEvent, StreamId, StreamVersion};
use crate::verify::CheckedReplay;

/// The kind of command the compensation's first event names in its metadata (the audit
/// log's `kind`).
pub const RECONCILE_COMMAND: &str = "Reconcile";

/// How many events a read asks for at once.
const PAGE: usize = 1024;

/// One of the two stores given to [`reconcile`]. The outcome does not depend on which is
/// which; the names only say where things are.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Side {
    /// The first store (the command line's `--store`).
    Store,
    /// The second store (the command line's `--branch`).
    Branch,
}

impl Side {
    /// The other side.
    #[must_use]
    pub const fn other(self) -> Side {
        match self {
            Side::Store => Side::Branch,
            Side::Branch => Side::Store,
        }
    }

    /// `"store"` or `"branch"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Side::Store => "store",
            Side::Branch => "branch",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One stream's events after the fork.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BranchSummary {
    /// Whose.
    pub side: Side,
    /// Events after the fork.
    pub events: u64,
    /// Hands dealt after the fork.
    pub hands_started: u64,
    /// Hands that ended after the fork (a hand running at the fork counts when it ends).
    pub hands_finished: u64,
    /// The stream's last version.
    pub last_version: StreamVersion,
    /// SHA-256 over the events after the fork ([`branch_hash`]).
    pub hash: [u8; 32],
}

/// Why a stream is the canonical one; the first rule that tells the branches apart.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rule {
    /// It already recorded voiding a branch from this fork (a `BranchVoided` at this
    /// version): a decision once made stands, whatever either branch did since.
    Recorded {
        /// Where that `BranchVoided` is.
        at: StreamVersion,
    },
    /// More hands finished after the fork (less play is voided).
    MoreFinishedHands,
    /// As many finished hands, more events after the fork.
    MoreEvents,
    /// As many of both: the smaller SHA-256 over its events after the fork.
    SmallerHash,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Recorded { at } => write!(f, "it already voided a branch from this fork ({at})"),
            Rule::MoreFinishedHands => f.write_str("more hands finished after the fork"),
            Rule::MoreEvents => f.write_str("as many hands finished, more events after the fork"),
            Rule::SmallerHash => f.write_str("as many hands and events, the smaller branch hash"),
        }
    }
}

/// What voids the losing branch: the events to append to the canonical stream, and what
/// they say.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Compensation {
    /// The branch voided.
    pub losing: Side,
    /// The first version of the losing branch voided.
    pub from: StreamVersion,
    /// The last version voided (the losing stream's last).
    pub through: StreamVersion,
    /// SHA-256 over the losing branch from the fork through `through`.
    pub branch: [u8; 32],
    /// The void hands, in the order they were dealt.
    pub hands: Vec<VoidedHand>,
    /// Money across the table's edge on the losing branch, per player and seat.
    pub edge: Vec<EdgeVoid>,
    /// The command id the events are appended under.
    pub command: CommandId,
    /// The canonical stream's last version: the events are appended right after it.
    pub expected: StreamVersion,
    /// The events, as recorded.
    pub events: Vec<Recorded>,
}

impl Compensation {
    /// Per player, what the void hands took from them less what they gave them
    /// (`committed − awarded`): the `void_refund` the ledger books for the hands (negative:
    /// the player had won, and the win is taken back). Players at zero are left out.
    #[must_use]
    pub fn hand_refunds(&self) -> BTreeMap<PlayerId, i128> {
        let mut out = BTreeMap::new();
        for m in self.hands.iter().flat_map(|h| &h.moves) {
            *out.entry(m.player).or_insert(0) += i128::from(m.committed.0) - i128::from(m.awarded.0);
        }
        out.retain(|_, v| *v != 0);
        out
    }

    /// Per player, what a wallet gives back for the money that crossed the edge on the
    /// losing branch (`bought_in − cashed_out`; negative: to reclaim). Players at zero are
    /// left out.
    #[must_use]
    pub fn wallet_refunds(&self) -> BTreeMap<PlayerId, i128> {
        let mut out = BTreeMap::new();
        for e in &self.edge {
            *out.entry(e.player).or_insert(0) += e.wallet_refund();
        }
        out.retain(|_, v| *v != 0);
        out
    }
}

/// What the two streams are to each other, and what reconciling them does.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Both streams hold the same events.
    InStep,
    /// One stream is the other plus more events: nothing diverged and nothing is written
    /// (copying the events over is a job for replication, not for reconciliation).
    Ahead {
        /// The stream with more events.
        side: Side,
        /// How many more.
        events: u64,
    },
    /// The streams diverged, and the canonical one already voids the losing branch through
    /// its last event: nothing to write.
    AlreadyReconciled {
        /// The canonical stream.
        canonical: Side,
        /// Why it is ([`Rule::Recorded`]).
        rule: Rule,
        /// The last version of the losing branch voided.
        through: StreamVersion,
    },
    /// The streams diverged: the compensation to append to the canonical stream.
    Compensate {
        /// The canonical stream, which receives the compensation.
        canonical: Side,
        /// Why it is canonical.
        rule: Rule,
        /// The compensation.
        compensation: Compensation,
    },
}

/// What [`plan`] found and [`reconcile`] did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Reconciliation {
    /// The table's stream.
    pub stream: StreamId,
    /// The last version both streams hold the same event at.
    pub fork: StreamVersion,
    /// The first store's stream after the fork.
    pub store: BranchSummary,
    /// The second store's stream after the fork.
    pub branch: BranchSummary,
    /// What they are to each other.
    pub outcome: Outcome,
    /// Where [`reconcile`] appended the compensation (`deduplicated` when another run had
    /// appended the same events first); `None` from [`plan`], or when nothing was written.
    pub appended: Option<Appended>,
}

impl Reconciliation {
    /// The summary of one side.
    #[must_use]
    pub const fn summary(&self, side: Side) -> &BranchSummary {
        match side {
            Side::Store => &self.store,
            Side::Branch => &self.branch,
        }
    }
}

/// Why two streams cannot be reconciled. Nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReconcileError {
    /// The stream's name is reserved for another kind of stream.
    #[error("`{stream}` is not a table's stream: the name is reserved for {kind} streams")]
    NotATable {
        /// The stream.
        stream: StreamId,
        /// What it holds (`player`, `audit`).
        kind: &'static str,
    },
    /// Neither store has the stream.
    #[error("no table `{stream}` in either store (no stream of that name)")]
    NoSuchTable {
        /// The stream.
        stream: StreamId,
    },
    /// One store has the stream and the other does not.
    #[error("table `{stream}` is in the {} but not in the {missing}: there is nothing to reconcile it with", .missing.other())]
    Missing {
        /// The stream.
        stream: StreamId,
        /// The side without it.
        missing: Side,
    },
    /// The streams differ from their first event on.
    #[error(
        "`{stream}` is not one table in both stores: the streams differ from their first event (version 0), so neither is a branch of the other"
    )]
    NotAFork {
        /// The stream.
        stream: StreamId,
    },
    /// A stream does not decode or replay.
    #[error("`{stream}` in the {} at {version} does not replay: {what}", .side.map_or("both stores", Side::name))]
    Replay {
        /// The stream.
        stream: StreamId,
        /// Which store (`None`: the part both hold).
        side: Option<Side>,
        /// The version where it fails.
        version: StreamVersion,
        /// What is wrong.
        what: String,
    },
    /// Both streams record voiding a branch from this fork: each claims to be canonical.
    #[error(
        "`{stream}`: both streams record voiding the other from the fork at {fork} (the store at {store_at}, the branch at {branch_at}); an operator must choose"
    )]
    Conflicted {
        /// The stream.
        stream: StreamId,
        /// The fork.
        fork: StreamVersion,
        /// The first store's `BranchVoided`.
        store_at: StreamVersion,
        /// The second store's `BranchVoided`.
        branch_at: StreamVersion,
    },
    /// The canonical stream moved on between the read and the append.
    #[error("`{stream}` in the {side} moved on past {expected} while reconciling; nothing was written: run it again")]
    Moved {
        /// The stream.
        stream: StreamId,
        /// The canonical side.
        side: Side,
        /// The version it was at when read.
        expected: StreamVersion,
        /// The store's answer.
        #[source]
        source: StoreError,
    },
    /// The compensation cannot be encoded.
    #[error("`{stream}`: cannot encode the compensation")]
    Encode {
        /// The stream.
        stream: StreamId,
        /// Why.
        #[source]
        source: CodecError,
    },
    /// A store failed.
    #[error("`{stream}`: the {side} failed")]
    Store {
        /// The stream.
        stream: StreamId,
        /// Which store.
        side: Side,
        /// Why.
        #[source]
        source: StoreError,
    },
}

impl ReconcileError {
    /// How to handle it: [`ErrorKind::Rejected`] for input that cannot be reconciled,
    /// [`ErrorKind::Corrupt`] for a stream that does not replay, [`ErrorKind::Conflict`] when
    /// the canonical stream moved on (run again), else the store's kind.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            ReconcileError::NotATable { .. }
            | ReconcileError::NoSuchTable { .. }
            | ReconcileError::Missing { .. }
            | ReconcileError::NotAFork { .. }
            | ReconcileError::Conflicted { .. }
            | ReconcileError::Encode { .. } => ErrorKind::Rejected,
            ReconcileError::Replay { .. } => ErrorKind::Corrupt,
            ReconcileError::Moved { .. } => ErrorKind::Conflict,
            ReconcileError::Store { source, .. } => source.kind(),
        }
    }
}

/// SHA-256 over a run of stored events: for each, its event id (16 bytes, little-endian),
/// its payload's length (8 bytes, little-endian) and its payload. Names a branch.
#[must_use]
pub fn branch_hash(events: &[StoredEvent]) -> [u8; 32] {
    let mut h = Sha256::new();
    for e in events {
        h.update(e.event_id.0.to_le_bytes());
        h.update((e.payload.len() as u64).to_le_bytes());
        h.update(&e.payload);
    }
    h.finalize().into()
}

/// Whether two stored events are the same event (what the fork compares).
fn same_event(a: &StoredEvent, b: &StoredEvent) -> bool {
    a.event_id == b.event_id
        && a.command == b.command
        && a.schema == b.schema
        && a.event_type == b.event_type
        && a.payload == b.payload
}

/// Reads a whole stream.
///
/// # Errors
/// The store's error.
pub async fn read_stream_all(store: &dyn EventStore, stream: &StreamId) -> Result<Vec<StoredEvent>, StoreError> {
    let mut out = Vec::new();
    loop {
        let page = store.read_stream(stream, StreamVersion(out.len() as u64), PAGE).await?;
        let n = page.len();
        out.extend(page);
        if n < PAGE {
            return Ok(out);
        }
    }
}

/// Reads the table's stream from both stores and works out what reconciling them does,
/// writing nothing.
///
/// # Errors
/// See [`analyze`]; [`ReconcileError::Store`] when a store fails.
pub async fn plan(
    store: &dyn EventStore,
    branch: &dyn EventStore,
    stream: &StreamId,
    codec: &TableCodec,
) -> Result<Reconciliation, ReconcileError> {
    check_kind(stream)?;
    let failed = |side| move |source| ReconcileError::Store { stream: stream.clone(), side, source };
    let a = read_stream_all(store, stream).await.map_err(failed(Side::Store))?;
    let b = read_stream_all(branch, stream).await.map_err(failed(Side::Branch))?;
    analyze(stream, &a, &b, codec)
}

/// Reconciles the table's stream in two stores: [`plan`], then [`commit`].
///
/// # Errors
/// As [`plan`] and [`commit`].
pub async fn reconcile(
    store: &dyn EventStore,
    branch: &dyn EventStore,
    stream: &StreamId,
    codec: &TableCodec,
) -> Result<Reconciliation, ReconcileError> {
    let r = plan(store, branch, stream, codec).await?;
    commit(r, store, branch, codec).await
}

/// Appends a plan's compensation (if it has one) to the canonical stream, in whichever of
/// the two stores holds it, right after the version the plan read; nothing is written to
/// the other store. A plan whose compensation another run appended first gets that
/// append's result back, marked `deduplicated`.
///
/// # Errors
/// [`ReconcileError::Moved`] if the canonical stream moved on since the plan (nothing
/// written: plan again), [`ReconcileError::Encode`], or [`ReconcileError::Store`].
pub async fn commit(
    mut r: Reconciliation,
    store: &dyn EventStore,
    branch: &dyn EventStore,
    codec: &TableCodec,
) -> Result<Reconciliation, ReconcileError> {
    let Outcome::Compensate { canonical, compensation, .. } = &r.outcome else { return Ok(r) };
    let stream = &r.stream;
    let target = match canonical {
        Side::Store => store,
        Side::Branch => branch,
    };
    let mut events = codec
        .encode_all(stream, &compensation.events)
        .map_err(|source| ReconcileError::Encode { stream: stream.clone(), source })?;
    if let Some(first) = events.first_mut() {
        first.metadata.insert(META_COMMAND.to_owned(), RECONCILE_COMMAND.to_owned());
    }
    let expected = ExpectedVersion::Exact(compensation.expected);
    match target.append(stream, expected, compensation.command, events).await {
        Ok(appended) => r.appended = Some(appended),
        Err(source @ StoreError::WrongExpectedVersion { .. }) => {
            return Err(ReconcileError::Moved {
                stream: stream.clone(),
                side: *canonical,
                expected: compensation.expected,
                source,
            });
        }
        Err(source) => return Err(ReconcileError::Store { stream: stream.clone(), side: *canonical, source }),
    }
    Ok(r)
}

fn check_kind(stream: &StreamId) -> Result<(), ReconcileError> {
    match StreamKind::of(stream) {
        StreamKind::Table => Ok(()),
        StreamKind::Player => Err(ReconcileError::NotATable { stream: stream.clone(), kind: "player" }),
        StreamKind::Audit => Err(ReconcileError::NotATable { stream: stream.clone(), kind: "audit" }),
    }
}

/// A stream replayed event by event with `verify`'s checks, counting hands.
#[derive(Clone)]
struct Replayer {
    checked: CheckedReplay,
    hands_started: u64,
    hands_finished: u64,
}

impl Replayer {
    fn step(&mut self, stored: &StoredEvent, codec: &TableCodec) -> Result<Recorded, String> {
        let (recorded, _) = self.checked.step(stored, codec)?;
        match &recorded.event {
            TableEvent::HandStarted { .. } => self.hands_started += 1,
            TableEvent::Hand { event: showdown_engine::hand::Event::HandEnded { .. }, .. } => self.hands_finished += 1,
            _ => {}
        }
        Ok(recorded)
    }
}

/// A branch replayed from the fork.
struct Branch<'a> {
    side: Side,
    stored: &'a [StoredEvent],
    recorded: Vec<Recorded>,
    replayer: Replayer,
    summary: BranchSummary,
}

/// Works out what reconciling two copies of a table's stream does (the pure part of
/// [`plan`]): `store` and `branch` are the whole stream as each store holds it.
///
/// # Errors
/// [`ReconcileError::NotATable`], [`ReconcileError::NoSuchTable`],
/// [`ReconcileError::Missing`], [`ReconcileError::NotAFork`], [`ReconcileError::Replay`]
/// for a stream that does not decode or replay (or whose losing branch does not add up), or
/// [`ReconcileError::Conflicted`].
pub fn analyze(
    stream: &StreamId,
    store: &[StoredEvent],
    branch: &[StoredEvent],
    codec: &TableCodec,
) -> Result<Reconciliation, ReconcileError> {
    check_kind(stream)?;
    match (store.is_empty(), branch.is_empty()) {
        (true, true) => return Err(ReconcileError::NoSuchTable { stream: stream.clone() }),
        (false, true) => return Err(ReconcileError::Missing { stream: stream.clone(), missing: Side::Branch }),
        (true, false) => return Err(ReconcileError::Missing { stream: stream.clone(), missing: Side::Store }),
        (false, false) => {}
    }
    let common = store.iter().zip(branch).take_while(|(a, b)| same_event(a, b)).count();
    if common == 0 {
        return Err(ReconcileError::NotAFork { stream: stream.clone() });
    }
    let fork = StreamVersion(common as u64 - 1);
    let fail = |side, version, what| replay_error(stream, side, version, what);

    // The part both hold, once; then each branch from the table at the fork.
    let mut prefix = Replayer { checked: CheckedReplay::default(), hands_started: 0, hands_finished: 0 };
    for stored in &store[..common] {
        prefix.step(stored, codec).map_err(|what| fail(None, stored.version, what))?;
    }
    let replay = |side, events| replay_branch(stream, side, events, common, &prefix, codec);
    let a = replay(Side::Store, store)?;
    let b = replay(Side::Branch, branch)?;
    let mut r = Reconciliation {
        stream: stream.clone(),
        fork,
        store: a.summary.clone(),
        branch: b.summary.clone(),
        outcome: Outcome::InStep,
        appended: None,
    };
    match (a.stored.is_empty(), b.stored.is_empty()) {
        (true, true) => return Ok(r),
        (false, true) => {
            r.outcome = Outcome::Ahead { side: Side::Store, events: a.summary.events };
            return Ok(r);
        }
        (true, false) => {
            r.outcome = Outcome::Ahead { side: Side::Branch, events: b.summary.events };
            return Ok(r);
        }
        (false, false) => {}
    }

    // Which branch stays.
    let (recorded_a, recorded_b) = (voids_from(&a, fork), voids_from(&b, fork));
    let (canonical, rule) = match (recorded_a.first(), recorded_b.first()) {
        (Some(x), Some(y)) => {
            return Err(ReconcileError::Conflicted { stream: stream.clone(), fork, store_at: x.at, branch_at: y.at });
        }
        (Some(x), None) => (Side::Store, Rule::Recorded { at: x.at }),
        (None, Some(y)) => (Side::Branch, Rule::Recorded { at: y.at }),
        (None, None) => choose(&a.summary, &b.summary),
    };
    let (kept, lost, records) = match canonical {
        Side::Store => (&a, &b, &recorded_a),
        Side::Branch => (&b, &a, &recorded_b),
    };

    // What of the losing branch is voided already: the furthest record whose hash is that
    // of the losing branch from the fork through its `through`.
    let lost_last = lost.summary.last_version;
    let covered = records
        .iter()
        .filter(|v| v.through > fork.0 && v.through <= lost_last.0)
        .filter(|v| branch_hash(&lost.stored[..(v.through - fork.0) as usize]) == v.branch)
        .map(|v| v.through)
        .max();
    if covered == Some(lost_last.0) {
        r.outcome = Outcome::AlreadyReconciled { canonical, rule, through: lost_last };
        return Ok(r);
    }
    let from = StreamVersion(covered.map_or(fork.0 + 1, |c| c + 1));

    // The losing branch's table at the start of the range, then its account.
    let skip = (from.0 - fork.0 - 1) as usize;
    let mut start = prefix.checked.table.clone();
    for e in &lost.recorded[..skip] {
        table::apply(&mut start, e);
    }
    let mut tally = BranchTally::new(&start);
    for (e, stored) in lost.recorded[skip..].iter().zip(&lost.stored[skip..]) {
        tally.push(e).map_err(|e| fail(Some(lost.side), stored.version, e.to_string()))?;
    }
    let tally =
        tally.finish().map_err(|e| fail(Some(lost.side), lost_last, format!("the branch does not add up: {e}")))?;
    debug_assert_eq!(tally.table, lost.replayer.checked.table);

    let branch_hash_lost = lost.summary.hash;
    let command =
        compensation_id(stream, fork, &store[fork.0 as usize], from, lost_last, &branch_hash_lost, &kept.summary.hash);
    // The canonical stream's own latest time: deterministic, and it never moves the clock of
    // a table that is still being played (a losing node whose clock ran ahead would make
    // the live table refuse its next commands as going back in time).
    let now_ms = kept.replayer.checked.table.last_now_ms();
    let events: Vec<Recorded> = tally
        .compensation(branch_hash_lost, fork.0, from.0, lost_last.0)
        .into_iter()
        .map(|event| Recorded { schema: SCHEMA_VERSION, command, now_ms, event })
        .collect();

    // The compensation changes nothing on the canonical table but its clock.
    let mut after = kept.replayer.checked.table.clone();
    for e in &events {
        table::apply(&mut after, e);
    }
    let stacks = |t: &Table| t.seats().iter().map(|s| s.map(|s| (s.player, s.stack))).collect::<Vec<_>>();
    if stacks(&after) != stacks(&kept.replayer.checked.table) || !after.chips_conserved() {
        return Err(fail(Some(kept.side), kept.summary.last_version, "the compensation would move chips".to_owned()));
    }

    let compensation = Compensation {
        losing: lost.side,
        from,
        through: lost_last,
        branch: branch_hash_lost,
        hands: tally.hands,
        edge: tally.edge,
        command,
        expected: kept.summary.last_version,
        events,
    };
    r.outcome = Outcome::Compensate { canonical, rule, compensation };
    Ok(r)
}

fn replay_error(stream: &StreamId, side: Option<Side>, version: StreamVersion, what: String) -> ReconcileError {
    ReconcileError::Replay { stream: stream.clone(), side, version, what }
}

/// Replays one stream's events after the fork (the first `common` are the fork's), from
/// the table at the fork.
fn replay_branch<'a>(
    stream: &StreamId,
    side: Side,
    events: &'a [StoredEvent],
    common: usize,
    prefix: &Replayer,
    codec: &TableCodec,
) -> Result<Branch<'a>, ReconcileError> {
    let stored = &events[common..];
    let mut replayer = Replayer { hands_started: 0, hands_finished: 0, ..prefix.clone() };
    let mut recorded = Vec::with_capacity(stored.len());
    for e in stored {
        let version = replayer.checked.next;
        recorded.push(replayer.step(e, codec).map_err(|what| replay_error(stream, Some(side), version, what))?);
    }
    let last_version = StreamVersion(events.len() as u64 - 1);
    if !replayer.checked.table.chips_conserved() {
        let what = "chips are not conserved after the last command".to_owned();
        return Err(replay_error(stream, Some(side), last_version, what));
    }
    let summary = BranchSummary {
        side,
        events: stored.len() as u64,
        hands_started: replayer.hands_started,
        hands_finished: replayer.hands_finished,
        last_version,
        hash: branch_hash(stored),
    };
    Ok(Branch { side, stored, recorded, replayer, summary })
}

/// The rules after [`Rule::Recorded`]: more finished hands, more events, smaller hash.
fn choose(a: &BranchSummary, b: &BranchSummary) -> (Side, Rule) {
    if a.hands_finished != b.hands_finished {
        let side = if a.hands_finished > b.hands_finished { a.side } else { b.side };
        return (side, Rule::MoreFinishedHands);
    }
    if a.events != b.events {
        let side = if a.events > b.events { a.side } else { b.side };
        return (side, Rule::MoreEvents);
    }
    let side = if a.hash <= b.hash { a.side } else { b.side };
    (side, Rule::SmallerHash)
}

/// A `BranchVoided` recorded in a branch.
struct VoidRecord {
    at: StreamVersion,
    through: u64,
    branch: [u8; 32],
}

/// The `BranchVoided` events of a branch that void a branch from `fork`.
fn voids_from(b: &Branch<'_>, fork: StreamVersion) -> Vec<VoidRecord> {
    b.recorded
        .iter()
        .zip(b.stored)
        .filter_map(|(r, s)| match &r.event {
            TableEvent::BranchVoided { fork: f, through, branch, .. } if *f == fork.0 => {
                Some(VoidRecord { at: s.version, through: *through, branch: *branch })
            }
            _ => None,
        })
        .collect()
}

/// The compensation's command id: the first 16 bytes of SHA-256 over the stream, the fork
/// (version and event id), the voided range and both branch hashes. The same streams give
/// the same id, so two runs at once append once.
fn compensation_id(
    stream: &StreamId,
    fork: StreamVersion,
    fork_event: &StoredEvent,
    from: StreamVersion,
    through: StreamVersion,
    losing: &[u8; 32],
    canonical: &[u8; 32],
) -> CommandId {
    let mut h = Sha256::new();
    h.update(b"showdown/reconcile/1");
    h.update((stream.as_str().len() as u64).to_le_bytes());
    h.update(stream.as_str().as_bytes());
    h.update(fork.0.to_le_bytes());
    h.update(fork_event.event_id.0.to_le_bytes());
    h.update(from.0.to_le_bytes());
    h.update(through.0.to_le_bytes());
    h.update(losing);
    h.update(canonical);
    let digest = h.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    CommandId(u128::from_le_bytes(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(side: Side, events: u64, finished: u64, hash: u8) -> BranchSummary {
        BranchSummary {
            side,
            events,
            hands_started: finished,
            hands_finished: finished,
            last_version: StreamVersion(events),
            hash: [hash; 32],
        }
    }

    #[test]
    fn the_rule_takes_finished_hands_then_events_then_the_smaller_hash_in_either_order() {
        let cases = [
            // (store: events, finished, hash), (branch: …), winner, rule
            ((90, 5, 1), (10, 6, 2), Side::Branch, Rule::MoreFinishedHands),
            ((90, 6, 9), (10, 6, 2), Side::Store, Rule::MoreEvents),
            ((10, 6, 9), (10, 6, 2), Side::Branch, Rule::SmallerHash),
            ((10, 6, 1), (10, 6, 2), Side::Store, Rule::SmallerHash),
        ];
        for ((ea, fa, ha), (eb, fb, hb), winner, rule) in cases {
            let (a, b) = (summary(Side::Store, ea, fa, ha), summary(Side::Branch, eb, fb, hb));
            assert_eq!(choose(&a, &b), (winner, rule));
            // Swapped: the same stream (now on the other side) wins for the same reason.
            let (a2, b2) = (summary(Side::Store, eb, fb, hb), summary(Side::Branch, ea, fa, ha));
            assert_eq!(choose(&a2, &b2), (winner.other(), rule));
        }
    }

    #[test]
    fn the_rules_say_why() {
        for (rule, says) in [
            (Rule::MoreFinishedHands, "more hands finished"),
            (Rule::MoreEvents, "more events"),
            (Rule::SmallerHash, "smaller branch hash"),
            (Rule::Recorded { at: StreamVersion(9) }, "already voided a branch from this fork (version 9)"),
        ] {
            assert!(rule.to_string().contains(says), "{rule}");
        }
    }

    #[test]
    fn a_branch_hash_depends_on_every_id_and_byte() {
        let event = |id: u128, payload: &[u8]| StoredEvent {
            stream: StreamId::new("t").unwrap(),
            version: StreamVersion(0),
            position: crate::GlobalPosition(0),
            event_id: crate::EventId(id),
            command: CommandId(1),
            schema: 1,
            event_type: "X".to_owned(),
            payload: payload.to_vec(),
            metadata: crate::Metadata::new(),
        };
        let base = branch_hash(&[event(1, b"ab"), event(2, b"c")]);
        assert_ne!(base, branch_hash(&[event(1, b"ab"), event(3, b"c")]));
        assert_ne!(base, branch_hash(&[event(1, b"ab"), event(2, b"d")]));
        // Lengths are hashed: moving a byte from one payload to the next changes the hash.
        assert_ne!(base, branch_hash(&[event(1, b"a"), event(2, b"bc")]));
        assert_eq!(base, branch_hash(&[event(1, b"ab"), event(2, b"c")]));
    }
}
