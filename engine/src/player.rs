//! A player's profile as an aggregate of its own: display name, preferences and avatar,
//! changed only through [`PlayerCommand`]s that [`decide`] turns into [`PlayerEvent`]s.
//!
//! One player is one stream (`player-<id>` in the stores). Tables name players by
//! [`PlayerId`] only; read models join the two. Like a table, a profile never forgets: a
//! player who leaves is marked deleted ([`PlayerEvent::Deleted`]) and refuses further changes,
//! so the history that names them stays whole.
//!
//! Preferences may be edited on several devices offline: each device keeps a
//! [`PreferenceReplica`] and sends it with [`PlayerCommand::MergePreferences`]; the profile
//! merges it field by field, last writer wins over hybrid logical clocks, and records what
//! changed and which fields were edited concurrently ([`PlayerEvent::PreferencesMerged`]).
//! `SetPreferences` writes are stamped as [`DeviceId::SERVER`]'s in the same replica, so the
//! profile's events stay the only truth and `preferences` always equals the replica's values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::hlc::{DeviceId, Hlc, HlcError, MAX_DRIFT_MS, VersionVector};
use crate::preferences::{PreferenceReplica, Stamped};
use crate::table::{CommandId, PlayerId};

/// The shape of [`PlayerRecorded`] when written; a change of shape is a new version.
pub const PLAYER_SCHEMA_VERSION: u16 = 1;

/// The longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 32;
/// The most preferences a player keeps.
pub const MAX_PREFERENCES: usize = 64;
/// The most preference fields a profile remembers, values and removals together (a removal
/// is remembered so that it wins over older values a device sends later).
pub const MAX_PREFERENCE_ENTRIES: usize = 4 * MAX_PREFERENCES;
/// The longest preference key, in bytes.
pub const MAX_PREFERENCE_KEY: usize = 64;
/// The longest preference value, in bytes.
pub const MAX_PREFERENCE_VALUE: usize = 1024;
/// The longest avatar id or URL, in bytes.
pub const MAX_AVATAR_FIELD: usize = 512;

/// Whether an avatar is the built-in one or uploaded by the player.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
pub enum AvatarKind {
    /// One of the built-in avatars.
    #[default]
    Default,
    /// Uploaded by the player: shown to others once approved.
    Custom,
}

/// Where a custom avatar stands with moderation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
pub enum Moderation {
    /// Not looked at yet (a custom avatar starts here).
    #[default]
    Pending,
    /// Fine to show.
    Approved,
    /// Refused: others see the default avatar.
    Rejected,
}

/// A player's avatar.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
pub struct Avatar {
    /// Its id (a built-in avatar's name, or the upload's id).
    pub id: String,
    /// Built-in or uploaded.
    pub kind: AvatarKind,
    /// Where a custom avatar is served from.
    pub url: Option<String>,
    /// Moderation status (a built-in avatar is approved).
    pub moderation: Moderation,
    /// The host time of the last change, in milliseconds.
    pub updated_ms: u64,
}

/// What a player (or a moderator, for [`PlayerCommand::ModerateAvatar`]) asks.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum PlayerCommand {
    /// Create the profile (the first command of a player's stream).
    Register {
        /// The player's id.
        player: PlayerId,
        /// The name others see.
        display_name: String,
    },
    /// Change the display name.
    Rename {
        /// The new name.
        display_name: String,
    },
    /// Set some preferences and remove others, field by field.
    SetPreferences {
        /// Keys to set, with their values.
        set: BTreeMap<String, String>,
        /// Keys to remove.
        unset: Vec<String>,
    },
    /// Choose a built-in avatar (`url` = `None`) or upload one (`url` = where it is served).
    SetAvatar {
        /// The avatar's id.
        id: String,
        /// The uploaded avatar's address, for a custom one.
        url: Option<String>,
    },
    /// Merge a device's preferences, field by field: per field the later stamp wins
    /// ([`crate::preferences`]). Sending the same replica again changes nothing.
    MergePreferences {
        /// The device that sends it (never [`DeviceId::SERVER`]).
        device: DeviceId,
        /// What the device holds: its stamped fields and the edits it knows of.
        replica: PreferenceReplica,
    },
    /// A moderator's verdict on the current custom avatar.
    ModerateAvatar {
        /// The avatar judged: must still be the current one.
        id: String,
        /// Approved or rejected.
        verdict: Moderation,
    },
    /// The player leaves for good: the profile is kept, marked deleted.
    Delete,
}

