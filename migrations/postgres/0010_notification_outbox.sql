-- The notification outbox: each message decided from an event by the notifications
-- projection (in the transaction that moves its checkpoint), then delivered by the sender.
-- A row names its recipient (a client or a staff member) but holds none of their personal
-- data: the address and the name are opened from the recipient's sealed record when the
-- message is sent, so a person's erasure leaves nothing of them here and cancels what was
-- still queued. `dedupe_key` (event position, template, recipient) makes a decision once,
-- whatever replays it; `id` is the message's stable id for every channel (the e-mail's
-- Message-ID), so a sender that dies between sending and recording sends it at most once more.
CREATE TABLE notification_outbox
(
    id               text    PRIMARY KEY,
    dedupe_key       text    NOT NULL UNIQUE,
    channel          text    NOT NULL,
    template         text    NOT NULL,
    template_version bigint  NOT NULL,
    recipient_kind   text    NOT NULL,
    recipient_id     text    NOT NULL,
    event_position   bigint  NOT NULL,
    event_type       text    NOT NULL,
    transactional    boolean NOT NULL,
    -- queued, sending (claimed by a sender until `claimed_at` plus its lease), sent, dead
    -- (out of attempts or too old) or cancelled (the recipient cannot be reached or asked
    -- for erasure)
    status           text    NOT NULL,
    attempts         bigint  NOT NULL,
    next_attempt_at  timestamptz NOT NULL,
    claimed_at       timestamptz,
    -- The claim's own token: only the sender holding it records the outcome.
    claim_token      text,
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz,
    -- When an admin last sent a dead message back to the queue (its maximum age counts from
    -- then).
    retried_at       timestamptz,
    last_error       text,
    -- What the template shows besides the recipient: no personal data.
    data             jsonb NOT NULL
);
CREATE INDEX notification_outbox_due ON notification_outbox (status, next_attempt_at);
CREATE INDEX notification_outbox_created ON notification_outbox (created_at, id);
CREATE INDEX notification_outbox_recipient ON notification_outbox (recipient_id, created_at);
