//! Proptest strategies: table configurations, raw commands, and scenarios of steps.
//!
//! A [`Step`] is a command some of whose parts are left open ([`Who`], [`Amount`], [`Clock`])
//! and filled in from the table as it stands when the step runs ([`Step::resolve`]): "the
//! player to act raises to somewhere in the legal range" stays meaningful when the shrinker
//! removes the steps before it, and generated sessions play whole hands instead of
//! bouncing off `NotYourTurn`. Raw commands with any seat, player and amount are mixed in
//! ([`Intent::Send`], [`any_command`]).

use proptest::prelude::*;

use crate::chips::Chips;
use crate::hand::legal_actions;
use crate::rules::{BettingStructure, FreeFoldPolicy, HoleCardRule, OddChipPolicy, Variant};
use crate::table::{Ante, PlayerId, SeatIdx, Straddle, Table, TableAction, TableCommand, TableConfig};

/// Players are mostly drawn from this many ids (1 to 12), so that generated commands meet
/// seated players, taken seats and players who come back after leaving.
const PLAYER_POOL: u64 = 12;

/// A table configuration and the steps played on it: the input of
/// [`TableHarness::run`](super::TableHarness::run).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Scenario {
    /// Sent first, as `TableCommand::Open`.
    pub config: TableConfig,
    /// Then these, in order.
    pub steps: Vec<Step>,
}

/// One generated command: when it is sent, and what it asks.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Step {
    /// The command's `now_ms`, relative to the previous command's.
    pub clock: Clock,
    /// The command.
    pub intent: Intent,
}

/// A command's time, relative to the previous command's `now_ms` (or the table's last event,
/// if later).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Clock {
    /// This many milliseconds later (saturating).
    Later(u64),
    /// This many milliseconds earlier (saturating at zero): the table must refuse it if that
    /// is before its last event.
    Earlier(u64),
    /// Exactly this time, whatever the previous one was.
    At(u64),
    /// When the action time and the time bank of the player to act have both run out (or no
    /// later than the previous command if nobody is to act).
    TimeOut,
}

/// Who sends a command, picked when the step runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Who {
    /// The player to act (or the first seated player, or player 1).
    ToAct,
    /// The player in the `n`-th occupied seat, counting modulo the occupied seats (or a
    /// player from the pool when nobody sits).
    Seated(u8),
    /// This player, seated or not.
    Player(PlayerId),
}

/// An amount of chips, picked when the step runs from the range the command has: the buy-in
/// range for a seating, the room under the maximum buy-in for a top-up, the legal raise-to
/// range for a raise.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Amount {
    /// At this many thousandths of the way from the range's low end to its high end.
    Within(u16),
    /// One chip below the range (saturating).
    Below,
    /// One chip above the range (saturating).
    Above,
    /// Exactly this, whatever the range: 0, huge, `u64::MAX`.
    Exactly(Chips),
}

/// A betting action with its amount left open.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Move {
    /// `TableAction::Fold`.
    Fold,
    /// `TableAction::CheckOrCall`.
    CheckOrCall,
    /// `TableAction::BetOrRaiseTo`, the amount from the legal raise-to range.
    RaiseTo(Amount),
}

/// What a step asks, with its open parts.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Intent {
    /// `TableCommand::SitDown`.
    SitDown {
        /// The `n`-th free seat, counting modulo the free seats (or modulo all seats when
        /// none is free). [`Intent::Send`] covers seats beyond the table.
        seat: u8,
        /// Who sits.
        player: PlayerId,
        /// The buy-in, from the table's buy-in range.
        buy_in: Amount,
        /// Wait for the big blind.
        wait_for_big_blind: bool,
    },
    /// `TableCommand::TopUp`.
    TopUp {
        /// Who.
        who: Who,
        /// From one chip to the room under the maximum buy-in.
        amount: Amount,
    },
    /// `TableCommand::SitOut`.
    SitOut {
        /// Who.
        who: Who,
    },
    /// `TableCommand::SitIn`.
    SitIn {
        /// Who.
        who: Who,
        /// Wait for the big blind.
        wait_for_big_blind: bool,
    },
    /// `TableCommand::Leave`.
    Leave {
        /// Who.
        who: Who,
    },
    /// `TableCommand::StartHand`, with a seed and a salt spun from this number.
    StartHand {
        /// The seed's number.
        seed: u64,
    },
    /// `TableCommand::Act`.
    Act {
        /// Who acts (mostly the player to act).
        who: Who,
        /// What they do.
        action: Move,
    },
    /// `TableCommand::Tick`.
    Tick,
    /// This command, as is.
    Send(TableCommand),
}

