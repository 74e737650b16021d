//! Workers: claim due jobs, run their handlers, record the outcome.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use adpool_core::JobId;
use serde_json::Value;
use tokio::sync::{Notify, Semaphore, watch};
use tracing::Instrument;

use crate::notifications::{Level, NewNotification, Notifications};
use crate::queue::{JOB_COLUMNS, Job, Jobs, Progress};
use crate::{JobError, JobsError};

/// A boxed future, so handlers can be stored as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs the jobs of one kind. Return `Ok(summary)` when done (the summary is shown on the jobs
/// page), [`JobError::Retryable`] to try again later, [`JobError::Permanent`] to give up.
pub trait JobHandler: Send + Sync + 'static {
    /// Runs one job.
    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Option<Value>, JobError>>;
}

/// What a handler gets: the job and a way to report progress.
#[derive(Debug)]
pub struct JobContext {
    /// The job being run (its `attempts` counts this run).
    pub job: Job,
    jobs: Jobs,
    lease_millis: i64,
}

impl JobContext {
    /// Reports progress (and keeps the job's lease alive).
    pub async fn progress(
        &self,
        done: i64,
        total: Option<i64>,
        note: Option<&str>,
    ) -> Result<(), JobsError> {
        self.jobs
            .set_progress(
                self.job.id,
                &Progress {
                    done,
                    total,
                    note: note.map(str::to_owned),
                },
                self.lease_millis,
            )
            .await
    }

    /// The queue, e.g. to enqueue follow-up jobs.
    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// A progress reporter that never makes the work wait: updates are coalesced (only the latest
    /// is written) by a background task. Handlers whose work holds a write transaction need it: on
    /// SQLite, which has one writer, an awaited progress write would wait for that very
    /// transaction. Call [`BackgroundProgress::finish`] when the work is done.
    pub fn background_progress(&self) -> BackgroundProgress {
        let (sender, mut receiver) = watch::channel::<Option<Progress>>(None);
        let (jobs, id, lease) = (self.jobs.clone(), self.job.id, self.lease_millis);
        let task = tokio::spawn(async move {
            while receiver.changed().await.is_ok() {
                let latest = receiver.borrow_and_update().clone();
                if let Some(progress) = latest
                    && let Err(error) = jobs.set_progress(id, &progress, lease).await
                {
                    tracing::debug!(%error, "progress not recorded");
                }
            }
        });
        BackgroundProgress { sender, task }
    }
}

/// See [`JobContext::background_progress`].
#[derive(Debug)]
pub struct BackgroundProgress {
    sender: watch::Sender<Option<Progress>>,
    task: tokio::task::JoinHandle<()>,
}

impl BackgroundProgress {
    /// Records progress soon, without waiting.
    pub fn update(&self, done: i64, total: Option<i64>, note: Option<&str>) {
        let _ = self.sender.send(Some(Progress {
            done,
            total,
            note: note.map(str::to_owned),
        }));
    }

    /// Writes the last update and stops the reporter.
    pub async fn finish(self) {
        drop(self.sender);
        let _ = self.task.await;
    }
}

struct Registered {
    handler: Arc<dyn JobHandler>,
    limit: Arc<Semaphore>,
}

/// The handlers a worker knows, with a concurrency limit per kind.
#[derive(Default)]
pub struct Registry {
    handlers: HashMap<String, Registered>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("kinds", &self.kinds())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Registers `handler` for `kind`, running at most `concurrency` of them at once per worker.
    pub fn register(
        &mut self,
        kind: &str,
        concurrency: usize,
        handler: impl JobHandler,
    ) -> &mut Self {
        self.handlers.insert(
            kind.to_owned(),
            Registered {
                handler: Arc::new(handler),
                limit: Arc::new(Semaphore::new(concurrency.max(1))),
            },
        );
        self
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.handlers.keys().cloned().collect();
        kinds.sort();
        kinds
    }
}

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Name recorded on claimed jobs.
    pub worker_id: String,
    /// Jobs running at once in this worker, all kinds together.
    pub concurrency: usize,
    /// A claimed job is considered abandoned when its lease runs out without progress.
    pub lease_millis: i64,
    /// How often an idle worker looks for due jobs.
    pub poll_interval: Duration,
    /// On shutdown, how long jobs in flight may run on; then they are stopped and handed
    /// back to the queue to run again on the next start.
    pub shutdown_grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            worker_id: format!("worker-{}", std::process::id()),
            concurrency: 4,
            lease_millis: 5 * 60 * 1000,
            poll_interval: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// What happened to one job run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// It finished.
    Succeeded(JobId),
    /// It failed and will run again at `next_run_at`.
    Retrying {
        /// The job.
        id: JobId,
        /// When it runs next (UTC ms).
        next_run_at: i64,
        /// Why it failed.
        error: String,
    },
    /// It failed for good.
    Failed {
        /// The job.
        id: JobId,
        /// Why.
        error: String,
    },
}

