//! Scale-out mode end to end (docs/deployment.md): three `adpool serve --role api` processes and
//! two `adpool serve --role worker` processes on one database (the suite's: SQLite, or a fresh
//! PostgreSQL schema when `ADPOOL_TEST_DATABASE_URL` is set), Redis and NATS JetStream.
//!
//! Redis and NATS come from `ADPOOL_TEST_REDIS_URL` / `ADPOOL_TEST_NATS_URL` (default the local
//! ports). Each run uses its own namespace, so runs never see each other's keys or streams.
//! Under `CI=true` an unreachable engine fails the test; elsewhere the test says so and passes.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adpool_accounts::{Accounts, NewUser, OrgId, Role, UserId};
use adpool_core::SystemClock;
use adpool_serving::{NewCpcCampaign, NewProductAd, NewSite, Serving, ServingConfig, SignUp};
use adpool_store::Db;

/// A database URL every process can open: a fresh PostgreSQL schema, or a SQLite file.
async fn database_url(folder: &Path) -> String {
    match std::env::var("ADPOOL_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        Some(base) => {
            let mut random = [0u8; 6];
            getrandom::fill(&mut random).expect("random");
            let schema = format!("scale_{}", hex::encode(random));
            let admin = Db::connect(&base).await.expect("PostgreSQL");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(admin.pool())
                .await
                .expect("schema");
            admin.close().await;
            let separator = if base.contains('?') { '&' } else { '?' };
            format!("{base}{separator}options=-c%20search_path%3D{schema}")
        }
        None => format!("sqlite://{}", folder.join("scale.db").display()),
    }
}

