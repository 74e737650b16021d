//! Cafe24 syncs against the fake Cafe24 server the project ships (on 127.0.0.1): paging,
//! windows, the offset cap, the call limit, rotating refresh tokens, 5xx, malformed pages and
//! revoked tokens; the cursor only covers committed data and reruns never duplicate. Runs on
//! SQLite, and on PostgreSQL when ADPOOL_TEST_DATABASE_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use std::sync::Arc;

use adpool_commerce::cafe24::Cafe24Settings;
use adpool_commerce::cafe24::fake::{FakeCafe24, FakeOrder, FakeState};
use adpool_commerce::sync::SyncSettings;
use adpool_commerce::{NewStore, Platform, Shops, Store, Vault};
use adpool_core::{BusinessDate, ManualClock, OrgId, SharedClock};
use adpool_store::testing::fresh_database;
use serde_json::json;

/// `per_day` orders a day for `days` days up to 2026-11-21; every 10th cancelled.
fn fake_orders(days: i64, per_day: usize) -> Vec<FakeOrder> {
    let today: BusinessDate = "2026-11-21".parse().unwrap();
    let mut out = Vec::new();
    for d in (0..days).rev() {
        let day = today.add_days(-d);
        for n in 0..per_day {
            out.push(FakeOrder::simple(
                &format!("{}-{n:07}", day.to_string().replace('-', "")),
                &format!("{day}T{:02}:{:02}:00+09:00", 9 + n % 12, n % 60),
                if n % 10 == 9 { "C40" } else { "N40" },
                &[(
                    100 + (n % 5) as i64,
                    &format!("상품 {}", n % 5),
                    1 + (n % 2) as i64,
                    10_000,
                )],
            ));
        }
    }
    out
}

/// What the reports must say: (orders that are sales, their revenue).
fn reference(orders: &[FakeOrder]) -> (i64, i64) {
    let sales: Vec<&FakeOrder> = orders
        .iter()
        .filter(|o| !o.items[0].timeline[0].1.starts_with('C'))
        .collect();
    let revenue = sales
        .iter()
        .flat_map(|o| o.items.iter().map(|i| i.quantity * i.product_price))
        .sum();
    (sales.len() as i64, revenue)
}

struct Setup {
    shops: Shops,
    org: OrgId,
    store: Store,
    fake: FakeCafe24,
    settings: SyncSettings,
}

