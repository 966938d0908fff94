-- The event log, in the layout postgres-es reads and writes, plus the global position,
-- the writing transaction's id and the time of the write.
CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    position       bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    -- A sequence value is taken before commit, so positions can commit out of order. Readers
    -- only read rows whose writing transaction is older than every running one
    -- (tx_id < pg_snapshot_xmin(pg_current_snapshot())) and order by (tx_id, position): no
    -- row can later appear before a checkpoint taken that way.
    tx_id          xid8        NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

CREATE INDEX events_commit_order ON events (tx_id, position);

-- Unused while aggregates are loaded from events alone; postgres-es expects it to exist.
CREATE TABLE snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          json                                 NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);

CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$
BEGIN
    RAISE EXCEPTION 'the event log is append-only';
END;
$$;

CREATE TRIGGER events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- Wakes projection runners at commit (NOTIFY is delivered when the transaction commits).
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('crm_events', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_notify
    AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();

CREATE TABLE projection_checkpoints
(
    name     text PRIMARY KEY,
    tx_id    bigint NOT NULL DEFAULT 0,
    position bigint NOT NULL DEFAULT 0
);

CREATE TABLE idempotency_keys
(
    idempotency_key text PRIMARY KEY,
    request_hash    text        NOT NULL,
    state           text        NOT NULL,
    status          integer,
    response        text,
    created_at      timestamptz NOT NULL
);

CREATE TABLE assignment_cursors
(
    name text PRIMARY KEY,
    next bigint NOT NULL
);
