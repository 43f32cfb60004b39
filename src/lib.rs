//! Showdown: poker tables as event-sourced aggregates.
//!
//! This facade re-exports the engine and the store crates, and holds what the `showdown`
//! command-line tool runs: store URLs ([`stores`]), bot tables ([`bots`]) played through
//! the table service ([`simulate`], [`stress`]), the deterministic fault simulator ([`chaos`]), the in-memory simulation behind
//! `showdown bench simulate` ([`sim`]), the PHH replay report behind `showdown replay` and
//! a stored table's hands as PHH ([`export`]), and reconciling two diverged copies of a table
//! ([`reconcile`]).

pub use showdown_engine as engine;
pub use showdown_store as store;

pub mod bots;
pub mod chaos;
pub mod export;
pub mod reconcile;
pub mod replay_report;
pub mod sim;
pub mod simulate;
pub mod stores;
pub mod stress;