/// A command with its id and the host's time.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PlayerEnvelope {
    /// Chosen by the sender; the store applies a retried command once.
    pub id: CommandId,
    /// The host's clock, in milliseconds.
    pub now_ms: u64,
    /// The command.
    pub command: PlayerCommand,
}

/// What happened to a profile.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum PlayerEvent {
    /// The profile was created.
    Registered {
        /// The player's id.
        player: PlayerId,
        /// The name others see.
        display_name: String,
    },
    /// The display name changed.
    Renamed {
        /// The new name.
        display_name: String,
    },
    /// Preferences changed, field by field.
    PreferencesChanged {
        /// Keys set, with their values.
        set: BTreeMap<String, String>,
        /// Keys removed.
        unset: Vec<String>,
    },
    /// A device's preferences were merged in.
    PreferencesMerged {
        /// The device that sent them.
        device: DeviceId,
        /// The fields whose entry changed, with the entry now kept (a `None` value: removed).
        entries: BTreeMap<String, Stamped>,
        /// The edits the profile knows of after the merge.
        versions: VersionVector,
        /// Fields edited concurrently (neither writer saw the other's edit), resolved by
        /// the later stamp.
        conflicts: Vec<String>,
    },
    /// A new avatar was chosen (a custom one starts [`Moderation::Pending`]).
    AvatarChanged {
        /// The avatar.
        avatar: Avatar,
    },
    /// A moderator judged the current custom avatar.
    AvatarModerated {
        /// The avatar judged.
        id: String,
        /// The verdict.
        verdict: Moderation,
    },
    /// The player left for good.
    Deleted,
}

impl PlayerEvent {
    /// The variant's name, stable across versions (the stores' event type).
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            PlayerEvent::Registered { .. } => "PlayerRegistered",
            PlayerEvent::Renamed { .. } => "PlayerRenamed",
            PlayerEvent::PreferencesChanged { .. } => "PlayerPreferencesChanged",
            PlayerEvent::PreferencesMerged { .. } => "PlayerPreferencesMerged",
            PlayerEvent::AvatarChanged { .. } => "PlayerAvatarChanged",
            PlayerEvent::AvatarModerated { .. } => "PlayerAvatarModerated",
            PlayerEvent::Deleted => "PlayerDeleted",
        }
    }
}

/// A stored player event with the command that caused it and when.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PlayerRecorded {
    /// [`PLAYER_SCHEMA_VERSION`] when written.
    pub schema: u16,
    /// The command that caused it.
    pub command: CommandId,
    /// The host time carried by that command.
    pub now_ms: u64,
    /// The event.
    pub event: PlayerEvent,
}

