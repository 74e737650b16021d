//! Log analysis as a background job (`logs.analyze`), so a schedule keeps a source analyzed:
//! adpool's own CPC event log every 10 minutes, for one.

use adpool_core::SharedClock;
use adpool_core::{OrgId, UserId};
use adpool_jobs::{BoxFuture, JobContext, JobError, JobHandler, NewJob};
use adpool_store::Db;
use serde_json::{Value, json};

use crate::{AnalyzeOptions, LogSources, LogsError, analyze};

/// The job kind; payload `{"source": URL, "optional": bool}` (optional: a folder that does not
/// exist yet means nothing to do).
pub const ANALYZE_JOB: &str = "logs.analyze";

/// An [`ANALYZE_JOB`] for `source_url` (a normalised [`Source::url`]) of `org`, asked for by
/// `user` (notified when it ends).
pub fn analyze_job(source_url: &str, org: OrgId, user: Option<UserId>) -> NewJob {
    let mut job = NewJob::new(ANALYZE_JOB, json!({ "source": source_url }))
        .for_org(org)
        .max_attempts(3);
    job.created_by = user;
    job
}

/// The name of the hourly schedule that keeps `source_url` of `org` analyzed.
pub fn schedule_name(org: OrgId, source_url: &str) -> String {
    // FNV-1a: a short name that stays the same across builds and Rust versions.
    let hash = source_url.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("logs.source.org-{}.{hash:016x}", org.get())
}

/// Runs [`ANALYZE_JOB`]. A job runs for its organization, so its source is opened under the
/// organization's rules ([`LogSources::open`]) every time: a schedule saved before the rules
/// changed, or a source moved behind a symlink, is refused when it runs.
#[derive(Debug, Clone)]
pub struct AnalyzeHandler {
    db: Db,
    clock: SharedClock,
    sources: LogSources,
}

impl AnalyzeHandler {
    /// A handler on `db`, opening sources through `sources`.
    pub fn new(db: Db, clock: SharedClock, sources: LogSources) -> Self {
        AnalyzeHandler { db, clock, sources }
    }
}

impl JobHandler for AnalyzeHandler {
    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Option<Value>, JobError>> {
        Box::pin(async move {
            let org = ctx
                .job
                .org_id
                .ok_or_else(|| JobError::permanent("log analysis needs an organization"))?;
            let url = ctx.job.payload["source"]
                .as_str()
                .ok_or_else(|| JobError::permanent("payload has no source"))?;
            let optional = ctx.job.payload["optional"].as_bool().unwrap_or(false);
            let source = match self.sources.open(org, url).await {
                Ok(source) => source,
                Err(_) if optional => {
                    return Ok(Some(
                        json!({ "source": url, "note": "nothing to analyze yet" }),
                    ));
                }
                Err(error) => return Err(JobError::permanent(error.to_string())),
            };
            let reporter = ctx.background_progress();
            let note = format!("analyzing {}", source.url);
            let summary = analyze(
                &self.db,
                &self.clock,
                org,
                &source,
                AnalyzeOptions::default(),
                &mut |done, total| {
                    reporter.update(
                        i64::try_from(done).unwrap_or(i64::MAX),
                        Some(i64::try_from(total).unwrap_or(i64::MAX)),
                        Some(&note),
                    );
                },
            )
            .await
            .map_err(|error| match error {
                // Another analyzer is on it: this run is not needed.
                LogsError::Locked(_) | LogsError::Store(_) => {
                    JobError::Retryable(error.to_string())
                }
                other => JobError::permanent(other.to_string()),
            })?;
            Ok(Some(serde_json::to_value(summary).unwrap_or_default()))
        })
    }
}
