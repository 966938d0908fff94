-- The KYC read model (template: see leads.sql): one row per client whose KYC has a case.
-- `doc` holds the client's KYC view with its personal fields sealed by the client's key.
CREATE TABLE IF NOT EXISTS kyc_cases{s}
(
    client_id       text PRIMARY KEY,
    status          text    NOT NULL,
    client_type     text    NOT NULL,
    submitted_at    {ts},
    -- ` id id ` of whoever made something in the case (they may not decide it).
    makers          text    NOT NULL,
    -- ` index index `: blind indexes of whole Aadhaar numbers typed in for the case in hand
    -- (the same number on another client is flagged).
    aadhaar_tokens  text    NOT NULL,
    trading_blocked boolean NOT NULL,
    -- `YYYY-MM-DD`: when the last verification is due again, and the first expiry among its
    -- documents.
    next_rekyc_on   text,
    next_expiry     text,
    -- Alerts raised for the case in hand.
    alert_count     bigint  NOT NULL,
    updated_at      {ts}    NOT NULL,
    version         bigint  NOT NULL,
    doc             {json}  NOT NULL
);
CREATE INDEX IF NOT EXISTS kyc_cases{s}_queue_{g} ON kyc_cases{s} (status, submitted_at);
CREATE INDEX IF NOT EXISTS kyc_cases{s}_rekyc_{g} ON kyc_cases{s} (next_rekyc_on);
CREATE INDEX IF NOT EXISTS kyc_cases{s}_expiry_{g} ON kyc_cases{s} (next_expiry);
