//! `[[alert.rule]] event = "<kind>"` and `[storage] event_retention`.

use std::time::Duration;

use lookout_config::Config;

fn parse(text: &str) -> Result<Config, String> {
    Config::from_str_named(text, "lookout.toml").map_err(|errors| errors.to_string())
}

#[test]
fn an_event_rule_needs_no_match_and_defaults_to_any_score() {
    let config = parse("[[alert.rule]]\nname = \"ssh\"\nevent = \"ssh_bruteforce\"\n").unwrap();
    let rule = &config.alert.rules[0];
    assert_eq!(rule.event.as_deref(), Some("ssh_bruteforce"));
    assert_eq!(rule.selector, "{__name__=\"ssh_bruteforce\"}");
    assert_eq!(rule.min_score, 0.0);

    let config = parse(
        "[[alert.rule]]\nevent = \"syn_flood\"\nmatch = '{host=\"db-1\"}'\nmin_score = 0.5\n",
    )
    .unwrap();
    let rule = &config.alert.rules[0];
    assert_eq!(rule.selector, "{host=\"db-1\"}");
    assert_eq!(rule.min_score, 0.5);

    let anomaly_rule = parse("[[alert.rule]]\nmatch = '{domain=\"cpu\"}'\n").unwrap();
    assert_eq!(anomaly_rule.alert.rules[0].event, None);
    assert_eq!(anomaly_rule.alert.rules[0].min_score, 0.9);
}

#[test]
fn bad_kinds_and_for_on_event_rules_are_named_with_their_line() {
    let error = parse("[[alert.rule]]\nevent = \"SSH-brute\"\n").unwrap_err();
    assert!(
        error.contains("lookout.toml:2") && error.contains("event") && error.contains("snake_case"),
        "{error}"
    );
    let error = parse("[[alert.rule]]\nevent = \"ssh_bruteforce\"\nfor = \"1m\"\n").unwrap_err();
    assert!(
        error.contains("lookout.toml:3") && error.contains("`for` applies to anomaly rules only"),
        "{error}"
    );
}

#[test]
fn event_retention_defaults_to_thirty_days_and_is_at_least_an_hour() {
    let config = parse("").unwrap();
    assert_eq!(
        config.storage.event_retention,
        Duration::from_secs(30 * 86_400)
    );
    let config = parse("[storage]\nevent_retention = \"7d\"\n").unwrap();
    assert_eq!(
        config.storage.event_retention,
        Duration::from_secs(7 * 86_400)
    );
    let error = parse("[storage]\nevent_retention = \"5m\"\n").unwrap_err();
    assert!(
        error.contains("event_retention") && error.contains("too short"),
        "{error}"
    );
}
