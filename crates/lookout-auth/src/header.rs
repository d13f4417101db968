//! Any program's syslog and journald headers, split from their message.
//!
//! [`crate::line`] frames sshd's lines; this module reads the same frames for every
//! program, with the same time and structured-data readers: RFC 5424
//! (`<PRI>1 TIME HOST APP PROCID MSGID SD MESSAGE`), RFC 3164 as syslog daemons and
//! `logger --rfc3164` send it (`<PRI>Mmm dd HH:MM:SS HOST TAG[PID]: MESSAGE`, the
//! `<PRI>` optional in files, ISO 8601 times accepted), and journald JSON entries
//! (`journalctl -o json`).
//!
//! What it misses: an RFC 3164 line without a time is not taken as a header (a bare
//! message cannot be told from a host and a tag); the host of an RFC 3164 line written
//! without one (`Mmm dd HH:MM:SS tag: msg`) is `None` only when the tag ends in `:`.
//! Cost: one pass over the header's bytes; journald entries cost one JSON parse.

use std::borrow::Cow;

use crate::line::{iso_time, journal_message, skip_structured_data, syslog_time, JournalEntry};

/// A line's header and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// The time the header gives (unix ms).
    pub time_ms: Option<i64>,
    pub host: Option<Cow<'a, str>>,
    /// The program (RFC 5424 APP-NAME, RFC 3164 TAG, journald `SYSLOG_IDENTIFIER`).
    pub program: Option<Cow<'a, str>>,
    /// The message, as bytes: a journald message may not be UTF-8.
    pub message: Cow<'a, [u8]>,
}

/// Why a journald line gave no header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalError {
    /// Not a JSON object (a cut line, say).
    BadJson,
    /// An entry without a `MESSAGE`.
    NoMessage,
}

/// The syslog header of `line` (RFC 5424 or RFC 3164, `<PRI>` optional); `None` when it
/// has none. `year` completes RFC 3164 times, which have none.
pub fn syslog(line: &str, year: i32) -> Option<Header<'_>> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let rest = match line.strip_prefix('<') {
        Some(after) => {
            let close = after.find('>')?;
            if close == 0 || close > 3 || !after[..close].bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            &after[close + 1..]
        }
        None => line,
    };
    if let Some(rest) = rest.strip_prefix("1 ") {
        return rfc5424(rest);
    }
    let (time_ms, used) = syslog_time(rest, year).or_else(|| iso_time(rest))?;
    let rest = rest[used..].trim_start();
    let (first, after_first) = split_word(rest);
    let (host, tag, message) = if is_tag(first) {
        (None, Some(first), after_first)
    } else {
        let (second, after_second) = split_word(after_first);
        if is_tag(second) {
            (Some(first), Some(second), after_second)
        } else {
            (Some(first), None, after_first)
        }
    };
    Some(Header {
        time_ms: Some(time_ms),
        host: host
            .filter(|h| !h.is_empty() && *h != "-")
            .map(Cow::Borrowed),
        program: tag.map(|t| Cow::Borrowed(program_of_tag(t))),
        message: Cow::Borrowed(message.as_bytes()),
    })
}

/// After `<PRI>1 `: `TIME HOST APP PROCID MSGID SD MESSAGE` (`-` for a missing field).
fn rfc5424(rest: &str) -> Option<Header<'_>> {
    let (time_ms, rest) = match rest.strip_prefix("- ") {
        Some(rest) => (None, rest),
        None => {
            let (ms, used) = iso_time(rest)?;
            (Some(ms), rest[used..].trim_start())
        }
    };
    let mut fields = rest.splitn(5, ' ');
    let host = fields.next()?;
    let app = fields.next()?;
    let _procid = fields.next()?;
    let _msgid = fields.next()?;
    let rest = fields.next().unwrap_or("");
    let message = match rest.strip_prefix('-') {
        Some(after) => after,
        None => skip_structured_data(rest)?,
    };
    let message = message.strip_prefix(' ').unwrap_or(message);
    let message = message.strip_prefix('\u{feff}').unwrap_or(message);
    fn field(f: &str) -> Option<Cow<'_, str>> {
        (f != "-" && !f.is_empty()).then_some(Cow::Borrowed(f))
    }
    Some(Header {
        time_ms,
        host: field(host),
        program: field(app),
        message: Cow::Borrowed(message.as_bytes()),
    })
}

fn split_word(s: &str) -> (&str, &str) {
    match s.find(' ') {
        Some(at) => (&s[..at], s[at + 1..].trim_start_matches(' ')),
        None => (s, ""),
    }
}

/// `tag:` or `tag[pid]:`.
fn is_tag(word: &str) -> bool {
    word.len() > 1 && word.ends_with(':')
}

