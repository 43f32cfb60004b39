//! Compensation for a losing branch: what the hands and the money of a branch that lost a
//! reconciliation moved, per player, so that it can be voided ([`TableEvent::HandVoided`],
//! [`TableEvent::BranchVoided`]).
//!
//! When two nodes both ran a table from the same stream version, one branch is kept and the
//! other is void (`docs/RECONCILE.md`). The kept (canonical) table never saw the losing
//! branch's hands, so its stacks are already right; what a void needs is an exact account
//! of what the losing branch moved, so that read models can book each void hand's movement
//! with its reversal and a wallet can give back the money that crossed the table's edge
//! there. [`BranchTally`] folds the losing branch's events from the table at the start of
//! the range it voids and produces that account; it is pure, like the rest of the engine.
//!
//! The account is checked before anyone sees it: for every player, the chips at the end of
//! the range equal the chips at its start, plus buy-ins and top-ups, less cash-outs, plus
//! what the void hands awarded, less what they committed ([`TallyError::Unbalanced`]
//! otherwise).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{HandNo, PlayerId, Recorded, SeatIdx, Table, TableEvent, apply};
use crate::chips::Chips;
use crate::hand;
use crate::rules::Pos;

/// What one player moved in a void hand (within the voided range of its branch).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct VoidMove {
    /// The seat they played from.
    pub seat: SeatIdx,
    /// Who.
    pub player: PlayerId,
    /// Chips they put in: antes, blinds, calls, bets and raises.
    pub committed: Chips,
    /// Chips that came back to them: uncalled bets returned, pots awarded and pots returned.
    pub awarded: Chips,
}

/// Money that crossed the table's edge for one player at one seat in a voided range.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct EdgeVoid {
    /// The seat.
    pub seat: SeatIdx,
    /// Who.
    pub player: PlayerId,
    /// Buy-ins and top-ups (money in).
    pub bought_in: Chips,
    /// Cash-outs (money out).
    pub cashed_out: Chips,
}

impl EdgeVoid {
    /// What a wallet gives back to the player to undo this money: `bought_in − cashed_out`
    /// (negative: the player took more out than they brought, and the wallet reclaims it).
    #[must_use]
    pub fn wallet_refund(&self) -> i128 {
        i128::from(self.bought_in.0) - i128::from(self.cashed_out.0)
    }
}

/// One hand of a voided range: the hand that was running when the range starts (its part
/// after the start only), or one dealt in it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VoidedHand {
    /// The hand's number on its branch.
    pub hand: HandNo,
    /// Whether it ended inside the range.
    pub finished: bool,
    /// One move per player dealt in, in position order.
    pub moves: Vec<VoidMove>,
}

/// What a voided range moved: its hands and its money across the table's edge.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Tally {
    /// The hands, in the order they were dealt.
    pub hands: Vec<VoidedHand>,
    /// Money across the edge, one entry per player and seat, by player then seat.
    pub edge: Vec<EdgeVoid>,
    /// Events folded.
    pub events: u64,
    /// The branch's table at the end of the range.
    pub table: Table,
}

impl Tally {
    /// Hands that ended inside the range.
    #[must_use]
    pub fn finished_hands(&self) -> u64 {
        self.hands.iter().filter(|h| h.finished).count() as u64
    }

    /// The compensation events of the range, in order: one [`TableEvent::HandVoided`] per
    /// hand, then the [`TableEvent::BranchVoided`] that closes it. `branch` names the
    /// losing branch (its hash from the fork through `through`), `fork` is the stream
    /// version of the last event both branches hold, and `from..=through` the versions of
    /// the losing branch this compensation covers.
    #[must_use]
    pub fn compensation(&self, branch: [u8; 32], fork: u64, from: u64, through: u64) -> Vec<TableEvent> {
        let mut events: Vec<TableEvent> = self
            .hands
            .iter()
            .map(|h| TableEvent::HandVoided { hand: h.hand, branch, moves: h.moves.clone() })
            .collect();
        events.push(TableEvent::BranchVoided {
            fork,
            from,
            through,
            branch,
            hands: self.hands.len() as u64,
            edge: self.edge.clone(),
        });
        events
    }
}

