//! Spending-insight contract: statements in every encoding and the known layouts imported with
//! duplicates found by content and occurrence, bad files changing nothing, saved mappings,
//! rules that recategorize, analyses as jobs with RFM segments and a notification, and
//! messages through a fake chat-completions server (errors, slow answers and timeouts fall
//! back to the built-in writer). Runs on SQLite, and on PostgreSQL when
//! ADPOOL_TEST_DATABASE_URL is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly

use std::sync::Arc;
use std::time::Duration;

use adpool_core::{ManualClock, OrgId, SharedClock, UserId};
use adpool_insight::llm::LlmSettings;
use adpool_insight::llm::fake::{Behaviour, FakeLlm};
use adpool_insight::messages::{Channel, MessageRequest, Tone, euc_kr_bytes};
use adpool_insight::statement::ColumnMapping;
use adpool_insight::{AnalyzeHandler, Insight, InsightError};
use adpool_jobs::{Jobs, Notifications, Registry, Worker, WorkerConfig};
use adpool_store::Db;
use adpool_store::testing::fresh_database;

async fn organization(db: &Db, name: &str) -> (OrgId, UserId) {
    let org: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, created_at) VALUES ($1, 0) RETURNING id",
    )
    .bind(name)
    .fetch_one(db.pool())
    .await
    .unwrap();
    let user: i64 = sqlx::query_scalar(
        "INSERT INTO users (org_id, email, display_name, role, password_hash, created_at) VALUES ($1, $2, 'A', 'analyst', 'x', 0) RETURNING id",
    )
    .bind(org)
    .bind(format!("{name}@example.com"))
    .fetch_one(db.pool())
    .await
    .unwrap();
    (OrgId(org), UserId(user))
}

struct Setup {
    db: Db,
    clock: SharedClock,
    insight: Insight,
    org: OrgId,
    user: UserId,
}

async fn setup() -> Setup {
    let db = fresh_database().await;
    let (org, user) = organization(&db, "spend").await;
    let clock: SharedClock = Arc::new(ManualClock::at("2026-12-01T09:00:00+09:00"));
    Setup {
        insight: Insight::new(db.clone(), clock.clone()),
        db,
        clock,
        org,
        user,
    }
}

const LOTTE: &str = "롯데카드 이용대금 명세서\n회원명: 홍길동\n\
이용일자,이용가맹점,업종,이용금액,할부개월,취소여부\n\
2026.10.02,스타벅스 강남R점,커피전문점,\"5,600원\",일시불,N\n\
2026.10.02,스타벅스 강남R점,커피전문점,\"5,600원\",일시불,N\n\
2026.10.03,쿠팡,통신판매,\"129,000\",3개월,N\n\
2026.10.05,GS25 역삼점,편의점,\"3,200\",,Y\n\
2026.11.04,배달의민족,음식배달,\"23,500\",,N\n\
2026.11.09,행복한 밥집,일반한식,\"9,000\",,N\n\
2026.11.11,봄날상회 본점,기타,\"30,000\",,N\n\
합계,,,\"205,900\",,\n";

