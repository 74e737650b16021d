//! Cafe24 Admin API client, written against the Admin API documents (docs/shops.md lists each
//! behaviour with its section): OAuth 2.0 tokens (2-hour access tokens; every refresh returns
//! a new refresh token, saved at once because the old one stops working; errors read from
//! `error` / `error_description`), the `X-Cafe24-Api-Version` header (a setting), the leaky
//! bucket of 40 calls draining 2 per second read from `X-Api-Call-Limit` and the per-mall usage
//! headers (`X-Cafe24-Call-Usage` / `-Remain`, `X-Cafe24-Time-Usage` / `-Remain`: the client
//! waits out a `Remain` and, on 429, backs off up to a bound, then stops with a clear message),
//! retries with exponential backoff on 5xx and network errors, a 403 read as a missing scope,
//! the mall's shops (`shop_no`), orders read per shop in order-date windows under 3 months with
//! `embed=items`, `limit=1000` and the window split in two whenever the 15,000 offset cap would
//! be reached, products changed in an `updated_start_date` / `updated_end_date` window with
//! their category from the product detail (the list carries none).

pub mod fake;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{
    Category, Coupon, MAX_LINE_AMOUNT, Order, OrderItem, OrderStatus, Product, Store, settle_order,
};
use crate::{CommerceError, Shops};

/// Where Cafe24 is, which API version adpool speaks and the deployment's Cafe24 app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cafe24Settings {
    /// Base URL with `{mall_id}`: `https://{mall_id}.cafe24api.com` (a fake server's in tests).
    pub base_url: String,
    /// The `X-Cafe24-Api-Version` header (configuration key `cafe24_api_version`).
    pub api_version: String,
    /// The deployment's Cafe24 app (registered once in the Cafe24 Developer Center): used for
    /// every store that has no client id of its own. Empty when the deployment has none.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
}

impl Default for Cafe24Settings {
    fn default() -> Self {
        Cafe24Settings {
            base_url: "https://{mall_id}.cafe24api.com".into(),
            api_version: fake::API_VERSION.into(),
            client_id: String::new(),
            client_secret: String::new(),
        }
    }
}

/// What a Cafe24 store's sealed credentials hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Cafe24Credentials {
    /// The app's client id (empty: the deployment's app).
    #[serde(default)]
    pub client_id: String,
    /// The app's client secret (empty: the deployment's app).
    #[serde(default)]
    pub client_secret: String,
    /// The current access token.
    #[serde(default)]
    pub access_token: Option<String>,
    /// The current refresh token.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// When the refresh token stops working (Cafe24's `refresh_token_expires_at`, KST).
    #[serde(default)]
    pub refresh_token_expires_at: Option<String>,
    /// The scopes the mall granted.
    #[serde(default)]
    pub scopes: Vec<String>,
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
    /// Milliseconds spent waiting for the call limit.
    pub waited_ms: u64,
    /// The highest `X-Cafe24-Call-Usage` seen, in percent.
    pub peak_usage_percent: u32,
}

/// A shop of a mall (Cafe24 multi-shop: `shop_no` 1 is the default shop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MallShop {
    /// `shop_no`.
    pub shop_no: i64,
    /// Its name.
    pub name: String,
    /// Its currency (`KRW`, `USD`, ...).
    pub currency: String,
    /// Whether it is active.
    pub active: bool,
}

/// A client for one store.
pub struct Cafe24Client<'a> {
    http: reqwest::Client,
    shops: &'a Shops,
    store: &'a Store,
    base: String,
    api_version: String,
    credentials: Cafe24Credentials,
    /// Whether the store brought its own app (else the deployment's, which is never saved
    /// with the store's tokens).
    own_app: bool,
    /// What the calls cost.
    pub stats: CallStats,
}

const PAGE: usize = 1000;
const OFFSET_CAP: usize = 15_000;
const ATTEMPTS: u32 = 5;
/// 429 answers in a row before a run stops (it resumes from its cursor next time).
const THROTTLED_IN_A_ROW: u32 = 6;
/// The longest single wait for the call limit.
const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// The scope a resource needs (Admin API, each resource's "SCOPE" row).
fn scope_of(path: &str) -> &'static str {
    match path.split('/').next().unwrap_or_default() {
        "orders" => "mall.read_order",
        "products" => "mall.read_product",
        "categories" => "mall.read_category",
        "coupons" => "mall.read_promotion",
        "shops" => "mall.read_store",
        _ => "",
    }
}

