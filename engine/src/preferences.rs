//! Player preferences edited on several devices: a per-field last-writer-wins map over
//! hybrid logical clocks ([`PreferenceReplica`]), with version vectors to tell a concurrent
//! edit from one that knew what it overwrote.
//!
//! Each field holds a value or a tombstone (removed), stamped with the [`Hlc`] of the edit
//! and the edit's number on its device (a *dot*: the stamp's node and the counter). A merge
//! keeps, per field, the entry with the larger `(stamp, counter, value)`, and takes the
//! pointwise maximum of the version vectors: both are joins of a semilattice, so
//! [`PreferenceReplica::merge`] is commutative, associative and idempotent (property tests in
//! `engine/tests/preferences.rs`), and replicas that saw the same edits hold the same map,
//! whatever the order.
//!
//! A merge also reports the fields edited concurrently: the losing entry's dot was unknown to
//! the side whose entry won, so that writer did not see what it replaced
//! ([`FieldConflict`]). Fields overwritten by a writer that had seen the old value are not
//! conflicts.
//!
//! The profile keeps a replica ([`crate::player::Profile::preference_replica`]) built only
//! from its events: devices send theirs with [`crate::player::PlayerCommand::MergePreferences`],
//! and the profile's own `SetPreferences` writes are stamped as [`DeviceId::SERVER`]'s. A
//! device keeps its side in a [`Device`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::hlc::{DeviceId, Hlc, HlcError, VersionVector};

/// One field's value (or removal) and when, by whom, it was written.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Stamped {
    /// The value; `None`: removed (a tombstone, kept so that the removal wins over older
    /// values it meets later).
    pub value: Option<String>,
    /// The edit's timestamp; its node is the device that made it.
    pub at: Hlc,
    /// The edit's number on that device (its version-vector count after the edit).
    pub counter: u64,
}

impl Stamped {
    /// The order a merge keeps the larger of: the stamp, then the counter, then the value.
    fn key(&self) -> (Hlc, u64, &Option<String>) {
        (self.at, self.counter, &self.value)
    }
}

/// Two writers edited a field without either seeing the other's edit.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct FieldConflict {
    /// The field.
    pub key: String,
    /// The entry kept (the later stamp).
    pub kept: Stamped,
    /// The entry dropped.
    pub dropped: Stamped,
}

/// What a merge found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MergeReport {
    /// How the receiving replica's history related to the other's before the merge.
    pub causality: crate::hlc::Causality,
    /// Fields edited concurrently, by key.
    pub conflicts: Vec<FieldConflict>,
    /// Fields whose entry changed in the receiving replica, by key.
    pub changed: Vec<String>,
}

/// A replica of a player's preferences: stamped entries (values and tombstones) and the
/// edits it knows of.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
pub struct PreferenceReplica {
    /// Edits known, per device.
    pub versions: VersionVector,
    /// Every field ever written, by key.
    pub entries: BTreeMap<String, Stamped>,
}

impl PreferenceReplica {
    /// The preferences it holds: fields with a value.
    #[must_use]
    pub fn values(&self) -> BTreeMap<String, String> {
        self.entries.iter().filter_map(|(k, e)| e.value.clone().map(|v| (k.clone(), v))).collect()
    }

    /// The latest stamp of any entry.
    #[must_use]
    pub fn latest(&self) -> Option<Hlc> {
        self.entries.values().map(|e| e.at).max()
    }

    /// Records an edit by `at.node`: counts it in the version vector and stamps the field.
    pub fn write(&mut self, key: &str, value: Option<String>, at: Hlc) {
        let counter = self.versions.increment(at.node);
        self.entries.insert(key.to_owned(), Stamped { value, at, counter });
    }

