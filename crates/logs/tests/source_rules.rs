//! H1 (docs/hardening.md): which folders an organization may analyze from the web and its jobs.
//! Only its own folder of the ad server's event log and the roots the deployment configures
//! (`{org}` for the organization's id); the path is made canonical first, so `..` and symlinks
//! cannot lead out, and a symlinked file inside an allowed folder is not read.
#![allow(clippy::unwrap_used)] // tests fail loudly

use adpool_core::OrgId;
use adpool_logs::{LogSources, SourceRules};
use adpool_store::testing::fresh_database;

async fn sources(rules: SourceRules) -> LogSources {
    let db = fresh_database().await;
    LogSources::new(db, adpool_store::Vault::new([1; 32]), rules)
}

#[tokio::test]
async fn an_organization_reads_only_its_own_event_log_folder_and_configured_roots() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("event-logs");
    for org in [1, 2] {
        std::fs::create_dir_all(events.join(format!("org-{org}/2026-12-01"))).unwrap();
    }
    let partners = dir.path().join("partners");
    std::fs::create_dir_all(partners.join("org-2")).unwrap();
    std::fs::create_dir_all(partners.join("org-3")).unwrap();
    let sources = sources(SourceRules {
        event_log_folder: Some(events.clone()),
        folder_roots: vec![format!("{}/org-{{org}}", partners.display())],
        ..SourceRules::default()
    })
    .await;
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let (one, two) = (OrgId(1), OrgId(2));

    // Its own event-log folder (and folders inside it), as a path or file:// URL.
    assert!(
        sources
            .open(one, &path(&events.join("org-1")))
            .await
            .is_ok()
    );
    let inner = format!("file://{}", path(&events.join("org-1/2026-12-01")));
    assert!(sources.open(one, &inner).await.is_ok());
    // Not another organization's, not the whole event log, not the host's.
    for refused in [
        path(&events.join("org-2")),
        path(&events),
        "/etc".to_owned(),
        "/".to_owned(),
        format!("{}/org-1/../org-2", path(&events)),
        path(&partners.join("org-2")),
    ] {
        let error = sources.open(one, &refused).await.unwrap_err().to_string();
        assert!(error.contains("outside the folders"), "{refused}: {error}");
    }
    // Whether a host path exists is not told: a missing one outside gets the same answer as
    // an existing one; only inside its own folders is a missing folder called missing.
    for outside in ["/etc", "/etc/no-such-folder-adpool", "/no/such/folder"] {
        let error = sources.open(one, outside).await.unwrap_err().to_string();
        assert!(error.contains("outside the folders"), "{outside}: {error}");
    }
    let missing = path(&events.join("org-1/not-yet"));
    let error = sources.open(one, &missing).await.unwrap_err().to_string();
    assert!(error.contains("cannot be opened"), "{error}");
    assert!(
        sources
            .open(one, "ftp://example.com/logs")
            .await
            .unwrap_err()
            .to_string()
            .contains("s3://bucket/prefix"),
        "another scheme is refused for its form"
    );
    // A configured root with {org} is the organization's own.
    assert!(
        sources
            .open(two, &path(&partners.join("org-2")))
            .await
            .is_ok()
    );
    assert!(
        sources
            .open(two, &path(&partners.join("org-3")))
            .await
            .is_err()
    );
    // Without an event-log folder or roots, nothing on the server is open.
    let closed = self::sources(SourceRules::default()).await;
    assert!(
        closed
            .open(one, &path(&events.join("org-1")))
            .await
            .is_err()
    );
}

#[cfg(unix)]
#[tokio::test]
async fn symlinks_do_not_lead_out_of_an_allowed_folder() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("event-logs");
    let own = events.join("org-1");
    let secret = dir.path().join("secret");
    std::fs::create_dir_all(&own).unwrap();
    std::fs::create_dir_all(&secret).unwrap();
    std::fs::write(secret.join("other-tenant.jsonl"), "{}\n").unwrap();
    std::fs::write(own.join("mine.jsonl"), "{}\n").unwrap();
    // A folder link and a file link inside the organization's own folder.
    std::os::unix::fs::symlink(&secret, own.join("link")).unwrap();
    std::os::unix::fs::symlink(secret.join("other-tenant.jsonl"), own.join("stolen.jsonl"))
        .unwrap();
    let sources = sources(SourceRules {
        event_log_folder: Some(events.clone()),
        ..SourceRules::default()
    })
    .await;
    let link = own.join("link");
    let error = sources
        .open(OrgId(1), link.to_str().unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("outside the folders"), "{error}");
    let source = sources.open(OrgId(1), own.to_str().unwrap()).await.unwrap();
    let keys: Vec<String> = source
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.key)
        .collect();
    assert_eq!(keys, vec!["mine.jsonl".to_owned()]);
}
