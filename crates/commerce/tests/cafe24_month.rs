//! A month of Cafe24 orders whose statuses keep changing for weeks after they are placed, on a
//! mall with two shops, synced once a day as the schedule would while the clock moves through
//! November and December 2026. At the end, daily net sales and order counts equal a reference
//! computed independently from the fake's final data: the reference has its own reading of the
//! Cafe24 status codes (from the Orders chapter) and of the amount fields (Orders items), and
//! shares no code with the client. Also: a catalog refused for a missing scope never stops the
//! orders; the call limit is waited out, then a run stops and the next resumes; one sync per
//! store at a time. Runs on SQLite, and on PostgreSQL when ADPOOL_TEST_DATABASE_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use std::collections::BTreeMap;
use std::sync::Arc;

use adpool_commerce::cafe24::Cafe24Settings;
use adpool_commerce::cafe24::fake::{FakeCafe24, FakeItem, FakeOrder, FakeShop, FakeState};
use adpool_commerce::sync::SyncSettings;
use adpool_commerce::{CommerceError, NewStore, Platform, Shops, Store, Vault};
use adpool_core::{ManualClock, OrgId, SharedClock};
use adpool_store::testing::fresh_database;
use chrono::NaiveDate;
use serde_json::json;

/// A small deterministic generator (xorshift), so the month is the same on every run.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// How an item's status moves after its order day, as Cafe24 merchants see it: most are
/// prepared, shipped, delivered and confirmed a week or two later; some are cancelled before
/// shipping (requested first), returned after delivery, exchanged, left unpaid and
/// auto-cancelled, or refused a cancellation.
fn timeline(dice: &mut Dice, placed: NaiveDate) -> Vec<(NaiveDate, String)> {
    let at = |days: i64| placed + chrono::Duration::days(days);
    let steps: Vec<(i64, &str)> = match dice.below(100) {
        0..=4 => vec![(0, "N00"), (3, "C48")],
        5..=7 => vec![(0, "N00"), (1, "N10"), (2, "N20"), (4, "N30"), (6, "N40")],
        8..=15 => vec![(0, "N10"), (1, "C00"), (2, "C10"), (3, "C34"), (5, "C40")],
        16..=18 => vec![
            (0, "N10"),
            (1, "C00"),
            (2, "C11"),
            (3, "N30"),
            (5, "N40"),
            (15, "N50"),
        ],
        19..=26 => vec![
            (0, "N10"),
            (1, "N20"),
            (2, "N30"),
            (4, "N40"),
            (9, "R00"),
            (11, "R10"),
            (14, "R34"),
            (18, "R40"),
        ],
        27..=28 => vec![
            (0, "N10"),
            (2, "N30"),
            (4, "N40"),
            (8, "R00"),
            (10, "R11"),
            (20, "N50"),
        ],
        29..=31 => vec![
            (0, "N10"),
            (2, "N30"),
            (4, "N40"),
            (7, "E00"),
            (9, "E10"),
            (16, "E40"),
        ],
        _ => vec![
            (0, "N10"),
            (1, "N20"),
            (2, "N30"),
            (4 + dice.below(3) as i64, "N40"),
            (10 + dice.below(14) as i64, "N50"),
        ],
    };
    steps
        .into_iter()
        .map(|(days, code)| (at(days), code.to_owned()))
        .collect()
}

/// A month of orders (November 2026) on two shops, with options, discounts and partial
/// cancellations (a line of an order cancelled while the others stand).
fn month_of_orders() -> Vec<FakeOrder> {
    let mut dice = Dice(0x00c0_ffee_1234);
    let mut orders = Vec::new();
    let mut placed = day("2026-11-01");
    while placed <= day("2026-11-30") {
        for n in 0..(6 + dice.below(6)) {
            let shop_no = 1 + (n % 2) as i64;
            let lines = 1 + dice.below(3);
            let mut items = Vec::new();
            for line in 0..lines {
                let product_no = 10 + dice.below(8) as i64;
                let mut item = FakeItem::new(
                    product_no,
                    &format!("상품 {product_no}"),
                    1 + dice.below(3) as i64,
                    9_900 + dice.below(20) as i64 * 1_000,
                    placed,
                    "N10",
                );
                if dice.chance(30) {
                    item.option_price = 2_000;
                }
                if dice.chance(25) {
                    item.additional_discount = 1_230;
                }
                if dice.chance(20) {
                    item.coupon_discount = 3_000;
                }
                if dice.chance(10) {
                    item.app_discount = 500;
                }
                // Malls with automatic discount calculation send the line's payment amount.
                if shop_no == 2 && dice.chance(50) {
                    let gross = (item.product_price + item.option_price) * item.quantity;
                    item.payment_amount = Some(
                        gross - item.additional_discount - item.coupon_discount - item.app_discount,
                    );
                }
                item.timeline = if line > 0 && dice.chance(15) {
                    // One line of the order cancelled on its own two days later.
                    vec![
                        (placed, "N10".into()),
                        (placed + chrono::Duration::days(2), "C40".into()),
                    ]
                } else {
                    timeline(&mut dice, placed)
                };
                items.push(item);
            }
            orders.push(FakeOrder {
                shop_no,
                order_id: format!("{}-{:07}", placed.format("%Y%m%d"), n + 1),
                order_date: format!("{placed}T{:02}:{:02}:00+09:00", 9 + n % 12, (n * 7) % 60),
                member_id: format!("buyer{}", dice.below(40)),
                items,
            });
        }
        placed = placed.succ_opt().unwrap();
    }
    orders
}

