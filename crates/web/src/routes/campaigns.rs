//! Campaign pages and `/api/v1/campaigns`: campaigns, their lines (purchases) and ads.

use std::collections::BTreeMap;

use adpool_inventory::{CoShare, GroupShare, NewCampaign, Policy, PurchaseRequest, Status};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::api::ApiJson;
use super::{Flash, PageError, back_to, see_other, with_flash};
use crate::auth::{Operator, PageOperator, PageStaff, Staff};
use crate::render::page;
use crate::{AppError, AppState, Caller, Lang, translate};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list_page).post(create_page))
        .route("/campaigns/{id}", get(detail_page))
        .route("/campaigns/{id}/proposal.xlsx", get(proposal_page))
        .route("/campaigns/{id}/lines", post(add_line_page))
        .route("/campaigns/lines/{id}/book", post(book_line_page))
        .route("/campaigns/lines/{id}/ads", post(add_ad_page))
        .route("/campaigns/ads/{id}", post(ad_status_page))
}

pub(super) fn api_router() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list).post(create))
        .route("/campaigns/{id}", get(detail))
        .route("/campaigns/{id}/proposal.xlsx", get(proposal))
        .route("/campaigns/{id}/lines", post(add_line))
        .route("/lines/{id}/book", post(book_line))
        .route("/lines/{id}/ads", post(add_ad))
        .route("/ads/{id}", patch(set_ad_status))
        .route("/lines/{id}/pacing", get(pacing))
        .route("/delivery-reports", post(delivery_reports))
}

/// Delivery reports from an external ad server.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeliveryBatch {
    /// `{ line_id, date, impressions, clicks, views }` per line and day; a day posted again
    /// replaces the earlier figures.
    reports: Vec<adpool_inventory::DeliveryReport>,
}

#[utoipa::path(post, path = "/api/v1/delivery-reports", tag = "campaigns", request_body = DeliveryBatch,
    responses((status = 200, description = "how many were recorded", body = Object), (status = 403, body = crate::ErrorBody),
              (status = 422, description = "refused whole; error.details.problems names each report", body = crate::ErrorBody)))]
pub(crate) async fn delivery_reports(
    State(state): State<AppState>,
    Operator(caller): Operator,
    ApiJson(batch): ApiJson<DeliveryBatch>,
) -> Result<Json<serde_json::Value>, AppError> {
    let recorded = state
        .inventory
        .record_delivery(caller.org(), &batch.reports)
        .await?;
    Ok(Json(serde_json::json!({ "recorded": recorded })))
}

#[utoipa::path(get, path = "/api/v1/lines/{id}/pacing", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, description = "booked against delivered per day, and the verdict", body = Object), (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn pacing(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path(id): Path<i64>,
) -> Result<Json<adpool_inventory::Pacing>, AppError> {
    Ok(Json(state.inventory.pacing(caller.org(), id).await?))
}

/// A pacing chart: cumulative booked and delivered impressions as SVG polyline points.
fn pacing_chart(pacing: &adpool_inventory::Pacing) -> minijinja::Value {
    const WIDTH: f64 = 560.0;
    const HEIGHT: f64 = 120.0;
    let (mut booked, mut delivered) = (0i64, 0i64);
    let cumulative: Vec<(i64, i64)> = pacing
        .days
        .iter()
        .map(|d| {
            booked += d.booked;
            delivered += d.delivered;
            (booked, delivered)
        })
        .collect();
    let top = cumulative
        .iter()
        .map(|(b, d)| (*b).max(*d))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let step = if cumulative.len() > 1 {
        WIDTH / (cumulative.len() - 1) as f64
    } else {
        0.0
    };
    let points = |pick: fn(&(i64, i64)) -> i64| {
        cumulative
            .iter()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "{:.1},{:.1}",
                    i as f64 * step,
                    HEIGHT - pick(c) as f64 / top * HEIGHT
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let reported = pacing
        .days
        .iter()
        .take_while(|d| d.delivered > 0 || d.booked == 0)
        .count()
        .max(1);
    let delivered_points = cumulative
        .iter()
        .take(reported)
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * step,
                HEIGHT - c.1 as f64 / top * HEIGHT
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    minijinja::context! {
        booked => points(|c| c.0), delivered => delivered_points, width => WIDTH, height => HEIGHT,
        verdict => serde_json::to_value(pacing.verdict).ok().and_then(|v| v.as_str().map(str::to_owned)),
        percent => pacing.percent, expected => pacing.expected_to_date, delivered_total => pacing.delivered_to_date,
        first => pacing.days.first().map(|d| d.date.clone()), last => pacing.days.last().map(|d| d.date.clone()),
    }
}

/// Filters of the campaign list.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub(crate) struct CampaignQuery {
    #[param(schema_with = super::api_words::or_empty::<super::api_words::CampaignStatusWord>)]
    status: Option<String>,
    advertiser: Option<String>,
}

