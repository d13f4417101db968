//! The polling loop shared by sources that collect on a timer.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use lookout_model::Sample;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use crate::{Shutdown, Source, SourceBatch};

/// What one collection produced: samples, events, and the problems that did not stop it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Collected {
    pub samples: Vec<Sample>,
    /// Findings that are not numbers (see [`lookout_model::Event`]).
    pub events: Vec<lookout_model::Event>,
    /// Each names the thing that failed and why, e.g. `cannot read /proc/diskstats: ...`.
    pub errors: Vec<String>,
    /// See [`crate::SourceBatch::read_offsets`].
    pub read_offsets: Vec<lookout_model::ReadOffset>,
}

/// Synchronous collection, called once per tick on a blocking thread.
///
/// Keeping it synchronous keeps the logic testable without a runtime; state between
/// calls (previous counter snapshots) lives in the collector.
pub trait Collector: Send + 'static {
    fn collect(&mut self) -> Collected;

    /// See [`crate::Source::resume`].
    fn resume(&mut self, offsets: Vec<lookout_model::ReadOffset>) {
        let _ = offsets;
    }
}

/// Runs a [`Collector`] every `interval` as a [`Source`].
///
/// Ticks that fall behind are delayed, not bunched (`MissedTickBehavior::Delay`). When a
/// collection yields errors and no sample, the loop backs off exponentially (interval ×
/// 2, 4, 8, ... up to `max_backoff`) before trying again; one good collection resets it.
pub struct PollingSource<C> {
    name: String,
    interval: Duration,
    max_backoff: Duration,
    collector: C,
}

impl<C: Collector> PollingSource<C> {
    /// `interval` must be positive. The back-off is capped at the larger of one minute
    /// and the interval.
    pub fn new(name: impl Into<String>, interval: Duration, collector: C) -> Self {
        assert!(!interval.is_zero(), "a polling interval must be positive");
        PollingSource {
            name: name.into(),
            interval,
            max_backoff: interval.max(Duration::from_secs(60)),
            collector,
        }
    }

    pub fn with_max_backoff(mut self, max_backoff: Duration) -> Self {
        self.max_backoff = max_backoff.max(self.interval);
        self
    }

    async fn run_loop(self, batches: mpsc::Sender<SourceBatch>, mut shutdown: Shutdown) {
        let PollingSource {
            name,
            interval,
            max_backoff,
            collector,
        } = self;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut collector = Some(collector);
        let mut failures = 0u32;
        let mut logged_errors = BTreeSet::new();
        loop {
            tokio::select! {
                biased;
                _ = shutdown.wait() => return,
                _ = ticker.tick() => {}
            }
            let Some(mut owned) = collector.take() else {
                return;
            };
            let outcome = tokio::task::spawn_blocking(move || {
                let collected = owned.collect();
                (owned, collected)
            })
            .await;
            let (owned, collected) = match outcome {
                Ok(outcome) => outcome,
                Err(error) => {
                    tracing::error!(source = %name, %error, "collection task failed; the source stops");
                    return;
                }
            };
            collector = Some(owned);
            log_error_changes(&name, &collected.errors, &mut logged_errors);
            let nothing = collected.samples.is_empty() && collected.events.is_empty();
            let failed = nothing && !collected.errors.is_empty();
            if !nothing || !collected.errors.is_empty() || !collected.read_offsets.is_empty() {
                let batch = SourceBatch {
                    source: name.clone(),
                    samples: collected.samples,
                    events: collected.events,
                    errors: collected.errors,
                    read_offsets: collected.read_offsets,
                    receipt: None,
                };
                tokio::select! {
                    biased;
                    _ = shutdown.wait() => return,
                    sent = batches.send(batch) => if sent.is_err() {
                        tracing::debug!(source = %name, "the batch channel is closed; the source stops");
                        return;
                    },
                }
            }
            if !failed {
                failures = 0;
                continue;
            }
            failures = failures.saturating_add(1);
            let delay = backoff_delay(interval, failures, max_backoff);
            tracing::debug!(source = %name, failures, delay_ms = delay.as_millis() as u64, "backing off");
            tokio::select! {
                biased;
                _ = shutdown.wait() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            ticker.reset();
        }
    }
}

impl<C: Collector> Source for PollingSource<C> {
    fn name(&self) -> &str {
        &self.name
    }

