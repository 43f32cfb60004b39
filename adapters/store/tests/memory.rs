//! The conformance suite on [`MemoryStore`], with 16 writers × 1,000 rounds, as every backend.

use std::sync::Arc;

use showdown_store::MemoryStore;
use showdown_store::conformance::{self, Config};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_conforms() {
    let report = conformance::run_all(Arc::new(MemoryStore::new()), &Config::new("memory", 1_000)).await;
    assert_eq!(report.appended, 16 * 1_000);
    assert!(report.deduplicated > 0);
    assert!(report.conflicts > 0, "the writers raced: some must have lost");
    eprintln!("16 writers × 1,000 rounds: {report:?}");
}
