//! Scores NAB's published detector outputs and checks them against NAB's published results.
//!
//! Needs the NAB corpus (`$LOOKOUT_NAB_DIR`, or `shared/datasets/nab` beside the repository).
//! Without it each test prints a skip message and passes, except under `CI=true`, where a
//! missing corpus fails the test.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use lookout_eval::nab::{
    default_nab_dir, load_results_dir, write_results_dir, NabCorpus, NabReport, NabScorer,
    NAB_DIR_ENV,
};

/// The detectors whose published per-row results ship with the corpus.
const DETECTORS: [&str; 3] = ["null", "numenta", "windowedGaussian"];

struct Fixture {
    dir: PathBuf,
    corpus: NabCorpus,
    scorer: NabScorer,
    /// Per detector, the per-file anomaly scores read from `results/<detector>`.
    results: HashMap<&'static str, Vec<Vec<f64>>>,
}

fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let Some(dir) = default_nab_dir() else {
                let message = format!(
                    "NAB corpus not found: set {NAB_DIR_ENV} or place it at <repo>/../shared/datasets/nab"
                );
                if std::env::var("CI").is_ok_and(|value| value == "true") {
                    panic!("{message} (required when CI=true)");
                }
                eprintln!("skipping: {message}");
                return None;
            };
            let corpus = NabCorpus::load(&dir).unwrap_or_else(|error| panic!("loading NAB: {error}"));
            let scorer = NabScorer::new(&corpus);
            let results = DETECTORS
                .into_iter()
                .map(|detector| {
                    let scores = load_results_dir(&corpus, &dir.join("results").join(detector))
                        .unwrap_or_else(|error| panic!("{detector}: {error}"));
                    (detector, scores)
                })
                .collect();
            Some(Fixture { dir, corpus, scorer, results })
        })
        .as_ref()
}

fn json(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn sweep<'f>(fixture: &'f Fixture, detector: &str) -> (&'f [Vec<f64>], NabReport) {
    let scores = &fixture.results[detector];
    let report = fixture.scorer.sweep(scores).unwrap();
    (scores, report)
}

/// Asserts the sweep's normalized scores, in profile order standard, low FP, low FN.
fn assert_normalized(report: &NabReport, detector: &str, expected: [f64; 3]) {
    for score in &report.profiles {
        eprintln!(
            "{detector} {}: normalized {:.4}, raw {:.4}, threshold {}, tp {} fp {} fn {} tn {}",
            score.profile,
            score.normalized,
            score.raw_score,
            score.threshold,
            score.tp,
            score.fp,
            score.fn_,
            score.tn
        );
    }
    let names = ["standard", "reward_low_FP_rate", "reward_low_FN_rate"];
    for (name, expected) in names.into_iter().zip(expected) {
        let score = report
            .profile(name)
            .unwrap_or_else(|| panic!("no profile {name}"));
        assert!(
            (score.normalized - expected).abs() < 0.05,
            "{detector} {name}: normalized {} (raw {}, threshold {}), expected {expected}",
            score.normalized,
            score.raw_score,
            score.threshold
        );
    }
}

#[test]
fn corpus_shape_matches_the_readme() {
    let Some(fixture) = fixture() else { return };
    let corpus = &fixture.corpus;
    assert_eq!(corpus.files.len(), 58);
    assert_eq!(corpus.row_count(), 365_558);
    assert_eq!(corpus.window_count(), 116);
    assert_eq!(fixture.scorer.scorable_rows(), 332_842);
    let covered: usize = corpus
        .files
        .iter()
        .flat_map(|file| &file.windows)
        .map(|&(left, right)| right - left + 1)
        .sum();
    assert_eq!(covered, 33_495);
    assert!(corpus.files.iter().all(|file| file
        .windows
        .iter()
        .all(|&(left, _)| left >= file.probationary_rows())));
    let exponent = corpus
        .file("realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv")
        .map(|file| file.len());
    assert!(exponent.is_some());
}

#[test]
fn numenta_sweep_reproduces_published_scores() {
    let Some(fixture) = fixture() else { return };
    let (scores, report) = sweep(fixture, "numenta");
    assert_normalized(&report, "numenta", [70.10, 63.21, 74.32]);

    let low_fp = report.profile("reward_low_FP_rate").unwrap();
    assert!(
        (low_fp.threshold - 0.543099145074).abs() < 1e-9,
        "low-FP threshold {}",
        low_fp.threshold
    );
    assert!(
        (low_fp.raw_score - 30.6453).abs() < 1e-4,
        "low-FP raw {}",
        low_fp.raw_score
    );

    // The exhaustive sweep can only match or beat the published hill-climbed thresholds, and
    // its reported raw score and counts are those of a plain evaluation at its threshold.
    let thresholds = json(&fixture.dir.join("config/thresholds.json"));
    for profile in &fixture.corpus.profiles {
        let swept = report.profile(&profile.name).unwrap();
        let published = thresholds["numenta"][&profile.name]["threshold"]
            .as_f64()
            .unwrap();
        let at_published = fixture
            .scorer
            .score_at_threshold(scores, profile, published)
            .unwrap();
        assert!(
            swept.raw_score >= at_published.raw_score - 1e-9,
            "{}: sweep worse than published",
            profile.name
        );
        let at_swept = fixture
            .scorer
            .score_at_threshold(scores, profile, swept.threshold)
            .unwrap();
        assert!((at_swept.raw_score - swept.raw_score).abs() < 1e-9);
        assert_eq!(
            (at_swept.tp, at_swept.fp, at_swept.fn_, at_swept.tn),
            (swept.tp, swept.fp, swept.fn_, swept.tn)
        );
        assert!((0.0..=1.1).contains(&swept.threshold));
    }
}