impl Step {
    /// The step as a command for this table: its `now_ms` and the command. The clock counts
    /// from the later of `last_now_ms` (the previous command's) and the table's last event.
    #[must_use]
    pub fn resolve(&self, table: &Table, last_now_ms: u64) -> (u64, TableCommand) {
        let last = last_now_ms.max(table.last_now_ms());
        (self.clock.resolve(table, last), self.intent.resolve(table))
    }
}

impl Clock {
    fn resolve(self, table: &Table, last: u64) -> u64 {
        match self {
            Clock::Later(ms) => last.saturating_add(ms),
            Clock::Earlier(ms) => last.saturating_sub(ms),
            Clock::At(ms) => ms,
            Clock::TimeOut => {
                let out = table.turn().map(|turn| {
                    let bank = table.seat(turn.seat).map_or(0, |s| s.time_bank_ms);
                    turn.deadline_ms.saturating_add(bank)
                });
                out.map_or(last, |out| out.max(last))
            }
        }
    }
}

impl Who {
    fn resolve(self, table: &Table) -> PlayerId {
        let seated: Vec<PlayerId> = table.seats().iter().flatten().map(|s| s.player).collect();
        match self {
            Who::ToAct => table
                .turn()
                .and_then(|turn| table.seat(turn.seat))
                .map(|s| s.player)
                .or_else(|| seated.first().copied())
                .unwrap_or(PlayerId(1)),
            Who::Seated(n) if seated.is_empty() => PlayerId(1 + u64::from(n) % PLAYER_POOL),
            Who::Seated(n) => seated[usize::from(n) % seated.len()],
            Who::Player(player) => player,
        }
    }
}

impl Amount {
    fn resolve(self, low: Chips, high: Chips) -> Chips {
        match self {
            Amount::Within(thousandths) => {
                let span = u128::from(high.0.saturating_sub(low.0));
                let offset = span * u128::from(thousandths.min(1000)) / 1000;
                Chips(low.0.saturating_add(u64::try_from(offset).unwrap_or(u64::MAX)))
            }
            Amount::Below => Chips(low.0.saturating_sub(1)),
            Amount::Above => Chips(high.0.saturating_add(1)),
            Amount::Exactly(chips) => chips,
        }
    }
}

