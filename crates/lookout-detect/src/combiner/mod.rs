//! The combiner: many detectors' raw scores → one calibrated score, an anomaly
//! decision with hysteresis, and an explanation.
//!
//! 1. Each detector's raw score goes through its own [`Likelihood`] calibration, which
//!    learns that detector's score distribution on this series and answers with a
//!    log-likelihood in `[0, 1]` (0.5 ≈ a one-in-100,000 event). All share one
//!    [`LikelihoodConfig`] unless `likelihood_per_detector` replaces it for a detector.
//! 2. The final score is the largest calibrated score. Taking the maximum keeps the
//!    meaning of a score ("at least one detector saw something this rare") and lets a
//!    specialist detector (level shift, seasonality) fire alone.
//! 3. [`Hysteresis`] decides `is_anomaly`, so one incident is one anomaly; opening is
//!    vetoed when the value lies within `min_deviation` (absolute) or
//!    `min_relative_deviation` (relative to the expected centre) of the expected band,
//!    so tiny absolute changes on a very quiet series never alert.
//! 4. The explanation lists every detector's raw and calibrated score; the expected band
//!    is the first detector's band that has one (the pipeline orders detectors so the
//!    most readable band comes first).
//!
//! Cost: O(detectors) per point; per series `~100 bytes` per detector.

mod hysteresis;
mod likelihood;

pub use hysteresis::{Decision, Hysteresis, HysteresisConfig};
pub use likelihood::{
    gaussian_tail, log_likelihood, unbounded_level, Likelihood, LikelihoodConfig, TailModel,
};

use crate::detector::{Band, Score};
use lookout_model::DetectorContribution;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CombinerConfig {
    pub likelihood: LikelihoodConfig,
    pub hysteresis: HysteresisConfig,
    /// Minimum absolute distance from the expected band before an anomaly may open.
    pub min_deviation: f64,
    /// Minimum distance from the band relative to the band's centre (0.05 = 5%).
    pub min_relative_deviation: f64,
    /// Points after an anomaly opens during which its later points are not news (0
    /// disables): [`Combined::news`] is damped. The reported score stays the real one,
    /// so an incident's chart and its peak show what happened. An anomaly that opens
    /// inside the period does not extend it.
    pub refractory_points: u32,
    /// Factor applied to the news score during the refractory period.
    pub refractory_damping: f64,
    /// How calibrated detector scores become one score.
    pub combine: CombineRule,
    /// Per-detector replacements of `likelihood`, in pipeline order (`null` keeps the
    /// shared one): detectors whose raw scores behave differently (a cumulative sum
    /// that rises over many points, a distance that is noisy point to point) may need
    /// a different memory or record. A shorter list leaves the remaining detectors on
    /// the shared one.
    #[serde(
        serialize_with = "per_detector_to_list",
        deserialize_with = "per_detector_from_list"
    )]
    pub likelihood_per_detector: [Option<LikelihoodConfig>; MAX_DETECTORS],
}

/// The raw score of a detector with nothing to say about a point (see
/// `AnyDetector::is_silent`): its calibration is skipped, its likelihood is 0 and its raw
/// score reads 0. Sanitized raw scores are never negative, so this never clashes.
pub const SILENT: f64 = f64::NEG_INFINITY;

/// How calibrated detector scores become one score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CombineRule {
    /// The largest: one detector alone can raise the score.
    Max,
    /// The mean: detectors must agree.
    Mean,
    /// The mean of the two largest: two detectors must agree.
    TopTwoMean,
}

/// Writes `likelihood_per_detector` as a list without its trailing `null`s (the same
/// shape [`per_detector_from_list`] reads, in self-describing and binary formats alike).
fn per_detector_to_list<S>(
    per_detector: &[Option<LikelihoodConfig>; MAX_DETECTORS],
    serializer: S,
) -> Result<S::Ok, S::Error>
where
    S: serde::Serializer,
{
    let used = per_detector
        .iter()
        .rposition(Option::is_some)
        .map_or(0, |last| last + 1);
    serializer.collect_seq(&per_detector[..used])
}

