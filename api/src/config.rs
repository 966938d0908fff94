//! Settings, read once at start-up from flags with environment fallbacks.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use domain::client::RetentionPolicy;
use domain::values::RetentionPeriod;

/// Where the data lives; every subcommand takes these.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Directory for the embedded store and key files.
    #[arg(long, env = "CRM_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// `postgres://…` for Postgres; default: a SQLite file `crm.db` in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Connections to the store at most (default: 32 on Postgres, 8 on SQLite).
    #[arg(
        long,
        env = "CRM_DB_POOL_SIZE",
        global = true,
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    pub db_pool_size: Option<u32>,
    /// The master key that wraps every data subject's key (64 hex digits); default: the file
    /// `master.key` in the data directory, generated when missing.
    #[arg(long, env = "CRM_MASTER_KEY", global = true, hide_env_values = true)]
    pub master_key: Option<String>,
    /// Where KYC document files are kept, sealed: `database` (the default) or
    /// `s3://bucket/prefix` on any S3-compatible store (endpoint, region and credentials from
    /// `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`).
    #[arg(long, env = "CRM_DOCUMENT_STORE", global = true)]
    pub document_store: Option<String>,
    /// Former master keys (comma-separated), still accepted for unwrapping until
    /// `crm keys rotate` has re-wrapped every data key.
    #[arg(
        long,
        env = "CRM_PREVIOUS_MASTER_KEYS",
        global = true,
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub previous_master_keys: Vec<String>,
    /// The key that signs audit ledger checkpoints (ed25519 seed, 64 hex digits); default: the
    /// file `audit-signing.key` in the data directory, generated for the SQLite store only.
    #[arg(
        long,
        env = "CRM_AUDIT_SIGNING_KEY",
        global = true,
        hide_env_values = true
    )]
    pub audit_signing_key: Option<String>,
    /// How long a client's records are kept after the relationship ends (SEBI: 8 years);
    /// `8y` or a number of days such as `90d`.
    #[arg(long, env = "CRM_RETENTION_CLIENT_RECORDS", default_value = "8y", global = true, value_parser = retention_period)]
    pub retention_client_records: RetentionPeriod,
    /// How long KYC documents are kept after the relationship ends (PMLA: 5 years).
    #[arg(long, env = "CRM_RETENTION_KYC_DOCUMENTS", default_value = "5y", global = true, value_parser = retention_period)]
    pub retention_kyc_documents: RetentionPeriod,
    /// Lead score weights replacing the defaults, `name=points` comma-separated (e.g.
    /// `referral=25,qualified=30,recency=15,half_life_days=7`); see `GET /api/leads/{id}/score`.
    /// A change rebuilds the leads read model.
    #[arg(long, env = "CRM_SCORE_WEIGHTS", default_value = "", global = true, value_parser = score_weights)]
    pub score_weights: domain::lead::score::ScoreWeights,
    /// How long an active account may go without an interaction or trade before the dormancy
    /// step marks it inactive: `2y` or a number of days such as `365d`.
    #[arg(long, env = "CRM_DORMANT_AFTER", default_value = "2y", global = true, value_parser = retention_period)]
    pub dormant_after: RetentionPeriod,
    /// Where client segments start by investment capacity (the larger of declared net worth
    /// and assets under management), INR, `name=amount` comma-separated: default
    /// `affluent=1000000,hni=10000000,ultra_hni=50000000`. The segment review moves clients
    /// to new thresholds.
    #[arg(long, env = "CRM_SEGMENT_THRESHOLDS", default_value = "", global = true, value_parser = segment_thresholds)]
    pub segment_thresholds: domain::client::SegmentThresholds,
    /// Document files one client may hold (purged ones do not count).
    #[arg(
        long,
        env = "CRM_MAX_CLIENT_DOCUMENTS",
        default_value_t = 50,
        global = true
    )]
    pub max_client_documents: usize,
    /// KYC items required per kind of client, replacing the defaults for the kinds named:
    /// `company=pan_card+address_proof+bank_proof;trust=pan_card+bank_proof` (items:
    /// pan_card, address_proof, photograph, signature, bank_proof, income_proof,
    /// in_person_verification).
    #[arg(long, env = "CRM_KYC_REQUIRED", default_value = "", global = true, value_parser = kyc_required)]
    pub kyc_required: domain::kyc::RequiredItems,
    /// Years between re-KYCs for high, medium and low risk clients.
    #[arg(long, env = "CRM_REKYC_YEARS", default_value = "2,8,10", global = true, value_parser = rekyc_years)]
    pub rekyc_years: domain::kyc::RekycIntervals,
    /// Bytes of document files one client may hold.
    #[arg(long, env = "CRM_MAX_CLIENT_DOCUMENT_BYTES", default_value_t = 100 * 1024 * 1024, global = true)]
    pub max_client_document_bytes: u64,
    /// Months a holding of listed equity, ETFs or equity funds is kept before its gain is
    /// long-term (held more than this).
    #[arg(long, env = "CRM_LONG_TERM_MONTHS_EQUITY", default_value_t = 12, global = true, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub long_term_months_equity: u32,
    /// The same for debt and hybrid funds and bonds.
    #[arg(long, env = "CRM_LONG_TERM_MONTHS_OTHER", default_value_t = 24, global = true, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub long_term_months_other: u32,
    /// A buy above the client's risk profile: `override` (taken with an acknowledged reason)
    /// or `refuse`.
    #[arg(long, env = "CRM_SUITABILITY", default_value = "override", global = true, value_parser = ["override", "refuse"])]
    pub suitability: String,
}

