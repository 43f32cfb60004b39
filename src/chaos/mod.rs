//! `showdown chaos`: the deterministic fault simulator.
//!
//! One seed drives a whole deployment in one thread on a virtual clock: a table server
//! (the [`TableService`] over the in-memory store, a sync feed and a session per client),
//! its clients (bots speaking the sync protocol, [`showdown_store::sync`]), a dealer, the
//! read-model projection and the cache projection. Each step the seed picks one thing to
//! happen — a message delivered, a bot's move, a dealt hand, a clock tick, a projection
//! batch — or a fault:
//!
//! - an append fails, or is stored and its reply is lost ([`store::FaultyStore`]);
//! - the server process crashes and restarts (every table, feed and session in memory is
//!   lost; the server starts again from the cache, or the store);
//! - a client's connection drops and it resumes from the last version it holds;
//! - a client message, or a server frame, is delivered twice or out of order;
//! - the cache is flushed (`FLUSHALL`);
//! - the read-model projection crashes in the middle of a batch;
//! - the clock jumps forward (turns time out) or back (the host must not go back).
//!
//! After every step it checks the invariants that must hold at any instant (chips
//! conserved, the feed at the store's version, caches never ahead of the store, every client
//! that is caught up sees exactly the server's redacted view). At the end it stops the
//! faults, lets every message through and checks the rest: every acknowledged command is
//! stored exactly once (and no command twice under two ids), the store verifies, each
//! table replays from empty to the live state, the read models and the caches equal a
//! rebuild, and every client's view equals the server's. The report names the seed, the
//! faults, the checks and a hash of the run (the stored events and the read models): the
//! same seed gives the same hash.
//!
//! A [`Plant`] puts a known bug in, to show the checks catch it.

mod cache;
pub mod store;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use showdown_engine::chips::Chips;
use showdown_engine::hand::legal_actions;
use showdown_engine::table::{
    CommandEnvelope, CommandId, PlayerId, SeatIdx, Table, TableAction, TableCommand, TableConfig, Viewer,
};
use showdown_store::codec::TableCodec;
use showdown_store::projection::{MemorySink, Projector};
use showdown_store::sync::{
    ClientMessage, ServerSession, Step, SyncClient, SyncConfig, TableFeed, Update, decode_server, encode_client,
    encode_server, scoped_command_id,
};
use showdown_store::{
    ErrorKind, EventStore, LoadedTable, ServiceConfig, ServiceError, StreamId, StreamVersion, TableService,
};

pub use cache::CacheSink;
use store::{AppendFaults, FaultyStore};

/// A bug put in on purpose, to show that the simulator catches it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Plant {
    /// Clients retry a command that timed out under a fresh command id, so the store's
    /// idempotency check cannot recognise the retry.
    FreshIdOnRetry,
}

impl std::str::FromStr for Plant {
    type Err = String;

    fn from_str(s: &str) -> Result<Plant, String> {
        match s {
            "fresh-id-on-retry" => Ok(Plant::FreshIdOnRetry),
            other => Err(format!("unknown planted bug {other:?}: expected fresh-id-on-retry")),
        }
    }
}

/// What to simulate.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ChaosConfig {
    /// The seed: the same seed gives the same run.
    pub seed: u64,
    /// Steps to run before the final checks.
    pub steps: u64,
    /// Tables on the server.
    pub tables: u8,
    /// Seats per table, each with a client; every table also has a spectator.
    pub seats: u8,
    /// A bug to plant, if any.
    pub plant: Option<Plant>,
}

impl ChaosConfig {
    /// A run of `steps` steps from `seed`, two tables of four seats, no planted bug
    /// (`showdown chaos` runs 2,000 steps a seed).
    #[must_use]
    pub const fn new(seed: u64, steps: u64) -> ChaosConfig {
        ChaosConfig { seed, steps, tables: 2, seats: 4, plant: None }
    }
}

/// Faults injected, by kind.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Faults {
    /// Appends that failed with nothing stored.
    pub append_failed: u64,
    /// Appends stored whose reply was lost.
    pub reply_lost: u64,
    /// Server crashes (each followed by a restart).
    pub crashes: u64,
    /// Client connections dropped.
    pub disconnects: u64,
    /// Client messages delivered twice.
    pub client_duplicated: u64,
    /// Client messages delivered out of order.
    pub client_reordered: u64,
    /// Server frames delivered twice.
    pub frame_duplicated: u64,
    /// Server frames delivered out of order.
    pub frame_reordered: u64,
    /// Cache flushes.
    pub cache_flushes: u64,
    /// Read-model projection crashes mid-batch.
    pub projection_crashes: u64,
    /// Clock jumps forward.
    pub clock_forward: u64,
    /// Clock jumps back.
    pub clock_back: u64,
}

impl Faults {
    /// Every fault injected.
    #[must_use]
    pub const fn total(&self) -> u64 {
        self.append_failed
            + self.reply_lost
            + self.crashes
            + self.disconnects
            + self.client_duplicated
            + self.client_reordered
            + self.frame_duplicated
            + self.frame_reordered
            + self.cache_flushes
            + self.projection_crashes
            + self.clock_forward
            + self.clock_back
    }

    /// Adds another run's faults.
    pub fn add(&mut self, o: &Faults) {
        self.append_failed += o.append_failed;
        self.reply_lost += o.reply_lost;
        self.crashes += o.crashes;
        self.disconnects += o.disconnects;
        self.client_duplicated += o.client_duplicated;
        self.client_reordered += o.client_reordered;
        self.frame_duplicated += o.frame_duplicated;
        self.frame_reordered += o.frame_reordered;
        self.cache_flushes += o.cache_flushes;
        self.projection_crashes += o.projection_crashes;
        self.clock_forward += o.clock_forward;
        self.clock_back += o.clock_back;
    }

