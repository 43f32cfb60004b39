//! [`TableService`]: command handling over an [`EventStore`] with optimistic concurrency.
//!
//! A host keeps a [`LoadedTable`] (the folded table and the stream version it reflects) per
//! table it runs. [`TableService::handle`] decides the command on it, appends the events
//! with the table's version as the expected version, and applies them once the store
//! acknowledged them. When another writer got there first, it reads the events it missed
//! and decides again, a bounded number of times. A rejection is returned (nothing is
//! stored); the table is unchanged.
//!
//! Snapshots are taken every [`ServiceConfig::snapshot_every`] events and stored beside the
//! stream; [`TableService::load`] starts from the latest one and reads only the events after
//! it. A snapshot is a cache: one of another [`SNAPSHOT_SCHEMA`] or that fails to decode is
//! ignored and the stream is replayed from its start, and `showdown verify` checks that
//! every snapshot equals a replay.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use showdown_engine::table::{self, CommandEnvelope, CommandId, Recorded, Table, TableEvent, TableRejection};

use crate::codec::{Codec, TableCodec};
use crate::error::{CodecError, ErrorKind, StoreError};
use crate::store::EventStore;
use crate::streams::{META_COMMAND, META_PLAYER, RejectionRecord, audit_stream, command_name, command_player};
use crate::types::{Appended, ExpectedVersion, Snapshot, StoredEvent, StreamId, StreamVersion};

/// The shape of a snapshot's payload (an encoded [`Table`]). Bump it when `Table` changes
/// shape: older snapshots are then ignored and rebuilt, never upcast.
pub const SNAPSHOT_SCHEMA: u16 = 2;

/// How many events [`TableService::load`] reads at once.
const READ_PAGE: usize = 1024;

/// How a [`TableService`] retries and snapshots.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ServiceConfig {
    /// Times a command is decided again after losing a race for the stream's next version
    /// before [`ServiceError::Conflict`] is returned.
    pub conflict_retries: u32,
    /// Times an append is re-sent after the store was unavailable. Safe: the store
    /// deduplicates by command id, so an append that did land is not stored twice.
    pub unavailable_retries: u32,
    /// The wait before the first re-send; it doubles each time.
    pub unavailable_backoff: Duration,
    /// Store a snapshot once this many events were appended since the last one (0: never).
    pub snapshot_every: u64,
    /// Keep every refused command in the table's audit stream (`audit-<table>`), for the
    /// audit log.
    pub audit_rejections: bool,
}

impl Default for ServiceConfig {
    fn default() -> ServiceConfig {
        ServiceConfig {
            conflict_retries: 16,
            unavailable_retries: 3,
            unavailable_backoff: Duration::from_millis(50),
            snapshot_every: 1_000,
            audit_rejections: true,
        }
    }
}

/// A table folded from its stream, as a host keeps it between commands.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LoadedTable {
    stream: StreamId,
    table: Table,
    version: Option<StreamVersion>,
    snapshot: Option<StreamVersion>,
    /// The commands of the last [`RECENT_COMMANDS`] events folded, newest last: a command
    /// received again is answered from here without a store round trip.
    recent: VecDeque<CommandId>,
}

/// How many recent events' commands a [`LoadedTable`] remembers.
pub const RECENT_COMMANDS: usize = 256;

impl LoadedTable {
    /// A table whose stream has no events yet.
    #[must_use]
    pub fn new(stream: StreamId) -> LoadedTable {
        LoadedTable { stream, table: Table::new(), version: None, snapshot: None, recent: VecDeque::new() }
    }

    /// A table as a cache held it at `version` (a server starting cold): the events after
    /// `version` still have to be read ([`TableService::catch_up`]). The cache must hold the
    /// state the stream's events up to `version` give; commands handled before it are
    /// recognised through the store ([`EventStore::find_command`]).
    #[must_use]
    pub fn resume(stream: StreamId, table: Table, version: StreamVersion) -> LoadedTable {
        LoadedTable { stream, table, version: Some(version), snapshot: None, recent: VecDeque::new() }
    }

