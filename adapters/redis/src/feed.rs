//! Fan-out: each event of a table is published once for spectators and once per seat that
//! sees it differently, every message prefixed by the event's stream version (8 bytes, big
//! endian) so that a subscriber notices a message it missed and resumes from the store.
//! Pub/sub delivers at most once: a subscriber that was disconnected misses messages, which
//! is what the [`GapDetector`] is for.

use fred::clients::SubscriberClient;
use fred::interfaces::{ClientLike, EventInterface, PubsubInterface};
use fred::types::Value;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::client::RedisCache;
use crate::error::{RedisError, Result};

/// Who a feed is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Viewer {
    /// Anyone watching: no hole cards before they are shown.
    Spectator,
    /// The player in this seat: their own hole cards too.
    Seat(u8),
}

/// One message of a feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedMessage {
    /// The stream version of the event.
    pub version: u64,
    /// The payload as published (opaque here).
    pub payload: Vec<u8>,
}

impl FeedMessage {
    /// The wire form: the version, 8 bytes big endian, then the payload.
    #[must_use]
    pub fn encode(version: u64, payload: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(8 + payload.len());
        bytes.extend_from_slice(&version.to_be_bytes());
        bytes.extend_from_slice(payload);
        bytes
    }

    /// Reads the wire form.
    ///
    /// # Errors
    /// [`RedisError::Corrupt`] for fewer than 8 bytes.
    pub fn decode(bytes: &[u8]) -> Result<FeedMessage> {
        let Some((version, payload)) = bytes.split_first_chunk::<8>() else {
            return Err(RedisError::corrupt("subscription", "8 bytes of version, then the payload", bytes));
        };
        Ok(FeedMessage { version: u64::from_be_bytes(*version), payload: payload.to_vec() })
    }
}

/// What [`GapDetector::observe`] saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observed {
    /// The next version, as expected (or the first one seen).
    InOrder,
    /// Versions `expected..got` were skipped: read them from the event store. The detector
    /// now expects `got + 1`.
    Gap {
        /// The first missing version.
        expected: u64,
        /// The version that arrived.
        got: u64,
    },
    /// A version already seen (a duplicate, or an old message): ignore it.
    Stale {
        /// The version the detector is waiting for.
        expected: u64,
        /// The version that arrived.
        got: u64,
    },
}

/// Tracks the next version a feed should deliver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GapDetector {
    next: Option<u64>,
}

impl GapDetector {
    /// Takes the first version it sees as the start.
    #[must_use]
    pub fn new() -> GapDetector {
        GapDetector { next: None }
    }

    /// Expects `next` first (the version after the state the subscriber already has).
    #[must_use]
    pub fn expecting(next: u64) -> GapDetector {
        GapDetector { next: Some(next) }
    }

    /// The version expected next, if any was seen or given.
    #[must_use]
    pub fn next_expected(&self) -> Option<u64> {
        self.next
    }

    /// Records a version and says whether it follows the previous one.
    pub fn observe(&mut self, version: u64) -> Observed {
        let result = match self.next {
            None => Observed::InOrder,
            Some(expected) if version == expected => Observed::InOrder,
            Some(expected) if version > expected => Observed::Gap { expected, got: version },
            Some(expected) => return Observed::Stale { expected, got: version },
        };
        self.next = Some(version.saturating_add(1));
        result
    }
}

/// A live feed of one table for one viewer, on its own connection (meant for a gateway
/// that subscribes once per table it serves, not once per end client). It re-subscribes by
/// itself after a reconnection; what was published meanwhile is lost, and the versions show
/// it. Dropping it unsubscribes.
pub struct Subscription {
    client: SubscriberClient,
    messages: broadcast::Receiver<fred::types::Message>,
    channel: String,
    manager: JoinHandle<()>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("channel", &self.channel).finish_non_exhaustive()
    }
}

