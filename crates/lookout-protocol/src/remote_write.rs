//! Prometheus remote write 1.0: a snappy block (not framed) holding a protobuf
//! `prometheus.WriteRequest`.
//!
//! Each time series' `__name__` label becomes the metric name and the other labels the
//! series' labels; labels with an empty value are dropped (Prometheus treats an empty
//! value as an absent label). Exemplars and native histograms are skipped and counted
//! ([`IgnoreReason::Exemplar`], [`IgnoreReason::NativeHistogram`]); metadata is not
//! needed to ingest samples and is ignored (decode [`proto::WriteRequest`] yourself to
//! read it). Prometheus' staleness marker, the NaN with bits `0x7ff0000000000002`, says
//! "this series is gone", not "this value is NaN": it is skipped and counted as
//! [`IgnoreReason::StaleMarker`]. Any other NaN is passed through for
//! [`crate::SampleLimits`] to refuse as a non-finite value.
//!
//! A series without `__name__`, or with the same label name twice, is refused with its
//! samples (counted in [`Batch::rejected`]); a body that is not valid snappy or protobuf
//! refuses the whole request.

use std::collections::btree_map::Entry;
use std::collections::HashMap;

use lookout_model::{Labels, Sample, SeriesKey};
use prost::Message;

use crate::batch::{Batch, IgnoreReason};
use crate::error::ProtocolError;

/// The bit pattern Prometheus writes as a value to mark a series stale.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Largest decompressed body [`decode_write_request`] accepts: 32 MiB.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 32 << 20;

/// Label that carries the metric name.
pub const METRIC_NAME_LABEL: &str = "__name__";

/// Protobuf messages of `prometheus.WriteRequest` (remote write 1.0), written by hand.
pub mod proto {
    /// The request body.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteRequest {
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<TimeSeries>,
        #[prost(message, repeated, tag = "3")]
        pub metadata: Vec<MetricMetadata>,
    }

    /// One series and its samples. Exemplars and histograms are kept as raw encoded
    /// messages: lookout only counts them.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
        #[prost(bytes = "vec", repeated, tag = "3")]
        pub exemplars: Vec<Vec<u8>>,
        #[prost(bytes = "vec", repeated, tag = "4")]
        pub histograms: Vec<Vec<u8>>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub value: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        #[prost(double, tag = "1")]
        pub value: f64,
        /// Milliseconds since the Unix epoch.
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
    }

    /// Metric family metadata; `type` is 0 unknown, 1 counter, 2 gauge, 3 histogram,
    /// 4 gauge histogram, 5 summary, 6 info, 7 stateset.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MetricMetadata {
        #[prost(int32, tag = "1")]
        pub r#type: i32,
        #[prost(string, tag = "2")]
        pub metric_family_name: String,
        #[prost(string, tag = "4")]
        pub help: String,
        #[prost(string, tag = "5")]
        pub unit: String,
    }
}

/// Decodes a remote write body with the default size limit.
pub fn decode_write_request(body: &[u8]) -> Result<Batch, ProtocolError> {
    decode_write_request_limited(body, DEFAULT_MAX_DECOMPRESSED_BYTES)
}

/// Decodes a remote write body whose decompressed size must not exceed `max_decompressed`.
pub fn decode_write_request_limited(
    body: &[u8],
    max_decompressed: usize,
) -> Result<Batch, ProtocolError> {
    let declared = snap::raw::decompress_len(body)
        .map_err(|error| ProtocolError::MalformedSnappy(error.to_string()))?;
    if declared > max_decompressed {
        return Err(ProtocolError::BodyTooLarge {
            declared,
            limit: max_decompressed,
        });
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|error| ProtocolError::MalformedSnappy(error.to_string()))?;
    let request = proto::WriteRequest::decode(raw.as_slice())
        .map_err(|error| ProtocolError::MalformedProtobuf(error.to_string()))?;
    Ok(write_request_to_batch(request))
}

