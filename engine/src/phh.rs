//! PHH hand histories: reading and writing the Poker Hand History format (TOML).
//!
//! A `.phh` file holds one hand as a top-level TOML table; a `.phhs` file holds many, as
//! tables `[1]`, `[2]`, … (see <https://phh.readthedocs.io>; PokerKit's `notation.py` is the
//! reference implementation this module mirrors). This module only turns text into a
//! [`HandHistory`] and back: it checks the shape of every field, the grammar of every action
//! and that no known card appears twice, but it does not play the actions through the rules.
//! Replaying a hand, and deciding whether a variant is supported, is the caller's job.
//!
//! Chips are never floats here. PHH amounts may be decimal (`0.50`, `200.30`); every hand
//! gets a [`Scale`] of `10^d`, where `d` is the most decimal places any amount of that hand is
//! written with, and every amount becomes an exact integer count of `1/10^d` units. The
//! decimal text is read straight from the TOML source (the toml crate's `DeTable` keeps the
//! literal text of numbers), so no amount ever passes through an `f64`: `0.50` counts as
//! two decimal places, exactly as written.
//!
//! What does not survive a read and write: TOML comments, the layout of the file, and the
//! order of fields PHH does not define (they come back in alphabetical order).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use toml::de::{DeTable, DeValue};
use toml::{Table, Value};

use crate::cards::{Card, CardError, CardSet, format_cards, parse_cards};
use crate::chips::Chips;

/// A starting or finishing stack as written in a hand history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stack {
    /// A known stack, in the hand's scaled units (see [`Scale`]).
    Chips(u64),
    /// An unknown stack, written `inf` (iPoker histories do not record stacks). Replays treat
    /// it as a stack nobody can exhaust and print it back as `inf`.
    Unbounded,
}

impl Stack {
    /// The chips a replay starts this seat with: the amount itself, or
    /// [`Chips::UNBOUNDED`] for an unknown stack. A known stack at or above
    /// `Chips::UNBOUNDED` (over 10^18 units) would be indistinguishable from an unknown one;
    /// this module reads it faithfully, and a replay should refuse it.
    #[must_use]
    pub const fn to_chips(self) -> Chips {
        match self {
            Stack::Chips(units) => Chips(units),
            Stack::Unbounded => Chips::UNBOUNDED,
        }
    }
}

/// How a hand's integer units relate to the amounts written in its file: one unit is
/// `1/10^decimals` of the file's currency unit.
///
/// A hand written with whole numbers has `decimals = 0`; a hand with blinds `0.50` and `1`
/// has `decimals = 2`, so those blinds are 50 and 100 units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Scale {
    decimals: u8,
}

impl Scale {
    /// The most decimal places an amount may have. Beyond this, amounts are rejected rather
    /// than rounded: no real currency has more, and `10^9` units per chip still leaves room
    /// for stacks of 18 billion in a `u64`.
    pub const MAX_DECIMALS: u8 = 9;

    /// Whole units: amounts are written as integers.
    pub const WHOLE: Scale = Scale { decimals: 0 };

    /// The scale with this many decimal places, if it is at most [`Scale::MAX_DECIMALS`].
    #[must_use]
    pub const fn new(decimals: u8) -> Option<Scale> {
        if decimals <= Scale::MAX_DECIMALS { Some(Scale { decimals }) } else { None }
    }

    /// The number of decimal places amounts are written with.
    #[must_use]
    pub const fn decimals(self) -> u8 {
        self.decimals
    }

    /// Units per whole chip of the file: `10^decimals`.
    #[must_use]
    pub const fn factor(self) -> u64 {
        10u64.pow(self.decimals as u32)
    }

    /// Writes an amount in the file's units with exactly `decimals` places: 205990 units
    /// with 2 decimals is `"2059.90"`, with 0 decimals `"205990"`; -5 with 2 is `"-0.05"`.
    #[must_use]
    pub fn format(self, units: impl Into<i128>) -> String {
        let units: i128 = units.into();
        let digits = units.unsigned_abs().to_string();
        let places = usize::from(self.decimals);
        let mut out = String::with_capacity(digits.len() + places + 2);
        if units < 0 {
            out.push('-');
        }
        if places == 0 {
            out.push_str(&digits);
            return out;
        }
        // Pad so that at least one digit stands before the point: 5 → "0.05".
        let padding = (places + 1).saturating_sub(digits.len());
        let padded = format!("{}{digits}", "0".repeat(padding));
        let (whole, fraction) = padded.split_at(padded.len() - places);
        out.push_str(whole);
        out.push('.');
        out.push_str(fraction);
        out
    }
}

/// Writes a stack for the replay's JSON output: the amount in the file's units as a bare
/// JSON number (`2059.90`, `200`), or the JSON string `"inf"` (with its quotes) for an
/// unknown stack, so the result can be spliced into JSON as it is.
#[must_use]
pub fn format_amount(scale: Scale, stack: Stack) -> String {
    match stack {
        Stack::Chips(units) => scale.format(units),
        Stack::Unbounded => "\"inf\"".to_owned(),
    }
}

/// One entry of a hand's `actions` list.
///
/// Players are numbered from 0 here: `p1` in the file is `player: 0`. Cards that are `??`
/// in the file are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// `d dh pN CARDS`: the dealer deals hole cards (down or up, as the variant decides) to
    /// a player.
    DealHole {
        /// The player, from 0.
        player: u8,
        /// The cards, `None` where unknown.
        cards: Vec<Option<Card>>,
    },
    /// `d db CARDS`: the dealer deals cards to the board.
    DealBoard {
        /// The cards, `None` where unknown.
        cards: Vec<Option<Card>>,
    },
    /// `pN pb`: the player posts the bring-in (stud).
    PostBringIn {
        /// The player, from 0.
        player: u8,
    },
    /// `pN f`: the player folds.
    Fold {
        /// The player, from 0.
        player: u8,
    },
    /// `pN cc`: the player checks or calls.
    CheckOrCall {
        /// The player, from 0.
        player: u8,
    },
    /// `pN cbr AMOUNT`: the player completes, bets or raises *to* an amount (the player's
    /// total bet on this street, not the increment).
    CompleteBetOrRaiseTo {
        /// The player, from 0.
        player: u8,
        /// The total to bet to, in the hand's scaled units.
        amount: u64,
    },
    /// `pN sd` (stand pat, no cards) or `pN sd CARDS` (discard those cards; draw games).
    StandPatOrDiscard {
        /// The player, from 0.
        player: u8,
        /// The discarded cards; empty when standing pat.
        discards: Vec<Option<Card>>,
    },
    /// `pN sm CARDS`: the player shows hole cards. `??` entries are cards the player kept
    /// face down but did not muck (`pN sm ????` is a show of unknown cards, which wins
    /// nothing against a shown hand). The file's `pN sm -` ("the cards dealt") is read as
    /// a show of the cards the player holds at that point.
    Show {
        /// The player, from 0.
        player: u8,
        /// The cards shown, `None` where unknown.
        cards: Vec<Option<Card>>,
    },
    /// `pN sm`: the player mucks.
    Muck {
        /// The player, from 0.
        player: u8,
    },
    /// An empty action or one that is only a commentary (`# burn card exposed`).
    NoOp,
}

impl Action {
    /// The player who acts, or `None` for the dealer's actions and no-ops.
    #[must_use]
    pub const fn player(&self) -> Option<u8> {
        match self {
            Action::DealHole { player, .. }
            | Action::PostBringIn { player }
            | Action::Fold { player }
            | Action::CheckOrCall { player }
            | Action::CompleteBetOrRaiseTo { player, .. }
            | Action::StandPatOrDiscard { player, .. }
            | Action::Show { player, .. }
            | Action::Muck { player } => Some(*player),
            Action::DealBoard { .. } | Action::NoOp => None,
        }
    }

    /// The action in PHH notation, amounts written in the file's units (`p3 cbr 200.30`),
    /// without commentary.
    #[must_use]
    pub fn to_phh(&self, scale: Scale) -> String {
        // Players are stored from 0 and written from 1; widen first so player 255 prints.
        let p = |player: &u8| u16::from(*player) + 1;
        match self {
            Action::DealHole { player, cards } => {
                format!("d dh p{} {}", p(player), format_cards(cards))
            }
            Action::DealBoard { cards } => format!("d db {}", format_cards(cards)),
            Action::PostBringIn { player } => format!("p{} pb", p(player)),
            Action::Fold { player } => format!("p{} f", p(player)),
            Action::CheckOrCall { player } => format!("p{} cc", p(player)),
            Action::CompleteBetOrRaiseTo { player, amount } => {
                format!("p{} cbr {}", p(player), scale.format(*amount))
            }
            Action::StandPatOrDiscard { player, discards } if discards.is_empty() => {
                format!("p{} sd", p(player))
            }
            Action::StandPatOrDiscard { player, discards } => {
                format!("p{} sd {}", p(player), format_cards(discards))
            }
            Action::Show { player, cards } => format!("p{} sm {}", p(player), format_cards(cards)),
            Action::Muck { player } => format!("p{} sm", p(player)),
            Action::NoOp => String::new(),
        }
    }
}