fn retention_period(s: &str) -> Result<RetentionPeriod, String> {
    RetentionPeriod::parse(s).map_err(|e| e.message)
}

fn score_weights(s: &str) -> Result<domain::lead::score::ScoreWeights, String> {
    domain::lead::score::ScoreWeights::parse(s)
}

fn segment_thresholds(s: &str) -> Result<domain::client::SegmentThresholds, String> {
    domain::client::SegmentThresholds::parse(s).map_err(|e| e.message)
}

fn kyc_required(s: &str) -> Result<domain::kyc::RequiredItems, String> {
    domain::kyc::RequiredItems::with_overrides(s)
}

fn rekyc_years(s: &str) -> Result<domain::kyc::RekycIntervals, String> {
    domain::kyc::RekycIntervals::parse(s)
}

impl StoreArgs {
    /// How long a holding is kept before its gain is long-term (the write side's and the
    /// portfolio read model's).
    pub fn holding_periods(&self) -> domain::investments::HoldingPeriods {
        self.rules().investments.holding
    }

    /// The configurable rules of the write side: document limits, KYC, investments.
    pub fn rules(&self) -> commands::Rules {
        use domain::investments::{HoldingPeriods, InvestmentRules, Suitability};
        commands::Rules {
            documents: domain::client::DocumentLimits {
                files: self.max_client_documents,
                bytes: self.max_client_document_bytes,
            },
            kyc: domain::kyc::KycRules {
                required: self.kyc_required.clone(),
                intervals: self.rekyc_years,
            },
            segments: self.segment_thresholds,
            investments: InvestmentRules {
                holding: HoldingPeriods {
                    equity_months: self.long_term_months_equity,
                    other_months: self.long_term_months_other,
                },
                suitability: match self.suitability.as_str() {
                    "refuse" => Suitability::Refuse,
                    _ => Suitability::OverrideAllowed,
                },
            },
        }
    }

