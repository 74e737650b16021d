//! Cafe24 Admin API client: OAuth 2.0 tokens (2-hour access tokens; every refresh returns a new
//! refresh token, saved at once because the old one stops working), the
//! `X-Cafe24-Api-Version` header, the leaky bucket of 40 calls draining 2 per second read from
//! `X-Api-Call-Limit` (the client slows down as the bucket fills and waits on 429), retries with
//! exponential backoff on 5xx and network errors, and orders read in date windows under 3
//! months with `embed=items`, `limit=1000` and the window split in two whenever the 15,000
//! offset cap would be reached.

pub mod fake;

use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{
    Category, Coupon, Order, OrderItem, OrderStatus, Product, Store, line_amount, settle_order,
};
use crate::{CommerceError, Shops};

/// Where Cafe24 is and which API version adpool speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cafe24Settings {
    /// Base URL with `{mall_id}`: `https://{mall_id}.cafe24api.com` (a fake server's in tests).
    pub base_url: String,
    /// The `X-Cafe24-Api-Version` header.
    pub api_version: String,
}

impl Default for Cafe24Settings {
    fn default() -> Self {
        Cafe24Settings {
            base_url: "https://{mall_id}.cafe24api.com".into(),
            api_version: fake::API_VERSION.into(),
        }
    }
}

/// What a Cafe24 store's sealed credentials hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Cafe24Credentials {
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: String,
    /// The current access token.
    #[serde(default)]
    pub access_token: Option<String>,
    /// The current refresh token.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// Counts of one client's calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CallStats {
    /// Answered calls.
    pub calls: u64,
    /// 429 answers waited out.
    pub throttled: u64,
    /// Retries after 5xx or network errors.
    pub retries: u64,
    /// Token refreshes.
    pub refreshes: u64,
}

/// A client for one store.
pub struct Cafe24Client<'a> {
    http: reqwest::Client,
    shops: &'a Shops,
    store: &'a Store,
    base: String,
    api_version: String,
    credentials: Cafe24Credentials,
    /// What the calls cost.
    pub stats: CallStats,
}

const PAGE: usize = 1000;
const OFFSET_CAP: usize = 15_000;
const ATTEMPTS: u32 = 5;

impl<'a> Cafe24Client<'a> {
    /// A client with the store's credentials.
    pub async fn new(
        shops: &'a Shops,
        store: &'a Store,
        settings: &Cafe24Settings,
    ) -> Result<Cafe24Client<'a>, CommerceError> {
        adpool_jobs::install_tls_provider();
        let base = mall_base_url(settings, store)?;
        let value = shops
            .credentials(store)
            .await?
            .ok_or_else(|| platform_error(store, "no credentials saved".into()))?;
        let credentials: Cafe24Credentials = serde_json::from_value(value)
            .map_err(|e| platform_error(store, format!("credentials: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("adpool/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| platform_error(store, e.to_string()))?;
        Ok(Cafe24Client {
            http,
            shops,
            store,
            base,
            api_version: settings.api_version.clone(),
            credentials,
            stats: CallStats::default(),
        })
    }

    fn fail(&self, message: String) -> CommerceError {
        platform_error(self.store, message)
    }

    /// Trades the refresh token for new tokens and saves them before anything else.
    async fn refresh(&mut self) -> Result<(), CommerceError> {
        let Some(refresh_token) = self.credentials.refresh_token.clone() else {
            return Err(
                self.fail("not connected: authorize adpool in Cafe24 for this store first".into())
            );
        };
        self.grant(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
            ],
            "the refresh token was refused",
        )
        .await?;
        self.stats.refreshes += 1;
        Ok(())
    }

    /// Trades an authorization code (from Cafe24's consent redirect) for tokens and saves them.
    pub async fn exchange_code(
        &mut self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<(), CommerceError> {
        self.grant(
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
            ],
            "Cafe24 refused the authorization",
        )
        .await
    }