/// Why a range cannot be tallied.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TallyError {
    /// A sum passed `u64::MAX` chips.
    #[error("{player} moved more than {} chips in the range", u64::MAX)]
    Overflow {
        /// Whose sum.
        player: PlayerId,
    },
    /// A hand event names a position nobody was dealt into.
    #[error("hand {hand}: an event names position {pos}, but {players} players are dealt in")]
    NoSuchPosition {
        /// The hand.
        hand: u64,
        /// The position named.
        pos: u8,
        /// Players dealt in.
        players: usize,
    },
    /// A player's chips at the end of the range are not their chips at its start plus what
    /// the events moved: the branch does not add up.
    #[error(
        "{player} has {end} chips at the end, but started with {start}, brought {bought_in}, took {cashed_out}, was awarded {awarded} and committed {committed}"
    )]
    Unbalanced {
        /// Who.
        player: PlayerId,
        /// Chips at the start.
        start: Chips,
        /// Chips at the end.
        end: Chips,
        /// Buy-ins and top-ups.
        bought_in: u128,
        /// Cash-outs.
        cashed_out: u128,
        /// Awarded in the range's hands.
        awarded: u128,
        /// Committed in the range's hands.
        committed: u128,
    },
}

/// A running hand's account.
#[derive(Clone, Debug)]
struct HandTally {
    hand: HandNo,
    moves: Vec<VoidMove>,
}

/// Folds the events of a range of a branch, from the branch's table at the start of the
/// range, into a [`Tally`].
#[derive(Clone, Debug)]
pub struct BranchTally {
    table: Table,
    start: BTreeMap<PlayerId, Chips>,
    running: Option<HandTally>,
    hands: Vec<VoidedHand>,
    edge: BTreeMap<(PlayerId, SeatIdx), (Chips, Chips)>,
    events: u64,
}

impl BranchTally {
    /// A tally of the events after `table` (the branch's table at the start of the range).
    /// A hand running there is counted from here on: what it moved before belongs to both
    /// branches.
    #[must_use]
    pub fn new(table: &Table) -> BranchTally {
        let running = table.in_hand().then(|| HandTally {
            hand: table.hand_no(),
            moves: table
                .positions()
                .as_slice()
                .iter()
                .map(|&seat| VoidMove {
                    seat,
                    player: table.seat(seat).map_or(PlayerId(0), |s| s.player),
                    committed: Chips::ZERO,
                    awarded: Chips::ZERO,
                })
                .collect(),
        });
        BranchTally {
            table: table.clone(),
            start: chips_by_player(table),
            running,
            hands: Vec::new(),
            edge: BTreeMap::new(),
            events: 0,
        }
    }

    /// Folds the next event of the range.
    ///
    /// # Errors
    /// [`TallyError::Overflow`], or [`TallyError::NoSuchPosition`] for a hand event that
    /// does not fit the hand.
    pub fn push(&mut self, recorded: &Recorded) -> Result<(), TallyError> {
        match &recorded.event {
            TableEvent::HandStarted { hand, seats, .. } => {
                if let Some(cut) = self.running.take() {
                    // A hand started before the last one ended: keep what was counted.
                    self.hands.push(VoidedHand { hand: cut.hand, finished: false, moves: cut.moves });
                }
                let moves = seats
                    .as_slice()
                    .iter()
                    .map(|&seat| VoidMove {
                        seat,
                        player: self.table.seat(seat).map_or(PlayerId(0), |s| s.player),
                        committed: Chips::ZERO,
                        awarded: Chips::ZERO,
                    })
                    .collect();
                self.running = Some(HandTally { hand: *hand, moves });
            }
            TableEvent::Hand { event, .. } => self.hand_event(event)?,
            TableEvent::BoughtIn { seat, player, amount, .. } | TableEvent::ToppedUp { seat, player, amount, .. } => {
                let e = self.edge.entry((*player, *seat)).or_insert((Chips::ZERO, Chips::ZERO));
                e.0 = e.0.checked_add(*amount).ok_or(TallyError::Overflow { player: *player })?;
            }
            TableEvent::CashedOut { seat, player, amount, .. } => {
                let e = self.edge.entry((*player, *seat)).or_insert((Chips::ZERO, Chips::ZERO));
                e.1 = e.1.checked_add(*amount).ok_or(TallyError::Overflow { player: *player })?;
            }
            _ => {}
        }
        apply(&mut self.table, recorded);
        self.events += 1;
        Ok(())
    }

