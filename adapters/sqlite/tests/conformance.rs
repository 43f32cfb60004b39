//! The shared conformance suite on `SqliteStore`: on a fresh file with the 16 writers
//! × 1,000 rounds, and in memory with fewer.

use std::sync::Arc;
use std::time::Instant;

use showdown_sqlite::SqliteStore;
use showdown_store::conformance::{self, Config};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_store_conforms() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite:{}", dir.path().join("conformance.db").display());
    let store = Arc::new(SqliteStore::open(&url).await.expect("open a new file"));
    let started = Instant::now();
    let report = conformance::run_all(Arc::clone(&store) as _, &Config::new("file", 1_000)).await;
    let elapsed = started.elapsed();
    assert_eq!(report.appended, 16 * 1_000);
    assert!(report.deduplicated > 0);
    assert!(report.conflicts > 0, "the writers raced: some must have lost");
    eprintln!("sqlite file, 16 writers × 1,000 rounds: {report:?} in {elapsed:.2?}");
    let store = Arc::into_inner(store).expect("the suite let go of the store");
    store.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_conforms() {
    let store = Arc::new(SqliteStore::open("sqlite::memory:").await.expect("open in memory"));
    let report = conformance::run_all(store, &Config::new("memory", 200)).await;
    assert_eq!(report.appended, 16 * 200);
    assert!(report.conflicts > 0, "the writers raced: some must have lost");
}
