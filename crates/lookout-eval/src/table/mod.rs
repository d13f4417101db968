//! Time-series CSV tables: the input format shared by `lookout detect`, the benches and the NAB
//! reader.
//!
//! # Format
//!
//! - A **header is required**. Its first column is the timestamp (any name); every other column
//!   is a numeric series named by its header cell. Header names are trimmed, must be non-empty
//!   and unique. A first line whose first cell parses as a timestamp is reported as a missing
//!   header rather than silently swallowed as column names.
//! - **Timestamps**: see [`timestamp`]: RFC 3339, `YYYY-MM-DD HH:MM:SS[.fff]` (UTC), or Unix
//!   seconds / milliseconds decided by magnitude (below 1e11 seconds, from 1e11 to 1e14
//!   milliseconds). Rows need not be in time order (NAB has duplicates and one step back): the
//!   table keeps file order, and consumers that need order check it themselves.
//! - **Values**: decimal numbers with optional exponent (`-1.03989471325e-05`), surrounding
//!   spaces allowed. Values must be finite: `inf`/`NaN` text is an error.
//! - **Missing values**: an empty cell is an error by default, because a silent NaN fed to a
//!   detector is a worse failure than a clear message. With [`TableOptions::allow_missing`], an
//!   empty cell or the text `NaN`/`nan` becomes `f64::NAN`.
//! - Line ends may be LF or CRLF; blank (or whitespace-only) lines are skipped; a UTF-8 byte-order mark is
//!   ignored; fields may be quoted.
//!
//! # Errors
//!
//! Every [`TableError`] displays as one line naming the file, the 1-based line and the reason,
//! e.g. `data.csv:17: column "cpu": "abc" is not a number`.
//!
//! # Cost
//!
//! [`TableReader`] streams: memory is one record plus the yielded [`Row`]. [`read_table`] keeps
//! the timestamps (8 bytes per row) and the values column-major (8 bytes per cell).

mod csv_io;
pub mod timestamp;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

pub(crate) use csv_io::{csv_reader, is_blank, FillBlankLines};
pub use timestamp::parse_timestamp_ms;

/// How a table is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableOptions {
    /// Accept empty cells (and `NaN`/`nan`) as missing values, read as `f64::NAN`.
    pub allow_missing: bool,
}

/// Why a table could not be read. Displays as `<path>[:<line>]: <reason>`.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: file is empty (a header line is required)", path.display())]
    Empty { path: PathBuf },
    #[error("{}: no data rows after the header", path.display())]
    NoRows { path: PathBuf },
    #[error("{}:{line}: missing header: the first line starts with the timestamp {first:?}; add a header such as \"timestamp,value\"", path.display())]
    MissingHeader {
        path: PathBuf,
        line: u64,
        first: String,
    },
    #[error("{}:{line}: header has only the timestamp column {name:?}; at least one value column is needed", path.display())]
    NoValueColumns {
        path: PathBuf,
        line: u64,
        name: String,
    },
    #[error("{}:{line}: header column {index} is empty", path.display())]
    EmptyColumnName {
        path: PathBuf,
        line: u64,
        index: usize,
    },
    #[error("{}:{line}: header names column {name:?} twice", path.display())]
    DuplicateColumn {
        path: PathBuf,
        line: u64,
        name: String,
    },
    #[error("{}:{line}: expected {expected} fields (as in the header), found {found}", path.display())]
    FieldCount {
        path: PathBuf,
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("{}:{line}: {text:?} is not a timestamp (RFC 3339, \"YYYY-MM-DD HH:MM:SS\", or Unix seconds/milliseconds)", path.display())]
    BadTimestamp {
        path: PathBuf,
        line: u64,
        text: String,
    },
    #[error("{}:{line}: column {column:?}: {text:?} is not a number", path.display())]
    BadNumber {
        path: PathBuf,
        line: u64,
        column: String,
        text: String,
    },
    #[error("{}:{line}: column {column:?}: {text:?} is not a finite number", path.display())]
    NotFinite {
        path: PathBuf,
        line: u64,
        column: String,
        text: String,
    },
    #[error("{}:{line}: column {column:?}: value is missing (empty cells are allowed only with the allow-missing option)", path.display())]
    MissingValue {
        path: PathBuf,
        line: u64,
        column: String,
    },
    #[error("{}:{line}: {message}", path.display())]
    Csv {
        path: PathBuf,
        line: u64,
        message: String,
    },
}

