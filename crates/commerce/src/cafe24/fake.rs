//! A fake Cafe24 Admin API on 127.0.0.1 for tests, the demo and the benchmark: a test double of
//! the public Admin API documents, not of adpool's client. Each behaviour cites the section it
//! follows (chapter names of the Admin API reference; docs/shops.md has the table):
//!
//! - Authentication: authorization code and refresh-token grants (HTTP Basic client id and
//!   secret), 2-hour access tokens, a refresh token that works once and is replaced by every
//!   grant, the granted `scopes` in the token answer; refusals as OAuth bodies
//!   `{"error": "invalid_grant", "error_description": ...}`.
//! - Introduction, Request/Response Format: errors as `{"error": {"code", "message"}}`; 401
//!   without a valid token, 403 for a scope the token lacks, 422 for a parameter off the spec.
//! - Introduction, API Limit: a leaky bucket per mall of 40 calls draining 2 per second,
//!   reported in `X-Api-Call-Limit: n/40`; `X-Cafe24-Call-Usage` (percent of the bucket) on
//!   every answer and `X-Cafe24-Call-Remain` (seconds until a call fits) only once usage
//!   reaches 100%; 429 when full.
//! - Introduction, Versioning: `X-Cafe24-Api-Version` required.
//! - Shops, "Retrieve a list of shops": `shop_no`, `shop_name`, `currency_code`, `active`;
//!   scope `mall.read_store`.
//! - Orders, "Retrieve a list of orders": `shop_no` (default 1), `date_type` (default
//!   `order_date`), `start_date` only with `end_date`, at most 3 months a call, `limit` 1 to
//!   1000 (default 10), `offset` at most 15,000, `embed=items`; scope `mall.read_order`.
//! - Orders items, property list: `order_item_code`, `product_price`, `option_price`,
//!   `additional_discount_price`, `coupon_discount_price`, `app_item_discount_amount`,
//!   `payment_amount` (null unless the mall uses automatic discount calculation), `quantity`,
//!   `order_status` with the documented codes.
//! - Products, "Retrieve a list of products": `updated_start_date` only with
//!   `updated_end_date` (422 otherwise), `limit` at most 100, `offset` at most 8,000,
//!   `since_product_no`; the list carries no `category` (notes of teams calling the live API).
//!   "Retrieve a product": `category` as `[{category_no, recommend, new}]`.
//! - Categories and Coupons lists (`mall.read_category`, `mall.read_promotion`).
//!
//! Statuses move over simulated days: each order item has a timeline of (day, code), and the
//! fake answers with the code of its `today`. Faults can be injected: 5xx answers, a malformed
//! page, revoked refresh tokens, scopes the mall does not grant.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fake_limit::CallBucket;

/// The API version the fake expects in `X-Cafe24-Api-Version`.
pub const API_VERSION: &str = "2025-12-01";

/// A line of an order the fake serves.
#[derive(Debug, Clone)]
pub struct FakeItem {
    /// `product_no`.
    pub product_no: i64,
    /// `product_name`.
    pub name: String,
    /// `quantity`.
    pub quantity: i64,
    /// `product_price` (won, per unit).
    pub product_price: i64,
    /// `option_price` (won, per unit).
    pub option_price: i64,
    /// `additional_discount_price` (won, for the line).
    pub additional_discount: i64,
    /// `coupon_discount_price` (won, for the line).
    pub coupon_discount: i64,
    /// `app_item_discount_amount` (won, for the line).
    pub app_discount: i64,
    /// `payment_amount`: only malls with automatic discount calculation send it.
    pub payment_amount: Option<i64>,
    /// The item's `order_status` over time: from each day on, its code. The first entry is
    /// the code on the order day.
    pub timeline: Vec<(NaiveDate, String)>,
}

impl FakeItem {
    /// A line at `price` a unit without options or discounts, `code` from `day` on.
    pub fn new(
        product_no: i64,
        name: &str,
        quantity: i64,
        price: i64,
        day: NaiveDate,
        code: &str,
    ) -> FakeItem {
        FakeItem {
            product_no,
            name: name.to_owned(),
            quantity,
            product_price: price,
            option_price: 0,
            additional_discount: 0,
            coupon_discount: 0,
            app_discount: 0,
            payment_amount: None,
            timeline: vec![(day, code.to_owned())],
        }
    }

