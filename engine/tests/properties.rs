//! Properties of the hand state machine under generated play.
//!
//! (a) Random legal play on random tables (2 to 10 players, any stacks, blinds, antes,
//!     straddles and posts, NT / PO / FT, either showdown policy): chips are conserved after
//!     every single event, the hand always completes, what `legal_actions` offers `decide`
//!     accepts (and its bounds are tight), and replaying the recorded events into a fresh
//!     state gives a state equal to the live one.
//! (b) Arbitrary commands (any position 0..=15, any amount including 0 and `u64::MAX`, any
//!     cards, any show or muck, any setup) interleaved with legal ones: `decide` never
//!     panics, a refused command leaves the state and the legal actions as they were, and
//!     `execute` (decide and apply in place) gives the same events, state and rejections.
//!
//! A failure prints the minimal table and choices; the `seed` field reproduces the deck.
//! Failures are not persisted to a file (the tests must not write into the source tree).

use proptest::prelude::*;
use proptest::test_runner::Config;

use showdown_engine::cards::Card;
use showdown_engine::chips::Chips;
use showdown_engine::deck::Deck;
use showdown_engine::hand::{
    Cards, Command, Event, HandState, Phase, Rejection, Show, apply, decide, execute, legal_actions,
};
use showdown_engine::pots::PosSet;
use showdown_engine::rules::{
    Forced, FreeFoldPolicy, HandSetup, MAX_PLAYERS, OddChipPolicy, Pos, ShowdownPolicy, Variant,
};

// ---------------------------------------------------------------------------------------
// Tables

#[derive(Debug, Clone)]
struct Table {
    seed: [u8; 32],
    /// 0: NT, 1: PO, 2: FT.
    variant: u8,
    stacks: Vec<u64>,
    small_blind: u64,
    big_blind: u64,
    ante: u64,
    big_blind_ante: bool,
    straddle: bool,
    /// A live post of one big blind by this position (taken modulo the players, from p4 on).
    post: Option<usize>,
    ante_trimming: bool,
    free_fold_allowed: bool,
    manual_showdown: bool,
    round_robin_odd_chips: bool,
}

impl Table {
    fn setup(&self, with_deck: bool) -> HandSetup {
        let n = self.stacks.len();
        let bb = self.big_blind;
        let variant = match self.variant {
            0 => Variant::no_limit_holdem(),
            1 => Variant::pot_limit_omaha(),
            _ => Variant::fixed_limit_holdem(Chips(bb), Chips(2 * bb)),
        };
        let stacks: Vec<Chips> = self.stacks.iter().map(|&s| Chips(s)).collect();
        let mut setup = HandSetup::new(variant, &stacks, Chips(bb)).with_blinds(&[Chips(self.small_blind), Chips(bb)]);
        if self.straddle && n >= 3 {
            setup.forced[2] = Forced::Blind(Chips(2 * bb));
        }
        if let Some(p) = self.post
            && n >= 4
        {
            setup.forced[3 + p % (n - 3)] = Forced::Post(Chips(bb));
        }
        if self.big_blind_ante {
            setup.antes[1] = Chips(self.ante);
        } else {
            setup = setup.with_ante(Chips(self.ante));
        }
        setup.ante_trimming = self.ante_trimming;
        setup.free_fold = if self.free_fold_allowed { FreeFoldPolicy::Allow } else { FreeFoldPolicy::Reject };
        setup.showdown = if self.manual_showdown { ShowdownPolicy::Manual } else { ShowdownPolicy::Automatic };
        setup.odd_chips = if self.round_robin_odd_chips {
            OddChipPolicy::RoundRobinFromFirst
        } else {
            OddChipPolicy::FirstInPhhOrder
        };
        setup.deck = with_deck.then(|| Deck::shuffled(self.seed));
        setup
    }
}

fn stack() -> impl Strategy<Value = u64> {
    // Short stacks (all in on the ante or a blind), medium, deep.
    prop_oneof![1u64..=30, 30u64..=3_000, 3_000u64..=1_000_000]
}

