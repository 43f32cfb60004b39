//! Given / when / then tests of single rules, each with the exact chips PokerKit 0.7.7
//! would give, and of bad input, each checking that the refused command changes nothing
//! and that its message names the numbers involved.
//!
//! Hands are built in replay style (cards dealt by commands) wherever the cards decide the
//! outcome, and with a seeded deck where they do not.

use showdown_engine::cards::{Card, parse_cards};
use showdown_engine::chips::Chips;
use showdown_engine::deck::Deck;
use showdown_engine::eval::{self, Category};
use showdown_engine::hand::{
    Cards, Command, Event, HandState, LegalActions, NoRaise, Phase, RaiseRange, Rejection, Show, Street, apply, decide,
    legal_actions,
};
use showdown_engine::phh::{PhhError, parse_phh};
use showdown_engine::pots::PosSet;
use showdown_engine::replay::{ReplayError, replay};
use showdown_engine::rules::{Forced, FreeFoldPolicy, HandSetup, MAX_PLAYERS, OddChipPolicy, Pos, Variant};

// ---------------------------------------------------------------------------------------
// Harness

fn chips(values: &[u64]) -> Vec<Chips> {
    values.iter().map(|&v| Chips(v)).collect()
}

fn cards(text: &str) -> Cards {
    Cards::new(&parse_cards(text).expect("test cards parse"))
}

/// A no-limit hold'em setup with blinds on the first positions; cards come by command.
fn nt(stacks: &[u64], blinds: &[u64]) -> HandSetup {
    HandSetup::new(Variant::no_limit_holdem(), &chips(stacks), Chips(*blinds.last().unwrap_or(&2)))
        .with_blinds(&chips(blinds))
}

/// One hand driven by commands: every accepted command's events are applied one at a time
/// and chip conservation is checked after each.
struct Table {
    state: HandState,
    events: Vec<Event>,
}

impl Table {
    fn start(setup: HandSetup) -> Table {
        let mut table = Table { state: HandState::new(), events: Vec::new() };
        table.send(Command::start(setup));
        table
    }

    /// Starts a hand dealt from a fixed deck: for rules where the cards do not matter.
    fn start_dealt(mut setup: HandSetup) -> Table {
        setup.deck = Some(Deck::shuffled([42; 32]));
        Table::start(setup)
    }

    #[track_caller]
    fn send(&mut self, command: Command) -> Vec<Event> {
        let events = match decide(&self.state, &command) {
            Ok(events) => events,
            Err(rejection) => panic!("{command:?} refused: {rejection}"),
        };
        for event in &events {
            apply(&mut self.state, event);
            assert!(self.state.chips_conserved(), "chips not conserved after {event:?}");
        }
        self.events.extend(events.iter().cloned());
        events
    }

    /// Sends a command that must be refused; checks that neither the state nor the legal
    /// actions changed.
    #[track_caller]
    fn refuse(&self, command: Command) -> Rejection {
        let before = self.state.clone();
        let legal_before = legal_actions(&self.state);
        let rejection = match decide(&self.state, &command) {
            Ok(events) => panic!("{command:?} accepted: {events:?}"),
            Err(rejection) => rejection,
        };
        assert_eq!(self.state, before, "a refused command changed the state");
        assert_eq!(legal_actions(&self.state), legal_before, "a refused command changed the legal actions");
        rejection
    }

    #[track_caller]
    fn legal(&self) -> LegalActions {
        legal_actions(&self.state).expect("someone is to act")
    }

    #[track_caller]
    fn actor(&self) -> Pos {
        self.state.actor().expect("someone is to act")
    }

    #[track_caller]
    fn raise_range(&self) -> RaiseRange {
        self.legal().raise.expect("a raise is allowed")
    }

    #[track_caller]
    fn cc(&mut self, p: u8) -> Vec<Event> {
        self.send(Command::CheckOrCall { pos: Pos(p) })
    }

    #[track_caller]
    fn fold(&mut self, p: u8) -> Vec<Event> {
        self.send(Command::Fold { pos: Pos(p) })
    }

    #[track_caller]
    fn raise(&mut self, p: u8, to: u64) -> Vec<Event> {
        self.send(Command::BetOrRaiseTo { pos: Pos(p), to: Chips(to) })
    }

    #[track_caller]
    fn hole(&mut self, holes: &[&str]) {
        for (p, text) in holes.iter().enumerate() {
            self.send(Command::DealHole { pos: Pos(p as u8), cards: cards(text) });
        }
    }

    #[track_caller]
    fn board(&mut self, text: &str) -> Vec<Event> {
        self.send(Command::DealBoard { cards: cards(text) })
    }

    fn stacks(&self) -> Vec<u64> {
        self.state.stacks().iter().map(|c| c.0).collect()
    }

    fn bets(&self) -> Vec<u64> {
        self.state.bets().iter().map(|c| c.0).collect()
    }

    fn awards(&self) -> Vec<(u8, u8, u64)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::PotAwarded { pot, pos, amount, .. } => Some((*pot, pos.0, amount.0)),
                _ => None,
            })
            .collect()
    }

    fn returned(&self) -> Vec<(u8, u64)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::BetReturned { pos, amount } => Some((pos.0, amount.0)),
                _ => None,
            })
            .collect()
    }
}

fn blinds_posted(events: &[Event]) -> Vec<(u8, u64, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::BlindPosted { pos, amount, post } => Some((pos.0, amount.0, *post)),
            _ => None,
        })
        .collect()
}

fn antes_posted(events: &[Event]) -> Vec<(u8, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::AntePosted { pos, amount } => Some((pos.0, amount.0)),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Heads-up

#[test]
fn heads_up_p1_posts_the_big_blind_and_the_button_acts_first_preflop() {
    // Given blinds [1, 2] heads-up (PokerKit reverses the list: p1 is the big blind).
    let t = Table::start_dealt(nt(&[100, 100], &[1, 2]));
    // Then p1 posted 2, p2 (the button) posted 1 and acts first, owing 1.
    assert_eq!(blinds_posted(&t.events), vec![(0, 2, false), (1, 1, false)]);
    assert_eq!(t.bets(), vec![2, 1]);
    assert_eq!(t.actor(), Pos(1));
    assert_eq!(t.legal().call, Chips(1));
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(4), max: Chips(100) });
}