impl Intent {
    fn resolve(&self, table: &Table) -> TableCommand {
        // Ranges come from the table's configuration, or a default one before it opened.
        let config = table.config().copied().unwrap_or_else(|| TableConfig::no_limit_holdem(1, 2));
        match self {
            Intent::SitDown { seat, player, buy_in, wait_for_big_blind } => TableCommand::SitDown {
                seat: free_seat(table, config.seats, *seat),
                player: *player,
                buy_in: buy_in.resolve(config.min_buy_in, config.max_buy_in),
                wait_for_big_blind: *wait_for_big_blind,
            },
            Intent::TopUp { who, amount } => {
                let player = who.resolve(table);
                let stack = table.seat_of(player).and_then(|seat| table.stack(seat)).unwrap_or(Chips::ZERO);
                let room = config.max_buy_in.saturating_sub(stack);
                TableCommand::TopUp { player, amount: amount.resolve(Chips(1), room) }
            }
            Intent::SitOut { who } => TableCommand::SitOut { player: who.resolve(table) },
            Intent::SitIn { who, wait_for_big_blind } => {
                TableCommand::SitIn { player: who.resolve(table), wait_for_big_blind: *wait_for_big_blind }
            }
            Intent::Leave { who } => TableCommand::Leave { player: who.resolve(table) },
            Intent::StartHand { seed } => {
                let (mut s, mut salt) = ([0u8; 32], [0u8; 32]);
                for (k, chunk) in s.chunks_mut(8).enumerate() {
                    chunk.copy_from_slice(&seed.rotate_left(8 * k as u32).to_le_bytes());
                }
                for (k, chunk) in salt.chunks_mut(8).enumerate() {
                    chunk.copy_from_slice(&(!seed).rotate_left(8 * k as u32 + 4).to_le_bytes());
                }
                TableCommand::StartHand { seed: s, salt }
            }
            Intent::Act { who, action } => {
                let action = match action {
                    Move::Fold => TableAction::Fold,
                    Move::CheckOrCall => TableAction::CheckOrCall,
                    Move::RaiseTo(amount) => {
                        let range = legal_actions(table.hand()).and_then(|legal| legal.raise.ok());
                        let (low, high) = range.map_or((config.big_blind, config.big_blind), |r| (r.min, r.max));
                        TableAction::BetOrRaiseTo(amount.resolve(low, high))
                    }
                };
                TableCommand::Act { player: who.resolve(table), action }
            }
            Intent::Tick => TableCommand::Tick,
            Intent::Send(command) => command.clone(),
        }
    }
}

/// The `n`-th free seat of a table of `seats`, or the `n`-th seat if none is free.
fn free_seat(table: &Table, seats: u8, n: u8) -> SeatIdx {
    let seats = seats.clamp(1, crate::table::MAX_SEATS as u8);
    let free: Vec<u8> = (0..seats).filter(|&s| table.seat(SeatIdx(s)).is_none()).collect();
    match free.len() {
        0 => SeatIdx(n % seats),
        len => SeatIdx(free[usize::from(n) % len]),
    }
}

/// Any amount of chips, biased towards the edges: 0, 1, small amounts, half of `u64::MAX`,
/// `u64::MAX - 1` and `u64::MAX`.
pub fn any_chips() -> impl Strategy<Value = Chips> {
    prop_oneof![
        Just(0u64),
        Just(1u64),
        2..=1_000u64,
        Just(u64::MAX / 2),
        Just(u64::MAX - 1),
        Just(u64::MAX),
        any::<u64>(),
    ]
    .prop_map(Chips)
}

/// A player id: mostly one of twelve, so that commands meet seated players; sometimes any.
fn player() -> impl Strategy<Value = PlayerId> {
    prop_oneof![9 => (1..=PLAYER_POOL).prop_map(PlayerId), 1 => any::<u64>().prop_map(PlayerId)]
}

fn odd_chips() -> impl Strategy<Value = OddChipPolicy> {
    prop_oneof![Just(OddChipPolicy::FirstInPhhOrder), Just(OddChipPolicy::RoundRobinFromFirst)]
}

fn free_fold() -> impl Strategy<Value = FreeFoldPolicy> {
    prop_oneof![Just(FreeFoldPolicy::Reject), Just(FreeFoldPolicy::Allow)]
}

