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
                    product_id: format!("{}", 900 + line),
                    product_name: format!("상품 {line}"),
                    quantity: 1,
                    amount: 20_000 + line * 5_000,
                    status: "PURCHASE_DECIDED".into(),
                    last_changed: at,
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
         FROM shop_orders WHERE store_id = $1 AND status NOT IN ('cancelled', 'returned')",
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
