//! Validation of `[[source]]` tables.

use std::time::Duration;

use super::Checker;
use crate::defaults;
use crate::raw::*;
use crate::types::*;
use crate::values::{check_host_port, check_http_url};

impl Checker<'_, '_, '_> {
    pub(super) fn source(&mut self, entry: &RawSourceEntry) -> SourceConfig {
        let context = format!("[[source]] #{}", entry.index);
        match &entry.source {
            RawSource::Host(raw) => SourceConfig::Host(self.host_source(&context, raw)),
            RawSource::CloudWatch(raw) => {
                SourceConfig::CloudWatch(self.cloudwatch_source(&context, raw))
            }
            RawSource::PrometheusScrape(raw) => SourceConfig::PrometheusScrape(
                self.prometheus_scrape_source(&context, entry.line, raw),
            ),
        }
    }

    fn host_source(&mut self, context: &str, raw: &RawHostSource) -> HostSourceConfig {
        let mut filter = |include: (&str, &Field<Vec<String>>),
                          exclude: (&str, &Field<Vec<String>>),
                          default: &[&str]| {
            NameFilter::new(
                self.string_list(context, include.0, include.1, &[]),
                self.string_list(context, exclude.0, exclude.1, default),
            )
        };
        let mounts = filter(
            ("mounts_include", &raw.mounts_include),
            ("mounts_exclude", &raw.mounts_exclude),
            &[],
        );
        let devices = filter(
            ("devices_include", &raw.devices_include),
            ("devices_exclude", &raw.devices_exclude),
            defaults::HOST_DEVICES_EXCLUDE,
        );
        let interfaces = filter(
            ("interfaces_include", &raw.interfaces_include),
            ("interfaces_exclude", &raw.interfaces_exclude),
            defaults::HOST_INTERFACES_EXCLUDE,
        );
        HostSourceConfig {
            interval: self.positive_duration(
                context,
                "interval",
                &raw.interval,
                defaults::HOST_INTERVAL,
            ),
            hostname: self.optional_string(context, "hostname", &raw.hostname),
            per_cpu: raw
                .per_cpu
                .as_ref()
                .map(|flag| *flag.get_ref())
                .unwrap_or(true),
            mounts,
            devices,
            interfaces,
            labels: self.labels(context, "labels", &raw.labels),
        }
    }

    fn cloudwatch_source(
        &mut self,
        context: &str,
        raw: &RawCloudWatchSource,
    ) -> CloudWatchSourceConfig {
        let region = self.value(
            context,
            "region",
            &raw.region,
            defaults::CLOUDWATCH_REGION.to_string(),
            |region| {
                let valid = !region.is_empty()
                    && region
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                if valid {
                    Ok(region.clone())
                } else {
                    Err(format!(
                        "{region:?} is not an AWS region (e.g. \"us-east-1\")"
                    ))
                }
            },
        );
        let endpoint = self.value(context, "endpoint", &raw.endpoint, None, |url| {
            check_http_url(url).map(|()| Some(url.clone()))
        });
        let period = self.value(context, "period", &raw.period, defaults::CLOUDWATCH_PERIOD, |text| {
            let period = crate::values::parse_duration(text)?;
            let high_resolution = [1, 5, 10, 30].map(Duration::from_secs).contains(&period);
            let whole_minutes = period.as_secs() >= 60 && period.as_secs() % 60 == 0 && period.subsec_nanos() == 0;
            if high_resolution || whole_minutes {
                Ok(period)
            } else {
                Err(format!("{text:?} is not a CloudWatch period (1s, 5s, 10s, 30s or a multiple of 60s)"))
            }
        });
        let statistic = self.value(
            context,
            "statistic",
            &raw.statistic,
            defaults::CLOUDWATCH_STATISTIC.to_string(),
            |name| {
                let percentile = name.strip_prefix('p').is_some_and(|rest| {
                    rest.parse::<f64>()
                        .is_ok_and(|p| (0.0..=100.0).contains(&p))
                });
                if defaults::CLOUDWATCH_STATISTICS.contains(&name.as_str()) || percentile {
                    Ok(name.clone())
                } else {
                    Err(format!(
                        "unknown statistic {name:?} (known: {}, or a percentile such as p99)",
                        defaults::CLOUDWATCH_STATISTICS.join(", ")
                    ))
                }
            },
        );
        let metrics = self.string_list(
            context,
            "metrics",
            &raw.metrics,
            defaults::CLOUDWATCH_METRICS,
        );
        if metrics.is_empty() {
            if let Some(field) = &raw.metrics {
                let message = "the list is empty; name at least one metric".to_string();
                self.report_at(
                    crate::ErrorKind::InvalidValue,
                    context,
                    "metrics",
                    field,
                    message,
                );
            }
        }
        let instance_ids = self.value(
            context,
            "instance_ids",
            &raw.instance_ids,
            Vec::new(),
            |ids| match ids.iter().find(|id| !id.starts_with("i-") || id.len() < 3) {
                Some(bad) => Err(format!(
                    "{bad:?} is not an EC2 instance id (e.g. \"i-0123456789abcdef0\")"
                )),
                None => Ok(ids.clone()),
            },
        );
        let tag_filters = self.value(
            context,
            "tag_filters",
            &raw.tag_filters,
            Default::default(),
            |filters| match filters.iter().find(|(_, values)| values.is_empty()) {
                Some((tag, _)) => Err(format!("tag {tag:?} has no accepted values")),
                None => Ok(filters.clone()),
            },
        );
        let tag_labels = self.string_list(
            context,
            "tag_labels",
            &raw.tag_labels,
            defaults::CLOUDWATCH_TAG_LABELS,
        );
        let extra_metrics = self.value(
            context,
            "extra_metrics",
            &raw.extra_metrics,
            Default::default(),
            |sets| {
                if let Some(namespace) = sets.keys().find(|namespace| namespace.is_empty()) {
                    return Err(format!("namespace {namespace:?} is empty"));
                }
                match sets.iter().find(|(_, metrics)| metrics.is_empty()) {
                    Some((namespace, _)) => Err(format!(
                        "namespace {namespace:?} lists no metric (e.g. CWAgent = [\"mem_used_percent\"])"
                    )),
                    None => Ok(sets.clone()),
                }
            },
        );
        CloudWatchSourceConfig {
            region,
            endpoint,
            interval: self.duration(
                context,
                "interval",
                &raw.interval,
                defaults::CLOUDWATCH_INTERVAL,
                Duration::from_secs(1),
            ),
            period,
            namespace: self.non_empty_string(
                context,
                "namespace",
                &raw.namespace,
                defaults::CLOUDWATCH_NAMESPACE,
            ),
            metrics,
            statistic,
            dimensions: self.value(
                context,
                "dimensions",
                &raw.dimensions,
                Default::default(),
                |d| Ok(d.clone()),
            ),
            instance_ids,
            tag_filters,
            tag_labels,
            extra_metrics,
            backfill: self.duration(
                context,
                "backfill",
                &raw.backfill,
                defaults::CLOUDWATCH_BACKFILL,
                Duration::ZERO,
            ),
            labels: self.labels(context, "labels", &raw.labels),
        }
    }

    fn prometheus_scrape_source(
        &mut self,
        context: &str,
        line: usize,
        raw: &RawPrometheusScrapeSource,
    ) -> PrometheusScrapeConfig {
        let targets = match &raw.targets {
            None => {
                let message =
                    "missing required key (e.g. targets = [\"127.0.0.1:9100\"])".to_string();
                self.report_line(
                    crate::ErrorKind::MissingKey,
                    line,
                    context,
                    Some("targets"),
                    message,
                );
                Vec::new()
            }
            Some(_) => self.value(context, "targets", &raw.targets, Vec::new(), |targets| {
                if targets.is_empty() {
                    return Err("the list is empty; name at least one host:port".to_string());
                }
                for target in targets {
                    check_host_port(target)?;
                }
                Ok(targets.clone())
            }),
        };
        let interval = self.positive_duration(
            context,
            "interval",
            &raw.interval,
            defaults::SCRAPE_INTERVAL,
        );
        let default_timeout = defaults::SCRAPE_TIMEOUT.min(interval);
        let timeout = self.value(context, "timeout", &raw.timeout, default_timeout, |text| {
            let timeout = crate::values::parse_duration(text)?;
            if timeout.is_zero() || timeout > interval {
                return Err(format!(
                    "{text:?} must be positive and not longer than the interval"
                ));
            }
            Ok(timeout)
        });
        let metrics_path = self.value(
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
        let scheme = self.value(
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
            labels: self.labels(context, "labels", &raw.labels),
        }
    }
}
