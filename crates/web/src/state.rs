use std::sync::Arc;

use adpool_accounts::Accounts;
use adpool_commerce::{Shops, Vault};
use adpool_core::SharedClock;
use adpool_inventory::Inventory;
use adpool_jobs::{Jobs, Notifications, Scheduler};
use adpool_serving::{Serving, ServingConfig};
use adpool_store::Db;
use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::render::Templates;

/// Settings of the HTTP edge.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// Mark cookies `Secure` (serve behind HTTPS).
    pub secure_cookies: bool,
    /// The public base URL of this server (`https://ads.example.com`) for click URLs; when
    /// unset, the request's Host header is used.
    pub public_url: Option<String>,
    /// Requests a second each client address may send to `/serve/*` (bursts of twice that);
    /// 0 turns the limit off.
    pub serve_requests_per_second_per_client: u32,
    /// Login attempts a minute each client address may make (bursts of that many); 0 turns
    /// the limit off. Failed logins are throttled apart from this, per email and address.
    pub login_attempts_per_minute_per_client: u32,
    /// Advertiser sign-ups an hour each client address may submit (each hashes a password);
    /// 0 turns the limit off.
    pub sign_ups_per_hour_per_client: u32,
    /// adpool sits behind a proxy that appends the client's address to `X-Forwarded-For`:
    /// count limits against that address instead of the proxy's.
    pub trust_forwarded_for: bool,
    /// When set, `/metrics` answers only requests carrying `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// The organization that runs the deployment: its admins see the system's jobs and
    /// schedules (maintenance, syncs of every store); other organizations' admins see only
    /// their own. `None`: nobody sees them from the web.
    pub operator_org: Option<adpool_core::OrgId>,
}

/// The per-client rate limiters, built from [`WebConfig`].
#[derive(Debug)]
pub struct RateLimits {
    /// `/serve/ads` and `/serve/click`.
    pub serving: crate::RateLimiter,
    /// `POST /login`.
    pub login: crate::RateLimiter,
    /// `POST /cpc/join/{org}`.
    pub sign_up: crate::RateLimiter,
}

impl RateLimits {
    fn from_config(config: &WebConfig) -> Self {
        let per_second = config.serve_requests_per_second_per_client;
        let per_minute = config.login_attempts_per_minute_per_client;
        RateLimits {
            serving: crate::RateLimiter::new(per_second, per_second.saturating_mul(2)),
            login: crate::RateLimiter::per_minute(per_minute),
            sign_up: crate::RateLimiter::per_hour(config.sign_ups_per_hour_per_client),
        }
    }
}

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Time.
    pub clock: SharedClock,
    /// Organizations, users, sessions, tokens.
    pub accounts: Accounts,
    /// The job queue.
    pub jobs: Jobs,
    /// Forecast-pool inventory.
    pub inventory: Inventory,
    /// CPC sponsored ads.
    pub serving: Serving,
    /// Shop stores, their data and the sales dashboard.
    pub shops: Shops,
    /// Where the shop platforms are (Cafe24 consent, syncs).
    pub shop_sync: adpool_commerce::sync::SyncSettings,
    /// Spending insight: statements, analyses, messages.
    pub insight: adpool_insight::Insight,
    /// Which log sources each organization may analyze, and its S3 credentials.
    pub log_sources: adpool_logs::LogSources,
    /// Notifications.
    pub notifications: Notifications,
    /// Cron schedules.
    pub scheduler: Scheduler,
    /// Wakes the in-process worker after a job is enqueued.
    pub worker_wake: Arc<Notify>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Web settings.
    pub config: WebConfig,
    /// What this process is and which engines it runs on (the admin deployment page).
    pub deployment: Option<Arc<dyn DeploymentStatus>>,
    /// Per-client rate limits.
    pub limits: Arc<RateLimits>,
    pub(crate) templates: Arc<Templates>,
}

/// One line of the deployment page: a message key, what it says, and whether it is healthy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeploymentRow {
    /// Message key of the label (`deployment.*` in the catalog).
    pub label: &'static str,
    /// The value (URLs with passwords masked).
    pub value: String,
    /// False when something needs a look (an engine unreachable, a backlog).
    pub healthy: bool,
}

/// Describes this process's role and engines; the binary implements it. The page adds the
/// database row itself.
pub trait DeploymentStatus: Send + Sync + 'static {
    /// The rows, checked now (pings and backlogs included).
    fn rows(&self) -> adpool_jobs::BoxFuture<'_, Vec<DeploymentRow>>;
}

impl AppState {
    /// State over `db` and `clock` with default settings.
    pub fn new(db: Db, clock: SharedClock, config: WebConfig) -> Self {
        let jobs = Jobs::new(db.clone(), clock.clone());
        let limits = Arc::new(RateLimits::from_config(&config));
        AppState {
            accounts: Accounts::new(db.clone(), clock.clone()),
            notifications: Notifications::new(jobs.clone()),
            scheduler: Scheduler::new(jobs.clone()),
            inventory: Inventory::new(db.clone(), clock.clone()),
            serving: Serving::new(db.clone(), clock.clone(), ServingConfig::default()),
            // A key for this process only; the server passes the configured one.
            shops: Shops::new(db.clone(), clock.clone(), Vault::new(random_key())),
            shop_sync: adpool_commerce::sync::SyncSettings::default(),
            insight: adpool_insight::Insight::new(db.clone(), clock.clone()),
            // Only each organization's own event-log folder, and no server S3 credentials.
            log_sources: adpool_logs::LogSources::new(
                db.clone(),
                Vault::new(random_key()),
                adpool_logs::SourceRules::default(),
            ),
            jobs,
            db,
            clock,
            worker_wake: Arc::new(Notify::new()),
            metrics: Arc::new(Metrics::default()),
            config,
            deployment: None,
            limits,
            templates: Arc::new(Templates::new()),
        }
    }

    /// Uses `serving` (configured, with its event log) for CPC ads.
    pub fn with_serving(mut self, serving: Serving) -> Self {
        self.serving = serving;
        self
    }

    /// Uses `shops` (with the configured credentials key).
    pub fn with_shops(mut self, shops: Shops, sync: adpool_commerce::sync::SyncSettings) -> Self {
        self.shops = shops;
        self.shop_sync = sync;
        self
    }

    /// Uses `insight` (with the configured AI endpoint).
    pub fn with_insight(mut self, insight: adpool_insight::Insight) -> Self {
        self.insight = insight;
        self
    }

    /// Uses `log_sources` (the deployment's folder roots, S3 settings and vault key).
    pub fn with_log_sources(mut self, log_sources: adpool_logs::LogSources) -> Self {
        self.log_sources = log_sources;
        self
    }

    /// Webhook URLs must pass `rules` when saved.
    pub fn with_outbound_rules(mut self, rules: adpool_outbound::OutboundRules) -> Self {
        self.accounts = self.accounts.with_outbound_rules(rules);
        self
    }

    /// Uses `wake` to wake the worker after enqueuing.
    pub fn with_worker_wake(mut self, wake: Arc<Notify>) -> Self {
        self.worker_wake = wake;
        self
    }

    /// With the deployment page's source.
    pub fn with_deployment(mut self, deployment: Arc<dyn DeploymentStatus>) -> Self {
        self.deployment = Some(deployment);
        self
    }
}

fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the operating system's random source");
    key
}
