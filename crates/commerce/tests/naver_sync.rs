//! Naver SmartStore syncs against the fake Naver Commerce API the project ships (127.0.0.1):
//! the bcrypt-signed token, 24-hour status-change windows paged with moreSequence, whole orders
//! read in detail batches of 300, GW.RATE_LIMIT and 5xx ridden out, a refused secret and a
//! partial cancellation. Runs on SQLite, and on PostgreSQL when ADPOOL_TEST_DATABASE_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use std::sync::Arc;

use adpool_commerce::naver::NaverSettings;
use adpool_commerce::naver::fake::{FakeNaver, FakeNaverState, FakeProductOrder};
use adpool_commerce::sync::SyncSettings;
use adpool_commerce::{NewStore, Platform, Shops, Store, Vault};
use adpool_core::{ManualClock, OrgId, SharedClock};
use adpool_store::testing::fresh_database;
use serde_json::json;

const SECRET: &str = "$2a$04$JeZ5ho7VqBKDLmhjbr0I9e";
/// 2026-11-21 09:00 KST.
const NOW: i64 = 1_795_219_200_000;

/// `per_day` orders a day for `days` days before NOW, each with 1 or 2 product orders.
fn product_orders(days: i64, per_day: i64) -> Vec<FakeProductOrder> {
    let mut out = Vec::new();
    for d in 0..days {
        for n in 0..per_day {
            let at = NOW - (d * 86_400_000) - (n * 60_000) - 1_000;
            let order_id = format!("2026{d:03}{n:05}");
            for line in 0..1 + n % 2 {
                out.push(FakeProductOrder {
                    product_order_id: format!("{order_id}{line}"),
                    order_id: order_id.clone(),
                    order_date: chrono::DateTime::from_timestamp_millis(at)
                        .unwrap()
                        .with_timezone(&adpool_core::kst())
                        .to_rfc3339(),
                    orderer_id: format!("buyer{}", n % 50),
                    orderer_no: format!("{}", 7_000_000 + n % 50),
                    product_id: format!("{}", 900 + line),
                    product_name: format!("상품 {line}"),
                    quantity: 1,
                    amount: 20_000 + line * 5_000,
                    status: "PURCHASE_DECIDED".into(),
                    last_changed: at,
                    ..FakeProductOrder::default()
                });
            }
        }
    }
    out
}

struct Setup {
    shops: Shops,
    org: OrgId,
    store: Store,
    fake: FakeNaver,
    settings: SyncSettings,
}

async fn setup(lines: Vec<FakeProductOrder>, secret: &str) -> Setup {
    let db = fresh_database().await;
    let org: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, created_at) VALUES ('Camp House', 0) RETURNING id",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let org = OrgId(org);
    let clock: SharedClock = Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00"));
    let shops = Shops::new(db, clock, Vault::new([5; 32]));
    let mut state = FakeNaverState::default();
    state.clients.insert("naver-client".into(), SECRET.into());
    state.product_orders = lines;
    state.limit = Some(200.0);
    let fake = FakeNaver::start(state).await.unwrap();
    let store = shops
        .create_store(
            org,
            NewStore {
                platform: Platform::Naver,
                name: "Camp House SmartStore".into(),
                mall_id: "camphouse-naver".into(),
                credentials: Some(json!({ "client_id": "naver-client", "client_secret": secret })),
            },
            None,
        )
        .await
        .unwrap();
    let settings = SyncSettings {
        naver: NaverSettings {
            base_url: fake.base_url(),
            outbound_ip: Some("203.0.113.7".into()),
        },
        ..SyncSettings::default()
    };
    Setup {
        shops,
        org,
        store,
        fake,
        settings,
    }
}