/// Back-off before attempt `attempts + 1`: 10 s, 20 s, 40 s ... capped at one hour.
pub fn backoff_millis(attempts: i64) -> i64 {
    let exponent = u32::try_from((attempts - 1).clamp(0, 20)).unwrap_or(20);
    (10_000_i64.saturating_mul(1_i64 << exponent)).min(3_600_000)
}

/// Claims and runs jobs.
#[derive(Clone)]
pub struct Worker {
    jobs: Jobs,
    registry: Arc<Registry>,
    config: WorkerConfig,
    slots: Arc<Semaphore>,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.config)
            .field("registry", &self.registry)
            .finish()
    }
}

impl Worker {
    /// A worker for `registry`'s kinds.
    pub fn new(jobs: Jobs, registry: Registry, config: WorkerConfig) -> Self {
        let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Worker {
            jobs,
            registry: Arc::new(registry),
            config,
            slots,
            wake: Arc::new(Notify::new()),
        }
    }

    /// A handle that wakes an idle worker at once (after enqueuing).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Claims one due job of a kind with free capacity and runs it to the end; `None` when
    /// nothing is due. For tests and `adpool` commands that run work inline.
    pub async fn run_once(&self) -> Result<Option<JobOutcome>, JobsError> {
        let Some((job, permit)) = self.claim().await? else {
            return Ok(None);
        };
        let outcome = self.execute(job).await;
        drop(permit);
        outcome.map(Some)
    }

