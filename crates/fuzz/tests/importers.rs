//! Fuzz targets for the files people upload: forecast CSV and XLSX (imported whole into a
//! real database, on SQLite, and on PostgreSQL when ADPOOL_TEST_DATABASE_URL is set), catalog
//! JSON (checked and applied), card statements in every encoding and workbook format, and Ably
//! order exports. Each must answer any input with a result or a clear error, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up fails loudly by design

use std::sync::Arc;

use adpool_core::{ManualClock, OrgId};
use adpool_fuzz::Fuzzer;
use adpool_inventory::{CatalogDocument, Inventory, InventoryError};
use adpool_store::sqlx::{self, Row};
use adpool_store::testing::fresh_database;

const FORECAST: &str = "media,meta_id,part,date,hour,impressions\n\
WAVVE,KBS-1N2D,SMART_TV,2026-12-01,20,500\n\
WAVVE,KBS-1N2D,MOBILE,2026-12-01,21,1200\n\
WAVVE,CH-KBS2,PC,2026-12-02,0,70\n";

const CATALOG: &str = r#"{
  "content_owners": [{ "code": "KBS", "name": "한국방송공사" }],
  "media": [{ "code": "WAVVE", "name": "웨이브" }],
  "meta_ids": [
    { "media": "WAVVE", "code": "CH-KBS2", "name": "KBS2", "content_owner": "KBS", "kind": "channel" },
    { "media": "WAVVE", "code": "KBS-1N2D", "name": "1박 2일", "content_owner": "KBS", "kind": "program" }
  ],
  "part_platforms": { "SMART_TV": "CTV" },
  "products": [{ "code": "PRG-PRE", "name": "프로그램 프리롤", "type": "program", "ad_type": "pre-roll",
                 "cpm": { "PC": 9000, "MOBILE": 8000 }, "ctr_bp": 80, "vtr_bp": 7500 }],
  "targeting_groups": [{ "code": "G1", "name": "예능", "weight_bp": 4000, "members": ["WAVVE/KBS-1N2D"] }]
}"#;

const STATEMENT: &str = "롯데카드 이용대금 명세서\n회원명: 홍길동\n\
이용일자,이용가맹점,업종,이용금액,할부개월,취소여부\n\
2026.10.02,스타벅스 강남R점,커피전문점,\"5,600원\",일시불,N\n\
2026.10.03,쿠팡,통신판매,\"129,000\",3개월,N\n\
2026.10.05,GS25 역삼점,편의점,\"3,200\",,Y\n\
2026.11.04,배달의민족,음식배달,\"23,500\",,N\n\
합계,,,\"161,300\",,\n";

