//! The CPC part of `adpool demo`: placements, a shop site with its key, advertisers in every
//! review state, campaigns and product ads, and two weeks of simulated traffic (queries,
//! clicks, duplicate and expired clicks, orders and cancellations) run through the real
//! serving code on a manual clock, so every page shows real numbers and the event log holds
//! two weeks of files.

use std::sync::Arc;

use adpool_accounts::{OrgId, UserId};
use adpool_core::{BusinessDate, Clock, ManualClock, SharedClock};
use adpool_serving::{
    AdQuery, ClickOutcome, NewCpcCampaign, NewProductAd, NewSite, OrderEvent, OrderItem,
    OrderStatus, OrderTime, Serving, ServingConfig, SignUp,
};
use adpool_store::Db;
use anyhow::Context;

use crate::demo::Dice;

const HOUR: i64 = 3_600_000;

/// (business name, registration prefix, top-up, daily budget, [(product, title, category, bid, price, true CTR)])
type DemoAdvertiser = (
    &'static str,
    &'static str,
    i64,
    i64,
    &'static [(&'static str, &'static str, &'static str, i64, i64, f64)],
);

const ADVERTISERS: &[DemoAdvertiser] = &[
    (
        "캠핑월드",
        "220816251",
        1_500_000,
        60_000,
        &[
            (
                "CW-TENT-4P",
                "4인용 돔 텐트",
                "camping",
                420,
                289_000,
                0.045,
            ),
            ("CW-STOVE", "캠핑 버너 세트", "camping", 260, 69_000, 0.03),
            (
                "CW-CHAIR",
                "경량 릴랙스 체어",
                "camping",
                180,
                49_000,
                0.025,
            ),
        ],
    ),
    (
        "아웃도어랩",
        "105870127",
        800_000,
        40_000,
        &[
            (
                "OL-JACKET",
                "고어텍스 등산 자켓",
                "outdoor",
                380,
                259_000,
                0.035,
            ),
            ("OL-LANTERN", "LED 캠핑 랜턴", "camping", 200, 39_000, 0.03),
        ],
    ),
    (
        "홈카페 스토어",
        "214861434",
        600_000,
        30_000,
        &[
            (
                "HC-GRINDER",
                "핸드 커피 그라인더",
                "kitchen",
                250,
                59_000,
                0.04,
            ),
            (
                "HC-DRIPPER",
                "세라믹 드리퍼 세트",
                "kitchen",
                150,
                32_000,
                0.03,
            ),
        ],
    ),
    (
        "러닝메이트",
        "119812345",
        15_000,
        30_000,
        &[("RM-SHOES", "쿠셔닝 러닝화", "sports", 300, 129_000, 0.05)],
    ),
];

fn registration(prefix: &str) -> String {
    adpool_serving::with_check_digit(prefix).unwrap_or_else(|| format!("{prefix}0"))
}

fn sign_up(name: &str, prefix: &str) -> SignUp {
    SignUp {
        business_name: name.into(),
        registration_number: registration(prefix),
        contact_name: "담당자".into(),
        contact_email: format!("ads+{prefix}@example.kr"),
        contact_phone: "02-1234-5678".into(),
    }
}