/// Configurations [`TableConfig::validate`] accepts, with stakes a table could play: blinds
/// up to 100, buy-ins from below the big blind up to 250 big blinds, each variant the table
/// offers, antes, straddles, short clocks and either policy.
pub fn valid_config() -> impl Strategy<Value = TableConfig> {
    let stakes = (1..=100u64).prop_flat_map(|bb| (Just(bb), 0..=bb, 1..=bb * 50, 0..=bb * 200));
    // 0: NT, 1: PO, 2: FT.
    let variant = 0..=2u8;
    let extras = (
        // 0: no ante, 1: per player, 2: big-blind ante.
        0..=2u8,
        0..=20u64,
        prop::option::of(2..=4u64),
        2..=crate::table::MAX_SEATS as u8,
        1..=30_000u64,
        0..=60_000u64,
        odd_chips(),
        free_fold(),
    );
    (stakes, variant, extras)
        .prop_map(|((bb, sb, min, span), variant, (ante_kind, ante, straddle, seats, action, bank, odd, fold))| {
            let variant = match variant {
                0 => Variant::no_limit_holdem(),
                1 => Variant::pot_limit_omaha(),
                _ => Variant::fixed_limit_holdem(Chips(bb), Chips(2 * bb)),
            };
            let ante = match ante_kind {
                0 => Ante::None,
                1 => Ante::PerPlayer(Chips(ante.min(bb))),
                _ => Ante::BigBlind(Chips(ante.min(bb))),
            };
            TableConfig {
                variant,
                small_blind: Chips(sb),
                big_blind: Chips(bb),
                ante,
                straddle: straddle.map_or(Straddle::None, |k| Straddle::Mandatory(Chips(k * bb))),
                seats,
                min_buy_in: Chips(min),
                max_buy_in: Chips(min + span),
                action_time_ms: action,
                time_bank_ms: bank,
                odd_chips: odd,
                free_fold: fold,
            }
        })
        .prop_filter("the engine accepts the configuration", |c| c.validate().is_ok())
        .boxed()
}

/// Any configuration, valid or not: any variant (including those the table refuses), any
/// amounts (0 and `u64::MAX` included), any seat count, zero clocks.
pub fn any_config() -> impl Strategy<Value = TableConfig> {
    let betting = prop_oneof![
        Just(BettingStructure::NoLimit),
        Just(BettingStructure::PotLimit),
        (any_chips(), any_chips()).prop_map(|(small_bet, big_bet)| BettingStructure::FixedLimit { small_bet, big_bet }),
    ];
    let hole_cards = prop_oneof![Just(HoleCardRule::Holdem), Just(HoleCardRule::Omaha)];
    let variant = (betting, hole_cards).prop_map(|(betting, hole_cards)| Variant { betting, hole_cards });
    let ante =
        prop_oneof![Just(Ante::None), any_chips().prop_map(Ante::PerPlayer), any_chips().prop_map(Ante::BigBlind),];
    let straddle = prop_oneof![Just(Straddle::None), any_chips().prop_map(Straddle::Mandatory)];
    let seats = prop_oneof![4 => 0..=12u8, 1 => any::<u8>()];
    let time = prop_oneof![Just(0u64), 1..=60_000u64, Just(u64::MAX)];
    (
        (variant, any_chips(), any_chips(), ante, straddle, seats),
        (any_chips(), any_chips(), time.clone(), time, odd_chips(), free_fold()),
    )
        .prop_map(
            |(
                (variant, small_blind, big_blind, ante, straddle, seats),
                (min_buy_in, max_buy_in, action_time_ms, time_bank_ms, odd_chips, free_fold),
            )| TableConfig {
                variant,
                small_blind,
                big_blind,
                ante,
                straddle,
                seats,
                min_buy_in,
                max_buy_in,
                action_time_ms,
                time_bank_ms,
                odd_chips,
                free_fold,
            },
        )
        .boxed()
}

fn any_action() -> impl Strategy<Value = TableAction> {
    prop_oneof![
        Just(TableAction::Fold),
        Just(TableAction::CheckOrCall),
        any_chips().prop_map(TableAction::BetOrRaiseTo),
    ]
}

/// Any command, as a careless or hostile sender might send it: any seat, any player, any
/// amount, any configuration, any seed.
pub fn any_command() -> impl Strategy<Value = TableCommand> {
    prop_oneof![
        any_config().prop_map(|config| TableCommand::Open { config }),
        (any::<u8>(), player(), any_chips(), any::<bool>()).prop_map(|(seat, player, buy_in, wait)| {
            TableCommand::SitDown { seat: SeatIdx(seat), player, buy_in, wait_for_big_blind: wait }
        }),
        (player(), any_chips()).prop_map(|(player, amount)| TableCommand::TopUp { player, amount }),
        player().prop_map(|player| TableCommand::SitOut { player }),
        (player(), any::<bool>()).prop_map(|(player, wait)| TableCommand::SitIn { player, wait_for_big_blind: wait }),
        player().prop_map(|player| TableCommand::Leave { player }),
        (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(seed, salt)| TableCommand::StartHand { seed, salt }),
        (player(), any_action()).prop_map(|(player, action)| TableCommand::Act { player, action }),
        Just(TableCommand::Tick),
    ]
    .boxed()
}

