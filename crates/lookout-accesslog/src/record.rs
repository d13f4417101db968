//! One parsed request line and the reasons a line is refused.

use std::fmt;

/// A request as one access-log line describes it, borrowing from the line (or from the
/// parser, for JSON lines).
#[derive(Debug, Clone, PartialEq)]
pub struct Request<'a> {
    /// When the line says it happened (unix ms), if the format has a time.
    pub timestamp_ms: Option<i64>,
    /// The client address (`$remote_addr` or the configured client field).
    pub client: &'a str,
    /// The method as written (`GET`); see [`Method`] for the bounded set it folds into.
    pub method: &'a str,
    /// The path and query as written (`/users/12?x=1`); `-` when the line has none.
    pub path: &'a str,
    /// The response status, 100..=599.
    pub status: u16,
    /// Body bytes sent (`-` is 0).
    pub bytes: u64,
    /// Seconds from the first byte read to the last byte sent (`$request_time`).
    pub request_time: Option<f64>,
    /// Seconds spent waiting for the upstream(s) (`$upstream_response_time`, summed over
    /// the upstreams tried).
    pub upstream_time: Option<f64>,
    /// The virtual host (`$host`, `$server_name`, `$http_host` or the configured field).
    pub vhost: Option<&'a str>,
}

/// Why a line did not become a [`Request`]. Every refused line is counted under one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadLine {
    /// The line does not have the format's shape (a literal or a field is missing).
    NoMatch,
    /// The line is not UTF-8.
    InvalidUtf8,
    /// The line is longer than the limit (counted by the reader, which never holds it).
    TooLong,
    /// The shape matched but a field's value is wrong (a status that is not a number
    /// in 100..=599, a byte count that is not a number, an unreadable time).
    BadValue,
}

impl BadLine {
    /// Every reason, in the order counters list them.
    pub const ALL: [BadLine; 4] = [
        BadLine::NoMatch,
        BadLine::InvalidUtf8,
        BadLine::TooLong,
        BadLine::BadValue,
    ];

    /// The reason's label value (`no_match`, `invalid_utf8`, `too_long`, `bad_value`).
    pub fn as_str(self) -> &'static str {
        match self {
            BadLine::NoMatch => "no_match",
            BadLine::InvalidUtf8 => "invalid_utf8",
            BadLine::TooLong => "too_long",
            BadLine::BadValue => "bad_value",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The bounded set of methods series are labelled with; anything else is `OTHER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Patch,
    Options,
    Other,
}

impl Method {
    pub const ALL: [Method; 8] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Delete,
        Method::Patch,
        Method::Options,
        Method::Other,
    ];

    /// Folds a method as written into the bounded set (exact, case-sensitive as HTTP).
    pub fn of(method: &str) -> Method {
        match method {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
            Method::Options => "OPTIONS",
            Method::Other => "OTHER",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// The status class label values, index = first digit - 1.
pub const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// A status code from its text: three digits in 100..=599.
pub(crate) fn parse_status(text: &str) -> Result<u16, BadLine> {
    let bytes = text.as_bytes();
    if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(BadLine::BadValue);
    }
    let status = u16::from(bytes[0] - b'0') * 100
        + u16::from(bytes[1] - b'0') * 10
        + u16::from(bytes[2] - b'0');
    if (100..600).contains(&status) {
        Ok(status)
    } else {
        Err(BadLine::BadValue)
    }
}

/// A byte count: digits, or `-` for none.
pub(crate) fn parse_bytes(text: &str) -> Result<u64, BadLine> {
    if text == "-" {
        return Ok(0);
    }
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadLine::BadValue);
    }
    Ok(text
        .bytes()
        .fold(0u64, |value, digit| value * 10 + u64::from(digit - b'0')))
}

/// Seconds as nginx writes them (`0.123`); `-` or empty is none.
pub(crate) fn parse_seconds(text: &str) -> Result<Option<f64>, BadLine> {
    if text == "-" || text.is_empty() {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(Some(value)),
        _ => Err(BadLine::BadValue),
    }
}

/// `$upstream_response_time`: one time per upstream tried, separated by `, ` (next
/// upstream) or ` : ` (internal redirect); `-` entries are upstreams never answered.
/// The total is their sum; none when no entry is a number.
pub(crate) fn parse_upstream_seconds(text: &str) -> Result<Option<f64>, BadLine> {
    if !text.contains([',', ':']) {
        return parse_seconds(text.trim());
    }
    let mut total = None;
    for part in text.split([',', ':']) {
        if let Some(seconds) = parse_seconds(part.trim())? {
            *total.get_or_insert(0.0) += seconds;
        }
    }
    Ok(total)
}

/// Splits `$request` (`GET /path HTTP/1.1`) into method and path. A request line that
/// is not of that shape (garbage a client sent, `-`) is still a request: its method is
/// the whole text and its path `-`, so it is counted, under `OTHER` and the invalid route.
pub(crate) fn split_request(request: &str) -> (&str, &str) {
    let bytes = request.as_bytes();
    let Some(first) = memchr::memchr(b' ', bytes) else {
        return (request, "-");
    };
    let rest = &request[first + 1..];
    let path = match memchr::memchr(b' ', rest.as_bytes()) {
        Some(second) => &rest[..second],
        None => rest,
    };
    if first > 0 && (path.starts_with('/') || path.contains("://")) {
        (&request[..first], path)
    } else {
        (request, "-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_three_digits_in_range() {
        assert_eq!(parse_status("200"), Ok(200));
        assert_eq!(parse_status("599"), Ok(599));
        assert_eq!(parse_status("499"), Ok(499));
        for bad in ["600", "099", "20", "2000", "abc", "", "-"] {
            assert_eq!(parse_status(bad), Err(BadLine::BadValue), "{bad}");
        }
    }

    #[test]
    fn bytes_and_seconds() {
        assert_eq!(parse_bytes("-"), Ok(0));
        assert_eq!(parse_bytes("1234"), Ok(1234));
        assert_eq!(parse_bytes("12a"), Err(BadLine::BadValue));
        assert_eq!(parse_bytes("99999999999999999999"), Err(BadLine::BadValue));
        assert_eq!(parse_seconds("0.250"), Ok(Some(0.25)));
        assert_eq!(parse_seconds("-"), Ok(None));
        assert_eq!(parse_seconds("-1"), Err(BadLine::BadValue));
        assert_eq!(parse_seconds("nan"), Err(BadLine::BadValue));
        assert_eq!(
            parse_upstream_seconds("0.1, 0.2 : 0.3"),
            Ok(Some(0.6000000000000001))
        );
        assert_eq!(parse_upstream_seconds("-, -"), Ok(None));
        assert_eq!(parse_upstream_seconds("0.005"), Ok(Some(0.005)));
    }

    #[test]
    fn request_lines_split_and_garbage_is_kept_as_other() {
        assert_eq!(split_request("GET /a?b HTTP/1.1"), ("GET", "/a?b"));
        assert_eq!(split_request("GET /a"), ("GET", "/a"));
        assert_eq!(
            split_request("CONNECT http://x:443/ HTTP/1.1"),
            ("CONNECT", "http://x:443/")
        );
        assert_eq!(split_request("-"), ("-", "-"));
        assert_eq!(split_request("\\x16\\x03\\x01"), ("\\x16\\x03\\x01", "-"));
        assert_eq!(Method::of("GET"), Method::Get);
        assert_eq!(Method::of("get"), Method::Other);
    }
}