/// One hand, as read from a PHH file.
///
/// Every amount is an integer count of the hand's units (see [`Scale`]). Per-player lists
/// (`antes`, `blinds_or_straddles`) have one entry per starting stack: the file may give a
/// single number for all players or a shorter list, which is padded with zeros, as PokerKit
/// does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HandHistory {
    /// The variant code as written: `NT`, `PO`, `FT`, or another PHH code such as `F7S`.
    /// This module reads any code; whether it can be replayed is the caller's decision.
    pub variant: String,
    /// Whether antes count as contributions that can form side pots (`true`) or all go to
    /// the main pot (`false`, the default when the field is absent).
    pub ante_trimming_status: bool,
    /// Antes per player, in units.
    pub antes: Vec<i64>,
    /// Blinds or straddles per player, in units; empty when the file has none (stud games).
    /// A negative entry is a post by a newly seated player and keeps its sign.
    pub blinds_or_straddles: Vec<i64>,
    /// The bring-in of stud games, in units.
    pub bring_in: Option<i64>,
    /// The small bet of fixed-limit games, in units.
    pub small_bet: Option<i64>,
    /// The big bet of fixed-limit games, in units.
    pub big_bet: Option<i64>,
    /// The minimum bet of no-limit and pot-limit games, in units.
    pub min_bet: Option<i64>,
    /// Starting stacks, one per player; their number is the number of players.
    pub starting_stacks: Vec<Stack>,
    /// The actions in order.
    pub actions: Vec<Action>,
    /// Commentary written after `#` inside action strings, by index into `actions`.
    pub action_comments: BTreeMap<usize, String>,
    /// Finishing stacks, when the file records them.
    pub finishing_stacks: Option<Vec<Stack>>,
    /// How the hand's units relate to the amounts written in the file.
    pub scale: Scale,
    /// Every other field (author, event, players, seats, time, winnings, …) verbatim, so
    /// writing prints them back. Numbers here are metadata, not chips: a decimal such as
    /// `winnings = [22.80]` is kept as a TOML float and written back as `22.8`.
    pub extra: Table,
}

/// Why a PHH text could not be read.
///
/// *Handling*: every variant means the input is malformed (corrupt, in the crate's
/// classification); retrying will not help, and the message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhhError {
    /// The text is not TOML at all.
    #[error("not TOML: line {line}, column {column}: {message}")]
    NotToml {
        /// 1-based line of the first error.
        line: usize,
        /// 1-based column (in characters) of the first error.
        column: usize,
        /// The TOML parser's explanation.
        message: String,
    },
    /// A `.phhs` text is TOML but not a table of hands `[1]`, `[2]`, ….
    #[error("not a PHHS file: {why}")]
    NotHandTables {
        /// What was found instead.
        why: String,
    },
    /// A required field is absent.
    #[error("missing field `{field}`, which {required_by} requires")]
    MissingField {
        /// The field's name.
        field: &'static str,
        /// Who requires it: "every hand" or "variant FT".
        required_by: String,
    },
    /// A field, or an element of a list field, has the wrong TOML type.
    #[error("field `{field}` has the wrong type: expected {expected}, found {found}")]
    WrongType {
        /// The field, with an index for list elements (`starting_stacks[2]`).
        field: String,
        /// What PHH allows there.
        expected: &'static str,
        /// The TOML type found.
        found: &'static str,
    },
    /// An amount that cannot be turned into an exact integer number of units.
    #[error("bad amount {value} in `{field}`: {why}")]
    BadAmount {
        /// The field, with an index for list elements (`antes[0]`), or `actions[7]`.
        field: String,
        /// The amount as written.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// A field whose value has the right type but cannot be used.
    #[error("bad field `{field}`: {why}")]
    BadField {
        /// The field.
        field: String,
        /// What is wrong with it.
        why: String,
    },
    /// An action string that does not follow PHH's action grammar, or names a player or
    /// cards that do not fit the hand.
    #[error("bad action actions[{index}] '{text}': {why}")]
    BadAction {
        /// Index into the `actions` list, from 0.
        index: usize,
        /// The action as written.
        text: String,
        /// What is wrong, and what was expected.
        why: String,
    },
    /// A card in an action is malformed, or cannot exist in the variant's deck.
    #[error("bad card in actions[{index}] '{text}': {error}")]
    BadCard {
        /// Index into the `actions` list, from 0.
        index: usize,
        /// The action as written.
        text: String,
        /// The card problem (kept as a field, not a source, so the one-line message is whole).
        error: CardError,
    },
    /// A known card that is already in play (in someone's hand or on the board).
    #[error(
        "duplicate card {card} in action '{text}' (actions[{index}]): it was already dealt in actions[{first_index}]"
    )]
    DuplicateCard {
        /// The card.
        card: Card,
        /// Index of the action that repeats it.
        index: usize,
        /// That action as written.
        text: String,
        /// Index of the action where the card first appeared.
        first_index: usize,
    },
}

/// One hand of a `.phhs` file with its table key (`"1"` for `[1]`).
#[derive(Debug, Clone, PartialEq)]
pub struct PhhsEntry {
    /// The key of the hand's table, as written.
    pub key: String,
    /// The hand, or why it could not be read.
    pub hand: Result<HandHistory, PhhError>,
}

/// Reads a `.phh` text: one hand at the top level.
///
/// # Errors
/// [`PhhError::NotToml`] when the text is not TOML; otherwise the first problem with the
/// hand's fields or actions (see [`PhhError`]).
pub fn parse_phh(text: &str) -> Result<HandHistory, PhhError> {
    let document = parse_toml(text)?;
    parse_hand(document.get_ref())
}

/// Reads a `.phhs` text: many hands, as tables `[1]`, `[2]`, …, returned in numeric key
/// order (keys that are not numbers come after, in file order).
///
/// A hand that cannot be read gives an inner error and does not stop the others.
///
/// # Errors
/// The outer error is [`PhhError::NotToml`] when the text is not TOML and
/// [`PhhError::NotHandTables`] when a top-level entry is not a table.
pub fn parse_phhs(text: &str) -> Result<Vec<Result<HandHistory, PhhError>>, PhhError> {
    Ok(parse_phhs_keyed(text)?.into_iter().map(|entry| entry.hand).collect())
}

/// Like [`parse_phhs`], keeping each hand's table key.
///
/// # Errors
/// As [`parse_phhs`].
pub fn parse_phhs_keyed(text: &str) -> Result<Vec<PhhsEntry>, PhhError> {
    let document = parse_toml(text)?;
    let mut hands = Vec::with_capacity(document.get_ref().len());
    for (key, value) in document.get_ref().iter() {
        let key_text: &str = key.get_ref();
        let Some(table) = value.get_ref().as_table() else {
            return Err(PhhError::NotHandTables {
                why: format!(
                    "expected every top-level entry to be a hand table such as [1], but `{key_text}` is {} \
                     (is this a single-hand .phh file?)",
                    with_article(value.get_ref().type_str())
                ),
            });
        };
        // Numeric keys sort by value (so [10] follows [9]); any others follow in file order.
        let order = match key_text.parse::<u64>() {
            Ok(number) => (0, number, key.span().start),
            Err(_) => (1, 0, key.span().start),
        };
        hands.push((order, key_text.to_owned(), table));
    }
    hands.sort_by_key(|(order, _, _)| *order);
    Ok(hands.into_iter().map(|(_, key, table)| PhhsEntry { key, hand: parse_hand(table) }).collect())
}

/// Reads a file's text as `.phhs` (many hands) or `.phh` (one hand) by its name's
/// extension; for any other name, a text whose top level has a `variant` field is one hand.
/// Either way the result is a list of hands, so callers treat both kinds alike.
///
/// # Errors
/// The outer error concerns the whole file ([`PhhError::NotToml`],
/// [`PhhError::NotHandTables`]); problems with a hand are inner errors.
pub fn parse_file_text(name: &str, text: &str) -> Result<Vec<Result<HandHistory, PhhError>>, PhhError> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".phhs") {
        return parse_phhs(text);
    }
    let document = parse_toml(text)?;
    if lower.ends_with(".phh") || document.get_ref().contains_key("variant") {
        Ok(vec![parse_hand(document.get_ref())])
    } else {
        parse_phhs(text)
    }
}