/// Seeds CPC for `org`; `advertiser_user` manages the first advertiser. Returns the demo
/// site's API key.
pub async fn seed_cpc(
    db: &Db,
    now: i64,
    org: OrgId,
    admin: UserId,
    advertiser_user: Option<UserId>,
    event_logs: Option<std::path::PathBuf>,
) -> anyhow::Result<String> {
    let days = 14;
    let start = BusinessDate::from_utc_millis(now)
        .add_days(-days)
        .start_utc_millis();
    let clock = Arc::new(ManualClock::at_millis(start));
    let shared: SharedClock = clock.clone();
    let serving = Serving::new(
        db.clone(),
        shared,
        ServingConfig {
            event_log_folder: event_logs,
            ..ServingConfig::default()
        },
    );
    for (code, name) in [
        ("home_top", "홈 상단"),
        ("search_result", "검색 결과"),
        ("product_detail", "상품 상세"),
    ] {
        serving.add_placement(org, code, name).await?;
    }
    let site = serving
        .create_site(
            org,
            &NewSite {
                name: "데모 쇼핑몰".into(),
                media_key: "demo-shop".into(),
                allowed_origins: Vec::new(),
            },
        )
        .await?;
    let site_ref = serving
        .site_by_key(&site.key)
        .context("the demo site key")?;

    let mut products = Vec::new();
    for (i, (name, prefix, top_up, budget, ads)) in ADVERTISERS.iter().enumerate() {
        let user = if i == 0 { advertiser_user } else { None };
        let advertiser = serving.sign_up(org, user, &sign_up(name, prefix)).await?;
        serving
            .approve_advertiser(org, advertiser.id, admin)
            .await?;
        serving
            .top_up(
                org,
                advertiser.id,
                *top_up,
                &format!("demo-{prefix}"),
                "계좌이체",
                admin,
            )
            .await?;
        let campaign = serving
            .create_campaign(
                org,
                advertiser.id,
                &NewCpcCampaign {
                    name: format!("{name} 상시 캠페인"),
                    daily_budget: *budget,
                    placements: vec!["home_top".into(), "search_result".into()],
                },
            )
            .await?;
        for (product, title, category, bid, price, ctr) in *ads {
            let ad = serving
                .add_ad(
                    org,
                    campaign.id,
                    &NewProductAd {
                        product_id: (*product).into(),
                        title: (*title).into(),
                        image_url: format!("https://picsum.photos/seed/{product}/200"),
                        landing_url: format!("https://shop.demo.adpool.kr/products/{product}"),
                        category: (*category).into(),
                        bid: *bid,
                    },
                )
                .await?;
            products.push((ad.id, (*product).to_owned(), *price, *ctr));
        }
        // Reviewed with its ads, as a new campaign is.
        serving.review_campaign(org, campaign.id, true, "").await?;
    }
    // One campaign waiting for review, one advertiser waiting, one rejected.
    let first = serving.advertisers(org, None).await?;
    if let Some(camping) = first.iter().find(|a| a.business_name == "캠핑월드") {
        let review = serving
            .create_campaign(
                org,
                camping.id,
                &NewCpcCampaign {
                    name: "캠핑월드 겨울 기획전".into(),
                    daily_budget: 100_000,
                    placements: vec!["product_detail".into()],
                },
            )
            .await?;
        serving
            .add_ad(
                org,
                review.id,
                &NewProductAd {
                    product_id: "CW-HEATER".into(),
                    title: "캠핑용 무시동 히터".into(),
                    image_url: "https://picsum.photos/seed/CW-HEATER/200".into(),
                    landing_url: "https://shop.demo.adpool.kr/products/CW-HEATER".into(),
                    category: "camping".into(),
                    bid: 500,
                },
            )
            .await?;
    }
    serving
        .sign_up(org, None, &sign_up("키즈토이 컴퍼니", "120865432"))
        .await?;
    let rejected = serving
        .sign_up(org, None, &sign_up("급전대출나라", "131863571"))
        .await?;
    serving
        .reject_advertiser(org, rejected.id, admin, "광고 불가 업종 (대부업)")
        .await?;

    simulate(&serving, &clock, &site_ref, org, &products, days, now).await?;
    serving.flush_impressions().await?;
    serving.shutdown().await?;
    Ok(site.key)
}

