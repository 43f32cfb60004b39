//! Payload codecs: the [`Codec`] trait (one small trait, so the format can change),
//! [`Bincode`] (bincode 2 through serde, with a size limit on decode), and [`TableCodec`],
//! which turns a table's [`Recorded`] events into [`NewEvent`]s and stored records back into
//! `Recorded`, upcasting older schema versions on the way.
//!
//! *Invariant: decoding then re-encoding a stored event gives the same bytes.* Bincode's
//! encoding of a value is canonical (one encoding per value), and decoding refuses bytes
//! left over after the value, so equal values mean equal bytes.
//!
//! The payload of a table event is the event and its host time; the schema version and the
//! command id travel in the envelope ([`StoredEvent`]), not twice.

use serde::Serialize;
use serde::de::DeserializeOwned;
use showdown_engine::table::{CommandId, Recorded, SCHEMA_VERSION, TableEvent};

use crate::error::{BoxError, CodecError};
use crate::types::{EventId, Metadata, NewEvent, StoredEvent, StreamId};

/// Turns values into bytes and back.
pub trait Codec: Send + Sync {
    /// Encodes a value.
    ///
    /// # Errors
    /// [`CodecError::Encode`] if the value cannot be encoded or its encoding is too large.
    fn encode<T: Serialize>(&self, value: &T) -> Result<Vec<u8>, CodecError>;

    /// Decodes a value from untrusted bytes, all of which it must use.
    ///
    /// # Errors
    /// [`CodecError::Decode`] for garbage, truncated or oversized input;
    /// [`CodecError::TrailingBytes`] if bytes are left over.
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, CodecError>;

    /// The payload of a table event and its host time. The default encodes through serde;
    /// a codec may take a faster path that gives the same bytes.
    ///
    /// # Errors
    /// As [`Codec::encode`].
    fn encode_table_event(&self, now_ms: u64, event: &TableEvent) -> Result<Vec<u8>, CodecError> {
        self.encode(&PayloadV1 { now_ms, event })
    }

    /// The host time and table event of a payload written by
    /// [`Codec::encode_table_event`].
    ///
    /// # Errors
    /// As [`Codec::decode`].
    fn decode_table_event(&self, bytes: &[u8]) -> Result<(u64, TableEvent), CodecError> {
        let p: PayloadV1<TableEvent> = self.decode(bytes)?;
        Ok((p.now_ms, p.event))
    }
}

/// The most bytes [`Bincode`] reads for one value: far above any table event (a few hundred
/// bytes), far below what would hurt a server if a length prefix lies.
pub const DECODE_LIMIT: usize = 1 << 20;

/// bincode 2 with its standard configuration (little-endian, variable-length integers) and
/// a [`DECODE_LIMIT`] on decode: a corrupt length prefix fails instead of allocating.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Bincode;

const CONFIG: bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<DECODE_LIMIT>,
> = bincode::config::standard().with_limit::<DECODE_LIMIT>();