struct Process {
    child: Child,
    base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

struct Cluster {
    folder: tempfile::TempDir,
    env: Vec<(String, String)>,
    apis: Vec<Process>,
    workers: Vec<Process>,
    http: reqwest::Client,
    db: Db,
    serving: Serving,
    org: OrgId,
    admin: UserId,
    token: String,
    redis_url: String,
    nats_url: String,
    namespace: String,
}

impl Cluster {
    async fn start(redis: String, nats: String) -> Cluster {
        adpool_jobs::install_tls_provider();
        let folder = tempfile::tempdir().expect("temp folder");
        let url = database_url(folder.path()).await;
        let db = Db::connect(&url).await.expect("database");
        db.migrate().await.expect("migrate");
        let namespace = adpool_scaleout::testing::namespace();
        let env = vec![
            ("ADPOOL_DATABASE_URL".into(), url),
            ("ADPOOL_REDIS_URL".into(), redis.clone()),
            ("ADPOOL_NATS_URL".into(), nats.clone()),
            ("ADPOOL_NAMESPACE".into(), namespace.clone()),
            ("ADPOOL_NATS_ACK_WAIT_SECS".into(), "2".into()),
            ("ADPOOL_EVENT_LOG_FOLDER".into(), String::new()),
            ("ADPOOL_COMMERCE_KEY".into(), "00".repeat(32)),
            ("ADPOOL_LOG".into(), "warn".into()),
            // Every click here comes from one address (the test); the limit is not under test.
            ("ADPOOL_SERVE_RATE_LIMIT_PER_SECOND".into(), "0".into()),
        ];
        let clock = Arc::new(SystemClock);
        let accounts = Accounts::new(db.clone(), clock.clone());
        let org = accounts
            .create_organization("Scale-out shop")
            .await
            .expect("org")
            .id;
        let admin = accounts
            .create_user(NewUser {
                org_id: org,
                email: "admin@scale.example".into(),
                display_name: "Admin".into(),
                role: Role::Admin,
                password: "correct horse battery".into(),
            })
            .await
            .expect("admin")
            .id;
        let token = accounts
            .create_api_token(org, admin, "scale-out test")
            .await
            .expect("token")
            .secret;
        let serving = Serving::new(db.clone(), clock, ServingConfig::default());
        let mut cluster = Cluster {
            folder,
            env,
            apis: Vec::new(),
            workers: Vec::new(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            db,
            serving,
            org,
            admin,
            token,
            redis_url: redis,
            nats_url: nats,
            namespace,
        };
        for placement in ["ranking", "clicks", "stream"] {
            cluster
                .serving
                .add_placement(org, placement, placement)
                .await
                .expect("placement");
        }
        for _ in 0..2 {
            let worker = cluster.spawn("worker");
            cluster.workers.push(worker);
        }
        for _ in 0..3 {
            let api = cluster.spawn("api");
            cluster.apis.push(api);
        }
        for i in 0..cluster.apis.len() {
            cluster.wait_ready(i).await;
        }
        cluster
    }

    fn spawn(&self, role: &str) -> Process {
        let port = free_port();
        let log = std::fs::File::create(self.folder.path().join(format!("{role}-{port}.log")))
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_adpool"))
            .args([
                "serve",
                "--role",
                role,
                "--bind",
                &format!("127.0.0.1:{port}"),
            ])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(self.folder.path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting adpool");
        Process {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(self.folder.path()) {
            for entry in entries.flatten() {
                if entry.path().extension().is_some_and(|e| e == "log") {
                    out.push_str(&format!(
                        "--- {}\n{}\n",
                        entry.path().display(),
                        std::fs::read_to_string(entry.path()).unwrap_or_default()
                    ));
                }
            }
        }
        out
    }

    async fn wait_ready(&mut self, api: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let url = format!("{}/healthz", self.apis[api].base);
            if let Ok(response) = self.http.get(&url).send().await
                && response.status().is_success()
            {
                return;
            }
            if let Ok(Some(status)) = self.apis[api].child.try_wait() {
                panic!("api process exited with {status}:\n{}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "api {api} not ready in 60 s:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// An approved advertiser with `balance` won, one active campaign on `placement` and these
    /// ads (product, bid); returns the advertiser, the campaign and the ad ids.
    async fn advertiser(
        &self,
        placement: &str,
        prefix: &str,
        balance: i64,
        budget: i64,
        ads: &[(&str, i64)],
    ) -> (i64, i64, Vec<i64>) {
        // A valid business registration number: 8 digits of ours, a 9th that admits a check digit.
        let registration = (0..10)
            .find_map(|d| adpool_serving::with_check_digit(&format!("{prefix}{d}")))
            .expect("registration");
        let advertiser = self
            .serving
            .sign_up(
                self.org,
                None,
                &SignUp {
                    business_name: format!("Advertiser {prefix}"),
                    registration_number: registration,
                    contact_name: "Kim".into(),
                    contact_email: format!("ads+{prefix}@example.kr"),
                    contact_phone: "02-1234-5678".into(),
                },
            )
            .await
            .expect("sign up");
        self.serving
            .approve_advertiser(self.org, advertiser.id, self.admin)
            .await
            .expect("approve");
        self.serving
            .top_up(
                self.org,
                advertiser.id,
                balance,
                &format!("seed-{prefix}"),
                "",
                self.admin,
            )
            .await
            .expect("top up");
        let campaign = self
            .serving
            .create_campaign(
                self.org,
                advertiser.id,
                &NewCpcCampaign {
                    name: format!("Campaign {prefix}"),
                    daily_budget: budget,
                    placements: vec![placement.into()],
                },
            )
            .await
            .expect("campaign");
        let mut ids = Vec::new();
        for (product, bid) in ads {
            let ad = self
                .serving
                .add_ad(
                    self.org,
                    campaign.id,
                    &NewProductAd {
                        product_id: (*product).into(),
                        title: format!("Product {product}"),
                        image_url: format!("https://img.example/{product}.png"),
                        landing_url: format!("https://shop.example/{product}"),
                        category: "camping".into(),
                        bid: *bid,
                    },
                )
                .await
                .expect("ad");
            ids.push(ad.id);
        }
        // Reviewed with its ads, as a new campaign is.
        self.serving
            .review_campaign(self.org, campaign.id, true, "")
            .await
            .expect("review");
        (advertiser.id, campaign.id, ids)
    }

    async fn site(&self, media_key: &str) -> String {
        self.serving
            .create_site(
                self.org,
                &NewSite {
                    name: format!("Site {media_key}"),
                    media_key: media_key.into(),
                    allowed_origins: Vec::new(),
                },
            )
            .await
            .expect("site")
            .key
    }

    /// Asks api `api` for ads; returns (ad id, price, click path) of each.
    async fn query(
        &self,
        api: usize,
        key: &str,
        placement: &str,
        user: &str,
        n: usize,
    ) -> Vec<(i64, i64, String)> {
        let url = format!(
            "{}/serve/ads?placement={placement}&n={n}&user={user}",
            self.apis[api].base
        );
        let response = self
            .http
            .get(&url)
            .header("x-adpool-key", key)
            .send()
            .await
            .expect("ad query");
        if response.status() == 401 {
            return Vec::new(); // the site is not loaded on this process yet
        }
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        let body: serde_json::Value = response.json().await.expect("json");
        body["ads"]
            .as_array()
            .expect("ads")
            .iter()
            .map(|ad| {
                let click = ad["click_url"].as_str().expect("click_url");
                let path = &click[click.find("/serve/click").expect("click path")..];
                (
                    ad["ad_id"].as_i64().expect("ad_id"),
                    ad["price"].as_i64().expect("price"),
                    path.to_owned(),
                )
            })
            .collect()
    }

    /// Waits until every api process serves `ad` first on `placement`.
    async fn wait_first(&self, key: &str, placement: &str, ad: i64) {
        for api in 0..self.apis.len() {
            let deadline = Instant::now() + Duration::from_secs(30);
            while self
                .query(api, key, placement, "u0", 1)
                .await
                .first()
                .map(|a| a.0)
                != Some(ad)
            {
                assert!(
                    Instant::now() < deadline,
                    "api {api} does not serve ad {ad} first on {placement} after 30 s"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Clicks `path` on api `api`; returns the outcome header.
    async fn click(&self, api: usize, path: &str) -> String {
        // Each click comes from its own shopper's browser (one client rotating user ids would
        // be invalid traffic).
        let response = self
            .http
            .get(format!("{}{path}", self.apis[api].base))
            .header("user-agent", format!("shopper-browser {path}"))
            .send()
            .await
            .expect("click");
        assert_eq!(response.status(), 302, "click {path}");
        response
            .headers()
            .get("x-adpool-click")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    }

    async fn scalar(&self, sql: &str, bind: i64) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(bind)
            .fetch_one(self.db.pool())
            .await
            .expect(sql)
    }

    /// Waits until the workers settled `events` click events of this advertiser.
    async fn wait_settled(&self, advertiser: i64, events: i64) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let charged = self
                .scalar(
                    "SELECT COUNT(*) FROM cpc_clicks WHERE advertiser_id = $1",
                    advertiser,
                )
                .await;
            let refused = self
                .scalar(
                    "SELECT COUNT(*) FROM cpc_invalid_clicks i JOIN cpc_ads a ON a.id = i.ad_id JOIN cpc_campaigns c ON c.id = a.campaign_id WHERE c.advertiser_id = $1",
                    advertiser,
                )
                .await;
            if charged + refused >= events {
                assert_eq!(charged + refused, events, "every click event settled once");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "only {charged} + {refused} of {events} click events settled in 90 s:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Runs an `adpool` command with the cluster's configuration.
    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_adpool"))
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(self.folder.path())
            .output()
            .expect("running adpool")
    }

    /// Stops the processes and deletes this run's keys and streams.
    async fn clean_up(mut self) {
        self.apis.clear();
        self.workers.clear();
        let redis = adpool_scaleout::RedisHotState::connect(&self.redis_url, &self.namespace)
            .await
            .expect("redis");
        redis.delete_namespace().await.expect("delete keys");
        let nats = adpool_scaleout::NatsBus::connect(&self.nats_url, &self.namespace)
            .await
            .expect("nats");
        nats.delete_streams().await.expect("delete streams");
    }

    async fn reconcile(&self) -> adpool_scaleout::ReconcileReport {
        let redis = Arc::new(
            adpool_scaleout::RedisHotState::connect(&self.redis_url, &self.namespace)
                .await
                .expect("redis"),
        );
        let spend: Arc<dyn adpool_serving::SharedSpend> = redis;
        adpool_scaleout::reconcile::reconcile(&self.serving, &spend, None, false)
            .await
            .expect("reconcile")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_api_processes_and_two_workers_share_rankings_money_and_events() {
    let Some((redis, nats)) = adpool_scaleout::testing::engines() else {
        return;
    };
    let cluster = Cluster::start(redis, nats).await;

    // 1. A ranking change made through one api process shows on every api process.
    let (_, _, cheap) = cluster
        .advertiser(
            "ranking",
            "21181234",
            1_000_000,
            1_000_000,
            &[("CHEAP", 100)],
        )
        .await;
    let (_, _, dear) = cluster
        .advertiser(
            "ranking",
            "21281234",
            1_000_000,
            1_000_000,
            &[("DEAR", 300)],
        )
        .await;
    let key = cluster.site("ranking-site").await;
    // The ads were written behind the processes' backs (no change event): the workers' timer
    // rebuilds the rankings within 10 s.
    cluster.wait_first(&key, "ranking", dear[0]).await;
    let changed_at = Instant::now();
    let response = cluster
        .http
        .patch(format!(
            "{}/api/v1/ads/ads/{}",
            cluster.apis[0].base, dear[0]
        ))
        .bearer_auth(&cluster.token)
        .json(&serde_json::json!({ "state": "paused" }))
        .send()
        .await
        .expect("pause");
    assert_eq!(
        response.status(),
        200,
        "{}",
        response.text().await.unwrap_or_default()
    );
    let mut seen = Vec::new();
    for api in 0..3 {
        while cluster
            .query(api, &key, "ranking", "u0", 2)
            .await
            .first()
            .map(|a| a.0)
            != Some(cheap[0])
        {
            assert!(
                changed_at.elapsed() < Duration::from_secs(3),
                "api {api} still ranks the paused ad after 3 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        seen.push(changed_at.elapsed());
    }
    eprintln!("ranking change visible on the three api processes after {seen:?}");

    // 2. Concurrent clicks spread over the api processes never overspend: 70 won a click
    // (one ad pays the reserve), 7,000 won pays exactly 100 of 300.
    let (advertiser, _, only) = cluster
        .advertiser("clicks", "21381234", 7_000, 1_000_000, &[("ONLY", 500)])
        .await;
    let key = cluster.site("click-site").await;
    cluster.wait_first(&key, "clicks", only[0]).await;
    let mut clicks = Vec::new();
    for i in 0..300 {
        let answer = cluster
            .query(i % 3, &key, "clicks", &format!("shopper{i}"), 1)
            .await;
        let (_, price, path) = answer.into_iter().next().expect("an ad");
        assert_eq!(price, 70);
        clicks.push(path);
    }
    let cluster = Arc::new(cluster);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, path) in clicks.into_iter().enumerate() {
        let cluster = cluster.clone();
        // Each click on another api process than the one that served it.
        tasks.spawn(async move { cluster.click((i + 1) % 3, &path).await });
    }
    let mut outcomes = std::collections::BTreeMap::<String, i64>::new();
    while let Some(outcome) = tasks.join_next().await {
        *outcomes.entry(outcome.expect("click task")).or_default() += 1;
    }
    assert_eq!(outcomes.get("accepted"), Some(&100), "{outcomes:?}");
    assert_eq!(
        outcomes.get("balance_exhausted"),
        Some(&200),
        "{outcomes:?}"
    );
    cluster.wait_settled(advertiser, 300).await;
    let balance = cluster
        .scalar(
            "SELECT balance FROM cpc_advertisers WHERE id = $1",
            advertiser,
        )
        .await;
    let charged = cluster
        .scalar(
            "SELECT CAST(COALESCE(SUM(-amount), 0) AS BIGINT) FROM cpc_ledger WHERE advertiser_id = $1 AND kind = 'charge'",
            advertiser,
        )
        .await;
    assert_eq!(
        (balance, charged),
        (0, 7_000),
        "the ledger never goes below zero"
    );
    let (checked, mismatches) = cluster.serving.verify_ledgers().await.expect("verify");
    assert!(checked >= 3 && mismatches.is_empty(), "{mismatches:?}");
    let report = cluster.reconcile().await;
    assert!(report.balances_checked >= 1, "{report:?}");
    assert!(
        report.differences.is_empty(),
        "Redis agrees with the ledger: {report:?}"
    );

    // 3. A worker killed mid-stream and started again: totals equal the reference.
    let mut cluster = Arc::into_inner(cluster).expect("no click task holds the cluster");
    let (advertiser, _, stream) = cluster
        .advertiser(
            "stream",
            "21481234",
            10_000_000,
            10_000_000,
            &[("STREAM", 200)],
        )
        .await;
    let key = cluster.site("stream-site").await;
    cluster.wait_first(&key, "stream", stream[0]).await;
    let mut reference = 0;
    let mut accepted = 0;
    for i in 0..400 {
        if i == 120 {
            let _ = cluster.workers[0].child.kill();
            let _ = cluster.workers[0].child.wait();
        }
        let (_, price, path) = cluster
            .query(i % 3, &key, "stream", &format!("streamer{i}"), 1)
            .await
            .into_iter()
            .next()
            .expect("an ad");
        if cluster.click((i + 2) % 3, &path).await == "accepted" {
            reference += price;
            accepted += 1;
        }
    }
    assert_eq!(accepted, 400, "every click was affordable");
    let restarted = cluster.spawn("worker");
    cluster.workers[0] = restarted;
    cluster.wait_settled(advertiser, 400).await;
    let charged = cluster
        .scalar(
            "SELECT CAST(COALESCE(SUM(-amount), 0) AS BIGINT) FROM cpc_ledger WHERE advertiser_id = $1 AND kind = 'charge'",
            advertiser,
        )
        .await;
    let clicks = cluster
        .scalar(
            "SELECT COUNT(DISTINCT impression_id) FROM cpc_clicks WHERE advertiser_id = $1",
            advertiser,
        )
        .await;
    let balance = cluster
        .scalar(
            "SELECT balance FROM cpc_advertisers WHERE id = $1",
            advertiser,
        )
        .await;
    assert_eq!(charged, reference, "charged once per accepted click");
    assert_eq!(clicks, 400);
    assert_eq!(balance, 10_000_000 - reference);
    let report = cluster.reconcile().await;
    assert!(report.differences.is_empty(), "{report:?}");

    // 4. `adpool ads reconcile` reports a drifted balance, and --repair sets it from the ledger.
    let ok = cluster.cli(&["ads", "reconcile"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let redis = adpool_scaleout::RedisHotState::connect(&cluster.redis_url, &cluster.namespace)
        .await
        .expect("redis");
    adpool_serving::SharedSpend::set_balance(&redis, advertiser, 5)
        .await
        .expect("drift");
    let drifted = cluster.cli(&["ads", "reconcile"]);
    let stderr = String::from_utf8_lossy(&drifted.stderr);
    assert!(!drifted.status.success());
    assert!(
        stderr.contains(&format!(
            "balance {advertiser}: ledger {} won, Redis 5 won",
            10_000_000 - reference
        )),
        "{stderr}"
    );
    // A redelivered click event of the killed worker can still be unacknowledged: the command
    // says to run it again once they are settled, as an operator would.
    let mut repaired = cluster.cli(&["ads", "reconcile", "--repair"]);
    for _ in 0..40 {
        if repaired.status.success()
            || !String::from_utf8_lossy(&repaired.stderr).contains("in flight")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        repaired = cluster.cli(&["ads", "reconcile", "--repair"]);
    }
    assert!(
        repaired.status.success(),
        "{}",
        String::from_utf8_lossy(&repaired.stderr)
    );
    assert!(cluster.reconcile().await.differences.is_empty());
    cluster.clean_up().await;
}