    /// The retention policy per kind of record.
    pub fn retention(&self) -> RetentionPolicy {
        RetentionPolicy {
            client_records: self.retention_client_records,
            kyc_documents: self.retention_kyc_documents,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port and logs it).
    #[arg(long, env = "CRM_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// The secret access tokens are signed with (at least 32 characters). Required with
    /// Postgres (or the file `jwt.key` in the data directory); generated for SQLite.
    #[arg(long, env = "CRM_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Login and refresh attempts allowed per client address per minute.
    #[arg(long, env = "CRM_AUTH_RATE_PER_MINUTE", default_value_t = 30)]
    pub auth_rate_per_minute: u32,
    /// Web client origins allowed to call the API from a browser (comma-separated, e.g.
    /// `https://crm.broker.example`); none by default.
    #[arg(long, env = "CRM_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// `/ready` fails while a projection is more than this many events behind the log.
    #[arg(long, env = "CRM_READY_MAX_LAG", default_value_t = 1000)]
    pub ready_max_lag: i64,
    /// Whether this process runs projections and scheduled jobs (under their leases, on
    /// Postgres). `false`: it serves the API (and sends notifications) only; reads follow the
    /// checkpoints other processes move.
    #[arg(long, env = "CRM_RUN_PROJECTIONS", default_value_t = true, action = clap::ArgAction::Set)]
    pub run_projections: bool,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "CRM_MAX_BODY", default_value_t = 64 * 1024)]
    pub max_body: usize,
    /// Largest document upload accepted (KYC files), in bytes.
    #[arg(long, env = "CRM_MAX_UPLOAD", default_value_t = 5 * 1024 * 1024)]
    pub max_upload: usize,
    /// Largest lead import file accepted (`POST /api/leads/import`), in bytes.
    #[arg(long, env = "CRM_MAX_IMPORT", default_value_t = 32 * 1024 * 1024)]
    pub max_import: usize,
    /// How long a query with `min_position` waits for the read model, in milliseconds.
    #[arg(long, env = "CRM_READ_WAIT_MS", default_value_t = 5000)]
    pub read_wait_ms: u64,
    /// How often the KYC alert run looks for expiring documents and re-KYC falling due, in
    /// seconds (it also runs at start).
    #[arg(long, env = "CRM_KYC_ALERT_INTERVAL", default_value_t = 3600)]
    pub kyc_alert_interval: u64,
    /// How often the dormancy step looks for accounts without recent activity, in seconds (it
    /// first runs a minute after start).
    #[arg(long, env = "CRM_DORMANCY_INTERVAL", default_value_t = 3600)]
    pub dormancy_interval: u64,
    /// How often the segment review looks at every open client's segment, in seconds (it
    /// first runs two minutes after start).
    #[arg(long, env = "CRM_SEGMENT_INTERVAL", default_value_t = 3600)]
    pub segment_interval: u64,
    /// How often the server checks that last month's compliance pack exists, generating it
    /// when it does not, in seconds (first two minutes after start); 0: never (generate with
    /// `crm report compliance --month YYYY-MM` or `POST /api/reports/packs`).
    #[arg(long, env = "CRM_COMPLIANCE_PACK_INTERVAL", default_value_t = 3600)]
    pub compliance_pack_interval: u64,
    /// How many days ahead KYC alerts warn.
    #[arg(long, env = "CRM_KYC_ALERT_WINDOW_DAYS", default_value_t = 30)]
    pub kyc_alert_window_days: u32,
    /// Leads one capture key may send per minute (`POST /api/public/leads`).
    #[arg(long, env = "CRM_CAPTURE_RATE_PER_KEY", default_value_t = 120)]
    pub capture_rate_per_key: u32,
    /// Leads one client address may send per minute through capture keys.
    #[arg(long, env = "CRM_CAPTURE_RATE_PER_ADDRESS", default_value_t = 10)]
    pub capture_rate_per_address: u32,
    /// Document uploads, and KYC decisions, one user may make per minute (each).
    #[arg(long, env = "CRM_WORK_RATE_PER_MINUTE", default_value_t = 30)]
    pub work_rate_per_minute: u32,
    /// A JSON file of KRA/CKYC answers by PAN (the shape of `fixtures/kyc-registries.json`);
    /// default: the fixtures built in.
    #[arg(long, env = "CRM_KYC_REGISTRY_FIXTURES")]
    pub kyc_registry_fixtures: Option<PathBuf>,
    /// How long a document link stays valid, in seconds (10 to 3600).
    #[arg(long, env = "CRM_DOCUMENT_LINK_TTL", default_value_t = 300)]
    pub document_link_ttl: u64,
    /// A JSON file of prices (the shape of `fixtures/prices.json`: instruments, daily closes,
    /// intraday snapshots); default: the demo prices built in.
    #[arg(long, env = "CRM_PRICE_FIXTURES")]
    pub price_fixtures: Option<PathBuf>,
    /// Seconds a quote is reused before the provider is asked again.
    #[arg(long, env = "CRM_PRICE_TTL", default_value_t = 60)]
    pub price_ttl: u64,
    /// Seconds after which a quote no longer counts as current (it is shown marked stale).
    #[arg(long, env = "CRM_PRICE_STALE_AFTER", default_value_t = 900)]
    pub price_stale_after: i64,
    /// A quote service to ask for prices instead of the fixture file, by URL template with
    /// `{isin}` and/or `{symbol}` (e.g. `https://quotes.example/v1/quote?isin={isin}`).
    #[arg(long, env = "CRM_PRICE_URL")]
    pub price_url: Option<String>,
    /// A header sent to the quote service, `Name: value` (e.g. `Authorization: Bearer …`).
    #[arg(long, env = "CRM_PRICE_AUTH_HEADER", hide_env_values = true)]
    pub price_auth_header: Option<String>,
    /// Where the price is in the quote service's JSON answer (a JSON pointer).
    #[arg(long, env = "CRM_PRICE_FIELD", default_value = "/price")]
    pub price_field: String,
    /// Where the quote's time is (RFC 3339, or a date for a close); absent: when asked.
    #[arg(long, env = "CRM_PRICE_TIME_FIELD", default_value = "/as_of")]
    pub price_time_field: String,
    /// Milliseconds to wait for the quote service (a slower answer counts as a failure).
    #[arg(long, env = "CRM_PRICE_TIMEOUT_MS", default_value_t = 3000)]
    pub price_timeout_ms: u64,
    /// The SMTP server notifications are e-mailed through: `smtp://host:port` (plain, for a
    /// local relay), `smtp://user:password@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:password@host:465` (TLS). Unset: messages are decided and wait in the
    /// outbox (`GET /api/notifications`).
    #[arg(long, env = "CRM_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The `From` of notification e-mails.
    #[arg(
        long,
        env = "CRM_SMTP_FROM",
        default_value = "Client Services <no-reply@broker.example>"
    )]
    pub smtp_from: String,
    /// The broker's name, as notifications sign off.
    #[arg(long, env = "CRM_BROKER_NAME", default_value = "Client Services")]
    pub broker_name: String,
    /// How often the outbox is looked at for messages due, in milliseconds.
    #[arg(long, env = "CRM_NOTIFY_INTERVAL_MS", default_value_t = 2000)]
    pub notify_interval_ms: u64,
    /// Attempts at a message before it is a dead letter.
    #[arg(long, env = "CRM_NOTIFY_MAX_ATTEMPTS", default_value_t = 8)]
    pub notify_max_attempts: i64,
    /// Hours after its decision (or an admin's retry) a message is no longer tried.
    #[arg(long, env = "CRM_NOTIFY_MAX_AGE_HOURS", default_value_t = 24)]
    pub notify_max_age_hours: i64,
    /// The first retry's delay in milliseconds; each next one doubles (up to an hour), plus
    /// up to a quarter at random.
    #[arg(long, env = "CRM_NOTIFY_BACKOFF_MS", default_value_t = 30_000)]
    pub notify_backoff_ms: i64,
    /// Seconds a sender's claim on a message holds: a message claimed by a sender that died
    /// is taken over after this.
    #[arg(long, env = "CRM_NOTIFY_LEASE_SECS", default_value_t = 300)]
    pub notify_lease_secs: i64,
    /// Days a notification sent, cancelled or dead is listed before it is purged (counted
    /// from its decision, or an admin's retry); at least 7.
    #[arg(long, env = "CRM_NOTIFY_KEEP_DAYS", default_value_t = 90)]
    pub notify_keep_days: i64,
    /// When each day (`HH:MM`, Indian time) agents are reminded of their follow-ups due that
    /// day and overdue (once per agent and day; at start too, once the time has passed).
    #[arg(long, env = "CRM_REMINDER_TIME", default_value = "09:00")]
    pub reminder_time: String,
    /// The SMS gateway, as the URL each message is posted to, with `{to}` (E.164 without the
    /// `+`), `{text}`, `{sender}`, `{template_id}` (the DLT template id) and `{id}` (the
    /// message's id) filled in, URL-encoded; e.g.
    /// `https://sms.gateway.example/v1/send?to={to}&sender={sender}&dlt={template_id}&ref={id}&text={text}`.
    /// Unset: SMS messages wait in the outbox.
    #[arg(long, env = "CRM_SMS_URL", hide_env_values = true)]
    pub sms_url: Option<String>,
    /// A header sent to the SMS gateway, `Name: value` (e.g. `Authorization: Bearer …`).
    #[arg(long, env = "CRM_SMS_AUTH_HEADER", hide_env_values = true)]
    pub sms_auth_header: Option<String>,
    /// The DLT-registered sender id (header) SMS go out under.
    #[arg(long, env = "CRM_SMS_SENDER", default_value = "BRKCRM")]
    pub sms_sender: String,
    /// When promotional SMS are held back, `HH:MM-HH:MM` in Indian time (across midnight when
    /// the end comes first; TRAI's 21:00 to 09:00 by default), or `off`. A marketing SMS due in
    /// them waits for their end; transactional SMS go at any hour.
    #[arg(long, env = "CRM_SMS_QUIET_HOURS", default_value = "21:00-09:00")]
    pub sms_quiet_hours: String,
    /// A token `/metrics` and `/ready` ask for (`Authorization: Bearer <token>`); unset, they
    /// answer anyone who reaches the server (`/health` always does).
    #[arg(long, env = "CRM_OPS_TOKEN", hide_env_values = true)]
    pub ops_token: Option<String>,
    /// Seconds between scheduled backups of the embedded SQLite store (the first when this
    /// long has passed since the newest one, at once when there is none);
    /// 0: none. Ignored on Postgres (see the README).
    #[arg(long, env = "CRM_BACKUP_INTERVAL_SECS", default_value_t = 86_400)]
    pub backup_interval_secs: u64,
    /// Where scheduled backups go (default `<data dir>/backups`; better another disk).
    #[arg(long, env = "CRM_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,
    /// How many scheduled backups are kept (the oldest go).
    #[arg(long, env = "CRM_BACKUP_KEEP", default_value_t = 7)]
    pub backup_keep: usize,
    /// Seconds a connection may stay silent (nothing read or written) before it is closed:
    /// a client that sends nothing, stops mid-headers or declares a body it never sends.
    /// Longer than the request timeout (raised to it and 1 s more otherwise).
    #[arg(long, env = "CRM_IDLE_TIMEOUT_SECS", default_value_t = 75)]
    pub idle_timeout_secs: u64,
    /// Seconds within which a request is answered (its body read included), else `503`.
    #[arg(long, env = "CRM_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    pub request_timeout_secs: u64,
    /// Connections held at once; more wait in the listen backlog until one closes.
    #[arg(long, env = "CRM_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Let webhooks reach private, loopback and link-local addresses and plain `http://`
    /// (a receiver on the same machine or network, for development); off, a webhook URL must
    /// be `https://` to a public address, checked when subscribed and at each delivery.
    #[arg(long, env = "CRM_WEBHOOK_ALLOW_PRIVATE", default_value_t = false)]
    pub webhook_allow_private: bool,
}