/// Two weeks of shoppers: each hour some queries per placement and category; a shown ad is
/// clicked with its true CTR (less further down); a click sometimes turns into an order within
/// hours, and some orders are cancelled. A few clicks are replayed or arrive too late.
async fn simulate(
    serving: &Serving,
    clock: &ManualClock,
    site: &adpool_serving::Site,
    org: OrgId,
    products: &[(i64, String, i64, f64)],
    days: i64,
    until: i64,
) -> anyhow::Result<()> {
    let mut dice = Dice(0x005e_edad_9001);
    let mut pending_orders: Vec<(i64, OrderEvent)> = Vec::new();
    let mut order_no = 0;
    let categories = ["", "camping", "outdoor", "kitchen", "sports"];
    let first_day = BusinessDate::from_utc_millis(clock.now_millis()).start_utc_millis();
    let mut late_tokens: Vec<String> = Vec::new();
    for day in 0..=days {
        let day_start = first_day + day * 24 * HOUR;
        for hour in 0..24i64 {
            if day_start + (hour + 1) * HOUR > until {
                break;
            }
            clock.set_millis(day_start + hour * HOUR);
            // Tokens kept from the last hour are past their 30-minute expiry now.
            for token in late_tokens.drain(..) {
                serving.click(&token).await?;
            }
            serving.refresh().await?;
            // Busier in the evening.
            let queries = if (19..=23).contains(&hour) {
                80
            } else if hour < 7 {
                6
            } else {
                30
            };
            for q in 0..queries {
                clock.advance_millis(HOUR / (queries + 1));
                let user = format!("shopper-{}", dice.below(400));
                let placement = if q % 3 == 0 {
                    "search_result"
                } else {
                    "home_top"
                };
                let category = categories[dice.below(categories.len() as u64) as usize];
                let answer = serving.query_ads(
                    site,
                    &AdQuery {
                        placement: placement.into(),
                        category: category.into(),
                        n: 3,
                        user: user.clone(),
                        device: Some(if dice.chance(0.7) { "mobile" } else { "pc" }.into()),
                        app: Some(if dice.chance(0.5) { "web" } else { "ios" }.into()),
                    },
                    "https://ads.demo.adpool.kr",
                );
                for (slot, ad) in answer.ads.iter().enumerate() {
                    let true_ctr = products
                        .iter()
                        .find(|p| p.0 == ad.ad_id)
                        .map_or(0.02, |p| p.3)
                        / (slot as f64 + 1.0).sqrt();
                    if !dice.chance(true_ctr) {
                        continue;
                    }
                    let token = ad.click_url.split("t=").nth(1).unwrap_or_default();
                    if dice.chance(0.03) {
                        late_tokens.push(token.to_owned()); // clicked after its expiry
                        continue;
                    }
                    let outcome = serving.click(token).await?;
                    if dice.chance(0.08) {
                        serving.click(token).await?; // a double click: a duplicate, not charged
                    }
                    if let ClickOutcome::Charged { .. } = outcome
                        && let Some((_, product, price, _)) =
                            products.iter().find(|p| p.0 == ad.ad_id)
                        && dice.chance(0.02)
                    {
                        order_no += 1;
                        let at = clock.now_millis() + (dice.below(20) as i64 + 1) * HOUR / 2;
                        pending_orders.push((
                            at,
                            OrderEvent {
                                order_id: format!("DEMO-{order_no:05}"),
                                user: user.clone(),
                                status: OrderStatus::Completed,
                                ts: OrderTime::Unix(at),
                                items: vec![OrderItem {
                                    product_id: product.clone(),
                                    qty: 1,
                                    amount: *price,
                                }],
                            },
                        ));
                    }
                }
                // Orders whose time has come.
                let now = clock.now_millis();
                let (due, later): (Vec<_>, Vec<_>) =
                    pending_orders.drain(..).partition(|(at, _)| *at <= now);
                pending_orders = later;
                for (_, order) in due {
                    serving.record_order(org, &order).await?;
                    if dice.chance(0.1) {
                        let mut cancel = order.clone();
                        cancel.status = OrderStatus::Cancelled;
                        cancel.items.clear();
                        serving.record_order(org, &cancel).await?;
                    }
                }
            }
        }
    }
    // A forged click, so every invalid reason is visible.
    serving.click("forged.token").await?;
    Ok(())
}
