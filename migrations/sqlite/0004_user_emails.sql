-- Sign-in names: one user per e-mail address, reserved before the user's first event is written
-- (the users read model is eventually consistent; this reservation is not). Login finds the
-- user here, then folds the User aggregate from the log.
CREATE TABLE user_emails
(
    email      text PRIMARY KEY,
    user_id    text NOT NULL UNIQUE,
    created_at text NOT NULL
);
