//! The detector snapshot of a single node: the whole engine's state written to the
//! object store (`snapshots/detectors`, a new version each time) when `serve` stops,
//! and restored when it starts, before the warm start, which then replays only the
//! stored samples newer than what the snapshot holds of each series: a restart no longer replays history to warm
//! up, and the restored detectors score the next points exactly as if the server had
//! never stopped.
//!
//! The payload: one JSON line of metadata (the newest sample time the snapshot
//! reflects, when it was taken, each series' key, the false-positive counts per series
//! at that time), then the engine's snapshot (`lookout_detect::engine::snapshot`).
//! Series travel by key, not by store id, so a snapshot restores into a data directory
//! whose ids differ (a series unknown to the store is dropped, counted); false positives
//! recorded after the snapshot (a crash after a restore) are applied on top.
//!
//! Misses: state learned after the last snapshot by a server that then crashed is
//! rebuilt only from the newest `warm_start_points` per series after the snapshot (the
//! warm start's limits). Cost: the engine's copy per series (see the engine), JSON
//! encoding (~10 KiB per series with the default profile), one object write.

use std::collections::HashMap;
use std::sync::Arc;

use lookout_detect::engine::{EngineSnapshot, SNAPSHOT_FORMAT_VERSION};
use lookout_model::{SeriesId, SeriesKey};
use lookout_objstore::{Format, ObjectError, ObjectStore};
use lookout_pipeline::scorer::ScorerError;
use serde::{Deserialize, Serialize};

use crate::state::AppState;
use crate::warm::RestoredSeries;

/// The object the snapshot is written to.
pub const SNAPSHOT_OBJECT: &str = "snapshots/detectors";
/// Its envelope format.
pub const SNAPSHOT_FORMAT: Format = Format {
    name: "detector-snapshot",
    version: SNAPSHOT_FORMAT_VERSION,
};

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    newest_sample_ms: i64,
    taken_ms: i64,
    keys: Vec<(SeriesId, SeriesKey)>,
    false_positives: Vec<(SeriesId, usize)>,
}

/// What a save or a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotReport {
    pub series: usize,
    /// The newest sample time the snapshot reflects (unix ms; `None`: no series).
    pub newest_sample_ms: Option<i64>,
    /// The version written or read.
    pub version: usize,
    /// On restore: series whose key the store does not know, left out.
    pub unknown: usize,
    /// On restore: false positives recorded after the snapshot, applied.
    pub false_positives: usize,
}

/// Why a snapshot could not be saved or restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Store(#[from] ObjectError),
    #[error("reading the store: {0}")]
    Data(#[from] lookout_store::StoreError),
    #[error("detection engine: {0}")]
    Engine(#[from] ScorerError),
    #[error("{SNAPSHOT_OBJECT} version {version}: {reason}")]
    Unreadable { version: usize, reason: String },
    #[error("{SNAPSHOT_OBJECT} version {version}: {source}")]
    Refused {
        version: usize,
        source: lookout_detect::engine::SnapshotError,
    },
}

/// Writes the engine's state as a new version; `None` when the engine cannot snapshot.
/// Blocking: call it once ingestion has stopped, off the async runtime.
pub fn save(
    state: &AppState,
    store: &dyn ObjectStore,
) -> Result<Option<SnapshotReport>, SnapshotError> {
    let Some(engine) = state.scorer.snapshot()? else {
        return Ok(None);
    };
    let keys_by_id: HashMap<SeriesId, Arc<SeriesKey>> =
        state.store.list_series_shared().into_iter().collect();
    let keys = engine
        .series
        .iter()
        .filter_map(|s| Some((s.series, (**keys_by_id.get(&s.series)?).clone())))
        .collect();
    let newest = engine.series.iter().map(|s| s.newest_ms).max();
    let meta = Meta {
        newest_sample_ms: newest.unwrap_or(i64::MIN),
        taken_ms: lookout_model::clock::now_ms(),
        keys,
        false_positives: state.store.false_positives_by_series()?,
    };
    let mut payload = serde_json::to_vec(&meta).expect("snapshot metadata serialises");
    payload.push(b'\n');
    payload.extend_from_slice(&engine.to_bytes());
    let version = store.put(SNAPSHOT_OBJECT, SNAPSHOT_FORMAT, &payload)?;
    Ok(Some(SnapshotReport {
        series: engine.series.len(),
        newest_sample_ms: newest,
        version: version.number,
        ..SnapshotReport::default()
    }))
}

/// Restores the current snapshot into the engine, returning what it did and the series
/// it restored with their newest sample time (for the warm start); `None` when there is
/// none (or the engine cannot restore). Call it before anything is ingested. Blocking.
pub fn restore(
    state: &AppState,
    store: &dyn ObjectStore,
) -> Result<Option<(SnapshotReport, RestoredSeries)>, SnapshotError> {
    let object = match store.get(SNAPSHOT_OBJECT, None, SNAPSHOT_FORMAT) {
        Ok(object) => object,
        Err(ObjectError::NotFound { .. }) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let version = object.version.number;
    let unreadable = |reason: String| SnapshotError::Unreadable { version, reason };
    let end = object
        .payload
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| unreadable("no metadata line".into()))?;
    let meta: Meta = serde_json::from_slice(&object.payload[..end])
        .map_err(|error| unreadable(format!("metadata: {error}")))?;
    let mut engine = EngineSnapshot::from_bytes(&object.payload[end + 1..])
        .map_err(|error| unreadable(error.to_string()))?;
    // Old id → key → the id this store gives that key.
    let key_of: HashMap<SeriesId, SeriesKey> = meta.keys.into_iter().collect();
    let id_now = |old: SeriesId| {
        key_of
            .get(&old)
            .and_then(|key| state.store.lookup_series(key))
    };
    let before = engine.series.len();
    engine.series = engine
        .series
        .into_iter()
        .filter_map(|mut series| {
            series.series = id_now(series.series)?;
            Some(series)
        })
        .collect();
    let unknown = before - engine.series.len();
    let series = engine.series.len();
    let newest = engine.series.iter().map(|s| s.newest_ms).max();
    let held: RestoredSeries = engine
        .series
        .iter()
        .map(|s| (s.series, s.newest_ms))
        .collect();
    match state.scorer.restore(engine)? {
        None => return Ok(None),
        Some(Err(source)) => return Err(SnapshotError::Refused { version, source }),
        Some(Ok(_)) => {}
    }
    // Feedback is part of the detectors' state: only what came after is applied.
    let then: HashMap<SeriesId, usize> = meta
        .false_positives
        .into_iter()
        .filter_map(|(old, count)| Some((id_now(old)?, count)))
        .collect();
    let mut applied = 0;
    for (series, count) in state.store.false_positives_by_series()? {
        for _ in then.get(&series).copied().unwrap_or(0)..count {
            loop {
                match state.scorer.false_positive(series) {
                    Ok(()) => break,
                    Err(ScorerError::Overloaded(_)) => {
                        std::thread::sleep(std::time::Duration::from_millis(5))
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            applied += 1;
        }
    }
    Ok(Some((
        SnapshotReport {
            series,
            newest_sample_ms: newest,
            version,
            unknown,
            false_positives: applied,
        },
        held,
    )))
}
