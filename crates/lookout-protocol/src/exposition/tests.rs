use lookout_model::SeriesKey;

use super::*;
use crate::{ProtocolError, RejectReason};

const NOW: i64 = 1_700_000_000_000;

fn parse(text: &str) -> Exposition {
    parse_exposition(text.as_bytes(), NOW).unwrap_or_else(|error| panic!("{error}"))
}

fn errors(text: &str) -> Vec<String> {
    match parse_exposition(text.as_bytes(), NOW).unwrap_err() {
        ProtocolError::MalformedExposition { errors, .. } => {
            errors.iter().map(ToString::to_string).collect()
        }
        other => panic!("unexpected error {other:?}"),
    }
}

const SCRAPE: &str = r#"# HELP http_requests_total Requests served.\nSecond line \\ done.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="get",code="400"} 3
# A plain comment
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.5"} 129
latency_seconds_bucket{le="+Inf"} 144
latency_seconds_sum 53.4
latency_seconds_count 144
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.99"} NaN
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
temperature_celsius -Inf
"#;

#[test]
fn parses_families_types_help_and_samples() {
    let exposition = parse(SCRAPE);
    let summary: Vec<(&str, MetricType, usize)> = exposition
        .families
        .iter()
        .map(|f| (f.name.as_str(), f.metric_type, f.samples.len()))
        .collect();
    assert_eq!(
        summary,
        [
            ("http_requests_total", MetricType::Counter, 2),
            ("latency_seconds", MetricType::Histogram, 4),
            ("rpc_duration_seconds", MetricType::Summary, 3),
            ("temperature_celsius", MetricType::Untyped, 1),
        ]
    );
    let requests = exposition.family("http_requests_total").unwrap();
    assert_eq!(
        requests.help.as_deref(),
        Some("Requests served.\nSecond line \\ done.")
    );
    assert_eq!(
        requests.samples[0],
        Sample {
            key: SeriesKey::new("http_requests_total")
                .with_label("method", "post")
                .with_label("code", "200"),
            timestamp_ms: 1_395_066_363_000,
            value: 1027.0,
        }
    );
    assert_eq!(
        requests.samples[1].timestamp_ms, NOW,
        "no timestamp: the default"
    );
    let latency = exposition.family("latency_seconds").unwrap();
    assert_eq!(
        latency.samples[1].key,
        SeriesKey::new("latency_seconds_bucket").with_label("le", "+Inf")
    );
    assert_eq!(latency.samples[2].value, 53.4);
    let rpc = exposition.family("rpc_duration_seconds").unwrap();
    assert!(rpc.samples[0].value.is_nan());
    assert_eq!(rpc.samples[1].value, 1.7560473e7);
    assert_eq!(
        exposition.family("temperature_celsius").unwrap().samples[0].value,
        f64::NEG_INFINITY
    );
    let typed: Vec<MetricType> = exposition.typed_samples().map(|(t, _)| t).collect();
    assert_eq!(typed.len(), 10);
    assert_eq!(typed[2], MetricType::Histogram);
    assert_eq!(exposition.into_samples().len(), 10);
}

#[test]
fn suffixes_only_join_families_whose_type_has_them() {
    let exposition = parse("# TYPE a gauge\na 1\na_count 2\n# TYPE b counter\nb_created 5\n");
    let names: Vec<&str> = exposition
        .families
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["a", "a_count", "b"]);
}

#[test]
fn label_value_escapes_and_odd_spacing() {
    let exposition = parse("m { a = \"x\\\\y\\\"z\\nw\" , b=\"é,}\" , }\t+Inf\t-5\r\n\n  \n");
    let sample = &exposition.families[0].samples[0];
    assert_eq!(
        sample.key,
        SeriesKey::new("m")
            .with_label("a", "x\\y\"z\nw")
            .with_label("b", "é,}")
    );
    assert_eq!(sample.value, f64::INFINITY);
    assert_eq!(sample.timestamp_ms, -5);
}

