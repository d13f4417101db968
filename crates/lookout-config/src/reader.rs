//! Reads TOML text into the [raw form](crate::raw), collecting every mistake.
//!
//! The text is parsed into toml's spanned document tree ([`DeTable`]); the reader then
//! walks it section by section. For each table it checks the keys one at a time against
//! the field list of the target raw struct (taken from the struct's own `Deserialize`
//! impl, so there is one source of truth) and deserialises each key alone, so that one
//! misspelt key or wrongly typed value does not hide the next. The good keys are then
//! deserialised together into the struct.

use serde::de::DeserializeOwned;
use serde_spanned::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::error::{ConfigError, ErrorKind};
use crate::keys::struct_fields;
use crate::raw::*;

pub(crate) type Node<'t> = Spanned<DeValue<'t>>;

pub(crate) const TOP_LEVEL_SECTIONS: &[&str] = &[
    "server",
    "storage",
    "source",
    "detection",
    "usage",
    "object_store",
    "cluster",
    "alert",
    "auth",
];
pub(crate) const ALERT_KEYS: &[&str] = &["notifier", "rule", "inhibit"];

/// Converts byte offsets to lines and accumulates errors for one file.
pub(crate) struct Reporter<'t> {
    text: &'t str,
    file: &'t str,
    pub errors: Vec<ConfigError>,
}

impl<'t> Reporter<'t> {
    pub fn new(text: &'t str, file: &'t str) -> Self {
        Reporter {
            text,
            file,
            errors: Vec::new(),
        }
    }

    /// The file name errors carry.
    pub fn file(&self) -> &str {
        self.file
    }

    /// The 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|byte| **byte == b'\n')
            .count()
            + 1
    }

    pub fn report(
        &mut self,
        kind: ErrorKind,
        line: Option<usize>,
        context: &str,
        key: Option<&str>,
        message: impl Into<String>,
    ) {
        self.errors.push(ConfigError {
            kind,
            file: self.file.to_string(),
            line,
            context: context.to_string(),
            key: key.map(String::from),
            message: message.into(),
        });
    }
}

/// A syntax error's message, naming the key when the parser's own message does not
/// (toml says only "duplicate key"; the span holds the key as written).
fn syntax_message(text: &str, message: &str, span: Option<std::ops::Range<usize>>) -> String {
    let written = span
        .and_then(|span| text.get(span))
        .map(str::trim)
        .filter(|written| !written.is_empty() && written.len() <= 200 && !written.contains('\n'));
    match written {
        Some(key) if message.trim() == "duplicate key" => format!(
            "invalid TOML: duplicate key `{key}`: a table or key is defined twice (merge the two)"
        ),
        _ => format!("invalid TOML: {message}"),
    }
}

/// Parses `text` into the raw form. Syntax errors stop the reading (what follows a
/// syntax error is not trustworthy); every other mistake is recorded and skipped.
pub(crate) fn read_raw(reporter: &mut Reporter<'_>) -> RawConfig {
    let (root, syntax_errors) = DeTable::parse_recoverable(reporter.text);
    if !syntax_errors.is_empty() {
        for error in syntax_errors {
            let line = error.span().map(|span| reporter.line_of(span.start));
            let message = syntax_message(reporter.text, error.message(), error.span());
            reporter.report(ErrorKind::Syntax, line, "", None, message);
        }
        return RawConfig::default();
    }
    let mut raw = RawConfig::default();
    for (key, node) in root.get_ref() {
        let name = key.get_ref().as_ref();
        match name {
            "server" => raw.server = read_table(reporter, "[server]", node, &[]),
            "storage" => raw.storage = read_table(reporter, "[storage]", node, &[]),
            "source" => {
                for (index, line, table) in array_of_tables(reporter, "", "source", node) {
                    if let Some(source) = read_source(reporter, index, line, table) {
                        raw.sources.push(RawSourceEntry {
                            index,
                            line,
                            source,
                        });
                    }
                }
            }
            "detection" => read_detection(reporter, node, &mut raw),
            "usage" => raw.usage = read_table(reporter, "[usage]", node, &[]),
            "object_store" => raw.object_store = read_table(reporter, "[object_store]", node, &[]),
            "cluster" => {
                raw.cluster = Some(Located {
                    index: 1,
                    line: reporter.line_of(key.span().start),
                    value: read_table(reporter, "[cluster]", node, &[]),
                })
            }
            "alert" => read_alert(reporter, node, &mut raw),
            "auth" => read_auth(reporter, node, &mut raw),
            _ => {
                let line = reporter.line_of(key.span().start);
                reporter.report(
                    ErrorKind::UnknownKey,
                    Some(line),
                    "",
                    Some(name),
                    format!(
                        "unknown section or key (known: {})",
                        TOP_LEVEL_SECTIONS.join(", ")
                    ),
                );
            }
        }
    }
    raw
}

