//! [`FaultyStore`]: the in-memory store behind a fault injector. Each append may fail before
//! it is stored, or be stored and then fail as if its reply were lost on the way back; the
//! choice comes from the simulator's seed, so a run injects the same faults every time.

use std::sync::Mutex;

use async_trait::async_trait;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use showdown_store::{
    Appended, CommandId, EventStore, ExpectedVersion, GlobalPosition, MemoryStore, NewEvent, Snapshot, StoreError,
    StoredEvent, StreamId, StreamVersion, Subscription,
};

/// How often appends fail, in parts per thousand.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AppendFaults {
    /// The append fails and nothing is stored.
    pub fail_per_mille: u32,
    /// The append is stored, then fails as if the reply were lost.
    pub lose_reply_per_mille: u32,
}

/// Appends that failed, by how.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct StoreFaults {
    /// Failed before anything was stored.
    pub failed: u64,
    /// Stored, with the reply lost.
    pub replies_lost: u64,
}

/// A [`MemoryStore`] whose appends fail now and then (see [`AppendFaults`]). Reads never
/// fail: the simulator's other faults (crashes, lost messages) cover what a failed read does.
pub struct FaultyStore {
    inner: MemoryStore,
    state: Mutex<State>,
}

struct State {
    rng: ChaCha8Rng,
    rates: AppendFaults,
    armed: bool,
    faults: StoreFaults,
}

enum Fault {
    None,
    Fail,
    LoseReply,
}

impl FaultyStore {
    /// An empty store injecting faults at `rates`, drawn from `seed`.
    #[must_use]
    pub fn new(seed: u64, rates: AppendFaults) -> FaultyStore {
        let state = State { rng: ChaCha8Rng::seed_from_u64(seed), rates, armed: true, faults: StoreFaults::default() };
        FaultyStore { inner: MemoryStore::new(), state: Mutex::new(state) }
    }

    /// Turns faults on or off (off for the final checks).
    pub fn arm(&self, armed: bool) {
        self.lock().armed = armed;
    }

    /// The faults injected so far.
    #[must_use]
    pub fn faults(&self) -> StoreFaults {
        self.lock().faults
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn draw(&self) -> Fault {
        let mut s = self.lock();
        if !s.armed {
            return Fault::None;
        }
        let roll = (s.rng.next_u64() % 1000) as u32;
        if roll < s.rates.fail_per_mille {
            s.faults.failed += 1;
            Fault::Fail
        } else if roll < s.rates.fail_per_mille + s.rates.lose_reply_per_mille {
            s.faults.replies_lost += 1;
            Fault::LoseReply
        } else {
            Fault::None
        }
    }
}

fn unavailable(what: &str) -> StoreError {
    StoreError::Unavailable { location: "chaos:".to_owned(), source: what.to_owned().into() }
}

#[async_trait]
impl EventStore for FaultyStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        command: CommandId,
        events: Vec<NewEvent>,
    ) -> Result<Appended, StoreError> {
        match self.draw() {
            Fault::None => self.inner.append(stream, expected, command, events).await,
            Fault::Fail => Err(unavailable("injected: the append failed before it was stored")),
            Fault::LoseReply => {
                self.inner.append(stream, expected, command, events).await?;
                Err(unavailable("injected: the append was stored but its reply was lost"))
            }
        }
    }

    async fn find_command(&self, stream: &StreamId, command: CommandId) -> Result<Option<Appended>, StoreError> {
        self.inner.find_command(stream, command).await
    }

    async fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), StoreError> {
        self.inner.save_snapshot(stream, snapshot).await
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        self.inner.load_snapshot(stream).await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamVersion,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read_stream(stream, from, limit).await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<StreamVersion>, StoreError> {
        self.inner.stream_version(stream).await
    }

    async fn read_all(&self, from: GlobalPosition, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read_all(from, limit).await
    }

    async fn subscribe(&self, from: GlobalPosition) -> Result<Subscription<'_>, StoreError> {
        self.inner.subscribe(from).await
    }
}