/// The reference, from the fake's final data: per KST order day, (orders with at least one
/// line that is a sale, net paid of those lines). Status codes read from the Orders chapter:
/// N00 unpaid and C*/R* completed cancellations and returns are not sales; requested or
/// refused claims and exchanges are.
fn reference(orders: &[FakeOrder]) -> BTreeMap<String, (i64, i64)> {
    let not_a_sale = |code: &str| matches!(code, "N00" | "C40" | "C48" | "R40");
    let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for order in orders {
        let mut revenue = 0;
        let mut sale = false;
        for item in &order.items {
            let code = &item.timeline.last().unwrap().1;
            if not_a_sale(code) {
                continue;
            }
            sale = true;
            revenue += match item.payment_amount {
                Some(paid) => paid,
                None => {
                    (item.product_price + item.option_price) * item.quantity
                        - item.additional_discount
                        - item.coupon_discount
                        - item.app_discount
                }
            };
        }
        if sale {
            let entry = out.entry(order.order_date[..10].to_owned()).or_default();
            entry.0 += 1;
            entry.1 += revenue;
        }
    }
    out
}

struct Mall {
    shops: Shops,
    org: OrgId,
    store: Store,
    fake: FakeCafe24,
    clock: Arc<ManualClock>,
    settings: SyncSettings,
}

async fn mall(orders: Vec<FakeOrder>, at: &str) -> Mall {
    let db = fresh_database().await;
    let org: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, created_at) VALUES ('Camp House', 0) RETURNING id",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let org = OrgId(org);
    let clock = Arc::new(ManualClock::at(at));
    let shared: SharedClock = clock.clone();
    let shops = Shops::new(db, shared, Vault::new([9; 32]));
    let mut state = FakeState::default();
    state.limit = None;
    state
        .clients
        .insert("deploy-app".into(), "deploy-secret".into());
    let (access, refresh) = state.issue_tokens("deploy-app");
    state.orders.insert("camphouse".into(), orders);
    state.shops.insert(
        "camphouse".into(),
        vec![
            FakeShop {
                shop_no: 1,
                name: "캠핑하우스".into(),
                currency: "KRW".into(),
            },
            FakeShop {
                shop_no: 2,
                name: "캠핑하우스 B2B".into(),
                currency: "KRW".into(),
            },
            FakeShop {
                shop_no: 3,
                name: "Camp House Global".into(),
                currency: "USD".into(),
            },
        ],
    );
    let fake = FakeCafe24::start(state).await.unwrap();
    // The deployment's app: the store saves only its tokens.
    let store = shops
        .create_store(
            org,
            NewStore {
                platform: Platform::Cafe24,
                name: "Camp House".into(),
                mall_id: "camphouse".into(),
                credentials: Some(json!({ "access_token": access, "refresh_token": refresh })),
            },
            None,
        )
        .await
        .unwrap();
    let settings = SyncSettings {
        cafe24: Cafe24Settings {
            base_url: fake.base_url(),
            client_id: "deploy-app".into(),
            client_secret: "deploy-secret".into(),
            ..Cafe24Settings::default()
        },
        ..SyncSettings::default()
    };
    Mall {
        shops,
        org,
        store,
        fake,
        clock,
        settings,
    }
}

