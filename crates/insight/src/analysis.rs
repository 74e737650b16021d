//! An analysis of transactions over a period: spend by category and by month, top merchants,
//! month-over-month change, the uncategorized share, and RFM segments when lines carry customer
//! ids. Pure: the caller loads the lines.

use std::collections::{BTreeMap, HashMap};

use adpool_core::BusinessDate;
use serde::{Deserialize, Serialize};

use crate::categories::UNCATEGORIZED;

/// One transaction as the analysis sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    /// KST day.
    pub day: BusinessDate,
    /// Merchant.
    pub merchant: String,
    /// Whole won; negative for a refund.
    pub amount: i64,
    /// `purchase`, `cancelled` or `refund`.
    pub kind: String,
    /// Installment months (0 lump sum).
    pub installment_months: i64,
    /// Category id.
    pub category: String,
    /// Customer id.
    pub customer: Option<String>,
}

/// Spend in one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Spend {
    /// The group (category id, month `YYYY-MM`, merchant).
    pub key: String,
    /// Whole won (refunds subtracted).
    pub spend: i64,
    /// Purchases counted.
    pub count: i64,
    /// Share of all spend (0..1).
    pub share: f64,
    /// Change against the previous month in percent (months only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_pct: Option<f64>,
    /// The merchant's category (merchants only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// For a month the range covers only in part: how many of its days it covers. Such a month
    /// has no change against its neighbours (a statement cut on the 14th is no 55% drop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covered_days: Option<u32>,
}

/// A category's change between the last two months.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryChange {
    /// Category id.
    pub category: String,
    /// Spend in the previous month.
    pub previous: i64,
    /// Spend in the last month.
    pub last: i64,
    /// Change in percent (`None` when the previous month had none).
    pub change_pct: Option<f64>,
}

/// An RFM segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// `champions`, `loyal`, `new`, `potential`, `at_risk`, `hibernating`, `need_attention`.
    pub key: String,
    /// Customers in it.
    pub customers: i64,
    /// Their spend.
    pub spend: i64,
    /// Average spend per customer.
    pub average_spend: i64,
    /// Average purchases per customer.
    pub average_frequency: f64,
    /// Average days since the last purchase.
    pub average_recency_days: f64,
    /// Their three biggest categories.
    pub top_categories: Vec<String>,
}

/// The segments and what they mean: (key, Korean, English, description in English).
pub const SEGMENTS: &[(&str, &str, &str)] = &[
    ("champions", "최우수 고객", "Champions"),
    ("loyal", "충성 고객", "Loyal customers"),
    ("potential", "성장 가능 고객", "Potential loyalists"),
    ("new", "신규 고객", "New customers"),
    ("need_attention", "관심 필요 고객", "Need attention"),
    ("at_risk", "이탈 위험 고객", "At risk"),
    ("hibernating", "휴면 고객", "Hibernating"),
];

/// A segment's label.
pub fn segment_label(key: &str, korean: bool) -> &str {
    SEGMENTS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map_or(key, |(_, ko, en)| if korean { ko } else { en })
}

/// The report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Spend (purchases minus refunds; cancelled purchases are not spend).
    pub spend: i64,
    /// Purchases.
    pub purchases: i64,
    /// Cancelled purchases (not spend).
    pub cancelled: i64,
    /// Refund lines.
    pub refunds: i64,
    /// Spend paid in installments (2 months or more), share of spend.
    pub installment_share: f64,
    /// Uncategorized spend, share of spend.
    pub uncategorized_share: f64,
    /// Distinct merchants.
    pub merchants: i64,
    /// Distinct customers (0 when lines have no customer ids).
    pub customers: i64,
    /// Average spend per purchase.
    pub average_purchase: i64,
    /// Spend per category, biggest first.
    pub by_category: Vec<Spend>,
    /// Spend per month, oldest first, with the change against the month before.
    pub by_month: Vec<Spend>,
    /// Spend per month and category (`YYYY-MM` -> category -> won).
    pub month_category: BTreeMap<String, BTreeMap<String, i64>>,
    /// The ten merchants with the most spend.
    pub top_merchants: Vec<Spend>,
    /// Category changes between the last two months, biggest rise first.
    pub month_over_month: Vec<CategoryChange>,
    /// Whether either of the last two months is covered only in part (no changes then).
    #[serde(default)]
    pub last_months_partial: bool,
    /// RFM segments, when lines carry customer ids.
    pub segments: Vec<Segment>,
}

