//! The single writer thread: drains queued batches, commits them in one transaction
//! (one ingest log entry holding every row of the group), adds the rows to the in-memory
//! head, acknowledges each batch, and in between seals head generations into blocks and
//! runs compactions, step by step.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use lookout_model::{
    AnomalyId, AnomalyStatus, Domain, FeedbackLabel, FeedbackRecord, SeriesId, Severity,
};
use rusqlite::Connection;

use crate::anomalies::{insert_feedback, update_status};
use crate::batch::{AnomalyOp, CommitResult, WriteBatch};
use crate::chunk::{encode_log_row, LOG_ROW_BYTES};
use crate::compact::{self, CompactionReport, Job, Plan};
use crate::error::SqlContext;
use crate::head::Head;
use crate::health::{retry_delay, FailureLog, Operation, WriteHealth};
use crate::rows::HeadRow;
use crate::schema::{meta, read_meta, Horizons};
use crate::seal::{recover_blocks, replay_log, Seal};
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
    /// Queued after the commits of the records they account for, so applied after them.
    SaveReadOffsets {
        offsets: Vec<lookout_model::ReadOffset>,
        updated_ms: i64,
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
    /// Committed rows not yet sealed, shared with the readers.
    head: Arc<Head>,
    /// The block being sealed, if any.
    seal: Option<Seal>,
    next_block: i64,
    /// Id of the newest ingest log entry.
    last_log_id: i64,
    /// What `/readyz` reads: whether commits and seals succeed.
    health: Arc<WriteHealth>,
    /// Rate-limited logging of repeated failures.
    failures: FailureLog,
    /// After a failed seal step, no retry before this instant.
    seal_retry_at: Option<Instant>,
}

