//! Client sync: the protocol that keeps a client's copy of a table in step with the table's
//! stream, over any transport that delivers whole frames (WebSocket messages, say), sans I/O.
//!
//! Everything here is a plain state machine or message; a host owns the sockets, the clock
//! and the [`crate::TableService`]. Per table the host keeps one [`TableFeed`] (the last
//! stored events, by version); per connection one [`ServerSession`]; a client keeps one
//! [`SyncClient`]. `docs/SYNC.md` describes the protocol; in short:
//!
//! - **Versions.** Every event is sent as a [`ServerMessage::PlayerAction`] with its
//!   [`StreamVersion`], redacted for the client ([`Recorded::redacted_for`]); every frame
//!   carries the stream's version when it was sent. A client folds an event only if it is
//!   exactly the one after what it holds; an older one is a duplicate and ignored; a newer one
//!   is a gap, and the client answers with [`ClientMessage::Resume`].
//! - **Resume.** The feed answers a resume with exactly the missing events while they are in
//!   its window ([`SyncConfig::resume_window`]), else with one [`ServerMessage::StateUpdate`]:
//!   the table redacted for the client ([`Table::redacted_for`]), which the client replaces
//!   its own with and folds the next events into.
//! - **Viewers follow players.** A session or client of a player sees as the player's seat
//!   from the player's `SatDown` to their `CashedOut`, and as a spectator otherwise; a session
//!   without a player is a spectator and may not send table commands.
//! - **Idempotency lives in the store.** A command's id is the client's; the session scopes
//!   it to the player ([`scoped_command_id`]), so two clients cannot collide and a retry, even
//!   after a reconnect, has the same stored id. [`crate::TableService::handle`] answers a
//!   command stored before as a duplicate (its recent window, else
//!   [`crate::EventStore::find_command`]), and the session answers a duplicate with
//!   [`ServerMessage::CommandDone`] again: a retried command is applied once.
//! - **Limits.** Frames are bincode 2 ([`crate::codec::Bincode`]); a frame longer than
//!   [`SyncConfig::max_frame_bytes`] is refused before it is decoded, a chat text longer than
//!   [`MAX_CHAT_BYTES`] too, and garbage or bytes after the message are [`FrameError`]s, never
//!   panics.
//!
//! The client trusts its server: it folds the server's events with
//! [`showdown_engine::table::apply`], which is total only for events the engine decided.

use std::collections::VecDeque;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use showdown_engine::table::{
    self, CommandEnvelope, CommandId, PlayerId, Recorded, SeatIdx, Table, TableCommand, TableEvent, TableRejection,
    TableView, Viewer,
};

use crate::codec::{Bincode, Codec};
use crate::error::{CodecError, ErrorKind};
use crate::service::{Handled, ServiceError};
use crate::streams::{command_name, command_player};
use crate::types::StreamVersion;
use crate::verify::error_chain;

/// The longest frame accepted by default: far above any message (a whole table redacted is
/// a few kilobytes), far below what would hurt a server.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 64 * 1024;

/// How many of the last events a [`TableFeed`] keeps by default for resumes.
pub const DEFAULT_RESUME_WINDOW: usize = 1024;

/// The longest chat text, in bytes of UTF-8.
pub const MAX_CHAT_BYTES: usize = 1_000;

/// How many commands a session lets one client have in flight by default.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

/// The limits of a sync server.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SyncConfig {
    /// The longest frame decoded, in bytes; a longer one is refused before decoding.
    pub max_frame_bytes: usize,
    /// How many of the last events a [`TableFeed`] keeps: a client further behind gets a
    /// [`ServerMessage::StateUpdate`] instead of the events.
    pub resume_window: usize,
    /// How many of one client's commands may wait for their answer at once.
    pub max_in_flight: usize,
}

