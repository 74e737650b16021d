//! `/api/v1/ads/...` (advertisers, approval, top-ups, ledger, settlement, campaigns, ads,
//! metrics, placements, sites) and `POST /api/v1/events/orders`.
//!
//! Who may do what: everyone in the organization reads; an advertiser user sees and manages
//! only their own advertiser (anything else is a 404); admins approve advertisers and move
//! money; admins and operators review campaigns and manage placements and sites.

use adpool_accounts::Role;
use adpool_core::BusinessDate;
use adpool_serving::{
    AdState, Advertiser, CampaignState, CpcCampaign, MetricsFilter, NewCpcCampaign, NewProductAd,
    NewSite, OrderEvent, SignUp, Totals,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::api::ApiJson;
use crate::auth::{Admin, AdsManager, Operator};
use crate::{AppError, AppState, Caller};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/ads/advertisers", get(list_advertisers).post(sign_up))
        .route("/ads/advertisers/{id}", get(get_advertiser))
        .route("/ads/advertisers/{id}/approve", post(approve))
        .route("/ads/advertisers/{id}/reject", post(reject))
        .route("/ads/advertisers/{id}/top-ups", post(top_up))
        .route("/ads/advertisers/{id}/adjustments", post(adjust))
        .route("/ads/advertisers/{id}/ledger", get(ledger))
        .route("/ads/advertisers/{id}/settlement", get(settlement))
        .route("/ads/advertisers/{id}/settlement.csv", get(settlement_csv))
        .route("/ads/campaigns", get(list_campaigns).post(create_campaign))
        .route("/ads/campaigns/{id}", get(get_campaign))
        .route("/ads/campaigns/{id}/review", post(review_campaign))
        .route("/ads/campaigns/{id}/state", post(campaign_state))
        .route("/ads/campaigns/{id}/budget", post(campaign_budget))
        .route("/ads/campaigns/{id}/ads", post(add_ad))
        .route("/ads/ads/{id}", patch(update_ad))
        .route("/ads/ads/{id}/review", post(review_ad))
        .route("/ads/clicks/{id}/refund", post(refund))
        .route("/ads/metrics", get(metrics))
        .route("/ads/placements", get(list_placements).post(add_placement))
        .route("/ads/sites", get(list_sites).post(create_site))
        .route("/ads/sites/{id}", delete(revoke_site))
        .route("/events/orders", post(order_event))
}

/// Tells every admin of `org` that an advertiser waits for review (a failure is logged: the
/// sign-up itself is already saved).
pub(crate) async fn notify_sign_up(
    state: &AppState,
    org: adpool_accounts::OrgId,
    advertiser: &Advertiser,
) {
    let admins = match state.accounts.users(org).await {
        Ok(users) => users
            .into_iter()
            .filter(|u| u.role.is_admin() && u.is_active()),
        Err(error) => {
            tracing::warn!(%error, "sign-up notification: listing admins failed");
            return;
        }
    };
    for admin in admins {
        let note = adpool_jobs::NewNotification::new(
            org,
            adpool_jobs::Level::Info,
            format!(
                "광고주 심사 요청 / Advertiser to review: {}",
                advertiser.business_name
            ),
            format!(
                "{} · {}",
                advertiser.registration_number, advertiser.contact_email
            ),
        )
        .for_user(admin.id)
        .link("/cpc");
        if let Err(error) = state.notifications.notify(note).await {
            tracing::warn!(%error, "sign-up notification failed");
        }
    }
}

/// Tells the advertiser's user how the review went.
pub(crate) async fn notify_review(
    state: &AppState,
    org: adpool_accounts::OrgId,
    advertiser: &Advertiser,
) {
    let Some(user) = advertiser.user_id else {
        return;
    };
    let (level, title) = match advertiser.state {
        adpool_serving::AdvertiserState::Approved => (
            adpool_jobs::Level::Success,
            "광고주 승인 완료 / Your advertiser account is approved".to_owned(),
        ),
        _ => (
            adpool_jobs::Level::Warning,
            format!(
                "광고주 가입 반려 / Sign-up rejected: {}",
                advertiser.rejection_reason.clone().unwrap_or_default()
            ),
        ),
    };
    let note =
        adpool_jobs::NewNotification::new(org, level, title, advertiser.business_name.clone())
            .for_user(adpool_accounts::UserId(user))
            .link("/cpc");
    if let Err(error) = state.notifications.notify(note).await {
        tracing::warn!(%error, "review notification failed");
    }
}

