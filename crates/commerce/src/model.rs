//! One model for every platform: stores, and their categories, products, orders with items and
//! coupons, keyed by the platform's own ids.

use serde::Serialize;

use crate::CommerceError;

/// A shopping-mall platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Cafe24 (REST Admin API, OAuth 2.0).
    Cafe24,
    /// Naver SmartStore (Commerce API).
    Naver,
    /// Ably (no public API: seller-centre export files).
    Ably,
}

impl Platform {
    /// Every platform.
    pub const ALL: [Platform; 3] = [Platform::Cafe24, Platform::Naver, Platform::Ably];

    /// `cafe24`, `naver`, `ably`.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Cafe24 => "cafe24",
            Platform::Naver => "naver",
            Platform::Ably => "ably",
        }
    }

    /// The name people use.
    pub fn label(self) -> &'static str {
        match self {
            Platform::Cafe24 => "Cafe24",
            Platform::Naver => "Naver SmartStore",
            Platform::Ably => "Ably",
        }
    }
}

impl std::str::FromStr for Platform {
    type Err = CommerceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "cafe24" => Ok(Platform::Cafe24),
            "naver" | "smartstore" => Ok(Platform::Naver),
            "ably" => Ok(Platform::Ably),
            other => Err(CommerceError::Invalid {
                field: "platform",
                message: format!("'{other}' is not cafe24, naver or ably"),
            }),
        }
    }
}

/// Where an order is, the same words for every platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Paid, not yet handled.
    Paid,
    /// Being prepared for shipping.
    Preparing,
    /// On its way.
    Shipping,
    /// Delivered or purchase confirmed.
    Completed,
    /// Cancelled before shipping.
    Cancelled,
    /// Returned after delivery.
    Returned,
}

impl OrderStatus {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Paid => "paid",
            OrderStatus::Preparing => "preparing",
            OrderStatus::Shipping => "shipping",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Returned => "returned",
        }
    }

    /// Whether the order's money counts as sales (not cancelled, not returned).
    pub fn counts_as_sale(self) -> bool {
        !matches!(self, OrderStatus::Cancelled | OrderStatus::Returned)
    }

    /// The stored word back.
    pub fn parse(text: &str) -> Option<OrderStatus> {
        Some(match text {
            "paid" => OrderStatus::Paid,
            "preparing" => OrderStatus::Preparing,
            "shipping" => OrderStatus::Shipping,
            "completed" => OrderStatus::Completed,
            "cancelled" => OrderStatus::Cancelled,
            "returned" => OrderStatus::Returned,
            _ => return None,
        })
    }
}

/// A registered store (its credentials stay sealed in the database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Store {
    /// Id.
    pub id: i64,
    /// Organization.
    pub org_id: i64,
    /// Platform.
    pub platform: Platform,
    /// Display name.
    pub name: String,
    /// What the platform calls the store (Cafe24 mall id, Naver seller id, Ably store name).
    pub mall_id: String,
    /// Whether credentials are saved (they are never shown).
    pub has_credentials: bool,
    /// When it was registered (UTC ms).
    pub created_at: i64,
}

/// A category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// The platform's id.
    pub category_id: String,
    /// Name.
    pub name: String,
    /// The parent's id.
    pub parent_id: Option<String>,
}

/// A product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// The platform's id.
    pub product_id: String,
    /// Name.
    pub name: String,
    /// Category id.
    pub category_id: Option<String>,
    /// Price in won.
    pub price: i64,
}

/// A line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    /// The platform's id of the line (or its position).
    pub item_id: String,
    /// Product id.
    pub product_id: String,
    /// Product name at the time of the order.
    pub product_name: String,
    /// Quantity (at least 1).
    pub quantity: i64,
    /// The line's amount in won.
    pub amount: i64,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The platform's id.
    pub order_id: String,
    /// When it was ordered (UTC ms).
    pub ordered_at: i64,
    /// Status.
    pub status: OrderStatus,
    /// What the customer paid, in won.
    pub total: i64,
    /// The platform's customer id, when known.
    pub customer_id: Option<String>,
    /// Lines.
    pub items: Vec<OrderItem>,
}

/// A coupon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coupon {
    /// The platform's id.
    pub coupon_id: String,
    /// Name.
    pub name: String,
    /// What it gives (`10%`, `3,000원`).
    pub benefit: String,
    /// Valid from (UTC ms).
    pub starts_at: Option<i64>,
    /// Valid until (UTC ms).
    pub ends_at: Option<i64>,
}

/// What a write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WriteCounts {
    /// Records received.
    pub fetched: u64,
    /// New records.
    pub inserted: u64,
    /// Records that existed and were updated.
    pub updated: u64,
}

impl WriteCounts {
    /// Adds another count.
    pub fn add(&mut self, other: WriteCounts) {
        self.fetched += other.fetched;
        self.inserted += other.inserted;
        self.updated += other.updated;
    }
}

/// The largest amount one order line may carry (a trillion won): a line above it is a broken
/// page or file, and orders of such lines add up far inside `i64`.
pub const MAX_LINE_AMOUNT: i64 = 1_000_000_000_000;

/// A line's amount from its unit price and quantity; `None` when either is negative or the
/// product is above [`MAX_LINE_AMOUNT`].
pub fn line_amount(unit_price: i64, quantity: i64) -> Option<i64> {
    if unit_price < 0 || quantity < 0 {
        return None;
    }
    unit_price
        .checked_mul(quantity)
        .filter(|amount| *amount <= MAX_LINE_AMOUNT)
}

/// Settles an order from its lines' statuses: cancelled or returned lines are not sales and are
/// dropped; the order is cancelled (or returned) only when all its lines are, and then keeps
/// its lines for the record with a total of 0; otherwise it is where its furthest live line is
/// and its total is the sum of the live lines. An order whose lines add up past `i64` is
/// refused (its lines came from a broken page or file).
pub fn settle_order(order: &mut Order, statuses: &[OrderStatus]) -> Result<(), String> {
    let live: Vec<usize> = (0..statuses.len().min(order.items.len()))
        .filter(|&i| statuses[i].counts_as_sale())
        .collect();
    if live.is_empty() {
        order.status = if statuses.contains(&OrderStatus::Returned) {
            OrderStatus::Returned
        } else {
            OrderStatus::Cancelled
        };
        order.total = 0;
    } else {
        order.status = live
            .iter()
            .map(|&i| statuses[i])
            .max()
            .unwrap_or(order.status);
        order.items = live.iter().map(|&i| order.items[i].clone()).collect();
        order.total = order
            .items
            .iter()
            .try_fold(0i64, |total, item| total.checked_add(item.amount))
            .ok_or_else(|| format!("order {}: its lines add up past any amount", order.order_id))?;
    }
    Ok(())
}
