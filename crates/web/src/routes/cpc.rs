//! CPC pages: the overview with the admin review queues, placements and sites; an advertiser's
//! balance, ledger, campaigns and report; a campaign's ads and daily metrics; the daily
//! settlement; and the public advertiser sign-up.

use std::collections::BTreeMap;

use adpool_accounts::{NewUser, OrgId, Role};
use adpool_serving::{
    AdDayMetrics, AdState, AdvertiserState, CampaignState, NewCpcCampaign, NewProductAd, NewSite,
    SignUp, Totals,
};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;
use serde::Deserialize;

use super::cpc_api::{
    MetricsQuery, day_or_today, metrics_filter, notify_review, notify_sign_up, own_advertiser,
    settlement_csv_response, visible_advertiser, visible_campaign,
};
use super::{Flash, PageError, back_to, see_other, with_flash};
use crate::auth::{LOGIN_CSRF_COOKIE, PageCaller, cookie, same_secret, set_cookie};
use crate::auth::{PageAdmin, PageAdsManager, PageOperator};
use crate::render::{bare, page};
use crate::{AppError, AppState, Lang};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/cpc", get(overview))
        .route("/cpc/advertisers/{id}", get(advertiser_page))
        .route("/cpc/advertisers/{id}/review", post(review_advertiser))
        .route("/cpc/advertisers/{id}/top-up", post(top_up))
        .route("/cpc/advertisers/{id}/adjust", post(adjust))
        .route("/cpc/advertisers/{id}/campaigns", post(create_campaign))
        .route("/cpc/advertisers/{id}/settlement.csv", get(settlement_csv))
        .route("/cpc/sign-up", post(sign_up_signed_in))
        .route("/cpc/campaigns/{id}", get(campaign_page))
        .route("/cpc/campaigns/{id}/review", post(review_campaign))
        .route("/cpc/campaigns/{id}/state", post(campaign_state))
        .route("/cpc/campaigns/{id}/budget", post(campaign_budget))
        .route("/cpc/campaigns/{id}/ads", post(add_ad))
        .route("/cpc/ads/{id}", post(update_ad))
        .route("/cpc/ads/{id}/review", post(review_ad))
        .route("/cpc/placements", post(add_placement))
        .route("/cpc/sites", post(create_site))
        .route("/cpc/sites/{id}/revoke", post(revoke_site))
        .route("/cpc/settlement", get(settlement_page))
        .route("/cpc/join/{org}", get(join_form).post(join))
}

async fn overview(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    lang: Lang,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    let org = caller.org();
    if caller.role() == Role::Advertiser {
        if let Some(own) = own_advertiser(&state, &caller).await? {
            if own.state == AdvertiserState::Approved {
                return Ok(see_other(&format!("/cpc/advertisers/{}", own.id)));
            }
            let extra = context! { ..flash.context(), ..context! { own => own } };
            return Ok(page(&state, &caller, lang, "cpc.html", "cpc", extra)
                .await?
                .into_response());
        }
        let extra = context! { ..flash.context(), ..context! { sign_up => true } };
        return Ok(page(&state, &caller, lang, "cpc.html", "cpc", extra)
            .await?
            .into_response());
    }
    let serving = &state.serving;
    let advertisers = serving.advertisers(org, None).await?;
    let campaigns = serving.campaigns(org, None).await?;
    let pending: Vec<_> = advertisers
        .iter()
        .filter(|a| a.state == AdvertiserState::Pending)
        .cloned()
        .collect();
    let in_review: Vec<_> = campaigns
        .iter()
        .filter(|c| c.state == CampaignState::Review)
        .cloned()
        .collect();
    let today = day_or_today(&state, None)?.to_string();
    let totals = Totals::of(
        &serving
            .metrics(
                org,
                &adpool_serving::MetricsFilter {
                    from: Some(today.clone()),
                    to: Some(today.clone()),
                    ..Default::default()
                },
            )
            .await?,
    );
    let counters = serving.counters();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    let live = context! {
        queries => load(&counters.queries), impressions => load(&counters.impressions),
        charged => load(&counters.clicks_charged), invalid => load(&counters.clicks_invalid),
        rankings => serving.hot_state().rankings().len(),
    };
    let sites = if caller.role().can_operate() {
        serving.sites(org).await?
    } else {
        Vec::new()
    };
    let active = campaigns
        .iter()
        .filter(|c| c.state == CampaignState::Active)
        .count();
    let extra = context! { ..flash.context(), ..context! {
        advertisers => advertisers, pending => pending, in_review => in_review, campaigns => campaigns,
        active_campaigns => active, today => today, totals => totals, live => live,
        placements => serving.placements(org).await?, sites => sites,
        join_url => format!("/cpc/join/{}", org.get()),
    } };
    Ok(page(&state, &caller, lang, "cpc.html", "cpc", extra)
        .await?
        .into_response())
}

