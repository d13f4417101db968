use super::*;
use crate::Classifier;

const T0: i64 = 1_700_000_000_000;

fn attack(
    incidents: &mut Incidents,
    c: &mut Classifier,
    client: &str,
    t: i64,
    target: &str,
) -> Vec<Event> {
    let v = c.classify_target(target.as_bytes());
    let ctx = RequestContext {
        timestamp_ms: t,
        client: Some(client),
        host: Some("shop"),
    };
    let mut out = Vec::new();
    incidents.observe(&v, ctx, &format!("GET {target} HTTP/1.1"), &mut out);
    for e in &out {
        e.validate(&EventLimits::default()).unwrap();
    }
    out
}

fn labels() -> Labels {
    [("log".to_owned(), "access_log#0".to_owned())].into()
}

#[test]
fn one_client_many_payloads_is_one_incident() {
    let mut c = Classifier::default();
    let mut incidents = Incidents::new(IncidentConfig::default(), labels());
    let opened = attack(
        &mut incidents,
        &mut c,
        "203.0.113.9",
        T0,
        "/item?id=1%27%20or%201%3D1--",
    );
    assert_eq!(opened.len(), 1);
    let e = &opened[0];
    assert_eq!(e.kind, EVENT_KIND);
    assert_eq!(e.entity["client"], "203.0.113.9");
    assert_eq!(e.entity["log"], "access_log#0");
    assert_eq!(e.evidence.fields["incident"], "open");
    assert_eq!(e.evidence.fields["attack_kind"], "sqli");
    for n in 1..100 {
        let target = if n % 10 == 0 {
            "/q?x=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
        } else {
            "/item?id=1%20union%20select%20null,null--"
        };
        assert!(attack(&mut incidents, &mut c, "203.0.113.9", T0 + n * 1000, target).is_empty());
    }
    // Clean requests add nothing.
    assert!(attack(
        &mut incidents,
        &mut c,
        "203.0.113.9",
        T0 + 200_000,
        "/item?id=42"
    )
    .is_empty());
    assert_eq!(incidents.open(), 1);
    let mut out = Vec::new();
    incidents.flush(T0 + 99_000 + 9 * 60 * 1000, &mut out);
    assert!(out.is_empty(), "still within the window");
    incidents.flush(T0 + 99_000 + 11 * 60 * 1000, &mut out);
    assert_eq!(out.len(), 1);
    let e = &out[0];
    e.validate(&EventLimits::default()).unwrap();
    assert_eq!(e.evidence.fields["incident"], "closed");
    assert_eq!(e.evidence.fields["closed_by"], "idle");
    assert_eq!(e.evidence.fields["kinds"], "sqli,xss");
    assert_eq!(e.evidence.counts["requests"], 100);
    assert_eq!(e.evidence.counts["sqli"], 91);
    assert_eq!(e.evidence.counts["xss"], 9);
    assert_eq!(e.evidence.first_ms, Some(T0));
    assert_eq!(e.evidence.last_ms, Some(T0 + 99_000));
    assert_eq!(e.evidence.fields["hosts"], "shop");
    assert!(e.evidence.examples.len() <= MAX_EXAMPLES);
    assert!(e.evidence.examples.iter().any(|l| l.contains("script")));
    assert!(
        e.summary
            .starts_with("100 injection attempts from 203.0.113.9"),
        "{}",
        e.summary
    );
    assert_eq!(
        incidents.stats(),
        IncidentStats {
            opened: 1,
            closed: 1,
            evicted: 0
        }
    );
}

#[test]
fn a_quiet_client_comes_back_as_a_new_incident() {
    let mut c = Classifier::default();
    let mut incidents = Incidents::new(IncidentConfig::default(), Labels::new());
    let sqli = "/item?id=1%27%20or%201%3D1--";
    assert_eq!(attack(&mut incidents, &mut c, "a", T0, sqli).len(), 1);
    // Eleven minutes later: the first closes, a second opens.
    let out = attack(&mut incidents, &mut c, "a", T0 + 11 * 60_000, sqli);
    let states: Vec<&str> = out
        .iter()
        .map(|e| e.evidence.fields["incident"].as_str())
        .collect();
    assert_eq!(states, ["closed", "open"]);
}

#[test]
fn a_long_attack_is_closed_at_the_maximum_duration() {
    let mut c = Classifier::default();
    let mut incidents = Incidents::new(IncidentConfig::default(), Labels::new());
    let sqli = "/item?id=1%27%20or%201%3D1--";
    let mut events = Vec::new();
    for minute in 0..=120 {
        events.extend(attack(
            &mut incidents,
            &mut c,
            "a",
            T0 + minute * 60_000,
            sqli,
        ));
    }
    let closed: Vec<&Event> = events
        .iter()
        .filter(|e| e.evidence.fields["incident"] == "closed")
        .collect();
    assert_eq!(closed.len(), 2);
    assert!(closed
        .iter()
        .all(|e| e.evidence.fields["closed_by"] == "max_duration"));
    assert_eq!(closed[0].evidence.counts["requests"], 60);
}

#[test]
fn memory_is_bounded_by_closing_the_least_recent() {
    let mut c = Classifier::default();
    let config = IncidentConfig {
        max_clients: 3,
        ..IncidentConfig::default()
    };
    let mut incidents = Incidents::new(config, Labels::new());
    let mut events = Vec::new();
    for n in 0..10 {
        let client = format!("198.51.100.{n}");
        events.extend(attack(
            &mut incidents,
            &mut c,
            &client,
            T0 + n,
            "/?f=..%2f..%2f..%2fetc%2fpasswd",
        ));
        assert!(incidents.open() <= 3);
    }
    let evicted = events
        .iter()
        .filter(|e| e.evidence.fields.get("closed_by").map(String::as_str) == Some("evicted"))
        .count();
    assert_eq!(evicted, 7);
    let mut out = Vec::new();
    incidents.finish(&mut out);
    assert_eq!(out.len(), 3);
    assert!(out
        .iter()
        .all(|e| e.evidence.fields["closed_by"] == "finish"));
    assert_eq!(out[0].evidence.fields["attack_kind"], "traversal");
    assert_eq!(
        incidents.stats(),
        IncidentStats {
            opened: 10,
            closed: 10,
            evicted: 7
        }
    );
}
