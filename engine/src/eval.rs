//! The hand evaluator: the best five-card poker hand among 5, 6 or 7 cards, as a [`HandRank`].
//!
//! Showdowns, equity tools and the `showdown eval census` command all evaluate hands, the
//! last one 133,784,560 times, so evaluation is table-driven in the style of OMPEval
//! (Henri Kauhanen's `zekyll/OMPEval`):
//!
//! - A [`Hand`] is two words that each card updates with one add and one or: a *key* that
//!   holds the sum of per-rank constants (unique for every multiset of up to seven ranks),
//!   one four-bit counter per suit and the card count; and a *mask* with one 16-bit rank
//!   bitmask per suit.
//! - A suit counter starts at 3, so its top bit is set exactly when that suit has five
//!   cards. Seven cards hold at most one such suit, and a hand with a flush in seven cards
//!   cannot also hold a full house or four of a kind, so a flush is answered by the
//!   flush table, indexed by that suit's 13-bit rank mask.
//! - Any other hand is answered by the rank table, indexed by a perfect hash of the rank
//!   key: the key's high bits pick a row, a per-row offset moves the row to where its
//!   entries do not collide with other rows' (the row-displacement scheme OMPEval takes
//!   from Dr. Dobb's "Generating perfect hash functions").
//!
//! The tables are computed on first use, with no I/O: about 65 ms in an optimised build,
//! most of it placing the rank table's rows ([`init_tables`] moves that cost to start-up).
//! They take 214 KB: the rank table 166 KB (83,006 two-byte entries for the 73,775 rank
//! multisets), its row offsets 32 KB and the flush table 16 KB.

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::cards::Card;

/// The nine kinds of poker hand, weakest first.
///
/// `Category as usize` is the index of the category in [`Census::counts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Category {
    /// No pair: five unrelated cards.
    HighCard = 0,
    /// Two cards of one rank.
    Pair = 1,
    /// Two cards of one rank and two of another.
    TwoPair = 2,
    /// Three cards of one rank.
    ThreeOfAKind = 3,
    /// Five ranks in a row; the ace plays high (`TJQKA`) or low (`A2345`, the wheel).
    Straight = 4,
    /// Five cards of one suit.
    Flush = 5,
    /// Three cards of one rank and two of another.
    FullHouse = 6,
    /// Four cards of one rank.
    FourOfAKind = 7,
    /// A straight in one suit; `TJQKA` suited is the royal flush.
    StraightFlush = 8,
}

impl Category {
    /// Every category, weakest first.
    pub const ALL: [Category; 9] = [
        Category::HighCard,
        Category::Pair,
        Category::TwoPair,
        Category::ThreeOfAKind,
        Category::Straight,
        Category::Flush,
        Category::FullHouse,
        Category::FourOfAKind,
        Category::StraightFlush,
    ];

    /// How many distinct five-card hand values the category has (1,277 high-card hands …
    /// 10 straight flushes); they add up to 7,462.
    pub const SIZES: [u16; 9] = [1277, 2860, 858, 858, 10, 1277, 156, 156, 10];

    /// The category's name in lower case, as in "three of a kind".
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Category::HighCard => "high card",
            Category::Pair => "pair",
            Category::TwoPair => "two pair",
            Category::ThreeOfAKind => "three of a kind",
            Category::Straight => "straight",
            Category::Flush => "flush",
            Category::FullHouse => "full house",
            Category::FourOfAKind => "four of a kind",
            Category::StraightFlush => "straight flush",
        }
    }

    /// The category with this index (`Category as u8`), if there is one.
    #[must_use]
    pub const fn from_index(index: u8) -> Option<Category> {
        if (index as usize) < Category::ALL.len() { Some(Category::ALL[index as usize]) } else { None }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The value of the best five-card hand in a set of cards: a higher rank wins, equal ranks
/// split.
///
/// There are exactly 7,462 distinct values. The raw `u16` ([`HandRank::get`]) is
/// `category << 12 | index`, where `index` counts the category's hands from its weakest
/// (`0`) to its strongest (`Category::SIZES[category] - 1`); that layout is stable and is
/// what serde reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u16", try_from = "u16")]
pub struct HandRank(u16);

impl HandRank {
    /// The weakest hand of all: 7-5-4-3-2 of mixed suits.
    pub const MIN: HandRank = HandRank(0);
    /// The strongest hand of all: the royal flush.
    pub const MAX: HandRank = HandRank((Category::StraightFlush as u16) << 12 | 9);

    /// The hand's category.
    #[must_use]
    pub const fn category(self) -> Category {
        Category::ALL[(self.0 >> 12) as usize]
    }

    /// The position of the hand within its category, `0` for the weakest.
    #[must_use]
    pub const fn index_in_category(self) -> u16 {
        self.0 & 0xfff
    }

    /// The raw value, `category << 12 | index_in_category`.
    #[must_use]
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The rank with this raw value, if it is one of the 7,462.
    #[must_use]
    pub const fn from_raw(raw: u16) -> Option<HandRank> {
        let category = (raw >> 12) as usize;
        if category < Category::SIZES.len() && raw & 0xfff < Category::SIZES[category] {
            Some(HandRank(raw))
        } else {
            None
        }
    }
}

/// The category and the hand's place in it counted from 1 for the weakest, as in
/// "pair #2860" (the best pair: aces with king, queen, jack).
impl fmt::Display for HandRank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} #{}", self.category(), self.index_in_category() + 1)
    }
}

impl From<HandRank> for u16 {
    fn from(rank: HandRank) -> u16 {
        rank.0
    }
}

impl TryFrom<u16> for HandRank {
    type Error = HandRankError;
    fn try_from(raw: u16) -> Result<HandRank, HandRankError> {
        HandRank::from_raw(raw).ok_or(HandRankError(raw))
    }
}