impl ServeArgs {
    /// The notification sender's settings, or what is wrong with them.
    pub fn notify(&self) -> Result<crate::notify::Settings, String> {
        Ok(crate::notify::Settings {
            smtp_url: self.smtp_url.clone().filter(|u| !u.trim().is_empty()),
            sms_url: self.sms_url.clone().filter(|u| !u.trim().is_empty()),
            sms_auth_header: self.sms_auth_header.clone(),
            sms_sender: self.sms_sender.clone(),
            sms_quiet_hours: crate::notify::sms::QuietHours::parse(&self.sms_quiet_hours)?,
            webhook_allow_private: self.webhook_allow_private,
            from: self.smtp_from.clone(),
            broker: self.broker_name.clone(),
            every: std::time::Duration::from_millis(self.notify_interval_ms.clamp(50, 3_600_000)),
            max_attempts: self.notify_max_attempts.clamp(1, 100),
            max_age: chrono::Duration::hours(self.notify_max_age_hours.clamp(1, 24 * 30)),
            backoff: chrono::Duration::milliseconds(self.notify_backoff_ms.clamp(10, 3_600_000)),
            lease: chrono::Duration::seconds(self.notify_lease_secs.clamp(1, 86_400)),
            keep: chrono::Duration::days(self.notify_keep_days.clamp(7, 36_500)),
        })
    }
}

