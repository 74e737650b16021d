//! The engines themselves, against the Redis and NATS of the machine (see
//! `adpool_scaleout::testing::engines`): the charge script under concurrency, rankings published
//! by one process and loaded by another, click-through counts summed across processes, and the
//! JetStream publish deduplication.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use adpool_scaleout::{NatsBus, RedisHotState, testing};
use adpool_serving::ranking::{Candidate, Creative, build_rankings};
use adpool_serving::{
    EventBus, HotState, InvalidReason, SharedSpend, SpendAnswer, SpendRequest, Topic,
};

fn request<'a>(impression: &'a str, user: &'a str, price: i64) -> SpendRequest<'a> {
    SpendRequest {
        advertiser: 7,
        campaign: 70,
        date: "2026-12-01",
        impression,
        user,
        ad: 700,
        price,
        impression_ttl_ms: 60_000,
        duplicate_window_ms: 60_000,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_charges_never_take_the_balance_or_budget_below_zero() {
    let Some((redis, _)) = testing::engines() else {
        return;
    };
    let namespace = testing::namespace();
    let hot = Arc::new(RedisHotState::connect(&redis, &namespace).await.unwrap());
    let first = hot.charge(&request("imp-0", "", 100)).await.unwrap();
    assert_eq!(first, SpendAnswer::NeedsSeed);
    // 1,000 won of balance, 800 won of budget: 8 clicks of 100 won pay, 92 are refused.
    hot.seed(7, 1_000, 70, "2026-12-01", 800).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let hot = hot.clone();
        tasks.spawn(async move {
            let impression = format!("imp-{i}");
            let user = format!("user-{i}");
            hot.charge(&request(&impression, &user, 100)).await.unwrap()
        });
    }
    let mut charged = 0;
    let mut refused = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        match answer.unwrap() {
            SpendAnswer::Charged { .. } => charged += 1,
            SpendAnswer::Refused(reason) => refused.push(reason),
            SpendAnswer::NeedsSeed => panic!("seeded"),
        }
    }
    assert_eq!(charged, 8);
    assert!(refused.iter().all(|r| *r == InvalidReason::BudgetExhausted));
    let balances = hot.balances(&[7, 8]).await.unwrap();
    assert_eq!(balances[&7], Some(200));
    assert_eq!(balances[&8], None, "never seeded");
    assert_eq!(
        hot.budgets(&[70], "2026-12-01").await.unwrap()[&70],
        Some(0)
    );
    // A charged impression and a user's second click within the window are duplicates.
    hot.set_balance(7, 100_000).await.unwrap();
    hot.release_budget(70, "2026-12-01", 100_000).await.unwrap();
    let charged_before: Vec<String> = (0..100).map(|i| format!("imp-{i}")).collect();
    let mut duplicates = 0;
    for impression in &charged_before {
        if hot.charge(&request(impression, "", 100)).await.unwrap()
            == SpendAnswer::Refused(InvalidReason::DuplicateImpression)
        {
            duplicates += 1;
        }
    }
    assert_eq!(duplicates, 8, "exactly the charged impressions");
    hot.charge(&request("fresh-1", "shopper", 100))
        .await
        .unwrap();
    assert_eq!(
        hot.charge(&request("fresh-2", "shopper", 100))
            .await
            .unwrap(),
        SpendAnswer::Refused(InvalidReason::DuplicateUserAd)
    );
    // Credits apply only to a seeded balance; the ledger's figure wins on repair.
    let before = hot.balances(&[7]).await.unwrap()[&7].unwrap();
    assert_eq!(
        before,
        100_000 - 92 * 100 - 100,
        "the other impressions and fresh-1 paid"
    );
    hot.credit(7, 50).await.unwrap();
    hot.credit(8, 50).await.unwrap();
    let balances = hot.balances(&[7, 8]).await.unwrap();
    assert_eq!((balances[&7], balances[&8]), (Some(before + 50), None));
    hot.set_balance(7, 999).await.unwrap();
    assert_eq!(hot.balances(&[7]).await.unwrap()[&7], Some(999));
    assert!(hot.delete_namespace().await.unwrap() > 100);
}

