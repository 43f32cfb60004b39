//! The auditor: it replays a table's recorded events, one at a time, into a mirror and checks
//! the table's invariants after each. [`super::TableHarness`] runs it after every generated
//! command, and the table's seeded session (`table/tests.rs`) after every event of 100,000
//! hands, so both hold the engine to the same rules.
//!
//! The checks are written from the rules, not from the engine's code: `strictly_between` and
//! the button rule are restated here so that a bug in the engine is not copied into its test.

use super::{Account, Invariant, Ledger};
use crate::cards::CardSet;
use crate::hand::Event as H;
use crate::table::{MAX_SEATS, Recorded, SeatIdx, SeatMap, Table, TableEvent, TableView, Viewer, apply};

/// An invariant that did not hold, and what was seen.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Breach {
    pub(crate) invariant: Invariant,
    pub(crate) detail: String,
}

pub(crate) type Checked = Result<(), Breach>;

fn breach(invariant: Invariant, detail: String) -> Checked {
    Err(Breach { invariant, detail })
}

/// The button, small-blind and big-blind seats of a hand.
pub(crate) type Blinds = (SeatIdx, SeatIdx, SeatIdx);

/// A mirror of the table rebuilt from its events alone, and what the auditor projects from
/// those events: the money ledger, the last hand's blinds, the cards each seat showed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Auditor {
    /// The table replayed from every event recorded so far (`Table::replay`, one event at a
    /// time).
    pub(crate) mirror: Table,
    /// Money across the table's edge, per player, from the money events alone.
    pub(crate) ledger: Ledger,
    /// The ledger's totals: chips brought and chips taken, over all players.
    pub(crate) totals: Account,
    /// The blinds of the last hand dealt.
    pub(crate) blinds: Option<Blinds>,
    /// Cards each seat showed in the running or last hand: the only ones others may see.
    shown: [CardSet; MAX_SEATS],
}

impl Auditor {
    /// Applies one recorded event to the mirror and checks the table after it: chips across
    /// the table's edge, the button (at a hand's start), and the event's redaction for every
    /// viewer.
    pub(crate) fn record(&mut self, r: &Recorded) -> Checked {
        apply(&mut self.mirror, r);
        match &r.event {
            TableEvent::BoughtIn { player, amount, .. } | TableEvent::ToppedUp { player, amount, .. } => {
                self.ledger.entry(*player).or_default().brought += u128::from(amount.0);
                self.totals.brought += u128::from(amount.0);
            }
            TableEvent::CashedOut { player, amount, .. } => {
                self.ledger.entry(*player).or_default().taken += u128::from(amount.0);
                self.totals.taken += u128::from(amount.0);
            }
            TableEvent::HandStarted { button, small_blind, big_blind, seats, .. } => {
                self.shown = [CardSet::EMPTY; MAX_SEATS];
                let blinds = (*button, *small_blind, *big_blind);
                check_button(self.blinds, blinds, seats, &self.mirror)?;
                self.blinds = Some(blinds);
            }
            TableEvent::Hand { seat: Some(seat), event: H::CardsShown { cards, .. } } => {
                for card in cards.as_slice().iter().flatten() {
                    self.shown[seat.idx()].insert(*card);
                }
            }
            _ => {}
        }
        self.check_chips(r)?;
        // Only these events carry secrets; every other event is public as stored.
        if matches!(
            r.event,
            TableEvent::HandStarted { .. }
                | TableEvent::Hand { event: H::HoleCardsDealt { .. } | H::HandStarted(_), .. }
        ) {
            for viewer in self.viewers() {
                self.check_redacted(viewer, &r.event.redacted_for(viewer))?;
            }
        }
        Ok(())
    }

    /// The cards a seat showed in the running or last hand.
    #[cfg(test)]
    pub(crate) fn shown(&self, seat: SeatIdx) -> CardSet {
        self.shown[seat.idx()]
    }

    /// Every viewer of this table: each seat, then a spectator.
    pub(crate) fn viewers(&self) -> impl Iterator<Item = Viewer> + use<> {
        let seats = self.mirror.config().map_or(0, |c| c.seats.min(MAX_SEATS as u8));
        (0..seats).map(|s| Viewer::Seat(SeatIdx(s))).chain([Viewer::Spectator])
    }

    /// Chips are conserved across the table's edge, by the table's count and by the ledger
    /// projected from the money events alone; inside a hand, by the hand's count too.
    fn check_chips(&self, r: &Recorded) -> Checked {
        let t = &self.mirror;
        if !t.chips_conserved() {
            return breach(
                Invariant::ChipsConserved,
                format!(
                    "after {:?}: {} chips on the table, but {} bought in less {} cashed out",
                    r.event,
                    t.chips_on_table(),
                    t.bought_in(),
                    t.cashed_out()
                ),
            );
        }
        self.check_ledger(&self.totals, "the ledger projected from the money events")?;
        if t.in_hand() && !t.hand().chips_conserved() {
            return breach(Invariant::ChipsConserved, format!("after {:?}: the hand lost or made chips", r.event));
        }
        Ok(())
    }