#[test]
fn heads_up_the_big_blind_acts_first_after_the_flop() {
    let mut t = Table::start_dealt(nt(&[100, 100], &[1, 2]));
    t.cc(1);
    // The big blind has the option pre-flop: checking is free.
    assert_eq!(t.actor(), Pos(0));
    assert_eq!(t.legal().call, Chips(0));
    t.cc(0);
    assert_eq!(t.state.street(), Some(Street::Flop));
    assert_eq!(t.state.board().len(), 3);
    assert_eq!(t.actor(), Pos(0), "p1, out of position, opens every street after the flop");
    assert_eq!(t.stacks(), vec![98, 98]);
    t.cc(0);
    assert_eq!(t.actor(), Pos(1));
}

// ---------------------------------------------------------------------------------------
// Minimum raise

#[test]
fn the_minimum_reraise_is_the_last_full_raise() {
    // Given blinds 1/2, p3 opens to 6: a raise of 4.
    let mut t = Table::start_dealt(nt(&[100, 100, 100], &[1, 2]));
    assert_eq!(t.actor(), Pos(2));
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(4), max: Chips(100) });
    t.raise(2, 6);
    // Then p1's minimum re-raise is to 6 + 4 = 10; 9 is refused.
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(10), max: Chips(100) });
    let r = t.refuse(Command::BetOrRaiseTo { pos: Pos(0), to: Chips(9) });
    assert_eq!(r, Rejection::BelowMinimum { to: Chips(9), min: Chips(10) });
    assert_eq!(r.to_string(), "raise to 9 is below the minimum raise-to 10");
    // When p1 raises to 20 (a raise of 14), p2's minimum is 20 + 14 = 34.
    t.raise(0, 20);
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(34), max: Chips(100) });
}

#[test]
fn a_raise_below_the_minimum_names_both_amounts() {
    let t = Table::start_dealt(nt(&[10_000, 10_000, 10_000], &[50, 100]));
    let r = t.refuse(Command::BetOrRaiseTo { pos: Pos(2), to: Chips(150) });
    assert_eq!(r, Rejection::BelowMinimum { to: Chips(150), min: Chips(200) });
    assert!(r.to_string().contains("raise to 150 is below the minimum raise-to 200"), "{r}");
}

#[test]
fn the_first_bet_after_the_flop_is_at_least_the_minimum_bet() {
    let mut t = Table::start_dealt(nt(&[100, 100, 100], &[1, 2]));
    t.cc(2);
    t.cc(0);
    t.cc(1);
    assert_eq!(t.state.street(), Some(Street::Flop));
    assert_eq!(t.actor(), Pos(0));
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(2), max: Chips(98) });
    let r = t.refuse(Command::BetOrRaiseTo { pos: Pos(0), to: Chips(1) });
    assert_eq!(r, Rejection::BelowMinimum { to: Chips(1), min: Chips(2) });
}

#[test]
fn a_stack_short_of_the_minimum_raise_may_still_go_all_in() {
    // p3 has 3 chips: the minimum raise-to (4) is cut to the stack.
    let mut t = Table::start_dealt(nt(&[100, 100, 3], &[1, 2]));
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(3), max: Chips(3) });
    t.raise(2, 3);
    // PokerKit counts the first raise of a round as full whatever its size (the last raise
    // starts at 0): p1 may raise to 3 + max(1, min_bet 2) = 5.
    assert_eq!(t.legal().call, Chips(2));
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(5), max: Chips(100) });
}

#[test]
fn a_stack_that_only_covers_a_call_cannot_raise() {
    // p1 has 1 chip behind the small blind and owes exactly 1.
    let mut t = Table::start_dealt(nt(&[2, 100, 100], &[1, 2]));
    t.cc(2);
    assert_eq!(t.actor(), Pos(0));
    assert_eq!(t.legal().call, Chips(1));
    assert_eq!(t.legal().raise, Err(NoRaise::CoveredByCall));
    // Facing a raise it cannot call in full, the short stack is refused a raise first for
    // the short call (PokerKit checks in this order).
    let mut t = Table::start_dealt(nt(&[3, 100, 100], &[1, 2]));
    t.raise(2, 10);
    assert_eq!(t.legal().call, Chips(2));
    assert_eq!(t.legal().raise, Err(NoRaise::ShortAllIn));
}

// ---------------------------------------------------------------------------------------
// Short all-in raises

/// Blinds 5/10; p3 opens to 100 (a raise of 90); p1 (150 in all) raises all in to 150,
/// 50 short of a full raise.
fn short_all_in_preflop() -> Table {
    let mut t = Table::start_dealt(nt(&[150, 1000, 1000], &[5, 10]));
    t.raise(2, 100);
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(150), max: Chips(150) });
    t.raise(0, 150);
    t
}

#[test]
fn a_player_who_has_not_acted_may_raise_over_a_short_all_in() {
    let t = short_all_in_preflop();
    // p2 (the big blind) has not acted: a raise is open, by at least the last full raise
    // (90) over the all-in: 150 + 90 = 240.
    assert_eq!(t.actor(), Pos(1));
    assert_eq!(t.legal().call, Chips(140));
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(240), max: Chips(1000) });
}

#[test]
fn a_short_all_in_does_not_reopen_the_betting_for_a_player_who_acted() {
    let mut t = short_all_in_preflop();
    t.cc(1);
    // p3 raised to 100 and faces 50 more, less than the full raise of 90: call or fold.
    assert_eq!(t.actor(), Pos(2));
    let legal = t.legal();
    assert_eq!(legal.call, Chips(50));
    assert!(legal.can_fold);
    assert_eq!(legal.raise, Err(NoRaise::ShortAllIn));
    let r = t.refuse(Command::BetOrRaiseTo { pos: Pos(2), to: Chips(300) });
    assert_eq!(r, Rejection::CannotRaise { pos: Pos(2), reason: NoRaise::ShortAllIn });
    assert!(r.to_string().contains("p3"), "{r}");
    // The call closes the round: everyone but p2 and p3 is all in, the board runs.
    t.cc(2);
    assert_eq!(t.stacks()[1..], [850, 850]);
}

#[test]
fn two_short_all_ins_that_add_up_to_a_full_raise_reopen_the_betting() {
    // Blinds 5/10, everyone in for 30; on the flop p1 bets 100; p4 raises all in to 150
    // (+50) and p5 all in to 210 (+60): 110 >= 100, so p1 may raise again, to at least
    // 210 + 100 = 310. (Hand 1 of tests/data/extra/harsh.phhs, checked with PokerKit.)
    let mut t = Table::start_dealt(nt(&[1000, 1000, 1000, 180, 240], &[5, 10]));
    t.raise(2, 30);
    for p in [3, 4, 0, 1] {
        t.cc(p);
    }
    assert_eq!(t.state.street(), Some(Street::Flop));
    t.raise(0, 100);
    t.cc(1);
    t.cc(2);
    t.raise(3, 150);
    assert_eq!(t.legal().raise, Ok(RaiseRange { min: Chips(210), max: Chips(210) }));
    t.raise(4, 210);
    assert_eq!(t.actor(), Pos(0));
    assert_eq!(t.legal().call, Chips(110));
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(310), max: Chips(970) });
}

