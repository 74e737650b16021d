//! Analyses as background jobs ([`ANALYZE_JOB`]): progress while transactions are read, the
//! requester notified (in the app, and by the organization's webhook) when it ends.

use adpool_jobs::{
    BoxFuture, JobContext, JobError, JobHandler, Level, NewNotification, Notifications,
};
use serde_json::{Value, json};

use crate::service::ANALYZE_JOB;
use crate::{Insight, InsightError};

/// Runs [`ANALYZE_JOB`].
#[derive(Debug, Clone)]
pub struct AnalyzeHandler {
    insight: Insight,
    notifications: Notifications,
}

impl AnalyzeHandler {
    /// A handler over `insight`, notifying through `notifications`.
    pub fn new(insight: Insight, notifications: Notifications) -> Self {
        AnalyzeHandler {
            insight,
            notifications,
        }
    }
}

impl JobHandler for AnalyzeHandler {
    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<Option<Value>, JobError>> {
        Box::pin(async move {
            debug_assert_eq!(ctx.job.kind, ANALYZE_JOB);
            let id = ctx.job.payload["analysis_id"]
                .as_i64()
                .ok_or_else(|| JobError::permanent("payload has no analysis_id"))?;
            let reporter = ctx.background_progress();
            let outcome = self
                .insight
                .run_analysis(id, &mut |done, total, note| {
                    reporter.update(done, total, Some(note))
                })
                .await;
            reporter.finish().await;
            match outcome {
                Ok((org, user, report)) => {
                    if let Some(user) = user {
                        let notice = NewNotification::new(
                            org,
                            Level::Success,
                            format!("분석 #{id} 완료 / Analysis #{id} is ready"),
                            format!(
                                "{} ~ {}: {} purchases, {} won spent, {} segments.",
                                report.from,
                                report.to,
                                report.purchases,
                                report.spend,
                                report.segments.len()
                            ),
                        )
                        .for_user(user)
                        .link(format!("/insights/analyses/{id}"));
                        self.notifications
                            .notify(notice)
                            .await
                            .map_err(JobError::retryable)?;
                    }
                    Ok(Some(
                        json!({ "analysis_id": id, "purchases": report.purchases, "spend": report.spend }),
                    ))
                }
                Err(InsightError::NotFound(..)) => {
                    Err(JobError::permanent(format!("analysis {id} not found")))
                }
                Err(error) => {
                    let message = error.to_string();
                    self.insight
                        .fail_analysis(id, &message)
                        .await
                        .map_err(JobError::retryable)?;
                    // Attempts count this one: the last failure tells the requester.
                    if ctx.job.attempts >= ctx.job.max_attempts
                        && let Some((org, Some(user))) = self.insight.owner(id).await.ok().flatten()
                    {
                        let notice = NewNotification::new(
                            org,
                            Level::Error,
                            format!("분석 #{id} 실패 / Analysis #{id} failed"),
                            message.clone(),
                        )
                        .for_user(user)
                        .link(format!("/insights/analyses/{id}"));
                        let _ = self.notifications.notify(notice).await;
                    }
                    Err(JobError::retryable(message))
                }
            }
        })
    }
}
