//! Every kind of mistake is reported with its exact line, and all of them at once.

use lookout_config::*;

fn errors_of(text: &str) -> Vec<ConfigError> {
    match Config::from_str_named(text, "lookout.toml") {
        Ok(config) => panic!("expected errors, got {config:?}"),
        Err(errors) => errors.into_iter().collect(),
    }
}

/// The only error of `text`, checked for kind and line; returns its display.
fn single_error(text: &str, kind: ErrorKind, line: usize) -> String {
    let errors = errors_of(text);
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    assert_eq!(errors[0].kind, kind, "{}", errors[0]);
    assert_eq!(errors[0].line, Some(line), "{}", errors[0]);
    errors[0].to_string()
}

#[test]
fn bad_duration_names_file_line_source_and_key() {
    let text = "\
[server]
listen = \"127.0.0.1:8080\"

[[source]]
type = \"host\"

[[source]]
type = \"prometheus_scrape\"
targets = [\"127.0.0.1:9100\"]
interval = \"5x\"
";
    let message = single_error(text, ErrorKind::InvalidValue, 10);
    assert_eq!(
        message,
        r#"lookout.toml:10: [[source]] #2 key "interval": "5x" is not a duration (e.g. "1s", "15s", "1m")"#
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let message = single_error(
        "[server]\nlisten = \"127.0.0.1:8080\nx = 1\n",
        ErrorKind::Syntax,
        2,
    );
    assert!(
        message.starts_with("lookout.toml:2: invalid TOML"),
        "{message}"
    );
}

#[test]
fn unknown_keys_list_the_known_ones() {
    let message = single_error(
        "[server]\nlisten = \"127.0.0.1:8080\"\nlisen = \"x\"\n",
        ErrorKind::UnknownKey,
        3,
    );
    assert!(
        message.starts_with(r#"lookout.toml:3: [server] key "lisen": unknown key (known: "#),
        "{message}"
    );
    assert!(message.contains("listen"), "{message}");
}

#[test]
fn unknown_sections_are_errors() {
    let message = single_error("\n[sever]\nlisten = \"x\"\n", ErrorKind::UnknownKey, 2);
    assert!(message.contains(r#"key "sever": unknown section or key (known: server, storage, source, detection, usage, object_store, cluster, alert, auth)"#), "{message}");
}

#[test]
fn keys_of_another_source_type_are_unknown() {
    let text = "[[source]]\ntype = \"host\"\nregion = \"us-east-1\"\n";
    let message = single_error(text, ErrorKind::UnknownKey, 3);
    assert!(
        message.contains(r#"[[source]] #1 key "region": unknown key"#),
        "{message}"
    );
}

#[test]
fn unknown_source_type_lists_the_known_ones() {
    let message = single_error(
        "[[source]]\n\ntype = \"snmp\"\n",
        ErrorKind::InvalidValue,
        3,
    );
    let expected = format!(
        r#"lookout.toml:3: [[source]] #1 key "type": unknown source type "snmp" (known: {})"#,
        lookout_config::SOURCE_TYPES.join(", ")
    );
    assert_eq!(message, expected);
    assert!(
        message.contains("(known: host, cloudwatch, prometheus_scrape, file"),
        "{message}"
    );
}

#[test]
fn missing_source_type_points_at_the_table() {
    let message = single_error(
        "[server]\n[[source]]\ninterval = \"1s\"\n",
        ErrorKind::MissingKey,
        2,
    );
    assert!(
        message.contains(r#"[[source]] #1: missing key "type""#),
        "{message}"
    );
}

#[test]
fn wrong_types_are_reported_at_the_value() {
    let message = single_error("[server]\nmax_series = \"many\"\n", ErrorKind::WrongType, 2);
    assert!(
        message.contains(r#"[server] key "max_series": expected an integer, found string "many""#),
        "{message}"
    );
    let message = single_error(
        "[[source]]\ntype = \"host\"\nper_cpu = 1\n",
        ErrorKind::WrongType,
        3,
    );
    assert!(
        message.contains(r#"key "per_cpu": expected a boolean"#),
        "{message}"
    );
    let message = single_error("server = 5\n", ErrorKind::WrongType, 1);
    assert!(
        message.contains("expected a table ([server]), found integer"),
        "{message}"
    );
    let message = single_error("[source]\ntype = \"host\"\n", ErrorKind::WrongType, 1);
    assert!(
        message.contains("expected an array of tables (write [[source]])"),
        "{message}"
    );
}

#[test]
fn invalid_values_are_reported_at_the_value() {
    single_error(
        "[server]\n\nlisten = \"localhost\"\n",
        ErrorKind::InvalidValue,
        3,
    );
    single_error(
        "[server]\nmax_body_bytes = \"huge\"\n",
        ErrorKind::InvalidValue,
        2,
    );
    single_error("[server]\ningest_queue = 0\n", ErrorKind::InvalidValue, 2);
    single_error(
        "[server]\nquery_max_samples = 0\n",
        ErrorKind::InvalidValue,
        2,
    );
    single_error(
        "[server]\nquery_timeout = \"soon\"\n",
        ErrorKind::InvalidValue,
        2,
    );
    single_error(
        "[storage]\nraw_retention = \"0s\"\n",
        ErrorKind::InvalidValue,
        2,
    );
    single_error(
        "[detection]\nprofile = \"turbo\"\n",
        ErrorKind::InvalidValue,
        2,
    );
    single_error(
        "[detection]\nhysteresis_enter = 1.5\n",
        ErrorKind::InvalidValue,
        2,
    );
    single_error(
        "[detection]\nhysteresis_enter = 0.8\nhysteresis_exit = 0.85\n",
        ErrorKind::InvalidValue,
        3,
    );
    single_error(
        "[[source]]\ntype = \"cloudwatch\"\nperiod = \"45s\"\n",
        ErrorKind::InvalidValue,
        3,
    );
    single_error(
        "[[source]]\ntype = \"cloudwatch\"\ninstance_ids = [\"web-1\"]\n",
        ErrorKind::InvalidValue,
        3,
    );
    single_error(
        "[[source]]\ntype = \"cloudwatch\"\nendpoint = \"localhost:5000\"\n",
        ErrorKind::InvalidValue,
        3,
    );
    single_error(
        "[[source]]\ntype = \"prometheus_scrape\"\ntargets = [\"http://a:1\"]\n",
        ErrorKind::InvalidValue,
        3,
    );
    single_error(
        "[[source]]\ntype = \"prometheus_scrape\"\ntargets = [\"a:1\"]\ninterval = \"5s\"\ntimeout = \"6s\"\n",
        ErrorKind::InvalidValue,
        5,
    );
    single_error(
        "[[source]]\ntype = \"host\"\nlabels = { \"bad-name\" = \"x\" }\n",
        ErrorKind::InvalidValue,
        3,
    );
    single_error(
        "[[alert.rule]]\nmatch = \"{}\"\nseverity = \"doom\"\n",
        ErrorKind::InvalidValue,
        3,
    );
    single_error(
        "[[alert.rule]]\nmatch = \"  \"\n",
        ErrorKind::InvalidValue,
        2,
    );
}

#[test]
fn missing_required_keys_point_at_the_table() {
    single_error(
        "\n[[source]]\ntype = \"prometheus_scrape\"\n",
        ErrorKind::MissingKey,
        2,
    );
    single_error("[[alert.rule]]\nname = \"cpu\"\n", ErrorKind::MissingKey, 1);
    single_error(
        "[[alert.notifier]]\nname = \"am\"\ntype = \"alertmanager\"\n",
        ErrorKind::MissingKey,
        1,
    );
    let errors = errors_of("[[alert.notifier]]\ntype = \"email\"\nname = \"m\"\n");
    let missing: Vec<_> = errors.iter().filter_map(|e| e.key.as_deref()).collect();
    assert_eq!(missing, ["smtp_host", "from", "to"], "{errors:#?}");
}

#[test]
fn notifier_keys_of_another_type_are_refused() {
    let text = "[[alert.notifier]]\nname = \"am\"\ntype = \"alertmanager\"\nurl = \"http://127.0.0.1:9093\"\nsmtp_port = 25\n";
    let message = single_error(text, ErrorKind::UnknownKey, 5);
    assert!(
        message.contains(r#"key "smtp_port": does not apply to a notifier of type "alertmanager""#),
        "{message}"
    );
}

#[test]
fn unknown_notifier_type_lists_the_known_ones() {
    let message = single_error(
        "[[alert.notifier]]\nname = \"x\"\ntype = \"pager\"\n",
        ErrorKind::InvalidValue,
        3,
    );
    assert!(
        message.contains("(known: alertmanager, webhook, email, sns, slack, sns_sms, twilio)"),
        "{message}"
    );
}

#[test]
fn rules_must_name_existing_notifiers() {
    let text = "\
[[alert.notifier]]
name = \"am\"
type = \"alertmanager\"
url = \"http://127.0.0.1:9093\"

[[alert.rule]]
match = '{domain=\"cpu\"}'
notify = [\"am\", \"pager\"]
";
    let message = single_error(text, ErrorKind::UnknownReference, 8);
    assert_eq!(
        message,
        r#"lookout.toml:8: [[alert.rule]] #1 key "notify": no notifier is named "pager" (known: am)"#
    );
}

#[test]
fn a_broken_notifier_is_reported_once_not_by_each_rule() {
    let text = "[[alert.notifier]]\nname = \"am\"\ntype = \"alertmanager\"\n[[alert.rule]]\nmatch = \"{}\"\nnotify = [\"am\"]\n";
    single_error(text, ErrorKind::MissingKey, 1);
}

#[test]
fn duplicate_names_are_errors() {
    let text = "\
[[alert.notifier]]
name = \"am\"
type = \"slack\"
url = \"https://hooks.slack.com/a\"
[[alert.notifier]]
name = \"am\"
type = \"slack\"
url = \"https://hooks.slack.com/b\"
[[alert.rule]]
name = \"r\"
match = \"{}\"
[[alert.rule]]
name = \"r\"
match = \"{}\"
";
    let errors = errors_of(text);
    let found: Vec<_> = errors.iter().map(|e| (e.kind, e.line)).collect();
    assert_eq!(
        found,
        [
            (ErrorKind::Duplicate, Some(6)),
            (ErrorKind::Duplicate, Some(13))
        ]
    );
}

#[test]
fn every_error_is_reported_together_in_line_order() {
    let text = "\
[server]
listen = \"nowhere\"
colour = \"blue\"
max_series = -3

[storage]
raw_retention = \"forever\"

[[source]]
type = \"host\"
interval = \"5x\"
mounts_exclude = \"/boot\"

[[source]]
type = \"cloudwatch\"
statistic = \"Median\"

[detection]
profile = \"turbo\"

[[alert.rule]]
match = \"{}\"
min_score = 2
notify = [\"nobody\"]
";
    let errors = errors_of(text);
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.line.unwrap(), e.key.clone().unwrap_or_default(), e.kind))
        .collect();
    let expected = [
        (2, "listen", ErrorKind::InvalidValue),
        (3, "colour", ErrorKind::UnknownKey),
        (4, "max_series", ErrorKind::InvalidValue),
        (7, "raw_retention", ErrorKind::InvalidValue),
        (11, "interval", ErrorKind::InvalidValue),
        (12, "mounts_exclude", ErrorKind::WrongType),
        (16, "statistic", ErrorKind::InvalidValue),
        (19, "profile", ErrorKind::InvalidValue),
        (23, "min_score", ErrorKind::InvalidValue),
        (24, "notify", ErrorKind::UnknownReference),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(l, k, kind)| (*l, k.to_string(), *kind))
        .collect();
    assert_eq!(found, expected, "{errors:#?}");
    let shown = Config::from_str_named(text, "lookout.toml")
        .unwrap_err()
        .to_string();
    assert_eq!(shown.lines().count(), expected.len(), "{shown}");
    assert!(
        shown.lines().all(|line| line.starts_with("lookout.toml:")),
        "{shown}"
    );
}

#[test]
fn several_syntax_errors_are_reported() {
    let errors = errors_of("a = \nb = 1\nc = [1,\n");
    assert!(!errors.is_empty());
    assert!(
        errors
            .iter()
            .all(|e| e.kind == ErrorKind::Syntax && e.line.is_some()),
        "{errors:#?}"
    );
}

#[test]
fn selector_hook_plugs_in_a_real_parser() {
    let reject_regex = |selector: &str| -> Result<(), String> {
        if selector.contains("=~") {
            Err("regex matchers are not supported here".into())
        } else {
            Ok(())
        }
    };
    let profiles = ["default", "seasonal"];
    let hooks = Hooks {
        selector: Some(&reject_regex),
        profiles: &profiles,
        params: None,
    };
    let text = "[detection]\nprofile = \"seasonal\"\n[[detection.override]]\nmatch = '{host=~\"web.*\"}'\nprofile = \"fast\"\n";
    let errors: Vec<_> = Config::from_str_validate_with(text, "lookout.toml", &hooks)
        .unwrap_err()
        .into_iter()
        .collect();
    let found: Vec<_> = errors.iter().map(|e| (e.line, e.key.as_deref())).collect();
    assert_eq!(
        found,
        [(Some(4), Some("match")), (Some(5), Some("profile"))],
        "{errors:#?}"
    );
    assert!(errors[0]
        .message
        .contains("regex matchers are not supported here"));
    assert!(errors[1].message.contains("(known: default, seasonal)"));
}

#[test]
fn inhibition_rules_need_a_source_and_label_names() {
    let message = single_error(
        "[[alert.inhibit]]\nequal = [\"host\"]\n",
        ErrorKind::MissingKey,
        1,
    );
    assert!(
        message.contains("[[alert.inhibit]] #1 key \"source\""),
        "{message}"
    );
    let message = single_error(
        "[[alert.inhibit]]\nsource = 'host_down'\nequal = []\n",
        ErrorKind::InvalidValue,
        3,
    );
    assert!(
        message.contains("needs at least one label name"),
        "{message}"
    );
    let message = single_error(
        "[[alert.inhibit]]\nsource = 'host_down'\nequal = [\"not a label\"]\n",
        ErrorKind::InvalidValue,
        3,
    );
    assert!(
        message.contains("\"not a label\" is not a label name"),
        "{message}"
    );
    let message = single_error(
        "[[alert.inhibit]]\nsource = 'host_down'\nwhen = 1\n",
        ErrorKind::UnknownKey,
        3,
    );
    assert!(message.contains("when"), "{message}");
    let config =
        Config::from_str_named("[[alert.inhibit]]\nsource = 'host_down'\n", "t.toml").unwrap();
    assert_eq!(
        config.alert.inhibit,
        [InhibitConfig {
            source: "host_down".into(),
            target: None,
            equal: vec!["instance".into()],
        }]
    );
}

/// Regression: a table defined twice was reported as "duplicate key" without the key.
#[test]
fn a_duplicate_table_names_its_key() {
    let text = "[detection]\nprofile = \"default\"\n[server]\n[detection]\n";
    let errors = errors_of(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].line, Some(4));
    assert!(
        errors[0].message.contains("`detection`"),
        "{}",
        errors[0].message
    );
}

/// Every mistake in `[auth]`, its tokens and its tokens file is reported at once, each
/// with its file, line and key.
#[test]
fn auth_token_mistakes_are_all_reported_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    let digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    std::fs::write(&file, format!("ci write {digest}\nbad boss {digest}\n")).unwrap();
    let text = format!(
        "[auth]\nenabled = true\ntokens_file = {:?}\n\
         [[auth.token]]\nname = \"ci\"\nrole = \"admin\"\nsha256 = \"{}\"\n\
         [[auth.token]]\nname = \"ops\"\nrole = \"root\"\nsha256 = \"xyz\"\n\
         [[auth.token]]\nrole = \"read\"\n",
        file.display(),
        digest.replace('9', "1"),
    );
    let errors = errors_of(&text);
    let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let find = |needle: &str| {
        shown
            .iter()
            .find(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("no error with {needle:?} in {shown:#?}"))
    };
    assert!(find("unknown role \"root\"")
        .starts_with("lookout.toml:10: [[auth.token]] #2 key \"role\""));
    assert!(find("\"xyz\" is not a SHA-256").starts_with("lookout.toml:11:"));
    assert!(find("missing key").contains("[[auth.token]] #3 key \"name\""));
    let duplicate = find("already used");
    assert!(duplicate.contains(":1: token key \"name\""), "{duplicate}");
    assert!(duplicate.contains("lookout.toml:5"), "{duplicate}");
    assert!(find("unknown role \"boss\"").contains("tokens:2: tokens file key \"role\""));
    assert!(find("#3 key \"sha256\"").contains("missing key"));
    assert_eq!(errors.len(), 6, "{shown:#?}");
}

#[test]
fn enabled_auth_without_tokens_is_an_error() {
    let errors = errors_of("[auth]\nenabled = true\n");
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].to_string().contains("no token is defined"),
        "{}",
        errors[0]
    );
}
