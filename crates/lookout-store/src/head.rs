//! The head: committed samples that are not yet sealed into chunks, in memory.
//!
//! Every committed row is in the ingest log (durability) and here (reads): queries take a
//! series' recent rows from memory instead of scanning the log. The writer appends after
//! each commit, before acknowledging, so an acknowledged sample is queryable. A *live*
//! generation takes new rows; sealing freezes it (a new live generation starts) and
//! writes the frozen one into chunks in steps; once those are committed it is dropped.
//!
//! Memory: 48 bytes per row plus one small vector per series with rows in the generation,
//! for at most two generations (`StoreConfig::log_flush_rows` rows each, roughly).

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use lookout_model::SeriesId;

use crate::rows::{HeadRow, Point};

/// Hashes a series id (a small integer) with one multiplication instead of SipHash: ids
/// are assigned by the store, not chosen by clients.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_i64(&mut self, value: i64) {
        self.0 = (value as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

type SeriesRows = HashMap<SeriesId, Vec<HeadRow>, BuildHasherDefault<IdHasher>>;

/// Rows of one generation, per series in arrival order.
#[derive(Debug)]
pub(crate) struct Generation {
    pub series: SeriesRows,
    pub rows: usize,
    pub started: Instant,
}

impl Generation {
    fn new() -> Generation {
        Generation {
            series: SeriesRows::default(),
            rows: 0,
            started: Instant::now(),
        }
    }

    /// The rows of `series` sorted by time, the first written of two equal times kept (borrowed
    /// when they arrived in order, the common case).
    pub fn sorted_rows(&self, series: SeriesId) -> Cow<'_, [HeadRow]> {
        let rows = self.series.get(&series).map_or(&[][..], Vec::as_slice);
        if rows.windows(2).all(|pair| pair[0].ts_ms < pair[1].ts_ms) {
            return Cow::Borrowed(rows);
        }
        let mut rows = rows.to_vec();
        sort_keep_first(&mut rows);
        Cow::Owned(rows)
    }
}

/// Sorts by time (stable) and keeps the first written row of each time: the first
/// write of a time wins (see `lookout_pipeline::ingest`).
pub(crate) fn sort_keep_first(rows: &mut Vec<HeadRow>) {
    if rows.windows(2).all(|pair| pair[0].ts_ms < pair[1].ts_ms) {
        return;
    }
    rows.sort_by_key(|row| row.ts_ms);
    rows.dedup_by_key(|row| row.ts_ms);
}

struct Inner {
    live: Generation,
    frozen: Option<Arc<Generation>>,
}

/// Shared by the writer (appends, freezes, drops) and the readers.
pub(crate) struct Head {
    inner: RwLock<Inner>,
}

impl Default for Head {
    fn default() -> Self {
        Head {
            inner: RwLock::new(Inner {
                live: Generation::new(),
                frozen: None,
            }),
        }
    }
}

impl Head {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Adds committed rows to the live generation.
    pub fn append(&self, rows: impl IntoIterator<Item = (SeriesId, HeadRow)>) {
        let mut inner = self.write();
        let live = &mut inner.live;
        for (series, row) in rows {
            live.series.entry(series).or_default().push(row);
            live.rows += 1;
        }
    }

    /// Rows in the live generation, and since when it has been taking them.
    pub fn live(&self) -> (usize, Instant) {
        let inner = self.read();
        (inner.live.rows, inner.live.started)
    }

    /// Freezes the live generation for sealing; `None` when it is empty or one is frozen.
    pub fn freeze(&self) -> Option<Arc<Generation>> {
        let mut inner = self.write();
        if inner.live.rows == 0 || inner.frozen.is_some() {
            return None;
        }
        let frozen = Arc::new(std::mem::replace(&mut inner.live, Generation::new()));
        inner.frozen = Some(Arc::clone(&frozen));
        Some(frozen)
    }

    /// Forgets the frozen generation once its chunks are committed.
    pub fn drop_frozen(&self) {
        self.write().frozen = None;
    }

    /// The head's points of each of `series` in `[start, end)`, time-ordered, the newest
    /// write of a time kept. Call before a read transaction's first statement: rows leave
    /// the head only after their chunks are committed, so reading the head first and the
    /// database second sees every row at least once.
    pub fn points(
        &self,
        series: &[SeriesId],
        start: i64,
        end: i64,
    ) -> HashMap<SeriesId, Vec<Point>> {
        let mut out = HashMap::new();
        if start >= end {
            return out;
        }
        let inner = self.read();
        for id in series {
            let mut rows: Vec<HeadRow> = Vec::new();
            let generations = inner.frozen.as_deref().into_iter().chain([&inner.live]);
            for generation in generations {
                if let Some(list) = generation.series.get(id) {
                    rows.extend(
                        list.iter()
                            .filter(|row| row.ts_ms >= start && row.ts_ms < end),
                    );
                }
            }
            if rows.is_empty() {
                continue;
            }
            sort_keep_first(&mut rows);
            out.insert(*id, rows.iter().map(HeadRow::point).collect());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ts_ms: i64, value: f64) -> HeadRow {
        HeadRow {
            ts_ms,
            value,
            score: f64::NAN,
            lower: f64::NAN,
            upper: f64::NAN,
            is_anomaly: false,
        }
    }

    #[test]
    fn first_writes_win_across_generations_and_rows_stay_until_dropped() {
        let head = Head::default();
        let id = SeriesId(7);
        head.append([(id, row(2, 1.0)), (id, row(1, 1.0))]);
        let frozen = head.freeze().expect("rows to freeze");
        assert!(head.freeze().is_none(), "one frozen generation at a time");
        head.append([(id, row(2, 5.0)), (id, row(3, 1.0))]);
        let points = head.points(&[id], 0, 10).remove(&id).unwrap();
        let seen: Vec<(i64, f64)> = points.iter().map(|p| (p.ts_ms, p.value)).collect();
        assert_eq!(seen, [(1, 1.0), (2, 1.0), (3, 1.0)]);
        assert_eq!(frozen.sorted_rows(id).len(), 2);
        head.drop_frozen();
        let points = head.points(&[id], 0, 3).remove(&id).unwrap();
        assert_eq!(points.len(), 1, "only the live row at 2 remains below 3");
        assert!(head.points(&[SeriesId(8)], 0, 10).is_empty());
    }
}
