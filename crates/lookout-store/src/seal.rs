//! Sealing: writing a frozen head generation into one block of per-series chunks.
//!
//! Why blocks. Raw rows used to be merged into `samples`, ordered by series: a merge
//! touches at least one page per series, so with 100,000 series every merge rewrote
//! ~100,000 pages however few rows each series had. A block is instead appended at the
//! end of `sample_chunks` (key `(block, series)`, blocks numbered in sealing order): the
//! pages are written once, densely, whatever the number of series, and a series' rows in
//! a block are one blob read with one seek.
//!
//! Sealing runs on the writer thread in steps of about `rows_per_step` rows, each its own
//! transaction, between the commits of incoming writes, so acknowledgements never wait
//! for a whole block. The `blocks` row is written with the first step (`complete = 0`,
//! invisible to readers, who read the frozen generation from memory meanwhile) and
//! marked complete in the last step, in the same transaction that deletes the ingest log
//! entries the block covers. A crash in between leaves an incomplete block, deleted at
//! the next open, and the log entries, replayed into the head.

use std::sync::Arc;

use lookout_model::SeriesId;
use rusqlite::Connection;

use crate::chunk::{decode_chunk, encode_chunk};
use crate::error::SqlContext;
use crate::head::{Generation, Head};
use crate::rows::HeadRow;
use crate::StoreError;

/// A block being written.
pub(crate) struct Seal {
    block: i64,
    generation: Arc<Generation>,
    /// Series of the generation, ascending: chunks are appended in key order.
    order: Vec<SeriesId>,
    next: usize,
    /// Ingest log entries up to this id are covered by the block.
    log_upto: i64,
    min_ts: i64,
    max_ts: i64,
}

impl Seal {
    pub fn new(block: i64, generation: Arc<Generation>, log_upto: i64) -> Seal {
        let mut order: Vec<SeriesId> = generation.series.keys().copied().collect();
        order.sort_unstable();
        let (mut min_ts, mut max_ts) = (i64::MAX, i64::MIN);
        for row in generation.series.values().flatten() {
            min_ts = min_ts.min(row.ts_ms);
            max_ts = max_ts.max(row.ts_ms);
        }
        Seal {
            block,
            generation,
            order,
            next: 0,
            log_upto,
            min_ts,
            max_ts,
        }
    }

    /// Writes the next chunks (about `rows_per_step` rows) in one transaction; `Ok(true)`
    /// once the block is complete and its log entries are deleted (the caller then drops
    /// the frozen generation). A failed step changes nothing and can be retried.
    pub fn step(
        &mut self,
        conn: &mut Connection,
        rows_per_step: usize,
    ) -> Result<bool, StoreError> {
        let tx = conn.transaction().context("beginning a seal step")?;
        if self.next == 0 {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO blocks (id, min_ts, max_ts, rows, complete)
                 VALUES (?1, ?2, ?3, ?4, 0)",
            )
            .and_then(|mut stmt| {
                stmt.execute(rusqlite::params![
                    self.block,
                    self.min_ts,
                    self.max_ts,
                    i64::try_from(self.generation.rows).unwrap_or(i64::MAX)
                ])
            })
            .context("recording a new block")?;
        }
        let mut next = self.next;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO sample_chunks (block, series_id, min_ts, max_ts, rows)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .context("preparing a chunk insert")?;
            let mut written = 0;
            let mut blob = Vec::new();
            while next < self.order.len() && written < rows_per_step.max(1) {
                let series = self.order[next];
                let rows = self.generation.sorted_rows(series);
                next += 1;
                let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
                    continue;
                };
                blob.clear();
                encode_chunk(&rows, &mut blob);
                insert
                    .execute(rusqlite::params![
                        self.block,
                        series.0,
                        first.ts_ms,
                        last.ts_ms,
                        &blob
                    ])
                    .context("writing a chunk")?;
                written += rows.len();
            }
        }
        let done = next >= self.order.len();
        if done {
            tx.execute("UPDATE blocks SET complete = 1 WHERE id = ?1", [self.block])
                .context("completing a block")?;
            tx.execute("DELETE FROM ingest_log WHERE id <= ?1", [self.log_upto])
                .context("deleting sealed ingest log entries")?;
        }
        tx.commit().context("committing a seal step")?;
        self.next = next;
        Ok(done)
    }
}

