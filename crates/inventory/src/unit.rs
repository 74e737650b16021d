//! Unit inventory: the daily, sellable split of each confirmed standard row.

use std::collections::HashMap;
use std::time::Instant;

use adpool_core::apportion_or_even;
use serde::Serialize;
use sqlx::Row;

use crate::build_lock::BuildLock;
use crate::{Inventory, InventoryError, Month, OrgId, Platform, Progress, ProgressFn};

/// What a unit build did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitBuild {
    /// The month built.
    pub month: Month,
    /// Standard rows split.
    pub standard_rows: u64,
    /// Unit rows written (one per day of the month per standard row).
    pub unit_rows: u64,
    /// Rows whose rebuilt total is below what is already reserved (shown as warnings; no sale lost).
    pub oversold: u64,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

/// One unit inventory row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitRow {
    /// Media code.
    pub media: String,
    /// meta_id code.
    pub meta_id: String,
    /// Platform.
    pub platform: Platform,
    /// KST date.
    pub date: String,
    /// Sellable total of the day.
    pub total: i64,
    /// Held by purchases.
    pub reserved: i64,
    /// How far the rebuilt total fell below `reserved` (0 unless oversold).
    pub shortfall: i64,
}

impl UnitRow {
    /// `total - reserved`: what is still for sale (never negative: `reserved <= total`).
    pub fn available(&self) -> i64 {
        self.total - self.reserved
    }

    /// True when purchases hold more than the day's total.
    pub fn oversold(&self) -> bool {
        self.shortfall > 0
    }
}

const UNIT_COLUMNS: usize = 8;

impl Inventory {
    /// Splits each standard row of a confirmed month over its days in proportion to the daily
    /// forecast (an all-zero forecast splits evenly) with the one `apportion`, and upserts the
    /// totals. `reserved` is never touched: a new total below it keeps `total = reserved` and
    /// records the gap as `shortfall` (the row is oversold).
    pub async fn build_unit(
        &self,
        org: OrgId,
        month: Month,
        holder: &str,
        progress: &mut ProgressFn<'_>,
    ) -> Result<UnitBuild, InventoryError> {
        let state = self.month_state(org, month).await?;
        if state.built_at.is_none() {
            return Err(InventoryError::Conflict(format!(
                "{month} has no standard inventory yet: build it first"
            )));
        }
        if state.confirmed_at.is_none() {
            return Err(InventoryError::Conflict(format!(
                "{month} is not confirmed: review its standard inventory and confirm it before building unit inventory"
            )));
        }
        let work = self.build_unit_locked(org, month, progress);
        BuildLock::hold(&self.db, org, month, "unit", holder, self.now(), work).await
    }