fn table() -> impl Strategy<Value = Table> {
    (
        any::<[u8; 32]>(),
        0u8..3,
        prop::collection::vec(stack(), 2..=MAX_PLAYERS),
        1u64..=100,
        any::<u8>(),
        prop_oneof![3 => Just(0u64), 1 => 1u64..=5, 1 => 5u64..=60],
        any::<[bool; 7]>(),
        proptest::option::of(0usize..8),
    )
        .prop_map(|(seed, variant, stacks, bb, sb_pick, ante, flags, post)| Table {
            seed,
            variant,
            stacks,
            // Small blind: half the big blind mostly, sometimes none or the whole of it.
            small_blind: match sb_pick % 8 {
                0 => 0,
                1 => bb,
                2 => bb / 3,
                _ => bb / 2,
            },
            big_blind: bb,
            ante,
            big_blind_ante: flags[0],
            straddle: flags[1],
            post: post.filter(|_| flags[2]),
            ante_trimming: flags[3],
            free_fold_allowed: flags[4],
            manual_showdown: flags[5],
            round_robin_odd_chips: flags[6],
        })
}

// ---------------------------------------------------------------------------------------
// Driving a hand

/// Applies a command's events one by one, checking chip conservation after each.
fn run(state: &mut HandState, log: &mut Vec<Event>, command: &Command) -> Result<(), TestCaseError> {
    let events = match decide(state, command) {
        Ok(events) => events,
        Err(r) => return Err(TestCaseError::fail(format!("legal {command:?} refused: {r}"))),
    };
    prop_assert!(!events.is_empty(), "{command:?} was accepted with no event");
    for event in &events {
        apply(state, event);
        prop_assert!(state.chips_conserved(), "chips not conserved after {event:?} (from {command:?})");
    }
    log.extend(events);
    Ok(())
}

/// The cards no one holds and the board does not show, in the order of a seeded deck.
fn fresh_cards(state: &HandState, seed: [u8; 32]) -> Vec<Card> {
    let mut used = Vec::new();
    for p in 0..state.players() {
        used.extend(state.hole_cards(Pos(p as u8)).iter().flatten().copied());
    }
    used.extend(state.board().iter().flatten().copied());
    Deck::shuffled(seed).cards().iter().copied().filter(|c| !used.contains(c)).collect()
}

