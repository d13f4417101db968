//! The statements behind [`AlertDb::apply_outbox`](super::AlertDb::apply_outbox) and
//! [`AlertDb::apply_state`](super::AlertDb::apply_state).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{params, Connection};

use super::{OutboxError, QueuedRow};
use crate::evaluator::{GroupState, HistoryEntry, Outgoing};

/// History rows per `INSERT` statement (6 parameters each).
pub(super) const HISTORY_ROWS_PER_INSERT: usize = 64;

pub(super) fn history_insert(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO history (at_ms, rule, fingerprint, series, event, detail) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?)");
    }
    sql
}

pub(super) fn history_params(
    entries: &[HistoryEntry],
) -> impl Iterator<Item = rusqlite::types::ToSqlOutput<'_>> {
    use rusqlite::types::{ToSqlOutput, Value, ValueRef};
    entries.iter().flat_map(|entry| {
        [
            ToSqlOutput::Owned(Value::Integer(entry.at_ms)),
            ToSqlOutput::Borrowed(ValueRef::Text(entry.rule.as_bytes())),
            ToSqlOutput::Borrowed(ValueRef::Text(entry.fingerprint.as_bytes())),
            ToSqlOutput::Borrowed(ValueRef::Text(entry.series.as_bytes())),
            ToSqlOutput::Borrowed(ValueRef::Text(entry.event.as_bytes())),
            ToSqlOutput::Borrowed(ValueRef::Text(entry.detail.as_bytes())),
        ]
    })
}

pub(super) fn write_outbox(
    conn: &mut Connection,
    outgoing: &[Outgoing],
    groups: &BTreeMap<String, GroupState>,
    removed_groups: &BTreeSet<String>,
) -> Result<Vec<QueuedRow>, OutboxError> {
    let tx = conn.transaction()?;
    let mut queued = Vec::new();
    {
        let mut insert_outbox = tx.prepare_cached(
            "INSERT OR IGNORE INTO outbox
             (notification_id, notifier, rule, payload, created_ms, next_attempt_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )?;
        for (index, outgoing) in outgoing.iter().enumerate() {
            let n = &outgoing.notification;
            let payload = serde_json::to_string(n)?;
            for notifier in &outgoing.notifiers {
                let added = insert_outbox.execute(params![
                    n.id,
                    notifier,
                    n.rule,
                    payload,
                    n.created_ms
                ])?;
                if added == 1 {
                    queued.push(QueuedRow {
                        outgoing: index,
                        notifier: notifier.clone(),
                        id: tx.last_insert_rowid(),
                    });
                }
            }
        }
        let mut upsert_group = tx.prepare_cached(
            "INSERT INTO groups (key, body) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET body = excluded.body",
        )?;
        for (key, group) in groups {
            upsert_group.execute(params![key, serde_json::to_string(group)?])?;
        }
        let mut delete_group = tx.prepare_cached("DELETE FROM groups WHERE key = ?1")?;
        for key in removed_groups {
            delete_group.execute(params![key])?;
        }
    }
    tx.commit()?;
    Ok(queued)
}