fn read_detection(reporter: &mut Reporter<'_>, node: &Node<'_>, raw: &mut RawConfig) {
    let Some(table) = expect_table(reporter, "", "detection", node) else {
        return;
    };
    for (key, child) in table {
        if key.get_ref().as_ref() == "override" {
            for (index, line, item) in array_of_tables(reporter, "[detection]", "override", child) {
                let context = format!("[[detection.override]] #{index}");
                let value = read_table(reporter, &context, item, &[]);
                raw.overrides.push(Located { index, line, value });
            }
        }
    }
    raw.detection = read_table(reporter, "[detection]", node, &["override"]);
}

fn read_auth(reporter: &mut Reporter<'_>, node: &Node<'_>, raw: &mut RawConfig) {
    let Some(table) = expect_table(reporter, "", "auth", node) else {
        return;
    };
    for (key, child) in table {
        if key.get_ref().as_ref() == "token" {
            for (index, line, item) in array_of_tables(reporter, "[auth]", "token", child) {
                let context = format!("[[auth.token]] #{index}");
                let value = read_table(reporter, &context, item, &[]);
                raw.tokens.push(Located { index, line, value });
            }
        }
    }
    raw.auth = read_table(reporter, "[auth]", node, &["token"]);
}

fn read_alert(reporter: &mut Reporter<'_>, node: &Node<'_>, raw: &mut RawConfig) {
    let Some(table) = expect_table(reporter, "", "alert", node) else {
        return;
    };
    for (key, child) in table {
        let name = key.get_ref().as_ref();
        match name {
            "notifier" => {
                for (index, line, item) in array_of_tables(reporter, "[alert]", name, child) {
                    let context = format!("[[alert.notifier]] #{index}");
                    let value = crate::notifiers::read(reporter, &context, item);
                    raw.notifiers.push(Located { index, line, value });
                }
            }
            "rule" => {
                for (index, line, item) in array_of_tables(reporter, "[alert]", name, child) {
                    let context = format!("[[alert.rule]] #{index}");
                    let value = read_table(reporter, &context, item, &[]);
                    raw.rules.push(Located { index, line, value });
                }
            }
            "inhibit" => {
                for (index, line, item) in array_of_tables(reporter, "[alert]", name, child) {
                    let context = format!("[[alert.inhibit]] #{index}");
                    let value = read_table(reporter, &context, item, &[]);
                    raw.inhibits.push(Located { index, line, value });
                }
            }
            _ => {
                let line = reporter.line_of(key.span().start);
                let message = format!("unknown key (known: {})", ALERT_KEYS.join(", "));
                reporter.report(
                    ErrorKind::UnknownKey,
                    Some(line),
                    "[alert]",
                    Some(name),
                    message,
                );
            }
        }
    }
}

fn read_source(
    reporter: &mut Reporter<'_>,
    index: usize,
    line: usize,
    node: &Node<'_>,
) -> Option<RawSource> {
    let context = format!("[[source]] #{index}");
    let table = node.get_ref().as_table()?;
    let known = SOURCE_TYPES.join(", ");
    let Some((_, kind)) = table
        .iter()
        .find(|(key, _)| key.get_ref().as_ref() == "type")
    else {
        let message = format!("missing key \"type\" (one of: {known})");
        reporter.report(ErrorKind::MissingKey, Some(line), &context, None, message);
        return None;
    };
    let kind_line = reporter.line_of(kind.span().start);
    let Some(kind) = kind.get_ref().as_str() else {
        let message = format!(
            "expected a string (one of: {known}), found {}",
            kind.get_ref().type_str()
        );
        reporter.report(
            ErrorKind::WrongType,
            Some(kind_line),
            &context,
            Some("type"),
            message,
        );
        return None;
    };
    let source = crate::sources::read(kind, reporter, &context, node);
    if source.is_none() {
        let message = format!("unknown source type {kind:?} (known: {known})");
        reporter.report(
            ErrorKind::InvalidValue,
            Some(kind_line),
            &context,
            Some("type"),
            message,
        );
    }
    source
}

/// The elements of an array of tables, each with its 1-based index and line; reports
/// a plain table (`[source]` instead of `[[source]]`) or non-table elements.
fn array_of_tables<'n, 't>(
    reporter: &mut Reporter<'_>,
    context: &str,
    key: &str,
    node: &'n Node<'t>,
) -> Vec<(usize, usize, &'n Node<'t>)> {
    let line = reporter.line_of(node.span().start);
    let array: &DeArray<'t> = match node.get_ref() {
        DeValue::Array(array) => array,
        other => {
            let message = format!(
                "expected an array of tables (write [[{}]]), found {}",
                qualified(context, key),
                other.type_str()
            );
            reporter.report(
                ErrorKind::WrongType,
                Some(line),
                context,
                Some(key),
                message,
            );
            return Vec::new();
        }
    };
    let mut tables = Vec::new();
    for (position, element) in array.iter().enumerate() {
        let element_line = reporter.line_of(element.span().start);
        if element.get_ref().is_table() {
            tables.push((position + 1, element_line, element));
        } else {
            let message = format!(
                "element #{} must be a table, found {}",
                position + 1,
                element.get_ref().type_str()
            );
            reporter.report(
                ErrorKind::WrongType,
                Some(element_line),
                context,
                Some(key),
                message,
            );
        }
    }
    tables
}

