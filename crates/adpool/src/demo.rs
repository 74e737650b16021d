//! `adpool demo`: a fresh demo database with demo organizations, users, jobs and
//! notifications, served at once. It only ever touches `./adpool-data/demo.db`.

use std::path::Path;
use std::sync::Arc;

use adpool_accounts::{Accounts, NewUser, Role};
use adpool_core::{SharedClock, SystemClock};
use adpool_jobs::{
    BoxFuture, JobContext, JobError, JobHandler, Level, NewJob, NewNotification, Notifications,
};
use anyhow::Context;
use serde_json::json;

use crate::config::Config;
use crate::server;

/// The demo database file; never the production one.
pub const DEMO_DB_PATH: &str = "./adpool-data/demo.db";
/// Where the demo's ad server writes its event logs (rebuilt on every run).
pub const DEMO_EVENT_LOGS: &str = "./adpool-data/demo-event-logs";
/// Where the demo writes its partner media's ad-server logs (rebuilt on every run).
pub const DEMO_PARTNER_LOGS: &str = "./adpool-data/demo-partner-logs";
/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "adpool-demo-2026";
/// A job kind that only exists in the demo: it walks through steps so the jobs page shows
/// live progress, and fails on request so the retry button has something to do.
pub const DEMO_JOB_KIND: &str = "demo.walkthrough";

/// (organization, email, name, role)
pub const DEMO_USERS: &[(&str, &str, &str, Role)] = &[
    (
        "데모 미디어 (Demo Media)",
        "admin@demo.adpool.kr",
        "김관리 (Admin)",
        Role::Admin,
    ),
    (
        "데모 미디어 (Demo Media)",
        "ops@demo.adpool.kr",
        "이운영 (Ad ops)",
        Role::Operator,
    ),
    (
        "데모 미디어 (Demo Media)",
        "analyst@demo.adpool.kr",
        "박분석 (Analyst)",
        Role::Analyst,
    ),
    (
        "데모 미디어 (Demo Media)",
        "camping@advertiser.demo.adpool.kr",
        "정캠핑 (CPC advertiser)",
        Role::Advertiser,
    ),
    (
        "데모 광고주 (Demo Advertiser)",
        "ads@advertiser.demo.adpool.kr",
        "최광고 (Advertiser)",
        Role::Advertiser,
    ),
];

struct Walkthrough;

impl JobHandler for Walkthrough {
    fn run<'a>(
        &'a self,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, Result<Option<serde_json::Value>, JobError>> {
        Box::pin(async move {
            let steps = ctx.job.payload["steps"]
                .as_i64()
                .unwrap_or(10)
                .clamp(1, 100);
            for step in 0..steps {
                ctx.progress(
                    step,
                    Some(steps),
                    Some(&format!("step {} of {steps}", step + 1)),
                )
                .await?;
                tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            }
            if let Some(reason) = ctx.job.payload["fail_with"].as_str() {
                return Err(JobError::permanent(reason));
            }
            Ok(Some(json!({ "steps": steps })))
        })
    }
}

/// Deletes the demo database files.
fn remove_demo_files() -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{DEMO_DB_PATH}{suffix}");
        if Path::new(&path).exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove old demo database {path}"))?;
        }
    }
    Ok(())
}

/// What the demo made that the banner shows.
pub struct Seeded {
    /// The demo shop site's API key for `GET /serve/ads`.
    pub site_key: String,
    /// The fake platform servers the demo's stores sync from.
    pub platforms: crate::demo_shops::DemoPlatforms,
}

