//! The few requests the store makes, behind one small trait, so that the store's logic
//! (command indexes, retries, positions, snapshots) is tested against an in-memory double
//! of the server (`fake`, in tests only), and [`KurrentBackend`] sends them with the
//! official client.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use kurrentdb::{
    AppendToStreamOptions, Client, EventData, Position, ReadAllOptions, ReadStreamOptions, RecordedEvent,
    StreamMetadata, StreamPosition, StreamState, SubscribeToAllOptions, SubscriptionEvent, SubscriptionFilter,
};
use showdown_store::GlobalPosition;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::mapping::{self, EncodedEvent};

/// The longest wait between two attempts to re-subscribe to `$all` after a drop.
const MAX_RESUBSCRIBE_DELAY: Duration = Duration::from_secs(5);

/// A recorded event, owned (the client's [`RecordedEvent`] cannot be built outside it).
#[derive(Clone, Debug)]
pub(crate) struct Record {
    /// The EventStoreDB stream name.
    pub stream: String,
    /// The event id.
    pub id: Uuid,
    /// Its revision in the stream.
    pub revision: u64,
    /// The event type.
    pub event_type: String,
    /// The data.
    pub data: Bytes,
    /// The custom metadata.
    pub custom_metadata: Bytes,
    /// Its `$all` position.
    pub position: Position,
}

impl From<RecordedEvent> for Record {
    fn from(e: RecordedEvent) -> Record {
        Record {
            stream: e.stream_id().to_owned(),
            id: e.id,
            revision: e.revision,
            event_type: e.event_type,
            data: e.data,
            custom_metadata: e.custom_metadata,
            position: e.position,
        }
    }
}

/// What the store asks of the server.
#[async_trait]
pub(crate) trait Backend: Send + Sync {
    /// Up to `count` records of `stream` from revision `from` on; none if the stream does
    /// not exist. `leader`: read from the leader (for decisions an append acts on).
    async fn read_forward(
        &self,
        stream: &str,
        from: u64,
        count: usize,
        leader: bool,
    ) -> Result<Vec<Record>, kurrentdb::Error>;

    /// The last record of `stream`, if any.
    async fn read_last(&self, stream: &str, leader: bool) -> Result<Option<Record>, kurrentdb::Error>;

    /// Appends `events` to `stream` if it is at `expected`; the revision of the last event
    /// appended (or, when the server recognises the same event ids right after `expected`,
    /// of the first append's last event).
    async fn append(
        &self,
        stream: &str,
        expected: StreamState,
        events: Vec<EncodedEvent>,
    ) -> Result<u64, kurrentdb::Error>;

    /// Up to `count` records of the streams whose names start with `prefix`, in `$all`
    /// order, from `from` (inclusive; `None`: the start) on.
    async fn read_all(
        &self,
        from: Option<Position>,
        prefix: &str,
        count: usize,
    ) -> Result<Vec<Record>, kurrentdb::Error>;

    /// Sets `stream`'s `$maxCount`.
    async fn set_max_count(&self, stream: &str, max_count: u64) -> Result<(), kurrentdb::Error>;

    /// Asks the server for its version and features.
    async fn ping(&self) -> Result<(), kurrentdb::Error>;

    /// Spawns the task that follows `$all` (streams starting with `prefix`) from its end,
    /// bumps `head` at each event and after each re-subscription, and reports the first
    /// confirmation, or the error before it, on `ready`.
    fn follow(
        &self,
        prefix: String,
        head: Arc<watch::Sender<GlobalPosition>>,
        ready: oneshot::Sender<Result<(), kurrentdb::Error>>,
    ) -> JoinHandle<()>;
}

/// The real server, through the official client; every request but the subscription is
/// bounded by `timeout`.
pub(crate) struct KurrentBackend {
    pub client: Client,
    pub runtime: tokio::runtime::Handle,
    pub timeout: Duration,
}

impl KurrentBackend {
    fn read_options(&self, leader: bool) -> ReadStreamOptions {
        ReadStreamOptions::default().requires_leader(leader).deadline(self.timeout)
    }
}

