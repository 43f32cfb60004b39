//! One hand of poker as a pure state machine: [`decide`] turns a command into events or a
//! [`Rejection`], [`apply`] folds an event into the state, and [`legal_actions`] answers
//! what the player to act may do, with the same checks `decide` makes.
//!
//! The sequence follows PokerKit 0.7.7 step for step (antes, ante collection, blinds and
//! straddles, dealing, betting, bet collection with the uncalled bet returned, showdown,
//! all-in run-outs with a showdown before each further street, hand killing, pots), so that
//! replays of PokerKit's hand histories end with PokerKit's stacks. Where PokerKit would
//! burn chips (a pot whose every contender folded), the engine returns them instead: see
//! `docs/RULES.md`.
//!
//! A command names the position it acts for; the engine checks it is that position's turn.
//! Everything that follows from a command without another decision (collecting bets,
//! dealing from the deck, showing down automatically, awarding pots, ending the hand) is
//! emitted by the same `decide` call, so after applying its events the state always waits
//! for the next command or is complete.

use serde::{Deserialize, Serialize};

use crate::cards::{Card, CardSet};
use crate::chips::Chips;
use crate::deck::Deck;
use crate::eval::{self, Hand, HandRank};
use crate::pots::{PosSet, Pot, form_pots};
use crate::rules::{
    BettingStructure, Forced, FreeFoldPolicy, HandSetup, HoleCardRule, MAX_PLAYERS, OddChipPolicy, Pos, ShowdownPolicy,
    Variant,
};

/// The four betting rounds of a flop game.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum Street {
    /// Hole cards, then the first betting round.
    Preflop = 0,
    /// Three board cards.
    Flop = 1,
    /// The fourth board card.
    Turn = 2,
    /// The fifth board card.
    River = 3,
}

impl Street {
    const ALL: [Street; 4] = [Street::Preflop, Street::Flop, Street::Turn, Street::River];

    /// The street after this one, if any.
    #[must_use]
    pub const fn next(self) -> Option<Street> {
        match self {
            Street::Preflop => Some(Street::Flop),
            Street::Flop => Some(Street::Turn),
            Street::Turn => Some(Street::River),
            Street::River => None,
        }
    }

    /// How many board cards this street deals.
    #[must_use]
    pub const fn board_cards(self) -> u8 {
        match self {
            Street::Preflop => 0,
            Street::Flop => 3,
            Street::Turn | Street::River => 1,
        }
    }
}

/// Up to five cards, some of which may be unknown (`None`): a player's hole cards or a
/// board, as dealt or shown.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct Cards {
    cards: [Option<Card>; 5],
    len: u8,
}

impl Cards {
    /// No cards.
    pub const EMPTY: Cards = Cards { cards: [None; 5], len: 0 };

    /// These cards.
    ///
    /// # Panics
    /// If there are more than five: a programmer error.
    #[must_use]
    pub fn new(cards: &[Option<Card>]) -> Cards {
        assert!(cards.len() <= 5, "at most five cards, not {}", cards.len());
        let mut out = Cards::EMPTY;
        out.cards[..cards.len()].copy_from_slice(cards);
        out.len = cards.len() as u8;
        out
    }

    /// The cards.
    #[must_use]
    pub fn as_slice(&self) -> &[Option<Card>] {
        &self.cards[..self.len as usize]
    }

    /// The number of cards.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether there are no cards.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push(&mut self, card: Option<Card>) {
        self.cards[self.len as usize] = card;
        self.len += 1;
    }

    fn known(&self) -> impl Iterator<Item = Card> + '_ {
        self.as_slice().iter().flatten().copied()
    }
}

impl std::fmt::Debug for Cards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::cards::format_cards(self.as_slice()))
    }
}

impl std::fmt::Display for Cards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::cards::format_cards(self.as_slice()))
    }
}

/// What a player does at showdown.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum Show {
    /// Give up the hand without showing it.
    Muck,
    /// Show every hole card (PHH `sm -`); each must be known.
    All,
    /// Show these cards (PHH `sm AsKd`); unknown cards (`??`) stay face down.
    Cards(Cards),
}

/// A request to the hand.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum Command {
    /// Start the hand (build it with [`Command::start`]).
    Start(Box<HandSetup>),
    /// Deal hole cards to a position (replays: the table deals from its deck itself).
    DealHole {
        /// Who receives them.
        pos: Pos,
        /// The cards, unknown ones as `None`.
        cards: Cards,
    },
    /// Deal board cards (replays).
    DealBoard {
        /// The cards, unknown ones as `None`.
        cards: Cards,
    },
    /// Give up the hand.
    Fold {
        /// Who folds.
        pos: Pos,
    },
    /// Check when nothing is owed, else call (all in if the stack is short).
    CheckOrCall {
        /// Who acts.
        pos: Pos,
    },
    /// Bet or raise so that the position's bet this street totals `to`.
    BetOrRaiseTo {
        /// Who acts.
        pos: Pos,
        /// The total bet this street after the action.
        to: Chips,
    },
    /// Show or muck at showdown, or show voluntarily after the hand.
    ShowOrMuck {
        /// Who shows or mucks.
        pos: Pos,
        /// What they do.
        show: Show,
    },
}

impl Command {
    /// The command that starts a hand with this setup.
    #[must_use]
    pub fn start(setup: HandSetup) -> Command {
        Command::Start(Box::new(setup))
    }
}

/// Something that happened in the hand. Applying every event of a hand in order to a fresh
/// state rebuilds the state exactly.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum Event {
    /// The hand started with this setup.
    HandStarted(Box<HandSetup>),
    /// An ante was posted.
    AntePosted {
        /// Who posted it.
        pos: Pos,
        /// How much (less than the ante when the stack is short).
        amount: Chips,
    },
    /// A blind, straddle or post was put in.
    BlindPosted {
        /// Who posted it.
        pos: Pos,
        /// How much (less than asked when the stack is short).
        amount: Chips,
        /// `true` for a live post that does not decide who acts first.
        post: bool,
    },
    /// A street began; its cards are dealt next.
    StreetStarted {
        /// The street.
        street: Street,
    },
    /// Hole cards were dealt to a position. Only that position may see them.
    HoleCardsDealt {
        /// Who received them.
        pos: Pos,
        /// The cards, `None` where unknown (replays).
        cards: Cards,
    },
    /// Board cards were dealt.
    BoardDealt {
        /// The cards.
        cards: Cards,
    },
    /// A player folded.
    Folded {
        /// Who.
        pos: Pos,
    },
    /// A player checked.
    Checked {
        /// Who.
        pos: Pos,
    },
    /// A player called (all in when `amount` was the whole stack).
    Called {
        /// Who.
        pos: Pos,
        /// Chips added.
        amount: Chips,
    },
    /// A player bet or raised.
    BetOrRaised {
        /// Who.
        pos: Pos,
        /// Their total bet this street.
        to: Chips,
        /// Chips added by this action.
        added: Chips,
    },
    /// The part of a bet nobody called went back to its owner.
    BetReturned {
        /// Whose bet.
        pos: Pos,
        /// Chips returned.
        amount: Chips,
    },
    /// The bets in front of the players went into the pot and the street's betting closed.
    StreetClosed {
        /// The street that closed (`None` for the antes before the first street).
        street: Option<Street>,
        /// Chips collected.
        collected: Chips,
        /// Whether at most one player still in the hand has chips behind: the rest of the
        /// board is run out, with a showdown before each card.
        all_in: bool,
    },
    /// Players still in the hand show or muck, in order.
    ShowdownStarted {
        /// The street on which the showdown happens.
        street: Street,
    },
    /// A player showed cards (face-down ones stay `None`).
    CardsShown {
        /// Who.
        pos: Pos,
        /// The shown cards.
        cards: Cards,
        /// `true` for a show after the hand ended, which changes nothing.
        voluntary: bool,
    },
    /// A player mucked at showdown.
    CardsMucked {
        /// Who.
        pos: Pos,
    },
    /// A hand that can no longer win anything was killed before the pots were pushed.
    HandKilled {
        /// Whose.
        pos: Pos,
    },
    /// A pot was formed at the end of the hand.
    PotFormed {
        /// 0 for the main pot, then the side pots in order.
        pot: u8,
        /// Its chips.
        amount: Chips,
        /// The players who contest it.
        contenders: PosSet,
    },
    /// Chips of a pot went to a winner.
    PotAwarded {
        /// Which pot.
        pot: u8,
        /// Who won them.
        pos: Pos,
        /// How many chips.
        amount: Chips,
        /// The winning hand, when shown down.
        rank: Option<HandRank>,
        /// `true` when no contender of the pot showed a known card: PokerKit's even split
        /// among them is applied and reported, since the real winner is unknown.
        undetermined: bool,
    },
    /// A pot nobody contests any more (every contender folded) went back to the players
    /// who put it in, each their own share, where PokerKit would burn it.
    PotReturned {
        /// Which pot.
        pot: u8,
        /// To whom.
        pos: Pos,
        /// How many chips.
        amount: Chips,
    },
    /// The hand is over.
    HandEnded {
        /// Every position's stack, position 0 first.
        stacks: Vec<Chips>,
    },
}

