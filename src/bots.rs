//! [`TableBot`]: the host and players of a simulated table, as one function of the table's
//! state: [`TableBot::next`] says what command comes next. `showdown simulate` and
//! `showdown stress` drive tables with it through the `TableService`.
//!
//! The bot is deterministic: its choices, command ids, clock and shuffle seeds come from
//! its seed, a salt (which table, which writer) and the stream version the table is at. So
//! a simulation stopped at any instant and started again picks up exactly where the store
//! is, and two runs with one seed store the same streams. (Real hosts draw shuffle seeds
//! from a secret random source; here they are derived, and so are not secret.)

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use crate::engine::chips::Chips;
use crate::engine::hand::legal_actions;
use crate::engine::table::{
    CommandEnvelope, CommandId, PlayerId, SeatIdx, Table, TableAction, TableCommand, TableConfig,
};
use crate::sim::{Move, oracle_move};

/// Milliseconds the bot's clock moves per command: well inside the action time, so nobody
/// times out.
const STEP_MS: u64 = 1_000;

/// Bots at a six-max no-limit table (blinds 1/2, buy-in 200), playing like PokerKit's
/// oracle player. Between hands, busted players top up, a few winners cash out, and new
/// players fill empty seats.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TableBot {
    seed: u64,
    hands: u64,
}

impl TableBot {
    /// Bots that play until the table has dealt `hands` hands (`u64::MAX`: forever).
    #[must_use]
    pub const fn new(seed: u64, hands: u64) -> TableBot {
        TableBot { seed, hands }
    }

    /// The configuration the bots open tables with.
    #[must_use]
    pub fn config() -> TableConfig {
        TableConfig::no_limit_holdem(1, 2)
    }

    /// The next command for `table`, whose stream has `events` events (its version plus
    /// one), from the host or player `salt` (a table number, a writer number); `None` once
    /// the table dealt its hands and the last one ended.
    #[must_use]
    pub fn next(&self, table: &Table, events: u64, salt: u64) -> Option<CommandEnvelope> {
        let mut rng = ChaCha8Rng::seed_from_u64(mix(mix(self.seed, salt), events));
        let id = CommandId((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64()));
        let now_ms = table.last_now_ms() + STEP_MS;
        let command = self.choose(table, salt, &mut rng)?;
        Some(CommandEnvelope { id, now_ms, command })
    }

    fn choose(&self, table: &Table, salt: u64, rng: &mut ChaCha8Rng) -> Option<TableCommand> {
        let Some(config) = table.config() else {
            return Some(TableCommand::Open { config: TableBot::config() });
        };
        if table.in_hand() {
            let turn = table.turn()?;
            let player = table.seat(turn.seat)?.player;
            let legal = legal_actions(table.hand())?;
            let action = match oracle_move(&legal, rng) {
                Move::Fold => TableAction::Fold,
                Move::CheckOrCall => TableAction::CheckOrCall,
                Move::RaiseTo(to) => TableAction::BetOrRaiseTo(to),
            };
            return Some(TableCommand::Act { player, action });
        }
        if table.hand_no().0 >= self.hands {
            return None;
        }
        let buy_in = Chips(config.big_blind.0 * 100);
        for (i, seat) in table.seats().iter().enumerate() {
            let seat_idx = SeatIdx(i as u8);
            let Some(s) = seat else {
                // A new player, numbered by table and hand so that ids never repeat.
                let player = PlayerId(mix(salt, table.hand_no().0 * 16 + i as u64) >> 1);
                return Some(TableCommand::SitDown { seat: seat_idx, player, buy_in, wait_for_big_blind: false });
            };
            if s.stack.is_zero() {
                return Some(TableCommand::TopUp { player: s.player, amount: buy_in });
            }
            if s.sitting_out {
                return Some(TableCommand::SitIn { player: s.player, wait_for_big_blind: false });
            }
            if s.stack.0 > buy_in.0 * 2 && rng.next_u64().is_multiple_of(4) {
                return Some(TableCommand::Leave { player: s.player });
            }
        }
        let mut seed = [0u8; 32];
        let mut salt_bytes = [0u8; 32];
        rng.fill_bytes(&mut seed);
        rng.fill_bytes(&mut salt_bytes);
        Some(TableCommand::StartHand { seed, salt: salt_bytes })
    }
}

/// SplitMix64's finalizer over two words: well-spread seeds from small numbers.
#[must_use]
pub const fn mix(a: u64, b: u64) -> u64 {
    let mut z = a.wrapping_add(b.wrapping_mul(0x9e37_79b9_7f4a_7c15)).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plays a table to `hands` hands in memory; every command the bot sends is accepted.
    fn play(bot: TableBot, salt: u64) -> (Table, u64) {
        let mut table = Table::new();
        let mut events = 0u64;
        let mut out = Vec::new();
        while let Some(command) = bot.next(&table, events, salt) {
            out.clear();
            table.execute(&command, &mut out).unwrap_or_else(|e| panic!("{:?} refused: {e}", command.command));
            assert!(!out.is_empty(), "every bot command changes the table");
            events += out.len() as u64;
            assert!(table.chips_conserved());
        }
        (table, events)
    }

    #[test]
    fn bots_play_their_hands_with_legal_commands_only() {
        let (table, events) = play(TableBot::new(7, 300), 3);
        assert_eq!(table.hand_no().0, 300);
        assert!(!table.in_hand());
        assert!(table.cashed_out() > 0, "some winners cashed out");
        assert!(events > 300 * 10);
    }

    #[test]
    fn a_seed_and_salt_fix_the_table() {
        assert_eq!(play(TableBot::new(1, 50), 0), play(TableBot::new(1, 50), 0));
        assert_ne!(play(TableBot::new(1, 50), 0).0, play(TableBot::new(1, 50), 1).0);
    }
}
