//! The server of `examples/server`: one table behind a WebSocket, speaking
//! `showdown_store::sync` (`docs/SYNC.md`). `tests/server.rs` runs it in-process, so it is a
//! module with a function to start it ([`start`]) rather than a `main`.
//!
//! One task owns the table (the [`TableActor`]): the [`LoadedTable`], its [`TableFeed`] and a
//! [`ServerSession`] per connection; connection tasks only move frames between their socket
//! and the actor. The actor is also the dealer: it starts a hand (with a seed and salt from the
//! OS: only the engine is pure) when two players are ready, and ticks the clock so that a player
//! whose time ran out is acted for; each new turn goes out as a `TimerUpdate`.
//!
//! Wire formats, chosen per connection by `/ws?format=`:
//! - `binary` (the default): one bincode [`ServerFrame`] per binary message, and
//!   [`ClientMessage`]s in binary messages (`sync::encode_client`).
//! - `json`, for browsers, which cannot run the engine to fold events: each batch of frames
//!   is one text message `{"frames": [...], "view": TableView, "config": TableConfig,
//!   "legal": LegalActions|null, "errors": ["..."]}`; the view, the legal actions and the
//!   errors' text are computed by the server for the connection's viewer. Client messages are
//!   the same [`ClientMessage`]s as JSON text, under the same size and chat limits.
//!
//! A connection names its player with `/ws?player=ID` (none: a spectator). This example
//! trusts it; a real server takes the player from its authentication.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use showdown::engine::hand::{LegalActions, legal_actions};
use showdown::engine::table::{
    CommandEnvelope, CommandId, PlayerId, Table, TableCommand, TableConfig, TableView, Turn,
};
use showdown::store::sync::{
    ClientMessage, FrameError, ServerFrame, ServerMessage, ServerSession, Step, SyncConfig, TableFeed, check_chat,
    decode_client, encode_server,
};
use showdown::store::{
    EventStore, Handled, LoadedTable, ServiceConfig, ServiceError, StreamId, StreamVersion, TableService,
};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// The page served at `/`.
const INDEX_HTML: &str = include_str!("index.html");

/// How the server runs its table.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// The table's stream.
    pub table: StreamId,
    /// The configuration it is opened with, if its stream is empty.
    pub config: TableConfig,
    /// Frame limits and the resume window.
    pub sync: SyncConfig,
    /// How the table service retries and snapshots.
    pub service: ServiceConfig,
    /// How often the dealer looks at the table (deals, ticks the clock).
    pub dealer_every: Duration,
    /// The pause between the end of a hand and the next deal.
    pub between_hands: Duration,
    /// Batches of frames queued for one connection before it counts as too slow and is
    /// dropped (the client resumes when it reconnects).
    pub outbox: usize,
}

impl ServerOptions {
    /// The defaults for a table of this stream: no-limit hold'em 1/2, six seats, 20 s to act.
    pub fn new(table: StreamId) -> ServerOptions {
        ServerOptions {
            table,
            config: TableConfig { action_time_ms: 20_000, time_bank_ms: 30_000, ..TableConfig::no_limit_holdem(1, 2) },
            sync: SyncConfig::default(),
            service: ServiceConfig::default(),
            dealer_every: Duration::from_millis(250),
            between_hands: Duration::from_secs(3),
            outbox: 1_024,
        }
    }
}

/// A running server: where it listens, a look at its table, and a way to stop it.
pub struct RunningServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    requests: mpsc::Sender<Request>,
    stop: watch::Sender<bool>,
    http: JoinHandle<std::io::Result<()>>,
    table: JoinHandle<()>,
}

impl RunningServer {
    /// The table's version and the table itself, as the server holds them now.
    pub async fn table(&self) -> Option<(Option<StreamVersion>, Table)> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(Request::Inspect { reply }).await.ok()?;
        answer.await.ok()
    }

    /// Stops accepting connections, closes the open ones and stops the table's task.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.http.await;
        let _ = self.table.await;
    }
}

