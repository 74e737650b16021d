//! Clicks: verify the token, refuse duplicates, and charge the slot price in one transaction
//! that never takes the balance or the KST daily budget below zero. A refused click is recorded
//! with its reason and charges nothing.
//!
//! The order inside the transaction matters on PostgreSQL: the balance update comes first and
//! locks the advertiser's row, so two clicks of one advertiser run one after the other and the
//! duplicate checks of the second see the first.

use std::sync::atomic::Ordering;

use adpool_core::BusinessDate;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::click_token::{ClickClaims, TokenProblem, verify};
use crate::event_log::{LogAd, LogEvent};
use crate::ledger::{EntryKind, NewEntry, insert_entry, move_balance};
use crate::{Serving, ServingError};

/// Why a click charged nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidReason {
    /// Malformed, altered or signed with another key.
    Forged,
    /// Past the token's expiry.
    Expired,
    /// The impression was clicked before.
    DuplicateImpression,
    /// The same user clicked the same ad within the duplicate window.
    DuplicateUserAd,
    /// The ad, its campaign or its advertiser no longer serves.
    AdUnavailable,
    /// The balance cannot pay the price.
    BalanceExhausted,
    /// Today's budget cannot pay the price.
    BudgetExhausted,
    /// One client (address and user agent) showed several user ids within the duplicate
    /// window: invalid traffic ([`crate::client_guard`]).
    ClientRotatingUsers,
}

impl InvalidReason {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::Forged => "forged",
            InvalidReason::Expired => "expired",
            InvalidReason::DuplicateImpression => "duplicate_impression",
            InvalidReason::DuplicateUserAd => "duplicate_user_ad",
            InvalidReason::AdUnavailable => "ad_unavailable",
            InvalidReason::BalanceExhausted => "balance_exhausted",
            InvalidReason::BudgetExhausted => "budget_exhausted",
            InvalidReason::ClientRotatingUsers => "client_rotating_users",
        }
    }
}

/// What a click did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ClickOutcome {
    /// Charged.
    Charged {
        /// The click.
        click_id: i64,
        /// What it cost.
        price: i64,
        /// Where the user goes.
        landing_url: String,
    },
    /// Charged in the shared spend store; the ledger entry follows when the click event is
    /// settled (scale-out mode).
    Accepted {
        /// What it costs.
        price: i64,
        /// Where the user goes.
        landing_url: String,
    },
    /// Charged nothing.
    Invalid {
        /// Why.
        reason: InvalidReason,
        /// Where the user goes, when the token was genuine.
        landing_url: Option<String>,
    },
}

impl ClickOutcome {
    /// `charged`, `accepted`, or the refusal reason.
    pub fn label(&self) -> &'static str {
        match self {
            ClickOutcome::Charged { .. } => "charged",
            ClickOutcome::Accepted { .. } => "accepted",
            ClickOutcome::Invalid { reason, .. } => reason.as_str(),
        }
    }

    /// Where to redirect the user.
    pub fn landing_url(&self) -> Option<&str> {
        match self {
            ClickOutcome::Charged { landing_url, .. }
            | ClickOutcome::Accepted { landing_url, .. } => Some(landing_url),
            ClickOutcome::Invalid { landing_url, .. } => landing_url.as_deref(),
        }
    }
}

pub(crate) struct AdRow {
    pub(crate) landing_url: String,
    pub(crate) serving: bool,
    pub(crate) campaign_id: i64,
    pub(crate) advertiser_id: i64,
    pub(crate) product_id: String,
    pub(crate) daily_budget: i64,
}

pub(crate) enum Attempt {
    /// The click event was settled before.
    AlreadySettled,
    Charged {
        click_id: i64,
        balance: i64,
        spent: i64,
    },
    Refused(InvalidReason),
}

impl Serving {
    /// Handles a click token.
    pub async fn click(&self, token: &str) -> Result<ClickOutcome, ServingError> {
        self.click_from(token, None).await
    }

