//! `adpool-serving`: CPC sponsored ads (DOMAIN.md section E).
//!
//! It owns advertisers (sign-up, review, approval or rejection), their prepaid balance and its
//! append-only ledger (top-ups with idempotency keys, charges, refunds, adjustments, verification
//! and the daily settlement statement), CPC campaigns and product ads, placements and the sites
//! that query ads with their API keys, the rankings (bid x smoothed pCTR, generalized second
//! price), the ad query answered from an in-memory snapshot with no database access, signed
//! click tokens and the atomic charge of a click, the event log of requests, impressions and
//! clicks, 24-hour last-click attribution of orders, and the metrics and ROAS per ad and day.
//!
//! Hot state (rankings, live click-through windows) sits behind the [`HotState`] seam; the
//! database is the source of truth for money. Every function takes the caller's organization and
//! never crosses it. It has no HTTP in it.
//!
//! ```no_run
//! # async fn demo(db: adpool_store::Db, org: adpool_core::OrgId) -> Result<(), adpool_serving::ServingError> {
//! use adpool_serving::{AdQuery, Serving, ServingConfig};
//! let serving = Serving::new(db, std::sync::Arc::new(adpool_core::SystemClock), ServingConfig::default());
//! serving.refresh().await?;
//! let site = serving.site_by_key("adk_...").expect("a site key");
//! let answer = serving.query_ads(&site, &AdQuery { placement: "home_top".into(), n: 4, ..AdQuery::default() }, "https://ads.example.com");
//! # Ok(()) }
//! ```

mod advertisers;
mod attribution;
mod campaigns;
pub mod click_token;
mod clicks;
pub mod client_guard;
mod error;
pub mod event_log;
pub mod fixtures;
pub mod hot_state;
mod ledger;
pub mod ranking;
mod refresh;
mod reports;
pub mod scale_out;
mod serve;
mod sites;

pub use adpool_core::{OrgId, UserId};
pub use advertisers::{
    Advertiser, AdvertiserState, SignUp, valid_registration_number, with_check_digit,
};
pub use attribution::{Conversion, OrderEvent, OrderItem, OrderOutcome, OrderStatus, OrderTime};
pub use campaigns::{
    AdReview, AdState, CampaignState, CpcCampaign, NewCpcCampaign, NewProductAd, Placement,
    ProductAd,
};
pub use clicks::{ClickOutcome, InvalidReason};
pub use error::ServingError;
pub use event_log::{EventLog, LogEvent, RollPolicy};
pub use hot_state::{HotState, LocalHotState};
pub use ledger::{
    EntryKind, LedgerEntry, LedgerMismatch, MAX_BALANCE_WON, MAX_ENTRY_WON, Settlement,
    TopUpOutcome, settlement_csv,
};
pub use ranking::{CtrPrior, Ranking, Rankings};
pub use reports::{AdDayMetrics, LiveCtr, MetricsFilter, Totals};
pub use scale_out::{
    ClickEvent, EventBus, ScaleOut, Settled, SharedSpend, SpendAnswer, SpendRequest, Topic,
};
pub use serve::{AdQuery, AdQueryAnswer, ServedAd};
pub use sites::{NewSite, Site, SiteKey};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use adpool_core::SharedClock;
use adpool_store::Db;
use arc_swap::ArcSwap;

/// Settings of CPC serving (`[serving]` in adpool.toml).
#[derive(Debug, Clone)]
pub struct ServingConfig {
    /// The lowest CPC in won: no bid below it, no price below it.
    pub reserve_price: i64,
    /// How long a click token stays valid.
    pub click_token_ttl: Duration,
    /// A second click by the same user on the same ad within this window charges nothing.
    pub duplicate_click_window: Duration,
    /// How often rankings are rebuilt from the database (they are also rebuilt on every change).
    pub refresh_interval: Duration,
    /// How often impressions counted in memory are added to the database.
    pub flush_interval: Duration,
    /// Where request, impression and click logs go (none: not written).
    pub event_log_folder: Option<PathBuf>,
    /// When a log file is rolled.
    pub event_log_roll: RollPolicy,
    /// The pCTR prior.
    pub prior: CtrPrior,
    /// How many days of history feed pCTR.
    pub history_days: i64,
    /// Whether the refresh timer rebuilds the rankings from the database (false: it reloads
    /// only sites and the click-token key, and the rankings arrive from a shared store, as on
    /// api processes in scale-out mode).
    pub rebuild_rankings: bool,
    /// Distinct user ids one client (address and user agent) may show within the duplicate
    /// window before its clicks are invalid traffic; 0 turns the rule off
    /// ([`client_guard`]).
    pub max_users_per_client: usize,
}

impl Default for ServingConfig {
    fn default() -> Self {
        ServingConfig {
            reserve_price: 70,
            click_token_ttl: Duration::from_secs(30 * 60),
            duplicate_click_window: Duration::from_secs(10 * 60),
            refresh_interval: Duration::from_secs(10),
            flush_interval: Duration::from_secs(5),
            event_log_folder: None,
            event_log_roll: RollPolicy::default(),
            prior: CtrPrior::default(),
            history_days: 7,
            rebuild_rankings: true,
            max_users_per_client: client_guard::MAX_USERS_PER_CLIENT,
        }
    }
}