impl Default for SyncConfig {
    fn default() -> SyncConfig {
        SyncConfig {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            resume_window: DEFAULT_RESUME_WINDOW,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// Server → client. Every frame carries the table stream's version at send time.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ServerFrame {
    /// The version of the stream's last event when the frame was sent (`None`: no events).
    pub version: Option<StreamVersion>,
    /// The message.
    pub message: ServerMessage,
}

/// What a server tells a client.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum ServerMessage {
    /// One table event at `version`, redacted for this client.
    PlayerAction {
        /// The event's version in the table's stream.
        version: StreamVersion,
        /// The event as this client may see it.
        event: Recorded,
    },
    /// The whole table as this client may see it ([`Table::redacted_for`]): sent when a
    /// client joins or resumes from too far behind. It replaces the client's table.
    StateUpdate {
        /// The version of the last event folded into `state` (`None`: no events).
        version: Option<StreamVersion>,
        /// The table, redacted for the client.
        state: Box<Table>,
    },
    /// The running turn's clock.
    TimerUpdate {
        /// Whose turn it is.
        seat: SeatIdx,
        /// The host time by which they should act.
        deadline_ms: u64,
        /// When their time bank runs out, once it runs.
        bank_until_ms: Option<u64>,
    },
    /// A chat line at the table.
    ChatMessage {
        /// Who wrote it.
        from: PlayerId,
        /// What they wrote (at most [`MAX_CHAT_BYTES`]).
        text: String,
        /// The server's time when it arrived.
        sent_ms: u64,
    },
    /// A command of this client was handled (also for a duplicate): its events are stored
    /// through `through`, and were sent before this frame.
    CommandDone {
        /// The client's id of the command.
        command: CommandId,
        /// The version of the command's last event (for a command that stored nothing, the
        /// version the client had been sent when it was handled).
        through: StreamVersion,
    },
    /// A command could not apply (refused, gated, the hand moved on), or a frame was
    /// malformed or too large.
    ErrorNotification {
        /// The client's id of the command, if the error is about one.
        command: Option<CommandId>,
        /// What went wrong.
        error: SyncError,
    },
}

/// Client → server.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum ClientMessage {
    /// A table command of this client's player; the server stamps the time.
    Command {
        /// Chosen by the client, unique among its player's commands: a retry sends it again.
        id: CommandId,
        /// The command.
        command: TableCommand,
    },
    /// The client folded every event through `version`.
    Ack {
        /// The last version folded.
        version: StreamVersion,
    },
    /// Send what the client misses after `last_version` (`None`: it holds nothing).
    Resume {
        /// The last version the client folded.
        last_version: Option<StreamVersion>,
    },
    /// A chat line for the table.
    Chat {
        /// At most [`MAX_CHAT_BYTES`] bytes.
        text: String,
    },
}

/// Why a frame was refused.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is longer than the limit; it was not decoded.
    #[error("a frame of {len} bytes is over the limit of {max} bytes")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not an encoded message.
    #[error("a malformed frame: expected a bincode-encoded {expected}: {reason}")]
    Malformed {
        /// What was expected (a client message or a server frame).
        expected: String,
        /// What the decoder found.
        reason: String,
    },
    /// Bytes are left after the message.
    #[error("{extra} bytes after the end of the {expected}")]
    TrailingBytes {
        /// What was decoded.
        expected: String,
        /// How many bytes were left.
        extra: usize,
    },
    /// A chat text over [`MAX_CHAT_BYTES`].
    #[error("a chat text of {len} bytes is over the limit of {max} bytes")]
    ChatTooLong {
        /// Its length in bytes.
        len: usize,
        /// [`MAX_CHAT_BYTES`].
        max: usize,
    },
}

/// Why a client's command or frame was not handled: sent in
/// [`ServerMessage::ErrorNotification`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SyncError {
    /// The table refused the command (nothing was stored): it is not the player's turn, the
    /// hand moved on, the amount is wrong…
    Rejected(TableRejection),
    /// The server's gate (a rate limit) refused the command before the table saw it.
    Gated {
        /// Why.
        reason: String,
        /// When trying again may succeed, in milliseconds.
        retry_after_ms: Option<u64>,
    },
    /// A table command from a connection that plays no player (a spectator).
    NotAPlayer,
    /// A command naming another player than the connection's.
    NotYourPlayer {
        /// The connection's player.
        you: PlayerId,
        /// The player the command named.
        named: PlayerId,
    },
    /// A command only the host sends (`Open`, `StartHand`, `Tick`, `Close`).
    HostOnly {
        /// The command's name.
        command: String,
    },
    /// Too many of the client's commands are waiting for an answer: retry later.
    TooManyInFlight {
        /// The limit.
        max: u32,
    },
    /// The store was unavailable or kept losing races: retry the command with the same id
    /// (it is applied at most once).
    Unavailable {
        /// What failed.
        reason: String,
    },
    /// The server failed in a way retrying will not fix (an operator must look).
    Server {
        /// What failed.
        reason: String,
    },
    /// A frame from the client was refused.
    Frame(FrameError),
}

impl SyncError {
    /// Whether sending the same command again (same id) may succeed: a [`SyncClient`] keeps
    /// such commands pending for [`SyncClient::retry`].
    #[must_use]
    pub const fn is_retryable(&self) -> bool {
        matches!(self, SyncError::Unavailable { .. } | SyncError::TooManyInFlight { .. })
    }

