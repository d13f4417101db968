//! Deployment settings over a profile: the `[detection]` keys of the configuration
//! (and of each `[[detection.override]]`) applied to a [`PipelineConfig`].
//!
//! A profile fixes its detectors and a combiner tuned for them; a deployment may move
//! the thresholds at which an anomaly opens and closes, ignore deviations that are
//! small relative to the expected value, and change any detector's parameters by
//! name. Every setting left out keeps the profile's value. A parameter that names a
//! detector the pipeline lacks, a field the detector does not have, or a value out of
//! its range is an error that says which, never silently dropped.

use serde_json::{Map, Value};

use crate::pipeline::{DetectorConfig, PipelineConfig, PipelineError};

/// Settings applied over a profile (see the module doc); `None` keeps the profile's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineSettings {
    /// Smallest distance from the expected band, relative to the band's centre, before
    /// an anomaly may open (0.05 = 5 %).
    pub min_relative_deviation: Option<f64>,
    /// Score at or above which an anomaly opens.
    pub open_at: Option<f64>,
    /// Score below which a point counts towards closing an open anomaly.
    pub close_below: Option<f64>,
    /// Per detector name (`seasonal`, `robust_z`, …), fields replacing that detector's
    /// own, e.g. `{"seasonal": {"level_alpha": 0.2}}`.
    pub params: Map<String, Value>,
}

