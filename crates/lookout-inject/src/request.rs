//! Splits one raw HTTP request (request line, headers, blank line, body) into the fields
//! that carry user content: the path, each query parameter, the headers that clients
//! fill (`Cookie` split into its cookies, `Referer` and `Origin` read as URLs, any header
//! not in a short list of protocol headers), and the body: URL-encoded forms by
//! parameter, JSON by string (keys and values), multipart by part (file names and
//! contents), anything else whole. Lenient: lines that are not headers and bodies that
//! do not parse as their content type claims are inspected whole, never dropped.

use crate::Origin;
use std::borrow::Cow;

/// Why a request could not be read at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("empty request")]
    Empty,
    #[error("bad request line {line:?}: expected `METHOD TARGET [VERSION]`")]
    BadRequestLine { line: String },
}

impl RequestError {
    /// A short reason for counters.
    pub fn reason(&self) -> &'static str {
        match self {
            RequestError::Empty => "empty",
            RequestError::BadRequestLine { .. } => "bad_request_line",
        }
    }
}

/// One field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    pub origin: Origin,
    pub name: Cow<'a, str>,
    pub value: Cow<'a, [u8]>,
    /// Whether `+` means a space (query strings and forms).
    pub plus: bool,
}

/// Headers that carry protocol data, not user content.
const PROTOCOL_HEADERS: &[&str] = &[
    "host",
    "connection",
    "content-length",
    "cache-control",
    "pragma",
    "upgrade-insecure-requests",
    "dnt",
    "if-modified-since",
    "if-none-match",
    "keep-alive",
    "te",
    "priority",
    "sec-fetch-dest",
    "sec-fetch-mode",
    "sec-fetch-site",
    "sec-fetch-user",
    "sec-ch-ua-mobile",
    "accept-encoding",
    "content-encoding",
    "transfer-encoding",
    "upgrade",
    "purpose",
];

fn lossy(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

fn trim(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if first.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = b {
        if last.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    b
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Emits `name=value` pairs of a query string or form body.
fn pairs<'a>(s: &'a [u8], origin: Origin, emit: &mut impl FnMut(Field<'a>)) {
    for pair in s.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(p) => (&pair[..p], &pair[p + 1..]),
            None => (&[][..], pair),
        };
        // A name that is more than a plain identifier is content too.
        if name
            .iter()
            .any(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'[' | b']')))
        {
            emit(Field {
                origin,
                name: Cow::Borrowed(""),
                value: Cow::Borrowed(name),
                plus: true,
            });
        }
        emit(Field {
            origin,
            name: lossy(name),
            value: Cow::Borrowed(value),
            plus: true,
        });
    }
}

/// Emits the path and the query parameters of a request target as an access log writes
/// it (`/path?query`, or an absolute URL): the fields of a request line.
pub fn target_fields<'a>(t: &'a [u8], mut emit: impl FnMut(Field<'a>)) {
    target(t, Origin::Path, &mut emit);
}

/// Emits the path and the query parameters of a request target or URL.
fn target<'a>(t: &'a [u8], origin: Origin, emit: &mut impl FnMut(Field<'a>)) {
    let mut t = t;
    // absolute form: scheme://authority/path
    if let Some(p) = find(t, b"://") {
        if p < 10 && t[..p].iter().all(|b| b.is_ascii_alphabetic()) {
            let rest = &t[p + 3..];
            t = match rest.iter().position(|&b| b == b'/' || b == b'?') {
                Some(q) => &rest[q..],
                None => &[],
            };
        }
    }
    let (path, query) = match t.iter().position(|&b| b == b'?') {
        Some(q) => (&t[..q], &t[q + 1..]),
        None => (t, &[][..]),
    };
    let path_origin = if origin == Origin::Path {
        Origin::Path
    } else {
        origin
    };
    if !path.is_empty() {
        emit(Field {
            origin: path_origin,
            name: Cow::Borrowed(""),
            value: Cow::Borrowed(path),
            plus: false,
        });
    }
    let q_origin = if origin == Origin::Path {
        Origin::Query
    } else {
        origin
    };
    pairs(query, q_origin, emit);
}

fn header_param<'a>(value: &'a [u8], key: &str) -> Option<&'a [u8]> {
    for part in value.split(|&b| b == b';') {
        let part = trim(part);
        if part.len() > key.len()
            && part[..key.len()].eq_ignore_ascii_case(key.as_bytes())
            && part[key.len()] == b'='
        {
            let v = &part[key.len() + 1..];
            return Some(
                v.strip_prefix(b"\"")
                    .and_then(|v| v.strip_suffix(b"\""))
                    .unwrap_or(v),
            );
        }
    }
    None
}

