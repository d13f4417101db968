//! Properties across encoders and parsers: what one side writes, the other reads back unchanged.

use std::collections::BTreeMap;

use lookout_model::{Sample, SeriesKey};
use lookout_protocol::exposition::{parse_exposition, ExpositionWriter, MetricType};
use lookout_protocol::influx::{parse_lines, Precision};
use lookout_protocol::remote_write::{decode_write_request, encode_write_request};
use lookout_protocol::selector::{parse_selector, MatchOp, Matcher, Selector};
use proptest::prelude::*;

fn metric_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}"
}

fn label_name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_]{0,8}"
}

fn key() -> impl Strategy<Value = SeriesKey> {
    (
        metric_name(),
        proptest::collection::btree_map(label_name(), ".{1,12}", 0..4),
    )
        .prop_map(|(name, labels)| SeriesKey { name, labels })
}

fn finite() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite", |v| v.is_finite())
}

proptest! {
    #[test]
    fn remote_write_roundtrips_grouped_by_series(
        samples in proptest::collection::vec((key(), any::<i64>(), finite()), 0..20)
    ) {
        let samples: Vec<Sample> = samples.into_iter().map(|(key, timestamp_ms, value)| Sample { key, timestamp_ms, value }).collect();
        let batch = decode_write_request(&encode_write_request(&samples)).unwrap();
        // Expected: samples grouped per key in order of first appearance, order kept inside a key.
        let mut order: Vec<&SeriesKey> = Vec::new();
        let mut groups: BTreeMap<&SeriesKey, Vec<&Sample>> = BTreeMap::new();
        for sample in &samples {
            if !groups.contains_key(&sample.key) {
                order.push(&sample.key);
            }
            groups.entry(&sample.key).or_default().push(sample);
        }
        let expected: Vec<Sample> = order.iter().flat_map(|key| groups[key].iter().map(|s| (*s).clone())).collect();
        prop_assert_eq!(batch.samples, expected);
        prop_assert!(batch.rejected.is_empty());
    }

    #[test]
    fn exposition_writer_output_parses_back(
        series in proptest::collection::btree_map(key(), (finite(), proptest::option::of(any::<i64>())), 1..10),
        help in "([^ \t\r\n][^\r\n]{0,29})?",
    ) {
        let mut writer = ExpositionWriter::new();
        writer.family("lookout_family", &help, MetricType::Gauge);
        let family_key = |key: &SeriesKey| SeriesKey { name: "lookout_family".into(), labels: key.labels.clone() };
        let mut seen = std::collections::BTreeSet::new();
        let mut expected = Vec::new();
        for (key, (value, timestamp_ms)) in &series {
            let key = family_key(key);
            if !seen.insert(key.clone()) {
                continue;
            }
            writer.series(&key, *value, *timestamp_ms);
            expected.push(Sample { key, timestamp_ms: timestamp_ms.unwrap_or(7), value: *value });
        }
        let exposition = parse_exposition(writer.as_str().as_bytes(), 7).unwrap();
        prop_assert_eq!(exposition.families.len(), 1);
        prop_assert_eq!(exposition.families[0].help.as_deref(), Some(help.as_str()));
        prop_assert_eq!(&exposition.families[0].samples, &expected);
    }

    #[test]
    fn influx_escaped_tags_parse_back(
        value in "[^\n\\\\]{1,16}".prop_filter("not only spaces", |v| !v.trim().is_empty() && !v.ends_with('\\')),
        number in finite(),
        timestamp in any::<i64>(),
    ) {
        let escaped: String = value.chars().flat_map(|c| match c {
            ',' | ' ' | '=' => vec!['\\', c],
            other => vec![other],
        }).collect();
        let line = format!("m,t={escaped} v={number:?} {timestamp}");
        let batch = parse_lines(line.as_bytes(), Precision::Milliseconds, 0).unwrap();
        prop_assert_eq!(batch.samples.len(), 1);
        prop_assert_eq!(&batch.samples[0].key, &SeriesKey::new("m_v").with_label("t", value));
        prop_assert_eq!(batch.samples[0].value, number);
        prop_assert_eq!(batch.samples[0].timestamp_ms, timestamp);
    }

    #[test]
    fn selector_display_parses_back(name in metric_name(), label in label_name(), value in ".{0,12}", op in 0..2usize) {
        let op = [MatchOp::Equal, MatchOp::NotEqual][op];
        let selector = Selector::new(vec![
            Matcher::new("__name__", MatchOp::Equal, name).unwrap(),
            Matcher::new(label, op, value).unwrap(),
        ]).unwrap();
        prop_assert_eq!(parse_selector(&selector.to_string()).unwrap(), selector);
    }
}

mod prost_equivalence {
    use lookout_protocol::remote_write::{
        decode_write_request, encode_raw_request, proto, write_request_to_batch,
    };
    use proptest::prelude::*;
    use prost::Message;

    fn label() -> impl Strategy<Value = proto::Label> {
        (
            prop_oneof![Just("__name__".to_string()), "[a-c]{0,2}"],
            "[x-z]{0,2}",
        )
            .prop_map(|(name, value)| proto::Label { name, value })
    }

    fn series() -> impl Strategy<Value = proto::TimeSeries> {
        let value = prop_oneof![
            any::<f64>(),
            Just(f64::from_bits(
                lookout_protocol::remote_write::STALE_NAN_BITS
            ))
        ];
        (
            proptest::collection::vec(label(), 0..5),
            proptest::collection::vec((value, any::<i64>()), 0..4),
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..4), 0..2),
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..4), 0..2),
        )
            .prop_map(
                |(labels, samples, exemplars, histograms)| proto::TimeSeries {
                    labels,
                    samples: samples
                        .into_iter()
                        .map(|(value, timestamp)| proto::Sample { value, timestamp })
                        .collect(),
                    exemplars,
                    histograms,
                },
            )
    }

    proptest! {
        /// The borrowing decoder and prost agree on every well-formed request.
        #[test]
        fn wire_decoder_matches_prost(timeseries in proptest::collection::vec(series(), 0..6)) {
            let request = proto::WriteRequest { timeseries, metadata: vec![] };
            // Both decoders read the same bytes (prost does not encode -0.0, a proto3 default).
            let reread = proto::WriteRequest::decode(request.encode_to_vec().as_slice()).unwrap();
            let expected = write_request_to_batch(reread);
            let actual = decode_write_request(&encode_raw_request(&request)).unwrap();
            // NaN != NaN: compare bit patterns through Debug.
            prop_assert_eq!(format!("{actual:?}"), format!("{expected:?}"));
        }

        /// Whatever prost accepts, the borrowing decoder accepts with the same result.
        #[test]
        fn wire_decoder_accepts_what_prost_accepts(raw in proptest::collection::vec(any::<u8>(), 0..128)) {
            if let Ok(request) = proto::WriteRequest::decode(raw.as_slice()) {
                let expected = write_request_to_batch(request);
                let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
                let actual = decode_write_request(&body).unwrap();
                prop_assert_eq!(format!("{actual:?}"), format!("{expected:?}"));
            }
        }
    }
}
