//! CPC contract: onboarding, ledger, campaigns, ranking, ad query, clicks, attribution,
//! settlement. Runs on SQLite, and on PostgreSQL when ADPOOL_TEST_DATABASE_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

use std::sync::Arc;
use std::time::Duration;

use adpool_core::{BusinessDate, Clock, ManualClock, OrgId, UserId};
use adpool_serving::{
    AdQuery, AdReview, AdState, CampaignState, ClickOutcome, EntryKind, InvalidReason,
    NewCpcCampaign, NewProductAd, NewSite, OrderEvent, OrderItem, OrderStatus, OrderTime, Serving,
    ServingConfig, ServingError, SignUp, Site,
};
use adpool_store::Db;
use adpool_store::testing::fresh_database;

const HOUR: i64 = 3_600_000;

struct Setup {
    serving: Serving,
    db: Db,
    clock: Arc<ManualClock>,
    org: OrgId,
    other_org: OrgId,
    admin: UserId,
    site: Arc<Site>,
    logs: tempfile::TempDir,
}

fn config(logs: &std::path::Path) -> ServingConfig {
    ServingConfig {
        event_log_folder: Some(logs.to_owned()),
        ..ServingConfig::default()
    }
}

async fn setup() -> Setup {
    let db = fresh_database().await;
    let mut orgs = Vec::new();
    for name in ["Shop Platform", "Other Platform"] {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO organizations (name, created_at) VALUES ($1, 0) RETURNING id",
        )
        .bind(name)
        .fetch_one(db.pool())
        .await
        .unwrap();
        orgs.push(OrgId(id));
    }
    let admin: i64 = sqlx::query_scalar(
        "INSERT INTO users (org_id, email, display_name, role, password_hash, created_at) VALUES ($1, 'admin@shop.kr', 'Admin', 'admin', 'x', 0) RETURNING id",
    )
    .bind(orgs[0].get())
    .fetch_one(db.pool())
    .await
    .unwrap();
    let clock = Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00"));
    let logs = tempfile::tempdir().unwrap();
    let serving = Serving::new(db.clone(), clock.clone(), config(logs.path()));
    for (org, code) in [
        (orgs[0], "home_top"),
        (orgs[0], "search_result"),
        (orgs[1], "home_top"),
    ] {
        serving.add_placement(org, code, "").await.unwrap();
    }
    let key = serving
        .create_site(
            orgs[0],
            &NewSite {
                name: "Shop front".into(),
                media_key: "shop-web".into(),
                allowed_origins: vec!["https://shop.example.com".into()],
            },
        )
        .await
        .unwrap();
    let site = serving
        .site_by_key(&key.key)
        .expect("the new key works at once");
    Setup {
        serving,
        db,
        clock,
        org: orgs[0],
        other_org: orgs[1],
        admin: UserId(admin),
        site,
        logs,
    }
}

fn sign_up(name: &str, number: &str) -> SignUp {
    SignUp {
        business_name: name.into(),
        registration_number: number.into(),
        contact_name: "김민수".into(),
        contact_email: "ads@example.kr".into(),
        contact_phone: "010-1234-5678".into(),
    }
}

/// Nine-digit prefix -> a valid registration number.
fn registration(prefix: &str) -> String {
    adpool_serving::with_check_digit(prefix).unwrap()
}

fn ad(product: &str, category: &str, bid: i64) -> NewProductAd {
    NewProductAd {
        product_id: product.into(),
        title: format!("상품 {product}"),
        image_url: format!("https://img.example.com/{product}.jpg"),
        landing_url: format!("https://shop.example.com/p/{product}"),
        category: category.into(),
        bid,
    }
}

impl Setup {
    /// An approved advertiser with `balance` won and an active campaign of one ad.
    async fn advertiser_with_ad(
        &self,
        prefix: &str,
        balance: i64,
        daily_budget: i64,
        product: &str,
        bid: i64,
    ) -> (i64, i64, i64) {
        let s = &self.serving;
        let advertiser = s
            .sign_up(
                self.org,
                None,
                &sign_up(&format!("광고주 {prefix}"), &registration(prefix)),
            )
            .await
            .unwrap();
        s.approve_advertiser(self.org, advertiser.id, self.admin)
            .await
            .unwrap();
        if balance > 0 {
            s.top_up(
                self.org,
                advertiser.id,
                balance,
                &format!("pay-{prefix}"),
                "",
                self.admin,
            )
            .await
            .unwrap();
        }
        let campaign = s
            .create_campaign(
                self.org,
                advertiser.id,
                &NewCpcCampaign {
                    name: format!("캠페인 {prefix}"),
                    daily_budget,
                    placements: vec!["home_top".into()],
                },
            )
            .await
            .unwrap();
        let ad = s
            .add_ad(self.org, campaign.id, &ad(product, "camping", bid))
            .await
            .unwrap();
        s.review_campaign(self.org, campaign.id, true, "")
            .await
            .unwrap();
        (advertiser.id, campaign.id, ad.id)
    }

    fn query(&self, user: &str, n: usize) -> adpool_serving::AdQueryAnswer {
        self.serving.query_ads(
            &self.site,
            &AdQuery {
                placement: "home_top".into(),
                category: "camping".into(),
                n,
                user: user.into(),
                ..AdQuery::default()
            },
            "",
        )
    }

