//! The `[usage]` table: defaults, values, and errors naming their line and key.

use std::time::Duration;

use lookout_config::*;

#[test]
fn usage_defaults_match_the_detection_rules() {
    let usage = Config::default().usage;
    assert_eq!(usage.idle_max_percent, 1.0);
    assert_eq!(usage.underused_max_percent, 30.0);
    assert_eq!((usage.idle_samples, usage.underused_samples), (3, 3));
    assert_eq!(usage.rightsize_after, Duration::from_secs(14 * 86_400));
    assert!(usage.cpu_metrics.contains(&"CPUUtilization".to_string()));
    assert_eq!(usage.machine_labels, ["instance_id", "host", "instance"]);
}

#[test]
fn usage_values_are_read() {
    let text = "[usage]\nrightsize_after = \"2h\"\nunderused_max_percent = 20\nidle_samples = 5\ncpu_metrics = [\"cpu\"]\nmachine_labels = [\"node\"]\n";
    let usage = Config::from_str_named(text, "u.toml").unwrap().usage;
    assert_eq!(usage.rightsize_after, Duration::from_secs(7_200));
    assert_eq!(usage.underused_max_percent, 20.0);
    assert_eq!(usage.idle_samples, 5);
    assert_eq!(usage.cpu_metrics, ["cpu"]);
    assert_eq!(usage.machine_labels, ["node"]);
}

#[test]
fn usage_mistakes_name_line_and_key() {
    let text = "[usage]\nidle_max_percent = 40.0\nunderused_max_percent = 30.0\nrightsize_after = \"soon\"\nmachine_labels = [\"bad-label\"]\nidle_samples = 0\nbogus = 1\n";
    let message = Config::from_str_named(text, "u.toml")
        .unwrap_err()
        .to_string();
    for (line, key) in [
        (3, "underused_max_percent"),
        (4, "rightsize_after"),
        (5, "machine_labels"),
        (6, "idle_samples"),
        (7, "bogus"),
    ] {
        let located = format!("u.toml:{line}:");
        assert!(
            message
                .lines()
                .any(|l| l.starts_with(&located) && l.contains(key) && l.contains("[usage]")),
            "{located} {key} in:\n{message}"
        );
    }
}
