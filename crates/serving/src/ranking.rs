//! Ranking: per organization x placement x category an immutable, pre-sorted list of ads with
//! their generalized-second-price per slot. Pure code: built from [`Candidate`]s, read by the ad
//! query without locks or database access.
//!
//! - pCTR = (alpha + clicks + w * recent_clicks) / (alpha + beta + impressions + w * recent_impressions):
//!   a Beta(alpha, beta) prior, the history of the last days, and the recent 5-minute windows
//!   weighted `w` times (see [`CtrPrior`]).
//! - score = bid x pCTR; ties go to the higher bid, then the older ad (smaller id).
//! - price of slot i = the lowest whole won that keeps the slot: ceil(score(i+1) / pCTR(i)),
//!   at least the reserve price, at most the bid; the last ad pays the reserve.
//! - an ad whose price is more than its advertiser's balance or its campaign's budget left
//!   today cannot pay: it leaves the ranking and the prices are computed again.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The category key of a placement's ranking over every category.
pub const ALL_CATEGORIES: &str = "*";

/// The Beta prior and the weight of the recent windows in pCTR.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CtrPrior {
    /// Prior clicks.
    pub alpha: f64,
    /// Prior non-clicks.
    pub beta: f64,
    /// How much one recent impression or click counts against one from the history.
    pub recent_weight: f64,
}

impl Default for CtrPrior {
    /// A 2% prior worth 100 impressions; recent windows count 5 times.
    fn default() -> Self {
        CtrPrior {
            alpha: 2.0,
            beta: 98.0,
            recent_weight: 5.0,
        }
    }
}

impl CtrPrior {
    /// Smoothed click-through rate from history and the recent windows.
    pub fn pctr(&self, history: Counts, recent: Counts) -> f64 {
        let w = self.recent_weight;
        let clicks = history.clicks.min(history.impressions) as f64
            + w * recent.clicks.min(recent.impressions) as f64;
        let impressions = history.impressions as f64 + w * recent.impressions as f64;
        (self.alpha + clicks) / (self.alpha + self.beta + impressions)
    }
}

/// Impressions and clicks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Impressions.
    pub impressions: u64,
    /// Clicks.
    pub clicks: u64,
}

/// What the query returns for one ad, shared by every ranking it is in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "CreativeFields")]
pub struct Creative {
    /// The ad.
    pub ad_id: i64,
    /// Its campaign.
    pub campaign_id: i64,
    /// Its advertiser.
    pub advertiser_id: i64,
    /// The shop's product id.
    pub product_id: String,
    /// Title.
    pub title: String,
    /// Image URL.
    pub image_url: String,
    /// Where a click goes.
    pub landing_url: String,
    /// Product category.
    pub category: String,
    /// `"product_id":..,"title":..,"image_url":..,"landing_url":..` escaped once, so the ad
    /// query writes its answer without escaping these again.
    #[serde(skip)]
    pub json_fields: String,
}

impl Creative {
    /// A creative with its JSON fields written once.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ad_id: i64,
        campaign_id: i64,
        advertiser_id: i64,
        product_id: String,
        title: String,
        image_url: String,
        landing_url: String,
        category: String,
    ) -> Creative {
        let text = |v: &str| serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into());
        let json_fields = format!(
            "\"product_id\":{},\"title\":{},\"image_url\":{},\"landing_url\":{}",
            text(&product_id),
            text(&title),
            text(&image_url),
            text(&landing_url)
        );
        Creative {
            ad_id,
            campaign_id,
            advertiser_id,
            product_id,
            title,
            image_url,
            landing_url,
            category,
            json_fields,
        }
    }
}

/// A creative as stored in a shared store (its escaped JSON is written again on reading).
#[derive(Deserialize)]
struct CreativeFields {
    ad_id: i64,
    campaign_id: i64,
    advertiser_id: i64,
    product_id: String,
    title: String,
    image_url: String,
    landing_url: String,
    category: String,
}

impl From<CreativeFields> for Creative {
    fn from(f: CreativeFields) -> Creative {
        Creative::new(
            f.ad_id,
            f.campaign_id,
            f.advertiser_id,
            f.product_id,
            f.title,
            f.image_url,
            f.landing_url,
            f.category,
        )
    }
}

/// An ad that may enter the rankings.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Its organization.
    pub org_id: i64,
    /// What the query shows.
    pub creative: Arc<Creative>,
    /// Placements its campaign targets.
    pub placements: Vec<String>,
    /// CPC bid in won.
    pub bid: i64,
    /// Smoothed click-through rate.
    pub pctr: f64,
    /// The advertiser's balance in won.
    pub balance: i64,
    /// What the campaign may still spend today in won.
    pub budget_left: i64,
}

