//! Wiring: open the database, register job handlers and schedules, run web + worker +
//! scheduler until Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use adpool_core::{SharedClock, SystemClock};
use adpool_jobs::{
    BoxFuture, JobContext, JobError, JobHandler, Registry, WEBHOOK_JOB_KIND, WebhookDelivery,
    Worker, WorkerConfig,
};
use adpool_store::Db;
use adpool_web::{AppState, WebConfig};
use anyhow::Context;
use tokio::sync::watch;

use crate::config::Config;

/// Starts logging once; `RUST_LOG` wins over the configured filter.
pub fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

/// Connects without migrating.
pub async fn connect(url: &str) -> anyhow::Result<Db> {
    Ok(Db::connect(url).await?)
}

/// Connects and applies pending migrations (every start does).
pub async fn open_database(url: &str) -> anyhow::Result<Db> {
    let db = connect(url).await?;
    let applied = db
        .migrate()
        .await
        .with_context(|| format!("migrating {}", db.display_url()))?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), database = %db.display_url(), "migrations applied");
    }
    Ok(db)
}

/// Daily clean-up: expired sessions, old login failures, finished jobs older than 30 days.
pub const MAINTENANCE_JOB_KIND: &str = "maintenance.daily";

struct Maintenance {
    accounts: adpool_accounts::Accounts,
}

impl JobHandler for Maintenance {
    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, Result<Option<serde_json::Value>, JobError>> {
        Box::pin(async move {
            ctx.progress(0, Some(2), Some("sessions and login failures"))
                .await?;
            let accounts = self
                .accounts
                .purge_expired()
                .await
                .map_err(JobError::retryable)?;
            ctx.progress(1, Some(2), Some("finished jobs")).await?;
            let cutoff = ctx.jobs().clock().now_millis() - 30 * 24 * 3600 * 1000;
            let jobs = ctx.jobs().purge_finished(cutoff).await?;
            Ok(Some(
                serde_json::json!({ "purged_account_rows": accounts, "purged_jobs": jobs }),
            ))
        })
    }
}

/// The job handlers of every capability that has landed.
pub fn registry(state: &AppState) -> Registry {
    let mut registry = Registry::new();
    registry.register(WEBHOOK_JOB_KIND, 4, WebhookDelivery::default());
    registry.register(
        adpool_jobs::EVENT_JOB_KIND,
        4,
        adpool_jobs::EventDelivery::default(),
    );
    registry.register(
        MAINTENANCE_JOB_KIND,
        1,
        Maintenance {
            accounts: state.accounts.clone(),
        },
    );
    let builds = adpool_inventory::BuildHandler::new(state.inventory.clone());
    registry.register(adpool_inventory::BUILD_STANDARD_JOB, 2, builds.clone());
    registry.register(adpool_inventory::BUILD_UNIT_JOB, 2, builds);
    registry.register(
        adpool_logs::ANALYZE_JOB,
        1,
        adpool_logs::AnalyzeHandler::new(state.db.clone(), state.clock.clone()),
    );
    registry.register(
        adpool_inventory::REPAIR_STATUS_JOB,
        1,
        adpool_inventory::RepairStatusHandler::new(state.inventory.clone()),
    );
    registry
}

/// Builds the application state for `db` with the system clock.
pub fn state(config: &Config, db: Db) -> AppState {
    let clock: SharedClock = Arc::new(SystemClock);
    let serving = adpool_serving::Serving::new(db.clone(), clock.clone(), serving_config(config));
    AppState::new(
        db,
        clock,
        WebConfig {
            secure_cookies: config.secure_cookies,
            public_url: config.public_url.clone(),
        },
    )
    .with_serving(serving)
}

/// Every organization with CPC sites gets its own ad-server traffic analyzed into the log
/// reports every 10 minutes (its folder of the event log).
async fn schedule_event_log_analysis(config: &Config, state: &AppState) -> anyhow::Result<()> {
    let folder = config.event_log_folder.trim();
    if folder.is_empty() {
        return Ok(());
    }
    let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.into());
    for org in state.serving.organizations_with_sites().await? {
        let org = org.get();
        state
            .scheduler
            .ensure(
                &format!("logs.cpc_event_log.org-{org}"),
                "*/10 * * * *",
                adpool_logs::ANALYZE_JOB,
                serde_json::json!({
                    "source": folder.join(format!("org-{org}")).display().to_string(),
                    "optional": true,
                }),
                Some(adpool_accounts::OrgId(org)),
            )
            .await?;
    }
    Ok(())
}