    /// The code on `day` (the first one before the first entry).
    pub fn code_on(&self, day: NaiveDate) -> &str {
        self.timeline
            .iter()
            .rev()
            .find(|(from, _)| *from <= day)
            .or_else(|| self.timeline.first())
            .map_or("N00", |(_, code)| code.as_str())
    }
}

/// An order the fake serves.
#[derive(Debug, Clone)]
pub struct FakeOrder {
    /// `shop_no` (1: the default shop).
    pub shop_no: i64,
    /// `YYYYMMDD-NNNNNNN`.
    pub order_id: String,
    /// `2026-11-20T10:00:00+09:00`.
    pub order_date: String,
    /// `member_id` (empty for a guest).
    pub member_id: String,
    /// Lines.
    pub items: Vec<FakeItem>,
}

impl FakeOrder {
    /// An order of the default shop whose lines all have `code` from the order day on:
    /// (product no, name, quantity, unit price).
    pub fn simple(
        order_id: &str,
        order_date: &str,
        code: &str,
        items: &[(i64, &str, i64, i64)],
    ) -> FakeOrder {
        let day = order_day(order_date);
        FakeOrder {
            shop_no: 1,
            order_id: order_id.to_owned(),
            order_date: order_date.to_owned(),
            member_id: format!("member{}", order_id.len()),
            items: items
                .iter()
                .map(|(no, name, quantity, price)| {
                    FakeItem::new(*no, name, *quantity, *price, day, code)
                })
                .collect(),
        }
    }

    /// The KST day it was placed.
    pub fn day(&self) -> NaiveDate {
        order_day(&self.order_date)
    }
}

fn order_day(order_date: &str) -> NaiveDate {
    order_date
        .get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or_default()
}

/// A product the fake serves.
#[derive(Debug, Clone)]
pub struct FakeProduct {
    /// `product_no`.
    pub product_no: i64,
    /// Name.
    pub name: String,
    /// Price in won.
    pub price: i64,
    /// The categories it is displayed in, in the order the detail lists them.
    pub categories: Vec<i64>,
    /// Last update, `2026-11-20T10:00:00+09:00`.
    pub updated_date: String,
}

/// A shop of a multi-shop mall.
#[derive(Debug, Clone)]
pub struct FakeShop {
    /// `shop_no`.
    pub shop_no: i64,
    /// `shop_name`.
    pub name: String,
    /// `currency_code`.
    pub currency: String,
}

/// What the fake does and has.
#[derive(Debug)]
pub struct FakeState {
    /// `client_id` -> `client_secret`.
    pub clients: BTreeMap<String, String>,
    /// Valid access tokens and when they expire.
    pub access_tokens: BTreeMap<String, Instant>,
    /// Valid refresh tokens.
    pub refresh_tokens: BTreeMap<String, String>,
    /// Orders by mall id.
    pub orders: BTreeMap<String, Vec<FakeOrder>>,
    /// Shops by mall id (a mall without an entry has the default shop only, in won).
    pub shops: BTreeMap<String, Vec<FakeShop>>,
    /// The simulated day (KST): orders placed later are not there yet and statuses are those
    /// of this day. `None`: every order, with its last status.
    pub today: Option<NaiveDate>,
    /// Scopes the mall does not grant: calls needing them answer 403.
    pub denied_scopes: BTreeSet<String>,
    /// Access token lifetime (2 hours at Cafe24).
    pub access_lifetime: Duration,
    /// Bucket size (40) and drain rate per second (2); `None` turns the limit off.
    pub limit: Option<(f64, f64)>,
    buckets: BTreeMap<String, CallBucket>,
    /// Answer the next this many API calls with 503.
    pub fail_next: u32,
    /// Answer the next this many API calls with 429 (and `X-Cafe24-Call-Remain: 1`).
    pub throttle_next: u32,
    /// Answer the page at this offset with broken JSON.
    pub malformed_offset: Option<usize>,
    /// Calls answered 200.
    pub served: u64,
    /// Calls refused with 429.
    pub throttled: u64,
    /// Product details served.
    pub details_served: u64,
    /// Authorization codes waiting to be exchanged: code -> (client id, redirect uri, scopes).
    pub codes: BTreeMap<String, (String, String, Vec<String>)>,
    /// Categories by mall: (category_no, name, parent_category_no).
    pub categories: BTreeMap<String, Vec<(i64, String, Option<i64>)>>,
    /// Products by mall.
    pub products: BTreeMap<String, Vec<FakeProduct>>,
    /// Coupons by mall: (coupon_no, name, benefit).
    pub coupons: BTreeMap<String, Vec<(String, String, String)>>,
    counter: u64,
}

