//! The PHH reader on the whole corpus under `tests/data/`: every hand parses, the counts
//! match `tests/data/README.md`, every hand survives a write and a read, and the quirks of
//! real files read as documented.

use std::path::{Path, PathBuf};

use showdown_engine::phh::{
    Action, HandHistory, PhhError, PhhsEntry, Stack, parse_file_text, parse_phh, parse_phhs, parse_phhs_keyed,
    write_phh, write_phhs,
};
use toml::Value;

/// The corpus copied into the repository (see `tests/data/README.md`).
fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data"))
}

fn phh_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            phh_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "phh" || ext == "phhs") {
            out.push(path);
        }
    }
}

/// Every hand of the corpus as (folder, file name, key, result).
fn corpus() -> Vec<(String, String, String, Result<HandHistory, PhhError>)> {
    let mut files = Vec::new();
    phh_files(&data_dir(), &mut files);
    let mut hands = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("corpus file is UTF-8");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let folder = path.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
        let parsed = if name.ends_with(".phhs") {
            parse_phhs_keyed(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
        } else {
            vec![PhhsEntry { key: String::new(), hand: parse_phh(&text) }]
        };
        hands.extend(parsed.into_iter().map(|e| (folder.clone(), name.clone(), e.key, e.hand)));
    }
    hands
}

#[test]
fn every_corpus_hand_parses_and_the_counts_match_the_readme() {
    let hands = corpus();
    let failures: Vec<String> = hands
        .iter()
        .filter_map(|(folder, file, key, hand)| hand.as_ref().err().map(|e| format!("{folder}/{file} [{key}]: {e}")))
        .collect();
    assert!(failures.is_empty(), "{} hands failed:\n{}", failures.len(), failures.join("\n"));

    let count = |folder: &str, variant: Option<&str>| {
        hands
            .iter()
            .filter(|(f, _, _, h)| f == folder && variant.is_none_or(|v| h.as_ref().unwrap().variant == v))
            .count()
    };
    assert_eq!(count("generated", None), 4000);
    assert_eq!(count("generated", Some("NT")), 2000);
    assert_eq!(count("generated", Some("PO")), 1000);
    assert_eq!(count("generated", Some("FT")), 1000);
    assert_eq!(count("wsop", None), 83 + 5);
    assert_eq!(count("handhq", None), 441);
    // The WSOP day has 11 NT, 7 PO and 7 FT hands, and two famous hands are NT and PO.
    assert_eq!(count("wsop", Some("NT")), 12);
    assert_eq!(count("wsop", Some("PO")), 8);
    assert_eq!(count("wsop", Some("FT")), 7);
}

#[test]
fn every_corpus_hand_round_trips_through_write_and_parse() {
    let mut files = Vec::new();
    phh_files(&data_dir(), &mut files);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display();
        let hands: Vec<HandHistory> = parse_file_text(&path.to_string_lossy(), &text)
            .unwrap()
            .into_iter()
            .map(|h| h.unwrap_or_else(|e| panic!("{name}: {e}")))
            .collect();
        for (i, original) in hands.iter().enumerate() {
            let written = write_phh(original);
            let again = parse_phh(&written).unwrap_or_else(|e| panic!("{name} hand {i}: {e}\n{written}"));
            assert_eq!(&again, original, "{name} hand {i} changed on round trip:\n{written}");
        }
        let written = write_phhs(&hands);
        let again: Vec<HandHistory> = parse_phhs(&written).unwrap().into_iter().map(Result::unwrap).collect();
        assert_eq!(again, hands, "{name} changed on a .phhs round trip");
    }
}

#[test]
fn real_data_quirks_read_as_documented() {
    let hands = corpus();
    let find = |file: &str, key: &str| {
        hands.iter().find(|(_, f, k, _)| f == file && k == key).unwrap().3.as_ref().unwrap().clone()
    };
    // iPoker: unknown stacks, 0.50 blinds, unknown hole cards shown as ????.
    let ipn = find("IPN-100NLH-1-handhq_1.phhs", "1");
    assert_eq!(ipn.scale.decimals(), 2);
    assert_eq!(ipn.blinds_or_straddles, vec![50, 100, 0, 0, 0, 0]);
    assert!(ipn.starting_stacks.iter().all(|s| *s == Stack::Unbounded));
    assert_eq!(ipn.actions.last(), Some(&Action::Show { player: 1, cards: vec![None, None] }));
    assert_eq!(ipn.extra.get("currency").and_then(Value::as_str), Some("USD"));
    // Ongame: a negative blind entry (a post) keeps its sign.
    let ong = find("ONG-400NLH-4-handhq_1.phhs", "1");
    assert_eq!(ong.blinds_or_straddles, vec![200, 400, 0, -200, 0]);
    assert_eq!(ong.starting_stacks[0], Stack::Chips(43405));
    assert_eq!(ong.finishing_stacks.as_ref().unwrap()[1], Stack::Chips(106610));
    // Decimal stacks in a famous hand.
    let blom = find("antonius-blom-2009.phh", "");
    assert_eq!(blom.starting_stacks, vec![Stack::Chips(125945025), Stack::Chips(67847350)]);
    assert_eq!(blom.min_bet, Some(100000));
}
