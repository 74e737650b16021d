//! Configuration: defaults, then `adpool.toml` (or `--config FILE`), then `ADPOOL_*`
//! environment variables, then command-line flags.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// Everything adpool can be configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    /// Address `serve` listens on.
    pub bind: String,
    /// Mark cookies `Secure` (when served behind HTTPS).
    pub secure_cookies: bool,
    /// Jobs run at once by the in-process worker.
    pub worker_concurrency: usize,
    /// `tracing` filter, e.g. `info,adpool_web=debug`.
    pub log: String,
    /// Public base URL of this server for CPC click URLs (`https://ads.example.com`); when unset
    /// the request's Host header is used.
    pub public_url: Option<String>,
    /// Where the ad server writes its request, impression and click logs (empty: not written).
    pub event_log_folder: String,
    /// The lowest CPC bid and price in won.
    pub cpc_reserve_price: i64,
    /// A second click by the same user on the same ad within this many seconds charges nothing.
    pub cpc_duplicate_click_window_secs: u64,
    /// How long a click URL stays valid, in seconds.
    pub cpc_click_token_ttl_secs: u64,
    /// Endpoint, region and credentials of `s3://` log sources (keys `s3_endpoint`,
    /// `s3_region`, `s3_access_key_id`, `s3_secret_access_key`); what is unset comes from the
    /// AWS environment variables.
    pub s3: adpool_logs::S3Settings,
    /// The key shop credentials are sealed with: 64 hex characters (`commerce_key`,
    /// `ADPOOL_COMMERCE_KEY`; every process of a deployment needs the same one). When unset, the
    /// key in `commerce_key_file` is used, created on first use with mode 0600.
    pub commerce_key: Option<String>,
    /// Where the generated commerce key lives when `commerce_key` is unset.
    pub commerce_key_file: String,
    /// Cafe24's Admin API base URL; `{mall_id}` is replaced per store.
    pub cafe24_base_url: String,
    /// The `X-Cafe24-Api-Version` adpool sends (a version the deployment's app supports).
    pub cafe24_api_version: String,
    /// The deployment's Cafe24 app, registered once in the Cafe24 Developer Center with the
    /// redirect URI `<public_url>/shops/oauth/cafe24` (docs/shops.md): shop owners then only
    /// enter their mall id and connect. Empty: each store brings its own app.
    pub cafe24_client_id: String,
    /// Its secret (`ADPOOL_CAFE24_CLIENT_SECRET` keeps it out of the file).
    pub cafe24_client_secret: String,
    /// Days of orders every sync reads again so later status changes are seen (default 90).
    pub shop_settle_days: i64,
    /// Naver Commerce API base URL.
    pub naver_base_url: String,
    /// The address this server's outbound calls come from, as the operator knows it: shown to
    /// a seller whose Naver application must list it (`GW.IP_NOT_ALLOWED`).
    pub outbound_ip_address: Option<String>,
    /// When every store with an API syncs (cron in KST).
    pub shop_sync_cron: String,
    /// Stores synced at once (each also needs a worker slot: see `worker_concurrency`).
    pub shop_sync_concurrency: usize,
    /// The OpenAI-compatible endpoint that writes marketing messages (keys `llm_base_url`,
    /// `llm_model`, `llm_api_key`, `llm_timeout_secs`); without a base URL the built-in writer
    /// writes them.
    pub llm: adpool_insight::llm::LlmSettings,
    /// Scale-out engines (keys `redis_url`, `nats_url`, `namespace`; docs/deployment.md).
    pub scale_out: adpool_scaleout::ScaleOutSettings,
    /// How long a NATS event waits for a worker's acknowledgement before another worker gets
    /// it, in seconds.
    pub nats_ack_wait_secs: u64,
    /// Requests a second each client address may send to `/serve/*` (bursts of twice that);
    /// 0 turns the limit off.
    pub serve_rate_limit_per_second: u32,
    /// Sign-in attempts a minute each client address may make; 0 turns the limit off.
    pub login_rate_limit_per_minute: u32,
    /// Behind a load balancer or proxy that appends the client's address to X-Forwarded-For:
    /// rate limits and sign-in throttling count that address.
    pub trust_forwarded_for: bool,
    /// Folders organizations may analyze from the web besides their own event-log folder;
    /// `{org}` stands for the organization's id (`/srv/adlogs/org-{org}`).
    pub log_folder_roots: Vec<String>,
    /// Organizations whose `s3://` log sources may use the server's own S3 settings when they
    /// saved none of their own.
    pub log_server_s3_orgs: Vec<i64>,
    /// Private hosts tenant-set URLs (webhooks, S3 endpoints) may reach on a self-hosted
    /// install, as written in the URL (`hooks.internal`, `10.0.0.5`).
    pub outbound_allowed_hosts: Vec<String>,
    /// Seconds a client has to send a request's headers; also how long a kept-alive
    /// connection may wait idle.
    pub http_header_timeout_secs: u64,
    /// Longest wait in seconds between two pieces of a request body.
    pub http_body_timeout_secs: u64,
    /// HTTP connections open at once.
    pub http_max_connections: usize,
    /// When set, `/metrics` needs `Authorization: Bearer <metrics_token>`.
    pub metrics_token: Option<String>,
    /// The organization that runs the deployment (its admins see system jobs); 0: none.
    pub operator_org_id: i64,
    /// Advertiser sign-ups an hour each client address may submit; 0 turns the limit off.
    pub signup_rate_limit_per_hour: u32,
    /// Distinct user ids one client may show within the duplicate-click window before its
    /// CPC clicks are invalid traffic; 0 turns the rule off.
    pub cpc_max_users_per_client: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: adpool_store::DEFAULT_DATABASE_URL.to_owned(),
            bind: "127.0.0.1:8080".to_owned(),
            secure_cookies: false,
            worker_concurrency: 4,
            log: "info".to_owned(),
            public_url: None,
            event_log_folder: "./adpool-data/event-logs".to_owned(),
            cpc_reserve_price: 70,
            cpc_duplicate_click_window_secs: 600,
            cpc_click_token_ttl_secs: 1800,
            s3: adpool_logs::S3Settings {
                from_environment: true,
                ..adpool_logs::S3Settings::default()
            },
            commerce_key: None,
            commerce_key_file: "./adpool-data/commerce.key".to_owned(),
            cafe24_base_url: "https://{mall_id}.cafe24api.com".to_owned(),
            cafe24_api_version: adpool_commerce::cafe24::fake::API_VERSION.to_owned(),
            cafe24_client_id: String::new(),
            cafe24_client_secret: String::new(),
            shop_settle_days: 90,
            naver_base_url: "https://api.commerce.naver.com".to_owned(),
            outbound_ip_address: None,
            shop_sync_cron: "0 8 * * *".to_owned(),
            shop_sync_concurrency: 20,
            llm: adpool_insight::llm::LlmSettings {
                base_url: None,
                ..adpool_insight::llm::LlmSettings::new("")
            },
            scale_out: adpool_scaleout::ScaleOutSettings::default(),
            nats_ack_wait_secs: 30,
            serve_rate_limit_per_second: 50,
            login_rate_limit_per_minute: 20,
            trust_forwarded_for: false,
            log_folder_roots: Vec::new(),
            log_server_s3_orgs: Vec::new(),
            outbound_allowed_hosts: Vec::new(),
            http_header_timeout_secs: 10,
            http_body_timeout_secs: 30,
            http_max_connections: 1024,
            metrics_token: None,
            operator_org_id: 1,
            signup_rate_limit_per_hour: 10,
            cpc_max_users_per_client: 4,
        }
    }
}

