//! Commerce contract: stores with sealed credentials, Ably exports imported all or nothing and
//! idempotently, run history, and the sales dashboard against hand-computed figures. Runs on
//! SQLite, and on PostgreSQL when ADPOOL_TEST_DATABASE_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use std::sync::Arc;

use adpool_commerce::sales::{Period, dashboard, series_csv};
use adpool_commerce::{CommerceError, NewStore, Platform, Shops, Vault};
use adpool_core::{BusinessDate, ManualClock, OrgId, SharedClock};
use adpool_store::testing::fresh_database;
use serde_json::json;

async fn organization(db: &adpool_store::Db, name: &str) -> OrgId {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, created_at) VALUES ($1, 0) RETURNING id",
    )
    .bind(name)
    .fetch_one(db.pool())
    .await
    .unwrap();
    OrgId(id)
}

async fn shops() -> (Shops, OrgId, tempfile::TempDir) {
    let db = fresh_database().await;
    let org = organization(&db, "Shop owner").await;
    let clock: SharedClock = Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00"));
    (
        Shops::new(db, clock, Vault::new([3; 32])),
        org,
        tempfile::tempdir().unwrap(),
    )
}

fn api_store(platform: Platform, mall_id: &str, credentials: serde_json::Value) -> NewStore {
    NewStore {
        platform,
        name: format!("봄날 {}", platform.label()),
        mall_id: mall_id.into(),
        credentials: Some(credentials),
    }
}

fn ably_store() -> NewStore {
    NewStore {
        platform: Platform::Ably,
        name: "봄날 옷가게 (에이블리)".into(),
        mall_id: "spring-ably".into(),
        credentials: None,
    }
}

const EXPORT: &str =
    "\u{feff}주문번호,상품주문번호,주문일시,상품코드,상품명,수량,결제금액,주문상태,카테고리
A-1001,1,2026-10-30 10:00:00,P-1,린넨 셔츠,1,\"39,000원\",구매확정,상의
A-1002,1,2026-11-02 21:15,P-2,와이드 슬랙스,2,\"98,000\",배송완료,하의
A-1002,2,2026-11-02 21:15,P-1,린넨 셔츠,1,39000,취소,상의
A-1003,1,2026.11.20 08:30,P-3,니트 조끼,1,\"25,000원\",결제완료,상의
A-1004,1,2026-11-21 00:10:00,P-2,와이드 슬랙스,1,\"49,000원\",주문취소,하의
,,,,합계,,\"250,000원\",,
";

