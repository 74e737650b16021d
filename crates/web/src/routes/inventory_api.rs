//! `/api/v1/inventory`: the same data and actions as the inventory pages, as JSON.

use adpool_inventory::{
    BUILD_STANDARD_JOB, BUILD_UNIT_JOB, ImportSummary, Month, build_job, format_ppm,
};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::api::ApiJson;
use super::inventory::{MAX_UPLOAD_BYTES, import_upload};
use crate::auth::{Operator, Staff};
use crate::{AppError, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/inventory/months", get(months))
        .route("/inventory/standard", get(standard))
        .route("/inventory/standard/{id}", patch(correct))
        .route("/inventory/unit", get(unit))
        .route("/inventory/months/{month}/confirm", post(confirm))
        .route("/inventory/months/{month}/builds", post(build))
        .route(
            "/inventory/forecast",
            post(import).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
}

/// `?month=YYYY-MM`
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct MonthQuery {
    /// The month, YYYY-MM.
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    month: String,
}

fn month(text: &str) -> Result<Month, AppError> {
    text.parse::<Month>().map_err(AppError::from)
}

/// A month's state.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MonthView {
    month: String,
    forecast_rows: i64,
    standard_rows: i64,
    unit_rows: i64,
    oversold: i64,
    built_at: Option<i64>,
    confirmed_at: Option<i64>,
}

/// A standard inventory row.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StandardView {
    id: i64,
    media: String,
    meta_id: String,
    meta_name: String,
    content_owner: Option<String>,
    /// PC, MOBILE, APP or CTV
    platform: String,
    month: String,
    forecast_qty: i64,
    qty: i64,
    /// Month-over-month change with 6 decimals, null without a previous month.
    change_rate: Option<String>,
    qty_edited_at: Option<i64>,
}

impl From<adpool_inventory::StandardRow> for StandardView {
    fn from(r: adpool_inventory::StandardRow) -> Self {
        StandardView {
            id: r.id,
            media: r.media,
            meta_id: r.meta_id,
            meta_name: r.meta_name,
            content_owner: r.content_owner,
            platform: r.platform.as_str().to_owned(),
            month: r.month.to_string(),
            forecast_qty: r.forecast_qty,
            qty: r.qty,
            change_rate: r.change_rate_ppm.map(format_ppm),
            qty_edited_at: r.qty_edited_at,
        }
    }
}

/// A unit inventory row (one day).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UnitView {
    media: String,
    meta_id: String,
    platform: String,
    date: String,
    total: i64,
    reserved: i64,
    /// total - reserved; negative when oversold.
    available: i64,
}

/// A forecast file upload.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ForecastUpload {
    /// A .csv or .xlsx forecast with the header media,meta_id,part,date,hour,impressions.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A correction of one standard row.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CorrectionRequest {
    #[schema(minimum = 0)]
    qty: i64,
    /// Why (kept in the audit trail).
    note: Option<String>,
}

/// Which build to start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BuildRequest {
    #[schema(value_type = super::api_words::BuildLevelWord)]
    level: String,
}

/// The job running a build.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BuildStarted {
    job_id: i64,
    /// Where to follow its progress.
    job_url: String,
}

/// What a forecast import did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImportView {
    file: String,
    rows: u64,
    media: Vec<String>,
    months: Vec<String>,
    new_media: Vec<String>,
    new_meta_ids: Vec<String>,
    elapsed_ms: u64,
}

