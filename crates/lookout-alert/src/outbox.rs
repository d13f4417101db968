//! The durable side of alerting, one SQLite file (`alerts.db` in the data directory):
//!
//! - `outbox`: one row per notification × notifier, written with the group schedules
//!   that produced it in one small transaction, committed (and fsynced) **before** any
//!   delivery is attempted. The row carries the whole notification, alerts included, so it
//!   alone is enough to deliver after a crash. A row stays `pending` until its notifier
//!   accepted it (`delivered`) or it expired (`failed`, after [`GIVE_UP_AFTER_MS`]).
//!   `UNIQUE(notification_id, notifier)` makes a re-insert harmless. After a crash, pending
//!   rows are simply delivered again; a row that was delivered but not yet marked is
//!   re-sent with the same notification id, which receivers use to drop the duplicate.
//! - `alerts`, `groups`: the evaluator's live state, restored at start. Alert state and
//!   `history` (every alert transition and message) are written after the outbox, in
//!   batched transactions ([`AlertDb::apply_state`]); `silences`; `delivery_errors`.
//!
//! WAL journal. Outbox commits use `synchronous=FULL` (they survive `kill -9` and power
//! loss); state, history and delivery marks use `synchronous=NORMAL` (they survive
//! `kill -9`; a power cut may lose the last of them, which at worst re-sends a message
//! with the same id or forgets the newest history lines).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::evaluator::{Changes, GroupState, HistoryEntry, Outgoing};
use crate::model::{AlertInstance, Notification};
use crate::silence::Silence;

/// Pending rows older than this are given up (`failed`): 24 hours.
pub const GIVE_UP_AFTER_MS: i64 = 24 * 3600 * 1000;
/// Delivery errors kept per notifier.
const ERRORS_KEPT: i64 = 200;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("alert database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("alert database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("alert database: stored JSON is invalid: {0}")]
    Json(#[from] serde_json::Error),
}

/// Live alerts (slot, alert) and groups saved by an earlier run.
pub type SavedState = (Vec<(String, AlertInstance)>, Vec<GroupState>);

/// One pending delivery.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub notifier: String,
    pub notification: Notification,
    pub attempts: u32,
    pub created_ms: i64,
}

/// A row [`AlertDb::apply_outbox`] added: the notification `outgoing[outgoing]` for
/// `notifier`, row `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRow {
    pub outgoing: usize,
    pub notifier: String,
    pub id: i64,
}

/// Delivery figures of one notifier.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NotifierStatus {
    pub name: String,
    pub pending: u64,
    pub delivered: u64,
    pub failed: u64,
    pub oldest_pending_ms: Option<i64>,
    pub last_delivered_ms: Option<i64>,
}

/// One failed delivery attempt.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryErrorRecord {
    pub at_ms: i64,
    pub notifier: String,
    pub reason: String,
    pub message: String,
    pub notification_id: String,
    pub attempt: u32,
}

/// A connection to the alert database; each thread that needs one opens its own.
pub struct AlertDb {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id TEXT NOT NULL,
    notifier TEXT NOT NULL,
    rule TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    delivered_ms INTEGER,
    UNIQUE (notification_id, notifier)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, notifier, next_attempt_ms);
