//! Fuzz targets for what arrives from machines: ad-log files (plain, gzip and zstd JSON lines,
//! decoded, parsed and aggregated as the analyzer does), click tokens (no panic, and no altered
//! token is ever accepted), and shop API pages (Cafe24 orders, Naver product orders).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up fails loudly by design

use std::collections::HashMap;
use std::io::Write;

use adpool_fuzz::Fuzzer;
use adpool_logs::{Compression, Device, InventoryInfo, MediaInfo, Metadata};
use adpool_serving::click_token::{self, ClickClaims, TokenKey, TokenProblem};

const LOG: &str = r#"{"ts":1763650800,"ev":"req","mid":"m-1","ads":[{"aid":501}],"app":"web"}
{"ts":1763650800,"ev":"res","mid":"m-1","ads":[{"aid":501}],"app":"web"}
{"ts":1763650801,"ev":"imp","mid":"m-1","ads":[{"aid":501,"_god":9,"did":3}],"rev":1.001}
{"ts":1763650802,"ev":"clk","mid":"m-1","ads":[{"aid":501,"_god":9,"did":3}],"dev":"mobile","rev":100}
{"ts":1763650803,"ev":"psb","mid":"m-2","ads":[{"aid":502,"_god":7,"did":4}],"dev":"pc"}
{"ts":1763650804,"ev":"imp","mid":"unknown","ads":[{"aid":777,"_god":9,"did":3}]}
"#;

fn metadata() -> Metadata {
    Metadata {
        media: HashMap::from([(
            "m-1".to_owned(),
            MediaInfo {
                org_id: 1,
                share_bp: 7000,
            },
        )]),
        inventory: HashMap::from([(
            501,
            InventoryInfo {
                ad_type: "display".into(),
                device: Device::Mobile,
            },
        )]),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Fastest)
}

/// Reads a log file as the analyzer does: a bad line refuses the file, good lines aggregate.
fn analyze(bytes: &[u8], compression: Compression, metadata: &Metadata) {
    if let Ok(aggregates) = adpool_logs::aggregate_object(bytes, compression, metadata) {
        for delivery in aggregates.ad_performance.values() {
            assert!(delivery.impressions >= 0 && delivery.clicks >= 0);
            assert!(delivery.revenue_milli >= 0);
        }
        for media in aggregates.media.values() {
            assert_eq!(
                media.media_revenue_milli + media.agency_revenue_milli,
                media.delivery.revenue_milli,
                "the revenue split loses or makes money"
            );
        }
    }
}

const LOG_WORDS: &[&str] = &[
    "\"ts\"",
    "\"ev\"",
    "\"mid\"",
    "\"ads\"",
    "\"aid\"",
    "\"_god\"",
    "\"did\"",
    "\"dev\"",
    "\"app\"",
    "\"rev\"",
    "\"imp\"",
    "\"clk\"",
    "\"req\"",
    "\"res\"",
    "\"psb\"",
    "\"m-1\"",
    "1.0001",
    "9000000000000",
    "8999999999999.999",
    "-1763650800",
    "9223372036854775",
];

#[test]
fn log_lines() {
    let metadata = metadata();
    Fuzzer::new("log_lines", vec![LOG.as_bytes().to_vec()])
        .dictionary(LOG_WORDS)
        .run(|bytes| analyze(bytes, Compression::None, &metadata));
}

#[test]
fn log_gzip_stream() {
    let metadata = metadata();
    Fuzzer::new("log_gzip_stream", vec![gzip(LOG.as_bytes())])
        .run(|bytes| analyze(bytes, Compression::Gzip, &metadata));
}

#[test]
fn log_zstd_stream() {
    let metadata = metadata();
    Fuzzer::new("log_zstd_stream", vec![zstd(LOG.as_bytes())])
        .run(|bytes| analyze(bytes, Compression::Zstd, &metadata));
}

fn claims(n: i64) -> ClickClaims {
    ClickClaims {
        imp: format!("imp-{n}"),
        org: 1,
        ad: 40 + n,
        price: 350,
        plc: "home-top".into(),
        usr: if n % 2 == 0 {
            "u-77".into()
        } else {
            String::new()
        },
        mid: "shop-1".into(),
        exp: 1_900_000_000_000,
    }
}

