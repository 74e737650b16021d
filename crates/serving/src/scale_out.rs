//! The seams serving uses when many processes serve (docs/deployment.md): a shared spend store
//! that charges a click if the balance and today's budget can pay, in one atomic step across
//! every process ([`SharedSpend`], Redis in `adpool-scaleout`), and an event bus whose durable
//! consumers write clicks and orders to the database ([`EventBus`], NATS JetStream).
//!
//! The database stays the source of truth for money: a click the shared store accepted is
//! settled into the ledger by [`Serving::settle_click`], exactly once per event id (the
//! `consumed_events` row is written in the settling transaction). When the ledger refuses what
//! the shared store accepted (the two drifted), the click is recorded as refused and the money
//! is given back to the shared store; the reconcile job reports any remaining difference.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use adpool_core::{BusinessDate, OrgId};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::attribution::{OrderEvent, OrderOutcome};
use crate::click_token::ClickClaims;
use crate::clicks::{AdRow, Attempt, InvalidReason};
use crate::{Serving, ServingError};

/// A boxed future, so the seams can be trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One click to charge in the shared store.
#[derive(Debug, Clone)]
pub struct SpendRequest<'a> {
    /// The advertiser paying.
    pub advertiser: i64,
    /// Its campaign (today's budget).
    pub campaign: i64,
    /// The KST day of the budget.
    pub date: &'a str,
    /// The impression clicked (charged once).
    pub impression: &'a str,
    /// The shop's user key; empty: no duplicate-window check.
    pub user: &'a str,
    /// The ad.
    pub ad: i64,
    /// What the click costs in won.
    pub price: i64,
    /// How long the impression stays remembered (the click token's lifetime), ms.
    pub impression_ttl_ms: i64,
    /// The duplicate-click window, ms.
    pub duplicate_window_ms: i64,
}

/// What the shared store answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpendAnswer {
    /// The advertiser's balance or the campaign's budget is not in the store yet: seed it from
    /// the database and ask again.
    NeedsSeed,
    /// Charged; what is left.
    Charged {
        /// The balance after the charge.
        balance: i64,
        /// Today's budget left after the charge.
        budget_left: i64,
    },
    /// Not charged.
    Refused(InvalidReason),
}

/// A balance and today's budget shared by every serving process (implemented on Redis).
pub trait SharedSpend: Send + Sync + std::fmt::Debug + 'static {
    /// Charges the click if the balance and the budget can pay and it is no duplicate, in one
    /// atomic step.
    fn charge<'a>(
        &'a self,
        request: &'a SpendRequest<'a>,
    ) -> BoxFuture<'a, Result<SpendAnswer, ServingError>>;
    /// Sets the balance and the day's budget left when they are not there yet.
    fn seed<'a>(
        &'a self,
        advertiser: i64,
        balance: i64,
        campaign: i64,
        date: &'a str,
        budget_left: i64,
    ) -> BoxFuture<'a, Result<(), ServingError>>;
    /// Money moved in the ledger outside a click (top-up, adjustment, refund, a click the ledger
    /// refused): added to the shared balance when it is there.
    fn credit(&self, advertiser: i64, amount: i64) -> BoxFuture<'_, Result<(), ServingError>>;
    /// Gives back budget of a day (a click the ledger refused).
    fn release_budget<'a>(
        &'a self,
        campaign: i64,
        date: &'a str,
        amount: i64,
    ) -> BoxFuture<'a, Result<(), ServingError>>;
    /// Drops the day's budget left (the budget changed): it is seeded again from the database.
    fn forget_budget<'a>(
        &'a self,
        campaign: i64,
        date: &'a str,
    ) -> BoxFuture<'a, Result<(), ServingError>>;
    /// The shared balances of these advertisers (`None`: not in the store).
    fn balances<'a>(
        &'a self,
        advertisers: &'a [i64],
    ) -> BoxFuture<'a, Result<HashMap<i64, Option<i64>>, ServingError>>;
    /// The shared budgets left of these campaigns on `date`.
    fn budgets<'a>(
        &'a self,
        campaigns: &'a [i64],
        date: &'a str,
    ) -> BoxFuture<'a, Result<HashMap<i64, Option<i64>>, ServingError>>;
    /// Overwrites a balance with the ledger's (the reconcile job's repair).
    fn set_balance(&self, advertiser: i64, balance: i64)
    -> BoxFuture<'_, Result<(), ServingError>>;
}

