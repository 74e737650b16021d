//! CPC hot state on Redis, shared by every process.
//!
//! - Charge-if-enough: [`CHARGE_SCRIPT`] checks the impression, the user's duplicate window, the
//!   balance and today's budget, then takes the price from both, in one atomic script. A key
//!   that is not there yet is seeded from the ledger (`SET NX`), so the first click after a
//!   restart of Redis costs one database read.
//! - Rankings: a process that builds rankings writes every placement x category ranking to
//!   `rtb:{org}:{placement}:{category}` and a manifest naming them in one `MULTI`, then
//!   announces the version on the `rtb:published` channel. Every process loads the snapshot
//!   with one script call (manifest and rankings read atomically) and swaps it in; the ad query
//!   itself never leaves memory. A poll of the manifest every [`POLL_INTERVAL`] catches a missed
//!   announcement.
//! - Click-through: impressions and clicks are counted in memory and added to
//!   `metrics:ctr:{ad_id}` (one hash field per 5-minute window and count) every
//!   [`COUNTER_INTERVAL`]; the current and previous windows of every ranked ad are read back in
//!   the same round trip, so pCTR on every process sees every process's traffic.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use adpool_serving::hot_state::WINDOW_MILLIS;
use adpool_serving::ranking::{Counts, PublishedRanking, Ranking, Rankings};
use adpool_serving::scale_out::BoxFuture;
use adpool_serving::{
    HotState, InvalidReason, LocalHotState, ServingError, SharedSpend, SpendAnswer, SpendRequest,
};
use arc_swap::ArcSwap;
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::ScaleOutError;
use crate::error::masked;

/// How often the manifest is polled besides the announcements.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// How often click-through counts go to Redis and come back.
pub const COUNTER_INTERVAL: Duration = Duration::from_secs(1);

/// KEYS: balance, budget, impression, user x ad (empty: no user). ARGV: price, impression
/// memory (ms), duplicate window (ms). Returns {code, balance, budget left}: code -1 seed
/// first, 0 charged, 1 duplicate impression, 2 duplicate user x ad, 3 balance, 4 budget.
const CHARGE_SCRIPT: &str = r"
local balance = redis.call('GET', KEYS[1])
local left = redis.call('GET', KEYS[2])
if not balance or not left then return {-1, 0, 0} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {1, 0, 0} end
if KEYS[4] ~= '' and redis.call('EXISTS', KEYS[4]) == 1 then return {2, 0, 0} end
local price = tonumber(ARGV[1])
balance = tonumber(balance)
left = tonumber(left)
if balance < price then return {3, balance, left} end
if left < price then return {4, balance, left} end
balance = redis.call('DECRBY', KEYS[1], price)
left = redis.call('DECRBY', KEYS[2], price)
redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
if KEYS[4] ~= '' then redis.call('SET', KEYS[4], '1', 'PX', ARGV[3]) end
return {0, balance, left}
";

/// KEYS: a counter. ARGV: amount. Adds when the key is there (a missing key is seeded from the
/// ledger later, which already holds the amount).
const ADD_IF_PRESENT_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
return false
";

/// KEYS: the manifest. Returns the manifest and every ranking it names, read atomically.
const LOAD_SCRIPT: &str = r"
local manifest = redis.call('GET', KEYS[1])
if not manifest then return {} end
local names = cjson.decode(manifest)['keys']
local out = {manifest}
if #names > 0 then
  local values = redis.call('MGET', unpack(names))
  for i = 1, #values do out[i + 1] = values[i] or '' end
end
return out
";

/// The list of published rankings.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    publisher: String,
    version: u64,
    built_at: i64,
    keys: Vec<String>,
}

/// Hot state and charge-if-enough on Redis.
pub struct RedisHotState {
    connection: ConnectionManager,
    client: redis::Client,
    address: String,
    prefix: String,
    publisher: String,
    local: LocalHotState,
    /// Rankings this process built, waiting to be written.
    to_publish: watch::Sender<Option<Arc<Rankings>>>,
    published_version: AtomicU64,
    /// (publisher, version) of the snapshot in `local`.
    loaded: Mutex<(String, u64)>,
    /// Impressions and clicks per ad and window not yet added to Redis.
    pending: Mutex<HashMap<(i64, i64), Counts>>,
    /// The current and previous windows per ad, as Redis had them at the last exchange.
    recent: ArcSwap<HashMap<i64, (i64, Counts)>>,
    charge: redis::Script,
    add_if_present: redis::Script,
    load: redis::Script,
    /// Loaded snapshots and their delay, for `/metrics` and the tests.
    pub snapshots_loaded: AtomicU64,
}

