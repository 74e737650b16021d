//! Enrichment and aggregation: lines become additive rows of the four reports.
//!
//! Every measure is a sum of integers (counts, milli-won), so aggregates of files, batches or
//! parts of a file merge by adding, in any order, with the same result.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use adpool_core::{BusinessDate, apportion};

use crate::line::{App, Device, EventKind, LogLine};
use crate::reports::format_milli;

/// What metadata says about a media key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaInfo {
    /// The organization the media belongs to.
    pub org_id: i64,
    /// The media's revenue share in basis points (0 to 10,000).
    pub share_bp: u64,
}

/// What metadata says about an inventory id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryInfo {
    /// Ad type (display, video, ...).
    pub ad_type: String,
    /// The device the inventory is for.
    pub device: Device,
}

/// The metadata used to enrich lines.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    /// By media key.
    pub media: HashMap<String, MediaInfo>,
    /// By inventory id.
    pub inventory: HashMap<i64, InventoryInfo>,
}

/// A hash map with a fast, non-cryptographic hasher: the keys come from log files, and the
/// analyzer hashes several per event, where SipHash's flood resistance buys nothing.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Ad performance key: date, org, media, inventory, ad, demand.
pub type AdPerformanceKey = (BusinessDate, i64, Arc<str>, i64, i64, i64);
/// Ad request key: date, org, media, inventory, device, app.
pub type AdRequestKey = (BusinessDate, i64, Arc<str>, i64, Device, App);
/// Demand key: date, demand.
pub type DemandKey = (BusinessDate, i64);
/// Media key: date, org, media, device.
pub type MediaKey = (BusinessDate, i64, Arc<str>, Device);

/// Impressions, clicks and revenue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Impressions.
    pub impressions: i64,
    /// Clicks.
    pub clicks: i64,
    /// Revenue in milli-won.
    pub revenue_milli: i64,
}

/// Requests, responses, passbacks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requests {
    /// Ad requests.
    pub xreq: i64,
    /// Ad responses.
    pub xres: i64,
    /// Passbacks.
    pub xpsb: i64,
}

/// Delivery with the media's and the agency's parts of the revenue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaDelivery {
    /// Impressions, clicks, revenue.
    pub delivery: Delivery,
    /// The agency's part in milli-won.
    pub agency_revenue_milli: i64,
    /// The media's part in milli-won.
    pub media_revenue_milli: i64,
}

/// The four reports' rows for some set of lines, plus what was not found in metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Aggregates {
    /// Ad performance (imp, clk).
    pub ad_performance: FastMap<AdPerformanceKey, Delivery>,
    /// Ad request (req, res, psb).
    pub ad_request: FastMap<AdRequestKey, Requests>,
    /// Demand (imp, clk).
    pub demand: FastMap<DemandKey, Delivery>,
    /// Media (imp, clk).
    pub media: FastMap<MediaKey, MediaDelivery>,
    /// Events counted.
    pub events: u64,
    /// Media keys not in metadata (counted as organization 0, share 0).
    pub unknown_media: HashSet<String>,
    /// Inventory ids not in metadata.
    pub unknown_inventory: HashSet<i64>,
    /// Every media key seen, shared by the rows' keys (one allocation per key, not per event).
    media_keys: HashSet<Arc<str>, foldhash::fast::RandomState>,
}

impl Delivery {
    fn add(&mut self, other: Delivery) {
        self.impressions += other.impressions;
        self.clicks += other.clicks;
        self.revenue_milli += other.revenue_milli;
    }
}

