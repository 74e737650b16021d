//! Campaigns, their lines (purchases) and ads, with the campaign status kept in step with the
//! ads: recomputed in the same transaction whenever an ad changes, and repaired in bulk by
//! [`Inventory::repair_campaign_statuses`] (a periodic job) should anything drift.

use chrono::Datelike;
use std::collections::HashMap;

use adpool_core::{BusinessDate, UserId, Won};
use adpool_store::DbTx;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::campaign_status::{Status, derive_from_counts};
use crate::{Inventory, InventoryError, OrgId, PurchaseRequest, PurchaseResult};

/// What is needed to create a campaign.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    /// Advertiser name.
    pub advertiser: String,
    /// Campaign name.
    pub name: String,
    /// First day.
    pub start: String,
    /// Last day.
    pub end: String,
    /// Total budget in won.
    pub total_budget: i64,
    /// Owner.
    pub owner: Option<UserId>,
}

/// A campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Campaign {
    /// Its id.
    pub id: i64,
    /// Advertiser name.
    pub advertiser: String,
    /// Name.
    pub name: String,
    /// First day.
    pub start: String,
    /// Last day.
    pub end: String,
    /// Total budget in won.
    pub total_budget: i64,
    /// Owner.
    pub owner_id: Option<i64>,
    /// Derived from its ads.
    pub status: Status,
    /// When the status last changed (UTC ms).
    pub status_changed_at: i64,
    /// Lines' amounts together.
    pub lines_amount: i64,
    /// Ads.
    pub ads: i64,
}

/// A line: a purchase request of the campaign and, once booked, its booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    /// Its id.
    pub id: i64,
    /// Its campaign.
    pub campaign_id: i64,
    /// Name.
    pub name: String,
    /// The purchase request.
    pub request: PurchaseRequest,
    /// The booking once booked.
    pub booking_id: Option<i64>,
    /// Impressions the booking reserved.
    pub booked_impressions: i64,
}

/// An ad (creative) under a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ad {
    /// Its id.
    pub id: i64,
    /// Its line.
    pub line_id: i64,
    /// Its campaign.
    pub campaign_id: i64,
    /// Name.
    pub name: String,
    /// Creative URL.
    pub creative_url: Option<String>,
    /// Status.
    pub status: Status,
}

/// What a status repair did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusRepair {
    /// Campaigns checked.
    pub campaigns: u64,
    /// Ads counted.
    pub ads: u64,
    /// Campaigns whose stored status was wrong and is now right.
    pub fixed: u64,
}

const CAMPAIGN_SELECT: &str = "SELECT c.id, c.advertiser, c.name, c.start_date, c.end_date, c.total_budget, c.owner_id, c.status,
        c.status_changed_at,
        (SELECT CAST(COALESCE(SUM(l.amount), 0) AS BIGINT) FROM campaign_lines l WHERE l.campaign_id = c.id) AS lines_amount,
        (SELECT COUNT(*) FROM ads a WHERE a.campaign_id = c.id) AS ad_count
     FROM campaigns c";

fn decode_status(text: &str) -> Result<Status, sqlx::Error> {
    Status::parse(text).ok_or_else(|| sqlx::Error::Decode(format!("unknown status {text}").into()))
}

impl Campaign {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let status: String = row.try_get("status")?;
        Ok(Campaign {
            id: row.try_get("id")?,
            advertiser: row.try_get("advertiser")?,
            name: row.try_get("name")?,
            start: row.try_get("start_date")?,
            end: row.try_get("end_date")?,
            total_budget: row.try_get("total_budget")?,
            owner_id: row.try_get("owner_id")?,
            status: decode_status(&status)?,
            status_changed_at: row.try_get("status_changed_at")?,
            lines_amount: row.try_get("lines_amount")?,
            ads: row.try_get("ad_count")?,
        })
    }
}

