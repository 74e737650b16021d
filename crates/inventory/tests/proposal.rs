//! The proposal workbook: read back with calamine, snapshot of the grid, and recalculated by
//! LibreOffice headless to prove the cached results equal what the formulas compute.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use adpool_inventory::{
    Curation, HEADER_ROW, MEDIA_MIX_COLUMNS, Proposal, ProposalLine, write_proposal,
};
use calamine::{Data, Reader, Xlsx, open_workbook};
use chrono::NaiveDate;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn line(media: &str, product: &str, budget: i64, ecpm: i64) -> ProposalLine {
    ProposalLine {
        media: media.into(),
        platforms: "PC, MOBILE".into(),
        product: product.into(),
        targeting: "G1 40% / G2 60%".into(),
        start: date("2026-12-01"),
        end: date("2026-12-14"),
        ad_type: "pre-roll".into(),
        budget,
        ecpm,
        ctr_bp: 80,
        vtr_bp: 7_500,
    }
}

fn sample() -> Proposal {
    let mut programs = BTreeMap::new();
    programs.insert(
        "한국방송공사".to_owned(),
        vec!["1박 2일".to_owned(), "뮤직뱅크".to_owned()],
    );
    programs.insert("문화방송".to_owned(), vec!["나 혼자 산다".to_owned()]);
    Proposal {
        advertiser: "한빛식품".into(),
        campaign: "겨울 프로모션".into(),
        start: date("2026-12-01"),
        end: date("2026-12-31"),
        total_budget: 500_000_000,
        prepared_by: "이운영".into(),
        prepared_on: date("2026-11-21"),
        lines: vec![
            line("TVING", "RON 프리롤", 50_000_000, 4_714),
            line("WAVVE", "프로그램 프리롤", 200_000_000, 8_471),
            line("WAVVE", "프로그램 미드롤", 100_000_000, 6_737),
        ],
        curation: Curation {
            programs,
            channels: vec![],
            keywords: vec!["겨울 간식".into()],
        },
    }
}

