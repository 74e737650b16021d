//! A fake Naver Commerce API on 127.0.0.1 for tests and the demo, a double of the Commerce API
//! Center documents (apicenter.commerce.naver.com; docs/shops.md has the table). It checks the
//! bcrypt `client_secret_sign`, issues 3-hour tokens, answers `last-changed-statuses` for
//! windows of at most 24 hours in pages of 300 with `moreSequence`, lists an order's product
//! orders, answers detail queries of at most 300 ids (`initialQuantity` / `remainQuantity` and
//! `initialPaymentAmount` / `remainPaymentAmount` only with `quantityClaimCompatibility`; the
//! orderer as `ordererNo` and a masked `ordererId`), lists categories and channel products,
//! refuses calls past its rate with 429 `GW.RATE_LIMIT`, and every call with 403
//! `GW.IP_NOT_ALLOWED` when the caller's address is not registered. Faults can be injected:
//! 5xx answers.

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

/// A product order (one line of an order) the fake serves.
#[derive(Debug, Clone, Default)]
pub struct FakeProductOrder {
    /// Product order id.
    pub product_order_id: String,
    /// Order id.
    pub order_id: String,
    /// `2026-11-20T10:00:00.000+09:00`.
    pub order_date: String,
    /// Orderer id (answered masked, as Naver does: `cam***`).
    pub orderer_id: String,
    /// Orderer number: the stable customer id.
    pub orderer_no: String,
    /// Product id.
    pub product_id: String,
    /// Product name.
    pub product_name: String,
    /// Quantity.
    pub quantity: i64,
    /// Paid for the line, in won.
    pub amount: i64,
    /// What is left after a partial cancellation or return (`None`: all of it).
    pub remain_quantity: Option<i64>,
    /// The payment left for it (`None`: all of it).
    pub remain_amount: Option<i64>,
    /// `CANCEL`, `RETURN`, `EXCHANGE` when a claim was made.
    pub claim_type: Option<String>,
    /// `PAYED`, `DELIVERED`, `PURCHASE_DECIDED`, `CANCELED`, ...
    pub status: String,
    /// When its status last changed (UTC ms).
    pub last_changed: i64,
}

/// What the fake does and has.
#[derive(Debug)]
pub struct FakeNaverState {
    /// `client_id` -> client secret (a bcrypt salt).
    pub clients: BTreeMap<String, String>,
    /// Issued tokens and when they expire.
    pub tokens: BTreeMap<String, Instant>,
    /// Token lifetime (3 hours at Naver).
    pub token_lifetime: Duration,
    /// Product orders.
    pub product_orders: Vec<FakeProductOrder>,
    /// Calls per second allowed (burst of the same size); `None` turns the limit off.
    pub limit: Option<f64>,
    bucket: Option<CallBucket>,
    /// Answer the next this many API calls with 500.
    pub fail_next: u32,
    /// Calls refused with 429.
    pub throttled: u64,
    /// Refuse every call with `GW.IP_NOT_ALLOWED` (the caller's address is not registered).
    pub refuse_ip: bool,
    /// Categories: (id, name, whole name `A>B>C`).
    pub categories: Vec<(String, String, String)>,
    /// Channel products: (channel product no, name, sale price, leaf category id).
    pub products: Vec<(i64, String, i64, String)>,
    counter: u64,
}

impl Default for FakeNaverState {
    fn default() -> Self {
        FakeNaverState {
            clients: BTreeMap::new(),
            tokens: BTreeMap::new(),
            token_lifetime: Duration::from_secs(10_800),
            product_orders: Vec::new(),
            limit: None,
            bucket: None,
            fail_next: 0,
            throttled: 0,
            refuse_ip: false,
            categories: Vec::new(),
            products: Vec::new(),
            counter: 0,
        }
    }
}

/// A running fake.
#[derive(Debug, Clone)]
pub struct FakeNaver {
    /// Its address.
    pub address: SocketAddr,
    /// Its state, to seed and inspect.
    pub state: Arc<Mutex<FakeNaverState>>,
}

