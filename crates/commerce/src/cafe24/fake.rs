//! A fake Cafe24 Admin API on 127.0.0.1 for tests, the demo and the benchmark. It behaves as
//! Cafe24 documents: refresh-token grants that rotate the refresh token, 2-hour access tokens,
//! the `X-Cafe24-Api-Version` header, the leaky bucket of 40 calls draining 2 per second
//! reported in `X-Api-Call-Limit` (429 when full), order windows of at most 3 months, `limit`
//! up to 1000 and the 15,000 offset cap. Faults can be injected: 5xx answers, a malformed page,
//! revoked refresh tokens.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fake_limit::CallBucket;

/// The API version the fake expects in `X-Cafe24-Api-Version`.
pub const API_VERSION: &str = "2025-12-01";

/// An order the fake serves.
#[derive(Debug, Clone)]
pub struct FakeOrder {
    /// `YYYYMMDD-NNNNNNN`.
    pub order_id: String,
    /// `2026-11-20T10:00:00+09:00`.
    pub order_date: String,
    /// Cafe24 item status code (`N40` delivered, `C40` cancelled, ...).
    pub status: String,
    /// (product no, name, quantity, unit price).
    pub items: Vec<(i64, String, i64, i64)>,
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
    /// Its category.
    pub category_no: Option<i64>,
    /// Last update, `2026-11-20T10:00:00+09:00`.
    pub updated_date: String,
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
    /// Access token lifetime (2 hours at Cafe24).
    pub access_lifetime: Duration,
    /// Bucket size (40) and drain rate per second (2); `None` turns the limit off.
    pub limit: Option<(f64, f64)>,
    bucket: Option<CallBucket>,
    /// Answer the next this many API calls with 503.
    pub fail_next: u32,
    /// Answer the page at this offset with broken JSON.
    pub malformed_offset: Option<usize>,
    /// Calls answered 200 / 429.
    pub served: u64,
    /// Calls refused with 429.
    pub throttled: u64,
    /// Authorization codes waiting to be exchanged: code -> (client id, redirect uri).
    pub codes: BTreeMap<String, (String, String)>,
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
            access_lifetime: Duration::from_secs(7200),
            limit: Some((40.0, 2.0)),
            bucket: None,
            fail_next: 0,
            malformed_offset: None,
            served: 0,
            throttled: 0,
            codes: BTreeMap::new(),
            categories: BTreeMap::new(),
            products: BTreeMap::new(),
            coupons: BTreeMap::new(),
            counter: 0,
        }
    }
}

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

    /// Takes one call into the bucket; `Err(used)` when it is full.
    fn take_call(&mut self) -> Result<u32, u32> {
        let Some((size, rate)) = self.limit else {
            return Ok(1);
        };
        self.bucket
            .get_or_insert_with(|| CallBucket::new(size, rate))
            .take()
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
            .route("/{mall}/api/v2/admin/orders", get(orders))
            .route("/{mall}/api/v2/admin/categories", get(categories))
            .route("/{mall}/api/v2/admin/products", get(products))
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
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": { "code": status.as_u16(), "message": message } })),
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
}

