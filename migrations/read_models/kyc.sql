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
    -- Why the client may not trade (`kyc_not_verified`, `rekyc_due`), when they may not.
    trading_block   text,
    -- Seconds from submission to approval, for a verified case.
    approval_seconds bigint,
    -- ` type type `: documents rejected in the case in hand; ` date date `: the expiry dates
    -- of the documents a verified case counts on.
    rejected_types  text    NOT NULL,
    expiries        text    NOT NULL,
    -- The sealed reasons of a rejected or sent-back case (`{"reasons": […], "documents":
    -- [{"reason": …}]}`, sealed as in `doc`), so that the report opens only them.
    sealed_reasons  text,
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
-- The KYC report's counts and the dashboard's alert sums, read from the index alone (the
-- report groups in its order).
CREATE INDEX IF NOT EXISTS kyc_cases{s}_report_{g} ON kyc_cases{s}
    (status, trading_block, next_rekyc_on, approval_seconds, rejected_types, alert_count, client_id);
CREATE INDEX IF NOT EXISTS kyc_cases{s}_rekyc_{g} ON kyc_cases{s} (next_rekyc_on);
-- Verified cases' expiries in a window (the report and the dashboard), from the index alone.
CREATE INDEX IF NOT EXISTS kyc_cases{s}_expiry_{g} ON kyc_cases{s} (status, next_expiry, expiries, client_id);
