//! Standard inventory: the monthly, hand-correctable total per media x meta_id x platform.

use std::collections::HashMap;
use std::time::Instant;

use adpool_store::DbTx;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::build_lock::BuildLock;
use crate::catalog::ensure_part_platforms;
use crate::{Inventory, InventoryError, Month, OrgId, Platform, Progress, ProgressFn, UserId};

/// What a standard build did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StandardBuild {
    /// The month built.
    pub month: Month,
    /// Standard rows of the month after the build.
    pub rows: u64,
    /// Rows created.
    pub created: u64,
    /// Rows whose forecast changed.
    pub updated: u64,
    /// Rows removed (no forecast left and never corrected by hand).
    pub removed: u64,
    /// True when the build changed a confirmed month, which now needs confirming again.
    pub unconfirmed: bool,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

/// One standard inventory row as shown and exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StandardRow {
    /// Its id.
    pub id: i64,
    /// Media code.
    pub media: String,
    /// meta_id code.
    pub meta_id: String,
    /// meta_id name.
    pub meta_name: String,
    /// Content owner code, when assigned.
    pub content_owner: Option<String>,
    /// Platform.
    pub platform: Platform,
    /// Month.
    pub month: Month,
    /// Sum of the forecast.
    pub forecast_qty: i64,
    /// Sellable quantity (starts at the forecast; operators correct it).
    pub qty: i64,
    /// Month-over-month change of the forecast, in millionths; `None` without a previous month.
    pub change_rate_ppm: Option<i64>,
    /// When the quantity was last corrected by hand.
    pub qty_edited_at: Option<i64>,
}

/// The state of a month's standard inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthState {
    /// Last build.
    pub built_at: Option<i64>,
    /// When it was confirmed (required before the unit build); cleared by any change.
    pub confirmed_at: Option<i64>,
}

/// Which standard rows an operation applies to; `None` fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StandardFilter {
    /// Media code.
    pub media: Option<String>,
    /// Platform.
    pub platform: Option<Platform>,
    /// Content owner code.
    pub content_owner: Option<String>,
}

impl StandardFilter {
    /// True when `row` matches.
    pub fn matches(&self, row: &StandardRow) -> bool {
        self.media.as_ref().is_none_or(|m| *m == row.media)
            && self.platform.is_none_or(|p| p == row.platform)
            && self
                .content_owner
                .as_ref()
                .is_none_or(|co| Some(co) == row.content_owner.as_ref())
    }
}

/// One audited correction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// The standard row.
    pub standard_id: i64,
    /// Media code.
    pub media: String,
    /// meta_id code.
    pub meta_id: String,
    /// Platform.
    pub platform: Platform,
    /// Who (display name), when known.
    pub user: Option<String>,
    /// Quantity before.
    pub old_qty: i64,
    /// Quantity after.
    pub new_qty: i64,
    /// Why.
    pub note: String,
    /// When (UTC ms).
    pub changed_at: i64,
}

/// A month that has a forecast or standard inventory, with its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthSummary {
    /// The month.
    pub month: Month,
    /// Forecast rows (daily, per part) stored for it.
    pub forecast_rows: i64,
    /// Standard rows.
    pub standard_rows: i64,
    /// Unit rows.
    pub unit_rows: i64,
    /// Unit rows whose total is below reserved.
    pub oversold: i64,
    /// Last standard build.
    pub built_at: Option<i64>,
    /// Confirmation.
    pub confirmed_at: Option<i64>,
}

/// `(current - previous) / previous` in millionths, rounded half away from zero; `None` when the
/// previous month has no forecast or zero.
pub fn change_rate_ppm(current: i64, previous: Option<i64>) -> Option<i64> {
    let previous = i128::from(previous.filter(|&p| p > 0)?);
    let numerator = (i128::from(current) - previous) * 1_000_000;
    let (quotient, remainder) = (numerator / previous, numerator % previous);
    let rounded = if 2 * remainder.abs() >= previous {
        quotient + numerator.signum()
    } else {
        quotient
    };
    i64::try_from(rounded).ok()
}

