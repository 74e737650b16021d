//! Shop pages: `/shops` (the sales dashboard by day, week, month or year with the change
//! against the previous period, per platform, product and category; the stores and their last
//! runs; registering a store), `/shops/sales.csv`, and `/shops/stores/{id}` (a store, its run
//! history, and for Ably stores the export upload).

use std::collections::BTreeMap;

use adpool_commerce::sales::{Dashboard, Period, PeriodRow, dashboard, series_csv};
use adpool_commerce::{NewStore, Platform};
use adpool_core::BusinessDate;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;
use serde::Deserialize;

use super::inventory::{MAX_UPLOAD_BYTES, save_upload_with};
use super::{Flash, PageError, back_to, see_other};
use crate::auth::PageCaller;
use crate::auth::{Operator, PageOperator, Staff};
use crate::render::page;
use crate::{AppError, AppState, Caller, Lang};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/shops", get(overview))
        .route("/shops/sales.csv", get(sales_csv))
        .route("/shops/stores", post(create_store))
        .route("/shops/stores/{id}", get(store_page))
        .route("/shops/stores/{id}/sync", post(sync_now))
        // A link, not a form: the page's CSP (`form-action 'self'`) would stop a form whose
        // answer redirects to Cafe24. Following it changes nothing here: it only seals a
        // state for this person and sends them to Cafe24's consent page.
        .route("/shops/stores/{id}/cafe24/connect", get(cafe24_connect))
        .route("/shops/oauth/cafe24", get(cafe24_callback))
        .route(
            "/shops/stores/{id}/import",
            post(import_export).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DashboardQuery {
    period: Option<String>,
    day: Option<String>,
    // Text: numbers inside a flattened query arrive as strings.
    store: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

/// The sales API's query, as documented (the handler reads [`DashboardQuery`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct SalesParams {
    /// day, week, month (default) or year.
    #[param(schema_with = super::api_words::or_empty::<super::api_words::PeriodWord>)]
    period: Option<String>,
    /// The last period contains this KST day (default today).
    #[param(schema_with = super::api_words::optional_day)]
    day: Option<String>,
    /// One store's id.
    #[param(schema_with = super::api_words::optional_id)]
    store: Option<i64>,
}

/// How many periods the chart and the CSV cover.
fn history(period: Period) -> usize {
    match period {
        Period::Day => 30,
        Period::Week | Period::Month => 12,
        Period::Year => 5,
    }
}

async fn load(
    state: &AppState,
    caller: &Caller,
    query: &DashboardQuery,
) -> Result<(Period, BusinessDate, Dashboard), AppError> {
    caller.require_staff()?;
    let period = match query.period.as_deref().filter(|p| !p.is_empty()) {
        None => Period::Month,
        Some(text) => Period::parse(text).ok_or_else(|| AppError::Validation {
            field: "period".into(),
            message: format!("'{text}' is not day, week, month or year"),
        })?,
    };
    let today = BusinessDate::from_utc_millis(state.clock.now_millis());
    let day = super::cpc_api::day_or(query.day.as_deref(), today)?;
    let store = match query
        .store
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "0")
    {
        None => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| AppError::Validation {
            field: "store".into(),
            message: format!("'{text}' is not a store id"),
        })?),
    };
    if let Some(id) = store {
        state.shops.store(caller.org(), id).await?;
    }
    let dashboard = dashboard(
        state.shops.db(),
        caller.org(),
        store,
        period,
        day,
        history(period),
    )
    .await?;
    Ok((period, day, dashboard))
}

