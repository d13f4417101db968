//! Aggregates of many samples: the rows of `samples_1m` / `samples_1h`, and the
//! per-bucket summary that range queries return when they downsample.

use lookout_model::SeriesId;
use rusqlite::{Connection, OptionalExtension};

use crate::error::SqlContext;
use crate::StoreError;

pub(crate) const MINUTE_MS: i64 = 60_000;
pub(crate) const HOUR_MS: i64 = 3_600_000;

/// `x` rounded down to a multiple of `width`; `i64::MIN` stays the "unbounded" sentinel.
pub(crate) fn floor_to(x: i64, width: i64) -> i64 {
    if x == i64::MIN {
        return i64::MIN;
    }
    x.div_euclid(width).saturating_mul(width)
}

/// Summary of the samples of one bucket. NaN values count in neither min, max, sum nor
/// count, but a NaN can be the `last` value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Agg {
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: i64,
    pub last: f64,
    pub last_ts: i64,
    pub max_score: Option<f64>,
    pub anomaly_count: i64,
    /// Number of rows folded in, NaN values included.
    pub rows: i64,
}

impl Agg {
    pub fn empty() -> Agg {
        Agg {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
            count: 0,
            last: f64::NAN,
            last_ts: i64::MIN,
            max_score: None,
            anomaly_count: 0,
            rows: 0,
        }
    }

    pub fn add_sample(&mut self, ts_ms: i64, value: f64, score: Option<f64>, is_anomaly: bool) {
        if !value.is_nan() {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
            self.sum += value;
            self.count += 1;
        }
        if ts_ms >= self.last_ts {
            self.last = value;
            self.last_ts = ts_ms;
        }
        self.max_score = max_option(self.max_score, score);
        self.anomaly_count += i64::from(is_anomaly);
        self.rows += 1;
    }

    /// Folds `other` in; `last` comes from whichever has the later `last_ts` (`other` on a tie).
    pub fn merge(&mut self, other: &Agg) {
        if other.rows == 0 {
            return;
        }
        if other.count > 0 {
            self.min = self.min.min(other.min);
            self.max = self.max.max(other.max);
            self.sum += other.sum;
            self.count += other.count;
        }
        if other.last_ts >= self.last_ts {
            self.last = other.last;
            self.last_ts = other.last_ts;
        }
        self.max_score = max_option(self.max_score, other.max_score);
        self.anomaly_count += other.anomaly_count;
        self.rows += other.rows;
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.sum / self.count as f64
        }
    }
}

fn max_option(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// One of the two rollup tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RollupTable {
    Minute,
    Hour,
}

impl RollupTable {
    pub fn width_ms(self) -> i64 {
        match self {
            RollupTable::Minute => MINUTE_MS,
            RollupTable::Hour => HOUR_MS,
        }
    }

    fn select_range_sql(self) -> &'static str {
        match self {
            RollupTable::Minute => "SELECT bucket_ts, min, max, sum, count, last, max_score, anomaly_count FROM samples_1m WHERE series_id = ?1 AND bucket_ts >= ?2 AND bucket_ts < ?3 ORDER BY bucket_ts",
            RollupTable::Hour => "SELECT bucket_ts, min, max, sum, count, last, max_score, anomaly_count FROM samples_1h WHERE series_id = ?1 AND bucket_ts >= ?2 AND bucket_ts < ?3 ORDER BY bucket_ts",
        }
    }

    fn upsert_sql(self) -> &'static str {
        match self {
            RollupTable::Minute => "INSERT OR REPLACE INTO samples_1m (series_id, bucket_ts, min, max, sum, count, last, max_score, anomaly_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            RollupTable::Hour => "INSERT OR REPLACE INTO samples_1h (series_id, bucket_ts, min, max, sum, count, last, max_score, anomaly_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        }
    }
}

/// Reads one rollup row into an [`Agg`]; its `last_ts` is the bucket start.
pub(crate) fn agg_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Agg)> {
    let bucket_ts: i64 = row.get(0)?;
    let count: i64 = row.get(4)?;
    let min: Option<f64> = row.get(1)?;
    let max: Option<f64> = row.get(2)?;
    let agg = Agg {
        min: min.unwrap_or(f64::INFINITY),
        max: max.unwrap_or(f64::NEG_INFINITY),
        sum: row.get::<_, Option<f64>>(3)?.unwrap_or(0.0),
        count,
        last: row.get::<_, Option<f64>>(5)?.unwrap_or(f64::NAN),
        last_ts: bucket_ts,
        max_score: row.get(6)?,
        anomaly_count: row.get(7)?,
        rows: count.max(1),
    };
    Ok((bucket_ts, agg))
}

/// Reads rollup rows of one series with `from <= bucket_ts < to`, oldest first.
pub(crate) fn read_rollups(
    conn: &Connection,
    table: RollupTable,
    series: SeriesId,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, Agg)>, StoreError> {
    let mut stmt = conn
        .prepare_cached(table.select_range_sql())
        .context("preparing a rollup read")?;
    let rows = stmt
        .query_map(rusqlite::params![series.0, from, to], agg_from_row)
        .context("reading rollups")?;
    rows.collect::<Result<Vec<_>, _>>()
        .context("reading rollups")
}

