//! Hybrid logical clocks and version vectors: how devices that edit the same data offline
//! order their edits and tell whether two edits knew of each other.
//!
//! - [`Hlc`] (Kulkarni et al., "Logical Physical Clocks", 2014): a timestamp that stays
//!   close to wall time but never goes back and always moves past every timestamp it has
//!   seen, so "later" respects causality even between devices whose clocks disagree. Total
//!   order: wall time, then the logical counter, then the node. Pure: the wall time is an
//!   argument (`now_ms`), never read here.
//! - [`VersionVector`]: per device, how many edits it made that this replica knows of. Two
//!   vectors tell whether one history contains the other or the two are concurrent
//!   ([`Causality`]), which an HLC alone cannot say.
//!
//! `crate::preferences` builds the per-field last-writer-wins map of player preferences on
//! these; `docs/RECONCILE.md` explains the merge.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A device (a phone, a browser) or the server, as a writer of preferences.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceId(pub u64);

impl DeviceId {
    /// The server: writes that come through the profile's own commands (not a device's
    /// merge) are stamped as its.
    pub const SERVER: DeviceId = DeviceId(0);
}

impl std::fmt::Display for DeviceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "device {}", self.0)
    }
}

/// How far ahead of the receiver's wall time a remote timestamp may be: one minute. A clock
/// further ahead would win every last-writer-wins race until real time caught up, so it is
/// refused ([`HlcError::TooFarAhead`]).
pub const MAX_DRIFT_MS: u64 = 60_000;

/// A hybrid logical clock timestamp. Ordered by `wall_ms`, then `logical`, then `node`, so
/// two devices never produce equal timestamps.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize)]
pub struct Hlc {
    /// The largest wall time seen, in milliseconds.
    pub wall_ms: u64,
    /// Events at that wall time before this one.
    pub logical: u32,
    /// Whose clock.
    pub node: DeviceId,
}

/// Why a clock cannot move.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HlcError {
    /// A remote timestamp is further ahead of the local wall time than [`MAX_DRIFT_MS`].
    #[error(
        "a timestamp at {remote_ms} ms is more than {MAX_DRIFT_MS} ms ahead of the wall time {now_ms} ms: fix that device's clock"
    )]
    TooFarAhead {
        /// The remote timestamp's wall time.
        remote_ms: u64,
        /// The local wall time.
        now_ms: u64,
    },
    /// More than `u32::MAX` events at one wall millisecond.
    #[error("the logical counter ran out at {wall_ms} ms")]
    LogicalOverflow {
        /// The wall time.
        wall_ms: u64,
    },
}

impl Hlc {
    /// The clock of `node` before its first event.
    #[must_use]
    pub const fn start(node: DeviceId) -> Hlc {
        Hlc { wall_ms: 0, logical: 0, node }
    }

    /// The timestamp of a local event (an edit, a send) at wall time `now_ms`: later than
    /// this one, and at `now_ms` unless this clock is already past it.
    ///
    /// # Errors
    /// [`HlcError::LogicalOverflow`].
    pub fn tick(self, now_ms: u64) -> Result<Hlc, HlcError> {
        if now_ms > self.wall_ms {
            return Ok(Hlc { wall_ms: now_ms, logical: 0, node: self.node });
        }
        let logical = self.logical.checked_add(1).ok_or(HlcError::LogicalOverflow { wall_ms: self.wall_ms })?;
        Ok(Hlc { wall_ms: self.wall_ms, logical, node: self.node })
    }

    /// The timestamp after receiving `remote` at wall time `now_ms`: later than both.
    ///
    /// # Errors
    /// [`HlcError::TooFarAhead`] if `remote` is more than [`MAX_DRIFT_MS`] ahead of
    /// `now_ms`; [`HlcError::LogicalOverflow`].
    pub fn receive(self, remote: Hlc, now_ms: u64) -> Result<Hlc, HlcError> {
        if remote.wall_ms > now_ms.saturating_add(MAX_DRIFT_MS) {
            return Err(HlcError::TooFarAhead { remote_ms: remote.wall_ms, now_ms });
        }
        let wall_ms = self.wall_ms.max(remote.wall_ms).max(now_ms);
        let next = |c: u32| c.checked_add(1).ok_or(HlcError::LogicalOverflow { wall_ms });
        let logical = match (wall_ms == self.wall_ms, wall_ms == remote.wall_ms) {
            (true, true) => next(self.logical.max(remote.logical))?,
            (true, false) => next(self.logical)?,
            (false, true) => next(remote.logical)?,
            (false, false) => 0,
        };
        Ok(Hlc { wall_ms, logical, node: self.node })
    }
}

/// How two histories relate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Causality {
    /// This one is contained in the other (the other saw everything this saw, and more).
    Before,
    /// This one contains the other.
    After,
    /// The same edits.
    Equal,
    /// Each has edits the other has not seen.
    Concurrent,
}

impl Causality {
    /// The relation seen from the other side.
    #[must_use]
    pub const fn reverse(self) -> Causality {
        match self {
            Causality::Before => Causality::After,
            Causality::After => Causality::Before,
            other => other,
        }
    }
}

/// Per device, how many of its edits a replica knows of. Counts of zero are not kept, so
/// two vectors are equal exactly when they know the same edits.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(from = "BTreeMap<DeviceId, u64>", into = "BTreeMap<DeviceId, u64>")]
pub struct VersionVector(BTreeMap<DeviceId, u64>);

