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
    -- The `sales_counts` groups the lead was last counted in.
    tally_groups      text,
    version           bigint  NOT NULL,
    doc               {json}  NOT NULL
);
-- The leads captured in a period, grouped and filtered from this index alone.
CREATE INDEX IF NOT EXISTS sales_leads{s}_created_{g} ON sales_leads{s} (created_at, merged, assignee, source, campaign_index, furthest, first_response_at, response_secs, lead_id, client_id, reached_contacted_at, reached_qualified_at, reached_converted_at);
-- The same in the order the report groups them: a long period is read through this one in
-- order, without sorting every lead of it.
CREATE INDEX IF NOT EXISTS sales_leads{s}_grouped_{g} ON sales_leads{s} (merged, source, campaign_index, assignee, furthest, created_at, first_response_at, response_secs, client_id);
CREATE INDEX IF NOT EXISTS sales_leads{s}_assignee_{g} ON sales_leads{s} (assignee, created_at);
-- A campaign or a reason named by the first readable lead that gives it, found in order here.
CREATE INDEX IF NOT EXISTS sales_leads{s}_campaign_{g} ON sales_leads{s} (campaign_index, erased, restricted, lead_id, assignee);
CREATE INDEX IF NOT EXISTS sales_leads{s}_reason_{g} ON sales_leads{s} (lost_reason_index, erased, restricted, lead_id, assignee);

-- The pipeline now: leads counted by status and what the report filters by, kept with each
-- save (`grp`: the values together), never counted from the leads themselves.
CREATE TABLE IF NOT EXISTS sales_counts{s}
(
    grp            text PRIMARY KEY,
    status         text    NOT NULL,
    merged         boolean NOT NULL,
    archived       boolean NOT NULL,
    assignee       text,
    source         text    NOT NULL,
    campaign_index text,
    n              bigint  NOT NULL
);

CREATE TABLE IF NOT EXISTS sales_stages{s}
(
    lead_id    text   NOT NULL,
    seq        bigint NOT NULL,
    -- new, contacted, qualified, converted or lost
    stage      text   NOT NULL,
    entered_at {ts}   NOT NULL,
    left_at    {ts},
    -- Whole seconds in the stage, once left.
    secs       bigint,
    -- The lead's, as it stands (see sales_leads): what the report filters and groups by.
    assignee          text,
    source            text    NOT NULL,
    campaign_index    text,
    merged            boolean NOT NULL,
    archived          boolean NOT NULL,
    lead_status       text    NOT NULL,
    lost_reason_index text,
    PRIMARY KEY (lead_id, seq)
);
-- Each part of the report counted from one index alone: the stages entered in a period
-- (conversions, losses and their reasons) or since a moment and still open (`left_at` is null
-- while in the stage); the stays that ended in a period (time in stage) or since a moment
-- (those two give the pipeline at that moment from the pipeline now).
CREATE INDEX IF NOT EXISTS sales_stages{s}_entered_{g} ON sales_stages{s} (entered_at, stage, merged, assignee, source, campaign_index, lead_status, lost_reason_index, archived, left_at);
CREATE INDEX IF NOT EXISTS sales_stages{s}_left_{g} ON sales_stages{s} (left_at, stage, merged, archived, assignee, source, campaign_index, entered_at, secs);
-- In the order the report groups them: conversions and losses of a long period by holder and
-- reason, and the stays of each stage that ended in a period, read in order without a sort.
CREATE INDEX IF NOT EXISTS sales_stages{s}_outcome_{g} ON sales_stages{s} (merged, stage, assignee, lead_status, lost_reason_index, entered_at, source, campaign_index);
CREATE INDEX IF NOT EXISTS sales_stages{s}_stays_{g} ON sales_stages{s} (merged, stage, left_at, assignee, source, campaign_index, secs);

CREATE TABLE IF NOT EXISTS sales_follow_ups{s}
(
    follow_up_id text PRIMARY KEY,
    lead_id      text NOT NULL,
    due_at       {ts} NOT NULL,
    closed_at    {ts},
    -- open, completed, cancelled or moved (to the record the lead was merged into, or back)
    state        text NOT NULL,
    -- The lead's, as it stands.
    assignee       text,
    source         text    NOT NULL,
    campaign_index text,
    merged         boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS sales_follow_ups{s}_lead_{g} ON sales_follow_ups{s} (lead_id);
-- The follow-ups closed in a period or still open, counted from this index alone.
CREATE INDEX IF NOT EXISTS sales_follow_ups{s}_closed_{g} ON sales_follow_ups{s} (closed_at, due_at, state, merged, assignee, source, campaign_index);
-- The same by holder, for a long period: read in order, without a sort.
CREATE INDEX IF NOT EXISTS sales_follow_ups{s}_held_{g} ON sales_follow_ups{s} (merged, assignee, closed_at, due_at, state, source, campaign_index);
