//! One build per organization and month at a time, across processes: a row in
//! `inventory_build_locks`. A lock older than [`STALE_AFTER_MILLIS`] belongs to a crashed build
//! and is taken over.

use adpool_core::format_kst_datetime;
use adpool_store::Db;
use sqlx::Row;

use crate::{InventoryError, Month, OrgId};

/// A build holding its lock longer than this is presumed dead.
pub(crate) const STALE_AFTER_MILLIS: i64 = 60 * 60 * 1000;

pub(crate) struct BuildLock {
    db: Db,
    org: OrgId,
    month: Month,
    holder: String,
}

impl BuildLock {
    /// Runs `work` while holding the lock of `org`'s `month`, releasing it whatever `work` returns.
    pub(crate) async fn hold<T>(
        db: &Db,
        org: OrgId,
        month: Month,
        build: &str,
        holder: &str,
        now: i64,
        work: impl std::future::Future<Output = Result<T, InventoryError>>,
    ) -> Result<T, InventoryError> {
        let lock = Self::acquire(db, org, month, build, holder, now).await?;
        let result = work.await;
        lock.release().await?;
        result
    }

    pub(crate) async fn acquire(
        db: &Db,
        org: OrgId,
        month: Month,
        build: &str,
        holder: &str,
        now: i64,
    ) -> Result<BuildLock, InventoryError> {
        let taken = sqlx::query(
            "INSERT INTO inventory_build_locks (org_id, month, build, holder, started_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (org_id, month) DO UPDATE SET build = excluded.build, holder = excluded.holder, started_at = excluded.started_at
             WHERE inventory_build_locks.started_at < $6
             RETURNING holder",
        )
        .bind(org.get())
        .bind(month.to_string())
        .bind(build)
        .bind(holder)
        .bind(now)
        .bind(now - STALE_AFTER_MILLIS)
        .fetch_optional(db.pool())
        .await?;
        if taken.is_some() {
            return Ok(BuildLock {
                db: db.clone(),
                org,
                month,
                holder: holder.to_owned(),
            });
        }
        let row = sqlx::query("SELECT build, holder, started_at FROM inventory_build_locks WHERE org_id = $1 AND month = $2")
            .bind(org.get())
            .bind(month.to_string())
            .fetch_optional(db.pool())
            .await?;
        let message = match row {
            Some(row) => {
                let build: String = row.try_get("build")?;
                let other: String = row.try_get("holder")?;
                let started: i64 = row.try_get("started_at")?;
                format!(
                    "a {build} build of {month} is already running (started {} by {other}); wait for it to finish and try again",
                    format_kst_datetime(started)
                )
            }
            None => format!("another build of {month} just finished; try again"),
        };
        Err(InventoryError::Conflict(message))
    }

    pub(crate) async fn release(self) -> Result<(), InventoryError> {
        sqlx::query(
            "DELETE FROM inventory_build_locks WHERE org_id = $1 AND month = $2 AND holder = $3",
        )
        .bind(self.org.get())
        .bind(self.month.to_string())
        .bind(&self.holder)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}
