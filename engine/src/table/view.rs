//! Private information: what one viewer may see of the table, and of each event.
//!
//! A seat sees its own hole cards; everybody sees the cards that were shown; nobody sees
//! another seat's hole cards, the deck, the undealt cards or the seed before the hand ends.
//! Redaction is a pure function of one event and the viewer, so a seat's feed is the same
//! whether it is built live or from a replay of the stored events.

use serde::{Deserialize, Serialize};

use super::{MAX_SEATS, PlayerId, Recorded, SeatIdx, Table, TableEvent};
use crate::chips::Chips;
use crate::hand::{self, Cards};
use crate::rules::Pos;

/// Who is looking.
///
/// A viewer is a seat, not a player: a host that serves a player's feed from the middle of a
/// stream should start it at the player's [`TableEvent::SatDown`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub enum Viewer {
    /// The player in this seat.
    Seat(SeatIdx),
    /// Anyone else: the rail, a broadcast, a public log.
    Spectator,
}

/// One occupied seat as a viewer sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct SeatView {
    /// Who sits here.
    pub player: PlayerId,
    /// Chips behind.
    pub stack: Chips,
    /// Chips bet on this street.
    pub bet: Chips,
    /// Not dealt in from the next hand.
    pub sitting_out: bool,
    /// Leaving when the running hand ends.
    pub leaving: bool,
    /// Dealt into the running hand.
    pub dealt_in: bool,
    /// Dealt in and no longer in the hand (folded, mucked or killed).
    pub folded: bool,
    /// Hole cards: the viewer's own, or those shown; `None` where hidden.
    pub hole_cards: Cards,
}

/// The table as one viewer sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct TableView {
    /// Who is looking.
    pub viewer: Viewer,
    /// The running hand's number, or the last one's.
    pub hand: u64,
    /// Whether a hand is running.
    pub in_hand: bool,
    /// The button, small-blind and big-blind seats of the running or last hand.
    pub blinds: Option<(SeatIdx, SeatIdx, SeatIdx)>,
    /// Every seat, empty ones `None`.
    pub seats: [Option<SeatView>; MAX_SEATS],
    /// The board of the running hand.
    pub board: Cards,
    /// Chips in the pots, not counting this street's bets.
    pub pot: Chips,
    /// Whose turn it is.
    pub to_act: Option<SeatIdx>,
    /// The turn's deadline, and the end of the time bank once it runs.
    pub deadline_ms: Option<(u64, Option<u64>)>,
    /// The running hand's deck commitment.
    pub commitment: Option<[u8; 32]>,
}

pub(super) fn view_for(t: &Table, viewer: Viewer) -> TableView {
    let h = t.hand();
    let mut seats = [None; MAX_SEATS];
    for (i, slot) in t.seats().iter().enumerate() {
        let Some(s) = slot else { continue };
        let seat = SeatIdx(i as u8);
        let pos = s.position.filter(|_| t.hand_holds_chips());
        let (bet, folded, hole_cards) = match pos {
            Some(pos) => {
                let own = viewer == Viewer::Seat(seat);
                (h.bets()[pos.idx()], !h.live().contains(pos.idx()), visible_hole(h, pos, own))
            }
            None => (Chips::ZERO, false, Cards::EMPTY),
        };
        seats[i] = Some(SeatView {
            player: s.player,
            stack: t.stack(seat).unwrap_or(Chips::ZERO),
            bet,
            sitting_out: s.sitting_out,
            leaving: s.leaving,
            dealt_in: pos.is_some(),
            folded,
            hole_cards,
        });
    }
    let in_hand = t.hand_holds_chips();
    let bets: Chips = if in_hand { h.bets().iter().copied().sum() } else { Chips::ZERO };
    TableView {
        viewer,
        hand: t.hand_no().0,
        in_hand,
        blinds: t.blinds(),
        seats,
        board: if in_hand { Cards::new(h.board()) } else { Cards::EMPTY },
        pot: if in_hand { h.middle().saturating_sub(bets) } else { Chips::ZERO },
        to_act: h.actor().filter(|_| in_hand).map(|p| t.positions().seat(p)),
        deadline_ms: t.turn().map(|turn| (turn.deadline_ms, turn.bank_until_ms)),
        commitment: in_hand.then(|| t.commitment()),
    }
}

/// A position's hole cards as a viewer sees them: all of them if they are the viewer's own,
/// else only the face-up ones.
fn visible_hole(h: &hand::HandState, pos: Pos, own: bool) -> Cards {
    let hole = h.hole_cards(pos);
    if own {
        return Cards::new(hole);
    }
    let up = h.face_up(pos);
    let mut shown = [None; 5];
    for (k, card) in hole.iter().enumerate() {
        if up >> k & 1 == 1 {
            shown[k] = *card;
        }
    }
    Cards::new(&shown[..hole.len()])
}

impl Table {
    /// The table as a viewer may know it: what folding its events redacted for the viewer
    /// ([`Recorded::redacted_for`]) from the start gives, so a client that receives it can
    /// go on folding the redacted events that follow. Other seats' hidden hole cards, the
    /// deck, the running hand's seed and salt, and the used cards that would reveal hidden
    /// ones are gone; the viewer's own hole cards (of the running or last hand dealt to its
    /// seat) and the shown ones stay.
    ///
    /// The viewer is a seat, as in [`Table::view_for`]: a seat's hole cards of the last hand
    /// stay visible to the seat after its player left (the deck is public by then anyway).
    #[must_use]
    pub fn redacted_for(&self, viewer: Viewer) -> Table {
        let own = match viewer {
            Viewer::Seat(seat) => self.positions().position(seat),
            Viewer::Spectator => None,
        };
        Table { hand: self.hand().redacted_for(own), secret: None, ..self.clone() }
    }
}

impl TableEvent {
    /// The event as a viewer may see it: another seat's hole cards become unknown, and the
    /// deck, the seed and the salt are removed until [`TableEvent::DeckRevealed`] makes the
    /// seed and salt public.
    #[must_use]
    pub fn redacted_for(&self, viewer: Viewer) -> TableEvent {
        match self {
            TableEvent::HandStarted { seed: Some(_), .. } | TableEvent::HandStarted { salt: Some(_), .. } => {
                let mut event = self.clone();
                if let TableEvent::HandStarted { seed, salt, .. } = &mut event {
                    *seed = None;
                    *salt = None;
                }
                event
            }
            TableEvent::Hand { seat, event: hand::Event::HoleCardsDealt { pos, cards } } => {
                let own = seat.is_some_and(|s| viewer == Viewer::Seat(s));
                let cards = if own { *cards } else { Cards::new(&[None; 5][..cards.len()]) };
                TableEvent::Hand { seat: *seat, event: hand::Event::HoleCardsDealt { pos: *pos, cards } }
            }
            TableEvent::Hand { seat, event: hand::Event::HandStarted(setup) } if setup.deck.is_some() => {
                let mut setup = setup.clone();
                setup.deck = None;
                TableEvent::Hand { seat: *seat, event: hand::Event::HandStarted(setup) }
            }
            _ => self.clone(),
        }
    }
}

impl Recorded {
    /// The recorded event as a viewer may see it (see [`TableEvent::redacted_for`]).
    #[must_use]
    pub fn redacted_for(&self, viewer: Viewer) -> Recorded {
        Recorded {
            schema: self.schema,
            command: self.command,
            now_ms: self.now_ms,
            event: self.event.redacted_for(viewer),
        }
    }
}
