//! Regression tests for defects the rules and property suites found (shows naming a card
//! twice or a card dealt elsewhere, unchecked voluntary shows, the winning rank of a pot
//! whose losers were killed). Each test states the expected behaviour.

use showdown_engine::cards::parse_cards;
use showdown_engine::chips::Chips;
use showdown_engine::hand::{Cards, Command, Event, HandState, Rejection, Show, apply, decide};
use showdown_engine::phh::parse_phh;
use showdown_engine::replay::replay;
use showdown_engine::rules::{HandSetup, Pos, ShowdownPolicy, Variant};
use std::panic::AssertUnwindSafe;

fn cards(text: &str) -> Cards {
    Cards::new(&parse_cards(text).expect("test cards parse"))
}

#[track_caller]
fn send(state: &mut HandState, command: Command) -> Vec<Event> {
    let events = decide(state, &command).unwrap_or_else(|r| panic!("{command:?} refused: {r}"));
    for e in &events {
        apply(state, e);
        assert!(state.chips_conserved());
    }
    events
}

/// Heads-up, cards by command, checked down to the river showdown: p1 AsKd, p2 QcQh, board
/// 2c 5d 8h 9s Jc. With a manual showdown, p1 shows first.
fn manual_showdown() -> HandState {
    let mut setup = HandSetup::new(Variant::no_limit_holdem(), &[Chips(100), Chips(100)], Chips(2))
        .with_blinds(&[Chips(1), Chips(2)]);
    setup.showdown = ShowdownPolicy::Manual;
    let mut s = HandState::new();
    send(&mut s, Command::start(setup));
    send(&mut s, Command::DealHole { pos: Pos(0), cards: cards("AsKd") });
    send(&mut s, Command::DealHole { pos: Pos(1), cards: cards("QcQh") });
    send(&mut s, Command::CheckOrCall { pos: Pos(1) });
    send(&mut s, Command::CheckOrCall { pos: Pos(0) });
    for board in ["2c5d8h", "9s", "Jc"] {
        send(&mut s, Command::DealBoard { cards: cards(board) });
        send(&mut s, Command::CheckOrCall { pos: Pos(0) });
        send(&mut s, Command::CheckOrCall { pos: Pos(1) });
    }
    assert_eq!(s.showdown_next(), Some(Pos(0)));
    s
}

/// `check_show` skips the duplicate check for the player's own cards, so a show that names
/// one of them twice is accepted: ace-king "shows" `AsAs` and becomes a hand of two aces of
/// spades (the next test shows what then happens). A show must name distinct cards.
#[test]
fn a_show_that_names_one_hole_card_twice_is_refused() {
    let s = manual_showdown();
    let result = decide(&s, &Command::ShowOrMuck { pos: Pos(0), show: Show::Cards(cards("AsAs")) });
    assert!(matches!(result, Err(Rejection::DuplicateCard { .. })), "a show of As twice was accepted: {result:?}");
}

/// What happens next when the duplicate show above is accepted: the showdown evaluates
/// `As As 2c 5d 8h 9s Jc` and the evaluator's assertion panics inside `decide`, which must
/// never panic (DESIGN.md, invariant 2: domain rejections only).
#[test]
fn decide_does_not_panic_after_a_show_that_names_a_card_twice() {
    let mut s = manual_showdown();
    let show = Command::ShowOrMuck { pos: Pos(0), show: Show::Cards(cards("AsAs")) };
    if decide(&s, &show).is_err() {
        return; // refused: the fix of the test above
    }
    send(&mut s, show);
    let next = Command::ShowOrMuck { pos: Pos(1), show: Show::All };
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| decide(&s, &next)));
    assert!(outcome.is_ok(), "decide panicked on p2's show after p1 showed AsAs");
}

/// The same through a PHH file: `showdown replay` on this 15-line hand history panics and
/// exits 101 with no output line at all (the other hands of the run are lost too). PokerKit
/// replays it (it only warns about cards) and gives [102, 98]; the engine should either
/// refuse the show (`ReplayError::Action` naming `p1 sm AsAs`) or replay it, not crash.
#[test]
fn a_phh_show_naming_a_card_twice_does_not_crash_the_replay() {
    let text = r#"
variant = "NT"
antes = [0, 0]
blinds_or_straddles = [1, 2]
min_bet = 2
starting_stacks = [100, 100]
actions = ["d dh p1 AsKd", "d dh p2 QcQh", "p2 cc", "p1 cc", "d db 2c5d8h", "p1 cc", "p2 cc",
  "d db 9s", "p1 cc", "p2 cc", "d db Jc", "p1 cc", "p2 cc", "p1 sm AsAs", "p2 sm QcQh"]
"#;
    let hand = parse_phh(text).expect("reads");
    let outcome = std::panic::catch_unwind(|| replay(&hand));
    assert!(outcome.is_ok(), "replaying `p1 sm AsAs` panicked");
}

