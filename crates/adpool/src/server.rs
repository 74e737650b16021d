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

/// Shop orders that became completed or were cancelled, recorded by CPC attribution (the same
/// path as `POST /api/v1/events/orders`, idempotent by order id, so a retried job counts once).
#[derive(Clone)]
pub struct ShopOrderEvents {
    serving: adpool_serving::Serving,
}

impl JobHandler for ShopOrderEvents {
    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, Result<Option<serde_json::Value>, JobError>> {
        Box::pin(async move {
            let org = ctx
                .job
                .org_id
                .ok_or_else(|| JobError::permanent("order events need an organization"))?;
            let events = ctx.job.payload["events"]
                .as_array()
                .ok_or_else(|| JobError::permanent("payload has no events"))?;
            let (mut recorded, mut refused) = (0, Vec::new());
            for value in events {
                let event: adpool_serving::OrderEvent = match serde_json::from_value(value.clone())
                {
                    Ok(event) => event,
                    Err(error) => {
                        refused.push(format!("{}: {error}", value["order_id"]));
                        continue;
                    }
                };
                match self.serving.submit_order(org, &event).await {
                    Ok(_) => recorded += 1,
                    Err(
                        error @ (adpool_serving::ServingError::Store(_)
                        | adpool_serving::ServingError::Unavailable(_)),
                    ) => {
                        return Err(JobError::Retryable(error.to_string()));
                    }
                    // A bad event is reported, not retried, and does not hold back the others.
                    Err(error) => refused.push(format!("{}: {error}", event.order_id)),
                }
            }
            Ok(Some(
                serde_json::json!({ "recorded": recorded, "refused": refused }),
            ))
        })
    }
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

/// What a process of a deployment does (`serve --role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Web, API and ad serving only: stateless, as many as the load needs behind any balancer.
    Api,
    /// Jobs, schedules, event consumers and ranking builds; no HTTP.
    Worker,
    /// Everything in one process (the single-machine deployment).
    All,
}

impl Role {
    fn serves_http(self) -> bool {
        self != Role::Worker
    }

    fn runs_work(self) -> bool {
        self != Role::Api
    }
}

/// The job handlers of every capability that has landed.
#[cfg(test)]
pub fn registry(config: &Config, state: &AppState) -> Registry {
    registry_with(config, state, &adpool_scaleout::Engines::default())
}

/// The job handlers, with the reconcile job when a shared spend store is connected.
pub fn registry_with(
    config: &Config,
    state: &AppState,
    engines: &adpool_scaleout::Engines,
) -> Registry {
    let mut registry = Registry::new();
    if let Some(redis) = &engines.redis {
        registry.register(
            adpool_scaleout::RECONCILE_JOB,
            1,
            adpool_scaleout::ReconcileHandler::new(
                state.serving.clone(),
                redis.clone(),
                engines.nats.clone(),
                state.notifications.clone(),
            ),
        );
    }
    registry.register(
        WEBHOOK_JOB_KIND,
        4,
        WebhookDelivery::new(config.outbound_rules()),
    );
    registry.register(
        adpool_jobs::EVENT_JOB_KIND,
        4,
        adpool_jobs::EventDelivery::new(config.outbound_rules()),
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
        adpool_logs::AnalyzeHandler::new(
            state.db.clone(),
            state.clock.clone(),
            state.log_sources.clone(),
        ),
    );
    let sync = adpool_commerce::SyncHandler::new(
        state.shops.clone(),
        state.jobs.clone(),
        sync_settings(config),
    );
    registry.register(
        adpool_commerce::SYNC_JOB,
        config.shop_sync_concurrency,
        sync.clone(),
    );
    registry.register(adpool_commerce::SYNC_ALL_JOB, 1, sync);
    registry.register(
        adpool_commerce::ORDER_EVENTS_JOB,
        2,
        ShopOrderEvents {
            serving: state.serving.clone(),
        },
    );
    registry.register(
        adpool_inventory::REPAIR_STATUS_JOB,
        1,
        adpool_inventory::RepairStatusHandler::new(state.inventory.clone()),
    );
    registry.register(
        adpool_insight::ANALYZE_JOB,
        2,
        adpool_insight::AnalyzeHandler::new(state.insight.clone(), state.notifications.clone()),
    );
    registry
}

