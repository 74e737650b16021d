//! Building the rankings: read what can serve from the database, combine it with the live
//! click-through windows, rank, publish. Runs on every change, on a timer, and (from memory
//! only) after a charge that leaves an ad unable to pay.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use adpool_core::BusinessDate;
use sqlx::Row;

use crate::ranking::{Candidate, Counts, Creative, build_rankings};
use crate::{Serving, ServingError};

/// The click-token secret's name in `cpc_settings`.
const SECRET_SETTING: &str = "click_token_secret";

/// What rankings are built from.
#[derive(Debug, Default)]
pub(crate) struct RankInputs {
    placements: Vec<(i64, i64, String)>,
    ads: Vec<AdInput>,
    balances: HashMap<i64, i64>,
    budget_left: HashMap<i64, i64>,
    history: HashMap<i64, Counts>,
    /// The most a click may cost per advertiser and per campaign in the published rankings: a
    /// balance or budget below it means some ad can no longer pay.
    max_price_by_advertiser: HashMap<i64, i64>,
    max_price_by_campaign: HashMap<i64, i64>,
}

#[derive(Debug)]
struct AdInput {
    org_id: i64,
    creative: Arc<Creative>,
    placements: Vec<String>,
    bid: i64,
}

impl Serving {
    /// Reloads the click-token key and the sites (not the rankings).
    pub async fn reload_sites(&self) -> Result<(), ServingError> {
        self.load_secret().await?;
        self.load_sites().await
    }

