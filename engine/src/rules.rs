//! The rules model: a variant is a betting structure crossed with a hole-card rule, and a
//! hand is set up from a variant, the forced bets, the stacks and the table's policies.
//!
//! Positions are PHH positions: position 0 (`p1`) is the first seat after the button (the
//! small blind), the last position is the button. The table layer maps its physical seats
//! onto these positions when it starts a hand.

use serde::{Deserialize, Serialize};

use crate::chips::Chips;
use crate::deck::Deck;

/// The most players one hand can deal to.
pub const MAX_PLAYERS: usize = 10;

/// A player's position in a hand, `0..players`, in PHH order (0 is the small blind).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
#[serde(transparent)]
pub struct Pos(pub u8);

impl Pos {
    /// The position as an array index.
    #[must_use]
    pub const fn idx(self) -> usize {
        self.0 as usize
    }
}

impl std::fmt::Display for Pos {
    /// Positions print as PHH players: `p1` is position 0.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p{}", self.0 + 1)
    }
}

/// How much a player may bet.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum BettingStructure {
    /// Any amount up to the whole stack; the minimum raise is the last full raise.
    NoLimit,
    /// At most the pot after calling.
    PotLimit,
    /// Fixed sizes: `small_bet` on the first two streets, `big_bet` on the last two, and at
    /// most [`FIXED_LIMIT_CAP`] bets or raises per street.
    FixedLimit {
        /// The bet and raise size before the flop and on the flop.
        small_bet: Chips,
        /// The bet and raise size on the turn and the river.
        big_bet: Chips,
    },
}

impl BettingStructure {
    /// The minimum bet or raise increment: `min_bet` in no-limit and pot-limit; in fixed
    /// limit the small bet before the turn and the big bet from the turn on.
    #[must_use]
    pub const fn bet_size(self, min_bet: Chips, turn_or_later: bool) -> Chips {
        match self {
            BettingStructure::FixedLimit { small_bet, big_bet } => {
                if turn_or_later {
                    big_bet
                } else {
                    small_bet
                }
            }
            _ => min_bet,
        }
    }

    /// The most completions, bets or raises one street allows, if capped.
    #[must_use]
    pub const fn raise_cap(self) -> Option<u8> {
        match self {
            BettingStructure::FixedLimit { .. } => Some(FIXED_LIMIT_CAP),
            _ => None,
        }
    }
}

/// The most completions, bets or raises one fixed-limit street allows (the big blind is
/// not one of them), as PokerKit counts.
pub const FIXED_LIMIT_CAP: u8 = 4;

/// Which hole cards a player holds and how a hand is made from them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum HoleCardRule {
    /// Two hole cards; the best five of the seven cards.
    Holdem,
    /// Four hole cards; exactly two of them with exactly three board cards.
    Omaha,
}

impl HoleCardRule {
    /// How many hole cards each player is dealt.
    #[must_use]
    pub const fn hole_count(self) -> usize {
        match self {
            HoleCardRule::Holdem => 2,
            HoleCardRule::Omaha => 4,
        }
    }
}

/// A poker variant: one betting structure and one hole-card rule.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct Variant {
    /// The betting structure.
    pub betting: BettingStructure,
    /// The hole-card rule.
    pub hole_cards: HoleCardRule,
}

impl Variant {
    /// No-limit Texas hold'em (PHH `NT`).
    #[must_use]
    pub const fn no_limit_holdem() -> Variant {
        Variant { betting: BettingStructure::NoLimit, hole_cards: HoleCardRule::Holdem }
    }

    /// Pot-limit Omaha with four hole cards (PHH `PO`).
    #[must_use]
    pub const fn pot_limit_omaha() -> Variant {
        Variant { betting: BettingStructure::PotLimit, hole_cards: HoleCardRule::Omaha }
    }

    /// Fixed-limit Texas hold'em (PHH `FT`).
    #[must_use]
    pub const fn fixed_limit_holdem(small_bet: Chips, big_bet: Chips) -> Variant {
        Variant { betting: BettingStructure::FixedLimit { small_bet, big_bet }, hole_cards: HoleCardRule::Holdem }
    }

    /// The PHH variant code.
    #[must_use]
    pub const fn phh_code(&self) -> &'static str {
        match (self.betting, self.hole_cards) {
            (BettingStructure::NoLimit, HoleCardRule::Holdem) => "NT",
            (BettingStructure::PotLimit, HoleCardRule::Omaha) => "PO",
            (BettingStructure::FixedLimit { .. }, HoleCardRule::Holdem) => "FT",
            (BettingStructure::NoLimit, HoleCardRule::Omaha) => "NO",
            (BettingStructure::PotLimit, HoleCardRule::Holdem) => "PT",
            (BettingStructure::FixedLimit { .. }, HoleCardRule::Omaha) => "FO",
        }
    }
}