    /// [`Serving::click`] from a known client (its address and user agent, as the click edge
    /// sees them): a client rotating user ids is refused as invalid traffic.
    pub async fn click_from(
        &self,
        token: &str,
        client: Option<&str>,
    ) -> Result<ClickOutcome, ServingError> {
        if self.secret().is_none() {
            self.refresh().await?;
        }
        let secret = self
            .secret()
            .ok_or_else(|| ServingError::Conflict("the click-token key is not loaded".into()))?;
        let now = self.now();
        let claims = match verify(secret, token, now) {
            Ok(claims) => claims,
            Err(TokenProblem::Forged) => {
                self.record_invalid(None, InvalidReason::Forged, now)
                    .await?;
                return Ok(ClickOutcome::Invalid {
                    reason: InvalidReason::Forged,
                    landing_url: None,
                });
            }
            Err(TokenProblem::Expired(claims)) => {
                let landing_url = self.ad_row(&claims).await?.map(|ad| ad.landing_url);
                self.record_invalid(Some(&claims), InvalidReason::Expired, now)
                    .await?;
                return Ok(ClickOutcome::Invalid {
                    reason: InvalidReason::Expired,
                    landing_url,
                });
            }
        };
        let Some(ad) = self.ad_row(&claims).await? else {
            self.record_invalid(Some(&claims), InvalidReason::AdUnavailable, now)
                .await?;
            return Ok(ClickOutcome::Invalid {
                reason: InvalidReason::AdUnavailable,
                landing_url: None,
            });
        };
        let window =
            i64::try_from(self.config().duplicate_click_window.as_millis()).unwrap_or(i64::MAX);
        if let Some(client) = client
            && self.client_guard().rotating(
                client,
                claims.ad,
                &claims.usr,
                now,
                window,
                self.config().max_users_per_client,
            )
        {
            self.record_invalid(Some(&claims), InvalidReason::ClientRotatingUsers, now)
                .await?;
            return Ok(ClickOutcome::Invalid {
                reason: InvalidReason::ClientRotatingUsers,
                landing_url: Some(ad.landing_url),
            });
        }
        if ad.serving
            && let Some(spend) = self.shared_spend()
        {
            let spend = spend.clone();
            return match self.click_shared(&spend, &claims, &ad, now).await? {
                None => {
                    self.count_charged_click(&claims, &ad, now);
                    Ok(ClickOutcome::Accepted {
                        price: claims.price,
                        landing_url: ad.landing_url,
                    })
                }
                Some(reason) => Ok(ClickOutcome::Invalid {
                    reason,
                    landing_url: Some(ad.landing_url),
                }),
            };
        }
        let date = BusinessDate::from_utc_millis(now).to_string();
        let attempt = if ad.serving {
            self.charge(&claims, &ad, &date, now, None).await?
        } else {
            Attempt::Refused(InvalidReason::AdUnavailable)
        };
        match attempt {
            Attempt::Charged {
                click_id,
                balance,
                spent,
            } => {
                self.counters()
                    .clicks_charged
                    .fetch_add(1, Ordering::Relaxed);
                self.count_charged_click(&claims, &ad, now);
                let _ = self.after_charge(
                    ad.advertiser_id,
                    balance,
                    ad.campaign_id,
                    ad.daily_budget - spent,
                );
                Ok(ClickOutcome::Charged {
                    click_id,
                    price: claims.price,
                    landing_url: ad.landing_url,
                })
            }
            Attempt::AlreadySettled => Err(ServingError::Conflict(
                "a click without an event id was settled twice".into(),
            )),
            Attempt::Refused(reason) => {
                if matches!(
                    reason,
                    InvalidReason::BalanceExhausted | InvalidReason::BudgetExhausted
                ) {
                    self.resync_after_refusal(&ad, &date).await?;
                }
                self.record_invalid(Some(&claims), reason, now).await?;
                Ok(ClickOutcome::Invalid {
                    reason,
                    landing_url: Some(ad.landing_url),
                })
            }
        }
    }