const ROW_SELECT: &str =
    "SELECT s.id, m.code AS media, mi.code AS meta_code, mi.name AS meta_name, co.code AS co_code,
        s.platform, s.month, s.forecast_qty, s.qty, s.change_rate_ppm, s.qty_edited_at
     FROM standard_inventory s
     JOIN media m ON m.id = s.media_id
     JOIN meta_ids mi ON mi.id = s.meta_id
     LEFT JOIN content_owners co ON co.id = mi.co_id";

impl StandardRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let platform: String = row.try_get("platform")?;
        let month: String = row.try_get("month")?;
        Ok(StandardRow {
            id: row.try_get("id")?,
            media: row.try_get("media")?,
            meta_id: row.try_get("meta_code")?,
            meta_name: row.try_get("meta_name")?,
            content_owner: row.try_get("co_code")?,
            platform: Platform::parse(&platform)
                .ok_or_else(|| sqlx::Error::Decode(format!("platform {platform}").into()))?,
            month: month
                .parse()
                .map_err(|e: InventoryError| sqlx::Error::Decode(e.to_string().into()))?,
            forecast_qty: row.try_get("forecast_qty")?,
            qty: row.try_get("qty")?,
            change_rate_ppm: row.try_get("change_rate_ppm")?,
            qty_edited_at: row.try_get("qty_edited_at")?,
        })
    }
}

/// A standard row as it was before a build.
struct Existing {
    id: i64,
    forecast_qty: i64,
    change_rate_ppm: Option<i64>,
    qty_edited_at: Option<i64>,
}

/// Monthly forecast per (meta_id, platform) with its media, through the part mapping.
async fn monthly_forecast(
    tx: &mut DbTx,
    org: OrgId,
    month: Month,
) -> Result<HashMap<(i64, Platform), (i64, i64)>, InventoryError> {
    let rows = sqlx::query(
        "SELECT f.media_id, f.meta_id, p.platform, CAST(SUM(f.impressions) AS BIGINT) AS qty
         FROM forecast_daily f JOIN part_platforms p ON p.org_id = f.org_id AND p.part = f.part
         WHERE f.org_id = $1 AND f.month = $2
         GROUP BY f.media_id, f.meta_id, p.platform",
    )
    .bind(org.get())
    .bind(month.to_string())
    .fetch_all(&mut **tx)
    .await?;
    let mut map = HashMap::with_capacity(rows.len());
    for row in rows {
        let platform: String = row.try_get("platform")?;
        let platform = Platform::parse(&platform)
            .ok_or_else(|| sqlx::Error::Decode(format!("platform {platform}").into()))?;
        map.insert(
            (row.try_get("meta_id")?, platform),
            (row.try_get("media_id")?, row.try_get("qty")?),
        );
    }
    Ok(map)
}

impl Inventory {
    /// Builds `month`'s standard inventory from the forecast: forecast_qty and change rate are
    /// refreshed; a quantity corrected by hand is kept; rows whose forecast vanished are removed
    /// unless corrected by hand (those keep their quantity with a forecast of 0). A change to a
    /// confirmed month clears the confirmation.
    pub async fn build_standard(
        &self,
        org: OrgId,
        month: Month,
        holder: &str,
        progress: &mut ProgressFn<'_>,
    ) -> Result<StandardBuild, InventoryError> {
        let work = self.build_standard_locked(org, month, progress);
        BuildLock::hold(&self.db, org, month, "standard", holder, self.now(), work).await
    }

    async fn build_standard_locked(
        &self,
        org: OrgId,
        month: Month,
        progress: &mut ProgressFn<'_>,
    ) -> Result<StandardBuild, InventoryError> {
        let started = Instant::now();
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        ensure_part_platforms(&mut tx, org).await?;
        let current = monthly_forecast(&mut tx, org, month).await?;
        let previous = monthly_forecast(&mut tx, org, month.previous()).await?;
        let existing: HashMap<(i64, Platform), Existing> =
            sqlx::query("SELECT id, meta_id, platform, forecast_qty, change_rate_ppm, qty_edited_at FROM standard_inventory WHERE org_id = $1 AND month = $2")
                .bind(org.get())
                .bind(month.to_string())
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| {
                    let platform: String = r.try_get("platform")?;
                    let platform = Platform::parse(&platform).unwrap_or(Platform::Pc);
                    let existing = Existing {
                        id: r.try_get("id")?,
                        forecast_qty: r.try_get("forecast_qty")?,
                        change_rate_ppm: r.try_get("change_rate_ppm")?,
                        qty_edited_at: r.try_get("qty_edited_at")?,
                    };
                    Ok(((r.try_get("meta_id")?, platform), existing))
                })
                .collect::<Result<_, sqlx::Error>>()?;

