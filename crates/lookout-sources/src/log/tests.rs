use std::io::Write;
use std::time::Duration;

use lookout_config::{Config, SourceConfig, Warmup};
use lookout_logpattern::Miner;
use lookout_model::Event;

use super::patterns::{PatternTracker, TrackerConfig};
use super::*;

/// A seeded generator (xorshift64*), so every replay is the same.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Poisson-like count around `mean` (sum of Bernoulli draws).
    fn count(&mut self, mean: f64) -> u64 {
        let trials = (mean * 4.0).ceil() as u64;
        (0..trials).filter(|_| self.below(1000) < 250).count() as u64
    }
}

const TEMPLATES: &[(&str, f64)] = &[
    ("GET /api/items/{} completed in {} ms", 12.0),
    ("user {} logged in from 10.0.{}.7", 3.0),
    ("cache refresh took {} ms for shard {}", 1.0),
    ("worker {} heartbeat ok seq={}", 6.0),
    ("payment {} authorised amount={}", 0.6),
    ("scheduled job {} finished with status=0 after {} s", 0.2),
];

fn tracker(warmup: Warmup) -> PatternTracker {
    PatternTracker::new(
        Miner::new(lookout_logpattern::Config::default()).unwrap(),
        TrackerConfig {
            warmup,
            series_patterns: 20,
            spike_ratio: 5.0,
            spike_min_lines: 20,
            examples: 3,
            max_patterns: 1000,
        },
        [("log".to_string(), "app".to_string())].into(),
    )
}

fn line(rng: &mut Rng, template: &str) -> String {
    let mut out = String::new();
    for (i, part) in template.split("{}").enumerate() {
        if i > 0 {
            out.push_str(&rng.below(100_000).to_string());
        }
        out.push_str(part);
    }
    out
}

/// Replays `minutes` of steady traffic in 5 s intervals from `start_ms`, the rates
/// following a daily curve; `extra` adds lines to an interval. Returns the events.
fn replay(
    tracker: &mut PatternTracker,
    rng: &mut Rng,
    start_ms: i64,
    intervals: u64,
    mut extra: impl FnMut(u64, &mut Vec<String>),
) -> Vec<(u64, Event)> {
    let mut events = Vec::new();
    for interval in 0..intervals {
        let end = start_ms + (interval as i64 + 1) * 5000;
        let hour = (end / 3_600_000) % 24;
        let daily = 1.0 + 0.6 * ((hour as f64 - 14.0) / 24.0 * std::f64::consts::TAU).cos();
        let mut lines = Vec::new();
        for (template, per_second) in TEMPLATES {
            for _ in 0..rng.count(per_second * 5.0 * daily) {
                lines.push(line(rng, template));
            }
        }
        extra(interval, &mut lines);
        for text in &lines {
            tracker.line(end - 2500, Some("app"), text);
        }
        let (samples, new) = tracker.close(end, 5000);
        assert!(samples
            .iter()
            .any(|s| s.key.name == "log_pattern_lines_per_second"));
        events.extend(new.into_iter().map(|event| (interval, event)));
    }
    events
}

#[test]
fn thirty_minutes_of_steady_traffic_raise_no_event_and_incidents_are_named_at_once() {
    let mut rng = Rng(0x5eed_1234);
    let mut tracker = tracker(Warmup::Duration(Duration::from_secs(120)));
    // 30 minutes at 5 s intervals, starting at 06:00 (the daily curve rising).
    let start = 1_700_000_000_000 / 86_400_000 * 86_400_000 + 6 * 3_600_000;
    let events = replay(&mut tracker, &mut rng, start, 360, |_, _| {});
    assert!(events.is_empty(), "false events: {events:#?}");
    // Incidents: a new error message from interval 10, a spike of the payment line from 30.
    let start = start + 360 * 5000;
    let events = replay(&mut tracker, &mut rng, start, 40, |interval, lines| {
        if interval >= 10 {
            lines.push(format!(
                "database connection lost to db{} errno=111",
                interval % 3
            ));
        }
        if interval >= 30 {
            for n in 0..200 {
                lines.push(format!("payment {n} authorised amount={}", n * 7));
            }
        }
    });
    let kinds: Vec<(u64, &str)> = events.iter().map(|(i, e)| (*i, e.kind.as_str())).collect();
    assert_eq!(
        kinds,
        [(10, "new_log_pattern"), (30, "log_pattern_spike")],
        "{events:#?}"
    );
    let new = &events[0].1;
    assert!(
        new.evidence.fields["template"].contains("database connection lost"),
        "{new:?}"
    );
    assert_eq!(
        new.evidence.examples,
        ["database connection lost to db1 errno=111"]
    );
    assert_eq!(new.entity["program"], "app");
    let spike = &events[1].1;
    assert!(spike.evidence.counts["lines"] >= 200, "{spike:?}");
    assert!(spike.evidence.counts["lines_before"] < 10, "{spike:?}");
    assert_eq!(spike.evidence.examples.len(), 3);
}

