//! The PostgreSQL read models against the store they are projected from: one row per
//! finished hand, ledgers that sum, statistics that match a recomputation from the actions,
//! rebuilds that give the same rows, two runners at once, and a projection killed 20 times.
//!
//! Each test writes into a database of its own (created here, dropped at the end). Without
//! PostgreSQL the tests print a notice and pass, unless `CI` is set: then they fail.

#![cfg(feature = "postgres")]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use indicatif::ProgressBar;
use showdown::simulate::{SimulateOptions, simulate, table_stream};
use showdown::store::codec::TableCodec;
use showdown::store::projection::Projector;
use showdown::store::{EventStore, MemoryStore, ServiceConfig, ServiceError, TableService};
use showdown_engine::table::{CommandEnvelope, CommandId, PlayerId, TableAction, TableCommand};
use showdown_postgres::ReadModels;

mod common;
#[path = "common/process.rs"]
mod process;
use common::{Db, scalar};

/// Plays bot tables into a memory store, with one refused command for the audit log.
async fn played_store(tables: u32, hands: u64) -> Arc<dyn EventStore> {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let service = TableService::new(store.clone(), ServiceConfig::default());
    let options = SimulateOptions { tables, hands, seed: 7, prefix: "table".to_owned(), ack_log: None };
    simulate(&service, &options, &ProgressBar::hidden()).await.expect("the bots play");
    let mut loaded = service.load(&table_stream("table", 0)).await.unwrap();
    let now_ms = loaded.table().last_now_ms() + 1;
    let out_of_turn = CommandEnvelope {
        id: CommandId(0xdead),
        now_ms,
        command: TableCommand::Act { player: PlayerId(424_242), action: TableAction::Fold },
    };
    let refused = service.handle(&mut loaded, &out_of_turn).await;
    assert!(matches!(refused, Err(ServiceError::Rejected { .. })), "{refused:?}");
    store
}

/// Counts in the store: finished hands, table commands, table streams' versions.
async fn store_facts(store: &dyn EventStore) -> (i64, i64, Vec<(String, i64)>) {
    let codec = TableCodec::default();
    let (mut hands, mut commands, mut versions) = (0, 0, std::collections::BTreeMap::new());
    let mut from = showdown::store::GlobalPosition::START;
    let mut last_command = std::collections::HashMap::new();
    loop {
        let page = store.read_all(from, 4096).await.unwrap();
        let Some(last) = page.last() else { break };
        from = last.position.next();
        for e in &page {
            if showdown::store::streams::StreamKind::of(&e.stream) != showdown::store::streams::StreamKind::Table {
                continue;
            }
            let r = codec.decode(e).unwrap();
            if let showdown_engine::table::TableEvent::Hand {
                event: showdown_engine::hand::Event::HandEnded { .. },
                ..
            } = r.event
            {
                hands += 1;
            }
            if last_command.insert(e.stream.clone(), e.command) != Some(e.command) {
                commands += 1;
            }
            versions.insert(e.stream.to_string(), e.version.0 as i64);
        }
    }
    (hands, commands, versions.into_iter().collect())
}

