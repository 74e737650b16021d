//! Delivery reports from external ad servers and pacing: delivered against booked, per line.

use std::collections::BTreeMap;

use adpool_core::BusinessDate;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{Inventory, InventoryError, OrgId};

/// One line's delivery on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryReport {
    /// The campaign line.
    pub line_id: i64,
    /// KST date.
    #[schema(format = Date)]
    pub date: String,
    /// Impressions served.
    #[schema(minimum = 0)]
    pub impressions: i64,
    /// Clicks (at most the impressions).
    #[schema(minimum = 0)]
    pub clicks: i64,
    /// Completed views (at most the impressions).
    #[schema(minimum = 0)]
    pub views: i64,
}

/// How a line is pacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PacingVerdict {
    /// Its first day has not ended yet (or nothing is booked).
    NotStarted,
    /// Under 90% of what was booked up to yesterday.
    Behind,
    /// Within 90% to 110%.
    OnTrack,
    /// Over 110%.
    Ahead,
}

/// One day of a line's pacing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PacingDay {
    /// KST date.
    pub date: String,
    /// Impressions booked that day.
    pub booked: i64,
    /// Impressions reported that day.
    pub delivered: i64,
    /// Clicks reported.
    pub clicks: i64,
    /// Views reported.
    pub views: i64,
}

/// A line's delivery against its booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pacing {
    /// The line.
    pub line_id: i64,
    /// Per day of the booking.
    pub days: Vec<PacingDay>,
    /// Booked up to and including yesterday (KST).
    pub expected_to_date: i64,
    /// Delivered up to and including yesterday.
    pub delivered_to_date: i64,
    /// Delivered / expected, in percent (0 when nothing is expected yet).
    pub percent: i64,
    /// The verdict.
    pub verdict: PacingVerdict,
}

impl Inventory {
    /// Records delivery reports, all or nothing; a report for a line and day already reported
    /// replaces it (retries never double count). Returns how many were recorded.
    pub async fn record_delivery(
        &self,
        org: OrgId,
        reports: &[DeliveryReport],
    ) -> Result<usize, InventoryError> {
        let mut problems = Vec::new();
        let mut tx = self.db.begin_write().await?;
        let mut periods: BTreeMap<i64, Option<(String, String)>> = BTreeMap::new();
        let mut line_ids: Vec<i64> = reports.iter().map(|r| r.line_id).collect();
        line_ids.sort_unstable();
        line_ids.dedup();
        for line_id in line_ids {
            let row =
                sqlx::query("SELECT request FROM campaign_lines WHERE id = $1 AND org_id = $2")
                    .bind(line_id)
                    .bind(org.get())
                    .fetch_optional(&mut *tx)
                    .await?;
            let period = row
                .map(|r| r.try_get::<String, _>("request"))
                .transpose()?
                .and_then(|text| serde_json::from_str::<crate::PurchaseRequest>(&text).ok())
                .map(|r| (r.start, r.end));
            periods.insert(line_id, period);
        }
        for (i, report) in reports.iter().enumerate() {
            match periods.get(&report.line_id).cloned().flatten() {
                None => problems.push(format!(
                    "reports[{i}].line_id: {} is not a campaign line",
                    report.line_id
                )),
                Some((start, end)) => match report.date.parse::<BusinessDate>() {
                    Err(_) => problems.push(format!(
                        "reports[{i}].date: '{}' is not a date (YYYY-MM-DD)",
                        report.date
                    )),
                    Ok(_) if report.date < start || report.date > end => {
                        problems.push(format!(
                            "reports[{i}].date: {} is outside the line's {start}..{end}",
                            report.date
                        ));
                    }
                    Ok(_) => {}
                },
            }
            for (name, value) in [
                ("impressions", report.impressions),
                ("clicks", report.clicks),
                ("views", report.views),
            ] {
                if value < 0 {
                    problems.push(format!("reports[{i}].{name}: {value} is negative"));
                }
            }
            if report.clicks > report.impressions || report.views > report.impressions {
                problems.push(format!(
                    "reports[{i}]: clicks and views cannot exceed impressions ({})",
                    report.impressions
                ));
            }
        }
        if !problems.is_empty() {
            return Err(InventoryError::Refused { problems });
        }
        let now = self.now();
        for report in reports {
            sqlx::query(
                "INSERT INTO delivery_reports (org_id, line_id, date, impressions, clicks, views, reported_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (line_id, date) DO UPDATE SET impressions = excluded.impressions, clicks = excluded.clicks,
                   views = excluded.views, reported_at = excluded.reported_at",
            )
            .bind(org.get())
            .bind(report.line_id)
            .bind(&report.date)
            .bind(report.impressions)
            .bind(report.clicks)
            .bind(report.views)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(reports.len())
    }

    /// A line's pacing: booked per day (from its booking) against reported delivery, judged on
    /// the days that have ended (up to yesterday, KST).
    pub async fn pacing(&self, org: OrgId, line_id: i64) -> Result<Pacing, InventoryError> {
        let row = sqlx::query(
            "SELECT b.result FROM campaign_lines l LEFT JOIN bookings b ON b.id = l.booking_id AND b.state = 'booked'
             WHERE l.id = $1 AND l.org_id = $2",
        )
        .bind(line_id)
        .bind(org.get())
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(InventoryError::NotFound)?;
        let mut booked: BTreeMap<String, i64> = BTreeMap::new();
        if let Some(text) = row.try_get::<Option<String>, _>("result")? {
            let result: crate::PurchaseResult =
                serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            for co in result
                .platforms
                .iter()
                .flat_map(|p| &p.groups)
                .flat_map(|g| &g.content_owners)
            {
                for day in &co.days {
                    *booked.entry(day.date.clone()).or_default() += day.impressions;
                }
            }
        }
        let mut delivered: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
        for r in sqlx::query("SELECT date, impressions, clicks, views FROM delivery_reports WHERE line_id = $1 AND org_id = $2")
            .bind(line_id)
            .bind(org.get())
            .fetch_all(self.db.pool())
            .await?
        {
            delivered.insert(r.try_get("date")?, (r.try_get("impressions")?, r.try_get("clicks")?, r.try_get("views")?));
        }
        let today = self.clock.today().to_string();
        let mut dates: Vec<&String> = booked.keys().chain(delivered.keys()).collect();
        dates.sort();
        dates.dedup();
        let days: Vec<PacingDay> = dates
            .iter()
            .map(|date| {
                let (impressions, clicks, views) =
                    delivered.get(*date).copied().unwrap_or_default();
                PacingDay {
                    date: (*date).clone(),
                    booked: booked.get(*date).copied().unwrap_or(0),
                    delivered: impressions,
                    clicks,
                    views,
                }
            })
            .collect();
        let ended: Vec<&PacingDay> = days.iter().filter(|d| d.date < today).collect();
        let expected_to_date: i64 = ended.iter().map(|d| d.booked).sum();
        let delivered_to_date: i64 = ended.iter().map(|d| d.delivered).sum();
        let percent = if expected_to_date > 0 {
            delivered_to_date * 100 / expected_to_date
        } else {
            0
        };
        let verdict = match (expected_to_date, percent) {
            (0, _) => PacingVerdict::NotStarted,
            (_, p) if p < 90 => PacingVerdict::Behind,
            (_, p) if p > 110 => PacingVerdict::Ahead,
            _ => PacingVerdict::OnTrack,
        };
        Ok(Pacing {
            line_id,
            days,
            expected_to_date,
            delivered_to_date,
            percent,
            verdict,
        })
    }
}
