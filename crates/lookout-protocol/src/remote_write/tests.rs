use super::*;
use crate::RejectReason;

fn sample(key: SeriesKey, timestamp_ms: i64, value: f64) -> Sample {
    Sample {
        key,
        timestamp_ms,
        value,
    }
}

fn label(name: &str, value: &str) -> proto::Label {
    proto::Label {
        name: name.into(),
        value: value.into(),
    }
}

fn series(labels: Vec<proto::Label>, values: &[f64]) -> proto::TimeSeries {
    let samples = values
        .iter()
        .enumerate()
        .map(|(i, v)| proto::Sample {
            value: *v,
            timestamp: i as i64,
        })
        .collect();
    proto::TimeSeries {
        labels,
        samples,
        ..Default::default()
    }
}

#[test]
fn roundtrip_keeps_samples_in_order() {
    let cpu = SeriesKey::new("cpu")
        .with_label("host", "web-1")
        .with_label("Zone", "eu")
        .with_label("a", "1");
    let mem = SeriesKey::new("mem");
    let samples = vec![
        sample(cpu.clone(), 1_000, 0.5),
        sample(mem.clone(), 1_000, 42.0),
        sample(cpu.clone(), 2_000, -1.25e-9),
        sample(mem, 2_000, f64::MAX),
    ];
    let batch = decode_write_request(&encode_write_request(&samples)).unwrap();
    let mut expected = samples.clone();
    // Samples come back grouped per series, in order of first appearance.
    expected.swap(1, 2);
    assert_eq!(batch.samples, expected);
    assert!(batch.rejected.is_empty());
    assert_eq!(batch.ignored.total(), 0);
}

#[test]
fn encoded_labels_are_sorted_with_the_name() {
    let key = SeriesKey::new("cpu")
        .with_label("Zone", "eu")
        .with_label("host", "a");
    let names: Vec<String> = proto_labels(&key)
        .into_iter()
        .map(|label| label.name)
        .collect();
    assert_eq!(names, ["Zone", "__name__", "host"]);
}

#[test]
fn stale_markers_are_skipped_and_counted_but_other_nans_pass() {
    let stale = f64::from_bits(STALE_NAN_BITS);
    let request = proto::WriteRequest {
        timeseries: vec![series(
            vec![label("__name__", "up")],
            &[1.0, stale, f64::NAN, stale],
        )],
        metadata: vec![],
    };
    let batch = decode_write_request(&encode_raw_request(&request)).unwrap();
    assert_eq!(batch.ignored.get(IgnoreReason::StaleMarker), 2);
    assert_eq!(batch.samples.len(), 2);
    assert_eq!(batch.samples[0].value, 1.0);
    assert!(batch.samples[1].value.is_nan());
}

#[test]
fn exemplars_histograms_and_metadata_are_ignored_gracefully() {
    let mut with_extras = series(vec![label("__name__", "http_requests_total")], &[3.0]);
    with_extras.exemplars = vec![vec![0x0a, 0x00], vec![]];
    with_extras.histograms = vec![vec![0x08, 0x01]];
    let histogram_only = proto::TimeSeries {
        labels: vec![label("__name__", "latency")],
        histograms: vec![vec![]],
        ..Default::default()
    };
    let metadata = proto::MetricMetadata {
        r#type: 1,
        metric_family_name: "http_requests_total".into(),
        help: "Requests.".into(),
        unit: String::new(),
    };
    let request = proto::WriteRequest {
        timeseries: vec![with_extras, histogram_only],
        metadata: vec![metadata],
    };
    let batch = decode_write_request(&encode_raw_request(&request)).unwrap();
    assert_eq!(
        batch.samples,
        vec![sample(SeriesKey::new("http_requests_total"), 0, 3.0)]
    );
    assert_eq!(batch.ignored.get(IgnoreReason::Exemplar), 2);
    assert_eq!(batch.ignored.get(IgnoreReason::NativeHistogram), 2);
}

#[test]
fn empty_label_values_are_dropped() {
    let request = proto::WriteRequest {
        timeseries: vec![series(
            vec![label("__name__", "m"), label("a", ""), label("b", "x")],
            &[1.0],
        )],
        metadata: vec![],
    };
    let batch = decode_write_request(&encode_raw_request(&request)).unwrap();
    assert_eq!(
        batch.samples[0].key,
        SeriesKey::new("m").with_label("b", "x")
    );
}

