//! A property harness for hosts: proptest strategies that generate table sessions, and a
//! [`TableHarness`] that plays them against the engine and against your own code, checking
//! the table's invariants after every command. Behind the cargo feature `proptest`.
//!
//! A server wraps [`Table`] in its own code: it stores the events, projects ledgers and
//! views, pushes redacted feeds to players. Implement [`Host`] for that code and the harness
//! sends it every generated command beside its own copy of the engine, then checks:
//!
//! - the engine's invariants ([`Invariant`]): chips conserved across the table's edge, a
//!   refused command changes nothing, replaying the recorded events from empty gives an
//!   equal table, no view or redacted event shows a seat another seat's hole cards before
//!   they are shown, the button moves by the rules, the clock never goes back;
//! - that the host agrees with the engine: the same events or rejection, and, where the host
//!   offers them, the same feeds, views and ledger, none of which may leak hole cards or lose
//!   chips.
//!
//! The first broken invariant stops the run with a [`Violation`] naming it, the step and the
//! command; proptest then shrinks the [`Scenario`] to a short one that still breaks it.
//!
//! ```
//! use showdown_engine::table::{CommandEnvelope, Recorded, Table, TableEvent, TableRejection};
//! use showdown_engine::testing::{Host, Ledger, check, scenario};
//!
//! /// A server's table: the engine, and a ledger projected from the events it stored.
//! #[derive(Default)]
//! struct MyHost {
//!     table: Table,
//!     ledger: Ledger,
//! }
//!
//! impl Host for MyHost {
//!     fn handle(&mut self, command: &CommandEnvelope) -> Result<Vec<Recorded>, TableRejection> {
//!         let mut events = Vec::new();
//!         self.table.execute(command, &mut events)?;
//!         for r in &events {
//!             match r.event {
//!                 TableEvent::BoughtIn { player, amount, .. } | TableEvent::ToppedUp { player, amount, .. } => {
//!                     self.ledger.entry(player).or_default().brought += u128::from(amount.0);
//!                 }
//!                 TableEvent::CashedOut { player, amount, .. } => {
//!                     self.ledger.entry(player).or_default().taken += u128::from(amount.0);
//!                 }
//!                 _ => {}
//!             }
//!         }
//!         Ok(events)
//!     }
//!
//!     fn ledger(&self) -> Option<Ledger> {
//!         Some(self.ledger.clone())
//!     }
//! }
//!
//! let config = proptest::test_runner::Config { cases: 8, ..Default::default() };
//! if let Err(found) = check(config, scenario(), MyHost::default) {
//!     panic!("{found}");
//! }
//! ```
//!
//! Inside a `proptest!` block, a [`Violation`] (an error) becomes a test failure with `?`
//! (in a test module, mark the function `#[test]` rather than call it):
//!
//! ```
//! use proptest::prelude::*;
//! use showdown_engine::table::Table;
//! use showdown_engine::testing::{TableHarness, scenario};
//!
//! proptest! {
//!     #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]
//!     fn the_engine_keeps_its_invariants(s in scenario()) {
//!         TableHarness::new(Table::new()).run(&s)?;
//!     }
//! }
//! the_engine_keeps_its_invariants();
//! ```
//!
//! `examples/property_harness.rs` runs the harness on a toy host with a bug planted in it.

mod audit;
mod rng;
mod strategy;
#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) use audit::Auditor;
pub use rng::SplitMix;
pub use strategy::{
    Amount, Clock, Intent, Move, Scenario, Step, Who, any_chips, any_command, any_config, intent, scenario,
    scenario_from, step, valid_config,
};

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use crate::table::{
    CommandEnvelope, CommandId, PlayerId, Recorded, SCHEMA_VERSION, Table, TableCommand, TableRejection, TableView,
    Viewer, decide,
};
use audit::Breach;

/// The host time of the `Open` that starts every scenario.
const START_MS: u64 = 1_000;