/// One data row, as yielded by [`TableReader`].
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based line number where the record starts.
    pub line: u64,
    /// The timestamp cell exactly as in the file (trimmed).
    pub timestamp: String,
    /// The timestamp in milliseconds since the Unix epoch, UTC.
    pub timestamp_ms: i64,
    /// One value per value column, in header order.
    pub values: Vec<f64>,
}

/// A whole table in memory, values stored column-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub path: PathBuf,
    /// Header name of the timestamp column.
    pub timestamp_column: String,
    /// Names of the value columns, in header order.
    pub columns: Vec<String>,
    pub timestamps_ms: Vec<i64>,
    /// `values[c][r]` is column `c` at row `r`.
    pub values: Vec<Vec<f64>>,
}

impl Table {
    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.timestamps_ms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.timestamps_ms.is_empty()
    }

    /// The values of the named column.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        let index = self.columns.iter().position(|c| c == name)?;
        Some(&self.values[index])
    }
}

/// Reads a whole table with default options (empty cells are errors, empty tables are errors).
pub fn read_table(path: &Path) -> Result<Table, TableError> {
    read_table_with(path, TableOptions::default())
}

/// Reads a whole table; fails on the first bad row, or with [`TableError::NoRows`] when the
/// header is followed by no data.
pub fn read_table_with(path: &Path, options: TableOptions) -> Result<Table, TableError> {
    let reader = TableReader::open_with(path, options)?;
    let mut table = Table {
        path: path.to_path_buf(),
        timestamp_column: reader.timestamp_column().to_string(),
        columns: reader.columns().to_vec(),
        timestamps_ms: Vec::new(),
        values: vec![Vec::new(); reader.columns().len()],
    };
    for row in reader {
        let row = row?;
        table.timestamps_ms.push(row.timestamp_ms);
        for (column, value) in table.values.iter_mut().zip(row.values) {
            column.push(value);
        }
    }
    if table.is_empty() {
        return Err(TableError::NoRows { path: table.path });
    }
    Ok(table)
}

/// Streaming reader: yields one [`Row`] per data record.
///
/// A bad row yields an error and iteration may continue with the next row (callers that want
/// to skip bad lines can); an I/O or CSV framing error ends the iteration.
pub struct TableReader<R: Read = File> {
    path: PathBuf,
    csv: csv::Reader<FillBlankLines<R>>,
    timestamp_column: String,
    columns: Vec<String>,
    options: TableOptions,
    record: csv::StringRecord,
    finished: bool,
}

impl fmt::Debug for TableReader<File> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableReader")
            .field("path", &self.path)
            .field("columns", &self.columns)
            .finish_non_exhaustive()
    }
}

impl TableReader<File> {
    /// Opens `path` and reads its header, with default options.
    pub fn open(path: &Path) -> Result<Self, TableError> {
        Self::open_with(path, TableOptions::default())
    }