fn clock() -> impl Strategy<Value = Clock> {
    prop_oneof![
        40 => (0..1_500u64).prop_map(Clock::Later),
        1 => (0..120_000u64).prop_map(Clock::Later),
        2 => (1..5_000u64).prop_map(Clock::Earlier),
        1 => Just(Clock::TimeOut),
        1 => any::<u64>().prop_map(Clock::At),
    ]
}

fn amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        12 => (0..=1000u16).prop_map(Amount::Within),
        1 => Just(Amount::Below),
        1 => Just(Amount::Above),
        1 => any_chips().prop_map(Amount::Exactly),
    ]
}

/// Mostly the player to act.
fn actor() -> impl Strategy<Value = Who> {
    prop_oneof![8 => Just(Who::ToAct), 2 => any::<u8>().prop_map(Who::Seated), 1 => player().prop_map(Who::Player)]
}

/// Mostly somebody seated.
fn anyone() -> impl Strategy<Value = Who> {
    prop_oneof![2 => Just(Who::ToAct), 6 => any::<u8>().prop_map(Who::Seated), 1 => player().prop_map(Who::Player)]
}

fn action() -> impl Strategy<Value = Move> {
    prop_oneof![1 => Just(Move::Fold), 6 => Just(Move::CheckOrCall), 2 => amount().prop_map(Move::RaiseTo)]
}

/// What one step asks: mostly the player to act acting, hands being dealt and players
/// sitting down, then top-ups, sitting out and in, leaving, ticks and raw commands.
pub fn intent() -> impl Strategy<Value = Intent> {
    let seat = any::<u8>();
    let wait = prop::bool::weighted(0.3);
    prop_oneof![
        45 => (actor(), action()).prop_map(|(who, action)| Intent::Act { who, action }),
        18 => any::<u64>().prop_map(|seed| Intent::StartHand { seed }),
        20 => (seat, player(), amount(), wait).prop_map(|(seat, player, buy_in, wait_for_big_blind)| {
            Intent::SitDown { seat, player, buy_in, wait_for_big_blind }
        }),
        5 => (anyone(), amount()).prop_map(|(who, amount)| Intent::TopUp { who, amount }),
        3 => anyone().prop_map(|who| Intent::SitOut { who }),
        4 => (anyone(), wait).prop_map(|(who, wait_for_big_blind)| Intent::SitIn { who, wait_for_big_blind }),
        3 => anyone().prop_map(|who| Intent::Leave { who }),
        8 => Just(Intent::Tick),
        3 => any_command().prop_map(Intent::Send),
    ]
    .boxed()
}

/// One step: a [`Clock`] and an [`intent`].
pub fn step() -> impl Strategy<Value = Step> {
    (clock(), intent()).prop_map(|(clock, intent)| Step { clock, intent }).boxed()
}

/// Scenarios on valid configurations, of 1 to 160 steps: what [`check`](super::check)
/// and the examples use.
pub fn scenario() -> impl Strategy<Value = Scenario> {
    scenario_from(valid_config(), 1..=160)
}

/// Scenarios on configurations from `configs` (say [`any_config`]), with a number of steps
/// in `steps`.
pub fn scenario_from(
    configs: impl Strategy<Value = TableConfig>,
    steps: impl Into<prop::collection::SizeRange>,
) -> impl Strategy<Value = Scenario> {
    (configs, prop::collection::vec(step(), steps)).prop_map(|(config, steps)| Scenario { config, steps })
}