/// One slot of a ranking.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ranked {
    /// The ad.
    pub creative: Arc<Creative>,
    /// Its bid.
    pub bid: i64,
    /// Its pCTR.
    pub pctr: f64,
    /// bid x pCTR.
    pub score: f64,
    /// What a click in this slot costs (generalized second price).
    pub price: i64,
}

/// A placement x category ranking, best first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ranking {
    /// The slots.
    pub slots: Vec<Ranked>,
}

/// Every ranking of every organization, with the placements' numeric ids for the event log.
#[derive(Debug, Default)]
pub struct Rankings {
    by_org: HashMap<i64, OrgRankings>,
    /// When it was built (UTC ms).
    pub built_at: i64,
}

#[derive(Debug, Default)]
struct OrgRankings {
    by_placement: HashMap<String, PlacementRankings>,
}

#[derive(Debug, Default)]
struct PlacementRankings {
    id: i64,
    by_category: HashMap<String, Arc<Ranking>>,
}

impl Rankings {
    /// The ranking for a placement and category (`*` or empty: every category).
    pub fn get(&self, org: i64, placement: &str, category: &str) -> Option<&Arc<Ranking>> {
        let category = if category.is_empty() {
            ALL_CATEGORIES
        } else {
            category
        };
        self.by_org
            .get(&org)?
            .by_placement
            .get(placement)?
            .by_category
            .get(category)
    }

    /// The placement's numeric id (the `aid` of the event log), when it is known.
    pub fn placement_id(&self, org: i64, placement: &str) -> Option<i64> {
        Some(self.by_org.get(&org)?.by_placement.get(placement)?.id)
    }

    /// How many rankings there are.
    pub fn len(&self) -> usize {
        self.by_org
            .values()
            .flat_map(|o| o.by_placement.values())
            .map(|p| p.by_category.len())
            .sum()
    }

    /// No rankings at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every ranking with where it belongs, for a shared store; a placement without rankings
    /// is one entry with no category.
    pub fn entries(&self) -> Vec<PublishedRanking> {
        let mut entries = Vec::new();
        for (org, placements) in &self.by_org {
            for (code, placement) in &placements.by_placement {
                let mut any = false;
                for (category, ranking) in &placement.by_category {
                    any = true;
                    entries.push(PublishedRanking {
                        org: *org,
                        placement: code.clone(),
                        placement_id: placement.id,
                        category: Some(category.clone()),
                        ranking: Some(ranking.clone()),
                    });
                }
                if !any {
                    entries.push(PublishedRanking {
                        org: *org,
                        placement: code.clone(),
                        placement_id: placement.id,
                        category: None,
                        ranking: None,
                    });
                }
            }
        }
        entries
    }

    /// The rankings again from [`Rankings::entries`].
    pub fn from_entries(entries: Vec<PublishedRanking>, built_at: i64) -> Rankings {
        let mut rankings = Rankings {
            by_org: HashMap::new(),
            built_at,
        };
        for entry in entries {
            let placement = rankings
                .by_org
                .entry(entry.org)
                .or_default()
                .by_placement
                .entry(entry.placement)
                .or_default();
            placement.id = entry.placement_id;
            if let (Some(category), Some(ranking)) = (entry.category, entry.ranking) {
                placement.by_category.insert(category, ranking);
            }
        }
        rankings
    }

    /// Every ad id ranked anywhere with its best price: what a click may cost at most now.
    pub fn ranked_ads(&self) -> HashMap<i64, i64> {
        let mut prices = HashMap::new();
        for org in self.by_org.values() {
            for placement in org.by_placement.values() {
                for ranking in placement.by_category.values() {
                    for slot in &ranking.slots {
                        let price = prices.entry(slot.creative.ad_id).or_insert(0);
                        *price = (*price).max(slot.price);
                    }
                }
            }
        }
        prices
    }
}

/// One ranking of [`Rankings::entries`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishedRanking {
    /// The organization.
    pub org: i64,
    /// The placement code.
    pub placement: String,
    /// The placement's numeric id.
    pub placement_id: i64,
    /// The category (`*`: every category); none for a placement without rankings.
    pub category: Option<String>,
    /// The ranking.
    pub ranking: Option<Arc<Ranking>>,
}