        let mut keys: Vec<&(i64, Platform)> = current.keys().collect();
        keys.sort();
        let total = keys.len() as u64;
        let (mut created, mut updated) = (0u64, 0u64);
        for (done, batch) in keys.chunks(1000).enumerate() {
            let mut sql = String::from(
                "INSERT INTO standard_inventory (org_id, media_id, meta_id, platform, month, forecast_qty, qty, change_rate_ppm, updated_at) VALUES ",
            );
            sql.push_str(&self.db.dialect().values_rows(batch.len(), 9));
            sql.push_str(
                " ON CONFLICT (meta_id, platform, month) DO UPDATE SET forecast_qty = excluded.forecast_qty,
                   change_rate_ppm = excluded.change_rate_ppm, updated_at = excluded.updated_at,
                   qty = CASE WHEN standard_inventory.qty_edited_at IS NULL THEN excluded.qty ELSE standard_inventory.qty END",
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for key in batch {
                let (media_id, qty) = current[*key];
                let rate = change_rate_ppm(qty, previous.get(*key).map(|(_, q)| *q));
                match existing.get(*key) {
                    None => created += 1,
                    Some(old) if old.forecast_qty != qty || old.change_rate_ppm != rate => {
                        updated += 1
                    }
                    Some(_) => {}
                }
                query = query
                    .bind(org.get())
                    .bind(media_id)
                    .bind(key.0)
                    .bind(key.1.as_str())
                    .bind(month.to_string())
                    .bind(qty)
                    .bind(qty)
                    .bind(rate)
                    .bind(now);
            }
            query.execute(&mut *tx).await?;
            progress(Progress {
                done: ((done * 1000) as u64 + batch.len() as u64).min(total),
                total: Some(total),
            });
        }
        let mut removed = 0u64;
        for (key, old) in &existing {
            if current.contains_key(key) {
                continue;
            }
            let id = old.id;
            if old.qty_edited_at.is_some() {
                if old.forecast_qty != 0 {
                    sqlx::query("UPDATE standard_inventory SET forecast_qty = 0, change_rate_ppm = $1, updated_at = $2 WHERE id = $3")
                        .bind(change_rate_ppm(0, previous.get(key).map(|(_, q)| *q)))
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    updated += 1;
                }
            } else {
                sqlx::query("DELETE FROM standard_inventory WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                removed += 1;
            }
        }
        let changed = created + updated + removed > 0;
        let unconfirmed = changed
            && self
                .month_state_in(&mut tx, org, month)
                .await?
                .confirmed_at
                .is_some();
        sqlx::query(
            "INSERT INTO standard_months (org_id, month, built_at) VALUES ($1, $2, $3)
             ON CONFLICT (org_id, month) DO UPDATE SET built_at = excluded.built_at,
               confirmed_at = CASE WHEN $4 = 1 THEN NULL ELSE standard_months.confirmed_at END,
               confirmed_by = CASE WHEN $4 = 1 THEN NULL ELSE standard_months.confirmed_by END",
        )
        .bind(org.get())
        .bind(month.to_string())
        .bind(now)
        .bind(i64::from(changed))
        .execute(&mut *tx)
        .await?;
        let rows: i64 =
            sqlx::query("SELECT COUNT(*) FROM standard_inventory WHERE org_id = $1 AND month = $2")
                .bind(org.get())
                .bind(month.to_string())
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        tx.commit().await?;
        let build = StandardBuild {
            month,
            rows: rows as u64,
            created,
            updated,
            removed,
            unconfirmed,
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        tracing::info!(%month, rows, created, updated, removed, "standard inventory built");
        Ok(build)
    }

    /// The month's standard rows, sorted by media, meta_id and platform.
    pub async fn standard_rows(
        &self,
        org: OrgId,
        month: Month,
    ) -> Result<Vec<StandardRow>, InventoryError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ROW_SELECT} WHERE s.org_id = $1 AND s.month = $2 ORDER BY m.code, mi.code, s.platform"
        )))
        .bind(org.get())
        .bind(month.to_string())
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .iter()
            .map(StandardRow::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Whether the month was built and confirmed.
    pub async fn month_state(
        &self,
        org: OrgId,
        month: Month,
    ) -> Result<MonthState, InventoryError> {
        let mut tx = self.db.begin().await?;
        let state = self.month_state_in(&mut tx, org, month).await?;
        tx.commit().await?;
        Ok(state)
    }

    async fn month_state_in(
        &self,
        tx: &mut DbTx,
        org: OrgId,
        month: Month,
    ) -> Result<MonthState, InventoryError> {
        let row = sqlx::query(
            "SELECT built_at, confirmed_at FROM standard_months WHERE org_id = $1 AND month = $2",
        )
        .bind(org.get())
        .bind(month.to_string())
        .fetch_optional(&mut **tx)
        .await?;
        Ok(match row {
            Some(row) => MonthState {
                built_at: row.try_get("built_at")?,
                confirmed_at: row.try_get("confirmed_at")?,
            },
            None => MonthState {
                built_at: None,
                confirmed_at: None,
            },
        })
    }

    /// Corrects one row's quantity by hand, with an audit entry; the month needs confirming again.
    pub async fn set_standard_qty(
        &self,
        org: OrgId,
        id: i64,
        qty: i64,
        user: Option<UserId>,
        note: &str,
    ) -> Result<StandardRow, InventoryError> {
        if qty < 0 {
            return Err(InventoryError::Invalid {
                field: "qty",
                message: format!("{qty} is negative"),
            });
        }
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let row =
            sqlx::query("SELECT qty, month FROM standard_inventory WHERE id = $1 AND org_id = $2")
                .bind(id)
                .bind(org.get())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(InventoryError::NotFound)?;
        let old: i64 = row.try_get("qty")?;
        let month: String = row.try_get("month")?;
        if old != qty {
            sqlx::query("UPDATE standard_inventory SET qty = $1, qty_edited_at = $2, updated_at = $2 WHERE id = $3")
                .bind(qty)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO standard_audit (org_id, standard_id, user_id, old_qty, new_qty, note, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(org.get())
                .bind(id)
                .bind(user.map(UserId::get))
                .bind(old)
                .bind(qty)
                .bind(note)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE standard_months SET confirmed_at = NULL, confirmed_by = NULL WHERE org_id = $1 AND month = $2")
                .bind(org.get())
                .bind(&month)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{ROW_SELECT} WHERE s.id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(StandardRow::from_row(&row)?)
    }

    /// Sets every row matching `filter` to `percent_bp` (basis points, 8000 = 80%) of its
    /// forecast, rounded half up; each change audited. Returns how many rows changed.
    pub async fn set_standard_percent(
        &self,
        org: OrgId,
        month: Month,
        filter: &StandardFilter,
        percent_bp: i64,
        user: Option<UserId>,
    ) -> Result<u64, InventoryError> {
        if !(0..=100_000).contains(&percent_bp) {
            return Err(InventoryError::Invalid {
                field: "percent",
                message: format!("{} must be between 0% and 1000%", percent_bp as f64 / 100.0),
            });
        }
        let note = format!(
            "set to {}.{:02}% of forecast",
            percent_bp / 100,
            percent_bp % 100
        );
        let mut changed = 0;
        for row in self
            .standard_rows(org, month)
            .await?
            .into_iter()
            .filter(|r| filter.matches(r))
        {
            let qty = i64::try_from(
                (i128::from(row.forecast_qty) * i128::from(percent_bp) + 5_000) / 10_000,
            )
            .unwrap_or(i64::MAX);
            if qty != row.qty {
                self.set_standard_qty(org, row.id, qty, user, &note).await?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// The month's corrections, newest first.
    pub async fn audit_entries(
        &self,
        org: OrgId,
        month: Month,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, InventoryError> {
        let rows = sqlx::query(
            "SELECT a.standard_id, m.code AS media, mi.code AS meta_code, s.platform, u.display_name, a.old_qty, a.new_qty, a.note, a.changed_at
             FROM standard_audit a
             JOIN standard_inventory s ON s.id = a.standard_id
             JOIN media m ON m.id = s.media_id JOIN meta_ids mi ON mi.id = s.meta_id
             LEFT JOIN users u ON u.id = a.user_id
             WHERE a.org_id = $1 AND s.month = $2 ORDER BY a.id DESC LIMIT $3",
        )
        .bind(org.get())
        .bind(month.to_string())
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let platform: String = r.try_get("platform")?;
                Ok(AuditEntry {
                    standard_id: r.try_get("standard_id")?,
                    media: r.try_get("media")?,
                    meta_id: r.try_get("meta_code")?,
                    platform: Platform::parse(&platform).unwrap_or(Platform::Pc),
                    user: r.try_get("display_name")?,
                    old_qty: r.try_get("old_qty")?,
                    new_qty: r.try_get("new_qty")?,
                    note: r.try_get("note")?,
                    changed_at: r.try_get("changed_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Every month with a forecast or inventory, newest first.
    pub async fn months(&self, org: OrgId) -> Result<Vec<MonthSummary>, InventoryError> {
        let rows = sqlx::query(
            "SELECT month,
                    (SELECT COUNT(*) FROM forecast_daily f WHERE f.org_id = $1 AND f.month = x.month) AS forecast_rows,
                    (SELECT COUNT(*) FROM standard_inventory s WHERE s.org_id = $1 AND s.month = x.month) AS standard_rows,
                    (SELECT COUNT(*) FROM unit_inventory u WHERE u.org_id = $1 AND u.month = x.month) AS unit_rows,
                    (SELECT COUNT(*) FROM unit_inventory u WHERE u.org_id = $1 AND u.month = x.month AND u.shortfall > 0) AS oversold,
                    (SELECT built_at FROM standard_months sm WHERE sm.org_id = $1 AND sm.month = x.month) AS built_at,
                    (SELECT confirmed_at FROM standard_months sm WHERE sm.org_id = $1 AND sm.month = x.month) AS confirmed_at
             FROM (SELECT DISTINCT month FROM forecast_daily WHERE org_id = $1
                   UNION SELECT month FROM standard_months WHERE org_id = $1) x
             ORDER BY month DESC",
        )
        .bind(org.get())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let month: String = r.try_get("month")?;
                Ok(MonthSummary {
                    month: month.parse()?,
                    forecast_rows: r.try_get("forecast_rows")?,
                    standard_rows: r.try_get("standard_rows")?,
                    unit_rows: r.try_get("unit_rows")?,
                    oversold: r.try_get("oversold")?,
                    built_at: r.try_get("built_at")?,
                    confirmed_at: r.try_get("confirmed_at")?,
                })
            })
            .collect()
    }

    /// Confirms a built month so its unit inventory may be built.
    pub async fn confirm_month(
        &self,
        org: OrgId,
        month: Month,
        user: Option<UserId>,
    ) -> Result<(), InventoryError> {
        let updated = sqlx::query("UPDATE standard_months SET confirmed_at = $1, confirmed_by = $2 WHERE org_id = $3 AND month = $4 AND built_at IS NOT NULL")
            .bind(self.now())
            .bind(user.map(UserId::get))
            .bind(org.get())
            .bind(month.to_string())
            .execute(self.db.pool())
            .await?
            .rows_affected();
        if updated == 0 {
            return Err(InventoryError::Conflict(format!(
                "{month} has no standard inventory yet: build it first"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::change_rate_ppm;

    #[test]
    fn change_rate_is_exact_to_the_millionth() {
        assert_eq!(change_rate_ppm(110, Some(100)), Some(100_000));
        assert_eq!(change_rate_ppm(50, Some(100)), Some(-500_000));
        assert_eq!(change_rate_ppm(2, Some(3)), Some(-333_333));
        assert_eq!(change_rate_ppm(1, Some(3)), Some(-666_667));
        assert_eq!(change_rate_ppm(100, None), None);
        assert_eq!(change_rate_ppm(100, Some(0)), None);
        assert_eq!(change_rate_ppm(0, Some(7)), Some(-1_000_000));
    }
}
