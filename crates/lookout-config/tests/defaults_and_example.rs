//! The embedded default, the example file and the reference documentation agree.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use lookout_config::*;

const EXAMPLE: &str = include_str!("../lookout.example.toml");
const REFERENCE: &str = include_str!("../CONFIG.md");

#[test]
fn default_runs_the_host_source_every_second() {
    let config = Config::default();
    assert_eq!(
        config.server.listen,
        "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(config.server.data_dir, PathBuf::from("./lookout-data"));
    assert_eq!(config.server.max_body_bytes, 16 * 1024 * 1024);
    assert_eq!(config.server.max_series, 1_000_000);
    assert_eq!(config.sources.len(), 1);
    let SourceConfig::Host(host) = &config.sources[0] else {
        panic!("the default source is not host: {:?}", config.sources[0]);
    };
    assert_eq!(host.interval, Duration::from_secs(1));
    assert!(host.per_cpu);
    assert!(!host.interfaces.allows("lo"));
    assert!(host.interfaces.allows("eth0"));
    assert!(!host.devices.allows("loop3"));
    assert_eq!(config.detection.profile, "default");
    assert!(config.alert.notifiers.is_empty() && config.alert.rules.is_empty());
}

#[test]
fn an_empty_file_has_every_default_and_no_source() {
    let config = Config::from_str_named("", "empty.toml").expect("an empty file is valid");
    assert!(config.sources.is_empty());
    assert_eq!(config.server, Config::default().server);
    assert_eq!(config.storage.raw_retention, defaults::RAW_RETENTION);
    assert_eq!(
        config.storage.rollup_1h_retention,
        Duration::from_secs(365 * 86_400)
    );
    // Left out, the thresholds are the profile's own (the binary fills them in).
    assert_eq!(config.detection.hysteresis_enter, None);
    assert_eq!(config.detection.hysteresis_exit, None);
    assert_eq!(config.detection.min_deviation, None);
}

#[test]
fn source_defaults_fill_unspecified_keys() {
    let text = "[[source]]\ntype = \"cloudwatch\"\n[[source]]\ntype = \"prometheus_scrape\"\ntargets = [\"127.0.0.1:9100\"]\ninterval = \"5s\"\n";
    let config = Config::from_str_named(text, "t.toml").unwrap();
    let SourceConfig::CloudWatch(cloudwatch) = &config.sources[0] else {
        panic!("not cloudwatch")
    };
    assert_eq!(cloudwatch.region, "us-east-1");
    assert_eq!(cloudwatch.backfill, Duration::from_secs(3 * 86_400));
    assert_eq!(cloudwatch.period, Duration::from_secs(60));
    assert_eq!(cloudwatch.namespace, "AWS/EC2");
    assert!(cloudwatch.metrics.contains(&"CPUUtilization".to_string()));
    assert_eq!(cloudwatch.endpoint, None);
    let SourceConfig::PrometheusScrape(scrape) = &config.sources[1] else {
        panic!("not a scrape")
    };
    assert_eq!(scrape.metrics_path, "/metrics");
    assert_eq!(scrape.scheme, Scheme::Http);
    // The default timeout (10s) is capped by the shorter interval.
    assert_eq!(scrape.timeout, Duration::from_secs(5));
}

#[test]
fn the_example_file_parses_with_every_section() {
    let config = Config::from_str_named(EXAMPLE, "lookout.example.toml")
        .unwrap_or_else(|errors| panic!("{errors}"));
    let kinds: Vec<_> = config.sources.iter().map(SourceConfig::kind).collect();
    assert_eq!(kinds, ["host", "cloudwatch", "prometheus_scrape"]);
    assert_eq!(config.server.max_body_bytes, 16 << 20);
    assert_eq!(config.detection.overrides.len(), 1);
    assert_eq!(config.alert.inhibit.len(), 1);
    assert_eq!(config.alert.inhibit[0].equal, ["host"]);
    assert_eq!(
        config.detection.overrides[0].profile.as_deref(),
        Some("thorough")
    );
    assert_eq!(
        config.detection.overrides[0].params["seasonal"]["level_alpha"].as_float(),
        Some(0.2)
    );
    assert_eq!(
        config.detection.params["robust_z"]["window"].as_integer(),
        Some(240)
    );
    let types: Vec<_> = config
        .alert
        .notifiers
        .iter()
        .map(|n| n.kind.type_name())
        .collect();
    assert_eq!(
        types,
        [
            "alertmanager",
            "webhook",
            "email",
            "sns",
            "slack",
            "sns_sms",
            "twilio"
        ]
    );
    let rule = &config.alert.rules[0];
    assert_eq!(rule.selector, r#"{domain="cpu"}"#);
    assert_eq!(rule.notify, ["am", "chat"]);
    assert_eq!(rule.severity, Severity::Warning);
    assert_eq!(rule.repeat_interval, Duration::from_secs(4 * 3600));
    assert_eq!(rule.group_wait, Duration::from_millis(200));
    assert_eq!(rule.group_interval, Duration::from_secs(300));
    assert_eq!(rule.resolve_hold, Duration::from_secs(60));
}

#[test]
fn the_example_file_loads_from_disk() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/lookout.example.toml");
    assert!(Config::load(path).is_ok());
    let missing = Config::load("/nonexistent/lookout.toml").unwrap_err();
    assert_eq!(missing.errors()[0].kind, ErrorKind::Io);
    assert!(
        missing
            .to_string()
            .starts_with("/nonexistent/lookout.toml: cannot read"),
        "{missing}"
    );
}

/// Collects `key` from every `key = value` line of the example, comments and headers excluded.
fn example_keys() -> Vec<String> {
    let mut keys = Vec::new();
    for line in EXAMPLE.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with('[') {
            continue;
        }
        if let Some((key, _)) = line.split_once('=') {
            keys.push(key.trim().to_string());
        }
    }
    keys
}

#[test]
fn every_key_of_the_example_is_documented() {
    let keys = example_keys();
    assert!(
        keys.len() > 60,
        "only {} keys found in the example",
        keys.len()
    );
    for key in keys {
        assert!(
            REFERENCE.contains(&format!("| `{key}` |")),
            "CONFIG.md does not document key `{key}`"
        );
    }
}

#[test]
fn every_accepted_key_is_documented_and_shown_in_the_example() {
    for (section, keys) in known_keys() {
        for key in keys {
            if section.is_empty() || section == "[alert]" || key == "override" || key == "token" {
                // Section names appear as headers, e.g. `## [server]`, `[[alert.rule]]`.
                assert!(
                    REFERENCE.contains(key),
                    "CONFIG.md does not mention section {key}"
                );
                continue;
            }
            assert!(
                REFERENCE.contains(&format!("| `{key}` |")),
                "CONFIG.md does not document {section} key `{key}`"
            );
            // Shown as a setting or as a commented-out setting (`# hostname = ...`).
            let shown = EXAMPLE.lines().any(|line| {
                line.trim_start_matches(['#', ' '])
                    .starts_with(&format!("{key} ="))
            });
            assert!(
                shown,
                "lookout.example.toml does not show {section} key `{key}`"
            );
        }
    }
}
