//! `adpool-tables`: tabular files read row by row, for every importer (forecasts, shop
//! exports, ...): CSV streamed from disk, XLSX from its first sheet; and whole files read as a
//! grid with no header assumed, in whatever encoding Korean exports come in ([`read_grid`]:
//! UTF-8 with or without a BOM, UTF-16, CP949), for statements with titles above the header.
//!
//! Every cell becomes text the way a person reads it (an Excel date cell becomes
//! `YYYY-MM-DD`, a whole-number cell `123`), so one validator serves both formats and the same
//! data in CSV or XLSX imports identically. It owns no domain rules.

mod grid;
mod xlsx;

use std::path::Path;

pub use grid::{Grid, Sheet, decode_text, read_grid, read_workbook};
pub use xlsx::{MAX_PART_BYTES, MAX_PART_RATIO, MAX_SHEET_CELLS};

use calamine::Data;

/// The file cannot be read at all (missing, wrong format, unreadable header or record).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct TableError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

/// A source of rows: the header first, then data rows with their spreadsheet row numbers.
pub trait RowSource: Send {
    /// The header cells.
    fn header(&self) -> &[String];
    /// The next data row as (row number, cells), `None` at the end.
    fn next_row(&mut self) -> Option<Result<(u64, Vec<String>), TableError>>;
}

pub struct CsvSource {
    file: String,
    reader: csv::Reader<std::fs::File>,
    header: Vec<String>,
    record: csv::StringRecord,
}

impl CsvSource {
    /// Opens a CSV file; the header is its first record (a UTF-8 byte-order mark is dropped).
    pub fn open(path: &Path) -> Result<Self, TableError> {
        let file = path.display().to_string();
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_path(path)
            .map_err(|e| TableError {
                file: file.clone(),
                message: e.to_string(),
            })?;
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| TableError {
                file: file.clone(),
                message: format!("cannot read the header: {e}"),
            })?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_owned())
            .collect();
        refuse_nul(&file, 1, &header)?;
        Ok(CsvSource {
            file,
            reader,
            header,
            record: csv::StringRecord::new(),
        })
    }
}

impl RowSource for CsvSource {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn next_row(&mut self) -> Option<Result<(u64, Vec<String>), TableError>> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                let row = self.record.position().map_or(0, |p| p.line());
                let cells: Vec<String> = self.record.iter().map(str::to_owned).collect();
                Some(refuse_nul(&self.file, row, &cells).map(|()| (row, cells)))
            }
            Err(e) => Some(Err(TableError {
                file: self.file.clone(),
                message: e.to_string(),
            })),
        }
    }
}

pub struct XlsxSource {
    header: Vec<String>,
    rows: std::vec::IntoIter<(u64, Vec<String>)>,
}

impl XlsxSource {
    /// Reads the first worksheet. XLSX is a zip of XML, so the sheet is read whole, cell by
    /// cell, up to [`MAX_SHEET_CELLS`]. CSV is the streaming format for big files.
    pub fn open(path: &Path) -> Result<Self, TableError> {
        let file = path.display().to_string();
        let fail = |message: String| TableError {
            file: file.clone(),
            message,
        };
        let workbook =
            std::fs::File::open(path).map_err(|e| fail(format!("cannot open the file: {e}")))?;
        let rows = xlsx::first_sheet_rows(std::io::BufReader::new(workbook)).map_err(fail)?;
        refuse_nul_rows(&file, &rows)?;
        let mut rows = rows.into_iter();
        let header = rows.next().map(|(_, cells)| cells).unwrap_or_default();
        let data: Vec<(u64, Vec<String>)> = rows.collect();
        Ok(XlsxSource {
            header,
            rows: data.into_iter(),
        })
    }
}

impl RowSource for XlsxSource {
    fn header(&self) -> &[String] {
        &self.header
    }

    fn next_row(&mut self) -> Option<Result<(u64, Vec<String>), TableError>> {
        self.rows.next().map(Ok)
    }
}

/// The longest cell text taken: 32,767 characters, Excel's own limit for a cell.
pub const MAX_CELL_CHARS: usize = 32_767;

/// Refuses a row with a NUL character in a cell (no text column can store one; PostgreSQL
/// refuses it outright) or a cell longer than [`MAX_CELL_CHARS`], naming the row and column.
pub(crate) fn refuse_nul(file: &str, row: u64, cells: &[String]) -> Result<(), TableError> {
    let refuse = |column: usize, what: String| TableError {
        file: file.to_owned(),
        message: format!("row {row}, column {}: {what}", column + 1),
    };
    if let Some(column) = cells.iter().position(|c| c.contains('\0')) {
        return Err(refuse(
            column,
            "the cell holds a NUL character (\\0), which is not text".into(),
        ));
    }
    // Bytes first: only a long cell is counted in characters.
    if let Some(column) = cells
        .iter()
        .position(|c| c.len() > MAX_CELL_CHARS && c.chars().count() > MAX_CELL_CHARS)
    {
        return Err(refuse(
            column,
            format!(
                "the cell holds {} characters, more than the {MAX_CELL_CHARS} a spreadsheet cell can",
                cells[column].chars().count()
            ),
        ));
    }
    Ok(())
}

