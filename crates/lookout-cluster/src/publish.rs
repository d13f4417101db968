//! The write log of a cluster node: a validated request, split by partition, published
//! to JetStream; the request is acknowledged once JetStream acknowledged every message.
//!
//! Each message is published, then its acknowledgement awaited; all the request's
//! acknowledgements are awaited together, so a request costs one round trip, not one
//! per partition. At most [`MAX_IN_FLIGHT`] messages of all requests together wait for
//! their acknowledgement (a semaphore): beyond it requests wait their turn, and
//! memory stays bounded. Any failure (no server, a timeout, a refusal) fails the whole
//! request with `log_unavailable` (503): nothing is acknowledged, though some parts may
//! be in the stream; a client's retry repeats them, and their owner takes repeated
//! points as duplicates (the first write of a time wins).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use futures::future::try_join_all;
use lookout_model::Sample;
use lookout_pipeline::{AppendFuture, IngestError, WriteLog};
use tokio::sync::Semaphore;

use crate::partition::{encode, split, subject};

/// Messages awaiting their acknowledgement, over all requests.
pub const MAX_IN_FLIGHT: usize = 512;

/// How long a request waits for all its acknowledgements.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// [`WriteLog`] over a JetStream stream.
pub struct JetStreamLog {
    jetstream: jetstream::Context,
    stream: String,
    partitions: u32,
    max_payload: usize,
    in_flight: Arc<Semaphore>,
}

impl JetStreamLog {
    pub fn new(
        jetstream: jetstream::Context,
        stream: String,
        partitions: u32,
        max_payload: usize,
    ) -> Self {
        JetStreamLog {
            jetstream,
            stream,
            partitions,
            max_payload: max_payload.max(1024),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }
}

impl WriteLog for JetStreamLog {
    fn append(&self, samples: Vec<Sample>) -> AppendFuture {
        let jetstream = self.jetstream.clone();
        let semaphore = Arc::clone(&self.in_flight);
        // Encoding is a few microseconds per hundred samples: done here, before the
        // future, never on another task.
        let messages: Vec<(String, Vec<u8>)> = split(samples, self.partitions)
            .into_iter()
            .flat_map(|(partition, part)| {
                let subject = subject(&self.stream, partition);
                encode(&part, self.max_payload)
                    .into_iter()
                    .map(move |message| (subject.clone(), message))
            })
            .collect();
        Box::pin(async move {
            let publish = publish_all(jetstream, semaphore, messages);
            match tokio::time::timeout(ACK_TIMEOUT, publish).await {
                Ok(result) => result,
                Err(_) => Err(unavailable(format!(
                    "JetStream did not acknowledge within {ACK_TIMEOUT:?}"
                ))),
            }
        })
    }
}

async fn publish_all(
    jetstream: jetstream::Context,
    semaphore: Arc<Semaphore>,
    messages: Vec<(String, Vec<u8>)>,
) -> Result<(), IngestError> {
    let mut acks = Vec::with_capacity(messages.len());
    for (subject, message) in messages {
        let permit = Arc::clone(&semaphore)
            .acquire_owned()
            .await
            .map_err(|_| IngestError::ShuttingDown)?;
        let ack = jetstream
            .publish(subject, message.into())
            .await
            .map_err(|error| unavailable(format!("publish: {error}")))?;
        acks.push(async move {
            let answer = ack.await;
            drop(permit);
            answer.map_err(|error| unavailable(format!("acknowledgement: {error}")))
        });
    }
    try_join_all(acks).await.map(|_| ())
}

fn unavailable(message: String) -> IngestError {
    IngestError::LogUnavailable(message)
}
