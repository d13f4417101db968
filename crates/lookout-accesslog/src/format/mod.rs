//! Line parsers: `combined`, `common`, `json` and any nginx `log_format` string.
//!
//! `combined` and `common` are themselves nginx formats (below), so every text format
//! goes through one compiled [`Pattern`]; `json` reads one object per line with
//! configurable field names ([`JsonFields`]). A [`Parser`] is built once from a
//! [`ParserConfig`] (the format compiled, the role of each field resolved) and then
//! turns each line into a [`Request`] or a [`BadLine`] reason.
//!
//! What it catches: any line of the configured shape, with the time, client, method,
//! path, status, bytes, request and upstream times and virtual host found by name.
//! What it misses: lines of another shape (counted as `no_match`), and values that hold
//! their own terminator in a middle field (a `"` inside an unescaped `$request`).
//! Cost per line: one UTF-8 check and one pass of the matcher (text formats, no
//! allocation) or one `serde_json` parse (JSON).

mod json;
mod pattern;

use std::borrow::Cow;

pub use json::JsonFields;
pub use pattern::Pattern;

use crate::error::FormatError;
use crate::record::{
    parse_bytes, parse_seconds, parse_status, parse_upstream_seconds, split_request, BadLine,
    Request,
};
use crate::time::TimeKind;

/// nginx's predefined `combined` format (also Apache's `combined`).
pub const COMBINED: &str = "$remote_addr $remote_ident $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"";
/// The Common Log Format (Apache's `common`).
pub const COMMON: &str =
    "$remote_addr $remote_ident $remote_user [$time_local] \"$request\" $status $body_bytes_sent";

/// The format of a log's lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFormat {
    Combined,
    Common,
    /// One JSON object per line.
    Json(Box<JsonFields>),
    /// An nginx `log_format` string.
    Nginx(String),
}

impl LogFormat {
    /// `combined`, `common`, `json` (default field names) or a string with `$variables`.
    pub fn from_name(name: &str) -> Result<LogFormat, FormatError> {
        match name {
            "combined" => Ok(LogFormat::Combined),
            "common" => Ok(LogFormat::Common),
            "json" => Ok(LogFormat::Json(Box::default())),
            other if other.contains('$') => Ok(LogFormat::Nginx(other.to_string())),
            other => Err(FormatError::UnknownFormat(other.to_string())),
        }
    }
}

/// Everything a [`Parser`] is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParserConfig {
    pub format: LogFormat,
    /// The field naming the client, for text formats (default `remote_addr`).
    pub client_field: Option<String>,
    /// The field naming the virtual host, for text formats (default the first of `host`,
    /// `server_name`, `http_host` the format has).
    pub vhost_field: Option<String>,
}

impl ParserConfig {
    pub fn new(format: LogFormat) -> ParserConfig {
        ParserConfig {
            format,
            client_field: None,
            vhost_field: None,
        }
    }
}

/// Where each role's value is in a text format's spans.
#[derive(Debug, Clone)]
struct Roles {
    client: Option<usize>,
    request: Option<usize>,
    method: Option<usize>,
    path: Option<usize>,
    status: usize,
    bytes: Option<usize>,
    request_time: Option<usize>,
    upstream_time: Option<usize>,
    vhost: Option<usize>,
    time: Option<(usize, TimeKind)>,
}

#[derive(Debug, Clone)]
enum Kind {
    Text { pattern: Pattern, roles: Roles },
    Json(json::JsonParser),
}

/// A compiled format: see the module documentation.
#[derive(Debug, Clone)]
pub struct Parser {
    kind: Kind,
    spans: Vec<(u32, u32)>,
}

/// The fields of the last parsed line, by name (custom `$fields` included).
#[derive(Debug, Clone, PartialEq)]
pub enum Fields<'a> {
    Text {
        line: &'a str,
        names: &'a [Box<str>],
        spans: &'a [(u32, u32)],
    },
    Json(&'a serde_json::Map<String, serde_json::Value>),
}

impl<'a> Fields<'a> {
    /// The value of field `name` (`request_time`, a custom `$upstream_addr`, ...).
    pub fn get(&self, name: &str) -> Option<Cow<'a, str>> {
        match self {
            Fields::Text { line, names, spans } => {
                let index = names.iter().position(|known| &**known == name)?;
                let (start, end) = spans[index];
                Some(Cow::Borrowed(&line[start as usize..end as usize]))
            }
            Fields::Json(object) => match object.get(name)? {
                serde_json::Value::String(text) => Some(Cow::Borrowed(text.as_str())),
                serde_json::Value::Null => None,
                other => Some(Cow::Owned(other.to_string())),
            },
        }
    }
}

