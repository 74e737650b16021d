//! Purchases: the booking tree page and `/api/v1/purchases`.

use adpool_inventory::{Policy, PurchaseRequest, PurchaseResult};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use minijinja::context;
use serde::Deserialize;
use sqlx::Row;
use utoipa::IntoParams;

use super::api::ApiJson;
use super::{Flash, PageError, back_to};
use crate::auth::{Operator, PageOperator, PageStaff, Staff};
use crate::render::page;
use crate::{AppError, AppState, Lang};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/inventory/bookings", get(bookings_page))
        .route("/inventory/bookings/{id}", get(booking_page))
        .route("/inventory/bookings/{id}/cancel", post(cancel_page))
}

pub(super) fn api_router() -> Router<AppState> {
    Router::new()
        .route("/purchases", post(apply))
        .route("/purchases/{id}", get(show).delete(cancel))
}

/// `?dry_run=true` computes the tree and reserves nothing.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub(crate) struct ApplyQuery {
    dry_run: Option<bool>,
    /// Overrides the request's policy.
    #[param(value_type = Option<adpool_inventory::Policy>)]
    policy: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/purchases", tag = "purchases", params(ApplyQuery),
    request_body(content = adpool_inventory::PurchaseRequest, description = "a purchase request (docs/purchases.md)"),
    responses((status = 201, description = "booked: the result tree", body = Object),
              (status = 200, description = "dry run: the result tree, nothing reserved", body = Object),
              (status = 409, description = "not booked (all-or-nothing and some leaf short): the tree is in error.details", body = crate::ErrorBody),
              (status = 422, description = "refused; error.details.problems names each field", body = crate::ErrorBody)))]
pub(crate) async fn apply(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Query(query): Query<ApplyQuery>,
    ApiJson(mut request): ApiJson<PurchaseRequest>,
) -> Result<Response, AppError> {
    match query.policy.as_deref() {
        Some("partial") => request.policy = Policy::Partial,
        Some("all-or-nothing") => request.policy = Policy::AllOrNothing,
        Some(other) => {
            return Err(AppError::Validation {
                field: "policy".into(),
                message: format!("'{other}' is not all-or-nothing or partial"),
            });
        }
        None => {}
    }
    let dry_run = query.dry_run.unwrap_or(false);
    let result = state
        .inventory
        .purchase(caller.org(), &request, dry_run, Some(caller.user.id))
        .await?;
    Ok(purchase_response(result, dry_run))
}

/// The answer to a purchase or a line booking: 201 with the tree when booked, 200 for a dry
/// run, 409 with the tree in `error.details` when an all-or-nothing purchase did not fit.
pub(crate) fn purchase_response(result: PurchaseResult, dry_run: bool) -> Response {
    match (result.committed, dry_run) {
        (true, _) => (StatusCode::CREATED, Json(result)).into_response(),
        (false, true) => Json(result).into_response(),
        (false, false) => {
            let message = format!(
                "not booked: {} impressions short; nothing was reserved",
                result.shortage
            );
            let details = serde_json::to_value(&result).unwrap_or_default();
            AppError::Conflict(message)
                .with_details(details)
                .into_response()
        }
    }
}

#[utoipa::path(get, path = "/api/v1/purchases/{id}", tag = "purchases", params(("id" = i64, Path)),
    responses((status = 200, description = "the booking's result tree and state", body = Object), (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, AppError> {
    let (result, booking_state) = state.inventory.booking(caller.org(), id).await?;
    Ok(Json(
        serde_json::json!({ "state": booking_state, "result": result }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/purchases/{id}", tag = "purchases", params(("id" = i64, Path)),
    responses((status = 200, description = "released impressions", body = Object), (status = 404, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, AppError> {
    let released = state.inventory.cancel_booking(caller.org(), id).await?;
    Ok(Json(
        serde_json::json!({ "booking_id": id, "released": released }),
    ))
}

async fn bookings_page(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    lang: Lang,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    let rows = sqlx::query(
        "SELECT b.id, p.code AS product, b.amount, b.start_date, b.end_date, b.policy, b.state, b.impressions, b.shortage, b.created_at
         FROM bookings b JOIN products p ON p.id = b.product_id WHERE b.org_id = $1 ORDER BY b.id DESC LIMIT 200",
    )
    .bind(caller.org().get())
    .fetch_all(state.db.pool())
    .await?;
    let bookings: Vec<minijinja::Value> = rows
        .iter()
        .map(|r| {
            context! {
                id => r.try_get::<i64, _>("id").unwrap_or_default(), product => r.try_get::<String, _>("product").unwrap_or_default(),
                amount => r.try_get::<i64, _>("amount").unwrap_or_default(), start => r.try_get::<String, _>("start_date").unwrap_or_default(),
                end => r.try_get::<String, _>("end_date").unwrap_or_default(), policy => r.try_get::<String, _>("policy").unwrap_or_default(),
                state => r.try_get::<String, _>("state").unwrap_or_default(), impressions => r.try_get::<i64, _>("impressions").unwrap_or_default(),
                shortage => r.try_get::<i64, _>("shortage").unwrap_or_default(), created_at => r.try_get::<i64, _>("created_at").unwrap_or_default(),
            }
        })
        .collect();
    let extra = context! { ..flash.context(), ..context! { bookings => bookings } };
    Ok(page(
        &state,
        &caller,
        lang,
        "inventory_bookings.html",
        "inventory",
        extra,
    )
    .await?
    .into_response())
}

async fn booking_page(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    lang: Lang,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    let (result, booking_state): (PurchaseResult, String) =
        state.inventory.booking(caller.org(), id).await?;
    let extra = context! { ..flash.context(), ..context! { id => id, booking_state => booking_state, result => result } };
    Ok(page(
        &state,
        &caller,
        lang,
        "inventory_booking.html",
        "inventory",
        extra,
    )
    .await?
    .into_response())
}

async fn cancel_page(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let result = state.inventory.cancel_booking(caller.org(), id).await;
    back_to(&format!("/inventory/bookings/{id}"), result, |released| {
        format!("#{id}: {released} impressions released")
    })
}