async fn project(store: &dyn EventStore, rm: ReadModels, batch: usize) -> showdown::store::projection::Progress {
    let mut p = Projector::new(store, TableCodec::default(), rm).with_batch(batch);
    p.catch_up().await.expect("the projection catches up")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_models_agree_with_the_store_and_rebuild_identically() {
    let Some(db) = Db::create("agree").await else { return };
    let store = played_store(4, 120).await;
    let rm = ReadModels::connect(&db.url).await.expect("read models connect");
    // Small batches, so that hands straddle batches.
    let progress = project(&*store, rm.clone(), 97).await;
    assert!(progress.batches > 10, "{progress:?}");

    let (hands, commands, versions) = store_facts(&*store).await;
    assert_eq!(scalar(&rm, "SELECT count(*) FROM hands").await, hands, "one row per finished hand");
    assert_eq!(hands, 4 * 120);
    assert_eq!(
        scalar(&rm, "SELECT count(*) FROM (SELECT 1 FROM ledger WHERE hand_no IS NOT NULL GROUP BY table_id, hand_no HAVING sum(amount) <> 0) x").await,
        0,
        "the ledger rows of every hand sum to zero"
    );
    assert_eq!(
        scalar(&rm, "SELECT count(*) FROM hand_players hp WHERE net <> (SELECT coalesce(sum(amount), 0) FROM ledger l WHERE l.table_id = hp.table_id AND l.hand_no = hp.hand_no AND l.player_id = hp.player_id)").await,
        0,
        "each player's ledger rows in a hand sum to their net result"
    );
    assert_eq!(
        scalar(&rm, "SELECT count(*) FROM player_stats s WHERE net_chips <> (SELECT sum(amount) FROM ledger l WHERE l.player_id = s.player_id AND l.hand_no IS NOT NULL)").await,
        0,
        "each player's ledger equals the chips they won or lost"
    );
    // Statistics recomputed from hand_actions (and the awards in the ledger).
    let recomputed = "
        WITH per_hand AS (
            SELECT hp.player_id, hp.net,
                   EXISTS (SELECT 1 FROM hand_actions a WHERE a.table_id = hp.table_id AND a.hand_no = hp.hand_no AND a.seat = hp.seat
                           AND a.street = 'preflop' AND a.action IN ('call', 'bet', 'raise')) AS vpip,
                   EXISTS (SELECT 1 FROM hand_actions a WHERE a.table_id = hp.table_id AND a.hand_no = hp.hand_no AND a.seat = hp.seat
                           AND a.street = 'preflop' AND a.action IN ('bet', 'raise')) AS pfr,
                   EXISTS (SELECT 1 FROM hand_actions a WHERE a.table_id = hp.table_id AND a.hand_no = hp.hand_no AND a.seat = hp.seat
                           AND a.street = 'preflop' AND a.action IN ('bet', 'raise')
                           AND (SELECT count(*) FROM hand_actions b WHERE b.table_id = a.table_id AND b.hand_no = a.hand_no
                                AND b.street = 'preflop' AND b.action IN ('bet', 'raise') AND b.ordinal < a.ordinal) = 1) AS three_bet,
                   EXISTS (SELECT 1 FROM hand_actions a WHERE a.table_id = hp.table_id AND a.hand_no = hp.hand_no AND a.seat = hp.seat
                           AND a.street = 'showdown') AS sd
            FROM hand_players hp),
        per_player AS (
            SELECT player_id, count(*) AS hands, count(*) FILTER (WHERE vpip) AS vpip, count(*) FILTER (WHERE pfr) AS pfr,
                   count(*) FILTER (WHERE three_bet) AS three_bet, count(*) FILTER (WHERE sd) AS sd, sum(net) AS net
            FROM per_hand GROUP BY player_id)
        SELECT count(*) FROM per_player r FULL JOIN player_stats s USING (player_id)
        WHERE (r.hands, r.vpip, r.pfr, r.three_bet, r.sd, r.net)
              IS DISTINCT FROM (s.hands, s.vpip, s.pfr, s.three_bet, s.went_to_showdown, s.net_chips)";
    assert_eq!(scalar(&rm, recomputed).await, 0, "player_stats equals a recomputation from hand_actions");
    assert!(scalar(&rm, "SELECT sum(three_bet)::bigint FROM player_stats").await > 0, "the bots three-bet sometimes");
    assert!(scalar(&rm, "SELECT sum(won_at_showdown)::bigint FROM player_stats").await > 0);
    assert_eq!(
        scalar(&rm, "SELECT count(*) FROM hand_players WHERE won_at_showdown AND NOT went_to_showdown").await,
        0
    );
    for (table, version) in &versions {
        let sql = format!("SELECT stream_version FROM tables WHERE table_id = '{table}'");
        assert_eq!(scalar(&rm, &sql).await, *version, "{table}: the row reflects the stream's version");
    }
    assert_eq!(scalar(&rm, "SELECT count(*) FROM audit_log WHERE outcome = 'accepted'").await, commands);
    assert_eq!(
        scalar(&rm, "SELECT count(*) FROM audit_log WHERE outcome = 'rejected' AND kind = 'Act' AND player_id = 424242 AND reason LIKE '%not seated%'").await,
        1,
        "the refused command is in the audit log with its reason"
    );
    assert!(scalar(&rm, "SELECT count(*) FROM players WHERE display_name LIKE 'bot-%'").await > 0);
    assert!(
        scalar(&rm, "SELECT count(*) FROM players WHERE avatar_kind = 'custom' AND avatar_moderation = 'approved'")
            .await
            > 0
    );
    assert_eq!(
        scalar(&rm, "SELECT count(*) FROM players WHERE display_name IS NULL").await,
        0,
        "every player at a table registered a profile first"
    );
    assert_eq!(scalar(&rm, "SELECT count(*) FROM game_history").await, 4);
    assert_eq!(
        scalar(&rm, "SELECT sum(hands)::bigint FROM game_history").await,
        hands,
        "the game history view counts every hand"
    );

    // Rebuilt (other batch sizes): the same rows, byte for byte, twice.
    let first = rm.dump().await.unwrap();
    for batch in [4096, 1] {
        let mut p = Projector::new(&*store, TableCodec::default(), rm.clone()).with_batch(batch);
        p.rebuild().await.unwrap();
        p.catch_up().await.unwrap();
        assert!(rm.dump().await.unwrap() == first, "a rebuild with batches of {batch} gives other rows");
    }

    // Caught up again with nothing new: nothing written.
    let again = project(&*store, rm.clone(), 97).await;
    assert_eq!(again.events, 0);

    // Two runners at once into another database: the same rows as one.
    let Some(db2) = Db::create("race").await else { return };
    let rm2 = ReadModels::connect(&db2.url).await.unwrap();
    let (a, b) = tokio::join!(project(&*store, rm2.clone(), 64), project(&*store, rm2.clone(), 101));
    assert!(rm2.dump().await.unwrap() == first, "two runners at once wrote other rows than one");
    assert_eq!(a.events + b.events, progress.events, "every event was written by exactly one runner");
    eprintln!("two runners: {a:?} / {b:?}");
}

fn showdown() -> Command {
    Command::new(env!("CARGO_BIN_EXE_showdown"))
}

#[cfg(all(unix, feature = "sqlite"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_killed_20_times_writes_the_same_rows_as_one_run() {
    let Some(killed_db) = Db::create("killed").await else { return };
    let Some(clean_db) = Db::create("clean").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("store.db").display());
    let out = showdown()
        .args(["simulate", "--store", &store, "--quiet", "--tables", "4", "--hands", "300"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let project = |url: &str, extra: &[&str]| {
        let mut c = showdown();
        c.args(["project", "--store", &store, "--postgres", url, "--batch", "113"]).args(extra);
        c
    };
    let mut mid_run = 0;
    let mut seed = 0x5eed_u64;
    for _ in 0..20 {
        seed = showdown::bots::mix(seed, 1);
        let mut child = project(&killed_db.url, &[]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        if process::kill_after(&mut child, Duration::from_millis(80 + seed % 400)) {
            mid_run += 1;
        }
    }
    let last = project(&killed_db.url, &[]).output().unwrap();
    assert!(last.status.success(), "{}", String::from_utf8_lossy(&last.stderr));
    let clean = project(&clean_db.url, &["--rebuild"]).output().unwrap();
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stderr));
    let killed = ReadModels::connect(&killed_db.url).await.unwrap();
    let whole = ReadModels::connect(&clean_db.url).await.unwrap();
    assert!(mid_run >= 5, "only {mid_run} of 20 kills landed while the projection ran");
    assert!(killed.dump().await.unwrap() == whole.dump().await.unwrap(), "the killed projection wrote other rows");
    assert_eq!(scalar(&whole, "SELECT count(*) FROM hands").await, 1200);
    eprintln!("{mid_run} of 20 kills landed mid-run; last run: {}", String::from_utf8_lossy(&last.stdout).trim());
}

#[test]
fn project_refuses_bad_input_with_one_line() {
    let cases: [(&[&str], &str); 3] = [
        (&["project", "--store", "mysql://x", "--postgres", "postgres://postgres@127.0.0.1:5432/test"], "mysql"),
        (&["project", "--store", "memory:", "--postgres", "postgres://postgres@127.0.0.1:1/none"], "127.0.0.1:1"),
        (&["project", "--store", "memory:", "--postgres", "postgres://x", "--batch", "0"], "batch"),
    ];
    for (args, says) in cases {
        let out = showdown().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?} should say {says:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: one line, not {stderr}");
    }
}
