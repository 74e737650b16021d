//! CPC campaigns (register -> review -> active / paused / ended) and their product ads, and the
//! placements ads are targeted to. Every change re-ranks at once.

use adpool_core::{BusinessDate, OrgId};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{AdvertiserState, Serving, ServingError};

/// Where a campaign is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CampaignState {
    /// Registered, waiting for review.
    Review,
    /// Refused in review, with a reason.
    Rejected,
    /// Serving.
    Active,
    /// Stopped for now.
    Paused,
    /// Over for good.
    Ended,
}

impl CampaignState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Review => "review",
            CampaignState::Rejected => "rejected",
            CampaignState::Active => "active",
            CampaignState::Paused => "paused",
            CampaignState::Ended => "ended",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(text: &str) -> Option<Self> {
        [
            CampaignState::Review,
            CampaignState::Rejected,
            CampaignState::Active,
            CampaignState::Paused,
            CampaignState::Ended,
        ]
        .into_iter()
        .find(|s| s.as_str() == text.trim())
    }
}

/// Whether an ad serves inside an active campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdState {
    /// Serving when its campaign is.
    Active,
    /// Not serving.
    Paused,
}

impl AdState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AdState::Active => "active",
            AdState::Paused => "paused",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "active" => Some(AdState::Active),
            "paused" => Some(AdState::Paused),
            _ => None,
        }
    }
}

/// Where an ad stands in review. An ad added to a campaign that already passed review waits in
/// `Review` before it serves; the ads of a campaign still in review are approved with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdReview {
    /// Waiting for an admin or operator.
    Review,
    /// May serve.
    Approved,
    /// Refused, with a reason.
    Rejected,
}

impl AdReview {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AdReview::Review => "review",
            AdReview::Approved => "approved",
            AdReview::Rejected => "rejected",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "review" => Some(AdReview::Review),
            "approved" => Some(AdReview::Approved),
            "rejected" => Some(AdReview::Rejected),
            _ => None,
        }
    }
}

/// What is needed to register a campaign.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct NewCpcCampaign {
    /// Name.
    #[schema(pattern = "[^\\s\\u0085]", max_length = 200)]
    pub name: String,
    /// Daily budget in won (resets at KST midnight).
    #[schema(minimum = 1)]
    pub daily_budget: i64,
    /// Placement codes it targets (codes the organization has registered).
    #[schema(min_items = 1)]
    pub placements: Vec<String>,
}

/// A campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpcCampaign {
    /// Its id.
    pub id: i64,
    /// Advertiser.
    pub advertiser_id: i64,
    /// Advertiser's business name.
    pub advertiser_name: String,
    /// Name.
    pub name: String,
    /// Daily budget in won.
    pub daily_budget: i64,
    /// Placement codes.
    pub placements: Vec<String>,
    /// State.
    pub state: CampaignState,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// Spent today (KST).
    pub spent_today: i64,
    /// Registered at (UTC ms).
    pub created_at: i64,
}

/// A product ad.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct NewProductAd {
    /// The shop's product id.
    #[schema(pattern = "[^\\s\\u0085]", max_length = 100)]
    pub product_id: String,
    /// Title.
    #[schema(pattern = "[^\\s\\u0085]", max_length = 200)]
    pub title: String,
    /// Image URL (http or https).
    #[schema(pattern = "^https?://", max_length = 2000)]
    pub image_url: String,
    /// Landing URL (http or https).
    #[schema(pattern = "^https?://", max_length = 2000)]
    pub landing_url: String,
    /// Product category.
    #[schema(pattern = "[^\\s\\u0085]", max_length = 64)]
    pub category: String,
    /// CPC bid in won: at least the organization's reserve price, at most 1,000,000.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub bid: i64,
}

/// A product ad with its id and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductAd {
    /// Its id.
    pub id: i64,
    /// Campaign.
    pub campaign_id: i64,
    /// The shop's product id.
    pub product_id: String,
    /// Title.
    pub title: String,
    /// Image URL.
    pub image_url: String,
    /// Landing URL.
    pub landing_url: String,
    /// Category.
    pub category: String,
    /// CPC bid in won.
    pub bid: i64,
    /// State.
    pub state: AdState,
    /// Review: only approved ads serve.
    pub review: AdReview,
    /// Why it was rejected.
    pub review_reason: Option<String>,
}

