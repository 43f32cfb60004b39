//! `showdown export`: stored tables written as PHH replay, in the engine and in PokerKit, to
//! the stacks every stored `HandEnded` recorded.
//!
//! Tables come from `showdown simulate` (six-max no-limit, players joining, posting, leaving
//! and busting) and from the same bots at tables opened with other rules (pot-limit Omaha,
//! fixed limit, antes, big-blind antes, straddles, heads-up), played in memory.

use std::process::Command;
use std::sync::Arc;

use showdown::bots::TableBot;
use showdown::engine::chips::Chips;
use showdown::engine::hand::Event;
use showdown::engine::phh::{HandHistory, Stack, parse_phhs, write_phhs};
use showdown::engine::replay::replay;
use showdown::engine::rules::{FreeFoldPolicy, Variant};
use showdown::engine::table::{
    Ante, CommandEnvelope, CommandId, Recorded, Straddle, Table, TableCommand, TableConfig, TableEvent,
};
use showdown::export::{TableHands, hands_from_events, hands_from_store};
use showdown::simulate::{SimulateOptions, simulate, table_stream};
use showdown_store::codec::TableCodec;
use showdown_store::{EventStore, MemoryStore, ServiceConfig, StreamId, StreamVersion, TableService};

/// The stacks of every `HandEnded` of a stream, in order.
fn recorded_stacks(events: &[Recorded]) -> Vec<Vec<Stack>> {
    events
        .iter()
        .filter_map(|r| match &r.event {
            TableEvent::Hand { event: Event::HandEnded { stacks }, .. } => {
                Some(stacks.iter().map(|c| Stack::Chips(c.0)).collect())
            }
            _ => None,
        })
        .collect()
}

async fn read_all(store: &dyn EventStore, stream: &StreamId) -> Vec<Recorded> {
    let stored = store.read_stream(stream, StreamVersion::FIRST, usize::MAX).await.expect("the stream reads");
    stored.iter().map(|s| TableCodec::default().decode(s).expect("decodes")).collect()
}

/// Writes the hands, reads them back and replays each with the engine.
fn engine_stacks(hands: &[HandHistory]) -> Vec<Vec<Stack>> {
    let text = write_phhs(hands);
    parse_phhs(&text)
        .expect("the export reads back")
        .into_iter()
        .enumerate()
        .map(|(i, hand)| {
            let hand = hand.unwrap_or_else(|e| panic!("hand {} does not read back: {e}", i + 1));
            replay(&hand).unwrap_or_else(|e| panic!("hand {} does not replay: {e}\n{text}", i + 1)).finishing_stacks
        })
        .collect()
}

/// Plays a table opened with `config` with the simulator's bots, in memory, to `hands` hands.
fn play(config: TableConfig, hands: u64, salt: u64) -> Vec<Recorded> {
    let bot = TableBot::new(salt, hands);
    let mut table = Table::new();
    let mut events = Vec::new();
    let open = CommandEnvelope { id: CommandId(1), now_ms: 1, command: TableCommand::Open { config } };
    table.execute(&open, &mut events).expect("the table opens");
    let mut out = Vec::new();
    while let Some(command) = bot.next(&table, events.len() as u64, salt) {
        out.clear();
        table.execute(&command, &mut out).unwrap_or_else(|e| panic!("{:?} refused: {e}", command.command));
        events.append(&mut out);
    }
    events
}

