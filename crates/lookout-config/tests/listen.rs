//! `[server]`'s connection limits, `[server.tls]` and `[auth] session_ttl`: defaults,
//! values, and errors that name the line and the key.

use std::path::PathBuf;
use std::time::Duration;

use lookout_config::*;

fn errors_of(text: &str) -> Vec<String> {
    match Config::from_str_named(text, "lookout.toml") {
        Ok(config) => panic!("expected errors, got {config:?}"),
        Err(errors) => errors.into_iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn connection_limits_default_to_the_documented_values() {
    let config = Config::from_str_named("", "lookout.toml").unwrap();
    assert_eq!(
        config.server.connections,
        ConnectionLimits {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(60),
        }
    );
    assert_eq!(config.server.tls, None);
}

#[test]
fn connection_limits_and_tls_are_read() {
    let text = "\
[server]
max_connections = 8
header_read_timeout = \"2s\"
idle_timeout = \"30s\"
body_read_timeout = \"5s\"

[server.tls]
cert_file = \"/etc/lookout/server.crt\"
key_file = \"/etc/lookout/server.key\"
client_ca_file = \"/etc/lookout/clients.crt\"
reload_interval = \"1s\"
";
    let config = Config::from_str_named(text, "lookout.toml").unwrap();
    assert_eq!(config.server.connections.max_connections, 8);
    assert_eq!(
        config.server.connections.header_read_timeout,
        Duration::from_secs(2)
    );
    assert_eq!(
        config.server.connections.idle_timeout,
        Duration::from_secs(30)
    );
    assert_eq!(
        config.server.connections.body_read_timeout,
        Duration::from_secs(5)
    );
    assert_eq!(
        config.server.tls,
        Some(TlsConfig {
            cert_file: PathBuf::from("/etc/lookout/server.crt"),
            key_file: PathBuf::from("/etc/lookout/server.key"),
            client_ca_file: Some(PathBuf::from("/etc/lookout/clients.crt")),
            reload_interval: Duration::from_secs(1),
        })
    );
}

#[test]
fn bad_limits_and_a_tls_table_without_files_are_all_reported() {
    let text = "\
[server]
max_connections = 0
header_read_timeout = \"1ms\"
body_read_timeout = \"soon\"

[server.tls]
reload_interval = \"5s\"
";
    let errors = errors_of(text);
    let expect = [
        "lookout.toml:2: [server] key \"max_connections\"",
        "lookout.toml:3: [server] key \"header_read_timeout\"",
        "lookout.toml:4: [server] key \"body_read_timeout\"",
        "[server.tls] key \"cert_file\"",
        "[server.tls] key \"key_file\"",
    ];
    for wanted in expect {
        assert!(
            errors.iter().any(|error| error.contains(wanted)),
            "no error with {wanted:?} in {errors:#?}"
        );
    }
}

#[test]
fn an_unknown_tls_key_is_named_with_its_line() {
    let errors =
        errors_of("[server.tls]\ncert_file = \"a.crt\"\nkey_file = \"a.key\"\ncert = \"b\"\n");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with("lookout.toml:1:") && errors[0].contains("unknown field `cert`"),
        "{}",
        errors[0]
    );
}

/// `[auth] session_ttl`: 12 hours by default, and out-of-range values named with their
/// line and key, both at once.
#[test]
fn session_ttl_defaults_to_twelve_hours_and_is_bounded() {
    let config = Config::from_str_named("", "lookout.toml").unwrap();
    assert_eq!(config.auth.session_ttl, Duration::from_secs(12 * 3600));
    let digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let token = format!("[[auth.token]]\nname = \"ops\"\nrole = \"read\"\nsha256 = \"{digest}\"\n");
    let text = format!("[auth]\nenabled = true\nsession_ttl = \"30m\"\n{token}");
    let config = Config::from_str_named(&text, "lookout.toml").unwrap();
    assert_eq!(config.auth.session_ttl, Duration::from_secs(1800));
    let short = errors_of("[auth]\nsession_ttl = \"10s\"\n");
    assert_eq!(short.len(), 1, "{short:?}");
    assert!(
        short[0].starts_with("lookout.toml:2: [auth] key \"session_ttl\"")
            && short[0].contains("too short"),
        "{short:?}"
    );
    let long = errors_of("[auth]\nsession_ttl = \"31d\"\n");
    assert!(
        long.len() == 1 && long[0].contains("lookout.toml:2") && long[0].contains("too long"),
        "{long:?}"
    );
}
