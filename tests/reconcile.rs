//! Reconciliation end to end: one table played by bots to a fork in the middle of a hand,
//! copied into two stores, 50 different hands played on each, then reconciled.
//!
//! Checked against the engine's own replays, not against the library's account: every
//! player's chips after reconciliation (the canonical stack plus the money that crossed the
//! table's edge on either branch plus the wallet refunds) equal the canonical branch's; the
//! losing branch plus its void-hand refunds comes back to the fork for every player; the
//! ledger folded from the canonical store sums to zero per hand, per void hand and player,
//! and overall less the chips on the table, and each player's ledger equals their canonical
//! net; reconcile is symmetric and idempotent, voids only what a losing node added since the
//! last run, and writes nothing on bad input. The command line is checked on two SQLite
//! files.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use showdown::bots::TableBot;
use showdown::engine::chips::Chips;
use showdown::engine::hand::Event as HandEvent;
use showdown::engine::table::{PlayerId, Recorded, SeatIdx, Table, TableEvent};
use showdown::store::codec::TableCodec;
use showdown::store::readmodel::{Changes, LedgerRow, ReadModelFold};
use showdown::store::reconcile::{self, Outcome, ReconcileError, Reconciliation, Rule, Side, read_stream_all};
use showdown::store::{
    AppendRequest, EventStore, ExpectedVersion, GlobalPosition, LoadedTable, MemoryStore, ServiceConfig, StoredEvent,
    StreamId, StreamVersion, TableService, verify,
};

#[cfg(feature = "postgres")]
mod common;

type Store = Arc<dyn EventStore>;

fn stream() -> StreamId {
    StreamId::new("table-r").unwrap()
}

fn codec() -> TableCodec {
    TableCodec::default()
}

fn memory() -> Store {
    Arc::new(MemoryStore::new())
}

/// Sends the bot's commands through the service until it has nothing more to do or `stop`
/// says so (asked before each command).
async fn drive(store: &Store, bot: TableBot, salt: u64, mut stop: impl FnMut(&Table) -> bool) -> LoadedTable {
    let service = TableService::new(store.clone(), ServiceConfig::default());
    let mut loaded = service.load(&stream()).await.unwrap();
    while !stop(loaded.table()) {
        let Some(command) = bot.next(loaded.table(), loaded.events(), salt) else { break };
        service.handle(&mut loaded, &command).await.unwrap_or_else(|e| panic!("{:?} refused: {e}", command.command));
    }
    loaded
}

/// Appends `events` (whole commands, in order) to `to`, keeping their ids, in one batch.
async fn copy(events: &[StoredEvent], to: &dyn EventStore) {
    let mut requests: Vec<AppendRequest> = Vec::new();
    for e in events {
        match requests.last_mut() {
            Some(r) if r.command == e.command => r.events.push(e.to_new_event()),
            _ => {
                let expected = if e.version.0 == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Any };
                requests.push(AppendRequest {
                    stream: e.stream.clone(),
                    expected,
                    command: e.command,
                    events: vec![e.to_new_event()],
                })
            }
        }
    }
    for result in to.append_batch(requests).await {
        result.expect("the copy appends");
    }
}

/// A table forked in the middle of hand `fork_hands` (after three commands of it), and two
/// stores that each played `branch_hands` more hands from there with bots of their own.
struct Forked {
    /// The stream up to the fork.
    prefix: Vec<StoredEvent>,
    a: Store,
    b: Store,
}

async fn forked(fork_hands: u64, branch_hands: u64) -> Forked {
    let origin = memory();
    let mut sent_in_hand = 0;
    let loaded = drive(&origin, TableBot::new(1, fork_hands), 0, |t| {
        if t.hand_no().0 == fork_hands && t.in_hand() {
            sent_in_hand += 1;
        }
        sent_in_hand > 3
    })
    .await;
    assert!(loaded.table().in_hand(), "the fork is in the middle of hand {fork_hands}");
    let prefix = read_stream_all(&*origin, &stream()).await.unwrap();
    let (a, b) = (memory(), memory());
    copy(&prefix, &*a).await;
    copy(&prefix, &*b).await;
    // Other seeds: other decisions from the first command after the fork; another salt on
    // the second branch: other players sit down there.
    let until = fork_hands + branch_hands;
    let played_a = drive(&a, TableBot::new(101, until), 0, |_| false).await;
    let played_b = drive(&b, TableBot::new(202, until), 1, |_| false).await;
    for played in [&played_a, &played_b] {
        assert_eq!(played.table().hand_no().0, until);
        assert!(!played.table().in_hand());
    }
    Forked { prefix, a, b }
}

