//! The worksheets of an XLSX workbook, read cell by cell.
//!
//! calamine's `worksheet_range` builds a dense grid spanning the sheet's first to last used
//! cell, so a two-cell workbook with cells at `A1` and `XFD1048576` asks for 17 billion cells.
//! Reading the cells one at a time keeps memory proportional to the cells the file really
//! holds, and lets a budget refuse the rest. A panic inside calamine on a damaged file (its
//! cell-reference arithmetic can overflow) becomes an error for that file, not a crash of
//! the request or job reading it.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::panic::AssertUnwindSafe;

use calamine::{Data, Reader, Xlsx};

use crate::cell_text;

/// Excel's grid: 1,048,576 rows by 16,384 columns.
const MAX_ROWS: u32 = 1 << 20;
const MAX_COLUMNS: u32 = 1 << 14;

/// The most cells a sheet may span (its used rows times its used columns): 10 million, above
/// Excel's row limit times a forecast's six columns, and at most a few hundred MiB.
pub const MAX_SHEET_CELLS: u64 = 10_000_000;

/// The first worksheet of the XLSX workbook `reader` holds, as (spreadsheet row number from
/// 1, cells), every row as wide as the sheet's used columns, starting at its first used row and
/// column (calamine's `Range` view); rows with no text are left out.
pub(crate) fn first_sheet_rows<R: Read + Seek>(
    reader: R,
) -> Result<Vec<(u64, Vec<String>)>, String> {
    let mut sheets = sheets_rows(reader, false)?;
    Ok(sheets.pop().map(|(_, rows)| rows).unwrap_or_default())
}

/// The first worksheet (`every` false) or every worksheet of the XLSX workbook `reader`
/// holds, by name, each read as [`first_sheet_rows`] reads one; together they may span at most
/// [`MAX_SHEET_CELLS`].
pub(crate) fn sheets_rows<R: Read + Seek>(
    mut reader: R,
    every: bool,
) -> Result<Vec<SheetRows>, String> {
    survive_panics(|| {
        let mut workbook = open_workbook(&mut reader)?;
        let names = workbook.sheet_names();
        if names.is_empty() {
            return Err("the workbook has no worksheet".into());
        }
        let wanted = if every { names.len() } else { 1 };
        let mut budget = MAX_SHEET_CELLS;
        let mut sheets = Vec::with_capacity(wanted);
        for name in names.into_iter().take(wanted) {
            let rows = read_sheet(&mut workbook, &name, budget)?;
            let width = rows.first().map_or(0, |(_, cells)| cells.len()) as u64;
            budget = budget.saturating_sub(width * rows.len() as u64);
            sheets.push((name, rows));
        }
        Ok(sheets)
    })
}

/// The workbook, once its parts passed [`check_parts`].
fn open_workbook<R: Read + Seek>(reader: &mut R) -> Result<Xlsx<&mut R>, String> {
    check_parts(reader)?;
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| format!("cannot read the workbook: {e}"))?;
    Xlsx::new(reader).map_err(|e| format!("not a readable .xlsx workbook: {e}"))
}

/// A worksheet's name and its rows.
pub(crate) type SheetRows = (String, Vec<(u64, Vec<String>)>);

/// The most strings a workbook's shared-string table may declare: one per cell of the largest
/// sheet an import takes.
const MAX_SHARED_STRINGS: u64 = MAX_SHEET_CELLS;

/// The most one part of a workbook may hold uncompressed: 512 MiB, several times the sheet
/// of a million-line statement. The zip reader refuses a part that grows past its declared
/// size, so the declared sizes bound what calamine can be made to hold.
pub const MAX_PART_BYTES: u64 = 512 << 20;
/// The highest compression ratio of a part above 16 MiB: spreadsheet XML compresses about 5 to
/// 30 times; a cell of 200 million repeated characters compresses a thousand times.
pub const MAX_PART_RATIO: u64 = 100;

