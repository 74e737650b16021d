//! The sales dashboard: revenue, orders and average order value by day, week, month or year
//! with the change against the previous period; per platform, store, product and category; top
//! products. Sales are net paid (what buyers paid for the lines, after discounts, without
//! shipping) of the lines whose status is a sale ([`OrderStatus::counts_as_sale`]): unpaid,
//! cancelled, returned and unknown lines are not. Days are KST.

use std::collections::BTreeMap;

use adpool_core::{BusinessDate, OrgId};
use adpool_store::Db;
use chrono::Datelike;
use serde::Serialize;
use sqlx::Row;

use crate::{CommerceError, OrderStatus};

/// How the dashboard groups days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// Days.
    Day,
    /// ISO weeks (Monday to Sunday).
    Week,
    /// Calendar months.
    Month,
    /// Calendar years.
    Year,
}

impl Period {
    /// `day`, `week`, `month`, `year`.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Year => "year",
        }
    }

    /// The word back (`None` for anything else).
    pub fn parse(text: &str) -> Option<Period> {
        Some(match text {
            "day" => Period::Day,
            "week" => Period::Week,
            "month" => Period::Month,
            "year" => Period::Year,
            _ => return None,
        })
    }

    /// The first day of the period containing `day`.
    pub fn start_of(self, day: BusinessDate) -> BusinessDate {
        let d = day.naive();
        match self {
            Period::Day => day,
            Period::Week => day.add_days(-i64::from(d.weekday().num_days_from_monday())),
            Period::Month => BusinessDate::from_ymd(d.year(), d.month(), 1).unwrap_or(day),
            Period::Year => BusinessDate::from_ymd(d.year(), 1, 1).unwrap_or(day),
        }
    }

    /// The first day of the next period after the one starting at `start`.
    pub fn next_start(self, start: BusinessDate) -> BusinessDate {
        let d = start.naive();
        match self {
            Period::Day => start.next(),
            Period::Week => start.add_days(7),
            Period::Month => {
                let (y, m) = if d.month() == 12 {
                    (d.year() + 1, 1)
                } else {
                    (d.year(), d.month() + 1)
                };
                BusinessDate::from_ymd(y, m, 1).unwrap_or(start)
            }
            Period::Year => BusinessDate::from_ymd(d.year() + 1, 1, 1).unwrap_or(start),
        }
    }

    /// The label of the period starting at `start`: `2026-11-20`, `2026-W47`, `2026-11`, `2026`.
    pub fn label(self, start: BusinessDate) -> String {
        let d = start.naive();
        match self {
            Period::Day => start.to_string(),
            Period::Week => {
                let week = d.iso_week();
                format!("{}-W{:02}", week.year(), week.week())
            }
            Period::Month => format!("{:04}-{:02}", d.year(), d.month()),
            Period::Year => format!("{:04}", d.year()),
        }
    }
}

/// Revenue and orders of some days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Revenue in won.
    pub revenue: i64,
    /// Orders.
    pub orders: i64,
}

impl Totals {
    /// Average order value in won (rounded down), 0 without orders.
    pub fn average_order_value(self) -> i64 {
        if self.orders == 0 {
            0
        } else {
            self.revenue / self.orders
        }
    }

    fn add(&mut self, other: Totals) {
        self.revenue += other.revenue;
        self.orders += other.orders;
    }
}

/// The change from `previous` to `current` in percent (one decimal), `None` from zero.
pub fn change_percent(current: i64, previous: i64) -> Option<f64> {
    (previous != 0).then(|| ((current - previous) as f64 * 1000.0 / previous as f64).round() / 10.0)
}

/// One period of the series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodRow {
    /// Label (`2026-11`).
    pub label: String,
    /// First day.
    pub start: String,
    /// All platforms.
    pub totals: Totals,
    /// Per platform (`cafe24`, `naver`, `ably`).
    pub by_platform: BTreeMap<String, Totals>,
}