/// Deletes what a crash left of an incomplete block, and returns the next block id.
pub(crate) fn recover_blocks(conn: &Connection) -> Result<i64, StoreError> {
    conn.execute_batch(
        "BEGIN;
         DELETE FROM sample_chunks WHERE block IN (SELECT id FROM blocks WHERE complete = 0);
         DELETE FROM blocks WHERE complete = 0;
         COMMIT;",
    )
    .context("deleting an incomplete block")?;
    conn.query_row("SELECT coalesce(max(id), 0) + 1 FROM blocks", [], |row| {
        row.get(0)
    })
    .context("reading the next block id")
}

/// Replays the ingest log into the head; returns the newest entry id (0: empty log).
pub(crate) fn replay_log(conn: &Connection, head: &Head) -> Result<i64, StoreError> {
    let mut stmt = conn
        .prepare("SELECT id, rows FROM ingest_log ORDER BY id")
        .context("preparing the ingest log replay")?;
    let mut rows = stmt.query([]).context("replaying the ingest log")?;
    let mut newest = 0;
    while let Some(row) = rows.next().context("replaying the ingest log")? {
        let id: i64 = row.get(0).context("replaying the ingest log")?;
        let blob = row.get_ref(1).context("replaying the ingest log")?;
        let bytes = blob.as_blob().map_err(|error| StoreError::Corrupt {
            what: format!("ingest log entry {id}"),
            reason: error.to_string(),
        })?;
        head.append(crate::chunk::decode_log(bytes, id)?);
        newest = id;
    }
    Ok(newest)
}

/// Deletes raw rows before `cutoff` from the blocks: whole blocks when they end before it,
/// else the old rows of each chunk that starts before it (a block sealed from history or
/// late samples can span days). Returns the number of rows deleted.
pub(crate) fn prune_blocks(conn: &Connection, cutoff: i64) -> Result<u64, StoreError> {
    let whole: i64 = conn
        .query_row(
            "SELECT coalesce(sum(rows), 0) FROM blocks WHERE max_ts < ?1 AND complete = 1",
            [cutoff],
            |row| row.get(0),
        )
        .context("counting blocks past retention")?;
    conn.execute(
        "DELETE FROM sample_chunks WHERE block IN
             (SELECT id FROM blocks WHERE max_ts < ?1 AND complete = 1)",
        [cutoff],
    )
    .context("deleting chunks past retention")?;
    conn.execute(
        "DELETE FROM blocks WHERE max_ts < ?1 AND complete = 1",
        [cutoff],
    )
    .context("deleting blocks past retention")?;
    let mut deleted = u64::try_from(whole).unwrap_or(0);
    let straddling: Vec<i64> = conn
        .prepare("SELECT id FROM blocks WHERE min_ts < ?1 AND complete = 1")
        .and_then(|mut stmt| {
            stmt.query_map([cutoff], |row| row.get(0))?
                .collect::<Result<_, _>>()
        })
        .context("finding blocks that span the retention cut-off")?;
    for block in straddling {
        let removed = trim_block(conn, block, cutoff)?;
        conn.execute(
            "UPDATE blocks SET rows = max(rows - ?2, 0), min_ts = ?3 WHERE id = ?1",
            rusqlite::params![block, i64::try_from(removed).unwrap_or(0), cutoff],
        )
        .context("updating a trimmed block")?;
        deleted += removed;
    }
    Ok(deleted)
}