    async fn balance(&self, advertiser: i64) -> i64 {
        self.serving
            .advertiser(self.org, advertiser)
            .await
            .unwrap()
            .balance
    }

    async fn assert_ledgers_verify(&self) {
        let (checked, mismatches) = self.serving.verify_ledgers().await.unwrap();
        assert!(checked > 0);
        assert!(mismatches.is_empty(), "{mismatches:?}");
    }
}

fn token(click_url: &str) -> &str {
    click_url.split("t=").nth(1).unwrap()
}

#[tokio::test]
async fn onboarding_review_and_idempotent_top_up() {
    let t = setup().await;
    let s = &t.serving;
    let bad = s
        .sign_up(t.org, None, &sign_up("캠핑월드", "220-81-62518"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            bad,
            ServingError::Invalid {
                field: "registration_number",
                ..
            }
        ),
        "{bad}"
    );
    let advertiser = s
        .sign_up(t.org, None, &sign_up("캠핑월드", "2208162517"))
        .await
        .unwrap();
    assert_eq!(advertiser.registration_number, "220-81-62517");
    let again = s
        .sign_up(t.org, None, &sign_up("캠핑월드 2", "220-81-62517"))
        .await
        .unwrap_err();
    assert!(again.to_string().contains("already signed up"), "{again}");
    // Another organization may sign the same business up on its own platform.
    s.sign_up(t.other_org, None, &sign_up("캠핑월드", "220-81-62517"))
        .await
        .unwrap();

    let early = s
        .top_up(t.org, advertiser.id, 10_000, "k1", "", t.admin)
        .await
        .unwrap_err();
    assert!(
        early.to_string().contains("only an approved advertiser"),
        "{early}"
    );
    assert!(matches!(
        s.reject_advertiser(t.org, advertiser.id, t.admin, " ")
            .await,
        Err(ServingError::Invalid {
            field: "reason",
            ..
        })
    ));
    let rejected = s
        .reject_advertiser(t.org, advertiser.id, t.admin, "서류 미비")
        .await
        .unwrap();
    assert_eq!(rejected.rejection_reason.as_deref(), Some("서류 미비"));
    let approved = s
        .approve_advertiser(t.org, advertiser.id, t.admin)
        .await
        .unwrap();
    assert_eq!(approved.state, adpool_serving::AdvertiserState::Approved);
    assert!(matches!(
        s.advertiser(t.other_org, advertiser.id).await,
        Err(ServingError::NotFound)
    ));

    assert!(matches!(
        s.top_up(t.org, advertiser.id, 10_000, "", "", t.admin)
            .await,
        Err(ServingError::Invalid {
            field: "idempotency_key",
            ..
        })
    ));
    assert!(matches!(
        s.top_up(t.org, advertiser.id, 0, "k1", "", t.admin).await,
        Err(ServingError::Invalid {
            field: "amount",
            ..
        })
    ));
    let first = s
        .top_up(
            t.org,
            advertiser.id,
            50_000,
            "pay-001",
            "bank transfer",
            t.admin,
        )
        .await
        .unwrap();
    assert!(!first.repeated);
    let repeat = s
        .top_up(
            t.org,
            advertiser.id,
            50_000,
            "pay-001",
            "bank transfer",
            t.admin,
        )
        .await
        .unwrap();
    assert!(repeat.repeated);
    assert_eq!(repeat.entry.id, first.entry.id);
    let conflict = s
        .top_up(t.org, advertiser.id, 60_000, "pay-001", "", t.admin)
        .await
        .unwrap_err();
    assert!(
        conflict
            .to_string()
            .contains("was used for a top-up of 50000 won"),
        "{conflict}"
    );
    assert_eq!(t.balance(advertiser.id).await, 50_000);

    let taken = s
        .adjust_balance(t.org, advertiser.id, -60_000, "correction", t.admin)
        .await
        .unwrap_err();
    assert!(taken.to_string().contains("below zero"), "{taken}");
    s.adjust_balance(t.org, advertiser.id, -5_000, "correction", t.admin)
        .await
        .unwrap();
    let ledger = s.ledger(t.org, advertiser.id, 100).await.unwrap();
    assert_eq!(ledger.len(), 2);
    assert_eq!(ledger[0].balance_after, 45_000);
    // L5 (docs/hardening.md): adjustments are bounded and a sum past the balance cap is a
    // field error, never an overflow (SQLite would store a float, PostgreSQL fail with 500).
    for amount in [i64::MAX, i64::MIN, 1_000_000_000_001, -1_000_000_000_001] {
        let refused = s
            .adjust_balance(t.org, advertiser.id, amount, "overflow probe", t.admin)
            .await
            .unwrap_err();
        assert!(
            matches!(
                refused,
                ServingError::Invalid {
                    field: "amount",
                    ..
                }
            ),
            "{amount}: {refused:?}"
        );
    }
    for _ in 0..1000 {
        if s.adjust_balance(
            t.org,
            advertiser.id,
            1_000_000_000_000,
            "cap probe",
            t.admin,
        )
        .await
        .is_err()
        {
            break;
        }
    }
    let capped = t.balance(advertiser.id).await;
    assert!(capped <= adpool_serving::MAX_BALANCE_WON, "{capped}");
    assert!(capped > 999_000_000_000_000, "{capped}");
    let ledger = s.ledger(t.org, advertiser.id, 2000).await.unwrap();
    assert_eq!(ledger[0].kind, EntryKind::Adjustment);
    assert_eq!(ledger[0].balance_after, capped);
    assert_eq!(ledger.last().unwrap().balance_after, 50_000);
    t.assert_ledgers_verify().await;
}

