//! Response headers every answer carries, and the per-client limits of the open endpoints.
//!
//! The pages load only their own embedded script and stylesheet (no inline script, no inline
//! style, no CDN), so the Content-Security-Policy allows `'self'` and nothing else, and no site
//! may frame adpool. The one exception is images over HTTPS: CPC product ads show the
//! advertiser's product image from the shop's own host (an image cannot run code). `Strict-Transport-Security` is sent when the deployment says it is behind
//! HTTPS (`secure_cookies`).

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{AppError, AppState};

/// The Content-Security-Policy of every response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self' data: https:; connect-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to a response that does not set them itself.
pub(crate) async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // What a signed-in person sees (tokens, keys, secrets, their data) must not stay in a
    // shared or back-button cache.
    let authenticated = request.headers().contains_key(header::AUTHORIZATION)
        || crate::auth::cookie(request.headers(), crate::SESSION_COOKIE).is_some();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    if authenticated {
        set(header::CACHE_CONTROL, "no-store");
    }
    set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "same-origin");
    if state.config.secure_cookies {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// The client address a request is counted against (see [`crate::auth::client_ip`]).
pub(crate) fn request_client(request: &Request, trust_forwarded_for: bool) -> String {
    let peer = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    crate::auth::client_ip(request.headers(), peer, trust_forwarded_for)
}

/// Limits `/serve/*` per client address (`serve_requests_per_second_per_client`).
pub(crate) async fn limit_serving(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if state.limits.serving.is_on() {
        let client = request_client(&request, state.config.trust_forwarded_for);
        if let Err(retry_after_secs) = state.limits.serving.take(&client, state.clock.now_millis())
        {
            state.metrics.record_rate_limited("serve");
            return AppError::RateLimited { retry_after_secs }.into_response();
        }
    }
    next.run(request).await
}