/// Why a player command was refused. The profile is unchanged.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlayerRejection {
    /// The command's time is earlier than the last one's.
    #[error("the clock went back: now is {now_ms} ms, the last command was at {last_ms} ms")]
    ClockWentBack {
        /// The command's time.
        now_ms: u64,
        /// The last time recorded.
        last_ms: u64,
    },
    /// `Register` on a registered profile.
    #[error("{player} is already registered")]
    AlreadyRegistered {
        /// Who.
        player: PlayerId,
    },
    /// A command before `Register`.
    #[error("the player is not registered: send Register first")]
    NotRegistered,
    /// A command after `Delete`.
    #[error("{player} was deleted and can change nothing more")]
    Deleted {
        /// Who.
        player: PlayerId,
    },
    /// A display name that is empty, too long, or holds control characters.
    #[error("display name {name:?} is refused: it must be 1 to {MAX_NAME_CHARS} printable characters")]
    BadName {
        /// The name given.
        name: String,
    },
    /// A preference key outside `[a-z0-9_.-]{1,64}` or a value over the limit.
    #[error(
        "preference {key:?} is refused: keys are 1 to {MAX_PREFERENCE_KEY} of a-z 0-9 _ . - and values at most {MAX_PREFERENCE_VALUE} bytes"
    )]
    BadPreference {
        /// The key.
        key: String,
    },
    /// More preferences than [`MAX_PREFERENCES`] after the change.
    #[error("{count} preferences is more than the {MAX_PREFERENCES} a player keeps")]
    TooManyPreferences {
        /// How many there would be.
        count: usize,
    },
    /// More preference fields (values and removals) than [`MAX_PREFERENCE_ENTRIES`].
    #[error(
        "{count} preference fields (values and removals remembered for merging) is more than the {MAX_PREFERENCE_ENTRIES} a player keeps"
    )]
    TooManyPreferenceEntries {
        /// How many there would be.
        count: usize,
    },
    /// `MergePreferences` from the server's own device id.
    #[error("{device} is the server's: a device merging preferences needs an id of its own")]
    ReservedDevice {
        /// The id given.
        device: DeviceId,
    },
    /// A merged field stamped too far after the host's time.
    #[error(
        "preference {key:?} is stamped at {wall_ms} ms, more than {MAX_DRIFT_MS} ms after now ({now_ms} ms): fix the device's clock"
    )]
    StampAhead {
        /// The field.
        key: String,
        /// Its stamp's wall time.
        wall_ms: u64,
        /// The host's time.
        now_ms: u64,
    },
    /// A merged field names an edit its own version vector does not know: the replica is
    /// malformed.
    #[error(
        "preference {key:?} names edit {counter} of {device}, but the replica's version vector knows {known} of its edits"
    )]
    UnknownEdit {
        /// The field.
        key: String,
        /// The editing device.
        device: DeviceId,
        /// The edit's number.
        counter: u64,
        /// Edits of that device the replica knows.
        known: u64,
    },
    /// The profile's clock cannot move (more than `u32::MAX` edits in one millisecond).
    #[error("the profile's preference clock cannot move")]
    Clock(#[source] HlcError),
    /// An avatar id that is empty or too long, or a URL that is not `https://` or too long.
    #[error("avatar {id:?} is refused: an id of 1 to {MAX_AVATAR_FIELD} bytes and, for a custom one, an https:// URL")]
    BadAvatar {
        /// The id given.
        id: String,
    },
    /// A moderation verdict on an avatar that is not the current custom one, or `Pending`.
    #[error(
        "avatar {id:?} cannot be judged: the current avatar is {current:?} and the verdict must be Approved or Rejected"
    )]
    NotModeratable {
        /// The avatar named.
        id: String,
        /// The current avatar's id.
        current: String,
    },
}

/// A profile folded from its events.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Profile {
    /// Whose (None before `Registered`).
    pub player: Option<PlayerId>,
    /// The name others see.
    pub display_name: String,
    /// Preferences, by key (always the values of `preference_replica`).
    pub preferences: BTreeMap<String, String>,
    /// Every preference field with its stamp, and the edits known per device: what device
    /// merges are merged into (see [`crate::preferences`]).
    pub preference_replica: PreferenceReplica,
    /// The profile's hybrid logical clock (node [`DeviceId::SERVER`]), which stamps
    /// `SetPreferences` writes and moves past every merged stamp.
    pub preference_clock: Hlc,
    /// The avatar.
    pub avatar: Avatar,
    /// The host time of registration.
    pub registered_ms: u64,
    /// The host time of the last change.
    pub updated_ms: u64,
    /// The host time the player left, if they did.
    pub deleted_ms: Option<u64>,
}

/// The avatar every new profile has.
pub const DEFAULT_AVATAR: &str = "default";

