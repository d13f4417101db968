//! Handing the capture's seconds to ingestion without ever blocking the capture thread.
//!
//! Each closed second is one batch. A batch the pipeline cannot take now (its channel is
//! full: ingestion is behind, say on a loaded machine) waits here, in order, and goes out
//! at the next try, one try per pass of the capture loop (at least every 100 ms). Only
//! when [`BACKLOG_SECONDS`] seconds are waiting is the oldest dropped and counted
//! (`net_capture_dropped_batches_total`, the source's own drops): the pipeline has then
//! been stalled for a minute. Memory: at most that many batches (a second's batch is
//! some tens of samples and its events).
//!
//! The totals also go to `/metrics`: [`FRAMES_METRIC`] `{source, outcome}` (`captured`,
//! `kernel_dropped`) and [`BATCHES_METRIC`] `{source, outcome}` (`delivered`, `dropped`).

use std::collections::VecDeque;

use lookout_protocol::exposition::counters;
use tokio::sync::mpsc;

use super::capture::CaptureTotals;
use super::ring::RingStats;
use crate::SourceBatch;

/// Seconds of batches kept while the pipeline is full.
pub const BACKLOG_SECONDS: usize = 60;
/// `/metrics` counter of frames by outcome.
pub const FRAMES_METRIC: &str = "lookout_packet_capture_frames_total";
/// `/metrics` counter of per-second batches by outcome.
pub const BATCHES_METRIC: &str = "lookout_packet_capture_batches_total";
/// `/metrics` counter of ring blocks the kernel handed over, by outcome.
pub const BLOCKS_METRIC: &str = "lookout_packet_capture_ring_blocks_total";

/// See the module documentation.
pub struct Outbox {
    source: String,
    waiting: VecDeque<SourceBatch>,
    delivered: u64,
    /// Batches dropped because the backlog was full.
    pub dropped: u64,
}

impl Outbox {
    pub fn new(source: &str) -> Outbox {
        Outbox {
            source: source.to_string(),
            waiting: VecDeque::new(),
            delivered: 0,
            dropped: 0,
        }
    }

    /// Queues one second's batch, dropping the oldest when the backlog is full.
    pub fn push(&mut self, batch: SourceBatch) {
        if self.waiting.len() >= BACKLOG_SECONDS {
            self.waiting.pop_front();
            self.dropped += 1;
        }
        self.waiting.push_back(batch);
    }

    /// Sends what the channel takes now, in order; never waits.
    pub fn flush(&mut self, batches: &mpsc::Sender<SourceBatch>) {
        while let Some(batch) = self.waiting.pop_front() {
            match batches.try_send(batch) {
                Ok(()) => self.delivered += 1,
                Err(mpsc::error::TrySendError::Full(batch)) => {
                    self.waiting.push_front(batch);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
    }

    /// Batches waiting now.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Publishes the totals on `/metrics`.
    pub fn publish(&self, totals: &CaptureTotals, ring: Option<RingStats>) {
        let frames =
            "Frames a packet capture source took since it started: captured (taken from the \
                      socket or ring) or kernel_dropped (no room left in the socket or ring).";
        counters::set_outcomes(
            FRAMES_METRIC,
            frames,
            &self.source,
            [
                ("captured", totals.captured),
                ("kernel_dropped", totals.kernel_dropped),
            ],
        );
        let batches = "Seconds of a packet capture source handed to ingestion (delivered), or \
                       dropped after waiting behind a full pipeline for a minute (dropped).";
        counters::set_outcomes(
            BATCHES_METRIC,
            batches,
            &self.source,
            [("delivered", self.delivered), ("dropped", self.dropped)],
        );
        if let Some(ring) = ring {
            let blocks = "Blocks of a packet capture ring walked: read, or malformed (a length \
                          pointing outside the block; its frames from there on skipped).";
            counters::set_outcomes(
                BLOCKS_METRIC,
                blocks,
                &self.source,
                [
                    ("read", ring.blocks - ring.bad_blocks),
                    ("malformed", ring.bad_blocks),
                ],
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(second: usize) -> SourceBatch {
        SourceBatch {
            source: format!("{second}"),
            samples: Vec::new(),
            events: Vec::new(),
            errors: Vec::new(),
            read_offsets: Vec::new(),
            receipt: None,
        }
    }

    #[test]
    fn batches_wait_behind_a_full_pipeline_in_order_and_none_is_lost() {
        let (sender, mut receiver) = mpsc::channel(2);
        let mut outbox = Outbox::new("packet_capture#0");
        for second in 0..10 {
            outbox.push(batch(second));
            outbox.flush(&sender);
        }
        assert_eq!(outbox.waiting(), 8);
        let mut seen = Vec::new();
        while seen.len() < 10 {
            while let Ok(batch) = receiver.try_recv() {
                seen.push(batch.source);
            }
            outbox.flush(&sender);
        }
        let expected: Vec<String> = (0..10).map(|s| s.to_string()).collect();
        assert_eq!(seen, expected);
        assert_eq!((outbox.delivered, outbox.dropped), (10, 0));
    }

    #[test]
    fn past_the_backlog_the_oldest_second_is_dropped_and_counted() {
        let (sender, mut receiver) = mpsc::channel(1);
        let mut outbox = Outbox::new("packet_capture#0");
        for second in 0..BACKLOG_SECONDS + 6 {
            outbox.push(batch(second));
            outbox.flush(&sender);
        }
        assert_eq!(outbox.dropped, 5);
        assert_eq!(outbox.waiting(), BACKLOG_SECONDS);
        assert_eq!(receiver.try_recv().unwrap().source, "0");
        outbox.flush(&sender);
        assert_eq!(receiver.try_recv().unwrap().source, "6");
    }
}
