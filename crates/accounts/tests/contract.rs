//! Accounts contract: runs on SQLite, and on PostgreSQL when ADPOOL_TEST_DATABASE_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

use std::sync::Arc;

use adpool_accounts::{
    Accounts, AccountsError, LoginThrottle, NewUser, OrganizationUpdate, Role, UserUpdate,
};
use adpool_core::{Clock, ManualClock};
use adpool_store::testing::fresh_database;

async fn accounts() -> (Accounts, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00"));
    (Accounts::new(fresh_database().await, clock.clone()), clock)
}

fn new_user(org: adpool_accounts::OrgId, email: &str, role: Role) -> NewUser {
    NewUser {
        org_id: org,
        email: email.into(),
        display_name: "Test".into(),
        role,
        password: "correct horse battery".into(),
    }
}

#[tokio::test]
async fn a_user_signs_in_with_the_right_password_only() {
    let (accounts, _) = accounts().await;
    let org = accounts.create_organization("Media A").await.unwrap();
    let user = accounts
        .create_user(new_user(org.id, "Ops@Media-A.kr", Role::Operator))
        .await
        .unwrap();
    assert_eq!(user.email, "ops@media-a.kr");
    let signed_in = accounts
        .authenticate("OPS@media-a.kr", "correct horse battery", "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(signed_in.id, user.id);
    assert!(matches!(
        accounts
            .authenticate("ops@media-a.kr", "wrong password!", "10.0.0.1")
            .await,
        Err(AccountsError::InvalidCredentials)
    ));
    assert!(matches!(
        accounts
            .authenticate("nobody@media-a.kr", "correct horse battery", "10.0.0.1")
            .await,
        Err(AccountsError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes() {
    let (accounts, _) = accounts().await;
    let org = accounts.create_organization("Media A").await.unwrap();
    accounts
        .create_user(new_user(org.id, "a@a.kr", Role::Admin))
        .await
        .unwrap();
    let hash: String = sqlx::Row::get(
        &sqlx::query("SELECT password_hash FROM users")
            .fetch_one(accounts.db().pool())
            .await
            .unwrap(),
        0,
    );
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse"));
}

#[tokio::test]
async fn repeated_failures_are_throttled_until_the_window_passes() {
    let (accounts, clock) = accounts().await;
    let accounts = accounts.with_throttle(LoginThrottle {
        window_millis: 60_000,
        max_per_email: 3,
        max_per_ip: 100,
    });
    let org = accounts.create_organization("Media A").await.unwrap();
    accounts
        .create_user(new_user(org.id, "a@a.kr", Role::Admin))
        .await
        .unwrap();
    for _ in 0..3 {
        assert!(matches!(
            accounts
                .authenticate("a@a.kr", "nope nope nope", "1.1.1.1")
                .await,
            Err(AccountsError::InvalidCredentials)
        ));
    }
    // Even the right password is refused while throttled.
    let throttled = accounts
        .authenticate("a@a.kr", "correct horse battery", "1.1.1.1")
        .await;
    assert!(
        matches!(throttled, Err(AccountsError::Throttled { retry_after_secs }) if retry_after_secs > 0 && retry_after_secs <= 60)
    );
    clock.advance_millis(61_000);
    accounts
        .authenticate("a@a.kr", "correct horse battery", "1.1.1.1")
        .await
        .unwrap();
}

#[tokio::test]
async fn sessions_expire_and_end_on_logout_or_disable() {
    let (accounts, clock) = accounts().await;
    let org = accounts.create_organization("Media A").await.unwrap();
    let admin = accounts
        .create_user(new_user(org.id, "admin@a.kr", Role::Admin))
        .await
        .unwrap();
    let ops = accounts
        .create_user(new_user(org.id, "ops@a.kr", Role::Operator))
        .await
        .unwrap();

    let session = accounts.create_session(ops.id).await.unwrap();
    let live = accounts.session(&session.token).await.unwrap().unwrap();
    assert_eq!(live.user.id, ops.id);
    assert_eq!(live.csrf_token, session.csrf_token);
    assert!(accounts.session("forged").await.unwrap().is_none());

    accounts
        .update_user(
            org.id,
            ops.id,
            UserUpdate {
                disabled: Some(true),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(
        accounts.session(&session.token).await.unwrap().is_none(),
        "disabling ends sessions"
    );

    let session = accounts.create_session(admin.id).await.unwrap();
    clock.advance_millis(adpool_accounts::SESSION_TTL_MILLIS + 1);
    assert!(
        accounts.session(&session.token).await.unwrap().is_none(),
        "sessions expire"
    );

    let session = accounts.create_session(admin.id).await.unwrap();
    accounts.end_session(&session.token).await.unwrap();
    assert!(accounts.session(&session.token).await.unwrap().is_none());
}

#[tokio::test]
async fn api_tokens_are_shown_once_stored_hashed_and_revocable() {
    let (accounts, clock) = accounts().await;
    let org = accounts.create_organization("Media A").await.unwrap();
    let user = accounts
        .create_user(new_user(org.id, "bot@a.kr", Role::Analyst))
        .await
        .unwrap();
    let created = accounts
        .create_api_token(org.id, user.id, "reporting")
        .await
        .unwrap();
    assert!(created.secret.starts_with("adp_"));
    let stored: String = sqlx::Row::get(
        &sqlx::query("SELECT token_hash FROM api_tokens")
            .fetch_one(accounts.db().pool())
            .await
            .unwrap(),
        0,
    );
    assert_ne!(stored, created.secret);
    clock.advance_millis(5_000);
    assert_eq!(
        accounts
            .api_token_user(&created.secret)
            .await
            .unwrap()
            .unwrap()
            .id,
        user.id
    );
    assert_eq!(
        accounts.api_tokens(org.id).await.unwrap()[0].last_used_at,
        Some(clock.now_millis())
    );
    assert!(accounts.api_token_user("adp_0000").await.unwrap().is_none());
    accounts
        .revoke_api_token(org.id, created.token.id)
        .await
        .unwrap();
    assert!(
        accounts
            .api_token_user(&created.secret)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn one_organization_cannot_see_or_change_another() {
    let (accounts, _) = accounts().await;
    let a = accounts.create_organization("Media A").await.unwrap();
    let b = accounts.create_organization("Media B").await.unwrap();
    let user_b = accounts
        .create_user(new_user(b.id, "b@b.kr", Role::Admin))
        .await
        .unwrap();
    let token_b = accounts
        .create_api_token(b.id, user_b.id, "b")
        .await
        .unwrap();
    assert!(matches!(
        accounts.user(a.id, user_b.id).await,
        Err(AccountsError::NotFound)
    ));
    assert!(accounts.users(a.id).await.unwrap().is_empty());
    assert!(matches!(
        accounts
            .update_user(
                a.id,
                user_b.id,
                UserUpdate {
                    role: Some(Role::Analyst),
                    ..UserUpdate::default()
                }
            )
            .await,
        Err(AccountsError::NotFound)
    ));
    assert!(matches!(
        accounts.revoke_api_token(a.id, token_b.token.id).await,
        Err(AccountsError::NotFound)
    ));
    assert!(matches!(
        accounts.create_api_token(a.id, user_b.id, "steal").await,
        Err(AccountsError::NotFound)
    ));
    assert!(accounts.api_tokens(a.id).await.unwrap().is_empty());
    assert_eq!(
        accounts.user(b.id, user_b.id).await.unwrap().role,
        Role::Admin,
        "nothing changed in B"
    );
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_or_disabled() {
    let (accounts, _) = accounts().await;
    let org = accounts.create_organization("Media A").await.unwrap();
    let admin = accounts
        .create_user(new_user(org.id, "admin@a.kr", Role::Admin))
        .await
        .unwrap();
    let demote = UserUpdate {
        role: Some(Role::Operator),
        ..UserUpdate::default()
    };
    assert!(matches!(
        accounts.update_user(org.id, admin.id, demote.clone()).await,
        Err(AccountsError::LastAdmin)
    ));
    assert!(matches!(
        accounts
            .update_user(
                org.id,
                admin.id,
                UserUpdate {
                    disabled: Some(true),
                    ..UserUpdate::default()
                }
            )
            .await,
        Err(AccountsError::LastAdmin)
    ));
    accounts
        .create_user(new_user(org.id, "admin2@a.kr", Role::Admin))
        .await
        .unwrap();
    assert_eq!(
        accounts
            .update_user(org.id, admin.id, demote)
            .await
            .unwrap()
            .role,
        Role::Operator
    );
}

#[tokio::test]
async fn bad_input_is_named_and_changes_nothing() {
    let (accounts, _) = accounts().await;
    let org = accounts.create_organization("Media A").await.unwrap();
    let cases = [
        (new_user(org.id, "not-an-email", Role::Admin), "email"),
        (
            NewUser {
                password: "short".into(),
                ..new_user(org.id, "a@a.kr", Role::Admin)
            },
            "password",
        ),
        (
            NewUser {
                display_name: "  ".into(),
                ..new_user(org.id, "a@a.kr", Role::Admin)
            },
            "display_name",
        ),
    ];
    for (user, field) in cases {
        match accounts.create_user(user).await {
            Err(AccountsError::Invalid { field: named, .. }) => assert_eq!(named, field),
            other => panic!("expected an invalid {field}, got {other:?}"),
        }
    }
    accounts
        .create_user(new_user(org.id, "a@a.kr", Role::Admin))
        .await
        .unwrap();
    assert!(matches!(
        accounts
            .create_user(new_user(org.id, "A@a.kr", Role::Admin))
            .await,
        Err(AccountsError::DuplicateEmail(_))
    ));
    assert!(matches!(
        accounts.create_organization("Media A").await,
        Err(AccountsError::DuplicateOrganization(_))
    ));
    let bad_hook = OrganizationUpdate {
        webhook_url: Some("ftp://x".into()),
        ..OrganizationUpdate::default()
    };
    assert!(matches!(
        accounts.update_organization(org.id, bad_hook).await,
        Err(AccountsError::Outbound {
            field: "webhook_url",
            ..
        })
    ));
    assert_eq!(accounts.users(org.id).await.unwrap().len(), 1);
    assert_eq!(
        accounts.organization(org.id).await.unwrap().webhook_url,
        None
    );
}

/// L1 and L2 (docs/hardening.md): a new password ends every session; disabling revokes the
/// user's API tokens, so enabling again brings none back; trivial passwords are refused.
#[tokio::test]
async fn a_new_password_ends_sessions_and_reenabling_revives_no_token() {
    let (accounts, _) = accounts().await;
    let org = accounts.create_organization("Media A").await.unwrap();
    accounts
        .create_user(new_user(org.id, "admin@a.kr", Role::Admin))
        .await
        .unwrap();
    let user = accounts
        .create_user(new_user(org.id, "ops@a.kr", Role::Operator))
        .await
        .unwrap();
    let phone = accounts.create_session(user.id).await.unwrap();
    let laptop = accounts.create_session(user.id).await.unwrap();
    let token = accounts
        .create_api_token(org.id, user.id, "report script")
        .await
        .unwrap();
    let change = |password: &str| UserUpdate {
        password: Some(password.into()),
        ..UserUpdate::default()
    };
    for trivial in ["ops@a.kr", "zzzzzzzzzzzz", "Password123", "1q2w3e4r5t"] {
        let refused = accounts.update_user(org.id, user.id, change(trivial)).await;
        assert!(
            matches!(
                refused,
                Err(AccountsError::Invalid {
                    field: "password",
                    ..
                })
            ),
            "{trivial}: {refused:?}"
        );
    }
    assert!(
        accounts.session(&phone.token).await.unwrap().is_some(),
        "refusals change nothing"
    );
    accounts
        .update_user(org.id, user.id, change("a much better secret"))
        .await
        .unwrap();
    assert!(accounts.session(&phone.token).await.unwrap().is_none());
    assert!(accounts.session(&laptop.token).await.unwrap().is_none());
    assert!(
        accounts
            .api_token_user(&token.secret)
            .await
            .unwrap()
            .is_some()
    );

    let toggle = |disabled: bool| UserUpdate {
        disabled: Some(disabled),
        ..UserUpdate::default()
    };
    accounts
        .update_user(org.id, user.id, toggle(true))
        .await
        .unwrap();
    accounts
        .update_user(org.id, user.id, toggle(false))
        .await
        .unwrap();
    assert!(
        accounts
            .api_token_user(&token.secret)
            .await
            .unwrap()
            .is_none(),
        "the token stays revoked"
    );
    let listed = accounts.api_tokens(org.id).await.unwrap();
    assert!(listed.iter().all(|t| t.revoked_at.is_some()));
    assert!(matches!(
        accounts
            .create_user(NewUser {
                password: "1234567890".into(),
                ..new_user(org.id, "new@a.kr", Role::Analyst)
            })
            .await,
        Err(AccountsError::Invalid {
            field: "password",
            ..
        })
    ));
}