/// Decides what a command does to a profile.
///
/// # Errors
/// A [`PlayerRejection`] saying what was wrong; the profile is unchanged.
pub fn decide(profile: &Profile, env: &PlayerEnvelope) -> Result<Vec<PlayerRecorded>, PlayerRejection> {
    if env.now_ms < profile.updated_ms {
        return Err(PlayerRejection::ClockWentBack { now_ms: env.now_ms, last_ms: profile.updated_ms });
    }
    let event = match (&env.command, profile.player) {
        (PlayerCommand::Register { player, display_name }, None) => {
            check_name(display_name)?;
            PlayerEvent::Registered { player: *player, display_name: display_name.clone() }
        }
        (PlayerCommand::Register { .. }, Some(player)) => return Err(PlayerRejection::AlreadyRegistered { player }),
        (_, None) => return Err(PlayerRejection::NotRegistered),
        (_, Some(player)) if profile.deleted_ms.is_some() => return Err(PlayerRejection::Deleted { player }),
        (PlayerCommand::Rename { display_name }, Some(_)) => {
            check_name(display_name)?;
            PlayerEvent::Renamed { display_name: display_name.clone() }
        }
        (PlayerCommand::SetPreferences { set, unset }, Some(_)) => {
            for (key, value) in set {
                check_preference(key, Some(value))?;
            }
            for key in unset {
                check_preference(key, None)?;
            }
            let mut after = profile.preferences.clone();
            after.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
            for key in unset {
                after.remove(key);
            }
            if after.len() > MAX_PREFERENCES {
                return Err(PlayerRejection::TooManyPreferences { count: after.len() });
            }
            let entries = &profile.preference_replica.entries;
            let new = set
                .keys()
                .chain(unset)
                .filter(|k| !entries.contains_key(*k))
                .collect::<std::collections::BTreeSet<_>>();
            if entries.len() + new.len() > MAX_PREFERENCE_ENTRIES {
                return Err(PlayerRejection::TooManyPreferenceEntries { count: entries.len() + new.len() });
            }
            profile.preference_clock.tick(env.now_ms).map_err(PlayerRejection::Clock)?;
            PlayerEvent::PreferencesChanged { set: set.clone(), unset: unset.clone() }
        }
        (PlayerCommand::MergePreferences { device, replica }, Some(_)) => {
            match merge_preferences(profile, *device, replica, env.now_ms)? {
                Some(event) => event,
                // Nothing new: the same replica sent again, or one the profile contains.
                None => return Ok(Vec::new()),
            }
        }
        (PlayerCommand::SetAvatar { id, url }, Some(_)) => {
            let url_ok = url.as_ref().is_none_or(|u| u.starts_with("https://") && u.len() <= MAX_AVATAR_FIELD);
            if id.is_empty() || id.len() > MAX_AVATAR_FIELD || !url_ok {
                return Err(PlayerRejection::BadAvatar { id: id.clone() });
            }
            let (kind, moderation) = match url {
                Some(_) => (AvatarKind::Custom, Moderation::Pending),
                None => (AvatarKind::Default, Moderation::Approved),
            };
            PlayerEvent::AvatarChanged {
                avatar: Avatar { id: id.clone(), kind, url: url.clone(), moderation, updated_ms: env.now_ms },
            }
        }
        (PlayerCommand::ModerateAvatar { id, verdict }, Some(_)) => {
            let current = &profile.avatar;
            if *id != current.id || current.kind != AvatarKind::Custom || *verdict == Moderation::Pending {
                return Err(PlayerRejection::NotModeratable { id: id.clone(), current: current.id.clone() });
            }
            PlayerEvent::AvatarModerated { id: id.clone(), verdict: *verdict }
        }
        (PlayerCommand::Delete, Some(_)) => PlayerEvent::Deleted,
    };
    Ok(vec![PlayerRecorded { schema: PLAYER_SCHEMA_VERSION, command: env.id, now_ms: env.now_ms, event }])
}

/// Applies one recorded event. Total; never fails.
pub fn apply(profile: &mut Profile, recorded: &PlayerRecorded) {
    let now = recorded.now_ms;
    profile.updated_ms = profile.updated_ms.max(now);
    match &recorded.event {
        PlayerEvent::Registered { player, display_name } => {
            profile.player = Some(*player);
            profile.display_name.clone_from(display_name);
            profile.registered_ms = now;
            profile.avatar = Avatar {
                id: DEFAULT_AVATAR.to_owned(),
                kind: AvatarKind::Default,
                url: None,
                moderation: Moderation::Approved,
                updated_ms: now,
            };
        }
        PlayerEvent::Renamed { display_name } => profile.display_name.clone_from(display_name),
        PlayerEvent::PreferencesChanged { set, unset } => {
            profile.preferences.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
            for key in unset {
                profile.preferences.remove(key);
            }
            // Stamped as the server's, after everything the profile has seen (decide checked
            // that the clock can move; saturating keeps `apply` total all the same).
            let clock = profile.preference_clock;
            let at = clock.tick(now).unwrap_or(Hlc { wall_ms: clock.wall_ms.max(now), ..clock });
            profile.preference_clock = at;
            for (key, value) in set {
                profile.preference_replica.write(key, Some(value.clone()), at);
            }
            for key in unset {
                profile.preference_replica.write(key, None, at);
            }
        }
        PlayerEvent::PreferencesMerged { entries, versions, .. } => {
            let replica = &mut profile.preference_replica;
            for (key, entry) in entries {
                match &entry.value {
                    Some(v) => profile.preferences.insert(key.clone(), v.clone()),
                    None => profile.preferences.remove(key),
                };
                replica.entries.insert(key.clone(), entry.clone());
            }
            replica.versions.merge(versions);
            if let Some(latest) = entries.values().map(|e| e.at).max() {
                let clock = profile.preference_clock;
                profile.preference_clock =
                    clock.receive(latest, now).unwrap_or(Hlc { node: clock.node, ..clock.max(latest) });
            }
        }
        PlayerEvent::AvatarChanged { avatar } => profile.avatar = avatar.clone(),
        PlayerEvent::AvatarModerated { verdict, .. } => {
            profile.avatar.moderation = *verdict;
            profile.avatar.updated_ms = now;
        }
        PlayerEvent::Deleted => profile.deleted_ms = Some(now),
    }
}

