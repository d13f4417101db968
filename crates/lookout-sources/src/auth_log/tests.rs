use std::io::Write;

use super::*;

fn config(path: &std::path::Path, read_from: &str) -> AuthLogSourceConfig {
    let text = format!(
        "[[source]]\ntype = \"auth_log\"\npath = {:?}\nread_from = \"{read_from}\"\nlabels = {{ host = \"h1\" }}\n",
        path.display().to_string()
    );
    match lookout_config::Config::from_str_named(&text, "t.toml")
        .unwrap()
        .sources
        .remove(0)
    {
        lookout_config::SourceConfig::AuthLog(config) => config,
        other => panic!("{other:?}"),
    }
}

fn append(path: &std::path::Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn failure(i: u32, ip: &str) -> String {
    format!(
        "Dec  2 10:00:{i:02} srv sshd[{}]: Failed password for root from {ip} port 4{i:04} ssh2\n",
        100 + i
    )
}

#[test]
fn failures_become_series_and_a_brute_force_event_then_success_after_failures() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.log");
    append(&path, &failure(0, "203.0.113.1"));
    let mut collector = AuthLogCollector::new(&config(&path, "end")).unwrap();
    // The line present at the start is not read.
    let first = collector.collect();
    assert!(first.events.is_empty());
    let value = |c: &Collected, name: &str| {
        c.samples
            .iter()
            .find(|s| s.key.name == name)
            .map(|s| s.value)
    };
    assert_eq!(value(&first, lookout_auth::series::SOURCES), Some(0.0));
    for i in 1..=5 {
        append(&path, &failure(i, "203.0.113.7"));
    }
    let second = collector.collect();
    let kinds: Vec<&str> = second.events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"ssh_bruteforce"), "{kinds:?}");
    let event = second
        .events
        .iter()
        .find(|e| e.kind == "ssh_bruteforce")
        .unwrap();
    assert_eq!(event.entity["source_ip"], "203.0.113.7");
    assert_eq!(event.entity["host"], "h1");
    assert_eq!(event.evidence.counts["failures"], 5);
    assert!(event.evidence.examples[0].contains("Failed password for root"));
    assert_eq!(value(&second, lookout_auth::series::SOURCES), Some(1.0));
    let top = second
        .samples
        .iter()
        .find(|s| s.key.name == lookout_auth::series::BY_SOURCE)
        .unwrap();
    assert_eq!(
        (top.key.labels["source_ip"].as_str(), top.value),
        ("203.0.113.7", 5.0)
    );
    append(
        &path,
        "Dec  2 10:00:09 srv sshd[200]: Accepted password for root from 203.0.113.7 port 5 ssh2\n",
    );
    let third = collector.collect();
    let kinds: Vec<&str> = third.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["ssh_success_after_failures"]);
    assert_eq!(third.events[0].entity["user"], "root");
}

#[test]
fn rotation_loses_no_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.log");
    append(&path, "");
    let mut collector = AuthLogCollector::new(&config(&path, "end")).unwrap();
    collector.collect();
    for i in 0..3 {
        append(&path, &failure(i, "198.51.100.1"));
    }
    std::fs::rename(&path, dir.path().join("auth.log.1")).unwrap();
    for i in 3..5 {
        append(&path, &failure(i, "198.51.100.1"));
    }
    let collected = collector.collect();
    assert_eq!(collector.parse_stats().failures, 5);
    assert!(collected.events.iter().any(|e| e.kind == "ssh_bruteforce"));
}

#[test]
fn a_backlog_is_scored_at_its_own_times() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.log");
    for i in 0..5 {
        append(&path, &failure(i * 10, "192.0.2.50"));
    }
    let mut collector = AuthLogCollector::new(&config(&path, "beginning")).unwrap();
    let collected = collector.collect();
    let event = collected
        .events
        .iter()
        .find(|e| e.kind == "ssh_bruteforce")
        .expect("event");
    assert_eq!(
        event.evidence.last_ms.unwrap() - event.evidence.first_ms.unwrap(),
        40_000
    );
}

#[test]
fn journal_entries_become_events() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("journalctl");
    // A journalctl that prints five sshd-session failures as `-o json` does, then waits.
    let mut body = String::from("#!/bin/sh\n");
    for i in 0..5 {
        body.push_str(&format!(
            "echo '{{\"__CURSOR\":\"s=1;i={i}\",\"__REALTIME_TIMESTAMP\":\"1700000000000000\",\"_HOSTNAME\":\"h\",\"SYSLOG_IDENTIFIER\":\"sshd-session\",\"_PID\":\"{}\",\"MESSAGE\":\"Failed password for invalid user u{i} from 2001:db8::5 port 22 ssh2\"}}'\n",
            100 + i
        ));
    }
    body.push_str("printf '%s\\n' '{\"MESSAGE\":\"truncated'\n");
    body.push_str("sleep 30\n");
    std::fs::write(&script, body).unwrap();
    std::process::Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status()
        .unwrap();
    let text = format!(
        "[[source]]\ntype = \"auth_log\"\njournal = true\njournalctl = {:?}\n",
        script.display().to_string()
    );
    let lookout_config::SourceConfig::AuthLog(config) =
        lookout_config::Config::from_str_named(&text, "t.toml")
            .unwrap()
            .sources
            .remove(0)
    else {
        panic!("not auth_log")
    };
    let mut collector = AuthLogCollector::new(&config).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut events = Vec::new();
    while (events.is_empty() || collector.parse_stats().bad_json == 0)
        && std::time::Instant::now() < deadline
    {
        events.extend(collector.collect().events);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"ssh_bruteforce"), "{kinds:?}");
    assert!(kinds.contains(&"ssh_user_enumeration"), "{kinds:?}");
    assert_eq!(events[0].entity["source_ip"], "2001:db8::5");
    assert_eq!(collector.parse_stats().failures, 5);
    assert_eq!(collector.parse_stats().bad_json, 1);
}