impl Default for FakeState {
    fn default() -> Self {
        FakeState {
            clients: BTreeMap::new(),
            access_tokens: BTreeMap::new(),
            refresh_tokens: BTreeMap::new(),
            orders: BTreeMap::new(),
            shops: BTreeMap::new(),
            today: None,
            denied_scopes: BTreeSet::new(),
            access_lifetime: Duration::from_secs(7200),
            limit: Some((40.0, 2.0)),
            buckets: BTreeMap::new(),
            fail_next: 0,
            throttle_next: 0,
            malformed_offset: None,
            served: 0,
            throttled: 0,
            details_served: 0,
            codes: BTreeMap::new(),
            categories: BTreeMap::new(),
            products: BTreeMap::new(),
            coupons: BTreeMap::new(),
            counter: 0,
        }
    }
}

/// The scopes adpool's client asks for, as the fake knows them.
const ALL_SCOPES: [&str; 5] = [
    "mall.read_order",
    "mall.read_product",
    "mall.read_category",
    "mall.read_promotion",
    "mall.read_store",
];

impl FakeState {
    /// Issues a token pair for `client_id` (what the authorization-code grant would give).
    pub fn issue_tokens(&mut self, client_id: &str) -> (String, String) {
        self.counter += 1;
        let access = format!("access-{}-{}", client_id, self.counter);
        let refresh = format!("refresh-{}-{}", client_id, self.counter);
        self.access_tokens
            .insert(access.clone(), Instant::now() + self.access_lifetime);
        self.refresh_tokens
            .insert(refresh.clone(), client_id.to_owned());
        (access, refresh)
    }

    /// Makes every access token expire now.
    pub fn expire_access_tokens(&mut self) {
        for expiry in self.access_tokens.values_mut() {
            *expiry = Instant::now();
        }
    }

    /// Takes one call into the mall's bucket: `Ok(level)` after it, `Err(level)` when full.
    fn take_call(&mut self, mall: &str) -> Result<u32, u32> {
        let Some((size, rate)) = self.limit else {
            return Ok(1);
        };
        self.buckets
            .entry(mall.to_owned())
            .or_insert_with(|| CallBucket::new(size, rate))
            .take()
    }

    fn granted_scopes(&self) -> Vec<String> {
        ALL_SCOPES
            .iter()
            .filter(|s| !self.denied_scopes.contains(**s))
            .map(|s| (*s).to_owned())
            .collect()
    }
}

/// A running fake; dropped, it keeps serving until the runtime ends.
#[derive(Debug, Clone)]
pub struct FakeCafe24 {
    /// Its address.
    pub address: SocketAddr,
    /// Its state, to seed and inspect.
    pub state: Arc<Mutex<FakeState>>,
}

impl FakeCafe24 {
    /// Starts a fake on a free port of 127.0.0.1.
    pub async fn start(state: FakeState) -> std::io::Result<FakeCafe24> {
        let state = Arc::new(Mutex::new(state));
        let app = Router::new()
            .route("/{mall}/api/v2/oauth/token", post(token))
            .route("/{mall}/api/v2/oauth/authorize", get(authorize))
            .route("/{mall}/api/v2/admin/shops", get(shops))
            .route("/{mall}/api/v2/admin/orders", get(orders))
            .route("/{mall}/api/v2/admin/categories", get(categories))
            .route("/{mall}/api/v2/admin/products", get(products))
            .route("/{mall}/api/v2/admin/products/{product_no}", get(product))
            .route("/{mall}/api/v2/admin/coupons", get(coupons))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeCafe24 { address, state })
    }

    /// The base URL adpool is configured with: `{mall_id}` is replaced per store.
    pub fn base_url(&self) -> String {
        format!("http://{}/{{mall_id}}", self.address)
    }

    /// Sets the simulated day.
    pub fn set_today(&self, day: NaiveDate) {
        lock(&self.state).today = Some(day);
    }
}

/// An Admin API error (Introduction, Request/Response Format).
fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(
            json!({ "error": { "code": status.as_u16(), "message": message, "more_info": {} } }),
        ),
    )
        .into_response()
}