#[tokio::test]
async fn concurrent_top_ups_with_one_key_apply_once() {
    let t = setup().await;
    let (advertiser, _, _) = t
        .advertiser_with_ad("101000000", 0, 10_000, "p1", 100)
        .await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = t.serving.clone();
        let (org, admin) = (t.org, t.admin);
        tasks.push(tokio::spawn(async move {
            s.top_up(org, advertiser, 30_000, "same-key", "", admin)
                .await
        }));
    }
    let mut applied = 0;
    for task in tasks {
        if !task.await.unwrap().unwrap().repeated {
            applied += 1;
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(t.balance(advertiser).await, 30_000);
    t.assert_ledgers_verify().await;
}

#[tokio::test]
async fn campaigns_need_review_and_valid_bids() {
    let t = setup().await;
    let s = &t.serving;
    let advertiser = s
        .sign_up(t.org, None, &sign_up("A", &registration("102000000")))
        .await
        .unwrap();
    let new = NewCpcCampaign {
        name: "겨울".into(),
        daily_budget: 50_000,
        placements: vec!["home_top".into()],
    };
    let pending = s
        .create_campaign(t.org, advertiser.id, &new)
        .await
        .unwrap_err();
    assert!(
        pending.to_string().contains("approved advertiser"),
        "{pending}"
    );
    s.approve_advertiser(t.org, advertiser.id, t.admin)
        .await
        .unwrap();
    let unknown = s
        .create_campaign(
            t.org,
            advertiser.id,
            &NewCpcCampaign {
                placements: vec!["sidebar".into()],
                ..new.clone()
            },
        )
        .await
        .unwrap_err();
    assert!(
        unknown.to_string().contains("'sidebar' is not a placement"),
        "{unknown}"
    );
    let campaign = s.create_campaign(t.org, advertiser.id, &new).await.unwrap();
    assert_eq!(campaign.state, CampaignState::Review);
    let low = s
        .add_ad(t.org, campaign.id, &ad("p1", "camping", 69))
        .await
        .unwrap_err();
    assert!(
        matches!(low, ServingError::Invalid { field: "bid", .. }),
        "{low}"
    );
    let bad_url = s
        .add_ad(
            t.org,
            campaign.id,
            &NewProductAd {
                landing_url: "javascript:alert(1)".into(),
                ..ad("p1", "camping", 100)
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        bad_url,
        ServingError::Invalid {
            field: "landing_url",
            ..
        }
    ));
    // A scheme alone, or a host no URL parser reads (schemathesis sent both), is no address.
    for image_url in ["http://", "http://[x"] {
        let error = s
            .add_ad(
                t.org,
                campaign.id,
                &NewProductAd {
                    image_url: image_url.into(),
                    ..ad("p1", "camping", 100)
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                ServingError::Invalid {
                    field: "image_url",
                    ..
                }
            ),
            "{image_url}: {error}"
        );
    }
    // A review's reason is kept, up to 500 characters, whether it approves or rejects.
    let essay = "가".repeat(501);
    for approve in [true, false] {
        let error = s
            .review_campaign(t.org, campaign.id, approve, &essay)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                ServingError::Invalid {
                    field: "reason",
                    ..
                }
            ),
            "{error}"
        );
    }
    s.add_ad(t.org, campaign.id, &ad("p1", "camping", 100))
        .await
        .unwrap();
    assert!(
        t.query("u", 4).ads.is_empty(),
        "a campaign in review does not serve"
    );
    assert!(
        s.set_campaign_state(t.org, campaign.id, CampaignState::Paused)
            .await
            .is_err(),
        "review -> paused is not a transition"
    );
    s.review_campaign(t.org, campaign.id, true, "")
        .await
        .unwrap();
    s.top_up(t.org, advertiser.id, 10_000, "k", "", t.admin)
        .await
        .unwrap();
    assert_eq!(t.query("u", 4).ads.len(), 1);
    // L6 (docs/hardening.md): an ad added to the approved campaign waits for its own review.
    let late = s
        .add_ad(t.org, campaign.id, &ad("p2", "camping", 900))
        .await
        .unwrap();
    assert_eq!(late.review, AdReview::Review);
    let served = t.query("u", 4);
    assert!(
        served.ads.iter().all(|a| a.ad_id != late.id),
        "not served before review"
    );
    assert!(
        s.review_ad(t.org, late.id, false, " ").await.is_err(),
        "a rejection needs a reason"
    );
    let approved = s.review_ad(t.org, late.id, true, "").await.unwrap();
    assert_eq!(approved.review, AdReview::Approved);
    assert!(t.query("u", 4).ads.iter().any(|a| a.ad_id == late.id));
    assert!(
        s.review_ad(t.org, late.id, true, "").await.is_err(),
        "reviewed once"
    );
    let other = s
        .add_ad(t.org, campaign.id, &ad("p3", "camping", 950))
        .await
        .unwrap();
    let rejected = s
        .review_ad(t.org, other.id, false, "랜딩 페이지가 상품과 다릅니다")
        .await
        .unwrap();
    assert_eq!(rejected.review, AdReview::Rejected);
    assert!(t.query("u", 4).ads.iter().all(|a| a.ad_id != other.id));
    s.set_campaign_state(t.org, campaign.id, CampaignState::Paused)
        .await
        .unwrap();
    assert!(
        t.query("u", 4).ads.is_empty(),
        "a paused campaign leaves at once"
    );
    s.set_campaign_state(t.org, campaign.id, CampaignState::Active)
        .await
        .unwrap();
    s.set_campaign_state(t.org, campaign.id, CampaignState::Ended)
        .await
        .unwrap();
    assert!(
        s.set_campaign_state(t.org, campaign.id, CampaignState::Active)
            .await
            .is_err()
    );
    assert!(t.query("u", 4).ads.is_empty());
}

