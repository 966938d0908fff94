-- The portfolio read model (template: see leads.sql). One row per client with a portfolio:
-- a summary document (totals per instrument, cash flows and realised gains by day, the risk
-- profile without its answers) and the open FIFO lots apart, read only to add trades or when
-- asked for; and one row per trade. Nothing personal is kept here.
CREATE TABLE IF NOT EXISTS portfolios{s}
(
    client_id  text PRIMARY KEY,
    profile    text,
    trades     bigint  NOT NULL,
    -- The FIFO cost of what is held, a decimal number as text.
    invested   text    NOT NULL,
    updated_at {ts}    NOT NULL,
    version    bigint  NOT NULL,
    doc        {json}  NOT NULL,
    lots       {json}  NOT NULL
);
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
    trade        {json}  NOT NULL,
    realisation  {json}
);
CREATE INDEX IF NOT EXISTS portfolio_trades{s}_client_{g} ON portfolio_trades{s} (client_id, trade_date, trade_id);
