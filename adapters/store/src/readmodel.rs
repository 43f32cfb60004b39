//! The read models' rows, folded from the event streams in global order.
//!
//! [`ReadModelFold`] is pure: it turns stored events into [`Changes`] (rows to insert and
//! rows to upsert), keeping per stream only what the next event needs (the folded table and
//! the running hand). A sink ([`crate::projection::ReadModelSink`]) writes the changes of a
//! batch with its checkpoint; `showdown-postgres` writes them into the tables named in
//! `docs/READ_MODELS.md`. Everything here is a function of the events, never of a clock or of
//! how the events were batched, so a rebuild gives the same rows.
//!
//! Rows of a hand (the hand, its players, its actions, its ledger rows and the statistics it
//! adds) are produced when the hand ends, all together: `hands` holds finished hands only.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use showdown_engine::hand::{self, Street};
use showdown_engine::player::{self, Avatar, Profile};
use showdown_engine::table::{self, Ante, CommandId, PlayerId, Recorded, SeatIdx, Table, TableConfig, TableEvent};

use crate::codec::TableCodec;
use crate::error::CodecError;
use crate::streams::{META_COMMAND, META_PLAYER, StreamKind, decode_player, decode_rejection};
use crate::types::{GlobalPosition, StoredEvent, StreamId, StreamVersion};

/// A row of `tables`: a table's latest state.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TableRow {
    /// The table's stream.
    pub table_id: String,
    /// Its configuration.
    pub config: TableConfig,
    /// The host time it opened.
    pub opened_ms: u64,
    /// The host time it closed, if it did.
    pub closed_ms: Option<u64>,
    /// The running or last hand's number (0 before the first).
    pub hand_no: u64,
    /// The stream version folded.
    pub version: u64,
}

/// A row of `players`: a profile's latest state.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PlayerRow {
    /// The player.
    pub player_id: u64,
    /// The profile.
    pub profile: Profile,
    /// The version of the player's stream folded.
    pub version: u64,
}

/// A row of `hands`: one finished hand.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HandRow {
    /// The table's stream.
    pub table_id: String,
    /// The hand's number at the table.
    pub hand_no: u64,
    /// PHH variant code (`NT`, `PO`, `FT`).
    pub variant: &'static str,
    /// The small blind.
    pub small_blind: u64,
    /// The big blind.
    pub big_blind: u64,
    /// The ante (per player, or the big blind's ante for the table).
    pub ante: u64,
    /// The button's seat (possibly empty: a dead button).
    pub button_seat: u8,
    /// The board, as cards (`AsKd7h2c9s`), empty when no board was dealt.
    pub board: String,
    /// Players dealt in.
    pub players: u8,
    /// The host time of `HandStarted`.
    pub started_ms: u64,
    /// The host time of `HandEnded`.
    pub ended_ms: u64,
    /// Every chip awarded or returned from the pots (the pot total).
    pub pot_total: u64,
    /// The position of the hand's first event.
    pub first_position: u64,
    /// The position of its last event (`HandEnded`).
    pub last_position: u64,
}

/// A row of `hand_players`: one player dealt into a hand.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HandPlayerRow {
    /// The table's stream.
    pub table_id: String,
    /// The hand.
    pub hand_no: u64,
    /// The seat.
    pub seat: u8,
    /// The hand position (0: first after the button).
    pub position: u8,
    /// The player.
    pub player_id: u64,
    /// The hole cards, if shown.
    pub hole_cards: Option<String>,
    /// The stack when dealt in.
    pub starting_stack: u64,
    /// The stack when the hand ended.
    pub finishing_stack: u64,
    /// `finishing_stack - starting_stack`.
    pub net: i64,
    /// Put chips in voluntarily before the flop (called or raised).
    pub vpip: bool,
    /// Raised before the flop.
    pub pfr: bool,
    /// Made the second raise before the flop.
    pub three_bet: bool,
    /// Was still in at the showdown (showed, mucked, or had the hand killed there).
    pub went_to_showdown: bool,
    /// Went to showdown and was awarded chips from a pot.
    pub won_at_showdown: bool,
}