#[tokio::test]
async fn stores_keep_credentials_sealed_and_to_their_organization() {
    let (shops, org, _dir) = shops().await;
    let other = organization(shops.db(), "Someone else").await;
    let missing = shops
        .create_store(
            org,
            api_store(
                Platform::Cafe24,
                "springmall",
                json!({ "client_id": "abc" }),
            ),
            None,
        )
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("client_secret"), "{missing}");
    let cafe24 = shops
        .create_store(
            org,
            api_store(
                Platform::Cafe24,
                "springmall",
                json!({ "client_id": "abc", "client_secret": "top-secret-42" }),
            ),
            None,
        )
        .await
        .unwrap();
    assert!(cafe24.has_credentials);
    let stored: String = sqlx::query_scalar("SELECT credentials FROM shop_stores WHERE id = $1")
        .bind(cafe24.id)
        .fetch_one(shops.db().pool())
        .await
        .unwrap();
    assert!(!stored.contains("top-secret-42"), "sealed at rest");
    assert_eq!(
        shops.credentials(&cafe24).await.unwrap().unwrap()["client_secret"],
        "top-secret-42"
    );
    assert!(!format!("{cafe24:?}").contains("top-secret"));
    // A server with another key cannot open them, and says so.
    let stranger = Shops::new(
        shops.db().clone(),
        Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00")),
        Vault::new([4; 32]),
    );
    assert!(matches!(
        stranger.credentials(&cafe24).await,
        Err(CommerceError::Vault(_))
    ));
    let again = shops
        .create_store(
            org,
            api_store(
                Platform::Cafe24,
                "springmall",
                json!({ "client_id": "abc", "client_secret": "x" }),
            ),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(again, CommerceError::Conflict(_)), "{again}");
    assert!(matches!(
        shops.store(other, cafe24.id).await,
        Err(CommerceError::NotFound(_))
    ));
    assert_eq!(shops.stores(org).await.unwrap().len(), 1);
    assert!(shops.stores(other).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_ably_export_imports_once_and_a_bad_one_changes_nothing() {
    let (shops, org, dir) = shops().await;
    let store = shops.create_store(org, ably_store(), None).await.unwrap();
    let path = dir.path().join("ably-orders.csv");
    std::fs::write(&path, EXPORT).unwrap();
    let first = shops
        .import_ably(org, store.id, &path, "ably-orders.csv", false)
        .await
        .unwrap();
    assert_eq!((first.fetched, first.inserted, first.updated), (4, 4, 0));
    // The same file again (an overlapping export) updates, never duplicates.
    let second = shops
        .import_ably(org, store.id, &path, "ably-orders.csv", false)
        .await
        .unwrap();
    assert_eq!((second.inserted, second.updated), (0, 4));
    let orders: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT order_id, status, total FROM shop_orders WHERE store_id = $1 ORDER BY order_id",
    )
    .bind(store.id)
    .fetch_all(shops.db().pool())
    .await
    .unwrap();
    assert_eq!(
        orders,
        vec![
            ("A-1001".into(), "confirmed".into(), 39_000),
            ("A-1002".into(), "delivered".into(), 98_000),
            ("A-1003".into(), "paid".into(), 25_000),
            ("A-1004".into(), "cancelled".into(), 0),
        ]
    );
    let items: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM shop_order_items WHERE store_id = $1")
            .bind(store.id)
            .fetch_one(shops.db().pool())
            .await
            .unwrap();
    assert_eq!(
        items, 5,
        "every line is kept: the cancelled line of A-1002 with its status, not in the total"
    );

    // A broken export: every bad row is named, nothing is written, the run says why.
    let bad = dir.path().join("broken.csv");
    std::fs::write(
        &bad,
        "주문번호,주문일시,상품코드,상품명,수량,결제금액,주문상태\nB-1,2026-11-21 10:00,P-9,모자,1,\"10,000원\",결제완료\nB-2,어제,P-9,모자,0,10000,결제완료\nB-3,2026-11-21 11:00,P-9,모자,1,\"10,00\",보류\n",
    )
    .unwrap();
    let error = shops
        .import_ably(org, store.id, &bad, "broken.csv", false)
        .await
        .unwrap_err();
    let CommerceError::Rows { errors, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors[0].starts_with("row 3, column 주문일시, value '어제'"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("row 3, column 수량, value '0'"),
        "{errors:?}"
    );
    assert!(
        errors[2].starts_with("row 4, column 결제금액, value '10,00'"),
        "{errors:?}"
    );
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM shop_orders WHERE store_id = $1")
        .bind(store.id)
        .fetch_one(shops.db().pool())
        .await
        .unwrap();
    assert_eq!(count, 4, "B-1 was valid but the file is all or nothing");
    let runs = shops.runs(org, store.id, 10).await.unwrap();
    assert_eq!(
        runs.iter().map(|r| r.state.as_str()).collect::<Vec<_>>(),
        vec!["failed", "succeeded", "succeeded"]
    );
    assert!(
        runs[0]
            .error
            .as_deref()
            .unwrap()
            .contains("3 invalid row(s)")
    );
    assert_eq!(runs[0].detail, "broken.csv");
    // Not an Ably export at all, and not an Ably store.
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "date,amount\n2026-11-21,1000\n").unwrap();
    let error = shops
        .import_ably(org, store.id, &other, "other.csv", false)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("Ably order export"), "{error}");
    let naver = shops
        .create_store(
            org,
            api_store(
                Platform::Naver,
                "spring-naver",
                json!({ "client_id": "a", "client_secret": "b" }),
            ),
            None,
        )
        .await
        .unwrap();
    assert!(
        shops
            .import_ably(org, naver.id, &path, "x.csv", false)
            .await
            .unwrap_err()
            .to_string()
            .contains("only Ably stores")
    );
}