    fn hand_event(&mut self, event: &hand::Event) -> Result<(), TallyError> {
        use hand::Event as E;
        let Some(running) = &mut self.running else { return Ok(()) };
        let (pos, amount, put_in) = match event {
            E::AntePosted { pos, amount } | E::BlindPosted { pos, amount, .. } | E::Called { pos, amount } => {
                (*pos, *amount, true)
            }
            E::BetOrRaised { pos, added, .. } => (*pos, *added, true),
            E::BetReturned { pos, amount } | E::PotAwarded { pos, amount, .. } | E::PotReturned { pos, amount, .. } => {
                (*pos, *amount, false)
            }
            E::HandEnded { .. } => {
                let done = self.running.take().expect("matched above");
                self.hands.push(VoidedHand { hand: done.hand, finished: true, moves: done.moves });
                return Ok(());
            }
            _ => return Ok(()),
        };
        let players = running.moves.len();
        let hand = running.hand.0;
        let m = running.moves.get_mut(Pos::idx(pos)).ok_or(TallyError::NoSuchPosition { hand, pos: pos.0, players })?;
        let sum = if put_in { &mut m.committed } else { &mut m.awarded };
        *sum = sum.checked_add(amount).ok_or(TallyError::Overflow { player: m.player })?;
        Ok(())
    }

    /// The account of the range, checked (see the module docs).
    ///
    /// # Errors
    /// [`TallyError::Unbalanced`] for a player whose chips do not add up.
    pub fn finish(mut self) -> Result<Tally, TallyError> {
        if let Some(cut) = self.running.take() {
            self.hands.push(VoidedHand { hand: cut.hand, finished: false, moves: cut.moves });
        }
        let end = chips_by_player(&self.table);
        #[derive(Default)]
        struct Flow {
            bought_in: u128,
            cashed_out: u128,
            awarded: u128,
            committed: u128,
        }
        let mut flows: BTreeMap<PlayerId, Flow> = BTreeMap::new();
        for (&(player, _), &(bought_in, cashed_out)) in &self.edge {
            let f = flows.entry(player).or_default();
            f.bought_in += u128::from(bought_in.0);
            f.cashed_out += u128::from(cashed_out.0);
        }
        for m in self.hands.iter().flat_map(|h| &h.moves) {
            let f = flows.entry(m.player).or_default();
            f.awarded += u128::from(m.awarded.0);
            f.committed += u128::from(m.committed.0);
        }
        let players: std::collections::BTreeSet<PlayerId> =
            self.start.keys().chain(end.keys()).chain(flows.keys()).copied().collect();
        for player in players {
            let start = self.start.get(&player).copied().unwrap_or(Chips::ZERO);
            let end = end.get(&player).copied().unwrap_or(Chips::ZERO);
            let f = flows.remove(&player).unwrap_or_default();
            let gained = u128::from(start.0) + f.bought_in + f.awarded;
            let lost = u128::from(end.0) + f.cashed_out + f.committed;
            if gained != lost {
                return Err(TallyError::Unbalanced {
                    player,
                    start,
                    end,
                    bought_in: f.bought_in,
                    cashed_out: f.cashed_out,
                    awarded: f.awarded,
                    committed: f.committed,
                });
            }
        }
        let edge = self
            .edge
            .into_iter()
            .map(|((player, seat), (bought_in, cashed_out))| EdgeVoid { seat, player, bought_in, cashed_out })
            .collect();
        Ok(Tally { hands: self.hands, edge, events: self.events, table: self.table })
    }
}