/// The durable event streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Campaigns, ads, budgets, balances and sites changed: rankings are rebuilt.
    CampaignEvents,
    /// Clicks decided by the shared store, settled into the ledger.
    AdEvents,
    /// Shop orders completed or cancelled, attributed to clicks.
    OrderCompleted,
}

/// Publishes events that durable consumers process at least once.
pub trait EventBus: Send + Sync + std::fmt::Debug + 'static {
    /// Publishes and waits until the stream has stored it; `event_id` deduplicates a repeated
    /// publish.
    fn publish<'a>(
        &'a self,
        topic: Topic,
        event_id: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), ServingError>>;
}

/// The engines serving shares with other processes.
#[derive(Debug, Clone, Default)]
pub struct ScaleOut {
    /// Where clicks are charged first.
    pub spend: Option<Arc<dyn SharedSpend>>,
    /// Where clicks, orders and changes are published.
    pub bus: Option<Arc<dyn EventBus>>,
}

/// A click decided at the edge, to be written to the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClickEvent {
    /// Unique per decided click (the impression plus a nonce of the deciding process).
    pub event_id: String,
    /// The token's claims.
    pub org: i64,
    /// The ad.
    pub ad: i64,
    /// The impression.
    pub imp: String,
    /// The shop's user key.
    pub usr: String,
    /// The placement code.
    pub plc: String,
    /// The price in won.
    pub price: i64,
    /// When it was clicked (UTC ms).
    pub clicked_at: i64,
    /// `None`: charged by the shared store; otherwise why not.
    pub refused: Option<InvalidReason>,
}

/// What settling a click event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The event was settled before (a redelivery): nothing changed.
    AlreadySettled,
    /// Charged in the ledger.
    Charged,
    /// Recorded as refused (by the edge, or by the ledger after the edge charged).
    Refused(InvalidReason),
}

/// The consumer name of settled clicks in `consumed_events`.
pub const CLICK_CONSUMER: &str = "clicks";

impl Serving {
    /// Attaches the shared engines (once, before serving).
    pub fn attach_scale_out(&self, engines: ScaleOut) {
        let _ = self.inner.scale_out.set(engines);
    }

    /// The shared spend store, when attached.
    pub fn shared_spend(&self) -> Option<&Arc<dyn SharedSpend>> {
        self.inner.scale_out.get()?.spend.as_ref()
    }

    /// The event bus, when attached.
    pub fn event_bus(&self) -> Option<&Arc<dyn EventBus>> {
        self.inner.scale_out.get()?.bus.as_ref()
    }

    /// A ledger entry outside a click moved `amount` won: the shared balance follows.
    pub(crate) async fn shared_credit(&self, advertiser: i64, amount: i64) {
        if let Some(spend) = self.shared_spend()
            && let Err(error) = spend.credit(advertiser, amount).await
        {
            tracing::warn!(%error, advertiser, amount, "shared balance not updated; the reconcile job will report it");
        }
    }

    /// A campaign's budget changed: today's shared budget is seeded again.
    pub(crate) async fn shared_budget_changed(&self, campaign: i64) {
        if let Some(spend) = self.shared_spend() {
            let today = BusinessDate::from_utc_millis(self.now()).to_string();
            if let Err(error) = spend.forget_budget(campaign, &today).await {
                tracing::warn!(%error, campaign, "shared budget not dropped; the reconcile job will report it");
            }
        }
    }

