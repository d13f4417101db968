//! `[[source]] type = "log"`: any application log (files, the journal, syslog over UDP
//! and TCP) mined into log patterns, whose rates become series and whose news become
//! events (`new_log_pattern`, `log_pattern_spike`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::file::{paths_of, read_from_of, ReadFrom};
use super::SourceType;
use crate::raw::{Field, StringMap};
use crate::validate::Checker;
use crate::values::{parse_byte_size, parse_duration};

/// How often an interval closes (its series and events are written).
pub const LOG_INTERVAL: Duration = Duration::from_secs(5);
/// Longest line mined; a longer one is counted `too_long` and skipped.
pub const LOG_MAX_LINE_BYTES: u64 = 64 << 10;
/// Default warm-up: patterns first seen before it are not news.
pub const LOG_WARMUP: Duration = Duration::from_secs(300);
/// Patterns that get a series of their own; the others are summed in `pattern="other"`.
pub const LOG_SERIES_PATTERNS: u64 = 20;
/// Patterns held by the miner (and tracked for spikes).
pub const LOG_MAX_PATTERNS: u64 = 10_000;
/// Largest syslog message read (UDP datagram or TCP frame); longer ones are cut.
pub const LOG_SYSLOG_MAX_MESSAGE_BYTES: u64 = 64 << 10;
/// TCP syslog connections served at once; more wait in the listen queue.
pub const LOG_SYSLOG_MAX_CONNECTIONS: u64 = 64;

/// The `log` source type, for the registration list.
pub(crate) struct Log;

impl SourceType for Log {
    type Raw = RawLogSource;
    type Config = LogSourceConfig;

    fn validate(
        raw: &RawLogSource,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> LogSourceConfig {
        validate_log(checker, context, line, raw)
    }

    fn interval(config: &LogSourceConfig) -> Duration {
        config.interval
    }
}

/// `[[source]] type = "log"`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogSource {
    #[serde(rename = "type")]
    pub kind: Field<String>,
    pub path: Field<toml::Value>,
    pub journal: Field<bool>,
    pub journalctl: Field<String>,
    pub journal_units: Field<Vec<String>>,
    pub journal_identifiers: Field<Vec<String>>,
    pub syslog_udp: Field<String>,
    pub syslog_tcp: Field<String>,
    pub syslog_max_message_bytes: Field<toml::Value>,
    pub syslog_max_connections: Field<i64>,
    pub format: Field<String>,
    pub read_from: Field<String>,
    pub interval: Field<String>,
    pub max_line_bytes: Field<toml::Value>,
    pub warmup: Field<toml::Value>,
    pub similarity: Field<f64>,
    pub depth: Field<i64>,
    pub max_patterns: Field<i64>,
    pub series_patterns: Field<i64>,
    pub spike_ratio: Field<f64>,
    pub spike_min_lines: Field<i64>,
    pub examples: Field<i64>,
    pub labels: Field<StringMap>,
}

/// How lines are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// A syslog (RFC 3164 or 5424) or journald header is stripped when present.
    Auto,
    /// Every line must have a syslog header; others are counted `no_match`.
    Syslog,
    /// Lines are mined whole.
    Plain,
}

impl LogFormat {
    pub const NAMES: &'static [&'static str] = &["auto", "syslog", "plain"];
}

/// When a pattern first seen becomes news.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warmup {
    /// After this long since the source started.
    Duration(Duration),
    /// After this many lines.
    Lines(u64),
}

/// The journal input of a log source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalInput {
    /// The `journalctl` program run.
    pub program: String,
    /// `--unit=` filters (none: every unit).
    pub units: Vec<String>,
    /// `--identifier=` filters (none: every identifier).
    pub identifiers: Vec<String>,
}

/// `[[source]] type = "log"`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSourceConfig {
    /// Paths or glob patterns of followed files (may be empty when another input is set).
    pub paths: Vec<String>,
    pub journal: Option<JournalInput>,
    pub syslog_udp: Option<SocketAddr>,
    pub syslog_tcp: Option<SocketAddr>,
    pub syslog_max_message_bytes: u64,
    pub syslog_max_connections: usize,
    pub format: LogFormat,
    pub read_from: ReadFrom,
    pub interval: Duration,
    pub max_line_bytes: u64,
    pub warmup: Warmup,
    /// Miner similarity threshold (0..=1).
    pub similarity: f64,
    /// Miner parse-tree depth.
    pub depth: usize,
    pub max_patterns: usize,
    pub series_patterns: usize,
    /// A pattern spikes when an interval holds this many times its baseline...
    pub spike_ratio: f64,
    /// ... and at least this many lines.
    pub spike_min_lines: u64,
    /// Example lines per event.
    pub examples: usize,
    pub labels: BTreeMap<String, String>,
}

