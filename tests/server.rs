//! `examples/server` in-process on an ephemeral port, on SQLite: two WebSocket clients play
//! whole hands through the sync protocol; one disconnects mid-hand and resumes, getting
//! exactly the events it missed; each client's view equals the server's view for its seat.
//! Also: a retried command is applied once, a bad frame gets a clear error, a JSON spectator
//! sees what the server shows a spectator, and `/` serves the page.

#[path = "../examples/server/app.rs"]
mod app;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use showdown::engine::chips::Chips;
use showdown::engine::table::{
    CommandId, PlayerId, SeatIdx, Table, TableAction, TableCommand, TableConfig, TableEvent, TableView, Viewer,
};
use showdown::store::StreamVersion;
use showdown::store::sync::{
    ClientMessage, DEFAULT_MAX_FRAME_BYTES, FrameError, ServerFrame, ServerMessage, SyncClient, SyncError, Update,
    decode_server, encode_client,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any one wait may take before the test fails.
const WAIT: Duration = Duration::from_secs(20);

/// A binary client: its socket, its sync state, and every frame it received.
struct Client {
    ws: Ws,
    sync: SyncClient,
    received: Vec<ServerFrame>,
    next_id: u128,
}

impl Client {
    async fn connect(addr: std::net::SocketAddr, player: u64) -> Client {
        let ws = open(addr, &format!("player={player}")).await;
        let mut client = Client { ws, sync: SyncClient::new(Some(PlayerId(player))), received: Vec::new(), next_id: 1 };
        let resume = client.sync.resume();
        client.send(resume).await;
        client
    }

    /// A new socket for the same client (after a disconnect): it resumes from what it holds.
    async fn reconnect(&mut self, addr: std::net::SocketAddr) {
        let player = self.sync.player().unwrap().0;
        self.ws = open(addr, &format!("player={player}")).await;
        self.received.clear();
        let resume = self.sync.resume();
        self.send(resume).await;
    }

    async fn send(&mut self, message: ClientMessage) {
        self.ws.send(Message::Binary(encode_client(&message).into())).await.expect("send");
    }

    async fn command(&mut self, command: TableCommand) -> CommandId {
        let id = CommandId(self.next_id);
        self.next_id += 1;
        let m = self.sync.command(id, command);
        self.send(m).await;
        id
    }

    /// Reads one frame and folds it; answers a gap with the resume the client asks for.
    async fn read(&mut self) -> Update {
        let message =
            tokio::time::timeout(WAIT, self.ws.next()).await.expect("a frame in time").expect("open").unwrap();
        let Message::Binary(bytes) = message else { panic!("expected a binary frame, got {message:?}") };
        let frame = decode_server(&bytes, DEFAULT_MAX_FRAME_BYTES).unwrap();
        self.received.push(frame.clone());
        let r = self.sync.receive(frame);
        if let Some(m) = r.send {
            self.send(m).await;
        }
        r.update
    }

    /// Reads until the client holds `version` and has no command pending.
    async fn settle(&mut self, version: Option<StreamVersion>) {
        while self.sync.version() < version || !self.sync.pending().is_empty() {
            self.read().await;
        }
    }

    async fn act(&mut self, action: TableAction) {
        let player = self.sync.player().unwrap();
        self.command(TableCommand::Act { player, action }).await;
    }
}

async fn open(addr: std::net::SocketAddr, query: &str) -> Ws {
    let url = format!("ws://{addr}/ws?{query}");
    tokio_tungstenite::connect_async(url).await.expect("connect").0
}

async fn server_table(server: &app::RunningServer) -> (Option<StreamVersion>, Table) {
    server.table().await.expect("the server runs")
}

/// Brings both clients to the server's version and checks each sees what the server shows its
/// seat. The dealer may move on meanwhile (a new hand): then it tries again.
async fn check_in_step(server: &app::RunningServer, clients: &mut [&mut Client]) {
    for _ in 0..20 {
        let (version, table) = server_table(server).await;
        for c in clients.iter_mut() {
            c.settle(version).await;
        }
        if clients.iter().any(|c| c.sync.version() != version) {
            continue;
        }
        for c in clients.iter() {
            let seat = table.seat_of(c.sync.player().unwrap()).map_or(Viewer::Spectator, Viewer::Seat);
            assert_eq!(c.sync.viewer(), seat);
            assert_eq!(c.sync.view(), table.view_for(seat), "{:?} at {version:?}", c.sync.player());
        }
        return;
    }
    panic!("the clients never caught up with the server");
}

/// Plays check-or-call for whoever is to act, until `until` holds of the server's table.
async fn play_until(server: &app::RunningServer, a: &mut Client, b: &mut Client, until: impl Fn(&Table) -> bool) {
    for _ in 0..200 {
        let (version, table) = server_table(server).await;
        if until(&table) {
            return;
        }
        let Some(turn) = table.turn() else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let actor = if table.seat(turn.seat).unwrap().player == a.sync.player().unwrap() { &mut *a } else { &mut *b };
        actor.settle(version).await;
        assert_eq!(actor.sync.view().to_act, Some(turn.seat), "the client shows its turn");
        actor.act(TableAction::CheckOrCall).await;
        actor.settle(None).await;
    }
    panic!("the hands did not reach the state asked for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_play_disconnect_resume_and_see_the_servers_view() {
    let dir = tempfile::tempdir().unwrap();
    let store = showdown::stores::open(&format!("sqlite:{}", dir.path().join("server.db").display())).await.unwrap();
    let mut options = app::ServerOptions::new(showdown::store::StreamId::new("table-1").unwrap());
    options.config = TableConfig { seats: 2, action_time_ms: 120_000, ..TableConfig::no_limit_holdem(1, 2) };
    options.dealer_every = Duration::from_millis(20);
    options.between_hands = Duration::from_millis(300);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = app::start(listener, store, options).await.unwrap();
    let addr = server.addr;

    let mut a = Client::connect(addr, 1).await;
    let mut b = Client::connect(addr, 2).await;
    check_in_step(&server, &mut [&mut a, &mut b]).await;
    assert_eq!(a.sync.viewer(), Viewer::Spectator, "not seated yet");

    for (c, seat) in [(&mut a, 0), (&mut b, 1)] {
        let player = c.sync.player().unwrap();
        let command =
            TableCommand::SitDown { seat: SeatIdx(seat), player, buy_in: Chips(200), wait_for_big_blind: false };
        c.command(command).await;
        c.settle(None).await;
        assert_eq!(c.sync.viewer(), Viewer::Seat(SeatIdx(seat)));
    }

    // Hand 1, dealt by the server's dealer, played to its end.
    play_until(&server, &mut a, &mut b, |t| t.in_hand() && t.hand_no().0 == 1).await;
    check_in_step(&server, &mut [&mut a, &mut b]).await;
    let own = a.sync.view().seats[0].unwrap().hole_cards;
    assert!(own.len() == 2 && own.as_slice().iter().all(Option::is_some), "A sees its cards: {own}");
    let theirs = a.sync.view().seats[1].unwrap().hole_cards;
    assert!(theirs.as_slice().iter().all(Option::is_none), "A does not see B's: {theirs}");
    play_until(&server, &mut a, &mut b, |t| t.hand_no().0 == 2 && t.in_hand()).await;

    // Hand 2: when it is A's turn, B drops off; A acts; B comes back and resumes.
    play_until(&server, &mut a, &mut b, |t| {
        t.turn().is_some_and(|turn| t.seat(turn.seat).unwrap().player == PlayerId(1)) && t.hand_no().0 == 2
    })
    .await;
    assert!(server_table(&server).await.1.in_hand(), "still hand 2");
    check_in_step(&server, &mut [&mut a, &mut b]).await;
    let held = b.sync.version();
    b.ws.close(None).await.unwrap();
    a.act(TableAction::CheckOrCall).await;
    a.settle(None).await;
    let (head, table) = server_table(&server).await;
    assert!(head > held, "A's action stored events B did not get");
    b.reconnect(addr).await;
    b.settle(head).await;
    let versions: Vec<StreamVersion> = b
        .received
        .iter()
        .filter_map(|f| match &f.message {
            ServerMessage::PlayerAction { version, .. } => Some(*version),
            ServerMessage::StateUpdate { .. } => panic!("B was not too far behind: {f:?}"),
            _ => None,
        })
        .collect();
    let missing: Vec<StreamVersion> = (held.unwrap().0 + 1..=head.unwrap().0).map(StreamVersion).collect();
    assert_eq!(versions, missing, "exactly the missing events");
    assert_eq!(b.sync.view(), table.view_for(Viewer::Seat(SeatIdx(1))));
    check_in_step(&server, &mut [&mut a, &mut b]).await;

    // The rest of hand 2, then a retried top-up between hands: applied once, answered twice.
    play_until(&server, &mut a, &mut b, |t| t.hand_no().0 == 2 && !t.in_hand()).await;
    check_in_step(&server, &mut [&mut a, &mut b]).await;
    let stack = server_table(&server).await.1.stack(SeatIdx(0)).unwrap();
    let top_up = TableCommand::TopUp { player: PlayerId(1), amount: Chips(1) };
    let id = a.command(top_up.clone()).await;
    a.send(ClientMessage::Command { id, command: top_up }).await;
    let mut done = 0;
    while done < 2 {
        if let Update::Done { command, .. } = a.read().await {
            assert_eq!(command, id);
            done += 1;
        }
    }
    let (_, table) = server_table(&server).await;
    let now = table.stack(SeatIdx(0)).unwrap();
    // The dealer may have dealt hand 3 already, so compare what the stack was before the hand.
    let before_hand = table.seat(SeatIdx(0)).unwrap().stack;
    assert!(now == stack + Chips(1) || before_hand == stack + Chips(1), "{stack} then {now}/{before_hand}");
    let topped =
        a.received.iter().filter(|f| matches!(&f.message, ServerMessage::PlayerAction { event, .. } if matches!(event.event, TableEvent::ToppedUp { .. }))).count();
    assert_eq!(topped, 1, "one top-up stored");

    // A bad frame is answered with a clear error, and the connection goes on.
    a.ws.send(Message::Binary(vec![250, 1, 2].into())).await.unwrap();
    loop {
        if let Update::Failed { command: None, error } = a.read().await {
            assert!(matches!(error, SyncError::Frame(FrameError::Malformed { .. })), "{error:?}");
            assert!(error.to_string().contains("expected a bincode-encoded client message"), "{error}");
            break;
        }
    }
    check_in_step(&server, &mut [&mut a, &mut b]).await;

    // A browser-style JSON spectator sees what the server shows a spectator.
    let mut json = open(addr, "format=json").await;
    json.send(Message::Text(r#"{"Resume":{"last_version":null}}"#.into())).await.unwrap();
    let reply = tokio::time::timeout(WAIT, json.next()).await.unwrap().unwrap().unwrap();
    let Message::Text(text) = reply else { panic!("{reply:?}") };
    let batch: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
    let view: TableView = serde_json::from_value(batch["view"].clone()).unwrap();
    let (_, table) = server_table(&server).await;
    assert_eq!(view.seats, table.view_for(Viewer::Spectator).seats);
    assert!(
        batch["frames"][0]["message"]["StateUpdate"].is_object()
            || batch["frames"][0]["message"]["PlayerAction"].is_object()
    );
    json.send(Message::Text(r#"{"Command":{"id":1,"command":"Tick"}}"#.into())).await.unwrap();
    let reply = tokio::time::timeout(WAIT, json.next()).await.unwrap().unwrap().unwrap();
    let Message::Text(text) = reply else { panic!("{reply:?}") };
    assert!(text.as_str().contains("a spectator cannot send table commands"), "{text}");

    // The page.
    let mut http = TcpStream::connect(addr).await.unwrap();
    http.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut page = String::new();
    http.read_to_string(&mut page).await.unwrap();
    assert!(page.starts_with("HTTP/1.1 200") && page.contains("<title>Showdown table</title>"), "{page:.200}");

    server.stop().await;
}
