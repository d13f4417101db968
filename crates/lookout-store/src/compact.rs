//! Compaction: builds rollups and deletes what is past retention, in small steps.
//!
//! The 1-minute rollups are rebuilt for every bucket that ended at least a minute ago and
//! was not rolled up yet, plus every bucket that received a late sample since the last
//! run (the writer records the earliest late timestamp in `meta.dirty_from`, in the same
//! transaction as the sample). Hour rollups are rebuilt from minute rollups the same way.
//! So rollups exist for recent data too, and long-range queries read them instead of raw
//! rows. Raw rows, minute rollups and hour rollups are then deleted below their retention
//! cut-offs (rounded down to whole hours, never above what has been rolled up).
//!
//! A bucket older than the data already deleted can still receive a late sample; its new
//! rows are merged into the stored rollup (min, max, sum, count and the anomaly count add
//! up; the stored `last` is kept), because replacing it would forget the deleted rows.
//!
//! The writer thread runs a compaction one step at a time (a few series per transaction)
//! and commits queued write batches between steps, so ingestion keeps flowing.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::Sender;
use lookout_model::SeriesId;
use rusqlite::Connection;

use crate::config::millis;
use crate::error::SqlContext;
use crate::rollup::{floor_to, rollup_minutes_to_hours, rollup_raw_to_minutes, HOUR_MS, MINUTE_MS};
use crate::schema::{meta, write_meta, HorizonSnapshot, Horizons};
use crate::{StoreConfig, StoreError};

/// What one compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactionReport {
    pub now_ms: i64,
    /// Series visited.
    pub series: usize,
    /// 1-minute rollup rows written.
    pub rollup_1m_rows: u64,
    /// 1-hour rollup rows written.
    pub rollup_1h_rows: u64,
    pub deleted_raw: u64,
    pub deleted_1m: u64,
    pub deleted_1h: u64,
    /// Ended anomalies (and their feedback) deleted after the 1-hour retention.
    pub deleted_anomalies: u64,
    /// Events deleted after the event retention.
    pub deleted_events: u64,
    /// Raw samples before this time are now gone (`i64::MIN`: none deleted yet).
    pub raw_horizon: i64,
}

/// Time ranges of one compaction, fixed when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    pub minute_from: i64,
    pub minute_to: i64,
    pub hour_from: i64,
    pub hour_to: i64,
    pub raw_cutoff: i64,
    pub minute_cutoff: i64,
    pub hour_cutoff: i64,
    pub raw_merge_below: i64,
    pub minute_merge_below: i64,
    /// Events before this time are deleted.
    pub event_cutoff: i64,
}

impl Plan {
    pub fn new(
        now_ms: i64,
        config: &StoreConfig,
        horizons: HorizonSnapshot,
        dirty_from: i64,
    ) -> Plan {
        let minute_to = floor_to(now_ms - MINUTE_MS, MINUTE_MS).max(horizons.rollup_1m_until);
        let minute_from = floor_to(horizons.rollup_1m_until.min(dirty_from), MINUTE_MS);
        let hour_to = floor_to(minute_to, HOUR_MS).max(horizons.rollup_1h_until);
        let hour_from = floor_to(horizons.rollup_1h_until.min(minute_from), HOUR_MS);
        let cutoff = |retention: Duration| {
            floor_to(now_ms.saturating_sub(millis(retention)), HOUR_MS).min(hour_to)
        };
        Plan {
            minute_from,
            minute_to,
            hour_from,
            hour_to,
            raw_cutoff: cutoff(config.raw_retention).max(horizons.raw_horizon),
            minute_cutoff: cutoff(config.rollup_1m_retention).max(horizons.rollup_1m_horizon),
            hour_cutoff: cutoff(config.rollup_1h_retention),
            raw_merge_below: horizons.raw_horizon,
            minute_merge_below: horizons.rollup_1m_horizon,
            event_cutoff: now_ms.saturating_sub(millis(config.event_retention)),
        }
    }
}

/// A compaction in progress inside the writer thread.
pub(crate) struct Job {
    pub now_ms: i64,
    pub plan: Option<Plan>,
    pub series: Vec<SeriesId>,
    pub next: usize,
    /// The writer's late-data mark when the job started, restored if the job fails.
    pub dirty_at_start: i64,
    pub report: CompactionReport,
    pub reply: Sender<Result<CompactionReport, StoreError>>,
}

impl Job {
    pub fn new(now_ms: i64, reply: Sender<Result<CompactionReport, StoreError>>) -> Job {
        Job {
            now_ms,
            plan: None,
            series: Vec::new(),
            next: 0,
            dirty_at_start: i64::MAX,
            report: CompactionReport {
                now_ms,
                ..CompactionReport::default()
            },
            reply,
        }
    }
}

