//! `POST /api/v1/predict/login`: one login attempt `{"ip", "user", "result"}` or a window
//! summary `{"failures": 6, "distinct_users": 2, "window": "60s", "successes": 0}`,
//! judged by `lookout-auth`'s login detectors with their default thresholds (fail2ban's
//! 5 failures within 10 min, CrowdSec's fast bucket 5 / 10 s and slow bucket 10 / 60 s,
//! 5 distinct users within 10 min, a success after 5 failures within 10 min).
//!
//! A summary is replayed through a fresh [`LoginDetectors`] (dropped after the answer:
//! nothing is kept): the failures evenly spread over the window from one address, the
//! users taken in turn, then the successes at the window's end. Every rule that fires is
//! named with its threshold; the kind is the most serious one. Misses: the spread is an
//! assumption: a burst packed into part of the window can trip the fast bucket when the
//! even replay does not.
//!
//! One attempt alone is never an attack for these rules (each needs several), and the
//! route keeps no state between requests: the answer says how far the one attempt is
//! from the fail2ban rule and points at the summary form. Cost: O(failures), at most
//! [`MAX_FAILURES`], on the blocking pool.

use std::net::IpAddr;

use lookout_auth::detect::{DetectConfig, FindingKind, LoginDetectors};
use lookout_auth::{Login, LoginResult};
use serde_json::{json, Map, Value};

/// Failures one summary may claim (the replay is O(failures)).
pub const MAX_FAILURES: u64 = 100_000;
/// Longest window a summary may cover.
pub const MAX_WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;
/// Longest user name accepted (bytes).
const MAX_USER_BYTES: usize = 256;

/// What a login body asks about.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginQuery {
    Attempt {
        ip: IpAddr,
        user: Option<String>,
        result: LoginResult,
    },
    Window {
        failures: u64,
        distinct_users: u64,
        window_ms: i64,
        successes: u64,
    },
}

/// Reads either form; every problem names its field.
pub fn query_from_json(value: &Value) -> Result<LoginQuery, String> {
    let object: &Map<String, Value> = value.as_object().ok_or(
        "the body must be a JSON object: {\"ip\", \"user\", \"result\"} or {\"failures\", \"distinct_users\", \"window\"}",
    )?;
    if object.contains_key("failures") {
        window_from_json(object)
    } else if object.contains_key("ip") || object.contains_key("result") {
        attempt_from_json(object)
    } else {
        Err("missing field \"ip\" (one attempt) or \"failures\" (a window summary)".into())
    }
}

