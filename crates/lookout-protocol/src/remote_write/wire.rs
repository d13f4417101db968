//! A borrowing protobuf reader for `WriteRequest`: label names and values are read as
//! `&str` slices of the decompressed body and copied once, straight into the series key,
//! instead of through prost's intermediate `Vec<TimeSeries>` of owned labels. It accepts
//! exactly what the prost messages in [`super::proto`] accept (a property test checks it).

use super::proto;
use super::{push_samples, series_key};
use crate::batch::{Batch, IgnoreReason};

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LENGTH_DELIMITED: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
const FIXED32: u8 = 5;

/// Nesting depth of groups at which decoding gives up (prost's limit too).
const RECURSION_LIMIT: u32 = 100;

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for (index, byte) in self.buf.iter().enumerate().take(10) {
            if index == 9 && *byte > 1 {
                return Err("varint overflows 64 bits".into());
            }
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                self.buf = &self.buf[index + 1..];
                return Ok(value);
            }
        }
        Err(if self.buf.len() < 10 {
            "truncated varint".into()
        } else {
            "varint overflows 64 bits".into()
        })
    }

    fn key(&mut self) -> Result<(u64, u8), String> {
        let key = self.varint()?;
        if key > u64::from(u32::MAX) {
            return Err(format!("invalid key value {key}"));
        }
        let wire_type = (key & 0x7) as u8;
        if wire_type > FIXED32 {
            return Err(format!("invalid wire type {wire_type}"));
        }
        let field = key >> 3;
        if field == 0 {
            return Err("invalid field number 0".into());
        }
        Ok((field, wire_type))
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        if len > self.buf.len() {
            return Err(format!(
                "length {len} exceeds the remaining {} bytes",
                self.buf.len()
            ));
        }
        let (head, tail) = self.buf.split_at(len);
        self.buf = tail;
        Ok(head)
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = self.varint()?;
        self.take(usize::try_from(len).map_err(|_| format!("length {len} is too large"))?)
    }

    fn string(&mut self, what: &str) -> Result<&'a str, String> {
        std::str::from_utf8(self.bytes()?).map_err(|_| format!("{what}: invalid UTF-8"))
    }

    /// Skips a field of an unknown number (groups included, like prost).
    fn skip(&mut self, field: u64, wire_type: u8, depth: u32) -> Result<(), String> {
        match wire_type {
            VARINT => self.varint().map(drop),
            FIXED64 => self.take(8).map(drop),
            LENGTH_DELIMITED => self.bytes().map(drop),
            FIXED32 => self.take(4).map(drop),
            START_GROUP => {
                if depth >= RECURSION_LIMIT {
                    return Err("recursion limit reached".into());
                }
                loop {
                    if self.is_empty() {
                        return Err("unexpected end of group".into());
                    }
                    let (inner, inner_type) = self.key()?;
                    if inner_type == END_GROUP {
                        return if inner == field {
                            Ok(())
                        } else {
                            Err("unexpected end group tag".into())
                        };
                    }
                    self.skip(inner, inner_type, depth + 1)?;
                }
            }
            _ => Err("unexpected end group tag".into()),
        }
    }
}

fn expect_wire(what: &str, actual: u8, expected: u8) -> Result<(), String> {
    if actual == expected {
        Ok(())
    } else {
        Err(format!(
            "{what}: invalid wire type {actual} (expected {expected})"
        ))
    }
}

/// Decodes a `WriteRequest` into the batch, or says what was malformed.
pub(super) fn decode_into(buf: &[u8], batch: &mut Batch) -> Result<(), String> {
    batch.samples.reserve(count_series(buf));
    let mut reader = Reader { buf };
    let mut labels: Vec<(&str, &str)> = Vec::new();
    let mut samples: Vec<proto::Sample> = Vec::new();
    while !reader.is_empty() {
        let (field, wire_type) = reader.key()?;
        match field {
            1 => {
                expect_wire("WriteRequest.timeseries", wire_type, LENGTH_DELIMITED)?;
                let series = reader.bytes()?;
                decode_series(series, &mut labels, &mut samples, batch)?;
            }
            3 => {
                expect_wire("WriteRequest.metadata", wire_type, LENGTH_DELIMITED)?;
                reader.bytes()?;
            }
            _ => reader.skip(field, wire_type, 0)?,
        }
    }
    Ok(())
}

