//! Prices: a provider of quotes behind a trait (the default reads `fixtures/prices.json`), a
//! cache with a time to live, back-off after failures, and the `prices` table that keeps every
//! price by day (the provider's, and those an admin records) so that a portfolio valued as of
//! a past date uses that date's price.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use domain::values::Isin;
use futures::future::BoxFuture;
use futures::StreamExt;
use rust_decimal::Decimal;
use serde::Deserialize;
use store::{with_db, Db};
use uuid::Uuid;

/// A price of an instrument, where it came from and when it was current.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub price: Decimal,
    /// The day it is the price of (in India).
    pub on_date: NaiveDate,
    pub quoted_at: DateTime<Utc>,
    /// `fixture`, `http`, `manual`, …
    pub source: String,
}

/// What a provider knows of an instrument besides its price.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Instrument {
    pub symbol: String,
    pub sector: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    #[error("the price provider could not be asked: {0}")]
    Unavailable(String),
    #[error("the price store failed: {0}")]
    Store(#[from] sqlx::Error),
}

/// A source of quotes.
pub trait PriceProvider: Send + Sync + 'static {
    /// The latest quote for `isin` (`None`: the provider does not know it).
    fn latest<'a>(&'a self, isin: &'a Isin) -> BoxFuture<'a, Result<Option<Quote>, PriceError>>;
    /// The daily closes it holds (loaded into the price table at start-up); none by default.
    fn closes(&self) -> Vec<(Isin, Quote)> {
        Vec::new()
    }
    fn instrument(&self, _isin: &Isin) -> Option<Instrument> {
        None
    }
}

/// Quotes from a fixture file: daily closes and intraday snapshots.
#[derive(Debug, Clone, Default)]
pub struct FixturePrices {
    closes: Vec<(Isin, Quote)>,
    intraday: HashMap<Isin, Quote>,
    instruments: HashMap<Isin, Instrument>,
}

#[derive(Deserialize)]
struct FixtureFile {
    instruments: Vec<FixtureInstrument>,
    closes: Vec<FixtureClose>,
    intraday: Vec<FixtureSnapshot>,
}

#[derive(Deserialize)]
struct FixtureInstrument {
    isin: String,
    symbol: String,
    sector: Option<String>,
}

#[derive(Deserialize)]
struct FixtureClose {
    isin: String,
    date: NaiveDate,
    close: String,
}

#[derive(Deserialize)]
struct FixtureSnapshot {
    isin: String,
    at: DateTime<Utc>,
    price: String,
}

/// Failures in a row (any instruments) after which the provider is left alone for a while.
const OUTAGE_AFTER: u32 = 3;

/// How long to wait after the `failures`-th failure in a row: doubling from 10 s, at most 10
/// minutes.
fn back_off(failures: u32) -> Duration {
    Duration::from_secs(5 << failures.min(7)).min(Duration::from_secs(600))
}

/// Instruments the provider is asked about at the same time.
const LATEST_AT_ONCE: usize = 8;

const BUILT_IN: &str = include_str!("../../../fixtures/prices.json");

/// The close of a trading day in India (15:30 IST).
fn close_time(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(10, 0, 0).expect("a time").and_utc()
}

impl FixturePrices {
    /// The prices of a fixture file's text (the built-in file when `None`).
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        let file: FixtureFile = serde_json::from_str(text.unwrap_or(BUILT_IN))
            .map_err(|e| format!("price fixtures: {e}"))?;
        let isin = |s: &str| Isin::parse(s).map_err(|e| format!("price fixture ISIN {s}: {e}"));
        let price = |s: &str| {
            domain::values::parse_amount(s, 4, false)
                .map_err(|e| format!("price fixture price {s}: {e}"))
        };
        let mut out = Self::default();
        for i in file.instruments {
            out.instruments.insert(
                isin(&i.isin)?,
                Instrument {
                    symbol: i.symbol,
                    sector: i.sector,
                },
            );
        }
        for c in file.closes {
            out.closes.push((
                isin(&c.isin)?,
                Quote {
                    price: price(&c.close)?,
                    on_date: c.date,
                    quoted_at: close_time(c.date),
                    source: "fixture".into(),
                },
            ));
        }
        for s in file.intraday {
            out.intraday.insert(
                isin(&s.isin)?,
                Quote {
                    price: price(&s.price)?,
                    on_date: domain::kyc::india_today(s.at),
                    quoted_at: s.at,
                    source: "fixture".into(),
                },
            );
        }
        Ok(out)
    }
}