/// A row of `hand_actions`: a forced bet, a decision, or a showdown act.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ActionRow {
    /// The table's stream.
    pub table_id: String,
    /// The hand.
    pub hand_no: u64,
    /// Its place in the hand, from 0.
    pub ordinal: u32,
    /// `preflop`, `flop`, `turn`, `river` or `showdown`.
    pub street: &'static str,
    /// The seat.
    pub seat: u8,
    /// The player.
    pub player_id: u64,
    /// `ante`, `blind`, `post`, `fold`, `check`, `call`, `bet`, `raise`, `return`, `show`,
    /// `muck` or `killed`.
    pub action: &'static str,
    /// Chips the action moved (added to the pot, or returned), 0 for none.
    pub amount: u64,
    /// For `bet` and `raise`: the total bet this street.
    pub raise_to: Option<u64>,
    /// Cards shown, for `show`.
    pub cards: Option<String>,
    /// The position of the event.
    pub position: u64,
}

/// A row of `ledger`: one movement of a player's chips, signed from the player's stack:
/// buy-ins, top-ups, awards and refunds are positive; cash-outs, antes, blinds and bets
/// negative. The rows of one hand sum to zero.
///
/// A voided branch (`docs/RECONCILE.md`) is booked with kinds of its own, each group summing
/// to zero: per void hand and player `void_bet` (−committed), `void_award` (+awarded) and
/// `void_refund` (committed − awarded); per player and seat of the voided money across the
/// edge (no hand) `void_buy_in` (+), `void_cash_out` (−) and `void_refund` (cashed out −
/// bought in). Rows of zero chips are left out.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LedgerRow {
    /// The position of the event that moved the chips.
    pub position: u64,
    /// The row's place among the rows of its event, from 0 (one event of a void books
    /// several rows).
    pub entry: u32,
    /// The table's stream.
    pub table_id: String,
    /// The hand, for chips moved inside a hand.
    pub hand_no: Option<u64>,
    /// The seat.
    pub seat: u8,
    /// The player.
    pub player_id: u64,
    /// `buy_in`, `top_up`, `cash_out`, `ante`, `blind`, `bet`, `award`, `refund`, or for a
    /// voided branch `void_bet`, `void_award`, `void_buy_in`, `void_cash_out`, `void_refund`.
    pub kind: &'static str,
    /// Signed chips.
    pub amount: i64,
}

/// What one finished hand adds to a player's statistics.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct StatsDelta {
    /// Hands played.
    pub hands: u64,
    /// Hands with VPIP.
    pub vpip: u64,
    /// Hands with a preflop raise.
    pub pfr: u64,
    /// Hands with a three-bet.
    pub three_bet: u64,
    /// Hands that went to showdown.
    pub went_to_showdown: u64,
    /// Hands won at showdown.
    pub won_at_showdown: u64,
    /// Chips won or lost.
    pub net: i64,
    /// Big blinds won, in thousandths, each hand's share rounded half away from zero.
    pub bb_milli: i64,
}

impl StatsDelta {
    fn add(&mut self, other: &StatsDelta) {
        self.hands += other.hands;
        self.vpip += other.vpip;
        self.pfr += other.pfr;
        self.three_bet += other.three_bet;
        self.went_to_showdown += other.went_to_showdown;
        self.won_at_showdown += other.won_at_showdown;
        self.net += other.net;
        self.bb_milli += other.bb_milli;
    }
}

/// A row of `audit_log`: a command a table accepted (its first event) or refused.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AuditRow {
    /// The position of the command's first event, or of the rejection record.
    pub position: u64,
    /// The table's stream.
    pub table_id: String,
    /// The command's id, as 32 hex digits.
    pub command_id: String,
    /// `accepted` or `rejected`.
    pub outcome: &'static str,
    /// The command's kind (`SitDown`, `Act`, …); for an accepted command stored without it,
    /// the type of its first event.
    pub kind: String,
    /// The player who sent it, when known.
    pub player_id: Option<u64>,
    /// The table version of its first event (accepted only).
    pub version: Option<u64>,
    /// Why it was refused (rejected only).
    pub reason: Option<String>,
    /// The host time it carried.
    pub at_ms: u64,
}