/// How many time series the request holds (usually one sample each), to size the
/// sample vector once; 0 when the request is malformed (decoding then says why).
fn count_series(buf: &[u8]) -> usize {
    let mut reader = Reader { buf };
    let mut count = 0;
    while !reader.is_empty() {
        let Ok((field, wire_type)) = reader.key() else {
            return 0;
        };
        count += usize::from(field == 1);
        if reader.skip(field, wire_type, 0).is_err() {
            return 0;
        }
    }
    count
}

fn decode_series<'a>(
    buf: &'a [u8],
    labels: &mut Vec<(&'a str, &'a str)>,
    samples: &mut Vec<proto::Sample>,
    batch: &mut Batch,
) -> Result<(), String> {
    labels.clear();
    samples.clear();
    let (mut exemplars, mut histograms) = (0u64, 0u64);
    let mut reader = Reader { buf };
    while !reader.is_empty() {
        let (field, wire_type) = reader.key()?;
        match field {
            1 => {
                expect_wire("TimeSeries.labels", wire_type, LENGTH_DELIMITED)?;
                labels.push(decode_label(reader.bytes()?)?);
            }
            2 => {
                expect_wire("TimeSeries.samples", wire_type, LENGTH_DELIMITED)?;
                samples.push(decode_sample(reader.bytes()?)?);
            }
            3 => {
                expect_wire("TimeSeries.exemplars", wire_type, LENGTH_DELIMITED)?;
                reader.bytes()?;
                exemplars += 1;
            }
            4 => {
                expect_wire("TimeSeries.histograms", wire_type, LENGTH_DELIMITED)?;
                reader.bytes()?;
                histograms += 1;
            }
            _ => reader.skip(field, wire_type, 0)?,
        }
    }
    batch.ignored.add(IgnoreReason::Exemplar, exemplars);
    batch.ignored.add(IgnoreReason::NativeHistogram, histograms);
    if samples.is_empty() {
        return Ok(());
    }
    match series_key(labels.iter().copied()) {
        Ok(key) => push_samples(batch, key, samples),
        Err(error) => batch.rejected.push(error, samples.len() as u64),
    }
    Ok(())
}

fn decode_label(buf: &[u8]) -> Result<(&str, &str), String> {
    let (mut name, mut value) = ("", "");
    let mut reader = Reader { buf };
    while !reader.is_empty() {
        let (field, wire_type) = reader.key()?;
        match field {
            1 => {
                expect_wire("Label.name", wire_type, LENGTH_DELIMITED)?;
                name = reader.string("Label.name")?;
            }
            2 => {
                expect_wire("Label.value", wire_type, LENGTH_DELIMITED)?;
                value = reader.string("Label.value")?;
            }
            _ => reader.skip(field, wire_type, 0)?,
        }
    }
    Ok((name, value))
}

fn decode_sample(buf: &[u8]) -> Result<proto::Sample, String> {
    let mut sample = proto::Sample {
        value: 0.0,
        timestamp: 0,
    };
    let mut reader = Reader { buf };
    while !reader.is_empty() {
        let (field, wire_type) = reader.key()?;
        match field {
            1 => {
                expect_wire("Sample.value", wire_type, FIXED64)?;
                let bytes: [u8; 8] = reader
                    .take(8)?
                    .try_into()
                    .map_err(|_| "short double".to_string())?;
                sample.value = f64::from_le_bytes(bytes);
            }
            2 => {
                expect_wire("Sample.timestamp", wire_type, VARINT)?;
                sample.timestamp = reader.varint()? as i64;
            }
            _ => reader.skip(field, wire_type, 0)?,
        }
    }
    Ok(sample)
}
