//! End to end with the real binary: `lookout logs patterns FILE` writes one CSV row per
//! input line, in order, with stable ids, quoted templates, and ids that depend only on
//! the lines before.

use std::process::Command;

fn patterns(input: &str) -> Vec<(u64, u64, String)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(&path, input).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_lookout"))
        .args(["logs", "patterns"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("lines_per_second="), "{stderr}");
    let mut reader = csv::Reader::from_reader(&output.stdout[..]);
    assert_eq!(
        reader.headers().unwrap(),
        vec!["line", "pattern_id", "template"]
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].parse().unwrap(),
                r[1].parse().unwrap(),
                r[2].to_string(),
            )
        })
        .collect()
}

const LOG: &str = "\
2026-12-03 07:00:01,123 INFO web-1 [pid 311] GET /users/17 took 12 ms, \"ok\"
2026-12-03 07:00:02,456 INFO web-1 [pid 311] GET /users/18 took 9 ms, \"ok\"
2026-12-03 07:00:02,789 ERROR web-1 [pid 311] database connection lost after 3 retries
2026-12-03 07:00:03,001 INFO web-1 [pid 312] GET /users/19 took 15 ms, \"ok\"
2026-12-03 07:00:04,002 ERROR web-1 [pid 312] database connection lost after 5 retries";

#[test]
fn logs_patterns_writes_one_row_per_line_with_stable_ids_and_quoted_templates() {
    let rows = patterns(LOG);
    assert_eq!(rows.len(), 5);
    let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(lines, [1, 2, 3, 4, 5]);
    let ids: Vec<u64> = rows.iter().map(|r| r.1).collect();
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[0], ids[3]);
    assert_eq!(ids[2], ids[4]);
    assert_ne!(ids[0], ids[2]);
    // Commas and quotes survive the CSV round trip.
    assert_eq!(
        rows[3].2,
        "<*> <*> INFO web-<*> [pid <*>] GET <*> took <*> ms, \"ok\""
    );
    assert_eq!(
        rows[4].2,
        "<*> <*> ERROR web-<*> [pid <*>] database connection lost after <*> retries"
    );
}

#[test]
fn logs_patterns_ids_depend_only_on_the_lines_before() {
    let full = patterns(LOG);
    let lines: Vec<&str> = LOG.lines().collect();
    for end in 1..lines.len() {
        let prefix = patterns(&lines[..end].join("\n"));
        let ids: Vec<u64> = prefix.iter().map(|r| r.1).collect();
        let expected: Vec<u64> = full[..end].iter().map(|r| r.1).collect();
        assert_eq!(ids, expected, "first {end} lines");
    }
}