async fn count_rows(db: &Db, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_statement_imports_once_and_a_real_repeat_purchase_survives_a_reupload() {
    let s = setup().await;
    let preview = s
        .insight
        .preview(s.org, "lotte.csv", LOTTE.as_bytes(), None)
        .await
        .unwrap();
    assert_eq!(preview.layout, "롯데카드");
    assert_eq!(
        (
            preview.lines,
            preview.new_lines,
            preview.duplicates,
            preview.totals_skipped
        ),
        (7, 7, 0, 1)
    );
    assert_eq!(preview.sample[0].category, "cafe");
    assert_eq!(preview.sample[5].category, "dining", "industry 일반한식");
    assert_eq!(preview.uncategorized, 1, "봄날상회");
    assert_eq!(
        count_rows(&s.db, "SELECT COUNT(*) FROM insight_transactions").await,
        0,
        "a preview writes nothing"
    );

    let first = s
        .insight
        .import(s.org, "lotte.csv", LOTTE.as_bytes(), None, Some(s.user))
        .await
        .unwrap();
    assert_eq!((first.new_lines, first.duplicates), (7, 0));
    // The same file again: everything is a duplicate, including the second coffee.
    let again = s
        .insight
        .import(s.org, "lotte.csv", LOTTE.as_bytes(), None, Some(s.user))
        .await
        .unwrap();
    assert_eq!((again.new_lines, again.duplicates), (0, 7));
    // A later statement with a third identical coffee that day: only that one is new.
    let later = LOTTE.replace(
        "2026.10.03,쿠팡",
        "2026.10.02,스타벅스 강남R점,커피전문점,\"5,600원\",일시불,N\n2026.10.03,쿠팡",
    );
    let third = s
        .insight
        .import(s.org, "lotte-2.csv", later.as_bytes(), None, Some(s.user))
        .await
        .unwrap();
    assert_eq!((third.new_lines, third.duplicates), (1, 7));
    assert_eq!(
        count_rows(&s.db, "SELECT COUNT(*) FROM insight_transactions").await,
        8
    );
    let uploads = s.insight.uploads(s.org).await.unwrap();
    assert_eq!(uploads.len(), 3);
    assert_eq!((uploads[0].inserted, uploads[0].duplicates), (1, 7));

    // Another organization sees none of it and imports its own copy.
    let (other, _) = organization(&s.db, "other").await;
    assert!(
        s.insight
            .transactions(other, None, None, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let theirs = s
        .insight
        .import(other, "lotte.csv", LOTTE.as_bytes(), None, None)
        .await
        .unwrap();
    assert_eq!(theirs.new_lines, 7);
}

#[tokio::test]
async fn every_encoding_and_xlsx_give_the_same_transactions() {
    let s = setup().await;
    let utf8 = s
        .insight
        .preview(s.org, "a.csv", LOTTE.as_bytes(), None)
        .await
        .unwrap();
    let (cp949, _, _) = encoding_rs::EUC_KR.encode(LOTTE);
    let mut utf16: Vec<u8> = vec![0xFF, 0xFE];
    // Excel's "Unicode text": UTF-16 with tabs between cells.
    let tsv: String = adpool_tables::read_grid("a.csv", LOTTE.as_bytes())
        .unwrap()
        .rows
        .iter()
        .map(|(_, cells)| cells.join("\t") + "\r\n")
        .collect();
    for unit in tsv.encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(LOTTE.as_bytes());
    let workbook = {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let rows = adpool_tables::read_grid("a.csv", LOTTE.as_bytes())
            .unwrap()
            .rows;
        for (r, (_, cells)) in rows.iter().enumerate() {
            for (c, cell) in cells.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, cell).unwrap();
            }
        }
        // A real date cell too: Excel keeps days as serial numbers.
        sheet.write_number(3, 0, 46297.0).unwrap();
        book.save_to_buffer().unwrap()
    };
    for (name, bytes, encoding) in [
        ("cp949.csv", cp949.into_owned(), "CP949"),
        ("bom.csv", bom, "UTF-8 (BOM)"),
        ("utf16.txt", utf16, "UTF-16LE"),
        ("statement.xlsx", workbook, "XLSX"),
    ] {
        let preview = s.insight.preview(s.org, name, &bytes, None).await.unwrap();
        assert_eq!(preview.encoding, encoding);
        assert_eq!(preview.sample, utf8.sample, "{name}");
        assert_eq!(preview.totals_skipped, 1, "{name}");
    }
}

#[tokio::test]
async fn bad_files_are_refused_whole_with_every_line_named_and_change_nothing() {
    let s = setup().await;
    let bad = LOTTE
        .replace("\"129,000\"", "십이만원")
        .replace("2026.11.04", "2026.11.31")
        .replace("3개월", "석달");
    let error = s
        .insight
        .import(s.org, "bad.csv", bad.as_bytes(), None, Some(s.user))
        .await
        .unwrap_err();
    let InsightError::Rows { file, errors } = &error else {
        panic!("{error}")
    };
    assert_eq!(file, "bad.csv");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("row 6, column 이용금액, value '십이만원'"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("row 8, column 이용일자, value '2026.11.31'"),
        "{errors:?}"
    );
    let bad_installment = LOTTE.replace("3개월", "석달");
    let error = s
        .insight
        .import(s.org, "bad.csv", bad_installment.as_bytes(), None, None)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("row 6, column 할부개월, value '석달'"),
        "{error}"
    );
    // Not text at all, a broken workbook, an empty statement.
    let error = s
        .insight
        .import(s.org, "x.csv", &[0x80, 0xFF, 0x81, 0xFE, 0x41], None, None)
        .await
        .unwrap_err();
    assert!(
        error.to_string().starts_with("x.csv: the file is neither"),
        "{error}"
    );
    let error = s
        .insight
        .import(s.org, "x.xlsx", b"PK\x03\x04broken", None, None)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("x.xlsx"), "{error}");
    let error = s
        .insight
        .import(
            s.org,
            "empty.csv",
            "이용일,이용가맹점,이용금액\n합계,,0\n".as_bytes(),
            None,
            None,
        )
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no transactions below the header (row 1)"),
        "{error}"
    );
    assert_eq!(
        count_rows(&s.db, "SELECT COUNT(*) FROM insight_transactions").await,
        0
    );
    assert_eq!(
        count_rows(&s.db, "SELECT COUNT(*) FROM insight_uploads").await,
        0
    );
}

