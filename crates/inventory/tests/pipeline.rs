//! Inventory contract: forecast import -> standard -> unit, on SQLite, and on PostgreSQL when
//! ADPOOL_TEST_DATABASE_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use adpool_core::{ManualClock, OrgId};
use adpool_inventory::{ExportLevel, Inventory, InventoryError, Month, write_csv};
use adpool_store::testing::fresh_database;
use sqlx::Row;

struct Setup {
    inventory: Inventory,
    org: OrgId,
    other_org: OrgId,
    dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let db = fresh_database().await;
    let mut ids = Vec::new();
    for name in ["Media Rep A", "Media Rep B"] {
        let row =
            sqlx::query("INSERT INTO organizations (name, created_at) VALUES ($1, 0) RETURNING id")
                .bind(name)
                .fetch_one(db.pool())
                .await
                .unwrap();
        ids.push(OrgId(row.get(0)));
    }
    let clock = Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00"));
    Setup {
        inventory: Inventory::new(db, clock),
        org: ids[0],
        other_org: ids[1],
        dir: tempfile::tempdir().unwrap(),
    }
}

const HEADER: &str = "media,meta_id,part,date,hour,impressions";

impl Setup {
    fn csv(&self, name: &str, rows: &[String]) -> PathBuf {
        let path = self.dir.path().join(name);
        let mut text = String::from(HEADER);
        for row in rows {
            text.push('\n');
            text.push_str(row);
        }
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        path
    }

    async fn import(&self, path: &Path) -> Result<adpool_inventory::ImportSummary, InventoryError> {
        self.inventory
            .import_forecast_file(self.org, path, &mut |_| {})
            .await
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(self.inventory.db().pool())
            .await
            .unwrap()
            .get(0)
    }

    async fn build_all(&self, month: &str) {
        let month: Month = month.parse().unwrap();
        self.inventory
            .build_standard(self.org, month, "test", &mut |_| {})
            .await
            .unwrap();
        self.inventory
            .confirm_month(self.org, month, None)
            .await
            .unwrap();
        self.inventory
            .build_unit(self.org, month, "test", &mut |_| {})
            .await
            .unwrap();
    }
}

/// A realistic little forecast: 2 media, 3 meta_ids, several parts, over November and December,
/// with uneven hours and days (and one meta_id whose December forecast is all zero).
fn forecast_rows() -> Vec<String> {
    let mut rows = Vec::new();
    for (month, days) in [("2026-11", 30), ("2026-12", 31)] {
        for day in 1..=days {
            for (media, meta, part, base) in [
                ("KBS", "PRG-1001", "PC_VOD", 1000),
                ("KBS", "PRG-1001", "PC_LIVE", 300),
                ("KBS", "PRG-1001", "MOBILE_VOD", 2500),
                ("KBS", "PRG-1002", "APP_VOD", 777),
                ("SBS", "CH-77", "CTV", 450),
                ("SBS", "ZERO-1", "PC_VOD", 0),
            ] {
                for hour in [0, 9, 20] {
                    let bump = if month == "2026-12" { 11 } else { 10 };
                    let impressions = if base == 0 {
                        0
                    } else {
                        base * bump / 10 + day * 13 + hour * 7
                    };
                    rows.push(format!(
                        "{media},{meta},{part},{month}-{day:02},{hour},{impressions}"
                    ));
                }
            }
        }
    }
    rows
}

