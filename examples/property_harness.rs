//! A server author tests their own table host with the engine's property harness.
//!
//! The toy host below is what a server keeps around a table: it runs each command through
//! `Table::execute`, projects a chip ledger per player from the events, and caches the
//! spectator view it serves to the rail. `showdown_engine::testing::check` generates
//! scenarios (configurations, seatings, hands, top-ups, timeouts, bad commands), plays each
//! one against the host and the engine, and shrinks the first one that breaks an invariant.
//!
//! ```sh
//! cargo run --release --example property_harness                 # every invariant holds
//! cargo run --release --example property_harness -- --plant-bug  # the ledger forgets top-ups
//! ```
//!
//! Options: `--cases N` (default 256), `--seed N` (the proptest seed, default fixed so that a
//! run can be repeated). With `--plant-bug` the example exits 0 when the harness finds the
//! bug and 1 when it does not; without it, 0 when every invariant held.

use std::process::ExitCode;

use proptest::test_runner::{Config, RngSeed};
use showdown_engine::table::{CommandEnvelope, Recorded, Table, TableEvent, TableRejection, TableView, Viewer};
use showdown_engine::testing::{Counterexample, Host, Ledger, check, scenario};

/// Scenarios per run.
pub const CASES: u32 = 256;

/// The proptest seed of a run.
pub const SEED: u64 = 0x5eed;

/// The host under test: the table, a ledger and a cached spectator view.
pub struct ToyHost {
    table: Table,
    ledger: Ledger,
    spectator: TableView,
    /// Forget top-ups in the ledger: the bug the harness should find.
    plant_bug: bool,
}

impl ToyHost {
    /// A host before its table opens.
    #[must_use]
    pub fn new(plant_bug: bool) -> ToyHost {
        let table = Table::new();
        let spectator = table.view_for(Viewer::Spectator);
        ToyHost { table, ledger: Ledger::new(), spectator, plant_bug }
    }

    /// Projects money events into the ledger.
    fn project(&mut self, event: &TableEvent) {
        match *event {
            TableEvent::BoughtIn { player, amount, .. } => {
                self.ledger.entry(player).or_default().brought += u128::from(amount.0);
            }
            // The planted bug: a ledger written before top-ups existed, which ignores them.
            TableEvent::ToppedUp { player, amount, .. } if !self.plant_bug => {
                self.ledger.entry(player).or_default().brought += u128::from(amount.0);
            }
            TableEvent::CashedOut { player, amount, .. } => {
                self.ledger.entry(player).or_default().taken += u128::from(amount.0);
            }
            _ => {}
        }
    }
}

impl Host for ToyHost {
    fn handle(&mut self, command: &CommandEnvelope) -> Result<Vec<Recorded>, TableRejection> {
        let mut events = Vec::new();
        self.table.execute(command, &mut events)?;
        for r in &events {
            self.project(&r.event);
        }
        self.spectator = self.table.view_for(Viewer::Spectator);
        Ok(events)
    }

    fn view(&self, viewer: Viewer) -> Option<TableView> {
        (viewer == Viewer::Spectator).then_some(self.spectator)
    }

    fn ledger(&self) -> Option<Ledger> {
        Some(self.ledger.clone())
    }
}

/// Runs `cases` scenarios against the toy host.
///
/// # Errors
/// The shrunk scenario that broke an invariant.
pub fn hunt(plant_bug: bool, cases: u32, seed: u64) -> Result<(), Box<Counterexample>> {
    let config = Config { cases, rng_seed: RngSeed::Fixed(seed), ..Config::default() };
    check(config, scenario(), || ToyHost::new(plant_bug))
}

/// The command line: `--plant-bug`, `--cases N`, `--seed N`.
fn parse_args() -> Result<(bool, u32, u64), String> {
    fn number<T: std::str::FromStr>(value: Option<String>, name: &str) -> Result<T, String> {
        value.and_then(|v| v.parse().ok()).ok_or_else(|| format!("{name} needs a number"))
    }
    let (mut plant_bug, mut cases, mut seed) = (false, CASES, SEED);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--plant-bug" => plant_bug = true,
            "--cases" => cases = number(args.next(), "--cases")?,
            "--seed" => seed = number(args.next(), "--seed")?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((plant_bug, cases, seed))
}

fn main() -> ExitCode {
    let (plant_bug, cases, seed) = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("property_harness: {message}\nusage: property_harness [--plant-bug] [--cases N] [--seed N]");
            return ExitCode::from(2);
        }
    };
    let planted = if plant_bug { "with the planted bug (the ledger forgets top-ups)" } else { "as written" };
    println!("checking the toy host {planted}: {cases} scenarios, proptest seed {seed}");
    match (hunt(plant_bug, cases, seed), plant_bug) {
        (Err(found), true) => {
            println!("found the planted bug\n{found}");
            ExitCode::SUCCESS
        }
        (Ok(()), false) => {
            println!("every invariant held in {cases} scenarios");
            ExitCode::SUCCESS
        }
        (Err(found), false) => {
            println!("the toy host broke an invariant\n{found}");
            ExitCode::FAILURE
        }
        (Ok(()), true) => {
            println!("the planted bug was not found in {cases} scenarios");
            ExitCode::FAILURE
        }
    }
}
