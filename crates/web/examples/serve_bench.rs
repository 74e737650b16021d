//! Server-side latency of the CPC ad query and throughput of durable click charges, measured
//! in-process (no socket): `cargo run --release -p adpool-web --example serve_bench`.
//!
//! Seeds a fresh SQLite database with 40 advertisers x 5 ads over 8 categories and 3
//! placements, then measures:
//! 1. `Serving::query_ads` alone (ranking lookup, token signing, counters, event log);
//! 2. `GET /serve/ads` through the whole axum app, next to `GET /healthz`;
//! 3. valid clicks charged durably (each one transaction), with 32 at a time.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::sync::Arc;
use std::time::{Duration, Instant};

use adpool_core::{SystemClock, UserId};
use adpool_serving::{AdQuery, Serving, ServingConfig};
use adpool_web::{AppState, WebConfig, app};
use axum::body::{Body, to_bytes};
use axum::http::Request;
use tower::ServiceExt;

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        at(0.999).as_secs_f64() * 1e6,
    )
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let db = adpool_store::Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let clock = Arc::new(SystemClock);
    let serving = Serving::new(
        db.clone(),
        clock.clone(),
        ServingConfig {
            event_log_folder: Some(dir.path().join("logs")),
            ..ServingConfig::default()
        },
    );
    let state =
        AppState::new(db.clone(), clock, WebConfig::default()).with_serving(serving.clone());
    let org = state
        .accounts
        .create_organization("bench")
        .await
        .unwrap()
        .id;
    let admin = state
        .accounts
        .create_user(adpool_accounts::NewUser {
            org_id: org,
            email: "admin@bench.kr".into(),
            display_name: "admin".into(),
            role: adpool_accounts::Role::Admin,
            password: "benchmark password".into(),
        })
        .await
        .unwrap();
    let admin: UserId = admin.id;
    let placements = adpool_serving::fixtures::BENCH_PLACEMENTS;
    let categories = adpool_serving::fixtures::BENCH_CATEGORIES;
    let key = adpool_serving::fixtures::seed_bench_market(&serving, org, admin)
        .await
        .unwrap();
    serving.refresh().await.unwrap();
    let site = serving.site_by_key(&key).unwrap();
    println!(
        "seeded: 40 advertisers, 200 ads, {} rankings",
        serving.hot_state().rankings().len()
    );

    // 1. The query alone.
    let n = 200_000;
    let mut samples = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n {
        let query = AdQuery {
            placement: placements[i % 3].into(),
            category: categories[i % categories.len()].into(),
            n: 4,
            user: format!("u{}", i % 5000),
            ..AdQuery::default()
        };
        let t = Instant::now();
        let answer = serving.query_ads(&site, &query, "https://ads.example.com");
        samples.push(t.elapsed());
        assert!(!answer.ads.is_empty());
    }
    let elapsed = started.elapsed();
    let (p50, p99, p999) = percentiles(samples);
    println!(
        "query_ads (in-process, 4 ads, 1 thread): {:.0} queries/s, p50 {p50:.1} us, p99 {p99:.1} us, p99.9 {p999:.1} us",
        n as f64 / elapsed.as_secs_f64()
    );

    // 2. Through the axum app (routing, headers, JSON), next to /healthz.
    let router = app(state.clone());
    for (label, path) in [
        ("GET /healthz", "/healthz".to_owned()),
        (
            "GET /serve/ads",
            "/serve/ads?placement=home_top&category=camping&n=4&user=u1".to_owned(),
        ),
    ] {
        let n = 50_000;
        let mut samples = Vec::with_capacity(n);
        let started = Instant::now();
        for _ in 0..n {
            let request = Request::get(&path)
                .header("x-adpool-key", &key)
                .body(Body::empty())
                .unwrap();
            let t = Instant::now();
            let response = router.clone().oneshot(request).await.unwrap();
            let _ = to_bytes(response.into_body(), 1 << 20).await.unwrap();
            samples.push(t.elapsed());
        }
        let elapsed = started.elapsed();
        let (p50, p99, p999) = percentiles(samples);
        println!(
            "{label} (in-process app, 1 task): {:.0} req/s, p50 {p50:.1} us, p99 {p99:.1} us, p99.9 {p999:.1} us",
            n as f64 / elapsed.as_secs_f64()
        );
    }

    // 3. Durable click charges, 32 at a time.
    let mut tokens = Vec::new();
    for i in 0..4_000 {
        let answer = serving.query_ads(
            &site,
            &AdQuery {
                placement: "home_top".into(),
                n: 1,
                user: format!("clicker-{i}"),
                ..AdQuery::default()
            },
            "",
        );
        tokens.push(
            answer.ads[0]
                .click_url
                .split("t=")
                .nth(1)
                .unwrap()
                .to_owned(),
        );
    }
    let started = Instant::now();
    let mut handles = Vec::new();
    for chunk in tokens.chunks(tokens.len() / 32) {
        let serving = serving.clone();
        let chunk = chunk.to_vec();
        handles.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            for token in chunk {
                let t = Instant::now();
                let outcome = serving.click(&token).await.unwrap();
                samples.push(t.elapsed());
                assert!(
                    matches!(outcome, adpool_serving::ClickOutcome::Charged { .. }),
                    "{outcome:?}"
                );
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for handle in handles {
        samples.extend(handle.await.unwrap());
    }
    let elapsed = started.elapsed();
    let count = samples.len();
    let (p50, p99, _) = percentiles(samples);
    println!(
        "valid clicks, durable charge (SQLite, 32 concurrent): {:.0} clicks/s, p50 {:.2} ms, p99 {:.2} ms",
        count as f64 / elapsed.as_secs_f64(),
        p50 / 1000.0,
        p99 / 1000.0
    );
    let (checked, mismatches) = serving.verify_ledgers().await.unwrap();
    println!(
        "ledger verify: {checked} advertisers, {} mismatches",
        mismatches.len()
    );
    serving.shutdown().await.unwrap();
}
