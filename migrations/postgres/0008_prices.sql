-- Prices of instruments by day, as the price provider gave them (its daily closes and the
-- intraday quotes it was asked for) or as an admin recorded them by hand; a portfolio valued
-- as of a past date reads the price of that date (or the last one before it). `price` is a
-- decimal number as text; `quoted_at` is when the price was current.
CREATE TABLE prices
(
    isin        text NOT NULL,
    on_date     text NOT NULL,
    source      text NOT NULL,
    price       text NOT NULL,
    quoted_at   text NOT NULL,
    recorded_by text,
    recorded_at text NOT NULL,
    PRIMARY KEY (isin, on_date, source)
);
CREATE INDEX prices_by_date ON prices (isin, on_date);