#[test]
fn a_player_who_acted_cannot_raise_when_the_last_short_all_ins_fall_short() {
    // PokerKit's "already acted" check (harsh.phhs hand 30, checked with PokerKit 0.7.7).
    // Blinds 5/10; p3 opens to 20, p4 raises to 735 (a full raise of 715), p5 folds.
    let mut t = Table::start_dealt(nt(&[990, 1640, 1940, 2740, 2420], &[5, 10]));
    t.raise(2, 20);
    t.raise(3, 735);
    t.fold(4);
    // p1 all in to 990 (+255) and p2 all in to 1640 (+650): short each, but together a full
    // raise, which clears PokerKit's list of consecutive short all-ins.
    t.raise(0, 990);
    t.raise(1, 1640);
    // p3 all in to 1940 (+300): a new list of short all-ins, 300 < 715.
    t.raise(2, 1940);
    // p4 owes 1205 (more than a full raise) but already acted, and the short all-ins since
    // the list was cleared (300) are not a full raise: call or fold only.
    assert_eq!(t.actor(), Pos(3));
    assert_eq!(t.legal().call, Chips(1205));
    assert_eq!(t.legal().raise, Err(NoRaise::AlreadyActed));
    let r = t.refuse(Command::BetOrRaiseTo { pos: Pos(3), to: Chips(2740) });
    assert_eq!(r, Rejection::CannotRaise { pos: Pos(3), reason: NoRaise::AlreadyActed });
    assert_eq!(
        r.to_string(),
        "p4 cannot bet or raise now: the player already acted and faces only all-ins short of a full raise"
    );
}

#[test]
fn one_short_all_in_does_not_reopen_after_the_flop_either() {
    // The same, but p5 only calls p4's short all-in: p1 faces 50 < 100.
    let mut t = Table::start_dealt(nt(&[1000, 1000, 1000, 180, 240], &[5, 10]));
    t.raise(2, 30);
    for p in [3, 4, 0, 1] {
        t.cc(p);
    }
    t.raise(0, 100);
    t.cc(1);
    t.cc(2);
    t.raise(3, 150);
    t.cc(4);
    assert_eq!(t.actor(), Pos(0));
    assert_eq!(t.legal().raise, Err(NoRaise::ShortAllIn));
    assert_eq!(
        t.refuse(Command::BetOrRaiseTo { pos: Pos(0), to: Chips(400) }),
        Rejection::CannotRaise { pos: Pos(0), reason: NoRaise::ShortAllIn }
    );
}

// ---------------------------------------------------------------------------------------
// Pot limit

fn po(stacks: &[u64], blinds: &[u64]) -> HandSetup {
    HandSetup::new(Variant::pot_limit_omaha(), &chips(stacks), Chips(2)).with_blinds(&chips(blinds))
}

#[test]
fn pot_limit_first_to_act_may_raise_to_seven_with_blinds_one_two() {
    // Pot-limit maximum raise-to = 2 * largest bet - own bet + every chip in the middle
    // (PokerKit's pot_completion_betting_or_raising_to_amount): 2*2 - 0 + 3 = 7.
    let t = Table::start_dealt(po(&[1000, 1000, 1000], &[1, 2]));
    assert_eq!(t.actor(), Pos(2));
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(4), max: Chips(7) });
    let r = t.refuse(Command::BetOrRaiseTo { pos: Pos(2), to: Chips(8) });
    assert_eq!(r, Rejection::AboveMaximum { to: Chips(8), max: Chips(7) });
    assert_eq!(r.to_string(), "raise to 8 is above the maximum raise-to 7");
}

#[test]
fn pot_limit_after_a_pot_raise() {
    // p3 raises the pot to 7; p1 (1 in): 2*7 - 1 + (1 + 2 + 7) = 23 (call 6, pot 16, raise 16).
    let mut t = Table::start_dealt(po(&[1000, 1000, 1000], &[1, 2]));
    t.raise(2, 7);
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(12), max: Chips(23) });
    // p1 calls; p2 (2 in): 2*7 - 2 + (7 + 2 + 7) = 28 (call 5, pot 21, raise 21).
    t.cc(0);
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(12), max: Chips(28) });
}

#[test]
fn pot_limit_after_a_limp() {
    // p3 calls 2; p1 (1 in): 2*2 - 1 + (1 + 2 + 2) = 8.
    let mut t = Table::start_dealt(po(&[1000, 1000, 1000], &[1, 2]));
    t.cc(2);
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(4), max: Chips(8) });
    assert_eq!(
        t.refuse(Command::BetOrRaiseTo { pos: Pos(0), to: Chips(9) }),
        Rejection::AboveMaximum { to: Chips(9), max: Chips(8) }
    );
}

#[test]
fn pot_limit_first_bet_after_the_flop_is_at_most_the_pot() {
    let mut t = Table::start_dealt(po(&[1000, 1000, 1000], &[1, 2]));
    t.raise(2, 7);
    t.cc(0);
    t.cc(1);
    assert_eq!(t.state.street(), Some(Street::Flop));
    // Pot 21, nothing bet: 2*0 - 0 + 21.
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(2), max: Chips(21) });
    t.raise(0, 21);
    // p2 faces 21 into a pot of 42: 2*21 - 0 + 42 = 84.
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(42), max: Chips(84) });
}

#[test]
fn pot_limit_maximum_is_cut_to_the_stack() {
    let t = Table::start_dealt(po(&[1000, 1000, 6], &[1, 2]));
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(4), max: Chips(6) });
}

// ---------------------------------------------------------------------------------------
// Fixed limit

fn ft(stacks: &[u64]) -> HandSetup {
    HandSetup::new(Variant::fixed_limit_holdem(Chips(2), Chips(4)), &chips(stacks), Chips(2))
        .with_blinds(&chips(&[1, 2]))
}