#[tokio::test]
async fn a_forecast_becomes_standard_then_unit_inventory() {
    let s = setup().await;
    let path = s.csv("forecast.csv", &forecast_rows());
    let summary = s.import(&path).await.unwrap();
    assert_eq!(summary.rows, (30 + 31) * 6 * 3);
    assert_eq!(summary.media, vec!["KBS", "SBS"]);
    assert_eq!(
        summary.months,
        vec!["KBS 2026-11", "KBS 2026-12", "SBS 2026-11", "SBS 2026-12"]
    );
    assert_eq!(summary.new_media, vec!["KBS", "SBS"]);
    assert_eq!(summary.new_meta_ids.len(), 4);

    let december: Month = "2026-12".parse().unwrap();
    let build = s
        .inventory
        .build_standard(s.org, december, "test", &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        (build.rows, build.created),
        (5, 5),
        "PC_VOD and PC_LIVE merge into PC"
    );
    let standard = s.inventory.standard_rows(s.org, december).await.unwrap();
    let pc = standard
        .iter()
        .find(|r| r.meta_id == "PRG-1001" && r.platform.as_str() == "PC")
        .unwrap();
    let expected_pc: i64 = (1..=31)
        .flat_map(|d| {
            [0, 9, 20]
                .map(move |h| (1000 * 11 / 10 + d * 13 + h * 7) + (300 * 11 / 10 + d * 13 + h * 7))
        })
        .sum();
    assert_eq!((pc.forecast_qty, pc.qty), (expected_pc, expected_pc));
    let november_pc: i64 = (1..=30)
        .flat_map(|d| [0, 9, 20].map(move |h| (1000 + d * 13 + h * 7) + (300 + d * 13 + h * 7)))
        .sum();
    let exact = ((expected_pc - november_pc) as f64 / november_pc as f64 * 1e6).round() as i64;
    assert_eq!(pc.change_rate_ppm, Some(exact));
    assert!(standard.iter().all(|r| r.month == december));

    // The unit build needs a confirmed month.
    let unconfirmed = s
        .inventory
        .build_unit(s.org, december, "test", &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&unconfirmed, InventoryError::Conflict(m) if m.contains("not confirmed")),
        "{unconfirmed}"
    );
    s.inventory
        .confirm_month(s.org, december, None)
        .await
        .unwrap();
    let unit = s
        .inventory
        .build_unit(s.org, december, "test", &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        (unit.standard_rows, unit.unit_rows, unit.oversold),
        (5, 5 * 31, 0)
    );

    // Unit totals equal standard qty for every row; each day within 1 of its exact share.
    let units = s.inventory.unit_rows(s.org, december).await.unwrap();
    let daily = daily_forecast(&s, "2026-12").await;
    for row in &standard {
        let days: Vec<_> = units
            .iter()
            .filter(|u| u.meta_id == row.meta_id && u.platform == row.platform)
            .collect();
        assert_eq!(days.len(), 31);
        assert_eq!(
            days.iter().map(|u| u.total).sum::<i64>(),
            row.qty,
            "{row:?}"
        );
        let weights: Vec<i64> = days
            .iter()
            .map(|u| {
                *daily
                    .get(&(
                        row.meta_id.clone(),
                        row.platform.as_str().to_owned(),
                        u.date.clone(),
                    ))
                    .unwrap_or(&0)
            })
            .collect();
        let weight_sum: i64 = weights.iter().sum();
        for (unit, weight) in days.iter().zip(&weights) {
            let scaled = if weight_sum == 0 {
                i128::from(unit.total) * 31 - i128::from(row.qty)
            } else {
                i128::from(unit.total) * i128::from(weight_sum)
                    - i128::from(row.qty) * i128::from(*weight)
            };
            let divisor = if weight_sum == 0 {
                31
            } else {
                i128::from(weight_sum)
            };
            assert!(
                scaled.abs() < divisor,
                "day {} of {:?} is more than 1 off its share",
                unit.date,
                row
            );
        }
    }
}

async fn daily_forecast(s: &Setup, month: &str) -> HashMap<(String, String, String), i64> {
    sqlx::query(
        "SELECT mi.code, p.platform, f.date, CAST(SUM(f.impressions) AS BIGINT) AS n FROM forecast_daily f
         JOIN meta_ids mi ON mi.id = f.meta_id JOIN part_platforms p ON p.org_id = f.org_id AND p.part = f.part
         WHERE f.month = $1 GROUP BY mi.code, p.platform, f.date",
    )
    .bind(month)
    .fetch_all(s.inventory.db().pool())
    .await
    .unwrap()
    .iter()
    .map(|r| ((r.get("code"), r.get("platform"), r.get("date")), r.get("n")))
    .collect()
}