impl FakeNaver {
    /// Starts a fake on a free port of 127.0.0.1.
    pub async fn start(state: FakeNaverState) -> std::io::Result<FakeNaver> {
        let state = Arc::new(Mutex::new(state));
        let app = Router::new()
            .route("/external/v1/oauth2/token", post(token))
            .route(
                "/external/v1/pay-order/seller/product-orders/last-changed-statuses",
                get(changes),
            )
            .route(
                "/external/v1/pay-order/seller/orders/{order_id}/product-order-ids",
                get(product_order_ids),
            )
            .route(
                "/external/v1/pay-order/seller/product-orders/query",
                post(details),
            )
            .route("/external/v1/categories", get(categories))
            .route("/external/v1/products/search", post(products))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeNaver { address, state })
    }

    /// The base URL adpool is configured with.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }
}

type Shared = Arc<Mutex<FakeNaverState>>;

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, FakeNaverState> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "code": code, "message": message, "timestamp": chrono::Utc::now().to_rfc3339() })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    client_id: String,
    timestamp: i64,
    client_secret_sign: String,
    grant_type: String,
}

async fn token(State(state): State<Shared>, Form(form): Form<TokenForm>) -> Response {
    let mut state = lock(&state);
    if state.refuse_ip {
        return ip_refusal();
    }
    let Some(secret) = state.clients.get(&form.client_id).cloned() else {
        return error(StatusCode::UNAUTHORIZED, "GW.AUTHN", "unknown client_id");
    };
    if form.grant_type != "client_credentials"
        || super::client_secret_sign(&form.client_id, &secret, form.timestamp).as_deref()
            != Ok(form.client_secret_sign.as_str())
    {
        return error(
            StatusCode::UNAUTHORIZED,
            "GW.AUTHN",
            "client_secret_sign is invalid",
        );
    }
    state.counter += 1;
    let token = format!("naver-token-{}", state.counter);
    let lifetime = state.token_lifetime;
    state
        .tokens
        .insert(token.clone(), Instant::now() + lifetime);
    axum::Json(
        json!({ "access_token": token, "expires_in": lifetime.as_secs(), "token_type": "Bearer" }),
    )
    .into_response()
}

/// The gateway's answer to an address the application does not list.
fn ip_refusal() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "GW.IP_NOT_ALLOWED",
        "호출이 허용되지 않은 IP입니다.",
    )
}

/// Checks the address, the token, the rate and injected faults: the refusal, if any.
fn refusal(state: &mut FakeNaverState, headers: &HeaderMap) -> Option<Response> {
    if state.refuse_ip {
        return Some(ip_refusal());
    }
    if let Some(rate) = state.limit {
        let bucket = state
            .bucket
            .get_or_insert_with(|| CallBucket::new(rate, rate));
        if bucket.take().is_err() {
            state.throttled += 1;
            return Some(error(
                StatusCode::TOO_MANY_REQUESTS,
                "GW.RATE_LIMIT",
                "rate limit exceeded",
            ));
        }
    }
    if state.fail_next > 0 {
        state.fail_next -= 1;
        return Some(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SERVER_ERROR",
            "temporary failure",
        ));
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match state.tokens.get(token) {
        Some(expiry) if *expiry > Instant::now() => None,
        _ => Some(error(
            StatusCode::UNAUTHORIZED,
            "GW.AUTHN",
            "the token is invalid or expired",
        )),
    }
}

const PAGE: usize = 300;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangesQuery {
    last_changed_from: String,
    last_changed_to: Option<String>,
    more_sequence: Option<String>,
}

async fn changes(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<ChangesQuery>,
) -> Response {
    let mut state = lock(&state);
    if let Some(response) = refusal(&mut state, &headers) {
        return response;
    }
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).map(|t| t.timestamp_millis());
    let Ok(from) = parse(&query.last_changed_from) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "lastChangedFrom is not a date-time",
        );
    };
    let to = match query.last_changed_to.as_deref().map(parse) {
        Some(Ok(to)) => to,
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "lastChangedTo is not a date-time",
            );
        }
        None => from + 86_400_000,
    };
    if to < from || to - from > 86_400_000 {
        return error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "lastChangedTo must be within 24 hours of lastChangedFrom",
        );
    }
    let start: usize = query
        .more_sequence
        .as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut changed: Vec<&FakeProductOrder> = state
        .product_orders
        .iter()
        .filter(|p| p.last_changed >= from && p.last_changed <= to)
        .collect();
    changed.sort_by(|a, b| {
        (a.last_changed, &a.product_order_id).cmp(&(b.last_changed, &b.product_order_id))
    });
    let page: Vec<Value> = changed
        .iter()
        .skip(start)
        .take(PAGE)
        .map(|p| json!({ "productOrderId": p.product_order_id, "orderId": p.order_id, "productOrderStatus": p.status, "lastChangedDate": p.last_changed }))
        .collect();
    let mut data = json!({ "lastChangeStatuses": page, "count": page.len() });
    if start + PAGE < changed.len() {
        data["more"] = json!({ "moreFrom": query.last_changed_from, "moreSequence": (start + PAGE).to_string() });
    }
    axum::Json(json!({ "timestamp": chrono::Utc::now().to_rfc3339(), "data": data }))
        .into_response()
}

