//! The table: the aggregate servers embed. Seats, buy-ins and cash-outs, a sequence of hands
//! with a moving button, missed blinds, a clock that is only ever read from commands, private
//! views and a provably fair deck.
//!
//! Like a hand, a table is a pure state machine: [`decide`] turns a [`CommandEnvelope`] into
//! [`Recorded`] events or a [`TableRejection`], [`apply`] folds one recorded event into the
//! state, and replaying a table's events from [`Table::new`] rebuilds it exactly. Every
//! command carries the host's `now_ms` and its sender's [`CommandId`]; every event records
//! both, so the same commands give the same events on any machine.
//!
//! Each hand runs in [`crate::hand::HandState`]: the table maps its seats onto the hand's PHH
//! positions (position 0 is the first player dealt in after the button), builds the
//! [`HandSetup`] from the configuration, and wraps every hand event in
//! [`TableEvent::Hand`] together with the seat it concerns.
//!
//! Rules the table adds to the hand (see `docs/EVENTS.md` for the events):
//! - **Button** (dead-button rule): the big blind moves to the next player able to play
//!   after the last big blind; the small blind is the seat of the last big blind (dead, so
//!   nobody posts, if that player is gone); the button is the seat of the last small blind
//!   (dead if empty). Heads-up, the button posts the small blind and the other player the
//!   big blind. When too few players remain for that (or the seats would come out of
//!   order), the blinds are re-seated on the players dealt in, before the big blind.
//! - **Missed blinds**: a player sitting out when the big blind passes their seat owes a big
//!   blind; a big blind who sat out owes the small blind they would have posted next. New
//!   players owe a big blind once a hand has been played. A player who owes either posts
//!   (a live big blind, [`crate::rules::Forced::Post`], plus the small blind dead, as an
//!   ante on their position) or waits for the big blind to reach them, their choice at
//!   [`TableCommand::SitDown`] and [`TableCommand::SitIn`]. Players who owe cannot buy in
//!   between the button and the big blind; they are dealt in from the next hand.
//! - **Leaving** during a hand the player is dealt into is queued ([`TableEvent::LeaveQueued`]):
//!   from then on the table checks or folds for them at once when it is their turn, and
//!   cashes them out when the hand ends. Any command from them after that is refused.
//! - **Sitting out** and **top-ups** take effect between hands: a player dealt into the
//!   running hand who sits out still plays it; a top-up by them is refused until it ends.
//! - **The clock**: each turn gets `action_time_ms` ([`TableEvent::ActionDeadlineSet`]);
//!   after it, the player's time bank runs. A [`TableCommand::Tick`] past the deadline starts
//!   the bank ([`TableEvent::TimeBankStarted`]); past the bank it checks if free, else folds
//!   for the player and sits them out from the next hand. An action after the deadline
//!   spends the bank.

pub mod compensation;
mod config;
pub mod fairness;
mod view;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use compensation::{EdgeVoid, VoidMove};
pub use config::{Ante, ConfigRejection, MAX_SEATS, Straddle, TableConfig};
pub use view::{SeatView, TableView, Viewer};

use crate::chips::Chips;
use crate::deck::{Deck, SHUFFLE_VERSION};
use crate::hand::{self, HandState, Phase};
use crate::rules::{Forced, HandSetup, MAX_PLAYERS, Pos, ShowdownPolicy};

/// The version of the stored event shapes ([`Recorded`], [`TableEvent`] and the hand events
/// inside it). Stored events are never renamed; a change of shape is a new version with an
/// upcaster.
pub const SCHEMA_VERSION: u16 = 1;

/// The most chips one table may hold at once (stacks, bets and pots): buy-ins and top-ups
/// that would pass it are refused, so no chip count inside a hand can overflow.
pub const MAX_TABLE_CHIPS: Chips = Chips::UNBOUNDED;

/// A seat at the table, `0..config.seats`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
#[serde(transparent)]
pub struct SeatIdx(pub u8);

impl SeatIdx {
    /// The seat as an array index.
    #[must_use]
    pub const fn idx(self) -> usize {
        self.0 as usize
    }
}

impl std::fmt::Display for SeatIdx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "seat {}", self.0)
    }
}

/// A player, as the host identifies them (an account number).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
#[serde(transparent)]
pub struct PlayerId(pub u64);

impl std::fmt::Display for PlayerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "player {}", self.0)
    }
}

/// The id a sender gives a command, so that the store can apply a retried command once.
/// The table does not deduplicate; it records the id on every event the command causes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
#[serde(transparent)]
pub struct CommandId(pub u128);

/// The number of a hand at this table, counting from 1.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
#[serde(transparent)]
pub struct HandNo(pub u64);

/// A betting action by the player to act.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum TableAction {
    /// Give up the hand.
    Fold,
    /// Check when nothing is owed, else call.
    CheckOrCall,
    /// Bet or raise so that this street's bet totals this amount.
    BetOrRaiseTo(Chips),
}

/// What a host or a player asks of the table. Sent inside a [`CommandEnvelope`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum TableCommand {
    /// Open the table with this configuration (the first command of a stream).
    Open {
        /// The configuration, checked by [`TableConfig::validate`].
        config: TableConfig,
    },
    /// Take a free seat and buy in.
    SitDown {
        /// The seat.
        seat: SeatIdx,
        /// Who sits down.
        player: PlayerId,
        /// Chips brought to the table, within the buy-in range.
        buy_in: Chips,
        /// Wait for the big blind rather than post one (only matters once a hand was played).
        wait_for_big_blind: bool,
    },
    /// Add chips between hands, up to the maximum buy-in.
    TopUp {
        /// Who.
        player: PlayerId,
        /// Chips added.
        amount: Chips,
    },
    /// Stop being dealt in from the next hand.
    SitOut {
        /// Who.
        player: PlayerId,
    },
    /// Be dealt in again from the next hand.
    SitIn {
        /// Who.
        player: PlayerId,
        /// Wait for the big blind rather than post missed blinds.
        wait_for_big_blind: bool,
    },
    /// Cash out and free the seat (queued until the hand ends if the player is dealt in).
    Leave {
        /// Who.
        player: PlayerId,
    },
    /// Deal the next hand (sent by the host's dealer, with fresh secret randomness).
    StartHand {
        /// The shuffle seed: secret until the hand ends.
        seed: [u8; 32],
        /// The per-hand salt of the deck commitment: secret until the hand ends.
        salt: [u8; 32],
    },
    /// A betting action by the player to act.
    Act {
        /// Who acts.
        player: PlayerId,
        /// What they do.
        action: TableAction,
    },
    /// The host's clock moved: act for a player whose time ran out.
    Tick,
    /// Close the table for good: no hand running and every seat empty. A closed table
    /// refuses every command; its stream and history stay.
    Close,
}

