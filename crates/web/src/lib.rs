//! `adpool-web`: the HTTP edge of adpool.
//!
//! It owns the axum router ([`app`]), authentication (session cookies for people, bearer API
//! tokens for machines), CSRF protection, the server-rendered HTML pages and their embedded
//! assets, the JSON API under `/api/v1` with its one error shape, `/api/openapi.json`, and the
//! operational endpoints `/healthz`, `/readyz`, `/metrics`, the security headers of every
//! response and the per-client rate limits of the open endpoints (`/serve/*`, login).
//!
//! Handlers are thin: they check who is calling, call a domain crate, and render. No business
//! rule lives here. `app(state)` is built apart from `main`, so tests drive it with
//! `tower::ServiceExt::oneshot` without opening a socket.

pub(crate) mod auth;
mod error;
mod i18n;
mod listener;
mod metrics;
mod rate_limit;
mod render;
mod routes;
mod security;
mod state;
mod uploads;

pub use auth::{CSRF_HEADER, Caller, SESSION_COOKIE};
pub use error::{AppError, ErrorBody};
pub use i18n::{Lang, translate};
pub use listener::{HttpLimits, serve};
pub use metrics::Metrics;
pub use rate_limit::RateLimiter;
pub use routes::insights::take_shop_purchases;
pub use routes::openapi::openapi_json;
pub use security::CONTENT_SECURITY_POLICY;
pub use state::{AppState, DeploymentRow, DeploymentStatus, WebConfig};
pub use uploads::{ORPHAN_AGE, remove_orphaned_uploads, scratch_root};

use axum::Router;

/// The whole HTTP application for `state`.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}