fn pct(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn change(previous: i64, now: i64) -> Option<f64> {
    (previous != 0).then(|| (now - previous) as f64 / previous.abs() as f64 * 100.0)
}

/// Scores 1..=5 by quintile of `values` (higher value, higher score; ties share a score).
pub fn quintile_scores(values: &[i64]) -> Vec<u8> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| values[i]);
    let mut scores = vec![0u8; n];
    let mut start = 0;
    while start < n {
        let mut end = start;
        while end + 1 < n && values[order[end + 1]] == values[order[start]] {
            end += 1;
        }
        // A tie takes the score of its first rank.
        let score = (1 + start * 5 / n) as u8;
        for &i in &order[start..=end] {
            scores[i] = score;
        }
        start = end + 1;
    }
    scores
}

/// The segment of R, F, M scores.
pub fn segment_of(r: u8, f: u8, m: u8) -> &'static str {
    match (r, f, m) {
        (4..=5, 4..=5, 4..=5) => "champions",
        (3..=5, 4..=5, _) => "loyal",
        (5, 1, _) => "new",
        (4..=5, _, _) => "potential",
        (1..=2, 3..=5, _) => "at_risk",
        (1..=2, _, _) => "hibernating",
        _ => "need_attention",
    }
}

/// How many days of the month `key` (`YYYY-MM`) the range `from..=to` covers, when it does not
/// cover all of them.
fn partial_month(key: &str, from: BusinessDate, to: BusinessDate) -> Option<u32> {
    use chrono::{Datelike, NaiveDate};
    let first = NaiveDate::parse_from_str(&format!("{key}-01"), "%Y-%m-%d").ok()?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    let last = next.pred_opt()?;
    let start = first.max(from.naive());
    let end = last.min(to.naive());
    let covered = u32::try_from((end - start).num_days() + 1).ok()?;
    (covered < last.day()).then_some(covered)
}

