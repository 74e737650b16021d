//! M7 (docs/hardening.md): a small file must not make the reader hold a lot of memory. A
//! 200 KB workbook whose one cell expands to 200 MB raised the server by 670 MB; it is now
//! refused from the zip directory before any part is inflated, and an over-long cell in a CSV
//! is refused naming its row and column. Peak memory is measured with a counting allocator.
#![allow(clippy::unwrap_used)] // tests fail loudly

use std::alloc::System;
use std::io::Write;

#[global_allocator]
static ALLOCATOR: cap::Cap<System> = cap::Cap::new(System, usize::MAX);

/// A workbook with one shared string of `cell_bytes` repeated letters, built without holding
/// that string in memory.
fn workbook_with_one_huge_cell(cell_bytes: usize) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let parts: [(&str, &str); 5] = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#,
        ),
        (
            "xl/worksheets/sheet1.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>"#,
        ),
    ];
    for (name, text) in parts {
        out.start_file(name, options).unwrap();
        out.write_all(text.as_bytes()).unwrap();
    }
    out.start_file("xl/sharedStrings.xml", options).unwrap();
    out.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>"#)
        .unwrap();
    let chunk = vec![b'A'; 1 << 20];
    for _ in 0..cell_bytes / chunk.len() {
        out.write_all(&chunk).unwrap();
    }
    out.write_all(b"</t></si></sst>").unwrap();
    out.finish().unwrap().into_inner()
}

#[test]
fn a_small_file_cannot_make_the_reader_hold_much_memory() {
    let bomb = workbook_with_one_huge_cell(200 << 20);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let before = ALLOCATOR.allocated();
    let error = adpool_tables::read_grid("statement.xlsx", &bomb)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let peak = ALLOCATOR.max_allocated();
    assert!(error.contains("expands from"), "{error}");
    // The reading itself, beyond what the test held already.
    assert!(
        peak.saturating_sub(before) < 8 << 20,
        "peak {} MiB",
        (peak - before) >> 20
    );

    // A CSV cell over a spreadsheet cell's limit is named, not stored.
    let mut csv = String::from("date,merchant,amount\n2026-11-01,");
    csv.push_str(&"가".repeat(adpool_tables::MAX_CELL_CHARS + 1));
    csv.push_str(",1000\n");
    let error = adpool_tables::read_grid("statement.csv", csv.as_bytes())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("row 2, column 2") && error.contains("32767"),
        "{error}"
    );
}
