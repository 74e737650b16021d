//! One module per area; each exposes `router()`, merged here.

mod activity;
mod admin;
pub(crate) mod api;
mod api_words;
mod campaigns;
mod catalog;
mod cpc;
mod cpc_api;
pub(crate) mod insights;
mod inventory;
mod inventory_api;
pub(crate) mod openapi;
mod ops;
mod pages;
mod purchases;
mod reports;
mod serve;
mod shops;

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use tower_http::trace::TraceLayer;

use crate::{AppError, AppState, auth};

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .merge(pages::router())
        .merge(admin::router())
        .merge(activity::router())
        .merge(inventory::router())
        .merge(catalog::router())
        .merge(purchases::router())
        .merge(campaigns::router())
        .merge(cpc::router())
        .merge(reports::router())
        .merge(shops::router())
        .merge(insights::router())
        .nest(
            "/api/v1",
            api::router()
                .merge(inventory_api::router())
                .merge(catalog::api_router())
                .merge(purchases::api_router())
                .merge(campaigns::api_router())
                .merge(cpc_api::router())
                .merge(shops::api_router())
                .merge(insights::api_router())
                .layer(middleware::from_fn(crate::error::api_error_shape)),
        )
        .merge(ops::router())
        .route("/api/openapi.json", axum::routing::get(openapi::serve))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), count_request))
        // The ad-serving edge: no session lookup, no database on the query path.
        .merge(serve::router().route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::security::limit_serving,
        )))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::security::security_headers,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn count_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Methods outside the standard set count under one label, so a client inventing methods
    // cannot grow the metrics without bound.
    let method = match request.method().as_str() {
        known @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => known,
        _ => "OTHER",
    }
    .to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.record_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

async fn not_found(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        AppError::NotFound.into_response()
    } else {
        PageError(AppError::NotFound).into_response()
    }
}

/// An error on an HTML page: the same [`AppError`], rendered as a small page.
#[derive(Debug)]
pub(crate) struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(error: E) -> Self {
        PageError(error.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.log();
        let status = self.0.status();
        let message = escape_html(&self.0.message());
        let body = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{code} · adpool</title>\
             <link rel=\"stylesheet\" href=\"/assets/app.css\"></head><body><main><section class=\"card\">\
             <h1>{code} {reason}</h1><p data-testid=\"error-message\">{message}</p><p><a href=\"/\">adpool</a></p></section></main></body></html>",
            code = status.as_u16(),
            reason = status.canonical_reason().unwrap_or(""),
        );
        (status, Html(body)).into_response()
    }
}

pub(crate) fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Redirect after a POST (303 so the browser GETs).
pub(crate) fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(axum::http::header::LOCATION, location.to_owned())],
    )
        .into_response()
}

/// `path?flash=...` or `path?error=...`, URL-encoded.
pub(crate) fn with_flash(path: &str, key: &str, message: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(message.as_bytes()).collect();
    format!("{path}?{key}={encoded}")
}

/// After a form POST: back to `path` with `ok(value)` as the flash, or with the error's
/// message. A missing object stays a 404 page and an internal error a 500 page.
pub(crate) fn back_to<T, E: Into<AppError>>(
    path: &str,
    result: Result<T, E>,
    ok: impl FnOnce(T) -> String,
) -> Result<Response, PageError> {
    match result.map_err(Into::into) {
        Ok(value) => Ok(see_other(&with_flash(path, "flash", &ok(value)))),
        Err(error @ (AppError::NotFound | AppError::Internal(_))) => Err(PageError(error)),
        Err(error) => Ok(see_other(&with_flash(path, "error", &error.message()))),
    }
}

/// The flash message and its kind from `?flash=` / `?error=`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Flash {
    flash: Option<String>,
    error: Option<String>,
}

impl Flash {
    pub(crate) fn context(&self) -> minijinja::Value {
        match (&self.error, &self.flash) {
            (Some(error), _) => minijinja::context! { flash => error, flash_kind => "error" },
            (None, Some(flash)) => minijinja::context! { flash => flash, flash_kind => "success" },
            _ => minijinja::context! {},
        }
    }
}