/// Refuses a workbook whose parts would expand past [`MAX_PART_BYTES`] or by more than
/// [`MAX_PART_RATIO`] (a compression bomb: a 196 KB file with one 200 MB cell), then a
/// shared-string table it cannot back ([`check_string_table`]), before calamine reads it.
fn check_parts<R: Read + Seek>(reader: &mut R) -> Result<(), String> {
    if let Ok(mut archive) = zip::ZipArchive::new(&mut *reader) {
        for i in 0..archive.len() {
            let Ok(part) = archive.by_index_raw(i) else {
                continue;
            };
            let (size, compressed) = (part.size(), part.compressed_size().max(1));
            let name = part.name().map(|n| n.into_owned()).unwrap_or_default();
            if size > MAX_PART_BYTES || (size > 16 << 20 && size / compressed > MAX_PART_RATIO) {
                return Err(format!(
                    "its part {name} expands from {compressed} to {size} bytes, more than a \
                     spreadsheet's data does: the workbook is refused"
                ));
            }
        }
    }
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| format!("cannot read the workbook: {e}"))?;
    check_string_table(reader)
}

/// Refuses a shared-string table whose `uniqueCount` the file cannot back: calamine reserves
/// room for that many strings before reading one, so `uniqueCount="4294967296"` in a 6 KB file
/// asks for 96 GiB and aborts the process. Every string takes at least 5 bytes of XML
/// (`<si/>`), so the part must be at least 5 bytes per declared string; it is read only that
/// far.
fn check_string_table<R: Read + Seek>(reader: &mut R) -> Result<(), String> {
    let Ok(mut archive) = zip::ZipArchive::new(&mut *reader) else {
        // Not a zip: calamine says what is wrong with it.
        return Ok(());
    };
    let tables: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| n.to_ascii_lowercase().ends_with("sharedstrings.xml"))
        .map(|n| n.into_owned())
        .collect();
    for name in tables {
        let Ok(mut part) = archive.by_name(&name) else {
            continue;
        };
        let mut head = Vec::with_capacity(4096);
        let _ = (&mut part).take(4096).read_to_end(&mut head);
        let Some(declared) = unique_count(&head) else {
            continue;
        };
        if declared > MAX_SHARED_STRINGS {
            return Err(format!(
                "its shared-string table declares {declared} strings, more than the \
                 {MAX_SHARED_STRINGS} an import takes"
            ));
        }
        let needed = declared * 5;
        let backed = head.len() as u64
            + std::io::copy(&mut (&mut part).take(needed), &mut std::io::sink()).unwrap_or(0);
        if backed < needed {
            return Err(format!(
                "its shared-string table declares {declared} strings but holds {backed} bytes: \
                 the workbook is damaged"
            ));
        }
    }
    Ok(())
}

/// The `uniqueCount` attribute of the `<sst>` element at the start of a shared-string part.
fn unique_count(head: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(head);
    let sst = text.find("<sst")?;
    let element = &text[sst..text[sst..].find('>').map_or(text.len(), |end| sst + end)];
    let value = element.split("uniqueCount=").nth(1)?;
    let value = value.trim_start_matches(['"', '\'']);
    let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
    // More digits than a u64 holds: certainly too many.
    Some(digits.parse::<u64>().unwrap_or(u64::MAX))
}

/// Runs a third-party parser on outside input: a panic in it is an error for that file.
pub(crate) fn survive_panics<T>(read: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(AssertUnwindSafe(read))
        .unwrap_or_else(|_| Err("the workbook is damaged and cannot be read".to_owned()))
}

