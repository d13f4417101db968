use super::*;
use proptest::prelude::*;

fn attempt(result: LoginResult, ip: &str, user: &str, t: i64) -> Login {
    Login {
        time_ms: Some(t),
        result,
        ip: ip.into(),
        user: Some(user.into()),
        form: "t",
        counts_as_failure: false,
    }
}

fn kinds(found: &[Finding]) -> Vec<FindingKind> {
    found.iter().map(|f| f.kind).collect()
}

#[test]
fn the_fifth_failure_within_findtime_is_a_brute_force_once() {
    let mut d = LoginDetectors::new(DetectConfig::default()).unwrap();
    let mut all = Vec::new();
    for i in 0..12 {
        let found = d.observe(
            &attempt(LoginResult::Failure, "192.0.2.1", "root", i * 30_000),
            "l",
            0,
        );
        all.push((i, kinds(&found)));
    }
    let brute: Vec<i64> = all
        .iter()
        .filter(|(_, k)| k.contains(&FindingKind::BruteForce))
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(brute, [4], "{all:?}");
    // One failure per 30 s leaks out of the fast bucket (one per 10 s) and fills the
    // slow one (one per minute) by half a token per failure: not yet past capacity 10.
    assert!(!all
        .iter()
        .any(|(_, k)| k.contains(&FindingKind::FastBruteForce)));
    assert!(!all
        .iter()
        .any(|(_, k)| k.contains(&FindingKind::SlowBruteForce)));
    let slow = (12..40)
        .position(|i| {
            let login = attempt(LoginResult::Failure, "192.0.2.1", "root", i * 30_000);
            kinds(&d.observe(&login, "l", 0)).contains(&FindingKind::SlowBruteForce)
        })
        .map(|p| p + 12);
    // Before the n-th failure the bucket holds (n - 1) / 2: the 20th overflows.
    assert_eq!(slow, Some(19));
}

#[test]
fn a_fast_burst_overflows_the_fast_bucket_with_evidence() {
    let mut d = LoginDetectors::new(DetectConfig::default()).unwrap();
    let users = ["root", "admin", "oracle", "test", "pi", "ubuntu"];
    let mut found = Vec::new();
    for (i, u) in users.iter().enumerate() {
        found.extend(d.observe(
            &attempt(LoginResult::Failure, "2001:db8::7", u, i as i64 * 500),
            &format!("line {i}"),
            0,
        ));
    }
    let fast = found
        .iter()
        .find(|f| f.kind == FindingKind::FastBruteForce)
        .expect("fast");
    assert_eq!(fast.failures, 6);
    assert_eq!((fast.first_ms, fast.last_ms), (0, 2500));
    assert_eq!(fast.users, users);
    assert_eq!(fast.examples.len(), 5);
    assert!(kinds(&found).contains(&FindingKind::UserEnumeration));
    let event = fast.to_event(&Default::default());
    assert_eq!(event.kind, "ssh_bruteforce_fast");
    assert_eq!(event.entity["source_ip"], "2001:db8::7");
    assert_eq!(event.evidence.counts["failures"], 6);
    assert!(event.validate(&Default::default()).is_ok());
}