/// The rows a batch of events produces. Insert-only rows are in event order; upserted rows
/// hold each key's latest value.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Changes {
    /// Tables touched, latest state.
    pub tables: BTreeMap<String, TableRow>,
    /// Profiles changed, latest state.
    pub players: BTreeMap<u64, PlayerRow>,
    /// Players seen at a table (a row must exist, even with no profile).
    pub seen_players: BTreeSet<u64>,
    /// Finished hands.
    pub hands: Vec<HandRow>,
    /// Their players.
    pub hand_players: Vec<HandPlayerRow>,
    /// Their actions.
    pub hand_actions: Vec<ActionRow>,
    /// Chip movements.
    pub ledger: Vec<LedgerRow>,
    /// Statistics to add, per player.
    pub stats: BTreeMap<u64, StatsDelta>,
    /// Commands accepted or refused.
    pub audit: Vec<AuditRow>,
    /// Events folded into these changes.
    pub events: u64,
    /// The position of the last event folded.
    pub last_position: Option<GlobalPosition>,
}

impl Changes {
    /// Adds a later batch's changes to these, as a sink writing both would: upserted rows
    /// take the later value, inserted rows follow, statistics add up.
    pub fn absorb(&mut self, later: &Changes) {
        self.tables.extend(later.tables.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.players.extend(later.players.iter().map(|(k, v)| (*k, v.clone())));
        self.seen_players.extend(later.seen_players.iter().copied());
        self.hands.extend(later.hands.iter().cloned());
        self.hand_players.extend(later.hand_players.iter().cloned());
        self.hand_actions.extend(later.hand_actions.iter().cloned());
        self.ledger.extend(later.ledger.iter().cloned());
        for (player, delta) in &later.stats {
            self.stats.entry(*player).or_default().add(delta);
        }
        self.audit.extend(later.audit.iter().cloned());
        self.events += later.events;
        if later.last_position.is_some() {
            self.last_position = later.last_position;
        }
    }

    /// Whether no event was folded.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// Rows to write, all tables together.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.tables.len()
            + self.players.len()
            + self.hands.len()
            + self.hand_players.len()
            + self.hand_actions.len()
            + self.ledger.len()
            + self.stats.len()
            + self.audit.len()
    }
}

/// Why an event could not be folded.
#[derive(Debug, thiserror::Error)]
pub enum FoldError {
    /// The event does not decode.
    #[error("{stream} at {version}: the event does not decode")]
    Decode {
        /// The stream.
        stream: StreamId,
        /// The version.
        version: StreamVersion,
        /// Why.
        #[source]
        source: CodecError,
    },
    /// The event is not the next of its stream: the fold missed or repeated one.
    #[error("{stream}: expected {expected} next, got {found}")]
    OutOfOrder {
        /// The stream.
        stream: StreamId,
        /// The version the fold expected.
        expected: StreamVersion,
        /// The version it got.
        found: StreamVersion,
    },
}

/// A table stream as far as folded.
#[derive(Clone, Debug)]
struct TableContext {
    table: Table,
    next: StreamVersion,
    command: Option<CommandId>,
    opened_ms: u64,
    closed_ms: Option<u64>,
    hand: Option<HandAcc>,
}

/// A running hand's rows, kept until it ends.
#[derive(Clone, Debug)]
struct HandAcc {
    row: HandRow,
    /// Per position: seat and player.
    seats: Vec<(SeatIdx, PlayerId)>,
    players: Vec<HandPlayerRow>,
    actions: Vec<ActionRow>,
    ledger: Vec<LedgerRow>,
    street: &'static str,
    /// Whether the current street has a bet to raise (preflop: the blinds).
    bet_open: bool,
    preflop_raises: u32,
}

