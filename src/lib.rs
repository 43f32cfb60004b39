//! Showdown: poker tables as event-sourced aggregates.
//!
//! This facade re-exports the engine and holds what the `showdown` command-line tool runs:
//! the in-memory simulation behind `showdown bench simulate` and the PHH replay report
//! behind `showdown replay`.

pub use showdown_engine as engine;

pub mod replay_report;
pub mod sim;
