//! Stored anomalies and the feedback people give on them.
//!
//! An anomaly is one incident on one series: it opens with the first anomalous verdict,
//! its peak score grows while it lasts, and it closes when the series is back to normal.
//! People then label it (a real problem, a false positive, an expected change), and the
//! label moves its [`AnomalyStatus`] so that the dashboard and evaluations can use it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Domain, Explanation, SeriesKey};

/// Identifier of a stored series; stable for the life of a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SeriesId(pub i64);

/// Identifier of a stored anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AnomalyId(pub i64);

impl fmt::Display for SeriesId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for AnomalyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A name that does not belong to one of the closed sets below (status, label, severity).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {value:?} is not one of: {allowed}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
    pub allowed: &'static str,
}

/// Declares a closed set of snake_case names with `as_str`, `Display` and `FromStr`.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal, { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName {
                        kind: $kind,
                        value: text.to_string(),
                        allowed: concat!($($text, " "),+),
                    }),
                }
            }
        }
    };
}

named_enum!(
    /// Where an anomaly stands: open while it lasts, then resolved, or labelled by a person.
    AnomalyStatus, "anomaly status", {
        /// Still going on: no end time yet.
        Open => "open",
        /// Ended by itself (the series came back to normal); nobody labelled it yet.
        Resolved => "resolved",
        /// A person saw it and confirmed it was real.
        Acknowledged => "acknowledged",
        /// A person said nothing was wrong.
        FalsePositive => "false_positive",
        /// Real but expected (a deploy, a backup, a load test).
        Expected => "expected",
        /// Real and part of an incident.
        Incident => "incident",
    }
);

named_enum!(
    /// How bad an anomaly is, from its peak score (see [`Severity::from_score`]).
    Severity, "severity", {
        Info => "info",
        Warning => "warning",
        Critical => "critical",
    }
);

named_enum!(
    /// What a person said about an anomaly.
    FeedbackLabel, "feedback label", {
        /// A real anomaly.
        Confirmed => "confirmed",
        /// Nothing was wrong.
        FalsePositive => "false_positive",
        /// Real but expected.
        Expected => "expected",
        /// Real and part of an incident.
        Incident => "incident",
    }
);

impl Severity {
    /// `critical` from a peak score of 0.99, `warning` from 0.9, `info` below.
    pub fn from_score(peak_score: f64) -> Severity {
        if peak_score >= 0.99 {
            Severity::Critical
        } else if peak_score >= 0.9 {
            Severity::Warning
        } else {
            Severity::Info
        }
    }
}

impl FeedbackLabel {
    /// The status an anomaly takes when it receives this label.
    pub fn implied_status(self) -> AnomalyStatus {
        match self {
            FeedbackLabel::Confirmed => AnomalyStatus::Acknowledged,
            FeedbackLabel::FalsePositive => AnomalyStatus::FalsePositive,
            FeedbackLabel::Expected => AnomalyStatus::Expected,
            FeedbackLabel::Incident => AnomalyStatus::Incident,
        }
    }
}

/// One stored anomaly of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyRecord {
    pub id: AnomalyId,
    pub series_id: SeriesId,
    pub series: SeriesKey,
    pub domain: Domain,
    /// Time of the first anomalous sample, milliseconds since the Unix epoch.
    pub start_ms: i64,
    /// Time the anomaly ended; `None` while it is open.
    pub end_ms: Option<i64>,
    /// Highest score seen while it lasted, in `[0, 1]`.
    pub peak_score: f64,
    pub severity: Severity,
    pub status: AnomalyStatus,
    /// The explanation of the verdict with the peak score.
    pub explanation: Explanation,
}

/// One piece of feedback on one anomaly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackRecord {
    pub id: i64,
    pub anomaly_id: AnomalyId,
    pub label: FeedbackLabel,
    pub note: String,
    pub created_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text() {
        for status in AnomalyStatus::ALL {
            assert_eq!(status.as_str().parse::<AnomalyStatus>(), Ok(*status));
        }
        for label in FeedbackLabel::ALL {
            assert_eq!(label.as_str().parse::<FeedbackLabel>(), Ok(*label));
        }
        for severity in Severity::ALL {
            assert_eq!(severity.to_string().parse::<Severity>(), Ok(*severity));
        }
    }

    #[test]
    fn unknown_names_say_what_is_allowed() {
        let error = "closed".parse::<AnomalyStatus>().unwrap_err();
        assert!(
            error.to_string().contains("anomaly status \"closed\""),
            "{error}"
        );
        assert!(error.to_string().contains("false_positive"), "{error}");
    }

    #[test]
    fn serde_names_match_text_names() {
        let json = serde_json::to_string(&AnomalyStatus::FalsePositive).unwrap();
        assert_eq!(json, "\"false_positive\"");
        assert_eq!(serde_json::to_string(&SeriesId(7)).unwrap(), "7");
    }

    #[test]
    fn severity_follows_peak_score() {
        assert_eq!(Severity::from_score(0.5), Severity::Info);
        assert_eq!(Severity::from_score(0.95), Severity::Warning);
        assert_eq!(Severity::from_score(0.999), Severity::Critical);
    }

    #[test]
    fn labels_imply_statuses() {
        assert_eq!(
            FeedbackLabel::FalsePositive.implied_status(),
            AnomalyStatus::FalsePositive
        );
        assert_eq!(
            FeedbackLabel::Confirmed.implied_status(),
            AnomalyStatus::Acknowledged
        );
    }
}