#[test]
fn fixed_limit_preflop_raises_go_to_4_6_8_10_then_the_street_is_capped() {
    let mut t = Table::start_dealt(ft(&[100, 100, 100]));
    for (p, to) in [(2, 4), (0, 6), (1, 8), (2, 10)] {
        assert_eq!(t.actor(), Pos(p));
        assert_eq!(t.raise_range(), RaiseRange { min: Chips(to), max: Chips(to) }, "raise by p{}", p + 1);
        t.raise(p, to);
    }
    assert_eq!(t.actor(), Pos(0));
    assert_eq!(t.legal().call, Chips(4));
    assert_eq!(t.legal().raise, Err(NoRaise::Capped { cap: 4 }));
    let r = t.refuse(Command::BetOrRaiseTo { pos: Pos(0), to: Chips(12) });
    assert_eq!(r, Rejection::CannotRaise { pos: Pos(0), reason: NoRaise::Capped { cap: 4 } });
    assert!(r.to_string().contains("4 bets and raises"), "{r}");
}

#[test]
fn fixed_limit_refuses_any_other_size() {
    let mut t = Table::start_dealt(ft(&[100, 100, 100]));
    t.raise(2, 4);
    assert_eq!(
        t.refuse(Command::BetOrRaiseTo { pos: Pos(0), to: Chips(5) }),
        Rejection::BelowMinimum { to: Chips(5), min: Chips(6) }
    );
    assert_eq!(
        t.refuse(Command::BetOrRaiseTo { pos: Pos(0), to: Chips(7) }),
        Rejection::AboveMaximum { to: Chips(7), max: Chips(6) }
    );
}

#[test]
fn fixed_limit_uses_the_small_bet_on_the_flop_and_the_big_bet_on_the_turn_and_river() {
    let mut t = Table::start_dealt(ft(&[100, 100, 100]));
    t.cc(2);
    t.cc(0);
    t.cc(1);
    assert_eq!(t.state.street(), Some(Street::Flop));
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(2), max: Chips(2) });
    t.raise(0, 2);
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(4), max: Chips(4) });
    t.cc(1);
    t.cc(2);
    assert_eq!(t.state.street(), Some(Street::Turn));
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(4), max: Chips(4) });
    t.raise(0, 4);
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(8), max: Chips(8) });
    t.raise(1, 8);
    t.cc(2);
    t.cc(0);
    assert_eq!(t.state.street(), Some(Street::River));
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(4), max: Chips(4) });
    assert_eq!(t.stacks(), vec![88, 88, 88]);
}

#[test]
fn fixed_limit_after_the_flop_allows_four_bets_and_raises() {
    let mut t = Table::start_dealt(ft(&[100, 100, 100]));
    t.cc(2);
    t.cc(0);
    t.cc(1);
    for (p, to) in [(0, 2), (1, 4), (2, 6), (0, 8)] {
        t.raise(p, to);
    }
    assert_eq!(t.legal().raise, Err(NoRaise::Capped { cap: 4 }));
}

// ---------------------------------------------------------------------------------------
// Side pots, uncalled bets

#[test]
fn three_all_ins_of_different_sizes_make_three_pots_each_won_exactly() {
    // Stacks 50, 100, 200, 1000; p3 shoves 200, p4 calls, p1 and p2 call all in.
    let mut t = Table::start(nt(&[50, 100, 200, 1000], &[1, 2]));
    t.hole(&["AsAh", "KsKh", "QsQh", "7c2d"]);
    t.raise(2, 200);
    t.cc(3);
    t.cc(0);
    t.cc(1);
    // Everyone is all in but p4: the board runs out with no more betting.
    assert_eq!(t.state.actor(), None);
    t.board("3c4d8h");
    t.board("9s");
    t.board("Jc");
    assert_eq!(t.state.phase(), Phase::Complete);
    let pots: Vec<(u8, u64, PosSet)> = t
        .events
        .iter()
        .filter_map(|e| match e {
            Event::PotFormed { pot, amount, contenders } => Some((*pot, amount.0, *contenders)),
            _ => None,
        })
        .collect();
    // p4's seven high cannot win any pot: killed before the pots are formed. Main pot
    // 4 * 50, side pots 3 * 50 and 2 * 100.
    assert!(t.events.contains(&Event::HandKilled { pos: Pos(3) }));
    assert_eq!(pots, vec![(0, 200, PosSet(0b0111)), (1, 150, PosSet(0b0110)), (2, 200, PosSet(0b0100))]);
    assert_eq!(t.awards(), vec![(0, 0, 200), (1, 1, 150), (2, 2, 200)]);
    assert_eq!(t.stacks(), vec![200, 150, 200, 800]);
}

#[test]
fn an_uncalled_raise_goes_back_when_everyone_folds() {
    let mut t = Table::start_dealt(nt(&[100, 100, 100], &[1, 2]));
    t.raise(2, 50);
    t.fold(0);
    let events = t.fold(1);
    // The 48 nobody called returns; p3 wins the blinds and the 2 matched.
    assert!(events.contains(&Event::BetReturned { pos: Pos(2), amount: Chips(48) }), "{events:?}");
    assert_eq!(t.returned(), vec![(2, 48)]);
    assert_eq!(t.awards(), vec![(0, 2, 5)]);
    assert_eq!(t.stacks(), vec![99, 98, 103]);
    assert_eq!(t.state.phase(), Phase::Complete);
}

#[test]
fn the_part_of_an_all_in_the_shorter_stack_cannot_call_goes_back() {
    // Heads-up: p2 (the button, 1000) shoves; p1 (the big blind, 300) calls all in.
    let mut t = Table::start(nt(&[300, 1000], &[5, 10]));
    t.hole(&["AsAh", "KsKh"]);
    t.raise(1, 1000);
    t.cc(0);
    // p2's 700 over p1's 300 goes back when the bets are collected.
    assert_eq!(t.returned(), vec![(1, 700)]);
    assert_eq!(t.state.middle(), Chips(600));
    t.board("2c7d9h");
    t.board("3s");
    t.board("4d");
    assert_eq!(t.stacks(), vec![600, 700]);
}

// ---------------------------------------------------------------------------------------
// Antes

#[test]
fn antes_are_posted_and_collected_before_the_blinds() {
    let t = Table::start_dealt(nt(&[100, 100, 100], &[1, 2]).with_ante(Chips(1)));
    assert_eq!(antes_posted(&t.events), vec![(0, 1), (1, 1), (2, 1)]);
    let collected =
        t.events.iter().position(|e| *e == Event::StreetClosed { street: None, collected: Chips(3), all_in: false });
    let first_blind = t.events.iter().position(|e| matches!(e, Event::BlindPosted { .. }));
    assert!(collected.is_some() && collected < first_blind, "{:?}", t.events);
    assert_eq!(t.stacks(), vec![98, 97, 99]);
    assert_eq!(t.state.middle(), Chips(6));
}

