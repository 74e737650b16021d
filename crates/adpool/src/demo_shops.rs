//! Demo shop data: one merchant with a store on each platform and a year of sales. The Cafe24
//! and Naver history is written through the same writer the connectors use, recorded as sync
//! runs; the Ably history is a real seller-centre export file imported through the importer.

use std::path::Path;

use adpool_commerce::{NewStore, Order, OrderItem, OrderStatus, Platform, Shops};
use adpool_core::{BusinessDate, OrgId, UserId, kst};
use anyhow::Context;
use chrono::Datelike;
use serde_json::json;

use adpool_commerce::cafe24::Cafe24Settings;
use adpool_commerce::cafe24::fake::{FakeCafe24, FakeItem, FakeOrder, FakeProduct, FakeState};
use adpool_commerce::naver::NaverSettings;
use adpool_commerce::naver::fake::{FakeNaver, FakeNaverState, FakeProductOrder};
use adpool_commerce::sync::SyncSettings;

use crate::demo::Dice;

/// (category id, name).
const CATEGORIES: [(&str, &str); 4] = [
    ("tent", "텐트"),
    ("chair", "캠핑 의자"),
    ("light", "랜턴"),
    ("wear", "아웃도어 의류"),
];

/// (product id, name, category, price).
const PRODUCTS: [(&str, &str, &str, i64); 10] = [
    ("P-101", "원터치 팝업 텐트 3인용", "tent", 129_000),
    ("P-102", "리빙쉘 텐트 5인용", "tent", 389_000),
    ("P-201", "릴렉스 캠핑 체어", "chair", 59_000),
    ("P-202", "경량 로우 체어", "chair", 45_000),
    ("P-301", "충전식 LED 랜턴", "light", 32_000),
    ("P-302", "감성 가스 랜턴", "light", 78_000),
    ("P-401", "방수 윈드브레이커", "wear", 89_000),
    ("P-402", "플리스 집업", "wear", 49_000),
    ("P-403", "트레킹 팬츠", "wear", 69_000),
    ("P-404", "캠핑 비니", "wear", 19_000),
];

/// Orders on `day` for a store of `scale`: camping peaks in spring and autumn, weekends sell
/// more, and the year grows toward today.
fn orders_on(dice: &mut Dice, day: BusinessDate, days_ago: i64, scale: f64) -> u64 {
    let month = day.naive().month();
    let season = match month {
        4 | 5 | 9 | 10 => 1.6,
        6..=8 => 1.2,
        12 | 1 | 2 => 0.6,
        _ => 1.0,
    };
    let weekend = if day.naive().weekday().number_from_monday() >= 6 {
        1.4
    } else {
        1.0
    };
    let growth = 1.0 + (365 - days_ago.min(365)) as f64 / 365.0 * 0.5;
    let expected = scale * season * weekend * growth;
    expected.floor() as u64 + u64::from(dice.chance(expected.fract()))
}

fn status_for(dice: &mut Dice, days_ago: i64) -> OrderStatus {
    if dice.chance(0.05) {
        return OrderStatus::Cancelled;
    }
    match days_ago {
        0 => OrderStatus::Paid,
        1 => OrderStatus::Preparing,
        2..=4 => OrderStatus::Shipping,
        _ if dice.chance(0.02) => OrderStatus::Returned,
        5..=10 => OrderStatus::Delivered,
        _ => OrderStatus::Confirmed,
    }
}

/// A year of generated orders for a store, ending `today`.
fn history(dice: &mut Dice, prefix: &str, today: BusinessDate, scale: f64) -> Vec<Order> {
    let mut orders = Vec::new();
    for days_ago in (0..365).rev() {
        let day = today.add_days(-days_ago);
        for n in 0..orders_on(dice, day, days_ago, scale) {
            let ordered_at =
                day.start_utc_millis() + 9 * 3_600_000 + dice.below(13 * 3_600_000) as i64;
            let lines = 1 + dice.below(3) as usize;
            let status = status_for(dice, days_ago);
            let items: Vec<OrderItem> = (0..lines)
                .map(|i| {
                    let (id, name, _, price) = PRODUCTS[dice.below(PRODUCTS.len() as u64) as usize];
                    let quantity = 1 + i64::from(dice.chance(0.15));
                    OrderItem {
                        item_id: (i + 1).to_string(),
                        product_id: id.into(),
                        product_name: name.into(),
                        quantity,
                        amount: price * quantity,
                        status,
                        status_code: String::new(),
                    }
                })
                .collect();
            orders.push(Order {
                order_id: format!("{prefix}{}-{n:03}", day.to_string().replace('-', "")),
                ordered_at,
                status,
                total: items.iter().map(|i| i.amount).sum(),
                customer_id: Some(format!("c{}", dice.below(4_000))),
                items,
            });
        }
    }
    orders
}

