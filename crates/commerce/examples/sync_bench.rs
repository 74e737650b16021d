//! Shop sync benchmark (docs/benchmarks.md): 100,000 orders synced from the fake Cafe24 server
//! with its call limit on (a bucket of 40 calls draining 2 per second), into a fresh SQLite
//! database. Prints the calls made, the time the limit allows for them at best, the achieved
//! share of that rate, and the database write rate measured separately on the same orders.
//!
//! `cargo run --release -p adpool-commerce --example sync_bench -- [ORDERS]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // a benchmark program

use std::sync::Arc;
use std::time::Instant;

use adpool_commerce::cafe24::Cafe24Settings;
use adpool_commerce::cafe24::fake::{FakeCafe24, FakeOrder, FakeState};
use adpool_commerce::sync::SyncSettings;
use adpool_commerce::{NewStore, Platform, Shops, Vault};
use adpool_core::{BusinessDate, OrgId, SharedClock, SystemClock};
use serde_json::json;

#[tokio::main]
async fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let db = adpool_store::Db::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await
    .unwrap();
    db.migrate().await.unwrap();
    let org: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, created_at) VALUES ('Bench', 0) RETURNING id",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let clock: SharedClock = Arc::new(SystemClock);
    let shops = Shops::new(db.clone(), clock.clone(), Vault::new([1; 32]));
    let today = BusinessDate::from_utc_millis(clock.now_millis());
    let per_day = total.div_ceil(365);
    let mut orders = Vec::with_capacity(total);
    for i in 0..total {
        let day = today.add_days(-((i / per_day) as i64));
        let names: Vec<String> = (0..1 + i % 2)
            .map(|n| format!("상품 {}", (i + n) % 50))
            .collect();
        let items: Vec<(i64, &str, i64, i64)> = (0..1 + i % 2)
            .map(|n| {
                (
                    100 + ((i + n) % 50) as i64,
                    names[n].as_str(),
                    1,
                    10_000 + (i % 7) as i64 * 1_000,
                )
            })
            .collect();
        orders.push(FakeOrder::simple(
            &format!("{}-{:07}", day.to_string().replace('-', ""), i % per_day),
            &format!("{day}T{:02}:{:02}:00+09:00", 9 + i % 12, i % 60),
            if i % 20 == 0 { "C40" } else { "N40" },
            &items,
        ));
    }
    orders.sort_by(|a, b| a.order_date.cmp(&b.order_date));
    let mut state = FakeState::default();
    state.clients.insert("bench".into(), "bench-secret".into());
    let (access, refresh) = state.issue_tokens("bench");
    state.orders.insert("benchmall".into(), orders);
    let fake = FakeCafe24::start(state).await.unwrap();
    let store = shops
        .create_store(
            OrgId(org),
            NewStore {
                platform: Platform::Cafe24,
                name: "Bench".into(),
                mall_id: "benchmall".into(),
                credentials: Some(json!({ "client_id": "bench", "client_secret": "bench-secret", "access_token": access, "refresh_token": refresh })),
            },
            None,
        )
        .await
        .unwrap();
    let settings = SyncSettings {
        cafe24: Cafe24Settings {
            base_url: fake.base_url(),
            ..Default::default()
        },
        ..Default::default()
    };
    let started = Instant::now();
    let summary = shops
        .sync_store(OrgId(org), store.id, &settings, None, &mut |_| {})
        .await
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let calls = summary.calls.calls + summary.calls.throttled;
    // The bucket holds 40 calls and drains 2 a second: N calls need at least (N - 40) / 2 s.
    let best = (summary.calls.calls.saturating_sub(40)) as f64 / 2.0;
    println!(
        "synced {} orders in {seconds:.1} s: {} calls answered, {} throttled (429), {} retried; {:.2} calls/s",
        summary.counts.inserted,
        summary.calls.calls,
        summary.calls.throttled,
        summary.calls.retries,
        calls as f64 / seconds
    );
    println!(
        "the limit allows these calls in {best:.1} s at best: achieved {:.1}% of the allowed rate",
        if seconds > 0.0 {
            best / seconds * 100.0
        } else {
            0.0
        }
    );
    // Database write rate: the same orders again (every one an update), timed alone.
    let fetched: Vec<adpool_commerce::Order> = {
        let mut client = adpool_commerce::cafe24::Cafe24Client::new(
            &shops,
            &store,
            &Cafe24Settings {
                base_url: fake.base_url(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        fake.state.lock().unwrap().limit = None;
        let mut all = Vec::new();
        let mut from = today.add_days(-366);
        while from <= today {
            let to = from.add_days(29).min(today);
            all.extend(client.orders(1, from.naive(), to.naive()).await.unwrap());
            from = to.next();
        }
        all
    };
    let started = Instant::now();
    let mut tx = db.begin_write().await.unwrap();
    adpool_commerce::write_orders_in(&mut tx, db.dialect(), shops.jobs(), &store, &fetched, 0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let write = started.elapsed().as_secs_f64();
    println!(
        "database writes: {} orders with their items in {write:.2} s = {:.0} orders/s",
        fetched.len(),
        fetched.len() as f64 / write
    );
}
