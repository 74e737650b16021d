//! Ably has no public API and its seller-centre export format is not published: sellers
//! download an order export (XLSX, XLS or CSV in UTF-8, UTF-16 or CP949 / EUC-KR) and upload
//! it here. Title rows above the header are skipped: the header is the first row (of the
//! first 30) that names every required column. One row per order line; the columns are found
//! by their Korean (or English) headers in any order, spaces and line breaks inside a header
//! ignored; where several names fit, the first listed wins (the line amount is 결제금액, what
//! the buyer paid, else 판매금액, else 상품금액):
//!
//! | field | headers |
//! |---|---|
//! | order id (required) | 주문번호, order_id |
//! | line id | 상품주문번호, item_id (default: the line's position in its order) |
//! | ordered at (required) | 주문일시, 결제일시, ordered_at: `YYYY-MM-DD HH:MM[:SS]`, `YYYY.MM.DD HH:MM`, `YYYY/MM/DD HH:MM`, `YYYY-MM-DD`, or a date-time cell (KST; the time is kept) |
//! | product id (required) | 상품코드, 상품번호, product_id |
//! | product name (required) | 상품명, product_name |
//! | quantity (required) | 수량, quantity |
//! | amount (required) | 결제금액, 판매금액, 상품금액, amount: `12300`, `12,300`, `12,300원` |
//! | status (required) | 주문상태, status |
//! | category | 카테고리, category |
//!
//! Statuses (docs/shops.md): 입금대기, 결제대기 -> unpaid; 결제완료 -> paid; 상품준비중,
//! 배송준비중 -> preparing; 배송중 -> shipping; 배송완료 -> delivered; 구매확정 -> confirmed;
//! 교환, 교환요청, 교환완료 -> exchanged; 취소요청 -> cancel requested; 반품요청 -> return
//! requested; 취소, 주문취소, 취소완료 -> cancelled; 반품, 반품완료 -> returned (or the English
//! words). A status word not in this list is not guessed: the rows are counted per word
//! ([`AblyExport::unknown_statuses`]) and the import stops unless the person confirms, and
//! then those lines are kept as `unknown` (not sales). A file is all or nothing: every bad
//! row is listed with its row number, column and value, and nothing is written.

use std::collections::BTreeMap;
use std::path::Path;

use adpool_core::{Won, kst};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};

use crate::CommerceError;
use crate::model::{MAX_LINE_AMOUNT, Order, OrderItem, OrderStatus, Product, settle_order};

/// What an export file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AblyExport {
    /// Orders with their lines.
    pub orders: Vec<Order>,
    /// Products seen (name, category, last unit price).
    pub products: Vec<Product>,
    /// Status words this reader does not know, with how many rows carry each.
    pub unknown_statuses: BTreeMap<String, u64>,
    /// The text encoding the file was in (`CP949`, `UTF-8`, `XLSX`, ...).
    pub encoding: &'static str,
}

const FIELDS: [(&str, &[&str], bool); 9] = [
    ("order_id", &["주문번호", "order_id"], true),
    ("item_id", &["상품주문번호", "item_id"], false),
    ("ordered_at", &["주문일시", "결제일시", "ordered_at"], true),
    ("product_id", &["상품코드", "상품번호", "product_id"], true),
    ("product_name", &["상품명", "product_name"], true),
    ("quantity", &["수량", "quantity"], true),
    (
        "amount",
        &["결제금액", "판매금액", "상품금액", "amount"],
        true,
    ),
    ("status", &["주문상태", "status"], true),
    ("category", &["카테고리", "category"], false),
];

/// An Ably status word (Korean or English).
pub fn parse_status(text: &str) -> Option<OrderStatus> {
    Some(match text.trim() {
        "입금대기" | "결제대기" | "unpaid" => OrderStatus::Unpaid,
        "결제완료" | "paid" => OrderStatus::Paid,
        "상품준비중" | "배송준비중" | "preparing" => OrderStatus::Preparing,
        "배송중" | "shipping" => OrderStatus::Shipping,
        "배송완료" | "delivered" | "completed" => OrderStatus::Delivered,
        "구매확정" | "confirmed" => OrderStatus::Confirmed,
        "교환" | "교환요청" | "교환완료" | "exchanged" => OrderStatus::Exchanged,
        "취소요청" | "cancel_requested" => OrderStatus::CancelRequested,
        "반품요청" | "return_requested" => OrderStatus::ReturnRequested,
        "취소" | "주문취소" | "취소완료" | "cancelled" => OrderStatus::Cancelled,
        "반품" | "반품완료" | "returned" => OrderStatus::Returned,
        _ => return None,
    })
}

/// A KST time as UTC milliseconds.
pub fn parse_kst_time(text: &str) -> Option<i64> {
    let text = text.trim().replace(['.', '/'], "-");
    let time = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&text, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    kst()
        .from_local_datetime(&time)
        .single()
        .map(|t| t.timestamp_millis())
}

/// A header cell as compared with the known names: no spaces or line breaks.
fn header_key(text: &str) -> String {
    let key: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    key.strip_suffix("(원)").map(str::to_owned).unwrap_or(key)
}

/// Where each field's column is in `header`, when every required one is there.
fn find_columns(header: &[String]) -> Option<BTreeMap<&'static str, usize>> {
    let keys: Vec<String> = header.iter().map(|h| header_key(h)).collect();
    let mut columns = BTreeMap::new();
    for (field, names, required) in FIELDS {
        match names
            .iter()
            .find_map(|name| keys.iter().position(|k| k == name))
        {
            Some(i) => {
                columns.insert(field, i);
            }
            None if required => return None,
            None => {}
        }
    }
    Some(columns)
}