impl Ad {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let status: String = row.try_get("status")?;
        Ok(Ad {
            id: row.try_get("id")?,
            line_id: row.try_get("line_id")?,
            campaign_id: row.try_get("campaign_id")?,
            name: row.try_get("name")?,
            creative_url: row.try_get("creative_url")?,
            status: decode_status(&status)?,
        })
    }
}

/// The webhook event sent when a campaign's status changes.
pub const STATUS_CHANGED_EVENT: &str = "campaign.status_changed";

/// Records a campaign's new status and, in the same transaction, the webhook event for it.
async fn change_status(
    tx: &mut DbTx,
    jobs: &adpool_jobs::Jobs,
    campaign_id: i64,
    status: Status,
    now: i64,
) -> Result<Option<Status>, InventoryError> {
    let row = sqlx::query("SELECT org_id, name, advertiser, status FROM campaigns WHERE id = $1")
        .bind(campaign_id)
        .fetch_one(&mut **tx)
        .await?;
    let previous: String = row.try_get("status")?;
    if previous == status.as_str() {
        return Ok(None);
    }
    sqlx::query("UPDATE campaigns SET status = $1, status_changed_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now)
        .bind(campaign_id)
        .execute(&mut **tx)
        .await?;
    let org = OrgId(row.try_get("org_id")?);
    let data = serde_json::json!({
        "campaign_id": campaign_id,
        "name": row.try_get::<String, _>("name")?,
        "advertiser": row.try_get::<String, _>("advertiser")?,
        "status": status.as_str(),
        "previous_status": previous,
    });
    adpool_jobs::enqueue_event(jobs, tx, org, STATUS_CHANGED_EVENT, data)
        .await
        .map_err(|e| {
            InventoryError::Conflict(format!("could not queue the status webhook: {e}"))
        })?;
    Ok(Some(status))
}

/// Recomputes one campaign's status from its ads inside `tx`; returns the new status when it
/// changed (and queues its webhook event).
async fn refresh_status(
    tx: &mut DbTx,
    jobs: &adpool_jobs::Jobs,
    campaign_id: i64,
    now: i64,
) -> Result<Option<Status>, InventoryError> {
    let mut counts = Vec::new();
    for row in
        sqlx::query("SELECT status, COUNT(*) AS n FROM ads WHERE campaign_id = $1 GROUP BY status")
            .bind(campaign_id)
            .fetch_all(&mut **tx)
            .await?
    {
        let status: String = row.try_get("status")?;
        counts.push((decode_status(&status)?, row.try_get::<i64, _>("n")?));
    }
    change_status(tx, jobs, campaign_id, derive_from_counts(&counts), now).await
}

impl Inventory {
    /// Creates a campaign (status DRAFT until it has ads).
    pub async fn create_campaign(
        &self,
        org: OrgId,
        new: NewCampaign,
    ) -> Result<Campaign, InventoryError> {
        let mut problems = Vec::new();
        for (field, text) in [("advertiser", &new.advertiser), ("name", &new.name)] {
            let length = text.trim().chars().count();
            if length == 0 || length > 200 {
                problems.push(format!("{field}: must be 1 to 200 characters"));
            }
        }
        if new.total_budget < 0 {
            problems.push(format!(
                "total_budget: {} must not be negative",
                new.total_budget
            ));
        }
        match (
            new.start.parse::<BusinessDate>(),
            new.end.parse::<BusinessDate>(),
        ) {
            (Ok(start), Ok(end)) if start > end => {
                problems.push(format!("end: {} is before start {}", new.end, new.start))
            }
            (Ok(start), Ok(end)) => {
                // Proposals are workbooks, and a spreadsheet's days begin in 1900.
                for (field, day) in [("start", start), ("end", end)] {
                    if !(2000..=2099).contains(&day.naive().year()) {
                        problems.push(format!("{field}: {day} is outside the years 2000 to 2099"));
                    }
                }
            }
            (start, end) => {
                if start.is_err() {
                    problems.push(format!("start: '{}' is not a date (YYYY-MM-DD)", new.start));
                }
                if end.is_err() {
                    problems.push(format!("end: '{}' is not a date (YYYY-MM-DD)", new.end));
                }
            }
        }
        if !problems.is_empty() {
            return Err(InventoryError::Refused { problems });
        }
        let now = self.now();
        let id: i64 = sqlx::query(
            "INSERT INTO campaigns (org_id, advertiser, name, start_date, end_date, total_budget, owner_id, status, status_changed_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'DRAFT', $8, $8) RETURNING id",
        )
        .bind(org.get())
        .bind(new.advertiser.trim())
        .bind(new.name.trim())
        .bind(new.start.trim())
        .bind(new.end.trim())
        .bind(new.total_budget)
        .bind(new.owner.map(UserId::get))
        .bind(now)
        .fetch_one(self.db.pool())
        .await?
        .try_get("id")?;
        self.campaign(org, id).await
    }

    /// One campaign of `org`.
    pub async fn campaign(&self, org: OrgId, id: i64) -> Result<Campaign, InventoryError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CAMPAIGN_SELECT} WHERE c.id = $1 AND c.org_id = $2"
        )))
        .bind(id)
        .bind(org.get())
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(InventoryError::NotFound)?;
        Ok(Campaign::from_row(&row)?)
    }

    /// The organization's campaigns, newest first, optionally of one status or advertiser.
    pub async fn campaigns(
        &self,
        org: OrgId,
        status: Option<Status>,
        advertiser: Option<&str>,
    ) -> Result<Vec<Campaign>, InventoryError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CAMPAIGN_SELECT} WHERE c.org_id = $1 AND ($2 = '' OR c.status = $2) AND ($3 = '' OR c.advertiser = $3) ORDER BY c.id DESC LIMIT 500"
        )))
        .bind(org.get())
        .bind(status.map_or("", Status::as_str))
        .bind(advertiser.unwrap_or(""))
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .iter()
            .map(Campaign::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Adds a line (a purchase request) to a campaign; its dates must lie in the campaign's
    /// period and the lines together must fit the budget.
    pub async fn add_line(
        &self,
        org: OrgId,
        campaign_id: i64,
        name: &str,
        request: PurchaseRequest,
    ) -> Result<Line, InventoryError> {
        let campaign = self.campaign(org, campaign_id).await?;
        let mut problems = Vec::new();
        let name_length = name.trim().chars().count();
        if name_length == 0 || name_length > 200 {
            problems.push("name: must be 1 to 200 characters".to_owned());
        }
        if request.amount <= 0 {
            problems.push(format!(
                "amount: {} must be more than 0 won",
                request.amount
            ));
        }
        // Days compared as days: the text of a line is whatever the request said.
        match (
            request.start.parse::<BusinessDate>(),
            request.end.parse::<BusinessDate>(),
            campaign.start.parse::<BusinessDate>(),
            campaign.end.parse::<BusinessDate>(),
        ) {
            (Ok(start), Ok(end), _, _) if start > end => problems.push(format!(
                "end: {} is before start {}",
                request.end, request.start
            )),
            (Ok(start), Ok(end), Ok(first), Ok(last)) if start < first || end > last => problems
                .push(format!(
                    "start..end: {}..{} is outside the campaign's {}..{}",
                    request.start, request.end, campaign.start, campaign.end
                )),
            (Ok(_), Ok(_), Ok(_), Ok(_)) => {}
            _ => problems.push(format!(
                "start..end: '{}'..'{}' are not days (YYYY-MM-DD)",
                request.start, request.end
            )),
        }
        if campaign.lines_amount.saturating_add(request.amount) > campaign.total_budget {
            problems.push(format!(
                "amount: the lines would total {}, over the campaign budget {}",
                Won::new(campaign.lines_amount.saturating_add(request.amount)),
                Won::new(campaign.total_budget)
            ));
        }
        if !problems.is_empty() {
            return Err(InventoryError::Refused { problems });
        }
        let id: i64 = sqlx::query(
            "INSERT INTO campaign_lines (org_id, campaign_id, name, amount, request, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(org.get())
        .bind(campaign_id)
        .bind(name.trim())
        .bind(request.amount)
        .bind(serde_json::to_string(&request).unwrap_or_default())
        .bind(self.now())
        .fetch_one(self.db.pool())
        .await?
        .try_get("id")?;
        Ok(Line {
            id,
            campaign_id,
            name: name.trim().to_owned(),
            request,
            booking_id: None,
            booked_impressions: 0,
        })
    }

    /// The campaign's lines.
    pub async fn lines(&self, org: OrgId, campaign_id: i64) -> Result<Vec<Line>, InventoryError> {
        let rows = sqlx::query(
            "SELECT l.id, l.campaign_id, l.name, l.request, l.booking_id,
                    (SELECT b.impressions FROM bookings b WHERE b.id = l.booking_id AND b.state = 'booked') AS booked
             FROM campaign_lines l WHERE l.campaign_id = $1 AND l.org_id = $2 ORDER BY l.id",
        )
        .bind(campaign_id)
        .bind(org.get())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let request: String = r.try_get("request")?;
                Ok(Line {
                    id: r.try_get("id")?,
                    campaign_id: r.try_get("campaign_id")?,
                    name: r.try_get("name")?,
                    request: serde_json::from_str(&request)
                        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                    booking_id: r.try_get("booking_id")?,
                    booked_impressions: r.try_get::<Option<i64>, _>("booked")?.unwrap_or(0),
                })
            })
            .collect()
    }

    /// Books a line: runs its purchase and, when committed, links the booking to the line.
    pub async fn book_line(
        &self,
        org: OrgId,
        line_id: i64,
        dry_run: bool,
        user: Option<UserId>,
    ) -> Result<PurchaseResult, InventoryError> {
        let row = sqlx::query("SELECT campaign_id, request, booking_id FROM campaign_lines WHERE id = $1 AND org_id = $2")
            .bind(line_id)
            .bind(org.get())
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(InventoryError::NotFound)?;
        if let Some(booking) = row.try_get::<Option<i64>, _>("booking_id")? {
            let (_, state) = self.booking(org, booking).await?;
            if state == "booked" {
                return Err(InventoryError::Conflict(format!(
                    "line {line_id} is already booked as #{booking}; cancel that booking first"
                )));
            }
        }
        let request: String = row.try_get("request")?;
        let request: PurchaseRequest =
            serde_json::from_str(&request).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let result = self.purchase(org, &request, dry_run, user).await?;
        if let Some(booking) = result.booking_id {
            sqlx::query("UPDATE campaign_lines SET booking_id = $1 WHERE id = $2")
                .bind(booking)
                .bind(line_id)
                .execute(self.db.pool())
                .await?;
        }
        Ok(result)
    }

    /// Adds an ad (DRAFT) under a line and refreshes the campaign's status.
    pub async fn add_ad(
        &self,
        org: OrgId,
        line_id: i64,
        name: &str,
        creative_url: Option<&str>,
    ) -> Result<Ad, InventoryError> {
        if name.trim().is_empty() {
            return Err(InventoryError::Invalid {
                field: "name",
                message: "must not be empty".into(),
            });
        }
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let campaign_id: i64 =
            sqlx::query("SELECT campaign_id FROM campaign_lines WHERE id = $1 AND org_id = $2")
                .bind(line_id)
                .bind(org.get())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(InventoryError::NotFound)?
                .try_get("campaign_id")?;
        let row = sqlx::query(
            "INSERT INTO ads (org_id, campaign_id, line_id, name, creative_url, status, updated_at) VALUES ($1, $2, $3, $4, $5, 'DRAFT', $6)
             RETURNING id, line_id, campaign_id, name, creative_url, status",
        )
        .bind(org.get())
        .bind(campaign_id)
        .bind(line_id)
        .bind(name.trim())
        .bind(creative_url.map(str::trim).filter(|u| !u.is_empty()))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let ad = Ad::from_row(&row)?;
        refresh_status(&mut tx, &self.jobs(), campaign_id, now).await?;
        tx.commit().await?;
        Ok(ad)
    }

    /// The campaign's ads.
    pub async fn ads(&self, org: OrgId, campaign_id: i64) -> Result<Vec<Ad>, InventoryError> {
        let rows = sqlx::query("SELECT id, line_id, campaign_id, name, creative_url, status FROM ads WHERE campaign_id = $1 AND org_id = $2 ORDER BY id")
            .bind(campaign_id)
            .bind(org.get())
            .fetch_all(self.db.pool())
            .await?;
        Ok(rows.iter().map(Ad::from_row).collect::<Result<_, _>>()?)
    }

    /// Changes an ad's status and, in the same transaction, its campaign's; returns the ad and
    /// the campaign's new status when it changed.
    pub async fn set_ad_status(
        &self,
        org: OrgId,
        ad_id: i64,
        status: Status,
    ) -> Result<(Ad, Option<Status>), InventoryError> {
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let row = sqlx::query(
            "UPDATE ads SET status = $1, updated_at = $2 WHERE id = $3 AND org_id = $4 RETURNING id, line_id, campaign_id, name, creative_url, status",
        )
        .bind(status.as_str())
        .bind(now)
        .bind(ad_id)
        .bind(org.get())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(InventoryError::NotFound)?;
        let ad = Ad::from_row(&row)?;
        let changed = refresh_status(&mut tx, &self.jobs(), ad.campaign_id, now).await?;
        tx.commit().await?;
        Ok((ad, changed))
    }

    /// Recomputes every campaign's status from its ads (all organizations when `org` is `None`)
    /// with one aggregate query, fixing any that drifted.
    pub async fn repair_campaign_statuses(
        &self,
        org: Option<OrgId>,
    ) -> Result<StatusRepair, InventoryError> {
        let now = self.now();
        let org_filter = org.map_or(0, OrgId::get);
        let mut counts: HashMap<i64, Vec<(Status, i64)>> = HashMap::new();
        let mut ads = 0u64;
        for row in sqlx::query("SELECT campaign_id, status, COUNT(*) AS n FROM ads WHERE ($1 = 0 OR org_id = $1) GROUP BY campaign_id, status")
            .bind(org_filter)
            .fetch_all(self.db.pool())
            .await?
        {
            let status: String = row.try_get("status")?;
            let n: i64 = row.try_get("n")?;
            ads += n.unsigned_abs();
            counts.entry(row.try_get("campaign_id")?).or_default().push((decode_status(&status)?, n));
        }
        let stored: Vec<(i64, String)> =
            sqlx::query("SELECT id, status FROM campaigns WHERE ($1 = 0 OR org_id = $1)")
                .bind(org_filter)
                .fetch_all(self.db.pool())
                .await?
                .iter()
                .map(|r| Ok((r.try_get("id")?, r.try_get("status")?)))
                .collect::<Result<_, sqlx::Error>>()?;
        let mut fixed = 0u64;
        let jobs = self.jobs();
        let mut tx = self.db.begin_write().await?;
        for (id, current) in &stored {
            let derived = derive_from_counts(counts.get(id).map_or(&[][..], Vec::as_slice));
            if derived.as_str() != current
                && change_status(&mut tx, &jobs, *id, derived, now)
                    .await?
                    .is_some()
            {
                fixed += 1;
            }
        }
        tx.commit().await?;
        Ok(StatusRepair {
            campaigns: stored.len() as u64,
            ads,
            fixed,
        })
    }
}
