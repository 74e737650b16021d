//! Demo data for spending insight: card statements in four layouts and encodings (Lotte CSV
//! in CP949 with a title, totals, cancellations and installments; KB XLSX; Samsung UTF-16
//! text; Shinhan UTF-8 with a BOM), a shop's POS member export in a layout adpool does not know
//! (read with a saved mapping, so RFM segments have customers), one analysis and messages.

use std::path::Path;

use adpool_core::{BusinessDate, OrgId, UserId};
use adpool_insight::Insight;
use adpool_insight::messages::{Channel, MessageRequest, Tone};
use adpool_insight::statement::ColumnMapping;
use anyhow::Context;

use crate::demo::Dice;

/// Merchants a demo card holder uses: (name, industry, typical amount).
const MERCHANTS: &[(&str, &str, i64)] = &[
    ("스타벅스 강남R점", "커피전문점", 6_100),
    ("메가MGC커피 역삼점", "커피전문점", 2_000),
    ("GS25 역삼타워점", "편의점", 4_300),
    ("CU 선릉역점", "편의점", 3_800),
    ("쿠팡", "통신판매", 38_000),
    ("배달의민족", "음식배달", 24_500),
    ("쿠팡이츠", "음식배달", 21_000),
    ("이마트 성수점", "할인점", 87_000),
    ("올리브영 강남점", "화장품", 29_000),
    ("카카오T 택시", "택시", 13_200),
    ("코레일 KTX", "철도", 59_800),
    ("넷플릭스", "디지털콘텐츠", 17_000),
    ("SK텔레콤 통신요금", "통신", 69_000),
    ("GS칼텍스 역삼주유소", "주유", 72_000),
    ("교보문고 광화문점", "서적", 18_000),
    ("CGV 용산아이파크몰", "영화", 15_000),
    ("김밥천국 역삼점", "일반한식", 8_000),
    ("연남동 작은식탁", "일반한식", 16_000),
    ("성수 로스터리 하루", "기타", 7_500),
];

/// A card holder's purchases over `months` months ending `today`: (day, merchant, industry,
/// amount, installment months, cancelled).
fn purchases(
    dice: &mut Dice,
    today: BusinessDate,
    months: i64,
    per_day: u64,
) -> Vec<(BusinessDate, &'static str, &'static str, i64, i64, bool)> {
    let mut out = Vec::new();
    let first = today.add_days(-30 * months);
    for day in first.days_through(today) {
        for _ in 0..dice.below(per_day + 1) {
            let (merchant, industry, typical) =
                MERCHANTS[dice.below(MERCHANTS.len() as u64) as usize];
            let amount = (typical * (70 + dice.below(61) as i64) / 100).max(1_000) / 100 * 100;
            let installment = if amount > 50_000 && dice.chance(0.3) {
                [2, 3, 6][dice.below(3) as usize]
            } else {
                0
            };
            out.push((
                day,
                merchant,
                industry,
                amount,
                installment,
                dice.chance(0.03),
            ));
        }
    }
    out
}

fn lotte_csv(lines: &[(BusinessDate, &str, &str, i64, i64, bool)]) -> Vec<u8> {
    let mut text = String::from(
        "롯데카드 이용대금 명세서\n회원명: 김민지 (****-1234)\n이용일자,이용가맹점,업종,이용금액,할부개월,취소여부\n",
    );
    let mut total = 0;
    for (day, merchant, industry, amount, installment, cancelled) in lines {
        let months = if *installment == 0 {
            "일시불".to_owned()
        } else {
            format!("{installment}개월")
        };
        text.push_str(&format!(
            "{},{merchant},{industry},\"{}원\",{months},{}\n",
            day.to_string().replace('-', "."),
            adpool_core::group_thousands(*amount as u64),
            if *cancelled { "Y" } else { "N" }
        ));
        total += amount;
    }
    text.push_str(&format!(
        "합계,,,\"{}원\",,\n",
        adpool_core::group_thousands(total as u64)
    ));
    let (bytes, _, _) = encoding_rs::EUC_KR.encode(&text);
    bytes.into_owned()
}

fn kb_xlsx(lines: &[(BusinessDate, &str, &str, i64, i64, bool)]) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "KB국민카드 이용내역")?;
    sheet.write_string(1, 0, "조회기간 최근 3개월")?;
    for (c, h) in [
        "이용일",
        "이용하신곳",
        "이용카드명",
        "국내이용금액(원)",
        "할부개월",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(3, c as u16, *h)?;
    }
    for (i, (day, merchant, _, amount, installment, _)) in lines.iter().enumerate() {
        let r = 4 + i as u32;
        sheet.write_string(r, 0, day.to_string().replace('-', ""))?;
        sheet.write_string(r, 1, *merchant)?;
        sheet.write_string(r, 2, "KB국민 노리2 체크카드")?;
        sheet.write_number(r, 3, *amount as f64)?;
        sheet.write_string(
            r,
            4,
            if *installment == 0 {
                "일시불".to_owned()
            } else {
                installment.to_string()
            },
        )?;
    }
    Ok(book.save_to_buffer()?)
}

