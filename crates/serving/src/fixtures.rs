//! The CPC market the benchmarks run against (`crates/web/examples/serve_bench.rs`,
//! `crates/adpool/examples/scale_out_seed.rs`): 40 approved advertisers with 5 ads each over 8
//! categories and 3 placements, money enough for millions of clicks, and one site.

use adpool_core::{OrgId, UserId};

use crate::{NewCpcCampaign, NewProductAd, NewSite, Serving, ServingError, SignUp};

/// The placements of the bench market.
pub const BENCH_PLACEMENTS: [&str; 3] = ["home_top", "search_result", "product_detail"];

/// The categories of the bench market.
pub const BENCH_CATEGORIES: [&str; 8] = [
    "camping", "outdoor", "kitchen", "sports", "beauty", "kids", "fashion", "digital",
];

/// Seeds the bench market in `org`; returns the site's API key.
pub async fn seed_bench_market(
    serving: &Serving,
    org: OrgId,
    admin: UserId,
) -> Result<String, ServingError> {
    for code in BENCH_PLACEMENTS {
        serving.add_placement(org, code, code).await?;
    }
    let key = serving
        .create_site(
            org,
            &NewSite {
                name: "bench".into(),
                media_key: "bench".into(),
                allowed_origins: vec![],
            },
        )
        .await?
        .key;
    for a in 0..40 {
        let registration = crate::with_check_digit(&format!("{:09}", 100_000_000 + a * 7919))
            .ok_or_else(|| ServingError::Conflict("no registration number".into()))?;
        let advertiser = serving
            .sign_up(
                org,
                None,
                &SignUp {
                    business_name: format!("advertiser {a}"),
                    registration_number: registration,
                    contact_name: "k".into(),
                    contact_email: "a@b.kr".into(),
                    contact_phone: "010".into(),
                },
            )
            .await?;
        serving
            .approve_advertiser(org, advertiser.id, admin)
            .await?;
        serving
            .top_up(org, advertiser.id, 1_000_000_000, "bench", "", admin)
            .await?;
        let campaign = serving
            .create_campaign(
                org,
                advertiser.id,
                &NewCpcCampaign {
                    name: format!("c{a}"),
                    daily_budget: 1_000_000_000,
                    placements: BENCH_PLACEMENTS.iter().map(|p| (*p).to_owned()).collect(),
                },
            )
            .await?;
        for i in 0..5 {
            serving
                .add_ad(
                    org,
                    campaign.id,
                    &NewProductAd {
                        product_id: format!("p-{a}-{i}"),
                        title: format!("상품 {a}-{i}"),
                        image_url: "https://img.example.com/p.jpg".into(),
                        landing_url: "https://shop.example.com/p".into(),
                        category: BENCH_CATEGORIES[(a + i) % BENCH_CATEGORIES.len()].into(),
                        bid: 70 + ((a * 37 + i * 11) % 400) as i64,
                    },
                )
                .await?;
        }
        // Reviewed with its ads, as a new campaign is.
        serving.review_campaign(org, campaign.id, true, "").await?;
    }
    Ok(key)
}