/// Reads `likelihood_per_detector` from a list of at most [`MAX_DETECTORS`] entries.
fn per_detector_from_list<'de, D>(
    deserializer: D,
) -> Result<[Option<LikelihoodConfig>; MAX_DETECTORS], D::Error>
where
    D: serde::Deserializer<'de>,
{
    let list = Vec::<Option<LikelihoodConfig>>::deserialize(deserializer)?;
    if list.len() > MAX_DETECTORS {
        return Err(serde::de::Error::custom(format!(
            "likelihood_per_detector has {} entries, at most {MAX_DETECTORS} (one per detector)",
            list.len()
        )));
    }
    let mut per_detector = [None; MAX_DETECTORS];
    per_detector[..list.len()].copy_from_slice(&list);
    Ok(per_detector)
}

impl CombinerConfig {
    /// The likelihood configuration of detector `index` (pipeline order).
    pub fn likelihood_for(&self, index: usize) -> LikelihoodConfig {
        self.likelihood_per_detector
            .get(index)
            .copied()
            .flatten()
            .unwrap_or(self.likelihood)
    }
}

impl Default for CombinerConfig {
    fn default() -> Self {
        CombinerConfig {
            likelihood: LikelihoodConfig::default(),
            hysteresis: HysteresisConfig::default(),
            min_deviation: 0.0,
            min_relative_deviation: 0.0,
            refractory_points: 120,
            refractory_damping: 0.0,
            combine: CombineRule::Max,
            likelihood_per_detector: [None; MAX_DETECTORS],
        }
    }
}

/// Most detectors one pipeline may hold (keeps the per-point path allocation-free).
pub const MAX_DETECTORS: usize = 8;

/// The combined outcome for one point. Allocation-free; the explanation is built on
/// demand with [`Combined::contributions`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Combined {
    /// The calibrated score of this point, never damped: what charts, peaks and alert
    /// rules see.
    pub score: f64,
    /// The score as news: equal to `score`, except during the refractory period after an
    /// anomaly opened, where it is damped (the incident is already known). What an
    /// online detection benchmark that counts every point over a threshold as a
    /// detection (NAB) should read.
    pub news: f64,
    pub decision: Decision,
    pub band: Option<Band>,
    detector_count: usize,
    raw: [f64; MAX_DETECTORS],
    likelihood: [f64; MAX_DETECTORS],
    open_at: f64,
}

impl Combined {
    /// Each detector's raw and calibrated score, highest calibrated score first.
    pub fn contributions(&self, names: &[&'static str]) -> Vec<DetectorContribution> {
        let mut contributions: Vec<DetectorContribution> = (0..self.detector_count)
            .map(|index| DetectorContribution {
                detector: names.get(index).copied().unwrap_or("detector").to_string(),
                raw: self.raw[index],
                likelihood: self.likelihood[index],
                fired: self.likelihood[index] >= self.open_at,
            })
            .collect();
        contributions.sort_by(|a, b| b.likelihood.total_cmp(&a.likelihood));
        contributions
    }

    /// Calibrated score of detector `index`.
    pub fn likelihood(&self, index: usize) -> f64 {
        self.likelihood[index]
    }
}

fn combine(rule: CombineRule, likelihoods: &[f64]) -> f64 {
    if likelihoods.is_empty() {
        return 0.0;
    }
    match rule {
        CombineRule::Max => likelihoods.iter().copied().fold(0.0, f64::max),
        CombineRule::Mean => likelihoods.iter().sum::<f64>() / likelihoods.len() as f64,
        CombineRule::TopTwoMean => {
            let (mut first, mut second) = (0.0f64, 0.0f64);
            for &l in likelihoods {
                if l > first {
                    second = first;
                    first = l;
                } else if l > second {
                    second = l;
                }
            }
            if likelihoods.len() == 1 {
                first
            } else {
                0.5 * (first + second)
            }
        }
    }
}

/// The parts of [`CombinerConfig`] a running combiner needs (the likelihood
/// configurations live in each calibration; keeping them here too would cost every
/// series a few hundred bytes).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Settings {
    min_deviation: f64,
    min_relative_deviation: f64,
    refractory_points: u32,
    refractory_damping: f64,
    combine: CombineRule,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Combiner {
    config: Settings,
    calibrations: Vec<Likelihood>,
    hysteresis: Hysteresis,
    refractory_left: u32,
}

impl Combiner {
    pub fn new(config: CombinerConfig, detector_count: usize) -> Self {
        Combiner {
            config: Settings {
                min_deviation: config.min_deviation,
                min_relative_deviation: config.min_relative_deviation,
                refractory_points: config.refractory_points,
                refractory_damping: config.refractory_damping,
                combine: config.combine,
            },
            calibrations: (0..detector_count)
                .map(|index| Likelihood::new(config.likelihood_for(index)))
                .collect(),
            hysteresis: Hysteresis::new(config.hysteresis),
            refractory_left: 0,
        }
    }

