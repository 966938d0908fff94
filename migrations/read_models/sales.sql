-- The sales facts read model (template: see leads.sql): what the sales report and the
-- dashboards count, from the copy each process keeps in memory (see
-- projections/src/sales/memory.rs). One row per lead with the moments that matter (captured,
-- first response, converted, lost); one row per stage a lead passed through (entered, left), which answers
-- "where did the pipeline stand at" any moment; one row per follow-up (due, closed). The
-- campaign (the source detail of campaign and partner leads) and the lost reason are free
-- text, so they are only in `doc`, sealed with the lead's key, and as keyed blind indexes of
-- their normalised text for grouping and filtering.
-- The pipeline's counts of version 6 and before, no longer kept: counted from the copy.
DROP TABLE IF EXISTS sales_counts{s};
CREATE TABLE IF NOT EXISTS sales_leads{s}
(
    lead_id           text PRIMARY KEY,
    source            text    NOT NULL,
    campaign_index    text,
    assignee          text,
    created_at        {ts}    NOT NULL,
    status            text    NOT NULL,
    -- The furthest funnel stage reached: 0 new, 1 contacted, 2 qualified, 3 converted.
    furthest          bigint  NOT NULL,
    -- When the lead first reached contacted, qualified and converted (or a stage beyond): its
    -- furthest stage at a past moment is the last of these by then.
    reached_contacted_at {ts},
    reached_qualified_at {ts},
    reached_converted_at {ts},
    first_response_at {ts},
    -- Whole seconds from captured to the first response.
    response_secs     bigint,
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
    -- The commit-order key of the batch that saved the lead last: a copy of this model held in
    -- memory reads again the leads (with their stages and follow-ups) saved past its own.
    saved_tx          bigint  NOT NULL,
    saved_position    bigint  NOT NULL,
    doc               {json}  NOT NULL
);
CREATE INDEX IF NOT EXISTS sales_leads{s}_saved_{g} ON sales_leads{s} (saved_tx, saved_position);
-- A campaign or a reason named by the first readable lead that gives it, found in order here.
CREATE INDEX IF NOT EXISTS sales_leads{s}_campaign_{g} ON sales_leads{s} (campaign_index, erased, restricted, lead_id, assignee);
CREATE INDEX IF NOT EXISTS sales_leads{s}_reason_{g} ON sales_leads{s} (lost_reason_index, erased, restricted, lead_id, assignee);

-- The stays of a lead in each stage, replaced with the lead.
CREATE TABLE IF NOT EXISTS sales_stages{s}
(
    lead_id    text   NOT NULL,
    seq        bigint NOT NULL,
    -- new, contacted, qualified, converted or lost
    stage      text   NOT NULL,
    entered_at {ts}   NOT NULL,
    -- Null while in the stage.
    left_at    {ts},
    -- Whole seconds in the stage, once left.
    secs       bigint,
    PRIMARY KEY (lead_id, seq)
);

CREATE TABLE IF NOT EXISTS sales_follow_ups{s}
(
    follow_up_id text PRIMARY KEY,
    lead_id      text NOT NULL,
    due_at       {ts} NOT NULL,
    closed_at    {ts},
    -- open, completed, cancelled or moved (to the record the lead was merged into, or back)
    state        text NOT NULL,
    -- The lead's, as it stands: the agents' daily reminders count their open follow-ups.
    assignee     text,
    merged       boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS sales_follow_ups{s}_lead_{g} ON sales_follow_ups{s} (lead_id);
CREATE INDEX IF NOT EXISTS sales_follow_ups{s}_due_{g} ON sales_follow_ups{s} (state, merged, due_at, assignee);
