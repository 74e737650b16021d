//! The authorization matrix: every route of the app, asked by every kind of caller, against
//! the demo's data (real campaigns, bookings, advertisers, clicks, stores, analyses), over
//! HTTP to the real binary.
//!
//! Callers, in the table's column order:
//! `anon` (no session), `admin`, `operator`, `analyst`, `advertiser` (a CPC advertiser of the
//! demo organization, owning its advertiser account) and `other` (the admin of another
//! organization, asking for the demo organization's objects by id).
//!
//! Each cell is what the caller gets:
//! `L` sign in first (401 from the API, a redirect to /login from a page),
//! `F` forbidden (403), `N` not found (404: another organization's object, or an
//! advertiser's view of what is not theirs, looks like nothing at all), `A` allowed (any other
//! answer below 500: done, or refused for the empty request body the matrix sends).
//! A 5xx is never expected. A route missing from the table fails the test (the route list is
//! read from `crates/web/src/routes/`), so a new route must be given its row.
//!
//! Writes that act on an object carry a valid body ([`BODIES`]), so `other` is refused for
//! whose object it is and not for a missing field; roles are checked before the body is read
//! (the web crate's `Operator`, `Staff`, ... extractors). Routes that delete what they are
//! given get one object per caller (fixtures ending in `*`). Callers ask least privileged
//! first. Set ADPOOL_PRINT_MATRIX=1 to print the matrix as observed (new routes included).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up fails loudly by design

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use sqlx::Row;

const PASSWORD: &str = "adpool-demo-2026";
const CALLERS: [&str; 6] = [
    "anon",
    "admin",
    "operator",
    "analyst",
    "advertiser",
    "other",
];
/// Indexes into [`CALLERS`], least privileged first.
const ASKING_ORDER: [usize; 6] = [0, 5, 4, 3, 2, 1];

