//! The simulated fleet behind `lookout demo`, as a [`Source`].
//!
//! Twelve machines ([`fleet`]: web, database, batch, one underused, one idle), each with
//! CPU, memory, disk, network in/out and a status check, one point per series every
//! `step` (default one minute, like CloudWatch). The timeline ends at the real present:
//!
//! 1. **History** (`history`, default 3 days, ending `live_window` before now) is sent
//!    as fast as the receiver takes it, so detectors are warm when the live part starts;
//!    it holds no incident.
//! 2. **Replay** of the last `live_window` (default 4 hours) at `speed` × real time
//!    (default 60: one simulated minute per second), with the [`schedule`]'s incidents
//!    (a CPU surge, a network spike, a machine that cools hard, a failing status check,
//!    a memory leak, a machine going idle, a disk filling) one every `gap`.
//! 3. Once the simulated clock has caught up with the real one, **real time**: one point
//!    per `step`, the incidents repeating every cycle.
//!
//! Timestamps never pass the real clock, so the dashboard's "last hours" views show the
//! replay as it happens. The schedule is known in advance ([`DemoSource::schedule`]) so
//! that a test can check that each incident was detected.

pub mod fleet;
pub mod schedule;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use lookout_model::clock::now_ms;
use tokio::sync::mpsc;

use crate::{Shutdown, Source, SourceBatch};
pub use fleet::{Fleet, Machine, Metric, Role};
pub use schedule::{Incident, IncidentKind, Schedule};

/// The demo's timeline; see the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOptions {
    pub seed: u64,
    /// Time between two points of a series.
    pub step: Duration,
    /// History sent at once before the replay.
    pub history: Duration,
    /// The replayed span before now, where incidents happen.
    pub live_window: Duration,
    /// Simulated time per real time during the replay (≥ 1).
    pub speed: f64,
    /// Time from the replay's start to the first incident.
    pub lead: Duration,
    /// Time between two incidents' starts.
    pub gap: Duration,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            seed: 42,
            step: Duration::from_secs(60),
            history: Duration::from_secs(3 * 86_400),
            live_window: Duration::from_secs(4 * 3_600),
            speed: 60.0,
            lead: Duration::from_secs(20 * 60),
            gap: Duration::from_secs(30 * 60),
        }
    }
}

/// Progress messages of the demo, for the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum DemoPhase {
    HistorySent { points: usize },
    CaughtUp,
}

/// The fleet as a source; see the module documentation.
pub struct DemoSource {
    fleet: Fleet,
    schedule: Schedule,
    options: DemoOptions,
    history_start_ms: i64,
    live_start_ms: i64,
    progress: Option<mpsc::UnboundedSender<DemoPhase>>,
}

impl DemoSource {
    /// A demo whose replay ends at `now_ms`.
    pub fn new(options: DemoOptions, now_ms: i64) -> DemoSource {
        let step_ms = duration_ms(options.step).max(1);
        let align = |t: i64| t - t.rem_euclid(step_ms);
        let live_start_ms = align(now_ms - duration_ms(options.live_window));
        let history_start_ms = align(live_start_ms - duration_ms(options.history));
        let schedule = Schedule::standard(
            live_start_ms,
            duration_ms(options.lead),
            duration_ms(options.gap),
            duration_ms(options.live_window),
        );
        DemoSource {
            fleet: Fleet::standard(options.seed),
            schedule,
            options,
            history_start_ms,
            live_start_ms,
            progress: None,
        }
    }