async fn setup(orders: Vec<FakeOrder>, limit: bool) -> Setup {
    let db = fresh_database().await;
    let org: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, created_at) VALUES ('Camp House', 0) RETURNING id",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let org = OrgId(org);
    let clock: SharedClock = Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00"));
    let shops = Shops::new(db, clock, Vault::new([9; 32]));
    let mut state = FakeState::default();
    if !limit {
        state.limit = None;
    }
    state.clients.insert("app-1".into(), "app-secret".into());
    let (access, refresh) = state.issue_tokens("app-1");
    state.orders.insert("camphouse".into(), orders);
    let fake = FakeCafe24::start(state).await.unwrap();
    let store = shops
        .create_store(
            org,
            NewStore {
                platform: Platform::Cafe24,
                name: "Camp House".into(),
                mall_id: "camphouse".into(),
                credentials: Some(json!({
                    "client_id": "app-1", "client_secret": "app-secret",
                    "access_token": access, "refresh_token": refresh,
                })),
            },
            None,
        )
        .await
        .unwrap();
    let settings = SyncSettings {
        cafe24: Cafe24Settings {
            base_url: fake.base_url(),
            ..Cafe24Settings::default()
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

async fn sales(shops: &Shops, store: i64) -> (i64, i64) {
    sqlx::query_as(
        "SELECT COUNT(*), COALESCE(CAST(SUM(total) AS BIGINT), 0) FROM shop_orders
         WHERE store_id = $1 AND status NOT IN ('cancelled', 'returned', 'unpaid', 'unknown')",
    )
    .bind(store)
    .fetch_one(shops.db().pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn a_first_sync_reads_every_window_and_a_rerun_only_updates() {
    let orders = fake_orders(70, 40);
    let expected = reference(&orders);
    let s = setup(orders, true).await;
    let mut windows = Vec::new();
    let summary = s
        .shops
        .sync_store(s.org, s.store.id, &s.settings, None, &mut |w| {
            windows.push(w.to_owned())
        })
        .await
        .unwrap();
    assert_eq!(summary.counts.inserted, 2_800);
    assert_eq!(summary.cursor, "2026-11-21");
    assert_eq!(
        windows.len(),
        14,
        "the catalog, then 365 days in 30-day windows"
    );
    assert_eq!(sales(&s.shops, s.store.id).await, expected);
    assert_eq!(summary.calls.refreshes, 0);
    // A rerun reads the last 90 days again (statuses settle for weeks): all 70 days of
    // orders update, nothing duplicates.
    let again = s
        .shops
        .sync_store(s.org, s.store.id, &s.settings, None, &mut |_| {})
        .await
        .unwrap();
    assert_eq!((again.counts.inserted, again.counts.updated), (0, 2_800));
    assert_eq!(sales(&s.shops, s.store.id).await, expected);
    let runs = s.shops.runs(s.org, s.store.id, 5).await.unwrap();
    assert_eq!(runs[0].state, "succeeded");
    assert_eq!((runs[0].fetched, runs[0].updated), (2_800, 2_800));
    // Completed orders went to CPC attribution once, in the transactions that wrote them; the
    // rerun changed no status and published nothing.
    let events = order_events(&s.shops).await;
    assert_eq!(events.len(), 2_520, "2,800 orders, 280 cancelled");
    assert!(events.iter().all(|e| e["status"] == "completed"));
    assert!(
        events[0]["order_id"]
            .as_str()
            .unwrap()
            .starts_with("cafe24:camphouse:"),
        "{}",
        events[0]
    );
}

/// Every order event queued for CPC attribution.
async fn order_events(shops: &Shops) -> Vec<serde_json::Value> {
    let payloads: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM jobs WHERE kind = $1 ORDER BY id")
            .bind(adpool_commerce::ORDER_EVENTS_JOB)
            .fetch_all(shops.db().pool())
            .await
            .unwrap();
    payloads
        .iter()
        .flat_map(|p| {
            serde_json::from_str::<serde_json::Value>(p).unwrap()["events"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect()
}

#[tokio::test]
async fn a_completed_order_cancelled_later_publishes_its_cancellation() {
    let s = setup(fake_orders(2, 3), false).await;
    let since: BusinessDate = "2026-11-20".parse().unwrap();
    s.shops
        .sync_store(s.org, s.store.id, &s.settings, Some(since), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(order_events(&s.shops).await.len(), 6);
    s.fake
        .state
        .lock()
        .unwrap()
        .orders
        .get_mut("camphouse")
        .unwrap()[0]
        .items[0]
        .timeline[0]
        .1 = "C40".into();
    s.shops
        .sync_store(s.org, s.store.id, &s.settings, Some(since), &mut |_| {})
        .await
        .unwrap();
    let events = order_events(&s.shops).await;
    assert_eq!(events.len(), 7);
    assert_eq!(events[6]["status"], "cancelled");
    assert_eq!(events[6]["order_id"], "cafe24:camphouse:20261120-0000000");
}

#[tokio::test]
async fn expired_tokens_are_refreshed_and_the_new_refresh_token_is_kept() {
    let s = setup(fake_orders(3, 5), true).await;
    let before = s.shops.credentials(&s.store).await.unwrap().unwrap();
    s.fake.state.lock().unwrap().expire_access_tokens();
    let summary = s
        .shops
        .sync_store(
            s.org,
            s.store.id,
            &s.settings,
            Some("2026-11-19".parse().unwrap()),
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(summary.calls.refreshes, 1);
    let after = s.shops.credentials(&s.store).await.unwrap().unwrap();
    assert_ne!(
        after["refresh_token"], before["refresh_token"],
        "rotated and saved"
    );
    // Again: the saved (new) refresh token works; the old one would not.
    s.fake.state.lock().unwrap().expire_access_tokens();
    let again = s
        .shops
        .sync_store(s.org, s.store.id, &s.settings, None, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(again.calls.refreshes, 1);
    assert_eq!(
        sales(&s.shops, s.store.id).await,
        reference(&fake_orders(3, 5))
    );
}

#[tokio::test]
async fn failures_leave_the_cursor_on_committed_data_and_a_rerun_completes() {
    let orders = fake_orders(40, 10);
    let expected = reference(&orders);
    let s = setup(orders, false).await;
    let since: BusinessDate = "2026-10-01".parse().unwrap();
    // Two 503s are retried away.
    s.fake.state.lock().unwrap().fail_next = 2;
    s.shops
        .sync_store(s.org, s.store.id, &s.settings, Some(since), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(sales(&s.shops, s.store.id).await, expected);

    // A malformed page in the second window: the first window stays, the cursor with it.
    let fresh = setup(fake_orders(40, 10), false).await;
    let mut calls = 0;
    fresh.fake.state.lock().unwrap().fail_next = 0;
    let error = {
        // The first window is one page; the second window's first page is broken.
        let state = fresh.fake.state.clone();
        fresh
            .shops
            .sync_store(
                fresh.org,
                fresh.store.id,
                &fresh.settings,
                Some(since),
                &mut |_| {
                    // After the catalog and the first window, the next page is broken.
                    calls += 1;
                    if calls == 2 {
                        state.lock().unwrap().malformed_offset = Some(0);
                    }
                },
            )
            .await
            .unwrap_err()
    };
    assert!(error.to_string().contains("not JSON"), "{error}");
    assert_eq!(calls, 2);
    assert_eq!(
        fresh.shops.orders_cursor(fresh.store.id).await.unwrap(),
        Some("2026-10-30".parse().unwrap())
    );
    let runs = fresh
        .shops
        .runs(fresh.org, fresh.store.id, 1)
        .await
        .unwrap();
    assert_eq!(runs[0].state, "failed");
    assert!(runs[0].error.as_deref().unwrap().contains("not JSON"));
    fresh
        .shops
        .sync_store(
            fresh.org,
            fresh.store.id,
            &fresh.settings,
            None,
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(sales(&fresh.shops, fresh.store.id).await, expected);

    // A revoked refresh token: a clear error, the cursor unchanged.
    {
        let mut state = fresh.fake.state.lock().unwrap();
        state.refresh_tokens.clear();
        state.expire_access_tokens();
    }
    let cursor = fresh.shops.orders_cursor(fresh.store.id).await.unwrap();
    let error = fresh
        .shops
        .sync_store(
            fresh.org,
            fresh.store.id,
            &fresh.settings,
            None,
            &mut |_| {},
        )
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("connect the store again"),
        "{error}"
    );
    assert_eq!(
        fresh.shops.orders_cursor(fresh.store.id).await.unwrap(),
        cursor
    );
}

#[tokio::test]
async fn a_window_past_the_offset_cap_is_read_in_halves() {
    // 16,000 orders in two days: one 2-day window would need offsets past 15,000.
    let orders = fake_orders(2, 8_000);
    let expected = reference(&orders);
    let s = setup(orders, false).await;
    let settings = SyncSettings {
        window_days: 2,
        ..s.settings.clone()
    };
    let summary = s
        .shops
        .sync_store(
            s.org,
            s.store.id,
            &settings,
            Some("2026-11-20".parse().unwrap()),
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(summary.counts.inserted, 16_000);
    assert_eq!(sales(&s.shops, s.store.id).await, expected);
}

#[tokio::test]
async fn a_store_connects_through_cafe24_consent_and_then_syncs() {
    let s = setup(fake_orders(2, 3), false).await;
    // A store registered with only the app's id and secret is not connected yet.
    let fresh = s
        .shops
        .create_store(
            s.org,
            NewStore {
                platform: Platform::Cafe24,
                name: "Second mall".into(),
                mall_id: "camphouse".into(),
                credentials: Some(json!({ "client_id": "app-1", "client_secret": "app-secret" })),
            },
            None,
        )
        .await;
    // (the same mall id twice in one organization is refused)
    assert!(fresh.is_err());
    sqlx::query("UPDATE shop_stores SET credentials = NULL WHERE id = $1")
        .bind(s.store.id)
        .execute(s.shops.db().pool())
        .await
        .unwrap();
    s.shops
        .save_credentials(
            &s.store,
            &json!({ "client_id": "app-1", "client_secret": "app-secret" }),
        )
        .await
        .unwrap();
    assert!(!s.shops.cafe24_connection(&s.store).await.unwrap().connected);
    let error = s
        .shops
        .sync_store(s.org, s.store.id, &s.settings, None, &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("authorize adpool in Cafe24"),
        "{error}"
    );

    let me = adpool_core::UserId(7);
    let redirect = "http://127.0.0.1:9/shops/oauth/cafe24";
    let url = s
        .shops
        .cafe24_authorize_url(s.org, s.store.id, me, redirect, &s.settings.cafe24)
        .await
        .unwrap();
    assert!(
        url.contains("/camphouse/api/v2/oauth/authorize?response_type=code&client_id=app-1"),
        "{url}"
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let consent = http.get(&url).send().await.unwrap();
    assert_eq!(consent.status(), 302);
    let back = url::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
    let param = |name: &str| {
        back.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let (code, state) = (param("code"), param("state"));
    // Someone else cannot finish it, nor can a tampered state.
    let other = s
        .shops
        .cafe24_connect(
            s.org,
            adpool_core::UserId(8),
            &state,
            &code,
            redirect,
            &s.settings.cafe24,
        )
        .await
        .unwrap_err();
    assert!(other.to_string().contains("another person"), "{other}");
    let tampered = s
        .shops
        .cafe24_connect(
            s.org,
            me,
            &format!("x{state}"),
            &code,
            redirect,
            &s.settings.cafe24,
        )
        .await
        .unwrap_err();
    assert!(
        tampered.to_string().contains("not started here"),
        "{tampered}"
    );
    s.shops
        .cafe24_connect(s.org, me, &state, &code, redirect, &s.settings.cafe24)
        .await
        .unwrap();
    assert!(s.shops.cafe24_connection(&s.store).await.unwrap().connected);
    // A code works once.
    let again = s
        .shops
        .cafe24_connect(s.org, me, &state, &code, redirect, &s.settings.cafe24)
        .await
        .unwrap_err();
    assert!(
        again.to_string().contains("refused the authorization"),
        "{again}"
    );
    s.shops
        .sync_store(
            s.org,
            s.store.id,
            &s.settings,
            Some("2026-11-20".parse().unwrap()),
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(
        sales(&s.shops, s.store.id).await,
        reference(&fake_orders(2, 3))
    );
}

#[tokio::test]
async fn the_catalog_syncs_whole_then_only_updated_products() {
    use adpool_commerce::cafe24::fake::FakeProduct;
    let s = setup(fake_orders(1, 2), false).await;
    {
        let mut state = s.fake.state.lock().unwrap();
        state.categories.insert(
            "camphouse".into(),
            vec![
                (24, "텐트".into(), Some(1)),
                (25, "의자".into(), Some(1)),
                (26, "돔 텐트".into(), Some(24)),
            ],
        );
        state.products.insert(
            "camphouse".into(),
            (1..=250)
                .map(|no| FakeProduct {
                    product_no: no,
                    name: format!("상품 {no}"),
                    price: 10_000 + no,
                    // Product 1 is shown in "텐트" and in its child "돔 텐트".
                    categories: if no == 1 {
                        vec![24, 26]
                    } else {
                        vec![24 + no % 3]
                    },
                    updated_date: "2026-10-01T10:00:00+09:00".into(),
                })
                .collect(),
        );
        state.coupons.insert(
            "camphouse".into(),
            vec![
                ("6071".into(), "신규 가입 10%".into(), "10%".into()),
                ("6072".into(), "무료 배송".into(), "3,000원".into()),
            ],
        );
    }
    let count = |table: &'static str| {
        let db = s.shops.db().clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {table}"
            )))
            .fetch_one(db.pool())
            .await
            .unwrap()
        }
    };
    let mut notes = Vec::new();
    s.shops
        .sync_store(s.org, s.store.id, &s.settings, None, &mut |n| {
            notes.push(n.to_owned())
        })
        .await
        .unwrap();
    assert_eq!(
        (
            count("shop_categories").await,
            count("shop_products").await,
            count("shop_coupons").await
        ),
        (3, 250, 2),
        "250 products read past 100 a page with since_product_no"
    );
    assert!(notes[0].contains("250 products updated"), "{notes:?}");
    let parent: Option<String> =
        sqlx::query_scalar("SELECT parent_id FROM shop_categories WHERE category_id = '26'")
            .fetch_one(s.shops.db().pool())
            .await
            .unwrap();
    assert_eq!(parent.as_deref(), Some("24"));
    // The list carries no category: each comes from the product's detail, the most specific.
    let category: Option<String> =
        sqlx::query_scalar("SELECT category_id FROM shop_products WHERE product_id = '1'")
            .fetch_one(s.shops.db().pool())
            .await
            .unwrap();
    assert_eq!(category.as_deref(), Some("26"));
    assert_eq!(s.fake.state.lock().unwrap().details_served, 250);
    // Later: one product changes, one is added; only they are read again.
    {
        let mut state = s.fake.state.lock().unwrap();
        let products = state.products.get_mut("camphouse").unwrap();
        products[9].price = 99_000;
        products[9].updated_date = "2026-11-21T08:00:00+09:00".into();
        products.push(FakeProduct {
            product_no: 251,
            name: "새 상품".into(),
            price: 5_000,
            categories: Vec::new(),
            updated_date: "2026-11-21T08:30:00+09:00".into(),
        });
    }
    let mut notes = Vec::new();
    s.shops
        .sync_store(s.org, s.store.id, &s.settings, None, &mut |n| {
            notes.push(n.to_owned())
        })
        .await
        .unwrap();
    assert!(notes[0].contains("2 products updated"), "{notes:?}");
    let price: i64 = sqlx::query_scalar("SELECT price FROM shop_products WHERE product_id = '10'")
        .fetch_one(s.shops.db().pool())
        .await
        .unwrap();
    assert_eq!(price, 99_000);
    assert_eq!(count("shop_products").await, 251);
}

#[tokio::test]
async fn a_database_fault_mid_window_keeps_only_whole_windows_reports_the_run_and_a_rerun_completes()
 {
    use adpool_store::testing::{Fault, FaultPoint, inject_fault};
    let orders = fake_orders(40, 10);
    let expected = reference(&orders);
    let since: BusinessDate = "2026-10-01".parse().unwrap();
    for fault in [Fault::Error, Fault::Timeout] {
        let s = setup(orders.clone(), false).await;
        let db = s.shops.db().clone();
        // The first 30-day window holds 180 orders of one item; the fault strikes 70 items
        // into the second window, after its first orders were written in its transaction.
        let planted =
            inject_fault(&db, FaultPoint::InsertAfter("shop_order_items", 250), fault).await;
        let error = s
            .shops
            .sync_store(s.org, s.store.id, &s.settings, Some(since), &mut |_| {})
            .await
            .expect_err("the sync reports the fault");
        assert!(error.to_string().contains(fault.message()), "{error}");
        planted.clear().await;
        let runs = s.shops.runs(s.org, s.store.id, 1).await.unwrap();
        assert_eq!(runs[0].state, "failed", "{fault:?}: the run is reported");
        assert!(
            runs[0]
                .error
                .as_deref()
                .unwrap_or_default()
                .contains(fault.message()),
            "{:?}",
            runs[0].error
        );
        assert_eq!(
            s.shops.orders_cursor(s.store.id).await.unwrap(),
            Some("2026-10-30".parse().unwrap()),
            "{fault:?}: the cursor covers the committed window only"
        );
        let (written, without_items): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN NOT EXISTS (SELECT 1 FROM shop_order_items i
               WHERE i.store_id = o.store_id AND i.order_id = o.order_id) THEN 1 ELSE 0 END), 0)
             FROM shop_orders o WHERE o.store_id = $1",
        )
        .bind(s.store.id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(
            (written, without_items),
            (180, 0),
            "{fault:?}: the first window whole, nothing of the second"
        );
        s.shops
            .sync_store(s.org, s.store.id, &s.settings, None, &mut |_| {})
            .await
            .unwrap();
        assert_eq!(sales(&s.shops, s.store.id).await, expected, "{fault:?}");
    }
}