/// The Ably seller-centre export of `orders` (one row per line).
fn ably_export(orders: &[Order]) -> String {
    let mut out = String::from(
        "주문번호,상품주문번호,주문일시,상품코드,상품명,수량,결제금액,주문상태,카테고리\n",
    );
    for order in orders {
        let status = match order.status {
            OrderStatus::Paid => "결제완료",
            OrderStatus::Preparing => "상품준비중",
            OrderStatus::Shipping => "배송중",
            OrderStatus::Delivered => "배송완료",
            OrderStatus::Cancelled => "취소완료",
            OrderStatus::Returned => "반품완료",
            _ => "구매확정",
        };
        for item in &order.items {
            let category = PRODUCTS
                .iter()
                .find(|p| p.0 == item.product_id)
                .and_then(|p| CATEGORIES.iter().find(|c| c.0 == p.2))
                .map_or("", |c| c.1);
            out.push_str(&format!(
                "{},{},{},{},{},{},\"{}원\",{status},{category}\n",
                order.order_id,
                item.item_id,
                chrono::DateTime::from_timestamp_millis(order.ordered_at)
                    .unwrap_or_default()
                    .with_timezone(&kst())
                    .format("%Y-%m-%d %H:%M:%S"),
                item.product_id,
                item.product_name,
                item.quantity,
                adpool_core::group_thousands(u64::try_from(item.amount).unwrap_or(0)),
            ));
        }
    }
    out
}