    /// Each kind with its count, in a fixed order.
    #[must_use]
    pub const fn kinds(&self) -> [(&'static str, u64); 12] {
        [
            ("append failed", self.append_failed),
            ("append reply lost", self.reply_lost),
            ("server crash", self.crashes),
            ("client disconnect", self.disconnects),
            ("client message duplicated", self.client_duplicated),
            ("client message reordered", self.client_reordered),
            ("server frame duplicated", self.frame_duplicated),
            ("server frame reordered", self.frame_reordered),
            ("cache flushed", self.cache_flushes),
            ("projection crash mid-batch", self.projection_crashes),
            ("clock jump forward", self.clock_forward),
            ("clock jump back", self.clock_back),
        ]
    }
}

/// An invariant that did not hold.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Violation {
    /// The step after which it was seen (`steps` for the final checks).
    pub step: u64,
    /// Which invariant.
    pub invariant: &'static str,
    /// What was seen.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "after step {}: {}: {}", self.step, self.invariant, self.detail)
    }
}

/// What one run, or many added up, did besides its faults.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Counts {
    /// Invariant checks that ran (each check of each table or client counts once).
    pub checks: u64,
    /// Commands clients sent (retries not counted).
    pub commands: u64,
    /// Client commands acknowledged as stored.
    pub acknowledged: u64,
    /// Client commands the table refused.
    pub refused: u64,
    /// Hands dealt.
    pub hands: u64,
    /// Events stored, all streams.
    pub events: u64,
}

impl Counts {
    /// Adds another run's counts.
    pub fn add(&mut self, other: &Counts) {
        self.checks += other.checks;
        self.commands += other.commands;
        self.acknowledged += other.acknowledged;
        self.refused += other.refused;
        self.hands += other.hands;
        self.events += other.events;
    }
}

/// What a run did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ChaosReport {
    /// The configuration.
    pub config: ChaosConfig,
    /// Faults injected.
    pub faults: Faults,
    /// Checks, commands, hands and events.
    pub counts: Counts,
    /// SHA-256 of the stored events and the read models, in hex.
    pub hash: String,
    /// The first invariant that did not hold, if any.
    pub violation: Option<Violation>,
}

/// Runs one seed.
///
/// # Panics
/// If a tokio runtime cannot be built.
#[must_use]
pub fn run(config: &ChaosConfig) -> ChaosReport {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a current-thread runtime");
    rt.block_on(simulate(*config))
}

// Step weights, out of 1000. Faults are rare next to the normal traffic.
const P_CLIENT_TO_SERVER: u32 = 260;
const P_SERVER_TO_CLIENT: u32 = 260;
const P_BOT: u32 = 240;
const P_DEALER: u32 = 80;
const P_CLOCK: u32 = 70;
const P_PROJECT: u32 = 40;
const P_CACHE: u32 = 30;
// The rest: one fault.

/// How long a client waits for an answer before it re-sends a command.
const RETRY_MS: u64 = 5_000;
/// How many steps the quiet end may take to let every message through.
const QUIESCE_STEPS: usize = 20_000;

struct Client {
    table: usize,
    seat: Option<SeatIdx>,
    player: PlayerId,
    sync: SyncClient,
    connected: bool,
    /// Frames on their way to the server, and to the client.
    to_server: VecDeque<Vec<u8>>,
    to_client: VecDeque<Vec<u8>>,
    /// Commands sent and not answered: when they were last sent, what, and their intent.
    waiting: BTreeMap<CommandId, (u64, TableCommand, u64)>,
}

struct HostTable {
    loaded: LoadedTable,
    feed: TableFeed,
}

struct Server {
    tables: Vec<HostTable>,
    /// Sessions by client index.
    sessions: BTreeMap<usize, ServerSession>,
}

struct Sim {
    config: ChaosConfig,
    rng: ChaCha8Rng,
    /// The virtual wall clock (it may jump back), and the host's clock (it never does).
    wall_ms: u64,
    host_ms: u64,
    store: Arc<FaultyStore>,
    service: TableService,
    sync: SyncConfig,
    streams: Vec<StreamId>,
    server: Option<Server>,
    clients: Vec<Client>,
    /// Each stored id of a client command, with the intent (one logical command) it carries.
    intents: BTreeMap<CommandId, u64>,
    next_intent: u64,
    acknowledged: BTreeSet<u64>,
    faults: Faults,
    checks: u64,
    commands: u64,
    refused: u64,
    step: u64,
}

type Check = Result<(), Violation>;

async fn simulate(config: ChaosConfig) -> ChaosReport {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let rates = AppendFaults { fail_per_mille: 15, lose_reply_per_mille: 15 };
    let store = Arc::new(FaultyStore::new(rng.next_u64(), rates));
    let service_config = ServiceConfig {
        // One re-send: often enough, an append fails for good and the client must retry.
        unavailable_retries: 1,
        unavailable_backoff: Duration::ZERO,
        snapshot_every: 40,
        audit_rejections: true,
        ..ServiceConfig::default()
    };
    let service = TableService::new(store.clone() as Arc<dyn EventStore>, service_config);
    let streams = (0..config.tables).map(|t| StreamId::new(format!("table-{t}")).expect("a valid stream")).collect();
    let mut sim = Sim {
        config,
        rng,
        wall_ms: 1_000_000,
        host_ms: 1_000_000,
        store: store.clone(),
        service,
        // A short window, so that clients also resume from a whole state.
        sync: SyncConfig { resume_window: 48, ..SyncConfig::default() },
        streams,
        server: None,
        clients: Vec::new(),
        intents: BTreeMap::new(),
        next_intent: 0,
        acknowledged: BTreeSet::new(),
        faults: Faults::default(),
        checks: 0,
        commands: 0,
        refused: 0,
        step: 0,
    };
    let mut models =
        Projector::new(&*store as &dyn EventStore, TableCodec::default(), MemorySink::new()).with_batch(37);
    let mut cache = Projector::new(&*store as &dyn EventStore, TableCodec::default(), CacheSink::new()).with_batch(53);
    let outcome = sim.run(&mut models, &mut cache).await;
    sim.report(&models, outcome.err()).await
}