#[test]
fn warm_up_by_lines_and_bounded_pattern_series() {
    let mut tracker = tracker(Warmup::Lines(3));
    for n in 0..3 {
        tracker.line(0, None, &format!("boot step {n} of many ok"));
    }
    // After the warm-up: 30 different messages, each its own pattern.
    let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    for (i, a) in words.iter().enumerate() {
        for b in &words[..5] {
            tracker.line(1, None, &format!("{a} {b} {i} unusual message"));
        }
    }
    let (samples, events) = tracker.close(5000, 5000);
    assert!(events.iter().all(|e| e.kind == "new_log_pattern") && !events.is_empty());
    let pattern_series: Vec<_> = samples
        .iter()
        .filter(|s| s.key.name == "log_pattern_lines_per_second")
        .collect();
    assert!(pattern_series.len() <= 21, "{}", pattern_series.len());
    let total: f64 = pattern_series.iter().map(|s| s.value).sum();
    assert!((total - 33.0 / 5.0).abs() < 1e-9, "{total}");
    assert!(pattern_series.iter().all(|s| s.key.labels["log"] == "app"));
}

fn config(text: &str) -> LogSourceConfig {
    match Config::from_str_named(text, "t.toml")
        .unwrap()
        .sources
        .remove(0)
    {
        SourceConfig::Log(config) => config,
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_input_is_counted_by_reason_and_never_stalls_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(&path, "").unwrap();
    let config = config(&format!(
        "[[source]]\ntype = \"log\"\npath = \"{}\"\nread_from = \"beginning\"\n",
        path.display()
    ));
    let mut collector = LogCollector::new("log#bad", &config).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(b"first good line 1\n").unwrap();
    file.write_all(&vec![b'x'; 10 << 20]).unwrap();
    file.write_all(b"\nbad \xff\xfe utf8\n\x00\x01\x02\x03binary\x00\n")
        .unwrap();
    file.write_all(b"Dec  3 11:00:00 web app[12]: second good line 2\n")
        .unwrap();
    let mut errors = Vec::new();
    let (samples, _) = collector.poll(&mut errors);
    assert_eq!(collector.lines(), 2);
    assert_eq!(collector.bad_lines(), [1, 1, 1, 0]);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("1 too_long lines skipped")),
        "{errors:?}"
    );
    let bad: Vec<_> = samples
        .iter()
        .filter(|s| s.key.name == "log_bad_lines_per_second" && s.value > 0.0)
        .map(|s| s.key.labels["reason"].as_str())
        .collect();
    assert_eq!(bad, ["invalid_utf8", "too_long", "binary"]);
    let counted = |outcome| {
        lookout_protocol::exposition::counters::get(LINES_METRIC, "log#bad", ("outcome", outcome))
    };
    assert_eq!((counted("mined"), counted("binary")), (Some(2), Some(1)));
    // The tail goes on.
    file.write_all(b"third good line 3\n").unwrap();
    collector.poll(&mut errors);
    assert_eq!(collector.lines(), 3);
    let programs: Vec<_> = samples
        .iter()
        .filter_map(|s| s.key.labels.get("program"))
        .collect();
    assert_eq!(programs, ["app"]);
}