#[tokio::test]
async fn an_all_zero_forecast_splits_evenly_and_corrections_are_audited() {
    let s = setup().await;
    s.import(&s.csv("f.csv", &forecast_rows())).await.unwrap();
    let december: Month = "2026-12".parse().unwrap();
    s.inventory
        .build_standard(s.org, december, "test", &mut |_| {})
        .await
        .unwrap();
    s.inventory
        .confirm_month(s.org, december, None)
        .await
        .unwrap();
    let zero = s
        .inventory
        .standard_rows(s.org, december)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.meta_id == "ZERO-1")
        .unwrap();
    assert_eq!(zero.qty, 0);
    let corrected = s
        .inventory
        .set_standard_qty(s.org, zero.id, 3100 + 5, None, "sell house ads")
        .await
        .unwrap();
    assert_eq!((corrected.qty, corrected.forecast_qty), (3105, 0));
    assert!(
        s.inventory
            .month_state(s.org, december)
            .await
            .unwrap()
            .confirmed_at
            .is_none(),
        "a correction needs re-confirmation"
    );
    let audit = sqlx::query("SELECT old_qty, new_qty, note FROM standard_audit")
        .fetch_one(s.inventory.db().pool())
        .await
        .unwrap();
    assert_eq!(
        (
            audit.get::<i64, _>("old_qty"),
            audit.get::<i64, _>("new_qty"),
            audit.get::<String, _>("note")
        ),
        (0, 3105, "sell house ads".to_owned())
    );
    assert!(matches!(
        s.inventory
            .set_standard_qty(s.org, zero.id, -1, None, "")
            .await,
        Err(InventoryError::Invalid { .. })
    ));

    s.inventory
        .confirm_month(s.org, december, None)
        .await
        .unwrap();
    s.inventory
        .build_unit(s.org, december, "test", &mut |_| {})
        .await
        .unwrap();
    let days: Vec<i64> = s
        .inventory
        .unit_rows(s.org, december)
        .await
        .unwrap()
        .into_iter()
        .filter(|u| u.meta_id == "ZERO-1")
        .map(|u| u.total)
        .collect();
    assert_eq!(days.len(), 31);
    assert_eq!(days.iter().sum::<i64>(), 3105);
    assert!(days.iter().all(|&d| d == 100 || d == 101), "{days:?}");

    // A hand-corrected quantity survives a standard rebuild.
    s.inventory
        .build_standard(s.org, december, "test", &mut |_| {})
        .await
        .unwrap();
    let again = s
        .inventory
        .standard_rows(s.org, december)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.meta_id == "ZERO-1")
        .unwrap();
    assert_eq!(again.qty, 3105);
}

#[tokio::test]
async fn rebuilds_are_idempotent() {
    let s = setup().await;
    s.import(&s.csv("f.csv", &forecast_rows())).await.unwrap();
    s.build_all("2026-12").await;
    let december: Month = "2026-12".parse().unwrap();
    let first = export(&s, ExportLevel::Unit, "2026-12").await;
    let standard_first = export(&s, ExportLevel::Standard, "2026-12").await;
    let again = s
        .inventory
        .build_standard(s.org, december, "test", &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        (
            again.created,
            again.updated,
            again.removed,
            again.unconfirmed
        ),
        (0, 0, 0, false),
        "nothing changed"
    );
    s.inventory
        .build_unit(s.org, december, "test", &mut |_| {})
        .await
        .unwrap();
    assert_eq!(export(&s, ExportLevel::Unit, "2026-12").await, first);
    assert_eq!(
        export(&s, ExportLevel::Standard, "2026-12").await,
        standard_first
    );
    // Re-importing the same file and rebuilding gives the same inventory too.
    s.import(&s.csv("f.csv", &forecast_rows())).await.unwrap();
    s.inventory
        .build_standard(s.org, december, "test", &mut |_| {})
        .await
        .unwrap();
    s.inventory
        .build_unit(s.org, december, "test", &mut |_| {})
        .await
        .unwrap();
    assert_eq!(export(&s, ExportLevel::Unit, "2026-12").await, first);
}

async fn export(s: &Setup, level: ExportLevel, month: &str) -> String {
    let mut out = Vec::new();
    write_csv(&s.inventory, s.org, level, month.parse().unwrap(), &mut out)
        .await
        .unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn a_total_below_reserved_is_oversold_and_keeps_the_sale() {
    let s = setup().await;
    s.import(&s.csv("f.csv", &forecast_rows())).await.unwrap();
    s.build_all("2026-12").await;
    let december: Month = "2026-12".parse().unwrap();
    // A purchase holds all of PRG-1002 on 12-24.
    let held =
        "date = '2026-12-24' AND meta_id = (SELECT id FROM meta_ids WHERE code = 'PRG-1002')";
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE unit_inventory SET reserved = total WHERE {held}"
    )))
    .execute(s.inventory.db().pool())
    .await
    .unwrap();
    let reserved: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT reserved FROM unit_inventory WHERE {held}"
    )))
    .fetch_one(s.inventory.db().pool())
    .await
    .unwrap()
    .get(0);
    // The schema itself refuses to reserve more than the total.
    let over = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE unit_inventory SET reserved = total + 1 WHERE {held}"
    )))
    .execute(s.inventory.db().pool())
    .await;
    assert!(over.is_err(), "reserved <= total is a constraint");
    // The vendor cuts the forecast: the rebuilt day falls below what is sold.
    let row = s
        .inventory
        .standard_rows(s.org, december)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.meta_id == "PRG-1002")
        .unwrap();
    s.inventory
        .set_standard_qty(s.org, row.id, 31_000, None, "vendor cut")
        .await
        .unwrap();
    s.inventory
        .confirm_month(s.org, december, None)
        .await
        .unwrap();
    let build = s
        .inventory
        .build_unit(s.org, december, "test", &mut |_| {})
        .await
        .unwrap();
    assert_eq!(build.oversold, 1);
    let days = s.inventory.unit_rows(s.org, december).await.unwrap();
    let day = days
        .iter()
        .find(|u| u.meta_id == "PRG-1002" && u.date == "2026-12-24")
        .unwrap();
    assert_eq!(day.reserved, reserved, "the sale is never dropped");
    assert_eq!(
        day.total, reserved,
        "the total never falls below what is reserved"
    );
    assert!(day.oversold() && day.available() == 0);
    // The rebuilt figures still sum to the corrected quantity.
    let planned: i64 = days
        .iter()
        .filter(|u| u.meta_id == "PRG-1002")
        .map(|u| u.total - u.shortfall)
        .sum();
    assert_eq!(planned, 31_000);
    assert!(
        day.total - day.shortfall < reserved,
        "the rebuilt figure of the day is below what is sold"
    );
    let csv = export(&s, ExportLevel::Unit, "2026-12").await;
    assert!(
        csv.contains(&format!(
            "KBS,PRG-1002,APP,2026-12-24,{reserved},{reserved},0"
        )),
        "{csv}"
    );
}

