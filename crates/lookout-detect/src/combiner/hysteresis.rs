//! Hysteresis: one incident is one anomaly, not fifty.
//!
//! An anomaly opens when the score reaches `open_at`, and closes only after the score
//! has stayed below `close_below` for `cooldown` consecutive points. While open, every
//! point is part of the same incident, so a flapping score inside an incident never
//! opens a second one.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HysteresisConfig {
    /// Score at or above which an anomaly opens.
    pub open_at: f64,
    /// Score below which a point counts towards closing an open anomaly.
    pub close_below: f64,
    /// Consecutive quiet points needed to close an open anomaly.
    pub cooldown: u32,
}

impl Default for HysteresisConfig {
    fn default() -> Self {
        HysteresisConfig {
            open_at: 0.6,
            close_below: 0.3,
            cooldown: 5,
        }
    }
}

/// What hysteresis decided for one point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub is_anomaly: bool,
    /// This point opened a new anomaly.
    pub started: bool,
    /// This point closed the anomaly that was open (it is itself no longer anomalous).
    pub ended: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hysteresis {
    config: HysteresisConfig,
    open: bool,
    quiet_points: u32,
}

impl Hysteresis {
    pub fn new(config: HysteresisConfig) -> Self {
        Hysteresis {
            config,
            open: false,
            quiet_points: 0,
        }
    }

    /// `may_open` lets the caller veto opening (minimum deviation guard).
    pub fn decide(&mut self, score: f64, may_open: bool) -> Decision {
        if !self.open {
            if score >= self.config.open_at && may_open {
                self.open = true;
                self.quiet_points = 0;
                return Decision {
                    is_anomaly: true,
                    started: true,
                    ended: false,
                };
            }
            return Decision {
                is_anomaly: false,
                started: false,
                ended: false,
            };
        }
        if score < self.config.close_below {
            self.quiet_points += 1;
        } else {
            self.quiet_points = 0;
        }
        if self.quiet_points >= self.config.cooldown.max(1) {
            self.open = false;
            self.quiet_points = 0;
            return Decision {
                is_anomaly: false,
                started: false,
                ended: true,
            };
        }
        Decision {
            is_anomaly: true,
            started: false,
            ended: false,
        }
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    pub fn config(&self) -> &HysteresisConfig {
        &self.config
    }

    /// Raises the opening threshold (used by false-positive feedback), never above 1.
    pub fn set_open_at(&mut self, open_at: f64) {
        self.config.open_at = open_at.clamp(0.0, 1.0);
        self.config.close_below = self.config.close_below.min(self.config.open_at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flapping_incident_is_one_anomaly() {
        let mut hysteresis = Hysteresis::new(HysteresisConfig::default());
        let scores = [
            0.1, 0.9, 0.2, 0.8, 0.1, 0.95, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1,
        ];
        let starts = scores
            .iter()
            .filter(|s| hysteresis.decide(**s, true).started)
            .count();
        assert_eq!(starts, 1);
        assert!(!hysteresis.is_open());
    }

    #[test]
    fn veto_keeps_it_closed() {
        let mut hysteresis = Hysteresis::new(HysteresisConfig::default());
        assert!(!hysteresis.decide(0.99, false).is_anomaly);
        assert!(hysteresis.decide(0.99, true).started);
    }
}
