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
        assert!(
            page.location().contains("error=") && page.location().contains("public"),
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
