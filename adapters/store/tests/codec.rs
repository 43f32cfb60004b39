//! The table codec: events of hands actually played round-trip through the memory store to
//! the same values and the same bytes, and replay to the live table; decoding garbage or
//! truncated bytes is an error, never a panic; an old schema is upcast; a newer one refused.

use proptest::prelude::*;
use showdown_engine::chips::Chips;
use showdown_engine::hand::legal_actions;
use showdown_engine::table::{
    CommandEnvelope, CommandId, PlayerId, Recorded, SCHEMA_VERSION, SeatIdx, Table, TableAction, TableCommand,
    TableConfig, TableEvent,
};
use showdown_store::codec::{Bincode, Codec, TableCodec, Upcaster, event_type};
use showdown_store::{CodecError, EventStore, ExpectedVersion, MemoryStore, StoredEvent, StreamId, StreamVersion};

/// A table driven by a fixed script: three players, `hands` hands with calls, raises, a
/// fold, a time-out, a top-up and a player leaving. Returns the live table and the events
/// of each command, in order.
fn play(hands: u32) -> (Table, Vec<(CommandEnvelope, Vec<Recorded>)>) {
    let mut table = Table::new();
    let mut log = Vec::new();
    let mut now = 1_000;
    let mut id = 0u128;
    let mut send = |table: &mut Table, now: u64, command: TableCommand| {
        id += 1;
        let env = CommandEnvelope { id: CommandId(id), now_ms: now, command };
        let mut out = Vec::new();
        table.execute(&env, &mut out).unwrap_or_else(|e| panic!("{:?} refused: {e}", env.command));
        log.push((env, out));
    };
    send(&mut table, now, TableCommand::Open { config: TableConfig::no_limit_holdem(1, 2) });
    for seat in 0..3 {
        let sit = TableCommand::SitDown {
            seat: SeatIdx(seat),
            player: PlayerId(100 + u64::from(seat)),
            buy_in: Chips(200),
            wait_for_big_blind: false,
        };
        send(&mut table, now, sit);
    }
    let mut step = 0u32;
    for hand in 0..hands {
        let seed = [hand as u8; 32];
        send(&mut table, now, TableCommand::StartHand { seed, salt: [7; 32] });
        while let Some(turn) = table.turn() {
            step += 1;
            now += 500;
            if step == 9 {
                // Past the action time and the time bank: the table acts for the player.
                now = turn.deadline_ms + 60_001;
                send(&mut table, now, TableCommand::Tick);
                now += 60_001;
                send(&mut table, now, TableCommand::Tick);
                continue;
            }
            let player = table.seat(turn.seat).expect("the player to act is seated").player;
            let legal = legal_actions(table.hand()).expect("someone is to act");
            let action = match (step % 4, legal.raise) {
                (0, Ok(range)) => TableAction::BetOrRaiseTo(range.min),
                (1, _) if legal.can_fold && step.is_multiple_of(3) => TableAction::Fold,
                _ => TableAction::CheckOrCall,
            };
            send(&mut table, now, TableCommand::Act { player, action });
        }
        for seat in table.seats().iter().flatten().copied().collect::<Vec<_>>() {
            if seat.stack.is_zero() || seat.sitting_out {
                send(&mut table, now, TableCommand::Leave { player: seat.player });
                let sit = TableCommand::SitDown {
                    seat: SeatIdx(table.seats().iter().position(Option::is_none).unwrap() as u8),
                    player: PlayerId(200 + u64::from(hand)),
                    buy_in: Chips(150),
                    wait_for_big_blind: false,
                };
                send(&mut table, now, sit);
            } else if seat.stack < Chips(200) {
                send(&mut table, now, TableCommand::TopUp { player: seat.player, amount: Chips(200) - seat.stack });
            }
        }
    }
    (table, log)
}

fn table_stream() -> StreamId {
    StreamId::new("table-1").unwrap()
}

