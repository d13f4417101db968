use super::*;
use crate::RejectReason;

const NOW: i64 = 1_700_000_000_123;

fn parse(body: &str) -> Batch {
    parse_lines(body.as_bytes(), Precision::Nanoseconds, NOW).unwrap()
}

fn error_messages(body: &str) -> Vec<String> {
    match parse_lines(body.as_bytes(), Precision::Nanoseconds, NOW).unwrap_err() {
        ProtocolError::MalformedLines { errors, .. } => {
            errors.iter().map(ToString::to_string).collect()
        }
        other => panic!("unexpected error {other:?}"),
    }
}

fn sample(key: SeriesKey, timestamp_ms: i64, value: f64) -> Sample {
    Sample {
        key,
        timestamp_ms,
        value,
    }
}

#[test]
fn maps_fields_to_series_and_tags_to_labels() {
    let batch = parse(
        "cpu,host=web-1,cpu=cpu0 usage_idle=97.5,usage_user=2i,up=true,n=3u 1700000000000000000\n",
    );
    let labels = SeriesKey::new("")
        .with_label("host", "web-1")
        .with_label("cpu", "cpu0")
        .labels;
    let key = |name: &str| SeriesKey {
        name: name.into(),
        labels: labels.clone(),
    };
    assert_eq!(
        batch.samples,
        vec![
            sample(key("cpu_usage_idle"), 1_700_000_000_000, 97.5),
            sample(key("cpu_usage_user"), 1_700_000_000_000, 2.0),
            sample(key("cpu_up"), 1_700_000_000_000, 1.0),
            sample(key("cpu_n"), 1_700_000_000_000, 3.0),
        ]
    );
}

#[test]
fn every_value_kind_is_understood() {
    let body =
        "m a=1,b=-1.5e3,c=+2.,d=-7i,e=18446744073709551615u,f=t,g=F,h=False,i=TRUE,j=\"text\"";
    let batch = parse(body);
    let values: Vec<(String, f64)> = batch
        .samples
        .iter()
        .map(|s| (s.key.name.clone(), s.value))
        .collect();
    let expected = [
        ("m_a", 1.0),
        ("m_b", -1500.0),
        ("m_c", 2.0),
        ("m_d", -7.0),
        ("m_e", 18_446_744_073_709_551_615.0),
        ("m_f", 1.0),
        ("m_g", 0.0),
        ("m_h", 0.0),
        ("m_i", 1.0),
    ];
    let expected: Vec<(String, f64)> = expected.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    assert_eq!(values, expected);
    assert_eq!(batch.ignored.get(IgnoreReason::StringField), 1);
}

#[test]
fn string_fields_are_skipped_and_counted_even_when_alone() {
    let batch = parse("log msg=\"disk \\\"full\\\", really\\\\\",level=\"warn\"\nlog n=1");
    assert_eq!(batch.samples.len(), 1);
    assert_eq!(batch.samples[0].key.name, "log_n");
    assert_eq!(batch.ignored.get(IgnoreReason::StringField), 2);
}

#[test]
fn escapes_in_measurement_tags_and_field_keys() {
    let batch =
        parse(r"disk\ io,path=C:\Program\ Files,dev\,ice=a\=b,raw=x\y read\ bytes=1,a\=b=2");
    let labels = SeriesKey::new("")
        .with_label("path", r"C:\Program Files")
        .with_label("dev_ice", "a=b")
        .with_label("raw", r"x\y")
        .labels;
    assert_eq!(
        batch.samples[0].key,
        SeriesKey {
            name: "disk_io_read_bytes".into(),
            labels: labels.clone()
        }
    );
    assert_eq!(
        batch.samples[1].key,
        SeriesKey {
            name: "disk_io_a_b".into(),
            labels
        }
    );
}

#[test]
fn equals_sign_in_measurement_is_literal_and_sanitised() {
    let batch = parse("a=b,t=1 v=1");
    assert_eq!(
        batch.samples[0].key,
        SeriesKey::new("a_b_v").with_label("t", "1")
    );
}

#[test]
fn precision_scales_timestamps_and_missing_timestamps_get_now() {
    let cases = [
        (
            Precision::Nanoseconds,
            "1700000000123456789",
            1_700_000_000_123,
        ),
        (
            Precision::Microseconds,
            "1700000000123456",
            1_700_000_000_123,
        ),
        (Precision::Milliseconds, "1700000000123", 1_700_000_000_123),
        (Precision::Seconds, "1700000000", 1_700_000_000_000),
        (Precision::Nanoseconds, "-1", -1),
    ];
    for (precision, timestamp, expected) in cases {
        let body = format!("m v=1 {timestamp}");
        let batch = parse_lines(body.as_bytes(), precision, NOW).unwrap();
        assert_eq!(
            batch.samples[0].timestamp_ms, expected,
            "{precision} {timestamp}"
        );
    }
    assert_eq!(parse("m v=1").samples[0].timestamp_ms, NOW);
    assert_eq!(parse("m v=1   ").samples[0].timestamp_ms, NOW);
}