/// A legal command chosen by `(kind, amount)`, or `None` when the hand is over. Checks on
/// the way that `legal_actions` and `decide` agree at the edges of the raise range.
fn legal_step(state: &HandState, (kind, pick): (u8, u64), seed: [u8; 32]) -> Result<Option<Command>, TestCaseError> {
    match state.phase() {
        Phase::Complete => Ok(None),
        Phase::NotStarted => Err(TestCaseError::fail("the hand is not started")),
        Phase::Dealing => {
            // Only hands without a deck wait for cards: deal unused ones. A card a player
            // replaced by showing others is still in play without being visible, so a
            // refused card is dropped and the deal tried again.
            let mut fresh = fresh_cards(state, seed);
            let per = match state.variant() {
                Some(v) if v.phh_code() == "PO" => 4,
                _ => 2,
            };
            for _ in 0..52 {
                let command = if let Some(pos) = state.hole_dealee() {
                    let owed = per - state.hole_cards(pos).len();
                    let cards: Vec<Option<Card>> = fresh[..owed].iter().map(|&c| Some(c)).collect();
                    Command::DealHole { pos, cards: Cards::new(&cards) }
                } else {
                    let owed = state.board_owed() as usize;
                    prop_assert!(owed > 0, "dealing with nothing owed");
                    let cards: Vec<Option<Card>> = fresh[..owed].iter().map(|&c| Some(c)).collect();
                    Command::DealBoard { cards: Cards::new(&cards) }
                };
                match decide(state, &command) {
                    Err(Rejection::DuplicateCard { card }) => fresh.retain(|&c| c != card),
                    _ => return Ok(Some(command)),
                }
            }
            Err(TestCaseError::fail("no card left to deal"))
        }
        Phase::Showdown => {
            let pos = state.showdown_next();
            prop_assert!(pos.is_some(), "a showdown with nobody to show");
            let pos = pos.unwrap();
            let hole = state.hole_cards(pos);
            let show = if kind % 4 == 0 {
                Show::Muck
            } else if kind % 4 == 1 {
                // Some of the player's own cards, the rest kept face down.
                let shown: Vec<Option<Card>> = hole[..(pick as usize) % (hole.len() + 1)].to_vec();
                Show::Cards(Cards::new(&shown))
            } else if hole.iter().all(Option::is_some) {
                Show::All
            } else {
                // Unknown cards (dealt as `??` by an arbitrary command) stay face down.
                Show::Cards(Cards::new(hole))
            };
            Ok(Some(Command::ShowOrMuck { pos, show }))
        }
        Phase::Betting => {
            let legal = legal_actions(state);
            prop_assert!(legal.is_some(), "betting with nobody to act");
            let legal = legal.unwrap();
            prop_assert_eq!(Some(legal.actor), state.actor());
            let pos = legal.actor;
            if !legal.can_fold {
                prop_assert_eq!(decide(state, &Command::Fold { pos }), Err(Rejection::FreeFold { pos }));
            }
            match legal.raise {
                Ok(range) => {
                    prop_assert!(range.min <= range.max, "{range:?}");
                    prop_assert!(range.min > state.bets()[pos.idx()], "{range:?}");
                    let below = Command::BetOrRaiseTo { pos, to: Chips(range.min.0 - 1) };
                    prop_assert!(decide(state, &below).is_err(), "{below:?} accepted below {range:?}");
                    let above = Command::BetOrRaiseTo { pos, to: Chips(range.max.0 + 1) };
                    prop_assert!(decide(state, &above).is_err(), "{above:?} accepted above {range:?}");
                }
                Err(reason) => {
                    let raise = Command::BetOrRaiseTo { pos, to: Chips(state.bets()[pos.idx()].0 + 1) };
                    prop_assert_eq!(decide(state, &raise), Err(Rejection::CannotRaise { pos, reason }));
                }
            }
            let command = match (kind % 10, legal.raise) {
                (0..=2, _) if legal.can_fold => Command::Fold { pos },
                (3..=5, Ok(range)) => {
                    let span = u128::from(range.max.0 - range.min.0) + 1;
                    let to = match pick % 4 {
                        0 => range.min.0,
                        1 => range.max.0,
                        _ => range.min.0 + (u128::from(pick) % span) as u64,
                    };
                    Command::BetOrRaiseTo { pos, to: Chips(to) }
                }
                _ => Command::CheckOrCall { pos },
            };
            Ok(Some(command))
        }
    }
}

/// Plays a hand to the end from `choices`, then checking and calling; returns the live state
/// and every event.
fn play(table: &Table, choices: &[(u8, u64)], with_deck: bool) -> Result<(HandState, Vec<Event>), TestCaseError> {
    let mut state = HandState::new();
    let mut log = Vec::new();
    run(&mut state, &mut log, &Command::start(table.setup(with_deck)))?;
    let mut next = choices.iter().copied().chain(std::iter::repeat((9, 0)));
    // Each betting round ends after at most a few actions per player once the choices run
    // out; 2,000 steps is far beyond any real hand.
    for _ in 0..2_000 {
        let choice = next.next().unwrap_or((9, 0));
        match legal_step(&state, choice, table.seed)? {
            None => return Ok((state, log)),
            Some(command) => run(&mut state, &mut log, &command)?,
        }
    }
    Err(TestCaseError::fail(format!("the hand did not complete: {:?}", state.phase())))
}