/// A placement on a shop front end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placement {
    /// Its id (the `aid` of the event log).
    pub id: i64,
    /// Code used in queries.
    pub code: String,
    /// Name.
    pub name: String,
}

const CAMPAIGN_SELECT: &str = "SELECT c.id, c.advertiser_id, a.business_name, c.name, c.daily_budget, c.placements, c.state, c.rejection_reason, c.created_at,
        COALESCE((SELECT s.spent FROM cpc_budget_spend s WHERE s.campaign_id = c.id AND s.business_date = $1), 0) AS spent_today
     FROM cpc_campaigns c JOIN cpc_advertisers a ON a.id = c.advertiser_id";

const AD_SELECT: &str = "SELECT id, campaign_id, product_id, title, image_url, landing_url, category, bid, state, review_state, review_reason FROM cpc_ads";

impl CpcCampaign {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let state: String = row.try_get("state")?;
        Ok(CpcCampaign {
            id: row.try_get("id")?,
            advertiser_id: row.try_get("advertiser_id")?,
            advertiser_name: row.try_get("business_name")?,
            name: row.try_get("name")?,
            daily_budget: row.try_get("daily_budget")?,
            placements: split_placements(&row.try_get::<String, _>("placements")?),
            state: CampaignState::parse(&state).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown campaign state {state}").into())
            })?,
            rejection_reason: row.try_get("rejection_reason")?,
            spent_today: row.try_get("spent_today")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

impl ProductAd {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let state: String = row.try_get("state")?;
        let review: String = row.try_get("review_state")?;
        Ok(ProductAd {
            id: row.try_get("id")?,
            campaign_id: row.try_get("campaign_id")?,
            product_id: row.try_get("product_id")?,
            title: row.try_get("title")?,
            image_url: row.try_get("image_url")?,
            landing_url: row.try_get("landing_url")?,
            category: row.try_get("category")?,
            bid: row.try_get("bid")?,
            state: AdState::parse(&state)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown ad state {state}").into()))?,
            review: AdReview::parse(&review).ok_or_else(|| {
                sqlx::Error::Decode(format!("unknown ad review state {review}").into())
            })?,
            review_reason: row.try_get("review_reason")?,
        })
    }
}

/// The one rule of a review decision: only what waits for review is decided, and a rejection
/// needs a reason. Returns the reason to store (none for an approval).
fn review_decision<'r>(
    what: &str,
    state: &str,
    waiting: bool,
    approve: bool,
    reason: &'r str,
) -> Result<Option<&'r str>, ServingError> {
    if !waiting {
        return Err(ServingError::Conflict(format!(
            "{what} is {state}, not waiting for review"
        )));
    }
    let reason = crate::error::note("reason", reason)?;
    if approve {
        return Ok(None);
    }
    if reason.is_empty() {
        return Err(ServingError::invalid(
            "reason",
            "a rejection needs a reason",
        ));
    }
    Ok(Some(reason))
}

pub(crate) fn split_placements(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

fn check_url(field: &'static str, url: &str) -> Result<String, ServingError> {
    let url = url.trim();
    let parses = url::Url::parse(url).is_ok_and(|parsed| {
        matches!(parsed.scheme(), "http" | "https")
            && parsed.host_str().is_some_and(|h| !h.is_empty())
    });
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 || !parses {
        return Err(ServingError::invalid(
            field,
            format!("'{url}' is not an http(s) URL"),
        ));
    }
    Ok(url.to_owned())
}

impl NewProductAd {
    fn validate(&self, reserve: i64) -> Result<NewProductAd, ServingError> {
        let text = |field: &'static str, value: &str, max: usize| {
            let value = value.trim();
            if value.is_empty() || value.chars().count() > max {
                Err(ServingError::invalid(
                    field,
                    format!("is required, at most {max} characters"),
                ))
            } else {
                Ok(value.to_owned())
            }
        };
        Ok(NewProductAd {
            product_id: text("product_id", &self.product_id, 100)?,
            title: text("title", &self.title, 200)?,
            image_url: check_url("image_url", &self.image_url)?,
            landing_url: check_url("landing_url", &self.landing_url)?,
            category: text("category", &self.category, 64)?,
            bid: check_bid(self.bid, reserve)?,
        })
    }
}

