-- The event store of showdown-postgres (Rust module `showdown_postgres::store`).
--
-- One table is one stream. `events` holds every event of every stream: `version` numbers a
-- stream's events from 0 without gaps, `position` orders all streams together. `streams`
-- holds each stream's last version: appends lock its row to check their expected version,
-- so one writer wins per version, across processes. `commands` remembers which command
-- appended which events, so a retried command is stored once, across restarts. `snapshots`
-- holds at most one snapshot per stream, only ever replaced by a later one.
--
-- Writers other than showdown-postgres must follow its append protocol (see the module
-- documentation of `showdown_postgres::store`), or readers of the global order may skip
-- their events.

CREATE TABLE streams (
    stream_id text PRIMARY KEY,
    -- The version of the stream's last event. NULL only inside the transaction that
    -- creates the stream (an append that fails leaves no row behind).
    version bigint CHECK (version >= 0)
) WITH (fillfactor = 70); -- room for HOT updates: every append updates its stream's row

CREATE TABLE events (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id text NOT NULL,
    version bigint NOT NULL CHECK (version >= 0),
    event_id uuid NOT NULL,
    command_id bytea NOT NULL CHECK (octet_length(command_id) = 16),
    schema integer NOT NULL CHECK (schema BETWEEN 0 AND 65535),
    event_type text NOT NULL,
    payload bytea NOT NULL,
    -- An object of strings (`showdown_store::Metadata`).
    metadata jsonb NOT NULL DEFAULT '{}',
    -- The appending transaction: readers of the global order only return events of
    -- transactions older than every transaction still running, so they never pass a
    -- position that a slower transaction has yet to commit.
    xact_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT events_stream_version UNIQUE (stream_id, version)
);

CREATE TABLE commands (
    stream_id text NOT NULL,
    command_id bytea NOT NULL CHECK (octet_length(command_id) = 16),
    first_version bigint NOT NULL CHECK (first_version >= 0),
    last_version bigint NOT NULL CHECK (last_version >= first_version),
    first_position bigint NOT NULL,
    last_position bigint NOT NULL CHECK (last_position >= first_position),
    PRIMARY KEY (stream_id, command_id)
);

CREATE TABLE snapshots (
    stream_id text PRIMARY KEY,
    version bigint NOT NULL CHECK (version >= 0),
    schema integer NOT NULL CHECK (schema BETWEEN 0 AND 65535),
    payload bytea NOT NULL
);

-- Appends a batch of requests (a group commit) in the caller's transaction, each request
-- on its own: locks the batch's streams, checks each request's command id and expected
-- version in order (two requests to one stream chain), inserts the events of those that
-- pass in one statement, moves the streams' versions and records the commands. One call,
-- one round trip: the caller runs it outside an explicit transaction, so it commits at
-- once (after the function has released the advisory lock).
--
-- Requests: p_request_stream (1-based index into p_streams, which holds each stream once),
-- p_expected (-2 any, -1 no stream, else the exact version), p_command, p_count (events),
-- p_previous (1-based index of the nearest earlier request with the same stream and
-- command, 0 if none). Events, all requests' in order: p_event_request (1-based),
-- p_event_index (0-based within its request) and the fields.
--
-- One row per request, in order; o_status:
--   0 appended: versions and positions;
--   1 the command is stored already: its record's versions and positions (the caller
--     compares the events to tell a retry from a conflict);
--   2 the command is appended by the earlier request o_other of this batch;
--   3 the stream is not at the expected version: o_other is its version (NULL: none).
CREATE FUNCTION showdown_append_batch(
    p_lock_key bigint,
    p_streams text[],
    p_request_stream int[],
    p_expected bigint[],
    p_command bytea[],
    p_count int[],
    p_previous int[],
    p_event_request int[],
    p_event_index int[],
    p_event_id bytea[],
    p_event_schema int[],
    p_event_type text[],
    p_event_payload bytea[],
    p_event_metadata text[]
) RETURNS TABLE (
    o_status smallint,
    o_first_version bigint,
    o_last_version bigint,
    o_first_position bigint,
    o_last_position bigint,
    o_other bigint
)
LANGUAGE plpgsql
-- The tables of the schema the function was created in, whatever the caller's search_path.
SET search_path FROM CURRENT
AS $$
DECLARE
    n int := coalesce(cardinality(p_request_stream), 0);
    v_before bigint[];
    v_version bigint[];
    c_fv bigint[];
    c_lv bigint[];
    c_fp bigint[];
    c_lp bigint[];
    v_status smallint[] := array_fill(NULL::smallint, ARRAY[n]);
    v_first bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    v_fp bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    v_lp bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    v_other bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    v_positions bigint[];
    v_events int := 0;
    v_offset int := 0;
    v_stream int;
    v_prev int;
    v_current bigint;
    v_expected bigint;