    /// What a [`crate::TableService::handle`] error means for the client.
    #[must_use]
    pub fn from_service(error: &ServiceError) -> SyncError {
        match error {
            ServiceError::Rejected { rejection, .. } => SyncError::Rejected(*rejection),
            ServiceError::Gated { refusal, .. } => SyncError::Gated {
                reason: refusal.reason.clone(),
                retry_after_ms: refusal.retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            },
            e => match e.kind() {
                ErrorKind::Conflict | ErrorKind::Unavailable => SyncError::Unavailable { reason: error_chain(e) },
                _ => SyncError::Server { reason: error_chain(e) },
            },
        }
    }
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The whole chain: the client has no other way to read the causes.
            SyncError::Rejected(rejection) => write!(f, "the table refused the command: {}", error_chain(rejection)),
            SyncError::Gated { reason, retry_after_ms: Some(ms) } => {
                write!(f, "the command was refused before the table saw it: {reason} (retry after {ms} ms)")
            }
            SyncError::Gated { reason, retry_after_ms: None } => {
                write!(f, "the command was refused before the table saw it: {reason}")
            }
            SyncError::NotAPlayer => f.write_str("a spectator cannot send table commands: connect as a player"),
            SyncError::NotYourPlayer { you, named } => {
                write!(f, "this connection plays for {you} and cannot send a command for {named}")
            }
            SyncError::HostOnly { command } => {
                write!(f, "{command} is sent by the table's host, not by clients")
            }
            SyncError::TooManyInFlight { max } => {
                write!(f, "{max} commands are already waiting for an answer: retry when one is answered")
            }
            SyncError::Unavailable { reason } => write!(f, "the server cannot store commands now ({reason}): retry"),
            SyncError::Server { reason } => write!(f, "the server failed: {reason}"),
            SyncError::Frame(e) => write!(f, "the frame was refused: {e}"),
        }
    }
}

impl std::error::Error for SyncError {}

// ---------------------------------------------------------------------------------------
// Frames.

/// Encodes a server frame.
///
/// # Panics
/// Never for these types: every field is plain data of known length, which bincode always
/// encodes.
#[must_use]
pub fn encode_server(frame: &ServerFrame) -> Vec<u8> {
    encode(frame)
}

/// Encodes a client message.
///
/// # Panics
/// Never, as [`encode_server`].
#[must_use]
pub fn encode_client(message: &ClientMessage) -> Vec<u8> {
    encode(message)
}

/// Decodes a client message from untrusted bytes: at most `limit` bytes (checked before
/// decoding), one whole message, a chat text of at most [`MAX_CHAT_BYTES`].
///
/// # Errors
/// [`FrameError`] saying what was wrong.
pub fn decode_client(bytes: &[u8], limit: usize) -> Result<ClientMessage, FrameError> {
    let message: ClientMessage = decode(bytes, limit, "client message")?;
    if let ClientMessage::Chat { text } = &message {
        check_chat(text)?;
    }
    Ok(message)
}

/// Decodes a server frame, with the checks of [`decode_client`].
///
/// # Errors
/// [`FrameError`] saying what was wrong.
pub fn decode_server(bytes: &[u8], limit: usize) -> Result<ServerFrame, FrameError> {
    let frame: ServerFrame = decode(bytes, limit, "server frame")?;
    if let ServerMessage::ChatMessage { text, .. } = &frame.message {
        check_chat(text)?;
    }
    Ok(frame)
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    match Bincode.encode(value) {
        Ok(bytes) => bytes,
        Err(e) => unreachable!("a sync message is plain data of known length and always encodes: {e}"),
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8], limit: usize, expected: &str) -> Result<T, FrameError> {
    if bytes.len() > limit {
        return Err(FrameError::TooLarge { len: bytes.len(), max: limit });
    }
    Bincode.decode(bytes).map_err(|e| match e {
        CodecError::TrailingBytes { extra } => FrameError::TrailingBytes { expected: expected.to_owned(), extra },
        e => FrameError::Malformed { expected: expected.to_owned(), reason: error_chain(&e) },
    })
}

/// Refuses a chat text over [`MAX_CHAT_BYTES`].
///
/// # Errors
/// [`FrameError::ChatTooLong`].
pub fn check_chat(text: &str) -> Result<(), FrameError> {
    if text.len() > MAX_CHAT_BYTES {
        return Err(FrameError::ChatTooLong { len: text.len(), max: MAX_CHAT_BYTES });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The server's side.

/// Why [`TableFeed::record`] refused an event: events must come in version order, one after
/// the other.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// Versions were skipped: the host missed events (read them from the store).
    #[error("expected {expected} next, got {found}: events are missing")]
    Gap {
        /// The version that should come next.
        expected: StreamVersion,
        /// The version given.
        found: StreamVersion,
    },
    /// A version recorded before.
    #[error("expected {expected} next, got {found} again")]
    Repeat {
        /// The version that should come next.
        expected: StreamVersion,
        /// The version given.
        found: StreamVersion,
    },
}

/// The last stored events of one table, by version, for every connection to it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TableFeed {
    /// The last events, oldest first, versions consecutive.
    window: VecDeque<(StreamVersion, Recorded)>,
    capacity: usize,
    /// The version of the last event recorded, or of the table the feed started from.
    version: Option<StreamVersion>,
}