impl std::fmt::Debug for RedisHotState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHotState")
            .field("address", &self.address)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisHotState {
    /// Connects (failing at once when Redis cannot be reached).
    pub async fn connect(url: &str, namespace: &str) -> Result<RedisHotState, ScaleOutError> {
        let address = masked(url);
        let fail = |e: redis::RedisError| ScaleOutError::Redis {
            address: address.clone(),
            message: e.to_string(),
        };
        let client = redis::Client::open(url).map_err(fail)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(2);
        let connection = tokio::time::timeout(
            Duration::from_secs(10),
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| ScaleOutError::Redis {
            address: address.clone(),
            message: "no answer within 10 s".into(),
        })?
        .map_err(fail)?;
        let (to_publish, _) = watch::channel(None);
        Ok(RedisHotState {
            connection,
            client,
            address,
            prefix: if namespace.is_empty() {
                String::new()
            } else {
                format!("{namespace}:")
            },
            publisher: crate::process_id(),
            local: LocalHotState::default(),
            to_publish,
            published_version: AtomicU64::new(0),
            loaded: Mutex::new((String::new(), 0)),
            pending: Mutex::default(),
            recent: ArcSwap::default(),
            charge: redis::Script::new(CHARGE_SCRIPT),
            add_if_present: redis::Script::new(ADD_IF_PRESENT_SCRIPT),
            load: redis::Script::new(LOAD_SCRIPT),
            snapshots_loaded: AtomicU64::new(0),
        })
    }

    /// One round trip to Redis.
    pub async fn ping(&self) -> Result<Duration, ServingError> {
        let started = std::time::Instant::now();
        let mut connection = self.connection();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map_err(|e| self.fail(e))?;
        Ok(started.elapsed())
    }

    /// Where Redis is (password masked).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// A key with the namespace.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn balance_key(&self, advertiser: i64) -> String {
        self.key(&format!("balance:{advertiser}"))
    }

    fn budget_key(&self, campaign: i64, date: &str) -> String {
        self.key(&format!("budget:{campaign}:{date}"))
    }

    fn fail(&self, error: redis::RedisError) -> ServingError {
        ServingError::Unavailable(format!("redis at {}: {error}", self.address))
    }

    fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// Deletes every key of this namespace (tests clean up after themselves with it); refused
    /// without a namespace.
    pub async fn delete_namespace(&self) -> Result<u64, ServingError> {
        if self.prefix.is_empty() {
            return Err(ServingError::Conflict(
                "refusing to delete every key of a deployment without a namespace".into(),
            ));
        }
        let mut connection = self.connection();
        let mut deleted = 0;
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", self.prefix))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut connection)
                .await
                .map_err(|e| self.fail(e))?;
            if !keys.is_empty() {
                deleted += redis::cmd("DEL")
                    .arg(&keys)
                    .query_async::<u64>(&mut connection)
                    .await
                    .map_err(|e| self.fail(e))?;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }

    /// Runs the publisher, the subscriber and the counter exchange until `stop` turns true.
    pub fn start(
        self: &Arc<Self>,
        stop: watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        // Subscribed before returning, so rankings published from now on are never missed; one
        // published before is written too.
        let mut next = self.to_publish.subscribe();
        next.mark_changed();
        vec![
            tokio::spawn(self.clone().publish_loop(next, stop.clone())),
            tokio::spawn(self.clone().subscribe_loop(stop.clone())),
            tokio::spawn(self.clone().counter_loop(stop)),
        ]
    }

    /// Loads the published snapshot when it is not the one in memory; true when loaded.
    pub async fn load_published(&self) -> Result<bool, ServingError> {
        let mut connection = self.connection();
        let values: Vec<String> = self
            .load
            .key(self.key("rtb:manifest"))
            .invoke_async(&mut connection)
            .await
            .map_err(|e| self.fail(e))?;
        let Some((manifest, rankings)) = values.split_first() else {
            return Ok(false);
        };
        let manifest: Manifest = serde_json::from_str(manifest)
            .map_err(|e| ServingError::Unavailable(format!("ranking manifest: {e}")))?;
        {
            let loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
            if loaded.0 == manifest.publisher && loaded.1 == manifest.version {
                return Ok(false);
            }
        }
        let mut entries = Vec::with_capacity(rankings.len());
        for text in rankings.iter().filter(|t| !t.is_empty()) {
            let entry: PublishedRanking = serde_json::from_str(text)
                .map_err(|e| ServingError::Unavailable(format!("published ranking: {e}")))?;
            entries.push(entry);
        }
        self.local
            .publish(Rankings::from_entries(entries, manifest.built_at));
        *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) =
            (manifest.publisher, manifest.version);
        self.snapshots_loaded.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }

    async fn write_rankings(&self, rankings: &Rankings) -> Result<(), ServingError> {
        let version = self.published_version.fetch_add(1, Ordering::Relaxed) + 1;
        let mut pipe = redis::pipe();
        pipe.atomic();
        let mut keys = Vec::new();
        for entry in rankings.entries() {
            let name = self.key(&format!(
                "rtb:{}:{}:{}",
                entry.org,
                entry.placement,
                entry.category.as_deref().unwrap_or("")
            ));
            let text = serde_json::to_string(&entry)
                .map_err(|e| ServingError::Unavailable(format!("ranking: {e}")))?;
            pipe.set(&name, text).ignore();
            keys.push(name);
        }
        let manifest_key = self.key("rtb:manifest");
        let mut connection = self.connection();
        // Rankings of placements that are gone are deleted with the new manifest.
        let old: Option<String> = redis::cmd("GET")
            .arg(&manifest_key)
            .query_async(&mut connection)
            .await
            .map_err(|e| self.fail(e))?;
        if let Some(old) = old.and_then(|t| serde_json::from_str::<Manifest>(&t).ok()) {
            for gone in old.keys.iter().filter(|k| !keys.contains(k)) {
                pipe.del(gone).ignore();
            }
        }
        let manifest = Manifest {
            publisher: self.publisher.clone(),
            version,
            built_at: rankings.built_at,
            keys,
        };
        let manifest_text = serde_json::to_string(&manifest)
            .map_err(|e| ServingError::Unavailable(format!("ranking manifest: {e}")))?;
        pipe.set(&manifest_key, manifest_text).ignore();
        pipe.publish(
            self.key("rtb:published"),
            format!("{}:{version}", self.publisher),
        )
        .ignore();
        pipe.query_async::<()>(&mut connection)
            .await
            .map_err(|e| self.fail(e))?;
        *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) =
            (self.publisher.clone(), version);
        Ok(())
    }

    async fn publish_loop(
        self: Arc<Self>,
        mut next: watch::Receiver<Option<Arc<Rankings>>>,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                () = crate::stopped(&mut stop) => break,
                changed = next.changed() => {
                    if changed.is_err() { break; }
                    let rankings = next.borrow_and_update().clone();
                    if let Some(rankings) = rankings
                        && let Err(error) = self.write_rankings(&rankings).await
                    {
                        tracing::warn!(%error, "rankings not published to redis; the next rebuild tries again");
                    }
                }
            }
        }
    }

    async fn subscribe_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let channel = self.key("rtb:published");
        let mut poll = tokio::time::interval(POLL_INTERVAL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let mut pubsub = match self.client.get_async_pubsub().await {
                Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                    Ok(()) => Some(pubsub),
                    Err(error) => {
                        tracing::warn!(%error, "ranking announcements: subscribe failed; polling");
                        None
                    }
                },
                Err(error) => {
                    tracing::warn!(%error, address = %self.address, "ranking announcements: no connection; polling");
                    None
                }
            };
            let mut messages = pubsub.as_mut().map(|p| p.on_message());
            loop {
                let message = async {
                    match messages.as_mut() {
                        Some(m) => m.next().await.map(|_| ()),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = crate::stopped(&mut stop) => return,
                    received = message => {
                        if received.is_none() {
                            break; // the subscription ended: subscribe again
                        }
                    }
                    _ = poll.tick() => {}
                }
                if let Err(error) = self.load_published().await {
                    tracing::warn!(%error, "published rankings not loaded; the last ones stay in place");
                }
            }
            drop(messages);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn counter_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(COUNTER_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = crate::stopped(&mut stop) => break,
                _ = tick.tick() => {}
            }
            let now = now_millis();
            if let Err(error) = self.exchange_counts(now).await {
                tracing::warn!(%error, "click-through counts not exchanged with redis; kept for the next try");
            }
        }
        let _ = self.exchange_counts(now_millis()).await;
    }

    /// Adds this process's counts to Redis and reads back the windows of every ranked ad.
    pub async fn exchange_counts(&self, now: i64) -> Result<(), ServingError> {
        let pending =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let window = now.div_euclid(WINDOW_MILLIS);
        let mut ads: Vec<i64> = self.local.rankings().ranked_ads().into_keys().collect();
        let mut pipe = redis::pipe();
        for ((ad, w), counts) in &pending {
            let key = self.key(&format!("metrics:ctr:{ad}"));
            if counts.impressions > 0 {
                pipe.hincr(&key, format!("{w}:i"), counts.impressions)
                    .ignore();
            }
            if counts.clicks > 0 {
                pipe.hincr(&key, format!("{w}:c"), counts.clicks).ignore();
            }
            pipe.pexpire(&key, 3 * WINDOW_MILLIS).ignore();
            ads.push(*ad);
        }
        ads.sort_unstable();
        ads.dedup();
        for ad in &ads {
            pipe.cmd("HMGET")
                .arg(self.key(&format!("metrics:ctr:{ad}")))
                .arg(format!("{window}:i"))
                .arg(format!("{window}:c"))
                .arg(format!("{}:i", window - 1))
                .arg(format!("{}:c", window - 1));
        }
        let mut connection = self.connection();
        let answers: Vec<Vec<Option<u64>>> = match pipe.query_async(&mut connection).await {
            Ok(answers) => answers,
            Err(error) => {
                // Put the counts back for the next exchange.
                let mut kept = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                for (key, counts) in pending {
                    let entry = kept.entry(key).or_default();
                    entry.impressions += counts.impressions;
                    entry.clicks += counts.clicks;
                }
                return Err(self.fail(error));
            }
        };
        let recent: HashMap<i64, (i64, Counts)> = ads
            .iter()
            .zip(answers)
            .map(|(ad, values)| {
                let v = |i: usize| values.get(i).copied().flatten().unwrap_or(0);
                (
                    *ad,
                    (
                        window,
                        Counts {
                            impressions: v(0) + v(2),
                            clicks: v(1) + v(3),
                        },
                    ),
                )
            })
            .collect();
        self.recent.store(Arc::new(recent));
        Ok(())
    }

    fn add_pending(&self, ad: i64, now: i64, impressions: u64, clicks: u64) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let counts = pending
            .entry((ad, now.div_euclid(WINDOW_MILLIS)))
            .or_default();
        counts.impressions += impressions;
        counts.clicks += clicks;
    }

    async fn add_if_present(&self, key: String, amount: i64) -> Result<(), ServingError> {
        let mut connection = self.connection();
        self.add_if_present
            .key(key)
            .arg(amount)
            .invoke_async::<Option<i64>>(&mut connection)
            .await
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    async fn get_many(&self, keys: Vec<String>) -> Result<Vec<Option<i64>>, ServingError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut connection = self.connection();
        redis::cmd("MGET")
            .arg(keys)
            .query_async(&mut connection)
            .await
            .map_err(|e| self.fail(e))
    }
}