/// The advertiser `id` when the caller may see it (an advertiser user: only their own).
pub(crate) async fn visible_advertiser(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<Advertiser, AppError> {
    let advertiser = state.serving.advertiser(caller.org(), id).await?;
    if caller.role() == Role::Advertiser && advertiser.user_id != Some(caller.user.id.get()) {
        return Err(AppError::NotFound);
    }
    Ok(advertiser)
}

/// The campaign `id` when the caller may see it.
pub(crate) async fn visible_campaign(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<CpcCampaign, AppError> {
    let campaign = state.serving.campaign(caller.org(), id).await?;
    visible_advertiser(state, caller, campaign.advertiser_id).await?;
    Ok(campaign)
}

/// The advertiser an advertiser user manages (none for other roles).
pub(crate) async fn own_advertiser(
    state: &AppState,
    caller: &Caller,
) -> Result<Option<Advertiser>, AppError> {
    if caller.role() != Role::Advertiser {
        return Ok(None);
    }
    Ok(state
        .serving
        .advertiser_of_user(caller.org(), caller.user.id)
        .await?)
}

#[utoipa::path(get, path = "/api/v1/ads/advertisers", tag = "ads",
    responses((status = 200, description = "advertisers (an advertiser user: their own)", body = Object)))]
pub(crate) async fn list_advertisers(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, AppError> {
    let advertisers = if caller.role() == Role::Advertiser {
        own_advertiser(&state, &caller).await?.into_iter().collect()
    } else {
        state.serving.advertisers(caller.org(), None).await?
    };
    Ok(Json(json!({ "advertisers": advertisers })))
}

#[utoipa::path(post, path = "/api/v1/ads/advertisers", tag = "ads",
    request_body = SignUp,
    responses((status = 201, description = "signed up, waiting for review", body = Object), (status = 409, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn sign_up(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SignUp>,
) -> Result<Response, AppError> {
    let user = match caller.role() {
        Role::Advertiser => {
            if own_advertiser(&state, &caller).await?.is_some() {
                return Err(AppError::Conflict(
                    "this user already manages an advertiser".into(),
                ));
            }
            Some(caller.user.id)
        }
        Role::Admin | Role::Operator => None,
        Role::Analyst => return Err(AppError::Forbidden),
    };
    let advertiser = state.serving.sign_up(caller.org(), user, &body).await?;
    notify_sign_up(&state, caller.org(), &advertiser).await;
    Ok((StatusCode::CREATED, Json(advertiser)).into_response())
}

#[utoipa::path(get, path = "/api/v1/ads/advertisers/{id}", tag = "ads", params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn get_advertiser(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Advertiser>, AppError> {
    Ok(Json(visible_advertiser(&state, &caller, id).await?))
}

#[utoipa::path(post, path = "/api/v1/ads/advertisers/{id}/approve", tag = "ads", params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 403, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn approve(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<i64>,
) -> Result<Json<Advertiser>, AppError> {
    let advertiser = state
        .serving
        .approve_advertiser(caller.org(), id, caller.user.id)
        .await?;
    notify_review(&state, caller.org(), &advertiser).await;
    Ok(Json(advertiser))
}

/// Why the advertiser is rejected (shown to them).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Reason {
    #[schema(pattern = "[^\\s\\u0085]", max_length = 500)]
    reason: String,
}

/// Why a click is given back (kept with the ledger entry).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RefundNote {
    #[serde(default)]
    #[schema(max_length = 500)]
    reason: String,
}