#[test]
fn windowed_gaussian_and_null_sweeps_reproduce_published_scores() {
    let Some(fixture) = fixture() else { return };
    let (_, report) = sweep(fixture, "windowedGaussian");
    assert_normalized(&report, "windowedGaussian", [39.65, 20.87, 47.41]);

    let (_, report) = sweep(fixture, "null");
    assert_normalized(&report, "null", [0.0, 0.0, 0.0]);
    for score in &report.profiles {
        assert_eq!(score.normalized, 0.0, "{}", score.profile);
        assert_eq!(
            score.threshold, 1.1,
            "null detector: no threshold beats no detections"
        );
        assert_eq!((score.tp, score.fp), (0, 0));
    }
}

/// Unchanged scores: everything but numenta's low-FP profile equals `final_results.json`.
#[test]
fn sweeps_match_final_results_json_where_the_readme_says_unchanged() {
    let Some(fixture) = fixture() else { return };
    let published = json(&fixture.dir.join("results/final_results.json"));
    for detector in DETECTORS {
        let (_, report) = sweep(fixture, detector);
        for score in &report.profiles {
            if detector == "numenta" && score.profile == "reward_low_FP_rate" {
                continue;
            }
            let expected = published[detector][&score.profile].as_f64().unwrap();
            assert!(
                (score.normalized - expected).abs() < 1e-9,
                "{detector} {}: {} vs published {expected}",
                score.profile,
                score.normalized
            );
        }
    }
}

/// One row of a `<detector>_<profile>_scores.csv` file.
struct PublishedFileScore {
    score: f64,
    tp: usize,
    tn: usize,
    fp: usize,
    fn_: usize,
    total: usize,
}

fn read_published_scores(path: &Path) -> HashMap<String, PublishedFileScore> {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut rows = HashMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        let key = if &record[0] == "Totals" {
            "Totals".to_string()
        } else {
            record[2].to_string()
        };
        let number = |index: usize| record[index].parse::<f64>().unwrap();
        let count = |index: usize| record[index].parse::<usize>().unwrap();
        rows.insert(
            key,
            PublishedFileScore {
                score: number(4),
                tp: count(5),
                tn: count(6),
                fp: count(7),
                fn_: count(8),
                total: count(9),
            },
        );
    }
    rows
}

#[test]
fn per_file_scores_at_published_thresholds_match_score_csvs() {
    let Some(fixture) = fixture() else { return };
    let thresholds = json(&fixture.dir.join("config/thresholds.json"));
    let final_results = json(&fixture.dir.join("results/final_results.json"));
    for detector in DETECTORS {
        let scores = &fixture.results[detector];
        for profile in &fixture.corpus.profiles {
            let threshold = thresholds[detector][&profile.name]["threshold"]
                .as_f64()
                .unwrap();
            let at = fixture
                .scorer
                .score_at_threshold(scores, profile, threshold)
                .unwrap();
            let csv_path = fixture.dir.join(format!(
                "results/{detector}/{detector}_{}_scores.csv",
                profile.name
            ));
            let published = read_published_scores(&csv_path);
            assert_eq!(
                published.len(),
                fixture.corpus.files.len() + 1,
                "{}",
                csv_path.display()
            );
            for file in &at.files {
                let expected = &published[&file.name];
                let context = format!("{detector} {} {}", profile.name, file.name);
                assert!(
                    (file.raw_score - expected.score).abs() < 1e-9,
                    "{context}: {} vs {}",
                    file.raw_score,
                    expected.score
                );
                assert_eq!(
                    (file.tp, file.tn, file.fp, file.fn_),
                    (expected.tp, expected.tn, expected.fp, expected.fn_),
                    "{context}"
                );
                assert_eq!(file.rows, expected.total, "{context}");
            }
            let totals = &published["Totals"];
            assert!(
                (at.raw_score - totals.score).abs() < 1e-9,
                "{detector} {}: total {}",
                profile.name,
                at.raw_score
            );
            assert_eq!(
                (at.tp, at.tn, at.fp, at.fn_),
                (totals.tp, totals.tn, totals.fp, totals.fn_)
            );
            let normalized = final_results[detector][&profile.name].as_f64().unwrap();
            assert!(
                (at.normalized - normalized).abs() < 1e-9,
                "{detector} {}: {}",
                profile.name,
                at.normalized
            );
        }
    }
}

#[test]
fn written_results_read_back_exactly() {
    let Some(fixture) = fixture() else { return };
    let scores = &fixture.results["numenta"];
    let scratch =
        std::env::temp_dir().join(format!("lookout-eval-nab-write-{}", std::process::id()));
    let out = scratch.join("lookoutTest");
    write_results_dir(&fixture.corpus, &out, "lookoutTest", scores).unwrap();
    let written = out.join("realKnownCause/lookoutTest_nyc_taxi.csv");
    let header = std::fs::read_to_string(&written)
        .unwrap()
        .lines()
        .next()
        .map(str::to_owned);
    assert_eq!(
        header.as_deref(),
        Some("timestamp,value,anomaly_score,label")
    );
    let back = load_results_dir(&fixture.corpus, &out).unwrap();
    std::fs::remove_dir_all(&scratch).unwrap();
    assert_eq!(&back, scores);
}
