//! `lookout scan auth-log` against fail2ban as the oracle.
//!
//! On fail2ban's own annotated sshd test logs (shipped in Debian's `fail2ban` package),
//! in each of the filter's modes, every line `fail2ban-regex` finds is found by lookout
//! with the same address (and the same time where the line has one), and lookout finds
//! nothing on a line the annotations (`# failJSON: {"match": false}`) mark as not
//! matching. Lookout may find more only on lines annotated as matching: host names
//! (fail2ban drops names it cannot resolve) and RFC 5424 lines (which fail2ban reads
//! only with `logtype = rfc5424`).

mod e2e_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use e2e_support::{find_peer, lookout_binary};

const MODES: &[&str] = &["normal", "ddos", "extra", "aggressive"];

/// fail2ban's test logs directory, from its Python package (asked of the interpreter
/// `fail2ban-regex` runs with).
fn fail2ban_logs(regex: &Path) -> Option<PathBuf> {
    let script = std::fs::read_to_string(regex).ok()?;
    let python = script
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("#!"))
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|words| !words.is_empty())
        .unwrap_or_else(|| vec!["python3"]);
    let output = Command::new(python[0])
        .args(&python[1..])
        .args([
            "-c",
            "import fail2ban, os; print(os.path.join(os.path.dirname(fail2ban.__file__), 'tests', 'files', 'logs'))",
        ])
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    dir.join("sshd").is_file().then_some(dir)
}

/// One failure fail2ban reported: address and time (`MM-DDTHH:MM:SS` UTC).
#[derive(Debug)]
struct Oracle {
    ip: String,
    time: Option<String>,
}

fn fail2ban_rows(regex: &Path, log: &Path, mode: &str) -> Vec<Oracle> {
    let output = Command::new(regex)
        .env("TZ", "UTC")
        .arg("-o")
        .arg("row")
        .arg(log)
        .arg(format!("sshd[mode={mode}]"))
        .output()
        .expect("running fail2ban-regex");
    assert!(output.status.success(), "fail2ban-regex failed: {output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("['")?;
            let (ip, rest) = rest.split_once("',\t")?;
            let (time, _) = rest.split_once(",\t")?;
            let time = time.parse::<f64>().ok().map(|epoch| {
                chrono::DateTime::from_timestamp(epoch as i64, 0)
                    .expect("time")
                    .format("%m-%dT%H:%M:%S")
                    .to_string()
            });
            Some(Oracle {
                ip: ip.to_string(),
                time,
            })
        })
        .collect()
}

/// Lookout's failures (and successes fail2ban counts as failures): line, address, time.
fn lookout_rows(log: &Path, mode: &str) -> Vec<(u64, String, Option<String>)> {
    let output = Command::new(lookout_binary())
        .args([
            "scan", "auth-log", "--year", "2005", "--quiet", "--mode", mode,
        ])
        .arg(log)
        .output()
        .expect("running lookout scan");
    assert!(output.status.success(), "lookout scan failed: {output:?}");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON line"))
        .filter(|row| row["result"] == "failure" || row["counts_as_failure"] == true)
        .map(|row| {
            let time = row["time"].as_str().map(|t| t[5..19].to_string());
            (
                row["line"].as_u64().unwrap(),
                row["ip"].as_str().unwrap().to_string(),
                time,
            )
        })
        .collect()
}

/// Line number → whether its `# failJSON` annotation says it matches.
fn annotations(log: &Path) -> BTreeMap<u64, bool> {
    let text = std::fs::read_to_string(log).expect("reading the log");
    let lines: Vec<&str> = text.lines().collect();
    let mut out = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(json) = line.strip_prefix("# failJSON:") {
            let value: serde_json::Value = serde_json::from_str(json.trim()).expect("failJSON");
            out.insert(i as u64 + 2, value["match"] == true);
        }
    }
    out
}

#[test]
fn scan_auth_log_finds_every_line_fail2ban_finds_in_every_mode() {
    let Some(regex) = find_peer("fail2ban-regex", "fail2ban") else {
        return;
    };
    let logs =
        fail2ban_logs(&regex).expect("fail2ban is installed but its test logs are not found");
    let mut checked = 0;
    for file in ["sshd", "sshd-journal"] {
        let log = logs.join(file);
        let marks = annotations(&log);
        for mode in MODES {
            let oracle = fail2ban_rows(&regex, &log, mode);
            let ours = lookout_rows(&log, mode);
            assert!(!oracle.is_empty(), "{file} {mode}: fail2ban found nothing");
            // Both go through the file in order: each of fail2ban's failures is the next
            // of ours with its address (and time); the ones skipped are our extras.
            let mut next = 0;
            let mut extras = Vec::new();
            for expected in &oracle {
                let found = ours[next..].iter().position(|(_, ip, time)| {
                    *ip == expected.ip
                        && (time.is_none() || expected.time.is_none() || *time == expected.time)
                });
                let Some(offset) = found else {
                    panic!("{file} {mode}: fail2ban found {expected:?}, lookout did not (after line {:?})", ours.get(next.saturating_sub(1)).map(|r| r.0));
                };
                extras.extend(ours[next..next + offset].iter().cloned());
                next += offset + 1;
                checked += 1;
            }
            extras.extend(ours[next..].iter().cloned());
            for (line, ip, _) in &extras {
                assert_eq!(
                    marks.get(line),
                    Some(&true),
                    "{file} {mode}: lookout found {ip} on line {line}, which fail2ban neither finds nor marks as matching"
                );
            }
            eprintln!(
                "{file} {mode}: fail2ban {} failures, lookout {} ({} more, all on lines marked as matching)",
                oracle.len(),
                ours.len(),
                extras.len()
            );
        }
    }
    assert!(checked > 400, "only {checked} failures compared");
}

#[test]
fn scan_auth_log_reports_bad_input_clearly() {
    let output = Command::new(lookout_binary())
        .args(["scan", "auth-log", "/nonexistent/auth.log"])
        .output()
        .expect("running lookout scan");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/auth.log"), "{stderr}");
    let output = Command::new(lookout_binary())
        .args(["scan", "auth-log", "--mode", "paranoid", "-"])
        .output()
        .expect("running lookout scan");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown mode \"paranoid\""));
}