/// Writes one hand as a `.phh` text that this module and PokerKit both read back to the
/// same hand. Amounts are written in the file's units with exactly the hand's number of
/// decimal places (integers when it has none), unknown stacks as `inf`.
#[must_use]
pub fn write_phh(hand: &HandHistory) -> String {
    let mut out = String::new();
    write_fields(&mut out, hand);
    out
}

/// Writes many hands as a `.phhs` text, numbered `[1]`, `[2]`, … in order.
#[must_use]
pub fn write_phhs(hands: &[HandHistory]) -> String {
    let mut out = String::new();
    for (number, hand) in hands.iter().enumerate() {
        if number > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "[{}]", number + 1);
        write_fields(&mut out, hand);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Reading

/// Fields this module interprets; every other field goes to [`HandHistory::extra`].
const KNOWN_FIELDS: [&str; 11] = [
    "variant",
    "ante_trimming_status",
    "antes",
    "blinds_or_straddles",
    "bring_in",
    "small_bet",
    "big_bet",
    "min_bet",
    "starting_stacks",
    "actions",
    "finishing_stacks",
];

/// The fields PokerKit requires for a variant besides `variant`, `antes`,
/// `starting_stacks` and `actions` (PokerKit's `HandHistory.required_field_names`).
/// Codes PokerKit does not know require only the common fields, so that the caller can
/// still read the hand and report the variant as unsupported.
fn variant_fields(variant: &str) -> &'static [&'static str] {
    match variant {
        "FT" | "FO/8" | "F2L3D" | "FB" => &["blinds_or_straddles", "small_bet", "big_bet"],
        "NT" | "NS" | "PO" | "N2L1D" => &["blinds_or_straddles", "min_bet"],
        "F7S" | "F7S/8" | "FR" => &["bring_in", "small_bet", "big_bet"],
        _ => &[],
    }
}

fn parse_toml(text: &str) -> Result<toml::Spanned<DeTable<'_>>, PhhError> {
    DeTable::parse(text).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start).min(text.len());
        // Spans are byte offsets; step back to a character boundary before slicing.
        let offset = (0..=offset).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |tail| tail.chars().count()) + 1;
        // The parser's message may span lines ("Unexpected …", "Expected …"); keep one line.
        let message = error.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
        PhhError::NotToml { line, column, message }
    })
}

/// A number as written in the file, before the hand's scale is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Number {
    /// `(-1)^negative * mantissa / 10^decimals`, with `decimals` as written (`0.50` has 2).
    Finite { negative: bool, mantissa: u128, decimals: u8 },
    /// `inf`, `+inf` or `-inf`.
    Infinite { negative: bool },
    /// `nan`.
    NaN,
}

/// An amount with the text it was written as, for error messages.
#[derive(Debug, Clone)]
struct Written {
    text: String,
    number: Number,
}

impl Written {
    fn zero() -> Written {
        Written { text: "0".to_owned(), number: Number::Finite { negative: false, mantissa: 0, decimals: 0 } }
    }

    fn is_zero(&self) -> bool {
        matches!(self.number, Number::Finite { mantissa: 0, .. })
    }

    fn decimals(&self) -> u8 {
        match self.number {
            Number::Finite { decimals, .. } => decimals,
            Number::Infinite { .. } | Number::NaN => 0,
        }
    }
}

/// Reads decimal text exactly: an optional sign, digits with an optional point, an
/// optional exponent (`1e30`, `2.5E-1`), or `inf` / `nan`. TOML floats and PokerKit's
/// amount syntax (Python's `Decimal`) both fit this grammar.
fn parse_number(text: &str) -> Result<Number, String> {
    let not_a_number =
        || "is not a number: expected digits with an optional decimal point, such as 200 or 200.30".to_owned();
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        return Ok(Number::Infinite { negative });
    }
    if body.eq_ignore_ascii_case("nan") {
        return Ok(Number::NaN);
    }
    let (significand, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let (whole, fraction) = match significand.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (significand, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err(not_a_number());
    }
    // Zeros at the end of a long fraction change nothing but the places counted; drop them
    // down to the limit so `1.0000000000` is not refused for its written precision.
    let max = usize::from(Scale::MAX_DECIMALS);
    let fraction =
        if fraction.len() > max { &fraction[..fraction.trim_end_matches('0').len().max(max)] } else { fraction };
    let too_large = || "is too large to count in 64-bit units".to_owned();
    let mut mantissa: u128 = 0;
    for digit in whole.bytes().chain(fraction.bytes()) {
        mantissa =
            mantissa.checked_mul(10).and_then(|m| m.checked_add(u128::from(digit - b'0'))).ok_or_else(too_large)?;
    }
    // Decimal places as written, adjusted by the exponent; i64 so no step can overflow.
    let mut places = i64::try_from(fraction.len()).map_err(|_| not_a_number())?;
    if let Some(exponent) = exponent {
        let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        if digits.is_empty() || digits.len() > 6 || !all_digits(digits) {
            return Err(not_a_number());
        }
        let value: i64 = digits.parse().map_err(|_| not_a_number())?;
        places -= if exponent.starts_with('-') { -value } else { value };
    }
    if places < 0 {
        let shift = u32::try_from(-places).map_err(|_| too_large())?;
        if mantissa != 0 {
            mantissa = 10u128.checked_pow(shift).and_then(|f| mantissa.checked_mul(f)).ok_or_else(too_large)?;
        }
        places = 0;
    }
    while places > i64::from(Scale::MAX_DECIMALS) && mantissa.is_multiple_of(10) {
        mantissa /= 10;
        places -= 1;
    }
    if places > i64::from(Scale::MAX_DECIMALS) {
        return Err(format!("has more than {} decimal places", Scale::MAX_DECIMALS));
    }
    let decimals = u8::try_from(places).map_err(|_| not_a_number())?;
    Ok(Number::Finite { negative, mantissa, decimals })
}

/// An amount field's value, read from TOML without converting it to a float.
fn written_from_toml(value: &DeValue<'_>, field: &str) -> Result<Written, PhhError> {
    let (text, number) = match value {
        DeValue::Integer(integer) if integer.radix() != 10 => {
            let text = integer.to_string();
            let number = u128::from_str_radix(integer.as_str(), integer.radix())
                .map(|mantissa| Number::Finite { negative: false, mantissa, decimals: 0 })
                .map_err(|_| "is too large to count in 64-bit units".to_owned());
            (text, number)
        }
        DeValue::Integer(integer) => (integer.as_str().to_owned(), parse_number(integer.as_str())),
        DeValue::Float(float) => (float.as_str().to_owned(), parse_number(float.as_str())),
        other => {
            return Err(PhhError::WrongType { field: field.to_owned(), expected: "a number", found: other.type_str() });
        }
    };
    match number {
        Ok(number) => Ok(Written { text, number }),
        Err(why) => Err(PhhError::BadAmount { field: field.to_owned(), value: text, why }),
    }
}

fn written_list(value: &DeValue<'_>, field: &str) -> Result<Vec<Written>, PhhError> {
    let Some(items) = value.as_array() else {
        return Err(PhhError::WrongType {
            field: field.to_owned(),
            expected: "an array of numbers",
            found: value.type_str(),
        });
    };
    items.iter().enumerate().map(|(i, item)| written_from_toml(item.get_ref(), &format!("{field}[{i}]"))).collect()
}

/// A per-player list (`antes`, `blinds_or_straddles`), normalised to one entry per player
/// as PokerKit's `clean_values` does: one number means the same for everyone, a short
/// list is padded with zeros. PokerKit silently drops entries beyond the player count;
/// dropping a non-zero one would change the hand, so that is an error here.
fn per_player_list(value: &DeValue<'_>, field: &str, players: usize) -> Result<Vec<Written>, PhhError> {
    let mut list = match value {
        DeValue::Integer(_) | DeValue::Float(_) => vec![written_from_toml(value, field)?; players],
        DeValue::Array(_) => written_list(value, field)?,
        other => {
            return Err(PhhError::WrongType {
                field: field.to_owned(),
                expected: "an array of numbers (or one number for every player)",
                found: other.type_str(),
            });
        }
    };
    if let Some((i, extra)) = list.iter().enumerate().skip(players).find(|(_, w)| !w.is_zero()) {
        return Err(PhhError::BadField {
            field: field.to_owned(),
            why: format!(
                "it has {} entries but there are {players} starting stacks, and entry {i} ({}) is not zero",
                list.len(),
                extra.text
            ),
        });
    }
    list.resize_with(players, Written::zero);
    Ok(list)
}