/// A command with who sent it and when.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct CommandEnvelope {
    /// Chosen by the sender; recorded on every event the command causes.
    pub id: CommandId,
    /// The host's clock, in milliseconds; never earlier than the last command's.
    pub now_ms: u64,
    /// The command.
    pub command: TableCommand,
}

/// Why a player stopped being dealt in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum SitOutReason {
    /// They asked to.
    Requested,
    /// Their time ran out.
    TimedOut,
    /// They have no chips left.
    Busted,
}

/// Why the table acted for a player.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum ActedForReason {
    /// The action time and the time bank ran out.
    TimedOut,
    /// The player asked to leave during the hand.
    Leaving,
}

/// The seats dealt into a hand, in PHH position order (position 0 first).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct SeatMap {
    seats: [SeatIdx; MAX_PLAYERS],
    len: u8,
}

impl SeatMap {
    /// The seats, position 0 first.
    #[must_use]
    pub fn as_slice(&self) -> &[SeatIdx] {
        &self.seats[..self.len as usize]
    }

    /// The seat at a position.
    #[must_use]
    pub fn seat(&self, pos: Pos) -> SeatIdx {
        self.seats[pos.idx()]
    }

    /// The position of a seat, if dealt in.
    #[must_use]
    pub fn position(&self, seat: SeatIdx) -> Option<Pos> {
        self.as_slice().iter().position(|&s| s == seat).map(|p| Pos(p as u8))
    }

    /// The number of players dealt in.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether nobody is dealt in.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push(&mut self, seat: SeatIdx) {
        self.seats[self.len as usize] = seat;
        self.len += 1;
    }
}

/// Something that happened at the table. See `docs/EVENTS.md` for who may see each one.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum TableEvent {
    /// The table opened.
    Opened {
        /// Its configuration.
        config: TableConfig,
    },
    /// A player took a seat (their chips arrive with the [`TableEvent::BoughtIn`] after it).
    SatDown {
        /// The seat.
        seat: SeatIdx,
        /// Who.
        player: PlayerId,
        /// Whether they wait for the big blind rather than post.
        wait_for_big_blind: bool,
    },
    /// Chips came onto the table with a seating. Money across the table's edge.
    BoughtIn {
        /// The seat.
        seat: SeatIdx,
        /// Who.
        player: PlayerId,
        /// Chips brought.
        amount: Chips,
        /// The stack afterwards.
        stack: Chips,
    },
    /// Chips came onto the table between hands. Money across the table's edge.
    ToppedUp {
        /// The seat.
        seat: SeatIdx,
        /// Who.
        player: PlayerId,
        /// Chips added.
        amount: Chips,
        /// The stack afterwards.
        stack: Chips,
    },
    /// A player stops being dealt in from the next hand.
    SatOut {
        /// The seat.
        seat: SeatIdx,
        /// Who.
        player: PlayerId,
        /// Why.
        reason: SitOutReason,
    },
    /// A player is dealt in again from the next hand.
    SatIn {
        /// The seat.
        seat: SeatIdx,
        /// Who.
        player: PlayerId,
        /// Whether they wait for the big blind rather than post missed blinds.
        wait_for_big_blind: bool,
    },
    /// A player dealt into the running hand asked to leave: they leave when it ends.
    LeaveQueued {
        /// The seat.
        seat: SeatIdx,
        /// Who.
        player: PlayerId,
    },
    /// A player left with their stack and the seat is free. Money across the table's edge.
    CashedOut {
        /// The seat.
        seat: SeatIdx,
        /// Who.
        player: PlayerId,
        /// Chips taken away (their whole stack).
        amount: Chips,
        /// The stack left on the table: always zero.
        stack: Chips,
    },
    /// A sitting-out player missed blinds, owed when they return.
    BlindsMissed {
        /// The seat.
        seat: SeatIdx,
        /// Who.
        player: PlayerId,
        /// A small blind was missed.
        small: bool,
        /// A big blind was missed.
        big: bool,
    },
    /// A hand was dealt. The hand's own events follow as [`TableEvent::Hand`].
    HandStarted {
        /// Its number.
        hand: HandNo,
        /// The button's seat (possibly empty: a dead button).
        button: SeatIdx,
        /// The small blind's seat (possibly empty or sitting out: a dead small blind).
        small_blind: SeatIdx,
        /// The big blind's seat.
        big_blind: SeatIdx,
        /// The seats dealt in, in position order.
        seats: SeatMap,
        /// SHA-256 of seed ‖ deck order ‖ salt (see [`fairness`]).
        commitment: [u8; 32],
        /// The seed-to-deck algorithm ([`crate::deck::SHUFFLE_VERSION`]).
        shuffle_version: u8,
        /// The shuffle seed: stored, but redacted for everyone until [`TableEvent::DeckRevealed`].
        seed: Option<[u8; 32]>,
        /// The commitment salt: stored, but redacted like the seed.
        salt: Option<[u8; 32]>,
    },
    /// An event of the running hand, with the seat it concerns (if it names a position).
    Hand {
        /// The seat of the position the event names.
        seat: Option<SeatIdx>,
        /// The hand event.
        event: hand::Event,
    },
    /// It is a player's turn, with this long to act before the time bank runs.
    ActionDeadlineSet {
        /// Whose turn.
        seat: SeatIdx,
        /// The host time by which they should act.
        deadline_ms: u64,
    },
    /// The action time ran out and the player's time bank is running.
    TimeBankStarted {
        /// Whose.
        seat: SeatIdx,
        /// When the bank runs out.
        until_ms: u64,
    },
    /// Time bank was spent.
    TimeBankUsed {
        /// Whose.
        seat: SeatIdx,
        /// Milliseconds spent.
        used_ms: u64,
        /// Milliseconds left.
        left_ms: u64,
    },
    /// The table acts for a player (a check if free, else a fold); the hand events follow.
    ActedFor {
        /// For whom.
        seat: SeatIdx,
        /// Why.
        reason: ActedForReason,
    },
    /// The hand ended and its seed and salt are public: anyone can check the commitment.
    DeckRevealed {
        /// The hand.
        hand: HandNo,
        /// The shuffle seed.
        seed: [u8; 32],
        /// The commitment salt.
        salt: [u8; 32],
    },
    /// The table closed for good (see [`TableCommand::Close`]).
    Closed,
    /// A hand played on a branch that lost a reconciliation (`docs/RECONCILE.md`) is void.
    /// Appended to the canonical stream by reconciliation, never decided by a command. The
    /// canonical table never saw the hand, so its stacks do not change: the moves say what
    /// the void hand moved, so that read models can book it with its reversal.
    HandVoided {
        /// The hand's number on the losing branch (it may equal a canonical hand's number).
        hand: HandNo,
        /// The losing branch (the SHA-256 its [`TableEvent::BranchVoided`] names).
        branch: [u8; 32],
        /// One move per player dealt in, in position order; for a hand already running at
        /// the fork, only what it moved after the fork.
        moves: Vec<VoidMove>,
    },
    /// A branch that lost a reconciliation is void from `from` through `through`; its hands
    /// were voided by the [`TableEvent::HandVoided`] events just before. Like those, it
    /// changes no stack.
    BranchVoided {
        /// The stream version of the last event both branches hold.
        fork: u64,
        /// The first version of the losing branch this voids (`fork + 1`, or the version
        /// after an earlier `BranchVoided`'s `through` when the losing branch grew since).
        from: u64,
        /// The last version of the losing branch this voids.
        through: u64,
        /// SHA-256 over the losing branch's events from `fork + 1` through `through`.
        branch: [u8; 32],
        /// Hands voided (the `HandVoided` events just before).
        hands: u64,
        /// Money that crossed the table's edge on the losing branch in the range, per
        /// player and seat: a wallet gives back `bought_in − cashed_out` to each.
        edge: Vec<EdgeVoid>,
    },
}

