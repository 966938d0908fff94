//! The `crm` binary's library: configuration, the HTTP API (poem-openapi), problem+json errors,
//! and the CLI subcommands.

// Handlers return `Result<_, ApiError>`; the error is a whole problem document answered once per
// request, so its size is not worth boxing for.
#![allow(clippy::result_large_err)]

pub mod audit;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod clients;
pub mod config;
pub mod connections;
pub mod contract;
pub mod dashboard;
pub mod dto;
pub mod http;
pub mod investments;
pub mod kyc;
pub mod leads;
pub mod marketing;
pub mod notify;
pub mod ops;
pub mod policy;
pub mod privacy;
pub mod problem;
pub mod reports;
pub mod routes;
pub mod server;
pub mod spreadsheet;
pub mod tools;
pub mod users;

/// Every group of endpoints the document and the server serve (a new aggregate's endpoints
/// join here).
pub type Apis = (
    leads::LeadsApi,
    leads::PipelineApi,
    (clients::ClientsApi, clients::ClientWorkApi),
    clients::DocumentsApi,
    kyc::KycApi,
    kyc::KycReviewApi,
    investments::InvestmentsApi,
    (
        reports::ReportsApi,
        dashboard::DashboardApi,
        reports::pack::PacksApi,
    ),
    marketing::MarketingApi,
    leads::FollowUpsApi,
    privacy::PrivacyApi,
    users::AuthApi,
    users::UsersApi,
    audit::AuditApi,
    (
        ops::OpsApi,
        notify::api::NotificationsApi,
        notify::webhook::WebhooksApi,
    ),
    (
        leads::IntakeApi,
        leads::DuplicatesApi,
        leads::ImportApi,
        leads::MergeApi,
        leads::ClientDuplicatesApi,
    ),
);

/// The OpenAPI service: every endpoint with the document's header.
pub fn openapi(state: http::State) -> poem_openapi::OpenApiService<Apis, ()> {
    use audit::AuditApi;
    use leads::{FollowUpsApi, LeadsApi, PipelineApi};
    use ops::OpsApi;
    use privacy::PrivacyApi;
    use users::{AuthApi, UsersApi};
    poem_openapi::OpenApiService::new(
        (
            LeadsApi {
                state: state.clone(),
            },
            PipelineApi {
                leads: LeadsApi {
                    state: state.clone(),
                },
            },
            (
                clients::ClientsApi {
                    state: state.clone(),
                },
                clients::ClientWorkApi {
                    state: state.clone(),
                },
            ),
            clients::DocumentsApi {
                state: state.clone(),
            },
            kyc::KycApi {
                state: state.clone(),
            },
            kyc::KycReviewApi {
                state: state.clone(),
            },
            investments::InvestmentsApi {
                state: state.clone(),
            },
            (
                reports::ReportsApi {
                    state: state.clone(),
                },
                dashboard::DashboardApi {
                    state: state.clone(),
                },
                reports::pack::PacksApi {
                    state: state.clone(),
                },
            ),
            marketing::MarketingApi {
                state: state.clone(),
            },
            FollowUpsApi {
                leads: LeadsApi {
                    state: state.clone(),
                },
            },
            PrivacyApi {
                state: state.clone(),
            },
            AuthApi {
                state: state.clone(),
            },
            UsersApi {
                state: state.clone(),
            },
            AuditApi {
                state: state.clone(),
            },
            (
                OpsApi {
                    state: state.clone(),
                },
                notify::api::NotificationsApi {
                    state: state.clone(),
                },
                notify::webhook::WebhooksApi {
                    state: state.clone(),
                },
            ),
            (
                leads::IntakeApi {
                    state: state.clone(),
                },
                leads::DuplicatesApi {
                    state: state.clone(),
                },
                leads::ImportApi {
                    state: state.clone(),
                },
                leads::MergeApi {
                    state: state.clone(),
                },
                leads::ClientDuplicatesApi { state },
            ),
        ),
        "Broker CRM",
        env!("CARGO_PKG_VERSION"),
    )
    .server("/")
    .license(
        poem_openapi::LicenseObject::new("Apache-2.0")
            .url("https://www.apache.org/licenses/LICENSE-2.0"),
    )
    .description(
        "The system of record for a stock broker's customer side. Every change is an event in an \
         append-only log; lists and details are read models fed from it in commit order. Commands \
         answer with the log `position` of their last event: pass it as `min_position` (or the \
         `X-Min-Position` header) to read your own write. Commands accept an `Idempotency-Key` \
         header, and commands on a lead accept `If-Match` with the `ETag` its GET returned (412 \
         when the lead changed since). Errors are `application/problem+json`. Sign in at \
         `POST /api/auth/login` and send the access token as `Authorization: Bearer …`; what \
         each role may do is enforced on every endpoint (a record the caller may not see \
         answers 404).",
    )
}
