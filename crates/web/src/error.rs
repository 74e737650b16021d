//! The one HTTP error type and its JSON shape `{ "error": { "code", "message", "details" } }`.

use adpool_accounts::AccountsError;
use adpool_jobs::JobsError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// An error answered to an HTTP client. Each variant has a stable `code`.
#[derive(Debug)]
pub enum AppError {
    /// 400: the request cannot be read.
    BadRequest(String),
    /// 401: no valid session or token.
    Unauthorized,
    /// 401: wrong email or password (generic on purpose).
    InvalidCredentials,
    /// 403: signed in, but the role does not allow it.
    Forbidden,
    /// 403: missing or wrong CSRF token.
    Csrf,
    /// 404: no such object in the caller's organization.
    NotFound,
    /// 409: the object is not in a state that allows this.
    Conflict(String),
    /// 422: a field is invalid.
    Validation {
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// 422: an uploaded file was refused; `details` lists what is wrong with it.
    InvalidFile {
        /// Summary.
        message: String,
        /// E.g. `{ "errors": [{ "row", "column", "value", "reason" }], "total": 3 }`.
        details: Value,
    },
    /// 422: a request body was refused whole; `details.problems` names each field.
    Refused {
        /// Summary.
        message: String,
        /// `{ "problems": ["field: problem", ...] }`.
        details: Value,
    },
    /// 409 with facts attached (e.g. a purchase's result tree).
    ConflictWithDetails {
        /// Summary.
        message: String,
        /// The facts.
        details: Value,
    },
    /// 413: the body is larger than this route takes.
    TooLarge(String),
    /// 429: too many attempts.
    Throttled {
        /// Seconds to wait.
        retry_after_secs: i64,
    },
    /// 429: this client sent more requests than its rate allows.
    RateLimited {
        /// Seconds until the next request is allowed.
        retry_after_secs: u64,
    },
    /// 500: logged in full, answered vaguely.
    Internal(String),
}

/// The JSON body of every API error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// Extra facts, e.g. `{ "field": "email" }`.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl AppError {
    /// 400, or 413 when the body was longer than the route takes: a body axum could not read.
    pub fn unreadable_body(status: StatusCode, message: String) -> Self {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge(message)
        } else {
            AppError::BadRequest(message)
        }
    }

    /// Attaches facts to a conflict (other variants are returned unchanged).
    pub fn with_details(self, details: Value) -> Self {
        match self {
            AppError::Conflict(message) => AppError::ConflictWithDetails { message, details },
            other => other,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized | AppError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) | AppError::ConflictWithDetails { .. } => StatusCode::CONFLICT,
            AppError::Validation { .. }
            | AppError::InvalidFile { .. }
            | AppError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Throttled { .. } | AppError::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized => "unauthorized",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::Forbidden => "forbidden",
            AppError::Csrf => "csrf_failed",
            AppError::NotFound => "not_found",
            AppError::Conflict(_) | AppError::ConflictWithDetails { .. } => "conflict",
            AppError::Validation { .. } | AppError::Refused { .. } => "validation_failed",
            AppError::InvalidFile { .. } => "invalid_file",
            AppError::TooLarge(_) => "payload_too_large",
            AppError::Throttled { .. } => "too_many_attempts",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Internal(_) => "internal",
        }
    }

    /// The message shown to the client (never the cause of a 500).
    pub fn message(&self) -> String {
        match self {
            AppError::BadRequest(m)
            | AppError::TooLarge(m)
            | AppError::Conflict(m)
            | AppError::InvalidFile { message: m, .. }
            | AppError::Refused { message: m, .. }
            | AppError::ConflictWithDetails { message: m, .. } => m.clone(),
            AppError::Unauthorized => "sign in or send a valid API token".into(),
            AppError::InvalidCredentials => "invalid email or password".into(),
            AppError::Forbidden => "your role does not allow this".into(),
            AppError::Csrf => {
                "the form expired or did not come from adpool; reload the page and try again".into()
            }
            AppError::NotFound => "not found".into(),
            AppError::Validation { field, message } => format!("{field}: {message}"),
            AppError::Throttled { retry_after_secs } => {
                format!("too many failed attempts; try again in {retry_after_secs} seconds")
            }
            AppError::RateLimited { retry_after_secs } => format!(
                "too many requests from this address; try again in {retry_after_secs} seconds"
            ),
            AppError::Internal(_) => "internal error; it has been logged".into(),
        }
    }

    /// The details object.
    pub fn details(&self) -> Value {
        match self {
            AppError::Validation { field, .. } => serde_json::json!({ "field": field }),
            AppError::Throttled { retry_after_secs } => {
                serde_json::json!({ "retry_after_secs": retry_after_secs })
            }
            AppError::RateLimited { retry_after_secs } => {
                serde_json::json!({ "retry_after_secs": retry_after_secs })
            }
            AppError::InvalidFile { details, .. }
            | AppError::Refused { details, .. }
            | AppError::ConflictWithDetails { details, .. } => details.clone(),
            _ => serde_json::json!({}),
        }
    }

    /// Logs a 500's cause once, where it is turned into a response.
    pub(crate) fn log(&self) {
        if let AppError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.message(),
                details: self.details(),
            },
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        let retry_after = match &self {
            AppError::Throttled { retry_after_secs } => Some(retry_after_secs.to_string()),
            AppError::RateLimited { retry_after_secs } => Some(retry_after_secs.to_string()),
            _ => None,
        };
        if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if matches!(self, AppError::Unauthorized) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<AccountsError> for AppError {
    fn from(error: AccountsError) -> Self {
        match error {
            AccountsError::NotFound => AppError::NotFound,
            AccountsError::InvalidCredentials => AppError::InvalidCredentials,
            AccountsError::Throttled { retry_after_secs } => {
                AppError::Throttled { retry_after_secs }
            }
            AccountsError::Invalid { field, message } => AppError::Validation {
                field: field.into(),
                message,
            },
            AccountsError::DuplicateEmail(_) => AppError::Validation {
                field: "email".into(),
                message: error.to_string(),
            },
            AccountsError::DuplicateOrganization(_) => AppError::Validation {
                field: "name".into(),
                message: error.to_string(),
            },
            AccountsError::Outbound { field, error } => AppError::Validation {
                field: field.into(),
                message: error.to_string(),
            },
            AccountsError::LastAdmin => AppError::Conflict(error.to_string()),
            AccountsError::Store(_) | AccountsError::Hashing(_) => {
                AppError::Internal(error.to_string())
            }
        }
    }
}