/// Whose eyes a catch-up is redacted for.
#[derive(Clone, Copy, Debug)]
enum Lens {
    /// One viewer throughout.
    Fixed(Viewer),
    /// A player: their seat while they sit, a spectator otherwise.
    Player(PlayerId),
}

impl TableFeed {
    /// A feed for a table whose stream is at `version` (the host's
    /// [`crate::LoadedTable::version`]), keeping the last `resume_window` events recorded.
    #[must_use]
    pub fn new(version: Option<StreamVersion>, resume_window: usize) -> TableFeed {
        TableFeed { window: VecDeque::with_capacity(resume_window.min(4096)), capacity: resume_window, version }
    }

    /// The version of the last event recorded (`None`: the stream has none).
    #[must_use]
    pub const fn version(&self) -> Option<StreamVersion> {
        self.version
    }

    /// The oldest version a resume can still be served from events (`None`: none kept).
    #[must_use]
    pub fn oldest(&self) -> Option<StreamVersion> {
        self.window.front().map(|(v, _)| *v)
    }

    /// Records the event stored at `version`, the one after the last recorded.
    ///
    /// # Errors
    /// [`FeedError::Gap`] or [`FeedError::Repeat`]; the feed is unchanged.
    pub fn record(&mut self, version: StreamVersion, event: &Recorded) -> Result<(), FeedError> {
        let expected = self.version.map_or(StreamVersion::FIRST, StreamVersion::next);
        if version > expected {
            return Err(FeedError::Gap { expected, found: version });
        }
        if version < expected {
            return Err(FeedError::Repeat { expected, found: version });
        }
        if self.capacity > 0 {
            if self.window.len() == self.capacity {
                self.window.pop_front();
            }
            self.window.push_back((version, event.clone()));
        }
        self.version = Some(version);
        Ok(())
    }

    /// Records every event of a handled command (nothing for a duplicate, whose events were
    /// recorded when it was first handled).
    ///
    /// # Errors
    /// As [`TableFeed::record`], for the first event out of order.
    pub fn record_handled(&mut self, handled: &Handled) -> Result<(), FeedError> {
        let Some(appended) = handled.appended.filter(|a| !a.deduplicated) else { return Ok(()) };
        for (event, v) in handled.events.iter().zip(appended.first_version.0..) {
            self.record(StreamVersion(v), event)?;
        }
        Ok(())
    }

    /// What a client of `viewer` that folded every event through `last_version` misses:
    /// exactly the events after it, redacted for the viewer, while the window holds them;
    /// else one [`ServerMessage::StateUpdate`] of `table` redacted for the viewer. Nothing
    /// when the client is up to date.
    ///
    /// `table` must be the table at [`TableFeed::version`] (the host's table after the last
    /// event recorded).
    #[must_use]
    pub fn catch_up(&self, viewer: Viewer, last_version: Option<StreamVersion>, table: &Table) -> Vec<ServerFrame> {
        self.frames_after(last_version, table, Lens::Fixed(viewer)).0
    }

    /// The frame of the running turn's clock, if a turn runs.
    #[must_use]
    pub fn timer(&self, table: &Table) -> Option<ServerFrame> {
        let turn = table.turn()?;
        let message = ServerMessage::TimerUpdate {
            seat: turn.seat,
            deadline_ms: turn.deadline_ms,
            bank_until_ms: turn.bank_until_ms,
        };
        Some(self.frame(message))
    }

    /// A frame at the feed's version.
    #[must_use]
    pub fn frame(&self, message: ServerMessage) -> ServerFrame {
        ServerFrame { version: self.version, message }
    }

    /// The frames after `last` for `lens`, and the viewer at the feed's version.
    fn frames_after(&self, last: Option<StreamVersion>, table: &Table, lens: Lens) -> (Vec<ServerFrame>, Viewer) {
        let head_viewer = match lens {
            Lens::Fixed(viewer) => viewer,
            Lens::Player(player) => seat_viewer(table, player),
        };
        if last == self.version {
            return (Vec::new(), head_viewer);
        }
        let first = last.map_or(StreamVersion::FIRST, StreamVersion::next);
        let from_events = last < self.version && self.oldest().is_some_and(|oldest| oldest <= first);
        if !from_events {
            // Too far behind, or ahead of the stream (a client of another store, or a forged
            // version): the whole table replaces whatever it holds.
            let state = Box::new(table.redacted_for(head_viewer));
            return (vec![self.frame(ServerMessage::StateUpdate { version: self.version, state })], head_viewer);
        }
        let skip = usize::try_from(first.0 - self.oldest().map_or(0, |v| v.0)).unwrap_or(usize::MAX);
        let missing = self.window.range(skip..);
        // The viewer before the first missing event: walk the player's seatings back from now.
        let mut viewer = head_viewer;
        if let Lens::Player(player) = lens {
            for (_, r) in missing.clone().rev() {
                viewer = viewer_before(viewer, player, &r.event);
            }
        }
        let mut frames = Vec::with_capacity(missing.len());
        for (version, r) in missing {
            frames.push(self.frame(ServerMessage::PlayerAction { version: *version, event: r.redacted_for(viewer) }));
            if let Lens::Player(player) = lens {
                viewer = viewer_after(viewer, player, &r.event);
            }
        }
        (frames, viewer)
    }
}

