//! The shared conformance suite on [`PostgresStore`], with the 16 writers × 1,000
//! rounds, under a fresh stream prefix in the test schema.

mod common;

use std::sync::Arc;
use std::time::Instant;

use showdown_store::conformance::{self, Config};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_conforms() {
    let Some(store) = common::connect_or_skip(common::test_options()).await else { return };
    let store = Arc::new(store);
    let started = Instant::now();
    let report = conformance::run_all(store.clone(), &Config::new(common::unique("conformance"), 1000)).await;
    assert_eq!(report.appended, 16 * 1000);
    assert!(report.deduplicated > 0);
    assert!(report.conflicts > 0, "the writers raced: some must have lost");
    eprintln!("16 writers × 1000 rounds in {:.1?}: {report:?}; {:?}", started.elapsed(), store.commit_stats());
}