/// Builds every ranking from the candidates. `placements` maps each organization's placement
/// codes to their ids; a placement without candidates still answers (with no ads).
pub fn build_rankings(
    placements: &[(i64, i64, String)],
    candidates: &[Candidate],
    reserve: i64,
    built_at: i64,
) -> Rankings {
    let mut grouped: HashMap<(i64, &str, &str), Vec<&Candidate>> = HashMap::new();
    for candidate in candidates {
        for placement in &candidate.placements {
            grouped
                .entry((candidate.org_id, placement, &candidate.creative.category))
                .or_default()
                .push(candidate);
            grouped
                .entry((candidate.org_id, placement, ALL_CATEGORIES))
                .or_default()
                .push(candidate);
        }
    }
    let mut rankings = Rankings {
        by_org: HashMap::new(),
        built_at,
    };
    for (org, id, code) in placements {
        rankings
            .by_org
            .entry(*org)
            .or_default()
            .by_placement
            .entry(code.clone())
            .or_default()
            .id = *id;
    }
    for ((org, placement, category), group) in grouped {
        let Some(entry) = rankings
            .by_org
            .get_mut(&org)
            .and_then(|o| o.by_placement.get_mut(placement))
        else {
            continue; // a campaign naming a placement that no longer exists
        };
        entry
            .by_category
            .insert(category.to_owned(), Arc::new(rank(group, reserve)));
    }
    rankings
}

/// Sorts the candidates by score, prices every slot, and drops the ads that cannot pay their
/// price until every remaining one can.
pub fn rank(mut candidates: Vec<&Candidate>, reserve: i64) -> Ranking {
    candidates.retain(|c| c.bid >= reserve && c.pctr > 0.0 && c.pctr.is_finite());
    candidates.sort_by(|a, b| {
        let (sa, sb) = (a.bid as f64 * a.pctr, b.bid as f64 * b.pctr);
        sb.total_cmp(&sa)
            .then(b.bid.cmp(&a.bid))
            .then(a.creative.ad_id.cmp(&b.creative.ad_id))
    });
    loop {
        let slots = price_slots(&candidates, reserve);
        let before = candidates.len();
        let affordable: Vec<bool> = candidates
            .iter()
            .zip(&slots)
            .map(|(c, s)| s.price <= c.balance.min(c.budget_left))
            .collect();
        let mut keep = affordable.iter();
        candidates.retain(|_| *keep.next().unwrap_or(&false));
        if candidates.len() == before {
            return Ranking { slots };
        }
    }
}

