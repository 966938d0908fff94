-- Secrets are kept sealed with the master key (the subscription's id as its label), never
-- plain. A subscription made with `personal_data` gets the event's payload with its personal
-- fields opened (read from the log at each attempt: an erased person reads as erased); any
-- other gets the payload with its personal fields withheld. Users' events never carry their
-- payload. Subscriptions are recorded events (`webhook_subscription`): this table is kept by
-- the notifications projection from them, with the sealed secret the event does not hold.
ALTER TABLE webhook_subscriptions ADD COLUMN personal_data boolean NOT NULL DEFAULT FALSE;
