//! Reading anomalies and recording feedback on them.

use lookout_model::{
    AnomalyId, AnomalyRecord, AnomalyStatus, FeedbackLabel, FeedbackRecord, SeriesId,
};
use rusqlite::{Connection, OptionalExtension, Row};

use crate::error::SqlContext;
use crate::series::{parse_domain, SeriesRegistry};
use crate::StoreError;

const SELECT_ANOMALY: &str = "SELECT id, series_id, start_ms, end_ms, peak_score, severity,
    domain, explanation, status FROM anomalies";

/// Anomalies overlapping `[from_ms, to_ms]`, newest start first.
pub(crate) fn anomalies_between(
    conn: &Connection,
    registry: &SeriesRegistry,
    from_ms: i64,
    to_ms: i64,
    series: Option<&[SeriesId]>,
    limit: usize,
) -> Result<Vec<AnomalyRecord>, StoreError> {
    let filter = series.map(|ids| {
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        serde_json::Value::from(ids).to_string()
    });
    let sql = format!(
        "{SELECT_ANOMALY} WHERE start_ms <= ?2 AND (end_ms IS NULL OR end_ms >= ?1)
         AND (?3 IS NULL OR series_id IN (SELECT value FROM json_each(?3)))
         ORDER BY start_ms DESC, id DESC LIMIT ?4"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare_cached(&sql)
        .context("preparing the anomaly list")?;
    let mut rows = stmt
        .query(rusqlite::params![from_ms, to_ms, filter, limit])
        .context("listing anomalies")?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().context("listing anomalies")? {
        records.push(record_from_row(row, registry)?);
    }
    Ok(records)
}

/// One anomaly by id.
pub(crate) fn anomaly_by_id(
    conn: &Connection,
    registry: &SeriesRegistry,
    id: AnomalyId,
) -> Result<AnomalyRecord, StoreError> {
    let sql = format!("{SELECT_ANOMALY} WHERE id = ?1");
    let mut stmt = conn
        .prepare_cached(&sql)
        .context("preparing an anomaly read")?;
    let mut rows = stmt.query([id.0]).context("reading an anomaly")?;
    match rows.next().context("reading an anomaly")? {
        Some(row) => record_from_row(row, registry),
        None => Err(StoreError::AnomalyNotFound(id)),
    }
}

/// The anomaly of `series` that started at `start_ms`, if stored.
pub(crate) fn anomaly_at(
    conn: &Connection,
    registry: &SeriesRegistry,
    series: SeriesId,
    start_ms: i64,
) -> Result<Option<AnomalyRecord>, StoreError> {
    let sql = format!("{SELECT_ANOMALY} WHERE series_id = ?1 AND start_ms = ?2");
    let mut stmt = conn
        .prepare_cached(&sql)
        .context("preparing an anomaly read")?;
    let mut rows = stmt
        .query(rusqlite::params![series.0, start_ms])
        .context("reading an anomaly")?;
    match rows.next().context("reading an anomaly")? {
        Some(row) => record_from_row(row, registry).map(Some),
        None => Ok(None),
    }
}

fn record_from_row(row: &Row<'_>, registry: &SeriesRegistry) -> Result<AnomalyRecord, StoreError> {
    let read = |error| StoreError::Sqlite {
        context: "reading an anomaly row",
        source: error,
    };
    let id = AnomalyId(row.get(0).map_err(read)?);
    let corrupt = |reason: String| StoreError::Corrupt {
        what: format!("anomaly {id}"),
        reason,
    };
    let series_id = SeriesId(row.get(1).map_err(read)?);
    let series = registry
        .info(series_id)
        .ok_or_else(|| corrupt(format!("its series {series_id} does not exist")))?;
    let severity: String = row.get(5).map_err(read)?;
    let domain: String = row.get(6).map_err(read)?;
    let explanation: String = row.get(7).map_err(read)?;
    let status: String = row.get(8).map_err(read)?;
    Ok(AnomalyRecord {
        id,
        series_id,
        series: (*series.key).clone(),
        domain: parse_domain(&domain).map_err(corrupt)?,
        start_ms: row.get(2).map_err(read)?,
        end_ms: row.get(3).map_err(read)?,
        peak_score: row.get(4).map_err(read)?,
        severity: severity
            .parse()
            .map_err(|error| corrupt(format!("{error}")))?,
        status: status
            .parse()
            .map_err(|error| corrupt(format!("{error}")))?,
        explanation: serde_json::from_str(&explanation)
            .map_err(|error| corrupt(format!("explanation JSON: {error}")))?,
    })
}

/// Feedback on one anomaly, oldest first.
/// Per series, how many of its anomalies' feedback entries say `false_positive`.
pub(crate) fn false_positives_by_series(
    conn: &Connection,
) -> Result<Vec<(SeriesId, usize)>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT a.series_id, COUNT(*) FROM feedback f JOIN anomalies a ON a.id = f.anomaly_id \
             WHERE f.label = 'false_positive' GROUP BY a.series_id ORDER BY a.series_id",
        )
        .context("preparing the false-positive count")?;
    let rows = stmt
        .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))
        .context("counting false positives")?;
    let mut counts = Vec::new();
    for row in rows {
        let (series, count) = row.context("counting false positives")?;
        counts.push((SeriesId(series), count.max(0) as usize));
    }
    Ok(counts)
}