#[utoipa::path(post, path = "/api/v1/ads/advertisers/{id}/reject", tag = "ads", params(("id" = i64, Path)),
    request_body = Reason,
    responses((status = 200, body = Object), (status = 409, description = "the advertiser was already reviewed", body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn reject(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Reason>,
) -> Result<Json<Advertiser>, AppError> {
    let advertiser = state
        .serving
        .reject_advertiser(caller.org(), id, caller.user.id, &body.reason)
        .await?;
    notify_review(&state, caller.org(), &advertiser).await;
    Ok(Json(advertiser))
}

/// A top-up or an adjustment as the handlers read it; the API documents the two apart
/// ([`TopUp`], [`Adjustment`]), as their rules differ.
#[derive(Debug, Deserialize)]
pub(crate) struct Money {
    amount: i64,
    memo: Option<String>,
    /// Instead of the `Idempotency-Key` header.
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// An adjustment in won: positive adds, negative takes (never below zero).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct Adjustment {
    #[schema(minimum = -1_000_000_000_000_i64, maximum = 1_000_000_000_000_i64)]
    amount: i64,
    /// Why the balance is adjusted.
    #[schema(pattern = "[^\\s\\u0085]", max_length = 500)]
    memo: String,
}

/// A top-up in won.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct TopUp {
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    amount: i64,
    #[schema(max_length = 500)]
    memo: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/ads/advertisers/{id}/top-ups", tag = "ads", params(("id" = i64, Path), ("Idempotency-Key" = String, Header, description = "a repeat with the same key is a no-op (or idempotency_key in the body)", pattern = "[^\\s\\u0085]")),
    request_body = TopUp,
    responses((status = 201, description = "applied: the ledger entry", body = Object), (status = 200, description = "the key was used before: the earlier entry, nothing changed", body = Object),
              (status = 409, description = "the key was used with another amount, or the advertiser is not approved", body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn top_up(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Money>,
) -> Result<Response, AppError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(body.idempotency_key)
        .unwrap_or_default();
    let outcome = state
        .serving
        .top_up(
            caller.org(),
            id,
            body.amount,
            &key,
            body.memo.as_deref().unwrap_or_default(),
            caller.user.id,
        )
        .await?;
    let status = if outcome.repeated {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(outcome)).into_response())
}

#[utoipa::path(post, path = "/api/v1/ads/advertisers/{id}/adjustments", tag = "ads", params(("id" = i64, Path)),
    request_body = Adjustment,
    responses((status = 201, body = Object), (status = 409, description = "would take the balance below zero", body = crate::ErrorBody)))]
pub(crate) async fn adjust(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Money>,
) -> Result<Response, AppError> {
    let entry = state
        .serving
        .adjust_balance(
            caller.org(),
            id,
            body.amount,
            body.memo.as_deref().unwrap_or_default(),
            caller.user.id,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(entry)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct LedgerQuery {
    /// Most entries (newest first): 100 by default, taken as 1 to 10,000.
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/ads/advertisers/{id}/ledger", tag = "ads", params(("id" = i64, Path), LedgerQuery),
    responses((status = 200, description = "balance and entries, newest first", body = Object)))]
pub(crate) async fn ledger(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(query): Query<LedgerQuery>,
) -> Result<Json<Value>, AppError> {
    let advertiser = visible_advertiser(&state, &caller, id).await?;
    let entries = state
        .serving
        .ledger(caller.org(), id, query.limit.unwrap_or(100))
        .await?;
    Ok(Json(
        json!({ "advertiser_id": id, "balance": advertiser.balance, "entries": entries }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct DateQuery {
    /// KST day `YYYY-MM-DD` (today by default).
    #[param(schema_with = super::api_words::optional_day)]
    date: Option<String>,
}

pub(crate) fn day_or_today(state: &AppState, date: Option<&str>) -> Result<BusinessDate, AppError> {
    day_or(
        date,
        BusinessDate::from_utc_millis(state.clock.now_millis()),
    )
}

/// A KST day from a query (`YYYY-MM-DD`), `default` when it is absent or empty.
pub(crate) fn day_or(date: Option<&str>, default: BusinessDate) -> Result<BusinessDate, AppError> {
    match date.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| AppError::Validation {
            field: "date".into(),
            message: format!("'{text}' is not a date (YYYY-MM-DD)"),
        }),
    }
}

#[utoipa::path(get, path = "/api/v1/ads/advertisers/{id}/settlement", tag = "ads", params(("id" = i64, Path), DateQuery),
    responses((status = 200, description = "the day's statement from the ledger", body = Object)))]
pub(crate) async fn settlement(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(query): Query<DateQuery>,
) -> Result<Json<adpool_serving::Settlement>, AppError> {
    visible_advertiser(&state, &caller, id).await?;
    let date = day_or_today(&state, query.date.as_deref())?;
    Ok(Json(
        state.serving.settlement(caller.org(), id, date).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/ads/advertisers/{id}/settlement.csv", tag = "ads", params(("id" = i64, Path), DateQuery),
    responses((status = 200, description = "the day's statement as CSV", content_type = "text/csv")))]
pub(crate) async fn settlement_csv(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(query): Query<DateQuery>,
) -> Result<Response, AppError> {
    settlement_csv_response(&state, &caller, id, query.date.as_deref()).await
}

/// The settlement CSV download (API and page).
pub(crate) async fn settlement_csv_response(
    state: &AppState,
    caller: &Caller,
    id: i64,
    date: Option<&str>,
) -> Result<Response, AppError> {
    visible_advertiser(state, caller, id).await?;
    let date = day_or_today(state, date)?;
    let statement = state.serving.settlement(caller.org(), id, date).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"settlement-{id}-{date}.csv\""),
            ),
        ],
        adpool_serving::settlement_csv(&statement),
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct CampaignQuery {
    /// Only this advertiser's.
    advertiser_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/ads/campaigns", tag = "ads", params(CampaignQuery),
    responses((status = 200, body = Object)))]
