//! Log events on generated traffic: no event over 30 minutes of steady traffic with a
//! daily pattern, and each incident named correctly within two intervals of its onset.

use lookout_accesslog::events::LogEvents;
use lookout_accesslog::generate::{format_of, generate, Incident, IncidentKind, TrafficSpec};
use lookout_accesslog::{AggregatorConfig, LogDeriver, LogFormat, ParserConfig};
use lookout_model::Event;

/// 2026-12-02T06:00:00Z: the daily sine rises fastest here.
const START: i64 = 1_796_191_200_000;
const MINUTE: i64 = 60_000;
const INTERVAL: i64 = 5_000;

fn replay(incidents: Vec<Incident>, seed: u64) -> Vec<Event> {
    let spec = TrafficSpec {
        start_ms: START,
        duration_ms: 30 * MINUTE,
        rate: 100.0,
        daily_amplitude: 0.5,
        seed,
        timed: true,
        incidents,
    };
    let parser = ParserConfig::new(LogFormat::Nginx(format_of(&spec).to_string()));
    let mut deriver = LogDeriver::new(&parser, AggregatorConfig::default()).unwrap();
    let mut detector = LogEvents::new([("log".to_string(), "test".to_string())].into());
    let mut closed = Vec::new();
    let mut events = Vec::new();
    generate(&spec, |_, line| {
        deriver.line(line.as_bytes(), 0, &mut closed);
        for summary in closed.drain(..) {
            events.extend(detector.observe(&summary));
        }
    });
    deriver.finish(&mut closed);
    for summary in closed.drain(..) {
        events.extend(detector.observe(&summary));
    }
    events
}

#[test]
fn steady_traffic_with_a_daily_pattern_raises_nothing() {
    for seed in [1, 2, 3] {
        let events = replay(Vec::new(), seed);
        let kinds: Vec<(&str, &str)> = events
            .iter()
            .map(|e| (e.kind.as_str(), e.summary.as_str()))
            .collect();
        assert!(events.is_empty(), "seed {seed}: {kinds:?}");
    }
}

fn detects(kind: IncidentKind, expected: &str) -> Event {
    // The onset is in the middle of an interval.
    let onset = START + 15 * MINUTE + 2_500;
    let incident = Incident {
        start_ms: onset,
        end_ms: onset + 3 * MINUTE,
        kind,
    };
    let events = replay(vec![incident], 11);
    let before: Vec<&str> = events
        .iter()
        .filter(|event| event.timestamp_ms <= onset)
        .map(|event| event.kind.as_str())
        .collect();
    assert!(before.is_empty(), "events before the onset: {before:?}");
    let event = events
        .iter()
        .find(|event| event.kind == expected)
        .unwrap_or_else(|| panic!("no {expected}: {events:?}"))
        .clone();
    assert!(
        event.timestamp_ms <= onset + 2 * INTERVAL,
        "{expected} at +{} ms",
        event.timestamp_ms - onset
    );
    let validated = event.validate(&lookout_model::EventLimits::default());
    assert!(validated.is_ok(), "{validated:?}");
    event
}

#[test]
fn an_error_burst_is_an_error_rate_spike_with_example_lines() {
    let event = detects(IncidentKind::Errors { share: 0.3 }, "error_rate_spike");
    assert_eq!(event.entity["vhost"], "_");
    assert_eq!(event.entity["log"], "test");
    assert!(event.evidence.counts["errors"] >= 10);
    assert!(!event.evidence.examples.is_empty());
    assert!(event
        .evidence
        .examples
        .iter()
        .all(|line| line.contains("\" 50")));
}

#[test]
fn one_failing_route_is_route_failing() {
    let event = detects(
        IncidentKind::RouteFailing {
            route: "/api/orders/:id",
        },
        "route_failing",
    );
    assert_eq!(event.entity["route"], "/api/orders/:id");
    assert!(event.evidence.examples[0].contains("/api/orders/"));
}

#[test]
fn a_burst_is_a_traffic_spike() {
    let event = detects(IncidentKind::Traffic { factor: 5.0 }, "traffic_spike");
    assert!(event.evidence.counts["during"] > 2 * event.evidence.counts["before"]);
}

#[test]
fn a_collapse_is_a_traffic_drop() {
    let event = detects(IncidentKind::Traffic { factor: 0.05 }, "traffic_drop");
    assert!(event.evidence.counts["during"] * 3 < event.evidence.counts["before"]);
}

#[test]
fn one_client_hammering_is_a_client_flood() {
    let flood = IncidentKind::Flood {
        client: "203.0.113.66",
        per_second: 150.0,
    };
    let event = detects(flood, "client_flood");
    assert_eq!(event.entity["client"], "203.0.113.66");
    assert!(event
        .evidence
        .examples
        .iter()
        .all(|line| line.starts_with("203.0.113.66 ")));
}

#[test]
fn a_slow_upstream_is_a_latency_degradation() {
    let event = detects(IncidentKind::Slow { factor: 6.0 }, "latency_degradation");
    assert!(!event.evidence.examples.is_empty());
}
