-- The audit ledger: every event's hash chained in commit order (`seq` 1, 2, ...), and signed
-- checkpoints over it. Not rebuilt with the read models: it is the record an auditor verifies.
CREATE TABLE IF NOT EXISTS audit_ledger{s}
(
    seq            bigint PRIMARY KEY,
    position       bigint NOT NULL,
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    sequence       bigint NOT NULL,
    event_hash     text   NOT NULL,
    ledger_hash    text   NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_ledger{s}_event_{g} ON audit_ledger{s} (aggregate_type, aggregate_id, sequence);
CREATE TABLE IF NOT EXISTS audit_checkpoints{s}
(
    seq         bigint PRIMARY KEY,
    ledger_hash text NOT NULL,
    at          text NOT NULL,
    public_key  text NOT NULL,
    signature   text NOT NULL
);
