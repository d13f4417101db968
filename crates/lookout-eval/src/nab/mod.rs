//! The Numenta Anomaly Benchmark (NAB): corpus loader, scorer and results layout.
//!
//! The corpus directory holds `data/<category>/<name>.csv` (58 series), `labels/combined_windows.json`
//! (the scored anomaly windows) and `config/profiles.json` (three cost profiles). Its README
//! (`shared/datasets/nab/README.md`) specifies the scoring precisely; [`scorer`] implements it
//! row for row, and reproduces the published scores to about 1e-11.
//!
//! Decisions:
//! - Files are ordered by their name `category/file.csv`, so score vectors line up with
//!   [`NabCorpus::files`] by index, deterministically.
//! - Data files are read with [`crate::table`] (CRLF and exponent notation are handled there).
//!   The value column is the one named `value`, or the only value column.
//! - Window bounds (`2014-04-10 07:15:00.000000`) are parsed as timestamps and matched to the
//!   **first** row with the same millisecond, as NAB's `timestamps.index(bound)` does. A bound
//!   that matches no row is an error naming the file and the bound. Windows must be ordered and
//!   disjoint.
//! - Every data file must have an entry in the labels (possibly `[]`) and every labels entry
//!   must name a data file: a mismatch means the corpus is not the one the scores assume.
//! - Profiles are listed standard, reward_low_FP_rate, reward_low_FN_rate, then any others by
//!   name.
//!
//! Cost: the corpus keeps each row's timestamp text (for writing results in NAB's layout), its
//! milliseconds and its value: about 60 bytes per row, ~22 MB for the 365k rows.

mod results;
pub mod scorer;
pub mod weights;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::table::{parse_timestamp_ms, TableError, TableReader};

pub use results::{load_results_dir, write_results_dir};
pub use scorer::{score_corpus, FileScore, NabReport, NabScorer, ProfileScore, ThresholdScore};

/// Environment variable naming the NAB corpus directory.
pub const NAB_DIR_ENV: &str = "LOOKOUT_NAB_DIR";

/// Where the NAB corpus is: `$LOOKOUT_NAB_DIR` when set, else `shared/datasets/nab` beside the
/// repository root (the repository root is two levels above this crate). `None` when the chosen
/// directory does not exist.
pub fn default_nab_dir() -> Option<PathBuf> {
    let candidate = match std::env::var_os(NAB_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/nab"),
    };
    candidate.is_dir().then_some(candidate)
}

/// Why a corpus, a results directory or a set of scores could not be used.
#[derive(Debug, thiserror::Error)]
pub enum NabError {
    #[error("{}: {reason}", path.display())]
    Missing { path: PathBuf, reason: String },
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: invalid JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: {reason}", path.display())]
    Format { path: PathBuf, reason: String },
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("{}: window bound {bound:?} of {file} matches no row of the data file", path.display())]
    BoundNotFound {
        path: PathBuf,
        file: String,
        bound: String,
    },
    #[error("scores: {reason}")]
    Scores { reason: String },
}

/// One NAB data file.
#[derive(Debug, Clone, PartialEq)]
pub struct NabFile {
    /// `category/file.csv`, the key used by the labels and the results layout.
    pub name: String,
    /// Timestamps exactly as written in the file.
    pub timestamps: Vec<String>,
    pub timestamps_ms: Vec<i64>,
    pub values: Vec<f64>,
    /// Scored anomaly windows as inclusive row ranges `(L, R)`, ordered and disjoint.
    pub windows: Vec<(usize, usize)>,
}

impl NabFile {
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The category directory (`realKnownCause`).
    pub fn category(&self) -> &str {
        self.name
            .split_once('/')
            .map_or("", |(category, _)| category)
    }

    /// The file name within its category (`nyc_taxi.csv`).
    pub fn file_name(&self) -> &str {
        self.name
            .split_once('/')
            .map_or(&self.name, |(_, file)| file)
    }

    /// Leading rows that scoring ignores.
    pub fn probationary_rows(&self) -> usize {
        weights::probationary_rows(self.len())
    }