/// A raw value that is not one of the 7,462 hand ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0:#06x} is not a hand rank: expected category (0..=8) << 12 | index within the category")]
pub struct HandRankError(pub u16);

// ---------------------------------------------------------------------------------------
// The hand accumulator.

/// Per-rank constants whose sums are distinct for every multiset of up to seven ranks with
/// at most four of each (OMPEval's constants; [`Tables::build`] re-checks uniqueness). The
/// largest sum, four aces and three kings, is below 2^25, which bounds the row index.
const RANK_KEYS: [u32; 13] = [
    0x2000, 0x8001, 0x11000, 0x3a000, 0x91000, 0x176005, 0x366000, 0x41a013, 0x47802e, 0x479068, 0x48c0e4, 0x48f211,
    0x494493,
];
/// Rank keys stay below this bound (checked when the tables are built).
const RANK_KEY_BITS: u32 = 25;
/// Suit counters live in key bits 32..48, four bits per suit.
const SUIT_SHIFT: u32 = 32;
/// The card count lives in key bits 48..52.
const COUNT_SHIFT: u32 = 48;
/// The top bit of each suit counter: set when the suit has five cards.
const FLUSH_BITS: u64 = 0x8888 << SUIT_SHIFT;

/// What one card adds to a hand's key. Sized 64 and indexed with `& 63` so the compiler
/// sees the index is in range: a card index is always below 52, the rest is never read.
const CARD_KEYS: [u64; 64] = {
    let mut keys = [0u64; 64];
    let mut i = 0;
    while i < 52 {
        let (rank, suit) = (i / 4, i % 4);
        keys[i] = RANK_KEYS[rank] as u64 | 1 << (SUIT_SHIFT + 4 * suit as u32) | 1 << COUNT_SHIFT;
        i += 1;
    }
    keys
};

/// What one card ors into a hand's mask: bit `16 * suit + rank`.
const CARD_MASKS: [u64; 64] = {
    let mut masks = [0u64; 64];
    let mut i = 0;
    while i < 52 {
        masks[i] = 1 << (16 * (i % 4) + i / 4);
        i += 1;
    }
    masks
};

/// A set of up to seven cards, accumulated one card at a time, ready to evaluate.
///
/// Adding a card is one add and one or, so enumerations that share a prefix of cards
/// (boards, runouts, the census) pay for each card once. The hand does not check that
/// cards are distinct; [`evaluate`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Hand {
    /// Rank-key sum in bits 0..25, suit counters (each starting at 3) in 32..48, card
    /// count in 48..52.
    key: u64,
    /// Bit `16 * suit + rank` for each card.
    mask: u64,
}

impl Hand {
    /// No cards.
    pub const EMPTY: Hand = Hand { key: 0x3333 << SUIT_SHIFT, mask: 0 };

    /// The hand with one more card.
    #[must_use]
    #[inline]
    pub const fn add(self, card: Card) -> Hand {
        let i = card.index() as usize & 63;
        debug_assert!(self.mask & CARD_MASKS[i] == 0, "duplicate card added to a hand");
        debug_assert!(self.len() < 7, "a hand holds at most seven cards");
        Hand { key: self.key + CARD_KEYS[i], mask: self.mask | CARD_MASKS[i] }
    }

    /// The hand holding these cards.
    #[must_use]
    pub fn from_cards(cards: &[Card]) -> Hand {
        cards.iter().fold(Hand::EMPTY, |hand, &card| hand.add(card))
    }

    /// The number of cards in the hand.
    #[must_use]
    pub const fn len(self) -> usize {
        (self.key >> COUNT_SHIFT & 0xf) as usize
    }

    /// Whether the hand has no cards.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// Both hands' cards together; the hands must not share a card.
    #[must_use]
    #[inline]
    const fn merge(self, other: Hand) -> Hand {
        // Both keys carry the suit counters' starting value of 3 once: remove one copy.
        Hand { key: self.key + other.key - Hand::EMPTY.key, mask: self.mask | other.mask }
    }

    /// The value of the best five cards in the hand.
    ///
    /// The hand must hold 5, 6 or 7 cards (checked in debug builds; with fewer or more the
    /// result is meaningless or a panic).
    #[must_use]
    #[inline]
    pub fn evaluate(self) -> HandRank {
        debug_assert!((5..=7).contains(&self.len()), "evaluating {} cards", self.len());
        HandRank(tables().lookup(self))
    }
}

// ---------------------------------------------------------------------------------------
// Convenience functions.

/// The value of the best five of these 5, 6 or 7 distinct cards.
///
/// ```
/// use showdown_engine::cards::Card;
/// use showdown_engine::eval::{Category, evaluate};
///
/// let cards = |text: &[&str]| text.iter().map(|c| c.parse::<Card>().unwrap()).collect::<Vec<_>>();
/// let wheel = evaluate(&cards(&["Ah", "2c", "3d", "4s", "5h", "Kd", "Kc"]));
/// assert_eq!(wheel.category(), Category::Straight);
/// assert!(wheel < evaluate(&cards(&["2c", "3d", "4s", "5h", "6h"])));
/// ```
///
/// # Panics
/// If there are fewer than 5 or more than 7 cards, or a card appears twice: programmer
/// errors, the rules never show down anything else.
#[must_use]
pub fn evaluate(cards: &[Card]) -> HandRank {
    assert!((5..=7).contains(&cards.len()), "a poker hand is 5 to 7 cards, not {}", cards.len());
    // Built without `Hand::add`'s debug checks so that a duplicate reaches the assertion
    // below, which names the cards; each card sets its own mask bit, so a duplicate shows
    // as a missing bit.
    let hand = cards.iter().fold(Hand::EMPTY, |hand, card| hand.add_index(card.index().into()));
    assert!(hand.mask.count_ones() as usize == cards.len(), "duplicate card in {cards:?}");
    hand.evaluate()
}