    /// Combines the detectors' scores for `value`, in pipeline order.
    pub fn combine(&mut self, value: f64, scores: &[Score]) -> Combined {
        debug_assert_eq!(scores.len(), self.calibrations.len());
        let mut combined = Combined {
            score: 0.0,
            news: 0.0,
            decision: Decision {
                is_anomaly: false,
                started: false,
                ended: false,
            },
            band: None,
            detector_count: scores.len().min(MAX_DETECTORS),
            raw: [0.0; MAX_DETECTORS],
            likelihood: [0.0; MAX_DETECTORS],
            open_at: self.hysteresis.config().open_at,
        };
        for (index, (calibration, score)) in self
            .calibrations
            .iter_mut()
            .zip(scores)
            .enumerate()
            .take(MAX_DETECTORS)
        {
            if combined.band.is_none() {
                combined.band = score.expected;
            }
            if score.raw == SILENT {
                continue;
            }
            let likelihood = calibration.update(score.raw);
            combined.raw[index] = score.raw;
            combined.likelihood[index] = likelihood;
        }
        combined.score = combine(
            self.config.combine,
            &combined.likelihood[..combined.detector_count],
        );
        let in_refractory = self.refractory_left > 0;
        combined.news = if in_refractory {
            combined.score * self.config.refractory_damping
        } else {
            combined.score
        };
        // Anomalies open on the real score, inside the refractory period too (a real spike
        // right after a small incident must not wait 120 points); the score they report
        // is the real one, so none reads below the threshold it opened at (they once
        // reported the damped score: a peak of 0.000).
        let may_open = self.deviation_is_material(value, combined.band);
        combined.decision = self.hysteresis.decide(combined.score, may_open);
        if in_refractory {
            self.refractory_left -= 1;
        } else if combined.decision.started {
            // Only an anomaly opened at full score starts a refractory period: one opened
            // inside it must not extend it, or events recurring faster than the period
            // would silence the series for good.
            self.refractory_left = self.config.refractory_points;
        }
        combined
    }

    fn deviation_is_material(&self, value: f64, band: Option<Band>) -> bool {
        let Some(band) = band else { return true };
        let distance = band.distance(value);
        let centre = 0.5 * (band.lower + band.upper);
        distance >= self.config.min_deviation
            && distance >= self.config.min_relative_deviation * centre.abs()
    }

    /// Makes this series harder to alert on: used when a user marks an anomaly a false positive.
    pub fn widen_tolerance(&mut self) {
        let current = self.hysteresis.config().open_at;
        self.hysteresis.set_open_at(current + (1.0 - current) * 0.5);
    }

