//! nginx `log_format` strings compiled into a matcher.
//!
//! A format is literals and `$variables` (`$name` or `${name}`, names of letters, digits
//! and `_`). Compiling splits it once into a leading literal and a list of (variable,
//! terminator) segments; matching a line walks it left to right: each variable's value
//! runs up to the next occurrence of its terminator (the literal that follows it), and
//! the last variable before the end runs up to the line's final literal, so a value
//! such as a user agent may contain the terminator's first byte. Inside quotes an
//! escaped quote (`\"`, which Apache writes) does not end a value.
//!
//! Cost: one pass over the line with a byte search per variable; no allocation (the
//! spans go into a buffer reused between lines).

use crate::error::FormatError;
use crate::record::BadLine;

/// One variable and the literal that ends it (empty only for a last variable that runs
/// to the end of the line).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    terminator: Box<[u8]>,
    /// The terminator starts with a quote: `\"` inside the value does not end it.
    quoted: bool,
}

/// A compiled `log_format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    prefix: Box<[u8]>,
    names: Vec<Box<str>>,
    segments: Vec<Segment>,
}

impl Pattern {
    /// Compiles `format` (nginx syntax). Two variables with nothing between them cannot
    /// be told apart and are refused, as are empty names and an unclosed `${`.
    pub fn compile(format: &str) -> Result<Pattern, FormatError> {
        if format.is_empty() {
            return Err(FormatError::Empty);
        }
        let bytes = format.as_bytes();
        let mut prefix = None;
        let mut literal = Vec::new();
        let mut names: Vec<Box<str>> = Vec::new();
        let mut segments = Vec::new();
        let mut position = 0;
        while position < bytes.len() {
            if bytes[position] != b'$' {
                literal.push(bytes[position]);
                position += 1;
                continue;
            }
            let start = position;
            let (name, next) = if bytes.get(position + 1) == Some(&b'{') {
                let close = format[position + 2..]
                    .find('}')
                    .ok_or(FormatError::UnclosedBrace { position: start })?;
                let name = &format[position + 2..position + 2 + close];
                (name, position + 3 + close)
            } else {
                let length = bytes[position + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                    .count();
                (
                    &format[position + 1..position + 1 + length],
                    position + 1 + length,
                )
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(FormatError::BadName { position: start });
            }
            match prefix {
                None => prefix = Some(std::mem::take(&mut literal)),
                Some(_) if literal.is_empty() => {
                    return Err(FormatError::Adjacent {
                        first: names.last().expect("a variable before").to_string(),
                        second: name.to_string(),
                    })
                }
                Some(_) => segments.push(segment(std::mem::take(&mut literal))),
            }
            if names.iter().any(|known| &**known == name) {
                return Err(FormatError::Duplicate(name.to_string()));
            }
            names.push(name.into());
            position = next;
        }
        if names.is_empty() {
            return Err(FormatError::NoVariable);
        }
        segments.push(segment(literal));
        Ok(Pattern {
            prefix: prefix.unwrap_or_default().into(),
            names,
            segments,
        })
    }

    /// The variable names, in format order (the index of a name is its span's index).
    pub fn names(&self) -> &[Box<str>] {
        &self.names
    }

    /// Index of variable `name`, if the format has it.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|known| &**known == name)
    }

    /// Matches `line`, writing each variable's byte range into `spans` (cleared first).
    pub fn match_line(&self, line: &[u8], spans: &mut Vec<(u32, u32)>) -> Result<(), BadLine> {
        spans.clear();
        if !self.prefix.is_empty() && !line.starts_with(&self.prefix) {
            return Err(BadLine::NoMatch);
        }
        let mut position = self.prefix.len();
        let last = self.segments.len() - 1;
        for (index, segment) in self.segments.iter().enumerate() {
            let terminator = &*segment.terminator;
            let end = if index == last {
                let ends = match terminator {
                    [] => true,
                    [byte] => line.last() == Some(byte),
                    _ => line.ends_with(terminator),
                };
                if !ends || line.len() < position + terminator.len() {
                    return Err(BadLine::NoMatch);
                }
                line.len() - terminator.len()
            } else {
                find(line, position, terminator, segment.quoted).ok_or(BadLine::NoMatch)?
            };
            spans.push((position as u32, end as u32));
            position = end + terminator.len();
        }
        Ok(())
    }
}

