//! End to end with the real binary: `lookout serve` with a `[[source]] type = "log"` fed
//! by a file appended to and by syslog over UDP (RFC 3164) and TCP (RFC 5424) from the
//! real `logger` (util-linux). After a warm-up of steady lines, a message never seen
//! before from each input is listed by `GET /api/v1/events` as `new_log_pattern` (with
//! its program from the syslog header), the per-pattern series are in the query API,
//! and bad lines are counted by reason in the series and in `/metrics`.

mod e2e_support;

use std::io::Write;
use std::process::Command;
use std::time::Duration;

use e2e_support::{eventually, find_peer, free_port, Lookout};

fn new_patterns(lookout: &Lookout) -> Vec<serde_json::Value> {
    let listed = lookout.get_json("/api/v1/events?from=now-1h&kind=new_log_pattern");
    listed["data"]["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn with_example<'e>(events: &'e [serde_json::Value], text: &str) -> Option<&'e serde_json::Value> {
    events.iter().find(|event| {
        event["evidence"]["examples"]
            .as_array()
            .is_some_and(|lines| {
                lines
                    .iter()
                    .any(|l| l.as_str().unwrap_or("").contains(text))
            })
    })
}

#[test]
fn file_and_syslog_lines_become_pattern_series_and_new_pattern_events() {
    let Some(logger) = find_peer("logger", "bsdutils") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(&path, "").unwrap();
    let (udp, tcp) = (free_port(), free_port());
    let config = format!(
        "[[source]]\ntype = \"log\"\npath = \"{}\"\nsyslog_udp = \"127.0.0.1:{udp}\"\n\
         syslog_tcp = \"127.0.0.1:{tcp}\"\ninterval = \"1s\"\nwarmup = 20\n",
        path.display()
    );
    let lookout = Lookout::start(&dir.path().join("data"), &config);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    // Warm-up: steady lines of two messages.
    for n in 0..40 {
        writeln!(file, "worker {n} heartbeat ok seq={}", n * 3).unwrap();
        writeln!(file, "GET /api/items/{n} completed in {} ms", n % 9).unwrap();
    }
    file.flush().unwrap();
    eventually(
        "the warm-up lines are read",
        Duration::from_secs(20),
        || {
            let series = lookout.get_json("/api/v1/series?match[]=log_pattern_lines_per_second");
            let data = series["data"].as_array().cloned().unwrap_or_default();
            (data.len() >= 3).then_some(())
        },
    );
    assert!(
        new_patterns(&lookout).is_empty(),
        "no news during the warm-up"
    );

    // (a) the file.
    writeln!(file, "database connection lost to db1 errno=111").unwrap();
    file.write_all(b"bad \xff\xfe utf8\n").unwrap();
    file.flush().unwrap();
    let event = eventually(
        "new_log_pattern from the file",
        Duration::from_secs(20),
        || with_example(&new_patterns(&lookout), "database connection lost").cloned(),
    );
    assert_eq!(event["entity"]["log"], "log#1", "{event}");
    assert!(
        event["evidence"]["fields"]["template"]
            .as_str()
            .unwrap()
            .contains("database connection lost"),
        "{event}"
    );

    // (b) syslog: UDP RFC 3164 and TCP RFC 5424, from logger.
    let send = |args: &[&str], port: u16, tag: &str, message: &str| {
        let status = Command::new(&logger)
            .args(args)
            .args([
                "-n",
                "127.0.0.1",
                "-P",
                &port.to_string(),
                "-t",
                tag,
                message,
            ])
            .status()
            .unwrap();
        assert!(status.success(), "logger {args:?}");
    };
    let udp_event = eventually("new_log_pattern over UDP", Duration::from_secs(20), || {
        send(
            &["--rfc3164", "-d"],
            udp,
            "quotad",
            "disk quota exceeded for volume home",
        );
        with_example(&new_patterns(&lookout), "disk quota exceeded").cloned()
    });
    assert_eq!(udp_event["entity"]["program"], "quotad", "{udp_event}");
    let tcp_event = eventually("new_log_pattern over TCP", Duration::from_secs(20), || {
        send(
            &["--rfc5424", "-T"],
            tcp,
            "replicad",
            "replica lag exceeded on standby",
        );
        with_example(&new_patterns(&lookout), "replica lag exceeded").cloned()
    });
    assert_eq!(tcp_event["entity"]["program"], "replicad", "{tcp_event}");
    let example = tcp_event["evidence"]["examples"][0].as_str().unwrap();
    assert!(
        !example.contains("<13>"),
        "the header is stripped: {example}"
    );

    // The per-pattern series, the program label and the bad-line counter.
    let series = eventually("the syslog pattern series", Duration::from_secs(20), || {
        let series = lookout.get_json("/api/v1/series?match[]=log_pattern_lines_per_second");
        let data = series["data"].as_array().cloned().unwrap_or_default();
        data.iter()
            .any(|labels| labels["program"] == "replicad")
            .then_some(data)
    });
    assert!(
        series.iter().all(|labels| labels["log"] == "log#1"),
        "{series:?}"
    );
    assert!(
        series.iter().any(|labels| labels["template"]
            .as_str()
            .is_some_and(|t| t.contains("heartbeat ok"))),
        "{series:?}"
    );
    let bad = lookout.get_json("/api/v1/series?match[]=log_bad_lines_per_second");
    let reasons: Vec<&str> = bad["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|labels| labels["reason"].as_str())
        .collect();
    assert!(reasons.contains(&"invalid_utf8"), "{bad}");
    let metrics = lookout.metrics();
    assert!(
        metrics.contains(
            "lookout_log_source_lines_total{source=\"log#1\",outcome=\"invalid_utf8\"} 1"
        ),
        "{metrics}"
    );
}
