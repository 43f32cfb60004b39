//! An in-memory double of the server for the store's own tests (no EventStoreDB server can
//! run where this crate is built). It keeps what the store relies on, as EventStoreDB
//! documents and does it:
//!
//! - revisions from 0 per stream; an append is atomic and checks the expected revision;
//! - a write whose expected revision is behind, and whose event ids are exactly the events
//!   right after it, succeeds without writing (the server's idempotence), answering with
//!   the first write's last revision; otherwise a behind or ahead write is refused with the
//!   current revision;
//! - each event's `$all` position has equal commit and prepare positions, which grow with
//!   the log and skip numbers; `$all` is read only from the start or from an event's own
//!   position (other positions are refused, as the server refuses non-boundaries), and the
//!   read includes that event;
//! - `$maxCount` hides older events from reads;
//! - every subscriber of `follow` is signalled after each append.
//!
//! It refuses what the store must never send: `Any` and `StreamExists` (the store sends
//! exact revisions so that its command index is checked by the server). Faults can be
//! injected: an append that commits and then reports a timeout.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use kurrentdb::{CurrentRevision, Position, StreamState};
use showdown_store::GlobalPosition;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::backend::{Backend, Record};
use crate::mapping::EncodedEvent;

/// The server double; share it between stores to play several processes.
#[derive(Debug)]
pub(crate) struct FakeServer {
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    /// Appends that will commit and then report `DeadlineExceeded`.
    pub commit_then_time_out: AtomicUsize,
    /// Appends that will fail with `ServerError` before committing.
    pub fail_before_commit: AtomicUsize,
    /// Appends received, committed or not.
    pub appends: AtomicUsize,
}

#[derive(Debug, Default)]
struct State {
    log: Vec<Record>,
    streams: HashMap<String, Vec<usize>>,
    max_counts: HashMap<String, u64>,
    next_commit: u64,
    next_id: u128,
}

impl State {
    fn current(&self, stream: &str) -> Option<u64> {
        self.streams.get(stream).and_then(|s| (s.len() as u64).checked_sub(1))
    }

    /// The records of `stream` a read sees (`$maxCount` hides the oldest).
    fn visible(&self, stream: &str) -> Vec<&Record> {
        let Some(indexes) = self.streams.get(stream) else { return Vec::new() };
        let skip = self.max_counts.get(stream).map_or(0, |&max| indexes.len().saturating_sub(max as usize));
        indexes[skip..].iter().map(|&i| &self.log[i]).collect()
    }
}