/// Why a command was refused. The state is unchanged. Variants are checked in this order.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
#[non_exhaustive]
pub enum Rejection {
    /// `Start` on a hand that has started.
    #[error("the hand has already started")]
    AlreadyStarted,
    /// A command other than `Start` before the hand started.
    #[error("the hand has not started: send Start first")]
    NotStarted,
    /// The setup has fewer than two or more than ten players.
    #[error("a hand needs 2 to {max} players, not {players}")]
    PlayerCount {
        /// Players asked for.
        players: u8,
        /// The most allowed.
        max: u8,
    },
    /// The minimum bet (or a fixed-limit bet size) is zero.
    #[error("the minimum bet must be above zero")]
    ZeroMinimumBet,
    /// A player starts with no chips.
    #[error("{pos} starts with no chips: seat only players with chips")]
    EmptyStack {
        /// Who.
        pos: Pos,
    },
    /// The stacks of all players overflow a `u64`.
    #[error("the stacks add up to more than {max} chips")]
    ChipsOverflow {
        /// The most chips a hand can hold.
        max: u64,
    },
    /// A muck after the hand is over (a voluntary show is still accepted).
    #[error("the hand is over")]
    HandOver,
    /// A position beyond the players of this hand.
    #[error("{pos} is not in this hand of {players} players")]
    NoSuchPosition {
        /// The position given.
        pos: Pos,
        /// Players in the hand.
        players: u8,
    },
    /// A betting action when nobody is to act.
    #[error("nobody is to act now: the hand is {phase}")]
    NotBetting {
        /// What the hand waits for.
        phase: Phase,
    },
    /// A betting action by a player whose turn it is not.
    #[error("it is {actor}'s turn, not {pos}'s")]
    NotYourTurn {
        /// Who tried.
        pos: Pos,
        /// Whose turn it is.
        actor: Pos,
    },
    /// A fold when checking costs nothing, at a table that refuses it.
    #[error("{pos} can check for free: this table does not allow folding then")]
    FreeFold {
        /// Who tried.
        pos: Pos,
    },
    /// A bet or raise of zero chips.
    #[error("a bet or raise must be above zero chips")]
    ZeroAmount,
    /// A bet or raise when the rules allow none.
    #[error("{pos} cannot bet or raise now: {reason}")]
    CannotRaise {
        /// Who tried.
        pos: Pos,
        /// Why not.
        reason: NoRaise,
    },
    /// A bet or raise below the minimum raise-to.
    #[error("raise to {to} is below the minimum raise-to {min}")]
    BelowMinimum {
        /// The amount asked.
        to: Chips,
        /// The minimum.
        min: Chips,
    },
    /// A bet or raise beyond the stack.
    #[error("raise to {to} is more than {pos} has: at most {max} (stack plus bet)")]
    AboveStack {
        /// Who tried.
        pos: Pos,
        /// The amount asked.
        to: Chips,
        /// Stack plus this street's bet.
        max: Chips,
    },
    /// A bet or raise above the betting structure's maximum.
    #[error("raise to {to} is above the maximum raise-to {max}")]
    AboveMaximum {
        /// The amount asked.
        to: Chips,
        /// The maximum.
        max: Chips,
    },
    /// A deal when no cards are to be dealt.
    #[error("no cards are to be dealt now: the hand is {phase}")]
    NotDealing {
        /// What the hand waits for.
        phase: Phase,
    },
    /// Hole cards for a position that is owed none, or more than it is owed.
    #[error("{pos} is owed {owed} hole cards, not {count}")]
    WrongHoleCount {
        /// Who.
        pos: Pos,
        /// Cards still owed.
        owed: u8,
        /// Cards given.
        count: u8,
    },
    /// Board cards when a different number is owed.
    #[error("{owed} board cards are to be dealt, not {count}")]
    WrongBoardCount {
        /// Cards still owed.
        owed: u8,
        /// Cards given.
        count: u8,
    },
    /// A card that is already on the board or in a hand.
    #[error("card {card} is already dealt: every card comes from one deck")]
    DuplicateCard {
        /// The card.
        card: Card,
    },
    /// A show of a card the engine dealt elsewhere or not at all (tables that deal from
    /// their own deck know every hole card).
    #[error("{pos} was not dealt {card} and cannot show it")]
    NotDealtToPlayer {
        /// Who.
        pos: Pos,
        /// The card.
        card: Card,
    },
    /// A show or muck outside the showdown, or by a player not in it.
    #[error("{pos} has nothing to show or muck now")]
    NotInShowdown {
        /// Who.
        pos: Pos,
    },
    /// Showing a card nobody knows (`sm -` with unknown hole cards).
    #[error("{pos} cannot show hole cards that are unknown")]
    UnknownCardShown {
        /// Who.
        pos: Pos,
    },
    /// Showing more cards than the player holds.
    #[error("{pos} holds {held} hole cards and cannot show {count}")]
    TooManyCardsShown {
        /// Who.
        pos: Pos,
        /// Cards held.
        held: u8,
        /// Cards shown.
        count: u8,
    },
}

/// Why a bet or raise is not allowed, in PokerKit's order of checks.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
#[non_exhaustive]
pub enum NoRaise {
    /// The amount to call is less than the last full raise: an all-in for less does not
    /// reopen the betting.
    #[error("the all-in for less than a full raise does not reopen the betting")]
    ShortAllIn,
    /// The fixed-limit street already has its cap of bets and raises.
    #[error("the street already has {cap} bets and raises")]
    Capped {
        /// The cap.
        cap: u8,
    },
    /// The player already acted and faces only all-ins for less than a full raise.
    #[error("the player already acted and faces only all-ins short of a full raise")]
    AlreadyActed,
    /// The stack does not exceed the amount to call: calling is all that is left.
    #[error("the stack covers no more than a call")]
    CoveredByCall,
    /// Every other player has folded or is all in.
    #[error("every other player has folded or is all in")]
    NobodyToRaise,
}

/// What the hand waits for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum Phase {
    /// `Start` has not been applied.
    #[default]
    NotStarted,
    /// Cards are to be dealt.
    Dealing,
    /// A player is to act.
    Betting,
    /// Players are to show or muck.
    Showdown,
    /// The hand is over.
    Complete,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::NotStarted => "not started",
            Phase::Dealing => "waiting for cards to be dealt",
            Phase::Betting => "waiting for a betting action",
            Phase::Showdown => "at showdown",
            Phase::Complete => "over",
        })
    }
}

