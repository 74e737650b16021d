//! Writes a Lotte-layout card statement of N lines (title, header, totals row; CP949 like the
//! real export) and the categorizer's keywords as `keyword,category,kind` CSV (kind: merchant
//! or industry), for bench/insight.sh.
//! Usage: generate_statement OUT_FOLDER LINES

use std::io::Write;

use adpool_insight::categories::{INDUSTRIES, MERCHANTS};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let folder = std::path::PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let lines: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    std::fs::create_dir_all(&folder)?;
    // Merchants: dictionary brands with branch names, plus local shops no dictionary knows.
    let mut merchants: Vec<String> = Vec::new();
    for (_, words) in MERCHANTS {
        for word in words.iter() {
            for branch in ["강남점", "홍대점", "판교점"] {
                merchants.push(format!("{word} {branch}"));
            }
        }
    }
    for i in 0..400 {
        merchants.push(format!("동네가게 {i}호"));
    }
    let industries = [
        "커피전문점",
        "편의점",
        "일반한식",
        "통신판매",
        "할인점",
        "기타",
    ];
    let mut seed: u64 = 0x5eed_1234_abcd;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut text = String::with_capacity(lines as usize * 70);
    text.push_str("롯데카드 이용대금 명세서\n회원명: 벤치마크\n이용일자,이용가맹점,업종,이용금액,할부개월,취소여부\n");
    let mut total: i64 = 0;
    for _ in 0..lines {
        let merchant = &merchants[(next() % merchants.len() as u64) as usize];
        let industry = industries[(next() % industries.len() as u64) as usize];
        let day = 1 + next() % 365;
        let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default()
            + chrono::Duration::days(day as i64 - 1);
        let amount = 1_000 + (next() % 200) as i64 * 500;
        let installment = if amount > 50_000 && next() % 3 == 0 {
            "3개월"
        } else {
            "일시불"
        };
        let cancelled = if next() % 50 == 0 { "Y" } else { "N" };
        total += amount;
        text.push_str(&format!(
            "{},{merchant},{industry},\"{}원\",{installment},{cancelled}\n",
            date.format("%Y.%m.%d"),
            adpool_core::group_thousands(amount as u64)
        ));
    }
    text.push_str(&format!(
        "합계,,,\"{}원\",,\n",
        adpool_core::group_thousands(total as u64)
    ));
    let (bytes, _, _) = encoding_rs::EUC_KR.encode(&text);
    std::fs::write(folder.join("statement.csv"), &bytes)?;
    let mut dictionary = std::fs::File::create(folder.join("dictionary.csv"))?;
    writeln!(dictionary, "keyword,category,kind")?;
    for (table, kind) in [(MERCHANTS, "merchant"), (INDUSTRIES, "industry")] {
        for (category, words) in table {
            for word in words.iter() {
                writeln!(dictionary, "{word},{category},{kind}")?;
            }
        }
    }
    eprintln!("{} lines, {} bytes (CP949)", lines, bytes.len());
    Ok(())
}