#[test]
fn success_after_failures_is_critical_and_needs_the_failures() {
    let mut d = LoginDetectors::new(DetectConfig::default()).unwrap();
    assert!(d
        .observe(
            &attempt(LoginResult::Success, "192.0.2.9", "alice", 0),
            "ok",
            0
        )
        .is_empty());
    for i in 0..5 {
        d.observe(
            &attempt(LoginResult::Failure, "192.0.2.9", "alice", 1000 + i),
            "bad",
            0,
        );
    }
    let found = d.observe(
        &attempt(LoginResult::Success, "192.0.2.9", "alice", 2000),
        "Accepted",
        0,
    );
    assert_eq!(kinds(&found), [FindingKind::SuccessAfterFailures]);
    assert_eq!(found[0].logged_in_user.as_deref(), Some("alice"));
    assert_eq!(found[0].window_failures, 5);
    assert_eq!(
        found[0].examples.last().map(String::as_str),
        Some("Accepted")
    );
    let event = found[0].to_event(&Default::default());
    assert_eq!(event.severity, lookout_model::Severity::Critical);
    // The next success is not a second finding.
    assert!(d
        .observe(
            &attempt(LoginResult::Success, "192.0.2.9", "alice", 3000),
            "ok",
            0
        )
        .is_empty());
    // Failures from another address do not count.
    for i in 0..5 {
        d.observe(
            &attempt(LoginResult::Failure, "192.0.2.10", "bob", 4000 + i),
            "bad",
            0,
        );
    }
    assert!(d
        .observe(
            &attempt(LoginResult::Success, "192.0.2.11", "bob", 5000),
            "ok",
            0
        )
        .is_empty());
}

#[test]
fn bad_settings_are_named() {
    let config = DetectConfig {
        maxretry: 0,
        ..Default::default()
    };
    assert_eq!(LoginDetectors::new(config).unwrap_err().key, "maxretry");
}

proptest! {
    #[test]
    fn memory_stays_bounded_whatever_the_addresses(ips in proptest::collection::vec(0u32..100_000, 1..500)) {
        let config = DetectConfig { max_sources: 50, ..Default::default() };
        let mut d = LoginDetectors::new(config).unwrap();
        for (i, ip) in ips.iter().enumerate() {
            let login = attempt(LoginResult::Failure, &format!("10.{}.{}.{}", ip >> 16, (ip >> 8) & 255, ip & 255), "u", i as i64);
            d.observe(&login, "x", 0);
            prop_assert!(d.sources() <= 50);
        }
    }

    #[test]
    fn deterministic(seq in proptest::collection::vec((0u8..4, 0u8..6, 0i64..5000), 1..200)) {
        let run = || {
            let mut d = LoginDetectors::new(DetectConfig::default()).unwrap();
            let mut out = Vec::new();
            let mut t = 0;
            for (ip, user, dt) in &seq {
                t += dt;
                let result = if *user == 0 { LoginResult::Success } else { LoginResult::Failure };
                out.extend(d.observe(&attempt(result, &format!("192.0.2.{ip}"), &format!("u{user}"), t), "l", 0));
            }
            out
        };
        prop_assert_eq!(run(), run());
    }
}

#[test]
fn a_login_from_a_network_new_to_a_settled_user_is_an_event_with_its_score() {
    let mut d = LoginDetectors::new(DetectConfig::default()).unwrap();
    for n in 0..8 {
        let login = attempt(LoginResult::Success, "198.51.100.10", "deploy", n * 60_000);
        assert!(d.observe(&login, "ok", 0).is_empty());
    }
    let login = attempt(LoginResult::Success, "203.0.113.99", "deploy", 900_000);
    let found = d.observe(&login, "Accepted publickey for deploy from 203.0.113.99", 0);
    assert_eq!(kinds(&found), [FindingKind::NewSourceNetwork]);
    let event = found[0].to_event(&lookout_model::Labels::new());
    assert_eq!(event.kind, "ssh_new_source_network");
    assert_eq!(event.entity["user"], "deploy");
    assert_eq!(event.evidence.fields["network"], "203.0.113.0/24");
    assert_eq!(event.evidence.fields["known_networks"], "198.51.100.0/24");
    assert_eq!(event.evidence.counts["user_logins"], 8);
    assert!(
        event.score.is_some_and(|score| score > 0.85),
        "{:?}",
        event.score
    );
    assert!(
        event.summary.contains("a network new to this user"),
        "{}",
        event.summary
    );
    // Another user's first logins from there teach nothing about `deploy` and raise nothing.
    let other = attempt(LoginResult::Success, "203.0.113.99", "guest", 901_000);
    assert!(d.observe(&other, "ok", 0).is_empty());
}
