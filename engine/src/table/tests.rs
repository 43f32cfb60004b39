//! Tests of the table: given some commands, when one more is sent, then these events or this
//! rejection (with the table unchanged); and a seeded session of many hands with an auditor
//! that checks the table's invariants after every event. A failing session prints its seed.

use super::*;
use crate::hand::{Event as H, legal_actions};
use crate::rules::{BettingStructure, FreeFoldPolicy, HoleCardRule, OddChipPolicy, Variant};
use crate::testing::{Auditor, SplitMix};

/// A host driving one table: the live table (kept by `execute`), the stored events, and a
/// mirror rebuilt from those events alone.
struct Host {
    table: Table,
    log: Vec<Recorded>,
    now: u64,
    next_id: u128,
}

impl Host {
    fn new() -> Host {
        Host { table: Table::new(), log: Vec::new(), now: 1_000, next_id: 1 }
    }

    fn open(config: TableConfig) -> Host {
        let mut host = Host::new();
        host.ok(TableCommand::Open { config });
        host
    }

    fn envelope(&mut self, command: TableCommand) -> CommandEnvelope {
        let id = CommandId(self.next_id);
        self.next_id += 1;
        CommandEnvelope { id, now_ms: self.now, command }
    }

    fn send(&mut self, command: TableCommand) -> Result<Vec<Recorded>, TableRejection> {
        let env = self.envelope(command);
        let mut out = Vec::new();
        self.table.execute(&env, &mut out)?;
        for r in &out {
            assert_eq!(r.command, env.id, "every event records the command that caused it");
            assert_eq!(r.schema, SCHEMA_VERSION);
        }
        self.log.extend_from_slice(&out);
        Ok(out)
    }

    #[track_caller]
    fn ok(&mut self, command: TableCommand) -> Vec<Recorded> {
        match self.send(command.clone()) {
            Ok(events) => events,
            Err(e) => panic!("{command:?} was refused: {e}"),
        }
    }

    /// Sends a command that must be refused, and checks that nothing changed.
    #[track_caller]
    fn refused(&mut self, command: TableCommand) -> TableRejection {
        let before = self.table.clone();
        let env = self.envelope(command.clone());
        let decided = decide(&self.table, &env);
        let mut out = Vec::new();
        let executed = self.table.execute(&env, &mut out);
        assert!(out.is_empty());
        assert_eq!(self.table, before, "a refused command changed the table");
        match (decided, executed) {
            (Err(a), Err(b)) => {
                assert_eq!(a, b);
                a
            }
            other => panic!("{command:?} was accepted: {other:?}"),
        }
    }

    fn sit(&mut self, seat: u8, player: u64, buy_in: u64) {
        self.ok(TableCommand::SitDown {
            seat: SeatIdx(seat),
            player: PlayerId(player),
            buy_in: Chips(buy_in),
            wait_for_big_blind: false,
        });
    }

    fn start(&mut self, n: u8) -> Vec<Recorded> {
        self.ok(TableCommand::StartHand { seed: [n; 32], salt: [n.wrapping_add(100); 32] })
    }

    /// The player whose turn it is.
    fn actor(&self) -> Option<PlayerId> {
        let pos = self.table.hand().actor()?;
        let seat = self.table.positions().seat(pos);
        self.table.seat(seat).map(|s| s.player)
    }

    fn act(&mut self, action: TableAction) -> Vec<Recorded> {
        let player = self.actor().expect("someone is to act");
        self.ok(TableCommand::Act { player, action })
    }

    /// Everyone checks or calls to the end of the hand.
    fn check_down(&mut self) {
        while self.table.in_hand() {
            self.act(TableAction::CheckOrCall);
        }
    }

    /// Everyone folds to the big blind.
    fn fold_round(&mut self) {
        while self.table.in_hand() {
            let legal = legal_actions(self.table.hand()).expect("someone is to act");
            let action = if legal.can_fold { TableAction::Fold } else { TableAction::CheckOrCall };
            self.act(action);
        }
    }

    fn replayed(&self) -> Table {
        Table::replay(&self.log)
    }
}

fn config6() -> TableConfig {
    TableConfig::no_limit_holdem(1, 2)
}

fn events(recorded: &[Recorded]) -> impl Iterator<Item = &TableEvent> {
    recorded.iter().map(|r| &r.event)
}

/// (seat, amount, post) of every blind posted.
fn blinds_posted(recorded: &[Recorded]) -> Vec<(u8, u64, bool)> {
    events(recorded)
        .filter_map(|e| match e {
            TableEvent::Hand { seat: Some(s), event: H::BlindPosted { amount, post, .. } } => {
                Some((s.0, amount.0, *post))
            }
            _ => None,
        })
        .collect()
}

fn antes_posted(recorded: &[Recorded]) -> Vec<(u8, u64)> {
    events(recorded)
        .filter_map(|e| match e {
            TableEvent::Hand { seat: Some(s), event: H::AntePosted { amount, .. } } => Some((s.0, amount.0)),
            _ => None,
        })
        .collect()
}

#[test]
fn table_config_is_checked_in_order_on_open() {
    let base = config6();
    let cases: Vec<(TableConfig, ConfigRejection, &str)> = vec![
        (
            TableConfig { big_blind: Chips(0), seats: 11, ..base },
            ConfigRejection::ZeroBigBlind,
            "big blind must be above zero",
        ),
        (TableConfig { seats: 11, ..base }, ConfigRejection::SeatCount { seats: 11, max: 10 }, "2 to 10 seats, not 11"),
        (TableConfig { seats: 1, ..base }, ConfigRejection::SeatCount { seats: 1, max: 10 }, "not 1"),
        (
            TableConfig { min_buy_in: Chips(500), max_buy_in: Chips(400), ..base },
            ConfigRejection::MinBuyInAboveMax { min: Chips(500), max: Chips(400) },
            "minimum buy-in 500 is above the maximum 400",
        ),
        (
            TableConfig {
                variant: Variant { betting: BettingStructure::NoLimit, hole_cards: HoleCardRule::Omaha },
                ..base
            },
            ConfigRejection::UnsupportedVariant { code: "NO" },
            "variant NO is not supported",
        ),
        (
            TableConfig { small_blind: Chips(3), ..base },
            ConfigRejection::SmallBlindAboveBigBlind { small: Chips(3), big: Chips(2) },
            "small blind 3 is larger than the big blind 2",
        ),
        (
            TableConfig { straddle: Straddle::Mandatory(Chips(3)), ..base },
            ConfigRejection::StraddleTooSmall { straddle: Chips(3), min: Chips(4) },
            "below twice the big blind",
        ),
        (
            TableConfig { min_buy_in: Chips(0), ..base },
            ConfigRejection::ZeroMinBuyIn,
            "minimum buy-in must be above zero",
        ),
        (TableConfig { action_time_ms: 0, ..base }, ConfigRejection::ZeroActionTime, "time per action"),
        (
            TableConfig { max_buy_in: Chips(u64::MAX - 1), ..base },
            ConfigRejection::MaxBuyInTooLarge { max: Chips(u64::MAX - 1), limit: TableConfig::MAX_BUY_IN_LIMIT },
            "above the limit",
        ),
    ];
    for (config, expected, message) in cases {
        let mut host = Host::new();
        let rejection = host.refused(TableCommand::Open { config });
        assert_eq!(rejection, TableRejection::Config(expected));
        let cause = std::error::Error::source(&rejection).expect("the cause is the source").to_string();
        assert!(cause.contains(message), "{cause:?} should say {message:?}");
        assert_eq!(host.table, Table::new());
    }
    // Every supported variant opens.
    for variant in
        [Variant::no_limit_holdem(), Variant::pot_limit_omaha(), Variant::fixed_limit_holdem(Chips(2), Chips(4))]
    {
        Host::open(TableConfig { variant, ..base });
    }
    let mut host = Host::open(base);
    assert_eq!(host.refused(TableCommand::Open { config: base }), TableRejection::AlreadyOpen);
    let mut closed = Host::new();
    assert_eq!(closed.refused(TableCommand::Tick), TableRejection::NotOpen);
}