/// Tables the simulator does not open: every variant, antes, straddles, heads-up.
fn other_tables() -> Vec<(&'static str, TableConfig)> {
    let base = |variant: Variant, seats: u8| TableConfig {
        variant,
        seats,
        min_buy_in: Chips(2),
        max_buy_in: Chips(100_000),
        ..TableConfig::no_limit_holdem(1, 2)
    };
    vec![
        (
            "nt-ante-straddle",
            TableConfig {
                ante: Ante::PerPlayer(Chips(1)),
                straddle: Straddle::Mandatory(Chips(4)),
                free_fold: FreeFoldPolicy::Allow,
                ..base(Variant::no_limit_holdem(), 9)
            },
        ),
        ("po-bb-ante", TableConfig { ante: Ante::BigBlind(Chips(2)), ..base(Variant::pot_limit_omaha(), 6) }),
        ("ft", base(Variant::fixed_limit_holdem(Chips(2), Chips(4)), 6)),
        (
            "ft-ante-heads-up",
            TableConfig { ante: Ante::PerPlayer(Chips(1)), ..base(Variant::fixed_limit_holdem(Chips(2), Chips(4)), 2) },
        ),
        (
            "nt-heads-up-bb-ante",
            TableConfig {
                small_blind: Chips(5),
                big_blind: Chips(10),
                ante: Ante::BigBlind(Chips(10)),
                ..base(Variant::no_limit_holdem(), 2)
            },
        ),
        ("po-3-max", base(Variant::pot_limit_omaha(), 3)),
    ]
}

/// Checks one table's export against its events: every finished hand, in order, replayed
/// by the engine to the stacks its `HandEnded` recorded.
fn check_export(name: &str, events: &[Recorded], exported: &TableHands) {
    let expected = recorded_stacks(events);
    assert_eq!(exported.hands.len(), expected.len(), "{name}: one history per finished hand");
    assert!(exported.inexact.is_empty(), "{name}: {:?}", exported.inexact);
    assert_eq!(exported.unfinished, None, "{name}: the bots finish every hand");
    let replayed = engine_stacks(&exported.hands);
    for (k, (got, want)) in replayed.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "{name}: hand {} replays to other stacks", k + 1);
    }
    for (k, hand) in exported.hands.iter().enumerate() {
        assert_eq!(hand.finishing_stacks.as_ref(), Some(&expected[k]));
        assert_eq!(hand.extra.get("hand").and_then(toml::Value::as_integer), Some(k as i64 + 1));
        assert_eq!(hand.extra.get("table").and_then(toml::Value::as_str), Some(name));
        let seats = hand.extra.get("seats").and_then(toml::Value::as_array).expect("seats");
        let players = hand.extra.get("players").and_then(toml::Value::as_array).expect("players");
        assert_eq!(seats.len(), hand.starting_stacks.len());
        assert_eq!(players.len(), hand.starting_stacks.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_tables_export_every_finished_hand_and_replay_to_the_stored_stacks() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let service = TableService::new(store.clone(), ServiceConfig::default());
    let options = SimulateOptions { tables: 3, hands: 120, seed: 11, prefix: "table".into(), ack_log: None };
    simulate(&service, &options, &indicatif::ProgressBar::hidden()).await.expect("the tables play");
    let mut total = 0;
    for i in 0..options.tables {
        let stream = table_stream("table", i);
        let events = read_all(&*store, &stream).await;
        let exported = hands_from_store(&*store, &stream).await.expect("the table exports");
        check_export(stream.as_str(), &events, &exported);
        assert_eq!(exported, hands_from_events(stream.as_str(), &events).expect("the same from the events"));
        total += exported.hands.len();
    }
    assert_eq!(total, 360);
}

#[test]
fn tables_of_every_variant_with_antes_and_straddles_replay_to_the_stored_stacks() {
    for (k, (name, config)) in other_tables().into_iter().enumerate() {
        let events = play(config, 150, k as u64);
        let exported = hands_from_events(name, &events).expect("the table exports");
        check_export(name, &events, &exported);
        assert!(exported.hands.iter().all(|h| h.variant == config.variant.phh_code()));
    }
}

#[test]
fn a_hand_still_running_is_left_out_and_named() {
    let events = play(TableBot::config(), 5, 3);
    // Cut the stream inside hand 5, in its deal.
    let starts: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.event, TableEvent::HandStarted { .. }))
        .map(|(i, _)| i)
        .collect();
    let cut = starts[4] + 3;
    let exported = hands_from_events("t", &events[..cut]).expect("the table exports");
    assert_eq!(exported.hands.len(), 4);
    assert_eq!(exported.unfinished.map(|h| h.0), Some(5));
    // A stream that is not a table, and no stream at all.
    let e = hands_from_events("t", &events[1..]).unwrap_err();
    assert_eq!(e.to_string(), "stream `t` is not a table: its first event is SatDown, not Opened");
    let e = hands_from_events("t", std::iter::empty()).unwrap_err();
    assert_eq!(e.to_string(), "no table `t` in the store (no stream of that name)");
}

