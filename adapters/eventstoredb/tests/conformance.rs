//! The shared conformance suite (`showdown_store::conformance`) against a real server.
//!
//! No EventStoreDB server can run where this crate is usually built, so the suite runs only
//! when `EVENTSTORE_URL` names one (for example
//! `EVENTSTORE_URL=esdb://localhost:2113?tls=false cargo test -p showdown-eventstoredb`);
//! otherwise the test says so and passes. Each run writes under a fresh stream prefix, so
//! the server can be reused.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use showdown_eventstoredb::EventStoreDbStore;
use showdown_store::conformance::{Config, run_all};

/// Commands each of the 16 racing writers appends.
const ROUNDS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance() {
    let Ok(url) = std::env::var("EVENTSTORE_URL") else {
        eprintln!("conformance: not run: set EVENTSTORE_URL (e.g. esdb://localhost:2113?tls=false) to run it");
        return;
    };
    let store = EventStoreDbStore::open(&url).unwrap_or_else(|e| panic!("EVENTSTORE_URL: {e}"));
    if let Err(e) = store.ping().await {
        let cause = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default();
        panic!("EVENTSTORE_URL is set, but {e}: {cause}");
    }
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let prefix = format!("conformance-{nanos:x}-{}", std::process::id());
    let report = run_all(Arc::new(store), &Config::new(prefix, ROUNDS)).await;
    eprintln!("conformance: passed against {url}: {report:?}");
}