/// The consent page, consenting at once: back to `redirect_uri` with a code and the state.
async fn authorize(
    State(state): State<Arc<Mutex<FakeState>>>,
    Query(query): Query<AuthorizeQuery>,
) -> Response {
    let mut state = lock(&state);
    if query.response_type != "code" || !state.clients.contains_key(&query.client_id) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request: unknown client_id",
        );
    }
    state.counter += 1;
    let code = format!("code-{}", state.counter);
    state.codes.insert(
        code.clone(),
        (query.client_id.clone(), query.redirect_uri.clone()),
    );
    let mut target = match url::Url::parse(&query.redirect_uri) {
        Ok(url) => url,
        Err(_) => return error(StatusCode::BAD_REQUEST, "invalid_request: redirect_uri"),
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

async fn token(
    State(state): State<Arc<Mutex<FakeState>>>,
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
        return error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    match form.grant_type.as_str() {
        // A code works once, for the client and redirect it was issued to.
        "authorization_code" => {
            if state.codes.remove(&form.code)
                != Some((client_id.to_owned(), form.redirect_uri.clone()))
            {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant: the code is invalid",
                );
            }
        }
        // A refresh token works once: the answer carries a new one.
        "refresh_token" => {
            if state.refresh_tokens.remove(&form.refresh_token).as_deref() != Some(client_id) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant: the refresh token is invalid or expired",
                );
            }
        }
        _ => return error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
    let lifetime = state.access_lifetime;
    let (access, refresh) = state.issue_tokens(client_id);
    let now = chrono::Utc::now();
    axum::Json(json!({
        "access_token": access,
        "expires_at": (now + chrono::Duration::from_std(lifetime).unwrap_or_default()).to_rfc3339(),
        "refresh_token": refresh,
        "refresh_token_expires_at": (now + chrono::Duration::days(14)).to_rfc3339(),
        "client_id": client_id,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct OrdersQuery {
    start_date: String,
    end_date: String,
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

/// Adds the call-limit header Cafe24 sends on every answer.
fn with_limit(mut response: Response, used: u32) -> Response {
    if let Ok(value) = format!("{used}/40").parse() {
        response.headers_mut().insert("x-api-call-limit", value);
    }
    response
}

/// The checks every Admin API call passes: the call limit (429), injected faults (503), the
/// version header and the access token. `Err` is the refusal; `Ok` the bucket's level.
fn admit(state: &mut FakeState, headers: &HeaderMap) -> Result<u32, Box<Response>> {
    let used = match state.take_call() {
        Ok(used) => used,
        Err(used) => {
            state.throttled += 1;
            return Err(Box::new(with_limit(
                error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
                used,
            )));
        }
    };
    let refuse = |status, message: &str| Err(Box::new(with_limit(error(status, message), used)));
    if state.fail_next > 0 {
        state.fail_next -= 1;
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
    }
    if headers.get("x-cafe24-api-version").is_none() {
        return refuse(StatusCode::BAD_REQUEST, "X-Cafe24-Api-Version is required");
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match state.access_tokens.get(token) {
        Some(expiry) if *expiry > Instant::now() => Ok(used),
        Some(_) => refuse(
            StatusCode::UNAUTHORIZED,
            "access_token time expired. (invalid_token)",
        ),
        None => refuse(StatusCode::UNAUTHORIZED, "invalid_token"),
    }
}

async fn orders(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path(mall): Path<String>,
    headers: HeaderMap,
    Query(query): Query<OrdersQuery>,
) -> Response {
    let mut state = lock(&state);
    let used = match admit(&mut state, &headers) {
        Ok(used) => used,
        Err(refusal) => return *refusal,
    };
    let with_limit = |response: Response| with_limit(response, used);
    let (Ok(start), Ok(end)) = (
        chrono::NaiveDate::parse_from_str(&query.start_date, "%Y-%m-%d"),
        chrono::NaiveDate::parse_from_str(&query.end_date, "%Y-%m-%d"),
    ) else {
        return with_limit(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "start_date and end_date are YYYY-MM-DD",
        ));
    };
    if end < start || (end - start).num_days() > 92 {
        return with_limit(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The search period can be up to 3 months.",
        ));
    }
    if query.limit == 0 || query.limit > 1000 {
        return with_limit(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "limit must be 1 to 1000",
        ));
    }
    if query.offset > 15_000 {
        return with_limit(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "offset must be 15000 or less",
        ));
    }
    if state.malformed_offset == Some(query.offset) {
        state.malformed_offset = None;
        return with_limit((StatusCode::OK, "{\"orders\": [{\"order_id\": ").into_response());
    }
    state.served += 1;
    let in_window: Vec<&FakeOrder> = state
        .orders
        .get(&mall)
        .map(|orders| {
            orders
                .iter()
                .filter(|o| {
                    let day = o.order_date.get(..10).unwrap_or_default();
                    day >= query.start_date.as_str() && day <= query.end_date.as_str()
                })
                .collect()
        })
        .unwrap_or_default();
    let page: Vec<Value> = in_window
        .iter()
        .skip(query.offset)
        .take(query.limit)
        .map(|o| {
            let items: Vec<Value> = o
                .items
                .iter()
                .enumerate()
                .map(|(i, (no, name, quantity, price))| {
                    json!({
                        "order_item_code": format!("{}-{:02}", o.order_id, i + 1),
                        "product_no": no,
                        "product_name": name,
                        "quantity": quantity,
                        "product_price": format!("{price}.00"),
                        "order_status": o.status,
                    })
                })
                .collect();
            let total: i64 = o.items.iter().map(|(_, _, q, p)| q * p).sum();
            let mut order = json!({
                "order_id": o.order_id,
                "order_date": o.order_date,
                "member_id": format!("member{}", o.order_id.len()),
                "canceled": if o.status.starts_with('C') { "T" } else { "F" },
                "actual_order_amount": { "payment_amount": format!("{total}.00") },
            });
            if query.embed.split(',').any(|e| e == "items") {
                order["items"] = Value::Array(items);
            }
            order
        })
        .collect();
    with_limit(axum::Json(json!({ "orders": page })).into_response())
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
    updated_start_date: String,
}

/// Checks a page's `limit` (at most 100 for catalog resources) and `offset` (at most 5,000).
fn page_refusal(query: &PageQuery, used: u32) -> Option<Response> {
    if query.limit == 0 || query.limit > 100 {
        return Some(with_limit(
            error(StatusCode::UNPROCESSABLE_ENTITY, "limit must be 1 to 100"),
            used,
        ));
    }
    if query.offset > 5_000 {
        return Some(with_limit(
            error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "offset must be 5000 or less",
            ),
            used,
        ));
    }
    None
}

