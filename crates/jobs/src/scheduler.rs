//! Cron schedules in Korea Standard Time.
//!
//! A schedule names a job kind and a payload; each time its cron expression fires (evaluated in
//! KST), one job is enqueued with the dedupe key `schedule:<name>:<fire time>`, so even several
//! schedulers sharing a database enqueue it once. A schedule that missed firings while adpool was
//! down fires once on start and then continues from now (no storm of catch-up jobs).

use std::str::FromStr;

use adpool_core::{JobId, OrgId, SharedClock, kst};
use adpool_store::Db;
use chrono::{DateTime, Utc};
use croner::Cron;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Jobs, JobsError, NewJob};

/// A stored schedule.
#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    /// Its id.
    pub id: i64,
    /// Unique name, e.g. `maintenance.daily`.
    pub name: String,
    /// Cron expression (minute hour day month weekday), in KST.
    pub cron: String,
    /// Kind of the job it enqueues.
    pub job_kind: String,
    /// Payload of that job.
    pub payload: serde_json::Value,
    /// Organization of the job; `None` for system schedules.
    pub org_id: Option<OrgId>,
    /// Next firing (UTC ms).
    pub next_run_at: i64,
    /// Last firing (UTC ms).
    pub last_run_at: Option<i64>,
    /// When it was paused.
    pub paused_at: Option<i64>,
}

const COLUMNS: &str =
    "id, name, cron, job_kind, payload, org_id, next_run_at, last_run_at, paused_at";

impl Schedule {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let payload: String = row.try_get("payload")?;
        Ok(Schedule {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            cron: row.try_get("cron")?,
            job_kind: row.try_get("job_kind")?,
            payload: serde_json::from_str(&payload)
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            org_id: row.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
            next_run_at: row.try_get("next_run_at")?,
            last_run_at: row.try_get("last_run_at")?,
            paused_at: row.try_get("paused_at")?,
        })
    }
}

/// The first firing of `cron` strictly after `after_millis`, evaluated in KST (UTC ms).
pub fn next_fire_after(cron: &str, after_millis: i64) -> Result<i64, JobsError> {
    let parsed = Cron::from_str(cron).map_err(|e| JobsError::Invalid {
        field: "cron",
        message: format!("'{cron}' is not a cron expression: {e}"),
    })?;
    let after = DateTime::<Utc>::from_timestamp_millis(after_millis)
        .unwrap_or_default()
        .with_timezone(&kst());
    parsed
        .find_next_occurrence(&after, false)
        .map(|t| t.timestamp_millis())
        .map_err(|e| JobsError::Invalid {
            field: "cron",
            message: format!("'{cron}' never fires: {e}"),
        })
}

/// Keeps schedules and fires them.
#[derive(Clone, Debug)]
pub struct Scheduler {
    db: Db,
    clock: SharedClock,
    jobs: Jobs,
}

impl Scheduler {
    /// A scheduler enqueuing into `jobs`.
    pub fn new(jobs: Jobs) -> Self {
        Scheduler {
            db: jobs.db.clone(),
            clock: jobs.clock.clone(),
            jobs,
        }
    }

    /// Creates the schedule `name` or updates its cron, kind and payload (keeping paused state).
    pub async fn ensure(
        &self,
        name: &str,
        cron: &str,
        job_kind: &str,
        payload: serde_json::Value,
        org: Option<OrgId>,
    ) -> Result<Schedule, JobsError> {
        let now = self.clock.now_millis();
        let next = next_fire_after(cron, now)?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO schedules (name, cron, job_kind, payload, org_id, next_run_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (name) DO UPDATE SET
                next_run_at = CASE WHEN schedules.cron = excluded.cron THEN schedules.next_run_at ELSE excluded.next_run_at END,
                cron = excluded.cron, job_kind = excluded.job_kind, payload = excluded.payload, org_id = excluded.org_id
             RETURNING {COLUMNS}"
        )))
        .bind(name)
        .bind(cron)
        .bind(job_kind)
        .bind(payload.to_string())
        .bind(org.map(OrgId::get))
        .bind(next)
        .bind(now)
        .fetch_one(self.db.pool())
        .await?;
        Ok(Schedule::from_row(&row)?)
    }

    /// Schedules visible to `org`: its own, and the system's when `include_system`.
    pub async fn list(&self, org: OrgId, include_system: bool) -> Result<Vec<Schedule>, JobsError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM schedules WHERE (org_id IS NULL AND $2 = 1) OR org_id = $1 ORDER BY name"
        )))
        .bind(org.get())
        .bind(i64::from(include_system))
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .iter()
            .map(Schedule::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Enqueues a job for every due schedule and moves it to its next firing; returns the jobs.
    pub async fn tick(&self) -> Result<Vec<JobId>, JobsError> {
        let now = self.clock.now_millis();
        let due = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM schedules WHERE paused_at IS NULL AND next_run_at <= $1 ORDER BY next_run_at"
        )))
        .bind(now)
        .fetch_all(self.db.pool())
        .await?;
        let mut enqueued = Vec::new();
        for row in &due {
            let schedule = Schedule::from_row(row)?;
            let next = next_fire_after(&schedule.cron, now)?;
            let mut tx = self.db.begin_write().await?;
            // Only the scheduler that moves the schedule on enqueues; others see 0 rows.
            let moved = sqlx::query(
                "UPDATE schedules SET last_run_at = next_run_at, next_run_at = $1 WHERE id = $2 AND next_run_at = $3",
            )
            .bind(next)
            .bind(schedule.id)
            .bind(schedule.next_run_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved == 1 {
                let mut job = NewJob::new(&schedule.job_kind, schedule.payload.clone()).dedupe_key(
                    format!("schedule:{}:{}", schedule.name, schedule.next_run_at),
                );
                job.org_id = schedule.org_id;
                enqueued.push(self.jobs.enqueue_in(&mut tx, job).await?);
            }
            tx.commit().await?;
        }
        Ok(enqueued)
    }

    /// Fires due schedules every `period` until `shutdown` turns true.
    pub async fn run(
        self,
        period: std::time::Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
        wake: std::sync::Arc<tokio::sync::Notify>,
    ) {
        loop {
            match self.tick().await {
                Ok(jobs) if !jobs.is_empty() => {
                    tracing::info!(count = jobs.len(), "schedules fired");
                    wake.notify_one();
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "scheduler tick failed"),
            }
            tokio::select! {
                _ = shutdown.changed() => if *shutdown.borrow() { break },
                _ = tokio::time::sleep(period) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_fires_in_kst() {
        // 08:00 KST daily; at 2026-11-21 07:59 KST the next firing is 08:00 KST the same day,
        // which is 2026-11-20 23:00 UTC.
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-21T07:59:00+09:00")
            .unwrap()
            .timestamp_millis();
        let next = next_fire_after("0 8 * * *", at).unwrap();
        let expected = chrono::DateTime::parse_from_rfc3339("2026-11-20T23:00:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(next, expected);
        // Strictly after: at exactly 08:00 the next one is tomorrow.
        assert_eq!(
            next_fire_after("0 8 * * *", next).unwrap(),
            next + 86_400_000
        );
        assert!(next_fire_after("not cron", at).is_err());
    }
}
