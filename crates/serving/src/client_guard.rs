//! Invalid traffic from one client that rotates its user id (M5 in docs/hardening.md).
//!
//! The duplicate-click rule counts per user id, and the user id is whatever the shop's page
//! passed with the ad request, so a script can send a fresh one with every query and have
//! every click charged. The click edge knows one more thing: the client itself, its address
//! and user agent. A click is invalid (`client_rotating_users`) when, within the duplicate
//! window, the same client already clicked the same ad under another user id, or has shown
//! more user ids than `max_users_per_client` ([`MAX_USERS_PER_CLIENT`] by default; 0 turns the
//! rule off, e.g. for a load test from one machine).
//!
//! The memory is per process and bounded ([`CAPACITY`] clients, then expired entries are
//! dropped, then everything: failing open). Behind a balancer that spreads one client over
//! several api processes each process sees part of its clicks.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::Mutex;

/// Distinct user ids one client may show within the window before its clicks are invalid
/// (the default).
pub const MAX_USERS_PER_CLIENT: usize = 4;
/// Clients remembered before old entries are dropped.
const CAPACITY: usize = 100_000;

#[derive(Debug, Default)]
struct Seen {
    /// (user id hash, when)
    users: Vec<(u64, i64)>,
    /// (ad, user id hash, when) of the client's clicks.
    clicks: Vec<(i64, u64, i64)>,
}

/// The clients seen recently.
#[derive(Debug, Default)]
pub(crate) struct ClientGuard {
    seen: Mutex<HashMap<u64, Seen>>,
    hasher: std::collections::hash_map::RandomState,
}

impl ClientGuard {
    fn hash(&self, value: impl Hash) -> u64 {
        self.hasher.hash_one(value)
    }

    /// Records a click of `ad` by `user` from `client` at `now`; true when the client is
    /// rotating user ids (the click must not be charged).
    pub(crate) fn rotating(
        &self,
        client: &str,
        ad: i64,
        user: &str,
        now: i64,
        window: i64,
        max_users: usize,
    ) -> bool {
        if max_users == 0 {
            return false;
        }
        let client = self.hash(client);
        let user = self.hash(user);
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= CAPACITY && !seen.contains_key(&client) {
            seen.retain(|_, s| s.users.iter().any(|&(_, at)| at > now - window));
            if seen.len() >= CAPACITY {
                seen.clear();
            }
        }
        let entry = seen.entry(client).or_default();
        entry.users.retain(|&(_, at)| at > now - window);
        entry.clicks.retain(|&(_, _, at)| at > now - window);
        let other_user_same_ad = entry.clicks.iter().any(|&(a, u, _)| a == ad && u != user);
        if !entry.users.iter().any(|&(u, _)| u == user) {
            entry.users.push((user, now));
        }
        entry.clicks.push((ad, user, now));
        other_user_same_ad || entry.users.len() > max_users
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: i64 = 600_000;

    #[test]
    fn one_client_rotating_user_ids_is_caught_and_a_household_is_not() {
        let guard = ClientGuard::default();
        // The same user clicking twice is the duplicate rule's business, not this one's.
        assert!(!guard.rotating("1.2.3.4 Chrome", 7, "u1", 0, WINDOW, MAX_USERS_PER_CLIENT));
        assert!(!guard.rotating(
            "1.2.3.4 Chrome",
            7,
            "u1",
            1_000,
            WINDOW,
            MAX_USERS_PER_CLIENT
        ));
        // Another user id on the same ad from the same client: rotating.
        assert!(guard.rotating(
            "1.2.3.4 Chrome",
            7,
            "u2",
            2_000,
            WINDOW,
            MAX_USERS_PER_CLIENT
        ));
        // Other ads by a few users of one address (a household): fine.
        let home = ClientGuard::default();
        for (i, user) in ["mom", "dad", "kid"].iter().enumerate() {
            assert!(!home.rotating(
                "5.6.7.8 Safari",
                i as i64,
                user,
                0,
                WINDOW,
                MAX_USERS_PER_CLIENT
            ));
        }
        // A fifth user id within the window: rotating, whatever the ad.
        let script = ClientGuard::default();
        for i in 0..4 {
            assert!(!script.rotating(
                "9.9.9.9 curl",
                i,
                &format!("u{i}"),
                i,
                WINDOW,
                MAX_USERS_PER_CLIENT
            ));
        }
        assert!(script.rotating("9.9.9.9 curl", 99, "u4", 10, WINDOW, MAX_USERS_PER_CLIENT));
        // After the window the client starts over.
        assert!(!script.rotating(
            "9.9.9.9 curl",
            99,
            "u5",
            10 + WINDOW + 1,
            WINDOW,
            MAX_USERS_PER_CLIENT
        ));
        // Another client is not affected.
        assert!(!script.rotating("9.9.9.9 Firefox", 7, "u9", 20, WINDOW, MAX_USERS_PER_CLIENT));
    }
}
