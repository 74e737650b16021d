//! The admin deployment page's source: this process's role and the scale-out engines checked
//! now (Redis round trip, published rankings, NATS backlogs); the page adds the database.

use std::sync::Arc;

use adpool_jobs::BoxFuture;
use adpool_scaleout::Engines;
use adpool_serving::{Serving, Topic};
use adpool_web::{DeploymentRow, DeploymentStatus};

use crate::server::Role;

/// What the page shows.
pub struct Deployment {
    /// This process's role.
    pub role: Role,
    /// CPC serving (its published rankings).
    pub serving: Serving,
    /// The engines.
    pub engines: Engines,
    /// The namespace of keys and streams.
    pub namespace: String,
}

fn row(label: &'static str, value: impl Into<String>, healthy: bool) -> DeploymentRow {
    DeploymentRow {
        label,
        value: value.into(),
        healthy,
    }
}

impl DeploymentStatus for Deployment {
    fn rows(&self) -> BoxFuture<'_, Vec<DeploymentRow>> {
        Box::pin(async move {
            let role = clap::ValueEnum::to_possible_value(&self.role)
                .map(|v| v.get_name().to_owned())
                .unwrap_or_default();
            let mut rows = vec![row(
                "deployment.role",
                format!("{role} (pid {})", std::process::id()),
                true,
            )];
            if !self.namespace.is_empty() {
                rows.push(row("deployment.namespace", &self.namespace, true));
            }
            match &self.engines.redis {
                Some(redis) => {
                    rows.push(match redis.ping().await {
                        Ok(took) => row(
                            "deployment.redis",
                            format!("{} ({:.2} ms)", redis.address(), took.as_secs_f64() * 1e3),
                            true,
                        ),
                        Err(error) => row("deployment.redis", error.to_string(), false),
                    });
                    let rankings = self.serving.hot_state().rankings();
                    rows.push(row(
                        "deployment.rankings",
                        format!(
                            "{}, {}",
                            adpool_core::format_kst_datetime(rankings.built_at),
                            rankings.len()
                        ),
                        rankings.built_at > 0,
                    ));
                }
                None => rows.push(row("deployment.redis_off", "-", true)),
            }
            match &self.engines.nats {
                Some(nats) => {
                    rows.push(row("deployment.nats", nats.address(), true));
                    for (label, topic) in [
                        ("deployment.backlog_clicks", Topic::AdEvents),
                        ("deployment.backlog_orders", Topic::OrderCompleted),
                        ("deployment.backlog_changes", Topic::CampaignEvents),
                    ] {
                        rows.push(match nats.backlog(topic).await {
                            // A backlog only delays the ledger; a large one needs more workers.
                            Ok(n) => row(label, n.to_string(), n < 10_000),
                            Err(error) => row(label, error.to_string(), false),
                        });
                    }
                }
                None => rows.push(row("deployment.nats_off", "-", true)),
            }
            rows
        })
    }
}

/// The page's source for a process.
pub fn status(
    role: Role,
    serving: Serving,
    engines: Engines,
    namespace: String,
) -> Arc<dyn DeploymentStatus> {
    Arc::new(Deployment {
        role,
        serving,
        engines,
        namespace,
    })
}