#[test]
fn empty_braces_help_without_text_and_unknown_type() {
    let exposition = parse("# HELP m\n# TYPE m unknown\nm{} 1\n");
    assert_eq!(exposition.families[0].help.as_deref(), Some(""));
    assert_eq!(exposition.families[0].metric_type, MetricType::Untyped);
}

#[test]
fn every_error_names_line_column_and_reason() {
    let cases = [
        ("1m 1", "line 1: expected a metric name, found '1' (column 1)"),
        ("m", "line 1: expected a space and a value, found end of line (column 2)"),
        ("m abc", "line 1: invalid value \"abc\" (column 3)"),
        ("m 1 x", "line 1: invalid timestamp \"x\" (expected integer milliseconds) (column 5)"),
        ("m 1 2 3", "line 1: unexpected text after the timestamp (column 7)"),
        ("m{a=\"1\" 1", "line 1: expected ',' or '}' after the value of label \"a\", found '1' (column 9)"),
        ("m{1=\"1\"} 1", "line 1: expected a label name or '}', found '1' (column 3)"),
        ("m{a} 1", "line 1: expected '=' after label name \"a\", found '}' (column 4)"),
        ("m{a=1} 1", "line 1: expected '\"' to start the value of label \"a\", found '1' (column 5)"),
        ("m{a=\"1} 1", "line 1: unterminated value for label \"a\" (column 5)"),
        ("m{a=\"\\t\"} 1", "line 1: invalid escape sequence '\\t' in the value of label \"a\" (column 6)"),
        ("m{a=\"1\",a=\"2\"} 1", "line 1: duplicate label \"a\" (column 9)"),
        ("m{a=\"1\"}1", "line 1: expected a space and a value, found '1' (column 9)"),
        ("# TYPE m", "line 1: expected a space and a type after the metric name, found end of line (column 9)"),
        ("# TYPE 1m counter", "line 1: expected a metric name after TYPE, found '1' (column 8)"),
        (
            "# TYPE m timer",
            "line 1: unknown metric type \"timer\" (expected counter, gauge, histogram, summary or untyped) (column 10)",
        ),
        ("# TYPE m counter extra", "line 1: unexpected text after the type (column 18)"),
        ("# HELP m-x text", "line 1: expected a space after the metric name, found '-' (column 9)"),
    ];
    for (text, expected) in cases {
        assert_eq!(errors(text), [expected], "{text}");
    }
}

#[test]
fn duplicate_and_late_metadata_are_errors() {
    assert_eq!(
        errors("# TYPE m counter\n# TYPE m gauge\n"),
        ["line 2: second TYPE line for metric \"m\" (column 8)"]
    );
    assert_eq!(
        errors("# HELP m a\n# HELP m b\n"),
        ["line 2: second HELP line for metric \"m\" (column 8)"]
    );
    assert_eq!(
        errors("m 1\n# TYPE m gauge\n"),
        ["line 2: TYPE line for metric \"m\" comes after its samples (column 8)"]
    );
}

#[test]
fn a_bad_line_refuses_the_whole_body() {
    let error = parse_exposition(b"ok 1\nbad\nok 2\n\xff\n", NOW).unwrap_err();
    assert_eq!(error.reason(), RejectReason::MalformedExposition);
    assert_eq!(
        error.to_string(),
        "malformed exposition text: 2 errors; line 2: expected a space and a value, found end of line (column 4); \
         line 4: invalid UTF-8 (column 1)"
    );
}