/// Loads (or opens) the table and serves it on `listener` until [`RunningServer::stop`].
///
/// # Errors
/// The store's error when the table cannot be loaded or opened, or the table's rejection of
/// the configuration.
pub async fn start(
    listener: TcpListener,
    store: Arc<dyn EventStore>,
    options: ServerOptions,
) -> anyhow::Result<RunningServer> {
    let addr = listener.local_addr()?;
    let service = TableService::new(store, options.service);
    let mut loaded = service.load(&options.table).await?;
    if loaded.table().config().is_none() {
        let open = CommandEnvelope {
            id: fresh_id(),
            now_ms: now_ms(0),
            command: TableCommand::Open { config: options.config },
        };
        service.handle(&mut loaded, &open).await?;
    }
    let (requests, inbox) = mpsc::channel(1_024);
    let (stop, stopped) = watch::channel(false);
    let actor = TableActor::new(service, loaded, &options);
    let table = tokio::spawn(actor.run(inbox, stopped.clone()));
    let app = axum::Router::new().route("/", get(|| async { Html(INDEX_HTML) })).route("/ws", get(upgrade)).with_state(
        Shared {
            requests: requests.clone(),
            sync: options.sync,
            outbox: options.outbox.max(1),
            next_conn: Arc::new(AtomicU64::new(1)),
        },
    );
    let mut shutdown = stopped;
    let http = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await
    });
    Ok(RunningServer { addr, requests, stop, http, table })
}

/// What the HTTP handlers share.
#[derive(Clone)]
struct Shared {
    requests: mpsc::Sender<Request>,
    sync: SyncConfig,
    outbox: usize,
    next_conn: Arc<AtomicU64>,
}

/// `/ws`'s query.
#[derive(Deserialize)]
struct Connect {
    player: Option<u64>,
    format: Option<String>,
}

async fn upgrade(ws: WebSocketUpgrade, Query(q): Query<Connect>, State(shared): State<Shared>) -> impl IntoResponse {
    let json = match q.format.as_deref() {
        None | Some("binary") => false,
        Some("json") => true,
        Some(other) => {
            let reason = format!("unknown format `{other}`: expected binary or json");
            return (axum::http::StatusCode::BAD_REQUEST, reason).into_response();
        }
    };
    // The transport refuses a message far over the limit; one a little over gets the
    // protocol's clear `TooLarge` answer.
    ws.max_message_size(shared.sync.max_frame_bytes.saturating_mul(2))
        .on_upgrade(move |socket| connection(socket, q.player.map(PlayerId), json, shared))
        .into_response()
}

/// One connection: frames in to the table's task, batches out to the socket.
async fn connection(mut socket: WebSocket, player: Option<PlayerId>, json: bool, shared: Shared) {
    let conn = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    let (out, mut outgoing) = mpsc::channel::<Outgoing>(shared.outbox);
    if shared.requests.send(Request::Connect { conn, player, out }).await.is_err() {
        return;
    }
    let limit = shared.sync.max_frame_bytes;
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let decoded = match incoming {
                    Some(Ok(Message::Binary(bytes))) => decode_client(&bytes, limit),
                    Some(Ok(Message::Text(text))) => decode_json(text.as_str(), limit),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                };
                let request = match decoded {
                    Ok(message) => Request::Message { conn, message },
                    Err(error) => Request::BadFrame { conn, error },
                };
                if shared.requests.send(request).await.is_err() {
                    break;
                }
            }
            batch = outgoing.recv() => {
                // `None`: the table dropped this connection (too slow, or stopping).
                let Some(batch) = batch else { break };
                if send(&mut socket, batch, json).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = shared.requests.send(Request::Disconnect { conn }).await;
}

/// A client message in JSON, with the limits of `sync::decode_client`.
fn decode_json(text: &str, limit: usize) -> Result<ClientMessage, FrameError> {
    if text.len() > limit {
        return Err(FrameError::TooLarge { len: text.len(), max: limit });
    }
    let message: ClientMessage = serde_json::from_str(text)
        .map_err(|e| FrameError::Malformed { expected: "JSON client message".to_owned(), reason: e.to_string() })?;
    if let ClientMessage::Chat { text } = &message {
        check_chat(text)?;
    }
    Ok(message)
}

/// The JSON form of a batch, for clients that do not run the engine.
#[derive(Serialize)]
struct JsonBatch<'a> {
    frames: &'a [ServerFrame],
    view: &'a TableView,
    config: Option<&'a TableConfig>,
    legal: Option<LegalActions>,
    errors: Vec<String>,
}

async fn send(socket: &mut WebSocket, batch: Outgoing, json: bool) -> Result<(), axum::Error> {
    if !json {
        for frame in &batch.frames {
            socket.send(Message::Binary(encode_server(frame).into())).await?;
        }
        return Ok(());
    }
    let errors = batch
        .frames
        .iter()
        .filter_map(|f| match &f.message {
            ServerMessage::ErrorNotification { error, .. } => Some(error.to_string()),
            _ => None,
        })
        .collect();
    let body = JsonBatch {
        frames: &batch.frames,
        view: &batch.view,
        config: batch.config.as_ref(),
        legal: batch.legal,
        errors,
    };
    match serde_json::to_string(&body) {
        Ok(text) => socket.send(Message::Text(text.into())).await,
        Err(e) => {
            tracing::warn!(error = %e, "cannot encode a batch as JSON");
            Ok(())
        }
    }
}