impl Sim {
    async fn run(&mut self, models: &mut Projector<'_, MemorySink>, cache: &mut Projector<'_, CacheSink>) -> Check {
        self.open_tables().await?;
        self.restart(cache.sink()).await?;
        for t in 0..usize::from(self.config.tables) {
            for s in 0..self.config.seats {
                self.add_client(t, Some(SeatIdx(s)));
            }
            self.add_client(t, None);
        }
        for step in 0..self.config.steps {
            self.step = step;
            self.one_step(models, cache).await?;
            self.check_step(cache.sink()).await?;
        }
        self.step = self.config.steps;
        self.quiesce(models, cache).await?;
        self.final_checks(models, cache).await
    }

    /// A random client among those that `filter` keeps.
    fn pick(&mut self, filter: impl Fn(&Client) -> bool) -> Option<usize> {
        let candidates: Vec<usize> = (0..self.clients.len()).filter(|&c| filter(&self.clients[c])).collect();
        if candidates.is_empty() {
            return None;
        }
        Some(candidates[self.roll(candidates.len() as u64) as usize])
    }

    fn roll(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n.max(1)
    }

    fn chance(&mut self, per_mille: u64) -> bool {
        self.roll(1000) < per_mille
    }

    fn violation(&self, invariant: &'static str, detail: String) -> Violation {
        Violation { step: self.step, invariant, detail }
    }

    fn command_id(&mut self) -> CommandId {
        CommandId((u128::from(self.rng.next_u64()) << 64) | u128::from(self.rng.next_u64()))
    }

    /// Opens every table before the server starts, with a configuration that deals fast.
    async fn open_tables(&mut self) -> Check {
        self.store.arm(false);
        for stream in self.streams.clone() {
            let mut loaded = self.service.load(&stream).await.map_err(|e| self.violation("open", e.to_string()))?;
            let mut config = TableConfig::no_limit_holdem(1, 2);
            config.seats = self.config.seats;
            config.action_time_ms = 8_000;
            config.time_bank_ms = 10_000;
            let id = self.command_id();
            let open = CommandEnvelope { id, now_ms: self.host_ms, command: TableCommand::Open { config } };
            self.service.handle(&mut loaded, &open).await.map_err(|e| self.violation("open", e.to_string()))?;
        }
        self.store.arm(true);
        Ok(())
    }

    fn add_client(&mut self, table: usize, seat: Option<SeatIdx>) {
        let index = self.clients.len();
        let player = PlayerId(1_000 + index as u64);
        self.clients.push(Client {
            table,
            seat,
            player,
            sync: SyncClient::new(seat.map(|_| player)),
            connected: false,
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
            waiting: BTreeMap::new(),
        });
        self.connect(index);
    }

    /// Opens a connection for a client: a session on the server, and a `Resume` from the
    /// last version the client holds.
    fn connect(&mut self, c: usize) {
        let Some(server) = &mut self.server else { return };
        let client = &mut self.clients[c];
        server.sessions.insert(c, ServerSession::new(client.sync.player(), self.sync));
        client.connected = true;
        // Commands in flight were lost with the old connection; the client resumes, and
        // sends them again when they time out.
        let resume = client.sync.resume();
        client.to_server.push_back(encode_client(&resume));
    }

    fn disconnect(&mut self, c: usize) {
        let client = &mut self.clients[c];
        client.connected = false;
        client.to_server.clear();
        client.to_client.clear();
        if let Some(server) = &mut self.server {
            server.sessions.remove(&c);
        }
    }

    async fn one_step(
        &mut self,
        models: &mut Projector<'_, MemorySink>,
        cache: &mut Projector<'_, CacheSink>,
    ) -> Check {
        let roll = self.roll(1000) as u32;
        let mut at = 0;
        let mut next = |w: u32| {
            at += w;
            roll < at
        };
        if next(P_CLIENT_TO_SERVER) {
            match self.pick(|c| c.connected && !c.to_server.is_empty()) {
                Some(c) => self.deliver_to_server(c).await,
                None => Ok(()),
            }
        } else if next(P_SERVER_TO_CLIENT) {
            if let Some(c) = self.pick(|c| c.connected && !c.to_client.is_empty()) {
                self.deliver_to_client(c);
            }
            Ok(())
        } else if next(P_BOT) {
            // Mostly a player whose turn it is, as they see it.
            let c = if self.chance(700) {
                self.pick(|c| c.seat.is_some_and(|s| c.sync.table().turn().is_some_and(|t| t.seat == s)))
            } else {
                None
            };
            let c = c.unwrap_or_else(|| self.roll(self.clients.len() as u64) as usize);
            self.bot(c);
            Ok(())
        } else if next(P_DEALER) {
            let t = self.roll(self.streams.len() as u64) as usize;
            self.deal(t).await
        } else if next(P_CLOCK) {
            self.wall_ms += self.roll(3_000);
            self.host_ms = self.host_ms.max(self.wall_ms);
            Ok(())
        } else if next(P_PROJECT) {
            // A store that fails now and then is retried at the next step.
            let _ = models.step().await;
            Ok(())
        } else if next(P_CACHE) {
            let _ = cache.step().await;
            Ok(())
        } else {
            self.fault(models, cache).await
        }
    }