    /// Its stream.
    #[must_use]
    pub const fn stream(&self) -> &StreamId {
        &self.stream
    }

    /// The table.
    #[must_use]
    pub const fn table(&self) -> &Table {
        &self.table
    }

    /// The version of the last event folded in (`None`: the stream has none).
    #[must_use]
    pub const fn version(&self) -> Option<StreamVersion> {
        self.version
    }

    /// The version of the latest snapshot known to be stored.
    #[must_use]
    pub const fn snapshot_version(&self) -> Option<StreamVersion> {
        self.snapshot
    }

    /// The number of events folded in: the stream's length as this host knows it.
    #[must_use]
    pub fn events(&self) -> u64 {
        self.version.map_or(0, |v| v.0 + 1)
    }

    /// Applies an event stored at `version`.
    fn fold(&mut self, recorded: &Recorded, version: StreamVersion) {
        table::apply(&mut self.table, recorded);
        self.version = Some(version);
        if self.recent.back() != Some(&recorded.command) {
            if self.recent.len() == RECENT_COMMANDS {
                self.recent.pop_front();
            }
            self.recent.push_back(recorded.command);
        }
    }
}

/// What [`TableService::handle`] did with an accepted command.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Handled {
    /// The events the command caused, as stored (empty when it changed nothing, e.g. a
    /// `Tick` before any deadline, or for a duplicate).
    pub events: Vec<Recorded>,
    /// Where they were stored; `None` when there were none.
    pub appended: Option<Appended>,
    /// Races lost (and decided again) before this append won.
    pub conflicts: u32,
    /// Re-sends after the store was unavailable.
    pub resends: u32,
    /// Whether the command had been handled before (a retry): nothing new was stored,
    /// `events` is empty and `appended` says where the first handling put its events.
    pub duplicate: bool,
    /// Whether a snapshot was stored after the append.
    pub snapshot: bool,
}

/// Why [`TableService`] could not handle a command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The table refused the command; nothing was stored.
    #[error("{stream}: the command was refused")]
    Rejected {
        /// The table's stream.
        stream: StreamId,
        /// Why.
        #[source]
        rejection: TableRejection,
        /// Races lost before (the command was decided again on the newer table, which
        /// refused it).
        conflicts: u32,
    },
    /// Other writers kept winning the stream's next version.
    #[error("{stream}: still losing the race for the next version after {attempts} attempts")]
    Conflict {
        /// The table's stream.
        stream: StreamId,
        /// Appends tried.
        attempts: u32,
        /// The last conflict.
        #[source]
        last: StoreError,
    },
    /// A stored event cannot be decoded: an operator must look.
    #[error("{stream} at {version}: the stored event cannot be decoded")]
    Decode {
        /// The stream.
        stream: StreamId,
        /// The event's version.
        version: StreamVersion,
        /// Why.
        #[source]
        source: CodecError,
    },
    /// The stream's versions are not 0, 1, 2, …: an operator must look.
    #[error("{stream}: expected {expected} next, read {found}")]
    Gap {
        /// The stream.
        stream: StreamId,
        /// The version that should come next.
        expected: StreamVersion,
        /// The version read.
        found: StreamVersion,
    },
    /// An event could not be encoded.
    #[error("{stream}: cannot encode the command's events")]
    Encode {
        /// The stream.
        stream: StreamId,
        /// Why.
        #[source]
        source: CodecError,
    },
    /// The service's [`CommandGate`] refused the command; nothing reached the table or the
    /// store.
    #[error("{stream}: the command was refused before the table saw it: {refusal}")]
    Gated {
        /// The table's stream.
        stream: StreamId,
        /// Why.
        refusal: GateRefusal,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ServiceError {
    /// How to handle this error: [`ErrorKind::Rejected`] for a refused command,
    /// [`ErrorKind::Conflict`], [`ErrorKind::Corrupt`] for stored data that cannot be read,
    /// else the store error's kind.
    #[must_use]
    pub const fn kind(&self) -> ErrorKind {
        match self {
            ServiceError::Rejected { .. } | ServiceError::Gated { .. } | ServiceError::Encode { .. } => {
                ErrorKind::Rejected
            }
            ServiceError::Conflict { .. } => ErrorKind::Conflict,
            ServiceError::Decode { .. } | ServiceError::Gap { .. } => ErrorKind::Corrupt,
            ServiceError::Store(e) => e.kind(),
        }
    }
}

/// Runs tables over an [`EventStore`]: loads them, handles their commands, snapshots them.
/// Cheap to clone (the store and codec are shared).
#[derive(Clone)]
pub struct TableService {
    store: Arc<dyn EventStore>,
    codec: Arc<TableCodec>,
    config: ServiceConfig,
    gate: Option<Arc<dyn CommandGate>>,
}

/// A check a command passes before the table decides it (a rate limit, say). A refused
/// command never reaches the table or the store.
#[async_trait::async_trait]
pub trait CommandGate: Send + Sync {
    /// `Ok` lets the command through; `Err` says why it is refused. A gate whose own
    /// backing service is down should let commands through (and log it): the gate protects
    /// the tables, it must not stop them.
    async fn admit(&self, stream: &StreamId, command: &CommandEnvelope) -> Result<(), GateRefusal>;
}

/// Why a [`CommandGate`] refused a command.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{reason}")]
pub struct GateRefusal {
    /// What was wrong, for the sender (`player 7 is over the action rate limit …`).
    pub reason: String,
    /// When trying again may succeed.
    pub retry_after: Option<Duration>,
}

impl std::fmt::Debug for TableService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableService").field("codec", &self.codec).field("config", &self.config).finish()
    }
}