fn segment(terminator: Vec<u8>) -> Segment {
    Segment {
        quoted: terminator.first() == Some(&b'"'),
        terminator: terminator.into(),
    }
}

/// The first position at or after `from` where `needle` (non-empty) occurs; with
/// `quoted`, an occurrence right after a backslash is skipped.
fn find(haystack: &[u8], from: usize, needle: &[u8], quoted: bool) -> Option<usize> {
    let first = needle[0];
    let mut at = from;
    while at + needle.len() <= haystack.len() {
        let candidate = at + memchr::memchr(first, &haystack[at..=haystack.len() - needle.len()])?;
        let escaped = quoted && candidate > from && haystack[candidate - 1] == b'\\';
        let rest = &needle[1..];
        if !escaped
            && (rest.is_empty() || haystack[candidate + 1..candidate + needle.len()] == *rest)
        {
            return Some(candidate);
        }
        at = candidate + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(pattern: &Pattern, line: &'a str) -> Result<Vec<&'a str>, BadLine> {
        let mut spans = Vec::new();
        pattern.match_line(line.as_bytes(), &mut spans)?;
        Ok(spans
            .iter()
            .map(|(start, end)| &line[*start as usize..*end as usize])
            .collect())
    }

    #[test]
    fn variables_run_to_their_terminators() {
        let pattern = Pattern::compile("$a - [$b] \"$c\" ${d}x$e").unwrap();
        assert_eq!(pattern.names().len(), 5);
        assert_eq!(
            values(&pattern, "1.2.3.4 - [t t] \"GET / H\" 42x7").unwrap(),
            ["1.2.3.4", "t t", "GET / H", "42", "7"]
        );
        assert_eq!(pattern.index_of("d"), Some(3));
        assert_eq!(values(&pattern, "1.2.3.4 [t]"), Err(BadLine::NoMatch));
    }

    #[test]
    fn the_last_quoted_value_may_hold_quotes_and_escaped_quotes_are_skipped() {
        let pattern = Pattern::compile("\"$r\" $s \"$ua\"").unwrap();
        assert_eq!(
            values(&pattern, r#""GET /\"x\" H" 200 "Mozilla "quoted" 5.0""#).unwrap(),
            [r#"GET /\"x\" H"#, "200", r#"Mozilla "quoted" 5.0"#]
        );
    }

    #[test]
    fn a_prefix_and_a_suffix_are_literals_to_match() {
        let pattern = Pattern::compile("<$a>").unwrap();
        assert_eq!(values(&pattern, "<x>").unwrap(), ["x"]);
        assert_eq!(values(&pattern, "<>").unwrap(), [""]);
        assert_eq!(values(&pattern, "x>"), Err(BadLine::NoMatch));
        assert_eq!(values(&pattern, "<x"), Err(BadLine::NoMatch));
        assert_eq!(values(&pattern, "<"), Err(BadLine::NoMatch));
    }

    #[test]
    fn bad_formats_are_refused_with_their_reason() {
        assert_eq!(Pattern::compile(""), Err(FormatError::Empty));
        assert_eq!(Pattern::compile("plain"), Err(FormatError::NoVariable));
        assert_eq!(
            Pattern::compile("$a$b"),
            Err(FormatError::Adjacent {
                first: "a".into(),
                second: "b".into()
            })
        );
        assert_eq!(
            Pattern::compile("x ${a"),
            Err(FormatError::UnclosedBrace { position: 2 })
        );
        assert_eq!(
            Pattern::compile("x $ y"),
            Err(FormatError::BadName { position: 2 })
        );
        assert_eq!(
            Pattern::compile("$a $a"),
            Err(FormatError::Duplicate("a".into()))
        );
    }
}