    /// A ledger's totals against the chips on the table: brought less taken equals them.
    pub(crate) fn check_ledger(&self, totals: &Account, whose: &str) -> Checked {
        let on_table = u128::from(self.mirror.chips_on_table().0);
        if totals.brought.checked_sub(totals.taken) != Some(on_table) {
            return breach(
                Invariant::ChipsConserved,
                format!(
                    "{whose}: {} brought less {} taken is not the {on_table} chips on the table",
                    totals.brought, totals.taken
                ),
            );
        }
        Ok(())
    }

    /// Every viewer's view of the mirror shows only its own and shown hole cards.
    pub(crate) fn check_views(&self) -> Checked {
        for viewer in self.viewers() {
            self.check_view(&self.mirror.view_for(viewer))?;
        }
        Ok(())
    }

    /// A view (the engine's or a host's) shows its viewer no other seat's hole card that
    /// this seat did not show.
    pub(crate) fn check_view(&self, view: &TableView) -> Checked {
        for (i, seat) in view.seats.iter().enumerate() {
            let Some(seat) = seat else { continue };
            if view.viewer == Viewer::Seat(SeatIdx(i as u8)) {
                continue;
            }
            for card in seat.hole_cards.as_slice().iter().flatten() {
                if !self.shown[i].contains(*card) {
                    return breach(
                        Invariant::HoleCardsHidden,
                        format!("{:?}'s view shows {card} of seat {i}, which was not shown", view.viewer),
                    );
                }
            }
        }
        Ok(())
    }

    /// An event as sent to a viewer (by the engine's redaction or by a host) carries no
    /// other seat's hole cards, no deck, and no seed or salt before the reveal.
    pub(crate) fn check_redacted(&self, viewer: Viewer, event: &TableEvent) -> Checked {
        let leak = match event {
            TableEvent::Hand { seat, event: H::HoleCardsDealt { cards, .. } } => {
                let own = seat.is_some_and(|s| viewer == Viewer::Seat(s));
                (!own && cards.as_slice().iter().any(Option::is_some))
                    .then(|| format!("{viewer:?} is sent the hole cards {cards} dealt to {seat:?}"))
            }
            TableEvent::HandStarted { hand, seed, salt, .. } => (seed.is_some() || salt.is_some())
                .then(|| format!("{viewer:?} is sent hand {}'s seed or salt before the reveal", hand.0)),
            TableEvent::Hand { event: H::HandStarted(setup), .. } => {
                setup.deck.is_some().then(|| format!("{viewer:?} is sent the deck"))
            }
            _ => None,
        };
        match leak {
            Some(detail) => breach(Invariant::HoleCardsHidden, detail),
            None => Ok(()),
        }
    }
}

/// Whether `x` lies strictly after `from` and strictly before `to`, walking forward around a
/// table of `n` seats; `to == from` is a whole lap.
fn strictly_between(from: usize, x: usize, to: usize, n: usize) -> bool {
    let dx = (x + n - from) % n;
    let dt = match (to + n - from) % n {
        0 => n,
        dt => dt,
    };
    dx > 0 && dx < dt
}

/// The button moved by the rules: positions go round the table from the seat after the
/// button; the big blind moved and skipped nobody dealt in; heads-up the button is the other
/// player and posts the small blind; otherwise button, small blind and big blind are three
/// seats in that order round the table.
fn check_button(prev: Option<Blinds>, (button, sb, bb): Blinds, seats: &SeatMap, t: &Table) -> Checked {
    let fail = |detail: String| breach(Invariant::ButtonMoves, detail);
    let n = t.config().map_or(MAX_SEATS, |c| c.seats as usize);
    let dealt = seats.as_slice();
    if !dealt.contains(&bb) {
        return fail(format!("the big blind {bb} is not dealt in ({dealt:?})"));
    }
    let mut last = button.idx();
    for (k, s) in dealt.iter().enumerate() {
        let d = (s.idx() + n - button.idx()) % n;
        let d_last = (last + n - button.idx()) % n;
        let wraps_to_button = d == 0 && k == dealt.len() - 1;
        if !(d > d_last || wraps_to_button) {
            return fail(format!("positions {dealt:?} do not go round from the button {button}"));
        }
        last = s.idx();
    }
    if let Some((_, _, prev_bb)) = prev {
        if bb == prev_bb {
            return fail(format!("the big blind stayed at {bb}"));
        }
        if let Some(s) = dealt.iter().find(|s| strictly_between(prev_bb.idx(), s.idx(), bb.idx(), n)) {
            return fail(format!("the big blind skipped {s}, dealt in, moving from {prev_bb} to {bb}"));
        }
    }
    if dealt.len() == 2 {
        if button != sb {
            return fail(format!("heads-up the button {button} does not post the small blind ({sb} does)"));
        }
        if dealt != [bb, button] {
            return fail(format!("heads-up positions {dealt:?} are not big blind {bb}, then button {button}"));
        }
        return Ok(());
    }
    if button == sb || sb == bb || bb == button || !strictly_between(button.idx(), sb.idx(), bb.idx(), n) {
        return fail(format!("button {button}, small blind {sb} and big blind {bb} are out of order"));
    }
    Ok(())
}

/// Sums a ledger over its players.
pub(crate) fn totals(ledger: &Ledger) -> Account {
    ledger
        .values()
        .fold(Account::default(), |sum, a| Account { brought: sum.brought + a.brought, taken: sum.taken + a.taken })
}
