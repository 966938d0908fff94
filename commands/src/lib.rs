//! The application layer: one [`WriteSide`] opened once (by the server, the CLI, `crm seed` and
//! `crm bench`) and the use cases that run on it, grouped by what they serve (leads, clients,
//! privacy, users). Use cases take the caller ([`domain::access::Actor`]) and the records they may
//! see, and answer typed errors; they never speak HTTP.

pub mod access;
pub mod capture_keys;
pub mod clients;
mod dice;
pub mod executor;
pub mod generate;
pub mod idempotency;
pub mod investments;
pub mod kyc;
pub mod leads;
pub mod log_store;
pub mod lookups;
pub mod passwords;
pub mod privacy;
pub mod retention;
pub mod seed;
pub mod users;
mod warm;
pub mod webhooks;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use domain::access::PiiAccess;
use domain::client::{Client, ClientServices, DocumentLimits, RetentionPolicy};
use domain::investments::{InvestmentRules, Portfolio, PortfolioServices};
use domain::kyc::{Kyc, KycRules, KycServices};
use domain::lead::{Lead, LeadServices};
use domain::user::{User, UserServices};
use domain::Clock;
use store::privacy::Keyring;
use store::{Db, LogSignal};

/// Portfolio events kept folded in memory between commands (a trade then folds only what was
/// appended since the last; a portfolio of 5,000 trades is about 5,000 of them).
const WARM_PORTFOLIO_EVENTS: usize = 200_000;

pub use executor::{CommandCounters, CommandError, Committed, Executor};
pub use lookups::Lookups;

/// The write side of one process: an executor per aggregate over the one event store, the
/// keyring that seals personal data, and what the use cases read from the read models.
pub struct WriteSide {
    pub db: Db,
    pub keyring: Arc<Keyring>,
    pub signal: LogSignal,
    pub retention: RetentionPolicy,
    pub counters: Arc<CommandCounters>,
    pub lookups: Arc<dyn Lookups>,
    pub leads: Executor<Lead>,
    pub clients: Executor<Client>,
    pub kyc: Executor<Kyc>,
    pub portfolios: Executor<Portfolio>,
    pub users: Executor<User>,
    pub access: Executor<PiiAccess>,
    pub capture_keys: Executor<domain::capture_key::CaptureKey>,
    pub report_packs: Executor<domain::report_pack::ReportPack>,
    pub webhooks: Executor<domain::webhook::WebhookSubscription>,
    /// The lead contact register's writer (see [`leads::contacts`]).
    pub register: leads::contacts::Register,
    /// Failed sign-ins to addresses that are nobody's (see [`users::sign_in::Unknown`]).
    pub unknown_sign_ins: users::sign_in::Unknown,
    /// Where KYC document files are kept (sealed): the database unless configured otherwise.
    pub documents: Arc<dyn store::documents::DocumentStore>,
}

/// The configurable rules the aggregates decide with.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub documents: DocumentLimits,
    pub kyc: KycRules,
    pub investments: InvestmentRules,
    /// Where the client segments start.
    pub segments: domain::client::SegmentThresholds,
}

impl WriteSide {
    /// Keeps document files in `documents` instead of the database.
    pub fn with_documents(mut self, documents: Arc<dyn store::documents::DocumentStore>) -> Self {
        self.documents = documents;
        self
    }

    /// `signal` tells this process's projection runner that the log grew.
    pub fn open(
        db: &Db,
        keyring: Arc<Keyring>,
        signal: LogSignal,
        retention: RetentionPolicy,
        rules: Rules,
        lookups: Arc<dyn Lookups>,
    ) -> Self {
        Self::open_with_clock(
            db,
            keyring,
            signal,
            retention,
            rules,
            lookups,
            Clock::system(),
        )
    }

    /// [`WriteSide::open`] with the aggregates reading `clock` (the demo seed replays a year).
    pub fn open_with_clock(
        db: &Db,
        keyring: Arc<Keyring>,
        signal: LogSignal,
        retention: RetentionPolicy,
        rules: Rules,
        lookups: Arc<dyn Lookups>,
        clock: Clock,
    ) -> Self {
        let counters = Arc::new(CommandCounters::default());
        let appender = Arc::new(store::append::Appender::new(db));
        // The records whose commands need no services and whose events no upcasters (a macro:
        // each is an executor of another aggregate).
        macro_rules! bare {
            () => {
                Executor::new(
                    db,
                    (),
                    signal.clone(),
                    keyring.clone(),
                    Vec::new(),
                    counters.clone(),
                    appender.clone(),
                )
            };
        }
        Self {
            leads: Executor::new(
                db,
                LeadServices {
                    clock: clock.clone(),
                },
                signal.clone(),
                keyring.clone(),
                domain::lead::upcasters(),
                counters.clone(),
                appender.clone(),
            ),
            clients: Executor::new(
                db,
                ClientServices {
                    clock: clock.clone(),
                    retention,
                    documents: rules.documents,
                    segments: rules.segments,
                },
                signal.clone(),
                keyring.clone(),
                domain::client::upcasters(),
                counters.clone(),
                appender.clone(),
            ),
            kyc: Executor::new(
                db,
                KycServices {
                    clock: clock.clone(),
                    rules: rules.kyc,
                },
                signal.clone(),
                keyring.clone(),
                domain::kyc::upcasters(),
                counters.clone(),
                appender.clone(),
            ),
            portfolios: Executor::new(
                db,
                PortfolioServices {
                    clock: clock.clone(),
                    rules: rules.investments,
                },
                signal.clone(),
                keyring.clone(),
                domain::investments::upcasters(),
                counters.clone(),
                appender.clone(),
            )
            .keep_warm(WARM_PORTFOLIO_EVENTS),
            users: Executor::new(
                db,
                UserServices { clock },
                signal.clone(),
                keyring.clone(),
                Vec::new(),
                counters.clone(),
                appender.clone(),
            ),
            access: bare!(),
            capture_keys: bare!(),
            report_packs: bare!(),
            webhooks: bare!(),
            register: leads::contacts::Register::new(db),
            unknown_sign_ins: Default::default(),
            documents: store::documents::open(db, None).expect("the database document store"),
            db: db.clone(),
            keyring,
            signal,
            retention,
            counters,
            lookups,
        }
    }
}
