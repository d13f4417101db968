//! `[[source]] type = "prometheus_scrape"`: Prometheus exporters' text exposition.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::SourceType;
use crate::defaults;
use crate::raw::{Field, StringMap};
use crate::validate::Checker;
use crate::values::check_host_port;

/// The `prometheus_scrape` source type, for the registration list.
pub(crate) struct PrometheusScrape;

impl SourceType for PrometheusScrape {
    type Raw = RawPrometheusScrapeSource;
    type Config = PrometheusScrapeConfig;

    fn validate(
        raw: &RawPrometheusScrapeSource,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> PrometheusScrapeConfig {
        validate_scrape(checker, context, line, raw)
    }

    fn interval(config: &PrometheusScrapeConfig) -> Duration {
        config.interval
    }
}

/// `[[source]] type = "prometheus_scrape"`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrometheusScrapeSource {
    #[serde(rename = "type")]
    pub kind: Field<String>,
    pub targets: Field<Vec<String>>,
    pub interval: Field<String>,
    pub timeout: Field<String>,
    pub metrics_path: Field<String>,
    pub scheme: Field<String>,
    pub labels: Field<StringMap>,
}

/// `[[source]] type = "prometheus_scrape"`
#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusScrapeConfig {
    /// `host:port` of each target.
    pub targets: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub metrics_path: String,
    pub scheme: Scheme,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

fn validate_scrape(
    checker: &mut Checker<'_, '_, '_>,
    context: &str,
    line: usize,
    raw: &RawPrometheusScrapeSource,
) -> PrometheusScrapeConfig {
    let targets = match &raw.targets {
        None => {
            let message = "missing required key (e.g. targets = [\"127.0.0.1:9100\"])".to_string();
            checker.report_line(
                crate::ErrorKind::MissingKey,
                line,
                context,
                Some("targets"),
                message,
            );
            Vec::new()
        }
        Some(_) => checker.value(context, "targets", &raw.targets, Vec::new(), |targets| {
            if targets.is_empty() {
                return Err("the list is empty; name at least one host:port".to_string());
            }
            for target in targets {
                check_host_port(target)?;
            }
            Ok(targets.clone())
        }),
    };
    let interval = checker.positive_duration(
        context,
        "interval",
        &raw.interval,
        defaults::SCRAPE_INTERVAL,
    );
    let default_timeout = defaults::SCRAPE_TIMEOUT.min(interval);
    let timeout = checker.value(context, "timeout", &raw.timeout, default_timeout, |text| {
        let timeout = crate::values::parse_duration(text)?;
        if timeout.is_zero() || timeout > interval {
            return Err(format!(
                "{text:?} must be positive and not longer than the interval"
            ));
        }
        Ok(timeout)
    });
    let metrics_path = checker.value(
        context,
        "metrics_path",
        &raw.metrics_path,
        defaults::SCRAPE_METRICS_PATH.to_string(),
        |path| {
            if path.starts_with('/') {
                Ok(path.clone())
            } else {
                Err(format!("{path:?} must start with /"))
            }
        },
    );
    let scheme = checker.value(
        context,
        "scheme",
        &raw.scheme,
        Scheme::Http,
        |scheme| match scheme.as_str() {
            "http" => Ok(Scheme::Http),
            "https" => Ok(Scheme::Https),
            other => Err(format!("unknown scheme {other:?} (known: http, https)")),
        },
    );
    PrometheusScrapeConfig {
        targets,
        interval,
        timeout,
        metrics_path,
        scheme,
        labels: checker.labels(context, "labels", &raw.labels),
    }
}
