//! `[[source]] type = "auth_log"`: SSH logins from an auth log file or the journal,
//! scored by the login detectors of `lookout-auth`.

use std::collections::BTreeMap;
use std::time::Duration;

use lookout_auth::detect::DetectConfig;
use lookout_auth::Mode;
use serde::Deserialize;

use super::file::ReadFrom;
use super::SourceType;
use crate::raw::{Field, StringMap};
use crate::validate::Checker;

/// How often the log is read and the series are written.
pub const AUTH_LOG_INTERVAL: Duration = Duration::from_secs(1);
/// Top failing addresses reported per interval by default.
pub const AUTH_LOG_TOP_SOURCES: u64 = 10;
/// The `journalctl` run by default for `journal = true`.
pub const JOURNALCTL: &str = "journalctl";

/// The `auth_log` source type, for the registration list.
pub(crate) struct AuthLog;

impl SourceType for AuthLog {
    type Raw = RawAuthLogSource;
    type Config = AuthLogSourceConfig;

    fn validate(
        raw: &RawAuthLogSource,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> AuthLogSourceConfig {
        validate_auth_log(checker, context, line, raw)
    }

    fn interval(config: &AuthLogSourceConfig) -> Duration {
        config.interval
    }
}

/// `[[source]] type = "auth_log"`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuthLogSource {
    #[serde(rename = "type")]
    pub kind: Field<String>,
    pub path: Field<String>,
    pub journal: Field<bool>,
    pub journalctl: Field<String>,
    pub mode: Field<String>,
    pub read_from: Field<String>,
    pub interval: Field<String>,
    pub labels: Field<StringMap>,
    pub top_sources: Field<i64>,
    pub maxretry: Field<i64>,
    pub findtime: Field<String>,
    pub fast_capacity: Field<i64>,
    pub fast_leak: Field<String>,
    pub slow_capacity: Field<i64>,
    pub slow_leak: Field<String>,
    pub enumeration_users: Field<i64>,
    pub enumeration_window: Field<String>,
    pub success_failures: Field<i64>,
    pub success_window: Field<String>,
    pub max_sources: Field<i64>,
    pub new_network_logins: Field<i64>,
    pub max_users: Field<i64>,
}

/// Where the lines come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthLogInput {
    /// A file in syslog format (`/var/log/auth.log`), followed across rotation.
    File(String),
    /// The systemd journal: `journalctl -f -o json` for the `sshd` and `sshd-session`
    /// identifiers, run as `program`.
    Journal { program: String },
}

