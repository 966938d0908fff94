//! The HTTP JSON price provider, for production: a quote service asked by URL template
//! (`https://quotes.example/v1/quote?isin={isin}&symbol={symbol}&exchange=NSE`), with an
//! optional authentication header, the price and its time read from the answer by JSON
//! pointers. What instruments are (symbol, sector) still comes from the fixture file.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use commands::investments::prices::{FixturePrices, Instrument, PriceError, PriceProvider, Quote};
use domain::values::Isin;
use futures::future::BoxFuture;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

/// How the quote service is asked and its answers read.
#[derive(Clone)]
pub struct HttpQuotes {
    pub url_template: String,
    /// `Name: value`, sent with every request (a secret: never logged).
    pub auth_header: Option<String>,
    /// Where the price is in the answer (a number or a decimal string).
    pub price_pointer: String,
    /// Where the quote's time is (RFC 3339, or a date for a close); absent: the time asked.
    pub time_pointer: String,
    pub timeout: Duration,
}

impl std::fmt::Debug for HttpQuotes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The query may carry a key: only the address up to it is shown.
        let address = self.url_template.split('?').next().unwrap_or_default();
        f.debug_struct("HttpQuotes")
            .field("url_template", &address)
            .field("auth_header", &self.auth_header.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

pub struct HttpPrices {
    http: reqwest::Client,
    template: String,
    auth: Option<(HeaderName, HeaderValue)>,
    price_pointer: String,
    time_pointer: String,
    known: FixturePrices,
}

impl HttpPrices {
    /// Checks the configuration; `known` names the instruments (symbol, sector).
    pub fn new(config: HttpQuotes, known: FixturePrices) -> Result<Self, String> {
        if !config.url_template.contains("{isin}") && !config.url_template.contains("{symbol}") {
            return Err("the price URL template names neither {isin} nor {symbol}".into());
        }
        let probe = fill(&config.url_template, "INE002A01018", "RELIANCE");
        let parsed = reqwest::Url::parse(&probe)
            .map_err(|e| format!("the price URL template is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("the price URL must be http or https".into());
        }
        let auth = match &config.auth_header {
            None => None,
            Some(line) => {
                let (name, value) = line
                    .split_once(':')
                    .ok_or("the price auth header is `Name: value`")?;
                let name = HeaderName::try_from(name.trim())
                    .map_err(|_| "the price auth header's name is not a header name")?;
                let mut value = HeaderValue::try_from(value.trim())
                    .map_err(|_| "the price auth header's value is not a header value")?;
                value.set_sensitive(true);
                Some((name, value))
            }
        };
        if config.price_pointer.is_empty() {
            return Err(
                "the price's JSON pointer is empty (the whole answer is not a price)".into(),
            );
        }
        for p in [&config.price_pointer, &config.time_pointer] {
            if !p.is_empty() && !p.starts_with('/') {
                return Err(format!("{p}: a JSON pointer starts with /"));
            }
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("crm/", env!("CARGO_PKG_VERSION")))
            // A redirect would carry the key header to wherever it points: none is followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("the price HTTP client: {e}"))?;
        Ok(Self {
            http,
            template: config.url_template,
            auth,
            price_pointer: config.price_pointer,
            time_pointer: config.time_pointer,
            known,
        })
    }

    async fn ask(&self, isin: &Isin) -> Result<Option<Quote>, PriceError> {
        let symbol = self.known.instrument(isin).map(|i| i.symbol);
        if self.template.contains("{symbol}") && symbol.is_none() {
            // The service is asked by symbol and this instrument's is not known.
            return Ok(None);
        }
        let url = fill(
            &self.template,
            isin.as_str(),
            symbol.as_deref().unwrap_or(""),
        );
        let mut request = self.http.get(&url);
        if let Some((name, value)) = &self.auth {
            request = request.header(name.clone(), value.clone());
        }
        let unavailable = |why: String| PriceError::Unavailable(why);
        let asked = Utc::now();
        let mut response = request
            .send()
            .await
            .map_err(|e| unavailable(format!("request failed: {}", e.without_url())))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(unavailable(format!("answered {status}")));
        }
        // A quote is small: an answer larger than this is not read to its end.
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unavailable(format!("reading the answer: {}", e.without_url())))?
        {
            if bytes.len() + chunk.len() > MAX_ANSWER {
                return Err(unavailable(format!("an answer over {MAX_ANSWER} bytes")));
            }
            bytes.extend_from_slice(&chunk);
        }
        let body: Value =
            serde_json::from_slice(&bytes).map_err(|e| unavailable(format!("not JSON: {e}")))?;
        read_quote(&body, &self.price_pointer, &self.time_pointer, asked)
            .map(Some)
            .map_err(unavailable)
    }
}

/// The largest answer read (bytes).
const MAX_ANSWER: usize = 64 * 1024;

/// The template with the instrument filled in (URL-encoded).
fn fill(template: &str, isin: &str, symbol: &str) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect::<String>()
    };
    template
        .replace("{isin}", &encode(isin))
        .replace("{symbol}", &encode(symbol))
}