/// Builds the application state for `db` with the system clock.
#[cfg(test)]
pub fn state(config: &Config, db: Db) -> anyhow::Result<AppState> {
    state_with(config, db, &adpool_scaleout::Engines::default(), Role::All)
}

/// The application state of a process in `role`, on the connected shared engines.
pub fn state_with(
    config: &Config,
    db: Db,
    engines: &adpool_scaleout::Engines,
    role: Role,
) -> anyhow::Result<AppState> {
    let clock: SharedClock = Arc::new(SystemClock);
    let mut settings = serving_config(config);
    // Api processes take the rankings the workers publish to Redis.
    settings.rebuild_rankings = !(role == Role::Api && engines.redis.is_some());
    if !settings.rebuild_rankings {
        // Without the rankings query the reload is two small reads: a site created on any
        // process serves on every api process within 2 s.
        settings.refresh_interval = Duration::from_secs(2);
    }
    let serving = match engines.hot_state() {
        Some(hot) => {
            adpool_serving::Serving::with_hot_state(db.clone(), clock.clone(), settings, hot)
        }
        None => adpool_serving::Serving::new(db.clone(), clock.clone(), settings),
    };
    serving.attach_scale_out(engines.scale_out());
    let vault = commerce_vault(config)?;
    let shops = adpool_commerce::Shops::new(db.clone(), clock.clone(), vault.clone());
    let log_sources = adpool_logs::LogSources::new(db.clone(), vault, config.log_source_rules());
    let (db_for_insight, clock_for_insight) = (db.clone(), clock.clone());
    Ok(AppState::new(
        db,
        clock,
        WebConfig {
            secure_cookies: config.secure_cookies,
            public_url: config.public_url.clone(),
            serve_requests_per_second_per_client: config.serve_rate_limit_per_second,
            sign_ups_per_hour_per_client: config.signup_rate_limit_per_hour,
            login_attempts_per_minute_per_client: config.login_rate_limit_per_minute,
            trust_forwarded_for: config.trust_forwarded_for,
            metrics_token: config.metrics_token.clone(),
            operator_org: Some(adpool_core::OrgId(config.operator_org_id)).filter(|o| o.get() > 0),
        },
    )
    .with_serving(serving)
    .with_shops(shops, sync_settings(config))
    .with_log_sources(log_sources)
    .with_outbound_rules(config.outbound_rules())
    .with_insight(
        adpool_insight::Insight::new(db_for_insight, clock_for_insight)
            .with_llm(config.llm.clone()),
    ))
}

/// How store syncs reach the platforms.
pub fn sync_settings(config: &Config) -> adpool_commerce::sync::SyncSettings {
    adpool_commerce::sync::SyncSettings {
        cafe24: adpool_commerce::cafe24::Cafe24Settings {
            base_url: config.cafe24_base_url.clone(),
            api_version: config.cafe24_api_version.clone(),
            client_id: config.cafe24_client_id.clone(),
            client_secret: config.cafe24_client_secret.clone(),
        },
        naver: adpool_commerce::naver::NaverSettings {
            base_url: config.naver_base_url.clone(),
            outbound_ip: config.outbound_ip_address.clone(),
        },
        settle_days: config.shop_settle_days,
        ..Default::default()
    }
}

/// The key shop credentials are sealed with: configured, or the key file (created once).
pub fn commerce_vault(config: &Config) -> anyhow::Result<adpool_commerce::Vault> {
    let vault = match config.commerce_key.as_deref() {
        Some(key) => adpool_commerce::Vault::from_hex(key),
        None => {
            adpool_commerce::Vault::load_or_create(std::path::Path::new(&config.commerce_key_file))
        }
    };
    vault.map_err(|e| anyhow::anyhow!("commerce key: {e}"))
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
        max_users_per_client: config.cpc_max_users_per_client,
        event_log_folder: Some(config.event_log_folder.trim())
            .filter(|f| !f.is_empty())
            .map(std::path::PathBuf::from),
        ..adpool_serving::ServingConfig::default()
    }
}

