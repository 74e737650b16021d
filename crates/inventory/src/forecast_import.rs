//! Forecast import: every row validated, all or nothing, re-import replaces a media's month.
//!
//! Rows stream through a per-transaction staging table in chunks, so memory is bounded by a
//! chunk and the catalog, never by the file. The staging table's primary key detects duplicate
//! keys across the whole file (`ON CONFLICT DO NOTHING RETURNING` tells which rows collided).
//! Any invalid row rolls the whole transaction back, including media and meta_ids it would have
//! registered; the error lists every problem (up to [`MAX_LISTED_ERRORS`]).

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use adpool_core::BusinessDate;
use adpool_store::DbTx;
use serde::Serialize;
use sqlx::Row;

use crate::catalog::{
    CodeTable, ensure_part_platforms, ids_by_code, meta_ids, part_platforms, register_media,
    register_meta,
};
use crate::{Inventory, InventoryError, OrgId, Progress, ProgressFn, RowError};
use adpool_tables::{self as sources, RowSource};

/// Errors listed in full; beyond this only the count grows.
pub const MAX_LISTED_ERRORS: usize = 1000;
/// Rows per staging insert (7 values each, under both databases' parameter limits).
const CHUNK_ROWS: usize = 2000;
/// The header a forecast file must have.
pub const FORECAST_COLUMNS: [&str; 6] = ["media", "meta_id", "part", "date", "hour", "impressions"];

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// The file.
    pub file: String,
    /// Data rows imported.
    pub rows: u64,
    /// Media codes in the file.
    pub media: Vec<String>,
    /// `MEDIA YYYY-MM` pairs replaced by the file.
    pub months: Vec<String>,
    /// Media registered by this import.
    pub new_media: Vec<String>,
    /// `MEDIA/META_ID` registered by this import.
    pub new_meta_ids: Vec<String>,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

struct StagedRow {
    row: u64,
    media_id: i64,
    meta_id: i64,
    key: String,
    part: String,
    date: BusinessDate,
    hour: i64,
    impressions: i64,
}

/// Collects errors, listing the first [`MAX_LISTED_ERRORS`].
#[derive(Default)]
struct Errors {
    listed: Vec<RowError>,
    total: u64,
}

impl Errors {
    fn push(&mut self, row: u64, column: &str, value: &str, reason: impl Into<String>) {
        self.total += 1;
        if self.listed.len() < MAX_LISTED_ERRORS {
            self.listed.push(RowError {
                row,
                column: column.to_owned(),
                value: value.to_owned(),
                reason: reason.into(),
            });
        }
    }
}

fn whole_number(text: &str) -> Result<i64, &'static str> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() {
        return Err("missing number");
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a whole number");
    }
    let value: i64 = text.parse().map_err(|_| "number too large")?;
    if value < 0 {
        Err("negative number")
    } else {
        Ok(value)
    }
}

impl Inventory {
    /// Imports a forecast file (`.csv` or `.xlsx`, by extension) for `org`.
    pub async fn import_forecast_file(
        &self,
        org: OrgId,
        path: &Path,
        progress: &mut ProgressFn<'_>,
    ) -> Result<ImportSummary, InventoryError> {
        let mut source = sources::open(path)?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        self.import_forecast(org, &name, source.as_mut(), progress)
            .await
    }

    async fn import_forecast(
        &self,
        org: OrgId,
        file: &str,
        source: &mut dyn RowSource,
        progress: &mut ProgressFn<'_>,
    ) -> Result<ImportSummary, InventoryError> {
        let started = Instant::now();
        let header: Vec<String> = source
            .header()
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        if header != FORECAST_COLUMNS {
            return Err(InventoryError::File {
                file: file.to_owned(),
                message: format!(
                    "the header must be `{}`, found `{}`",
                    FORECAST_COLUMNS.join(","),
                    header.join(",")
                ),
            });
        }
        let now = self.now();
        let dialect = self.db.dialect();
        let mut tx = self.db.begin_write().await?;
        ensure_part_platforms(&mut tx, org).await?;
        let parts = part_platforms(&mut tx, org).await?;
        let mut known_parts: Vec<&String> = parts.keys().collect();
        known_parts.sort();
        let known_parts = known_parts
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut media = ids_by_code(&mut tx, CodeTable::Media, org).await?;
        let mut metas = meta_ids(&mut tx, org).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(dialect.create_temp_table(
            "forecast_import",
            "row_no BIGINT NOT NULL, media_id BIGINT NOT NULL, meta_id BIGINT NOT NULL, part TEXT NOT NULL, \
             date TEXT NOT NULL, hour BIGINT NOT NULL, impressions BIGINT NOT NULL, PRIMARY KEY (meta_id, part, date, hour)",
        )))
        .execute(&mut *tx)
        .await?;

