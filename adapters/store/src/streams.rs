//! What kind of aggregate a stream holds, told by its name, and the records of streams that
//! are not tables.
//!
//! Tables are named freely by their hosts (`table-7`); two prefixes are reserved:
//! `player-<id>` holds a player's profile ([`showdown_engine::player`]) and
//! `audit-<table stream>` holds the commands that table refused ([`RejectionRecord`]), so
//! that the audit log, like every read model, is rebuilt from the store alone.

use serde::{Deserialize, Serialize};
use showdown_engine::player::PlayerRecorded;
use showdown_engine::table::{CommandId, PlayerId, TableCommand};

use crate::codec::Codec;
use crate::error::CodecError;
use crate::types::{EventId, InvalidStreamId, Metadata, NewEvent, StoredEvent, StreamId};

/// The prefix of a player's stream.
pub const PLAYER_PREFIX: &str = "player-";
/// The prefix of a table's stream of refused commands.
pub const AUDIT_PREFIX: &str = "audit-";
/// The event type of a [`RejectionRecord`].
pub const REJECTION_EVENT: &str = "CommandRejected";
/// The schema of a [`RejectionRecord`].
pub const REJECTION_SCHEMA: u16 = 1;

/// The metadata key naming the command that caused an event (on the first event of each
/// command [`crate::TableService`] appends).
pub const META_COMMAND: &str = "command";
/// The metadata key naming the player who sent the command, when the command names one.
pub const META_PLAYER: &str = "player";

/// What a stream holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum StreamKind {
    /// A table's events ([`showdown_engine::table::Recorded`]).
    Table,
    /// A player's profile events ([`PlayerRecorded`]).
    Player,
    /// A table's refused commands ([`RejectionRecord`]).
    Audit,
}

impl StreamKind {
    /// The kind of the stream named `stream`.
    #[must_use]
    pub fn of(stream: &StreamId) -> StreamKind {
        let name = stream.as_str();
        if name.starts_with(PLAYER_PREFIX) {
            StreamKind::Player
        } else if name.starts_with(AUDIT_PREFIX) {
            StreamKind::Audit
        } else {
            StreamKind::Table
        }
    }
}

/// The stream of a player's profile.
#[must_use]
pub fn player_stream(player: PlayerId) -> StreamId {
    StreamId::new(format!("{PLAYER_PREFIX}{}", player.0)).expect("a short, printable name")
}

/// The stream of the commands `table` refused.
///
/// # Errors
/// When the table's name is too long to take the prefix.
pub fn audit_stream(table: &StreamId) -> Result<StreamId, InvalidStreamId> {
    StreamId::new(format!("{AUDIT_PREFIX}{}", table.as_str()))
}

/// Whether a host may name a table `stream`: not one of the reserved prefixes.
#[must_use]
pub fn is_table_name(stream: &StreamId) -> bool {
    StreamKind::of(stream) == StreamKind::Table
}

/// A command a table refused, kept for the audit log.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RejectionRecord {
    /// The refused command's id.
    pub command: CommandId,
    /// The host time it carried.
    pub now_ms: u64,
    /// The command's kind ([`command_name`]).
    pub kind: String,
    /// The player who sent it, when the command names one.
    pub player: Option<PlayerId>,
    /// Why it was refused (the rejection's message).
    pub reason: String,
}

impl RejectionRecord {
    /// The stored event for this record. Its id is derived from the command's, so a
    /// retried command that is refused again is recorded once (the store deduplicates by
    /// command id within the audit stream).
    ///
    /// # Errors
    /// When the codec cannot encode it.
    pub fn to_new_event(&self, stream: &StreamId, codec: &impl Codec) -> Result<NewEvent, CodecError> {
        Ok(NewEvent {
            event_id: EventId::derive(stream, self.command, 0),
            schema: REJECTION_SCHEMA,
            event_type: REJECTION_EVENT.to_owned(),
            payload: codec.encode(self)?,
            metadata: Metadata::new(),
        })
    }
}

/// The name of a table command's kind, as the audit log shows it.
#[must_use]
pub const fn command_name(command: &TableCommand) -> &'static str {
    match command {
        TableCommand::Open { .. } => "Open",
        TableCommand::SitDown { .. } => "SitDown",
        TableCommand::TopUp { .. } => "TopUp",
        TableCommand::SitOut { .. } => "SitOut",
        TableCommand::SitIn { .. } => "SitIn",
        TableCommand::Leave { .. } => "Leave",
        TableCommand::StartHand { .. } => "StartHand",
        TableCommand::Act { .. } => "Act",
        TableCommand::Tick => "Tick",
        TableCommand::Close => "Close",
    }
}

/// The player a table command names, if any.
#[must_use]
pub const fn command_player(command: &TableCommand) -> Option<PlayerId> {
    match command {
        TableCommand::SitDown { player, .. }
        | TableCommand::TopUp { player, .. }
        | TableCommand::SitOut { player }
        | TableCommand::SitIn { player, .. }
        | TableCommand::Leave { player }
        | TableCommand::Act { player, .. } => Some(*player),
        TableCommand::Open { .. } | TableCommand::StartHand { .. } | TableCommand::Tick | TableCommand::Close => None,
    }
}

/// The stored event of a player's profile event.
///
/// # Errors
/// When the codec cannot encode it.
pub fn player_new_event(
    stream: &StreamId,
    index: u32,
    recorded: &PlayerRecorded,
    codec: &impl Codec,
) -> Result<NewEvent, CodecError> {
    Ok(NewEvent {
        event_id: EventId::derive(stream, recorded.command, index),
        schema: recorded.schema,
        event_type: recorded.event.name().to_owned(),
        payload: codec.encode(recorded)?,
        metadata: Metadata::new(),
    })
}

/// Decodes a stored player event.
///
/// # Errors
/// When the payload is not a [`PlayerRecorded`].
pub fn decode_player(stored: &StoredEvent, codec: &impl Codec) -> Result<PlayerRecorded, CodecError> {
    codec.decode(&stored.payload)
}

/// Decodes a stored rejection.
///
/// # Errors
/// When the payload is not a [`RejectionRecord`].
pub fn decode_rejection(stored: &StoredEvent, codec: &impl Codec) -> Result<RejectionRecord, CodecError> {
    codec.decode(&stored.payload)
}
