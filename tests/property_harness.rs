//! The property harness example, kept honest: its toy host passes as written, and the bug it
//! plants (a ledger that forgets top-ups) is found and shrunk within the example's number of
//! cases. The example's own code is compiled in here, so the two cannot drift apart.

#[allow(dead_code, reason = "the example's `main` and command line are not used here")]
#[path = "../examples/property_harness.rs"]
mod example;

use showdown_engine::table::TableCommand;
use showdown_engine::testing::Invariant;

#[test]
fn property_harness_passes_the_toy_host_as_written() {
    if let Err(found) = example::hunt(false, example::CASES, example::SEED) {
        panic!("the toy host broke an invariant; {found}");
    }
}

#[test]
fn property_harness_finds_the_planted_bug_and_shrinks_it() {
    for seed in [example::SEED, 1, 2] {
        let found = example::hunt(true, example::CASES, seed).expect_err("the planted bug is found");
        assert_eq!(found.violation.invariant, Invariant::ChipsConserved, "seed {seed}: {found}");
        assert!(found.violation.detail.contains("the host's ledger"), "seed {seed}: {found}");
        // A seating and a top-up are all it takes; the shrinker may stop at a few more.
        assert!(matches!(found.violation.command.command, TableCommand::TopUp { .. }), "seed {seed}: {found}");
        assert!(found.scenario.steps.len() <= 8, "seed {seed}: {found}");
    }
}
