//! `[[source]] type = "kafka"`: consumes metric samples (Influx lines, JSON samples) or
//! access-log lines from Kafka topics with a consumer group.
//!
//! Only what the source needs to start is checked here: brokers given as `host:port`,
//! at least one topic, a known format, and for `format = "access_log"` a log format
//! that compiles (reported with its line like any other mistake).

use std::collections::BTreeMap;
use std::time::Duration;

use lookout_accesslog::{AggregatorConfig, LogFormat, Parser, ParserConfig};
use serde::Deserialize;

use super::access_log::ACCESS_LOG_INTERVAL;
use super::SourceType;
use crate::raw::{Field, StringMap};
use crate::validate::Checker;
use crate::values::parse_byte_size;

/// Longest wait for more records before a batch is handed on.
pub const KAFKA_BATCH_WAIT: Duration = Duration::from_millis(500);
/// Records per batch at most.
pub const KAFKA_MAX_RECORDS: u64 = 10_000;
/// Largest record value accepted; a larger one is counted `too_large` and skipped.
pub const KAFKA_MAX_RECORD_BYTES: u64 = 1 << 20;
/// The consumer group joined when none is given.
pub const KAFKA_GROUP: &str = "lookout";

/// The `kafka` source type, for the registration list.
pub(crate) struct Kafka;

impl SourceType for Kafka {
    type Raw = RawKafkaSource;
    type Config = KafkaSourceConfig;

    fn validate(
        raw: &RawKafkaSource,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> KafkaSourceConfig {
        validate_kafka(checker, context, line, raw)
    }

    fn interval(config: &KafkaSourceConfig) -> Duration {
        config.batch_wait
    }
}

/// `[[source]] type = "kafka"`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKafkaSource {
    #[serde(rename = "type")]
    pub kind: Field<String>,
    /// Bootstrap brokers, `host:port` each.
    pub brokers: Field<Vec<String>>,
    pub topics: Field<Vec<String>>,
    pub group_id: Field<String>,
    /// `influx`, `json` or `access_log`.
    pub format: Field<String>,
    /// For `format = "access_log"`: `combined` (default), `common`, `json` or an nginx
    /// `log_format` string.
    pub log_format: Field<String>,
    /// For `format = "access_log"`: the length of one interval of derived series.
    pub interval: Field<String>,
    /// Where a group with no committed offset starts: `earliest` or `latest` (default).
    pub start_from: Field<String>,
    pub batch_wait: Field<String>,
    pub max_records: Field<i64>,
    pub max_record_bytes: Field<toml::Value>,
    pub labels: Field<StringMap>,
}

/// What the records' values hold.
#[derive(Debug, Clone, PartialEq)]
pub enum KafkaFormat {
    /// Influx line protocol, any number of lines per record.
    Influx,
    /// A JSON samples document per record (the `/api/v1/write/json` body).
    Json,
    /// One access-log line per record, derived into request series like the
    /// `access_log` source's.
    AccessLog {
        parser: ParserConfig,
        aggregator: AggregatorConfig,
    },
}

impl KafkaFormat {
    pub const NAMES: &'static [&'static str] = &["influx", "json", "access_log"];
}

/// `[[source]] type = "kafka"`.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaSourceConfig {
    pub brokers: Vec<String>,
    pub topics: Vec<String>,
    pub group_id: String,
    pub format: KafkaFormat,
    /// A group with no committed offset starts at the oldest record (else the newest).
    pub start_from_earliest: bool,
    pub batch_wait: Duration,
    pub max_records: usize,
    pub max_record_bytes: usize,
    pub labels: BTreeMap<String, String>,
}

fn broker_of(text: &str) -> Result<(), String> {
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!(
            "{text:?} is not host:port (e.g. \"127.0.0.1:9092\")"
        ));
    };
    if host.is_empty() || port.parse::<u16>().map_or(true, |port| port == 0) {
        return Err(format!(
            "{text:?} is not host:port (e.g. \"127.0.0.1:9092\")"
        ));
    }
    Ok(())
}