/// Folds stored events (of every kind of stream) into read-model rows.
#[derive(Debug)]
pub struct ReadModelFold {
    codec: TableCodec,
    tables: HashMap<StreamId, TableContext>,
    players: HashMap<StreamId, (Profile, StreamVersion)>,
}

impl ReadModelFold {
    /// A fold that has seen nothing.
    #[must_use]
    pub fn new(codec: TableCodec) -> ReadModelFold {
        ReadModelFold { codec, tables: HashMap::new(), players: HashMap::new() }
    }

    /// Forgets every stream (after a sink reports that another runner moved on).
    pub fn clear(&mut self) {
        self.tables.clear();
        self.players.clear();
    }

    /// The version the fold expects next from `stream` (the first, for a stream it has not
    /// seen), or `None` for a stream whose events stand alone (an audit stream). A runner
    /// that starts from a checkpoint feeds the earlier events of a stream through
    /// [`ReadModelFold::fold_history`] when this is behind the event it holds.
    #[must_use]
    pub fn expects(&self, stream: &StreamId) -> Option<StreamVersion> {
        match StreamKind::of(stream) {
            StreamKind::Table => Some(self.tables.get(stream).map_or(StreamVersion::FIRST, |c| c.next)),
            StreamKind::Player => Some(self.players.get(stream).map_or(StreamVersion::FIRST, |p| p.1)),
            StreamKind::Audit => None,
        }
    }

    /// The folded table of a stream, if seen.
    #[must_use]
    pub fn table(&self, stream: &StreamId) -> Option<(&Table, StreamVersion)> {
        self.tables.get(stream).map(|c| (&c.table, c.next))
    }

    /// Folds an event that a checkpoint says was written already: the state moves on, no
    /// row is produced.
    ///
    /// # Errors
    /// As [`ReadModelFold::fold`].
    pub fn fold_history(&mut self, stored: &StoredEvent) -> Result<(), FoldError> {
        let mut scratch = Changes::default();
        self.fold(stored, &mut scratch)
    }

    /// Folds one event, adding its rows to `out`.
    ///
    /// # Errors
    /// [`FoldError::Decode`] for an event that does not decode, [`FoldError::OutOfOrder`]
    /// for one that is not its stream's next.
    pub fn fold(&mut self, stored: &StoredEvent, out: &mut Changes) -> Result<(), FoldError> {
        let decode = |source| FoldError::Decode { stream: stored.stream.clone(), version: stored.version, source };
        match StreamKind::of(&stored.stream) {
            StreamKind::Table => {
                let recorded = self.codec.decode(stored).map_err(decode)?;
                self.fold_table(stored, &recorded, out)?;
            }
            StreamKind::Player => {
                let recorded = decode_player(stored, self.codec.codec()).map_err(decode)?;
                let entry = self.players.entry(stored.stream.clone()).or_default();
                if stored.version != entry.1 {
                    return Err(FoldError::OutOfOrder {
                        stream: stored.stream.clone(),
                        expected: entry.1,
                        found: stored.version,
                    });
                }
                entry.1 = stored.version.next();
                player::apply(&mut entry.0, &recorded);
                if let Some(id) = entry.0.player {
                    out.players.insert(
                        id.0,
                        PlayerRow { player_id: id.0, profile: entry.0.clone(), version: stored.version.0 },
                    );
                }
            }
            StreamKind::Audit => {
                let r = decode_rejection(stored, self.codec.codec()).map_err(decode)?;
                let table_id = stored.stream.as_str()[crate::streams::AUDIT_PREFIX.len()..].to_owned();
                out.audit.push(AuditRow {
                    position: stored.position.0,
                    table_id,
                    command_id: format!("{:032x}", r.command.0),
                    outcome: "rejected",
                    kind: r.kind,
                    player_id: r.player.map(|p| p.0),
                    version: None,
                    reason: Some(r.reason),
                    at_ms: r.now_ms,
                });
            }
        }
        out.events += 1;
        out.last_position = Some(stored.position);
        Ok(())
    }

