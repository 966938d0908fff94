-- The lead list read model. A template: {s} is the table suffix ('' for the live tables,
-- '__rebuild' while a rebuild fills fresh ones), {g} makes index names unique per generation,
-- {ts} and {json} are the store's types for times and documents.
-- Personal data is never stored in the clear: `doc` holds the lead's view with its personal
-- fields sealed by the lead's key; e-mail, phone and words of the name and notes are only
-- present as keyed blind indexes, for equality search.
CREATE TABLE IF NOT EXISTS leads{s}
(
    lead_id          text PRIMARY KEY,
    source           text    NOT NULL,
    status           text    NOT NULL,
    assignee         text,
    score            bigint  NOT NULL,
    archived         boolean NOT NULL,
    created_at       {ts}    NOT NULL,
    updated_at       {ts}    NOT NULL,
    next_follow_up   {ts},
    email_index      text,
    phone_index      text,
    search_tokens    text    NOT NULL,
    -- The `lead_counts` groups the lead was last counted in.
    tally_groups     text,
    version          bigint  NOT NULL,
    erasure_due      boolean NOT NULL,
    erased           boolean NOT NULL,
    -- Erasure was asked for and waits (retention, legal hold): kept out of sales searches.
    restricted       boolean NOT NULL,
    -- The channels marketing may use now, space-delimited (` email sms `): consented, and not
    -- archived, converted (the client record speaks for the person), restricted or erased.
    marketing        text    NOT NULL,
    doc              {json}  NOT NULL
);
-- Lists count what they page through: led by `archived`, the default list (not archived) and
-- its status filter are counted from an index alone, never from the documents.
CREATE INDEX IF NOT EXISTS leads{s}_created_{g} ON leads{s} (archived, created_at, lead_id);
CREATE INDEX IF NOT EXISTS leads{s}_updated_{g} ON leads{s} (updated_at, lead_id);
CREATE INDEX IF NOT EXISTS leads{s}_score_{g} ON leads{s} (score, lead_id);
CREATE INDEX IF NOT EXISTS leads{s}_status_{g} ON leads{s} (archived, status, created_at);
CREATE INDEX IF NOT EXISTS leads{s}_assignee_{g} ON leads{s} (assignee, created_at);
CREATE INDEX IF NOT EXISTS leads{s}_email_{g} ON leads{s} (email_index);
CREATE INDEX IF NOT EXISTS leads{s}_phone_{g} ON leads{s} (phone_index);
CREATE INDEX IF NOT EXISTS leads{s}_erasure_{g} ON leads{s} (erasure_due);
-- Dashboards count the leads being worked by status, and leave out erased people, from these
-- indexes alone (never the documents).
CREATE INDEX IF NOT EXISTS leads{s}_work_{g} ON leads{s} (archived, erased, status, assignee);
CREATE INDEX IF NOT EXISTS leads{s}_erased_{g} ON leads{s} (erased, lead_id);
-- The compliance report counts erasures waiting from this index alone.
CREATE INDEX IF NOT EXISTS leads{s}_restricted_{g} ON leads{s} (restricted);

-- Leads counted by status, whether listed or erased, and holder, kept with each save (`grp`:
-- the four together): the dashboards count leads from here, never from the leads themselves.
CREATE TABLE IF NOT EXISTS lead_counts{s}
(
    grp      text PRIMARY KEY,
    status   text    NOT NULL,
    archived boolean NOT NULL,
    erased   boolean NOT NULL,
    assignee text,
    n        bigint  NOT NULL
);

-- Follow-ups for agents' due lists; the lead's name and the note are sealed.
CREATE TABLE IF NOT EXISTS lead_follow_ups{s}
(
    follow_up_id text PRIMARY KEY,
    lead_id      text    NOT NULL,
    lead_name    text    NOT NULL,
    assignee     text,
    due_at       {ts}    NOT NULL,
    channel      text    NOT NULL,
    note         text,
    state        text    NOT NULL,
    archived     boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS lead_follow_ups{s}_due_{g} ON lead_follow_ups{s} (state, assignee, due_at);
CREATE INDEX IF NOT EXISTS lead_follow_ups{s}_lead_{g} ON lead_follow_ups{s} (lead_id);
CREATE INDEX IF NOT EXISTS lead_follow_ups{s}_open_{g} ON lead_follow_ups{s} (state, archived, due_at, assignee, lead_id);

-- Search: one row per word of a lead's name and notes, as its keyed blind index (never the
-- word), so that a search looks its words up instead of scanning every lead.
CREATE TABLE IF NOT EXISTS lead_search{s}
(
    token   text NOT NULL,
    lead_id text NOT NULL,
    PRIMARY KEY (token, lead_id)
);
CREATE INDEX IF NOT EXISTS lead_search{s}_lead_{g} ON lead_search{s} (lead_id);

-- Near duplicates: one row per blind index of a normalised variant of an open lead's contacts
-- (the mailbox, the mobile number and its neighbours by one swap of digits, the name's words),
-- never the value; two leads sharing a token are a candidate pair.
CREATE TABLE IF NOT EXISTS lead_near{s}
(
    token   text NOT NULL,
    lead_id text NOT NULL,
    -- email, phone, phone_near or name
    kind    text NOT NULL,
    PRIMARY KEY (token, lead_id)
);
CREATE INDEX IF NOT EXISTS lead_near{s}_lead_{g} ON lead_near{s} (lead_id);
