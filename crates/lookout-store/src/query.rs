//! Range and instant queries: picks raw rows or rollups by range, then downsamples.
//!
//! A range `[from, to]` is read from up to three sources, oldest part first: 1-hour
//! rollups where 1-minute rollups were already deleted, 1-minute rollups where raw rows
//! were deleted, raw rows after that. When the caller asks for at most `max_points` and
//! the bucket width `(to - from + 1) / max_points` is at least a minute (an hour), the
//! already rolled-up part is read from the minute (hour) rollups even where raw rows
//! still exist, which keeps a 7-day chart from reading 600,000 rows per series.
//!
//! Downsampling: when more points than `max_points` remain, points are grouped into
//! buckets of that width aligned on `from`, and each bucket becomes one [`Point`] whose
//! `ts_ms` is the bucket start, `value` the last value in the bucket, `min`/`max`/`avg`
//! over every sample in it, `score` the highest score, `is_anomaly` whether any sample was
//! anomalous, and the band the widest one (lowest `lower`, highest `upper`).

use lookout_model::SeriesId;
use rusqlite::Connection;

use crate::raw::stored_rows;
use crate::rollup::{read_rollups, Agg, RollupTable, HOUR_MS, MINUTE_MS};
use crate::rows::{HeadRow, Point, Resolution, SeriesPoints};
use crate::schema::HorizonSnapshot;
use crate::StoreError;

impl Point {
    fn from_agg(bucket_ts: i64, agg: &Agg) -> Point {
        let empty = agg.count == 0;
        Point {
            ts_ms: bucket_ts,
            value: agg.last,
            min: if empty { f64::NAN } else { agg.min },
            max: if empty { f64::NAN } else { agg.max },
            avg: agg.avg(),
            count: agg.count.max(0) as u64,
            score: agg.max_score,
            is_anomaly: agg.anomaly_count > 0,
            lower: None,
            upper: None,
        }
    }
}

/// Time segments `[start, end)` read from each source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segments {
    pub hour: (i64, i64),
    pub minute: (i64, i64),
    pub raw: (i64, i64),
}

pub(crate) fn plan_segments(
    from: i64,
    to_inclusive: i64,
    bucket_width: i64,
    horizons: HorizonSnapshot,
) -> Segments {
    let end = to_inclusive.saturating_add(1);
    let mut raw_start = horizons.raw_horizon;
    if bucket_width >= MINUTE_MS {
        raw_start = raw_start.max(horizons.rollup_1m_until);
    }
    let mut minute_start = horizons.rollup_1m_horizon;
    if bucket_width >= HOUR_MS {
        minute_start = minute_start.max(horizons.rollup_1h_until);
    }
    let minute_start = minute_start.min(raw_start);
    let clip = |start: i64, stop: i64| (start.max(from), stop.min(end));
    Segments {
        hour: clip(from, minute_start),
        minute: clip(minute_start, raw_start),
        raw: clip(raw_start, end),
    }
}

/// The bucket width for `max_points` over `[from, to]` (0 when no limit).
pub(crate) fn bucket_width(from: i64, to_inclusive: i64, max_points: Option<usize>) -> i64 {
    let Some(max_points) = max_points else {
        return 0;
    };
    let span = to_inclusive.saturating_sub(from).saturating_add(1).max(1);
    let points = i64::try_from(max_points.max(1)).unwrap_or(i64::MAX);
    (span + points - 1) / points
}

/// Points of one series in `[from, to]`, downsampled to at most `max_points`.
/// `logged` holds the series' rows of the in-memory head in the raw segment.
pub(crate) fn range_of_series(
    conn: &Connection,
    series: SeriesId,
    from: i64,
    max_points: Option<usize>,
    segments: Segments,
    logged: Vec<Point>,
) -> Result<SeriesPoints, StoreError> {
    let width = bucket_width(from, segments.raw.1 - 1, max_points);
    let mut points = Vec::new();
    let mut resolution = Resolution::Raw;
    for (table, (start, end), level) in [
        (RollupTable::Hour, segments.hour, Resolution::Hour),
        (RollupTable::Minute, segments.minute, Resolution::Minute),
    ] {
        if start < end {
            let rows = read_rollups(conn, table, series, start, end)?;
            if !rows.is_empty() {
                resolution = resolution.max(level);
            }
            points.extend(
                rows.iter()
                    .map(|(bucket, agg)| Point::from_agg(*bucket, agg)),
            );
        }
    }
    if segments.raw.0 < segments.raw.1 {
        let mut stored = Vec::new();
        read_raw(conn, series, segments.raw.0, segments.raw.1, &mut stored)?;
        merge_sorted(&mut points, stored, logged);
    }
    if let Some(max_points) = max_points {
        if points.len() > max_points {
            points = downsample(&points, from, width);
        }
    }
    Ok(SeriesPoints {
        series,
        resolution,
        points,
    })
}