fn check_bid(bid: i64, reserve: i64) -> Result<i64, ServingError> {
    if bid < reserve || bid > 1_000_000 {
        return Err(ServingError::invalid(
            "bid",
            format!("{bid} won is outside {reserve} (the reserve price) to 1,000,000 won"),
        ));
    }
    Ok(bid)
}

impl Serving {
    /// Adds a placement (`code`: letters, digits, `_`, `-`).
    pub async fn add_placement(
        &self,
        org: OrgId,
        code: &str,
        name: &str,
    ) -> Result<Placement, ServingError> {
        let code = code.trim();
        if !valid_code(code) {
            return Err(ServingError::invalid(
                "code",
                format!("'{code}' is not a placement code (letters, digits, _ and -, at most 64)"),
            ));
        }
        let name = if name.trim().is_empty() {
            code
        } else {
            name.trim()
        };
        if name.chars().count() > 200 {
            return Err(ServingError::invalid(
                "name",
                "is longer than 200 characters",
            ));
        }
        let result = sqlx::query_scalar::<_, i64>(
            "INSERT INTO cpc_placements (org_id, code, name) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(org.get())
        .bind(code)
        .bind(name)
        .fetch_one(self.db().pool())
        .await;
        let id = match result {
            Ok(id) => id,
            Err(error) if crate::ledger::is_unique_violation(&error) => {
                return Err(ServingError::Conflict(format!(
                    "placement '{code}' already exists"
                )));
            }
            Err(error) => return Err(error.into()),
        };
        self.refresh_quietly().await;
        Ok(Placement {
            id,
            code: code.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The placements of `org`.
    pub async fn placements(&self, org: OrgId) -> Result<Vec<Placement>, ServingError> {
        let rows = sqlx::query(
            "SELECT id, code, name FROM cpc_placements WHERE org_id = $1 ORDER BY code",
        )
        .bind(org.get())
        .fetch_all(self.db().pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(Placement {
                    id: r.try_get("id")?,
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Registers a campaign of an approved advertiser; it waits for review.
    pub async fn create_campaign(
        &self,
        org: OrgId,
        advertiser: i64,
        new: &NewCpcCampaign,
    ) -> Result<CpcCampaign, ServingError> {
        let found = self.advertiser(org, advertiser).await?;
        if found.state != AdvertiserState::Approved {
            return Err(ServingError::Conflict(format!(
                "{} is {}: campaigns need an approved advertiser",
                found.business_name,
                found.state.as_str()
            )));
        }
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ServingError::invalid(
                "name",
                "is required, at most 100 characters",
            ));
        }
        let reserve = self.config().reserve_price;
        if new.daily_budget < reserve || new.daily_budget > 10_000_000_000 {
            return Err(ServingError::invalid(
                "daily_budget",
                format!(
                    "{} won is outside {reserve} (one click at the reserve price) to 10,000,000,000 won",
                    new.daily_budget
                ),
            ));
        }
        let placements = self.check_placements(org, &new.placements).await?;
        let now = self.now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cpc_campaigns (org_id, advertiser_id, name, daily_budget, placements, state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'review', $6, $6) RETURNING id",
        )
        .bind(org.get())
        .bind(advertiser)
        .bind(name)
        .bind(new.daily_budget)
        .bind(placements.join(","))
        .bind(now)
        .fetch_one(self.db().pool())
        .await?;
        self.campaign(org, id).await
    }

    async fn check_placements(
        &self,
        org: OrgId,
        wanted: &[String],
    ) -> Result<Vec<String>, ServingError> {
        let known: Vec<String> = self
            .placements(org)
            .await?
            .into_iter()
            .map(|p| p.code)
            .collect();
        let mut placements: Vec<String> = Vec::new();
        for code in wanted.iter().flat_map(|w| split_placements(w)) {
            if !known.contains(&code) {
                return Err(ServingError::invalid(
                    "placements",
                    format!("'{code}' is not a placement (known: {})", known.join(", ")),
                ));
            }
            if !placements.contains(&code) {
                placements.push(code);
            }
        }
        if placements.is_empty() {
            return Err(ServingError::invalid(
                "placements",
                "name at least one placement",
            ));
        }
        Ok(placements)
    }

    /// One campaign.
    pub async fn campaign(&self, org: OrgId, id: i64) -> Result<CpcCampaign, ServingError> {
        let today = BusinessDate::from_utc_millis(self.now()).to_string();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CAMPAIGN_SELECT} WHERE c.org_id = $2 AND c.id = $3"
        )))
        .bind(&today)
        .bind(org.get())
        .bind(id)
        .fetch_optional(self.db().pool())
        .await?
        .ok_or(ServingError::NotFound)?;
        Ok(CpcCampaign::from_row(&row)?)
    }

    /// Campaigns of `org`, of one advertiser when given, newest first.
    pub async fn campaigns(
        &self,
        org: OrgId,
        advertiser: Option<i64>,
    ) -> Result<Vec<CpcCampaign>, ServingError> {
        let today = BusinessDate::from_utc_millis(self.now()).to_string();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CAMPAIGN_SELECT} WHERE c.org_id = $2 AND ($3 = 0 OR c.advertiser_id = $3) ORDER BY c.id DESC"
        )))
        .bind(&today)
        .bind(org.get())
        .bind(advertiser.unwrap_or(0))
        .fetch_all(self.db().pool())
        .await?;
        Ok(rows
            .iter()
            .map(CpcCampaign::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Review: approve (-> active) or reject with a reason.
    pub async fn review_campaign(
        &self,
        org: OrgId,
        id: i64,
        approve: bool,
        reason: &str,
    ) -> Result<CpcCampaign, ServingError> {
        let campaign = self.campaign(org, id).await?;
        let reason = review_decision(
            &format!("campaign {id}"),
            campaign.state.as_str(),
            campaign.state == CampaignState::Review,
            approve,
            reason,
        )?;
        let state = if approve {
            CampaignState::Active
        } else {
            CampaignState::Rejected
        };
        self.write_campaign_state(org, id, state, reason).await
    }

    /// Pauses, resumes or ends a campaign: active <-> paused; anything not ended -> ended.
    pub async fn set_campaign_state(
        &self,
        org: OrgId,
        id: i64,
        to: CampaignState,
    ) -> Result<CpcCampaign, ServingError> {
        let campaign = self.campaign(org, id).await?;
        let allowed = matches!(
            (campaign.state, to),
            (CampaignState::Active, CampaignState::Paused)
                | (CampaignState::Paused, CampaignState::Active)
                | (
                    CampaignState::Review
                        | CampaignState::Rejected
                        | CampaignState::Active
                        | CampaignState::Paused,
                    CampaignState::Ended
                )
        );
        if campaign.state == to {
            return Ok(campaign);
        }
        if !allowed {
            return Err(ServingError::Conflict(format!(
                "campaign {id} cannot go from {} to {}",
                campaign.state.as_str(),
                to.as_str()
            )));
        }
        self.write_campaign_state(org, id, to, None).await
    }

    /// Changes the daily budget (takes effect at once, also for today).
    pub async fn set_daily_budget(
        &self,
        org: OrgId,
        id: i64,
        daily_budget: i64,
    ) -> Result<CpcCampaign, ServingError> {
        let reserve = self.config().reserve_price;
        if daily_budget < reserve || daily_budget > 10_000_000_000 {
            return Err(ServingError::invalid(
                "daily_budget",
                format!("{daily_budget} won is outside {reserve} to 10,000,000,000 won"),
            ));
        }
        let changed = sqlx::query(
            "UPDATE cpc_campaigns SET daily_budget = $1, updated_at = $2 WHERE org_id = $3 AND id = $4",
        )
        .bind(daily_budget)
        .bind(self.now())
        .bind(org.get())
        .bind(id)
        .execute(self.db().pool())
        .await?;
        if changed.rows_affected() == 0 {
            return Err(ServingError::NotFound);
        }
        self.shared_budget_changed(id).await;
        self.refresh_quietly().await;
        self.campaign(org, id).await
    }

    async fn write_campaign_state(
        &self,
        org: OrgId,
        id: i64,
        state: CampaignState,
        reason: Option<&str>,
    ) -> Result<CpcCampaign, ServingError> {
        sqlx::query(
            "UPDATE cpc_campaigns SET state = $1, rejection_reason = COALESCE($2, rejection_reason), updated_at = $3 WHERE org_id = $4 AND id = $5",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(self.now())
        .bind(org.get())
        .bind(id)
        .execute(self.db().pool())
        .await?;
        self.refresh_quietly().await;
        self.campaign(org, id).await
    }

    /// Adds a product ad to a campaign that has not ended.
    pub async fn add_ad(
        &self,
        org: OrgId,
        campaign: i64,
        new: &NewProductAd,
    ) -> Result<ProductAd, ServingError> {
        let found = self.campaign(org, campaign).await?;
        if matches!(found.state, CampaignState::Ended | CampaignState::Rejected) {
            return Err(ServingError::Conflict(format!(
                "campaign {campaign} is {}: no new ads",
                found.state.as_str()
            )));
        }
        let ad = new.validate(self.config().reserve_price)?;
        let now = self.now();
        // A campaign that already passed review does not vouch for a new ad.
        let review = if matches!(found.state, CampaignState::Active | CampaignState::Paused) {
            AdReview::Review
        } else {
            AdReview::Approved
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cpc_ads (org_id, campaign_id, product_id, title, image_url, landing_url, category, bid, state, review_state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $10, $9, $9) RETURNING id",
        )
        .bind(org.get())
        .bind(campaign)
        .bind(&ad.product_id)
        .bind(&ad.title)
        .bind(&ad.image_url)
        .bind(&ad.landing_url)
        .bind(&ad.category)
        .bind(ad.bid)
        .bind(now)
        .bind(review.as_str())
        .fetch_one(self.db().pool())
        .await?;
        self.refresh_quietly().await;
        self.ad(org, id).await
    }

    /// Approves or rejects an ad waiting for review (a rejection needs a reason).
    pub async fn review_ad(
        &self,
        org: OrgId,
        id: i64,
        approve: bool,
        reason: &str,
    ) -> Result<ProductAd, ServingError> {
        let ad = self.ad(org, id).await?;
        let reason = review_decision(
            &format!("ad {id}"),
            ad.review.as_str(),
            ad.review == AdReview::Review,
            approve,
            reason,
        )?;
        let review = if approve {
            AdReview::Approved
        } else {
            AdReview::Rejected
        };
        sqlx::query(
            "UPDATE cpc_ads SET review_state = $1, review_reason = $2, updated_at = $3 WHERE org_id = $4 AND id = $5",
        )
        .bind(review.as_str())
        .bind(reason)
        .bind(self.now())
        .bind(org.get())
        .bind(id)
        .execute(self.db().pool())
        .await?;
        self.refresh_quietly().await;
        self.ad(org, id).await
    }

    /// One ad.
    pub async fn ad(&self, org: OrgId, id: i64) -> Result<ProductAd, ServingError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{AD_SELECT} WHERE org_id = $1 AND id = $2"
        )))
        .bind(org.get())
        .bind(id)
        .fetch_optional(self.db().pool())
        .await?
        .ok_or(ServingError::NotFound)?;
        Ok(ProductAd::from_row(&row)?)
    }

    /// The ads of a campaign.
    pub async fn ads(&self, org: OrgId, campaign: i64) -> Result<Vec<ProductAd>, ServingError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{AD_SELECT} WHERE org_id = $1 AND campaign_id = $2 ORDER BY id"
        )))
        .bind(org.get())
        .bind(campaign)
        .fetch_all(self.db().pool())
        .await?;
        Ok(rows
            .iter()
            .map(ProductAd::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Changes an ad's bid and/or state.
    pub async fn update_ad(
        &self,
        org: OrgId,
        id: i64,
        bid: Option<i64>,
        state: Option<AdState>,
    ) -> Result<ProductAd, ServingError> {
        let current = self.ad(org, id).await?;
        let bid = match bid {
            Some(bid) => check_bid(bid, self.config().reserve_price)?,
            None => current.bid,
        };
        let state = state.unwrap_or(current.state);
        sqlx::query(
            "UPDATE cpc_ads SET bid = $1, state = $2, updated_at = $3 WHERE org_id = $4 AND id = $5",
        )
        .bind(bid)
        .bind(state.as_str())
        .bind(self.now())
        .bind(org.get())
        .bind(id)
        .execute(self.db().pool())
        .await?;
        self.refresh_quietly().await;
        self.ad(org, id).await
    }
}