/// Drains a read into its records (links without a target are skipped; a missing stream
/// gives none).
async fn collect(
    read: Result<kurrentdb::ReadStream, kurrentdb::Error>,
    count: usize,
) -> Result<Vec<Record>, kurrentdb::Error> {
    let mut read = match read {
        Ok(read) => read,
        Err(kurrentdb::Error::ResourceNotFound) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::with_capacity(count.min(1024));
    while out.len() < count {
        match read.next().await {
            Ok(Some(resolved)) => out.extend(resolved.event.map(Record::from)),
            Ok(None) | Err(kurrentdb::Error::ResourceNotFound) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

#[async_trait]
impl Backend for KurrentBackend {
    async fn read_forward(
        &self,
        stream: &str,
        from: u64,
        count: usize,
        leader: bool,
    ) -> Result<Vec<Record>, kurrentdb::Error> {
        let options = self.read_options(leader).position(StreamPosition::Position(from)).forwards().max_count(count);
        collect(self.client.read_stream(stream, &options).await, count).await
    }

    async fn read_last(&self, stream: &str, leader: bool) -> Result<Option<Record>, kurrentdb::Error> {
        let options = self.read_options(leader).position(StreamPosition::End).backwards().max_count(1);
        Ok(collect(self.client.read_stream(stream, &options).await, 1).await?.pop())
    }

    async fn append(
        &self,
        stream: &str,
        expected: StreamState,
        events: Vec<EncodedEvent>,
    ) -> Result<u64, kurrentdb::Error> {
        let options = AppendToStreamOptions::default().stream_state(expected).deadline(self.timeout);
        let events: Vec<EventData> = events.into_iter().map(EncodedEvent::into_event_data).collect();
        Ok(self.client.append_to_stream(stream, &options, events).await?.next_expected_version)
    }

    async fn read_all(
        &self,
        from: Option<Position>,
        prefix: &str,
        count: usize,
    ) -> Result<Vec<Record>, kurrentdb::Error> {
        let options = ReadAllOptions::default()
            .position(from.map_or(StreamPosition::Start, StreamPosition::Position))
            .forwards()
            .filter(SubscriptionFilter::on_stream_name().add_prefix(prefix))
            .max_count(count)
            .deadline(self.timeout);
        collect(self.client.read_all(&options).await, count).await
    }

    async fn set_max_count(&self, stream: &str, max_count: u64) -> Result<(), kurrentdb::Error> {
        let options = AppendToStreamOptions::default().deadline(self.timeout);
        let metadata = StreamMetadata::builder().max_count(max_count).build();
        self.client.set_stream_metadata(stream, &options, &metadata).await.map(drop)
    }

    async fn ping(&self) -> Result<(), kurrentdb::Error> {
        match tokio::time::timeout(self.timeout, self.client.server_info()).await {
            Ok(answer) => answer.map(drop),
            Err(_) => Err(kurrentdb::Error::DeadlineExceeded),
        }
    }

    fn follow(
        &self,
        prefix: String,
        head: Arc<watch::Sender<GlobalPosition>>,
        ready: oneshot::Sender<Result<(), kurrentdb::Error>>,
    ) -> JoinHandle<()> {
        // No deadline: a subscription lasts.
        let options = SubscribeToAllOptions::default()
            .position(StreamPosition::End)
            .filter(SubscriptionFilter::on_stream_name().add_prefix(prefix));
        self.runtime.spawn(follow_all(self.client.clone(), options, head, ready))
    }
}

/// The loop behind [`KurrentBackend::follow`]: re-subscribes with a growing delay whenever
/// the subscription drops after its first confirmation.
async fn follow_all(
    client: Client,
    options: SubscribeToAllOptions,
    head: Arc<watch::Sender<GlobalPosition>>,
    ready: oneshot::Sender<Result<(), kurrentdb::Error>>,
) {
    let mut ready = Some(ready);
    let mut delay = Duration::from_millis(100);
    loop {
        let mut subscription = client.subscribe_to_all(&options).await;
        loop {
            match subscription.next_subscription_event().await {
                Ok(SubscriptionEvent::Confirmed(_)) => {
                    delay = Duration::from_millis(100);
                    match ready.take() {
                        Some(ready) => {
                            if ready.send(Ok(())).is_err() {
                                return; // Nobody waits any more: the store gave up on this task.
                            }
                        }
                        // Events may have come while the subscription was down.
                        None => head.send_modify(|_| {}),
                    }
                }
                Ok(SubscriptionEvent::EventAppeared(event)) => {
                    let at = event.event.as_ref().and_then(|e| mapping::global_position(e.position));
                    head.send_modify(|p| *p = at.map_or(*p, GlobalPosition::next).max(*p));
                }
                Ok(_) => {}
                Err(e) => {
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(Err(e));
                        return;
                    }
                    break;
                }
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_RESUBSCRIBE_DELAY);
    }
}