/// How long the writer sleeps when idle before checking whether the head is due a seal.
const IDLE_TICK: Duration = Duration::from_millis(250);

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
        head: Arc<Head>,
    ) -> Result<Writer, StoreError> {
        let dirty_from = read_meta(&conn, meta::DIRTY_FROM)?.unwrap_or(i64::MAX);
        let late_before = horizons.rollup_1m_until.load(Ordering::Acquire);
        let next_block = recover_blocks(&conn)?;
        let last_log_id = replay_log(&conn, &head)?;
        Ok(Writer {
            head,
            seal: None,
            next_block,
            last_log_id,
            conn,
            registry,
            horizons,
            config,
            late_before,
            dirty_from,
            jobs: VecDeque::new(),
            health: Arc::default(),
            failures: FailureLog::default(),
            seal_retry_at: None,
        })
    }

    /// Reports outcomes to `health` (shared with the store's readers).
    pub fn with_health(mut self, health: Arc<WriteHealth>) -> Writer {
        self.health = health;
        self
    }

    /// A seal is waiting for its retry time: the loop may block on the queue meanwhile.
    fn backing_off(&self) -> Option<Duration> {
        let retry_at = self.seal_retry_at?;
        retry_at.checked_duration_since(Instant::now())
    }

    /// Runs until every sender is gone; then commits what is left and returns.
    pub fn run(mut self, commands: Receiver<Command>) {
        let mut group: Vec<(WriteBatch, Sender<CommitResult>)> = Vec::new();
        loop {
            let waiting = self.backing_off();
            let first = if (self.jobs.is_empty() && self.seal.is_none()) || waiting.is_some() {
                let tick = waiting.map_or(IDLE_TICK, |wait| wait.min(IDLE_TICK));
                match commands.recv_timeout(tick) {
                    Ok(command) => command,
                    Err(RecvTimeoutError::Timeout) => {
                        self.maybe_seal();
                        if self.backing_off().is_none() {
                            self.background_step();
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match commands.try_recv() {
                    Ok(command) => command,
                    Err(TryRecvError::Empty) => {
                        self.background_step();
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
            self.maybe_seal();
            self.background_step();
        }
        if self.registry.has_pending() {
            self.commit_group(&mut group);
        }
        if let Err(error) = self.seal_all() {
            tracing::error!(%error, "sealing the head on close failed");
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
            Command::SaveReadOffsets {
                offsets,
                updated_ms,
                reply,
            } => {
                let _ = reply.send(crate::read_offsets::save(
                    &mut self.conn,
                    &offsets,
                    updated_ms,
                ));
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
            Ok((earliest_late, log_id, rows)) => {
                self.last_log_id = log_id.unwrap_or(self.last_log_id);
                // Queryable before the acknowledgement.
                self.head.append(rows);
                self.dirty_from = self.dirty_from.min(earliest_late);
                for (_, ack) in group.drain(..) {
                    let _ = ack.send(Ok(()));
                }
                self.health.succeeded(Operation::Commit);
                self.failures.succeeded(Operation::Commit);
            }
            Err(error) => {
                self.registry.restore_pending(pending);
                let samples = group.iter().map(|(batch, _)| batch.len()).sum();
                let batches = group.len();
                let reason = error.to_string();
                self.health.failed(Operation::Commit, &reason);
                self.failures.failed(
                    Operation::Commit,
                    &format!("{reason} ({batches} batches, {samples} samples refused)"),
                );
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

    /// Freezes the live head generation into a new seal when it is big or old enough
    /// and no other seal is running.
    fn maybe_seal(&mut self) {
        if self.seal.is_some() {
            return;
        }
        let (rows, started) = self.head.live();
        let due = rows >= self.config.log_flush_rows
            || (rows > 0 && started.elapsed() >= self.config.log_flush_interval);
        if due {
            self.start_seal();
        }
    }

    fn start_seal(&mut self) {
        if let Some(generation) = self.head.freeze() {
            self.seal = Some(Seal::new(self.next_block, generation, self.last_log_id));
            self.next_block += 1;
        }
    }

    /// One step of the running seal, else of the oldest compaction.
    fn background_step(&mut self) {
        if self.seal.is_some() {
            if self.backing_off().is_some() {
                return;
            }
            match self.seal_step(self.config.seal_rows_per_step) {
                Ok(()) => {
                    self.seal_retry_at = None;
                    self.health.succeeded(Operation::Seal);
                    self.failures.succeeded(Operation::Seal);
                }
                Err(error) => {
                    // The generation stays frozen and readable; the step is retried
                    // after a back-off (a full disk once made this a tight loop).
                    let reason = error.to_string();
                    self.health.failed(Operation::Seal, &reason);
                    let failures = self.failures.failed(Operation::Seal, &reason);
                    self.seal_retry_at = Some(Instant::now() + retry_delay(failures));
                }
            }
            return;
        }
        self.step_compaction();
    }

    fn seal_step(&mut self, rows: usize) -> Result<(), StoreError> {
        let Some(seal) = self.seal.as_mut() else {
            return Ok(());
        };
        if seal.step(&mut self.conn, rows)? {
            self.seal = None;
            self.head.drop_frozen();
        }
        Ok(())
    }

    /// Finishes the running seal and seals the live generation, whole (compaction start,
    /// close).
    fn seal_all(&mut self) -> Result<(), StoreError> {
        self.seal_step(usize::MAX)?;
        self.start_seal();
        self.seal_step(usize::MAX)
    }

    /// Runs one step of the oldest compaction; answers it when it is done or failed.
    fn step_compaction(&mut self) {
        let Some(mut job) = self.jobs.pop_front() else {
            return;
        };
        match self.advance(&mut job) {
            Ok(false) => self.jobs.push_front(job),
            Ok(true) => {
                self.health.succeeded(Operation::Compaction);
                self.failures.succeeded(Operation::Compaction);
                let _ = job.reply.send(Ok(job.report));
            }
            Err(error) => {
                self.dirty_from = self.dirty_from.min(job.dirty_at_start);
                let reason = error.to_string();
                self.health.failed(Operation::Compaction, &reason);
                self.failures.failed(
                    Operation::Compaction,
                    &format!("{reason} (now_ms {})", job.now_ms),
                );
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
                // Rollups read stored rows: seal the head first.
                self.seal_all()?;
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

/// What a committed group leaves: the earliest late timestamp (`i64::MAX`: none), the
/// id of its ingest log entry (`None`: no samples), and its rows for the head.
type Committed = (i64, Option<i64>, Vec<(SeriesId, HeadRow)>);

/// Writes one group in one transaction: its samples as one ingest log entry, its new
/// series and anomaly changes.
fn write_group(
    conn: &mut Connection,
    registry: &SeriesRegistry,
    pending: &[crate::series::NewSeries],
    group: &[(WriteBatch, Sender<CommitResult>)],
    late_before: i64,
    dirty_from: i64,
) -> Result<Committed, StoreError> {
    let total: usize = group.iter().map(|(batch, _)| batch.samples.len()).sum();
    let mut rows = Vec::with_capacity(total);
    let mut blob = Vec::with_capacity(total * LOG_ROW_BYTES);
    let mut earliest_late = i64::MAX;
    for (batch, _) in group {
        for sample in &batch.samples {
            if sample.ts_ms < late_before {
                earliest_late = earliest_late.min(sample.ts_ms);
            }
            let row = HeadRow::from_sample(sample);
            encode_log_row(sample.series, &row, &mut blob);
            rows.push((sample.series, row));
        }
    }
    let tx = conn
        .transaction()
        .context("beginning a write transaction")?;
    insert_series(&tx, pending)?;
    let mut log_id = None;
    if !rows.is_empty() {
        tx.prepare_cached("INSERT INTO ingest_log (rows) VALUES (?1)")
            .and_then(|mut stmt| stmt.execute([&blob]))
            .context("appending to the ingest log")?;
        log_id = Some(tx.last_insert_rowid());
    }
    for (batch, _) in group {
        for op in &batch.anomalies {
            apply_anomaly_op(&tx, registry, op)?;
        }
        crate::events::insert(&tx, &batch.events)?;
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
    Ok((earliest_late, log_id, rows))
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