/// (method, route as written in the router, fixture filling its `{…}`, expected per caller).
#[rustfmt::skip]
const MATRIX: &[(&str, &str, &str, &str)] = &[
    ("GET",    "/",                                          "-",           "L A A A A A"),
    ("GET",    "/admin",                                     "-",           "A A A A A A"),
    ("GET",    "/admin/deployment",                          "-",           "L A F F F A"),
    ("GET",    "/admin/organization",                        "-",           "L A F F F A"),
    ("POST",   "/admin/organization",                        "-",           "L A F F F A"),
    ("POST",   "/admin/organization/rotate-secret",          "-",           "L A F F F A"),
    ("GET",    "/admin/schedules",                           "-",           "L A F F F A"),
    ("GET",    "/admin/tokens",                              "-",           "L A F F F A"),
    ("POST",   "/admin/tokens",                              "-",           "L A F F F A"),
    ("POST",   "/admin/tokens/{id}/revoke",                  "token",       "L A F F F N"),
    ("GET",    "/admin/users",                               "-",           "L A F F F A"),
    ("POST",   "/admin/users",                               "-",           "L A F F F A"),
    ("POST",   "/admin/users/{id}",                          "user",        "L A F F F N"),
    ("GET",    "/api/openapi.json",                          "-",           "A A A A A A"),
    ("PATCH",  "/api/v1/ads/ads/{id}",                       "cpc_ad",      "L A A F A N"),
    ("POST",   "/api/v1/ads/ads/{id}/review",                "cpc_ad",      "L A A F F N"),
    ("GET",    "/api/v1/ads/advertisers",                    "-",           "L A A A A A"),
    ("POST",   "/api/v1/ads/advertisers",                    "-",           "L A A A A A"),
    ("GET",    "/api/v1/ads/advertisers/{id}",               "advertiser",  "L A A A A N"),
    ("POST",   "/api/v1/ads/advertisers/{id}/adjustments",   "advertiser",  "L A F F F N"),
    ("POST",   "/api/v1/ads/advertisers/{id}/approve",       "advertiser",  "L A F F F N"),
    ("GET",    "/api/v1/ads/advertisers/{id}/ledger",        "advertiser",  "L A A A A N"),
    ("POST",   "/api/v1/ads/advertisers/{id}/reject",        "advertiser",  "L A F F F N"),
    ("GET",    "/api/v1/ads/advertisers/{id}/settlement",    "advertiser",  "L A A A A N"),
    ("GET",    "/api/v1/ads/advertisers/{id}/settlement.csv","advertiser",  "L A A A A N"),
    ("POST",   "/api/v1/ads/advertisers/{id}/top-ups",       "advertiser",  "L A F F F N"),
    ("GET",    "/api/v1/ads/campaigns",                      "-",           "L A A A A A"),
    ("POST",   "/api/v1/ads/campaigns",                      "-",           "L A A F A N"),
    ("GET",    "/api/v1/ads/campaigns/{id}",                 "cpc_campaign","L A A A A N"),
    ("POST",   "/api/v1/ads/campaigns/{id}/ads",             "cpc_campaign","L A A F A N"),
    ("POST",   "/api/v1/ads/campaigns/{id}/budget",          "cpc_campaign","L A A F A N"),
    ("POST",   "/api/v1/ads/campaigns/{id}/review",          "cpc_campaign","L A A F F N"),
    ("POST",   "/api/v1/ads/campaigns/{id}/state",           "cpc_campaign","L A A F A N"),
    ("POST",   "/api/v1/ads/clicks/{id}/refund",             "click",       "L A F F F N"),
    ("GET",    "/api/v1/ads/metrics",                        "-",           "L A A A A A"),
    ("GET",    "/api/v1/ads/placements",                     "-",           "L A A A A A"),
    ("POST",   "/api/v1/ads/placements",                     "-",           "L A A F F A"),
    ("GET",    "/api/v1/ads/sites",                          "-",           "L A A F F A"),
    ("POST",   "/api/v1/ads/sites",                          "-",           "L A A F F A"),
    ("DELETE", "/api/v1/ads/sites/{id}",                     "site_api*",   "L A A F F N"),
    ("PATCH",  "/api/v1/ads/{id}",                           "ad",          "L A A F F N"),
    ("GET",    "/api/v1/campaigns",                          "-",           "L A A A F A"),
    ("POST",   "/api/v1/campaigns",                          "-",           "L A A F F A"),
    ("GET",    "/api/v1/campaigns/{id}",                     "campaign",    "L A A A F N"),
    ("POST",   "/api/v1/campaigns/{id}/lines",               "campaign",    "L A A F F A"),
    ("GET",    "/api/v1/campaigns/{id}/proposal.xlsx",       "campaign",    "L A A A F N"),
    ("GET",    "/api/v1/catalog",                            "-",           "L A A A F A"),
    ("POST",   "/api/v1/catalog",                            "-",           "L A A F F A"),
    ("POST",   "/api/v1/delivery-reports",                   "-",           "L A A F F A"),
    ("POST",   "/api/v1/events/orders",                      "-",           "L A A F F A"),
    ("GET",    "/api/v1/insight/analyses",                   "-",           "L A A A F A"),
    ("POST",   "/api/v1/insight/analyses",                   "-",           "L A A A F A"),
    ("GET",    "/api/v1/insight/analyses/{id}",              "analysis",    "L A A A F N"),
    ("GET",    "/api/v1/insight/analyses/{id}/messages",     "analysis",    "L A A A F N"),
    ("POST",   "/api/v1/insight/analyses/{id}/messages",     "analysis",    "L A A A F N"),
    ("POST",   "/api/v1/insight/imports",                    "-",           "L A A F F A"),
    ("GET",    "/api/v1/insight/mappings",                   "-",           "L A A A F A"),
    ("POST",   "/api/v1/insight/mappings",                   "-",           "L A A F F A"),
    ("PATCH",  "/api/v1/insight/messages/{id}",              "message",     "L A A A F N"),
    ("GET",    "/api/v1/insight/rules",                      "-",           "L A A A F A"),
    ("POST",   "/api/v1/insight/rules",                      "-",           "L A A F F A"),
    ("GET",    "/api/v1/insight/transactions",               "-",           "L A A A F A"),
    ("GET",    "/api/v1/insight/uploads",                    "-",           "L A A A F A"),
    ("POST",   "/api/v1/inventory/forecast",                 "-",           "L A A F F A"),
    ("GET",    "/api/v1/inventory/months",                   "-",           "L A A A F A"),
    ("POST",   "/api/v1/inventory/months/{month}/builds",    "month",       "L A A F F A"),
    ("POST",   "/api/v1/inventory/months/{month}/confirm",   "month",       "L A A F F A"),
    ("GET",    "/api/v1/inventory/standard",                 "-",           "L A A A F A"),
    ("PATCH",  "/api/v1/inventory/standard/{id}",            "standard",    "L A A F F N"),
    ("GET",    "/api/v1/inventory/unit",                     "-",           "L A A A F A"),
    ("GET",    "/api/v1/jobs",                               "-",           "L A A A F A"),
    ("GET",    "/api/v1/jobs/{id}",                          "job",         "L A A A F N"),
    ("POST",   "/api/v1/jobs/{id}/cancel",                   "job",         "L A A F F N"),
    ("POST",   "/api/v1/jobs/{id}/retry",                    "job",         "L A A F F N"),
    ("POST",   "/api/v1/lines/{id}/ads",                     "line",        "L A A F F N"),
    ("POST",   "/api/v1/lines/{id}/book",                    "line",        "L A A F F N"),
    ("GET",    "/api/v1/lines/{id}/pacing",                  "line",        "L A A A F N"),
    ("GET",    "/api/v1/me",                                 "-",           "L A A A A A"),
    ("GET",    "/api/v1/notifications",                      "-",           "L A A A A A"),
    ("POST",   "/api/v1/notifications/read-all",             "-",           "L A A A A A"),
    ("POST",   "/api/v1/notifications/{id}/read",            "notification","L A A A A N"),
    ("GET",    "/api/v1/organization",                       "-",           "L A A A A A"),
    ("PATCH",  "/api/v1/organization",                       "-",           "L A F F F A"),
    ("POST",   "/api/v1/purchases",                          "-",           "L A A F F A"),
    ("DELETE", "/api/v1/purchases/{id}",                     "booking",     "L A A F F N"),
    ("GET",    "/api/v1/purchases/{id}",                     "booking",     "L A A A F N"),
    ("GET",    "/api/v1/schedules",                          "-",           "L A F F F A"),
    ("GET",    "/api/v1/shops/sales",                        "-",           "L A A A F A"),
    ("GET",    "/api/v1/shops/stores",                       "-",           "L A A A F A"),
    ("POST",   "/api/v1/shops/stores",                       "-",           "L A A F F A"),
    ("GET",    "/api/v1/shops/stores/{id}/runs",             "store",       "L A A A F N"),
    ("POST",   "/api/v1/shops/stores/{id}/sync",             "store",       "L A A F F N"),
    ("GET",    "/api/v1/tokens",                             "-",           "L A A A A A"),
    ("POST",   "/api/v1/tokens",                             "-",           "L A A A A A"),
    ("DELETE", "/api/v1/tokens/{id}",                        "token",       "L A N N N N"),
    ("GET",    "/api/v1/users",                              "-",           "L A F F F A"),
    ("POST",   "/api/v1/users",                              "-",           "L A F F F A"),
    ("GET",    "/api/v1/users/{id}",                         "user",        "L A F F F N"),
    ("PATCH",  "/api/v1/users/{id}",                         "user",        "L A F F F N"),
    ("GET",    "/assets/app.css",                            "-",           "A A A A A A"),
    ("GET",    "/assets/app.js",                             "-",           "A A A A A A"),
    ("GET",    "/campaigns",                                 "-",           "L A A A F A"),
    ("POST",   "/campaigns",                                 "-",           "L A A F F A"),
    ("POST",   "/campaigns/ads/{id}",                        "ad",          "L A A F F N"),
    ("POST",   "/campaigns/lines/{id}/ads",                  "line",        "L A A F F N"),
    ("POST",   "/campaigns/lines/{id}/book",                 "line",        "L A A F F N"),
    ("GET",    "/campaigns/{id}",                            "campaign",    "L A A A F N"),
    ("POST",   "/campaigns/{id}/lines",                      "campaign",    "L A A F F A"),
    ("GET",    "/campaigns/{id}/proposal.xlsx",              "campaign",    "L A A A F N"),
    ("GET",    "/cpc",                                       "-",           "L A A A A A"),
    ("POST",   "/cpc/ads/{id}",                              "cpc_ad",      "L A A F A N"),
    ("GET",    "/cpc/advertisers/{id}",                      "advertiser",  "L A A A A N"),
    ("POST",   "/cpc/advertisers/{id}/adjust",               "advertiser",  "L A F F F N"),
    ("POST",   "/cpc/advertisers/{id}/campaigns",            "advertiser",  "L A A F A N"),
    ("POST",   "/cpc/advertisers/{id}/review",               "advertiser",  "L A F F F N"),
    ("GET",    "/cpc/advertisers/{id}/settlement.csv",       "advertiser",  "L A A A A N"),
    ("POST",   "/cpc/advertisers/{id}/top-up",               "advertiser",  "L A F F F N"),
    ("GET",    "/cpc/campaigns/{id}",                        "cpc_campaign","L A A A A N"),
    ("POST",   "/cpc/campaigns/{id}/ads",                    "cpc_campaign","L A A F A N"),
    ("POST",   "/cpc/campaigns/{id}/budget",                 "cpc_campaign","L A A F A N"),
    ("POST",   "/cpc/campaigns/{id}/review",                 "cpc_campaign","L A A F F N"),
    ("POST",   "/cpc/ads/{id}/review",                       "cpc_ad",      "L A A F F N"),
    ("POST",   "/cpc/campaigns/{id}/state",                  "cpc_campaign","L A A F A N"),
    ("GET",    "/cpc/join/{org}",                            "org",         "A A A A A A"),
    ("POST",   "/cpc/join/{org}",                            "org",         "A A A A A A"),
    ("POST",   "/cpc/placements",                            "-",           "L A A F F A"),
    ("GET",    "/cpc/settlement",                            "-",           "L A A A A A"),
    ("POST",   "/cpc/sign-up",                               "-",           "L A A A A A"),
    ("POST",   "/cpc/sites",                                 "-",           "L A A F F A"),
    ("POST",   "/cpc/sites/{id}/revoke",                     "site_page*",  "L A A F F N"),
    ("GET",    "/favicon.ico",                               "-",           "A A A A A A"),
    ("GET",    "/healthz",                                   "-",           "A A A A A A"),
    ("GET",    "/insights",                                  "-",           "L A A A F A"),
    ("POST",   "/insights/analyses",                         "-",           "L A A A F A"),
    ("GET",    "/insights/analyses/{id}",                    "analysis",    "L A A A F N"),
    ("POST",   "/insights/analyses/{id}/messages",           "analysis",    "L A A A F N"),
    ("POST",   "/insights/import",                           "-",           "L A A F F A"),
    ("POST",   "/insights/map",                              "-",           "L A A F F A"),
    ("POST",   "/insights/messages/{id}",                    "message",     "L A A A F A"),
    ("POST",   "/insights/preview",                          "-",           "L A A F F A"),
    ("POST",   "/insights/rules",                            "-",           "L A A F F A"),
    ("POST",   "/insights/rules/{id}/delete",                "rule*",       "L A A F F N"),
    ("GET",    "/inventory",                                 "-",           "L A A A F A"),
    ("GET",    "/inventory/bookings",                        "-",           "L A A A F A"),
    ("GET",    "/inventory/bookings/{id}",                   "booking",     "L A A A F N"),
    ("POST",   "/inventory/bookings/{id}/cancel",            "booking",     "L A A F F N"),
    ("GET",    "/inventory/catalog",                         "-",           "L A A A F A"),
    ("POST",   "/inventory/catalog",                         "-",           "L A A F F A"),
    ("POST",   "/inventory/forecast",                        "-",           "L A A F F A"),
    ("POST",   "/inventory/standard/{id}",                   "standard",    "L A A F F N"),
    ("POST",   "/inventory/{month}/build-standard",          "month",       "L A A F F A"),
    ("POST",   "/inventory/{month}/build-unit",              "month",       "L A A F F A"),
    ("POST",   "/inventory/{month}/confirm",                 "month",       "L A A F F A"),
    ("POST",   "/inventory/{month}/percent",                 "month",       "L A A F F A"),
    ("GET",    "/inventory/{month}/standard",                "month",       "L A A A F A"),
    ("GET",    "/inventory/{month}/unit",                    "month",       "L A A A F A"),
    ("GET",    "/jobs",                                      "-",           "L A A A F A"),
    ("GET",    "/jobs/{id}",                                 "job",         "L A A A F N"),
    ("POST",   "/jobs/{id}/cancel",                          "job",         "L A A F F N"),
    ("POST",   "/jobs/{id}/retry",                           "job",         "L A A F F N"),
    ("POST",   "/lang",                                      "-",           "A A A A A A"),
    ("GET",    "/login",                                     "-",           "A A A A A A"),
    ("POST",   "/login",                                     "-",           "A A A A A A"),
    ("POST",   "/logout",                                    "-",           "L L L L L L"),
    ("GET",    "/metrics",                                   "-",           "A A A A A A"),
    ("GET",    "/notifications",                             "-",           "L A A A A A"),
    ("POST",   "/notifications/read-all",                    "-",           "L A A A A A"),
    ("POST",   "/notifications/{id}/read",                   "notification","L A A A A N"),
    ("GET",    "/readyz",                                    "-",           "A A A A A A"),
    ("GET",    "/reports",                                   "-",           "L A A A F A"),
    ("POST",   "/reports/metadata",                          "-",           "L A A F F A"),
    ("POST",   "/reports/sources/analyze",                   "-",           "L A A F F A"),
    ("POST",   "/reports/sources/retry",                     "-",           "L A A F F A"),
    ("POST",   "/reports/sources/s3",                        "-",           "L A F F F A"),
    ("POST",   "/reports/sources/s3/delete",                 "-",           "L A F F F A"),
    ("GET",    "/reports/{report}",                          "report",      "L A A A F A"),
    ("GET",    "/serve/ads",                                 "-",           "L L L L L L"),
    ("OPTIONS","/serve/ads",                                 "-",           "A A A A A A"),
    ("GET",    "/serve/click",                               "-",           "A A A A A A"),
    ("GET",    "/shops",                                     "-",           "L A A A F A"),
    ("GET",    "/shops/oauth/cafe24",                        "-",           "L A A F F A"),
    ("GET",    "/shops/sales.csv",                           "-",           "L A A A F A"),
    ("POST",   "/shops/stores",                              "-",           "L A A F F A"),
    ("GET",    "/shops/stores/{id}",                         "store",       "L A A A F N"),
    ("GET",    "/shops/stores/{id}/cafe24/connect",          "store",       "L A A F F N"),
    ("POST",   "/shops/stores/{id}/import",                  "store",       "L A A F F A"),
    ("POST",   "/shops/stores/{id}/sync",                    "store",       "L A A F F N"),
];

