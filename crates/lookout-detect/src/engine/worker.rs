//! One detection worker: owns the pipelines of its shard.

use super::{Feedback, Gather, RejectReason, SampleOutcome};
use crate::pipeline::{PipelineConfig, SeriesPipeline};
use crossbeam_channel::{Receiver, Sender};
use lookout_model::{Sample, SeriesKey};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The map key: a series key with its stable hash, computed once per sample by
/// [`super::Engine`] (it also picks the shard). Hashing the map key only mixes that
/// number; equality compares the hash first, then the key.
pub(super) struct HashedKey {
    hash: u64,
    key: SeriesKey,
}

impl HashedKey {
    pub fn new(key: SeriesKey) -> HashedKey {
        HashedKey {
            hash: key.stable_hash(),
            key,
        }
    }
}

impl PartialEq for HashedKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.key == other.key
    }
}

impl Eq for HashedKey {}

impl std::hash::Hash for HashedKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Mixes the precomputed hash: its low bits also chose the shard, so they are nearly
/// constant within one worker and must not pick the table bucket unmixed.
#[derive(Default)]
struct Premixed(u64);

impl Hasher for Premixed {
    fn finish(&self) -> u64 {
        (self.0 ^ (self.0 >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

type SeriesMap = HashMap<HashedKey, SeriesState, BuildHasherDefault<Premixed>>;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub(super) struct ShardJob {
    /// Position in the submitted batch, stable hash of the key, sample.
    pub samples: Vec<(usize, u64, Sample)>,
    pub gather: Arc<Gather>,
}

pub(super) enum Job {
    Score(ShardJob),
    Feedback(SeriesKey, Feedback),
    Tolerance(SeriesKey, Sender<Option<f64>>),
    Snapshot(SeriesKey, Sender<Option<String>>),
    Stats(Sender<ShardStats>),
    Stop,
}

/// Counters of one shard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardStats {
    pub series: usize,
    pub state_bytes: usize,
    pub scored: u64,
    pub anomalies_started: u64,
    /// Indexed like [`RejectReason::ALL`].
    pub rejected: [u64; 4],
    pub busy_nanos: u64,
}

/// The engine-wide cap on series, shared by every worker.
pub(super) struct SeriesBudget {
    pub count: Arc<AtomicUsize>,
    pub max: usize,
}

impl SeriesBudget {
    /// Takes one slot for a new series, or says the cap is reached.
    fn take(&self) -> bool {
        self.count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
                (count < self.max).then_some(count + 1)
            })
            .is_ok()
    }
}

struct SeriesState {
    pipeline: SeriesPipeline,
    newest_ms: i64,
}

pub(super) struct Worker {
    index: usize,
    pipeline: PipelineConfig,
    seed: u64,
    budget: SeriesBudget,
    series: SeriesMap,
    stats: ShardStats,
}

impl Worker {
    pub fn new(index: usize, pipeline: PipelineConfig, seed: u64, budget: SeriesBudget) -> Self {
        Worker {
            index,
            pipeline,
            seed,
            budget,
            series: SeriesMap::default(),
            stats: ShardStats::default(),
        }
    }

    pub fn run(mut self, jobs: Receiver<Job>) {
        while let Ok(job) = jobs.recv() {
            match job {
                Job::Score(job) => self.score(job),
                Job::Feedback(key, Feedback::FalsePositive) => {
                    if let Some(state) = self.series.get_mut(&HashedKey::new(key)) {
                        state.pipeline.widen_tolerance();
                    }
                }
                Job::Tolerance(key, reply) => {
                    let state = self.series.get(&HashedKey::new(key));
                    let _ = reply.send(state.map(|state| state.pipeline.open_at()));
                }
                Job::Snapshot(key, reply) => {
                    let snapshot = self
                        .series
                        .get(&HashedKey::new(key))
                        .and_then(|state| serde_json::to_string(&state.pipeline).ok());
                    let _ = reply.send(snapshot);
                }
                Job::Stats(reply) => {
                    let mut stats = self.stats.clone();
                    stats.series = self.series.len();
                    stats.state_bytes = self
                        .series
                        .iter()
                        .map(|(key, state)| state.pipeline.state_bytes() + key_bytes(&key.key))
                        .sum();
                    let _ = reply.send(stats);
                }
                Job::Stop => break,
            }
        }
    }

    fn score(&mut self, job: ShardJob) {
        let started = Instant::now();
        let mut outcomes = Vec::with_capacity(job.samples.len());
        for (position, hash, sample) in job.samples {
            let outcome = self.score_one(hash, sample);
            match &outcome {
                SampleOutcome::Rejected(reason) => self.stats.rejected[reject_index(*reason)] += 1,
                SampleOutcome::Scored(verdict) => {
                    self.stats.scored += 1;
                    if verdict.anomaly_started {
                        self.stats.anomalies_started += 1;
                    }
                }
            }
            outcomes.push((position, outcome));
        }
        self.stats.busy_nanos += started.elapsed().as_nanos() as u64;
        job.gather.deliver(outcomes);
    }

    fn score_one(&mut self, hash: u64, sample: Sample) -> SampleOutcome {
        if !sample.value.is_finite() {
            return SampleOutcome::Rejected(RejectReason::NonFinite);
        }
        let probe = HashedKey {
            hash,
            key: sample.key,
        };
        // One probe: the sample's own key becomes the map key of a new series.
        let state = match self.series.entry(probe) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                if !self.budget.take() {
                    return SampleOutcome::Rejected(RejectReason::SeriesLimit);
                }
                let seed = self.seed ^ hash ^ (self.index as u64);
                let pipeline = SeriesPipeline::new(&self.pipeline, seed)
                    .expect("pipeline config validated at start");
                entry.insert(SeriesState {
                    pipeline,
                    newest_ms: i64::MIN,
                })
            }
        };
        if sample.timestamp_ms < state.newest_ms {
            return SampleOutcome::Rejected(RejectReason::OutOfOrder);
        }
        if sample.timestamp_ms == state.newest_ms {
            return SampleOutcome::Rejected(RejectReason::Duplicate);
        }
        state.newest_ms = sample.timestamp_ms;
        SampleOutcome::Scored(Box::new(
            state.pipeline.verdict(sample.timestamp_ms, sample.value),
        ))
    }
}

fn reject_index(reason: RejectReason) -> usize {
    RejectReason::ALL
        .iter()
        .position(|r| *r == reason)
        .unwrap_or(0)
}

fn key_bytes(key: &SeriesKey) -> usize {
    std::mem::size_of::<SeriesKey>()
        + key.name.capacity()
        + key
            .labels
            .iter()
            .map(|(n, v)| n.capacity() + v.capacity() + 48)
            .sum::<usize>()
}
