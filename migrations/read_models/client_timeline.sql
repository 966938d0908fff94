-- What happened to a person, for `GET /api/clients/{id}/timeline`: one row per event of their
-- lead, client, KYC and portfolio records, newest first by position. `subject_id` is the
-- record's id (a lead's, or the client's for client, KYC and portfolio events); a client's
-- timeline reads its own rows and its lead's. `detail` is the event's content with every
-- personal field replaced by a marker: the personal data stays sealed in the log.
CREATE TABLE IF NOT EXISTS client_timeline{s}
(
    subject_id     text   NOT NULL,
    position       bigint NOT NULL,
    kind           text   NOT NULL,
    aggregate_type text   NOT NULL,
    event_type     text   NOT NULL,
    actor_id       text   NOT NULL,
    actor_role     text   NOT NULL,
    recorded_at    {ts}   NOT NULL,
    detail         {json} NOT NULL,
    PRIMARY KEY (subject_id, position)
);
CREATE INDEX IF NOT EXISTS client_timeline{s}_kind_{g} ON client_timeline{s} (subject_id, kind, position);
