//! `[[source]] type = "file"`: follows files of JSON lines, one record (a sample or an
//! event) per line.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::SourceType;
use crate::raw::{Field, StringMap};
use crate::validate::Checker;
use crate::values::parse_byte_size;

/// How often the files are checked for new lines, new files and rotation.
pub const FILE_INTERVAL: Duration = Duration::from_secs(1);
/// Longest line kept; a longer one is skipped and counted.
pub const FILE_MAX_LINE_BYTES: u64 = 1 << 20;
/// The largest `max_line_bytes` accepted (the line is held in memory until complete).
pub const FILE_MAX_LINE_BYTES_LIMIT: u64 = 64 << 20;

/// The `file` source type, for the registration list.
pub(crate) struct File;

impl SourceType for File {
    type Raw = RawFileSource;
    type Config = FileSourceConfig;

    fn validate(
        raw: &RawFileSource,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> FileSourceConfig {
        validate_file(checker, context, line, raw)
    }

    fn interval(config: &FileSourceConfig) -> Duration {
        config.interval
    }
}

/// `[[source]] type = "file"`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFileSource {
    #[serde(rename = "type")]
    pub kind: Field<String>,
    /// A path or a list of paths; each may be a glob (`/var/log/app/*.jsonl`).
    pub path: Field<toml::Value>,
    pub read_from: Field<String>,
    pub interval: Field<String>,
    /// An integer number of bytes or a string with a unit (`"1MiB"`).
    pub max_line_bytes: Field<toml::Value>,
    pub labels: Field<StringMap>,
}

/// `[[source]] type = "file"`: JSON lines, each a `lookout_model::Record`
/// (`{"type":"sample",...}` or `{"type":"event",...}`).
#[derive(Debug, Clone, PartialEq)]
pub struct FileSourceConfig {
    /// Paths or glob patterns; matching files that appear later are followed too.
    pub paths: Vec<String>,
    /// Where reading starts in the files present at startup.
    pub read_from: ReadFrom,
    /// How often the files are checked for new lines, new files and rotation.
    pub interval: Duration,
    /// Longest line kept; a longer one is skipped and counted.
    pub max_line_bytes: u64,
    /// Labels added to every sample (and every event's entity) that lacks them.
    pub labels: BTreeMap<String, String>,
}

/// Where a file source starts in the files that exist when it starts. Files that
/// appear later (new files, a rotated file's successor) are always read from the
/// beginning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    /// Only lines written after the start.
    End,
    /// Every line already in the file, then the new ones.
    Beginning,
}

impl ReadFrom {
    pub const NAMES: &'static [&'static str] = &["end", "beginning"];

    pub fn as_str(self) -> &'static str {
        match self {
            ReadFrom::End => "end",
            ReadFrom::Beginning => "beginning",
        }
    }
}

fn validate_file(
    checker: &mut Checker<'_, '_, '_>,
    context: &str,
    line: usize,
    raw: &RawFileSource,
) -> FileSourceConfig {
    let paths = match &raw.path {
        None => {
            let message = "missing required key (e.g. path = \"/var/log/app/*.jsonl\")".to_string();
            checker.report_line(
                crate::ErrorKind::MissingKey,
                line,
                context,
                Some("path"),
                message,
            );
            Vec::new()
        }
        Some(_) => checker.value(context, "path", &raw.path, Vec::new(), paths_of),
    };
    let read_from = checker.value(
        context,
        "read_from",
        &raw.read_from,
        ReadFrom::End,
        |name: &String| read_from_of(name),
    );
    let max_line_bytes = checker.value(
        context,
        "max_line_bytes",
        &raw.max_line_bytes,
        FILE_MAX_LINE_BYTES,
        |value| match parse_byte_size(value)? {
            bytes if (2..=FILE_MAX_LINE_BYTES_LIMIT).contains(&bytes) => Ok(bytes),
            bytes => Err(format!(
                "{bytes} bytes is out of range (from 2 bytes to {FILE_MAX_LINE_BYTES_LIMIT})"
            )),
        },
    );
    FileSourceConfig {
        paths,
        read_from,
        interval: checker.positive_duration(context, "interval", &raw.interval, FILE_INTERVAL),
        max_line_bytes,
        labels: checker.labels(context, "labels", &raw.labels),
    }
}

/// `read_from`: `end` or `beginning`.
pub(crate) fn read_from_of(name: &str) -> Result<ReadFrom, String> {
    match name {
        "end" => Ok(ReadFrom::End),
        "beginning" => Ok(ReadFrom::Beginning),
        other => Err(format!(
            "unknown position {other:?} (known: {})",
            ReadFrom::NAMES.join(", ")
        )),
    }
}

/// A path or a list of paths, each non-empty and a valid glob pattern.
pub(crate) fn paths_of(value: &toml::Value) -> Result<Vec<String>, String> {
    const EXAMPLE: &str = "(e.g. \"/var/log/app/*.jsonl\" or [\"a.jsonl\", \"b.jsonl\"])";
    let paths: Vec<String> = match value {
        toml::Value::String(path) => vec![path.clone()],
        toml::Value::Array(items) if items.is_empty() => {
            return Err(format!(
                "the list is empty; name at least one path {EXAMPLE}"
            ))
        }
        toml::Value::Array(items) => items
            .iter()
            .map(|item| match item {
                toml::Value::String(path) => Ok(path.clone()),
                other => Err(format!(
                    "expected a path {EXAMPLE}, found {} in the list",
                    other.type_str()
                )),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(format!(
                "expected a path or a list of paths {EXAMPLE}, found {}",
                other.type_str()
            ))
        }
    };
    for path in &paths {
        if path.trim().is_empty() {
            return Err("a path is empty".to_string());
        }
        if let Err(error) = glob::Pattern::new(path) {
            return Err(format!("{path:?} is not a valid glob pattern: {error}"));
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_one_string_or_a_list_of_valid_patterns() {
        let one = toml::Value::String("/var/log/*.jsonl".into());
        assert_eq!(paths_of(&one).unwrap(), ["/var/log/*.jsonl"]);
        let list = toml::Value::Array(vec!["a".into(), "b/**/c.jsonl".into()]);
        assert_eq!(paths_of(&list).unwrap(), ["a", "b/**/c.jsonl"]);
        assert!(paths_of(&toml::Value::Array(vec![]))
            .unwrap_err()
            .contains("the list is empty"));
        assert!(paths_of(&toml::Value::Array(vec![1.into()]))
            .unwrap_err()
            .contains("found integer"));
        assert!(paths_of(&toml::Value::Integer(3))
            .unwrap_err()
            .contains("expected a path or a list of paths"));
        assert!(paths_of(&toml::Value::String("a[".into()))
            .unwrap_err()
            .contains("not a valid glob pattern"));
        assert!(paths_of(&toml::Value::String(" ".into()))
            .unwrap_err()
            .contains("empty"));
    }
}
