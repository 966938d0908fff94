-- Webhook subscriptions, kept by admins: where to deliver which events (`*`: every one),
-- and the secret deliveries are signed with (HMAC-SHA256 over the timestamp and the body).
-- A delivery carries the event's position, type, record and time, never its payload: no
-- personal data leaves through a webhook. Removing one stops its deliveries still queued.
CREATE TABLE webhook_subscriptions
(
    id          text    PRIMARY KEY,
    url         text    NOT NULL,
    -- Comma-separated event types, or `*`.
    event_types text    NOT NULL,
    secret      text    NOT NULL,
    description text,
    active      boolean NOT NULL,
    created_at  text NOT NULL,
    created_by  text    NOT NULL,
    removed_at  text
);
