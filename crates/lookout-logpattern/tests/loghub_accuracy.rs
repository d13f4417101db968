//! Grouping accuracy on the loghub 2k samples (`../shared/datasets/loghub/loghub-dev.tar.xz`,
//! unpacked into `$LOOKOUT_LOGHUB` or `~/.cache/lookout/loghub`), mined from the RAW lines
//! with the default parameters, the same for every system.
//!
//! A line is correct when the set of lines sharing its pattern equals the set sharing its
//! ground-truth `EventId`. Skips with a message when the dataset is absent (fails under
//! `CI=true`); unpacks the archive into the cache when only the archive is there.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lookout_logpattern::{Config, Miner};

const SYSTEMS: [&str; 8] = [
    "Apache",
    "HDFS",
    "HPC",
    "Linux",
    "Mac",
    "OpenStack",
    "Spark",
    "Windows",
];

/// drain3's figures on the header-stripped `Content` column (the dataset's README).
const DRAIN3_CONTENT: [f64; 8] = [1.000, 0.998, 0.741, 0.684, 0.715, 0.309, 0.922, 0.571];

/// The mean reached by the defaults (0.933, crate README), rounded down. The target is
/// 0.90; each system must also reach drain3's figure on `Content`.
const FLOOR_MEAN: f64 = 0.93;

fn dataset() -> Option<PathBuf> {
    let cache = match std::env::var_os("LOOKOUT_LOGHUB") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/lookout/loghub"),
    };
    let root = cache.join("loghub");
    if root.join("HDFS/HDFS_2k.log").is_file() {
        return Some(root);
    }
    let archive = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/loghub/loghub-dev.tar.xz");
    if !archive.is_file() {
        return None;
    }
    std::fs::create_dir_all(&cache).ok()?;
    let status = std::process::Command::new("tar")
        .arg("-xJf")
        .arg(&archive)
        .arg("-C")
        .arg(&cache)
        .status()
        .ok()?;
    (status.success() && root.join("HDFS/HDFS_2k.log").is_file()).then_some(root)
}

/// The ground-truth `EventId` of each line, in order.
fn truth(root: &Path, system: &str) -> Vec<String> {
    let path = root.join(format!("{system}/{system}_2k.log_structured.csv"));
    let mut reader = csv::Reader::from_path(&path).expect("structured csv");
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "EventId")
        .expect("EventId column");
    reader
        .records()
        .map(|r| r.expect("csv record")[column].to_string())
        .collect()
}

/// Grouping accuracy of predicted ids against true ids.
pub fn grouping_accuracy(predicted: &[u64], truth: &[String]) -> f64 {
    assert_eq!(predicted.len(), truth.len());
    let mut true_sizes: HashMap<&str, usize> = HashMap::new();
    for t in truth {
        *true_sizes.entry(t).or_default() += 1;
    }
    let mut groups: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, p) in predicted.iter().enumerate() {
        groups.entry(*p).or_default().push(i);
    }
    let mut correct = 0;
    for lines in groups.values() {
        let first = truth[lines[0]].as_str();
        if lines.iter().all(|&i| truth[i] == first) && true_sizes[first] == lines.len() {
            correct += lines.len();
        }
    }
    correct as f64 / predicted.len() as f64
}

fn mine(root: &Path, system: &str) -> Vec<u64> {
    let raw = std::fs::read(root.join(format!("{system}/{system}_2k.log"))).expect("raw log");
    let text = String::from_utf8_lossy(&raw);
    let mut miner = Miner::new(Config::default()).unwrap();
    text.lines().map(|line| miner.add(line).id.0).collect()
}

#[test]
fn grouping_accuracy_on_raw_loghub_lines() {
    let Some(root) = dataset() else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the loghub dataset is missing (../shared/datasets/loghub/loghub-dev.tar.xz)");
        }
        eprintln!(
            "SKIPPED: the loghub dataset is missing (../shared/datasets/loghub/loghub-dev.tar.xz)"
        );
        return;
    };
    let mut sum = 0.0;
    let mut below = Vec::new();
    for (system, drain3) in SYSTEMS.iter().zip(DRAIN3_CONTENT) {
        let truth = truth(&root, system);
        let predicted = mine(&root, system);
        let accuracy = grouping_accuracy(&predicted, &truth);
        if let Some(dir) = std::env::var_os("LOGHUB_DUMP") {
            let ids: Vec<String> = predicted.iter().map(u64::to_string).collect();
            std::fs::write(Path::new(&dir).join(system), ids.join("\n")).unwrap();
        }
        let patterns = predicted
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len();
        eprintln!(
            "{system:10} accuracy={accuracy:.3} drain3_content={drain3:.3} patterns={patterns}"
        );
        // drain3's figures are rounded to three decimals: compare at that precision.
        if (accuracy * 1000.0).round() < (drain3 * 1000.0_f64).round() {
            below.push(format!("{system}: {accuracy:.3} < drain3's {drain3:.3}"));
        }
        sum += accuracy;
    }
    let mean = sum / SYSTEMS.len() as f64;
    eprintln!("mean       accuracy={mean:.3}");
    assert!(below.is_empty(), "below drain3 on Content: {below:?}");
    assert!(
        mean >= FLOOR_MEAN,
        "mean grouping accuracy {mean:.3} < {FLOOR_MEAN}"
    );
}

#[test]
fn grouping_accuracy_counts_whole_groups_only() {
    let truth: Vec<String> = ["a", "a", "b", "c"].iter().map(|s| s.to_string()).collect();
    assert_eq!(grouping_accuracy(&[1, 1, 2, 3], &truth), 1.0);
    assert_eq!(grouping_accuracy(&[1, 1, 2, 2], &truth), 0.5);
    assert_eq!(grouping_accuracy(&[1, 2, 3, 4], &truth), 0.5);
}