impl TableService {
    /// A service over `store` with the default codec and `config`.
    #[must_use]
    pub fn new(store: Arc<dyn EventStore>, config: ServiceConfig) -> TableService {
        TableService::with_codec(store, Arc::new(TableCodec::default()), config)
    }

    /// A service with a codec of the caller's (with upcasters, say).
    #[must_use]
    pub fn with_codec(store: Arc<dyn EventStore>, codec: Arc<TableCodec>, config: ServiceConfig) -> TableService {
        TableService { store, codec, config, gate: None }
    }

    /// The same service with a gate every command passes first.
    #[must_use]
    pub fn with_gate(mut self, gate: Arc<dyn CommandGate>) -> TableService {
        self.gate = Some(gate);
        self
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// The codec.
    #[must_use]
    pub fn codec(&self) -> &TableCodec {
        &self.codec
    }

    /// The table of `stream`: its latest usable snapshot, then every event after it.
    ///
    /// # Errors
    /// [`ServiceError::Decode`] or [`ServiceError::Gap`] for a stored event that cannot be
    /// folded, [`ServiceError::Store`] if the store fails.
    pub async fn load(&self, stream: &StreamId) -> Result<LoadedTable, ServiceError> {
        let mut loaded = LoadedTable::new(stream.clone());
        if let Some(snapshot) = self.store.load_snapshot(stream).await?
            && let Some(table) = decode_snapshot(&self.codec, &snapshot)
        {
            loaded.table = table;
            loaded.version = Some(snapshot.version);
            loaded.snapshot = Some(snapshot.version);
        }
        self.catch_up(&mut loaded).await?;
        Ok(loaded)
    }

    /// Folds the events appended to the table's stream since it was loaded.
    ///
    /// # Errors
    /// As [`TableService::load`].
    pub async fn catch_up(&self, loaded: &mut LoadedTable) -> Result<(), ServiceError> {
        loop {
            let from = StreamVersion(loaded.events());
            let page = self.store.read_stream(&loaded.stream, from, READ_PAGE).await?;
            for stored in &page {
                let recorded = self.decode(loaded, stored)?;
                loaded.fold(&recorded, stored.version);
            }
            if page.len() < READ_PAGE {
                return Ok(());
            }
        }
    }

    fn decode(&self, loaded: &LoadedTable, stored: &StoredEvent) -> Result<Recorded, ServiceError> {
        let expected = StreamVersion(loaded.events());
        if stored.version != expected {
            return Err(ServiceError::Gap { stream: loaded.stream.clone(), expected, found: stored.version });
        }
        self.codec.decode(stored).map_err(|source| ServiceError::Decode {
            stream: loaded.stream.clone(),
            version: stored.version,
            source,
        })
    }

    /// Decides `command` on the table, appends its events at the table's version and
    /// applies them. On a lost race, catches up and decides again, up to
    /// [`ServiceConfig::conflict_retries`] times.
    ///
    /// A command handled before (a retry after a lost answer: the same [`CommandId`]) is
    /// not applied again: it is answered as a [`Handled::duplicate`] with where it was
    /// stored, whether this host remembers it, the table now refuses it, or it now decides
    /// other events.
    ///
    /// # Errors
    /// [`ServiceError::Rejected`] if the table refuses the command (nothing is stored and
    /// the table is unchanged, caught up to the store); [`ServiceError::Conflict`] after
    /// too many lost races; [`ServiceError::Store`] if the store fails (after the re-sends
    /// that are safe); a decode error while catching up.
    pub async fn handle(&self, loaded: &mut LoadedTable, command: &CommandEnvelope) -> Result<Handled, ServiceError> {
        if loaded.recent.contains(&command.id) {
            return self.duplicate(loaded, command, 0).await;
        }
        if let Some(gate) = &self.gate {
            gate.admit(&loaded.stream, command)
                .await
                .map_err(|refusal| ServiceError::Gated { stream: loaded.stream.clone(), refusal })?;
        }
        let mut conflicts = 0;
        loop {
            let events = match table::decide(&loaded.table, command) {
                Ok(events) => events,
                Err(rejection) => {
                    // A command the table refuses may be one it took before, further back
                    // than this host remembers (a retry after a lost answer).
                    if self.store.find_command(&loaded.stream, command.id).await?.is_some() {
                        return self.duplicate(loaded, command, conflicts).await;
                    }
                    if self.config.audit_rejections {
                        self.record_rejection(loaded, command, &rejection).await;
                    }
                    return Err(ServiceError::Rejected { stream: loaded.stream.clone(), rejection, conflicts });
                }
            };
            if events.is_empty() {
                let handled =
                    Handled { events, appended: None, conflicts, resends: 0, duplicate: false, snapshot: false };
                return Ok(handled);
            }
            let mut new = self
                .codec
                .encode_all(&loaded.stream, &events)
                .map_err(|source| ServiceError::Encode { stream: loaded.stream.clone(), source })?;
            // What caused the events, for the audit log (the events alone do not always say).
            let meta = &mut new[0].metadata;
            meta.insert(META_COMMAND.to_owned(), command_name(&command.command).to_owned());
            if let Some(player) = command_player(&command.command) {
                meta.insert(META_PLAYER.to_owned(), player.0.to_string());
            }
            let expected = ExpectedVersion::of(loaded.version);
            match self.append(&loaded.stream, expected, command, new).await {
                Ok((appended, resends)) => {
                    if appended.deduplicated {
                        // Stored before: the stream is the truth, whatever this host holds.
                        self.catch_up(loaded).await?;
                    } else {
                        for (e, v) in events.iter().zip(appended.first_version.0..) {
                            loaded.fold(e, StreamVersion(v));
                        }
                    }
                    let snapshot = self.maybe_snapshot(loaded).await;
                    let duplicate = false;
                    return Ok(Handled { events, appended: Some(appended), conflicts, resends, duplicate, snapshot });
                }
                Err(StoreError::CommandConflict { .. }) => {
                    // Stored before with other events: it was decided on an earlier state.
                    return self.duplicate(loaded, command, conflicts).await;
                }
                Err(e @ StoreError::WrongExpectedVersion { .. }) => {
                    conflicts += 1;
                    if conflicts > self.config.conflict_retries {
                        return Err(ServiceError::Conflict {
                            stream: loaded.stream.clone(),
                            attempts: conflicts,
                            last: e,
                        });
                    }
                    self.catch_up(loaded).await?;
                }
                Err(e) => return Err(ServiceError::Store(e)),
            }
        }
    }

    /// The answer to a command stored before: where it was stored, nothing new; the table
    /// catches up with the store.
    async fn duplicate(
        &self,
        loaded: &mut LoadedTable,
        command: &CommandEnvelope,
        conflicts: u32,
    ) -> Result<Handled, ServiceError> {
        let appended = self.store.find_command(&loaded.stream, command.id).await?;
        self.catch_up(loaded).await?;
        Ok(Handled { events: Vec::new(), appended, conflicts, resends: 0, duplicate: true, snapshot: false })
    }

    /// Keeps a refused command in the table's audit stream. Best effort: the rejection is
    /// the answer whatever happens here, so a failure is only logged.
    async fn record_rejection(&self, loaded: &LoadedTable, command: &CommandEnvelope, rejection: &TableRejection) {
        let Ok(stream) = audit_stream(&loaded.stream) else { return };
        let record = RejectionRecord {
            command: command.id,
            now_ms: command.now_ms,
            kind: command_name(&command.command).to_owned(),
            player: command_player(&command.command),
            reason: crate::verify::error_chain(rejection),
        };
        let event = match record.to_new_event(&stream, self.codec.codec()) {
            Ok(event) => event,
            Err(e) => {
                return tracing::warn!(stream = %stream, error = %e, "cannot encode a refused command for the audit log");
            }
        };
        match self.store.append(&stream, ExpectedVersion::Any, command.id, vec![event]).await.map(|_| ()) {
            // Refused before, for another reason: the first record stands.
            Ok(()) | Err(StoreError::CommandConflict { .. }) => {}
            Err(e) => tracing::warn!(stream = %stream, error = %e, "cannot record a refused command in the audit log"),
        }
    }

    /// Appends, re-sending while the store is unavailable (safe: deduplicated by command).
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        command: &CommandEnvelope,
        events: Vec<crate::types::NewEvent>,
    ) -> Result<(Appended, u32), StoreError> {
        let mut resends = 0;
        let mut wait = self.config.unavailable_backoff;
        loop {
            match self.store.append(stream, expected, command.id, events.clone()).await {
                Err(e) if e.kind() == ErrorKind::Unavailable && resends < self.config.unavailable_retries => {
                    resends += 1;
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                }
                other => return other.map(|a| (a, resends)),
            }
        }
    }