/// Serves in one `role` until Ctrl-C (or SIGTERM), with extra job handlers (the demo's).
/// `banner` is printed once the socket is bound.
pub async fn serve_with(
    config: Config,
    db: Db,
    banner: Option<String>,
    role: Role,
    extra_handlers: impl FnOnce(&mut Registry),
) -> anyhow::Result<()> {
    let engines = adpool_scaleout::Engines::connect(&config.scale_out)
        .await
        .context("connecting the scale-out engines")?;
    if role != Role::All && !config.scale_out.enabled() {
        tracing::warn!(
            ?role,
            "running one role without ADPOOL_REDIS_URL / ADPOOL_NATS_URL: processes share only the database"
        );
    }
    let state = state_with(&config, db, &engines, role)?;
    // Uploads a process killed mid-request left on disk.
    let orphans =
        adpool_web::remove_orphaned_uploads(std::time::SystemTime::now() - adpool_web::ORPHAN_AGE);
    if orphans > 0 {
        tracing::info!(orphans, folder = %adpool_web::scratch_root().display(), "removed orphaned uploads");
    }
    let state = state.clone().with_deployment(crate::deployment::status(
        role,
        state.serving.clone(),
        engines.clone(),
        config.scale_out.namespace.clone(),
    ));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    if let Some(redis) = &engines.redis {
        // Api processes start from what the workers published.
        if let Err(error) = redis.load_published().await {
            tracing::warn!(%error, "no published rankings loaded; building them from the database");
        }
        tasks.extend(redis.start(shutdown_rx.clone()));
    }
    state
        .serving
        .refresh()
        .await
        .context("loading the CPC rankings")?;
    tasks.push({
        let serving = state.serving.clone();
        let mut stop = shutdown_rx.clone();
        tokio::spawn(async move {
            serving
                .run_background(async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                })
                .await;
        })
    });
    let state = if role.runs_work() {
        let mut handlers = registry_with(&config, &state, &engines);
        extra_handlers(&mut handlers);
        ensure_schedules(&config, &state, &engines).await?;
        let worker = Worker::new(
            state.jobs.clone(),
            handlers,
            WorkerConfig {
                concurrency: config.worker_concurrency,
                ..WorkerConfig::default()
            },
        );
        tasks.push(tokio::spawn(worker.clone().run(shutdown_rx.clone())));
        tasks.push(tokio::spawn(state.scheduler.clone().run(
            Duration::from_secs(5),
            shutdown_rx.clone(),
            worker.waker(),
        )));
        if let Some(nats) = &engines.nats {
            let consumers = nats
                .clone()
                .run_consumers(
                    state.serving.clone(),
                    adpool_scaleout::ConsumerSettings {
                        ack_wait: Duration::from_secs(config.nats_ack_wait_secs),
                        ..Default::default()
                    },
                    shutdown_rx.clone(),
                )
                .await
                .context("starting the event consumers")?;
            tasks.extend(consumers);
        }
        state.with_worker_wake(worker.waker())
    } else {
        state
    };
    if role.serves_http() {
        let listener = tokio::net::TcpListener::bind(&config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let address = listener.local_addr()?;
        // Click URLs and OAuth redirects are built from public_url, never from a request's
        // Host header (which a client chooses): on loopback the bound address serves.
        let mut state = state.clone();
        if state.config.public_url.is_none() {
            if !address.ip().is_loopback() {
                anyhow::bail!(
                    "set public_url (ADPOOL_PUBLIC_URL), e.g. https://ads.example.com: serving on {address} beyond this machine, click URLs must name the public address"
                );
            }
            state.config.public_url = Some(format!("http://{address}"));
        }
        tracing::info!(%address, ?role, database = %state.db.display_url(), "adpool listening");
        if let Some(banner) = banner {
            println!("{}", banner.replace("{address}", &address.to_string()));
        } else {
            println!("adpool listening on http://{address}");
        }
        let app = adpool_web::app(state.clone());
        adpool_web::serve(listener, app, config.http_limits(), shutdown_signal())
            .await
            .context("serving HTTP")?;
    } else {
        tracing::info!(database = %state.db.display_url(), "adpool worker running");
        println!("adpool worker running");
        shutdown_signal().await;
    }
    let _ = shutdown_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    state.db.close().await;
    Ok(())
}