/// Analyses `txns` between `from` and `to` (inclusive; recency is counted from `to`).
pub fn analyze(from: BusinessDate, to: BusinessDate, txns: &[Txn]) -> Report {
    let mut report = Report {
        from: from.to_string(),
        to: to.to_string(),
        ..Report::default()
    };
    let mut categories: HashMap<&str, (i64, i64)> = HashMap::new();
    let mut months: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut merchants: HashMap<&str, (i64, i64, &str)> = HashMap::new();
    let mut installment = 0;
    let mut uncategorized = 0;
    struct Customer<'a> {
        last: BusinessDate,
        count: i64,
        spend: i64,
        categories: HashMap<&'a str, i64>,
    }
    let mut customers: BTreeMap<&str, Customer<'_>> = BTreeMap::new();
    for t in txns.iter().filter(|t| t.day >= from && t.day <= to) {
        if t.kind == "cancelled" {
            report.cancelled += 1;
            continue;
        }
        let purchase = i64::from(t.kind == "purchase");
        report.refunds += 1 - purchase;
        report.purchases += purchase;
        report.spend += t.amount;
        let c = categories.entry(&t.category).or_default();
        c.0 += t.amount;
        c.1 += purchase;
        let month = t.day.month_key();
        *report
            .month_category
            .entry(month.clone())
            .or_default()
            .entry(t.category.clone())
            .or_default() += t.amount;
        let m = months.entry(month).or_default();
        m.0 += t.amount;
        m.1 += purchase;
        let merchant = merchants.entry(&t.merchant).or_insert((0, 0, &t.category));
        merchant.0 += t.amount;
        merchant.1 += purchase;
        if t.installment_months >= 2 {
            installment += t.amount;
        }
        if t.category == UNCATEGORIZED {
            uncategorized += t.amount;
        }
        if let Some(id) = &t.customer {
            let customer = customers.entry(id).or_insert(Customer {
                last: t.day,
                count: 0,
                spend: 0,
                categories: HashMap::new(),
            });
            customer.last = customer.last.max(t.day);
            customer.count += purchase;
            customer.spend += t.amount;
            *customer.categories.entry(&t.category).or_default() += t.amount;
        }
    }
    let total = report.spend;
    report.installment_share = pct(installment, total);
    report.uncategorized_share = pct(uncategorized, total);
    report.merchants = merchants.len() as i64;
    report.customers = customers.len() as i64;
    report.average_purchase = if report.purchases == 0 {
        0
    } else {
        total / report.purchases
    };
    report.by_category = categories
        .into_iter()
        .map(|(key, (spend, count))| Spend {
            key: key.to_owned(),
            spend,
            count,
            share: pct(spend, total),
            ..Spend::default()
        })
        .collect();
    report
        .by_category
        .sort_by(|a, b| b.spend.cmp(&a.spend).then(a.key.cmp(&b.key)));
    // The previous month's spend, when that month was whole.
    let mut previous: Option<i64> = None;
    for (key, (spend, count)) in months {
        let covered_days = partial_month(&key, from, to);
        report.by_month.push(Spend {
            change_pct: previous
                .filter(|_| covered_days.is_none())
                .and_then(|p| change(p, spend)),
            key,
            spend,
            count,
            share: pct(spend, total),
            category: None,
            covered_days,
        });
        previous = Some(spend).filter(|_| covered_days.is_none());
    }
    let mut top: Vec<Spend> = merchants
        .into_iter()
        .map(|(key, (spend, count, category))| Spend {
            key: key.to_owned(),
            spend,
            count,
            share: pct(spend, total),
            change_pct: None,
            category: Some(category.to_owned()),
            covered_days: None,
        })
        .collect();
    top.sort_by(|a, b| b.spend.cmp(&a.spend).then(a.key.cmp(&b.key)));
    top.truncate(10);
    report.top_merchants = top;
    let last_two: Vec<&String> = report.month_category.keys().rev().take(2).collect();
    if let [last, before] = last_two[..] {
        // Either month taken in part: the amounts stand, a change would mislead.
        let whole =
            partial_month(last, from, to).is_none() && partial_month(before, from, to).is_none();
        report.last_months_partial = !whole;
        let (last, before) = (&report.month_category[last], &report.month_category[before]);
        let mut keys: Vec<&String> = last.keys().chain(before.keys()).collect();
        keys.sort();
        keys.dedup();
        report.month_over_month = keys
            .into_iter()
            .map(|k| {
                let (p, l) = (
                    before.get(k).copied().unwrap_or(0),
                    last.get(k).copied().unwrap_or(0),
                );
                CategoryChange {
                    category: k.clone(),
                    previous: p,
                    last: l,
                    change_pct: change(p, l).filter(|_| whole),
                }
            })
            .collect();
        report
            .month_over_month
            .sort_by_key(|c| std::cmp::Reverse(c.last - c.previous));
    }
    if !customers.is_empty() {
        let list: Vec<(&str, Customer<'_>)> = customers.into_iter().collect();
        let recency: Vec<i64> = list
            .iter()
            .map(|(_, c)| -(to.naive() - c.last.naive()).num_days())
            .collect();
        let r = quintile_scores(&recency);
        let f = quintile_scores(&list.iter().map(|(_, c)| c.count).collect::<Vec<_>>());
        let m = quintile_scores(&list.iter().map(|(_, c)| c.spend).collect::<Vec<_>>());
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for i in 0..list.len() {
            groups
                .entry(segment_of(r[i], f[i], m[i]))
                .or_default()
                .push(i);
        }
        for (key, _, _) in SEGMENTS {
            let Some(members) = groups.get(key) else {
                continue;
            };
            let n = members.len() as i64;
            let spend: i64 = members.iter().map(|&i| list[i].1.spend).sum();
            let mut cats: HashMap<&str, i64> = HashMap::new();
            for &i in members {
                for (c, s) in &list[i].1.categories {
                    *cats.entry(c).or_default() += s;
                }
            }
            let mut cats: Vec<(&str, i64)> = cats.into_iter().collect();
            cats.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            report.segments.push(Segment {
                key: (*key).to_owned(),
                customers: n,
                spend,
                average_spend: spend / n,
                average_frequency: members.iter().map(|&i| list[i].1.count).sum::<i64>() as f64
                    / n as f64,
                average_recency_days: members.iter().map(|&i| -recency[i]).sum::<i64>() as f64
                    / n as f64,
                top_categories: cats
                    .into_iter()
                    .take(3)
                    .map(|(c, _)| c.to_owned())
                    .collect(),
            });
        }
    }
    report
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test helpers fail loudly

    use super::*;
    use proptest::prelude::*;

    fn txn(
        day: &str,
        merchant: &str,
        amount: i64,
        kind: &str,
        category: &str,
        customer: Option<&str>,
    ) -> Txn {
        Txn {
            day: day.parse().unwrap(),
            merchant: merchant.into(),
            amount,
            kind: kind.into(),
            installment_months: 0,
            category: category.into(),
            customer: customer.map(Into::into),
        }
    }

    #[test]
    fn spend_counts_purchases_minus_refunds_and_never_cancelled_lines() {
        let txns = [
            txn("2026-09-03", "스타벅스", 5000, "purchase", "cafe", None),
            txn("2026-10-03", "스타벅스", 6000, "purchase", "cafe", None),
            txn(
                "2026-10-04",
                "쿠팡",
                20000,
                "purchase",
                "online_shopping",
                None,
            ),
            txn(
                "2026-10-05",
                "쿠팡",
                20000,
                "cancelled",
                "online_shopping",
                None,
            ),
            txn(
                "2026-10-06",
                "쿠팡",
                -4000,
                "refund",
                "online_shopping",
                None,
            ),
            txn(
                "2026-10-07",
                "무명",
                1000,
                "purchase",
                "uncategorized",
                None,
            ),
        ];
        let from = "2026-09-01".parse().unwrap();
        let r = analyze(from, "2026-10-31".parse().unwrap(), &txns);
        assert_eq!(
            (r.spend, r.purchases, r.cancelled, r.refunds),
            (28000, 4, 1, 1)
        );
        assert_eq!(r.by_category[0].key, "online_shopping");
        assert_eq!(r.by_category[0].spend, 16000);
        assert_eq!(r.by_month[1].key, "2026-10");
        assert_eq!(r.by_month[1].spend, 23000);
        assert_eq!(r.by_month[1].change_pct, Some(360.0));
        assert!((r.uncategorized_share - 1000.0 / 28000.0).abs() < 1e-9);
        assert_eq!(r.top_merchants[0].key, "쿠팡");
        assert_eq!(r.month_over_month[0].category, "online_shopping");
        assert!(r.segments.is_empty());
        assert!(!r.last_months_partial);
        assert_eq!(r.by_month[1].covered_days, None);

        // A statement cut on the 7th: October is 7 of 31 days, not a drop against September.
        let r = analyze(from, "2026-10-07".parse().unwrap(), &txns);
        assert_eq!(r.by_month[1].covered_days, Some(7));
        assert_eq!(r.by_month[1].change_pct, None);
        assert!(r.last_months_partial);
        assert!(r.month_over_month.iter().all(|c| c.change_pct.is_none()));
        // Nor is the month after a partial one compared with it.
        let r = analyze(
            "2026-09-03".parse().unwrap(),
            "2026-10-31".parse().unwrap(),
            &txns,
        );
        assert_eq!(
            (r.by_month[0].covered_days, r.by_month[1].change_pct),
            (Some(28), None)
        );
    }

    #[test]
    fn rfm_segments_need_customer_ids() {
        let mut txns = Vec::new();
        for (i, customer) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            for k in 0..=i {
                txns.push(txn(
                    &format!("2026-10-{:02}", 1 + i * 6 + k),
                    "가게",
                    1000 * (i as i64 + 1),
                    "purchase",
                    "dining",
                    Some(customer),
                ));
            }
        }
        let r = analyze(
            "2026-10-01".parse().unwrap(),
            "2026-10-31".parse().unwrap(),
            &txns,
        );
        assert_eq!(r.customers, 5);
        let total: i64 = r.segments.iter().map(|s| s.customers).sum();
        assert_eq!(total, 5);
        assert_eq!(r.segments[0].key, "champions");
        assert!(r.segments.iter().any(|s| s.key == "hibernating"));
    }

    proptest! {
        #[test]
        fn quintile_scores_are_monotone_and_within_one_to_five(values in proptest::collection::vec(-1000i64..1000, 1..200)) {
            let scores = quintile_scores(&values);
            for i in 0..values.len() {
                prop_assert!((1..=5).contains(&scores[i]));
                for j in 0..values.len() {
                    if values[i] < values[j] { prop_assert!(scores[i] <= scores[j]); }
                    if values[i] == values[j] { prop_assert_eq!(scores[i], scores[j]); }
                }
            }
        }
    }
}
