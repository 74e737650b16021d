//! Serving's scale-out seams on both databases, with an in-memory shared spend store and event
//! bus standing in for Redis and NATS (the real ones are tested end to end in
//! `crates/adpool/tests/scale_out.rs`): a click event settles once however often it is
//! delivered, the ledger refuses what a drifted store accepted and the store gets the money
//! back, a failed publish settles the click at once, orders are queued.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use adpool_core::{ManualClock, OrgId, UserId};
use adpool_serving::scale_out::BoxFuture;
use adpool_serving::{
    AdQuery, ClickEvent, ClickOutcome, EventBus, InvalidReason, NewCpcCampaign, NewProductAd,
    NewSite, OrderEvent, ScaleOut, Serving, ServingConfig, ServingError, Settled, SharedSpend,
    SignUp, SpendAnswer, SpendRequest, Topic,
};
use adpool_store::testing::fresh_database;

/// Balances and budgets in a map, charged under one lock (what the Redis script does).
#[derive(Debug, Default)]
struct MemorySpend {
    values: Mutex<HashMap<String, i64>>,
}

impl MemorySpend {
    fn get(&self, key: &str) -> Option<i64> {
        self.values.lock().unwrap().get(key).copied()
    }

    fn set(&self, key: &str, value: i64) {
        self.values.lock().unwrap().insert(key.into(), value);
    }
}

impl SharedSpend for MemorySpend {
    fn charge<'a>(
        &'a self,
        r: &'a SpendRequest<'a>,
    ) -> BoxFuture<'a, Result<SpendAnswer, ServingError>> {
        Box::pin(async move {
            let mut v = self.values.lock().unwrap();
            let (bk, gk, ik) = (
                format!("balance:{}", r.advertiser),
                format!("budget:{}:{}", r.campaign, r.date),
                format!("imp:{}", r.impression),
            );
            let (Some(balance), Some(left)) = (v.get(&bk).copied(), v.get(&gk).copied()) else {
                return Ok(SpendAnswer::NeedsSeed);
            };
            if v.contains_key(&ik) {
                return Ok(SpendAnswer::Refused(InvalidReason::DuplicateImpression));
            }
            if balance < r.price {
                return Ok(SpendAnswer::Refused(InvalidReason::BalanceExhausted));
            }
            if left < r.price {
                return Ok(SpendAnswer::Refused(InvalidReason::BudgetExhausted));
            }
            v.insert(bk, balance - r.price);
            v.insert(gk, left - r.price);
            v.insert(ik, 1);
            Ok(SpendAnswer::Charged {
                balance: balance - r.price,
                budget_left: left - r.price,
            })
        })
    }

    fn seed<'a>(
        &'a self,
        advertiser: i64,
        balance: i64,
        campaign: i64,
        date: &'a str,
        budget_left: i64,
    ) -> BoxFuture<'a, Result<(), ServingError>> {
        Box::pin(async move {
            let mut v = self.values.lock().unwrap();
            v.entry(format!("balance:{advertiser}")).or_insert(balance);
            v.entry(format!("budget:{campaign}:{date}"))
                .or_insert(budget_left);
            Ok(())
        })
    }

    fn credit(&self, advertiser: i64, amount: i64) -> BoxFuture<'_, Result<(), ServingError>> {
        Box::pin(async move {
            if let Some(b) = self
                .values
                .lock()
                .unwrap()
                .get_mut(&format!("balance:{advertiser}"))
            {
                *b += amount;
            }
            Ok(())
        })
    }

    fn release_budget<'a>(
        &'a self,
        campaign: i64,
        date: &'a str,
        amount: i64,
    ) -> BoxFuture<'a, Result<(), ServingError>> {
        Box::pin(async move {
            if let Some(b) = self
                .values
                .lock()
                .unwrap()
                .get_mut(&format!("budget:{campaign}:{date}"))
            {
                *b += amount;
            }
            Ok(())
        })
    }

    fn forget_budget<'a>(
        &'a self,
        campaign: i64,
        date: &'a str,
    ) -> BoxFuture<'a, Result<(), ServingError>> {
        Box::pin(async move {
            self.values
                .lock()
                .unwrap()
                .remove(&format!("budget:{campaign}:{date}"));
            Ok(())
        })
    }

    fn balances<'a>(
        &'a self,
        advertisers: &'a [i64],
    ) -> BoxFuture<'a, Result<HashMap<i64, Option<i64>>, ServingError>> {
        Box::pin(async move {
            Ok(advertisers
                .iter()
                .map(|a| (*a, self.get(&format!("balance:{a}"))))
                .collect())
        })
    }

    fn budgets<'a>(
        &'a self,
        campaigns: &'a [i64],
        date: &'a str,
    ) -> BoxFuture<'a, Result<HashMap<i64, Option<i64>>, ServingError>> {
        Box::pin(async move {
            Ok(campaigns
                .iter()
                .map(|c| (*c, self.get(&format!("budget:{c}:{date}"))))
                .collect())
        })
    }

    fn set_balance(
        &self,
        advertiser: i64,
        balance: i64,
    ) -> BoxFuture<'_, Result<(), ServingError>> {
        Box::pin(async move {
            self.set(&format!("balance:{advertiser}"), balance);
            Ok(())
        })
    }
}