#[tokio::test]
async fn the_query_ranks_by_bid_times_pctr_and_prices_by_second_price() {
    let t = setup().await;
    let (_, _, a) = t
        .advertiser_with_ad("103000000", 100_000, 100_000, "pa", 500)
        .await;
    let (_, _, b) = t
        .advertiser_with_ad("104000000", 100_000, 100_000, "pb", 300)
        .await;
    let (_, _, c) = t
        .advertiser_with_ad("105000000", 100_000, 100_000, "pc", 100)
        .await;
    let answer = t.query("u-1", 2);
    let ids: Vec<i64> = answer.ads.iter().map(|x| x.ad_id).collect();
    assert_eq!(ids, vec![a, b], "n limits the answer");
    // With equal pCTR (the prior), the price is the next bid.
    let prices: Vec<i64> = answer.ads.iter().map(|x| x.price).collect();
    assert_eq!(prices, vec![300, 100]);
    let all = t.query("u-1", 10);
    assert_eq!(all.ads.len(), 3);
    assert_eq!(all.ads[2].ad_id, c);
    assert_eq!(all.ads[2].price, 70, "the last ad pays the reserve");
    assert!(all.ads[0].click_url.starts_with("/serve/click?t="));
    assert_ne!(all.ads[0].impression_id, answer.ads[0].impression_id);

    // Another organization's site sees none of it; an unknown placement answers empty.
    let other = t
        .serving
        .create_site(
            t.other_org,
            &NewSite {
                name: "other".into(),
                media_key: "other".into(),
                allowed_origins: vec![],
            },
        )
        .await
        .unwrap();
    let other_site = t.serving.site_by_key(&other.key).unwrap();
    assert!(
        t.serving
            .query_ads(
                &other_site,
                &AdQuery {
                    placement: "home_top".into(),
                    ..AdQuery::default()
                },
                ""
            )
            .ads
            .is_empty()
    );
    assert!(
        t.serving
            .query_ads(
                &t.site,
                &AdQuery {
                    placement: "nowhere".into(),
                    ..AdQuery::default()
                },
                ""
            )
            .ads
            .is_empty()
    );
    assert_eq!(
        t.site
            .allow_origin(Some("https://shop.example.com"))
            .as_deref(),
        Some("https://shop.example.com")
    );
    assert_eq!(t.site.allow_origin(Some("https://evil.example.com")), None);
    assert_eq!(other_site.allow_origin(None).as_deref(), Some("*"));
    t.serving
        .revoke_site(t.other_org, other.site.id)
        .await
        .unwrap();
    assert!(
        t.serving.site_by_key(&other.key).is_none(),
        "a revoked key stops at once"
    );
    assert!(t.serving.site_by_key("adk_nope").is_none());

    // A bid change re-ranks at once.
    t.serving
        .update_ad(t.org, c, Some(900), Some(AdState::Active))
        .await
        .unwrap();
    assert_eq!(t.query("u-1", 1).ads[0].ad_id, c);
}