impl AsRef<TableEvent> for TableEvent {
    fn as_ref(&self) -> &TableEvent {
        self
    }
}

/// A stored event: the event, the command that caused it, the host time, the schema version.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct Recorded {
    /// [`SCHEMA_VERSION`] when written.
    pub schema: u16,
    /// The command that caused the event.
    pub command: CommandId,
    /// The host time of that command.
    pub now_ms: u64,
    /// The event.
    pub event: TableEvent,
}

impl AsRef<TableEvent> for Recorded {
    fn as_ref(&self) -> &TableEvent {
        &self.event
    }
}

/// Why a command was refused. The table is unchanged.
///
/// Checked in this order: the clock, the table being open, then the command's own checks in
/// the order listed (the seat or player, their state, the amounts, the hand).
///
/// Serializable so that a server can send a client why its command was refused (see
/// `showdown_store::sync`); never stored.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TableRejection {
    /// The command's time is earlier than the last one's.
    #[error("the clock went back: now is {now_ms} ms, the last command was at {last_ms} ms")]
    ClockWentBack {
        /// The command's time.
        now_ms: u64,
        /// The last time recorded.
        last_ms: u64,
    },
    /// `Open` on a table that is open.
    #[error("the table is already open")]
    AlreadyOpen,
    /// A command before `Open`.
    #[error("the table is not open: send Open first")]
    NotOpen,
    /// The configuration is refused.
    #[error("the configuration is refused")]
    Config(#[source] ConfigRejection),
    /// A seat beyond the table's seats.
    #[error("{seat} does not exist: the table has {seats} seats")]
    NoSuchSeat {
        /// The seat asked for.
        seat: SeatIdx,
        /// Seats at the table.
        seats: u8,
    },
    /// A seat somebody sits in.
    #[error("{seat} is taken")]
    SeatTaken {
        /// The seat.
        seat: SeatIdx,
    },
    /// A player who already has a seat at this table.
    #[error("{player} already sits at {seat}")]
    AlreadySeated {
        /// Who.
        player: PlayerId,
        /// Where.
        seat: SeatIdx,
    },
    /// A command from a player who has no seat (never sat down, or left).
    #[error("{player} is not seated at this table")]
    NotSeated {
        /// Who.
        player: PlayerId,
    },
    /// A command from a player whose leave is queued.
    #[error("{player} is leaving at the end of the hand and can do nothing more")]
    Leaving {
        /// Who.
        player: PlayerId,
    },
    /// A buy-in outside the table's range.
    #[error("a buy-in of {amount} is outside the range {min} to {max}")]
    BuyInOutOfRange {
        /// The amount offered.
        amount: Chips,
        /// The minimum.
        min: Chips,
        /// The maximum.
        max: Chips,
    },
    /// A buy-in or top-up that would put more than [`MAX_TABLE_CHIPS`] on the table.
    #[error("{amount} more chips would put more than {limit} on the table, which holds {on_table}")]
    TableChipsLimit {
        /// Chips on the table now.
        on_table: Chips,
        /// The amount asked.
        amount: Chips,
        /// [`MAX_TABLE_CHIPS`].
        limit: Chips,
    },
    /// A top-up by a player dealt into the running hand.
    #[error("{player} is in a hand: top up between hands")]
    TopUpDuringHand {
        /// Who.
        player: PlayerId,
    },
    /// A top-up of zero chips.
    #[error("a top-up must be above zero chips")]
    ZeroTopUp,
    /// A top-up that would bring the stack above the maximum buy-in.
    #[error("a top-up of {amount} on a stack of {stack} goes above the maximum buy-in {max}")]
    TopUpAboveMax {
        /// The stack now.
        stack: Chips,
        /// The amount asked.
        amount: Chips,
        /// The maximum buy-in.
        max: Chips,
    },
    /// `SitOut` by a player already sitting out.
    #[error("{player} is already sitting out")]
    AlreadySittingOut {
        /// Who.
        player: PlayerId,
    },
    /// `SitIn` by a player who is not sitting out.
    #[error("{player} is not sitting out")]
    NotSittingOut {
        /// Who.
        player: PlayerId,
    },
    /// `SitIn` with no chips.
    #[error("{player} has no chips: top up first")]
    NoChips {
        /// Who.
        player: PlayerId,
    },
    /// `StartHand` while a hand is running.
    #[error("hand {hand} is still running")]
    HandInProgress {
        /// The running hand.
        hand: u64,
    },
    /// `StartHand` with fewer than two players able to play.
    #[error("a hand needs two players sitting in with chips; {ready} are")]
    NotEnoughPlayers {
        /// Players able to play.
        ready: u8,
    },
    /// An action from a player not dealt into a running hand.
    #[error("{player} is not in a hand")]
    NotInHand {
        /// Who.
        player: PlayerId,
    },
    /// An action out of turn.
    #[error("it is not {seat}'s turn{}", match .actor { Some(a) => format!(": {a} is to act"), None => String::new() })]
    NotYourTurn {
        /// Who tried.
        seat: SeatIdx,
        /// Whose turn it is, if anyone's.
        actor: Option<SeatIdx>,
    },
    /// An action after the action time and the time bank ran out: the host should `Tick`.
    #[error("{seat}'s time ran out at {expired_ms} ms")]
    TimeRanOut {
        /// Whose.
        seat: SeatIdx,
        /// When the time (with the bank) ran out.
        expired_ms: u64,
    },
    /// The hand refused the action.
    #[error("the hand refused the action")]
    Hand(#[source] hand::Rejection),
    /// A command to a closed table.
    #[error("the table is closed")]
    Closed,
    /// `Close` while players are seated.
    #[error("the table still seats {seated} players: they must leave before it closes")]
    NotEmpty {
        /// Players still seated.
        seated: u8,
    },
}

/// One occupied seat.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct Seat {
    /// Who sits here.
    pub player: PlayerId,
    /// Chips behind between hands. While the seat is dealt into a hand, the hand holds its
    /// chips and this is the stack it started the hand with: see [`Table::stack`].
    pub stack: Chips,
    /// Not dealt in from the next hand.
    pub sitting_out: bool,
    /// Owes a small blind (posted dead on return).
    pub owes_small: bool,
    /// Owes a big blind (posted live on return), or is new.
    pub owes_big: bool,
    /// Waits for the big blind rather than post what is owed.
    pub wait_for_big_blind: bool,
    /// Leaves when the running hand ends.
    pub leaving: bool,
    /// Time bank left, in milliseconds.
    pub time_bank_ms: u64,
    /// Position in the running hand, if dealt in.
    pub position: Option<Pos>,
}

