//! Machine usage rules over CPU utilization in percent (0–100).
//!
//! Each sample is classified, in this order of precedence:
//! - [`UsageState::Surge`]: `value >= prev·(1 + jump_factor)` and
//!   `value − prev >= min_jump_points` (both, so 0.1 % → 0.3 % is no surge);
//! - [`UsageState::SharpDrop`]: the mirror image, `prev >= value·(1 + jump_factor)`
//!   and `prev − value >= min_jump_points` (with the default factor 1.0: halved);
//! - [`UsageState::Idle`]: `value <= idle_max_percent` for the last `idle_samples`
//!   samples in a row, this one included;
//! - [`UsageState::Underused`]: `value <= underused_max_percent` for the last
//!   `underused_samples` samples in a row;
//! - [`UsageState::Normal`] otherwise.
//!
//! As a [`Detector`], the raw score is `1.0` on `Surge` and `SharpDrop` and `0.0`
//! otherwise, with no expected band: idle and underused machines are states to
//! report, not anomalies. Read the state with [`UsageRules::state`] after `update`.
//!
//! **Catches** the jumps and sustained low usage these rules describe, exactly and
//! explainably. **Misses** everything else: no learning, so a machine that always
//! jumps between 10 % and 40 % surges on every jump (the statistical detectors learn
//! that); it assumes percent, not fractions (scale thresholds for 0–1 values).
//!
//! **Cost**: a few comparisons per point (≈5 ns); per series 72 bytes.

use lookout_model::UsageState;
use serde::{Deserialize, Serialize};

use crate::detector::{Detector, Score};
use crate::stats::{ConfigCheck, DetectorConfigError};

const NAME: &str = "usage";

/// Configuration of [`UsageRules`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UsageConfig {
    /// CPU % at or below which a sample counts as idle.
    pub idle_max_percent: f64,
    /// Consecutive idle samples before the state is `Idle` (>= 1).
    pub idle_samples: u32,
    /// CPU % at or below which a sample counts as underused.
    pub underused_max_percent: f64,
    /// Consecutive underused samples before the state is `Underused` (>= 1).
    pub underused_samples: u32,
    /// Relative change between consecutive samples that makes a surge or sharp drop
    /// (1.0: doubled or halved).
    pub jump_factor: f64,
    /// Minimum absolute change, in percentage points, of a surge or sharp drop.
    pub min_jump_points: f64,
}

impl Default for UsageConfig {
    fn default() -> Self {
        UsageConfig {
            idle_max_percent: 1.0,
            idle_samples: 3,
            underused_max_percent: 30.0,
            underused_samples: 3,
            jump_factor: 1.0,
            min_jump_points: 10.0,
        }
    }
}

impl UsageConfig {
    pub fn validate(&self) -> Result<(), DetectorConfigError> {
        let check = ConfigCheck::new(NAME);
        check.float_in("idle_max_percent", self.idle_max_percent, 0.0, 100.0)?;
        check.int_in("idle_samples", self.idle_samples.into(), 1, 1_000_000)?;
        check.float_in(
            "underused_max_percent",
            self.underused_max_percent,
            self.idle_max_percent,
            100.0,
        )?;
        check.int_in(
            "underused_samples",
            self.underused_samples.into(),
            1,
            1_000_000,
        )?;
        check.float_in("jump_factor", self.jump_factor, 0.0, 1e6)?;
        check.float_in("min_jump_points", self.min_jump_points, 0.0, 100.0)
    }
}

/// Usage-state rules over CPU %. See the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRules {
    config: UsageConfig,
    previous: Option<f64>,
    idle_run: u32,
    underused_run: u32,
    state: UsageState,
}

impl UsageRules {
    pub fn new(config: UsageConfig) -> Result<UsageRules, DetectorConfigError> {
        config.validate()?;
        Ok(UsageRules {
            config,
            previous: None,
            idle_run: 0,
            underused_run: 0,
            state: UsageState::Normal,
        })
    }

    pub fn config(&self) -> &UsageConfig {
        &self.config
    }

    /// The state of the last observed sample.
    pub fn state(&self) -> UsageState {
        self.state
    }

    /// Observes one CPU % sample and returns its usage state. (Named `observe` rather
    /// than `update` so that it does not shadow [`Detector::update`].)
    pub fn observe(&mut self, value: f64) -> UsageState {
        let value = if value.is_nan() { 0.0 } else { value };
        let config = &self.config;
        self.idle_run = next_run(self.idle_run, value <= config.idle_max_percent);
        self.underused_run = next_run(self.underused_run, value <= config.underused_max_percent);
        let jump = self.previous.map(|prev| classify_jump(config, prev, value));
        self.previous = Some(value);
        self.state = match jump {
            Some(state @ (UsageState::Surge | UsageState::SharpDrop)) => state,
            _ if self.idle_run >= config.idle_samples => UsageState::Idle,
            _ if self.underused_run >= config.underused_samples => UsageState::Underused,
            _ => UsageState::Normal,
        };
        self.state
    }