/// Revenue per period as SVG bars stacked by platform.
fn chart(series: &[PeriodRow]) -> minijinja::Value {
    const WIDTH: f64 = 600.0;
    const HEIGHT: f64 = 140.0;
    let top = series
        .iter()
        .map(|r| r.totals.revenue)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = WIDTH / series.len().max(1) as f64;
    let bars: Vec<minijinja::Value> = series
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut y = HEIGHT;
            let parts: Vec<minijinja::Value> = Platform::ALL
                .iter()
                .filter_map(|p| {
                    let revenue = row.by_platform.get(p.as_str())?.revenue;
                    let h = revenue as f64 / top * HEIGHT;
                    y -= h;
                    Some(context! {
                        platform => p.as_str(), label => p.label(), revenue => revenue,
                        y => format!("{y:.1}"), h => format!("{h:.1}"),
                    })
                })
                .collect();
            context! {
                label => row.label, x => format!("{:.1}", i as f64 * slot),
                w => format!("{:.1}", (slot - 3.0).max(1.0)), parts => parts,
                revenue => row.totals.revenue, orders => row.totals.orders,
            }
        })
        .collect();
    context! { bars => bars, width => WIDTH, height => HEIGHT, top => top as i64 }
}

async fn overview(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    lang: Lang,
    Query(query): Query<DashboardQuery>,
) -> Result<Response, PageError> {
    let (period, day, dashboard) = load(&state, &caller, &query).await?;
    let stores = state.shops.stores(caller.org()).await?;
    let mut last_runs = BTreeMap::new();
    for store in &stores {
        if let Some(run) = state
            .shops
            .runs(caller.org(), store.id, 1)
            .await?
            .into_iter()
            .next()
        {
            last_runs.insert(store.id.to_string(), run);
        }
    }
    let platforms: Vec<minijinja::Value> = Platform::ALL
        .iter()
        .map(|p| {
            let current = dashboard.series.last().and_then(|r| r.by_platform.get(p.as_str()));
            context! {
                key => p.as_str(), label => p.label(),
                revenue => current.map_or(0, |t| t.revenue), orders => current.map_or(0, |t| t.orders),
            }
        })
        .collect();
    let extra = context! { ..query.flash.context(), ..context! {
        period => period.as_str(), day => day.to_string(), store => query.store.as_deref().and_then(|s| s.parse::<i64>().ok()).unwrap_or(0),
        periods => ["day", "week", "month", "year"],
        current => dashboard.current, previous => dashboard.previous,
        current_aov => dashboard.current.average_order_value(),
        previous_aov => dashboard.previous.average_order_value(),
        revenue_change => dashboard.revenue_change, orders_change => dashboard.orders_change,
        aov_change => dashboard.aov_change,
        current_label => dashboard.series.last().map(|r| r.label.clone()),
        chart => chart(&dashboard.series), series => dashboard.series,
        top_products => dashboard.top_products, by_category => dashboard.by_category,
        platforms => platforms, stores => stores, last_runs => last_runs,
        platform_options => Platform::ALL.iter().map(|p| context! { key => p.as_str(), label => p.label() }).collect::<Vec<_>>(),
    } };
    Ok(page(&state, &caller, lang, "shops.html", "shops", extra)
        .await?
        .into_response())
}