/// `alert` + `rule` → `alert.rule`, for messages.
fn qualified(context: &str, key: &str) -> String {
    let section = context.trim_matches(|c| c == '[' || c == ']');
    if section.is_empty() {
        key.to_string()
    } else {
        format!("{section}.{key}")
    }
}

fn expect_table<'n, 't>(
    reporter: &mut Reporter<'_>,
    context: &str,
    key: &str,
    node: &'n Node<'t>,
) -> Option<&'n DeTable<'t>> {
    if let DeValue::Table(table) = node.get_ref() {
        return Some(table);
    }
    let line = reporter.line_of(node.span().start);
    let message = format!(
        "expected a table ([{}]), found {}",
        qualified(context, key),
        node.get_ref().type_str()
    );
    reporter.report(
        ErrorKind::WrongType,
        Some(line),
        context,
        Some(key),
        message,
    );
    None
}

/// Reads one table into `T`, key by key. Keys listed in `nested` were handled by the
/// caller and are skipped. Unknown keys and wrongly typed values are reported and left
/// out; the rest is deserialised.
pub(crate) fn read_table<T: DeserializeOwned + Default>(
    reporter: &mut Reporter<'_>,
    context: &str,
    node: &Node<'_>,
    nested: &[&str],
) -> T {
    read_table_with(reporter, context, node, nested, &|_, known| {
        format!("unknown key (known: {})", known.join(", "))
    })
}

/// The message of an unknown key: its name and the keys the table accepts, sorted.
pub(crate) type UnknownKeyMessage<'a> = dyn Fn(&str, &[&str]) -> String + 'a;

/// [`read_table`] with the message given to an unknown key chosen by the caller.
pub(crate) fn read_table_with<T: DeserializeOwned + Default>(
    reporter: &mut Reporter<'_>,
    context: &str,
    node: &Node<'_>,
    nested: &[&str],
    unknown: &UnknownKeyMessage<'_>,
) -> T {
    let key_name = context.trim_matches(|c| c == '[' || c == ']');
    let Some(table) = expect_table(reporter, "", key_name, node) else {
        return T::default();
    };
    let known = struct_fields::<T>();
    let mut accepted = DeTable::new();
    for (key, value) in table {
        let name = key.get_ref().as_ref();
        if nested.contains(&name) {
            continue;
        }
        if !known.contains(&name) {
            let line = reporter.line_of(key.span().start);
            let mut all_known: Vec<&str> = known.iter().chain(nested).copied().collect();
            all_known.sort_unstable();
            let message = unknown(name, &all_known);
            reporter.report(
                ErrorKind::UnknownKey,
                Some(line),
                context,
                Some(name),
                message,
            );
            continue;
        }
        let mut single = DeTable::new();
        single.insert(key.clone(), value.clone());
        match deserialize_table::<T>(node.span(), single) {
            Ok(_) => {
                accepted.insert(key.clone(), value.clone());
            }
            Err(error) => {
                let line = reporter.line_of(value.span().start);
                let message = tidy_serde_message(error.message());
                reporter.report(
                    ErrorKind::WrongType,
                    Some(line),
                    context,
                    Some(name),
                    message,
                );
            }
        }
    }
    match deserialize_table::<T>(node.span(), accepted) {
        Ok(value) => value,
        Err(error) => {
            let line = reporter.line_of(node.span().start);
            reporter.report(
                ErrorKind::WrongType,
                Some(line),
                context,
                None,
                error.message().to_string(),
            );
            T::default()
        }
    }
}

fn deserialize_table<T: DeserializeOwned>(
    span: std::ops::Range<usize>,
    table: DeTable<'_>,
) -> Result<T, toml::de::Error> {
    T::deserialize(toml::de::Deserializer::from(Spanned::new(span, table)))
}

/// serde says "invalid type: integer `5`, expected a string"; we say
/// "expected a string, found integer `5`".
fn tidy_serde_message(message: &str) -> String {
    let Some(rest) = message.strip_prefix("invalid type: ") else {
        return message.to_string();
    };
    match rest.split_once(", expected ") {
        Some((found, expected)) => {
            let expected = match expected {
                "i64" | "u64" | "i32" | "u32" => "an integer",
                "f64" | "f32" => "a number",
                other => other,
            };
            format!("expected {expected}, found {found}")
        }
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_counts_newlines_before_the_offset() {
        let reporter = Reporter::new("a\nb\nc", "f");
        assert_eq!(reporter.line_of(0), 1);
        assert_eq!(reporter.line_of(2), 2);
        assert_eq!(reporter.line_of(4), 3);
        assert_eq!(reporter.line_of(99), 3);
    }

    #[test]
    fn serde_type_messages_are_reworded() {
        assert_eq!(
            tidy_serde_message("invalid type: integer `5`, expected a string"),
            "expected a string, found integer `5`"
        );
        assert_eq!(
            tidy_serde_message("invalid type: string \"x\", expected i64"),
            "expected an integer, found string \"x\""
        );
        assert_eq!(tidy_serde_message("something else"), "something else");
    }
}
