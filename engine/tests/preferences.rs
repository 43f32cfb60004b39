//! Properties of preferences edited on several devices (`showdown_engine::preferences`,
//! `showdown_engine::hlc`):
//!
//! (a) the merge of two replicas is commutative, associative and idempotent, on arbitrary
//!     replicas (stamps from a tiny domain, so that ties on stamps and values happen), and
//!     the fields it reports as concurrent do not depend on the order;
//! (b) version vectors compare antisymmetrically and a merge contains both sides;
//! (c) a hybrid logical clock moves past itself on `tick` and past both clocks on `receive`;
//! (d) devices with skewed clocks editing and syncing through the profile's commands
//!     converge: after everyone syncs, every device and the profile hold the same
//!     preferences, the profile's `preferences` always equals its replica's values, a replay
//!     of the profile's events gives the same profile, and the profile's result does not
//!     depend on the order the devices' merges arrive in.
//!
//! Failures are not persisted to a file (the tests must not write into the source tree).

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::Config;

use showdown_engine::hlc::{Causality, DeviceId, Hlc, MAX_DRIFT_MS, VersionVector};
use showdown_engine::player::{self, PlayerCommand, PlayerEnvelope, PlayerEvent, PlayerRecorded, Profile};
use showdown_engine::preferences::{Device, PreferenceReplica, Stamped};
use showdown_engine::table::{CommandId, PlayerId};

fn config() -> Config {
    Config { cases: 512, failure_persistence: None, ..Config::default() }
}

fn hlc() -> impl Strategy<Value = Hlc> {
    (0u64..3, 0u32..2, 0u64..3).prop_map(|(wall_ms, logical, node)| Hlc { wall_ms, logical, node: DeviceId(node) })
}

fn stamped() -> impl Strategy<Value = Stamped> {
    let value = prop_oneof![Just(None), Just(Some("a".to_owned())), Just(Some("b".to_owned()))];
    (value, hlc(), 1u64..3).prop_map(|(value, at, counter)| Stamped { value, at, counter })
}

fn versions() -> impl Strategy<Value = VersionVector> {
    prop::collection::btree_map((0u64..4).prop_map(DeviceId), 0u64..4, 0..4).prop_map(VersionVector::from)
}

fn replica() -> impl Strategy<Value = PreferenceReplica> {
    let keys = prop::sample::select(vec!["k0", "k1", "k2", "k3"]).prop_map(str::to_owned);
    (versions(), prop::collection::btree_map(keys, stamped(), 0..5))
        .prop_map(|(versions, entries)| PreferenceReplica { versions, entries })
}

/// A replica whose version vector knows every edit its entries name (what
/// `MergePreferences` accepts).
fn well_formed() -> impl Strategy<Value = PreferenceReplica> {
    replica().prop_map(|mut r| {
        let dots: BTreeMap<DeviceId, u64> = r.entries.values().fold(BTreeMap::new(), |mut m, e| {
            let n = m.entry(e.at.node).or_insert(0);
            *n = (*n).max(e.counter);
            m
        });
        r.versions.merge(&VersionVector::from(dots));
        r
    })
}