    fn fold_table(&mut self, stored: &StoredEvent, recorded: &Recorded, out: &mut Changes) -> Result<(), FoldError> {
        let ctx = self.tables.entry(stored.stream.clone()).or_insert_with(|| TableContext {
            table: Table::new(),
            next: StreamVersion::FIRST,
            command: None,
            opened_ms: 0,
            closed_ms: None,
            hand: None,
        });
        if stored.version != ctx.next {
            return Err(FoldError::OutOfOrder {
                stream: stored.stream.clone(),
                expected: ctx.next,
                found: stored.version,
            });
        }
        ctx.next = stored.version.next();
        let table_id = stored.stream.as_str();
        let position = stored.position.0;
        let now = recorded.now_ms;
        if ctx.command != Some(stored.command) {
            ctx.command = Some(stored.command);
            let player = stored
                .metadata
                .get(META_PLAYER)
                .and_then(|p| p.parse().ok())
                .or_else(|| event_seat(&recorded.event).and_then(|s| ctx.table.seat(s).map(|s| s.player.0)));
            out.audit.push(AuditRow {
                position,
                table_id: table_id.to_owned(),
                command_id: format!("{:032x}", stored.command.0),
                outcome: "accepted",
                kind: stored.metadata.get(META_COMMAND).cloned().unwrap_or_else(|| stored.event_type.clone()),
                player_id: player,
                version: Some(stored.version.0),
                reason: None,
                at_ms: now,
            });
        }
        let ledger =
            |hand_no: Option<u64>, seat: SeatIdx, player: PlayerId, kind: &'static str, amount: i64| LedgerRow {
                position,
                entry: 0,
                table_id: table_id.to_owned(),
                hand_no,
                seat: seat.0,
                player_id: player.0,
                kind,
                amount,
            };
        match &recorded.event {
            TableEvent::Opened { .. } => ctx.opened_ms = now,
            TableEvent::Closed => ctx.closed_ms = Some(now),
            TableEvent::BoughtIn { seat, player, amount, .. } => {
                out.seen_players.insert(player.0);
                out.ledger.push(ledger(None, *seat, *player, "buy_in", signed(amount.0)));
            }
            TableEvent::ToppedUp { seat, player, amount, .. } => {
                out.ledger.push(ledger(None, *seat, *player, "top_up", signed(amount.0)));
            }
            TableEvent::CashedOut { seat, player, amount, .. } => {
                out.ledger.push(ledger(None, *seat, *player, "cash_out", -signed(amount.0)));
            }
            // A stream always opens before its first hand (decide sees to it).
            TableEvent::HandStarted { hand, button, seats, .. } if let Some(config) = ctx.table.config().copied() => {
                let seated: Vec<(SeatIdx, PlayerId)> = seats
                    .as_slice()
                    .iter()
                    .map(|s| (*s, ctx.table.seat(*s).map_or(PlayerId(0), |seat| seat.player)))
                    .collect();
                ctx.hand = Some(HandAcc {
                    row: HandRow {
                        table_id: table_id.to_owned(),
                        hand_no: hand.0,
                        variant: config.variant.phh_code(),
                        small_blind: config.small_blind.0,
                        big_blind: config.big_blind.0,
                        ante: match config.ante {
                            Ante::None => 0,
                            Ante::PerPlayer(a) | Ante::BigBlind(a) => a.0,
                        },
                        button_seat: button.0,
                        board: String::new(),
                        players: seated.len() as u8,
                        started_ms: now,
                        ended_ms: now,
                        pot_total: 0,
                        first_position: position,
                        last_position: position,
                    },
                    players: seated
                        .iter()
                        .enumerate()
                        .map(|(p, (seat, player))| HandPlayerRow {
                            table_id: table_id.to_owned(),
                            hand_no: hand.0,
                            seat: seat.0,
                            position: p as u8,
                            player_id: player.0,
                            hole_cards: None,
                            starting_stack: ctx.table.seat(*seat).map_or(0, |s| s.stack.0),
                            finishing_stack: 0,
                            net: 0,
                            vpip: false,
                            pfr: false,
                            three_bet: false,
                            went_to_showdown: false,
                            won_at_showdown: false,
                        })
                        .collect(),
                    seats: seated,
                    actions: Vec::new(),
                    ledger: Vec::new(),
                    street: "preflop",
                    bet_open: true,
                    preflop_raises: 0,
                });
            }
            TableEvent::Hand { event, .. } => {
                if let Some(acc) = &mut ctx.hand {
                    acc.row.last_position = position;
                    let ended = acc.fold(event, position, now);
                    if ended {
                        let acc = ctx.hand.take().expect("just folded");
                        acc.finish(out);
                    }
                }
            }
            TableEvent::HandVoided { hand, moves, .. } => {
                let mut rows = VoidRows::new(&ledger, Some(hand.0));
                for m in moves {
                    out.seen_players.insert(m.player.0);
                    let (committed, awarded) = (signed(m.committed.0), signed(m.awarded.0));
                    rows.push(m.seat, m.player, "void_bet", -committed);
                    rows.push(m.seat, m.player, "void_award", awarded);
                    rows.push(m.seat, m.player, "void_refund", committed - awarded);
                }
                out.ledger.extend(rows.rows);
            }
            TableEvent::BranchVoided { edge, .. } => {
                let mut rows = VoidRows::new(&ledger, None);
                for e in edge {
                    out.seen_players.insert(e.player.0);
                    let (bought_in, cashed_out) = (signed(e.bought_in.0), signed(e.cashed_out.0));
                    rows.push(e.seat, e.player, "void_buy_in", bought_in);
                    rows.push(e.seat, e.player, "void_cash_out", -cashed_out);
                    rows.push(e.seat, e.player, "void_refund", cashed_out - bought_in);
                }
                out.ledger.extend(rows.rows);
            }
            TableEvent::HandStarted { .. }
            | TableEvent::SatDown { .. }
            | TableEvent::SatOut { .. }
            | TableEvent::SatIn { .. }
            | TableEvent::LeaveQueued { .. }
            | TableEvent::BlindsMissed { .. }
            | TableEvent::ActionDeadlineSet { .. }
            | TableEvent::TimeBankStarted { .. }
            | TableEvent::TimeBankUsed { .. }
            | TableEvent::ActedFor { .. }
            | TableEvent::DeckRevealed { .. } => {}
        }
        table::apply(&mut ctx.table, recorded);
        if let Some(config) = ctx.table.config() {
            let (hand_no, version) = (ctx.table.hand_no().0, stored.version.0);
            // Once per table and batch the row is made; after that, only what moves changes.
            if let Some(row) = out.tables.get_mut(table_id) {
                (row.closed_ms, row.hand_no, row.version) = (ctx.closed_ms, hand_no, version);
            } else {
                let row = TableRow {
                    table_id: table_id.to_owned(),
                    config: *config,
                    opened_ms: ctx.opened_ms,
                    closed_ms: ctx.closed_ms,
                    hand_no,
                    version,
                };
                out.tables.insert(table_id.to_owned(), row);
            }
        }
        Ok(())
    }
}

