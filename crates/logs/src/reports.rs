//! Reading the four reports: filters, totals, and the export formats. CSV columns are fixed
//! (docs/logs.md); money has exactly 3 decimals (from milli-won, no floating point), ratios 6,
//! rows sorted by key.

use adpool_core::OrgId;
use adpool_store::Db;
use sqlx::Row;

use crate::LogsError;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// date, org, media, inventory, ad, demand: impressions, clicks, revenue.
    AdPerformance,
    /// date, org, media, inventory, device, app: xreq, xres, xpsb.
    AdRequest,
    /// date, demand: impressions, clicks, revenue, ctr, cpc, ecpm.
    Demand,
    /// date, org, media, device: impressions, clicks, revenue, agency and media revenue.
    Media,
}

impl Report {
    /// Every report.
    pub const ALL: [Report; 4] = [
        Report::AdPerformance,
        Report::AdRequest,
        Report::Demand,
        Report::Media,
    ];

    /// `ad-performance`, `ad-request`, `demand`, `media`.
    pub fn slug(self) -> &'static str {
        match self {
            Report::AdPerformance => "ad-performance",
            Report::AdRequest => "ad-request",
            Report::Demand => "demand",
            Report::Media => "media",
        }
    }

    /// From its slug.
    pub fn parse(text: &str) -> Option<Report> {
        Report::ALL.into_iter().find(|r| r.slug() == text.trim())
    }

    /// The CSV header.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Report::AdPerformance => &[
                "date",
                "org_id",
                "media_key",
                "inventory_id",
                "ad_id",
                "demand_id",
                "impressions",
                "clicks",
                "revenue",
            ],
            Report::AdRequest => &[
                "date",
                "org_id",
                "media_key",
                "inventory_id",
                "device",
                "app",
                "xreq",
                "xres",
                "xpsb",
            ],
            Report::Demand => &[
                "date",
                "demand_id",
                "impressions",
                "clicks",
                "revenue",
                "ctr",
                "cpc",
                "ecpm",
            ],
            Report::Media => &[
                "date",
                "org_id",
                "media_key",
                "device",
                "impressions",
                "clicks",
                "revenue",
                "agency_revenue",
                "media_revenue",
            ],
        }
    }

    fn select(self) -> &'static str {
        match self {
            Report::AdPerformance => {
                "SELECT date, media_org_id, media_key, inventory_id, ad_id, demand_id, impressions, clicks, revenue_milli FROM report_ad_performance WHERE org_id = $1 AND date >= $2 AND date <= $3 ORDER BY date, media_org_id, media_key, inventory_id, ad_id, demand_id"
            }
            Report::AdRequest => {
                "SELECT date, media_org_id, media_key, inventory_id, device, app, xreq, xres, xpsb FROM report_ad_request WHERE org_id = $1 AND date >= $2 AND date <= $3 ORDER BY date, media_org_id, media_key, inventory_id, device, app"
            }
            Report::Demand => {
                "SELECT date, demand_id, impressions, clicks, revenue_milli FROM report_demand WHERE org_id = $1 AND date >= $2 AND date <= $3 ORDER BY date, demand_id"
            }
            Report::Media => {
                "SELECT date, media_org_id, media_key, device, impressions, clicks, revenue_milli, agency_revenue_milli, media_revenue_milli FROM report_media WHERE org_id = $1 AND date >= $2 AND date <= $3 ORDER BY date, media_org_id, media_key, device"
            }
        }
    }
}

/// One cell of a report row.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Cell {
    /// A key or a count.
    Int(i64),
    /// A text key.
    Text(String),
    /// Money in milli-won (written with 3 decimals).
    Milli(i64),
    /// A ratio (written with 6 decimals).
    Ratio(f64),
}

impl Cell {
    /// The CSV text.
    pub fn csv(&self) -> String {
        match self {
            Cell::Int(v) => v.to_string(),
            Cell::Text(v) => adpool_core::csv_text(v).into_owned(),
            Cell::Milli(v) => format_milli(*v),
            Cell::Ratio(v) => format!("{v:.6}"),
        }
    }
}