const ABLY: &str = "주문번호,상품주문번호,주문일시,상품코드,상품명,수량,결제금액,주문상태,카테고리\n\
A-1001,A-1001-1,2026-11-20 14:05,P-1,니트 가디건,1,\"39,000\",결제완료,아우터\n\
A-1001,A-1001-2,2026-11-20 14:05,P-2,울 머플러,2,\"24,000원\",배송중,잡화\n\
A-1002,A-1002-1,2026-11-21 09:30:15,P-1,니트 가디건,1,39000,취소,아우터\n";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A workbook of `rows` (the first is the header) on its first sheet.
fn workbook(rows: &[Vec<&str>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, cells) in rows.iter().enumerate() {
        for (c, cell) in cells.iter().enumerate() {
            match cell.parse::<f64>() {
                Ok(number) if r > 0 => sheet.write_number(r as u32, c as u16, number),
                _ => sheet.write_string(r as u32, c as u16, *cell),
            }
            .unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

fn csv_rows(text: &str) -> Vec<Vec<&str>> {
    text.lines().map(|l| l.split(',').collect()).collect()
}

/// Inventory over a fresh database with one organization.
async fn inventory_of_new_org(name: &str) -> (Inventory, OrgId) {
    let db = fresh_database().await;
    let row =
        sqlx::query("INSERT INTO organizations (name, created_at) VALUES ($1, 0) RETURNING id")
            .bind(name)
            .fetch_one(db.pool())
            .await
            .unwrap();
    let clock = Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00"));
    (Inventory::new(db, clock), OrgId(row.get(0)))
}

struct InventoryUnderTest {
    runtime: tokio::runtime::Runtime,
    inventory: Inventory,
    org: OrgId,
    dir: tempfile::TempDir,
}

fn inventory_under_test() -> InventoryUnderTest {
    let runtime = runtime();
    let (inventory, org) = runtime.block_on(async {
        let (inventory, org) = inventory_of_new_org("Fuzz Media Rep").await;
        let catalog: CatalogDocument = serde_json::from_str(CATALOG).unwrap();
        inventory.apply_catalog(org, &catalog).await.unwrap();
        (inventory, org)
    });
    InventoryUnderTest {
        runtime,
        inventory,
        org,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl InventoryUnderTest {
    /// Imports `bytes` as the file `name`; any answer is fine except a database failure, which
    /// would mean the input reached SQL unchecked.
    fn import(&self, name: &str, bytes: &[u8]) {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let result = self.runtime.block_on(self.inventory.import_forecast_file(
            self.org,
            &path,
            &mut |_| {},
        ));
        if let Err(InventoryError::Store(error)) = result {
            panic!("the database refused an import the importer let through: {error}");
        }
    }
}

const FORECAST_WORDS: &[&str] = &[
    "media",
    "meta_id",
    "part",
    "date",
    "hour",
    "impressions",
    "WAVVE",
    "KBS-1N2D",
    "CH-KBS2",
    "SMART_TV",
    "MOBILE",
    "PC",
    "2026-12-31",
    "23",
    "24",
];

#[test]
fn forecast_csv() {
    let under_test = inventory_under_test();
    let summary = Fuzzer::new("forecast_csv", vec![FORECAST.as_bytes().to_vec()])
        .dictionary(FORECAST_WORDS)
        .run(|bytes| under_test.import("forecast.csv", bytes));
    assert!(summary.cases > 0);
}

#[test]
fn forecast_xlsx() {
    let under_test = inventory_under_test();
    let summary = Fuzzer::new("forecast_xlsx", vec![workbook(&csv_rows(FORECAST))])
        .dictionary(FORECAST_WORDS)
        .zip_aware()
        .run(|bytes| under_test.import("forecast.xlsx", bytes));
    assert!(summary.cases > 0);
}

#[test]
fn catalog_json() {
    let runtime = runtime();
    let (inventory, org) = runtime.block_on(inventory_of_new_org("Fuzz Catalog"));
    let summary = Fuzzer::new("catalog_json", vec![CATALOG.as_bytes().to_vec()])
        .dictionary(&[
            "\"code\"",
            "\"members\"",
            "\"weight_bp\"",
            "\"cpm\"",
            "\"kind\"",
            "\"program\"",
            "\"ron\"",
            "\"WAVVE/KBS-1N2D\"",
            "\"/\"",
            "10000",
            "10001",
        ])
        .run(|bytes| {
            let Ok(document) = serde_json::from_slice::<CatalogDocument>(bytes) else {
                return;
            };
            let result = runtime.block_on(inventory.apply_catalog(org, &document));
            if let Err(InventoryError::Store(error)) = result {
                panic!("the database refused a catalog the checks let through: {error}");
            }
        });
    assert!(summary.cases > 0);
}

#[test]
fn card_statement() {
    let (cp949, _, _) = encoding_rs::EUC_KR.encode(STATEMENT);
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in STATEMENT.replace(',', "\t").encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    let seeds = vec![
        STATEMENT.as_bytes().to_vec(),
        cp949.into_owned(),
        utf16,
        workbook(&csv_rows(STATEMENT)),
    ];
    let names = [
        "statement.csv",
        "statement.txt",
        "statement.xlsx",
        "statement.xls",
    ];
    let mut which = 0usize;
    let summary = Fuzzer::new("card_statement", seeds)
        .dictionary(&[
            "이용일자",
            "이용가맹점",
            "업종",
            "이용금액",
            "할부개월",
            "취소여부",
            "승인일자",
            "가맹점명",
            "합계",
            "일시불",
            "3개월",
            "Y",
            "N",
            "2026.02.30",
            "2026/10/02",
        ])
        .zip_aware()
        .run(|bytes| {
            which = (which + 1) % names.len();
            // The name decides the reader only when the bytes do not (a zip is XLSX whatever
            // it is called), so every name meets every kind of content.
            let Ok(grid) = adpool_tables::read_grid(names[which], bytes) else {
                return;
            };
            let _ = adpool_insight::statement::read_statement(
                names[which],
                grid.encoding,
                &grid.rows,
                None,
            );
        });
    assert!(summary.cases > 0);
}

#[test]
fn ably_export() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = vec![ABLY.as_bytes().to_vec(), workbook(&csv_rows(ABLY))];
    let summary = Fuzzer::new("ably_export", seeds)
        .dictionary(&[
            "주문번호",
            "주문일시",
            "상품코드",
            "상품명",
            "수량",
            "결제금액",
            "주문상태",
            "결제완료",
            "배송완료",
            "구매확정",
            "반품",
            "취소",
            "2026-11-20 14:05",
        ])
        .zip_aware()
        .run(|bytes| {
            let name = if bytes.starts_with(b"PK") {
                "orders.xlsx"
            } else {
                "orders.csv"
            };
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            if let Ok(export) = adpool_commerce::ably::read_export(&path) {
                for order in &export.orders {
                    assert!(
                        order.total >= 0,
                        "order {} totals {}",
                        order.order_id,
                        order.total
                    );
                }
            }
        });
    assert!(summary.cases > 0);
}
