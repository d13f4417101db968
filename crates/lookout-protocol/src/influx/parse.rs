//! Tokenising one line of line protocol; borrowing from the line unless escapes force a copy.

use std::borrow::Cow;

/// A field's value as far as lookout cares: a number, or a string to skip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FieldValue {
    Number(f64),
    String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedLine<'a> {
    pub(crate) measurement: Cow<'a, str>,
    pub(crate) tags: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub(crate) fields: Vec<(Cow<'a, str>, FieldValue)>,
    pub(crate) timestamp: Option<i64>,
}

/// A problem at a byte offset of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

impl ParseError {
    /// 1-based column in characters.
    pub(crate) fn column(&self, line: &str) -> usize {
        line.get(..self.offset)
            .map_or(self.offset, |prefix| prefix.chars().count())
            + 1
    }
}

struct Cursor<'a> {
    line: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

fn is_escapable(byte: u8) -> bool {
    matches!(byte, b',' | b' ' | b'=')
}

fn unescape(raw: &str) -> String {
    let mut text = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&next) = chars.peek() {
                if next.is_ascii() && is_escapable(next as u8) {
                    text.push(next);
                    chars.next();
                    continue;
                }
            }
        }
        text.push(c);
    }
    text
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn error<T>(&self, offset: usize, message: String) -> Result<T, ParseError> {
        Err(ParseError { offset, message })
    }

    /// Reads up to an unescaped byte for which `stop` holds, or the end of the line.
    fn scan(&mut self, stop: impl Fn(u8) -> bool) -> Cow<'a, str> {
        let start = self.pos;
        let mut escaped = false;
        while let Some(byte) = self.peek() {
            if byte == b'\\'
                && self
                    .bytes
                    .get(self.pos + 1)
                    .is_some_and(|next| is_escapable(*next))
            {
                escaped = true;
                self.pos += 2;
                continue;
            }
            if stop(byte) {
                break;
            }
            self.pos += 1;
        }
        let raw = &self.line[start..self.pos];
        if escaped {
            Cow::Owned(unescape(raw))
        } else {
            Cow::Borrowed(raw)
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    fn field_value(&mut self, key: &str) -> Result<FieldValue, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'"') {
            self.pos += 1;
            while let Some(byte) = self.peek() {
                match byte {
                    b'\\' if matches!(self.bytes.get(self.pos + 1), Some(b'"' | b'\\')) => {
                        self.pos += 2
                    }
                    b'"' => {
                        self.pos += 1;
                        return Ok(FieldValue::String);
                    }
                    _ => self.pos += 1,
                }
            }
            return self.error(
                start,
                format!("unterminated string value for field {key:?}"),
            );
        }
        let token = &self.line[start
            ..self.bytes[start..]
                .iter()
                .position(|b| matches!(b, b',' | b' '))
                .map_or(self.bytes.len(), |n| start + n)];
        self.pos = start + token.len();
        if token.is_empty() {
            return self.error(start, format!("missing value for field {key:?}"));
        }
        match parse_number(token) {
            Some(value) => Ok(FieldValue::Number(value)),
            None => self.error(
                start,
                format!(
                    "invalid value {token:?} for field {key:?} (expected a number, an integer like 12i or 12u, \
                     true/false or a \"string\")"
                ),
            ),
        }
    }
}

fn parse_number(token: &str) -> Option<f64> {
    match token {
        "t" | "T" | "true" | "True" | "TRUE" => return Some(1.0),
        "f" | "F" | "false" | "False" | "FALSE" => return Some(0.0),
        _ => {}
    }
    if let Some(integer) = token.strip_suffix('i') {
        return integer.parse::<i64>().ok().map(|value| value as f64);
    }
    if let Some(unsigned) = token.strip_suffix('u') {
        return unsigned.parse::<u64>().ok().map(|value| value as f64);
    }
    // Only plain decimal syntax: Rust would also accept "inf" and "NaN", Influx does not.
    if !token
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    token.parse::<f64>().ok()
}

/// Parses one line; `Ok(None)` for blank lines and comments.
pub(crate) fn parse_line(line: &str) -> Result<Option<ParsedLine<'_>>, ParseError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut cursor = Cursor {
        line,
        bytes: line.as_bytes(),
        pos: 0,
    };
    while matches!(cursor.peek(), Some(b' ' | b'\t')) {
        cursor.pos += 1;
    }
    if matches!(cursor.peek(), None | Some(b'#')) {
        return Ok(None);
    }

    let start = cursor.pos;
    let measurement = cursor.scan(|b| b == b',' || b == b' ');
    if measurement.is_empty() {
        return cursor.error(start, "missing measurement name before ','".into());
    }

    let mut tags = Vec::new();
    while cursor.peek() == Some(b',') {
        cursor.pos += 1;
        let key_start = cursor.pos;
        let key = cursor.scan(|b| matches!(b, b',' | b' ' | b'='));
        if key.is_empty() {
            return cursor.error(key_start, "empty tag key".into());
        }
        if cursor.peek() != Some(b'=') {
            return cursor.error(cursor.pos, format!("expected '=' after tag key {key:?}"));
        }
        cursor.pos += 1;
        let value_start = cursor.pos;
        let value = cursor.scan(|b| b == b',' || b == b' ');
        if value.is_empty() {
            return cursor.error(value_start, format!("missing value for tag {key:?}"));
        }
        tags.push((key, value));
    }

    cursor.skip_spaces();
    if cursor.peek().is_none() {
        return cursor.error(
            cursor.pos,
            format!("missing fields after measurement {measurement:?} (expected key=value)"),
        );
    }

    let mut fields = Vec::new();
    loop {
        let key_start = cursor.pos;
        let key = cursor.scan(|b| matches!(b, b',' | b' ' | b'='));
        if key.is_empty() {
            return cursor.error(key_start, "empty field key".into());
        }
        if cursor.peek() != Some(b'=') {
            return cursor.error(cursor.pos, format!("expected '=' after field key {key:?}"));
        }
        cursor.pos += 1;
        let value = cursor.field_value(&key)?;
        fields.push((key, value));
        match cursor.peek() {
            Some(b',') => cursor.pos += 1,
            Some(b' ') | None => break,
            Some(_) => {
                let (key, _) = &fields[fields.len() - 1];
                return cursor.error(
                    cursor.pos,
                    format!("expected ',' or ' ' after the value of field {key:?}"),
                );
            }
        }
    }

    cursor.skip_spaces();
    if cursor.peek().is_none() {
        return Ok(Some(ParsedLine {
            measurement,
            tags,
            fields,
            timestamp: None,
        }));
    }
    let timestamp_start = cursor.pos;
    let token = cursor.scan(|b| b == b' ');
    let Ok(timestamp) = token.parse::<i64>() else {
        return cursor.error(
            timestamp_start,
            format!("invalid timestamp {token:?} (expected an integer)"),
        );
    };
    cursor.skip_spaces();
    if cursor.peek().is_some() {
        return cursor.error(cursor.pos, "unexpected text after the timestamp".into());
    }
    Ok(Some(ParsedLine {
        measurement,
        tags,
        fields,
        timestamp: Some(timestamp),
    }))
}
