//! [`AuthParser`]: log lines in, login attempts out.
//!
//! Frames each line ([`crate::line`]), recognises its sshd message in the configured
//! [`Mode`] ([`crate::rules`]) and adds it to its connection ([`crate::tracker`]),
//! answering a [`Login`] for every line that is a failure or a success. Lines that are
//! not sshd logins are counted by reason ([`ParseStats`]), never an error: an auth log
//! is mostly other lines. Memory: the tracker's bound. Cost: one framing, a few prefix
//! comparisons and one hash lookup per line.

use serde::Serialize;

use crate::line::{frame, Skip};
use crate::rules::{classify, strip_level, Mode};
use crate::tracker::{Decision, Tracker};

/// Connections remembered by default (fail2ban keeps 100; a busy host has more).
pub const DEFAULT_CONNECTIONS: usize = 10_000;
/// How long (log time) a silent connection is remembered by default.
pub const DEFAULT_CONNECTION_TTL_MS: i64 = 10 * 60 * 1000;
/// Longer lines are cut to this many bytes before they are read.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// The result of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginResult {
    Failure,
    Success,
}

/// One failed or successful login attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Login {
    /// The line's time (unix ms), when it has one.
    pub time_ms: Option<i64>,
    pub result: LoginResult,
    /// The remote address as written (a DNS name when sshd logged one).
    pub ip: String,
    pub user: Option<String>,
    /// Which form the line had (`failed_password`, `invalid_user`, `accepted`, …).
    pub form: &'static str,
    /// A success fail2ban counts as a failure (the connection failed first).
    pub counts_as_failure: bool,
}

/// Lines read, by what became of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParseStats {
    pub lines: u64,
    pub failures: u64,
    pub successes: u64,
    /// sshd lines that are no attempt by themselves (connection opened, …) or not sshd.
    pub unrecognised: u64,
    pub empty: u64,
    pub bad_json: u64,
    pub other_program: u64,
    /// Lines longer than [`MAX_LINE_BYTES`], read cut.
    pub truncated: u64,
}

/// The parser's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParserConfig {
    pub mode: Mode,
    /// The year of syslog times that have none.
    pub year: i32,
    pub max_connections: usize,
    pub connection_ttl_ms: i64,
}

impl ParserConfig {
    /// Defaults in `mode`, completing years with `year`.
    pub fn new(mode: Mode, year: i32) -> ParserConfig {
        ParserConfig {
            mode,
            year,
            max_connections: DEFAULT_CONNECTIONS,
            connection_ttl_ms: DEFAULT_CONNECTION_TTL_MS,
        }
    }
}

/// Reads auth log lines one at a time, in order.
#[derive(Debug)]
pub struct AuthParser {
    config: ParserConfig,
    tracker: Tracker,
    stats: ParseStats,
}

impl AuthParser {
    pub fn new(config: ParserConfig) -> AuthParser {
        AuthParser {
            tracker: Tracker::new(config.max_connections, config.connection_ttl_ms),
            config,
            stats: ParseStats::default(),
        }
    }

    pub fn stats(&self) -> &ParseStats {
        &self.stats
    }

    /// Reads one line (without its newline).
    pub fn parse_line(&mut self, line: &str) -> Option<Login> {
        self.stats.lines += 1;
        let line = if line.len() > MAX_LINE_BYTES {
            self.stats.truncated += 1;
            let mut end = MAX_LINE_BYTES;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            &line[..end]
        } else {
            line
        };
        let framed = match frame(line, self.config.year) {
            Ok(framed) => framed,
            Err(skip) => {
                match skip {
                    Skip::Empty => self.stats.empty += 1,
                    Skip::BadJson => self.stats.bad_json += 1,
                    Skip::OtherProgram => self.stats.other_program += 1,
                }
                return None;
            }
        };
        let mut connection = framed.connection.as_str();
        let mut form = classify(strip_level(&framed.message), self.config.mode);
        if form.is_none() {
            if let Some(bare) = framed.bare {
                form = classify(strip_level(bare.trim()), self.config.mode);
                connection = "";
            }
        }
        let Some(form) = form else {
            self.stats.unrecognised += 1;
            return None;
        };
        let decision = self.tracker.observe(connection, framed.time_ms, &form);
        let login = match decision {
            Decision::Failure { host, user } => Login {
                time_ms: framed.time_ms,
                result: LoginResult::Failure,
                ip: host.as_str().to_string(),
                user,
                form: form.name,
                counts_as_failure: false,
            },
            Decision::Success {
                host,
                user,
                counts_as_failure,
            } => Login {
                time_ms: framed.time_ms,
                result: LoginResult::Success,
                ip: host.as_str().to_string(),
                user,
                form: form.name,
                counts_as_failure,
            },
            Decision::Nothing => {
                self.stats.unrecognised += 1;
                return None;
            }
        };
        match login.result {
            LoginResult::Failure => self.stats.failures += 1,
            LoginResult::Success => self.stats.successes += 1,
        }
        Some(login)
    }
}
