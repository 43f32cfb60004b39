//! Every hand of the PHH corpus under `tests/data/` replays to PokerKit's outcome: the Rust
//! port of `../shared/tools/check_replay.py`, through the same code as `showdown replay`
//! (`showdown::replay_report::replay_text`).
//!
//! A hand's expected stacks are the line for (file name, index) in an `expected.jsonl`
//! beside the file (PokerKit's outcome without rake), else the hand's own
//! `finishing_stacks`. Hands of variants other than NT, PO and FT are counted, not checked.
//! A hand marked `"undetermined": true` (its showdown shows no known card) only has to
//! replay without an error. Stacks compare as decimals: `2059.90` equals `2059.9`.
//!
//! Run it in release (`cargo test --test replay_corpus --release`); it prints the counts.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use showdown::engine::phh::{self, HandHistory, Stack};
use showdown::replay_report::{HandLine, replay_text};

const CHECKED_VARIANTS: [&str; 3] = ["NT", "PO", "FT"];

/// A stack compared as a decimal: whole units scaled by 10^9 (PHH allows at most nine
/// decimal places), or an unknown (`inf`) stack.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Amount {
    Nano(i128),
    Inf,
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Amount::Inf => f.write_str("inf"),
            Amount::Nano(v) => {
                let whole = v / 1_000_000_000;
                let fraction = (v % 1_000_000_000).abs();
                if fraction == 0 {
                    write!(f, "{whole}")
                } else {
                    let digits = format!("{fraction:09}");
                    write!(f, "{whole}.{}", digits.trim_end_matches('0'))
                }
            }
        }
    }
}

