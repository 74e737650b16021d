//! Regression tests for what the outside security probe found (issue 18, docs/hardening.md),
//! through HTTP as an attacker with a tenant account would try them. The log-folder finding (H1)
//! is in http.rs's log-report test and the logs crate's source_rules test.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up fails loudly by design

mod support;

use adpool_accounts::Role;
use axum::http::{Method, StatusCode};
use serde_json::json;
use support::{Auth, PASSWORD, TestApp};

/// M1: the webhook URL cannot point at the server itself or its network, in any spelling, by
/// the page or the API; nothing is saved.
#[tokio::test]
async fn a_webhook_url_must_be_a_public_host() {
    let t = TestApp::new().await;
    let org = t.org("A").await;
    let user = t.user(org, "admin@a.kr", Role::Admin).await;
    let session = t.login("admin@a.kr", PASSWORD).await.unwrap();
    let token = t.token(&user).await;
    for url in [
        "http://127.0.0.1:8080/admin",
        "http://[::1]/hook",
        "http://0x7f000001/hook",
        "http://127.1/hook",
        "http://localhost:6379/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/hook",
    ] {
        let page = t
            .form(
                "/admin/organization",
                &session,
                &[("name", "A"), ("webhook_url", url)],
            )
            .await;
        // In the person's language, naming the address.
        assert!(
            page.error_flash().is_some_and(
                |e| e.contains("공개 주소가 아닙니다") || e.contains("찾을 수 없습니다")
            ),
            "{url}: {}",
            page.location()
        );
        let api = t
            .json(
                Method::PATCH,
                "/api/v1/organization",
                &token,
                json!({ "webhook_url": url }),
            )
            .await;
        assert_eq!(api.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert_eq!(api.json()["error"]["details"]["field"], "webhook_url");
    }
    assert_eq!(
        t.state
            .accounts
            .organization(org)
            .await
            .unwrap()
            .webhook_url,
        None
    );
    let public = t
        .json(
            Method::PATCH,
            "/api/v1/organization",
            &token,
            json!({ "webhook_url": "https://8.8.8.8/hooks/adpool" }),
        )
        .await;
    assert_eq!(public.status, StatusCode::OK, "{}", public.body);
}

/// M3: `next` after the language switch (anonymous) and the login never leaves the site, even
/// spelled with a TAB the browser strips.
#[tokio::test]
async fn next_never_leads_off_site() {
    let t = TestApp::new().await;
    for next in [
        "/\t/evil.example",
        "/%09/evil.example",
        "//evil.example",
        "/\\evil.example",
    ] {
        let reply = t
            .form("/lang", &Auth::None, &[("lang", "en"), ("next", next)])
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{next}");
        let location = reply.location();
        assert!(
            location.starts_with('/')
                && !location.starts_with("//")
                && !location.chars().any(|c| c == '\\' || c.is_control()),
            "{next:?} -> {location:?}"
        );
    }
}

/// L3: only admins read the webhook URL (the signing secret is on the admin-only page).
#[tokio::test]
async fn only_admins_read_the_webhook_url() {
    let t = TestApp::new().await;
    let org = t.org("A").await;
    let admin = t.user(org, "admin@a.kr", Role::Admin).await;
    let analyst = t.user(org, "analyst@a.kr", Role::Analyst).await;
    let admin = t.token(&admin).await;
    let analyst = t.token(&analyst).await;
    let saved = t
        .json(
            Method::PATCH,
            "/api/v1/organization",
            &admin,
            json!({ "webhook_url": "https://8.8.8.8/hooks/secret-path" }),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    for path in ["/api/v1/organization", "/api/v1/me"] {
        let seen = t.get(path, &analyst).await;
        assert_eq!(seen.status, StatusCode::OK);
        assert!(!seen.body.contains("secret-path"), "{path}: {}", seen.body);
        assert!(
            t.get(path, &admin).await.body.contains("secret-path"),
            "{path}"
        );
    }
}

/// L7: `/metrics` counts invented methods under one label and can require a token.
#[tokio::test]
async fn metrics_have_bounded_labels_and_can_require_a_token() {
    let t = TestApp::new().await;
    for method in ["FOO", "BAR", "BAZ"] {
        t.send(
            Method::from_bytes(method.as_bytes()).unwrap(),
            "/healthz",
            &Auth::None,
            None,
            None,
            &[],
        )
        .await;
    }
    let open = t.get("/metrics", &Auth::None).await;
    assert_eq!(open.status, StatusCode::OK);
    assert!(!open.body.contains("method=\"FOO\""), "{}", open.body);
    assert!(open.body.contains("method=\"OTHER\""), "{}", open.body);

    let guarded = TestApp::with_config(adpool_web::WebConfig {
        metrics_token: Some("scrape-me-7d1c".into()),
        ..adpool_web::WebConfig::default()
    })
    .await;
    assert_eq!(
        guarded.get("/metrics", &Auth::None).await.status,
        StatusCode::UNAUTHORIZED
    );
    for (bearer, expected) in [
        ("Bearer scrape-me-0000", StatusCode::UNAUTHORIZED),
        ("Bearer scrape-me-7d1c", StatusCode::OK),
    ] {
        let reply = guarded
            .send(
                Method::GET,
                "/metrics",
                &Auth::None,
                None,
                None,
                &[("authorization", bearer)],
            )
            .await;
        assert_eq!(reply.status, expected, "{bearer}");
    }
}

/// L9: system jobs (no organization: maintenance, syncs of every store) are visible to the
/// admins of the organization that runs the deployment, not to every tenant's admin.
#[tokio::test]
async fn system_jobs_are_for_the_deployments_admins_only() {
    let t = TestApp::with_config(adpool_web::WebConfig {
        operator_org: Some(adpool_core::OrgId(1)),
        ..adpool_web::WebConfig::default()
    })
    .await;
    let operator = t.org("Operator").await;
    assert_eq!(operator.get(), 1);
    let tenant = t.org("Tenant").await;
    let operator_admin = t.user(operator, "admin@op.kr", Role::Admin).await;
    let tenant_admin = t.user(tenant, "admin@tenant.kr", Role::Admin).await;
    let operator_admin = t.token(&operator_admin).await;
    let tenant_admin = t.token(&tenant_admin).await;
    let id = t
        .state
        .jobs
        .enqueue(adpool_jobs::NewJob::new("system.maintenance", json!({})))
        .await
        .unwrap();
    let path = format!("/api/v1/jobs/{}", id.get());
    assert_eq!(
        t.get(&path, &tenant_admin).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        !t.get("/api/v1/jobs", &tenant_admin)
            .await
            .body
            .contains("system.maintenance")
    );
    assert_eq!(t.get(&path, &operator_admin).await.status, StatusCode::OK);
    assert!(
        t.get("/api/v1/jobs", &operator_admin)
            .await
            .body
            .contains("system.maintenance")
    );
}

/// M4: the public sign-up answers the same for an email that has an account (in any
/// organization) as for a new one, creates nothing for the taken one, and each address may
/// submit only so many sign-ups an hour.
#[tokio::test]
async fn the_public_sign_up_tells_nothing_about_accounts_and_is_rate_limited() {
    let t = TestApp::with_config(adpool_web::WebConfig {
        sign_ups_per_hour_per_client: 3,
        ..adpool_web::WebConfig::default()
    })
    .await;
    let shop = t.org("Shop").await;
    let elsewhere = t.org("Elsewhere").await;
    t.user(elsewhere, "taken@seller.kr", Role::Operator).await;
    let sign_up = |email: &'static str, number: &'static str| {
        let t = &t;
        async move {
            let form = t
                .get(&format!("/cpc/join/{}", shop.get()), &Auth::None)
                .await;
            let csrf = form.cookie("adpool_login_csrf").unwrap();
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("csrf_token", &csrf)
                .append_pair("email", email)
                .append_pair("password", "long enough password")
                .append_pair("business_name", "새상점")
                .append_pair("registration_number", number)
                .append_pair("contact_name", "박")
                .append_pair("contact_email", email)
                .append_pair("contact_phone", "010-2222-3333")
                .finish();
            t.send(
                Method::POST,
                &format!("/cpc/join/{}", shop.get()),
                &Auth::None,
                Some(axum::body::Body::from(body)),
                Some("application/x-www-form-urlencoded"),
                &[("cookie", &format!("adpool_login_csrf={csrf}"))],
            )
            .await
        }
    };
    let taken = sign_up("taken@seller.kr", "105-87-01270").await;
    let free = sign_up("free@seller.kr", "220-81-62517").await;
    assert_eq!(taken.status, StatusCode::CREATED, "{}", taken.body);
    assert_eq!(free.status, StatusCode::CREATED, "{}", free.body);
    let message = |body: &str| {
        body.split("data-testid=\"flash\"")
            .nth(1)
            .and_then(|rest| rest.split("</p>").next())
            .map(str::to_owned)
    };
    assert!(message(&taken.body).is_some(), "{}", taken.body);
    assert_eq!(message(&taken.body), message(&free.body));
    // Nothing was made for the taken email: no advertiser beside the free one.
    let advertisers: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM cpc_advertisers WHERE org_id = $1")
            .bind(shop.get())
            .fetch_one(t.state.db.pool())
            .await
            .unwrap();
    assert_eq!(advertisers, 1);
    // The address has used 2 of its 3; the fourth is refused before any password is hashed.
    assert_eq!(
        sign_up("third@seller.kr", "not-a-number").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        sign_up("fourth@seller.kr", "105-87-01270").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Info: every error the API answers has the documented JSON shape, also when axum refuses a
/// path, a query or a method before a handler runs.
#[tokio::test]
async fn every_api_error_is_the_documented_json_shape() {
    let t = TestApp::new().await;
    let org = t.org("A").await;
    let admin = t.user(org, "admin@a.kr", Role::Admin).await;
    let token = t.token(&admin).await;
    for (method, path, status) in [
        (
            Method::GET,
            "/api/v1/users/not-a-number",
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/api/v1/jobs?limit=lots",
            StatusCode::BAD_REQUEST,
        ),
        (Method::DELETE, "/api/v1/me", StatusCode::METHOD_NOT_ALLOWED),
        (Method::GET, "/api/v1/no-such-thing", StatusCode::NOT_FOUND),
    ] {
        let reply = t.send(method.clone(), path, &token, None, None, &[]).await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.body);
        let body = reply.json();
        assert!(body["error"]["code"].is_string(), "{method} {path}: {body}");
        assert!(
            body["error"]["message"].is_string(),
            "{method} {path}: {body}"
        );
    }
}

/// Info: pages and API answers for a signed-in person (tokens, keys, secrets, their data) are
/// never stored by a cache; static assets keep their caching.
#[tokio::test]
async fn signed_in_answers_are_not_cached() {
    let t = TestApp::new().await;
    let org = t.org("A").await;
    let admin = t.user(org, "admin@a.kr", Role::Admin).await;
    let session = t.login("admin@a.kr", PASSWORD).await.unwrap();
    let token = t.token(&admin).await;
    for (path, auth) in [
        ("/admin/tokens", &session),
        ("/admin/organization", &session),
        ("/", &session),
        ("/api/v1/me", &token),
    ] {
        let reply = t.get(path, auth).await;
        assert_eq!(
            reply
                .headers
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{path}"
        );
    }
    let asset = t.get("/assets/app.css", &session).await;
    assert_ne!(
        asset
            .headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
}

/// schemathesis (issue 18, tests/api): a body is one JSON object (serde would fill a struct from
/// an array, `[null, null]`); a whole number written as a float (`1.0`, as JSON Schema and
/// Python clients have it) is read as the integer, a fraction is refused naming its field.
#[tokio::test]
async fn api_bodies_are_objects_and_whole_floats_are_integers() {
    let t = TestApp::new().await;
    let org = t.org("A").await;
    let admin = t.user(org, "admin@a.kr", Role::Admin).await;
    let token = t.token(&admin).await;

    let array = t
        .json(
            Method::PATCH,
            "/api/v1/organization",
            &token,
            json!([null, null]),
        )
        .await;
    assert_eq!(
        array.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        array.body
    );
    assert_eq!(array.json()["error"]["details"]["field"], "body");

    let report = |line_id: serde_json::Value| json!({ "reports": [{ "line_id": line_id, "date": "2026-12-01", "impressions": 10, "clicks": 1, "views": 2 }] });
    let whole = t
        .json(
            Method::POST,
            "/api/v1/delivery-reports",
            &token,
            report(json!(7.0)),
        )
        .await;
    assert_eq!(
        whole.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        whole.body
    );
    assert!(
        whole.body.contains("7 is not a campaign line"),
        "read as the line 7: {}",
        whole.body
    );
    let fraction = t
        .json(
            Method::POST,
            "/api/v1/delivery-reports",
            &token,
            report(json!(7.5)),
        )
        .await;
    assert_eq!(fraction.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        fraction.json()["error"]["details"]["field"],
        "reports[0].line_id",
        "{}",
        fraction.body
    );
}