/// An OAuth refusal (Authentication; the body live token endpoints answer with).
fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

fn lock(state: &Arc<Mutex<FakeState>>) -> std::sync::MutexGuard<'_, FakeState> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    #[serde(default)]
    refresh_token: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    redirect_uri: String,
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: String,
    client_id: String,
    state: String,
    redirect_uri: String,
    #[serde(default)]
    scope: String,
}

/// The consent page, consenting at once: back to `redirect_uri` with a code and the state
/// (Authentication, "Get Authentication Code").
async fn authorize(
    State(state): State<Arc<Mutex<FakeState>>>,
    Query(query): Query<AuthorizeQuery>,
) -> Response {
    let mut state = lock(&state);
    if query.response_type != "code" || !state.clients.contains_key(&query.client_id) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "unknown client_id",
        );
    }
    state.counter += 1;
    let code = format!("code-{}", state.counter);
    let granted: Vec<String> = query
        .scope
        .split(',')
        .filter(|s| !s.is_empty() && !state.denied_scopes.contains(*s))
        .map(str::to_owned)
        .collect();
    state.codes.insert(
        code.clone(),
        (query.client_id.clone(), query.redirect_uri.clone(), granted),
    );
    let mut target = match url::Url::parse(&query.redirect_uri) {
        Ok(url) => url,
        Err(_) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "redirect_uri"),
    };
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &query.state);
    (
        StatusCode::FOUND,
        [(axum::http::header::LOCATION, target.to_string())],
    )
        .into_response()
}

/// Authentication, "Get Access Token" and "Get Access Token using refresh token".
async fn token(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path(mall): Path<String>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    use base64::Engine;
    let mut state = lock(&state);
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok())
        .unwrap_or_default();
    let (client_id, secret) = basic.split_once(':').unwrap_or_default();
    if state.clients.get(client_id).map(String::as_str) != Some(secret) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client_secret",
        );
    }
    let scopes = match form.grant_type.as_str() {
        // A code works once, for the client and redirect it was issued to.
        "authorization_code" => match state.codes.remove(&form.code) {
            Some((id, redirect, scopes)) if id == client_id && redirect == form.redirect_uri => {
                scopes
            }
            _ => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Validation error: code is invalid",
                );
            }
        },
        // A refresh token works once: the answer carries a new one.
        "refresh_token" => {
            if state.refresh_tokens.remove(&form.refresh_token).as_deref() != Some(client_id) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Validation error: refresh_token is invalid or expired",
                );
            }
            state.granted_scopes()
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type is authorization_code or refresh_token",
            );
        }
    };
    let lifetime = state.access_lifetime;
    let (access, refresh) = state.issue_tokens(client_id);
    let now = chrono::Utc::now().with_timezone(&adpool_core::kst());
    let stamp =
        |t: chrono::DateTime<chrono::FixedOffset>| t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string();
    axum::Json(json!({
        "access_token": access,
        "expires_at": stamp(now + chrono::Duration::from_std(lifetime).unwrap_or_default()),
        "refresh_token": refresh,
        "refresh_token_expires_at": stamp(now + chrono::Duration::days(14)),
        "client_id": client_id,
        "mall_id": mall,
        "user_id": "owner",
        "scopes": scopes,
        "issued_at": stamp(now),
        "shop_no": "1",
        "token_type": "Bearer",
    }))
    .into_response()
}

/// Adds the call-limit headers Cafe24 sends on every answer (Introduction, API Limit).
fn with_limit(mut response: Response, used: u32, state: &FakeState) -> Response {
    let (size, rate) = state.limit.unwrap_or((40.0, 2.0));
    let headers = response.headers_mut();
    if let Ok(value) = format!("{used}/{}", size as u32).parse() {
        headers.insert("x-api-call-limit", value);
    }
    let usage = f64::from(used) * 100.0 / size;
    if let Ok(value) = format!("{usage:.2}").parse() {
        headers.insert("x-cafe24-call-usage", value);
    }
    if usage >= 100.0 {
        let remain = ((f64::from(used) + 1.0 - size) / rate).ceil().max(1.0);
        if let Ok(value) = format!("{remain}").parse() {
            headers.insert("x-cafe24-call-remain", value);
        }
    }
    response
}