/// What the player to act may do, computed by the same checks as [`decide`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct LegalActions {
    /// Who is to act.
    pub actor: Pos,
    /// Chips a check-or-call adds (zero: a check).
    pub call: Chips,
    /// Whether a fold is accepted (a free fold only where the table allows it).
    pub can_fold: bool,
    /// The range of raise-to amounts, or why there is none.
    pub raise: Result<RaiseRange, NoRaise>,
}

/// The smallest and largest total bet a bet or raise may reach.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct RaiseRange {
    /// The minimum raise-to (all in when the stack is short).
    pub min: Chips,
    /// The maximum raise-to.
    pub max: Chips,
}

/// The state of one hand. Fixed-size: no allocation as the hand goes on.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct HandState {
    phase: Phase,
    variant: Option<Variant>,
    players: u8,
    min_bet: Chips,
    ante_trimming: bool,
    odd_chips: OddChipPolicy,
    free_fold: FreeFoldPolicy,
    showdown_policy: ShowdownPolicy,
    deck: Option<Deck>,
    next_card: u8,
    /// Positions whose forced bet is a blind or straddle (they decide who opens).
    blinds: PosSet,
    /// Positions whose forced bet is a live post.
    posts: PosSet,
    /// The street being dealt, bet or shown down; `None` before the first street.
    street: Option<Street>,
    stacks: [Chips; MAX_PLAYERS],
    /// This street's bets, still in front of the players.
    bets: [Chips; MAX_PLAYERS],
    /// The largest of `bets`.
    max_bet: Chips,
    /// Everything each player put in this hand (antes and bets, uncalled bets returned).
    invested: [Chips; MAX_PLAYERS],
    antes: [Chips; MAX_PLAYERS],
    /// Chips in the middle: pots and bets, less what was pushed to winners.
    middle: Chips,
    total: Chips,
    /// Players still in the hand (PokerKit's statuses).
    live: PosSet,
    hole: [Cards; MAX_PLAYERS],
    /// Per player, bit `k` set when hole card `k` is face up.
    face_up: [u8; MAX_PLAYERS],
    board: Cards,
    used: CardSet,
    hole_owed: [u8; MAX_PLAYERS],
    /// Hole cards owed to all players together.
    hole_owed_total: u8,
    board_owed: u8,
    /// Players still to act this round (PokerKit's actor queue, as a set walked in seat order).
    to_act: PosSet,
    actor: u8,
    acted: PosSet,
    raise_size: Chips,
    raises: u8,
    short_all_in_sum: Chips,
    opener: Option<u8>,
    all_in: bool,
    to_show: PosSet,
    undetermined_pots: u8,
    last_undetermined: Option<u8>,
}

impl HandState {
    /// A hand that has not started: send [`Command::Start`].
    #[must_use]
    pub fn new() -> HandState {
        HandState::default()
    }

    /// What the hand waits for.
    #[must_use]
    pub const fn phase(&self) -> Phase {
        self.phase
    }

    /// The number of players dealt in.
    #[must_use]
    pub const fn players(&self) -> usize {
        self.players as usize
    }

    /// The current street, `None` before the first or after the hand ends.
    #[must_use]
    pub const fn street(&self) -> Option<Street> {
        self.street
    }

    /// Each position's stack behind (not counting bets in front).
    #[must_use]
    pub fn stacks(&self) -> &[Chips] {
        &self.stacks[..self.players as usize]
    }

    /// This street's bets in front of each position.
    #[must_use]
    pub fn bets(&self) -> &[Chips] {
        &self.bets[..self.players as usize]
    }

    /// Chips in the middle: pots plus bets.
    #[must_use]
    pub const fn middle(&self) -> Chips {
        self.middle
    }

    /// Every chip of the hand: the stacks at the start.
    #[must_use]
    pub const fn total_chips(&self) -> Chips {
        self.total
    }

    /// The board so far.
    #[must_use]
    pub fn board(&self) -> &[Option<Card>] {
        self.board.as_slice()
    }

    /// The hole cards of a position as dealt or last shown.
    #[must_use]
    pub fn hole_cards(&self, pos: Pos) -> &[Option<Card>] {
        self.hole[pos.idx()].as_slice()
    }

    /// Whether each of a position's hole cards is face up.
    #[must_use]
    pub fn face_up(&self, pos: Pos) -> u8 {
        self.face_up[pos.idx()]
    }

    /// The hand as someone who holds the hole cards of `own` (none for a spectator) knows it:
    /// what folding the hand's events redacted for them gives (see
    /// [`crate::table::Table::redacted_for`]). The deck is gone; other positions keep only
    /// their face-up cards, in place; the set of used cards holds only the board, `own`'s
    /// cards and the face-up ones; and the count of cards taken from the deck is what a hand
    /// without a deck counts (its hole cards: [`apply`] counts board cards and burns only when
    /// it deals from a deck).
    pub(crate) fn redacted_for(&self, own: Option<Pos>) -> HandState {
        let mut s = self.clone();
        s.deck = None;
        let mut used = CardSet::EMPTY;
        for card in s.board.known() {
            used.insert(card);
        }
        let mut dealt = 0u8;
        for (i, hole) in s.hole.iter_mut().enumerate() {
            dealt += hole.len() as u8;
            if own.is_some_and(|p| p.idx() == i) {
                for card in hole.known() {
                    used.insert(card);
                }
                continue;
            }
            let up = s.face_up[i];
            let mut seen = Cards::EMPTY;
            for (k, card) in hole.as_slice().iter().enumerate() {
                let card = card.filter(|_| up >> k & 1 == 1);
                if let Some(c) = card {
                    used.insert(c);
                }
                seen.push(card);
            }
            *hole = seen;
        }
        s.used = used;
        s.next_card = dealt;
        s
    }

    /// Players still in the hand.
    #[must_use]
    pub const fn live(&self) -> PosSet {
        self.live
    }

    /// The variant, once started.
    #[must_use]
    pub const fn variant(&self) -> Option<Variant> {
        self.variant
    }

    /// The position to act, if betting.
    #[must_use]
    pub fn actor(&self) -> Option<Pos> {
        (self.phase == Phase::Betting && !self.to_act.is_empty()).then_some(Pos(self.actor))
    }

    /// The position owed hole cards first (most owed, then lowest position), if dealing.
    #[must_use]
    pub fn hole_dealee(&self) -> Option<Pos> {
        if self.phase != Phase::Dealing {
            return None;
        }
        let mut best: Option<usize> = None;
        for i in 0..self.players as usize {
            if self.hole_owed[i] > 0 && best.is_none_or(|b| self.hole_owed[i] > self.hole_owed[b]) {
                best = Some(i);
            }
        }
        best.map(|i| Pos(i as u8))
    }

    /// Board cards owed, if dealing them.
    #[must_use]
    pub fn board_owed(&self) -> u8 {
        if self.phase == Phase::Dealing { self.board_owed } else { 0 }
    }

    /// The next position to show or muck, in showdown order.
    #[must_use]
    pub fn showdown_next(&self) -> Option<Pos> {
        if self.phase != Phase::Showdown || self.to_show.is_empty() {
            return None;
        }
        let start = self.opener.unwrap_or(0) as usize;
        next_in(self.to_show, start, self.players as usize).map(|i| Pos(i as u8))
    }

    /// How many pots were split without any known hand (replays only).
    #[must_use]
    pub const fn undetermined_pots(&self) -> u8 {
        self.undetermined_pots
    }

    /// Checks chip conservation: stacks plus the middle equal the chips the hand began with.
    #[must_use]
    pub fn chips_conserved(&self) -> bool {
        let stacks: Chips = self.stacks().iter().copied().sum();
        stacks.checked_add(self.middle) == Some(self.total)
    }

    #[inline]
    fn max_bet(&self) -> Chips {
        self.max_bet
    }

    fn is_last_street(&self) -> bool {
        self.street == Some(Street::River)
    }