#[tokio::test]
async fn the_same_export_as_xlsx_imports_the_same_orders() {
    let (shops, org, dir) = shops().await;
    let store = shops.create_store(org, ably_store(), None).await.unwrap();
    let csv_path = dir.path().join("orders.csv");
    std::fs::write(&csv_path, EXPORT).unwrap();
    let xlsx_path = dir.path().join("orders.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(EXPORT.trim_start_matches('\u{feff}').as_bytes());
    for (r, record) in reader.records().enumerate() {
        for (c, value) in record.unwrap().iter().enumerate() {
            sheet
                .write_string(u32::try_from(r).unwrap(), u16::try_from(c).unwrap(), value)
                .unwrap();
        }
    }
    book.save(&xlsx_path).unwrap();
    let from_csv = adpool_commerce::ably::read_export(&csv_path).unwrap();
    let mut from_xlsx = adpool_commerce::ably::read_export(&xlsx_path).unwrap();
    assert_eq!(from_xlsx.encoding, "XLSX");
    from_xlsx.encoding = from_csv.encoding;
    assert_eq!(from_csv, from_xlsx);
    let counts = shops
        .import_ably(org, store.id, &xlsx_path, "orders.xlsx", false)
        .await
        .unwrap();
    assert_eq!(counts.inserted, 4);
}

#[tokio::test]
async fn the_dashboard_adds_up_by_period_platform_product_and_category() {
    let (shops, org, dir) = shops().await;
    let store = shops.create_store(org, ably_store(), None).await.unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, EXPORT).unwrap();
    shops
        .import_ably(org, store.id, &path, "orders.csv", false)
        .await
        .unwrap();
    let anchor: BusinessDate = "2026-11-30".parse().unwrap();
    let month = dashboard(shops.db(), org, None, Period::Month, anchor, 3)
        .await
        .unwrap();
    // November: A-1002 (98,000) and A-1003 (25,000); A-1004 is cancelled. October: A-1001.
    assert_eq!((month.current.revenue, month.current.orders), (123_000, 2));
    assert_eq!(month.current.average_order_value(), 61_500);
    assert_eq!((month.previous.revenue, month.previous.orders), (39_000, 1));
    assert_eq!(month.revenue_change, Some(215.4));
    assert_eq!(month.orders_change, Some(100.0));
    assert_eq!(
        month
            .series
            .iter()
            .map(|r| r.label.as_str())
            .collect::<Vec<_>>(),
        vec!["2026-09", "2026-10", "2026-11"]
    );
    assert_eq!(month.series[2].by_platform["ably"].revenue, 123_000);
    assert_eq!(
        month
            .top_products
            .iter()
            .map(|p| (p.product_id.as_str(), p.quantity, p.revenue))
            .collect::<Vec<_>>(),
        vec![("P-2", 2, 98_000), ("P-3", 1, 25_000)]
    );
    assert_eq!(
        month.by_category,
        vec![("하의".to_owned(), 98_000), ("상의".to_owned(), 25_000)]
    );
    let csv = series_csv(&month.series);
    assert!(
        csv.contains("\n2026-11,2026-11-01,2,123000,61500,0,0,123000\n"),
        "{csv}"
    );
    // Month to date: November 1-21 against October 1-21, which does not hold A-1001 (10-30).
    let to_date = dashboard(
        shops.db(),
        org,
        None,
        Period::Month,
        "2026-11-21".parse().unwrap(),
        3,
    )
    .await
    .unwrap();
    assert_eq!(
        (to_date.current.revenue, to_date.previous.revenue),
        (123_000, 0)
    );
    assert_eq!(
        to_date.series[1].totals.revenue, 39_000,
        "the chart keeps whole periods"
    );
    // Weeks: 2026-11-16..21 holds A-1003 only; the week before has nothing.
    let week = dashboard(
        shops.db(),
        org,
        Some(store.id),
        Period::Week,
        "2026-11-21".parse().unwrap(),
        2,
    )
    .await
    .unwrap();
    assert_eq!((week.current.revenue, week.previous.revenue), (25_000, 0));
    assert_eq!(week.revenue_change, None);
    // Another organization sees nothing.
    let other = organization(shops.db(), "Other").await;
    let empty = dashboard(shops.db(), other, None, Period::Year, anchor, 2)
        .await
        .unwrap();
    assert_eq!(empty.current.orders, 0);
}

/// M2 (docs/hardening.md): a Cafe24 mall id becomes the API host, so only `[a-z0-9-]{1,50}`
/// is accepted; a store saved with another one before the rule cannot be connected or synced.
#[tokio::test]
async fn a_cafe24_mall_id_is_a_host_label_and_nothing_else() {
    let (shops, org, _dir) = shops().await;
    let credentials = json!({ "client_id": "cid", "client_secret": "secret" });
    for bad in [
        "127.0.0.1:18199/x",
        "evil.example",
        "mall@evil.example",
        "mall/../x",
        "mall#x",
        "mall?x=1",
        "몰아이디",
        &"a".repeat(51),
    ] {
        let error = shops
            .create_store(
                org,
                api_store(Platform::Cafe24, bad, credentials.clone()),
                None,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                &error,
                CommerceError::Invalid {
                    field: "mall_id",
                    ..
                }
            ),
            "{bad}: {error:?}"
        );
    }
    assert!(shops.stores(org).await.unwrap().is_empty(), "nothing saved");
    // Upper case is the same mall, stored as Cafe24 writes it.
    let store = shops
        .create_store(
            org,
            api_store(Platform::Cafe24, " SpringMall-2 ", credentials.clone()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(store.mall_id, "springmall-2");

    // A bad id already in the database (saved before the rule) is refused at consent time.
    sqlx::query("UPDATE shop_stores SET mall_id = '127.0.0.1:18199/x' WHERE id = $1")
        .bind(store.id)
        .execute(shops.db().pool())
        .await
        .unwrap();
    let settings = adpool_commerce::cafe24::Cafe24Settings {
        base_url: "https://{mall_id}.cafe24api.com".into(),
        ..Default::default()
    };
    let error = shops
        .cafe24_authorize_url(
            org,
            store.id,
            adpool_core::UserId(1),
            "https://adpool.example/shops/cafe24/callback",
            &settings,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            CommerceError::Invalid {
                field: "mall_id",
                ..
            }
        ),
        "{error:?}"
    );
}