/// The fewest shrink iterations [`check`] gives proptest: removing the steps of a scenario one
/// by one takes one iteration each.
pub const MIN_SHRINK_ITERS: u32 = 8_192;

/// The code under test: a host's handling of table commands. Only [`Host::handle`] is
/// required; return `Some` from the others to have the harness check what the host keeps.
pub trait Host {
    /// Handles one command as the server does (typically with [`Table::execute`]) and returns
    /// the events it recorded, or the rejection. The harness expects exactly the engine's.
    ///
    /// # Errors
    /// The rejection the host gives the sender.
    fn handle(&mut self, command: &CommandEnvelope) -> Result<Vec<Recorded>, TableRejection>;

    /// The events the host sent to `viewer` while handling the last command, or `None` if it
    /// keeps no feeds. Checked for leaks, then against the engine's events redacted for the
    /// viewer.
    fn feed(&mut self, viewer: Viewer) -> Option<Vec<Recorded>> {
        let _ = viewer;
        None
    }

    /// What the host shows `viewer` now (a cached view, say), or `None` if it keeps none.
    /// Checked for leaks, then against [`Table::view_for`].
    fn view(&self, viewer: Viewer) -> Option<TableView> {
        let _ = viewer;
        None
    }

    /// The host's ledger, or `None` if it keeps none. Its totals must equal the chips on the
    /// table, and each player's account the one projected from the engine's events.
    fn ledger(&self) -> Option<Ledger> {
        None
    }
}

/// The engine alone as a host: `TableHarness::new(Table::new())` checks only the engine.
impl Host for Table {
    fn handle(&mut self, command: &CommandEnvelope) -> Result<Vec<Recorded>, TableRejection> {
        let mut out = Vec::new();
        self.execute(command, &mut out)?;
        Ok(out)
    }
}

/// Money across the table's edge, per player, over a whole session.
pub type Ledger = BTreeMap<PlayerId, Account>;

/// One player's money across the table's edge. Sums are `u128` so that a session of
/// `u64::MAX` buy-ins cannot overflow them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Account {
    /// Chips brought onto the table: buy-ins and top-ups.
    pub brought: u128,
    /// Chips taken away: cash-outs.
    pub taken: u128,
}

/// The invariants the harness checks, in the order it checks them after a command.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Invariant {
    /// Neither the engine nor the host panics, whatever the command.
    NoPanic,
    /// A command whose `now_ms` is before the table's last event is refused with
    /// `ClockWentBack`, and only such a command.
    ClockNeverGoesBack,
    /// A refused command leaves the table as it was and records no event.
    RejectionChangesNothing,
    /// Every event records the schema version, the command's id and its `now_ms`.
    EventsRecordTheirCommand,
    /// Chips on the table equal buy-ins and top-ups less cash-outs: by the table's count, by
    /// a ledger projected from the money events, and by the host's ledger.
    ChipsConserved,
    /// The button, small blind and big blind move by the dead-button and heads-up rules.
    ButtonMoves,
    /// Replaying the recorded events from an empty table gives a table equal to the live
    /// one, and `decide` gives the events `execute` recorded.
    ReplayEqualsLive,
    /// No view, redacted event or host feed shows a seat another seat's hole cards before
    /// they are shown, nor anybody the deck or the seed before the reveal.
    HoleCardsHidden,
    /// The host's events, rejection, feeds, view and ledger are the engine's.
    HostAgrees,
}

impl std::fmt::Display for Invariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Invariant::NoPanic => "no panic",
            Invariant::ClockNeverGoesBack => "the clock never goes back",
            Invariant::RejectionChangesNothing => "a rejection changes nothing",
            Invariant::EventsRecordTheirCommand => "events record their command",
            Invariant::ChipsConserved => "chips conserved across the table's edge",
            Invariant::ButtonMoves => "the button moves by the rules",
            Invariant::ReplayEqualsLive => "the replay equals the live table",
            Invariant::HoleCardsHidden => "hole cards hidden until shown",
            Invariant::HostAgrees => "the host agrees with the engine",
        })
    }
}