/// A product's sales.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductSales {
    /// Platform.
    pub platform: String,
    /// Store name.
    pub store: String,
    /// Product id.
    pub product_id: String,
    /// Name.
    pub name: String,
    /// Category name (or id when the category is unknown), empty when none.
    pub category: String,
    /// Units sold.
    pub quantity: i64,
    /// Revenue in won.
    pub revenue: i64,
}

/// What the dashboard shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dashboard {
    /// Grouping.
    pub period: Period,
    /// The period containing the anchor day, from its start through the anchor.
    pub current: Totals,
    /// The period before it over the same number of days (month to date against the same days
    /// of the previous month), so an unfinished period is not compared with a whole one.
    pub previous: Totals,
    /// Revenue change in percent.
    pub revenue_change: Option<f64>,
    /// Orders change in percent.
    pub orders_change: Option<f64>,
    /// Average order value change in percent.
    pub aov_change: Option<f64>,
    /// The last `periods` periods up to the anchor, oldest first.
    pub series: Vec<PeriodRow>,
    /// Top products in the current period.
    pub top_products: Vec<ProductSales>,
    /// Revenue per category in the current period (name, totals by revenue).
    pub by_category: Vec<(String, i64)>,
}

/// Sales of `org` (optionally one store) per KST day and platform between two days.
async fn daily(
    db: &Db,
    org: OrgId,
    store: Option<i64>,
    from: BusinessDate,
    to: BusinessDate,
) -> Result<Vec<(BusinessDate, String, Totals)>, CommerceError> {
    let sql = format!(
        "SELECT order_day, platform, COUNT(*) AS orders, CAST(SUM(total) AS BIGINT) AS revenue FROM shop_orders
         WHERE org_id = $1 AND order_day >= $2 AND order_day <= $3
           AND status IN ({}) AND ($4 = 0 OR store_id = $4)
         GROUP BY order_day, platform",
        OrderStatus::sale_words_sql()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(store.unwrap_or(0))
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let day: String = r.try_get("order_day")?;
            Ok((
                day.parse::<BusinessDate>().unwrap_or(from),
                r.try_get::<String, _>("platform")?,
                Totals {
                    orders: r.try_get("orders")?,
                    revenue: r.try_get::<Option<i64>, _>("revenue")?.unwrap_or(0),
                },
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Product sales between two days, best sellers first.
pub async fn product_sales(
    db: &Db,
    org: OrgId,
    store: Option<i64>,
    from: BusinessDate,
    to: BusinessDate,
    limit: i64,
) -> Result<Vec<ProductSales>, CommerceError> {
    let sql = format!(
        "SELECT s.platform, s.name AS store, i.product_id, MAX(i.product_name) AS name,
                COALESCE(MAX(c.name), MAX(p.category_id), '') AS category,
                CAST(SUM(i.quantity) AS BIGINT) AS quantity, CAST(SUM(i.amount) AS BIGINT) AS revenue
         FROM shop_order_items i
         JOIN shop_orders o ON o.store_id = i.store_id AND o.order_id = i.order_id
         JOIN shop_stores s ON s.id = i.store_id
         LEFT JOIN shop_products p ON p.store_id = i.store_id AND p.product_id = i.product_id
         LEFT JOIN shop_categories c ON c.store_id = p.store_id AND c.category_id = p.category_id
         WHERE o.org_id = $1 AND o.order_day >= $2 AND o.order_day <= $3
           AND i.status IN ({}) AND ($4 = 0 OR o.store_id = $4)
         GROUP BY s.platform, s.name, i.store_id, i.product_id
         ORDER BY revenue DESC, i.product_id LIMIT $5",
        OrderStatus::sale_words_sql()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(store.unwrap_or(0))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ProductSales {
                platform: r.try_get("platform")?,
                store: r.try_get("store")?,
                product_id: r.try_get("product_id")?,
                name: r.try_get("name")?,
                category: r.try_get("category")?,
                quantity: r.try_get::<Option<i64>, _>("quantity")?.unwrap_or(0),
                revenue: r.try_get::<Option<i64>, _>("revenue")?.unwrap_or(0),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// The dashboard for the period (of `period`) containing `anchor`, with `periods` periods of
/// history, for the organization or one of its stores.
pub async fn dashboard(
    db: &Db,
    org: OrgId,
    store: Option<i64>,
    period: Period,
    anchor: BusinessDate,
    periods: usize,
) -> Result<Dashboard, CommerceError> {
    let periods = periods.max(2);
    // The starts of the last `periods` periods, oldest first.
    let mut starts = vec![period.start_of(anchor)];
    while starts.len() < periods {
        let first = starts[0];
        starts.insert(0, period.start_of(first.add_days(-1)));
    }
    let current_start = starts[periods - 1];
    let end = period.next_start(current_start).add_days(-1);
    let days = daily(db, org, store, starts[0], end).await?;
    let previous_start = starts[periods - 2];
    let elapsed = (anchor.naive() - current_start.naive()).num_days();
    let previous_end = previous_start
        .add_days(elapsed)
        .min(current_start.add_days(-1));
    let mut current = Totals::default();
    let mut previous = Totals::default();
    for (day, _, totals) in &days {
        if *day >= current_start && *day <= anchor {
            current.add(*totals);
        } else if *day >= previous_start && *day <= previous_end {
            previous.add(*totals);
        }
    }
    let mut series: Vec<PeriodRow> = starts
        .iter()
        .map(|&s| PeriodRow {
            label: period.label(s),
            start: s.to_string(),
            totals: Totals::default(),
            by_platform: BTreeMap::new(),
        })
        .collect();
    for (day, platform, totals) in days {
        let index = starts.partition_point(|&s| s <= day).saturating_sub(1);
        let row = &mut series[index];
        row.totals.add(totals);
        row.by_platform.entry(platform).or_default().add(totals);
    }
    let top_products = product_sales(db, org, store, current_start, anchor, 10).await?;
    let mut categories: BTreeMap<String, i64> = BTreeMap::new();
    for p in product_sales(db, org, store, current_start, anchor, 100_000).await? {
        *categories.entry(p.category).or_default() += p.revenue;
    }
    let mut by_category: Vec<(String, i64)> = categories.into_iter().collect();
    by_category.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(Dashboard {
        period,
        current,
        previous,
        revenue_change: change_percent(current.revenue, previous.revenue),
        orders_change: change_percent(current.orders, previous.orders),
        aov_change: change_percent(
            current.average_order_value(),
            previous.average_order_value(),
        ),
        series,
        top_products,
        by_category,
    })
}

/// The series as CSV: `period,start,orders,revenue,average_order_value` then one column pair
/// per platform.
pub fn series_csv(series: &[PeriodRow]) -> String {
    let mut out = String::from(
        "period,start,orders,revenue,average_order_value,cafe24_revenue,naver_revenue,ably_revenue\n",
    );
    for row in series {
        let platform = |p: &str| row.by_platform.get(p).map_or(0, |t| t.revenue);
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            adpool_core::csv_text(&row.label),
            row.start,
            row.totals.orders,
            row.totals.revenue,
            row.totals.average_order_value(),
            platform("cafe24"),
            platform("naver"),
            platform("ably")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test helpers fail loudly

    use super::*;

    fn day(text: &str) -> BusinessDate {
        text.parse().unwrap()
    }

    #[test]
    fn periods_start_label_and_follow_each_other() {
        let d = day("2026-11-21"); // a Saturday
        assert_eq!(Period::Week.start_of(d), day("2026-11-16"));
        assert_eq!(Period::Week.label(day("2026-11-16")), "2026-W47");
        assert_eq!(Period::Month.start_of(d), day("2026-11-01"));
        assert_eq!(
            Period::Month.next_start(day("2026-12-01")),
            day("2027-01-01")
        );
        assert_eq!(Period::Year.label(Period::Year.start_of(d)), "2026");
        assert_eq!(Period::Day.next_start(d), day("2026-11-22"));
        assert_eq!(change_percent(150, 100), Some(50.0));
        assert_eq!(change_percent(1, 3), Some(-66.7));
        assert_eq!(change_percent(5, 0), None);
    }
}