impl From<JobsError> for AppError {
    fn from(error: JobsError) -> Self {
        match error {
            JobsError::NotFound => AppError::NotFound,
            JobsError::Conflict(message) => AppError::Conflict(message),
            JobsError::Invalid { field, message } => AppError::Validation {
                field: field.into(),
                message,
            },
            JobsError::Store(_) => AppError::Internal(error.to_string()),
        }
    }
}

impl From<adpool_inventory::InventoryError> for AppError {
    fn from(error: adpool_inventory::InventoryError) -> Self {
        use adpool_inventory::InventoryError;
        match error {
            InventoryError::NotFound => AppError::NotFound,
            InventoryError::Invalid { field, message } => AppError::Validation {
                field: field.into(),
                message,
            },
            InventoryError::Conflict(message) => AppError::Conflict(message),
            InventoryError::File { file, message } => AppError::InvalidFile {
                message: format!("{file}: {message}"),
                details: serde_json::json!({ "file": file, "errors": [], "total": 0 }),
            },
            InventoryError::Rows {
                ref file,
                ref errors,
                total,
            } => AppError::InvalidFile {
                message: error.to_string(),
                details: serde_json::json!({
                    "file": file,
                    "total": total,
                    "errors": errors.iter().map(|e| serde_json::json!({ "row": e.row, "column": e.column, "value": e.value, "reason": e.reason })).collect::<Vec<_>>(),
                }),
            },
            InventoryError::Catalog { ref problems }
            | InventoryError::PurchaseRefused { ref problems }
            | InventoryError::Refused { ref problems } => AppError::Refused {
                message: error.to_string(),
                details: serde_json::json!({ "problems": problems }),
            },
            InventoryError::Store(_) => AppError::Internal(error.to_string()),
        }
    }
}

impl From<adpool_serving::ServingError> for AppError {
    fn from(error: adpool_serving::ServingError) -> Self {
        use adpool_serving::ServingError;
        match error {
            ServingError::NotFound => AppError::NotFound,
            ServingError::Invalid { field, message } => AppError::Validation {
                field: field.into(),
                message,
            },
            ServingError::Conflict(message) => AppError::Conflict(message),
            ServingError::Store(_) | ServingError::EventLog(_) | ServingError::Unavailable(_) => {
                AppError::Internal(error.to_string())
            }
        }
    }
}