    /// One token grant: the new access and refresh tokens are saved before anything else,
    /// because Cafe24 invalidates the refresh token they replace.
    async fn grant(&mut self, form: &[(&str, &str)], refused: &str) -> Result<(), CommerceError> {
        let response = self
            .http
            .post(format!("{}/api/v2/oauth/token", self.base))
            .basic_auth(
                &self.credentials.client_id,
                Some(&self.credentials.client_secret),
            )
            .form(form)
            .send()
            .await
            .map_err(|e| self.fail(format!("the token request failed: {e}")))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        let (Some(access), Some(refresh)) = (
            body["access_token"]
                .as_str()
                .filter(|_| status.is_success()),
            body["refresh_token"].as_str(),
        ) else {
            return Err(self.fail(format!(
                "{refused} ({status}: {}); connect the store again",
                body["error"]["message"].as_str().unwrap_or("no message")
            )));
        };
        self.credentials.access_token = Some(access.to_owned());
        self.credentials.refresh_token = Some(refresh.to_owned());
        let value =
            serde_json::to_value(&self.credentials).map_err(|e| self.fail(e.to_string()))?;
        self.shops.save_credentials(self.store, &value).await
    }

    /// GET `path` with `query`: token refresh on 401 (once), waits on 429, retries on 5xx.
    async fn get(&mut self, path: &str, query: &[(&str, String)]) -> Result<Value, CommerceError> {
        if self.credentials.access_token.is_none() {
            self.refresh().await?;
        }
        let mut refreshed = false;
        let mut failures = 0;
        let mut delay = Duration::from_millis(200);
        loop {
            let sent = self
                .http
                .get(format!("{}/api/v2/admin/{path}", self.base))
                .bearer_auth(self.credentials.access_token.as_deref().unwrap_or_default())
                .header("X-Cafe24-Api-Version", &self.api_version)
                .query(query)
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(error) => {
                    failures += 1;
                    if failures >= ATTEMPTS {
                        return Err(
                            self.fail(format!("{path}: {error} (after {failures} attempts)"))
                        );
                    }
                    self.stats.retries += 1;
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    continue;
                }
            };
            let status = response.status().as_u16();
            let used = response
                .headers()
                .get("x-api-call-limit")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split_once('/'))
                .and_then(|(used, max)| {
                    Some((used.parse::<u32>().ok()?, max.parse::<u32>().ok()?))
                });
            match status {
                200 => {
                    self.stats.calls += 1;
                    let text = response
                        .text()
                        .await
                        .map_err(|e| self.fail(e.to_string()))?;
                    let value: Value = serde_json::from_str(&text).map_err(|e| {
                        self.fail(format!("{path} answered a page that is not JSON ({e}); nothing of this window was kept"))
                    })?;
                    // Slow down as the bucket fills: it drains 2 calls a second, so near the
                    // top each call waits half a second per call above the margin.
                    if let Some((used, max)) = used {
                        let over = (used + 2).saturating_sub(max);
                        if over > 0 {
                            tokio::time::sleep(Duration::from_millis(500 * u64::from(over))).await;
                        }
                    }
                    return Ok(value);
                }
                429 => {
                    self.stats.throttled += 1;
                    let wait = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map_or(Duration::from_millis(600), Duration::from_secs);
                    tokio::time::sleep(wait).await;
                }
                401 if !refreshed => {
                    refreshed = true;
                    self.refresh().await?;
                }
                500..=599 => {
                    failures += 1;
                    if failures >= ATTEMPTS {
                        return Err(self.fail(format!(
                            "{path} answered {status} {failures} times in a row"
                        )));
                    }
                    self.stats.retries += 1;
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                _ => {
                    let body: Value = response.json().await.unwrap_or_default();
                    return Err(self.fail(format!(
                        "{path} answered {status}: {}",
                        body["error"]["message"].as_str().unwrap_or("no message")
                    )));
                }
            }
        }
    }

    /// Every order placed between two KST days (inclusive), with its items.
    pub async fn orders(
        &mut self,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<Order>, CommerceError> {
        let mut out = Vec::new();
        let mut windows = vec![(start, end)];
        while let Some((from, to)) = windows.pop() {
            let mut offset = 0;
            let mut window = Vec::new();
            loop {
                if offset + PAGE > OFFSET_CAP + PAGE {
                    break;
                }
                let page = self
                    .get(
                        "orders",
                        &[
                            ("start_date", from.to_string()),
                            ("end_date", to.to_string()),
                            ("embed", "items".into()),
                            ("limit", PAGE.to_string()),
                            ("offset", offset.to_string()),
                        ],
                    )
                    .await?;
                let orders = page["orders"]
                    .as_array()
                    .ok_or_else(|| self.fail("orders page without an orders list".into()))?;
                for order in orders {
                    window.push(order_from_json(order).map_err(|m| self.fail(m))?);
                }
                if orders.len() < PAGE {
                    offset = usize::MAX;
                    break;
                }
                offset += PAGE;
            }
            if offset == usize::MAX {
                out.extend(window);
            } else if from < to {
                // The offset cap: read the window as two halves instead.
                let middle = from + chrono::Duration::days((to - from).num_days() / 2);
                windows.push((middle.succ_opt().unwrap_or(to), to));
                windows.push((from, middle));
            } else {
                return Err(self.fail(format!(
                    "more than {OFFSET_CAP} orders on {from}: Cafe24's offset cap cannot page through one day"
                )));
            }
        }
        Ok(out)
    }

    /// Pages through a catalog resource by offset (100 a page).
    async fn all(&mut self, path: &str, key: &str) -> Result<Vec<Value>, CommerceError> {
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .get(
                    path,
                    &[("limit", "100".into()), ("offset", offset.to_string())],
                )
                .await?;
            let items = page[key]
                .as_array()
                .ok_or_else(|| self.fail(format!("{path} page without a {key} list")))?;
            out.extend(items.iter().cloned());
            if items.len() < 100 {
                return Ok(out);
            }
            offset += 100;
        }
    }

    /// Every category.
    pub async fn categories(&mut self) -> Result<Vec<Category>, CommerceError> {
        let list = self.all("categories", "categories").await?;
        Ok(list
            .iter()
            .map(|c| Category {
                category_id: c["category_no"].to_string(),
                name: c["category_name"].as_str().unwrap_or_default().to_owned(),
                parent_id: c["parent_category_no"]
                    .as_i64()
                    .filter(|p| *p > 1)
                    .map(|p| p.to_string()),
            })
            .collect())
    }

    /// Products updated on or after `updated_since` (all when `None`), read with the
    /// `since_product_no` cursor, which goes past the offset cap.
    pub async fn products(
        &mut self,
        updated_since: Option<NaiveDate>,
    ) -> Result<Vec<Product>, CommerceError> {
        let mut out = Vec::new();
        let mut since = 0_i64;
        loop {
            let mut query = vec![
                ("limit", "100".to_owned()),
                ("since_product_no", since.to_string()),
            ];
            if let Some(day) = updated_since {
                query.push(("updated_start_date", day.to_string()));
            }
            let page = self.get("products", &query).await?;
            let items = page["products"]
                .as_array()
                .ok_or_else(|| self.fail("products page without a products list".into()))?;
            for p in items {
                let no = p["product_no"]
                    .as_i64()
                    .ok_or_else(|| self.fail(format!("a product without product_no: {p}")))?;
                out.push(Product {
                    product_id: no.to_string(),
                    name: p["product_name"].as_str().unwrap_or_default().to_owned(),
                    category_id: p["category"][0]["category_no"]
                        .as_i64()
                        .map(|c| c.to_string()),
                    price: won(p["price"].as_str().unwrap_or("0")).unwrap_or(0),
                });
                if no <= since {
                    return Err(self.fail(format!("since_product_no did not advance past {since}")));
                }
                since = no;
            }
            if items.len() < 100 {
                return Ok(out);
            }
        }
    }

    /// Every coupon.
    pub async fn coupons(&mut self) -> Result<Vec<Coupon>, CommerceError> {
        let list = self.all("coupons", "coupons").await?;
        Ok(list
            .iter()
            .map(|c| Coupon {
                coupon_id: c["coupon_no"]
                    .as_str()
                    .map_or_else(|| c["coupon_no"].to_string(), str::to_owned),
                name: c["coupon_name"].as_str().unwrap_or_default().to_owned(),
                benefit: c["benefit_text"].as_str().unwrap_or_default().to_owned(),
                starts_at: None,
                ends_at: None,
            })
            .collect())
    }
}