/// Rewrites the chunks of `block` that hold rows before `cutoff`; returns rows removed.
fn trim_block(conn: &Connection, block: i64, cutoff: i64) -> Result<u64, StoreError> {
    let old: Vec<(i64, Vec<u8>)> = conn
        .prepare("SELECT series_id, rows FROM sample_chunks WHERE block = ?1 AND min_ts < ?2")
        .and_then(|mut stmt| {
            stmt.query_map([block, cutoff], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()
        })
        .context("reading chunks to trim")?;
    let mut removed = 0u64;
    let mut blob = Vec::new();
    for (series, bytes) in old {
        let what = || format!("chunk of series {series} in block {block}");
        let rows: Vec<HeadRow> = decode_chunk(&bytes, what)?.collect();
        let kept: Vec<HeadRow> = rows
            .iter()
            .copied()
            .filter(|row| row.ts_ms >= cutoff)
            .collect();
        removed += (rows.len() - kept.len()) as u64;
        let (Some(first), Some(last)) = (kept.first(), kept.last()) else {
            conn.execute(
                "DELETE FROM sample_chunks WHERE block = ?1 AND series_id = ?2",
                [block, series],
            )
            .context("deleting a chunk past retention")?;
            continue;
        };
        blob.clear();
        encode_chunk(&kept, &mut blob);
        conn.execute(
            "UPDATE sample_chunks SET rows = ?3, min_ts = ?4, max_ts = ?5
             WHERE block = ?1 AND series_id = ?2",
            rusqlite::params![block, series, &blob, first.ts_ms, last.ts_ms],
        )
        .context("trimming a chunk")?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ts_ms: i64) -> HeadRow {
        HeadRow {
            ts_ms,
            value: ts_ms as f64,
            score: f64::NAN,
            lower: f64::NAN,
            upper: f64::NAN,
            is_anomaly: false,
        }
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |row| row.get(0)).unwrap()
    }

    #[test]
    fn an_interrupted_seal_is_undone_and_a_finished_one_drops_its_log() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::schema::SCHEMA).unwrap();
        conn.execute("INSERT INTO ingest_log (id, rows) VALUES (1, x'')", [])
            .unwrap();
        let head = Head::default();
        head.append((1..=4).map(|id| (SeriesId(id), row(id * 1000))));
        let frozen = head.freeze().unwrap();
        let mut seal = Seal::new(1, Arc::clone(&frozen), 1);
        assert!(
            !seal.step(&mut conn, 1).unwrap(),
            "one row per step: not done"
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM sample_chunks"), 1);
        // A crash here: the next open deletes the partial block, the log is intact.
        assert_eq!(recover_blocks(&conn).unwrap(), 1);
        assert_eq!(count(&conn, "SELECT count(*) FROM sample_chunks"), 0);
        assert_eq!(count(&conn, "SELECT count(*) FROM ingest_log"), 1);

        let mut seal = Seal::new(1, frozen, 1);
        while !seal.step(&mut conn, 3).unwrap() {}
        assert_eq!(count(&conn, "SELECT count(*) FROM sample_chunks"), 4);
        assert_eq!(count(&conn, "SELECT complete FROM blocks WHERE id = 1"), 1);
        assert_eq!(count(&conn, "SELECT count(*) FROM ingest_log"), 0);
        assert_eq!(recover_blocks(&conn).unwrap(), 2);

        // Retention: rows before 2500 go, the block keeps the rest.
        assert_eq!(prune_blocks(&conn, 2_500).unwrap(), 2);
        let rows = crate::raw::stored_rows(&conn, SeriesId(3), 0, 10_000).unwrap();
        let kept: Vec<(i64, f64)> = rows.iter().map(|r| (r.ts_ms, r.value)).collect();
        assert_eq!(kept, [(3000, 3000.0)]);
        assert!(crate::raw::stored_rows(&conn, SeriesId(1), 0, 10_000)
            .unwrap()
            .is_empty());
        assert_eq!(prune_blocks(&conn, 10_000).unwrap(), 2);
        assert_eq!(count(&conn, "SELECT count(*) FROM blocks"), 0);
    }
}