    /// Runs due jobs until none is left; returns what happened to each.
    pub async fn drain(&self) -> Result<Vec<JobOutcome>, JobsError> {
        let mut outcomes = Vec::new();
        while let Some(outcome) = self.run_once().await? {
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// Runs the worker loop until `shutdown` turns true. Jobs in flight get
    /// [`WorkerConfig::shutdown_grace`] to finish; those still running are stopped and queued
    /// again at once (their attempt counts), instead of waiting out their lease.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.config.worker_id, kinds = ?self.registry.kinds(), "worker started");
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.claim().await {
                Ok(Some((job, permit))) => {
                    let worker = self.clone();
                    tasks.spawn(async move {
                        if let Err(error) = worker.execute(job).await {
                            tracing::error!(%error, "recording a job outcome failed");
                        }
                        drop(permit);
                    });
                    continue;
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "claiming a job failed"),
            }
            while tasks.try_join_next().is_some() {}
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
        let drained = tokio::time::timeout(self.config.shutdown_grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
            match self.release_claims().await {
                Ok(released) => {
                    tracing::warn!(released, "jobs still running at shutdown were queued again")
                }
                Err(error) => {
                    tracing::error!(%error, "could not queue unfinished jobs again; they rerun when their lease expires")
                }
            }
        }
        tracing::info!(worker = %self.config.worker_id, "worker stopped");
    }

    /// Puts this worker's running jobs back in the queue, runnable now.
    async fn release_claims(&self) -> Result<u64, JobsError> {
        let now = self.jobs.clock.now_millis();
        Ok(sqlx::query(
            "UPDATE jobs SET state = 'queued', run_at = $1, locked_by = NULL, locked_until = NULL, updated_at = $1,
                    last_error = 'stopped by a worker shutdown'
             WHERE state = 'running' AND locked_by = $2",
        )
        .bind(now)
        .bind(&self.config.worker_id)
        .execute(self.jobs.db.pool())
        .await?
        .rows_affected())
    }

    /// Claims the oldest due job among kinds that have a free slot.
    async fn claim(&self) -> Result<Option<(Job, ClaimPermit)>, JobsError> {
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            return Ok(None);
        };
        let free_kinds: Vec<&String> = self
            .registry
            .handlers
            .iter()
            .filter(|(_, r)| r.limit.available_permits() > 0)
            .map(|(k, _)| k)
            .collect();
        if free_kinds.is_empty() {
            return Ok(None);
        }
        let now = self.jobs.clock.now_millis();
        let dialect = self.jobs.db.dialect();
        let placeholders: Vec<String> = (0..free_kinds.len())
            .map(|i| format!("${}", i + 4))
            .collect();
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2,
                    started_at = COALESCE(started_at, $3), updated_at = $3
             WHERE id = (SELECT id FROM jobs
                         WHERE ((state = 'queued' AND run_at <= $3) OR (state = 'running' AND locked_until < $3))
                           AND kind IN ({})
                         ORDER BY run_at, id LIMIT 1{})
             RETURNING {JOB_COLUMNS}",
            placeholders.join(", "),
            dialect.skip_locked()
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&self.config.worker_id)
            .bind(now + self.config.lease_millis)
            .bind(now);
        for kind in &free_kinds {
            query = query.bind(kind.as_str());
        }
        let mut tx = self.jobs.db.begin_write().await?;
        let row = query.fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        let Some(row) = row else { return Ok(None) };
        let job = Job::from_row(&row)?;
        let kind_permit = self
            .registry
            .handlers
            .get(&job.kind)
            .and_then(|r| r.limit.clone().try_acquire_owned().ok());
        Ok(Some((
            job,
            ClaimPermit {
                _slot: slot,
                _kind: kind_permit,
            },
        )))
    }

    async fn execute(&self, job: Job) -> Result<JobOutcome, JobsError> {
        let span =
            tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
        async move {
            let Some(registered) = self.registry.handlers.get(&job.kind) else {
                return self
                    .finish_failed(&job, format!("no handler for job kind '{}'", job.kind))
                    .await;
            };
            if job.attempts > job.max_attempts {
                return self
                    .finish_failed(&job, "abandoned by a worker and out of attempts".to_owned())
                    .await;
            }
            let handler = registered.handler.clone();
            let ctx = JobContext {
                job: job.clone(),
                jobs: self.jobs.clone(),
                lease_millis: self.config.lease_millis,
            };
            // A panicking handler must not take the worker down or leave the job running.
            let result = match tokio::spawn(async move { handler.run(&ctx).await }).await {
                Ok(result) => result,
                Err(panic) => Err(JobError::Retryable(format!("handler panicked: {panic}"))),
            };
            match result {
                Ok(summary) => self.finish_succeeded(&job, summary).await,
                Err(JobError::Permanent(error)) => self.finish_failed(&job, error).await,
                Err(JobError::Retryable(error)) if job.attempts >= job.max_attempts => {
                    self.finish_failed(&job, format!("{error} (after {} attempts)", job.attempts))
                        .await
                }
                Err(JobError::Retryable(error)) => self.finish_retrying(&job, error).await,
            }
        }
        .instrument(span)
        .await
    }

    async fn finish_succeeded(
        &self,
        job: &Job,
        summary: Option<Value>,
    ) -> Result<JobOutcome, JobsError> {
        let now = self.jobs.clock.now_millis();
        let mut tx = self.jobs.db.begin_write().await?;
        sqlx::query(
            "UPDATE jobs SET state = 'succeeded', finished_at = $1, updated_at = $1, locked_by = NULL, locked_until = NULL,
                    last_error = NULL, result = $2,
                    progress_done = CASE WHEN progress_total IS NULL THEN progress_done ELSE progress_total END
             WHERE id = $3",
        )
        .bind(now)
        .bind(summary.map(|s| s.to_string()))
        .bind(job.id.get())
        .execute(&mut *tx)
        .await?;
        if let (Some(org), Some(user)) = (job.org_id, job.created_by) {
            let notice = NewNotification::new(
                org,
                Level::Success,
                format!("Job #{} finished", job.id),
                format!("{} finished.", job.kind),
            )
            .for_user(user)
            .link(format!("/jobs/{}", job.id));
            Notifications::new(self.jobs.clone())
                .notify_in(&mut tx, notice)
                .await?;
        }
        tx.commit().await?;
        tracing::info!("job succeeded");
        Ok(JobOutcome::Succeeded(job.id))
    }

    async fn finish_retrying(&self, job: &Job, error: String) -> Result<JobOutcome, JobsError> {
        let now = self.jobs.clock.now_millis();
        let next_run_at = now + backoff_millis(job.attempts);
        sqlx::query(
            "UPDATE jobs SET state = 'queued', run_at = $1, last_error = $2, locked_by = NULL, locked_until = NULL, updated_at = $3
             WHERE id = $4",
        )
        .bind(next_run_at)
        .bind(&error)
        .bind(now)
        .bind(job.id.get())
        .execute(self.jobs.db.pool())
        .await?;
        tracing::warn!(%error, next_run_at, "job failed; will retry");
        Ok(JobOutcome::Retrying {
            id: job.id,
            next_run_at,
            error,
        })
    }

    async fn finish_failed(&self, job: &Job, error: String) -> Result<JobOutcome, JobsError> {
        let now = self.jobs.clock.now_millis();
        let mut tx = self.jobs.db.begin_write().await?;
        sqlx::query(
            "UPDATE jobs SET state = 'failed', finished_at = $1, updated_at = $1, last_error = $2, locked_by = NULL, locked_until = NULL
             WHERE id = $3",
        )
        .bind(now)
        .bind(&error)
        .bind(job.id.get())
        .execute(&mut *tx)
        .await?;
        // A failed webhook delivery does not notify again: that would loop.
        if let Some(org) = job.org_id.filter(|_| job.kind != crate::WEBHOOK_JOB_KIND) {
            let mut notice = NewNotification::new(
                org,
                Level::Error,
                format!("Job #{} failed", job.id),
                format!("{}: {error}", job.kind),
            )
            .link(format!("/jobs/{}", job.id));
            notice.user_id = job.created_by;
            Notifications::new(self.jobs.clone())
                .notify_in(&mut tx, notice)
                .await?;
        }
        tx.commit().await?;
        tracing::error!(%error, "job failed");
        Ok(JobOutcome::Failed { id: job.id, error })
    }
}

/// Slots held while a claimed job runs.
struct ClaimPermit {
    _slot: tokio::sync::OwnedSemaphorePermit,
    _kind: Option<tokio::sync::OwnedSemaphorePermit>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_ten_seconds_up_to_an_hour() {
        assert_eq!(backoff_millis(1), 10_000);
        assert_eq!(backoff_millis(2), 20_000);
        assert_eq!(backoff_millis(4), 80_000);
        assert_eq!(backoff_millis(30), 3_600_000);
    }
}