    /// Merges `other` in: per field the later entry, and every edit either knows.
    pub fn merge(&mut self, other: &PreferenceReplica) -> MergeReport {
        let causality = self.versions.compare(&other.versions);
        let mut conflicts = Vec::new();
        let mut changed = Vec::new();
        for (key, theirs) in &other.entries {
            let Some(mine) = self.entries.get(key) else {
                self.entries.insert(key.clone(), theirs.clone());
                changed.push(key.clone());
                continue;
            };
            if mine == theirs {
                continue;
            }
            let theirs_wins = theirs.key() > mine.key();
            let (kept, dropped, kept_by) =
                if theirs_wins { (theirs, mine, &other.versions) } else { (mine, theirs, &self.versions) };
            // The winner's side knew the dropped edit: an overwrite, not a conflict.
            if !kept_by.knows(dropped.at.node, dropped.counter) {
                conflicts.push(FieldConflict { key: key.clone(), kept: kept.clone(), dropped: dropped.clone() });
            }
            if theirs_wins {
                self.entries.insert(key.clone(), theirs.clone());
                changed.push(key.clone());
            }
        }
        self.versions.merge(&other.versions);
        MergeReport { causality, conflicts, changed }
    }
}

/// A device's side: its id, its clock and its replica.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Device {
    /// Its id (never [`DeviceId::SERVER`]).
    pub id: DeviceId,
    /// Its hybrid logical clock.
    pub clock: Hlc,
    /// What it holds.
    pub replica: PreferenceReplica,
}

impl Device {
    /// A device that knows nothing yet.
    #[must_use]
    pub fn new(id: DeviceId) -> Device {
        Device { id, clock: Hlc::start(id), replica: PreferenceReplica::default() }
    }

    /// Sets (`Some`) or removes (`None`) a field at wall time `now_ms`.
    ///
    /// # Errors
    /// [`HlcError::LogicalOverflow`].
    pub fn edit(&mut self, now_ms: u64, key: &str, value: Option<String>) -> Result<(), HlcError> {
        self.clock = self.clock.tick(now_ms)?;
        self.replica.write(key, value, self.clock);
        Ok(())
    }

    /// Takes in another replica (the profile's, or another device's) at wall time `now_ms`:
    /// the clock moves past its latest stamp, then the replicas merge.
    ///
    /// # Errors
    /// [`HlcError::TooFarAhead`] for a replica stamped too far in this device's future
    /// (nothing is merged), [`HlcError::LogicalOverflow`].
    pub fn sync(&mut self, other: &PreferenceReplica, now_ms: u64) -> Result<MergeReport, HlcError> {
        if let Some(latest) = other.latest() {
            self.clock = self.clock.receive(latest, now_ms)?;
        }
        Ok(self.replica.merge(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::Causality;

    const PHONE: DeviceId = DeviceId(1);
    const LAPTOP: DeviceId = DeviceId(2);

    #[test]
    fn concurrent_edits_of_one_field_conflict_and_the_later_stamp_wins() {
        let (mut phone, mut laptop) = (Device::new(PHONE), Device::new(LAPTOP));
        phone.edit(1_000, "theme", Some("dark".into())).unwrap();
        laptop.edit(1_200, "theme", Some("light".into())).unwrap();
        laptop.edit(1_300, "sound", Some("off".into())).unwrap();
        let report = phone.sync(&laptop.replica, 1_100).unwrap();
        assert_eq!(report.causality, Causality::Concurrent);
        assert_eq!(report.conflicts.len(), 1);
        let c = &report.conflicts[0];
        assert_eq!(
            (c.key.as_str(), c.kept.value.as_deref(), c.dropped.value.as_deref()),
            ("theme", Some("light"), Some("dark"))
        );
        assert_eq!(report.changed, ["sound", "theme"]);
        assert_eq!(phone.replica.values()["theme"], "light");
        // The phone's clock moved past the laptop's stamps though its wall is behind.
        assert!(phone.clock > laptop.clock);
    }

    #[test]
    fn an_edit_that_saw_the_old_value_overwrites_it_without_a_conflict() {
        let (mut phone, mut laptop) = (Device::new(PHONE), Device::new(LAPTOP));
        phone.edit(1_000, "theme", Some("dark".into())).unwrap();
        laptop.sync(&phone.replica, 900).unwrap();
        // The laptop's wall is behind the phone's, but its clock moved past the phone's
        // stamp, so its edit wins as it should.
        laptop.edit(950, "theme", None).unwrap();
        let report = phone.sync(&laptop.replica, 1_001).unwrap();
        assert_eq!(report.causality, Causality::Before);
        assert!(report.conflicts.is_empty(), "{report:?}");
        assert!(!phone.replica.values().contains_key("theme"), "the removal wins");
        assert_eq!(phone.replica, laptop.replica);
    }
}