/// Reads an Ably order export (CSV, XLSX or XLS).
pub fn read_export(path: &Path) -> Result<AblyExport, CommerceError> {
    // Errors name the file as the person knows it, never by where the server keeps it.
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = name.clone();
    let bytes = std::fs::read(path).map_err(|e| {
        CommerceError::File(adpool_tables::TableError {
            file: file.clone(),
            message: e.to_string(),
        })
    })?;
    let grid = adpool_tables::read_grid(&name, &bytes).map_err(|mut e| {
        e.file.clone_from(&file);
        CommerceError::File(e)
    })?;
    let Some((header_at, header, columns)) =
        grid.rows
            .iter()
            .take(30)
            .enumerate()
            .find_map(|(at, (_, cells))| {
                find_columns(cells).map(|columns| (at, cells.clone(), columns))
            })
    else {
        let first = grid
            .rows
            .first()
            .map(|(_, cells)| cells.join(", "))
            .unwrap_or_default();
        return Err(CommerceError::File(adpool_tables::TableError {
            file,
            message: format!(
                "no header row with the columns {} in the first 30 rows (the first row reads: {first}); is this an Ably order export?",
                FIELDS
                    .iter()
                    .filter(|(_, _, required)| *required)
                    .map(|(_, names, _)| names[0])
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }));
    };
    let mut errors = Vec::new();
    let mut unknown_statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut orders: BTreeMap<String, Order> = BTreeMap::new();
    let mut products: BTreeMap<String, Product> = BTreeMap::new();
    for (row, cells) in grid.rows.iter().skip(header_at + 1) {
        let row = *row;
        let cell = |field: &str| -> &str {
            columns
                .get(field)
                .and_then(|&i| cells.get(i))
                .map_or("", |c| c.trim())
        };
        let mut fail = |field: &str, message: &str| {
            let name = columns.get(field).map_or(field, |&i| header[i].as_str());
            errors.push(format!(
                "row {row}, column {name}, value '{}': {message}",
                cell(field)
            ));
        };
        let order_id = cell("order_id").to_owned();
        // A totals line (합계 in the order id column or, without an order id, anywhere) or a
        // blank one: not an order.
        let is_total = |c: &str| {
            let c = c.trim().to_lowercase();
            c.contains("합계") || c.contains("총계") || c.contains("소계") || c == "total"
        };
        if is_total(&order_id) {
            continue;
        }
        if order_id.is_empty() {
            if cells.iter().all(|c| c.trim().is_empty()) || cells.iter().any(|c| is_total(c)) {
                continue;
            }
            fail("order_id", "is required");
            continue;
        }
        let ordered_at = parse_kst_time(cell("ordered_at"));
        if ordered_at.is_none() {
            fail("ordered_at", "is not a date and time like 2026-11-20 14:05");
        }
        let quantity = cell("quantity")
            .replace(',', "")
            .parse::<i64>()
            .ok()
            .filter(|q| *q > 0);
        if quantity.is_none() {
            fail("quantity", "is not a whole number of at least 1");
        }
        let amount = cell("amount")
            .parse::<Won>()
            .ok()
            .filter(|w| (0..=MAX_LINE_AMOUNT).contains(&w.get()));
        if amount.is_none() {
            fail("amount", "is not an amount in won like 12,300");
        }
        let word = cell("status");
        let status = if word.is_empty() {
            fail("status", "is required");
            None
        } else {
            Some(parse_status(word).unwrap_or_else(|| {
                *unknown_statuses.entry(word.to_owned()).or_default() += 1;
                OrderStatus::Unknown
            }))
        };
        let product_id = cell("product_id").to_owned();
        if product_id.is_empty() {
            fail("product_id", "is required");
        }
        let product_name = cell("product_name").to_owned();
        if product_name.is_empty() {
            fail("product_name", "is required");
        }
        let (Some(ordered_at), Some(quantity), Some(amount), Some(status)) =
            (ordered_at, quantity, amount, status)
        else {
            continue;
        };
        if product_id.is_empty() || product_name.is_empty() {
            continue;
        }
        let category = Some(cell("category").to_owned()).filter(|c| !c.is_empty());
        products.insert(
            product_id.clone(),
            Product {
                product_id: product_id.clone(),
                name: product_name.clone(),
                category_id: category,
                price: amount.get() / quantity,
            },
        );
        let order = orders.entry(order_id.clone()).or_insert_with(|| Order {
            order_id: order_id.clone(),
            ordered_at,
            status,
            total: 0,
            customer_id: None,
            items: Vec::new(),
        });
        let item_id = Some(cell("item_id").to_owned())
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| (order.items.len() + 1).to_string());
        order.items.push(OrderItem {
            item_id,
            product_id,
            product_name,
            quantity,
            amount: amount.get(),
            status,
            status_code: cell("status").trim().to_owned(),
        });
    }
    if !errors.is_empty() {
        return Err(CommerceError::Rows { file, errors });
    }
    let orders = orders
        .into_values()
        .map(|mut order| settle_order(&mut order).map(|()| order))
        .collect::<Result<Vec<Order>, String>>()
        .map_err(|message| {
            CommerceError::File(adpool_tables::TableError {
                file: file.clone(),
                message,
            })
        })?;
    Ok(AblyExport {
        orders,
        products: products.into_values().collect(),
        unknown_statuses,
        encoding: grid.encoding,
    })
}