    /// Stores a snapshot if enough events came since the last; a failure is not the
    /// command's: it is only reported (the next command tries again).
    async fn maybe_snapshot(&self, loaded: &mut LoadedTable) -> bool {
        let every = self.config.snapshot_every;
        let since = loaded.events() - loaded.snapshot.map_or(0, |v| v.0 + 1);
        if every == 0 || since < every {
            return false;
        }
        match self.snapshot(loaded).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(stream = %loaded.stream, error = %e, "cannot store a snapshot; the stream stays whole");
                false
            }
        }
    }

    /// Stores a snapshot of the table at its version now.
    ///
    /// # Errors
    /// [`ServiceError::Encode`] or the store's error.
    pub async fn snapshot(&self, loaded: &mut LoadedTable) -> Result<(), ServiceError> {
        let Some(version) = loaded.version else { return Ok(()) };
        let payload = self
            .codec
            .codec()
            .encode(&loaded.table)
            .map_err(|source| ServiceError::Encode { stream: loaded.stream.clone(), source })?;
        self.store.save_snapshot(&loaded.stream, Snapshot { version, schema: SNAPSHOT_SCHEMA, payload }).await?;
        loaded.snapshot = Some(version);
        Ok(())
    }
}

/// The table a snapshot holds, if it is of this code's [`SNAPSHOT_SCHEMA`] and decodes.
#[must_use]
pub fn decode_snapshot(codec: &TableCodec, snapshot: &Snapshot) -> Option<Table> {
    if snapshot.schema != SNAPSHOT_SCHEMA {
        return None;
    }
    codec.codec().decode(&snapshot.payload).ok()
}

/// Whether an event starts a hand (for counting hands).
#[must_use]
pub const fn starts_hand(event: &TableEvent) -> bool {
    matches!(event, TableEvent::HandStarted { .. })
}
