//! Tests of the sync protocol: frames and their limits, the feed's order, resumes inside and
//! beyond the window, commands through a real [`TableService`] on a [`MemoryStore`]
//! (duplicates, refusals, who may send what), and a seeded bot session whose frames are
//! dropped, duplicated and reordered, after which every client sees what the server shows it.

use std::sync::Arc;

use proptest::prelude::*;
use showdown_engine::chips::Chips;
use showdown_engine::hand::{self, legal_actions};
use showdown_engine::table::{ConfigRejection, TableAction, TableConfig};
use showdown_engine::testing::SplitMix;

use super::*;
use crate::{EventStore, LoadedTable, MemoryStore, ServiceConfig, StreamId, TableService};

fn config() -> TableConfig {
    TableConfig { seats: 4, action_time_ms: 10_000, time_bank_ms: 5_000, ..TableConfig::no_limit_holdem(1, 2) }
}

fn sit(seat: u8, player: u64) -> TableCommand {
    TableCommand::SitDown {
        seat: SeatIdx(seat),
        player: PlayerId(player),
        buy_in: Chips(200),
        wait_for_big_blind: false,
    }
}

/// A host of one table: the service on a memory store, the loaded table, its feed, and one
/// session per connection with the frames waiting to go out to it.
struct Host {
    store: Arc<MemoryStore>,
    service: TableService,
    loaded: LoadedTable,
    feed: TableFeed,
    sessions: Vec<ServerSession>,
    outbox: Vec<Vec<ServerFrame>>,
    now: u64,
    next_id: u128,
}

impl Host {
    async fn open(resume_window: usize) -> Host {
        let store = Arc::new(MemoryStore::new());
        let service = TableService::new(store.clone(), ServiceConfig::default());
        let loaded = service.load(&StreamId::new("table-1").unwrap()).await.unwrap();
        let feed = TableFeed::new(loaded.version(), resume_window);
        let mut host = Host {
            store,
            service,
            loaded,
            feed,
            sessions: Vec::new(),
            outbox: Vec::new(),
            now: 1_000,
            next_id: 1 << 100,
        };
        host.host(TableCommand::Open { config: config() }).await.unwrap();
        host
    }

    fn table(&self) -> &Table {
        self.loaded.table()
    }

    /// A connection playing for `player`; not joined: it resumes or is joined.
    fn connect(&mut self, player: Option<u64>) -> usize {
        self.sessions.push(ServerSession::new(player.map(PlayerId), SyncConfig::default()));
        self.outbox.push(Vec::new());
        self.sessions.len() - 1
    }

    /// A command of the host (the dealer): stored, recorded, pushed to every session.
    async fn host(&mut self, command: TableCommand) -> Result<Handled, ServiceError> {
        let env = CommandEnvelope { id: CommandId(self.next_id), now_ms: self.now, command };
        self.next_id += 1;
        let handled = self.service.handle(&mut self.loaded, &env).await?;
        self.feed.record_handled(&handled).unwrap();
        self.push_all();
        Ok(handled)
    }

    fn push_all(&mut self) {
        for (session, outbox) in self.sessions.iter_mut().zip(&mut self.outbox) {
            outbox.extend(session.push(&self.feed, self.loaded.table()));
        }
    }

    /// A message from connection `who`, as a server loop runs it.
    async fn receive_from(&mut self, who: usize, message: ClientMessage) {
        let step = self.sessions[who].receive(message, self.now, &self.feed, self.loaded.table());
        match step {
            Step::Handle(env) => {
                let result = self.service.handle(&mut self.loaded, &env).await;
                if let Ok(handled) = &result {
                    self.feed.record_handled(handled).unwrap();
                }
                self.push_all();
                let answer = self.sessions[who].handled(&env, &result, &self.feed);
                self.outbox[who].push(answer);
            }
            Step::Send(frames) => self.outbox[who].extend(frames),
            Step::Broadcast(frame) => {
                for outbox in &mut self.outbox {
                    outbox.push(frame.clone());
                }
            }
        }
    }

    /// Every frame waiting for `who`, encoded and decoded as on a wire.
    fn take(&mut self, who: usize) -> Vec<ServerFrame> {
        std::mem::take(&mut self.outbox[who])
            .iter()
            .map(|f| decode_server(&encode_server(f), DEFAULT_MAX_FRAME_BYTES).unwrap())
            .collect()
    }

    fn player_of(&self, who: usize) -> PlayerId {
        self.sessions[who].player().unwrap()
    }
}

