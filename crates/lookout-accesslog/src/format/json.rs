//! One JSON object per line, with configurable field names.

use serde_json::{Map, Value};

use super::Fields;
use crate::record::{
    parse_bytes, parse_seconds, parse_status, parse_upstream_seconds, split_request, BadLine,
    Request,
};
use crate::time::{parse_iso8601, parse_local, parse_msec};

/// The field holding each role in a JSON line. The defaults are the nginx variable
/// names (`escape=json` formats usually name fields after them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonFields {
    pub time: String,
    pub client: String,
    /// `GET /path HTTP/1.1`; used when `method` or `path` is absent.
    pub request: String,
    pub method: String,
    pub path: String,
    pub status: String,
    pub bytes: String,
    pub request_time: String,
    pub upstream_time: String,
    pub vhost: String,
}

impl Default for JsonFields {
    fn default() -> Self {
        JsonFields {
            time: "time".into(),
            client: "remote_addr".into(),
            request: "request".into(),
            method: "request_method".into(),
            path: "request_uri".into(),
            status: "status".into(),
            bytes: "body_bytes_sent".into(),
            request_time: "request_time".into(),
            upstream_time: "upstream_response_time".into(),
            vhost: "host".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct JsonParser {
    fields: JsonFields,
    object: Map<String, Value>,
}

fn text<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    object.get(name).and_then(Value::as_str)
}

/// A number or a numeric string, through the text parser `parse`.
fn numeric<T>(
    object: &Map<String, Value>,
    name: &str,
    parse: impl Fn(&str) -> Result<T, BadLine>,
) -> Result<Option<T>, BadLine> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => parse(text).map(Some),
        Some(Value::Number(number)) => parse(&number.to_string()).map(Some),
        Some(_) => Err(BadLine::BadValue),
    }
}

fn parse_time(text: &str) -> Result<i64, BadLine> {
    parse_iso8601(text)
        .or_else(|_| parse_local(text))
        .or_else(|_| parse_msec(text))
}

impl JsonParser {
    pub(super) fn new(fields: JsonFields) -> JsonParser {
        JsonParser {
            fields,
            object: Map::new(),
        }
    }

    pub(super) fn parse<'a>(
        &'a mut self,
        line: &str,
    ) -> Result<(Request<'a>, Fields<'a>), BadLine> {
        self.object = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(object)) => object,
            _ => return Err(BadLine::NoMatch),
        };
        let object = &self.object;
        let fields = &self.fields;
        let status = numeric(object, &fields.status, parse_status)?.ok_or(BadLine::NoMatch)?;
        let (mut method, mut path) = match text(object, &fields.request) {
            Some(request) => split_request(request),
            None => ("-", "-"),
        };
        if let Some(value) = text(object, &fields.method) {
            method = value;
        }
        if let Some(value) = text(object, &fields.path) {
            path = value;
        }
        if method == "-" && path == "-" {
            return Err(BadLine::NoMatch);
        }
        let request = Request {
            timestamp_ms: numeric(object, &fields.time, parse_time)?,
            client: text(object, &fields.client).unwrap_or("-"),
            method,
            path,
            status,
            bytes: numeric(object, &fields.bytes, parse_bytes)?.unwrap_or(0),
            request_time: numeric(object, &fields.request_time, parse_seconds)?.flatten(),
            upstream_time: numeric(object, &fields.upstream_time, parse_upstream_seconds)?
                .flatten(),
            vhost: text(object, &fields.vhost).filter(|host| !host.is_empty() && *host != "-"),
        };
        Ok((request, Fields::Json(object)))
    }
}
