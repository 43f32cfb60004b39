//! Criterion benchmarks of a table stream: a full session (six players join, 1,000 hands,
//! everyone leaves) played through `Table::execute`, the path every command of a server
//! takes, and replayed from memory with `Table::replay`, the path a server takes to recover
//! a table. The target for the replay is under 5 ms per session.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use showdown::engine::chips::Chips;
use showdown::engine::hand::legal_actions;
use showdown::engine::table::{
    CommandEnvelope, CommandId, PlayerId, Recorded, SeatIdx, Table, TableAction, TableCommand, TableConfig,
};

const HANDS: u64 = 1_000;
/// Room for a whole session's events, so that the timing holds no growth of the log.
const LOG_CAPACITY: usize = 100_000;

/// Plays a session with simple bots (mostly calls, some minimum raises, some folds) and
/// returns the table and its stored events.
fn play() -> (Table, Vec<Recorded>) {
    let mut table = Table::new();
    let mut log = Vec::with_capacity(LOG_CAPACITY);
    let mut id = 0u128;
    let mut now = 0u64;
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut send = |table: &mut Table, log: &mut Vec<Recorded>, now: u64, command: TableCommand| {
        id += 1;
        table.execute(&CommandEnvelope { id: CommandId(id), now_ms: now, command }, log)
    };
    send(&mut table, &mut log, now, TableCommand::Open { config: TableConfig::no_limit_holdem(1, 2) }).unwrap();
    for seat in 0..6u8 {
        let command = TableCommand::SitDown {
            seat: SeatIdx(seat),
            player: PlayerId(u64::from(seat) + 1),
            buy_in: Chips(400),
            wait_for_big_blind: false,
        };
        send(&mut table, &mut log, now, command).unwrap();
    }
    for hand in 0..HANDS {
        // Busted players reload so that six play every hand.
        for seat in 0..6u8 {
            let s = *table.seat(SeatIdx(seat)).unwrap();
            if s.stack < Chips(100) {
                send(&mut table, &mut log, now, TableCommand::TopUp { player: s.player, amount: Chips(400) - s.stack })
                    .unwrap();
            }
            if s.sitting_out {
                let command = TableCommand::SitIn { player: s.player, wait_for_big_blind: false };
                send(&mut table, &mut log, now, command).unwrap();
            }
        }
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&hand.to_le_bytes());
        send(&mut table, &mut log, now, TableCommand::StartHand { seed, salt: [7; 32] }).unwrap();
        while table.in_hand() {
            now += 500;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let legal = legal_actions(table.hand()).unwrap();
            let player = table.seat(table.positions().seat(legal.actor)).unwrap().player;
            let action = match (x % 10, legal.raise) {
                (0, _) if legal.can_fold => TableAction::Fold,
                (1, Ok(range)) => TableAction::BetOrRaiseTo(range.min),
                _ => TableAction::CheckOrCall,
            };
            send(&mut table, &mut log, now, TableCommand::Act { player, action }).unwrap();
        }
    }
    for seat in 0..6u8 {
        let player = table.seat(SeatIdx(seat)).unwrap().player;
        send(&mut table, &mut log, now, TableCommand::Leave { player }).unwrap();
    }
    (table, log)
}

fn session(c: &mut Criterion) {
    let (table, log) = play();
    assert_eq!(Table::replay(&log), table);
    assert!(log.len() <= LOG_CAPACITY, "the session outgrew LOG_CAPACITY: raise it");
    let mut group = c.benchmark_group("table_session");
    group.throughput(Throughput::Elements(log.len() as u64));
    group.bench_function("play_1000_hands", |b| b.iter(play));
    group.bench_function("replay_1000_hands", |b| b.iter(|| Table::replay(std::hint::black_box(&log))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(3));
    targets = session
}
criterion_main!(benches);
