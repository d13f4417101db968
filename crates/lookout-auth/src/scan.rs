//! Offline scanning: a whole file of auth log lines to JSON lines, one per attempt,
//! through the same [`AuthParser`] the `auth_log` source runs.
//!
//! Each output line is `{"line": N, "time": "…"|null, "result": "failure"|"success",
//! "ip": "…", "user": "…"|null, "form": "…"}` (plus `"counts_as_failure": true` on a
//! success fail2ban counts as one more failure). Lines are read as bytes: invalid UTF-8
//! is replaced, never an error. Cost: the parser's per line, plus one small JSON write
//! per attempt.

use std::io::{self, BufRead, Write};

use serde::Serialize;

use crate::parser::{AuthParser, Login, LoginResult, ParseStats, ParserConfig};

/// Why a scan stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("reading line {line}: {source}")]
    Read { line: u64, source: io::Error },
    #[error("writing the result of line {line}: {source}")]
    Write { line: u64, source: io::Error },
}

#[derive(Serialize)]
struct Row<'a> {
    line: u64,
    time: Option<String>,
    result: LoginResult,
    ip: &'a str,
    user: Option<&'a str>,
    form: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    counts_as_failure: bool,
}

/// Formats a unix-ms time as RFC 3339 UTC (`2005-06-21T16:47:48Z`).
pub fn format_time(ms: i64) -> Option<String> {
    let time = chrono::DateTime::from_timestamp_millis(ms)?;
    Some(if ms % 1000 == 0 {
        time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    })
}

/// Writes one JSON line for `login` read at line `line`.
pub fn write_row(out: &mut impl Write, line: u64, login: &Login) -> io::Result<()> {
    let row = Row {
        line,
        time: login.time_ms.and_then(format_time),
        result: login.result,
        ip: &login.ip,
        user: login.user.as_deref(),
        form: login.form,
        counts_as_failure: login.counts_as_failure,
    };
    serde_json::to_writer(&mut *out, &row)?;
    out.write_all(b"\n")
}

/// Scans every line of `input`, writing a JSON line per attempt to `out`.
pub fn scan(
    input: impl BufRead,
    out: &mut impl Write,
    config: ParserConfig,
) -> Result<ParseStats, ScanError> {
    let mut parser = AuthParser::new(config);
    let mut input = input;
    let mut buffer = Vec::with_capacity(512);
    let mut number = 0u64;
    loop {
        buffer.clear();
        number += 1;
        let read = input
            .read_until(b'\n', &mut buffer)
            .map_err(|source| ScanError::Read {
                line: number,
                source,
            })?;
        if read == 0 {
            break;
        }
        if buffer.last() == Some(&b'\n') {
            buffer.pop();
        }
        let text = String::from_utf8_lossy(&buffer);
        if let Some(login) = parser.parse_line(&text) {
            write_row(out, number, &login).map_err(|source| ScanError::Write {
                line: number,
                source,
            })?;
        }
    }
    Ok(parser.stats().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mode;

    #[test]
    fn one_row_per_attempt_with_line_numbers() {
        let log: &[u8] = b"Mar  7 18:53:20 bar sshd[1]: Invalid user a from 192.0.2.1 port 5\n\
                   garbage \xff line\n\
                   Mar  7 18:53:21 bar sshd[2]: Accepted password for b from 2001:db8::2 port 6 ssh2\n";
        let mut out = Vec::new();
        let stats = scan(log, &mut out, ParserConfig::new(Mode::Normal, 2005)).unwrap();
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["line"], 1);
        assert_eq!(rows[0]["time"], "2005-03-07T18:53:20Z");
        assert_eq!(rows[0]["result"], "failure");
        assert_eq!(rows[0]["ip"], "192.0.2.1");
        assert_eq!(rows[0]["user"], "a");
        assert_eq!(rows[1]["line"], 3);
        assert_eq!(rows[1]["result"], "success");
        assert_eq!(rows[1]["ip"], "2001:db8::2");
        assert_eq!((stats.lines, stats.failures, stats.successes), (3, 1, 1));
    }
}
