//! A campaign's status, derived from its ads.
//!
//! Priority, highest first: ERROR > LIVE > PAUSED > SCHEDULED > PENDING_REVIEW > REJECTED >
//! DRAFT. A campaign shows the highest-priority status any of its ads has, so a single broken ad
//! surfaces at once. COMPLETED only when every ad is completed; a campaign without ads is DRAFT.
//! Completed ads do not hold a running campaign back: they are ignored unless all are completed.

use serde::{Deserialize, Serialize};

/// The status of an ad or a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Being prepared.
    Draft,
    /// Refused by review.
    Rejected,
    /// Waiting for review.
    PendingReview,
    /// Approved, starts later.
    Scheduled,
    /// Paused by an operator.
    Paused,
    /// Serving.
    Live,
    /// Broken: needs attention.
    Error,
    /// Finished.
    Completed,
}

impl Status {
    /// Every status, in priority order (highest first), then COMPLETED.
    pub const ALL: [Status; 8] = [
        Status::Error,
        Status::Live,
        Status::Paused,
        Status::Scheduled,
        Status::PendingReview,
        Status::Rejected,
        Status::Draft,
        Status::Completed,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "DRAFT",
            Status::Rejected => "REJECTED",
            Status::PendingReview => "PENDING_REVIEW",
            Status::Scheduled => "SCHEDULED",
            Status::Paused => "PAUSED",
            Status::Live => "LIVE",
            Status::Error => "ERROR",
            Status::Completed => "COMPLETED",
        }
    }

    /// Parses a stored or submitted name (case-insensitive).
    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// Rank in the priority order: higher wins. COMPLETED ranks lowest.
    fn rank(self) -> u8 {
        match self {
            Status::Completed => 0,
            Status::Draft => 1,
            Status::Rejected => 2,
            Status::PendingReview => 3,
            Status::Scheduled => 4,
            Status::Paused => 5,
            Status::Live => 6,
            Status::Error => 7,
        }
    }
}

/// The campaign status for ads with these statuses (see the module docs for the rule).
pub fn derive_status(ads: impl IntoIterator<Item = Status>) -> Status {
    let mut best: Option<Status> = None;
    let mut any = false;
    for status in ads {
        any = true;
        if status != Status::Completed && best.is_none_or(|b| status.rank() > b.rank()) {
            best = Some(status);
        }
    }
    match (any, best) {
        (false, _) => Status::Draft,
        (true, None) => Status::Completed,
        (true, Some(status)) => status,
    }
}

/// [`derive_status`] from per-status counts, as an aggregate query returns them.
pub fn derive_from_counts(counts: &[(Status, i64)]) -> Status {
    derive_status(counts.iter().filter(|(_, n)| *n > 0).map(|(s, _)| *s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_documented_priority_holds() {
        use Status::*;
        assert_eq!(derive_status([]), Draft);
        assert_eq!(derive_status([Live, Error, Paused]), Error);
        assert_eq!(derive_status([Paused, Live]), Live);
        assert_eq!(derive_status([Scheduled, Paused]), Paused);
        assert_eq!(derive_status([PendingReview, Scheduled]), Scheduled);
        assert_eq!(derive_status([Rejected, PendingReview]), PendingReview);
        assert_eq!(derive_status([Draft, Rejected]), Rejected);
        assert_eq!(derive_status([Completed, Completed]), Completed);
        assert_eq!(
            derive_status([Completed, Live]),
            Live,
            "finished ads do not hold a live campaign back"
        );
        assert_eq!(derive_status([Completed, Draft]), Draft);
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
    }

    fn status() -> impl Strategy<Value = Status> {
        prop::sample::select(Status::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn order_does_not_matter(mut ads in prop::collection::vec(status(), 0..50), seed in any::<u64>()) {
            let before = derive_status(ads.iter().copied());
            let len = ads.len().max(1);
            ads.rotate_left((seed as usize) % len);
            ads.reverse();
            prop_assert_eq!(derive_status(ads.iter().copied()), before);
        }

        #[test]
        fn the_result_is_one_of_the_ads_or_draft(ads in prop::collection::vec(status(), 0..50)) {
            let derived = derive_status(ads.iter().copied());
            prop_assert!(ads.contains(&derived) || (ads.is_empty() && derived == Status::Draft));
        }

        #[test]
        fn completed_only_when_every_ad_is(ads in prop::collection::vec(status(), 1..50)) {
            let all_done = ads.iter().all(|s| *s == Status::Completed);
            prop_assert_eq!(derive_status(ads.iter().copied()) == Status::Completed, all_done);
        }

        #[test]
        fn counts_agree_with_the_list(ads in prop::collection::vec(status(), 0..50)) {
            let counts: Vec<(Status, i64)> = Status::ALL.iter().map(|s| (*s, ads.iter().filter(|a| *a == s).count() as i64)).collect();
            prop_assert_eq!(derive_from_counts(&counts), derive_status(ads.iter().copied()));
        }
    }
}