/// Fills a migrated, empty database with the demo data.
pub async fn seed(
    db: &adpool_store::Db,
    clock: SharedClock,
    event_logs: Option<std::path::PathBuf>,
    vault: adpool_commerce::Vault,
) -> anyhow::Result<Seeded> {
    let clock_for_shops = clock.clone();
    let clock_for_inventory = clock.clone();
    let clock_for_logs = clock.clone();
    let accounts = Accounts::new(db.clone(), clock.clone());
    let jobs = adpool_jobs::Jobs::new(db.clone(), clock);
    let notifications = Notifications::new(jobs.clone());
    let mut orgs = Vec::new();
    for (org_name, email, name, role) in DEMO_USERS {
        let org = match accounts.organization_by_name(org_name).await? {
            Some(org) => org,
            None => {
                let org = accounts.create_organization(org_name).await?;
                orgs.push(org.clone());
                org
            }
        };
        accounts
            .create_user(NewUser {
                org_id: org.id,
                email: (*email).into(),
                display_name: (*name).into(),
                role: *role,
                password: DEMO_PASSWORD.into(),
            })
            .await?;
    }
    for org in &orgs {
        notifications
            .notify(NewNotification::new(org.id, Level::Info, "adpool 데모에 오신 것을 환영합니다 / Welcome to the adpool demo", "Demo data is rebuilt on every `adpool demo`. 데모 데이터는 실행할 때마다 새로 만들어집니다.").link("/"))
            .await?;
    }
    let media = &orgs[0];
    let admin = accounts
        .users(media.id)
        .await?
        .into_iter()
        .find(|u| u.role == Role::Admin)
        .context("demo admin")?;
    let now = clock_for_inventory.now_millis();
    seed_inventory(db, clock_for_inventory, media.id, admin.id)
        .await
        .context("demo inventory")?;
    let cpc_user = accounts
        .users(media.id)
        .await?
        .into_iter()
        .find(|u| u.role == Role::Advertiser)
        .map(|u| u.id);
    let site_key =
        crate::demo_cpc::seed_cpc(db, now, media.id, admin.id, cpc_user, event_logs.clone())
            .await
            .context("demo CPC ads")?;
    // Each organization's partner logs in a folder of its own, the root the demo lets it
    // analyze from the web (log_folder_roots with {org}).
    let partner_logs = event_logs
        .as_deref()
        .and_then(std::path::Path::parent)
        .map_or_else(
            || std::path::PathBuf::from(DEMO_PARTNER_LOGS),
            |parent| parent.join("demo-partner-logs"),
        )
        .join(format!("org-{}", media.id.get()));
    crate::demo_logs::seed_logs(
        db,
        &clock_for_logs,
        media.id,
        &partner_logs,
        event_logs.as_deref(),
    )
    .await
    .context("demo ad-log reports")?;
    let shops = adpool_commerce::Shops::new(db.clone(), clock_for_shops.clone(), vault);
    let platforms = crate::demo_shops::seed_shops(
        &shops,
        media.id,
        admin.id,
        clock_for_shops.now_millis(),
        &partner_logs.with_file_name("demo-shop-exports"),
    )
    .await
    .context("demo shop sales")?;
    let insight = adpool_insight::Insight::new(db.clone(), clock_for_shops.clone());
    crate::demo_insight::seed_insight(
        &insight,
        media.id,
        admin.id,
        adpool_core::BusinessDate::from_utc_millis(clock_for_shops.now_millis()),
        &partner_logs.with_file_name("demo-statements"),
    )
    .await
    .context("demo spending insight")?;
    // The shop's own customers, segmented from its synced orders.
    adpool_web::take_shop_purchases(
        &shops,
        &insight,
        media.id,
        "shop orders (demo)",
        Some(admin.id),
    )
    .await
    .map_err(|e| anyhow::anyhow!("demo shop orders into insight: {e:?}"))?;
    insight
        .analyze_now_of(
            media.id,
            adpool_insight::Source::ShopOrders,
            None,
            None,
            Some(admin.id),
            &mut |_, _, _| {},
        )
        .await
        .context("demo analysis of the shop's orders")?;
    // Last, so the walkthrough jobs head the jobs page above the shop syncs' order events.
    jobs.enqueue(
        NewJob::new(DEMO_JOB_KIND, json!({ "steps": 40 }))
            .for_org(media.id)
            .created_by(admin.id),
    )
    .await?;
    jobs.enqueue(
        NewJob::new(DEMO_JOB_KIND, json!({ "steps": 3, "fail_with": "vendor forecast file not found: forecasts/2026-12/kbs.csv" }))
            .for_org(media.id)
            .created_by(admin.id)
            .max_attempts(1),
    )
    .await?;
    Ok(Seeded {
        site_key,
        platforms,
    })
}

/// A content owner of the demo catalog: (code, name, [(meta_id, title, kind)]); kind is
/// program, channel (YouTube channel targeting) or keyword (custom keyword targeting).
type DemoOwner = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, &'static str)],
);