impl Aggregates {
    /// Adds one line; refuses it (adding nothing to the reports) when a report row's revenue
    /// would pass what an `i64` of milli-won holds: the file is then quarantined.
    pub fn add(&mut self, line: &LogLine, metadata: &Metadata) -> Result<(), String> {
        self.events += 1;
        let media_key = match self.media_keys.get(line.media_key.as_ref()) {
            Some(key) => key.clone(),
            None => {
                let key: Arc<str> = Arc::from(line.media_key.as_ref());
                self.media_keys.insert(key.clone());
                key
            }
        };
        let date = BusinessDate::from_utc_millis(line.ts.saturating_mul(1000));
        let media = match metadata.media.get(line.media_key.as_ref()) {
            Some(info) => *info,
            None => {
                if !self.unknown_media.contains(line.media_key.as_ref()) {
                    self.unknown_media
                        .insert(line.media_key.clone().into_owned());
                }
                MediaInfo {
                    org_id: 0,
                    share_bp: 0,
                }
            }
        };
        let inventory = metadata.inventory.get(&line.inventory_id);
        if inventory.is_none() {
            self.unknown_inventory.insert(line.inventory_id);
        }
        let device = line
            .device
            .or_else(|| inventory.map(|i| i.device))
            .unwrap_or(Device::All);
        match line.kind {
            EventKind::Request | EventKind::Response | EventKind::Passback => {
                let row = self
                    .ad_request
                    .entry((
                        date,
                        media.org_id,
                        media_key,
                        line.inventory_id,
                        device,
                        line.app,
                    ))
                    .or_default();
                match line.kind {
                    EventKind::Request => row.xreq += 1,
                    EventKind::Response => row.xres += 1,
                    _ => row.xpsb += 1,
                }
            }
            EventKind::Impression | EventKind::Click => {
                let performance_key = (
                    date,
                    media.org_id,
                    media_key.clone(),
                    line.inventory_id,
                    line.ad_id,
                    line.demand_id,
                );
                let media_row_key = (date, media.org_id, media_key, device);
                let fits =
                    |row: Option<i64>| row.unwrap_or(0).checked_add(line.revenue_milli).is_some();
                if !(fits(
                    self.ad_performance
                        .get(&performance_key)
                        .map(|d| d.revenue_milli),
                ) && fits(
                    self.demand
                        .get(&(date, line.demand_id))
                        .map(|d| d.revenue_milli),
                ) && fits(
                    self.media
                        .get(&media_row_key)
                        .map(|m| m.delivery.revenue_milli),
                )) {
                    self.events -= 1;
                    return Err(format!(
                        "rev {} takes a report row's revenue past what it can hold",
                        format_milli(line.revenue_milli)
                    ));
                }
                let delivery = Delivery {
                    impressions: i64::from(line.kind == EventKind::Impression),
                    clicks: i64::from(line.kind == EventKind::Click),
                    revenue_milli: line.revenue_milli,
                };
                self.ad_performance
                    .entry(performance_key)
                    .or_default()
                    .add(delivery);
                self.demand
                    .entry((date, line.demand_id))
                    .or_default()
                    .add(delivery);
                let (media_part, agency_part) = split_revenue(line.revenue_milli, media.share_bp);
                let row = self.media.entry(media_row_key).or_default();
                row.delivery.add(delivery);
                row.media_revenue_milli += media_part;
                row.agency_revenue_milli += agency_part;
            }
        }
        Ok(())
    }

    /// Adds another set of aggregates to this one.
    pub fn merge(&mut self, other: Aggregates) {
        if self.events == 0 {
            // Nothing was added here yet (`add` counts every line): take the other whole.
            *self = other;
            return;
        }
        self.events += other.events;
        for (k, v) in other.ad_performance {
            self.ad_performance.entry(k).or_default().add(v);
        }
        for (k, v) in other.ad_request {
            let row = self.ad_request.entry(k).or_default();
            row.xreq += v.xreq;
            row.xres += v.xres;
            row.xpsb += v.xpsb;
        }
        for (k, v) in other.demand {
            self.demand.entry(k).or_default().add(v);
        }
        for (k, v) in other.media {
            let row = self.media.entry(k).or_default();
            row.delivery.add(v.delivery);
            row.media_revenue_milli += v.media_revenue_milli;
            row.agency_revenue_milli += v.agency_revenue_milli;
        }
        self.unknown_media.extend(other.unknown_media);
        self.unknown_inventory.extend(other.unknown_inventory);
        self.media_keys.extend(other.media_keys);
    }
}