fn json_strings(v: &serde_json::Value, name: &str, emit: &mut dyn FnMut(String, Vec<u8>)) {
    match v {
        serde_json::Value::String(s) => emit(name.to_owned(), s.clone().into_bytes()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_strings(x, name, emit)),
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                if k.bytes()
                    .any(|b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
                {
                    emit(String::new(), k.clone().into_bytes());
                }
                json_strings(x, k, emit);
            }
        }
        _ => {}
    }
}

fn multipart<'a>(body: &'a [u8], boundary: &[u8], emit: &mut impl FnMut(Field<'a>)) -> bool {
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(boundary);
    let Some(first) = find(body, &delim) else {
        return false;
    };
    let mut rest = &body[first + delim.len()..];
    while !rest.starts_with(b"--") && !rest.is_empty() {
        let end = find(rest, &delim).unwrap_or(rest.len());
        let part = &rest[..end];
        let (head, content) = split_head(part);
        let mut name: Cow<'a, str> = Cow::Borrowed("");
        for line in head.split(|&b| b == b'\n') {
            let line = trim(line);
            if line.len() > 20 && line[..20].eq_ignore_ascii_case(b"content-disposition:") {
                if let Some(n) = header_param(&line[20..], "name") {
                    name = lossy(n);
                }
                if let Some(f) = header_param(&line[20..], "filename") {
                    emit(Field {
                        origin: Origin::Body,
                        name: Cow::Borrowed("filename"),
                        value: Cow::Borrowed(f),
                        plus: false,
                    });
                }
            }
        }
        let content = content
            .strip_suffix(b"\r\n")
            .or_else(|| content.strip_suffix(b"\n"))
            .unwrap_or(content);
        emit(Field {
            origin: Origin::Body,
            name: name.clone(),
            value: Cow::Borrowed(content),
            plus: false,
        });
        rest = if end + delim.len() <= rest.len() {
            &rest[end + delim.len()..]
        } else {
            &[]
        };
    }
    true
}

/// Splits at the first blank line (CRLF or LF): head, body.
fn split_head(raw: &[u8]) -> (&[u8], &[u8]) {
    let crlf = find(raw, b"\r\n\r\n").map(|p| (p, 4));
    let lf = find(raw, b"\n\n").map(|p| (p, 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => {
            let (p, n) = if a.0 <= b.0 { a } else { b };
            (&raw[..p], &raw[p + n..])
        }
        (Some((p, n)), None) | (None, Some((p, n))) => (&raw[..p], &raw[p + n..]),
        (None, None) => (raw, &[]),
    }
}

/// Emits every field of `raw` that carries user content.
pub fn fields<'a>(raw: &'a [u8], mut emit: impl FnMut(Field<'a>)) -> Result<(), RequestError> {
    let raw = {
        let mut r = raw;
        while let [b'\r' | b'\n', rest @ ..] = r {
            r = rest;
        }
        r
    };
    if trim(raw).is_empty() {
        return Err(RequestError::Empty);
    }
    let (head, body) = split_head(raw);
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let line = lines.next().unwrap_or_default();
    let mut parts = line.splitn(3, |&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    let tgt = parts.next();
    let method_ok = !method.is_empty()
        && method.len() <= 32
        && method
            .iter()
            .all(|b| b.is_ascii_alphabetic() || *b == b'-' || *b == b'_');
    let Some(tgt) = tgt.filter(|_| method_ok) else {
        let shown: String = lossy(&line[..line.len().min(120)]).into_owned();
        return Err(RequestError::BadRequestLine { line: shown });
    };
    target(tgt, Origin::Path, &mut emit);
    // The version part is normally `HTTP/1.1`; anything else there is content.
    if let Some(version) = parts.next() {
        if !version.starts_with(b"HTTP/") {
            emit(Field {
                origin: Origin::Path,
                name: Cow::Borrowed("request-line"),
                value: Cow::Borrowed(version),
                plus: false,
            });
        }
    }
    let mut content_type: &[u8] = &[];
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            if !trim(line).is_empty() {
                emit(Field {
                    origin: Origin::Header,
                    name: Cow::Borrowed(""),
                    value: Cow::Borrowed(line),
                    plus: false,
                });
            }
            continue;
        };
        let name = trim(&line[..colon]);
        let value = trim(&line[colon + 1..]);
        let lname = lossy(name).to_ascii_lowercase();
        if PROTOCOL_HEADERS.contains(&lname.as_str()) {
            continue;
        }
        match lname.as_str() {
            "cookie" => {
                for c in value.split(|&b| b == b';') {
                    let c = trim(c);
                    let (n, v) = match c.iter().position(|&b| b == b'=') {
                        Some(p) => (&c[..p], &c[p + 1..]),
                        None => (&[][..], c),
                    };
                    emit(Field {
                        origin: Origin::Cookie,
                        name: lossy(n),
                        value: Cow::Borrowed(v),
                        plus: true,
                    });
                }
            }
            "referer" | "origin" => target(value, Origin::Header, &mut emit),
            _ => {
                if lname == "content-type" {
                    content_type = value;
                }
                emit(Field {
                    origin: Origin::Header,
                    name: Cow::Owned(lname),
                    value: Cow::Borrowed(value),
                    plus: false,
                });
            }
        }
    }
    body_fields(body, content_type, &mut emit);
    Ok(())
}