    fn hole_rule(&self) -> HoleCardRule {
        self.variant.map_or(HoleCardRule::Holdem, |v| v.hole_cards)
    }

    /// Players still in the hand with chips behind.
    fn live_with_chips(&self) -> PosSet {
        let mut set = PosSet::EMPTY;
        for i in self.live.iter() {
            if !self.stacks[i].is_zero() {
                set.insert(i);
            }
        }
        set
    }

    /// The second largest bet plus stack among players still in the hand.
    fn second_largest_commitment(&self) -> Chips {
        let (mut first, mut second) = (Chips::ZERO, Chips::ZERO);
        for j in self.live.iter() {
            let total = self.bets[j] + self.stacks[j];
            if total > first {
                second = first;
                first = total;
            } else if total > second {
                second = total;
            }
        }
        second
    }

    /// The checks PokerKit makes before any completion, bet or raise, in its order.
    fn raise_blocked(&self, i: usize) -> Option<NoRaise> {
        let max_bet = self.max_bet();
        let owed = max_bet - self.bets[i];
        let call = self.stacks[i].min(owed);
        if call < self.raise_size {
            return Some(NoRaise::ShortAllIn);
        }
        if let Some(cap) = self.cap()
            && self.raises >= cap
        {
            return Some(NoRaise::Capped { cap });
        }
        if !self.short_all_in_sum.is_zero() && self.short_all_in_sum < self.raise_size && self.acted.contains(i) {
            return Some(NoRaise::AlreadyActed);
        }
        if self.stacks[i] <= owed {
            return Some(NoRaise::CoveredByCall);
        }
        let someone = self.live.iter().any(|j| j != i && self.stacks[j] + self.bets[j] > max_bet);
        if !someone {
            return Some(NoRaise::NobodyToRaise);
        }
        None
    }

    fn cap(&self) -> Option<u8> {
        self.variant.and_then(|v| v.betting.raise_cap())
    }

    fn street_min_bet(&self) -> Chips {
        let turn_or_later = self.street.is_some_and(|s| s >= Street::Turn);
        self.variant.map_or(self.min_bet, |v| v.betting.bet_size(self.min_bet, turn_or_later))
    }

    fn raise_range(&self, i: usize) -> Result<RaiseRange, NoRaise> {
        if let Some(reason) = self.raise_blocked(i) {
            return Err(reason);
        }
        let all_in = self.stacks[i] + self.bets[i];
        let max_bet = self.max_bet();
        let increment = self.raise_size.max(self.street_min_bet());
        let min = all_in.min(max_bet.checked_add(increment).unwrap_or(Chips(u64::MAX)));
        let max = match self.variant.map(|v| v.betting) {
            Some(BettingStructure::FixedLimit { .. }) => min,
            Some(BettingStructure::PotLimit) => {
                // Call, then raise by the whole pot including every bet and the call.
                let pot_raise = Chips(
                    (2 * max_bet.0 as u128 - self.bets[i].0 as u128 + self.middle.0 as u128).min(u64::MAX as u128)
                        as u64,
                );
                all_in.min(min.max(pot_raise))
            }
            _ => all_in,
        };
        Ok(RaiseRange { min, max })
    }
}

/// The position after `i` around a table of `n`.
#[inline]
const fn following(i: usize, n: usize) -> usize {
    if i + 1 == n { 0 } else { i + 1 }
}

/// The first position in `set` at or after `start`, walking the table in order.
fn next_in(set: PosSet, start: usize, _n: usize) -> Option<usize> {
    if set.is_empty() {
        return None;
    }
    // Positions at or after `start` first, then the ones before it: no division.
    let at_or_after = set.0 as u32 >> start << start;
    let bits = if at_or_after != 0 { at_or_after } else { set.0 as u32 };
    Some(bits.trailing_zeros() as usize)
}

/// What the player to act may do, or `None` when nobody is to act.
#[must_use]
pub fn legal_actions(state: &HandState) -> Option<LegalActions> {
    let actor = state.actor()?;
    let i = actor.idx();
    let owed = state.max_bet() - state.bets[i];
    Some(LegalActions {
        actor,
        call: state.stacks[i].min(owed),
        can_fold: !owed.is_zero() || state.free_fold == FreeFoldPolicy::Allow,
        raise: state.raise_range(i),
    })
}

/// Decides what a command does: the events it causes, or why it is refused.
///
/// # Errors
/// A [`Rejection`] saying what was wrong; the state is unchanged.
pub fn decide(state: &HandState, command: &Command) -> Result<Vec<Event>, Rejection> {
    let mut out = Vec::new();
    decide_into(state, command, &mut out)?;
    Ok(out)
}

/// [`decide`] appending to a caller's buffer, so that a loop of commands allocates nothing.
/// On a rejection the buffer is left as it was.
///
/// # Errors
/// As [`decide`].
pub fn decide_into(state: &HandState, command: &Command, out: &mut Vec<Event>) -> Result<(), Rejection> {
    let first = check(state, command)?;
    if !needs_advance(state, &first) {
        // Most betting actions leave the round open: nothing follows from them, so the
        // state need not be copied to work out the consequences.
        out.push(first);
        return Ok(());
    }
    let mut next = state.clone();
    Emitter { state: &mut next, out, view: None }.follow(first, command);
    Ok(())
}

/// [`decide`] and [`apply`] in one step: validates the command exactly as `decide` does,
/// then applies each event to `state` as it is emitted, appending it to `out`. The events
/// and the final state are the ones `decide` followed by `apply` of each event gives (a
/// property test checks it); the scratch copy `decide` works on is not needed. On a
/// rejection neither `state` nor `out` changes.
///
/// # Errors
/// As [`decide`].
pub fn execute(state: &mut HandState, command: &Command, out: &mut Vec<Event>) -> Result<(), Rejection> {
    let first = check(state, command)?;
    Emitter { state, out, view: None }.follow(first, command);
    Ok(())
}

/// Whether anything automatic can follow the event: false only for a betting action
/// after which somebody is still to act, in a hand that still has two players.
fn needs_advance(s: &HandState, event: &Event) -> bool {
    let rest = |i: usize| {
        let mut to_act = s.to_act;
        to_act.remove(i);
        to_act
    };
    match event {
        Event::Checked { pos } | Event::Called { pos, .. } => rest(pos.idx()).is_empty(),
        Event::Folded { pos } => rest(pos.idx()).is_empty() || s.live.len() <= 2,
        Event::BetOrRaised { pos, .. } => {
            let i = pos.idx();
            let mut others = s.live_with_chips();
            others.remove(i);
            others.is_empty()
        }
        _ => true,
    }
}