    async fn fault(&mut self, models: &mut Projector<'_, MemorySink>, cache: &mut Projector<'_, CacheSink>) -> Check {
        match self.roll(10) {
            0 => {
                self.faults.crashes += 1;
                self.crash();
                self.restart(cache.sink()).await
            }
            1 | 2 => {
                let c = self.roll(self.clients.len() as u64) as usize;
                if self.clients[c].connected {
                    self.faults.disconnects += 1;
                    self.disconnect(c);
                }
                Ok(())
            }
            3 => {
                self.faults.cache_flushes += 1;
                cache.sink_mut().flush();
                Ok(())
            }
            4 => {
                // The projection process dies in the middle of a batch's transaction and
                // starts again from its checkpoint, with nothing in memory.
                self.faults.projection_crashes += 1;
                models.sink_mut().fail_next_commit(true);
                let _ = models.step().await;
                models.sink_mut().fail_next_commit(false);
                models.forget();
                Ok(())
            }
            5 => {
                // Long enough for the player to act to time out, and their bank too.
                self.faults.clock_forward += 1;
                self.wall_ms += 8_000 + self.roll(20_000);
                self.host_ms = self.host_ms.max(self.wall_ms);
                Ok(())
            }
            6 => {
                // The wall clock goes back (NTP): the host's clock must not.
                self.faults.clock_back += 1;
                self.wall_ms = self.wall_ms.saturating_sub(1 + self.roll(60_000));
                Ok(())
            }
            _ => {
                // Reconnect a client that is off, else drop one.
                let off: Vec<usize> = (0..self.clients.len()).filter(|&c| !self.clients[c].connected).collect();
                if off.is_empty() {
                    Ok(())
                } else {
                    let c = off[self.roll(off.len() as u64) as usize];
                    self.connect(c);
                    Ok(())
                }
            }
        }
    }

    /// The server process dies: every table, feed and session it held in memory is gone,
    /// and so is every message on the wire.
    fn crash(&mut self) {
        self.server = None;
        for c in 0..self.clients.len() {
            self.disconnect(c);
        }
    }

    /// The server starts: each table from the cache when it has it (then the events after
    /// it), else from the store; the restarted table must equal a replay of its stream.
    async fn restart(&mut self, cache: &CacheSink) -> Check {
        let mut tables = Vec::new();
        for stream in self.streams.clone() {
            let loaded = match cache.table(&stream) {
                Some((version, table)) => {
                    let mut loaded = LoadedTable::resume(stream.clone(), table.clone(), *version);
                    self.service.catch_up(&mut loaded).await.map(|()| loaded)
                }
                None => self.service.load(&stream).await,
            };
            // Reads do not fail in the simulator; anything else is a finding.
            let loaded = loaded.map_err(|e| self.violation("restart", format!("{stream}: {e}")))?;
            let replayed = self.replay(&stream).await?;
            if &replayed != loaded.table() {
                return Err(self.violation(
                    "a restarted table equals its stream replayed from empty",
                    format!("{stream} at {:?}", loaded.version()),
                ));
            }
            let feed = TableFeed::new(loaded.version(), self.sync.resume_window);
            tables.push(HostTable { loaded, feed });
        }
        self.server = Some(Server { tables, sessions: BTreeMap::new() });
        for c in 0..self.clients.len() {
            self.connect(c);
        }
        Ok(())
    }

    /// A stream replayed from empty, without snapshot or cache.
    async fn replay(&self, stream: &StreamId) -> Result<Table, Violation> {
        let codec = self.service.codec();
        let mut table = Table::new();
        let mut from = StreamVersion::FIRST;
        loop {
            let page =
                self.store.read_stream(stream, from, 1024).await.map_err(|e| self.violation("read", e.to_string()))?;
            for stored in &page {
                let recorded = codec.decode(stored).map_err(|e| self.violation("decode", e.to_string()))?;
                showdown_engine::table::apply(&mut table, &recorded);
                from = stored.version.next();
            }
            if page.len() < 1024 {
                return Ok(table);
            }
        }
    }

    /// Delivers one message a client sent, maybe twice or out of order.
    async fn deliver_to_server(&mut self, c: usize) -> Check {
        let client = &mut self.clients[c];
        if !client.connected || client.to_server.is_empty() {
            return Ok(());
        }
        let len = client.to_server.len();
        let pick = if len > 1 && self.roll(100) < 3 {
            self.faults.client_reordered += 1;
            1 + self.roll(len as u64 - 1) as usize
        } else {
            0
        };
        let client = &mut self.clients[c];
        let bytes = client.to_server.remove(pick).expect("picked within the queue");
        if self.roll(100) < 3 {
            self.faults.client_duplicated += 1;
            let at = self.roll(self.clients[c].to_server.len() as u64 + 1) as usize;
            self.clients[c].to_server.insert(at, bytes.clone());
        }
        self.serve(c, &bytes).await
    }

