-- The keys web forms and partners capture leads with (never their secrets, not even digests):
-- what each stands for, who issued it and whether it was revoked.
CREATE TABLE IF NOT EXISTS capture_keys{s}
(
    key_id        text PRIMARY KEY,
    name          text NOT NULL,
    source        text NOT NULL,
    campaign      text,
    issued_at     {ts} NOT NULL,
    issued_by     text NOT NULL,
    revoked_at    {ts},
    revoked_by    text,
    revoke_reason text
);