/// A new random idempotency key for a top-up form: resubmitting the same form (a double click,
/// a browser retry) records the payment once.
fn form_key() -> String {
    format!("form-{}", crate::auth::new_login_csrf())
}

/// Daily spend and revenue as SVG bars (the last `days` days of `rows`).
fn daily_chart(rows: &[AdDayMetrics], days: usize) -> minijinja::Value {
    const WIDTH: f64 = 600.0;
    const HEIGHT: f64 = 140.0;
    let mut by_day: BTreeMap<&str, (i64, i64, i64, i64)> = BTreeMap::new();
    for r in rows {
        let d = by_day.entry(r.date.as_str()).or_default();
        d.0 += r.spend;
        d.1 += r.revenue;
        d.2 += r.clicks;
        d.3 += r.impressions;
    }
    let days: Vec<_> = by_day
        .into_iter()
        .rev()
        .take(days)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    // Spend and revenue differ by orders of magnitude: each series has its own scale, and the
    // legend names both maxima.
    let top_spend = days.iter().map(|(_, d)| d.0).max().unwrap_or(0).max(1) as f64;
    let top_revenue = days.iter().map(|(_, d)| d.1).max().unwrap_or(0).max(1) as f64;
    let slot = WIDTH / days.len().max(1) as f64;
    let bar = (slot / 2.0 - 2.0).max(1.0);
    let bars: Vec<minijinja::Value> = days
        .iter()
        .enumerate()
        .map(|(i, (date, d))| {
            let x = i as f64 * slot;
            let h = |v: i64, top: f64| (v as f64 / top * HEIGHT).max(0.0);
            let (hs, hr) = (h(d.0, top_spend), h(d.1, top_revenue));
            context! {
                date => date, spend => d.0, revenue => d.1, clicks => d.2, impressions => d.3,
                x_spend => format!("{:.1}", x), x_revenue => format!("{:.1}", x + bar + 1.0),
                w => format!("{bar:.1}"),
                h_spend => format!("{hs:.1}"), y_spend => format!("{:.1}", HEIGHT - hs),
                h_revenue => format!("{hr:.1}"), y_revenue => format!("{:.1}", HEIGHT - hr),
            }
        })
        .collect();
    context! { bars => bars, width => WIDTH, height => HEIGHT, top_spend => top_spend as i64, top_revenue => top_revenue as i64 }
}

async fn advertiser_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    lang: Lang,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Result<Response, PageError> {
    let advertiser = visible_advertiser(&state, &caller, id).await?;
    let org = caller.org();
    let ledger = state.serving.ledger(org, id, 50).await?;
    let campaigns = state.serving.campaigns(org, Some(id)).await?;
    let rows = state
        .serving
        .metrics(
            org,
            &adpool_serving::MetricsFilter {
                advertiser: Some(id),
                ..Default::default()
            },
        )
        .await?;
    let totals = Totals::of(&rows);
    let extra = context! { ..flash.context(), ..context! {
        advertiser => advertiser, ledger => ledger, campaigns => campaigns, totals => totals,
        chart => daily_chart(&rows, 14), placements => state.serving.placements(org).await?,
        form_key => form_key(), today => day_or_today(&state, None)?.to_string(),
        can_manage => caller.require_ads_manager().is_ok(),
        reserve => state.serving.config().reserve_price,
    } };
    Ok(
        page(&state, &caller, lang, "cpc_advertiser.html", "cpc", extra)
            .await?
            .into_response(),
    )
}

#[derive(Debug, Deserialize)]
struct ReviewForm {
    decision: String,
    #[serde(default)]
    reason: String,
}