/// Whether no card appears twice in the hole and on the board together.
fn distinct(hole: &[Card], board: &[Card]) -> bool {
    let mask = hole.iter().chain(board).fold(0u64, |mask, card| mask | 1 << card.index());
    mask.count_ones() as usize == hole.len() + board.len()
}

/// A hold'em hand: the best five of the hole cards and the board together (5 to 7 cards in
/// all, any of them may play).
///
/// # Panics
/// As [`evaluate`] for the cards together.
#[must_use]
pub fn best_holdem(hole: &[Card], board: &[Card]) -> HandRank {
    let mut cards = [Card::new(0, 0); 7];
    let n = hole.len() + board.len();
    assert!((5..=7).contains(&n), "a hold'em hand is 5 to 7 cards, not {n}");
    cards[..hole.len()].copy_from_slice(hole);
    cards[hole.len()..n].copy_from_slice(board);
    evaluate(&cards[..n])
}

/// An Omaha hand: the best five cards made of exactly two hole cards and exactly three
/// board cards, the maximum over every such choice (6 × 10 of them with four hole cards
/// and a full board).
///
/// The hole usually has four cards; any number from two works (five- and six-card Omaha).
/// A board of three or four cards (a hand evaluated before the river) uses the three-card
/// choices among the cards there.
///
/// # Panics
/// If the hole has fewer than 2 or more than 6 cards, the board fewer than 3 or more than
/// 5, or a card appears twice: programmer errors.
#[must_use]
pub fn best_omaha(hole: &[Card], board: &[Card]) -> HandRank {
    assert!((2..=6).contains(&hole.len()), "an Omaha hole is 2 to 6 cards, not {}", hole.len());
    assert!((3..=5).contains(&board.len()), "an Omaha board is 3 to 5 cards, not {}", board.len());
    assert!(distinct(hole, board), "duplicate card in {hole:?} {board:?}");

    // Pairs and triples are built once each, then every pair meets every triple.
    let mut pairs = [Hand::EMPTY; 15];
    let mut n_pairs = 0;
    for (i, &a) in hole.iter().enumerate() {
        for &b in &hole[i + 1..] {
            pairs[n_pairs] = Hand::EMPTY.add(a).add(b);
            n_pairs += 1;
        }
    }
    let mut triples = [Hand::EMPTY; 10];
    let mut n_triples = 0;
    for (i, &a) in board.iter().enumerate() {
        for (j, &b) in board.iter().enumerate().skip(i + 1) {
            for &c in &board[j + 1..] {
                triples[n_triples] = Hand::EMPTY.add(a).add(b).add(c);
                n_triples += 1;
            }
        }
    }
    let tables = tables();
    let mut best = 0;
    for pair in &pairs[..n_pairs] {
        for triple in &triples[..n_triples] {
            best = best.max(tables.lookup(pair.merge(*triple)));
        }
    }
    HandRank(best)
}

// ---------------------------------------------------------------------------------------
// The census.

/// How many hands of each category an enumeration met.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
pub struct Census {
    /// The count per category, indexed by `Category as usize` (`HighCard` = 0 …
    /// `StraightFlush` = 8).
    pub counts: [u64; 9],
}

impl Census {
    /// The number of hands counted.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The number of hands of one category.
    #[must_use]
    pub const fn count(&self, category: Category) -> u64 {
        self.counts[category as usize]
    }
}

/// Evaluates every one of the C(52, 7) = 133,784,560 seven-card hands and counts them by
/// category.
///
/// The loops add one card per level, so each hand costs one add, one or and one table
/// lookup. The exact answer is 41,584 straight flushes, 224,848 four of a kind, 3,473,184
/// full houses, 4,047,644 flushes, 6,180,020 straights, 6,461,620 three of a kind,
/// 31,433,400 two pair, 58,627,800 pair and 23,294,460 high card.
#[must_use]
pub fn census() -> Census {
    let tables = tables();
    let mut census = Census::default();
    // Category counts of the innermost loop are packed into one register, six bits per
    // category: incrementing a counter in memory per hand would chain each hand to the
    // previous one through a store and a load. The packed counts are spilled into the
    // census before any six-bit field can overflow.
    let mut packed = 0u64;
    let mut pending = 0u32;
    for c1 in 0..46 {
        let h1 = Hand::EMPTY.add_index(c1);
        for c2 in c1 + 1..47 {
            let h2 = h1.add_index(c2);
            for c3 in c2 + 1..48 {
                let h3 = h2.add_index(c3);
                for c4 in c3 + 1..49 {
                    let h4 = h3.add_index(c4);
                    for c5 in c4 + 1..50 {
                        let h5 = h4.add_index(c5);
                        for c6 in c5 + 1..51 {
                            let h6 = h5.add_index(c6);
                            let rest = c6 + 1..52;
                            if (h6.key + (0x1111 << SUIT_SHIFT)) & FLUSH_BITS == 0 {
                                // No suit has four of these six cards, so no seventh card
                                // makes a flush: only the rank key matters. This is most
                                // prefixes, and the loop needs no flush test.
                                let key = h6.key as u32;
                                for &card_key in &CARD_RANK_KEYS[rest] {
                                    packed += CATEGORY_ONE[usize::from(tables.lookup_ranks(key + card_key) >> 12)];
                                }
                            } else {
                                for c7 in rest {
                                    let rank = tables.lookup(h6.add_index(c7));
                                    packed += CATEGORY_ONE[usize::from(rank >> 12)];
                                }
                            }
                            pending += 51 - c6 as u32;
                            // After another inner loop of at most 46 hands, a field could
                            // hold up to `pending + 46`; spill while that is still ≤ 63.
                            if pending > 63 - 46 {
                                census.spill(packed);
                                packed = 0;
                                pending = 0;
                            }
                        }
                    }
                }
            }
        }
    }
    census.spill(packed);
    census
}

