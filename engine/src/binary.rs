//! bincode 2's own `Encode`/`Decode` for the engine's types (feature `bincode`), for stores
//! that decode millions of events a second: 3–4 times faster than bincode's serde path.
//!
//! *Invariant: the bytes are the same as bincode's serde encoding of the same value.* The
//! derives encode a struct as its fields in order and an enum as its variant index then its
//! fields, as serde's bincode does; the three types with a custom serde form are written by
//! hand below in that form (a card as its `u8` index, a rank as its raw `u16`, a deck as a
//! list of 52 cards), with the same checks on decode. `showdown-store` tests the byte
//! equality on every event of played tables.

use bincode::de::{BorrowDecoder, Decoder};
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{BorrowDecode, Decode, Encode};

use crate::cards::Card;
use crate::deck::Deck;
use crate::eval::HandRank;

impl Encode for Card {
    fn encode<E: Encoder>(&self, encoder: &mut E) -> Result<(), EncodeError> {
        u8::from(*self).encode(encoder)
    }
}

impl<Context> Decode<Context> for Card {
    fn decode<D: Decoder<Context = Context>>(decoder: &mut D) -> Result<Card, DecodeError> {
        let index = u8::decode(decoder)?;
        Card::try_from(index).map_err(|e| DecodeError::OtherString(e.to_string()))
    }
}

impl<'de, Context> BorrowDecode<'de, Context> for Card {
    fn borrow_decode<D: BorrowDecoder<'de, Context = Context>>(decoder: &mut D) -> Result<Card, DecodeError> {
        Card::decode(decoder)
    }
}

impl Encode for HandRank {
    fn encode<E: Encoder>(&self, encoder: &mut E) -> Result<(), EncodeError> {
        u16::from(*self).encode(encoder)
    }
}

impl<Context> Decode<Context> for HandRank {
    fn decode<D: Decoder<Context = Context>>(decoder: &mut D) -> Result<HandRank, DecodeError> {
        let raw = u16::decode(decoder)?;
        HandRank::try_from(raw).map_err(|e| DecodeError::OtherString(e.to_string()))
    }
}

impl<'de, Context> BorrowDecode<'de, Context> for HandRank {
    fn borrow_decode<D: BorrowDecoder<'de, Context = Context>>(decoder: &mut D) -> Result<HandRank, DecodeError> {
        HandRank::decode(decoder)
    }
}

impl Encode for Deck {
    fn encode<E: Encoder>(&self, encoder: &mut E) -> Result<(), EncodeError> {
        // A list: its length, then the cards (serde's form of `Vec<Card>`).
        (Card::COUNT as u64).encode(encoder)?;
        (0..Card::COUNT).try_for_each(|i| self.card(i).encode(encoder))
    }
}

impl<Context> Decode<Context> for Deck {
    fn decode<D: Decoder<Context = Context>>(decoder: &mut D) -> Result<Deck, DecodeError> {
        let len = u64::decode(decoder)?;
        if len != Card::COUNT as u64 {
            return Err(DecodeError::OtherString(format!("a deck has 52 cards, not {len}")));
        }
        let mut cards = Vec::with_capacity(Card::COUNT);
        for _ in 0..Card::COUNT {
            cards.push(Card::decode(decoder)?);
        }
        Deck::try_from(cards).map_err(|e| DecodeError::OtherString(e.to_string()))
    }
}

impl<'de, Context> BorrowDecode<'de, Context> for Deck {
    fn borrow_decode<D: BorrowDecoder<'de, Context = Context>>(decoder: &mut D) -> Result<Deck, DecodeError> {
        Deck::decode(decoder)
    }
}