fn validate_kafka(
    checker: &mut Checker<'_, '_, '_>,
    context: &str,
    line: usize,
    raw: &RawKafkaSource,
) -> KafkaSourceConfig {
    for (key, present) in [
        ("brokers", raw.brokers.is_some()),
        ("topics", raw.topics.is_some()),
    ] {
        if !present {
            checker.report_line(
                crate::ErrorKind::MissingKey,
                line,
                context,
                Some(key),
                format!("missing required key {key} (e.g. {key} = [\"...\"])"),
            );
        }
    }
    let brokers = checker.value(context, "brokers", &raw.brokers, Vec::new(), |brokers| {
        if brokers.is_empty() {
            return Err("the list is empty; name at least one broker".to_string());
        }
        brokers.iter().try_for_each(|broker| broker_of(broker))?;
        Ok(brokers.clone())
    });
    let topics = checker.value(context, "topics", &raw.topics, Vec::new(), |topics| {
        if topics.is_empty() {
            return Err("the list is empty; name at least one topic".to_string());
        }
        if let Some(bad) = topics.iter().find(|topic| !is_topic_name(topic)) {
            return Err(format!(
                "{bad:?} is not a topic name (1 to 249 of a-z A-Z 0-9 . _ -)"
            ));
        }
        Ok(topics.clone())
    });
    let format_name = checker.value(context, "format", &raw.format, None, |name| {
        if KafkaFormat::NAMES.contains(&name.as_str()) {
            Ok(Some(name.clone()))
        } else {
            Err(format!(
                "unknown format {name:?} (known: {})",
                KafkaFormat::NAMES.join(", ")
            ))
        }
    });
    if raw.format.is_none() {
        checker.report_line(
            crate::ErrorKind::MissingKey,
            line,
            context,
            Some("format"),
            format!(
                "missing required key format (one of {})",
                KafkaFormat::NAMES.join(", ")
            ),
        );
    }
    let access_log = format_name.as_deref() == Some("access_log");
    for (key, set) in [
        ("log_format", raw.log_format.is_some()),
        ("interval", raw.interval.is_some()),
    ] {
        if set && !access_log && format_name.is_some() {
            checker.report_line(
                crate::ErrorKind::InvalidValue,
                line,
                context,
                Some(key),
                format!("{key} applies to format = \"access_log\" only"),
            );
        }
    }
    let format = match format_name.as_deref() {
        Some("influx") | None => KafkaFormat::Influx,
        Some("json") => KafkaFormat::Json,
        _ => access_log_format(checker, context, line, raw),
    };
    let start_from_earliest = checker.value(
        context,
        "start_from",
        &raw.start_from,
        false,
        |name| match name.as_str() {
            "earliest" => Ok(true),
            "latest" => Ok(false),
            other => Err(format!(
                "unknown start_from {other:?} (known: earliest, latest)"
            )),
        },
    );
    KafkaSourceConfig {
        brokers,
        topics,
        group_id: checker.non_empty_string(context, "group_id", &raw.group_id, KAFKA_GROUP),
        format,
        start_from_earliest,
        batch_wait: checker.duration(
            context,
            "batch_wait",
            &raw.batch_wait,
            KAFKA_BATCH_WAIT,
            Duration::from_millis(10),
        ),
        max_records: checker.integer_in(
            context,
            "max_records",
            &raw.max_records,
            KAFKA_MAX_RECORDS,
            1,
            1_000_000,
        ) as usize,
        max_record_bytes: checker.value(
            context,
            "max_record_bytes",
            &raw.max_record_bytes,
            KAFKA_MAX_RECORD_BYTES,
            |value| match parse_byte_size(value)? {
                bytes if (16..=64 << 20).contains(&bytes) => Ok(bytes),
                bytes => Err(format!(
                    "{bytes} bytes is out of range (from 16 bytes to 64MiB)"
                )),
            },
        ) as usize,
        labels: checker.labels(context, "labels", &raw.labels),
    }
}

