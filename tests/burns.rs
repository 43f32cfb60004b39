//! Hands where PokerKit burns chips: a side pot whose every contender folded (possible after
//! folds when checking was free, which replays accept). The engine returns those chips to
//! the players who put them in. Each hand here must conserve every chip, and every player
//! must end with at least PokerKit's stack: only the burned chips differ.

use showdown::engine::phh::{Stack, parse_phhs};
use showdown::engine::replay::replay;

#[test]
fn burned_pots_go_back_to_their_contributors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/burns/burns-s12-40.phhs");
    let text = std::fs::read_to_string(path).expect("the burn corpus ships with the repository");
    let hands = parse_phhs(&text).expect("the file is PHH");
    assert_eq!(hands.len(), 40);
    let units = |stacks: &[Stack]| -> Vec<u64> {
        stacks
            .iter()
            .map(|s| match s {
                Stack::Chips(c) => *c,
                Stack::Unbounded => panic!("generated hands have known stacks"),
            })
            .collect()
    };
    let mut returned = 0u64;
    for (index, hand) in hands.into_iter().enumerate() {
        let hand = hand.expect("every hand parses");
        let start = units(&hand.starting_stacks);
        let pokerkit = units(hand.finishing_stacks.as_deref().expect("generated hands record their outcome"));
        let ours = units(&replay(&hand).unwrap_or_else(|e| panic!("hand {index}: {e}")).finishing_stacks);
        let (start_total, ours_total, pokerkit_total) =
            (start.iter().sum::<u64>(), ours.iter().sum::<u64>(), pokerkit.iter().sum::<u64>());
        assert_eq!(ours_total, start_total, "hand {index}: the engine must keep every chip");
        assert!(pokerkit_total < start_total, "hand {index}: PokerKit burned nothing here");
        for (seat, (&o, &p)) in ours.iter().zip(&pokerkit).enumerate() {
            assert!(o >= p, "hand {index}, p{}: {o} is below PokerKit's {p}", seat + 1);
        }
        returned += start_total - pokerkit_total;
    }
    assert!(returned > 0);
}
