//! Splitting one log line into its time, its connection key and its sshd message.
//!
//! Three shapes are read:
//!
//! - syslog text as in `/var/log/auth.log`: an optional time (`Mar  7 18:53:20`, ISO 8601
//!   `2024-05-01T10:00:00.123+00:00`), then `host sshd[pid]:` (each part optional, as
//!   different syslog daemons and OpenSSH versions write it) and the message;
//! - RFC 5424 (`<38>1 2019-07-08T17:40:16-04:00 host sshd 57915 - [sd] message`);
//! - journald JSON, one object per line (`journalctl -o json`), from the `sshd` and
//!   `sshd-session` identifiers.
//!
//! The connection key is the text naming host, program and process (`srv sshd[1556]`):
//! every line one sshd process writes shares it, so a failure written without an address
//! (`Disconnecting: Too many authentication failures`) can take the address an earlier
//! line of the same connection gave. Syslog times without a year take the year the
//! caller gives and are read as UTC. Cost: one pass over the line's first fields;
//! journald lines cost one JSON parse.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::Deserialize;

/// One line, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed<'a> {
    /// The line's time (unix ms), when it has one.
    pub time_ms: Option<i64>,
    /// Host, program and process: what the lines of one connection share.
    pub connection: String,
    /// The sshd message.
    pub message: std::borrow::Cow<'a, str>,
    /// A line with neither a time nor a program tag may be a bare message (`sshd -E
    /// FILE` writes them so): the whole line, to be read as the message when the
    /// framed one is not an sshd message.
    pub bare: Option<&'a str>,
}

/// Why a line was not framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skip {
    /// Empty or white space only.
    Empty,
    /// A journald object that does not parse (truncated output, say).
    BadJson,
    /// A journald entry of another program, or without a message.
    OtherProgram,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::Empty => "empty",
            Skip::BadJson => "bad_json",
            Skip::OtherProgram => "other_program",
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Splits `line`; `year` completes syslog times that have none.
pub fn frame(line: &str, year: i32) -> Result<Framed<'_>, Skip> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() {
        return Err(Skip::Empty);
    }
    if line.trim_start().starts_with('{') {
        return journal(line);
    }
    if let Some(framed) = rfc5424(line) {
        return Ok(framed);
    }
    let (time_ms, rest) = match syslog_time(line, year).or_else(|| iso_time(line)) {
        Some((ms, used)) => (Some(ms), &line[used..]),
        None => (None, line),
    };
    let (connection, message, tagged) = prefix(rest);
    Ok(Framed {
        time_ms,
        connection: connection.trim().to_string(),
        message: message.into(),
        bare: (time_ms.is_none() && !tagged).then_some(line),
    })
}

/// `Mmm dd HH:MM:SS` (day padded with a space or not) at the start; the bytes used.
pub(crate) fn syslog_time(line: &str, year: i32) -> Option<(i64, usize)> {
    let month = MONTHS.iter().position(|m| line.starts_with(m))? as u32 + 1;
    let rest = line.get(3..)?;
    let day_start = rest.len() - rest.trim_start_matches(' ').len();
    if day_start == 0 {
        return None;
    }
    let rest = &rest[day_start..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=2).contains(&digits) {
        return None;
    }
    let day: u32 = rest[..digits].parse().ok()?;
    let clock = rest[digits..].strip_prefix(' ')?;
    let hms = clock.get(..8)?;
    let b = hms.as_bytes();
    if b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s): (u32, u32, u32) = (
        hms[0..2].parse().ok()?,
        hms[3..5].parse().ok()?,
        hms[6..8].parse().ok()?,
    );
    let mut used = 3 + day_start + digits + 1 + 8;
    // Optional fraction of a second.
    if let Some(frac) = line[used..].strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n > 0 {
            used += 1 + n;
        }
    }
    let time = NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(h, m, s)?;
    Some((time.and_utc().timestamp_millis(), used))
}

/// An ISO 8601 time at the start (`2015-04-16T18:02:50.321974+00:00`, with `T` or a
/// space, offset optional); the bytes used.
pub(crate) fn iso_time(line: &str) -> Option<(i64, usize)> {
    let b = line.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    let mut end = 19;
    if b.get(end) == Some(&b'.') {
        end += 1 + b[end + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
    }
    let zone_start = end;
    match b.get(end) {
        Some(b'Z') => end += 1,
        Some(b'+') | Some(b'-') if b.len() >= end + 6 && b[end + 3] == b':' => end += 6,
        _ => {}
    }
    let text = line.get(..end)?;
    let ms = if end > zone_start {
        DateTime::parse_from_rfc3339(&text.replacen(' ', "T", 1))
            .ok()?
            .timestamp_millis()
    } else {
        NaiveDateTime::parse_from_str(&text.replacen(' ', "T", 1), "%Y-%m-%dT%H:%M:%S%.f")
            .ok()?
            .and_utc()
            .timestamp_millis()
    };
    Some((ms, end))
}

/// `<PRI>1 TIME HOST APP PROCID MSGID SD MESSAGE`.
fn rfc5424(line: &str) -> Option<Framed<'_>> {
    let rest = line.strip_prefix('<')?;
    let close = rest.find('>')?;
    if close == 0 || !rest[..close].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = rest[close + 1..].strip_prefix("1 ")?;
    let (time_ms, used) = iso_time(rest)?;
    let mut fields = rest[used..].trim_start().splitn(5, ' ');
    let host = fields.next()?;
    let app = fields.next()?;
    let procid = fields.next()?;
    let _msgid = fields.next()?;
    let rest = fields.next()?;
    let message = if let Some(after) = rest.strip_prefix('-') {
        after
    } else {
        skip_structured_data(rest)?
    };
    Some(Framed {
        time_ms: Some(time_ms),
        connection: format!("{host} {app}[{procid}]"),
        message: message.trim_start().into(),
        bare: None,
    })
}

