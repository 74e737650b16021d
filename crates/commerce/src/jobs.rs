//! Store syncs as background jobs: `shop.sync` syncs one store (retried with backoff by the
//! queue, at most `shop_sync_concurrency` at once), and `shop.sync_all`, fired by the daily
//! schedule (08:00 KST by default), enqueues one `shop.sync` per store that has an API.

use adpool_core::{BusinessDate, OrgId, UserId};
use adpool_jobs::{BoxFuture, JobContext, JobError, JobHandler, Jobs, NewJob};
use serde_json::{Value, json};
use sqlx::Row;

use crate::sync::SyncSettings;
use crate::{CommerceError, Shops};

/// Syncs one store; payload `{"store_id": N, "since": "YYYY-MM-DD"?}`.
pub const SYNC_JOB: &str = "shop.sync";
/// Enqueues a sync of every store with an API; no payload.
pub const SYNC_ALL_JOB: &str = "shop.sync_all";

/// A [`SYNC_JOB`] for a store of `org`, asked for by `user` (notified when it ends).
pub fn sync_job(
    org: OrgId,
    store_id: i64,
    since: Option<BusinessDate>,
    user: Option<UserId>,
) -> NewJob {
    let mut payload = json!({ "store_id": store_id });
    if let Some(since) = since {
        payload["since"] = json!(since.to_string());
    }
    let mut job = NewJob::new(SYNC_JOB, payload).for_org(org).max_attempts(4);
    job.created_by = user;
    job
}

/// Runs [`SYNC_JOB`] and [`SYNC_ALL_JOB`].
#[derive(Debug, Clone)]
pub struct SyncHandler {
    shops: Shops,
    jobs: Jobs,
    settings: SyncSettings,
}

impl SyncHandler {
    /// A handler syncing through `settings`.
    pub fn new(shops: Shops, jobs: Jobs, settings: SyncSettings) -> Self {
        SyncHandler {
            shops,
            jobs,
            settings,
        }
    }

    async fn sync_all(&self) -> Result<Option<Value>, JobError> {
        let rows = sqlx::query(
            "SELECT id, org_id FROM shop_stores WHERE platform IN ('cafe24', 'naver') AND disabled_at IS NULL ORDER BY id",
        )
        .fetch_all(self.shops.db().pool())
        .await
        .map_err(|e| JobError::Retryable(e.to_string()))?;
        let mut enqueued = 0;
        for row in rows {
            let (id, org): (i64, i64) = (
                row.try_get("id")
                    .map_err(|e| JobError::permanent(e.to_string()))?,
                row.try_get("org_id")
                    .map_err(|e| JobError::permanent(e.to_string()))?,
            );
            self.jobs
                .enqueue(sync_job(OrgId(org), id, None, None))
                .await
                .map_err(|e| JobError::Retryable(e.to_string()))?;
            enqueued += 1;
        }
        Ok(Some(json!({ "stores": enqueued })))
    }
}

impl JobHandler for SyncHandler {
    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Option<Value>, JobError>> {
        Box::pin(async move {
            if ctx.job.kind == SYNC_ALL_JOB {
                return self.sync_all().await;
            }
            let org = ctx
                .job
                .org_id
                .ok_or_else(|| JobError::permanent("a store sync needs an organization"))?;
            let store = ctx.job.payload["store_id"]
                .as_i64()
                .ok_or_else(|| JobError::permanent("payload has no store_id"))?;
            let since = match ctx.job.payload["since"].as_str() {
                Some(text) => Some(
                    text.parse::<BusinessDate>()
                        .map_err(|e| JobError::permanent(format!("since '{text}': {e}")))?,
                ),
                None => None,
            };
            let reporter = ctx.background_progress();
            let mut windows = 0;
            let summary = self
                .shops
                .sync_store(org, store, &self.settings, since, &mut |note| {
                    windows += 1;
                    reporter.update(windows, None, Some(note));
                })
                .await
                .map_err(|error| match error {
                    // The platform or the database may recover: the queue retries with backoff.
                    CommerceError::Platform { .. } | CommerceError::Store(_) => {
                        JobError::Retryable(error.to_string())
                    }
                    other => JobError::permanent(other.to_string()),
                })?;
            Ok(Some(serde_json::to_value(summary).unwrap_or_default()))
        })
    }
}