/// The sheet `name`, refused when it spans more than `budget` cells.
fn read_sheet<R: Read + Seek>(
    workbook: &mut Xlsx<R>,
    name: &str,
    budget: u64,
) -> Result<Vec<(u64, Vec<String>)>, String> {
    let mut reader = workbook
        .worksheet_cells_reader(name)
        .map_err(|e| format!("cannot read the worksheet {name}: {e}"))?;
    let mut rows: BTreeMap<u32, BTreeMap<u32, String>> = BTreeMap::new();
    let (mut first_col, mut last_col) = (u32::MAX, 0u32);
    loop {
        let cell = reader
            .next_cell()
            .map_err(|e| format!("cannot read the worksheet {name}: {e}"))?;
        let Some(cell) = cell else { break };
        let (row, col) = cell.get_position();
        if row >= MAX_ROWS || col >= MAX_COLUMNS {
            return Err(format!(
                "a cell at row {}, column {} is outside Excel's grid",
                u64::from(row) + 1,
                u64::from(col) + 1
            ));
        }
        let text = cell_text(&Data::from(cell.get_value().clone()));
        // Empty cells count toward the sheet's extent, as in calamine's range.
        first_col = first_col.min(col);
        last_col = last_col.max(col);
        let line = rows.entry(row).or_default();
        if !text.is_empty() {
            line.insert(col, text);
        }
        let (Some((&top, _)), Some((&bottom, _))) = (rows.first_key_value(), rows.last_key_value())
        else {
            continue;
        };
        let span = u64::from(bottom - top + 1) * u64::from(last_col - first_col + 1);
        if span > budget {
            return Err(format!(
                "the worksheet {name} spans {span} cells (rows {} to {}, {} columns), more than \
                 the {MAX_SHEET_CELLS} an import takes",
                top + 1,
                bottom + 1,
                last_col - first_col + 1
            ));
        }
    }
    let width = if rows.is_empty() {
        0
    } else {
        (last_col - first_col + 1) as usize
    };
    Ok(rows
        .into_iter()
        // Only text is kept per row, so a row without any is blank.
        .filter(|(_, cells)| !cells.is_empty())
        .map(|(row, cells)| {
            let mut line = vec![String::new(); width];
            for (col, text) in cells {
                line[(col - first_col) as usize] = text;
            }
            (u64::from(row) + 1, line)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use crate::read_grid;

    fn workbook(cells: &[(u32, u16, &str)]) -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (row, col, text) in cells {
            sheet
                .write_string(*row, *col, *text)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        book.save_to_buffer().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn two_far_apart_cells_are_refused_instead_of_a_17_billion_cell_grid() {
        let bomb = workbook(&[(0, 0, "a"), (1_048_575, 16_383, "b")]);
        assert!(bomb.len() < 10_000);
        let error = read_grid("bomb.xlsx", &bomb).err().map(|e| e.to_string());
        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.starts_with("bomb.xlsx: the worksheet Sheet1 spans")),
            "{error:?}"
        );
    }

    /// `workbook` with its shared-string table's `uniqueCount` replaced by `count`.
    fn with_unique_count(book: &[u8], count: &str) -> Vec<u8> {
        use std::io::{Read, Write};
        let mut archive =
            zip::ZipArchive::new(std::io::Cursor::new(book)).unwrap_or_else(|e| panic!("{e}"));
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for i in 0..archive.len() {
            let mut part = archive.by_index(i).unwrap_or_else(|e| panic!("{e}"));
            let name = part.name().unwrap_or_else(|e| panic!("{e}")).into_owned();
            let mut text = String::new();
            part.read_to_string(&mut text)
                .unwrap_or_else(|e| panic!("{e}"));
            if name.ends_with("sharedStrings.xml") {
                let at = text
                    .find("uniqueCount=\"")
                    .unwrap_or_else(|| panic!("{text}"))
                    + 13;
                let end = at + text[at..].find('"').unwrap_or(0);
                text.replace_range(at..end, count);
            }
            out.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap_or_else(|e| panic!("{e}"));
            out.write_all(text.as_bytes())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        out.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
    }

    #[test]
    fn a_shared_string_count_the_file_cannot_back_is_refused_before_calamine_reserves_it() {
        let book = workbook(&[(0, 0, "date"), (0, 1, "amount"), (1, 0, "2026-11-01")]);
        for count in ["4294967296", "99999999999999999999999", "100000"] {
            let error = read_grid("bomb.xlsx", &with_unique_count(&book, count))
                .err()
                .map(|e| e.to_string());
            assert!(
                error
                    .as_deref()
                    .is_some_and(|e| e.contains("shared-string table declares")),
                "{count}: {error:?}"
            );
        }
        let honest = read_grid("ok.xlsx", &with_unique_count(&book, "3"));
        assert!(honest.is_ok(), "{honest:?}");
    }

    #[test]
    fn rows_start_at_the_first_used_cell_and_are_as_wide_as_the_sheet() {
        let book = workbook(&[
            (2, 1, "date"),
            (2, 2, "amount"),
            (4, 1, "2026-11-01"),
            (4, 3, "x"),
        ]);
        let grid = read_grid("a.xlsx", &book).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            grid.rows,
            vec![
                (
                    3,
                    vec!["date".to_owned(), "amount".to_owned(), String::new()]
                ),
                (
                    5,
                    vec!["2026-11-01".to_owned(), String::new(), "x".to_owned()]
                ),
            ]
        );
    }
}