impl PriceProvider for FixturePrices {
    fn latest<'a>(&'a self, isin: &'a Isin) -> BoxFuture<'a, Result<Option<Quote>, PriceError>> {
        Box::pin(async move {
            if let Some(q) = self.intraday.get(isin) {
                return Ok(Some(q.clone()));
            }
            Ok(self
                .closes
                .iter()
                .filter(|(i, _)| i == isin)
                .max_by_key(|(_, q)| q.on_date)
                .map(|(_, q)| q.clone()))
        })
    }

    fn closes(&self) -> Vec<(Isin, Quote)> {
        self.closes.clone()
    }

    fn instrument(&self, isin: &Isin) -> Option<Instrument> {
        self.instruments.get(isin).cloned()
    }
}

/// A price as a valuation uses it: the quote, and whether it is stale.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceOn {
    pub quote: Quote,
    /// Older than the staleness limit for a current valuation, or of an earlier day than the
    /// one valued.
    pub stale: bool,
}

struct Cached {
    quote: Option<Quote>,
    fetched: Instant,
}

struct Failing {
    failures: u32,
    retry_at: Instant,
}

/// The prices in use: the provider behind a cache, and the price table.
pub struct PriceBook {
    db: Db,
    provider: Box<dyn PriceProvider>,
    ttl: Duration,
    stale_after: chrono::Duration,
    cache: Mutex<HashMap<Isin, Cached>>,
    failing: Mutex<HashMap<Isin, Failing>>,
    /// Failures in a row whatever the instrument: past a few the whole provider is left
    /// alone for a while (a service that hangs would otherwise cost every instrument its
    /// timeout on every read).
    outage: Mutex<Failing>,
}

impl PriceBook {
    /// `ttl`: how long a quote is reused before the provider is asked again; `stale_after`:
    /// how old a quote may be before a current valuation marks it stale.
    pub fn new(
        db: &Db,
        provider: Box<dyn PriceProvider>,
        ttl: Duration,
        stale_after: chrono::Duration,
    ) -> Self {
        Self {
            db: db.clone(),
            provider,
            ttl,
            stale_after,
            cache: Mutex::new(HashMap::new()),
            failing: Mutex::new(HashMap::new()),
            outage: Mutex::new(Failing {
                failures: 0,
                retry_at: Instant::now(),
            }),
        }
    }

    pub fn instrument(&self, isin: &Isin) -> Option<Instrument> {
        self.provider.instrument(isin)
    }