/// The schedules every deployment has (registered by worker processes; several processes
/// registering the same schedule is harmless).
async fn ensure_schedules(
    config: &Config,
    state: &AppState,
    engines: &adpool_scaleout::Engines,
) -> anyhow::Result<()> {
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
    state
        .scheduler
        .ensure(
            "shop.sync_all",
            &config.shop_sync_cron,
            adpool_commerce::SYNC_ALL_JOB,
            serde_json::json!({}),
            None,
        )
        .await
        .context("registering the daily shop sync")?;
    if engines.redis.is_some() {
        state
            .scheduler
            .ensure(
                "cpc.reconcile_hot_state",
                "*/10 * * * *",
                adpool_scaleout::RECONCILE_JOB,
                serde_json::json!({}),
                None,
            )
            .await
            .context("registering the Redis reconciliation")?;
    }
    schedule_event_log_analysis(config, state)
        .await
        .context("registering the event-log analysis schedules")?;
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
        let config = Config {
            // Not the key file: a test must not write into the source tree.
            commerce_key: Some("00".repeat(32)),
            ..Config::default()
        };
        let kinds = registry(&config, &state(&config, db).expect("state")).kinds();
        for kind in [
            WEBHOOK_JOB_KIND,
            adpool_jobs::EVENT_JOB_KIND,
            MAINTENANCE_JOB_KIND,
            adpool_inventory::BUILD_STANDARD_JOB,
            adpool_inventory::BUILD_UNIT_JOB,
            adpool_inventory::REPAIR_STATUS_JOB,
            adpool_commerce::SYNC_JOB,
            adpool_commerce::SYNC_ALL_JOB,
            adpool_commerce::ORDER_EVENTS_JOB,
            adpool_logs::ANALYZE_JOB,
        ] {
            assert!(
                kinds.iter().any(|k| k == kind),
                "no handler for {kind}: {kinds:?}"
            );
        }
    }

    /// Shop order events reach CPC attribution once, however often the job runs; a bad event
    /// is reported without holding back the others.
    #[tokio::test]
    async fn shop_order_events_are_recorded_once_by_cpc_attribution() {
        let db = adpool_store::testing::fresh_database().await;
        let org: i64 = sqlx::query_scalar(
            "INSERT INTO organizations (name, created_at) VALUES ('Shop', 0) RETURNING id",
        )
        .fetch_one(db.pool())
        .await
        .expect("org");
        let config = Config {
            commerce_key: Some("00".repeat(32)),
            ..Config::default()
        };
        let state = state(&config, db.clone()).expect("state");
        let payload = serde_json::json!({ "events": [
            { "order_id": "cafe24:camphouse:1", "user": "member7", "status": "completed",
              "ts": 1_795_100_000_000_i64, "items": [{ "product_id": "101", "qty": 1, "amount": 39000 }] },
            { "order_id": "cafe24:camphouse:2", "user": "member8", "status": "shipped", "ts": 1 },
        ] });
        for _ in 0..2 {
            state
                .jobs
                .enqueue(
                    adpool_jobs::NewJob::new(adpool_commerce::ORDER_EVENTS_JOB, payload.clone())
                        .for_org(adpool_accounts::OrgId(org)),
                )
                .await
                .expect("enqueue");
        }
        let worker = adpool_jobs::Worker::new(
            state.jobs.clone(),
            registry(&config, &state),
            Default::default(),
        );
        let outcomes = worker.drain().await.expect("drain");
        assert_eq!(outcomes.len(), 2);
        let results: Vec<String> = sqlx::query_scalar(
            "SELECT result FROM jobs WHERE kind = 'shop.order_events' AND state = 'succeeded'",
        )
        .fetch_all(db.pool())
        .await
        .expect("results");
        assert_eq!(results.len(), 2, "a bad event does not fail the job");
        assert!(
            results[0].contains("\"recorded\":1") && results[0].contains("shipped"),
            "{}",
            results[0]
        );
        let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cpc_orders WHERE org_id = $1")
            .bind(org)
            .fetch_one(db.pool())
            .await
            .expect("count");
        assert_eq!(orders, 1, "the same order counts once");
    }
}
