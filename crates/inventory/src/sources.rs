//! Reading tabular files row by row: CSV streamed from disk, XLSX from its first sheet.
//!
//! Every cell becomes text the way a person reads it (an Excel date cell becomes
//! `YYYY-MM-DD`, a whole-number cell `123`), so one validator serves both formats and the same
//! data in CSV or XLSX imports identically.

use std::path::Path;

use calamine::{Data, Reader, Xlsx, open_workbook};

use crate::InventoryError;

/// A source of rows: the header first, then data rows with their spreadsheet row numbers.
pub(crate) trait RowSource: Send {
    /// The header cells.
    fn header(&self) -> &[String];
    /// The next data row as (row number, cells), `None` at the end.
    fn next_row(&mut self) -> Option<Result<(u64, Vec<String>), InventoryError>>;
}

pub(crate) struct CsvSource {
    file: String,
    reader: csv::Reader<std::fs::File>,
    header: Vec<String>,
    record: csv::StringRecord,
}

impl CsvSource {
    pub(crate) fn open(path: &Path) -> Result<Self, InventoryError> {
        let file = path.display().to_string();
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_path(path)
            .map_err(|e| InventoryError::File {
                file: file.clone(),
                message: e.to_string(),
            })?;
        let header = reader
            .headers()
            .map_err(|e| InventoryError::File {
                file: file.clone(),
                message: format!("cannot read the header: {e}"),
            })?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_owned())
            .collect();
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

    fn next_row(&mut self) -> Option<Result<(u64, Vec<String>), InventoryError>> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                let row = self.record.position().map_or(0, |p| p.line());
                Some(Ok((row, self.record.iter().map(str::to_owned).collect())))
            }
            Err(e) => Some(Err(InventoryError::File {
                file: self.file.clone(),
                message: e.to_string(),
            })),
        }
    }
}

pub(crate) struct XlsxSource {
    header: Vec<String>,
    rows: std::vec::IntoIter<(u64, Vec<String>)>,
}

impl XlsxSource {
    /// Reads the first worksheet. XLSX is a zip of XML, so the sheet is read whole; its size is
    /// bounded by Excel's own 1,048,576-row limit. CSV is the streaming format for big files.
    pub(crate) fn open(path: &Path) -> Result<Self, InventoryError> {
        let file = path.display().to_string();
        let fail = |message: String| InventoryError::File {
            file: file.clone(),
            message,
        };
        let mut workbook: Xlsx<_> =
            open_workbook(path).map_err(|e| fail(format!("not a readable .xlsx workbook: {e}")))?;
        let range = workbook
            .worksheet_range_at(0)
            .ok_or_else(|| fail("the workbook has no worksheet".into()))?
            .map_err(|e| fail(format!("cannot read the first worksheet: {e}")))?;
        let first_row = u64::from(range.start().map_or(0, |(row, _)| row));
        let mut rows = range.rows().enumerate().map(|(i, cells)| {
            (
                first_row + i as u64 + 1,
                cells.iter().map(cell_text).collect::<Vec<_>>(),
            )
        });
        let header = rows.next().map(|(_, cells)| cells).unwrap_or_default();
        let data: Vec<(u64, Vec<String>)> = rows
            .filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()))
            .collect();
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

    fn next_row(&mut self) -> Option<Result<(u64, Vec<String>), InventoryError>> {
        self.rows.next().map(Ok)
    }
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
        Data::DateTime(value) => value
            .as_datetime()
            .map_or_else(|| value.to_string(), |dt| dt.format("%Y-%m-%d").to_string()),
        Data::DateTimeIso(text) => text.get(..10).unwrap_or(text).to_owned(),
        Data::DurationIso(text) => text.clone(),
        Data::Error(error) => format!("#{error:?}"),
    }
}

/// Opens `path` by its extension.
pub(crate) fn open(path: &Path) -> Result<Box<dyn RowSource>, InventoryError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match extension.as_str() {
        "csv" => Ok(Box::new(CsvSource::open(path)?)),
        "xlsx" => Ok(Box::new(XlsxSource::open(path)?)),
        _ => Err(InventoryError::File {
            file: path.display().to_string(),
            message: format!("unsupported file type '.{extension}': use .csv or .xlsx"),
        }),
    }
}