    /// A charged click in the live click-through window and the event log.
    fn count_charged_click(&self, claims: &ClickClaims, ad: &AdRow, now: i64) {
        self.inner.hot.count_click(claims.ad, now);
        self.log(LogEvent {
            org: claims.org,
            ts: now.div_euclid(1000),
            ev: "clk",
            mid: claims.mid.as_str().into(),
            ad: LogAd {
                aid: self
                    .inner
                    .hot
                    .placement_id(claims.org, &claims.plc)
                    .unwrap_or(0),
                god: claims.ad,
                did: ad.advertiser_id,
            },
            dev: None,
            app: None,
            rev: Some(claims.price),
        });
    }

    pub(crate) async fn ad_row(&self, claims: &ClickClaims) -> Result<Option<AdRow>, ServingError> {
        let row = sqlx::query(
            "SELECT a.landing_url, a.state, a.review_state, a.campaign_id, a.product_id, c.state AS campaign_state, c.daily_budget, c.advertiser_id, v.state AS advertiser_state
             FROM cpc_ads a JOIN cpc_campaigns c ON c.id = a.campaign_id JOIN cpc_advertisers v ON v.id = c.advertiser_id
             WHERE a.id = $1 AND a.org_id = $2",
        )
        .bind(claims.ad)
        .bind(claims.org)
        .fetch_optional(self.db().pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(AdRow {
            landing_url: row.try_get("landing_url")?,
            serving: row.try_get::<String, _>("state")? == "active"
                && row.try_get::<String, _>("review_state")? == "approved"
                && row.try_get::<String, _>("campaign_state")? == "active"
                && row.try_get::<String, _>("advertiser_state")? == "approved",
            campaign_id: row.try_get("campaign_id")?,
            advertiser_id: row.try_get("advertiser_id")?,
            product_id: row.try_get("product_id")?,
            daily_budget: row.try_get("daily_budget")?,
        }))
    }

