//! Criterion benchmarks of whole hands: random six-max no-limit hands through `decide` and
//! `apply` (the path `showdown bench simulate` measures) and through `execute`, the same
//! hands' decks and bot draws without any rule (the floor under a hand's time), and PHH
//! replays of the shipped corpus.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use showdown::engine::eval;
use showdown::replay_report::replay_text;
use showdown::sim::{Path, deck_and_draws_only, simulate_with};

const HANDS: u64 = 2_000;

fn hands(c: &mut Criterion) {
    eval::init_tables();
    let mut group = c.benchmark_group("six_max_nlhe");
    group.throughput(Throughput::Elements(HANDS));
    group.bench_function("decide_apply", |b| b.iter(|| simulate_with(HANDS, 7, Path::DecideApply)));
    group.bench_function("execute", |b| b.iter(|| simulate_with(HANDS, 7, Path::Execute)));
    group.bench_function("deck_and_draws_only", |b| b.iter(|| deck_and_draws_only(HANDS, 7)));
    group.finish();
}

fn replays(c: &mut Criterion) {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/generated/nlhe-2000.phhs");
    let text = std::fs::read_to_string(file).expect("the corpus ships with the repository");
    let count = replay_text(file, &text).len() as u64;
    let mut group = c.benchmark_group("phh_replay");
    group.throughput(Throughput::Elements(count));
    group.sample_size(10);
    group.bench_function("nlhe_2000_parse_and_replay", |b| b.iter(|| replay_text(file, &text)));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(3));
    targets = hands, replays
}
criterion_main!(benches);