#[test]
fn table_seating_rejections_change_nothing_and_say_why() {
    let mut host = Host::open(config6());
    host.sit(0, 10, 200);
    let cases = [
        (
            TableCommand::SitDown {
                seat: SeatIdx(0),
                player: PlayerId(11),
                buy_in: Chips(200),
                wait_for_big_blind: false,
            },
            TableRejection::SeatTaken { seat: SeatIdx(0) },
            "seat 0 is taken",
        ),
        (
            TableCommand::SitDown {
                seat: SeatIdx(6),
                player: PlayerId(11),
                buy_in: Chips(200),
                wait_for_big_blind: false,
            },
            TableRejection::NoSuchSeat { seat: SeatIdx(6), seats: 6 },
            "seat 6 does not exist: the table has 6 seats",
        ),
        (
            TableCommand::SitDown {
                seat: SeatIdx(1),
                player: PlayerId(10),
                buy_in: Chips(200),
                wait_for_big_blind: false,
            },
            TableRejection::AlreadySeated { player: PlayerId(10), seat: SeatIdx(0) },
            "player 10 already sits at seat 0",
        ),
        (
            TableCommand::SitDown {
                seat: SeatIdx(1),
                player: PlayerId(11),
                buy_in: Chips(79),
                wait_for_big_blind: false,
            },
            TableRejection::BuyInOutOfRange { amount: Chips(79), min: Chips(80), max: Chips(400) },
            "a buy-in of 79 is outside the range 80 to 400",
        ),
        (
            TableCommand::SitDown {
                seat: SeatIdx(1),
                player: PlayerId(11),
                buy_in: Chips(401),
                wait_for_big_blind: false,
            },
            TableRejection::BuyInOutOfRange { amount: Chips(401), min: Chips(80), max: Chips(400) },
            "outside the range",
        ),
        (
            TableCommand::TopUp { player: PlayerId(99), amount: Chips(5) },
            TableRejection::NotSeated { player: PlayerId(99) },
            "player 99 is not seated",
        ),
        (
            TableCommand::Act { player: PlayerId(99), action: TableAction::CheckOrCall },
            TableRejection::NotSeated { player: PlayerId(99) },
            "not seated",
        ),
        (
            TableCommand::TopUp { player: PlayerId(10), amount: Chips(201) },
            TableRejection::TopUpAboveMax { stack: Chips(200), amount: Chips(201), max: Chips(400) },
            "above the maximum buy-in 400",
        ),
        (TableCommand::TopUp { player: PlayerId(10), amount: Chips(0) }, TableRejection::ZeroTopUp, "above zero"),
        (
            TableCommand::SitIn { player: PlayerId(10), wait_for_big_blind: false },
            TableRejection::NotSittingOut { player: PlayerId(10) },
            "not sitting out",
        ),
        (
            TableCommand::StartHand { seed: [0; 32], salt: [0; 32] },
            TableRejection::NotEnoughPlayers { ready: 1 },
            "1 are",
        ),
        (
            TableCommand::Act { player: PlayerId(10), action: TableAction::CheckOrCall },
            TableRejection::NotInHand { player: PlayerId(10) },
            "not in a hand",
        ),
    ];
    for (command, expected, message) in cases {
        let rejection = host.refused(command);
        assert_eq!(rejection, expected);
        assert!(rejection.to_string().contains(message), "{rejection} should say {message:?}");
    }
    // A top-up to exactly the maximum is fine, and is money across the edge.
    let events = host.ok(TableCommand::TopUp { player: PlayerId(10), amount: Chips(200) });
    assert_eq!(
        events[0].event,
        TableEvent::ToppedUp { seat: SeatIdx(0), player: PlayerId(10), amount: Chips(200), stack: Chips(400) }
    );
    assert!(host.table.chips_conserved());
}

#[test]
fn table_rejects_a_clock_that_goes_back() {
    let mut host = Host::open(config6());
    host.now = 5_000;
    host.sit(0, 1, 200);
    host.now = 4_999;
    let rejection = host.refused(TableCommand::Tick);
    assert_eq!(rejection, TableRejection::ClockWentBack { now_ms: 4_999, last_ms: 5_000 });
    assert_eq!(rejection.to_string(), "the clock went back: now is 4999 ms, the last command was at 5000 ms");
    // Any command is held to the clock, not only ticks.
    assert!(matches!(host.refused(TableCommand::SitOut { player: PlayerId(1) }), TableRejection::ClockWentBack { .. }));
    host.now = 5_000;
    assert!(host.ok(TableCommand::Tick).is_empty(), "a tick with nothing due changes nothing");
}

#[test]
fn table_top_up_during_a_hand_is_refused_until_it_ends() {
    let mut host = Host::open(config6());
    host.sit(0, 1, 200);
    host.sit(1, 2, 200);
    host.sit(2, 3, 200);
    host.start(1);
    let rejection = host.refused(TableCommand::TopUp { player: PlayerId(1), amount: Chips(10) });
    assert_eq!(rejection, TableRejection::TopUpDuringHand { player: PlayerId(1) });
    assert_eq!(rejection.to_string(), "player 1 is in a hand: top up between hands");
    // A player who is not dealt in may top up while the others play.
    host.sit(3, 4, 100);
    host.ok(TableCommand::TopUp { player: PlayerId(4), amount: Chips(10) });
    host.fold_round();
    host.ok(TableCommand::TopUp { player: PlayerId(1), amount: Chips(10) });
    assert!(host.table.chips_conserved());
    assert_eq!(host.replayed(), host.table);
}