impl From<BTreeMap<DeviceId, u64>> for VersionVector {
    fn from(mut counts: BTreeMap<DeviceId, u64>) -> VersionVector {
        counts.retain(|_, n| *n > 0);
        VersionVector(counts)
    }
}

impl From<VersionVector> for BTreeMap<DeviceId, u64> {
    fn from(v: VersionVector) -> BTreeMap<DeviceId, u64> {
        v.0
    }
}

impl VersionVector {
    /// Knows no edit.
    #[must_use]
    pub const fn new() -> VersionVector {
        VersionVector(BTreeMap::new())
    }

    /// Edits of `device` known.
    #[must_use]
    pub fn get(&self, device: DeviceId) -> u64 {
        self.0.get(&device).copied().unwrap_or(0)
    }

    /// The devices with edits known, and how many.
    pub fn iter(&self) -> impl Iterator<Item = (DeviceId, u64)> + '_ {
        self.0.iter().map(|(d, n)| (*d, *n))
    }

    /// Counts one more edit of `device` and returns its number (from 1); saturates at
    /// `u64::MAX`, which no device reaches.
    pub fn increment(&mut self, device: DeviceId) -> u64 {
        let n = self.0.entry(device).or_insert(0);
        *n = n.saturating_add(1);
        *n
    }

    /// Whether edit number `counter` of `device` is known.
    #[must_use]
    pub fn knows(&self, device: DeviceId, counter: u64) -> bool {
        self.get(device) >= counter
    }

    /// Knows every edit either knows (the pointwise maximum).
    pub fn merge(&mut self, other: &VersionVector) {
        for (d, n) in other.iter() {
            let mine = self.0.entry(d).or_insert(0);
            *mine = (*mine).max(n);
        }
    }

    /// How this history relates to `other`.
    #[must_use]
    pub fn compare(&self, other: &VersionVector) -> Causality {
        let mut less = false;
        let mut more = false;
        for d in self.0.keys().chain(other.0.keys()) {
            match self.get(*d).cmp(&other.get(*d)) {
                Ordering::Less => less = true,
                Ordering::Greater => more = true,
                Ordering::Equal => {}
            }
        }
        match (less, more) {
            (false, false) => Causality::Equal,
            (true, false) => Causality::Before,
            (false, true) => Causality::After,
            (true, true) => Causality::Concurrent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: DeviceId = DeviceId(1);
    const B: DeviceId = DeviceId(2);

    #[test]
    fn a_clock_moves_with_the_wall_and_past_what_it_saw() {
        let a = Hlc::start(A).tick(1_000).unwrap();
        assert_eq!(a, Hlc { wall_ms: 1_000, logical: 0, node: A });
        // The wall went back (or stood still): the logical counter carries the order.
        let a2 = a.tick(900).unwrap();
        assert_eq!((a2.wall_ms, a2.logical), (1_000, 1));
        // B's wall is behind, but it receives A's timestamp: it moves past it.
        let b = Hlc::start(B).tick(500).unwrap().receive(a2, 600).unwrap();
        assert_eq!((b.wall_ms, b.logical, b.node), (1_000, 2, B));
        assert!(b > a2 && b > a);
        let b2 = b.receive(a2, 2_000).unwrap();
        assert_eq!((b2.wall_ms, b2.logical), (2_000, 0), "the wall caught up: the counter starts again");
    }

    #[test]
    fn a_clock_far_ahead_or_a_full_counter_is_refused() {
        let ahead = Hlc { wall_ms: 1_000 + MAX_DRIFT_MS + 1, logical: 0, node: B };
        let err = Hlc::start(A).receive(ahead, 1_000).unwrap_err();
        assert_eq!(err, HlcError::TooFarAhead { remote_ms: ahead.wall_ms, now_ms: 1_000 });
        assert!(err.to_string().contains("fix that device's clock"), "{err}");
        let edge = Hlc { wall_ms: 1_000 + MAX_DRIFT_MS, ..ahead };
        assert!(Hlc::start(A).receive(edge, 1_000).is_ok(), "exactly the drift allowed is fine");
        let full = Hlc { wall_ms: 5, logical: u32::MAX, node: A };
        assert_eq!(full.tick(5), Err(HlcError::LogicalOverflow { wall_ms: 5 }));
        assert_eq!(full.tick(6).map(|h| h.logical), Ok(0));
    }

    #[test]
    fn version_vectors_tell_before_after_equal_and_concurrent() {
        let mut a = VersionVector::new();
        let mut b = VersionVector::new();
        assert_eq!(a.compare(&b), Causality::Equal);
        a.increment(A);
        assert_eq!((a.compare(&b), b.compare(&a)), (Causality::After, Causality::Before));
        b.merge(&a);
        assert_eq!(a.compare(&b), Causality::Equal);
        a.increment(A);
        b.increment(B);
        assert_eq!((a.compare(&b), b.compare(&a)), (Causality::Concurrent, Causality::Concurrent));
        assert!(b.knows(A, 1) && !b.knows(A, 2));
        let mut both = a.clone();
        both.merge(&b);
        assert_eq!((both.compare(&a), both.compare(&b)), (Causality::After, Causality::After));
        // Zero counts are not kept: a vector read with them equals one without.
        let read: VersionVector = BTreeMap::from([(A, 0), (B, 0)]).into();
        assert_eq!(read, VersionVector::new());
    }
}
