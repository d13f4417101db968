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
    let raw = decompress_limited(body, max_decompressed)?;
    let mut batch = Batch::default();
    wire::decode_into(&raw, &mut batch).map_err(ProtocolError::MalformedProtobuf)?;
    Ok(batch)
}

/// The snappy block of a remote write body (1.0 or 2.0), refused before it is
/// decompressed when its declared size is over `max_decompressed`.
pub(super) fn decompress_limited(
    body: &[u8],
    max_decompressed: usize,
) -> Result<Vec<u8>, ProtocolError> {
    let declared = snap::raw::decompress_len(body)
        .map_err(|error| ProtocolError::MalformedSnappy(error.to_string()))?;
    if declared > max_decompressed {
        return Err(ProtocolError::BodyTooLarge {
            declared,
            limit: max_decompressed,
        });
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|error| ProtocolError::MalformedSnappy(error.to_string()))
}

/// Turns a request decoded with prost into samples, counting what is skipped or refused.
/// [`decode_write_request`] gives the same result without the intermediate messages.
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
        let labels = series.labels.iter();
        let key = match series_key(labels.map(|label| (label.name.as_str(), label.value.as_str())))
        {
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

pub(super) fn push_samples(batch: &mut Batch, key: SeriesKey, samples: &[proto::Sample]) {
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

pub(super) fn series_key<'a>(
    labels: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<SeriesKey, ProtocolError> {
    let mut name = None;
    let mut map = Labels::new();
    let mut duplicate = None;
    for (label, value) in labels {
        if label == METRIC_NAME_LABEL {
            if name.replace(value).is_some() {
                duplicate.get_or_insert(label);
            }
            continue;
        }
        if value.is_empty() {
            continue;
        }
        match map.entry(label.to_string()) {
            Entry::Vacant(entry) => {
                entry.insert(value.to_string());
            }
            Entry::Occupied(mut entry) => {
                duplicate.get_or_insert(label);
                entry.insert(value.to_string());
            }
        }
    }
    let name = name.unwrap_or_default().to_string();
    if let Some(label) = duplicate {
        let label = label.to_string();
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

pub mod v2;
mod wire;

#[cfg(test)]
mod tests;