impl Seat {
    fn owes(&self) -> bool {
        self.owes_small || self.owes_big
    }

    /// Whether the player can be dealt in (or be the big blind) at the next hand.
    fn ready(&self) -> bool {
        !self.sitting_out && !self.leaving && !self.stack.is_zero()
    }
}

/// Whose turn it is and until when.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct Turn {
    /// Whose turn.
    pub seat: SeatIdx,
    /// The action deadline.
    pub deadline_ms: u64,
    /// When the time bank runs out, once it started.
    pub bank_until_ms: Option<u64>,
}

/// The table's state. Built only by [`apply`]; compare two with `==` (a replay equals the
/// live table). Serializable for snapshots, which must equal a replay.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct Table {
    config: Option<TableConfig>,
    seats: [Option<Seat>; MAX_SEATS],
    hand: HandState,
    hand_no: u64,
    in_hand: bool,
    button: Option<SeatIdx>,
    small_blind: Option<SeatIdx>,
    big_blind: Option<SeatIdx>,
    positions: SeatMap,
    commitment: [u8; 32],
    /// The running hand's seed and salt, for the reveal at its end.
    secret: Option<([u8; 32], [u8; 32])>,
    turn: Option<Turn>,
    last_now_ms: u64,
    /// Lifetime totals grow without bound over a long session: kept wide.
    bought_in: u128,
    cashed_out: u128,
    closed: bool,
}

impl Table {
    /// A table before `Open`: the state every replay starts from.
    #[must_use]
    pub fn new() -> Table {
        Table::default()
    }

    /// Replays recorded events from empty.
    #[must_use]
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a Recorded>) -> Table {
        let mut table = Table::new();
        for event in events {
            apply(&mut table, event);
        }
        table
    }

    /// The configuration, once open.
    #[must_use]
    pub const fn config(&self) -> Option<&TableConfig> {
        self.config.as_ref()
    }

    /// A seat, if occupied.
    #[must_use]
    pub fn seat(&self, seat: SeatIdx) -> Option<&Seat> {
        self.seats.get(seat.idx()).and_then(Option::as_ref)
    }

    /// Every seat (empty ones as `None`), seat 0 first.
    #[must_use]
    pub fn seats(&self) -> &[Option<Seat>] {
        let n = self.config.map_or(0, |c| c.seats as usize);
        &self.seats[..n]
    }

    /// The seat of a player.
    #[must_use]
    pub fn seat_of(&self, player: PlayerId) -> Option<SeatIdx> {
        self.seats.iter().position(|s| s.is_some_and(|s| s.player == player)).map(|i| SeatIdx(i as u8))
    }

    /// A seat's chips now: its hand stack behind while dealt in, else its stack.
    #[must_use]
    pub fn stack(&self, seat: SeatIdx) -> Option<Chips> {
        let s = self.seat(seat)?;
        Some(match s.position {
            Some(pos) if self.hand_holds_chips() => self.hand.stacks()[pos.idx()],
            _ => s.stack,
        })
    }

    /// The running hand, or the last one once it ended.
    #[must_use]
    pub const fn hand(&self) -> &HandState {
        &self.hand
    }

    /// The number of the running or last hand (0 before the first).
    #[must_use]
    pub const fn hand_no(&self) -> HandNo {
        HandNo(self.hand_no)
    }

    /// Whether a hand is running.
    #[must_use]
    pub const fn in_hand(&self) -> bool {
        self.in_hand
    }

    /// Whether the table closed for good.
    #[must_use]
    pub const fn is_closed(&self) -> bool {
        self.closed
    }

    /// The button, small-blind and big-blind seats of the running or last hand.
    #[must_use]
    pub const fn blinds(&self) -> Option<(SeatIdx, SeatIdx, SeatIdx)> {
        match (self.button, self.small_blind, self.big_blind) {
            (Some(b), Some(s), Some(bb)) => Some((b, s, bb)),
            _ => None,
        }
    }

    /// The seats dealt into the running or last hand, in position order.
    #[must_use]
    pub const fn positions(&self) -> &SeatMap {
        &self.positions
    }

    /// The running hand's deck commitment.
    #[must_use]
    pub const fn commitment(&self) -> [u8; 32] {
        self.commitment
    }

    /// Whose turn it is and until when.
    #[must_use]
    pub const fn turn(&self) -> Option<Turn> {
        self.turn
    }

    /// The host time of the last recorded event.
    #[must_use]
    pub const fn last_now_ms(&self) -> u64 {
        self.last_now_ms
    }

    /// Chips that came onto the table over its life (buy-ins and top-ups).
    #[must_use]
    pub const fn bought_in(&self) -> u128 {
        self.bought_in
    }

    /// Chips that left the table over its life (cash-outs).
    #[must_use]
    pub const fn cashed_out(&self) -> u128 {
        self.cashed_out
    }

    /// Refuses chips that would put more than [`MAX_TABLE_CHIPS`] on the table.
    fn check_room_for(&self, amount: Chips) -> Result<(), TableRejection> {
        let on_table = self.chips_on_table();
        match on_table.checked_add(amount) {
            Some(total) if total <= MAX_TABLE_CHIPS => Ok(()),
            _ => Err(TableRejection::TableChipsLimit { on_table, amount, limit: MAX_TABLE_CHIPS }),
        }
    }

    /// Every chip on the table: stacks, bets and pots.
    #[must_use]
    pub fn chips_on_table(&self) -> Chips {
        let mut total = Chips::ZERO;
        let in_hand = self.hand_holds_chips();
        for s in self.seats.iter().flatten() {
            if !(in_hand && s.position.is_some()) {
                total += s.stack;
            }
        }
        if in_hand {
            total += self.hand.stacks().iter().copied().sum::<Chips>() + self.hand.middle();
        }
        total
    }

    /// Whether the running hand holds the dealt seats' chips: from its start event (the
    /// table's `HandStarted` comes just before) to its end.
    fn hand_holds_chips(&self) -> bool {
        self.in_hand && self.hand.phase() != Phase::NotStarted
    }

    /// Chip conservation across the table's edge: chips on the table equal buy-ins and
    /// top-ups less cash-outs.
    #[must_use]
    pub fn chips_conserved(&self) -> bool {
        self.bought_in.checked_sub(self.cashed_out) == Some(u128::from(self.chips_on_table().0))
    }

    /// What a viewer may see now.
    #[must_use]
    pub fn view_for(&self, viewer: Viewer) -> TableView {
        view::view_for(self, viewer)
    }

    /// [`decide`] then [`apply`] in one step, appending the events to `out`.
    ///
    /// # Errors
    /// As [`decide`]; then neither the table nor `out` changes.
    pub fn execute(&mut self, command: &CommandEnvelope, out: &mut Vec<Recorded>) -> Result<(), TableRejection> {
        let mark = out.len();
        match decide_next(self, command, out) {
            Ok(next) => {
                *self = next;
                Ok(())
            }
            Err(e) => {
                out.truncate(mark);
                Err(e)
            }
        }
    }
}