/// CPC serving settings from the configuration.
pub fn serving_config(config: &Config) -> adpool_serving::ServingConfig {
    adpool_serving::ServingConfig {
        reserve_price: config.cpc_reserve_price,
        duplicate_click_window: std::time::Duration::from_secs(
            config.cpc_duplicate_click_window_secs,
        ),
        click_token_ttl: std::time::Duration::from_secs(config.cpc_click_token_ttl_secs),
        event_log_folder: Some(config.event_log_folder.trim())
            .filter(|f| !f.is_empty())
            .map(std::path::PathBuf::from),
        ..adpool_serving::ServingConfig::default()
    }
}

/// Serves until Ctrl-C (or SIGTERM), with the worker and scheduler in the same process.
/// `banner` is printed once the socket is bound.
pub async fn serve(config: Config, db: Db, banner: Option<String>) -> anyhow::Result<()> {
    serve_with(config, db, banner, |_| {}).await
}

/// Like [`serve`], with extra job handlers (the demo's).
pub async fn serve_with(
    config: Config,
    db: Db,
    banner: Option<String>,
    extra_handlers: impl FnOnce(&mut Registry),
) -> anyhow::Result<()> {
    let state = state(&config, db);
    let mut handlers = registry(&state);
    extra_handlers(&mut handlers);
    state
        .scheduler
        .ensure(
            "maintenance.daily",
            "30 4 * * *",
            MAINTENANCE_JOB_KIND,
            serde_json::json!({}),
            None,
        )
        .await
        .context("registering the maintenance schedule")?;
    state
        .scheduler
        .ensure(
            "campaigns.repair_status",
            "*/10 * * * *",
            adpool_inventory::REPAIR_STATUS_JOB,
            serde_json::json!({}),
            None,
        )
        .await
        .context("registering the campaign-status repair schedule")?;
    schedule_event_log_analysis(&config, &state)
        .await
        .context("registering the event-log analysis schedules")?;
    let worker = Worker::new(
        state.jobs.clone(),
        handlers,
        WorkerConfig {
            concurrency: config.worker_concurrency,
            ..WorkerConfig::default()
        },
    );
    let state = state.with_worker_wake(worker.waker());
    state
        .serving
        .refresh()
        .await
        .context("loading the CPC rankings")?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let serving_task = {
        let serving = state.serving.clone();
        let mut stop = shutdown_rx.clone();
        tokio::spawn(async move {
            serving
                .run_background(async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                })
                .await;
        })
    };
    let worker_task = tokio::spawn(worker.clone().run(shutdown_rx.clone()));
    let scheduler_task = tokio::spawn(state.scheduler.clone().run(
        Duration::from_secs(5),
        shutdown_rx.clone(),
        worker.waker(),
    ));

    let listener = tokio::net::TcpListener::bind(&config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, database = %state.db.display_url(), "adpool listening");
    if let Some(banner) = banner {
        println!("{}", banner.replace("{address}", &address.to_string()));
    } else {
        println!("adpool listening on http://{address}");
    }
    let app = adpool_web::app(state.clone());
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving HTTP")?;
    let _ = shutdown_tx.send(true);
    let _ = tokio::join!(worker_task, scheduler_task, serving_task);
    state.db.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: the inventory build jobs were enqueued by the pages but no handler was
    /// registered, so they stayed queued forever.
    #[tokio::test]
    async fn every_job_kind_the_app_enqueues_has_a_handler() {
        let db = adpool_store::testing::fresh_database().await;
        let kinds = registry(&state(&Config::default(), db)).kinds();
        for kind in [
            WEBHOOK_JOB_KIND,
            adpool_jobs::EVENT_JOB_KIND,
            MAINTENANCE_JOB_KIND,
            adpool_inventory::BUILD_STANDARD_JOB,
            adpool_inventory::BUILD_UNIT_JOB,
            adpool_inventory::REPAIR_STATUS_JOB,
            adpool_logs::ANALYZE_JOB,
        ] {
            assert!(
                kinds.iter().any(|k| k == kind),
                "no handler for {kind}: {kinds:?}"
            );
        }
    }
}