/// One order of an orders page (`embed=items`), settled from its items' statuses. The page
/// comes from outside: every field is checked, and a problem names the order and field.
pub fn order_from_json(value: &Value) -> Result<Order, String> {
    let text = |v: &Value, field: &str| -> Result<String, String> {
        match &v[field] {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(format!("an order without {field}: {v}")),
        }
    };
    let order_id = text(value, "order_id")?;
    let date = text(value, "order_date")?;
    let ordered_at = chrono::DateTime::parse_from_rfc3339(&date)
        .map_err(|_| format!("order {order_id}: order_date '{date}' is not a date"))?
        .timestamp_millis();
    let mut items = Vec::new();
    let mut statuses = Vec::new();
    for item in value["items"].as_array().into_iter().flatten() {
        let quantity: i64 = text(item, "quantity")?.parse().unwrap_or(0);
        let price = won(&text(item, "product_price")?)
            .ok_or_else(|| format!("order {order_id}: product_price is not an amount"))?;
        let amount = line_amount(price, quantity.max(1)).ok_or_else(|| {
            format!("order {order_id}: product_price {price} × quantity {quantity} is past any real order line")
        })?;
        items.push(OrderItem {
            item_id: text(item, "order_item_code")?,
            product_id: text(item, "product_no")?,
            product_name: text(item, "product_name")?,
            quantity: quantity.max(1),
            amount,
        });
        statuses.push(status(item["order_status"].as_str().unwrap_or_default()));
    }
    let mut order = Order {
        order_id,
        ordered_at,
        status: OrderStatus::Paid,
        total: 0,
        customer_id: value["member_id"]
            .as_str()
            .filter(|m| !m.is_empty())
            .map(str::to_owned),
        items,
    };
    settle_order(&mut order, &statuses)?;
    Ok(order)
}

