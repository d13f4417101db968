//! NSL-KDD connection records: the 41 named features, parsing with line and column errors.
//!
//! A line holds the 41 features (`duration,protocol_type,service,flag,src_bytes,...`),
//! optionally followed by the label (`normal` or an attack name) and the difficulty level
//! (0-21), the layout of `KDDTrain+.txt`. A header line whose first field is `duration` is
//! skipped; blank lines are skipped. Every numeric feature must be a finite number ≥ 0.

use std::io::BufRead;

/// The 41 feature names, in file order.
pub const FEATURE_NAMES: [&str; 41] = [
    "duration",
    "protocol_type",
    "service",
    "flag",
    "src_bytes",
    "dst_bytes",
    "land",
    "wrong_fragment",
    "urgent",
    "hot",
    "num_failed_logins",
    "logged_in",
    "num_compromised",
    "root_shell",
    "su_attempted",
    "num_root",
    "num_file_creations",
    "num_shells",
    "num_access_files",
    "num_outbound_cmds",
    "is_host_login",
    "is_guest_login",
    "count",
    "srv_count",
    "serror_rate",
    "srv_serror_rate",
    "rerror_rate",
    "srv_rerror_rate",
    "same_srv_rate",
    "diff_srv_rate",
    "srv_diff_host_rate",
    "dst_host_count",
    "dst_host_srv_count",
    "dst_host_same_srv_rate",
    "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate",
    "dst_host_srv_diff_host_rate",
    "dst_host_serror_rate",
    "dst_host_srv_serror_rate",
    "dst_host_rerror_rate",
    "dst_host_srv_rerror_rate",
];

/// Number of numeric features (all but protocol_type, service, flag).
pub const NUMERIC_FEATURES: usize = 38;

/// Column index (0-based, in [`FEATURE_NAMES`]) of each categorical feature.
pub const PROTOCOL_COLUMN: usize = 1;
pub const SERVICE_COLUMN: usize = 2;
pub const FLAG_COLUMN: usize = 3;

/// Names of the numeric features, in the order of [`ConnectionRecord::numeric`].
pub fn numeric_names() -> impl Iterator<Item = &'static str> {
    FEATURE_NAMES
        .iter()
        .enumerate()
        .filter(|(index, _)| !is_categorical(*index))
        .map(|(_, name)| *name)
}

fn is_categorical(column: usize) -> bool {
    matches!(column, PROTOCOL_COLUMN | SERVICE_COLUMN | FLAG_COLUMN)
}

/// One connection record: the 41 features.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionRecord {
    pub protocol: String,
    pub service: String,
    pub flag: String,
    /// The 38 numeric features in file order (duration, src_bytes, dst_bytes, land, ...).
    pub numeric: [f64; NUMERIC_FEATURES],
}

impl ConnectionRecord {
    /// The 41 features as one CSV line in file order (no label), as [`parse_line`] reads it.
    pub fn to_csv(&self) -> String {
        let mut line = String::with_capacity(160);
        let mut numeric = self.numeric.iter();
        for index in 0..FEATURE_NAMES.len() {
            if index > 0 {
                line.push(',');
            }
            match index {
                PROTOCOL_COLUMN => line.push_str(&self.protocol),
                SERVICE_COLUMN => line.push_str(&self.service),
                FLAG_COLUMN => line.push_str(&self.flag),
                _ => {
                    let value = numeric.next().copied().unwrap_or(0.0);
                    line.push_str(&value.to_string());
                }
            }
        }
        line
    }
}

/// A record with its label (`normal` or an attack name) and difficulty, when the file has them.
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledRecord {
    pub record: ConnectionRecord,
    pub label: Option<String>,
    pub difficulty: Option<u8>,
    /// 1-based line number in the source.
    pub line: usize,
}

impl LabeledRecord {
    /// `Some(true)` for an attack, `Some(false)` for `normal`, `None` without a label.
    pub fn is_attack(&self) -> Option<bool> {
        self.label.as_deref().map(|label| label != "normal")
    }
}

/// A record that could not be read: where and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordError {
    #[error("line {line}: {found} columns; expected 41 features, optionally followed by the label and the difficulty (42 or 43)")]
    ColumnCount { line: usize, found: usize },
    #[error("line {line}, column {column} ({name}): {problem}: {value:?}")]
    BadValue {
        line: usize,
        column: usize,
        name: &'static str,
        problem: &'static str,
        value: String,
    },
    #[error("line {line}: {message}")]
    Io { line: usize, message: String },
}

impl RecordError {
    fn bad(line: usize, index: usize, problem: &'static str, value: &str) -> Self {
        let name = FEATURE_NAMES.get(index).copied().unwrap_or(match index {
            41 => "label",
            _ => "difficulty",
        });
        RecordError::BadValue {
            line,
            column: index + 1,
            name,
            problem,
            value: value.chars().take(64).collect(),
        }
    }
}