fn only(object: &Map<String, Value>, known: &[&str]) -> Result<(), String> {
    match object.keys().find(|key| !known.contains(&key.as_str())) {
        Some(unknown) => Err(format!(
            "unknown field {unknown:?} (expected {})",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

fn attempt_from_json(object: &Map<String, Value>) -> Result<LoginQuery, String> {
    only(object, &["ip", "user", "result"])?;
    let ip = match object.get("ip") {
        Some(Value::String(text)) => text
            .parse::<IpAddr>()
            .map_err(|_| format!("field \"ip\" must be an IPv4 or IPv6 address, got {text:?}"))?,
        Some(other) => return Err(format!("field \"ip\" must be a string, got {other}")),
        None => return Err("missing field \"ip\"".into()),
    };
    let user = match object.get("user") {
        None | Some(Value::Null) => None,
        Some(Value::String(user)) if user.len() <= MAX_USER_BYTES => Some(user.clone()),
        Some(Value::String(_)) => {
            return Err(format!(
                "field \"user\" is longer than {MAX_USER_BYTES} bytes"
            ))
        }
        Some(other) => return Err(format!("field \"user\" must be a string, got {other}")),
    };
    let result = match object.get("result").and_then(Value::as_str) {
        Some("failure") => LoginResult::Failure,
        Some("success") => LoginResult::Success,
        _ => {
            return Err(format!(
                "field \"result\" must be \"failure\" or \"success\", got {}",
                object
                    .get("result")
                    .map_or("nothing".into(), Value::to_string)
            ))
        }
    };
    Ok(LoginQuery::Attempt { ip, user, result })
}

fn count(object: &Map<String, Value>, field: &str, max: u64) -> Result<Option<u64>, String> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .filter(|n| *n <= max)
            .map(Some)
            .ok_or_else(|| format!("field {field:?} must be an integer 0..{max}, got {value}")),
    }
}

fn window_from_json(object: &Map<String, Value>) -> Result<LoginQuery, String> {
    only(
        object,
        &["failures", "distinct_users", "window", "successes"],
    )?;
    // Present (the caller dispatched on it) but possibly `null`: a 400 like any bad count.
    let failures = count(object, "failures", MAX_FAILURES)?.ok_or_else(|| {
        format!("field \"failures\" must be an integer 0..{MAX_FAILURES}, got null")
    })?;
    let distinct_users = count(object, "distinct_users", MAX_FAILURES)?.unwrap_or(1);
    if distinct_users > failures.max(1) {
        return Err(format!(
            "field \"distinct_users\" ({distinct_users}) cannot exceed \"failures\" ({failures})"
        ));
    }
    let successes = count(object, "successes", 1_000)?.unwrap_or(0);
    let window_ms = match object.get("window") {
        Some(Value::String(text)) => humantime::parse_duration(text)
            .ok()
            .map(|d| d.as_millis() as i64)
            .filter(|ms| (1..=MAX_WINDOW_MS).contains(ms))
            .ok_or_else(|| {
                format!(
                    "field \"window\" must be a duration from 1ms to 7d like \"60s\", got {text:?}"
                )
            })?,
        Some(other) => {
            return Err(format!(
                "field \"window\" must be a duration string like \"60s\", got {other}"
            ))
        }
        None => return Err("missing field \"window\"".into()),
    };
    Ok(LoginQuery::Window {
        failures,
        distinct_users,
        window_ms,
        successes,
    })
}

fn minutes(ms: i64) -> String {
    humantime::format_duration(std::time::Duration::from_millis(ms as u64)).to_string()
}

/// Judges one query with the default thresholds.
pub fn predict(query: &LoginQuery) -> Value {
    let config = DetectConfig::default();
    match query {
        LoginQuery::Attempt { ip, user, result } => {
            let (score, kind, text) = match result {
                LoginResult::Failure => (
                    1.0 / f64::from(config.maxretry),
                    "login_failure",
                    format!(
                        "one failed login from {ip}{}: no rule fires on one attempt (the fail2ban rule needs {} failures within {}); post a window summary {{\"failures\", \"distinct_users\", \"window\"}} to judge a burst",
                        user.as_deref().map(|u| format!(" for {u:?}")).unwrap_or_default(),
                        config.maxretry,
                        minutes(config.findtime_ms),
                    ),
                ),
                LoginResult::Success => (
                    0.0,
                    "login_success",
                    format!(
                        "a successful login from {ip}: suspect only after {} failures from the same address within {} (post a window summary with \"successes\": 1)",
                        config.success_failures,
                        minutes(config.success_window_ms),
                    ),
                ),
            };
            json!({
                "anomaly": false,
                "score": score,
                "kind": kind,
                "explanation": { "text": text, "rules": [] },
            })
        }
        LoginQuery::Window {
            failures,
            distinct_users,
            window_ms,
            successes,
        } => replay(config, *failures, *distinct_users, *window_ms, *successes),
    }
}

/// Most serious first: the kind an answer names.
const SERIOUSNESS: [FindingKind; 5] = [
    FindingKind::SuccessAfterFailures,
    FindingKind::FastBruteForce,
    FindingKind::BruteForce,
    FindingKind::SlowBruteForce,
    FindingKind::UserEnumeration,
];

fn replay(
    config: DetectConfig,
    failures: u64,
    distinct_users: u64,
    window_ms: i64,
    successes: u64,
) -> Value {
    let mut detectors = LoginDetectors::new(config).expect("the default settings are valid");
    let ip = "192.0.2.1";
    let start_ms = 0;
    let spacing = if failures > 1 {
        window_ms as f64 / (failures - 1) as f64
    } else {
        0.0
    };
    let mut fired = Vec::new();
    for i in 0..failures {
        let t = start_ms + (i as f64 * spacing).round() as i64;
        let login = Login {
            time_ms: Some(t),
            result: LoginResult::Failure,
            ip: ip.into(),
            user: Some(format!("user{}", i % distinct_users.max(1))),
            form: "failed_password",
            counts_as_failure: false,
        };
        fired.extend(detectors.observe(&login, "", t));
    }
    for _ in 0..successes {
        let login = Login {
            time_ms: Some(start_ms + window_ms),
            result: LoginResult::Success,
            ip: ip.into(),
            user: Some("user0".into()),
            form: "accepted",
            counts_as_failure: false,
        };
        fired.extend(detectors.observe(&login, "", start_ms + window_ms));
    }
    let mut kinds: Vec<FindingKind> = fired.iter().map(|f| f.kind).collect();
    kinds.sort();
    kinds.dedup();
    let rules: Vec<Value> = SERIOUSNESS
        .iter()
        .filter(|kind| kinds.contains(kind))
        .map(|kind| {
            let finding = fired.iter().find(|f| f.kind == *kind).expect("kind seen");
            json!({ "kind": kind.event_kind(), "rule": finding.rule })
        })
        .collect();
    let kind = SERIOUSNESS.iter().find(|kind| kinds.contains(kind));
    // Below every threshold: how close the nearest rule came.
    let ratios = [
        effective(failures, window_ms, config.findtime_ms) / f64::from(config.maxretry),
        distinct_users as f64 / f64::from(config.enumeration_users),
    ];
    let closeness = ratios.iter().copied().fold(0.0, f64::max).min(0.99);
    let score = if kind.is_some() { 1.0 } else { closeness };
    let summary = format!(
        "{failures} failures from one address over {}, {distinct_users} distinct users{}",
        minutes(window_ms),
        if successes > 0 {
            format!(", then {successes} success(es)")
        } else {
            String::new()
        }
    );
    let text = match kind {
        Some(_) => format!(
            "{summary}: {}",
            rules
                .iter()
                .map(|r| format!(
                    "{} ({})",
                    r["kind"].as_str().unwrap_or(""),
                    r["rule"].as_str().unwrap_or("")
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        None => format!(
            "{summary}: below every rule (fail2ban: {} failures within {}; fast bucket {} per {}s; slow bucket {} per {}s; enumeration: {} users within {})",
            config.maxretry,
            minutes(config.findtime_ms),
            config.fast.capacity,
            config.fast.leak_ms / 1000,
            config.slow.capacity,
            config.slow.leak_ms / 1000,
            config.enumeration_users,
            minutes(config.enumeration_window_ms),
        ),
    };
    json!({
        "anomaly": kind.is_some(),
        "score": score,
        "kind": kind.map_or("normal", |k| k.event_kind()),
        "explanation": {
            "text": text,
            "rules": rules,
            "assumption": "failures evenly spread over the window, from one address",
        },
    })
}

/// Failures expected within `findtime` when `failures` spread evenly over `window`.
fn effective(failures: u64, window_ms: i64, findtime_ms: i64) -> f64 {
    if window_ms <= findtime_ms {
        failures as f64
    } else {
        failures as f64 * findtime_ms as f64 / window_ms as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(failures: u64, users: u64, window: &str) -> Value {
        predict(
            &query_from_json(
                &json!({"failures": failures, "distinct_users": users, "window": window}),
            )
            .unwrap(),
        )
    }

    #[test]
    fn a_burst_trips_the_fail2ban_rule_and_the_fast_bucket() {
        // Six in a minute (one per 12 s) is fail2ban's rule; the fast bucket leaks faster.
        let minute = window(6, 2, "60s");
        assert_eq!(minute["anomaly"], true, "{minute}");
        assert_eq!(minute["kind"], "ssh_bruteforce", "{minute}");
        // Eight in 20 s overflow the fast bucket too.
        let answer = window(8, 2, "20s");
        assert_eq!(answer["kind"], "ssh_bruteforce_fast", "{answer}");
        let rules: Vec<&str> = answer["explanation"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["kind"].as_str().unwrap())
            .collect();
        assert!(rules.contains(&"ssh_bruteforce"), "{rules:?}");
        // Five within ten minutes is fail2ban's rule, too slow for the fast bucket.
        let slow = window(5, 1, "9m");
        assert_eq!(slow["kind"], "ssh_bruteforce", "{slow}");
        // Three failures in an hour: nothing, and the score says how close.
        let quiet = window(3, 1, "1h");
        assert_eq!(quiet["anomaly"], false, "{quiet}");
        assert_eq!(quiet["kind"], "normal");
        assert!(quiet["score"].as_f64().unwrap() < 0.5);
        // Six users from one address: enumeration.
        let users = window(6, 6, "5m");
        assert!(
            users["explanation"]["text"]
                .as_str()
                .unwrap()
                .contains("ssh_user_enumeration"),
            "{users}"
        );
    }

    #[test]
    fn a_success_after_the_burst_is_the_most_serious() {
        let answer = predict(
            &query_from_json(
                &json!({"failures": 8, "distinct_users": 1, "window": "2m", "successes": 1}),
            )
            .unwrap(),
        );
        assert_eq!(answer["kind"], "ssh_success_after_failures", "{answer}");
    }

    #[test]
    fn one_attempt_is_no_attack_and_bad_fields_are_named() {
        let answer = predict(
            &query_from_json(&json!({"ip": "203.0.113.9", "user": "root", "result": "failure"}))
                .unwrap(),
        );
        assert_eq!(answer["anomaly"], false);
        assert_eq!(answer["kind"], "login_failure");
        assert_eq!(answer["score"], 0.2);
        for (body, expected) in [
            (
                json!({"ip": "nope", "result": "failure"}),
                "field \"ip\" must be an IPv4 or IPv6",
            ),
            (
                json!({"ip": "::1", "result": "maybe"}),
                "field \"result\" must be",
            ),
            (
                json!({"ip": "::1", "result": "failure", "x": 1}),
                "unknown field \"x\"",
            ),
            (
                json!({"failures": -1, "window": "1m"}),
                "field \"failures\" must be an integer",
            ),
            (
                json!({"failures": 2, "distinct_users": 3, "window": "1m"}),
                "cannot exceed",
            ),
            (
                json!({"failures": 2, "window": "soon"}),
                "field \"window\" must be a duration",
            ),
            (json!({"failures": 2}), "missing field \"window\""),
            (json!({"user": "x"}), "missing field \"ip\""),
            (json!({"failures": 1_000_000, "window": "1m"}), "0..100000"),
        ] {
            let error = query_from_json(&body).unwrap_err();
            assert!(error.contains(expected), "{body}: {error}");
        }
    }
}
