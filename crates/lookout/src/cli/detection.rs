//! The `[detection]` table as the engine's pipelines: the profile with the table's
//! settings, and one pipeline per `[[detection.override]]`, chosen for a series by
//! the first override whose selector matches its key (looked up in the store when
//! the series' first point reaches the engine).
//!
//! Settings left out keep the profile's values. `[detection] params` apply to an
//! override's pipeline where it has the detectors they name; an override's own
//! params must all fit its pipeline. Every mistake stops `serve`, `import` and
//! `check-config` with an error naming the table and the parameter.

use std::sync::Arc;

use anyhow::{bail, Context};
use lookout_config::{DetectionConfig, DetectionOverride};
use lookout_detect::engine::PipelineChooser;
use lookout_detect::pipeline::PipelineConfig;
use lookout_detect::settings::PipelineSettings;
use lookout_protocol::selector::{parse_selector, Selector};
use lookout_store::Store;
use serde_json::{Map, Value};

/// The pipelines of a `[detection]` table.
#[derive(Debug, Clone)]
pub(crate) struct DetectionPipelines {
    /// For every series no override matches.
    pub default: PipelineConfig,
    /// In configuration order; the first match wins.
    pub overrides: Vec<(Selector, PipelineConfig)>,
}

impl DetectionPipelines {
    /// Builds and validates every pipeline of `config`.
    pub fn from_config(config: &DetectionConfig) -> anyhow::Result<Self> {
        let base_params = json_table(&config.params, "[detection] params")?;
        let settings = PipelineSettings {
            min_relative_deviation: config.min_deviation,
            open_at: config.hysteresis_enter,
            close_below: config.hysteresis_exit,
            params: base_params.clone(),
        };
        let context = || format!("[detection] (profile {:?})", config.profile);
        let default = PipelineConfig::named(&config.profile)
            .with_context(context)?
            .with_settings(&settings)
            .with_context(context)?;
        let overrides = config
            .overrides
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                let context = format!("[[detection.override]] #{} ({})", index + 1, entry.selector);
                override_pipeline(config, &base_params, entry).with_context(|| context)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(DetectionPipelines { default, overrides })
    }

    /// The alternatives and the chooser for the engine: a series gets the pipeline of
    /// the first override whose selector matches its key in `store`.
    pub fn chooser(&self, store: &Arc<Store>) -> (Vec<PipelineConfig>, Option<PipelineChooser>) {
        if self.overrides.is_empty() {
            return (Vec::new(), None);
        }
        let alternatives = self.overrides.iter().map(|(_, p)| p.clone()).collect();
        let selectors: Vec<Selector> = self.overrides.iter().map(|(s, _)| s.clone()).collect();
        let store = Arc::clone(store);
        let choose = move |series| {
            store.series_info(series).map_or(0, |info| {
                selectors
                    .iter()
                    .position(|selector| selector.matches(&info.key))
                    .map_or(0, |found| found + 1)
            })
        };
        (alternatives, Some(PipelineChooser(Arc::new(choose))))
    }
}

fn override_pipeline(
    config: &DetectionConfig,
    base_params: &Map<String, Value>,
    entry: &DetectionOverride,
) -> anyhow::Result<(Selector, PipelineConfig)> {
    let selector = parse_selector(&entry.selector).context("match")?;
    let profile = entry.profile.as_deref().unwrap_or(&config.profile);
    let pipeline = PipelineConfig::named(profile).context("profile")?;
    let present = pipeline.detector_names();
    // `[detection]` params where this pipeline has the detector, then the override's.
    let mut params: Map<String, Value> = base_params
        .iter()
        .filter(|(detector, _)| present.iter().any(|name| name == *detector))
        .map(|(detector, fields)| (detector.clone(), fields.clone()))
        .collect();
    for (detector, fields) in json_table(&entry.params, "params")? {
        match (params.get_mut(&detector), fields) {
            (Some(Value::Object(base)), Value::Object(own)) => base.extend(own),
            (_, fields) => {
                params.insert(detector, fields);
            }
        }
    }
    let settings = PipelineSettings {
        min_relative_deviation: entry.min_deviation.or(config.min_deviation),
        open_at: entry.hysteresis_enter.or(config.hysteresis_enter),
        close_below: entry.hysteresis_exit.or(config.hysteresis_exit),
        params,
    };
    let pipeline = pipeline
        .with_settings(&settings)
        .with_context(|| format!("profile {profile:?}"))?;
    Ok((selector, pipeline))
}

