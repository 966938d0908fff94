-- The client list read model (template: see leads.sql). Personal data is never stored in the
-- clear: `doc` holds the client's view with its personal fields sealed by the client's key;
-- PAN, e-mail, phone, document numbers and words of the name and address are only present as
-- keyed blind indexes, for equality search.
CREATE TABLE IF NOT EXISTS clients{s}
(
    client_id            text PRIMARY KEY,
    branch               text    NOT NULL,
    relationship_manager text,
    -- active, inactive, suspended, closed or erased.
    status               text    NOT NULL,
    -- retail, affluent, hni or ultra_hni; the declared net-worth band (not personal: a band).
    segment              text    NOT NULL,
    net_worth            text,
    -- For the client report's distributions, and emptied once the person is erased: the birth
    -- year (age bands), the permanent (else first) address's state and city, the occupation
    -- and the annual income band. None of them names a person on its own.
    birth_year           text,
    state                text,
    city                 text,
    occupation           text,
    income               text,
    -- The day of the account's last activity (onboarded, reactivated, reopened, an interaction
    -- logged), YYYY-MM-DD: with the client's trades, what the dormancy step measures from.
    activity_on          text    NOT NULL,
    created_at           {ts}    NOT NULL,
    updated_at           {ts}    NOT NULL,
    pan_index            text,
    email_index          text,
    phone_index          text,
    search_tokens        text    NOT NULL,
    document_tokens      text    NOT NULL,
    restricted           boolean NOT NULL,
    -- The channels marketing may use now (` email sms `): consented, not restricted or erased.
    marketing            text    NOT NULL,
    -- Closed and not yet erased, or erased with its key possibly still present: the retention
    -- run looks at these.
    retention_watch      boolean NOT NULL,
    -- The `clients_counts` groups the client was last counted in.
    tally_groups         text,
    version              bigint  NOT NULL,
    doc                  {json}  NOT NULL
);
CREATE INDEX IF NOT EXISTS clients{s}_created_{g} ON clients{s} (created_at, client_id);
CREATE INDEX IF NOT EXISTS clients{s}_rm_{g} ON clients{s} (relationship_manager, created_at);
CREATE INDEX IF NOT EXISTS clients{s}_branch_{g} ON clients{s} (branch, created_at);
CREATE INDEX IF NOT EXISTS clients{s}_pan_{g} ON clients{s} (pan_index);
CREATE INDEX IF NOT EXISTS clients{s}_email_{g} ON clients{s} (email_index);
CREATE INDEX IF NOT EXISTS clients{s}_phone_{g} ON clients{s} (phone_index);
CREATE INDEX IF NOT EXISTS clients{s}_watch_{g} ON clients{s} (retention_watch);
CREATE INDEX IF NOT EXISTS clients{s}_status_{g} ON clients{s} (status, activity_on);
CREATE INDEX IF NOT EXISTS clients{s}_segment_{g} ON clients{s} (segment, created_at);
-- The compliance report counts erasures waiting from this index alone.
CREATE INDEX IF NOT EXISTS clients{s}_restricted_{g} ON clients{s} (restricted);
-- The client report's pass over the open accounts (trading frequency, last activity) from this
-- index alone; its distributions are counted in `clients_counts`.
CREATE INDEX IF NOT EXISTS clients{s}_report_{g} ON clients{s} (status, branch, relationship_manager, activity_on, created_at, client_id);
-- Where each client sits, looked up by id without the documents (the investment report joins
-- holdings to it).
CREATE INDEX IF NOT EXISTS clients{s}_placed_{g} ON clients{s} (client_id, branch, segment, relationship_manager, status);

-- The client report's distributions, kept with each save: clients counted per value of each
-- dimension (age is counted by birth year) with what the report filters by (`grp`: the values
-- together), never counted from the clients themselves.
CREATE TABLE IF NOT EXISTS clients_counts{s}
(
    grp                  text PRIMARY KEY,
    -- age, state, city, occupation, income, segment or status
    dimension            text    NOT NULL,
    value                text,
    status               text    NOT NULL,
    branch               text    NOT NULL,
    relationship_manager text,
    n                    bigint  NOT NULL
);

-- The clients' open follow-ups (of people not erased), with the client's branch and manager
-- for scoping; what they say is in the client's document.
CREATE TABLE IF NOT EXISTS client_follow_ups{s}
(
    follow_up_id         text PRIMARY KEY,
    client_id            text NOT NULL,
    branch               text NOT NULL,
    relationship_manager text,
    due_at               {ts} NOT NULL
);
CREATE INDEX IF NOT EXISTS client_follow_ups{s}_due_{g} ON client_follow_ups{s} (due_at, follow_up_id);
CREATE INDEX IF NOT EXISTS client_follow_ups{s}_client_{g} ON client_follow_ups{s} (client_id);
