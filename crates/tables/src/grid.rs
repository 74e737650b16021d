//! Whole files read as a grid of text cells with no header assumed: statement exports put
//! titles above their header and totals below it, so the caller finds the header itself.
//! Text files are decoded from whatever Korean banks and card companies write: UTF-8 with or
//! without a byte-order mark, UTF-16 (Excel's "Unicode text"), or CP949 / EUC-KR.

use std::borrow::Cow;
use std::io::Cursor;

use calamine::{Reader, Xls};

use crate::{TableError, cell_text};

/// A file's cells, row by row, with the encoding its text was in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    /// `UTF-8`, `UTF-8 (BOM)`, `UTF-16LE`, `UTF-16BE`, `CP949` or `XLSX` / `XLS`.
    pub encoding: &'static str,
    /// (spreadsheet row number from 1, cells); blank rows are kept out.
    pub rows: Vec<(u64, Vec<String>)>,
}

/// One worksheet of a workbook (a text file is one sheet with no name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// The sheet's name as the workbook has it (`일시불`, `■ 국내이용내역`); empty for text.
    pub name: String,
    /// (spreadsheet row number from 1, cells); blank rows are kept out.
    pub rows: Vec<(u64, Vec<String>)>,
}

/// Every sheet of the file `name`, in the workbook's order, with the encoding its text was in:
/// card companies put a summary on the first sheet and the lines on later ones (`청구요약`,
/// then `일시불` and `할부`). Text files are one sheet.
pub fn read_workbook(name: &str, bytes: &[u8]) -> Result<(&'static str, Vec<Sheet>), TableError> {
    read_sheets(name, bytes, true)
}

/// The first sheet of `name` (`every` false) or all of them: `.xlsx` / `.xls` workbooks by
/// their sheets, anything else as delimited text, one sheet without a name.
fn read_sheets(
    name: &str,
    bytes: &[u8],
    every: bool,
) -> Result<(&'static str, Vec<Sheet>), TableError> {
    let fail = |message: String| TableError {
        file: name.to_owned(),
        message,
    };
    let lower = name.to_ascii_lowercase();
    let (encoding, sheets) = if lower.ends_with(".xlsx") || bytes.starts_with(b"PK\x03\x04") {
        let sheets = crate::xlsx::sheets_rows(Cursor::new(bytes), every)
            .map_err(fail)?
            .into_iter()
            .map(|(name, rows)| Sheet { name, rows })
            .collect();
        ("XLSX", sheets)
    } else if lower.ends_with(".xls") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        // BIFF8 bounds a sheet at 65,536 rows by 256 columns, so each dense range is bounded;
        // the sheets together get the cell budget of one XLSX sheet, so that many sheets do not
        // multiply it.
        let sheets = crate::xlsx::survive_panics(|| {
            let mut book = Xls::new(Cursor::new(bytes))
                .map_err(|e| format!("not a readable .xls workbook: {e}"))?;
            let names = book.sheet_names();
            if names.is_empty() {
                return Err("the workbook has no worksheet".into());
            }
            let wanted = if every { names.len() } else { 1 };
            let mut sheets = Vec::with_capacity(wanted);
            let mut cells: u64 = 0;
            for (i, sheet) in names.into_iter().take(wanted).enumerate() {
                let range = book
                    .worksheet_range_at(i)
                    .ok_or("the workbook has no worksheet")?
                    .map_err(|e| format!("cannot read the worksheet {sheet}: {e}"))?;
                let (height, width) = range.get_size();
                cells += (height * width) as u64;
                if cells > crate::MAX_SHEET_CELLS {
                    return Err(format!(
                        "the worksheets up to {sheet} span {cells} cells, more than the {} an \
                         import takes",
                        crate::MAX_SHEET_CELLS
                    ));
                }
                sheets.push(Sheet {
                    name: sheet,
                    rows: sheet_rows(&range),
                });
            }
            Ok(sheets)
        })
        .map_err(fail)?;
        ("XLS", sheets)
    } else {
        let grid = read_text_grid(name, bytes)?;
        (
            grid.encoding,
            vec![Sheet {
                name: String::new(),
                rows: grid.rows,
            }],
        )
    };
    for sheet in &sheets {
        crate::refuse_nul_rows(name, &sheet.rows)?;
    }
    Ok((encoding, sheets))
}

/// Text in an unknown encoding, decoded; the name says which encoding it was.
pub fn decode_text(bytes: &[u8]) -> Result<(Cow<'_, str>, &'static str), String> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .map(|t| (Cow::Borrowed(t), "UTF-8 (BOM)"))
            .map_err(|e| {
                format!(
                    "starts as UTF-8 but byte {} is not UTF-8",
                    e.valid_up_to() + 3
                )
            });
    }
    let utf16 = |encoding: &'static encoding_rs::Encoding, name: &'static str, body: &[u8]| {
        let (text, had_errors) = encoding.decode_without_bom_handling(body);
        if had_errors {
            Err(format!("is not valid {name} text"))
        } else {
            Ok((Cow::Owned(text.into_owned()), name))
        }
    };
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(encoding_rs::UTF_16LE, "UTF-16LE", rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(encoding_rs::UTF_16BE, "UTF-16BE", rest);
    }
    // UTF-16 without a mark: ASCII characters leave a zero in every other byte.
    let sample = &bytes[..bytes.len().min(4096)];
    let zeros_at = |parity: usize| {
        sample
            .iter()
            .skip(parity)
            .step_by(2)
            .filter(|b| **b == 0)
            .count()
    };
    if sample.len() >= 4 && zeros_at(1) * 3 > sample.len() / 2 {
        return utf16(encoding_rs::UTF_16LE, "UTF-16LE", bytes);
    }
    if sample.len() >= 4 && zeros_at(0) * 3 > sample.len() / 2 {
        return utf16(encoding_rs::UTF_16BE, "UTF-16BE", bytes);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((Cow::Borrowed(text), "UTF-8"));
    }
    // WHATWG's EUC-KR is Windows code page 949, the superset Korean Windows writes.
    let (text, had_errors) = encoding_rs::EUC_KR.decode_without_bom_handling(bytes);
    if had_errors {
        return Err("is neither UTF-8, UTF-16 nor CP949 (EUC-KR) text".into());
    }
    Ok((Cow::Owned(text.into_owned()), "CP949"))
}