/// Skips `[id k="v" …][…]` (quoted values may hold `]`); the rest.
pub(crate) fn skip_structured_data(s: &str) -> Option<&str> {
    let mut chars = s.char_indices().peekable();
    let mut depth_quoted = false;
    let mut in_element = false;
    while let Some((i, c)) = chars.next() {
        match (in_element, depth_quoted, c) {
            (false, _, '[') => in_element = true,
            (false, _, _) => return Some(&s[i..]),
            (true, false, '"') => depth_quoted = true,
            (true, true, '\\') => {
                chars.next();
            }
            (true, true, '"') => depth_quoted = false,
            (true, false, ']') => in_element = false,
            _ => {}
        }
    }
    (!in_element).then_some("")
}

fn is_sshd(name: &str) -> bool {
    name == "sshd" || name == "sshd-session"
}

/// `[sshd]`, `sshd[123]:`, `(sshd)`, `sshd(pam_unix)[1]:`: the program tag.
fn daemon_tag(token: &str) -> bool {
    let t = token.strip_suffix(':').unwrap_or(token);
    let t = t.strip_prefix(['[', '(']).unwrap_or(t);
    let t = match t.strip_suffix(']') {
        Some(inner) if inner.contains('[') => {
            let open = inner.rfind('[').unwrap_or(0);
            if inner[open + 1..].bytes().all(|b| b.is_ascii_digit()) && open + 1 < inner.len() {
                &inner[..open]
            } else {
                return false;
            }
        }
        _ => t,
    };
    let t = t.strip_suffix([']', ')']).unwrap_or(t);
    let t = match t.find('(') {
        Some(open) if t.ends_with(')') => &t[..open],
        _ => t,
    };
    is_sshd(t)
}

/// Splits `host sshd[pid]: [ID n facility] message` into its prefix and the message,
/// and says whether a program tag was found. Each part is optional; the host is the
/// first word when one more word follows.
fn prefix(s: &str) -> (&str, &str, bool) {
    let mut at = 0;
    let rest = |at: usize| &s[at..];
    if rest(at).starts_with("[]") {
        at += 2;
    }
    at += rest(at).len() - rest(at).trim_start().len();
    let word_end = |at: usize| {
        at + rest(at)
            .char_indices()
            .find(|&(_, c)| c.is_whitespace())
            .map_or(rest(at).len(), |(i, _)| i)
    };
    let spaces_after = |end: usize| rest(end).len() - rest(end).trim_start().len();
    // `<facility.level>`
    if rest(at).starts_with('<') {
        let end = word_end(at);
        let w = &s[at..end];
        if w.ends_with('>') && w.contains('.') && spaces_after(end) > 0 {
            at = end + spaces_after(end);
        }
    }
    // host
    let end = word_end(at);
    if end > at && spaces_after(end) > 0 && end + spaces_after(end) < s.len() {
        at = end + spaces_after(end);
    }
    if rest(at).starts_with("@vserver_") {
        let end = word_end(at);
        if spaces_after(end) > 0 {
            at = end + spaces_after(end);
        }
    }
    let end = word_end(at);
    let mut tagged = daemon_tag(&s[..word_end(0)]);
    if daemon_tag(&s[at..end]) && spaces_after(end) > 0 {
        at = end + spaces_after(end);
        tagged = true;
    }
    if let Some(inner) = rest(at).strip_prefix("[ID ") {
        if let Some(close) = inner.find(']') {
            let mut parts = inner[..close].split(' ');
            let id_ok = parts
                .next()
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if id_ok && parts.count() == 1 {
                let end = at + 4 + close + 1;
                if spaces_after(end) > 0 {
                    at = end + spaces_after(end);
                }
            }
        }
    }
    (&s[..at], &s[at..], tagged)
}