#[test]
fn writer_escapes_and_formats() {
    let mut writer = ExpositionWriter::new();
    writer.family(
        "lookout_up",
        "Whether lookout runs.\nAlways 1 \\o/",
        MetricType::Gauge,
    );
    writer.sample("lookout_up", NO_LABELS, 1.0);
    writer.family("lookout_values", "Odd values.", MetricType::Untyped);
    writer.sample("lookout_values", [("path", "C:\\x \"q\"\nz")], f64::NAN);
    writer.sample_at("lookout_values", [("k", "inf")], f64::INFINITY, 1_000);
    writer.sample("lookout_values", [("k", "ninf")], f64::NEG_INFINITY);
    writer.sample(
        "lookout_values",
        vec![("k".to_string(), "frac".to_string())],
        0.25,
    );
    writer.series(
        &SeriesKey::new("lookout_values").with_label("k", "big"),
        1e300,
        None,
    );
    let text = writer.finish();
    assert_eq!(
        text,
        "# HELP lookout_up Whether lookout runs.\\nAlways 1 \\\\o/\n\
         # TYPE lookout_up gauge\n\
         lookout_up 1\n\
         # HELP lookout_values Odd values.\n\
         # TYPE lookout_values untyped\n\
         lookout_values{path=\"C:\\\\x \\\"q\\\"\\nz\"} NaN\n\
         lookout_values{k=\"inf\"} +Inf 1000\n\
         lookout_values{k=\"ninf\"} -Inf\n\
         lookout_values{k=\"frac\"} 0.25\n\
         lookout_values{k=\"big\"} 1e300\n"
    );
}

#[test]
fn written_text_parses_back_to_the_same_samples() {
    let mut writer = ExpositionWriter::new();
    writer.family("lookout_latency_seconds", "Latency.", MetricType::Histogram);
    writer.sample("lookout_latency_seconds_bucket", [("le", "0.1")], 3.0);
    writer.sample("lookout_latency_seconds_bucket", [("le", "+Inf")], 5.0);
    writer.sample(
        "lookout_latency_seconds_sum",
        NO_LABELS,
        0.123_456_789_012_345_67,
    );
    writer.sample("lookout_latency_seconds_count", NO_LABELS, 5.0);
    writer.family(
        "lookout_label_odd",
        "Help with \\ and\nnewline.",
        MetricType::Counter,
    );
    writer.sample_at("lookout_label_odd", [("v", "a\\b\"c\nd}")], -2.5e-12, 42);
    let exposition = parse(writer.as_str());
    assert_eq!(exposition.families.len(), 2);
    let latency = &exposition.families[0];
    assert_eq!(latency.metric_type, MetricType::Histogram);
    assert_eq!(latency.samples.len(), 4);
    assert_eq!(latency.samples[2].value, 0.123_456_789_012_345_67);
    let odd = &exposition.families[1];
    assert_eq!(odd.help.as_deref(), Some("Help with \\ and\nnewline."));
    assert_eq!(odd.samples[0].key.labels["v"], "a\\b\"c\nd}");
    assert_eq!(
        (odd.samples[0].value, odd.samples[0].timestamp_ms),
        (-2.5e-12, 42)
    );
}

#[test]
fn values_are_formatted_like_prometheus() {
    assert_eq!(format_value(3.0), "3");
    assert_eq!(format_value(-0.0), "0");
    assert_eq!(format_value(0.1), "0.1");
    assert_eq!(format_value(1e20), "1e20");
    assert_eq!(format_value(f64::NAN), "NaN");
    assert_eq!(format_value(f64::INFINITY), "+Inf");
    assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
}

#[test]
fn histogram_buckets_are_cumulative_and_single_families_have_one_line() {
    let mut writer = ExpositionWriter::new();
    writer.single("lookout_up", "Up.", MetricType::Gauge, 1.0);
    writer.histogram(
        "lookout_wait_seconds",
        "Wait.",
        &[0.5, 1.0, 2.5],
        [1, 0, 2],
        3.25,
        4,
    );
    assert_eq!(
        writer.finish(),
        "# HELP lookout_up Up.\n# TYPE lookout_up gauge\nlookout_up 1\n\
         # HELP lookout_wait_seconds Wait.\n# TYPE lookout_wait_seconds histogram\n\
         lookout_wait_seconds_bucket{le=\"0.5\"} 1\n\
         lookout_wait_seconds_bucket{le=\"1\"} 1\n\
         lookout_wait_seconds_bucket{le=\"2.5\"} 3\n\
         lookout_wait_seconds_bucket{le=\"+Inf\"} 4\n\
         lookout_wait_seconds_sum 3.25\n\
         lookout_wait_seconds_count 4\n"
    );
}
