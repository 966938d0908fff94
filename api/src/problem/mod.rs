//! Errors as RFC 9457 problem details (`application/problem+json`), mapped once at the edge.

mod mapping;
pub mod parse;

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

/// One invalid field of a request.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct FieldError {
    /// The field's name as sent (dotted for nested fields).
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl poem_openapi::types::Example for FieldError {
    fn example() -> Self {
        Self::new(
            "phone",
            "not an Indian mobile number (expected ten digits, optionally after +91 or 0)",
        )
    }
}

/// A problem detail: what went wrong, for people and for programs.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[oai(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The invalid fields, for validation problems.
    #[oai(skip_serializing_if_is_empty, default)]
    pub errors: Vec<FieldError>,
    /// For illegal status moves: the moves that are allowed from the current status.
    #[oai(skip_serializing_if_is_none)]
    pub allowed: Option<Vec<String>>,
    /// For duplicates: the records that already hold this e-mail address or phone number.
    #[oai(skip_serializing_if_is_none)]
    pub duplicate_of: Option<Vec<uuid::Uuid>>,
}

impl poem_openapi::types::Example for Problem {
    fn example() -> Self {
        Self {
            kind: "/problems/validation-failed".into(),
            title: "The request is invalid".into(),
            status: 422,
            detail: "1 field is invalid".into(),
            errors: vec![FieldError::example()],
            allowed: None,
            duplicate_of: None,
        }
    }
}

/// Every error an endpoint can answer with.
#[derive(Debug, ApiResponse)]
#[oai(bad_request_handler = "from_parse_error")]
pub enum ApiError {
    /// The request does not follow the contract (not JSON, a wrong type, a missing or unknown
    /// field or parameter); nothing was changed.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No valid access token (missing, expired, forged, or its session ended).
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>, #[oai(header = "WWW-Authenticate")] String),
    /// The caller's role may not do this (or must change their password first).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such record, or none the caller may see.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The record's state does not allow this (illegal transition, concurrent change).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// `If-Match` named another version than the record's current one; nothing was changed.
    #[oai(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Json<Problem>),
    /// The body is larger than the server accepts.
    #[oai(status = 413, content_type = "application/problem+json")]
    TooLarge(Json<Problem>),
    /// The body is not JSON.
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Problem>),
    /// A value does not fit (the fields and why), or the Idempotency-Key was used before with a
    /// different request; nothing was changed.
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Problem>),
    /// Too many attempts (login lockout or rate limit); retry after `Retry-After` seconds.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>, #[oai(header = "Retry-After")] String),
    /// The read model did not catch up with `min_position` in time; retry.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>),
    /// A fault on the server's side (never caused by the request's content).
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
}

/// The errors a query can answer with.
#[derive(Debug, ApiResponse)]
#[oai(bad_request_handler = "read_parse_error")]
pub enum ReadError {
    /// A parameter is malformed, or one the query does not take.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// A parameter's value does not fit (the parameters and why).
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Problem>),
    /// No valid access token (missing, expired, forged, or its session ended).
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>, #[oai(header = "WWW-Authenticate")] String),
    /// The caller's role may not read this.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such record, or none the caller may see.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// A read that records itself met a concurrent change; retry.
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The read model did not catch up with `min_position` in time; retry.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>),
    /// A fault on the server's side.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
}

impl From<ApiError> for ReadError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::BadRequest(p) => ReadError::BadRequest(p),
            ApiError::Unprocessable(p) => ReadError::Unprocessable(p),
            ApiError::NotFound(p) => ReadError::NotFound(p),
            ApiError::Unauthorized(p, h) => ReadError::Unauthorized(p, h),
            ApiError::Forbidden(p) => ReadError::Forbidden(p),
            ApiError::Conflict(p) => ReadError::Conflict(p),
            ApiError::Unavailable(p) => ReadError::Unavailable(p),
            ApiError::Internal(p) => ReadError::Internal(p),
            other => {
                tracing::error!(error = ?other, "a query raised a command error");
                ReadError::Internal(problem(
                    500,
                    "internal",
                    "Internal error",
                    "the server failed",
                ))
            }
        }
    }
}

fn read_parse_error(err: poem::Error) -> ReadError {
    from_parse_error(err).into()
}

fn problem(status: u16, slug: &str, title: &str, detail: impl Into<String>) -> Json<Problem> {
    Json(Problem {
        kind: format!("/problems/{slug}"),
        title: title.into(),
        status,
        detail: detail.into(),
        errors: Vec::new(),
        allowed: None,
        duplicate_of: None,
    })
}

impl ApiError {
    /// The same answer, its detail saying which record it is about (`what: …`).
    pub fn about(self, what: &str) -> Self {
        let on = |mut j: Json<Problem>| {
            j.0.detail = format!("{what}: {}", j.0.detail);
            j
        };
        match self {
            ApiError::Conflict(j) => ApiError::Conflict(on(j)),
            ApiError::NotFound(j) => ApiError::NotFound(on(j)),
            ApiError::Unprocessable(j) => ApiError::Unprocessable(on(j)),
            ApiError::PreconditionFailed(j) => ApiError::PreconditionFailed(on(j)),
            other => other,
        }
    }