/// [`refuse_nul`] for every row of a sheet read whole.
pub(crate) fn refuse_nul_rows(file: &str, rows: &[(u64, Vec<String>)]) -> Result<(), TableError> {
    rows.iter()
        .try_for_each(|(row, cells)| refuse_nul(file, *row, cells))
}

/// A cell as a person reads it.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(text) => text.trim().to_owned(),
        Data::Int(value) => value.to_string(),
        Data::Float(value) if value.fract() == 0.0 && value.abs() < 9.0e15 => {
            format!("{}", *value as i64)
        }
        Data::Float(value) => value.to_string(),
        Data::Bool(value) => value.to_string(),
        // A date cell reads as its day; one with a time of day (an order placed at 14:05) keeps
        // the time, to the second.
        Data::DateTime(value) => value.as_datetime().map_or_else(
            || value.to_string(),
            |dt| {
                if dt.time() == chrono::NaiveTime::MIN {
                    dt.format("%Y-%m-%d").to_string()
                } else {
                    dt.format("%Y-%m-%d %H:%M:%S").to_string()
                }
            },
        ),
        Data::DateTimeIso(text) => text.get(..10).unwrap_or(text).to_owned(),
        Data::DurationIso(text) => text.clone(),
        Data::Error(error) => format!("#{error:?}"),
    }
}

/// Opens `path` by its extension (`.csv` or `.xlsx`).
pub fn open(path: &Path) -> Result<Box<dyn RowSource>, TableError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match extension.as_str() {
        "csv" => Ok(Box::new(CsvSource::open(path)?)),
        "xlsx" => Ok(Box::new(XlsxSource::open(path)?)),
        _ => Err(TableError {
            file: path.display().to_string(),
            message: format!("unsupported file type '.{extension}': use .csv or .xlsx"),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test helpers fail loudly

    use super::*;

    fn all_rows(path: &Path) -> (Vec<String>, Vec<(u64, Vec<String>)>) {
        let mut source = open(path).unwrap();
        let header = source.header().to_vec();
        let mut rows = Vec::new();
        while let Some(row) = source.next_row() {
            rows.push(row.unwrap());
        }
        (header, rows)
    }

    #[test]
    fn a_nul_character_in_a_cell_refuses_the_file_naming_row_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "day,qty\n2026-11-20,3\n2026-11-21,4\0\n").unwrap();
        let mut source = open(&path).unwrap();
        assert!(source.next_row().unwrap().is_ok());
        let error = source.next_row().unwrap().unwrap_err().to_string();
        assert!(
            error.ends_with(
                "row 3, column 2: the cell holds a NUL character (\\0), which is not text"
            ),
            "{error}"
        );
        let grid = read_grid("s.csv", b"a,b\nc,d\0e\n")
            .unwrap_err()
            .to_string();
        assert!(grid.contains("row 2, column 2"), "{grid}");
    }

    #[test]
    fn the_same_table_reads_the_same_from_csv_and_xlsx() {
        let dir = tempfile::tempdir().unwrap();
        let csv_path = dir.path().join("t.csv");
        std::fs::write(&csv_path, "\u{feff}day,qty\n2026-11-20, 3\n2026-11-21,4\n").unwrap();
        let xlsx_path = dir.path().join("t.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "day").unwrap();
        sheet.write_string(0, 1, "qty").unwrap();
        let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        for (row, (day, qty)) in [(20u8, 3.0), (21, 4.0)].into_iter().enumerate() {
            let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 11, day).unwrap();
            let row = u32::try_from(row).unwrap() + 1;
            sheet
                .write_datetime_with_format(row, 0, &date, &format)
                .unwrap();
            sheet.write_number(row, 1, qty).unwrap();
        }
        book.save(&xlsx_path).unwrap();
        let (csv_header, csv_rows) = all_rows(&csv_path);
        let (xlsx_header, xlsx_rows) = all_rows(&xlsx_path);
        assert_eq!(csv_header, vec!["day", "qty"]);
        assert_eq!(csv_header, xlsx_header);
        assert_eq!(csv_rows, xlsx_rows);
        assert_eq!(csv_rows[1], (3, vec!["2026-11-21".into(), "4".into()]));
        let error = open(&dir.path().join("t.ods")).err().unwrap();
        assert!(error.to_string().contains("use .csv or .xlsx"), "{error}");
    }
}