async fn review_advertiser(
    State(state): State<AppState>,
    PageAdmin(caller): PageAdmin,
    Path(id): Path<i64>,
    Form(form): Form<ReviewForm>,
) -> Result<Response, PageError> {
    let (org, by) = (caller.org(), caller.user.id);
    let result = if form.decision == "approve" {
        state.serving.approve_advertiser(org, id, by).await
    } else {
        state
            .serving
            .reject_advertiser(org, id, by, &form.reason)
            .await
    };
    if let Ok(advertiser) = &result {
        notify_review(&state, org, advertiser).await;
    }
    back_to("/cpc", result, |a| {
        format!("{}: {}", a.business_name, a.state.as_str())
    })
}

#[derive(Debug, Deserialize)]
struct MoneyForm {
    amount: String,
    #[serde(default)]
    memo: String,
    #[serde(default)]
    idempotency_key: String,
}

/// A form amount (`10000`, `10,000`, `10,000원`, `-500`) through the one won parser.
fn parse_won(field: &str, text: &str) -> Result<i64, AppError> {
    text.parse::<adpool_core::Won>()
        .map(adpool_core::Won::get)
        .map_err(|e| AppError::Validation {
            field: field.into(),
            message: e.to_string(),
        })
}

async fn top_up(
    State(state): State<AppState>,
    PageAdmin(caller): PageAdmin,
    Path(id): Path<i64>,
    Form(form): Form<MoneyForm>,
) -> Result<Response, PageError> {
    let path = format!("/cpc/advertisers/{id}");
    let result: Result<_, AppError> = async {
        let amount = parse_won("amount", &form.amount)?;
        Ok(state
            .serving
            .top_up(
                caller.org(),
                id,
                amount,
                &form.idempotency_key,
                &form.memo,
                caller.user.id,
            )
            .await?)
    }
    .await;
    back_to(&path, result, |o| {
        if o.repeated {
            "this top-up was already recorded; nothing changed".to_owned()
        } else {
            format!(
                "+{} won, balance {} won",
                o.entry.amount, o.entry.balance_after
            )
        }
    })
}

async fn adjust(
    State(state): State<AppState>,
    PageAdmin(caller): PageAdmin,
    Path(id): Path<i64>,
    Form(form): Form<MoneyForm>,
) -> Result<Response, PageError> {
    let result: Result<_, AppError> = async {
        let amount = parse_won("amount", &form.amount)?;
        Ok(state
            .serving
            .adjust_balance(caller.org(), id, amount, &form.memo, caller.user.id)
            .await?)
    }
    .await;
    back_to(&format!("/cpc/advertisers/{id}"), result, |e| {
        format!("{} won, balance {} won", e.amount, e.balance_after)
    })
}

#[derive(Debug, Deserialize)]
struct CampaignForm {
    name: String,
    daily_budget: String,
    #[serde(default)]
    placements: String,
}

async fn create_campaign(
    State(state): State<AppState>,
    PageAdsManager(caller): PageAdsManager,
    Path(id): Path<i64>,
    Form(form): Form<CampaignForm>,
) -> Result<Response, PageError> {
    visible_advertiser(&state, &caller, id).await?;
    let result: Result<_, AppError> = async {
        let daily_budget = parse_won("daily_budget", &form.daily_budget)?;
        Ok(state
            .serving
            .create_campaign(
                caller.org(),
                id,
                &NewCpcCampaign {
                    name: form.name,
                    daily_budget,
                    placements: vec![form.placements],
                },
            )
            .await?)
    }
    .await;
    match result {
        Ok(campaign) => Ok(see_other(&with_flash(
            &format!("/cpc/campaigns/{}", campaign.id),
            "flash",
            "registered; it serves once reviewed",
        ))),
        Err(error) => back_to(
            &format!("/cpc/advertisers/{id}"),
            Err::<(), _>(error),
            |()| String::new(),
        ),
    }
}

async fn settlement_csv(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<i64>,
    Query(query): Query<DateForm>,
) -> Result<Response, PageError> {
    Ok(settlement_csv_response(&state, &caller, id, query.date.as_deref()).await?)
}

async fn sign_up_signed_in(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Form(form): Form<SignUp>,
) -> Result<Response, PageError> {
    if caller.role() != Role::Advertiser {
        return Err(AppError::Forbidden.into());
    }
    if own_advertiser(&state, &caller).await?.is_some() {
        return Ok(see_other("/cpc"));
    }
    let result = state
        .serving
        .sign_up(caller.org(), Some(caller.user.id), &form)
        .await;
    if let Ok(advertiser) = &result {
        notify_sign_up(&state, caller.org(), advertiser).await;
    }
    back_to("/cpc", result, |a| {
        format!("{}: waiting for review", a.business_name)
    })
}