fn decode(events: &[StoredEvent]) -> Vec<Recorded> {
    events.iter().map(|e| codec().decode(e).unwrap()).collect()
}

/// Every seated player's chips (behind, in a hand).
fn chips(table: &Table) -> BTreeMap<PlayerId, i128> {
    let mut out = BTreeMap::new();
    for (i, s) in table.seats().iter().enumerate() {
        if let Some(s) = s {
            out.insert(s.player, i128::from(table.stack(SeatIdx(i as u8)).unwrap().0));
        }
    }
    out
}

/// Per player: chips in across the edge less chips out, over some events.
fn net_in(events: &[Recorded]) -> BTreeMap<PlayerId, i128> {
    let mut out = BTreeMap::new();
    for r in events {
        match &r.event {
            TableEvent::BoughtIn { player, amount, .. } | TableEvent::ToppedUp { player, amount, .. } => {
                *out.entry(*player).or_insert(0) += i128::from(amount.0);
            }
            TableEvent::CashedOut { player, amount, .. } => *out.entry(*player).or_insert(0) -= i128::from(amount.0),
            _ => {}
        }
    }
    out
}

fn get(m: &BTreeMap<PlayerId, i128>, p: PlayerId) -> i128 {
    m.get(&p).copied().unwrap_or(0)
}

async fn fold_all(store: &dyn EventStore) -> Changes {
    let mut fold = ReadModelFold::new(codec());
    let mut changes = Changes::default();
    let mut from = GlobalPosition::START;
    loop {
        let page = store.read_all(from, 4096).await.unwrap();
        let Some(last) = page.last() else { break };
        from = last.position.next();
        for e in &page {
            fold.fold(e, &mut changes).unwrap();
        }
    }
    changes
}

async fn length(store: &dyn EventStore) -> u64 {
    store.stream_version(&stream()).await.unwrap().map_or(0, |v| v.0 + 1)
}

