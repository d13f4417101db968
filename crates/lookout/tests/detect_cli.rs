//! `lookout detect` end to end: output shape, causality, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lookout(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lookout"))
        .args(args)
        .output()
        .expect("running lookout")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lookout-detect-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A daily-ish signal with a spike at row 700 and a level shift at row 1100.
fn signal_csv(rows: usize) -> String {
    let mut text = String::from("timestamp,cpu,memory\n");
    let mut state = 12345u64;
    for row in 0..rows {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let noise = ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5;
        let mut cpu = 40.0 + 10.0 * (row as f64 / 48.0).sin() + 2.0 * noise;
        if row == 700 {
            cpu += 60.0;
        }
        let memory = if row >= 1100 { 80.0 } else { 50.0 } + noise;
        text.push_str(&format!(
            "{},{cpu:.4},{memory:.4}\n",
            1_600_000_000 + row * 300
        ));
    }
    text
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn single_column_output_has_the_documented_columns() {
    let dir = temp_dir("single");
    let text: String = signal_csv(300)
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n")
        .collect();
    let input = write(&dir, "in.csv", &text);
    let output = lookout(&["detect", input.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next().unwrap(),
        "timestamp,value,score,is_anomaly,expected_lower,expected_upper"
    );
    assert_eq!(lines.count(), 300);
}

#[test]
fn spike_and_level_shift_are_flagged_and_quiet_rows_are_not() {
    let dir = temp_dir("flags");
    let input = write(&dir, "in.csv", &signal_csv(1400));
    let out = dir.join("out.csv");
    let output = lookout(&[
        "detect",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    assert_eq!(header[1], "cpu_value");
    assert_eq!(header[6], "memory_value");
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    let cpu_flag = |row: usize| rows[row][3] == "1";
    let memory_flag = |row: usize| rows[row][8] == "1";
    assert!(cpu_flag(700), "the cpu spike at row 700 is an anomaly");
    assert!(
        (1100..1110).any(memory_flag),
        "the memory level shift is flagged within 10 rows"
    );
    let quiet_cpu_flags = (300..690).filter(|row| cpu_flag(*row)).count();
    assert!(
        quiet_cpu_flags <= 4,
        "{quiet_cpu_flags} anomalies flagged on quiet cpu rows"
    );
}

#[test]
fn row_k_depends_only_on_rows_up_to_k() {
    let dir = temp_dir("causal");
    let full_text = signal_csv(900);
    let full = write(&dir, "full.csv", &full_text);
    let full_output = lookout(&["detect", full.to_str().unwrap(), "--detector", "thorough"]);
    assert!(
        full_output.status.success(),
        "{}",
        String::from_utf8_lossy(&full_output.stderr)
    );
    let full_lines: Vec<String> = String::from_utf8(full_output.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    for prefix_rows in [1usize, 50, 333, 701, 899] {
        let prefix_text: String = full_text
            .lines()
            .take(prefix_rows + 1)
            .map(|l| format!("{l}\n"))
            .collect();
        let prefix = write(&dir, &format!("prefix-{prefix_rows}.csv"), &prefix_text);
        let output = lookout(&["detect", prefix.to_str().unwrap(), "--detector", "thorough"]);
        assert!(output.status.success());
        let lines: Vec<String> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(lines.len(), prefix_rows + 1);
        assert_eq!(
            lines[..],
            full_lines[..=prefix_rows],
            "prefix of {prefix_rows} rows differs"
        );
    }
}

#[test]
fn multivariate_output_has_one_score_and_contributions() {
    let dir = temp_dir("multi");
    let input = write(&dir, "in.csv", &signal_csv(400));
    let output = lookout(&["detect", input.to_str().unwrap(), "--multivariate"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        stdout.lines().next().unwrap(),
        "timestamp,cpu,memory,score,is_anomaly,cpu_contribution,memory_contribution"
    );
    assert_eq!(stdout.lines().count(), 401);
}

fn assert_one_line_error(output: &Output, expected: &[&str]) {
    assert!(!output.status.success(), "must exit non-zero");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "one-line error, got: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    for part in expected {
        assert!(
            stderr.contains(part),
            "error {stderr:?} should mention {part:?}"
        );
    }
}

#[test]
fn bad_input_gets_a_one_line_error_naming_file_line_and_reason() {
    let dir = temp_dir("bad");
    let non_numeric = write(
        &dir,
        "text.csv",
        "timestamp,value\n1600000000,1\n1600000060,abc\n",
    );
    assert_one_line_error(
        &lookout(&["detect", non_numeric.to_str().unwrap()]),
        &["text.csv", ":3", "abc"],
    );
    let ragged = write(
        &dir,
        "ragged.csv",
        "timestamp,value\n1600000000,1\n1600000060,2,3\n",
    );
    assert_one_line_error(
        &lookout(&["detect", ragged.to_str().unwrap()]),
        &["ragged.csv", ":3"],
    );
    let empty = write(&dir, "empty.csv", "");
    assert_one_line_error(
        &lookout(&["detect", empty.to_str().unwrap()]),
        &["empty.csv"],
    );
    let header_only = write(&dir, "header.csv", "timestamp,value\n");
    assert_one_line_error(
        &lookout(&["detect", header_only.to_str().unwrap()]),
        &["header.csv", "no data rows"],
    );
    let bad_time = write(&dir, "time.csv", "timestamp,value\nyesterday,1\n");
    assert_one_line_error(
        &lookout(&["detect", bad_time.to_str().unwrap()]),
        &["time.csv", ":2", "yesterday"],
    );
    let infinite = write(&dir, "inf.csv", "timestamp,value\n1600000000,inf\n");
    assert_one_line_error(
        &lookout(&["detect", infinite.to_str().unwrap()]),
        &["inf.csv", ":2"],
    );
    let good = write(&dir, "good.csv", "timestamp,value\n1600000000,1\n");
    assert_one_line_error(
        &lookout(&["detect", good.to_str().unwrap(), "--detector", "nope"]),
        &["nope", "robust_z"],
    );
    assert_one_line_error(
        &lookout(&["detect", dir.join("missing.csv").to_str().unwrap()]),
        &["missing.csv"],
    );
}
