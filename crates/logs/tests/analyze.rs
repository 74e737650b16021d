//! Log analytics contract: a folder of logs becomes the four reports exactly once, bad files are
//! quarantined whole, metadata imports all or nothing, one analyzer per source. The reference is
//! computed here from the generated events with independent code. Runs on SQLite, and on
//! PostgreSQL when ADPOOL_TEST_DATABASE_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::type_complexity)] // test helpers fail loudly; the reference spells its keys out

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use adpool_core::{ManualClock, OrgId, SharedClock};
use adpool_logs::{
    AnalyzeOptions, LogsError, Report, Source, analyze, import_metadata, rows, to_csv,
};
use adpool_store::testing::fresh_database;

/// A generated event: (ts, ev, media, aid, god, did, dev, app, rev_milli).
type Event = (
    i64,
    &'static str,
    &'static str,
    i64,
    i64,
    i64,
    Option<&'static str>,
    Option<&'static str>,
    i64,
);

fn events(seed: u64, n: usize) -> Vec<Event> {
    let mut x = seed;
    let mut next = move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    (0..n)
        .map(|_| {
            let ev = ["req", "res", "psb", "imp", "imp", "clk"][next(6) as usize];
            let media = ["m1", "m2", "m3"][next(3) as usize];
            let dev =
                [None, Some("pc"), Some("Mobile"), Some("tablet"), Some("tv")][next(5) as usize];
            let app =
                [None, Some("web"), Some("ios"), Some("android"), Some("AOS")][next(5) as usize];
            let rev = if ev == "imp" || ev == "clk" {
                next(5_000_000) as i64
            } else {
                0
            };
            // Three KST days around 2026-11-20.
            (
                1_795_100_000 + next(3 * 86_400) as i64,
                ev,
                media,
                [501, 502, 999][next(3) as usize],
                next(4) as i64,
                next(3) as i64,
                dev,
                app,
                rev,
            )
        })
        .collect()
}

