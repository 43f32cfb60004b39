//! The conformance suite on [`MemoryStore`], with 16 writers × 200 rounds (the 1,000
//! rounds are for the backends' CI runs; 200 keeps this test well under a second).

use std::sync::Arc;

use showdown_store::MemoryStore;
use showdown_store::conformance::{self, Config};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_conforms() {
    let report = conformance::run_all(Arc::new(MemoryStore::new()), &Config::new("memory", 200)).await;
    assert_eq!(report.appended, 16 * 200);
    assert!(report.deduplicated > 0);
    assert!(report.conflicts > 0, "the writers raced: some must have lost");
    eprintln!("16 writers × 200 rounds: {report:?}");
}
