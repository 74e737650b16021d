//! The ad-log part of `adpool demo`: media and inventory metadata, a week of generated ad-server
//! logs from three partner media (gzip and zstd), and adpool's own CPC event log, both analyzed
//! so the report pages have data.

use std::io::Write;
use std::path::Path;

use adpool_accounts::OrgId;
use adpool_core::{BusinessDate, SharedClock};
use adpool_logs::{AnalyzeOptions, Source};
use adpool_store::Db;
use anyhow::Context;

use crate::demo::Dice;

/// Writes the demo's partner logs into `folder` (one file per media and day).
fn write_partner_logs(folder: &Path, today: BusinessDate) -> anyhow::Result<()> {
    let mut dice = Dice(0x00c0_ffee_1234);
    let mut next = move |m: u64| dice.below(m);
    let media = [
        ("news-portal", [101, 102]),
        ("video-app", [103, 104]),
        ("webtoon", [105, 106]),
    ];
    for day in 1..=7 {
        let date = today.add_days(-day);
        let start = date.start_utc_millis() / 1000;
        for (m, (media_key, inventories)) in media.iter().enumerate() {
            let mut text = String::new();
            let volume = 1_500 + next(1_000) as usize + m * 400;
            for _ in 0..volume {
                let ts = start + next(86_400) as i64;
                let aid = inventories[next(2) as usize];
                let dev = ["pc", "mobile", "tablet", "MOBILE"][next(4) as usize];
                let app = ["web", "ios", "aos", "android", "web"][next(5) as usize];
                let demand = 31 + next(4);
                let ad = 9_000 + next(12);
                // A request; most get a response and an impression, some pass back; a few click.
                text.push_str(&format!(r#"{{"ts":{ts},"ev":"req","mid":"{media_key}","ads":[{{"aid":{aid}}}],"dev":"{dev}","app":"{app}"}}"#));
                text.push('\n');
                if next(10) < 8 {
                    text.push_str(&format!(r#"{{"ts":{ts},"ev":"res","mid":"{media_key}","ads":[{{"aid":{aid},"_god":{ad},"did":{demand}}}],"dev":"{dev}","app":"{app}"}}"#));
                    text.push('\n');
                    let rev = 1 + next(4_000);
                    text.push_str(&format!(r#"{{"ts":{ts},"ev":"imp","mid":"{media_key}","ads":[{{"aid":{aid},"_god":{ad},"did":{demand}}}],"dev":"{dev}","app":"{app}","rev":{}.{:03}}}"#, rev / 1000, rev % 1000));
                    text.push('\n');
                    if next(100) < 3 {
                        let rev = 150 + next(400);
                        text.push_str(&format!(r#"{{"ts":{},"ev":"clk","mid":"{media_key}","ads":[{{"aid":{aid},"_god":{ad},"did":{demand}}}],"dev":"{dev}","app":"{app}","rev":{rev}}}"#, ts + 5));
                        text.push('\n');
                    }
                } else {
                    text.push_str(&format!(r#"{{"ts":{ts},"ev":"psb","mid":"{media_key}","ads":[{{"aid":{aid}}}],"dev":"{dev}","app":"{app}"}}"#));
                    text.push('\n');
                }
            }
            let dir = folder.join(date.to_string());
            std::fs::create_dir_all(&dir)?;
            if m == 1 {
                let bytes = ruzstd_compress(text.as_bytes());
                std::fs::write(dir.join(format!("{media_key}.jsonl.zst")), bytes)?;
            } else {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(text.as_bytes())?;
                std::fs::write(dir.join(format!("{media_key}.jsonl.gz")), gz.finish()?)?;
            }
        }
    }
    // One corrupt file, so the quarantine is visible.
    let dir = folder.join(today.add_days(-1).to_string());
    std::fs::write(
        dir.join("broken-upload.jsonl"),
        "{\"ts\": 1795100400, \"ev\": \"imp\", \"mid\": \"webtoon\"}\n{\"ts\": \"yesterday\"}\n",
    )?;
    std::fs::write(folder.join("README.txt"), "adpool demo partner logs\n")?;
    Ok(())
}

fn ruzstd_compress(bytes: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Fastest)
}

/// Metadata, partner logs and the CPC event log, analyzed for `org`.
pub async fn seed_logs(
    db: &Db,
    clock: &SharedClock,
    org: OrgId,
    partner_logs: &Path,
    cpc_event_logs: Option<&Path>,
) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let media = scratch.path().join("media.csv");
    let inventory = scratch.path().join("inventory.csv");
    std::fs::write(
        &media,
        "media_key,org_id,media_share_bp\nnews-portal,101,7000\nvideo-app,102,6500\nwebtoon,103,8000\ndemo-shop,100,10000\n",
    )?;
    std::fs::write(
        &inventory,
        "inventory_id,ad_type,device\n1,cpc-product,ALL\n2,cpc-product,ALL\n3,cpc-product,ALL\n101,display,PC\n102,display,MOBILE\n103,video,MOBILE\n104,video,PC\n105,native,MOBILE\n106,native,MOBILE\n",
    )?;
    adpool_logs::import_metadata(db, org, clock.now_millis(), Some(&media), Some(&inventory))
        .await
        .context("demo log metadata")?;
    let today = BusinessDate::from_utc_millis(clock.now_millis());
    write_partner_logs(partner_logs, today).context("writing demo partner logs")?;
    let mut folders = vec![partner_logs.to_owned()];
    folders.extend(cpc_event_logs.map(|f| f.join(format!("org-{}", org.get()))));
    for folder in folders {
        let source = Source::open(folder.to_str().unwrap_or_default())?;
        adpool_logs::analyze(
            db,
            clock,
            org,
            &source,
            AnalyzeOptions::default(),
            &mut |_, _| {},
        )
        .await
        .with_context(|| format!("analyzing {}", source.url))?;
    }
    Ok(())
}
