//! Tables, pragmas and the small `meta` table that remembers compaction progress.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::error::SqlContext;
use crate::StoreError;

/// Version stored in `PRAGMA user_version`.
pub(crate) const SCHEMA_VERSION: i64 = 2;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS series (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    labels     TEXT NOT NULL,
    key        TEXT NOT NULL UNIQUE,
    domain     TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    series_id  INTEGER NOT NULL,
    ts_ms      INTEGER NOT NULL,
    value      REAL,
    score      REAL,
    is_anomaly INTEGER NOT NULL DEFAULT 0,
    lower      REAL,
    upper      REAL,
    PRIMARY KEY (series_id, ts_ms)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ingest_log (
    id   INTEGER PRIMARY KEY,
    rows BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
    id       INTEGER PRIMARY KEY,
    min_ts   INTEGER NOT NULL,
    max_ts   INTEGER NOT NULL,
    rows     INTEGER NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS blocks_by_max_ts ON blocks (max_ts);
CREATE TABLE IF NOT EXISTS sample_chunks (
    block     INTEGER NOT NULL,
    series_id INTEGER NOT NULL,
    min_ts    INTEGER NOT NULL,
    max_ts    INTEGER NOT NULL,
    rows      BLOB NOT NULL,
    PRIMARY KEY (block, series_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS samples_1m (
    series_id     INTEGER NOT NULL,
    bucket_ts     INTEGER NOT NULL,
    min           REAL,
    max           REAL,
    sum           REAL,
    count         INTEGER NOT NULL,
    last          REAL,
    max_score     REAL,
    anomaly_count INTEGER NOT NULL,
    PRIMARY KEY (series_id, bucket_ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS samples_1h (
    series_id     INTEGER NOT NULL,
    bucket_ts     INTEGER NOT NULL,
    min           REAL,
    max           REAL,
    sum           REAL,
    count         INTEGER NOT NULL,
    last          REAL,
    max_score     REAL,
    anomaly_count INTEGER NOT NULL,
    PRIMARY KEY (series_id, bucket_ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS anomalies (
    id          INTEGER PRIMARY KEY,
    series_id   INTEGER NOT NULL REFERENCES series(id),
    start_ms    INTEGER NOT NULL,
    end_ms      INTEGER,
    peak_score  REAL NOT NULL,
    severity    TEXT NOT NULL,
    domain      TEXT NOT NULL,
    explanation TEXT NOT NULL,
    status      TEXT NOT NULL,
    UNIQUE (series_id, start_ms)
);
CREATE INDEX IF NOT EXISTS anomalies_by_start ON anomalies (start_ms);
CREATE TABLE IF NOT EXISTS feedback (
    id         INTEGER PRIMARY KEY,
    anomaly_id INTEGER NOT NULL REFERENCES anomalies(id) ON DELETE CASCADE,
    label      TEXT NOT NULL,
    note       TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_by_anomaly ON feedback (anomaly_id);
CREATE TABLE IF NOT EXISTS read_offsets (
    source     TEXT NOT NULL,
    path       TEXT NOT NULL,
    dev        INTEGER NOT NULL,
    ino        INTEGER NOT NULL,
    offset     INTEGER NOT NULL,
    line       INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (source, path)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Keys of the `meta` table.
pub(crate) mod meta {
    /// 1-minute rollups are complete for buckets before this time.
    pub const ROLLUP_1M_UNTIL: &str = "rollup_1m_until";
    /// 1-hour rollups are complete for buckets before this time.
    pub const ROLLUP_1H_UNTIL: &str = "rollup_1h_until";
    /// Raw samples before this time have been deleted.
    pub const RAW_HORIZON: &str = "raw_horizon";
    /// 1-minute rollups before this time have been deleted.
    pub const ROLLUP_1M_HORIZON: &str = "rollup_1m_horizon";
    /// Earliest sample written behind `ROLLUP_1M_UNTIL` since the last compaction.
    pub const DIRTY_FROM: &str = "dirty_from";
}

/// Opens (creating if needed) the database for writing and applies the schema.
/// A database file of zero bytes is a store that lost its content (a truncation, a
/// failed copy), not a new one: SQLite would silently start it empty.
fn refuse_empty_file(path: &Path) -> Result<(), StoreError> {
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_file() && metadata.len() == 0 => Err(StoreError::Corrupt {
            what: path.display().to_string(),
            reason: "the database file is empty (0 bytes); move it away to start a new store, \
                     or restore it from a backup"
                .into(),
        }),
        _ => Ok(()),
    }
}

/// `PRAGMA quick_check` at open: a truncated or partly overwritten file is refused with
/// its name instead of starting ready and acknowledging writes that later queries
/// cannot read. It reads every page once (about a second per few GB).
fn quick_check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        what: path.display().to_string(),
        reason: format!("{reason}; restore it from a backup or move it away to start a new store"),
    };
    let mut statement = conn
        .prepare("PRAGMA quick_check(5)")
        .map_err(|error| corrupt(format!("the integrity check cannot run: {error}")))?;
    let problems: Vec<String> = statement
        .query_map([], |row| row.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .map_err(|error| corrupt(format!("the integrity check failed: {error}")))?;
    if problems.len() == 1 && problems[0] == "ok" {
        return Ok(());
    }
    Err(corrupt(format!(
        "the integrity check found: {}",
        problems.join("; ")
    )))
}

pub(crate) fn open_writer(path: &Path, cache_mib: usize) -> Result<Connection, StoreError> {
    let open_error = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    refuse_empty_file(path)?;
    let conn = Connection::open(path).map_err(open_error)?;
    quick_check(&conn, path)?;
    // page_size only takes effect before the first table exists.
    conn.execute_batch("PRAGMA page_size = 8192;")
        .map_err(open_error)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(open_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Corrupt {
            what: format!("journal mode of {}", path.display()),
            reason: format!("SQLite refused WAL mode and kept {mode:?}"),
        });
    }
    conn.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -{kib};
         PRAGMA journal_size_limit = {journal_limit};
         PRAGMA wal_autocheckpoint = {backstop};
         PRAGMA busy_timeout = 10000;",
        kib = cache_mib * 1024,
        journal_limit = 64 * 1024 * 1024,
        backstop = crate::checkpoint::WRITER_BACKSTOP_PAGES,
    ))
    .map_err(open_error)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(open_error)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Corrupt {
            what: format!("schema of {}", path.display()),
            reason: format!(
                "version {version} is newer than this build understands ({SCHEMA_VERSION})"
            ),
        });
    }
    conn.execute_batch(SCHEMA).map_err(open_error)?;
    conn.execute_batch(crate::events::SCHEMA)
        .map_err(open_error)?;
    migrate_v1_log(&conn).map_err(open_error)?;
    conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))
        .map_err(open_error)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Version 1 logged rows in `samples_log` and merged them into `samples`: merge what a
/// version-1 database left there, then drop the table.
fn migrate_v1_log(conn: &Connection) -> rusqlite::Result<()> {
    let exists: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'samples_log'",
        [],
        |row| row.get(0),
    )?;
    if !exists {
        return Ok(());
    }
    conn.execute_batch(
        "BEGIN;
         INSERT OR REPLACE INTO samples (series_id, ts_ms, value, score, is_anomaly, lower, upper)
             SELECT series_id, ts_ms, value, score, is_anomaly, lower, upper
             FROM samples_log ORDER BY series_id, ts_ms, rowid;
         DROP TABLE samples_log;
         COMMIT;",
    )
}

/// Opens a read-only connection for queries.
pub(crate) fn open_reader(path: &Path, cache_mib: usize) -> Result<Connection, StoreError> {
    let open_error = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(open_error)?;
    conn.execute_batch(&format!(
        "PRAGMA cache_size = -{kib}; PRAGMA busy_timeout = 10000; PRAGMA temp_store = MEMORY;",
        kib = cache_mib * 1024
    ))
    .map_err(open_error)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

pub(crate) fn read_meta(conn: &Connection, key: &str) -> Result<Option<i64>, StoreError> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")
        .and_then(|mut stmt| stmt.query_row([key], |row| row.get(0)).optional())
        .context("reading compaction progress")
}

pub(crate) fn write_meta(conn: &Connection, key: &str, value: i64) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")
        .and_then(|mut stmt| stmt.execute(rusqlite::params![key, value]))
        .context("recording compaction progress")?;
    Ok(())
}

