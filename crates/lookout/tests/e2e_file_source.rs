//! End to end with the real binary: `lookout serve` follows a file of JSON lines; samples
//! appended to it (after a bad line, and across a rotation) become queryable series.

mod e2e_support;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use e2e_support::{eventually, now_ms, Lookout};

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn sample(name: &str, value: f64) -> String {
    format!(
        "{{\"type\":\"sample\",\"key\":{{\"name\":\"{name}\",\"labels\":{{\"queue\":\"mail\"}}}},\"timestamp_ms\":{},\"value\":{value}}}\n",
        now_ms()
    )
}

fn series_of(lookout: &Lookout, name: &str) -> Option<serde_json::Value> {
    let answer = lookout.get_json(&format!("/api/v1/series?match[]={name}"));
    answer["data"].as_array().and_then(|s| s.first().cloned())
}

/// Appends probe samples until one is stored: the source has read the file's end once
/// (ready can come before its first poll, and lines written before that poll are taken
/// as already there with `read_from = "end"`).
fn wait_until_tailing(lookout: &Lookout, path: &Path) {
    let mut n = 0.0;
    eventually(
        "the source tailing the file",
        Duration::from_secs(30),
        || {
            n += 1.0;
            append(path, &sample("tail_probe", n));
            std::thread::sleep(Duration::from_millis(300));
            series_of(lookout, "tail_probe")
        },
    );
}

#[test]
fn serve_follows_a_file_of_json_lines_across_bad_lines_and_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let path = logs.join("app.jsonl");
    append(&path, &sample("before_start", 1.0));
    let config = format!(
        "[[source]]\ntype = \"file\"\npath = \"{}/*.jsonl\"\ninterval = \"200ms\"\nlabels = {{ app = \"web\" }}\n",
        logs.display()
    );
    let lookout = Lookout::start(&dir.path().join("data"), &config);
    wait_until_tailing(&lookout, &path);

    append(&path, "this is not a record\n");
    append(&path, &sample("queue_depth", 3.0));
    let labels = eventually("the appended sample", Duration::from_secs(30), || {
        series_of(&lookout, "queue_depth")
    });
    assert_eq!(labels["queue"], "mail", "{labels}");
    assert_eq!(labels["app"], "web", "{labels}");
    // Read from the end: the line written before the start is not read.
    assert!(series_of(&lookout, "before_start").is_none());

    std::fs::rename(&path, logs.join("app.jsonl.1")).unwrap();
    append(&path, &sample("after_rotation", 4.0));
    eventually("a sample of the new file", Duration::from_secs(30), || {
        series_of(&lookout, "after_rotation")
    });
}

#[test]
fn an_event_line_of_a_followed_file_is_stored_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("findings.jsonl");
    append(&path, "");
    let config = format!(
        "[[source]]\ntype = \"file\"\npath = \"{}\"\ninterval = \"200ms\"\n",
        path.display()
    );
    let lookout = Lookout::start(&dir.path().join("data"), &config);
    wait_until_tailing(&lookout, &path);
    append(
        &path,
        &format!(
            "{{\"type\":\"event\",\"timestamp_ms\":{},\"kind\":\"ssh_bruteforce\",\"domain\":\"login\",\"severity\":\"warning\",\"entity\":{{\"host\":\"web-1\",\"source_ip\":\"203.0.113.9\"}},\"summary\":\"37 failed logins\",\"evidence\":{{\"counts\":{{\"failures\":37}}}}}}\n",
            now_ms()
        ),
    );
    let listed = eventually(
        "the event in the events API",
        Duration::from_secs(30),
        || {
            let answer = lookout.get_json("/api/v1/events?from=now-1h&kind=ssh_bruteforce");
            answer["data"]["events"]
                .as_array()
                .and_then(|events| events.first().cloned())
        },
    );
    assert_eq!(listed["entity"]["source_ip"], "203.0.113.9", "{listed}");
    assert_eq!(listed["evidence"]["counts"]["failures"], 37, "{listed}");
    let metrics = lookout.metrics();
    assert!(
        metrics.contains("lookout_ingest_requests_total{protocol=\"file\"}"),
        "events counted under the source's type"
    );
}