#[tokio::test]
async fn an_unknown_layout_asks_for_a_mapping_which_is_saved_and_reused() {
    let s = setup().await;
    let pos = "매장 POS 매출 내역\n거래일,회원코드,상호,결제액\n20261002,M-1,동네빵집,4500\n20261003,M-2,스타벅스,6100\n";
    let error = s
        .insight
        .preview(s.org, "pos.csv", pos.as_bytes(), None)
        .await
        .unwrap_err();
    let InsightError::UnknownLayout {
        row, candidates, ..
    } = &error
    else {
        panic!("{error}")
    };
    assert_eq!((*row, candidates.len()), (2, 4));
    let mapping = ColumnMapping {
        date: "거래일".into(),
        merchant: "상호".into(),
        amount: "결제액".into(),
        customer: Some("회원코드".into()),
        ..Default::default()
    };
    s.insight
        .save_mapping(s.org, "매장 POS", &mapping, Some(s.user))
        .await
        .unwrap();
    // Named, or found by itself next time.
    let named = s
        .insight
        .import(s.org, "pos.csv", pos.as_bytes(), Some("매장 POS"), None)
        .await
        .unwrap();
    assert_eq!(
        (named.layout.as_str(), named.new_lines),
        ("mapping: 매장 POS", 2)
    );
    let found = s
        .insight
        .preview(s.org, "pos2.csv", pos.as_bytes(), None)
        .await
        .unwrap();
    assert_eq!(
        (found.layout.as_str(), found.duplicates),
        ("mapping: 매장 POS", 2)
    );
    let error = s
        .insight
        .preview(s.org, "lotte.csv", LOTTE.as_bytes(), Some("매장 POS"))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("needs columns the file does not have: 거래일, 상호, 결제액"),
        "{error}"
    );
    let error = s
        .insight
        .preview(s.org, "pos.csv", pos.as_bytes(), Some("없는 매핑"))
        .await
        .unwrap_err();
    assert!(matches!(error, InsightError::NotFound("mapping", _)));
}

#[tokio::test]
async fn an_override_becomes_a_rule_that_recategorizes_every_line() {
    let s = setup().await;
    s.insight
        .import(s.org, "lotte.csv", LOTTE.as_bytes(), None, None)
        .await
        .unwrap();
    let uncategorized = s.insight.uncategorized_merchants(s.org, 10).await.unwrap();
    assert_eq!(uncategorized, [("봄날상회 본점".to_owned(), 30_000, 1)]);
    let changed = s
        .insight
        .set_rule(s.org, "봄날상회 본점", "living", Some(s.user))
        .await
        .unwrap();
    assert_eq!(changed, 1);
    let changed = s
        .insight
        .set_rule(s.org, "스타벅스", "dining", None)
        .await
        .unwrap();
    assert_eq!(changed, 2);
    assert!(
        s.insight
            .uncategorized_merchants(s.org, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let dining = s
        .insight
        .transactions(s.org, None, None, Some("dining"), 100)
        .await
        .unwrap();
    assert_eq!(dining.len(), 3);
    assert!(dining.iter().any(|t| t.category_source == "rule"));
    let rule = s
        .insight
        .rules(s.org)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.keyword == "스타벅스")
        .unwrap();
    assert_eq!(s.insight.delete_rule(s.org, rule.id).await.unwrap(), 2);
    let error = s
        .insight
        .set_rule(s.org, "x", "groceries!", None)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("'groceries!' is not a category"));
}