    /// Whether row `index` lies inside one of the windows.
    pub fn in_window(&self, index: usize) -> bool {
        self.windows
            .iter()
            .any(|&(left, right)| (left..=right).contains(&index))
    }
}

/// A NAB cost profile (`config/profiles.json`). A_TN is read but, as in NAB, never used.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CostProfile {
    pub name: String,
    pub a_tp: f64,
    pub a_fp: f64,
    pub a_fn: f64,
    pub a_tn: f64,
}

/// The NAB profile names in their canonical order.
pub const STANDARD_PROFILES: [&str; 3] = ["standard", "reward_low_FP_rate", "reward_low_FN_rate"];

/// A loaded NAB corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct NabCorpus {
    pub root: PathBuf,
    /// Ordered by name.
    pub files: Vec<NabFile>,
    pub profiles: Vec<CostProfile>,
}

impl NabCorpus {
    /// Loads `dir/data`, `dir/labels/combined_windows.json` and `dir/config/profiles.json`.
    pub fn load(dir: &Path) -> Result<NabCorpus, NabError> {
        require_dir(dir, "NAB corpus directory")?;
        let data_dir = dir.join("data");
        require_dir(&data_dir, "NAB data directory")?;
        let labels_path = dir.join("labels").join("combined_windows.json");
        let profiles_path = dir.join("config").join("profiles.json");
        let labels: BTreeMap<String, Vec<(String, String)>> = read_json(&labels_path)?;
        let profiles = parse_profiles(&profiles_path, read_json(&profiles_path)?)?;

        let mut files = Vec::new();
        for (name, path) in list_data_files(&data_dir)? {
            let Some(bounds) = labels.get(&name) else {
                return Err(NabError::Format {
                    path: labels_path,
                    reason: format!("no entry for data file {name}"),
                });
            };
            let mut file = read_data_file(&path, name)?;
            file.windows = map_windows(&file, bounds, &labels_path)?;
            files.push(file);
        }
        if let Some(extra) = labels
            .keys()
            .find(|name| !files.iter().any(|file| &file.name == *name))
        {
            return Err(NabError::Format {
                path: labels_path,
                reason: format!("entry {extra} names no file under {}", data_dir.display()),
            });
        }
        Ok(NabCorpus {
            root: dir.to_path_buf(),
            files,
            profiles,
        })
    }

    /// The file named `category/file.csv`.
    pub fn file(&self, name: &str) -> Option<&NabFile> {
        self.files.iter().find(|file| file.name == name)
    }

    /// The profile with this name.
    pub fn profile(&self, name: &str) -> Option<&CostProfile> {
        self.profiles.iter().find(|profile| profile.name == name)
    }

    /// Total number of windows over all files.
    pub fn window_count(&self) -> usize {
        self.files.iter().map(|file| file.windows.len()).sum()
    }

    /// Total number of rows over all files.
    pub fn row_count(&self) -> usize {
        self.files.iter().map(NabFile::len).sum()
    }
}

