//! Turns the [raw form](crate::raw) into the typed [`Config`], checking every value and
//! recording every mistake with its line.

mod alert;
mod cluster;
mod detection;
mod limits;
mod listen;
mod object_store;
mod usage;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_spanned::Spanned;

use crate::defaults;
use crate::error::ErrorKind;
use crate::raw::*;
use crate::reader::Reporter;
use crate::types::*;
use crate::values::{parse_byte_size, parse_duration, parse_listen};

/// A check for series selectors (`match` keys): `Err` carries the reason.
pub type SelectorCheck<'a> = dyn Fn(&str) -> Result<(), String> + 'a;

/// Checks a `params` table against the detectors of a profile: one message per
/// mistake (an unknown detector, a field it does not take, a value out of range), all
/// of them, not only the first.
pub type ParamsCheck<'a> = dyn Fn(&str, &toml::Table) -> Vec<String> + 'a;

/// Checks the configuration crate cannot do alone, plugged in by the binary.
pub struct Hooks<'a> {
    /// Parses `match` selectors; without it a selector only has to be a non-empty string.
    pub selector: Option<&'a SelectorCheck<'a>>,
    /// Accepted detection profile names.
    pub profiles: &'a [&'a str],
    /// Checks `[detection] params` and each override's `params` (with the profile it
    /// applies to); without it any table is accepted here and checked when the
    /// pipelines are built.
    pub params: Option<&'a ParamsCheck<'a>>,
}

impl Default for Hooks<'_> {
    fn default() -> Self {
        Hooks {
            selector: None,
            profiles: defaults::KNOWN_PROFILES,
            params: None,
        }
    }
}

/// Validates a raw configuration; mistakes go to the reporter and the affected keys
/// keep their defaults.
pub(crate) fn validate(raw: &RawConfig, reporter: &mut Reporter<'_>, hooks: &Hooks<'_>) -> Config {
    let mut checker = Checker { reporter, hooks };
    let server = checker.server(&raw.server);
    let storage = checker.storage(&raw.storage);
    let sources = raw
        .sources
        .iter()
        .map(|entry| {
            let context = format!("[[source]] #{}", entry.index);
            crate::sources::validate(&entry.source, &mut checker, &context, entry.line)
        })
        .collect();
    let detection = checker.detection(&raw.detection, &raw.overrides);
    let usage = checker.usage(&raw.usage);
    let object_store = checker.object_store(&raw.object_store);
    let cluster = raw
        .cluster
        .as_ref()
        .map(|raw| checker.cluster(raw.line, &raw.value));
    let notifiers = checker.notifiers(&raw.notifiers);
    let notifier_names: Vec<&str> = raw
        .notifiers
        .iter()
        .filter_map(|entry| entry.value.name.as_ref())
        .map(|name| name.get_ref().as_str())
        .collect();
    let rules = checker.rules(&raw.rules, &notifier_names);
    let inhibit = checker.inhibit_rules(&raw.inhibits);
    let file = checker.reporter.file().to_string();
    let auth = checker.auth(&raw.auth, &raw.tokens, &file);
    Config {
        server,
        storage,
        sources,
        detection,
        usage,
        object_store,
        cluster,
        alert: AlertConfig {
            notifiers,
            rules,
            inhibit,
        },
        auth,
    }
}

pub(crate) struct Checker<'r, 't, 'h> {
    pub(crate) reporter: &'r mut Reporter<'t>,
    hooks: &'r Hooks<'h>,
}

