//! The ad query: the first `n` slots of the published ranking, each with a signed click URL.
//! Memory only: no database access, no lock held while building the answer except the short
//! counters.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use adpool_core::BusinessDate;
use serde::{Deserialize, Serialize};

use crate::click_token::{ClickClaims, sign};
use crate::event_log::{LogAd, LogEvent};
use crate::{Serving, Site};

/// Most ads one query may ask for.
pub const MAX_ADS_PER_QUERY: usize = 20;

/// What a front end asks for.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AdQuery {
    /// Placement code.
    pub placement: String,
    /// Product category (empty: any).
    #[serde(default)]
    pub category: String,
    /// How many ads (1 to 20; 0 means 4).
    #[serde(default)]
    pub n: usize,
    /// The shop's user key (for duplicate clicks and attribution).
    #[serde(default)]
    pub user: String,
    /// Raw device (`pc`, `mobile`, ...), logged as is.
    #[serde(default)]
    pub device: Option<String>,
    /// Raw app type (`web`, `ios`, `aos`), logged as is.
    #[serde(default)]
    pub app: Option<String>,
}

/// One ad of the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServedAd {
    /// Ad id.
    pub ad_id: i64,
    /// The shop's product id.
    pub product_id: String,
    /// Title.
    pub title: String,
    /// Image URL.
    pub image_url: String,
    /// Landing URL (the click URL redirects there).
    pub landing_url: String,
    /// What a click costs the advertiser in won.
    pub price: i64,
    /// The impression.
    pub impression_id: String,
    /// The URL to send the click to.
    pub click_url: String,
}

/// The answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AdQueryAnswer {
    /// Best first.
    pub ads: Vec<ServedAd>,
}

impl Serving {
    /// Answers an ad query for `site` from the published ranking. `click_base` is the URL the
    /// click URLs start with (`https://ads.example.com`, or empty for relative URLs).
    pub fn query_ads(&self, site: &Site, query: &AdQuery, click_base: &str) -> AdQueryAnswer {
        let now = self.now();
        let counters = &self.inner.counters;
        counters.queries.fetch_add(1, Ordering::Relaxed);
        let hot = &self.inner.hot;
        let n = match query.n {
            0 => 4,
            n => n.min(MAX_ADS_PER_QUERY),
        };
        let ranking = hot.ranking(site.org_id, &query.placement, &query.category);
        let secret = self.secret();
        let placement_id = hot.placement_id(site.org_id, &query.placement).unwrap_or(0);
        let mid: Arc<str> = Arc::from(site.media_key.as_str());
        let dev: Option<Arc<str>> = query.device.as_deref().map(Arc::from);
        let app: Option<Arc<str>> = query.app.as_deref().map(Arc::from);
        let ts = now.div_euclid(1000);
        let event = |ev: &'static str, ads: Vec<LogAd>, rev: Option<i64>| LogEvent {
            ts,
            ev,
            mid: mid.clone(),
            ads,
            dev: dev.clone(),
            app: app.clone(),
            rev,
        };
        let no_ad = LogAd {
            aid: placement_id,
            god: 0,
            did: 0,
        };
        self.log(event("req", vec![no_ad], None));
        let (Some(ranking), Some(secret)) = (ranking, secret) else {
            self.log(event("psb", vec![no_ad], None));
            return AdQueryAnswer::default();
        };
        let exp = now + self.config().click_token_ttl.as_millis() as i64;
        let ads: Vec<ServedAd> = ranking
            .slots
            .iter()
            .take(n)
            .map(|slot| {
                let impression_id = self.next_impression_id();
                let claims = ClickClaims {
                    imp: impression_id.clone(),
                    org: site.org_id,
                    ad: slot.creative.ad_id,
                    price: slot.price,
                    plc: query.placement.clone(),
                    usr: query.user.clone(),
                    mid: site.media_key.clone(),
                    exp,
                };
                let token = sign(secret, &claims);
                ServedAd {
                    ad_id: slot.creative.ad_id,
                    product_id: slot.creative.product_id.clone(),
                    title: slot.creative.title.clone(),
                    image_url: slot.creative.image_url.clone(),
                    landing_url: slot.creative.landing_url.clone(),
                    price: slot.price,
                    impression_id,
                    click_url: format!("{click_base}/serve/click?t={token}"),
                }
            })
            .collect();
        if ads.is_empty() {
            self.log(event("psb", vec![no_ad], None));
            return AdQueryAnswer { ads };
        }
        self.log(event("res", vec![no_ad], None));
        let ids: Vec<i64> = ads.iter().map(|a| a.ad_id).collect();
        for slot in ranking.slots.iter().take(n) {
            self.log(event(
                "imp",
                vec![LogAd {
                    aid: placement_id,
                    god: slot.creative.ad_id,
                    did: slot.creative.advertiser_id,
                }],
                None,
            ));
        }
        hot.count_impressions(&ids, now);
        counters
            .impressions
            .fetch_add(ids.len() as u64, Ordering::Relaxed);
        let date = BusinessDate::from_utc_millis(now).to_string();
        let mut pending = self
            .inner
            .pending_impressions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            *pending.entry((id, date.clone())).or_insert(0) += 1;
        }
        AdQueryAnswer { ads }
    }
}
