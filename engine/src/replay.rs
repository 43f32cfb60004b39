//! Replaying PHH hand histories through the rules, the way PokerKit does.
//!
//! A hand history is turned into a [`HandSetup`] and one command per action. Real files
//! skip steps (a fold nobody wrote down, a showdown left out, hole cards never listed), so
//! the replay repairs them exactly as PokerKit's `HandHistory.state_actions` does: when an
//! action is refused, one automatic step is taken (deal an unknown hole card, check when
//! free, else fold, show unknown cards at showdown) and the action is tried again. An
//! action that no repair makes acceptable ends the hand's replay with an error naming it.

use crate::chips::Chips;
use crate::hand::{Cards, Command, Event, HandState, Phase, Rejection, Show, apply, decide_into};
use crate::phh::{Action, HandHistory, Stack};
use crate::rules::{BettingStructure, Forced, FreeFoldPolicy, HandSetup, MAX_PLAYERS, Pos, ShowdownPolicy, Variant};

/// Why a hand history cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The variant is not one the engine plays.
    #[error(
        "unsupported variant {0:?}: the engine plays NT (no-limit hold'em), PO (pot-limit Omaha) and FT (fixed-limit hold'em)"
    )]
    UnsupportedVariant(String),
    /// A field the variant needs is missing or out of range.
    #[error("field {field}: {why}")]
    Field {
        /// The PHH field.
        field: &'static str,
        /// What is wrong and what was expected.
        why: String,
    },
    /// The rules refused the hand's setup.
    #[error("the hand cannot start: {0}")]
    Setup(Rejection),
    /// An action the rules refuse, even after PokerKit's repairs.
    #[error("action {index} '{text}': {rejection}")]
    Action {
        /// The action's index in the file's list, from 0.
        index: usize,
        /// The action as written.
        text: String,
        /// Why it was refused.
        rejection: Rejection,
    },
    /// An action of another game (stud bring-in, draw).
    #[error("action {index} '{text}' belongs to another game than {variant}")]
    ForeignAction {
        /// The action's index, from 0.
        index: usize,
        /// The action as written.
        text: String,
        /// The hand's variant code.
        variant: String,
    },
}

/// The outcome of a replayed hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// The final state.
    pub state: HandState,
    /// Every event, in order.
    pub events: Vec<Event>,
    /// Final stacks, in the hand's units; unknown starting stacks stay unknown.
    pub finishing_stacks: Vec<Stack>,
    /// Pots split among hands nobody showed (the winner is unknown).
    pub undetermined_pots: u8,
}

/// The variant of a PHH code, if the engine plays it.
fn variant_of(hand: &HandHistory) -> Result<Variant, ReplayError> {
    let positive = |field: &'static str, value: Option<i64>| -> Result<Chips, ReplayError> {
        match value {
            Some(v) if v > 0 => Ok(Chips(v as u64)),
            Some(v) => Err(ReplayError::Field { field, why: format!("{v} is not above zero") }),
            None => Err(ReplayError::Field { field, why: format!("missing: variant {} needs it", hand.variant) }),
        }
    };
    match hand.variant.as_str() {
        "NT" => Ok(Variant::no_limit_holdem()),
        "PO" => Ok(Variant::pot_limit_omaha()),
        "FT" => {
            Ok(Variant::fixed_limit_holdem(positive("small_bet", hand.small_bet)?, positive("big_bet", hand.big_bet)?))
        }
        other => Err(ReplayError::UnsupportedVariant(other.to_owned())),
    }
}

/// The setup a hand history describes, with replay policies: free folds allowed (as in
/// PokerKit's cash games), showdowns as written, cards from the actions.
///
/// # Errors
/// [`ReplayError::UnsupportedVariant`], or [`ReplayError::Field`] for a missing or
/// negative amount, or more players than the engine seats.
pub fn setup_of(hand: &HandHistory) -> Result<HandSetup, ReplayError> {
    let variant = variant_of(hand)?;
    let n = hand.starting_stacks.len();
    if !(2..=MAX_PLAYERS).contains(&n) {
        return Err(ReplayError::Field {
            field: "starting_stacks",
            why: format!("{n} players; the engine deals 2 to {MAX_PLAYERS}"),
        });
    }
    let stacks: Vec<Chips> = hand.starting_stacks.iter().map(|s| s.to_chips()).collect();
    let min_bet = match variant.betting {
        BettingStructure::FixedLimit { small_bet, .. } => small_bet,
        _ => match hand.min_bet {
            Some(v) if v > 0 => Chips(v as u64),
            Some(v) => return Err(ReplayError::Field { field: "min_bet", why: format!("{v} is not above zero") }),
            None => return Err(ReplayError::Field { field: "min_bet", why: "missing".to_owned() }),
        },
    };
    let mut setup = HandSetup::new(variant, &stacks, min_bet);
    for (i, &ante) in hand.antes.iter().enumerate().take(n) {
        if ante < 0 {
            return Err(ReplayError::Field { field: "antes", why: format!("entry {} is negative ({ante})", i + 1) });
        }
        setup.antes[i] = Chips(ante as u64);
    }
    for (i, &blind) in hand.blinds_or_straddles.iter().enumerate().take(n) {
        setup.forced[i] = match blind {
            0 => Forced::None,
            b if b > 0 => Forced::Blind(Chips(b as u64)),
            b => Forced::Post(Chips(b.unsigned_abs())),
        };
    }
    if hand.bring_in.is_some_and(|b| b != 0) {
        return Err(ReplayError::Field { field: "bring_in", why: format!("{} has no bring-in", hand.variant) });
    }
    setup.ante_trimming = hand.ante_trimming_status;
    setup.free_fold = FreeFoldPolicy::Allow;
    setup.showdown = ShowdownPolicy::Manual;
    Ok(setup)
}

