//! The ad-serving edge for shop front ends: `GET /serve/ads` and `GET /serve/click`.
//!
//! These routes sit outside the session middleware: the ad query reads only memory (the site
//! key and the published ranking), never the database. They answer CORS for the site's allowed
//! origins, so a shop page can call them from the browser.

use std::collections::HashMap;

use adpool_serving::AdQuery;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

/// The response header saying what a click did: `charged`, `accepted` (scale-out: charged in
/// Redis, settled into the ledger by a worker) or the refusal reason.
pub const CLICK_OUTCOME_HEADER: &str = "x-adpool-click";

/// The header carrying a site's API key (the `key` query parameter works too).
pub const SITE_KEY_HEADER: &str = "x-adpool-key";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/serve/ads", get(ads).options(preflight))
        .route("/serve/click", get(click))
}

fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

fn cors(response: &mut Response, allow: Option<String>) {
    let headers = response.headers_mut();
    if let Some(value) = allow.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
}

async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // The key is not in a preflight: it answers for an origin some live site allows, and the
    // real request checks the key's own list.
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(allowed) = state.serving.preflight_origin(origin) else {
        return json_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this origin is not allowed for any site",
        );
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    cors(&mut response, Some(allowed));
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(SITE_KEY_HEADER),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// The scheme and host this server is reached at (click URLs, OAuth redirects).
pub(crate) fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

async fn ads(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let key = headers
        .get(SITE_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .or_else(|| params.get("key").map(String::as_str))
        .unwrap_or("");
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let Some(site) = state.serving.site_by_key(key) else {
        let mut response = json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid site key is required (header X-Adpool-Key or ?key=)",
        );
        cors(&mut response, origin.map(str::to_owned));
        return response;
    };
    let allow = site.allow_origin(origin);
    if origin.is_some() && allow.is_none() {
        return json_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this origin is not allowed for the site key",
        );
    }
    let placement = params.get("placement").map(|p| p.trim()).unwrap_or("");
    if placement.is_empty() {
        let mut response = json_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "placement is required (?placement=home_top)",
        );
        cors(&mut response, allow);
        return response;
    }
    let n = match params.get("n").map(|n| n.trim().parse::<usize>()) {
        None => 0,
        Some(Ok(n)) if (1..=20).contains(&n) => n,
        Some(_) => {
            let mut response = json_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "n must be a number from 1 to 20",
            );
            cors(&mut response, allow);
            return response;
        }
    };
    let text = |name: &str, max: usize| -> String {
        params
            .get(name)
            .map(|v| v.trim().chars().take(max).collect())
            .unwrap_or_default()
    };
    let query = AdQuery {
        placement: placement.chars().take(64).collect(),
        category: text("category", 64),
        n,
        user: text("user", 128),
        device: params.get("device").map(|_| text("device", 32)),
        app: params.get("app").map(|_| text("app", 32)),
    };
    let answer = state
        .serving
        .query_ads(&site, &query, &public_base(&state, &headers));
    // Written from the creatives' pre-escaped JSON: the same body serde would write.
    let mut response = (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        answer.to_json(),
    )
        .into_response();
    cors(&mut response, allow);
    response
}

async fn click(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    request: axum::extract::Request,
) -> Response {
    let token = params.get("t").map(String::as_str).unwrap_or("");
    // The client as the edge sees it (address and browser), for the invalid-traffic rule on
    // clients that rotate user ids.
    let client = format!(
        "{} {}",
        crate::security::request_client(&request, state.config.trust_forwarded_for),
        request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    );
    match state.serving.click_from(token, Some(&client)).await {
        Ok(outcome) => match outcome.landing_url() {
            Some(url) => (
                StatusCode::FOUND,
                [
                    (header::LOCATION, url.to_owned()),
                    (header::CACHE_CONTROL, "no-store".to_owned()),
                    // What the click did, for operators tracing a click (never a secret).
                    (
                        header::HeaderName::from_static(CLICK_OUTCOME_HEADER),
                        outcome.label().to_owned(),
                    ),
                ],
            )
                .into_response(),
            None => (
                StatusCode::BAD_REQUEST,
                [(header::CACHE_CONTROL, "no-store")],
                "This ad link is not valid. / 유효하지 않은 광고 링크입니다.",
            )
                .into_response(),
        },
        Err(error) => {
            tracing::error!(%error, "click failed; nothing was charged");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                "Please try again. / 잠시 후 다시 시도해 주세요.",
            )
                .into_response()
        }
    }
}