#[test]
fn table_leaving_during_a_hand_is_queued_and_later_commands_are_refused() {
    let mut host = Host::open(config6());
    for (seat, player) in [(0, 1), (1, 2), (2, 3)] {
        host.sit(seat, player, 200);
    }
    host.start(2);
    // Seats 0, 1, 2: button 0, small blind 1, big blind 2; seat 0 acts first.
    assert_eq!(host.table.blinds(), Some((SeatIdx(0), SeatIdx(1), SeatIdx(2))));
    assert_eq!(host.actor(), Some(PlayerId(1)));
    // Player 3 (big blind, not to act) asks to leave: queued.
    let events = host.ok(TableCommand::Leave { player: PlayerId(3) });
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, TableEvent::LeaveQueued { seat: SeatIdx(2), player: PlayerId(3) });
    let rejection = host.refused(TableCommand::Act { player: PlayerId(3), action: TableAction::Fold });
    assert_eq!(rejection, TableRejection::Leaving { player: PlayerId(3) });
    assert_eq!(rejection.to_string(), "player 3 is leaving at the end of the hand and can do nothing more");
    assert_eq!(
        host.refused(TableCommand::SitOut { player: PlayerId(3) }),
        TableRejection::Leaving { player: PlayerId(3) }
    );
    // The others call; when the big blind's turn comes the table checks for them at once.
    host.act(TableAction::CheckOrCall);
    let events = host.act(TableAction::CheckOrCall);
    assert!(
        events.iter().any(|r| r.event == TableEvent::ActedFor { seat: SeatIdx(2), reason: ActedForReason::Leaving }),
        "{events:#?}"
    );
    // Seat 2 is never asked again; the hand plays out and then they cash out.
    let mut cashed = None;
    while host.table.in_hand() {
        assert_ne!(host.actor(), Some(PlayerId(3)));
        let legal = legal_actions(host.table.hand()).unwrap();
        let events = host.act(if legal.call.is_zero() { TableAction::CheckOrCall } else { TableAction::Fold });
        cashed = cashed.or_else(|| {
            events.iter().find_map(|r| match r.event {
                TableEvent::CashedOut { seat, amount, stack, .. } => Some((seat, amount, stack)),
                _ => None,
            })
        });
    }
    let (seat, amount, stack) = cashed.expect("the leaver cashes out at the end of the hand");
    assert_eq!((seat, stack), (SeatIdx(2), Chips::ZERO));
    assert!(amount > Chips::ZERO);
    assert!(host.table.seat(SeatIdx(2)).is_none());
    let rejection = host.refused(TableCommand::Act { player: PlayerId(3), action: TableAction::Fold });
    assert_eq!(rejection, TableRejection::NotSeated { player: PlayerId(3) });
    assert!(host.table.chips_conserved());
    assert_eq!(host.replayed(), host.table);

    // Between hands, leaving cashes out at once.
    let events = host.ok(TableCommand::Leave { player: PlayerId(1) });
    assert!(matches!(events[0].event, TableEvent::CashedOut { seat: SeatIdx(0), .. }));
    assert_eq!(host.table.bought_in(), 600);
    assert_eq!(host.table.cashed_out() + u128::from(host.table.chips_on_table().0), 600);
}

#[test]
fn table_heads_up_button_posts_the_small_blind_and_acts_first() {
    let mut host = Host::open(config6());
    host.sit(2, 1, 200);
    host.sit(4, 2, 200);
    let events = host.start(3);
    // The first hand: the button is the first seat, seat 2; seat 4 is the big blind.
    assert_eq!(host.table.blinds(), Some((SeatIdx(2), SeatIdx(2), SeatIdx(4))));
    assert_eq!(host.table.positions().as_slice(), &[SeatIdx(4), SeatIdx(2)]);
    let mut posted = blinds_posted(&events);
    posted.sort_unstable();
    assert_eq!(posted, vec![(2, 1, false), (4, 2, false)]);
    assert_eq!(host.actor(), Some(PlayerId(1)), "heads-up the button acts first before the flop");
    host.fold_round();
    // The button moves: seat 4 is now the button and small blind.
    let events = host.start(4);
    assert_eq!(host.table.blinds(), Some((SeatIdx(4), SeatIdx(4), SeatIdx(2))));
    let mut posted = blinds_posted(&events);
    posted.sort_unstable();
    assert_eq!(posted, vec![(2, 2, false), (4, 1, false)]);
    assert_eq!(host.actor(), Some(PlayerId(2)));
    host.check_down();
    assert!(host.table.chips_conserved());
}

#[test]
fn table_button_moves_by_the_dead_button_rule_and_missed_blinds_are_posted() {
    let mut host = Host::open(config6());
    for seat in 0..4 {
        host.sit(seat, u64::from(seat) + 1, 200);
    }
    host.start(1);
    assert_eq!(host.table.blinds(), Some((SeatIdx(0), SeatIdx(1), SeatIdx(2))));
    host.fold_round();
    host.start(2);
    assert_eq!(host.table.blinds(), Some((SeatIdx(1), SeatIdx(2), SeatIdx(3))));
    host.fold_round();
    // Seat 0 (player 1) sits out: the big blind passes their seat, so they owe it.
    host.ok(TableCommand::SitOut { player: PlayerId(1) });
    let events = host.start(3);
    assert!(events.iter().any(
        |r| r.event == TableEvent::BlindsMissed { seat: SeatIdx(0), player: PlayerId(1), small: false, big: true }
    ));
    assert_eq!(host.table.blinds(), Some((SeatIdx(2), SeatIdx(3), SeatIdx(1))));
    host.fold_round();
    // Seat 1 left after being the big blind: the small blind is dead (seat 1 is empty) and
    // the button moves to seat 3. The newcomers at seats 4 and 5 sit between the button
    // and the big blind: they wait, and the hand is heads-up between seats 2 and 3.
    host.ok(TableCommand::Leave { player: PlayerId(2) });
    host.sit(5, 6, 200);
    host.sit(4, 5, 200);
    let events = host.start(4);
    assert_eq!(host.table.positions().as_slice(), &[SeatIdx(2), SeatIdx(3)]);
    assert_eq!(host.table.blinds(), Some((SeatIdx(3), SeatIdx(3), SeatIdx(2))));
    let mut posted = blinds_posted(&events);
    posted.sort_unstable();
    assert_eq!(posted, vec![(2, 2, false), (3, 1, false)]);
    host.fold_round();
    host.start(5);
    assert_eq!(host.table.positions().as_slice(), &[SeatIdx(3), SeatIdx(2)]);
    host.fold_round();
    // The big blind reaches seat 4, which plays as the big blind; seat 5, now outside the
    // blinds, posts a live big blind to play at once.
    let events = host.start(6);
    assert_eq!(host.table.blinds(), Some((SeatIdx(2), SeatIdx(3), SeatIdx(4))));
    let mut posted = blinds_posted(&events);
    posted.sort_unstable();
    assert_eq!(posted, vec![(3, 1, false), (4, 2, false), (5, 2, true)]);
    host.fold_round();
    // Player 1 comes back and chooses to post: a live big blind. They missed no small blind.
    host.ok(TableCommand::SitIn { player: PlayerId(1), wait_for_big_blind: false });
    let events = host.start(7);
    assert_eq!(host.table.blinds(), Some((SeatIdx(3), SeatIdx(4), SeatIdx(5))));
    assert!(blinds_posted(&events).contains(&(0, 2, true)), "{:?}", blinds_posted(&events));
    assert!(antes_posted(&events).is_empty());
    host.fold_round();
    assert!(host.table.chips_conserved());
    assert_eq!(host.replayed(), host.table);
}

