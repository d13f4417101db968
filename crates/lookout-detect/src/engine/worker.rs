//! One detection worker: owns the pipelines of its shard.

use super::Point;
use super::{Feedback, Gather, PipelineChooser, RejectReason, SampleOutcome};
use crate::pipeline::{PipelineConfig, SeriesPipeline};
use crossbeam_channel::{Receiver, Sender};
use lookout_model::SeriesId;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Spreads a series id over 64 bits (splitmix64's finaliser): store ids are small
/// consecutive numbers, and both the shard (`mix % workers`) and the table bucket must
/// not see them unmixed.
pub(super) fn mix(series: SeriesId) -> u64 {
    let mut x = series.0 as u64;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Table hasher for series ids: the id is mixed once, with the shard's bits rotated
/// away (they are constant within one worker).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_i64(&mut self, value: i64) {
        self.0 = mix(SeriesId(value)).rotate_right(17);
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Series id → index into the worker's slab of series states.
type SlotMap = HashMap<SeriesId, u32, BuildHasherDefault<IdHasher>>;

/// Slot placeholders for points that reach no series.
const NO_SLOT_NON_FINITE: u32 = u32::MAX;
const NO_SLOT_OVER_LIMIT: u32 = u32::MAX - 1;

/// How many points ahead the worker prefetches a series' state block, then the detector
/// and calibration blocks it points to, then the windows inside the detectors: each
/// stage reads only pointers that the previous stage brought in (see [`crate::prefetch`]).
const PREFETCH_STATE_AHEAD: usize = 12;
const PREFETCH_PARTS_AHEAD: usize = 8;
const PREFETCH_WINDOWS_AHEAD: usize = 4;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub(super) struct ShardJob {
    /// Position in the submitted batch, point.
    pub points: Vec<(usize, Point)>,
    pub gather: Arc<Gather>,
}

pub(super) enum Job {
    Score(ShardJob),
    Feedback(SeriesId, Feedback),
    Tolerance(SeriesId, Sender<Option<f64>>),
    Snapshot(SeriesId, Sender<Option<String>>),
    SnapshotAll(Sender<Vec<super::SeriesSnapshot>>),
    Restore(Vec<super::SeriesSnapshot>, Sender<super::RestoreReport>),
    Peek(SeriesId, i64, f64, Sender<Option<super::Peek>>),
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
    pub rejected: [u64; 5],
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
    /// The value scored at `newest_ms` (NaN before the first).
    newest_value: f64,
}

pub(super) struct Worker {
    index: usize,
    /// The default pipeline first, then the alternatives.
    pipelines: Arc<[PipelineConfig]>,
    choose: Option<PipelineChooser>,
    seed: u64,
    budget: SeriesBudget,
    slots: SlotMap,
    /// Series states, in order of first appearance; never shrinks.
    series: Vec<SeriesState>,
    stats: ShardStats,
}

impl Worker {
    pub fn new(
        index: usize,
        pipelines: Arc<[PipelineConfig]>,
        choose: Option<PipelineChooser>,
        seed: u64,
        budget: SeriesBudget,
    ) -> Self {
        Worker {
            index,
            pipelines,
            choose,
            seed,
            budget,
            slots: SlotMap::default(),
            series: Vec::new(),
            stats: ShardStats::default(),
        }
    }

    pub fn run(mut self, jobs: Receiver<Job>) {
        while let Ok(job) = jobs.recv() {
            match job {
                Job::Score(job) => self.score(job),
                Job::Feedback(series, Feedback::FalsePositive) => {
                    if let Some(state) = self.state_mut(series) {
                        state.pipeline.widen_tolerance();
                    }
                }
                Job::Tolerance(series, reply) => {
                    let state = self.state(series);
                    let _ = reply.send(state.map(|state| state.pipeline.open_at()));
                }
                Job::Snapshot(series, reply) => {
                    let snapshot = self
                        .state(series)
                        .and_then(|state| serde_json::to_string(&state.pipeline).ok());
                    let _ = reply.send(snapshot);
                }
                Job::SnapshotAll(reply) => {
                    let mut all = Vec::with_capacity(self.series.len());
                    for (series, slot) in &self.slots {
                        let state = &self.series[*slot as usize];
                        all.push(super::SeriesSnapshot {
                            series: *series,
                            newest_ms: state.newest_ms,
                            newest_value: state.newest_value,
                            pipeline: state.pipeline.clone(),
                        });
                    }
                    let _ = reply.send(all);
                }
                Job::Restore(part, reply) => {
                    let _ = reply.send(self.restore(part));
                }
                Job::Peek(series, timestamp_ms, value, reply) => {
                    // A copy scores the point: the live pipeline is not touched.
                    let peek = self.state(series).map(|state| {
                        let mut copy = state.pipeline.clone();
                        let at_ms = timestamp_ms.max(state.newest_ms.saturating_add(1));
                        super::Peek {
                            verdict: copy.verdict(at_ms, value),
                            open_at: state.pipeline.open_at(),
                            newest_ms: state.newest_ms,
                        }
                    });
                    let _ = reply.send(peek);
                }
                Job::Stats(reply) => {
                    let mut stats = self.stats.clone();
                    stats.series = self.series.len();
                    stats.state_bytes = self
                        .series
                        .iter()
                        .map(|state| state.pipeline.state_bytes() + TABLE_ENTRY_BYTES)
                        .sum();
                    let _ = reply.send(stats);
                }
                Job::Stop => break,
            }
        }
    }

    /// Takes in restored series it does not have yet, within the series budget.
    fn restore(&mut self, part: Vec<super::SeriesSnapshot>) -> super::RestoreReport {
        let mut report = super::RestoreReport::default();
        for restored in part {
            let Entry::Vacant(entry) = self.slots.entry(restored.series) else {
                report.present += 1;
                continue;
            };
            if !self.budget.take() {
                report.over_limit += 1;
                continue;
            }
            entry.insert(self.series.len() as u32);
            self.series.push(SeriesState {
                pipeline: restored.pipeline,
                newest_ms: restored.newest_ms,
                newest_value: restored.newest_value,
            });
            report.restored += 1;
        }
        report
    }

    fn state(&self, series: SeriesId) -> Option<&SeriesState> {
        let slot = *self.slots.get(&series)?;
        self.series.get(slot as usize)
    }

    fn state_mut(&mut self, series: SeriesId) -> Option<&mut SeriesState> {
        let slot = *self.slots.get(&series)?;
        self.series.get_mut(slot as usize)
    }

    fn score(&mut self, job: ShardJob) {
        let started = Instant::now();
        // First the slot of every point (new series are created here, in input order),
        // so that the scoring pass knows which state comes next and can prefetch it.
        let slots: Vec<u32> = job
            .points
            .iter()
            .map(|(_, point)| self.slot_of(point))
            .collect();
        let mut outcomes = Vec::with_capacity(job.points.len());
        for (index, (position, point)) in job.points.into_iter().enumerate() {
            self.prefetch(&slots, index);
            let outcome = self.score_one(slots[index], point);
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

    /// Three stages ahead of the point being scored, each for a nearer point than the
    /// last: its state block, then the blocks that state points to, then the detector
    /// windows (whose pointers have landed by then).
    fn prefetch(&self, slots: &[u32], index: usize) {
        let ahead = |distance: usize| {
            slots
                .get(index + distance)
                .and_then(|slot| self.series.get(*slot as usize))
        };
        if let Some(state) = ahead(PREFETCH_STATE_AHEAD) {
            crate::prefetch::object(state);
        }
        if let Some(state) = ahead(PREFETCH_PARTS_AHEAD) {
            state.pipeline.prefetch_parts();
        }
        if let Some(state) = ahead(PREFETCH_WINDOWS_AHEAD) {
            state.pipeline.prefetch_windows();
        }
    }

    /// The slab slot of a point's series, creating the series on its first finite point.
    fn slot_of(&mut self, point: &Point) -> u32 {
        if !point.value.is_finite() {
            return NO_SLOT_NON_FINITE;
        }
        match self.slots.entry(point.series) {
            Entry::Occupied(entry) => *entry.get(),
            Entry::Vacant(entry) => {
                if !self.budget.take() {
                    return NO_SLOT_OVER_LIMIT;
                }
                let seed = self.seed ^ mix(point.series) ^ (self.index as u64);
                let chosen = self
                    .choose
                    .as_ref()
                    .map_or(0, |choose| (choose.0)(point.series));
                let config = self.pipelines.get(chosen).unwrap_or(&self.pipelines[0]);
                let pipeline =
                    SeriesPipeline::new(config, seed).expect("pipeline configs validated at start");
                let slot = self.series.len() as u32;
                self.series.push(SeriesState {
                    pipeline,
                    newest_ms: i64::MIN,
                    newest_value: f64::NAN,
                });
                *entry.insert(slot)
            }
        }
    }

    fn score_one(&mut self, slot: u32, point: Point) -> SampleOutcome {
        let state = match slot {
            NO_SLOT_NON_FINITE => return SampleOutcome::Rejected(RejectReason::NonFinite),
            NO_SLOT_OVER_LIMIT => return SampleOutcome::Rejected(RejectReason::SeriesLimit),
            slot => &mut self.series[slot as usize],
        };
        if point.timestamp_ms < state.newest_ms {
            return SampleOutcome::Rejected(RejectReason::OutOfOrder);
        }
        if point.timestamp_ms == state.newest_ms {
            // The same bits again is a retry; another value for a scored time is refused
            // (the first write of a time wins).
            return SampleOutcome::Rejected(
                if point.value.to_bits() == state.newest_value.to_bits() {
                    RejectReason::Duplicate
                } else {
                    RejectReason::ConflictingValue
                },
            );
        }
        state.newest_ms = point.timestamp_ms;
        state.newest_value = point.value;
        SampleOutcome::Scored(state.pipeline.verdict(point.timestamp_ms, point.value))
    }
}

fn reject_index(reason: RejectReason) -> usize {
    RejectReason::ALL
        .iter()
        .position(|r| *r == reason)
        .unwrap_or(0)
}

/// Table overhead per series: the id → slot entry (id, slot, control byte) and the
/// slab entry (the newest timestamp and the pipeline header).
const TABLE_ENTRY_BYTES: usize =
    std::mem::size_of::<SeriesId>() + std::mem::size_of::<SeriesState>() + 8;