/// Every mistake in a `params` table for `profile`, one message per detector named
/// (the configuration's `params` hook, so `check-config`, `serve` and `import` report
/// them all at once, at the line of the table). A profile that does not exist is
/// reported by the profile check, not here.
pub(crate) fn params_mistakes(profile: &str, params: &toml::Table) -> Vec<String> {
    let Ok(pipeline) = PipelineConfig::named(profile) else {
        return Vec::new();
    };
    let mut mistakes = Vec::new();
    for (detector, fields) in params {
        let one = toml::Table::from_iter([(detector.clone(), fields.clone())]);
        let settings = PipelineSettings {
            min_relative_deviation: None,
            open_at: None,
            close_below: None,
            params: match json_table(&one, "params") {
                Ok(map) => map,
                Err(error) => {
                    mistakes.push(format!("{detector}: {error:#}"));
                    continue;
                }
            },
        };
        if let Err(error) = pipeline.clone().with_settings(&settings) {
            mistakes.push(format!("profile {profile:?}: {error}"));
        }
    }
    mistakes
}

/// A TOML table as JSON, for the detectors' serde configurations.
fn json_table(table: &toml::Table, what: &str) -> anyhow::Result<Map<String, Value>> {
    match serde_json::to_value(table).with_context(|| format!("{what}: not representable"))? {
        Value::Object(map) => Ok(map),
        other => bail!("{what}: expected a table, got {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(text: &str) -> DetectionConfig {
        let profiles = crate::cli::check_config::profile_names();
        let hooks = lookout_config::Hooks {
            selector: None,
            profiles: &profiles,
            params: None,
        };
        lookout_config::Config::from_str_validate_with(text, "t.toml", &hooks)
            .unwrap_or_else(|errors| panic!("{errors}"))
            .detection
    }

    /// Regression: `[detection] params` mistakes had no line and stopped at the first.
    #[test]
    fn every_params_mistake_is_reported_at_its_line() {
        let profiles = crate::cli::check_config::profile_names();
        let hooks = lookout_config::Hooks {
            selector: None,
            profiles: &profiles,
            params: Some(&params_mistakes),
        };
        let text = "[detection]\nparams = { robust_z = { windw = 3 }, rcf = { trees = 3 } }\n\
                    [[detection.override]]\nmatch = 'cpu'\nprofile = \"ewma\"\n\
                    params = { ewma = { alpha = \"high\" } }\n";
        let errors: Vec<_> = lookout_config::Config::from_str_validate_with(text, "t.toml", &hooks)
            .unwrap_err()
            .into_iter()
            .collect();
        let found: Vec<_> = errors.iter().map(|e| (e.line, e.key.as_deref())).collect();
        assert_eq!(
            found,
            [
                (Some(2), Some("params")),
                (Some(2), Some("params")),
                (Some(6), Some("params"))
            ],
            "{errors:#?}"
        );
        let text = format!("{errors:?}");
        for expected in ["windw", "no rcf detector", "params.ewma: invalid type"] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
    }

    #[test]
    fn an_empty_table_is_the_profile_itself() {
        let pipelines = DetectionPipelines::from_config(&detection("")).unwrap();
        assert_eq!(pipelines.default, PipelineConfig::named("default").unwrap());
        assert!(pipelines.overrides.is_empty());
    }

    #[test]
    fn settings_and_overrides_shape_their_pipelines() {
        let pipelines = DetectionPipelines::from_config(&detection(
            "[detection]\nhysteresis_enter = 0.8\nparams = { robust_z = { window = 240 }, knn = { k = 3 } }\n\
             [[detection.override]]\nmatch = '{domain=\"network\"}'\nprofile = \"thorough\"\nhysteresis_exit = 0.1\n\
             params = { robust_z = { min_points = 20 } }\n\
             [[detection.override]]\nmatch = 'disk_used'\nprofile = \"ewma\"\n",
        ))
        .unwrap();
        assert_eq!(pipelines.default.combiner.hysteresis.open_at, 0.8);
        let (selector, network) = &pipelines.overrides[0];
        assert_eq!(selector.to_string(), "{domain=\"network\"}");
        assert_eq!(network.combiner.hysteresis.open_at, 0.8);
        assert_eq!(network.combiner.hysteresis.close_below, 0.1);
        let robust = serde_json::to_value(&network.detectors[1]).unwrap();
        assert_eq!(robust["window"], 240, "{robust}");
        assert_eq!(robust["min_points"], 20, "{robust}");
        // The base params name detectors `ewma` lacks: they are left out there.
        assert_eq!(pipelines.overrides[1].1.detector_names(), ["ewma"]);
    }

    #[test]
    fn mistakes_name_the_table_and_the_parameter() {
        for (text, expected) in [
            (
                "[detection]\nparams = { robust_z = { windw = 3 } }\n",
                "unknown field `windw`",
            ),
            (
                "[detection]\nparams = { rcf = { trees = 3 } }\n",
                "no rcf detector",
            ),
            (
                "[detection]\nhysteresis_exit = 0.9\n",
                "exceeds the opening threshold 0.6",
            ),
            (
                "[[detection.override]]\nmatch = 'cpu'\nparams = { hst = { trees = 3 } }\n",
                "[[detection.override]] #1 (cpu)",
            ),
        ] {
            let error = DetectionPipelines::from_config(&detection(text)).unwrap_err();
            let message = format!("{error:#}");
            assert!(message.contains(expected), "{text}: {message}");
        }
    }
}
