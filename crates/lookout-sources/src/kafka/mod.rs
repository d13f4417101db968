//! The `kafka` source: metric samples (Influx lines, JSON samples documents) or
//! access-log lines consumed from Kafka topics with a consumer group.
//!
//! The client is `rdkafka` with its bundled librdkafka (Debian's is too old for the
//! crate), configured with automatic commits off: the source collects records for up
//! to `batch_wait` (at most `max_records`), decodes them on the blocking pool with a
//! [`decode::Decoder`], hands the batch on with a [`crate::Receipt`] and waits for the
//! answer. Only a batch whose samples, events and read offsets are committed to the
//! store has its offsets committed to the group, so delivery is at least once; the
//! read offsets saved in the store deduplicate what a crash delivers again (see
//! [`decode`]), which makes the effect exactly once on one node.
//!
//! What it misses: a batch the pipeline refuses (bad data after its retries, a full
//! disk) is not committed to the group but is not read again either until a restart or
//! a rebalance; the offsets in the store are per node, so a partition that moves to
//! another node of the group is deduplicated by Kafka's committed offsets only; records
//! are read one batch at a time (throughput is bounded by the store's commit latency
//! times `max_records`); TLS and SASL are not configured (plaintext brokers only).
//!
//! Cost per record: a copy of its value and one parse (see [`decode`]); per partition a
//! read-offset row per batch that moved it.

pub mod decode;

use lookout_config::KafkaSourceConfig;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;

use crate::{Receipt, Shutdown, Source, SourceBatch};
use decode::{Decoded, Decoder, Record};

/// A `[[source]] type = "kafka"` ready to run.
#[derive(Debug)]
pub struct KafkaSource {
    name: String,
    config: KafkaSourceConfig,
    decoder: Decoder,
}

impl KafkaSource {
    pub fn new(name: impl Into<String>, config: &KafkaSourceConfig) -> Result<Self, String> {
        let name = name.into();
        Ok(KafkaSource {
            decoder: Decoder::new(&name, config)?,
            name,
            config: config.clone(),
        })
    }

    fn consumer(&self) -> Result<StreamConsumer, String> {
        let reset = if self.config.start_from_earliest {
            "earliest"
        } else {
            "latest"
        };
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.config.brokers.join(","))
            .set("group.id", &self.config.group_id)
            .set("client.id", format!("lookout-{}", self.name))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", reset)
            .set(
                "fetch.message.max.bytes",
                self.config.max_record_bytes.max(1 << 20).to_string(),
            )
            .create()
            .map_err(|error| format!("kafka: cannot create the consumer: {error}"))?;
        let topics: Vec<&str> = self.config.topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .map_err(|error| format!("kafka: cannot subscribe to {topics:?}: {error}"))?;
        Ok(consumer)
    }
}

impl crate::registry::BuildSource for KafkaSourceConfig {
    /// From the oldest record, what is read may be old: history; else live.
    fn build_source(&self, index: usize) -> Result<(Box<dyn Source>, crate::Delivery), String> {
        let delivery = if self.start_from_earliest {
            crate::Delivery::History
        } else {
            crate::Delivery::Live
        };
        Ok((
            Box::new(KafkaSource::new(format!("kafka#{index}"), self)?),
            delivery,
        ))
    }
}

impl Source for KafkaSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn resume(&mut self, offsets: Vec<lookout_model::ReadOffset>) {
        self.decoder.resume(offsets);
    }

    fn run(
        self: Box<Self>,
        batches: mpsc::Sender<SourceBatch>,
        shutdown: Shutdown,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(run(*self, batches, shutdown))
    }
}