fn validate_log(
    checker: &mut Checker<'_, '_, '_>,
    context: &str,
    line: usize,
    raw: &RawLogSource,
) -> LogSourceConfig {
    let paths = checker.value(context, "path", &raw.path, Vec::new(), paths_of);
    let journal_on = raw.journal.as_ref().is_some_and(|j| *j.get_ref());
    for (key, set) in [
        ("journalctl", raw.journalctl.is_some()),
        ("journal_units", raw.journal_units.is_some()),
        ("journal_identifiers", raw.journal_identifiers.is_some()),
    ] {
        if set && !journal_on {
            checker.report_line(
                crate::ErrorKind::InvalidValue,
                line,
                context,
                Some(key),
                format!("{key} is only read with journal = true"),
            );
        }
    }
    let journal = journal_on.then(|| JournalInput {
        program: checker.non_empty_string(
            context,
            "journalctl",
            &raw.journalctl,
            super::auth_log::JOURNALCTL,
        ),
        units: checker.string_list(context, "journal_units", &raw.journal_units, &[]),
        identifiers: checker.string_list(
            context,
            "journal_identifiers",
            &raw.journal_identifiers,
            &[],
        ),
    });
    let address = |checker: &mut Checker<'_, '_, '_>, key: &str, field: &Field<String>| {
        checker.value(context, key, field, None, |text| {
            text.parse::<SocketAddr>().map(Some).map_err(|_| {
                format!("{text:?} is not an address with a port (e.g. \"127.0.0.1:5514\")")
            })
        })
    };
    let syslog_udp = address(checker, "syslog_udp", &raw.syslog_udp);
    let syslog_tcp = address(checker, "syslog_tcp", &raw.syslog_tcp);
    if raw.path.is_none() && !journal_on && raw.syslog_udp.is_none() && raw.syslog_tcp.is_none() {
        checker.report_line(
            crate::ErrorKind::MissingKey,
            line,
            context,
            Some("path"),
            "missing input: give path = \"/var/log/app/*.log\", journal = true, syslog_udp or syslog_tcp"
                .to_string(),
        );
    }
    let bytes =
        |checker: &mut Checker<'_, '_, '_>, key: &str, field: &Field<toml::Value>, default: u64| {
            checker.value(
                context,
                key,
                field,
                default,
                |value| match parse_byte_size(value)? {
                    bytes if (16..=64 << 20).contains(&bytes) => Ok(bytes),
                    bytes => Err(format!(
                        "{bytes} bytes is out of range (from 16 bytes to 64MiB)"
                    )),
                },
            )
        };
    let format = checker.value(
        context,
        "format",
        &raw.format,
        LogFormat::Auto,
        |name| match name.as_str() {
            "auto" => Ok(LogFormat::Auto),
            "syslog" => Ok(LogFormat::Syslog),
            "plain" => Ok(LogFormat::Plain),
            other => Err(format!(
                "unknown format {other:?} (known: {})",
                LogFormat::NAMES.join(", ")
            )),
        },
    );
    let warmup = checker.value(
        context,
        "warmup",
        &raw.warmup,
        Warmup::Duration(LOG_WARMUP),
        |value| match value {
            toml::Value::String(text) => parse_duration(text).map(Warmup::Duration),
            toml::Value::Integer(lines) if *lines >= 0 => Ok(Warmup::Lines(*lines as u64)),
            other => Err(format!(
                "expected a duration (\"10m\") or a number of lines, found {}",
                other.type_str()
            )),
        },
    );
    let count =
        |checker: &mut Checker<'_, '_, '_>,
         key: &str,
         field: &Field<i64>,
         default: u64,
         min: u64,
         max: u64| checker.integer_in(context, key, field, default, min, max);
    LogSourceConfig {
        paths,
        journal,
        syslog_udp,
        syslog_tcp,
        syslog_max_message_bytes: bytes(
            checker,
            "syslog_max_message_bytes",
            &raw.syslog_max_message_bytes,
            LOG_SYSLOG_MAX_MESSAGE_BYTES,
        ),
        syslog_max_connections: count(
            checker,
            "syslog_max_connections",
            &raw.syslog_max_connections,
            LOG_SYSLOG_MAX_CONNECTIONS,
            1,
            4096,
        ) as usize,
        format,
        read_from: checker.value(
            context,
            "read_from",
            &raw.read_from,
            ReadFrom::End,
            |name: &String| read_from_of(name),
        ),
        interval: checker.duration(
            context,
            "interval",
            &raw.interval,
            LOG_INTERVAL,
            Duration::from_millis(100),
        ),
        max_line_bytes: bytes(
            checker,
            "max_line_bytes",
            &raw.max_line_bytes,
            LOG_MAX_LINE_BYTES,
        ),
        warmup,
        similarity: checker.number_in(context, "similarity", &raw.similarity, 0.5, 0.0, 1.0),
        depth: count(checker, "depth", &raw.depth, 2, 0, 16) as usize,
        max_patterns: count(
            checker,
            "max_patterns",
            &raw.max_patterns,
            LOG_MAX_PATTERNS,
            1,
            1_000_000,
        ) as usize,
        series_patterns: count(
            checker,
            "series_patterns",
            &raw.series_patterns,
            LOG_SERIES_PATTERNS,
            0,
            1000,
        ) as usize,
        spike_ratio: checker.number_in(context, "spike_ratio", &raw.spike_ratio, 5.0, 1.0, 1e6),
        spike_min_lines: count(
            checker,
            "spike_min_lines",
            &raw.spike_min_lines,
            20,
            1,
            u32::MAX.into(),
        ),
        examples: count(checker, "examples", &raw.examples, 3, 0, 20) as usize,
        labels: checker.labels(context, "labels", &raw.labels),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, SourceConfig};

    fn log(text: &str) -> Result<LogSourceConfig, String> {
        let config = Config::from_str_named(text, "t.toml").map_err(|e| e.to_string())?;
        match config.sources.into_iter().next() {
            Some(SourceConfig::Log(config)) => Ok(config),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_and_every_input() {
        let config = log("[[source]]\ntype = \"log\"\npath = \"/var/log/app/*.log\"\n").unwrap();
        assert_eq!(config.paths, ["/var/log/app/*.log"]);
        assert_eq!(config.interval, LOG_INTERVAL);
        assert_eq!(config.warmup, Warmup::Duration(LOG_WARMUP));
        assert_eq!(config.format, LogFormat::Auto);
        assert_eq!((config.series_patterns, config.examples), (20, 3));
        let config = log(
            "[[source]]\ntype = \"log\"\njournal = true\njournal_units = [\"nginx.service\"]\n\
             syslog_udp = \"127.0.0.1:5514\"\nsyslog_tcp = \"127.0.0.1:5514\"\nwarmup = 1000\n",
        )
        .unwrap();
        assert_eq!(config.journal.unwrap().units, ["nginx.service"]);
        assert_eq!(config.syslog_udp, Some("127.0.0.1:5514".parse().unwrap()));
        assert_eq!(config.warmup, Warmup::Lines(1000));
    }

    #[test]
    fn mistakes_are_named_with_their_line() {
        let error = log("[[source]]\ntype = \"log\"\n").unwrap_err();
        assert!(
            error.contains("t.toml:1") && error.contains("missing input"),
            "{error}"
        );
        let error = log(
            "[[source]]\ntype = \"log\"\npath = \"a\"\nformat = \"apache\"\nsyslog_udp = \"x\"\nsimilarity = 2.0\n",
        )
        .unwrap_err();
        assert!(
            error.contains("t.toml:4") && error.contains("unknown format \"apache\""),
            "{error}"
        );
        assert!(
            error.contains("t.toml:5") && error.contains("syslog_udp"),
            "{error}"
        );
        assert!(
            error.contains("t.toml:6") && error.contains("similarity"),
            "{error}"
        );
        let error = log("[[source]]\ntype = \"log\"\npath = \"a\"\npatern = 3\n").unwrap_err();
        assert!(
            error.contains("t.toml:4") && error.contains("patern"),
            "{error}"
        );
        let error =
            log("[[source]]\ntype = \"log\"\npath = \"a\"\njournal_units = [\"x\"]\n").unwrap_err();
        assert!(error.contains("journal = true"), "{error}");
    }
}