fn resolve(
    pattern: &Pattern,
    role: &'static str,
    configured: Option<&str>,
    defaults: &[&str],
) -> Result<Option<usize>, FormatError> {
    match configured {
        Some(field) => pattern
            .index_of(field)
            .map(Some)
            .ok_or_else(|| FormatError::UnknownField {
                role,
                field: field.to_string(),
                known: pattern
                    .names()
                    .iter()
                    .map(|name| format!("${name}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        None => Ok(defaults.iter().find_map(|name| pattern.index_of(name))),
    }
}

impl Parser {
    /// Compiles the configured format; an unknown field or a format without a status or
    /// a request is refused with its reason.
    pub fn new(config: &ParserConfig) -> Result<Parser, FormatError> {
        let text = match &config.format {
            LogFormat::Combined => COMBINED,
            LogFormat::Common => COMMON,
            LogFormat::Nginx(format) => format.as_str(),
            LogFormat::Json(fields) => {
                return Ok(Parser {
                    kind: Kind::Json(json::JsonParser::new((**fields).clone())),
                    spans: Vec::new(),
                })
            }
        };
        let pattern = Pattern::compile(text)?;
        let find = |name: &str| pattern.index_of(name);
        let status = find("status").ok_or(FormatError::Missing("status", "$status".into()))?;
        let request = find("request");
        let path = find("request_uri").or_else(|| find("uri"));
        if request.is_none() && path.is_none() {
            return Err(FormatError::Missing(
                "request",
                "$request, $request_uri, $uri".into(),
            ));
        }
        let time = [
            ("time_local", TimeKind::Local),
            ("time_iso8601", TimeKind::Iso8601),
            ("msec", TimeKind::Msec),
        ]
        .iter()
        .find_map(|(name, kind)| find(name).map(|index| (index, *kind)));
        let roles = Roles {
            client: resolve(
                &pattern,
                "client",
                config.client_field.as_deref(),
                &["remote_addr"],
            )?,
            vhost: resolve(
                &pattern,
                "vhost",
                config.vhost_field.as_deref(),
                &["host", "server_name", "http_host"],
            )?,
            request,
            method: find("request_method"),
            path,
            status,
            bytes: find("body_bytes_sent").or_else(|| find("bytes_sent")),
            request_time: find("request_time"),
            upstream_time: find("upstream_response_time"),
            time,
        };
        Ok(Parser {
            kind: Kind::Text { pattern, roles },
            spans: Vec::new(),
        })
    }

    /// Whether lines of this format carry a request time (latency series are derived).
    pub fn has_request_time(&self) -> bool {
        match &self.kind {
            Kind::Text { roles, .. } => roles.request_time.is_some(),
            Kind::Json(_) => true,
        }
    }

    /// Parses one line (without its newline; a trailing `\r` is ignored).
    pub fn parse<'a>(&'a mut self, line: &'a [u8]) -> Result<(Request<'a>, Fields<'a>), BadLine> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = std::str::from_utf8(line).map_err(|_| BadLine::InvalidUtf8)?;
        match &mut self.kind {
            Kind::Json(parser) => parser.parse(text),
            Kind::Text { pattern, roles } => {
                pattern.match_line(line, &mut self.spans)?;
                let spans = &self.spans;
                let value = |index: usize| {
                    let (start, end) = spans[index];
                    &text[start as usize..end as usize]
                };
                let optional = |index: Option<usize>| index.map(value);
                let (mut method, mut path) = match roles.request {
                    Some(index) => split_request(value(index)),
                    None => ("-", "-"),
                };
                if let Some(index) = roles.method {
                    method = value(index);
                }
                if let Some(index) = roles.path {
                    path = value(index);
                }
                let timestamp_ms = match roles.time {
                    Some((index, kind)) => Some(kind.parse(value(index))?),
                    None => None,
                };
                let request = Request {
                    timestamp_ms,
                    client: optional(roles.client).unwrap_or("-"),
                    method,
                    path,
                    status: parse_status(value(roles.status))?,
                    bytes: match roles.bytes {
                        Some(index) => parse_bytes(value(index))?,
                        None => 0,
                    },
                    request_time: match roles.request_time {
                        Some(index) => parse_seconds(value(index))?,
                        None => None,
                    },
                    upstream_time: match roles.upstream_time {
                        Some(index) => parse_upstream_seconds(value(index))?,
                        None => None,
                    },
                    vhost: optional(roles.vhost).filter(|host| !host.is_empty() && *host != "-"),
                };
                let fields = Fields::Text {
                    line: text,
                    names: pattern.names(),
                    spans,
                };
                Ok((request, fields))
            }
        }
    }
}

#[cfg(test)]
mod tests;
