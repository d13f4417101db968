//! NAB's per-detector results layout: `<dir>/<category>/<detector>_<file>.csv`, one row per
//! data row, with an `anomaly_score` column.
//!
//! Reading: the detector name is the directory's own name (`results/numenta` holds
//! `numenta_<file>.csv`); when that file is absent, the single file of the category ending in
//! `_<file>.csv` is used (several candidates are an error). Rows must line up one to one with
//! the data file: same count, and when the results file has a `timestamp` column, the same
//! timestamps (compared as text, then as instants). A score that is not a number is an error
//! naming the file and line; `NaN` is accepted and never counts as a detection.
//!
//! Writing produces `timestamp,value,anomaly_score,label` (label 1 inside a window) with the
//! data file's timestamps verbatim, so NAB's own scorer can read it.

use std::path::{Path, PathBuf};

use super::{NabCorpus, NabError, NabFile};
use crate::table::{csv_reader, is_blank, parse_timestamp_ms};

/// Reads one score series per corpus file from a NAB results directory.
pub fn load_results_dir(corpus: &NabCorpus, dir: &Path) -> Result<Vec<Vec<f64>>, NabError> {
    if !dir.is_dir() {
        return Err(NabError::Missing {
            path: dir.to_path_buf(),
            reason: "results directory not found".into(),
        });
    }
    let detector = dir
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    corpus
        .files
        .iter()
        .map(|file| {
            let path = find_result_file(dir, &detector, file)?;
            read_result_file(&path, file)
        })
        .collect()
}

fn find_result_file(dir: &Path, detector: &str, file: &NabFile) -> Result<PathBuf, NabError> {
    let category_dir = dir.join(file.category());
    let preferred = category_dir.join(format!("{detector}_{}", file.file_name()));
    if preferred.is_file() {
        return Ok(preferred);
    }
    let suffix = format!("_{}", file.file_name());
    let entries = std::fs::read_dir(&category_dir).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => NabError::Missing {
            path: category_dir.clone(),
            reason: format!(
                "results category directory not found (needed for {})",
                file.name
            ),
        },
        _ => NabError::Io {
            path: category_dir.clone(),
            source,
        },
    })?;
    let mut candidates = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| NabError::Io {
            path: category_dir.clone(),
            source,
        })?;
        if entry.file_name().to_string_lossy().ends_with(&suffix) {
            candidates.push(entry.path());
        }
    }
    candidates.sort();
    match candidates.len() {
        1 => Ok(candidates.remove(0)),
        0 => Err(NabError::Missing {
            path: preferred,
            reason: format!("results file not found (nor any *{suffix} in the category)"),
        }),
        _ => Err(NabError::Format {
            path: category_dir,
            reason: format!("several results files end in {suffix}: {candidates:?}"),
        }),
    }
}

fn read_result_file(path: &Path, file: &NabFile) -> Result<Vec<f64>, NabError> {
    let format_error = |line: u64, reason: String| NabError::Format {
        path: path.to_path_buf(),
        reason: if line == 0 {
            reason
        } else {
            format!("line {line}: {reason}")
        },
    };
    let csv_error = |error: csv::Error| {
        let line = error.position().map_or(0, csv::Position::line);
        format_error(line, error.to_string())
    };
    let file_handle = std::fs::File::open(path).map_err(|source| NabError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv_reader(true, file_handle);
    let header = reader.headers().map_err(csv_error)?.clone();
    let Some(score_index) = header.iter().position(|name| name == "anomaly_score") else {
        return Err(format_error(
            1,
            format!(
                "no \"anomaly_score\" column in header {:?}",
                header.iter().collect::<Vec<_>>()
            ),
        ));
    };
    let timestamp_index = header.iter().position(|name| name == "timestamp");
    let mut scores = Vec::with_capacity(file.len());
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_error)? {
        if is_blank(&record) {
            continue;
        }
        let line = record.position().map_or(0, csv::Position::line);
        let row = scores.len();
        if row >= file.len() {
            return Err(format_error(
                line,
                format!(
                    "more rows than the {} of data file {}",
                    file.len(),
                    file.name
                ),
            ));
        }
        if let Some(text) = timestamp_index.and_then(|index| record.get(index)) {
            let expected = &file.timestamps[row];
            let same =
                text == expected || parse_timestamp_ms(text) == Some(file.timestamps_ms[row]);
            if !same {
                return Err(format_error(
                    line,
                    format!(
                        "timestamp {text:?} does not match row {} of {} ({expected:?})",
                        row + 1,
                        file.name
                    ),
                ));
            }
        }
        let text = record.get(score_index).unwrap_or_default();
        let score: f64 = text
            .parse()
            .map_err(|_| format_error(line, format!("anomaly_score {text:?} is not a number")))?;
        scores.push(score);
    }
    if scores.len() != file.len() {
        return Err(format_error(
            0,
            format!(
                "{} rows, but data file {} has {}",
                scores.len(),
                file.name,
                file.len()
            ),
        ));
    }
    Ok(scores)
}

/// Writes `scores` (one series per corpus file) as `<dir>/<category>/<detector>_<file>.csv`.
pub fn write_results_dir(
    corpus: &NabCorpus,
    dir: &Path,
    detector: &str,
    scores: &[Vec<f64>],
) -> Result<(), NabError> {
    if detector.is_empty() || detector.contains(['/', '\\']) {
        return Err(NabError::Scores {
            reason: format!(
                "detector name {detector:?} must be non-empty and contain no path separator"
            ),
        });
    }
    if scores.len() != corpus.files.len() {
        return Err(NabError::Scores {
            reason: format!(
                "{} score series given for {} corpus files",
                scores.len(),
                corpus.files.len()
            ),
        });
    }
    for (file, file_scores) in corpus.files.iter().zip(scores) {
        if file_scores.len() != file.len() {
            return Err(NabError::Scores {
                reason: format!(
                    "{}: {} scores for {} rows",
                    file.name,
                    file_scores.len(),
                    file.len()
                ),
            });
        }
        let category_dir = dir.join(file.category());
        std::fs::create_dir_all(&category_dir).map_err(|source| NabError::Io {
            path: category_dir.clone(),
            source,
        })?;
        let path = category_dir.join(format!("{detector}_{}", file.file_name()));
        write_result_file(&path, file, file_scores)?;
    }
    Ok(())
}

fn write_result_file(path: &Path, file: &NabFile, scores: &[f64]) -> Result<(), NabError> {
    let io_error = |error: csv::Error| NabError::Io {
        path: path.to_path_buf(),
        source: error.into(),
    };
    let mut writer = csv::Writer::from_path(path).map_err(io_error)?;
    writer
        .write_record(["timestamp", "value", "anomaly_score", "label"])
        .map_err(io_error)?;
    let mut windows = file.windows.iter().peekable();
    for (row, score) in scores.iter().enumerate() {
        while windows.peek().is_some_and(|&&(_, right)| right < row) {
            windows.next();
        }
        let in_window = windows.peek().is_some_and(|&&(left, _)| left <= row);
        let value = file.values[row].to_string();
        let score = score.to_string();
        let label = if in_window { "1" } else { "0" };
        writer
            .write_record([file.timestamps[row].as_str(), &value, &score, label])
            .map_err(io_error)?;
    }
    writer.flush().map_err(|source| NabError::Io {
        path: path.to_path_buf(),
        source,
    })
}