#[test]
fn series_without_name_or_with_duplicate_labels_are_refused_with_their_samples() {
    let request = proto::WriteRequest {
        timeseries: vec![
            series(vec![label("job", "node")], &[1.0, 2.0]),
            series(
                vec![label("__name__", "m"), label("a", "1"), label("a", "2")],
                &[1.0],
            ),
            series(vec![label("__name__", "m"), label("__name__", "n")], &[1.0]),
            series(vec![label("__name__", "ok")], &[5.0]),
        ],
        metadata: vec![],
    };
    let batch = decode_write_request(&encode_raw_request(&request)).unwrap();
    assert_eq!(batch.samples, vec![sample(SeriesKey::new("ok"), 0, 5.0)]);
    assert_eq!(
        batch.rejected.counts.get(RejectReason::InvalidMetricName),
        2
    );
    assert_eq!(batch.rejected.counts.get(RejectReason::InvalidLabelName), 2);
    let messages: Vec<String> = batch
        .rejected
        .examples
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        messages,
        [
            "series {job=\"node\"}: invalid metric name: the series has no __name__ label",
            "series m{a=\"2\"}: label name \"a\" appears more than once",
            "series n: label name \"__name__\" appears more than once",
        ]
    );
}

#[test]
fn malformed_snappy_is_refused() {
    let error = decode_write_request(b"\x05\xff\xff garbage").unwrap_err();
    assert_eq!(error.reason(), RejectReason::MalformedSnappy);
    assert!(
        error.to_string().starts_with("malformed snappy block: "),
        "{error}"
    );
    let error = decode_write_request(b"").unwrap_err();
    assert_eq!(error.reason(), RejectReason::MalformedSnappy);
}

#[test]
fn malformed_protobuf_is_refused() {
    let body = snap::raw::Encoder::new()
        .compress_vec(b"\x0a\x05\x0a")
        .unwrap();
    let error = decode_write_request(&body).unwrap_err();
    assert_eq!(error.reason(), RejectReason::MalformedProtobuf);
    assert!(
        error
            .to_string()
            .starts_with("malformed protobuf WriteRequest: "),
        "{error}"
    );
}

#[test]
fn oversized_bodies_are_refused_before_decompressing() {
    let samples = vec![sample(
        SeriesKey::new("m").with_label("pad", "x".repeat(1000)),
        0,
        1.0,
    )];
    let body = encode_write_request(&samples);
    let error = decode_write_request_limited(&body, 100).unwrap_err();
    assert_eq!(error.reason(), RejectReason::BodyTooLarge);
    assert!(
        error
            .to_string()
            .ends_with("more than the limit of 100 bytes"),
        "{error}"
    );
}

#[test]
fn malformed_protobuf_errors_say_what_was_wrong() {
    let cases: [(&[u8], &str); 8] = [
        (b"\x0a\x05\x0a", "length 5 exceeds the remaining 1 bytes"),
        (b"\x0a", "truncated varint"),
        (
            b"\x08\x01",
            "WriteRequest.timeseries: invalid wire type 0 (expected 2)",
        ),
        (
            b"\x0a\x04\x0a\x02\x0a\x05",
            "length 5 exceeds the remaining 0 bytes",
        ),
        (b"\x0a\x05\x0a\x03\x0a\x01\xff", "Label.name: invalid UTF-8"),
        (
            b"\x0a\x04\x12\x02\x08\x01",
            "Sample.value: invalid wire type 0 (expected 1)",
        ),
        (b"\x07", "invalid wire type 7"),
        (b"\x00", "invalid field number 0"),
    ];
    for (raw, expected) in cases {
        let body = snap::raw::Encoder::new().compress_vec(raw).unwrap();
        let error = decode_write_request(&body).unwrap_err();
        assert_eq!(
            error,
            ProtocolError::MalformedProtobuf(expected.into()),
            "{raw:?}"
        );
    }
}

#[test]
fn unknown_fields_and_groups_are_skipped() {
    // field 5 varint, field 6 fixed32, field 7 fixed64, field 8 group holding field 1 varint,
    // then a series with only a name and a sample.
    let mut raw = vec![
        0x28, 0x01, 0x35, 0, 0, 0, 0, 0x39, 0, 0, 0, 0, 0, 0, 0, 0, 0x43, 0x08, 0x01, 0x44,
    ];
    let series = proto::TimeSeries {
        labels: vec![label("__name__", "m")],
        samples: vec![proto::Sample {
            value: 2.0,
            timestamp: -5,
        }],
        ..Default::default()
    };
    raw.extend(
        proto::WriteRequest {
            timeseries: vec![series],
            metadata: vec![],
        }
        .encode_to_vec(),
    );
    let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
    let batch = decode_write_request(&body).unwrap();
    assert_eq!(batch.samples, vec![sample(SeriesKey::new("m"), -5, 2.0)]);
}