fn parse_status(text: Option<&str>) -> Result<Option<Status>, AppError> {
    match text.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Status::parse(s)
            .map(Some)
            .ok_or_else(|| AppError::Validation {
                field: "status".into(),
                message: format!("'{s}' is not a status"),
            }),
    }
}

/// Create a campaign.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateCampaign {
    #[schema(pattern = "[^\\s\\u0085]", max_length = 200)]
    advertiser: String,
    #[schema(pattern = "[^\\s\\u0085]", max_length = 200)]
    name: String,
    /// First day (KST), in the years 2000 to 2099.
    #[schema(format = Date)]
    start: String,
    /// Last day, on or after `start`.
    #[schema(format = Date)]
    end: String,
    /// Won.
    #[schema(minimum = 0)]
    total_budget: i64,
}

/// Add a line: a name and a purchase request (docs/purchases.md).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateLine {
    #[schema(pattern = "[^\\s\\u0085]")]
    name: String,
    request: PurchaseRequest,
}

/// Add an ad under a line.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateAd {
    #[schema(pattern = "[^\\s\\u0085]")]
    name: String,
    creative_url: Option<String>,
}

/// Change an ad's status.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdStatusChange {
    #[schema(value_type = super::api_words::CampaignStatusWord)]
    status: String,
}

/// A campaign with its lines and ads.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CampaignDetail {
    #[schema(value_type = Object)]
    campaign: adpool_inventory::Campaign,
    #[schema(value_type = Vec<Object>)]
    lines: Vec<adpool_inventory::Line>,
    #[schema(value_type = Vec<Object>)]
    ads: Vec<adpool_inventory::Ad>,
}