/// Keeps what is published; fails every publish when `down`.
#[derive(Debug, Default)]
struct MemoryBus {
    published: Mutex<Vec<(Topic, String, Vec<u8>)>>,
    down: std::sync::atomic::AtomicBool,
}

impl EventBus for MemoryBus {
    fn publish<'a>(
        &'a self,
        topic: Topic,
        event_id: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), ServingError>> {
        Box::pin(async move {
            if self.down.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(ServingError::Unavailable("the bus is down".into()));
            }
            self.published
                .lock()
                .unwrap()
                .push((topic, event_id.into(), payload));
            Ok(())
        })
    }
}

impl MemoryBus {
    fn clicks(&self) -> Vec<ClickEvent> {
        self.published
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _, _)| *t == Topic::AdEvents)
            .map(|(_, _, p)| serde_json::from_slice(p).unwrap())
            .collect()
    }
}

struct World {
    serving: Serving,
    spend: Arc<MemorySpend>,
    bus: Arc<MemoryBus>,
    org: OrgId,
    advertiser: i64,
    site: Arc<adpool_serving::Site>,
}

/// One advertiser with `balance` won and one ad bidding 100 on `home_top`.
async fn world(balance: i64) -> World {
    let db = fresh_database().await;
    let org: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, created_at) VALUES ('Shop', 0) RETURNING id",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let admin: i64 = sqlx::query_scalar(
        "INSERT INTO users (org_id, email, display_name, role, password_hash, created_at) VALUES ($1, 'a@shop.kr', 'A', 'admin', 'x', 0) RETURNING id",
    )
    .bind(org)
    .fetch_one(db.pool())
    .await
    .unwrap();
    let (org, admin) = (OrgId(org), UserId(admin));
    let clock = Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00"));
    let serving = Serving::new(db, clock, ServingConfig::default());
    let spend = Arc::new(MemorySpend::default());
    let bus = Arc::new(MemoryBus::default());
    serving.attach_scale_out(ScaleOut {
        spend: Some(spend.clone()),
        bus: Some(bus.clone()),
    });
    serving.add_placement(org, "home_top", "").await.unwrap();
    let key = serving
        .create_site(
            org,
            &NewSite {
                name: "Front".into(),
                media_key: "front".into(),
                allowed_origins: Vec::new(),
            },
        )
        .await
        .unwrap();
    let advertiser = serving
        .sign_up(
            org,
            None,
            &SignUp {
                business_name: "Camping".into(),
                registration_number: adpool_serving::with_check_digit("110000000").unwrap(),
                contact_name: "Kim".into(),
                contact_email: "ads@example.kr".into(),
                contact_phone: "010-1234-5678".into(),
            },
        )
        .await
        .unwrap();
    serving
        .approve_advertiser(org, advertiser.id, admin)
        .await
        .unwrap();
    serving
        .top_up(org, advertiser.id, balance, "pay-1", "", admin)
        .await
        .unwrap();
    let campaign = serving
        .create_campaign(
            org,
            advertiser.id,
            &NewCpcCampaign {
                name: "Always on".into(),
                daily_budget: 1_000_000,
                placements: vec!["home_top".into()],
            },
        )
        .await
        .unwrap();
    serving
        .add_ad(
            org,
            campaign.id,
            &NewProductAd {
                product_id: "tent".into(),
                title: "Tent".into(),
                image_url: "https://img.example.com/tent.jpg".into(),
                landing_url: "https://shop.example.com/tent".into(),
                category: "camping".into(),
                bid: 100,
            },
        )
        .await
        .unwrap();
    serving
        .review_campaign(org, campaign.id, true, "")
        .await
        .unwrap();
    let site = serving.site_by_key(&key.key).unwrap();
    World {
        serving,
        spend,
        bus,
        org,
        advertiser: advertiser.id,
        site,
    }
}

impl World {
    fn token(&self, user: &str) -> String {
        let answer = self.serving.query_ads(
            &self.site,
            &AdQuery {
                placement: "home_top".into(),
                n: 1,
                user: user.into(),
                ..AdQuery::default()
            },
            "",
        );
        let url = &answer.ads[0].click_url;
        url[url.find("t=").unwrap() + 2..].to_owned()
    }