    pub fn open_at(&self) -> f64 {
        self.hysteresis.config().open_at
    }

    pub(crate) fn prefetch(&self) {
        crate::prefetch::slice(&self.calibrations, 1024);
    }

    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self
                .calibrations
                .iter()
                .map(Likelihood::state_bytes)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine_rules() {
        let likelihoods = [0.2, 0.9, 0.5];
        assert_eq!(combine(CombineRule::Max, &likelihoods), 0.9);
        assert!((combine(CombineRule::Mean, &likelihoods) - 1.6 / 3.0).abs() < 1e-12);
        assert!((combine(CombineRule::TopTwoMean, &likelihoods) - 0.7).abs() < 1e-12);
        assert_eq!(combine(CombineRule::TopTwoMean, &[0.4]), 0.4);
        assert_eq!(combine(CombineRule::Max, &[]), 0.0);
    }

    #[test]
    fn refractory_damps_the_news_but_keeps_the_anomaly_open_at_its_real_score() {
        let config = CombinerConfig {
            likelihood: LikelihoodConfig {
                warmup: 0,
                ..LikelihoodConfig::default()
            },
            refractory_points: 3,
            refractory_damping: 0.0,
            ..CombinerConfig::default()
        };
        let mut combiner = Combiner::new(config, 1);
        let quiet = Score {
            raw: 1.0,
            expected: None,
        };
        for _ in 0..500 {
            combiner.combine(1.0, &[quiet]);
        }
        let spike = Score {
            raw: 1e6,
            expected: None,
        };
        let onset = combiner.combine(1.0, &[spike]);
        assert!(onset.decision.started && onset.score > 0.6);
        let next = combiner.combine(1.0, &[spike]);
        assert!(next.decision.is_anomaly, "the incident stays open");
        assert_eq!(
            next.news, 0.0,
            "its news is damped during the refractory period"
        );
        assert!(next.score > 0.6, "its reported score is the real one");
    }

    /// A one-detector combiner with a 10-point refractory period and a one-point
    /// cooldown, after 500 quiet points; with the quiet and the spike raw scores.
    fn quiet_combiner_with_a_short_refractory() -> (Combiner, Score, Score) {
        let config = CombinerConfig {
            likelihood: LikelihoodConfig {
                warmup: 0,
                record_memory: 0,
                ..LikelihoodConfig::default()
            },
            refractory_points: 10,
            refractory_damping: 0.0,
            hysteresis: HysteresisConfig {
                cooldown: 1,
                ..HysteresisConfig::default()
            },
            ..CombinerConfig::default()
        };
        let mut combiner = Combiner::new(config, 1);
        let quiet = Score {
            raw: 1.0,
            expected: None,
        };
        let spike = Score {
            raw: 1e6,
            expected: None,
        };
        for _ in 0..500 {
            combiner.combine(1.0, &[quiet]);
        }
        (combiner, quiet, spike)
    }

    /// Anomalies opened inside the refractory period reported a damped score of 0: their
    /// peak read 0.000 and they opened below the threshold (32 of 76 on a quiet host).
    #[test]
    fn anomalies_opened_inside_the_refractory_period_report_their_real_score() {
        let (mut combiner, quiet, spike) = quiet_combiner_with_a_short_refractory();
        let mut opened = 0;
        for step in 0..60 {
            let combined = combiner.combine(1.0, &[if step % 6 == 0 { spike } else { quiet }]);
            if combined.decision.started {
                assert!(
                    combined.score >= 0.6,
                    "opened at {} (step {step})",
                    combined.score
                );
                opened += 1;
            }
        }
        assert_eq!(opened, 10, "every spike opens its anomaly");
    }