/// An invariant that did not hold: which, at which step, after which command, and what was
/// seen. Step 0 is the scenario's `Open`; step `k` is `scenario.steps[k - 1]`.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("step {step} (command #{} at {} ms: {:?}): {invariant} is broken: {detail}", command.id.0, command.now_ms, command.command)]
#[non_exhaustive]
pub struct Violation {
    /// The invariant.
    pub invariant: Invariant,
    /// The step.
    pub step: usize,
    /// The command sent at that step (boxed: a configuration makes it large).
    pub command: Box<CommandEnvelope>,
    /// What was seen.
    pub detail: String,
}

/// A scenario that breaks an invariant, shrunk by proptest, and the violation it gives.
#[derive(Clone, Debug)]
pub struct Counterexample {
    /// The smallest failing scenario proptest found.
    pub scenario: Scenario,
    /// What broke.
    pub violation: Violation,
}

impl std::fmt::Display for Counterexample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "minimal failing scenario ({} steps):", self.scenario.steps.len())?;
        writeln!(f, "  step 0: Open {:?}", self.scenario.config)?;
        for (k, step) in self.scenario.steps.iter().enumerate() {
            writeln!(f, "  step {}: {:?} {:?}", k + 1, step.clock, step.intent)?;
        }
        let v = &self.violation;
        writeln!(f, "broken at step {}, sent as command #{} at {} ms:", v.step, v.command.id.0, v.command.now_ms)?;
        writeln!(f, "  {:?}", v.command.command)?;
        write!(f, "{}: {}", v.invariant, v.detail)
    }
}

/// Runs `config.cases` scenarios from `scenarios`, each on a fresh host from `new_host`, and
/// returns the shrunk counterexample if one breaks an invariant.
///
/// Failures are not persisted to files; set `config.rng_seed` for a reproducible run.
/// Scenarios are long, so shrinking gets at least [`MIN_SHRINK_ITERS`] iterations.
///
/// # Errors
/// The minimal [`Counterexample`] proptest found (boxed: it holds a configuration and a
/// command).
///
/// # Panics
/// If proptest gives up (a strategy that rejects too many values), or `new_host` panics:
/// bugs in the test rather than findings about the host.
pub fn check<H: Host>(
    config: Config,
    scenarios: impl Strategy<Value = Scenario>,
    new_host: impl Fn() -> H,
) -> Result<(), Box<Counterexample>> {
    let max_shrink_iters = config.max_shrink_iters().max(MIN_SHRINK_ITERS);
    let mut runner = TestRunner::new(Config { failure_persistence: None, max_shrink_iters, ..config });
    // The last failing run is the shrinker's minimal one: kept in case the host is not
    // deterministic and the minimal scenario passes when run again.
    let last = RefCell::new(None);
    let result = runner.run(&scenarios, |scenario| {
        let outcome = TableHarness::new(new_host()).run(&scenario);
        outcome.map_err(|violation| {
            let error = TestCaseError::fail(violation.to_string());
            *last.borrow_mut() = Some(violation);
            error
        })
    });
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, scenario)) => {
            let violation = TableHarness::new(new_host())
                .run(&scenario)
                .err()
                .or_else(|| last.take())
                .unwrap_or_else(|| panic!("the test failed outside the harness: {reason}"));
            Err(Box::new(Counterexample { scenario, violation }))
        }
        Err(TestError::Abort(reason)) => panic!("proptest gave up: {reason}"),
    }
}

/// Drives a [`Table`] and a [`Host`] with the same commands and checks every [`Invariant`]
/// after each one.
///
/// The harness keeps its own table (the reference), an auditor that replays the recorded
/// events into a mirror, the chips each player brought and took, the blinds of the last hand
/// and the cards shown in it.
#[derive(Debug)]
pub struct TableHarness<H> {
    host: H,
    table: Table,
    audit: audit::Auditor,
    log: Vec<Recorded>,
    /// Commands sent so far: the next one's step and id.
    sent: usize,
    /// The last command's `now_ms`.
    now_ms: u64,
    /// The last command.
    last: Option<CommandEnvelope>,
}