async fn campaign_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    lang: Lang,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
    Query(range): Query<MetricsQuery>,
) -> Result<Response, PageError> {
    let campaign = visible_campaign(&state, &caller, id).await?;
    let org = caller.org();
    let ads = state.serving.ads(org, id).await?;
    let query = MetricsQuery {
        campaign_id: Some(id),
        ..range
    };
    let filter = metrics_filter(&state, &caller, &query).await?;
    let rows = state.serving.metrics(org, &filter).await?;
    let totals = Totals::of(&rows);
    let live: BTreeMap<String, adpool_serving::LiveCtr> = ads
        .iter()
        .map(|a| (a.id.to_string(), state.serving.live_ctr(a.id)))
        .collect();
    let ranked = state.serving.hot_state().rankings().ranked_ads();
    let ranked: BTreeMap<String, i64> = ads
        .iter()
        .filter_map(|a| ranked.get(&a.id).map(|p| (a.id.to_string(), *p)))
        .collect();
    let extra = context! { ..flash.context(), ..context! {
        campaign => campaign, ads => ads, rows => rows, totals => totals, live => live, ranked => ranked,
        chart => daily_chart(&rows, 14), from => filter.from, to => filter.to,
        can_manage => caller.require_ads_manager().is_ok(), reserve => state.serving.config().reserve_price,
    } };
    Ok(
        page(&state, &caller, lang, "cpc_campaign.html", "cpc", extra)
            .await?
            .into_response(),
    )
}

async fn review_campaign(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Path(id): Path<i64>,
    Form(form): Form<ReviewForm>,
) -> Result<Response, PageError> {
    let result = state
        .serving
        .review_campaign(caller.org(), id, form.decision == "approve", &form.reason)
        .await;
    back_to(&format!("/cpc/campaigns/{id}"), result, |c| {
        format!("{}: {}", c.name, c.state.as_str())
    })
}

/// Approves or rejects an ad added to an approved campaign (admins and operators).
async fn review_ad(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    lang: Lang,
    Path(id): Path<i64>,
    Form(form): Form<ReviewForm>,
) -> Result<Response, PageError> {
    let ad = state.serving.ad(caller.org(), id).await?;
    let result = state
        .serving
        .review_ad(caller.org(), id, form.decision == "approve", &form.reason)
        .await;
    back_to(&format!("/cpc/campaigns/{}", ad.campaign_id), result, |a| {
        format!(
            "#{} {}: {}",
            a.id,
            a.title,
            crate::translate(lang, &format!("cpc.ad_review.{}", a.review.as_str()))
        )
    })
}

#[derive(Debug, Deserialize)]
struct StateForm {
    state: String,
}

async fn campaign_state(
    State(state): State<AppState>,
    PageAdsManager(caller): PageAdsManager,
    Path(id): Path<i64>,
    Form(form): Form<StateForm>,
) -> Result<Response, PageError> {
    visible_campaign(&state, &caller, id).await?;
    let result = match CampaignState::parse(&form.state) {
        Some(to) => state
            .serving
            .set_campaign_state(caller.org(), id, to)
            .await
            .map_err(AppError::from),
        None => Err(AppError::Validation {
            field: "state".into(),
            message: format!("'{}' is not a campaign state", form.state),
        }),
    };
    back_to(&format!("/cpc/campaigns/{id}"), result, |c| {
        format!("{}: {}", c.name, c.state.as_str())
    })
}

#[derive(Debug, Deserialize)]
struct BudgetForm {
    daily_budget: String,
}

async fn campaign_budget(
    State(state): State<AppState>,
    PageAdsManager(caller): PageAdsManager,
    Path(id): Path<i64>,
    Form(form): Form<BudgetForm>,
) -> Result<Response, PageError> {
    visible_campaign(&state, &caller, id).await?;
    let result: Result<_, AppError> = async {
        let budget = parse_won("daily_budget", &form.daily_budget)?;
        Ok(state
            .serving
            .set_daily_budget(caller.org(), id, budget)
            .await?)
    }
    .await;
    back_to(&format!("/cpc/campaigns/{id}"), result, |c| {
        format!("daily budget {} won", c.daily_budget)
    })
}

#[derive(Debug, Deserialize)]
struct AdForm {
    product_id: String,
    title: String,
    image_url: String,
    landing_url: String,
    category: String,
    bid: String,
}