/// Converts a written amount to units of `scale`, which has at least as many decimals.
fn to_units(
    written: &Written,
    scale: Scale,
    field: &str,
    signed: bool,
    allow_inf: bool,
) -> Result<ScaledAmount, PhhError> {
    let bad = |why: String| PhhError::BadAmount { field: field.to_owned(), value: written.text.clone(), why };
    match written.number {
        Number::NaN => Err(bad("NaN is not an amount".to_owned())),
        Number::Infinite { negative: false } if allow_inf => Ok(ScaledAmount::Unbounded),
        Number::Infinite { negative: false } => {
            Err(bad("inf is allowed only for stacks, where it means the stack is unknown".to_owned()))
        }
        Number::Infinite { negative: true } => Err(bad("an amount cannot be negative".to_owned())),
        Number::Finite { negative, mantissa, decimals } => {
            if negative && mantissa != 0 && !signed {
                return Err(bad("an amount cannot be negative here".to_owned()));
            }
            let shift = u32::from(scale.decimals() - decimals);
            let limit = if signed { i64::MAX as u128 } else { u128::from(u64::MAX) };
            let units = mantissa.checked_mul(10u128.pow(shift)).filter(|&u| u <= limit).ok_or_else(|| {
                bad(if scale.decimals() == 0 {
                    format!("is too large: the most an amount may be is {limit}")
                } else {
                    format!(
                        "is too large: counted in units of 1/{} (the hand's finest amount has {} decimal {}) \
                         it exceeds {limit}",
                        scale.factor(),
                        scale.decimals(),
                        if scale.decimals() == 1 { "place" } else { "places" }
                    )
                })
            })?;
            Ok(ScaledAmount::Units { negative: negative && units != 0, units })
        }
    }
}

enum ScaledAmount {
    Units { negative: bool, units: u128 },
    Unbounded,
}

fn to_i64(written: &Written, scale: Scale, field: &str, allow_negative: bool) -> Result<i64, PhhError> {
    match to_units(written, scale, field, allow_negative, false)? {
        // `to_units` has checked the magnitude against i64::MAX.
        ScaledAmount::Units { negative, units } => {
            let units = i64::try_from(units).unwrap_or(i64::MAX);
            Ok(if negative { -units } else { units })
        }
        ScaledAmount::Unbounded => unreachable!("inf is refused unless allowed"),
    }
}

fn to_u64(written: &Written, scale: Scale, field: &str) -> Result<u64, PhhError> {
    match to_units(written, scale, field, false, false)? {
        ScaledAmount::Units { units, .. } => Ok(u64::try_from(units).unwrap_or(u64::MAX)),
        ScaledAmount::Unbounded => unreachable!("inf is refused unless allowed"),
    }
}

fn to_stack(written: &Written, scale: Scale, field: &str) -> Result<Stack, PhhError> {
    match to_units(written, scale, field, false, true)? {
        ScaledAmount::Units { units, .. } => Ok(Stack::Chips(u64::try_from(units).unwrap_or(u64::MAX))),
        ScaledAmount::Unbounded => Ok(Stack::Unbounded),
    }
}

/// An action after its grammar is read, before amounts are scaled and cards checked.
enum Parsed {
    Ready(Action),
    Bet {
        player: u8,
        amount: Written,
    },
    /// `pN sm -`: show the cards dealt, resolved once the deal is known.
    ShowDealt {
        player: u8,
    },
}

/// Reads one action string (PokerKit's `parse_action` grammar): words separated by any
/// whitespace, an optional commentary after `#`.
fn parse_action(
    index: usize,
    text: &str,
    players: usize,
    short_deck: bool,
) -> Result<(Parsed, Option<String>), PhhError> {
    let bad = |why: String| PhhError::BadAction { index, text: text.to_owned(), why };
    let (body, comment) = match text.split_once('#') {
        Some((body, comment)) => (body, Some(comment.trim().to_owned())),
        None => (text, None),
    };
    let words: Vec<&str> = body.split_whitespace().collect();
    let player = |word: &str| -> Result<u8, PhhError> {
        let number = word
            .strip_prefix('p')
            .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| bad(format!("'{word}' is not a player: expected p1, p2, …")))?;
        match number.parse::<usize>() {
            Ok(n) if (1..=players).contains(&n) => Ok(u8::try_from(n - 1).unwrap_or(u8::MAX)),
            _ => Err(bad(format!(
                "there is no player {word}: the hand has {players} starting stacks (p1 to p{players})"
            ))),
        }
    };
    let cards = |word: &str| -> Result<Vec<Option<Card>>, PhhError> {
        let cards = parse_cards(word).map_err(|error| PhhError::BadCard { index, text: text.to_owned(), error })?;
        if short_deck {
            // Short-deck hold'em removes deuces to fives (ranks 0..=3).
            if let Some(card) = cards.iter().flatten().find(|card| card.rank() < 4) {
                return Err(bad(format!("{card} is not in the short deck (sixes to aces) of variant NS")));
            }
        }
        Ok(cards)
    };
    let parsed = match words.as_slice() {
        [] => Parsed::Ready(Action::NoOp),
        ["d", "db", board] => Parsed::Ready(Action::DealBoard { cards: cards(board)? }),
        ["d", "dh", p, hole] => Parsed::Ready(Action::DealHole { player: player(p)?, cards: cards(hole)? }),
        ["d", ..] => {
            return Err(bad("unknown dealer action: expected 'd db CARDS' or 'd dh pN CARDS'".to_owned()));
        }
        [p, "pb"] => Parsed::Ready(Action::PostBringIn { player: player(p)? }),
        [p, "f"] => Parsed::Ready(Action::Fold { player: player(p)? }),
        [p, "cc"] => Parsed::Ready(Action::CheckOrCall { player: player(p)? }),
        [p, "cbr", amount] => {
            let player = player(p)?;
            // PokerKit's parse_value drops thousands separators ("9,999.99").
            let cleaned = amount.replace(',', "");
            match parse_number(&cleaned) {
                Ok(number) => Parsed::Bet { player, amount: Written { text: (*amount).to_owned(), number } },
                Err(why) => return Err(bad(format!("amount {amount} {why}"))),
            }
        }
        [p, "sd"] => Parsed::Ready(Action::StandPatOrDiscard { player: player(p)?, discards: Vec::new() }),
        [p, "sd", discards] => {
            Parsed::Ready(Action::StandPatOrDiscard { player: player(p)?, discards: cards(discards)? })
        }
        [p, "sm"] => Parsed::Ready(Action::Muck { player: player(p)? }),
        [p, "sm", "-"] => Parsed::ShowDealt { player: player(p)? },
        [p, "sm", shown] => Parsed::Ready(Action::Show { player: player(p)?, cards: cards(shown)? }),
        [_, verb @ ("pb" | "f" | "cc" | "cbr" | "sd" | "sm"), ..] => {
            let form = match *verb {
                "cbr" => "pN cbr AMOUNT",
                "sd" => "pN sd or pN sd CARDS",
                "sm" => "pN sm, pN sm CARDS or pN sm -",
                "pb" => "pN pb",
                "f" => "pN f",
                _ => "pN cc",
            };
            return Err(bad(format!("wrong number of words for '{verb}': expected '{form}'")));
        }
        [_, verb, ..] => {
            return Err(bad(format!(
                "unsupported action '{verb}': expected one of f, cc, cbr AMOUNT, sm [CARDS], sd [CARDS], pb \
                 (or a dealer action d db / d dh)"
            )));
        }
        [word] => {
            return Err(bad(format!("'{word}' alone is not an action: expected an actor (d or pN) and a verb")));
        }
    };
    Ok((parsed, comment))
}

/// Tracks the known cards of a hand to refuse duplicates and shows of cards a player was
/// not dealt.
struct CardTracker {
    in_play: CardSet,
    /// The action index where each card in play appeared, for error messages.
    origin: [usize; Card::COUNT],
    /// Each player's current hole cards (`None` where unknown).
    hole: Vec<Vec<Option<Card>>>,
    /// Whether a deal to the player is recorded; PokerKit deals `??` to players whose
    /// deal the file omits, so such a player may show any cards not in play.
    dealt: Vec<bool>,
}

impl CardTracker {
    fn new(players: usize) -> CardTracker {
        CardTracker {
            in_play: CardSet::EMPTY,
            origin: [0; Card::COUNT],
            hole: vec![Vec::new(); players],
            dealt: vec![false; players],
        }
    }