/// One hand of each category in the packed counts of [`census`]: bit `6 * category`.
/// Indexed by the top four bits of a raw rank, so it has 16 entries and needs no bounds
/// check.
const CATEGORY_ONE: [u64; 16] = {
    let mut one = [0u64; 16];
    let mut i = 0;
    while i < 9 {
        one[i] = 1 << (6 * i);
        i += 1;
    }
    one
};

/// The rank key of each card, for loops that know no flush is possible.
const CARD_RANK_KEYS: [u32; 52] = {
    let mut keys = [0u32; 52];
    let mut i = 0;
    while i < 52 {
        keys[i] = RANK_KEYS[i / 4];
        i += 1;
    }
    keys
};

impl Census {
    /// Adds counts packed six bits per category (see [`census`]).
    fn spill(&mut self, packed: u64) {
        for (i, count) in self.counts.iter_mut().enumerate() {
            *count += packed >> (6 * i) & 63;
        }
    }
}

impl Hand {
    /// [`Hand::add`] by card index, for enumerations that count cards as integers.
    #[inline(always)]
    const fn add_index(self, index: usize) -> Hand {
        Hand { key: self.key + CARD_KEYS[index & 63], mask: self.mask | CARD_MASKS[index & 63] }
    }
}

// ---------------------------------------------------------------------------------------
// Tables.

/// Row index bits of the perfect hash: the row is `rank key >> ROW_SHIFT`.
const ROW_SHIFT: u32 = 12;
/// The number of rows: every rank key is below 2^RANK_KEY_BITS.
const ROWS: usize = 1 << (RANK_KEY_BITS - ROW_SHIFT);

/// The lookup tables, built once per process by [`Tables::build`].
struct Tables {
    /// Per row: where the row starts in `ranks`, minus `row << ROW_SHIFT`, so that the
    /// index is `key + offset` with no masking (wrapping arithmetic).
    offsets: Box<[u32; ROWS]>,
    /// Raw hand rank per perfect-hashed rank key (hands without a flush).
    ranks: Box<[u16]>,
    /// Raw hand rank per 13-bit rank mask of the flush suit.
    flush: Box<[u16; 8192]>,
}

static TABLES: OnceLock<Tables> = OnceLock::new();

/// The tables, built on first use.
#[inline]
fn tables() -> &'static Tables {
    TABLES.get_or_init(Tables::build)
}

/// Builds the evaluator's tables now rather than on the first evaluation (about 65 ms
/// optimised), for a server that would rather pay at start-up than in its first showdown.
/// Calling it again does nothing.
pub fn init_tables() {
    tables();
}

impl Tables {
    /// The raw rank of a hand of 5 to 7 cards.
    #[inline(always)]
    fn lookup(&self, hand: Hand) -> u16 {
        let flush = hand.key & FLUSH_BITS;
        if flush != 0 {
            // The counter's top bit is bit 4 * suit + 3 above SUIT_SHIFT; the suit's mask
            // starts at bit 16 * suit.
            let suit = (flush.trailing_zeros() - SUIT_SHIFT) / 4;
            self.flush[(hand.mask >> (16 * suit)) as usize & 0x1fff]
        } else {
            self.lookup_ranks(hand.key as u32)
        }
    }

    /// The raw rank of 5 to 7 cards without a flush, from their rank key.
    #[inline(always)]
    fn lookup_ranks(&self, key: u32) -> u16 {
        let row = (key >> ROW_SHIFT) as usize & (ROWS - 1);
        self.ranks[key.wrapping_add(self.offsets[row]) as usize]
    }

    fn build() -> Tables {
        let scores = FiveCardScores::new();

        let mut flush = Box::new([0u16; 8192]);
        for (mask, slot) in flush.iter_mut().enumerate() {
            if (mask as u16).count_ones() >= 5 {
                *slot = scores.rank_of(flush_score(mask as u16));
            }
        }

        // Every rank multiset of 5 to 7 cards, at most four of a rank, with its value.
        let mut entries: Vec<(u32, u16)> = Vec::with_capacity(74_000);
        let mut counts = [0u8; 13];
        for_each_rank_multiset(&mut counts, 0, 0, &mut |counts| {
            let n: u8 = counts.iter().sum();
            if n >= 5 {
                let key: u32 = counts.iter().zip(RANK_KEYS).map(|(&c, k)| u32::from(c) * k).sum();
                entries.push((key, scores.rank_of(rank_score(counts))));
            }
        });
        let (offsets, ranks) = perfect_hash(&mut entries);
        Tables { offsets, ranks, flush }
    }
}

