//! Records in, samples and events out: the synchronous half of the `kafka` source.
//!
//! A [`Decoder`] turns the values of consumed records into samples (Influx lines, JSON
//! samples documents) or, for access-log lines, into the `access_log` source's derived
//! series and log events (the same `lookout_accesslog` deriver). It also keeps, per
//! topic and partition, the offset everything before which is accounted for: the
//! **read offset** saved in the store with each batch (`read_offsets` table, path
//! `<topic>/<partition>`) and committed to the consumer group once the batch is stored.
//!
//! **Exactly once.** The consumer group's committed offsets give at-least-once delivery:
//! a crash after a batch is stored and before its offsets are committed delivers its
//! records again. The decoder deduplicates them by partition and offset: a record whose
//! offset is below the read offset saved in the store is counted `duplicate` and
//! skipped. For access-log lines the read offset is the offset of the first record
//! counted in the still open interval (not yet stored), so a restart reads that
//! interval's records again and rebuilds it; intervals stored twice replace
//! themselves.
//!
//! Bad input never stops the source: a value over `max_record_bytes` (`too_large`), a
//! value the format cannot read (`invalid`: the error names the topic, partition and
//! offset), an access-log line refused by the parser (counted by the deriver's reason)
//! are counted in `/metrics` ([`RECORDS_METRIC`]) and reported in the batch's errors.
//!
//! Cost per record: one parse of its value; per partition one map entry.

use std::collections::BTreeMap;

use lookout_accesslog::events::LogEvents;
use lookout_accesslog::{series, BadLine, IntervalSummary, LogDeriver};
use lookout_config::{KafkaFormat, KafkaSourceConfig};
use lookout_model::{Event, Labels, ReadOffset, Sample};
use lookout_protocol::exposition::counters;
use lookout_protocol::influx::{parse_lines, Precision};
use lookout_protocol::json_samples::parse_json_samples;

/// `/metrics` counter of records consumed, `{source, outcome}`.
pub const RECORDS_METRIC: &str = "lookout_kafka_records_total";

/// Errors reported per batch at most (the counters hold the rest).
const MAX_ERRORS_PER_BATCH: usize = 5;

/// One consumed record, its value copied out of the client's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// `None` for a record without a value (a tombstone).
    pub value: Option<Vec<u8>>,
}

/// What one call of [`Decoder::decode`] produced.
#[derive(Debug, Default)]
pub struct Decoded {
    pub samples: Vec<Sample>,
    pub events: Vec<Event>,
    pub errors: Vec<String>,
    /// The read offsets that moved (source name left empty: the feeder fills it).
    pub read_offsets: Vec<ReadOffset>,
    /// Per topic and partition, the offset to commit to the consumer group.
    pub commits: BTreeMap<(String, i32), i64>,
}

/// Counters since the start, by outcome.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecordCounts {
    pub ingested: u64,
    pub duplicate: u64,
    pub too_large: u64,
    pub invalid: u64,
    pub empty: u64,
}

/// The access-log state of a decoder with `format = "access_log"`.
#[derive(Debug)]
struct AccessLog {
    deriver: LogDeriver,
    events: LogEvents,
    /// Per partition, the offset of its first record counted in the open interval.
    open_first: BTreeMap<(String, i32), i64>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Decoder {
    name: String,
    format: KafkaFormat,
    labels: Labels,
    max_record_bytes: usize,
    access_log: Option<AccessLog>,
    /// Per partition, the offset after the last record taken.
    next: BTreeMap<(String, i32), i64>,
    /// The read offsets last handed out.
    saved: BTreeMap<(String, i32), i64>,
    counts: RecordCounts,
}

impl Decoder {
    pub fn new(name: &str, config: &KafkaSourceConfig) -> Result<Decoder, String> {
        let mut labels = config.labels.clone();
        labels
            .entry("kafka".to_string())
            .or_insert_with(|| name.to_string());
        let access_log = match &config.format {
            KafkaFormat::AccessLog { parser, aggregator } => {
                let mut log_labels = labels.clone();
                log_labels.insert("log".to_string(), name.to_string());
                let deriver = LogDeriver::new(parser, aggregator.clone())
                    .map_err(|error| error.to_string())?
                    .with_injection(&Default::default(), log_labels.clone());
                labels = log_labels.clone();
                Some(AccessLog {
                    deriver,
                    events: LogEvents::new(log_labels),
                    open_first: BTreeMap::new(),
                })
            }
            _ => None,
        };
        Ok(Decoder {
            name: name.to_string(),
            format: config.format.clone(),
            labels,
            max_record_bytes: config.max_record_bytes,
            access_log,
            next: BTreeMap::new(),
            saved: BTreeMap::new(),
            counts: RecordCounts::default(),
        })
    }

    /// Takes the read offsets saved in the store: records below them are duplicates.
    pub fn resume(&mut self, offsets: Vec<ReadOffset>) {
        for offset in offsets {
            let Some(key) = partition_of(&offset.path) else {
                continue;
            };
            let next = i64::try_from(offset.offset).unwrap_or(i64::MAX);
            self.next.insert(key.clone(), next);
            self.saved.insert(key, next);
        }
    }

    /// Where a partition is to be read from after a restart, if the store knows.
    pub fn saved_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        self.saved.get(&(topic.to_string(), partition)).copied()
    }

    pub fn counts(&self) -> RecordCounts {
        self.counts
    }