/// The viewer a player is at a table: their seat, or a spectator if they have none.
fn seat_viewer(table: &Table, player: PlayerId) -> Viewer {
    table.seat_of(player).map_or(Viewer::Spectator, Viewer::Seat)
}

/// A player's viewer after an event: their seat from their `SatDown`, a spectator from their
/// `CashedOut`.
fn viewer_after(viewer: Viewer, player: PlayerId, event: &TableEvent) -> Viewer {
    match event {
        TableEvent::SatDown { seat, player: p, .. } if *p == player => Viewer::Seat(*seat),
        TableEvent::CashedOut { player: p, .. } if *p == player => Viewer::Spectator,
        _ => viewer,
    }
}

/// A player's viewer before an event, given the one after it.
fn viewer_before(viewer: Viewer, player: PlayerId, event: &TableEvent) -> Viewer {
    match event {
        TableEvent::SatDown { player: p, .. } if *p == player => Viewer::Spectator,
        TableEvent::CashedOut { seat, player: p, .. } if *p == player => Viewer::Seat(*seat),
        _ => viewer,
    }
}

/// The id a player's command is stored under: the first 16 bytes of SHA-256 over the player
/// and the client's id. Two clients choosing the same id cannot collide, and a retry of the
/// same command (also after a reconnect) maps to the same stored id, so the store applies it
/// once.
#[must_use]
pub fn scoped_command_id(player: PlayerId, id: CommandId) -> CommandId {
    let mut h = Sha256::new();
    h.update(b"showdown-sync-command\0");
    h.update(player.0.to_le_bytes());
    h.update(id.0.to_le_bytes());
    let digest = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    CommandId(u128::from_le_bytes(out))
}

/// What a host does with a client's message ([`ServerSession::receive`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Step {
    /// Hand the command to [`crate::TableService::handle`]; record its events in the feed,
    /// push them to every session, then send this session's [`ServerSession::handled`] frame.
    Handle(CommandEnvelope),
    /// Send these frames to this client (possibly none).
    Send(Vec<ServerFrame>),
    /// Send this frame to every client of the table (a chat line).
    Broadcast(ServerFrame),
}

/// One client's connection, on the server: who it plays for, what it was sent and acked,
/// and its commands in flight.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ServerSession {
    player: Option<PlayerId>,
    viewer: Viewer,
    /// Whether the client was given a starting point ([`ServerSession::join`] or a resume).
    joined: bool,
    sent: Option<StreamVersion>,
    acked: Option<StreamVersion>,
    /// (stored id, client's id) of the commands handed to the host, oldest first.
    in_flight: VecDeque<(CommandId, CommandId)>,
    config: SyncConfig,
}

impl ServerSession {
    /// A connection playing for `player` (`None`: a spectator, who may neither send table
    /// commands nor chat). It sees as the player's seat while they sit, as a spectator
    /// otherwise.
    #[must_use]
    pub fn new(player: Option<PlayerId>, config: SyncConfig) -> ServerSession {
        ServerSession {
            player,
            viewer: Viewer::Spectator,
            joined: false,
            sent: None,
            acked: None,
            in_flight: VecDeque::new(),
            config,
        }
    }

    /// The player this connection plays for.
    #[must_use]
    pub const fn player(&self) -> Option<PlayerId> {
        self.player
    }

    /// Whose eyes the client was last sent frames for.
    #[must_use]
    pub const fn viewer(&self) -> Viewer {
        self.viewer
    }

    /// The version of the last event sent (`None`: none, or not joined).
    #[must_use]
    pub const fn sent(&self) -> Option<StreamVersion> {
        self.sent
    }

    /// The last version the client acknowledged.
    #[must_use]
    pub const fn acked(&self) -> Option<StreamVersion> {
        self.acked
    }

    /// Events sent and not acknowledged: a host may drop a client that lets this grow.
    #[must_use]
    pub fn unacked(&self) -> u64 {
        let sent = self.sent.map_or(0, |v| v.0 + 1);
        let acked = self.acked.map_or(0, |v| v.0 + 1);
        sent.saturating_sub(acked)
    }

