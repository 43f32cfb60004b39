//! Cards, ranks and suits, and their two-character text form (`As`, `Td`, `2c`).
//!
//! A [`Card`] is one byte: `rank * 4 + suit`, ranks `2..=A` as `0..=12` and suits in the
//! order clubs, diamonds, hearts, spades. The evaluator's tables are indexed by that byte,
//! so the encoding is part of the engine's stored shape and never changes.
//! A card nobody has seen (`??` in text, `????` for a pair of hole cards) is `None` wherever
//! a card may be unknown; the evaluator only ever sees known cards.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Rank characters in rank order, deuce first.
pub const RANK_CHARS: &[u8; 13] = b"23456789TJQKA";
/// Suit characters in suit order.
pub const SUIT_CHARS: &[u8; 4] = b"cdhs";

/// One playing card of a standard 52-card deck.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub struct Card(u8);

impl Card {
    /// The number of distinct cards.
    pub const COUNT: usize = 52;

    /// The card with this index (`rank * 4 + suit`), if the index is below 52.
    #[must_use]
    pub const fn from_index(index: u8) -> Option<Card> {
        if index < 52 { Some(Card(index)) } else { None }
    }

    /// The card of this rank (`0` = deuce … `12` = ace) and suit (`0..4` = c, d, h, s).
    ///
    /// # Panics
    /// If the rank is above 12 or the suit above 3: a programmer error.
    #[must_use]
    pub const fn new(rank: u8, suit: u8) -> Card {
        assert!(rank < 13 && suit < 4);
        Card(rank * 4 + suit)
    }

    /// The card's index, `0..52`.
    #[must_use]
    pub const fn index(self) -> u8 {
        self.0
    }

    /// The rank, `0` (deuce) to `12` (ace).
    #[must_use]
    pub const fn rank(self) -> u8 {
        self.0 >> 2
    }

    /// The suit, `0..4` for clubs, diamonds, hearts, spades.
    #[must_use]
    pub const fn suit(self) -> u8 {
        self.0 & 3
    }

    /// Every card in index order.
    pub fn all() -> impl Iterator<Item = Card> {
        (0..52).map(Card)
    }
}

impl From<Card> for u8 {
    fn from(card: Card) -> u8 {
        card.0
    }
}

impl TryFrom<u8> for Card {
    type Error = CardError;
    fn try_from(index: u8) -> Result<Card, CardError> {
        Card::from_index(index).ok_or(CardError::Index(index))
    }
}

impl fmt::Display for Card {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = [RANK_CHARS[self.rank() as usize], SUIT_CHARS[self.suit() as usize]];
        // Both bytes are ASCII by construction.
        f.write_str(std::str::from_utf8(&text).unwrap_or("??"))
    }
}

impl fmt::Debug for Card {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a piece of text is not a card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CardError {
    /// The text does not have the shape rank-then-suit.
    #[error("malformed card {0:?}: expected a rank (2-9, T, J, Q, K, A) then a suit (c, d, h, s), as in \"As\"")]
    Malformed(String),
    /// A list of cards has an odd number of characters or stray characters.
    #[error(
        "malformed card list {0:?}: expected pairs of rank and suit, as in \"AsKd\", or \"??\" for an unknown card"
    )]
    MalformedList(String),
    /// The same card appears twice where cards come from one deck.
    #[error("duplicate card {0}: every card comes from one 52-card deck")]
    Duplicate(Card),
    /// A card index outside `0..52`.
    #[error("card index {0} is not below 52")]
    Index(u8),
}

fn rank_of(byte: u8) -> Option<u8> {
    RANK_CHARS.iter().position(|&r| r == byte.to_ascii_uppercase()).map(|r| r as u8)
}

fn suit_of(byte: u8) -> Option<u8> {
    SUIT_CHARS.iter().position(|&s| s == byte).map(|s| s as u8)
}

