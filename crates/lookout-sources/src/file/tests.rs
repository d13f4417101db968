//! The file collector on temporary files: start position, records, bad lines,
//! rotation and new files.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use lookout_config::{FileSourceConfig, ReadFrom};

use super::*;

fn config(dir: &Path, pattern: &str, read_from: ReadFrom) -> FileSourceConfig {
    FileSourceConfig {
        paths: vec![dir.join(pattern).display().to_string()],
        read_from,
        interval: Duration::from_secs(1),
        max_line_bytes: 1024,
        labels: BTreeMap::from([("source".to_string(), "test".to_string())]),
    }
}

fn sample_line(name: &str, timestamp_ms: i64, value: f64) -> String {
    format!(
        "{{\"type\":\"sample\",\"key\":{{\"name\":\"{name}\",\"labels\":{{}}}},\"timestamp_ms\":{timestamp_ms},\"value\":{value}}}\n"
    )
}

fn event_line(timestamp_ms: i64) -> String {
    format!(
        "{{\"type\":\"event\",\"timestamp_ms\":{timestamp_ms},\"kind\":\"ssh_bruteforce\",\"domain\":\"login\",\"severity\":\"critical\",\"entity\":{{\"host\":\"web-1\"}}}}\n"
    )
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn values(collected: &Collected) -> Vec<f64> {
    collected.samples.iter().map(|s| s.value).collect()
}

#[test]
fn read_from_end_skips_existing_lines_and_beginning_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.jsonl");
    append(&path, &sample_line("m", 1, 1.0));
    let mut from_end = FileCollector::new(&config(dir.path(), "*.jsonl", ReadFrom::End));
    let mut from_start = FileCollector::new(&config(dir.path(), "*.jsonl", ReadFrom::Beginning));
    assert!(from_end.collect().samples.is_empty());
    assert_eq!(values(&from_start.collect()), [1.0]);
    append(&path, &sample_line("m", 2, 2.0));
    assert_eq!(values(&from_end.collect()), [2.0]);
    assert_eq!(values(&from_start.collect()), [2.0]);
}

#[test]
fn samples_and_events_come_out_with_the_configured_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    append(
        &path,
        &format!("{}{}", sample_line("m", 5, 7.0), event_line(6)),
    );
    let mut collector = FileCollector::new(&config(dir.path(), "a.jsonl", ReadFrom::Beginning));
    let collected = collector.collect();
    assert_eq!(collected.samples.len(), 1);
    assert_eq!(collected.samples[0].key.labels["source"], "test");
    assert_eq!(collected.events.len(), 1);
    assert_eq!(collected.events[0].kind, "ssh_bruteforce");
    assert_eq!(collected.events[0].entity["host"], "web-1");
    assert_eq!(collected.events[0].entity["source"], "test");
    assert!(collected.errors.is_empty(), "{:?}", collected.errors);
    assert_eq!(collector.stats().records, 2);
}

#[test]
fn bad_lines_are_counted_and_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let long = format!("{}\n", "x".repeat(2000));
    append(
        &path,
        &format!(
            "{}not json\n\n{long}{}",
            sample_line("m", 1, 1.0),
            sample_line("m", 2, 2.0)
        ),
    );
    let mut collector = FileCollector::new(&config(dir.path(), "a.jsonl", ReadFrom::Beginning));
    let collected = collector.collect();
    assert_eq!(values(&collected), [1.0, 2.0]);
    assert_eq!(collected.errors.len(), 1, "{:?}", collected.errors);
    let expected = format!("{}:2: skipped: not a record:", path.display());
    assert!(
        collected.errors[0].starts_with(&expected),
        "{:?}",
        collected.errors
    );
    let stats = collector.stats();
    assert_eq!((stats.records, stats.bad_lines, stats.too_long), (2, 1, 1));
}

#[test]
fn many_bad_lines_are_reported_a_few_at_a_time_then_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    append(&path, &"{\n".repeat(MAX_REPORTED + 5));
    let mut collector = FileCollector::new(&config(dir.path(), "a.jsonl", ReadFrom::Beginning));
    let collected = collector.collect();
    assert_eq!(collected.errors.len(), MAX_REPORTED + 1);
    assert_eq!(
        collected.errors[MAX_REPORTED],
        format!(
            "5 more bad lines skipped ({} since the start)",
            MAX_REPORTED + 5
        )
    );
}

#[test]
fn a_partial_last_line_waits_for_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let line = sample_line("m", 1, 4.0);
    let (first, second) = line.split_at(20);
    append(&path, first);
    let mut collector = FileCollector::new(&config(dir.path(), "a.jsonl", ReadFrom::Beginning));
    let collected = collector.collect();
    assert!(collected.samples.is_empty() && collected.errors.is_empty());
    append(&path, second);
    assert_eq!(values(&collector.collect()), [4.0]);
}