    fn bring_into_play(&mut self, card: Card, index: usize, text: &str) -> Result<(), PhhError> {
        if !self.in_play.insert(card) {
            let first_index = self.origin[usize::from(card.index())];
            return Err(PhhError::DuplicateCard { card, index, text: text.to_owned(), first_index });
        }
        self.origin[usize::from(card.index())] = index;
        Ok(())
    }

    fn deal(&mut self, player: Option<u8>, cards: &[Option<Card>], index: usize, text: &str) -> Result<(), PhhError> {
        for card in cards.iter().flatten() {
            self.bring_into_play(*card, index, text)?;
        }
        if let Some(player) = player {
            let player = usize::from(player);
            self.hole[player].extend_from_slice(cards);
            self.dealt[player] = true;
        }
        Ok(())
    }

    /// A discard must come from the player's hand; a known card the player held as `??`
    /// is revealed by it. Discarded cards leave play: in draw games the muck may be
    /// reshuffled into the stub, so they can legitimately be dealt again.
    fn discard(&mut self, player: u8, discards: &[Option<Card>], index: usize, text: &str) -> Result<(), PhhError> {
        let p = usize::from(player);
        for discard in discards {
            let slot = match discard {
                Some(card) => match self.hole[p].iter().position(|held| held == discard) {
                    Some(slot) => Some(slot),
                    None if self.in_play.contains(*card) => {
                        let first_index = self.origin[usize::from(card.index())];
                        return Err(PhhError::DuplicateCard { card: *card, index, text: text.to_owned(), first_index });
                    }
                    None => self.hole[p].iter().position(Option::is_none),
                },
                None => self.hole[p].iter().position(Option::is_none),
            };
            match slot {
                Some(slot) => {
                    self.hole[p].remove(slot);
                }
                None if !self.dealt[p] => {}
                None => {
                    return Err(PhhError::BadAction {
                        index,
                        text: text.to_owned(),
                        why: format!(
                            "p{} discards {} but holds {}",
                            p + 1,
                            format_cards(std::slice::from_ref(discard)),
                            format_cards(&self.hole[p])
                        ),
                    });
                }
            }
            if let Some(card) = discard {
                // A card revealed from a `??` slot was never in play; clearing it is harmless.
                self.in_play.0 &= !(1u64 << card.index());
            }
        }
        Ok(())
    }

    /// Shown known cards must be the player's own: a card already dealt to them, or one
    /// that fills a slot they were dealt as `??` (and then must not be in play elsewhere).
    /// Showing the same cards again (repeated `sm` in all-in run-outs) is fine.
    fn show(&mut self, player: u8, cards: &[Option<Card>], index: usize, text: &str) -> Result<(), PhhError> {
        let p = usize::from(player);
        for card in cards.iter().flatten() {
            if self.hole[p].contains(&Some(*card)) {
                continue;
            }
            if self.in_play.contains(*card) {
                let first_index = self.origin[usize::from(card.index())];
                return Err(PhhError::DuplicateCard { card: *card, index, text: text.to_owned(), first_index });
            }
            if let Some(slot) = self.hole[p].iter().position(Option::is_none) {
                self.hole[p][slot] = Some(*card);
            } else if !self.dealt[p] {
                self.hole[p].push(Some(*card));
            } else {
                return Err(PhhError::BadAction {
                    index,
                    text: text.to_owned(),
                    why: format!("p{} shows {card} but was dealt {}", p + 1, format_cards(&self.hole[p])),
                });
            }
            self.bring_into_play(*card, index, text)?;
        }
        Ok(())
    }
}

/// "an array", "a string": TOML type names with their article, for messages.
fn with_article(type_name: &str) -> String {
    let article = if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {type_name}")
}

fn expect_string<'a>(value: &'a DeValue<'_>, field: &str) -> Result<&'a str, PhhError> {
    value.as_str().ok_or_else(|| PhhError::WrongType {
        field: field.to_owned(),
        expected: "a string",
        found: value.type_str(),
    })
}

fn parse_hand(table: &DeTable<'_>) -> Result<HandHistory, PhhError> {
    let get = |name: &str| table.get(name).map(toml::Spanned::get_ref);
    let missing =
        |field: &'static str, required_by: &str| PhhError::MissingField { field, required_by: required_by.to_owned() };

    let variant = expect_string(get("variant").ok_or_else(|| missing("variant", "every hand"))?, "variant")?.to_owned();
    let require = |field: &'static str| get(field).ok_or_else(|| missing(field, "every hand"));
    let (antes_value, starting_value, actions_value) =
        (require("antes")?, require("starting_stacks")?, require("actions")?);
    for field in variant_fields(&variant) {
        if get(field).is_none() {
            return Err(missing(field, &format!("variant {variant}")));
        }
    }

    let ante_trimming_status = match get("ante_trimming_status") {
        None => false,
        Some(value) => value.as_bool().ok_or_else(|| PhhError::WrongType {
            field: "ante_trimming_status".to_owned(),
            expected: "a boolean",
            found: value.type_str(),
        })?,
    };

    // Pass 1: read every amount as written, so the hand's scale can be chosen.
    let starting = written_list(starting_value, "starting_stacks")?;
    let players = starting.len();
    if players > usize::from(u8::MAX) {
        return Err(PhhError::BadField {
            field: "starting_stacks".to_owned(),
            why: format!("{players} players is more than the {} a hand may have", u8::MAX),
        });
    }
    let antes = per_player_list(antes_value, "antes", players)?;
    let blinds = match get("blinds_or_straddles") {
        Some(value) => per_player_list(value, "blinds_or_straddles", players)?,
        None => Vec::new(),
    };
    let single = |name: &str| get(name).map(|value| written_from_toml(value, name)).transpose();
    let bring_in = single("bring_in")?;
    let small_bet = single("small_bet")?;
    let big_bet = single("big_bet")?;
    let min_bet = single("min_bet")?;
    let finishing = get("finishing_stacks").map(|value| written_list(value, "finishing_stacks")).transpose()?;

    let Some(action_values) = actions_value.as_array() else {
        return Err(PhhError::WrongType {
            field: "actions".to_owned(),
            expected: "an array of strings",
            found: actions_value.type_str(),
        });
    };
    let mut texts = Vec::with_capacity(action_values.len());
    let mut parsed = Vec::with_capacity(action_values.len());
    let mut action_comments = BTreeMap::new();
    for (index, value) in action_values.iter().enumerate() {
        let text = expect_string(value.get_ref(), &format!("actions[{index}]"))?;
        let (action, comment) = parse_action(index, text, players, variant == "NS")?;
        if let Some(comment) = comment {
            action_comments.insert(index, comment);
        }
        texts.push(text);
        parsed.push(action);
    }

    let decimals = starting
        .iter()
        .chain(&antes)
        .chain(&blinds)
        .chain([&bring_in, &small_bet, &big_bet, &min_bet].into_iter().flatten())
        .chain(finishing.iter().flatten())
        .chain(parsed.iter().filter_map(|action| match action {
            Parsed::Bet { amount, .. } => Some(amount),
            _ => None,
        }))
        .map(Written::decimals)
        .max()
        .unwrap_or(0);
    // parse_number refuses more than MAX_DECIMALS places.
    let scale = Scale::new(decimals).unwrap_or(Scale { decimals: Scale::MAX_DECIMALS });

    // Pass 2: scale every amount and check the cards.
    let list = |written: &[Written], field: &str, signed: bool| -> Result<Vec<i64>, PhhError> {
        written.iter().enumerate().map(|(i, w)| to_i64(w, scale, &format!("{field}[{i}]"), signed)).collect()
    };
    let stacks = |written: &[Written], field: &str| -> Result<Vec<Stack>, PhhError> {
        written.iter().enumerate().map(|(i, w)| to_stack(w, scale, &format!("{field}[{i}]"))).collect()
    };
    let bet =
        |written: &Option<Written>, field: &str| written.as_ref().map(|w| to_i64(w, scale, field, false)).transpose();

    // Fields first, so errors come in the order of the file.
    let antes = list(&antes, "antes", false)?;
    let blinds_or_straddles = list(&blinds, "blinds_or_straddles", true)?;
    let bring_in = bet(&bring_in, "bring_in")?;
    let small_bet = bet(&small_bet, "small_bet")?;
    let big_bet = bet(&big_bet, "big_bet")?;
    let min_bet = bet(&min_bet, "min_bet")?;
    let starting_stacks = stacks(&starting, "starting_stacks")?;
    let finishing_stacks = finishing.as_deref().map(|f| stacks(f, "finishing_stacks")).transpose()?;
    let actions = resolve_actions(parsed, &texts, scale, players)?;

    Ok(HandHistory {
        variant,
        ante_trimming_status,
        antes,
        blinds_or_straddles,
        bring_in,
        small_bet,
        big_bet,
        min_bet,
        starting_stacks,
        actions,
        action_comments,
        finishing_stacks,
        scale,
        extra: extra_fields(table)?,
    })
}