fn candidate(org: i64, ad: i64, bid: i64) -> Candidate {
    Candidate {
        org_id: org,
        creative: Arc::new(Creative::new(
            ad,
            ad * 10,
            ad * 100,
            format!("p{ad}"),
            format!("Title \"{ad}\""),
            format!("https://img.example/{ad}.png"),
            format!("https://shop.example/{ad}"),
            "camping".into(),
        )),
        placements: vec!["home_top".into()],
        bid,
        pctr: 0.02,
        balance: 1_000_000,
        budget_left: 1_000_000,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rankings_published_by_one_process_are_loaded_by_another() {
    let Some((redis, _)) = testing::engines() else {
        return;
    };
    let namespace = testing::namespace();
    let publisher = Arc::new(RedisHotState::connect(&redis, &namespace).await.unwrap());
    let reader = Arc::new(RedisHotState::connect(&redis, &namespace).await.unwrap());
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let mut tasks = publisher.start(stop.clone());
    tasks.extend(reader.start(stop));
    let placements = vec![(1, 11, "home_top".to_owned()), (1, 12, "empty".to_owned())];
    publisher.publish(build_rankings(
        &placements,
        &[candidate(1, 1, 300), candidate(1, 2, 100)],
        70,
        1_000,
    ));
    let started = std::time::Instant::now();
    while reader.ranking(1, "home_top", "camping").is_none() {
        assert!(started.elapsed().as_secs() < 5, "not loaded in 5 s");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let ranking = reader.ranking(1, "home_top", "camping").unwrap();
    let mine = publisher.ranking(1, "home_top", "camping").unwrap();
    assert_eq!(ranking.slots.len(), 2);
    for (a, b) in ranking.slots.iter().zip(&mine.slots) {
        assert_eq!(a.creative, b.creative, "the escaped JSON is rebuilt");
        assert_eq!((a.price, a.bid), (b.price, b.bid));
    }
    assert_eq!(
        reader.placement_id(1, "empty"),
        Some(12),
        "a placement without ads"
    );
    assert!(reader.ranking(1, "empty", "*").is_none());
    // A newer snapshot replaces the old one, and removed rankings go away.
    publisher.publish(build_rankings(
        &placements,
        &[candidate(1, 2, 100)],
        70,
        2_000,
    ));
    while reader.rankings().built_at != 2_000 {
        assert!(
            started.elapsed().as_secs() < 10,
            "the second snapshot never arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(reader.ranking(1, "home_top", "*").unwrap().slots.len(), 1);

    // Click-through counts of both processes add up.
    let now = 1_800_000_000_000;
    publisher.count_impressions(&[1, 1, 2], now);
    reader.count_impressions(&[1], now);
    reader.count_click(1, now);
    publisher.exchange_counts(now).await.unwrap();
    reader.exchange_counts(now).await.unwrap();
    publisher.exchange_counts(now).await.unwrap();
    let counts = publisher.recent(2, now);
    assert_eq!(counts.impressions, 1);
    let _ = stop_tx.send(true);
    for task in tasks {
        task.await.unwrap();
    }
    publisher.delete_namespace().await.unwrap();
}

#[tokio::test]
async fn a_repeated_publish_is_stored_once() {
    let Some((_, nats)) = testing::engines() else {
        return;
    };
    let bus = NatsBus::connect(&nats, &testing::namespace())
        .await
        .unwrap();
    for _ in 0..3 {
        bus.publish(Topic::AdEvents, "click-1", b"{}".to_vec())
            .await
            .unwrap();
    }
    bus.publish(Topic::AdEvents, "click-2", b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(bus.backlog(Topic::AdEvents).await.unwrap(), 2);
    assert!(
        bus.stream(Topic::OrderCompleted)
            .ends_with("order-completed")
    );
    assert!(
        bus.subject(Topic::OrderCompleted)
            .ends_with("order.completed")
    );
}
