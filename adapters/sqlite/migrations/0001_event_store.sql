-- Showdown's event store (see src/lib.rs for the design). Never edit a migration that has
-- shipped: sqlx checks their checksums; add a new file instead.
--
-- Integers are SQLite's i64; versions and positions are u64 in Rust and never negative here.
-- Ids (event_id, command_id) are 16-byte big-endian blobs. Metadata is a JSON object of
-- strings. STRICT tables refuse values of the wrong type; the CHECKs refuse out-of-range ones.

-- Every event of every stream. `position` is the global order: AUTOINCREMENT makes it strictly
-- increase and never reuses a number, even after the last rows are deleted, and since one
-- writer at a time holds the write lock (BEGIN IMMEDIATE), positions are assigned in commit
-- order, so a reader reading from a position never skips an event committed before it.
CREATE TABLE events (
    position   INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_id  TEXT    NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 0),
    event_id   BLOB    NOT NULL CHECK (length(event_id) = 16),
    command_id BLOB    NOT NULL CHECK (length(command_id) = 16),
    schema     INTEGER NOT NULL CHECK (schema BETWEEN 0 AND 65535),
    event_type TEXT    NOT NULL,
    payload    BLOB    NOT NULL,
    metadata   TEXT    NOT NULL,
    -- One winner per stream version, whichever process writes (invariant 6).
    UNIQUE (stream_id, version)
) STRICT;

-- One row per command appended to a stream: where its events went. The primary key makes a
-- retried command's idempotency a constraint of the file, across restarts and processes.
CREATE TABLE commands (
    stream_id      TEXT    NOT NULL,
    command_id     BLOB    NOT NULL CHECK (length(command_id) = 16),
    first_version  INTEGER NOT NULL CHECK (first_version >= 0),
    last_version   INTEGER NOT NULL CHECK (last_version >= first_version),
    first_position INTEGER NOT NULL CHECK (first_position >= 0),
    last_position  INTEGER NOT NULL CHECK (last_position >= first_position),
    PRIMARY KEY (stream_id, command_id)
) STRICT, WITHOUT ROWID;

-- The latest snapshot of each stream (derived data: a replay must give the same state).
CREATE TABLE snapshots (
    stream_id TEXT    NOT NULL PRIMARY KEY,
    version   INTEGER NOT NULL CHECK (version >= 0),
    schema    INTEGER NOT NULL CHECK (schema BETWEEN 0 AND 65535),
    payload   BLOB    NOT NULL
) STRICT;
