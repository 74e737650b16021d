//! Purchase contract: 3-level split, transactional deduction, policies, cancel, concurrency.
//! Runs on SQLite, and on PostgreSQL when ADPOOL_TEST_DATABASE_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

use std::sync::Arc;

use adpool_core::{ManualClock, OrgId};
use adpool_inventory::{
    CatalogDocument, Inventory, InventoryError, Month, Policy, PurchaseRequest, PurchaseResult,
};
use adpool_store::testing::fresh_database;
use sqlx::Row;

struct Setup {
    inventory: Inventory,
    clock: Arc<ManualClock>,
    org: OrgId,
    other_org: OrgId,
    _dir: tempfile::TempDir,
}

/// Two programs per content owner, two owners, on one media; December built and confirmed.
async fn setup() -> Setup {
    let db = fresh_database().await;
    let mut ids = Vec::new();
    for name in ["Media Rep", "Other Rep"] {
        let row =
            sqlx::query("INSERT INTO organizations (name, created_at) VALUES ($1, 0) RETURNING id")
                .bind(name)
                .fetch_one(db.pool())
                .await
                .unwrap();
        ids.push(OrgId(row.get(0)));
    }
    let clock = Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00"));
    let inventory = Inventory::new(db, clock.clone());
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("media,meta_id,part,date,hour,impressions\n");
    for day in 1..=31 {
        for (meta, base) in [
            ("KBS-A", 1000),
            ("KBS-B", 600),
            ("MBC-A", 900),
            ("MBC-B", 300),
        ] {
            for part in ["PC_VOD", "MOBILE_VOD"] {
                csv.push_str(&format!(
                    "WAVVE,{meta},{part},2026-12-{day:02},20,{}\n",
                    base + day * 10
                ));
            }
        }
    }
    let path = dir.path().join("f.csv");
    std::fs::write(&path, csv).unwrap();
    inventory
        .import_forecast_file(ids[0], &path, &mut |_| {})
        .await
        .unwrap();
    let catalog: CatalogDocument = serde_json::from_str(
        r#"{
          "content_owners": [{ "code": "KBS", "name": "KBS" }, { "code": "MBC", "name": "MBC" }],
          "meta_ids": [
            { "media": "WAVVE", "code": "KBS-A", "name": "A", "content_owner": "KBS" },
            { "media": "WAVVE", "code": "KBS-B", "name": "B", "content_owner": "KBS" },
            { "media": "WAVVE", "code": "MBC-A", "name": "C", "content_owner": "MBC" },
            { "media": "WAVVE", "code": "MBC-B", "name": "D", "content_owner": "MBC" }
          ],
          "products": [{ "code": "PRE", "name": "pre-roll", "type": "program", "ad_type": "pre-roll", "cpm": { "PC": 9000, "MOBILE": 8000 }, "ctr_bp": 80, "vtr_bp": 7500 }],
          "targeting_groups": [
            { "code": "G1", "name": "one", "weight_bp": 6000, "members": ["WAVVE/KBS-A", "WAVVE/MBC-A"] },
            { "code": "G2", "name": "two", "weight_bp": 4000, "members": ["WAVVE/KBS-B", "WAVVE/MBC-B"] }
          ]
        }"#,
    )
    .unwrap();
    inventory.apply_catalog(ids[0], &catalog).await.unwrap();
    let december: Month = "2026-12".parse().unwrap();
    inventory
        .build_standard(ids[0], december, "test", &mut |_| {})
        .await
        .unwrap();
    inventory
        .confirm_month(ids[0], december, None)
        .await
        .unwrap();
    inventory
        .build_unit(ids[0], december, "test", &mut |_| {})
        .await
        .unwrap();
    Setup {
        inventory,
        clock,
        org: ids[0],
        other_org: ids[1],
        _dir: dir,
    }
}

fn request(amount: i64) -> PurchaseRequest {
    serde_json::from_value(serde_json::json!({
        "product": "PRE", "amount": amount, "start": "2026-12-01", "end": "2026-12-31",
        "platforms": ["PC", "MOBILE"],
        "targeting_groups": [{ "code": "G1", "weight_bp": 4000 }, { "code": "G2", "weight_bp": 6000 }],
        "content_owners": [{ "code": "KBS", "ratio_bp": 6000 }, { "code": "MBC", "ratio_bp": 4000 }]
    }))
    .unwrap()
}