#[test]
fn table_missed_small_blind_is_posted_dead_or_waited_out() {
    let mut host = Host::open(config6());
    for seat in 0..5 {
        host.sit(seat, u64::from(seat) + 1, 200);
    }
    host.start(1);
    assert_eq!(host.table.blinds(), Some((SeatIdx(0), SeatIdx(1), SeatIdx(2))));
    host.fold_round();
    // Seat 2 was the big blind and sits out: it misses the small blind, then the big blind.
    host.ok(TableCommand::SitOut { player: PlayerId(3) });
    let events = host.start(2);
    assert!(events.iter().any(
        |r| r.event == TableEvent::BlindsMissed { seat: SeatIdx(2), player: PlayerId(3), small: true, big: false }
    ));
    host.fold_round();
    host.ok(TableCommand::SitIn { player: PlayerId(3), wait_for_big_blind: false });
    let events = host.start(3);
    // Seat 2 is the button now, outside the blinds: it plays at once and pays the missed
    // small blind dead (an ante on its position); it owes no big blind.
    assert_eq!(host.table.blinds(), Some((SeatIdx(2), SeatIdx(3), SeatIdx(4))));
    assert!(!blinds_posted(&events).iter().any(|&(seat, _, _)| seat == 2), "{:?}", blinds_posted(&events));
    assert_eq!(antes_posted(&events), vec![(2, 1)]);
    host.fold_round();

    // Waiting for the big blind: seat 0 sits out through the big blind and then waits.
    host.ok(TableCommand::SitOut { player: PlayerId(1) });
    let mut missed = false;
    for n in 4..7 {
        let events = host.start(n);
        missed |=
            events.iter().any(|r| matches!(r.event, TableEvent::BlindsMissed { seat: SeatIdx(0), big: true, .. }));
        host.fold_round();
    }
    assert!(missed);
    host.ok(TableCommand::SitIn { player: PlayerId(1), wait_for_big_blind: true });
    let mut waited = 0;
    loop {
        host.start(10 + waited);
        let dealt = host.table.positions().position(SeatIdx(0)).is_some();
        let (_, _, bb) = host.table.blinds().unwrap();
        host.fold_round();
        if dealt {
            assert_eq!(bb, SeatIdx(0), "a waiting player is dealt in only as the big blind");
            break;
        }
        waited += 1;
        assert!(waited < 6);
    }
    assert_eq!(host.replayed(), host.table);
}

#[test]
fn table_clock_spends_the_time_bank_then_checks_or_folds() {
    let config = TableConfig { action_time_ms: 1_000, time_bank_ms: 5_000, ..config6() };
    let mut host = Host::open(config);
    for seat in 0..3 {
        host.sit(seat, u64::from(seat) + 1, 200);
    }
    let events = host.start(1);
    let deadline = events
        .iter()
        .find_map(|r| match r.event {
            TableEvent::ActionDeadlineSet { seat, deadline_ms } => Some((seat, deadline_ms)),
            _ => None,
        })
        .expect("the first actor gets a deadline");
    assert_eq!(deadline, (SeatIdx(0), host.now + 1_000));
    // Before the deadline a tick does nothing.
    host.now += 999;
    assert!(host.ok(TableCommand::Tick).is_empty());
    // Past it, the bank starts.
    host.now += 1;
    let events = host.ok(TableCommand::Tick);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, TableEvent::TimeBankStarted { seat: SeatIdx(0), until_ms: deadline.1 + 5_000 });
    // Acting inside the bank spends part of it.
    host.now += 1_500;
    let events = host.act(TableAction::CheckOrCall);
    assert_eq!(events[0].event, TableEvent::TimeBankUsed { seat: SeatIdx(0), used_ms: 1_500, left_ms: 3_500 });
    assert_eq!(host.table.seat(SeatIdx(0)).unwrap().time_bank_ms, 3_500);
    // Seat 1 (small blind) never acts: past the deadline and its whole bank, it is folded
    // (a call is owed) and sat out from the next hand.
    host.now += 1_000 + 5_000;
    let late = host.refused(TableCommand::Act { player: PlayerId(2), action: TableAction::CheckOrCall });
    assert!(matches!(late, TableRejection::TimeRanOut { seat: SeatIdx(1), .. }), "{late}");
    let events = host.ok(TableCommand::Tick);
    let kinds: Vec<_> = events.iter().map(|r| &r.event).collect();
    assert!(matches!(kinds[0], TableEvent::TimeBankStarted { seat: SeatIdx(1), .. }));
    assert_eq!(*kinds[1], TableEvent::TimeBankUsed { seat: SeatIdx(1), used_ms: 5_000, left_ms: 0 });
    assert_eq!(*kinds[2], TableEvent::ActedFor { seat: SeatIdx(1), reason: ActedForReason::TimedOut });
    assert_eq!(*kinds[3], TableEvent::SatOut { seat: SeatIdx(1), player: PlayerId(2), reason: SitOutReason::TimedOut });
    assert!(matches!(kinds[4], TableEvent::Hand { seat: Some(SeatIdx(1)), event: H::Folded { .. } }));
    // The big blind may check for free: when it times out, the table checks.
    let deadline = host.table.turn().unwrap();
    assert_eq!(deadline.seat, SeatIdx(2));
    host.now = deadline.deadline_ms + 5_000;
    let events = host.ok(TableCommand::Tick);
    assert!(
        events.iter().any(|r| matches!(r.event, TableEvent::Hand { seat: Some(SeatIdx(2)), event: H::Checked { .. } })),
        "{events:#?}"
    );
    assert_eq!(host.replayed(), host.table);
}

