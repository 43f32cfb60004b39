//! Idempotent appends by command id: the pure decisions behind
//! [`crate::EventStoreDbStore`]'s `append`, tested without a server.
//!
//! EventStoreDB only deduplicates a write whose event ids match the events right after
//! its expected revision (and, for `Any`, only on a best-effort cache). The trait wants
//! more: a command already in the stream is answered with its first result *whatever the
//! expected version*, and a [`showdown_store::StoreError::CommandConflict`] if it comes
//! with other events. So the store keeps, per stream, a [`StreamIndex`]: which versions each
//! command appended, read from the stream itself (the command id is in every event's
//! metadata). The index is derived data, never the source of truth:
//!
//! - it is built by reading the stream (once per process and stream, or after eviction)
//!   and caught up by reading what others appended since;
//! - every write is sent with the exact revision the index is at, so a write succeeds only
//!   if the index was complete: "the command is not in the stream" is checked and acted on
//!   atomically by the server's optimistic concurrency;
//! - a write refused for a wrong revision catches the index up and decides again
//!   ([`next_step`]).
//!
//! So the guarantee survives restarts and is the server's: a command appended once is
//! never appended again by this store, whatever expected version a retry carries.

use std::collections::HashMap;

use showdown_store::{Appended, CommandId, ExpectedVersion, NewEvent, StoredEvent, StreamVersion};

/// The versions one command appended: `count` events from `first`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct CommandSpan {
    /// The version of its first event.
    pub first: StreamVersion,
    /// How many events it appended.
    pub count: u64,
}

impl CommandSpan {
    /// The version after its last event.
    #[must_use]
    pub const fn end(self) -> u64 {
        self.first.0.saturating_add(self.count)
    }
}

/// What one stream holds, as far as appends need: its last version and each command's
/// span, complete up to `head`.
#[derive(Clone, Debug, Default)]
pub struct StreamIndex {
    /// Whether absence can be trusted: the stream has been read, and no write of this
    /// process has had an unknown outcome since (a write that timed out may still have
    /// appended). Until then only [`Step::CatchUp`] or [`Step::Compare`] are decided.
    pub trusted: bool,
    /// The version of the last event seen (`None`: none).
    pub head: Option<StreamVersion>,
    commands: HashMap<CommandId, CommandSpan>,
}

impl StreamIndex {
    /// The version to read from to catch up.
    #[must_use]
    pub fn next_version(&self) -> u64 {
        self.head.map_or(0, |v| v.0.saturating_add(1))
    }

    /// Where `command` appended, if it did.
    #[must_use]
    pub fn span(&self, command: CommandId) -> Option<CommandSpan> {
        self.commands.get(&command).copied()
    }

    /// How many commands are indexed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether no command is indexed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Records one event read from the stream, in version order (`command`: `None` for a
    /// record the server wrote). A command's span is its first run of consecutive events;
    /// a later, separate run of the same id (which this store never writes) is ignored, so
    /// the first append stays the answer.
    pub fn observe(&mut self, version: StreamVersion, command: Option<CommandId>) {
        if self.head.is_some_and(|h| version <= h) {
            return;
        }
        self.head = Some(version);
        let Some(command) = command else { return };
        let span = self.commands.entry(command).or_insert(CommandSpan { first: version, count: 0 });
        if span.end() == version.0 {
            span.count += 1;
        }
    }

    /// Records this process's own successful append.
    pub fn record_append(&mut self, command: CommandId, span: CommandSpan) {
        if span.count == 0 {
            return;
        }
        self.commands.entry(command).or_insert(span);
        let last = StreamVersion(span.end() - 1);
        if self.head.is_none_or(|h| h < last) {
            self.head = Some(last);
        }
    }
}

/// What an append does next.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Step {
    /// The command is in the stream: read its events and [`compare`] them.
    Compare(CommandSpan),
    /// Read the stream from the index's head on, then decide again.
    CatchUp,
    /// Write at this exact revision (`None`: the stream must not exist).
    Write {
        /// The version the stream must be at.
        at: Option<StreamVersion>,
    },
    /// Refuse: the stream is at `actual`, not where the writer expected.
    Reject {
        /// The stream's version.
        actual: Option<StreamVersion>,
    },
}

/// Decides an append's next step. `synced`: the index was caught up with the server during
/// this append, so what it lacks the stream lacks.
///
/// The command check comes first (a retry carries its first try's expectation, which that
/// try made stale); a write is only ever sent at the index's own head, so that the
/// server refuses it unless the index is complete; a mismatched expectation is only
/// reported once the index is known to be current.
#[must_use]
pub fn next_step(index: &StreamIndex, command: CommandId, expected: ExpectedVersion, synced: bool) -> Step {
    if let Some(span) = index.span(command) {
        return Step::Compare(span);
    }
    if !index.trusted {
        return Step::CatchUp;
    }
    if expected.matches(index.head) {
        return Step::Write { at: index.head };
    }
    if !synced {
        return Step::CatchUp;
    }
    Step::Reject { actual: index.head }
}