impl Codec for Bincode {
    fn encode<T: Serialize>(&self, value: &T) -> Result<Vec<u8>, CodecError> {
        bincode::serde::encode_to_vec(value, CONFIG).map_err(|e| CodecError::Encode(BoxError::from(e)))
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, CodecError> {
        let decoded = bincode::serde::decode_from_slice(bytes, CONFIG);
        whole(bytes, decoded.map_err(|e| CodecError::Decode(BoxError::from(e)))?)
    }

    // Table events take bincode's own derives (the engine's feature `bincode`): the same
    // bytes as the serde path, decoded 3 to 4 times faster.
    fn encode_table_event(&self, now_ms: u64, event: &TableEvent) -> Result<Vec<u8>, CodecError> {
        bincode::encode_to_vec(PayloadV1 { now_ms, event }, CONFIG).map_err(|e| CodecError::Encode(BoxError::from(e)))
    }

    fn decode_table_event(&self, bytes: &[u8]) -> Result<(u64, TableEvent), CodecError> {
        let decoded = bincode::decode_from_slice::<PayloadV1<TableEvent>, _>(bytes, CONFIG);
        let p = whole(bytes, decoded.map_err(|e| CodecError::Decode(BoxError::from(e)))?)?;
        Ok((p.now_ms, p.event))
    }
}

/// A decoded value, if it used all the bytes.
fn whole<T>(bytes: &[u8], (value, used): (T, usize)) -> Result<T, CodecError> {
    match bytes.len() - used {
        0 => Ok(value),
        extra => Err(CodecError::TrailingBytes { extra }),
    }
}

/// Rewrites a payload of one schema version into the shape of the next: the hook that keeps
/// old events readable after a change of shape. Registered in a [`TableCodec`]; a stored
/// event of version `v` goes through the upcasters of `v`, `v + 1`, … up to
/// [`SCHEMA_VERSION`].
pub trait Upcaster: Send + Sync {
    /// The schema version this upcaster reads; it writes the next one.
    fn reads_schema(&self) -> u16;

    /// The payload of an event of type `event_type`, rewritten for the next version.
    ///
    /// # Errors
    /// [`CodecError::Decode`] if the old payload is not valid in its own version.
    fn upcast(&self, event_type: &str, payload: &[u8]) -> Result<Vec<u8>, CodecError>;
}

/// The payload of a table event at [`SCHEMA_VERSION`] 1.
#[derive(serde::Serialize, serde::Deserialize, bincode::Encode, bincode::Decode)]
struct PayloadV1<E> {
    now_ms: u64,
    event: E,
}

/// Encodes and decodes a table's events with a [`Codec`], upcasting older versions.
pub struct TableCodec<C = Bincode> {
    codec: C,
    /// `upcasters[v]` reads version `v`.
    upcasters: Vec<Option<Box<dyn Upcaster>>>,
}

impl Default for TableCodec<Bincode> {
    fn default() -> TableCodec<Bincode> {
        TableCodec::new(Bincode)
    }
}

impl<C: std::fmt::Debug> std::fmt::Debug for TableCodec<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let from: Vec<usize> = self.upcasters.iter().enumerate().filter(|(_, u)| u.is_some()).map(|(v, _)| v).collect();
        f.debug_struct("TableCodec").field("codec", &self.codec).field("upcasters_from", &from).finish()
    }
}

impl<C: Codec> TableCodec<C> {
    /// A table codec over `codec`, with no upcasters: every schema version before
    /// [`SCHEMA_VERSION`] is refused until one is registered.
    #[must_use]
    pub fn new(codec: C) -> TableCodec<C> {
        TableCodec { codec, upcasters: Vec::new() }
    }

    /// Registers an upcaster (replacing any from the same version).
    ///
    /// # Panics
    /// If the upcaster reads [`SCHEMA_VERSION`] or later: nothing is newer to write.
    #[must_use]
    pub fn with_upcaster(mut self, upcaster: impl Upcaster + 'static) -> TableCodec<C> {
        let from = upcaster.reads_schema();
        assert!(from < SCHEMA_VERSION, "an upcaster from schema {from} writes past the current {SCHEMA_VERSION}");
        let i = usize::from(from);
        if self.upcasters.len() <= i {
            self.upcasters.resize_with(i + 1, || None);
        }
        self.upcasters[i] = Some(Box::new(upcaster));
        self
    }

    /// The codec underneath.
    pub const fn codec(&self) -> &C {
        &self.codec
    }

    /// The event to append for `recorded`, the `index`th (from 0) event its command caused in
    /// `stream`.
    ///
    /// # Errors
    /// [`CodecError::Encode`] if the event cannot be encoded.
    pub fn encode(
        &self,
        stream: &StreamId,
        index: u32,
        recorded: &Recorded,
        metadata: Metadata,
    ) -> Result<NewEvent, CodecError> {
        let payload = self.codec.encode_table_event(recorded.now_ms, &recorded.event)?;
        Ok(NewEvent {
            event_id: EventId::derive(stream, recorded.command, index),
            schema: recorded.schema,
            event_type: event_type(&recorded.event).to_owned(),
            payload,
            metadata,
        })
    }

