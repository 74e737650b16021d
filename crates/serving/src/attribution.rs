//! Conversions: an order is matched, product by product, to the last click by the same user on
//! the same product within the 24 hours before it (both edges included: a click exactly 24 h
//! before counts, a click after the order does not; an order time in whole seconds covers its
//! whole second). A repeated order id counts once; a
//! cancellation reverses the order's conversions.

use std::collections::BTreeMap;

use adpool_core::{BusinessDate, OrgId};
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{Serving, ServingError};

/// The attribution window.
pub const ATTRIBUTION_WINDOW_MILLIS: i64 = 24 * 60 * 60 * 1000;

/// An order's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Paid: attribute it.
    Completed,
    /// Cancelled: reverse it.
    Cancelled,
}

/// When the order happened: unix seconds, unix milliseconds, or an RFC 3339 text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum OrderTime {
    /// Seconds (below 10^11) or milliseconds since 1970 (UTC).
    Unix(i64),
    /// `2026-11-21T10:00:00+09:00`.
    Text(String),
}

impl OrderTime {
    /// The last millisecond the stated time covers: a time in whole seconds covers its whole
    /// second, so a click earlier in that second still counts as before the order.
    pub fn last_millis(&self) -> Result<i64, ServingError> {
        let millis = self.millis()?;
        Ok(match self {
            OrderTime::Unix(n) if *n < 100_000_000_000 => millis + 999,
            OrderTime::Text(text) if !text.contains('.') => millis + 999,
            _ => millis,
        })
    }

    /// UTC milliseconds.
    pub fn millis(&self) -> Result<i64, ServingError> {
        match self {
            OrderTime::Unix(n) if *n < 0 => {
                Err(ServingError::invalid("ts", format!("{n} is before 1970")))
            }
            OrderTime::Unix(n) if *n < 100_000_000_000 => Ok(n * 1000),
            OrderTime::Unix(n) => Ok(*n),
            OrderTime::Text(text) => DateTime::parse_from_rfc3339(text.trim())
                .map(|t| t.timestamp_millis())
                .map_err(|_| {
                    ServingError::invalid(
                        "ts",
                        format!("'{text}' is not unix seconds, milliseconds or an RFC 3339 time"),
                    )
                }),
        }
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderItem {
    /// The shop's product id.
    #[schema(pattern = "[^\\s\\u0085]")]
    pub product_id: String,
    /// Quantity.
    #[schema(minimum = 1)]
    pub qty: i64,
    /// Amount paid for the line in won.
    #[schema(minimum = 0)]
    pub amount: i64,
}

/// An order event (`order.completed` or its cancellation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderEvent {
    /// The shop's order id.
    #[schema(pattern = "[^\\s\\u0085]")]
    pub order_id: String,
    /// The shop's user key (as sent to the ad query).
    #[schema(pattern = "[^\\s\\u0085]")]
    pub user: String,
    /// completed or cancelled.
    pub status: OrderStatus,
    /// When.
    pub ts: OrderTime,
    /// Lines (required for a completed order).
    #[serde(default)]
    pub items: Vec<OrderItem>,
}

/// A conversion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conversion {
    /// Product.
    pub product_id: String,
    /// The click it is attributed to.
    pub click_id: i64,
    /// The ad clicked.
    pub ad_id: i64,
    /// Quantity.
    pub qty: i64,
    /// Revenue in won.
    pub revenue_amount: i64,
    /// When it was reversed.
    pub reversed_at: Option<i64>,
}

/// What an order event did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderOutcome {
    /// The order.
    pub order_id: String,
    /// Its state now.
    pub status: OrderStatus,
    /// True when the event changed nothing (seen before).
    pub repeated: bool,
    /// The order's conversions.
    pub conversions: Vec<Conversion>,
}

/// Quantity and amount per product of one order.
type ProductTotals = BTreeMap<String, (i64, i64)>;

impl OrderEvent {
    pub(crate) fn validate(&self) -> Result<(i64, ProductTotals), ServingError> {
        let order_id = self.order_id.trim();
        if order_id.is_empty() || order_id.len() > 200 {
            return Err(ServingError::invalid(
                "order_id",
                "is required, at most 200 characters",
            ));
        }
        let ts = self.ts.last_millis()?;
        let mut products: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for (i, item) in self.items.iter().enumerate() {
            if item.product_id.trim().is_empty() {
                return Err(ServingError::invalid(
                    "items",
                    format!("item {}: product_id is required", i + 1),
                ));
            }
            if item.qty <= 0 || item.amount < 0 {
                return Err(ServingError::invalid(
                    "items",
                    format!(
                        "item {} ({}): qty must be positive and amount not negative",
                        i + 1,
                        item.product_id
                    ),
                ));
            }
            let entry = products
                .entry(item.product_id.trim().to_owned())
                .or_default();
            entry.0 += item.qty;
            entry.1 += item.amount;
        }
        if self.status == OrderStatus::Completed && products.is_empty() {
            return Err(ServingError::invalid(
                "items",
                "a completed order needs at least one item",
            ));
        }
        Ok((ts, products))
    }
}