async fn analysed(s: &Setup) -> i64 {
    let pos = "거래일,회원코드,상호,결제액\n".to_owned()
        + &(0..60)
            .map(|i| {
                format!(
                    "2026{:02}{:02},M-{},{},{}\n",
                    9 + i % 3,
                    1 + i % 28,
                    i % 12,
                    ["스타벅스", "쿠팡", "배달의민족", "올리브영"][i % 4],
                    5000 + 700 * (i % 12)
                )
            })
            .collect::<String>();
    let mapping = ColumnMapping {
        date: "거래일".into(),
        merchant: "상호".into(),
        amount: "결제액".into(),
        customer: Some("회원코드".into()),
        ..Default::default()
    };
    s.insight
        .save_mapping(s.org, "pos", &mapping, None)
        .await
        .unwrap();
    s.insight
        .import(s.org, "pos.csv", pos.as_bytes(), None, None)
        .await
        .unwrap();
    let (id, _) = s
        .insight
        .request_analysis(s.org, None, None, Some(s.user))
        .await
        .unwrap();
    let jobs = Jobs::new(s.db.clone(), s.clock.clone());
    let mut registry = Registry::new();
    registry.register(
        adpool_insight::ANALYZE_JOB,
        1,
        AnalyzeHandler::new(s.insight.clone(), Notifications::new(jobs.clone())),
    );
    Worker::new(jobs, registry, WorkerConfig::default())
        .drain()
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn an_analysis_runs_as_a_job_with_segments_and_notifies_its_requester() {
    let s = setup().await;
    let id = analysed(&s).await;
    let analysis = s.insight.analysis(s.org, id).await.unwrap();
    assert_eq!(analysis.state, "done");
    let report = analysis.report.unwrap();
    assert_eq!(
        (report.from.as_str(), report.to.as_str()),
        ("2026-09-01", "2026-11-27")
    );
    assert_eq!(report.purchases, 60);
    assert_eq!(report.customers, 12);
    assert_eq!(report.segments.iter().map(|g| g.customers).sum::<i64>(), 12);
    assert_eq!(report.by_month.len(), 3);
    assert_eq!(
        report.by_category.iter().map(|c| c.spend).sum::<i64>(),
        report.spend
    );
    let notices = Notifications::new(Jobs::new(s.db.clone(), s.clock.clone()))
        .list(s.org, s.user, false, 10)
        .await
        .unwrap();
    assert!(
        notices
            .iter()
            .any(|n| n.link.as_deref() == Some(&format!("/insights/analyses/{id}")))
    );
    // Another organization cannot see it; days the wrong way round are refused.
    let (other, _) = organization(&s.db, "other").await;
    assert!(matches!(
        s.insight.analysis(other, id).await,
        Err(InsightError::NotFound(..))
    ));
    let error = s
        .insight
        .request_analysis(s.org, Some("2026-11-01"), Some("2026-10-01"), None)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("is before"));
    let (empty, _) = organization(&s.db, "empty").await;
    let error = s
        .insight
        .request_analysis(empty, None, None, None)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("import a statement first"));
}

fn request(channel: Channel, count: usize) -> MessageRequest {
    MessageRequest {
        segment: None,
        channel,
        tone: Tone::Friendly,
        lang: "ko".into(),
        count,
    }
}