/// The scopes adpool asks a Cafe24 mall for: reading orders, products, categories, coupons.
pub const SCOPES: &str = "mall.read_order,mall.read_product,mall.read_category,mall.read_promotion";

/// How long a consent round trip may take.
const CONSENT_MILLIS: i64 = 15 * 60 * 1000;

impl Shops {
    /// Where to send the person connecting a Cafe24 store: Cafe24's consent page, which comes
    /// back to `redirect_uri` with a code and a `state` sealed for this store, this person and
    /// the next 15 minutes.
    pub async fn cafe24_authorize_url(
        &self,
        org: adpool_core::OrgId,
        store_id: i64,
        user: adpool_core::UserId,
        redirect_uri: &str,
        settings: &Cafe24Settings,
    ) -> Result<String, CommerceError> {
        let store = self.store(org, store_id).await?;
        if store.platform != crate::Platform::Cafe24 {
            return Err(CommerceError::Invalid {
                field: "store",
                message: "only Cafe24 stores connect by authorization".into(),
            });
        }
        let base = mall_base_url(settings, &store)?;
        let client_id = self
            .credentials(&store)
            .await?
            .and_then(|c| c["client_id"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let state = self.vault().seal(
            "cafe24-oauth",
            &format!(
                "{}:{}:{}",
                store.id,
                user.get(),
                self.now_millis() + CONSENT_MILLIS
            ),
        );
        let mut url = url::Url::parse(&format!("{base}/api/v2/oauth/authorize"))
            .map_err(|e| platform_error(&store, format!("cafe24_base_url: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &client_id)
            .append_pair("state", &state)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", SCOPES);
        Ok(url.into())
    }

    /// Completes a connection: checks `state` (this organization's store, this person, not
    /// expired), trades the code for tokens and saves them. Returns the store.
    pub async fn cafe24_connect(
        &self,
        org: adpool_core::OrgId,
        user: adpool_core::UserId,
        state: &str,
        code: &str,
        redirect_uri: &str,
        settings: &Cafe24Settings,
    ) -> Result<Store, CommerceError> {
        let refused = |why: &str| CommerceError::Invalid {
            field: "state",
            message: format!("this Cafe24 authorization cannot be used: {why}; connect again"),
        };
        let opened = self
            .vault()
            .open("cafe24-oauth", state)
            .map_err(|_| refused("it was not started here"))?;
        let mut parts = opened.split(':').map(str::parse::<i64>);
        let (Some(Ok(store_id)), Some(Ok(user_id)), Some(Ok(expires))) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(refused("it was not started here"));
        };
        if user_id != user.get() {
            return Err(refused("another person started it"));
        }
        if expires < self.now_millis() {
            return Err(refused("it took more than 15 minutes"));
        }
        let store = self.store(org, store_id).await?;
        let mut client = Cafe24Client::new(self, &store, settings).await?;
        client.exchange_code(code, redirect_uri).await?;
        Ok(store)
    }

    /// Whether a Cafe24 store has tokens (is connected).
    pub async fn cafe24_connected(&self, store: &Store) -> Result<bool, CommerceError> {
        Ok(self
            .credentials(store)
            .await?
            .is_some_and(|c| c["refresh_token"].as_str().is_some_and(|t| !t.is_empty())))
    }
}

fn platform_error(store: &Store, message: String) -> CommerceError {
    CommerceError::Platform {
        platform: "Cafe24",
        store: store.mall_id.clone(),
        message,
    }
}

/// `"39000.00"` -> 39000 (won; Cafe24 writes amounts with two decimals).
fn won(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if !fraction.chars().all(|c| c == '0') {
        return None;
    }
    whole.parse().ok().filter(|w: &i64| *w >= 0)
}

/// A Cafe24 order-item status code.
pub fn status(code: &str) -> OrderStatus {
    match code {
        "N30" => OrderStatus::Shipping,
        "N40" => OrderStatus::Completed,
        c if c.starts_with('C') => OrderStatus::Cancelled,
        c if c.starts_with('R') => OrderStatus::Returned,
        c if c.starts_with('N') && c != "N00" => OrderStatus::Preparing,
        _ => OrderStatus::Paid,
    }
}

/// Whether `mall_id` is a Cafe24 mall id: 1 to 50 lowercase letters, digits and hyphens. It
/// becomes the host of every API call (`https://{mall_id}.cafe24api.com`), so anything else
/// (a dot, a colon, a slash, `@`) could point the store's credentials at another host.
pub fn is_mall_id(mall_id: &str) -> bool {
    (1..=50).contains(&mall_id.len())
        && mall_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The store's API base URL, refusing a mall id saved before the rule was enforced.
fn mall_base_url(settings: &Cafe24Settings, store: &Store) -> Result<String, CommerceError> {
    if !is_mall_id(&store.mall_id) {
        return Err(CommerceError::Invalid {
            field: "mall_id",
            message: format!(
                "'{}' is not a Cafe24 mall id (lowercase letters, digits and hyphens, up to 50)",
                store.mall_id
            ),
        });
    }
    Ok(settings.base_url.replace("{mall_id}", &store.mall_id))
}