    /// Tells the workers that what rankings are built from changed.
    pub(crate) async fn announce_change(&self) {
        if let Some(bus) = self.event_bus() {
            let id = self.next_impression_id();
            let body = serde_json::json!({ "changed_at": self.now() }).to_string();
            if let Err(error) = bus
                .publish(
                    Topic::CampaignEvents,
                    &format!("change-{id}"),
                    body.into_bytes(),
                )
                .await
            {
                tracing::warn!(%error, "campaign event not published; the workers' timer rebuilds the rankings");
            }
        }
    }

    /// An order event: recorded now, or published for the workers when an event bus is attached
    /// (`None` then: it is queued).
    pub async fn submit_order(
        &self,
        org: OrgId,
        event: &OrderEvent,
    ) -> Result<Option<OrderOutcome>, ServingError> {
        let Some(bus) = self.event_bus() else {
            return self.record_order(org, event).await.map(Some);
        };
        event.validate()?;
        let status = match event.status {
            crate::OrderStatus::Completed => "completed",
            crate::OrderStatus::Cancelled => "cancelled",
        };
        let id = format!("{}:{}:{status}", org.get(), event.order_id.trim());
        let body = serde_json::json!({ "org": org.get(), "event": event }).to_string();
        bus.publish(Topic::OrderCompleted, &id, body.into_bytes())
            .await?;
        Ok(None)
    }

    /// A click through the shared store: charged there at once, written to the ledger by the
    /// settling consumer (or here, when there is no bus or it fails).
    pub(crate) async fn click_shared(
        &self,
        spend: &Arc<dyn SharedSpend>,
        claims: &ClickClaims,
        ad: &AdRow,
        now: i64,
    ) -> Result<Option<InvalidReason>, ServingError> {
        let date = BusinessDate::from_utc_millis(now).to_string();
        let request = SpendRequest {
            advertiser: ad.advertiser_id,
            campaign: ad.campaign_id,
            date: &date,
            impression: &claims.imp,
            user: &claims.usr,
            ad: claims.ad,
            price: claims.price,
            impression_ttl_ms: self.config().click_token_ttl.as_millis() as i64 + 60_000,
            duplicate_window_ms: self.config().duplicate_click_window.as_millis() as i64,
        };
        let mut answer = spend.charge(&request).await?;
        if answer == SpendAnswer::NeedsSeed {
            let (balance, budget_left) = self.ledger_position(ad, &date).await?;
            spend
                .seed(
                    ad.advertiser_id,
                    balance,
                    ad.campaign_id,
                    &date,
                    budget_left,
                )
                .await?;
            answer = spend.charge(&request).await?;
        }
        let refused = match answer {
            SpendAnswer::Charged {
                balance,
                budget_left,
            } => {
                if self.after_charge(ad.advertiser_id, balance, ad.campaign_id, budget_left) {
                    self.announce_change().await;
                }
                None
            }
            SpendAnswer::Refused(reason) => Some(reason),
            SpendAnswer::NeedsSeed => {
                return Err(ServingError::Conflict(
                    "the shared spend store lost the balance just seeded".into(),
                ));
            }
        };
        let event = ClickEvent {
            event_id: format!("{}-{}", claims.imp, self.next_impression_id()),
            org: claims.org,
            ad: claims.ad,
            imp: claims.imp.clone(),
            usr: claims.usr.clone(),
            plc: claims.plc.clone(),
            price: claims.price,
            clicked_at: now,
            refused,
        };
        let published = match self.event_bus() {
            Some(bus) => match serde_json::to_vec(&event) {
                Ok(body) => bus
                    .publish(Topic::AdEvents, &event.event_id, body)
                    .await
                    .map_err(
                        |error| tracing::warn!(%error, "click event not published; settled here"),
                    ),
                Err(_) => Err(()),
            },
            None => Err(()),
        };
        if published.is_err() {
            self.settle_click(&event).await?;
        } else if refused.is_some() {
            self.counters()
                .clicks_invalid
                .fetch_add(1, Ordering::Relaxed);
        }
        Ok(refused)
    }