    /// Approximate bytes of state (inline, no heap).
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

fn next_run(run: u32, holds: bool) -> u32 {
    if holds {
        run.saturating_add(1)
    } else {
        0
    }
}

/// `Surge`, `SharpDrop` or `Normal` for the step `prev → value`. Differences are
/// computed on halves so that huge values cannot overflow to infinity.
fn classify_jump(config: &UsageConfig, prev: f64, value: f64) -> UsageState {
    let ratio = 1.0 + config.jump_factor;
    let half_rise = value / 2.0 - prev / 2.0;
    let min_half = config.min_jump_points / 2.0;
    if half_rise >= min_half && value / ratio >= prev {
        return UsageState::Surge;
    }
    if -half_rise >= min_half && prev / ratio >= value {
        return UsageState::SharpDrop;
    }
    UsageState::Normal
}

impl Default for UsageRules {
    fn default() -> Self {
        UsageRules::new(UsageConfig::default()).expect("default config is valid")
    }
}

impl Detector for UsageRules {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Raw `1.0` on `Surge`/`SharpDrop`, `0.0` otherwise; never a band.
    fn update(&mut self, _timestamp_ms: i64, value: f64) -> Score {
        let raw = match self.observe(value) {
            UsageState::Surge | UsageState::SharpDrop => 1.0,
            _ => 0.0,
        };
        Score {
            raw,
            expected: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(values: &[f64]) -> Vec<UsageState> {
        let mut rules = UsageRules::default();
        values.iter().map(|&v| rules.observe(v)).collect()
    }

    use UsageState::{Idle, Normal, SharpDrop, Surge, Underused};

    #[test]
    fn idle_after_three_samples_at_or_below_one_percent() {
        assert_eq!(
            states(&[50.0, 50.0, 0.5, 1.0, 0.2, 0.0, 45.0]),
            vec![Normal, Normal, SharpDrop, Normal, Idle, Idle, Surge]
        );
    }

    #[test]
    fn underused_after_three_samples_at_or_below_thirty_percent() {
        assert_eq!(
            states(&[40.0, 25.0, 28.0, 30.0, 29.0, 31.0]),
            vec![Normal, Normal, Normal, Underused, Underused, Normal]
        );
    }

    #[test]
    fn surge_needs_both_the_factor_and_the_minimum_change() {
        // 0.1 → 0.3 triples but moves 0.2 points: no surge.
        assert_eq!(states(&[0.1, 0.3])[1], Normal);
        // 40 → 75 moves 35 points but does not double: no surge.
        assert_eq!(states(&[40.0, 75.0])[1], Normal);
        assert_eq!(states(&[40.0, 80.0])[1], Surge);
        assert_eq!(states(&[5.0, 20.0])[1], Surge);
        assert_eq!(states(&[80.0, 40.0])[1], SharpDrop);
        assert_eq!(states(&[80.0, 41.0])[1], Normal);
    }

    #[test]
    fn thresholds_are_configurable() {
        let mut rules = UsageRules::new(UsageConfig {
            jump_factor: 0.5,
            min_jump_points: 5.0,
            idle_samples: 1,
            ..UsageConfig::default()
        })
        .unwrap();
        assert_eq!(rules.observe(40.0), Normal);
        assert_eq!(rules.observe(60.0), Surge);
        assert_eq!(rules.observe(0.5), SharpDrop);
        assert_eq!(rules.observe(0.5), Idle);
    }

    #[test]
    fn detector_scores_one_on_jumps_only() {
        let mut rules = UsageRules::default();
        let raws: Vec<f64> = [50.0, 50.0, 100.0, 100.0, 0.5, 0.5, 0.5]
            .iter()
            .enumerate()
            .map(|(i, &v)| Detector::update(&mut rules, i as i64, v).raw)
            .collect();
        assert_eq!(raws, vec![0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(rules.state(), Idle);
    }

    #[test]
    fn rejects_underused_threshold_below_idle_threshold() {
        let err = UsageRules::new(UsageConfig {
            idle_max_percent: 10.0,
            underused_max_percent: 5.0,
            ..UsageConfig::default()
        })
        .unwrap_err();
        assert_eq!(err.field, "underused_max_percent");
    }
}