#[test]
fn table_views_show_own_and_shown_hole_cards_only() {
    let mut host = Host::open(config6());
    for seat in 0..3 {
        host.sit(seat, u64::from(seat) + 1, 200);
    }
    host.start(9);
    let h = host.table.hand();
    for viewer_seat in 0..3u8 {
        let view = host.table.view_for(Viewer::Seat(SeatIdx(viewer_seat)));
        for (i, seat) in view.seats.iter().enumerate().take(3) {
            let seat = seat.expect("occupied");
            let pos = host.table.positions().position(SeatIdx(i as u8)).unwrap();
            if i as u8 == viewer_seat {
                assert_eq!(seat.hole_cards.as_slice(), h.hole_cards(pos));
                assert!(seat.hole_cards.as_slice().iter().all(Option::is_some));
            } else {
                assert_eq!(seat.hole_cards.as_slice(), &[None, None]);
            }
        }
    }
    let spectator = host.table.view_for(Viewer::Spectator);
    assert!(spectator.seats.iter().flatten().all(|s| s.hole_cards.as_slice().iter().all(Option::is_none)));
    assert_eq!(spectator.to_act, Some(SeatIdx(0)));
    assert_eq!(spectator.pot, Chips::ZERO);
    assert_eq!(spectator.seats[2].unwrap().bet, Chips(2));
    // At showdown the shown cards become public.
    host.check_down();
    let shown: Vec<_> = host
        .log
        .iter()
        .filter_map(|r| match r.event {
            TableEvent::Hand { seat: Some(s), event: H::CardsShown { .. } } => Some(s),
            _ => None,
        })
        .collect();
    assert!(!shown.is_empty());
}

#[test]
fn table_redacted_feeds_hide_the_deck_and_are_the_same_live_and_replayed() {
    let mut host = Host::open(config6());
    for seat in 0..4 {
        host.sit(seat, u64::from(seat) + 1, 200);
    }
    let viewers = [Viewer::Seat(SeatIdx(0)), Viewer::Seat(SeatIdx(3)), Viewer::Spectator];
    let mut live: Vec<Vec<Recorded>> = vec![Vec::new(); viewers.len()];
    let mark = host.log.len();
    for n in 0..5 {
        let mut batch = host.start(n);
        while host.table.in_hand() {
            batch.extend(host.act(TableAction::CheckOrCall));
        }
        for (feed, viewer) in live.iter_mut().zip(viewers) {
            feed.extend(batch.iter().map(|r| r.redacted_for(viewer)));
        }
    }
    // Rebuild from the store: replay, then redact the stored events.
    let stored = &host.log[mark..];
    assert_eq!(Table::replay(&host.log), host.table);
    for (feed, viewer) in live.iter().zip(viewers) {
        let rebuilt: Vec<Recorded> = stored.iter().map(|r| r.redacted_for(viewer)).collect();
        assert_eq!(&rebuilt, feed);
        for r in feed {
            match &r.event {
                TableEvent::HandStarted { seed, salt, .. } => assert!(seed.is_none() && salt.is_none()),
                TableEvent::Hand { event: H::HandStarted(setup), .. } => assert!(setup.deck.is_none()),
                TableEvent::Hand { seat, event: H::HoleCardsDealt { cards, .. } } => {
                    let own = seat.is_some_and(|s| viewer == Viewer::Seat(s));
                    assert_eq!(cards.as_slice().iter().all(Option::is_some), own);
                    assert!(own || cards.as_slice().iter().all(Option::is_none));
                }
                _ => {}
            }
        }
        // A player can verify the deck from their own redacted feed.
        fairness::verify(feed).expect("a redacted feed verifies");
    }
}

#[test]
fn table_fairness_accepts_real_hands_and_rejects_a_changed_deck() {
    let mut host = Host::open(TableConfig { variant: Variant::pot_limit_omaha(), ..config6() });
    for seat in 0..6 {
        host.sit(seat, u64::from(seat) + 1, 200);
    }
    let mark = host.log.len();
    for n in 0..20 {
        host.start(n);
        host.check_down();
    }
    let stored = host.log[mark..].to_vec();
    fairness::verify(&stored).expect("real hands verify");
    let first_hand_end =
        stored.iter().position(|r| matches!(r.event, TableEvent::DeckRevealed { .. })).expect("a hand ends") + 1;
    let hand = &stored[..first_hand_end];
    fairness::verify(hand).expect("one hand verifies");

    // The operator swaps two hole cards after the commitment.
    let mut swapped = hand.to_vec();
    let dealt: Vec<usize> = swapped
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.event, TableEvent::Hand { event: H::HoleCardsDealt { .. }, .. }))
        .map(|(i, _)| i)
        .collect();
    let hole = |r: &Recorded| match r.event {
        TableEvent::Hand { event: H::HoleCardsDealt { cards, .. }, .. } => cards,
        _ => unreachable!("filtered above"),
    };
    let (ca, cb) = (hole(&swapped[dealt[0]]), hole(&swapped[dealt[1]]));
    for (i, cards) in [(dealt[0], cb), (dealt[1], ca)] {
        if let TableEvent::Hand { event: H::HoleCardsDealt { cards: c, .. }, .. } = &mut swapped[i].event {
            *c = cards;
        }
    }
    assert!(matches!(fairness::verify(&swapped), Err(fairness::FairnessError::CardMismatch { .. })));

    // The operator reshuffles with another seed but reveals it: the commitment fails.
    let mut reseeded = hand.to_vec();
    for r in &mut reseeded {
        if let TableEvent::DeckRevealed { seed, .. } = &mut r.event {
            seed[0] ^= 1;
        }
    }
    let err = fairness::verify(&reseeded).unwrap_err();
    assert_eq!(err, fairness::FairnessError::CommitmentMismatch { hand: HandNo(1) });
    assert_eq!(err.to_string(), "hand 1: the revealed seed and salt do not match the commitment");

    // The recorded deck was replaced.
    let mut redecked = hand.to_vec();
    for r in &mut redecked {
        if let TableEvent::Hand { event: H::HandStarted(setup), .. } = &mut r.event {
            setup.deck = Some(Deck::shuffled([200; 32]));
        }
    }
    assert_eq!(fairness::verify(&redecked), Err(fairness::FairnessError::DeckMismatch { hand: HandNo(1) }));

    // A changed board card.
    let mut reboarded = hand.to_vec();
    for r in &mut reboarded {
        if let TableEvent::Hand { event: H::BoardDealt { cards }, .. } = &mut r.event {
            let replacement =
                Deck::shuffled([0; 32]).cards().iter().copied().find(|c| !cards.as_slice().contains(&Some(*c)));
            *cards = crate::hand::Cards::new(&[replacement]);
            break;
        }
    }
    assert!(fairness::verify(&reboarded).is_err());
    // A hand that never revealed its seed, and no hand at all.
    assert_eq!(
        fairness::verify(&hand[..hand.len() - 1]),
        Err(fairness::FairnessError::MissingReveal { hand: HandNo(1) })
    );
    assert_eq!(fairness::verify::<Recorded>(&[]), Err(fairness::FairnessError::NoHand));
}