/// Parses one line (`line` is its 1-based number, used in errors). `Ok(None)` for a blank
/// or header line.
pub fn parse_line(text: &str, line: usize) -> Result<Option<LabeledRecord>, RecordError> {
    let text = text.trim_end_matches(['\r', '\n']);
    if text.trim().is_empty() {
        return Ok(None);
    }
    let fields: Vec<&str> = text.split(',').map(str::trim).collect();
    if fields[0] == "duration" {
        return Ok(None);
    }
    if !(41..=43).contains(&fields.len()) {
        return Err(RecordError::ColumnCount {
            line,
            found: fields.len(),
        });
    }
    let mut numeric = [0.0; NUMERIC_FEATURES];
    let mut slot = 0;
    for (index, field) in fields.iter().take(41).enumerate() {
        if is_categorical(index) {
            if field.is_empty() {
                return Err(RecordError::bad(line, index, "empty value", field));
            }
            continue;
        }
        numeric[slot] =
            parse_numeric(field).map_err(|p| RecordError::bad(line, index, p, field))?;
        slot += 1;
    }
    let label = match fields.get(41) {
        Some(label) if label.is_empty() => {
            return Err(RecordError::bad(line, 41, "empty label", label))
        }
        Some(label) => Some(label.to_string()),
        None => None,
    };
    let difficulty = match fields.get(42) {
        Some(value) => Some(
            value
                .parse::<u8>()
                .map_err(|_| RecordError::bad(line, 42, "not an integer 0-255", value))?,
        ),
        None => None,
    };
    Ok(Some(LabeledRecord {
        record: ConnectionRecord {
            protocol: fields[PROTOCOL_COLUMN].to_string(),
            service: fields[SERVICE_COLUMN].to_string(),
            flag: fields[FLAG_COLUMN].to_string(),
            numeric,
        },
        label,
        difficulty,
        line,
    }))
}

/// A numeric feature value: finite and not negative.
pub fn parse_numeric(field: &str) -> Result<f64, &'static str> {
    let value: f64 = field.parse().map_err(|_| "not a number")?;
    if !value.is_finite() {
        return Err("not a finite number");
    }
    if value < 0.0 {
        return Err("negative");
    }
    Ok(value)
}

/// Reads every record of a file; the first bad line is the error.
pub fn read_records(reader: impl BufRead) -> Result<Vec<LabeledRecord>, RecordError> {
    let mut records = Vec::new();
    for (index, text) in reader.lines().enumerate() {
        let line = index + 1;
        let text = text.map_err(|error| RecordError::Io {
            line,
            message: error.to_string(),
        })?;
        if let Some(record) = parse_line(&text, line)? {
            records.push(record);
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW: &str = "0,tcp,private,S0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,123,6,1.00,1.00,0.00,0.00,0.05,0.07,0.00,255,26,0.10,0.05,0.00,0.00,1.00,1.00,0.00,0.00";

    #[test]
    fn parses_43_42_and_41_columns() {
        let full = parse_line(&format!("{ROW},neptune,19"), 3)
            .unwrap()
            .unwrap();
        assert_eq!(full.label.as_deref(), Some("neptune"));
        assert_eq!(full.difficulty, Some(19));
        assert_eq!(full.is_attack(), Some(true));
        assert_eq!(full.record.service, "private");
        assert_eq!(full.record.numeric[19], 123.0); // count
        let labelled = parse_line(&format!("{ROW},normal"), 1).unwrap().unwrap();
        assert_eq!(labelled.is_attack(), Some(false));
        let bare = parse_line(ROW, 1).unwrap().unwrap();
        assert_eq!(bare.label, None);
        assert_eq!(bare.record, full.record);
        assert_eq!(numeric_names().count(), NUMERIC_FEATURES);
        assert_eq!(numeric_names().nth(19), Some("count"));
        let again = parse_line(&bare.record.to_csv(), 1).unwrap().unwrap();
        assert_eq!(again.record, bare.record);
    }

    #[test]
    fn errors_name_line_and_column() {
        let bad = ROW.replacen("123", "x1", 1);
        let error = parse_line(&bad, 7).unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 7, column 23 (count): not a number: \"x1\""
        );
        let error = parse_line(&ROW.replacen("0,tcp", "-1,tcp", 1), 2).unwrap_err();
        assert!(error.to_string().contains("column 1 (duration): negative"));
        let error = parse_line("0,tcp,http", 4).unwrap_err();
        assert!(matches!(
            error,
            RecordError::ColumnCount { line: 4, found: 3 }
        ));
        let error = parse_line(&format!("{ROW},normal,abc"), 5).unwrap_err();
        assert!(error.to_string().contains("column 43 (difficulty)"));
        let error = parse_line(&ROW.replacen("tcp", "", 1), 5).unwrap_err();
        assert!(error
            .to_string()
            .contains("column 2 (protocol_type): empty value"));
    }

    #[test]
    fn skips_blank_and_header_lines() {
        let text = format!("{}\n\n{ROW},normal,20\n", FEATURE_NAMES.join(","));
        let records = read_records(text.as_bytes()).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].line, 3);
    }
}