/// Pass 2 for actions: scales bet amounts, resolves `sm -`, and checks the cards in order.
fn resolve_actions(parsed: Vec<Parsed>, texts: &[&str], scale: Scale, players: usize) -> Result<Vec<Action>, PhhError> {
    let mut tracker = CardTracker::new(players);
    let mut actions = Vec::with_capacity(parsed.len());
    for (index, (action, text)) in parsed.into_iter().zip(texts.iter().copied()).enumerate() {
        let action = match action {
            Parsed::Ready(action) => action,
            Parsed::Bet { player, amount } => {
                Action::CompleteBetOrRaiseTo { player, amount: to_u64(&amount, scale, &format!("actions[{index}]"))? }
            }
            Parsed::ShowDealt { player } => {
                let cards = tracker.hole[usize::from(player)].clone();
                if cards.is_empty() {
                    return Err(PhhError::BadAction {
                        index,
                        text: text.to_owned(),
                        why: format!(
                            "'sm -' shows the cards dealt, but no cards were dealt to p{}",
                            u16::from(player) + 1
                        ),
                    });
                }
                Action::Show { player, cards }
            }
        };
        match &action {
            Action::DealHole { player, cards } => tracker.deal(Some(*player), cards, index, text)?,
            Action::DealBoard { cards } => tracker.deal(None, cards, index, text)?,
            Action::StandPatOrDiscard { player, discards } => tracker.discard(*player, discards, index, text)?,
            Action::Show { player, cards } => tracker.show(*player, cards, index, text)?,
            _ => {}
        }
        actions.push(action);
    }

    Ok(actions)
}

/// The fields this module does not interpret, kept verbatim.
fn extra_fields(table: &DeTable<'_>) -> Result<Table, PhhError> {
    let mut extra = Table::new();
    for (key, value) in table.iter() {
        let key: &str = key.get_ref();
        if !KNOWN_FIELDS.contains(&key) {
            extra.insert(key.to_owned(), toml_value(value.get_ref(), key)?);
        }
    }
    Ok(extra)
}

/// Converts a field PHH does not interpret into a plain TOML value, kept verbatim.
///
/// This is the one place a number becomes an `f64`: decimal metadata such as `winnings`
/// or `time_limit` is stored as a TOML float, as any TOML reader would. No chip amount
/// the engine computes with comes from here.
fn toml_value(value: &DeValue<'_>, field: &str) -> Result<Value, PhhError> {
    Ok(match value {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(integer) => {
            Value::Integer(i64::from_str_radix(integer.as_str(), integer.radix()).map_err(|_| PhhError::BadField {
                field: field.to_owned(),
                why: format!("integer {integer} does not fit in 64 bits"),
            })?)
        }
        DeValue::Float(float) => {
            let text = float.as_str();
            let unsigned = text.trim_start_matches(['+', '-']);
            let negative = text.starts_with('-');
            let number = match unsigned {
                "inf" => f64::INFINITY,
                "nan" => f64::NAN,
                _ => unsigned.parse::<f64>().map_err(|_| PhhError::BadField {
                    field: field.to_owned(),
                    why: format!("{text} is not a float"),
                })?,
            };
            Value::Float(if negative { -number } else { number })
        }
        DeValue::Boolean(b) => Value::Boolean(*b),
        DeValue::Datetime(datetime) => Value::Datetime(*datetime),
        DeValue::Array(items) => {
            Value::Array(items.iter().map(|item| toml_value(item.get_ref(), field)).collect::<Result<_, _>>()?)
        }
        DeValue::Table(table) => Value::Table(
            table
                .iter()
                .map(|(key, item)| Ok((key.get_ref().to_string(), toml_value(item.get_ref(), field)?)))
                .collect::<Result<_, PhhError>>()?,
        ),
    })
}

// ---------------------------------------------------------------------------------------
// Writing

/// PokerKit's optional fields in the order its `dumps` writes them; `finishing_stacks`
/// is ours, the rest come from [`HandHistory::extra`]. Fields outside this list follow.
const OPTIONAL_FIELD_ORDER: [&str; 26] = [
    "author",
    "event",
    "url",
    "venue",
    "address",
    "city",
    "region",
    "postal_code",
    "country",
    "time",
    "time_zone",
    "day",
    "month",
    "year",
    "hand",
    "level",
    "seats",
    "seat_count",
    "table",
    "players",
    "finishing_stacks",
    "winnings",
    "currency",
    "currency_symbol",
    "time_limit",
    "time_banks",
];