async fn sales_csv(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Query(query): Query<DashboardQuery>,
) -> Result<Response, PageError> {
    let (period, day, dashboard) = load(&state, &caller, &query).await?;
    let name = format!("sales-{}-{day}.csv", period.as_str());
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        series_csv(&dashboard.series),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct StoreForm {
    platform: String,
    name: String,
    mall_id: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
}

async fn create_store(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    Form(form): Form<StoreForm>,
) -> Result<Response, PageError> {
    let result = async {
        let platform: Platform = form.platform.parse()?;
        let credentials = (platform != Platform::Ably).then(|| {
            serde_json::json!({
                "client_id": form.client_id.trim(),
                "client_secret": form.client_secret.trim(),
            })
        });
        state
            .shops
            .create_store(
                caller.org(),
                NewStore {
                    platform,
                    name: form.name,
                    mall_id: form.mall_id,
                    credentials,
                },
                Some(caller.user.id),
            )
            .await
    }
    .await;
    match result {
        Ok(store) => Ok(see_other(&super::with_flash(
            &format!("/shops/stores/{}", store.id),
            "flash",
            &crate::i18n::translate(lang, "shops.registered").replace("{name}", &store.name),
        ))),
        Err(error) => back_to("/shops", Err::<(), _>(error), |()| String::new()),
    }
}

async fn render_store(
    state: &AppState,
    caller: &Caller,
    lang: Lang,
    id: i64,
    extra: minijinja::Value,
    status: StatusCode,
) -> Result<Response, PageError> {
    caller.require_staff()?;
    let store = state.shops.store(caller.org(), id).await?;
    let runs = state.shops.runs(caller.org(), id, 50).await?;
    let cursor = state.shops.orders_cursor(id).await?.map(|c| c.to_string());
    let connection = if store.platform == Platform::Cafe24 {
        Some(state.shops.cafe24_connection(&store).await?)
    } else {
        None
    };
    let needs_connect = connection.as_ref().is_some_and(|c| !c.connected);
    let health = store_health(state, &runs, connection.as_ref(), lang);
    let lines = state.shops.line_statuses(caller.org(), id).await?;
    let has_unknown = lines
        .iter()
        .any(|s| s.status == adpool_commerce::OrderStatus::Unknown);
    let statuses: Vec<minijinja::Value> = lines
        .into_iter()
        .map(|s| {
            context! {
                label => crate::i18n::translate(lang, &format!("order_status.{}", s.status.as_str())),
                sale => s.status.counts_as_sale(),
                unknown => s.status == adpool_commerce::OrderStatus::Unknown,
                code => s.code, orders => s.orders, lines => s.lines,
            }
        })
        .collect();
    let extra = context! { ..extra, ..context! {
        shop => store, platform_label => store.platform.label(), runs => runs,
        is_ably => store.platform == Platform::Ably, can_sync => store.platform != Platform::Ably,
        cursor => cursor, needs_connect => needs_connect, health => health,
        statuses => statuses, has_unknown => has_unknown,
        settle_days => state.shop_sync.settle_days,
    } };
    let mut response = page(state, caller, lang, "shop_store.html", "shops", extra)
        .await?
        .into_response();
    *response.status_mut() = status;
    Ok(response)
}

/// What the store page says about a store's connection: the last successful sync, what the
/// last run noticed (missing scopes, skipped shops, catalog failures), an address Naver
/// refused, and for Cafe24 the missing scopes and when the connection expires. Each line is
/// `(kind, text)`, kind `ok`, `warn` or `error`, in the reader's language.
fn store_health(
    state: &AppState,
    runs: &[adpool_commerce::SyncRun],
    connection: Option<&adpool_commerce::cafe24::Cafe24Connection>,
    lang: Lang,
) -> Vec<(&'static str, String)> {
    use crate::i18n::translate as t;
    let mut out = Vec::new();
    match runs.iter().find(|r| r.state == "succeeded") {
        Some(run) => out.push((
            "ok",
            t(lang, "shops.health_last_success").replace(
                "{when}",
                &adpool_core::format_kst_datetime(run.finished_at.unwrap_or(run.started_at)),
            ),
        )),
        None => out.push(("warn", t(lang, "shops.health_never"))),
    }
    if let Some(last) = runs.first() {
        for note in &last.notes {
            let (scope, step) = note.detail.split_once(": ").unwrap_or(("", &note.detail));
            let text = match note.code.as_str() {
                "missing_scope" => t(lang, "shops.note_missing_scope")
                    .replace("{scope}", scope)
                    .replace("{step}", step),
                "shop_skipped" => {
                    t(lang, "shops.note_shop_skipped").replace("{shop}", &note.detail)
                }
                _ => t(lang, "shops.note_catalog_failed").replace("{detail}", &note.detail),
            };
            out.push(("warn", text));
        }
        if last.state == "failed"
            && last
                .error
                .as_deref()
                .is_some_and(|e| e.contains("GW.IP_NOT_ALLOWED"))
        {
            let address = state
                .shop_sync
                .naver
                .outbound_ip
                .clone()
                .unwrap_or_else(|| t(lang, "shops.health_address_unknown"));
            out.push((
                "error",
                t(lang, "shops.health_ip").replace("{address}", &address),
            ));
        }
    }
    if let Some(c) = connection
        && c.connected
    {
        for scope in &c.missing_scopes {
            out.push((
                "warn",
                t(lang, "shops.health_scope").replace("{scope}", scope),
            ));
        }
        if let Some(expires) = &c.refresh_token_expires_at {
            out.push((
                "ok",
                t(lang, "shops.health_expires").replace(
                    "{when}",
                    expires
                        .get(..16)
                        .unwrap_or(expires)
                        .replace('T', " ")
                        .as_str(),
                ),
            ));
        }
        out.push((
            "ok",
            t(
                lang,
                if c.own_app {
                    "shops.health_own_app"
                } else {
                    "shops.health_deployment_app"
                },
            ),
        ));
    }
    out
}

async fn store_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    lang: Lang,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    render_store(&state, &caller, lang, id, flash.context(), StatusCode::OK).await
}

