-- Read models: what operators, players and game servers read, projected from the event
-- store (showdown_store::readmodel). Derived data: `showdown project --rebuild` drops the
-- rows and writes them again, identical. Nothing is ever deleted by the projection: a
-- closed table keeps `closed_at`, a player who left keeps `deleted_at`, so history and the
-- ledger stay whole. Times are the host times recorded in the events (never now()).
-- docs/READ_MODELS.md describes every column and the queries operators run.

CREATE TABLE tables (
    table_id      text PRIMARY KEY,
    variant       text        NOT NULL,
    small_blind   bigint      NOT NULL,
    big_blind     bigint      NOT NULL,
    ante          bigint      NOT NULL,
    seats         smallint    NOT NULL,
    config        jsonb       NOT NULL,
    opened_at     timestamptz NOT NULL,
    closed_at     timestamptz,
    hand_no       bigint      NOT NULL,
    stream_version bigint     NOT NULL,
    -- Set by the tournament layer (a later issue); NULL for a cash table.
    tournament_id text
);

CREATE TABLE players (
    player_id        bigint PRIMARY KEY,
    -- NULL for a player seen at a table whose profile the store does not hold.
    display_name     text,
    preferences      jsonb NOT NULL DEFAULT '{}',
    avatar_id        text,
    avatar_kind      text CHECK (avatar_kind IN ('default', 'custom')),
    avatar_url       text,
    avatar_moderation text CHECK (avatar_moderation IN ('pending', 'approved', 'rejected')),
    avatar_updated_at timestamptz,
    registered_at    timestamptz,
    updated_at       timestamptz,
    deleted_at       timestamptz,
    stream_version   bigint
);

CREATE TABLE hands (
    table_id       text        NOT NULL,
    hand_no        bigint      NOT NULL,
    variant        text        NOT NULL,
    small_blind    bigint      NOT NULL,
    big_blind      bigint      NOT NULL,
    ante           bigint      NOT NULL,
    button_seat    smallint    NOT NULL,
    board          text        NOT NULL,
    players        smallint    NOT NULL,
    started_at     timestamptz NOT NULL,
    ended_at       timestamptz NOT NULL,
    pot_total      bigint      NOT NULL,
    first_position bigint      NOT NULL,
    last_position  bigint      NOT NULL,
    PRIMARY KEY (table_id, hand_no)
);

CREATE TABLE hand_players (
    table_id         text     NOT NULL,
    hand_no          bigint   NOT NULL,
    seat             smallint NOT NULL,
    position         smallint NOT NULL,
    player_id        bigint   NOT NULL,
    hole_cards       text,
    starting_stack   bigint   NOT NULL,
    finishing_stack  bigint   NOT NULL,
    net              bigint   NOT NULL,
    vpip             boolean  NOT NULL,
    pfr              boolean  NOT NULL,
    three_bet        boolean  NOT NULL,
    went_to_showdown boolean  NOT NULL,
    won_at_showdown  boolean  NOT NULL,
    PRIMARY KEY (table_id, hand_no, seat)
);
CREATE INDEX hand_players_player ON hand_players (player_id);

CREATE TABLE hand_actions (
    table_id  text     NOT NULL,
    hand_no   bigint   NOT NULL,
    ordinal   integer  NOT NULL,
    street    text     NOT NULL CHECK (street IN ('preflop', 'flop', 'turn', 'river', 'showdown')),
    seat      smallint NOT NULL,
    player_id bigint   NOT NULL,
    action    text     NOT NULL CHECK (action IN ('ante', 'blind', 'post', 'fold', 'check', 'call', 'bet',
                                                  'raise', 'return', 'show', 'muck', 'killed')),
    amount    bigint   NOT NULL,
    raise_to  bigint,
    cards     text,
    position  bigint   NOT NULL,
    PRIMARY KEY (table_id, hand_no, ordinal)
);

-- One row per movement of a player's chips, signed from the player's stack. The rows of a
-- hand sum to zero; a player's rows at a table sum to their stack there (0 once cashed out).
CREATE TABLE ledger (
    position  bigint   PRIMARY KEY,
    table_id  text     NOT NULL,
    hand_no   bigint,
    seat      smallint NOT NULL,
    player_id bigint   NOT NULL,
    kind      text     NOT NULL CHECK (kind IN ('buy_in', 'top_up', 'cash_out', 'ante', 'blind', 'bet',
                                                'award', 'refund')),
    amount    bigint   NOT NULL
);
CREATE INDEX ledger_player ON ledger (player_id);
CREATE INDEX ledger_hand ON ledger (table_id, hand_no);

CREATE TABLE player_stats (
    player_id        bigint PRIMARY KEY,
    hands            bigint NOT NULL,
    vpip             bigint NOT NULL,
    pfr              bigint NOT NULL,
    three_bet        bigint NOT NULL,
    went_to_showdown bigint NOT NULL,
    won_at_showdown  bigint NOT NULL,
    net_chips        bigint NOT NULL,
    -- Each hand's net in big blinds, rounded to thousandths (half away from zero), summed.
    big_blinds_won   numeric(24, 3) NOT NULL,
    bb_per_100       numeric GENERATED ALWAYS AS
                         (CASE WHEN hands > 0 THEN round(big_blinds_won * 100 / hands, 2) END) STORED
);

CREATE TABLE audit_log (
    position       bigint PRIMARY KEY,
    table_id       text   NOT NULL,
    command_id     text   NOT NULL,
    outcome        text   NOT NULL CHECK (outcome IN ('accepted', 'rejected')),
    kind           text   NOT NULL,
    player_id      bigint,
    stream_version bigint,
    reason         text,
    at             timestamptz NOT NULL
);
CREATE INDEX audit_log_command ON audit_log (command_id);
CREATE INDEX audit_log_player ON audit_log (player_id);

-- The last global position each projection wrote, moved in the transaction that writes
-- its rows (compare-and-set), so a crash or a second runner never counts an event twice.
CREATE TABLE projection_checkpoints (
    name     text PRIMARY KEY,
    position bigint
);

-- What game servers show (GameHistory): one row per table, with its players (hands played
-- and net chips), its first and last hand, and its transactions (the chips that crossed the
-- table's edge: buy-ins, top-ups, cash-outs). See docs/READ_MODELS.md.
CREATE VIEW game_history AS
SELECT
    t.table_id,
    t.variant,
    t.small_blind,
    t.big_blind,
    t.opened_at,
    t.closed_at,
    (SELECT min(h.started_at) FROM hands h WHERE h.table_id = t.table_id) AS started_at,
    (SELECT max(h.ended_at) FROM hands h WHERE h.table_id = t.table_id) AS ended_at,
    (SELECT count(*) FROM hands h WHERE h.table_id = t.table_id) AS hands,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('player_id', x.player_id, 'display_name', p.display_name,
                                                  'hands', x.hands, 'net', x.net) ORDER BY x.player_id), '[]')
       FROM (SELECT hp.player_id, count(*) AS hands, sum(hp.net) AS net
               FROM hand_players hp WHERE hp.table_id = t.table_id GROUP BY hp.player_id) x
       LEFT JOIN players p USING (player_id)) AS players,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('position', l.position, 'player_id', l.player_id,
                                                  'kind', l.kind, 'amount', l.amount) ORDER BY l.position), '[]')
       FROM ledger l WHERE l.table_id = t.table_id AND l.hand_no IS NULL) AS transactions
FROM tables t;
