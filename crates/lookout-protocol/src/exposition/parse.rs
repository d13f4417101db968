//! Parsing the text format line by line into families.

use std::collections::HashMap;

use lookout_model::{Labels, Sample, SeriesKey};

use super::{Exposition, MetricFamily, MetricType};
use crate::error::{ErrorList, LineError, ProtocolError};

/// Parses an exposition body; samples without a timestamp get `default_timestamp_ms`.
pub fn parse_exposition(
    body: &[u8],
    default_timestamp_ms: i64,
) -> Result<Exposition, ProtocolError> {
    let mut builder = Builder::default();
    let mut errors = ErrorList::new();
    for (index, raw_line) in body.split(|byte| *byte == b'\n').enumerate() {
        let number = index + 1;
        let line = match std::str::from_utf8(raw_line) {
            Ok(line) => line,
            Err(error) => {
                let column = std::str::from_utf8(&raw_line[..error.valid_up_to()])
                    .map_or(1, |s| s.chars().count() + 1);
                errors.push(LineError {
                    line: number,
                    column,
                    message: "invalid UTF-8".into(),
                });
                continue;
            }
        };
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut cursor = Cursor {
            line,
            bytes: line.as_bytes(),
            pos: 0,
        };
        if let Err((offset, message)) = builder.line(&mut cursor, default_timestamp_ms) {
            let column = line
                .get(..offset)
                .map_or(offset, |prefix| prefix.chars().count())
                + 1;
            errors.push(LineError {
                line: number,
                column,
                message,
            });
        }
    }
    if errors.is_empty() {
        Ok(Exposition {
            families: builder.families,
        })
    } else {
        Err(ProtocolError::MalformedExposition {
            errors: errors.errors,
            total: errors.total,
        })
    }
}

/// A problem at a byte offset of the line.
type LineResult<T> = Result<T, (usize, String)>;

#[derive(Default)]
struct Builder {
    families: Vec<MetricFamily>,
    index: HashMap<String, usize>,
    /// Whether each family got an explicit `# TYPE` line.
    typed: Vec<bool>,
}

impl Builder {
    fn line(&mut self, cursor: &mut Cursor<'_>, default_timestamp_ms: i64) -> LineResult<()> {
        cursor.skip_blanks();
        match cursor.peek() {
            None => Ok(()),
            Some(b'#') => {
                cursor.pos += 1;
                self.comment(cursor)
            }
            Some(_) => self.sample(cursor, default_timestamp_ms),
        }
    }

    fn family_named(&mut self, name: &str) -> usize {
        if let Some(index) = self.index.get(name) {
            return *index;
        }
        self.families.push(MetricFamily {
            name: name.to_string(),
            metric_type: MetricType::Untyped,
            help: None,
            samples: Vec::new(),
        });
        self.typed.push(false);
        self.index.insert(name.to_string(), self.families.len() - 1);
        self.families.len() - 1
    }

    /// The family a sample name belongs to: its own, or a histogram/summary/counter base.
    fn family_of_sample(&mut self, name: &str) -> usize {
        if let Some(index) = self.index.get(name) {
            return *index;
        }
        for suffix in ["_bucket", "_sum", "_count", "_created"] {
            let Some(base) = name.strip_suffix(suffix) else {
                continue;
            };
            if let Some(&index) = self.index.get(base) {
                if self.families[index]
                    .metric_type
                    .member_suffixes()
                    .contains(&suffix)
                {
                    return index;
                }
            }
        }
        self.family_named(name)
    }

    fn comment(&mut self, cursor: &mut Cursor<'_>) -> LineResult<()> {
        cursor.skip_blanks();
        let keyword = cursor.token();
        if !matches!(keyword, "HELP" | "TYPE") || !cursor.skip_blanks() {
            return Ok(()); // an ordinary comment
        }
        let name_start = cursor.pos;
        let name = cursor
            .metric_name()
            .ok_or_else(|| cursor.expected(&format!("a metric name after {keyword}")))?;
        if keyword == "HELP" {
            let text = if cursor.peek().is_none() {
                String::new()
            } else if cursor.skip_blanks() {
                unescape_help(&cursor.line[cursor.pos..])
            } else {
                return Err(cursor.expected("a space after the metric name"));
            };
            let index = self.family_named(name);
            if self.families[index].help.is_some() {
                return Err((name_start, format!("second HELP line for metric {name:?}")));
            }
            self.families[index].help = Some(text);
            return Ok(());
        }
        if !cursor.skip_blanks() {
            return Err(cursor.expected("a space and a type after the metric name"));
        }
        let type_start = cursor.pos;
        let type_name = cursor.token();
        let metric_type: MetricType = type_name
            .parse()
            .map_err(|error| (type_start, format!("{error}")))?;
        cursor.skip_blanks();
        if cursor.peek().is_some() {
            return Err((cursor.pos, "unexpected text after the type".into()));
        }
        let index = self.family_named(name);
        if self.typed[index] {
            return Err((name_start, format!("second TYPE line for metric {name:?}")));
        }
        if !self.families[index].samples.is_empty() {
            return Err((
                name_start,
                format!("TYPE line for metric {name:?} comes after its samples"),
            ));
        }
        self.typed[index] = true;
        self.families[index].metric_type = metric_type;
        Ok(())
    }