    /// Decodes `records` (in consumption order) at wall-clock `now_ms`.
    pub fn decode(&mut self, records: Vec<Record>, now_ms: i64) -> Decoded {
        let mut decoded = Decoded::default();
        let mut closed = Vec::new();
        let mut errors = 0usize;
        for record in records {
            let key = (record.topic.clone(), record.partition);
            if record.offset < self.next.get(&key).copied().unwrap_or(i64::MIN) {
                self.counts.duplicate += 1;
                continue;
            }
            self.next.insert(key.clone(), record.offset + 1);
            let problem = self.record(&record, key, now_ms, &mut decoded, &mut closed);
            if let Some(problem) = problem {
                errors += 1;
                if errors <= MAX_ERRORS_PER_BATCH {
                    decoded.errors.push(format!(
                        "kafka record {}/{} offset {}: {problem}",
                        record.topic, record.partition, record.offset
                    ));
                }
            }
        }
        if errors > MAX_ERRORS_PER_BATCH {
            decoded.errors.push(format!(
                "{} more bad records",
                errors - MAX_ERRORS_PER_BATCH
            ));
        }
        if let Some(log) = &mut self.access_log {
            log.deriver.flush(now_ms, &mut closed);
            if log.deriver.open_interval().is_none() {
                log.open_first.clear();
            }
            for summary in &closed {
                decoded
                    .samples
                    .extend(series::samples(summary, &self.labels));
                decoded.events.extend(log.events.observe(summary));
            }
            log.deriver.take_events(&mut decoded.events);
        }
        self.hand_out_offsets(&mut decoded);
        self.publish_counters();
        decoded
    }

    /// Decodes one record's value; the problem, if it was refused.
    fn record(
        &mut self,
        record: &Record,
        key: (String, i32),
        now_ms: i64,
        decoded: &mut Decoded,
        closed: &mut Vec<IntervalSummary>,
    ) -> Option<String> {
        let Some(value) = &record.value else {
            self.counts.empty += 1;
            return None;
        };
        if value.len() > self.max_record_bytes {
            self.counts.too_large += 1;
            if let Some(log) = &mut self.access_log {
                log.deriver.bad_line(BadLine::TooLong);
            }
            return Some(format!(
                "{} bytes is over max_record_bytes ({})",
                value.len(),
                self.max_record_bytes
            ));
        }
        let parsed = match &self.format {
            KafkaFormat::Influx => parse_lines(value, Precision::Nanoseconds, now_ms),
            KafkaFormat::Json => parse_json_samples(value, now_ms),
            KafkaFormat::AccessLog { .. } => {
                let log = self.access_log.as_mut().expect("an access-log decoder");
                let open = log.deriver.open_interval();
                let requests = log.deriver.requests();
                let line = value.strip_suffix(b"\n").unwrap_or(value);
                log.deriver.line(line, now_ms, closed);
                match log.deriver.open_interval() {
                    None => log.open_first.clear(),
                    Some(start) => {
                        if open != Some(start) {
                            log.open_first.clear();
                        }
                        log.open_first.entry(key).or_insert(record.offset);
                    }
                }
                if log.deriver.requests() == requests {
                    self.counts.invalid += 1;
                    return Some("not an access-log line of the configured format".to_string());
                }
                self.counts.ingested += 1;
                return None;
            }
        };
        match parsed {
            Ok(batch) => {
                self.counts.ingested += 1;
                let refused = batch.rejected.examples.first().map(|e| e.to_string());
                decoded
                    .samples
                    .extend(batch.samples.into_iter().map(|mut sample| {
                        for (name, value) in &self.labels {
                            sample
                                .key
                                .labels
                                .entry(name.clone())
                                .or_insert_with(|| value.clone());
                        }
                        sample
                    }));
                refused.map(|example| format!("some samples refused, e.g. {example}"))
            }
            Err(error) => {
                self.counts.invalid += 1;
                Some(error.to_string())
            }
        }
    }

    /// Moves the offsets that changed into `decoded`.
    fn hand_out_offsets(&mut self, decoded: &mut Decoded) {
        let open_first = self.access_log.as_ref().map(|log| &log.open_first);
        for (key, next) in &self.next {
            let offset = open_first
                .and_then(|open| open.get(key).copied())
                .unwrap_or(*next);
            if self.saved.get(key) == Some(&offset) {
                continue;
            }
            self.saved.insert(key.clone(), offset);
            decoded.read_offsets.push(ReadOffset {
                source: String::new(),
                path: format!("{}/{}", key.0, key.1),
                dev: 0,
                ino: 0,
                offset: u64::try_from(offset).unwrap_or(0),
                line: 0,
            });
            decoded.commits.insert(key.clone(), offset);
        }
    }

    fn publish_counters(&self) {
        let help = "Records a kafka source consumed since it started, by outcome.";
        let c = self.counts;
        let outcomes = [
            ("ingested", c.ingested),
            ("duplicate", c.duplicate),
            ("too_large", c.too_large),
            ("invalid", c.invalid),
            ("empty", c.empty),
        ];
        counters::set_outcomes(RECORDS_METRIC, help, &self.name, outcomes);
    }
}

/// `<topic>/<partition>` back into its parts (topic names have no `/`).
fn partition_of(path: &str) -> Option<(String, i32)> {
    let (topic, partition) = path.rsplit_once('/')?;
    Some((topic.to_string(), partition.parse().ok()?))
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