async fn run(source: KafkaSource, batches: mpsc::Sender<SourceBatch>, mut shutdown: Shutdown) {
    let consumer = match source.consumer() {
        Ok(consumer) => consumer,
        Err(error) => {
            tracing::error!(source = %source.name, %error, "the kafka source stops");
            let _ = batches
                .send(SourceBatch {
                    source: source.name.clone(),
                    samples: Vec::new(),
                    events: Vec::new(),
                    errors: vec![error],
                    read_offsets: Vec::new(),
                    receipt: None,
                })
                .await;
            return;
        }
    };
    let KafkaSource {
        name,
        config,
        decoder,
    } = source;
    let mut decoder = Some(decoder);
    let mut last_error = None;
    loop {
        let mut errors = Vec::new();
        let Some(records) = receive(&consumer, &config, &mut shutdown, &mut errors).await else {
            return;
        };
        if let Some(error) = errors.first() {
            if last_error.as_ref() != Some(error) {
                tracing::warn!(source = %name, %error, "kafka consumer problem");
            }
        }
        last_error = errors.first().cloned();
        let Some(owned) = decoder.take() else {
            return;
        };
        let now = lookout_model::clock::now_ms();
        let decoding = tokio::task::spawn_blocking(move || {
            let mut owned = owned;
            let decoded = owned.decode(records, now);
            (owned, decoded)
        });
        let (owned, mut decoded) = match decoding.await {
            Ok(done) => done,
            Err(error) => {
                tracing::error!(source = %name, %error, "kafka decoding failed; the source stops");
                return;
            }
        };
        decoder = Some(owned);
        decoded.errors.splice(0..0, errors);
        if !send(&name, &consumer, decoded, &batches, &mut shutdown).await {
            return;
        }
    }
}

/// Records until `batch_wait` passes or `max_records` are in; `None` on shutdown.
async fn receive(
    consumer: &StreamConsumer,
    config: &KafkaSourceConfig,
    shutdown: &mut Shutdown,
    errors: &mut Vec<String>,
) -> Option<Vec<Record>> {
    let deadline = tokio::time::Instant::now() + config.batch_wait;
    let mut records = Vec::new();
    while records.len() < config.max_records {
        tokio::select! {
            biased;
            _ = shutdown.wait() => return None,
            _ = tokio::time::sleep_until(deadline) => break,
            received = consumer.recv() => match received {
                Ok(message) => records.push(Record {
                    topic: message.topic().to_string(),
                    partition: message.partition(),
                    offset: message.offset(),
                    value: message.payload().map(<[u8]>::to_vec),
                }),
                Err(error) => {
                    errors.push(format!("kafka: {error}"));
                    // Not a busy loop while the brokers are away.
                    tokio::select! {
                        _ = shutdown.wait() => return None,
                        _ = tokio::time::sleep_until(deadline) => break,
                    }
                }
            },
        }
    }
    Some(records)
}

/// Hands `decoded` on and commits its offsets once stored; false when the source stops.
async fn send(
    name: &str,
    consumer: &StreamConsumer,
    decoded: Decoded,
    batches: &mpsc::Sender<SourceBatch>,
    shutdown: &mut Shutdown,
) -> bool {
    let Decoded {
        samples,
        events,
        errors,
        read_offsets,
        commits,
    } = decoded;
    if samples.is_empty() && events.is_empty() && errors.is_empty() && read_offsets.is_empty() {
        return true;
    }
    let (receipt, answer) = Receipt::new();
    let batch = SourceBatch {
        source: name.to_string(),
        samples,
        events,
        errors,
        read_offsets,
        receipt: Some(receipt),
    };
    tokio::select! {
        biased;
        _ = shutdown.wait() => return false,
        sent = batches.send(batch) => if sent.is_err() { return false },
    }
    let stored = tokio::select! {
        biased;
        _ = shutdown.wait() => return false,
        answer = answer => answer.unwrap_or(false),
    };
    if !stored {
        tracing::warn!(source = %name, "a kafka batch was not stored; its offsets are not committed");
        return true;
    }
    if commits.is_empty() {
        return true;
    }
    let mut list = TopicPartitionList::new();
    for ((topic, partition), offset) in &commits {
        if let Err(error) = list.add_partition_offset(topic, *partition, Offset::Offset(*offset)) {
            tracing::warn!(source = %name, %error, "kafka offset not committed");
        }
    }
    if let Err(error) = consumer.commit(&list, CommitMode::Async) {
        tracing::warn!(source = %name, %error, "kafka offsets not committed");
    }
    true
}