/// Appends a played table to a memory store, one append per command, and reads it back.
async fn stored_table(hands: u32) -> (Table, Vec<Recorded>, Vec<StoredEvent>) {
    let (table, log) = play(hands);
    let codec = TableCodec::default();
    let store = MemoryStore::new();
    let stream = table_stream();
    let mut expected = ExpectedVersion::NoStream;
    let mut recorded = Vec::new();
    for (env, events) in log {
        if events.is_empty() {
            continue;
        }
        let batch = codec.encode_all(&stream, &events).unwrap();
        expected = store.append(&stream, expected, env.id, batch).await.unwrap().next_expected();
        recorded.extend(events);
    }
    let stored = store.read_stream(&stream, StreamVersion(0), usize::MAX).await.unwrap();
    (table, recorded, stored)
}

#[tokio::test]
async fn played_hands_round_trip_through_the_store() {
    let (live, recorded, stored) = stored_table(6).await;
    assert!(live.hand_no().0 == 6 && live.chips_conserved());
    let types: std::collections::BTreeSet<&str> = recorded.iter().map(|r| event_type(&r.event)).collect();
    for t in ["Opened", "SatDown", "BoughtIn", "ToppedUp", "HandStarted", "Hand", "TimeBankStarted", "DeckRevealed"] {
        assert!(types.contains(t), "the script should produce {t}: it produced {types:?}");
    }
    let codec = TableCodec::default();
    assert_eq!(stored.len(), recorded.len());
    let mut decoded = Vec::new();
    for (s, r) in stored.iter().zip(&recorded) {
        let d = codec.decode(s).unwrap_or_else(|e| panic!("{} at {}: {e:?}", s.stream, s.version));
        assert_eq!(&d, r, "decoding gives the recorded event");
        let again = codec.encode(&s.stream, 0, &d, s.metadata.clone()).unwrap();
        assert_eq!(again.payload, s.payload, "re-encoding gives the same bytes");
        assert_eq!(again.event_type, s.event_type);
        decoded.push(d);
    }
    assert_eq!(Table::replay(&decoded), live, "the replay of the stored events is the live table");
}

/// [`Bincode`] without its fast path for table events: serde only.
struct SerdeOnly;

impl Codec for SerdeOnly {
    fn encode<T: serde::Serialize>(&self, value: &T) -> Result<Vec<u8>, CodecError> {
        Bincode.encode(value)
    }
    fn decode<T: serde::de::DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, CodecError> {
        Bincode.decode(bytes)
    }
}

/// The fast path (bincode's own derives) writes the bytes serde writes, for every event of
/// played hands, and each reads the other's.
#[test]
fn the_fast_path_writes_the_bytes_serde_writes() {
    let (_, log) = play(40);
    let mut kinds = std::collections::BTreeSet::new();
    for r in log.iter().flat_map(|(_, events)| events) {
        let fast = Bincode.encode_table_event(r.now_ms, &r.event).unwrap();
        let serde = SerdeOnly.encode_table_event(r.now_ms, &r.event).unwrap();
        assert_eq!(fast, serde, "{:?}", r.event);
        assert_eq!(SerdeOnly.decode_table_event(&fast).unwrap(), (r.now_ms, r.event.clone()));
        assert_eq!(Bincode.decode_table_event(&serde).unwrap(), (r.now_ms, r.event.clone()));
        kinds.insert(event_type(&r.event));
    }
    assert!(kinds.len() >= 8, "{kinds:?}");
}

#[test]
fn oversized_length_prefixes_fail_without_allocating() {
    // A `Vec<u8>` claiming u64::MAX bytes (varint tag 253 then 8 bytes), then nothing.
    let mut bytes = vec![253];
    bytes.extend_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(Bincode.decode::<Vec<u8>>(&bytes), Err(CodecError::Decode(_))));
    assert!(matches!(Bincode.decode::<StoredEvent>(&bytes), Err(CodecError::Decode(_))));
    assert!(matches!(Bincode.decode::<Vec<u8>>(&[1, 7, 0]), Err(CodecError::TrailingBytes { extra: 1 })));
}