    fn sample(&mut self, cursor: &mut Cursor<'_>, default_timestamp_ms: i64) -> LineResult<()> {
        let name = cursor
            .metric_name()
            .ok_or_else(|| cursor.expected("a metric name"))?;
        let mut separated = cursor.skip_blanks();
        let mut labels = Labels::new();
        if cursor.peek() == Some(b'{') {
            cursor.pos += 1;
            cursor.labels(&mut labels)?;
            separated = cursor.skip_blanks();
        }
        if !separated {
            return Err(cursor.expected("a space and a value"));
        }
        let value_start = cursor.pos;
        let value_text = cursor.token();
        let value: f64 = value_text
            .parse()
            .map_err(|_| (value_start, format!("invalid value {value_text:?}")))?;
        let mut timestamp_ms = default_timestamp_ms;
        if cursor.skip_blanks() && cursor.peek().is_some() {
            let timestamp_start = cursor.pos;
            let text = cursor.token();
            timestamp_ms = text.parse().map_err(|_| {
                (
                    timestamp_start,
                    format!("invalid timestamp {text:?} (expected integer milliseconds)"),
                )
            })?;
            cursor.skip_blanks();
            if cursor.peek().is_some() {
                return Err((cursor.pos, "unexpected text after the timestamp".into()));
            }
        }
        let index = self.family_of_sample(name);
        let key = SeriesKey {
            name: name.to_string(),
            labels,
        };
        self.families[index].samples.push(Sample {
            key,
            timestamp_ms,
            value,
        });
        Ok(())
    }
}

fn unescape_help(text: &str) -> String {
    let mut help = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some('\\')) => {
                help.push('\\');
                chars.next();
            }
            ('\\', Some('n')) => {
                help.push('\n');
                chars.next();
            }
            _ => help.push(c),
        }
    }
    help
}

struct Cursor<'a> {
    line: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Skips spaces and tabs; whether there were any.
    fn skip_blanks(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// The text up to the next blank or the end of the line.
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| b != b' ' && b != b'\t') {
            self.pos += 1;
        }
        &self.line[start..self.pos]
    }

    fn expected(&self, what: &str) -> (usize, String) {
        let found = match self.line[self.pos..].chars().next() {
            Some(c) => format!("{c:?}"),
            None => "end of line".into(),
        };
        (self.pos, format!("expected {what}, found {found}"))
    }

    fn name(&mut self, colon: bool) -> Option<&'a str> {
        let start = self.pos;
        let valid_start = |b: u8| b.is_ascii_alphabetic() || b == b'_' || (colon && b == b':');
        if !self.peek().is_some_and(valid_start) {
            return None;
        }
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || (colon && b == b':'))
        {
            self.pos += 1;
        }
        Some(&self.line[start..self.pos])
    }

    fn metric_name(&mut self) -> Option<&'a str> {
        self.name(true)
    }

    fn labels(&mut self, labels: &mut Labels) -> LineResult<()> {
        loop {
            self.skip_blanks();
            if self.peek() == Some(b'}') {
                self.pos += 1;
                return Ok(());
            }
            let name_start = self.pos;
            let name = self
                .name(false)
                .ok_or_else(|| self.expected("a label name or '}'"))?;
            self.skip_blanks();
            if self.peek() != Some(b'=') {
                return Err(self.expected(&format!("'=' after label name {name:?}")));
            }
            self.pos += 1;
            self.skip_blanks();
            if self.peek() != Some(b'"') {
                return Err(self.expected(&format!("'\"' to start the value of label {name:?}")));
            }
            self.pos += 1;
            let value = self.label_value(name)?;
            if labels.insert(name.to_string(), value).is_some() {
                return Err((name_start, format!("duplicate label {name:?}")));
            }
            self.skip_blanks();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => {
                    return Err(
                        self.expected(&format!("',' or '}}' after the value of label {name:?}"))
                    )
                }
            }
        }
    }

    fn label_value(&mut self, name: &str) -> LineResult<String> {
        let start = self.pos - 1;
        let mut value = String::new();
        let mut chars = self.line[self.pos..].char_indices();
        while let Some((offset, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += offset + 1;
                    return Ok(value);
                }
                '\\' => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => {
                        let at = self.pos + offset;
                        return Err((at, format!("invalid escape sequence '\\{other}' in the value of label {name:?}")));
                    }
                    None => break,
                },
                other => value.push(other),
            }
        }
        Err((start, format!("unterminated value for label {name:?}")))
    }
}