/// Everything the server needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub store: StoreArgs,
    pub serve: ServeArgs,
}

impl Config {
    /// Settings for a server on a free port with its own SQLite file in `data_dir` (tests, bench).
    pub fn ephemeral(data_dir: PathBuf, database_url: Option<String>) -> Self {
        Self {
            store: StoreArgs {
                data_dir,
                database_url,
                db_pool_size: None,
                master_key: None,
                document_store: None,
                previous_master_keys: Vec::new(),
                audit_signing_key: None,
                retention_client_records: RetentionPeriod::Years(8),
                dormant_after: RetentionPeriod::Years(2),
                segment_thresholds: Default::default(),
                score_weights: Default::default(),
                retention_kyc_documents: RetentionPeriod::Years(5),
                kyc_required: Default::default(),
                rekyc_years: Default::default(),
                max_client_documents: 50,
                max_client_document_bytes: 100 * 1024 * 1024,
                long_term_months_equity: 12,
                long_term_months_other: 24,
                suitability: "override".into(),
            },
            serve: ServeArgs {
                addr: "127.0.0.1:0".parse().expect("valid address"),
                jwt_secret: None,
                auth_rate_per_minute: 30,
                cors_origins: Vec::new(),
                ready_max_lag: 1000,
                run_projections: true,
                max_body: 64 * 1024,
                max_upload: 5 * 1024 * 1024,
                max_import: 32 * 1024 * 1024,
                read_wait_ms: 5000,
                kyc_alert_interval: 3600,
                dormancy_interval: 3600,
                segment_interval: 3600,
                compliance_pack_interval: 3600,
                kyc_alert_window_days: 30,
                work_rate_per_minute: 30,
                capture_rate_per_key: 120,
                capture_rate_per_address: 10,
                kyc_registry_fixtures: None,
                document_link_ttl: 300,
                price_fixtures: None,
                price_ttl: 60,
                price_stale_after: 900,
                price_url: None,
                price_auth_header: None,
                price_field: "/price".into(),
                price_time_field: "/as_of".into(),
                price_timeout_ms: 3000,
                smtp_url: None,
                smtp_from: "Client Services <no-reply@broker.example>".into(),
                broker_name: "Client Services".into(),
                notify_interval_ms: 2000,
                notify_max_attempts: 8,
                notify_max_age_hours: 24,
                notify_backoff_ms: 30_000,
                notify_lease_secs: 300,
                reminder_time: "09:00".into(),
                sms_url: None,
                sms_auth_header: None,
                sms_sender: "BRKCRM".into(),
                sms_quiet_hours: "21:00-09:00".into(),
                ops_token: None,
                backup_interval_secs: 0,
                backup_dir: None,
                backup_keep: 7,
                idle_timeout_secs: 75,
                request_timeout_secs: 60,
                max_connections: 1024,
                notify_keep_days: 90,
                webhook_allow_private: false,
            },
        }
    }
}
