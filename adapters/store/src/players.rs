//! Player profiles on a store: [`handle_player`] loads a player's stream, decides a
//! [`PlayerEnvelope`] on it and appends the events at the stream's version, deciding again
//! after a lost race. A command stored before (same id) is not applied twice.

use showdown_engine::player::{self, PlayerEnvelope, PlayerRecorded, PlayerRejection, Profile};
use showdown_engine::table::PlayerId;

use crate::codec::TableCodec;
use crate::error::{CodecError, StoreError};
use crate::store::EventStore;
use crate::streams::{decode_player, player_new_event, player_stream};
use crate::types::{ExpectedVersion, StreamVersion};

/// How many times a player command is decided again after losing a race.
const RETRIES: u32 = 8;

/// Why a player command did not apply.
#[derive(Debug, thiserror::Error)]
pub enum PlayerError {
    /// The profile refused it; nothing was stored.
    #[error("{player}: the command was refused")]
    Rejected {
        /// Whose profile.
        player: PlayerId,
        /// Why.
        #[source]
        rejection: PlayerRejection,
    },
    /// A stored event does not decode.
    #[error("{player}: a stored event does not decode")]
    Decode {
        /// Whose profile.
        player: PlayerId,
        /// Why.
        #[source]
        source: CodecError,
    },
    /// The store failed, or kept losing races.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A player's profile as stored, with the version it reflects.
///
/// # Errors
/// [`PlayerError::Decode`] or the store's error.
pub async fn load_player(
    store: &dyn EventStore,
    codec: &TableCodec,
    player: PlayerId,
) -> Result<(Profile, Option<StreamVersion>), PlayerError> {
    let stream = player_stream(player);
    let mut profile = Profile::default();
    let mut version = None;
    let mut from = StreamVersion::FIRST;
    loop {
        let page = store.read_stream(&stream, from, 1024).await?;
        let Some(last) = page.last() else { break };
        from = last.version.next();
        for stored in &page {
            let recorded =
                decode_player(stored, codec.codec()).map_err(|source| PlayerError::Decode { player, source })?;
            player::apply(&mut profile, &recorded);
            version = Some(stored.version);
        }
    }
    Ok((profile, version))
}

/// Decides `command` on the player's profile and stores its events; returns them (none for
/// a command stored before).
///
/// # Errors
/// [`PlayerError::Rejected`] with nothing stored, [`PlayerError::Decode`], or the store's
/// error ([`StoreError::WrongExpectedVersion`] after too many lost races).
pub async fn handle_player(
    store: &dyn EventStore,
    codec: &TableCodec,
    player: PlayerId,
    command: &PlayerEnvelope,
) -> Result<Vec<PlayerRecorded>, PlayerError> {
    let stream = player_stream(player);
    let mut attempt = 0;
    loop {
        let (profile, version) = load_player(store, codec, player).await?;
        let events = match player::decide(&profile, command) {
            Ok(events) => events,
            Err(rejection) => {
                if store.find_command(&stream, command.id).await?.is_some() {
                    return Ok(Vec::new());
                }
                return Err(PlayerError::Rejected { player, rejection });
            }
        };
        if events.is_empty() {
            // Nothing to record (a merge that brings nothing new).
            return Ok(events);
        }
        let new = events
            .iter()
            .enumerate()
            .map(|(i, e)| player_new_event(&stream, i as u32, e, codec.codec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| StoreError::Unavailable { location: stream.to_string(), source: Box::new(source) })?;
        match store.append(&stream, ExpectedVersion::of(version), command.id, new).await {
            Ok(appended) if appended.deduplicated => return Ok(Vec::new()),
            Ok(_) => return Ok(events),
            Err(StoreError::WrongExpectedVersion { .. }) if attempt < RETRIES => attempt += 1,
            Err(StoreError::CommandConflict { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
    }
}