    /// A 422 naming one field and what is wrong with it.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.len() {
            1 => format!("{}: {}", errors[0].field, errors[0].message),
            n => format!("{n} fields are invalid"),
        };
        let mut p = problem(422, "validation-failed", "The request is invalid", detail);
        p.0.errors = errors;
        ApiError::Unprocessable(p)
    }

    /// A 400 for a request that does not follow the contract, naming the fields (a wrong type,
    /// a missing or unknown field, a parameter the operation does not take).
    pub fn malformed(errors: Vec<FieldError>) -> Self {
        let detail = match errors.len() {
            1 => format!("{}: {}", errors[0].field, errors[0].message),
            n => format!("{n} fields do not follow the contract"),
        };
        let mut p = problem(400, "malformed-request", "The request is malformed", detail);
        p.0.errors = errors;
        ApiError::BadRequest(p)
    }

    /// A 400 for a header that cannot be read as what it is (`If-Match`, `Idempotency-Key`).
    pub fn header(name: &str, message: impl Into<String>) -> Self {
        Self::malformed(vec![FieldError::new(name, message)])
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::BadRequest(problem(
            400,
            "bad-request",
            "The request is malformed",
            detail,
        ))
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError::Unauthorized(
            problem(401, "unauthorized", "Sign-in required", detail),
            "Bearer realm=\"crm\"".into(),
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        ApiError::Forbidden(problem(403, "forbidden", "Not allowed", detail))
    }

    pub fn password_change_required() -> Self {
        ApiError::Forbidden(problem(
            403,
            "password-change-required",
            "Change your password first",
            "this password was set by an administrator: POST /api/auth/password to choose your own",
        ))
    }

    pub fn too_many(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        ApiError::TooManyRequests(
            problem(429, "too-many-requests", "Too many attempts", detail),
            retry_after_secs.max(1).to_string(),
        )
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(problem(
            404,
            "not-found",
            "Not found",
            format!("no {what} with this id"),
        ))
    }

    pub fn conflict(slug: &str, detail: impl Into<String>) -> Self {
        ApiError::Conflict(problem(
            409,
            slug,
            "The request conflicts with the record's state",
            detail,
        ))
    }

    pub fn illegal_transition(detail: impl Into<String>, allowed: Vec<String>) -> Self {
        let mut p = problem(
            409,
            "illegal-transition",
            "This status move is not allowed",
            detail,
        );
        p.0.allowed = Some(allowed);
        ApiError::Conflict(p)
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        ApiError::PreconditionFailed(problem(
            412,
            "version-mismatch",
            "The record was changed since you read it",
            detail,
        ))
    }

    pub fn duplicate(ids: Vec<uuid::Uuid>) -> Self {
        let mut p = problem(
            409,
            "duplicate-lead",
            "A lead with this e-mail address or phone number exists",
            "open the existing lead, or send allow_duplicate: true to capture another",
        );
        p.0.duplicate_of = Some(ids);
        ApiError::Conflict(p)
    }

    pub fn duplicate_client(ids: Vec<uuid::Uuid>) -> Self {
        let mut p = problem(
            409,
            "duplicate-client",
            "A client with this PAN exists",
            "one client per PAN: open the existing client",
        );
        p.0.duplicate_of = Some(ids);
        ApiError::Conflict(p)
    }

    pub fn unsupported_document(detail: impl Into<String>) -> Self {
        ApiError::UnsupportedMediaType(problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            detail,
        ))
    }

    pub fn idempotency_mismatch() -> Self {
        ApiError::Unprocessable(problem(
            422,
            "idempotency-key-reused",
            "The Idempotency-Key was used for a different request",
            "send a new key for a new request",
        ))
    }

    pub fn idempotency_in_progress() -> Self {
        ApiError::Conflict(problem(
            409,
            "idempotency-key-in-progress",
            "A request with this Idempotency-Key is still being processed",
            "retry in a moment to get its answer",
        ))
    }

    pub fn not_caught_up(position: i64) -> Self {
        ApiError::Unavailable(problem(
            503,
            "read-model-behind",
            "The read model has not caught up yet",
            format!("position {position} is not yet visible; retry shortly"),
        ))
    }

    /// A request that took longer than `limit` (see `CRM_REQUEST_TIMEOUT_SECS`).
    pub fn timed_out(limit: std::time::Duration) -> Self {
        tracing::warn!(limit_secs = limit.as_secs(), "a request timed out");
        ApiError::Unavailable(problem(
            503,
            "request-timed-out",
            "The request took too long",
            format!(
                "no answer within {} s (a body sent too slowly, or a slow query); retry",
                limit.as_secs()
            ),
        ))
    }

    /// Logs the cause (without request data) and answers a generic 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::Internal(problem(
            500,
            "internal",
            "Internal error",
            "the server failed; the request may be retried",
        ))
    }

    /// A problem for an error raised outside the OpenAPI endpoints (routing, body limits).
    pub fn from_status(status: u16, detail: String) -> (u16, Problem) {
        let (slug, title) = match status {
            400 => ("bad-request", "The request is malformed"),
            401 => ("unauthorized", "Sign-in required"),
            403 => ("forbidden", "Not allowed"),
            429 => ("too-many-requests", "Too many attempts"),
            404 => ("not-found", "Not found"),
            405 => ("method-not-allowed", "Method not allowed"),
            411 => ("length-required", "Content-Length required"),
            413 => ("payload-too-large", "The request body is too large"),
            415 => ("unsupported-media-type", "Unsupported media type"),
            _ if status >= 500 => ("internal", "Internal error"),
            _ => ("error", "The request failed"),
        };
        (status, problem(status, slug, title, detail).0)
    }
}

/// Turns a request that could not be parsed (bad JSON, wrong types, bad parameters) into a
/// problem; the body's content is not echoed back beyond the parser's message.
pub fn from_parse_error(err: poem::Error) -> ApiError {
    let status = err.status().as_u16();
    let message = err.to_string();
    match status {
        413 => ApiError::TooLarge(problem(
            413,
            "payload-too-large",
            "The request body is too large",
            message,
        )),
        415 => ApiError::UnsupportedMediaType(problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as application/json (document files as application/octet-stream)",
        )),
        _ => ApiError::BadRequest(problem(
            400,
            "bad-request",
            "The request is malformed",
            message,
        )),
    }
}
