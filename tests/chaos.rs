//! The deterministic fault simulator: seeds hold every invariant, a seed fixes its run, and
//! a planted bug is caught.

use std::process::Command;

use showdown::chaos::{ChaosConfig, Plant, run, run_seeds};

fn showdown(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_showdown")).args(args).output().expect("showdown runs")
}

#[test]
fn a_seed_fixes_the_run_and_its_faults() {
    let config = ChaosConfig::new(7, 2_000);
    let a = run(&config);
    let b = run(&config);
    assert_eq!(a, b, "two runs of one seed differ");
    assert!(a.violation.is_none(), "{:?}", a.violation);
    assert!(a.faults.total() > 0 && a.counts.hands > 0 && a.counts.acknowledged > 0, "{a:?}");
    let other = run(&ChaosConfig::new(8, 2_000));
    assert_ne!(a.hash, other.hash, "two seeds gave one hash");
}

#[test]
fn seeds_hold_every_invariant_under_every_kind_of_fault() {
    let summary = run_seeds(&ChaosConfig::new(1_000, 2_000), 1_000, 200, 2);
    assert_eq!(summary.seeds, 200);
    if let Some(r) = summary.failures.first() {
        panic!("seed {}: {}", r.config.seed, r.violation.as_ref().unwrap());
    }
    for (kind, n) in summary.faults.kinds() {
        assert!(n > 0, "no {kind} was injected in 200 seeds");
    }
    assert!(summary.counts.acknowledged > 0 && summary.counts.refused > 0 && summary.counts.hands > 0, "{summary:?}");
    // The threads only share the work.
    let alone = run_seeds(&ChaosConfig::new(1_000, 2_000), 1_000, 20, 1);
    let shared = run_seeds(&ChaosConfig::new(1_000, 2_000), 1_000, 20, 3);
    assert_eq!(alone, shared);
}

#[test]
fn a_retry_under_a_fresh_command_id_is_caught_within_1000_seeds() {
    let planted = ChaosConfig { plant: Some(Plant::FreshIdOnRetry), ..ChaosConfig::new(0, 2_000) };
    let caught = (0..1_000).map(|seed| run(&ChaosConfig { seed, ..planted })).find(|r| r.violation.is_some());
    let caught = caught.expect("the planted bug went unnoticed for 1,000 seeds");
    let violation = caught.violation.as_ref().unwrap();
    assert_eq!(violation.invariant, "a client command is applied once, retries included", "{violation}");
    // The same seed without the bug holds.
    let clean = run(&ChaosConfig { plant: None, ..caught.config });
    assert!(clean.violation.is_none(), "seed {} fails without the bug: {:?}", caught.config.seed, clean.violation);
}

#[test]
fn the_command_prints_the_faults_checks_and_hash_and_fails_on_a_broken_invariant() {
    let ok = showdown(&["chaos", "--seed", "5", "--steps", "1000", "--seeds", "4"]);
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{text}{}", String::from_utf8_lossy(&ok.stderr));
    for needle in ["faults injected:", "invariant checks", "hash: ", "every invariant held"] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    let again = showdown(&["chaos", "--seed", "5", "--steps", "1000", "--seeds", "4", "--threads", "1"]);
    let hash = |out: &std::process::Output| {
        String::from_utf8_lossy(&out.stdout).lines().find(|l| l.starts_with("hash: ")).map(str::to_owned)
    };
    assert_eq!(hash(&ok), hash(&again));

    let bad = showdown(&["chaos", "--seeds", "1000", "--plant", "fresh-id-on-retry"]);
    let text = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{text}");
    assert!(text.contains("reproduce: showdown chaos --seed "), "{text}");

    for (args, needle) in [
        (&["chaos", "--seeds", "0"][..], "--seeds and --steps must be at least 1"),
        (&["chaos", "--seats", "1"][..], "--seats must be between 2"),
        (&["chaos", "--plant", "everything"][..], "unknown planted bug"),
    ] {
        let out = showdown(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(needle), "{args:?}: {err}");
    }
}