impl Subscription {
    /// The channel.
    #[must_use]
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The next message, `None` once the subscription is closed. Messages dropped because
    /// this subscriber fell behind are skipped silently: the versions show the gap.
    pub async fn next(&mut self) -> Option<Result<FeedMessage>> {
        loop {
            match self.messages.recv().await {
                Ok(message) if *message.channel == *self.channel => {
                    return Some(match &message.value {
                        Value::Bytes(bytes) => FeedMessage::decode(bytes),
                        Value::String(text) => FeedMessage::decode(text.as_bytes()),
                        other => Err(RedisError::corrupt("subscription", "a binary message", other)),
                    });
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.manager.abort();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let client = self.client.clone();
            runtime.spawn(async move {
                let _ = client.quit().await;
            });
        }
    }
}

impl RedisCache {
    /// Publishes one event: `spectator` on the table's public channel and each seat's
    /// payload on that seat's channel, every message prefixed by `version`, all in one
    /// pipeline (one round trip). Not re-sent after a lost connection.
    ///
    /// # Errors
    /// [`RedisError::InvalidName`] for a bad table id, [`RedisError::Unavailable`] when
    /// Redis is down or slow (subscribers then see a gap and catch up from the store).
    pub async fn publish_event(
        &self,
        table_id: &str,
        version: u64,
        spectator: &[u8],
        seats: &[(u8, Vec<u8>)],
    ) -> Result<()> {
        let mut messages = Vec::with_capacity(1 + seats.len());
        messages.push((self.keys().channel(table_id, Viewer::Spectator)?, FeedMessage::encode(version, spectator)));
        for (seat, payload) in seats {
            messages.push((self.keys().channel(table_id, Viewer::Seat(*seat))?, FeedMessage::encode(version, payload)));
        }
        let pipeline = self.client().pipeline();
        self.run("publish_event", async {
            for (channel, message) in messages {
                let () = pipeline.publish(channel, Value::Bytes(message.into())).await?;
            }
            let _receivers: Vec<Value> = pipeline.all().await?;
            Ok(())
        })
        .await
    }

    /// Subscribes to a table's feed for `viewer`, on a new connection.
    ///
    /// # Errors
    /// [`RedisError::InvalidName`] for a bad table id, [`RedisError::Unavailable`] if the
    /// connection or the subscription cannot be made in time.
    pub async fn subscribe(&self, table_id: &str, viewer: Viewer) -> Result<Subscription> {
        const OP: &str = "subscribe";
        let channel = self.keys().channel(table_id, viewer)?;
        if !self.is_available() {
            return Err(RedisError::unavailable(OP, "not connected (reconnecting in the background)"));
        }
        let client = self.builder().build_subscriber_client().map_err(|e| RedisError::from_fred(OP, e))?;
        // Before connecting: nothing published after the SUBSCRIBE answer is missed.
        let messages = client.message_rx();
        let limit = self.config().connect_timeout + self.config().command_timeout;
        match tokio::time::timeout(limit, client.init()).await {
            Ok(Ok(_task)) => {}
            Ok(Err(e)) => return Err(RedisError::from_fred(OP, e)),
            Err(_) => return Err(RedisError::unavailable(OP, "no connection within the connect timeout")),
        }
        let manager = client.manage_subscriptions();
        let subscription = Subscription { client, messages, channel, manager };
        // Fred answers SUBSCRIBE as soon as it is written (the server's confirmation arrives
        // out of band and is dropped), so a PING on the same connection follows it: the
        // server answers in order, so once PING is answered the subscription is live and
        // nothing published after `subscribe` returns is missed.
        let client = &subscription.client;
        let confirmed = async {
            client.subscribe(subscription.channel.clone()).await?;
            client.ping::<Value>(None).await
        };
        match tokio::time::timeout(self.config().command_timeout, confirmed).await {
            Ok(Ok(_pong)) => Ok(subscription),
            Ok(Err(e)) => Err(RedisError::from_fred(OP, e)),
            Err(_) => Err(RedisError::unavailable(OP, "no answer within the command timeout")),
        }
    }
}