/// Folds frames into a client; returns what the client wants sent back.
fn fold(client: &mut SyncClient, frames: Vec<ServerFrame>) -> Vec<(Update, Option<ClientMessage>)> {
    frames
        .into_iter()
        .map(|f| {
            let r = client.receive(f);
            (r.update, r.send)
        })
        .collect()
}

fn events(frames: &[ServerFrame]) -> Vec<StreamVersion> {
    frames
        .iter()
        .filter_map(|f| match &f.message {
            ServerMessage::PlayerAction { version, .. } => Some(*version),
            _ => None,
        })
        .collect()
}

fn recorded(n: u64) -> Recorded {
    Recorded {
        schema: showdown_engine::table::SCHEMA_VERSION,
        command: CommandId(u128::from(n)),
        now_ms: n,
        event: TableEvent::Closed,
    }
}

// ---------------------------------------------------------------------------------------
// Frames.

fn every_message() -> (Vec<ServerFrame>, Vec<ClientMessage>) {
    let mut table = Table::new();
    let opened = Recorded { event: TableEvent::Opened { config: config() }, ..recorded(1) };
    table::apply(&mut table, &opened);
    let v = Some(StreamVersion(7));
    let server = vec![
        ServerFrame { version: v, message: ServerMessage::PlayerAction { version: StreamVersion(7), event: opened } },
        ServerFrame { version: v, message: ServerMessage::StateUpdate { version: v, state: Box::new(table) } },
        ServerFrame {
            version: v,
            message: ServerMessage::TimerUpdate { seat: SeatIdx(2), deadline_ms: 10, bank_until_ms: Some(20) },
        },
        ServerFrame {
            version: None,
            message: ServerMessage::ChatMessage { from: PlayerId(3), text: "gl hf ♠".into(), sent_ms: 5 },
        },
        ServerFrame {
            version: v,
            message: ServerMessage::CommandDone { command: CommandId(9), through: StreamVersion(7) },
        },
        ServerFrame {
            version: v,
            message: ServerMessage::ErrorNotification {
                command: Some(CommandId(9)),
                error: SyncError::Rejected(TableRejection::Hand(hand::Rejection::HandOver)),
            },
        },
        ServerFrame {
            version: v,
            message: ServerMessage::ErrorNotification {
                command: Some(CommandId(10)),
                error: SyncError::Rejected(TableRejection::Config(ConfigRejection::UnsupportedVariant { code: "NO" })),
            },
        },
        ServerFrame {
            version: v,
            message: ServerMessage::ErrorNotification {
                command: None,
                error: SyncError::Frame(FrameError::TooLarge { len: 70_000, max: 65_536 }),
            },
        },
    ];
    let client = vec![
        ClientMessage::Command { id: CommandId(u128::MAX), command: sit(1, 7) },
        ClientMessage::Ack { version: StreamVersion(3) },
        ClientMessage::Resume { last_version: None },
        ClientMessage::Resume { last_version: Some(StreamVersion(u64::MAX)) },
        ClientMessage::Chat { text: "x".repeat(MAX_CHAT_BYTES) },
    ];
    (server, client)
}

#[test]
fn every_message_round_trips_through_its_frame() {
    let (server, client) = every_message();
    for frame in server {
        let bytes = encode_server(&frame);
        assert!(bytes.len() < 4_096, "{} bytes for {frame:?}", bytes.len());
        assert_eq!(decode_server(&bytes, DEFAULT_MAX_FRAME_BYTES).unwrap(), frame);
    }
    for message in client {
        assert_eq!(decode_client(&encode_client(&message), DEFAULT_MAX_FRAME_BYTES).unwrap(), message);
    }
}