    async fn balance(&self) -> i64 {
        self.serving
            .advertiser(self.org, self.advertiser)
            .await
            .unwrap()
            .balance
    }
}

#[tokio::test]
async fn a_click_event_settles_once_however_often_it_is_delivered() {
    let w = world(10_000).await;
    let token = w.token("u1");
    let outcome = w.serving.click(&token).await.unwrap();
    let ClickOutcome::Accepted { price, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(price, 70, "one ad pays the reserve");
    assert_eq!(
        w.spend.get(&format!("balance:{}", w.advertiser)),
        Some(10_000 - 70),
        "seeded from the ledger, then charged"
    );
    assert_eq!(w.balance().await, 10_000, "the ledger waits for the event");
    let events = w.bus.clicks();
    assert_eq!(events.len(), 1);
    assert_eq!(
        w.serving.settle_click(&events[0]).await.unwrap(),
        Settled::Charged
    );
    for _ in 0..3 {
        assert_eq!(
            w.serving.settle_click(&events[0]).await.unwrap(),
            Settled::AlreadySettled
        );
    }
    assert_eq!(w.balance().await, 10_000 - 70);
    let (_, mismatches) = w.serving.verify_ledgers().await.unwrap();
    assert!(mismatches.is_empty());
    // The same token again: refused by the shared store, recorded once when settled.
    let again = w.serving.click(&w.token("u1")).await.unwrap();
    assert!(
        matches!(again, ClickOutcome::Accepted { .. }),
        "a new impression"
    );
    let replay = w.serving.click(&w.token("u2")).await.unwrap();
    assert!(matches!(replay, ClickOutcome::Accepted { .. }));
}

#[tokio::test]
async fn the_ledger_refuses_what_a_drifted_store_accepted_and_gives_the_money_back() {
    let w = world(100).await;
    // The store thinks there is far more money than the ledger has (it drifted).
    w.spend.set(&format!("balance:{}", w.advertiser), 10_000);
    let mut outcomes = Vec::new();
    for user in 0..3 {
        outcomes.push(
            w.serving
                .click(&w.token(&format!("u{user}")))
                .await
                .unwrap(),
        );
    }
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, ClickOutcome::Accepted { .. }))
    );
    let mut settled = Vec::new();
    for event in w.bus.clicks() {
        settled.push(w.serving.settle_click(&event).await.unwrap());
    }
    assert_eq!(
        settled,
        vec![
            Settled::Charged,
            Settled::Refused(InvalidReason::BalanceExhausted),
            Settled::Refused(InvalidReason::BalanceExhausted)
        ]
    );
    assert_eq!(w.balance().await, 30, "the ledger never goes below zero");
    assert_eq!(
        w.spend.get(&format!("balance:{}", w.advertiser)),
        Some(10_000 - 70),
        "the two refused clicks were given back to the store"
    );
}

#[tokio::test]
async fn a_click_whose_event_cannot_be_published_is_settled_at_once() {
    let w = world(10_000).await;
    w.bus.down.store(true, std::sync::atomic::Ordering::Relaxed);
    let outcome = w.serving.click(&w.token("u1")).await.unwrap();
    assert!(
        matches!(outcome, ClickOutcome::Accepted { .. }),
        "{outcome:?}"
    );
    assert_eq!(w.balance().await, 10_000 - 70, "written to the ledger here");
    assert_eq!(w.serving.settled_click_events().await.unwrap(), 1);
}

#[tokio::test]
async fn with_a_bus_orders_are_published_for_the_workers() {
    let w = world(10_000).await;
    let event: OrderEvent = serde_json::from_value(serde_json::json!({
        "order_id": " shop-1 ", "user": "u1", "status": "completed",
        "ts": 1_795_100_000_000_i64, "items": [{ "product_id": "tent", "qty": 1, "amount": 39000 }]
    }))
    .unwrap();
    assert_eq!(w.serving.submit_order(w.org, &event).await.unwrap(), None);
    let published: Vec<_> = w
        .bus
        .published
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.0 == Topic::OrderCompleted)
        .cloned()
        .collect();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0, Topic::OrderCompleted);
    assert_eq!(published[0].1, format!("{}:shop-1:completed", w.org.get()));
    // A bad order is refused before it is published.
    let bad: OrderEvent = serde_json::from_value(serde_json::json!({
        "order_id": "", "user": "u1", "status": "completed", "ts": 1, "items": []
    }))
    .unwrap();
    assert!(matches!(
        w.serving.submit_order(w.org, &bad).await,
        Err(ServingError::Invalid { .. })
    ));
}