/// The CPC service. Cheap to clone; every clone shares the hot state.
#[derive(Clone, Debug)]
pub struct Serving {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    clock: SharedClock,
    config: ServingConfig,
    hot: Arc<dyn HotState>,
    /// The click-token secret, loaded (or created) by the first refresh.
    secret: OnceLock<click_token::TokenKey>,
    sites: ArcSwap<HashMap<String, Arc<Site>>>,
    /// What rankings are built from, kept to re-rank at once after a charge.
    inputs: Mutex<refresh::RankInputs>,
    /// Impressions per (ad, KST date) not yet added to the database.
    pending_impressions: Mutex<HashMap<(i64, adpool_core::BusinessDate), i64>>,
    event_log: Option<EventLog>,
    impression_prefix: String,
    impression_seq: AtomicU64,
    counters: Counters,
    /// Clients seen clicking recently (invalid traffic by rotating user ids).
    client_guard: client_guard::ClientGuard,
    /// The engines shared with other processes (scale-out mode).
    scale_out: OnceLock<ScaleOut>,
}

/// Running totals of this process, for `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Ad queries answered.
    pub queries: AtomicU64,
    /// Ads served.
    pub impressions: AtomicU64,
    /// Clicks charged.
    pub clicks_charged: AtomicU64,
    /// Clicks refused.
    pub clicks_invalid: AtomicU64,
    /// Rankings published.
    pub rankings_published: AtomicU64,
}

impl Serving {
    /// Serving over `db` with in-process hot state. Nothing is served until [`Serving::refresh`]
    /// has run once.
    pub fn new(db: Db, clock: SharedClock, config: ServingConfig) -> Self {
        Self::with_hot_state(db, clock, config, Arc::new(LocalHotState::default()))
    }

    /// Serving with another hot state (a shared store when many processes serve).
    pub fn with_hot_state(
        db: Db,
        clock: SharedClock,
        config: ServingConfig,
        hot: Arc<dyn HotState>,
    ) -> Self {
        let mut prefix = [0u8; 6];
        let _ = getrandom::fill(&mut prefix);
        let event_log = config.event_log_folder.as_ref().and_then(|folder| {
            EventLog::start(folder, config.event_log_roll)
                .map_err(|error| {
                    tracing::error!(%error, folder = %folder.display(), "event log disabled: the folder cannot be used");
                })
                .ok()
        });
        Serving {
            inner: Arc::new(Inner {
                db,
                clock,
                config,
                hot,
                secret: OnceLock::new(),
                sites: ArcSwap::default(),
                inputs: Mutex::default(),
                pending_impressions: Mutex::default(),
                event_log,
                impression_prefix: hex::encode(prefix),
                impression_seq: AtomicU64::new(0),
                counters: Counters::default(),
                client_guard: client_guard::ClientGuard::default(),
                scale_out: OnceLock::new(),
            }),
        }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The settings.
    pub fn config(&self) -> &ServingConfig {
        &self.inner.config
    }

    /// The hot state.
    pub fn hot_state(&self) -> &Arc<dyn HotState> {
        &self.inner.hot
    }

    /// This process's running totals.
    pub fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    pub(crate) fn client_guard(&self) -> &client_guard::ClientGuard {
        &self.inner.client_guard
    }

    /// Events the log writer dropped because it fell behind, and events written.
    pub fn event_log_counts(&self) -> (u64, u64) {
        self.with_event_log(|log| (log.dropped(), log.written()))
            .unwrap_or_default()
    }

    /// Closes the current event-log file so readers see it now.
    pub fn roll_event_log(&self) {
        self.with_event_log(EventLog::roll);
    }

    /// Flushes impressions and closes the event log (at shutdown).
    pub async fn shutdown(&self) -> Result<(), ServingError> {
        self.flush_impressions().await?;
        if self.inner.event_log.is_some() {
            let serving = self.clone();
            tokio::task::spawn_blocking(move || serving.with_event_log(EventLog::close))
                .await
                .map_err(|e| ServingError::EventLog(std::io::Error::other(e)))?;
        }
        Ok(())
    }

    /// Rebuilds rankings on the refresh interval and flushes impressions on the flush interval
    /// until `stop` resolves; flushes once more before returning.
    pub async fn run_background(&self, stop: impl std::future::Future<Output = ()>) {
        let mut refresh = tokio::time::interval(self.inner.config.refresh_interval);
        let mut flush = tokio::time::interval(self.inner.config.flush_interval);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                _ = refresh.tick() => {
                    let done = if self.inner.config.rebuild_rankings {
                        self.refresh().await
                    } else {
                        self.reload_sites().await
                    };
                    if let Err(error) = done {
                        tracing::warn!(%error, "ranking refresh failed; the last rankings stay in place");
                    }
                }
                _ = flush.tick() => {
                    if let Err(error) = self.flush_impressions().await {
                        tracing::warn!(%error, "impression flush failed; counts are kept for the next try");
                    }
                }
            }
        }
        if let Err(error) = self.shutdown().await {
            tracing::warn!(%error, "serving shutdown");
        }
    }

    fn now(&self) -> i64 {
        self.inner.clock.now_millis()
    }

    /// The serving clock's time (UTC ms).
    pub fn now_millis(&self) -> i64 {
        self.now()
    }

    fn next_impression_id(&self) -> String {
        let n = self.inner.impression_seq.fetch_add(1, Ordering::Relaxed);
        format!("{}{n:x}", self.inner.impression_prefix)
    }

    fn with_event_log<T>(&self, f: impl FnOnce(&EventLog) -> T) -> Option<T> {
        self.inner.event_log.as_ref().map(f)
    }

    fn log(&self, event: LogEvent) {
        self.with_event_log(|log| log.log(event));
    }

    fn log_all(&self, events: Vec<LogEvent>) {
        self.with_event_log(|log| log.log_all(events));
    }
}