/// Who gets the odd chips of a pot split between several winners.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum OddChipPolicy {
    /// All odd chips to the first winner in PHH order (position 0 first), as PokerKit does.
    #[default]
    FirstInPhhOrder,
    /// One odd chip each to the winners in PHH order, starting from position 0.
    RoundRobinFromFirst,
}

/// Whether a player may fold when checking costs nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum FreeFoldPolicy {
    /// Reject the fold: a live table protects players from a misclick.
    #[default]
    Reject,
    /// Accept the fold, as PokerKit does in cash games; used by replays.
    Allow,
}

/// Who decides what is shown at showdown.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum ShowdownPolicy {
    /// The engine shows a hand that can still win (or every hand when all are all in) and
    /// mucks the others, in showdown order: the default of a live table.
    #[default]
    Automatic,
    /// Every player in the showdown sends a show or muck command: replays.
    Manual,
}

/// A forced bet before the cards: a blind, a straddle, or a post.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum Forced {
    /// Nothing is forced on this position.
    #[default]
    None,
    /// A blind or straddle of this amount; the largest decides who acts first.
    Blind(Chips),
    /// A live post by a player who joined (a negative PHH entry): it counts as a bet but does
    /// not decide who acts first.
    Post(Chips),
}

impl Forced {
    /// The amount forced, whatever its kind.
    #[must_use]
    pub const fn amount(self) -> Chips {
        match self {
            Forced::None => Chips::ZERO,
            Forced::Blind(c) | Forced::Post(c) => c,
        }
    }
}

/// Everything needed to start one hand.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct HandSetup {
    /// The variant played.
    pub variant: Variant,
    /// The number of players dealt in, `2..=MAX_PLAYERS`.
    pub players: u8,
    /// The ante of each position (a big-blind ante is an ante on one position only).
    pub antes: [Chips; MAX_PLAYERS],
    /// The forced bet of each position.
    pub forced: [Forced; MAX_PLAYERS],
    /// The minimum bet and raise size (no-limit and pot-limit), usually the big blind.
    pub min_bet: Chips,
    /// Stacks at the start of the hand, before antes and blinds.
    pub stacks: [Chips; MAX_PLAYERS],
    /// PHH `ante_trimming_status`: `true` counts antes as contributions that can form side
    /// pots; `false` puts every ante in the main pot.
    pub ante_trimming: bool,
    /// Who gets odd chips.
    pub odd_chips: OddChipPolicy,
    /// Whether folding when checking is free is allowed.
    pub free_fold: FreeFoldPolicy,
    /// Who decides what is shown at showdown.
    pub showdown: ShowdownPolicy,
    /// The shuffled deck the engine deals from, or `None` when cards arrive in commands
    /// (a replay).
    pub deck: Option<Deck>,
}

impl HandSetup {
    /// A setup with no antes, no forced bets and default policies, for building in steps.
    #[must_use]
    pub fn new(variant: Variant, stacks: &[Chips], min_bet: Chips) -> HandSetup {
        let mut all = [Chips::ZERO; MAX_PLAYERS];
        let n = stacks.len().min(MAX_PLAYERS);
        all[..n].copy_from_slice(&stacks[..n]);
        HandSetup {
            variant,
            players: stacks.len().min(u8::MAX as usize) as u8,
            antes: [Chips::ZERO; MAX_PLAYERS],
            forced: [Forced::None; MAX_PLAYERS],
            min_bet,
            stacks: all,
            ante_trimming: false,
            odd_chips: OddChipPolicy::default(),
            free_fold: FreeFoldPolicy::default(),
            showdown: ShowdownPolicy::default(),
            deck: None,
        }
    }

    /// Sets blinds and straddles on the first positions (`[sb, bb]` or `[sb, bb, straddle]`).
    #[must_use]
    pub fn with_blinds(mut self, blinds: &[Chips]) -> HandSetup {
        for (i, b) in blinds.iter().enumerate().take(MAX_PLAYERS) {
            self.forced[i] = if b.is_zero() { Forced::None } else { Forced::Blind(*b) };
        }
        self
    }

    /// Sets the same ante on every position.
    #[must_use]
    pub fn with_ante(mut self, ante: Chips) -> HandSetup {
        for a in self.antes.iter_mut().take(self.players as usize) {
            *a = ante;
        }
        self
    }
}