    /// Reloads sites and rankings from the database and publishes them.
    pub async fn refresh(&self) -> Result<(), ServingError> {
        self.reload_sites().await?;
        let now = self.now();
        let today = BusinessDate::from_utc_millis(now);
        let db = self.db().pool();
        let placements = sqlx::query("SELECT org_id, id, code FROM cpc_placements")
            .fetch_all(db)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("org_id")?, r.try_get("id")?, r.try_get("code")?)))
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let rows = sqlx::query(
            "SELECT a.id, a.org_id, a.campaign_id, a.product_id, a.title, a.image_url, a.landing_url, a.category, a.bid,
                    c.placements, c.daily_budget, c.advertiser_id, v.balance
             FROM cpc_ads a
             JOIN cpc_campaigns c ON c.id = a.campaign_id
             JOIN cpc_advertisers v ON v.id = c.advertiser_id
             WHERE a.state = 'active' AND a.review_state = 'approved' AND c.state = 'active' AND v.state = 'approved'",
        )
        .fetch_all(db)
        .await?;
        let spent: HashMap<i64, i64> =
            sqlx::query("SELECT campaign_id, spent FROM cpc_budget_spend WHERE business_date = $1")
                .bind(today.to_string())
                .fetch_all(db)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("campaign_id")?, r.try_get("spent")?)))
                .collect::<Result<_, sqlx::Error>>()?;
        let since = today.add_days(-self.config().history_days).to_string();
        let mut history: HashMap<i64, Counts> = HashMap::new();
        for row in sqlx::query(
            "SELECT ad_id, CAST(SUM(impressions) AS BIGINT) AS n FROM cpc_impressions_daily WHERE business_date >= $1 GROUP BY ad_id",
        )
        .bind(&since)
        .fetch_all(db)
        .await?
        {
            history.entry(row.try_get("ad_id")?).or_default().impressions =
                u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
        }
        for row in sqlx::query(
            "SELECT ad_id, COUNT(*) AS n FROM cpc_clicks WHERE business_date >= $1 GROUP BY ad_id",
        )
        .bind(&since)
        .fetch_all(db)
        .await?
        {
            history.entry(row.try_get("ad_id")?).or_default().clicks =
                u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
        }
        let mut inputs = RankInputs {
            placements,
            history,
            ..RankInputs::default()
        };
        for row in &rows {
            let campaign: i64 = row.try_get("campaign_id")?;
            let advertiser: i64 = row.try_get("advertiser_id")?;
            let budget: i64 = row.try_get("daily_budget")?;
            inputs.balances.insert(advertiser, row.try_get("balance")?);
            inputs.budget_left.insert(
                campaign,
                budget - spent.get(&campaign).copied().unwrap_or(0),
            );
            inputs.ads.push(AdInput {
                org_id: row.try_get("org_id")?,
                creative: Arc::new(Creative::new(
                    row.try_get("id")?,
                    campaign,
                    advertiser,
                    row.try_get("product_id")?,
                    row.try_get("title")?,
                    row.try_get("image_url")?,
                    row.try_get("landing_url")?,
                    row.try_get("category")?,
                )),
                placements: crate::campaigns::split_placements(
                    &row.try_get::<String, _>("placements")?,
                ),
                bid: row.try_get("bid")?,
            });
        }
        let mut current = self
            .inner
            .inputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *current = inputs;
        self.publish(&mut current, now);
        Ok(())
    }

    /// Refreshes after a change; a failure is logged (the timer will try again) because the
    /// change itself is already committed.
    pub(crate) async fn refresh_quietly(&self) {
        if let Err(error) = self.refresh().await {
            tracing::warn!(%error, "ranking refresh after a change failed; the timer will retry");
        }
        self.announce_change().await;
    }

    /// After a charge (or a refused one): the advertiser's balance and the campaign's budget
    /// left as the database has them now; re-ranks at once when an ad can no longer pay.
    pub(crate) fn after_charge(
        &self,
        advertiser: i64,
        balance: i64,
        campaign: i64,
        budget_left: i64,
    ) -> bool {
        let mut inputs = self
            .inner
            .inputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        inputs.balances.insert(advertiser, balance);
        inputs.budget_left.insert(campaign, budget_left);
        let broke = inputs
            .max_price_by_advertiser
            .get(&advertiser)
            .is_some_and(|max| balance < *max)
            || inputs
                .max_price_by_campaign
                .get(&campaign)
                .is_some_and(|max| budget_left < *max);
        // With a shared spend store, this process's inputs may be older than the published
        // rankings: the workers rebuild them from the database instead (`announce_change`).
        if broke && self.shared_spend().is_none() {
            let now = self.now();
            self.publish(&mut inputs, now);
        }
        broke
    }

    fn publish(&self, inputs: &mut RankInputs, now: i64) {
        let prior = self.config().prior;
        let hot = &self.inner.hot;
        let candidates: Vec<Candidate> = inputs
            .ads
            .iter()
            .map(|ad| {
                let id = ad.creative.ad_id;
                Candidate {
                    org_id: ad.org_id,
                    creative: ad.creative.clone(),
                    placements: ad.placements.clone(),
                    bid: ad.bid,
                    pctr: prior.pctr(
                        inputs.history.get(&id).copied().unwrap_or_default(),
                        hot.recent(id, now),
                    ),
                    balance: inputs
                        .balances
                        .get(&ad.creative.advertiser_id)
                        .copied()
                        .unwrap_or(0),
                    budget_left: inputs
                        .budget_left
                        .get(&ad.creative.campaign_id)
                        .copied()
                        .unwrap_or(0),
                }
            })
            .collect();
        let rankings = build_rankings(
            &inputs.placements,
            &candidates,
            self.config().reserve_price,
            now,
        );
        inputs.max_price_by_advertiser.clear();
        inputs.max_price_by_campaign.clear();
        let prices = rankings.ranked_ads();
        for ad in &inputs.ads {
            if let Some(price) = prices.get(&ad.creative.ad_id) {
                let a = inputs
                    .max_price_by_advertiser
                    .entry(ad.creative.advertiser_id)
                    .or_insert(0);
                *a = (*a).max(*price);
                let c = inputs
                    .max_price_by_campaign
                    .entry(ad.creative.campaign_id)
                    .or_insert(0);
                *c = (*c).max(*price);
            }
        }
        hot.publish(rankings);
        self.inner
            .counters
            .rankings_published
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The click-token secret: created once (random) and shared through the database, so
    /// every process verifies every other's tokens.
    async fn load_secret(&self) -> Result<(), ServingError> {
        if self.inner.secret.get().is_some() {
            return Ok(());
        }
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).expect("the operating system\'s random source");
        sqlx::query(
            "INSERT INTO cpc_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(SECRET_SETTING)
        .bind(hex::encode(fresh))
        .execute(self.db().pool())
        .await?;
        let stored: String = sqlx::query_scalar("SELECT value FROM cpc_settings WHERE name = $1")
            .bind(SECRET_SETTING)
            .fetch_one(self.db().pool())
            .await?;
        let secret = hex::decode(stored.trim()).map_err(|_| {
            ServingError::Conflict(format!("cpc_settings.{SECRET_SETTING} is not hex"))
        })?;
        let _ = self
            .inner
            .secret
            .set(crate::click_token::TokenKey::new(&secret));
        Ok(())
    }

    pub(crate) fn secret(&self) -> Option<&crate::click_token::TokenKey> {
        self.inner.secret.get()
    }

    /// Adds the impressions counted in memory to the database (additively, in one transaction;
    /// on failure they are kept for the next try).
    pub async fn flush_impressions(&self) -> Result<u64, ServingError> {
        let pending: Vec<((i64, BusinessDate), i64)> = {
            let mut map = self
                .inner
                .pending_impressions
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            map.drain().collect()
        };
        if pending.is_empty() {
            return Ok(0);
        }
        let result = async {
            let mut tx = self.db().begin_write().await?;
            for ((ad, date), n) in &pending {
                let date = date.to_string();
                sqlx::query(
                    "INSERT INTO cpc_impressions_daily (ad_id, business_date, impressions) VALUES ($1, $2, $3)
                     ON CONFLICT (ad_id, business_date) DO UPDATE SET impressions = cpc_impressions_daily.impressions + excluded.impressions",
                )
                .bind(ad)
                .bind(&date)
                .bind(n)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        }
        .await;
        match result {
            Ok(()) => Ok(pending.iter().map(|(_, n)| *n as u64).sum()),
            Err(error) => {
                let mut map = self
                    .inner
                    .pending_impressions
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                for (key, n) in pending {
                    *map.entry(key).or_insert(0) += n;
                }
                Err(error.into())
            }
        }
    }
}
