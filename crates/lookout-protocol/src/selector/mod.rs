//! Prometheus series selectors: `cpu{host="web-1", mode!="idle", dc=~"eu-.*", env!~"dev|test"}`.
//!
//! The syntax is Prometheus' instant vector selector: an optional metric name, then
//! optional braces holding comma-separated matchers `label op "value"` with `op` one of
//! `=`, `!=`, `=~`, `!~`; a trailing comma is allowed. Values are double-quoted,
//! single-quoted (both with Go escapes: `\n`, `\"`, `\\`, `\x41`, `\u00e9`, `\101`, ...) or
//! back-quoted raw strings. `{__name__=~"node_.*"}` matches on the metric name.
//!
//! Semantics are Prometheus': a label the series lacks has the empty value, so
//! `{env=""}` matches series without `env` and `{env!=""}` those with it. Regexes are
//! fully anchored, `^(?s:re)$` (as Prometheus compiles them; `.` also matches a
//! newline), with the `regex` crate's RE2-like syntax. A selector must have at least one
//! matcher that does not match the empty string, so that `{}` or `{env=~".*"}` cannot
//! select every series by accident. Functions, range selectors, offsets and operators
//! are refused with a message saying so.
//!
//! Cost: parsing compiles each regex once; [`Selector::matches`] does one map lookup and
//! at most one regex run per matcher.

mod parse;

use std::fmt;
use std::str::FromStr;

use lookout_model::SeriesKey;
use regex::Regex;

use crate::remote_write::METRIC_NAME_LABEL;

/// How a matcher compares a label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    RegexMatch,
    RegexNoMatch,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::RegexMatch => "=~",
            MatchOp::RegexNoMatch => "!~",
        }
    }
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `label op "value"` condition.
#[derive(Debug, Clone)]
pub struct Matcher {
    name: String,
    op: MatchOp,
    value: String,
    /// The anchored regex, for `=~` and `!~`.
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Matcher {
    /// A matcher; fails only when a regex operator gets an invalid or oversized regex.
    pub fn new(
        name: impl Into<String>,
        op: MatchOp,
        value: impl Into<String>,
    ) -> Result<Self, regex::Error> {
        let value = value.into();
        let regex = match op {
            MatchOp::Equal | MatchOp::NotEqual => None,
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => Some(
                regex::RegexBuilder::new(&format!("^(?s:{value})$"))
                    .size_limit(1 << 20)
                    .dfa_size_limit(1 << 20)
                    .build()?,
            ),
        };
        Ok(Matcher {
            name: name.into(),
            op,
            value,
            regex,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn op(&self) -> MatchOp {
        self.op
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether a label value (empty when the label is absent) satisfies this matcher.
    pub fn matches_value(&self, value: &str) -> bool {
        match (&self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::RegexMatch, Some(regex)) => regex.is_match(value),
            (MatchOp::RegexNoMatch, Some(regex)) => !regex.is_match(value),
            (MatchOp::RegexMatch | MatchOp::RegexNoMatch, None) => {
                unreachable!("regex matchers always hold a regex")
            }
        }
    }

    /// Whether this matcher would select series that lack the label.
    pub fn matches_empty(&self) -> bool {
        self.matches_value("")
    }

    /// Whether the series' label (or metric name, for `__name__`) satisfies this matcher.
    pub fn matches(&self, key: &SeriesKey) -> bool {
        let value = if self.name == METRIC_NAME_LABEL {
            key.name.as_str()
        } else {
            key.labels.get(&self.name).map_or("", String::as_str)
        };
        self.matches_value(value)
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"{}\"", self.name, self.op, escape(&self.value))
    }
}

fn escape(value: &str) -> String {
    let mut text = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => text.push_str("\\\\"),
            '"' => text.push_str("\\\""),
            '\n' => text.push_str("\\n"),
            '\r' => text.push_str("\\r"),
            '\t' => text.push_str("\\t"),
            other => text.push(other),
        }
    }
    text
}

/// A parsed selector: all of its matchers must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    matchers: Vec<Matcher>,
}

impl Selector {
    /// A selector from matchers, checked against the non-empty rule.
    pub fn new(matchers: Vec<Matcher>) -> Result<Self, SelectorError> {
        if matchers.iter().all(Matcher::matches_empty) {
            return Err(SelectorError {
                position: 0,
                message: "a selector needs at least one matcher that does not match the empty string, such as a \
                          metric name or label=\"value\""
                    .into(),
            });
        }
        Ok(Selector { matchers })
    }

    pub fn matchers(&self) -> &[Matcher] {
        &self.matchers
    }

    /// The metric name when the selector pins it with an equality matcher.
    pub fn metric_name(&self) -> Option<&str> {
        self.matchers
            .iter()
            .find(|matcher| matcher.name == METRIC_NAME_LABEL && matcher.op == MatchOp::Equal)
            .map(|matcher| matcher.value.as_str())
    }

    /// Whether every matcher holds for the series.
    pub fn matches(&self, key: &SeriesKey) -> bool {
        self.matchers.iter().all(|matcher| matcher.matches(key))
    }
}

impl fmt::Display for Selector {
    /// Prometheus syntax: `name{label="value",...}`, the name first when it is a plain equality.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name_index = self.matchers.iter().position(|m| {
            m.name == METRIC_NAME_LABEL
                && m.op == MatchOp::Equal
                && lookout_model::validate_metric_name(&m.value).is_ok()
        });
        if let Some(index) = name_index {
            f.write_str(&self.matchers[index].value)?;
        }
        let mut rest = self
            .matchers
            .iter()
            .enumerate()
            .filter(|(index, _)| Some(*index) != name_index);
        let Some((_, first)) = rest.next() else {
            return Ok(());
        };
        write!(f, "{{{first}")?;
        for (_, matcher) in rest {
            write!(f, ",{matcher}")?;
        }
        f.write_str("}")
    }
}

/// Why a selector did not parse: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid selector at position {position}: {message}")]
pub struct SelectorError {
    /// 0-based character offset into the selector text.
    pub position: usize,
    pub message: String,
}

/// Parses a selector such as `cpu{host="web-1"}`.
pub fn parse_selector(text: &str) -> Result<Selector, SelectorError> {
    parse::parse(text)
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_selector(text)
    }
}

#[cfg(test)]
mod tests;