fn require_dir(path: &Path, what: &str) -> Result<(), NabError> {
    if path.is_dir() {
        return Ok(());
    }
    let reason = if path.exists() {
        format!("{what} is not a directory")
    } else {
        format!("{what} not found")
    };
    Err(NabError::Missing {
        path: path.to_path_buf(),
        reason,
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, NabError> {
    let text = std::fs::read_to_string(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => NabError::Missing {
            path: path.to_path_buf(),
            reason: "file not found".into(),
        },
        _ => NabError::Io {
            path: path.to_path_buf(),
            source,
        },
    })?;
    serde_json::from_str(&text).map_err(|source| NabError::Json {
        path: path.to_path_buf(),
        source,
    })
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, NabError> {
    let io_error = |source| NabError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(io_error)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_error)?;
    entries.sort();
    Ok(entries)
}

/// `(category/file.csv, path)` for every CSV under `data/<category>/`, ordered by name.
fn list_data_files(data_dir: &Path) -> Result<Vec<(String, PathBuf)>, NabError> {
    let mut found = Vec::new();
    for category in read_dir_sorted(data_dir)?
        .into_iter()
        .filter(|path| path.is_dir())
    {
        let category_name = category
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for path in read_dir_sorted(&category)? {
            if path.is_file() && path.extension().is_some_and(|ext| ext == "csv") {
                let file_name = path.file_name().unwrap_or_default().to_string_lossy();
                found.push((format!("{category_name}/{file_name}"), path));
            }
        }
    }
    if found.is_empty() {
        return Err(NabError::Missing {
            path: data_dir.to_path_buf(),
            reason: "no data/<category>/*.csv files".into(),
        });
    }
    Ok(found)
}

fn read_data_file(path: &Path, name: String) -> Result<NabFile, NabError> {
    let reader = TableReader::open(path)?;
    let value_index = match reader.columns().iter().position(|column| column == "value") {
        Some(index) => index,
        None if reader.columns().len() == 1 => 0,
        None => {
            return Err(NabError::Format {
                path: path.to_path_buf(),
                reason: format!("no \"value\" column among {:?}", reader.columns()),
            })
        }
    };
    let mut file = NabFile {
        name,
        timestamps: Vec::new(),
        timestamps_ms: Vec::new(),
        values: Vec::new(),
        windows: Vec::new(),
    };
    for row in reader {
        let row = row?;
        file.values.push(row.values[value_index]);
        file.timestamps_ms.push(row.timestamp_ms);
        file.timestamps.push(row.timestamp);
    }
    if file.is_empty() {
        return Err(TableError::NoRows {
            path: path.to_path_buf(),
        }
        .into());
    }
    Ok(file)
}

/// Maps each `[start, end]` bound pair to the first rows carrying those timestamps.
fn map_windows(
    file: &NabFile,
    bounds: &[(String, String)],
    labels_path: &Path,
) -> Result<Vec<(usize, usize)>, NabError> {
    let find = |bound: &str| -> Result<usize, NabError> {
        let not_found = || NabError::BoundNotFound {
            path: labels_path.to_path_buf(),
            file: file.name.clone(),
            bound: bound.to_string(),
        };
        let ms = parse_timestamp_ms(bound).ok_or_else(not_found)?;
        file.timestamps_ms
            .iter()
            .position(|&t| t == ms)
            .ok_or_else(not_found)
    };
    let mut windows: Vec<(usize, usize)> = Vec::with_capacity(bounds.len());
    for (start, end) in bounds {
        let window = (find(start)?, find(end)?);
        let bad = |reason: &str| NabError::Format {
            path: labels_path.to_path_buf(),
            reason: format!("{}: window [{start:?}, {end:?}] {reason}", file.name),
        };
        if window.0 > window.1 {
            return Err(bad("ends before it starts"));
        }
        if windows
            .last()
            .is_some_and(|previous| previous.1 >= window.0)
        {
            return Err(bad("overlaps or precedes the previous window"));
        }
        windows.push(window);
    }
    Ok(windows)
}

#[derive(serde::Deserialize)]
struct ProfileEntry {
    #[serde(rename = "CostMatrix")]
    cost_matrix: CostMatrix,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CostMatrix {
    tp_weight: f64,
    fp_weight: f64,
    fn_weight: f64,
    tn_weight: f64,
}

fn parse_profiles(
    path: &Path,
    entries: BTreeMap<String, ProfileEntry>,
) -> Result<Vec<CostProfile>, NabError> {
    let mut profiles: Vec<CostProfile> = entries
        .into_iter()
        .map(|(name, entry)| CostProfile {
            name,
            a_tp: entry.cost_matrix.tp_weight,
            a_fp: entry.cost_matrix.fp_weight,
            a_fn: entry.cost_matrix.fn_weight,
            a_tn: entry.cost_matrix.tn_weight,
        })
        .collect();
    if profiles.is_empty() {
        return Err(NabError::Format {
            path: path.to_path_buf(),
            reason: "no profiles".into(),
        });
    }
    let rank = |name: &str| {
        STANDARD_PROFILES
            .iter()
            .position(|p| *p == name)
            .unwrap_or(STANDARD_PROFILES.len())
    };
    profiles.sort_by(|a, b| {
        rank(&a.name)
            .cmp(&rank(&b.name))
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(profiles)
}

#[cfg(test)]
mod tests;