/// Why settings do not apply to a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("params.{detector}: no detector is named {detector} (known: {known})")]
    UnknownDetector { detector: String, known: String },
    #[error("params.{detector}: unknown field `{param}` (its parameters: {known})")]
    UnknownParameter {
        detector: String,
        param: String,
        known: String,
    },
    #[error("params.{detector}: the pipeline has no {detector} detector (it has {present})")]
    NoSuchDetector { detector: String, present: String },
    #[error("params.{detector} must be a table of that detector's parameters")]
    NotATable { detector: String },
    #[error("params.{detector}: {reason}")]
    BadParameter { detector: String, reason: String },
    #[error("{key} = {value} is outside [0, 1]")]
    OutOfRange { key: &'static str, value: f64 },
    #[error("min_deviation = {0} must be a finite number ≥ 0")]
    BadDeviation(f64),
    #[error("the closing threshold {close_below} exceeds the opening threshold {open_at}")]
    Hysteresis { open_at: f64, close_below: f64 },
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

impl PipelineConfig {
    /// This pipeline with `settings` applied, validated.
    pub fn with_settings(mut self, settings: &PipelineSettings) -> Result<Self, SettingsError> {
        if let Some(deviation) = settings.min_relative_deviation {
            if !(deviation.is_finite() && deviation >= 0.0) {
                return Err(SettingsError::BadDeviation(deviation));
            }
            self.combiner.min_relative_deviation = deviation;
        }
        for (key, value, field) in [
            (
                "open_at",
                settings.open_at,
                &mut self.combiner.hysteresis.open_at,
            ),
            (
                "close_below",
                settings.close_below,
                &mut self.combiner.hysteresis.close_below,
            ),
        ] {
            let Some(value) = value else { continue };
            if !(0.0..=1.0).contains(&value) {
                return Err(SettingsError::OutOfRange { key, value });
            }
            *field = value;
        }
        let hysteresis = self.combiner.hysteresis;
        if hysteresis.close_below > hysteresis.open_at {
            return Err(SettingsError::Hysteresis {
                open_at: hysteresis.open_at,
                close_below: hysteresis.close_below,
            });
        }
        for (detector, fields) in &settings.params {
            self.apply_params(detector, fields)?;
        }
        self.validate()?;
        Ok(self)
    }

    /// The detector type names of this pipeline, in order.
    pub fn detector_names(&self) -> Vec<&'static str> {
        self.detectors.iter().map(DetectorConfig::name).collect()
    }

    /// Replaces fields of every detector named `detector` with those of `fields`.
    fn apply_params(&mut self, detector: &str, fields: &Value) -> Result<(), SettingsError> {
        let Some(fields) = fields.as_object() else {
            return Err(SettingsError::NotATable {
                detector: detector.to_string(),
            });
        };
        let Some(info) = crate::registry::detector(detector) else {
            return Err(SettingsError::UnknownDetector {
                detector: detector.to_string(),
                known: crate::registry::DETECTOR_NAMES.join(", "),
            });
        };
        let bad = |reason: String| SettingsError::BadParameter {
            detector: detector.to_string(),
            reason,
        };
        let mut found = false;
        for config in &mut self.detectors {
            if config.name() != detector {
                continue;
            }
            found = true;
            let unknown = fields
                .keys()
                .find(|key| *key != "type" && info.param(key).is_none());
            if let Some(param) = unknown {
                return Err(SettingsError::UnknownParameter {
                    detector: detector.to_string(),
                    param: param.clone(),
                    known: info.param_names(),
                });
            }
            let mut merged =
                serde_json::to_value(&*config).map_err(|error| bad(error.to_string()))?;
            let Some(object) = merged.as_object_mut() else {
                return Err(bad("its configuration is not a table".into()));
            };
            for (key, value) in fields {
                if key == "type" {
                    return Err(bad("`type` cannot be changed; pick another profile".into()));
                }
                object.insert(key.clone(), value.clone());
            }
            *config = serde_json::from_value(merged).map_err(|error| bad(error.to_string()))?;
        }
        if found {
            return Ok(());
        }
        Err(SettingsError::NoSuchDetector {
            detector: detector.to_string(),
            present: self.detector_names().join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(params: Value) -> PipelineSettings {
        PipelineSettings {
            params: params.as_object().cloned().unwrap_or_default(),
            ..PipelineSettings::default()
        }
    }

    #[test]
    fn no_settings_keep_the_profile() {
        let profile = PipelineConfig::named("default").unwrap();
        let same = profile
            .clone()
            .with_settings(&PipelineSettings::default())
            .unwrap();
        assert_eq!(same, profile);
        assert_eq!(
            profile.detector_names(),
            ["seasonal", "robust_z", "changepoint", "knn", "discord"]
        );
    }

    #[test]
    fn thresholds_deviation_and_parameters_apply() {
        let mut wanted = settings(json!({"robust_z": {"window": 300}}));
        wanted.open_at = Some(0.95);
        wanted.close_below = Some(0.5);
        wanted.min_relative_deviation = Some(0.05);
        let config = PipelineConfig::named("default")
            .unwrap()
            .with_settings(&wanted)
            .unwrap();
        assert_eq!(config.combiner.hysteresis.open_at, 0.95);
        assert_eq!(config.combiner.hysteresis.close_below, 0.5);
        assert_eq!(config.combiner.min_relative_deviation, 0.05);
        let DetectorConfig::RobustZ(robust) = &config.detectors[1] else {
            panic!("robust_z is second: {:?}", config.detectors);
        };
        assert_eq!(robust.window, 300);
    }

    #[test]
    fn mistakes_are_named() {
        let base = || PipelineConfig::named("default").unwrap();
        let cases = [
            (
                json!({"rcf": {"trees": 10}}),
                "no rcf detector (it has seasonal, robust_z",
            ),
            (
                json!({"robust_z": {"windw": 3}}),
                "params.robust_z: unknown field `windw`",
            ),
            (
                json!({"robust_z": {"window": "long"}}),
                "params.robust_z: invalid type",
            ),
            (json!({"robust_z": {"window": 0}}), "robust_z"),
            (json!({"robust_z": 5}), "params.robust_z must be a table"),
            (
                json!({"robust": {"window": 3}}),
                "params.robust: no detector is named robust (known: robust_z, ewma",
            ),
            (
                json!({"knn": {"kk": 3}}),
                "unknown field `kk` (its parameters: shingle, history, k, scale_alpha)",
            ),
            (
                json!({"robust_z": {"type": "ewma"}}),
                "`type` cannot be changed",
            ),
        ];
        for (params, expected) in cases {
            let error = base().with_settings(&settings(params.clone())).unwrap_err();
            assert!(error.to_string().contains(expected), "{params}: {error}");
        }
        let mut crossed = PipelineSettings {
            open_at: Some(0.2),
            ..PipelineSettings::default()
        };
        let error = base().with_settings(&crossed).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("exceeds the opening threshold 0.2"),
            "{error}"
        );
        crossed.open_at = Some(1.5);
        assert!(base().with_settings(&crossed).is_err());
    }
}
