//! Writing a played hand down as PHH: the inverse of [`crate::replay`].
//!
//! A hand's events (its [`Event::HandStarted`] setup first) become a [`HandHistory`] that
//! the replay, and PokerKit, play back to the same finishing stacks: the setup gives the
//! variant, antes, forced bets and starting stacks in PHH position order (the engine's
//! positions *are* PHH's players, heads-up reversal included, so the lists are copied as
//! they are), and every dealt card, betting action and showdown decision becomes one PHH
//! action, in the order it happened. What the engine does by itself and PokerKit automates
//! as well (antes, blinds, bet collection, killing hands, pushing pots) is not written.
//!
//! Only what a hand's events say is written here; where the hand was played (table, seats,
//! players) is the caller's to add in [`HandHistory::extra`].

use crate::chips::Chips;
use crate::hand::Event;
use crate::phh::{Action, HandHistory, Scale, Stack};
use crate::rules::{BettingStructure, Forced, HandSetup};

/// Records one hand's events as a [`HandHistory`], event by event, so a caller reading a
/// long stream never holds more than the running hand.
#[derive(Debug, Clone, PartialEq)]
pub struct HandRecorder {
    history: HandHistory,
    ended: bool,
}

impl HandRecorder {
    /// A recorder for a hand started with `setup` (the setup of its
    /// [`Event::HandStarted`]; its deck, redacted or not, is not used).
    #[must_use]
    pub fn new(setup: &HandSetup) -> HandRecorder {
        HandRecorder { history: setup_history(setup), ended: false }
    }

    /// Adds one event of the hand. Events that PHH does not write (antes, blinds, pots,
    /// kills) and a show after the hand ended (it changes nothing) are skipped.
    pub fn record(&mut self, event: &Event) {
        if self.ended {
            return;
        }
        let player = |pos: crate::rules::Pos| pos.0;
        let action = match event {
            Event::HoleCardsDealt { pos, cards } => {
                Action::DealHole { player: player(*pos), cards: cards.as_slice().to_vec() }
            }
            Event::BoardDealt { cards } => Action::DealBoard { cards: cards.as_slice().to_vec() },
            Event::Folded { pos } => Action::Fold { player: player(*pos) },
            Event::Checked { pos } | Event::Called { pos, .. } => Action::CheckOrCall { player: player(*pos) },
            Event::BetOrRaised { pos, to, .. } => Action::CompleteBetOrRaiseTo { player: player(*pos), amount: to.0 },
            Event::CardsShown { pos, cards, voluntary: false } => {
                Action::Show { player: player(*pos), cards: cards.as_slice().to_vec() }
            }
            Event::CardsMucked { pos } => Action::Muck { player: player(*pos) },
            Event::HandEnded { stacks } => {
                self.history.finishing_stacks = Some(stacks.iter().map(|c| Stack::Chips(c.0)).collect());
                self.ended = true;
                return;
            }
            _ => return,
        };
        self.history.actions.push(action);
    }

    /// Whether the hand's [`Event::HandEnded`] was recorded.
    #[must_use]
    pub const fn is_ended(&self) -> bool {
        self.ended
    }

    /// The hand history so far: with `finishing_stacks` once the hand ended, without them
    /// for a hand still running.
    #[must_use]
    pub fn history(&self) -> &HandHistory {
        &self.history
    }

    /// The hand history, if the hand ended; `None` for a hand still running.
    #[must_use]
    pub fn finish(self) -> Option<HandHistory> {
        self.ended.then_some(self.history)
    }
}

/// The hand history of one hand's events, [`Event::HandStarted`] first: `None` when the
/// first event is not the setup or the hand did not end.
#[must_use]
pub fn hand_history<'a>(events: impl IntoIterator<Item = &'a Event>) -> Option<HandHistory> {
    let mut events = events.into_iter();
    let Some(Event::HandStarted(setup)) = events.next() else { return None };
    let mut recorder = HandRecorder::new(setup);
    for event in events {
        recorder.record(event);
    }
    recorder.finish()
}

/// Chips as a PHH amount. Every amount of a hand is at most the chips on its table, which
/// stay below [`Chips::UNBOUNDED`] (10^18), so the conversion never saturates in practice.
fn amount(chips: Chips) -> i64 {
    i64::try_from(chips.0).unwrap_or(i64::MAX)
}

