//! Main and side pots as a pure function of what each player put in.
//!
//! The algorithm is PokerKit's (`State.pots`): contributions are cut at each distinct level;
//! a level's chips go to a pot contested by the players still in the hand who reached that
//! level; consecutive pots contested by the same players merge. When antes are not trimmed
//! (`ante_trimming_status = false`), every ante goes to the first pot whatever the player's
//! stack. Unlike PokerKit, a pot that no player still in the hand contests is kept, with an
//! empty set of contenders and the levels it spans, so that the caller can give each player
//! back exactly their share ([`Pot::shares`]) rather than burn it.

use serde::{Deserialize, Serialize};

use crate::chips::Chips;
use crate::rules::MAX_PLAYERS;

/// A set of positions as a bit mask, bit `i` for position `i`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
#[serde(transparent)]
pub struct PosSet(pub u16);

impl PosSet {
    /// The empty set.
    pub const EMPTY: PosSet = PosSet(0);

    /// Whether the set holds position `i`.
    #[must_use]
    #[inline]
    pub const fn contains(self, i: usize) -> bool {
        self.0 >> i & 1 == 1
    }

    /// Adds position `i`.
    #[inline]
    pub fn insert(&mut self, i: usize) {
        self.0 |= 1 << i;
    }

    /// Removes position `i`.
    #[inline]
    pub fn remove(&mut self, i: usize) {
        self.0 &= !(1 << i);
    }

    /// The number of positions in the set.
    #[must_use]
    #[inline]
    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// Whether the set is empty.
    #[must_use]
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The positions in increasing order.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                None
            } else {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(i)
            }
        })
    }
}

/// One pot: its chips and the players who contest it.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct Pot {
    /// Chips in the pot.
    pub amount: Chips,
    /// Players still in the hand who contest it; empty if every contender folded.
    pub contenders: PosSet,
    /// The pot holds the part of each contribution above this level …
    pub floor: Chips,
    /// … up to this level (contributions here leave out untrimmed antes).
    pub ceiling: Chips,
    /// Whether the untrimmed antes went to this pot (the first one).
    pub holds_antes: bool,
}

impl Pot {
    /// What each player put into this pot, so that a pot nobody contests can go back
    /// exactly: the part of each contribution between the floor and the ceiling, plus the
    /// ante when the antes went here. The shares add up to the pot.
    #[must_use]
    pub fn shares(&self, invested: &[Chips], antes: &[Chips], ante_trimming: bool) -> [Chips; MAX_PLAYERS] {
        let mut out = [Chips::ZERO; MAX_PLAYERS];
        for (i, share) in out.iter_mut().enumerate().take(invested.len()) {
            let ante = if ante_trimming { Chips::ZERO } else { antes[i] };
            let contribution = invested[i] - ante;
            let part = contribution.min(self.ceiling).saturating_sub(self.floor);
            *share = part + if self.holds_antes { ante } else { Chips::ZERO };
        }
        out
    }
}

/// The pots of a hand, main pot first; at most one per player.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Debug)]
pub struct Pots {
    pots: [Pot; MAX_PLAYERS],
    len: usize,
}

impl Pots {
    /// The pots, main pot first.
    #[must_use]
    pub fn as_slice(&self) -> &[Pot] {
        &self.pots[..self.len]
    }

    /// The chips in every pot.
    #[must_use]
    pub fn total(&self) -> Chips {
        self.as_slice().iter().map(|p| p.amount).sum()
    }

    fn push(&mut self, pot: Pot) {
        self.pots[self.len] = pot;
        self.len += 1;
    }

    /// The pots [`form_pots`] forms from the same contributions once only the players in
    /// `live` (some of those the pots were formed with) are still in the hand: each pot's
    /// contenders lose the players who left, and consecutive pots left with the same
    /// contenders merge. The levels do not depend on who is still in, so this equals
    /// forming the pots again, without the sort.
    #[must_use]
    pub fn restricted_to(&self, live: PosSet) -> Pots {
        let mut out = Pots::default();
        for pot in self.as_slice() {
            let contenders = PosSet(pot.contenders.0 & live.0);
            if out.len > 0 && out.pots[out.len - 1].contenders == contenders {
                let last = &mut out.pots[out.len - 1];
                last.amount += pot.amount;
                last.ceiling = pot.ceiling;
            } else {
                out.push(Pot { contenders, ..*pot });
            }
        }
        out
    }
}