/// `cases` unless `PROPTEST_CASES` asks for more (a long run: `PROPTEST_CASES=20000`).
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    Config { cases, failure_persistence: None, ..Config::default() }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn random_legal_play_conserves_chips_completes_and_replays(
        table in table(),
        choices in prop::collection::vec((any::<u8>(), any::<u64>()), 0..80),
        with_deck in prop::bool::weighted(0.8),
    ) {
        let (state, log) = play(&table, &choices, with_deck)?;
        prop_assert_eq!(state.phase(), Phase::Complete);

        let total: u64 = table.stacks.iter().sum();
        let after: u64 = state.stacks().iter().map(|c| c.0).sum();
        prop_assert_eq!(after, total, "stacks do not add up to the chips brought");
        prop_assert_eq!(state.middle(), Chips::ZERO);
        match log.last() {
            Some(Event::HandEnded { stacks }) => prop_assert_eq!(&stacks[..state.players()], state.stacks()),
            other => prop_assert!(false, "the last event is {:?}", other),
        }
        prop_assert_eq!(log.iter().filter(|e| matches!(e, Event::HandEnded { .. })).count(), 1);

        // Replaying the stream from empty gives the same state.
        let mut replayed = HandState::new();
        for event in &log {
            apply(&mut replayed, event);
        }
        prop_assert_eq!(&replayed, &state);

        // The same table and choices give the same events.
        let (_, again) = play(&table, &choices, with_deck)?;
        prop_assert_eq!(again, log);
    }
}

// ---------------------------------------------------------------------------------------
// Arbitrary commands

fn position() -> impl Strategy<Value = Pos> {
    prop_oneof![4 => (0u8..=9).prop_map(Pos), 1 => (10u8..=15).prop_map(Pos), 1 => any::<u8>().prop_map(Pos)]
}

fn amount() -> impl Strategy<Value = Chips> {
    prop_oneof![
        Just(Chips(0)),
        Just(Chips(u64::MAX)),
        (0u64..=300).prop_map(Chips),
        any::<u64>().prop_map(Chips),
        (u64::MAX - 1_000..=u64::MAX).prop_map(Chips),
    ]
}

fn some_cards(max: usize) -> impl Strategy<Value = Cards> {
    prop::collection::vec(prop::option::weighted(0.85, 0u8..52), 0..=max).prop_map(|indices| {
        let cards: Vec<Option<Card>> = indices.into_iter().map(|i| i.and_then(Card::from_index)).collect();
        Cards::new(&cards)
    })
}

fn show() -> impl Strategy<Value = Show> {
    prop_oneof![Just(Show::Muck), Just(Show::All), some_cards(5).prop_map(Show::Cards)]
}

/// Any setup at all: 0 to 12 players, empty and enormous stacks, zero sizes, any forced bets.
fn any_setup() -> impl Strategy<Value = HandSetup> {
    (
        0u8..3,
        prop::collection::vec(prop_oneof![Just(0u64), 1u64..=500, any::<u64>(), Just(u64::MAX / 10)], 0..=12),
        amount(),
        prop::collection::vec(
            prop_oneof![Just(Forced::None), amount().prop_map(Forced::Blind), amount().prop_map(Forced::Post)],
            MAX_PLAYERS,
        ),
        prop::collection::vec(prop_oneof![3 => Just(Chips(0)), 1 => amount()], MAX_PLAYERS),
        any::<([u8; 32], bool, bool, bool)>(),
    )
        .prop_map(|(variant, stacks, min_bet, forced, antes, (seed, deck, trimming, manual))| {
            let variant = match variant {
                0 => Variant::no_limit_holdem(),
                1 => Variant::pot_limit_omaha(),
                _ => Variant::fixed_limit_holdem(min_bet, Chips(min_bet.0.saturating_mul(2))),
            };
            let stacks: Vec<Chips> = stacks.into_iter().map(Chips).collect();
            let mut setup = HandSetup::new(variant, &stacks, min_bet);
            setup.forced.copy_from_slice(&forced);
            setup.antes.copy_from_slice(&antes);
            setup.ante_trimming = trimming;
            setup.showdown = if manual { ShowdownPolicy::Manual } else { ShowdownPolicy::Automatic };
            setup.deck = deck.then(|| Deck::shuffled(seed));
            setup
        })
}

