//! `showdown export`: a stored table's finished hands as PHH hand histories.
//!
//! A table stream is read in version order; each hand, from the table's `HandStarted` to
//! the hand's `HandEnded`, becomes one [`HandHistory`] (the engine's
//! [`showdown_engine::export::HandRecorder`] writes the setup and the actions) with where
//! it was played added: the hand number, the table (the stream's name), the seats dealt in
//! (numbered from 1, as PHH files do), the table's seat count and the players. A hand still
//! running when the stream ends is left out and reported by number.
//!
//! Every history is replayed by the engine as it is made, and a hand that does not replay to
//! the stacks its `HandEnded` recorded is reported in [`TableHands::inexact`] rather than
//! dropped: PHH has no field for a table rule the replay would need (the only one today is
//! the odd-chip policy [`OddChipPolicy::RoundRobinFromFirst`]; PHH and PokerKit give every
//! odd chip to the first winner).

use showdown_engine::export::HandRecorder;
use showdown_engine::hand::Event;
use showdown_engine::phh::{HandHistory, Stack};
use showdown_engine::replay::replay;
use showdown_engine::rules::OddChipPolicy;
use showdown_engine::table::{HandNo, MAX_SEATS, PlayerId, Recorded, SeatMap, TableConfig, TableEvent};
use showdown_store::codec::TableCodec;
use showdown_store::{CodecError, EventStore, StoreError, StreamId, StreamVersion};
use toml::Value;

/// Events read from the store at once.
const READ_PAGE: usize = 1024;

/// A table's hands, as PHH.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableHands {
    /// Every finished hand, in order, with `finishing_stacks`, `hand`, `table`, `seats`,
    /// `seat_count` and `players`.
    pub hands: Vec<HandHistory>,
    /// The hand still running at the end of the stream, left out of `hands`.
    pub unfinished: Option<HandNo>,
    /// Hands of `hands` whose history does not replay to the stacks the table recorded,
    /// with why.
    pub inexact: Vec<(HandNo, String)>,
}

/// Why a stream cannot be exported.
///
/// *Handling*: [`ExportError::NoStream`] and [`ExportError::NotATable`] mean the wrong
/// stream was named; [`ExportError::Store`] may pass on retry if the store was unavailable;
/// [`ExportError::Decode`] and [`ExportError::Corrupt`] mean the stream is corrupt (run
/// `showdown verify`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The store has no stream of that name.
    #[error("no table `{stream}` in the store (no stream of that name)")]
    NoStream {
        /// The stream.
        stream: String,
    },
    /// The stream's first event is not `Opened`.
    #[error("stream `{stream}` is not a table: its first event is {found}, not Opened")]
    NotATable {
        /// The stream.
        stream: String,
        /// The first event's name.
        found: &'static str,
    },
    /// The store could not be read.
    #[error("cannot read stream `{stream}`")]
    Store {
        /// The stream.
        stream: String,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// An event does not decode.
    #[error("stream `{stream}` at version {version}: the event does not decode")]
    Decode {
        /// The stream.
        stream: String,
        /// The event's version.
        version: u64,
        /// Why.
        #[source]
        source: CodecError,
    },
    /// The events are not in the order a table writes them.
    #[error("stream `{stream}` at version {version}: {why}")]
    Corrupt {
        /// The stream.
        stream: String,
        /// The event's version.
        version: u64,
        /// What is out of order.
        why: String,
    },
}

/// The hands of a table stream's events (the stream named `table`), in version order.
///
/// # Errors
/// [`ExportError::NoStream`] for no events, [`ExportError::NotATable`] when the first is not
/// `Opened`, [`ExportError::Corrupt`] for hand events outside a hand.
pub fn hands_from_events<'a>(
    table: &str,
    events: impl IntoIterator<Item = &'a Recorded>,
) -> Result<TableHands, ExportError> {
    let mut exporter = Exporter::new(table);
    for recorded in events {
        exporter.push(recorded)?;
    }
    exporter.finish()
}

/// The hands of the table stream `stream` in `store`, read page by page.
///
/// # Errors
/// As [`hands_from_events`], plus [`ExportError::Store`] when the store cannot be read and
/// [`ExportError::Decode`] for an event that does not decode.
pub async fn hands_from_store(store: &dyn EventStore, stream: &StreamId) -> Result<TableHands, ExportError> {
    let codec = TableCodec::default();
    let mut exporter = Exporter::new(stream.as_str());
    let mut from = StreamVersion::FIRST;
    loop {
        let page = store
            .read_stream(stream, from, READ_PAGE)
            .await
            .map_err(|source| ExportError::Store { stream: stream.to_string(), source })?;
        for stored in &page {
            let recorded = codec.decode(stored).map_err(|source| ExportError::Decode {
                stream: stream.to_string(),
                version: stored.version.0,
                source,
            })?;
            exporter.push(&recorded)?;
            from = stored.version.next();
        }
        if page.len() < READ_PAGE {
            return exporter.finish();
        }
    }
}