#[test]
fn rotation_reads_the_old_file_to_its_end_then_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, &sample_line("m", 1, 1.0));
    let mut collector = FileCollector::new(&config(dir.path(), "app.log", ReadFrom::Beginning));
    assert_eq!(values(&collector.collect()), [1.0]);
    // Written after the last read, then rotated away.
    append(&path, &sample_line("m", 2, 2.0));
    append(&path, sample_line("m", 3, 3.0).trim_end());
    std::fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    append(&path, &sample_line("m", 4, 4.0));
    assert_eq!(values(&collector.collect()), [2.0, 4.0]);
    assert_eq!(collector.stats().rotations, 1);
    // The unfinished line waits for its writer while the old file may still grow, and
    // is complete once it has stayed idle.
    for _ in 1..follow::DRAIN_IDLE_TICKS {
        assert!(collector.collect().samples.is_empty());
    }
    assert_eq!(values(&collector.collect()), [3.0]);
    append(&path, &sample_line("m", 5, 5.0));
    assert_eq!(values(&collector.collect()), [5.0]);
}

#[test]
fn lines_written_to_a_renamed_file_before_the_writer_reopens_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, &sample_line("m", 1, 1.0));
    let mut writer = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let mut collector = FileCollector::new(&config(dir.path(), "app.log", ReadFrom::Beginning));
    assert_eq!(values(&collector.collect()), [1.0]);
    // logrotate's `create`: renamed, an empty successor, the writer told later.
    std::fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    append(&path, "");
    assert!(collector.collect().samples.is_empty());
    writer
        .write_all(sample_line("m", 2, 2.0).as_bytes())
        .unwrap();
    assert_eq!(
        values(&collector.collect()),
        [2.0],
        "still its writer's log"
    );
    // The writer reopens its log.
    writer
        .write_all(sample_line("m", 3, 3.0).as_bytes())
        .unwrap();
    drop(writer);
    append(&path, &sample_line("m", 4, 4.0));
    assert_eq!(values(&collector.collect()), [3.0, 4.0]);
    for _ in 0..follow::DRAIN_IDLE_TICKS + 1 {
        assert!(collector.collect().samples.is_empty());
    }
    assert_eq!(collector.stats().rotations, 1);
}

#[test]
fn lines_written_just_before_a_copytruncate_are_read_from_the_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, &sample_line("m", 1, 1.0));
    let mut collector = FileCollector::new(&config(dir.path(), "app.log", ReadFrom::Beginning));
    assert_eq!(values(&collector.collect()), [1.0]);
    // Written after the last read; then logrotate's `copytruncate`.
    append(&path, &sample_line("m", 2, 2.0));
    append(&path, &sample_line("m", 3, 3.0));
    std::fs::copy(&path, dir.path().join("app.log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    // A newer file of the same name and length, with other lines, is no copy.
    let other = sample_line("m", 7, 7.0) + &sample_line("m", 8, 8.0) + &sample_line("m", 9, 9.0);
    append(&dir.path().join("app.log-other"), &other);
    append(&path, &sample_line("m", 4, 4.0));
    assert_eq!(values(&collector.collect()), [2.0, 3.0, 4.0]);
    assert_eq!(collector.stats().rotations, 1);
    append(&path, &sample_line("m", 5, 5.0));
    assert_eq!(values(&collector.collect()), [5.0]);
}

#[test]
fn files_appearing_later_are_read_from_their_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let mut collector = FileCollector::new(&config(dir.path(), "*.jsonl", ReadFrom::End));
    assert!(collector.collect().samples.is_empty());
    append(&dir.path().join("new.jsonl"), &sample_line("m", 1, 9.0));
    append(&dir.path().join("ignored.txt"), &sample_line("m", 1, 8.0));
    assert_eq!(values(&collector.collect()), [9.0]);
}

#[test]
fn a_backlog_drains_over_several_ticks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let lines: String = (0..MAX_LINES_PER_TICK + 3)
        .map(|i| sample_line("m", i as i64, 1.0))
        .collect();
    append(&path, &lines);
    let mut collector = FileCollector::new(&config(dir.path(), "a.jsonl", ReadFrom::Beginning));
    assert_eq!(collector.collect().samples.len(), MAX_LINES_PER_TICK);
    assert_eq!(collector.collect().samples.len(), 3);
}

#[test]
fn a_restarted_collector_resumes_at_the_saved_offset_of_the_same_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.jsonl");
    append(
        &path,
        &(sample_line("m", 1, 1.0) + &sample_line("m", 2, 2.0)),
    );
    let config = config(dir.path(), "*.jsonl", ReadFrom::Beginning);
    let mut first = FileCollector::new(&config);
    let collected = first.collect();
    assert_eq!(values(&collected), [1.0, 2.0]);
    let saved = collected.read_offsets;
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].line, 2);
    // Written while stopped; a partial line stays unread.
    append(&path, &sample_line("m", 3, 3.0));
    append(&path, "{\"type\":");

    let mut second = FileCollector::new(&config);
    second.resume(saved.clone());
    let collected = second.collect();
    assert_eq!(
        values(&collected),
        [3.0],
        "nothing read twice, nothing skipped"
    );
    assert_eq!(collected.read_offsets[0].line, 3);

    // The path now names another file: its offsets do not apply.
    std::fs::remove_file(&path).unwrap();
    append(&path, &sample_line("m", 4, 4.0));
    let mut third = FileCollector::new(&config);
    third.resume(saved);
    assert_eq!(values(&third.collect()), [4.0]);
}
