//! `adpool-scaleout`: the engines adpool runs on when one machine is outgrown
//! (docs/deployment.md).
//!
//! It owns:
//! - [`RedisHotState`]: CPC hot state on Redis: the balance and daily budget charged by one
//!   atomic script (`balance:{advertiser_id}`, `budget:{campaign_id}:{date}`), the rankings
//!   published per placement x category (`rtb:{org}:{placement}:{category}`) and loaded by every
//!   api process, and the 5-minute click-through counters (`metrics:ctr:{ad_id}`);
//! - [`NatsBus`]: the JetStream streams `campaign-events`, `ad-events` and `order-completed`
//!   (subject `order.completed`) and the durable consumers on worker processes that settle
//!   clicks, attribute orders and rebuild rankings, idempotently by event id;
//! - [`reconcile`]: the job that compares the shared balances and budgets with the ledger (the
//!   source of truth) and reports, or repairs, any difference.
//!
//! Nothing here is used unless `ADPOOL_REDIS_URL` or `ADPOOL_NATS_URL` is configured.

mod error;
mod nats_bus;
pub mod reconcile;
mod redis_state;

pub use error::ScaleOutError;
pub use nats_bus::{ConsumerSettings, NatsBus};
pub use reconcile::{RECONCILE_JOB, ReconcileHandler, ReconcileReport};
pub use redis_state::RedisHotState;

use std::sync::Arc;

/// Where the shared engines are (`redis_url`, `nats_url`, `namespace` in adpool.toml).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ScaleOutSettings {
    /// `redis://host:6379/0`; none: hot state stays in each process.
    pub redis_url: Option<String>,
    /// `nats://host:4222`; none: clicks and orders are written by the process that gets them.
    pub nats_url: Option<String>,
    /// Prefix of every Redis key (`{namespace}:`) and NATS stream and subject
    /// (`{namespace}-`), so deployments (or tests) can share the engines; empty: none.
    pub namespace: String,
}

impl std::fmt::Debug for ScaleOutSettings {
    /// Passwords in the URLs are masked.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScaleOutSettings")
            .field("redis_url", &self.redis_url.as_deref().map(error::masked))
            .field("nats_url", &self.nats_url.as_deref().map(error::masked))
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl ScaleOutSettings {
    /// True when any shared engine is configured.
    pub fn enabled(&self) -> bool {
        self.redis_url.is_some() || self.nats_url.is_some()
    }

    /// Checks the namespace: letters, digits, `_` and `-` only (it becomes part of NATS names).
    pub fn check(&self) -> Result<(), ScaleOutError> {
        if self
            .namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            Ok(())
        } else {
            Err(ScaleOutError::Config(format!(
                "namespace '{}': use letters, digits, '_' and '-' only",
                self.namespace
            )))
        }
    }
}

/// The connected engines.
#[derive(Debug, Clone, Default)]
pub struct Engines {
    /// Redis, when configured.
    pub redis: Option<Arc<RedisHotState>>,
    /// NATS JetStream, when configured.
    pub nats: Option<Arc<NatsBus>>,
}

impl Engines {
    /// Connects to what is configured; an unreachable engine fails here, with its address.
    pub async fn connect(settings: &ScaleOutSettings) -> Result<Engines, ScaleOutError> {
        settings.check()?;
        let redis = match &settings.redis_url {
            Some(url) => Some(Arc::new(
                RedisHotState::connect(url, &settings.namespace).await?,
            )),
            None => None,
        };
        let nats = match &settings.nats_url {
            Some(url) => Some(Arc::new(NatsBus::connect(url, &settings.namespace).await?)),
            None => None,
        };
        Ok(Engines { redis, nats })
    }

    /// The hot state serving should use (Redis, or none for the in-process default).
    pub fn hot_state(&self) -> Option<Arc<dyn adpool_serving::HotState>> {
        self.redis
            .clone()
            .map(|r| r as Arc<dyn adpool_serving::HotState>)
    }

    /// What serving shares with other processes.
    pub fn scale_out(&self) -> adpool_serving::ScaleOut {
        adpool_serving::ScaleOut {
            spend: self
                .redis
                .clone()
                .map(|r| r as Arc<dyn adpool_serving::SharedSpend>),
            bus: self
                .nats
                .clone()
                .map(|n| n as Arc<dyn adpool_serving::EventBus>),
        }
    }
}

/// A random id for this process (ranking publisher, event nonces).
pub(crate) fn process_id() -> String {
    let mut bytes = [0u8; 6];
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

/// Resolves when `stop` turns true (or its sender is gone).
pub(crate) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

pub mod testing {
    //! For tests: where the development and CI machines run Redis and NATS.

    use std::net::{SocketAddr, TcpStream};
    use std::time::Duration;

    /// The Redis and NATS URLs of the tests (`ADPOOL_TEST_REDIS_URL`, `ADPOOL_TEST_NATS_URL`,
    /// default the local ports), or `None` when one is unreachable outside CI. Under `CI=true`
    /// an unreachable engine panics: CI must start them (`.ci/run` does).
    pub fn engines() -> Option<(String, String)> {
        let redis = std::env::var("ADPOOL_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let nats = std::env::var("ADPOOL_TEST_NATS_URL")
            .unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
        let missing: Vec<&str> = [(&redis, "redis"), (&nats, "nats")]
            .into_iter()
            .filter(|(url, _)| !reachable(url))
            .map(|(_, name)| name)
            .collect();
        if missing.is_empty() {
            return Some((redis, nats));
        }
        let message = format!("{missing:?} unreachable ({redis}, {nats})");
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{message}; CI must start them (.ci/run does)");
        }
        eprintln!("{message}: scale-out test skipped");
        None
    }

    /// A namespace no other test run uses.
    pub fn namespace() -> String {
        format!("test{}", super::process_id())
    }

    fn reachable(url: &str) -> bool {
        let host = url.split("://").nth(1).unwrap_or(url);
        let host = host.rsplit('@').next().unwrap_or(host);
        let host = host.split('/').next().unwrap_or(host);
        host.parse::<SocketAddr>()
            .ok()
            .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
    }
}
