//! Partitions, subjects and the message format: pure functions, no I/O.
//!
//! A series belongs to partition `stable_hash(key) % partitions` (the model's
//! `SeriesKey::stable_hash`: the same on every node, build and platform), so all of a
//! series' samples travel on one subject, `<stream>.p.<partition>`, in one order, and
//! one node scores them. A message holds one request's samples of one partition:
//! a format byte, then the samples in bincode; parts larger than the server's
//! `max_payload` are split.

use lookout_model::Sample;

/// The format byte of a message (the first byte).
pub const FORMAT: u8 = 1;

/// Samples per message before the payload size is even looked at.
pub const MAX_SAMPLES_PER_MESSAGE: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("empty message")]
    Empty,
    #[error("message format {0} is not one this build reads (it reads {FORMAT})")]
    Format(u8),
    #[error("undecodable samples: {0}")]
    Body(String),
}

/// The partition of a sample's series.
pub fn partition_of(sample: &Sample, partitions: u32) -> u32 {
    (sample.key.stable_hash() % u64::from(partitions.max(1))) as u32
}

/// The subject one partition's messages are published on.
pub fn subject(stream: &str, partition: u32) -> String {
    format!("{stream}.p.{partition}")
}

/// The subjects of the whole stream.
pub fn stream_subjects(stream: &str) -> String {
    format!("{stream}.p.>")
}

/// Splits a validated request by partition, keeping each partition's samples in
/// request order; partitions in ascending order.
pub fn split(samples: Vec<Sample>, partitions: u32) -> Vec<(u32, Vec<Sample>)> {
    let mut parts: std::collections::BTreeMap<u32, Vec<Sample>> = Default::default();
    for sample in samples {
        parts
            .entry(partition_of(&sample, partitions))
            .or_default()
            .push(sample);
    }
    parts.into_iter().collect()
}

/// One partition's samples as messages of at most `max_payload` bytes (a message with
/// a single sample larger than that is still one message: the server refuses it and
/// the write fails as a whole).
pub fn encode(samples: &[Sample], max_payload: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for chunk in samples.chunks(MAX_SAMPLES_PER_MESSAGE) {
        encode_into(chunk, max_payload, &mut out);
    }
    out
}

fn encode_into(samples: &[Sample], max_payload: usize, out: &mut Vec<Vec<u8>>) {
    let mut message = vec![FORMAT];
    bincode::serialize_into(&mut message, samples).expect("samples serialise");
    if message.len() > max_payload && samples.len() > 1 {
        let (left, right) = samples.split_at(samples.len() / 2);
        encode_into(left, max_payload, out);
        encode_into(right, max_payload, out);
    } else {
        out.push(message);
    }
}

pub fn decode(message: &[u8]) -> Result<Vec<Sample>, DecodeError> {
    let (&format, body) = message.split_first().ok_or(DecodeError::Empty)?;
    if format != FORMAT {
        return Err(DecodeError::Format(format));
    }
    bincode::deserialize(body).map_err(|error| DecodeError::Body(error.to_string()))
}

#[cfg(test)]
mod tests {
    use lookout_model::SeriesKey;

    use super::*;

    fn sample(i: usize) -> Sample {
        Sample {
            key: SeriesKey::new("cpu").with_label("host", format!("h{i}")),
            timestamp_ms: 1_000 + i as i64,
            value: i as f64,
        }
    }

    #[test]
    fn a_series_always_lands_in_the_same_partition_and_order_is_kept() {
        let samples: Vec<Sample> = (0..200).map(|i| sample(i % 20)).collect();
        let parts = split(samples.clone(), 16);
        assert!(parts.len() > 1);
        let total: usize = parts.iter().map(|(_, part)| part.len()).sum();
        assert_eq!(total, 200);
        for (partition, part) in &parts {
            assert!(part.iter().all(|s| partition_of(s, 16) == *partition));
            let expected: Vec<&Sample> = samples
                .iter()
                .filter(|s| partition_of(s, 16) == *partition)
                .collect();
            assert_eq!(part.iter().collect::<Vec<_>>(), expected);
        }
        assert_eq!(subject("lookout", 3), "lookout.p.3");
    }

    #[test]
    fn messages_round_trip_and_respect_the_payload_limit() {
        let samples: Vec<Sample> = (0..5_000).map(sample).collect();
        let messages = encode(&samples, 64 * 1024);
        assert!(messages.iter().all(|m| m.len() <= 64 * 1024));
        let back: Vec<Sample> = messages.iter().flat_map(|m| decode(m).unwrap()).collect();
        assert_eq!(back, samples);
        assert!(matches!(decode(&[9, 0]), Err(DecodeError::Format(9))));
        assert!(matches!(decode(&[]), Err(DecodeError::Empty)));
    }
}