/// At showdown, showing a card that is on the board is refused (`DuplicateCard`); after the
/// hand, the same voluntary show is checked against nothing: a player may "show" a board
/// card (or another player's card) and the event announces it to every seat. The board
/// holds 2c 5d 8h 9s Jc; nobody can hold Jc.
#[test]
fn a_voluntary_show_of_a_board_card_is_refused() {
    let mut s = manual_showdown();
    let at_showdown = decide(&s, &Command::ShowOrMuck { pos: Pos(0), show: Show::Cards(cards("JcAs")) });
    assert!(matches!(at_showdown, Err(Rejection::DuplicateCard { .. })), "{at_showdown:?}");
    send(&mut s, Command::ShowOrMuck { pos: Pos(0), show: Show::Muck });
    let _ = send(&mut s, Command::ShowOrMuck { pos: Pos(1), show: Show::All });
    assert_eq!(s.phase(), showdown_engine::hand::Phase::Complete);
    let result = decide(&s, &Command::ShowOrMuck { pos: Pos(0), show: Show::Cards(cards("JcAs")) });
    assert!(
        matches!(result, Err(Rejection::DuplicateCard { .. })),
        "a voluntary show of the board's Jc was accepted: {result:?}"
    );
}

/// `PotAwarded.rank` is documented as "the winning hand, when shown down". When the loser's
/// shown hand is killed before the pots are pushed, the winner is the only player left and
/// the award reports `rank: None`, though the winner showed down.
#[test]
fn a_pot_won_at_showdown_reports_the_winning_rank() {
    let mut s = manual_showdown();
    send(&mut s, Command::ShowOrMuck { pos: Pos(0), show: Show::All });
    let events = send(&mut s, Command::ShowOrMuck { pos: Pos(1), show: Show::All });
    let rank = events.iter().find_map(|e| match e {
        Event::PotAwarded { pos: Pos(1), rank, .. } => Some(*rank),
        _ => None,
    });
    assert!(matches!(rank, Some(Some(_))), "queens showed down and won, but the award says {rank:?}: {events:?}");
}

/// Heads-up from a seeded deck with a manual showdown; both players all in pre-flop, so
/// the showdown comes before the flop. Returns the state and the deck.
fn all_in_preflop_from_a_deck() -> (HandState, showdown_engine::deck::Deck) {
    let deck = showdown_engine::deck::Deck::shuffled([7; 32]);
    let mut setup = HandSetup::new(Variant::no_limit_holdem(), &[Chips(100), Chips(100)], Chips(2))
        .with_blinds(&[Chips(1), Chips(2)]);
    setup.showdown = ShowdownPolicy::Manual;
    setup.deck = Some(deck);
    let mut s = HandState::new();
    send(&mut s, Command::start(setup));
    send(&mut s, Command::BetOrRaiseTo { pos: Pos(1), to: Chips(100) });
    send(&mut s, Command::CheckOrCall { pos: Pos(0) });
    assert_eq!(s.phase(), showdown_engine::hand::Phase::Showdown);
    (s, deck)
}

/// With a deck the engine knows every hole card, yet a show may name a card the player
/// was not dealt, as long as nobody holds it yet: here p1 "shows" the first card of the
/// coming flop (deck position 5: four hole cards, one burn). A live table must refuse it.
#[test]
fn with_a_deck_a_show_of_a_card_not_dealt_to_the_player_is_refused() {
    let (s, deck) = all_in_preflop_from_a_deck();
    let pos = s.showdown_next().expect("someone shows first");
    let flop_card = deck.card(5);
    assert!(!s.hole_cards(pos).contains(&Some(flop_card)));
    let result = decide(&s, &Command::ShowOrMuck { pos, show: Show::Cards(Cards::new(&[Some(flop_card)])) });
    assert!(result.is_err(), "{pos} showed {flop_card}, which is still in the deck: {result:?}");
}

/// What follows when that show is accepted: the deck then deals the same card to the
/// board, and the showdown's evaluation panics on the duplicate inside `decide`. Found by
/// `properties.rs` (`decide_never_panics_and_refusals_change_nothing`, 40,000 cases).
#[test]
fn decide_does_not_panic_when_a_shown_card_is_dealt_again_from_the_deck() {
    let (mut s, deck) = all_in_preflop_from_a_deck();
    let pos = s.showdown_next().expect("someone shows first");
    let show = Command::ShowOrMuck { pos, show: Show::Cards(Cards::new(&[Some(deck.card(5))])) };
    if decide(&s, &show).is_err() {
        return; // refused: the fix of the test above
    }
    send(&mut s, show);
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(move || {
        // Everyone shows everything on every street until the hand ends.
        for _ in 0..20 {
            let Some(next) = s.showdown_next() else { break };
            let held = s.hole_cards(next).to_vec();
            let events = decide(&s, &Command::ShowOrMuck { pos: next, show: Show::Cards(Cards::new(&held)) })
                .expect("a show of the cards held");
            for e in &events {
                apply(&mut s, e);
            }
        }
    }));
    assert!(outcome.is_ok(), "decide panicked: the board dealt a card that a player had shown");
}