fn save(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn number(range: &calamine::Range<Data>, row: u32, col: u32) -> f64 {
    match range.get_value((row, col)) {
        Some(Data::Float(f)) => *f,
        Some(Data::Int(i)) => *i as f64,
        other => panic!("({row},{col}) is not a number: {other:?}"),
    }
}

#[test]
fn the_workbook_reads_back_with_values_formulas_and_merged_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let path = save(dir.path(), "p.xlsx", &write_proposal(&sample()).unwrap());
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(
        book.sheet_names(),
        vec!["MediaMix".to_owned(), "CurationTargeting".to_owned()]
    );
    let values = book.worksheet_range("MediaMix").unwrap();
    let header: Vec<String> = (0..16)
        .map(|c| values.get_value((HEADER_ROW, c)).unwrap().to_string())
        .collect();
    assert_eq!(
        header,
        MEDIA_MIX_COLUMNS
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
    );
    let first = HEADER_ROW + 1;
    assert_eq!(
        values.get_value((first, 3)).unwrap().to_string(),
        "RON 프리롤"
    );
    assert_eq!(number(&values, first + 1, 9), 200_000_000.0);
    // Cached results are stored, so readers that do not recalculate still see numbers.
    assert_eq!(number(&values, first + 1, 7), 14.0, "days");
    assert!(
        (number(&values, first + 1, 11) - 200_000_000.0 / 8_471.0 * 1000.0).abs() < 1e-6,
        "impressions"
    );
    let total = first + 3;
    assert_eq!(values.get_value((total, 0)).unwrap().to_string(), "TOTAL");
    assert_eq!(number(&values, total, 9), 350_000_000.0);

    let formulas = book.worksheet_formula("MediaMix").unwrap();
    let formula = |row: u32, col: u32| formulas.get_value((row, col)).cloned().unwrap_or_default();
    let r = first + 2; // 1-based row of the second line
    assert_eq!(formula(first + 1, 11), format!("J{r}/K{r}*1000"));
    assert_eq!(formula(first + 1, 13), format!("L{r}*M{r}"));
    assert_eq!(formula(first + 1, 15), format!("L{r}*O{r}"));
    assert_eq!(formula(total, 9), format!("SUM(J{}:J{})", first + 1, total));
    assert_eq!(
        formula(total, 10),
        format!("IF(L{0}=0,0,J{0}/L{0}*1000)", total + 1)
    );

    let merged: Vec<((u32, u32), (u32, u32))> = book
        .merge_cells_by_sheet_name("MediaMix")
        .unwrap()
        .iter()
        .map(|d| (d.start, d.end))
        .collect();
    assert!(
        merged.contains(&((0, 0), (0, 15))),
        "title across the sheet: {merged:?}"
    );
    assert!(
        merged.contains(&((2, 2), (2, 7))),
        "campaign information in merged cells"
    );
    assert!(
        merged.contains(&((first + 1, 1), (first + 2, 1))),
        "WAVVE's two rows merged vertically"
    );
    assert!(merged.contains(&((total, 0), (total, 8))), "TOTAL label");

    let curation = book.worksheet_range("CurationTargeting").unwrap();
    let text: Vec<String> = curation
        .rows()
        .map(|r| {
            r.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    assert!(
        text.iter().any(|l| l == "한국방송공사|1박 2일, 뮤직뱅크"),
        "{text:#?}"
    );
    assert!(text.iter().any(|l| l.starts_with("겨울 간식")), "{text:#?}");
}

/// The MediaMix grid as text, one row per line, cells joined by ` | `.
fn grid(path: &Path) -> String {
    let mut book: Xlsx<_> = open_workbook(path).unwrap();
    let range = book.worksheet_range("MediaMix").unwrap();
    range
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Data::Float(f) => format!("{f:.2}"),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" | ")
                .trim_end_matches([' ', '|'])
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_media_mix_grid_matches_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = save(dir.path(), "p.xlsx", &write_proposal(&sample()).unwrap());
    let actual = grid(&path) + "\n";
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/media_mix.txt");
    if std::env::var("UPDATE_SNAPSHOTS").is_ok() || !snapshot.exists() {
        std::fs::write(&snapshot, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot).unwrap();
    assert_eq!(
        actual, expected,
        "the grid changed; rerun with UPDATE_SNAPSHOTS=1 if that was intended"
    );
}

/// Runs LibreOffice headless with formulas forced to recalculate on load, converting `input`
/// to a new xlsx in `out`; `None` when LibreOffice is not installed (outside CI).
fn recalculate(input: &Path, out: &Path) -> Option<std::path::PathBuf> {
    if Command::new("soffice").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have LibreOffice (libreoffice-calc): .ci/run installs it"
        );
        eprintln!("LibreOffice is not installed: skipping the recalculation check");
        return None;
    }
    let profile = out.join("profile");
    std::fs::create_dir_all(profile.join("user")).unwrap();
    std::fs::write(
        profile.join("user/registrymodifications.xcu"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>"#,
    )
    .unwrap();
    let converted = out.join("converted");
    let status = Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args([
            "--headless",
            "--norestore",
            "--convert-to",
            "xlsx",
            "--outdir",
        ])
        .arg(&converted)
        .arg(input)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    Some(converted.join(input.file_name().unwrap()))
}

#[test]
fn libre_office_recalculates_the_same_totals_as_the_cached_ones() {
    let dir = tempfile::tempdir().unwrap();
    // First prove the recalculation is real: a cached result that is deliberately wrong.
    let mut probe = rust_xlsxwriter::Workbook::new();
    probe
        .add_worksheet()
        .write_formula(0, 0, rust_xlsxwriter::Formula::new("=1+1").set_result("5"))
        .unwrap();
    let probe_path = save(dir.path(), "probe.xlsx", &probe.save_to_buffer().unwrap());
    let Some(recalculated_probe) = recalculate(&probe_path, dir.path()) else {
        return;
    };
    let mut book: Xlsx<_> = open_workbook(&recalculated_probe).unwrap();
    let sheet = book.sheet_names()[0].clone();
    assert_eq!(
        number(&book.worksheet_range(&sheet).unwrap(), 0, 0),
        2.0,
        "LibreOffice recalculated on load"
    );

    let path = save(
        dir.path(),
        "proposal.xlsx",
        &write_proposal(&sample()).unwrap(),
    );
    let recalculated = recalculate(&path, dir.path()).unwrap();
    let mut cached: Xlsx<_> = open_workbook(&path).unwrap();
    let mut fresh: Xlsx<_> = open_workbook(&recalculated).unwrap();
    let (cached, fresh) = (
        cached.worksheet_range("MediaMix").unwrap(),
        fresh.worksheet_range("MediaMix").unwrap(),
    );
    let first = HEADER_ROW + 1;
    let total = first + 3;
    for row in first..=total {
        let cols: &[u32] = if row == total {
            &[9, 10, 11, 13, 15]
        } else {
            &[7, 9, 10, 11, 13, 15]
        };
        for &col in cols {
            let (a, b) = (number(&cached, row, col), number(&fresh, row, col));
            assert!(
                (a - b).abs() < 1e-6 * a.abs().max(1.0),
                "({row},{col}): cached {a}, recalculated {b}"
            );
        }
    }
}
