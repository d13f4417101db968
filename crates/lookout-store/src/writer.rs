//! The single writer thread: drains queued batches, commits them in one transaction,
//! acknowledges each, and runs compactions step by step in between.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use lookout_model::{AnomalyId, AnomalyStatus, Domain, FeedbackLabel, FeedbackRecord, Severity};
use rusqlite::Connection;

use crate::anomalies::{insert_feedback, update_status};
use crate::batch::{AnomalyOp, CommitResult, SampleRow, WriteBatch};
use crate::compact::{self, CompactionReport, Job, Plan};
use crate::error::SqlContext;
use crate::schema::{meta, read_meta, Horizons};
use crate::series::{insert_series, SeriesRegistry};
use crate::{StoreConfig, StoreError};

/// What callers send to the writer.
pub(crate) enum Command {
    Write {
        batch: WriteBatch,
        ack: Sender<CommitResult>,
    },
    Compact {
        now_ms: i64,
        reply: Sender<Result<CompactionReport, StoreError>>,
    },
    Feedback {
        anomaly: AnomalyId,
        label: FeedbackLabel,
        note: String,
        created_ms: i64,
        reply: Sender<Result<FeedbackRecord, StoreError>>,
    },
    SetStatus {
        anomaly: AnomalyId,
        status: AnomalyStatus,
        reply: Sender<Result<(), StoreError>>,
    },
}

pub(crate) struct Writer {
    conn: Connection,
    registry: Arc<SeriesRegistry>,
    horizons: Arc<Horizons>,
    config: StoreConfig,
    /// Samples before this time are late: their rollup buckets must be rebuilt.
    late_before: i64,
    /// Earliest late sample since the running (or last) compaction started; `i64::MAX`: none.
    dirty_from: i64,
    jobs: VecDeque<Job>,
    /// Rows in `samples_log`, and when it was last merged into `samples`.
    log_rows: usize,
    last_log_flush: Instant,
}

const INSERT_SAMPLE: &str = "INSERT INTO samples_log
    (series_id, ts_ms, value, score, is_anomaly, lower, upper)
    VALUES (?, ?, ?, ?, ?, ?, ?)";

/// Samples inserted per statement on the hot path: fewer statement steps per sample.
const ROWS_PER_INSERT: usize = 64;
const COLUMNS: usize = 7;

/// `INSERT INTO samples_log ... VALUES (...), (...), ...` with [`ROWS_PER_INSERT`] rows.
static INSERT_MANY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let row = "(?, ?, ?, ?, ?, ?, ?)";
    let rows = vec![row; ROWS_PER_INSERT].join(", ");
    format!(
        "INSERT INTO samples_log (series_id, ts_ms, value, score, is_anomaly, lower, upper) VALUES {rows}"
    )
});

/// Rows sorted by series and time, then by arrival, so that `INSERT OR REPLACE` walks the
/// table in key order and the last write of a duplicate wins.
const MERGE_LOG: &str = "INSERT OR REPLACE INTO samples
    (series_id, ts_ms, value, score, is_anomaly, lower, upper)
    SELECT series_id, ts_ms, value, score, is_anomaly, lower, upper
    FROM samples_log ORDER BY series_id, ts_ms, rowid";

const UPSERT_ANOMALY: &str = "INSERT INTO anomalies
    (series_id, start_ms, end_ms, peak_score, severity, domain, explanation, status)
    VALUES (?1, ?2, NULL, ?3, ?4, ?5, ?6, 'open')
    ON CONFLICT (series_id, start_ms) DO UPDATE SET
        explanation = CASE WHEN excluded.peak_score > peak_score
                           THEN excluded.explanation ELSE explanation END,
        severity = CASE WHEN excluded.peak_score > peak_score
                        THEN excluded.severity ELSE severity END,
        peak_score = max(peak_score, excluded.peak_score)";

const CLOSE_ANOMALY: &str = "UPDATE anomalies
    SET end_ms = ?3, status = CASE status WHEN 'open' THEN ?4 ELSE status END
    WHERE series_id = ?1 AND start_ms = ?2";