/// Decides what a command does: the events it causes, or why it is refused.
///
/// # Errors
/// A [`TableRejection`] saying what was wrong; the table is unchanged.
pub fn decide(table: &Table, command: &CommandEnvelope) -> Result<Vec<Recorded>, TableRejection> {
    let mut out = Vec::new();
    decide_next(table, command, &mut out)?;
    Ok(out)
}

/// Applies one recorded event. Total for every event [`decide`] emits; never fails.
pub fn apply(t: &mut Table, recorded: &Recorded) {
    t.last_now_ms = t.last_now_ms.max(recorded.now_ms);
    match &recorded.event {
        TableEvent::Opened { config } => t.config = Some(*config),
        TableEvent::SatDown { seat, player, wait_for_big_blind } => {
            let bank = t.config.map_or(0, |c| c.time_bank_ms);
            t.seats[seat.idx()] = Some(Seat {
                player: *player,
                stack: Chips::ZERO,
                sitting_out: false,
                owes_small: false,
                // Once a hand was played a newcomer owes a big blind, so that nobody gets a
                // cheap hand by sitting down just after the blinds.
                owes_big: t.big_blind.is_some(),
                wait_for_big_blind: *wait_for_big_blind,
                leaving: false,
                time_bank_ms: bank,
                position: None,
            });
        }
        TableEvent::BoughtIn { seat, amount, stack, .. } | TableEvent::ToppedUp { seat, amount, stack, .. } => {
            t.bought_in += u128::from(amount.0);
            if let Some(s) = &mut t.seats[seat.idx()] {
                s.stack = *stack;
            }
        }
        TableEvent::SatOut { seat, .. } => {
            if let Some(s) = &mut t.seats[seat.idx()] {
                s.sitting_out = true;
            }
        }
        TableEvent::SatIn { seat, wait_for_big_blind, .. } => {
            if let Some(s) = &mut t.seats[seat.idx()] {
                s.sitting_out = false;
                s.wait_for_big_blind = *wait_for_big_blind;
            }
        }
        TableEvent::LeaveQueued { seat, .. } => {
            if let Some(s) = &mut t.seats[seat.idx()] {
                s.leaving = true;
            }
        }
        TableEvent::CashedOut { seat, amount, .. } => {
            t.cashed_out += u128::from(amount.0);
            t.seats[seat.idx()] = None;
        }
        TableEvent::BlindsMissed { seat, small, big, .. } => {
            if let Some(s) = &mut t.seats[seat.idx()] {
                s.owes_small |= *small;
                s.owes_big |= *big;
            }
        }
        TableEvent::HandStarted { hand, button, small_blind, big_blind, seats, commitment, seed, salt, .. } => {
            t.hand_no = hand.0;
            t.in_hand = true;
            t.button = Some(*button);
            t.small_blind = Some(*small_blind);
            t.big_blind = Some(*big_blind);
            t.positions = *seats;
            t.commitment = *commitment;
            t.secret = seed.zip(*salt);
            t.hand = HandState::new();
            t.turn = None;
            for (p, seat) in seats.as_slice().iter().enumerate() {
                if let Some(s) = &mut t.seats[seat.idx()] {
                    // Being dealt in pays (or forgives) whatever was owed.
                    s.position = Some(Pos(p as u8));
                    s.owes_small = false;
                    s.owes_big = false;
                    s.wait_for_big_blind = false;
                }
            }
        }
        TableEvent::Hand { event, .. } => {
            hand::apply(&mut t.hand, event);
            after_hand_event(t, event);
        }
        TableEvent::ActionDeadlineSet { seat, deadline_ms } => {
            t.turn = Some(Turn { seat: *seat, deadline_ms: *deadline_ms, bank_until_ms: None });
        }
        TableEvent::TimeBankStarted { until_ms, .. } => {
            if let Some(turn) = &mut t.turn {
                turn.bank_until_ms = Some(*until_ms);
            }
        }
        TableEvent::TimeBankUsed { seat, left_ms, .. } => {
            if let Some(s) = &mut t.seats[seat.idx()] {
                s.time_bank_ms = *left_ms;
            }
        }
        TableEvent::ActedFor { .. } => t.turn = None,
        TableEvent::DeckRevealed { .. } => t.secret = None,
        TableEvent::Closed => t.closed = true,
        // The void hands never reached this table: its stacks are already those of a table
        // where they did not happen (see `compensation`).
        TableEvent::HandVoided { .. } | TableEvent::BranchVoided { .. } => {}
    }
}

/// What a hand event changes at the table beyond the hand itself: the stacks of a hand
/// that ended flow back to the seats.
fn after_hand_event(t: &mut Table, event: &hand::Event) {
    if let hand::Event::HandEnded { stacks } = event {
        for (p, seat) in t.positions.as_slice().iter().enumerate() {
            if let Some(s) = &mut t.seats[seat.idx()] {
                s.stack = stacks[p];
                s.position = None;
            }
        }
        t.in_hand = false;
        t.turn = None;
    }
}

/// The hand position an event names, if any.
fn event_pos(event: &hand::Event) -> Option<Pos> {
    use hand::Event as E;
    match event {
        E::AntePosted { pos, .. }
        | E::BlindPosted { pos, .. }
        | E::HoleCardsDealt { pos, .. }
        | E::Folded { pos }
        | E::Checked { pos }
        | E::Called { pos, .. }
        | E::BetOrRaised { pos, .. }
        | E::BetReturned { pos, .. }
        | E::CardsShown { pos, .. }
        | E::CardsMucked { pos }
        | E::HandKilled { pos }
        | E::PotAwarded { pos, .. }
        | E::PotReturned { pos, .. } => Some(*pos),
        E::HandStarted(_)
        | E::StreetStarted { .. }
        | E::BoardDealt { .. }
        | E::StreetClosed { .. }
        | E::ShowdownStarted { .. }
        | E::PotFormed { .. }
        | E::HandEnded { .. } => None,
    }
}