fn now_millis() -> i64 {
    adpool_core::Clock::now_millis(&adpool_core::SystemClock)
}

impl HotState for RedisHotState {
    fn ranking(&self, org: i64, placement: &str, category: &str) -> Option<Arc<Ranking>> {
        self.local.ranking(org, placement, category)
    }

    fn placement_id(&self, org: i64, placement: &str) -> Option<i64> {
        self.local.placement_id(org, placement)
    }

    fn rankings(&self) -> Arc<Rankings> {
        self.local.rankings()
    }

    fn publish(&self, rankings: Rankings) {
        self.local.publish(rankings);
        self.to_publish.send_replace(Some(self.local.rankings()));
    }

    fn count_impressions(&self, ads: &[i64], now: i64) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let window = now.div_euclid(WINDOW_MILLIS);
        for ad in ads {
            pending.entry((*ad, window)).or_default().impressions += 1;
        }
    }

    fn count_click(&self, ad: i64, now: i64) {
        self.add_pending(ad, now, 0, 1);
    }

    fn recent(&self, ad: i64, now: i64) -> Counts {
        match self.recent.load().get(&ad) {
            Some((window, counts)) if *window == now.div_euclid(WINDOW_MILLIS) => *counts,
            _ => Counts::default(),
        }
    }
}

