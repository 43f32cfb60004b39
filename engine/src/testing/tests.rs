//! The harness on the engine itself, what its strategies reach, and that it catches hosts
//! that leak hole cards, lose chips or disagree with the engine.

use proptest::test_runner::{Config, RngSeed};

use super::*;
use crate::hand::Event as H;
use crate::table::TableEvent;

fn config(cases: u32, seed: u64) -> Config {
    Config { cases, rng_seed: RngSeed::Fixed(seed), ..Config::default() }
}

/// Cases per run: fewer in debug builds, where the engine is slower.
fn cases(release: u32) -> u32 {
    if cfg!(debug_assertions) { release / 4 } else { release }
}

#[test]
fn testing_the_engine_keeps_every_invariant_on_valid_configs() {
    if let Err(found) = check(config(cases(256), 1), scenario(), Table::new) {
        panic!("{found}");
    }
}

/// Any configuration, valid or not: invalid ones must be refused cleanly, valid ones with
/// amounts up to the limits (`TableConfig::MAX_BUY_IN_LIMIT`, `MAX_TABLE_CHIPS`) played
/// without overflow (a maximum buy-in near `u64::MAX` used to overflow the table's totals).
#[test]
fn testing_the_engine_keeps_every_invariant_on_any_config() {
    if let Err(found) = check(config(cases(256), 2), scenario_from(any_config(), 1..=60), Table::new) {
        panic!("{found}");
    }
}

/// What the generated scenarios reach, counted over a fixed set of them.
#[derive(Default, Debug)]
struct Reach {
    hands: u32,
    hands_ended: u32,
    showdowns: u32,
    cards_shown: u32,
    raises: u32,
    timeouts: u32,
    queued_leaves: u32,
    top_ups: u32,
    cash_outs: u32,
    missed_blinds: u32,
    clock_went_back: u32,
    refused: u32,
    why: std::collections::BTreeMap<String, u32>,
}

#[test]
fn testing_scenarios_reach_every_part_of_the_table() {
    use proptest::strategy::ValueTree;
    let mut runner = TestRunner::new(config(64, 3));
    let mut reach = Reach::default();
    for _ in 0..64 {
        let scenario = scenario().new_tree(&mut runner).expect("a scenario").current();
        let mut harness = TableHarness::new(Table::new());
        harness.send(START_MS, TableCommand::Open { config: scenario.config }).expect("the engine holds");
        for step in &scenario.steps {
            let (now_ms, command) = step.resolve(harness.table(), harness.now_ms);
            let refused = harness
                .table()
                .clone()
                .execute(&CommandEnvelope { id: CommandId(0), now_ms, command: command.clone() }, &mut Vec::new());
            match refused {
                Err(TableRejection::ClockWentBack { .. }) => reach.clock_went_back += 1,
                Err(e) => {
                    reach.refused += 1;
                    let name = format!("{e:?}");
                    let name = name.split([' ', '(', '{']).next().unwrap_or_default().to_owned();
                    *reach.why.entry(name).or_default() += 1;
                }
                Ok(()) => {}
            }
            harness.send(now_ms, command).expect("the engine holds");
        }
        for r in harness.events() {
            match &r.event {
                TableEvent::HandStarted { .. } => reach.hands += 1,
                TableEvent::Hand { event: H::HandEnded { .. }, .. } => reach.hands_ended += 1,
                TableEvent::Hand { event: H::ShowdownStarted { .. }, .. } => reach.showdowns += 1,
                TableEvent::Hand { event: H::CardsShown { .. }, .. } => reach.cards_shown += 1,
                TableEvent::Hand { event: H::BetOrRaised { .. }, .. } => reach.raises += 1,
                TableEvent::ActedFor { reason: crate::table::ActedForReason::TimedOut, .. } => reach.timeouts += 1,
                TableEvent::LeaveQueued { .. } => reach.queued_leaves += 1,
                TableEvent::ToppedUp { .. } => reach.top_ups += 1,
                TableEvent::CashedOut { .. } => reach.cash_outs += 1,
                TableEvent::BlindsMissed { .. } => reach.missed_blinds += 1,
                _ => {}
            }
        }
    }
    eprintln!("{reach:?}");
    let r = &reach;
    for (name, count) in [
        ("hands", r.hands),
        ("hands ended", r.hands_ended),
        ("showdowns", r.showdowns),
        ("cards shown", r.cards_shown),
        ("raises", r.raises),
        ("timeouts", r.timeouts),
        ("queued leaves", r.queued_leaves),
        ("top-ups", r.top_ups),
        ("cash-outs", r.cash_outs),
        ("missed blinds", r.missed_blinds),
        ("clocks that went back", r.clock_went_back),
        ("refusals", r.refused),
    ] {
        assert!(count > 0, "64 scenarios reached no {name}: {reach:?}");
    }
}