#[test]
fn a_big_blind_ante_is_an_ante_on_one_position() {
    let mut setup = nt(&[100, 100, 100, 100], &[1, 2]);
    setup.antes[1] = Chips(2);
    let t = Table::start_dealt(setup);
    assert_eq!(antes_posted(&t.events), vec![(1, 2)]);
    assert_eq!(t.stacks(), vec![99, 96, 100, 100]);
    assert_eq!(t.actor(), Pos(2));
    assert_eq!(t.legal().call, Chips(2));
}

#[test]
fn heads_up_a_single_ante_entry_on_p2_is_paid_by_p1_the_big_blind() {
    // PokerKit reverses the ante list heads-up, as it does the blinds (harsh.phhs hand 12).
    let mut setup = nt(&[200, 200], &[5, 10]);
    setup.antes[1] = Chips(5);
    let t = Table::start_dealt(setup);
    assert_eq!(antes_posted(&t.events), vec![(0, 5)]);
    assert_eq!(t.stacks(), vec![185, 195]);
}

/// Blinds 5/10, antes 10; p3 is all in on the ante with 6 chips and holds the best hand;
/// p1 and p2 check it down and p1 beats p2.
fn short_ante_hand(ante_trimming: bool) -> Table {
    let mut setup = nt(&[1000, 1000, 6], &[5, 10]).with_ante(Chips(10));
    setup.ante_trimming = ante_trimming;
    let mut t = Table::start(setup);
    t.hole(&["KsKh", "QsQh", "AsAh"]);
    assert_eq!(t.actor(), Pos(0), "p3 is all in: the small blind opens");
    t.cc(0);
    t.cc(1);
    t.board("2c7d9h");
    t.cc(0);
    t.cc(1);
    t.board("3s");
    t.cc(0);
    t.cc(1);
    t.board("4d");
    t.cc(0);
    t.cc(1);
    assert_eq!(t.state.phase(), Phase::Complete);
    t
}

#[test]
fn untrimmed_antes_all_go_to_the_main_pot_even_from_a_short_stack() {
    // The main pot holds every ante (10 + 10 + 6) and p3 contests it: p3 wins 26.
    let t = short_ante_hand(false);
    assert_eq!(t.awards(), vec![(0, 2, 26), (1, 0, 20)]);
    assert_eq!(t.stacks(), vec![1000, 980, 26]);
}

#[test]
fn trimmed_antes_count_as_contributions_and_form_side_pots() {
    // p3's 6 matches 6 from each other ante: a main pot of 18; the other 8 go to the side.
    let t = short_ante_hand(true);
    assert_eq!(t.awards(), vec![(0, 2, 18), (1, 0, 28)]);
    assert_eq!(t.stacks(), vec![1008, 980, 18]);
}

#[test]
fn trimmed_antes_return_the_part_nobody_matched() {
    // Heads-up, p1 (the big blind) has 6 for an ante of 10: 4 of p2's ante goes back.
    let mut setup = nt(&[6, 1000], &[5, 10]).with_ante(Chips(10));
    setup.ante_trimming = true;
    let mut t = Table::start(setup);
    assert_eq!(t.returned(), vec![(1, 4)]);
    t.hole(&["AsAh", "KsKh"]);
    t.board("2c7d9h");
    t.board("3s");
    t.board("4d");
    assert_eq!(t.stacks(), vec![12, 994]);

    let mut setup = nt(&[6, 1000], &[5, 10]).with_ante(Chips(10));
    setup.ante_trimming = false;
    let mut t = Table::start(setup);
    t.hole(&["AsAh", "KsKh"]);
    t.board("2c7d9h");
    t.board("3s");
    t.board("4d");
    assert_eq!(t.stacks(), vec![16, 990]);
}

// ---------------------------------------------------------------------------------------
// Straddles and posts

#[test]
fn a_straddle_opens_the_action_after_it() {
    let t = Table::start_dealt(nt(&[100; 5], &[1, 2]));
    assert_eq!(t.actor(), Pos(2));
    let mut setup = nt(&[100; 5], &[1, 2, 4]);
    setup.min_bet = Chips(2);
    let t = Table::start_dealt(setup);
    assert_eq!(t.actor(), Pos(3));
    assert_eq!(t.legal().call, Chips(4));
    // PokerKit: the largest bet plus max(last raise = 0, min_bet = 2).
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(6), max: Chips(100) });
}

#[test]
fn a_short_straddle_still_opens_after_the_largest_blind() {
    // p3 straddles all in for 3 of 4 (harsh.phhs hand 7).
    let mut setup = nt(&[100, 100, 3, 100, 100, 100], &[1, 2, 4]);
    setup.min_bet = Chips(2);
    let t = Table::start_dealt(setup);
    assert_eq!(blinds_posted(&t.events), vec![(0, 1, false), (1, 2, false), (2, 3, false)]);
    assert_eq!(t.actor(), Pos(3));
    assert_eq!(t.legal().call, Chips(3));
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(5), max: Chips(100) });
}

#[test]
fn a_live_post_does_not_decide_who_opens() {
    let mut setup = nt(&[100; 5], &[1, 2]);
    setup.forced[3] = Forced::Post(Chips(2));
    let mut t = Table::start_dealt(setup);
    assert_eq!(blinds_posted(&t.events), vec![(0, 1, false), (1, 2, false), (3, 2, true)]);
    assert_eq!(t.actor(), Pos(2), "the player after the big blind opens, not the one after the post");
    // The poster's bet is live: when the action reaches p4, checking is free.
    t.cc(2);
    assert_eq!(t.actor(), Pos(3));
    assert_eq!(t.legal().call, Chips(0));
    assert_eq!(t.raise_range(), RaiseRange { min: Chips(4), max: Chips(100) });

    // The same amount as a blind (a straddle) would open after p4.
    let mut setup = nt(&[100; 5], &[1, 2]);
    setup.forced[3] = Forced::Blind(Chips(2));
    let t = Table::start_dealt(setup);
    assert_eq!(t.actor(), Pos(4));
}

#[test]
fn with_posts_only_the_opener_follows_the_smallest_post() {
    // PokerKit's opener follows the largest key (bet * sign(entry), position): posts
    // [-2, -1, -2] give keys -2, -1, -2, so p3 (after p2) opens.
    let mut setup = nt(&[100; 3], &[]);
    setup.forced[0] = Forced::Post(Chips(2));
    setup.forced[1] = Forced::Post(Chips(1));
    setup.forced[2] = Forced::Post(Chips(2));
    let t = Table::start_dealt(setup);
    assert_eq!(t.actor(), Pos(2));
    assert_eq!(t.legal().call, Chips(0));
}