fn program_of_tag(tag: &str) -> &str {
    let tag = tag.strip_suffix(':').unwrap_or(tag);
    match tag.find('[') {
        Some(open) if tag.ends_with(']') => &tag[..open],
        _ => tag,
    }
}

/// The header and message of one `journalctl -o json` line.
pub fn journal(line: &[u8]) -> Result<Header<'static>, JournalError> {
    let entry: JournalEntry = serde_json::from_slice(line).map_err(|_| JournalError::BadJson)?;
    let message = journal_message(entry.message.as_ref()).ok_or(JournalError::NoMessage)?;
    Ok(Header {
        time_ms: entry
            .realtime_us
            .and_then(|us| us.parse::<i64>().ok())
            .map(|us| us / 1000),
        host: entry.hostname.map(Cow::Owned),
        program: entry.identifier.or(entry.comm).map(Cow::Owned),
        message: Cow::Owned(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<'h>(header: &'h Header<'_>) -> (Option<&'h str>, Option<&'h str>, &'h str) {
        (
            header.host.as_deref(),
            header.program.as_deref(),
            std::str::from_utf8(&header.message).unwrap(),
        )
    }

    #[test]
    fn rfc3164_as_logger_and_files_write_it() {
        let h = syslog("<13>Dec  3 11:00:00 myhost alice: job 42 done", 2026).unwrap();
        assert_eq!(text(&h), (Some("myhost"), Some("alice"), "job 42 done"));
        assert!(h.time_ms.is_some());
        let h = syslog("Mar  7 18:53:20 bar app[1556]: started in 3 ms", 2026).unwrap();
        assert_eq!(text(&h), (Some("bar"), Some("app"), "started in 3 ms"));
        let h = syslog("Mar  7 18:53:20 cron[7]: tick", 2026).unwrap();
        assert_eq!(text(&h), (None, Some("cron"), "tick"));
        let h = syslog("2024-05-01T10:00:00Z web nginx: up", 2026).unwrap();
        assert_eq!(text(&h), (Some("web"), Some("nginx"), "up"));
        assert_eq!(syslog("job 42 done", 2026), None);
        assert_eq!(syslog("<x>Mar  7 18:53:20 a b: c", 2026), None);
        // A time cut inside a multi-byte character is no time (it used to panic).
        assert_eq!(syslog("2024-05-01T10:00:0\u{e9} a b: c", 2026), None);
        assert!(crate::line::frame("2024-05-01T10:00:0\u{e9} sshd[1]: x", 2026).is_ok());
    }

    #[test]
    fn rfc5424_with_and_without_structured_data() {
        let line =
            "<38>1 2019-07-08T17:40:17.95-04:00 h.example.com app 555 ID7 [t a=\"]\"] hello 1";
        let h = syslog(line, 2026).unwrap();
        assert_eq!(text(&h), (Some("h.example.com"), Some("app"), "hello 1"));
        let h = syslog("<13>1 2026-12-03T11:00:00.1+00:00 host bob - - - msg", 2026).unwrap();
        assert_eq!(text(&h), (Some("host"), Some("bob"), "msg"));
        let h = syslog("<13>1 - - - - - - msg", 2026).unwrap();
        assert_eq!((h.time_ms, text(&h)), (None, (None, None, "msg")));
    }

    #[test]
    fn journald_entries_any_program_and_bytes() {
        let line = br#"{"__CURSOR":"c","MESSAGE":"up 3","SYSLOG_IDENTIFIER":"nginx","_HOSTNAME":"web","__REALTIME_TIMESTAMP":"1700000000000000"}"#;
        let h = journal(line).unwrap();
        assert_eq!(text(&h), (Some("web"), Some("nginx"), "up 3"));
        assert_eq!(h.time_ms, Some(1_700_000_000_000));
        let h = journal(br#"{"MESSAGE":[104,255],"_COMM":"x"}"#).unwrap();
        assert_eq!(&h.message[..], &[104, 255]);
        assert_eq!(journal(b"{\"MESS"), Err(JournalError::BadJson));
        assert_eq!(journal(b"{}"), Err(JournalError::NoMessage));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    proptest! {
        /// Any text, including broken headers cut inside multi-byte characters, gives a
        /// header or none, never a panic.
        #[test]
        fn any_line_is_split_or_refused(
            prefix in prop::sample::select(vec!["", "<13>", "<13>1 ", "Dec  3 11:00:00 ", "2024-05-01T10:00:00", "2024-05-01T"]),
            rest in "\\PC{0,40}",
        ) {
            let line = format!("{prefix}{rest}");
            let _ = super::syslog(&line, 2026);
            let _ = super::journal(line.as_bytes());
        }
    }
}