fn merged(a: &PreferenceReplica, b: &PreferenceReplica) -> PreferenceReplica {
    let mut m = a.clone();
    m.merge(b);
    m
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn merge_is_commutative(a in replica(), b in replica()) {
        prop_assert_eq!(merged(&a, &b), merged(&b, &a));
    }

    #[test]
    fn merge_is_associative(a in replica(), b in replica(), c in replica()) {
        prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
    }

    #[test]
    fn merge_is_idempotent(a in replica(), b in replica()) {
        prop_assert_eq!(merged(&a, &a), a.clone());
        let ab = merged(&a, &b);
        prop_assert_eq!(merged(&ab, &b), ab.clone());
        prop_assert_eq!(merged(&ab, &a), ab.clone());
        let mut again = ab.clone();
        prop_assert!(again.merge(&b).changed.is_empty());
    }

    #[test]
    fn a_merge_seen_before_reports_nothing(a in well_formed(), b in well_formed()) {
        // Once merged, the edits of both are known: nothing changes and nothing conflicts.
        let mut again = merged(&a, &b);
        let report = again.merge(&b);
        prop_assert!(report.changed.is_empty() && report.conflicts.is_empty(), "{:?}", report);
        prop_assert!(matches!(report.causality, Causality::After | Causality::Equal));
    }

    #[test]
    fn concurrent_fields_do_not_depend_on_the_order(a in replica(), b in replica()) {
        let (mut x, mut y) = (a.clone(), b.clone());
        let (rx, ry) = (x.merge(&b), y.merge(&a));
        let keys = |r: &showdown_engine::preferences::MergeReport| r.conflicts.iter().map(|c| c.key.clone()).collect::<Vec<_>>();
        prop_assert_eq!(keys(&rx), keys(&ry));
        prop_assert_eq!(rx.causality, ry.causality.reverse());
        for c in &rx.conflicts {
            // The kept entry is the one the merged replica holds.
            prop_assert_eq!(&x.entries[&c.key], &c.kept);
        }
    }

    #[test]
    fn version_vectors_compare_antisymmetrically_and_merges_contain_both(a in versions(), b in versions()) {
        prop_assert_eq!(a.compare(&b), b.compare(&a).reverse());
        prop_assert_eq!(a.compare(&a), Causality::Equal);
        let mut m = a.clone();
        m.merge(&b);
        prop_assert!(matches!(m.compare(&a), Causality::After | Causality::Equal));
        prop_assert!(matches!(m.compare(&b), Causality::After | Causality::Equal));
        if a.compare(&b) == Causality::Before {
            prop_assert_eq!(m, b);
        }
    }

    #[test]
    fn clocks_move_past_what_they_saw(
        wall in 0u64..10_000, logical in 0u32..5, node in 1u64..4,
        rwall in 0u64..80_000, rlogical in 0u32..5, rnode in 1u64..4,
        now in 0u64..20_000,
    ) {
        let local = Hlc { wall_ms: wall, logical, node: DeviceId(node) };
        let remote = Hlc { wall_ms: rwall, logical: rlogical, node: DeviceId(rnode) };
        let t = local.tick(now).unwrap();
        prop_assert!(t > local && t.wall_ms >= now && t.node == local.node);
        match local.receive(remote, now) {
            Ok(r) => {
                prop_assert!(rwall <= now + MAX_DRIFT_MS);
                prop_assert!(r > local && (r.wall_ms, r.logical) > (remote.wall_ms, remote.logical));
                prop_assert!(r.wall_ms >= now && r.node == local.node);
            }
            Err(e) => prop_assert!(rwall > now + MAX_DRIFT_MS, "{}", e),
        }
    }
}

/// What happens in a session of devices and the profile.
#[derive(Clone, Debug)]
enum Op {
    /// A device edits a field (`None`: removes it).
    Edit { device: usize, key: usize, value: Option<u8> },
    /// A device sends its replica to the profile and takes the profile's back.
    Sync { device: usize },
    /// The server sets or removes a field through `SetPreferences`.
    Server { key: usize, value: Option<u8> },
}

fn op() -> impl Strategy<Value = Op> {
    let value = prop::option::of(0u8..3);
    prop_oneof![
        4 => (0usize..3, 0usize..3, value.clone()).prop_map(|(device, key, value)| Op::Edit { device, key, value }),
        3 => (0usize..3).prop_map(|device| Op::Sync { device }),
        1 => (0usize..3, value).prop_map(|(key, value)| Op::Server { key, value }),
    ]
}

/// The profile and its events, driven by commands at a host clock that only moves forward.
struct Host {
    profile: Profile,
    events: Vec<PlayerRecorded>,
    now: u64,
    id: u128,
}

impl Host {
    fn new() -> Host {
        let mut h = Host { profile: Profile::default(), events: Vec::new(), now: 10_000, id: 0 };
        h.send(PlayerCommand::Register { player: PlayerId(1), display_name: "Ann".into() });
        h
    }

    fn send(&mut self, command: PlayerCommand) {
        self.id += 1;
        self.now += 100;
        let env = PlayerEnvelope { id: CommandId(self.id), now_ms: self.now, command };
        let events = player::decide(&self.profile, &env).unwrap_or_else(|e| panic!("{:?} refused: {e}", env.command));
        for e in events {
            player::apply(&mut self.profile, &e);
            self.events.push(e);
        }
        assert_eq!(self.profile.preferences, self.profile.preference_replica.values());
    }

    fn merge(&mut self, device: &Device) {
        self.send(PlayerCommand::MergePreferences { device: device.id, replica: device.replica.clone() });
    }
}

fn key(k: usize) -> String {
    format!("k{k}")
}

fn value(v: Option<u8>) -> Option<String> {
    v.map(|v| format!("v{v}"))
}

