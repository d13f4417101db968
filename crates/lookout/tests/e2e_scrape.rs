//! End to end with the real binary and a real node_exporter: `lookout serve` scrapes it
//! (counters become rates, CPU utilization is derived, usage states follow), next to
//! three broken targets: one answering garbage, one that hangs, one refusing
//! connections. Each broken target is reported with its URL, `lookout_scrape_up` is 0
//! for it and 1 for node_exporter, and the server keeps working.
//!
//! Needs the Debian package `prometheus-node-exporter` (`tests/peers/install.sh`); a
//! missing peer fails the test under `CI=true`, else skips it.

mod e2e_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use e2e_support::{eventually, find_peer, free_port, ChildGuard, Lookout};

/// A loopback server answering every request with `answer`, or never answering when
/// `answer` is `None`; runs until the test process ends.
fn fake_target(answer: Option<&'static str>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            match answer {
                Some(body) => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
                None => held.push(stream),
            }
        }
    });
    port
}

#[test]
fn node_exporter_is_scraped_and_broken_targets_are_reported_without_harm() {
    let Some(node_exporter) = find_peer("prometheus-node-exporter", "prometheus-node-exporter")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let exporter_port = free_port();
    let _exporter = ChildGuard::spawn(
        "node_exporter",
        Command::new(&node_exporter).arg(format!("--web.listen-address=127.0.0.1:{exporter_port}")),
        &dir.path().join("node_exporter.log"),
    );
    let garbage = fake_target(Some("this is { not exposition\n<html>"));
    let hang = fake_target(None);
    let refused = free_port();
    let node = format!("127.0.0.1:{exporter_port}");
    let config = format!(
        "[[source]]\ntype = \"prometheus_scrape\"\ninterval = \"2s\"\ntimeout = \"1s\"\nlabels = {{ job = \"node\" }}\n\
         targets = [\"{node}\", \"127.0.0.1:{garbage}\", \"127.0.0.1:{hang}\", \"127.0.0.1:{refused}\"]\n"
    );
    let lookout = Lookout::start(&dir.path().join("data"), &config);

    // Counters become `:rate` series with the target's labels.
    let labels = eventually(
        "a node_exporter rate series",
        Duration::from_secs(60),
        || {
            let answer = lookout.get_json("/api/v1/series?match[]=node_cpu_seconds_total:rate");
            answer["data"].as_array().and_then(|s| s.first().cloned())
        },
    );
    assert_eq!(labels["instance"], node.as_str(), "{labels}");
    assert_eq!(labels["job"], "node", "{labels}");
    assert!(labels["mode"].is_string(), "{labels}");

    // CPU utilization is derived and the machine gets a usage state.
    let machine = eventually(
        "the scraped machine's usage state",
        Duration::from_secs(60),
        || {
            let machines = lookout.get_json("/api/v1/machines");
            machines["data"]
                .as_array()?
                .iter()
                .find(|m| m["machine"] == node.as_str())
                .cloned()
        },
    );
    let state = machine["state"].as_str().unwrap();
    assert!(
        ["idle", "underused", "normal", "surge", "sharp_drop"].contains(&state),
        "{machine}"
    );
    assert!(machine["series"]
        .as_str()
        .unwrap()
        .starts_with("node_cpu_utilization_percent"));

    // Health: up for node_exporter, down for the three broken targets.
    let up = |instance: &str| -> Option<f64> {
        let answer = lookout.get_json(&format!(
            "/api/v1/query?query=lookout_scrape_up{{instance=\"{instance}\"}}"
        ));
        answer["data"]["result"].as_array()?.first()?["value"][1]
            .as_str()?
            .parse()
            .ok()
    };
    assert_eq!(up(&node), Some(1.0));
    for port in [garbage, hang, refused] {
        let instance = format!("127.0.0.1:{port}");
        let value = eventually(
            &format!("lookout_scrape_up of {instance}"),
            Duration::from_secs(30),
            || up(&instance),
        );
        assert_eq!(value, 0.0, "{instance}");
    }

    // Each problem is reported once, naming the target and the reason.
    let log = eventually(
        "the three scrape errors in the log",
        Duration::from_secs(30),
        || {
            let log = lookout.guard.output();
            (log.contains("not a valid Prometheus text exposition")
                && log.contains("timed out")
                && log.contains("cannot connect"))
            .then_some(log)
        },
    );
    for (port, reason) in [
        (garbage, "not a valid Prometheus text exposition"),
        (hang, "timed out after 1s"),
        (refused, "cannot connect"),
    ] {
        let url = format!("http://127.0.0.1:{port}/metrics");
        assert!(
            log.lines()
                .any(|line| line.contains(&url) && line.contains(reason)),
            "{url}: {reason} in:\n{log}"
        );
    }

    // The rest of the server keeps working: node_exporter keeps being scraped.
    let before = lookout.get_json("/api/v1/query?query=lookout_scrape_samples")["data"]["result"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(before >= 1);
    let response = e2e_support::reqwest::blocking_client()
        .get(lookout.url("/healthz"))
        .send()
        .unwrap();
    assert!(response.status().is_success());
}