/// Reads `"2059.90"`, `2059.9`, `"593"`, `0.0`, `"inf"`, `"Infinity"`.
fn amount(text: &str) -> Result<Amount, String> {
    let text = text.trim().trim_matches('"');
    // PokerKit writes an unknown stack as Python's `Decimal("Infinity")`; the engine as "inf".
    if ["inf", "+inf", "infinity", "+infinity"].iter().any(|i| text.eq_ignore_ascii_case(i)) {
        return Ok(Amount::Inf);
    }
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(fraction.is_empty() || digits(fraction)) {
        return Err(format!("{text:?} is not a decimal amount"));
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > 9 {
        return Err(format!("{text:?} has more than nine decimal places"));
    }
    let whole: i128 = whole.parse().map_err(|e| format!("{text:?}: {e}"))?;
    let nano: i128 =
        if fraction.is_empty() { 0 } else { format!("{fraction:0<9}").parse().map_err(|e| format!("{e}"))? };
    let value = whole * 1_000_000_000 + nano;
    Ok(Amount::Nano(if negative { -value } else { value }))
}

fn amounts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<Vec<Amount>, String> {
    texts.into_iter().map(amount).collect()
}

/// One line of an `expected.jsonl`.
struct Expected {
    stacks: Vec<Amount>,
    undetermined: bool,
}

/// `expected.jsonl` of a folder, by (file name, index).
fn expected_lines(folder: &Path) -> BTreeMap<(String, usize), Expected> {
    let mut out = BTreeMap::new();
    let path = folder.join("expected.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else { return out };
    for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let where_ = format!("{}:{}", path.display(), number + 1);
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{where_}: {e}"));
        let file = value["file"].as_str().unwrap_or_else(|| panic!("{where_}: no file"));
        let file = Path::new(file).file_name().and_then(|f| f.to_str()).unwrap_or(file).to_owned();
        let index = value["index"].as_u64().unwrap_or_else(|| panic!("{where_}: no index")) as usize;
        let stacks = value["finishing_stacks"].as_array().unwrap_or_else(|| panic!("{where_}: no finishing_stacks"));
        let texts: Vec<String> = stacks
            .iter()
            .map(|s| match s {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        let stacks = amounts(texts.iter().map(String::as_str)).unwrap_or_else(|e| panic!("{where_}: {e}"));
        let undetermined = value["undetermined"].as_bool().unwrap_or(false);
        out.insert((file, index), Expected { stacks, undetermined });
    }
    out
}

/// Every `.phh` and `.phhs` file under `root`, in path order.
fn hand_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "phh" || e == "phhs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The stacks a hand records itself, as decimals.
fn own_finishing_stacks(hand: &HandHistory) -> Option<Vec<Amount>> {
    let stacks = hand.finishing_stacks.as_ref()?;
    let texts: Vec<String> = stacks.iter().map(|&s: &Stack| phh::format_amount(hand.scale, s)).collect();
    Some(amounts(texts.iter().map(String::as_str)).expect("the engine formats decimals"))
}

#[derive(Default, Debug)]
struct Counts {
    checked: usize,
    matched: usize,
    mismatched: usize,
    rejected: usize,
    undetermined: usize,
    other_variant: usize,
    no_expectation: usize,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.checked += other.checked;
        self.matched += other.matched;
        self.mismatched += other.mismatched;
        self.rejected += other.rejected;
        self.undetermined += other.undetermined;
        self.other_variant += other.other_variant;
        self.no_expectation += other.no_expectation;
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "checked={} match={} (of which undetermined={}) mismatch={} rejected={} other_variant={} no_expectation={}",
            self.checked,
            self.matched,
            self.undetermined,
            self.mismatched,
            self.rejected,
            self.other_variant,
            self.no_expectation
        )
    }
}

/// Checks one file; returns its counts and a description of each failure.
fn check_file(root: &Path, path: &Path) -> (Counts, Vec<String>) {
    let mut counts = Counts::default();
    let mut problems = Vec::new();
    let name = path.file_name().and_then(|n| n.to_str()).expect("a UTF-8 file name").to_owned();
    let shown = path.strip_prefix(root).unwrap_or(path).display().to_string();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{shown}: {e}"));
    let expected = expected_lines(path.parent().expect("a folder"));
    let hands = match phh::parse_file_text(&name, &text) {
        Ok(hands) => hands,
        Err(e) => {
            counts.checked += 1;
            counts.rejected += 1;
            problems.push(format!("{shown}: not PHH: {e}"));
            return (counts, problems);
        }
    };
    let lines: Vec<HandLine> = replay_text(&shown, &text);
    assert_eq!(lines.len(), hands.len(), "{shown}: one report line per hand");
    for (index, (hand, line)) in hands.iter().zip(&lines).enumerate() {
        assert_eq!(line.index, index);
        let hand = match hand {
            Ok(hand) => hand,
            Err(e) => {
                // Without the hand we cannot tell its variant: count it as a failure.
                counts.checked += 1;
                counts.rejected += 1;
                problems.push(format!("{shown} [{index}]: not readable: {e}"));
                continue;
            }
        };
        if !CHECKED_VARIANTS.contains(&hand.variant.as_str()) {
            counts.other_variant += 1;
            continue;
        }
        let (want, undetermined) = match expected.get(&(name.clone(), index)) {
            Some(e) => (Some(e.stacks.clone()), e.undetermined),
            None => (own_finishing_stacks(hand), false),
        };
        let Some(want) = want else {
            counts.no_expectation += 1;
            continue;
        };
        counts.checked += 1;
        match &line.outcome {
            Err(why) => {
                counts.rejected += 1;
                problems.push(format!("{shown} [{index}] {}: rejected: {why}", hand.variant));
            }
            Ok(_) if undetermined => {
                counts.matched += 1;
                counts.undetermined += 1;
            }
            Ok(stacks) => {
                let got = amounts(stacks.iter().map(String::as_str));
                if got.as_ref() == Ok(&want) {
                    counts.matched += 1;
                } else {
                    counts.mismatched += 1;
                    problems
                        .push(format!("{shown} [{index}] {}: stacks {stacks:?} != expected {want:?}", hand.variant));
                }
            }
        }
    }
    (counts, problems)
}

#[test]
fn decimal_amounts_compare_by_value() {
    assert_eq!(amount("2059.90"), amount("2059.9"));
    assert_eq!(amount("593"), amount("593.000"));
    assert_eq!(amount("0.0"), Ok(Amount::Nano(0)));
    assert_eq!(amount("\"inf\""), Ok(Amount::Inf));
    assert_eq!(amount("Infinity"), Ok(Amount::Inf));
    assert_ne!(amount("2059.09"), amount("2059.9"));
    assert_ne!(amount("1.5"), amount("15"));
    assert!(amount("12a").is_err());
}

#[test]
fn every_corpus_hand_replays_to_pokerkits_stacks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let files = hand_files(&root);
    assert!(!files.is_empty(), "no PHH files under {}", root.display());
    let started = Instant::now();
    let mut by_folder: BTreeMap<String, Counts> = BTreeMap::new();
    let mut problems = Vec::new();
    for path in &files {
        let (counts, mut found) = check_file(&root, path);
        let folder =
            path.parent().and_then(|p| p.strip_prefix(&root).ok()).map_or(String::new(), |p| p.display().to_string());
        by_folder.entry(folder).or_default().add(&counts);
        problems.append(&mut found);
    }
    let elapsed = started.elapsed();
    let mut total = Counts::default();
    for (folder, counts) in &by_folder {
        println!("{folder:>10}: {counts}");
        total.add(counts);
    }
    let hands = total.checked + total.other_variant + total.no_expectation;
    println!("     total: {total}");
    println!(
        "{}/{} hands match ({} files, {hands} hands in {:.2?}, {:.0} hands/s)",
        total.matched,
        total.checked,
        files.len(),
        elapsed,
        hands as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    for problem in problems.iter().take(20) {
        println!("{problem}");
    }
    assert!(problems.is_empty(), "{} hand(s) do not match PokerKit; first: {}", problems.len(), problems[0]);
    assert_eq!(total.matched, total.checked);
    // The corpus is not allowed to shrink unnoticed: 4,000 generated, 25 WSOP NT/PO/FT + 5
    // famous, 441 HandHQ hands, and the extra hands (1,230 oracle and handcrafted, 900 + 1,000
    // edge tables, 600 ten-handed edge tables).
    assert!(total.checked >= 4_468 + 1_230 + 900 + 1_000 + 600, "only {} hands checked", total.checked);
}