fn write_fields(out: &mut String, hand: &HandHistory) {
    let scale = hand.scale;
    let amounts = |values: &[i64]| values.iter().map(|&v| scale.format(v)).collect::<Vec<_>>().join(", ");
    let stacks = |values: &[Stack]| {
        values
            .iter()
            .map(|stack| match stack {
                Stack::Chips(units) => scale.format(*units),
                Stack::Unbounded => "inf".to_owned(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let required = variant_fields(&hand.variant);

    let _ = writeln!(out, "variant = {}", Value::String(hand.variant.clone()));
    let _ = writeln!(out, "ante_trimming_status = {}", hand.ante_trimming_status);
    let _ = writeln!(out, "antes = [{}]", amounts(&hand.antes));
    if !hand.blinds_or_straddles.is_empty() || required.contains(&"blinds_or_straddles") {
        let _ = writeln!(out, "blinds_or_straddles = [{}]", amounts(&hand.blinds_or_straddles));
    }
    for (name, value) in [
        ("bring_in", hand.bring_in),
        ("small_bet", hand.small_bet),
        ("big_bet", hand.big_bet),
        ("min_bet", hand.min_bet),
    ] {
        if let Some(value) = value {
            let _ = writeln!(out, "{name} = {}", scale.format(value));
        }
    }
    let _ = writeln!(out, "starting_stacks = [{}]", stacks(&hand.starting_stacks));
    let actions: Vec<String> = hand
        .actions
        .iter()
        .enumerate()
        .map(|(index, action)| {
            let text = action.to_phh(scale);
            let text = match hand.action_comments.get(&index) {
                Some(comment) if text.is_empty() => format!("# {comment}"),
                Some(comment) => format!("{text} # {comment}"),
                None => text,
            };
            Value::String(text).to_string()
        })
        .collect();
    let _ = writeln!(out, "actions = [{}]", actions.join(", "));

    for name in OPTIONAL_FIELD_ORDER {
        if name == "finishing_stacks" {
            if let Some(finishing) = &hand.finishing_stacks {
                let _ = writeln!(out, "finishing_stacks = [{}]", stacks(finishing));
            }
        } else if let Some(value) = hand.extra.get(name) {
            let _ = writeln!(out, "{name} = {value}");
        }
    }
    for (key, value) in &hand.extra {
        if !OPTIONAL_FIELD_ORDER.contains(&key.as_str()) && !KNOWN_FIELDS.contains(&key.as_str()) {
            // Every value is written inline (`key = {…}` for tables), so the fields stay
            // inside this hand's table in a .phhs file.
            let _ = writeln!(out, "{} = {value}", toml_key(key));
        }
    }
}

/// A key as TOML needs it: bare when it is letters, digits, `_` and `-`, quoted otherwise.
fn toml_key(key: &str) -> String {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        key.to_owned()
    } else {
        Value::String(key.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hand(text: &str) -> Result<HandHistory, PhhError> {
        parse_phh(text)
    }

    /// A two-player NLHE hand with the given actions (TOML array body).
    fn nt(actions: &str) -> String {
        format!(
            "variant = 'NT'\nantes = [0, 0]\nblinds_or_straddles = [1, 2]\nmin_bet = 2\n\
             starting_stacks = [200, 200]\nactions = [{actions}]\n"
        )
    }

    #[test]
    fn decimals_choose_one_scale_per_hand() {
        let text = "variant = 'NT'\nantes = [0, 0]\nblinds_or_straddles = [0.50, 1]\nmin_bet = 1\n\
                    starting_stacks = [200.3, inf]\nactions = ['d dh p1 AcKd', 'd dh p2 ????', 'p2 cbr 3.5', 'p1 cc']\n";
        let hand = hand(text).unwrap();
        assert_eq!(hand.scale, Scale::new(2).unwrap());
        assert_eq!(hand.blinds_or_straddles, vec![50, 100]);
        assert_eq!(hand.min_bet, Some(100));
        assert_eq!(hand.starting_stacks, vec![Stack::Chips(20030), Stack::Unbounded]);
        assert_eq!(hand.actions[2], Action::CompleteBetOrRaiseTo { player: 1, amount: 350 });
        let written = write_phh(&hand);
        assert!(written.contains("blinds_or_straddles = [0.50, 1.00]"), "{written}");
        assert!(written.contains("starting_stacks = [200.30, inf]"), "{written}");
        assert!(written.contains("'p2 cbr 3.50'") || written.contains("\"p2 cbr 3.50\""), "{written}");
        assert_eq!(parse_phh(&written).unwrap(), hand);
    }

    #[test]
    fn exponents_and_thousands_separators_are_exact() {
        let text = nt("'d dh p1 ????', 'd dh p2 ????', 'p2 cbr 1,000', 'p1 cbr 2.5e3'")
            .replace("starting_stacks = [200, 200]", "starting_stacks = [1e4, 12_000]");
        let hand = hand(&text).unwrap();
        assert_eq!(hand.scale, Scale::WHOLE);
        assert_eq!(hand.starting_stacks, vec![Stack::Chips(10000), Stack::Chips(12000)]);
        assert_eq!(hand.actions[2], Action::CompleteBetOrRaiseTo { player: 1, amount: 1000 });
        assert_eq!(hand.actions[3], Action::CompleteBetOrRaiseTo { player: 0, amount: 2500 });
    }

    #[test]
    fn scale_formats_in_the_files_units() {
        let two = Scale::new(2).unwrap();
        assert_eq!(two.format(205990u64), "2059.90");
        assert_eq!(Scale::WHOLE.format(2059u64), "2059");
        assert_eq!(two.format(5u64), "0.05");
        assert_eq!(two.format(0u64), "0.00");
        assert_eq!(two.format(-205i64), "-2.05");
        assert_eq!(Scale::new(9).unwrap().format(u64::MAX), "18446744073.709551615");
        assert_eq!(Scale::new(10), None);
        assert_eq!(two.factor(), 100);
        assert_eq!(format_amount(two, Stack::Chips(193792375)), "1937923.75");
        assert_eq!(format_amount(two, Stack::Unbounded), "\"inf\"");
    }

    #[test]
    fn negative_blinds_keep_their_sign_but_negative_stacks_and_nan_are_refused() {
        let posts = nt("").replace("[1, 2]", "[1, -2]");
        assert_eq!(hand(&posts).unwrap().blinds_or_straddles, vec![1, -2]);
        for (bad, why) in [("[-200, 200]", "cannot be negative"), ("[nan, 200]", "NaN"), ("[-inf, 200]", "negative")] {
            let err = hand(&nt("").replace("[200, 200]", bad)).unwrap_err();
            assert!(matches!(&err, PhhError::BadAmount { field, .. } if field == "starting_stacks[0]"), "{err}");
            assert!(err.to_string().contains(why), "{err}");
        }
        let err = hand(&nt("").replace("min_bet = 2", "min_bet = inf")).unwrap_err();
        assert!(err.to_string().contains("inf is allowed only for stacks"), "{err}");
        let err = hand(&nt("").replace("antes = [0, 0]", "antes = [0, -1]")).unwrap_err();
        assert!(matches!(err, PhhError::BadAmount { ref field, .. } if field == "antes[1]"), "{err}");
    }

    #[test]
    fn not_toml_names_the_line() {
        let err = hand("variant = 'NT'\nantes = [0, 0\nmin_bet = 2\n").unwrap_err();
        let PhhError::NotToml { line, ref message, .. } = err else { panic!("{err}") };
        assert!(line == 2 || line == 3, "{err}");
        assert!(!message.is_empty() && !message.contains('\n'));
        assert!(err.to_string().starts_with("not TOML: line "), "{err}");
        assert!(matches!(parse_phhs("[1]\nvariant = = 3"), Err(PhhError::NotToml { line: 2, .. })));
    }

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        let err = hand(&nt("").replace("actions = []\n", "")).unwrap_err();
        assert_eq!(err, PhhError::MissingField { field: "actions", required_by: "every hand".to_owned() });
        assert_eq!(err.to_string(), "missing field `actions`, which every hand requires");
        let err = hand(&nt("").replace("min_bet = 2\n", "")).unwrap_err();
        assert!(err.to_string().contains("`min_bet`, which variant NT requires"), "{err}");
        let err = hand(&nt("").replace("antes = [0, 0]", "antes = 'none'")).unwrap_err();
        assert!(matches!(err, PhhError::WrongType { ref field, found: "string", .. } if field == "antes"), "{err}");
        let err = hand(&nt("'d dh p1 AsKd', 3")).unwrap_err();
        assert!(matches!(err, PhhError::WrongType { ref field, .. } if field == "actions[1]"), "{err}");
    }

    #[test]
    fn a_single_number_or_a_short_list_covers_every_player() {
        let text = nt("").replace("antes = [0, 0]", "antes = 5").replace("[1, 2]", "[1]");
        let hand = hand(&text).unwrap();
        assert_eq!(hand.antes, vec![5, 5]);
        assert_eq!(hand.blinds_or_straddles, vec![1, 0]);
        let long = nt("").replace("[1, 2]", "[1, 2, 0]");
        assert_eq!(parse_phh(&long).unwrap().blinds_or_straddles, vec![1, 2]);
        let err = parse_phh(&nt("").replace("[1, 2]", "[1, 2, 4]")).unwrap_err();
        assert!(matches!(err, PhhError::BadField { ref field, .. } if field == "blinds_or_straddles"), "{err}");
    }

    #[test]
    fn unknown_verbs_and_players_are_bad_actions() {
        let err = hand(&nt("'d dh p1 AsKd', 'p1 raise 300'")).unwrap_err();
        assert!(matches!(err, PhhError::BadAction { index: 1, .. }), "{err}");
        assert!(err.to_string().contains("unsupported action 'raise'"), "{err}");
        for (action, why) in [
            ("'p3 f'", "there is no player p3"),
            ("'p0 f'", "there is no player p0"),
            ("'x1 f'", "not a player"),
            ("'p1 cbr'", "expected 'pN cbr AMOUNT'"),
            ("'p1 cbr 1.2.3'", "is not a number"),
            ("'d deal AsKd'", "unknown dealer action"),
            ("'fold'", "alone is not an action"),
        ] {
            let err = hand(&nt(action)).unwrap_err();
            assert!(
                matches!(err, PhhError::BadAction { index: 0, .. }) && err.to_string().contains(why),
                "{action}: {err}"
            );
        }
    }

    #[test]
    fn malformed_cards_name_the_action() {
        let err = hand(&nt("'d dh p1 AsKx'")).unwrap_err();
        assert!(matches!(err, PhhError::BadCard { index: 0, error: CardError::Malformed(_), .. }), "{err}");
        assert!(err.to_string().contains("'d dh p1 AsKx'") && err.to_string().contains("expected a rank"), "{err}");
        let err = hand(&nt("'d db AsK'")).unwrap_err();
        assert!(matches!(err, PhhError::BadCard { error: CardError::MalformedList(_), .. }), "{err}");
        let short = nt("'d dh p1 As5d'").replace("'NT'", "'NS'");
        assert!(hand(&short).unwrap_err().to_string().contains("5d is not in the short deck"));
    }

    #[test]
    fn duplicate_cards_are_refused_but_shows_of_dealt_cards_are_not() {
        let err = hand(&nt("'d dh p1 AsKd', 'd dh p2 ????', 'd db AsKd2c'")).unwrap_err();
        assert!(err.to_string().starts_with("duplicate card As in action 'd db AsKd2c'"), "{err}");
        assert!(matches!(err, PhhError::DuplicateCard { index: 2, first_index: 0, .. }));
        // Showing the dealt cards, repeatedly, and unknown cards repeatedly, is fine.
        let ok = nt("'d dh p1 AsKd', 'd dh p2 ????', 'p2 cbr 200', 'p1 cc', 'p1 sm KdAs', 'p2 sm ????', \
                     'p1 sm AsKd', 'p2 sm ????', 'd db 2c3c4c', 'd db 5c', 'd db 9d'");
        let parsed = hand(&ok).unwrap();
        assert_eq!(parsed.actions[5], Action::Show { player: 1, cards: vec![None, None] });
        // Unknown hole cards may be revealed at showdown, and are then in play.
        let revealed = nt("'d dh p1 ????', 'd dh p2 ????', 'p2 cc', 'p1 cc', 'p1 sm QhQd', 'd db Qh2c3c'");
        let err = hand(&revealed).unwrap_err();
        assert!(matches!(err, PhhError::DuplicateCard { index: 5, first_index: 4, .. }), "{err}");
        // Showing other cards than the dealt ones is an error.
        let err = hand(&nt("'d dh p1 AsKd', 'd dh p2 ????', 'p1 sm AsQd'")).unwrap_err();
        assert!(err.to_string().contains("p1 shows Qd but was dealt AsKd"), "{err}");
        // Showing a card that is on the board is a duplicate.
        let err = hand(&nt("'d dh p1 ????', 'd dh p2 ????', 'd db 2c3c4c', 'p1 sm 2cKd'")).unwrap_err();
        assert!(matches!(err, PhhError::DuplicateCard { index: 3, first_index: 2, .. }), "{err}");
    }

    #[test]
    fn show_dealt_and_muck() {
        let parsed = hand(&nt("'d dh p1 AsKd', 'd dh p2 ????', 'p1 sm -', 'p2 sm'")).unwrap();
        assert_eq!(parsed.actions[2], Action::Show { player: 0, cards: parse_cards("AsKd").unwrap() });
        assert_eq!(parsed.actions[3], Action::Muck { player: 1 });
        let err = hand(&nt("'p1 sm -'")).unwrap_err();
        assert!(err.to_string().contains("no cards were dealt to p1"), "{err}");
    }

    #[test]
    fn draws_discard_from_the_hand_and_may_see_cards_again() {
        let text = "variant = 'F2L3D'\nantes = [0, 0]\nblinds_or_straddles = [1, 2]\nsmall_bet = 2\nbig_bet = 4\n\
                    starting_stacks = [100, 100]\nactions = ['d dh p1 7h6c4c3d2c', 'd dh p2 ??????????', \
                    'p2 cc', 'p1 cc', 'p2 sd ????', 'p1 sd 7h', 'd dh p2 ????', 'd dh p1 7h']\n";
        let parsed = hand(text).unwrap();
        assert_eq!(parsed.actions[4], Action::StandPatOrDiscard { player: 1, discards: vec![None, None] });
        let err = hand(&text.replace("'p1 sd 7h'", "'p1 sd 8h'")).unwrap_err();
        assert!(err.to_string().contains("p1 discards 8h but holds 7h6c4c3d2c"), "{err}");
    }

    #[test]
    fn commentary_is_kept_and_written_back() {
        let parsed = hand(&nt("'d dh p1 AsKd # nice hand', '', '# burn card 6s exposed', '  p2   f  '")).unwrap();
        assert_eq!(parsed.actions[0], Action::DealHole { player: 0, cards: parse_cards("AsKd").unwrap() });
        assert_eq!(parsed.actions[1], Action::NoOp);
        assert_eq!(parsed.actions[2], Action::NoOp);
        assert_eq!(parsed.actions[3], Action::Fold { player: 1 });
        assert_eq!(parsed.action_comments.get(&0).map(String::as_str), Some("nice hand"));
        assert_eq!(parsed.action_comments.get(&2).map(String::as_str), Some("burn card 6s exposed"));
        assert_eq!(parse_phh(&write_phh(&parsed)).unwrap(), parsed);
    }

    #[test]
    fn amounts_that_overflow_or_are_too_precise_are_refused() {
        let stacks =
            |s: &str| hand(&nt("").replace("starting_stacks = [200, 200]", &format!("starting_stacks = [{s}]")));
        for bad in ["18446744073709551616, 1", "1e30, 1", "1e400, 1"] {
            let err = stacks(bad).unwrap_err();
            assert!(matches!(&err, PhhError::BadAmount { field, .. } if field == "starting_stacks[0]"), "{bad}: {err}");
            assert!(err.to_string().contains("too large"), "{bad}: {err}");
        }
        // The largest stack fits until a decimal elsewhere in the hand scales it past u64.
        assert_eq!(stacks("18446744073709551615, 1").unwrap().starting_stacks[0], Stack::Chips(u64::MAX));
        let err = stacks("18446744073709551615, 0.5").unwrap_err();
        assert!(matches!(&err, PhhError::BadAmount { field, .. } if field == "starting_stacks[0]"), "{err}");
        assert!(err.to_string().contains("in units of 1/10 (the hand's finest amount has 1 decimal place)"), "{err}");
        let err = stacks("0.0000000001, 1").unwrap_err();
        assert!(err.to_string().contains("more than 9 decimal places"), "{err}");
        // Trailing zeros beyond the limit change nothing.
        assert_eq!(stacks("1.0000000000000, 1").unwrap().scale, Scale::new(9).unwrap());
        // Blinds and bets are i64.
        let err = hand(&nt("").replace("min_bet = 2", "min_bet = 9223372036854775807.5")).unwrap_err();
        assert!(matches!(&err, PhhError::BadAmount { field, .. } if field == "min_bet"), "{err}");
        let err = hand(&nt("'p2 cbr 1e30'")).unwrap_err();
        assert!(matches!(&err, PhhError::BadAmount { field, .. } if field == "actions[0]"), "{err}");
    }

    #[test]
    fn unsupported_variants_parse_their_common_fields() {
        let stud = "variant = 'F7S'\nantes = [1, 1]\nbring_in = 1\nsmall_bet = 2\nbig_bet = 4\n\
                    starting_stacks = [50, 50]\nactions = ['d dh p1 ????As', 'd dh p2 ????Kd', 'p2 pb', 'p1 cbr 2']\n";
        let parsed = hand(stud).unwrap();
        assert_eq!(parsed.variant, "F7S");
        assert!(parsed.blinds_or_straddles.is_empty());
        assert_eq!(parsed.actions[2], Action::PostBringIn { player: 1 });
        assert_eq!(parse_phh(&write_phh(&parsed)).unwrap(), parsed);
        let err = hand(&stud.replace("bring_in = 1\n", "")).unwrap_err();
        assert!(err.to_string().contains("`bring_in`, which variant F7S requires"), "{err}");
        let odd = stud.replace("'F7S'", "'XYZ'").replace("'p2 pb'", "'p2 wave'");
        assert!(matches!(hand(&odd), Err(PhhError::BadAction { index: 2, .. })));
    }

    #[test]
    fn phhs_reads_hands_in_numeric_order_and_isolates_bad_hands() {
        let good = nt("'p2 f'");
        let text = format!("[10]\n{good}\n[2]\n{}\n[1]\n{good}", nt("'p2 fold'"));
        let entries = parse_phhs_keyed(&text).unwrap();
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["1", "2", "10"]);
        assert!(entries[0].hand.is_ok() && entries[2].hand.is_ok());
        assert!(matches!(entries[1].hand, Err(PhhError::BadAction { .. })));
        let err = parse_phhs(&good).unwrap_err();
        assert!(matches!(err, PhhError::NotHandTables { .. }), "{err}");
        assert!(err.to_string().contains("but `actions` is an array"), "{err}");
        // parse_file_text picks by extension, and by content otherwise.
        assert_eq!(parse_file_text("a.phhs", &text).unwrap().len(), 3);
        assert_eq!(parse_file_text("a.phh", &good).unwrap().len(), 1);
        assert_eq!(parse_file_text("a.txt", &good).unwrap().len(), 1);
        assert_eq!(parse_file_text("a.txt", &text).unwrap().len(), 3);
        assert_eq!(parse_phhs("").unwrap().len(), 0);
    }

    #[test]
    fn extra_fields_are_kept_verbatim() {
        let text = format!(
            "{}author = 'Juho Kim'\ntime = 00:00:20\nwinnings = [0, 22.80]\nseats = [2, 3]\n_custom = {{ a = 1 }}\n\"odd key\" = 'x'\n",
            nt("'p2 f'")
        );
        let parsed = hand(&text).unwrap();
        assert_eq!(parsed.extra.len(), 6);
        assert_eq!(parsed.extra["winnings"], Value::Array(vec![Value::Integer(0), Value::Float(22.8)]));
        let written = write_phh(&parsed);
        assert!(written.contains("author = \"Juho Kim\"") || written.contains("author = 'Juho Kim'"), "{written}");
        assert!(written.contains("time = 00:00:20"), "{written}");
        assert_eq!(parse_phh(&written).unwrap(), parsed);
        assert_eq!(
            parse_phhs(&write_phhs(&[parsed.clone(), parsed.clone()])).unwrap(),
            vec![Ok(parsed.clone()), Ok(parsed)]
        );
    }
}