/// Places the (key, value) entries with row displacement, OMPEval's way: rows sorted
/// densest first, each at the lowest displacement where none of its entries lands on a
/// taken slot. Returns the offsets (already adjusted so that `index = key + offset`) and
/// the table.
///
/// # Panics
/// If two rank multisets share a key but not a value (the rank keys would be wrong).
fn perfect_hash(entries: &mut [(u32, u16)]) -> (Box<[u32; ROWS]>, Box<[u16]>) {
    const EMPTY: u16 = u16::MAX;
    const COLUMNS: usize = 1 << ROW_SHIFT;
    entries.sort_unstable();
    for pair in entries.windows(2) {
        assert!(pair[0].0 != pair[1].0 || pair[0].1 == pair[1].1, "rank key {} is ambiguous", pair[0].0);
    }
    let max_key = entries.last().map_or(0, |e| e.0);
    assert!(max_key < 1 << RANK_KEY_BITS, "rank keys exceed {RANK_KEY_BITS} bits");

    let mut rows: Vec<&[(u32, u16)]> = entries.chunk_by(|a, b| a.0 >> ROW_SHIFT == b.0 >> ROW_SHIFT).collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.len()));

    // One bit per slot, set when taken, so that 64 displacements are tried at once.
    let mut taken: Vec<u64> = Vec::new();
    let mut table = Vec::new();
    let mut offsets = Box::new([0u32; ROWS]);
    let column = |key: u32| key as usize & (COLUMNS - 1);
    let mut first_free: usize = 0;
    for row in rows {
        // No displacement that puts the row's first entry below the first free slot fits.
        while taken.get(first_free / 64).is_some_and(|&w| w >> (first_free % 64) & 1 == 1) {
            first_free += 1;
        }
        let mut d = first_free.saturating_sub(column(row[0].0));
        // Bit `i` of `blocked` is set when some entry would land on a taken slot at
        // displacement `d + i`; most windows are ruled out by the first entry or two.
        // (OMPEval's generator tries one displacement at a time, which takes a second.)
        loop {
            // Room for every entry's 64-bit window at this displacement.
            taken.resize(taken.len().max((d + 2 * COLUMNS) / 64), 0);
            let mut blocked = 0u64;
            for &(key, _) in row {
                blocked |= taken_from(&taken, column(key) + d);
                if blocked == u64::MAX {
                    break;
                }
            }
            if blocked != u64::MAX {
                d += (!blocked).trailing_zeros() as usize;
                break;
            }
            d += 64;
        }
        let row_index = row[0].0 >> ROW_SHIFT;
        offsets[row_index as usize] = (d as u32).wrapping_sub(row_index << ROW_SHIFT);
        for &(key, value) in row {
            let i = column(key) + d;
            taken[i / 64] |= 1 << (i % 64);
            if table.len() <= i {
                table.resize(i + 1, EMPTY);
            }
            table[i] = value;
        }
    }
    (offsets, table.into_boxed_slice())
}

/// The 64 bits of `bits` from bit `start` on (bit `start` lowest).
fn taken_from(bits: &[u64], start: usize) -> u64 {
    let (word, shift) = (start / 64, start % 64);
    let low = bits[word] >> shift;
    if shift == 0 { low } else { low | bits[word + 1] << (64 - shift) }
}

/// Calls `f` with every multiset of ranks (count per rank, at most four) of up to seven
/// cards, choosing counts from rank `rank` up.
fn for_each_rank_multiset(counts: &mut [u8; 13], rank: usize, n: u8, f: &mut impl FnMut(&[u8; 13])) {
    if rank == 13 {
        f(counts);
        return;
    }
    for c in 0..=4.min(7 - n) {
        counts[rank] = c;
        for_each_rank_multiset(counts, rank + 1, n + c, f);
    }
    counts[rank] = 0;
}

// Scores: an order-preserving description of a five-card hand used only while building the
// tables, `category << 20` plus up to five ranks, most significant first, four bits each.
// Sorting the 7,462 distinct scores gives each hand its index within its category.

fn score(category: Category, ranks: &[u8]) -> u32 {
    let mut s = (category as u32) << 20;
    for (i, &r) in ranks.iter().enumerate() {
        s |= u32::from(r) << (16 - 4 * i);
    }
    s
}

/// The top card of the best straight among these ranks (bit per rank), `3` for the wheel.
fn straight_top(mask: u16) -> Option<u8> {
    (4..13u8).rev().find(|&top| mask >> (top - 4) & 0x1f == 0x1f).or((mask & 0x100f == 0x100f).then_some(3))
}

/// The ranks present in `mask`, highest first.
fn ranks_desc(mask: u16) -> impl Iterator<Item = u8> {
    (0..13u8).rev().filter(move |&r| mask >> r & 1 == 1)
}

/// The score of the best flush or straight flush among five or more ranks of one suit.
fn flush_score(mask: u16) -> u32 {
    match straight_top(mask) {
        Some(top) => score(Category::StraightFlush, &[top]),
        None => score(Category::Flush, &ranks_desc(mask).take(5).collect::<Vec<_>>()),
    }
}

/// The score of the best five cards among 5 to 7 cards with these rank counts, when they
/// hold no flush.
fn rank_score(counts: &[u8; 13]) -> u32 {
    let with = |n: u8| (0..13u8).rev().filter(move |&r| counts[r as usize] >= n);
    let present: u16 = with(1).fold(0, |m, r| m | 1 << r);
    let kickers = |skip: &[u8], n: usize| ranks_desc(present).filter(|r| !skip.contains(r)).take(n).collect::<Vec<_>>();
    let trips = with(3).next();
    let mut pairs = with(2).filter(|&r| Some(r) != trips);

    if let Some(quad) = with(4).next() {
        return score(Category::FourOfAKind, &[&[quad][..], &kickers(&[quad], 1)].concat());
    }
    if let Some(t) = trips {
        // The pair of a full house may come from a second set of trips.
        if let Some(p) = pairs.next() {
            return score(Category::FullHouse, &[t, p]);
        }
    }
    if let Some(top) = straight_top(present) {
        return score(Category::Straight, &[top]);
    }
    if let Some(t) = trips {
        return score(Category::ThreeOfAKind, &[&[t][..], &kickers(&[t], 2)].concat());
    }
    let pairs: Vec<u8> = with(2).collect();
    match pairs[..] {
        // A third pair can only be the kicker.
        [p1, p2, ..] => score(Category::TwoPair, &[&[p1, p2][..], &kickers(&[p1, p2], 1)].concat()),
        [p] => score(Category::Pair, &[&[p][..], &kickers(&[p], 3)].concat()),
        [] => score(Category::HighCard, &kickers(&[], 5)),
    }
}

/// The 7,462 distinct five-card scores in order, to turn a score into a [`HandRank`].
struct FiveCardScores {
    sorted: Vec<u32>,
    /// Position in `sorted` of each category's weakest hand.
    first: [usize; 9],
}