#[test]
fn a_posts_only_hand_replays_as_pokerkit_does() {
    // PokerKit 0.7.7 replays this without a repair and ends with [98, 98, 104].
    let text = r#"
variant = "NT"
antes = [0, 0, 0]
blinds_or_straddles = [-2, -1, -2]
min_bet = 2
starting_stacks = [100, 100, 100]
actions = ["d dh p1 AsKs", "d dh p2 QdQc", "d dh p3 7h2c", "p3 cc", "p1 cc", "p2 cc",
  "d db 2s3s4d", "p1 cc", "p2 cc", "p3 cbr 2", "p1 f", "p2 f"]
"#;
    let r = replay(&parse_phh(text).expect("reads")).expect("replays");
    assert_eq!(r.state.stacks(), &chips(&[98, 98, 104])[..]);
}

// ---------------------------------------------------------------------------------------
// Odd chips

/// Four players each put 2 in pre-flop; on the flop p2 bets 2, p3 and p4 call, p1 folds:
/// a pot of 14 split three ways on a royal flush board.
fn three_way_tie(policy: OddChipPolicy) -> Table {
    let mut setup = nt(&[100; 4], &[1, 2]);
    setup.odd_chips = policy;
    let mut t = Table::start(setup);
    t.hole(&["2c3c", "4d5d", "4h5h", "6d7d"]);
    t.cc(2);
    t.cc(3);
    t.cc(0);
    t.cc(1);
    t.board("AsKsQs");
    t.cc(0);
    t.raise(1, 2);
    t.cc(2);
    t.cc(3);
    t.fold(0);
    t.board("Js");
    for p in 1..4 {
        t.cc(p);
    }
    t.board("Ts");
    for p in 1..4 {
        t.cc(p);
    }
    assert_eq!(t.state.phase(), Phase::Complete);
    t
}

#[test]
fn odd_chips_go_to_the_first_winner_in_phh_order() {
    // 14 = 3 * 4 + 2: both odd chips to p2, the first winner after the button.
    let t = three_way_tie(OddChipPolicy::FirstInPhhOrder);
    assert_eq!(t.awards(), vec![(0, 1, 6), (0, 2, 4), (0, 3, 4)]);
    assert_eq!(t.stacks(), vec![98, 102, 100, 100]);
}

#[test]
fn round_robin_odd_chips_go_one_each_from_the_first_winner() {
    let t = three_way_tie(OddChipPolicy::RoundRobinFromFirst);
    assert_eq!(t.awards(), vec![(0, 1, 5), (0, 2, 5), (0, 3, 4)]);
    assert_eq!(t.stacks(), vec![98, 101, 101, 100]);
}

// ---------------------------------------------------------------------------------------
// Free folds and pots nobody contests

#[test]
fn folding_when_checking_is_free_is_refused_by_default() {
    let mut t = Table::start_dealt(nt(&[100; 3], &[1, 2]));
    t.cc(2);
    t.cc(0);
    assert_eq!(t.actor(), Pos(1));
    assert!(!t.legal().can_fold);
    let r = t.refuse(Command::Fold { pos: Pos(1) });
    assert_eq!(r, Rejection::FreeFold { pos: Pos(1) });
    assert!(r.to_string().contains("p2"), "{r}");
}

#[test]
fn folding_when_checking_is_free_is_accepted_where_the_table_allows_it() {
    let mut setup = nt(&[100; 3], &[1, 2]);
    setup.free_fold = FreeFoldPolicy::Allow;
    let mut t = Table::start_dealt(setup);
    t.cc(2);
    t.cc(0);
    assert!(t.legal().can_fold);
    assert_eq!(t.fold(1)[0], Event::Folded { pos: Pos(1) });
}

#[test]
fn a_pot_whose_every_contender_folded_goes_back_to_who_put_it_in() {
    // p1 (100) is all in; p2 and p3 each put 400 in; after the flop both fold for free.
    // PokerKit would burn the 600 side pot; the engine returns 300 to each.
    let mut setup = nt(&[100, 500, 500], &[1, 2]);
    setup.free_fold = FreeFoldPolicy::Allow;
    let mut t = Table::start(setup);
    t.hole(&["7c2d", "AsAh", "KsKh"]);
    t.raise(2, 400);
    t.cc(0);
    t.cc(1);
    t.board("2c3d4h");
    assert_eq!(t.actor(), Pos(1));
    t.fold(1);
    t.fold(2);
    assert_eq!(t.state.phase(), Phase::Complete);
    assert_eq!(t.awards(), vec![(0, 0, 300)]);
    let returned: Vec<_> = t
        .events
        .iter()
        .filter_map(|e| match e {
            Event::PotReturned { pot, pos, amount } => Some((*pot, pos.0, amount.0)),
            _ => None,
        })
        .collect();
    assert_eq!(returned, vec![(1, 1, 300), (1, 2, 300)]);
    assert_eq!(t.stacks(), vec![300, 400, 400]);
    assert_eq!(t.stacks().iter().sum::<u64>(), 1100);
}

// ---------------------------------------------------------------------------------------
// Omaha

#[test]
fn omaha_uses_exactly_two_hole_cards() {
    // Four hearts on the board and the ten of hearts in p1's hand would be a royal flush
    // in hold'em; in Omaha p1 has ace high and p2's pair of nines wins.
    let mut t = Table::start(po(&[100, 100], &[1, 2]));
    t.hole(&["Th3s4d5c", "9s9d8c7c"]);
    t.cc(1);
    t.cc(0);
    t.board("AhKhQh");
    t.cc(0);
    t.cc(1);
    t.board("Jh");
    t.cc(0);
    t.cc(1);
    t.board("2c");
    t.cc(0);
    t.cc(1);
    assert_eq!(t.state.phase(), Phase::Complete);
    // Both show; p1's hand cannot win and is killed (PokerKit's hand killing).
    assert!(t.events.contains(&Event::HandKilled { pos: Pos(0) }), "{:?}", t.events);
    assert_eq!(t.awards(), vec![(0, 1, 4)]);
    assert_eq!(t.stacks(), vec![98, 102]);
    // The evaluator agrees: two of p1's cards and three of the board make ace high only.
    let c = |text: &str| -> Vec<Card> { parse_cards(text).unwrap().into_iter().map(Option::unwrap).collect() };
    let board = c("AhKhQhJh2c");
    assert_eq!(eval::best_omaha(&c("Th3s4d5c"), &board).category(), Category::HighCard);
    assert_eq!(eval::best_omaha(&c("9s9d8c7c"), &board).category(), Category::Pair);
    assert_eq!(eval::best_holdem(&c("Th3s"), &board).category(), Category::StraightFlush);
}

