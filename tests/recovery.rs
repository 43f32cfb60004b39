//! Recovery: `showdown simulate` on the embedded SQLite store, killed with SIGKILL at 20
//! random moments. After every kill `showdown verify` finds every stream consistent; every
//! command the killed runs acknowledged is in the store (none lost, none half-appended);
//! and a last run continues from where the store is to the hands asked for.

#![cfg(all(unix, feature = "sqlite"))]

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use showdown::bots::mix;

#[path = "common/process.rs"]
mod process;
use showdown::store::{CommandId, GlobalPosition, StreamId};

const TABLES: u32 = 6;
const HANDS: u64 = 1_000;
const KILLS: u64 = 20;

fn showdown() -> Command {
    Command::new(env!("CARGO_BIN_EXE_showdown"))
}

fn simulate(store: &str, acks: &Path) -> Command {
    let mut c = showdown();
    c.args(["simulate", "--store", store, "--quiet", "--snapshot-every", "150"])
        .args(["--tables", &TABLES.to_string(), "--hands", &HANDS.to_string()])
        .arg("--ack-log")
        .arg(acks);
    c
}

/// Runs `showdown verify` and returns its last line, failing the test unless it exits 0.
fn verify(store: &str, after: &str) -> String {
    let out = showdown().args(["verify", "--store", store]).output().expect("showdown verify runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "verify failed {after}:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let last = stdout.lines().last().unwrap_or_default().to_owned();
    assert!(last.ends_with("consistent"), "{after}: {last}");
    last
}

/// Every (stream, command) pair in the store.
fn stored_commands(store: &str) -> HashSet<(StreamId, CommandId)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = showdown::stores::open(store).await.unwrap();
        let mut out = HashSet::new();
        let mut from = GlobalPosition::START;
        loop {
            let page = store.read_all(from, 4096).await.unwrap();
            let Some(last) = page.last() else { return out };
            from = last.position.next();
            out.extend(page.into_iter().map(|e| (e.stream, e.command)));
        }
    })
}

#[test]
fn simulate_killed_at_random_moments_loses_nothing_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("tables.db").display());
    let acks = dir.path().join("acks.log");
    let seed = 0x5eed_u64;
    let mut killed = 0;
    for round in 0..KILLS {
        let mut child = simulate(&store, &acks).stdout(Stdio::null()).spawn().expect("showdown simulate starts");
        // 150 to 900 ms: through start-up, loading, and the middle of appends.
        let wait = Duration::from_millis(150 + mix(seed, round) % 750);
        if process::kill_after(&mut child, wait) {
            killed += 1;
        }
        verify(&store, &format!("after kill {round} at {wait:?} (seed {seed:#x})"));
    }
    assert_eq!(killed, KILLS, "only {killed} of {KILLS} runs were still going when killed: make the runs longer");

    // Every acknowledged command is stored.
    let stored = stored_commands(&store);
    let log = std::fs::read_to_string(&acks).unwrap();
    let mut acknowledged = 0;
    for line in log.lines() {
        let (stream, id) = line.split_once(' ').expect("STREAM ID");
        let key = (StreamId::new(stream).unwrap(), CommandId(u128::from_str_radix(id, 16).unwrap()));
        assert!(stored.contains(&key), "acknowledged command {id} of {stream} is not in the store");
        acknowledged += 1;
    }
    assert!(acknowledged > 100, "the killed runs acknowledged only {acknowledged} commands");

    // A last run carries on to the end.
    let out = simulate(&store, &acks).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains(" before)"), "{summary}");
    let last = verify(&store, "after the last run");
    let hands = u64::from(TABLES) * HANDS;
    assert!(last.contains(&format!(" {hands} hands")), "all {hands} hands are stored: {last}");
    eprintln!("{killed} kills, {acknowledged} acknowledged commands checked; {last}");
}
