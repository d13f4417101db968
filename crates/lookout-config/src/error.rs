//! Configuration errors: each names the file, the line, the section and the key.

use std::fmt;

/// What kind of mistake a [`ConfigError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// The text is not valid TOML.
    Syntax,
    /// A key (or section) that lookout does not know.
    UnknownKey,
    /// A value of the wrong TOML type (a number where a string was expected, ...).
    WrongType,
    /// A value of the right type that is not acceptable (a bad duration, an out-of-range score, ...).
    InvalidValue,
    /// A key that must be present is missing.
    MissingKey,
    /// A name that refers to something that does not exist (an alert rule's notifier).
    UnknownReference,
    /// A name used twice where names must be unique.
    Duplicate,
}

/// One mistake in a configuration file.
///
/// Displayed as `file:line: context key "key": message`, for example
/// `lookout.toml:12: [[source]] #2 key "interval": "5x" is not a duration (e.g. "1s", "15s", "1m")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub kind: ErrorKind,
    /// The file name (or `<environment>`, `<embedded default>`).
    pub file: String,
    /// 1-based line, when the mistake has a place in the file.
    pub line: Option<usize>,
    /// The section, e.g. `[server]` or `[[source]] #2`; empty at the top level.
    pub context: String,
    /// The key concerned, when there is one.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(":")?;
        if !self.context.is_empty() {
            write!(f, " {}", self.context)?;
        }
        if let Some(key) = &self.key {
            write!(f, " key {key:?}")?;
        }
        if !self.context.is_empty() || self.key.is_some() {
            f.write_str(":")?;
        }
        write!(f, " {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every mistake found in one configuration, sorted by line; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// Wraps a list of errors, sorted by line (errors without a line first). `None` when the list is empty.
    pub fn from_vec(mut errors: Vec<ConfigError>) -> Option<Self> {
        if errors.is_empty() {
            return None;
        }
        errors.sort_by_key(|error| error.line);
        Some(ConfigErrors { errors })
    }

    pub fn single(error: ConfigError) -> Self {
        ConfigErrors {
            errors: vec![error],
        }
    }

    pub fn errors(&self) -> &[ConfigError] {
        &self.errors
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Always false: a `ConfigErrors` holds at least one error.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.errors.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(context: &str, key: Option<&str>) -> ConfigError {
        ConfigError {
            kind: ErrorKind::InvalidValue,
            file: "lookout.toml".into(),
            line: Some(12),
            context: context.into(),
            key: key.map(String::from),
            message: "bad".into(),
        }
    }

    #[test]
    fn display_names_file_line_context_and_key() {
        assert_eq!(
            error("[[source]] #2", Some("interval")).to_string(),
            r#"lookout.toml:12: [[source]] #2 key "interval": bad"#
        );
        assert_eq!(error("", None).to_string(), "lookout.toml:12: bad");
        assert_eq!(
            error("[server]", None).to_string(),
            "lookout.toml:12: [server]: bad"
        );
    }

    #[test]
    fn errors_are_sorted_by_line() {
        let mut late = error("", None);
        late.line = Some(30);
        let early = error("", None);
        let all = ConfigErrors::from_vec(vec![late, early]).expect("non-empty");
        let lines: Vec<_> = all.errors().iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![Some(12), Some(30)]);
        assert!(ConfigErrors::from_vec(Vec::new()).is_none());
    }
}