#[test]
fn table_antes_straddle_and_fixed_limit_hands_play_out() {
    let configs = [
        TableConfig { ante: Ante::BigBlind(Chips(2)), straddle: Straddle::Mandatory(Chips(4)), ..config6() },
        TableConfig { ante: Ante::PerPlayer(Chips(1)), ..config6() },
        TableConfig { variant: Variant::fixed_limit_holdem(Chips(2), Chips(4)), ..config6() },
        TableConfig {
            variant: Variant::pot_limit_omaha(),
            odd_chips: OddChipPolicy::RoundRobinFromFirst,
            free_fold: FreeFoldPolicy::Allow,
            ..config6()
        },
    ];
    for config in configs {
        let mut host = Host::open(config);
        for seat in 0..5 {
            host.sit(seat, u64::from(seat) + 1, 100);
        }
        let events = host.start(1);
        if let Straddle::Mandatory(s) = config.straddle {
            assert!(blinds_posted(&events).contains(&(3, s.0, false)), "{:?}", blinds_posted(&events));
            assert_eq!(antes_posted(&events), vec![(2, 2)]);
        }
        host.check_down();
        for n in 2..10 {
            host.start(n);
            host.fold_round();
        }
        assert!(host.table.chips_conserved());
        assert_eq!(host.replayed(), host.table);
    }
}

// ---------------------------------------------------------------------------------------
// The seeded session: a VOPR-style simulator with an auditor.

#[derive(Default, Debug)]
struct Stats {
    hands: u64,
    events: u64,
    commands: u64,
    refused: u64,
    timeouts: u64,
    bank_starts: u64,
    queued_leaves: u64,
    cash_outs: u64,
    buy_ins: u64,
    top_ups: u64,
    heads_up: u64,
    /// Players dealt in, summed over hands.
    dealt: u64,
    dead_button_moves: u64,
    reseated_blinds: u64,
    posts: u64,
    missed: u64,
}

/// One simulated table: the live table, and the auditor shared with the property harness
/// (`crate::testing`), which replays the stored events into a mirror and checks the table's
/// invariants after each.
struct Session {
    seed: u64,
    rng: SplitMix,
    host: Host,
    audit: Auditor,
    next_player: u64,
    stats: Stats,
    /// Check every seat's view after every event (else after every command).
    views_every_event: bool,
    /// Clients of every viewer that fold the redacted events, checked after every event.
    clients: Option<Clients>,
}

/// What a client of each viewer holds: the table folded from the events redacted for it
/// since the table opened, and one that joined later from [`Table::redacted_for`] and folded
/// the redacted events after that. Both must show their viewer what the server's table
/// shows it, and the first must equal the server's table redacted for the viewer.
struct Clients {
    rng: SplitMix,
    from_start: Vec<(Viewer, Table)>,
    joined: Vec<(Viewer, Table)>,
    checks: u64,
    joins: u64,
}

impl Clients {
    fn new(seed: u64) -> Clients {
        Clients { rng: SplitMix(seed ^ 0xc11e_0075), from_start: Vec::new(), joined: Vec::new(), checks: 0, joins: 0 }
    }

    /// Folds one event into every client and compares them with the server's `table` (the
    /// table after the event).
    fn check(&mut self, seed: u64, r: &Recorded, table: &Table, audit: &Auditor) {
        if self.from_start.is_empty() {
            // The first event opened the table: now the seats are known.
            for viewer in audit.viewers() {
                self.from_start.push((viewer, Table::new()));
                self.joined.push((viewer, Table::new()));
            }
        }
        for ((viewer, client), (_, joined)) in self.from_start.iter_mut().zip(&mut self.joined) {
            let viewer = *viewer;
            let event = r.redacted_for(viewer);
            apply(client, &event);
            apply(joined, &event);
            let expected = table.view_for(viewer);
            assert_eq!(
                client.view_for(viewer),
                expected,
                "seed {seed}: {viewer:?} folding from the start, after {r:?}"
            );
            assert_eq!(joined.view_for(viewer), expected, "seed {seed}: {viewer:?} after joining late, after {r:?}");
            let redacted = table.redacted_for(viewer);
            if *client != redacted {
                panic!(
                    "seed {seed}: {viewer:?}: the table redacted for it differs from the fold of its redacted \
                     events after {r:?}\nredacted: {:?}\nfolded:   {:?}",
                    redacted.hand(),
                    client.hand()
                );
            }
            check_nothing_hidden(seed, viewer, &redacted, audit);
            if self.rng.chance(1) {
                *joined = redacted;
                self.joins += 1;
            }
            self.checks += 1;
        }
    }
}

/// A table redacted for a viewer holds no seed or salt and no other seat's hole card that
/// the seat did not show.
fn check_nothing_hidden(seed: u64, viewer: Viewer, redacted: &Table, audit: &Auditor) {
    assert_eq!(redacted.secret, None, "seed {seed}: {viewer:?} is given the running hand's seed");
    for (p, &seat) in redacted.positions().as_slice().iter().enumerate() {
        if viewer == Viewer::Seat(seat) {
            continue;
        }
        for card in redacted.hand().hole_cards(Pos(p as u8)).iter().flatten() {
            assert!(
                audit.shown(seat).contains(*card),
                "seed {seed}: {viewer:?} is given {card} of {seat}, which was not shown"
            );
        }
    }
}

impl Session {
    fn new(seed: u64, config: TableConfig, views_every_event: bool) -> Session {
        Session::open(seed, config, views_every_event, None)
    }

    /// A session whose every event is also checked by clients of every viewer.
    fn with_clients(seed: u64, config: TableConfig) -> Session {
        Session::open(seed, config, false, Some(Clients::new(seed)))
    }

    fn open(seed: u64, config: TableConfig, views_every_event: bool, clients: Option<Clients>) -> Session {
        let mut s = Session {
            seed,
            rng: SplitMix(seed),
            host: Host::new(),
            audit: Auditor::default(),
            next_player: 1,
            stats: Stats::default(),
            views_every_event,
            clients,
        };
        s.send(TableCommand::Open { config }).expect("the config is valid");
        s
    }

    fn config(&self) -> TableConfig {
        *self.host.table.config().unwrap()
    }

    /// Sends a command; audits every event it causes on the mirror, and that the live table
    /// equals the mirror (also when the command is refused: nothing changed).
    fn send(&mut self, command: TableCommand) -> Result<(), TableRejection> {
        self.stats.commands += 1;
        let result = self.host.send(command);
        let events = match result {
            Ok(events) => events,
            Err(e) => {
                self.stats.refused += 1;
                assert_eq!(self.host.table, self.audit.mirror, "seed {}: a refusal changed the table", self.seed);
                return Err(e);
            }
        };
        for r in &events {
            self.audit(r);
        }
        if !self.views_every_event {
            self.check_views();
        }
        assert!(self.host.table == self.audit.mirror, "seed {}: the replay differs from the live table", self.seed);
        // The store keeps only the events of the running hand: the mirror is the replay.
        self.host.log.clear();
        Ok(())
    }