async fn add_ad(
    State(state): State<AppState>,
    PageAdsManager(caller): PageAdsManager,
    Path(id): Path<i64>,
    Form(form): Form<AdForm>,
) -> Result<Response, PageError> {
    visible_campaign(&state, &caller, id).await?;
    let result: Result<_, AppError> = async {
        let bid = parse_won("bid", &form.bid)?;
        Ok(state
            .serving
            .add_ad(
                caller.org(),
                id,
                &NewProductAd {
                    product_id: form.product_id,
                    title: form.title,
                    image_url: form.image_url,
                    landing_url: form.landing_url,
                    category: form.category,
                    bid,
                },
            )
            .await?)
    }
    .await;
    back_to(&format!("/cpc/campaigns/{id}"), result, |a| {
        format!("ad #{} added", a.id)
    })
}

#[derive(Debug, Deserialize)]
struct AdChangeForm {
    #[serde(default)]
    bid: String,
    #[serde(default)]
    state: String,
}

async fn update_ad(
    State(state): State<AppState>,
    PageAdsManager(caller): PageAdsManager,
    Path(id): Path<i64>,
    Form(form): Form<AdChangeForm>,
) -> Result<Response, PageError> {
    let ad = state.serving.ad(caller.org(), id).await?;
    visible_campaign(&state, &caller, ad.campaign_id).await?;
    let bid = if form.bid.trim().is_empty() {
        Ok(None)
    } else {
        parse_won("bid", &form.bid).map(Some)
    };
    let result = match bid {
        Ok(bid) => state
            .serving
            .update_ad(caller.org(), id, bid, AdState::parse(&form.state))
            .await
            .map_err(AppError::from),
        Err(error) => Err(error),
    };
    back_to(&format!("/cpc/campaigns/{}", ad.campaign_id), result, |a| {
        format!("ad #{}: bid {} won, {}", a.id, a.bid, a.state.as_str())
    })
}

#[derive(Debug, Deserialize)]
struct PlacementForm {
    code: String,
    #[serde(default)]
    name: String,
}

async fn add_placement(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Form(form): Form<PlacementForm>,
) -> Result<Response, PageError> {
    let result = state
        .serving
        .add_placement(caller.org(), &form.code, &form.name)
        .await;
    back_to("/cpc", result, |p| format!("placement {} added", p.code))
}

#[derive(Debug, Deserialize)]
struct SiteForm {
    name: String,
    media_key: String,
    #[serde(default)]
    allowed_origins: String,
}

async fn create_site(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Form(form): Form<SiteForm>,
) -> Result<Response, PageError> {
    let result = state
        .serving
        .create_site(
            caller.org(),
            &NewSite {
                name: form.name,
                media_key: form.media_key,
                allowed_origins: form
                    .allowed_origins
                    .split([' ', ',', '\n'])
                    .map(str::to_owned)
                    .collect(),
            },
        )
        .await;
    back_to("/cpc", result, |s| {
        format!(
            "site {} added. Its key, shown this once: {}",
            s.site.name, s.key
        )
    })
}

async fn revoke_site(
    State(state): State<AppState>,
    PageOperator(caller): PageOperator,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let result = state.serving.revoke_site(caller.org(), id).await;
    back_to("/cpc", result, |()| format!("site {id} revoked"))
}

#[derive(Debug, Deserialize)]
struct DateForm {
    date: Option<String>,
}

async fn settlement_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    lang: Lang,
    Query(query): Query<DateForm>,
) -> Result<Response, PageError> {
    let date = day_or_today(&state, query.date.as_deref())?;
    let statements = match own_advertiser(&state, &caller).await? {
        Some(own) => vec![state.serving.settlement(caller.org(), own.id, date).await?],
        None if caller.role() == Role::Advertiser => Vec::new(),
        None => state.serving.settlements(caller.org(), date).await?,
    };
    let sum = |f: fn(&adpool_serving::Settlement) -> i64| statements.iter().map(f).sum::<i64>();
    let totals = context! {
        opening => sum(|s| s.opening_balance), top_ups => sum(|s| s.top_ups), charges => sum(|s| s.charges),
        clicks => sum(|s| s.charged_clicks), refunds => sum(|s| s.refunds), adjustments => sum(|s| s.adjustments),
        closing => sum(|s| s.closing_balance),
    };
    let extra = context! {
        date => date.to_string(), previous => date.add_days(-1).to_string(), next => date.next().to_string(),
        statements => statements, totals => totals,
    };
    Ok(
        page(&state, &caller, lang, "cpc_settlement.html", "cpc", extra)
            .await?
            .into_response(),
    )
}