/// Where Cafe24 sends the person back after consent.
fn cafe24_redirect(state: &AppState, headers: &axum::http::HeaderMap) -> String {
    format!(
        "{}/shops/oauth/cafe24",
        super::serve::public_base(state, headers)
    )
}

/// Starts connecting a Cafe24 store: off to Cafe24's consent page.
async fn cafe24_connect(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let url = state
        .shops
        .cafe24_authorize_url(
            caller.org(),
            id,
            caller.user.id,
            &cafe24_redirect(&state, &headers),
            &state.shop_sync.cafe24,
        )
        .await?;
    Ok(see_other(&url))
}

#[derive(Debug, Deserialize)]
struct ConsentQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    /// Set when the person declined on Cafe24's page.
    error: Option<String>,
}

/// Cafe24 comes back here with a code: trade it for tokens, back to the store.
async fn cafe24_callback(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    headers: axum::http::HeaderMap,
    Query(query): Query<ConsentQuery>,
) -> Result<Response, PageError> {
    if let Some(reason) = query.error {
        return back_to(
            "/shops",
            Err::<(), _>(AppError::Conflict(format!(
                "Cafe24 did not authorize adpool: {reason}"
            ))),
            |()| String::new(),
        );
    }
    let result = state
        .shops
        .cafe24_connect(
            caller.org(),
            caller.user.id,
            &query.state,
            &query.code,
            &cafe24_redirect(&state, &headers),
            &state.shop_sync.cafe24,
        )
        .await;
    match result {
        Ok(store) => Ok(see_other(&super::with_flash(
            &format!("/shops/stores/{}", store.id),
            "flash",
            &crate::i18n::translate(lang, "shops.connected").replace("{name}", &store.name),
        ))),
        Err(error) => back_to("/shops", Err::<(), _>(error), |()| String::new()),
    }
}

/// Syncs a store now, in a background job whose page shows the progress.
async fn sync_now(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let store = state.shops.store(caller.org(), id).await?;
    if store.platform == Platform::Ably {
        return back_to(
            &format!("/shops/stores/{id}"),
            Err::<(), _>(AppError::Conflict(format!(
                "{} has no API: upload its order export instead",
                store.platform.label()
            ))),
            |()| String::new(),
        );
    }
    let job = state
        .jobs
        .enqueue(adpool_commerce::sync_job(
            caller.org(),
            id,
            None,
            Some(caller.user.id),
        ))
        .await
        .map_err(AppError::from)?;
    state.worker_wake.notify_one();
    Ok(see_other(&format!("/jobs/{job}")))
}