impl Writer {
    pub fn new(
        conn: Connection,
        registry: Arc<SeriesRegistry>,
        horizons: Arc<Horizons>,
        config: StoreConfig,
    ) -> Result<Writer, StoreError> {
        let dirty_from = read_meta(&conn, meta::DIRTY_FROM)?.unwrap_or(i64::MAX);
        let late_before = horizons.rollup_1m_until.load(Ordering::Acquire);
        let log_rows: i64 = conn
            .query_row("SELECT count(*) FROM samples_log", [], |row| row.get(0))
            .context("counting the ingest log")?;
        Ok(Writer {
            log_rows: usize::try_from(log_rows).unwrap_or(0),
            last_log_flush: Instant::now(),
            conn,
            registry,
            horizons,
            config,
            late_before,
            dirty_from,
            jobs: VecDeque::new(),
        })
    }

    /// Runs until every sender is gone; then commits what is left and returns.
    pub fn run(mut self, commands: Receiver<Command>) {
        let mut group: Vec<(WriteBatch, Sender<CommitResult>)> = Vec::new();
        loop {
            let first = if self.jobs.is_empty() {
                match commands.recv() {
                    Ok(command) => command,
                    Err(_) => break,
                }
            } else {
                match commands.try_recv() {
                    Ok(command) => command,
                    Err(TryRecvError::Empty) => {
                        self.step_compaction();
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => break,
                }
            };
            let mut samples = self.accept(first, &mut group);
            while group.len() < self.config.max_batches_per_commit
                && samples < self.config.max_samples_per_commit
            {
                match commands.try_recv() {
                    Ok(command) => samples += self.accept(command, &mut group),
                    Err(_) => break,
                }
            }
            if !group.is_empty() || self.registry.has_pending() {
                self.commit_group(&mut group);
            }
            self.maybe_flush_log();
            if !self.jobs.is_empty() {
                self.step_compaction();
            }
        }
        if self.registry.has_pending() {
            self.commit_group(&mut group);
        }
        if let Err(error) = self.flush_log() {
            tracing::error!(%error, "merging the ingest log on close failed");
        }
        for job in self.jobs.drain(..) {
            let _ = job.reply.send(Err(StoreError::Closed));
        }
    }

    /// Adds a write to the group (returning its sample count) or queues a compaction.
    fn accept(
        &mut self,
        command: Command,
        group: &mut Vec<(WriteBatch, Sender<CommitResult>)>,
    ) -> usize {
        match command {
            Command::Write { batch, ack } => {
                let samples = batch.samples.len();
                group.push((batch, ack));
                samples
            }
            Command::Compact { now_ms, reply } => {
                self.jobs.push_back(Job::new(now_ms, reply));
                0
            }
            // Rare, small writes: done at once in their own transaction (the group
            // being gathered is only in memory, so no transaction is open).
            Command::Feedback {
                anomaly,
                label,
                note,
                created_ms,
                reply,
            } => {
                let _ = reply.send(insert_feedback(
                    &mut self.conn,
                    anomaly,
                    label,
                    &note,
                    created_ms,
                ));
                0
            }
            Command::SetStatus {
                anomaly,
                status,
                reply,
            } => {
                let _ = reply.send(update_status(&self.conn, anomaly, status));
                0
            }
        }
    }

    fn commit_group(&mut self, group: &mut Vec<(WriteBatch, Sender<CommitResult>)>) {
        let pending = self.registry.take_pending();
        let outcome = write_group(
            &mut self.conn,
            &self.registry,
            &pending,
            group,
            self.late_before,
            self.dirty_from,
        );
        match outcome {
            Ok(earliest_late) => {
                self.log_rows += group
                    .iter()
                    .map(|(batch, _)| batch.samples.len())
                    .sum::<usize>();
                self.dirty_from = self.dirty_from.min(earliest_late);
                for (_, ack) in group.drain(..) {
                    let _ = ack.send(Ok(()));
                }
            }
            Err(error) => {
                self.registry.restore_pending(pending);
                let samples = group.iter().map(|(batch, _)| batch.len()).sum();
                let batches = group.len();
                tracing::error!(%error, batches, samples, "store commit failed");
                let reason = error.to_string();
                for (_, ack) in group.drain(..) {
                    let _ = ack.send(Err(StoreError::CommitFailed {
                        batches,
                        samples,
                        reason: reason.clone(),
                    }));
                }
            }
        }
    }

    /// Merges the ingest log when it is big or old enough.
    fn maybe_flush_log(&mut self) {
        let due = self.log_rows >= self.config.log_flush_rows
            || (self.log_rows > 0
                && self.last_log_flush.elapsed() >= self.config.log_flush_interval);
        if !due {
            return;
        }
        if let Err(error) = self.flush_log() {
            // The rows stay in the log, where queries still find them; retried next time.
            tracing::error!(%error, rows = self.log_rows, "merging the ingest log failed");
        }
    }

    /// Moves every row of `samples_log` into `samples` (one transaction).
    fn flush_log(&mut self) -> Result<(), StoreError> {
        self.last_log_flush = Instant::now();
        if self.log_rows == 0 {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction()
            .context("beginning an ingest log merge")?;
        tx.execute(MERGE_LOG, [])
            .context("merging the ingest log into samples")?;
        tx.execute("DELETE FROM samples_log", [])
            .context("emptying the ingest log")?;
        tx.commit().context("committing an ingest log merge")?;
        self.log_rows = 0;
        Ok(())
    }

    /// Runs one step of the oldest compaction; answers it when it is done or failed.
    fn step_compaction(&mut self) {
        let Some(mut job) = self.jobs.pop_front() else {
            return;
        };
        match self.advance(&mut job) {
            Ok(false) => self.jobs.push_front(job),
            Ok(true) => {
                let _ = job.reply.send(Ok(job.report));
            }
            Err(error) => {
                self.dirty_from = self.dirty_from.min(job.dirty_at_start);
                tracing::error!(%error, now_ms = job.now_ms, "store compaction failed");
                let _ = job.reply.send(Err(StoreError::CompactionFailed {
                    now_ms: job.now_ms,
                    reason: error.to_string(),
                }));
            }
        }
    }

    /// One step; `Ok(true)` when the job is finished.
    fn advance(&mut self, job: &mut Job) -> Result<bool, StoreError> {
        let plan = match job.plan {
            Some(plan) => plan,
            None => {
                // Rollups read `samples`: bring the log in first.
                self.flush_log()?;
                self.start(job)
            }
        };
        if job.next < job.series.len() {
            let end = (job.next + self.config.compaction_series_per_step).min(job.series.len());
            compact::compact_series(
                &mut self.conn,
                &plan,
                &job.series[job.next..end],
                &mut job.report,
            )?;
            job.next = end;
            return Ok(false);
        }
        compact::finish(
            &mut self.conn,
            &plan,
            self.dirty_from,
            &self.horizons,
            &mut job.report,
        )?;
        Ok(true)
    }

    /// Fixes the plan of a job, and from now on counts samples before its end as late.
    fn start(&mut self, job: &mut Job) -> Plan {
        let plan = Plan::new(
            job.now_ms,
            &self.config,
            self.horizons.snapshot(),
            self.dirty_from,
        );
        job.plan = Some(plan);
        job.series = self.registry.all().iter().map(|info| info.id).collect();
        job.dirty_at_start = self.dirty_from;
        self.dirty_from = i64::MAX;
        self.late_before = self.late_before.max(plan.minute_to);
        // Queries read rollups below the new cut-offs from now on: they already exist
        // there, except for buckets this job is about to build.
        self.horizons
            .raw_horizon
            .fetch_max(plan.raw_cutoff, Ordering::AcqRel);
        self.horizons
            .rollup_1m_horizon
            .fetch_max(plan.minute_cutoff, Ordering::AcqRel);
        plan
    }
}

/// Writes one group in one transaction; returns the earliest late timestamp (`i64::MAX`: none).
fn write_group(
    conn: &mut Connection,
    registry: &SeriesRegistry,
    pending: &[crate::series::NewSeries],
    group: &[(WriteBatch, Sender<CommitResult>)],
    late_before: i64,
    dirty_from: i64,
) -> Result<i64, StoreError> {
    let tx = conn
        .transaction()
        .context("beginning a write transaction")?;
    insert_series(&tx, pending)?;
    let mut earliest_late = i64::MAX;
    {
        let mut many = tx
            .prepare_cached(&INSERT_MANY)
            .context("preparing the sample insert")?;
        let mut one = tx
            .prepare_cached(INSERT_SAMPLE)
            .context("preparing the sample insert")?;
        for (batch, _) in group {
            for row in &batch.samples {
                if row.ts_ms < late_before {
                    earliest_late = earliest_late.min(row.ts_ms);
                }
            }
            let mut chunks = batch.samples.chunks_exact(ROWS_PER_INSERT);
            for chunk in &mut chunks {
                for (index, row) in chunk.iter().enumerate() {
                    bind_sample(&mut many, index * COLUMNS, row)?;
                }
                many.raw_execute().context("inserting samples")?;
            }
            for row in chunks.remainder() {
                bind_sample(&mut one, 0, row)?;
                one.raw_execute().context("inserting a sample")?;
            }
        }
    }
    for (batch, _) in group {
        for op in &batch.anomalies {
            apply_anomaly_op(&tx, registry, op)?;
        }
    }
    if earliest_late < dirty_from {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = min(value, excluded.value)",
            rusqlite::params![meta::DIRTY_FROM, earliest_late],
        )
        .context("recording late samples")?;
    }
    tx.commit().context("committing a write transaction")?;
    Ok(earliest_late)
}

/// Binds one sample's seven columns starting after parameter `offset`.
fn bind_sample(
    stmt: &mut rusqlite::CachedStatement<'_>,
    offset: usize,
    row: &SampleRow,
) -> Result<(), StoreError> {
    let value = (!row.value.is_nan()).then_some(row.value);
    let (score, is_anomaly, lower, upper) = match &row.verdict {
        Some(verdict) => (
            (!verdict.score.is_nan()).then_some(verdict.score),
            verdict.is_anomaly,
            (!verdict.lower.is_nan()).then_some(verdict.lower),
            (!verdict.upper.is_nan()).then_some(verdict.upper),
        ),
        None => (None, false, None, None),
    };
    let bind = |stmt: &mut rusqlite::CachedStatement<'_>| -> rusqlite::Result<()> {
        stmt.raw_bind_parameter(offset + 1, row.series.0)?;
        stmt.raw_bind_parameter(offset + 2, row.ts_ms)?;
        stmt.raw_bind_parameter(offset + 3, value)?;
        stmt.raw_bind_parameter(offset + 4, score)?;
        stmt.raw_bind_parameter(offset + 5, is_anomaly)?;
        stmt.raw_bind_parameter(offset + 6, lower)?;
        stmt.raw_bind_parameter(offset + 7, upper)
    };
    bind(stmt).context("binding a sample")
}

