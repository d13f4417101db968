//! Reading one series' stored raw rows: sealed chunks and the `samples` table.
//!
//! Raw samples live in three places, newest last: the `samples` table (rows merged by
//! version 1 of the schema; still read and pruned, no longer written), sealed chunks
//! (`sample_chunks`, one blob per series per block, blocks numbered in sealing order),
//! and the in-memory head (see [`crate::head`]). A later place wins on equal times.
//!
//! Chunks are found through `blocks`: the statement walks the complete blocks whose time
//! range overlaps the query (index on `max_ts`) and seeks `(block, series)` in each, so a
//! read costs one B-tree seek per block in range.

use lookout_model::SeriesId;
use rusqlite::Connection;

use crate::chunk::decode_chunk;
use crate::error::SqlContext;
use crate::head::sort_keep_first;
use crate::rows::HeadRow;
use crate::StoreError;

const SELECT_LEGACY: &str = "SELECT ts_ms, value, score, is_anomaly, lower, upper FROM samples
    WHERE series_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 ORDER BY ts_ms";

const SELECT_CHUNKS: &str = "SELECT block, rows FROM sample_chunks
    WHERE block IN (SELECT id FROM blocks WHERE complete = 1 AND max_ts >= ?2 AND min_ts < ?3)
      AND series_id = ?1 AND max_ts >= ?2 AND min_ts < ?3
    ORDER BY block";

/// Stored rows of `series` in `[start, end)`, time-ordered, the first write of a time kept.
pub(crate) fn stored_rows(
    conn: &Connection,
    series: SeriesId,
    start: i64,
    end: i64,
) -> Result<Vec<HeadRow>, StoreError> {
    let mut rows = Vec::new();
    if start >= end {
        return Ok(rows);
    }
    let nan = f64::NAN;
    {
        let mut stmt = conn
            .prepare_cached(SELECT_LEGACY)
            .context("preparing a raw range read")?;
        let mut found = stmt
            .query(rusqlite::params![series.0, start, end])
            .context("reading raw samples")?;
        while let Some(row) = found.next().context("reading raw samples")? {
            let read = |row: &rusqlite::Row<'_>| -> rusqlite::Result<HeadRow> {
                Ok(HeadRow {
                    ts_ms: row.get(0)?,
                    value: row.get::<_, Option<f64>>(1)?.unwrap_or(nan),
                    score: row.get::<_, Option<f64>>(2)?.unwrap_or(nan),
                    is_anomaly: row.get(3)?,
                    lower: row.get::<_, Option<f64>>(4)?.unwrap_or(nan),
                    upper: row.get::<_, Option<f64>>(5)?.unwrap_or(nan),
                })
            };
            rows.push(read(row).context("reading raw samples")?);
        }
    }
    let mut stmt = conn
        .prepare_cached(SELECT_CHUNKS)
        .context("preparing a chunk read")?;
    let mut found = stmt
        .query(rusqlite::params![series.0, start, end])
        .context("reading sample chunks")?;
    while let Some(row) = found.next().context("reading sample chunks")? {
        let block: i64 = row.get(0).context("reading sample chunks")?;
        let blob = row.get_ref(1).context("reading sample chunks")?;
        let bytes = blob.as_blob().map_err(|error| StoreError::Corrupt {
            what: format!("chunk of series {series} in block {block}"),
            reason: error.to_string(),
        })?;
        let decoded = decode_chunk(bytes, || {
            format!("chunk of series {series} in block {block}")
        })?;
        rows.extend(decoded.filter(|row| row.ts_ms >= start && row.ts_ms < end));
    }
    sort_keep_first(&mut rows);
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_reads_seek_each_block_by_series() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::schema::SCHEMA).unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {SELECT_CHUNKS}"))
            .unwrap()
            .query_map(rusqlite::params![1, 0, 10], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("; ");
        assert!(
            plan.contains("block=? AND series_id=?"),
            "chunks must be reached by primary key: {plan}"
        );
    }
}