/// Reads `bytes` of the file `name`: `.xlsx` / `.xls` by their first sheet, anything else as
/// delimited text (comma, or tab when the first lines have more tabs than commas).
pub fn read_grid(name: &str, bytes: &[u8]) -> Result<Grid, TableError> {
    let (encoding, sheets) = read_sheets(name, bytes, false)?;
    Ok(Grid {
        encoding,
        rows: sheets
            .into_iter()
            .next()
            .map(|sheet| sheet.rows)
            .unwrap_or_default(),
    })
}

/// Delimited text in any of the encodings [`decode_text`] knows.
fn read_text_grid(name: &str, bytes: &[u8]) -> Result<Grid, TableError> {
    let fail = |message: String| TableError {
        file: name.to_owned(),
        message,
    };
    let (text, encoding) = decode_text(bytes).map_err(|e| fail(format!("the file {e}")))?;
    let head: String = text.lines().take(20).collect();
    let delimiter = if head.matches('\t').count() > head.matches(',').count() {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    // Line numbers counted from byte offsets: the reader's own skip blank lines and CRLF.
    let (mut counted_to, mut line) = (0usize, 1u64);
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let mut start = record.position().map_or(counted_to, |p| p.byte() as usize);
                // After a CR the reader's position can sit on the LF that ends the last row.
                while text
                    .as_bytes()
                    .get(start)
                    .is_some_and(|b| matches!(b, b'\r' | b'\n'))
                {
                    start += 1;
                }
                if start > counted_to {
                    line += text.as_bytes()[counted_to..start]
                        .iter()
                        .filter(|b| **b == b'\n')
                        .count() as u64;
                    counted_to = start;
                }
                if record.iter().any(|c| !c.trim().is_empty()) {
                    rows.push((line, record.iter().map(|c| c.trim().to_owned()).collect()));
                }
            }
            Err(e) => return Err(fail(format!("unreadable text table: {e}"))),
        }
    }
    Ok(Grid { encoding, rows })
}

fn sheet_rows(range: &calamine::Range<calamine::Data>) -> Vec<(u64, Vec<String>)> {
    let first_row = u64::from(range.start().map_or(0, |(row, _)| row));
    range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            (
                first_row + i as u64 + 1,
                cells.iter().map(cell_text).collect::<Vec<_>>(),
            )
        })
        .filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test helpers fail loudly

    use super::*;

    const TEXT: &str =
        "카드 이용내역\n이용일자,이용가맹점,이용금액\n2026.11.02,스타벅스 강남점,\"5,600\"\n";

    fn encode_utf16(text: &str, little: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend(if little { [0xFF, 0xFE] } else { [0xFE, 0xFF] });
        }
        for unit in text.encode_utf16() {
            out.extend(if little {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            });
        }
        out
    }

    fn cells(grid: &Grid) -> Vec<Vec<String>> {
        grid.rows.iter().map(|(_, c)| c.clone()).collect()
    }

    #[test]
    fn every_encoding_reads_the_same_cells() {
        let expected = cells(&read_grid("a.csv", TEXT.as_bytes()).unwrap());
        assert_eq!(expected[2], ["2026.11.02", "스타벅스 강남점", "5,600"]);
        let (cp949, _, _) = encoding_rs::EUC_KR.encode(TEXT);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend(TEXT.as_bytes());
        for (bytes, encoding) in [
            (TEXT.as_bytes().to_vec(), "UTF-8"),
            (bom, "UTF-8 (BOM)"),
            (cp949.into_owned(), "CP949"),
            (encode_utf16(TEXT, true, true), "UTF-16LE"),
            (encode_utf16(TEXT, false, true), "UTF-16BE"),
            (encode_utf16(TEXT, true, false), "UTF-16LE"),
        ] {
            let grid = read_grid("a.csv", &bytes).unwrap();
            assert_eq!(grid.encoding, encoding);
            assert_eq!(cells(&grid), expected, "{encoding}");
        }
    }

    #[test]
    fn tabs_are_found_and_row_numbers_kept() {
        let grid = read_grid(
            "a.txt",
            "제목\n\n날짜\t금액\n2026-11-02\t1,000\n".as_bytes(),
        )
        .unwrap();
        assert_eq!(grid.rows[1], (3, vec!["날짜".into(), "금액".into()]));
        assert_eq!(grid.rows[2].0, 4);
    }

    #[test]
    fn bytes_that_are_no_known_encoding_are_an_error_naming_the_file() {
        let error = read_grid("bad.csv", &[0x80, 0xFF, 0xFE, 0x81, 0x00, 0x41]).unwrap_err();
        assert_eq!(error.file, "bad.csv");
        assert!(error.message.contains("CP949"), "{error}");
        let error = read_grid("x.xlsx", b"PK\x03\x04 not really").unwrap_err();
        assert!(error.message.contains("xlsx"), "{error}");
    }
}