#[tokio::test]
async fn messages_come_from_the_ai_when_it_answers_and_from_the_built_in_writer_when_it_does_not() {
    let s = setup().await;
    let id = analysed(&s).await;
    let long = "가".repeat(80);
    let fake = FakeLlm::start(
        Behaviour::Reply(format!(
            "{{\"messages\": [\"(광고) 스타벅스 쿠폰 드려요 🎉\", \"{long}\", \"세 번째\"]}}"
        )),
        Some("sk-test"),
    )
    .await
    .unwrap();
    let settings = LlmSettings {
        api_key: Some("sk-test".into()),
        timeout: Duration::from_millis(800),
        ..LlmSettings::new(fake.base_url())
    };
    let ai = Insight::new(s.db.clone(), s.clock.clone()).with_llm(settings.clone());
    let written = ai
        .write_messages(s.org, id, &request(Channel::Sms, 3), Some(s.user))
        .await
        .unwrap();
    assert_eq!(written.len(), 3);
    assert!(
        written
            .iter()
            .all(|m| m.source == "llm" && m.size <= 90 && euc_kr_bytes(&m.body) <= 90)
    );
    assert!(
        written
            .iter()
            .any(|m| m.body == "(광고) 스타벅스 쿠폰 드려요"),
        "emoji dropped for SMS"
    );
    assert!(
        written
            .iter()
            .any(|m| m.note.as_deref() == Some("cut to fit the channel"))
    );
    let sent = &fake.requests()[0];
    assert!(
        sent["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("at most 90 bytes in EUC-KR")
    );

    for (behaviour, expected) in [
        (
            Behaviour::Fail(500, "model overloaded".into()),
            "answered 500 Internal Server Error: model overloaded",
        ),
        (
            Behaviour::Slow(
                Duration::from_secs(3),
                "{\"messages\": [\"늦은 답\"]}".into(),
            ),
            "did not answer within",
        ),
        (Behaviour::Garbage, "not a chat completion"),
    ] {
        fake.set(behaviour);
        let written = ai
            .write_messages(s.org, id, &request(Channel::Lms, 2), None)
            .await
            .unwrap();
        assert_eq!(written.len(), 2);
        for m in &written {
            assert_eq!(m.source, "offline");
            assert!(
                m.note.as_deref().unwrap().contains(expected),
                "{:?}",
                m.note
            );
            assert!(m.body.starts_with("(광고)"));
        }
    }
    // A wrong key is an error that names the endpoint's answer.
    let wrong = Insight::new(s.db.clone(), s.clock.clone()).with_llm(LlmSettings {
        api_key: Some("nope".into()),
        ..settings
    });
    fake.set(Behaviour::Reply("[\"x\"]".into()));
    let written = wrong
        .write_messages(s.org, id, &request(Channel::Push, 1), None)
        .await
        .unwrap();
    assert!(
        written[0].note.as_deref().unwrap().contains("401"),
        "{:?}",
        written[0].note
    );

    // Edits are checked against the channel's limit; history keeps every message.
    let sms = s
        .insight
        .messages(s.org, id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.channel == "sms")
        .unwrap();
    let error = s
        .insight
        .edit_message(s.org, sms.id, &"나".repeat(46))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("92 bytes (EUC-KR) is over the SMS limit of 90"),
        "{error}"
    );
    let edited = s
        .insight
        .edit_message(s.org, sms.id, "(광고) 이번 주 커피 쿠폰")
        .await
        .unwrap();
    assert!(edited.edited_at.is_some());
    assert_eq!(
        s.insight.messages(s.org, id).await.unwrap().len(),
        3 + 2 * 3 + 1
    );
    let error = s
        .insight
        .write_messages(
            s.org,
            id,
            &MessageRequest {
                segment: Some("vip".into()),
                ..request(Channel::Sms, 1)
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no segment 'vip'"));
}

/// A merchant's own shop orders as the source of an analysis: taken in (replacing the last
/// take, as orders settle), analysed apart from card statements.
#[tokio::test]
async fn shop_orders_are_analysed_apart_from_statements_and_a_new_take_replaces_the_last() {
    use adpool_insight::{ShopPurchase, Source};
    let s = setup().await;
    s.insight
        .import(s.org, "lotte.csv", LOTTE.as_bytes(), None, None)
        .await
        .unwrap();
    let purchase = |n: u32, customer: &str, day: &str, amount: i64| ShopPurchase {
        key: format!("cafe24:camphouse:2026110{n}-0000001:01"),
        customer: format!("cafe24:{customer}"),
        day: day.parse().unwrap(),
        product: "원터치 텐트".into(),
        category: Some("텐트".into()),
        amount,
    };
    let first = vec![
        purchase(1, "kim", "2026-11-01", 129_000),
        purchase(2, "kim", "2026-11-02", 59_000),
        purchase(3, "lee", "2026-11-03", 32_000),
    ];
    assert_eq!(
        s.insight
            .take_shop_purchases(s.org, "shop orders", &first, Some(s.user))
            .await
            .unwrap(),
        3
    );
    // Later the orders settled: one was returned (gone), another customer bought.
    let settled = vec![
        purchase(1, "kim", "2026-11-01", 129_000),
        purchase(3, "lee", "2026-11-03", 32_000),
        purchase(4, "park", "2026-11-04", 45_000),
    ];
    s.insight
        .take_shop_purchases(s.org, "shop orders", &settled, Some(s.user))
        .await
        .unwrap();
    let (id, _) = s
        .insight
        .request_analysis_of(s.org, Source::ShopOrders, None, None, Some(s.user))
        .await
        .unwrap();
    s.insight.run_analysis(id, &mut |_, _, _| {}).await.unwrap();
    let analysis = s.insight.analysis(s.org, id).await.unwrap();
    assert_eq!(analysis.source, "shop");
    let report = analysis.report.unwrap();
    assert_eq!(
        (report.purchases, report.customers, report.spend),
        (3, 3, 206_000),
        "only the settled shop orders, none of the statement's lines"
    );
    assert_eq!(report.segments.iter().map(|g| g.customers).sum::<i64>(), 3);
    assert_eq!(report.by_category[0].key, "텐트");
    // The statements are untouched and analysed on their own.
    let (statement, _) = s
        .insight
        .request_analysis(s.org, None, None, Some(s.user))
        .await
        .unwrap();
    s.insight
        .run_analysis(statement, &mut |_, _, _| {})
        .await
        .unwrap();
    let report = s
        .insight
        .analysis(s.org, statement)
        .await
        .unwrap()
        .report
        .unwrap();
    assert_eq!(report.purchases, 6, "the Lotte statement's lines only");
    // No shop orders yet in another organization: a clear refusal.
    let (other, _) = organization(&s.db, "other").await;
    let error = s
        .insight
        .request_analysis_of(other, Source::ShopOrders, None, None, None)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no shop orders"), "{error}");
}

/// A workbook with its lines on later sheets, as Samsung bills are (`청구요약`, then `일시불`
/// and `할부`): every sheet that holds lines is read, the summary sheet is not, and a line
/// that cannot be read is named with its sheet.
#[tokio::test]
async fn every_sheet_that_holds_lines_is_read() {
    let s = setup().await;
    let sheet = |book: &mut rust_xlsxwriter::Workbook, name: &str, rows: &[&[&str]]| {
        let sheet = book.add_worksheet().set_name(name).unwrap();
        for (r, cells) in rows.iter().enumerate() {
            for (c, cell) in cells.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, *cell).unwrap();
            }
        }
    };
    let bill = |installment_amount: &str| {
        let mut book = rust_xlsxwriter::Workbook::new();
        sheet(
            &mut book,
            "청구요약",
            &[
                &["삼성카드 이용대금명세서"],
                &["결제일", "2026.11.14"],
                &["청구금액", "141,800"],
            ],
        );
        sheet(
            &mut book,
            "일시불",
            &[
                &["일시불 이용내역"],
                &["승인일자", "가맹점명", "승인금액(원)"],
                &["2026.10.02", "스타벅스 강남점", "5,600"],
                &["2026.10.05", "GS25 역삼점", "7,200"],
                &["", "일시불합계", "12,800"],
            ],
        );
        sheet(
            &mut book,
            "할부",
            &[
                &["승인일자", "가맹점명", "승인금액(원)", "할부개월"],
                &["2026.10.03", "쿠팡", installment_amount, "3"],
                &["※ 할부 수수료는 별도입니다"],
            ],
        );
        book.save_to_buffer().unwrap()
    };
    let preview = s
        .insight
        .preview(s.org, "samsung-bill.xlsx", &bill("129,000"), None)
        .await
        .unwrap();
    assert!(preview.rejected.is_empty(), "{:?}", preview.rejected);
    assert_eq!(
        (
            preview.layout.as_str(),
            preview.lines,
            preview.totals_skipped
        ),
        ("삼성카드", 3, 2)
    );
    let error = s
        .insight
        .import(s.org, "samsung-bill.xlsx", &bill("십이만원"), None, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("sheet 할부, row 2, column 승인금액(원), value '십이만원'"),
        "{error}"
    );
    let summary = s
        .insight
        .import(s.org, "samsung-bill.xlsx", &bill("129,000"), None, None)
        .await
        .unwrap();
    assert_eq!(summary.new_lines, 3);
}