/// Forms the pots.
///
/// `invested[i]` is everything position `i` put in this hand (antes included), `antes[i]`
/// the ante part of it, `live` the players still in the hand.
#[must_use]
pub fn form_pots(invested: &[Chips], antes: &[Chips], live: PosSet, ante_trimming: bool) -> Pots {
    let n = invested.len();
    debug_assert!(n <= MAX_PLAYERS && antes.len() == n);
    let mut contributions = [0u64; MAX_PLAYERS];
    let mut carry = 0u64;
    for i in 0..n {
        contributions[i] = invested[i].0;
        if !ante_trimming {
            contributions[i] -= antes[i].0;
            carry += antes[i].0;
        }
    }
    // Players in increasing order of contribution: insertion sort of at most ten values.
    let mut order = [0usize; MAX_PLAYERS];
    for i in 0..n {
        let mut j = i;
        while j > 0 && contributions[order[j - 1]] > contributions[i] {
            order[j] = order[j - 1];
            j -= 1;
        }
        order[j] = i;
    }
    let mut pots = Pots::default();
    // Walk the distinct levels upwards; `reached` holds the players whose contribution is at
    // least the current level.
    let mut reached = PosSet(((1u32 << n) - 1) as u16);
    let mut previous = 0u64;
    let mut amount = carry;
    let mut k = 0;
    while k < n {
        let level = contributions[order[k]];
        amount += (level - previous) * (n - k) as u64;
        let contenders = PosSet(reached.0 & live.0);
        let mut pot = Pot {
            amount: Chips::ZERO,
            contenders,
            floor: Chips(previous),
            ceiling: Chips(level),
            holds_antes: carry > 0 && pots.len == 0,
        };
        // Merge with the previous pot when the same players contest both.
        if pots.len > 0 && pots.pots[pots.len - 1].contenders == contenders {
            pots.len -= 1;
            let merged = pots.pots[pots.len];
            amount += merged.amount.0;
            pot.floor = merged.floor;
            pot.holds_antes = merged.holds_antes;
        }
        if amount > 0 {
            pot.amount = Chips(amount);
            pots.push(pot);
        }
        amount = 0;
        previous = level;
        while k < n && contributions[order[k]] == level {
            reached.remove(order[k]);
            k += 1;
        }
    }
    pots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chips(v: &[u64]) -> Vec<Chips> {
        v.iter().map(|&c| Chips(c)).collect()
    }

    /// `restricted_to` must equal forming the pots again, for every subset of the players
    /// who were in: contributions and antes drawn from a small range so that levels tie.
    #[test]
    fn restricting_pots_equals_forming_them_again() {
        use rand_chacha::ChaCha8Rng;
        use rand_chacha::rand_core::{Rng, SeedableRng};

        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut next = |n: u64| rng.next_u64() % n;
        for _ in 0..20_000 {
            let n = 2 + next(9) as usize;
            let antes: Vec<Chips> = (0..n).map(|_| Chips(next(3))).collect();
            let invested: Vec<Chips> = antes.iter().map(|a| *a + Chips(next(5) * 10)).collect();
            let trimming = next(2) == 1;
            let live = PosSet(next(1 << n) as u16);
            let fewer = PosSet(live.0 & next(1 << n) as u16);
            let formed = form_pots(&invested, &antes, live, trimming);
            assert_eq!(
                formed.restricted_to(fewer),
                form_pots(&invested, &antes, fewer, trimming),
                "invested {invested:?} antes {antes:?} trimming {trimming} live {live:?} then {fewer:?}"
            );
        }
    }

    #[test]
    fn pokerkit_doc_example_three_pots() {
        // PokerKit's `pots` doctest: stacks 50, 100, 200, 1000, 200, 100; blinds 1/2; all call 200.
        let invested = chips(&[50, 100, 200, 200, 200, 100]);
        let pots = form_pots(&invested, &chips(&[0; 6]), PosSet(0b111111), false);
        let amounts: Vec<u64> = pots.as_slice().iter().map(|p| p.amount.0).collect();
        assert_eq!(amounts, vec![300, 250, 300]);
        assert_eq!(pots.as_slice()[2].contenders, PosSet(0b011100));
    }

    #[test]
    fn untrimmed_antes_go_to_the_main_pot() {
        // A player all in for the ante alone still contests the whole ante pot.
        let invested = chips(&[5, 105, 105]);
        let antes = chips(&[5, 5, 5]);
        let pots = form_pots(&invested, &antes, PosSet(0b111), false);
        assert_eq!(pots.as_slice().len(), 2);
        assert_eq!(pots.as_slice()[0].amount, Chips(15));
        assert_eq!(pots.as_slice()[0].contenders, PosSet(0b111));
        assert_eq!(pots.as_slice()[1].amount, Chips(200));
        assert_eq!(pots.total(), Chips(215));
    }

    #[test]
    fn a_pot_every_contender_folded_is_kept_with_exact_shares() {
        let invested = chips(&[10, 50, 30]);
        let antes = chips(&[0; 3]);
        let pots = form_pots(&invested, &antes, PosSet(0b001), false);
        assert_eq!(pots.total(), Chips(90));
        // Levels 10 (main, contested by p1), then 30 and 50 merge: nobody contests them.
        let side = pots.as_slice()[1];
        assert!(side.contenders.is_empty());
        assert_eq!(side.amount, Chips(60));
        assert_eq!(&side.shares(&invested, &antes, false)[..3], &chips(&[0, 40, 20])[..]);
    }

    /// PokerKit's `State.pots`, transcribed line by line, as the reference.
    fn pokerkit_pots(invested: &[u64], antes: &[u64], live: &[bool], trimming: bool) -> Vec<(u64, Vec<usize>)> {
        let n = invested.len();
        let mut contributions: Vec<u64> = invested.to_vec();
        let mut amount = 0;
        if !trimming {
            for i in 0..n {
                amount += antes[i];
                contributions[i] -= antes[i];
            }
        }
        let mut levels = contributions.clone();
        levels.sort_unstable();
        levels.dedup();
        let mut previous = 0;
        let mut pots: Vec<(u64, Vec<usize>)> = Vec::new();
        for level in levels {
            for &c in &contributions {
                if c >= level {
                    amount += level - previous;
                }
            }
            let players: Vec<usize> = (0..n).filter(|&i| contributions[i] >= level && live[i]).collect();
            while pots.last().is_some_and(|p| p.1 == players) {
                amount += pots.pop().map_or(0, |p| p.0);
            }
            if amount > 0 {
                pots.push((amount, players));
            }
            amount = 0;
            previous = level;
        }
        pots
    }

    proptest::proptest! {
        #[test]
        fn pots_match_pokerkit(
            seats in proptest::collection::vec((0u64..6, 0u64..3, proptest::bool::ANY), 2..=10),
            trimming in proptest::bool::ANY,
        ) {
            // Small values so that equal contributions and merges happen often.
            let invested: Vec<u64> = seats.iter().map(|s| s.0 * 50 + s.1).collect();
            let antes: Vec<u64> = seats.iter().map(|s| s.1.min(s.0 * 50 + s.1)).collect();
            let live: Vec<bool> = seats.iter().map(|s| s.2).collect();
            let mut mask = PosSet::EMPTY;
            for (i, &l) in live.iter().enumerate() {
                if l {
                    mask.insert(i);
                }
            }
            let ours = form_pots(&chips(&invested), &chips(&antes), mask, trimming);
            let expected = pokerkit_pots(&invested, &antes, &live, trimming);
            let got: Vec<(u64, Vec<usize>)> =
                ours.as_slice().iter().map(|p| (p.amount.0, p.contenders.iter().collect())).collect();
            proptest::prop_assert_eq!(got, expected);
            proptest::prop_assert_eq!(ours.total().0, invested.iter().sum::<u64>());
            for pot in ours.as_slice() {
                let shares = pot.shares(&chips(&invested), &chips(&antes), trimming);
                proptest::prop_assert_eq!(shares.iter().map(|c| c.0).sum::<u64>(), pot.amount.0);
            }
        }
    }
}
