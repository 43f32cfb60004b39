//! The provably fair deck: a commitment before the deal, the seed after it, and a check
//! anyone can run.
//!
//! When a hand starts, [`TableEvent::HandStarted`] carries
//! `commitment = SHA-256(seed ‖ deck ‖ salt)`: the 32-byte shuffle seed, the 52 card indices
//! (`rank * 4 + suit`) of [`Deck::shuffled`]`(seed)` in dealing order, and a 32-byte
//! per-hand salt. Seed and salt stay secret until [`TableEvent::DeckRevealed`] at the end of
//! the hand. [`verify`] then recomputes the deck from the seed, checks the commitment, and
//! checks every card the events show against the order the engine deals in: hole cards
//! round the table one at a time from deck position 0, in position order; then for each
//! street one burn card and the street's board cards.
//!
//! A player can run [`verify`] on their own redacted feed: hidden cards are skipped, every
//! known one (their own, the board, the cards shown) is checked. The salt keeps the
//! commitment from being matched against precomputed seeds; the seed must come from a
//! secret random source on the host.

use sha2::{Digest, Sha256};

use super::{HandNo, TableEvent};
use crate::cards::Card;
use crate::deck::{Deck, SHUFFLE_VERSION};
use crate::hand::Event;
use crate::rules::{MAX_PLAYERS, Pos};

/// SHA-256 of seed ‖ deck order (52 card indices) ‖ salt.
#[must_use]
pub fn commitment(seed: &[u8; 32], deck: &Deck, salt: &[u8; 32]) -> [u8; 32] {
    let mut order = [0u8; 52];
    for (b, card) in order.iter_mut().zip(deck.cards()) {
        *b = card.index();
    }
    let mut hasher = Sha256::new();
    hasher.update(seed);
    hasher.update(order);
    hasher.update(salt);
    hasher.finalize().into()
}

/// Why a hand's deck cannot be trusted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FairnessError {
    /// The events hold no hand start.
    #[error("no hand starts in these events")]
    NoHand,
    /// A hand started but its seed was never revealed.
    #[error("hand {} ended without revealing its seed", .hand.0)]
    MissingReveal {
        /// The hand.
        hand: HandNo,
    },
    /// A reveal for a hand that did not start in these events.
    #[error("a seed is revealed for hand {}, which did not start here", .hand.0)]
    RevealWithoutHand {
        /// The hand named by the reveal.
        hand: HandNo,
    },
    /// A shuffle algorithm this engine does not know.
    #[error("hand {} uses shuffle version {version}; this engine knows version {SHUFFLE_VERSION}", .hand.0)]
    UnknownShuffleVersion {
        /// The hand.
        hand: HandNo,
        /// The version recorded.
        version: u8,
    },
    /// The revealed seed and salt do not hash to the commitment.
    #[error("hand {}: the revealed seed and salt do not match the commitment", .hand.0)]
    CommitmentMismatch {
        /// The hand.
        hand: HandNo,
    },
    /// The deck recorded in the hand setup is not the one the seed shuffles.
    #[error("hand {}: the recorded deck is not the one the seed shuffles", .hand.0)]
    DeckMismatch {
        /// The hand.
        hand: HandNo,
    },
    /// A dealt card is not the card at its place in the seed's deck.
    #[error("hand {}: deck position {index} should deal {expected}, the events dealt {found}", .hand.0)]
    CardMismatch {
        /// The hand.
        hand: HandNo,
        /// The deck position.
        index: u8,
        /// The card the seed's deck holds there.
        expected: Card,
        /// The card the events dealt.
        found: Card,
    },
    /// A shown card that was not dealt to the player who showed it.
    #[error("hand {}: {pos} showed {card}, which was not dealt to them", .hand.0)]
    ShownCardMismatch {
        /// The hand.
        hand: HandNo,
        /// Who showed it.
        pos: Pos,
        /// The card.
        card: Card,
    },
    /// More cards dealt than a deck holds.
    #[error("hand {}: more than 52 cards dealt", .hand.0)]
    DeckExhausted {
        /// The hand.
        hand: HandNo,
    },
}

/// What one hand's events claim, checked when the seed is revealed.
struct Claims {
    hand: HandNo,
    commitment: [u8; 32],
    version: u8,
    recorded_deck: Option<Deck>,
    /// (deck position, card) for every known dealt card.
    dealt: Vec<(u8, Card)>,
    /// Deck positions of each position's hole cards.
    hole: [[u8; 5]; MAX_PLAYERS],
    hole_len: [u8; MAX_PLAYERS],
    shown: Vec<(Pos, Card)>,
    next: usize,
    /// A round of hole cards being dealt: (position, cards), flushed when it ends.
    batch: Vec<(Pos, crate::hand::Cards)>,
    exhausted: bool,
}

