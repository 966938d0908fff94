//! SMS through an HTTP gateway, the shape Indian gateways take: a URL with the number, the
//! text, the DLT-registered sender id and template id (TRAI) filled in, an auth header, and
//! the message's id as its reference (the same at every attempt, so the gateway can drop a
//! repeat). Promotional SMS are not sent in the quiet hours, by default 21:00 to 09:00 Indian
//! time.

use chrono::{DateTime, Duration, NaiveTime, Utc};

use futures::future::BoxFuture;

use super::Outcome;

/// Where SMS go: a provider takes one message (the number as `91` and ten digits, the text,
/// its DLT template id and the message's id as its reference, the same at every attempt)
/// and says what became of it.
pub trait Provider: Send + Sync {
    fn send<'a>(
        &'a self,
        to: &'a str,
        text: &'a str,
        template_id: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Outcome>;
}

/// A gateway over HTTP: where and how messages are posted.
#[derive(Debug, Clone)]
pub struct Gateway {
    url: String,
    auth: Option<(String, String)>,
    sender: String,
    http: reqwest::Client,
}

impl Gateway {
    /// The gateway of `url` (a template, see `CRM_SMS_URL`), its auth header (`Name: value`)
    /// and sender id, reached with `http`; or what is wrong with them.
    pub fn new(
        url: &str,
        auth: Option<&str>,
        sender: &str,
        http: reqwest::Client,
    ) -> Result<Self, String> {
        let sample = fill(url, "919800000000", "text", sender, "1", "id");
        match reqwest::Url::parse(&sample) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => return Err("CRM_SMS_URL: an http(s) URL template".into()),
        }
        if !url.contains("{to}") || !url.contains("{text}") {
            return Err("CRM_SMS_URL: the template needs {to} and {text}".into());
        }
        let auth = match auth.map(str::trim).filter(|a| !a.is_empty()) {
            None => None,
            Some(a) => {
                let (name, value) = a
                    .split_once(':')
                    .ok_or("CRM_SMS_AUTH_HEADER: `Name: value`")?;
                Some((name.trim().to_string(), value.trim().to_string()))
            }
        };
        Ok(Self {
            url: url.to_string(),
            auth,
            sender: sender.to_string(),
            http,
        })
    }

    /// Posts `text` to `to` (E.164 digits) under the DLT template `template_id`, `id` as its
    /// reference.
    async fn post(&self, to: &str, text: &str, template_id: &str, id: &str) -> Outcome {
        let url = fill(&self.url, to, text, &self.sender, template_id, id);
        let mut request = self.http.post(url).header("x-crm-message-id", id);
        if let Some((name, value)) = &self.auth {
            request = request.header(name.as_str(), value.as_str());
        }
        match request.send().await {
            Ok(r) if r.status().is_success() => Outcome::Sent,
            // The gateway refuses the message itself (a number or a template it will not
            // take): trying again changes nothing.
            Ok(r) if r.status().is_client_error() && !matches!(r.status().as_u16(), 408 | 429) => {
                Outcome::Cancelled(format!(
                    "the SMS gateway refused it ({})",
                    r.status().as_u16()
                ))
            }
            Ok(r) => Outcome::Failed(format!("the SMS gateway answered {}", r.status().as_u16())),
            // Never the URL: it holds the number and the text.
            Err(e) if e.is_timeout() => {
                Outcome::Failed("the SMS gateway did not answer in time".into())
            }
            Err(_) => Outcome::Failed("the SMS gateway could not be reached".into()),
        }
    }
}

impl Provider for Gateway {
    fn send<'a>(
        &'a self,
        to: &'a str,
        text: &'a str,
        template_id: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Outcome> {
        Box::pin(self.post(to, text, template_id, id))
    }
}

/// The URL template with its values in, each URL-encoded.
fn fill(url: &str, to: &str, text: &str, sender: &str, template_id: &str, id: &str) -> String {
    let enc = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    url.replace("{to}", &enc(to))
        .replace("{text}", &enc(text))
        .replace("{sender}", &enc(sender))
        .replace("{template_id}", &enc(template_id))
        .replace("{id}", &enc(id))
}

/// An Indian mobile number as gateways take it (`91` and ten digits), from a stored E.164
/// number; `None` for anything else.
pub fn number(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let national = match digits.len() {
        12 if digits.starts_with("91") => &digits[2..],
        10 => &digits[..],
        _ => return None,
    };
    national
        .starts_with(['6', '7', '8', '9'])
        .then(|| format!("91{national}"))
}

/// When promotional SMS may not go, in Indian time: from `start` to `end` (across midnight
/// when `end` comes first). TRAI's rule, the default, is 21:00 to 09:00.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuietHours {
    start: NaiveTime,
    end: NaiveTime,
}

impl Default for QuietHours {
    fn default() -> Self {
        Self {
            start: NaiveTime::from_hms_opt(21, 0, 0).expect("21:00"),
            end: NaiveTime::from_hms_opt(9, 0, 0).expect("09:00"),
        }
    }
}