/// Everything but the actions and the finishing stacks.
fn setup_history(setup: &HandSetup) -> HandHistory {
    let n = usize::from(setup.players);
    let (small_bet, big_bet, min_bet) = match setup.variant.betting {
        // Fixed limit plays the small and big bets; PHH's `FT` has no `min_bet`.
        BettingStructure::FixedLimit { small_bet, big_bet } => (Some(amount(small_bet)), Some(amount(big_bet)), None),
        BettingStructure::NoLimit | BettingStructure::PotLimit => (None, None, Some(amount(setup.min_bet))),
    };
    HandHistory {
        variant: setup.variant.phh_code().to_owned(),
        ante_trimming_status: setup.ante_trimming,
        antes: setup.antes[..n].iter().map(|&a| amount(a)).collect(),
        blinds_or_straddles: setup.forced[..n]
            .iter()
            .map(|forced| match *forced {
                Forced::None => 0,
                Forced::Blind(c) => amount(c),
                // A live post is PHH's negative entry (PokerKit's "post bet").
                Forced::Post(c) => -amount(c),
            })
            .collect(),
        bring_in: None,
        small_bet,
        big_bet,
        min_bet,
        starting_stacks: setup.stacks[..n].iter().map(|c| Stack::Chips(c.0)).collect(),
        actions: Vec::new(),
        action_comments: std::collections::BTreeMap::new(),
        finishing_stacks: None,
        scale: Scale::WHOLE,
        extra: toml::Table::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deck::Deck;
    use crate::hand::{Command, HandState, execute, legal_actions};
    use crate::phh::{parse_phh, write_phh};
    use crate::replay::replay;
    use crate::rules::{ShowdownPolicy, Variant};

    /// Plays a hand from a seeded deck: each step raises to the minimum when `raise(step)`
    /// says so and can, else checks or calls.
    fn play(setup: HandSetup, raise: impl Fn(usize) -> bool) -> Vec<Event> {
        let mut state = HandState::new();
        let mut events = Vec::new();
        execute(&mut state, &Command::start(setup), &mut events).expect("the hand starts");
        let mut step = 0;
        while let Some(legal) = legal_actions(&state) {
            let command = match legal.raise {
                Ok(range) if raise(step) => Command::BetOrRaiseTo { pos: legal.actor, to: range.min },
                _ => Command::CheckOrCall { pos: legal.actor },
            };
            execute(&mut state, &command, &mut events).expect("legal");
            step += 1;
        }
        events
    }

    fn setup(variant: Variant, stacks: &[u64], seed: u8) -> HandSetup {
        let stacks: Vec<Chips> = stacks.iter().map(|&c| Chips(c)).collect();
        let mut setup = HandSetup::new(variant, &stacks, Chips(2)).with_blinds(&[Chips(1), Chips(2)]);
        setup.showdown = ShowdownPolicy::Automatic;
        setup.deck = Some(Deck::shuffled([seed; 32]));
        setup
    }

    /// The history replays to the stacks the hand ended with.
    fn round_trip(events: &[Event]) -> HandHistory {
        let history = hand_history(events).expect("the hand ended");
        let Some(Event::HandEnded { stacks }) = events.last() else { panic!("no HandEnded") };
        let reread = parse_phh(&write_phh(&history)).expect("the written hand reads back");
        assert_eq!(reread, history);
        let replayed = replay(&reread).expect("the written hand replays");
        let expected: Vec<Stack> = stacks.iter().map(|c| Stack::Chips(c.0)).collect();
        assert_eq!(replayed.finishing_stacks, expected, "{}", write_phh(&history));
        history
    }

    #[test]
    fn a_heads_up_hand_is_written_as_pokerkit_writes_it() {
        let events = play(setup(Variant::no_limit_holdem(), &[100, 80], 1), |step| step == 0);
        let history = round_trip(&events);
        // Heads-up the list is read in reverse: p2, the button, posts the small blind.
        assert_eq!(history.blinds_or_straddles, [1, 2]);
        let text = write_phh(&history);
        let expected = "variant = \"NT\"\nante_trimming_status = false\nantes = [0, 0]\nblinds_or_straddles = [1, 2]\n\
                        min_bet = 2\nstarting_stacks = [100, 80]\n";
        assert!(text.starts_with(expected), "{text}");
        assert!(text.contains("\"d dh p1 "), "{text}");
        assert!(text.contains("\"p2 cbr 4\", \"p1 cc\", \"d db "), "{text}");
        assert!(text.contains(" sm "), "a showdown is written: {text}");
    }

    #[test]
    fn antes_posts_all_ins_and_every_variant_replay_to_the_same_stacks() {
        let variants =
            [Variant::no_limit_holdem(), Variant::pot_limit_omaha(), Variant::fixed_limit_holdem(Chips(2), Chips(4))];
        for (k, variant) in variants.into_iter().enumerate() {
            for seed in 0..40u8 {
                let mut s = setup(variant, &[30, 7, 200, 45, 12], seed);
                s.antes[..5].fill(Chips(1));
                s.forced[3] = Forced::Post(Chips(2));
                s.ante_trimming = seed % 2 == 0;
                let history = round_trip(&play(s, |step| (step + k + usize::from(seed)) % 3 == 0));
                assert_eq!(history.blinds_or_straddles, [1, 2, 0, -2, 0]);
                assert_eq!(history.variant, variant.phh_code());
            }
        }
    }

    #[test]
    fn a_hand_still_running_has_no_history() {
        let events = play(setup(Variant::no_limit_holdem(), &[100, 100, 100], 3), |_| false);
        assert!(hand_history(&events[..events.len() - 1]).is_none());
        assert!(hand_history(&events[1..]).is_none(), "the setup comes first");
        let Event::HandStarted(setup) = &events[0] else { panic!("the setup comes first") };
        let mut recorder = HandRecorder::new(setup);
        for event in &events[1..events.len() - 1] {
            recorder.record(event);
        }
        assert!(!recorder.is_ended());
        assert!(recorder.history().finishing_stacks.is_none());
        assert!(matches!(recorder.history().actions[0], Action::DealHole { player: 0, .. }));
        recorder.record(&events[events.len() - 1]);
        assert!(recorder.finish().is_some());
    }
}