/// Validates a command and returns the event it causes directly. Inlined into `decide_into`
/// and `execute`: measured a few per cent faster than a call (docs/PERFORMANCE.md).
#[inline(always)]
fn check(s: &HandState, command: &Command) -> Result<Event, Rejection> {
    if let Command::Start(setup) = command {
        if s.phase != Phase::NotStarted {
            return Err(Rejection::AlreadyStarted);
        }
        check_setup(setup)?;
        return Ok(Event::HandStarted(setup.clone()));
    }
    if s.phase == Phase::NotStarted {
        return Err(Rejection::NotStarted);
    }
    let n = s.players;
    let pos = match command {
        Command::Start(_) | Command::DealBoard { .. } => None,
        Command::DealHole { pos, .. }
        | Command::Fold { pos }
        | Command::CheckOrCall { pos }
        | Command::BetOrRaiseTo { pos, .. }
        | Command::ShowOrMuck { pos, .. } => Some(*pos),
    };
    if let Some(pos) = pos
        && pos.0 >= n
    {
        return Err(Rejection::NoSuchPosition { pos, players: n });
    }
    match command {
        Command::Start(_) => unreachable!("handled above"),
        Command::DealHole { pos, cards } => {
            if s.phase != Phase::Dealing || s.hole_owed_total == 0 {
                return Err(Rejection::NotDealing { phase: s.phase });
            }
            let owed = s.hole_owed[pos.idx()];
            let count = cards.len() as u8;
            if count == 0 || count > owed {
                return Err(Rejection::WrongHoleCount { pos: *pos, owed, count });
            }
            check_fresh(s.used, cards)?;
            Ok(Event::HoleCardsDealt { pos: *pos, cards: *cards })
        }
        Command::DealBoard { cards } => {
            if s.phase != Phase::Dealing || s.board_owed == 0 {
                return Err(Rejection::NotDealing { phase: s.phase });
            }
            let count = cards.len() as u8;
            if count == 0 || count > s.board_owed {
                return Err(Rejection::WrongBoardCount { owed: s.board_owed, count });
            }
            check_fresh(s.used, cards)?;
            Ok(Event::BoardDealt { cards: *cards })
        }
        Command::Fold { pos } => {
            let i = check_turn(s, *pos)?;
            if s.bets[i] >= s.max_bet() && s.free_fold == FreeFoldPolicy::Reject {
                return Err(Rejection::FreeFold { pos: *pos });
            }
            Ok(Event::Folded { pos: *pos })
        }
        Command::CheckOrCall { pos } => {
            let i = check_turn(s, *pos)?;
            let amount = s.stacks[i].min(s.max_bet() - s.bets[i]);
            Ok(if amount.is_zero() { Event::Checked { pos: *pos } } else { Event::Called { pos: *pos, amount } })
        }
        Command::BetOrRaiseTo { pos, to } => {
            let i = check_turn(s, *pos)?;
            if to.is_zero() {
                return Err(Rejection::ZeroAmount);
            }
            let range = s.raise_range(i).map_err(|reason| Rejection::CannotRaise { pos: *pos, reason })?;
            if *to < range.min {
                return Err(Rejection::BelowMinimum { to: *to, min: range.min });
            }
            let all_in = s.stacks[i] + s.bets[i];
            if *to > all_in {
                return Err(Rejection::AboveStack { pos: *pos, to: *to, max: all_in });
            }
            if *to > range.max {
                return Err(Rejection::AboveMaximum { to: *to, max: range.max });
            }
            Ok(Event::BetOrRaised { pos: *pos, to: *to, added: *to - s.bets[i] })
        }
        Command::ShowOrMuck { pos, show } => check_show(s, *pos, show),
    }
}

fn check_setup(setup: &HandSetup) -> Result<(), Rejection> {
    let n = setup.players;
    if !(2..=MAX_PLAYERS as u8).contains(&n) {
        return Err(Rejection::PlayerCount { players: n, max: MAX_PLAYERS as u8 });
    }
    let zero_bet = match setup.variant.betting {
        BettingStructure::FixedLimit { small_bet, big_bet } => small_bet.is_zero() || big_bet.is_zero(),
        _ => setup.min_bet.is_zero(),
    };
    if zero_bet {
        return Err(Rejection::ZeroMinimumBet);
    }
    let mut total = Chips::ZERO;
    for (i, &stack) in setup.stacks[..n as usize].iter().enumerate() {
        if stack.is_zero() {
            return Err(Rejection::EmptyStack { pos: Pos(i as u8) });
        }
        total = total.checked_add(stack).ok_or(Rejection::ChipsOverflow { max: u64::MAX })?;
    }
    Ok(())
}

fn check_fresh(used: CardSet, cards: &Cards) -> Result<(), Rejection> {
    let mut seen = used;
    for card in cards.known() {
        if !seen.insert(card) {
            return Err(Rejection::DuplicateCard { card });
        }
    }
    Ok(())
}

fn check_turn(s: &HandState, pos: Pos) -> Result<usize, Rejection> {
    match s.actor() {
        None => Err(Rejection::NotBetting { phase: s.phase }),
        Some(actor) if actor != pos => Err(Rejection::NotYourTurn { pos, actor }),
        Some(_) => Ok(pos.idx()),
    }
}

fn check_show(s: &HandState, pos: Pos, show: &Show) -> Result<Event, Rejection> {
    let i = pos.idx();
    let hole = &s.hole[i];
    // After the hand, anyone dealt in may show what they held; nothing else changes.
    let voluntary = s.phase == Phase::Complete;
    if voluntary {
        if hole.is_empty() {
            return Err(Rejection::NotInShowdown { pos });
        }
    } else if s.phase != Phase::Showdown || !s.to_show.contains(i) {
        return Err(Rejection::NotInShowdown { pos });
    }
    match show {
        Show::Muck if voluntary => Err(Rejection::HandOver),
        Show::Muck => Ok(Event::CardsMucked { pos }),
        Show::All => {
            if hole.as_slice().iter().any(Option::is_none) {
                return Err(Rejection::UnknownCardShown { pos });
            }
            Ok(Event::CardsShown { pos, cards: *hole, voluntary })
        }
        Show::Cards(shown) => Ok(Event::CardsShown { pos, cards: check_shown_cards(s, pos, shown)?, voluntary }),
    }
}

/// The known cards of a show, checked: no card twice; a card the player was not dealt is
/// refused when the engine deals from its own deck (it knows every hole card), and in a
/// replay must be a card not yet in play (PokerKit lets a show name cards the file never
/// dealt).
fn check_shown_cards(s: &HandState, pos: Pos, shown: &Cards) -> Result<Cards, Rejection> {
    let hole = &s.hole[pos.idx()];
    let held = hole.len();
    if shown.len() > held {
        return Err(Rejection::TooManyCardsShown { pos, held: held as u8, count: shown.len() as u8 });
    }
    let mut own = CardSet::EMPTY;
    for card in hole.known() {
        own.insert(card);
    }
    let mut in_show = CardSet::EMPTY;
    let mut result = Cards::EMPTY;
    for card in shown.known() {
        if !in_show.insert(card) {
            return Err(Rejection::DuplicateCard { card });
        }
        if !own.contains(card) {
            if s.deck.is_some() {
                return Err(Rejection::NotDealtToPlayer { pos, card });
            }
            if s.used.contains(card) {
                return Err(Rejection::DuplicateCard { card });
            }
        }
        result.push(Some(card));
    }
    Ok(result)
}

/// Applies events to a state being decided and appends them to the output.
struct Emitter<'a> {
    state: &'a mut HandState,
    out: &'a mut Vec<Event>,
    /// The automatic showdown's view, handed to `finish` when the board has not changed.
    view: Option<ShowdownView>,
}