    /// Opens `path` and reads its header.
    pub fn open_with(path: &Path, options: TableOptions) -> Result<Self, TableError> {
        let file = File::open(path).map_err(|source| TableError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_reader(path, file, options)
    }
}

impl<R: Read> TableReader<R> {
    /// Reads the header from `reader`; `path` is only used to name the source in errors.
    pub fn from_reader(
        path: impl Into<PathBuf>,
        reader: R,
        options: TableOptions,
    ) -> Result<Self, TableError> {
        let path = path.into();
        let mut csv = csv_reader(false, reader);
        let mut header = csv::StringRecord::new();
        let mut has_header = csv
            .read_record(&mut header)
            .map_err(|error| csv_error(&path, error))?;
        while has_header && is_blank(&header) {
            has_header = csv
                .read_record(&mut header)
                .map_err(|error| csv_error(&path, error))?;
        }
        let header_line = header.position().map_or(1, csv::Position::line);
        if !has_header {
            return Err(TableError::Empty { path });
        }
        let first = header.get(0).unwrap_or_default();
        if parse_timestamp_ms(first).is_some() {
            return Err(TableError::MissingHeader {
                path,
                line: header_line,
                first: first.to_string(),
            });
        }
        if header.len() < 2 {
            return Err(TableError::NoValueColumns {
                path,
                line: header_line,
                name: first.to_string(),
            });
        }
        let mut names: Vec<String> = Vec::with_capacity(header.len());
        for (index, name) in header.iter().enumerate() {
            if name.is_empty() {
                return Err(TableError::EmptyColumnName {
                    path,
                    line: header_line,
                    index: index + 1,
                });
            }
            if names.iter().any(|seen| seen == name) {
                return Err(TableError::DuplicateColumn {
                    path,
                    line: header_line,
                    name: name.to_string(),
                });
            }
            names.push(name.to_string());
        }
        let timestamp_column = names.remove(0);
        Ok(Self {
            path,
            csv,
            timestamp_column,
            columns: names,
            options,
            record: csv::StringRecord::new(),
            finished: false,
        })
    }

    /// The source's path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Header name of the timestamp column.
    pub fn timestamp_column(&self) -> &str {
        &self.timestamp_column
    }

    /// Names of the value columns, in header order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    fn parse_record(&self) -> Result<Row, TableError> {
        let record = &self.record;
        let line = record.position().map_or(0, csv::Position::line);
        let expected = self.columns.len() + 1;
        if record.len() != expected {
            return Err(TableError::FieldCount {
                path: self.path.clone(),
                line,
                expected,
                found: record.len(),
            });
        }
        let timestamp = &record[0];
        let timestamp_ms =
            parse_timestamp_ms(timestamp).ok_or_else(|| TableError::BadTimestamp {
                path: self.path.clone(),
                line,
                text: timestamp.to_string(),
            })?;
        let values = self
            .columns
            .iter()
            .zip(record.iter().skip(1))
            .map(|(column, text)| self.parse_value(line, column, text))
            .collect::<Result<Vec<f64>, TableError>>()?;
        Ok(Row {
            line,
            timestamp: timestamp.to_string(),
            timestamp_ms,
            values,
        })
    }

    fn parse_value(&self, line: u64, column: &str, text: &str) -> Result<f64, TableError> {
        let is_missing = text.is_empty() || text == "NaN" || text == "nan";
        if is_missing && self.options.allow_missing {
            return Ok(f64::NAN);
        }
        if text.is_empty() {
            return Err(TableError::MissingValue {
                path: self.path.clone(),
                line,
                column: column.to_string(),
            });
        }
        let Ok(value) = text.parse::<f64>() else {
            return Err(TableError::BadNumber {
                path: self.path.clone(),
                line,
                column: column.to_string(),
                text: text.to_string(),
            });
        };
        if !value.is_finite() {
            return Err(TableError::NotFinite {
                path: self.path.clone(),
                line,
                column: column.to_string(),
                text: text.to_string(),
            });
        }
        Ok(value)
    }
}

impl<R: Read> Iterator for TableReader<R> {
    type Item = Result<Row, TableError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.csv.read_record(&mut self.record) {
            Ok(true) if is_blank(&self.record) => self.next(),
            Ok(true) => Some(self.parse_record()),
            Ok(false) => {
                self.finished = true;
                None
            }
            Err(error) => {
                self.finished = true;
                Some(Err(csv_error(&self.path, error)))
            }
        }
    }
}

fn csv_error(path: &Path, error: csv::Error) -> TableError {
    let line = error.position().map_or(0, csv::Position::line);
    match error.into_kind() {
        csv::ErrorKind::Io(source) => TableError::Io {
            path: path.to_path_buf(),
            source,
        },
        csv::ErrorKind::Utf8 { err, .. } => TableError::Csv {
            path: path.to_path_buf(),
            line,
            message: format!("invalid UTF-8 in field {}", err.field() + 1),
        },
        other => TableError::Csv {
            path: path.to_path_buf(),
            line,
            message: format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests;
