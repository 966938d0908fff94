-- Who did what, when: one row per event with its metadata (no payload, so no personal data),
-- for `GET /api/history`. `subject_id` is the person the event is about: the aggregate for
-- leads, the person whose data was shown for PiiViewed.
CREATE TABLE IF NOT EXISTS event_history{s}
(
    position       bigint PRIMARY KEY,
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    sequence       bigint NOT NULL,
    event_type     text   NOT NULL,
    subject_id     text,
    actor_id       text   NOT NULL,
    actor_role     text   NOT NULL,
    request_id     text   NOT NULL,
    recorded_at    {ts}   NOT NULL,
    -- What a PiiViewed read showed (profile, document, export, ...); empty for other events.
    detail         text
);
CREATE INDEX IF NOT EXISTS event_history{s}_actor_{g} ON event_history{s} (actor_id, position);
CREATE INDEX IF NOT EXISTS event_history{s}_type_{g} ON event_history{s} (aggregate_type, position);
CREATE INDEX IF NOT EXISTS event_history{s}_subject_{g} ON event_history{s} (subject_id, position);
CREATE INDEX IF NOT EXISTS event_history{s}_time_{g} ON event_history{s} (recorded_at);
CREATE INDEX IF NOT EXISTS event_history{s}_event_{g} ON event_history{s} (event_type, recorded_at);