fn samsung_utf16(lines: &[(BusinessDate, &str, &str, i64, i64, bool)]) -> Vec<u8> {
    let mut text = String::from("승인일자\t가맹점명\t승인금액(원)\t취소여부\r\n");
    for (day, merchant, _, amount, _, cancelled) in lines {
        text.push_str(&format!(
            "{day}\t{merchant}\t{}\t{}\r\n",
            adpool_core::group_thousands(*amount as u64),
            if *cancelled { "승인취소" } else { "정상" }
        ));
    }
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend(unit.to_le_bytes());
    }
    bytes
}

fn shinhan_bom(lines: &[(BusinessDate, &str, &str, i64, i64, bool)]) -> Vec<u8> {
    let mut text = String::from("\u{feff}신한카드 거래내역\n거래일자,이용가맹점,거래금액\n");
    for (day, merchant, _, amount, _, _) in lines {
        text.push_str(&format!("{day},{merchant},{amount}\n"));
    }
    text.push_str("2026-11-28,쿠팡 (환불),-12000\n");
    text.into_bytes()
}

/// A café chain's POS export of member purchases: 400 members over six months.
fn pos_export(dice: &mut Dice, today: BusinessDate) -> String {
    let mut text =
        String::from("봄날카페 회원 매출 내역\n결제일,회원번호,매장,결제금액,결제수단\n");
    let stores = [
        "봄날카페 성수점",
        "봄날카페 연남점",
        "봄날카페 판교점",
        "봄날베이커리 성수",
    ];
    for member in 0..400u64 {
        // Some members are regulars, most come now and then, some stopped coming.
        let visits = [1, 2, 3, 5, 8, 14, 25][dice.below(7) as usize];
        let last_seen = dice.below(if member % 5 == 0 { 180 } else { 60 }) as i64;
        for _ in 0..visits {
            let day = today.add_days(-(last_seen + dice.below(120) as i64));
            let amount = (4_500 + dice.below(12) as i64 * 500) * (1 + dice.below(3) as i64);
            text.push_str(&format!(
                "{},M{:05},{},{amount},{}\n",
                day.to_string().replace('-', ""),
                member + 1,
                stores[dice.below(stores.len() as u64) as usize],
                ["카드", "간편결제", "현금"][dice.below(3) as usize]
            ));
        }
    }
    text
}

/// Imports the demo statements for `org`, runs an analysis and writes messages. The files are
/// also left in `folder` to try the upload page with.
pub async fn seed_insight(
    insight: &Insight,
    org: OrgId,
    admin: UserId,
    today: BusinessDate,
    folder: &Path,
) -> anyhow::Result<()> {
    let mut dice = Dice(0x15e1_9417);
    std::fs::create_dir_all(folder)?;
    let lotte = purchases(&mut dice, today, 3, 3);
    let kb = purchases(&mut dice, today, 2, 1);
    let samsung = purchases(&mut dice, today, 2, 1);
    let shinhan = purchases(&mut dice, today, 1, 1);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("lotte-card-cp949.csv", lotte_csv(&lotte)),
        ("kb-card.xlsx", kb_xlsx(&kb)?),
        ("samsung-card-utf16.txt", samsung_utf16(&samsung)),
        ("shinhan-card-bom.csv", shinhan_bom(&shinhan)),
        (
            "bomnal-cafe-pos.csv",
            pos_export(&mut dice, today).into_bytes(),
        ),
    ];
    insight
        .save_mapping(
            org,
            "봄날카페 POS",
            &ColumnMapping {
                date: "결제일".into(),
                merchant: "매장".into(),
                amount: "결제금액".into(),
                customer: Some("회원번호".into()),
                ..Default::default()
            },
            Some(admin),
        )
        .await?;
    for (name, bytes) in &files {
        std::fs::write(folder.join(name), bytes)?;
        insight
            .import(org, name, bytes, None, Some(admin))
            .await
            .with_context(|| format!("demo statement {name}"))?;
    }
    // The local bakery is the user's to categorize; the roastery gets a rule.
    insight
        .set_rule(org, "로스터리", "cafe", Some(admin))
        .await?;
    let (id, _) = insight
        .analyze_now(org, None, None, Some(admin), &mut |_, _, _| {})
        .await?;
    for (segment, channel, tone, lang) in [
        (Some("champions"), Channel::Sms, Tone::Friendly, "ko"),
        (Some("at_risk"), Channel::Lms, Tone::Formal, "ko"),
        (None, Channel::Kakao, Tone::Playful, "en"),
    ] {
        insight
            .write_messages(
                org,
                id,
                &MessageRequest {
                    segment: segment.map(str::to_owned),
                    channel,
                    tone,
                    lang: lang.into(),
                    count: 3,
                },
                Some(admin),
            )
            .await
            .with_context(|| format!("demo messages for {segment:?}"))?;
    }
    Ok(())
}