/// What connection tasks ask of the table's task.
enum Request {
    Connect { conn: u64, player: Option<PlayerId>, out: mpsc::Sender<Outgoing> },
    Message { conn: u64, message: ClientMessage },
    BadFrame { conn: u64, error: FrameError },
    Disconnect { conn: u64 },
    Inspect { reply: oneshot::Sender<(Option<StreamVersion>, Table)> },
}

/// Frames for one connection, with what a JSON client shows.
struct Outgoing {
    frames: Vec<ServerFrame>,
    view: TableView,
    config: Option<TableConfig>,
    legal: Option<LegalActions>,
}

struct Conn {
    session: ServerSession,
    out: mpsc::Sender<Outgoing>,
}

/// The task that owns the table.
struct TableActor {
    service: TableService,
    loaded: LoadedTable,
    feed: TableFeed,
    sync: SyncConfig,
    conns: BTreeMap<u64, Conn>,
    dealer_every: Duration,
    between_hands_ms: u64,
    /// When the last hand ended (or the server started).
    idle_since_ms: u64,
    /// The turn last announced with a `TimerUpdate`.
    announced: Option<Turn>,
}

impl TableActor {
    fn new(service: TableService, loaded: LoadedTable, options: &ServerOptions) -> TableActor {
        let feed = TableFeed::new(loaded.version(), options.sync.resume_window);
        let idle_since_ms = now_ms(loaded.table().last_now_ms());
        TableActor {
            service,
            loaded,
            feed,
            sync: options.sync,
            conns: BTreeMap::new(),
            dealer_every: options.dealer_every,
            between_hands_ms: u64::try_from(options.between_hands.as_millis()).unwrap_or(u64::MAX),
            idle_since_ms,
            announced: None,
        }
    }