/// Daily (orders, net sales) as adpool's dashboard tables hold them.
async fn synced(shops: &Shops, store: i64) -> BTreeMap<String, (i64, i64)> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT order_day, COUNT(*), CAST(SUM(total) AS BIGINT) FROM shop_orders
         WHERE store_id = $1 AND status NOT IN ('unpaid', 'cancelled', 'returned', 'unknown', 'replacement')
         GROUP BY order_day ORDER BY order_day",
    )
    .bind(store)
    .fetch_all(shops.db().pool())
    .await
    .unwrap();
    rows.into_iter().map(|(d, o, r)| (d, (o, r))).collect()
}

#[tokio::test]
async fn a_month_of_orders_that_keeps_changing_settles_to_the_independent_reference() {
    let orders = month_of_orders();
    let expected = reference(&orders);
    let m = mall(orders, "2026-11-01T23:30:00+09:00").await;
    // Every night at 23:30 KST from November 1st to December 31st, the fake a day further.
    let mut night = day("2026-11-01");
    let mut syncs = 0;
    while night <= day("2026-12-31") {
        m.fake.set_today(night);
        m.clock.set_millis(
            chrono::DateTime::parse_from_rfc3339(&format!("{night}T23:30:00+09:00"))
                .unwrap()
                .timestamp_millis(),
        );
        let summary = m
            .shops
            .sync_store(m.org, m.store.id, &m.settings, None, &mut |_| {})
            .await
            .unwrap();
        assert!(
            summary
                .notes
                .iter()
                .any(|n| n.code == "shop_skipped" && n.detail.contains("USD")),
            "the shop selling in dollars is noted, not summed as won: {:?}",
            summary.notes
        );
        syncs += 1;
        night = night.succ_opt().unwrap();
    }
    assert_eq!(syncs, 61);
    let actual = synced(&m.shops, m.store.id).await;
    assert_eq!(actual.len(), 30, "every November day has sales");
    assert_eq!(
        actual, expected,
        "daily orders and net sales equal the reference"
    );
    // Both shops are in it.
    let per_shop: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM shop_orders WHERE store_id = $1 AND order_id LIKE '%-0000002'",
    )
    .bind(m.store.id)
    .fetch_one(m.shops.db().pool())
    .await
    .unwrap();
    assert_eq!(per_shop, 30, "the second order of each day is shop 2's");
    // The lines keep their own status and code; nothing is unknown.
    let statuses = m.shops.line_statuses(m.org, m.store.id).await.unwrap();
    assert!(
        statuses
            .iter()
            .all(|s| s.status != adpool_commerce::OrderStatus::Unknown)
    );
    assert!(
        statuses
            .iter()
            .any(|s| s.status == adpool_commerce::OrderStatus::Confirmed)
    );
    assert!(
        statuses
            .iter()
            .any(|s| s.status == adpool_commerce::OrderStatus::Returned)
    );
}

