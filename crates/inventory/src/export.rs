//! Exports of standard and unit inventory as CSV, with exactly the columns and order the
//! issue fixes (rows sorted by key).

use std::io::Write;

use crate::{Inventory, InventoryError, Month, OrgId};

/// Which inventory to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportLevel {
    /// `media,meta_id,platform,month,forecast_qty,qty,change_rate`
    Standard,
    /// `media,meta_id,platform,date,total,reserved,available`
    Unit,
}

impl ExportLevel {
    /// The export's columns, in order: the header of the CSV and of the XLSX sheet.
    pub fn columns(self) -> [&'static str; 7] {
        match self {
            ExportLevel::Standard => [
                "media",
                "meta_id",
                "platform",
                "month",
                "forecast_qty",
                "qty",
                "change_rate",
            ],
            ExportLevel::Unit => [
                "media",
                "meta_id",
                "platform",
                "date",
                "total",
                "reserved",
                "available",
            ],
        }
    }

    /// Parses `standard` or `unit`.
    pub fn parse(text: &str) -> Result<ExportLevel, InventoryError> {
        match text {
            "standard" => Ok(ExportLevel::Standard),
            "unit" => Ok(ExportLevel::Unit),
            other => Err(InventoryError::Invalid {
                field: "level",
                message: format!("'{other}' is not standard or unit"),
            }),
        }
    }
}

/// A change rate in millionths as a decimal with 6 places: `-500000` -> `-0.500000`.
pub fn format_ppm(ppm: i64) -> String {
    let sign = if ppm < 0 { "-" } else { "" };
    let magnitude = ppm.unsigned_abs();
    format!(
        "{sign}{}.{:06}",
        magnitude / 1_000_000,
        magnitude % 1_000_000
    )
}

/// Writes the month's inventory at `level` as CSV; returns the number of data rows.
pub async fn write_csv(
    inventory: &Inventory,
    org: OrgId,
    level: ExportLevel,
    month: Month,
    out: impl Write,
) -> Result<u64, InventoryError> {
    let mut writer = csv::Writer::from_writer(out);
    let io = |e: csv::Error| InventoryError::File {
        file: "export".into(),
        message: e.to_string(),
    };
    writer.write_record(level.columns()).map_err(io)?;
    let mut rows = 0u64;
    match level {
        ExportLevel::Standard => {
            for row in inventory.standard_rows(org, month).await? {
                let rate = row.change_rate_ppm.map(format_ppm).unwrap_or_default();
                writer
                    .write_record([
                        &adpool_core::csv_neutral(&row.media),
                        &adpool_core::csv_neutral(&row.meta_id),
                        row.platform.as_str(),
                        &row.month.to_string(),
                        &row.forecast_qty.to_string(),
                        &row.qty.to_string(),
                        &rate,
                    ])
                    .map_err(io)?;
                rows += 1;
            }
        }
        ExportLevel::Unit => {
            for row in inventory.unit_rows(org, month).await? {
                writer
                    .write_record([
                        &adpool_core::csv_neutral(&row.media),
                        &adpool_core::csv_neutral(&row.meta_id),
                        row.platform.as_str(),
                        row.date.as_str(),
                        &row.total.to_string(),
                        &row.reserved.to_string(),
                        &row.available().to_string(),
                    ])
                    .map_err(io)?;
                rows += 1;
            }
        }
    }
    writer.flush().map_err(|e| InventoryError::File {
        file: "export".into(),
        message: e.to_string(),
    })?;
    Ok(rows)
}

/// Writes the month's inventory at `level` as an XLSX workbook with the same columns as the CSV
/// (numbers as numbers; change rate formatted with 6 decimals); returns the number of data rows.
pub async fn write_xlsx(
    inventory: &Inventory,
    org: OrgId,
    level: ExportLevel,
    month: Month,
    mut out: impl Write,
) -> Result<u64, InventoryError> {
    use rust_xlsxwriter::{Format, Workbook};
    let xlsx = |e: rust_xlsxwriter::XlsxError| InventoryError::File {
        file: "export".into(),
        message: e.to_string(),
    };
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let rate_format = Format::new().set_num_format("0.000000");
    let sheet = workbook.add_worksheet();
    for (col, name) in level.columns().iter().enumerate() {
        sheet
            .write_string_with_format(0, col as u16, *name, &bold)
            .map_err(xlsx)?;
    }
    let mut rows = 0u32;
    match level {
        ExportLevel::Standard => {
            sheet.set_name(format!("standard {month}")).map_err(xlsx)?;
            for row in inventory.standard_rows(org, month).await? {
                rows += 1;
                sheet.write_string(rows, 0, &row.media).map_err(xlsx)?;
                sheet.write_string(rows, 1, &row.meta_id).map_err(xlsx)?;
                sheet
                    .write_string(rows, 2, row.platform.as_str())
                    .map_err(xlsx)?;
                sheet
                    .write_string(rows, 3, row.month.to_string())
                    .map_err(xlsx)?;
                sheet
                    .write_number(rows, 4, row.forecast_qty as f64)
                    .map_err(xlsx)?;
                sheet.write_number(rows, 5, row.qty as f64).map_err(xlsx)?;
                if let Some(ppm) = row.change_rate_ppm {
                    sheet
                        .write_number_with_format(rows, 6, ppm as f64 / 1_000_000.0, &rate_format)
                        .map_err(xlsx)?;
                }
            }
        }
        ExportLevel::Unit => {
            sheet.set_name(format!("unit {month}")).map_err(xlsx)?;
            for row in inventory.unit_rows(org, month).await? {
                rows += 1;
                sheet.write_string(rows, 0, &row.media).map_err(xlsx)?;
                sheet.write_string(rows, 1, &row.meta_id).map_err(xlsx)?;
                sheet
                    .write_string(rows, 2, row.platform.as_str())
                    .map_err(xlsx)?;
                sheet.write_string(rows, 3, &row.date).map_err(xlsx)?;
                sheet
                    .write_number(rows, 4, row.total as f64)
                    .map_err(xlsx)?;
                sheet
                    .write_number(rows, 5, row.reserved as f64)
                    .map_err(xlsx)?;
                sheet
                    .write_number(rows, 6, row.available() as f64)
                    .map_err(xlsx)?;
            }
        }
    }
    sheet.autofit();
    let bytes = workbook.save_to_buffer().map_err(xlsx)?;
    out.write_all(&bytes).map_err(|e| InventoryError::File {
        file: "export".into(),
        message: e.to_string(),
    })?;
    Ok(u64::from(rows))
}

#[cfg(test)]
mod tests {
    use super::format_ppm;

    #[test]
    fn change_rates_print_with_six_decimals() {
        assert_eq!(format_ppm(100_000), "0.100000");
        assert_eq!(format_ppm(-500_000), "-0.500000");
        assert_eq!(format_ppm(-1), "-0.000001");
        assert_eq!(format_ppm(2_345_678), "2.345678");
        assert_eq!(format_ppm(0), "0.000000");
    }
}
