//! The `read_offsets` table: how far each source has read each followed file.
//!
//! One row per `(source, path)`, replaced by every save. A source saves its offsets
//! only after the records derived from the lines before them are committed (see
//! `lookout_sources::access_log`), so a restart that resumes from them skips nothing.
//! Saves are small writes done by the writer thread in their own transaction, durable
//! like any commit (WAL, `synchronous = NORMAL`: a killed process loses nothing that
//! was acknowledged).

use lookout_model::ReadOffset;
use rusqlite::{params, Connection};

use crate::error::SqlContext;
use crate::StoreError;

/// Replaces the rows of `offsets` in one transaction.
pub(crate) fn save(
    conn: &mut Connection,
    offsets: &[ReadOffset],
    updated_ms: i64,
) -> Result<(), StoreError> {
    let tx = conn
        .transaction()
        .context("starting the read offsets transaction")?;
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO read_offsets \
                 (source, path, dev, ino, offset, line, updated_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .context("preparing the read offset write")?;
        for offset in offsets {
            stmt.execute(params![
                offset.source,
                offset.path,
                offset.dev as i64,
                offset.ino as i64,
                offset.offset as i64,
                offset.line as i64,
                updated_ms,
            ])
            .context("writing a read offset")?;
        }
    }
    tx.commit().context("committing the read offsets")
}

/// The saved offsets of `source`, by path.
pub(crate) fn of_source(conn: &Connection, source: &str) -> Result<Vec<ReadOffset>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT path, dev, ino, offset, line FROM read_offsets \
             WHERE source = ?1 ORDER BY path",
        )
        .context("preparing the read offsets read")?;
    let rows = stmt
        .query_map([source], |row| {
            Ok(ReadOffset {
                source: source.to_string(),
                path: row.get(0)?,
                dev: row.get::<_, i64>(1)? as u64,
                ino: row.get::<_, i64>(2)? as u64,
                offset: row.get::<_, i64>(3)? as u64,
                line: row.get::<_, i64>(4)? as u64,
            })
        })
        .context("reading read offsets")?;
    rows.collect::<Result<Vec<_>, _>>()
        .context("reading read offsets")
}
