//! InfluxDB line protocol: `measurement,tag=v,tag2=v2 field=1.0,field2=2i,field3=true 1700000000000000000`.
//!
//! # Syntax accepted
//!
//! - Measurement, tag keys, tag values and field keys end at an unescaped `,` or space
//!   (tag and field keys also at `=`); `\,`, `\ ` and `\=` stand for the character itself,
//!   any other backslash is kept literally. Tag values must not be empty.
//! - Field values: floats (`1`, `-1.5e3`), integers (`2i`), unsigned (`3u`), booleans
//!   (`t`, `T`, `true`, `True`, `TRUE` and the same for false) and double-quoted strings
//!   (`"a \"b\" \\ c"`). At least one field per line.
//! - An optional integer timestamp in the request's [`Precision`] (nanoseconds by
//!   default); without one the sample gets the caller's `now_ms`.
//! - Blank lines and lines starting with `#` are skipped; `\r\n` endings are accepted.
//!
//! # Mapping onto series
//!
//! Each numeric field becomes one sample named `<measurement>_<field>` (just `<field>` when
//! the measurement is `prometheus`), the rule of Telegraf's Prometheus output; tags become
//! labels. Integers and unsigned integers are converted to `f64`, booleans to 1/0.
//! String fields are skipped and counted as [`IgnoreReason::StringField`].
//! Names that are not valid Prometheus names are sanitised as Telegraf does (see
//! [`sanitize_metric_name`], [`sanitize_label_name`]); a tag whose name sanitises to
//! nothing, or to `__name__`, is dropped, and when two tags sanitise to the same label
//! name the later one wins.
//!
//! # Errors
//!
//! A request is all-or-nothing: if any line is malformed, nothing is accepted and the
//! error lists every bad line (up to [`crate::MAX_REPORTED_ERRORS`], then a count), each
//! as `line 3: expected '=' after field key "usage" (column 17)`. A client can fix its
//! payload and resend it whole without creating duplicates.

mod parse;
mod sanitize;

use std::fmt;
use std::str::FromStr;

use lookout_model::{Labels, Sample, SeriesKey};

pub use sanitize::{metric_name, sanitize_label_name, sanitize_metric_name};

use crate::batch::{Batch, IgnoreReason};
use crate::error::{ErrorList, LineError, ProtocolError};
use parse::{FieldValue, ParsedLine};

/// Unit of the timestamps in a request (`precision=` query parameter).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Precision {
    #[default]
    Nanoseconds,
    Microseconds,
    Milliseconds,
    Seconds,
}

impl Precision {
    /// Converts a timestamp in this precision to milliseconds (floor), or `None` on overflow.
    pub fn to_millis(self, timestamp: i64) -> Option<i64> {
        match self {
            Precision::Nanoseconds => Some(timestamp.div_euclid(1_000_000)),
            Precision::Microseconds => Some(timestamp.div_euclid(1_000)),
            Precision::Milliseconds => Some(timestamp),
            Precision::Seconds => timestamp.checked_mul(1_000),
        }
    }
}

/// The `precision` value was none of `ns`, `us`, `ms`, `s`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown precision {0:?} (expected ns, us, ms or s)")]
pub struct UnknownPrecision(pub String);

impl FromStr for Precision {
    type Err = UnknownPrecision;

    /// Accepts `ns`, `us`, `ms`, `s` and the InfluxDB 1.x spellings `n`, `u`, `µs`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "ns" | "n" => Ok(Precision::Nanoseconds),
            "us" | "u" | "µs" => Ok(Precision::Microseconds),
            "ms" => Ok(Precision::Milliseconds),
            "s" => Ok(Precision::Seconds),
            other => Err(UnknownPrecision(other.to_string())),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::Nanoseconds => "ns",
            Precision::Microseconds => "us",
            Precision::Milliseconds => "ms",
            Precision::Seconds => "s",
        })
    }
}

/// Parses a line protocol request body; lines without a timestamp get `now_ms`.
pub fn parse_lines(body: &[u8], precision: Precision, now_ms: i64) -> Result<Batch, ProtocolError> {
    let mut batch = Batch::default();
    let mut errors = ErrorList::new();
    for (index, raw_line) in body.split(|byte| *byte == b'\n').enumerate() {
        let number = index + 1;
        let line = match std::str::from_utf8(raw_line) {
            Ok(line) => line,
            Err(error) => {
                let valid =
                    std::str::from_utf8(&raw_line[..error.valid_up_to()]).unwrap_or_default();
                let column = valid.chars().count() + 1;
                errors.push(LineError {
                    line: number,
                    column,
                    message: "invalid UTF-8".into(),
                });
                continue;
            }
        };
        match parse::parse_line(line) {
            Ok(None) => {}
            Ok(Some(parsed)) => {
                if let Err(message) = push_line(&mut batch, parsed, precision, now_ms) {
                    errors.push(LineError {
                        line: number,
                        column: 1,
                        message,
                    });
                }
            }
            Err(error) => errors.push(LineError {
                line: number,
                column: error.column(line),
                message: error.message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(batch)
    } else {
        Err(ProtocolError::MalformedLines {
            errors: errors.errors,
            total: errors.total,
        })
    }
}

fn push_line(
    batch: &mut Batch,
    line: ParsedLine<'_>,
    precision: Precision,
    now_ms: i64,
) -> Result<(), String> {
    let timestamp_ms = match line.timestamp {
        None => now_ms,
        Some(timestamp) => precision.to_millis(timestamp).ok_or_else(|| {
            format!(
                "timestamp {timestamp} overflows when converted from {precision} to milliseconds"
            )
        })?,
    };
    let mut labels = Labels::new();
    for (key, value) in line.tags {
        let Some(name) = sanitize_label_name(&key) else {
            continue;
        };
        if name == crate::remote_write::METRIC_NAME_LABEL {
            continue;
        }
        labels.insert(name, value.into_owned());
    }
    let numeric = line
        .fields
        .iter()
        .filter(|(_, value)| !matches!(value, FieldValue::String))
        .count();
    batch.ignored.add(
        IgnoreReason::StringField,
        (line.fields.len() - numeric) as u64,
    );
    let mut remaining = numeric;
    for (field, value) in &line.fields {
        let value = match value {
            FieldValue::String => continue,
            FieldValue::Number(value) => *value,
        };
        remaining -= 1;
        let Some(name) = metric_name(&line.measurement, field) else {
            let series = format!("{}_{}", line.measurement, field);
            let error = ProtocolError::InvalidMetricName {
                series,
                reason: "nothing is left after replacing characters Prometheus does not allow"
                    .into(),
            };
            batch.rejected.push(error, 1);
            continue;
        };
        let labels = if remaining == 0 {
            std::mem::take(&mut labels)
        } else {
            labels.clone()
        };
        batch.samples.push(Sample {
            key: SeriesKey { name, labels },
            timestamp_ms,
            value,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
