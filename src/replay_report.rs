//! `showdown replay`: read PHH files, replay each hand, report one line per hand.
//!
//! A file that cannot be read or is not PHH gives one error line for the file; a hand the
//! engine refuses gives one error line for that hand; every other hand still replays.

use std::fmt::Write as _;

use crate::engine::phh::{self, HandHistory, format_amount};
use crate::engine::replay::replay;

/// One hand's outcome, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandLine {
    /// The file as given on the command line.
    pub file: String,
    /// The hand's index in the file, from 0.
    pub index: usize,
    /// Final stacks in the file's units (`"inf"` where unknown), or why the hand failed.
    pub outcome: Result<Vec<String>, String>,
    /// Pots split among hands nobody showed.
    pub undetermined_pots: u8,
}

impl HandLine {
    /// The JSON line `showdown replay --json` prints.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(128);
        let file = serde_json::to_string(&self.file).unwrap_or_else(|_| "\"?\"".to_owned());
        let _ = write!(out, "{{\"file\":{file},\"index\":{}", self.index);
        match &self.outcome {
            Ok(stacks) => {
                // Stacks are decimal literals or the quoted string "inf": valid JSON as they are.
                let _ = write!(out, ",\"finishing_stacks\":[{}]", stacks.join(","));
                if self.undetermined_pots > 0 {
                    let _ = write!(out, ",\"undetermined_pots\":{}", self.undetermined_pots);
                }
            }
            Err(why) => {
                let why = serde_json::to_string(why).unwrap_or_else(|_| "\"?\"".to_owned());
                let _ = write!(out, ",\"error\":{why}");
            }
        }
        out.push('}');
        out
    }

    /// The human-readable line `showdown replay` prints.
    #[must_use]
    pub fn to_text(&self) -> String {
        match &self.outcome {
            Ok(stacks) => {
                let note = if self.undetermined_pots > 0 {
                    format!(" ({} pot(s) split among unshown hands)", self.undetermined_pots)
                } else {
                    String::new()
                };
                format!("{} [{}]: {}{note}", self.file, self.index, stacks.join(" ").replace('"', ""))
            }
            Err(why) => format!("{} [{}]: error: {why}", self.file, self.index),
        }
    }
}

/// Replays one parsed hand into its report line.
#[must_use]
pub fn replay_hand(file: &str, index: usize, hand: &HandHistory) -> HandLine {
    match replay(hand) {
        Ok(r) => HandLine {
            file: file.to_owned(),
            index,
            outcome: Ok(r.finishing_stacks.iter().map(|&s| format_amount(hand.scale, s)).collect()),
            undetermined_pots: r.undetermined_pots,
        },
        Err(e) => HandLine { file: file.to_owned(), index, outcome: Err(e.to_string()), undetermined_pots: 0 },
    }
}

/// Replays every hand of one file's text. A text that is not PHH gives one error line.
#[must_use]
pub fn replay_text(file: &str, text: &str) -> Vec<HandLine> {
    match phh::parse_file_text(file, text) {
        Err(e) => vec![HandLine { file: file.to_owned(), index: 0, outcome: Err(e.to_string()), undetermined_pots: 0 }],
        Ok(hands) => hands
            .into_iter()
            .enumerate()
            .map(|(index, hand)| match hand {
                Ok(hand) => replay_hand(file, index, &hand),
                Err(e) => HandLine { file: file.to_owned(), index, outcome: Err(e.to_string()), undetermined_pots: 0 },
            })
            .collect(),
    }
}