/// Bodies for the routes that act on another object: valid requests, so a caller who may
/// not act is refused for who they are and not for a missing field (JSON for the API, form
/// fields for pages; `{fixture}` is filled with that fixture's id). Other writes send `{}` or
/// an empty form.
const BODIES: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/api/v1/ads/advertisers/{id}/adjustments",
        r#"{"amount":1,"memo":"matrix"}"#,
    ),
    (
        "POST",
        "/api/v1/ads/advertisers/{id}/reject",
        r#"{"reason":"matrix"}"#,
    ),
    (
        "POST",
        "/api/v1/ads/advertisers/{id}/top-ups",
        r#"{"amount":1,"idempotency_key":"matrix-api"}"#,
    ),
    (
        "POST",
        "/api/v1/ads/campaigns",
        r#"{"advertiser_id":{advertiser},"name":"matrix","daily_budget":10000,"placements":["home_top"]}"#,
    ),
    (
        "POST",
        "/api/v1/ads/campaigns/{id}/ads",
        r#"{"product_id":"matrix","title":"matrix","image_url":"https://img.example.com/m.jpg","landing_url":"https://shop.example.com/m","category":"camping","bid":100}"#,
    ),
    (
        "POST",
        "/api/v1/ads/campaigns/{id}/budget",
        r#"{"daily_budget":50000}"#,
    ),
    (
        "POST",
        "/api/v1/ads/campaigns/{id}/review",
        r#"{"approve":true}"#,
    ),
    (
        "POST",
        "/api/v1/ads/campaigns/{id}/state",
        r#"{"state":"active"}"#,
    ),
    ("PATCH", "/api/v1/ads/ads/{id}", r#"{"bid":300}"#),
    ("POST", "/api/v1/ads/ads/{id}/review", r#"{"approve":true}"#),
    ("PATCH", "/api/v1/ads/{id}", r#"{"status":"paused"}"#),
    (
        "POST",
        "/api/v1/insight/analyses/{id}/messages",
        r#"{"channel":"sms","tone":"friendly","lang":"ko","count":1}"#,
    ),
    (
        "PATCH",
        "/api/v1/insight/messages/{id}",
        r#"{"body":"matrix"}"#,
    ),
    ("PATCH", "/api/v1/inventory/standard/{id}", r#"{"qty":100}"#),
    ("POST", "/api/v1/lines/{id}/ads", r#"{"name":"matrix"}"#),
    (
        "PATCH",
        "/api/v1/users/{id}",
        r#"{"display_name":"matrix"}"#,
    ),
    (
        "POST",
        "/campaigns/ads/{id}",
        "campaign={campaign}&status=paused",
    ),
    (
        "POST",
        "/campaigns/lines/{id}/ads",
        "campaign={campaign}&name=matrix",
    ),
    (
        "POST",
        "/campaigns/lines/{id}/book",
        "campaign={campaign}&dry_run=1",
    ),
    (
        "POST",
        "/cpc/advertisers/{id}/adjust",
        "amount=1&memo=matrix",
    ),
    (
        "POST",
        "/cpc/advertisers/{id}/campaigns",
        "name=matrix&daily_budget=10000&placements=home_top",
    ),
    ("POST", "/cpc/advertisers/{id}/review", "decision=approve"),
    (
        "POST",
        "/cpc/advertisers/{id}/top-up",
        "amount=1&idempotency_key=matrix-page",
    ),
    ("POST", "/cpc/ads/{id}", "bid=300"),
    ("POST", "/cpc/ads/{id}/review", "decision=approve"),
    (
        "POST",
        "/cpc/campaigns/{id}/ads",
        "product_id=matrix&title=matrix&image_url=https%3A%2F%2Fimg.example.com%2Fm.jpg&landing_url=https%3A%2F%2Fshop.example.com%2Fm&category=camping&bid=100",
    ),
    ("POST", "/cpc/campaigns/{id}/budget", "daily_budget=50000"),
    ("POST", "/cpc/campaigns/{id}/review", "decision=approve"),
    ("POST", "/cpc/campaigns/{id}/state", "state=active"),
    (
        "POST",
        "/insights/analyses/{id}/messages",
        "channel=sms&tone=friendly&lang=ko&count=1",
    ),
    ("POST", "/insights/messages/{id}", "body=matrix"),
    ("POST", "/inventory/standard/{id}", "qty=100"),
    ("POST", "/admin/users/{id}", "display_name=matrix"),
];

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn adpool(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_adpool"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("ADPOOL_DATABASE_URL")
        .env("RUST_LOG", "warn");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "adpool {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

const DEMO_DB: &str = "sqlite://./adpool-data/demo.db";

/// The demo's database, a second organization's admin and a spare user, served.
fn serve_demo() -> Server {
    let dir = tempfile::tempdir().unwrap();
    adpool(dir.path(), &["demo", "--no-serve"], &[]);
    for (email, org, role) in [
        ("admin@other.example.kr", "Other Media", "admin"),
        (
            "spare@demo.adpool.kr",
            "데모 미디어 (Demo Media)",
            "analyst",
        ),
    ] {
        adpool(
            dir.path(),
            &[
                "--database-url",
                DEMO_DB,
                "user",
                "create",
                "--email",
                email,
                "--org",
                org,
                "--role",
                role,
            ],
            &[("ADPOOL_NEW_PASSWORD", PASSWORD)],
        );
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_adpool"))
        .args(["--database-url", DEMO_DB, "serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("ADPOOL_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .env("ADPOOL_SERVE_RATE_LIMIT_PER_SECOND", "0")
        .env("ADPOOL_LOGIN_RATE_LIMIT_PER_MINUTE", "0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("the banner").unwrap();
        if let Some((_, address)) = line.split_once("adpool listening on http://") {
            break address.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        base: format!("http://{address}"),
        _dir: dir,
    }
}

/// Ids of the demo organization's objects, by fixture name.
async fn fixtures(dir: &std::path::Path) -> BTreeMap<String, Vec<String>> {
    let url = format!("sqlite://{}", dir.join("adpool-data/demo.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let org: i64 =
        sqlx::query("SELECT id FROM organizations WHERE name = '데모 미디어 (Demo Media)'")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
    let queries: &[(&'static str, String)] = &[
        ("job", format!("SELECT id FROM jobs WHERE org_id = {org}")),
        (
            "notification",
            format!("SELECT id FROM notifications WHERE org_id = {org}"),
        ),
        (
            "user",
            "SELECT id FROM users WHERE email = 'spare@demo.adpool.kr'".into(),
        ),
        (
            "campaign",
            format!("SELECT id FROM campaigns WHERE org_id = {org}"),
        ),
        (
            "line",
            format!(
                "SELECT l.id FROM campaign_lines l JOIN campaigns c ON c.id = l.campaign_id \
                 WHERE c.org_id = {org}"
            ),
        ),
        (
            "ad",
            format!(
                "SELECT a.id FROM ads a JOIN campaign_lines l ON l.id = a.line_id \
                 JOIN campaigns c ON c.id = l.campaign_id WHERE c.org_id = {org}"
            ),
        ),
        (
            "booking",
            format!("SELECT id FROM bookings WHERE org_id = {org}"),
        ),
        (
            "standard",
            format!("SELECT id FROM standard_inventory WHERE org_id = {org}"),
        ),
        (
            "advertiser",
            format!(
                "SELECT id FROM cpc_advertisers WHERE org_id = {org} AND business_name = '캠핑월드'"
            ),
        ),
        (
            "cpc_campaign",
            format!(
                "SELECT c.id FROM cpc_campaigns c JOIN cpc_advertisers a ON a.id = c.advertiser_id \
                 WHERE a.org_id = {org} AND a.business_name = '캠핑월드'"
            ),
        ),
        (
            "cpc_ad",
            format!(
                "SELECT d.id FROM cpc_ads d JOIN cpc_campaigns c ON c.id = d.campaign_id \
                 JOIN cpc_advertisers a ON a.id = c.advertiser_id \
                 WHERE a.org_id = {org} AND a.business_name = '캠핑월드'"
            ),
        ),
        (
            "click",
            format!("SELECT id FROM cpc_clicks WHERE org_id = {org}"),
        ),
        (
            "site_api*",
            format!(
                "SELECT id, name FROM cpc_sites WHERE org_id = {org} AND name LIKE 'matrix-api-%'"
            ),
        ),
        (
            "site_page*",
            format!(
                "SELECT id, name FROM cpc_sites WHERE org_id = {org} AND name LIKE 'matrix-page-%'"
            ),
        ),
        (
            "rule*",
            format!(
                "SELECT id, keyword FROM insight_rules WHERE org_id = {org} AND keyword LIKE 'matrix-%'"
            ),
        ),
        (
            "token",
            format!("SELECT id FROM api_tokens WHERE org_id = {org} AND name = 'matrix fixture'"),
        ),
        (
            "store",
            format!("SELECT id FROM shop_stores WHERE org_id = {org}"),
        ),
        (
            "rule",
            format!("SELECT id FROM insight_rules WHERE org_id = {org}"),
        ),
        (
            "analysis",
            format!("SELECT id FROM insight_analyses WHERE org_id = {org}"),
        ),
        (
            "message",
            format!("SELECT id FROM insight_messages WHERE org_id = {org}"),
        ),
    ];
    let mut ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, sql) in queries {
        // `name*`: one object per caller, for routes that delete what they are given.
        let (limit, order) = if name.ends_with('*') {
            (CALLERS.len(), "ORDER BY 2")
        } else {
            (1, "ORDER BY 1")
        };
        let found: Vec<String> =
            sqlx::query(sqlx::AssertSqlSafe(format!("{sql} {order} LIMIT {limit}")))
                .fetch_all(&pool)
                .await
                .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
                .iter()
                .map(|row| row.get::<i64, _>(0).to_string())
                .collect();
        if found.len() == limit {
            ids.insert((*name).to_owned(), found);
        } else {
            missing.push(*name);
        }
    }
    assert!(missing.is_empty(), "the demo has no {missing:?}");
    for (name, value) in [
        ("org", org.to_string()),
        ("month", "2026-12".into()),
        ("report", "ad-performance".into()),
        ("-", String::new()),
    ] {
        ids.insert(name.to_owned(), vec![value]);
    }
    pool.close().await;
    ids
}

/// A signed-in browser: its session cookie and CSRF token.
#[derive(Clone, Default)]
struct Session {
    cookie: String,
    csrf: String,
}

fn set_cookie(reply: &reqwest::Response, name: &str) -> Option<String> {
    reply
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

async fn sign_in(http: &reqwest::Client, base: &str, email: &str) -> Session {
    let form = http.get(format!("{base}/login")).send().await.unwrap();
    let login_csrf = set_cookie(&form, "adpool_login_csrf").unwrap();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf_token", &login_csrf)
        .append_pair("email", email)
        .append_pair("password", PASSWORD)
        .append_pair("next", "/")
        .finish();
    let reply = http
        .post(format!("{base}/login"))
        .header("cookie", format!("adpool_login_csrf={login_csrf}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(&reply, "adpool_session")
        .unwrap_or_else(|| panic!("{email} signs in: {}", reply.status()));
    let page = http
        .get(format!("{base}/notifications"))
        .header("cookie", format!("adpool_session={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a page for {email} embeds the CSRF token"))
        .to_owned();
    Session { cookie, csrf }
}

/// What a caller got, as a matrix symbol.
fn symbol(status: u16, location: &str) -> char {
    match status {
        401 => 'L',
        303 | 302 if location.starts_with("/login") => 'L',
        403 => 'F',
        404 => 'N',
        500..=599 => 'E',
        _ => 'A',
    }
}

async fn ask(
    http: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    session: Option<&Session>,
) -> (u16, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = http.request(method.clone(), format!("{base}{path}"));
    if let Some(session) = session {
        request = request
            .header("cookie", format!("adpool_session={}", session.cookie))
            .header("x-csrf-token", &session.csrf);
    }
    if method != reqwest::Method::GET && method != reqwest::Method::OPTIONS {
        request = if path.starts_with("/api/") {
            request
                .header("content-type", "application/json")
                .body(body.unwrap_or("{}").to_owned())
        } else {
            request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.unwrap_or_default().to_owned())
        };
    }
    let reply = request.send().await.unwrap();
    let location = reply
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (reply.status().as_u16(), location)
}

/// Every (method, route) the routers declare, read from their source.
fn declared_routes() -> BTreeSet<(String, String)> {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src/routes");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        // API routers are nested under /api/v1: whole files, or from `fn api_router` on.
        let api_from = if name.ends_with("api.rs") {
            0
        } else {
            source.find("fn api_router").unwrap_or(usize::MAX)
        };
        let bytes = source.as_bytes();
        for (at, _) in source.match_indices(".route(") {
            let open = at + ".route(".len();
            let mut depth = 1;
            let mut end = open;
            while depth > 0 {
                match bytes[end] {
                    b'(' => depth += 1,
                    b')' => depth -= 1,
                    _ => {}
                }
                end += 1;
            }
            let call = &source[open..end - 1];
            let Some(route) = call.split('"').nth(1) else {
                continue;
            };
            let prefix = if at >= api_from { "/api/v1" } else { "" };
            // Methods are the calls at the top level of `.route(…)`: get(…).post(…).
            let mut depth = 0;
            for (i, c) in call.char_indices() {
                match c {
                    '(' => {
                        if depth == 0 {
                            let before = &call[..i];
                            let word_start = before
                                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                                .map_or(0, |p| p + 1);
                            let word = &before[word_start..];
                            if ["get", "post", "patch", "put", "delete", "options"].contains(&word)
                            {
                                routes.insert((
                                    word.to_ascii_uppercase(),
                                    format!("{prefix}{route}"),
                                ));
                            }
                        }
                        depth += 1;
                    }
                    ')' => depth -= 1,
                    _ => {}
                }
            }
        }
    }
    routes
}

#[test]
fn the_matrix_names_every_route_and_every_route_answers_each_caller_as_the_table_says() {
    let declared = declared_routes();
    assert!(
        declared.len() > 150,
        "the route scan found {} routes",
        declared.len()
    );
    let tabled: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|(m, r, _, _)| ((*m).to_owned(), (*r).to_owned()))
        .collect();
    let print = std::env::var("ADPOOL_PRINT_MATRIX").is_ok();
    let untabled: Vec<_> = declared.difference(&tabled).collect();
    let stale: Vec<_> = tabled.difference(&declared).collect();
    if !print {
        assert!(
            untabled.is_empty(),
            "routes without a row in MATRIX: {untabled:?}"
        );
        assert!(
            stale.is_empty(),
            "rows for routes that no longer exist: {stale:?}"
        );
    }

    let server = serve_demo();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    adpool_jobs::install_tls_provider();
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = server.base.as_str();
        let emails = [
            "",
            "admin@demo.adpool.kr",
            "ops@demo.adpool.kr",
            "analyst@demo.adpool.kr",
            "camping@advertiser.demo.adpool.kr",
            "admin@other.example.kr",
        ];
        let mut sessions: Vec<Option<Session>> = Vec::new();
        for email in emails {
            sessions.push(if email.is_empty() {
                None
            } else {
                Some(sign_in(&http, base, email).await)
            });
        }
        // Objects the token, site and rule routes act on (one per caller where a route
        // deletes what it is given), made by the demo organization's admin.
        let admin = sessions[1].clone().unwrap();
        let mut made = vec![("/api/v1/tokens", r#"{"name":"matrix fixture"}"#.to_owned())];
        for caller in 0..CALLERS.len() {
            for kind in ["api", "page"] {
                made.push((
                    "/api/v1/ads/sites",
                    format!(
                        r#"{{"name":"matrix-{kind}-{caller}","media_key":"matrix-{kind}-{caller}","allowed_origins":[]}}"#
                    ),
                ));
            }
            made.push((
                "/api/v1/insight/rules",
                format!(r#"{{"keyword":"matrix-{caller}","category":"cafe"}}"#),
            ));
        }
        for (path, body) in made {
            let reply = http
                .post(format!("{base}{path}"))
                .header("cookie", format!("adpool_session={}", admin.cookie))
                .header("x-csrf-token", &admin.csrf)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert!(reply.status().is_success(), "{path} {body}: {}", reply.status());
        }
        let ids = fixtures(server._dir.path()).await;
        // Rows to run: the table's (or, when printing, every declared route), signing out last.
        let mut rows: Vec<(String, String, String, String)> = MATRIX
            .iter()
            .map(|(m, r, f, e)| ((*m).into(), (*r).into(), (*f).into(), (*e).into()))
            .collect();
        if print {
            for (method, route) in &untabled {
                rows.push((
                    method.clone(),
                    route.clone(),
                    guess_fixture(route),
                    "? ? ? ? ? ?".into(),
                ));
            }
        }
        rows.sort_by_key(|(_, route, _, _)| route == "/logout");
        let mut failures = Vec::new();
        let mut observed = String::new();
        for (method, route, fixture, expected) in &rows {
            let objects = ids
                .get(fixture.as_str())
                .unwrap_or_else(|| panic!("{method} {route}: no fixture {fixture}"));
            // The least privileged ask first, so a route that deletes meets the callers who
            // may not delete before one who may.
            let mut cells = ['?'; CALLERS.len()];
            for caller in ASKING_ORDER {
                let path = fill(route, &objects[caller % objects.len()]);
                let body = BODIES
                    .iter()
                    .find(|(m, r, _)| m == method && r == route)
                    .map(|(_, _, body)| fill_names(body, &ids));
                let (status, location) =
                    ask(&http, base, method, &path, body.as_deref(), sessions[caller].as_ref())
                        .await;
                let cell = symbol(status, &location);
                cells[caller] = cell;
                if cell == 'E' || expected.split(' ').nth(caller) != Some(&cell.to_string()) {
                    failures.push(format!(
                        "{method} {path} as {}: expected {}, got {status} ({cell})",
                        CALLERS[caller],
                        expected.split(' ').nth(caller).unwrap_or("?")
                    ));
                }
            }
            let got: Vec<String> = cells.iter().map(char::to_string).collect();
            observed.push_str(&format!(
                "    (\"{method}\", \"{route}\", \"{fixture}\", \"{}\"),\n",
                got.join(" ")
            ));
        }
        if print {
            println!("{observed}");
        }
        assert!(
            failures.is_empty(),
            "{} cells differ from the matrix:\n{}",
            failures.len(),
            failures.join("\n")
        );
    });
}

/// `{name}` in `body` replaced by the first id of each fixture.
fn fill_names(body: &str, ids: &BTreeMap<String, Vec<String>>) -> String {
    ids.iter().fold(body.to_owned(), |text, (name, objects)| {
        text.replace(&format!("{{{name}}}"), &objects[0])
    })
}

/// `{…}` in `route` replaced by `id`.
fn fill(route: &str, id: &str) -> String {
    match (route.find('{'), route.find('}')) {
        (Some(open), Some(close)) => format!("{}{id}{}", &route[..open], &route[close + 1..]),
        _ => route.to_owned(),
    }
}

/// The fixture a new route most likely needs, for the printed matrix.
fn guess_fixture(route: &str) -> String {
    let pairs = [
        ("/jobs/", "job"),
        ("/notifications/{", "notification"),
        ("/users/{", "user"),
        ("/tokens/{", "token"),
        ("/ads/advertisers/{", "advertiser"),
        ("/cpc/advertisers/{", "advertiser"),
        ("/ads/campaigns/{", "cpc_campaign"),
        ("/cpc/campaigns/{", "cpc_campaign"),
        ("/ads/ads/{", "cpc_ad"),
        ("/cpc/ads/{", "cpc_ad"),
        ("/clicks/{", "click"),
        ("/ads/sites/{", "site_api*"),
        ("/cpc/sites/{", "site_page*"),
        ("/join/{", "org"),
        ("/campaigns/lines/{", "line"),
        ("/lines/{", "line"),
        ("/campaigns/ads/{", "ad"),
        ("/api/v1/ads/{", "ad"),
        ("/campaigns/{", "campaign"),
        ("/bookings/{", "booking"),
        ("/purchases/{", "booking"),
        ("/standard/{", "standard"),
        ("{month}", "month"),
        ("/reports/{", "report"),
        ("/stores/{", "store"),
        ("/rules/{", "rule*"),
        ("/analyses/{", "analysis"),
        ("/messages/{", "message"),
    ];
    pairs
        .iter()
        .find(|(needle, _)| route.contains(needle))
        .map_or("-", |(_, fixture)| fixture)
        .to_owned()
}