#[tokio::test]
async fn a_sync_stopped_before_the_statuses_settled_is_wrong_and_the_settle_window_fixes_it() {
    // The same month, synced once on December 1st and once on December 31st: on the 1st the
    // late returns and confirmations have not happened, so the figures differ from the final
    // reference; the sync on the 31st re-reads the month and they agree.
    let orders = month_of_orders();
    let expected = reference(&orders);
    let m = mall(orders, "2026-12-01T23:30:00+09:00").await;
    m.fake.set_today(day("2026-12-01"));
    m.shops
        .sync_store(m.org, m.store.id, &m.settings, None, &mut |_| {})
        .await
        .unwrap();
    assert_ne!(synced(&m.shops, m.store.id).await, expected);
    m.fake.set_today(day("2026-12-31"));
    m.clock.set_millis(
        chrono::DateTime::parse_from_rfc3339("2026-12-31T23:30:00+09:00")
            .unwrap()
            .timestamp_millis(),
    );
    m.shops
        .sync_store(m.org, m.store.id, &m.settings, None, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(synced(&m.shops, m.store.id).await, expected);
}

#[tokio::test]
async fn a_catalog_refused_for_missing_scopes_is_noted_and_the_orders_still_sync() {
    let orders = month_of_orders();
    let expected = reference(&orders);
    let m = mall(orders, "2026-12-31T23:30:00+09:00").await;
    {
        let mut state = m.fake.state.lock().unwrap();
        state.denied_scopes.insert("mall.read_promotion".into());
        state.denied_scopes.insert("mall.read_store".into());
        state.denied_scopes.insert("mall.read_category".into());
    }
    let summary = m
        .shops
        .sync_store(m.org, m.store.id, &m.settings, None, &mut |_| {})
        .await
        .unwrap();
    let codes: Vec<&str> = summary.notes.iter().map(|n| n.detail.as_str()).collect();
    assert!(codes.contains(&"mall.read_promotion: coupons"), "{codes:?}");
    assert!(
        codes.contains(&"mall.read_category: categories"),
        "{codes:?}"
    );
    assert!(codes.contains(&"mall.read_store: shops"), "{codes:?}");
    // Without the shop list only the default shop is read: shop 2's orders are missing, and
    // the note says why.
    let actual = synced(&m.shops, m.store.id).await;
    let shop_one: i64 = actual.values().map(|(o, _)| o).sum();
    assert!(shop_one > 0 && shop_one < expected.values().map(|(o, _)| o).sum::<i64>());
    let runs = m.shops.runs(m.org, m.store.id, 1).await.unwrap();
    assert_eq!(runs[0].state, "succeeded");
    assert_eq!(
        runs[0].notes, summary.notes,
        "the run history keeps the notes"
    );
    // Granted again, the next sync reads both shops.
    m.fake.state.lock().unwrap().denied_scopes.clear();
    m.shops
        .sync_store(m.org, m.store.id, &m.settings, None, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(synced(&m.shops, m.store.id).await, expected);
}

#[tokio::test]
async fn the_call_limit_is_waited_out_then_a_run_stops_and_the_next_resumes() {
    let orders = month_of_orders();
    let expected = reference(&orders);
    let m = mall(orders, "2026-12-31T23:30:00+09:00").await;
    m.fake.state.lock().unwrap().throttle_next = 2;
    let summary = m
        .shops
        .sync_store(m.org, m.store.id, &m.settings, None, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(summary.calls.throttled, 2);
    assert!(
        summary.calls.waited_ms >= 2_000,
        "X-Cafe24-Call-Remain was waited out"
    );
    assert_eq!(synced(&m.shops, m.store.id).await, expected);
    let cursor = m.shops.orders_cursor(m.store.id).await.unwrap();
    m.fake.state.lock().unwrap().throttle_next = 1_000;
    let error = m
        .shops
        .sync_store(m.org, m.store.id, &m.settings, None, &mut |_| {})
        .await
        .unwrap_err();
    assert!(error.to_string().contains("429"), "{error}");
    assert!(error.to_string().contains("resumes"), "{error}");
    assert_eq!(m.shops.orders_cursor(m.store.id).await.unwrap(), cursor);
    m.fake.state.lock().unwrap().throttle_next = 0;
    m.shops
        .sync_store(m.org, m.store.id, &m.settings, None, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(synced(&m.shops, m.store.id).await, expected);
}

#[tokio::test]
async fn one_sync_per_store_at_a_time() {
    let m = mall(Vec::new(), "2026-12-31T23:30:00+09:00").await;
    let now = adpool_core::Clock::now_millis(m.clock.as_ref());
    let until = now + 60_000;
    assert!(m.shops.hold_store(m.store.id, until).await.unwrap());
    assert!(!m.shops.hold_store(m.store.id, until).await.unwrap());
    let error = m
        .shops
        .sync_store(m.org, m.store.id, &m.settings, None, &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(error, CommerceError::Conflict(_)), "{error}");
    m.shops.release_store(m.store.id).await.unwrap();
    m.shops
        .sync_store(m.org, m.store.id, &m.settings, None, &mut |_| {})
        .await
        .unwrap();
    // A hold a crashed sync left behind expires.
    assert!(m.shops.hold_store(m.store.id, now - 1).await.unwrap());
    assert!(m.shops.hold_store(m.store.id, until).await.unwrap());
}

#[tokio::test]
async fn a_refused_refresh_token_is_read_from_the_oauth_error_body() {
    let m = mall(Vec::new(), "2026-12-31T23:30:00+09:00").await;
    {
        let mut state = m.fake.state.lock().unwrap();
        state.refresh_tokens.clear();
        state.expire_access_tokens();
    }
    let error = m
        .shops
        .sync_store(m.org, m.store.id, &m.settings, None, &mut |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("invalid or expired"), "{error}");
    assert!(error.contains("connect the store again"), "{error}");
    let mut wrong = m.settings.clone();
    wrong.cafe24.client_secret = "not-it".into();
    m.fake.state.lock().unwrap().expire_access_tokens();
    let error = m
        .shops
        .sync_store(m.org, m.store.id, &wrong, None, &mut |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("client id or secret"), "{error}");
}