#[tokio::test]
async fn a_valid_click_charges_once_and_bad_clicks_charge_nothing() {
    let t = setup().await;
    let (advertiser, campaign, ad_id) = t
        .advertiser_with_ad("106000000", 10_000, 50_000, "tent", 200)
        .await;
    t.advertiser_with_ad("107000000", 10_000, 50_000, "stove", 150)
        .await;
    let served = t.query("user-1", 2);
    let first = &served.ads[0];
    assert_eq!(first.ad_id, ad_id);
    assert_eq!(first.price, 150);
    let outcome = t.serving.click(token(&first.click_url)).await.unwrap();
    let ClickOutcome::Charged {
        price, landing_url, ..
    } = &outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        (*price, landing_url.as_str()),
        (150, "https://shop.example.com/p/tent")
    );
    assert_eq!(t.balance(advertiser).await, 9_850);
    assert_eq!(
        t.serving
            .campaign(t.org, campaign)
            .await
            .unwrap()
            .spent_today,
        150
    );

    let invalid = |o: ClickOutcome| match o {
        ClickOutcome::Invalid { reason, .. } => reason,
        other => panic!("{other:?}"),
    };
    // The same impression again.
    assert_eq!(
        invalid(t.serving.click(token(&first.click_url)).await.unwrap()),
        InvalidReason::DuplicateImpression
    );
    // The same user on the same ad through another impression, within the window.
    let again = t.query("user-1", 1);
    assert_eq!(
        invalid(
            t.serving
                .click(token(&again.ads[0].click_url))
                .await
                .unwrap()
        ),
        InvalidReason::DuplicateUserAd
    );
    // A forged token, an altered price, an expired token.
    assert_eq!(
        invalid(t.serving.click("not-a-token").await.unwrap()),
        InvalidReason::Forged
    );
    let fresh = t.query("user-2", 1);
    let mut altered = token(&fresh.ads[0].click_url).to_owned();
    altered.insert(3, 'x');
    let forged = t.serving.click(&altered).await.unwrap();
    assert_eq!(
        forged.landing_url(),
        None,
        "a forged token sends nobody anywhere"
    );
    assert_eq!(invalid(forged), InvalidReason::Forged);
    t.clock.advance_millis(31 * 60 * 1000);
    let expired = t
        .serving
        .click(token(&fresh.ads[0].click_url))
        .await
        .unwrap();
    assert_eq!(
        expired.landing_url(),
        Some("https://shop.example.com/p/tent")
    );
    assert_eq!(invalid(expired), InvalidReason::Expired);
    // After the window the same user may be charged again.
    let later = t.query("user-1", 1);
    assert!(matches!(
        t.serving
            .click(token(&later.ads[0].click_url))
            .await
            .unwrap(),
        ClickOutcome::Charged { .. }
    ));
    assert_eq!(t.balance(advertiser).await, 9_850 - later.ads[0].price);
    let metrics = t
        .serving
        .metrics(
            t.org,
            &adpool_serving::MetricsFilter {
                campaign: Some(campaign),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let total = adpool_serving::Totals::of(&metrics);
    assert_eq!(total.clicks, 2);
    // Duplicate impression, duplicate user-ad, expired; forged tokens name no ad.
    assert_eq!(total.invalid_clicks, 3);
    assert_eq!(total.spend, 150 + later.ads[0].price);
    assert_eq!(total.impressions, 4);
    t.assert_ledgers_verify().await;
}

#[tokio::test]
async fn an_ad_that_cannot_pay_leaves_the_ranking_at_once_and_the_budget_resets_at_kst_midnight() {
    let t = setup().await;
    // Budget for two clicks at 100 won; plenty of balance.
    let (advertiser, campaign, ad_id) = t
        .advertiser_with_ad("108000000", 100_000, 200, "lamp", 100)
        .await;
    t.clock.set_millis(
        BusinessDate::from_ymd(2026, 11, 21)
            .unwrap()
            .end_utc_millis()
            - 3 * HOUR,
    );
    let mut charged = 0;
    for user in ["a", "b", "c"] {
        let answer = t.query(user, 1);
        if answer.ads.is_empty() {
            break;
        }
        assert_eq!(answer.ads[0].ad_id, ad_id);
        if let ClickOutcome::Charged { price, .. } = t
            .serving
            .click(token(&answer.ads[0].click_url))
            .await
            .unwrap()
        {
            charged += price;
        }
    }
    assert_eq!(
        charged, 140,
        "two clicks at the reserve price, the third cannot fit"
    );
    assert!(
        t.query("d", 1).ads.is_empty(),
        "70 won left: the ad left the ranking"
    );
    let spent = t
        .serving
        .campaign(t.org, campaign)
        .await
        .unwrap()
        .spent_today;
    assert!(spent <= 250);
    // A token served before the budget ran out is refused, not charged.
    // Midnight KST: the budget is new (after the next refresh).
    t.clock.advance_millis(3 * HOUR);
    t.serving.refresh().await.unwrap();
    let answer = t.query("a", 1);
    assert_eq!(answer.ads.len(), 1, "the budget resets at KST midnight");
    assert!(matches!(
        t.serving
            .click(token(&answer.ads[0].click_url))
            .await
            .unwrap(),
        ClickOutcome::Charged { .. }
    ));
    assert_eq!(
        t.serving
            .campaign(t.org, campaign)
            .await
            .unwrap()
            .spent_today,
        70
    );

    // The balance: drain it to below one click and the ad is gone at once.
    let balance = t.balance(advertiser).await;
    t.serving
        .adjust_balance(t.org, advertiser, -(balance - 60), "test", t.admin)
        .await
        .unwrap();
    assert!(t.query("z", 1).ads.is_empty());
    t.assert_ledgers_verify().await;
}

#[tokio::test]
async fn a_token_served_before_the_money_ran_out_is_refused_with_the_reason() {
    let t = setup().await;
    let (advertiser, _, _) = t
        .advertiser_with_ad("109000000", 100, 10_000, "cup", 100)
        .await;
    let one = t.query("u1", 1);
    let two = t.query("u2", 1);
    assert!(matches!(
        t.serving.click(token(&one.ads[0].click_url)).await.unwrap(),
        ClickOutcome::Charged { .. }
    ));
    let refused = t.serving.click(token(&two.ads[0].click_url)).await.unwrap();
    assert_eq!(
        refused,
        ClickOutcome::Invalid {
            reason: InvalidReason::BalanceExhausted,
            landing_url: Some("https://shop.example.com/p/cup".into())
        }
    );
    assert_eq!(t.balance(advertiser).await, 30);
    t.assert_ledgers_verify().await;
}

#[tokio::test]
async fn many_concurrent_clicks_never_overspend() {
    let t = setup().await;
    // 1,000 won pays 10 clicks at 100 won; 60 users click at once.
    let (advertiser, campaign, _) = t
        .advertiser_with_ad("110000000", 1_000, 1_000_000, "bag", 100)
        .await;
    t.advertiser_with_ad("111000000", 1_000_000, 1_000_000, "other", 100)
        .await;
    let mut tokens = Vec::new();
    for user in 0..60 {
        let answer = t.query(&format!("user-{user}"), 2);
        for served in answer.ads {
            tokens.push(token(&served.click_url).to_owned());
        }
    }
    let mut tasks = Vec::new();
    for token in tokens.clone() {
        let s = t.serving.clone();
        tasks.push(tokio::spawn(async move { s.click(&token).await }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }
    let charged_to_first: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(price), 0) AS BIGINT) FROM cpc_clicks WHERE advertiser_id = $1",
    )
    .bind(advertiser)
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert!(charged_to_first <= 1_000, "charged {charged_to_first}");
    assert_eq!(t.balance(advertiser).await, 1_000 - charged_to_first);
    assert!(t.balance(advertiser).await >= 0);
    assert!(outcomes.iter().any(|o| matches!(
        o,
        ClickOutcome::Invalid {
            reason: InvalidReason::BalanceExhausted,
            ..
        }
    )));
    let spent = t
        .serving
        .campaign(t.org, campaign)
        .await
        .unwrap()
        .spent_today;
    assert_eq!(spent, charged_to_first, "budget spend and charges agree");
    t.assert_ledgers_verify().await;
    // Replaying every token charges nothing more.
    for token in &tokens {
        assert!(matches!(
            t.serving.click(token).await.unwrap(),
            ClickOutcome::Invalid { .. }
        ));
    }
    assert_eq!(t.balance(advertiser).await, 1_000 - charged_to_first);
}