fn price_slots(sorted: &[&Candidate], reserve: i64) -> Vec<Ranked> {
    sorted
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let score = c.bid as f64 * c.pctr;
            let price = match sorted.get(i + 1) {
                Some(next) => {
                    let next_score = next.bid as f64 * next.pctr;
                    // The smallest whole won p with p * pctr >= next score (a hair of slack
                    // for floating point, so equal scores price at the bid, not above it).
                    let exact = next_score / c.pctr;
                    (exact - 1e-9).ceil().max(0.0) as i64
                }
                None => reserve,
            };
            Ranked {
                creative: c.creative.clone(),
                bid: c.bid,
                pctr: c.pctr,
                score,
                price: price.clamp(reserve, c.bid.max(reserve)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn candidate(ad: i64, bid: i64, pctr: f64) -> Candidate {
        Candidate {
            org_id: 1,
            creative: Arc::new(Creative::new(
                ad,
                ad,
                ad,
                format!("p{ad}"),
                format!("ad {ad}"),
                String::new(),
                String::new(),
                "c".into(),
            )),
            placements: vec!["home".into()],
            bid,
            pctr,
            balance: 1_000_000,
            budget_left: 1_000_000,
        }
    }

    #[test]
    fn second_price_is_the_lowest_cpc_that_keeps_the_slot() {
        let a = candidate(1, 500, 0.02); // score 10
        let b = candidate(2, 300, 0.03); // score 9
        let c = candidate(3, 100, 0.05); // score 5
        let ranking = rank(vec![&c, &a, &b], 70);
        let ids: Vec<i64> = ranking.slots.iter().map(|s| s.creative.ad_id).collect();
        assert_eq!(ids, vec![1, 2, 3]);
        // a keeps slot 1 at 9 / 0.02 = 450; b keeps slot 2 at 5 / 0.03 = 166.67 -> 167.
        let prices: Vec<i64> = ranking.slots.iter().map(|s| s.price).collect();
        assert_eq!(prices, vec![450, 167, 70]);
    }

    #[test]
    fn price_never_below_reserve_nor_above_bid_and_low_bids_are_out() {
        let a = candidate(1, 90, 0.10);
        let b = candidate(2, 80, 0.01);
        let low = candidate(3, 69, 0.5);
        let ranking = rank(vec![&a, &b, &low], 70);
        assert_eq!(ranking.slots.len(), 2);
        assert_eq!(
            ranking.slots[0].price, 70,
            "8 / 0.1 = 8 won is below the reserve"
        );
        let tied = candidate(4, 90, 0.10);
        let ranking = rank(vec![&a, &tied], 70);
        assert_eq!(
            ranking.slots[0].creative.ad_id, 1,
            "the older ad wins a tie"
        );
        assert_eq!(
            ranking.slots[0].price, 90,
            "an equal score costs the bid, not more"
        );
    }

    #[test]
    fn an_ad_that_cannot_pay_its_price_leaves_and_prices_are_recomputed() {
        let mut a = candidate(1, 500, 0.02);
        a.balance = 200; // its price would be 450
        let b = candidate(2, 300, 0.03);
        let c = candidate(3, 100, 0.05);
        let ranking = rank(vec![&a, &b, &c], 70);
        let ids: Vec<i64> = ranking.slots.iter().map(|s| s.creative.ad_id).collect();
        assert_eq!(ids, vec![2, 3]);
        assert_eq!(ranking.slots[0].price, 167);
        let mut poor = candidate(4, 100, 0.05);
        poor.budget_left = 69;
        assert!(rank(vec![&poor], 70).slots.is_empty());
    }

    #[test]
    fn rankings_answer_per_category_and_for_every_category() {
        let mut shoes = candidate(1, 200, 0.02);
        Arc::make_mut(&mut shoes.creative).category = "shoes".into();
        let bags = candidate(2, 300, 0.02);
        let placements = vec![(1, 10, "home".to_owned()), (1, 11, "empty".to_owned())];
        let rankings = build_rankings(&placements, &[shoes, bags], 70, 0);
        assert_eq!(
            rankings.get(1, "home", "shoes").map(|r| r.slots.len()),
            Some(1)
        );
        assert_eq!(rankings.get(1, "home", "").map(|r| r.slots.len()), Some(2));
        assert!(rankings.get(1, "empty", "").is_none());
        assert_eq!(rankings.placement_id(1, "empty"), Some(11));
        assert!(
            rankings.get(2, "home", "").is_none(),
            "other organizations see nothing"
        );
    }

    #[test]
    fn pctr_starts_at_the_prior_and_recent_windows_weigh_more() {
        let prior = CtrPrior::default();
        assert!((prior.pctr(Counts::default(), Counts::default()) - 0.02).abs() < 1e-12);
        let history = Counts {
            impressions: 1000,
            clicks: 10,
        };
        let without = prior.pctr(history, Counts::default());
        let hot = prior.pctr(
            history,
            Counts {
                impressions: 100,
                clicks: 10,
            },
        );
        assert!(hot > without * 2.0, "{hot} vs {without}");
        let impossible = Counts {
            impressions: 1,
            clicks: 5,
        };
        assert!(prior.pctr(impossible, Counts::default()) < 1.0);
    }

    proptest! {
        #[test]
        fn every_price_is_between_reserve_and_bid_and_keeps_its_slot(
            ads in proptest::collection::vec((70i64..5_000, 1u32..1_000, 0i64..10_000), 1..30)
        ) {
            let candidates: Vec<Candidate> = ads
                .iter()
                .enumerate()
                .map(|(i, (bid, ctr, balance))| {
                    let mut c = candidate(i as i64 + 1, *bid, f64::from(*ctr) / 10_000.0);
                    c.balance = *balance;
                    c
                })
                .collect();
            let ranking = rank(candidates.iter().collect(), 70);
            for (i, slot) in ranking.slots.iter().enumerate() {
                prop_assert!(slot.price >= 70 && slot.price <= slot.bid);
                let original = &candidates[(slot.creative.ad_id - 1) as usize];
                prop_assert!(slot.price <= original.balance, "an ad in the ranking can pay");
                if let Some(next) = ranking.slots.get(i + 1) {
                    prop_assert!(slot.score >= next.score);
                    // Paying one won less would rank it below the next ad (unless the floor
                    // of the reserve is what sets the price).
                    if slot.price > 70 {
                        prop_assert!(((slot.price - 1) as f64) * slot.pctr < next.score + 1e-6);
                    }
                }
            }
        }
    }
}