/// A host wrapping the engine, with one thing wrong in it.
struct Faulty {
    table: Table,
    fault: Fault,
    /// The events of the last command.
    last: Vec<Recorded>,
    ledger: Ledger,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    /// Its view shows every seat's hole cards.
    LeakyView,
    /// It sends every viewer the events unredacted.
    UnredactedFeed,
    /// Its ledger counts each buy-in twice.
    DoubleCountedBuyIn,
    /// It refuses top-ups of more than 100 chips with another rejection.
    WrongRejection,
}

impl Faulty {
    fn new(fault: Fault) -> Faulty {
        Faulty { table: Table::new(), fault, last: Vec::new(), ledger: Ledger::new() }
    }
}

impl Host for Faulty {
    fn handle(&mut self, command: &CommandEnvelope) -> Result<Vec<Recorded>, TableRejection> {
        self.last.clear();
        if self.fault == Fault::WrongRejection
            && let TableCommand::TopUp { player, amount } = command.command
            && amount.0 > 100
            && self.table.seat_of(player).is_some()
        {
            return Err(TableRejection::ZeroTopUp);
        }
        self.table.execute(command, &mut self.last)?;
        for r in &self.last {
            match r.event {
                TableEvent::BoughtIn { player, amount, .. } => {
                    let times = if self.fault == Fault::DoubleCountedBuyIn { 2 } else { 1 };
                    self.ledger.entry(player).or_default().brought += times * u128::from(amount.0);
                }
                TableEvent::ToppedUp { player, amount, .. } => {
                    self.ledger.entry(player).or_default().brought += u128::from(amount.0);
                }
                TableEvent::CashedOut { player, amount, .. } => {
                    self.ledger.entry(player).or_default().taken += u128::from(amount.0);
                }
                _ => {}
            }
        }
        Ok(self.last.clone())
    }

    fn feed(&mut self, viewer: Viewer) -> Option<Vec<Recorded>> {
        let unredacted = self.fault == Fault::UnredactedFeed;
        Some(self.last.iter().map(|r| if unredacted { r.clone() } else { r.redacted_for(viewer) }).collect())
    }

    fn view(&self, viewer: Viewer) -> Option<TableView> {
        let mut view = self.table.view_for(viewer);
        if self.fault == Fault::LeakyView && self.table.in_hand() {
            for (i, seat) in view.seats.iter_mut().enumerate() {
                let pos = self.table.positions().position(crate::table::SeatIdx(i as u8));
                if let (Some(seat), Some(pos)) = (seat, pos) {
                    seat.hole_cards = crate::hand::Cards::new(self.table.hand().hole_cards(pos));
                }
            }
        }
        Some(view)
    }

    fn ledger(&self) -> Option<Ledger> {
        Some(self.ledger.clone())
    }
}

#[test]
fn testing_the_harness_finds_what_a_faulty_host_gets_wrong() {
    let cases = [
        (Fault::LeakyView, Invariant::HoleCardsHidden),
        (Fault::UnredactedFeed, Invariant::HoleCardsHidden),
        (Fault::DoubleCountedBuyIn, Invariant::ChipsConserved),
        (Fault::WrongRejection, Invariant::HostAgrees),
    ];
    for (fault, invariant) in cases {
        let found = check(config(64, 4), scenario(), || Faulty::new(fault)).expect_err("the fault is found");
        eprintln!("{fault:?}: {found}\n");
        assert_eq!(found.violation.invariant, invariant, "{fault:?}: {found}");
        assert!(found.scenario.steps.len() <= 6, "{fault:?} shrinks to a few steps: {found}");
    }
}