/// Decides on a scratch copy of the table, applying each event as it is emitted (the same
/// `apply` a replay runs), and returns the copy so that [`Table::execute`] can keep it.
fn decide_next(table: &Table, env: &CommandEnvelope, out: &mut Vec<Recorded>) -> Result<Table, TableRejection> {
    let mark = out.len();
    let mut d = Decider { next: table.clone(), out, id: env.id, now: env.now_ms, buf: Vec::new() };
    let result = d.decide(&env.command);
    match result {
        Ok(()) => Ok(d.next),
        Err(e) => {
            d.out.truncate(mark);
            Err(e)
        }
    }
}

struct Decider<'a> {
    next: Table,
    out: &'a mut Vec<Recorded>,
    id: CommandId,
    now: u64,
    /// Hand events before they are wrapped.
    buf: Vec<hand::Event>,
}

/// Whether `x` lies strictly after `from` and strictly before `to`, walking forward around a
/// table of `n` seats.
fn strictly_between(from: usize, x: usize, to: usize, n: usize) -> bool {
    let dx = (x + n - from) % n;
    let dt = (to + n - from) % n;
    // `to == from` means a whole lap: everything else lies between.
    let dt = if dt == 0 { n } else { dt };
    dx > 0 && dx < dt
}

/// Who plays the next hand and where the button and blinds go.
struct Plan {
    button: usize,
    small_blind: usize,
    big_blind: usize,
    dealt: [bool; MAX_SEATS],
    /// Missed blinds to record: (seat, small, big).
    missed: [(bool, bool); MAX_SEATS],
}

