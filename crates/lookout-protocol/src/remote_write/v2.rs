//! Prometheus Remote Write 2.0: a snappy block holding an
//! `io.prometheus.write.v2.Request`, whose strings are interned in one `symbols` table
//! and referenced by index (`labels_refs` are name/value index pairs).
//!
//! Senders choose it with `Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request`
//! ([`MessageKind::from_content_type`]). Samples become lookout samples exactly as in
//! 1.0 (the same `__name__`, empty-value, duplicate-label and staleness rules). Native
//! histograms and exemplars are counted ([`Counts`]), not stored: the receiver tells the
//! sender through the `X-Prometheus-Remote-Write-*-Written` headers what it wrote, and
//! a request with histograms is a partial write (the HTTP layer answers 400 naming
//! them). Metadata and created timestamps are read past.
//!
//! A label reference outside the symbols table, or an odd number of references,
//! refuses that series with its samples (counted in [`Batch::rejected`]); a body that is
//! not snappy or protobuf refuses the whole request.

use prost::Message;

use super::{push_samples, series_key, DEFAULT_MAX_DECOMPRESSED_BYTES};
use crate::batch::{Batch, IgnoreReason};
use crate::error::ProtocolError;

/// The `proto` parameter value naming the 2.0 message.
pub const V2_PROTO: &str = "io.prometheus.write.v2.Request";
/// The `proto` parameter value naming the 1.0 message.
pub const V1_PROTO: &str = "prometheus.WriteRequest";

/// Which message a remote write body holds, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    V1,
    V2,
}

impl MessageKind {
    /// Absent, `application/x-protobuf` and `proto=prometheus.WriteRequest` are 1.0;
    /// `proto=io.prometheus.write.v2.Request` is 2.0; anything else is unsupported
    /// (the spec's 415, so that a 2.0 sender can fall back).
    pub fn from_content_type(value: Option<&str>) -> Result<MessageKind, ProtocolError> {
        let Some(raw) = value else {
            return Ok(MessageKind::V1);
        };
        let unsupported = || ProtocolError::UnsupportedMediaType {
            header: "Content-Type",
            value: raw.to_owned(),
            accepted: "accepted: application/x-protobuf with proto=prometheus.WriteRequest \
                       or proto=io.prometheus.write.v2.Request",
        };
        let mut parts = raw.split(';').map(str::trim);
        let media_type = parts.next().unwrap_or("");
        if !media_type.eq_ignore_ascii_case("application/x-protobuf") {
            return Err(unsupported());
        }
        let mut kind = MessageKind::V1;
        for parameter in parts {
            let Some((name, value)) = parameter.split_once('=') else {
                continue;
            };
            if !name.trim().eq_ignore_ascii_case("proto") {
                continue;
            }
            kind = match value.trim().trim_matches('"') {
                V1_PROTO => MessageKind::V1,
                V2_PROTO => MessageKind::V2,
                _ => return Err(unsupported()),
            };
        }
        Ok(kind)
    }
}

/// What a 2.0 request held besides float samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub histograms: u64,
    pub exemplars: u64,
}

/// Protobuf messages of `io.prometheus.write.v2.Request`, written by hand (field
/// numbers as in Prometheus' `prompb/io/prometheus/write/v2/types.proto`).
pub mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Request {
        #[prost(string, repeated, tag = "4")]
        pub symbols: Vec<String>,
        #[prost(message, repeated, tag = "5")]
        pub timeseries: Vec<TimeSeries>,
    }

    /// Histograms and exemplars stay raw: lookout only counts them.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        #[prost(uint32, repeated, tag = "1")]
        pub labels_refs: Vec<u32>,
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<super::super::proto::Sample>,
        #[prost(bytes = "vec", repeated, tag = "3")]
        pub histograms: Vec<Vec<u8>>,
        #[prost(bytes = "vec", repeated, tag = "4")]
        pub exemplars: Vec<Vec<u8>>,
        #[prost(int64, tag = "6")]
        pub created_timestamp: i64,
    }
}

/// Decodes a 2.0 body with the default size limit.
pub fn decode_v2_request(body: &[u8]) -> Result<(Batch, Counts), ProtocolError> {
    decode_v2_request_limited(body, DEFAULT_MAX_DECOMPRESSED_BYTES)
}

/// Decodes a 2.0 body whose decompressed size must not exceed `max_decompressed`.
pub fn decode_v2_request_limited(
    body: &[u8],
    max_decompressed: usize,
) -> Result<(Batch, Counts), ProtocolError> {
    let raw = super::decompress_limited(body, max_decompressed)?;
    let request = proto::Request::decode(raw.as_slice())
        .map_err(|error| ProtocolError::MalformedProtobuf(format!("v2 Request: {error}")))?;
    Ok(request_to_batch(&request))
}

/// Turns a decoded 2.0 request into samples and counts.
pub fn request_to_batch(request: &proto::Request) -> (Batch, Counts) {
    let mut batch = Batch::default();
    let mut counts = Counts::default();
    for series in &request.timeseries {
        counts.histograms += series.histograms.len() as u64;
        counts.exemplars += series.exemplars.len() as u64;
        batch.ignored.add(
            IgnoreReason::NativeHistogram,
            series.histograms.len() as u64,
        );
        batch
            .ignored
            .add(IgnoreReason::Exemplar, series.exemplars.len() as u64);
        if series.samples.is_empty() {
            continue;
        }
        let key = resolve_labels(&request.symbols, &series.labels_refs)
            .and_then(|labels| series_key(labels.into_iter()));
        match key {
            Ok(key) => push_samples(&mut batch, key, &series.samples),
            Err(error) => batch.rejected.push(error, series.samples.len() as u64),
        }
    }
    (batch, counts)
}

