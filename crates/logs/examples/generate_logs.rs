//! Generates a reproducible set of gzip JSON-lines ad logs for `bench/logs.sh`:
//! `cargo run --release -p adpool-logs --example generate_logs -- DIR EVENTS FILES`
//! Also writes `media.csv` and `inventory.csv` next to the files' folder.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a generator fails loudly

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).expect("DIR"));
    let events: u64 = args
        .get(2)
        .map_or(5_000_000, |n| n.parse().expect("EVENTS"));
    let files: u64 = args.get(3).map_or(50, |n| n.parse().expect("FILES"));
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut media = String::from("media_key,org_id,media_share_bp\n");
    for m in 0..40 {
        media.push_str(&format!(
            "m-{m:03},{},{}\n",
            100 + m % 7,
            5_000 + (m * 137) % 4_000
        ));
    }
    std::fs::write(dir.join("media.csv"), media).unwrap();
    let mut inventory = String::from("inventory_id,ad_type,device\n");
    for i in 0..200 {
        inventory.push_str(&format!(
            "{},{},{}\n",
            1000 + i,
            ["display", "video", "native"][i % 3],
            ["PC", "MOBILE", "ALL"][i % 3]
        ));
    }
    std::fs::write(dir.join("inventory.csv"), inventory).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    let per_file = events / files;
    for f in 0..files {
        let mut text = String::with_capacity(per_file as usize * 150);
        for _ in 0..per_file {
            let ts = 1_795_000_000 + next(7 * 86_400) as i64;
            let ev = ["req", "res", "psb", "imp", "imp", "imp", "clk"][next(7) as usize];
            // 40 known media and 4 unknown, 5 ad units each (a few not in the metadata); 500
            // ads, each sold through one of 30 demand partners.
            let media = next(44);
            let aid = 1000 + media * 5 + next(5);
            let ad = next(500);
            let dev = ["pc", "mobile", "tablet", "PC", "smarttv", ""][next(6) as usize];
            let app = ["web", "ios", "aos", "android", "", "WEB"][next(6) as usize];
            text.push_str(&format!(r#"{{"ts":{ts},"ev":"{ev}","mid":"m-{media:03}","ads":[{{"aid":{aid},"_god":{},"did":{}}}]"#, 5000 + ad, 1 + ad % 30));
            if !dev.is_empty() {
                text.push_str(&format!(r#","dev":"{dev}""#));
            }
            if !app.is_empty() {
                text.push_str(&format!(r#","app":"{app}""#));
            }
            if ev == "imp" || ev == "clk" {
                let rev = next(3_000_000);
                text.push_str(&format!(r#","rev":{}.{:03}"#, rev / 1000, rev % 1000));
            }
            text.push_str("}\n");
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        std::fs::write(
            logs.join(format!("part-{f:04}.jsonl.gz")),
            gz.finish().unwrap(),
        )
        .unwrap();
    }
    println!(
        "{} events in {files} files under {}",
        per_file * files,
        logs.display()
    );
}