/// A header's number (`X-Cafe24-Call-Remain: 32`).
fn header_number(response: &reqwest::Response, name: &str) -> Option<f64> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// How long Cafe24 says to wait: the larger of `X-Cafe24-Call-Remain` and
/// `X-Cafe24-Time-Remain` (seconds; sent only once a usage reaches 100%).
fn remain_wait(response: &reqwest::Response) -> Option<Duration> {
    let call = header_number(response, "x-cafe24-call-remain");
    let time = header_number(response, "x-cafe24-time-remain");
    let seconds = match (call, time) {
        (Some(call), Some(time)) => call.max(time),
        (one, other) => one.or(other)?,
    };
    Some(Duration::from_secs_f64(seconds.max(0.0)).min(LONGEST_WAIT))
}

impl<'a> Cafe24Client<'a> {
    /// A client with the store's credentials (the deployment's app when the store has none).
    pub async fn new(
        shops: &'a Shops,
        store: &'a Store,
        settings: &Cafe24Settings,
    ) -> Result<Cafe24Client<'a>, CommerceError> {
        adpool_jobs::install_tls_provider();
        let base = mall_base_url(settings, store)?;
        let mut credentials: Cafe24Credentials = match shops.credentials(store).await? {
            Some(value) => serde_json::from_value(value)
                .map_err(|e| platform_error(store, format!("credentials: {e}")))?,
            None => Cafe24Credentials::default(),
        };
        let own_app = !credentials.client_id.is_empty();
        if !own_app {
            credentials.client_id.clone_from(&settings.client_id);
            credentials
                .client_secret
                .clone_from(&settings.client_secret);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
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
            own_app,
            stats: CallStats::default(),
        })
    }

    fn fail(&self, message: String) -> CommerceError {
        platform_error(self.store, message)
    }

    /// The scopes the mall granted (as of the last token grant).
    pub fn scopes(&self) -> &[String] {
        &self.credentials.scopes
    }

    /// Trades the refresh token for new tokens and saves them before anything else.
    async fn refresh(&mut self) -> Result<(), CommerceError> {
        let Some(refresh_token) = self.credentials.refresh_token.clone() else {
            return Err(
                self.fail("not connected: authorize adpool in Cafe24 for this store first".into())
            );
        };
        self.grant(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_token),
        ])
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
        self.grant(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ])
        .await
    }

    /// One token grant (Authentication, "Get Access Token"): the new access and refresh tokens
    /// are saved before anything else, because Cafe24 invalidates the refresh token they
    /// replace. A refusal is read from the OAuth `error` / `error_description` body.
    async fn grant(&mut self, form: &[(&str, &str)]) -> Result<(), CommerceError> {
        if self.credentials.client_id.is_empty() {
            return Err(self.fail(
                "no Cafe24 app is configured: set cafe24_client_id and cafe24_client_secret, or save the store's own app".into(),
            ));
        }
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
            return Err(self.fail(oauth_refusal(status.as_u16(), &body)));
        };
        self.credentials.access_token = Some(access.to_owned());
        self.credentials.refresh_token = Some(refresh.to_owned());
        self.credentials.refresh_token_expires_at =
            body["refresh_token_expires_at"].as_str().map(str::to_owned);
        if let Some(scopes) = body["scopes"].as_array() {
            self.credentials.scopes = scopes
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect();
        }
        let mut value =
            serde_json::to_value(&self.credentials).map_err(|e| self.fail(e.to_string()))?;
        // The deployment's app stays in the configuration, never in the store's credentials.
        if !self.own_app {
            value["client_id"] = Value::String(String::new());
            value["client_secret"] = Value::String(String::new());
        }
        self.shops.save_credentials(self.store, &value).await
    }

    /// GET `path` with `query`: token refresh on 401 (once), the call limit waited out (a
    /// bounded number of 429s in a row), retries on 5xx, a 403 as a missing scope.
    async fn get(&mut self, path: &str, query: &[(&str, String)]) -> Result<Value, CommerceError> {
        if self.credentials.access_token.is_none() {
            self.refresh().await?;
        }
        let mut refreshed = false;
        let mut failures = 0;
        let mut throttled_in_a_row = 0;
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
            if let Some(usage) = header_number(&response, "x-cafe24-call-usage") {
                self.stats.peak_usage_percent =
                    self.stats.peak_usage_percent.max(usage.round() as u32);
            }
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
                    let remain = remain_wait(&response);
                    let text = response
                        .text()
                        .await
                        .map_err(|e| self.fail(e.to_string()))?;
                    let value: Value = serde_json::from_str(&text).map_err(|e| {
                        self.fail(format!("{path} answered a page that is not JSON ({e}); nothing of this window was kept"))
                    })?;
                    // Slow down as the bucket fills: it drains 2 calls a second, so near the
                    // top each call waits half a second per call above the margin; a usage
                    // limit reached (a `Remain` header) is waited out before the next call.
                    let mut wait = remain.unwrap_or_default();
                    if let Some((used, max)) = used {
                        let over = (used + 2).saturating_sub(max);
                        wait = wait.max(Duration::from_millis(500 * u64::from(over)));
                    }
                    self.wait(wait).await;
                    return Ok(value);
                }
                429 => {
                    self.stats.throttled += 1;
                    throttled_in_a_row += 1;
                    if throttled_in_a_row > THROTTLED_IN_A_ROW {
                        return Err(self.fail(format!(
                            "Cafe24's call limit refused {path} {THROTTLED_IN_A_ROW} times in a row (429); the run stopped and the next sync resumes where this one left off"
                        )));
                    }
                    let backoff = Duration::from_millis(500) * (1 << throttled_in_a_row.min(6));
                    let wait = remain_wait(&response).unwrap_or(backoff).min(LONGEST_WAIT);
                    self.wait(wait).await;
                }
                401 if !refreshed => {
                    refreshed = true;
                    self.refresh().await?;
                }
                403 => {
                    let body: Value = response.json().await.unwrap_or_default();
                    return Err(CommerceError::MissingScope {
                        store: self.store.mall_id.clone(),
                        resource: path.split('/').next().unwrap_or(path).to_owned(),
                        scope: scope_of(path).to_owned(),
                        message: api_message(&body),
                    });
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
                    return Err(
                        self.fail(format!("{path} answered {status}: {}", api_message(&body)))
                    );
                }
            }
        }
    }

    async fn wait(&mut self, wait: Duration) {
        if !wait.is_zero() {
            self.stats.waited_ms += u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
            tokio::time::sleep(wait).await;
        }
    }

    /// The mall's shops (Shops, "Retrieve a list of shops"; scope `mall.read_store`).
    pub async fn mall_shops(&mut self) -> Result<Vec<MallShop>, CommerceError> {
        let page = self.get("shops", &[]).await?;
        let list = page["shops"]
            .as_array()
            .ok_or_else(|| self.fail("shops answered without a shops list".into()))?;
        list.iter()
            .map(|shop| {
                Ok(MallShop {
                    shop_no: shop["shop_no"]
                        .as_i64()
                        .ok_or_else(|| self.fail(format!("a shop without shop_no: {shop}")))?,
                    name: shop["shop_name"].as_str().unwrap_or_default().to_owned(),
                    currency: shop["currency_code"].as_str().unwrap_or("KRW").to_owned(),
                    active: shop["active"].as_str() != Some("F"),
                })
            })
            .collect()
    }

    /// Every order of one shop placed between two KST days (inclusive), with its items.
    pub async fn orders(
        &mut self,
        shop_no: i64,
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
                            ("shop_no", shop_no.to_string()),
                            ("date_type", "order_date".into()),
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

    /// Products updated between two KST days (`updated_start_date` goes only with
    /// `updated_end_date`; all products when `updated` is `None`), read with the
    /// `since_product_no` cursor, which goes past the offset cap. The list carries no category:
    /// each product's comes from its detail ([`Cafe24Client::product_categories`]).
    pub async fn products(
        &mut self,
        updated: Option<(NaiveDate, NaiveDate)>,
    ) -> Result<Vec<Product>, CommerceError> {
        let mut out = Vec::new();
        let mut since = 0_i64;
        loop {
            let mut query = vec![
                ("limit", "100".to_owned()),
                ("since_product_no", since.to_string()),
            ];
            if let Some((start, end)) = updated {
                query.push(("updated_start_date", start.to_string()));
                query.push(("updated_end_date", end.to_string()));
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
                    category_id: None,
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

    /// [`Cafe24Client::products`] with each product's category: the most specific of those its
    /// detail lists ([`most_specific_category`] in `known`).
    pub async fn products_with_categories(
        &mut self,
        updated: Option<(NaiveDate, NaiveDate)>,
        known: &[Category],
    ) -> Result<Vec<Product>, CommerceError> {
        let mut products = self.products(updated).await?;
        for product in &mut products {
            let listed = self.product_categories(&product.product_id).await?;
            product.category_id = most_specific_category(&listed, known);
        }
        Ok(products)
    }

    /// The categories a product is displayed in, from its detail (`GET products/{no}`,
    /// `category[].category_no`), in the order Cafe24 lists them.
    pub async fn product_categories(
        &mut self,
        product_no: &str,
    ) -> Result<Vec<String>, CommerceError> {
        let page = self.get(&format!("products/{product_no}"), &[]).await?;
        Ok(page["product"]["category"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["category_no"].as_i64().map(|n| n.to_string()))
            .collect())
    }

    /// Every coupon (scope `mall.read_promotion`).
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

/// The most specific of a product's categories: the deepest in the category tree (a product
/// shown in "SHOP" and in "Living > Fabric" belongs to Fabric), the first listed on a tie.
pub fn most_specific_category(listed: &[String], categories: &[Category]) -> Option<String> {
    let parents: BTreeMap<&str, Option<&str>> = categories
        .iter()
        .map(|c| (c.category_id.as_str(), c.parent_id.as_deref()))
        .collect();
    let depth = |id: &str| {
        let mut depth = 0;
        let mut at = Some(id);
        while let Some(parent) = at.and_then(|a| parents.get(a).copied().flatten()) {
            depth += 1;
            at = Some(parent);
            if depth > 64 {
                break;
            }
        }
        depth
    };
    let mut best: Option<(&String, usize)> = None;
    for id in listed {
        let d = depth(id);
        if best.is_none_or(|(_, b)| d > b) {
            best = Some((id, d));
        }
    }
    best.map(|(id, _)| id.clone())
}

/// The message of an Admin API error body (`{"error": {"code", "message"}}`).
fn api_message(body: &Value) -> String {
    body["error"]["message"]
        .as_str()
        .or_else(|| body["error_description"].as_str())
        .or_else(|| body["error"].as_str())
        .unwrap_or("no message")
        .to_owned()
}

/// What a refused token grant means for the person connecting the store, from the OAuth
/// `error` / `error_description` body.
fn oauth_refusal(status: u16, body: &Value) -> String {
    let code = body["error"].as_str().unwrap_or_default();
    let description = body["error_description"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| api_message(body));
    match code {
        "invalid_grant" => format!(
            "Cafe24 refused the authorization ({description}): a refresh token works once and expires after 14 days; connect the store again"
        ),
        "invalid_client" => format!(
            "Cafe24 refused the app's client id or secret ({description}): check cafe24_client_id and cafe24_client_secret, or the store's own app"
        ),
        "" => {
            format!("the token request answered {status}: {description}; connect the store again")
        }
        other => format!(
            "Cafe24 refused the token request ({other}: {description}); connect the store again"
        ),
    }
}

/// One order of an orders page (`embed=items`), each line with its own status and net paid
/// amount ([`net_paid`]). The page comes from outside: every field is checked, and a problem
/// names the order and field.
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
    for item in value["items"].as_array().into_iter().flatten() {
        let quantity: i64 = text(item, "quantity")?
            .parse()
            .ok()
            .filter(|q| *q > 0)
            .ok_or_else(|| {
                format!("order {order_id}: quantity is not a whole number of at least 1")
            })?;
        let code = item["order_status"].as_str().unwrap_or_default().to_owned();
        items.push(OrderItem {
            item_id: text(item, "order_item_code")?,
            product_id: text(item, "product_no")?,
            product_name: text(item, "product_name")?,
            quantity,
            amount: net_paid(item, quantity).map_err(|m| format!("order {order_id}: {m}"))?,
            status: status(&code),
            status_code: code,
        });
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
    settle_order(&mut order)?;
    Ok(order)
}

/// What the buyer paid for an order item ("net paid", docs/shops.md): the item's
/// `payment_amount` when Cafe24 gives it (only malls with automatic discount calculation do;
/// null otherwise), else `(product_price + option_price) x quantity` less
/// `additional_discount_price`, `coupon_discount_price` and `app_item_discount_amount` (Orders
/// items, property list). Shipping is not in it.
pub fn net_paid(item: &Value, quantity: i64) -> Result<i64, String> {
    let amount = |field: &str| -> Result<i64, String> {
        match &item[field] {
            Value::Null => Ok(0),
            Value::String(text) => {
                won(text).ok_or_else(|| format!("{field} '{text}' is not an amount in won"))
            }
            Value::Number(n) => n
                .as_i64()
                .filter(|n| *n >= 0)
                .ok_or_else(|| format!("{field} {n} is not an amount in won")),
            other => Err(format!("{field} {other} is not an amount in won")),
        }
    };
    let paid = if item["payment_amount"].is_null() {
        let unit = amount("product_price")?
            .checked_add(amount("option_price")?)
            .ok_or("the unit price is past any real order line")?;
        let gross = unit
            .checked_mul(quantity)
            .filter(|g| *g <= MAX_LINE_AMOUNT)
            .ok_or_else(|| {
                format!("price {unit} x quantity {quantity} is past any real order line")
            })?;
        let discounts = amount("additional_discount_price")?
            + amount("coupon_discount_price")?
            + amount("app_item_discount_amount")?;
        gross - discounts
    } else {
        amount("payment_amount")?
    };
    if !(0..=MAX_LINE_AMOUNT).contains(&paid) {
        return Err(format!(
            "a line's net paid amount {paid} is not a real order line's"
        ));
    }
    Ok(paid)
}

/// The scopes adpool asks a Cafe24 mall for: reading orders, products, categories, coupons and
/// the mall's shops.
pub const SCOPES: &str =
    "mall.read_order,mall.read_product,mall.read_category,mall.read_promotion,mall.read_store";

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
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| settings.client_id.clone());
        if client_id.is_empty() {
            return Err(CommerceError::Invalid {
                field: "client_id",
                message: "no Cafe24 app is configured: the operator sets cafe24_client_id and cafe24_client_secret (docs/shops.md), or enter your own app's client id and secret".into(),
            });
        }
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

    /// A Cafe24 store's connection as the store page shows it: connected or not, the scopes
    /// adpool asks for that the mall did not grant, and when the refresh token expires.
    pub async fn cafe24_connection(
        &self,
        store: &Store,
    ) -> Result<Cafe24Connection, CommerceError> {
        let credentials: Cafe24Credentials = self
            .credentials(store)
            .await?
            .and_then(|c| serde_json::from_value(c).ok())
            .unwrap_or_default();
        let connected = credentials
            .refresh_token
            .as_deref()
            .is_some_and(|t| !t.is_empty());
        let missing_scopes = if connected && !credentials.scopes.is_empty() {
            SCOPES
                .split(',')
                .filter(|s| !credentials.scopes.iter().any(|g| g == s))
                .map(str::to_owned)
                .collect()
        } else {
            Vec::new()
        };
        Ok(Cafe24Connection {
            connected,
            own_app: !credentials.client_id.is_empty(),
            missing_scopes,
            refresh_token_expires_at: credentials.refresh_token_expires_at,
        })
    }
}

/// A Cafe24 store's connection health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cafe24Connection {
    /// Whether the store has tokens.
    pub connected: bool,
    /// Whether it uses its own app (else the deployment's).
    pub own_app: bool,
    /// Scopes adpool asks for that the mall did not grant.
    pub missing_scopes: Vec<String>,
    /// When the refresh token expires (`2026-12-19T10:00:00.000`, KST), when known.
    pub refresh_token_expires_at: Option<String>,
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

/// A Cafe24 order-item status code (Orders, `order_status`), every documented one mapped
/// (docs/shops.md has the table); a code not documented there is [`OrderStatus::Unknown`].
pub fn status(code: &str) -> OrderStatus {
    match code {
        "N00" | "N02" => OrderStatus::Unpaid,
        "N01" | "N03" => OrderStatus::Replacement,
        "N10" | "N20" | "N21" | "N22" | "C11" => OrderStatus::Preparing,
        "N30" => OrderStatus::Shipping,
        "N40" | "R11" | "E11" => OrderStatus::Delivered,
        "N50" => OrderStatus::Confirmed,
        "C00" | "C10" | "C34" | "C36" => OrderStatus::CancelRequested,
        "C35" | "C40" | "C41" | "C42" | "C43" | "C47" | "C48" | "C49" => OrderStatus::Cancelled,
        "R00" | "R10" | "R12" | "R13" | "R20" | "R30" | "R31" | "R34" | "R36" => {
            OrderStatus::ReturnRequested
        }
        "R40" | "R41" | "R42" | "R43" => OrderStatus::Returned,
        "E00" | "E10" | "E12" | "E13" | "E20" | "E30" | "E31" | "E32" | "E33" | "E34" | "E35"
        | "E36" | "E40" => OrderStatus::Exchanged,
        _ => OrderStatus::Unknown,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test helpers fail loudly

    use super::*;
    use serde_json::json;

    /// Every `order_status` code the Orders chapter documents ("Retrieve a list of orders",
    /// `order_status`), copied from the document.
    const DOCUMENTED: &str = "N00 N02 N10 N20 N21 N22 N30 N40 N50 C00 C10 C11 C34 C35 C36 C40 \
        C41 C42 C43 C47 C48 C49 R00 R10 R11 R12 R13 R20 R30 R31 R34 R36 R40 R41 R42 R43 E00 E10 \
        N01 N03 E11 E12 E13 E20 E30 E31 E32 E33 E34 E35 E36 E40";

    #[test]
    fn every_documented_status_code_is_mapped_and_others_are_unknown() {
        for code in DOCUMENTED.split_whitespace() {
            assert_ne!(status(code), OrderStatus::Unknown, "{code}");
        }
        // The table: what is a sale and what is not.
        assert!(!status("N00").counts_as_sale());
        for code in [
            "C00", "C10", "C34", "C11", "R00", "R10", "R12", "R11", "E00", "E40", "N50",
        ] {
            assert!(status(code).counts_as_sale(), "{code} is still a sale");
        }
        for code in ["C40", "C47", "C48", "R40"] {
            assert!(!status(code).counts_as_sale(), "{code} is not a sale");
        }
        assert_eq!(status("N50"), OrderStatus::Confirmed);
        assert_eq!(status("X99"), OrderStatus::Unknown);
        assert_eq!(status(""), OrderStatus::Unknown);
    }

    /// A real order a team read from the live API (Su-pbg/dashboard CHANGELOG, 2026-07-30):
    /// list price 39,000, paid 32,370 = 39,000 - coupon 3,900 - additional discount 2,730.
    #[test]
    fn net_paid_takes_the_line_discounts_off_and_prefers_payment_amount() {
        let item = json!({
            "product_price": "39000.00", "option_price": "0.00", "quantity": 1,
            "additional_discount_price": "2730.00", "coupon_discount_price": "3900.00",
            "app_item_discount_amount": "0.00", "payment_amount": null,
        });
        assert_eq!(net_paid(&item, 1), Ok(32_370));
        let with_options = json!({
            "product_price": "10000.00", "option_price": "2000.00",
            "additional_discount_price": "1000.00", "coupon_discount_price": null,
        });
        assert_eq!(net_paid(&with_options, 3), Ok(35_000));
        let given = json!({ "product_price": "10000.00", "payment_amount": "8123.00" });
        assert_eq!(net_paid(&given, 1), Ok(8_123));
        assert!(net_paid(&json!({ "product_price": "10.50" }), 1).is_err());
        let over = json!({ "product_price": "1000.00", "coupon_discount_price": "5000.00" });
        assert!(net_paid(&over, 1).unwrap_err().contains("net paid"));
    }

    #[test]
    fn the_most_specific_category_is_the_deepest_listed() {
        let category = |id: &str, parent: Option<&str>| Category {
            category_id: id.into(),
            name: id.into(),
            parent_id: parent.map(str::to_owned),
        };
        let tree = [
            category("228", None),
            category("609", None),
            category("240", Some("609")),
            category("941", Some("240")),
        ];
        let listed = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            most_specific_category(&listed(&["228", "240", "609"]), &tree).as_deref(),
            Some("240")
        );
        assert_eq!(
            most_specific_category(&listed(&["941", "228"]), &tree).as_deref(),
            Some("941")
        );
        assert_eq!(
            most_specific_category(&listed(&["228", "609"]), &tree).as_deref(),
            Some("228"),
            "a tie goes to the first listed"
        );
        assert_eq!(most_specific_category(&[], &tree), None);
    }
}