    /// The server's side of one client frame.
    async fn serve(&mut self, c: usize, bytes: &[u8]) -> Check {
        let t = self.clients[c].table;
        let Some(server) = &mut self.server else { return Ok(()) };
        let Some(session) = server.sessions.get_mut(&c) else { return Ok(()) };
        let host = &mut server.tables[t];
        match session.receive_bytes(bytes, self.host_ms, &host.feed, host.loaded.table()) {
            Step::Send(frames) => self.clients[c].to_client.extend(frames.iter().map(encode_server)),
            Step::Broadcast(frame) => {
                let bytes = encode_server(&frame);
                for &other in server.sessions.keys() {
                    if self.clients[other].table == t {
                        self.clients[other].to_client.push_back(bytes.clone());
                    }
                }
            }
            Step::Handle(envelope) => {
                let result = self.service.handle(&mut host.loaded, &envelope).await;
                if let Err(e) = &result
                    && !matches!(e, ServiceError::Rejected { .. } | ServiceError::Gated { .. })
                    && e.kind() != ErrorKind::Unavailable
                {
                    return Err(Violation {
                        step: self.step,
                        invariant: "the service answers a command or reports the store unavailable",
                        detail: e.to_string(),
                    });
                }
                // The command's events go to every client first, then its answer.
                self.publish(t).await?;
                let Some(server) = &mut self.server else { return Ok(()) };
                let host = &server.tables[t];
                if let Some(session) = server.sessions.get_mut(&c) {
                    let answer = session.handled(&envelope, &result, &host.feed);
                    self.clients[c].to_client.push_back(encode_server(&answer));
                }
                return Ok(());
            }
        }
        Ok(())
    }

    /// Brings a table's feed up to its stream (the service may have stored events whose
    /// reply was lost) and sends what is new to every session of the table.
    async fn publish(&mut self, t: usize) -> Check {
        let Some(server) = &mut self.server else { return Ok(()) };
        let host = &mut server.tables[t];
        if self.service.catch_up(&mut host.loaded).await.is_err() {
            return Ok(());
        }
        let codec = self.service.codec();
        let from = host.feed.version().map_or(StreamVersion::FIRST, StreamVersion::next);
        let page = self.store.read_stream(&self.streams[t], from, usize::MAX).await.map_err(|e| Violation {
            step: self.step,
            invariant: "read",
            detail: e.to_string(),
        })?;
        for stored in &page {
            let recorded = codec.decode(stored).map_err(|e| Violation {
                step: self.step,
                invariant: "decode",
                detail: e.to_string(),
            })?;
            host.feed.record(stored.version, &recorded).map_err(|e| Violation {
                step: self.step,
                invariant: "the feed follows the stream in order",
                detail: e.to_string(),
            })?;
        }
        for (&c, session) in &mut server.sessions {
            if self.clients[c].table != t {
                continue;
            }
            let frames = session.push(&host.feed, host.loaded.table());
            self.clients[c].to_client.extend(frames.iter().map(encode_server));
        }
        Ok(())
    }

    /// Delivers one frame to a client, maybe twice or out of order; the client answers a
    /// gap with a `Resume`.
    fn deliver_to_client(&mut self, c: usize) {
        let len = self.clients[c].to_client.len();
        if !self.clients[c].connected || len == 0 {
            return;
        }
        let pick = if len > 1 && self.chance(30) {
            self.faults.frame_reordered += 1;
            1 + self.roll(len as u64 - 1) as usize
        } else {
            0
        };
        let bytes = self.clients[c].to_client.remove(pick).expect("picked within the queue");
        if self.chance(30) {
            self.faults.frame_duplicated += 1;
            self.clients[c].to_client.push_back(bytes.clone());
        }
        self.receive(c, &bytes);
    }

    /// A client reads one frame from the server.
    fn receive(&mut self, c: usize, bytes: &[u8]) {
        let client = &mut self.clients[c];
        let Ok(frame) = decode_server(bytes, self.sync.max_frame_bytes) else { return };
        let received = client.sync.receive(frame);
        match received.update {
            Update::Done { command, .. } => {
                if let Some((_, _, intent)) = client.waiting.remove(&command) {
                    self.acknowledged.insert(intent);
                }
            }
            Update::Failed { command: Some(command), error } if !error.is_retryable() => {
                self.refused += u64::from(client.waiting.remove(&command).is_some());
            }
            _ => {}
        }
        if let Some(message) = received.send {
            client.to_server.push_back(encode_client(&message));
        }
    }

    /// A bot's move, from what its client sees: act on its turn, sit down, top up, sit out
    /// or in, leave, chat; or re-send a command that was not answered in time.
    fn bot(&mut self, c: usize) {
        if !self.clients[c].connected {
            return;
        }
        if self.retry(c) {
            return;
        }
        // Still behind since the last frame: what it was sent may have come out of order and
        // been dropped, so it asks again (the protocol's resume timeout).
        if self.clients[c].sync.is_behind() {
            let resume = self.clients[c].sync.resume();
            self.clients[c].to_server.push_back(encode_client(&resume));
            return;
        }
        let Some(seat) = self.clients[c].seat else {
            if self.chance(50) {
                // A spectator may not chat: the server says so.
                let chat = ClientMessage::Chat { text: format!("spectator {c} at {}", self.host_ms) };
                self.clients[c].to_server.push_back(encode_client(&chat));
            }
            return;
        };
        if self.chance(30) {
            let chat = ClientMessage::Chat { text: format!("player {c} at {}", self.host_ms) };
            self.clients[c].to_server.push_back(encode_client(&chat));
            return;
        }
        if !self.clients[c].waiting.is_empty() {
            return;
        }
        let player = self.clients[c].player;
        let table = self.clients[c].sync.table().clone();
        let Some(config) = table.config().copied() else { return };
        let buy_in = Chips(config.big_blind.0 * 50);
        let command = match table.seat(seat) {
            None if table.seat_of(player).is_none() => {
                Some(TableCommand::SitDown { seat, player, buy_in, wait_for_big_blind: false })
            }
            None => None,
            Some(s) if s.player != player => None,
            Some(s) => {
                if table.in_hand() && table.turn().is_some_and(|turn| turn.seat == seat) {
                    legal_actions(table.hand()).map(|legal| {
                        let roll = self.roll(100);
                        let action = match legal.raise {
                            Ok(range) if roll < 20 => {
                                let span = range.max.0 - range.min.0;
                                TableAction::BetOrRaiseTo(Chips(range.min.0 + self.roll(span.min(20) + 1)))
                            }
                            _ if roll < 35 && legal.can_fold && !legal.call.is_zero() => TableAction::Fold,
                            _ => TableAction::CheckOrCall,
                        };
                        TableCommand::Act { player, action }
                    })
                } else if table.in_hand() {
                    None
                } else if s.stack.is_zero() || (s.stack.0 < buy_in.0 && self.chance(100)) {
                    let room = config.max_buy_in.0.saturating_sub(s.stack.0);
                    (room > 0).then(|| TableCommand::TopUp { player, amount: Chips(room.min(buy_in.0)) })
                } else if s.sitting_out {
                    Some(TableCommand::SitIn { player, wait_for_big_blind: false })
                } else if self.chance(8) {
                    Some(TableCommand::SitOut { player })
                } else if self.chance(5) {
                    Some(TableCommand::Leave { player })
                } else {
                    None
                }
            }
        };
        if let Some(command) = command {
            self.send(c, command);
        }
    }

