//! Inventory builds as background jobs, with progress, for the UI and the API.

use adpool_jobs::{BoxFuture, JobContext, JobError, JobHandler, NewJob};
use serde_json::{Value, json};

use crate::{Inventory, InventoryError, Month, OrgId, Progress, UserId};

/// Job kind of a standard build; payload `{ "month": "YYYY-MM" }`.
pub const BUILD_STANDARD_JOB: &str = "inventory.build_standard";
/// Job kind of a unit build; payload `{ "month": "YYYY-MM" }`.
pub const BUILD_UNIT_JOB: &str = "inventory.build_unit";

/// A build job for `org`'s `month`, started by `user`.
pub fn build_job(kind: &str, org: OrgId, month: Month, user: Option<UserId>) -> NewJob {
    let mut job = NewJob::new(kind, json!({ "month": month.to_string() }))
        .for_org(org)
        .max_attempts(3);
    job.created_by = user;
    job
}

/// Runs [`BUILD_STANDARD_JOB`] and [`BUILD_UNIT_JOB`].
#[derive(Debug, Clone)]
pub struct BuildHandler {
    inventory: Inventory,
}

impl BuildHandler {
    /// Builds with `inventory`.
    pub fn new(inventory: Inventory) -> Self {
        BuildHandler { inventory }
    }
}

fn job_error(error: InventoryError) -> JobError {
    match error {
        // Another build of the month holds the lock: try again after it.
        InventoryError::Conflict(message)
            if message.contains("already running") || message.contains("just finished") =>
        {
            JobError::Retryable(message)
        }
        InventoryError::Store(e) => JobError::Retryable(e.to_string()),
        other => JobError::Permanent(other.to_string()),
    }
}

impl JobHandler for BuildHandler {
    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Option<Value>, JobError>> {
        Box::pin(async move {
            let org = ctx
                .job
                .org_id
                .ok_or_else(|| JobError::permanent("an inventory build needs an organization"))?;
            let month: Month = ctx.job.payload["month"]
                .as_str()
                .ok_or_else(|| JobError::permanent("payload has no month"))?
                .parse()
                .map_err(|e: InventoryError| JobError::permanent(e))?;
            let holder = format!("job #{}", ctx.job.id);
            let reporter = ctx.background_progress();
            let note = format!("{} {month}", ctx.job.kind);
            let mut report = |p: Progress| {
                let total = p.total.map(|t| i64::try_from(t).unwrap_or(i64::MAX));
                reporter.update(
                    i64::try_from(p.done).unwrap_or(i64::MAX),
                    total,
                    Some(&note),
                );
            };
            let result = if ctx.job.kind == BUILD_UNIT_JOB {
                self.inventory
                    .build_unit(org, month, &holder, &mut report)
                    .await
                    .map(|b| serde_json::to_value(b).unwrap_or_default())
            } else {
                self.inventory
                    .build_standard(org, month, &holder, &mut report)
                    .await
                    .map(|b| serde_json::to_value(b).unwrap_or_default())
            };
            reporter.finish().await;
            result.map(Some).map_err(job_error)
        })
    }
}

/// Job kind of the periodic campaign-status repair (all organizations); payload `{}`.
pub const REPAIR_STATUS_JOB: &str = "campaigns.repair_status";

/// Runs [`REPAIR_STATUS_JOB`].
#[derive(Debug, Clone)]
pub struct RepairStatusHandler {
    inventory: Inventory,
}

impl RepairStatusHandler {
    /// Repairs with `inventory`.
    pub fn new(inventory: Inventory) -> Self {
        RepairStatusHandler { inventory }
    }
}

impl JobHandler for RepairStatusHandler {
    fn run<'a>(&'a self, _ctx: &'a JobContext) -> BoxFuture<'a, Result<Option<Value>, JobError>> {
        Box::pin(async move {
            let repair = self
                .inventory
                .repair_campaign_statuses(None)
                .await
                .map_err(job_error)?;
            if repair.fixed > 0 {
                tracing::warn!(
                    fixed = repair.fixed,
                    "campaign statuses had drifted and were repaired"
                );
            }
            Ok(Some(serde_json::to_value(repair).unwrap_or_default()))
        })
    }
}