#[test]
fn precision_parses_from_query_values() {
    assert_eq!("ns".parse(), Ok(Precision::Nanoseconds));
    assert_eq!("u".parse(), Ok(Precision::Microseconds));
    assert_eq!("ms".parse(), Ok(Precision::Milliseconds));
    assert_eq!("s".parse(), Ok(Precision::Seconds));
    let error = "h".parse::<Precision>().unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown precision \"h\" (expected ns, us, ms or s)"
    );
    assert_eq!(Precision::default(), Precision::Nanoseconds);
}

#[test]
fn blank_lines_comments_and_crlf_are_accepted() {
    let batch = parse("# a comment\n\n  m v=1 1000000\r\n   \n\t# indented comment\nm v=2\n");
    assert_eq!(batch.samples.len(), 2);
    assert_eq!(batch.samples[0].timestamp_ms, 1);
}

#[test]
fn tags_are_sanitised_and_name_tags_dropped() {
    let batch = parse("m,host.name=a,__name__=x,---=y v=1");
    assert_eq!(
        batch.samples[0].key,
        SeriesKey::new("m_v").with_label("host_name", "a")
    );
}

#[test]
fn unnameable_fields_are_rejected_per_sample() {
    let batch = parse("prometheus -=1,ok=2");
    assert_eq!(batch.samples.len(), 1);
    assert_eq!(batch.samples[0].key.name, "ok");
    assert_eq!(
        batch.rejected.counts.get(RejectReason::InvalidMetricName),
        1
    );
    assert!(batch.rejected.examples[0]
        .to_string()
        .starts_with("series prometheus_-: invalid metric name: nothing is left"));
}

#[test]
fn every_syntax_error_names_line_column_and_reason() {
    let cases = [
        ("cpu usage 1", "line 1: expected '=' after field key \"usage\" (column 10)"),
        (",t=1 v=1", "line 1: missing measurement name before ',' (column 1)"),
        ("m,=1 v=1", "line 1: empty tag key (column 3)"),
        ("m,t v=1", "line 1: expected '=' after tag key \"t\" (column 4)"),
        ("m,t= v=1", "line 1: missing value for tag \"t\" (column 5)"),
        ("m,t=1", "line 1: missing fields after measurement \"m\" (expected key=value) (column 6)"),
        ("m  ", "line 1: missing fields after measurement \"m\" (expected key=value) (column 4)"),
        ("m =1", "line 1: empty field key (column 3)"),
        ("m v=", "line 1: missing value for field \"v\" (column 5)"),
        ("m v=1,", "line 1: empty field key (column 7)"),
        ("m v=abc", "line 1: invalid value \"abc\" for field \"v\" (expected a number, an integer like 12i or 12u, true/false or a \"string\") (column 5)"),
        ("m v=NaN", "line 1: invalid value \"NaN\" for field \"v\" (expected a number, an integer like 12i or 12u, true/false or a \"string\") (column 5)"),
        ("m v=1.5i", "line 1: invalid value \"1.5i\" for field \"v\" (expected a number, an integer like 12i or 12u, true/false or a \"string\") (column 5)"),
        ("m v=-1u", "line 1: invalid value \"-1u\" for field \"v\" (expected a number, an integer like 12i or 12u, true/false or a \"string\") (column 5)"),
        ("m v=\"abc", "line 1: unterminated string value for field \"v\" (column 5)"),
        ("m v=\"a\"b", "line 1: expected ',' or ' ' after the value of field \"v\" (column 8)"),
        ("m v=1 12x", "line 1: invalid timestamp \"12x\" (expected an integer) (column 7)"),
        ("m v=1 12 13", "line 1: unexpected text after the timestamp (column 10)"),
        ("mé,t=1 é v=1", "line 1: expected '=' after field key \"é\" (column 9)"),
    ];
    for (body, expected) in cases {
        assert_eq!(error_messages(body), [expected], "{body}");
    }
}

#[test]
fn timestamp_overflow_is_a_line_error() {
    let body = format!("m v=1 {}", i64::MAX);
    let error = parse_lines(body.as_bytes(), Precision::Seconds, NOW).unwrap_err();
    assert_eq!(
        error.to_string(),
        "malformed line protocol: 1 error; line 1: timestamp 9223372036854775807 overflows when converted from s \
         to milliseconds (column 1)"
    );
}

#[test]
fn invalid_utf8_names_its_column() {
    let error = parse_lines(b"m v=1\nm\xff v=1", Precision::Nanoseconds, NOW).unwrap_err();
    assert_eq!(
        error.to_string(),
        "malformed line protocol: 1 error; line 2: invalid UTF-8 (column 2)"
    );
}

#[test]
fn one_bad_line_rejects_the_whole_request_listing_every_bad_line() {
    let mut body = String::from("good v=1\n");
    for _ in 0..12 {
        body.push_str("bad\n");
    }
    let error = parse_lines(body.as_bytes(), Precision::Nanoseconds, NOW).unwrap_err();
    assert_eq!(error.reason(), RejectReason::MalformedLine);
    let ProtocolError::MalformedLines { errors, total } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*total, 12);
    assert_eq!(errors.len(), crate::MAX_REPORTED_ERRORS);
    assert_eq!(errors[0].line, 2);
    assert_eq!(errors[9].line, 11);
    assert!(error.to_string().ends_with("; ... and 2 more"), "{error}");
}