    /// Loads the provider's daily closes into the price table (a price already there for
    /// the day and source is kept).
    pub async fn load_closes(&self) -> Result<usize, PriceError> {
        let closes = self.provider.closes();
        let now = Utc::now().to_rfc3339();
        for chunk in closes.chunks(100) {
            with_db!(&self.db, pool => {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO prices (isin, on_date, source, price, quoted_at, recorded_by, recorded_at) ",
                );
                qb.push_values(chunk, |mut b, (isin, q)| {
                    b.push_bind(isin.as_str().to_string())
                        .push_bind(q.on_date.to_string())
                        .push_bind(q.source.clone())
                        .push_bind(q.price.to_string())
                        .push_bind(q.quoted_at.to_rfc3339())
                        .push_bind(None::<String>)
                        .push_bind(now.clone());
                });
                qb.push(" ON CONFLICT (isin, on_date, source) DO NOTHING");
                qb.build().execute(pool).await?;
            });
        }
        Ok(closes.len())
    }

    async fn store(&self, isin: &Isin, q: &Quote, by: Option<Uuid>) -> Result<(), PriceError> {
        // A manual price replaces the day's manual price; a provider's quote replaces an
        // earlier quote of the same day (the close, later, replaces the morning's).
        let conflict = if q.source == "manual" {
            "DO UPDATE SET price = excluded.price, quoted_at = excluded.quoted_at,
             recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at"
        } else {
            "DO UPDATE SET price = excluded.price, quoted_at = excluded.quoted_at,
             recorded_at = excluded.recorded_at WHERE prices.quoted_at < excluded.quoted_at"
        };
        let sql = format!(
            "INSERT INTO prices (isin, on_date, source, price, quoted_at, recorded_by, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (isin, on_date, source) {conflict}"
        );
        with_db!(&self.db, pool => {
            sqlx::query(&sql)
                .bind(isin.as_str())
                .bind(q.on_date.to_string())
                .bind(&q.source)
                .bind(q.price.to_string())
                .bind(q.quoted_at.to_rfc3339())
                .bind(by.map(|b| b.to_string()))
                .bind(Utc::now().to_rfc3339())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Records a price by hand (an admin's): it is the price of that day from then on.
    pub async fn record(
        &self,
        isin: &Isin,
        price: Decimal,
        on_date: NaiveDate,
        by: Uuid,
    ) -> Result<Quote, PriceError> {
        let quote = Quote {
            price,
            on_date,
            quoted_at: Utc::now().min(close_time(on_date)),
            source: "manual".into(),
        };
        self.store(isin, &quote, Some(by)).await?;
        self.cache.lock().expect("price cache").remove(isin);
        Ok(quote)
    }

    /// The last price recorded for `isin` on or before `on` (a manual one first on its day).
    pub async fn recorded_on(
        &self,
        isin: &Isin,
        on: NaiveDate,
    ) -> Result<Option<Quote>, PriceError> {
        let row: Option<(String, String, String, String)> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT price, on_date, quoted_at, source FROM prices
                  WHERE isin = $1 AND on_date <= $2
                  ORDER BY on_date DESC, CASE source WHEN 'manual' THEN 0 ELSE 1 END, quoted_at DESC
                  LIMIT 1",
            )
            .bind(isin.as_str())
            .bind(on.to_string())
            .fetch_optional(pool)
            .await?
        });
        Ok(row.and_then(|(price, on_date, quoted_at, source)| {
            Some(Quote {
                price: Decimal::from_str(&price).ok()?,
                on_date: NaiveDate::from_str(&on_date).ok()?,
                quoted_at: DateTime::parse_from_rfc3339(&quoted_at).ok()?.to_utc(),
                source,
            })
        }))
    }

    /// The provider's latest quote, from the cache while it is fresh; after a failure the
    /// provider is not asked again for a while (doubling, up to 10 minutes), and a failure
    /// never fails the caller: it answers `None`.
    async fn latest(&self, isin: &Isin) -> Option<Quote> {
        if let Some(c) = self.cache.lock().expect("price cache").get(isin) {
            if c.fetched.elapsed() < self.ttl {
                return c.quote.clone();
            }
        }
        if Instant::now() < self.outage.lock().expect("price outage").retry_at {
            return None;
        }
        if let Some(f) = self.failing.lock().expect("price failures").get(isin) {
            if Instant::now() < f.retry_at {
                return None;
            }
        }
        let before = self
            .cache
            .lock()
            .expect("price cache")
            .get(isin)
            .and_then(|c| c.quote.clone());
        match self.provider.latest(isin).await {
            Ok(quote) => {
                self.failing.lock().expect("price failures").remove(isin);
                self.outage.lock().expect("price outage").failures = 0;
                // A quote kept already (the provider answered the same again) is not written.
                if let Some(q) = quote.as_ref().filter(|q| before.as_ref() != Some(*q)) {
                    if let Err(e) = self.store(isin, q, None).await {
                        tracing::warn!(error = %e, "a quote could not be kept");
                    }
                }
                self.cache.lock().expect("price cache").insert(
                    isin.clone(),
                    Cached {
                        quote: quote.clone(),
                        fetched: Instant::now(),
                    },
                );
                quote
            }
            Err(e) => {
                {
                    let mut outage = self.outage.lock().expect("price outage");
                    outage.failures += 1;
                    if outage.failures >= OUTAGE_AFTER {
                        let k = outage.failures - OUTAGE_AFTER + 1;
                        outage.retry_at = Instant::now() + back_off(k);
                    }
                }
                let mut failing = self.failing.lock().expect("price failures");
                let f = failing.entry(isin.clone()).or_insert(Failing {
                    failures: 0,
                    retry_at: Instant::now(),
                });
                f.failures += 1;
                f.retry_at = Instant::now() + back_off(f.failures);
                tracing::warn!(error = %e, failures = f.failures, "price provider failed; backing off");
                None
            }
        }
    }

    /// Picks the price of `day` from the provider's latest quote (today only) and the last
    /// price recorded on or before `day`, and says whether it is stale.
    fn choose(
        &self,
        latest: Option<Quote>,
        recorded: Option<Quote>,
        day: NaiveDate,
    ) -> Option<PriceOn> {
        let now = Utc::now();
        let today = domain::kyc::india_today(now);
        let quote = match (latest, recorded) {
            // A manual price of the same day or later wins over a provider's older one.
            (Some(q), Some(r)) if r.source == "manual" && r.on_date >= q.on_date => Some(r),
            (Some(q), _) => Some(q),
            (None, r) => r,
        };
        quote.map(|quote| {
            // A close is the day's price until the next day; a quote during the day goes
            // stale after the limit.
            // (A price recorded by hand is the day's price, like a close.)
            let intraday = quote.source != "manual" && quote.quoted_at < close_time(quote.on_date);
            let stale = quote.on_date < day
                || (day == today && intraday && now - quote.quoted_at > self.stale_after);
            PriceOn { quote, stale }
        })
    }

    /// The price to value `isin` at on `on` (`None`: today, now): for today the provider's
    /// latest quote or else the last recorded price; for a past day the last price recorded
    /// on or before it. Marked stale when it is of an earlier day than the one valued, or
    /// (today) older than the staleness limit.
    pub async fn price(
        &self,
        isin: &Isin,
        on: Option<NaiveDate>,
    ) -> Result<Option<PriceOn>, PriceError> {
        let today = domain::kyc::india_today(Utc::now());
        let day = on.unwrap_or(today);
        let latest = match day >= today {
            true => self.latest(isin).await,
            false => None,
        };
        let recorded = self.recorded_on(isin, day).await?;
        Ok(self.choose(latest, recorded, day))
    }

    /// The prices of many instruments on `on` (as [`PriceBook::price`]) with each one's
    /// previous close, reading the recent prices of all of them at once.
    pub async fn prices(
        &self,
        isins: &[Isin],
        on: Option<NaiveDate>,
    ) -> Result<HashMap<Isin, (PriceOn, Option<Decimal>)>, PriceError> {
        let today = domain::kyc::india_today(Utc::now());
        let day = on.unwrap_or(today);
        let since = day - chrono::Duration::days(14);
        let mut recent: HashMap<Isin, Vec<Quote>> = HashMap::new();
        for chunk in isins.chunks(200) {
            let rows: Vec<(String, String, String, String, String)> = with_db!(&self.db, pool => {
                let mut qb = sqlx::QueryBuilder::new(
                    "SELECT isin, price, on_date, quoted_at, source FROM prices WHERE on_date <= ",
                );
                qb.push_bind(day.to_string())
                    .push(" AND on_date >= ")
                    .push_bind(since.to_string())
                    .push(" AND isin IN (");
                let mut list = qb.separated(", ");
                for i in chunk {
                    list.push_bind(i.as_str().to_string());
                }
                qb.push(")");
                qb.build_query_as().fetch_all(pool).await?
            });
            for (isin, price, on_date, quoted_at, source) in rows {
                let parsed = (|| {
                    Some((
                        Isin::parse(&isin).ok()?,
                        Quote {
                            price: Decimal::from_str(&price).ok()?,
                            on_date: NaiveDate::from_str(&on_date).ok()?,
                            quoted_at: DateTime::parse_from_rfc3339(&quoted_at).ok()?.to_utc(),
                            source,
                        },
                    ))
                })();
                if let Some((isin, q)) = parsed {
                    recent.entry(isin).or_default().push(q);
                }
            }
        }
        // The provider is asked for every instrument at once (a few at a time), not in turn.
        let mut latest: Vec<Option<Quote>> = match day >= today {
            true => {
                // Boxed: the stream's futures are then of one named type (and `Send`).
                let asks: Vec<BoxFuture<'_, Option<Quote>>> = isins
                    .iter()
                    .map(|i| Box::pin(self.latest(i)) as _)
                    .collect();
                futures::stream::iter(asks)
                    .buffered(LATEST_AT_ONCE)
                    .collect()
                    .await
            }
            false => vec![None; isins.len()],
        };
        let mut out = HashMap::new();
        for (k, isin) in isins.iter().enumerate() {
            let mut quotes = recent.remove(isin).unwrap_or_default();
            quotes.sort_by(|a, b| {
                b.on_date
                    .cmp(&a.on_date)
                    .then((a.source != "manual").cmp(&(b.source != "manual")))
                    .then(b.quoted_at.cmp(&a.quoted_at))
            });
            let recorded = match quotes.first() {
                Some(q) => Some(q.clone()),
                None => self.recorded_on(isin, day).await?,
            };
            let Some(chosen) = self.choose(latest[k].take(), recorded, day) else {
                continue;
            };
            let previous = match quotes.iter().find(|q| q.on_date < chosen.quote.on_date) {
                Some(q) => Some(q.price),
                None => self
                    .previous_close(isin, chosen.quote.on_date)
                    .await?
                    .map(|q| q.price),
            };
            out.insert(isin.clone(), (chosen, previous));
        }
        Ok(out)
    }

    /// The close before `day` (for the day's change).
    pub async fn previous_close(
        &self,
        isin: &Isin,
        day: NaiveDate,
    ) -> Result<Option<Quote>, PriceError> {
        match day.pred_opt() {
            Some(before) => self.recorded_on(isin, before).await,
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A provider that is down, counting how often it is asked.
    struct Down(Arc<AtomicUsize>);

    impl PriceProvider for Down {
        fn latest<'a>(&'a self, _: &'a Isin) -> BoxFuture<'a, Result<Option<Quote>, PriceError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Err(PriceError::Unavailable("connection refused".into())) })
        }
    }

    async fn book(provider: Box<dyn PriceProvider>) -> PriceBook {
        let dir = std::env::temp_dir().join(format!("crm-prices-{}", Uuid::new_v4().simple()));
        let db = Db::connect(None, &dir).await.unwrap();
        db.migrate().await.unwrap();
        PriceBook::new(
            &db,
            provider,
            Duration::from_secs(60),
            chrono::Duration::minutes(15),
        )
    }

    #[tokio::test]
    async fn a_provider_failure_backs_off_and_falls_back_to_the_last_price_marked_stale() {
        let asked = Arc::new(AtomicUsize::new(0));
        let book = book(Box::new(Down(asked.clone()))).await;
        let infy = Isin::parse("INE009A01021").unwrap();
        let today = domain::kyc::india_today(Utc::now());
        let yesterday = today.pred_opt().unwrap();
        book.record(&infy, Decimal::from(1500), yesterday, Uuid::nil())
            .await
            .unwrap();
        let p = book.price(&infy, None).await.unwrap().unwrap();
        assert_eq!(
            (p.quote.price, p.quote.on_date),
            (Decimal::from(1500), yesterday)
        );
        assert!(p.stale, "yesterday's price is not today's");
        // Asked once; while backing off it is not asked again, and reads still answer.
        assert!(book.price(&infy, None).await.unwrap().is_some());
        assert!(!book
            .prices(std::slice::from_ref(&infy), None)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        // A past day reads the table only.
        let then = book.price(&infy, Some(yesterday)).await.unwrap().unwrap();
        assert!(!then.stale);
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        // An instrument nobody priced has no price, and that is no error.
        let unknown = Isin::parse("US0378331005").unwrap();
        assert!(book.price(&unknown, None).await.unwrap().is_none());
    }

    /// A provider failing for several instruments in a row is left alone as a whole: the
    /// next instruments are not asked (each would cost its timeout).
    #[tokio::test]
    async fn failures_in_a_row_leave_the_whole_provider_alone_for_a_while() {
        let asked = Arc::new(AtomicUsize::new(0));
        let book = book(Box::new(Down(asked.clone()))).await;
        let isins: Vec<Isin> = [
            "INE009A01021",
            "INE002A01018",
            "INE467B01029",
            "INE040A01034",
            "INE090A01021",
        ]
        .iter()
        .map(|i| Isin::parse(i).unwrap())
        .collect();
        // One at a time, so that the count is exact: the first three fail, then none is asked.
        for i in &isins {
            assert!(book.price(i, None).await.unwrap().is_none());
        }
        assert_eq!(asked.load(Ordering::SeqCst), OUTAGE_AFTER as usize);
        assert!(book.prices(&isins, None).await.unwrap().is_empty());
        assert_eq!(asked.load(Ordering::SeqCst), OUTAGE_AFTER as usize);
    }

    #[tokio::test]
    async fn a_manual_price_of_the_day_wins_over_an_older_quote_and_closes_load_once() {
        let book = book(Box::new(FixturePrices::parse(None).unwrap())).await;
        let loaded = book.load_closes().await.unwrap();
        assert!(loaded > 100);
        assert_eq!(
            book.load_closes().await.unwrap(),
            loaded,
            "loading again keeps what is there"
        );
        let reliance = Isin::parse("INE002A01018").unwrap();
        let today = domain::kyc::india_today(Utc::now());
        book.record(&reliance, Decimal::from(1234), today, Uuid::nil())
            .await
            .unwrap();
        let p = book.price(&reliance, None).await.unwrap().unwrap();
        assert_eq!(
            (p.quote.price, p.quote.source.as_str()),
            (Decimal::from(1234), "manual")
        );
        let many = book
            .prices(std::slice::from_ref(&reliance), None)
            .await
            .unwrap();
        let (chosen, previous) = &many[&reliance];
        assert_eq!(chosen.quote.price, Decimal::from(1234));
        assert!(
            previous.is_some(),
            "the fixture's last close is the day before"
        );
    }

    #[tokio::test]
    async fn the_built_in_fixtures_hold_closes_and_snapshots_of_real_isins() {
        let p = FixturePrices::parse(None).unwrap();
        let reliance = Isin::parse("INE002A01018").unwrap();
        let q = p.latest(&reliance).await.unwrap().unwrap();
        assert_eq!(q.source, "fixture");
        assert!(q.price > Decimal::ZERO);
        assert_eq!(p.instrument(&reliance).unwrap().symbol, "RELIANCE");
        assert!(p.closes().len() > 100);
        let unknown = Isin::parse("US0378331005").unwrap();
        assert_eq!(p.latest(&unknown).await.unwrap(), None);
        assert!(FixturePrices::parse(Some(
            r#"{"instruments":[],"closes":[{"isin":"INE002A01019","date":"2026-01-01","close":"1"}],"intraday":[]}"#
        ))
        .is_err());
    }
}
