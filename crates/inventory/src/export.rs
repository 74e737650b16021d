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
    let mut rows = 0u64;
    match level {
        ExportLevel::Standard => {
            writer
                .write_record([
                    "media",
                    "meta_id",
                    "platform",
                    "month",
                    "forecast_qty",
                    "qty",
                    "change_rate",
                ])
                .map_err(io)?;
            for row in inventory.standard_rows(org, month).await? {
                let rate = row.change_rate_ppm.map(format_ppm).unwrap_or_default();
                writer
                    .write_record([
                        row.media.as_str(),
                        row.meta_id.as_str(),
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
            writer
                .write_record([
                    "media",
                    "meta_id",
                    "platform",
                    "date",
                    "total",
                    "reserved",
                    "available",
                ])
                .map_err(io)?;
            for row in inventory.unit_rows(org, month).await? {
                writer
                    .write_record([
                        row.media.as_str(),
                        row.meta_id.as_str(),
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