/// A quote from a service's answer: the price at `price_pointer` (a positive number or
/// decimal string, up to 4 decimals), its time at `time_pointer` (RFC 3339, or a date for
/// that day's close; absent: `asked`).
fn read_quote(
    body: &Value,
    price_pointer: &str,
    time_pointer: &str,
    asked: DateTime<Utc>,
) -> Result<Quote, String> {
    let text = match body.pointer(price_pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(format!("{price_pointer} is not a number")),
        None => return Err(format!("no price at {price_pointer}")),
    };
    let price = domain::values::parse_amount(&text, 4, false)
        .map_err(|e| format!("the price at {price_pointer}: {e}"))?;
    // An empty pointer means the service gives no time (not "the whole answer").
    let time = match time_pointer {
        "" => None,
        p => body.pointer(p),
    };
    let quoted_at = match time {
        None | Some(Value::Null) => asked,
        Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => t.to_utc(),
            Err(_) => {
                let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                    format!("the time at {time_pointer} is neither RFC 3339 nor a date")
                })?;
                // That day's close (15:30 in India), or, for today before the close, the
                // price as of when it was asked.
                day.and_hms_opt(10, 0, 0)
                    .expect("a time")
                    .and_utc()
                    .min(asked)
            }
        },
        Some(_) => return Err(format!("the time at {time_pointer} is not a string")),
    };
    if quoted_at > asked + chrono::Duration::minutes(5) {
        return Err(format!("the time at {time_pointer} is in the future"));
    }
    Ok(Quote {
        price,
        on_date: domain::kyc::india_today(quoted_at),
        quoted_at,
        source: "http".into(),
    })
}

impl PriceProvider for HttpPrices {
    fn latest<'a>(&'a self, isin: &'a Isin) -> BoxFuture<'a, Result<Option<Quote>, PriceError>> {
        Box::pin(self.ask(isin))
    }

    fn instrument(&self, isin: &Isin) -> Option<Instrument> {
        self.known.instrument(isin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn fills_the_template_encoded() {
        assert_eq!(
            fill(
                "https://q.example/v1/{symbol}?isin={isin}",
                "INE002A01018",
                "M&M"
            ),
            "https://q.example/v1/M%26M?isin=INE002A01018"
        );
    }

    #[test]
    fn reads_a_price_and_its_time_by_pointer() {
        let asked = at("2026-12-01T06:00:00Z");
        let body =
            serde_json::json!({"data": {"last": "2450.55", "time": "2026-12-01T05:59:00+00:00"}});
        let q = read_quote(&body, "/data/last", "/data/time", asked).unwrap();
        assert_eq!(q.price.to_string(), "2450.55");
        assert_eq!(q.quoted_at, at("2026-12-01T05:59:00Z"));
        assert_eq!(q.on_date, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        assert_eq!(q.source, "http");
        // A number, no time: the time asked; a date: that day's close.
        let q = read_quote(
            &serde_json::json!({"price": 101.5}),
            "/price",
            "/as_of",
            asked,
        )
        .unwrap();
        assert_eq!((q.price.to_string(), q.quoted_at), ("101.5".into(), asked));
        let q = read_quote(
            &serde_json::json!({"price": "99", "as_of": "2026-11-30"}),
            "/price",
            "/as_of",
            asked,
        )
        .unwrap();
        assert_eq!(q.quoted_at, at("2026-11-30T10:00:00Z"));
        // Today's date before the close: as of when asked (not in the future).
        let q = read_quote(
            &serde_json::json!({"price": "99", "as_of": "2026-12-01"}),
            "/price",
            "/as_of",
            asked,
        )
        .unwrap();
        assert_eq!(q.quoted_at, asked);
        // No time pointer: the time asked.
        let q = read_quote(&serde_json::json!({"price": "99"}), "/price", "", asked).unwrap();
        assert_eq!(q.quoted_at, asked);
    }

    #[test]
    fn refuses_a_configuration_that_cannot_work() {
        let config = |url: &str, price: &str, auth: Option<&str>| HttpQuotes {
            url_template: url.into(),
            auth_header: auth.map(String::from),
            price_pointer: price.into(),
            time_pointer: "/as_of".into(),
            timeout: Duration::from_secs(1),
        };
        let known = FixturePrices::default;
        for (c, why) in [
            (
                config("https://q.example/v1/quote", "/price", None),
                "names neither",
            ),
            (
                config("ftp://q.example/{isin}", "/price", None),
                "http or https",
            ),
            (config("https://q.example/{isin}", "", None), "empty"),
            (
                config("https://q.example/{isin}", "price", None),
                "starts with /",
            ),
            (
                config("https://q.example/{isin}", "/price", Some("no colon")),
                "Name: value",
            ),
        ] {
            let e = HttpPrices::new(c, known()).err().unwrap();
            assert!(e.contains(why), "{e}");
        }
        let secret = config(
            "https://q.example/{isin}?apikey=s3cret",
            "/price",
            Some("X-Api-Key: s3cret"),
        );
        assert!(!format!("{secret:?}").contains("s3cret"));
        assert!(HttpPrices::new(secret, known()).is_ok());
    }

    #[test]
    fn refuses_answers_that_are_not_a_price() {
        let asked = at("2026-12-01T06:00:00Z");
        for (body, why) in [
            (serde_json::json!({}), "no price at /price"),
            (serde_json::json!({"price": true}), "/price is not a number"),
            (serde_json::json!({"price": "-3"}), "the price at /price"),
            (serde_json::json!({"price": "0"}), "the price at /price"),
            (
                serde_json::json!({"price": "1", "as_of": "yesterday"}),
                "neither RFC 3339 nor a date",
            ),
            (
                serde_json::json!({"price": "1", "as_of": "2026-12-02T06:00:00Z"}),
                "in the future",
            ),
        ] {
            let e = read_quote(&body, "/price", "/as_of", asked).unwrap_err();
            assert!(e.contains(why), "{body}: {e}");
        }
    }
}