    /// The balance and today's budget left as the ledger has them.
    async fn ledger_position(&self, ad: &AdRow, date: &str) -> Result<(i64, i64), ServingError> {
        let balance: i64 = sqlx::query_scalar("SELECT balance FROM cpc_advertisers WHERE id = $1")
            .bind(ad.advertiser_id)
            .fetch_one(self.db().pool())
            .await?;
        let spent: Option<i64> = sqlx::query_scalar(
            "SELECT spent FROM cpc_budget_spend WHERE campaign_id = $1 AND business_date = $2",
        )
        .bind(ad.campaign_id)
        .bind(date)
        .fetch_optional(self.db().pool())
        .await?;
        Ok((balance, ad.daily_budget - spent.unwrap_or(0)))
    }

    /// Writes a decided click to the database once per event id: a charge in the ledger (or a
    /// refusal when the ledger cannot pay what the shared store accepted, giving the money back
    /// to the store), or the refusal the edge decided.
    pub async fn settle_click(&self, event: &ClickEvent) -> Result<Settled, ServingError> {
        let claims = ClickClaims {
            imp: event.imp.clone(),
            org: event.org,
            ad: event.ad,
            price: event.price,
            plc: event.plc.clone(),
            usr: event.usr.clone(),
            mid: String::new(),
            exp: 0,
        };
        let date = BusinessDate::from_utc_millis(event.clicked_at).to_string();
        if let Some(reason) = event.refused {
            return self.settle_refusal(&claims, reason, event).await;
        }
        let Some(ad) = self.ad_row(&claims).await? else {
            return self
                .settle_refusal(&claims, InvalidReason::AdUnavailable, event)
                .await;
        };
        match self
            .charge(&claims, &ad, &date, event.clicked_at, Some(&event.event_id))
            .await?
        {
            Attempt::AlreadySettled => Ok(Settled::AlreadySettled),
            Attempt::Charged { .. } => {
                self.counters()
                    .clicks_charged
                    .fetch_add(1, Ordering::Relaxed);
                Ok(Settled::Charged)
            }
            Attempt::Refused(reason) => {
                let settled = self.settle_refusal(&claims, reason, event).await?;
                if settled != Settled::AlreadySettled
                    && let Some(spend) = self.shared_spend()
                {
                    tracing::warn!(impression = %event.imp, reason = reason.as_str(), "the ledger refused a click the shared store charged; money given back");
                    spend.credit(ad.advertiser_id, event.price).await?;
                    spend
                        .release_budget(ad.campaign_id, &date, event.price)
                        .await?;
                }
                Ok(settled)
            }
        }
    }

    async fn settle_refusal(
        &self,
        claims: &ClickClaims,
        reason: InvalidReason,
        event: &ClickEvent,
    ) -> Result<Settled, ServingError> {
        let mut tx = self.db().begin_write().await?;
        if !consume(&mut tx, CLICK_CONSUMER, &event.event_id, self.now()).await? {
            return Ok(Settled::AlreadySettled);
        }
        self.insert_invalid(&mut tx, Some(claims), reason, event.clicked_at)
            .await?;
        tx.commit().await?;
        Ok(Settled::Refused(reason))
    }

    /// How many click events are settled (for reconciling and tests).
    pub async fn settled_click_events(&self) -> Result<i64, ServingError> {
        Ok(
            sqlx::query("SELECT COUNT(*) AS n FROM consumed_events WHERE consumer = $1")
                .bind(CLICK_CONSUMER)
                .fetch_one(self.db().pool())
                .await?
                .try_get("n")?,
        )
    }
}

/// Records that `consumer` processed `event_id`, inside the transaction of its effect; false
/// when it was processed before.
pub async fn consume(
    tx: &mut adpool_store::DbTx,
    consumer: &str,
    event_id: &str,
    now: i64,
) -> Result<bool, ServingError> {
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO consumed_events (consumer, event_id, consumed_at) VALUES ($1, $2, $3) ON CONFLICT (consumer, event_id) DO NOTHING RETURNING 1",
    )
    .bind(consumer)
    .bind(event_id)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(inserted.is_some())
}
