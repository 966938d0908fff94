-- Per-data-subject keys (envelope encryption). A key is wrapped by the master key; destroying
-- it (crypto-shredding) makes every ciphertext of that subject unreadable while the event log
-- and its hashes stay as they are.
CREATE TABLE subject_keys
(
    subject_id  text PRIMARY KEY,
    wrapped_key text,
    created_at  text NOT NULL,
    shredded_at text
) STRICT;