/// The event merging a device's replica into the profile, or `None` when it brings nothing
/// the profile does not hold.
fn merge_preferences(
    profile: &Profile,
    device: DeviceId,
    replica: &PreferenceReplica,
    now_ms: u64,
) -> Result<Option<PlayerEvent>, PlayerRejection> {
    if device == DeviceId::SERVER {
        return Err(PlayerRejection::ReservedDevice { device });
    }
    for (key, entry) in &replica.entries {
        check_preference(key, entry.value.as_ref())?;
        if entry.at.wall_ms > now_ms.saturating_add(MAX_DRIFT_MS) {
            return Err(PlayerRejection::StampAhead { key: key.clone(), wall_ms: entry.at.wall_ms, now_ms });
        }
        let known = replica.versions.get(entry.at.node);
        if entry.counter == 0 || known < entry.counter {
            return Err(PlayerRejection::UnknownEdit {
                key: key.clone(),
                device: entry.at.node,
                counter: entry.counter,
                known,
            });
        }
    }
    if let Some(latest) = replica.latest() {
        profile.preference_clock.receive(latest, now_ms).map_err(PlayerRejection::Clock)?;
    }
    let mut merged = profile.preference_replica.clone();
    let report = merged.merge(replica);
    if report.changed.is_empty() && merged.versions == profile.preference_replica.versions {
        return Ok(None);
    }
    let live = merged.entries.values().filter(|e| e.value.is_some()).count();
    if live > MAX_PREFERENCES {
        return Err(PlayerRejection::TooManyPreferences { count: live });
    }
    if merged.entries.len() > MAX_PREFERENCE_ENTRIES {
        return Err(PlayerRejection::TooManyPreferenceEntries { count: merged.entries.len() });
    }
    let entries = report.changed.iter().map(|k| (k.clone(), merged.entries[k].clone())).collect();
    let conflicts = report.conflicts.into_iter().map(|c| c.key).collect();
    Ok(Some(PlayerEvent::PreferencesMerged { device, entries, versions: merged.versions, conflicts }))
}

fn check_name(name: &str) -> Result<(), PlayerRejection> {
    let chars = name.chars().count();
    let printable = name.chars().all(|c| !c.is_control());
    if chars == 0 || chars > MAX_NAME_CHARS || !printable || name.trim() != name {
        return Err(PlayerRejection::BadName { name: name.to_owned() });
    }
    Ok(())
}

