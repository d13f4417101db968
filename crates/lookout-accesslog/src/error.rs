//! Why a format or a parser configuration is refused.

/// A log format that cannot be compiled, or a parser configuration naming fields the
/// format does not have. Each message names the field or the position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("the log format is empty")]
    Empty,
    #[error("the log format has no $variable")]
    NoVariable,
    #[error("${{ at byte {position} of the log format is not closed by }}")]
    UnclosedBrace { position: usize },
    #[error("the $ at byte {position} of the log format is not followed by a variable name")]
    BadName { position: usize },
    #[error("${first} and ${second} follow each other with nothing between them, so a line cannot be split between them")]
    Adjacent { first: String, second: String },
    #[error("${0} appears twice in the log format")]
    Duplicate(String),
    #[error("the log format has no {0} (it needs one of: {1})")]
    Missing(&'static str, String),
    #[error("{role} field {field:?} is not in the log format (its variables: {known})")]
    UnknownField {
        role: &'static str,
        field: String,
        known: String,
    },
    #[error("unknown log format {0:?} (known: combined, common, json, or an nginx log_format string containing $variables)")]
    UnknownFormat(String),
}
