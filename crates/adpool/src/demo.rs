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

/// Fills a migrated, empty database with the demo data.
pub async fn seed(db: &adpool_store::Db, clock: SharedClock) -> anyhow::Result<()> {
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
    Ok(())
}

/// `adpool demo`.
pub async fn run(config: Config, no_serve: bool) -> anyhow::Result<()> {
    remove_demo_files()?;
    let url = format!("sqlite://{DEMO_DB_PATH}");
    let db = server::open_database(&url).await?;
    seed(&db, Arc::new(SystemClock))
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
        "\nadpool demo is running at http://{{address}}\n\nSign in with password {DEMO_PASSWORD} as:{logins}\n\nDemo database: {DEMO_DB_PATH} (rebuilt on every run). Stop with Ctrl-C.\n"
    );
    let config = Config {
        database_url: url,
        ..config
    };
    server::serve_with(config, db, Some(banner), |registry| {
        registry.register(DEMO_JOB_KIND, 2, Walkthrough);
    })
    .await
}
