//! A table's configuration: what is played, for how much, by how many, and how fast.
//!
//! A configuration is checked once, when the table opens ([`TableConfig::validate`]); every
//! hand afterwards is built from it, so a hand never meets stakes the table refused.

use serde::{Deserialize, Serialize};

use crate::chips::Chips;
use crate::rules::{BettingStructure, FreeFoldPolicy, HoleCardRule, OddChipPolicy, Variant};

/// The most seats a table may have: one hand deals to at most this many players.
pub const MAX_SEATS: usize = crate::rules::MAX_PLAYERS;

/// Which antes the table takes before each hand.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum Ante {
    /// No ante.
    #[default]
    None,
    /// Every player dealt in posts this ante.
    PerPlayer(Chips),
    /// The big blind posts this ante for the whole table (a big-blind ante).
    BigBlind(Chips),
}

/// Whether the table plays with a straddle.
///
/// Only a table-wide, mandatory straddle is offered: the player after the big blind posts it
/// whenever at least four players are dealt in (so the button never straddles). A voluntary,
/// per-hand straddle would need a command before each deal; it is not offered yet.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum Straddle {
    /// No straddle.
    #[default]
    None,
    /// A blind of this amount (at least twice the big blind) after the big blind.
    Mandatory(Chips),
}

/// Everything a table is opened with. Checked by [`TableConfig::validate`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct TableConfig {
    /// The variant: PHH `NT`, `PO` or `FT` (fixed-limit bet sizes live in the variant).
    pub variant: Variant,
    /// The small blind.
    pub small_blind: Chips,
    /// The big blind; also the minimum bet in no-limit and pot-limit.
    pub big_blind: Chips,
    /// The antes.
    pub ante: Ante,
    /// The straddle option.
    pub straddle: Straddle,
    /// The number of seats, `2..=MAX_SEATS`.
    pub seats: u8,
    /// The smallest buy-in, above zero.
    pub min_buy_in: Chips,
    /// The largest buy-in, and the most a top-up may bring a stack to.
    pub max_buy_in: Chips,
    /// How long a player has for each action before the time bank runs, in milliseconds.
    pub action_time_ms: u64,
    /// Extra time each player gets once per seating, spent after `action_time_ms` runs out.
    pub time_bank_ms: u64,
    /// Who gets the odd chips of a split pot.
    pub odd_chips: OddChipPolicy,
    /// Whether folding when checking is free is accepted.
    pub free_fold: FreeFoldPolicy,
}

impl TableConfig {
    /// The largest maximum buy-in: ten full stacks stay far inside a `u64`, and so does every
    /// pot. (The chips on a table as a whole are capped by [`super::MAX_TABLE_CHIPS`].)
    pub const MAX_BUY_IN_LIMIT: Chips = Chips(Chips::UNBOUNDED.0 / MAX_SEATS as u64);

    /// A six-seat no-limit hold'em table with these blinds, buy-ins of 40 to 200 big
    /// blinds, 15 seconds per action and a 60-second time bank: a starting point for hosts
    /// and tests.
    #[must_use]
    pub fn no_limit_holdem(small_blind: u64, big_blind: u64) -> TableConfig {
        TableConfig {
            variant: Variant::no_limit_holdem(),
            small_blind: Chips(small_blind),
            big_blind: Chips(big_blind),
            ante: Ante::None,
            straddle: Straddle::None,
            seats: 6,
            min_buy_in: Chips(big_blind.saturating_mul(40)),
            max_buy_in: Chips(big_blind.saturating_mul(200)),
            action_time_ms: 15_000,
            time_bank_ms: 60_000,
            odd_chips: OddChipPolicy::default(),
            free_fold: FreeFoldPolicy::default(),
        }
    }