pub(crate) async fn list_campaigns(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<CampaignQuery>,
) -> Result<Json<Value>, AppError> {
    let advertiser = match own_advertiser(&state, &caller).await? {
        Some(own) => Some(own.id),
        None if caller.role() == Role::Advertiser => return Ok(Json(json!({ "campaigns": [] }))),
        None => query.advertiser_id,
    };
    let campaigns = state.serving.campaigns(caller.org(), advertiser).await?;
    Ok(Json(json!({ "campaigns": campaigns })))
}

/// A campaign to register for an advertiser.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewCampaignBody {
    advertiser_id: i64,
    #[serde(flatten)]
    campaign: NewCpcCampaign,
}

#[utoipa::path(post, path = "/api/v1/ads/campaigns", tag = "ads",
    request_body = NewCampaignBody,
    responses((status = 201, description = "registered, waiting for review", body = Object), (status = 409, description = "the advertiser is not approved", body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn create_campaign(
    State(state): State<AppState>,
    AdsManager(caller): AdsManager,
    ApiJson(body): ApiJson<NewCampaignBody>,
) -> Result<Response, AppError> {
    visible_advertiser(&state, &caller, body.advertiser_id).await?;
    let campaign = state
        .serving
        .create_campaign(caller.org(), body.advertiser_id, &body.campaign)
        .await?;
    Ok((StatusCode::CREATED, Json(campaign)).into_response())
}

#[utoipa::path(get, path = "/api/v1/ads/campaigns/{id}", tag = "ads", params(("id" = i64, Path)),
    responses((status = 200, description = "the campaign and its ads", body = Object), (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn get_campaign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let campaign = visible_campaign(&state, &caller, id).await?;
    let ads = state.serving.ads(caller.org(), id).await?;
    Ok(Json(json!({ "campaign": campaign, "ads": ads })))
}

/// A review: approve, or reject with a reason.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Review {
    approve: bool,
    /// Required when rejecting.
    #[serde(default)]
    #[schema(max_length = 500)]
    reason: String,
}

#[utoipa::path(post, path = "/api/v1/ads/campaigns/{id}/review", tag = "ads", params(("id" = i64, Path)),
    request_body = Review,
    responses((status = 200, body = Object), (status = 409, body = crate::ErrorBody)))]
pub(crate) async fn review_campaign(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Review>,
) -> Result<Json<CpcCampaign>, AppError> {
    Ok(Json(
        state
            .serving
            .review_campaign(caller.org(), id, body.approve, &body.reason)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/ads/ads/{id}/review", tag = "ads", params(("id" = i64, Path)),
    request_body(content = Review, description = "an ad added to an approved campaign serves once approved"),
    responses((status = 200, body = Object), (status = 409, body = crate::ErrorBody), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn review_ad(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Review>,
) -> Result<Json<adpool_serving::ProductAd>, AppError> {
    Ok(Json(
        state
            .serving
            .review_ad(caller.org(), id, body.approve, &body.reason)
            .await?,
    ))
}

/// The state to set.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct StateBody {
    #[schema(value_type = super::api_words::CpcStateWord)]
    state: String,
}

#[utoipa::path(post, path = "/api/v1/ads/campaigns/{id}/state", tag = "ads", params(("id" = i64, Path)),
    request_body = StateBody,
    responses((status = 200, body = Object), (status = 409, body = crate::ErrorBody)))]
pub(crate) async fn campaign_state(
    State(state): State<AppState>,
    AdsManager(caller): AdsManager,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<StateBody>,
) -> Result<Json<CpcCampaign>, AppError> {
    visible_campaign(&state, &caller, id).await?;
    let to = CampaignState::parse(&body.state)
        .filter(|s| {
            matches!(
                s,
                CampaignState::Active | CampaignState::Paused | CampaignState::Ended
            )
        })
        .ok_or_else(|| AppError::Validation {
            field: "state".into(),
            message: format!("'{}' is not active, paused or ended", body.state),
        })?;
    Ok(Json(
        state
            .serving
            .set_campaign_state(caller.org(), id, to)
            .await?,
    ))
}

/// A new daily budget in won.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct BudgetBody {
    #[schema(minimum = 1)]
    daily_budget: i64,
}