        let mut errors = Errors::default();
        let mut new_media = Vec::new();
        let mut new_metas = Vec::new();
        let mut media_codes: HashMap<i64, String> =
            media.iter().map(|(code, id)| (*id, code.clone())).collect();
        let mut chunk: Vec<StagedRow> = Vec::with_capacity(CHUNK_ROWS);
        let mut rows: u64 = 0;
        let mut staging_time = std::time::Duration::ZERO;
        while let Some(next) = source.next_row() {
            let (row, cells) = next?;
            rows += 1;
            if cells.len() != FORECAST_COLUMNS.len() {
                errors.push(
                    row,
                    "(row)",
                    &cells.join(","),
                    format!(
                        "expected {} columns, found {}",
                        FORECAST_COLUMNS.len(),
                        cells.len()
                    ),
                );
                continue;
            }
            let [media_code, meta_code, part, date, hour, impressions] = [
                &cells[0], &cells[1], &cells[2], &cells[3], &cells[4], &cells[5],
            ];
            let before = errors.total;
            if media_code.is_empty() || media_code.chars().count() > 100 {
                errors.push(row, "media", media_code, "must be 1 to 100 characters");
            }
            if meta_code.is_empty() || meta_code.chars().count() > 200 {
                errors.push(row, "meta_id", meta_code, "must be 1 to 200 characters");
            }
            let part_key = part.to_ascii_uppercase();
            if !parts.contains_key(&part_key) {
                errors.push(
                    row,
                    "part",
                    part,
                    format!("unknown part (known: {known_parts})"),
                );
            }
            let date_value = date.parse::<BusinessDate>();
            if date_value.is_err() {
                errors.push(row, "date", date, "bad date (expected YYYY-MM-DD)");
            }
            let hour_value = match whole_number(hour) {
                Ok(h) if (0..=23).contains(&h) => Some(h),
                Ok(_) => {
                    errors.push(row, "hour", hour, "hour outside 0-23");
                    None
                }
                Err("negative number") => {
                    errors.push(row, "hour", hour, "hour outside 0-23");
                    None
                }
                Err(reason) => {
                    errors.push(row, "hour", hour, reason);
                    None
                }
            };
            let impressions_value = match whole_number(impressions) {
                Ok(v) => Some(v),
                Err(reason) => {
                    errors.push(row, "impressions", impressions, reason);
                    None
                }
            };
            let (Ok(date_value), Some(hour_value), Some(impressions_value)) =
                (date_value, hour_value, impressions_value)
            else {
                continue;
            };
            if errors.total != before {
                continue;
            }
            let media_id = match media.get(media_code.as_str()) {
                Some(id) => *id,
                None => {
                    let id = register_media(&mut tx, org, media_code, now).await?;
                    media.insert(media_code.clone(), id);
                    media_codes.insert(id, media_code.clone());
                    new_media.push(media_code.clone());
                    id
                }
            };
            let meta_key = (media_id, meta_code.clone());
            let meta_id = match metas.get(&meta_key) {
                Some(id) => *id,
                None => {
                    let id = register_meta(&mut tx, org, media_id, meta_code, now).await?;
                    metas.insert(meta_key, id);
                    new_metas.push(format!("{media_code}/{meta_code}"));
                    id
                }
            };
            chunk.push(StagedRow {
                row,
                media_id,
                meta_id,
                key: format!("{media_code}/{meta_code}/{part_key}/{date}/{hour_value}"),
                part: part_key,
                date: date_value,
                hour: hour_value,
                impressions: impressions_value,
            });
            if chunk.len() == CHUNK_ROWS {
                let staging = Instant::now();
                stage(&mut tx, dialect, &mut chunk, &mut errors).await?;
                staging_time += staging.elapsed();
                progress(Progress {
                    done: rows,
                    total: None,
                });
            }
        }
        stage(&mut tx, dialect, &mut chunk, &mut errors).await?;
        progress(Progress {
            done: rows,
            total: Some(rows),
        });