    /// One transaction: balance (locks the advertiser), duplicate checks, the click, the
    /// budget, the ledger entry. Any refusal rolls all of it back. With an event id, the
    /// transaction also records the event as settled, and a settled event changes nothing.
    pub(crate) async fn charge(
        &self,
        claims: &ClickClaims,
        ad: &AdRow,
        date: &str,
        now: i64,
        event_id: Option<&str>,
    ) -> Result<Attempt, ServingError> {
        let mut tx = self.db().begin_write().await?;
        if let Some(event_id) = event_id
            && !crate::scale_out::consume(
                &mut tx,
                crate::scale_out::CLICK_CONSUMER,
                event_id,
                self.now(),
            )
            .await?
        {
            return Ok(Attempt::AlreadySettled);
        }
        let Some(balance) =
            move_balance(&mut tx, claims.org, ad.advertiser_id, -claims.price).await?
        else {
            drop(tx);
            // Report a duplicate as a duplicate even when the balance is also gone.
            let reason = self
                .duplicate_reason(claims, now)
                .await?
                .unwrap_or(InvalidReason::BalanceExhausted);
            return Ok(Attempt::Refused(reason));
        };
        let click_id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO cpc_clicks (org_id, impression_id, ad_id, campaign_id, advertiser_id, product_id, user_key, placement, price, business_date, clicked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (impression_id) DO NOTHING RETURNING id",
        )
        .bind(claims.org)
        .bind(&claims.imp)
        .bind(claims.ad)
        .bind(ad.campaign_id)
        .bind(ad.advertiser_id)
        .bind(&ad.product_id)
        .bind(&claims.usr)
        .bind(&claims.plc)
        .bind(claims.price)
        .bind(date)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(click_id) = click_id else {
            return Ok(Attempt::Refused(InvalidReason::DuplicateImpression));
        };
        if !claims.usr.is_empty() {
            let window = self.config().duplicate_click_window.as_millis() as i64;
            let recent: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM cpc_clicks WHERE user_key = $1 AND ad_id = $2 AND clicked_at > $3 AND id <> $4 LIMIT 1",
            )
            .bind(&claims.usr)
            .bind(claims.ad)
            .bind(now - window)
            .bind(click_id)
            .fetch_optional(&mut *tx)
            .await?;
            if recent.is_some() {
                return Ok(Attempt::Refused(InvalidReason::DuplicateUserAd));
            }
        }
        sqlx::query(
            "INSERT INTO cpc_budget_spend (campaign_id, business_date, spent) VALUES ($1, $2, 0) ON CONFLICT (campaign_id, business_date) DO NOTHING",
        )
        .bind(ad.campaign_id)
        .bind(date)
        .execute(&mut *tx)
        .await?;
        let spent: Option<i64> = sqlx::query_scalar(
            "UPDATE cpc_budget_spend SET spent = spent + $1 WHERE campaign_id = $2 AND business_date = $3 AND spent + $1 <= $4 RETURNING spent",
        )
        .bind(claims.price)
        .bind(ad.campaign_id)
        .bind(date)
        .bind(ad.daily_budget)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(spent) = spent else {
            return Ok(Attempt::Refused(InvalidReason::BudgetExhausted));
        };
        insert_entry(
            &mut tx,
            &NewEntry {
                org: claims.org,
                advertiser: ad.advertiser_id,
                kind: EntryKind::Charge,
                amount: -claims.price,
                date,
                click_id: Some(click_id),
                idempotency_key: None,
                memo: "",
                created_by: None,
                now,
            },
            balance,
        )
        .await?;
        tx.commit().await?;
        Ok(Attempt::Charged {
            click_id,
            balance,
            spent,
        })
    }

    async fn duplicate_reason(
        &self,
        claims: &ClickClaims,
        now: i64,
    ) -> Result<Option<InvalidReason>, ServingError> {
        let seen: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM cpc_clicks WHERE impression_id = $1")
                .bind(&claims.imp)
                .fetch_one(self.db().pool())
                .await?;
        if seen > 0 {
            return Ok(Some(InvalidReason::DuplicateImpression));
        }
        if claims.usr.is_empty() {
            return Ok(None);
        }
        let window = self.config().duplicate_click_window.as_millis() as i64;
        let recent: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM cpc_clicks WHERE user_key = $1 AND ad_id = $2 AND clicked_at > $3",
        )
        .bind(&claims.usr)
        .bind(claims.ad)
        .bind(now - window)
        .fetch_one(self.db().pool())
        .await?;
        Ok((recent > 0).then_some(InvalidReason::DuplicateUserAd))
    }

    /// Reads the balance and budget as they are after a refusal, so the ranking drops the ad.
    async fn resync_after_refusal(&self, ad: &AdRow, date: &str) -> Result<(), ServingError> {
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
        let _ = self.after_charge(
            ad.advertiser_id,
            balance,
            ad.campaign_id,
            ad.daily_budget - spent.unwrap_or(0),
        );
        Ok(())
    }

    async fn record_invalid(
        &self,
        claims: Option<&ClickClaims>,
        reason: InvalidReason,
        now: i64,
    ) -> Result<(), ServingError> {
        let mut tx = self.db().begin().await?;
        self.insert_invalid(&mut tx, claims, reason, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a refused click in `tx`.
    pub(crate) async fn insert_invalid(
        &self,
        tx: &mut adpool_store::DbTx,
        claims: Option<&ClickClaims>,
        reason: InvalidReason,
        now: i64,
    ) -> Result<(), ServingError> {
        self.counters()
            .clicks_invalid
            .fetch_add(1, Ordering::Relaxed);
        sqlx::query(
            "INSERT INTO cpc_invalid_clicks (org_id, ad_id, impression_id, user_key, reason, business_date, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(claims.map(|c| c.org))
        .bind(claims.map(|c| c.ad))
        .bind(claims.map(|c| c.imp.clone()))
        .bind(claims.map(|c| c.usr.clone()))
        .bind(reason.as_str())
        .bind(BusinessDate::from_utc_millis(now).to_string())
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