    /// The events to append for one command's `recorded` events, in order.
    ///
    /// # Errors
    /// [`CodecError::Encode`] if an event cannot be encoded.
    pub fn encode_all(&self, stream: &StreamId, recorded: &[Recorded]) -> Result<Vec<NewEvent>, CodecError> {
        recorded
            .iter()
            .enumerate()
            .map(|(i, r)| self.encode(stream, u32::try_from(i).unwrap_or(u32::MAX), r, Metadata::new()))
            .collect()
    }

    /// The [`Recorded`] event a stored record holds, at [`SCHEMA_VERSION`].
    ///
    /// # Errors
    /// [`CodecError::SchemaTooNew`], [`CodecError::NoUpcaster`], an upcaster's error, a
    /// payload that does not decode, or [`CodecError::TypeMismatch`].
    pub fn decode(&self, stored: &StoredEvent) -> Result<Recorded, CodecError> {
        self.decode_parts(stored.command, stored.schema, &stored.event_type, &stored.payload)
    }

    /// As [`TableCodec::decode`], from the parts of a record.
    ///
    /// # Errors
    /// As [`TableCodec::decode`].
    pub fn decode_parts(
        &self,
        command: CommandId,
        schema: u16,
        event_type_name: &str,
        payload: &[u8],
    ) -> Result<Recorded, CodecError> {
        if schema > SCHEMA_VERSION {
            return Err(CodecError::SchemaTooNew { found: schema, current: SCHEMA_VERSION });
        }
        let mut upcasted: Option<Vec<u8>> = None;
        for v in schema..SCHEMA_VERSION {
            let Some(Some(up)) = self.upcasters.get(usize::from(v)) else {
                return Err(CodecError::NoUpcaster { found: v, current: SCHEMA_VERSION });
            };
            upcasted = Some(up.upcast(event_type_name, upcasted.as_deref().unwrap_or(payload))?);
        }
        let (now_ms, event) = self.codec.decode_table_event(upcasted.as_deref().unwrap_or(payload))?;
        let decoded = event_type(&event);
        if decoded != event_type_name {
            return Err(CodecError::TypeMismatch { stored: event_type_name.to_owned(), decoded });
        }
        Ok(Recorded { schema: SCHEMA_VERSION, command, now_ms, event })
    }
}

/// The stored type name of a table event: its variant's name, never renamed.
#[must_use]
pub const fn event_type(event: &TableEvent) -> &'static str {
    match event {
        TableEvent::Opened { .. } => "Opened",
        TableEvent::SatDown { .. } => "SatDown",
        TableEvent::BoughtIn { .. } => "BoughtIn",
        TableEvent::ToppedUp { .. } => "ToppedUp",
        TableEvent::SatOut { .. } => "SatOut",
        TableEvent::SatIn { .. } => "SatIn",
        TableEvent::LeaveQueued { .. } => "LeaveQueued",
        TableEvent::CashedOut { .. } => "CashedOut",
        TableEvent::BlindsMissed { .. } => "BlindsMissed",
        TableEvent::HandStarted { .. } => "HandStarted",
        TableEvent::Hand { .. } => "Hand",
        TableEvent::ActionDeadlineSet { .. } => "ActionDeadlineSet",
        TableEvent::TimeBankStarted { .. } => "TimeBankStarted",
        TableEvent::TimeBankUsed { .. } => "TimeBankUsed",
        TableEvent::ActedFor { .. } => "ActedFor",
        TableEvent::DeckRevealed { .. } => "DeckRevealed",
        TableEvent::Closed => "Closed",
        TableEvent::HandVoided { .. } => "HandVoided",
        TableEvent::BranchVoided { .. } => "BranchVoided",
    }
}
