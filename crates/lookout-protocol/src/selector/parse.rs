//! Recursive-descent parser for selectors, with byte positions turned into characters on error.

use super::{MatchOp, Matcher, Selector, SelectorError};
use crate::remote_write::METRIC_NAME_LABEL;

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

pub(super) fn parse(text: &str) -> Result<Selector, SelectorError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    let selector = parser.selector()?;
    Ok(selector)
}

fn is_name_start(byte: u8, colon: bool) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || (colon && byte == b':')
}

fn is_name_char(byte: u8, colon: bool) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || (colon && byte == b':')
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// The character at the cursor, quoted for messages, or "end of input".
    fn found(&self) -> String {
        match self.text[self.pos..].chars().next() {
            Some(c) => format!("{c:?}"),
            None => "end of input".into(),
        }
    }

    fn error<T>(&self, byte_offset: usize, message: impl Into<String>) -> Result<T, SelectorError> {
        let position = self
            .text
            .get(..byte_offset)
            .map_or(byte_offset, |prefix| prefix.chars().count());
        Err(SelectorError {
            position,
            message: message.into(),
        })
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn name(&mut self, colon: bool) -> Option<&'a str> {
        let start = self.pos;
        if !self.peek().is_some_and(|b| is_name_start(b, colon)) {
            return None;
        }
        while self.peek().is_some_and(|b| is_name_char(b, colon)) {
            self.pos += 1;
        }
        Some(&self.text[start..self.pos])
    }

    fn selector(&mut self) -> Result<Selector, SelectorError> {
        self.skip_whitespace();
        let name_start = self.pos;
        let metric = self.name(true);
        self.skip_whitespace();
        if let Some(name) = metric {
            if self.peek() == Some(b'(') {
                return self.error(
                    name_start,
                    format!("functions are not supported yet ({name}(...)); write a series selector such as name{{label=\"value\"}}"),
                );
            }
        }
        let mut matchers = Vec::new();
        if let Some(name) = metric {
            matchers.push(
                Matcher::new(METRIC_NAME_LABEL, MatchOp::Equal, name)
                    .expect("equality needs no regex"),
            );
        }
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                self.matchers(&mut matchers, metric)?;
            }
            _ if metric.is_none() => {
                return self.error(
                    self.pos,
                    format!("expected a metric name or '{{', found {}", self.found()),
                );
            }
            _ => {}
        }
        self.skip_whitespace();
        match self.peek() {
            None => {}
            Some(b'[') => {
                return self.error(
                    self.pos,
                    "range selectors like [5m] are not supported, only series selectors",
                )
            }
            Some(b'(') => return self.error(self.pos, "functions are not supported yet"),
            Some(_) => {
                return self.error(
                    self.pos,
                    format!("expected end of selector, found {}", self.found()),
                )
            }
        }
        Selector::new(matchers)
    }

    fn matchers(
        &mut self,
        matchers: &mut Vec<Matcher>,
        metric: Option<&str>,
    ) -> Result<(), SelectorError> {
        loop {
            self.skip_whitespace();
            if self.peek() == Some(b'}') {
                self.pos += 1;
                return Ok(());
            }
            let label_start = self.pos;
            let Some(label) = self.name(false) else {
                return self.error(
                    self.pos,
                    format!("expected a label name or '}}', found {}", self.found()),
                );
            };
            if label == METRIC_NAME_LABEL {
                if let Some(metric) = metric {
                    return self.error(
                        label_start,
                        format!("metric name set twice: {metric:?} and a __name__ matcher"),
                    );
                }
            }
            self.skip_whitespace();
            let op = self.op(label)?;
            self.skip_whitespace();
            let value_start = self.pos;
            let value = self.string()?;
            let matcher = Matcher::new(label, op, value.as_str()).or_else(|error| {
                self.error(
                    value_start,
                    format!(
                        "invalid regular expression {value:?}: {}",
                        regex_reason(&error.to_string())
                    ),
                )
            })?;
            matchers.push(matcher);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => {
                    return self.error(
                        self.pos,
                        format!(
                            "expected ',' or '}}' after a matcher, found {}",
                            self.found()
                        ),
                    )
                }
            }
        }
    }

    fn op(&mut self, label: &str) -> Result<MatchOp, SelectorError> {
        let rest = &self.bytes[self.pos..];
        let (op, len) = match rest {
            [b'=', b'~', ..] => (MatchOp::RegexMatch, 2),
            [b'!', b'~', ..] => (MatchOp::RegexNoMatch, 2),
            [b'!', b'=', ..] => (MatchOp::NotEqual, 2),
            [b'=', ..] => (MatchOp::Equal, 1),
            _ => {
                return self.error(
                    self.pos,
                    format!(
                        "expected '=', '!=', '=~' or '!~' after label name {label:?}, found {}",
                        self.found()
                    ),
                )
            }
        };
        self.pos += len;
        Ok(op)
    }

    fn string(&mut self) -> Result<String, SelectorError> {
        let start = self.pos;
        let quote = match self.peek() {
            Some(quote @ (b'"' | b'\'' | b'`')) => quote as char,
            _ => {
                return self.error(
                    self.pos,
                    format!("expected a quoted string, found {}", self.found()),
                )
            }
        };
        self.pos += 1;
        let mut value = String::new();
        let mut chars = self.text[self.pos..].char_indices();
        while let Some((offset, c)) = chars.next() {
            if c == quote {
                self.pos += offset + 1;
                return Ok(value);
            }
            if c == '\n' && quote != '`' {
                break;
            }
            if c != '\\' || quote == '`' {
                value.push(c);
                continue;
            }
            let escape_at = self.pos + offset;
            let Some((_, kind)) = chars.next() else { break };
            let simple = match kind {
                'a' => Some('\u{7}'),
                'b' => Some('\u{8}'),
                'f' => Some('\u{c}'),
                'n' => Some('\n'),
                'r' => Some('\r'),
                't' => Some('\t'),
                'v' => Some('\u{b}'),
                '\\' | '"' | '\'' => Some(kind),
                _ => None,
            };
            if let Some(c) = simple {
                value.push(c);
                continue;
            }
            let (digits, radix) = match kind {
                'x' => (2, 16),
                'u' => (4, 16),
                'U' => (8, 16),
                '0'..='7' => (2, 8),
                _ => {
                    return self.error(
                        escape_at,
                        format!("unknown escape sequence '\\{kind}' in string"),
                    )
                }
            };
            let mut code = if radix == 8 {
                kind.to_digit(8).unwrap_or(0)
            } else {
                0
            };
            for _ in 0..digits {
                let digit = chars.next().and_then(|(_, c)| c.to_digit(radix));
                let Some(digit) = digit else {
                    return self.error(
                        escape_at,
                        format!("invalid escape sequence '\\{kind}...' in string"),
                    );
                };
                code = code.saturating_mul(radix).saturating_add(digit);
            }
            let decoded = if kind == 'x' || radix == 8 {
                // Go's \x and octal escapes are bytes; lookout keeps strings UTF-8, so only ASCII is allowed.
                u8::try_from(code).ok().filter(u8::is_ascii).map(char::from)
            } else {
                char::from_u32(code)
            };
            let Some(c) = decoded else {
                return self.error(
                    escape_at,
                    format!("escape sequence '\\{kind}...' is not a valid character"),
                );
            };
            value.push(c);
        }
        self.error(start, "unterminated string")
    }
}

/// The useful part of a `regex` error (its messages span several lines).
fn regex_reason(text: &str) -> &str {
    text.lines()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .unwrap_or(text.trim())
}