#[tokio::test]
async fn clicks_cut_off_mid_flight_lose_no_charge_and_double_charge_none() {
    let t = setup().await;
    let (advertiser, _, _) = t
        .advertiser_with_ad("112000000", 1_000_000, 10_000_000, "mat", 100)
        .await;
    let tokens: Vec<String> = (0..80)
        .map(|u| token(&t.query(&format!("u{u}"), 1).ads[0].click_url).to_owned())
        .collect();
    // Start every click, then abort them at arbitrary points (the process "dies").
    let mut tasks = Vec::new();
    for token in tokens.clone() {
        let s = t.serving.clone();
        tasks.push(tokio::spawn(async move { s.click(&token).await }));
    }
    tokio::time::sleep(Duration::from_millis(15)).await;
    for task in &tasks {
        task.abort();
    }
    for task in tasks {
        let _ = task.await;
    }
    // A new process on the same database, replaying every click (clients retry).
    let restarted = Serving::new(t.db.clone(), t.clock.clone(), config(t.logs.path()));
    restarted.refresh().await.unwrap();
    for token in &tokens {
        restarted.click(token).await.unwrap();
    }
    let clicks: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM cpc_clicks WHERE advertiser_id = $1")
            .bind(advertiser)
            .fetch_one(t.db.pool())
            .await
            .unwrap();
    assert_eq!(clicks, 80, "every impression charged exactly once");
    assert_eq!(
        t.balance(advertiser).await,
        1_000_000 - 80 * 70,
        "alone in its ranking, it pays the reserve"
    );
    let entries: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cpc_ledger WHERE advertiser_id = $1 AND kind = 'charge'",
    )
    .bind(advertiser)
    .fetch_one(t.db.pool())
    .await
    .unwrap();
    assert_eq!(entries, 80);
    t.assert_ledgers_verify().await;
}

fn order(id: &str, user: &str, status: OrderStatus, ts: i64, items: &[(&str, i64)]) -> OrderEvent {
    OrderEvent {
        order_id: id.into(),
        user: user.into(),
        status,
        ts: OrderTime::Unix(ts),
        items: items
            .iter()
            .map(|(p, amount)| OrderItem {
                product_id: (*p).into(),
                qty: 1,
                amount: *amount,
            })
            .collect(),
    }
}

