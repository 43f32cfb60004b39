//! What the Postgres tests share: the database URL, connecting or skipping, fresh names.
#![allow(dead_code)] // Each test binary uses a different part.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use showdown_postgres::{DriverError, PostgresOptions, PostgresStore};
use showdown_store::StoreError;

/// The schema the tests write to (a lasting one: each run writes under a fresh prefix).
pub const TEST_SCHEMA: &str = "showdown_store_test";

/// `SHOWDOWN_POSTGRES_URL`, else `DATABASE_URL`, else the local test database.
pub fn url() -> String {
    std::env::var("SHOWDOWN_POSTGRES_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A name no other run uses: the process id and the time.
pub fn unique(what: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{what}-{}-{nanos:x}", std::process::id())
}

/// Connects with `options`, or returns `None` after a notice when PostgreSQL cannot be
/// reached, unless the environment variable `CI` is set: then the test fails.
pub async fn connect_or_skip(options: PostgresOptions) -> Option<PostgresStore> {
    let url = url();
    match PostgresStore::connect_with(&url, options).await {
        Ok(store) => Some(store),
        // Only a failure to connect means "no database here"; a failing migration is a bug.
        Err(e @ StoreError::Unavailable { .. }) if cannot_connect(&e) => {
            let chain = error_chain(&e);
            if std::env::var_os("CI").is_some() {
                panic!("PostgreSQL is unreachable and CI is set, so this test fails: {chain}");
            }
            // Straight to stderr: the test harness captures `eprintln!` of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "NOTICE: test skipped (it passes without checking anything): PostgreSQL is unreachable: {chain}. \
                 Start it, or set SHOWDOWN_POSTGRES_URL; with CI set this is a failure."
            );
            None
        }
        Err(e) => panic!("connecting: {}", error_chain(&e)),
    }
}

/// Whether `e` says the database could not be reached at all.
fn cannot_connect(e: &StoreError) -> bool {
    let StoreError::Unavailable { source, .. } = e else { return false };
    source.downcast_ref::<DriverError>().is_some_and(|d| d.context() == "connecting")
}

/// The test schema.
pub fn test_options() -> PostgresOptions {
    PostgresOptions::new().schema(TEST_SCHEMA).expect("a valid schema name")
}

/// An error and its causes, on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