    async fn run(mut self, mut inbox: mpsc::Receiver<Request>, mut stopped: watch::Receiver<bool>) {
        let mut dealer = tokio::time::interval(self.dealer_every);
        dealer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                request = inbox.recv() => match request {
                    Some(request) => self.request(request).await,
                    None => return,
                },
                _ = dealer.tick() => self.deal_or_tick().await,
                changed = stopped.changed() => {
                    if changed.is_err() || *stopped.borrow() {
                        return;
                    }
                }
            }
        }
    }

    fn now(&self) -> u64 {
        now_ms(self.loaded.table().last_now_ms())
    }

    async fn request(&mut self, request: Request) {
        match request {
            Request::Connect { conn, player, out } => {
                // The client asks for its start with a `Resume`.
                self.conns.insert(conn, Conn { session: ServerSession::new(player, self.sync), out });
            }
            Request::Disconnect { conn } => {
                self.conns.remove(&conn);
            }
            Request::BadFrame { conn, error } => {
                if let Some(c) = self.conns.get(&conn) {
                    let frame = c.session.error(&self.feed, None, showdown::store::sync::SyncError::Frame(error));
                    self.send(conn, vec![frame]);
                }
            }
            Request::Message { conn, message } => self.message(conn, message).await,
            Request::Inspect { reply } => {
                let _ = reply.send((self.loaded.version(), self.loaded.table().clone()));
            }
        }
    }

    async fn message(&mut self, conn: u64, message: ClientMessage) {
        let now = self.now();
        let Some(c) = self.conns.get_mut(&conn) else { return };
        match c.session.receive(message, now, &self.feed, self.loaded.table()) {
            Step::Handle(envelope) => {
                let result = self.service.handle(&mut self.loaded, &envelope).await;
                self.stored(&result);
                // The sender's answer after its events: it holds them when it reads it.
                if let Some(c) = self.conns.get_mut(&conn) {
                    let frame = c.session.handled(&envelope, &result, &self.feed);
                    self.send(conn, vec![frame]);
                }
                self.announce_turn();
            }
            Step::Send(frames) => self.send(conn, frames),
            Step::Broadcast(frame) => self.broadcast(&frame),
        }
    }

    /// Records a handled command's events and pushes them to every connection.
    fn stored(&mut self, result: &Result<Handled, ServiceError>) {
        if let Ok(handled) = result
            && let Err(e) = self.feed.record_handled(handled)
        {
            tracing::warn!(error = %e, "the feed missed events; clients will get the whole table");
        }
        if self.feed.version() != self.loaded.version() {
            // Another writer appended to the stream (the service caught up with it): start
            // the feed again at the table's version; clients get the table on their next push.
            self.feed = TableFeed::new(self.loaded.version(), self.sync.resume_window);
        }
        let conns: Vec<u64> = self.conns.keys().copied().collect();
        for conn in conns {
            let Some(c) = self.conns.get_mut(&conn) else { continue };
            let frames = c.session.push(&self.feed, self.loaded.table());
            self.send(conn, frames);
        }
    }

    /// Queues frames for a connection; one that cannot keep up is dropped (it resumes when
    /// it comes back).
    fn send(&mut self, conn: u64, frames: Vec<ServerFrame>) {
        if frames.is_empty() {
            return;
        }
        let Some(c) = self.conns.get(&conn) else { return };
        let table = self.loaded.table();
        let viewer = c.session.viewer();
        let view = table.view_for(viewer);
        let legal = legal_actions(table.hand())
            .filter(|_| view.to_act.is_some_and(|s| viewer == showdown::engine::table::Viewer::Seat(s)));
        let batch = Outgoing { frames, view, config: table.config().copied(), legal };
        if c.out.try_send(batch).is_err() {
            tracing::info!(conn, "dropping a connection that does not keep up");
            self.conns.remove(&conn);
        }
    }

    /// A command of the dealer (the host): stored, pushed, the turn announced.
    async fn host(&mut self, command: TableCommand) -> Result<Handled, ServiceError> {
        let envelope = CommandEnvelope { id: fresh_id(), now_ms: self.now(), command };
        let result = self.service.handle(&mut self.loaded, &envelope).await;
        self.stored(&result);
        self.announce_turn();
        result
    }

    /// Sends the running turn's clock to everyone when it changed.
    fn announce_turn(&mut self) {
        let turn = self.loaded.table().turn();
        if turn == self.announced {
            return;
        }
        self.announced = turn;
        if !self.loaded.table().in_hand() {
            self.idle_since_ms = self.now();
        }
        if let Some(frame) = self.feed.timer(self.loaded.table()) {
            self.broadcast(&frame);
        }
    }

    /// Sends one frame to every connection.
    fn broadcast(&mut self, frame: &ServerFrame) {
        let conns: Vec<u64> = self.conns.keys().copied().collect();
        for conn in conns {
            self.send(conn, vec![frame.clone()]);
        }
    }

    /// The dealer: deals when two players are ready, and ticks the clock during a hand.
    async fn deal_or_tick(&mut self) {
        let now = self.now();
        let table = self.loaded.table();
        if table.is_closed() || table.config().is_none() {
            return;
        }
        let result = if table.in_hand() {
            if table.turn().is_none_or(|turn| now < turn.deadline_ms) {
                return;
            }
            // Past the deadline: the time bank starts, or the table acts for the player.
            self.host(TableCommand::Tick).await
        } else {
            let ready =
                table.seats().iter().flatten().filter(|s| !s.sitting_out && !s.leaving && !s.stack.is_zero()).count();
            if ready < 2 || now < self.idle_since_ms.saturating_add(self.between_hands_ms) {
                return;
            }
            let (mut seed, mut salt) = ([0u8; 32], [0u8; 32]);
            if let Err(e) = getrandom::fill(&mut seed).and_then(|()| getrandom::fill(&mut salt)) {
                tracing::error!(error = %e, "no randomness from the OS: not dealing");
                return;
            }
            self.host(TableCommand::StartHand { seed, salt }).await
        };
        if let Err(e) = result {
            tracing::warn!(error = %showdown::store::verify::error_chain(&e), "the dealer's command failed");
        }
    }
}

/// The host's clock in milliseconds, never before `floor` (the table refuses a clock that goes
/// back, and the wall clock can).
fn now_ms(floor: u64) -> u64 {
    let wall =
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    wall.max(floor)
}

/// A command id for the host's own commands: random, so that two server runs never collide.
fn fresh_id() -> CommandId {
    let mut bytes = [0u8; 16];
    // Without the OS's randomness, the clock and a counter still make a unique id here.
    if getrandom::fill(&mut bytes).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        return CommandId(u128::from(now_ms(0)) << 64 | u128::from(n));
    }
    CommandId(u128::from_le_bytes(bytes))
}