BEGIN
    -- Before anything gives the transaction its id: transaction ids and positions must be
    -- taken in the same order by every writer (see the Rust module documentation).
    PERFORM pg_advisory_lock(p_lock_key);

    -- Lock the streams, creating missing ones (version NULL), in one order for everyone.
    WITH locked AS (
        INSERT INTO streams AS t (stream_id)
        SELECT x FROM unnest(p_streams) AS x ORDER BY x COLLATE "C"
        ON CONFLICT (stream_id) DO UPDATE SET version = t.version
        RETURNING t.stream_id, t.version
    )
    SELECT array_agg(l.version ORDER BY u.i) INTO v_before
    FROM unnest(p_streams) WITH ORDINALITY AS u(x, i) JOIN locked l ON l.stream_id = u.x;
    v_version := v_before;

    -- The commands already stored (a new snapshot: this sees what the lock waited for).
    SELECT array_agg(c.first_version ORDER BY u.i), array_agg(c.last_version ORDER BY u.i),
           array_agg(c.first_position ORDER BY u.i), array_agg(c.last_position ORDER BY u.i)
    INTO c_fv, c_lv, c_fp, c_lp
    FROM unnest(p_request_stream, p_command) WITH ORDINALITY AS u(s, cmd, i)
    LEFT JOIN commands c ON c.stream_id = p_streams[u.s] AND c.command_id = u.cmd;

    FOR i IN 1..n LOOP
        IF c_fv[i] IS NOT NULL THEN
            v_status[i] := 1;
        ELSE
            v_prev := p_previous[i];
            WHILE v_prev > 0 AND v_status[v_prev] <> 0 LOOP
                v_prev := p_previous[v_prev];
            END LOOP;
            IF v_prev > 0 THEN
                v_status[i] := 2;
                v_other[i] := v_prev;
            ELSE
                v_stream := p_request_stream[i];
                v_current := v_version[v_stream];
                v_expected := p_expected[i];
                IF v_expected = -2 OR (v_expected = -1 AND v_current IS NULL) OR v_expected = v_current THEN
                    v_status[i] := 0;
                    v_first[i] := coalesce(v_current + 1, 0);
                    v_version[v_stream] := v_first[i] + p_count[i] - 1;
                    v_events := v_events + p_count[i];
                ELSE
                    v_status[i] := 3;
                    v_other[i] := v_current;
                END IF;
            END IF;
        END IF;
    END LOOP;

    IF v_events = 0 THEN
        -- Nothing changes: no need to wait for the commit to reach the disk.
        PERFORM set_config('synchronous_commit', 'off', true);
    ELSE
        -- Rows are inserted in batch order, so positions follow it.
        WITH ins AS (
            INSERT INTO events (stream_id, version, event_id, command_id, schema, event_type, payload, metadata)
            SELECT p_streams[p_request_stream[u.q]], v_first[u.q] + u.k, encode(u.id, 'hex')::uuid,
                   p_command[u.q], u.sc, u.t, u.p, u.m::jsonb
            FROM unnest(p_event_request, p_event_index, p_event_id, p_event_schema, p_event_type,
                        p_event_payload, p_event_metadata) WITH ORDINALITY AS u(q, k, id, sc, t, p, m, ord)
            WHERE v_status[u.q] = 0
            ORDER BY u.ord
            RETURNING position
        )
        SELECT array_agg(ins.position ORDER BY ins.position) INTO v_positions FROM ins;

        FOR i IN 1..n LOOP
            IF v_status[i] = 0 THEN
                v_fp[i] := v_positions[v_offset + 1];
                v_lp[i] := v_positions[v_offset + p_count[i]];
                v_offset := v_offset + p_count[i];
            END IF;
        END LOOP;
        IF v_offset <> v_events OR cardinality(v_positions) <> v_events THEN
            RAISE EXCEPTION 'showdown_append_batch: % events planned, % inserted', v_events, cardinality(v_positions);
        END IF;

        UPDATE streams t SET version = u.v
        FROM unnest(p_streams, v_version, v_before) AS u(x, v, v0)
        WHERE t.stream_id = u.x AND u.v IS DISTINCT FROM u.v0;

        INSERT INTO commands (stream_id, command_id, first_version, last_version, first_position, last_position)
        SELECT p_streams[p_request_stream[g.j]], p_command[g.j], v_first[g.j], v_first[g.j] + p_count[g.j] - 1,
               v_fp[g.j], v_lp[g.j]
        FROM generate_subscripts(p_request_stream, 1) AS g(j)
        WHERE v_status[g.j] = 0;
    END IF;

    -- Streams created above that got no event are dropped again.
    IF array_position(v_version, NULL) IS NOT NULL THEN
        DELETE FROM streams t USING unnest(p_streams, v_version) AS u(x, v)
        WHERE t.stream_id = u.x AND u.v IS NULL;
    END IF;

    PERFORM pg_advisory_unlock(p_lock_key);

    RETURN QUERY
    SELECT v_status[g.j],
           CASE v_status[g.j] WHEN 0 THEN v_first[g.j] WHEN 1 THEN c_fv[g.j] END,
           CASE v_status[g.j] WHEN 0 THEN v_first[g.j] + p_count[g.j] - 1 WHEN 1 THEN c_lv[g.j] END,
           CASE v_status[g.j] WHEN 0 THEN v_fp[g.j] WHEN 1 THEN c_fp[g.j] END,
           CASE v_status[g.j] WHEN 0 THEN v_lp[g.j] WHEN 1 THEN c_lp[g.j] END,
           v_other[g.j]
    FROM generate_subscripts(p_request_stream, 1) AS g(j)
    ORDER BY g.j;
END;
$$;