impl Claims {
    fn flush_hole(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let dealt = self.batch.len();
        let mut total = 0;
        for (k, (pos, cards)) in self.batch.iter().enumerate() {
            for (round, card) in cards.as_slice().iter().enumerate() {
                let index = self.next + round * dealt + k;
                if index >= 52 {
                    self.exhausted = true;
                    continue;
                }
                let p = pos.idx().min(MAX_PLAYERS - 1);
                if (self.hole_len[p] as usize) < 5 {
                    self.hole[p][self.hole_len[p] as usize] = index as u8;
                    self.hole_len[p] += 1;
                }
                if let Some(card) = card {
                    self.dealt.push((index as u8, *card));
                }
            }
            total += cards.len();
        }
        self.next += total;
        self.batch.clear();
    }

    fn check(&self, seed: &[u8; 32], salt: &[u8; 32]) -> Result<(), FairnessError> {
        let hand = self.hand;
        if self.version != SHUFFLE_VERSION {
            return Err(FairnessError::UnknownShuffleVersion { hand, version: self.version });
        }
        let deck = Deck::shuffled(*seed);
        if commitment(seed, &deck, salt) != self.commitment {
            return Err(FairnessError::CommitmentMismatch { hand });
        }
        if self.recorded_deck.is_some_and(|d| d != deck) {
            return Err(FairnessError::DeckMismatch { hand });
        }
        if self.exhausted {
            return Err(FairnessError::DeckExhausted { hand });
        }
        for &(index, found) in &self.dealt {
            let expected = deck.card(index as usize);
            if expected != found {
                return Err(FairnessError::CardMismatch { hand, index, expected, found });
            }
        }
        for &(pos, card) in &self.shown {
            let p = pos.idx().min(MAX_PLAYERS - 1);
            let held = &self.hole[p][..self.hole_len[p] as usize];
            if !held.iter().any(|&i| deck.card(i as usize) == card) {
                return Err(FairnessError::ShownCardMismatch { hand, pos, card });
            }
        }
        Ok(())
    }
}

/// Checks every hand in `events` (stored or redacted, [`TableEvent`]s or
/// [`super::Recorded`]s): the commitment against the revealed seed and salt, the recorded
/// deck against the seed, and every known dealt and shown card against the seed's deck.
///
/// # Errors
/// The first [`FairnessError`] found, or [`FairnessError::NoHand`] if no hand starts.
pub fn verify<E: AsRef<TableEvent>>(events: &[E]) -> Result<(), FairnessError> {
    let mut current: Option<Claims> = None;
    let mut hands = 0usize;
    for event in events {
        let event = event.as_ref();
        let Some(claims) = current.as_mut() else {
            match event {
                TableEvent::HandStarted { hand, commitment, shuffle_version, .. } => {
                    hands += 1;
                    current = Some(Claims {
                        hand: *hand,
                        commitment: *commitment,
                        version: *shuffle_version,
                        recorded_deck: None,
                        dealt: Vec::new(),
                        hole: [[0; 5]; MAX_PLAYERS],
                        hole_len: [0; MAX_PLAYERS],
                        shown: Vec::new(),
                        next: 0,
                        batch: Vec::new(),
                        exhausted: false,
                    });
                }
                TableEvent::DeckRevealed { hand, .. } => return Err(FairnessError::RevealWithoutHand { hand: *hand }),
                _ => {}
            }
            continue;
        };
        if !matches!(event, TableEvent::Hand { event: Event::HoleCardsDealt { .. }, .. }) {
            claims.flush_hole();
        }
        match event {
            TableEvent::HandStarted { .. } => return Err(FairnessError::MissingReveal { hand: claims.hand }),
            TableEvent::DeckRevealed { hand, seed, salt } => {
                if *hand != claims.hand {
                    return Err(FairnessError::RevealWithoutHand { hand: *hand });
                }
                claims.check(seed, salt)?;
                current = None;
            }
            TableEvent::Hand { event, .. } => match event {
                Event::HandStarted(setup) => claims.recorded_deck = setup.deck,
                Event::HoleCardsDealt { pos, cards } => claims.batch.push((*pos, *cards)),
                Event::BoardDealt { cards } => {
                    // One burn card, then the street's cards.
                    let start = claims.next + 1;
                    for (j, card) in cards.as_slice().iter().enumerate() {
                        if start + j >= 52 {
                            claims.exhausted = true;
                        } else if let Some(card) = card {
                            claims.dealt.push(((start + j) as u8, *card));
                        }
                    }
                    claims.next = start + cards.len();
                }
                Event::CardsShown { pos, cards, .. } => {
                    for card in cards.as_slice().iter().flatten() {
                        claims.shown.push((*pos, *card));
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    if let Some(claims) = current {
        return Err(FairnessError::MissingReveal { hand: claims.hand });
    }
    if hands == 0 {
        return Err(FairnessError::NoHand);
    }
    Ok(())
}
