//! The derived series of an [`IntervalSummary`], as samples.
//!
//! Every series carries the caller's labels (the source sets `log = "<source name>"`,
//! which says the series comes from a log) and is stamped at the interval's end.
//! Per virtual host (label `vhost`, `_` when lines name none):
//!
//! | series | labels | value |
//! |---|---|---|
//! | `log_http_requests_per_second` | | all requests |
//! | `log_http_requests_by_status_per_second` | `status_class` (`1xx`..`5xx`) | requests of the class |
//! | `log_http_requests_by_method_per_second` | `method` (`GET`, ..., `OTHER`) | requests of the method |
//! | `log_http_4xx_ratio`, `log_http_5xx_ratio` | | share of 4xx / 5xx responses (intervals with requests) |
//! | `log_http_sent_bytes_per_second` | | body bytes sent |
//! | `log_http_request_duration_seconds` | `quantile` (`0.5`, `0.95`, `0.99`) | `$request_time` quantiles (intervals with times) |
//! | `log_http_upstream_duration_seconds` | `quantile` | `$upstream_response_time` quantiles |
//!
//! Per route template (labels `vhost`, `route`): `log_http_route_requests_per_second`,
//! `log_http_route_5xx_ratio` and `log_http_route_request_duration_seconds{quantile="0.95"}`.
//! Per log: `log_http_client_requests_per_second{client}` for the heaviest clients
//! (Space-Saving estimates, an upper bound) and `log_http_top_client_share`, the heaviest
//! client's share of all requests; `log_http_bad_lines_per_second{reason}` (`no_match`,
//! `invalid_utf8`, `too_long`, `bad_value`) in intervals with refused lines;
//! `log_http_injection_requests_per_second{attack_kind}` (`sqli`, `xss`, `traversal`,
//! `cmdi`, `ssti`) in intervals with requests flagged by the content-injection check.
//!
//! Cardinality per log: 21 series per virtual host, 3 per route, `top_clients + 10`.

use lookout_model::{Labels, Sample, SeriesKey};

use crate::aggregate::{IntervalSummary, ScopeCounts};
use crate::record::{BadLine, Method, STATUS_CLASSES};

struct Out<'a> {
    samples: Vec<Sample>,
    timestamp_ms: i64,
    seconds: f64,
    base: &'a Labels,
}

impl Out<'_> {
    fn push(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let mut key = SeriesKey {
            name: name.to_string(),
            labels: self.base.clone(),
        };
        for (label, value) in labels {
            key.labels
                .insert((*label).to_string(), (*value).to_string());
        }
        self.samples.push(Sample {
            key,
            timestamp_ms: self.timestamp_ms,
            value,
        });
    }

    fn rate(&mut self, name: &str, labels: &[(&str, &str)], count: u64) {
        let value = count as f64 / self.seconds;
        self.push(name, labels, value);
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    part as f64 / whole as f64
}

fn vhost_series(out: &mut Out<'_>, vhost: &str, counts: &ScopeCounts) {
    let scope = [("vhost", vhost)];
    out.rate("log_http_requests_per_second", &scope, counts.requests);
    for (index, class) in STATUS_CLASSES.iter().enumerate() {
        let labels = [("vhost", vhost), ("status_class", class)];
        out.rate(
            "log_http_requests_by_status_per_second",
            &labels,
            counts.by_class[index],
        );
    }
    for method in Method::ALL {
        let labels = [("vhost", vhost), ("method", method.as_str())];
        out.rate(
            "log_http_requests_by_method_per_second",
            &labels,
            counts.method(method),
        );
    }
    if counts.requests > 0 {
        out.push(
            "log_http_4xx_ratio",
            &scope,
            ratio(counts.class(4), counts.requests),
        );
        out.push(
            "log_http_5xx_ratio",
            &scope,
            ratio(counts.class(5), counts.requests),
        );
    }
    out.rate("log_http_sent_bytes_per_second", &scope, counts.bytes);
    for (name, quantiles) in [
        ("log_http_request_duration_seconds", counts.latency),
        ("log_http_upstream_duration_seconds", counts.upstream),
    ] {
        if let Some(quantiles) = quantiles {
            for (quantile, value) in [
                ("0.5", quantiles.p50),
                ("0.95", quantiles.p95),
                ("0.99", quantiles.p99),
            ] {
                out.push(name, &[("vhost", vhost), ("quantile", quantile)], value);
            }
        }
    }
}

/// The samples of one interval; see the module documentation for the names.
pub fn samples(summary: &IntervalSummary, labels: &Labels) -> Vec<Sample> {
    let mut out = Out {
        samples: Vec::new(),
        timestamp_ms: summary.end_ms(),
        seconds: summary.interval_ms as f64 / 1000.0,
        base: labels,
    };
    for (vhost, counts) in &summary.vhosts {
        vhost_series(&mut out, vhost, counts);
    }
    for route in &summary.routes {
        let scope = [
            ("vhost", route.vhost.as_str()),
            ("route", route.route.as_str()),
        ];
        let counts = &route.counts;
        out.rate(
            "log_http_route_requests_per_second",
            &scope,
            counts.requests,
        );
        out.push(
            "log_http_route_5xx_ratio",
            &scope,
            ratio(counts.class(5), counts.requests),
        );
        if let Some(quantiles) = counts.latency {
            let labels = [scope[0], scope[1], ("quantile", "0.95")];
            out.push(
                "log_http_route_request_duration_seconds",
                &labels,
                quantiles.p95,
            );
        }
    }
    for (client, count) in &summary.top_clients {
        out.rate(
            "log_http_client_requests_per_second",
            &[("client", client.as_str())],
            *count,
        );
    }
    for reason in BadLine::ALL {
        let count = summary.bad(reason);
        if count > 0 {
            out.rate(
                "log_http_bad_lines_per_second",
                &[("reason", reason.as_str())],
                count,
            );
        }
    }
    for kind in lookout_inject::Kind::ALL {
        let count = summary.injections[kind as usize];
        if count > 0 {
            out.rate(
                "log_http_injection_requests_per_second",
                &[("attack_kind", kind.as_str())],
                count,
            );
        }
    }
    if summary.total.requests > 0 {
        let top = summary.top_clients.first().map_or(0, |(_, count)| *count);
        out.push(
            "log_http_top_client_share",
            &[],
            ratio(top.min(summary.total.requests), summary.total.requests),
        );
    }
    out.samples
}