CREATE TABLE IF NOT EXISTS alerts (slot TEXT PRIMARY KEY, rule TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL, rule TEXT NOT NULL, fingerprint TEXT NOT NULL,
    series TEXT NOT NULL, event TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_rule ON history (rule, id);
CREATE TABLE IF NOT EXISTS silences (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS delivery_errors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL, notifier TEXT NOT NULL, reason TEXT NOT NULL,
    message TEXT NOT NULL, notification_id TEXT NOT NULL, attempt INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS delivery_errors_notifier ON delivery_errors (notifier, id);
";

impl AlertDb {
    /// Opens (creating if needed) the database file for the evaluator's writes: outbox
    /// commits are fsynced ([`AlertDb::apply_outbox`]), alert state and history commits
    /// are not (`synchronous=NORMAL`: in WAL mode a commit survives `kill -9`; a power cut
    /// may lose the last state commits, never an outbox row).
    pub fn open(path: &Path) -> Result<AlertDb, OutboxError> {
        AlertDb::open_with(path, "NORMAL")
    }

    /// A connection for delivery marks and reads: commits are not fsynced one by one
    /// (`synchronous=NORMAL`, still crash-safe in WAL mode); a mark lost to a power cut
    /// only re-sends a message with the same id.
    pub fn open_for_delivery(path: &Path) -> Result<AlertDb, OutboxError> {
        AlertDb::open_with(path, "NORMAL")
    }

    fn open_with(path: &Path, synchronous: &str) -> Result<AlertDb, OutboxError> {
        let open_error = |source| OutboxError::Open {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(path).map_err(open_error)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_error)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_error)?;
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(open_error)?;
        conn.execute_batch(SCHEMA).map_err(open_error)?;
        Ok(AlertDb {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Persists the evaluator's changes: the outbox rows and group state first (one
    /// transaction, [`AlertDb::apply_outbox`]), then the alert state and history
    /// ([`AlertDb::apply_state`]). Returns the notifiers that got new rows.
    pub fn apply(&self, changes: &Changes) -> Result<Vec<String>, OutboxError> {
        let queued =
            self.apply_outbox(&changes.outgoing, &changes.groups, &changes.removed_groups)?;
        let mut notifiers: Vec<String> = Vec::new();
        for row in queued {
            if !notifiers.contains(&row.notifier) {
                notifiers.push(row.notifier);
            }
        }
        let alerts: Vec<(&str, Option<&AlertInstance>)> = changes
            .alerts
            .iter()
            .map(|(slot, alert)| (slot.as_str(), Some(alert)))
            .chain(
                changes
                    .removed_alerts
                    .iter()
                    .map(|slot| (slot.as_str(), None)),
            )
            .collect();
        self.apply_state(&alerts, &changes.history)?;
        Ok(notifiers)
    }

    /// Queues notifications and saves the group schedules that sent them, in one small
    /// transaction, committed before any delivery (`synchronous=FULL` for this commit: the
    /// outbox survives power loss as well as `kill -9`). Re-queuing a notification id is
    /// harmless. Returns the rows actually added.
    pub fn apply_outbox(
        &self,
        outgoing: &[Outgoing],
        groups: &BTreeMap<String, GroupState>,
        removed_groups: &BTreeSet<String>,
    ) -> Result<Vec<QueuedRow>, OutboxError> {
        if outgoing.is_empty() && groups.is_empty() && removed_groups.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.lock();
        let fsync = !outgoing.is_empty();
        if fsync {
            conn.pragma_update(None, "synchronous", "FULL")?;
        }
        let result = write_outbox(&mut conn, outgoing, groups, removed_groups);
        if fsync {
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        result
    }

    /// Saves alert state (`None` deletes the slot) and appends history, in one
    /// transaction with prepared statements and multi-row history inserts.
    pub fn apply_state(
        &self,
        alerts: &[(&str, Option<&AlertInstance>)],
        history: &[HistoryEntry],
    ) -> Result<(), OutboxError> {
        if alerts.is_empty() && history.is_empty() {
            return Ok(());
        }
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        {
            let mut upsert_alert = tx.prepare_cached(
                "INSERT INTO alerts (slot, rule, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (slot) DO UPDATE SET rule = excluded.rule, body = excluded.body",
            )?;
            let mut delete_alert = tx.prepare_cached("DELETE FROM alerts WHERE slot = ?1")?;
            for (slot, alert) in alerts {
                match alert {
                    Some(alert) => {
                        upsert_alert.execute(params![
                            slot,
                            alert.rule,
                            serde_json::to_string(alert)?
                        ])?;
                    }
                    None => {
                        delete_alert.execute(params![slot])?;
                    }
                }
            }
            let mut full = tx.prepare_cached(&history_insert(HISTORY_ROWS_PER_INSERT))?;
            let mut chunks = history.chunks_exact(HISTORY_ROWS_PER_INSERT);
            for chunk in &mut chunks {
                full.execute(rusqlite::params_from_iter(history_params(chunk)))?;
            }
            let rest = chunks.remainder();
            if !rest.is_empty() {
                tx.prepare_cached(&history_insert(rest.len()))?
                    .execute(rusqlite::params_from_iter(history_params(rest)))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The live alerts and groups of an earlier run.
    pub fn load_state(&self) -> Result<SavedState, OutboxError> {
        let conn = self.lock();
        let mut alerts = Vec::new();
        let mut statement = conn.prepare("SELECT slot, body FROM alerts")?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (slot, body) = row?;
            alerts.push((slot, serde_json::from_str(&body)?));
        }
        let mut groups = Vec::new();
        let mut statement = conn.prepare("SELECT body FROM groups")?;
        for body in statement.query_map([], |row| row.get::<_, String>(0))? {
            groups.push(serde_json::from_str(&body?)?);
        }
        Ok((alerts, groups))
    }

    /// Pending rows of `notifier` due at `now_ms`, oldest first.
    pub fn due(
        &self,
        notifier: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, OutboxError> {
        let conn = self.lock();
        let mut statement = conn.prepare_cached(
            "SELECT id, payload, attempts, created_ms FROM outbox
             WHERE state = 'pending' AND notifier = ?1 AND next_attempt_ms <= ?2
             ORDER BY id LIMIT ?3",
        )?;
        let rows = statement.query_map(params![notifier, now_ms, limit as i64], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })?;
        let mut due = Vec::new();
        for row in rows {
            let (id, payload, attempts, created_ms) = row?;
            due.push(OutboxRow {
                id,
                notifier: notifier.to_string(),
                notification: serde_json::from_str(&payload)?,
                attempts: attempts as u32,
                created_ms,
            });
        }
        Ok(due)
    }

    /// When the next pending row of `notifier` is due.
    pub fn next_due(&self, notifier: &str) -> Result<Option<i64>, OutboxError> {
        let conn = self.lock();
        let next = conn
            .query_row(
                "SELECT MIN(next_attempt_ms) FROM outbox WHERE state = 'pending' AND notifier = ?1",
                params![notifier],
                |row| row.get::<_, Option<i64>>(0),
            )
            .optional()?
            .flatten();
        Ok(next)
    }

    pub fn mark_delivered(&self, id: i64, now_ms: i64) -> Result<(), OutboxError> {
        self.lock().execute(
            "UPDATE outbox SET state = 'delivered', delivered_ms = ?2, attempts = attempts + 1 WHERE id = ?1",
            params![id, now_ms],
        )?;
        Ok(())
    }

    /// Records a failed attempt: the row retries at `next_ms`, or is given up.
    pub fn mark_failed(
        &self,
        row: &OutboxRow,
        now_ms: i64,
        next_ms: i64,
        reason: &str,
        message: &str,
    ) -> Result<bool, OutboxError> {
        let give_up = now_ms - row.created_ms >= GIVE_UP_AFTER_MS;
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?2,
             state = CASE WHEN ?3 THEN 'failed' ELSE 'pending' END WHERE id = ?1",
            params![row.id, next_ms, give_up],
        )?;
        tx.execute(
            "INSERT INTO delivery_errors (at_ms, notifier, reason, message, notification_id, attempt)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![now_ms, row.notifier, reason, message, row.notification.id, row.attempts + 1],
        )?;
        tx.execute(
            "DELETE FROM delivery_errors WHERE notifier = ?1 AND id <= (SELECT MAX(id) FROM delivery_errors WHERE notifier = ?1) - ?2",
            params![row.notifier, ERRORS_KEPT],
        )?;
        tx.commit()?;
        Ok(give_up)
    }

    /// Delivery figures per notifier.
    pub fn notifier_status(&self, names: &[String]) -> Result<Vec<NotifierStatus>, OutboxError> {
        let conn = self.lock();
        let mut statement = conn.prepare_cached(
            "SELECT
               SUM(state = 'pending'), SUM(state = 'delivered'), SUM(state = 'failed'),
               MIN(CASE WHEN state = 'pending' THEN created_ms END), MAX(delivered_ms)
             FROM outbox WHERE notifier = ?1",
        )?;
        let mut out = Vec::new();
        for name in names {
            let status = statement.query_row(params![name], |row| {
                Ok(NotifierStatus {
                    name: name.clone(),
                    pending: row.get::<_, Option<i64>>(0)?.unwrap_or(0) as u64,
                    delivered: row.get::<_, Option<i64>>(1)?.unwrap_or(0) as u64,
                    failed: row.get::<_, Option<i64>>(2)?.unwrap_or(0) as u64,
                    oldest_pending_ms: row.get(3)?,
                    last_delivered_ms: row.get(4)?,
                })
            })?;
            out.push(status);
        }
        Ok(out)
    }

    /// Latest delivery errors, newest first; of one notifier or all.
    pub fn delivery_errors(
        &self,
        notifier: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeliveryErrorRecord>, OutboxError> {
        let conn = self.lock();
        let mut statement = conn.prepare_cached(
            "SELECT at_ms, notifier, reason, message, notification_id, attempt FROM delivery_errors
             WHERE ?1 IS NULL OR notifier = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = statement.query_map(params![notifier, limit as i64], |row| {
            Ok(DeliveryErrorRecord {
                at_ms: row.get(0)?,
                notifier: row.get(1)?,
                reason: row.get(2)?,
                message: row.get(3)?,
                notification_id: row.get(4)?,
                attempt: row.get::<_, i64>(5)? as u32,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Live alerts, of one rule or all.
    pub fn alerts(&self, rule: Option<&str>) -> Result<Vec<AlertInstance>, OutboxError> {
        let conn = self.lock();
        let mut statement =
            conn.prepare_cached("SELECT body FROM alerts WHERE ?1 IS NULL OR rule = ?1")?;
        let mut alerts = Vec::new();
        for body in statement.query_map(params![rule], |row| row.get::<_, String>(0))? {
            alerts.push(serde_json::from_str::<AlertInstance>(&body?)?);
        }
        alerts.sort_by(|a, b| {
            b.starts_ms
                .cmp(&a.starts_ms)
                .then(a.fingerprint.cmp(&b.fingerprint))
        });
        Ok(alerts)
    }

    /// A rule's history, newest first.
    pub fn history(&self, rule: &str, limit: usize) -> Result<Vec<HistoryEntry>, OutboxError> {
        let conn = self.lock();
        let mut statement = conn.prepare_cached(
            "SELECT at_ms, rule, fingerprint, series, event, detail FROM history
             WHERE rule = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = statement.query_map(params![rule, limit as i64], |row| {
            Ok(HistoryEntry {
                at_ms: row.get(0)?,
                rule: row.get(1)?,
                fingerprint: row.get(2)?,
                series: row.get(3)?,
                event: row.get(4)?,
                detail: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores a new silence and returns it with its id.
    pub fn insert_silence(&self, silence: &Silence) -> Result<Silence, OutboxError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute("INSERT INTO silences (body) VALUES ('{}')", [])?;
        let id = tx.last_insert_rowid();
        let stored = Silence {
            id,
            ..silence.clone()
        };
        tx.execute(
            "UPDATE silences SET body = ?2 WHERE id = ?1",
            params![id, serde_json::to_string(&stored)?],
        )?;
        tx.commit()?;
        Ok(stored)
    }

    /// Expires a silence; `None` when there is none with this id.
    pub fn expire_silence(&self, id: i64, now_ms: i64) -> Result<Option<Silence>, OutboxError> {
        let conn = self.lock();
        let body: Option<String> = conn
            .query_row(
                "SELECT body FROM silences WHERE id = ?1",
                params![id],
                |row| row.get(0),
            )
            .optional()?;
        let Some(body) = body else {
            return Ok(None);
        };
        let mut silence: Silence = serde_json::from_str(&body)?;
        if silence.expired_ms.is_none() {
            silence.expired_ms = Some(now_ms);
        }
        conn.execute(
            "UPDATE silences SET body = ?2 WHERE id = ?1",
            params![id, serde_json::to_string(&silence)?],
        )?;
        Ok(Some(silence))
    }

    pub fn silences(&self) -> Result<Vec<Silence>, OutboxError> {
        let conn = self.lock();
        let mut statement = conn.prepare_cached("SELECT body FROM silences ORDER BY id")?;
        let mut silences = Vec::new();
        for body in statement.query_map([], |row| row.get::<_, String>(0))? {
            silences.push(serde_json::from_str(&body?)?);
        }
        Ok(silences)
    }

    /// Deletes delivered/failed rows and history older than `before_ms`.
    pub fn prune(&self, before_ms: i64) -> Result<(), OutboxError> {
        let conn = self.lock();
        conn.execute(
            "DELETE FROM outbox WHERE state != 'pending' AND created_ms < ?1",
            params![before_ms],
        )?;
        conn.execute("DELETE FROM history WHERE at_ms < ?1", params![before_ms])?;
        Ok(())
    }
}

mod write;
use write::{history_insert, history_params, write_outbox, HISTORY_ROWS_PER_INSERT};

#[cfg(test)]
mod tests;