/// An export as sellers download it: CP949 text, two title rows above the header, a header
/// cell with a line break and a unit, a totals row at the end.
#[tokio::test]
async fn a_cp949_export_with_title_rows_imports_and_keeps_the_order_time() {
    let (shops, org, dir) = shops().await;
    let store = shops.create_store(org, ably_store(), None).await.unwrap();
    let text = "에이블리 판매자센터 주문 내역\n조회기간: 2026-11-01 ~ 2026-11-30\n\
주문번호,주문일시,상품코드,상품명,수량,\"결제금액\n(원)\",판매금액,주문상태\n\
B-1,2026/11/20 14:05,P-1,린넨 셔츠,1,\"35,100\",\"39,000\",구매확정\n\
B-2,2026.11.21 09:30:15,P-2,니트 조끼,2,\"50,000\",\"50,000\",배송완료\n\
합계,,,,3,\"85,100\",\"89,000\",\n";
    let (bytes, _, _) = encoding_rs::EUC_KR.encode(text);
    let path = dir.path().join("ably-cp949.csv");
    std::fs::write(&path, &bytes).unwrap();
    let export = adpool_commerce::ably::read_export(&path).unwrap();
    assert_eq!(export.encoding, "CP949");
    assert_eq!(export.orders.len(), 2);
    assert_eq!(
        export.orders[0].total, 35_100,
        "the line amount is 결제금액, what the buyer paid, not 판매금액"
    );
    assert_eq!(
        adpool_core::format_kst_datetime(export.orders[0].ordered_at),
        "2026-11-20 14:05 KST",
        "the order time is kept"
    );
    let counts = shops
        .import_ably(org, store.id, &path, "ably-cp949.csv", false)
        .await
        .unwrap();
    assert_eq!((counts.fetched, counts.inserted), (2, 2));
}

#[tokio::test]
async fn unknown_status_words_import_nothing_until_confirmed_then_stay_out_of_sales() {
    let (shops, org, dir) = shops().await;
    let store = shops.create_store(org, ably_store(), None).await.unwrap();
    let path = dir.path().join("held.csv");
    std::fs::write(
        &path,
        "주문번호,주문일시,상품코드,상품명,수량,결제금액,주문상태\n\
C-1,2026-11-20 10:00,P-1,모자,1,10000,구매확정\n\
C-2,2026-11-20 11:00,P-1,모자,1,10000,보류\n\
C-3,2026-11-20 12:00,P-1,모자,2,20000,보류\n\
C-4,2026-11-20 13:00,P-1,모자,1,10000,배송지연\n",
    )
    .unwrap();
    let error = shops
        .import_ably(org, store.id, &path, "held.csv", false)
        .await
        .unwrap_err();
    let CommerceError::UnknownStatuses { statuses, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!(
        statuses,
        &vec![("배송지연".to_owned(), 1), ("보류".to_owned(), 2)]
    );
    assert!(
        error.to_string().contains("nothing was imported"),
        "{error}"
    );
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM shop_orders WHERE store_id = $1")
        .bind(store.id)
        .fetch_one(shops.db().pool())
        .await
        .unwrap();
    assert_eq!(count, 0, "never silently");
    let runs = shops.runs(org, store.id, 1).await.unwrap();
    assert_eq!(runs[0].state, "failed");
    // Confirmed: the rest imports; the unknown lines are kept with their word, not as sales.
    let counts = shops
        .import_ably(org, store.id, &path, "held.csv", true)
        .await
        .unwrap();
    assert_eq!(counts.inserted, 4);
    let statuses = shops.line_statuses(org, store.id).await.unwrap();
    let unknown: Vec<(String, i64)> = statuses
        .iter()
        .filter(|s| s.status == adpool_commerce::OrderStatus::Unknown)
        .map(|s| (s.code.clone(), s.lines))
        .collect();
    assert_eq!(unknown, vec![("배송지연".into(), 1), ("보류".into(), 2)]);
    let sales: i64 = sqlx::query_scalar(
        "SELECT CAST(SUM(total) AS BIGINT) FROM shop_orders WHERE store_id = $1 AND status = 'confirmed'",
    )
    .bind(store.id)
    .fetch_one(shops.db().pool())
    .await
    .unwrap();
    assert_eq!(sales, 10_000);
}