/// Kafka's topic name rule.
fn is_topic_name(name: &str) -> bool {
    (1..=249).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn access_log_format(
    checker: &mut Checker<'_, '_, '_>,
    context: &str,
    line: usize,
    raw: &RawKafkaSource,
) -> KafkaFormat {
    let format = checker.value(
        context,
        "log_format",
        &raw.log_format,
        LogFormat::Combined,
        |name| LogFormat::from_name(name).map_err(|error| error.to_string()),
    );
    let parser = ParserConfig {
        format,
        client_field: None,
        vhost_field: None,
    };
    if let Err(error) = Parser::new(&parser) {
        let at = raw
            .log_format
            .as_ref()
            .map_or(line, |field| checker.reporter.line_of(field.span().start));
        checker.report_line(
            crate::ErrorKind::InvalidValue,
            at,
            context,
            Some("log_format"),
            error.to_string(),
        );
    }
    let interval = checker.duration(
        context,
        "interval",
        &raw.interval,
        ACCESS_LOG_INTERVAL,
        Duration::from_secs(1),
    );
    let defaults = AggregatorConfig::default();
    let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
    KafkaFormat::AccessLog {
        parser,
        aggregator: AggregatorConfig {
            interval_ms,
            grace_ms: interval_ms.min(defaults.grace_ms),
            ..defaults
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, SourceConfig};

    fn kafka(table: &str) -> Result<super::KafkaSourceConfig, String> {
        let text = format!("[[source]]\ntype = \"kafka\"\n{table}");
        let config = Config::from_str_named(&text, "t.toml").map_err(|error| error.to_string())?;
        match config.sources.into_iter().next() {
            Some(SourceConfig::Kafka(kafka)) => Ok(kafka),
            other => panic!("not a kafka source: {other:?}"),
        }
    }

    #[test]
    fn a_minimal_table_takes_the_defaults() {
        let config =
            kafka("brokers = [\"127.0.0.1:9092\"]\ntopics = [\"metrics\"]\nformat = \"influx\"\n")
                .unwrap();
        assert_eq!(config.group_id, "lookout");
        assert_eq!(config.format, super::KafkaFormat::Influx);
        assert!(!config.start_from_earliest);
        assert_eq!(config.max_records, 10_000);
    }

    #[test]
    fn every_mistake_is_reported_with_its_key() {
        let error = kafka(
            "brokers = [\"nohost\"]\ntopics = [\"bad topic\"]\nformat = \"avro\"\nstart_from = \"now\"\n",
        )
        .unwrap_err();
        for expected in [
            "brokers",
            "\"nohost\" is not host:port",
            "topics",
            "\"bad topic\"",
            "unknown format \"avro\"",
            "start_from",
        ] {
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }

    #[test]
    fn missing_keys_are_named() {
        let error = kafka("").unwrap_err();
        for key in ["brokers", "topics", "format"] {
            assert!(
                error.contains(&format!("missing required key {key}")),
                "{error}"
            );
        }
    }

    #[test]
    fn an_access_log_format_that_does_not_compile_names_log_format_and_its_line() {
        let error = kafka(
            "brokers = [\"b:9092\"]\ntopics = [\"t\"]\nformat = \"access_log\"\nlog_format = \"$remote_addr $nonsense[\"\n",
        )
        .unwrap_err();
        assert!(error.contains("log_format"), "{error}");
        assert!(error.contains("t.toml:6:"), "{error}");
        let error = kafka(
            "brokers = [\"b:9092\"]\ntopics = [\"t\"]\nformat = \"json\"\ninterval = \"5s\"\n",
        )
        .unwrap_err();
        assert!(
            error.contains("interval applies to format = \"access_log\" only"),
            "{error}"
        );
    }
}
