//! The store's row types, a leaf every other module may use: [`Point`] (one point of a
//! query answer), [`Resolution`], [`SeriesPoints`] and [`HeadRow`] (one sample as the
//! in-memory head, the ingest log and sealed chunks keep it). Plain data, no IO.

use lookout_model::SeriesId;

/// One point of a query answer: a raw sample, or the summary of a bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Sample time, or bucket start.
    pub ts_ms: i64,
    /// The sample's value, or the last value of the bucket. NaN for a stored NaN.
    pub value: f64,
    /// Lowest non-NaN value in the bucket (the value itself for a raw sample).
    pub min: f64,
    /// Highest non-NaN value in the bucket.
    pub max: f64,
    /// Mean of the non-NaN values in the bucket.
    pub avg: f64,
    /// Number of non-NaN samples summarised.
    pub count: u64,
    /// Highest anomaly score, if any sample was scored.
    pub score: Option<f64>,
    /// Whether any sample in the bucket was anomalous.
    pub is_anomaly: bool,
    /// Expected band (lowest lower, highest upper); rollups do not keep the band.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// Where a query's points came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resolution {
    Raw,
    Minute,
    Hour,
}

/// The answer of a range query for one series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoints {
    pub series: SeriesId,
    /// Coarsest source read (raw rows, minute or hour rollups).
    pub resolution: Resolution,
    pub points: Vec<Point>,
}

impl Point {
    pub(crate) fn from_raw(
        ts_ms: i64,
        value: Option<f64>,
        score: Option<f64>,
        is_anomaly: bool,
        lower: Option<f64>,
        upper: Option<f64>,
    ) -> Point {
        let value = value.unwrap_or(f64::NAN);
        Point {
            ts_ms,
            value,
            min: value,
            max: value,
            avg: value,
            count: u64::from(!value.is_nan()),
            score,
            is_anomaly,
            lower,
            upper,
        }
    }
}

/// One stored sample in memory: 48 bytes, NaN standing for a missing value or verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HeadRow {
    pub ts_ms: i64,
    pub value: f64,
    pub score: f64,
    pub lower: f64,
    pub upper: f64,
    pub is_anomaly: bool,
}

impl HeadRow {
    /// The row as a query point; NaN fields become `None`.
    pub fn point(&self) -> Point {
        let some = |x: f64| (!x.is_nan()).then_some(x);
        Point::from_raw(
            self.ts_ms,
            some(self.value),
            some(self.score),
            self.is_anomaly,
            some(self.lower),
            some(self.upper),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_row_without_a_verdict_is_an_unscored_point() {
        let row = HeadRow {
            ts_ms: 5,
            value: 2.5,
            score: f64::NAN,
            lower: f64::NAN,
            upper: 3.0,
            is_anomaly: false,
        };
        let point = row.point();
        assert_eq!((point.ts_ms, point.value, point.count), (5, 2.5, 1));
        assert_eq!(
            (point.score, point.lower, point.upper),
            (None, None, Some(3.0))
        );
        let missing = HeadRow {
            value: f64::NAN,
            ..row
        }
        .point();
        assert_eq!(missing.count, 0, "a stored NaN is not counted");
    }
}
