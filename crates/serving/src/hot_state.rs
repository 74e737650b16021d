//! The hot state of ad serving behind one seam: the published rankings and the live 5-minute
//! click-through windows. [`LocalHotState`] keeps both in this process (an atomically swapped
//! snapshot and a small map); a shared store (Redis) implements the same trait when many
//! processes serve ads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use crate::ranking::{Counts, Ranking, Rankings};

/// Length of one click-through window.
pub const WINDOW_MILLIS: i64 = 5 * 60 * 1000;

/// Rankings and live click-through counts.
pub trait HotState: Send + Sync + std::fmt::Debug + 'static {
    /// The ranking for a placement and category, from the last published snapshot.
    fn ranking(&self, org: i64, placement: &str, category: &str) -> Option<Arc<Ranking>>;
    /// The placement's numeric id in the last snapshot.
    fn placement_id(&self, org: i64, placement: &str) -> Option<i64>;
    /// The whole last snapshot.
    fn rankings(&self) -> Arc<Rankings>;
    /// Replaces every ranking at once: a reader sees the old snapshot or the new, never a mix.
    fn publish(&self, rankings: Rankings);
    /// Counts served impressions of these ads at `now` (UTC ms).
    fn count_impressions(&self, ads: &[i64], now: i64);
    /// Counts a valid click of an ad at `now`.
    fn count_click(&self, ad: i64, now: i64);
    /// Impressions and clicks of the current and the previous 5-minute window.
    fn recent(&self, ad: i64, now: i64) -> Counts;
}

/// Hot state in this process.
#[derive(Debug, Default)]
pub struct LocalHotState {
    rankings: ArcSwap<Rankings>,
    windows: Mutex<HashMap<i64, Windows>>,
}

/// The current and the previous window of one ad.
#[derive(Debug, Default, Clone, Copy)]
struct Windows {
    current: i64,
    now: Counts,
    before: Counts,
}

impl Windows {
    fn at(&mut self, now: i64) -> &mut Counts {
        let window = now.div_euclid(WINDOW_MILLIS);
        if window != self.current {
            self.before = if window == self.current + 1 {
                self.now
            } else {
                Counts::default()
            };
            self.now = Counts::default();
            self.current = window;
        }
        &mut self.now
    }

    fn recent(mut self, now: i64) -> Counts {
        let counts = *self.at(now);
        Counts {
            impressions: counts.impressions + self.before.impressions,
            clicks: counts.clicks + self.before.clicks,
        }
    }
}

impl HotState for LocalHotState {
    fn ranking(&self, org: i64, placement: &str, category: &str) -> Option<Arc<Ranking>> {
        self.rankings.load().get(org, placement, category).cloned()
    }

    fn placement_id(&self, org: i64, placement: &str) -> Option<i64> {
        self.rankings.load().placement_id(org, placement)
    }

    fn rankings(&self) -> Arc<Rankings> {
        self.rankings.load_full()
    }

    fn publish(&self, rankings: Rankings) {
        self.rankings.store(Arc::new(rankings));
    }

    fn count_impressions(&self, ads: &[i64], now: i64) {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        for ad in ads {
            windows.entry(*ad).or_default().at(now).impressions += 1;
        }
    }

    fn count_click(&self, ad: i64, now: i64) {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        windows.entry(ad).or_default().at(now).clicks += 1;
    }

    fn recent(&self, ad: i64, now: i64) -> Counts {
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        windows
            .get(&ad)
            .map_or_else(Counts::default, |w| w.recent(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_roll_every_five_minutes() {
        let hot = LocalHotState::default();
        let t0 = 1_000 * WINDOW_MILLIS;
        hot.count_impressions(&[7, 7, 8], t0);
        hot.count_click(7, t0 + 1);
        assert_eq!(
            hot.recent(7, t0 + 2),
            Counts {
                impressions: 2,
                clicks: 1
            }
        );
        // The next window still shows the previous one; two windows later it is gone.
        assert_eq!(hot.recent(7, t0 + WINDOW_MILLIS).impressions, 2);
        hot.count_impressions(&[7], t0 + WINDOW_MILLIS);
        assert_eq!(hot.recent(7, t0 + WINDOW_MILLIS).impressions, 3);
        assert_eq!(hot.recent(7, t0 + 2 * WINDOW_MILLIS).impressions, 1);
        assert_eq!(hot.recent(7, t0 + 3 * WINDOW_MILLIS), Counts::default());
        assert_eq!(hot.recent(9, t0), Counts::default());
    }
}