impl<H: Host> TableHarness<H> {
    /// A harness for this host, which has handled no command yet.
    #[must_use]
    pub fn new(host: H) -> TableHarness<H> {
        TableHarness {
            host,
            table: Table::new(),
            audit: audit::Auditor::default(),
            log: Vec::new(),
            sent: 0,
            now_ms: 0,
            last: None,
        }
    }

    /// Opens the table with the scenario's configuration, plays its steps, and finally
    /// replays every recorded event from empty once more. Call it on a new harness.
    ///
    /// # Errors
    /// The first [`Violation`].
    pub fn run(&mut self, scenario: &Scenario) -> Result<(), Violation> {
        self.send(START_MS, TableCommand::Open { config: scenario.config })?;
        for step in &scenario.steps {
            self.step(step)?;
        }
        let replayed = Table::replay(&self.log);
        if replayed != self.table {
            let detail = "replaying every recorded event from empty gives another table".to_owned();
            return Err(self.violation(Invariant::ReplayEqualsLive, detail));
        }
        Ok(())
    }

    /// Resolves one step against the table as it stands and sends it.
    ///
    /// # Errors
    /// The first [`Violation`].
    pub fn step(&mut self, step: &Step) -> Result<(), Violation> {
        let (now_ms, command) = step.resolve(&self.table, self.now_ms);
        self.send(now_ms, command)
    }

    /// Sends one command, at `now_ms`, to the engine and to the host, and checks every
    /// invariant.
    ///
    /// # Errors
    /// The first [`Violation`].
    pub fn send(&mut self, now_ms: u64, command: TableCommand) -> Result<(), Violation> {
        self.sent += 1;
        self.now_ms = now_ms;
        let env = CommandEnvelope { id: CommandId(self.sent as u128), now_ms, command };
        let checked = self.check(&env);
        self.last = Some(env);
        checked.map_err(|b| self.violation(b.invariant, b.detail))
    }

    /// The harness's table: the engine's state after the commands sent so far.
    #[must_use]
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The host.
    #[must_use]
    pub fn host(&self) -> &H {
        &self.host
    }

    /// Every event the engine recorded so far.
    #[must_use]
    pub fn events(&self) -> &[Recorded] {
        &self.log
    }

    fn violation(&self, invariant: Invariant, detail: String) -> Violation {
        let command = Box::new(self.last.clone().expect("a violation follows a command"));
        Violation { invariant, step: self.sent - 1, command, detail }
    }

    fn check(&mut self, env: &CommandEnvelope) -> Result<(), Breach> {
        let fail = |invariant, detail| Err(Breach { invariant, detail });
        let before = self.table.clone();
        let decided = no_panic("decide", || decide(&before, env))?;
        let mut out = Vec::new();
        let table = &mut self.table;
        let executed = no_panic("Table::execute", || table.execute(env, &mut out))?;
        let host = &mut self.host;
        let hosted = no_panic("the host", || host.handle(env))?;

        let went_back = env.now_ms < before.last_now_ms();
        if went_back != matches!(executed, Err(TableRejection::ClockWentBack { .. })) {
            let last = before.last_now_ms();
            return fail(
                Invariant::ClockNeverGoesBack,
                format!("now {} ms after {last} ms gave {executed:?}", env.now_ms),
            );
        }
        if let Err(rejection) = executed
            && (self.table != before || !out.is_empty())
        {
            return fail(Invariant::RejectionChangesNothing, format!("{rejection} changed the table"));
        }
        for r in &out {
            if (r.schema, r.command, r.now_ms) != (SCHEMA_VERSION, env.id, env.now_ms) {
                return fail(Invariant::EventsRecordTheirCommand, format!("{r:?}"));
            }
        }
        for r in &out {
            self.audit.record(r)?;
        }
        let engine = executed.map(|()| out);
        if decided != engine {
            return fail(Invariant::ReplayEqualsLive, format!("decide gave {decided:?}, execute {engine:?}"));
        }
        if self.audit.mirror != self.table {
            return fail(Invariant::ReplayEqualsLive, "the events replayed give another table".to_owned());
        }
        self.audit.check_views()?;
        self.check_host(&engine, hosted)?;
        if let Ok(events) = engine {
            self.log.extend(events);
        }
        Ok(())
    }

