//! Log analysis as a background job (`logs.analyze`), so a schedule keeps a source analyzed:
//! adpool's own CPC event log every 10 minutes, for one.

use adpool_core::SharedClock;
use adpool_jobs::{BoxFuture, JobContext, JobError, JobHandler};
use adpool_store::Db;
use serde_json::{Value, json};

use crate::{AnalyzeOptions, LogsError, Source, analyze};

/// The job kind; payload `{"source": URL, "optional": bool}` (optional: a folder that does not
/// exist yet means nothing to do).
pub const ANALYZE_JOB: &str = "logs.analyze";

/// Runs [`ANALYZE_JOB`].
#[derive(Debug, Clone)]
pub struct AnalyzeHandler {
    db: Db,
    clock: SharedClock,
}

impl AnalyzeHandler {
    /// A handler on `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        AnalyzeHandler { db, clock }
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
            let source = match Source::open(url) {
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