    fn send(&mut self, c: usize, command: TableCommand) {
        let id = self.command_id();
        let intent = self.next_intent;
        self.next_intent += 1;
        self.commands += 1;
        self.send_as(c, id, command, intent);
    }

    /// Sends a client's command under `id`, for `intent`.
    fn send_as(&mut self, c: usize, id: CommandId, command: TableCommand, intent: u64) {
        let client = &mut self.clients[c];
        self.intents.insert(scoped_command_id(client.player, id), intent);
        client.waiting.insert(id, (self.host_ms, command.clone(), intent));
        let message = client.sync.command(id, command);
        client.to_server.push_back(encode_client(&message));
    }

    /// Re-sends the oldest command that waited too long; whether it did.
    fn retry(&mut self, c: usize) -> bool {
        let now = self.host_ms;
        let Some((&id, &(sent, _, intent))) = self.clients[c].waiting.iter().min_by_key(|(_, (sent, _, _))| *sent)
        else {
            return false;
        };
        if now < sent + RETRY_MS {
            return false;
        }
        let (_, command, _) = self.clients[c].waiting.remove(&id).expect("the oldest waiting command");
        let id = if self.config.plant == Some(Plant::FreshIdOnRetry) { self.command_id() } else { id };
        self.send_as(c, id, command, intent);
        true
    }

    /// The dealer: deals the next hand when two players can play, or ticks the clock when
    /// the player to act ran out of time.
    async fn deal(&mut self, t: usize) -> Check {
        let Some(server) = &self.server else { return Ok(()) };
        let table = server.tables[t].loaded.table();
        let command = if table.in_hand() {
            match table.turn() {
                Some(turn) if self.host_ms >= turn.bank_until_ms.unwrap_or(turn.deadline_ms) => TableCommand::Tick,
                _ => return Ok(()),
            }
        } else {
            let ready =
                table.seats().iter().flatten().filter(|s| !s.sitting_out && !s.stack.is_zero() && !s.leaving).count();
            if ready < 2 {
                return Ok(());
            }
            let mut seed = [0u8; 32];
            let mut salt = [0u8; 32];
            self.rng.fill_bytes(&mut seed);
            self.rng.fill_bytes(&mut salt);
            TableCommand::StartHand { seed, salt }
        };
        let id = self.command_id();
        let envelope = CommandEnvelope { id, now_ms: self.host_ms, command };
        let server = self.server.as_mut().expect("checked above");
        // A refusal (a player left in between) or an unavailable store: the dealer tries
        // again at a later step.
        let _ = self.service.handle(&mut server.tables[t].loaded, &envelope).await;
        self.publish(t).await?;
        self.timer(t);
        Ok(())
    }

    /// Sends the running turn's clock to the table's clients.
    fn timer(&mut self, t: usize) {
        let Some(server) = &mut self.server else { return };
        let host = &server.tables[t];
        let Some(frame) = host.feed.timer(host.loaded.table()) else { return };
        let bytes = encode_server(&frame);
        for &c in server.sessions.keys() {
            if self.clients[c].table == t {
                self.clients[c].to_client.push_back(bytes.clone());
            }
        }
    }

    /// What must hold after every step.
    async fn check_step(&mut self, cache: &CacheSink) -> Check {
        let Some(server) = &self.server else { return Ok(()) };
        for (t, host) in server.tables.iter().enumerate() {
            self.checks += 1;
            let table = host.loaded.table();
            if !table.chips_conserved() || (table.in_hand() && !table.hand().chips_conserved()) {
                return Err(self.violation("chips are conserved", format!("{}", self.streams[t])));
            }
            if host.feed.version() != host.loaded.version() {
                return Err(self.violation(
                    "the feed is at the table's version",
                    format!("{}: feed {:?}, table {:?}", self.streams[t], host.feed.version(), host.loaded.version()),
                ));
            }
            let stored = self.store.stream_version(&self.streams[t]).await.ok().flatten();
            if let Some((cached, _)) = cache.table(&self.streams[t])
                && Some(*cached) > stored
            {
                return Err(self.violation(
                    "a cache is never ahead of the store",
                    format!("{}: cached {cached}, stored {stored:?}", self.streams[t]),
                ));
            }
        }
        for c in 0..self.clients.len() {
            self.check_client(c, false)?;
        }
        Ok(())
    }