async fn product_order_ids(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(order_id): Path<String>,
) -> Response {
    let mut state = lock(&state);
    if let Some(response) = refusal(&mut state, &headers) {
        return response;
    }
    let ids: Vec<&str> = state
        .product_orders
        .iter()
        .filter(|p| p.order_id == order_id)
        .map(|p| p.product_order_id.as_str())
        .collect();
    axum::Json(json!({ "data": ids })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DetailsBody {
    product_order_ids: Vec<String>,
    #[serde(default)]
    quantity_claim_compatibility: bool,
}

async fn details(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<DetailsBody>,
) -> Response {
    let mut state = lock(&state);
    if let Some(response) = refusal(&mut state, &headers) {
        return response;
    }
    if body.product_order_ids.len() > PAGE {
        return error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "at most 300 productOrderIds",
        );
    }
    let data: Vec<Value> = body
        .product_order_ids
        .iter()
        .filter_map(|id| {
            state
                .product_orders
                .iter()
                .find(|p| &p.product_order_id == id)
        })
        .map(|p| {
            let masked: String = p.orderer_id.chars().take(3).chain("***".chars()).collect();
            let mut line = json!({
                "productOrderId": p.product_order_id, "productId": p.product_id,
                "productName": p.product_name, "quantity": p.quantity,
                "totalPaymentAmount": p.amount, "productOrderStatus": p.status,
                "claimType": p.claim_type,
            });
            // Quantity claims: with the flag, the initial and remaining quantity and payment.
            if body.quantity_claim_compatibility {
                line["initialQuantity"] = json!(p.quantity);
                line["remainQuantity"] = json!(p.remain_quantity.unwrap_or(p.quantity));
                line["initialPaymentAmount"] = json!(p.amount);
                line["remainPaymentAmount"] = json!(p.remain_amount.unwrap_or(p.amount));
            }
            json!({
                "order": { "orderId": p.order_id, "orderDate": p.order_date,
                    "ordererId": masked, "ordererNo": p.orderer_no },
                "productOrder": line,
            })
        })
        .collect();
    axum::Json(json!({ "data": data })).into_response()
}

/// `GET /v1/categories`: every category with its whole name.
async fn categories(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let mut state = lock(&state);
    if let Some(response) = refusal(&mut state, &headers) {
        return response;
    }
    let list: Vec<Value> = state
        .categories
        .iter()
        .map(|(id, name, whole)| json!({ "id": id, "name": name, "wholeCategoryName": whole, "last": true }))
        .collect();
    axum::Json(Value::Array(list)).into_response()
}

#[derive(Deserialize)]
struct SearchBody {
    #[serde(default = "first_page")]
    page: usize,
    #[serde(default = "default_size")]
    size: usize,
}

fn first_page() -> usize {
    1
}

fn default_size() -> usize {
    50
}

/// `POST /v1/products/search`: origin products with their channel products, paged.
async fn products(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<SearchBody>,
) -> Response {
    let mut state = lock(&state);
    if let Some(response) = refusal(&mut state, &headers) {
        return response;
    }
    if body.page < 1 || body.size < 1 || body.size > 500 {
        return error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "page >= 1, size 1 to 500",
        );
    }
    let total = state.products.len();
    let contents: Vec<Value> = state
        .products
        .iter()
        .skip((body.page - 1) * body.size)
        .take(body.size)
        .map(|(no, name, price, category)| {
            json!({ "originProductNo": no + 1_000_000, "channelProducts": [{
                "channelProductNo": no, "name": name, "salePrice": price, "categoryId": category,
                "statusType": "SALE",
            }] })
        })
        .collect();
    axum::Json(json!({
        "contents": contents, "page": body.page, "size": body.size,
        "totalElements": total, "totalPages": total.div_ceil(body.size).max(1),
    }))
    .into_response()
}
