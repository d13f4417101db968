//! Request counts equal the lines of each kind exactly, checked against `awk` counting
//! the same generated file independently.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Command;

use lookout_accesslog::generate::{generate, Incident, IncidentKind, TrafficSpec};
use lookout_accesslog::{AggregatorConfig, BadLine, LogDeriver, LogFormat, Method, ParserConfig};

/// `awk` over `path`: count of each value of `program`'s key, as `key count` lines.
fn awk_counts(path: &std::path::Path, program: &str) -> BTreeMap<String, u64> {
    let output = Command::new("awk")
        .arg(program)
        .arg(path)
        .output()
        .expect("awk runs (it is part of every POSIX system)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (key, count) = line.rsplit_once(' ').unwrap();
            (key.to_string(), count.parse().unwrap())
        })
        .collect()
}

#[test]
fn counts_by_status_class_and_method_match_awk() {
    let spec = TrafficSpec {
        start_ms: 1_796_220_000_000,
        duration_ms: 120_000,
        rate: 200.0,
        daily_amplitude: 0.3,
        seed: 42,
        timed: false,
        incidents: vec![Incident {
            start_ms: 1_796_220_030_000,
            end_ms: 1_796_220_050_000,
            kind: IncidentKind::Errors { share: 0.4 },
        }],
    };
    let dir = std::env::temp_dir().join(format!("lookout-accesslog-counts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("access.log");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut written = 0u64;
    generate(&spec, |_, line| {
        writeln!(file, "{line}").unwrap();
        written += 1;
        // Bad lines between the good ones: awk counts none of them (fewer than 9 fields).
        if written.is_multiple_of(997) {
            file.write_all(b"garbage \xff\xfe not utf8\n").unwrap();
            file.write_all(b"no match at all\n").unwrap();
        }
    });
    drop(file);

    let mut deriver = LogDeriver::new(
        &ParserConfig::new(LogFormat::Combined),
        AggregatorConfig::default(),
    )
    .unwrap();
    let mut summaries = Vec::new();
    let text = std::fs::read(&path).unwrap();
    for line in text.split(|b| *b == b'\n').filter(|line| !line.is_empty()) {
        deriver.line(line, 0, &mut summaries);
    }
    deriver.finish(&mut summaries);

    let mut classes: BTreeMap<String, u64> = BTreeMap::new();
    let mut methods: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0;
    for summary in &summaries {
        total += summary.total.requests;
        for digit in 1..=5 {
            let count = summary.total.class(digit);
            if count > 0 {
                *classes.entry(format!("{digit}xx")).or_default() += count;
            }
        }
        for method in Method::ALL {
            let count = summary.total.method(method);
            if count > 0 {
                *methods.entry(method.as_str().to_string()).or_default() += count;
            }
        }
        let by_vhost: u64 = summary
            .vhosts
            .iter()
            .map(|(_, counts)| counts.requests)
            .sum();
        let by_route: u64 = summary
            .routes
            .iter()
            .map(|route| route.counts.requests)
            .sum();
        assert_eq!(by_vhost, summary.total.requests);
        assert_eq!(by_route, summary.total.requests);
    }
    let awk_classes = awk_counts(
        &path,
        r#"NF >= 9 && $9 ~ /^[1-5][0-9][0-9]$/ { c[substr($9, 1, 1) "xx"]++ } END { for (k in c) print k, c[k] }"#,
    );
    let awk_methods = awk_counts(
        &path,
        r#"NF >= 9 && $9 ~ /^[1-5][0-9][0-9]$/ { c[substr($6, 2)]++ } END { for (k in c) print k, c[k] }"#,
    );
    assert_eq!(classes, awk_classes);
    assert_eq!(methods, awk_methods);
    assert_eq!(total, written);
    let bad: BTreeMap<BadLine, u64> = deriver.bad_lines().into_iter().collect();
    let expected_bad = written / 997;
    assert_eq!(bad[&BadLine::InvalidUtf8], expected_bad);
    assert_eq!(bad[&BadLine::NoMatch], expected_bad);
    let in_summaries: u64 = summaries.iter().map(|s| s.bad(BadLine::NoMatch)).sum();
    assert_eq!(in_summaries, expected_bad);
    // Intervals are contiguous: 120 s of 5 s intervals.
    assert_eq!(summaries.len(), 24);
    std::fs::remove_dir_all(&dir).unwrap();
}