#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", params(CampaignQuery), responses((status = 200, body = [Object])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Query(query): Query<CampaignQuery>,
) -> Result<Json<Vec<adpool_inventory::Campaign>>, AppError> {
    let status = parse_status(query.status.as_deref())?;
    let advertiser = query.advertiser.as_deref().filter(|a| !a.is_empty());
    Ok(Json(
        state
            .inventory
            .campaigns(caller.org(), status, advertiser)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", request_body = CreateCampaign,
    responses((status = 201, body = Object), (status = 403, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Operator(caller): Operator,
    ApiJson(body): ApiJson<CreateCampaign>,
) -> Result<Response, AppError> {
    let new = NewCampaign {
        advertiser: body.advertiser,
        name: body.name,
        start: body.start,
        end: body.end,
        total_budget: body.total_budget,
        owner: Some(caller.user.id),
    };
    Ok((
        StatusCode::CREATED,
        Json(state.inventory.create_campaign(caller.org(), new).await?),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)), responses((status = 200, body = CampaignDetail), (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn detail(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path(id): Path<i64>,
) -> Result<Json<CampaignDetail>, AppError> {
    let campaign = state.inventory.campaign(caller.org(), id).await?;
    let lines = state.inventory.lines(caller.org(), id).await?;
    let ads = state.inventory.ads(caller.org(), id).await?;
    Ok(Json(CampaignDetail {
        campaign,
        lines,
        ads,
    }))
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/lines", tag = "campaigns", params(("id" = i64, Path)), request_body = CreateLine,
    responses((status = 201, body = Object), (status = 404, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn add_line(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<CreateLine>,
) -> Result<Response, AppError> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .inventory
                .add_line(caller.org(), id, &body.name, body.request)
                .await?,
        ),
    )
        .into_response())
}

/// `?dry_run=true` computes the booking tree and reserves nothing.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub(crate) struct BookQuery {
    dry_run: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/lines/{id}/book", tag = "campaigns", params(("id" = i64, Path), BookQuery),
    responses((status = 201, description = "booked: the result tree", body = Object), (status = 200, description = "dry run", body = Object),
              (status = 409, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn book_line(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Path(id): Path<i64>,
    Query(query): Query<BookQuery>,
) -> Result<Response, AppError> {
    let dry_run = query.dry_run.unwrap_or(false);
    let result = state
        .inventory
        .book_line(caller.org(), id, dry_run, Some(caller.user.id))
        .await?;
    Ok(super::purchases::purchase_response(result, dry_run))
}

#[utoipa::path(post, path = "/api/v1/lines/{id}/ads", operation_id = "add_line_ad", tag = "campaigns", params(("id" = i64, Path)), request_body = CreateAd,
    responses((status = 201, body = Object), (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn add_ad(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<CreateAd>,
) -> Result<Response, AppError> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .inventory
                .add_ad(caller.org(), id, &body.name, body.creative_url.as_deref())
                .await?,
        ),
    )
        .into_response())
}

#[utoipa::path(patch, path = "/api/v1/ads/{id}", tag = "campaigns", params(("id" = i64, Path)), request_body = AdStatusChange,
    responses((status = 200, description = "the ad and its campaign's status", body = Object), (status = 404, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn set_ad_status(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<AdStatusChange>,
) -> Result<Json<serde_json::Value>, AppError> {
    let status = parse_status(Some(&body.status))?.ok_or_else(|| AppError::Validation {
        field: "status".into(),
        message: "must not be empty".into(),
    })?;
    let (ad, changed) = state
        .inventory
        .set_ad_status(caller.org(), id, status)
        .await?;
    let campaign = state
        .inventory
        .campaign(caller.org(), ad.campaign_id)
        .await?;
    Ok(Json(
        serde_json::json!({ "ad": ad, "campaign_status": campaign.status, "campaign_status_changed": changed.is_some() }),
    ))
}

async fn list_page(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    lang: Lang,
    Query(query): Query<CampaignQuery>,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    let status = parse_status(query.status.as_deref())?;
    let advertiser = query.advertiser.clone().filter(|a| !a.is_empty());
    let campaigns = state
        .inventory
        .campaigns(caller.org(), status, advertiser.as_deref())
        .await?;
    let extra = context! {
        ..flash.context(),
        ..context! {
            campaigns => campaigns,
            statuses => Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            filter_status => status.map(Status::as_str), filter_advertiser => advertiser,
        }
    };
    Ok(
        page(&state, &caller, lang, "campaigns.html", "campaigns", extra)
            .await?
            .into_response(),
    )
}

#[derive(Debug, Deserialize)]
struct CampaignForm {
    advertiser: String,
    name: String,
    start: String,
    end: String,
    total_budget: String,
}

async fn create_page(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Form(form): Form<CampaignForm>,
) -> Result<Response, PageError> {
    let budget = form
        .total_budget
        .parse::<adpool_core::Won>()
        .map_err(|e| AppError::Validation {
            field: "total_budget".into(),
            message: e.to_string(),
        });
    let result = match budget {
        Ok(budget) => {
            let new = NewCampaign {
                advertiser: form.advertiser,
                name: form.name,
                start: form.start,
                end: form.end,
                total_budget: budget.get(),
                owner: Some(caller.user.id),
            };
            state
                .inventory
                .create_campaign(caller.org(), new)
                .await
                .map_err(AppError::from)
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(campaign) => Ok(see_other(&format!("/campaigns/{}", campaign.id))),
        Err(error) => back_to("/campaigns", Err::<(), _>(error), |()| String::new()),
    }
}

async fn detail_page(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    lang: Lang,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    let campaign = state.inventory.campaign(caller.org(), id).await?;
    let lines = state.inventory.lines(caller.org(), id).await?;
    let ads = state.inventory.ads(caller.org(), id).await?;
    let catalog = state.inventory.catalog(caller.org()).await?;
    let mut charts = BTreeMap::new();
    for line in lines.iter().filter(|l| l.booking_id.is_some()) {
        charts.insert(
            line.id.to_string(),
            pacing_chart(&state.inventory.pacing(caller.org(), line.id).await?),
        );
    }
    let extra = context! {
        ..flash.context(),
        ..context! {
            campaign => campaign, lines => lines, ads => ads, charts => charts,
            products => catalog.products, groups => catalog.targeting_groups, owners => catalog.content_owners,
            platforms => adpool_inventory::Platform::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            statuses => Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        }
    };
    Ok(
        page(&state, &caller, lang, "campaign.html", "campaigns", extra)
            .await?
            .into_response(),
    )
}

/// The line form: fixed fields plus `platform_X=on`, `group_CODE=percent`, `co_CODE=percent`.
async fn add_line_page(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    Path(id): Path<i64>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let back = format!("/campaigns/{id}");
    let field = |name: &str| {
        form.get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let percent_bp = |value: &str| {
        value
            .trim_end_matches('%')
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(|v| (v * 100.0).round() as i64)
    };
    let amount = field("amount").parse::<adpool_core::Won>();
    let Ok(amount) = amount else {
        return back_to(
            &back,
            Err::<(), _>(AppError::Validation {
                field: "amount".into(),
                message: format!("'{}' is not an amount of won", field("amount")),
            }),
            |()| String::new(),
        );
    };
    let shares = |prefix: &str| -> Vec<(String, i64)> {
        form.iter()
            .filter_map(|(k, v)| {
                Some((
                    k.strip_prefix(prefix)?.to_owned(),
                    percent_bp(v).unwrap_or(0),
                ))
            })
            .filter(|(_, bp)| *bp != 0)
            .collect()
    };
    let request = PurchaseRequest {
        product: field("product"),
        amount: amount.get(),
        start: field("start"),
        end: field("end"),
        platforms: form
            .iter()
            .filter_map(|(k, v)| {
                (v == "on")
                    .then(|| k.strip_prefix("platform_").map(str::to_owned))
                    .flatten()
            })
            .collect(),
        targeting_groups: shares("group_")
            .into_iter()
            .map(|(code, weight_bp)| GroupShare { code, weight_bp })
            .collect(),
        content_owners: shares("co_")
            .into_iter()
            .map(|(code, ratio_bp)| CoShare { code, ratio_bp })
            .collect(),
        policy: if field("policy") == "partial" {
            Policy::Partial
        } else {
            Policy::AllOrNothing
        },
    };
    let result = state
        .inventory
        .add_line(caller.org(), id, &field("name"), request)
        .await;
    back_to(&back, result, |line| {
        format!("{} {}", translate(lang, "admin.saved"), line.name)
    })
}

#[derive(Debug, Deserialize)]
struct BookForm {
    campaign: i64,
    dry_run: Option<String>,
}

async fn book_line_page(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Path(id): Path<i64>,
    Form(form): Form<BookForm>,
) -> Result<Response, PageError> {
    let back = format!("/campaigns/{}", form.campaign);
    let dry_run = form.dry_run.is_some();
    match state
        .inventory
        .book_line(caller.org(), id, dry_run, Some(caller.user.id))
        .await
    {
        Ok(result) if result.committed => Ok(see_other(&format!(
            "/inventory/bookings/{}",
            result.booking_id.unwrap_or_default()
        ))),
        Ok(result) if dry_run => Ok(see_other(&with_flash(
            &back,
            "flash",
            &format!(
                "dry run: {} impressions fit, {} short",
                result.booked, result.shortage
            ),
        ))),
        Ok(result) => Ok(see_other(&with_flash(
            &back,
            "error",
            &format!(
                "not booked: {} impressions short; nothing was reserved",
                result.shortage
            ),
        ))),
        Err(error) => back_to(&back, Err::<(), _>(AppError::from(error)), |()| {
            String::new()
        }),
    }
}

#[derive(Debug, Deserialize)]
struct AdForm {
    campaign: i64,
    name: String,
    creative_url: Option<String>,
}

async fn add_ad_page(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    Path(id): Path<i64>,
    Form(form): Form<AdForm>,
) -> Result<Response, PageError> {
    let result = state
        .inventory
        .add_ad(caller.org(), id, &form.name, form.creative_url.as_deref())
        .await;
    back_to(&format!("/campaigns/{}", form.campaign), result, |ad| {
        format!("{} {}", translate(lang, "admin.saved"), ad.name)
    })
}

#[derive(Debug, Deserialize)]
struct AdStatusForm {
    campaign: i64,
    status: String,
}

async fn ad_status_page(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    Path(id): Path<i64>,
    Form(form): Form<AdStatusForm>,
) -> Result<Response, PageError> {
    let back = format!("/campaigns/{}", form.campaign);
    let Some(status) = Status::parse(&form.status) else {
        return back_to(
            &back,
            Err::<(), _>(AppError::Validation {
                field: "status".into(),
                message: format!("'{}' is not a status", form.status),
            }),
            |()| String::new(),
        );
    };
    let result = state
        .inventory
        .set_ad_status(caller.org(), id, status)
        .await;
    back_to(&back, result, |(ad, _)| {
        format!(
            "{} {} → {}",
            translate(lang, "admin.saved"),
            ad.name,
            ad.status.as_str()
        )
    })
}

/// The proposal workbook as a download.
async fn proposal_download(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<Response, AppError> {
    let proposal = state
        .inventory
        .proposal(caller.org(), id, &caller.user.display_name)
        .await?;
    let bytes = tokio::task::spawn_blocking(move || adpool_inventory::write_proposal(&proposal))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"proposal-{id}.xlsx\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/proposal.xlsx", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, description = "the proposal workbook (sheets MediaMix and CurationTargeting)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn proposal(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    proposal_download(&state, &caller, id).await
}

async fn proposal_page(
    State(state): State<AppState>,
    PageStaff(caller): PageStaff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    Ok(proposal_download(&state, &caller, id).await?)
}
