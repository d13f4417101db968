//! Compact fixed-width encodings of sample rows, for the ingest log and sealed chunks.
//!
//! A row is `ts_ms` (i64), `value`, `score`, `lower`, `upper` (f64, NaN for "none") and a
//! flag byte (bit 0: anomaly), little endian: [`ROW_BYTES`] bytes. A log row is prefixed
//! with its series id (i64): [`LOG_ROW_BYTES`] bytes. Fixed width keeps encoding and
//! decoding a copy per field, with no allocation per row.

use lookout_model::SeriesId;

use crate::batch::SampleRow;
use crate::rows::HeadRow;
use crate::StoreError;

/// Bytes of one encoded row of a chunk.
pub(crate) const ROW_BYTES: usize = 8 * 5 + 1;
/// Bytes of one encoded row of the ingest log (series id + row).
pub(crate) const LOG_ROW_BYTES: usize = 8 + ROW_BYTES;

impl HeadRow {
    pub fn from_sample(row: &SampleRow) -> HeadRow {
        let (score, lower, upper, is_anomaly) = match &row.verdict {
            Some(verdict) => (
                verdict.score,
                verdict.lower,
                verdict.upper,
                verdict.is_anomaly,
            ),
            None => (f64::NAN, f64::NAN, f64::NAN, false),
        };
        HeadRow {
            ts_ms: row.ts_ms,
            value: row.value,
            score,
            lower,
            upper,
            is_anomaly,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ts_ms.to_le_bytes());
        for field in [self.value, self.score, self.lower, self.upper] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.push(u8::from(self.is_anomaly));
    }

    fn decode(bytes: &[u8]) -> HeadRow {
        let word = |at: usize| {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&bytes[at..at + 8]);
            raw
        };
        HeadRow {
            ts_ms: i64::from_le_bytes(word(0)),
            value: f64::from_le_bytes(word(8)),
            score: f64::from_le_bytes(word(16)),
            lower: f64::from_le_bytes(word(24)),
            upper: f64::from_le_bytes(word(32)),
            is_anomaly: bytes[40] & 1 == 1,
        }
    }
}

/// Appends the rows of one series' chunk.
pub(crate) fn encode_chunk(rows: &[HeadRow], out: &mut Vec<u8>) {
    out.reserve(rows.len() * ROW_BYTES);
    for row in rows {
        row.encode(out);
    }
}

/// The rows of a chunk; `what` names it in the error if the blob is damaged.
pub(crate) fn decode_chunk(
    bytes: &[u8],
    what: impl FnOnce() -> String,
) -> Result<impl Iterator<Item = HeadRow> + '_, StoreError> {
    if !bytes.len().is_multiple_of(ROW_BYTES) {
        return Err(StoreError::Corrupt {
            what: what(),
            reason: format!(
                "{} bytes is not a whole number of {ROW_BYTES}-byte rows",
                bytes.len()
            ),
        });
    }
    Ok(bytes.chunks_exact(ROW_BYTES).map(HeadRow::decode))
}

/// Appends one log row.
pub(crate) fn encode_log_row(series: SeriesId, row: &HeadRow, out: &mut Vec<u8>) {
    out.extend_from_slice(&series.0.to_le_bytes());
    row.encode(out);
}

/// The rows of one ingest log entry.
pub(crate) fn decode_log(
    bytes: &[u8],
    entry: i64,
) -> Result<impl Iterator<Item = (SeriesId, HeadRow)> + '_, StoreError> {
    if !bytes.len().is_multiple_of(LOG_ROW_BYTES) {
        return Err(StoreError::Corrupt {
            what: format!("ingest log entry {entry}"),
            reason: format!(
                "{} bytes is not a whole number of {LOG_ROW_BYTES}-byte rows",
                bytes.len()
            ),
        });
    }
    Ok(bytes.chunks_exact(LOG_ROW_BYTES).map(|raw| {
        let mut id = [0u8; 8];
        id.copy_from_slice(&raw[..8]);
        (SeriesId(i64::from_le_bytes(id)), HeadRow::decode(&raw[8..]))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn float() -> impl Strategy<Value = f64> {
        prop_oneof![Just(f64::NAN), -1e12f64..1e12]
    }

    fn same(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a == b
    }

    proptest! {
        /// Encoding then decoding gives every row back, NaN included, in order.
        #[test]
        fn rows_round_trip(
            rows in proptest::collection::vec(
                (any::<i64>(), float(), float(), float(), float(), any::<bool>(), any::<i64>()),
                0..50,
            )
        ) {
            let rows: Vec<(SeriesId, HeadRow)> = rows
                .into_iter()
                .map(|(ts_ms, value, score, lower, upper, is_anomaly, id)| {
                    (SeriesId(id), HeadRow { ts_ms, value, score, lower, upper, is_anomaly })
                })
                .collect();
            let mut chunk = Vec::new();
            let mut log = Vec::new();
            for (id, row) in &rows {
                encode_chunk(std::slice::from_ref(row), &mut chunk);
                encode_log_row(*id, row, &mut log);
            }
            let from_chunk: Vec<HeadRow> = decode_chunk(&chunk, String::new).unwrap().collect();
            let from_log: Vec<(SeriesId, HeadRow)> = decode_log(&log, 1).unwrap().collect();
            prop_assert_eq!(from_chunk.len(), rows.len());
            for ((id, row), (chunk_row, (log_id, log_row))) in
                rows.iter().zip(from_chunk.iter().zip(&from_log))
            {
                prop_assert_eq!(id, log_id);
                for decoded in [chunk_row, log_row] {
                    prop_assert_eq!(decoded.ts_ms, row.ts_ms);
                    prop_assert_eq!(decoded.is_anomaly, row.is_anomaly);
                    prop_assert!(same(decoded.value, row.value));
                    prop_assert!(same(decoded.score, row.score));
                    prop_assert!(same(decoded.lower, row.lower));
                    prop_assert!(same(decoded.upper, row.upper));
                }
            }
        }
    }

    #[test]
    fn a_damaged_blob_is_named() {
        let error = decode_chunk(&[0u8; 7], || "chunk (3, 9)".to_string())
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("chunk (3, 9)") && error.contains("7 bytes"),
            "{error}"
        );
        let error = decode_log(&[0u8; 50], 4).err().unwrap().to_string();
        assert!(error.contains("ingest log entry 4"), "{error}");
    }
}