#[test]
fn syslog_over_udp_and_tcp_is_framed_and_mined() {
    let config = config(
        "[[source]]\ntype = \"log\"\nsyslog_udp = \"127.0.0.1:0\"\nsyslog_tcp = \"127.0.0.1:0\"\nsyslog_max_message_bytes = 100\n",
    );
    let mut collector = LogCollector::new("log#1", &config).unwrap();
    let (udp, tcp) = collector.syslog_addresses();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .send_to(b"<13>Dec  3 11:00:00 web app: udp message 1", udp.unwrap())
        .unwrap();
    socket.send_to(&[b'y'; 200], udp.unwrap()).unwrap();
    let mut stream = std::net::TcpStream::connect(tcp.unwrap()).unwrap();
    let framed = "<13>1 2026-12-03T11:00:00Z web db 7 - - octet counted 2";
    write!(stream, "{} {framed}", framed.len()).unwrap();
    stream
        .write_all(b"<13>Dec  3 11:00:00 web db: newline framed 3\n")
        .unwrap();
    drop(stream);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut errors = Vec::new();
    let mut samples = Vec::new();
    while collector.lines() < 3 && std::time::Instant::now() < deadline {
        samples.extend(collector.poll(&mut errors).0);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(collector.lines(), 3, "{errors:?}");
    assert_eq!(collector.bad_lines()[BadLine::TooLong as usize], 1);
    let mut programs: Vec<_> = samples
        .iter()
        .filter_map(|s| s.key.labels.get("program").cloned())
        .collect();
    programs.sort();
    programs.dedup();
    assert_eq!(programs, ["app", "db"]);
}

#[test]
fn journald_json_lines_are_split_and_bad_ones_counted() {
    let config = config(
        "[[source]]\ntype = \"log\"\njournal = true\njournalctl = \"/nonexistent/journalctl\"\n",
    );
    let mut collector = LogCollector::new("log#1", &config).unwrap();
    collector.framer.journal_line(
        0,
        br#"{"MESSAGE":"nginx reloaded in 3 ms","SYSLOG_IDENTIFIER":"nginx"}"#,
    );
    collector
        .framer
        .journal_line(0, br#"{"MESSAGE":[104,255,1],"SYSLOG_IDENTIFIER":"x"}"#);
    collector
        .framer
        .journal_line(0, br#"{"MESSAGE":[104,255,104],"SYSLOG_IDENTIFIER":"x"}"#);
    collector.framer.journal_line(0, b"{cut");
    assert_eq!(collector.lines(), 1);
    assert_eq!(collector.bad_lines(), [1, 0, 1, 1]);
    let mut errors = Vec::new();
    collector.poll(&mut errors);
    assert!(
        errors.iter().any(|e| e.contains("/nonexistent/journalctl")),
        "{errors:?}"
    );
}

#[test]
fn binary_detection() {
    assert!(is_binary(b"a\0b"));
    assert!(is_binary(b"\x01\x02\x03abc"));
    assert!(!is_binary(b"tab\tseparated\r"));
}

#[test]
fn the_journal_input_runs_journalctl_with_the_filters_and_mines_its_entries() {
    // No journald here: a journalctl stand-in prints its arguments in one entry, then a
    // second entry, as `journalctl -f -o json` would.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("journalctl");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"{\\\"__CURSOR\\\":\\\"c1\\\",\\\"MESSAGE\\\":\\\"args $*\\\",\\\"SYSLOG_IDENTIFIER\\\":\\\"nginx\\\"}\"\n\
         echo '{\"__CURSOR\":\"c2\",\"MESSAGE\":\"reloaded in 3 ms\",\"SYSLOG_IDENTIFIER\":\"nginx\"}'\nsleep 5\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status()
        .unwrap();
    let config = config(&format!(
        "[[source]]\ntype = \"log\"\njournal = true\njournalctl = \"{}\"\njournal_units = [\"nginx.service\"]\nexamples = 5\nwarmup = 0\n",
        script.display()
    ));
    let mut collector = LogCollector::new("log#1", &config).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut events = Vec::new();
    while collector.lines() < 2 && std::time::Instant::now() < deadline {
        events.extend(collector.poll(&mut Vec::new()).1);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(collector.lines(), 2);
    let examples: Vec<&String> = events.iter().flat_map(|e| &e.evidence.examples).collect();
    assert!(
        examples
            .iter()
            .any(|line| line.contains("--unit=nginx.service") && line.contains("--output=json")),
        "{examples:?}"
    );
    assert!(
        events.iter().all(|e| e.entity["program"] == "nginx"),
        "{events:?}"
    );
}

proptest::proptest! {
    /// Any bytes, as a file or syslog line or as a journald line, are mined or counted,
    /// never a panic.
    #[test]
    fn any_bytes_are_mined_or_counted(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        let config = config("[[source]]\ntype = \"log\"\npath = \"/nonexistent/x.log\"\n");
        let mut collector = LogCollector::new("log#1", &config).unwrap();
        collector.framer.text_line(0, &bytes);
        collector.framer.journal_line(0, &bytes);
        let counted = collector.lines() + collector.bad_lines().iter().sum::<u64>();
        proptest::prop_assert_eq!(counted, 2);
    }
}