async fn import_export(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    Path(id): Path<i64>,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let result = async {
        let (_folder, path, name, fields) =
            save_upload_with(multipart, &["accept_unknown_statuses"]).await?;
        let accept = fields.contains_key("accept_unknown_statuses");
        Ok::<_, AppError>(
            state
                .shops
                .import_ably(caller.org(), id, &path, &name, accept)
                .await?,
        )
    }
    .await;
    match result {
        Ok(counts) => Ok(see_other(&super::with_flash(
            &format!("/shops/stores/{id}"),
            "flash",
            &format!(
                "imported {} order lines: {} new orders, {} updated",
                counts.fetched, counts.inserted, counts.updated
            ),
        ))),
        Err(AppError::InvalidFile { message, details }) => {
            render_store(
                &state,
                &caller,
                lang,
                id,
                context! { upload_error => message, upload_details => details },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Validation { message, .. }) => {
            render_store(
                &state,
                &caller,
                lang,
                id,
                context! { upload_error => message },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => Err(PageError(error)),
    }
}

/// `/api/v1/shops/...`: stores, their runs, syncs and the sales dashboard as JSON.
pub(super) fn api_router() -> Router<AppState> {
    Router::new()
        .route("/shops/stores", get(api_stores).post(api_create_store))
        .route("/shops/stores/{id}/runs", get(api_runs))
        .route("/shops/stores/{id}/sync", post(api_sync))
        .route("/shops/sales", get(api_sales))
}

#[utoipa::path(get, path = "/api/v1/shops/stores", tag = "shops",
    responses((status = 200, description = "the organization's stores (credentials are never returned)", body = Object)))]
pub(crate) async fn api_stores(
    State(state): State<AppState>,
    Staff(caller): Staff,
) -> Result<axum::Json<serde_json::Value>, AppError> {
    Ok(axum::Json(
        serde_json::json!({ "stores": state.shops.stores(caller.org()).await? }),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewStoreBody {
    #[schema(value_type = super::api_words::PlatformWord)]
    platform: String,
    #[schema(pattern = "[^\\s\\u0085]", max_length = 100)]
    name: String,
    /// Cafe24: the mall id (`[a-z0-9-]`, 1 to 50); Naver: the seller's channel; Ably: a name.
    #[schema(pattern = "^[^\\s\\x00-\\x1f\\x7f-\\x9f]+$", max_length = 100)]
    mall_id: String,
    /// Cafe24 / Naver: `{"client_id", "client_secret"}` (sealed, never returned).
    #[serde(default)]
    credentials: Option<serde_json::Value>,
}

#[utoipa::path(post, path = "/api/v1/shops/stores", tag = "shops",
    request_body = NewStoreBody,
    responses((status = 201, description = "registered", body = Object), (status = 409, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn api_create_store(
    State(state): State<AppState>,
    Operator(caller): Operator,
    super::api::ApiJson(body): super::api::ApiJson<NewStoreBody>,
) -> Result<Response, AppError> {
    let store = state
        .shops
        .create_store(
            caller.org(),
            NewStore {
                platform: body.platform.parse()?,
                name: body.name,
                mall_id: body.mall_id,
                credentials: body.credentials,
            },
            Some(caller.user.id),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(store)).into_response())
}

#[utoipa::path(get, path = "/api/v1/shops/stores/{id}/runs", tag = "shops", params(("id" = i64, Path)),
    responses((status = 200, description = "the store's latest 50 syncs and imports, newest first", body = Object), (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn api_runs(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path(id): Path<i64>,
) -> Result<axum::Json<serde_json::Value>, AppError> {
    state.shops.store(caller.org(), id).await?;
    Ok(axum::Json(
        serde_json::json!({ "runs": state.shops.runs(caller.org(), id, 50).await? }),
    ))
}

#[utoipa::path(post, path = "/api/v1/shops/stores/{id}/sync", tag = "shops", params(("id" = i64, Path)),
    responses((status = 202, description = "a sync job was queued: `{job_id}`", body = Object), (status = 409, body = crate::ErrorBody)))]
pub(crate) async fn api_sync(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let store = state.shops.store(caller.org(), id).await?;
    if store.platform == Platform::Ably {
        return Err(AppError::Conflict(
            "Ably has no API: upload its order export instead".into(),
        ));
    }
    let job = state
        .jobs
        .enqueue(adpool_commerce::sync_job(
            caller.org(),
            id,
            None,
            Some(caller.user.id),
        ))
        .await?;
    state.worker_wake.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({ "job_id": job.get() })),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/shops/sales", tag = "shops",
    params(SalesParams),
    responses((status = 200, description = "totals for the period to date and the same days of the previous period, changes, series by platform, top products, categories", body = Object)))]
pub(crate) async fn api_sales(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<DashboardQuery>,
) -> Result<axum::Json<Dashboard>, AppError> {
    let (_, _, dashboard) = load(&state, &caller, &query).await?;
    Ok(axum::Json(dashboard))
}