#[tokio::test]
async fn csv_and_xlsx_of_the_same_data_give_identical_inventory() {
    let rows = forecast_rows();
    let from_csv = setup().await;
    from_csv
        .import(&from_csv.csv("f.csv", &rows))
        .await
        .unwrap();
    from_csv.build_all("2026-12").await;

    let from_xlsx = setup().await;
    let path = from_xlsx.dir.path().join("f.xlsx");
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, name) in HEADER.split(',').enumerate() {
        sheet.write_string(0, col as u16, name).unwrap();
    }
    let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for (i, row) in rows.iter().enumerate() {
        let r = (i + 1) as u32;
        let cells: Vec<&str> = row.split(',').collect();
        sheet.write_string(r, 0, cells[0]).unwrap();
        sheet.write_string(r, 1, cells[1]).unwrap();
        sheet.write_string(r, 2, cells[2]).unwrap();
        // Real spreadsheets hold dates as date cells and numbers as numbers.
        let date = rust_xlsxwriter::ExcelDateTime::parse_from_str(cells[3]).unwrap();
        sheet
            .write_datetime_with_format(r, 3, &date, &date_format)
            .unwrap();
        sheet
            .write_number(r, 4, cells[4].parse::<f64>().unwrap())
            .unwrap();
        sheet
            .write_number(r, 5, cells[5].parse::<f64>().unwrap())
            .unwrap();
    }
    workbook.save(&path).unwrap();
    let summary = from_xlsx.import(&path).await.unwrap();
    assert_eq!(summary.rows, rows.len() as u64);
    from_xlsx.build_all("2026-12").await;

    for level in [ExportLevel::Standard, ExportLevel::Unit] {
        assert_eq!(
            export(&from_csv, level, "2026-12").await,
            export(&from_xlsx, level, "2026-12").await
        );
    }
}