/// The fields of a journald entry that matter here.
#[derive(Deserialize)]
pub(crate) struct JournalEntry {
    #[serde(rename = "MESSAGE")]
    pub(crate) message: Option<serde_json::Value>,
    #[serde(rename = "SYSLOG_IDENTIFIER")]
    pub(crate) identifier: Option<String>,
    #[serde(rename = "_COMM")]
    pub(crate) comm: Option<String>,
    #[serde(rename = "_PID")]
    pub(crate) pid: Option<String>,
    #[serde(rename = "SYSLOG_PID")]
    pub(crate) syslog_pid: Option<String>,
    #[serde(rename = "_HOSTNAME")]
    pub(crate) hostname: Option<String>,
    #[serde(rename = "__REALTIME_TIMESTAMP")]
    pub(crate) realtime_us: Option<String>,
}

/// A journald `MESSAGE`: a string, or an array of bytes when it is not valid UTF-8.
pub(crate) fn journal_message(value: Option<&serde_json::Value>) -> Option<Vec<u8>> {
    match value? {
        serde_json::Value::String(s) => Some(s.clone().into_bytes()),
        serde_json::Value::Array(bytes) => Some(
            bytes
                .iter()
                .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect(),
        ),
        _ => None,
    }
}

fn journal(line: &str) -> Result<Framed<'_>, Skip> {
    let entry: JournalEntry = serde_json::from_str(line).map_err(|_| Skip::BadJson)?;
    let program = entry
        .identifier
        .as_deref()
        .filter(|p| is_sshd(p))
        .or(entry.comm.as_deref().filter(|p| is_sshd(p)))
        .ok_or(Skip::OtherProgram)?
        .to_string();
    let message = match journal_message(entry.message.as_ref()) {
        Some(bytes) => String::from_utf8(bytes)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()),
        None => return Err(Skip::OtherProgram),
    };
    let pid = entry.pid.or(entry.syslog_pid).unwrap_or_default();
    let time_ms = entry
        .realtime_us
        .and_then(|us| us.parse::<i64>().ok())
        .map(|us| us / 1000);
    Ok(Framed {
        time_ms,
        connection: format!("{} {program}[{pid}]", entry.hostname.unwrap_or_default()),
        message: message.into(),
        bare: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_lines() {
        let f = frame(
            "Mar  7 18:53:20 bar sshd[1556]: Accepted password for x",
            2005,
        )
        .unwrap();
        assert_eq!(f.connection, "bar sshd[1556]:");
        assert_eq!(f.message, "Accepted password for x");
        assert_eq!(f.time_ms, Some(1_110_221_600_000));
        let f = frame("Jun 25 23:53:34 [sshd] User root from 1.2.3.4 x", 2005).unwrap();
        assert_eq!(f.message, "User root from 1.2.3.4 x");
        let f = frame("Nov 23 21:50:19 sshd[8148]: Disconnecting: Too many", 2005).unwrap();
        assert_eq!(f.message, "Disconnecting: Too many");
        let f = frame(
            "Mar 29 05:59:23 dusky sshd[20878]: [ID 800047 auth.info] Failed x",
            2005,
        )
        .unwrap();
        assert_eq!(f.message, "Failed x");
        let f = frame(
            "2015-04-16T18:02:50.321974+00:00 host sshd[2716]: pam_x",
            2005,
        )
        .unwrap();
        assert_eq!(f.time_ms, Some(1_429_207_370_321));
        assert_eq!(f.message, "pam_x");
        let f = frame("srv sshd-session[7]: Invalid user a from 1.2.3.4", 2005).unwrap();
        assert_eq!(
            (f.time_ms, f.connection.as_str()),
            (None, "srv sshd-session[7]:")
        );
    }

    #[test]
    fn rfc5424_lines() {
        let line = "<38>1 2019-07-08T17:40:17.954167-04:00 h.example.com sshd 55555 - [t a=\"1\"][x@1 t=\"[b]\"] Failed unknown for x";
        let f = frame(line, 2019).unwrap();
        assert_eq!(f.message, "Failed unknown for x");
        assert_eq!(f.connection, "h.example.com sshd[55555]");
    }

    #[test]
    fn journal_lines() {
        let line = r#"{"MESSAGE":"Invalid user a from 192.0.2.1 port 5","SYSLOG_IDENTIFIER":"sshd-session","_PID":"42","_HOSTNAME":"h","__REALTIME_TIMESTAMP":"1700000000123456"}"#;
        let f = frame(line, 2024).unwrap();
        assert_eq!(f.connection, "h sshd-session[42]");
        assert_eq!(f.time_ms, Some(1_700_000_000_123));
        let bytes = r#"{"MESSAGE":[73,110],"SYSLOG_IDENTIFIER":"sshd"}"#;
        assert_eq!(frame(bytes, 2024).unwrap().message, "In");
        let other = r#"{"MESSAGE":"x","SYSLOG_IDENTIFIER":"sudo"}"#;
        assert_eq!(frame(other, 2024), Err(Skip::OtherProgram));
        assert_eq!(frame(r#"{"MESSAGE":"x","#, 2024), Err(Skip::BadJson));
        assert_eq!(frame("  ", 2024), Err(Skip::Empty));
    }
}