#[test]
fn bad_frames_are_errors_that_say_what_was_wrong() {
    let chat = encode_client(&ClientMessage::Chat { text: "y".repeat(MAX_CHAT_BYTES + 1) });
    assert_eq!(
        decode_client(&chat, DEFAULT_MAX_FRAME_BYTES),
        Err(FrameError::ChatTooLong { len: MAX_CHAT_BYTES + 1, max: MAX_CHAT_BYTES })
    );
    // The size is checked before decoding: a valid message over the limit is refused too.
    let long = encode_client(&ClientMessage::Chat { text: "z".repeat(900) });
    assert_eq!(decode_client(&long, 100), Err(FrameError::TooLarge { len: long.len(), max: 100 }));
    let mut trailing = encode_client(&ClientMessage::Ack { version: StreamVersion(1) });
    trailing.extend_from_slice(&[0, 0]);
    let e = decode_client(&trailing, DEFAULT_MAX_FRAME_BYTES).unwrap_err();
    assert_eq!(e, FrameError::TrailingBytes { expected: "client message".into(), extra: 2 });
    assert_eq!(e.to_string(), "2 bytes after the end of the client message");
    for garbage in [&[][..], &[200][..], &[9, 9, 9][..], &[3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f][..]]
    {
        let e = decode_client(garbage, DEFAULT_MAX_FRAME_BYTES).unwrap_err();
        assert!(matches!(e, FrameError::Malformed { .. }), "{garbage:?}: {e:?}");
        assert!(e.to_string().starts_with("a malformed frame: expected a bincode-encoded client message: "), "{e}");
    }
    // A session answers a bad frame with an error notification, and goes on.
    let feed = TableFeed::new(None, 8);
    let mut session =
        ServerSession::new(Some(PlayerId(1)), SyncConfig { max_frame_bytes: 100, ..SyncConfig::default() });
    let step = session.receive_bytes(&long, 0, &feed, &Table::new());
    let Step::Send(frames) = step else { panic!("{step:?}") };
    assert!(
        matches!(
            &frames[..],
            [ServerFrame {
                message: ServerMessage::ErrorNotification {
                    command: None,
                    error: SyncError::Frame(FrameError::TooLarge { .. })
                },
                ..
            }]
        ),
        "{frames:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_a_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode_client(&bytes, DEFAULT_MAX_FRAME_BYTES);
        let _ = decode_server(&bytes, DEFAULT_MAX_FRAME_BYTES);
        let _ = decode_client(&bytes, 16);
    }

    #[test]
    fn corrupted_frames_never_panic_a_decoder(pick in 0usize..13, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
        let (server, client) = every_message();
        let mut bytes = if pick < server.len() { encode_server(&server[pick]) } else { encode_client(&client[pick % client.len()]) };
        for (at, x) in flips {
            let i = at % bytes.len();
            bytes[i] ^= x;
        }
        let cut = cut % (bytes.len() + 1);
        for b in [&bytes[..], &bytes[..cut]] {
            let _ = decode_client(b, DEFAULT_MAX_FRAME_BYTES);
            let _ = decode_server(b, DEFAULT_MAX_FRAME_BYTES);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Order, gaps and resumes.

#[test]
fn the_feed_refuses_gaps_and_repeats_and_keeps_its_window() {
    let mut feed = TableFeed::new(Some(StreamVersion(4)), 3);
    assert_eq!(
        feed.record(StreamVersion(6), &recorded(6)),
        Err(FeedError::Gap { expected: StreamVersion(5), found: StreamVersion(6) })
    );
    assert_eq!(
        feed.record(StreamVersion(4), &recorded(4)),
        Err(FeedError::Repeat { expected: StreamVersion(5), found: StreamVersion(4) })
    );
    for v in 5..=9 {
        feed.record(StreamVersion(v), &recorded(v)).unwrap();
    }
    assert_eq!((feed.version(), feed.oldest()), (Some(StreamVersion(9)), Some(StreamVersion(7))));
    assert_eq!(
        feed.record(StreamVersion(9), &recorded(9)).unwrap_err().to_string(),
        "expected version 10 next, got version 9 again"
    );
}

#[test]
fn a_client_folds_in_order_ignores_duplicates_and_resumes_after_a_gap() {
    let mut server = Table::new();
    let mut feed = TableFeed::new(None, 16);
    let mut log = Vec::new();
    let mut host = showdown_engine::table::CommandEnvelope {
        id: CommandId(1),
        now_ms: 1,
        command: TableCommand::Open { config: config() },
    };
    let mut run = |server: &mut Table, command: TableCommand, log: &mut Vec<Recorded>| {
        host.id.0 += 1;
        host.command = command;
        server.execute(&host, log).unwrap();
    };
    run(&mut server, TableCommand::Open { config: config() }, &mut log);
    run(&mut server, sit(0, 10), &mut log);
    run(&mut server, sit(1, 11), &mut log);
    for (v, r) in log.iter().enumerate() {
        feed.record(StreamVersion(v as u64), r).unwrap();
    }
    let frames = feed.catch_up(Viewer::Spectator, None, &server);
    assert_eq!(events(&frames), (0..5).map(StreamVersion).collect::<Vec<_>>());

    let mut client = SyncClient::new(None);
    // 0, 1, then 1 again (a duplicate), then 3: a gap, answered by one resume from 1.
    let got = fold(
        &mut client,
        vec![frames[0].clone(), frames[1].clone(), frames[1].clone(), frames[3].clone(), frames[4].clone()],
    );
    assert_eq!(got[0], (Update::Applied { version: StreamVersion(0) }, None));
    assert_eq!(got[1], (Update::Applied { version: StreamVersion(1) }, None));
    assert_eq!(got[2], (Update::Stale { version: Some(StreamVersion(1)) }, None));
    let resume = ClientMessage::Resume { last_version: Some(StreamVersion(1)) };
    assert_eq!(got[3], (Update::Gap { expected: StreamVersion(2), found: StreamVersion(3) }, Some(resume)));
    // Still waiting for the resume's answer: no second resume for the next gap.
    assert_eq!(got[4], (Update::Gap { expected: StreamVersion(2), found: StreamVersion(4) }, None));
    assert_eq!(client.version(), Some(StreamVersion(1)));
    assert!(client.is_behind());

    // The resume's answer: exactly the missing events.
    let answer = feed.catch_up(Viewer::Spectator, Some(StreamVersion(1)), &server);
    assert_eq!(events(&answer), vec![StreamVersion(2), StreamVersion(3), StreamVersion(4)]);
    for (update, send) in fold(&mut client, answer) {
        assert!(matches!(update, Update::Applied { .. }) && send.is_none(), "{update:?} {send:?}");
    }
    assert!(!client.is_behind());
    assert_eq!(client.view(), server.view_for(Viewer::Spectator));
    assert_eq!(*client.table(), server.redacted_for(Viewer::Spectator));
    assert!(feed.catch_up(Viewer::Spectator, Some(StreamVersion(4)), &server).is_empty(), "up to date: nothing");

    // A frame of another kind that says the server is further on reveals a lost last event.
    let timer = ServerFrame {
        version: Some(StreamVersion(5)),
        message: ServerMessage::ChatMessage { from: PlayerId(10), text: "hi".into(), sent_ms: 2 },
    };
    let r = client.receive(timer);
    assert_eq!(r.send, Some(ClientMessage::Resume { last_version: Some(StreamVersion(4)) }));
}

#[tokio::test]
async fn a_resume_inside_the_window_gets_exactly_the_missing_events() {
    let mut host = Host::open(64).await;
    let a = host.connect(Some(10));
    let b = host.connect(Some(11));
    let mut ca = SyncClient::new(Some(PlayerId(10)));
    let mut cb = SyncClient::new(Some(PlayerId(11)));
    for (who, client) in [(a, &mut ca), (b, &mut cb)] {
        let resume = client.resume();
        host.receive_from(who, resume).await;
        fold(client, host.take(who));
    }
    let sit_a = ca.command(CommandId(1), sit(0, 10));
    host.receive_from(a, sit_a).await;
    let sit_b = cb.command(CommandId(1), sit(2, 11));
    host.receive_from(b, sit_b).await;
    fold(&mut ca, host.take(a));
    fold(&mut cb, host.take(b));
    assert_eq!((ca.viewer(), cb.viewer()), (Viewer::Seat(SeatIdx(0)), Viewer::Seat(SeatIdx(2))));
    assert!(ca.pending().is_empty() && cb.pending().is_empty(), "both sit-downs were answered");
    let before = ca.version();

    // B drops off (its frames are lost) while a hand is dealt and played a little.
    host.host(TableCommand::StartHand { seed: [1; 32], salt: [2; 32] }).await.unwrap();
    let lost = host.take(b);
    assert!(!lost.is_empty());
    let actor = host.table().turn().unwrap().seat;
    let (who, client) = if actor == SeatIdx(0) { (a, &mut ca) } else { (b, &mut cb) };
    let act = client
        .command(CommandId(2), TableCommand::Act { player: host.player_of(who), action: TableAction::CheckOrCall });
    host.receive_from(who, act).await;
    let _ = host.take(b);
    fold(&mut ca, host.take(a));

    // B comes back: the resume from what it holds gets exactly the events it missed.
    let resume = cb.resume();
    assert_eq!(resume, ClientMessage::Resume { last_version: before });
    host.receive_from(b, resume).await;
    let answer = host.take(b);
    let first = before.unwrap().0 + 1;
    let head = host.loaded.version().unwrap().0;
    assert_eq!(events(&answer), (first..=head).map(StreamVersion).collect::<Vec<_>>(), "{answer:?}");
    fold(&mut cb, answer);
    // B's own hole cards came with the events, nobody else's.
    for (client, seat) in [(&ca, SeatIdx(0)), (&cb, SeatIdx(2))] {
        assert_eq!(client.version(), host.loaded.version());
        assert_eq!(client.view(), host.table().view_for(Viewer::Seat(seat)));
        assert_eq!(*client.table(), host.table().redacted_for(Viewer::Seat(seat)));
        let own = client.view().seats[seat.idx()].unwrap().hole_cards;
        assert!(own.as_slice().iter().all(Option::is_some), "{own}");
    }
    assert!(cb.pending().is_empty(), "B's act (if it was B's) was answered: {:?}", cb.pending());
}

#[tokio::test]
async fn a_resume_from_too_far_behind_gets_the_table_redacted_for_the_client() {
    let mut host = Host::open(4).await;
    host.host(sit(0, 10)).await.unwrap();
    host.host(sit(1, 11)).await.unwrap();
    host.host(TableCommand::StartHand { seed: [3; 32], salt: [4; 32] }).await.unwrap();
    let head = host.loaded.version();
    assert!(head.unwrap().0 > 8);
    let s = host.connect(Some(11));
    host.receive_from(s, ClientMessage::Resume { last_version: Some(StreamVersion(1)) }).await;
    let frames = host.take(s);
    let [ServerFrame { version, message: ServerMessage::StateUpdate { version: state_version, state } }] = &frames[..]
    else {
        panic!("{frames:?}")
    };
    assert_eq!((*version, *state_version), (head, head));
    assert_eq!(**state, host.table().redacted_for(Viewer::Seat(SeatIdx(1))));
    // Seat 1's cards are in it; seat 0's, the deck and the seed are not.
    let hand = state.hand();
    let pos = |seat| host.table().positions().position(SeatIdx(seat)).unwrap();
    assert!(hand.hole_cards(pos(1)).iter().all(Option::is_some));
    assert!(hand.hole_cards(pos(0)).iter().all(Option::is_none));
    assert_ne!(**state, *host.table(), "the server's table holds secrets the client's does not");

    let mut client = SyncClient::new(Some(PlayerId(11)));
    let got = fold(&mut client, frames);
    assert_eq!(got, vec![(Update::Replaced { version: head }, None)]);
    assert_eq!(client.viewer(), Viewer::Seat(SeatIdx(1)));
    assert_eq!(client.view(), host.table().view_for(Viewer::Seat(SeatIdx(1))));

    // A joining spectator starts from a state too, and then folds the next events.
    let spectator = host.connect(None);
    let frames = host.sessions[spectator].join(&host.feed, host.loaded.table());
    let mut watcher = SyncClient::new(None);
    fold(&mut watcher, frames);
    host.now += 20_000;
    host.host(TableCommand::Tick).await.unwrap();
    fold(&mut watcher, host.take(spectator));
    fold(&mut client, host.take(s));
    assert_eq!(watcher.view(), host.table().view_for(Viewer::Spectator));
    assert_eq!(client.view(), host.table().view_for(Viewer::Seat(SeatIdx(1))));
    assert!(!watcher.is_behind() && !client.is_behind());
}

// ---------------------------------------------------------------------------------------
// Commands.

#[tokio::test]
async fn a_command_sent_twice_is_applied_once_and_done_twice() {
    let mut host = Host::open(64).await;
    let s = host.connect(Some(10));
    let mut client = SyncClient::new(Some(PlayerId(10)));
    let resume = client.resume();
    host.receive_from(s, resume).await;
    fold(&mut client, host.take(s));

    let sit = client.command(CommandId(77), sit(0, 10));
    host.receive_from(s, sit.clone()).await;
    let first = host.take(s);
    // The answer was lost: the client times out and sends everything pending again.
    let retry = client.retry();
    assert_eq!(retry, vec![ClientMessage::Resume { last_version: Some(StreamVersion(0)) }, sit.clone()]);
    for message in retry {
        host.receive_from(s, message).await;
    }
    let second = host.take(s);
    let done = |frames: &[ServerFrame]| {
        frames.iter().filter(|f| matches!(f.message, ServerMessage::CommandDone { command: CommandId(77), .. })).count()
    };
    assert_eq!((done(&first), done(&second)), (1, 1));
    // The stream holds the sit-down once.
    let stored = host.store.read_stream(host.loaded.stream(), StreamVersion::FIRST, 100).await.unwrap();
    let sat = stored.iter().filter(|e| e.event_type == "SatDown").count();
    assert_eq!(sat, 1, "{stored:?}");
    let scoped = scoped_command_id(PlayerId(10), CommandId(77));
    assert_eq!(stored.iter().filter(|e| e.command == scoped).count(), 2, "SatDown and BoughtIn, once each");

    fold(&mut client, first);
    fold(&mut client, second);
    assert!(client.pending().is_empty());
    assert_eq!(client.view(), host.table().view_for(Viewer::Seat(SeatIdx(0))));

    // Another player's client may use the same id: it is another command.
    let other = host.connect(Some(11));
    let mut c2 = SyncClient::new(Some(PlayerId(11)));
    let m = c2.command(CommandId(77), self::sit(1, 11));
    host.receive_from(other, m).await;
    fold(&mut c2, host.take(other));
    assert!(host.table().seat(SeatIdx(1)).is_some_and(|s| s.player == PlayerId(11)));
}

#[tokio::test]
async fn a_command_the_hand_moved_past_gets_the_rejection() {
    let mut host = Host::open(64).await;
    let a = host.connect(Some(10));
    let b = host.connect(Some(11));
    for (who, p, seat) in [(a, 10, 0), (b, 11, 1)] {
        host.receive_from(who, ClientMessage::Command { id: CommandId(1), command: sit(seat, p) }).await;
    }
    host.host(TableCommand::StartHand { seed: [5; 32], salt: [6; 32] }).await.unwrap();
    let actor = host.table().turn().unwrap().seat;
    let (who, other) = if actor == SeatIdx(0) { (a, b) } else { (b, a) };
    // The player to act folds; the other player's fold, sent on the old state, arrives after.
    let player = host.player_of(who);
    host.receive_from(
        who,
        ClientMessage::Command { id: CommandId(2), command: TableCommand::Act { player, action: TableAction::Fold } },
    )
    .await;
    assert!(!host.table().in_hand());
    let late = host.player_of(other);
    host.receive_from(
        other,
        ClientMessage::Command {
            id: CommandId(2),
            command: TableCommand::Act { player: late, action: TableAction::Fold },
        },
    )
    .await;
    let frames = host.take(other);
    let last = frames.last().unwrap();
    let ServerMessage::ErrorNotification { command, error } = &last.message else { panic!("{frames:?}") };
    assert_eq!(*command, Some(CommandId(2)));
    assert_eq!(*error, SyncError::Rejected(TableRejection::NotInHand { player: late }));
    assert_eq!(error.to_string(), format!("the table refused the command: {late} is not in a hand"));
    assert_eq!(last.version, host.loaded.version());
}

#[tokio::test]
async fn spectators_and_other_players_commands_are_refused_before_the_table() {
    let mut host = Host::open(64).await;
    let spectator = host.connect(None);
    let player = host.connect(Some(10));
    let cases = [
        (spectator, sit(0, 10), SyncError::NotAPlayer),
        (player, sit(0, 11), SyncError::NotYourPlayer { you: PlayerId(10), named: PlayerId(11) }),
        (
            player,
            TableCommand::StartHand { seed: [0; 32], salt: [0; 32] },
            SyncError::HostOnly { command: "StartHand".into() },
        ),
        (player, TableCommand::Tick, SyncError::HostOnly { command: "Tick".into() }),
    ];
    let before = host.loaded.version();
    for (who, command, expected) in cases {
        host.receive_from(who, ClientMessage::Command { id: CommandId(5), command }).await;
        let frames = host.take(who);
        let [ServerFrame { message: ServerMessage::ErrorNotification { command: Some(CommandId(5)), error }, .. }] =
            &frames[..]
        else {
            panic!("{frames:?}")
        };
        assert_eq!(*error, expected);
    }
    assert_eq!(host.loaded.version(), before, "nothing reached the table");
    assert_eq!(SyncError::NotAPlayer.to_string(), "a spectator cannot send table commands: connect as a player");
    host.receive_from(spectator, ClientMessage::Chat { text: "hello".into() }).await;
    assert!(matches!(
        &host.take(spectator)[..],
        [ServerFrame { message: ServerMessage::ErrorNotification { error: SyncError::NotAPlayer, .. }, .. }]
    ));
    host.receive_from(player, ClientMessage::Chat { text: "hello".into() }).await;
    assert!(matches!(
        &host.take(spectator)[..],
        [ServerFrame { message: ServerMessage::ChatMessage { from: PlayerId(10), .. }, .. }]
    ));

    // A client with too many commands in flight is told to wait.
    let mut session = ServerSession::new(Some(PlayerId(10)), SyncConfig { max_in_flight: 1, ..SyncConfig::default() });
    let m = |id| ClientMessage::Command { id: CommandId(id), command: TableCommand::SitOut { player: PlayerId(10) } };
    assert!(matches!(session.receive(m(1), 0, &host.feed, host.loaded.table()), Step::Handle(_)));
    let Step::Send(frames) = session.receive(m(2), 0, &host.feed, host.loaded.table()) else { panic!() };
    assert!(matches!(
        &frames[0].message,
        ServerMessage::ErrorNotification { error: SyncError::TooManyInFlight { max: 1 }, .. }
    ));
}

// ---------------------------------------------------------------------------------------
// A seeded bot session over a lossy wire.

/// Delivers frames with drops, duplicates and swaps of neighbours.
fn lossy(rng: &mut SplitMix, frames: Vec<ServerFrame>) -> Vec<ServerFrame> {
    let mut out = Vec::new();
    for f in frames {
        if rng.chance(8) {
            continue;
        }
        if rng.chance(5) {
            out.push(f.clone());
        }
        out.push(f);
        if out.len() >= 2 && rng.chance(8) {
            let n = out.len();
            out.swap(n - 1, n - 2);
        }
    }
    out
}

#[tokio::test]
async fn clients_see_what_the_server_shows_them_after_a_lossy_bot_session() {
    let seed = 0x5eed_5e55;
    let mut rng = SplitMix(seed);
    let mut host = Host::open(32).await;
    let players = [10u64, 11, 12, 13];
    let mut clients: Vec<SyncClient> = Vec::new();
    for &p in &players {
        let who = host.connect(Some(p));
        let mut client = SyncClient::new(Some(PlayerId(p)));
        let resume = client.resume();
        host.receive_from(who, resume).await;
        clients.push(client);
    }
    let watcher = host.connect(None);
    clients.push(SyncClient::new(None));
    let frames = host.sessions[watcher].join(&host.feed, host.loaded.table());
    host.outbox[watcher].extend(frames);

    let mut next_id = 1u128;
    let (mut gaps, mut stale, mut replaced, mut refused, mut hands) = (0, 0, 0, 0, 0);
    for step in 0..3_000 {
        // The wire: every client gets its frames through the lossy channel, answers gaps.
        for (who, client) in clients.iter_mut().enumerate() {
            let frames = lossy(&mut rng, host.take(who));
            for frame in frames {
                let r = client.receive(frame);
                match r.update {
                    Update::Gap { .. } => gaps += 1,
                    Update::Stale { .. } => stale += 1,
                    Update::Replaced { .. } => replaced += 1,
                    Update::Failed { .. } => refused += 1,
                    _ => {}
                }
                if let Some(m) = r.send
                    && !rng.chance(10)
                {
                    host.receive_from(who, m).await;
                }
            }
        }
        // Players act on what their own client shows them (possibly stale).
        for (who, &p) in players.iter().enumerate() {
            let client = &mut clients[who];
            if !client.pending().is_empty() {
                if rng.chance(10) {
                    // A timeout: send everything again, with the same ids.
                    for m in client.retry() {
                        host.receive_from(who, m).await;
                    }
                }
                continue;
            }
            let view = client.view();
            let mine = client.viewer();
            let command = match mine {
                Viewer::Spectator if rng.chance(20) => Some(sit(rng.below(4) as u8, p)),
                Viewer::Seat(seat) if view.to_act == Some(seat) && rng.chance(70) => {
                    let legal = legal_actions(client.table().hand());
                    let action = match legal {
                        Some(l) if rng.chance(15) && l.can_fold => TableAction::Fold,
                        Some(l) if rng.chance(20) => {
                            l.raise.map_or(TableAction::CheckOrCall, |r| TableAction::BetOrRaiseTo(r.min))
                        }
                        _ => TableAction::CheckOrCall,
                    };
                    Some(TableCommand::Act { player: PlayerId(p), action })
                }
                Viewer::Seat(_) if !view.in_hand && rng.chance(2) => Some(TableCommand::Leave { player: PlayerId(p) }),
                Viewer::Seat(seat) if view.seats[seat.idx()].is_some_and(|s| s.sitting_out) && rng.chance(30) => {
                    Some(TableCommand::SitIn { player: PlayerId(p), wait_for_big_blind: false })
                }
                _ => None,
            };
            if let Some(command) = command {
                let m = client.command(CommandId(next_id), command);
                next_id += 1;
                // Commands are lost on the way now and then (the client retries), or sent twice.
                if !rng.chance(5) {
                    host.receive_from(who, m.clone()).await;
                }
                if rng.chance(5) {
                    host.receive_from(who, m).await;
                }
            }
        }
        // The dealer: deals when it can, and moves the clock on.
        host.now += rng.below(3_000);
        if host.table().in_hand() {
            if rng.chance(10) {
                host.now += 16_000;
                host.host(TableCommand::Tick).await.unwrap();
            }
        } else if host.host(TableCommand::StartHand { seed: [rng.below(256) as u8; 32], salt: [7; 32] }).await.is_ok() {
            hands += 1;
        }
        if step % 100 == 99 {
            check_converged(&mut host, &mut clients, seed).await;
        }
    }
    check_converged(&mut host, &mut clients, seed).await;
    eprintln!("seed {seed}: {hands} hands, {gaps} gaps, {stale} stale frames, {replaced} states, {refused} refusals");
    assert!(hands > 50 && gaps > 50 && stale > 50 && refused > 0, "seed {seed}: the session exercised too little");
}

/// Delivers everything reliably, with a retry per client, until every client has caught up;
/// then each shows exactly what the server's table shows its viewer.
async fn check_converged(host: &mut Host, clients: &mut [SyncClient], seed: u64) {
    for (who, client) in clients.iter_mut().enumerate() {
        for m in client.retry() {
            host.receive_from(who, m).await;
        }
    }
    for _ in 0..4 {
        for (who, client) in clients.iter_mut().enumerate() {
            for frame in host.take(who) {
                if let Some(m) = client.receive(frame).send {
                    host.receive_from(who, m).await;
                }
            }
        }
    }
    for (who, client) in clients.iter().enumerate() {
        let session = &host.sessions[who];
        assert_eq!(client.version(), host.loaded.version(), "seed {seed}: client {who} is behind");
        assert!(client.pending().is_empty(), "seed {seed}: client {who}: {:?}", client.pending());
        let viewer = client.viewer();
        let expected = match client.player() {
            Some(p) => host.table().seat_of(p).map_or(Viewer::Spectator, Viewer::Seat),
            None => Viewer::Spectator,
        };
        assert_eq!((viewer, session.viewer()), (expected, expected), "seed {seed}: client {who}");
        assert_eq!(client.view(), host.table().view_for(viewer), "seed {seed}: client {who}");
    }
}

#[tokio::test]
async fn a_player_resuming_from_before_they_sat_down_sees_that_seat_as_a_spectator_did() {
    // Player 10 plays a hand at seat 0 and leaves; player 12 takes the seat. 12's client
    // resumes from before 10's hand: 10's hole cards were never 12's to see.
    let mut host = Host::open(256).await;
    host.host(sit(0, 10)).await.unwrap();
    host.host(sit(1, 11)).await.unwrap();
    let before = host.loaded.version();
    host.host(TableCommand::StartHand { seed: [8; 32], salt: [9; 32] }).await.unwrap();
    while host.table().in_hand() {
        let seat = host.table().turn().unwrap().seat;
        let player = host.table().seat(seat).unwrap().player;
        host.host(TableCommand::Act { player, action: TableAction::CheckOrCall }).await.unwrap();
    }
    host.host(TableCommand::Leave { player: PlayerId(10) }).await.unwrap();
    let s = host.connect(Some(12));
    host.receive_from(s, ClientMessage::Command { id: CommandId(1), command: sit(0, 12) }).await;
    host.receive_from(s, ClientMessage::Resume { last_version: before }).await;
    let frames = host.take(s);
    let mut dealt_to_seat_0 = 0;
    for f in &frames {
        if let ServerMessage::PlayerAction {
            event:
                Recorded {
                    event: TableEvent::Hand { seat: Some(SeatIdx(0)), event: hand::Event::HoleCardsDealt { cards, .. } },
                    ..
                },
            ..
        } = &f.message
        {
            dealt_to_seat_0 += 1;
            assert!(cards.as_slice().iter().all(Option::is_none), "player 12 is sent player 10's {cards}");
        }
    }
    assert!(dealt_to_seat_0 > 0);
    let mut client = SyncClient::new(Some(PlayerId(12)));
    // The client held the table at `before`: fold it from the start to there, then the frames.
    let stored = host.store.read_stream(host.loaded.stream(), StreamVersion::FIRST, 1_000).await.unwrap();
    let codec = crate::codec::TableCodec::default();
    for e in stored.iter().take_while(|e| Some(e.version) <= before) {
        let r = codec.decode(e).unwrap();
        client.receive(ServerFrame {
            version: before,
            message: ServerMessage::PlayerAction { version: e.version, event: r },
        });
    }
    fold(&mut client, frames);
    assert_eq!(client.viewer(), Viewer::Seat(SeatIdx(0)));
    assert_eq!(client.view(), host.table().view_for(Viewer::Seat(SeatIdx(0))));
}
