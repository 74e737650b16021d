//! Forecast-pool inventory pages: months overview with forecast upload and builds, the standard
//! table (filters, change-rate colouring, inline correction, bulk % of forecast, audit,
//! confirmation) and the unit heat-map calendar.

use std::collections::BTreeMap;

use adpool_inventory::{
    BUILD_STANDARD_JOB, BUILD_UNIT_JOB, ImportSummary, Month, Platform, StandardFilter, UnitRow,
    build_job, format_ppm,
};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Datelike;
use minijinja::{Value, context};
use serde::Deserialize;

use super::{Flash, PageError, back_to, see_other};
use crate::auth::{PageOperator, PageStaff};
use crate::render::page;
use crate::{AppError, AppState, Caller, Lang, translate};

/// Largest forecast upload accepted (a million-row CSV is about 40 MB).
pub(crate) const MAX_UPLOAD_BYTES: usize = 256 * 1024 * 1024;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/inventory", get(overview))
        .route(
            "/inventory/forecast",
            post(upload_forecast).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/inventory/{month}/build-standard", post(build_standard))
        .route("/inventory/{month}/build-unit", post(build_unit))
        .route("/inventory/{month}/confirm", post(confirm))
        .route("/inventory/{month}/standard", get(standard_page))
        .route("/inventory/{month}/percent", post(set_percent))
        .route("/inventory/{month}/unit", get(unit_page))
        .route("/inventory/standard/{id}", post(set_qty))
}

fn parse_month(text: &str) -> Result<Month, AppError> {
    text.parse::<Month>().map_err(AppError::from)
}

async fn overview(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    lang: Lang,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    render_overview(&state, &caller, lang, flash.context(), StatusCode::OK).await
}

async fn render_overview(
    state: &AppState,
    caller: &Caller,
    lang: Lang,
    extra: Value,
    status: StatusCode,
) -> Result<Response, PageError> {
    let months = state.inventory.months(caller.org()).await?;
    let parts = state.inventory.part_mapping(caller.org()).await?;
    let media = state.inventory.media(caller.org()).await?;
    let ctx = context! {
        ..extra,
        ..context! {
            months => months,
            parts => parts.iter().map(|(part, platform)| context! { part => part, platform => platform.as_str() }).collect::<Vec<_>>(),
            media => media,
            max_upload_mb => MAX_UPLOAD_BYTES / 1024 / 1024,
        }
    };
    let mut response = page(state, caller, lang, "inventory.html", "inventory", ctx)
        .await?
        .into_response();
    *response.status_mut() = status;
    Ok(response)
}

/// An uploaded file's own name, without the folders some browsers send with it.
pub(crate) fn upload_file_name(field: &axum::extract::multipart::Field<'_>) -> String {
    field
        .file_name()
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).to_owned())
        .unwrap_or_default()
}

/// Saves an uploaded file under a scratch folder, keeping its extension (which picks the
/// format); returns the folder (deleted on drop), the path and the original name.
pub(crate) async fn save_upload(
    multipart: Multipart,
) -> Result<(tempfile::TempDir, std::path::PathBuf, String), AppError> {
    save_upload_with(multipart, &[])
        .await
        .map(|(folder, path, name, _)| (folder, path, name))
}

/// [`save_upload`], also reading the short text fields named in `wanted` that come before the
/// file in the form (a checkbox such as "import anyway"), each at most 64 bytes.
pub(crate) async fn save_upload_with(
    mut multipart: Multipart,
    wanted: &[&str],
) -> Result<
    (
        tempfile::TempDir,
        std::path::PathBuf,
        String,
        std::collections::BTreeMap<String, String>,
    ),
    AppError,
> {
    let mut fields = std::collections::BTreeMap::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::unreadable_body(e.status(), e.body_text()))?
    {
        if let Some(name) = field
            .name()
            .filter(|n| wanted.contains(n))
            .map(str::to_owned)
        {
            let text = field
                .text()
                .await
                .map_err(|e| AppError::unreadable_body(e.status(), e.body_text()))?;
            fields.insert(name, text.chars().take(64).collect());
            continue;
        }
        if field.name() != Some("file") {
            continue;
        }
        let name = upload_file_name(&field);
        if name.is_empty() {
            return Err(AppError::Validation {
                field: "file".into(),
                message: "choose a .csv or .xlsx file".into(),
            });
        }
        let folder =
            crate::uploads::upload_folder().map_err(|e| AppError::Internal(e.to_string()))?;
        let path = folder.path().join(&name);
        // Streamed to disk chunk by chunk: an upload never sits in memory whole.
        let internal = |e: std::io::Error| AppError::Internal(e.to_string());
        let mut file = tokio::fs::File::create(&path).await.map_err(internal)?;
        let mut field = field;
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| AppError::unreadable_body(e.status(), e.body_text()))?
        {
            tokio::io::AsyncWriteExt::write_all(&mut file, &chunk)
                .await
                .map_err(internal)?;
        }
        tokio::io::AsyncWriteExt::flush(&mut file)
            .await
            .map_err(internal)?;
        return Ok((folder, path, name, fields));
    }
    Err(AppError::Validation {
        field: "file".into(),
        message: "the form has no file".into(),
    })
}

