//! Engine-wide snapshots: the state of every series of every shard, and its restore,
//! so a restarted engine scores the next points exactly as the engine that was never
//! stopped would (bit for bit: the detectors' and combiner's state, the RNG states, each
//! series' newest time and value for the ordering policy).
//!
//! [`Engine::snapshot_all`](super::Engine::snapshot_all) asks each worker for a copy of
//! its series between two jobs, so it sees every batch handed in before it and none
//! after; [`Engine::restore`](super::Engine::restore) hands each series to the worker
//! that owns it under the current number of workers (which may differ from the number
//! that took the snapshot). A series the engine already has is left alone, and the
//! `max_series` cap applies.
//!
//! Encoding: JSON lines (`serde_json` with exact float round trips, as the per-series
//! snapshot): the pipeline configurations first, then one series per line. The
//! configurations line means a snapshot taken under other detection settings is
//! refused ([`SnapshotError::OtherSettings`]) rather than restored into detectors it
//! was not taken with. Misses: a change of which series get which pipeline
//! (`[[detection.override]]` selectors) with the same pipelines is not seen here.
//!
//! Cost: a copy of each series' state (a few KiB) on its worker, which stalls that
//! worker for the copy (~1 s per 100,000 series); encoding runs on the caller's thread.

use lookout_model::SeriesId;
use serde::{Deserialize, Serialize};

use crate::pipeline::{PipelineConfig, SeriesPipeline};

/// Format version of [`EngineSnapshot::to_bytes`].
pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;

/// One series' whole state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesSnapshot {
    pub series: SeriesId,
    /// The newest scored point (`i64::MIN` before the first).
    pub newest_ms: i64,
    /// The value scored at `newest_ms`.
    pub newest_value: f64,
    pub pipeline: SeriesPipeline,
}

/// Every series of an engine, ordered by series id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineSnapshot {
    /// The engine's pipeline configurations (JSON), default first.
    pub settings: String,
    pub series: Vec<SeriesSnapshot>,
}

/// Why a snapshot could not be read or restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("unreadable detector snapshot: {0}")]
    Unreadable(String),
    #[error("the detector snapshot was taken under other detection settings; not restored")]
    OtherSettings,
}

/// What a restore did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestoreReport {
    pub restored: usize,
    /// Series the engine already had (left as they were).
    pub present: usize,
    /// Series beyond `max_series`.
    pub over_limit: usize,
}

/// The settings string of a list of pipeline configurations.
pub(super) fn settings_of(pipelines: &[PipelineConfig]) -> String {
    serde_json::to_string(pipelines).expect("pipeline configurations serialise")
}

impl EngineSnapshot {
    /// The settings line, then one JSON line per series.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.series.len() * 8192);
        out.extend_from_slice(self.settings.as_bytes());
        out.push(b'\n');
        for series in &self.series {
            serde_json::to_writer(&mut out, series).expect("series states serialise");
            out.push(b'\n');
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<EngineSnapshot, SnapshotError> {
        let end = bytes
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| SnapshotError::Unreadable("no settings line".into()))?;
        let settings = std::str::from_utf8(&bytes[..end])
            .map_err(|_| SnapshotError::Unreadable("settings line is not UTF-8".into()))?
            .to_string();
        let mut series = Vec::new();
        for (index, line) in bytes[end + 1..].split(|b| *b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            series.push(serde_json::from_slice(line).map_err(|error| {
                SnapshotError::Unreadable(format!("series {}: {error}", index + 1))
            })?);
        }
        Ok(EngineSnapshot { settings, series })
    }
}