async fn totals(shops: &Shops, store: i64) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT COUNT(*), COALESCE(CAST(SUM(total) AS BIGINT), 0),
                (SELECT COUNT(*) FROM shop_order_items WHERE store_id = $1)
         FROM shop_orders WHERE store_id = $1 AND status NOT IN ('cancelled', 'returned', 'unpaid', 'unknown')",
    )
    .bind(store)
    .fetch_one(shops.db().pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn status_changes_are_synced_in_windows_pages_and_batches_under_the_rate_limit() {
    // 330 status changes a day: the 24-hour windows page with moreSequence.
    let lines = product_orders(2, 220);
    let revenue: i64 = lines.iter().map(|l| l.amount).sum();
    let s = setup(lines.clone(), SECRET).await;
    s.fake.state.lock().unwrap().fail_next = 1;
    let summary = s
        .shops
        .sync_store(
            s.org,
            s.store.id,
            &s.settings,
            Some("2026-11-18".parse().unwrap()),
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(summary.counts.inserted, 440);
    assert_eq!(
        totals(&s.shops, s.store.id).await,
        (440, revenue, lines.len() as i64)
    );
    assert!(summary.calls.refreshes >= 1);
    assert_eq!(summary.calls.retries, 1, "the 500 was retried");
    assert!(
        s.fake.state.lock().unwrap().throttled > 0,
        "the fake's rate limit was reached and ridden out"
    );

    // A line of a two-line order is cancelled: the order is read whole and keeps its other line.
    {
        let mut state = s.fake.state.lock().unwrap();
        let line = state
            .product_orders
            .iter_mut()
            .find(|p| p.product_order_id == "2026000000011")
            .unwrap();
        line.status = "CANCELED".into();
        line.last_changed = NOW;
    }
    let again = s
        .shops
        .sync_store(s.org, s.store.id, &s.settings, None, &mut |_| {})
        .await
        .unwrap();
    // The rerun starts an hour before the cursor: the last hour's 60 orders are read again.
    assert_eq!((again.counts.inserted, again.counts.updated), (0, 60));
    let order: (String, i64) = sqlx::query_as(
        "SELECT status, total FROM shop_orders WHERE store_id = $1 AND order_id = '202600000001'",
    )
    .bind(s.store.id)
    .fetch_one(s.shops.db().pool())
    .await
    .unwrap();
    assert_eq!(order, ("confirmed".to_owned(), 20_000));
}

#[tokio::test]
async fn a_refused_secret_is_a_clear_error_and_changes_nothing() {
    let s = setup(product_orders(1, 10), "$2a$04$AAAAAAAAAAAAAAAAAAAAAu").await;
    let error = s
        .shops
        .sync_store(s.org, s.store.id, &s.settings, None, &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("credentials were refused"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("Naver SmartStore camphouse-naver"),
        "{error}"
    );
    assert_eq!(totals(&s.shops, s.store.id).await, (0, 0, 0));
    let runs = s.shops.runs(s.org, s.store.id, 1).await.unwrap();
    assert_eq!(runs[0].state, "failed");
    let cursors: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM shop_sync_cursors")
        .fetch_one(s.shops.db().pool())
        .await
        .unwrap();
    assert_eq!(cursors, 0);
}

#[tokio::test]
async fn partial_claims_count_what_remains_and_the_buyer_is_the_orderer_number() {
    let mut lines = product_orders(1, 3);
    // Order 0: one line of 1 (20,000). Order 1: two lines; the first (quantity 3, 60,000) had
    // one unit cancelled (2 and 40,000 remain); the second (25,000) was returned in full while
    // its status still says DELIVERED. Order 2: unpaid.
    lines[1].quantity = 3;
    lines[1].amount = 60_000;
    lines[1].remain_quantity = Some(2);
    lines[1].remain_amount = Some(40_000);
    lines[1].claim_type = Some("CANCEL".into());
    lines[2].status = "DELIVERED".into();
    lines[2].remain_quantity = Some(0);
    lines[2].remain_amount = Some(0);
    lines[2].claim_type = Some("RETURN".into());
    lines[3].status = "PAYMENT_WAITING".into();
    let s = setup(lines, SECRET).await;
    s.shops
        .sync_store(s.org, s.store.id, &s.settings, None, &mut |_| {})
        .await
        .unwrap();
    let orders: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT order_id, status, total, customer_id FROM shop_orders WHERE store_id = $1 ORDER BY order_id",
    )
    .bind(s.store.id)
    .fetch_all(s.shops.db().pool())
    .await
    .unwrap();
    assert_eq!(
        orders,
        vec![
            (
                "202600000000".into(),
                "confirmed".into(),
                20_000,
                Some("7000000".into())
            ),
            (
                "202600000001".into(),
                "confirmed".into(),
                40_000,
                Some("7000001".into())
            ),
            (
                "202600000002".into(),
                "unpaid".into(),
                0,
                Some("7000002".into())
            ),
        ],
        "the remaining quantity and payment count; the orderer number, never the masked id"
    );
    let returned: (String, i64, i64) = sqlx::query_as(
        "SELECT status, quantity, amount FROM shop_order_items WHERE store_id = $1 AND item_id = '2026000000011'",
    )
    .bind(s.store.id)
    .fetch_one(s.shops.db().pool())
    .await
    .unwrap();
    assert_eq!(returned, ("returned".into(), 1, 0));
    // What spending insight reads: the sale lines with their customer, net paid.
    let purchases = s.shops.customer_purchases(s.org).await.unwrap();
    let seen: Vec<(String, String, i64)> = purchases
        .into_iter()
        .map(|p| (p.key, p.customer, p.amount))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "naver:camphouse-naver:202600000000:2026000000000".to_owned(),
                "naver:7000000".to_owned(),
                20_000
            ),
            (
                "naver:camphouse-naver:202600000001:2026000000010".to_owned(),
                "naver:7000001".to_owned(),
                40_000
            ),
        ],
        "the returned line and the unpaid order are not purchases"
    );
}