/// One of each kind of stored table event, encoded, for the fuzz tests to cut.
fn valid_payloads() -> Vec<(String, Vec<u8>)> {
    let (_, log) = play(2);
    let codec = TableCodec::default();
    let mut seen = std::collections::BTreeMap::new();
    for r in log.iter().flat_map(|(_, events)| events) {
        let e = codec.encode(&table_stream(), 0, r, Default::default()).unwrap();
        seen.entry(e.event_type).or_insert(e.payload);
    }
    seen.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), t in 0usize..16) {
        let names = ["Opened", "SatDown", "BoughtIn", "HandStarted", "Hand", "DeckRevealed", "CashedOut", "SatOut"];
        let name = names[t % names.len()];
        let _ = TableCodec::default().decode_parts(CommandId(1), SCHEMA_VERSION, name, &bytes);
        let _ = Bincode.decode::<StoredEvent>(&bytes);
        let _ = Bincode.decode::<Recorded>(&bytes);
    }

    #[test]
    fn truncated_encodings_are_errors(cut in any::<prop::sample::Index>(), pick in any::<prop::sample::Index>()) {
        let payloads = valid_payloads();
        let (name, payload) = &payloads[pick.index(payloads.len())];
        let codec = TableCodec::default();
        prop_assert!(codec.decode_parts(CommandId(1), SCHEMA_VERSION, name, payload).is_ok());
        let short = &payload[..cut.index(payload.len())];
        prop_assert!(codec.decode_parts(CommandId(1), SCHEMA_VERSION, name, short).is_err());
    }
}

/// Schema 0, a shape made up for this test: the payload was the event alone, without the
/// host time that schema 1 added. Its upcaster gives old events a host time of 0.
struct HostTimeAdded;

impl Upcaster for HostTimeAdded {
    fn reads_schema(&self) -> u16 {
        0
    }

    fn upcast(&self, _event_type: &str, payload: &[u8]) -> Result<Vec<u8>, CodecError> {
        let event: TableEvent = Bincode.decode(payload)?;
        #[derive(serde::Serialize)]
        struct V1 {
            now_ms: u64,
            event: TableEvent,
        }
        Bincode.encode(&V1 { now_ms: 0, event })
    }
}

fn old_record(schema: u16, event_type: &str, payload: Vec<u8>) -> StoredEvent {
    StoredEvent {
        stream: table_stream(),
        version: StreamVersion(1),
        position: showdown_store::GlobalPosition(1),
        event_id: showdown_store::EventId(1),
        command: CommandId(9),
        schema,
        event_type: event_type.to_owned(),
        payload,
        metadata: Default::default(),
    }
}

#[test]
fn a_schema_0_event_is_upcast() {
    // Schema 0 `SatDown { seat: 2, player: 300, wait_for_big_blind: true }`, written by hand:
    // variant index 1, seat 2, player 300 (varint: 251 then u16 little-endian), true.
    let stored = old_record(0, "SatDown", vec![1, 2, 251, 0x2c, 0x01, 1]);
    let want = Recorded {
        schema: SCHEMA_VERSION,
        command: CommandId(9),
        now_ms: 0,
        event: TableEvent::SatDown { seat: SeatIdx(2), player: PlayerId(300), wait_for_big_blind: true },
    };
    let upcasting = TableCodec::default().with_upcaster(HostTimeAdded);
    assert_eq!(upcasting.decode(&stored).unwrap(), want);
    // Without the upcaster the old event is refused, not misread.
    let plain = TableCodec::default();
    assert!(matches!(plain.decode(&stored), Err(CodecError::NoUpcaster { found: 0, current: 1 })));
    // A corrupt old payload is an error from the upcaster.
    let corrupt = old_record(0, "SatDown", vec![1, 2]);
    assert!(matches!(upcasting.decode(&corrupt), Err(CodecError::Decode(_))));
}

#[test]
fn newer_schemas_and_wrong_type_names_are_refused() {
    let (_, log) = play(1);
    let codec = TableCodec::default();
    let new = codec.encode(&table_stream(), 0, &log[0].1[0], Default::default()).unwrap();
    let newer = old_record(SCHEMA_VERSION + 1, &new.event_type, new.payload.clone());
    assert!(matches!(codec.decode(&newer), Err(CodecError::SchemaTooNew { found: 2, current: 1 })));
    let renamed = old_record(SCHEMA_VERSION, "Closed", new.payload);
    assert!(matches!(codec.decode(&renamed), Err(CodecError::TypeMismatch { decoded: "Opened", .. })));
}