/// Content owners (방송사) and their programs, as the demo catalog.
const DEMO_PROGRAMS: &[DemoOwner] = &[
    (
        "KBS",
        "한국방송공사",
        &[
            ("KBS-1N2D", "1박 2일", "program"),
            ("KBS-SUPERMAN", "슈퍼맨이 돌아왔다", "program"),
            ("KBS-MUSICBANK", "뮤직뱅크", "program"),
        ],
    ),
    (
        "MBC",
        "문화방송",
        &[
            ("MBC-IAMSOLO", "나 혼자 산다", "program"),
            ("MBC-HANGOUT", "놀면 뭐하니?", "program"),
            ("MBC-RADIOSTAR", "라디오스타", "program"),
        ],
    ),
    (
        "SBS",
        "SBS",
        &[
            ("SBS-RUNNINGMAN", "런닝맨", "program"),
            ("SBS-MYLITTLEOLDBOY", "미운 우리 새끼", "program"),
            ("SBS-KW-CAMPING", "겨울 캠핑", "keyword"),
        ],
    ),
    (
        "JTBC",
        "JTBC",
        &[
            ("JTBC-KNOWINGBROS", "아는 형님", "program"),
            ("JTBC-STRONGBASEBALL", "최강야구", "program"),
            ("JTBC-YT-VOYAGE", "JTBC Voyage (YouTube)", "channel"),
        ],
    ),
];

/// Media (VOD services) whose inventory the demo organization sells, with their size.
const DEMO_MEDIA: &[(&str, u64)] = &[("WAVVE", 3), ("TVING", 2)];

/// The demo catalog: broadcasters, their programs on each VOD media, products priced per
/// platform and three weighted targeting groups.
fn demo_catalog() -> adpool_inventory::CatalogDocument {
    use adpool_inventory::{
        CatalogDocument, ContentOwnerEntry, MediaDoc, MetaDoc, ProductDoc, TargetingGroupDoc,
    };
    let cpm = |pc, mobile, app, ctv| {
        [("PC", pc), ("MOBILE", mobile), ("APP", app), ("CTV", ctv)]
            .into_iter()
            .map(|(p, c)| (p.to_owned(), c))
            .collect()
    };
    let members = |codes: &[&str]| {
        DEMO_MEDIA
            .iter()
            .flat_map(|(media, _)| codes.iter().map(move |c| format!("{media}/{c}")))
            .collect()
    };
    CatalogDocument {
        content_owners: DEMO_PROGRAMS
            .iter()
            .map(|(code, name, _)| ContentOwnerEntry {
                code: (*code).into(),
                name: (*name).into(),
            })
            .collect(),
        media: vec![
            MediaDoc {
                code: "WAVVE".into(),
                name: "웨이브 (wavve)".into(),
            },
            MediaDoc {
                code: "TVING".into(),
                name: "티빙 (TVING)".into(),
            },
        ],
        meta_ids: DEMO_MEDIA
            .iter()
            .flat_map(|(media, _)| {
                DEMO_PROGRAMS.iter().flat_map(move |(co, _, programs)| {
                    programs.iter().map(move |(code, name, kind)| MetaDoc {
                        media: (*media).into(),
                        code: (*code).into(),
                        name: (*name).into(),
                        content_owner: Some((*co).into()),
                        kind: Some((*kind).into()),
                    })
                })
            })
            .collect(),
        part_platforms: Default::default(),
        products: vec![
            ProductDoc {
                code: "PRG-PRE".into(),
                name: "프로그램 타겟팅 프리롤 15초".into(),
                product_type: "program".into(),
                ad_type: "pre-roll".into(),
                cpm: cpm(9_000, 8_000, 8_500, 12_000),
                ctr_bp: 80,
                vtr_bp: 7_500,
            },
            ProductDoc {
                code: "PRG-MID".into(),
                name: "프로그램 타겟팅 미드롤".into(),
                product_type: "program".into(),
                ad_type: "mid-roll".into(),
                cpm: cpm(7_000, 6_500, 7_000, 10_000),
                ctr_bp: 50,
                vtr_bp: 8_500,
            },
            ProductDoc {
                code: "RON-PRE".into(),
                name: "RON 프리롤".into(),
                product_type: "ron".into(),
                ad_type: "pre-roll".into(),
                cpm: cpm(5_000, 4_500, 4_500, 7_000),
                ctr_bp: 60,
                vtr_bp: 7_000,
            },
        ],
        targeting_groups: vec![
            TargetingGroupDoc {
                code: "G1".into(),
                name: "예능 A (주말 버라이어티)".into(),
                weight_bp: 4_000,
                members: members(&["KBS-1N2D", "MBC-HANGOUT", "SBS-RUNNINGMAN"]),
            },
            TargetingGroupDoc {
                code: "G2".into(),
                name: "관찰 예능".into(),
                weight_bp: 3_500,
                members: members(&["KBS-SUPERMAN", "MBC-IAMSOLO", "SBS-MYLITTLEOLDBOY"]),
            },
            TargetingGroupDoc {
                code: "G3".into(),
                name: "음악·토크·스포츠".into(),
                weight_bp: 2_500,
                members: members(&[
                    "KBS-MUSICBANK",
                    "MBC-RADIOSTAR",
                    "JTBC-KNOWINGBROS",
                    "JTBC-STRONGBASEBALL",
                    "JTBC-YT-VOYAGE",
                    "SBS-KW-CAMPING",
                ]),
            },
        ],
    }
}

