-- The portfolio read model (template: see leads.sql). One row per client with a portfolio: a
-- summary document (totals per instrument, the risk profile without its answers); one row per
-- client and month with its trade dates (net cash flow, realised gains); one row per client
-- and instrument with its open FIFO lots (read to add trades or when asked for); and one row
-- per trade. A trade rewrites only its month, its instrument and the summary, and moves the
-- tallies at the end. Nothing personal is kept here.
CREATE TABLE IF NOT EXISTS portfolios{s}
(
    client_id  text PRIMARY KEY,
    profile    text,
    trades     bigint  NOT NULL,
    -- The FIFO cost of what is held, a decimal number as text.
    invested   text    NOT NULL,
    -- `YYYY-MM-DD`: the latest trade in force (the client report's last activity).
    last_trade_on text,
    updated_at {ts}    NOT NULL,
    version    bigint  NOT NULL,
    doc        {json}  NOT NULL
);
-- What each client has invested, read without the documents (the sales report's AUM brought).
CREATE INDEX IF NOT EXISTS portfolios{s}_invested_{g} ON portfolios{s} (client_id, invested);
-- Each client's last trade, read without the documents (the client report's last activity).
CREATE INDEX IF NOT EXISTS portfolios{s}_traded_{g} ON portfolios{s} (client_id, last_trade_on);
-- `YYYY-MM`; its days by date: {"flow", "short_term", "long_term"}, decimal strings.
CREATE TABLE IF NOT EXISTS portfolio_months{s}
(
    client_id text   NOT NULL,
    month     text   NOT NULL,
    days      {json} NOT NULL,
    PRIMARY KEY (client_id, month)
);
-- The instrument and its open lots, oldest first (a fifo::Holding), with its totals (decimal
-- numbers as text; `0` when sold out) for reports that count holdings without the lots.
CREATE TABLE IF NOT EXISTS portfolio_lots{s}
(
    client_id   text   NOT NULL,
    isin        text   NOT NULL,
    symbol      text   NOT NULL,
    asset_class text   NOT NULL,
    quantity    text   NOT NULL,
    cost        text   NOT NULL,
    holding     {json} NOT NULL,
    PRIMARY KEY (client_id, isin)
);
CREATE INDEX IF NOT EXISTS portfolio_lots{s}_held_{g} ON portfolio_lots{s}
    (client_id, quantity, isin, symbol, asset_class, cost);
-- Every trade recorded, in force or reversed; a sell in force carries the lots it consumed.
CREATE TABLE IF NOT EXISTS portfolio_trades{s}
(
    trade_id     text PRIMARY KEY,
    client_id    text    NOT NULL,
    -- The portfolio event's sequence: the order trades were recorded in.
    seq          bigint  NOT NULL,
    trade_date   text    NOT NULL,
    side         text    NOT NULL,
    asset_class  text    NOT NULL,
    isin         text    NOT NULL,
    reference    text    NOT NULL,
    -- `in_force` or `reversed`.
    status       text    NOT NULL,
    corrects     text,
    corrected_by text,
    recorded_by  text    NOT NULL,
    recorded_at  {ts}    NOT NULL,
    -- Quantity times price in ten-thousandths of a rupee, rounded (what the reports sum).
    value_e4     bigint  NOT NULL,
    trade        {json}  NOT NULL,
    realisation  {json}
);

-- A client's trades by date (the status too, so that counting a client's trades in force
-- reads the index alone).
CREATE INDEX IF NOT EXISTS portfolio_trades{s}_client_{g} ON portfolio_trades{s}
    (client_id, trade_date, trade_id, status);
-- The trade volumes of a period, summed from the index alone.
CREATE INDEX IF NOT EXISTS portfolio_trades{s}_volume_{g} ON portfolio_trades{s}
    (trade_date, status, side, asset_class, value_e4, client_id);

-- Where each client sits (from the client's events: onboarding, manager, segment), so that
-- the tallies below follow their clients. `relationship_manager` is '' when none.
CREATE TABLE IF NOT EXISTS portfolio_places{s}
(
    client_id            text PRIMARY KEY,
    branch               text NOT NULL,
    segment              text NOT NULL,
    relationship_manager text NOT NULL
);
-- What the clients hold, summed by where they sit and instrument (decimal numbers as text):
-- the investment report and the dashboard read these few rows, not every holding.
CREATE TABLE IF NOT EXISTS holding_tally{s}
(
    branch               text   NOT NULL,
    segment              text   NOT NULL,
    relationship_manager text   NOT NULL,
    isin                 text   NOT NULL,
    symbol               text   NOT NULL,
    asset_class          text   NOT NULL,
    holders              bigint NOT NULL,
    quantity             text   NOT NULL,
    cost                 text   NOT NULL,
    PRIMARY KEY (branch, segment, relationship_manager, isin)
);
-- The clients holding anything (`asset_class` '') or an asset class, by where they sit.
CREATE TABLE IF NOT EXISTS holder_tally{s}
(
    branch               text   NOT NULL,
    segment              text   NOT NULL,
    relationship_manager text   NOT NULL,
    asset_class          text   NOT NULL,
    holders              bigint NOT NULL,
    PRIMARY KEY (branch, segment, relationship_manager, asset_class)
);
-- Trades in force by day, side and asset class: every client's volumes of a period.
CREATE TABLE IF NOT EXISTS trade_days{s}
(
    trade_date  text   NOT NULL,
    side        text   NOT NULL,
    asset_class text   NOT NULL,
    trades      bigint NOT NULL,
    value_e4    bigint NOT NULL,
    PRIMARY KEY (trade_date, side, asset_class)
);