    async fn build_unit_locked(
        &self,
        org: OrgId,
        month: Month,
        progress: &mut ProgressFn<'_>,
    ) -> Result<UnitBuild, InventoryError> {
        let started = Instant::now();
        let now = self.now();
        let days = month.days();
        let day_index: HashMap<String, usize> = days
            .iter()
            .enumerate()
            .map(|(i, d)| (d.to_string(), i))
            .collect();
        let mut tx = self.db.begin_write().await?;
        let standard = sqlx::query("SELECT media_id, meta_id, platform, qty FROM standard_inventory WHERE org_id = $1 AND month = $2 ORDER BY id")
            .bind(org.get())
            .bind(month.to_string())
            .fetch_all(&mut *tx)
            .await?;
        let mut daily: HashMap<(i64, String), Vec<u64>> = HashMap::new();
        for row in sqlx::query(
            "SELECT f.meta_id, p.platform, f.date, CAST(SUM(f.impressions) AS BIGINT) AS impressions
             FROM forecast_daily f JOIN part_platforms p ON p.org_id = f.org_id AND p.part = f.part
             WHERE f.org_id = $1 AND f.month = $2
             GROUP BY f.meta_id, p.platform, f.date",
        )
        .bind(org.get())
        .bind(month.to_string())
        .fetch_all(&mut *tx)
        .await?
        {
            let date: String = row.try_get("date")?;
            let Some(&index) = day_index.get(&date) else { continue };
            let impressions: i64 = row.try_get("impressions")?;
            daily.entry((row.try_get("meta_id")?, row.try_get("platform")?)).or_insert_with(|| vec![0; days.len()])[index] =
                u64::try_from(impressions).unwrap_or(0);
        }

        let rows_per_batch = (self.db.dialect().max_rows_per_insert(UNIT_COLUMNS)).min(2000);
        let zero = vec![0u64; days.len()];
        let mut pending: Vec<(i64, i64, String, usize, i64)> = Vec::with_capacity(rows_per_batch);
        let total_rows = standard.len() as u64;
        let mut unit_rows = 0u64;
        for (done, row) in standard.iter().enumerate() {
            let media_id: i64 = row.try_get("media_id")?;
            let meta_id: i64 = row.try_get("meta_id")?;
            let platform: String = row.try_get("platform")?;
            let qty: i64 = row.try_get("qty")?;
            let weights = daily.get(&(meta_id, platform.clone())).unwrap_or(&zero);
            let totals = apportion_or_even(qty, weights).map_err(|e| InventoryError::Invalid {
                field: "qty",
                message: e.to_string(),
            })?;
            for (day, total) in totals.into_iter().enumerate() {
                pending.push((media_id, meta_id, platform.clone(), day, total));
                if pending.len() == rows_per_batch {
                    unit_rows += self
                        .upsert_units(&mut tx, org, month, &days, &mut pending, now)
                        .await?;
                }
            }
            if done % 200 == 0 {
                progress(Progress {
                    done: done as u64,
                    total: Some(total_rows),
                });
            }
        }
        unit_rows += self
            .upsert_units(&mut tx, org, month, &days, &mut pending, now)
            .await?;
        // Unit rows whose standard row is gone: free ones go; reserved ones become all shortfall.
        let orphan = "NOT EXISTS (SELECT 1 FROM standard_inventory s WHERE s.meta_id = unit_inventory.meta_id
                      AND s.platform = unit_inventory.platform AND s.month = unit_inventory.month)";
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM unit_inventory WHERE org_id = $1 AND month = $2 AND reserved = 0 AND {orphan}")))
            .bind(org.get())
            .bind(month.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE unit_inventory SET total = reserved, shortfall = reserved, updated_at = $3 WHERE org_id = $1 AND month = $2 AND shortfall <> reserved AND {orphan}"
        )))
        .bind(org.get())
        .bind(month.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let oversold: i64 = sqlx::query("SELECT COUNT(*) FROM unit_inventory WHERE org_id = $1 AND month = $2 AND shortfall > 0")
            .bind(org.get())
            .bind(month.to_string())
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        tx.commit().await?;
        progress(Progress {
            done: total_rows,
            total: Some(total_rows),
        });
        if oversold > 0 {
            tracing::warn!(%month, oversold, "unit inventory below reserved on some days");
        }
        Ok(UnitBuild {
            month,
            standard_rows: total_rows,
            unit_rows,
            oversold: oversold as u64,
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    async fn upsert_units(
        &self,
        tx: &mut adpool_store::DbTx,
        org: OrgId,
        month: Month,
        days: &[adpool_core::BusinessDate],
        pending: &mut Vec<(i64, i64, String, usize, i64)>,
        now: i64,
    ) -> Result<u64, InventoryError> {
        if pending.is_empty() {
            return Ok(0);
        }
        let mut sql = String::from(
            "INSERT INTO unit_inventory (org_id, media_id, meta_id, platform, date, month, total, updated_at) VALUES ",
        );
        sql.push_str(&self.db.dialect().values_rows(pending.len(), UNIT_COLUMNS));
        sql.push_str(" ON CONFLICT (meta_id, platform, date) DO UPDATE SET
               total = CASE WHEN excluded.total < unit_inventory.reserved THEN unit_inventory.reserved ELSE excluded.total END,
               shortfall = CASE WHEN excluded.total < unit_inventory.reserved THEN unit_inventory.reserved - excluded.total ELSE 0 END,
               updated_at = excluded.updated_at");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        let month_text = month.to_string();
        for (media_id, meta_id, platform, day, total) in pending.iter() {
            query = query
                .bind(org.get())
                .bind(*media_id)
                .bind(*meta_id)
                .bind(platform.as_str())
                .bind(days[*day].to_string())
                .bind(month_text.as_str())
                .bind(*total)
                .bind(now);
        }
        query.execute(&mut **tx).await?;
        let written = pending.len() as u64;
        pending.clear();
        Ok(written)
    }

    /// The month's unit rows, sorted by media, meta_id, platform and date.
    pub async fn unit_rows(
        &self,
        org: OrgId,
        month: Month,
    ) -> Result<Vec<UnitRow>, InventoryError> {
        let rows = sqlx::query(
            "SELECT m.code AS media, mi.code AS meta_code, u.platform, u.date, u.total, u.reserved, u.shortfall
             FROM unit_inventory u JOIN media m ON m.id = u.media_id JOIN meta_ids mi ON mi.id = u.meta_id
             WHERE u.org_id = $1 AND u.month = $2 ORDER BY m.code, mi.code, u.platform, u.date",
        )
        .bind(org.get())
        .bind(month.to_string())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let platform: String = r.try_get("platform")?;
                Ok(UnitRow {
                    media: r.try_get("media")?,
                    meta_id: r.try_get("meta_code")?,
                    platform: Platform::parse(&platform).ok_or_else(|| {
                        InventoryError::Invalid {
                            field: "platform",
                            message: platform.clone(),
                        }
                    })?,
                    date: r.try_get("date")?,
                    total: r.try_get("total")?,
                    reserved: r.try_get("reserved")?,
                    shortfall: r.try_get("shortfall")?,
                })
            })
            .collect()
    }
}