    #[test]
    fn events_recurring_within_the_refractory_period_do_not_silence_the_series() {
        let (mut combiner, quiet, spike) = quiet_combiner_with_a_short_refractory();
        // A spike every 6 points: each opens an anomaly inside the previous one's
        // refractory period. Reported spikes recur once the period has run out.
        let mut reported = Vec::new();
        for step in 0..60 {
            let score = if step % 6 == 0 { spike } else { quiet };
            if combiner.combine(1.0, &[score]).news > 0.6 {
                reported.push(step);
            }
        }
        assert_eq!(reported, vec![0, 12, 24, 36, 48]);
    }

    #[test]
    fn per_detector_likelihood_replaces_the_shared_one() {
        let strict = LikelihoodConfig {
            warmup: 0,
            record_memory: 0,
            ..LikelihoodConfig::default()
        };
        let silent = LikelihoodConfig {
            warmup: 10_000,
            ..strict
        };
        let mut config = CombinerConfig {
            likelihood: strict,
            ..CombinerConfig::default()
        };
        config.likelihood_per_detector[1] = Some(silent);
        assert_eq!(config.likelihood_for(0), strict);
        assert_eq!(config.likelihood_for(1), silent);
        assert_eq!(config.likelihood_for(MAX_DETECTORS + 3), strict);
        let mut combiner = Combiner::new(config, 2);
        let quiet = Score {
            raw: 1.0,
            expected: None,
        };
        for _ in 0..500 {
            combiner.combine(1.0, &[quiet, quiet]);
        }
        let spike = Score {
            raw: 1e6,
            expected: None,
        };
        let both = combiner.combine(1.0, &[spike, spike]);
        assert!(both.likelihood(0) > 0.6, "the shared calibration speaks");
        assert_eq!(
            both.likelihood(1),
            0.0,
            "the replaced one is still warming up"
        );
    }

    #[test]
    fn per_detector_likelihood_reads_a_short_list_and_rejects_a_long_one() {
        let config: CombinerConfig =
            serde_json::from_str(r#"{"likelihood_per_detector": [null, {"memory": 4000}]}"#)
                .unwrap();
        assert_eq!(config.likelihood_for(0), config.likelihood);
        assert_eq!(config.likelihood_for(1).memory, 4000);
        assert_eq!(config.likelihood_for(2), config.likelihood);
        let json = serde_json::to_string(&config).unwrap();
        assert!(
            json.contains(r#""likelihood_per_detector":[null,{"#),
            "{json}"
        );
        let round_trip: CombinerConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(round_trip, config);
        let bytes = bincode::serialize(&config).unwrap();
        assert_eq!(
            bincode::deserialize::<CombinerConfig>(&bytes).unwrap(),
            config
        );
        let too_long = format!(
            r#"{{"likelihood_per_detector": [{}]}}"#,
            ["null"; MAX_DETECTORS + 1].join(",")
        );
        let err = serde_json::from_str::<CombinerConfig>(&too_long).unwrap_err();
        assert!(err.to_string().contains("at most 8"), "{err}");
    }

    #[test]
    fn minimum_deviation_vetoes_tiny_changes() {
        let config = CombinerConfig {
            likelihood: LikelihoodConfig {
                warmup: 0,
                ..LikelihoodConfig::default()
            },
            min_deviation: 5.0,
            ..CombinerConfig::default()
        };
        let mut combiner = Combiner::new(config, 1);
        let band = Some(Band {
            lower: 9.0,
            upper: 11.0,
        });
        for _ in 0..500 {
            combiner.combine(
                10.0,
                &[Score {
                    raw: 1.0,
                    expected: band,
                }],
            );
        }
        let tiny = combiner.combine(
            12.0,
            &[Score {
                raw: 1e6,
                expected: band,
            }],
        );
        assert!(
            tiny.score > 0.6 && !tiny.decision.is_anomaly,
            "1 outside the band is under 5"
        );
        let large = combiner.combine(
            30.0,
            &[Score {
                raw: 1e6,
                expected: band,
            }],
        );
        assert!(large.decision.started);
    }
}