/// What a command already in the stream means for an append of `events`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// The same events: answer with the first append's result.
    Duplicate(Appended),
    /// Other events under the same command id.
    Conflict,
}

/// Compares the events `command` stored (`stored`, its span read back) with a new append's.
#[must_use]
pub fn compare(stored: &[StoredEvent], command: CommandId, events: &[NewEvent]) -> Outcome {
    let same = stored.len() == events.len()
        && stored.iter().zip(events).all(|(s, e)| s.command == command && s.to_new_event() == *e);
    match (same, appended_of(stored)) {
        (true, Some(first)) => Outcome::Duplicate(Appended { deduplicated: true, ..first }),
        _ => Outcome::Conflict,
    }
}

/// The result of an append that stored `events` (in version order), as first reported.
#[must_use]
pub fn appended_of(events: &[StoredEvent]) -> Option<Appended> {
    let (first, last) = (events.first()?, events.last()?);
    Some(Appended {
        first_version: first.version,
        last_version: last.version,
        first_position: first.position,
        last_position: last.position,
        deduplicated: false,
    })
}

/// Whether the events read back after a write are the ones it sent (same ids, same
/// command, one per event).
#[must_use]
pub fn is_own_write(stored: &[StoredEvent], command: CommandId, events: &[NewEvent]) -> bool {
    stored.len() == events.len()
        && stored.iter().zip(events).all(|(s, e)| s.command == command && s.event_id == e.event_id)
}

#[cfg(test)]
mod tests {
    use showdown_store::{EventId, GlobalPosition, Metadata, StreamId};

    use super::*;

    const C: CommandId = CommandId(7);

    fn v(n: u64) -> StreamVersion {
        StreamVersion(n)
    }

    fn trusted(head: Option<u64>, commands: &[(CommandId, u64, u64)]) -> StreamIndex {
        let mut index = StreamIndex { trusted: true, ..StreamIndex::default() };
        for &(c, first, count) in commands {
            index.record_append(c, CommandSpan { first: v(first), count });
        }
        index.head = head.map(v);
        index
    }

    #[test]
    fn a_known_command_is_compared_whatever_the_expectation() {
        let index = trusted(Some(9), &[(C, 2, 3)]);
        let span = CommandSpan { first: v(2), count: 3 };
        for expected in [
            ExpectedVersion::NoStream,
            ExpectedVersion::Any,
            ExpectedVersion::Exact(v(9)),
            ExpectedVersion::Exact(v(4)),
        ] {
            for synced in [false, true] {
                assert_eq!(next_step(&index, C, expected, synced), Step::Compare(span), "{expected:?}");
            }
        }
        // Even before the stream was read: this process appended it.
        let unread = StreamIndex { trusted: false, ..index };
        assert_eq!(next_step(&unread, C, ExpectedVersion::Any, false), Step::Compare(span));
    }

    #[test]
    fn nothing_is_decided_from_an_unread_stream() {
        let index = StreamIndex::default();
        for expected in [ExpectedVersion::NoStream, ExpectedVersion::Any, ExpectedVersion::Exact(v(0))] {
            assert_eq!(next_step(&index, C, expected, false), Step::CatchUp);
        }
        // Nor after a write with an unknown outcome: it may have appended the command.
        let after_timeout = StreamIndex { trusted: false, ..trusted(Some(4), &[(CommandId(1), 0, 5)]) };
        assert_eq!(next_step(&after_timeout, C, ExpectedVersion::Exact(v(4)), false), Step::CatchUp);
        assert_eq!(after_timeout.next_version(), 5, "catching up reads only what follows the head");
    }

    #[test]
    fn writes_go_at_the_index_head_whatever_the_expectation() {
        let empty = trusted(None, &[]);
        assert_eq!(next_step(&empty, C, ExpectedVersion::NoStream, false), Step::Write { at: None });
        assert_eq!(next_step(&empty, C, ExpectedVersion::Any, false), Step::Write { at: None });
        let at4 = trusted(Some(4), &[(CommandId(1), 0, 5)]);
        assert_eq!(next_step(&at4, C, ExpectedVersion::Exact(v(4)), false), Step::Write { at: Some(v(4)) });
        assert_eq!(
            next_step(&at4, C, ExpectedVersion::Any, true),
            Step::Write { at: Some(v(4)) },
            "Any never reaches the server as Any"
        );
    }