    /// Whether the client was given a starting point; before that [`ServerSession::push`]
    /// sends nothing.
    #[must_use]
    pub const fn joined(&self) -> bool {
        self.joined
    }

    fn lens(&self) -> Lens {
        self.player.map_or(Lens::Fixed(Viewer::Spectator), Lens::Player)
    }

    /// The frames a client joining now starts from: the table redacted for it (`table` is
    /// the table at the feed's version).
    #[must_use]
    pub fn join(&mut self, feed: &TableFeed, table: &Table) -> Vec<ServerFrame> {
        let viewer = match self.lens() {
            Lens::Fixed(viewer) => viewer,
            Lens::Player(player) => seat_viewer(table, player),
        };
        self.joined = true;
        self.viewer = viewer;
        self.sent = feed.version();
        let state = Box::new(table.redacted_for(viewer));
        vec![feed.frame(ServerMessage::StateUpdate { version: feed.version(), state })]
    }

    /// The frames for the events recorded in `feed` since this client was last sent any:
    /// call after recording a command's events (`table` is the table at the feed's version).
    /// Nothing before the client joined or resumed.
    #[must_use]
    pub fn push(&mut self, feed: &TableFeed, table: &Table) -> Vec<ServerFrame> {
        if !self.joined {
            return Vec::new();
        }
        self.send_after(self.sent, feed, table)
    }

    fn send_after(&mut self, last: Option<StreamVersion>, feed: &TableFeed, table: &Table) -> Vec<ServerFrame> {
        let (frames, viewer) = feed.frames_after(last, table, self.lens());
        self.joined = true;
        self.viewer = viewer;
        self.sent = feed.version();
        frames
    }

    /// Decodes a frame from the client and turns it into what the host must do; a frame
    /// that does not decode is answered with an [`ServerMessage::ErrorNotification`].
    #[must_use]
    pub fn receive_bytes(&mut self, bytes: &[u8], now_ms: u64, feed: &TableFeed, table: &Table) -> Step {
        match decode_client(bytes, self.config.max_frame_bytes) {
            Ok(message) => self.receive(message, now_ms, feed, table),
            Err(e) => Step::Send(vec![error_frame(feed, None, SyncError::Frame(e))]),
        }
    }

    /// Turns a client's message into what the host must do. `now_ms` is the host's clock
    /// (stamped on commands and chat lines); `table` is the table at the feed's version.
    #[must_use]
    pub fn receive(&mut self, message: ClientMessage, now_ms: u64, feed: &TableFeed, table: &Table) -> Step {
        match message {
            ClientMessage::Command { id, command } => match self.admit(id, &command) {
                Ok(stored) => {
                    self.in_flight.push_back((stored, id));
                    Step::Handle(CommandEnvelope { id: stored, now_ms, command })
                }
                Err(error) => Step::Send(vec![error_frame(feed, Some(id), error)]),
            },
            ClientMessage::Ack { version } => {
                // An ack of a version not sent yet is the client's confusion: it acks no more
                // than it was sent.
                let version = self.sent.map(|sent| version.min(sent));
                self.acked = self.acked.max(version);
                Step::Send(Vec::new())
            }
            ClientMessage::Resume { last_version } => Step::Send(self.send_after(last_version, feed, table)),
            ClientMessage::Chat { text } => {
                let Some(from) = self.player else {
                    return Step::Send(vec![error_frame(feed, None, SyncError::NotAPlayer)]);
                };
                if let Err(e) = check_chat(&text) {
                    return Step::Send(vec![error_frame(feed, None, SyncError::Frame(e))]);
                }
                Step::Broadcast(feed.frame(ServerMessage::ChatMessage { from, text, sent_ms: now_ms }))
            }
        }
    }

    /// Checks a command from the client; its stored id if it may go to the table.
    fn admit(&self, id: CommandId, command: &TableCommand) -> Result<CommandId, SyncError> {
        let Some(you) = self.player else { return Err(SyncError::NotAPlayer) };
        let Some(named) = command_player(command) else {
            return Err(SyncError::HostOnly { command: command_name(command).to_owned() });
        };
        if named != you {
            return Err(SyncError::NotYourPlayer { you, named });
        }
        if self.in_flight.len() >= self.config.max_in_flight {
            return Err(SyncError::TooManyInFlight {
                max: u32::try_from(self.config.max_in_flight).unwrap_or(u32::MAX),
            });
        }
        Ok(scoped_command_id(you, id))
    }