impl FiveCardScores {
    fn new() -> FiveCardScores {
        let mut sorted = Vec::with_capacity(7462);
        let mut counts = [0u8; 13];
        for_each_rank_multiset(&mut counts, 0, 0, &mut |counts| {
            if counts.iter().sum::<u8>() == 5 {
                sorted.push(rank_score(counts));
                if counts.iter().all(|&c| c <= 1) {
                    let mask = (0..13).filter(|&r| counts[r] == 1).fold(0u16, |m, r| m | 1 << r);
                    sorted.push(flush_score(mask));
                }
            }
        });
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 7462, "distinct five-card hands");
        let mut first = [0; 9];
        for (i, slot) in first.iter_mut().enumerate() {
            *slot = sorted.partition_point(|&s| s >> 20 < i as u32);
            let size = sorted.partition_point(|&s| s >> 20 <= i as u32) - *slot;
            assert_eq!(size, usize::from(Category::SIZES[i]), "hands in category {i}");
        }
        FiveCardScores { sorted, first }
    }

    /// The raw hand rank of a score.
    fn rank_of(&self, score: u32) -> u16 {
        let position = self.sorted.binary_search(&score).expect("every best-five score is a five-card score");
        let category = (score >> 20) as usize;
        (category << 12 | (position - self.first[category])) as u16
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand_chacha::ChaCha20Rng;
    use rand_chacha::rand_core::SeedableRng;

    use super::*;
    use crate::deck::uniform_below;

    fn cards(text: &str) -> Vec<Card> {
        crate::cards::parse_cards(text).unwrap().into_iter().map(Option::unwrap).collect()
    }

    fn eval(text: &str) -> HandRank {
        evaluate(&cards(text))
    }

    // -- A slow reference evaluator, written for obviousness rather than speed. --------

    /// A five-card hand's value as a category and the ranks that break ties, in order.
    type Reference = (Category, Vec<u8>);

    fn classify5(hand: [Card; 5]) -> Reference {
        let mut ranks: Vec<u8> = hand.iter().map(|c| c.rank()).collect();
        ranks.sort_unstable_by(|a, b| b.cmp(a));
        let flush = hand.iter().all(|c| c.suit() == hand[0].suit());
        let distinct = ranks.windows(2).all(|w| w[0] != w[1]);
        let straight_top = if distinct && ranks[0] - ranks[4] == 4 {
            Some(ranks[0])
        } else if ranks == [12, 3, 2, 1, 0] {
            Some(3) // the wheel: the ace plays low, the five is the top card
        } else {
            None
        };
        // Groups of equal rank, biggest group first, then higher rank first.
        let mut groups: Vec<(usize, u8)> = Vec::new();
        for &r in &ranks {
            match groups.iter_mut().find(|g| g.1 == r) {
                Some(g) => g.0 += 1,
                None => groups.push((1, r)),
            }
        }
        groups.sort_unstable_by(|a, b| b.cmp(a));
        let by_group: Vec<u8> = groups.iter().map(|g| g.1).collect();
        let shape: Vec<usize> = groups.iter().map(|g| g.0).collect();
        match (straight_top, flush, &shape[..]) {
            (Some(top), true, _) => (Category::StraightFlush, vec![top]),
            (_, _, [4, 1]) => (Category::FourOfAKind, by_group),
            (_, _, [3, 2]) => (Category::FullHouse, by_group),
            (_, true, _) => (Category::Flush, ranks),
            (Some(top), false, _) => (Category::Straight, vec![top]),
            (_, _, [3, 1, 1]) => (Category::ThreeOfAKind, by_group),
            (_, _, [2, 2, 1]) => (Category::TwoPair, by_group),
            (_, _, [2, 1, 1, 1]) => (Category::Pair, by_group),
            _ => (Category::HighCard, ranks),
        }
    }

    /// The best of every five-card subset.
    fn reference_best(cards: &[Card]) -> Reference {
        let n = cards.len();
        let mut best = None;
        for skip in 0u32..1 << n {
            if skip.count_ones() as usize != n - 5 {
                continue;
            }
            let five: Vec<Card> = (0..n).filter(|i| skip >> i & 1 == 0).map(|i| cards[i]).collect();
            let value = classify5(five.try_into().unwrap());
            best = best.max(Some(value));
        }
        best.unwrap()
    }

    /// The best Omaha hand by the reference: two hole cards and three board cards.
    fn reference_omaha(hole: &[Card], board: &[Card]) -> Reference {
        let mut best = None;
        for (i, &a) in hole.iter().enumerate() {
            for &b in &hole[i + 1..] {
                for (j, &c) in board.iter().enumerate() {
                    for (k, &d) in board.iter().enumerate().skip(j + 1) {
                        for &e in &board[k + 1..] {
                            best = best.max(Some(classify5([a, b, c, d, e])));
                        }
                    }
                }
            }
        }
        best.unwrap()
    }

    /// One five-card hand of each of the 7,462 values, evaluated both ways: every rank
    /// multiset with mixed suits, and every five distinct ranks suited.
    fn every_five_card_value() -> Vec<(Reference, HandRank)> {
        let mut out = Vec::new();
        let mut counts = [0u8; 13];
        for_each_rank_multiset(&mut counts, 0, 0, &mut |counts| {
            if counts.iter().sum::<u8>() != 5 {
                return;
            }
            // Rank r's copies take suits 0, 1, …; a run of five singles gets suits
            // 0, 1, 0, 0, 0 (not a flush). Suited: every card in suit 0.
            let mut mixed = Vec::new();
            for (rank, &count) in counts.iter().enumerate() {
                for suit in 0..count {
                    mixed.push(Card::new(rank as u8, suit));
                }
            }
            if counts.iter().all(|&c| c <= 1) {
                let suited: Vec<Card> = mixed.iter().map(|c| Card::new(c.rank(), 0)).collect();
                out.push((classify5(suited.clone().try_into().unwrap()), evaluate(&suited)));
                mixed[1] = Card::new(mixed[1].rank(), 1);
            }
            out.push((classify5(mixed.clone().try_into().unwrap()), evaluate(&mixed)));
        });
        out
    }

    /// The reference value of each hand rank, and the map back.
    fn reference_to_rank() -> BTreeMap<Reference, HandRank> {
        every_five_card_value().into_iter().collect()
    }

    /// Random distinct cards from a fixed-seed generator.
    fn deal(rng: &mut ChaCha20Rng, n: usize) -> Vec<Card> {
        let mut deck: Vec<Card> = Card::all().collect();
        for i in 0..n {
            let j = i + uniform_below(rng, (52 - i) as u32) as usize;
            deck.swap(i, j);
        }
        deck.truncate(n);
        deck
    }

    // -- The tests. ---------------------------------------------------------------------

    #[test]
    fn the_7462_values_are_ordered_as_the_reference_orders_them() {
        let mut values = every_five_card_value();
        assert_eq!(values.len(), 7462);
        values.sort();
        for pair in values.windows(2) {
            assert!(pair[0].1 < pair[1].1, "{:?} should rank below {:?}", pair[0], pair[1]);
        }
        for (reference, rank) in &values {
            assert_eq!(reference.0, rank.category(), "{reference:?}");
            assert_eq!(HandRank::from_raw(rank.get()), Some(*rank));
        }
        assert_eq!(values[0].1, HandRank::MIN);
        assert_eq!(values[7461].1, HandRank::MAX);
    }

    #[test]
    fn five_card_census() {
        let mut census = Census::default();
        let mut seen = vec![false; 1 << 16];
        for c1 in 0..52 {
            let h1 = Hand::EMPTY.add_index(c1);
            for c2 in c1 + 1..52 {
                let h2 = h1.add_index(c2);
                for c3 in c2 + 1..52 {
                    let h3 = h2.add_index(c3);
                    for c4 in c3 + 1..52 {
                        let h4 = h3.add_index(c4);
                        for c5 in c4 + 1..52 {
                            let rank = h4.add_index(c5).evaluate();
                            census.counts[rank.category() as usize] += 1;
                            seen[usize::from(rank.get())] = true;
                        }
                    }
                }
            }
        }
        assert_eq!(census.counts, [1_302_540, 1_098_240, 123_552, 54_912, 10_200, 5_108, 3_744, 624, 40]);
        assert_eq!(census.total(), 2_598_960);
        assert_eq!(seen.iter().filter(|&&s| s).count(), 7462);
    }

    /// The full seven-card census takes a fraction of a second optimised but minutes in a
    /// debug build, so it runs under `cargo test --release`; debug runs still compare
    /// seven-card hands with the reference below.
    #[cfg(not(debug_assertions))]
    #[test]
    fn seven_card_census() {
        let census = census();
        assert_eq!(
            census.counts,
            [23_294_460, 58_627_800, 31_433_400, 6_461_620, 6_180_020, 4_047_644, 3_473_184, 224_848, 41_584]
        );
        assert_eq!(census.total(), 133_784_560);
    }

    #[test]
    fn six_and_seven_card_hands_agree_with_the_reference() {
        let to_rank = reference_to_rank();
        let mut rng = ChaCha20Rng::from_seed(*b"showdown evaluator reference 7c!");
        let hands = if cfg!(debug_assertions) { 30_000 } else { 300_000 };
        for i in 0..hands {
            let n = if i % 4 == 0 { 6 } else { 7 };
            let cards = deal(&mut rng, n);
            let expected = to_rank[&reference_best(&cards)];
            assert_eq!(evaluate(&cards), expected, "hand {i}: {cards:?}");
            assert_eq!(best_holdem(&cards[..2], &cards[2..]), expected, "hand {i}: {cards:?}");
        }
    }

    #[test]
    fn omaha_agrees_with_the_reference() {
        let to_rank = reference_to_rank();
        let mut rng = ChaCha20Rng::from_seed(*b"showdown evaluator reference PLO");
        let hands = if cfg!(debug_assertions) { 5_000 } else { 50_000 };
        for i in 0..hands {
            let board_len = [5, 5, 4, 3][i % 4];
            let cards = deal(&mut rng, 4 + board_len);
            let (hole, board) = cards.split_at(4);
            let expected = to_rank[&reference_omaha(hole, board)];
            assert_eq!(best_omaha(hole, board), expected, "hand {i}: {hole:?} {board:?}");
        }
    }

    #[test]
    fn the_wheel_is_the_lowest_straight_and_the_steel_wheel_the_lowest_straight_flush() {
        let wheel = eval("Ac2d3h4s5c");
        assert_eq!(wheel.category(), Category::Straight);
        assert_eq!(wheel.index_in_category(), 0);
        assert!(wheel < eval("2c3d4h5s6c"));
        assert!(eval("Ac2d3h4s5cKd") < eval("2c3d4h5s6cKd"));
        // Ace-high straight is the best straight; no wrap-around straight exists.
        assert_eq!(eval("TcJdQhKsAc").index_in_category(), 9);
        assert_eq!(eval("QcKdAh2s3c").category(), Category::HighCard);

        let steel = eval("As2s3s4s5s");
        assert_eq!(steel.category(), Category::StraightFlush);
        assert_eq!(steel.index_in_category(), 0);
        assert!(steel > eval("AhAdAcAsKs"));
        assert_eq!(eval("TsJsQsKsAs"), HandRank::MAX);
        // Six to the straight flush beats the wheel in the same suit.
        assert!(eval("As2s3s4s5s6s") > steel);
    }

    #[test]
    fn kickers_matter_and_only_five_cards_play() {
        assert!(eval("AcAdKhQsJc") > eval("AhAsKcQdTc"));
        assert!(eval("KcKdQhQs9c") > eval("KhKsQcQd8c"));
        assert!(eval("2c2d2h2sAc") > eval("2c2d2h2sKc"));
        // The sixth and seventh cards never play: AAKQJ with 2 and 3 ties AAKQJ with 4 and 5.
        assert_eq!(eval("AcAdKhQsJc2d3h"), eval("AhAsKcQdJd4c5s"));
        // A third pair only counts as a kicker.
        assert_eq!(eval("AcAdKhKs2c2dQh"), eval("AhAsKcKdQs3c4d"));
        // Two sets of trips make a full house, the higher set on top.
        let two_trips = eval("9c9d9hQsQcQd2h");
        assert_eq!(two_trips.category(), Category::FullHouse);
        assert_eq!(two_trips, eval("QhQsQc9d9s4h2c"));
        assert!(eval("AcAdAhAsKc") > eval("KcKdKhKsAc"));
        assert!(eval("3c3d3h2s2c") > eval("2c2d2hAsAc"));
    }

    #[test]
    fn the_board_plays_and_splits() {
        let board = cards("AcKdQhJsTc");
        let one = best_holdem(&cards("2c3d"), &board);
        let two = best_holdem(&cards("4h5s"), &board);
        assert_eq!(one, two);
        assert_eq!(one.category(), Category::Straight);
        // A flush board: a hole card of the suit plays only if it beats the board's lowest.
        let flush_board = cards("3h5h7h9hJh");
        assert_eq!(best_holdem(&cards("2h4c"), &flush_board), best_holdem(&cards("As2c"), &flush_board));
        assert!(best_holdem(&cards("4h2c"), &flush_board) > best_holdem(&cards("2h4c"), &flush_board));
        assert!(best_holdem(&cards("Ah2c"), &flush_board) > best_holdem(&cards("Kh2c"), &flush_board));
    }

    #[test]
    fn omaha_uses_exactly_two_hole_cards_and_three_board_cards() {
        // Four spades on the board and one in the hand: no flush in Omaha, a flush in hold'em.
        let board = cards("2s7s9sJsKd");
        let hole = cards("As3c4d8h");
        assert_eq!(best_holdem(&hole[..1], &board).category(), Category::Flush);
        assert_ne!(best_omaha(&hole, &board).category(), Category::Flush);
        assert_eq!(best_omaha(&cards("As3s4d8h"), &board).category(), Category::Flush);
        // Four aces in the hand are one pair of aces, plus three board cards.
        let aces = best_omaha(&cards("AcAdAhAs"), &cards("2c5d9hJsKd"));
        assert_eq!(aces, eval("AcAd9hJsKd"));
        // A board straight does not play by itself.
        assert_eq!(best_omaha(&cards("2c2d3h3s"), &cards("4c5d6h7s8c")).category(), Category::Straight);
        assert_eq!(best_omaha(&cards("KcKdKhQs"), &cards("4c5d6h7s8c")).category(), Category::Pair);
        // A board of three or four cards uses the three-card choices among them.
        assert_eq!(best_omaha(&cards("AsKs2c3d"), &cards("QsJsTs")), HandRank::MAX);
        assert_eq!(best_omaha(&cards("AsKs2c3d"), &cards("QsJs2hTs")), HandRank::MAX);
    }

    #[test]
    fn hands_accumulate_incrementally() {
        let all = cards("AsKsQsJsTs9s8s");
        let mut hand = Hand::EMPTY;
        assert!(hand.is_empty());
        for (i, &card) in all.iter().enumerate() {
            hand = hand.add(card);
            assert_eq!(hand.len(), i + 1);
        }
        assert_eq!(hand, Hand::from_cards(&all));
        assert_eq!(hand.evaluate(), HandRank::MAX);
        let merged = Hand::from_cards(&all[..3]).merge(Hand::from_cards(&all[3..]));
        assert_eq!(merged, hand);
    }

    #[test]
    #[should_panic(expected = "duplicate card")]
    fn duplicate_cards_are_a_programmer_error() {
        let _ = eval("AsAsKdQcJh");
    }

    #[test]
    fn categories_have_names_and_ranks_validate() {
        let names: Vec<String> = Category::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "high card",
                "pair",
                "two pair",
                "three of a kind",
                "straight",
                "flush",
                "full house",
                "four of a kind",
                "straight flush"
            ]
        );
        for (i, category) in Category::ALL.into_iter().enumerate() {
            assert_eq!(category as usize, i);
            assert_eq!(Category::from_index(i as u8), Some(category));
        }
        assert_eq!(Category::from_index(9), None);
        assert_eq!(Category::SIZES.iter().map(|&s| u32::from(s)).sum::<u32>(), 7462);
        assert_eq!(HandRank::from_raw(4 << 12 | 10), None);
        assert_eq!(HandRank::from_raw(9 << 12), None);
        assert_eq!(eval("AcAdKhQsJc").to_string(), "pair #2860");
    }

    #[test]
    fn ranks_and_categories_round_trip_through_serde() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        #[cfg_attr(feature = "bincode", derive(bincode::Encode, bincode::Decode))]
        struct Stored {
            rank: HandRank,
            category: Category,
        }
        let stored = Stored { rank: eval("AcAdKhKsQc"), category: Category::ThreeOfAKind };
        let text = toml::to_string(&stored).unwrap();
        assert!(text.contains("category = \"three_of_a_kind\""), "{text}");
        assert!(text.contains(&format!("rank = {}", 2 << 12 | 857)), "{text}");
        assert_eq!(toml::from_str::<Stored>(&text).unwrap(), stored);
        let bad = text.replace(&(2 << 12 | 857).to_string(), &(2 << 12 | 858).to_string());
        assert!(toml::from_str::<Stored>(&bad).unwrap_err().to_string().contains("not a hand rank"));
    }
}
