//! S3 sources against a real S3 server on 127.0.0.1 (s3s over a local folder, with signature
//! checks): listing under a prefix, reading gzip objects, exactly-once reports equal to the
//! ones computed from the same files in a folder, transient 503s ridden out, and a wrong secret
//! or an unreachable endpoint reported against the source without changing anything. Runs on
//! SQLite, and on PostgreSQL when ADPOOL_TEST_DATABASE_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use adpool_core::{ManualClock, OrgId, SharedClock};
use adpool_logs::{AnalyzeOptions, Report, S3Settings, Source, analyze, rows, to_csv};
use adpool_store::testing::fresh_database;

const ACCESS_KEY: &str = "adpool-test";
const SECRET_KEY: &str = "adpool-test-secret";

/// An S3 server on 127.0.0.1 serving buckets that are folders under `root`. The first
/// `fail_first_gets` object downloads answer 503 Slow Down, as a busy S3 does.
async fn s3_server(root: &Path, fail_first_gets: usize) -> (SocketAddr, Arc<AtomicUsize>) {
    let fs = s3s_fs::FileSystem::new(root).unwrap();
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let failed = Arc::new(AtomicUsize::new(0));
    let failures = failed.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let service = service.clone();
            let failures = failures.clone();
            let handler =
                hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let service = service.clone();
                    let failures = failures.clone();
                    async move {
                        let is_object_get = request.method() == http::Method::GET
                            && request.uri().path().ends_with(".gz");
                        if is_object_get
                            && failures
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                    (n < fail_first_gets).then_some(n + 1)
                                })
                                .is_ok()
                        {
                            return Ok(http::Response::builder()
                                .status(503)
                                .body(s3s::Body::from(
                                    "<Error><Code>SlowDown</Code></Error>".to_owned(),
                                ))
                                .unwrap());
                        }
                        service.call(request.map(s3s::Body::from)).await
                    }
                });
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(socket), handler)
                .await;
            });
        }
    });
    (address, failed)
}

fn settings(address: SocketAddr, secret: &str) -> S3Settings {
    S3Settings {
        endpoint: Some(format!("http://{address}")),
        region: Some("ap-northeast-2".into()),
        access_key_id: Some(ACCESS_KEY.into()),
        secret_access_key: Some(secret.into()),
        from_environment: false,
    }
}

