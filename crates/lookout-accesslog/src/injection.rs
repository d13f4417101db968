//! The content-injection check of every request line: each parsed request's target (path
//! and query, as written) goes through `lookout_inject::Classifier::classify_target`
//! (repeated URL decoding, then the SQL tokenizer and the pattern rules), and the
//! attacks it flags are grouped per client by `lookout_inject::incident::Incidents`
//! into one incident each: a `content_injection` event when a client's incident opens,
//! another with the counts per kind when it closes.
//!
//! What it misses: an access log carries the request line only, so attacks in bodies,
//! cookies and headers are not seen here (the API classifies whole requests); a format
//! whose request field is cut by the web server (nginx truncates nothing, but some
//! servers cap the logged line) hides what was cut. Cost per line: one classification
//! (most targets are short and inert: a few decoding passes and two automaton passes);
//! per attack one bounded-map touch. Memory: the incidents' bound.

use lookout_inject::event::RequestContext;
use lookout_inject::incident::Incidents;
pub use lookout_inject::incident::{IncidentConfig, IncidentStats};
use lookout_inject::{Classifier, Kind};
use lookout_model::{Event, Labels};

use crate::Request;

/// Whether request lines are checked, and how attacks are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InjectionConfig {
    pub enabled: bool,
    pub incidents: IncidentConfig,
}

impl Default for InjectionConfig {
    fn default() -> Self {
        InjectionConfig {
            enabled: true,
            incidents: IncidentConfig::default(),
        }
    }
}

/// Counters of the check since the start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InjectionStats {
    /// Request lines classified.
    pub classified: u64,
    /// Request lines flagged as attacks, indexed like [`Kind::ALL`].
    pub flagged: [u64; 5],
    pub incidents: IncidentStats,
}

impl InjectionStats {
    /// Request lines flagged, all kinds.
    pub fn flagged_total(&self) -> u64 {
        self.flagged.iter().sum()
    }
}

/// The classifier and the open incidents of one log.
#[derive(Debug)]
pub struct InjectionCheck {
    classifier: Classifier,
    incidents: Incidents,
    classified: u64,
    flagged: [u64; 5],
}

impl Clone for InjectionCheck {
    fn clone(&self) -> Self {
        InjectionCheck {
            classifier: Classifier::new(self.classifier.limits()),
            incidents: self.incidents.clone(),
            classified: self.classified,
            flagged: self.flagged,
        }
    }
}

impl InjectionCheck {
    /// A check whose events carry `labels` in their entity besides `client`.
    pub fn new(config: IncidentConfig, labels: Labels) -> InjectionCheck {
        InjectionCheck {
            classifier: Classifier::default(),
            incidents: Incidents::new(config, labels),
            classified: 0,
            flagged: [0; 5],
        }
    }

    /// Classifies one request (`line` is the whole log line, kept as an example);
    /// events go to `out`. Returns the attack's kind.
    pub fn observe(
        &mut self,
        request: &Request<'_>,
        line: &str,
        arrival_ms: i64,
        out: &mut Vec<Event>,
    ) -> Option<Kind> {
        if request.path == "-" || request.path.is_empty() {
            return None;
        }
        self.classified += 1;
        let verdict = self.classifier.classify_target(request.path.as_bytes());
        let kind = verdict.kind()?;
        self.flagged[kind as usize] += 1;
        let ctx = RequestContext {
            timestamp_ms: request.timestamp_ms.unwrap_or(arrival_ms),
            client: Some(request.client),
            host: request.vhost,
        };
        self.incidents.observe(&verdict, ctx, line, out);
        Some(kind)
    }

    /// Closes the incidents quiet at `now_ms`.
    pub fn flush(&mut self, now_ms: i64, out: &mut Vec<Event>) {
        self.incidents.flush(now_ms, out);
    }

    /// Closes every incident.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        self.incidents.finish(out);
    }

    pub fn stats(&self) -> InjectionStats {
        InjectionStats {
            classified: self.classified,
            flagged: self.flagged,
            incidents: self.incidents.stats(),
        }
    }
}