    /// The answer to a command handed out by [`Step::Handle`], from
    /// [`crate::TableService::handle`]'s result: [`ServerMessage::CommandDone`] (also for a
    /// duplicate) or [`ServerMessage::ErrorNotification`]. Send it after pushing the
    /// command's events, so the client holds them when it reads the answer.
    #[must_use]
    pub fn handled(
        &mut self,
        envelope: &CommandEnvelope,
        result: &Result<Handled, ServiceError>,
        feed: &TableFeed,
    ) -> ServerFrame {
        let client_id = match self.in_flight.iter().position(|(stored, _)| *stored == envelope.id) {
            Some(i) => self.in_flight.remove(i).map_or(envelope.id, |(_, client)| client),
            // Not one of this session's: answer under the id it was handled with.
            None => envelope.id,
        };
        match result {
            Ok(handled) => {
                let through = handled
                    .appended
                    .map(|a| a.last_version)
                    .or(self.sent)
                    .or(feed.version())
                    .unwrap_or(StreamVersion::FIRST);
                feed.frame(ServerMessage::CommandDone { command: client_id, through })
            }
            Err(e) => error_frame(feed, Some(client_id), SyncError::from_service(e)),
        }
    }

    /// An error frame for this client, at the feed's version.
    #[must_use]
    pub fn error(&self, feed: &TableFeed, command: Option<CommandId>, error: SyncError) -> ServerFrame {
        error_frame(feed, command, error)
    }
}

fn error_frame(feed: &TableFeed, command: Option<CommandId>, error: SyncError) -> ServerFrame {
    feed.frame(ServerMessage::ErrorNotification { command, error })
}

// ---------------------------------------------------------------------------------------
// The client's side.

/// What a frame did to a [`SyncClient`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Update {
    /// The event at this version was folded in.
    Applied {
        /// Its version.
        version: StreamVersion,
    },
    /// The table was replaced by a state at this version.
    Replaced {
        /// The state's version.
        version: Option<StreamVersion>,
    },
    /// An event or state the client holds already (a duplicate or a late frame): ignored.
    Stale {
        /// The version the frame carried.
        version: Option<StreamVersion>,
    },
    /// An event after a missing one: not folded; the client asks to resume.
    Gap {
        /// The version the client needs next.
        expected: StreamVersion,
        /// The version it got.
        found: StreamVersion,
    },
    /// The running turn's clock.
    Timer {
        /// Whose turn.
        seat: SeatIdx,
        /// The deadline.
        deadline_ms: u64,
        /// The end of the time bank, once it runs.
        bank_until_ms: Option<u64>,
    },
    /// A chat line.
    Chat {
        /// Who wrote it.
        from: PlayerId,
        /// The text.
        text: String,
        /// The server's time.
        sent_ms: u64,
    },
    /// A command of the client was handled; it is no longer pending.
    Done {
        /// The command.
        command: CommandId,
        /// The version of its last event.
        through: StreamVersion,
    },
    /// A command (or a frame) was refused. A refused command is no longer pending unless
    /// the error [`SyncError::is_retryable`].
    Failed {
        /// The command, if the error is about one.
        command: Option<CommandId>,
        /// Why.
        error: SyncError,
    },
}

/// What [`SyncClient::receive`] did, and what to send back.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Received {
    /// What the frame did.
    pub update: Update,
    /// A message to send now: a [`ClientMessage::Resume`] when the client found it misses
    /// events (sent once per gap; [`SyncClient::retry`] sends it again).
    pub send: Option<ClientMessage>,
}

/// A client's copy of a table: the table folded from the frames it received, redacted for
/// it, and its commands waiting for an answer.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SyncClient {
    player: Option<PlayerId>,
    viewer: Viewer,
    table: Table,
    version: Option<StreamVersion>,
    /// The newest version the server said it has.
    server_version: Option<StreamVersion>,
    /// A resume was sent and the client has not caught up since.
    resuming: bool,
    pending: Vec<(CommandId, TableCommand)>,
}

impl SyncClient {
    /// A client playing for `player` (`None`: a spectator), holding nothing yet: send
    /// [`SyncClient::resume`] first (or let the server [`ServerSession::join`] it).
    #[must_use]
    pub fn new(player: Option<PlayerId>) -> SyncClient {
        SyncClient {
            player,
            viewer: Viewer::Spectator,
            table: Table::new(),
            version: None,
            server_version: None,
            resuming: false,
            pending: Vec::new(),
        }
    }

    /// The player it plays for.
    #[must_use]
    pub const fn player(&self) -> Option<PlayerId> {
        self.player
    }

    /// Whose eyes it sees through: the player's seat while they sit, else a spectator.
    #[must_use]
    pub const fn viewer(&self) -> Viewer {
        self.viewer
    }

    /// The table as folded so far (redacted for the client).
    #[must_use]
    pub const fn table(&self) -> &Table {
        &self.table
    }

    /// What the client sees: its table's [`Table::view_for`] its viewer.
    #[must_use]
    pub fn view(&self) -> TableView {
        self.table.view_for(self.viewer)
    }