    #[test]
    fn a_mismatch_catches_up_before_it_is_reported() {
        let at4 = trusted(Some(4), &[]);
        for (expected, actual) in [
            (ExpectedVersion::NoStream, Some(v(4))),
            (ExpectedVersion::Exact(v(2)), Some(v(4))),
            (ExpectedVersion::Exact(v(9)), Some(v(4))),
        ] {
            assert_eq!(next_step(&at4, C, expected, false), Step::CatchUp, "the index may be stale");
            assert_eq!(next_step(&at4, C, expected, true), Step::Reject { actual }, "now it is current");
        }
        let empty = trusted(None, &[]);
        assert_eq!(next_step(&empty, C, ExpectedVersion::Exact(v(0)), true), Step::Reject { actual: None });
    }

    #[test]
    fn observing_builds_spans_from_first_runs() {
        let mut index = StreamIndex::default();
        let (a, b) = (CommandId(1), CommandId(2));
        for (n, c) in [Some(a), Some(a), None, Some(b), Some(b), Some(b), Some(a)].into_iter().enumerate() {
            index.observe(v(n as u64), c);
        }
        assert_eq!(index.head, Some(v(6)));
        assert_eq!(index.span(a), Some(CommandSpan { first: v(0), count: 2 }), "a later run of the same id is ignored");
        assert_eq!(index.span(b), Some(CommandSpan { first: v(3), count: 3 }));
        assert_eq!(index.len(), 2);
        assert_eq!(index.next_version(), 7);
        // Replayed records (a read that overlaps) change nothing.
        index.observe(v(4), Some(CommandId(3)));
        assert_eq!((index.head, index.span(CommandId(3))), (Some(v(6)), None));
    }

    #[test]
    fn own_appends_move_the_head() {
        let mut index = trusted(None, &[]);
        index.record_append(C, CommandSpan { first: v(0), count: 3 });
        assert_eq!(index.head, Some(v(2)));
        assert_eq!(
            next_step(&index, CommandId(8), ExpectedVersion::Exact(v(2)), false),
            Step::Write { at: Some(v(2)) }
        );
        index.record_append(CommandId(9), CommandSpan { first: v(3), count: 0 });
        assert_eq!((index.head, index.span(CommandId(9))), (Some(v(2)), None), "an empty span records nothing");
    }

    fn stored(command: CommandId, first: u64, events: &[NewEvent]) -> Vec<StoredEvent> {
        events
            .iter()
            .enumerate()
            .map(|(i, e)| StoredEvent {
                stream: StreamId::new("s").expect("valid"),
                version: v(first + i as u64),
                position: GlobalPosition(1000 + 10 * (first + i as u64)),
                event_id: e.event_id,
                command,
                schema: e.schema,
                event_type: e.event_type.clone(),
                payload: e.payload.clone(),
                metadata: e.metadata.clone(),
            })
            .collect()
    }

    fn events(tag: &str, n: u32) -> Vec<NewEvent> {
        let s = StreamId::new("s").expect("valid");
        (0..n)
            .map(|i| NewEvent {
                event_id: EventId::derive(&s, C, i),
                schema: 1,
                event_type: "Test".to_owned(),
                payload: format!("{tag}/{i}").into_bytes(),
                metadata: Metadata::new(),
            })
            .collect()
    }

    #[test]
    fn the_same_events_are_a_duplicate_with_the_first_result() {
        let sent = events("a", 3);
        let first = stored(C, 4, &sent);
        assert_eq!(
            compare(&first, C, &sent),
            Outcome::Duplicate(Appended {
                first_version: v(4),
                last_version: v(6),
                first_position: GlobalPosition(1040),
                last_position: GlobalPosition(1060),
                deduplicated: true,
            })
        );
        assert!(is_own_write(&first, C, &sent));
    }

    #[test]
    fn other_events_under_the_same_command_conflict() {
        let sent = events("a", 3);
        let first = stored(C, 0, &sent);
        let mut other_metadata = sent.clone();
        other_metadata[2].metadata.insert("k".to_owned(), "v".to_owned());
        let mut other_schema = sent.clone();
        other_schema[0].schema = 2;
        let mut other_type = sent.clone();
        other_type[1].event_type = "Other".to_owned();
        let mut other_id = sent.clone();
        other_id[1].event_id = EventId(1);
        for other in [
            events("b", 3),
            sent[..2].to_vec(),
            events("a", 4),
            other_metadata,
            other_schema,
            other_type,
            other_id.clone(),
        ] {
            assert_eq!(compare(&first, C, &other), Outcome::Conflict, "{other:?}");
        }
        assert!(!is_own_write(&first, C, &other_id));
        // Stored under another command (the index pointed wrong): never a duplicate.
        assert_eq!(compare(&stored(CommandId(8), 0, &sent), C, &sent), Outcome::Conflict);
        assert!(!is_own_write(&stored(CommandId(8), 0, &sent), C, &sent));
        assert_eq!(compare(&[], C, &[]), Outcome::Conflict, "nothing stored is nothing to answer with");
        assert_eq!(appended_of(&[]), None);
    }
}