        if errors.total > 0 {
            tx.rollback().await?;
            return Err(InventoryError::Rows {
                file: file.to_owned(),
                errors: errors.listed,
                total: errors.total,
            });
        }
        if rows == 0 {
            return Err(InventoryError::File {
                file: file.to_owned(),
                message: "the file has a header but no rows".into(),
            });
        }
        let replacing = Instant::now();
        let months = replace_forecast(&mut tx, org).await?;
        tracing::debug!(
            read_and_validate_ms =
                (replacing.duration_since(started) - staging_time).as_millis() as u64,
            staging_ms = staging_time.as_millis() as u64,
            replace_ms = replacing.elapsed().as_millis() as u64,
            "forecast import phases"
        );
        if dialect == adpool_store::Dialect::Sqlite {
            sqlx::raw_sql("DROP TABLE temp.forecast_import")
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;

        let mut media_in_file: Vec<String> = months
            .iter()
            .map(|(id, _)| media_codes.get(id).cloned().unwrap_or_default())
            .collect();
        media_in_file.sort();
        media_in_file.dedup();
        let mut month_labels: Vec<String> = months
            .iter()
            .map(|(id, month)| {
                format!(
                    "{} {month}",
                    media_codes.get(id).map_or("?", String::as_str)
                )
            })
            .collect();
        month_labels.sort();
        let summary = ImportSummary {
            file: file.to_owned(),
            rows,
            media: media_in_file,
            months: month_labels,
            new_media,
            new_meta_ids: new_metas,
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        tracing::info!(
            file,
            rows,
            months = summary.months.len(),
            new_meta_ids = summary.new_meta_ids.len(),
            "forecast imported"
        );
        Ok(summary)
    }
}

/// Writes a chunk to the staging table; rows whose key is already staged are duplicates.
/// (`rows_affected` instead of `RETURNING`: returned rows cross sqlx's worker channel one by one.)
async fn stage(
    tx: &mut DbTx,
    dialect: adpool_store::Dialect,
    chunk: &mut Vec<StagedRow>,
    errors: &mut Errors,
) -> Result<(), InventoryError> {
    if chunk.is_empty() {
        return Ok(());
    }
    let mut sql = String::from(
        "INSERT INTO forecast_import (row_no, media_id, meta_id, part, date, hour, impressions) VALUES ",
    );
    sql.push_str(&dialect.values_rows(chunk.len(), 7));
    sql.push_str(" ON CONFLICT (meta_id, part, date, hour) DO NOTHING");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for row in chunk.iter() {
        query = query
            .bind(i64::try_from(row.row).unwrap_or(i64::MAX))
            .bind(row.media_id)
            .bind(row.meta_id)
            .bind(row.part.as_str())
            .bind(row.date.to_string())
            .bind(row.hour)
            .bind(row.impressions);
    }
    let inserted = query.execute(&mut **tx).await?.rows_affected();
    if inserted < chunk.len() as u64 {
        // Rare: some keys were already staged. Each row's key now belongs to exactly one staged
        // row; where that row is not this one, this one is the duplicate.
        for row in chunk.iter() {
            let first: i64 = sqlx::query("SELECT row_no FROM forecast_import WHERE meta_id = $1 AND part = $2 AND date = $3 AND hour = $4")
                .bind(row.meta_id)
                .bind(row.part.as_str())
                .bind(row.date.to_string())
                .bind(row.hour)
                .fetch_one(&mut **tx)
                .await?
                .try_get(0)?;
            if first != i64::try_from(row.row).unwrap_or(i64::MAX) {
                errors.push(
                    row.row,
                    "media,meta_id,part,date,hour",
                    &row.key,
                    format!("duplicate key (first at row {first})"),
                );
            }
        }
    }
    chunk.clear();
    Ok(())
}

/// Replaces the forecast of every (media, month) in the staging table; returns those pairs.
async fn replace_forecast(tx: &mut DbTx, org: OrgId) -> Result<Vec<(i64, String)>, InventoryError> {
    let pairs: Vec<(i64, String)> = sqlx::query("SELECT DISTINCT media_id, substr(date, 1, 7) AS month FROM forecast_import ORDER BY media_id, month")
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("media_id")?, r.try_get("month")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    for (media_id, month) in &pairs {
        sqlx::query(
            "DELETE FROM forecast_daily WHERE org_id = $1 AND month = $2 AND media_id = $3",
        )
        .bind(org.get())
        .bind(month)
        .bind(media_id)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO forecast_daily (org_id, media_id, meta_id, part, date, month, impressions)
         SELECT $1, media_id, meta_id, part, date, substr(date, 1, 7), CAST(SUM(impressions) AS BIGINT)
         FROM forecast_import GROUP BY media_id, meta_id, part, date",
    )
    .bind(org.get())
    .execute(&mut **tx)
    .await?;
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn whole_numbers_are_strict() {
        assert_eq!(whole_number("0"), Ok(0));
        assert_eq!(whole_number("1234"), Ok(1234));
        assert_eq!(whole_number("-3"), Err("negative number"));
        assert_eq!(whole_number("1.5"), Err("not a whole number"));
        assert_eq!(whole_number("1e3"), Err("not a whole number"));
        assert_eq!(whole_number(""), Err("missing number"));
        assert_eq!(
            whole_number("99999999999999999999"),
            Err("number too large")
        );
    }

    proptest! {
        #[test]
        fn whole_number_accepts_exactly_the_non_negative_integers(value in any::<i64>()) {
            let parsed = whole_number(&value.to_string());
            if value >= 0 { prop_assert_eq!(parsed, Ok(value)); } else { prop_assert_eq!(parsed, Err("negative number")); }
        }

        #[test]
        fn whole_number_never_panics(text in ".{0,30}") {
            let _ = whole_number(&text);
        }
    }
}
