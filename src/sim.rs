//! Random six-max no-limit hands played through `decide` and `apply` in memory: the
//! workload of `showdown bench simulate` and of the simulation benchmark.
//!
//! Bots play like the random player of PokerKit's oracle (`../shared/tools/pokerkit_oracle.py`),
//! which generated the corpus: see the comment in [`simulate_with`]. Decks are shuffled from seeds drawn from the same
//! seeded generator, so a seed fixes every hand.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use crate::engine::chips::Chips;
use crate::engine::deck::Deck;
use crate::engine::hand::{Command, Event, HandState, LegalActions, apply, decide_into, execute, legal_actions};
use crate::engine::rules::{HandSetup, Variant};

/// What a simulation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Hands played to the end.
    pub hands: u64,
    /// Events emitted and applied.
    pub events: u64,
    /// Commands decided.
    pub commands: u64,
    /// Hands that reached a showdown.
    pub showdowns: u64,
}

/// Plays `hands` random six-max hands (blinds 1/2, stacks of 200) from `seed`.
///
/// # Panics
/// If the engine refuses a command its own `legal_actions` offered, or chips are not
/// conserved at the end of a hand: both are bugs in the rules.
#[must_use]
pub fn simulate(hands: u64, seed: u64) -> SimStats {
    simulate_with(hands, seed, Path::DecideApply)
}

/// How commands reach the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// `decide` on the state, then `apply` of each event: the event-sourcing round trip.
    DecideApply,
    /// `execute`: the same checks and the same `apply`, without `decide`'s scratch copy.
    Execute,
}

/// [`simulate`] through the chosen path; both give the same hands for the same seed.
///
/// # Panics
/// As [`simulate`].
#[must_use]
pub fn simulate_with(hands: u64, seed: u64, path: Path) -> SimStats {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut stats = SimStats::default();
    let base =
        HandSetup::new(Variant::no_limit_holdem(), &[Chips(200); 6], Chips(2)).with_blinds(&[Chips(1), Chips(2)]);
    let mut events: Vec<Event> = Vec::with_capacity(64);
    for _ in 0..hands {
        // Allocations happen once per hand (this boxed setup, its copy in `HandStarted`,
        // the stacks of `HandEnded`), never per action.
        let setup = HandSetup { deck: Some(next_deck(&mut rng)), ..base.clone() };
        let mut state = HandState::new();
        let mut command = Command::start(setup);
        loop {
            events.clear();
            let decided = match path {
                Path::DecideApply => decide_into(&state, &command, &mut events).map(|()| {
                    for event in &events {
                        apply(&mut state, event);
                    }
                }),
                Path::Execute => execute(&mut state, &command, &mut events),
            };
            if let Err(rejection) = decided {
                panic!("the engine refused its own legal command {command:?}: {rejection}");
            }
            stats.commands += 1;
            stats.events += events.len() as u64;
            let Some(legal) = legal_actions(&state) else { break };
            let pos = legal.actor;
            command = match oracle_move(&legal, &mut rng) {
                Move::RaiseTo(to) => Command::BetOrRaiseTo { pos, to },
                Move::Fold => Command::Fold { pos },
                Move::CheckOrCall => Command::CheckOrCall { pos },
            };
        }
        assert!(state.chips_conserved(), "chips not conserved after hand {}", stats.hands);
        if events.iter().any(|e| matches!(e, Event::ShowdownStarted { .. })) {
            stats.showdowns += 1;
        }
        stats.hands += 1;
    }
    stats
}

/// The part of [`simulate`]'s work that no rule does: each hand's deck seed drawn, the deck
/// shuffled, and as many bot draws as a hand takes on average (15.6 per hand for seed 1,
/// counted over 100,000 hands; 16 here). Timed beside `simulate`, it is the floor under a
/// hand's time that a faster engine cannot lower (docs/PERFORMANCE.md). Returns a checksum
/// of the decks and draws, so that nothing is optimized away.
#[must_use]
pub fn deck_and_draws_only(hands: u64, seed: u64) -> u64 {
    const DRAWS_PER_HAND: usize = 16;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sum = 0u64;
    for _ in 0..hands {
        let deck = next_deck(&mut rng);
        sum = sum.wrapping_add(u64::from(deck.card(0).index()));
        for _ in 0..DRAWS_PER_HAND {
            sum ^= below(&mut rng, 100);
        }
    }
    sum
}

/// The next hand's deck, shuffled from a seed drawn from the bots' generator.
fn next_deck(rng: &mut ChaCha8Rng) -> Deck {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    Deck::shuffled(seed)
}

/// A bot's choice of action.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Move {
    /// Fold.
    Fold,
    /// Check, or call what is owed.
    CheckOrCall,
    /// Bet or raise to this total.
    RaiseTo(Chips),
}

/// The random player of PokerKit's oracle (`pokerkit_oracle.py play`), which made the
/// generated corpus: raise 35 % of the time when allowed (to the minimum 40 % of those, all
/// in 20 %, else uniform), else fold 20 % when facing a bet, else check or call.
pub fn oracle_move(legal: &LegalActions, rng: &mut ChaCha8Rng) -> Move {
    let roll = below(rng, 100);
    match legal.raise {
        Ok(range) if roll < 35 => {
            let pick = below(rng, 100);
            let to = if pick < 40 {
                range.min.0
            } else if pick < 60 {
                range.max.0
            } else {
                range.min.0 + below(rng, range.max.0 - range.min.0 + 1)
            };
            Move::RaiseTo(Chips(to))
        }
        _ if roll < 55 && !legal.call.is_zero() => Move::Fold,
        _ => Move::CheckOrCall,
    }
}

/// A number below `n` by multiply-and-shift: a bot's whim needs no exact uniformity, and
/// a division per action would cost more than the rules.
fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_paths_play_the_same_hands() {
        let decided = simulate_with(2_000, 5, Path::DecideApply);
        assert_eq!(decided, simulate_with(2_000, 5, Path::Execute));
        assert_eq!(decided.hands, 2_000);
        assert!(decided.showdowns > 0 && decided.events > decided.commands);
    }

    #[test]
    fn a_seed_fixes_every_hand() {
        assert_eq!(simulate(500, 9), simulate(500, 9));
        assert_ne!(simulate(500, 9), simulate(500, 10));
    }
}