pub(crate) fn feedback_of(
    conn: &Connection,
    anomaly: AnomalyId,
) -> Result<Vec<FeedbackRecord>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, label, note, created_ms FROM feedback WHERE anomaly_id = ?1 ORDER BY id",
        )
        .context("preparing the feedback read")?;
    let rows = stmt
        .query_map([anomaly.0], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })
        .context("reading feedback")?;
    let mut records = Vec::new();
    for row in rows {
        let (id, label, note, created_ms) = row.context("reading feedback")?;
        let label = label.parse().map_err(|error| StoreError::Corrupt {
            what: format!("feedback {id} of anomaly {anomaly}"),
            reason: format!("{error}"),
        })?;
        records.push(FeedbackRecord {
            id,
            anomaly_id: anomaly,
            label,
            note,
            created_ms,
        });
    }
    Ok(records)
}

/// Stores feedback and moves the anomaly to the status its label implies.
pub(crate) fn insert_feedback(
    conn: &mut Connection,
    anomaly: AnomalyId,
    label: FeedbackLabel,
    note: &str,
    created_ms: i64,
) -> Result<FeedbackRecord, StoreError> {
    let tx = conn.transaction().context("beginning a feedback write")?;
    let exists = tx
        .query_row("SELECT 1 FROM anomalies WHERE id = ?1", [anomaly.0], |_| {
            Ok(())
        })
        .optional()
        .context("looking up the anomaly of a feedback")?;
    if exists.is_none() {
        return Err(StoreError::AnomalyNotFound(anomaly));
    }
    tx.execute(
        "INSERT INTO feedback (anomaly_id, label, note, created_ms) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![anomaly.0, label.as_str(), note, created_ms],
    )
    .context("inserting feedback")?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "UPDATE anomalies SET status = ?2 WHERE id = ?1",
        rusqlite::params![anomaly.0, label.implied_status().as_str()],
    )
    .context("updating the status of an anomaly")?;
    tx.commit().context("committing feedback")?;
    Ok(FeedbackRecord {
        id,
        anomaly_id: anomaly,
        label,
        note: note.to_string(),
        created_ms,
    })
}

/// Sets the status of one anomaly.
pub(crate) fn update_status(
    conn: &Connection,
    anomaly: AnomalyId,
    status: AnomalyStatus,
) -> Result<(), StoreError> {
    let changed = conn
        .execute(
            "UPDATE anomalies SET status = ?2 WHERE id = ?1",
            rusqlite::params![anomaly.0, status.as_str()],
        )
        .context("updating the status of an anomaly")?;
    if changed == 0 {
        return Err(StoreError::AnomalyNotFound(anomaly));
    }
    Ok(())
}