fn read_raw(
    conn: &Connection,
    series: SeriesId,
    start: i64,
    end: i64,
    points: &mut Vec<Point>,
) -> Result<(), StoreError> {
    let rows = stored_rows(conn, series, start, end)?;
    points.extend(rows.iter().map(HeadRow::point));
    Ok(())
}

/// Appends two time-ordered lists; on equal times the stored point wins (it was written
/// first: the first write of a time wins).
fn merge_sorted(out: &mut Vec<Point>, stored: Vec<Point>, logged: Vec<Point>) {
    if logged.is_empty() {
        out.extend(stored);
        return;
    }
    out.reserve(stored.len() + logged.len());
    let mut stored = stored.into_iter().peekable();
    let mut logged = logged.into_iter().peekable();
    loop {
        let (stored_ts, logged_ts) = (
            stored.peek().map(|point| point.ts_ms),
            logged.peek().map(|point| point.ts_ms),
        );
        let next = match (stored_ts, logged_ts) {
            (None, None) => break,
            (Some(_), None) => stored.next(),
            (None, Some(_)) => logged.next(),
            (Some(a), Some(b)) if a < b => stored.next(),
            (Some(a), Some(b)) => {
                if a == b {
                    logged.next();
                }
                stored.next()
            }
        };
        out.extend(next);
    }
}

/// Groups time-ordered points into buckets of `width` aligned on `from`.
pub(crate) fn downsample(points: &[Point], from: i64, width: i64) -> Vec<Point> {
    let width = width.max(1);
    let mut out: Vec<Point> = Vec::new();
    let mut current: Option<(i64, Bucket)> = None;
    for point in points {
        let start = from + (point.ts_ms - from).div_euclid(width) * width;
        match &mut current {
            Some((bucket_start, bucket)) if *bucket_start == start => bucket.add(point),
            _ => {
                if let Some((bucket_start, bucket)) = current.take() {
                    out.push(bucket.finish(bucket_start));
                }
                let mut bucket = Bucket::default();
                bucket.add(point);
                current = Some((start, bucket));
            }
        }
    }
    if let Some((bucket_start, bucket)) = current {
        out.push(bucket.finish(bucket_start));
    }
    out
}

#[derive(Default)]
struct Bucket {
    first: Option<Point>,
    last_value: f64,
    min: Option<f64>,
    max: Option<f64>,
    sum: f64,
    count: u64,
    score: Option<f64>,
    is_anomaly: bool,
    lower: Option<f64>,
    upper: Option<f64>,
}

fn fold(current: Option<f64>, next: Option<f64>, pick: fn(f64, f64) -> f64) -> Option<f64> {
    match (current, next) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, None) => a,
        (None, b) => b,
    }
}

impl Bucket {
    fn add(&mut self, point: &Point) {
        self.first.get_or_insert(*point);
        self.last_value = point.value;
        if point.count > 0 {
            self.min = fold(self.min, Some(point.min), f64::min);
            self.max = fold(self.max, Some(point.max), f64::max);
            self.sum += point.avg * point.count as f64;
            self.count += point.count;
        }
        self.score = fold(self.score, point.score, f64::max);
        self.is_anomaly |= point.is_anomaly;
        self.lower = fold(self.lower, point.lower, f64::min);
        self.upper = fold(self.upper, point.upper, f64::max);
    }

    fn finish(self, bucket_start: i64) -> Point {
        Point {
            ts_ms: bucket_start,
            value: self.last_value,
            min: self.min.unwrap_or(f64::NAN),
            max: self.max.unwrap_or(f64::NAN),
            avg: if self.count == 0 {
                f64::NAN
            } else {
                self.sum / self.count as f64
            },
            count: self.count,
            score: self.score,
            is_anomaly: self.is_anomaly,
            lower: self.lower,
            upper: self.upper,
        }
    }
}