#[test]
fn a_hand_that_does_not_replay_to_its_recorded_stacks_is_reported_not_dropped() {
    let mut events = play(TableBot::config(), 3, 5);
    // Move one chip between the first two players in hand 2's recorded outcome.
    let ended = events
        .iter_mut()
        .filter_map(|r| match &mut r.event {
            TableEvent::Hand { event: Event::HandEnded { stacks }, .. } => Some(stacks),
            _ => None,
        })
        .nth(1)
        .expect("hand 2 ended");
    let (from, to) = if ended[0].0 > 0 { (0, 1) } else { (1, 0) };
    ended[from].0 -= 1;
    ended[to].0 += 1;
    let exported = hands_from_events("t", &events).expect("the table exports");
    assert_eq!(exported.hands.len(), 3);
    assert_eq!(exported.inexact.len(), 1, "{:?}", exported.inexact);
    assert_eq!(exported.inexact[0].0.0, 2);
    assert!(exported.inexact[0].1.contains("but the table recorded"), "{:?}", exported.inexact);
}

/// Whether PokerKit can be imported; when it cannot, the PokerKit test fails under CI and
/// is skipped with a notice elsewhere.
fn pokerkit_available() -> bool {
    let ok = Command::new("python3").args(["-c", "import pokerkit"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "CI is set but PokerKit is missing: pip install pokerkit==0.7.7");
        eprintln!("note: PokerKit is not installed (pip install pokerkit==0.7.7): the PokerKit check is skipped");
    }
    ok
}

const ORACLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/pokerkit_expect.py");

/// Hands per table in the PokerKit check: 60, or `SHOWDOWN_EXPORT_HANDS` for a longer run.
fn pokerkit_hands() -> u64 {
    std::env::var("SHOWDOWN_EXPORT_HANDS").ok().and_then(|v| v.parse().ok()).unwrap_or(60)
}

#[test]
fn exported_hands_replay_in_pokerkit_to_the_stored_stacks() {
    if !pokerkit_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("a temp dir");
    let hands = pokerkit_hands();
    let mut tables: Vec<(String, Vec<Recorded>)> = other_tables()
        .into_iter()
        .enumerate()
        .map(|(k, (name, c))| (name.to_owned(), play(c, hands, k as u64)))
        .collect();
    tables.push(("six-max".to_owned(), play(TableBot::config(), hands * 3, 7)));
    let mut matched = 0;
    for (name, events) in &tables {
        let exported = hands_from_events(name, events).expect("the table exports");
        let path = dir.path().join(format!("{name}.phhs"));
        std::fs::write(&path, write_phhs(&exported.hands)).expect("written");
        let out = Command::new("python3").arg(ORACLE).arg(&path).output().expect("python3 runs");
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON line per hand"))
            .collect();
        let expected = recorded_stacks(events);
        assert_eq!(lines.len(), expected.len(), "{name}: one line per hand");
        for (k, (line, want)) in lines.iter().zip(&expected).enumerate() {
            let want: Vec<serde_json::Value> = want
                .iter()
                .map(|s| match s {
                    Stack::Chips(c) => serde_json::json!(c),
                    Stack::Unbounded => "inf".into(),
                })
                .collect();
            assert_eq!(line["finishing_stacks"].as_array(), Some(&want), "{name}: hand {} differs in PokerKit", k + 1);
            matched += 1;
        }
    }
    eprintln!("PokerKit replayed {matched} exported hands of {} tables to the stored stacks", tables.len());
}