/// (media part, agency part) of one event's revenue: the one `apportion` over
/// `[share, 10000 - share]`.
pub fn split_revenue(revenue_milli: i64, share_bp: u64) -> (i64, i64) {
    let share = share_bp.min(10_000);
    match apportion(revenue_milli, &[share, 10_000 - share]) {
        Ok(parts) => (parts[0], parts[1]),
        Err(_) => (0, revenue_milli),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::parse_line;
    use proptest::prelude::*;

    fn metadata() -> Metadata {
        let mut m = Metadata::default();
        m.media.insert(
            "m-1".into(),
            MediaInfo {
                org_id: 7,
                share_bp: 7_000,
            },
        );
        m.inventory.insert(
            501,
            InventoryInfo {
                ad_type: "display".into(),
                device: Device::Pc,
            },
        );
        m
    }

    #[test]
    fn a_line_that_would_overflow_a_report_row_is_refused_and_adds_nothing() {
        let line = |revenue_milli| LogLine {
            revenue_milli,
            ..parse_line(r#"{"ts":1763650800,"ev":"imp","mid":"m-1","ads":[{"aid":501}]}"#)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let mut a = Aggregates::default();
        assert_eq!(a.add(&line(i64::MAX - 10), &metadata()), Ok(()));
        let before = a.clone();
        let refused = a.add(&line(11), &metadata());
        assert!(refused.is_err_and(|e| e.contains("past what it can hold")));
        assert_eq!(a, before, "nothing of the refused line was added");
        assert_eq!(a.add(&line(10), &metadata()), Ok(()));
    }

    #[test]
    fn lines_enrich_into_the_four_reports() {
        let mut a = Aggregates::default();
        for text in [
            r#"{"ts":1763650800,"ev":"req","mid":"m-1","ads":[{"aid":501}],"app":"web"}"#,
            r#"{"ts":1763650800,"ev":"res","mid":"m-1","ads":[{"aid":501}],"app":"web"}"#,
            r#"{"ts":1763650800,"ev":"imp","mid":"m-1","ads":[{"aid":501,"_god":9,"did":3}],"rev":1.001}"#,
            r#"{"ts":1763650800,"ev":"clk","mid":"m-1","ads":[{"aid":501,"_god":9,"did":3}],"dev":"mobile","rev":100}"#,
            r#"{"ts":1763650800,"ev":"imp","mid":"unknown","ads":[{"aid":777,"_god":9,"did":3}]}"#,
        ] {
            a.add(
                &parse_line(text).unwrap_or_else(|e| panic!("{e}")),
                &metadata(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
        let date = BusinessDate::from_utc_millis(1_763_650_800_000);
        assert_eq!(a.events, 5);
        assert_eq!(
            a.ad_request[&(date, 7, "m-1".into(), 501, Device::Pc, App::Web)],
            Requests {
                xreq: 1,
                xres: 1,
                xpsb: 0
            }
        );
        assert_eq!(
            a.ad_performance[&(date, 7, "m-1".into(), 501, 9, 3)],
            Delivery {
                impressions: 1,
                clicks: 1,
                revenue_milli: 101_001
            }
        );
        assert_eq!(
            a.demand[&(date, 3)],
            Delivery {
                impressions: 2,
                clicks: 1,
                revenue_milli: 101_001
            }
        );
        // The device comes from the line when it says one, else from the inventory.
        let pc = a.media[&(date, 7, "m-1".into(), Device::Pc)];
        assert_eq!(
            (
                pc.delivery.impressions,
                pc.media_revenue_milli,
                pc.agency_revenue_milli
            ),
            (1, 701, 300)
        );
        let mobile = a.media[&(date, 7, "m-1".into(), Device::Mobile)];
        assert_eq!(
            (mobile.media_revenue_milli, mobile.agency_revenue_milli),
            (70_000, 30_000)
        );
        // Unknown keys: organization 0, share 0, device ALL; listed, not dropped.
        assert_eq!(
            a.media[&(date, 0, "unknown".into(), Device::All)]
                .delivery
                .impressions,
            1
        );
        assert!(a.unknown_media.contains("unknown") && a.unknown_inventory.contains(&777));
    }

    proptest! {
        #[test]
        fn aggregates_do_not_depend_on_how_lines_are_split(
            lines in proptest::collection::vec((0u8..5, 0i64..3, 0i64..2_000_000, 0u8..3, 0i64..200_000), 1..60),
            cut in 0usize..60,
        ) {
            let meta = metadata();
            let parsed: Vec<LogLine> = lines.iter().map(|(ev, ad, rev, media, ts)| {
                let ev = ["req", "res", "psb", "imp", "clk"][*ev as usize];
                let mid = ["m-1", "m-2", "x"][*media as usize];
                let text = format!(r#"{{"ts":{},"ev":"{ev}","mid":"{mid}","ads":[{{"aid":501,"_god":{ad},"did":{ad}}}],"rev":{}.{:03}}}"#, 1_763_650_800 + ts, rev / 1000, rev % 1000);
                parse_line(&text).map(LogLine::into_owned).unwrap_or_else(|e| panic!("{e}"))
            }).collect();
            let mut whole = Aggregates::default();
            for l in &parsed { whole.add(l, &meta).unwrap(); }
            let cut = cut.min(parsed.len());
            let (mut first, mut second) = (Aggregates::default(), Aggregates::default());
            for l in &parsed[cut..] { second.add(l, &meta).unwrap(); }
            for l in &parsed[..cut] { first.add(l, &meta).unwrap(); }
            second.merge(first);
            prop_assert_eq!(&whole, &second);
            // The media and agency parts always add up to the revenue.
            for row in whole.media.values() {
                prop_assert_eq!(row.media_revenue_milli + row.agency_revenue_milli, row.delivery.revenue_milli);
            }
        }
    }
}
