//! Environment overrides and secret redaction.

use std::collections::HashMap;
use std::path::PathBuf;

use lookout_config::*;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn environment_overrides_listen_and_data_dir() {
    let mut config =
        Config::from_str_named("[server]\nlisten = \"127.0.0.1:9000\"\n", "t.toml").unwrap();
    config
        .apply_env_overrides(env(&[
            (ENV_LISTEN, "0.0.0.0:8081"),
            (ENV_DATA_DIR, "/var/lib/lookout"),
        ]))
        .unwrap();
    assert_eq!(config.server.listen.to_string(), "0.0.0.0:8081");
    assert_eq!(config.server.data_dir, PathBuf::from("/var/lib/lookout"));
}

#[test]
fn unset_or_empty_variables_change_nothing() {
    let mut config = Config::default();
    config
        .apply_env_overrides(env(&[(ENV_LISTEN, "  ")]))
        .unwrap();
    assert_eq!(config, Config::default());
}

#[test]
fn invalid_environment_values_are_errors_and_change_nothing() {
    let mut config = Config::default();
    let errors = config
        .apply_env_overrides(env(&[(ENV_LISTEN, "everywhere"), (ENV_DATA_DIR, "/tmp/x")]))
        .unwrap_err();
    assert_eq!(
        errors.to_string(),
        r#"<environment>: key "LOOKOUT_LISTEN": "everywhere" is not a listen address (e.g. "127.0.0.1:8080", "[::1]:8080")"#
    );
    assert_eq!(config, Config::default());
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let text = r#"
[[alert.notifier]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:9000/"
secret = "s3cr3t-hmac"
headers = { Authorization = "Bearer t0k3n" }

[[alert.notifier]]
name = "mail"
type = "email"
smtp_host = "127.0.0.1"
from = "a@example.com"
to = ["b@example.com"]
password = "p4ssw0rd"

[[alert.notifier]]
name = "chat"
type = "slack"
url = "https://hooks.slack.com/services/T/B/sl4ck"
"#;
    let config = Config::from_str_named(text, "t.toml").unwrap();
    let debug = format!("{config:?} {config:#?}");
    for secret in ["s3cr3t-hmac", "t0k3n", "p4ssw0rd", "sl4ck"] {
        assert!(!debug.contains(secret), "{secret} leaked into {debug}");
    }
    assert!(debug.contains("***"));
    let NotifierKind::Webhook(WebhookNotifier {
        secret, headers, ..
    }) = &config.alert.notifiers[0].kind
    else {
        panic!("not a webhook");
    };
    assert_eq!(secret.as_ref().map(Secret::expose), Some("s3cr3t-hmac"));
    assert_eq!(headers["Authorization"].expose(), "Bearer t0k3n");
}
