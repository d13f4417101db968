//! Settings of the store: retention periods, queue and commit sizes, cache sizes.

use std::time::Duration;

use crate::StoreError;

const DAY: Duration = Duration::from_secs(86_400);

/// How long data is kept at each resolution and how the writer batches.
///
/// Defaults: raw samples 3 days, 1-minute rollups 90 days, 1-hour rollups 2 years
/// (730 days). Three days of raw data cover a weekend: an incident on Friday evening can
/// still be examined second by second on Monday. Longer views do not need raw rows: a
/// 7-day chart of 1,000 points has 10-minute buckets and reads the minute rollups. Raw
/// rows cost about 42 bytes each, so 100 series sampled every second take 1.0 GiB for
/// three days (2.4 GiB for seven); see the crate README for the measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// Raw samples older than this are deleted by compaction (after their rollups exist).
    pub raw_retention: Duration,
    /// 1-minute rollups older than this are deleted.
    pub rollup_1m_retention: Duration,
    /// 1-hour rollups, and anomalies that ended, older than this are deleted.
    pub rollup_1h_retention: Duration,
    /// Events older than this are deleted (default 30 days).
    pub event_retention: Duration,
    /// How many batches may wait for the writer before `try_submit` answers `Full`.
    pub queue_capacity: usize,
    /// At most this many batches are committed in one transaction.
    pub max_batches_per_commit: usize,
    /// A commit group stops growing once it holds this many samples.
    pub max_samples_per_commit: usize,
    /// Idle read-only connections kept for queries.
    pub read_pool_size: usize,
    /// SQLite page cache of the writer connection, in MiB.
    pub writer_cache_mib: usize,
    /// SQLite page cache of each read connection, in MiB.
    pub reader_cache_mib: usize,
    /// Series rolled up and pruned per compaction transaction; writes interleave between.
    pub compaction_series_per_step: usize,
    /// The head (committed rows held in memory and in the ingest log) is sealed into a
    /// block of chunks once it holds this many rows...
    pub log_flush_rows: usize,
    /// ...or once its oldest row waited this long.
    pub log_flush_interval: Duration,
    /// Rows written per sealing transaction; commits of new writes run in between.
    pub seal_rows_per_step: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            raw_retention: 3 * DAY,
            rollup_1m_retention: 90 * DAY,
            rollup_1h_retention: 730 * DAY,
            event_retention: 30 * DAY,
            queue_capacity: 64,
            max_batches_per_commit: 256,
            max_samples_per_commit: 200_000,
            read_pool_size: 4,
            writer_cache_mib: 16,
            reader_cache_mib: 16,
            compaction_series_per_step: 64,
            log_flush_rows: 262_144,
            log_flush_interval: Duration::from_secs(10),
            seal_rows_per_step: 32_768,
        }
    }
}

impl StoreConfig {
    /// Checks that the retentions nest (raw ≤ 1m ≤ 1h, raw at least an hour) and sizes are positive.
    pub fn validate(&self) -> Result<(), StoreError> {
        let hour = Duration::from_secs(3600);
        if self.raw_retention < hour {
            return Err(StoreError::Config(format!(
                "raw_retention {:?} is shorter than one hour",
                self.raw_retention
            )));
        }
        if self.rollup_1m_retention < self.raw_retention {
            return Err(StoreError::Config(format!(
                "rollup_1m_retention {:?} is shorter than raw_retention {:?}",
                self.rollup_1m_retention, self.raw_retention
            )));
        }
        if self.rollup_1h_retention < self.rollup_1m_retention {
            return Err(StoreError::Config(format!(
                "rollup_1h_retention {:?} is shorter than rollup_1m_retention {:?}",
                self.rollup_1h_retention, self.rollup_1m_retention
            )));
        }
        if self.event_retention < hour {
            return Err(StoreError::Config(format!(
                "event_retention {:?} is shorter than one hour",
                self.event_retention
            )));
        }
        for (name, value) in [
            ("queue_capacity", self.queue_capacity),
            ("max_batches_per_commit", self.max_batches_per_commit),
            ("max_samples_per_commit", self.max_samples_per_commit),
            (
                "compaction_series_per_step",
                self.compaction_series_per_step,
            ),
            ("seal_rows_per_step", self.seal_rows_per_step),
        ] {
            if value == 0 {
                return Err(StoreError::Config(format!("{name} must be at least 1")));
            }
        }
        Ok(())
    }
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        StoreConfig::default().validate().unwrap();
    }

    #[test]
    fn retentions_must_nest() {
        let config = StoreConfig {
            rollup_1m_retention: Duration::from_secs(3600),
            ..StoreConfig::default()
        };
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("rollup_1m_retention"), "{error}");
    }

    #[test]
    fn zero_queue_is_refused() {
        let config = StoreConfig {
            queue_capacity: 0,
            ..StoreConfig::default()
        };
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("queue_capacity"));
    }
}