async fn reserved(s: &Setup) -> i64 {
    sqlx::query("SELECT CAST(COALESCE(SUM(reserved), 0) AS BIGINT) FROM unit_inventory")
        .fetch_one(s.inventory.db().pool())
        .await
        .unwrap()
        .get(0)
}

async fn oversold_anywhere(s: &Setup) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM unit_inventory WHERE reserved > total")
        .fetch_one(s.inventory.db().pool())
        .await
        .unwrap()
        .get(0)
}

fn check_tree(result: &PurchaseResult) {
    assert_eq!(
        result.platforms.iter().map(|p| p.amount).sum::<i64>(),
        result.amount
    );
    for p in &result.platforms {
        assert_eq!(
            p.groups.iter().map(|g| g.amount).sum::<i64>(),
            p.amount,
            "groups add up to their platform"
        );
        for g in &p.groups {
            assert_eq!(
                g.content_owners.iter().map(|c| c.amount).sum::<i64>(),
                g.amount,
                "COs add up to their group"
            );
            for c in &g.content_owners {
                assert_eq!(
                    c.impressions,
                    c.amount * 1000 / p.cpm,
                    "impressions from CPM"
                );
                if c.fits {
                    assert_eq!(
                        c.days.iter().map(|d| d.impressions).sum::<i64>(),
                        c.impressions,
                        "days add up to the leaf"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn a_purchase_is_split_three_levels_deep_and_reserved() {
    let s = setup().await;
    let result = s
        .inventory
        .purchase(s.org, &request(500_001), false, None)
        .await
        .unwrap();
    assert!(
        result.committed && result.booking_id.is_some(),
        "{result:?}"
    );
    assert_eq!((result.shortage, result.booked), (0, result.impressions));
    check_tree(&result);
    // Equal platforms, then 40/60 groups, then 60/40 owners, each by the one apportion.
    assert_eq!(
        result
            .platforms
            .iter()
            .map(|p| p.amount)
            .collect::<Vec<_>>(),
        vec![250_001, 250_000]
    );
    assert_eq!(
        result.platforms[0]
            .groups
            .iter()
            .map(|g| g.amount)
            .collect::<Vec<_>>(),
        vec![100_000, 150_001]
    );
    assert_eq!(
        result.platforms[0].groups[1]
            .content_owners
            .iter()
            .map(|c| c.amount)
            .collect::<Vec<_>>(),
        vec![90_001, 60_000]
    );
    assert_eq!(
        reserved(&s).await,
        result.booked,
        "exactly the booked impressions are reserved"
    );
    let allocated: i64 =
        sqlx::query("SELECT CAST(SUM(impressions) AS BIGINT) FROM booking_allocations")
            .fetch_one(s.inventory.db().pool())
            .await
            .unwrap()
            .get(0);
    assert_eq!(allocated, result.booked);
    let (stored, state) = s
        .inventory
        .booking(s.org, result.booking_id.unwrap())
        .await
        .unwrap();
    assert_eq!((stored, state.as_str()), (result.clone(), "booked"));

    let released = s
        .inventory
        .cancel_booking(s.org, result.booking_id.unwrap())
        .await
        .unwrap();
    assert_eq!(released, result.booked);
    assert_eq!(
        reserved(&s).await,
        0,
        "a cancellation releases exactly what was reserved"
    );
    assert!(matches!(
        s.inventory
            .cancel_booking(s.org, result.booking_id.unwrap())
            .await,
        Err(InventoryError::Conflict(_))
    ));
    assert!(matches!(
        s.inventory
            .cancel_booking(s.other_org, result.booking_id.unwrap())
            .await,
        Err(InventoryError::NotFound)
    ));
}

#[tokio::test]
async fn a_dry_run_shows_the_tree_and_reserves_nothing() {
    let s = setup().await;
    let dry = s
        .inventory
        .purchase(s.org, &request(500_001), true, None)
        .await
        .unwrap();
    assert!(dry.dry_run && !dry.committed && dry.booking_id.is_none());
    assert_eq!(reserved(&s).await, 0);
    let real = s
        .inventory
        .purchase(s.org, &request(500_001), false, None)
        .await
        .unwrap();
    assert_eq!(
        dry.platforms, real.platforms,
        "the dry run computes the same tree"
    );
}

#[tokio::test]
async fn too_big_a_purchase_books_nothing_or_only_what_fits() {
    let s = setup().await;
    // Group G2 (KBS-B, MBC-B) holds far less than G1: at ₩2,000,000 every G2 leaf is short
    // and every G1 leaf fits.
    let big = request(2_000_000);
    let all_or_nothing = s
        .inventory
        .purchase(s.org, &big, false, None)
        .await
        .unwrap();
    assert!(!all_or_nothing.committed && all_or_nothing.shortage > 0);
    assert_eq!(
        reserved(&s).await,
        0,
        "all-or-nothing rolls everything back"
    );
    check_tree(&all_or_nothing);

    let mut partial = big.clone();
    partial.policy = Policy::Partial;
    let kept = s
        .inventory
        .purchase(s.org, &partial, false, None)
        .await
        .unwrap();
    assert!(
        kept.committed && kept.shortage > 0 && kept.booked > 0,
        "{kept:?}"
    );
    assert_eq!(
        reserved(&s).await,
        kept.booked,
        "partial keeps exactly the leaves that fit"
    );
    for platform in &kept.platforms {
        assert!(
            platform.groups[0].content_owners.iter().all(|c| c.fits),
            "G1 fits"
        );
        assert!(
            platform.groups[1]
                .content_owners
                .iter()
                .all(|c| !c.fits && c.shortage > 0),
            "G2 is short"
        );
    }
    let g1: i64 = kept.platforms.iter().map(|p| p.groups[0].impressions).sum();
    assert_eq!(kept.booked, g1);
    // When no leaf fits, even `partial` books nothing.
    let mut hopeless = request(4_000_000_000);
    hopeless.policy = Policy::Partial;
    let none = s
        .inventory
        .purchase(s.org, &hopeless, false, None)
        .await
        .unwrap();
    assert!(!none.committed && none.booked == 0);
    assert_eq!(reserved(&s).await, kept.booked);
    assert_eq!(oversold_anywhere(&s).await, 0);
}

#[tokio::test]
async fn bad_purchases_are_refused_field_by_field_and_reserve_nothing() {
    let s = setup().await;
    let bad: PurchaseRequest = serde_json::from_value(serde_json::json!({
        "product": "NOPE", "amount": 0, "start": "2027-03-01", "end": "2027-02-01",
        "platforms": ["PC", "TV"],
        "targeting_groups": [{ "code": "G1", "weight_bp": 5000 }, { "code": "G9", "weight_bp": 0 }],
        "content_owners": [{ "code": "KBS", "ratio_bp": 6000 }, { "code": "SBS", "ratio_bp": 3000 }]
    }))
    .unwrap();
    let error = s
        .inventory
        .purchase(s.org, &bad, false, None)
        .await
        .unwrap_err();
    let InventoryError::PurchaseRefused { problems } = &error else {
        panic!("{error}")
    };
    for expected in [
        "amount: 0 must be more than 0 won",
        "product: 'NOPE' is not a product",
        "platforms[1]: 'TV' is not PC, MOBILE, APP or CTV",
        "end: 2027-02-01 is before start 2027-03-01",
        "targeting_groups[1].code: 'G9' is not a targeting group",
        "targeting_groups[1].weight_bp: must be more than 0",
        "targeting_groups: weight_bps add up to 5000 basis points, not 10000",
        "content_owners[1].code: 'SBS' is not a content owner",
        "content_owners: ratio_bps add up to 9000 basis points, not 10000",
    ] {
        assert!(
            problems.iter().any(|p| p == expected),
            "missing {expected:?} in {problems:#?}"
        );
    }
    let mut outside = request(1_000_000);
    outside.end = "2027-01-05".into();
    let error = s
        .inventory
        .purchase(s.org, &outside, false, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("start..end: 5 day(s) have no built unit inventory, first 2027-01-01"),
        "{error}"
    );
    let mut ctv = request(1_000_000);
    ctv.platforms.push("CTV".into());
    assert!(
        s.inventory
            .purchase(s.org, &ctv, false, None)
            .await
            .unwrap_err()
            .to_string()
            .contains("platforms[2]: product PRE has no CPM for CTV")
    );
    let tiny = request(5);
    assert!(
        s.inventory
            .purchase(s.org, &tiny, false, None)
            .await
            .unwrap_err()
            .to_string()
            .contains("buys less than one impression")
    );
    assert!(
        matches!(
            s.inventory
                .purchase(s.other_org, &request(1_000_000), false, None)
                .await,
            Err(InventoryError::PurchaseRefused { .. })
        ),
        "another organization has no such product"
    );
    assert_eq!(reserved(&s).await, 0);
    let bookings: i64 = sqlx::query("SELECT COUNT(*) FROM bookings")
        .fetch_one(s.inventory.db().pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(bookings, 0);
}

#[tokio::test]
async fn concurrent_purchases_never_oversell() {
    let s = setup().await;
    // Each buy wants about a third of the scarcest leaf (MOBILE/G2/MBC): some fit, the rest
    // must be refused or, with `partial`, keep only what still fits.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let inventory = s.inventory.clone();
            let org = s.org;
            let mut buy = request(300_000 + i * 1_000);
            if i % 2 == 1 {
                buy.policy = Policy::Partial;
            }
            tokio::spawn(async move { inventory.purchase(org, &buy, false, None).await })
        })
        .collect();
    let mut booked = 0;
    let mut committed = 0;
    let mut refused_whole = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(result) if result.committed => {
                committed += 1;
                booked += result.booked;
            }
            Ok(result) => {
                assert_eq!(result.booked, 0);
                if result.policy == Policy::AllOrNothing {
                    refused_whole += 1;
                }
            }
            Err(error) => panic!("a purchase failed instead of being refused or booked: {error}"),
        }
    }
    assert!(committed >= 1, "at least one purchase fits");
    assert!(
        refused_whole >= 1,
        "the inventory ran out for some all-or-nothing buys: the race was real"
    );
    assert_eq!(
        oversold_anywhere(&s).await,
        0,
        "reserved <= total everywhere"
    );
    assert_eq!(
        reserved(&s).await,
        booked,
        "successful purchases sum to the reserved totals"
    );
    let per_unit: i64 = sqlx::query(
        "SELECT COUNT(*) FROM unit_inventory u WHERE u.reserved <> (SELECT CAST(COALESCE(SUM(a.impressions), 0) AS BIGINT) FROM booking_allocations a WHERE a.unit_id = u.id)",
    )
    .fetch_one(s.inventory.db().pool())
    .await
    .unwrap()
    .get(0);
    assert_eq!(
        per_unit, 0,
        "every unit row's reserved equals its allocations"
    );
}

#[tokio::test]
async fn campaigns_book_their_lines_and_follow_their_ads() {
    use adpool_inventory::{NewCampaign, Status};
    let s = setup().await;
    let new = NewCampaign {
        advertiser: "한빛식품".into(),
        name: "겨울 프로모션".into(),
        start: "2026-12-01".into(),
        end: "2026-12-31".into(),
        total_budget: 1_000_000,
        owner: None,
    };
    let campaign = s
        .inventory
        .create_campaign(s.org, new.clone())
        .await
        .unwrap();
    assert_eq!(campaign.status, Status::Draft);
    let bad = NewCampaign {
        name: " ".into(),
        end: "2026-11-01".into(),
        total_budget: -1,
        ..new.clone()
    };
    let error = s
        .inventory
        .create_campaign(s.org, bad)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("name: must be 1 to 200 characters")
            && error.contains("end: 2026-11-01 is before start")
            && error.contains("total_budget"),
        "{error}"
    );
    // A proposal is a workbook, whose days begin in 1900 (schemathesis made one in 1587).
    let long_ago = NewCampaign {
        start: "1587-06-29".into(),
        end: "1587-07-01".into(),
        ..new.clone()
    };
    let error = s
        .inventory
        .create_campaign(s.org, long_ago)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("start: 1587-06-29 is outside the years 2000 to 2099"),
        "{error}"
    );

    // An end before its start used to pass as text inside the campaign (schemathesis sent
    // 0628-01-01), and its proposal could not be written.
    let mut backwards = request(100_000);
    backwards.end = "0628-01-01".into();
    let error = s
        .inventory
        .add_line(s.org, campaign.id, "L", backwards)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("end: 0628-01-01 is before start"), "{error}");

    let mut outside = request(100_000);
    outside.end = "2027-01-02".into();
    let error = s
        .inventory
        .add_line(s.org, campaign.id, "L", outside)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("outside the campaign's 2026-12-01..2026-12-31"),
        "{error}"
    );
    let error = s
        .inventory
        .add_line(s.org, campaign.id, "L", request(2_000_000))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("over the campaign budget ₩1,000,000"),
        "{error}"
    );
    let line = s
        .inventory
        .add_line(s.org, campaign.id, "프리롤 12월", request(500_001))
        .await
        .unwrap();
    assert!(matches!(
        s.inventory
            .add_line(s.other_org, campaign.id, "x", request(1))
            .await,
        Err(InventoryError::NotFound)
    ));

    let booked = s
        .inventory
        .book_line(s.org, line.id, false, None)
        .await
        .unwrap();
    assert!(booked.committed);
    assert!(
        matches!(
            s.inventory.book_line(s.org, line.id, false, None).await,
            Err(InventoryError::Conflict(_))
        ),
        "booked once"
    );
    let lines = s.inventory.lines(s.org, campaign.id).await.unwrap();
    assert_eq!(
        (lines[0].booking_id, lines[0].booked_impressions),
        (booked.booking_id, booked.booked)
    );
    assert!(matches!(
        s.inventory
            .book_line(s.other_org, line.id, false, None)
            .await,
        Err(InventoryError::NotFound)
    ));

    // The campaign status follows its ads by the documented priority.
    let a = s
        .inventory
        .add_ad(s.org, line.id, "15초 A", Some("https://cdn.example/a.mp4"))
        .await
        .unwrap();
    let b = s
        .inventory
        .add_ad(s.org, line.id, "15초 B", None)
        .await
        .unwrap();
    assert_eq!(campaign_status(&s, campaign.id).await, Status::Draft);
    assert_eq!(
        s.inventory
            .set_ad_status(s.org, a.id, Status::PendingReview)
            .await
            .unwrap()
            .1,
        Some(Status::PendingReview)
    );
    s.inventory
        .set_ad_status(s.org, b.id, Status::Scheduled)
        .await
        .unwrap();
    assert_eq!(campaign_status(&s, campaign.id).await, Status::Scheduled);
    s.inventory
        .set_ad_status(s.org, a.id, Status::Live)
        .await
        .unwrap();
    assert_eq!(campaign_status(&s, campaign.id).await, Status::Live);
    assert_eq!(
        s.inventory
            .set_ad_status(s.org, b.id, Status::Error)
            .await
            .unwrap()
            .1,
        Some(Status::Error)
    );
    s.inventory
        .set_ad_status(s.org, b.id, Status::Completed)
        .await
        .unwrap();
    assert_eq!(
        campaign_status(&s, campaign.id).await,
        Status::Live,
        "a completed ad does not hold the live one back"
    );
    s.inventory
        .set_ad_status(s.org, a.id, Status::Completed)
        .await
        .unwrap();
    assert_eq!(
        campaign_status(&s, campaign.id).await,
        Status::Completed,
        "completed only when all ads are"
    );
    assert!(matches!(
        s.inventory
            .set_ad_status(s.other_org, a.id, Status::Live)
            .await,
        Err(InventoryError::NotFound)
    ));

    // Drift (a status written around the ads) is found and fixed by the repair.
    sqlx::query("UPDATE campaigns SET status = 'PAUSED'")
        .execute(s.inventory.db().pool())
        .await
        .unwrap();
    let repair = s.inventory.repair_campaign_statuses(None).await.unwrap();
    assert_eq!((repair.campaigns, repair.ads, repair.fixed), (1, 2, 1));
    assert_eq!(campaign_status(&s, campaign.id).await, Status::Completed);
    assert_eq!(
        s.inventory
            .repair_campaign_statuses(Some(s.org))
            .await
            .unwrap()
            .fixed,
        0
    );
    assert!(
        s.inventory
            .campaigns(s.other_org, None, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.inventory
            .campaigns(s.org, Some(Status::Completed), Some("한빛식품"))
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn campaign_status(s: &Setup, id: i64) -> adpool_inventory::Status {
    s.inventory.campaign(s.org, id).await.unwrap().status
}

#[tokio::test]
async fn delivery_reports_are_idempotent_and_drive_pacing() {
    use adpool_inventory::{DeliveryReport, NewCampaign, PacingVerdict};
    let s = setup().await;
    let new = NewCampaign {
        advertiser: "a".into(),
        name: "c".into(),
        start: "2026-12-01".into(),
        end: "2026-12-31".into(),
        total_budget: 10_000_000,
        owner: None,
    };
    let campaign = s.inventory.create_campaign(s.org, new).await.unwrap();
    let mut line_request = request(150_000);
    line_request.end = "2026-12-10".into();
    let line = s
        .inventory
        .add_line(s.org, campaign.id, "L", line_request)
        .await
        .unwrap();
    let booked = s
        .inventory
        .book_line(s.org, line.id, false, None)
        .await
        .unwrap();
    assert!(booked.committed);
    assert_eq!(
        s.inventory.pacing(s.org, line.id).await.unwrap().verdict,
        PacingVerdict::NotStarted,
        "no day has ended yet"
    );

    // Later (KST 12-04), three days have ended.
    s.clock.set_millis(
        chrono::DateTime::parse_from_rfc3339("2026-12-04T10:00:00+09:00")
            .unwrap()
            .timestamp_millis(),
    );
    let pacing = s.inventory.pacing(s.org, line.id).await.unwrap();
    assert_eq!(pacing.days.len(), 10);
    assert_eq!(
        pacing.days.iter().map(|d| d.booked).sum::<i64>(),
        booked.booked
    );
    let expected: i64 = pacing.days[..3].iter().map(|d| d.booked).sum();
    assert_eq!(
        (pacing.expected_to_date, pacing.verdict),
        (expected, PacingVerdict::Behind),
        "nothing delivered yet"
    );

    let report = |date: &str, impressions: i64| DeliveryReport {
        line_id: line.id,
        date: date.into(),
        impressions,
        clicks: impressions / 100,
        views: impressions / 2,
    };
    let days: Vec<i64> = pacing.days[..3].iter().map(|d| d.booked).collect();
    let reports = vec![
        report("2026-12-01", days[0]),
        report("2026-12-02", days[1]),
        report("2026-12-03", days[2]),
    ];
    assert_eq!(
        s.inventory.record_delivery(s.org, &reports).await.unwrap(),
        3
    );
    assert_eq!(
        s.inventory.record_delivery(s.org, &reports).await.unwrap(),
        3,
        "a retried post changes nothing"
    );
    let on_track = s.inventory.pacing(s.org, line.id).await.unwrap();
    assert_eq!(
        (
            on_track.delivered_to_date,
            on_track.percent,
            on_track.verdict
        ),
        (expected, 100, PacingVerdict::OnTrack)
    );
    s.inventory
        .record_delivery(s.org, &[report("2026-12-03", days[2] * 3)])
        .await
        .unwrap();
    assert_eq!(
        s.inventory.pacing(s.org, line.id).await.unwrap().verdict,
        PacingVerdict::Ahead,
        "a corrected day replaces the old figure"
    );

    let bad = vec![
        DeliveryReport {
            line_id: 999_999,
            date: "2026-12-01".into(),
            impressions: 1,
            clicks: 0,
            views: 0,
        },
        DeliveryReport {
            line_id: line.id,
            date: "2026-12-25".into(),
            impressions: 1,
            clicks: 0,
            views: 0,
        },
        DeliveryReport {
            line_id: line.id,
            date: "2026-12-02".into(),
            impressions: 5,
            clicks: 9,
            views: -1,
        },
    ];
    let error = s
        .inventory
        .record_delivery(s.org, &bad)
        .await
        .unwrap_err()
        .to_string();
    for expected in [
        "reports[0].line_id: 999999 is not a campaign line",
        "reports[1].date: 2026-12-25 is outside the line's 2026-12-01..2026-12-10",
        "reports[2].views: -1 is negative",
        "reports[2]: clicks and views cannot exceed impressions",
    ] {
        assert!(error.contains(expected), "missing {expected:?} in {error}");
    }
    assert_eq!(
        s.inventory.pacing(s.org, line.id).await.unwrap().verdict,
        PacingVerdict::Ahead,
        "a refused post changes nothing"
    );
    assert!(
        s.inventory
            .record_delivery(s.other_org, &reports)
            .await
            .is_err(),
        "another organization's lines are unknown"
    );
}

#[tokio::test]
async fn campaign_status_changes_are_sent_as_signed_webhooks_and_retried() {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use adpool_inventory::{NewCampaign, Status};
    use adpool_jobs::{
        EVENT_JOB_KIND, EventDelivery, JobOutcome, Jobs, Registry, Worker, WorkerConfig,
        backoff_millis, sign, signing_secret,
    };
    use axum::http::{HeaderMap, StatusCode};

    let s = setup().await;
    // A receiver that fails once, then records what it gets.
    let received: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = {
        let (received, calls) = (received.clone(), calls.clone());
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| async move {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    return StatusCode::BAD_GATEWAY;
                }
                received.lock().unwrap().push((headers, body));
                StatusCode::OK
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    sqlx::query("UPDATE organizations SET webhook_url = $1 WHERE id = $2")
        .bind(format!("http://{address}/hook"))
        .bind(s.org.get())
        .execute(s.inventory.db().pool())
        .await
        .unwrap();

    let new = NewCampaign {
        advertiser: "한빛식품".into(),
        name: "겨울".into(),
        start: "2026-12-01".into(),
        end: "2026-12-31".into(),
        total_budget: 1_000_000,
        owner: None,
    };
    let campaign = s.inventory.create_campaign(s.org, new).await.unwrap();
    let line = s
        .inventory
        .add_line(s.org, campaign.id, "L", request(100_000))
        .await
        .unwrap();
    let ad = s.inventory.add_ad(s.org, line.id, "A", None).await.unwrap();
    s.inventory
        .set_ad_status(s.org, ad.id, Status::Live)
        .await
        .unwrap();

    let jobs = Jobs::new(s.inventory.db().clone(), s.clock.clone());
    let mut registry = Registry::new();
    // The receiver is on this machine: the deployment allows it (public hosts only by default).
    let rules = adpool_jobs::OutboundRules::new(["127.0.0.1"]);
    registry.register(EVENT_JOB_KIND, 1, EventDelivery::new(rules));
    let worker = Worker::new(jobs.clone(), registry, WorkerConfig::default());
    assert!(
        matches!(
            worker.run_once().await.unwrap(),
            Some(JobOutcome::Retrying { .. })
        ),
        "the first delivery fails and is retried"
    );
    s.clock.advance_millis(backoff_millis(1));
    assert!(matches!(
        worker.run_once().await.unwrap(),
        Some(JobOutcome::Succeeded(_))
    ));
    assert!(
        worker.run_once().await.unwrap().is_none(),
        "one status change, one event (DRAFT -> LIVE)"
    );

    let secret = signing_secret(&jobs, s.org).await.unwrap();
    let (headers, body) = received.lock().unwrap()[0].clone();
    let body = &body;
    let event: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["type"], "campaign.status_changed");
    assert_eq!(
        (
            event["data"]["status"].as_str(),
            event["data"]["previous_status"].as_str()
        ),
        (Some("LIVE"), Some("DRAFT"))
    );
    assert_eq!(headers["x-adpool-event"], "campaign.status_changed");
    let timestamp: i64 = headers["x-adpool-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        headers["x-adpool-signature"].to_str().unwrap(),
        sign(&secret, timestamp, body),
        "the receiver can verify the signature"
    );
    assert_ne!(
        headers["x-adpool-signature"].to_str().unwrap(),
        sign("whsec_wrong", timestamp, body)
    );
}

#[tokio::test]
async fn a_proposal_gathers_the_lines_and_their_curation_from_the_catalog() {
    use adpool_inventory::{NewCampaign, blended_ecpm};
    let s = setup().await;
    // Re-applying the catalog turns one member of G2 into a channel and one into a keyword.
    let catalog: CatalogDocument = serde_json::from_str(
        r#"{
          "content_owners": [{ "code": "KBS", "name": "한국방송" }, { "code": "MBC", "name": "MBC" }],
          "media": [{ "code": "WAVVE", "name": "웨이브" }],
          "meta_ids": [
            { "media": "WAVVE", "code": "KBS-A", "name": "A", "content_owner": "KBS", "kind": "program" },
            { "media": "WAVVE", "code": "KBS-B", "name": "요리 채널", "content_owner": "KBS", "kind": "channel" },
            { "media": "WAVVE", "code": "MBC-A", "name": "C", "content_owner": "MBC", "kind": "program" },
            { "media": "WAVVE", "code": "MBC-B", "name": "겨울 간식", "content_owner": "MBC", "kind": "keyword" }
          ],
          "products": [{ "code": "PRE", "name": "pre-roll", "type": "program", "ad_type": "pre-roll", "cpm": { "PC": 9000, "MOBILE": 8000 }, "ctr_bp": 80, "vtr_bp": 7500 }],
          "targeting_groups": [
            { "code": "G1", "name": "one", "weight_bp": 6000, "members": ["WAVVE/KBS-A", "WAVVE/MBC-A"] },
            { "code": "G2", "name": "two", "weight_bp": 4000, "members": ["WAVVE/KBS-B", "WAVVE/MBC-B"] }
          ]
        }"#,
    )
    .unwrap();
    s.inventory.apply_catalog(s.org, &catalog).await.unwrap();
    let campaign = s
        .inventory
        .create_campaign(
            s.org,
            NewCampaign {
                advertiser: "한빛식품".into(),
                name: "겨울".into(),
                start: "2026-12-01".into(),
                end: "2026-12-31".into(),
                total_budget: 1_000_000,
                owner: None,
            },
        )
        .await
        .unwrap();
    s.inventory
        .add_line(s.org, campaign.id, "L", request(100_000))
        .await
        .unwrap();

    let proposal = s
        .inventory
        .proposal(s.org, campaign.id, "김영업")
        .await
        .unwrap();
    assert_eq!(
        (proposal.advertiser.as_str(), proposal.total_budget),
        ("한빛식품", 1_000_000)
    );
    assert_eq!(proposal.prepared_on.to_string(), "2026-11-21", "KST today");
    let line = &proposal.lines[..];
    assert_eq!(line.len(), 1);
    assert_eq!(
        (
            line[0].media.as_str(),
            line[0].platforms.as_str(),
            line[0].budget
        ),
        ("웨이브", "PC, MOBILE", 100_000)
    );
    assert_eq!(line[0].ecpm, blended_ecpm(&[9000, 8000]));
    assert_eq!(
        line[0].ecpm, 8471,
        "100,000 won split over 9,000 and 8,000 CPMs"
    );
    assert_eq!(line[0].targeting, "G1 40% / G2 60%");
    assert_eq!(
        proposal.curation.programs,
        [
            ("MBC".to_owned(), vec!["C".to_owned()]),
            ("한국방송".to_owned(), vec!["A".to_owned()]),
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(proposal.curation.channels, vec!["요리 채널".to_owned()]);
    assert_eq!(proposal.curation.keywords, vec!["겨울 간식".to_owned()]);

    assert!(matches!(
        s.inventory
            .proposal(s.other_org, campaign.id, "x")
            .await
            .unwrap_err(),
        InventoryError::NotFound
    ));
}

async fn count(s: &Setup, table: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(s.inventory.db().pool())
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_database_fault_in_the_middle_of_a_purchase_books_nothing_and_the_retry_books_once() {
    use adpool_store::testing::{Fault, FaultPoint, inject_fault};
    let s = setup().await;
    let db = s.inventory.db().clone();
    // Faults after some allocation rows are written, and while reserving unit inventory: each
    // strikes inside the purchase's transaction, after parts of it were already written.
    for (point, fault) in [
        (
            FaultPoint::InsertAfter("booking_allocations", 5),
            Fault::Error,
        ),
        (
            FaultPoint::InsertAfter("booking_allocations", 0),
            Fault::Timeout,
        ),
        (FaultPoint::Update("unit_inventory"), Fault::Error),
        (FaultPoint::InsertAfter("bookings", 0), Fault::Timeout),
    ] {
        let planted = inject_fault(&db, point, fault).await;
        let error = s
            .inventory
            .purchase(s.org, &request(500_001), false, None)
            .await
            .expect_err("the purchase reports the fault");
        assert!(
            error.to_string().contains(fault.message()),
            "{point:?}: the error names the database's reason: {error}"
        );
        planted.clear().await;
        assert_eq!(reserved(&s).await, 0, "{point:?}: nothing stays reserved");
        assert_eq!(count(&s, "bookings").await, 0, "{point:?}: no booking");
        assert_eq!(count(&s, "booking_allocations").await, 0, "{point:?}");
    }
    // The same purchase, retried once the database works, books exactly once.
    let result = s
        .inventory
        .purchase(s.org, &request(500_001), false, None)
        .await
        .unwrap();
    assert!(result.committed, "{result:?}");
    assert_eq!(reserved(&s).await, result.booked);
    assert_eq!(count(&s, "bookings").await, 1);
    assert_eq!(oversold_anywhere(&s).await, 0);
}