/// Milli-won as won with exactly 3 decimals, exact (integer arithmetic).
pub fn format_milli(milli: i64) -> String {
    let sign = if milli < 0 { "-" } else { "" };
    let abs = milli.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

fn ratio(a: i64, b: i64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The rows of `report` for `org` between two KST days (inclusive), sorted by key.
pub async fn rows(
    db: &Db,
    org: OrgId,
    report: Report,
    from: &str,
    to: &str,
) -> Result<Vec<Vec<Cell>>, LogsError> {
    let records = sqlx::query(report.select())
        .bind(org.get())
        .bind(from)
        .bind(to)
        .fetch_all(db.pool())
        .await?;
    let mut out = Vec::with_capacity(records.len());
    for r in &records {
        let int = |c: &str| r.try_get::<i64, _>(c).map(Cell::Int);
        let text = |c: &str| r.try_get::<String, _>(c).map(Cell::Text);
        let milli = |c: &str| r.try_get::<i64, _>(c).map(Cell::Milli);
        out.push(match report {
            Report::AdPerformance => vec![
                text("date")?,
                int("media_org_id")?,
                text("media_key")?,
                int("inventory_id")?,
                int("ad_id")?,
                int("demand_id")?,
                int("impressions")?,
                int("clicks")?,
                milli("revenue_milli")?,
            ],
            Report::AdRequest => vec![
                text("date")?,
                int("media_org_id")?,
                text("media_key")?,
                int("inventory_id")?,
                text("device")?,
                text("app")?,
                int("xreq")?,
                int("xres")?,
                int("xpsb")?,
            ],
            Report::Demand => {
                let (imps, clicks, revenue): (i64, i64, i64) = (
                    r.try_get("impressions")?,
                    r.try_get("clicks")?,
                    r.try_get("revenue_milli")?,
                );
                vec![
                    text("date")?,
                    int("demand_id")?,
                    Cell::Int(imps),
                    Cell::Int(clicks),
                    Cell::Milli(revenue),
                    Cell::Ratio(ratio(clicks, imps)),
                    Cell::Ratio(ratio(revenue, clicks) / 1000.0),
                    Cell::Ratio(ratio(revenue, imps)),
                ]
            }
            Report::Media => vec![
                text("date")?,
                int("media_org_id")?,
                text("media_key")?,
                text("device")?,
                int("impressions")?,
                int("clicks")?,
                milli("revenue_milli")?,
                milli("agency_revenue_milli")?,
                milli("media_revenue_milli")?,
            ],
        });
    }
    Ok(out)
}

/// The rows as CSV with the report's header.
pub fn to_csv(report: Report, rows: &[Vec<Cell>]) -> String {
    let mut out = report.columns().join(",");
    out.push('\n');
    for row in rows {
        out.push_str(&row.iter().map(Cell::csv).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// The rows as JSON objects keyed by the CSV columns (money as a 3-decimal string).
pub fn to_json(report: Report, rows: &[Vec<Cell>]) -> serde_json::Value {
    let columns = report.columns();
    serde_json::Value::Array(
        rows.iter()
            .map(|row| {
                let object: serde_json::Map<String, serde_json::Value> = columns
                    .iter()
                    .zip(row)
                    .map(|(c, cell)| {
                        let value = match cell {
                            Cell::Int(v) => serde_json::Value::from(*v),
                            Cell::Text(v) => serde_json::Value::from(v.clone()),
                            Cell::Milli(v) => serde_json::Value::from(format_milli(*v)),
                            Cell::Ratio(v) => serde_json::Value::from(format!("{v:.6}")),
                        };
                        ((*c).to_owned(), value)
                    })
                    .collect();
                serde_json::Value::Object(object)
            })
            .collect(),
    )
}

/// The rows as an XLSX workbook (money as numbers with 3 decimals, ratios with 6).
pub fn to_xlsx(report: Report, rows: &[Vec<Cell>]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(report.slug())?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.000");
    let ratio = Format::new().set_num_format("0.000000");
    for (c, name) in report.columns().iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *name, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Int(v) => sheet.write_number(r, c, *v as f64)?,
                Cell::Text(v) => sheet.write_string(r, c, v)?,
                Cell::Milli(v) => {
                    sheet.write_number_with_format(r, c, *v as f64 / 1000.0, &money)?
                }
                Cell::Ratio(v) => sheet.write_number_with_format(r, c, *v, &ratio)?,
            };
        }
    }
    sheet.autofit();
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_exactly_three_decimals() {
        assert_eq!(format_milli(12_500), "12.500");
        assert_eq!(format_milli(1), "0.001");
        assert_eq!(format_milli(0), "0.000");
        assert_eq!(format_milli(-1_234_567), "-1234.567");
        assert_eq!(Cell::Ratio(1.0 / 3.0).csv(), "0.333333");
        assert_eq!(Report::parse("media"), Some(Report::Media));
    }
}