/// `[[source]] type = "auth_log"`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthLogSourceConfig {
    pub input: AuthLogInput,
    /// fail2ban's sshd filter mode: which forms count as failures.
    pub mode: Mode,
    pub read_from: ReadFrom,
    pub interval: Duration,
    /// Labels of every series and event (e.g. `host`).
    pub labels: BTreeMap<String, String>,
    /// Failing addresses reported per interval in `auth_login_failures_by_source`.
    pub top_sources: usize,
    pub detect: DetectConfig,
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn validate_auth_log(
    checker: &mut Checker<'_, '_, '_>,
    context: &str,
    line: usize,
    raw: &RawAuthLogSource,
) -> AuthLogSourceConfig {
    let journal = raw.journal.as_ref().is_some_and(|j| *j.get_ref());
    let path = checker.optional_string(context, "path", &raw.path);
    let input = match (path, journal) {
        (Some(path), false) => AuthLogInput::File(path),
        (None, true) => AuthLogInput::Journal {
            program: checker.non_empty_string(context, "journalctl", &raw.journalctl, JOURNALCTL),
        },
        (Some(_), true) => {
            checker.report_line(
                crate::ErrorKind::InvalidValue,
                line,
                context,
                Some("path"),
                "give either path or journal = true, not both".to_string(),
            );
            AuthLogInput::Journal {
                program: JOURNALCTL.to_string(),
            }
        }
        (None, false) => {
            if raw.path.is_none() {
                checker.report_line(
                    crate::ErrorKind::MissingKey,
                    line,
                    context,
                    Some("path"),
                    "missing required key: path = \"/var/log/auth.log\" or journal = true"
                        .to_string(),
                );
            }
            AuthLogInput::File(String::new())
        }
    };
    if raw.journalctl.is_some() && !journal {
        checker.report_line(
            crate::ErrorKind::InvalidValue,
            line,
            context,
            Some("journalctl"),
            "journalctl is only read with journal = true".to_string(),
        );
    }
    let mode = checker.value(context, "mode", &raw.mode, Mode::Normal, |name| {
        name.parse()
    });
    let read_from = checker.value(
        context,
        "read_from",
        &raw.read_from,
        ReadFrom::End,
        |name| match name.as_str() {
            "end" => Ok(ReadFrom::End),
            "beginning" => Ok(ReadFrom::Beginning),
            other => Err(format!(
                "unknown position {other:?} (known: {})",
                ReadFrom::NAMES.join(", ")
            )),
        },
    );
    let defaults = DetectConfig::default();
    let max = u64::from(lookout_auth::detect::config::MAX_COUNT);
    let count = |checker: &mut Checker<'_, '_, '_>, key: &str, field: &Field<i64>, default: u32| {
        checker.integer_in(context, key, field, default.into(), 1, max) as u32
    };
    let maxretry = count(checker, "maxretry", &raw.maxretry, defaults.maxretry);
    let fast_capacity = count(
        checker,
        "fast_capacity",
        &raw.fast_capacity,
        defaults.fast.capacity,
    );
    let slow_capacity = count(
        checker,
        "slow_capacity",
        &raw.slow_capacity,
        defaults.slow.capacity,
    );
    let enumeration_users = count(
        checker,
        "enumeration_users",
        &raw.enumeration_users,
        defaults.enumeration_users,
    );
    let success_failures = count(
        checker,
        "success_failures",
        &raw.success_failures,
        defaults.success_failures,
    );
    let window =
        |checker: &mut Checker<'_, '_, '_>, key: &str, field: &Field<String>, default: i64| {
            millis(checker.positive_duration(
                context,
                key,
                field,
                Duration::from_millis(default as u64),
            ))
        };
    let detect = DetectConfig {
        maxretry,
        findtime_ms: window(checker, "findtime", &raw.findtime, defaults.findtime_ms),
        fast: lookout_auth::detect::bucket::BucketConfig {
            capacity: fast_capacity,
            leak_ms: window(checker, "fast_leak", &raw.fast_leak, defaults.fast.leak_ms),
        },
        slow: lookout_auth::detect::bucket::BucketConfig {
            capacity: slow_capacity,
            leak_ms: window(checker, "slow_leak", &raw.slow_leak, defaults.slow.leak_ms),
        },
        enumeration_users,
        enumeration_window_ms: window(
            checker,
            "enumeration_window",
            &raw.enumeration_window,
            defaults.enumeration_window_ms,
        ),
        success_failures,
        success_window_ms: window(
            checker,
            "success_window",
            &raw.success_window,
            defaults.success_window_ms,
        ),
        max_sources: checker.integer_in(
            context,
            "max_sources",
            &raw.max_sources,
            defaults.max_sources as u64,
            1,
            10_000_000,
        ) as usize,
        new_network_logins: checker.integer_in(
            context,
            "new_network_logins",
            &raw.new_network_logins,
            defaults.new_network_logins.into(),
            1,
            lookout_auth::detect::config::MAX_COUNT.into(),
        ) as u32,
        max_users: checker.integer_in(
            context,
            "max_users",
            &raw.max_users,
            defaults.max_users as u64,
            1,
            10_000_000,
        ) as usize,
        max_examples: defaults.max_examples,
    };
    AuthLogSourceConfig {
        input,
        mode,
        read_from,
        interval: checker.positive_duration(context, "interval", &raw.interval, AUTH_LOG_INTERVAL),
        labels: checker.labels(context, "labels", &raw.labels),
        top_sources: checker.integer_in(
            context,
            "top_sources",
            &raw.top_sources,
            AUTH_LOG_TOP_SOURCES,
            0,
            1000,
        ) as usize,
        detect,
    }
}

#[cfg(test)]
mod tests {
    use crate::{AuthLogInput, Config, SourceConfig};

    fn auth_log(text: &str) -> Result<super::AuthLogSourceConfig, String> {
        let config = Config::from_str_named(text, "t.toml").map_err(|e| e.to_string())?;
        match config.sources.into_iter().next() {
            Some(SourceConfig::AuthLog(config)) => Ok(config),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_follow_fail2ban_and_crowdsec() {
        let config =
            auth_log("[[source]]\ntype = \"auth_log\"\npath = \"/var/log/auth.log\"\n").unwrap();
        assert_eq!(config.input, AuthLogInput::File("/var/log/auth.log".into()));
        assert_eq!(config.mode, lookout_auth::Mode::Normal);
        assert_eq!(config.detect, lookout_auth::detect::DetectConfig::default());
        assert_eq!(config.top_sources, 10);
        let config = auth_log(
            "[[source]]\ntype = \"auth_log\"\njournal = true\nmode = \"aggressive\"\nmaxretry = 3\nfindtime = \"1m\"\nslow_leak = \"2m\"\n",
        )
        .unwrap();
        assert_eq!(
            config.input,
            AuthLogInput::Journal {
                program: "journalctl".into()
            }
        );
        assert_eq!(config.mode, lookout_auth::Mode::Aggressive);
        assert_eq!(
            (config.detect.maxretry, config.detect.findtime_ms),
            (3, 60_000)
        );
        assert_eq!(config.detect.slow.leak_ms, 120_000);
    }

    #[test]
    fn mistakes_are_named_with_their_line() {
        let error = auth_log("[[source]]\ntype = \"auth_log\"\n").unwrap_err();
        assert!(
            error.contains("t.toml:1") && error.contains("path"),
            "{error}"
        );
        let error = auth_log(
            "[[source]]\ntype = \"auth_log\"\npath = \"a\"\nmode = \"paranoid\"\nmaxretry = 0\n",
        )
        .unwrap_err();
        assert!(
            error.contains("t.toml:4") && error.contains("unknown mode \"paranoid\""),
            "{error}"
        );
        assert!(
            error.contains("t.toml:5") && error.contains("maxretry"),
            "{error}"
        );
        let error = auth_log("[[source]]\ntype = \"auth_log\"\npath = \"a\"\njournal = true\n")
            .unwrap_err();
        assert!(error.contains("not both"), "{error}");
    }
}