    /// Reports the phases on `progress`.
    pub fn with_progress(mut self, progress: mpsc::UnboundedSender<DemoPhase>) -> Self {
        self.progress = Some(progress);
        self
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// Where the replay (and the incidents) start.
    pub fn live_start_ms(&self) -> i64 {
        self.live_start_ms
    }

    pub fn history_start_ms(&self) -> i64 {
        self.history_start_ms
    }

    async fn run_loop(self, batches: mpsc::Sender<SourceBatch>, mut shutdown: Shutdown) {
        let step_ms = duration_ms(self.options.step).max(1);
        let mut next_ms = self.history_start_ms;
        let mut points = 0;
        // 1. History, one hour of points per batch, as fast as the receiver takes them.
        while next_ms < self.live_start_ms {
            let end = (next_ms + 60 * step_ms).min(self.live_start_ms);
            let samples = self.points(&mut next_ms, end, step_ms);
            points += samples.len();
            if !send(&batches, &mut shutdown, samples).await {
                return;
            }
        }
        self.report(DemoPhase::HistorySent { points });
        // 2. Replay at `speed`, then 3. real time.
        let replay_started = Instant::now();
        let speed = self.options.speed.max(1.0);
        let tick = Duration::from_secs_f64((step_ms as f64 / 1000.0 / speed).max(0.01));
        let mut caught_up = false;
        loop {
            let simulated = self.live_start_ms
                + (replay_started.elapsed().as_secs_f64() * speed * 1000.0) as i64;
            let real = now_ms();
            if !caught_up && simulated >= real {
                caught_up = true;
                self.report(DemoPhase::CaughtUp);
            }
            let until = simulated.min(real) + 1;
            if next_ms < until {
                let samples = self.points(&mut next_ms, until, step_ms);
                if !send(&batches, &mut shutdown, samples).await {
                    return;
                }
            }
            let wait = if caught_up {
                Duration::from_millis((next_ms - real).clamp(10, step_ms) as u64)
            } else {
                tick
            };
            tokio::select! {
                biased;
                _ = shutdown.wait() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Every series' points from `*next_ms` (advanced) up to `end_ms` (excluded).
    fn points(&self, next_ms: &mut i64, end_ms: i64, step_ms: i64) -> Vec<lookout_model::Sample> {
        let mut samples = Vec::new();
        while *next_ms < end_ms {
            samples.extend(self.fleet.samples_at(*next_ms, &self.schedule));
            *next_ms += step_ms;
        }
        samples
    }

    fn report(&self, phase: DemoPhase) {
        if let Some(progress) = &self.progress {
            let _ = progress.send(phase);
        }
    }
}

async fn send(
    batches: &mpsc::Sender<SourceBatch>,
    shutdown: &mut Shutdown,
    samples: Vec<lookout_model::Sample>,
) -> bool {
    let batch = SourceBatch {
        source: "demo".to_string(),
        samples,
        events: Vec::new(),
        errors: Vec::new(),
        read_offsets: Vec::new(),
        receipt: None,
    };
    tokio::select! {
        biased;
        _ = shutdown.wait() => false,
        sent = batches.send(batch) => sent.is_ok(),
    }
}

impl Source for DemoSource {
    fn name(&self) -> &str {
        "demo"
    }

    fn run(
        self: Box<Self>,
        batches: mpsc::Sender<SourceBatch>,
        shutdown: Shutdown,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin((*self).run_loop(batches, shutdown))
    }
}

fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shutdown_channel;

    #[tokio::test]
    async fn history_then_replay_until_caught_up_in_order() {
        let options = DemoOptions {
            history: Duration::from_secs(2 * 3_600),
            live_window: Duration::from_secs(600),
            speed: 600.0,
            ..DemoOptions::default()
        };
        let now = now_ms();
        let (progress, mut phases) = mpsc::unbounded_channel();
        let source = DemoSource::new(options, now).with_progress(progress);
        let history_start = source.history_start_ms();
        let (sender, mut receiver) = mpsc::channel(4);
        let (trigger, shutdown) = shutdown_channel();
        let task = crate::spawn(Box::new(source), sender, shutdown);
        let mut last = i64::MIN;
        let mut points = 0;
        loop {
            let batch = receiver.recv().await.unwrap();
            for sample in &batch.samples {
                assert!(sample.timestamp_ms >= last);
                assert!(sample.timestamp_ms <= now_ms());
                last = sample.timestamp_ms;
            }
            points += batch.samples.len();
            if last >= now - 60_000 {
                break;
            }
        }
        assert_eq!(
            phases.recv().await,
            Some(DemoPhase::HistorySent { points: 120 * 72 })
        );
        let expected = ((last - history_start) / 60_000 + 1) as usize * 72;
        assert_eq!(points, expected);
        trigger.trigger();
        task.await.unwrap();
    }
}