    /// The host's answer, feeds, views and ledger against the engine's.
    fn check_host(
        &mut self,
        engine: &Result<Vec<Recorded>, TableRejection>,
        hosted: Result<Vec<Recorded>, TableRejection>,
    ) -> Result<(), Breach> {
        let disagree = |detail| Err(Breach { invariant: Invariant::HostAgrees, detail });
        if &hosted != engine {
            return disagree(describe_difference(engine, &hosted));
        }
        let events = engine.as_deref().unwrap_or_default();
        for viewer in self.audit.viewers() {
            if let Some(feed) = self.host.feed(viewer) {
                for event in &feed {
                    self.audit.check_redacted(viewer, &event.event).map_err(|b| host_said(b, "the host's feed"))?;
                }
                let expected: Vec<Recorded> = events.iter().map(|r| r.redacted_for(viewer)).collect();
                if feed != expected {
                    return disagree(format!("the host sent {viewer:?} {feed:?}, not {expected:?}"));
                }
            }
            if let Some(view) = self.host.view(viewer) {
                self.audit.check_view(&view).map_err(|b| host_said(b, "the host's view"))?;
                let expected = self.table.view_for(viewer);
                if view != expected {
                    return disagree(format!("the host shows {viewer:?} {view:?}, not {expected:?}"));
                }
            }
        }
        if let Some(ledger) = self.host.ledger() {
            self.audit.check_ledger(&audit::totals(&ledger), "the host's ledger")?;
            let nonzero = |l: &Ledger| -> Ledger {
                l.iter().filter(|(_, a)| **a != Account::default()).map(|(p, a)| (*p, *a)).collect()
            };
            let (host, engine) = (nonzero(&ledger), nonzero(&self.audit.ledger));
            if host != engine {
                let player = host.keys().chain(engine.keys()).find(|p| host.get(p) != engine.get(p));
                let player = player.expect("the ledgers differ somewhere");
                return disagree(format!(
                    "the host's ledger has {player} at {:?}, the events at {:?}",
                    host.get(player),
                    engine.get(player)
                ));
            }
        }
        Ok(())
    }
}

/// Calls `f`, turning a panic into a [`Invariant::NoPanic`] breach.
fn no_panic<T>(who: &str, f: impl FnOnce() -> T) -> Result<T, Breach> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Breach { invariant: Invariant::NoPanic, detail: format!("{who} panicked: {message}") }
    })
}

/// Prefixes a breach found in what the host keeps with where it was found.
fn host_said(b: Breach, what: &str) -> Breach {
    Breach { invariant: b.invariant, detail: format!("{what}: {}", b.detail) }
}

/// Where the host's answer first differs from the engine's.
fn describe_difference(
    engine: &Result<Vec<Recorded>, TableRejection>,
    host: &Result<Vec<Recorded>, TableRejection>,
) -> String {
    match (engine, host) {
        (Ok(e), Ok(h)) => match e.iter().zip(h).position(|(a, b)| a != b) {
            Some(k) => format!("event {k}: the host recorded {:?}, the engine {:?}", h[k], e[k]),
            None => format!("the host recorded {} events, the engine {}", h.len(), e.len()),
        },
        _ => format!("the host answered {host:?}, the engine {engine:?}"),
    }
}