impl Emitter<'_> {
    /// Inlined at every call site: measured a few per cent faster than a call.
    #[inline(always)]
    fn emit(&mut self, event: Event) {
        apply(self.state, &event);
        self.out.push(event);
    }

    /// Emits a command's own event and everything that follows from it.
    fn follow(&mut self, first: Event, command: &Command) {
        self.emit(first);
        if let Command::Start(setup) = command {
            self.post_forced_bets(setup);
        }
        self.advance();
    }

    /// Runs every step that needs no decision, until the hand waits for a command or ends.
    fn advance(&mut self) {
        loop {
            let s = &*self.state;
            match s.phase {
                Phase::NotStarted | Phase::Complete => return,
                Phase::Dealing => {
                    if s.deck.is_none() {
                        return;
                    }
                    self.deal_from_deck();
                }
                Phase::Betting => {
                    if !s.to_act.is_empty() && s.live.len() > 1 {
                        return;
                    }
                    self.close_street();
                }
                Phase::Showdown => {
                    if s.showdown_next().is_some() {
                        if s.showdown_policy == ShowdownPolicy::Manual {
                            return;
                        }
                        self.show_down_automatically();
                        continue;
                    }
                    let street = s.street.unwrap_or(Street::River);
                    match street.next() {
                        Some(next) if s.all_in => {
                            self.view = None;
                            self.emit(Event::StreetStarted { street: next });
                        }
                        _ => self.finish(),
                    }
                }
            }
        }
    }

    /// Antes, their collection, then blinds, straddles and posts, then the first street.
    fn post_forced_bets(&mut self, setup: &HandSetup) {
        let n = setup.players as usize;
        // Heads-up, PokerKit reads the ante and blind lists in reverse: p1 is the big blind.
        let heads_up = n == 2;
        let mut any_ante = false;
        let mut effective_ante = [Chips::ZERO; MAX_PLAYERS];
        for (i, effective) in effective_ante.iter_mut().enumerate().take(n) {
            let ante = setup.antes[if heads_up { 1 - i } else { i }].min(setup.stacks[i]);
            *effective = ante;
            if !ante.is_zero() {
                any_ante = true;
                self.emit(Event::AntePosted { pos: Pos(i as u8), amount: ante });
            }
        }
        if any_ante {
            if setup.ante_trimming {
                self.return_overbets();
            }
            let collected = self.state.bets[..n].iter().copied().sum();
            self.emit(Event::StreetClosed { street: None, collected, all_in: false });
        }
        for (i, &ante) in effective_ante.iter().enumerate().take(n) {
            let forced = setup.forced[if heads_up { 1 - i } else { i }];
            let amount = forced.amount().min(setup.stacks[i] - ante);
            if !amount.is_zero() {
                let post = matches!(forced, Forced::Post(_));
                self.emit(Event::BlindPosted { pos: Pos(i as u8), amount, post });
            }
        }
        self.emit(Event::StreetStarted { street: Street::Preflop });
    }

    fn deal_from_deck(&mut self) {
        let s = &*self.state;
        let Some(deck) = s.deck else { return };
        let n = s.players as usize;
        if s.board_owed > 0 {
            // Burn one card, then deal the street's board cards.
            let start = s.next_card as usize + 1;
            let mut cards = Cards::EMPTY;
            for k in start..start + s.board_owed as usize {
                cards.push(Some(deck.card(k)));
            }
            self.emit(Event::BoardDealt { cards });
            return;
        }
        // Hole cards go round the table one at a time, as a dealer deals them.
        let per = s.hole_rule().hole_count();
        let mut owed = PosSet::EMPTY;
        for i in 0..n {
            if s.hole_owed[i] > 0 {
                owed.insert(i);
            }
        }
        let start = s.next_card as usize;
        let dealt = owed.len() as usize;
        for (seat_order, i) in owed.iter().enumerate() {
            let mut cards = Cards::EMPTY;
            for round in 0..per {
                cards.push(Some(deck.card(start + round * dealt + seat_order)));
            }
            self.emit(Event::HoleCardsDealt { pos: Pos(i as u8), cards });
        }
    }

    /// Returns the part of the largest bet that nobody matched (PokerKit's bet collection).
    fn return_overbets(&mut self) {
        let n = self.state.players as usize;
        let (mut first, mut second) = (Chips::ZERO, Chips::ZERO);
        for &b in &self.state.bets[..n] {
            if b > first {
                second = first;
                first = b;
            } else if b > second {
                second = b;
            }
        }
        for i in 0..n {
            let bet = self.state.bets[i];
            if bet > second {
                self.emit(Event::BetReturned { pos: Pos(i as u8), amount: bet - second });
            }
        }
    }

    fn close_street(&mut self) {
        let s = &*self.state;
        let n = s.players as usize;
        let live = s.live.len();
        let with_chips = s.live_with_chips().len();
        let all_in = s.all_in || (live > 1 && with_chips <= 1);
        self.return_overbets();
        let collected = self.state.bets[..n].iter().copied().sum();
        let street = self.state.street;
        self.emit(Event::StreetClosed { street, collected, all_in });
        let s = &*self.state;
        if s.live.len() == 1 {
            self.finish();
            return;
        }
        let street = s.street.unwrap_or(Street::River);
        match street.next() {
            Some(next) if !all_in => self.emit(Event::StreetStarted { street: next }),
            _ => self.emit(Event::ShowdownStarted { street }),
        }
    }

    /// Shows a hand that can still win (every hand when all are all in) and mucks the
    /// others, in showdown order: PokerKit's default `show_or_muck_hole_cards()`.
    fn show_down_automatically(&mut self) {
        if self.state.all_in {
            // Everyone all in shows: nothing to weigh.
            while let Some(pos) = self.state.showdown_next() {
                let cards = self.state.hole[pos.idx()];
                self.emit(Event::CardsShown { pos, cards, voluntary: false });
            }
            return;
        }
        let mut view = ShowdownView::new(self.state);
        while let Some(pos) = self.state.showdown_next() {
            let i = pos.idx();
            let s = &*self.state;
            if view.can_win_now(i) {
                self.emit(Event::CardsShown { pos, cards: s.hole[i], voluntary: false });
                view.up[i] = view.up_after_show(self.state, i);
            } else {
                self.emit(Event::CardsMucked { pos });
                view.live.remove(i);
            }
        }
        self.view = Some(view);
    }

    /// Kills hands that cannot win, forms the pots, pushes them and ends the hand.
    fn finish(&mut self) {
        let view = match self.view.take() {
            Some(view) => view,
            // Everybody else folded: nothing to compare, only the pots.
            None if self.state.live.len() == 1 => ShowdownView::pots_only(self.state),
            None => ShowdownView::new(self.state),
        };
        let mut doomed = PosSet::EMPTY;
        if self.state.live.len() > 1 {
            for i in self.state.live.iter() {
                if !view.can_win_now(i) {
                    doomed.insert(i);
                }
            }
            for i in doomed.iter() {
                self.emit(Event::HandKilled { pos: Pos(i as u8) });
            }
        }
        let s = &*self.state;
        // Mucks and kills change who contests each pot, and so which pots merge.
        let pots = view.pots.restricted_to(s.live);
        let ranks = view.up;
        let shown: [bool; MAX_PLAYERS] = std::array::from_fn(|i| s.face_up[i] != 0);
        let single = s.live.len() == 1;
        // Hands were compared (a showdown, perhaps with the losers killed): the winner's
        // rank is reported even when only they are left.
        let compared = view.formed_with.len() > 1;
        let odd_chips = s.odd_chips;
        for (k, pot) in pots.as_slice().iter().enumerate() {
            let k = k as u8;
            self.emit(Event::PotFormed { pot: k, amount: pot.amount, contenders: pot.contenders });
            if pot.contenders.is_empty() {
                self.return_pot(k, pot);
                continue;
            }
            if single {
                let winner = pot.contenders.iter().next().unwrap_or(0);
                self.emit(Event::PotAwarded {
                    pot: k,
                    pos: Pos(winner as u8),
                    amount: pot.amount,
                    rank: if compared { ranks[winner] } else { None },
                    undetermined: false,
                });
                continue;
            }
            let best = pot.contenders.iter().filter_map(|i| ranks[i]).max();
            let mut winners = PosSet::EMPTY;
            for i in pot.contenders.iter() {
                if ranks[i] == best {
                    winners.insert(i);
                }
            }
            let undetermined = !pot.contenders.iter().any(|i| shown[i]);
            let count = u64::from(winners.len());
            let share = pot.amount.0 / count;
            let odd = pot.amount.0 % count;
            for (rank_in_order, i) in winners.iter().enumerate() {
                let extra = match odd_chips {
                    OddChipPolicy::FirstInPhhOrder => {
                        if rank_in_order == 0 {
                            odd
                        } else {
                            0
                        }
                    }
                    OddChipPolicy::RoundRobinFromFirst => u64::from(rank_in_order < odd as usize),
                };
                let amount = Chips(share + extra);
                if !amount.is_zero() {
                    self.emit(Event::PotAwarded { pot: k, pos: Pos(i as u8), amount, rank: ranks[i], undetermined });
                }
            }
        }
        // The one allocation of a hand's end; it keeps every other event small.
        let stacks = self.state.stacks().to_vec();
        self.emit(Event::HandEnded { stacks });
    }

    /// Gives a pot nobody contests back to the players who put it in, each their share.
    fn return_pot(&mut self, k: u8, pot: &Pot) {
        let s = &*self.state;
        let n = s.players as usize;
        let shares = pot.shares(&s.invested[..n], &s.antes[..n], s.ante_trimming);
        for (i, &amount) in shares.iter().enumerate().take(n) {
            if !amount.is_zero() {
                self.emit(Event::PotReturned { pot: k, pos: Pos(i as u8), amount });
            }
        }
    }
}

