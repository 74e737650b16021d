//! The durable job table and the operations on it.

use adpool_core::{JobId, OrgId, SharedClock, UserId};
use adpool_store::{Db, DbTx};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::JobsError;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for its run-at time or a free worker.
    Queued,
    /// Claimed by a worker.
    Running,
    /// Finished well.
    Succeeded,
    /// Failed for good (permanent error or attempts exhausted).
    Failed,
    /// Cancelled before it ran.
    Cancelled,
}

impl JobState {
    /// Every state, for filters.
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// True once the job will not run again by itself.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

/// How far a job has got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Units done.
    pub done: i64,
    /// Units in all, when known.
    pub total: Option<i64>,
    /// What it is doing now, in words.
    pub note: Option<String>,
}

impl Progress {
    /// Percentage done, when the total is known.
    pub fn percent(&self) -> Option<i64> {
        self.total
            .filter(|&t| t > 0)
            .map(|t| (self.done.clamp(0, t) * 100) / t)
    }
}

/// A job as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// The organization it works for; `None` for system jobs.
    pub org_id: Option<OrgId>,
    /// Which handler runs it, e.g. `notification.webhook`.
    pub kind: String,
    /// The handler's input.
    pub payload: serde_json::Value,
    /// Its state.
    pub state: JobState,
    /// Runs started so far.
    pub attempts: i64,
    /// Runs allowed.
    pub max_attempts: i64,
    /// Not before this instant (UTC ms).
    pub run_at: i64,
    /// The error of the last failed run.
    pub last_error: Option<String>,
    /// Progress reported by the handler.
    pub progress: Progress,
    /// The handler's result summary.
    pub result: Option<serde_json::Value>,
    /// Who started it.
    pub created_by: Option<UserId>,
    /// When it was enqueued (UTC ms).
    pub created_at: i64,
    /// When it first started (UTC ms).
    pub started_at: Option<i64>,
    /// When it reached a final state (UTC ms).
    pub finished_at: Option<i64>,
}

pub(crate) const JOB_COLUMNS: &str = "id, org_id, kind, payload, state, attempts, max_attempts, run_at, last_error, \
     progress_done, progress_total, progress_note, result, created_by, created_at, started_at, finished_at";

impl Job {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let state: String = row.try_get("state")?;
        let payload: String = row.try_get("payload")?;
        let result: Option<String> = row.try_get("result")?;
        let decode = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
        Ok(Job {
            id: JobId(row.try_get("id")?),
            org_id: row.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
            kind: row.try_get("kind")?,
            payload: serde_json::from_str(&payload).map_err(decode)?,
            state: JobState::parse(&state)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown job state {state}").into()))?,
            attempts: row.try_get("attempts")?,
            max_attempts: row.try_get("max_attempts")?,
            run_at: row.try_get("run_at")?,
            last_error: row.try_get("last_error")?,
            progress: Progress {
                done: row.try_get("progress_done")?,
                total: row.try_get("progress_total")?,
                note: row.try_get("progress_note")?,
            },
            result: result
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(decode)?,
            created_by: row.try_get::<Option<i64>, _>("created_by")?.map(UserId),
            created_at: row.try_get("created_at")?,
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
        })
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Handler kind.
    pub kind: String,
    /// Handler input.
    pub payload: serde_json::Value,
    /// Organization it works for (`None`: a system job).
    pub org_id: Option<OrgId>,
    /// Who asked for it (notified when it ends).
    pub created_by: Option<UserId>,
    /// Not before this instant (UTC ms); `None` means now.
    pub run_at: Option<i64>,
    /// Runs allowed, at least 1.
    pub max_attempts: i64,
    /// At most one job ever exists per key: enqueuing again returns the existing job.
    pub dedupe_key: Option<String>,
}

impl NewJob {
    /// A job of `kind` with `payload`, 5 attempts, runnable now.
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        NewJob {
            kind: kind.into(),
            payload,
            org_id: None,
            created_by: None,
            run_at: None,
            max_attempts: 5,
            dedupe_key: None,
        }
    }

    /// For an organization.
    pub fn for_org(mut self, org: OrgId) -> Self {
        self.org_id = Some(org);
        self
    }

    /// Started by a user.
    pub fn created_by(mut self, user: UserId) -> Self {
        self.created_by = Some(user);
        self
    }

    /// Not before `millis`.
    pub fn run_at(mut self, millis: i64) -> Self {
        self.run_at = Some(millis);
        self
    }

    /// With this many attempts.
    pub fn max_attempts(mut self, attempts: i64) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// At most once per key.
    pub fn dedupe_key(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }
}

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only this state.
    pub state: Option<JobState>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Include system jobs (no organization) too: for admins.
    pub include_system: bool,
    /// At most this many (default 100, at most 500).
    pub limit: Option<i64>,
}

/// The queue: enqueue, look, cancel, retry. Workers use the crate-internal claim/finish calls.
#[derive(Clone, Debug)]
pub struct Jobs {
    pub(crate) db: Db,
    pub(crate) clock: SharedClock,
}