impl Decider<'_> {
    fn emit(&mut self, event: TableEvent) {
        let recorded = Recorded { schema: SCHEMA_VERSION, command: self.id, now_ms: self.now, event };
        apply(&mut self.next, &recorded);
        self.out.push(recorded);
    }

    fn config(&self) -> TableConfig {
        self.next.config.expect("checked open before deciding")
    }

    fn decide(&mut self, command: &TableCommand) -> Result<(), TableRejection> {
        let t = &self.next;
        if self.now < t.last_now_ms {
            return Err(TableRejection::ClockWentBack { now_ms: self.now, last_ms: t.last_now_ms });
        }
        if let TableCommand::Open { config } = command {
            if t.config.is_some() {
                return Err(TableRejection::AlreadyOpen);
            }
            config.validate().map_err(TableRejection::Config)?;
            self.emit(TableEvent::Opened { config: *config });
            return Ok(());
        }
        let Some(config) = t.config else { return Err(TableRejection::NotOpen) };
        if t.closed {
            return Err(TableRejection::Closed);
        }
        match command {
            TableCommand::Open { .. } => unreachable!("handled above"),
            TableCommand::SitDown { seat, player, buy_in, wait_for_big_blind } => {
                if seat.0 >= config.seats {
                    return Err(TableRejection::NoSuchSeat { seat: *seat, seats: config.seats });
                }
                if t.seats[seat.idx()].is_some() {
                    return Err(TableRejection::SeatTaken { seat: *seat });
                }
                if let Some(at) = t.seat_of(*player) {
                    return Err(TableRejection::AlreadySeated { player: *player, seat: at });
                }
                if *buy_in < config.min_buy_in || *buy_in > config.max_buy_in {
                    return Err(TableRejection::BuyInOutOfRange {
                        amount: *buy_in,
                        min: config.min_buy_in,
                        max: config.max_buy_in,
                    });
                }
                t.check_room_for(*buy_in)?;
                let (seat, player) = (*seat, *player);
                self.emit(TableEvent::SatDown { seat, player, wait_for_big_blind: *wait_for_big_blind });
                self.emit(TableEvent::BoughtIn { seat, player, amount: *buy_in, stack: *buy_in });
                Ok(())
            }
            TableCommand::TopUp { player, amount } => {
                let (seat, s) = self.seated(*player)?;
                if s.position.is_some() && t.in_hand {
                    return Err(TableRejection::TopUpDuringHand { player: *player });
                }
                if amount.is_zero() {
                    return Err(TableRejection::ZeroTopUp);
                }
                let stack = s.stack.checked_add(*amount).filter(|&st| st <= config.max_buy_in);
                let Some(stack) = stack else {
                    return Err(TableRejection::TopUpAboveMax {
                        stack: s.stack,
                        amount: *amount,
                        max: config.max_buy_in,
                    });
                };
                t.check_room_for(*amount)?;
                self.emit(TableEvent::ToppedUp { seat, player: *player, amount: *amount, stack });
                Ok(())
            }
            TableCommand::SitOut { player } => {
                let (seat, s) = self.seated(*player)?;
                if s.sitting_out {
                    return Err(TableRejection::AlreadySittingOut { player: *player });
                }
                self.emit(TableEvent::SatOut { seat, player: *player, reason: SitOutReason::Requested });
                Ok(())
            }
            TableCommand::SitIn { player, wait_for_big_blind } => {
                let (seat, s) = self.seated(*player)?;
                if !s.sitting_out {
                    return Err(TableRejection::NotSittingOut { player: *player });
                }
                if s.stack.is_zero() {
                    return Err(TableRejection::NoChips { player: *player });
                }
                self.emit(TableEvent::SatIn { seat, player: *player, wait_for_big_blind: *wait_for_big_blind });
                Ok(())
            }
            TableCommand::Leave { player } => {
                let (seat, s) = self.seated(*player)?;
                if s.position.is_some() && t.in_hand {
                    self.emit(TableEvent::LeaveQueued { seat, player: *player });
                    // If it is their turn, the table acts for them now.
                    if self.next.hand.actor().is_some_and(|p| self.next.positions.seat(p) == seat) {
                        self.drive();
                    }
                } else {
                    self.emit(TableEvent::CashedOut { seat, player: *player, amount: s.stack, stack: Chips::ZERO });
                }
                Ok(())
            }
            TableCommand::StartHand { seed, salt } => self.start_hand(&config, seed, salt),
            TableCommand::Act { player, action } => self.act(*player, *action),
            TableCommand::Tick => {
                self.tick();
                Ok(())
            }
            TableCommand::Close => {
                if t.in_hand {
                    return Err(TableRejection::HandInProgress { hand: t.hand_no });
                }
                let seated = t.seats.iter().flatten().count() as u8;
                if seated > 0 {
                    return Err(TableRejection::NotEmpty { seated });
                }
                self.emit(TableEvent::Closed);
                Ok(())
            }
        }
    }

    /// The seat of a player who may still send commands.
    fn seated(&self, player: PlayerId) -> Result<(SeatIdx, Seat), TableRejection> {
        let seat = self.next.seat_of(player).ok_or(TableRejection::NotSeated { player })?;
        let s = self.next.seats[seat.idx()].expect("seat_of found it");
        if s.leaving {
            return Err(TableRejection::Leaving { player });
        }
        Ok((seat, s))
    }

    fn act(&mut self, player: PlayerId, action: TableAction) -> Result<(), TableRejection> {
        let (seat, s) = self.seated(player)?;
        let t = &self.next;
        let pos = match s.position {
            Some(pos) if t.in_hand => pos,
            _ => return Err(TableRejection::NotInHand { player }),
        };
        let actor = t.hand.actor();
        if actor != Some(pos) {
            return Err(TableRejection::NotYourTurn { seat, actor: actor.map(|p| t.positions.seat(p)) });
        }
        // Past the deadline the time bank pays for the delay; past the bank too, only a
        // Tick may act for the player, so that the outcome does not depend on which of the
        // two commands the host happened to send first.
        let mut bank_used = None;
        if let Some(turn) = t.turn.filter(|turn| turn.seat == seat && self.now > turn.deadline_ms) {
            let late = self.now - turn.deadline_ms;
            if late >= s.time_bank_ms {
                return Err(TableRejection::TimeRanOut { seat, expired_ms: turn.deadline_ms + s.time_bank_ms });
            }
            bank_used = Some((late, s.time_bank_ms - late));
        }
        let command = match action {
            TableAction::Fold => hand::Command::Fold { pos },
            TableAction::CheckOrCall => hand::Command::CheckOrCall { pos },
            TableAction::BetOrRaiseTo(to) => hand::Command::BetOrRaiseTo { pos, to },
        };
        self.buf.clear();
        // The time bank event touches no hand state, so the hand may move first.
        hand::execute(&mut self.next.hand, &command, &mut self.buf).map_err(TableRejection::Hand)?;
        if let Some((used_ms, left_ms)) = bank_used {
            self.emit(TableEvent::TimeBankUsed { seat, used_ms, left_ms });
        }
        self.emit_hand_events();
        self.drive();
        Ok(())
    }

    fn tick(&mut self) {
        let t = &self.next;
        let Some(turn) = t.turn else { return };
        if !t.in_hand || self.now < turn.deadline_ms {
            return;
        }
        let seat = turn.seat;
        let Some(s) = t.seats[seat.idx()] else { return };
        let until = turn.deadline_ms + s.time_bank_ms;
        if turn.bank_until_ms.is_none() && s.time_bank_ms > 0 {
            self.emit(TableEvent::TimeBankStarted { seat, until_ms: until });
        }
        if self.now < until {
            return;
        }
        if s.time_bank_ms > 0 {
            self.emit(TableEvent::TimeBankUsed { seat, used_ms: s.time_bank_ms, left_ms: 0 });
        }
        self.emit(TableEvent::ActedFor { seat, reason: ActedForReason::TimedOut });
        if !s.sitting_out {
            self.emit(TableEvent::SatOut { seat, player: s.player, reason: SitOutReason::TimedOut });
        }
        self.act_for_actor();
        self.drive();
    }

    /// Checks if free, else folds, for the player to act.
    fn act_for_actor(&mut self) {
        let legal = hand::legal_actions(&self.next.hand).expect("someone is to act");
        let pos = legal.actor;
        let command =
            if legal.call.is_zero() { hand::Command::CheckOrCall { pos } } else { hand::Command::Fold { pos } };
        self.buf.clear();
        // A check when nothing is owed and a fold when something is are always legal.
        hand::execute(&mut self.next.hand, &command, &mut self.buf).expect("check or fold is legal for the actor");
        self.emit_hand_events();
    }

    /// Records the hand events in `buf`, which `hand::execute` has already applied to the
    /// hand: only their effect on the rest of the table is applied here. The result equals
    /// [`apply`] of each recorded event, which is what a replay runs.
    fn emit_hand_events(&mut self) {
        let mut events = std::mem::take(&mut self.buf);
        if !events.is_empty() {
            // What `apply` does first for each event; the command's clock is the same for all.
            self.next.last_now_ms = self.next.last_now_ms.max(self.now);
        }
        for event in events.drain(..) {
            let seat = event_pos(&event).map(|p| self.next.positions.seat(p));
            after_hand_event(&mut self.next, &event);
            let event = TableEvent::Hand { seat, event };
            self.out.push(Recorded { schema: SCHEMA_VERSION, command: self.id, now_ms: self.now, event });
        }
        self.buf = events;
    }

    /// After hand events: act for leaving players, set the next deadline, or end the hand.
    fn drive(&mut self) {
        loop {
            if self.next.hand.phase() == Phase::Complete {
                self.finish_hand();
                return;
            }
            let Some(pos) = self.next.hand.actor() else {
                // With a deck and automatic showdowns a hand always waits for an action or
                // is over: anything else is a bug in the hand.
                debug_assert!(false, "the hand waits for neither an action nor anything else");
                return;
            };
            let seat = self.next.positions.seat(pos);
            if self.next.seats[seat.idx()].is_some_and(|s| s.leaving) {
                self.emit(TableEvent::ActedFor { seat, reason: ActedForReason::Leaving });
                self.act_for_actor();
                continue;
            }
            let deadline_ms = self.now.saturating_add(self.config().action_time_ms);
            self.emit(TableEvent::ActionDeadlineSet { seat, deadline_ms });
            return;
        }
    }

    fn finish_hand(&mut self) {
        let (seed, salt) = self.next.secret.expect("a running hand has its secret");
        self.emit(TableEvent::DeckRevealed { hand: HandNo(self.next.hand_no), seed, salt });
        for i in 0..MAX_SEATS {
            let Some(s) = self.next.seats[i] else { continue };
            let seat = SeatIdx(i as u8);
            if s.leaving {
                self.emit(TableEvent::CashedOut { seat, player: s.player, amount: s.stack, stack: Chips::ZERO });
            } else if s.stack.is_zero() && !s.sitting_out {
                self.emit(TableEvent::SatOut { seat, player: s.player, reason: SitOutReason::Busted });
            }
        }
    }

    fn start_hand(&mut self, config: &TableConfig, seed: &[u8; 32], salt: &[u8; 32]) -> Result<(), TableRejection> {
        let t = &self.next;
        if t.in_hand {
            return Err(TableRejection::HandInProgress { hand: t.hand_no });
        }
        let plan = plan_hand(t, config)?;
        for (i, &(small, big)) in plan.missed.iter().enumerate() {
            if small || big {
                let player = self.next.seats[i].expect("missed blinds are recorded for occupied seats").player;
                self.emit(TableEvent::BlindsMissed { seat: SeatIdx(i as u8), player, small, big });
            }
        }
        let n = config.seats as usize;
        let mut seats = SeatMap::default();
        for k in 1..=n {
            let i = (plan.button + k) % n;
            if plan.dealt[i] {
                seats.push(SeatIdx(i as u8));
            }
        }
        let setup = build_setup(&self.next, config, &plan, &seats, seed);
        let deck = setup.deck.expect("a table deals from its deck");
        let commitment = fairness::commitment(seed, &deck, salt);
        self.emit(TableEvent::HandStarted {
            hand: HandNo(self.next.hand_no + 1),
            button: SeatIdx(plan.button as u8),
            small_blind: SeatIdx(plan.small_blind as u8),
            big_blind: SeatIdx(plan.big_blind as u8),
            seats,
            commitment,
            shuffle_version: SHUFFLE_VERSION,
            seed: Some(*seed),
            salt: Some(*salt),
        });
        self.buf.clear();
        hand::execute(&mut self.next.hand, &hand::Command::start(setup), &mut self.buf)
            .map_err(TableRejection::Hand)?;
        self.emit_hand_events();
        self.drive();
        Ok(())
    }
}

