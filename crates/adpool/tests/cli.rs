//! The `adpool` binary as a user runs it, each test in its own temporary folder.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

use std::process::{Command, Output};

fn adpool(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adpool"))
        .args(args)
        .current_dir(dir)
        .env_remove("ADPOOL_DATABASE_URL")
        .env_remove("ADPOOL_NEW_PASSWORD")
        .env("RUST_LOG", "warn")
        .output()
        .expect("running adpool")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn an_unknown_flag_prints_usage() {
    let dir = tempfile::tempdir().unwrap();
    let output = adpool(dir.path(), &["serve", "--no-such-flag"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("Usage: adpool serve"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_malformed_config_file_stops_start_up_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("adpool.toml"),
        "bind = \"127.0.0.1:0\"\ndatabse_url = \"sqlite://x.db\"\n",
    )
    .unwrap();
    let output = adpool(dir.path(), &["migrate"]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(
        message.contains("adpool.toml") && message.contains("databse_url"),
        "{message}"
    );
}

#[test]
fn an_unreachable_database_is_named_with_its_password_masked() {
    let dir = tempfile::tempdir().unwrap();
    let output = adpool(
        dir.path(),
        &[
            "--database-url",
            "postgres://adpool:hunter2@127.0.0.1:1/adpool",
            "migrate",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(
        message.contains("postgres://adpool:***@127.0.0.1:1/adpool"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn migrate_creates_the_default_database_and_user_create_adds_people() {
    let dir = tempfile::tempdir().unwrap();
    let output = adpool(dir.path(), &["migrate"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("12 migration(s) applied"),
        "{}",
        stdout(&output)
    );
    assert!(dir.path().join("adpool-data/adpool.db").exists());
    assert!(stdout(&adpool(dir.path(), &["migrate"])).contains("0 migration(s) applied"));

    let args = [
        "user",
        "create",
        "--email",
        "admin@media.kr",
        "--org",
        "Media",
        "--password",
        "correct horse battery",
    ];
    let output = adpool(dir.path(), &args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("created admin user admin@media.kr"),
        "{}",
        stdout(&output)
    );
    let again = adpool(dir.path(), &args);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    let weak = adpool(
        dir.path(),
        &[
            "user",
            "create",
            "--email",
            "b@media.kr",
            "--org",
            "Media",
            "--password",
            "short",
        ],
    );
    assert!(stderr(&weak).contains("password"), "{}", stderr(&weak));

    // An operator makes an API token for a user (CI's schemathesis run does): only the secret
    // goes to stdout, so it can be captured; an unknown user changes nothing.
    let token = adpool(
        dir.path(),
        &[
            "user",
            "token",
            "--email",
            "ADMIN@media.kr",
            "--org",
            "Media",
            "--name",
            "ci",
        ],
    );
    assert!(token.status.success(), "{}", stderr(&token));
    let secret = stdout(&token);
    assert!(
        secret.trim().starts_with("adp_") && secret.trim().lines().count() == 1,
        "{secret}"
    );
    let stranger = adpool(
        dir.path(),
        &[
            "user",
            "token",
            "--email",
            "nobody@media.kr",
            "--org",
            "Media",
        ],
    );
    assert_eq!(stranger.status.code(), Some(1));
    assert!(
        stderr(&stranger).contains("no user"),
        "{}",
        stderr(&stranger)
    );
}

#[test]
fn demo_builds_its_own_database_and_never_the_production_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = adpool(dir.path(), &["demo", "--no-serve"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("adpool-data/demo.db").exists());
    assert!(!dir.path().join("adpool-data/adpool.db").exists());
    // Rebuilt from scratch each time: running twice works.
    assert!(adpool(dir.path(), &["demo", "--no-serve"]).status.success());
}

#[test]
fn serve_answers_on_its_port_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_adpool"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("ADPOOL_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = lines.next().unwrap().unwrap();
    let address = banner.rsplit("http://").next().unwrap().trim().to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "GET /readyz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"status\":\"ready\""), "{reply}");

    let started = std::time::Instant::now();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "shutdown took {:?}",
        started.elapsed()
    );
}

#[test]
fn the_forecast_pipeline_runs_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let created = adpool(
        dir.path(),
        &[
            "user",
            "create",
            "--email",
            "ops@rep.kr",
            "--org",
            "Rep",
            "--password",
            "correct horse battery",
        ],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let mut csv = String::from("media,meta_id,part,date,hour,impressions\n");
    for day in 1..=31 {
        csv.push_str(&format!(
            "KBS,PRG-1,PC_VOD,2026-12-{day:02},20,{}\n",
            1000 + day
        ));
        csv.push_str(&format!(
            "KBS,PRG-1,PC_LIVE,2026-12-{day:02},21,{}\n",
            100 + day
        ));
    }
    std::fs::write(dir.path().join("forecast.csv"), csv).unwrap();
    let import = adpool(dir.path(), &["forecast", "import", "forecast.csv"]);
    assert!(import.status.success(), "{}", stderr(&import));
    assert!(
        stdout(&import).starts_with("imported 62 rows from forecast.csv"),
        "{}",
        stdout(&import)
    );
    assert!(
        stdout(&import).contains("1 new media, 1 new meta_ids"),
        "{}",
        stdout(&import)
    );

    let unconfirmed = adpool(
        dir.path(),
        &["inventory", "build-unit", "--month", "2026-12"],
    );
    assert_eq!(unconfirmed.status.code(), Some(1));
    assert!(
        stderr(&unconfirmed).contains("has no standard inventory yet"),
        "{}",
        stderr(&unconfirmed)
    );
    for step in [
        ["inventory", "build-standard", "--month", "2026-12"],
        ["inventory", "confirm", "--month", "2026-12"],
        ["inventory", "build-unit", "--month", "2026-12"],
    ] {
        let output = adpool(dir.path(), &step);
        assert!(output.status.success(), "{step:?}: {}", stderr(&output));
    }
    let standard = adpool(
        dir.path(),
        &[
            "inventory",
            "export",
            "--level",
            "standard",
            "--month",
            "2026-12",
        ],
    );
    let total: i64 = (1..=31).map(|d| 1000 + d + 100 + d).sum();
    assert_eq!(
        stdout(&standard),
        format!(
            "media,meta_id,platform,month,forecast_qty,qty,change_rate\nKBS,PRG-1,PC,2026-12,{total},{total},\n"
        )
    );
    let unit = adpool(
        dir.path(),
        &[
            "inventory",
            "export",
            "--level",
            "unit",
            "--month",
            "2026-12",
            "-o",
            "unit.csv",
        ],
    );
    assert!(unit.status.success(), "{}", stderr(&unit));
    let unit = std::fs::read_to_string(dir.path().join("unit.csv")).unwrap();
    assert_eq!(unit.lines().count(), 32);
    assert!(
        unit.lines()
            .nth(1)
            .unwrap()
            .starts_with("KBS,PRG-1,PC,2026-12-01,")
    );

    std::fs::write(
        dir.path().join("bad.csv"),
        "media,meta_id,part,date,hour,impressions\nKBS,PRG-1,RADIO,2026-12-01,0,5\n",
    )
    .unwrap();
    let bad = adpool(dir.path(), &["forecast", "import", "bad.csv"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("bad.csv: row 2, column part, value 'RADIO': unknown part"),
        "{}",
        stderr(&bad)
    );
    assert!(
        stderr(&bad).contains("nothing was imported"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn the_catalog_imports_and_exports_as_json() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        adpool(
            dir.path(),
            &[
                "user",
                "create",
                "--email",
                "ops@rep.kr",
                "--org",
                "Rep",
                "--password",
                "correct horse battery"
            ]
        )
        .status
        .success()
    );
    let document = r#"{ "products": [{ "code": "RON", "name": "RON 프리롤", "type": "ron", "ad_type": "pre-roll", "cpm": { "PC": 5000 }, "ctr_bp": 60, "vtr_bp": 7000 }] }"#;
    std::fs::write(dir.path().join("catalog.json"), document).unwrap();
    let import = adpool(dir.path(), &["catalog", "import", "catalog.json"]);
    assert!(import.status.success(), "{}", stderr(&import));
    assert!(
        stdout(&import).contains("1 products"),
        "{}",
        stdout(&import)
    );
    let export = adpool(dir.path(), &["catalog", "export"]);
    let exported: serde_json::Value = serde_json::from_str(&stdout(&export)).unwrap();
    assert_eq!(exported["products"][0]["cpm"]["PC"], 5000);
    assert_eq!(exported["part_platforms"]["PC_VOD"], "PC");

    std::fs::write(dir.path().join("bad.json"), r#"{ "products": [{ "code": "X", "name": "x", "type": "tv", "ad_type": "a", "cpm": { "PC": -1 }, "ctr_bp": 0, "vtr_bp": 0 }] }"#).unwrap();
    let bad = adpool(dir.path(), &["catalog", "import", "bad.json"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("bad.json: products[0].cpm.PC: -1 must be a positive number of won"),
        "{}",
        stderr(&bad)
    );
    assert!(
        stderr(&bad).contains("the catalog was not changed"),
        "{}",
        stderr(&bad)
    );
    std::fs::write(dir.path().join("typo.json"), r#"{ "prodcts": [] }"#).unwrap();
    let typo = adpool(dir.path(), &["catalog", "import", "typo.json"]);
    assert!(
        stderr(&typo).contains("unknown field `prodcts`"),
        "{}",
        stderr(&typo)
    );
}

#[test]
fn purchases_are_applied_shown_and_cancelled_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    assert!(adpool(dir.path(), &["demo", "--no-serve"]).status.success());
    let demo = ["--database-url", "sqlite://./adpool-data/demo.db"];
    let org = ["--org", "데모 미디어 (Demo Media)"];
    // The demo's forecast covers this month and next; buy the first week of next month.
    let next = {
        let today = chrono::Utc::now()
            .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap())
            .date_naive();
        let first = chrono::NaiveDate::from_ymd_opt(
            chrono::Datelike::year(&today),
            chrono::Datelike::month(&today),
            1,
        )
        .unwrap();
        first + chrono::Months::new(1)
    };
    let request = serde_json::json!({
        "product": "PRG-PRE", "amount": 5_000_000, "start": next.to_string(), "end": (next + chrono::Days::new(6)).to_string(),
        "platforms": ["PC", "MOBILE"],
        "targeting_groups": [{ "code": "G1", "weight_bp": 6000 }, { "code": "G2", "weight_bp": 4000 }],
        "content_owners": [{ "code": "KBS", "ratio_bp": 5000 }, { "code": "MBC", "ratio_bp": 5000 }]
    });
    std::fs::write(dir.path().join("buy.json"), request.to_string()).unwrap();
    let run = |args: &[&str]| adpool(dir.path(), &[&demo[..], args, &org[..]].concat());

    let dry = run(&["purchase", "apply", "buy.json", "--dry-run"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(
        stdout(&dry).starts_with("purchase PRG-PRE ₩5,000,000"),
        "{}",
        stdout(&dry)
    );
    assert!(
        stdout(&dry).contains("dry run:") && stdout(&dry).contains("[ok] KBS 50%"),
        "{}",
        stdout(&dry)
    );

    let booked = run(&["purchase", "apply", "buy.json"]);
    assert!(booked.status.success(), "{}", stderr(&booked));
    let line = stdout(&booked).lines().last().unwrap().to_owned();
    assert!(line.starts_with("booked as #"), "{line}");
    let id = line
        .trim_start_matches("booked as #")
        .split(':')
        .next()
        .unwrap()
        .to_owned();
    assert!(stdout(&run(&["purchase", "show", &id])).contains("(booked)"));
    let cancelled = run(&["purchase", "cancel", &id]);
    assert!(
        stdout(&cancelled).contains(&format!("booking #{id} cancelled")),
        "{}",
        stderr(&cancelled)
    );
    assert_eq!(
        run(&["purchase", "cancel", &id]).status.code(),
        Some(1),
        "cancelling twice is refused"
    );

    std::fs::write(dir.path().join("bad.json"), r#"{ "product": "NOPE", "amount": -1, "start": "2026-12-01", "end": "2026-12-02", "platforms": ["PC"], "targeting_groups": [{ "code": "G1", "weight_bp": 10000 }], "content_owners": [{ "code": "KBS", "ratio_bp": 10000 }] }"#).unwrap();
    let bad = run(&["purchase", "apply", "bad.json"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("bad.json: product: 'NOPE' is not a product"),
        "{}",
        stderr(&bad)
    );
    assert!(
        stderr(&bad).contains("bad.json: amount: -1 must be more than 0 won"),
        "{}",
        stderr(&bad)
    );
    assert!(
        stderr(&bad).contains("nothing was reserved"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn a_campaign_proposal_is_written_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    assert!(adpool(dir.path(), &["demo", "--no-serve"]).status.success());
    let run = |args: &[&str]| {
        let demo = ["--database-url", "sqlite://./adpool-data/demo.db"];
        let org = ["--org", "데모 미디어 (Demo Media)"];
        adpool(dir.path(), &[&demo[..], args, &org[..]].concat())
    };

    let written = run(&[
        "proposal",
        "1",
        "-o",
        "winter.xlsx",
        "--prepared-by",
        "김영업",
    ]);
    assert!(written.status.success(), "{}", stderr(&written));
    assert!(
        stdout(&written).starts_with("wrote winter.xlsx ("),
        "{}",
        stdout(&written)
    );
    let bytes = std::fs::read(dir.path().join("winter.xlsx")).unwrap();
    assert_eq!(&bytes[..2], b"PK", "an xlsx is a zip container");

    let missing = run(&["proposal", "999", "-o", "none.xlsx"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("campaign #999 is not in '데모 미디어 (Demo Media)'"),
        "{}",
        stderr(&missing)
    );
    assert!(!dir.path().join("none.xlsx").exists(), "no file on failure");
}

#[test]
fn the_demo_has_cpc_traffic_and_the_ledger_verify_command_catches_a_tampered_balance() {
    let dir = tempfile::tempdir().unwrap();
    assert!(adpool(dir.path(), &["demo", "--no-serve"]).status.success());
    let demo = ["--database-url", "sqlite://./adpool-data/demo.db"];
    let verify = adpool(
        dir.path(),
        &[&demo[..], &["ads", "ledger", "verify"]].concat(),
    );
    assert!(verify.status.success(), "{}", stderr(&verify));
    assert!(stdout(&verify).contains("every balance equals the sum of its entries"));

    let org = ["--org", "데모 미디어 (Demo Media)"];
    let settlement = adpool(
        dir.path(),
        &[&demo[..], &["ads", "settlement"], &org[..]].concat(),
    );
    assert!(settlement.status.success(), "{}", stderr(&settlement));
    let csv = stdout(&settlement);
    assert!(
        csv.starts_with("date,advertiser_id,business_name,opening_balance"),
        "{csv}"
    );
    assert!(csv.contains("캠핑월드"), "{csv}");
    // Yesterday had clicks: charges are positive and opening - charges ... = closing.
    let row = csv.lines().find(|l| l.contains("캠핑월드")).unwrap();
    let cells: Vec<i64> = row.split(',').skip(3).map(|c| c.parse().unwrap()).collect();
    assert!(cells[2] > 0, "charges yesterday: {row}");
    assert_eq!(
        cells[0] + cells[1] - cells[2] + cells[4] + cells[5],
        cells[6],
        "{row}"
    );

    // The demo's ad server wrote two weeks of event logs, one folder per KST day.
    let logs = dir.path().join("adpool-data/demo-event-logs/org-1");
    let days = std::fs::read_dir(&logs).unwrap().count();
    assert!(days >= 14, "{days} day folders");

    // A balance changed behind the ledger's back is caught, with a non-zero exit.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let url = format!(
            "sqlite://{}",
            dir.path().join("adpool-data/demo.db").display()
        );
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query("UPDATE cpc_advertisers SET balance = balance + 1 WHERE id = 1")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let broken = adpool(
        dir.path(),
        &[&demo[..], &["ads", "ledger", "verify"]].concat(),
    );
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        stderr(&broken).contains("advertiser 1: balance"),
        "{}",
        stderr(&broken)
    );
    assert!(
        stderr(&broken).contains("1 of 4 advertiser ledger(s) do not add up")
            || stderr(&broken).contains("do not add up"),
        "{}",
        stderr(&broken)
    );
}

/// One HTTP/1.1 GET over a fresh connection: (status line, whole reply).
fn http_get(
    address: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<(String, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    let status = reply.lines().next().unwrap_or_default().to_owned();
    Ok((status, reply))
}

/// Starts the binary; returns it, the address from its banner, and what it printed up to and
/// including the first line containing `until`.
fn start(
    dir: &std::path::Path,
    args: &[&str],
    until: &str,
) -> (std::process::Child, String, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_adpool"))
        .args(args)
        .current_dir(dir)
        .env_remove("ADPOOL_DATABASE_URL")
        .env("RUST_LOG", "warn")
        // These tests send hundreds of requests from one address; the limit has its own test.
        .env("ADPOOL_SERVE_RATE_LIMIT_PER_SECOND", "0")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    let mut address = None;
    loop {
        let line = lines.next().expect("the banner").unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if address.is_none() {
            address = line.split("http://").nth(1).map(|rest| {
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_owned()
            });
        }
        if line.contains(until) {
            break;
        }
    }
    // Keep draining what it prints: a closed pipe would make its next print fail.
    std::thread::spawn(move || for _ in lines {});
    (child, address.unwrap(), printed)
}

#[test]
fn a_server_killed_mid_click_traffic_loses_no_charge_and_double_charges_none() {
    let dir = tempfile::tempdir().unwrap();
    let (mut demo, address, banner) = start(
        dir.path(),
        &["demo", "--bind", "127.0.0.1:0"],
        "X-Adpool-Key",
    );
    let key = banner
        .split("X-Adpool-Key: ")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_owned();
    // 300 shoppers, one ad each: 300 click tokens for 300 distinct impressions.
    let mut tokens = Vec::new();
    for user in 0..300 {
        let path = format!("/serve/ads?placement=home_top&n=1&user=kill-test-{user}");
        let (status, reply) = http_get(&address, &path, &[("X-Adpool-Key", &key)]).unwrap();
        assert!(status.contains("200"), "{reply}");
        let token = reply
            .split("t=")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        tokens.push(token);
    }
    // Click them all from 8 threads and kill -9 the server once 60 have been answered.
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let clicks: Vec<_> = tokens
        .chunks(tokens.len() / 8)
        .map(|chunk| {
            let (address, chunk, answered) = (address.clone(), chunk.to_vec(), answered.clone());
            std::thread::spawn(move || {
                for token in chunk {
                    // Each shopper clicks from its own browser.
                    let browser = format!("shopper-browser {token}");
                    let path = format!("/serve/click?t={token}");
                    if http_get(&address, &path, &[("user-agent", &browser)]).is_ok() {
                        answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    while answered.load(std::sync::atomic::Ordering::SeqCst) < 60 {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    demo.kill().unwrap();
    demo.wait().unwrap();
    let at_kill = answered.load(std::sync::atomic::Ordering::SeqCst);
    for thread in clicks {
        thread.join().unwrap();
    }
    assert!(
        at_kill < 300,
        "the server died mid-traffic ({at_kill} of 300 clicks answered)"
    );
    // Restart on the same database (serve, not demo: the demo would rebuild it) and replay
    // every click, as shoppers' browsers retrying would.
    let (mut server, address, _) = start(
        dir.path(),
        &[
            "--database-url",
            "sqlite://./adpool-data/demo.db",
            "serve",
            "--bind",
            "127.0.0.1:0",
        ],
        "http://",
    );
    for token in &tokens {
        let browser = format!("shopper-browser {token}");
        let path = format!("/serve/click?t={token}");
        let (status, reply) = http_get(&address, &path, &[("user-agent", &browser)]).unwrap();
        assert!(status.contains("302"), "{reply}");
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let verify = adpool(
        dir.path(),
        &[
            "--database-url",
            "sqlite://./adpool-data/demo.db",
            "ads",
            "ledger",
            "verify",
        ],
    );
    assert!(verify.status.success(), "{}", stderr(&verify));
    // Each impression: charged exactly once, or refused for money (balance or budget).
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (charged, refused, entries, charged_sum, entry_sum) = runtime.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("adpool-data/demo.db").display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let one = |sql: &'static str| {
            let pool = pool.clone();
            async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
        };
        (
            one("SELECT COUNT(*) FROM cpc_clicks WHERE user_key LIKE 'kill-test-%'").await,
            one("SELECT COUNT(DISTINCT impression_id) FROM cpc_invalid_clicks WHERE user_key LIKE 'kill-test-%' AND reason IN ('balance_exhausted', 'budget_exhausted') AND impression_id NOT IN (SELECT impression_id FROM cpc_clicks)").await,
            one("SELECT COUNT(*) FROM cpc_ledger l JOIN cpc_clicks c ON c.id = l.click_id WHERE l.kind = 'charge' AND c.user_key LIKE 'kill-test-%'").await,
            one("SELECT COALESCE(SUM(price), 0) FROM cpc_clicks WHERE user_key LIKE 'kill-test-%'").await,
            one("SELECT COALESCE(-SUM(l.amount), 0) FROM cpc_ledger l JOIN cpc_clicks c ON c.id = l.click_id WHERE l.kind = 'charge' AND c.user_key LIKE 'kill-test-%'").await,
        )
    });
    assert_eq!(
        charged + refused,
        300,
        "every impression charged once or refused for money"
    );
    assert_eq!(entries, charged, "one charge entry per click");
    assert_eq!(charged_sum, entry_sum);
    assert!(charged > 0);
}

#[test]
fn log_analysis_killed_at_random_points_and_rerun_counts_every_file_exactly_once() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let created = adpool(
        dir.path(),
        &[
            "user",
            "create",
            "--email",
            "analyst@agency.kr",
            "--org",
            "Agency",
            "--role",
            "admin",
            "--password",
            "long enough password",
        ],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    // 40 gzip files of 3,000 events, all on KST day 2026-11-20, demand 1..4, known revenue.
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut reference: std::collections::BTreeMap<i64, (i64, i64, i64)> = Default::default();
    let mut requests = 0i64;
    for file in 0..40 {
        let mut text = String::new();
        for i in 0..3_000i64 {
            let n = file * 3_000 + i;
            let demand = n % 4 + 1;
            let (ev, rev) = match n % 5 {
                0 => ("req", 0),
                1 | 2 => ("imp", n % 997),
                3 => ("clk", 1000 + n % 13),
                _ => ("psb", 0),
            };
            // 2026-11-20 00:00 KST = 1795100400 (UTC 2026-11-19 15:00).
            text.push_str(&format!(
                r#"{{"ts":{},"ev":"{ev}","mid":"m1","ads":[{{"aid":1,"_god":{},"did":{demand}}}],"rev":{}.{:03}}}"#,
                1_795_100_400 + n % 80_000,
                n % 7,
                rev / 1000,
                rev % 1000
            ));
            text.push('\n');
            match ev {
                "imp" | "clk" => {
                    let r = reference.entry(demand).or_default();
                    r.0 += i64::from(ev == "imp");
                    r.1 += i64::from(ev == "clk");
                    r.2 += rev;
                }
                "req" => requests += 1,
                _ => {}
            }
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        std::fs::write(
            logs.join(format!("part-{file:03}.jsonl.gz")),
            gz.finish().unwrap(),
        )
        .unwrap();
    }
    let source = logs.to_str().unwrap().to_owned();
    // Kill the analyzer five times mid-run: each time once a pseudo-random number of files is
    // done (so the kill lands during a later batch's reading or commit), then let it finish.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("adpool-data/adpool.db").display()
    );
    let done_files = || {
        runtime.block_on(async {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM log_files WHERE state = 'done'")
                .fetch_one(&pool)
                .await
                .unwrap_or(0);
            pool.close().await;
            n
        })
    };
    let mut x = 0x2545_f491_u64;
    let mut kills_mid_run = 0;
    for round in 0..5i64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let target = round * 7 + 1 + (x % 5) as i64;
        let mut child = Command::new(env!("CARGO_BIN_EXE_adpool"))
            .args([
                "logs",
                "analyze",
                "--source",
                &source,
                "--batch-size",
                "2",
                "--workers",
                "1",
            ])
            .current_dir(dir.path())
            .env_remove("ADPOOL_DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if done_files() >= target {
                std::thread::sleep(std::time::Duration::from_millis(x % 15));
                if child.try_wait().unwrap().is_none() {
                    kills_mid_run += 1;
                }
                let _ = child.kill();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let _ = child.wait();
        // The killed analyzer's lease stays until it expires; clear it as an operator would.
        runtime.block_on(async {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let _ = sqlx::query("DELETE FROM log_locks").execute(&pool).await;
            pool.close().await;
        });
    }
    assert!(
        kills_mid_run >= 3,
        "only {kills_mid_run} kills struck mid-run"
    );
    let done_before = done_files();
    eprintln!("files done when the last kill struck: {done_before} of 40");
    let last = adpool(dir.path(), &["logs", "analyze", "--source", &source]);
    assert!(last.status.success(), "{}", stderr(&last));
    let demand = adpool(dir.path(), &["report", "export", "demand"]);
    assert!(demand.status.success(), "{}", stderr(&demand));
    let mut expected = String::from("date,demand_id,impressions,clicks,revenue,ctr,cpc,ecpm\n");
    for (demand, (imps, clicks, revenue)) in &reference {
        let ratio = |a: i64, b: i64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        expected.push_str(&format!(
            "2026-11-20,{demand},{imps},{clicks},{}.{:03},{:.6},{:.6},{:.6}\n",
            revenue / 1000,
            revenue % 1000,
            ratio(*clicks, *imps),
            ratio(*revenue, *clicks) / 1000.0,
            ratio(*revenue, *imps)
        ));
    }
    assert_eq!(
        stdout(&demand),
        expected,
        "after kills and a rerun, every file counted once"
    );
    let requests_csv = stdout(&adpool(
        dir.path(),
        &["report", "export", "ad-request", "--format", "json"],
    ));
    let rows: serde_json::Value = serde_json::from_str(&requests_csv).unwrap();
    let xreq: i64 = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["xreq"].as_i64().unwrap())
        .sum();
    assert_eq!(xreq, requests);
    let failed = adpool(dir.path(), &["logs", "failed"]);
    assert!(
        stdout(&failed).contains("no failed or quarantined files"),
        "{}",
        stdout(&failed)
    );
}

#[test]
fn the_demo_has_a_year_of_shop_sales_and_a_bad_ably_export_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(adpool(dir.path(), &["demo", "--no-serve"]).status.success());
    let demo = ["--database-url", "sqlite://./adpool-data/demo.db"];
    let org = ["--org", "데모 미디어 (Demo Media)"];
    let stores = adpool(
        dir.path(),
        &[&demo[..], &["shop", "stores"], &org[..]].concat(),
    );
    assert!(stores.status.success(), "{}", stderr(&stores));
    let listing = stdout(&stores);
    assert_eq!(listing.lines().count(), 3, "{listing}");
    let ably_id = listing
        .lines()
        .find(|l| l.contains("\tAbly\t"))
        .and_then(|l| l.split('\t').next())
        .unwrap()
        .to_owned();
    let key = std::fs::metadata(dir.path().join("adpool-data/commerce.key")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }

    let sales = adpool(
        dir.path(),
        &[&demo[..], &["shop", "sales", "--period", "month"], &org[..]].concat(),
    );
    assert!(sales.status.success(), "{}", stderr(&sales));
    let csv = stdout(&sales);
    let months: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(months.len(), 12, "{csv}");
    for month in &months {
        let cells: Vec<&str> = month.split(',').collect();
        let revenue: i64 = cells[3].parse().unwrap();
        let by_platform: i64 = cells[5..8].iter().map(|c| c.parse::<i64>().unwrap()).sum();
        assert!(revenue > 0, "every month sold: {month}");
        assert_eq!(revenue, by_platform, "platforms add up: {month}");
    }

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "주문번호,주문일시,상품코드,상품명,수량,결제금액,주문상태\nX-1,2026-11-20 10:00,P-1,텐트,1,abc,구매확정\n",
    )
    .unwrap();
    let before = stdout(&adpool(
        dir.path(),
        &[&demo[..], &["shop", "sales", "--period", "year"], &org[..]].concat(),
    ));
    let import = adpool(
        dir.path(),
        &[
            &demo[..],
            &[
                "shop",
                "import-ably",
                "--store",
                &ably_id,
                bad.to_str().unwrap(),
            ],
            &org[..],
        ]
        .concat(),
    );
    assert!(!import.status.success());
    assert!(
        stderr(&import).contains("row 2, column 결제금액, value 'abc'"),
        "{}",
        stderr(&import)
    );
    let after = stdout(&adpool(
        dir.path(),
        &[&demo[..], &["shop", "sales", "--period", "year"], &org[..]].concat(),
    ));
    assert_eq!(before, after, "nothing was imported");
}

/// Facts a restore must bring back exactly: the ledger, the balances and the four reports.
fn database_facts(runtime: &tokio::runtime::Runtime, file: &std::path::Path) -> Vec<(String, i64)> {
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        let mut facts = Vec::new();
        for (name, sql) in [
            ("ledger entries", "SELECT COUNT(*) FROM cpc_ledger"),
            (
                "ledger sum",
                "SELECT COALESCE(SUM(amount), 0) FROM cpc_ledger",
            ),
            (
                "balances",
                "SELECT COALESCE(SUM(balance), 0) FROM cpc_advertisers",
            ),
            ("clicks", "SELECT COUNT(*) FROM cpc_clicks"),
            (
                "ad performance rows",
                "SELECT COUNT(*) FROM report_ad_performance",
            ),
            ("ad request rows", "SELECT COUNT(*) FROM report_ad_request"),
            ("demand rows", "SELECT COUNT(*) FROM report_demand"),
            ("media rows", "SELECT COUNT(*) FROM report_media"),
        ] {
            let value: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            facts.push((name.to_owned(), value));
        }
        pool.close().await;
        facts
    })
}

#[test]
fn a_backup_taken_while_the_database_is_written_restores_ledger_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    assert!(adpool(dir.path(), &["demo", "--no-serve"]).status.success());
    let demo = ["--database-url", "sqlite://./adpool-data/demo.db"];
    let file = dir.path().join("adpool-data/demo.db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let before = database_facts(&runtime, &file);
    assert!(
        before.iter().all(|(_, v)| *v != 0),
        "the demo fills every table: {before:?}"
    );

    // Online: another connection keeps writing while the backup runs.
    let url = format!("sqlite://{}", file.display());
    let writer = runtime.spawn(async move {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        for i in 0..200_i64 {
            sqlx::query("INSERT INTO login_failures (email, client_ip, failed_at) VALUES ($1, '127.0.0.1', $2)")
                .bind(format!("writer-{i}@example.kr"))
                .bind(i)
                .execute(&pool)
                .await
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        pool.close().await;
    });
    let backup = adpool(
        dir.path(),
        &[&demo[..], &["backup", "--to", "backups/demo.db"]].concat(),
    );
    assert!(backup.status.success(), "{}", stderr(&backup));
    assert!(
        stdout(&backup).contains("schema version 12"),
        "{}",
        stdout(&backup)
    );
    runtime.block_on(writer).unwrap();

    // The same name again is refused: a backup never overwrites one.
    let again = adpool(
        dir.path(),
        &[&demo[..], &["backup", "--to", "backups/demo.db"]].concat(),
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("the file exists"),
        "{}",
        stderr(&again)
    );

    // Damage after the backup: money and reports gone.
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        sqlx::query("UPDATE cpc_advertisers SET balance = 0")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM report_media")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    assert_ne!(database_facts(&runtime, &file), before);

    // A file that is not a backup is refused by name, and the database is left as it is.
    std::fs::write(dir.path().join("notes.txt"), "not a database").unwrap();
    let refused = adpool(
        dir.path(),
        &[&demo[..], &["restore", "--from", "notes.txt"]].concat(),
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("notes.txt"),
        "{}",
        stderr(&refused)
    );
    assert!(file.exists());

    let restore = adpool(
        dir.path(),
        &[&demo[..], &["restore", "--from", "backups/demo.db"]].concat(),
    );
    assert!(restore.status.success(), "{}", stderr(&restore));
    assert!(stdout(&restore).contains("kept as"), "{}", stdout(&restore));
    assert_eq!(database_facts(&runtime, &file), before);
    let verify = adpool(
        dir.path(),
        &[&demo[..], &["ads", "ledger", "verify"]].concat(),
    );
    assert!(verify.status.success(), "{}", stderr(&verify));
    assert!(stdout(&verify).contains("every balance equals the sum of its entries"));
    // The damaged database is kept beside it, not lost.
    let kept = std::fs::read_dir(dir.path().join("adpool-data"))
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("demo.db.before-restore-")
        });
    assert!(kept);
}

#[test]
fn backup_on_postgresql_points_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = std::env::var("ADPOOL_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
    else {
        return; // SQLite run: the PostgreSQL run of the suite checks this.
    };
    let output = adpool(
        dir.path(),
        &["--database-url", &url, "backup", "--to", "x.db"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("pg_dump"), "{}", stderr(&output));
    assert!(!dir.path().join("x.db").exists());
}

#[test]
fn secrets_never_reach_the_logs_even_at_debug_level() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let password = "pw-6f1d0c-never-logged";
    let wrong_password = "pw-9a77e2-wrong-never-logged";
    let commerce_key = "c0ffee".repeat(10) + "c0ff";
    let llm_key = "sk-llm-4b2e9d-never-logged";
    let s3_secret = "s3-secret-71ac0e-never-logged";
    let created = Command::new(env!("CARGO_BIN_EXE_adpool"))
        .args([
            "user",
            "create",
            "--email",
            "ops@secret.kr",
            "--org",
            "Secret",
        ])
        .current_dir(dir.path())
        .env_remove("ADPOOL_DATABASE_URL")
        .env("ADPOOL_NEW_PASSWORD", password)
        .env("ADPOOL_LOG", "debug")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    let mut logs = stdout(&created) + &stderr(&created);

    let log_file = dir.path().join("serve.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_adpool"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("ADPOOL_DATABASE_URL")
        .env("ADPOOL_LOG", "debug")
        .env("ADPOOL_COMMERCE_KEY", &commerce_key)
        .env("ADPOOL_LLM_BASE_URL", "http://127.0.0.1:1/v1")
        .env("ADPOOL_LLM_API_KEY", llm_key)
        .env("ADPOOL_S3_SECRET_ACCESS_KEY", s3_secret)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log_file).unwrap())
        .spawn()
        .unwrap();
    // Logs and the banner share stdout: read all of it on a thread (a full pipe would stop
    // the server), handing over the address when the banner passes.
    let stdout_pipe = child.stdout.take().unwrap();
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout_pipe).lines().map_while(Result::ok) {
            if let Some((_, address)) = line.split_once("adpool listening on http://") {
                let _ = address_tx.send(address.trim().to_owned());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let address = address_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the server printed its address");
    let base = format!("http://{address}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    adpool_jobs::install_tls_provider();
    let session = runtime.block_on(async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut session = String::new();
        for attempt in [wrong_password, password] {
            let form = http.get(format!("{base}/login")).send().await.unwrap();
            let csrf = form
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|v| v.strip_prefix("adpool_login_csrf="))
                .map(|v| v.split(';').next().unwrap().to_owned())
                .unwrap();
            let reply = http
                .post(format!("{base}/login"))
                .header("cookie", format!("adpool_login_csrf={csrf}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "csrf_token={csrf}&email=ops%40secret.kr&password={attempt}&next=%2F"
                ))
                .send()
                .await
                .unwrap();
            if let Some(cookie) = reply
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|v| v.strip_prefix("adpool_session="))
            {
                session = cookie.split(';').next().unwrap().to_owned();
            }
        }
        assert!(!session.is_empty(), "signed in");
        let me = http
            .get(format!("{base}/api/v1/me"))
            .header("cookie", format!("adpool_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);
        session
    });
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    logs += &reader.join().unwrap();
    logs += &std::fs::read_to_string(&log_file).unwrap();
    assert!(
        logs.contains("adpool listening"),
        "the logs were captured: {logs}"
    );
    assert!(
        logs.contains("signed in"),
        "debug logs of the sign-in were captured"
    );
    for secret in [
        password,
        wrong_password,
        commerce_key.as_str(),
        llm_key,
        s3_secret,
        session.as_str(),
    ] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}

/// Info (docs/hardening.md): click URLs and OAuth redirects come from `public_url`, never from
/// a request's Host header; serving beyond loopback without it is refused at start.
#[test]
fn serving_beyond_loopback_needs_a_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let output = adpool(dir.path(), &["serve", "--bind", "0.0.0.0:0"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("public_url"),
        "{}",
        stderr(&output)
    );
}
