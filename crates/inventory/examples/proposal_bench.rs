//! Benchmark of the proposal workbook (issue 5): a synthetic 1,000-line proposal written with
//! `write_proposal`, timed over several runs. It also saves the proposal as JSON so
//! `bench/proposal_openpyxl.py` writes the very same workbook with openpyxl for comparison.
//!
//!   cargo run --release -p adpool-inventory --example proposal_bench -- LINES RUNS OUT_DIR
//!
//! Prints `rust lines=.. runs=.. median_ms=.. min_ms=.. bytes=.. peak_rss_kb=..`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::time::Instant;

use adpool_inventory::{Curation, Proposal, ProposalLine, write_proposal};
use chrono::{Days, NaiveDate};

fn proposal(lines: usize) -> Proposal {
    let media = ["KBS 2TV", "MBC", "SBS", "JTBC", "tvN", "YouTube"];
    let products = ["프로그램 프리롤", "라이브 미드롤", "VOD 포스트롤"];
    let start = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let mut seed: u64 = 12_345;
    let mut next = move |m: u64| {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        seed % m
    };
    let lines: Vec<ProposalLine> = (0..lines)
        .map(|i| ProposalLine {
            // Runs of 4 rows share a media name, so the vertical merges are exercised.
            media: media[(i / 4) % media.len()].to_owned(),
            platforms: if i % 3 == 0 { "PC, MOBILE" } else { "MOBILE" }.to_owned(),
            product: products[i % products.len()].to_owned(),
            targeting: format!("G{} 60%, G{} 40%", i % 5 + 1, (i + 1) % 5 + 1),
            start: start + Days::new(next(10)),
            end: start + Days::new(10 + next(20)),
            ad_type: "15초 동영상".to_owned(),
            budget: 1_000_000 + next(50_000_000) as i64,
            ecpm: 5_000 + next(20_000) as i64,
            ctr_bp: 50 + next(300) as i64,
            vtr_bp: 3_000 + next(5_000) as i64,
        })
        .collect();
    let mut curation = Curation::default();
    for (owner, programs) in [
        ("KBS", vec!["1박 2일", "불후의 명곡"]),
        ("MBC", vec!["나 혼자 산다", "라디오스타"]),
        ("SBS", vec!["런닝맨", "미운 우리 새끼"]),
    ] {
        curation.programs.insert(
            owner.to_owned(),
            programs.into_iter().map(str::to_owned).collect(),
        );
    }
    curation.channels = vec!["요리 채널".to_owned(), "여행 채널".to_owned()];
    curation.keywords = vec!["겨울".to_owned(), "간편식".to_owned()];
    Proposal {
        advertiser: "한빛식품".to_owned(),
        campaign: "겨울 신제품 런칭".to_owned(),
        start,
        end: start + Days::new(30),
        total_budget: lines.iter().map(|l| l.budget).sum(),
        prepared_by: "김영업".to_owned(),
        prepared_on: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        lines,
        curation,
    }
}

/// Peak resident memory of this process, from /proc (Linux).
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let lines: usize = args.get(1).map_or(1_000, |a| a.parse().expect("LINES"));
    let runs: usize = args.get(2).map_or(20, |a| a.parse().expect("RUNS"));
    let out = std::path::PathBuf::from(args.get(3).map_or(".", String::as_str));
    let proposal = proposal(lines);
    std::fs::write(
        out.join("proposal.json"),
        serde_json::to_vec(&proposal).unwrap(),
    )
    .unwrap();
    let mut times = Vec::with_capacity(runs);
    let mut bytes = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        bytes = write_proposal(&proposal).unwrap();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    std::fs::write(out.join("proposal-rust.xlsx"), &bytes).unwrap();
    times.sort_by(f64::total_cmp);
    println!(
        "rust lines={lines} runs={runs} median_ms={:.1} min_ms={:.1} bytes={} peak_rss_kb={}",
        times[times.len() / 2],
        times[0],
        bytes.len(),
        peak_rss_kb()
    );
}