impl FromStr for Card {
    type Err = CardError;
    fn from_str(text: &str) -> Result<Card, CardError> {
        match text.as_bytes() {
            [r, s] => match (rank_of(*r), suit_of(*s)) {
                (Some(rank), Some(suit)) => Ok(Card::new(rank, suit)),
                _ => Err(CardError::Malformed(text.to_owned())),
            },
            _ => Err(CardError::Malformed(text.to_owned())),
        }
    }
}

/// Parses a run of cards such as `AsKd` or `????` (two unknown cards); unknown cards are `None`.
///
/// # Errors
/// [`CardError::MalformedList`] when the text is not whole pairs, [`CardError::Malformed`]
/// when one pair is not a card. Duplicates are not checked here: see [`check_distinct`].
pub fn parse_cards(text: &str) -> Result<Vec<Option<Card>>, CardError> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) || !text.is_ascii() {
        return Err(CardError::MalformedList(text.to_owned()));
    }
    bytes
        .chunks(2)
        .map(|pair| {
            if pair == b"??" {
                Ok(None)
            } else {
                // Pairs of ASCII bytes are valid UTF-8.
                let s = std::str::from_utf8(pair).map_err(|_| CardError::MalformedList(text.to_owned()))?;
                s.parse().map(Some)
            }
        })
        .collect()
}

/// Writes cards in their text form, `??` for an unknown card.
#[must_use]
pub fn format_cards(cards: &[Option<Card>]) -> String {
    let mut out = String::with_capacity(cards.len() * 2);
    for card in cards {
        match card {
            Some(c) => out.push_str(&c.to_string()),
            None => out.push_str("??"),
        }
    }
    out
}

/// A set of cards as a 52-bit mask, bit `index` for each card.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct CardSet(pub u64);

impl CardSet {
    /// The empty set.
    pub const EMPTY: CardSet = CardSet(0);

    /// Whether the set holds the card.
    #[must_use]
    pub const fn contains(self, card: Card) -> bool {
        self.0 >> card.0 & 1 == 1
    }

    /// Adds a card; returns false if it was already there.
    pub fn insert(&mut self, card: Card) -> bool {
        let had = self.contains(card);
        self.0 |= 1 << card.0;
        !had
    }

    /// The number of cards in the set.
    #[must_use]
    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Checks that no known card appears twice.
///
/// # Errors
/// [`CardError::Duplicate`] naming the first repeated card.
pub fn check_distinct<'a>(cards: impl IntoIterator<Item = &'a Option<Card>>) -> Result<CardSet, CardError> {
    let mut seen = CardSet::EMPTY;
    for card in cards.into_iter().flatten() {
        if !seen.insert(*card) {
            return Err(CardError::Duplicate(*card));
        }
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_card_round_trips_through_text() {
        for card in Card::all() {
            assert_eq!(card.to_string().parse::<Card>(), Ok(card));
        }
        assert_eq!("As".parse::<Card>().unwrap().index(), 51);
        assert_eq!("2c".parse::<Card>().unwrap().index(), 0);
        assert_eq!("Td".parse::<Card>().unwrap(), Card::new(8, 1));
    }

    #[test]
    fn malformed_cards_are_rejected_with_the_text() {
        for bad in ["", "A", "1s", "Ax", "Ass", "10s", "é"] {
            let err = bad.parse::<Card>().unwrap_err();
            assert!(err.to_string().contains("expected a rank"), "{bad}: {err}");
        }
    }

    #[test]
    fn card_lists_accept_unknown_cards() {
        assert_eq!(parse_cards("????").unwrap(), vec![None, None]);
        let cards = parse_cards("AsKd").unwrap();
        assert_eq!(format_cards(&cards), "AsKd");
        assert!(matches!(parse_cards("AsK"), Err(CardError::MalformedList(_))));
        assert!(matches!(parse_cards("AsKx"), Err(CardError::Malformed(_))));
    }

    #[test]
    fn duplicates_are_named() {
        let cards = parse_cards("AsKdAs").unwrap();
        assert_eq!(check_distinct(&cards), Err(CardError::Duplicate("As".parse().unwrap())));
        assert!(check_distinct(&parse_cards("????AsKd").unwrap()).is_ok());
    }
}