/// Imports an uploaded forecast; shared by the page and the API.
pub(crate) async fn import_upload(
    state: &AppState,
    caller: &Caller,
    multipart: Multipart,
) -> Result<ImportSummary, AppError> {
    caller.require_operator()?;
    let (_folder, path, _name) = save_upload(multipart).await?;
    Ok(state
        .inventory
        .import_forecast_file(caller.org(), &path, &mut |_| {})
        .await?)
}

async fn upload_forecast(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    multipart: Multipart,
) -> Result<Response, PageError> {
    match import_upload(&state, &caller, multipart).await {
        Ok(summary) => {
            render_overview(
                &state,
                &caller,
                lang,
                context! { summary => summary },
                StatusCode::OK,
            )
            .await
        }
        Err(AppError::InvalidFile { message, details }) => {
            render_overview(
                &state,
                &caller,
                lang,
                context! { upload_error => message, upload_details => details },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Validation { message, .. }) => {
            render_overview(
                &state,
                &caller,
                lang,
                context! { upload_error => message },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => Err(PageError(error)),
    }
}

async fn enqueue_build(
    state: &AppState,
    caller: &Caller,
    kind: &str,
    month: &str,
) -> Result<Response, PageError> {
    caller.require_operator()?;
    let month = parse_month(month)?;
    let id = state
        .jobs
        .enqueue(build_job(kind, caller.org(), month, Some(caller.user.id)))
        .await?;
    state.worker_wake.notify_one();
    Ok(see_other(&format!("/jobs/{id}")))
}

async fn build_standard(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Path(month): Path<String>,
) -> Result<Response, PageError> {
    enqueue_build(&state, &caller, BUILD_STANDARD_JOB, &month).await
}

async fn build_unit(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Path(month): Path<String>,
) -> Result<Response, PageError> {
    // Refuse at once (not in a failed job) when the month is not ready.
    let parsed = parse_month(&month)?;
    let ready = state.inventory.month_state(caller.org(), parsed).await?;
    if ready.confirmed_at.is_none() {
        let path = format!("/inventory/{parsed}/standard");
        return back_to(
            &path,
            Err::<(), _>(AppError::Conflict(format!(
                "{parsed} is not confirmed: review its standard inventory and confirm it before building unit inventory"
            ))),
            |()| String::new(),
        );
    }
    enqueue_build(&state, &caller, BUILD_UNIT_JOB, &month).await
}

async fn confirm(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    Path(month): Path<String>,
) -> Result<Response, PageError> {
    let month = parse_month(&month)?;
    let result = state
        .inventory
        .confirm_month(caller.org(), month, Some(caller.user.id))
        .await;
    back_to(&format!("/inventory/{month}/standard"), result, |()| {
        format!("{month} {}", translate(lang, "inventory.confirmed"))
    })
}

#[derive(Debug, Default, Deserialize)]
struct StandardQuery {
    media: Option<String>,
    platform: Option<String>,
    co: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

impl StandardQuery {
    fn filter(&self) -> StandardFilter {
        StandardFilter {
            media: self.media.clone().filter(|m| !m.is_empty()),
            platform: self.platform.as_deref().and_then(Platform::parse),
            content_owner: self.co.clone().filter(|c| !c.is_empty()),
        }
    }

    fn query_string(&self) -> String {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("media", &self.media),
            ("platform", &self.platform),
            ("co", &self.co),
        ] {
            if let Some(value) = value.as_ref().filter(|v| !v.is_empty()) {
                pairs.append_pair(key, value);
            }
        }
        pairs.finish()
    }
}

async fn standard_page(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    lang: Lang,
    Path(month): Path<String>,
    Query(query): Query<StandardQuery>,
) -> Result<Response, PageError> {
    let month = parse_month(&month)?;
    let all = state.inventory.standard_rows(caller.org(), month).await?;
    let filter = query.filter();
    let mut media: Vec<&str> = all.iter().map(|r| r.media.as_str()).collect();
    media.dedup();
    let mut owners: Vec<&str> = all
        .iter()
        .filter_map(|r| r.content_owner.as_deref())
        .collect();
    owners.sort_unstable();
    owners.dedup();
    let rows: Vec<Value> = all
        .iter()
        .filter(|r| filter.matches(r))
        .map(|r| {
            let rate_class = match r.change_rate_ppm {
                Some(p) if p >= 100_000 => "rate-up-strong",
                Some(p) if p > 0 => "rate-up",
                Some(p) if p <= -100_000 => "rate-down-strong",
                Some(p) if p < 0 => "rate-down",
                _ => "rate-none",
            };
            context! {
                id => r.id, media => r.media, meta_id => r.meta_id, meta_name => r.meta_name, co => r.content_owner,
                platform => r.platform.as_str(), forecast_qty => r.forecast_qty, qty => r.qty,
                change_rate => r.change_rate_ppm.map(|p| format!("{:+.2}%", p as f64 / 10_000.0)),
                change_rate_exact => r.change_rate_ppm.map(format_ppm), rate_class => rate_class,
                edited => r.qty_edited_at.is_some(),
                percent_of_forecast => (r.forecast_qty > 0 && r.qty != r.forecast_qty).then(|| format!("{:.1}%", r.qty as f64 * 100.0 / r.forecast_qty as f64)),
            }
        })
        .collect();
    let totals = all
        .iter()
        .filter(|r| filter.matches(r))
        .fold((0i64, 0i64), |(f, q), r| (f + r.forecast_qty, q + r.qty));
    let state_of_month = state.inventory.month_state(caller.org(), month).await?;
    let audit = state
        .inventory
        .audit_entries(caller.org(), month, 50)
        .await?;
    let extra = context! {
        ..query.flash.context(),
        ..context! {
            month => month.to_string(), rows => rows, row_count => all.len(),
            media_options => media, owner_options => owners,
            platform_options => Platform::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            filter_media => query.media.clone().unwrap_or_default(), filter_platform => query.platform.clone().unwrap_or_default(),
            filter_co => query.co.clone().unwrap_or_default(), filter_query => query.query_string(),
            total_forecast => totals.0, total_qty => totals.1,
            built_at => state_of_month.built_at, confirmed_at => state_of_month.confirmed_at,
            audit => audit,
        }
    };
    Ok(page(
        &state,
        &caller,
        lang,
        "inventory_standard.html",
        "inventory",
        extra,
    )
    .await?
    .into_response())
}

#[derive(Debug, Deserialize)]
struct QtyForm {
    qty: String,
    note: Option<String>,
    back: Option<String>,
}

async fn set_qty(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    Path(id): Path<i64>,
    Form(form): Form<QtyForm>,
) -> Result<Response, PageError> {
    let back = form
        .back
        .filter(|b| b.starts_with("/inventory/") && !b.contains("//"))
        .unwrap_or_else(|| "/inventory".to_owned());
    let path = back.split('?').next().unwrap_or("/inventory").to_owned();
    let qty = form
        .qty
        .replace(',', "")
        .trim()
        .parse::<i64>()
        .map_err(|_| AppError::Validation {
            field: "qty".into(),
            message: format!("'{}' is not a whole number", form.qty),
        });
    let result = match qty {
        Ok(qty) => state
            .inventory
            .set_standard_qty(
                caller.org(),
                id,
                qty,
                Some(caller.user.id),
                form.note
                    .as_deref()
                    .unwrap_or("edited in the standard table"),
            )
            .await
            .map_err(AppError::from),
        Err(error) => Err(error),
    };
    let response = back_to(&path, result, |row| {
        format!(
            "{} {}/{} {} → {}",
            translate(lang, "admin.saved"),
            row.media,
            row.meta_id,
            row.platform,
            row.qty
        )
    })?;
    Ok(keep_query(response, &back))
}

/// Re-attaches the filter query of `back` to a redirect built for its path.
fn keep_query(mut response: Response, back: &str) -> Response {
    let Some((_, query)) = back.split_once('?') else {
        return response;
    };
    let location = response
        .headers()
        .get(axum::http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(value) = location.and_then(|l| format!("{l}&{query}").parse().ok()) {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, value);
    }
    response
}

#[derive(Debug, Deserialize)]
struct PercentForm {
    percent: String,
    media: Option<String>,
    platform: Option<String>,
    co: Option<String>,
}

async fn set_percent(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    Path(month): Path<String>,
    Form(form): Form<PercentForm>,
) -> Result<Response, PageError> {
    let month = parse_month(&month)?;
    let query = StandardQuery {
        media: form.media,
        platform: form.platform,
        co: form.co,
        flash: Flash::default(),
    };
    let back = format!("/inventory/{month}/standard");
    let percent = form
        .percent
        .trim()
        .trim_end_matches('%')
        .parse::<f64>()
        .ok()
        .filter(|p| p.is_finite())
        .map(|p| (p * 100.0).round() as i64);
    let result = match percent {
        Some(bp) => state
            .inventory
            .set_standard_percent(
                caller.org(),
                month,
                &query.filter(),
                bp,
                Some(caller.user.id),
            )
            .await
            .map_err(AppError::from),
        None => Err(AppError::Validation {
            field: "percent".into(),
            message: format!("'{}' is not a percentage", form.percent),
        }),
    };
    let response = back_to(&back, result, |changed| {
        format!("{} {changed}", translate(lang, "inventory.rows_changed"))
    })?;
    let filter = query.query_string();
    Ok(if filter.is_empty() {
        response
    } else {
        keep_query(response, &format!("{back}?{filter}"))
    })
}

#[derive(Debug, Default, Deserialize)]
struct UnitQuery {
    media: Option<String>,
    platform: Option<String>,
}

/// One day of one media x platform: summed over its meta_ids.
#[derive(Debug, Clone, Copy, Default)]
struct DaySum {
    total: i64,
    reserved: i64,
    shortfall: i64,
}

/// One media x platform calendar of the heat map.
fn calendars(month: Month, rows: &[UnitRow]) -> Vec<Value> {
    let days = month.days();
    let mut grouped: BTreeMap<(String, Platform), Vec<DaySum>> = BTreeMap::new();
    for row in rows {
        let per_day = grouped
            .entry((row.media.clone(), row.platform))
            .or_insert_with(|| vec![DaySum::default(); days.len()]);
        let index = row
            .date
            .get(8..10)
            .and_then(|d| d.parse::<usize>().ok())
            .and_then(|d| d.checked_sub(1));
        if let Some(slot) = index.and_then(|i| per_day.get_mut(i)) {
            slot.total += row.total;
            slot.reserved += row.reserved;
            slot.shortfall += row.shortfall;
        }
    }
    let lead = days
        .first()
        .map_or(0, |d| d.naive().weekday().num_days_from_monday() as usize);
    grouped
        .into_iter()
        .map(|((media, platform), per_day)| {
            let mut cells: Vec<Value> = vec![Value::from(()); lead];
            for (index, day) in per_day.iter().enumerate() {
                let available = day.total - day.reserved;
                let level = if day.total <= 0 { 0 } else { ((available.max(0) * 4 + day.total - 1) / day.total).clamp(0, 4) };
                cells.push(context! {
                    day => index + 1, date => days.get(index).map(ToString::to_string), total => day.total,
                    reserved => day.reserved, available => available, level => level,
                    oversold => day.shortfall > 0, shortfall => day.shortfall,
                });
            }
            while !cells.len().is_multiple_of(7) {
                cells.push(Value::from(()));
            }
            let weeks: Vec<Vec<Value>> = cells.chunks(7).map(<[Value]>::to_vec).collect();
            let total: i64 = per_day.iter().map(|d| d.total).sum();
            let reserved: i64 = per_day.iter().map(|d| d.reserved).sum();
            context! {
                media => media, platform => platform.as_str(), weeks => weeks, total => total, reserved => reserved,
                available => total - reserved, oversold_days => per_day.iter().filter(|d| d.shortfall > 0).count(),
            }
        })
        .collect()
}

async fn unit_page(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    lang: Lang,
    Path(month): Path<String>,
    Query(query): Query<UnitQuery>,
) -> Result<Response, PageError> {
    let month = parse_month(&month)?;
    let media_filter = query.media.filter(|m| !m.is_empty());
    let platform_filter = query.platform.as_deref().and_then(Platform::parse);
    let all = state.inventory.unit_rows(caller.org(), month).await?;
    let mut media: Vec<String> = all.iter().map(|r| r.media.clone()).collect();
    media.dedup();
    let rows: Vec<UnitRow> = all
        .into_iter()
        .filter(|r| {
            media_filter.as_ref().is_none_or(|m| *m == r.media)
                && platform_filter.is_none_or(|p| p == r.platform)
        })
        .collect();
    let weekdays: Vec<String> = (0..7)
        .map(|i| translate(lang, &format!("weekday.{i}")))
        .collect();
    let extra = context! {
        month => month.to_string(), calendars => calendars(month, &rows), weekdays => weekdays,
        media_options => media, platform_options => Platform::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        filter_media => media_filter.unwrap_or_default(), filter_platform => platform_filter.map(Platform::as_str).unwrap_or_default(),
    };
    Ok(page(
        &state,
        &caller,
        lang,
        "inventory_unit.html",
        "inventory",
        extra,
    )
    .await?
    .into_response())
}
