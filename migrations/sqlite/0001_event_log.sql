-- The event log, in the layout sqlite-es reads and writes (its primary key is what makes two
-- writers racing on one aggregate fail with an optimistic-lock error).
CREATE TABLE events
(
    aggregate_type text                          NOT NULL,
    aggregate_id   text                          NOT NULL,
    sequence       integer CHECK (sequence >= 0) NOT NULL,
    event_type     text                          NOT NULL,
    event_version  text                          NOT NULL,
    payload        text                          NOT NULL,
    metadata       text                          NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
) STRICT;

-- Unused while aggregates are loaded from events alone; sqlite-es expects it to exist.
CREATE TABLE snapshots
(
    aggregate_type   text                                  NOT NULL,
    aggregate_id     text                                  NOT NULL,
    last_sequence    integer CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot integer CHECK (current_snapshot >= 0) NOT NULL,
    payload          text                                  NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
) STRICT;

-- The global position in commit order. SQLite has one writer at a time, so the order in which
-- rows get positions is the commit order. The position is a declared INTEGER PRIMARY KEY, so
-- VACUUM keeps it (an implicit rowid may be renumbered).
CREATE TABLE event_positions
(
    position       integer PRIMARY KEY AUTOINCREMENT,
    aggregate_type text NOT NULL,
    aggregate_id   text NOT NULL,
    sequence       integer NOT NULL,
    recorded_at    text NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (aggregate_type, aggregate_id, sequence)
) STRICT;

CREATE TRIGGER events_take_position AFTER INSERT ON events
BEGIN
    INSERT INTO event_positions (aggregate_type, aggregate_id, sequence)
    VALUES (NEW.aggregate_type, NEW.aggregate_id, NEW.sequence);
END;

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;

CREATE TRIGGER event_positions_no_update BEFORE UPDATE ON event_positions
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;

CREATE TRIGGER event_positions_no_delete BEFORE DELETE ON event_positions
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;

-- One row per projection: how far into the log its read-model tables are. Written in the same
-- transaction as the rows.
CREATE TABLE projection_checkpoints
(
    name     text PRIMARY KEY,
    tx_id    integer NOT NULL DEFAULT 0,
    position integer NOT NULL DEFAULT 0
) STRICT;

-- Idempotency-Key: the first answer to a command, replayed for repeats with the same key.
CREATE TABLE idempotency_keys
(
    idempotency_key text PRIMARY KEY,
    request_hash    text    NOT NULL,
    state           text    NOT NULL,
    status          integer,
    response        text,
    created_at      text    NOT NULL
) STRICT;

-- Round-robin assignment: a shared counter, advanced atomically.
CREATE TABLE assignment_cursors
(
    name text PRIMARY KEY,
    next integer NOT NULL
) STRICT;