/// Turns a decoded request into samples, counting what is skipped or refused.
pub fn write_request_to_batch(request: proto::WriteRequest) -> Batch {
    let mut batch = Batch::default();
    batch.samples.reserve(
        request
            .timeseries
            .iter()
            .map(|series| series.samples.len())
            .sum(),
    );
    for series in request.timeseries {
        batch
            .ignored
            .add(IgnoreReason::Exemplar, series.exemplars.len() as u64);
        batch.ignored.add(
            IgnoreReason::NativeHistogram,
            series.histograms.len() as u64,
        );
        if series.samples.is_empty() {
            continue;
        }
        let key = match series_key(series.labels) {
            Ok(key) => key,
            Err(error) => {
                batch.rejected.push(error, series.samples.len() as u64);
                continue;
            }
        };
        push_samples(&mut batch, key, &series.samples);
    }
    batch
}

fn push_samples(batch: &mut Batch, key: SeriesKey, samples: &[proto::Sample]) {
    let stale = samples
        .iter()
        .filter(|sample| sample.value.to_bits() == STALE_NAN_BITS)
        .count();
    batch.ignored.add(IgnoreReason::StaleMarker, stale as u64);
    let mut remaining = samples.len() - stale;
    let mut key = Some(key);
    for sample in samples
        .iter()
        .filter(|sample| sample.value.to_bits() != STALE_NAN_BITS)
    {
        remaining -= 1;
        // The last sample takes the key itself; earlier ones take clones.
        let key = if remaining == 0 {
            key.take()
        } else {
            key.clone()
        };
        let Some(key) = key else { break };
        batch.samples.push(Sample {
            key,
            timestamp_ms: sample.timestamp,
            value: sample.value,
        });
    }
}

fn series_key(labels: Vec<proto::Label>) -> Result<SeriesKey, ProtocolError> {
    let mut name = None;
    let mut map = Labels::new();
    let mut duplicate = None;
    for label in labels {
        if label.name == METRIC_NAME_LABEL {
            if name.replace(label.value).is_some() {
                duplicate = Some(label.name);
            }
            continue;
        }
        if label.value.is_empty() {
            continue;
        }
        match map.entry(label.name) {
            Entry::Vacant(entry) => {
                entry.insert(label.value);
            }
            Entry::Occupied(mut entry) => {
                duplicate.get_or_insert_with(|| entry.key().clone());
                entry.insert(label.value);
            }
        }
    }
    let name = name.unwrap_or_default();
    if let Some(label) = duplicate {
        let key = SeriesKey { name, labels: map };
        return Err(ProtocolError::InvalidLabelName {
            series: key.to_string(),
            label,
            reason: "appears more than once",
        });
    }
    if name.is_empty() {
        let key = SeriesKey { name, labels: map };
        return Err(ProtocolError::InvalidMetricName {
            series: key.to_string(),
            reason: "the series has no __name__ label".into(),
        });
    }
    Ok(SeriesKey { name, labels: map })
}

/// Encodes samples as a snappy-compressed `WriteRequest`, one time series per distinct
/// key (in order of first appearance), labels sorted by name with `__name__` among them.
pub fn encode_write_request(samples: &[Sample]) -> Vec<u8> {
    let mut index_of: HashMap<&SeriesKey, usize> = HashMap::new();
    let mut request = proto::WriteRequest::default();
    for sample in samples {
        let index = *index_of.entry(&sample.key).or_insert_with(|| {
            request.timeseries.push(proto::TimeSeries {
                labels: proto_labels(&sample.key),
                ..Default::default()
            });
            request.timeseries.len() - 1
        });
        request.timeseries[index].samples.push(proto::Sample {
            value: sample.value,
            timestamp: sample.timestamp_ms,
        });
    }
    encode_raw_request(&request)
}

/// Snappy-compresses an already built request (for tests that need unusual content).
pub fn encode_raw_request(request: &proto::WriteRequest) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .expect("snappy compresses any input below 4 GiB")
}

fn proto_labels(key: &SeriesKey) -> Vec<proto::Label> {
    let mut labels = Vec::with_capacity(key.labels.len() + 1);
    let name_label = || proto::Label {
        name: METRIC_NAME_LABEL.into(),
        value: key.name.clone(),
    };
    let mut name_pushed = false;
    for (name, value) in &key.labels {
        if !name_pushed && name.as_str() > METRIC_NAME_LABEL {
            labels.push(name_label());
            name_pushed = true;
        }
        labels.push(proto::Label {
            name: name.clone(),
            value: value.clone(),
        });
    }
    if !name_pushed {
        labels.push(name_label());
    }
    labels
}

#[cfg(test)]
mod tests {
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
}
