//! The ad query: the first `n` slots of the published ranking, each with a signed click URL.
//! Memory only: no database access, no lock held while building the answer except the short
//! counters.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use adpool_core::BusinessDate;
use serde::{Deserialize, Serialize};

use crate::click_token::{ClaimFields, sign_into};
use crate::event_log::{LogAd, LogEvent};
use crate::ranking::Creative;
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

/// One ad of the answer: `ad_id, product_id, title, image_url, landing_url, price,
/// impression_id, click_url` in JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedAd {
    /// Ad id.
    pub ad_id: i64,
    /// What a click costs the advertiser in won.
    pub price: i64,
    /// The impression.
    pub impression_id: String,
    /// The URL to send the click to.
    pub click_url: String,
    /// Product id, title, image and landing URL.
    pub creative: Arc<Creative>,
}

impl Serialize for ServedAd {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut ad = serializer.serialize_struct("ServedAd", 8)?;
        ad.serialize_field("ad_id", &self.ad_id)?;
        ad.serialize_field("product_id", &self.creative.product_id)?;
        ad.serialize_field("title", &self.creative.title)?;
        ad.serialize_field("image_url", &self.creative.image_url)?;
        ad.serialize_field("landing_url", &self.creative.landing_url)?;
        ad.serialize_field("price", &self.price)?;
        ad.serialize_field("impression_id", &self.impression_id)?;
        ad.serialize_field("click_url", &self.click_url)?;
        ad.end()
    }
}

/// The answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AdQueryAnswer {
    /// Best first.
    pub ads: Vec<ServedAd>,
}

impl AdQueryAnswer {
    /// The answer as JSON, the same as serde would write, from the creatives' pre-escaped
    /// fields (the ad query's hot path).
    pub fn to_json(&self) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(
            16 + self
                .ads
                .iter()
                .map(|a| a.creative.json_fields.len() + a.click_url.len() + 80)
                .sum::<usize>(),
        );
        out.push_str("{\"ads\":[");
        for (i, ad) in self.ads.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"ad_id\":{},{},\"price\":{},\"impression_id\":",
                ad.ad_id, ad.creative.json_fields, ad.price
            );
            push_json_str(&mut out, &ad.impression_id);
            out.push_str(",\"click_url\":");
            push_json_str(&mut out, &ad.click_url);
            out.push('}');
        }
        out.push_str("]}");
        out
    }
}

/// A JSON string: copied as is when nothing needs escaping (the usual case here).
fn push_json_str(out: &mut String, text: &str) {
    if text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(&serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into()));
    } else {
        out.push('"');
        out.push_str(text);
        out.push('"');
    }
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
        let event = |ev: &'static str, ad: LogAd, rev: Option<i64>| LogEvent {
            org: site.org_id,
            ts,
            ev,
            mid: mid.clone(),
            ad,
            dev: dev.clone(),
            app: app.clone(),
            rev,
        };
        let no_ad = LogAd {
            aid: placement_id,
            god: 0,
            did: 0,
        };
        let (Some(ranking), Some(secret)) = (ranking, secret) else {
            self.log_all(vec![event("req", no_ad, None), event("psb", no_ad, None)]);
            return AdQueryAnswer::default();
        };
        let exp = now + self.config().click_token_ttl.as_millis() as i64;
        let slots = &ranking.slots[..n.min(ranking.slots.len())];
        // Newlines cannot go into a token; placements and media keys never hold them.
        let user = if query.user.contains(['\n', '\r']) {
            std::borrow::Cow::Owned(query.user.replace(['\n', '\r'], " "))
        } else {
            std::borrow::Cow::Borrowed(query.user.as_str())
        };
        let mut scratch = String::with_capacity(128);
        let ads: Vec<ServedAd> = slots
            .iter()
            .map(|slot| {
                let impression_id = self.next_impression_id();
                let mut click_url = String::with_capacity(click_base.len() + 200);
                click_url.push_str(click_base);
                click_url.push_str("/serve/click?t=");
                sign_into(
                    secret,
                    &ClaimFields {
                        imp: &impression_id,
                        org: site.org_id,
                        ad: slot.creative.ad_id,
                        price: slot.price,
                        plc: &query.placement,
                        usr: &user,
                        mid: &site.media_key,
                        exp,
                    },
                    &mut scratch,
                    &mut click_url,
                );
                ServedAd {
                    ad_id: slot.creative.ad_id,
                    price: slot.price,
                    impression_id,
                    click_url,
                    creative: slot.creative.clone(),
                }
            })
            .collect();
        // The request's events go to the writer as one message.
        let mut events = Vec::with_capacity(slots.len() + 2);
        events.push(event("req", no_ad, None));
        if slots.is_empty() {
            events.push(event("psb", no_ad, None));
            self.log_all(events);
            return AdQueryAnswer { ads };
        }
        events.push(event("res", no_ad, None));
        for slot in slots {
            events.push(event(
                "imp",
                LogAd {
                    aid: placement_id,
                    god: slot.creative.ad_id,
                    did: slot.creative.advertiser_id,
                },
                None,
            ));
        }
        self.log_all(events);
        let ids: Vec<i64> = slots.iter().map(|s| s.creative.ad_id).collect();
        hot.count_impressions(&ids, now);
        counters
            .impressions
            .fetch_add(ids.len() as u64, Ordering::Relaxed);
        let date = BusinessDate::from_utc_millis(now);
        let mut pending = self
            .inner
            .pending_impressions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            *pending.entry((id, date)).or_insert(0) += 1;
        }
        AdQueryAnswer { ads }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_json_is_what_serde_writes() {
        let creative = Arc::new(Creative::new(
            7,
            1,
            2,
            "p\"1".into(),
            "캠핑 \\ 텐트\n".into(),
            "https://img.example.com/a.jpg".into(),
            "https://shop.example.com/p?a=1&b=\"2\"".into(),
            "camping".into(),
        ));
        let answer = AdQueryAnswer {
            ads: vec![
                ServedAd {
                    ad_id: 7,
                    price: 180,
                    impression_id: "ab12".into(),
                    click_url: "https://ads.example.com/serve/click?t=x.y".into(),
                    creative: creative.clone(),
                },
                ServedAd {
                    ad_id: 7,
                    price: 70,
                    impression_id: "ab13".into(),
                    click_url: "/serve/click?t=\"odd\"".into(),
                    creative,
                },
            ],
        };
        let fast: serde_json::Value = serde_json::from_str(&answer.to_json()).expect("valid JSON");
        assert_eq!(fast, serde_json::to_value(&answer).expect("serde"));
        assert_eq!(AdQueryAnswer::default().to_json(), r#"{"ads":[]}"#);
    }
}
