//! `type = "sns_sms"` and `type = "twilio"`: defaults, every mistake at once with its
//! line, and the auth token kept out of every error and debug output.

use std::time::Duration;

use lookout_config::*;

fn config(text: &str) -> Result<Config, Vec<ConfigError>> {
    Config::from_str_named(text, "lookout.toml").map_err(|errors| errors.into_iter().collect())
}

#[test]
fn valid_sms_notifiers_get_their_defaults() {
    let config = config(
        r#"
[server]
external_url = "https://lookout.example.com/"

[[alert.notifier]]
name = "pager"
type = "sns_sms"
to = ["+14155550100", "+447700900123"]

[[alert.notifier]]
name = "oncall"
type = "twilio"
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token = "t0k3n-value"
messaging_service_sid = "MG0123456789abcdef0123456789abcdef"
to = ["+14155550100"]
rate_limit = 2
rate_limit_window = "10m"
"#,
    )
    .unwrap_or_else(|errors| panic!("{errors:#?}"));
    assert_eq!(config.server.dashboard_url(), "https://lookout.example.com");
    let NotifierKind::SnsSms(sns) = &config.alert.notifiers[0].kind else {
        panic!("{:?}", config.alert.notifiers[0]);
    };
    assert_eq!(sns.sms_type, "Transactional");
    assert_eq!(sns.region, "us-east-1");
    assert_eq!(sns.sender_id, None);
    assert_eq!(sns.rate_limit.messages, 5);
    assert_eq!(sns.rate_limit.window, Duration::from_secs(3600));
    let NotifierKind::Twilio(twilio) = &config.alert.notifiers[1].kind else {
        panic!("{:?}", config.alert.notifiers[1]);
    };
    assert_eq!(twilio.base_url, "https://api.twilio.com");
    assert_eq!(
        twilio.sender,
        TwilioSender::MessagingService("MG0123456789abcdef0123456789abcdef".into())
    );
    assert_eq!(twilio.rate_limit.messages, 2);
    assert_eq!(twilio.auth_token.expose(), "t0k3n-value");
    assert!(!format!("{config:?}").contains("t0k3n-value"));
}

#[test]
fn every_mistake_is_reported_at_once_with_its_line() {
    let errors = config(
        r#"[[alert.notifier]]
name = "pager"
type = "sns_sms"
to = ["4155550100", "+14155550100", "+14155550100"]
sender_id = "far-too-long-id"
sms_type = "Urgent"
rate_limit = 0
rate_limit_window = "0s"

[[alert.notifier]]
name = "oncall"
type = "twilio"
account_sid = "AC12"
auth_token = "t0k3n-value"
from = "+14155550199"
messaging_service_sid = "MGxyz"
to = []
base_url = "ftp://twilio"
topic_arn = "arn:aws:sns:us-east-1:1:t"

[[alert.notifier]]
name = "nosender"
type = "twilio"
"#,
    )
    .expect_err("invalid");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let all = text.join("\n");
    for (line, key, words) in [
        (4, "to", "not E.164"),
        (5, "sender_id", "not an SNS sender id"),
        (6, "sms_type", "not an SMS type"),
        (7, "rate_limit", "out of range"),
        (8, "rate_limit_window", "too short"),
        (13, "account_sid", "not a Twilio account SID"),
        (
            16,
            "messaging_service_sid",
            "not a Twilio messaging service SID",
        ),
        (17, "to", "the list is empty"),
        (18, "base_url", ""),
        (
            19,
            "topic_arn",
            "does not apply to a notifier of type \"twilio\"",
        ),
        (21, "account_sid", "missing required key"),
        (21, "auth_token", "missing required key"),
        (21, "from", "or `messaging_service_sid`"),
        (21, "to", "missing required key"),
    ] {
        assert!(
            errors.iter().any(|e| e.line == Some(line)
                && e.key.as_deref() == Some(key)
                && e.message.contains(words)),
            "no error at line {line} for {key} ({words}) in\n{all}"
        );
    }
    assert!(
        errors.iter().any(|e| e.message.contains("not both")),
        "from and messaging_service_sid together: {all}"
    );
    assert!(!all.contains("t0k3n-value"), "{all}");
}