#[tokio::test]
async fn reimporting_a_media_month_replaces_it() {
    let s = setup().await;
    s.import(&s.csv("f.csv", &forecast_rows())).await.unwrap();
    let replacement = vec!["KBS,PRG-1001,PC_VOD,2026-12-01,0,5000".to_owned()];
    let summary = s.import(&s.csv("kbs-dec.csv", &replacement)).await.unwrap();
    assert_eq!(summary.months, vec!["KBS 2026-12"]);
    assert!(summary.new_meta_ids.is_empty());
    let december: Month = "2026-12".parse().unwrap();
    s.inventory
        .build_standard(s.org, december, "test", &mut |_| {})
        .await
        .unwrap();
    let rows = s.inventory.standard_rows(s.org, december).await.unwrap();
    let kbs: Vec<_> = rows.iter().filter(|r| r.media == "KBS").collect();
    assert_eq!(
        kbs.len(),
        1,
        "KBS December is exactly the new file: {kbs:?}"
    );
    assert_eq!(kbs[0].forecast_qty, 5000);
    assert_eq!(
        rows.iter().filter(|r| r.media == "SBS").count(),
        2,
        "other media untouched"
    );
    let november: i64 = sqlx::query("SELECT COUNT(*) FROM forecast_daily WHERE month = '2026-11'")
        .fetch_one(s.inventory.db().pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(november, 30 * 6, "other months untouched");
}

#[tokio::test]
async fn every_bad_row_is_listed_and_nothing_changes() {
    let s = setup().await;
    s.import(&s.csv("good.csv", &forecast_rows()[..30]))
        .await
        .unwrap();
    let before = (
        s.count("forecast_daily").await,
        s.count("media").await,
        s.count("meta_ids").await,
    );
    let rows = vec![
        "MBC,NEW-1,PC_VOD,2026-12-01,0,10".to_owned(), // valid, but must not be registered
        "KBS,PRG-1001,RADIO,2026-12-01,0,10".to_owned(), // row 3: unknown part
        "KBS,PRG-1001,PC_VOD,2026-12-01,1,-5".to_owned(), // row 4: negative
        "KBS,PRG-1001,PC_VOD,2026-12-01,2,1.5".to_owned(), // row 5: non-integer
        "KBS,PRG-1001,PC_VOD,2026-12-32,3,10".to_owned(), // row 6: bad date
        "KBS,PRG-1001,PC_VOD,2026-12-01,24,10".to_owned(), // row 7: hour outside 0-23
        "KBS,PRG-1001,PC_VOD,2026-12-01,5,10".to_owned(), // row 8
        "KBS,PRG-1001,PC_VOD,2026-12-01,5,11".to_owned(), // row 9: duplicate of row 8
        "KBS,PRG-1001,PC_VOD,2026-12-01".to_owned(),   // row 10: missing columns
    ];
    let error = s.import(&s.csv("bad.csv", &rows)).await.unwrap_err();
    let InventoryError::Rows {
        file,
        errors,
        total,
    } = &error
    else {
        panic!("{error}")
    };
    assert_eq!(file, "bad.csv");
    assert_eq!(*total, 7);
    let listed: Vec<(u64, &str, &str)> = errors
        .iter()
        .map(|e| (e.row, e.column.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(listed[0].0, 3);
    assert_eq!(listed[0].1, "part");
    assert!(
        listed[0]
            .2
            .starts_with("unknown part (known: APP_VOD, CTV, MOBILE_LIVE"),
        "{}",
        listed[0].2
    );
    assert_eq!(
        (listed[1].0, listed[1].1, listed[1].2),
        (4, "impressions", "negative number")
    );
    assert_eq!(
        (listed[2].0, listed[2].1, listed[2].2),
        (5, "impressions", "not a whole number")
    );
    assert_eq!(
        (listed[3].0, listed[3].1, listed[3].2),
        (6, "date", "bad date (expected YYYY-MM-DD)")
    );
    assert_eq!(
        (listed[4].0, listed[4].1, listed[4].2),
        (7, "hour", "hour outside 0-23")
    );
    assert_eq!(
        (listed[5].0, listed[5].1, listed[5].2),
        (10, "(row)", "expected 6 columns, found 4")
    );
    assert_eq!(
        (listed[6].0, listed[6].2),
        (9, "duplicate key (first at row 8)")
    );
    assert_eq!(errors[6].value, "KBS/PRG-1001/PC_VOD/2026-12-01/5");
    assert_eq!(errors[0].value, "RADIO");
    let after = (
        s.count("forecast_daily").await,
        s.count("media").await,
        s.count("meta_ids").await,
    );
    assert_eq!(
        before, after,
        "a rejected file changes nothing, not even the catalog"
    );

    // A duplicate key across chunks (2,000 rows apart) is caught too.
    let mut many: Vec<String> = (0..2100)
        .map(|i| format!("KBS,BULK-{},PC_VOD,2026-12-01,0,1", i))
        .collect();
    many.push("KBS,BULK-7,PC_VOD,2026-12-01,0,2".to_owned());
    let error = s.import(&s.csv("many.csv", &many)).await.unwrap_err();
    assert!(
        matches!(&error, InventoryError::Rows { errors, total: 1, .. } if errors[0].row == 2102 && errors[0].reason == "duplicate key (first at row 9)"),
        "{error:?}"
    );
    assert_eq!(
        before,
        (
            s.count("forecast_daily").await,
            s.count("media").await,
            s.count("meta_ids").await
        )
    );
}

#[tokio::test]
async fn unreadable_files_are_refused_whole() {
    let s = setup().await;
    let wrong_header = s.dir.path().join("h.csv");
    std::fs::write(
        &wrong_header,
        "media,meta,part,date,hour,impressions\nKBS,1,PC_VOD,2026-12-01,0,1\n",
    )
    .unwrap();
    let error = s.import(&wrong_header).await.unwrap_err().to_string();
    assert!(
        error.contains("h.csv")
            && error.contains("the header must be `media,meta_id,part,date,hour,impressions`"),
        "{error}"
    );
    let other = s.dir.path().join("forecast.json");
    std::fs::write(&other, "{}").unwrap();
    assert!(
        s.import(&other)
            .await
            .unwrap_err()
            .to_string()
            .contains("unsupported file type '.json'")
    );
    let not_xlsx = s.dir.path().join("broken.xlsx");
    std::fs::write(&not_xlsx, "not a zip").unwrap();
    assert!(
        s.import(&not_xlsx)
            .await
            .unwrap_err()
            .to_string()
            .contains("broken.xlsx")
    );
    assert!(
        s.import(&s.dir.path().join("missing.csv"))
            .await
            .unwrap_err()
            .to_string()
            .contains("missing.csv")
    );
    let empty = s.csv("empty.csv", &[]);
    assert!(
        s.import(&empty)
            .await
            .unwrap_err()
            .to_string()
            .contains("no rows")
    );
    assert_eq!(s.count("media").await, 0);
}

#[tokio::test]
async fn a_second_build_of_the_same_month_is_refused_while_one_runs() {
    let s = setup().await;
    s.import(&s.csv("f.csv", &forecast_rows())).await.unwrap();
    let december: Month = "2026-12".parse().unwrap();
    let started = adpool_core::ManualClock::at("2026-11-21T08:30:00+09:00");
    sqlx::query("INSERT INTO inventory_build_locks (org_id, month, build, holder, started_at) VALUES ($1, '2026-12', 'standard', 'job #7', $2)")
        .bind(s.org.get())
        .bind(adpool_core::Clock::now_millis(&started))
        .execute(s.inventory.db().pool())
        .await
        .unwrap();
    let error = s
        .inventory
        .build_standard(s.org, december, "cli", &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&error, InventoryError::Conflict(m) if m.contains("a standard build of 2026-12 is already running (started 2026-11-21 08:30 KST by job #7)")),
        "{error}"
    );
    // Another month, or another organization, is not blocked.
    s.inventory
        .build_standard(s.org, "2026-11".parse().unwrap(), "cli", &mut |_| {})
        .await
        .unwrap();
    s.inventory
        .build_standard(s.other_org, december, "cli", &mut |_| {})
        .await
        .unwrap();
    // A lock abandoned by a crashed build (over an hour old) is taken over.
    sqlx::query("UPDATE inventory_build_locks SET started_at = 0")
        .execute(s.inventory.db().pool())
        .await
        .unwrap();
    s.inventory
        .build_standard(s.org, december, "cli", &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        s.count("inventory_build_locks").await,
        0,
        "released after the build"
    );
}

#[tokio::test]
async fn concurrent_builds_of_one_month_never_overlap() {
    let s = setup().await;
    s.import(&s.csv("f.csv", &forecast_rows())).await.unwrap();
    let december: Month = "2026-12".parse().unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let inventory = s.inventory.clone();
            let org = s.org;
            tokio::spawn(async move {
                inventory
                    .build_standard(org, december, &format!("worker-{i}"), &mut |_| {})
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    assert!(outcomes.iter().any(Result::is_ok));
    for outcome in &outcomes {
        if let Err(error) = outcome {
            assert!(
                matches!(error, InventoryError::Conflict(m) if m.contains("already running") || m.contains("just finished")),
                "{error}"
            );
        }
    }
    assert_eq!(
        s.inventory
            .standard_rows(s.org, december)
            .await
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn one_organization_never_sees_another_s_inventory() {
    let s = setup().await;
    s.import(&s.csv("f.csv", &forecast_rows())).await.unwrap();
    s.build_all("2026-12").await;
    let december: Month = "2026-12".parse().unwrap();
    assert!(
        s.inventory
            .standard_rows(s.other_org, december)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.inventory
            .unit_rows(s.other_org, december)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.inventory.media(s.other_org).await.unwrap().is_empty());
    let id = s.inventory.standard_rows(s.org, december).await.unwrap()[0].id;
    assert!(matches!(
        s.inventory
            .set_standard_qty(s.other_org, id, 1, None, "")
            .await,
        Err(InventoryError::NotFound)
    ));
    assert!(matches!(
        s.inventory
            .build_unit(s.other_org, december, "x", &mut |_| {})
            .await,
        Err(InventoryError::Conflict(_))
    ));
}

#[tokio::test]
async fn bulk_percent_of_forecast_changes_only_the_filtered_rows_and_audits_each() {
    let s = setup().await;
    s.import(&s.csv("f.csv", &forecast_rows())).await.unwrap();
    let december: Month = "2026-12".parse().unwrap();
    s.inventory
        .build_standard(s.org, december, "test", &mut |_| {})
        .await
        .unwrap();
    let filter = adpool_inventory::StandardFilter {
        media: Some("KBS".into()),
        ..Default::default()
    };
    let changed = s
        .inventory
        .set_standard_percent(s.org, december, &filter, 8000, None)
        .await
        .unwrap();
    assert_eq!(changed, 3, "KBS has three rows (PC, MOBILE, APP)");
    for row in s.inventory.standard_rows(s.org, december).await.unwrap() {
        if row.media == "KBS" {
            assert_eq!(row.qty, (row.forecast_qty * 8000 + 5000) / 10_000);
        } else {
            assert_eq!(row.qty, row.forecast_qty);
        }
    }
    let audit = s
        .inventory
        .audit_entries(s.org, december, 100)
        .await
        .unwrap();
    assert_eq!(audit.len(), 3);
    assert!(
        audit
            .iter()
            .all(|a| a.note == "set to 80.00% of forecast" && a.media == "KBS")
    );
    assert!(matches!(
        s.inventory
            .set_standard_percent(s.org, december, &filter, -1, None)
            .await,
        Err(InventoryError::Invalid { .. })
    ));
    let months = s.inventory.months(s.org).await.unwrap();
    assert_eq!(
        months
            .iter()
            .map(|m| m.month.to_string())
            .collect::<Vec<_>>(),
        vec!["2026-12", "2026-11"]
    );
    assert_eq!((months[0].standard_rows, months[1].standard_rows), (5, 0));
    assert!(s.inventory.months(s.other_org).await.unwrap().is_empty());
}

fn catalog_json() -> &'static str {
    r#"{
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
    }"#
}

#[tokio::test]
async fn a_catalog_document_round_trips_and_feeds_the_pipeline() {
    let s = setup().await;
    let document: adpool_inventory::CatalogDocument = serde_json::from_str(catalog_json()).unwrap();
    let summary = s.inventory.apply_catalog(s.org, &document).await.unwrap();
    assert_eq!(
        (summary.meta_ids, summary.products, summary.targeting_groups),
        (2, 1, 1)
    );
    let exported = s.inventory.catalog(s.org).await.unwrap();
    assert_eq!(exported.meta_ids, document.meta_ids);
    assert_eq!(exported.products, document.products);
    assert_eq!(exported.targeting_groups, document.targeting_groups);
    assert_eq!(
        exported.part_platforms.get("SMART_TV").map(String::as_str),
        Some("CTV")
    );
    assert_eq!(
        exported.part_platforms.len(),
        7,
        "the defaults plus the new part"
    );
    // Applying the export again changes nothing.
    s.inventory.apply_catalog(s.org, &exported).await.unwrap();
    assert_eq!(s.inventory.catalog(s.org).await.unwrap(), exported);
    // The new part is accepted by forecast imports; the program's name shows in standard rows.
    s.import(&s.csv(
        "f.csv",
        &["WAVVE,KBS-1N2D,SMART_TV,2026-12-01,20,500".to_owned()],
    ))
    .await
    .unwrap();
    s.inventory
        .build_standard(s.org, "2026-12".parse().unwrap(), "test", &mut |_| {})
        .await
        .unwrap();
    let row = &s
        .inventory
        .standard_rows(s.org, "2026-12".parse().unwrap())
        .await
        .unwrap()[0];
    assert_eq!(
        (
            row.meta_name.as_str(),
            row.content_owner.as_deref(),
            row.platform.as_str()
        ),
        ("1박 2일", Some("KBS"), "CTV")
    );
    assert!(
        s.inventory
            .catalog(s.other_org)
            .await
            .unwrap()
            .products
            .is_empty(),
        "catalogs are per organization"
    );
}

#[tokio::test]
async fn a_bad_catalog_is_refused_whole_with_every_problem_named() {
    let s = setup().await;
    let bad: adpool_inventory::CatalogDocument = serde_json::from_str(
        r#"{
          "meta_ids": [{ "media": "WAVVE", "code": "X", "name": "x", "kind": "movie", "content_owner": " " }],
          "part_platforms": { "RADIO": "FM" },
          "products": [{ "code": "P", "name": "p", "type": "banner", "ad_type": "pre-roll", "cpm": { "PC": 0, "TV": 5 }, "ctr_bp": 20000, "vtr_bp": 0 }],
          "targeting_groups": [{ "code": "G", "name": "g", "weight_bp": 4000, "members": ["WAVVE/NOPE", "no-slash"] }]
        }"#,
    )
    .unwrap();
    let error = s.inventory.apply_catalog(s.org, &bad).await.unwrap_err();
    let InventoryError::Catalog { problems } = &error else {
        panic!("{error}")
    };
    for expected in [
        "meta_ids[0].kind: 'movie' is not program, channel or keyword",
        "meta_ids[0].content_owner: must be a content-owner code: 1 to 100 characters without '/'",
        "part_platforms.RADIO: 'FM' is not PC, MOBILE, APP or CTV",
        "products[0].type: 'banner' is not program, channel, keyword or ron",
        "products[0].cpm.PC: 0 must be a positive number of won",
        "products[0].cpm.TV: is not PC, MOBILE, APP or CTV",
        "products[0].ctr_bp: 20000 is outside 0 to 10000 basis points",
        "targeting_groups[0].members[1]: 'no-slash' is not MEDIA/META_ID",
    ] {
        assert!(
            problems.iter().any(|p| p == expected),
            "missing {expected:?} in {problems:#?}"
        );
    }
    // A member that names no meta_id is found while applying; everything rolls back.
    let unknown: adpool_inventory::CatalogDocument = serde_json::from_str(
        r#"{ "media": [{ "code": "WAVVE", "name": "w" }],
             "targeting_groups": [{ "code": "G", "name": "g", "weight_bp": 4000, "members": ["WAVVE/NOPE"] }] }"#,
    )
    .unwrap();
    let error = s
        .inventory
        .apply_catalog(s.org, &unknown)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("targeting_groups[0].members[0]: 'WAVVE/NOPE' is not a known meta_id"),
        "{error}"
    );
    assert!(
        s.inventory.media(s.org).await.unwrap().is_empty(),
        "nothing was applied"
    );
    assert!(
        serde_json::from_str::<adpool_inventory::CatalogDocument>(r#"{ "prodcts": [] }"#).is_err(),
        "unknown keys are refused"
    );
}

#[tokio::test]
async fn builds_run_as_jobs_with_progress_and_clear_failures() {
    use adpool_inventory::{BUILD_STANDARD_JOB, BUILD_UNIT_JOB, BuildHandler, build_job};
    use adpool_jobs::{JobOutcome, JobState, Jobs, Registry, Worker, WorkerConfig};
    let s = setup().await;
    s.import(&s.csv("f.csv", &forecast_rows())).await.unwrap();
    let clock = Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00"));
    let jobs = Jobs::new(s.inventory.db().clone(), clock);
    let mut registry = Registry::new();
    let handler = BuildHandler::new(s.inventory.clone());
    registry.register(BUILD_STANDARD_JOB, 1, handler.clone());
    registry.register(BUILD_UNIT_JOB, 1, handler);
    let worker = Worker::new(jobs.clone(), registry, WorkerConfig::default());
    let december: Month = "2026-12".parse().unwrap();

    let standard = jobs
        .enqueue(build_job(BUILD_STANDARD_JOB, s.org, december, None))
        .await
        .unwrap();
    assert_eq!(
        worker.drain().await.unwrap(),
        vec![JobOutcome::Succeeded(standard)]
    );
    let job = jobs.job(s.org, standard, false).await.unwrap();
    assert_eq!(job.result.as_ref().unwrap()["rows"], 5);
    assert_eq!((job.progress.done, job.progress.total), (5, Some(5)));

    // An unconfirmed month fails the unit job at once, with the reason, without retrying.
    let unit = jobs
        .enqueue(build_job(BUILD_UNIT_JOB, s.org, december, None))
        .await
        .unwrap();
    let outcome = worker.drain().await.unwrap();
    assert!(
        matches!(&outcome[..], [JobOutcome::Failed { error, .. }] if error.contains("not confirmed")),
        "{outcome:?}"
    );
    assert_eq!(
        jobs.job(s.org, unit, false).await.unwrap().state,
        JobState::Failed
    );

    s.inventory
        .confirm_month(s.org, december, None)
        .await
        .unwrap();
    let unit = jobs
        .enqueue(build_job(BUILD_UNIT_JOB, s.org, december, None))
        .await
        .unwrap();
    assert_eq!(
        worker.drain().await.unwrap(),
        vec![JobOutcome::Succeeded(unit)]
    );
    assert_eq!(
        jobs.job(s.org, unit, false).await.unwrap().result.unwrap()["unit_rows"],
        5 * 31
    );
}