/// The hand being read: its number, seats, players and history so far.
struct Running {
    hand: HandNo,
    seats: SeatMap,
    players: Vec<Option<PlayerId>>,
    recorder: Option<HandRecorder>,
}

/// Folds a table's events one at a time into its hands.
struct Exporter {
    table: String,
    version: u64,
    config: Option<TableConfig>,
    /// Who sits in each seat.
    players: [Option<PlayerId>; MAX_SEATS],
    running: Option<Running>,
    out: TableHands,
}

impl Exporter {
    fn new(table: &str) -> Exporter {
        Exporter {
            table: table.to_owned(),
            version: 0,
            config: None,
            players: [None; MAX_SEATS],
            running: None,
            out: TableHands::default(),
        }
    }

    fn corrupt(&self, why: impl Into<String>) -> ExportError {
        ExportError::Corrupt { stream: self.table.clone(), version: self.version, why: why.into() }
    }

    fn push(&mut self, recorded: &Recorded) -> Result<(), ExportError> {
        let event = &recorded.event;
        let Some(config) = self.config else {
            let TableEvent::Opened { config } = event else {
                return Err(ExportError::NotATable {
                    stream: self.table.clone(),
                    found: showdown_store::codec::event_type(event),
                });
            };
            self.config = Some(*config);
            self.version += 1;
            return Ok(());
        };
        match event {
            TableEvent::SatDown { seat, player, .. } => {
                if let Some(slot) = self.players.get_mut(seat.idx()) {
                    *slot = Some(*player);
                }
            }
            TableEvent::CashedOut { seat, .. } => {
                if let Some(slot) = self.players.get_mut(seat.idx()) {
                    *slot = None;
                }
            }
            TableEvent::HandStarted { hand, seats, .. } => {
                if let Some(running) = &self.running {
                    return Err(self.corrupt(format!("hand {} starts before hand {} ended", hand.0, running.hand.0)));
                }
                let players = seats.as_slice().iter().map(|s| self.players.get(s.idx()).copied().flatten()).collect();
                self.running = Some(Running { hand: *hand, seats: *seats, players, recorder: None });
            }
            TableEvent::Hand { event: hand_event, .. } => self.push_hand_event(&config, hand_event)?,
            _ => {}
        }
        self.version += 1;
        Ok(())
    }

    fn push_hand_event(&mut self, config: &TableConfig, event: &Event) -> Result<(), ExportError> {
        let Some(running) = &mut self.running else {
            return Err(self.corrupt("a hand event outside any hand"));
        };
        match (&mut running.recorder, event) {
            (None, Event::HandStarted(setup)) => {
                running.recorder = Some(HandRecorder::new(setup));
                return Ok(());
            }
            (Some(recorder), _) if !matches!(event, Event::HandStarted(_)) => recorder.record(event),
            _ => return Err(self.corrupt("the hand's setup is not its first event")),
        }
        if !running.recorder.as_ref().is_some_and(HandRecorder::is_ended) {
            return Ok(());
        }
        let running = self.running.take().expect("a hand is running");
        let mut history = running.recorder.and_then(HandRecorder::finish).expect("the hand ended");
        let extra = &mut history.extra;
        extra.insert("hand".into(), Value::Integer(running.hand.0.try_into().unwrap_or(i64::MAX)));
        extra.insert("table".into(), Value::String(self.table.clone()));
        extra.insert(
            "seats".into(),
            Value::Array(running.seats.as_slice().iter().map(|s| Value::Integer(i64::from(s.0) + 1)).collect()),
        );
        extra.insert("seat_count".into(), Value::Integer(i64::from(config.seats)));
        // Every player dealt in sat down earlier in the stream; `None` only if it was cut.
        if running.players.iter().all(Option::is_some) {
            extra.insert(
                "players".into(),
                Value::Array(running.players.iter().flatten().map(|p| Value::String(p.to_string())).collect()),
            );
        }
        if let Some(why) = replay_mismatch(&history, config) {
            self.out.inexact.push((running.hand, why));
        }
        self.out.hands.push(history);
        Ok(())
    }

    fn finish(mut self) -> Result<TableHands, ExportError> {
        if self.config.is_none() {
            return Err(ExportError::NoStream { stream: self.table });
        }
        self.out.unfinished = self.running.map(|running| running.hand);
        Ok(self.out)
    }
}

/// Why `history` does not replay to its own `finishing_stacks`, if it does not.
fn replay_mismatch(history: &HandHistory, config: &TableConfig) -> Option<String> {
    let recorded = history.finishing_stacks.as_ref()?;
    match replay(history) {
        Err(e) => Some(format!("the engine refuses the history: {e}")),
        Ok(replayed) if &replayed.finishing_stacks == recorded => None,
        Ok(replayed) => {
            let stacks = |s: &[Stack]| format!("{s:?}");
            let rule = if config.odd_chips == OddChipPolicy::RoundRobinFromFirst {
                " (the table deals odd chips round robin; PHH gives them all to the first winner)"
            } else {
                ""
            };
            Some(format!(
                "the history replays to {} but the table recorded {}{rule}",
                stacks(&replayed.finishing_stacks),
                stacks(recorded)
            ))
        }
    }
}