fn any_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        3 => position().prop_map(|pos| Command::Fold { pos }),
        3 => position().prop_map(|pos| Command::CheckOrCall { pos }),
        5 => (position(), amount()).prop_map(|(pos, to)| Command::BetOrRaiseTo { pos, to }),
        2 => (position(), some_cards(5)).prop_map(|(pos, cards)| Command::DealHole { pos, cards }),
        2 => some_cards(5).prop_map(|cards| Command::DealBoard { cards }),
        3 => (position(), show()).prop_map(|(pos, show)| Command::ShowOrMuck { pos, show }),
        1 => any_setup().prop_map(Command::start),
    ]
}

/// Sends an arbitrary command: refused, nothing changes; accepted, every event conserves
/// chips. A panic inside `decide` fails the case with its message.
fn poke(
    state: &mut HandState,
    log: &mut Vec<Event>,
    command: &Command,
    from_deck: &mut bool,
) -> Result<(), TestCaseError> {
    let before = state.clone();
    let legal_before = legal_actions(state);
    // `execute` must do exactly what `decide` then `apply` do, and nothing on a rejection.
    let mut executed = state.clone();
    let mut out = vec![Event::PotFormed { pot: 9, amount: Chips(1), contenders: PosSet::EMPTY }];
    let execution = execute(&mut executed, command, &mut out);
    let marker = out.remove(0);
    match decide(state, command) {
        Err(rejection) => {
            prop_assert_eq!(&*state, &before, "a refused {:?} changed the state", command);
            prop_assert_eq!(legal_actions(state), legal_before);
            prop_assert_eq!(execution, Err(rejection), "execute and decide disagree on {:?}", command);
            prop_assert_eq!(&executed, &before, "a refused execute changed the state");
            prop_assert!(
                out.is_empty() && matches!(marker, Event::PotFormed { pot: 9, .. }),
                "a refused execute wrote events"
            );
        }
        Ok(events) => {
            if let Command::Start(setup) = command {
                *from_deck = setup.deck.is_some();
            }
            for event in &events {
                apply(state, event);
                prop_assert!(state.chips_conserved(), "chips not conserved after {event:?} (from {command:?})");
            }
            prop_assert_eq!(execution, Ok(()), "execute refused {:?}, which decide accepts", command);
            prop_assert_eq!(&out, &events, "execute and decide emit different events");
            prop_assert_eq!(&executed, &*state, "execute and decide + apply end in different states");
            log.extend(events);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(384))]

    #[test]
    fn decide_never_panics_and_refusals_change_nothing(
        table in table(),
        with_deck in any::<bool>(),
        start_arbitrary in prop::bool::weighted(0.15),
        arbitrary_start in any_setup(),
        steps in prop::collection::vec((any_command(), prop::bool::weighted(0.6), any::<(u8, u64)>()), 0..60),
    ) {
        let mut state = HandState::new();
        let mut log = Vec::new();
        let mut from_deck = false;
        let start = if start_arbitrary { arbitrary_start } else { table.setup(with_deck) };
        poke(&mut state, &mut log, &Command::start(start), &mut from_deck)?;
        for (command, then_legal, choice) in &steps {
            poke(&mut state, &mut log, command, &mut from_deck)?;
            if *then_legal
                && state.phase() != Phase::NotStarted
                && let Some(legal) = legal_step(&state, *choice, table.seed)?
            {
                run(&mut state, &mut log, &legal)?;
            }
        }
        // Whatever was accepted, the stream rebuilds the state.
        let mut replayed = HandState::new();
        for event in &log {
            apply(&mut replayed, event);
        }
        prop_assert_eq!(&replayed, &state);
    }
}