#[derive(Debug, Default, Deserialize)]
struct JoinForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(flatten)]
    sign_up: SignUp,
}

fn render_join(
    state: &AppState,
    lang: Lang,
    status: StatusCode,
    org: OrgId,
    organization: &str,
    form: &JoinForm,
    message: Option<(String, &str)>,
) -> Result<Response, PageError> {
    let csrf = crate::auth::new_login_csrf();
    let html = bare(
        state,
        lang,
        "cpc_join.html",
        context! {
            org => org.get(), organization => organization, login_csrf => csrf.clone(),
            form => context! { email => form.email.clone(), business_name => form.sign_up.business_name.clone(),
                registration_number => form.sign_up.registration_number.clone(), contact_name => form.sign_up.contact_name.clone(),
                contact_email => form.sign_up.contact_email.clone(), contact_phone => form.sign_up.contact_phone.clone() },
            flash => message.as_ref().map(|m| m.0.clone()), flash_kind => message.as_ref().map(|m| m.1),
        },
    )?;
    let cookie = set_cookie(state, LOGIN_CSRF_COOKIE, &csrf, 3600);
    Ok((status, [(header::SET_COOKIE, cookie)], html).into_response())
}

async fn join_form(
    State(state): State<AppState>,
    lang: Lang,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    let org = OrgId(org);
    let organization = state.accounts.organization(org).await?;
    render_join(
        &state,
        lang,
        StatusCode::OK,
        org,
        &organization.name,
        &JoinForm::default(),
        None,
    )
}

/// Public sign-up: an account with the advertiser role and the business, waiting for review.
/// Everything is checked before the account is created, so a refused sign-up leaves nothing.
async fn join(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    Path(org): Path<i64>,
    Form(form): Form<JoinForm>,
) -> Result<Response, PageError> {
    let org = OrgId(org);
    let organization = state.accounts.organization(org).await?;
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let refuse = |message: String| {
        render_join(
            &state,
            lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            org,
            &organization.name,
            &form,
            Some((message, "error")),
        )
    };
    if !same_secret(&form.csrf_token, &expected) {
        return refuse(crate::translate(lang, "login.expired"));
    }
    let client = crate::auth::client_ip(
        &headers,
        peer.map(|c| c.0.0),
        state.config.trust_forwarded_for,
    );
    if state
        .limits
        .sign_up
        .take(&client, state.clock.now_millis())
        .is_err()
    {
        state.metrics.record_rate_limited("sign_up");
        return render_join(
            &state,
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            org,
            &organization.name,
            &form,
            Some((crate::translate(lang, "cpc.join_rate_limited"), "error")),
        );
    }
    let checked = match form.sign_up.validate() {
        Ok(checked) => checked,
        Err(error) => return refuse(error.to_string()),
    };
    let received = |business_name: &str| {
        render_join(
            &state,
            lang,
            StatusCode::CREATED,
            org,
            &organization.name,
            &JoinForm::default(),
            Some((
                format!(
                    "{business_name}: {}",
                    crate::translate(lang, "cpc.join_done")
                ),
                "success",
            )),
        )
    };
    if let Err(error) = state
        .serving
        .check_registration_free(org, &checked.registration_number)
        .await
    {
        return refuse(error.to_string());
    }
    let user = match state
        .accounts
        .create_user(NewUser {
            org_id: org,
            email: form.email.clone(),
            display_name: checked.contact_name.clone(),
            role: Role::Advertiser,
            password: form.password.clone(),
        })
        .await
    {
        Ok(user) => user,
        // The same answer as a sign-up that went through: whether an email has an account
        // (in any organization) is not this page's to tell.
        Err(adpool_accounts::AccountsError::DuplicateEmail(_)) => {
            return received(&checked.business_name);
        }
        Err(error) => return refuse(AppError::from(error).message()),
    };
    match state.serving.sign_up(org, Some(user.id), &checked).await {
        Ok(advertiser) => {
            notify_sign_up(&state, org, &advertiser).await;
            received(&advertiser.business_name)
        }
        Err(error) => refuse(error.to_string()),
    }
}
