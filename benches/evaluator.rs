//! Benchmarks of the hand evaluator and the shuffle: what a showdown, an equity loop and a
//! new hand cost.
//!
//! Hands come from seeded decks, so every run measures the same hands. Measurement times
//! are short so that `cargo bench --bench evaluator` finishes in well under a minute;
//! `-- --quick` is quicker still.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use showdown_engine::cards::Card;
use showdown_engine::deck::Deck;
use showdown_engine::eval::{self, Hand};

/// The seed of the `n`th benchmark deck.
fn seed(n: u32) -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&n.to_le_bytes());
    seed
}

/// The first `N` cards of `count` seeded decks.
fn deals<const N: usize>(count: u32) -> Vec<[Card; N]> {
    (0..count).map(|n| std::array::from_fn(|i| Deck::shuffled(seed(n)).card(i))).collect()
}

fn evaluator(c: &mut Criterion) {
    // The tables are built on first use; keep that out of every measurement.
    eval::init_tables();

    let mut group = c.benchmark_group("evaluate");
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));

    let sevens = deals::<7>(4096);
    let hands: Vec<Hand> = sevens.iter().map(|cards| Hand::from_cards(cards)).collect();
    group.throughput(Throughput::Elements(hands.len() as u64));
    // The cost of one lookup: the hands are accumulated in advance, as an enumeration
    // that shares prefixes would have them.
    group.bench_function("hand_7_cards", |b| b.iter(|| black_box(&hands).iter().map(|hand| hand.evaluate()).max()));
    // From a slice of cards: accumulation, the distinctness check and the lookup.
    group.bench_function("slice_7_cards", |b| {
        b.iter(|| black_box(&sevens).iter().map(|cards| eval::evaluate(cards)).max())
    });

    let omaha = deals::<9>(1024);
    group.throughput(Throughput::Elements(omaha.len() as u64));
    group.bench_function("best_omaha_4_hole_5_board", |b| {
        b.iter(|| black_box(&omaha).iter().map(|cards| eval::best_omaha(&cards[..4], &cards[4..])).max())
    });
    group.finish();

    let mut group = c.benchmark_group("deck");
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(1));
    let mut n = 0u32;
    group.bench_function("shuffled", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            Deck::shuffled(black_box(seed(n)))
        })
    });
    group.finish();

    // One iteration is the whole enumeration, about 0.2 s.
    let mut group = c.benchmark_group("census");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(133_784_560));
    group.bench_function("seven_card", |b| b.iter(eval::census));
    group.finish();
}

criterion_group!(benches, evaluator);
criterion_main!(benches);
