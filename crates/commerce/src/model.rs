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

/// Where an order line is: one model for every platform (docs/shops.md maps each platform's
/// codes to it). Whether a line is a sale follows from its status alone
/// ([`OrderStatus::counts_as_sale`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Ordered, not paid (Cafe24 N00, Naver PAYMENT_WAITING): not a sale yet.
    Unpaid,
    /// Paid, not yet handled.
    Paid,
    /// Being prepared for shipping.
    Preparing,
    /// On its way.
    Shipping,
    /// Delivered.
    Delivered,
    /// The buyer confirmed the purchase (Cafe24 N50, Naver PURCHASE_DECIDED).
    Confirmed,
    /// Exchanged for other goods: the sale stands.
    Exchanged,
    /// The goods sent for an exchange (Cafe24 N01, N03): their money is the exchanged line's,
    /// so this line is not a sale of its own.
    Replacement,
    /// The buyer asked to cancel: still a sale until the cancellation completes.
    CancelRequested,
    /// The buyer asked to return: still a sale until the return completes.
    ReturnRequested,
    /// Cancelled: not a sale.
    Cancelled,
    /// Returned: not a sale.
    Returned,
    /// A code the platform documents nowhere adpool knows: kept with its code, counted and
    /// shown on the store page, and not a sale until someone says what it means.
    Unknown,
}

impl OrderStatus {
    /// Every status, in the order of an order's life.
    pub const ALL: [OrderStatus; 13] = [
        OrderStatus::Unpaid,
        OrderStatus::Paid,
        OrderStatus::Preparing,
        OrderStatus::Shipping,
        OrderStatus::Delivered,
        OrderStatus::Confirmed,
        OrderStatus::Exchanged,
        OrderStatus::Replacement,
        OrderStatus::CancelRequested,
        OrderStatus::ReturnRequested,
        OrderStatus::Cancelled,
        OrderStatus::Returned,
        OrderStatus::Unknown,
    ];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Unpaid => "unpaid",
            OrderStatus::Paid => "paid",
            OrderStatus::Preparing => "preparing",
            OrderStatus::Shipping => "shipping",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Exchanged => "exchanged",
            OrderStatus::Replacement => "replacement",
            OrderStatus::CancelRequested => "cancel_requested",
            OrderStatus::ReturnRequested => "return_requested",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Returned => "returned",
            OrderStatus::Unknown => "unknown",
        }
    }

    /// Whether the line's money counts as sales: paid and neither cancelled nor returned (a
    /// requested cancellation or return is still a sale until it completes).
    pub fn counts_as_sale(self) -> bool {
        !matches!(
            self,
            OrderStatus::Unpaid
                | OrderStatus::Replacement
                | OrderStatus::Cancelled
                | OrderStatus::Returned
                | OrderStatus::Unknown
        )
    }

    /// `'paid', 'preparing', ...`: the stored words of the statuses that are sales, for an SQL
    /// `IN (...)` (constant words, no user input).
    pub fn sale_words_sql() -> String {
        OrderStatus::ALL
            .iter()
            .filter(|s| s.counts_as_sale())
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether the goods reached the buyer (what CPC attribution calls a completed order).
    pub fn is_completed(self) -> bool {
        matches!(
            self,
            OrderStatus::Delivered | OrderStatus::Confirmed | OrderStatus::Exchanged
        )
    }

    /// The stored word back.
    pub fn parse(text: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|s| s.as_str() == text)
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
    /// What the buyer paid for the line in won ("net paid": after the line's discounts,
    /// without shipping).
    pub amount: i64,
    /// Where the line is.
    pub status: OrderStatus,
    /// The platform's own word for it (`N40`, `PURCHASE_DECIDED`, `구매확정`), kept so an
    /// unknown one can be shown.
    pub status_code: String,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The platform's id.
    pub order_id: String,
    /// When it was ordered (UTC ms).
    pub ordered_at: i64,
    /// Where the order is: its furthest line that is a sale, else cancelled, returned,
    /// unpaid or unknown ([`settle_order`]).
    pub status: OrderStatus,
    /// Net paid in won: the sum of the lines that are sales.
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

/// Settles an order from its lines' statuses: its total is the net paid of the lines that are
/// sales, and its status the furthest of those lines; an order without such a line is
/// returned, cancelled, unpaid or unknown (in that order of precedence) with a total of 0.
/// Every line is kept, for the record. An order whose lines add up past `i64` is refused
/// (its lines came from a broken page or file).
pub fn settle_order(order: &mut Order) -> Result<(), String> {
    let sales = || order.items.iter().filter(|i| i.status.counts_as_sale());
    order.status = match sales().map(|i| i.status).max() {
        Some(status) => status,
        None => [
            OrderStatus::Returned,
            OrderStatus::Cancelled,
            OrderStatus::Unpaid,
            OrderStatus::Unknown,
        ]
        .into_iter()
        .find(|s| order.items.iter().any(|i| i.status == *s))
        .unwrap_or(OrderStatus::Cancelled),
    };
    order.total = sales()
        .try_fold(0i64, |total, item| total.checked_add(item.amount))
        .ok_or_else(|| format!("order {}: its lines add up past any amount", order.order_id))?;
    Ok(())
}