proptest! {
    #![proptest_config(Config { cases: 256, ..config() })]

    #[test]
    fn devices_and_the_profile_converge(ops in prop::collection::vec(op(), 0..40), skews in prop::array::uniform3(0u64..10_000)) {
        let mut host = Host::new();
        let mut devices: Vec<Device> = (1..=3).map(|i| Device::new(DeviceId(i))).collect();
        // Each device's wall clock is off by its skew (behind the host's, or ahead of it).
        let wall = |host: &Host, d: usize| host.now + skews[d] - 5_000;
        for op in &ops {
            match *op {
                Op::Edit { device, key: k, value: v } => {
                    let now = wall(&host, device);
                    devices[device].edit(now, &key(k), value(v)).unwrap();
                    host.now += 10;
                }
                Op::Sync { device } => {
                    host.merge(&devices[device]);
                    let now = wall(&host, device);
                    devices[device].sync(&host.profile.preference_replica, now).unwrap();
                }
                Op::Server { key: k, value: v } => {
                    let (set, unset) = match value(v) {
                        Some(v) => (BTreeMap::from([(key(k), v)]), vec![]),
                        None => (BTreeMap::new(), vec![key(k)]),
                    };
                    host.send(PlayerCommand::SetPreferences { set, unset });
                }
            }
        }
        // The profile's result does not depend on the order the last merges arrive in.
        let mut reversed = Host { profile: host.profile.clone(), events: Vec::new(), now: host.now, id: host.id };
        for d in &devices {
            host.merge(d);
        }
        for d in devices.iter().rev() {
            reversed.merge(d);
        }
        prop_assert_eq!(&host.profile.preferences, &reversed.profile.preferences);
        prop_assert_eq!(&host.profile.preference_replica, &reversed.profile.preference_replica);
        // Everyone syncs: all hold the profile's preferences.
        for (d, device) in devices.iter_mut().enumerate() {
            let now = wall(&host, d);
            device.sync(&host.profile.preference_replica, now).unwrap();
            prop_assert_eq!(device.replica.values(), host.profile.preferences.clone());
            prop_assert_eq!(&device.replica, &host.profile.preference_replica);
        }
        // A device that knows everything merging again stores nothing.
        let before = host.events.len();
        host.merge(&devices[0]);
        prop_assert_eq!(host.events.len(), before);
        // The events are the truth: a replay gives the same profile.
        let mut replayed = Profile::default();
        for e in &host.events {
            player::apply(&mut replayed, e);
        }
        prop_assert_eq!(replayed, host.profile);
    }
}

#[test]
fn a_merge_records_what_changed_and_what_was_concurrent() {
    let mut host = Host::new();
    let (mut phone, mut laptop) = (Device::new(DeviceId(1)), Device::new(DeviceId(2)));
    phone.edit(host.now, "theme", Some("dark".into())).unwrap();
    laptop.edit(host.now + 50, "theme", Some("light".into())).unwrap();
    laptop.edit(host.now + 60, "sound", Some("off".into())).unwrap();
    host.merge(&phone);
    host.merge(&laptop);
    let PlayerEvent::PreferencesMerged { device, entries, conflicts, versions } = &host.events.last().unwrap().event
    else {
        panic!("{:?}", host.events.last())
    };
    assert_eq!(*device, DeviceId(2));
    assert_eq!(entries.keys().collect::<Vec<_>>(), ["sound", "theme"]);
    assert_eq!(conflicts, &["theme"], "the phone and the laptop both set the theme, unaware of each other");
    assert_eq!((versions.get(DeviceId(1)), versions.get(DeviceId(2))), (1, 2));
    assert_eq!(host.profile.preferences["theme"], "light");
    // The server's own write later wins over both, and is stamped as the server's.
    host.send(PlayerCommand::SetPreferences { set: BTreeMap::new(), unset: vec!["theme".into()] });
    let entry = &host.profile.preference_replica.entries["theme"];
    assert_eq!((entry.value.as_ref(), entry.at.node), (None, DeviceId::SERVER));
    // The phone, which never saw that, sends its old value again: the removal stands.
    host.merge(&phone);
    assert!(!host.profile.preferences.contains_key("theme"));
}

#[test]
fn bad_merges_are_refused_and_change_nothing() {
    let host = Host::new();
    let mut phone = Device::new(DeviceId(1));
    phone.edit(host.now, "theme", Some("dark".into())).unwrap();
    let mut unknown = phone.replica.clone();
    unknown.versions = VersionVector::new();
    let mut ahead = phone.replica.clone();
    ahead.entries.get_mut("theme").unwrap().at.wall_ms = host.now + MAX_DRIFT_MS + 1_000;
    let mut bad_key = phone.replica.clone();
    let entry = bad_key.entries.remove("theme").unwrap();
    bad_key.entries.insert("Theme!".into(), entry);
    let cases = [
        (DeviceId::SERVER, phone.replica.clone(), "is the server's"),
        (DeviceId(1), unknown, "names edit 1 of device 1, but the replica's version vector knows 0"),
        (DeviceId(1), ahead, "fix the device's clock"),
        (DeviceId(1), bad_key, "a-z 0-9"),
    ];
    for (device, replica, says) in cases {
        let env = PlayerEnvelope {
            id: CommandId(99),
            now_ms: host.now + 1,
            command: PlayerCommand::MergePreferences { device, replica },
        };
        let err = player::decide(&host.profile, &env).expect_err(says);
        assert!(err.to_string().contains(says), "{err}");
    }
}
