//! Health, readiness, metrics and the embedded static assets.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use sqlx::Row;

use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/assets/app.css",
            get(|| async {
                asset(
                    "text/css; charset=utf-8",
                    include_str!("../../assets/app.css"),
                )
            }),
        )
        .route(
            "/assets/app.js",
            get(|| async {
                asset(
                    "text/javascript; charset=utf-8",
                    include_str!("../../assets/app.js"),
                )
            }),
        )
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Ready when the database answers and its schema is current.
async fn readyz(State(state): State<AppState>) -> Response {
    let schema = state.db.schema_version().await;
    match (state.db.ping().await, schema) {
        (Ok(()), Ok(version)) if version as usize >= adpool_store::MIGRATION_COUNT => {
            axum::Json(json!({ "status": "ready", "database": state.db.dialect().name(), "schema_version": version })).into_response()
        }
        (Ok(()), Ok(version)) => (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "status": "migrations pending", "schema_version": version }))).into_response(),
        (Err(error), _) | (_, Err(adpool_store::StoreError::Sqlx(error))) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "status": "database unavailable" }))).into_response()
        }
        (_, Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "status": "database unavailable" }))).into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(expected) = state.config.metrics_token.as_deref() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return crate::AppError::Unauthorized.into_response();
        }
    }
    let jobs: Vec<(String, i64)> =
        match sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
            .fetch_all(state.db.pool())
            .await
        {
            Ok(rows) => rows
                .iter()
                .filter_map(|r| Some((r.try_get("state").ok()?, r.try_get("n").ok()?)))
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "metrics: counting jobs failed");
                Vec::new()
            }
        };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&jobs) + &cpc_metrics(&state.serving),
    )
        .into_response()
}

/// The ad server's counters of this process.
fn cpc_metrics(serving: &adpool_serving::Serving) -> String {
    use std::fmt::Write as _;
    use std::sync::atomic::Ordering::Relaxed;
    let c = serving.counters();
    let (dropped, written) = serving.event_log_counts();
    let mut out = String::new();
    for (name, help, value) in [
        (
            "adpool_cpc_queries_total",
            "Ad queries answered.",
            c.queries.load(Relaxed),
        ),
        (
            "adpool_cpc_impressions_total",
            "Ads served.",
            c.impressions.load(Relaxed),
        ),
        (
            "adpool_cpc_clicks_charged_total",
            "Clicks charged.",
            c.clicks_charged.load(Relaxed),
        ),
        (
            "adpool_cpc_clicks_invalid_total",
            "Clicks that charged nothing.",
            c.clicks_invalid.load(Relaxed),
        ),
        (
            "adpool_cpc_rankings_published_total",
            "Ranking snapshots published.",
            c.rankings_published.load(Relaxed),
        ),
        (
            "adpool_cpc_event_log_written_total",
            "Events written to the event log.",
            written,
        ),
        (
            "adpool_cpc_event_log_dropped_total",
            "Events dropped because the event-log writer fell behind.",
            dropped,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    out
}

/// Compares two secrets in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
