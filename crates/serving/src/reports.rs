//! Metrics per campaign, ad and KST day: impressions, clicks, invalid clicks, spend,
//! conversions, revenue, and the ratios computed when read (CTR, CVR, ROAS); the live 5-minute
//! click-through rate from the hot state.

use std::collections::BTreeMap;

use adpool_core::OrgId;
use serde::Serialize;
use sqlx::Row;

use crate::ranking::Counts;
use crate::{Serving, ServingError};

/// Which rows to report.
#[derive(Debug, Clone, Default)]
pub struct MetricsFilter {
    /// One advertiser.
    pub advertiser: Option<i64>,
    /// One campaign.
    pub campaign: Option<i64>,
    /// First day (KST, inclusive).
    pub from: Option<String>,
    /// Last day (inclusive).
    pub to: Option<String>,
}

/// One ad on one day.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AdDayMetrics {
    /// KST day.
    pub date: String,
    /// Campaign.
    pub campaign_id: i64,
    /// Ad.
    pub ad_id: i64,
    /// Impressions.
    pub impressions: i64,
    /// Charged clicks.
    pub clicks: i64,
    /// Clicks that charged nothing.
    pub invalid_clicks: i64,
    /// Spend in won (refunded clicks excluded).
    pub spend: i64,
    /// Conversions (not reversed).
    pub conversions: i64,
    /// Revenue in won.
    pub revenue: i64,
}

/// Sums of [`AdDayMetrics`] with the ratios.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Impressions.
    pub impressions: i64,
    /// Clicks.
    pub clicks: i64,
    /// Invalid clicks.
    pub invalid_clicks: i64,
    /// Spend.
    pub spend: i64,
    /// Conversions.
    pub conversions: i64,
    /// Revenue.
    pub revenue: i64,
    /// clicks / impressions.
    pub ctr: f64,
    /// conversions / clicks.
    pub cvr: f64,
    /// revenue / spend.
    pub roas: f64,
}

fn ratio(a: i64, b: i64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl Totals {
    /// Adds up rows.
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a AdDayMetrics>) -> Totals {
        let mut t = Totals::default();
        for r in rows {
            t.impressions += r.impressions;
            t.clicks += r.clicks;
            t.invalid_clicks += r.invalid_clicks;
            t.spend += r.spend;
            t.conversions += r.conversions;
            t.revenue += r.revenue;
        }
        t.ctr = ratio(t.clicks, t.impressions);
        t.cvr = ratio(t.conversions, t.clicks);
        t.roas = ratio(t.revenue, t.spend);
        t
    }
}

/// The live click-through rate of an ad (current and previous 5-minute windows).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LiveCtr {
    /// Counts in the windows.
    pub counts: Counts,
    /// clicks / impressions.
    pub ctr: f64,
}

impl Serving {
    /// Per ad and day, sorted by date then ad. Impressions still in memory are flushed first.
    pub async fn metrics(
        &self,
        org: OrgId,
        filter: &MetricsFilter,
    ) -> Result<Vec<AdDayMetrics>, ServingError> {
        self.flush_impressions().await?;
        let from = filter.from.clone().unwrap_or_else(|| "0000-00-00".into());
        let to = filter.to.clone().unwrap_or_else(|| "9999-99-99".into());
        let advertiser = filter.advertiser.unwrap_or(0);
        let campaign = filter.campaign.unwrap_or(0);
        let scope = "a.org_id = $1 AND ($2 = 0 OR c.advertiser_id = $2) AND ($3 = 0 OR a.campaign_id = $3) AND x.business_date >= $4 AND x.business_date <= $5";
        let queries = [
            format!(
                "SELECT x.business_date AS d, a.campaign_id, a.id AS ad_id, CAST(SUM(x.impressions) AS BIGINT) AS n, CAST(0 AS BIGINT) AS m FROM cpc_impressions_daily x JOIN cpc_ads a ON a.id = x.ad_id JOIN cpc_campaigns c ON c.id = a.campaign_id WHERE {scope} GROUP BY x.business_date, a.campaign_id, a.id"
            ),
            format!(
                "SELECT x.business_date AS d, a.campaign_id, a.id AS ad_id, COUNT(*) AS n, CAST(COALESCE(SUM(CASE WHEN x.refunded_at IS NULL THEN x.price ELSE 0 END), 0) AS BIGINT) AS m FROM cpc_clicks x JOIN cpc_ads a ON a.id = x.ad_id JOIN cpc_campaigns c ON c.id = a.campaign_id WHERE {scope} GROUP BY x.business_date, a.campaign_id, a.id"
            ),
            format!(
                "SELECT x.business_date AS d, a.campaign_id, a.id AS ad_id, COUNT(*) AS n, CAST(0 AS BIGINT) AS m FROM cpc_invalid_clicks x JOIN cpc_ads a ON a.id = x.ad_id JOIN cpc_campaigns c ON c.id = a.campaign_id WHERE {scope} GROUP BY x.business_date, a.campaign_id, a.id"
            ),
            format!(
                "SELECT x.business_date AS d, a.campaign_id, a.id AS ad_id, COUNT(*) AS n, CAST(COALESCE(SUM(x.revenue_amount), 0) AS BIGINT) AS m FROM cpc_conversions x JOIN cpc_ads a ON a.id = x.ad_id JOIN cpc_campaigns c ON c.id = a.campaign_id WHERE {scope} AND x.reversed_at IS NULL GROUP BY x.business_date, a.campaign_id, a.id"
            ),
        ];
        let mut rows: BTreeMap<(String, i64), AdDayMetrics> = BTreeMap::new();
        for (which, sql) in queries.iter().enumerate() {
            for row in sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(org.get())
                .bind(advertiser)
                .bind(campaign)
                .bind(&from)
                .bind(&to)
                .fetch_all(self.db().pool())
                .await?
            {
                let date: String = row.try_get("d")?;
                let ad_id: i64 = row.try_get("ad_id")?;
                let n: i64 = row.try_get("n")?;
                let m: i64 = row.try_get("m")?;
                let entry = rows
                    .entry((date.clone(), ad_id))
                    .or_insert_with(|| AdDayMetrics {
                        date,
                        ad_id,
                        campaign_id: row.try_get("campaign_id").unwrap_or_default(),
                        ..AdDayMetrics::default()
                    });
                match which {
                    0 => entry.impressions += n,
                    1 => {
                        entry.clicks += n;
                        entry.spend += m;
                    }
                    2 => entry.invalid_clicks += n,
                    _ => {
                        entry.conversions += n;
                        entry.revenue += m;
                    }
                }
            }
        }
        Ok(rows.into_values().collect())
    }

    /// The live click-through rate of an ad.
    pub fn live_ctr(&self, ad: i64) -> LiveCtr {
        let counts = self.inner.hot.recent(ad, self.now());
        LiveCtr {
            counts,
            ctr: ratio(counts.clicks as i64, counts.impressions as i64),
        }
    }
}