impl Serving {
    /// Records an order event and attributes or reverses its conversions.
    pub async fn record_order(
        &self,
        org: OrgId,
        event: &OrderEvent,
    ) -> Result<OrderOutcome, ServingError> {
        let (ts, products) = event.validate()?;
        let order_id = event.order_id.trim();
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT status FROM cpc_orders WHERE org_id = $1 AND order_id = $2")
                .bind(org.get())
                .bind(order_id)
                .fetch_optional(&mut *tx)
                .await?;
        let repeated = match (existing.as_deref(), event.status) {
            (None, status) => {
                sqlx::query(
                    "INSERT INTO cpc_orders (org_id, order_id, status, ordered_at, received_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(org.get())
                .bind(order_id)
                .bind(if status == OrderStatus::Completed { "completed" } else { "cancelled" })
                .bind(ts)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if status == OrderStatus::Completed {
                    self.attribute(&mut tx, org, order_id, &event.user, ts, &products, now)
                        .await?;
                }
                false
            }
            (Some("completed"), OrderStatus::Cancelled) => {
                sqlx::query("UPDATE cpc_orders SET status = 'cancelled' WHERE org_id = $1 AND order_id = $2")
                    .bind(org.get())
                    .bind(order_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE cpc_conversions SET reversed_at = $1 WHERE org_id = $2 AND order_id = $3 AND reversed_at IS NULL",
                )
                .bind(now)
                .bind(org.get())
                .bind(order_id)
                .execute(&mut *tx)
                .await?;
                false
            }
            // The same completed order again, a second cancellation, or a completion arriving
            // after its cancellation: nothing to do.
            (Some(_), _) => true,
        };
        let status: String =
            sqlx::query_scalar("SELECT status FROM cpc_orders WHERE org_id = $1 AND order_id = $2")
                .bind(org.get())
                .bind(order_id)
                .fetch_one(&mut *tx)
                .await?;
        let conversions = sqlx::query(
            "SELECT product_id, click_id, ad_id, qty, revenue_amount, reversed_at FROM cpc_conversions WHERE org_id = $1 AND order_id = $2 ORDER BY product_id",
        )
        .bind(org.get())
        .bind(order_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok(Conversion {
                product_id: r.try_get("product_id")?,
                click_id: r.try_get("click_id")?,
                ad_id: r.try_get("ad_id")?,
                qty: r.try_get("qty")?,
                revenue_amount: r.try_get("revenue_amount")?,
                reversed_at: r.try_get("reversed_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        tx.commit().await?;
        Ok(OrderOutcome {
            order_id: order_id.to_owned(),
            status: if status == "completed" {
                OrderStatus::Completed
            } else {
                OrderStatus::Cancelled
            },
            repeated,
            conversions,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn attribute(
        &self,
        tx: &mut adpool_store::DbTx,
        org: OrgId,
        order_id: &str,
        user: &str,
        ts: i64,
        products: &ProductTotals,
        now: i64,
    ) -> Result<(), ServingError> {
        if user.trim().is_empty() {
            return Ok(());
        }
        for (product, (qty, amount)) in products {
            let click = sqlx::query(
                "SELECT id, ad_id, campaign_id, advertiser_id FROM cpc_clicks
                 WHERE org_id = $1 AND user_key = $2 AND product_id = $3 AND clicked_at <= $4 AND clicked_at >= $5 AND refunded_at IS NULL
                 ORDER BY clicked_at DESC, id DESC LIMIT 1",
            )
            .bind(org.get())
            .bind(user)
            .bind(product)
            .bind(ts)
            .bind(ts - ATTRIBUTION_WINDOW_MILLIS)
            .fetch_optional(&mut **tx)
            .await?;
            let Some(click) = click else { continue };
            sqlx::query(
                "INSERT INTO cpc_conversions (org_id, order_id, product_id, click_id, ad_id, campaign_id, advertiser_id, qty, revenue_amount, business_date, converted_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(org.get())
            .bind(order_id)
            .bind(product)
            .bind(click.try_get::<i64, _>("id")?)
            .bind(click.try_get::<i64, _>("ad_id")?)
            .bind(click.try_get::<i64, _>("campaign_id")?)
            .bind(click.try_get::<i64, _>("advertiser_id")?)
            .bind(qty)
            .bind(amount)
            .bind(BusinessDate::from_utc_millis(ts).to_string())
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}