async fn categories(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path(mall): Path<String>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    let mut state = lock(&state);
    let used = match admit(&mut state, &headers) {
        Ok(used) => used,
        Err(refusal) => return *refusal,
    };
    if let Some(refusal) = page_refusal(&query, used) {
        return refusal;
    }
    state.served += 1;
    let page: Vec<Value> = state
        .categories
        .get(&mall)
        .into_iter()
        .flatten()
        .skip(query.offset)
        .take(query.limit)
        .map(|(no, name, parent)| json!({ "category_no": no, "category_name": name, "parent_category_no": parent }))
        .collect();
    with_limit(
        axum::Json(json!({ "categories": page })).into_response(),
        used,
    )
}

async fn products(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path(mall): Path<String>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    let mut state = lock(&state);
    let used = match admit(&mut state, &headers) {
        Ok(used) => used,
        Err(refusal) => return *refusal,
    };
    if let Some(refusal) = page_refusal(&query, used) {
        return refusal;
    }
    state.served += 1;
    let mut list: Vec<&FakeProduct> = state
        .products
        .get(&mall)
        .into_iter()
        .flatten()
        .filter(|p| p.product_no > query.since_product_no)
        .filter(|p| {
            query.updated_start_date.is_empty()
                || p.updated_date.get(..10).unwrap_or_default() >= query.updated_start_date.as_str()
        })
        .collect();
    list.sort_by_key(|p| p.product_no);
    let page: Vec<Value> = list
        .iter()
        .skip(query.offset)
        .take(query.limit)
        .map(|p| {
            json!({
                "product_no": p.product_no, "product_name": p.name,
                "price": format!("{}.00", p.price), "updated_date": p.updated_date,
                "category": p.category_no.map(|c| vec![json!({ "category_no": c })]).unwrap_or_default(),
            })
        })
        .collect();
    with_limit(
        axum::Json(json!({ "products": page })).into_response(),
        used,
    )
}

async fn coupons(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path(mall): Path<String>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    let mut state = lock(&state);
    let used = match admit(&mut state, &headers) {
        Ok(used) => used,
        Err(refusal) => return *refusal,
    };
    if let Some(refusal) = page_refusal(&query, used) {
        return refusal;
    }
    state.served += 1;
    let page: Vec<Value> = state
        .coupons
        .get(&mall)
        .into_iter()
        .flatten()
        .skip(query.offset)
        .take(query.limit)
        .map(|(no, name, benefit)| json!({ "coupon_no": no, "coupon_name": name, "benefit_text": benefit }))
        .collect();
    with_limit(axum::Json(json!({ "coupons": page })).into_response(), used)
}