/// The file format: every key optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    database_url: Option<String>,
    bind: Option<String>,
    secure_cookies: Option<bool>,
    worker_concurrency: Option<usize>,
    log: Option<String>,
    public_url: Option<String>,
    event_log_folder: Option<String>,
    cpc_reserve_price: Option<i64>,
    cpc_duplicate_click_window_secs: Option<u64>,
    cpc_click_token_ttl_secs: Option<u64>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    s3_access_key_id: Option<String>,
    s3_secret_access_key: Option<String>,
    commerce_key: Option<String>,
    commerce_key_file: Option<String>,
    cafe24_base_url: Option<String>,
    cafe24_api_version: Option<String>,
    cafe24_client_id: Option<String>,
    cafe24_client_secret: Option<String>,
    shop_settle_days: Option<i64>,
    naver_base_url: Option<String>,
    outbound_ip_address: Option<String>,
    shop_sync_cron: Option<String>,
    shop_sync_concurrency: Option<usize>,
    llm_base_url: Option<String>,
    llm_model: Option<String>,
    llm_api_key: Option<String>,
    llm_timeout_secs: Option<u64>,
    redis_url: Option<String>,
    nats_url: Option<String>,
    namespace: Option<String>,
    nats_ack_wait_secs: Option<u64>,
    serve_rate_limit_per_second: Option<u32>,
    login_rate_limit_per_minute: Option<u32>,
    trust_forwarded_for: Option<bool>,
    log_folder_roots: Option<Vec<String>>,
    log_server_s3_orgs: Option<Vec<i64>>,
    outbound_allowed_hosts: Option<Vec<String>>,
    http_header_timeout_secs: Option<u64>,
    http_body_timeout_secs: Option<u64>,
    http_max_connections: Option<usize>,
    metrics_token: Option<String>,
    operator_org_id: Option<i64>,
    signup_rate_limit_per_hour: Option<u32>,
    cpc_max_users_per_client: Option<usize>,
}