fn check_preference(key: &str, value: Option<&String>) -> Result<(), PlayerRejection> {
    let key_ok = !key.is_empty()
        && key.len() <= MAX_PREFERENCE_KEY
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'));
    if !key_ok || value.is_some_and(|v| v.len() > MAX_PREFERENCE_VALUE) {
        return Err(PlayerRejection::BadPreference { key: key.to_owned() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(n: u128, now_ms: u64, command: PlayerCommand) -> PlayerEnvelope {
        PlayerEnvelope { id: CommandId(n), now_ms, command }
    }

    fn run(profile: &mut Profile, e: &PlayerEnvelope) -> Result<(), PlayerRejection> {
        for r in decide(profile, e)? {
            apply(profile, &r);
        }
        Ok(())
    }

    fn registered() -> Profile {
        let mut p = Profile::default();
        run(&mut p, &env(1, 10, PlayerCommand::Register { player: PlayerId(7), display_name: "Ann".into() })).unwrap();
        p
    }

    #[test]
    fn a_profile_changes_only_through_its_events() {
        let mut p = registered();
        assert_eq!(p.player, Some(PlayerId(7)));
        assert_eq!(p.avatar.id, DEFAULT_AVATAR);
        let set = BTreeMap::from([("theme".to_owned(), "dark".to_owned()), ("sound".to_owned(), "off".to_owned())]);
        run(&mut p, &env(2, 20, PlayerCommand::SetPreferences { set, unset: vec![] })).unwrap();
        run(&mut p, &env(3, 30, PlayerCommand::SetPreferences { set: BTreeMap::new(), unset: vec!["sound".into()] }))
            .unwrap();
        assert_eq!(p.preferences, BTreeMap::from([("theme".to_owned(), "dark".to_owned())]));
        run(&mut p, &env(4, 40, PlayerCommand::SetAvatar { id: "up-1".into(), url: Some("https://cdn/a.png".into()) }))
            .unwrap();
        assert_eq!((p.avatar.kind, p.avatar.moderation), (AvatarKind::Custom, Moderation::Pending));
        run(&mut p, &env(5, 50, PlayerCommand::ModerateAvatar { id: "up-1".into(), verdict: Moderation::Rejected }))
            .unwrap();
        assert_eq!((p.avatar.moderation, p.avatar.updated_ms), (Moderation::Rejected, 50));
        run(&mut p, &env(6, 60, PlayerCommand::Delete)).unwrap();
        assert_eq!(p.deleted_ms, Some(60));
        assert_eq!(
            run(&mut p, &env(7, 70, PlayerCommand::Rename { display_name: "Bo".into() })),
            Err(PlayerRejection::Deleted { player: PlayerId(7) })
        );
    }

    #[test]
    fn bad_commands_are_refused_and_change_nothing() {
        let mut fresh = Profile::default();
        assert_eq!(
            run(&mut fresh, &env(1, 1, PlayerCommand::Rename { display_name: "X".into() })),
            Err(PlayerRejection::NotRegistered)
        );
        let p = registered();
        let cases = [
            (PlayerCommand::Register { player: PlayerId(7), display_name: "A".into() }, "already registered"),
            (PlayerCommand::Rename { display_name: String::new() }, "1 to 32"),
            (PlayerCommand::Rename { display_name: "x".repeat(33) }, "1 to 32"),
            (PlayerCommand::Rename { display_name: "a\u{7}b".into() }, "printable"),
            (PlayerCommand::Rename { display_name: " padded".into() }, "printable"),
            (
                PlayerCommand::SetPreferences {
                    set: BTreeMap::from([("Theme".to_owned(), "x".to_owned())]),
                    unset: vec![],
                },
                "a-z 0-9",
            ),
            (
                PlayerCommand::SetPreferences {
                    set: BTreeMap::from([("k".to_owned(), "v".repeat(MAX_PREFERENCE_VALUE + 1))]),
                    unset: vec![],
                },
                "values at most",
            ),
            (
                PlayerCommand::SetPreferences {
                    set: (0..=MAX_PREFERENCES).map(|i| (format!("k{i}"), String::new())).collect(),
                    unset: vec![],
                },
                "more than the 64",
            ),
            (PlayerCommand::SetAvatar { id: "a".into(), url: Some("http://plain".into()) }, "https://"),
            (PlayerCommand::SetAvatar { id: String::new(), url: None }, "https://"),
            (PlayerCommand::ModerateAvatar { id: "default".into(), verdict: Moderation::Approved }, "cannot be judged"),
        ];
        for (command, says) in cases {
            let mut q = p.clone();
            let err = run(&mut q, &env(9, 99, command.clone())).expect_err(&format!("{command:?} must be refused"));
            assert!(err.to_string().contains(says), "{command:?}: {err}");
            assert_eq!(q, p, "a refused command changed the profile");
        }
        let mut q = p.clone();
        assert!(matches!(
            run(&mut q, &env(9, 5, PlayerCommand::Delete)),
            Err(PlayerRejection::ClockWentBack { now_ms: 5, last_ms: 10 })
        ));
    }
}
