//! Benchmark: recompute the status of every campaign from 100,000 ads (issue 4), and time the
//! incremental path (one ad changes, its campaign follows in the same transaction).
//!
//! ```sh
//! cargo run --release -p adpool-inventory --example campaign_status_bench -- [ADS] [DATABASE_URL]
//! ```
//! Without a URL it uses a fresh SQLite file in a scratch folder; with a `postgres://` URL it
//! expects an empty database. Results go to docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::sync::Arc;
use std::time::Instant;

use adpool_core::{OrgId, SystemClock};
use adpool_inventory::{Inventory, Status};
use adpool_store::Db;
use sqlx::Row;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let ads: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let scratch = tempfile::tempdir().unwrap();
    let url = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| format!("sqlite://{}", scratch.path().join("bench.db").display()));
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let org = OrgId(
        sqlx::query(
            "INSERT INTO organizations (name, created_at) VALUES ('Bench Rep', 0) RETURNING id",
        )
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0),
    );
    let campaigns = (ads / 100).max(1);
    let started = Instant::now();
    let mut tx = db.begin_write().await.unwrap();
    let dialect = db.dialect();
    for chunk in (0..campaigns).collect::<Vec<_>>().chunks(1000) {
        let sql = format!(
            "INSERT INTO campaigns (org_id, advertiser, name, start_date, end_date, total_budget, status, status_changed_at, created_at) VALUES {}",
            dialect.values_rows(chunk.len(), 9)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for i in chunk {
            query = query
                .bind(org.get())
                .bind("광고주")
                .bind(format!("campaign {i}"))
                .bind("2026-12-01")
                .bind("2026-12-31")
                .bind(1_000_000_i64)
                .bind("DRAFT")
                .bind(0_i64)
                .bind(0_i64);
        }
        query.execute(&mut *tx).await.unwrap();
    }
    let ids: Vec<i64> = sqlx::query("SELECT id FROM campaigns ORDER BY id")
        .fetch_all(&mut *tx)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut lines = Vec::new();
    for chunk in ids.chunks(1000) {
        let sql = format!(
            "INSERT INTO campaign_lines (org_id, campaign_id, name, amount, request, created_at) VALUES {} RETURNING id",
            dialect.values_rows(chunk.len(), 6)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query
                .bind(org.get())
                .bind(*id)
                .bind("line")
                .bind(1_000_i64)
                .bind("{}")
                .bind(0_i64);
        }
        lines.extend(
            query
                .fetch_all(&mut *tx)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<i64, _>(0)),
        );
    }
    let statuses = [
        Status::Live,
        Status::Paused,
        Status::Scheduled,
        Status::Completed,
        Status::PendingReview,
        Status::Error,
    ];
    let mut seed: u64 = 7;
    for chunk in (0..ads).collect::<Vec<_>>().chunks(2000) {
        let sql = format!(
            "INSERT INTO ads (org_id, campaign_id, line_id, name, status, updated_at) VALUES {}",
            dialect.values_rows(chunk.len(), 6)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for i in chunk {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            // Errors are rare; everything else is spread evenly.
            let status = if (seed >> 33).is_multiple_of(500) {
                Status::Error
            } else {
                statuses[((seed >> 40) % 5) as usize]
            };
            let c = i % ids.len();
            query = query
                .bind(org.get())
                .bind(ids[c])
                .bind(lines[c])
                .bind(format!("ad {i}"))
                .bind(status.as_str())
                .bind(0_i64);
        }
        query.execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    println!(
        "setup: {campaigns} campaigns, {ads} ads in {:.2} s ({})",
        started.elapsed().as_secs_f64(),
        db.dialect().name()
    );

    let inventory = Inventory::new(db.clone(), Arc::new(SystemClock));
    let started = Instant::now();
    let repair = inventory.repair_campaign_statuses(Some(org)).await.unwrap();
    let full = started.elapsed();
    println!(
        "full recompute (every campaign stored as DRAFT, so every one is fixed): {} campaigns, {} ads, {} fixed in {:.1} ms",
        repair.campaigns,
        repair.ads,
        repair.fixed,
        full.as_secs_f64() * 1000.0
    );
    let started = Instant::now();
    let again = inventory.repair_campaign_statuses(Some(org)).await.unwrap();
    println!(
        "recompute with nothing to fix: {} fixed in {:.1} ms",
        again.fixed,
        started.elapsed().as_secs_f64() * 1000.0
    );
    let ad_ids: Vec<i64> = sqlx::query("SELECT id FROM ads ORDER BY id LIMIT 1000")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let started = Instant::now();
    for (i, id) in ad_ids.iter().enumerate() {
        inventory
            .set_ad_status(
                org,
                *id,
                if i % 2 == 0 {
                    Status::Paused
                } else {
                    Status::Live
                },
            )
            .await
            .unwrap();
    }
    let per_change = started.elapsed().as_secs_f64() * 1000.0 / ad_ids.len() as f64;
    println!(
        "incremental: {} ad status changes, each with its campaign's status, {per_change:.2} ms per change",
        ad_ids.len()
    );
}