#[tokio::test]
async fn orders_go_to_the_last_click_within_24_hours_once_and_cancel_reverses() {
    let t = setup().await;
    let (_, campaign, ad_id) = t
        .advertiser_with_ad("113000000", 100_000, 100_000, "tent", 100)
        .await;
    let clicked_at = t.clock.now_millis();
    let served = t.query("buyer", 1);
    assert!(matches!(
        t.serving
            .click(token(&served.ads[0].click_url))
            .await
            .unwrap(),
        ClickOutcome::Charged { .. }
    ));
    let s = &t.serving;
    // Exactly 24 hours later still counts (milliseconds); one millisecond more does not.
    let edge = s
        .record_order(
            t.org,
            &order(
                "o-1",
                "buyer",
                OrderStatus::Completed,
                clicked_at + 24 * HOUR,
                &[("tent", 59_000), ("sock", 5_000)],
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        edge.conversions.len(),
        1,
        "only the clicked product converts"
    );
    assert_eq!(edge.conversions[0].ad_id, ad_id);
    assert_eq!(edge.conversions[0].revenue_amount, 59_000);
    let late = s
        .record_order(
            t.org,
            &order(
                "o-2",
                "buyer",
                OrderStatus::Completed,
                clicked_at + 24 * HOUR + 1,
                &[("tent", 59_000)],
            ),
        )
        .await
        .unwrap();
    assert!(late.conversions.is_empty());
    let before = s
        .record_order(
            t.org,
            &order(
                "o-3",
                "buyer",
                OrderStatus::Completed,
                clicked_at - 1,
                &[("tent", 59_000)],
            ),
        )
        .await
        .unwrap();
    assert!(
        before.conversions.is_empty(),
        "a click after the order is not its cause"
    );
    let stranger = s
        .record_order(
            t.org,
            &order(
                "o-4",
                "someone",
                OrderStatus::Completed,
                clicked_at + HOUR,
                &[("tent", 59_000)],
            ),
        )
        .await
        .unwrap();
    assert!(stranger.conversions.is_empty());
    // Seconds work too; the same order id again counts once.
    let in_seconds = s
        .record_order(
            t.org,
            &order(
                "o-5",
                "buyer",
                OrderStatus::Completed,
                (clicked_at + HOUR) / 1000,
                &[("tent", 10_000)],
            ),
        )
        .await
        .unwrap();
    assert_eq!(in_seconds.conversions.len(), 1);
    let repeat = s
        .record_order(
            t.org,
            &order(
                "o-5",
                "buyer",
                OrderStatus::Completed,
                (clicked_at + HOUR) / 1000,
                &[("tent", 10_000)],
            ),
        )
        .await
        .unwrap();
    assert!(repeat.repeated);
    let metrics = adpool_serving::Totals::of(
        &s.metrics(
            t.org,
            &adpool_serving::MetricsFilter {
                campaign: Some(campaign),
                ..Default::default()
            },
        )
        .await
        .unwrap(),
    );
    assert_eq!((metrics.conversions, metrics.revenue), (2, 69_000));
    assert!(
        (metrics.roas - 69_000.0 / 70.0).abs() < 1e-9,
        "{}",
        metrics.roas
    );
    let cancelled = s
        .record_order(
            t.org,
            &order(
                "o-1",
                "buyer",
                OrderStatus::Cancelled,
                clicked_at + 25 * HOUR,
                &[],
            ),
        )
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert!(cancelled.conversions[0].reversed_at.is_some());
    assert!(
        s.record_order(
            t.org,
            &order("o-1", "buyer", OrderStatus::Cancelled, 0, &[])
        )
        .await
        .unwrap()
        .repeated
    );
    let metrics = adpool_serving::Totals::of(
        &s.metrics(
            t.org,
            &adpool_serving::MetricsFilter {
                campaign: Some(campaign),
                ..Default::default()
            },
        )
        .await
        .unwrap(),
    );
    assert_eq!((metrics.conversions, metrics.revenue), (1, 10_000));
    // Bad input names the field and records nothing.
    let bad = s
        .record_order(
            t.org,
            &order("o-9", "buyer", OrderStatus::Completed, clicked_at, &[]),
        )
        .await
        .unwrap_err();
    assert!(matches!(bad, ServingError::Invalid { field: "items", .. }));
    let bad_ts = s
        .record_order(
            t.org,
            &OrderEvent {
                ts: OrderTime::Text("yesterday".into()),
                ..order("o-9", "buyer", OrderStatus::Completed, 0, &[("tent", 1)])
            },
        )
        .await
        .unwrap_err();
    assert!(bad_ts.to_string().contains("'yesterday'"), "{bad_ts}");
    let retried = s
        .record_order(
            t.org,
            &order(
                "o-9",
                "buyer",
                OrderStatus::Completed,
                clicked_at + 1,
                &[("tent", 1)],
            ),
        )
        .await
        .unwrap();
    assert!(!retried.repeated, "a refused event left nothing behind");
}

#[tokio::test]
async fn refunds_settlement_and_the_event_log() {
    let t = setup().await;
    let (advertiser, _, ad_id) = t
        .advertiser_with_ad("114000000", 10_000, 100_000, "mug", 100)
        .await;
    let served = t.query("u", 1);
    let ClickOutcome::Charged { click_id, .. } = t
        .serving
        .click(token(&served.ads[0].click_url))
        .await
        .unwrap()
    else {
        panic!()
    };
    t.serving
        .refund_click(t.org, click_id, "bot traffic", t.admin)
        .await
        .unwrap();
    assert!(
        t.serving
            .refund_click(t.org, click_id, "again", t.admin)
            .await
            .is_err()
    );
    assert_eq!(t.balance(advertiser).await, 10_000);
    let today = BusinessDate::from_utc_millis(t.clock.now_millis());
    let statement = t
        .serving
        .settlement(t.org, advertiser, today)
        .await
        .unwrap();
    assert_eq!(statement.opening_balance, 0);
    assert_eq!(
        (statement.top_ups, statement.charges, statement.refunds),
        (10_000, 70, 70)
    );
    assert_eq!(statement.closing_balance, 10_000);
    let csv = adpool_serving::settlement_csv(&statement);
    assert!(csv.contains(",charge,-70,9930,"), "{csv}");
    assert!(csv.contains("bot traffic"));
    let tomorrow = t
        .serving
        .settlement(t.org, advertiser, today.next())
        .await
        .unwrap();
    assert_eq!(
        (tomorrow.opening_balance, tomorrow.closing_balance),
        (10_000, 10_000)
    );
    t.assert_ledgers_verify().await;

    // The event log: req, res, imp and clk lines in the analytics format.
    t.serving.roll_event_log();
    let mut lines = Vec::new();
    let own = t.logs.path().join(format!("org-{}", t.org.get()));
    for day in std::fs::read_dir(&own).unwrap().flatten() {
        for file in std::fs::read_dir(day.path()).unwrap().flatten() {
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut flate2::read::GzDecoder::new(std::fs::File::open(file.path()).unwrap()),
                &mut text,
            )
            .unwrap();
            lines.extend(
                text.lines()
                    .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()),
            );
        }
    }
    let kinds: Vec<&str> = lines.iter().map(|l| l["ev"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["req", "res", "imp", "clk"]);
    assert_eq!(lines[2]["ads"][0]["_god"], ad_id);
    assert_eq!(lines[2]["ads"][0]["did"], advertiser);
    assert_eq!(lines[2]["mid"], "shop-web");
    assert_eq!(lines[3]["rev"], 70);
}