/// The file read when `--config` is not given and it exists.
pub const DEFAULT_CONFIG_FILE: &str = "adpool.toml";

impl Config {
    /// Loads defaults, the config file and the environment. `explicit` must exist when given.
    pub fn load(
        explicit: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Config> {
        let mut config = Config::default();
        let path: Option<PathBuf> = match explicit {
            Some(path) => Some(path.to_owned()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
        };
        if let Some(path) = path {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            config
                .apply_file(&text)
                .with_context(|| format!("config file {}", path.display()))?;
        }
        config.apply_env(env)?;
        Ok(config)
    }

    fn apply_file(&mut self, text: &str) -> anyhow::Result<()> {
        let file: ConfigFile =
            toml::from_str(text).map_err(|e| anyhow::anyhow!(describe_toml_error(text, &e)))?;
        if let Some(v) = file.database_url {
            self.database_url = v;
        }
        if let Some(v) = file.bind {
            self.bind = v;
        }
        if let Some(v) = file.secure_cookies {
            self.secure_cookies = v;
        }
        if let Some(v) = file.worker_concurrency {
            if v == 0 {
                bail!("key worker_concurrency: must be at least 1");
            }
            self.worker_concurrency = v;
        }
        if let Some(v) = file.log {
            self.log = v;
        }
        if let Some(v) = file.public_url {
            self.public_url = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = file.event_log_folder {
            self.event_log_folder = v;
        }
        if let Some(v) = file.cpc_reserve_price {
            if v < 1 {
                bail!("key cpc_reserve_price: must be at least 1 won");
            }
            self.cpc_reserve_price = v;
        }
        if let Some(v) = file.cpc_duplicate_click_window_secs {
            self.cpc_duplicate_click_window_secs = v;
        }
        if let Some(v) = file.cpc_click_token_ttl_secs {
            if v < 10 {
                bail!("key cpc_click_token_ttl_secs: must be at least 10 seconds");
            }
            self.cpc_click_token_ttl_secs = v;
        }
        if let Some(v) = file.s3_endpoint {
            self.s3.endpoint = Some(check_endpoint("key s3_endpoint", v)?);
        }
        set_if_some(&mut self.s3.region, file.s3_region);
        set_if_some(&mut self.s3.access_key_id, file.s3_access_key_id);
        set_if_some(&mut self.s3.secret_access_key, file.s3_secret_access_key);
        set_if_some(&mut self.commerce_key, file.commerce_key);
        if let Some(v) = file.commerce_key_file.filter(|v| !v.is_empty()) {
            self.commerce_key_file = v;
        }
        if let Some(v) = file.cafe24_base_url {
            self.cafe24_base_url = check_endpoint("key cafe24_base_url", v)?;
        }
        if let Some(v) = file.naver_base_url {
            self.naver_base_url = check_endpoint("key naver_base_url", v)?;
        }
        if let Some(v) = file.outbound_ip_address.filter(|v| !v.trim().is_empty()) {
            let address: std::net::IpAddr = v.trim().parse().map_err(|_| {
                anyhow::anyhow!("key outbound_ip_address: '{v}' is not an IP address")
            })?;
            self.outbound_ip_address = Some(address.to_string());
        }
        if let Some(v) = file.cafe24_api_version {
            if chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").is_err() {
                anyhow::bail!(
                    "key cafe24_api_version: '{v}' is not a version date like 2025-12-01"
                );
            }
            self.cafe24_api_version = v.trim().to_owned();
        }
        if let Some(v) = file.cafe24_client_id {
            self.cafe24_client_id = v.trim().to_owned();
        }
        if let Some(v) = file.cafe24_client_secret {
            self.cafe24_client_secret = v.trim().to_owned();
        }
        if let Some(v) = file.shop_settle_days {
            if !(1..=365).contains(&v) {
                anyhow::bail!("key shop_settle_days: {v} is not 1 to 365 days");
            }
            self.shop_settle_days = v;
        }
        if let Some(v) = file.shop_sync_cron {
            adpool_jobs::next_fire_after(&v, 0)
                .map_err(|e| anyhow::anyhow!("key shop_sync_cron: {e}"))?;
            self.shop_sync_cron = v;
        }
        if let Some(v) = file.shop_sync_concurrency {
            if v == 0 {
                bail!("key shop_sync_concurrency: must be at least 1");
            }
            self.shop_sync_concurrency = v;
        }
        if let Some(v) = file.llm_base_url.filter(|v| !v.is_empty()) {
            self.llm.base_url = Some(check_endpoint("key llm_base_url", v)?);
        }
        if let Some(v) = file.llm_model.filter(|v| !v.is_empty()) {
            self.llm.model = v;
        }
        set_if_some(&mut self.llm.api_key, file.llm_api_key);
        if let Some(v) = file.llm_timeout_secs {
            if v == 0 {
                bail!("key llm_timeout_secs: must be at least 1 second");
            }
            self.llm.timeout = std::time::Duration::from_secs(v);
        }
        if let Some(v) = file.redis_url.filter(|v| !v.is_empty()) {
            self.scale_out.redis_url = Some(check_scheme(
                "key redis_url",
                v,
                &["redis://", "rediss://"],
            )?);
        }
        if let Some(v) = file.nats_url.filter(|v| !v.is_empty()) {
            self.scale_out.nats_url =
                Some(check_scheme("key nats_url", v, &["nats://", "tls://"])?);
        }
        if let Some(v) = file.namespace {
            self.set_namespace("key namespace", v)?;
        }
        if let Some(v) = file.nats_ack_wait_secs {
            if v == 0 {
                bail!("key nats_ack_wait_secs: must be at least 1 second");
            }
            self.nats_ack_wait_secs = v;
        }
        if let Some(v) = file.serve_rate_limit_per_second {
            self.serve_rate_limit_per_second = v;
        }
        if let Some(v) = file.login_rate_limit_per_minute {
            self.login_rate_limit_per_minute = v;
        }
        if let Some(v) = file.trust_forwarded_for {
            self.trust_forwarded_for = v;
        }
        if let Some(v) = file.log_folder_roots {
            self.log_folder_roots = v;
        }
        if let Some(v) = file.log_server_s3_orgs {
            self.log_server_s3_orgs = v;
        }
        if let Some(v) = file.outbound_allowed_hosts {
            self.outbound_allowed_hosts = v;
        }
        for (key, value, slot) in [
            (
                "http_header_timeout_secs",
                file.http_header_timeout_secs,
                &mut self.http_header_timeout_secs,
            ),
            (
                "http_body_timeout_secs",
                file.http_body_timeout_secs,
                &mut self.http_body_timeout_secs,
            ),
        ] {
            if let Some(v) = value {
                if v == 0 {
                    bail!("key {key}: must be at least 1 second");
                }
                *slot = v;
            }
        }
        set_if_some(&mut self.metrics_token, file.metrics_token);
        if let Some(v) = file.cpc_max_users_per_client {
            self.cpc_max_users_per_client = v;
        }
        if let Some(v) = file.signup_rate_limit_per_hour {
            self.signup_rate_limit_per_hour = v;
        }
        if let Some(v) = file.operator_org_id {
            if v < 0 {
                bail!("key operator_org_id: an organization id, or 0 for none");
            }
            self.operator_org_id = v;
        }
        if let Some(v) = file.http_max_connections {
            if v == 0 {
                bail!("key http_max_connections: must be at least 1");
            }
            self.http_max_connections = v;
        }
        Ok(())
    }

    fn set_namespace(&mut self, what: &str, value: String) -> anyhow::Result<()> {
        let settings = adpool_scaleout::ScaleOutSettings {
            namespace: value,
            ..Default::default()
        };
        settings
            .check()
            .map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
        self.scale_out.namespace = settings.namespace;
        Ok(())
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = env("ADPOOL_DATABASE_URL").filter(|v| !v.is_empty()) {
            self.database_url = v;
        }
        if let Some(v) = env("ADPOOL_BIND").filter(|v| !v.is_empty()) {
            self.bind = v;
        }
        for (name, target) in [
            ("ADPOOL_SECURE_COOKIES", &mut self.secure_cookies),
            ("ADPOOL_TRUST_FORWARDED_FOR", &mut self.trust_forwarded_for),
        ] {
            if let Some(v) = env(name).filter(|v| !v.is_empty()) {
                *target = match v.as_str() {
                    "1" | "true" | "yes" => true,
                    "0" | "false" | "no" => false,
                    other => bail!("environment variable {name}: '{other}' is not true or false"),
                };
            }
        }
        if let Some(v) = env("ADPOOL_WORKER_CONCURRENCY").filter(|v| !v.is_empty()) {
            self.worker_concurrency = v
                .parse()
                .ok()
                .filter(|&n: &usize| n > 0)
                .with_context(|| format!("environment variable ADPOOL_WORKER_CONCURRENCY: '{v}' is not a positive number"))?;
        }
        if let Some(v) = env("ADPOOL_LOG").filter(|v| !v.is_empty()) {
            self.log = v;
        }
        if let Some(v) = env("ADPOOL_PUBLIC_URL").filter(|v| !v.is_empty()) {
            self.public_url = Some(v);
        }
        if let Some(v) = env("ADPOOL_EVENT_LOG_FOLDER") {
            self.event_log_folder = v;
        }
        if let Some(v) = env("ADPOOL_S3_ENDPOINT").filter(|v| !v.is_empty()) {
            self.s3.endpoint = Some(check_endpoint(
                "environment variable ADPOOL_S3_ENDPOINT",
                v,
            )?);
        }
        set_if_some(&mut self.s3.region, env("ADPOOL_S3_REGION"));
        set_if_some(&mut self.s3.access_key_id, env("ADPOOL_S3_ACCESS_KEY_ID"));
        set_if_some(
            &mut self.s3.secret_access_key,
            env("ADPOOL_S3_SECRET_ACCESS_KEY"),
        );
        set_if_some(&mut self.commerce_key, env("ADPOOL_COMMERCE_KEY"));
        if let Some(v) = env("ADPOOL_CAFE24_CLIENT_SECRET").filter(|v| !v.is_empty()) {
            self.cafe24_client_secret = v;
        }
        if let Some(v) = env("ADPOOL_LLM_BASE_URL").filter(|v| !v.is_empty()) {
            self.llm.base_url = Some(check_endpoint(
                "environment variable ADPOOL_LLM_BASE_URL",
                v,
            )?);
        }
        if let Some(v) = env("ADPOOL_LLM_MODEL").filter(|v| !v.is_empty()) {
            self.llm.model = v;
        }
        set_if_some(&mut self.llm.api_key, env("ADPOOL_LLM_API_KEY"));
        if let Some(v) = env("ADPOOL_REDIS_URL").filter(|v| !v.is_empty()) {
            self.scale_out.redis_url = Some(check_scheme(
                "environment variable ADPOOL_REDIS_URL",
                v,
                &["redis://", "rediss://"],
            )?);
        }
        if let Some(v) = env("ADPOOL_NATS_URL").filter(|v| !v.is_empty()) {
            self.scale_out.nats_url = Some(check_scheme(
                "environment variable ADPOOL_NATS_URL",
                v,
                &["nats://", "tls://"],
            )?);
        }
        if let Some(v) = env("ADPOOL_NAMESPACE") {
            self.set_namespace("environment variable ADPOOL_NAMESPACE", v)?;
        }
        if let Some(v) = env("ADPOOL_NATS_ACK_WAIT_SECS").filter(|v| !v.is_empty()) {
            self.nats_ack_wait_secs = v.parse().ok().filter(|&n: &u64| n > 0).with_context(|| {
                format!("environment variable ADPOOL_NATS_ACK_WAIT_SECS: '{v}' is not a positive number of seconds")
            })?;
        }
        for (name, target) in [
            (
                "ADPOOL_SERVE_RATE_LIMIT_PER_SECOND",
                &mut self.serve_rate_limit_per_second,
            ),
            (
                "ADPOOL_LOGIN_RATE_LIMIT_PER_MINUTE",
                &mut self.login_rate_limit_per_minute,
            ),
        ] {
            if let Some(v) = env(name).filter(|v| !v.is_empty()) {
                *target = v.parse().with_context(|| {
                    format!(
                        "environment variable {name}: '{v}' is not a number (0 turns the limit off)"
                    )
                })?;
            }
        }
        let list = |v: String| -> Vec<String> {
            v.split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect()
        };
        for (name, slot) in [
            (
                "ADPOOL_HTTP_HEADER_TIMEOUT_SECS",
                &mut self.http_header_timeout_secs,
            ),
            (
                "ADPOOL_HTTP_BODY_TIMEOUT_SECS",
                &mut self.http_body_timeout_secs,
            ),
        ] {
            if let Some(v) = env(name).filter(|v| !v.is_empty()) {
                *slot = v.parse().ok().filter(|&n: &u64| n > 0).with_context(|| {
                    format!(
                        "environment variable {name}: '{v}' is not a positive number of seconds"
                    )
                })?;
            }
        }
        set_if_some(&mut self.metrics_token, env("ADPOOL_METRICS_TOKEN"));
        if let Some(v) = env("ADPOOL_CPC_MAX_USERS_PER_CLIENT").filter(|v| !v.is_empty()) {
            self.cpc_max_users_per_client = v.parse().with_context(|| {
                format!("environment variable ADPOOL_CPC_MAX_USERS_PER_CLIENT: '{v}' is not a number (0 turns the rule off)")
            })?;
        }
        if let Some(v) = env("ADPOOL_HTTP_MAX_CONNECTIONS").filter(|v| !v.is_empty()) {
            self.http_max_connections = v.parse().ok().filter(|&n: &usize| n > 0).with_context(|| {
                format!("environment variable ADPOOL_HTTP_MAX_CONNECTIONS: '{v}' is not a positive number")
            })?;
        }
        if let Some(v) = env("ADPOOL_LOG_FOLDER_ROOTS") {
            self.log_folder_roots = list(v);
        }
        if let Some(v) = env("ADPOOL_OUTBOUND_ALLOWED_HOSTS") {
            self.outbound_allowed_hosts = list(v);
        }
        if let Some(v) = env("ADPOOL_LOG_SERVER_S3_ORGS") {
            self.log_server_s3_orgs = list(v.clone())
                .iter()
                .map(|id| id.parse::<i64>().ok().filter(|&id| id > 0))
                .collect::<Option<Vec<i64>>>()
                .with_context(|| {
                    format!("environment variable ADPOOL_LOG_SERVER_S3_ORGS: '{v}' is not a comma-separated list of organization ids")
                })?;
        }
        Ok(())
    }

    /// The HTTP listener's limits.
    pub fn http_limits(&self) -> adpool_web::HttpLimits {
        adpool_web::HttpLimits {
            header_timeout: std::time::Duration::from_secs(self.http_header_timeout_secs),
            body_timeout: std::time::Duration::from_secs(self.http_body_timeout_secs),
            max_connections: self.http_max_connections,
        }
    }

    /// Where tenant-set URLs may point.
    pub fn outbound_rules(&self) -> adpool_outbound::OutboundRules {
        adpool_outbound::OutboundRules::new(&self.outbound_allowed_hosts)
    }

    /// Which log sources organizations may analyze from the web and their jobs.
    pub fn log_source_rules(&self) -> adpool_logs::SourceRules {
        let event_log_folder = Some(self.event_log_folder.trim())
            .filter(|f| !f.is_empty())
            .map(|f| std::path::absolute(f).unwrap_or_else(|_| f.into()));
        adpool_logs::SourceRules {
            folder_roots: self.log_folder_roots.clone(),
            event_log_folder,
            server_s3: self.s3.clone(),
            server_s3_orgs: self
                .log_server_s3_orgs
                .iter()
                .map(|&id| adpool_core::OrgId(id))
                .collect(),
            outbound: self.outbound_rules(),
        }
    }
}

/// A URL must start with one of `schemes`.
fn check_scheme(what: &str, value: String, schemes: &[&str]) -> anyhow::Result<String> {
    if schemes.iter().any(|s| value.starts_with(s)) {
        Ok(value)
    } else {
        bail!(
            "{what}: '{value}' does not start with {}",
            schemes.join(" or ")
        )
    }
}

/// Replaces `slot` with a non-empty `value`.
fn set_if_some(slot: &mut Option<String>, value: Option<String>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        *slot = Some(v);
    }
}

/// An S3 endpoint must be an http(s) URL.
fn check_endpoint(what: &str, value: String) -> anyhow::Result<String> {
    if value.starts_with("https://") || value.starts_with("http://") {
        Ok(value.trim_end_matches('/').to_owned())
    } else {
        bail!("{what}: '{value}' is not an http:// or https:// URL")
    }
}

/// toml's own messages span lines (with a source excerpt); start-up errors are one line:
/// `line 2: unknown field `databse_url`, expected one of ...`.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', " ");
    let Some(span) = error.span() else {
        return message;
    };
    let start = span.start.min(text.len());
    let line_number = text[..start].matches('\n').count() + 1;
    // Type errors point at the value; name the key written before it on that line.
    let line = text[..start].rsplit('\n').next().unwrap_or_default();
    match line
        .split_once('=')
        .map(|(key, _)| key.trim())
        .filter(|key| !key.is_empty())
    {
        Some(key) if !message.contains(key) => format!("line {line_number}, key {key}: {message}"),
        _ => format!("line {line_number}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn file_then_environment_override_defaults() {
        let mut config = Config::default();
        config
            .apply_file("bind = \"0.0.0.0:9000\"\nworker_concurrency = 2\n")
            .unwrap();
        assert_eq!(config.bind, "0.0.0.0:9000");
        assert_eq!(config.worker_concurrency, 2);
        config
            .apply_env(&|k| (k == "ADPOOL_BIND").then(|| "127.0.0.1:1".to_owned()))
            .unwrap();
        assert_eq!(config.bind, "127.0.0.1:1");
        assert_eq!(
            Config::load(None, &no_env).unwrap().database_url,
            adpool_store::DEFAULT_DATABASE_URL
        );
    }

    #[test]
    fn malformed_files_name_the_key() {
        let error = Config::default()
            .apply_file("databse_url = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("databse_url"), "{error}");
        assert!(!error.contains('\n'), "{error}");
        assert!(
            error.starts_with("line 1: unknown field `databse_url`"),
            "{error}"
        );
        let error = Config::default()
            .apply_file("worker_concurrency = \"many\"")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("worker_concurrency") || error.contains("integer"),
            "{error}"
        );
        let error = Config::default()
            .apply_env(&|k| (k == "ADPOOL_SECURE_COOKIES").then(|| "maybe".to_owned()))
            .unwrap_err();
        assert!(error.to_string().contains("ADPOOL_SECURE_COOKIES"));
        let error = Config::default()
            .apply_file("s3_endpoint = \"127.0.0.1:9000\"")
            .unwrap_err();
        assert!(error.to_string().contains("s3_endpoint"), "{error}");
    }

    #[test]
    fn the_ai_endpoint_comes_from_the_file_and_the_environment_and_hides_its_key() {
        let mut config = Config::default();
        assert_eq!(config.llm.base_url, None);
        config
            .apply_file("llm_base_url = \"http://127.0.0.1:9/v1/\"\nllm_model = \"m\"\nllm_timeout_secs = 5\n")
            .unwrap();
        config
            .apply_env(&|k| (k == "ADPOOL_LLM_API_KEY").then(|| "sk-very-secret".to_owned()))
            .unwrap();
        assert_eq!(
            config.llm.base_url.as_deref(),
            Some("http://127.0.0.1:9/v1")
        );
        assert_eq!(
            (config.llm.model.as_str(), config.llm.timeout.as_secs()),
            ("m", 5)
        );
        assert_eq!(config.llm.api_key.as_deref(), Some("sk-very-secret"));
        assert!(!format!("{config:?}").contains("sk-very-secret"));
        assert!(
            Config::default()
                .apply_file("llm_base_url = \"ftp://x\"")
                .is_err()
        );
    }

    #[test]
    fn s3_settings_come_from_the_file_and_the_environment_and_hide_the_secret() {
        let mut config = Config::default();
        config
            .apply_file("s3_endpoint = \"http://127.0.0.1:9000/\"\ns3_secret_access_key = \"file-secret\"\n")
            .unwrap();
        config
            .apply_env(&|k| (k == "ADPOOL_S3_REGION").then(|| "ap-northeast-2".to_owned()))
            .unwrap();
        assert_eq!(config.s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(config.s3.region.as_deref(), Some("ap-northeast-2"));
        assert_eq!(config.s3.secret_access_key.as_deref(), Some("file-secret"));
        assert!(!format!("{config:?}").contains("file-secret"));
    }
}
