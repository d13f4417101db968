//! The parser on generated lines: every form with any address, and any garbage.

use lookout_auth::{AuthParser, LoginResult, Mode, ParserConfig};
use proptest::prelude::*;

fn parser(mode: Mode) -> AuthParser {
    AuthParser::new(ParserConfig::new(mode, 2024))
}

fn ipv6() -> impl Strategy<Value = String> {
    proptest::collection::vec(1u16..0xffff, 8).prop_map(|g| {
        g.iter()
            .map(|x| format!("{x:x}"))
            .collect::<Vec<_>>()
            .join(":")
    })
}

fn ipv4() -> impl Strategy<Value = String> {
    (1u8..255, 0u8..255, 0u8..255, 1u8..255).prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}"))
}

const FAILURES: &[&str] = &[
    "Failed password for {u} from {ip} port 22 ssh2",
    "Failed password for invalid user {u} from {ip} port 22 ssh2",
    "Invalid user {u} from {ip} port 40000",
    "error: maximum authentication attempts exceeded for {u} from {ip} port 22 ssh2 [preauth]",
    "User {u} from {ip} not allowed because not listed in AllowUsers",
    "error: PAM: Authentication failure for {u} from {ip}",
];

proptest! {
    #[test]
    fn every_failure_form_gives_its_address(
        form in 0..FAILURES.len(),
        ip in prop_oneof![ipv4(), ipv6()],
        user in "[a-z][a-z0-9_]{0,12}",
        pid in 1u32..100_000,
    ) {
        let message = FAILURES[form].replace("{u}", &user).replace("{ip}", &ip);
        let line = format!("Mar  7 18:53:20 host sshd[{pid}]: {message}");
        for mode in [Mode::Normal, Mode::Ddos, Mode::Extra, Mode::Aggressive] {
            let login = parser(mode).parse_line(&line).expect(&line);
            prop_assert_eq!(login.result, LoginResult::Failure);
            prop_assert_eq!(&login.ip, &ip);
            prop_assert_eq!(login.user.as_deref(), Some(user.as_str()));
        }
        let journal = serde_json::json!({
            "MESSAGE": message, "SYSLOG_IDENTIFIER": "sshd-session", "_PID": pid.to_string(),
            "__REALTIME_TIMESTAMP": "1700000000000000",
        });
        let login = parser(Mode::Normal).parse_line(&journal.to_string()).expect("journal");
        prop_assert_eq!(&login.ip, &ip);
        prop_assert_eq!(login.time_ms, Some(1_700_000_000_000));
    }

    #[test]
    fn garbage_never_panics(lines in proptest::collection::vec(".{0,300}", 1..50)) {
        let mut p = parser(Mode::Aggressive);
        for line in &lines {
            let _ = p.parse_line(line);
            let _ = p.parse_line(&format!("Jan  1 00:00:00 h sshd[1]: {line}"));
            let _ = p.parse_line(&format!("{{\"MESSAGE\":{line:?}"));
        }
        prop_assert_eq!(p.stats().lines, 3 * lines.len() as u64);
    }
}

#[test]
fn a_megabyte_line_of_adversarial_text_is_read_in_bounded_time() {
    let mut p = parser(Mode::Aggressive);
    let huge = format!(
        "Jan  1 00:00:00 h sshd[1]: Failed password for {} port 22",
        " from 1.2.3.4:".repeat(70_000)
    );
    let started = std::time::Instant::now();
    let _ = p.parse_line(&huge);
    assert_eq!(p.stats().truncated, 1);
    // Generous: the point is that the work is bounded by the line cap, not quadratic
    // in a megabyte.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn bare_messages_as_sshd_e_writes_them() {
    let mut p = parser(Mode::Normal);
    let failed = p
        .parse_line("Failed password for alice from 127.0.0.1 port 42892 ssh2")
        .expect("a bare failure");
    assert_eq!(
        (failed.result, failed.ip.as_str()),
        (LoginResult::Failure, "127.0.0.1")
    );
    assert!(p
        .parse_line("Connection closed by authenticating user alice 127.0.0.1 port 42892 [preauth]")
        .is_none());
    let ok = p
        .parse_line("Accepted password for alice from 127.0.0.1 port 55756 ssh2")
        .expect("a bare success");
    assert_eq!(
        (ok.result, ok.user.as_deref()),
        (LoginResult::Success, Some("alice"))
    );
}
