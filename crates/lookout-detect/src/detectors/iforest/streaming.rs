//! Isolation Forest on a stream: a bounded window of recent rows, refitted on a schedule.

use serde::{Deserialize, Serialize};

use super::{ForestConfigError, IsolationForest, IsolationForestConfig};
use crate::detector::{sanitize_raw, Detector, MultiDetector, MultiScore, Score};
use crate::detectors::rcf::rng::ForestRng;

/// Configuration of [`StreamingIsolationForest`].
///
/// Defaults: the first model is fitted after `warmup = 256` rows (one full subsample),
/// then refitted every `refit_every = 1024` rows on the last `window = 2048` rows, so a
/// model never lags more than ~1000 rows behind and the window spans several
/// subsamples. Univariate use shingles `shingle_size = 4` consecutive values per row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamingIsolationForestConfig {
    pub n_trees: usize,
    pub sample_size: usize,
    pub contamination: f64,
    pub warmup: usize,
    pub refit_every: usize,
    pub window: usize,
    pub shingle_size: usize,
}

impl Default for StreamingIsolationForestConfig {
    fn default() -> Self {
        Self {
            n_trees: 100,
            sample_size: 256,
            contamination: 0.05,
            warmup: 256,
            refit_every: 1024,
            window: 2048,
            shingle_size: 4,
        }
    }
}

impl StreamingIsolationForestConfig {
    fn forest_config(&self) -> IsolationForestConfig {
        IsolationForestConfig {
            n_trees: self.n_trees,
            sample_size: self.sample_size,
            contamination: self.contamination,
            max_depth: None,
        }
    }

    fn validate(&self) -> Result<(), ForestConfigError> {
        self.forest_config().validate()?;
        if self.window < 2 || self.window > 1 << 24 {
            return Err(ForestConfigError::new("window", "must be in 2..=16777216"));
        }
        if self.warmup < 2 || self.warmup > self.window {
            return Err(ForestConfigError::new("warmup", "must be in 2..=window"));
        }
        if self.refit_every == 0 {
            return Err(ForestConfigError::new("refit_every", "must be >= 1"));
        }
        if self.shingle_size == 0 || self.shingle_size > 256 {
            return Err(ForestConfigError::new("shingle_size", "must be in 1..=256"));
        }
        Ok(())
    }
}

/// A streaming detector around [`IsolationForest`]: each row is scored by the current
/// model *before* it joins the window. Multivariate through [`MultiDetector`];
/// univariate through [`Detector`] by shingling (use one or the other on an instance).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamingIsolationForest {
    config: StreamingIsolationForestConfig,
    n_features: usize,
    /// Ring buffer of up to `window` rows, row-major.
    window: Vec<f64>,
    rows_in_window: usize,
    next_slot: usize,
    rows_since_fit: usize,
    model: Option<IsolationForest>,
    rng: ForestRng,
    /// Univariate use: the last `shingle_size` values, oldest first once full.
    recent: Vec<f64>,
    recent_cursor: usize,
    values_seen: u64,
    #[serde(skip)]
    row: Vec<f64>,
}

impl StreamingIsolationForest {
    /// A univariate detector over shingles of `config.shingle_size` values.
    pub fn new(
        config: StreamingIsolationForestConfig,
        seed: u64,
    ) -> Result<Self, ForestConfigError> {
        let features = config.shingle_size;
        Self::new_multivariate(config, features, seed)
    }

    /// A multivariate detector over rows of `n_features` values.
    pub fn new_multivariate(
        config: StreamingIsolationForestConfig,
        n_features: usize,
        seed: u64,
    ) -> Result<Self, ForestConfigError> {
        config.validate()?;
        if n_features == 0 || n_features > 4096 {
            return Err(ForestConfigError::new("n_features", "must be in 1..=4096"));
        }
        Ok(Self {
            window: Vec::with_capacity(config.window.min(4096) * n_features),
            recent: vec![0.0; config.shingle_size],
            n_features,
            rows_in_window: 0,
            next_slot: 0,
            rows_since_fit: 0,
            model: None,
            rng: ForestRng::new(seed),
            recent_cursor: 0,
            values_seen: 0,
            row: Vec::new(),
            config,
        })
    }

    pub fn config(&self) -> &StreamingIsolationForestConfig {
        &self.config
    }

    /// The current model, once the warm-up is over.
    pub fn model(&self) -> Option<&IsolationForest> {
        self.model.as_ref()
    }

    /// Bytes of memory held by this detector.
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.window.capacity() * 8
            + self.recent.capacity() * 8
            + self.row.capacity() * 8
            + self.model.as_ref().map_or(0, IsolationForest::state_bytes)
    }

    fn push_row(&mut self, values: &[f64]) {
        let f = self.n_features;
        if self.rows_in_window < self.config.window {
            self.window.extend_from_slice(values);
            self.rows_in_window += 1;
        } else {
            let at = self.next_slot * f;
            self.window[at..at + f].copy_from_slice(values);
        }
        self.next_slot = (self.next_slot + 1) % self.config.window;
        self.rows_since_fit += 1;
        let due = match self.model {
            None => self.rows_in_window >= self.config.warmup,
            Some(_) => self.rows_since_fit >= self.config.refit_every,
        };
        if due {
            let seed = self.rng.next_u64();
            // The window holds only finite rows of the right length, and the config
            // was validated, so fitting cannot fail; keep the old model if it does.
            if let Ok(mut model) =
                IsolationForest::fit(&self.window, f, &self.config.forest_config(), seed)
            {
                // Rows are scored one at a time here: the batch plan would only
                // take memory in every series' state.
                model.release_batch_plan();
                self.model = Some(model);
            }
            self.rows_since_fit = 0;
        }
    }

    fn score_row(&self, values: &[f64]) -> MultiScore {
        match &self.model {
            None => MultiScore {
                raw: 0.0,
                contributions: vec![0.0; values.len()],
            },
            Some(model) => MultiScore {
                raw: sanitize_raw(model.score(values)),
                contributions: model.contributions(values),
            },
        }
    }
}

impl MultiDetector for StreamingIsolationForest {
    fn name(&self) -> &'static str {
        "iforest"
    }

    /// Rows whose length differs from `n_features`, or that hold a non-finite value,
    /// are scored 0 and not learned from.
    fn update(&mut self, _timestamp_ms: i64, values: &[f64]) -> MultiScore {
        if values.len() != self.n_features || values.iter().any(|v| !v.is_finite()) {
            return MultiScore {
                raw: 0.0,
                contributions: vec![0.0; values.len()],
            };
        }
        let score = self.score_row(values);
        self.push_row(values);
        score
    }
}

impl Detector for StreamingIsolationForest {
    fn name(&self) -> &'static str {
        "iforest"
    }

    fn update(&mut self, timestamp_ms: i64, value: f64) -> Score {
        if !value.is_finite() {
            return Score::WARMING_UP;
        }
        let n = self.recent.len();
        self.recent[self.recent_cursor] = value;
        self.recent_cursor = (self.recent_cursor + 1) % n;
        self.values_seen += 1;
        if self.values_seen < n as u64 || n != self.n_features {
            return Score::WARMING_UP;
        }
        let mut row = std::mem::take(&mut self.row);
        row.clear();
        row.extend((0..n).map(|i| self.recent[(self.recent_cursor + i) % n]));
        let score = MultiDetector::update(self, timestamp_ms, &row);
        self.row = row;
        Score {
            raw: score.raw,
            expected: None,
        }
    }
}