/// The checks every Admin API call passes: the call limit (429), injected faults (503), the
/// version header, the access token (401) and the scope of the resource (403). `Err` is the
/// refusal; `Ok` the bucket's level.
fn admit(
    state: &mut FakeState,
    mall: &str,
    headers: &HeaderMap,
    scope: &str,
) -> Result<u32, Box<Response>> {
    if state.throttle_next > 0 {
        state.throttle_next -= 1;
        state.throttled += 1;
        let size = state.limit.map_or(40, |(size, _)| size as u32);
        return Err(Box::new(with_limit(
            error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
            size,
            state,
        )));
    }
    let used = match state.take_call(mall) {
        Ok(used) => used,
        Err(used) => {
            state.throttled += 1;
            return Err(Box::new(with_limit(
                error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
                used,
                state,
            )));
        }
    };
    let refuse = |state: &FakeState, status, message: &str| {
        Err(Box::new(with_limit(error(status, message), used, state)))
    };
    if state.fail_next > 0 {
        state.fail_next -= 1;
        return refuse(
            state,
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
        );
    }
    if headers.get("x-cafe24-api-version").is_none() {
        return refuse(
            state,
            StatusCode::BAD_REQUEST,
            "X-Cafe24-Api-Version is required",
        );
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match state.access_tokens.get(token) {
        Some(expiry) if *expiry > Instant::now() => {}
        Some(_) => {
            return refuse(
                state,
                StatusCode::UNAUTHORIZED,
                "access_token time expired. (invalid_token)",
            );
        }
        None => return refuse(state, StatusCode::UNAUTHORIZED, "invalid_token"),
    }
    if state.denied_scopes.contains(scope) {
        return refuse(state, StatusCode::FORBIDDEN, "insufficient_scope");
    }
    Ok(used)
}

/// Runs `answer` after [`admit`], with the limit headers on whatever it answers.
fn admitted(
    state: &Arc<Mutex<FakeState>>,
    mall: &str,
    headers: &HeaderMap,
    scope: &str,
    answer: impl FnOnce(&mut FakeState) -> Response,
) -> Response {
    let mut state = lock(state);
    let used = match admit(&mut state, mall, headers, scope) {
        Ok(used) => used,
        Err(refusal) => return *refusal,
    };
    let response = answer(&mut state);
    if response.status() == StatusCode::OK {
        state.served += 1;
    }
    with_limit(response, used, &state)
}

fn unprocessable(message: &str) -> Response {
    error(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// Shops, "Retrieve a list of shops".
async fn shops(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path(mall): Path<String>,
    headers: HeaderMap,
) -> Response {
    admitted(&state, &mall, &headers, "mall.read_store", |state| {
        let list: Vec<Value> = match state.shops.get(&mall) {
            Some(shops) => shops
                .iter()
                .map(|s| {
                    json!({ "shop_no": s.shop_no, "default": if s.shop_no == 1 { "T" } else { "F" },
                    "shop_name": s.name, "currency_code": s.currency, "active": "T" })
                })
                .collect(),
            None => vec![
                json!({ "shop_no": 1, "default": "T", "shop_name": mall, "currency_code": "KRW", "active": "T" }),
            ],
        };
        axum::Json(json!({ "shops": list })).into_response()
    })
}

#[derive(Deserialize)]
struct OrdersQuery {
    #[serde(default = "default_shop")]
    shop_no: i64,
    #[serde(default)]
    date_type: Option<String>,
    #[serde(default)]
    start_date: Option<String>,
    #[serde(default)]
    end_date: Option<String>,
    #[serde(default)]
    embed: String,
    #[serde(default = "default_limit")]
    limit: usize,
    #[serde(default)]
    offset: usize,
}

fn default_limit() -> usize {
    10
}

fn default_shop() -> i64 {
    1
}

/// The `date_type` values Orders documents.
const DATE_TYPES: [&str; 16] = [
    "order_date",
    "pay_date",
    "shipbegin_date",
    "shipend_date",
    "cancel_date",
    "place_date",
    "cancel_request_date",
    "cancel_accept_date",
    "cancel_complete_date",
    "exchange_request_date",
    "exchange_accept_date",
    "exchange_complete_date",
    "return_request_date",
    "return_accept_date",
    "return_complete_date",
    "purchaseconfirmation_date",
];

fn won(amount: i64) -> String {
    format!("{amount}.00")
}

/// Orders, "Retrieve a list of orders".
async fn orders(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path(mall): Path<String>,
    headers: HeaderMap,
    Query(query): Query<OrdersQuery>,
) -> Response {
    admitted(&state, &mall, &headers, "mall.read_order", |state| {
        let date_type = query.date_type.as_deref().unwrap_or("order_date");
        if !DATE_TYPES.contains(&date_type) {
            return unprocessable("date_type is not a valid value");
        }
        if date_type != "order_date" {
            return error(
                StatusCode::NOT_IMPLEMENTED,
                "the fake answers date_type=order_date only",
            );
        }
        let (start, end) = match (&query.start_date, &query.end_date) {
            (Some(start), Some(end)) => (start, end),
            (None, None) => return unprocessable("start_date and end_date are required"),
            _ => return unprocessable("start_date must be used with end_date"),
        };
        let (Ok(start), Ok(end)) = (
            NaiveDate::parse_from_str(start, "%Y-%m-%d"),
            NaiveDate::parse_from_str(end, "%Y-%m-%d"),
        ) else {
            return unprocessable("start_date and end_date are YYYY-MM-DD");
        };
        if end < start
            || end
                > start
                    .checked_add_months(chrono::Months::new(3))
                    .unwrap_or(end)
        {
            return unprocessable("The search period can be up to 3 months.");
        }
        if query.limit == 0 || query.limit > 1000 {
            return unprocessable("limit must be 1 to 1000");
        }
        if query.offset > 15_000 {
            return unprocessable("offset must be 15000 or less");
        }
        if query.shop_no < 1 {
            return unprocessable("shop_no must be 1 or more");
        }
        if state.malformed_offset == Some(query.offset) {
            state.malformed_offset = None;
            return (StatusCode::OK, "{\"orders\": [{\"order_id\": ").into_response();
        }
        let today = state.today;
        let with_items = query.embed.split(',').any(|e| e == "items");
        let page: Vec<Value> = state
            .orders
            .get(&mall)
            .into_iter()
            .flatten()
            .filter(|o| o.shop_no == query.shop_no)
            .filter(|o| (start..=end).contains(&o.day()) && today.is_none_or(|t| o.day() <= t))
            .skip(query.offset)
            .take(query.limit)
            .map(|o| order_json(o, today.unwrap_or(NaiveDate::MAX), with_items))
            .collect();
        axum::Json(json!({ "orders": page })).into_response()
    })
}

/// An order as the list answers it on `day`.
fn order_json(order: &FakeOrder, day: NaiveDate, with_items: bool) -> Value {
    let lines: Vec<(String, i64)> = order
        .items
        .iter()
        .map(|i| {
            let gross = (i.product_price + i.option_price) * i.quantity;
            let net = i
                .payment_amount
                .unwrap_or(gross - i.additional_discount - i.coupon_discount - i.app_discount);
            (i.code_on(day).to_owned(), net)
        })
        .collect();
    let paid: i64 = lines.iter().map(|(_, net)| net).sum();
    let canceled = lines.iter().filter(|(c, _)| c.starts_with('C')).count();
    let mut out = json!({
        "shop_no": order.shop_no,
        "currency": "KRW",
        "order_id": order.order_id,
        "order_date": order.order_date,
        "member_id": order.member_id,
        "paid": if lines.iter().all(|(c, _)| c == "N00") { "F" } else { "T" },
        "canceled": match canceled { 0 => "F", n if n == lines.len() => "T", _ => "M" },
        "payment_amount": won(paid),
        "actual_order_amount": { "payment_amount": won(paid), "shipping_fee": "3000.00" },
    });
    if with_items {
        out["items"] = order
            .items
            .iter()
            .enumerate()
            .map(|(n, i)| {
                json!({
                    "shop_no": order.shop_no,
                    "item_no": n + 1,
                    "order_item_code": format!("{}-{:02}", order.order_id, n + 1),
                    "product_no": i.product_no,
                    "product_name": i.name,
                    "quantity": i.quantity,
                    "product_price": won(i.product_price),
                    "option_price": won(i.option_price),
                    "additional_discount_price": won(i.additional_discount),
                    "coupon_discount_price": won(i.coupon_discount),
                    "app_item_discount_amount": won(i.app_discount),
                    "payment_amount": i.payment_amount.map(won),
                    "order_status": i.code_on(day),
                })
            })
            .collect();
    }
    out
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default = "default_limit")]
    limit: usize,
    #[serde(default)]
    offset: usize,
    #[serde(default)]
    since_product_no: i64,
    #[serde(default)]
    updated_start_date: Option<String>,
    #[serde(default)]
    updated_end_date: Option<String>,
}

/// Checks a page's `limit` (at most 100 for catalog resources) and `offset` (`cap`).
fn page_refusal(query: &PageQuery, cap: usize) -> Option<Response> {
    if query.limit == 0 || query.limit > 100 {
        return Some(unprocessable("limit must be 1 to 100"));
    }
    if query.offset > cap {
        return Some(unprocessable(&format!("offset must be {cap} or less")));
    }
    None
}

/// Categories, "Retrieve a list of product categories".
async fn categories(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path(mall): Path<String>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    admitted(&state, &mall, &headers, "mall.read_category", |state| {
        if let Some(refusal) = page_refusal(&query, 5_000) {
            return refusal;
        }
        let page: Vec<Value> = state
            .categories
            .get(&mall)
            .into_iter()
            .flatten()
            .skip(query.offset)
            .take(query.limit)
            .map(|(no, name, parent)| json!({ "category_no": no, "category_name": name, "parent_category_no": parent.unwrap_or(1) }))
            .collect();
        axum::Json(json!({ "categories": page })).into_response()
    })
}

/// Products, "Retrieve a list of products": no category in the list.
async fn products(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path(mall): Path<String>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    admitted(&state, &mall, &headers, "mall.read_product", |state| {
        if let Some(refusal) = page_refusal(&query, 8_000) {
            return refusal;
        }
        let window = match (&query.updated_start_date, &query.updated_end_date) {
            (None, None) => None,
            (Some(start), Some(end)) => Some((
                start.get(..10).unwrap_or(start).to_owned(),
                end.get(..10).unwrap_or(end).to_owned(),
            )),
            _ => return unprocessable("updated_start_date must be used with updated_end_date"),
        };
        let mut list: Vec<&FakeProduct> = state
            .products
            .get(&mall)
            .into_iter()
            .flatten()
            .filter(|p| p.product_no > query.since_product_no)
            .filter(|p| {
                window.as_ref().is_none_or(|(start, end)| {
                    let day = p.updated_date.get(..10).unwrap_or_default();
                    day >= start.as_str() && day <= end.as_str()
                })
            })
            .collect();
        list.sort_by_key(|p| p.product_no);
        let page: Vec<Value> = list
            .iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|p| {
                json!({
                    "shop_no": 1, "product_no": p.product_no, "product_name": p.name,
                    "price": won(p.price), "updated_date": p.updated_date,
                })
            })
            .collect();
        axum::Json(json!({ "products": page })).into_response()
    })
}

