-- Staff who sign in, as the access checks and the user admin screens read them.
-- `token_version` must equal an access token's `ver` claim for the token to work.
CREATE TABLE IF NOT EXISTS users{s}
(
    user_id              text PRIMARY KEY,
    email                text    NOT NULL,
    name                 text    NOT NULL,
    role                 text    NOT NULL,
    branch               text,
    manager_id           text,
    active               boolean NOT NULL,
    must_change_password boolean NOT NULL,
    token_version        bigint  NOT NULL,
    last_login_at        {ts},
    created_at           {ts}    NOT NULL,
    updated_at           {ts}    NOT NULL,
    version              bigint  NOT NULL
);
CREATE INDEX IF NOT EXISTS users{s}_branch_{g} ON users{s} (branch, role);
CREATE INDEX IF NOT EXISTS users{s}_email_{g} ON users{s} (email);
-- Login sessions (refresh families): an access token works only while its session is open.
CREATE TABLE IF NOT EXISTS user_sessions{s}
(
    family_id  text PRIMARY KEY,
    user_id    text    NOT NULL,
    opened_at  {ts}    NOT NULL,
    expires_at {ts}    NOT NULL,
    revoked    boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS user_sessions{s}_user_{g} ON user_sessions{s} (user_id);