    /// A client that holds the table's latest version sees exactly the server's redacted
    /// view (`all`: every client must hold it).
    fn check_client(&mut self, c: usize, all: bool) -> Check {
        let Some(server) = &self.server else { return Ok(()) };
        let client = &self.clients[c];
        let host = &server.tables[client.table];
        if !all && (client.sync.version() != host.feed.version() || client.sync.is_behind()) {
            return Ok(());
        }
        self.checks += 1;
        let viewer = client.sync.viewer();
        let own = host.loaded.table().seat_of(client.player).map_or(Viewer::Spectator, Viewer::Seat);
        if client.sync.player().is_some() && viewer != own {
            return Err(Violation {
                step: self.step,
                invariant: "a client sees through its player's seat",
                detail: format!("client {c}: {viewer:?}, the player sits at {own:?}"),
            });
        }
        let expected = host.loaded.table().view_for(viewer);
        let seen = client.sync.view();
        if seen != expected || client.sync.version() != host.feed.version() {
            return Err(Violation {
                step: self.step,
                invariant: "a caught-up client sees the server's redacted view",
                detail: format!(
                    "client {c} ({viewer:?}) of {} at {:?} (server at {:?}; connected {}, session {:?}, behind {}): saw {seen:?}, expected {expected:?}",
                    self.streams[client.table],
                    client.sync.version(),
                    host.feed.version(),
                    client.connected,
                    server.sessions.get(&c).map(|s| (s.joined(), s.sent())),
                    client.sync.is_behind(),
                ),
            });
        }
        Ok(())
    }

    /// The faults stop: the server runs, every client connects and resumes, and every
    /// message and retry goes through until nothing moves.
    async fn quiesce(&mut self, models: &mut Projector<'_, MemorySink>, cache: &mut Projector<'_, CacheSink>) -> Check {
        self.store.arm(false);
        if self.server.is_none() {
            self.restart(cache.sink()).await?;
        }
        for c in 0..self.clients.len() {
            if !self.clients[c].connected {
                self.connect(c);
            }
        }
        self.wall_ms += RETRY_MS;
        self.host_ms = self.host_ms.max(self.wall_ms);
        for _ in 0..QUIESCE_STEPS {
            let mut moved = false;
            for c in 0..self.clients.len() {
                if self.retry(c) {
                    moved = true;
                }
                while !self.clients[c].to_server.is_empty() {
                    let bytes = self.clients[c].to_server.pop_front().expect("not empty");
                    self.serve(c, &bytes).await?;
                    moved = true;
                }
            }
            for c in 0..self.clients.len() {
                while !self.clients[c].to_client.is_empty() {
                    self.deliver_in_order(c);
                    moved = true;
                }
            }
            if !moved {
                // The resume timeout of clients still behind.
                for c in 0..self.clients.len() {
                    if self.clients[c].sync.is_behind() {
                        let resume = self.clients[c].sync.resume();
                        self.clients[c].to_server.push_back(encode_client(&resume));
                        moved = true;
                    }
                }
            }
            if !moved {
                break;
            }
        }
        models.catch_up().await.map_err(|e| self.violation("the read models catch up", e.to_string()))?;
        cache.catch_up().await.map_err(|e| self.violation("the caches catch up", e.to_string()))?;
        Ok(())
    }

    /// Delivers the next frame with no fault.
    fn deliver_in_order(&mut self, c: usize) {
        if let Some(bytes) = self.clients[c].to_client.pop_front() {
            self.receive(c, &bytes);
        }
    }

    async fn final_checks(
        &mut self,
        models: &mut Projector<'_, MemorySink>,
        cache: &mut Projector<'_, CacheSink>,
    ) -> Check {
        // Every client holds the server's view.
        for c in 0..self.clients.len() {
            self.check_client(c, true)?;
        }
        // The store verifies (gapless versions, commands stored once and whole, chips).
        let report = showdown_store::verify::verify(&*self.store, self.service.codec())
            .await
            .map_err(|e| self.violation("verify", e.to_string()))?;
        self.checks += 1;
        if let Some(problem) = report.problems.first() {
            return Err(self.violation("the store verifies", format!("{problem:?}")));
        }
        // Each table replays from empty to the live state.
        for t in 0..self.streams.len() {
            self.checks += 1;
            let replayed = self.replay(&self.streams[t].clone()).await?;
            let live = self.server.as_ref().map(|s| s.tables[t].loaded.table().clone());
            if live.as_ref() != Some(&replayed) {
                return Err(self.violation("a replay from empty equals the live table", self.streams[t].to_string()));
            }
        }
        self.check_exactly_once().await?;
        // Read models and caches equal a rebuild.
        let store: &dyn EventStore = &*self.store;
        let mut rebuilt = Projector::new(store, TableCodec::default(), MemorySink::new());
        rebuilt.catch_up().await.map_err(|e| self.violation("rebuild the read models", e.to_string()))?;
        self.checks += 1;
        if rebuilt.sink().rows() != models.sink().rows() {
            return Err(self.violation(
                "the read models equal a rebuild",
                first_difference(models.sink().rows(), rebuilt.sink().rows()),
            ));
        }
        let mut fresh = Projector::new(store, TableCodec::default(), CacheSink::new());
        fresh.catch_up().await.map_err(|e| self.violation("rebuild the caches", e.to_string()))?;
        self.checks += 1;
        let got: Vec<_> = cache.sink().tables().collect();
        let want: Vec<_> = fresh.sink().tables().collect();
        if got != want || cache.sink().net() != fresh.sink().net() {
            return Err(self.violation("the caches equal a rebuild", format!("{} tables cached", got.len())));
        }
        Ok(())
    }