impl From<adpool_logs::LogsError> for AppError {
    fn from(error: adpool_logs::LogsError) -> Self {
        use adpool_logs::LogsError;
        match error {
            LogsError::Invalid { field, message } => AppError::Validation {
                field: field.into(),
                message,
            },
            LogsError::Outbound { field, error } => AppError::Validation {
                field: field.into(),
                message: error.to_string(),
            },
            LogsError::Locked(_) => AppError::Conflict(error.to_string()),
            LogsError::File { .. } => AppError::Validation {
                field: "file".into(),
                message: error.to_string(),
            },
            LogsError::Source { .. } | LogsError::Refused { .. } => AppError::Validation {
                field: "source".into(),
                message: error.to_string(),
            },
            LogsError::Store(_) => AppError::Internal(error.to_string()),
        }
    }
}

impl From<adpool_commerce::CommerceError> for AppError {
    fn from(error: adpool_commerce::CommerceError) -> Self {
        use adpool_commerce::CommerceError;
        match error {
            CommerceError::NotFound(_) => AppError::NotFound,
            CommerceError::Invalid { field, message } => AppError::Validation {
                field: field.into(),
                message,
            },
            CommerceError::Conflict(message) => AppError::Conflict(message),
            CommerceError::Platform { .. }
            | CommerceError::MissingScope { .. }
            | CommerceError::IpNotAllowed { .. } => AppError::Conflict(error.to_string()),
            CommerceError::File(ref table) => AppError::InvalidFile {
                message: error.to_string(),
                details: serde_json::json!({ "file": table.file, "errors": [], "total": 0 }),
            },
            CommerceError::Rows {
                ref file,
                ref errors,
            } => AppError::InvalidFile {
                message: error.to_string(),
                details: serde_json::json!({ "file": file, "errors": errors, "total": errors.len() }),
            },
            CommerceError::UnknownStatuses {
                ref file,
                ref statuses,
            } => AppError::InvalidFile {
                message: error.to_string(),
                details: serde_json::json!({
                    "file": file, "errors": [], "total": 0,
                    "unknown_statuses": statuses
                        .iter()
                        .map(|(word, rows)| serde_json::json!({ "status": word, "rows": rows }))
                        .collect::<Vec<_>>(),
                }),
            },
            CommerceError::Store(_) | CommerceError::Vault(_) => {
                AppError::Internal(error.to_string())
            }
        }
    }
}

impl From<adpool_insight::InsightError> for AppError {
    fn from(error: adpool_insight::InsightError) -> Self {
        use adpool_insight::InsightError;
        match error {
            InsightError::NotFound(..) => AppError::NotFound,
            InsightError::Invalid { field, message } => AppError::Validation {
                field: field.into(),
                message,
            },
            InsightError::File(ref table) => AppError::InvalidFile {
                message: error.to_string(),
                details: serde_json::json!({ "file": table.file, "errors": [], "total": 0 }),
            },
            InsightError::UnknownLayout {
                ref file,
                row,
                ref candidates,
            } => AppError::InvalidFile {
                message: error.to_string(),
                details: serde_json::json!({ "file": file, "header_row": row, "columns": candidates, "errors": [], "total": 0 }),
            },
            InsightError::Rows {
                ref file,
                ref errors,
            } => AppError::InvalidFile {
                message: error.to_string(),
                details: serde_json::json!({ "file": file, "errors": errors, "total": errors.len() }),
            },
            InsightError::Store(_) => AppError::Internal(error.to_string()),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        AppError::Internal(error.to_string())
    }
}

/// Turns any error answer of the API that is not already JSON (axum's own rejections of a
/// path, query or body it cannot read, a 405) into the one error shape, keeping its status,
/// so API clients parse every error the same way.
pub(crate) async fn api_error_shape(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let code = match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "validation_failed",
        429 => "rate_limited",
        _ if status.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = if text.is_empty() || status.is_server_error() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    let body = ErrorBody {
        error: ErrorDetail {
            code,
            message,
            details: serde_json::json!({}),
        },
    };
    let mut shaped = (status, axum::Json(body)).into_response();
    for name in [header::RETRY_AFTER, header::ALLOW, header::WWW_AUTHENTICATE] {
        if let Some(value) = parts.headers.get(&name) {
            shaped.headers_mut().insert(name, value.clone());
        }
    }
    shaped
}