#[tokio::test]
async fn an_unregistered_address_says_which_address_to_register() {
    let s = setup(product_orders(1, 3), SECRET).await;
    s.fake.state.lock().unwrap().refuse_ip = true;
    let error = s
        .shops
        .sync_store(s.org, s.store.id, &s.settings, None, &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(error, adpool_commerce::CommerceError::IpNotAllowed { .. }),
        "not bad credentials: {error}"
    );
    let text = error.to_string();
    assert!(text.contains("203.0.113.7"), "{text}");
    assert!(text.contains("Commerce API Center"), "{text}");
    assert!(!text.contains("credentials"), "{text}");
}

#[tokio::test]
async fn categories_and_products_sync_for_the_per_category_view() {
    let s = setup(product_orders(1, 4), SECRET).await;
    {
        let mut state = s.fake.state.lock().unwrap();
        state.categories = vec![
            (
                "50000000".into(),
                "스포츠/레저".into(),
                "스포츠/레저".into(),
            ),
            ("50000100".into(), "캠핑".into(), "스포츠/레저>캠핑".into()),
            (
                "50000101".into(),
                "텐트".into(),
                "스포츠/레저>캠핑>텐트".into(),
            ),
        ];
        state.products = (0..150)
            .map(|n| (900 + n, format!("상품 {n}"), 20_000, "50000101".to_owned()))
            .collect();
    }
    s.shops
        .sync_store(s.org, s.store.id, &s.settings, None, &mut |_| {})
        .await
        .unwrap();
    let parent: Option<String> = sqlx::query_scalar(
        "SELECT parent_id FROM shop_categories WHERE store_id = $1 AND category_id = '50000101'",
    )
    .bind(s.store.id)
    .fetch_one(s.shops.db().pool())
    .await
    .unwrap();
    assert_eq!(parent.as_deref(), Some("50000100"));
    let products: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM shop_products WHERE store_id = $1")
            .bind(s.store.id)
            .fetch_one(s.shops.db().pool())
            .await
            .unwrap();
    assert_eq!(products, 150, "two pages of products/search");
    let day = adpool_core::BusinessDate::from_utc_millis(NOW);
    let dashboard = adpool_commerce::sales::dashboard(
        s.shops.db(),
        s.org,
        None,
        adpool_commerce::sales::Period::Day,
        day,
        2,
    )
    .await
    .unwrap();
    assert_eq!(
        dashboard.by_category[0].0, "텐트",
        "{:?}",
        dashboard.by_category
    );
}