    /// Counts what the event exercises, then has the auditor replay it and check the table.
    fn audit(&mut self, r: &Recorded) {
        self.stats.events += 1;
        match &r.event {
            TableEvent::BoughtIn { .. } => self.stats.buy_ins += 1,
            TableEvent::ToppedUp { .. } => self.stats.top_ups += 1,
            TableEvent::CashedOut { .. } => self.stats.cash_outs += 1,
            TableEvent::BlindsMissed { .. } => self.stats.missed += 1,
            TableEvent::TimeBankStarted { .. } => self.stats.bank_starts += 1,
            TableEvent::ActedFor { reason: ActedForReason::TimedOut, .. } => self.stats.timeouts += 1,
            TableEvent::LeaveQueued { .. } => self.stats.queued_leaves += 1,
            TableEvent::HandStarted { button, small_blind, seats, .. } => {
                self.stats.hands += 1;
                self.stats.dealt += seats.len() as u64;
                if seats.len() == 2 {
                    self.stats.heads_up += 1;
                } else if self.audit.blinds.is_some_and(|(_, sb, bb)| *button == sb && *small_blind == bb) {
                    // The dead-button rule moved the button and the blinds one seat on each.
                    self.stats.dead_button_moves += 1;
                } else {
                    self.stats.reseated_blinds += 1;
                }
            }
            TableEvent::Hand { event: H::BlindPosted { post: true, .. }, .. } => self.stats.posts += 1,
            _ => {}
        }
        if let Err(b) = self.audit.record(r) {
            panic!("seed {}: {}: {} (after {:?})", self.seed, b.invariant, b.detail, r.event);
        }
        if let Some(clients) = &mut self.clients {
            clients.check(self.seed, r, &self.audit.mirror, &self.audit);
        }
        if self.views_every_event {
            self.check_views();
        }
    }

    /// No seat's view holds a card of another seat that this seat did not show.
    fn check_views(&self) {
        if let Err(b) = self.audit.check_views() {
            panic!("seed {}: {}: {}", self.seed, b.invariant, b.detail);
        }
    }

    fn seated(&self) -> Vec<(SeatIdx, Seat)> {
        let t = &self.host.table;
        t.seats().iter().enumerate().filter_map(|(i, s)| s.map(|s| (SeatIdx(i as u8), s))).collect()
    }

    fn random_seated(&mut self) -> Option<(SeatIdx, Seat)> {
        let seated = self.seated();
        if seated.is_empty() {
            return None;
        }
        let k = self.rng.below(seated.len() as u64) as usize;
        Some(seated[k])
    }

    /// Players come and go between hands (and sometimes during one).
    fn traffic(&mut self) {
        let c = self.config();
        let ops = self.rng.below(4);
        for _ in 0..ops {
            self.host.now += self.rng.below(3_000);
            match self.rng.below(12) {
                0..=5 => {
                    // Sit down; sometimes at a taken seat or with a buy-in outside the range.
                    let seat = SeatIdx(self.rng.below(u64::from(c.seats)) as u8);
                    let span = c.max_buy_in.0 - c.min_buy_in.0;
                    let buy_in = if self.rng.chance(10) {
                        if self.rng.chance(50) { c.min_buy_in.0 - 1 } else { c.max_buy_in.0 + 1 }
                    } else {
                        c.min_buy_in.0 + self.rng.below(span + 1)
                    };
                    let player = PlayerId(self.next_player);
                    self.next_player += 1;
                    let taken = self.host.table.seat(seat).is_some();
                    let wait = self.rng.chance(30);
                    let result = self.send(TableCommand::SitDown {
                        seat,
                        player,
                        buy_in: Chips(buy_in),
                        wait_for_big_blind: wait,
                    });
                    let in_range = (c.min_buy_in.0..=c.max_buy_in.0).contains(&buy_in);
                    assert_eq!(result.is_ok(), !taken && in_range, "seed {}: {result:?}", self.seed);
                }
                6 | 7 => {
                    let Some((_, s)) = self.random_seated() else { continue };
                    let room = c.max_buy_in.0.saturating_sub(s.stack.0);
                    let amount = if self.rng.chance(10) { room + 1 } else { 1 + self.rng.below(room.max(1)) };
                    let _ = self.send(TableCommand::TopUp { player: s.player, amount: Chips(amount) });
                    if s.sitting_out
                        && !self
                            .host
                            .table
                            .seat_of(s.player)
                            .is_some_and(|seat| self.host.table.stack(seat).unwrap().is_zero())
                    {
                        let wait = self.rng.chance(40);
                        let _ = self.send(TableCommand::SitIn { player: s.player, wait_for_big_blind: wait });
                    }
                }
                8 => {
                    let Some((_, s)) = self.random_seated() else { continue };
                    let _ = self.send(TableCommand::SitOut { player: s.player });
                }
                9 => {
                    let Some((_, s)) = self.random_seated() else { continue };
                    let wait = self.rng.chance(40);
                    let _ = self.send(TableCommand::SitIn { player: s.player, wait_for_big_blind: wait });
                }
                _ => {
                    let Some((_, s)) = self.random_seated() else { continue };
                    self.leave(s);
                }
            }
        }
        // Players sitting out come back now and then, so the table stays mostly full.
        for (_, s) in self.seated() {
            if s.sitting_out && !s.stack.is_zero() && !s.leaving && self.rng.chance(35) {
                let wait = self.rng.chance(40);
                self.send(TableCommand::SitIn { player: s.player, wait_for_big_blind: wait }).expect("sit in");
            }
        }
        // Busted players top up or leave.
        for (_, s) in self.seated() {
            if s.stack.is_zero() && !s.leaving && s.position.is_none() {
                if self.rng.chance(80) {
                    self.send(TableCommand::TopUp { player: s.player, amount: c.min_buy_in }).expect("top up");
                    self.send(TableCommand::SitIn { player: s.player, wait_for_big_blind: false }).expect("sit in");
                } else {
                    self.send(TableCommand::Leave { player: s.player }).expect("leave");
                }
            }
        }
    }

    /// One step while a hand runs: an action, a timeout, a leave, or a command that must be
    /// refused.
    fn step(&mut self) {
        let seed = self.seed;
        let turn = self.host.table.turn().expect("a running hand has a turn");
        let actor = self.host.table.seat(turn.seat).expect("the actor sits").to_owned();
        match self.rng.below(1_000) {
            0..=9 => {
                // Time runs out.
                self.host.now = self.host.now.max(turn.deadline_ms + actor.time_bank_ms);
                self.send(TableCommand::Tick).expect("a tick is never refused when the clock moves on");
            }
            10..=19 => {
                // The bank starts, then the player acts inside it.
                if actor.time_bank_ms > 1 {
                    self.host.now = self.host.now.max(turn.deadline_ms + 1);
                    self.send(TableCommand::Tick).expect("tick");
                }
                self.act_randomly(actor.player);
            }
            20..=22 => {
                let Some((_, s)) = self.random_seated() else { return };
                self.leave(s);
            }
            23..=42 => {
                // Refused: someone else acts, a tick from the past, a top-up in the hand.
                let Some((seat, s)) = self.random_seated() else { return };
                if seat != turn.seat {
                    let r = self.send(TableCommand::Act { player: s.player, action: TableAction::CheckOrCall });
                    assert!(r.is_err(), "seed {seed}: out of turn accepted");
                }
                if self.host.now > 0 {
                    let now = self.host.now;
                    self.host.now -= 1;
                    let r = self.send(TableCommand::Tick);
                    assert!(matches!(r, Err(TableRejection::ClockWentBack { .. })), "seed {seed}: {r:?}");
                    self.host.now = now;
                }
                let r = self.send(TableCommand::TopUp { player: actor.player, amount: Chips(1) });
                assert!(matches!(r, Err(TableRejection::TopUpDuringHand { .. })), "seed {seed}: {r:?}");
            }
            43..=47 => {
                let r = self.send(TableCommand::Act { player: PlayerId(u64::MAX), action: TableAction::Fold });
                assert_eq!(r, Err(TableRejection::NotSeated { player: PlayerId(u64::MAX) }));
            }
            _ => {
                self.host.now = self.host.now.max(turn.deadline_ms.saturating_sub(self.rng.below(5_000)));
                self.act_randomly(actor.player);
            }
        }
    }