fn resolve_labels<'a>(
    symbols: &'a [String],
    refs: &[u32],
) -> Result<Vec<(&'a str, &'a str)>, ProtocolError> {
    let symbol = |index: u32| symbols.get(index as usize).map(String::as_str);
    let invalid = |reason: &'static str| ProtocolError::InvalidLabelName {
        series: format!("(labels_refs {refs:?})"),
        label: String::new(),
        reason,
    };
    if !refs.len().is_multiple_of(2) {
        return Err(invalid("list is odd: labels_refs must be name/value pairs"));
    }
    refs.chunks_exact(2)
        .map(|pair| match (symbol(pair[0]), symbol(pair[1])) {
            (Some(name), Some(value)) => Ok((name, value)),
            _ => Err(invalid("refers outside the symbols table")),
        })
        .collect()
}

/// Encodes samples as a snappy-compressed 2.0 request (for tests and load tools).
pub fn encode_v2_request(samples: &[lookout_model::Sample]) -> Vec<u8> {
    let mut request = proto::Request {
        symbols: vec![String::new()],
        timeseries: Vec::new(),
    };
    let mut symbol_index = std::collections::HashMap::<String, u32>::new();
    let mut intern = |text: &str, symbols: &mut Vec<String>| -> u32 {
        *symbol_index.entry(text.to_owned()).or_insert_with(|| {
            symbols.push(text.to_owned());
            (symbols.len() - 1) as u32
        })
    };
    for sample in samples {
        let mut labels: Vec<(&str, &str)> = vec![(super::METRIC_NAME_LABEL, &sample.key.name)];
        labels.extend(
            sample
                .key
                .labels
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str())),
        );
        labels.sort();
        let mut labels_refs = Vec::with_capacity(labels.len() * 2);
        for (name, value) in labels {
            labels_refs.push(intern(name, &mut request.symbols));
            labels_refs.push(intern(value, &mut request.symbols));
        }
        request.timeseries.push(proto::TimeSeries {
            labels_refs,
            samples: vec![super::proto::Sample {
                value: sample.value,
                timestamp: sample.timestamp_ms,
            }],
            ..Default::default()
        });
    }
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .expect("snappy compresses any input below 4 GiB")
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_model::{Sample, SeriesKey};

    #[test]
    fn content_types_select_the_message() {
        let kind = MessageKind::from_content_type;
        assert_eq!(kind(None).unwrap(), MessageKind::V1);
        assert_eq!(
            kind(Some("application/x-protobuf")).unwrap(),
            MessageKind::V1
        );
        assert_eq!(
            kind(Some("application/x-protobuf;proto=prometheus.WriteRequest")).unwrap(),
            MessageKind::V1
        );
        assert_eq!(
            kind(Some(
                "application/x-protobuf; proto=io.prometheus.write.v2.Request"
            ))
            .unwrap(),
            MessageKind::V2
        );
        for refused in [
            "application/json",
            "application/x-protobuf;proto=other.Message",
        ] {
            let error = kind(Some(refused)).unwrap_err();
            assert_eq!(error.reason(), crate::RejectReason::UnsupportedMediaType);
        }
    }

    #[test]
    fn samples_round_trip_through_symbols() {
        let samples = vec![
            Sample {
                key: SeriesKey::new("up")
                    .with_label("job", "node")
                    .with_label("instance", "a"),
                timestamp_ms: 1_700_000_000_000,
                value: 1.0,
            },
            Sample {
                key: SeriesKey::new("up")
                    .with_label("job", "node")
                    .with_label("instance", "b"),
                timestamp_ms: 1_700_000_000_000,
                value: 0.0,
            },
        ];
        let (batch, counts) = decode_v2_request(&encode_v2_request(&samples)).unwrap();
        assert_eq!(batch.samples, samples);
        assert_eq!(counts, Counts::default());
        assert_eq!(batch.rejected.total(), 0);
    }

    #[test]
    fn bad_references_refuse_their_series_only() {
        let good = proto::TimeSeries {
            labels_refs: vec![1, 2],
            samples: vec![crate::remote_write::proto::Sample {
                value: 1.0,
                timestamp: 5,
            }],
            ..Default::default()
        };
        let request = proto::Request {
            symbols: vec!["".into(), "__name__".into(), "up".into()],
            timeseries: vec![
                good.clone(),
                proto::TimeSeries {
                    labels_refs: vec![1, 9],
                    ..good.clone()
                },
                proto::TimeSeries {
                    labels_refs: vec![1],
                    ..good.clone()
                },
                proto::TimeSeries {
                    histograms: vec![vec![]],
                    exemplars: vec![vec![]],
                    ..good
                },
            ],
        };
        let (batch, counts) = request_to_batch(&request);
        assert_eq!(batch.samples.len(), 2);
        assert_eq!(batch.rejected.total(), 2);
        assert_eq!(
            counts,
            Counts {
                histograms: 1,
                exemplars: 1
            }
        );
    }

    /// Regression: a 2.0 body read as 1.0 decoded to nothing and was acknowledged.
    #[test]
    fn a_v2_body_is_not_mistaken_for_an_empty_v1_request() {
        let samples = vec![Sample {
            key: SeriesKey::new("up"),
            timestamp_ms: 1_700_000_000_000,
            value: 1.0,
        }];
        let body = encode_v2_request(&samples);
        let as_v1 = crate::remote_write::decode_write_request(&body).unwrap();
        assert!(as_v1.samples.is_empty(), "1.0 reads past fields 4 and 5");
        let (as_v2, _) = decode_v2_request(&body).unwrap();
        assert_eq!(as_v2.samples.len(), 1);
    }
}
