//! `[server]` caps and budgets of #16: `max_matchers`, `max_series_visited`,
//! `max_query_samples_total`, `max_inflight_body_bytes`.

use lookout_config::*;

#[test]
fn request_limits_have_documented_defaults_and_are_read() {
    let limits = Config::default().server.limits;
    assert_eq!(limits.max_matchers, 100);
    assert_eq!(limits.max_series_visited, 10_000_000);
    assert_eq!(limits.max_query_samples_total, 100_000_000);
    assert_eq!(limits.max_inflight_body_bytes, 256 << 20);
    assert_eq!(limits.max_inflight_body_bytes_per_client, 64 << 20);

    let text = "[server]\nmax_matchers = 5\nmax_series_visited = 50\n\
                max_query_samples_total = 1000\nmax_inflight_body_bytes = \"32MiB\"\n";
    let limits = Config::from_str_named(text, "limits.toml")
        .unwrap()
        .server
        .limits;
    assert_eq!(limits.max_matchers, 5);
    assert_eq!(limits.max_series_visited, 50);
    assert_eq!(limits.max_query_samples_total, 1000);
    assert_eq!(limits.max_inflight_body_bytes, 32 << 20);
    assert_eq!(
        limits.max_inflight_body_bytes_per_client,
        16 << 20,
        "a quarter of the budget, raised to max_body_bytes"
    );
}

#[test]
fn a_client_share_outside_max_body_bytes_and_the_budget_is_refused() {
    for (share, reason) in [
        ("1MiB", "less than max_body_bytes"),
        ("1GiB", "more than max_inflight_body_bytes"),
    ] {
        let text = format!(
            "[server]\nmax_body_bytes = \"4MiB\"\nmax_inflight_body_bytes = \"64MiB\"\n\
             max_inflight_body_bytes_per_client = \"{share}\"\n"
        );
        let message = Config::from_str_named(&text, "limits.toml")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("max_inflight_body_bytes_per_client") && message.contains(reason),
            "{message}"
        );
    }
    let text = "[server]\nmax_inflight_body_bytes_per_client = \"20MiB\"\n";
    let limits = Config::from_str_named(text, "limits.toml")
        .unwrap()
        .server
        .limits;
    assert_eq!(limits.max_inflight_body_bytes_per_client, 20 << 20);
}

#[test]
fn bad_request_limits_are_all_reported_with_their_keys() {
    let text = "[server]\nmax_matchers = 0\nmax_series_visited = -1\n\
                max_query_samples_total = 0\nmax_inflight_body_bytes = \"1KiB\"\n";
    let errors = Config::from_str_named(text, "limits.toml").unwrap_err();
    let message = errors.to_string();
    for key in [
        "max_matchers",
        "max_series_visited",
        "max_query_samples_total",
        "max_inflight_body_bytes",
    ] {
        assert!(message.contains(key), "{key} not reported: {message}");
    }
    assert!(message.contains("64KiB"), "{message}");
}

#[test]
fn inflight_body_budget_below_max_body_bytes_is_refused() {
    let text = "[server]\nmax_body_bytes = \"4MiB\"\nmax_inflight_body_bytes = \"1MiB\"\n";
    let message = Config::from_str_named(text, "limits.toml")
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("max_inflight_body_bytes") && message.contains("less than max_body_bytes"),
        "{message}"
    );
}