// ---------------------------------------------------------------------------------------
// Bad input: refused, nothing changes, the message names the numbers

#[test]
fn acting_out_of_turn_is_refused() {
    let t = Table::start_dealt(nt(&[100; 3], &[1, 2]));
    let r = t.refuse(Command::CheckOrCall { pos: Pos(0) });
    assert_eq!(r, Rejection::NotYourTurn { pos: Pos(0), actor: Pos(2) });
    assert_eq!(r.to_string(), "it is p3's turn, not p1's");
    assert_eq!(
        t.refuse(Command::BetOrRaiseTo { pos: Pos(1), to: Chips(10) }),
        Rejection::NotYourTurn { pos: Pos(1), actor: Pos(2) }
    );
    assert_eq!(t.refuse(Command::Fold { pos: Pos(1) }), Rejection::NotYourTurn { pos: Pos(1), actor: Pos(2) });
}

#[test]
fn a_bet_of_zero_is_refused() {
    let t = Table::start_dealt(nt(&[100; 3], &[1, 2]));
    let r = t.refuse(Command::BetOrRaiseTo { pos: Pos(2), to: Chips(0) });
    assert_eq!(r, Rejection::ZeroAmount);
    assert!(r.to_string().contains("zero"), "{r}");
}

#[test]
fn a_raise_above_the_stack_is_refused() {
    let t = Table::start_dealt(nt(&[100; 3], &[1, 2]));
    let r = t.refuse(Command::BetOrRaiseTo { pos: Pos(2), to: Chips(150) });
    assert_eq!(r, Rejection::AboveStack { pos: Pos(2), to: Chips(150), max: Chips(100) });
    assert_eq!(r.to_string(), "raise to 150 is more than p3 has: at most 100 (stack plus bet)");
}

#[test]
fn a_raise_to_u64_max_is_refused_without_overflow() {
    for setup in [nt(&[100; 3], &[1, 2]), po(&[100; 3], &[1, 2]), ft(&[100; 3])] {
        let t = Table::start_dealt(setup);
        let r = t.refuse(Command::BetOrRaiseTo { pos: Pos(2), to: Chips(u64::MAX) });
        assert!(
            matches!(r, Rejection::AboveStack { to: Chips(u64::MAX), .. } | Rejection::AboveMaximum { .. }),
            "{r:?}"
        );
        assert!(r.to_string().contains(&u64::MAX.to_string()), "{r}");
    }
    // A stack so large that the minimum raise-to overflows: still a clean answer.
    let half = u64::MAX / 2;
    let t = Table::start_dealt(nt(&[half, half], &[1, 2]));
    let r = t.refuse(Command::BetOrRaiseTo { pos: Pos(1), to: Chips(u64::MAX) });
    assert_eq!(r, Rejection::AboveStack { pos: Pos(1), to: Chips(u64::MAX), max: Chips(half) });
}

#[test]
fn a_position_beyond_the_players_is_refused() {
    let t = Table::start_dealt(nt(&[100; 3], &[1, 2]));
    for pos in [Pos(3), Pos(9), Pos(200)] {
        let r = t.refuse(Command::CheckOrCall { pos });
        assert_eq!(r, Rejection::NoSuchPosition { pos, players: 3 });
        assert_eq!(r.to_string(), format!("p{} is not in this hand of 3 players", pos.0 as u16 + 1));
    }
    let r = t.refuse(Command::ShowOrMuck { pos: Pos(7), show: Show::Muck });
    assert_eq!(r, Rejection::NoSuchPosition { pos: Pos(7), players: 3 });
}

#[test]
fn a_card_dealt_twice_is_refused() {
    let mut t = Table::start(nt(&[100; 3], &[1, 2]));
    t.send(Command::DealHole { pos: Pos(0), cards: cards("AsKs") });
    let r = t.refuse(Command::DealHole { pos: Pos(1), cards: cards("AsQd") });
    assert_eq!(r, Rejection::DuplicateCard { card: parse_cards("As").unwrap()[0].unwrap() });
    assert_eq!(r.to_string(), "card As is already dealt: every card comes from one deck");
    // Twice in the same command.
    let r = t.refuse(Command::DealHole { pos: Pos(1), cards: cards("QdQd") });
    assert!(r.to_string().contains("Qd"), "{r}");
    t.send(Command::DealHole { pos: Pos(1), cards: cards("2c2d") });
    t.send(Command::DealHole { pos: Pos(2), cards: cards("3c3d") });
    t.cc(2);
    t.cc(0);
    t.cc(1);
    let r = t.refuse(Command::DealBoard { cards: cards("Ks4h5h") });
    assert!(r.to_string().contains("Ks"), "{r}");
    let r = t.refuse(Command::DealBoard { cards: cards("4h5h4h") });
    assert!(r.to_string().contains("4h"), "{r}");
}

#[test]
fn a_wrong_number_of_cards_is_refused() {
    let mut t = Table::start(nt(&[100; 3], &[1, 2]));
    let r = t.refuse(Command::DealHole { pos: Pos(0), cards: cards("AsKsQs") });
    assert_eq!(r, Rejection::WrongHoleCount { pos: Pos(0), owed: 2, count: 3 });
    assert_eq!(r.to_string(), "p1 is owed 2 hole cards, not 3");
    let r = t.refuse(Command::DealBoard { cards: cards("AsKsQs") });
    assert!(matches!(r, Rejection::NotDealing { .. }), "{r:?}");
    t.hole(&["AsKs", "2c2d", "3c3d"]);
    t.cc(2);
    t.cc(0);
    t.cc(1);
    let r = t.refuse(Command::DealBoard { cards: cards("4h5h6h7h") });
    assert_eq!(r, Rejection::WrongBoardCount { owed: 3, count: 4 });
    assert_eq!(r.to_string(), "3 board cards are to be dealt, not 4");
}

#[test]
fn a_command_before_start_is_refused() {
    let t = Table { state: HandState::new(), events: Vec::new() };
    for command in [
        Command::CheckOrCall { pos: Pos(0) },
        Command::DealBoard { cards: cards("AsKsQs") },
        Command::ShowOrMuck { pos: Pos(0), show: Show::All },
    ] {
        let r = t.refuse(command);
        assert_eq!(r, Rejection::NotStarted);
        assert!(r.to_string().contains("Start"), "{r}");
    }
}

