//! Seeds the bench market (`adpool_serving::fixtures`) into the database at `$1` for
//! `bench/scale-out.sh`, and prints the site key.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::sync::Arc;

use adpool_core::SystemClock;
use adpool_serving::{Serving, ServingConfig};

#[tokio::main]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .expect("usage: scale_out_seed DATABASE_URL");
    let db = adpool_store::Db::connect(&url).await.expect("database");
    db.migrate().await.expect("migrate");
    let clock = Arc::new(SystemClock);
    let accounts = adpool_accounts::Accounts::new(db.clone(), clock.clone());
    let org = accounts.create_organization("bench").await.unwrap().id;
    let admin = accounts
        .create_user(adpool_accounts::NewUser {
            org_id: org,
            email: "admin@bench.kr".into(),
            display_name: "admin".into(),
            role: adpool_accounts::Role::Admin,
            password: "benchmark password".into(),
        })
        .await
        .unwrap()
        .id;
    let serving = Serving::new(db, clock, ServingConfig::default());
    let key = adpool_serving::fixtures::seed_bench_market(&serving, org, admin)
        .await
        .unwrap();
    println!("{key}");
}