fn line(e: &Event) -> String {
    let mut s = format!(
        r#"{{"ts":{},"ev":"{}","mid":"{}","ads":[{{"aid":{},"_god":{},"did":{}}}]"#,
        e.0, e.1, e.2, e.3, e.4, e.5
    );
    if let Some(dev) = e.6 {
        s.push_str(&format!(r#","dev":"{dev}""#));
    }
    if let Some(app) = e.7 {
        s.push_str(&format!(r#","app":"{app}""#));
    }
    if e.8 > 0 {
        s.push_str(&format!(r#","rev":{}.{:03}"#, e.8 / 1000, e.8 % 1000));
    }
    s.push_str("}\n");
    s
}

fn write(dir: &Path, name: &str, events: &[Event]) {
    let text: String = events.iter().map(line).collect();
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let bytes = if name.ends_with(".gz") {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    } else if name.ends_with(".zst") {
        ruzstd::encoding::compress_to_vec(
            text.as_bytes(),
            ruzstd::encoding::CompressionLevel::Fastest,
        )
    } else {
        text.into_bytes()
    };
    std::fs::write(path, bytes).unwrap();
}

/// The four reports' CSV rows computed straight from the events (sorted lines, no header).
fn reference(events: &[Event]) -> BTreeMap<&'static str, Vec<String>> {
    let media = |m: &str| match m {
        "m1" => (11i64, 7_000i64),
        "m2" => (12, 5_000),
        _ => (0, 0), // m3 is not in the metadata
    };
    let inventory_device = |aid: i64| match aid {
        501 => "PC",
        502 => "MOBILE",
        _ => "ALL",
    };
    let date = |ts: i64| {
        let kst = ts + 9 * 3600;
        chrono_like_date(kst.div_euclid(86_400))
    };
    let mut perf: BTreeMap<(String, i64, &str, i64, i64, i64), (i64, i64, i64)> = BTreeMap::new();
    let mut req: BTreeMap<(String, i64, &str, i64, &str, &str), (i64, i64, i64)> = BTreeMap::new();
    let mut demand: BTreeMap<(String, i64), (i64, i64, i64)> = BTreeMap::new();
    let mut med: BTreeMap<(String, i64, &str, &str), (i64, i64, i64, i64, i64)> = BTreeMap::new();
    for e in events {
        let (org, share) = media(e.2);
        let device = match e.6.map(str::to_ascii_lowercase).as_deref() {
            Some("pc") => "PC",
            Some("mobile") | Some("tablet") => "MOBILE",
            _ => inventory_device(e.3),
        };
        let app = match e.7.map(str::to_ascii_lowercase).as_deref() {
            Some("web") => "WEB",
            Some("ios") => "IOS",
            Some("aos") | Some("android") => "AOS",
            _ => "ALL",
        };
        let d = date(e.0);
        match e.1 {
            "req" | "res" | "psb" => {
                let r = req.entry((d, org, e.2, e.3, device, app)).or_default();
                match e.1 {
                    "req" => r.0 += 1,
                    "res" => r.1 += 1,
                    _ => r.2 += 1,
                }
            }
            _ => {
                let (imp, clk) = (i64::from(e.1 == "imp"), i64::from(e.1 == "clk"));
                let p = perf
                    .entry((d.clone(), org, e.2, e.3, e.4, e.5))
                    .or_default();
                *p = (p.0 + imp, p.1 + clk, p.2 + e.8);
                let q = demand.entry((d.clone(), e.5)).or_default();
                *q = (q.0 + imp, q.1 + clk, q.2 + e.8);
                // Two-part largest remainder: the leftover unit goes to the larger remainder,
                // a tie to the larger share, a tie of shares to the media.
                let exact = e.8 * share;
                let mut media_part = exact / 10_000;
                let remainder = exact % 10_000;
                if remainder > 5_000 || (remainder == 5_000 && share >= 5_000) {
                    media_part += 1;
                }
                let m = med.entry((d, org, e.2, device)).or_default();
                *m = (
                    m.0 + imp,
                    m.1 + clk,
                    m.2 + e.8,
                    m.3 + (e.8 - media_part),
                    m.4 + media_part,
                );
            }
        }
    }
    let won = |m: i64| format!("{}.{:03}", m / 1000, m % 1000);
    let ratio = |a: i64, b: i64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut out: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    out.insert(
        "ad-performance",
        perf.iter()
            .map(|(k, v)| {
                format!(
                    "{},{},{},{},{},{},{},{},{}",
                    k.0,
                    k.1,
                    k.2,
                    k.3,
                    k.4,
                    k.5,
                    v.0,
                    v.1,
                    won(v.2)
                )
            })
            .collect(),
    );
    out.insert(
        "ad-request",
        req.iter()
            .map(|(k, v)| {
                format!(
                    "{},{},{},{},{},{},{},{},{}",
                    k.0, k.1, k.2, k.3, k.4, k.5, v.0, v.1, v.2
                )
            })
            .collect(),
    );
    out.insert(
        "demand",
        demand
            .iter()
            .map(|(k, v)| {
                format!(
                    "{},{},{},{},{},{:.6},{:.6},{:.6}",
                    k.0,
                    k.1,
                    v.0,
                    v.1,
                    won(v.2),
                    ratio(v.1, v.0),
                    ratio(v.2, v.1) / 1000.0,
                    ratio(v.2, v.0)
                )
            })
            .collect(),
    );
    out.insert(
        "media",
        med.iter()
            .map(|(k, v)| {
                format!(
                    "{},{},{},{},{},{},{},{},{}",
                    k.0,
                    k.1,
                    k.2,
                    k.3,
                    v.0,
                    v.1,
                    won(v.2),
                    won(v.3),
                    won(v.4)
                )
            })
            .collect(),
    );
    for lines in out.values_mut() {
        lines.sort();
    }
    out
}

/// Days since 1970-01-01 as YYYY-MM-DD (civil-from-days, independent of the code under test).
fn chrono_like_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{:02}-{:02}", if m <= 2 { y + 1 } else { y }, m, d)
}

async fn report_lines(db: &adpool_store::Db, org: OrgId) -> BTreeMap<&'static str, Vec<String>> {
    let mut out = BTreeMap::new();
    for report in Report::ALL {
        let csv = to_csv(
            report,
            &rows(db, org, report, "0000-00-00", "9999-99-99")
                .await
                .unwrap(),
        );
        let mut lines: Vec<String> = csv.lines().skip(1).map(str::to_owned).collect();
        lines.sort();
        assert_eq!(csv.lines().next().unwrap(), report.columns().join(","));
        out.insert(report.slug(), lines);
    }
    out
}

/// A fresh database with one organization, a clock, and a scratch folder.
async fn agency() -> (adpool_store::Db, OrgId, SharedClock, tempfile::TempDir) {
    let db = fresh_database().await;
    let org: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, created_at) VALUES ('Agency', 0) RETURNING id",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let clock: SharedClock = Arc::new(ManualClock::at("2026-11-21T09:00:00+09:00"));
    (db, OrgId(org), clock, tempfile::tempdir().unwrap())
}

/// Writes the metadata files (media m1 70%, m2 50%; inventory 501 PC, 502 mobile) and imports
/// them.
async fn good_metadata(db: &adpool_store::Db, org: OrgId, dir: &Path) {
    let meta = dir.join("meta");
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        meta.join("media.csv"),
        "media_key,org_id,media_share_bp\nm1,11,7000\nm2,12,5000\n",
    )
    .unwrap();
    std::fs::write(
        meta.join("inventory.csv"),
        "inventory_id,ad_type,device\n501,display,PC\n502,video,mobile\n",
    )
    .unwrap();
    let imported = import_metadata(
        db,
        org,
        0,
        Some(&meta.join("media.csv")),
        Some(&meta.join("inventory.csv")),
    )
    .await
    .unwrap();
    assert_eq!((imported.media, imported.inventory), (2, 2));
}

#[tokio::test]
async fn a_folder_of_logs_becomes_four_reports_exactly_once() {
    let (db, org, clock, dir) = agency().await;

    // Metadata: a bad row refuses the whole import and names the row, column and value.
    let meta = dir.path().join("meta");
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        meta.join("media.csv"),
        "media_key,org_id,media_share_bp\nm1,11,7000\nm2,12,50000\n",
    )
    .unwrap();
    std::fs::write(
        meta.join("inventory.csv"),
        "inventory_id,ad_type,device\n501,display,PC\n502,video,mobile\n",
    )
    .unwrap();
    let error = import_metadata(
        &db,
        org,
        0,
        Some(&meta.join("media.csv")),
        Some(&meta.join("inventory.csv")),
    )
    .await
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("row 3, column media_share_bp, value '50000'"),
        "{error}"
    );
    let written: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM log_inventory")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(written, 0, "nothing was imported");
    good_metadata(&db, org, dir.path()).await;

    // Logs: gzip, zstd and plain files, a corrupt file, a file that is not a log, a hidden
    // partial file being written.
    let logs = dir.path().join("logs");
    let all = events(7, 4_000);
    write(&logs, "2026-11-19/a.jsonl.gz", &all[..1000]);
    write(&logs, "2026-11-19/b.jsonl.zst", &all[1000..2000]);
    write(&logs, "2026-11-20/c.jsonl", &all[2000..2500]);
    write(&logs, "2026-11-20/d.jsonl.gz", &all[2500..3000]);
    let mut bad: String = all[..3].iter().map(line).collect();
    bad.push_str("{\"ts\": \"yesterday\"}\n");
    std::fs::write(logs.join("2026-11-20/bad.jsonl"), bad).unwrap();
    std::fs::write(logs.join("notes.txt"), "not a log").unwrap();
    std::fs::write(logs.join("2026-11-20/.e.jsonl.gz.part"), "half written").unwrap();

    let source = Source::open(logs.to_str().unwrap()).unwrap();
    let options = AnalyzeOptions {
        batch_size: 2,
        workers: 2,
    };
    let mut seen = Vec::new();
    let summary = analyze(&db, &clock, org, &source, options, &mut |done, total| {
        seen.push((done, total))
    })
    .await
    .unwrap();
    assert_eq!(summary.done, 4, "{summary:?}");
    assert_eq!(summary.events, 3000);
    assert_eq!(summary.skipped, vec!["notes.txt".to_owned()]);
    assert_eq!(summary.quarantined.len(), 1);
    assert_eq!(
        (summary.quarantined[0].0.as_str(), summary.quarantined[0].1),
        ("2026-11-20/bad.jsonl", 4)
    );
    assert!(
        summary.quarantined[0].2.contains("ts"),
        "{:?}",
        summary.quarantined
    );
    assert_eq!(summary.unknown_media, vec!["m3".to_owned()]);
    assert_eq!(summary.unknown_inventory, vec![999]);
    assert_eq!(seen.last(), Some(&(5, 5)));
    assert_eq!(
        report_lines(&db, org).await,
        reference(&all[..3000]),
        "reports equal the independent reference"
    );

    // A rerun counts nothing again; a new file is picked up alone.
    let again = analyze(&db, &clock, org, &source, options, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!((again.done, again.events), (0, 0));
    assert_eq!(report_lines(&db, org).await, reference(&all[..3000]));
    write(&logs, "2026-11-21/e.jsonl.gz", &all[3000..]);
    let more = analyze(&db, &clock, org, &source, options, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!((more.done, more.events), (1, 1000));
    assert_eq!(
        report_lines(&db, org).await,
        reference(&all),
        "the quarantined file counts nothing"
    );

    // SQLite: one analyzer per source; a live lease of another holder refuses a second run.
    if db.dialect() == adpool_store::Dialect::Sqlite {
        assert!(
            adpool_logs::store::take_lease(
                &db,
                org,
                &source.url,
                "someone-else",
                clock.now_millis(),
                60_000
            )
            .await
            .unwrap()
        );
        assert!(matches!(
            analyze(&db, &clock, org, &source, options, &mut |_, _| {}).await,
            Err(LogsError::Locked(_))
        ));
    }
    // Bad sources say what is wrong.
    assert!(
        Source::open("/no/such/folder")
            .unwrap_err()
            .to_string()
            .contains("cannot be opened")
    );
    assert!(Source::open("ftp://x").is_err());
}

#[tokio::test]
async fn concurrent_analyzers_count_every_file_once() {
    let (db, org, clock, dir) = agency().await;
    good_metadata(&db, org, dir.path()).await;
    let logs = dir.path().join("logs");
    let all = events(11, 6_000);
    for (i, chunk) in all.chunks(300).enumerate() {
        write(&logs, &format!("f-{i:02}.jsonl.gz"), chunk);
    }
    let source = Source::open(logs.to_str().unwrap()).unwrap();
    let options = AnalyzeOptions {
        batch_size: 2,
        workers: 1,
    };
    let (mut quiet_a, mut quiet_b) = (|_, _| {}, |_, _| {});
    let (a, b) = tokio::join!(
        analyze(&db, &clock, org, &source, options, &mut quiet_a),
        analyze(&db, &clock, org, &source, options, &mut quiet_b),
    );
    let mut done = 0;
    for run in [a, b] {
        match run {
            Ok(summary) => done += summary.done,
            // SQLite keeps one analyzer per source; the other is told so.
            Err(LogsError::Locked(_)) if db.dialect() == adpool_store::Dialect::Sqlite => {}
            Err(other) => panic!("{other}"),
        }
    }
    if db.dialect() == adpool_store::Dialect::Postgres {
        // Both ran and split the files (FOR UPDATE SKIP LOCKED).
        assert_eq!(done, 20);
    } else {
        let rest = analyze(&db, &clock, org, &source, options, &mut |_, _| {})
            .await
            .unwrap();
        assert_eq!(done + rest.done, 20);
    }
    assert_eq!(
        report_lines(&db, org).await,
        reference(&all),
        "every file counted exactly once"
    );
}

#[tokio::test]
async fn a_database_fault_mid_batch_counts_nothing_of_it_and_the_rerun_counts_every_file_once() {
    use adpool_store::testing::{Fault, FaultPoint, inject_fault};
    let (db, org, clock, dir) = agency().await;
    good_metadata(&db, org, dir.path()).await;
    let logs = dir.path().join("logs");
    let all = events(23, 2_000);
    write(&logs, "2026-11-19/a.jsonl.gz", &all[..500]);
    write(&logs, "2026-11-19/b.jsonl", &all[500..1000]);
    write(&logs, "2026-11-20/c.jsonl.zst", &all[1000..1500]);
    write(&logs, "2026-11-20/d.jsonl", &all[1500..]);
    let source = Source::open(logs.to_str().unwrap()).unwrap();
    let options = AnalyzeOptions {
        batch_size: 2,
        workers: 2,
    };
    // The batch's report rows are written, then marking its files done fails (or times out):
    // the batch's transaction rolls back whole, and the run reports the failure.
    for (point, fault) in [
        (FaultPoint::Update("log_files"), Fault::Error),
        (FaultPoint::InsertAfter("report_media", 3), Fault::Timeout),
    ] {
        let planted = inject_fault(&db, point, fault).await;
        let error = analyze(&db, &clock, org, &source, options, &mut |_, _| {})
            .await
            .expect_err("the run reports the fault (the analyze job is retried)");
        assert!(
            error.to_string().contains(fault.message()),
            "{point:?}: {error}"
        );
        planted.clear().await;
        let counted: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM log_files WHERE state = 'done'")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(counted, 0, "{point:?}: no file is marked counted");
        let reported = report_lines(&db, org).await;
        assert!(
            reported.values().all(Vec::is_empty),
            "{point:?}: no report row stays from the failed batch: {reported:?}"
        );
    }
    // The retry may take the source at once: the failed runs gave their lease back.
    let retried = analyze(&db, &clock, org, &source, options, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!((retried.done, retried.events), (4, 2000), "{retried:?}");
    assert_eq!(
        report_lines(&db, org).await,
        reference(&all),
        "every file counted exactly once"
    );
}