#[tokio::test]
async fn a_database_fault_in_the_middle_of_a_click_charges_nothing_and_the_retry_charges_once() {
    use adpool_store::testing::{Fault, FaultPoint, inject_fault};
    let t = setup().await;
    let (advertiser, campaign, _) = t
        .advertiser_with_ad("113000000", 10_000, 50_000, "lamp", 300)
        .await;
    let served = t.query("fault-user", 1);
    let click = token(&served.ads[0].click_url).to_owned();
    let ledger_entries = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM cpc_ledger WHERE advertiser_id = $1")
            .bind(advertiser)
            .fetch_one(t.db.pool())
            .await
            .unwrap()
    };
    let before = ledger_entries().await;
    // Each write of a charge fails in turn, after the others in its transaction were made.
    for (point, fault) in [
        (FaultPoint::InsertAfter("cpc_ledger", 0), Fault::Error),
        (FaultPoint::Update("cpc_advertisers"), Fault::Timeout),
        (FaultPoint::InsertAfter("cpc_clicks", 0), Fault::Error),
    ] {
        let planted = inject_fault(&t.db, point, fault).await;
        let error =
            t.serving.click(&click).await.expect_err(
                "the click reports the fault (the edge answers 5xx; the client retries)",
            );
        assert!(
            error.to_string().contains(fault.message()),
            "{point:?}: {error}"
        );
        planted.clear().await;
        assert_eq!(
            t.balance(advertiser).await,
            10_000,
            "{point:?}: nothing charged"
        );
        assert_eq!(ledger_entries().await, before, "{point:?}: no ledger entry");
        assert_eq!(
            t.serving
                .campaign(t.org, campaign)
                .await
                .unwrap()
                .spent_today,
            0,
            "{point:?}: no budget spent"
        );
    }
    // The client retries the same click: charged exactly once.
    let outcome = t.serving.click(&click).await.unwrap();
    assert!(
        matches!(outcome, ClickOutcome::Charged { price: 70, .. }),
        "{outcome:?}"
    );
    let again = t.serving.click(&click).await.unwrap();
    assert!(matches!(again, ClickOutcome::Invalid { .. }), "{again:?}");
    assert_eq!(t.balance(advertiser).await, 10_000 - 70);
    assert_eq!(ledger_entries().await, before + 1);
    t.assert_ledgers_verify().await;
}

/// M5 (docs/hardening.md): one browser that sends a new user id with every ad query had 30 of
/// 30 clicks charged. From one client (address and user agent) only the first is charged; the
/// rest are recorded as invalid with their reason, and the visitor still lands.
#[tokio::test]
async fn a_client_rotating_user_ids_is_charged_once() {
    let t = setup().await;
    let (advertiser, _, _) = t
        .advertiser_with_ad("108000000", 100_000, 500_000, "tent", 200)
        .await;
    let client = "198.51.100.7 Mozilla/5.0 (X11; Linux x86_64) Chrome/131";
    let (mut charged, mut spent) = (0, 0);
    for i in 0..30 {
        let served = t.query(&format!("fresh-user-{i}"), 1);
        let outcome = t
            .serving
            .click_from(token(&served.ads[0].click_url), Some(client))
            .await
            .unwrap();
        assert!(
            outcome.landing_url().is_some(),
            "the visitor lands either way"
        );
        match outcome {
            ClickOutcome::Charged { price, .. } => {
                charged += 1;
                spent += price;
            }
            ClickOutcome::Invalid { reason, .. } => {
                assert_eq!(reason, InvalidReason::ClientRotatingUsers)
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(charged, 1);
    let recorded: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cpc_invalid_clicks WHERE reason = 'client_rotating_users'",
    )
    .fetch_one(t.serving.db().pool())
    .await
    .unwrap();
    assert_eq!(recorded, 29);
    // Another browser is a different client.
    let served = t.query("someone-else", 1);
    let other = t
        .serving
        .click_from(
            token(&served.ads[0].click_url),
            Some("203.0.113.9 Safari/17"),
        )
        .await
        .unwrap();
    let ClickOutcome::Charged { price, .. } = other else {
        panic!("{other:?}")
    };
    assert_eq!(t.balance(advertiser).await, 100_000 - spent - price);
    t.assert_ledgers_verify().await;
}