fn write_rollup(
    conn: &Connection,
    table: RollupTable,
    series: SeriesId,
    bucket_ts: i64,
    agg: &Agg,
) -> Result<(), StoreError> {
    let finite = |x: f64| if agg.count == 0 { None } else { Some(x) };
    let last = if agg.last.is_nan() {
        None
    } else {
        Some(agg.last)
    };
    conn.prepare_cached(table.upsert_sql())
        .and_then(|mut stmt| {
            stmt.execute(rusqlite::params![
                series.0,
                bucket_ts,
                finite(agg.min),
                finite(agg.max),
                finite(agg.sum),
                agg.count,
                last,
                agg.max_score,
                agg.anomaly_count
            ])
        })
        .context("writing a rollup row")?;
    Ok(())
}

/// Folds rows of one bucket, oldest first, and writes each finished bucket.
struct BucketWriter<'a> {
    conn: &'a Connection,
    table: RollupTable,
    series: SeriesId,
    /// Buckets before this were rolled up earlier and their source rows deleted: the new
    /// rows are merged into the stored rollup instead of replacing it.
    merge_below: i64,
    current: Option<(i64, Agg)>,
    written: u64,
}

impl BucketWriter<'_> {
    fn add(&mut self, ts_ms: i64, agg: &Agg) -> Result<(), StoreError> {
        let bucket = floor_to(ts_ms, self.table.width_ms());
        match &mut self.current {
            Some((current, acc)) if *current == bucket => acc.merge(agg),
            _ => {
                self.flush()?;
                let mut acc = Agg::empty();
                acc.merge(agg);
                self.current = Some((bucket, acc));
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        let Some((bucket, mut acc)) = self.current.take() else {
            return Ok(());
        };
        if bucket < self.merge_below {
            if let Some(mut stored) = stored_bucket(self.conn, self.table, self.series, bucket)? {
                // The stored row summarises samples that are gone; keep its `last`.
                stored.last_ts = i64::MAX;
                acc.merge(&stored);
            }
        }
        write_rollup(self.conn, self.table, self.series, bucket, &acc)?;
        self.written += 1;
        Ok(())
    }
}

/// Rebuilds the 1-minute rollups of `series` for raw samples in `[from, to)`.
pub(crate) fn rollup_raw_to_minutes(
    conn: &Connection,
    series: SeriesId,
    from: i64,
    to: i64,
    merge_below: i64,
) -> Result<u64, StoreError> {
    let mut writer = BucketWriter {
        conn,
        table: RollupTable::Minute,
        series,
        merge_below,
        current: None,
        written: 0,
    };
    for row in crate::raw::stored_rows(conn, series, from, to)? {
        let score = (!row.score.is_nan()).then_some(row.score);
        let mut one = Agg::empty();
        one.add_sample(row.ts_ms, row.value, score, row.is_anomaly);
        writer.add(row.ts_ms, &one)?;
    }
    writer.flush()?;
    Ok(writer.written)
}

/// Rebuilds the 1-hour rollups of `series` from its 1-minute rollups in `[from, to)`.
pub(crate) fn rollup_minutes_to_hours(
    conn: &Connection,
    series: SeriesId,
    from: i64,
    to: i64,
    merge_below: i64,
) -> Result<u64, StoreError> {
    let minutes = read_rollups(conn, RollupTable::Minute, series, from, to)?;
    let mut writer = BucketWriter {
        conn,
        table: RollupTable::Hour,
        series,
        merge_below,
        current: None,
        written: 0,
    };
    for (bucket_ts, agg) in &minutes {
        writer.add(*bucket_ts, agg)?;
    }
    writer.flush()?;
    Ok(writer.written)
}

/// The stored rollup of one bucket, if any.
pub(crate) fn stored_bucket(
    conn: &Connection,
    table: RollupTable,
    series: SeriesId,
    bucket_ts: i64,
) -> Result<Option<Agg>, StoreError> {
    conn.prepare_cached(table.select_range_sql())
        .and_then(|mut stmt| {
            stmt.query_row(
                rusqlite::params![series.0, bucket_ts, bucket_ts + 1],
                agg_from_row,
            )
            .optional()
        })
        .map(|row| row.map(|(_, agg)| agg))
        .context("reading a rollup row")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agg_tracks_min_max_sum_last() {
        let mut agg = Agg::empty();
        agg.add_sample(3, 5.0, Some(0.1), false);
        agg.add_sample(1, 1.0, Some(0.9), true);
        agg.add_sample(2, f64::NAN, None, false);
        assert_eq!((agg.min, agg.max, agg.sum, agg.count), (1.0, 5.0, 6.0, 2));
        assert_eq!(agg.last, 5.0);
        assert_eq!(agg.max_score, Some(0.9));
        assert_eq!(agg.anomaly_count, 1);
        assert_eq!(agg.rows, 3);
        assert_eq!(agg.avg(), 3.0);
    }

    #[test]
    fn merge_takes_later_last() {
        let mut early = Agg::empty();
        early.add_sample(10, 7.0, None, false);
        let mut late = Agg::empty();
        late.add_sample(20, -1.0, Some(0.5), false);
        early.merge(&late);
        assert_eq!(early.last, -1.0);
        assert_eq!((early.min, early.max, early.count), (-1.0, 7.0, 2));
        assert_eq!(early.max_score, Some(0.5));
    }

    #[test]
    fn floor_keeps_sentinel_and_rounds_down_negatives() {
        assert_eq!(floor_to(i64::MIN, MINUTE_MS), i64::MIN);
        assert_eq!(floor_to(125_000, MINUTE_MS), 120_000);
        assert_eq!(floor_to(-1, MINUTE_MS), -60_000);
    }
}