    /// Every acknowledged command is stored exactly once; no intent is stored twice, under
    /// any id; every client command stored was sent.
    async fn check_exactly_once(&mut self) -> Check {
        let mut stored: BTreeMap<u64, Vec<CommandId>> = BTreeMap::new();
        for stream in self.streams.clone() {
            let mut last: Option<CommandId> = None;
            let mut runs: BTreeMap<CommandId, u32> = BTreeMap::new();
            let mut from = StreamVersion::FIRST;
            loop {
                let page = self
                    .store
                    .read_stream(&stream, from, 1024)
                    .await
                    .map_err(|e| self.violation("read", e.to_string()))?;
                for e in &page {
                    if last != Some(e.command) {
                        *runs.entry(e.command).or_default() += 1;
                        last = Some(e.command);
                    }
                    from = e.version.next();
                }
                if page.len() < 1024 {
                    break;
                }
            }
            for (command, count) in runs {
                self.checks += 1;
                if count > 1 {
                    return Err(
                        self.violation("a command is stored once", format!("{stream}: {command:?} {count} times"))
                    );
                }
                if let Some(intent) = self.intents.get(&command) {
                    stored.entry(*intent).or_default().push(command);
                }
            }
        }
        for (intent, ids) in &stored {
            if ids.len() > 1 {
                return Err(self.violation(
                    "a client command is applied once, retries included",
                    format!("command #{intent} stored under {} ids: {ids:?}", ids.len()),
                ));
            }
        }
        for intent in &self.acknowledged {
            self.checks += 1;
            if !stored.contains_key(intent) {
                return Err(self.violation("an acknowledged command is stored", format!("command #{intent}")));
            }
        }
        Ok(())
    }

    async fn report(&self, models: &Projector<'_, MemorySink>, violation: Option<Violation>) -> ChaosReport {
        let store_faults = self.store.faults();
        let mut faults = self.faults;
        faults.append_failed = store_faults.failed;
        faults.reply_lost = store_faults.replies_lost;
        let mut hash = Sha256::new();
        let mut events = 0;
        let mut hands = 0;
        let mut from = showdown_store::GlobalPosition::START;
        while let Ok(page) = self.store.read_all(from, 4096).await {
            for e in &page {
                hash.update(e.stream.as_str().as_bytes());
                hash.update(e.version.0.to_le_bytes());
                hash.update(e.command.0.to_le_bytes());
                hash.update(&e.payload);
                events += 1;
                hands += u64::from(e.event_type == "HandStarted");
                from = e.position.next();
            }
            if page.len() < 4096 {
                break;
            }
        }
        hash.update(format!("{:?}", models.sink().rows()).as_bytes());
        hash.update(format!("{faults:?}").as_bytes());
        let hash = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        ChaosReport {
            config: self.config,
            faults,
            counts: Counts {
                checks: self.checks,
                commands: self.commands,
                acknowledged: self.acknowledged.len() as u64,
                refused: self.refused,
                hands,
                events,
            },
            hash,
            violation,
        }
    }
}

/// The first kind of row where two read models differ, for the report.
fn first_difference(a: &showdown_store::readmodel::Changes, b: &showdown_store::readmodel::Changes) -> String {
    let parts = [
        ("tables", a.tables != b.tables),
        ("players", a.players != b.players),
        ("hands", a.hands != b.hands),
        ("hand_players", a.hand_players != b.hand_players),
        ("hand_actions", a.hand_actions != b.hand_actions),
        ("ledger", a.ledger != b.ledger),
        ("player_stats", a.stats != b.stats),
        ("audit_log", a.audit != b.audit),
    ];
    let differ: Vec<&str> = parts.iter().filter(|(_, d)| *d).map(|(n, _)| *n).collect();
    format!("rows differ in {}", if differ.is_empty() { "counters".to_owned() } else { differ.join(", ") })
}

/// Many seeds' runs, added up.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Summary {
    /// Seeds run.
    pub seeds: u64,
    /// Faults injected, over all runs.
    pub faults: Faults,
    /// Checks, commands, hands and events, over all runs.
    pub counts: Counts,
    /// SHA-256 over every run's hash, in seed order, in hex.
    pub hash: String,
    /// The runs in which an invariant did not hold, in seed order.
    pub failures: Vec<ChaosReport>,
}

/// Runs seeds `first`, `first + 1`, … (`count` of them) of `template` on `threads` threads.
/// The summary does not depend on the number of threads.
///
/// # Panics
/// If a thread panics (a bug in the simulator itself).
#[must_use]
pub fn run_seeds(template: &ChaosConfig, first: u64, count: u64, threads: usize) -> Summary {
    let threads = threads.clamp(1, 64) as u64;
    let reports: Vec<Vec<ChaosReport>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                scope.spawn(move || {
                    (k..count)
                        .step_by(threads as usize)
                        .map(|i| run(&ChaosConfig { seed: first.wrapping_add(i), ..*template }))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a chaos thread panicked")).collect()
    });
    let mut ordered: Vec<&ChaosReport> = reports.iter().flatten().collect();
    ordered.sort_by_key(|r| r.config.seed.wrapping_sub(first));
    let mut summary = Summary::default();
    let mut hash = Sha256::new();
    for r in ordered {
        summary.seeds += 1;
        summary.faults.add(&r.faults);
        summary.counts.add(&r.counts);
        hash.update(r.hash.as_bytes());
        if r.violation.is_some() {
            summary.failures.push(r.clone());
        }
    }
    summary.hash = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    summary
}