/// Two months of realistic forecast (this month and next), imported through the real import,
/// built, corrected and confirmed the way an ad-ops team would.
async fn seed_inventory(
    db: &adpool_store::Db,
    clock: SharedClock,
    org: adpool_core::OrgId,
    admin: adpool_core::UserId,
) -> anyhow::Result<()> {
    use adpool_inventory::{Inventory, Month, StandardFilter};
    let inventory = Inventory::new(db.clone(), clock.clone());
    let clock_today = clock.today();
    let this_month = Month::of(clock_today);
    let months = [this_month, this_month.next()];
    let folder = tempfile::tempdir()?;
    let path = folder.path().join("demo-forecast.csv");
    let mut csv = String::from("media,meta_id,part,date,hour,impressions\n");
    let mut noise: u64 = 20_261_121;
    for (media, scale) in DEMO_MEDIA {
        for (program_index, (_, _, programs)) in DEMO_PROGRAMS.iter().enumerate() {
            for (meta_index, (meta, _, _)) in programs.iter().enumerate() {
                let popularity = 12 - (program_index * 2 + meta_index) as u64;
                for month in months {
                    for day in month.days() {
                        let weekend = matches!(
                            chrono::Datelike::weekday(&day.naive()),
                            chrono::Weekday::Sat | chrono::Weekday::Sun
                        );
                        for (part, share) in
                            [("PC_VOD", 2), ("MOBILE_VOD", 5), ("APP_VOD", 4), ("CTV", 3)]
                        {
                            for hour in (0..24).step_by(2) {
                                let evening = if (19..=23).contains(&hour) {
                                    3
                                } else if hour < 7 {
                                    1
                                } else {
                                    2
                                };
                                noise = noise
                                    .wrapping_mul(6_364_136_223_846_793_005)
                                    .wrapping_add(1_442_695_040_888_963_407);
                                let base = scale
                                    * popularity
                                    * share
                                    * evening
                                    * if weekend { 13 } else { 10 }
                                    * 9;
                                let impressions = base + (noise >> 33) % (base / 4 + 1);
                                csv.push_str(&format!(
                                    "{media},{meta},{part},{day},{hour},{impressions}\n"
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    std::fs::write(&path, csv)?;
    inventory
        .import_forecast_file(org, &path, &mut |_| {})
        .await?;
    inventory.apply_catalog(org, &demo_catalog()).await?;
    for month in months {
        inventory
            .build_standard(org, month, "demo", &mut |_| {})
            .await?;
        // Ad ops sells CTV conservatively: 80% of the vendor forecast.
        let ctv = StandardFilter {
            platform: Some(adpool_inventory::Platform::Ctv),
            ..StandardFilter::default()
        };
        inventory
            .set_standard_percent(org, month, &ctv, 8_000, Some(admin))
            .await?;
        inventory.confirm_month(org, month, Some(admin)).await?;
        inventory
            .build_unit(org, month, "demo", &mut |_| {})
            .await?;
    }
    // A winter campaign has bought the first two weeks of next month.
    let first = months[1].first_day();
    let purchase: adpool_inventory::PurchaseRequest = serde_json::from_value(serde_json::json!({
        "product": "PRG-PRE", "amount": 300_000_000, "start": first.to_string(), "end": first.add_days(13).to_string(),
        "platforms": ["PC", "MOBILE", "APP"],
        "targeting_groups": [{ "code": "G1", "weight_bp": 4000 }, { "code": "G2", "weight_bp": 3500 }, { "code": "G3", "weight_bp": 2500 }],
        "content_owners": [{ "code": "KBS", "ratio_bp": 6000 }, { "code": "MBC", "ratio_bp": 4000 }]
    }))?;
    use adpool_inventory::{NewCampaign, Status};
    let winter = inventory
        .create_campaign(
            org,
            NewCampaign {
                advertiser: "한빛식품 (Hanbit Foods)".into(),
                name: "겨울 프로모션 2026".into(),
                start: first.to_string(),
                end: first.add_days(27).to_string(),
                total_budget: 400_000_000,
                owner: Some(admin),
            },
        )
        .await?;
    let line = inventory
        .add_line(org, winter.id, "프로그램 프리롤 1-2주차", purchase)
        .await?;
    let booked = inventory
        .book_line(org, line.id, false, Some(admin))
        .await?;
    anyhow::ensure!(
        booked.committed,
        "the demo purchase did not fit: {} short",
        booked.shortage
    );
    for (name, status) in [
        ("15초 A안", Status::Live),
        ("15초 B안", Status::Scheduled),
        ("6초 범퍼", Status::PendingReview),
    ] {
        let ad = inventory
            .add_ad(
                org,
                line.id,
                name,
                Some("https://cdn.demo.adpool.kr/hanbit/winter.mp4"),
            )
            .await?;
        inventory.set_ad_status(org, ad.id, status).await?;
    }
    // A second winter line is still being planned: it shows in the proposal workbook (more
    // media rows, other broadcasters on the CurationTargeting sheet) before it is booked.
    let planned: adpool_inventory::PurchaseRequest = serde_json::from_value(serde_json::json!({
        "product": "PRG-MID", "amount": 100_000_000, "start": first.add_days(14).to_string(), "end": first.add_days(27).to_string(),
        "platforms": ["PC", "MOBILE", "CTV"],
        "targeting_groups": [{ "code": "G3", "weight_bp": 10000 }],
        "content_owners": [{ "code": "JTBC", "ratio_bp": 5000 }, { "code": "SBS", "ratio_bp": 2500 }, { "code": "MBC", "ratio_bp": 2500 }]
    }))?;
    inventory
        .add_line(org, winter.id, "프로그램 미드롤 3-4주차 (검토 중)", planned)
        .await?;
    let spring = inventory
        .create_campaign(
            org,
            NewCampaign {
                advertiser: "새봄화장품 (Saebom Cosmetics)".into(),
                name: "봄 신제품 런칭".into(),
                start: first.add_days(14).to_string(),
                end: first.add_days(27).to_string(),
                total_budget: 80_000_000,
                owner: Some(admin),
            },
        )
        .await?;
    let mut spring_request = serde_json::from_value::<adpool_inventory::PurchaseRequest>(
        serde_json::json!({
            "product": "RON-PRE", "amount": 50_000_000, "start": first.add_days(14).to_string(), "end": first.add_days(27).to_string(),
            "platforms": ["MOBILE", "APP"],
            "targeting_groups": [{ "code": "G1", "weight_bp": 5000 }, { "code": "G2", "weight_bp": 5000 }],
            "content_owners": [{ "code": "KBS", "ratio_bp": 5000 }, { "code": "MBC", "ratio_bp": 5000 }]
        }),
    )?;
    spring_request.policy = adpool_inventory::Policy::Partial;
    let spring_line = inventory
        .add_line(org, spring.id, "RON 모바일", spring_request)
        .await?;
    let ad = inventory
        .add_ad(org, spring_line.id, "티저 15초", None)
        .await?;
    inventory
        .set_ad_status(org, ad.id, Status::PendingReview)
        .await?;
    // An autumn campaign runs this month; the ad server has reported delivery up to yesterday.
    let autumn = inventory
        .create_campaign(
            org,
            NewCampaign {
                advertiser: "가을커피 (Autumn Coffee)".into(),
                name: "가을 브랜드 캠페인".into(),
                start: months[0].first_day().to_string(),
                end: months[0].next().first_day().add_days(-1).to_string(),
                total_budget: 100_000_000,
                owner: Some(admin),
            },
        )
        .await?;
    let autumn_request = serde_json::from_value::<adpool_inventory::PurchaseRequest>(
        serde_json::json!({
            "product": "PRG-MID", "amount": 60_000_000, "start": months[0].first_day().to_string(),
            "end": months[0].next().first_day().add_days(-1).to_string(), "platforms": ["PC", "MOBILE"],
            "targeting_groups": [{ "code": "G1", "weight_bp": 10000 }],
            "content_owners": [{ "code": "KBS", "ratio_bp": 5000 }, { "code": "MBC", "ratio_bp": 5000 }]
        }),
    )?;
    let autumn_line = inventory
        .add_line(org, autumn.id, "미드롤 월간", autumn_request)
        .await?;
    let autumn_booked = inventory
        .book_line(org, autumn_line.id, false, Some(admin))
        .await?;
    anyhow::ensure!(
        autumn_booked.committed,
        "the demo autumn line did not fit: {} short",
        autumn_booked.shortage
    );
    let ad = inventory
        .add_ad(
            org,
            autumn_line.id,
            "브랜드 30초",
            Some("https://cdn.demo.adpool.kr/autumn/brand.mp4"),
        )
        .await?;
    inventory.set_ad_status(org, ad.id, Status::Live).await?;
    let today = clock_today.to_string();
    let reports: Vec<adpool_inventory::DeliveryReport> = inventory
        .pacing(org, autumn_line.id)
        .await?
        .days
        .iter()
        .filter(|d| d.date < today)
        .enumerate()
        .map(|(i, d)| {
            // A little under-delivery early on, catching up later: realistic, and on track.
            let percent = [88, 91, 95, 97, 99, 101, 103][i % 7];
            let impressions = d.booked * percent / 100;
            adpool_inventory::DeliveryReport {
                line_id: autumn_line.id,
                date: d.date.clone(),
                impressions,
                clicks: impressions * 6 / 1000,
                views: impressions * 82 / 100,
            }
        })
        .collect();
    inventory.record_delivery(org, &reports).await?;
    // A late correction next month: it needs confirming again before the next unit build.
    let next = inventory.standard_rows(org, months[1]).await?;
    if let Some(row) = next
        .iter()
        .find(|r| r.meta_id == "KBS-MUSICBANK" && r.platform == adpool_inventory::Platform::Mobile)
    {
        inventory
            .set_standard_qty(
                org,
                row.id,
                row.qty / 2,
                Some(admin),
                "방송 휴방 예정 (broadcast break)",
            )
            .await?;
    }
    Ok(())
}

/// `adpool demo`.
pub async fn run(config: Config, no_serve: bool) -> anyhow::Result<()> {
    remove_demo_files()?;
    let url = format!("sqlite://{DEMO_DB_PATH}");
    let db = server::open_database(&url).await?;
    for folder in [DEMO_EVENT_LOGS, DEMO_PARTNER_LOGS] {
        if Path::new(folder).exists() {
            std::fs::remove_dir_all(folder)
                .with_context(|| format!("cannot remove old demo logs {folder}"))?;
        }
    }
    let vault = server::commerce_vault(&config)?;
    let seeded = seed(
        &db,
        Arc::new(SystemClock),
        Some(DEMO_EVENT_LOGS.into()),
        vault,
    )
    .await
    .context("filling the demo database")?;
    if no_serve {
        println!("demo database ready at {DEMO_DB_PATH}");
        return Ok(());
    }
    let mut logins = String::new();
    for (org, email, _, role) in DEMO_USERS {
        logins.push_str(&format!("\n  {:<10}  {email:<32}  ({org})", role.as_str()));
    }
    let banner = format!(
        "\nadpool demo is running at http://{{address}}\n\nSign in with password {DEMO_PASSWORD} as:{logins}\n\nDemo database: {DEMO_DB_PATH} (rebuilt on every run). Stop with Ctrl-C.\n\nCPC ad query for the demo shop (site key shown once):\n  curl 'http://{{address}}/serve/ads?placement=home_top&category=camping&n=3&user=u1' -H 'X-Adpool-Key: {}'\n",
        seeded.site_key
    );
    let config = Config {
        database_url: url,
        event_log_folder: DEMO_EVENT_LOGS.into(),
        log_folder_roots: vec![format!("{DEMO_PARTNER_LOGS}/org-{{org}}")],
        cafe24_base_url: seeded.platforms.cafe24.clone(),
        // The demo deployment's Cafe24 app, registered with the fake Cafe24: a new store
        // connects with its mall id alone.
        cafe24_client_id: crate::demo_shops::DEMO_CAFE24_APP.0.into(),
        cafe24_client_secret: crate::demo_shops::DEMO_CAFE24_APP.1.into(),
        naver_base_url: seeded.platforms.naver.clone(),
        ..config
    };
    server::serve_with(config, db, Some(banner), server::Role::All, |registry| {
        registry.register(DEMO_JOB_KIND, 2, Walkthrough);
    })
    .await
}

/// A small deterministic generator (xorshift), so every demo has the same numbers.
pub(crate) struct Dice(pub(crate) u64);

impl Dice {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