impl Checker<'_, '_, '_> {
    pub(crate) fn line<T>(&self, field: &Spanned<T>) -> usize {
        self.reporter.line_of(field.span().start)
    }

    pub(crate) fn report_at<T>(
        &mut self,
        kind: ErrorKind,
        context: &str,
        key: &str,
        field: &Spanned<T>,
        message: String,
    ) {
        let line = self.line(field);
        self.reporter
            .report(kind, Some(line), context, Some(key), message);
    }

    pub(crate) fn report_line(
        &mut self,
        kind: ErrorKind,
        line: usize,
        context: &str,
        key: Option<&str>,
        message: String,
    ) {
        self.reporter
            .report(kind, Some(line), context, key, message);
    }

    /// The parsed value of an optional key, or `default` when absent or invalid.
    pub(crate) fn value<T, U>(
        &mut self,
        context: &str,
        key: &str,
        field: &Field<T>,
        default: U,
        parse: impl FnOnce(&T) -> Result<U, String>,
    ) -> U {
        let Some(field) = field else {
            return default;
        };
        match parse(field.get_ref()) {
            Ok(value) => value,
            Err(message) => {
                self.report_at(ErrorKind::InvalidValue, context, key, field, message);
                default
            }
        }
    }

    /// A duration of at least `min`.
    pub(crate) fn duration(
        &mut self,
        context: &str,
        key: &str,
        field: &Field<String>,
        default: Duration,
        min: Duration,
    ) -> Duration {
        self.value(context, key, field, default, |text| {
            let duration = parse_duration(text)?;
            if duration < min {
                let min = crate::values::format_duration(min);
                return Err(format!("{text:?} is too short (at least {min})"));
            }
            Ok(duration)
        })
    }

    /// A positive duration.
    pub(crate) fn positive_duration(
        &mut self,
        context: &str,
        key: &str,
        field: &Field<String>,
        default: Duration,
    ) -> Duration {
        self.duration(context, key, field, default, Duration::from_millis(1))
    }

    pub(crate) fn non_empty_string(
        &mut self,
        context: &str,
        key: &str,
        field: &Field<String>,
        default: &str,
    ) -> String {
        self.value(context, key, field, default.to_string(), |text| {
            non_empty(text)
        })
    }

    pub(crate) fn optional_string(
        &mut self,
        context: &str,
        key: &str,
        field: &Field<String>,
    ) -> Option<String> {
        self.value(context, key, field, None, |text| non_empty(text).map(Some))
    }

    pub(crate) fn integer_in(
        &mut self,
        context: &str,
        key: &str,
        field: &Field<i64>,
        default: u64,
        min: u64,
        max: u64,
    ) -> u64 {
        self.value(context, key, field, default, |number| {
            match u64::try_from(*number) {
                Ok(value) if (min..=max).contains(&value) => Ok(value),
                _ => Err(format!("{number} is out of range (from {min} to {max})")),
            }
        })
    }

    /// A finite number within `[min, max]`.
    pub(crate) fn number_in(
        &mut self,
        context: &str,
        key: &str,
        field: &Field<f64>,
        default: f64,
        min: f64,
        max: f64,
    ) -> f64 {
        self.value(context, key, field, default, |number| {
            if number.is_finite() && (min..=max).contains(number) {
                Ok(*number)
            } else {
                Err(format!("{number} is out of range (from {min} to {max})"))
            }
        })
    }

    pub(crate) fn optional_number_in(
        &mut self,
        context: &str,
        key: &str,
        field: &Field<f64>,
        min: f64,
        max: f64,
    ) -> Option<f64> {
        field.as_ref()?;
        let value = self.number_in(context, key, field, f64::NAN, min, max);
        (!value.is_nan()).then_some(value)
    }

    /// A list of non-empty strings.
    pub(crate) fn string_list(
        &mut self,
        context: &str,
        key: &str,
        field: &Field<Vec<String>>,
        default: &[&str],
    ) -> Vec<String> {
        let default: Vec<String> = default.iter().map(|s| s.to_string()).collect();
        self.value(context, key, field, default, |items| {
            if items.iter().any(|item| item.trim().is_empty()) {
                return Err("the list contains an empty string".to_string());
            }
            Ok(items.clone())
        })
    }

    /// A label table whose names follow Prometheus' label name rules.
    pub(crate) fn labels(
        &mut self,
        context: &str,
        key: &str,
        field: &Field<StringMap>,
    ) -> BTreeMap<String, String> {
        self.value(context, key, field, BTreeMap::new(), |labels| match labels
            .keys()
            .find(|name| !is_label_name(name))
        {
            Some(bad) => Err(format!(
                "{bad:?} is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)"
            )),
            None => Ok(labels.clone()),
        })
    }

    /// A `match` selector: required, non-empty, and accepted by the selector hook.
    fn selector(&mut self, context: &str, line: usize, field: &Field<String>) -> String {
        self.selector_at(context, line, "match", field)
    }

    /// A required selector under `key`.
    fn selector_at(
        &mut self,
        context: &str,
        line: usize,
        key: &str,
        field: &Field<String>,
    ) -> String {
        let Some(field) = field else {
            self.report_line(
                ErrorKind::MissingKey,
                line,
                context,
                Some(key),
                "missing required key".into(),
            );
            return String::new();
        };
        let text = field.get_ref().trim();
        let verdict = if text.is_empty() {
            Err("the selector is empty (e.g. '{domain=\"cpu\"}')".to_string())
        } else if let Some(check) = self.hooks.selector {
            check(text).map_err(|reason| format!("{text:?} is not a valid selector: {reason}"))
        } else {
            Ok(())
        };
        if let Err(message) = verdict {
            self.report_at(ErrorKind::InvalidValue, context, key, field, message);
        }
        text.to_string()
    }

    fn profile(&mut self, context: &str, field: &Field<String>) -> Option<String> {
        let profiles = self.hooks.profiles;
        self.value(context, "profile", field, None, |name| {
            if profiles.contains(&name.as_str()) {
                Ok(Some(name.clone()))
            } else {
                Err(format!(
                    "unknown profile {name:?} (known: {})",
                    profiles.join(", ")
                ))
            }
        })
    }

    fn server(&mut self, raw: &RawServer) -> ServerConfig {
        let context = "[server]";
        let default_listen =
            parse_listen(defaults::LISTEN).expect("the default listen address parses");
        ServerConfig {
            listen: self.value(context, "listen", &raw.listen, default_listen, |text| {
                parse_listen(text)
            }),
            data_dir: PathBuf::from(self.non_empty_string(
                context,
                "data_dir",
                &raw.data_dir,
                defaults::DATA_DIR,
            )),
            max_body_bytes: self.value(
                context,
                "max_body_bytes",
                &raw.max_body_bytes,
                defaults::MAX_BODY_BYTES,
                |v| match parse_byte_size(v)? {
                    0 => Err("must be at least 1 byte".to_string()),
                    bytes if bytes > defaults::MAX_BODY_BYTES_CEILING => Err(format!(
                        "{bytes} bytes is more than the ceiling of {} bytes (1GiB): a request body is held in memory whole",
                        defaults::MAX_BODY_BYTES_CEILING
                    )),
                    bytes => Ok(bytes),
                },
            ),
            max_series: self.integer_in(
                context,
                "max_series",
                &raw.max_series,
                defaults::MAX_SERIES,
                1,
                u64::MAX,
            ),
            ingest_queue: self.integer_in(
                context,
                "ingest_queue",
                &raw.ingest_queue,
                defaults::INGEST_QUEUE as u64,
                1,
                1 << 24,
            ) as usize,
            query_max_samples: self.integer_in(
                context,
                "query_max_samples",
                &raw.query_max_samples,
                defaults::QUERY_MAX_SAMPLES,
                1,
                1 << 40,
            ),
            query_timeout: self.positive_duration(
                context,
                "query_timeout",
                &raw.query_timeout,
                defaults::QUERY_TIMEOUT,
            ),
            max_labels_per_series: self.integer_in(
                context,
                "max_labels_per_series",
                &raw.max_labels_per_series,
                defaults::MAX_LABELS_PER_SERIES,
                1,
                1000,
            ),
            max_label_name_bytes: self.integer_in(
                context,
                "max_label_name_bytes",
                &raw.max_label_name_bytes,
                defaults::MAX_LABEL_NAME_BYTES,
                1,
                1 << 16,
            ),
            max_label_value_bytes: self.integer_in(
                context,
                "max_label_value_bytes",
                &raw.max_label_value_bytes,
                defaults::MAX_LABEL_VALUE_BYTES,
                1,
                1 << 20,
            ),
            max_silence_duration: self.positive_duration(
                context,
                "max_silence_duration",
                &raw.max_silence_duration,
                defaults::MAX_SILENCE_DURATION,
            ),
            allowed_hosts: self.value(
                context,
                "allowed_hosts",
                &raw.allowed_hosts,
                Vec::new(),
                |hosts| {
                    match hosts.iter().find(|h| h.trim().is_empty() || h.contains(['/', ' ', '@'])) {
                        Some(bad) => Err(format!("{bad:?} is not a host name (write `name` or `name:port`)")),
                        None => Ok(hosts.iter().map(|h| h.to_ascii_lowercase()).collect()),
                    }
                },
            ),
            allow_unauthenticated_remote: self.value(
                context,
                "allow_unauthenticated_remote",
                &raw.allow_unauthenticated_remote,
                false,
                |v| Ok(*v),
            ),
            external_url: self.value(context, "external_url", &raw.external_url, None, |url| {
                crate::values::check_http_url(url)
                    .map(|()| Some(url.trim_end_matches('/').to_string()))
            }),
            connections: self.connection_limits(context, raw),
            limits: self.request_limits(context, raw),
            tls: self.tls(&raw.tls),
        }
    }

    fn storage(&mut self, raw: &RawStorage) -> StorageConfig {
        let context = "[storage]";
        StorageConfig {
            raw_retention: self.positive_duration(
                context,
                "raw_retention",
                &raw.raw_retention,
                defaults::RAW_RETENTION,
            ),
            rollup_1m_retention: self.positive_duration(
                context,
                "rollup_1m_retention",
                &raw.rollup_1m_retention,
                defaults::ROLLUP_1M_RETENTION,
            ),
            rollup_1h_retention: self.positive_duration(
                context,
                "rollup_1h_retention",
                &raw.rollup_1h_retention,
                defaults::ROLLUP_1H_RETENTION,
            ),
            event_retention: self.duration(
                context,
                "event_retention",
                &raw.event_retention,
                defaults::EVENT_RETENTION,
                Duration::from_secs(3600),
            ),
            compaction_interval: self.positive_duration(
                context,
                "compaction_interval",
                &raw.compaction_interval,
                defaults::COMPACTION_INTERVAL,
            ),
        }
    }
}

fn non_empty(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("must not be empty".to_string())
    } else {
        Ok(text.to_string())
    }
}

/// Prometheus label name rule `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