fn body_fields<'a>(body: &'a [u8], content_type: &[u8], emit: &mut impl FnMut(Field<'a>)) {
    let body = trim(body);
    if body.is_empty() {
        return;
    }
    let ct = lossy(content_type).to_ascii_lowercase();
    if ct.starts_with("multipart/") {
        if let Some(b) = header_param(content_type, "boundary") {
            if multipart(body, b, emit) {
                return;
            }
        }
    }
    let looks_json = matches!(body.first(), Some(b'{' | b'['));
    if ct.contains("json") || (ct.is_empty() && looks_json) {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
            json_strings(&v, "", &mut |name, value| {
                emit(Field {
                    origin: Origin::Body,
                    name: Cow::Owned(name),
                    value: Cow::Owned(value),
                    plus: false,
                })
            });
            return;
        }
    }
    let form = ct.starts_with("application/x-www-form-urlencoded")
        || (ct.is_empty()
            && !looks_json
            && body.contains(&b'=')
            && !body.contains(&b'<')
            && !body.contains(&b'\n'));
    if form {
        pairs(body, Origin::Body, emit);
        return;
    }
    emit(Field {
        origin: Origin::Body,
        name: Cow::Borrowed(""),
        value: Cow::Borrowed(body),
        plus: false,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(raw: &str) -> Vec<(Origin, String, String)> {
        let mut v = Vec::new();
        fields(raw.as_bytes(), |f| {
            v.push((
                f.origin,
                f.name.into_owned(),
                String::from_utf8_lossy(&f.value).into_owned(),
            ))
        })
        .unwrap();
        v
    }

    #[test]
    fn splits_a_request_into_its_fields() {
        let f = all("POST /a/b?id=1&q=x+y HTTP/1.1\r\nHost: h\r\nCookie: s=abc; t=d\r\nUser-Agent: ua\r\nReferer: http://h/p?r=1\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nu=1&v=2");
        let names: Vec<String> = f
            .iter()
            .map(|(o, n, v)| format!("{}:{n}={v}", o.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                "path:=/a/b",
                "query:id=1",
                "query:q=x+y",
                "cookie:s=abc",
                "cookie:t=d",
                "header:user-agent=ua",
                "header:=/p",
                "header:r=1",
                "header:content-type=application/x-www-form-urlencoded",
                "body:u=1",
                "body:v=2"
            ]
        );
    }

    #[test]
    fn json_and_multipart_bodies() {
        let f = all("POST / HTTP/1.1\nContent-Type: application/json\n\n{\"a\":\"x\",\"b\":[\"y\",{\"c\":\"z\"}],\"n\":1}");
        let v: Vec<&str> = f
            .iter()
            .filter(|x| x.0 == Origin::Body)
            .map(|x| x.2.as_str())
            .collect();
        assert_eq!(v, ["x", "y", "z"]);
        let f = all("POST / HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=XX\r\n\r\n--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.php\"\r\n\r\n<?php ?>\r\n--XX--\r\n");
        let v: Vec<&str> = f
            .iter()
            .filter(|x| x.0 == Origin::Body)
            .map(|x| x.2.as_str())
            .collect();
        assert_eq!(v, ["a.php", "<?php ?>"]);
    }

    #[test]
    fn refuses_what_is_not_a_request() {
        assert_eq!(fields(b"", |_| {}), Err(RequestError::Empty));
        assert!(matches!(
            fields(b"\x00\x01 nothing", |_| {}),
            Err(RequestError::BadRequestLine { .. })
        ));
    }
}