#[utoipa::path(post, path = "/api/v1/ads/campaigns/{id}/budget", tag = "ads", params(("id" = i64, Path)),
    request_body = BudgetBody,
    responses((status = 200, body = Object), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn campaign_budget(
    State(state): State<AppState>,
    AdsManager(caller): AdsManager,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<BudgetBody>,
) -> Result<Json<CpcCampaign>, AppError> {
    visible_campaign(&state, &caller, id).await?;
    Ok(Json(
        state
            .serving
            .set_daily_budget(caller.org(), id, body.daily_budget)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/ads/campaigns/{id}/ads", operation_id = "add_product_ad", tag = "ads", params(("id" = i64, Path)),
    request_body = NewProductAd,
    responses((status = 201, body = Object), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn add_ad(
    State(state): State<AppState>,
    AdsManager(caller): AdsManager,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<NewProductAd>,
) -> Result<Response, AppError> {
    visible_campaign(&state, &caller, id).await?;
    let ad = state.serving.add_ad(caller.org(), id, &body).await?;
    Ok((StatusCode::CREATED, Json(ad)).into_response())
}

/// A new bid, a new state, or both.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AdChange {
    #[schema(minimum = 1)]
    bid: Option<i64>,
    #[schema(value_type = Option<super::api_words::AdStateWord>)]
    state: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/ads/ads/{id}", tag = "ads", params(("id" = i64, Path)),
    request_body = AdChange,
    responses((status = 200, body = Object), (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn update_ad(
    State(state): State<AppState>,
    AdsManager(caller): AdsManager,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<AdChange>,
) -> Result<Json<adpool_serving::ProductAd>, AppError> {
    let ad = state.serving.ad(caller.org(), id).await?;
    visible_campaign(&state, &caller, ad.campaign_id).await?;
    let ad_state = match body.state.as_deref() {
        None => None,
        Some(text) => Some(AdState::parse(text).ok_or_else(|| AppError::Validation {
            field: "state".into(),
            message: format!("'{text}' is not active or paused"),
        })?),
    };
    Ok(Json(
        state
            .serving
            .update_ad(caller.org(), id, body.bid, ad_state)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/ads/clicks/{id}/refund", tag = "ads", params(("id" = i64, Path)),
    request_body = RefundNote,
    responses((status = 201, description = "the refund's ledger entry", body = Object), (status = 409, body = crate::ErrorBody)))]
pub(crate) async fn refund(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<RefundNote>,
) -> Result<Response, AppError> {
    let entry = state
        .serving
        .refund_click(caller.org(), id, &body.reason, caller.user.id)
        .await?;
    Ok((StatusCode::CREATED, Json(entry)).into_response())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub(crate) struct MetricsQuery {
    /// One advertiser.
    pub(crate) advertiser_id: Option<i64>,
    /// One campaign.
    pub(crate) campaign_id: Option<i64>,
    /// First KST day.
    #[param(schema_with = super::api_words::optional_day)]
    pub(crate) from: Option<String>,
    /// Last KST day.
    #[param(schema_with = super::api_words::optional_day)]
    pub(crate) to: Option<String>,
}

/// The metrics filter of a caller: an advertiser user always gets their own.
pub(crate) async fn metrics_filter(
    state: &AppState,
    caller: &Caller,
    query: &MetricsQuery,
) -> Result<MetricsFilter, AppError> {
    let mut filter = MetricsFilter {
        advertiser: query.advertiser_id,
        campaign: query.campaign_id,
        from: query.from.clone().filter(|d| !d.is_empty()),
        to: query.to.clone().filter(|d| !d.is_empty()),
    };
    for date in [&filter.from, &filter.to].into_iter().flatten() {
        if date.parse::<BusinessDate>().is_err() {
            return Err(AppError::Validation {
                field: "from/to".into(),
                message: format!("'{date}' is not a date (YYYY-MM-DD)"),
            });
        }
    }
    if caller.role() == Role::Advertiser {
        filter.advertiser = Some(own_advertiser(state, caller).await?.map_or(-1, |a| a.id));
    }
    if let Some(campaign) = filter.campaign {
        visible_campaign(state, caller, campaign).await?;
    }
    Ok(filter)
}

#[utoipa::path(get, path = "/api/v1/ads/metrics", tag = "ads", params(MetricsQuery),
    responses((status = 200, description = "rows per ad and KST day (impressions, clicks, invalid_clicks, spend, conversions, revenue) and totals with CTR, CVR, ROAS", body = Object)))]
pub(crate) async fn metrics(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<MetricsQuery>,
) -> Result<Json<Value>, AppError> {
    let filter = metrics_filter(&state, &caller, &query).await?;
    let rows = state.serving.metrics(caller.org(), &filter).await?;
    let totals = Totals::of(&rows);
    Ok(Json(json!({ "rows": rows, "totals": totals })))
}

#[utoipa::path(get, path = "/api/v1/ads/placements", tag = "ads", responses((status = 200, body = Object)))]
pub(crate) async fn list_placements(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, AppError> {
    Ok(Json(
        json!({ "placements": state.serving.placements(caller.org()).await? }),
    ))
}

/// A placement: where ads show on the shop.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PlacementBody {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    code: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    name: String,
}

#[utoipa::path(post, path = "/api/v1/ads/placements", tag = "ads",
    request_body = PlacementBody,
    responses((status = 201, body = Object), (status = 409, body = crate::ErrorBody)))]
pub(crate) async fn add_placement(
    State(state): State<AppState>,
    Operator(caller): Operator,
    ApiJson(body): ApiJson<PlacementBody>,
) -> Result<Response, AppError> {
    let placement = state
        .serving
        .add_placement(caller.org(), &body.code, &body.name)
        .await?;
    Ok((StatusCode::CREATED, Json(placement)).into_response())
}

#[utoipa::path(get, path = "/api/v1/ads/sites", tag = "ads", responses((status = 200, body = Object)))]
pub(crate) async fn list_sites(
    State(state): State<AppState>,
    Operator(caller): Operator,
) -> Result<Json<Value>, AppError> {
    Ok(Json(
        json!({ "sites": state.serving.sites(caller.org()).await? }),
    ))
}

#[utoipa::path(post, path = "/api/v1/ads/sites", tag = "ads",
    request_body = NewSite,
    responses((status = 201, description = "the site and its API key (shown this once)", body = Object)))]
pub(crate) async fn create_site(
    State(state): State<AppState>,
    Operator(caller): Operator,
    ApiJson(body): ApiJson<NewSite>,
) -> Result<Response, AppError> {
    let site = state.serving.create_site(caller.org(), &body).await?;
    Ok((StatusCode::CREATED, Json(site)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/ads/sites/{id}", tag = "ads", params(("id" = i64, Path)),
    responses((status = 204, description = "revoked at once"), (status = 404, body = crate::ErrorBody)))]
pub(crate) async fn revoke_site(
    State(state): State<AppState>,
    Operator(caller): Operator,
    Path(id): Path<i64>,
) -> Result<StatusCode, AppError> {
    state.serving.revoke_site(caller.org(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/events/orders", tag = "ads",
    request_body = OrderEvent,
    responses((status = 200, description = "the order's conversions; repeated = true when nothing changed", body = Object),
        (status = 202, description = "scale-out mode: published to order.completed; a worker attributes it", body = Object),
        (status = 422, body = crate::ErrorBody)))]
pub(crate) async fn order_event(
    State(state): State<AppState>,
    Operator(caller): Operator,
    ApiJson(body): ApiJson<OrderEvent>,
) -> Result<Response, AppError> {
    Ok(
        match state.serving.submit_order(caller.org(), &body).await? {
            Some(outcome) => Json(outcome).into_response(),
            None => (
                StatusCode::ACCEPTED,
                Json(json!({ "order_id": body.order_id.trim(), "queued": true })),
            )
                .into_response(),
        },
    )
}
