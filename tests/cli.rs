//! The store commands end to end, through the real binary: bad input gets a clear error
//! and a non-zero exit; `verify` names the stream and version of a corrupted row.

#![cfg(feature = "sqlite")]

use std::process::{Command, Output};

fn showdown(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_showdown")).args(args).output().expect("showdown runs")
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn bad_store_urls_and_counts_are_refused_with_what_was_expected() {
    let out = showdown(&["simulate", "--store", "mysql://db/x", "--quiet"]);
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(err.contains("unknown store URL `mysql://db/x`") && err.contains("sqlite:PATH"), "{err}");

    let out = showdown(&["simulate", "--store", "memory:", "--tables", "0"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("--tables must be at least 1"));

    let out = showdown(&["stress", "--store", "memory:", "--table", "has space"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("invalid table name `has space`"), "{}", text(&out).1);

    // A database that is down: the error names the URL, never the password.
    let out = showdown(&["verify", "--store", "postgres://u:hunter2@127.0.0.1:1/db"]);
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(err.contains("postgres://u:***@127.0.0.1:1/db") && !err.contains("hunter2"), "{err}");
}

#[test]
fn verify_names_the_stream_and_version_of_a_corrupted_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = format!("sqlite:{}", path.display());
    let out = showdown(&["simulate", "--store", &store, "--tables", "2", "--hands", "5", "--quiet"]);
    assert!(out.status.success(), "{}", text(&out).1);
    let out = showdown(&["verify", "--store", &store]);
    assert!(out.status.success(), "{}", text(&out).0);

    // Another process scribbles over one event's payload.
    let status = Command::new("sqlite3")
        .arg(&path)
        .arg("UPDATE events SET payload = x'ff00ff' WHERE stream_id = 'table-1' AND version = 7")
        .status()
        .expect("sqlite3 runs");
    assert!(status.success());
    let out = showdown(&["verify", "--store", &store]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("problem: table-1 at version 7: the event does not decode"), "{stdout}");
    assert!(stdout.trim_end().ends_with("1 problem"), "{stdout}");
}

#[test]
fn export_writes_the_finished_hands_and_refuses_what_is_not_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = format!("sqlite:{}", path.display());
    let out = showdown(&["simulate", "--store", &store, "--tables", "2", "--hands", "30", "--quiet"]);
    assert!(out.status.success(), "{}", text(&out).1);

    let file = dir.path().join("table-1.phhs");
    let out = showdown(&["export", "--store", &store, "--table", "table-1", "--out", file.to_str().unwrap()]);
    let (stdout, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(stdout.is_empty() && err.contains("table-1: 30 finished hands exported"), "{err}");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.starts_with("[1]\nvariant = \"NT\"\n") && written.contains("\n[30]\n"), "{written}");
    let out = showdown(&["export", "--store", &store, "--table", "table-1"]);
    assert_eq!(text(&out).0, written, "stdout and --out write the same");
    let out = showdown(&["replay", "--json", file.to_str().unwrap()]);
    let (report, _) = text(&out);
    assert!(out.status.success(), "{report}");
    assert_eq!(report.lines().filter(|l| l.contains("\"finishing_stacks\"")).count(), 30, "{report}");

    // A stream that is not a table: its first event is a SatDown.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use showdown::engine::table::{CommandId, PlayerId, Recorded, SCHEMA_VERSION, SeatIdx, TableEvent};
        use showdown_store::{ExpectedVersion, StreamId, codec::TableCodec};
        let handle = showdown::stores::open(&store).await.unwrap();
        let stream = StreamId::new("not-a-table").unwrap();
        let event = TableEvent::SatDown { seat: SeatIdx(0), player: PlayerId(1), wait_for_big_blind: false };
        let recorded = Recorded { schema: SCHEMA_VERSION, command: CommandId(9), now_ms: 1, event };
        let events = TableCodec::default().encode_all(&stream, &[recorded]).unwrap();
        handle.append(&stream, ExpectedVersion::NoStream, CommandId(9), events).await.unwrap();
    });
    for (args, message) in [
        (
            &["--table", "not-a-table"][..],
            "stream `not-a-table` is not a table: its first event is SatDown, not Opened",
        ),
        (&["--table", "table-9"][..], "no table `table-9` in the store (no stream of that name)"),
        (&["--table", "has space"][..], "invalid table name `has space`"),
    ] {
        let out = showdown(&[&["export", "--store", &store][..], args].concat());
        let (stdout, err) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(stdout.is_empty() && err.lines().count() == 1 && err.contains(message), "{args:?}: {err}");
    }
    let out = showdown(&["export", "--store", "mysql://db/x", "--table", "table-0"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.lines().count() == 1 && err.contains("unknown store URL `mysql://db/x`"), "{err}");
}
