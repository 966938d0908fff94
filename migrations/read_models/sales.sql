-- The sales facts read model (template: see leads.sql): what the sales report and the
-- dashboards count. One row per lead with the moments that matter (captured, first response,
-- converted, lost); one row per stage a lead passed through (entered, left), which answers
-- "where did the pipeline stand at" any moment; one row per follow-up (due, closed). The
-- campaign (the source detail of campaign and partner leads) and the lost reason are free
-- text, so they are only in `doc`, sealed with the lead's key, and as keyed blind indexes of
-- their normalised text for grouping and filtering.
CREATE TABLE IF NOT EXISTS sales_leads{s}
(
    lead_id           text PRIMARY KEY,
    source            text    NOT NULL,
    campaign_index    text,
    assignee          text,
    created_at        {ts}    NOT NULL,
    status            text    NOT NULL,
    first_response_at {ts},
    converted_at      {ts},
    client_id         text,
    lost_at           {ts},
    lost_reason_index text,
    -- Merged into another record: counted there, not here.
    merged            boolean NOT NULL,
    -- Archived: out of the open pipeline (still counted where it was captured and moved).
    archived          boolean NOT NULL,
    -- Erasure asked for and waiting: its free text names no report row.
    restricted        boolean NOT NULL,
    erased            boolean NOT NULL,
    version           bigint  NOT NULL,
    doc               {json}  NOT NULL
);
CREATE INDEX IF NOT EXISTS sales_leads{s}_created_{g} ON sales_leads{s} (created_at);
-- The pipeline now: counted from this index alone, never from the documents.
CREATE INDEX IF NOT EXISTS sales_leads{s}_status_{g} ON sales_leads{s} (status, merged, archived, assignee, source, campaign_index);
CREATE INDEX IF NOT EXISTS sales_leads{s}_assignee_{g} ON sales_leads{s} (assignee, created_at);
CREATE INDEX IF NOT EXISTS sales_leads{s}_campaign_{g} ON sales_leads{s} (campaign_index);
CREATE INDEX IF NOT EXISTS sales_leads{s}_reason_{g} ON sales_leads{s} (lost_reason_index);

CREATE TABLE IF NOT EXISTS sales_stages{s}
(
    lead_id    text   NOT NULL,
    seq        bigint NOT NULL,
    -- new, contacted, qualified, converted or lost
    stage      text   NOT NULL,
    entered_at {ts}   NOT NULL,
    left_at    {ts},
    PRIMARY KEY (lead_id, seq)
);
CREATE INDEX IF NOT EXISTS sales_stages{s}_open_{g} ON sales_stages{s} (stage, left_at, entered_at);
CREATE INDEX IF NOT EXISTS sales_stages{s}_entered_{g} ON sales_stages{s} (entered_at);
CREATE INDEX IF NOT EXISTS sales_stages{s}_left_{g} ON sales_stages{s} (left_at);

CREATE TABLE IF NOT EXISTS sales_follow_ups{s}
(
    follow_up_id text PRIMARY KEY,
    lead_id      text NOT NULL,
    due_at       {ts} NOT NULL,
    closed_at    {ts},
    -- open, completed, cancelled or moved (to the record the lead was merged into, or back)
    state        text NOT NULL
);
CREATE INDEX IF NOT EXISTS sales_follow_ups{s}_lead_{g} ON sales_follow_ups{s} (lead_id);
CREATE INDEX IF NOT EXISTS sales_follow_ups{s}_due_{g} ON sales_follow_ups{s} (due_at);
CREATE INDEX IF NOT EXISTS sales_follow_ups{s}_closed_{g} ON sales_follow_ups{s} (closed_at);