/// Where each resolution starts and ends, shared by the writer and the readers.
///
/// `i64::MIN` means "not yet": no rollup built, nothing deleted.
#[derive(Debug)]
pub(crate) struct Horizons {
    pub rollup_1m_until: AtomicI64,
    pub rollup_1h_until: AtomicI64,
    pub raw_horizon: AtomicI64,
    pub rollup_1m_horizon: AtomicI64,
}

/// A consistent-enough copy of [`Horizons`] for planning one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HorizonSnapshot {
    pub rollup_1m_until: i64,
    pub rollup_1h_until: i64,
    pub raw_horizon: i64,
    pub rollup_1m_horizon: i64,
}

impl Horizons {
    pub fn load(conn: &Connection) -> Result<Horizons, StoreError> {
        let get = |key| Ok::<_, StoreError>(read_meta(conn, key)?.unwrap_or(i64::MIN));
        Ok(Horizons {
            rollup_1m_until: AtomicI64::new(get(meta::ROLLUP_1M_UNTIL)?),
            rollup_1h_until: AtomicI64::new(get(meta::ROLLUP_1H_UNTIL)?),
            raw_horizon: AtomicI64::new(get(meta::RAW_HORIZON)?),
            rollup_1m_horizon: AtomicI64::new(get(meta::ROLLUP_1M_HORIZON)?),
        })
    }

    pub fn snapshot(&self) -> HorizonSnapshot {
        HorizonSnapshot {
            rollup_1m_until: self.rollup_1m_until.load(Ordering::Acquire),
            rollup_1h_until: self.rollup_1h_until.load(Ordering::Acquire),
            raw_horizon: self.raw_horizon.load(Ordering::Acquire),
            rollup_1m_horizon: self.rollup_1m_horizon.load(Ordering::Acquire),
        }
    }
}