impl From<ImportSummary> for ImportView {
    fn from(s: ImportSummary) -> Self {
        ImportView {
            file: s.file,
            rows: s.rows,
            media: s.media,
            months: s.months,
            new_media: s.new_media,
            new_meta_ids: s.new_meta_ids,
            elapsed_ms: s.elapsed_ms,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/inventory/months", tag = "inventory", responses((status = 200, body = [MonthView])))]
pub(crate) async fn months(
    State(state): State<AppState>,
    Staff(caller): Staff,
) -> Result<Json<Vec<MonthView>>, AppError> {
    let months = state.inventory.months(caller.org()).await?;
    Ok(Json(
        months
            .into_iter()
            .map(|m| MonthView {
                month: m.month.to_string(),
                forecast_rows: m.forecast_rows,
                standard_rows: m.standard_rows,
                unit_rows: m.unit_rows,
                oversold: m.oversold,
                built_at: m.built_at,
                confirmed_at: m.confirmed_at,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/inventory/standard", tag = "inventory", params(MonthQuery),
    responses((status = 200, body = [StandardView]), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn standard(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Query(query): Query<MonthQuery>,
) -> Result<Json<Vec<StandardView>>, AppError> {
    let rows = state
        .inventory
        .standard_rows(caller.org(), month(&query.month)?)
        .await?;
    Ok(Json(rows.into_iter().map(StandardView::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/inventory/unit", tag = "inventory", params(MonthQuery),
    responses((status = 200, body = [UnitView]), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn unit(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Query(query): Query<MonthQuery>,
) -> Result<Json<Vec<UnitView>>, AppError> {
    let rows = state
        .inventory
        .unit_rows(caller.org(), month(&query.month)?)
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| UnitView {
                available: r.available(),
                media: r.media,
                meta_id: r.meta_id,
                platform: r.platform.as_str().to_owned(),
                date: r.date,
                total: r.total,
                reserved: r.reserved,
            })
            .collect(),
    ))
}

#[utoipa::path(patch, path = "/api/v1/inventory/standard/{id}", tag = "inventory", params(("id" = i64, Path)), request_body = CorrectionRequest,
    responses((status = 200, body = StandardView), (status = 403, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn correct(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<CorrectionRequest>,
) -> Result<Json<StandardView>, AppError> {
    let note = body
        .note
        .unwrap_or_else(|| "corrected through the API".to_owned());
    Ok(Json(
        state
            .inventory
            .set_standard_qty(caller.org(), id, body.qty, Some(caller.user.id), &note)
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/inventory/months/{month}/confirm", tag = "inventory", params(("month" = String, Path, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")),
    responses((status = 204), (status = 403, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody)))]
pub(crate) async fn confirm(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Path(text): Path<String>,
) -> Result<StatusCode, AppError> {
    state
        .inventory
        .confirm_month(caller.org(), month(&text)?, Some(caller.user.id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/inventory/months/{month}/builds", tag = "inventory", params(("month" = String, Path, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")), request_body = BuildRequest,
    responses((status = 202, body = BuildStarted), (status = 403, body = crate::ErrorBody), (status = 409, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn build(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Path(text): Path<String>,
    ApiJson(body): ApiJson<BuildRequest>,
) -> Result<Response, AppError> {
    let month = month(&text)?;
    let kind = match body.level.as_str() {
        "standard" => BUILD_STANDARD_JOB,
        "unit" => {
            if state
                .inventory
                .month_state(caller.org(), month)
                .await?
                .confirmed_at
                .is_none()
            {
                return Err(AppError::Conflict(format!(
                    "{month} is not confirmed: confirm its standard inventory before building unit inventory"
                )));
            }
            BUILD_UNIT_JOB
        }
        other => {
            return Err(AppError::Validation {
                field: "level".into(),
                message: format!("'{other}' is not standard or unit"),
            });
        }
    };
    let id = state
        .jobs
        .enqueue(build_job(kind, caller.org(), month, Some(caller.user.id)))
        .await?;
    state.worker_wake.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(BuildStarted {
            job_id: id.get(),
            job_url: format!("/api/v1/jobs/{id}"),
        }),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/inventory/forecast", operation_id = "import_forecast", tag = "inventory",
    request_body(content = ForecastUpload, content_type = "multipart/form-data"),
    responses((status = 200, body = ImportView), (status = 403, body = crate::ErrorBody), (status = 422, description = "the file was refused whole; error.details.errors lists row, column, value and reason", body = crate::ErrorBody)))]
pub(crate) async fn import(
    State(state): State<AppState>,
    Operator(caller): Operator,
    multipart: Multipart,
) -> Result<Json<ImportView>, AppError> {
    Ok(Json(
        import_upload(&state, &caller, multipart).await?.into(),
    ))
}