    /// The version of the last event folded (`None`: none).
    #[must_use]
    pub const fn version(&self) -> Option<StreamVersion> {
        self.version
    }

    /// Whether the server said it has events the client does not.
    #[must_use]
    pub fn is_behind(&self) -> bool {
        self.server_version > self.version
    }

    /// Commands sent and not answered yet, oldest first.
    #[must_use]
    pub fn pending(&self) -> &[(CommandId, TableCommand)] {
        &self.pending
    }

    /// Sends a command: it stays pending until the server answers it. The id must be new
    /// among the player's commands (a random one, say); a command sent again with the same
    /// id is applied once.
    #[must_use]
    pub fn command(&mut self, id: CommandId, command: TableCommand) -> ClientMessage {
        if !self.pending.iter().any(|(pending, _)| *pending == id) {
            self.pending.push((id, command.clone()));
        }
        ClientMessage::Command { id, command }
    }

    /// The message that asks for everything after what the client holds: send it on every
    /// (re)connection.
    #[must_use]
    pub fn resume(&mut self) -> ClientMessage {
        self.resuming = true;
        ClientMessage::Resume { last_version: self.version }
    }

    /// The acknowledgement of what the client folded, if it folded anything.
    #[must_use]
    pub fn ack(&self) -> Option<ClientMessage> {
        self.version.map(|version| ClientMessage::Ack { version })
    }

    /// What to send again after a timeout or a reconnection: a resume, then every pending
    /// command with its id (the server applies each once).
    #[must_use]
    pub fn retry(&mut self) -> Vec<ClientMessage> {
        let mut out = vec![self.resume()];
        out.extend(
            self.pending.iter().map(|(id, command)| ClientMessage::Command { id: *id, command: command.clone() }),
        );
        out
    }

    /// Decodes a frame (at most `limit` bytes) and folds it.
    ///
    /// # Errors
    /// [`FrameError`] for a frame that does not decode; the client is unchanged.
    pub fn receive_bytes(&mut self, bytes: &[u8], limit: usize) -> Result<Received, FrameError> {
        let frame = decode_server(bytes, limit)?;
        Ok(self.receive(frame))
    }

    /// Folds one frame from the server.
    pub fn receive(&mut self, frame: ServerFrame) -> Received {
        let ServerFrame { version: frame_version, message } = frame;
        let mut is_event = false;
        let update = match message {
            ServerMessage::PlayerAction { version, event } => {
                is_event = true;
                let expected = self.version.map_or(StreamVersion::FIRST, StreamVersion::next);
                if version < expected {
                    Update::Stale { version: Some(version) }
                } else if version > expected {
                    self.server_version = self.server_version.max(Some(version));
                    Update::Gap { expected, found: version }
                } else {
                    table::apply(&mut self.table, &event);
                    if let Some(player) = self.player {
                        self.viewer = viewer_after(self.viewer, player, &event.event);
                    }
                    self.version = Some(version);
                    Update::Applied { version }
                }
            }
            ServerMessage::StateUpdate { version, state } => {
                if version < self.version {
                    Update::Stale { version }
                } else {
                    self.table = *state;
                    self.version = version;
                    self.viewer = self.player.map_or(Viewer::Spectator, |p| seat_viewer(&self.table, p));
                    // A state answers a resume: whatever the client asked is covered.
                    self.resuming = false;
                    Update::Replaced { version }
                }
            }
            ServerMessage::TimerUpdate { seat, deadline_ms, bank_until_ms } => {
                Update::Timer { seat, deadline_ms, bank_until_ms }
            }
            ServerMessage::ChatMessage { from, text, sent_ms } => Update::Chat { from, text, sent_ms },
            ServerMessage::CommandDone { command, through } => {
                self.pending.retain(|(id, _)| *id != command);
                self.server_version = self.server_version.max(Some(through));
                Update::Done { command, through }
            }
            ServerMessage::ErrorNotification { command, error } => {
                if let Some(id) = command
                    && !error.is_retryable()
                {
                    self.pending.retain(|(pending, _)| *pending != id);
                }
                Update::Failed { command, error }
            }
        };
        // The server sends a command's events before anything else that follows them, so a
        // frame of another kind carrying a newer version means events were lost. (An
        // event's frame version may run ahead of it while a batch is on its way.)
        if !is_event {
            self.server_version = self.server_version.max(frame_version);
        }
        let send = if matches!(update, Update::Gap { .. }) || (!is_event && self.is_behind()) {
            (!self.resuming).then(|| self.resume())
        } else {
            None
        };
        if !self.is_behind() && !matches!(update, Update::Gap { .. }) {
            self.resuming = false;
        }
        Received { update, send }
    }
}

#[cfg(test)]
mod tests;