/// The ledger rows of one event of a void, numbered as they come; zero rows left out.
struct VoidRows<'a, F> {
    make: &'a F,
    hand_no: Option<u64>,
    rows: Vec<LedgerRow>,
}

impl<'a, F: Fn(Option<u64>, SeatIdx, PlayerId, &'static str, i64) -> LedgerRow> VoidRows<'a, F> {
    const fn new(make: &'a F, hand_no: Option<u64>) -> VoidRows<'a, F> {
        VoidRows { make, hand_no, rows: Vec::new() }
    }

    fn push(&mut self, seat: SeatIdx, player: PlayerId, kind: &'static str, amount: i64) {
        if amount != 0 {
            let mut row = (self.make)(self.hand_no, seat, player, kind, amount);
            row.entry = u32::try_from(self.rows.len()).unwrap_or(u32::MAX);
            self.rows.push(row);
        }
    }
}

impl HandAcc {
    /// Folds one hand event; true when the hand ended.
    fn fold(&mut self, event: &hand::Event, position: u64, now: u64) -> bool {
        use hand::Event as E;
        let hand_no = self.row.hand_no;
        let act = |acc: &mut HandAcc,
                   pos: showdown_engine::rules::Pos,
                   action: &'static str,
                   amount: u64,
                   to: Option<u64>,
                   cards: Option<String>| {
            let (seat, player) = acc.seats[pos.idx()];
            acc.actions.push(ActionRow {
                table_id: acc.row.table_id.clone(),
                hand_no,
                ordinal: acc.actions.len() as u32,
                street: acc.street,
                seat: seat.0,
                player_id: player.0,
                action,
                amount,
                raise_to: to,
                cards,
                position,
            });
        };
        let money = |acc: &mut HandAcc, pos: showdown_engine::rules::Pos, kind: &'static str, amount: i64| {
            let (seat, player) = acc.seats[pos.idx()];
            acc.ledger.push(LedgerRow {
                position,
                entry: 0,
                table_id: acc.row.table_id.clone(),
                hand_no: Some(hand_no),
                seat: seat.0,
                player_id: player.0,
                kind,
                amount,
            });
        };
        match event {
            E::HandStarted(setup) => {
                for (p, row) in self.players.iter_mut().enumerate() {
                    row.starting_stack = setup.stacks[p].0;
                }
            }
            E::AntePosted { pos, amount } => {
                act(self, *pos, "ante", amount.0, None, None);
                money(self, *pos, "ante", -signed(amount.0));
            }
            E::BlindPosted { pos, amount, post } => {
                act(self, *pos, if *post { "post" } else { "blind" }, amount.0, None, None);
                money(self, *pos, "blind", -signed(amount.0));
            }
            E::StreetStarted { street } => {
                self.street = street_name(*street);
                self.bet_open = *street == Street::Preflop;
            }
            E::HoleCardsDealt { .. } | E::StreetClosed { .. } | E::PotFormed { .. } => {}
            E::BoardDealt { cards } => self.row.board.push_str(&cards.to_string()),
            E::Folded { pos } => act(self, *pos, "fold", 0, None, None),
            E::Checked { pos } => act(self, *pos, "check", 0, None, None),
            E::Called { pos, amount } => {
                act(self, *pos, "call", amount.0, None, None);
                money(self, *pos, "bet", -signed(amount.0));
                if self.street == "preflop" {
                    self.players[pos.idx()].vpip = true;
                }
            }
            E::BetOrRaised { pos, to, added } => {
                let kind = if self.bet_open { "raise" } else { "bet" };
                self.bet_open = true;
                act(self, *pos, kind, added.0, Some(to.0), None);
                money(self, *pos, "bet", -signed(added.0));
                if self.street == "preflop" {
                    let row = &mut self.players[pos.idx()];
                    row.vpip = true;
                    row.pfr = true;
                    row.three_bet |= self.preflop_raises == 1;
                    self.preflop_raises += 1;
                }
            }
            E::BetReturned { pos, amount } => {
                act(self, *pos, "return", amount.0, None, None);
                money(self, *pos, "refund", signed(amount.0));
            }
            E::ShowdownStarted { .. } => self.street = "showdown",
            E::CardsShown { pos, cards, .. } => {
                let shown = cards.to_string();
                act(self, *pos, "show", 0, None, Some(shown.clone()));
                self.players[pos.idx()].hole_cards = Some(shown);
                self.players[pos.idx()].went_to_showdown |= self.street == "showdown";
            }
            E::CardsMucked { pos } => {
                act(self, *pos, "muck", 0, None, None);
                self.players[pos.idx()].went_to_showdown |= self.street == "showdown";
            }
            E::HandKilled { pos } => {
                act(self, *pos, "killed", 0, None, None);
                self.players[pos.idx()].went_to_showdown |= self.street == "showdown";
            }
            E::PotAwarded { pos, amount, .. } => {
                self.row.pot_total += amount.0;
                money(self, *pos, "award", signed(amount.0));
                if self.street == "showdown" && amount.0 > 0 {
                    self.players[pos.idx()].won_at_showdown = true;
                }
            }
            E::PotReturned { pos, amount, .. } => {
                self.row.pot_total += amount.0;
                money(self, *pos, "refund", signed(amount.0));
            }
            E::HandEnded { stacks } => {
                self.row.ended_ms = now;
                for (p, row) in self.players.iter_mut().enumerate() {
                    row.finishing_stack = stacks[p].0;
                    row.net = signed(row.finishing_stack) - signed(row.starting_stack);
                    row.won_at_showdown &= row.went_to_showdown;
                }
                return true;
            }
        }
        false
    }

    fn finish(self, out: &mut Changes) {
        let bb = self.row.big_blind.max(1);
        for row in &self.players {
            let delta = StatsDelta {
                hands: 1,
                vpip: u64::from(row.vpip),
                pfr: u64::from(row.pfr),
                three_bet: u64::from(row.three_bet),
                went_to_showdown: u64::from(row.went_to_showdown),
                won_at_showdown: u64::from(row.won_at_showdown),
                net: row.net,
                bb_milli: milli_big_blinds(row.net, bb),
            };
            out.stats.entry(row.player_id).or_default().add(&delta);
            out.seen_players.insert(row.player_id);
        }
        out.hands.push(self.row);
        out.hand_players.extend(self.players);
        out.hand_actions.extend(self.actions);
        out.ledger.extend(self.ledger);
    }
}