/// Every seated player's chips now: behind, while dealt into a hand (the pot is nobody's
/// yet); on the seat before the hand took them.
fn chips_by_player(table: &Table) -> BTreeMap<PlayerId, Chips> {
    let mut out = BTreeMap::new();
    for (i, seat) in table.seats().iter().enumerate() {
        if let Some(s) = seat {
            let chips = table.stack(SeatIdx(i as u8)).unwrap_or(Chips::ZERO);
            out.insert(s.player, chips);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{CommandEnvelope, CommandId, TableAction, TableCommand, TableConfig};

    /// A three-player table after `hands` scripted hands, with the events of each command.
    struct Script {
        table: Table,
        now: u64,
        id: u128,
        log: Vec<Recorded>,
    }

    impl Script {
        fn new() -> Script {
            let mut s = Script { table: Table::new(), now: 1_000, id: 0, log: Vec::new() };
            s.send(TableCommand::Open { config: TableConfig::no_limit_holdem(1, 2) });
            for seat in 0..3u8 {
                s.send(TableCommand::SitDown {
                    seat: SeatIdx(seat),
                    player: PlayerId(10 + u64::from(seat)),
                    buy_in: Chips(200),
                    wait_for_big_blind: false,
                });
            }
            s
        }

        fn send(&mut self, command: TableCommand) {
            self.id += 1;
            self.now += 100;
            let env = CommandEnvelope { id: CommandId(self.id), now_ms: self.now, command };
            let mut out = Vec::new();
            self.table.execute(&env, &mut out).unwrap_or_else(|e| panic!("{:?}: {e}", env.command));
            self.log.extend(out);
        }

        /// Deals a hand and plays it: the first to act raises, everyone calls.
        fn hand(&mut self, n: u8) {
            self.send(TableCommand::StartHand { seed: [n; 32], salt: [1; 32] });
            let mut first = true;
            while let Some(turn) = self.table.turn() {
                let player = self.table.seat(turn.seat).unwrap().player;
                let action = if first { TableAction::BetOrRaiseTo(Chips(6)) } else { TableAction::CheckOrCall };
                first = false;
                self.send(TableCommand::Act { player, action });
            }
        }
    }

    fn tally(from: &Table, events: &[Recorded]) -> Result<Tally, TallyError> {
        let mut t = BranchTally::new(from);
        for e in events {
            t.push(e)?;
        }
        t.finish()
    }

    #[test]
    fn a_range_of_whole_hands_is_counted_per_player_and_adds_up() {
        let mut s = Script::new();
        let fork = s.table.clone();
        let mark = s.log.len();
        s.hand(1);
        s.send(TableCommand::TopUp { player: PlayerId(10), amount: Chips(1) });
        s.hand(2);
        let t = tally(&fork, &s.log[mark..]).unwrap();
        assert_eq!(t.hands.len(), 2);
        assert_eq!(t.finished_hands(), 2);
        assert_eq!(t.table, s.table);
        for h in &t.hands {
            assert_eq!(h.moves.len(), 3);
            // Everyone called a raise to 6: six chips each went in; the pot came back out.
            assert!(h.moves.iter().all(|m| m.committed.0 >= 6), "{h:?}");
            let committed: u64 = h.moves.iter().map(|m| m.committed.0).sum();
            let awarded: u64 = h.moves.iter().map(|m| m.awarded.0).sum();
            assert_eq!(committed, awarded, "a finished hand gives back every chip put in");
        }
        assert_eq!(
            t.edge,
            vec![EdgeVoid { seat: SeatIdx(0), player: PlayerId(10), bought_in: Chips(1), cashed_out: Chips::ZERO }]
        );
        assert_eq!(t.edge[0].wallet_refund(), 1);
        let events = t.compensation([9; 32], 3, 4, 99);
        assert_eq!(events.len(), 3);
        assert!(matches!(events[2], TableEvent::BranchVoided { fork: 3, from: 4, through: 99, hands: 2, .. }));
    }

    #[test]
    fn a_hand_cut_by_the_range_counts_only_its_part_inside() {
        let mut s = Script::new();
        s.send(TableCommand::StartHand { seed: [5; 32], salt: [1; 32] });
        // The first to act raises: the range starts after that.
        let turn = s.table.turn().unwrap();
        let player = s.table.seat(turn.seat).unwrap().player;
        s.send(TableCommand::Act { player, action: TableAction::BetOrRaiseTo(Chips(6)) });
        let fork = s.table.clone();
        let mark = s.log.len();
        let turn = s.table.turn().unwrap();
        let caller = s.table.seat(turn.seat).unwrap().player;
        s.send(TableCommand::Act { player: caller, action: TableAction::CheckOrCall });
        let t = tally(&fork, &s.log[mark..]).unwrap();
        assert_eq!(t.hands.len(), 1);
        let h = &t.hands[0];
        assert!(!h.finished);
        assert_eq!(h.hand, HandNo(1));
        // Only the call is inside the range; the raise (and the blinds) belong to both branches.
        let by_player: BTreeMap<PlayerId, Chips> = h.moves.iter().map(|m| (m.player, m.committed)).collect();
        assert_eq!(by_player.values().filter(|c| !c.is_zero()).count(), 1, "{h:?}");
        assert!(by_player[&caller].0 >= 4, "{h:?}");
        assert!(by_player[&player].is_zero());
    }

    #[test]
    fn a_branch_that_does_not_add_up_is_refused() {
        let mut s = Script::new();
        let fork = s.table.clone();
        let mark = s.log.len();
        s.hand(1);
        let mut events = s.log[mark..].to_vec();
        // The hand's end names a stack one chip above what its events moved.
        let stacks = events
            .iter_mut()
            .find_map(|r| match &mut r.event {
                TableEvent::Hand { event: hand::Event::HandEnded { stacks }, .. } => Some(stacks),
                _ => None,
            })
            .unwrap();
        stacks[0] = Chips(stacks[0].0 + 1);
        let err = tally(&fork, &events).unwrap_err();
        assert!(matches!(err, TallyError::Unbalanced { .. }), "{err}");
        assert!(err.to_string().contains("chips at the end, but started with 200"), "{err}");
    }
}