    /// A leave is refused only when one is already queued.
    fn leave(&mut self, s: Seat) {
        let r = self.send(TableCommand::Leave { player: s.player });
        assert_eq!(r.is_err(), s.leaving, "seed {}: {r:?}", self.seed);
    }

    fn act_randomly(&mut self, player: PlayerId) {
        let legal = legal_actions(self.host.table.hand()).expect("someone is to act");
        let roll = self.rng.below(100);
        let action = if roll < 15 && legal.can_fold {
            TableAction::Fold
        } else if roll < 75 {
            TableAction::CheckOrCall
        } else {
            match legal.raise {
                Ok(range) => {
                    let span = range.max.0 - range.min.0;
                    // Mostly small raises, sometimes all in.
                    let to = if self.rng.chance(3) { range.max.0 } else { range.min.0 + self.rng.below(span / 4 + 1) };
                    TableAction::BetOrRaiseTo(Chips(to))
                }
                Err(_) => TableAction::CheckOrCall,
            }
        };
        let seed = self.seed;
        self.send(TableCommand::Act { player, action }).unwrap_or_else(|e| panic!("seed {seed}: {action:?}: {e}"));
    }

    fn run(&mut self, hands: u64) {
        while self.stats.hands < hands {
            if !self.host.table.in_hand() {
                self.traffic();
                self.host.now += 1 + self.rng.below(2_000);
                let (seed, salt) = (self.rng.bytes(), self.rng.bytes());
                match self.send(TableCommand::StartHand { seed, salt }) {
                    Ok(()) | Err(TableRejection::NotEnoughPlayers { .. }) => {}
                    Err(e) => panic!("seed {}: StartHand refused: {e}", self.seed),
                }
                continue;
            }
            self.step();
        }
        // Everyone leaves at the end: every chip that came in goes out.
        while self.host.table.in_hand() {
            self.step();
        }
        for (_, s) in self.seated() {
            self.send(TableCommand::Leave { player: s.player }).expect("leave");
        }
        assert_eq!(self.host.table.chips_on_table(), Chips::ZERO);
        assert_eq!(self.audit.totals.brought, self.audit.totals.taken, "seed {}", self.seed);
    }
}

fn session_config(kind: u64) -> TableConfig {
    match kind % 3 {
        0 => TableConfig {
            seats: 9,
            ante: Ante::BigBlind(Chips(2)),
            action_time_ms: 10_000,
            time_bank_ms: 30_000,
            ..TableConfig::no_limit_holdem(1, 2)
        },
        1 => TableConfig {
            variant: Variant::pot_limit_omaha(),
            straddle: Straddle::Mandatory(Chips(4)),
            seats: 6,
            ..TableConfig::no_limit_holdem(1, 2)
        },
        _ => TableConfig {
            variant: Variant::fixed_limit_holdem(Chips(2), Chips(4)),
            ante: Ante::PerPlayer(Chips(1)),
            seats: 10,
            ..TableConfig::no_limit_holdem(1, 2)
        },
    }
}

/// Hands per session: `SHOWDOWN_TABLE_HANDS`, else 100,000 in release builds and fewer in
/// debug ones.
fn session_hands(release: u64, debug: u64) -> u64 {
    std::env::var("SHOWDOWN_TABLE_HANDS").ok().and_then(|v| v.parse().ok()).unwrap_or(if cfg!(debug_assertions) {
        debug
    } else {
        release
    })
}

#[test]
fn table_session_of_100k_hands_keeps_every_invariant() {
    let hands = session_hands(100_000, 3_000);
    let seed = 0x5eed_0001;
    let mut session = Session::new(seed, session_config(0), true);
    session.run(hands);
    let s = &session.stats;
    // Timing belongs to the benchmarks; the seed and what the session reached are printed.
    eprintln!("seed {seed}: {s:?}, {:.2} players a hand", s.dealt as f64 / s.hands as f64);
    // The generator reaches every path it is meant to.
    assert!(s.hands >= hands);
    for (name, count) in [
        ("timeouts", s.timeouts),
        ("bank starts", s.bank_starts),
        ("queued leaves", s.queued_leaves),
        ("cash-outs", s.cash_outs),
        ("top-ups", s.top_ups),
        ("heads-up hands", s.heads_up),
        ("dead-button moves", s.dead_button_moves),
        ("posts", s.posts),
        ("missed blinds", s.missed),
        ("refusals", s.refused),
    ] {
        assert!(count > 0, "seed {seed}: no {name} in {hands} hands");
    }
}

#[test]
fn table_sessions_in_every_variant_check_views_after_every_event() {
    let hands = session_hands(3_000, 300);
    for kind in 0..3 {
        let seed = 0x5eed_1000 + kind;
        let mut session = Session::new(seed, session_config(kind), true);
        session.run(hands);
        assert!(session.stats.hands >= hands, "seed {seed}");
    }
}

#[test]
fn clients_folding_redacted_events_see_what_the_server_shows_them() {
    // (1) a client of each viewer folds the events redacted for it from the start; (2) one
    // joins at random points from `Table::redacted_for` and folds on; both show their viewer
    // the server's view after every event. (3) The redacted table equals the first client's
    // table, so it holds nothing its redacted events did not carry.
    let hands = session_hands(1_500, 150);
    for kind in 0..3 {
        let seed = 0x5eed_2000 + kind;
        let mut session = Session::with_clients(seed, session_config(kind));
        session.run(hands);
        let clients = session.clients.as_ref().unwrap();
        assert!(clients.joins > 100, "seed {seed}: only {} late joins", clients.joins);
        assert!(session.stats.hands >= hands && session.stats.timeouts > 0, "seed {seed}: {:?}", session.stats);
        eprintln!("seed {seed}: {} client checks, {} late joins", clients.checks, clients.joins);
    }
}