/// The board's known cards, gathered once per showdown: a hold'em hand adds the hole cards
/// to the board's [`Hand`], an Omaha hand chooses among the cards.
struct Board {
    rule: HoleCardRule,
    hand: Hand,
    cards: [Card; 5],
    len: usize,
}

impl Board {
    fn new(s: &HandState) -> Board {
        let mut board = Board { rule: s.hole_rule(), hand: Hand::EMPTY, cards: [Card::new(0, 0); 5], len: 0 };
        for card in s.board.known() {
            board.hand = board.hand.add(card);
            board.cards[board.len] = card;
            board.len += 1;
        }
        board
    }

    /// The best hand a player makes from their known hole cards and the board (PokerKit's
    /// `get_hand`: face-down known cards count).
    fn full_hand(&self, s: &HandState, i: usize) -> Option<HandRank> {
        if !s.live.contains(i) {
            return None;
        }
        self.evaluate(s.hole[i].known())
    }

    /// The best hand from face-up hole cards and the board (PokerKit's `get_up_hand`).
    fn up_hand(&self, s: &HandState, i: usize) -> Option<HandRank> {
        if !s.live.contains(i) {
            return None;
        }
        let up = s.face_up[i];
        let cards = s.hole[i].as_slice().iter().enumerate().filter(move |(k, _)| up >> k & 1 == 1);
        self.evaluate(cards.filter_map(|(_, c)| *c))
    }

    /// The best hand of these hole cards with the board, if they make one.
    fn evaluate(&self, hole: impl Iterator<Item = Card>) -> Option<HandRank> {
        match self.rule {
            HoleCardRule::Holdem => {
                // Cards are distinct: `decide` refuses a card already in play.
                let hand = hole.fold(self.hand, Hand::add);
                (hand.len() >= 5).then(|| hand.evaluate())
            }
            HoleCardRule::Omaha => {
                let mut held = [Card::new(0, 0); 6];
                let mut h = 0;
                for c in hole.take(6) {
                    held[h] = c;
                    h += 1;
                }
                let board = &self.cards[..self.len];
                (h >= 2 && board.len() >= 3).then(|| eval::best_omaha(&held[..h], board))
            }
        }
    }
}

/// Whether every known hole card of the player is face up (then the face-up hand is the
/// full hand).
fn all_known_face_up(s: &HandState, i: usize) -> bool {
    let known = s.hole[i].as_slice().iter().enumerate().fold(0u8, |m, (k, c)| m | (u8::from(c.is_some()) << k));
    s.face_up[i] & known == known
}

/// What a showdown compares, computed once: the pots by contribution level and every
/// player's face-up hand. Mucks and shows update it as the showdown goes on.
struct ShowdownView {
    pots: crate::pots::Pots,
    /// Who was in the hand when `pots` were formed.
    formed_with: PosSet,
    /// Who is in the hand now.
    live: PosSet,
    /// Hands from every known hole card (PokerKit's `get_hand`).
    full: [Option<HandRank>; MAX_PLAYERS],
    /// Hands from face-up hole cards only (PokerKit's `get_up_hand`).
    up: [Option<HandRank>; MAX_PLAYERS],
    board: Board,
}

impl ShowdownView {
    fn new(s: &HandState) -> ShowdownView {
        let n = s.players as usize;
        let board = Board::new(s);
        let mut full = [None; MAX_PLAYERS];
        let mut up = [None; MAX_PLAYERS];
        // The board alone, for hold'em players with nothing face up: evaluated once.
        let mut board_only: Option<Option<HandRank>> = None;
        for i in s.live.iter() {
            full[i] = board.full_hand(s, i);
            up[i] = if all_known_face_up(s, i) {
                full[i]
            } else if s.face_up[i] == 0 {
                *board_only.get_or_insert_with(|| board.evaluate(std::iter::empty()))
            } else {
                board.up_hand(s, i)
            };
        }
        ShowdownView {
            pots: form_pots(&s.invested[..n], &s.antes[..n], s.live, s.ante_trimming),
            formed_with: s.live,
            live: s.live,
            full,
            up,
            board,
        }
    }

    /// The pots alone, when one player is left and no hand is compared.
    fn pots_only(s: &HandState) -> ShowdownView {
        let n = s.players as usize;
        ShowdownView {
            pots: form_pots(&s.invested[..n], &s.antes[..n], s.live, s.ante_trimming),
            formed_with: s.live,
            live: s.live,
            full: [None; MAX_PLAYERS],
            up: [None; MAX_PLAYERS],
            board: Board::new(s),
        }
    }

    /// The face-up hand of a player who just showed.
    fn up_after_show(&self, s: &HandState, i: usize) -> Option<HandRank> {
        if all_known_face_up(s, i) { self.full[i] } else { self.board.up_hand(s, i) }
    }

    /// PokerKit's `can_win_now`: some pot the player contests has no face-up hand better
    /// than the player's own (face-down known cards count for the player's own hand).
    /// Pots formed with more players still in split the same levels, so intersecting their
    /// contenders with who is in now answers as freshly formed pots would.
    fn can_win_now(&self, i: usize) -> bool {
        let Some(hand) = self.full[i] else { return false };
        for pot in self.pots.as_slice() {
            let contenders = PosSet(pot.contenders.0 & self.live.0);
            if !contenders.contains(i) {
                continue;
            }
            let best = contenders.iter().filter_map(|j| self.up[j]).max();
            if best.is_none_or(|b| b <= hand) {
                return true;
            }
        }
        false
    }
}