    /// Checks the configuration, in the order of [`ConfigRejection`]'s variants.
    ///
    /// # Errors
    /// The first [`ConfigRejection`] that applies.
    pub fn validate(&self) -> Result<(), ConfigRejection> {
        if self.big_blind.is_zero() {
            return Err(ConfigRejection::ZeroBigBlind);
        }
        if self.small_blind > self.big_blind {
            return Err(ConfigRejection::SmallBlindAboveBigBlind { small: self.small_blind, big: self.big_blind });
        }
        if !(2..=MAX_SEATS as u8).contains(&self.seats) {
            return Err(ConfigRejection::SeatCount { seats: self.seats, max: MAX_SEATS as u8 });
        }
        if self.min_buy_in.is_zero() {
            return Err(ConfigRejection::ZeroMinBuyIn);
        }
        if self.min_buy_in > self.max_buy_in {
            return Err(ConfigRejection::MinBuyInAboveMax { min: self.min_buy_in, max: self.max_buy_in });
        }
        if self.max_buy_in > TableConfig::MAX_BUY_IN_LIMIT {
            return Err(ConfigRejection::MaxBuyInTooLarge {
                max: self.max_buy_in,
                limit: TableConfig::MAX_BUY_IN_LIMIT,
            });
        }
        // Only the variants tested against PokerKit are offered (see docs/RULES.md).
        let supported = matches!(
            (self.variant.betting, self.variant.hole_cards),
            (BettingStructure::NoLimit, HoleCardRule::Holdem)
                | (BettingStructure::PotLimit, HoleCardRule::Omaha)
                | (BettingStructure::FixedLimit { .. }, HoleCardRule::Holdem)
        );
        if !supported {
            return Err(ConfigRejection::UnsupportedVariant { code: self.variant.phh_code() });
        }
        if let BettingStructure::FixedLimit { small_bet, big_bet } = self.variant.betting
            && (small_bet.is_zero() || big_bet.is_zero())
        {
            return Err(ConfigRejection::ZeroFixedLimitBet);
        }
        if let Straddle::Mandatory(amount) = self.straddle {
            let min = Chips(self.big_blind.0.saturating_mul(2));
            if amount < min {
                return Err(ConfigRejection::StraddleTooSmall { straddle: amount, min });
            }
        }
        if self.action_time_ms == 0 {
            return Err(ConfigRejection::ZeroActionTime);
        }
        Ok(())
    }
}

/// Why a configuration is refused. Checked in this order.
///
/// Serializable, to tell a client why its command was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ConfigRejection {
    /// The big blind is zero.
    #[error("the big blind must be above zero")]
    ZeroBigBlind,
    /// The small blind is larger than the big blind.
    #[error("the small blind {small} is larger than the big blind {big}")]
    SmallBlindAboveBigBlind {
        /// The small blind asked for.
        small: Chips,
        /// The big blind asked for.
        big: Chips,
    },
    /// Fewer than two or more than `max` seats.
    #[error("a table has 2 to {max} seats, not {seats}")]
    SeatCount {
        /// Seats asked for.
        seats: u8,
        /// The most allowed.
        max: u8,
    },
    /// The minimum buy-in is zero.
    #[error("the minimum buy-in must be above zero")]
    ZeroMinBuyIn,
    /// The minimum buy-in is above the maximum.
    #[error("the minimum buy-in {min} is above the maximum {max}")]
    MinBuyInAboveMax {
        /// The minimum asked for.
        min: Chips,
        /// The maximum asked for.
        max: Chips,
    },
    /// A maximum buy-in so large that a full table could overflow the engine's chip counts.
    #[error("the maximum buy-in {max} is above the limit {limit}")]
    MaxBuyInTooLarge {
        /// The maximum asked for.
        max: Chips,
        /// The largest allowed, [`TableConfig::MAX_BUY_IN_LIMIT`].
        limit: Chips,
    },
    /// A variant the engine does not offer at live tables.
    #[error("variant {code} is not supported: tables play NT, PO or FT")]
    UnsupportedVariant {
        /// Its PHH code.
        #[serde(deserialize_with = "phh_code")]
        code: StaticCode,
    },
    /// A fixed-limit small or big bet of zero.
    #[error("fixed-limit bet sizes must be above zero")]
    ZeroFixedLimitBet,
    /// A straddle below twice the big blind.
    #[error("a straddle of {straddle} is below twice the big blind ({min})")]
    StraddleTooSmall {
        /// The straddle asked for.
        straddle: Chips,
        /// The smallest straddle.
        min: Chips,
    },
    /// No time to act at all.
    #[error("the time per action must be above zero milliseconds")]
    ZeroActionTime,
}

/// `&'static str` under another name: serde's derive borrows a field spelled `&str` from the
/// input, which a `'static` one cannot; `phh_code` reads it instead.
type StaticCode = &'static str;

/// A variant's PHH code read back as the engine's own static name ([`Variant::phh_code`]);
/// `"?"` for a code the engine does not know.
fn phh_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    const CODES: [&str; 6] = ["NT", "PO", "FT", "NO", "PT", "FO"];
    let code = String::deserialize(d)?;
    Ok(CODES.into_iter().find(|c| *c == code).unwrap_or("?"))
}