/// `n` valid log lines of media m1 on inventory 501 from `seed`.
fn log_lines(seed: i64, n: i64) -> String {
    (0..n)
        .map(|i| {
            let ts = 1_795_100_000 + seed * 40_000 + i * 13;
            let ev = ["req", "res", "imp", "clk", "imp"][usize::try_from(i % 5).unwrap()];
            format!(
                "{{\"ts\":{ts},\"ev\":\"{ev}\",\"mid\":\"m1\",\"ads\":[{{\"aid\":501,\"_god\":{},\"did\":{}}}],\"dev\":\"pc\",\"app\":\"web\",\"rev\":{}.{:03}}}\n",
                7 + i % 3,
                70 + i % 2,
                i % 4,
                i % 1000
            )
        })
        .collect()
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// Writes the same files under `folder` (a local source) and into the bucket's prefix.
fn write_both(folder: &Path, bucket_prefix: &Path, name: &str, bytes: &[u8]) {
    for base in [folder, bucket_prefix] {
        let path = base.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// An organization with media m1 (70% share) and inventory 501 (PC display) in its metadata.
async fn organization(db: &adpool_store::Db, name: &str) -> OrgId {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, created_at) VALUES ($1, 0) RETURNING id",
    )
    .bind(name)
    .fetch_one(db.pool())
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (media, inventory) = (
        dir.path().join("media.csv"),
        dir.path().join("inventory.csv"),
    );
    std::fs::write(&media, "media_key,org_id,media_share_bp\nm1,11,7000\n").unwrap();
    std::fs::write(&inventory, "inventory_id,ad_type,device\n501,display,PC\n").unwrap();
    adpool_logs::import_metadata(db, OrgId(id), 0, Some(&media), Some(&inventory))
        .await
        .unwrap();
    OrgId(id)
}

async fn csv(db: &adpool_store::Db, org: OrgId) -> String {
    let mut out = String::new();
    for report in Report::ALL {
        let rows = rows(db, org, report, "0000-00-00", "9999-99-99")
            .await
            .unwrap();
        out.push_str(&to_csv(report, &rows));
    }
    out
}

#[tokio::test]
async fn an_s3_prefix_is_analyzed_exactly_once_like_the_same_files_in_a_folder() {
    let db = fresh_database().await;
    let clock: SharedClock = Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00"));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    let folder = dir.path().join("folder");
    let prefix = root.join("adlogs").join("partner-a");
    std::fs::create_dir_all(&prefix).unwrap();
    std::fs::create_dir_all(root.join("adlogs").join("partner-b")).unwrap();
    for day in 0..3 {
        for part in 0..2 {
            let name = format!("2026-11-{:02}/part-{part}.jsonl.gz", 18 + day);
            write_both(
                &folder,
                &prefix,
                &name,
                &gzip(&log_lines(day * 2 + part, 500)),
            );
        }
    }
    write_both(&folder, &prefix, "README.txt", b"not a log");
    // Another prefix of the same bucket is not part of this source.
    std::fs::write(
        root.join("adlogs/partner-b/x.jsonl.gz"),
        gzip(&log_lines(99, 10)),
    )
    .unwrap();

    let (address, failed_gets) = s3_server(&root, 2).await;
    let s3_org = organization(&db, "From S3").await;
    let folder_org = organization(&db, "From a folder").await;
    let options = AnalyzeOptions {
        batch_size: 2,
        workers: 2,
    };

    let source =
        Source::open_with("s3://adlogs/partner-a/", &settings(address, SECRET_KEY)).unwrap();
    assert_eq!(source.url, "s3://adlogs/partner-a");
    let summary = analyze(&db, &clock, s3_org, &source, options, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!((summary.done, summary.events), (6, 3000), "{summary:?}");
    assert_eq!(summary.skipped, vec!["README.txt".to_owned()]);
    assert!(summary.failed.is_empty(), "{summary:?}");
    assert_eq!(
        failed_gets.load(Ordering::SeqCst),
        2,
        "the 503s were retried"
    );

    let local = Source::open(folder.to_str().unwrap()).unwrap();
    analyze(&db, &clock, folder_org, &local, options, &mut |_, _| {})
        .await
        .unwrap();
    let from_s3 = csv(&db, s3_org).await;
    assert!(from_s3.lines().count() > 8, "{from_s3}");
    assert_eq!(from_s3, csv(&db, folder_org).await, "S3 and folder agree");

    // A rerun reads nothing again; a new object is picked up alone.
    let again = analyze(&db, &clock, s3_org, &source, options, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!((again.done, again.events), (0, 0));
    std::fs::write(prefix.join("2026-11-21.jsonl.gz"), gzip(&log_lines(50, 40))).unwrap();
    let more = analyze(&db, &clock, s3_org, &source, options, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!((more.done, more.events), (1, 40));
}

#[tokio::test]
async fn a_wrong_secret_or_a_dead_endpoint_is_a_clear_error_that_changes_nothing() {
    let db = fresh_database().await;
    let clock: SharedClock = Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00"));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    std::fs::create_dir_all(root.join("adlogs")).unwrap();
    std::fs::write(root.join("adlogs/a.jsonl.gz"), gzip(&log_lines(1, 10))).unwrap();
    let (address, _) = s3_server(&root, 0).await;
    let org = organization(&db, "Agency").await;
    let options = AnalyzeOptions::default();

    let wrong = Source::open_with("s3://adlogs", &settings(address, "not-the-secret")).unwrap();
    let error = analyze(&db, &clock, org, &wrong, options, &mut |_, _| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("s3://adlogs"), "{error}");
    assert!(error.contains("listing failed"), "{error}");
    assert!(error.contains("check the access key and secret"), "{error}");

    // Nothing listens on port 9 of 127.0.0.1.
    let dead = Source::open_with(
        "s3://adlogs",
        &S3Settings {
            endpoint: Some("http://127.0.0.1:9".into()),
            ..settings(address, SECRET_KEY)
        },
    )
    .unwrap();
    let error = analyze(&db, &clock, org, &dead, options, &mut |_, _| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("s3://adlogs"), "{error}");
    assert!(error.contains("is the endpoint reachable"), "{error}");

    let files: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM log_files")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(files, 0, "no file was registered");
    assert_eq!(csv(&db, org).await.lines().count(), 4, "headers only");

    assert!(
        Source::open_with("s3://", &S3Settings::default())
            .unwrap_err()
            .to_string()
            .contains("no bucket")
    );
}

/// H1 (docs/hardening.md): an organization's `s3://` source is read with its own sealed
/// credentials, never with the server's unless the deployment names the organization; its
/// endpoint must be a public host unless the deployment allows it.
#[tokio::test]
async fn s3_sources_use_the_organizations_own_sealed_credentials() {
    use adpool_logs::{LogSources, S3Credentials, SourceRules};
    let db = fresh_database().await;
    let clock: SharedClock = Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00"));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    std::fs::create_dir_all(root.join("adlogs")).unwrap();
    std::fs::write(root.join("adlogs/a.jsonl.gz"), gzip(&log_lines(1, 10))).unwrap();
    let (address, _) = s3_server(&root, 0).await;
    let owner = organization(&db, "Owner").await;
    let other = organization(&db, "Other").await;
    let named = organization(&db, "Named by the deployment").await;
    let vault = adpool_store::Vault::new([6; 32]);
    let rules = |allowed: &[&str]| SourceRules {
        server_s3: settings(address, SECRET_KEY),
        server_s3_orgs: vec![named],
        outbound: adpool_outbound::OutboundRules::new(allowed),
        ..SourceRules::default()
    };
    let credentials = S3Credentials {
        endpoint: Some(format!("http://{address}")),
        region: Some("ap-northeast-2".into()),
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: SECRET_KEY.into(),
    };

    // Public hosts only by default: a loopback endpoint is refused when saved.
    let strict = LogSources::new(db.clone(), vault.clone(), rules(&[]));
    let refused = strict
        .save_s3_credentials(owner, credentials.clone(), 0)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("not a public"), "{refused}");

    let sources = LogSources::new(db.clone(), vault, rules(&["127.0.0.1"]));
    // Without credentials of its own, an organization cannot use the server's.
    let error = sources
        .open(other, "s3://adlogs")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("no S3 credentials"), "{error}");
    // The organization the deployment names may.
    let source = sources.open(named, "s3://adlogs").await.unwrap();
    let summary = analyze(
        &db,
        &clock,
        named,
        &source,
        AnalyzeOptions::default(),
        &mut |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(summary.events, 10);

    // Saved credentials are sealed (the secret is not in the row) and read the bucket.
    sources
        .save_s3_credentials(owner, credentials, 0)
        .await
        .unwrap();
    let sealed: String =
        sqlx::query_scalar("SELECT secret_sealed FROM log_s3_credentials WHERE org_id = $1")
            .bind(owner.get())
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert!(!sealed.contains(SECRET_KEY));
    let saved = sources.saved_s3_credentials(owner).await.unwrap().unwrap();
    assert_eq!(saved.access_key_hint, "adpo…");
    let source = sources.open(owner, "s3://adlogs").await.unwrap();
    let summary = analyze(
        &db,
        &clock,
        owner,
        &source,
        AnalyzeOptions::default(),
        &mut |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(summary.events, 10);
    // Another organization still has none.
    assert!(sources.open(other, "s3://adlogs").await.is_err());
    assert!(sources.delete_s3_credentials(owner).await.unwrap());
    assert!(sources.open(owner, "s3://adlogs").await.is_err());
}