impl QuietHours {
    /// `HH:MM-HH:MM` (Indian time); `off` for none.
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let wrong = || {
            format!("CRM_SMS_QUIET_HOURS must be HH:MM-HH:MM (Indian time) or off, not {text:?}")
        };
        let (start, end) = text.split_once('-').ok_or_else(wrong)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| wrong());
        let (start, end) = (time(start)?, time(end)?);
        if start == end {
            return Err(wrong());
        }
        Ok(Some(Self { start, end }))
    }

    /// Whether every minute TRAI keeps quiet (21:00 to 09:00 Indian time) is quiet here too.
    pub fn covers_trai(&self) -> bool {
        let trai = Self::default();
        let midnight = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .expect("a date")
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            - Duration::minutes(330);
        (0..24 * 60)
            .map(|m| midnight + Duration::minutes(m))
            .all(|t| trai.until(t).is_none() || self.until(t).is_some())
    }

    /// When a promotional SMS may go, if not `now`: the end of the quiet hours `now` is in.
    pub fn until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let ist = Duration::minutes(330);
        let local = now + ist;
        let time = local.time();
        let today = local.date_naive();
        let day = if self.start < self.end {
            // Within one day (e.g. 13:00-14:00).
            (self.start..self.end).contains(&time).then_some(today)
        } else if time >= self.start {
            Some(today + Duration::days(1))
        } else if time < self.end {
            Some(today)
        } else {
            None
        }?;
        Some(day.and_time(self.end).and_utc() - ist)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http() -> reqwest::Client {
        reqwest::Client::new()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn promotional_messages_wait_for_nine_in_the_morning_indian_time() {
        // 20:59 IST: still allowed; 21:00 IST: the next morning; 08:59 IST: that morning.
        let quiet_until = |now| QuietHours::default().until(now);
        assert_eq!(quiet_until(utc("2026-12-03T15:29:00Z")), None);
        assert_eq!(
            quiet_until(utc("2026-12-03T15:30:00Z")),
            Some(utc("2026-12-04T03:30:00Z"))
        );
        assert_eq!(
            quiet_until(utc("2026-12-03T20:00:00Z")),
            Some(utc("2026-12-04T03:30:00Z"))
        );
        assert_eq!(
            quiet_until(utc("2026-12-04T03:29:00Z")),
            Some(utc("2026-12-04T03:30:00Z"))
        );
        assert_eq!(quiet_until(utc("2026-12-04T03:30:00Z")), None);
    }

    #[test]
    fn quiet_hours_are_configured_within_a_day_or_across_midnight_or_off() {
        let within = QuietHours::parse("13:00-14:30").unwrap().unwrap();
        // 12:59 and 14:30 IST are outside; 13:00 waits for 14:30 the same day.
        assert_eq!(within.until(utc("2026-12-03T07:29:00Z")), None);
        assert_eq!(
            within.until(utc("2026-12-03T07:30:00Z")),
            Some(utc("2026-12-03T09:00:00Z"))
        );
        assert_eq!(within.until(utc("2026-12-03T09:00:00Z")), None);
        assert_eq!(
            QuietHours::parse(" 21:00 - 09:00 ").unwrap(),
            Some(QuietHours::default())
        );
        assert_eq!(QuietHours::parse("OFF").unwrap(), None);
        assert!(QuietHours::default().covers_trai());
        assert!(QuietHours::parse("20:30-09:30")
            .unwrap()
            .unwrap()
            .covers_trai());
        assert!(!within.covers_trai());
        assert!(!QuietHours::parse("22:00-09:00")
            .unwrap()
            .unwrap()
            .covers_trai());
        for wrong in [
            "",
            "21:00",
            "21-09",
            "25:00-09:00",
            "09:00-09:00",
            "9pm-9am",
        ] {
            assert!(QuietHours::parse(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn numbers_are_indian_mobiles_with_the_country_code() {
        assert_eq!(number("+919820011223").as_deref(), Some("919820011223"));
        assert_eq!(number("98200 11223").as_deref(), Some("919820011223"));
        assert_eq!(number("+91 22 2345 6789"), None, "a landline");
        assert_eq!(number("+14155550100"), None);
        assert_eq!(number(""), None);
    }

    #[test]
    fn the_url_template_is_filled_encoded_and_checked() {
        let url = fill(
            "https://sms.example/send?to={to}&text={text}&s={sender}&t={template_id}&r={id}",
            "919820011223",
            "KYC & more: 50% done",
            "BRKCRM",
            "1107",
            "abc",
        );
        assert_eq!(
            url,
            "https://sms.example/send?to=919820011223&text=KYC+%26+more%3A+50%25+done&s=BRKCRM&t=1107&r=abc"
        );
        assert!(Gateway::new("ftp://x/{to}/{text}", None, "S", http()).is_err());
        assert!(Gateway::new("https://x/send?to={to}", None, "S", http()).is_err());
        assert!(Gateway::new(
            "https://x/send?to={to}&m={text}",
            Some("no colon"),
            "S",
            http()
        )
        .is_err());
        assert!(Gateway::new(
            "https://x/send?to={to}&m={text}",
            Some("Authorization: Bearer t"),
            "S",
            http()
        )
        .is_ok());
    }
}
