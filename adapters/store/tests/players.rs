//! Player commands on a store: a device's preferences merged through `handle_player` reach
//! the profile and the read-model fold; sending the same replica again stores nothing.

use std::collections::BTreeMap;

use showdown_engine::hlc::DeviceId;
use showdown_engine::player::{PlayerCommand, PlayerEnvelope, PlayerEvent};
use showdown_engine::preferences::Device;
use showdown_engine::table::{CommandId, PlayerId};
use showdown_store::codec::TableCodec;
use showdown_store::players::{handle_player, load_player};
use showdown_store::readmodel::{Changes, ReadModelFold};
use showdown_store::streams::player_stream;
use showdown_store::{EventStore, GlobalPosition, MemoryStore};

#[tokio::test]
async fn a_device_merge_is_stored_once_and_reaches_the_read_models() {
    let (store, codec, player) = (MemoryStore::new(), TableCodec::default(), PlayerId(7));
    let send = |id: u128, now_ms: u64, command: PlayerCommand| PlayerEnvelope { id: CommandId(id), now_ms, command };
    let register = PlayerCommand::Register { player, display_name: "Ann".into() };
    handle_player(&store, &codec, player, &send(1, 1_000, register)).await.unwrap();
    let set = BTreeMap::from([("theme".to_owned(), "dark".to_owned())]);
    handle_player(&store, &codec, player, &send(2, 2_000, PlayerCommand::SetPreferences { set, unset: vec![] }))
        .await
        .unwrap();

    // A phone that had synced the profile removes the theme and sets the sound, offline.
    let (profile, _) = load_player(&store, &codec, player).await.unwrap();
    let mut phone = Device::new(DeviceId(3));
    phone.sync(&profile.preference_replica, 2_500).unwrap();
    phone.edit(2_600, "theme", None).unwrap();
    phone.edit(2_700, "sound", Some("off".into())).unwrap();
    let merge = PlayerCommand::MergePreferences { device: phone.id, replica: phone.replica.clone() };
    let stored = handle_player(&store, &codec, player, &send(3, 3_000, merge.clone())).await.unwrap();
    let [recorded] = stored.as_slice() else { panic!("one event: {stored:?}") };
    let PlayerEvent::PreferencesMerged { conflicts, .. } = &recorded.event else { panic!("{recorded:?}") };
    assert!(conflicts.is_empty(), "the phone had seen the server's theme: {conflicts:?}");

    // The same replica again, under another command id: nothing new, nothing stored.
    let again = handle_player(&store, &codec, player, &send(4, 4_000, merge)).await.unwrap();
    assert!(again.is_empty());
    let stream = player_stream(player);
    assert_eq!(store.stream_version(&stream).await.unwrap().map(|v| v.0), Some(2));

    let mut fold = ReadModelFold::new(TableCodec::default());
    let mut changes = Changes::default();
    for e in store.read_all(GlobalPosition::START, 100).await.unwrap() {
        fold.fold(&e, &mut changes).unwrap();
    }
    let row = &changes.players[&7];
    assert_eq!(row.profile.preferences, BTreeMap::from([("sound".to_owned(), "off".to_owned())]));
}
