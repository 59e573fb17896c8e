//! The error type every handler returns, rendered as JSON
//! `{"error": "...", "message": "...", "field"?: "...", "attributes"?: ["..."]}` with the
//! matching HTTP status: `message` repeats `error` (a sentence a person understands) for
//! client libraries written for Chatwoot, which print `message`. Internal details are logged,
//! never sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// An error a person can act on, with its HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request could not be read (e.g. malformed JSON).
    #[error("{0}")]
    BadRequest(String),
    /// 400 naming the offending part of the request in `field` (e.g. a query parameter, a
    /// JSON key, `path` or `body`), for input refused before any handler reads it.
    #[error("{message}")]
    BadField { field: String, message: String },
    /// 401: missing or invalid credentials or signature.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: authenticated but not allowed (e.g. an agent on an admin action).
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource, or one the caller may not see.
    #[error("{0}")]
    NotFound(String),
    /// 413: the body is larger than allowed.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 422: the input is understood but invalid; `field` names the offending field.
    #[error("{message}")]
    Unprocessable {
        field: Option<String>,
        message: String,
    },
    /// 502: an upstream service (Graph API) could not be reached or answered nonsense.
    #[error("{0}")]
    BadGateway(String),
    /// 503: PostgreSQL cannot be reached; the caller should retry.
    #[error("the database is unavailable, please retry")]
    DatabaseUnavailable(String),
    /// 500: a bug or an unexpected failure. The detail is logged only.
    #[error("internal server error")]
    Internal(String),
}

impl AppError {
    /// A 400 naming `field` (see [`AppError::BadField`]).
    pub fn bad_field(field: &str, message: impl Into<String>) -> Self {
        AppError::BadField {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// A 422 naming `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Unprocessable {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    /// The text for a log line or a job's `last_error`: the detail of an internal or database
    /// error (which [`Display`](std::fmt::Display) hides from HTTP clients), else the message.
    pub fn detail(&self) -> String {
        match self {
            AppError::Internal(d) | AppError::DatabaseUnavailable(d) => d.clone(),
            other => other.to_string(),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound("not found".into()),
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                AppError::DatabaseUnavailable(info.message().to_string())
            }
            Error::DatabaseError(DatabaseErrorKind::UnableToSendCommand, info) => {
                AppError::DatabaseUnavailable(info.message().to_string())
            }
            other => {
                let text = other.to_string();
                if looks_like_connection_loss(&text) {
                    AppError::DatabaseUnavailable(text)
                } else {
                    AppError::Internal(text)
                }
            }
        }
    }
}

fn looks_like_connection_loss(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("server closed the connection")
        || t.contains("terminating connection")
        || t.contains("connection refused")
        || t.contains("no connection to the server")
        || t.contains("could not connect")
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::DatabaseUnavailable(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) | AppError::BadField { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            AppError::DatabaseUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::DatabaseUnavailable(detail) => {
                tracing::error!(error = %detail, "database unavailable")
            }
            AppError::Internal(detail) => tracing::error!(error = %detail, "internal error"),
            _ => {}
        }
        let text = self.to_string();
        let mut body = serde_json::json!({ "error": text, "message": text });
        if let AppError::Unprocessable {
            field: Some(field), ..
        }
        | AppError::BadField { field, .. } = self
        {
            body["field"] = field.clone().into();
            body["attributes"] = serde_json::json!([field]);
        }
        let mut resp = HttpResponse::build(self.status_code());
        if matches!(self, AppError::DatabaseUnavailable(_)) {
            resp.insert_header(("Retry-After", "5"));
        }
        resp.json(body)
    }
}

/// Result alias for handlers and domain functions.
pub type AppResult<T> = Result<T, AppError>;