impl SharedSpend for RedisHotState {
    fn charge<'a>(
        &'a self,
        request: &'a SpendRequest<'a>,
    ) -> BoxFuture<'a, Result<SpendAnswer, ServingError>> {
        Box::pin(async move {
            let user_key = if request.user.is_empty() {
                String::new()
            } else {
                self.key(&format!("click:user:{}:{}", request.user, request.ad))
            };
            let mut connection = self.connection();
            let answer: (i64, i64, i64) = self
                .charge
                .key(self.balance_key(request.advertiser))
                .key(self.budget_key(request.campaign, request.date))
                .key(self.key(&format!("click:imp:{}", request.impression)))
                .key(user_key)
                .arg(request.price)
                .arg(request.impression_ttl_ms)
                .arg(request.duplicate_window_ms.max(1))
                .invoke_async(&mut connection)
                .await
                .map_err(|e| self.fail(e))?;
            Ok(match answer.0 {
                -1 => SpendAnswer::NeedsSeed,
                0 => SpendAnswer::Charged {
                    balance: answer.1,
                    budget_left: answer.2,
                },
                1 => SpendAnswer::Refused(InvalidReason::DuplicateImpression),
                2 => SpendAnswer::Refused(InvalidReason::DuplicateUserAd),
                3 => SpendAnswer::Refused(InvalidReason::BalanceExhausted),
                _ => SpendAnswer::Refused(InvalidReason::BudgetExhausted),
            })
        })
    }

    fn seed<'a>(
        &'a self,
        advertiser: i64,
        balance: i64,
        campaign: i64,
        date: &'a str,
        budget_left: i64,
    ) -> BoxFuture<'a, Result<(), ServingError>> {
        Box::pin(async move {
            let mut connection = self.connection();
            redis::pipe()
                .cmd("SET")
                .arg(self.balance_key(advertiser))
                .arg(balance)
                .arg("NX")
                .ignore()
                .cmd("SET")
                .arg(self.budget_key(campaign, date))
                .arg(budget_left)
                .arg("NX")
                .arg("EX")
                .arg(2 * 24 * 3600)
                .ignore()
                .query_async::<()>(&mut connection)
                .await
                .map_err(|e| self.fail(e))
        })
    }

    fn credit(&self, advertiser: i64, amount: i64) -> BoxFuture<'_, Result<(), ServingError>> {
        Box::pin(self.add_if_present(self.balance_key(advertiser), amount))
    }

    fn release_budget<'a>(
        &'a self,
        campaign: i64,
        date: &'a str,
        amount: i64,
    ) -> BoxFuture<'a, Result<(), ServingError>> {
        Box::pin(self.add_if_present(self.budget_key(campaign, date), amount))
    }

    fn forget_budget<'a>(
        &'a self,
        campaign: i64,
        date: &'a str,
    ) -> BoxFuture<'a, Result<(), ServingError>> {
        Box::pin(async move {
            let mut connection = self.connection();
            redis::cmd("DEL")
                .arg(self.budget_key(campaign, date))
                .query_async::<()>(&mut connection)
                .await
                .map_err(|e| self.fail(e))
        })
    }

    fn balances<'a>(
        &'a self,
        advertisers: &'a [i64],
    ) -> BoxFuture<'a, Result<HashMap<i64, Option<i64>>, ServingError>> {
        Box::pin(async move {
            let keys = advertisers.iter().map(|a| self.balance_key(*a)).collect();
            let values = self.get_many(keys).await?;
            Ok(advertisers.iter().copied().zip(values).collect())
        })
    }

    fn budgets<'a>(
        &'a self,
        campaigns: &'a [i64],
        date: &'a str,
    ) -> BoxFuture<'a, Result<HashMap<i64, Option<i64>>, ServingError>> {
        Box::pin(async move {
            let keys = campaigns
                .iter()
                .map(|c| self.budget_key(*c, date))
                .collect();
            let values = self.get_many(keys).await?;
            Ok(campaigns.iter().copied().zip(values).collect())
        })
    }

    fn set_balance(
        &self,
        advertiser: i64,
        balance: i64,
    ) -> BoxFuture<'_, Result<(), ServingError>> {
        Box::pin(async move {
            let mut connection = self.connection();
            redis::cmd("SET")
                .arg(self.balance_key(advertiser))
                .arg(balance)
                .query_async::<()>(&mut connection)
                .await
                .map_err(|e| self.fail(e))
        })
    }
}