/// Cards of one action: at most five are dealt or shown at once.
fn cards_of(cards: &[Option<crate::cards::Card>]) -> Option<Cards> {
    (cards.len() <= 5).then(|| Cards::new(cards))
}

/// The command an action stands for, `Ok(None)` for a no-op.
fn command_of(hand: &HandHistory, index: usize, action: &Action) -> Result<Option<Command>, ReplayError> {
    let foreign =
        || ReplayError::ForeignAction { index, text: action.to_phh(hand.scale), variant: hand.variant.clone() };
    let too_many = |count: usize| ReplayError::Field {
        field: "actions",
        why: format!("action {index} '{}' has {count} cards; at most 5 are dealt at once", action.to_phh(hand.scale)),
    };
    Ok(Some(match action {
        Action::DealHole { player, cards } => {
            Command::DealHole { pos: Pos(*player), cards: cards_of(cards).ok_or_else(|| too_many(cards.len()))? }
        }
        Action::DealBoard { cards } => {
            Command::DealBoard { cards: cards_of(cards).ok_or_else(|| too_many(cards.len()))? }
        }
        Action::Fold { player } => Command::Fold { pos: Pos(*player) },
        Action::CheckOrCall { player } => Command::CheckOrCall { pos: Pos(*player) },
        Action::CompleteBetOrRaiseTo { player, amount } => {
            Command::BetOrRaiseTo { pos: Pos(*player), to: Chips(*amount) }
        }
        Action::Show { player, cards } => Command::ShowOrMuck {
            pos: Pos(*player),
            show: Show::Cards(cards_of(cards).ok_or_else(|| too_many(cards.len()))?),
        },
        Action::Muck { player } => Command::ShowOrMuck { pos: Pos(*player), show: Show::Muck },
        Action::NoOp => return Ok(None),
        Action::PostBringIn { .. } | Action::StandPatOrDiscard { .. } => return Err(foreign()),
    }))
}

/// PokerKit's repair step: the one automatic operation it tries when an action is refused.
/// `actions_left` says whether the file still has actions (folds and checks are only
/// invented to reach one).
fn repair(state: &HandState, actions_left: bool) -> Option<Command> {
    if let Some(pos) = state.hole_dealee() {
        return Some(Command::DealHole { pos, cards: Cards::new(&[None]) });
    }
    if actions_left && let Some(legal) = crate::hand::legal_actions(state) {
        return Some(if legal.call.is_zero() {
            Command::CheckOrCall { pos: legal.actor }
        } else {
            Command::Fold { pos: legal.actor }
        });
    }
    if state.phase() == Phase::Showdown
        && let Some(pos) = state.showdown_next()
    {
        let held = state.hole_cards(pos).len();
        return Some(Command::ShowOrMuck { pos, show: Show::Cards(Cards::new(&[None; 5][..held])) });
    }
    None
}

/// Replays one hand history.
///
/// # Errors
/// A [`ReplayError`] naming the field or the action that cannot be replayed.
pub fn replay(hand: &HandHistory) -> Result<Replay, ReplayError> {
    let setup = setup_of(hand)?;
    let mut state = HandState::new();
    let mut events = Vec::new();
    let mut buf = Vec::new();
    let mut run = |state: &mut HandState, command: &Command, events: &mut Vec<Event>| -> Result<(), Rejection> {
        buf.clear();
        decide_into(state, command, &mut buf)?;
        for e in &buf {
            apply(state, e);
        }
        events.append(&mut buf);
        Ok(())
    };
    run(&mut state, &Command::start(setup), &mut events).map_err(ReplayError::Setup)?;
    for (index, action) in hand.actions.iter().enumerate() {
        let Some(command) = command_of(hand, index, action)? else { continue };
        let mut first_rejection = None;
        loop {
            match run(&mut state, &command, &mut events) {
                Ok(()) => break,
                Err(rejection) => {
                    let first = *first_rejection.get_or_insert(rejection);
                    match repair(&state, true) {
                        Some(fix) if run(&mut state, &fix, &mut events).is_ok() => {}
                        _ => {
                            return Err(ReplayError::Action {
                                index,
                                text: action.to_phh(hand.scale),
                                rejection: first,
                            });
                        }
                    }
                }
            }
        }
    }
    // No action left: PokerKit still deals missing hole cards and shows down what is left.
    while state.phase() != Phase::Complete {
        match repair(&state, false) {
            Some(fix) if run(&mut state, &fix, &mut events).is_ok() => {}
            _ => break,
        }
    }
    let finishing_stacks = hand
        .starting_stacks
        .iter()
        .zip(state.stacks())
        .map(|(start, &now)| match start {
            Stack::Unbounded => Stack::Unbounded,
            Stack::Chips(_) => Stack::Chips(now.0),
        })
        .collect();
    let undetermined_pots = state.undetermined_pots();
    Ok(Replay { state, events, finishing_stacks, undetermined_pots })
}