/// `net / bb` in thousandths of a big blind, rounded half away from zero.
#[must_use]
pub fn milli_big_blinds(net: i64, bb: u64) -> i64 {
    let (n, d) = (i128::from(net) * 1000, i128::from(bb.max(1)));
    let q = (2 * n.abs() + d) / (2 * d);
    (if n < 0 { -q } else { q }) as i64
}

fn signed(chips: u64) -> i64 {
    i64::try_from(chips).unwrap_or(i64::MAX)
}

const fn street_name(street: Street) -> &'static str {
    match street {
        Street::Preflop => "preflop",
        Street::Flop => "flop",
        Street::Turn => "turn",
        Street::River => "river",
    }
}

/// The seat a table event names, if any.
fn event_seat(event: &TableEvent) -> Option<SeatIdx> {
    match event {
        TableEvent::SatDown { seat, .. }
        | TableEvent::BoughtIn { seat, .. }
        | TableEvent::ToppedUp { seat, .. }
        | TableEvent::SatOut { seat, .. }
        | TableEvent::SatIn { seat, .. }
        | TableEvent::LeaveQueued { seat, .. }
        | TableEvent::CashedOut { seat, .. }
        | TableEvent::BlindsMissed { seat, .. }
        | TableEvent::ActionDeadlineSet { seat, .. }
        | TableEvent::TimeBankStarted { seat, .. }
        | TableEvent::TimeBankUsed { seat, .. }
        | TableEvent::ActedFor { seat, .. } => Some(*seat),
        TableEvent::Hand { seat, .. } => *seat,
        TableEvent::Opened { .. }
        | TableEvent::HandStarted { .. }
        | TableEvent::DeckRevealed { .. }
        | TableEvent::Closed
        | TableEvent::HandVoided { .. }
        | TableEvent::BranchVoided { .. } => None,
    }
}

/// The avatar columns of a profile: id, kind, url, moderation, updated.
#[must_use]
pub fn avatar_columns(avatar: &Avatar) -> (&str, &'static str, Option<&str>, &'static str, u64) {
    let kind = match avatar.kind {
        player::AvatarKind::Default => "default",
        player::AvatarKind::Custom => "custom",
    };
    let moderation = match avatar.moderation {
        player::Moderation::Pending => "pending",
        player::Moderation::Approved => "approved",
        player::Moderation::Rejected => "rejected",
    };
    (&avatar.id, kind, avatar.url.as_deref(), moderation, avatar.updated_ms)
}
