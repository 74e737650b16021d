//! Reconciling the shared spend store with the ledger, which is the source of truth.
//!
//! For every advertiser whose balance is in the shared store, and every campaign whose budget
//! of today is, the two figures must agree once no click is in flight. A difference is reported
//! (job result, warning log, and the organization's notifications); with `repair`, and only
//! when no click event is waiting to be settled, the shared figure is set from the ledger.

use std::sync::Arc;

use adpool_core::BusinessDate;
use adpool_jobs::{BoxFuture, JobContext, JobError, JobHandler};
use adpool_serving::{Serving, SharedSpend, Topic};
use serde::Serialize;
use sqlx::Row;

use crate::{NatsBus, ScaleOutError};

/// The job kind.
pub const RECONCILE_JOB: &str = "cpc.reconcile_hot_state";

/// One figure that disagrees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// `balance` or `budget`.
    pub what: &'static str,
    /// The organization.
    pub org: i64,
    /// The advertiser or campaign.
    pub id: i64,
    /// What the ledger says.
    pub ledger: i64,
    /// What the shared store says.
    pub shared: i64,
}

/// What a reconciliation found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReconcileReport {
    /// Balances compared.
    pub balances_checked: usize,
    /// Budgets compared.
    pub budgets_checked: usize,
    /// Click events published but not settled yet (differences may be those).
    pub clicks_in_flight: u64,
    /// What disagrees.
    pub differences: Vec<Difference>,
    /// Differences set from the ledger.
    pub repaired: usize,
}

/// Compares (and with `repair`, fixes) the shared balances and budgets.
pub async fn reconcile(
    serving: &Serving,
    spend: &Arc<dyn SharedSpend>,
    bus: Option<&NatsBus>,
    repair: bool,
) -> Result<ReconcileReport, ScaleOutError> {
    let db = serving.db().pool();
    let clicks_in_flight = match bus {
        Some(bus) => bus.backlog(Topic::AdEvents).await?,
        None => 0,
    };
    let advertisers: Vec<(i64, i64, i64)> =
        sqlx::query("SELECT org_id, id, balance FROM cpc_advertisers ORDER BY id")
            .fetch_all(db)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("org_id")?,
                    r.try_get("id")?,
                    r.try_get("balance")?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()?;
    let today = BusinessDate::from_utc_millis(serving.now_millis()).to_string();
    let campaigns: Vec<(i64, i64, i64)> = sqlx::query(
        "SELECT c.org_id, c.id, c.daily_budget - COALESCE(s.spent, 0) AS left_today
         FROM cpc_campaigns c LEFT JOIN cpc_budget_spend s ON s.campaign_id = c.id AND s.business_date = $1
         ORDER BY c.id",
    )
    .bind(&today)
    .fetch_all(db)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("org_id")?, r.try_get("id")?, r.try_get("left_today")?)))
    .collect::<Result<_, sqlx::Error>>()?;
    let ids: Vec<i64> = advertisers.iter().map(|a| a.1).collect();
    let shared = spend.balances(&ids).await?;
    let campaign_ids: Vec<i64> = campaigns.iter().map(|c| c.1).collect();
    let shared_budgets = spend.budgets(&campaign_ids, &today).await?;
    let mut report = ReconcileReport {
        clicks_in_flight,
        ..ReconcileReport::default()
    };
    for (org, id, ledger) in advertisers {
        if let Some(Some(value)) = shared.get(&id) {
            report.balances_checked += 1;
            if *value != ledger {
                report.differences.push(Difference {
                    what: "balance",
                    org,
                    id,
                    ledger,
                    shared: *value,
                });
            }
        }
    }
    for (org, id, ledger) in campaigns {
        if let Some(Some(value)) = shared_budgets.get(&id) {
            report.budgets_checked += 1;
            if *value != ledger {
                report.differences.push(Difference {
                    what: "budget",
                    org,
                    id,
                    ledger,
                    shared: *value,
                });
            }
        }
    }
    for difference in &report.differences {
        tracing::warn!(
            what = difference.what,
            id = difference.id,
            ledger = difference.ledger,
            shared = difference.shared,
            in_flight = clicks_in_flight,
            "the shared spend store disagrees with the ledger"
        );
    }
    if repair && clicks_in_flight == 0 {
        for difference in &report.differences {
            match difference.what {
                "balance" => spend.set_balance(difference.id, difference.ledger).await?,
                _ => spend.forget_budget(difference.id, &today).await?,
            }
            report.repaired += 1;
        }
    }
    Ok(report)
}

/// The scheduled reconciliation (repairing when nothing is in flight).
#[derive(Clone)]
pub struct ReconcileHandler {
    serving: Serving,
    spend: Arc<dyn SharedSpend>,
    bus: Option<Arc<NatsBus>>,
    notifications: adpool_jobs::Notifications,
}

impl ReconcileHandler {
    /// A handler over the shared store (and the bus whose backlog it waits for).
    pub fn new(
        serving: Serving,
        spend: Arc<dyn SharedSpend>,
        bus: Option<Arc<NatsBus>>,
        notifications: adpool_jobs::Notifications,
    ) -> Self {
        ReconcileHandler {
            serving,
            spend,
            bus,
            notifications,
        }
    }
}

impl JobHandler for ReconcileHandler {
    fn run<'a>(
        &'a self,
        _ctx: &'a JobContext,
    ) -> BoxFuture<'a, Result<Option<serde_json::Value>, JobError>> {
        Box::pin(async move {
            let report = reconcile(&self.serving, &self.spend, self.bus.as_deref(), true)
                .await
                .map_err(JobError::retryable)?;
            let mut orgs: Vec<i64> = report.differences.iter().map(|d| d.org).collect();
            orgs.sort_unstable();
            orgs.dedup();
            for org in orgs {
                let found: Vec<String> = report
                    .differences
                    .iter()
                    .filter(|d| d.org == org)
                    .map(|d| {
                        format!(
                            "{} {}: ledger {} won, shared {} won",
                            d.what, d.id, d.ledger, d.shared
                        )
                    })
                    .collect();
                let body = format!(
                    "{}{}",
                    found.join("; "),
                    if report.repaired > 0 {
                        " (set from the ledger)"
                    } else {
                        " (clicks were in flight: not repaired yet)"
                    }
                );
                if let Err(error) = self
                    .notifications
                    .notify(
                        adpool_jobs::NewNotification::new(
                            adpool_core::OrgId(org),
                            adpool_jobs::Level::Warning,
                            "The CPC balances in Redis differed from the ledger",
                            body,
                        )
                        .link("/ads"),
                    )
                    .await
                {
                    tracing::warn!(%error, "reconcile notification not written");
                }
            }
            serde_json::to_value(&report)
                .map(Some)
                .map_err(JobError::permanent)
        })
    }
}