/// The fake Cafe24's view of generated orders.
fn fake_orders(orders: &[Order]) -> Vec<FakeOrder> {
    orders
        .iter()
        .map(|o| {
            let code = match o.status {
                OrderStatus::Paid => "N10",
                OrderStatus::Preparing => "N20",
                OrderStatus::Shipping => "N30",
                OrderStatus::Delivered => "N40",
                OrderStatus::Cancelled => "C40",
                OrderStatus::Returned => "R40",
                _ => "N50",
            };
            let date = chrono::DateTime::from_timestamp_millis(o.ordered_at)
                .unwrap_or_default()
                .with_timezone(&kst())
                .to_rfc3339();
            let day = BusinessDate::from_utc_millis(o.ordered_at).naive();
            FakeOrder {
                shop_no: 1,
                order_id: o.order_id.clone(),
                order_date: date,
                member_id: o.customer_id.clone().unwrap_or_default(),
                items: o
                    .items
                    .iter()
                    .map(|i| {
                        FakeItem::new(
                            i.product_id.trim_start_matches("P-").parse().unwrap_or(0),
                            &i.product_name,
                            i.quantity,
                            i.amount / i.quantity.max(1),
                            day,
                            code,
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The fake Naver's view of generated orders: one product order per line, changed when ordered.
fn fake_product_orders(orders: &[Order]) -> Vec<FakeProductOrder> {
    orders
        .iter()
        .flat_map(|o| {
            o.items.iter().map(move |i| FakeProductOrder {
                product_order_id: format!("{}{}", o.order_id, i.item_id),
                order_id: o.order_id.clone(),
                order_date: chrono::DateTime::from_timestamp_millis(o.ordered_at)
                    .unwrap_or_default()
                    .with_timezone(&kst())
                    .to_rfc3339(),
                orderer_id: o.customer_id.clone().unwrap_or_default(),
                orderer_no: o
                    .customer_id
                    .as_deref()
                    .map(|c| {
                        format!(
                            "{}",
                            5_100_000 + c.trim_start_matches('c').parse::<i64>().unwrap_or(0)
                        )
                    })
                    .unwrap_or_default(),
                // Naver numbers channel products.
                product_id: i.product_id.trim_start_matches("P-").to_owned(),
                product_name: i.product_name.clone(),
                quantity: i.quantity,
                amount: i.amount,
                status: match o.status {
                    OrderStatus::Paid | OrderStatus::Preparing => "PAYED",
                    OrderStatus::Shipping => "DELIVERING",
                    OrderStatus::Delivered => "DELIVERED",
                    OrderStatus::Cancelled => "CANCELED",
                    OrderStatus::Returned => "RETURNED",
                    _ => "PURCHASE_DECIDED",
                }
                .into(),
                last_changed: o.ordered_at,
                ..FakeProductOrder::default()
            })
        })
        .collect()
}

/// The demo deployment's Cafe24 app (client id, secret), known to the fake Cafe24.
pub const DEMO_CAFE24_APP: (&str, &str) = ("demo-adpool-app", "demo-app-secret-not-real");

/// The demo's fake platform servers (in this process), for the server's configuration.
pub struct DemoPlatforms {
    /// The fake Cafe24's base URL.
    pub cafe24: String,
    /// The fake Naver Commerce API's base URL.
    pub naver: String,
}

/// Seeds the stores of `org` and a year of their sales ending `now`; returns the fake Cafe24
/// and Naver servers (in this process) the demo's stores sync from.
pub async fn seed_shops(
    shops: &Shops,
    org: OrgId,
    admin: UserId,
    now: i64,
    folder: &Path,
) -> anyhow::Result<DemoPlatforms> {
    let today = BusinessDate::from_utc_millis(now);
    let mut dice = Dice(0x5eed_5a1e);
    let api =
        |platform: Platform, name: &str, mall: &str, credentials: serde_json::Value| NewStore {
            platform,
            name: name.into(),
            mall_id: mall.into(),
            credentials: Some(credentials),
        };

    // Cafe24: a year of orders on the fake Cafe24 server, read by a real sync.
    let cafe24_orders = history(&mut dice, "C", today, 14.0);
    let mut fake = FakeState::default();
    fake.limit = None;
    fake.clients
        .insert("demo-camphouse".into(), "demo-secret-not-real".into());
    fake.clients
        .insert(DEMO_CAFE24_APP.0.into(), DEMO_CAFE24_APP.1.into());
    let (access, refresh) = fake.issue_tokens("demo-camphouse");
    fake.orders
        .insert("camphouse".into(), fake_orders(&cafe24_orders));
    // Cafe24 numbers its categories; the catalog is read by the sync too.
    let category_no = |id: &str| {
        CATEGORIES
            .iter()
            .position(|(c, _)| *c == id)
            .map_or(0, |i| 24 + i as i64)
    };
    fake.categories.insert(
        "camphouse".into(),
        CATEGORIES
            .iter()
            .map(|(id, name)| (category_no(id), (*name).to_owned(), Some(1)))
            .collect(),
    );
    fake.products.insert(
        "camphouse".into(),
        PRODUCTS
            .iter()
            .map(|(id, name, category, price)| FakeProduct {
                product_no: id.trim_start_matches("P-").parse().unwrap_or(0),
                name: (*name).into(),
                price: *price,
                categories: vec![category_no(category)],
                updated_date: "2026-01-05T10:00:00+09:00".into(),
            })
            .collect(),
    );
    fake.coupons.insert(
        "camphouse".into(),
        vec![
            ("6071".into(), "신규 가입 10% 할인".into(), "10%".into()),
            (
                "6072".into(),
                "캠핑 시즌 무료 배송".into(),
                "3,000원".into(),
            ),
        ],
    );
    let fake = FakeCafe24::start(fake)
        .await
        .context("starting the demo's fake Cafe24")?;
    let cafe24 = shops
        .create_store(
            org,
            api(
                Platform::Cafe24,
                "캠핑하우스 자사몰 (Cafe24)",
                "camphouse",
                json!({
                    "client_id": "demo-camphouse", "client_secret": "demo-secret-not-real",
                    "access_token": access, "refresh_token": refresh,
                }),
            ),
            Some(admin),
        )
        .await?;
    let settings = SyncSettings {
        cafe24: Cafe24Settings {
            base_url: fake.base_url(),
            ..Default::default()
        },
        ..Default::default()
    };
    shops
        .sync_store(org, cafe24.id, &settings, None, &mut |_| {})
        .await
        .context("demo Cafe24 sync from the fake server")?;

    // Naver: the same through the fake Naver Commerce API (a bcrypt salt is its secret).
    let naver_orders = history(&mut dice, "N", today, 9.0);
    let naver_secret = "$2a$04$JeZ5ho7VqBKDLmhjbr0I9e";
    let mut fake_naver = FakeNaverState::default();
    fake_naver
        .clients
        .insert("demo-naver".into(), naver_secret.into());
    fake_naver.product_orders = fake_product_orders(&naver_orders);
    // The catalog is read by the sync too: categories with their whole names, channel products.
    fake_naver.categories = CATEGORIES
        .iter()
        .map(|(id, name)| ((*id).to_owned(), (*name).to_owned(), format!("캠핑>{name}")))
        .collect();
    fake_naver.products = PRODUCTS
        .iter()
        .map(|(id, name, category, price)| {
            (
                id.trim_start_matches("P-").parse().unwrap_or(0),
                (*name).to_owned(),
                *price,
                (*category).to_owned(),
            )
        })
        .collect();
    let fake_naver = FakeNaver::start(fake_naver)
        .await
        .context("starting the demo's fake Naver Commerce API")?;
    let naver = shops
        .create_store(
            org,
            api(
                Platform::Naver,
                "캠핑하우스 스마트스토어",
                "camphouse-naver",
                json!({ "client_id": "demo-naver", "client_secret": naver_secret }),
            ),
            Some(admin),
        )
        .await?;
    let naver_settings = SyncSettings {
        naver: NaverSettings {
            base_url: fake_naver.base_url(),
            outbound_ip: None,
        },
        ..Default::default()
    };
    shops
        .sync_store(org, naver.id, &naver_settings, None, &mut |_| {})
        .await
        .context("demo Naver sync from the fake server")?;

    let ably = shops
        .create_store(
            org,
            NewStore {
                platform: Platform::Ably,
                name: "캠핑하우스 에이블리".into(),
                mall_id: "camphouse-ably".into(),
                credentials: None,
            },
            Some(admin),
        )
        .await?;
    std::fs::create_dir_all(folder)?;
    let export = folder.join("ably-orders.csv");
    std::fs::write(&export, ably_export(&history(&mut dice, "A", today, 5.0)))?;
    shops
        .import_ably(org, ably.id, &export, "ably-orders.csv", false)
        .await
        .context("demo Ably export")?;
    Ok(DemoPlatforms {
        cafe24: fake.base_url(),
        naver: fake_naver.base_url(),
    })
}