fn compensated(r: &Reconciliation) -> (Side, Rule, &reconcile::Compensation) {
    match &r.outcome {
        Outcome::Compensate { canonical, rule, compensation } => (*canonical, *rule, compensation),
        other => panic!("expected a compensation, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_branches_of_fifty_hands_reconcile_to_the_canonical_chips_plus_refunds() {
    let Forked { prefix, a, b } = forked(10, 50).await;
    let (stream, codec) = (stream(), codec());
    let events_a = read_stream_all(&*a, &stream).await.unwrap();
    let events_b = read_stream_all(&*b, &stream).await.unwrap();
    let fork = prefix.len();
    assert_eq!(events_a[..fork], prefix[..]);
    assert_ne!(events_a[fork], events_b[fork], "the branches differ from the first event after the fork");

    // Symmetric: either order chooses the same stream and the same compensation.
    let ab = reconcile::plan(&*a, &*b, &stream, &codec).await.unwrap();
    let ba = reconcile::plan(&*b, &*a, &stream, &codec).await.unwrap();
    assert_eq!(ab.fork, StreamVersion(fork as u64 - 1));
    let (canonical, rule, plan) = compensated(&ab);
    let (canonical_ba, rule_ba, plan_ba) = compensated(&ba);
    assert_eq!(canonical_ba, canonical.other());
    assert_eq!((rule, &plan.events, plan.command), (rule_ba, &plan_ba.events, plan_ba.command));

    // The rule, recomputed from the replays: more finished hands, then more events, then
    // the smaller hash.
    let branch = |events: &[StoredEvent]| decode(&events[fork..]);
    let finished = |r: &[Recorded]| {
        r.iter().filter(|r| matches!(r.event, TableEvent::Hand { event: HandEvent::HandEnded { .. }, .. })).count()
    };
    let (ra, rb) = (branch(&events_a), branch(&events_b));
    assert_eq!(finished(&ra), 51, "hand 10 ends on each branch, then 50 more are dealt and end");
    assert_eq!(finished(&rb), 51);
    let expected = if ra.len() != rb.len() {
        assert_eq!(rule, Rule::MoreEvents);
        if ra.len() > rb.len() { Side::Store } else { Side::Branch }
    } else {
        assert_eq!(rule, Rule::SmallerHash);
        if ab.store.hash < ab.branch.hash { Side::Store } else { Side::Branch }
    };
    assert_eq!(canonical, expected);
    let (kept_store, lost_store, kept_events, lost_events) = match canonical {
        Side::Store => (&a, &b, &events_a, &events_b),
        Side::Branch => (&b, &a, &events_b, &events_a),
    };
    assert_eq!(plan.hands.len(), 51, "the hand running at the fork and the 50 after it");
    assert_eq!(plan.hands.iter().filter(|h| h.finished).count(), 51);

    // Reconcile: the compensation lands on the canonical stream only.
    let done = reconcile::reconcile(&*a, &*b, &stream, &codec).await.unwrap();
    let appended = done.appended.expect("the compensation was appended");
    assert!(!appended.deduplicated);
    assert_eq!(appended.first_version.0, kept_events.len() as u64);
    assert_eq!(length(&**kept_store).await, (kept_events.len() + plan.events.len()) as u64);
    assert_eq!(length(&**lost_store).await, lost_events.len() as u64, "nothing is written to the losing store");
    let after = read_stream_all(&**kept_store, &stream).await.unwrap();
    let voids = decode(&after[kept_events.len()..]);
    assert_eq!(voids, plan.events);
    assert_eq!(after[kept_events.len()].metadata.get("command").map(String::as_str), Some("Reconcile"));

    // The chips. Tables from the engine's replays: at the fork, each branch's end, and the
    // canonical stream after reconciliation.
    let fork_table = Table::replay(&decode(&prefix));
    let kept_table = Table::replay(&decode(kept_events));
    let lost_table = Table::replay(&decode(lost_events));
    let reconciled = Table::replay(&decode(&after));
    assert!(reconciled.chips_conserved());
    assert!(voids.iter().all(|r| r.now_ms == kept_table.last_now_ms()), "the live table's clock does not move");
    assert_eq!(chips(&reconciled), chips(&kept_table), "the compensation moves no chips on the canonical table");
    let kept_in = net_in(&decode(&kept_events[fork..]));
    let lost_in = net_in(&decode(&lost_events[fork..]));
    let (mut hand_refund, mut wallet_refund) = (BTreeMap::new(), BTreeMap::new());
    for r in &voids {
        match &r.event {
            TableEvent::HandVoided { moves, .. } => {
                for m in moves {
                    *hand_refund.entry(m.player).or_insert(0) += i128::from(m.committed.0) - i128::from(m.awarded.0);
                }
            }
            TableEvent::BranchVoided { edge, fork: f, through, .. } => {
                assert_eq!((*f, *through), (fork as u64 - 1, lost_events.len() as u64 - 1));
                for e in edge {
                    *wallet_refund.entry(e.player).or_insert(0) += e.wallet_refund();
                }
            }
            other => panic!("not a compensation event: {other:?}"),
        }
    }
    let players: BTreeSet<PlayerId> =
        [&chips(&fork_table), &chips(&kept_table), &chips(&lost_table), &kept_in, &lost_in]
            .into_iter()
            .flat_map(|m| m.keys().copied())
            .collect();
    assert!(players.len() > 6, "players came and went on the branches: {players:?}");
    assert!(wallet_refund.values().any(|v| *v != 0), "money crossed the edge on the losing branch");
    assert!(hand_refund.values().any(|v| *v != 0), "the void hands moved chips");
    for &p in &players {
        // Both nodes talked to the wallet: it saw both branches' money, then the refunds.
        let crossed = -get(&kept_in, p) - get(&lost_in, p);
        let player_chips = get(&chips(&reconciled), p) + crossed + get(&wallet_refund, p);
        let canonical_chips = get(&chips(&kept_table), p) - get(&kept_in, p);
        assert_eq!(player_chips, canonical_chips, "{p}: chips after reconciliation = the canonical branch's");
        // The losing branch as the player saw it, plus the void hands' refunds, is the fork.
        let lost_seen = get(&chips(&lost_table), p) - get(&lost_in, p) + get(&hand_refund, p);
        assert_eq!(lost_seen, get(&chips(&fork_table), p), "{p}: the void hands' refunds undo them exactly");
    }
    assert_eq!(plan.hand_refunds(), hand_refund.into_iter().filter(|(_, v)| *v != 0).collect());
    assert_eq!(plan.wallet_refunds(), wallet_refund.into_iter().filter(|(_, v)| *v != 0).collect());

    // The ledger, folded from the canonical store.
    let changes = fold_all(&**kept_store).await;
    check_ledger(&changes.ledger, &reconciled, &changes);
    let void_rows: Vec<&LedgerRow> = changes.ledger.iter().filter(|r| r.kind.starts_with("void_")).collect();
    assert!(void_rows.len() > 51 * 2, "{} void rows", void_rows.len());
    let mut refund_rows: BTreeMap<PlayerId, i128> = BTreeMap::new();
    for r in void_rows.iter().filter(|r| r.kind == "void_refund" && r.hand_no.is_some()) {
        *refund_rows.entry(PlayerId(r.player_id)).or_insert(0) += i128::from(r.amount);
    }
    assert_eq!(refund_rows.into_iter().filter(|(_, v)| *v != 0).collect::<BTreeMap<_, _>>(), plan.hand_refunds());
    assert_eq!(changes.hands.len(), 60, "void hands get no `hands` rows: only the canonical 60");

    // A run that planned before this one appended: its commit gets the same append back.
    let late = reconcile::commit(ab.clone(), &*a, &*b, &codec).await.unwrap();
    assert_eq!(late.appended.map(|x| (x.deduplicated, x.original())), Some((true, appended)));
    assert_eq!(length(&**kept_store).await, after.len() as u64);
    // A plan made before the canonical stream moved on is refused, and writes nothing.
    let mut stale = ab.clone();
    if let Outcome::Compensate { compensation, .. } = &mut stale.outcome {
        compensation.command = showdown::engine::table::CommandId(compensation.command.0 ^ 1);
    }
    let e = reconcile::commit(stale, &*a, &*b, &codec).await.unwrap_err();
    assert!(matches!(e, ReconcileError::Moved { .. }) && e.to_string().contains("run it again"), "{e}");

    let report = verify::verify(&**kept_store, &codec).await.unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);

    // Idempotent, in either order: nothing more is written.
    for (x, y) in [(&a, &b), (&b, &a)] {
        let again = reconcile::reconcile(&**x, &**y, &stream, &codec).await.unwrap();
        assert!(
            matches!(again.outcome, Outcome::AlreadyReconciled { rule: Rule::Recorded { .. }, through, .. } if through.0 == lost_events.len() as u64 - 1),
            "{:?}",
            again.outcome
        );
        assert_eq!(again.appended, None);
    }
    assert_eq!(length(&**kept_store).await, after.len() as u64);
    assert_eq!(length(&**lost_store).await, lost_events.len() as u64);
}

/// The ledger's guarantees: each hand's rows sum to zero, each void group (hand and player,
/// or edge and player) sums to zero, a player's rows sum to their stack on the table, their
/// hand rows to their canonical net, and all rows to the chips on the table.
fn check_ledger(ledger: &[LedgerRow], table: &Table, changes: &Changes) {
    let mut by_hand: BTreeMap<u64, i64> = BTreeMap::new();
    let mut by_void: BTreeMap<(Option<u64>, u64), i64> = BTreeMap::new();
    let mut by_player: BTreeMap<u64, i64> = BTreeMap::new();
    let mut in_hands: BTreeMap<u64, i64> = BTreeMap::new();
    let mut keys = BTreeSet::new();
    for r in ledger {
        assert!(keys.insert((r.position, r.entry)), "one row per position and entry: {r:?}");
        assert_ne!(r.amount, 0, "no zero rows: {r:?}");
        if let Some(h) = r.hand_no {
            *by_hand.entry(h).or_default() += r.amount;
            *in_hands.entry(r.player_id).or_default() += r.amount;
        }
        if r.kind.starts_with("void_") {
            *by_void.entry((r.hand_no, r.player_id)).or_default() += r.amount;
        }
        *by_player.entry(r.player_id).or_default() += r.amount;
    }
    assert!(by_hand.values().all(|s| *s == 0), "every hand's rows sum to zero: {by_hand:?}");
    assert!(by_void.values().all(|s| *s == 0), "every void group sums to zero");
    let on_table: BTreeMap<u64, i64> = chips(table).into_iter().map(|(p, c)| (p.0, c as i64)).collect();
    for (p, sum) in &by_player {
        assert_eq!(*sum, on_table.get(p).copied().unwrap_or(0), "player {p}: the ledger is their stack");
    }
    let mut net: BTreeMap<u64, i64> = BTreeMap::new();
    for hp in &changes.hand_players {
        *net.entry(hp.player_id).or_default() += hp.net;
    }
    for (p, sum) in &in_hands {
        assert_eq!(*sum, net.get(p).copied().unwrap_or(0), "player {p}: hand rows are their canonical net");
        assert_eq!(*sum, changes.stats.get(p).map_or(0, |s| s.net), "player {p}: and their statistics'");
    }
    let total: i64 = ledger.iter().map(|r| r.amount).sum();
    assert_eq!(total, table.chips_on_table().0 as i64, "the ledger less the chips on the table is zero");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_losing_node_that_kept_writing_is_voided_only_for_what_it_added() {
    let Forked { a, b, .. } = forked(4, 8).await;
    let (stream, codec) = (stream(), codec());
    let first = reconcile::reconcile(&*a, &*b, &stream, &codec).await.unwrap();
    let (canonical, _, c1) = compensated(&first);
    let (kept, lost) = if canonical == Side::Store { (&a, &b) } else { (&b, &a) };
    let salt = if canonical == Side::Store { 1 } else { 0 };
    let seed = if canonical == Side::Store { 202 } else { 101 };
    // The canonical table plays on after the compensation (its clock did not move) ...
    let (kept_seed, kept_salt) = if canonical == Side::Store { (101, 0) } else { (202, 1) };
    let played = drive(kept, TableBot::new(kept_seed, 4 + 8 + 2), kept_salt, |_| false).await;
    assert_eq!(played.table().hand_no().0, 14);
    // ... and the losing node, which was not fenced, dealt three more hands.
    drive(lost, TableBot::new(seed, 4 + 8 + 3), salt, |_| false).await;
    let second = reconcile::reconcile(&*a, &*b, &stream, &codec).await.unwrap();
    let (canonical2, rule2, c2) = compensated(&second);
    assert_eq!(canonical2, canonical, "a decision once recorded stands");
    assert!(matches!(rule2, Rule::Recorded { .. }), "{rule2:?}");
    assert_eq!(c2.from.0, c1.through.0 + 1, "only what the losing node added since");
    assert_eq!(c2.hands.len(), 3);
    let numbers: Vec<u64> = c2.hands.iter().map(|h| h.hand.0).collect();
    assert_eq!(numbers, [13, 14, 15]);
    assert_ne!(c2.command, c1.command);
    let third = reconcile::reconcile(&*a, &*b, &stream, &codec).await.unwrap();
    assert!(matches!(third.outcome, Outcome::AlreadyReconciled { .. }), "{:?}", third.outcome);
    let table = Table::replay(&decode(&read_stream_all(&**kept, &stream).await.unwrap()));
    let changes = fold_all(&**kept).await;
    check_ledger(&changes.ledger, &table, &changes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_in_step_or_one_ahead_are_left_alone() {
    let origin = memory();
    drive(&origin, TableBot::new(3, 3), 0, |_| false).await;
    let events = read_stream_all(&*origin, &stream()).await.unwrap();
    let (same, shorter) = (memory(), memory());
    copy(&events, &*same).await;
    // The shorter copy stops two commands before the end.
    let starts: Vec<usize> =
        (0..events.len()).filter(|&i| i == 0 || events[i].command != events[i - 1].command).collect();
    let cut = starts[starts.len() - 2];
    copy(&events[..cut], &*shorter).await;
    let r = reconcile::reconcile(&*origin, &*same, &stream(), &codec()).await.unwrap();
    assert_eq!((r.outcome, r.appended), (Outcome::InStep, None));
    let r = reconcile::reconcile(&*shorter, &*origin, &stream(), &codec()).await.unwrap();
    assert_eq!(r.outcome, Outcome::Ahead { side: Side::Branch, events: (events.len() - cut) as u64 });
    assert_eq!(r.fork, StreamVersion(cut as u64 - 1));
    assert_eq!(length(&*shorter).await, cut as u64, "nothing is copied");
}

/// Every store's events, for checking that nothing was written.
async fn everything(stores: &[&Store]) -> Vec<Vec<StoredEvent>> {
    let mut out = Vec::new();
    for s in stores {
        out.push(s.read_all(GlobalPosition::START, 1 << 20).await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_and_nothing_is_written() {
    let Forked { prefix, a, b } = forked(2, 3).await;
    let (stream, codec) = (stream(), codec());
    let before = everything(&[&a, &b]).await;
    let expect = |r: Result<Reconciliation, ReconcileError>, says: &str| {
        let e = r.expect_err(says);
        assert!(e.to_string().contains(says), "{e}");
        e
    };

    let other = StreamId::new("table-x").unwrap();
    let e = expect(reconcile::reconcile(&*a, &*b, &other, &codec).await, "no table `table-x` in either store");
    assert!(matches!(e, ReconcileError::NoSuchTable { .. }));
    let empty = memory();
    let e = expect(
        reconcile::reconcile(&*a, &*empty, &stream, &codec).await,
        "table `table-r` is in the store but not in the branch",
    );
    assert!(matches!(e, ReconcileError::Missing { missing: Side::Branch, .. }));
    let player = StreamId::new("player-7").unwrap();
    expect(reconcile::reconcile(&*a, &*b, &player, &codec).await, "reserved for player streams");

    // Another table that happens to have the same name: its first event is its own.
    let stranger = memory();
    drive(&stranger, TableBot::new(99, 1), 5, |_| false).await;
    let e = expect(reconcile::reconcile(&*a, &*stranger, &stream, &codec).await, "differ from their first event");
    assert!(matches!(e, ReconcileError::NotAFork { .. }));

    // A branch with an event that does not decode after the fork.
    let events = read_stream_all(&*b, &stream).await.unwrap();
    let mut broken = events.clone();
    let bad = prefix.len() + 4;
    broken[bad].payload = vec![0xff, 0x00, 0xff];
    let corrupt = memory();
    copy(&broken, &*corrupt).await;
    let e = expect(
        reconcile::reconcile(&*a, &*corrupt, &stream, &codec).await,
        &format!("`table-r` in the branch at version {bad} does not replay: the event does not decode"),
    );
    assert_eq!(e.kind(), showdown::store::ErrorKind::Corrupt);
    // The same branch given first: the store side is named.
    expect(reconcile::reconcile(&*corrupt, &*a, &stream, &codec).await, "in the store at version");

    // A branch whose events decode and apply, but whose hand ends with a chip more than
    // it had: the replay's conservation check refuses it before anything is written.
    let mut forged = events.clone();
    let end = (prefix.len()..forged.len())
        .find(|&i| {
            matches!(
                codec.decode(&forged[i]).unwrap().event,
                TableEvent::Hand { event: HandEvent::HandEnded { .. }, .. }
            )
        })
        .unwrap();
    let mut r = codec.decode(&forged[end]).unwrap();
    if let TableEvent::Hand { event: HandEvent::HandEnded { stacks }, .. } = &mut r.event {
        stacks[0] = Chips(stacks[0].0 + 1);
    }
    forged[end].payload = codec.encode(&stream, 0, &r, Default::default()).unwrap().payload;
    let forger = memory();
    copy(&forged, &*forger).await;
    let e = expect(
        reconcile::reconcile(&*a, &*forger, &stream, &codec).await,
        "does not replay: chips are not conserved after the command before this one",
    );
    assert!(
        matches!(e, ReconcileError::Replay { side: Some(Side::Branch), version, .. } if version.0 > end as u64),
        "{e}"
    );

    // Both streams claim to have voided the other: a copy of the canonical stream,
    // reconciled, and a copy of the losing one that was given the same compensation.
    let r = reconcile::plan(&*a, &*b, &stream, &codec).await.unwrap();
    let (canonical, _, c) = compensated(&r);
    let (kept, lost) = if canonical == Side::Store { (&a, &b) } else { (&b, &a) };
    let kept_copy = memory();
    copy(&read_stream_all(&**kept, &stream).await.unwrap(), &*kept_copy).await;
    reconcile::reconcile(&*kept_copy, &**lost, &stream, &codec).await.unwrap();
    let both = memory();
    copy(&read_stream_all(&**lost, &stream).await.unwrap(), &*both).await;
    let new = codec.encode_all(&stream, &c.events).unwrap();
    both.append(&stream, ExpectedVersion::Any, c.command, new).await.unwrap();
    let e = expect(reconcile::reconcile(&*kept_copy, &*both, &stream, &codec).await, "both streams record voiding");
    assert!(matches!(e, ReconcileError::Conflicted { .. }));

    assert_eq!(everything(&[&a, &b]).await, before, "nothing was written to either store");
}

#[cfg(feature = "sqlite")]
mod cli {
    use std::process::{Command, Output};

    use super::*;

    fn showdown(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_showdown")).args(args).output().expect("showdown runs")
    }

    fn text(out: &Output) -> (String, String) {
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    /// Copies a stream into a new SQLite file.
    async fn to_sqlite(events: &[StoredEvent], path: &std::path::Path) {
        let store = showdown_sqlite::SqliteStore::open(&format!("sqlite:{}", path.display())).await.unwrap();
        copy(events, &store).await;
        store.close().await.unwrap();
    }

    async fn sqlite_length(path: &std::path::Path) -> u64 {
        let store = showdown_sqlite::SqliteStore::open(&format!("sqlite:{}", path.display())).await.unwrap();
        let n = length(&store).await;
        store.close().await.unwrap();
        n
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_command_reconciles_two_sqlite_files_once_and_refuses_bad_input() {
        let Forked { prefix, a, b } = forked(3, 6).await;
        let dir = tempfile::tempdir().unwrap();
        let (pa, pb) = (dir.path().join("a.db"), dir.path().join("b.db"));
        let events_a = read_stream_all(&*a, &stream()).await.unwrap();
        let events_b = read_stream_all(&*b, &stream()).await.unwrap();
        to_sqlite(&events_a, &pa).await;
        to_sqlite(&events_b, &pb).await;
        let (ua, ub) = (format!("sqlite:{}", pa.display()), format!("sqlite:{}", pb.display()));
        let expected = reconcile::plan(&*a, &*b, &stream(), &codec()).await.unwrap();
        let (canonical, _, c) = compensated(&expected);

        // Bad input first: nothing may be written by any of these.
        let ghost = format!("sqlite:{}", dir.path().join("ghost.db").display());
        let same = format!("sqlite:{}/./a.db", dir.path().display());
        let stranger_path = dir.path().join("stranger.db");
        let stranger = memory();
        drive(&stranger, TableBot::new(77, 1), 9, |_| false).await;
        to_sqlite(&read_stream_all(&*stranger, &stream()).await.unwrap(), &stranger_path).await;
        let ustranger = format!("sqlite:{}", stranger_path.display());
        let mut corrupt = events_b.clone();
        let bad = prefix.len() + 2;
        corrupt[bad].payload = vec![1, 2, 3];
        let corrupt_path = dir.path().join("corrupt.db");
        to_sqlite(&corrupt, &corrupt_path).await;
        let ucorrupt = format!("sqlite:{}", corrupt_path.display());
        for (args, says) in [
            (vec!["--store", &ua, "--branch", &ua, "--table", "table-r"], "--store and --branch name the same store"),
            (vec!["--store", &ua, "--branch", &same, "--table", "table-r"], "--store and --branch name the same store"),
            (vec!["--store", &ua, "--branch", &ghost, "--table", "table-r"], "the file does not exist"),
            (vec!["--store", &ua, "--branch", &ub, "--table", "table-9"], "no table `table-9` in either store"),
            (vec!["--store", &ua, "--branch", &ub, "--table", "has space"], "invalid table name `has space`"),
            (vec!["--store", &ua, "--branch", "mysql://x/y", "--table", "table-r"], "unknown store URL `mysql://x/y`"),
            (vec!["--store", &ua, "--branch", &ustranger, "--table", "table-r"], "differ from their first event"),
            (
                vec!["--store", &ua, "--branch", &ucorrupt, "--table", "table-r"],
                &*format!("in the branch at version {bad} does not replay: the event does not decode"),
            ),
        ] {
            let out = showdown(&[&["reconcile"][..], &args].concat());
            let (stdout, err) = text(&out);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert!(stdout.is_empty() && err.lines().count() == 1 && err.contains(says), "{args:?}: {err}");
        }
        assert!(!dir.path().join("ghost.db").exists(), "no SQLite file was created");
        assert_eq!(sqlite_length(&pa).await, events_a.len() as u64);
        assert_eq!(sqlite_length(&pb).await, events_b.len() as u64);

        // The real thing.
        let out = showdown(&["reconcile", "--store", &ua, "--table", "table-r", "--branch", &ub]);
        let (stdout, err) = text(&out);

        assert!(out.status.success(), "{err}");
        let (kept_url, kept_path, kept_len) =
            if canonical == Side::Store { (&ua, &pa, events_a.len()) } else { (&ub, &pb, events_b.len()) };
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            lines[0],
            format!("table-r: fork at version {} (the last event both stores hold)", prefix.len() - 1)
        );
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("canonical: the {canonical} ({kept_url}), because "))),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!(
                "voided: the {} from version {} through {}: 7 hands (7 finished): 3, 4, 5, 6, 7, 8, 9",
                canonical.other(),
                c.from.0,
                c.through.0
            )),
            "{stdout}"
        );
        assert!(stdout.contains("refunds per player"), "{stdout}");
        assert!(
            stdout.contains(&format!(
                "appended: {} events to table-r in the {canonical} ({kept_url}), versions {} to {}",
                c.events.len(),
                kept_len,
                kept_len + c.events.len() - 1
            )),
            "{stdout}"
        );
        assert_eq!(sqlite_length(kept_path).await, (kept_len + c.events.len()) as u64);

        // Again, as JSON: already reconciled, nothing appended.
        let out = showdown(&["reconcile", "--store", &ub, "--table", "table-r", "--branch", &ua, "--json"]);
        let (stdout, err) = text(&out);
        assert!(out.status.success(), "{err}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
        assert_eq!(v["outcome"], "already_reconciled", "{v}");
        assert_eq!(v["canonical"], canonical.other().name(), "the sides are swapped in this run");
        assert_eq!(v["fork"], prefix.len() as u64 - 1);
        assert_eq!(sqlite_length(kept_path).await, (kept_len + c.events.len()) as u64);
        let out = showdown(&["verify", "--store", kept_url]);
        assert!(out.status.success(), "{}", text(&out).0);
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use showdown::store::projection::Projector;
    use showdown_postgres::ReadModels;

    use super::common::{Db, scalar};
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_postgres_ledger_books_the_void_and_its_checks_still_hold() {
        let Some(db) = Db::create("reconcile").await else { return };
        let Forked { a, b, .. } = forked(3, 8).await;
        let r = reconcile::reconcile(&*a, &*b, &stream(), &codec()).await.unwrap();
        let (canonical, _, c) = compensated(&r);
        let kept = if canonical == Side::Store { &a } else { &b };
        let rm = ReadModels::connect(&db.url).await.expect("read models connect");
        // Batches of 7: the void's rows straddle batches too.
        let mut projector = Projector::new(&**kept, codec(), rm.clone()).with_batch(7);
        projector.catch_up().await.expect("the projection catches up");
        let folded = fold_all(&**kept).await;
        let void_rows = folded.ledger.iter().filter(|r| r.kind.starts_with("void_")).count() as i64;
        assert!(void_rows > 0);
        assert_eq!(scalar(&rm, "SELECT count(*) FROM ledger WHERE kind LIKE 'void_%'").await, void_rows);
        assert_eq!(scalar(&rm, "SELECT count(*) FROM ledger").await, folded.ledger.len() as i64);
        let hands = c.hands.len() as i64;
        assert_eq!(
            scalar(&rm, "SELECT count(DISTINCT hand_no) FROM ledger WHERE kind = 'void_bet'").await,
            hands,
            "every void hand is booked"
        );
        for (check, sql) in [
            (
                "every hand's rows sum to zero",
                "SELECT count(*) FROM (SELECT 1 FROM ledger WHERE hand_no IS NOT NULL GROUP BY table_id, hand_no HAVING sum(amount) <> 0) x",
            ),
            (
                "every void group sums to zero",
                "SELECT count(*) FROM (SELECT 1 FROM ledger WHERE kind LIKE 'void_%' GROUP BY table_id, hand_no, player_id HAVING sum(amount) <> 0) x",
            ),
            (
                "each player's hand rows equal their net",
                "SELECT count(*) FROM player_stats s WHERE net_chips <> (SELECT sum(amount) FROM ledger l WHERE l.player_id = s.player_id AND l.hand_no IS NOT NULL)",
            ),
            (
                "each player's rows at the table equal the stack they have there",
                "SELECT count(*) FROM (SELECT player_id FROM ledger GROUP BY player_id HAVING sum(amount) < 0) x",
            ),
        ] {
            assert_eq!(scalar(&rm, sql).await, 0, "{check}");
        }
        assert_eq!(scalar(&rm, "SELECT count(*) FROM hands").await, 11, "only the canonical hands have rows");
        assert_eq!(
            scalar(&rm, "SELECT coalesce(sum(amount), 0)::bigint FROM ledger").await,
            Table::replay(&decode(&read_stream_all(&**kept, &stream()).await.unwrap())).chips_on_table().0 as i64,
            "the ledger less the chips on the table is zero"
        );
    }
}
