//! Hysteresis: one incident is one anomaly, not fifty.
//!
//! An anomaly opens when both the score (the point's rarity) and the onset score (the
//! score as news, see [`super::Combined::onset`]) reach `open_at`, and closes only after the score has
//! stayed below `close_below` for `cooldown` consecutive points. While open, every
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
    /// Consecutive points that must qualify before an anomaly opens (1 = the first);
    /// the anomaly opens at the last of them. On series sparser than one point a second
    /// it is read as seconds too: a qualifying run of at least two points that spans
    /// `persistence - 1` seconds opens as well, so one-minute data waits one point, not
    /// `persistence` minutes.
    pub persistence: u32,
}

impl Default for HysteresisConfig {
    fn default() -> Self {
        HysteresisConfig {
            open_at: 0.6,
            close_below: 0.3,
            cooldown: 5,
            persistence: 1,
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
    /// Consecutive qualifying points while closed.
    #[serde(default)]
    pending: u32,
    /// Time of the first of them (unix ms), when the caller gives times.
    #[serde(default)]
    pending_since_ms: i64,
}

/// The time given by callers that have none: persistence then counts points only.
pub const NO_TIME: i64 = i64::MIN;

impl Hysteresis {
    pub fn new(config: HysteresisConfig) -> Self {
        Hysteresis {
            config,
            open: false,
            quiet_points: 0,
            pending: 0,
            pending_since_ms: 0,
        }
    }

    /// Opening needs both `score` (rarity) and `onset` (news) at `open_at`; closing
    /// follows `score`; `may_open` lets the caller veto opening (minimum deviation
    /// guard).
    pub fn decide(&mut self, score: f64, onset: f64, may_open: bool) -> Decision {
        self.decide_at(NO_TIME, score, onset, may_open)
    }

    /// [`Hysteresis::decide`] for a point at `timestamp_ms`, so that persistence also
    /// counts the seconds a qualifying run spans (see [`HysteresisConfig::persistence`]).
    pub fn decide_at(
        &mut self,
        timestamp_ms: i64,
        score: f64,
        onset: f64,
        may_open: bool,
    ) -> Decision {
        if !self.open {
            let open_at = self.config.open_at;
            let qualifies = score >= open_at && onset >= open_at && may_open;
            if !qualifies {
                self.pending = 0;
            } else {
                if self.pending == 0 {
                    self.pending_since_ms = timestamp_ms;
                }
                self.pending += 1;
            }
            let persistence = self.config.persistence.max(1);
            let spanned = timestamp_ms != NO_TIME
                && self.pending >= 2
                && timestamp_ms.saturating_sub(self.pending_since_ms)
                    >= (i64::from(persistence) - 1) * 1000;
            if self.pending >= persistence || spanned {
                self.pending = 0;
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
            .filter(|s| hysteresis.decide(**s, **s, true).started)
            .count();
        assert_eq!(starts, 1);
        assert!(!hysteresis.is_open());
    }

    #[test]
    fn on_one_minute_data_persistence_waits_one_more_point_not_ten_minutes() {
        let mut hysteresis = Hysteresis::new(HysteresisConfig {
            persistence: 10,
            ..HysteresisConfig::default()
        });
        let opened: Vec<bool> = (0..3)
            .map(|i| hysteresis.decide_at(i * 60_000, 0.9, 0.9, true).started)
            .collect();
        assert_eq!(opened, [false, true, false]);
        let mut per_second = Hysteresis::new(HysteresisConfig {
            persistence: 10,
            ..HysteresisConfig::default()
        });
        let first = (0..10).position(|i| per_second.decide_at(i * 1000, 0.9, 0.9, true).started);
        assert_eq!(first, Some(9), "at one point a second, ten points");
    }

    #[test]
    fn persistence_opens_at_the_last_of_consecutive_qualifying_points() {
        let mut hysteresis = Hysteresis::new(HysteresisConfig {
            persistence: 3,
            ..HysteresisConfig::default()
        });
        let opened: Vec<bool> = [0.9, 0.9, 0.1, 0.9, 0.9, 0.9]
            .iter()
            .map(|s| hysteresis.decide(*s, *s, true).started)
            .collect();
        assert_eq!(opened, [false, false, false, false, false, true]);
    }

    #[test]
    fn veto_keeps_it_closed() {
        let mut hysteresis = Hysteresis::new(HysteresisConfig::default());
        assert!(!hysteresis.decide(0.99, 0.99, false).is_anomaly);
        assert!(!hysteresis.decide(0.99, 0.1, true).is_anomaly);
        assert!(hysteresis.decide(0.99, 0.99, true).started);
    }
}