/// The newest point of `series` in `(ts - lookback, ts]`: raw rows first, then the
/// rollups when raw rows of that time were deleted (the last value of the newest
/// bucket starting in the window, stamped with the bucket start).
/// `logged` is the series' newest point of the in-memory head in the window, if any.
pub(crate) fn latest_point(
    conn: &Connection,
    series: SeriesId,
    ts: i64,
    lookback_ms: i64,
    horizons: HorizonSnapshot,
    logged: Option<Point>,
) -> Result<Option<Point>, StoreError> {
    let after = ts.saturating_sub(lookback_ms);
    let raw = stored_rows(conn, series, after.saturating_add(1), ts.saturating_add(1))?
        .last()
        .map(HeadRow::point);
    let newest = match (raw, logged) {
        // On equal times the stored point was written first, and the first write wins.
        (Some(stored), Some(logged)) if stored.ts_ms >= logged.ts_ms => Some(stored),
        (stored, None) => stored,
        (_, logged) => logged,
    };
    if newest.is_some() || after >= horizons.raw_horizon {
        return Ok(newest);
    }
    for table in [RollupTable::Minute, RollupTable::Hour] {
        let width = table.width_ms();
        let first_bucket = after.saturating_sub(width).saturating_add(1);
        let rows = read_rollups(conn, table, series, first_bucket, ts.saturating_add(1))?;
        if let Some((bucket, agg)) = rows.last() {
            return Ok(Some(Point::from_agg(*bucket, agg)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Downsampling never returns more than `max_points`, loses no sample, and keeps
        /// the overall extremes.
        #[test]
        fn downsampling_bounds_points_and_keeps_extremes(
            gaps in proptest::collection::vec(1i64..5_000, 1..400),
            values in proptest::collection::vec(-1e6f64..1e6, 400),
            max_points in 1usize..50,
        ) {
            let mut ts = 1_000;
            let points: Vec<Point> = gaps.iter().zip(&values).map(|(gap, value)| {
                ts += gap;
                raw(ts, *value)
            }).collect();
            let from = 1_000;
            let to = ts;
            let width = bucket_width(from, to, Some(max_points));
            let out = downsample(&points, from, width);
            prop_assert!(out.len() <= max_points);
            prop_assert_eq!(out.iter().map(|p| p.count).sum::<u64>(), points.len() as u64);
            let min = points.iter().map(|p| p.value).fold(f64::INFINITY, f64::min);
            let max = points.iter().map(|p| p.value).fold(f64::NEG_INFINITY, f64::max);
            prop_assert_eq!(out.iter().map(|p| p.min).fold(f64::INFINITY, f64::min), min);
            prop_assert_eq!(out.iter().map(|p| p.max).fold(f64::NEG_INFINITY, f64::max), max);
            prop_assert_eq!(out.last().unwrap().value, points.last().unwrap().value);
        }
    }

    fn raw(ts_ms: i64, value: f64) -> Point {
        Point::from_raw(
            ts_ms,
            Some(value),
            Some(value / 100.0),
            value > 90.0,
            Some(value - 1.0),
            Some(value + 1.0),
        )
    }

    #[test]
    fn downsampling_keeps_min_max_last_and_anomaly() {
        let points: Vec<Point> = (0..10)
            .map(|i| {
                raw(
                    i * 1000,
                    [5.0, 1.0, 95.0, 3.0, 4.0, 6.0, 2.0, 8.0, 7.0, 0.5][i as usize],
                )
            })
            .collect();
        let out = downsample(&points, 0, 5000);
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].min, out[0].max, out[0].value), (1.0, 95.0, 4.0));
        assert!(out[0].is_anomaly && !out[1].is_anomaly);
        assert_eq!(
            (out[1].min, out[1].max, out[1].value, out[1].count),
            (0.5, 8.0, 0.5, 5)
        );
        assert_eq!(out[1].ts_ms, 5000);
        assert_eq!(out[0].lower, Some(0.0));
        assert_eq!(out[0].upper, Some(96.0));
        assert!((out[0].avg - 108.0 / 5.0).abs() < 1e-9);
    }

    #[test]
    fn bucket_width_rounds_up() {
        assert_eq!(bucket_width(0, 999, Some(10)), 100);
        assert_eq!(bucket_width(0, 1000, Some(10)), 101);
        assert_eq!(bucket_width(0, 1000, None), 0);
        assert_eq!(bucket_width(0, 5, Some(0)), 6);
    }

    #[test]
    fn segments_prefer_rollups_for_wide_buckets() {
        let horizons = HorizonSnapshot {
            rollup_1m_until: 10 * HOUR_MS,
            rollup_1h_until: 9 * HOUR_MS,
            raw_horizon: 5 * HOUR_MS,
            rollup_1m_horizon: 2 * HOUR_MS,
        };
        let fine = plan_segments(0, 11 * HOUR_MS, 1000, horizons);
        assert_eq!(fine.hour, (0, 2 * HOUR_MS));
        assert_eq!(fine.minute, (2 * HOUR_MS, 5 * HOUR_MS));
        assert_eq!(fine.raw, (5 * HOUR_MS, 11 * HOUR_MS + 1));
        let coarse = plan_segments(0, 11 * HOUR_MS, HOUR_MS, horizons);
        assert_eq!(coarse.hour, (0, 9 * HOUR_MS));
        assert_eq!(coarse.minute, (9 * HOUR_MS, 10 * HOUR_MS));
        assert_eq!(coarse.raw, (10 * HOUR_MS, 11 * HOUR_MS + 1));
    }

    #[test]
    fn fresh_store_reads_only_raw() {
        let horizons = HorizonSnapshot {
            rollup_1m_until: i64::MIN,
            rollup_1h_until: i64::MIN,
            raw_horizon: i64::MIN,
            rollup_1m_horizon: i64::MIN,
        };
        let segments = plan_segments(100, 200, MINUTE_MS, horizons);
        assert!(segments.hour.0 >= segments.hour.1);
        assert!(segments.minute.0 >= segments.minute.1);
        assert_eq!(segments.raw, (100, 201));
    }
}