#[test]
fn click_tokens() {
    let key = TokenKey::new(b"fuzz secret");
    let genuine: Vec<ClickClaims> = (0..3).map(claims).collect();
    let seeds: Vec<Vec<u8>> = genuine
        .iter()
        .map(|c| click_token::sign(&key, c).into_bytes())
        .collect();
    Fuzzer::new("click_tokens", seeds.clone())
        .dictionary(&[".", "=", "+", "/", "-", "_", "AAAA"])
        .run(|bytes| {
            let Ok(token) = std::str::from_utf8(bytes) else {
                return;
            };
            let accepted = match click_token::verify(&key, token, 1_800_000_000_000) {
                Ok(claims) => Some(claims),
                Err(TokenProblem::Expired(claims)) => Some(*claims),
                Err(TokenProblem::Forged) => None,
            };
            if let Some(claims) = accepted {
                // Only what the key signed may pass: an altered token is a forgery.
                assert!(
                    genuine.contains(&claims),
                    "an altered token was accepted: {token} -> {claims:?}"
                );
            }
        });
}

const CAFE24_PAGE: &str = r#"{"orders":[
 {"order_id":"20261120-0000011","order_date":"2026-11-20T14:05:00+09:00","member_id":"kim",
  "items":[{"order_item_code":"20261120-0000011-01","product_no":11,"product_name":"니트",
            "quantity":2,"product_price":"39000.00","order_status":"N40"},
           {"order_item_code":"20261120-0000011-02","product_no":12,"product_name":"머플러",
            "quantity":1,"product_price":"12000.00","order_status":"C40"}]},
 {"order_id":"20261120-0000012","order_date":"2026-11-20T15:00:00+09:00","member_id":"",
  "items":[{"order_item_code":"20261120-0000012-01","product_no":"13","product_name":"양말",
            "quantity":"3","product_price":"4500","order_status":"N20"}]}]}"#;

#[test]
fn cafe24_orders_page() {
    Fuzzer::new("cafe24_orders_page", vec![CAFE24_PAGE.as_bytes().to_vec()])
        .dictionary(&[
            "\"quantity\"",
            "\"product_price\"",
            "\"order_status\"",
            "\"N40\"",
            "\"R10\"",
            "\"items\"",
            "9223372036854775807",
            "\"9223372036854775807.00\"",
        ])
        .run(|bytes| {
            let Ok(page) = serde_json::from_slice::<serde_json::Value>(bytes) else {
                return;
            };
            for order in page["orders"].as_array().into_iter().flatten() {
                if let Ok(order) = adpool_commerce::cafe24::order_from_json(order) {
                    assert!(order.total >= 0 && order.items.iter().all(|i| i.amount >= 0));
                }
            }
        });
}

const NAVER_DETAILS: &str = r#"[
 {"order":{"orderId":"2026112011","orderDate":"2026-11-20T14:05:00.000+09:00","ordererId":"n-kim"},
  "productOrder":{"productOrderId":"2026112011-1","productId":"777","productName":"텀블러",
                  "quantity":2,"totalPaymentAmount":30000,"productOrderStatus":"DELIVERED"}},
 {"order":{"orderId":"2026112011","orderDate":"2026-11-20T14:05:00.000+09:00","ordererId":"n-kim"},
  "productOrder":{"productOrderId":"2026112011-2","productId":778,"productName":"빨대",
                  "quantity":1,"totalPaymentAmount":3000,"productOrderStatus":"CANCELED"}},
 {"order":{"orderId":"2026112012","orderDate":"2026-11-21T09:00:00.000+09:00"},
  "productOrder":{"productOrderId":"2026112012-1","productId":"779","productName":"컵",
                  "quantity":1,"totalPaymentAmount":9000,"productOrderStatus":"PAYED"}}]"#;

#[test]
fn naver_product_orders() {
    Fuzzer::new(
        "naver_product_orders",
        vec![NAVER_DETAILS.as_bytes().to_vec()],
    )
    .dictionary(&[
        "\"totalPaymentAmount\"",
        "\"quantity\"",
        "\"productOrderStatus\"",
        "\"RETURNED\"",
        "\"PURCHASE_DECIDED\"",
        "\"orderDate\"",
        "1000000000000",
        "999999999999",
    ])
    .run(|bytes| {
        let Ok(serde_json::Value::Array(details)) = serde_json::from_slice(bytes) else {
            return;
        };
        if let Ok(orders) = adpool_commerce::naver::orders_from_product_orders(&details) {
            assert!(orders.iter().all(|o| o.total >= 0));
        }
    });
}