/// Rolls up and prunes `series` in one transaction.
pub(crate) fn compact_series(
    conn: &mut Connection,
    plan: &Plan,
    series: &[SeriesId],
    report: &mut CompactionReport,
) -> Result<(), StoreError> {
    let tx = conn.transaction().context("beginning a compaction step")?;
    for &id in series {
        if plan.minute_from < plan.minute_to {
            report.rollup_1m_rows += rollup_raw_to_minutes(
                &tx,
                id,
                plan.minute_from,
                plan.minute_to,
                plan.raw_merge_below,
            )?;
        }
        if plan.hour_from < plan.hour_to {
            report.rollup_1h_rows += rollup_minutes_to_hours(
                &tx,
                id,
                plan.hour_from,
                plan.hour_to,
                plan.minute_merge_below,
            )?;
        }
        report.deleted_raw += delete_before(
            &tx,
            "DELETE FROM samples WHERE series_id = ?1 AND ts_ms < ?2",
            id,
            plan.raw_cutoff,
        )?;
        report.deleted_1m += delete_before(
            &tx,
            "DELETE FROM samples_1m WHERE series_id = ?1 AND bucket_ts < ?2",
            id,
            plan.minute_cutoff,
        )?;
        report.deleted_1h += delete_before(
            &tx,
            "DELETE FROM samples_1h WHERE series_id = ?1 AND bucket_ts < ?2",
            id,
            plan.hour_cutoff,
        )?;
    }
    tx.commit().context("committing a compaction step")?;
    report.series += series.len();
    Ok(())
}

fn delete_before(
    conn: &Connection,
    sql: &'static str,
    series: SeriesId,
    cutoff: i64,
) -> Result<u64, StoreError> {
    if cutoff == i64::MIN {
        return Ok(0);
    }
    let deleted = conn
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute(rusqlite::params![series.0, cutoff]))
        .context("deleting rows past retention")?;
    Ok(deleted as u64)
}

/// Deletes old anomalies and records the new progress; `dirty_from` is what the writer saw
/// late since this compaction started (`i64::MAX` when nothing).
pub(crate) fn finish(
    conn: &mut Connection,
    plan: &Plan,
    dirty_from: i64,
    horizons: &Horizons,
    report: &mut CompactionReport,
) -> Result<(), StoreError> {
    let tx = conn
        .transaction()
        .context("beginning the last compaction step")?;
    if plan.hour_cutoff != i64::MIN {
        report.deleted_anomalies =
            tx.execute(
                "DELETE FROM anomalies WHERE end_ms IS NOT NULL AND end_ms < ?1",
                [plan.hour_cutoff],
            )
            .context("deleting anomalies past retention")? as u64;
    }
    report.deleted_events = crate::events::delete_before(&tx, plan.event_cutoff)?;
    if plan.raw_cutoff != i64::MIN {
        report.deleted_raw += crate::seal::prune_blocks(&tx, plan.raw_cutoff)?;
    }
    write_meta(&tx, meta::ROLLUP_1M_UNTIL, plan.minute_to)?;
    write_meta(&tx, meta::ROLLUP_1H_UNTIL, plan.hour_to)?;
    write_meta(&tx, meta::RAW_HORIZON, plan.raw_cutoff)?;
    write_meta(&tx, meta::ROLLUP_1M_HORIZON, plan.minute_cutoff)?;
    if dirty_from == i64::MAX {
        tx.execute("DELETE FROM meta WHERE key = ?1", [meta::DIRTY_FROM])
            .context("clearing the late-data mark")?;
    } else {
        write_meta(&tx, meta::DIRTY_FROM, dirty_from)?;
    }
    tx.commit().context("committing the last compaction step")?;
    horizons
        .rollup_1m_until
        .store(plan.minute_to, Ordering::Release);
    horizons
        .rollup_1h_until
        .store(plan.hour_to, Ordering::Release);
    report.raw_horizon = plan.raw_cutoff;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;

    fn fresh() -> HorizonSnapshot {
        HorizonSnapshot {
            rollup_1m_until: i64::MIN,
            rollup_1h_until: i64::MIN,
            raw_horizon: i64::MIN,
            rollup_1m_horizon: i64::MIN,
        }
    }

    #[test]
    fn first_plan_rolls_up_everything_and_cuts_at_whole_hours() {
        let now = 100 * DAY_MS + 90 * 60_000 + 30_000;
        let plan = Plan::new(now, &StoreConfig::default(), fresh(), i64::MAX);
        assert_eq!(plan.minute_from, i64::MIN);
        assert_eq!(plan.minute_to, 100 * DAY_MS + 89 * 60_000);
        assert_eq!(plan.hour_to, 100 * DAY_MS + HOUR_MS);
        assert_eq!(plan.raw_cutoff, 97 * DAY_MS + HOUR_MS);
        assert_eq!(plan.minute_cutoff, 10 * DAY_MS + HOUR_MS);
        assert_eq!(plan.raw_merge_below, i64::MIN);
    }

    #[test]
    fn late_data_widens_the_rebuild() {
        let now = 100 * DAY_MS;
        let mut horizons = fresh();
        horizons.rollup_1m_until = now - 5 * 60_000;
        horizons.rollup_1h_until = now - HOUR_MS;
        let plan = Plan::new(
            now,
            &StoreConfig::default(),
            horizons,
            now - 3 * HOUR_MS - 1,
        );
        assert_eq!(plan.minute_from, now - 3 * HOUR_MS - 60_000);
        assert_eq!(plan.hour_from, now - 4 * HOUR_MS);
    }

    #[test]
    fn raw_is_never_cut_above_the_rollups() {
        let config = StoreConfig::default();
        let now = 100 * DAY_MS;
        let plan = Plan::new(now, &config, fresh(), i64::MAX);
        assert!(plan.raw_cutoff <= plan.hour_to);
        assert!(plan.hour_to <= plan.minute_to);
    }
}