    fn resume(&mut self, offsets: Vec<lookout_model::ReadOffset>) {
        self.collector.resume(offsets);
    }

    fn run(
        self: Box<Self>,
        batches: mpsc::Sender<SourceBatch>,
        shutdown: Shutdown,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin((*self).run_loop(batches, shutdown))
    }
}

/// The extra wait after `failures` failed collections in a row: interval × 2^failures, capped.
pub(crate) fn backoff_delay(interval: Duration, failures: u32, max_backoff: Duration) -> Duration {
    let factor = 1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX);
    interval.saturating_mul(factor).min(max_backoff)
}

/// Logs an error when it first appears and once when it clears, not at every tick.
fn log_error_changes(source: &str, errors: &[String], logged: &mut BTreeSet<String>) {
    let current: BTreeSet<String> = errors.iter().cloned().collect();
    for error in current.difference(logged) {
        tracing::warn!(source, error = %error, "collection problem");
    }
    for error in logged.difference(&current) {
        tracing::info!(source, error = %error, "collection problem resolved");
    }
    *logged = current;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shutdown_channel;
    use lookout_model::SeriesKey;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let second = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        assert_eq!(backoff_delay(second, 1, cap), Duration::from_secs(2));
        assert_eq!(backoff_delay(second, 3, cap), Duration::from_secs(8));
        assert_eq!(backoff_delay(second, 10, cap), cap);
        assert_eq!(backoff_delay(second, u32::MAX, cap), cap);
    }

    /// Yields `script[i]` at the i-th call: `Ok(n)` = one sample of value n, `Err` = an error only.
    struct Scripted {
        script: Vec<Result<f64, String>>,
        calls: usize,
    }

    impl Collector for Scripted {
        fn collect(&mut self) -> Collected {
            let step = self.script.get(self.calls).cloned().unwrap_or(Ok(-1.0));
            self.calls += 1;
            match step {
                Ok(value) => Collected {
                    samples: vec![Sample {
                        key: SeriesKey::new("m"),
                        timestamp_ms: 0,
                        value,
                    }],
                    ..Collected::default()
                },
                Err(error) => Collected {
                    errors: vec![error],
                    ..Collected::default()
                },
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn errors_are_sent_then_the_loop_backs_off_and_recovers() {
        let collector = Scripted {
            script: vec![Ok(1.0), Err("cannot read /proc/x".into()), Ok(2.0)],
            calls: 0,
        };
        let source = PollingSource::new("test", Duration::from_secs(1), collector);
        let (sender, mut receiver) = mpsc::channel(1);
        let (trigger, shutdown) = shutdown_channel();
        let task = crate::spawn(Box::new(source), sender, shutdown);
        let first = receiver.recv().await.unwrap();
        assert_eq!(first.samples[0].value, 1.0);
        let started = tokio::time::Instant::now();
        let second = receiver.recv().await.unwrap();
        assert_eq!(second.errors, ["cannot read /proc/x"]);
        assert!(second.samples.is_empty());
        let third = receiver.recv().await.unwrap();
        assert_eq!(third.samples[0].value, 2.0);
        // One regular tick (1 s) plus a 2 s back-off plus one tick after the reset (1 s).
        assert!(
            started.elapsed() >= Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        trigger.trigger();
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn the_source_stops_when_the_receiver_is_dropped() {
        let collector = Scripted {
            script: vec![],
            calls: 0,
        };
        let (sender, receiver) = mpsc::channel(1);
        let (_trigger, shutdown) = shutdown_channel();
        drop(receiver);
        let task = crate::spawn(
            Box::new(PollingSource::new("t", Duration::from_secs(1), collector)),
            sender,
            shutdown,
        );
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("stopped")
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_interrupts_a_blocked_send() {
        let collector = Scripted {
            script: vec![],
            calls: 0,
        };
        let (sender, _receiver) = mpsc::channel(1);
        let (trigger, shutdown) = shutdown_channel();
        let task = crate::spawn(
            Box::new(PollingSource::new("t", Duration::from_secs(1), collector)),
            sender,
            shutdown,
        );
        // The channel holds one batch; the second send blocks until shutdown.
        tokio::time::sleep(Duration::from_secs(5)).await;
        trigger.trigger();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("stopped")
            .unwrap();
    }
}