fn apply_anomaly_op(
    conn: &Connection,
    registry: &SeriesRegistry,
    op: &AnomalyOp,
) -> Result<(), StoreError> {
    match op {
        AnomalyOp::Open {
            series,
            start_ms,
            score,
            explanation,
        }
        | AnomalyOp::Update {
            series,
            start_ms,
            score,
            explanation,
        } => {
            let domain = registry
                .info(*series)
                .map_or(Domain::Other, |info| info.domain);
            let explanation_json =
                serde_json::to_string(explanation).map_err(|error| StoreError::Corrupt {
                    what: format!("explanation of anomaly ({series}, {start_ms})"),
                    reason: error.to_string(),
                })?;
            conn.prepare_cached(UPSERT_ANOMALY)
                .and_then(|mut stmt| {
                    stmt.execute(rusqlite::params![
                        series.0,
                        start_ms,
                        score,
                        Severity::from_score(*score).as_str(),
                        domain.as_str(),
                        explanation_json
                    ])
                })
                .context("storing an anomaly")?;
        }
        AnomalyOp::Close {
            series,
            start_ms,
            end_ms,
        } => {
            conn.prepare_cached(CLOSE_ANOMALY)
                .and_then(|mut stmt| {
                    stmt.execute(rusqlite::params![
                        series.0,
                        start_ms,
                        end_ms,
                        AnomalyStatus::Resolved.as_str()
                    ])
                })
                .context("closing an anomaly")?;
        }
    }
    Ok(())
}