impl FakeServer {
    pub(crate) fn new() -> Arc<FakeServer> {
        Arc::new(FakeServer {
            state: Mutex::new(State { next_commit: 1000, ..State::default() }),
            changed: watch::channel(0).0,
            commit_then_time_out: AtomicUsize::new(0),
            fail_before_commit: AtomicUsize::new(0),
            appends: AtomicUsize::new(0),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every record of `stream`, hidden or not.
    pub(crate) fn records(&self, stream: &str) -> Vec<Record> {
        let state = self.state();
        state.streams.get(stream).map(|s| s.iter().map(|&i| state.log[i].clone()).collect()).unwrap_or_default()
    }

    /// Writes a record as another program would (any type and metadata).
    pub(crate) fn write_raw(&self, stream: &str, event_type: &str, custom_metadata: &[u8]) {
        let mut state = self.state();
        let event = EncodedEvent {
            id: None,
            event_type: event_type.to_owned(),
            data: bytes::Bytes::new(),
            metadata: bytes::Bytes::copy_from_slice(custom_metadata),
        };
        push(&mut state, stream, event);
    }

    fn take(counter: &AtomicUsize) -> bool {
        counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }
}

fn push(state: &mut State, stream: &str, event: EncodedEvent) -> u64 {
    let revision = state.current(stream).map_or(0, |r| r + 1);
    let commit = state.next_commit;
    // Records take room in the log: positions skip numbers.
    state.next_commit += 57 + event.data.len() as u64 + event.metadata.len() as u64;
    state.next_id += 1;
    let id = event.id.unwrap_or(Uuid::from_u128(state.next_id));
    let record = Record {
        stream: stream.to_owned(),
        id,
        revision,
        event_type: event.event_type,
        data: event.data,
        custom_metadata: event.metadata,
        position: Position { commit, prepare: commit },
    };
    state.log.push(record);
    let at = state.log.len() - 1;
    state.streams.entry(stream.to_owned()).or_default().push(at);
    revision
}

#[async_trait]
impl Backend for FakeServer {
    async fn read_forward(
        &self,
        stream: &str,
        from: u64,
        count: usize,
        _leader: bool,
    ) -> Result<Vec<Record>, kurrentdb::Error> {
        tokio::task::yield_now().await;
        let state = self.state();
        Ok(state.visible(stream).into_iter().filter(|r| r.revision >= from).take(count).cloned().collect())
    }

    async fn read_last(&self, stream: &str, _leader: bool) -> Result<Option<Record>, kurrentdb::Error> {
        tokio::task::yield_now().await;
        Ok(self.state().visible(stream).last().map(|r| (*r).clone()))
    }

    async fn append(
        &self,
        stream: &str,
        expected: StreamState,
        events: Vec<EncodedEvent>,
    ) -> Result<u64, kurrentdb::Error> {
        tokio::task::yield_now().await;
        self.appends.fetch_add(1, Ordering::SeqCst);
        let expected_last = match expected {
            StreamState::NoStream => None,
            StreamState::StreamRevision(n) => Some(n),
            StreamState::Any | StreamState::StreamExists => {
                return Err(kurrentdb::Error::IllegalStateError(format!("the store sent {expected:?}")));
            }
        };
        if FakeServer::take(&self.fail_before_commit) {
            return Err(kurrentdb::Error::ServerError("injected failure".to_owned()));
        }
        let mut state = self.state();
        let current = state.current(stream);
        if current != expected_last {
            let from = expected_last.map_or(0, |n| n + 1);
            let after: Vec<Uuid> =
                state.visible(stream).iter().filter(|r| r.revision >= from).map(|r| r.id).take(events.len()).collect();
            let same = current > expected_last
                && after.len() == events.len()
                && after.iter().zip(&events).all(|(id, e)| Some(*id) == e.id);
            if same {
                return Ok(from + events.len() as u64 - 1);
            }
            let current = current.map_or(CurrentRevision::NoStream, CurrentRevision::Current);
            return Err(kurrentdb::Error::WrongExpectedVersion { expected, current });
        }
        let mut last = 0;
        for event in events {
            last = push(&mut state, stream, event);
        }
        drop(state);
        self.changed.send_modify(|n| *n += 1);
        if FakeServer::take(&self.commit_then_time_out) {
            return Err(kurrentdb::Error::DeadlineExceeded);
        }
        Ok(last)
    }

    async fn read_all(
        &self,
        from: Option<Position>,
        prefix: &str,
        count: usize,
    ) -> Result<Vec<Record>, kurrentdb::Error> {
        tokio::task::yield_now().await;
        let state = self.state();
        let start = match from {
            None => 0,
            Some(p) if p == Position::start() => 0,
            Some(p) => match state.log.iter().position(|r| r.position == p) {
                Some(i) => i,
                None => return Err(kurrentdb::Error::ServerError(format!("invalid position {p}"))),
            },
        };
        Ok(state.log[start..].iter().filter(|r| r.stream.starts_with(prefix)).take(count).cloned().collect())
    }

    async fn set_max_count(&self, stream: &str, max_count: u64) -> Result<(), kurrentdb::Error> {
        self.state().max_counts.insert(stream.to_owned(), max_count);
        Ok(())
    }

    async fn ping(&self) -> Result<(), kurrentdb::Error> {
        Ok(())
    }

    fn follow(
        &self,
        _prefix: String,
        head: Arc<watch::Sender<GlobalPosition>>,
        ready: oneshot::Sender<Result<(), kurrentdb::Error>>,
    ) -> JoinHandle<()> {
        let mut changed = self.changed.subscribe();
        tokio::spawn(async move {
            changed.borrow_and_update();
            if ready.send(Ok(())).is_err() {
                return;
            }
            while changed.changed().await.is_ok() {
                head.send_modify(|_| {});
            }
        })
    }
}
