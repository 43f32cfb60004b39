//! Showdown's poker engine: pure, deterministic rules that take commands and emit events.
//!
//! Invariant: nothing in this crate reads a clock, a random source, the network or the disk.
//! Time and shuffle seeds arrive inside commands and are recorded in events, so the same
//! commands give the same events on every machine.

#[cfg(feature = "bincode")]
mod binary;
pub mod cards;
pub mod chips;
pub mod deck;
pub mod eval;
pub mod export;
pub mod hand;
pub mod hlc;
pub mod phh;
pub mod player;
pub mod pots;
pub mod preferences;
pub mod replay;
pub mod rules;
pub mod table;
// Behind the feature `proptest`; also built for the crate's own tests, which share its auditor.
#[cfg(any(test, feature = "proptest"))]
pub mod testing;

/// The provably fair deck check, for clients and auditors: `showdown_engine::fairness::verify`.
pub use table::fairness;