/// Works out who plays the next hand and where the button and the blinds go (see the
/// module docs for the rules).
fn plan_hand(t: &Table, config: &TableConfig) -> Result<Plan, TableRejection> {
    let n = config.seats as usize;
    let ready: [bool; MAX_SEATS] = std::array::from_fn(|i| i < n && t.seats[i].is_some_and(|s| s.ready()));
    let count = ready.iter().filter(|&&r| r).count();
    if count < 2 {
        return Err(TableRejection::NotEnoughPlayers { ready: count as u8 });
    }
    // The first ready seat at or after `from`, walking forward.
    let next_ready = |from: usize| (0..n).map(|k| (from + k) % n).find(|&i| ready[i]).expect("two are ready");
    let mut plan = Plan {
        button: 0,
        small_blind: 0,
        big_blind: 0,
        dealt: [false; MAX_SEATS],
        missed: [(false, false); MAX_SEATS],
    };

    let (Some(prev_bb), Some(prev_sb)) = (t.big_blind, t.small_blind) else {
        // The first hand: everybody ready plays, the button goes to the first of them.
        plan.dealt = ready;
        plan.button = next_ready(0);
        if count == 2 {
            plan.small_blind = plan.button;
            plan.big_blind = next_ready(plan.button + 1);
        } else {
            plan.small_blind = next_ready(plan.button + 1);
            plan.big_blind = next_ready(plan.small_blind + 1);
        }
        return Ok(plan);
    };
    let (prev_bb, prev_sb) = (prev_bb.idx(), prev_sb.idx());
    let bb = next_ready(prev_bb + 1);
    let button = prev_sb;
    plan.big_blind = bb;
    for (i, seat) in t.seats.iter().enumerate().take(n) {
        let Some(s) = seat else { continue };
        plan.dealt[i] =
            ready[i] && (i == bb || !s.owes() || (!s.wait_for_big_blind && !strictly_between(button, i, bb, n)));
    }
    let mut dealt = plan.dealt.iter().filter(|&&d| d).count();
    if dealt < 2 {
        // Too few would play if the owed blinds were enforced: forgive them.
        plan.dealt = ready;
        dealt = count;
    } else {
        // The big blind passed these seats while their players sat out.
        for (i, seat) in t.seats.iter().enumerate().take(n) {
            if let Some(s) = seat {
                let passed = strictly_between(prev_bb, i, bb, n) && !ready[i] && !s.leaving;
                let missed_small = dealt >= 3 && i == prev_bb && !ready[i] && !s.leaving;
                plan.missed[i] = (missed_small && !s.owes_small, passed && !s.owes_big);
            }
        }
    }
    let prev_dealt =
        |from: usize| (1..=n).map(|k| (from + n - k) % n).find(|&i| plan.dealt[i]).expect("two are dealt in");
    if dealt == 2 {
        // Heads-up: the button is the other player and posts the small blind.
        plan.button = prev_dealt(bb);
        plan.small_blind = plan.button;
    } else if button != prev_bb && strictly_between(button, prev_bb, bb, n) && strictly_between(prev_bb, bb, button, n)
    {
        // The dead-button rule: the blinds and the button each move one seat.
        plan.small_blind = prev_bb;
        plan.button = button;
    } else {
        // The seats came out of order (after heads-up play, forgiveness or a lap of empty
        // seats): seat the blinds on the players dealt in, before the big blind.
        plan.small_blind = prev_dealt(bb);
        plan.button = prev_dealt(plan.small_blind);
    }
    Ok(plan)
}

/// The hand's setup: stacks, antes, blinds, straddle and posts by position.
fn build_setup(t: &Table, config: &TableConfig, plan: &Plan, seats: &SeatMap, seed: &[u8; 32]) -> HandSetup {
    let players = seats.len();
    let mut stacks = [Chips::ZERO; MAX_PLAYERS];
    for (p, seat) in seats.as_slice().iter().enumerate() {
        stacks[p] = t.seats[seat.idx()].map_or(Chips::ZERO, |s| s.stack);
    }
    let mut setup = HandSetup::new(config.variant, &stacks[..players], config.big_blind);
    setup.odd_chips = config.odd_chips;
    setup.free_fold = config.free_fold;
    setup.showdown = ShowdownPolicy::Automatic;
    setup.deck = Some(Deck::shuffled(*seed));
    let blind = |c: Chips| if c.is_zero() { Forced::None } else { Forced::Blind(c) };
    if players == 2 {
        // Heads-up the hand reads the blind and ante lists in reverse (PokerKit): entry 0
        // goes to position 1, the button, who posts the small blind.
        setup.forced[0] = blind(config.small_blind);
        setup.forced[1] = blind(config.big_blind);
        match config.ante {
            Ante::None => {}
            Ante::PerPlayer(a) => setup.antes[..2].fill(a),
            Ante::BigBlind(a) => setup.antes[1] = a,
        }
        return setup;
    }
    let bb_pos = seats.position(SeatIdx(plan.big_blind as u8)).expect("the big blind is dealt in").idx();
    for (p, seat) in seats.as_slice().iter().enumerate() {
        let s = t.seats[seat.idx()].expect("dealt seats are occupied");
        if seat.idx() == plan.big_blind {
            setup.forced[p] = blind(config.big_blind);
        } else if seat.idx() == plan.small_blind {
            setup.forced[p] = blind(config.small_blind);
        } else {
            if s.owes_big {
                setup.forced[p] = Forced::Post(config.big_blind);
            }
            if s.owes_small {
                // A missed small blind is dead money: an ante goes to the pot, not in
                // front of the player.
                setup.antes[p] += config.small_blind;
            }
        }
        if let Ante::PerPlayer(a) = config.ante {
            setup.antes[p] += a;
        }
    }
    if let Ante::BigBlind(a) = config.ante {
        setup.antes[bb_pos] += a;
    }
    if let Straddle::Mandatory(amount) = config.straddle
        && players >= 4
    {
        // The player after the big blind; a straddle also pays an owed big blind.
        setup.forced[(bb_pos + 1) % players] = Forced::Blind(amount);
    }
    setup
}