/// Products, "Retrieve a product": the detail, with its categories.
async fn product(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path((mall, product_no)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    admitted(&state, &mall, &headers, "mall.read_product", |state| {
        state.details_served += 1;
        let found = state
            .products
            .get(&mall)
            .into_iter()
            .flatten()
            .find(|p| p.product_no.to_string() == product_no);
        match found {
            Some(p) => axum::Json(json!({ "product": {
                "shop_no": 1, "product_no": p.product_no, "product_name": p.name,
                "price": won(p.price), "updated_date": p.updated_date,
                "category": p.categories.iter().map(|c| json!({ "category_no": c, "recommend": "F", "new": "F" })).collect::<Vec<_>>(),
            }}))
            .into_response(),
            None => error(StatusCode::NOT_FOUND, "No API found"),
        }
    })
}

/// Coupons, "Retrieve a list of coupons" (scope `mall.read_promotion`).
async fn coupons(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path(mall): Path<String>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    admitted(&state, &mall, &headers, "mall.read_promotion", |state| {
        if let Some(refusal) = page_refusal(&query, 8_000) {
            return refusal;
        }
        let page: Vec<Value> = state
            .coupons
            .get(&mall)
            .into_iter()
            .flatten()
            .skip(query.offset)
            .take(query.limit)
            .map(|(no, name, benefit)| json!({ "coupon_no": no, "coupon_name": name, "benefit_text": benefit }))
            .collect();
        axum::Json(json!({ "coupons": page })).into_response()
    })
}