/// Applies one event. Total for every event [`decide`] emits; never fails.
///
/// Inlined into its callers, with the rarer transitions out of line, so that the common
/// events (actions, cards) cost a few stores each.
#[inline]
pub fn apply(s: &mut HandState, event: &Event) {
    match event {
        Event::HandStarted(setup) => start(s, setup),
        Event::AntePosted { pos, amount } => {
            let i = pos.idx();
            put_in(s, i, *amount);
            s.antes[i] = *amount;
        }
        Event::BlindPosted { pos, amount, post } => {
            let i = pos.idx();
            put_in(s, i, *amount);
            if *post {
                s.posts.insert(i);
            } else {
                s.blinds.insert(i);
            }
        }
        Event::BetReturned { pos, amount } => {
            let i = pos.idx();
            s.bets[i] -= *amount;
            s.stacks[i] += *amount;
            s.invested[i] -= *amount;
            s.middle -= *amount;
            s.max_bet = s.bets[..s.players as usize].iter().copied().max().unwrap_or(Chips::ZERO);
            if s.street.is_none() {
                s.antes[i] -= *amount;
            }
        }
        Event::StreetClosed { all_in, .. } => {
            s.bets = [Chips::ZERO; MAX_PLAYERS];
            s.max_bet = Chips::ZERO;
            s.all_in = *all_in;
            s.to_act = PosSet::EMPTY;
        }
        Event::StreetStarted { street } => {
            s.street = Some(*street);
            s.phase = Phase::Dealing;
            if *street == Street::Preflop {
                let per = s.hole_rule().hole_count() as u8;
                for i in s.live.iter() {
                    s.hole_owed[i] = per;
                }
                s.hole_owed_total = per * s.live.len() as u8;
            } else {
                s.board_owed = street.board_cards();
            }
        }
        Event::HoleCardsDealt { pos, cards } => {
            let i = pos.idx();
            for &card in cards.as_slice() {
                s.hole[i].push(card);
                if let Some(c) = card {
                    s.used.insert(c);
                }
            }
            s.hole_owed[i] -= cards.len() as u8;
            s.hole_owed_total -= cards.len() as u8;
            s.next_card += cards.len() as u8;
            dealt(s);
        }
        Event::BoardDealt { cards } => {
            for &card in cards.as_slice() {
                s.board.push(card);
                if let Some(c) = card {
                    s.used.insert(c);
                }
            }
            if s.deck.is_some() {
                // The burn card and the dealt ones.
                s.next_card += 1 + cards.len() as u8;
            }
            s.board_owed -= cards.len() as u8;
            dealt(s);
        }
        Event::Folded { pos } => {
            let i = pos.idx();
            s.live.remove(i);
            acted(s, i);
        }
        Event::Checked { pos } => acted(s, pos.idx()),
        Event::Called { pos, amount } => {
            let i = pos.idx();
            put_in(s, i, *amount);
            acted(s, i);
        }
        Event::BetOrRaised { pos, to, added } => raised(s, pos.idx(), *to, *added),
        Event::ShowdownStarted { street } => {
            s.phase = Phase::Showdown;
            s.street = Some(*street);
            let mut to_show = PosSet::EMPTY;
            for i in s.live.iter() {
                // PokerKit skips players with no hole cards or all of them face up.
                let all = (1u8 << s.hole[i].len()) - 1;
                if s.face_up[i] & all != all {
                    to_show.insert(i);
                }
            }
            s.to_show = to_show;
        }
        Event::CardsShown { pos, cards, voluntary } => {
            let i = pos.idx();
            if *voluntary {
                return;
            }
            show(s, i, cards);
            s.to_show.remove(i);
        }
        Event::CardsMucked { pos } => {
            let i = pos.idx();
            s.live.remove(i);
            s.to_show.remove(i);
        }
        Event::HandKilled { pos } => s.live.remove(pos.idx()),
        Event::PotFormed { .. } => {}
        Event::PotAwarded { pos, amount, undetermined, pot, .. } => {
            s.stacks[pos.idx()] += *amount;
            s.middle -= *amount;
            if *undetermined && s.last_undetermined != Some(*pot) {
                s.undetermined_pots += 1;
                s.last_undetermined = Some(*pot);
            }
        }
        Event::PotReturned { pos, amount, .. } => {
            s.stacks[pos.idx()] += *amount;
            s.middle -= *amount;
        }
        Event::HandEnded { .. } => {
            s.phase = Phase::Complete;
            s.street = None;
            s.to_show = PosSet::EMPTY;
            s.to_act = PosSet::EMPTY;
        }
    }
}

#[inline(never)]
fn start(s: &mut HandState, setup: &HandSetup) {
    let n = setup.players as usize;
    *s = HandState {
        phase: Phase::Dealing,
        variant: Some(setup.variant),
        players: setup.players,
        min_bet: setup.min_bet,
        ante_trimming: setup.ante_trimming,
        odd_chips: setup.odd_chips,
        free_fold: setup.free_fold,
        showdown_policy: setup.showdown,
        deck: setup.deck,
        stacks: setup.stacks,
        total: setup.stacks[..n].iter().copied().sum(),
        live: PosSet(((1u32 << n) - 1) as u16),
        ..HandState::default()
    };
}

fn put_in(s: &mut HandState, i: usize, amount: Chips) {
    s.stacks[i] -= amount;
    s.bets[i] += amount;
    s.max_bet = s.max_bet.max(s.bets[i]);
    s.invested[i] += amount;
    s.middle += amount;
}

/// After a deal: when nothing more is owed, the betting round begins.
fn dealt(s: &mut HandState) {
    if s.board_owed == 0 && s.hole_owed_total == 0 {
        begin_betting(s);
    }
}

#[inline(never)]
fn begin_betting(s: &mut HandState) {
    let n = s.players as usize;
    s.phase = Phase::Betting;
    // The opener sits after the largest blind or straddle (posts do not count); on later
    // streets every bet is zero and the opener is position 0.
    let opener = if s.max_bet.is_zero() {
        0
    } else {
        // After the largest blind bet, ties to the later position; posts count as negative
        // amounts and other bets as zero (PokerKit: `bets[i] * sign(blinds[i])`).
        let mut best = (i128::MIN, 0);
        for i in 0..n {
            let bet = i128::from(s.bets[i].0);
            let key = if s.blinds.contains(i) {
                bet
            } else if s.posts.contains(i) {
                -bet
            } else {
                0
            };
            if key >= best.0 {
                best = (key, i);
            }
        }
        following(best.1, n)
    };
    s.opener = Some(opener as u8);
    s.raise_size = Chips::ZERO;
    s.raises = 0;
    s.acted = PosSet::EMPTY;
    s.short_all_in_sum = Chips::ZERO;
    let mut to_act = PosSet::EMPTY;
    if s.max_bet.is_zero() {
        // No bet yet: the rule below keeps the players with chips when at least two have some.
        let with_chips = s.live_with_chips();
        if with_chips.len() >= 2 {
            to_act = with_chips;
        }
    } else if s.live.len() > 1 {
        let second = s.second_largest_commitment();
        for i in s.live.iter() {
            // PokerKit's effective stack, min(stack, second largest bet + stack - bet), must
            // be above zero: the player has chips and can still lose some of them.
            if !s.stacks[i].is_zero() && second > s.bets[i] {
                to_act.insert(i);
            }
        }
        if to_act.len() == 1 {
            let only = to_act.iter().next().unwrap_or(0);
            if s.bets[only] >= s.max_bet() {
                to_act = PosSet::EMPTY;
            }
        }
    }
    s.to_act = to_act;
    s.actor = next_in(to_act, opener, n).unwrap_or(0) as u8;
}

fn acted(s: &mut HandState, i: usize) {
    s.acted.insert(i);
    s.to_act.remove(i);
    let n = s.players as usize;
    s.actor = next_in(s.to_act, following(i, n), n).unwrap_or(0) as u8;
}

#[inline(never)]
fn raised(s: &mut HandState, i: usize, to: Chips, added: Chips) {
    let n = s.players as usize;
    let raise = to - s.max_bet();
    put_in(s, i, added);
    let mut to_act = s.live_with_chips();
    to_act.remove(i);
    s.to_act = to_act;
    s.opener = Some(i as u8);
    if raise >= s.raise_size {
        s.acted = PosSet::EMPTY;
    }
    s.acted.insert(i);
    s.raise_size = s.raise_size.max(raise);
    s.raises += 1;
    if s.stacks[i].is_zero() {
        s.short_all_in_sum += raise;
    } else {
        s.short_all_in_sum = Chips::ZERO;
    }
    if s.short_all_in_sum >= s.raise_size {
        s.short_all_in_sum = Chips::ZERO;
    }
    s.actor = next_in(to_act, following(i, n), n).unwrap_or(0) as u8;
}

#[inline(never)]
fn show(s: &mut HandState, i: usize, shown: &Cards) {
    let hole = s.hole[i];
    let held = hole.len();
    let mut cards = Cards::EMPTY;
    let mut up = 0u8;
    for card in shown.known() {
        up |= 1 << cards.len();
        cards.push(Some(card));
        s.used.insert(card);
    }
    if !s.is_last_street() {
        // Known hole cards not shown stay in the hand, face down.
        for card in hole.known() {
            if cards.len() < held && !cards.known().any(|c| c == card) {
                cards.push(Some(card));
            }
        }
    }
    while cards.len() < held {
        cards.push(None);
    }
    s.hole[i] = cards;
    s.face_up[i] = up;
}

impl Street {
    /// Every street in order.
    #[must_use]
    pub const fn all() -> [Street; 4] {
        Street::ALL
    }
}
