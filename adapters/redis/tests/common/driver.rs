//! A small deterministic table driver: tables opened, seated and played through the
//! `TableService` into a store, with what each player put in kept on the side, so that the
//! expected leaderboards come from the tables' stacks rather than from the fold under test.

use std::collections::BTreeMap;
use std::sync::Arc;

use showdown_engine::chips::Chips;
use showdown_engine::hand::legal_actions;
use showdown_engine::table::{
    CommandEnvelope, CommandId, PlayerId, SeatIdx, Table, TableAction, TableCommand, TableConfig,
};
use showdown_store::codec::TableCodec;
use showdown_store::readmodel::{Changes, ReadModelFold};
use showdown_store::{EventStore, GlobalPosition, LoadedTable, MemoryStore, StreamId, StreamVersion, TableService};

/// Players are numbered 1 to this; each table seats six of them, so players play at several
/// tables and their leaderboard rows add up across tables.
pub const PLAYERS: u64 = 9;
const BUY_IN: u64 = 200;

/// SplitMix64's finalizer over two words.
pub fn mix(a: u64, b: u64) -> u64 {
    let mut z = a.wrapping_add(b.wrapping_mul(0x9e37_79b9_7f4a_7c15)).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The player table `t` seats at `seat`.
pub fn player(t: usize, seat: usize) -> PlayerId {
    PlayerId((t as u64 + seat as u64) % PLAYERS + 1)
}

/// The next command at table `t` (whose stream has `events` events), `None` once it dealt
/// `hands` hands and the last one ended. Nobody leaves; a busted player tops up.
pub fn next_command(table: &Table, t: usize, events: u64, hands: u64) -> Option<CommandEnvelope> {
    let r = mix(t as u64, events);
    let id = CommandId((u128::from(t as u64 + 1) << 64) | u128::from(events));
    let now_ms = table.last_now_ms() + 1_000;
    let command = if table.config().is_none() {
        TableCommand::Open { config: TableConfig::no_limit_holdem(1, 2) }
    } else if table.in_hand() {
        let turn = table.turn()?;
        let player = table.seat(turn.seat)?.player;
        let legal = legal_actions(table.hand())?;
        let action = match (r % 10, legal.raise) {
            (0, _) if legal.can_fold => TableAction::Fold,
            (1 | 2, Ok(range)) => TableAction::BetOrRaiseTo(range.min),
            _ => TableAction::CheckOrCall,
        };
        TableCommand::Act { player, action }
    } else if table.hand_no().0 >= hands {
        return None;
    } else {
        let mut command = None;
        for (i, seat) in table.seats().iter().enumerate() {
            match seat {
                None => {
                    command = Some(TableCommand::SitDown {
                        seat: SeatIdx(i as u8),
                        player: player(t, i),
                        buy_in: Chips(BUY_IN),
                        wait_for_big_blind: false,
                    });
                }
                Some(s) if s.stack.is_zero() => {
                    command = Some(TableCommand::TopUp { player: s.player, amount: Chips(BUY_IN) });
                }
                Some(_) => {}
            }
            if command.is_some() {
                break;
            }
        }
        command.unwrap_or_else(|| {
            let mut seed = [0u8; 32];
            let mut salt = [0u8; 32];
            for (k, chunk) in seed.chunks_mut(8).chain(salt.chunks_mut(8)).enumerate() {
                chunk.copy_from_slice(&mix(r, k as u64).to_le_bytes());
            }
            TableCommand::StartHand { seed, salt }
        })
    };
    Some(CommandEnvelope { id, now_ms, command })
}

/// Tables played through a service, with what each player bought in for.
pub struct Tables {
    pub store: Arc<MemoryStore>,
    pub service: TableService,
    pub loaded: Vec<LoadedTable>,
    /// Chips each player brought to the tables (buy-ins and top-ups).
    pub invested: BTreeMap<u64, i64>,
}

impl Tables {
    /// `n` tables named `{prefix}-{i}`, nothing played yet.
    pub fn new(prefix: &str, n: usize) -> Tables {
        let store = Arc::new(MemoryStore::new());
        let service = TableService::new(store.clone(), showdown_store::ServiceConfig::default());
        let loaded = (0..n).map(|i| LoadedTable::new(StreamId::new(format!("{prefix}-{i}")).unwrap())).collect();
        Tables { store, service, loaded, invested: BTreeMap::new() }
    }

    pub fn streams(&self) -> Vec<StreamId> {
        self.loaded.iter().map(|l| l.stream().clone()).collect()
    }

    /// Plays every table until it dealt `hands` hands in all.
    pub async fn play(&mut self, hands: u64) {
        for t in 0..self.loaded.len() {
            while let Some(command) = next_command(self.loaded[t].table(), t, self.loaded[t].events(), hands) {
                match &command.command {
                    TableCommand::SitDown { player, buy_in, .. } => {
                        *self.invested.entry(player.0).or_default() += buy_in.0 as i64;
                    }
                    TableCommand::TopUp { player, amount } => {
                        *self.invested.entry(player.0).or_default() += amount.0 as i64;
                    }
                    _ => {}
                }
                self.service
                    .handle(&mut self.loaded[t], &command)
                    .await
                    .unwrap_or_else(|e| panic!("table {t}: {:?}: {e:?}", command.command));
            }
        }
    }

    /// Net chips per player: their stacks at the tables (no hand running) less what they
    /// brought.
    pub fn expected_net(&self) -> BTreeMap<u64, i64> {
        let mut net: BTreeMap<u64, i64> = self.invested.iter().map(|(p, i)| (*p, -i)).collect();
        for loaded in &self.loaded {
            let table = loaded.table();
            assert!(!table.in_hand(), "expected_net wants the hands ended");
            for seat in table.seats().iter().flatten() {
                *net.entry(seat.player.0).or_default() += seat.stack.0 as i64;
            }
        }
        net
    }

    /// Hands dealt per player: the `hand_players` rows of one fold over the whole store
    /// (in one batch, so independent of how the projection batched).
    pub async fn expected_hands(&self) -> BTreeMap<u64, i64> {
        let all = self.store.read_all(GlobalPosition::START, usize::MAX).await.unwrap();
        let mut fold = ReadModelFold::new(TableCodec::default());
        let mut changes = Changes::default();
        for stored in &all {
            fold.fold(stored, &mut changes).unwrap();
        }
        let mut hands = BTreeMap::new();
        for row in &changes.hand_players {
            *hands.entry(row.player_id).or_default() += 1;
        }
        hands
    }

    /// The position of the store's last event.
    pub async fn last_position(&self) -> Option<GlobalPosition> {
        let all = self.store.read_all(GlobalPosition::START, usize::MAX).await.unwrap();
        all.last().map(|e| e.position)
    }

    /// A replay of a stream from its first event, and its last version.
    pub async fn replay(&self, stream: &StreamId, codec: &TableCodec) -> (Table, StreamVersion) {
        let stored = self.store.read_stream(stream, StreamVersion(0), usize::MAX).await.unwrap();
        let recorded: Vec<_> = stored.iter().map(|e| codec.decode(e).unwrap()).collect();
        (Table::replay(&recorded), stored.last().unwrap().version)
    }
}