#[test]
fn start_twice_is_refused() {
    let t = Table::start_dealt(nt(&[100; 3], &[1, 2]));
    let r = t.refuse(Command::start(nt(&[100; 3], &[1, 2])));
    assert_eq!(r, Rejection::AlreadyStarted);
}

#[test]
fn a_setup_with_one_or_eleven_players_is_refused() {
    let t = Table { state: HandState::new(), events: Vec::new() };
    let r = t.refuse(Command::start(nt(&[100], &[1, 2])));
    assert_eq!(r, Rejection::PlayerCount { players: 1, max: 10 });
    assert_eq!(r.to_string(), "a hand needs 2 to 10 players, not 1");
    let eleven = nt(&[100; 11], &[1, 2]);
    assert_eq!(eleven.players, 11);
    let r = t.refuse(Command::start(eleven));
    assert_eq!(r, Rejection::PlayerCount { players: 11, max: MAX_PLAYERS as u8 });
    assert_eq!(r.to_string(), "a hand needs 2 to 10 players, not 11");
}

#[test]
fn a_zero_minimum_bet_is_refused() {
    let t = Table { state: HandState::new(), events: Vec::new() };
    let mut setup = nt(&[100; 3], &[1, 2]);
    setup.min_bet = Chips(0);
    assert_eq!(t.refuse(Command::start(setup)), Rejection::ZeroMinimumBet);
    let setup = HandSetup::new(Variant::fixed_limit_holdem(Chips(2), Chips(0)), &chips(&[100; 3]), Chips(2));
    assert_eq!(t.refuse(Command::start(setup)), Rejection::ZeroMinimumBet);
}

#[test]
fn a_zero_stack_is_refused() {
    let t = Table { state: HandState::new(), events: Vec::new() };
    let r = t.refuse(Command::start(nt(&[100, 0, 100], &[1, 2])));
    assert_eq!(r, Rejection::EmptyStack { pos: Pos(1) });
    assert!(r.to_string().starts_with("p2 starts with no chips"), "{r}");
}

#[test]
fn stacks_that_overflow_together_are_refused() {
    let t = Table { state: HandState::new(), events: Vec::new() };
    let r = t.refuse(Command::start(nt(&[u64::MAX, 1], &[1, 2])));
    assert_eq!(r, Rejection::ChipsOverflow { max: u64::MAX });
    assert!(r.to_string().contains(&u64::MAX.to_string()), "{r}");
}

#[test]
fn betting_when_nobody_is_to_act_is_refused() {
    let t = Table::start(nt(&[100; 3], &[1, 2]));
    let r = t.refuse(Command::CheckOrCall { pos: Pos(2) });
    assert_eq!(r, Rejection::NotBetting { phase: Phase::Dealing });
    assert!(r.to_string().contains("dealt"), "{r}");
}

#[test]
fn a_muck_after_the_hand_is_refused_but_a_voluntary_show_is_not() {
    let mut t = Table::start_dealt(nt(&[100; 3], &[1, 2]));
    t.fold(2);
    t.fold(0);
    assert_eq!(t.state.phase(), Phase::Complete);
    assert_eq!(t.refuse(Command::ShowOrMuck { pos: Pos(1), show: Show::Muck }), Rejection::HandOver);
    let before = t.state.clone();
    let events = t.send(Command::ShowOrMuck { pos: Pos(1), show: Show::All });
    assert!(matches!(events[..], [Event::CardsShown { pos: Pos(1), voluntary: true, .. }]), "{events:?}");
    assert_eq!(t.state, before, "a voluntary show changes nothing");
}

// ---------------------------------------------------------------------------------------
// PHH and replays

const SMALL_HAND: &str = r#"
variant = "NT"
antes = [0, 0, 0]
blinds_or_straddles = [1, 2, 0]
min_bet = 2
starting_stacks = [100, 100, 100]
actions = ["d dh p1 AsKs", "d dh p2 QdQc", "d dh p3 7h2c", "p3 cbr 3", "p1 f", "p2 f"]
"#;

#[test]
fn a_file_that_is_not_toml_gives_a_clear_error() {
    let e = parse_phh("variant = \"NT\"\nthis is not toml\n").unwrap_err();
    assert!(matches!(e, PhhError::NotToml { line: 2, .. }), "{e:?}");
    assert!(e.to_string().starts_with("not TOML: line 2, column "), "{e}");
}

#[test]
fn a_malformed_card_gives_a_clear_error() {
    let text = SMALL_HAND.replace("d dh p2 QdQc", "d dh p2 QxQc");
    let e = parse_phh(&text).unwrap_err();
    assert!(matches!(e, PhhError::BadCard { index: 1, .. }), "{e:?}");
    let message = e.to_string();
    assert!(message.contains("actions[1]") && message.contains("QxQc"), "{message}");
}

#[test]
fn a_variant_the_engine_does_not_play_is_reported() {
    // Short-deck hold'em: PHH reads it (sixes to aces), the engine does not play it.
    let text = SMALL_HAND.replace("variant = \"NT\"", "variant = \"NS\"").replace("7h2c", "7h6c");
    let hand = parse_phh(&text).expect("NS reads as PHH");
    let e = replay(&hand).unwrap_err();
    assert_eq!(e, ReplayError::UnsupportedVariant("NS".to_owned()));
    assert!(e.to_string().contains("\"NS\""), "{e}");
}

#[test]
fn an_illegal_action_names_its_index_and_text() {
    let hand = parse_phh(SMALL_HAND).expect("reads");
    let e = replay(&hand).unwrap_err();
    assert_eq!(
        e,
        ReplayError::Action {
            index: 3,
            text: "p3 cbr 3".to_owned(),
            rejection: Rejection::BelowMinimum { to: Chips(3), min: Chips(4) },
        }
    );
    assert_eq!(e.to_string(), "action 3 'p3 cbr 3': raise to 3 is below the minimum raise-to 4");
}

#[test]
fn the_small_hand_replays_once_the_raise_is_legal() {
    let hand = parse_phh(&SMALL_HAND.replace("p3 cbr 3", "p3 cbr 4")).expect("reads");
    let r = replay(&hand).expect("replays");
    assert_eq!(r.state.stacks(), &chips(&[99, 98, 103])[..]);
    assert!(r.state.chips_conserved());
}