impl Jobs {
    /// The queue on `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Jobs { db, clock }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Enqueues a job in its own transaction.
    pub async fn enqueue(&self, job: NewJob) -> Result<JobId, JobsError> {
        let mut tx = self.db.begin_write().await?;
        let id = self.enqueue_in(&mut tx, job).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Enqueues a job inside the caller's transaction, so it exists exactly when the caller's
    /// change commits. With a dedupe key already used, returns that job instead.
    pub async fn enqueue_in(&self, tx: &mut DbTx, job: NewJob) -> Result<JobId, JobsError> {
        if job.kind.trim().is_empty() {
            return Err(JobsError::Invalid {
                field: "kind",
                message: "must not be empty".into(),
            });
        }
        let now = self.clock.now_millis();
        let inserted = sqlx::query(
            "INSERT INTO jobs (org_id, kind, payload, state, max_attempts, run_at, dedupe_key, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $8)
             ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        )
        .bind(job.org_id.map(OrgId::get))
        .bind(&job.kind)
        .bind(job.payload.to_string())
        .bind(job.max_attempts.max(1))
        .bind(job.run_at.unwrap_or(now))
        .bind(&job.dedupe_key)
        .bind(job.created_by.map(UserId::get))
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
        let id: i64 = match inserted {
            Some(row) => row.try_get("id")?,
            None => sqlx::query("SELECT id FROM jobs WHERE dedupe_key = $1")
                .bind(&job.dedupe_key)
                .fetch_one(&mut **tx)
                .await?
                .try_get("id")?,
        };
        Ok(JobId(id))
    }

    /// A job visible to `org` (system jobs only when `include_system`).
    pub async fn job(&self, org: OrgId, id: JobId, include_system: bool) -> Result<Job, JobsError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND (org_id = $2 OR (org_id IS NULL AND $3 = 1))"
        )))
        .bind(id.get())
        .bind(org.get())
        .bind(i64::from(include_system))
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(JobsError::NotFound)?;
        Ok(Job::from_row(&row)?)
    }

    /// Any job by id, regardless of organization: for workers and the CLI, never for requests.
    pub async fn job_unscoped(&self, id: JobId) -> Result<Job, JobsError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"
        )))
        .bind(id.get())
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(JobsError::NotFound)?;
        Ok(Job::from_row(&row)?)
    }

    /// Jobs visible to `org`, newest first.
    pub async fn list(&self, org: OrgId, filter: &JobFilter) -> Result<Vec<Job>, JobsError> {
        let limit = filter.limit.unwrap_or(100).clamp(1, 500);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs
             WHERE (org_id = $1 OR (org_id IS NULL AND $2 = 1))
               AND ($3 = '' OR state = $3) AND ($4 = '' OR kind = $4)
             ORDER BY id DESC LIMIT $5"
        )))
        .bind(org.get())
        .bind(i64::from(filter.include_system))
        .bind(filter.state.map_or("", JobState::as_str))
        .bind(filter.kind.as_deref().unwrap_or(""))
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.iter().map(Job::from_row).collect::<Result<_, _>>()?)
    }

    /// Counts of the organization's jobs per state (for the dashboard).
    pub async fn counts(&self, org: OrgId) -> Result<Vec<(JobState, i64)>, JobsError> {
        let rows =
            sqlx::query("SELECT state, COUNT(*) AS n FROM jobs WHERE org_id = $1 GROUP BY state")
                .bind(org.get())
                .fetch_all(self.db.pool())
                .await?;
        let mut counts = Vec::new();
        for row in rows {
            let state: String = row.try_get("state")?;
            if let Some(state) = JobState::parse(&state) {
                counts.push((state, row.try_get("n")?));
            }
        }
        counts.sort_by_key(|(s, _)| JobState::ALL.iter().position(|x| x == s));
        Ok(counts)
    }

    /// Cancels a queued job of `org`. A running or finished job cannot be cancelled.
    pub async fn cancel(&self, org: OrgId, id: JobId) -> Result<Job, JobsError> {
        let now = self.clock.now_millis();
        let updated = sqlx::query(
            "UPDATE jobs SET state = 'cancelled', finished_at = $1, updated_at = $1
             WHERE id = $2 AND org_id = $3 AND state = 'queued'",
        )
        .bind(now)
        .bind(id.get())
        .bind(org.get())
        .execute(self.db.pool())
        .await?
        .rows_affected();
        let job = self.job(org, id, false).await?;
        if updated == 0 {
            return Err(JobsError::Conflict(format!(
                "job {} is {}, only a queued job can be cancelled",
                id,
                job.state.as_str()
            )));
        }
        Ok(job)
    }

    /// Puts a failed or cancelled job of `org` back in the queue with fresh attempts.
    pub async fn retry(&self, org: OrgId, id: JobId) -> Result<Job, JobsError> {
        let now = self.clock.now_millis();
        let updated = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, finished_at = NULL, locked_by = NULL,
                    locked_until = NULL, updated_at = $1
             WHERE id = $2 AND org_id = $3 AND state IN ('failed', 'cancelled')",
        )
        .bind(now)
        .bind(id.get())
        .bind(org.get())
        .execute(self.db.pool())
        .await?
        .rows_affected();
        let job = self.job(org, id, false).await?;
        if updated == 0 {
            return Err(JobsError::Conflict(format!(
                "job {} is {}, only a failed or cancelled job can be retried",
                id,
                job.state.as_str()
            )));
        }
        Ok(job)
    }

    /// Records progress of a running job and extends its lease.
    pub async fn set_progress(
        &self,
        id: JobId,
        progress: &Progress,
        lease_millis: i64,
    ) -> Result<(), JobsError> {
        let now = self.clock.now_millis();
        sqlx::query(
            "UPDATE jobs SET progress_done = $1, progress_total = $2, progress_note = $3, locked_until = $4, updated_at = $5
             WHERE id = $6 AND state = 'running'",
        )
        .bind(progress.done)
        .bind(progress.total)
        .bind(&progress.note)
        .bind(now + lease_millis)
        .bind(now)
        .bind(id.get())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Deletes final jobs that finished before `before` (UTC ms); returns how many.
    pub async fn purge_finished(&self, before: i64) -> Result<u64, JobsError> {
        Ok(sqlx::query(
            "DELETE FROM jobs WHERE state IN ('succeeded', 'cancelled') AND finished_at < $1",
        )
        .bind(before)
        .execute(self.db.pool())
        .await?
        .rows_affected())
    }
}
