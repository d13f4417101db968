use super::*;
use std::fs;

const PROFILES: &str = r#"{
  "standard": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11, "tnWeight": 1.0}},
  "reward_low_FN_rate": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 2.0, "fpWeight": 0.11, "tnWeight": 1.0}},
  "reward_low_FP_rate": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.22, "tnWeight": 1.0}}
}"#;

/// A scratch corpus directory, removed on drop.
struct MiniCorpus {
    root: PathBuf,
}

impl MiniCorpus {
    fn new(tag: &str) -> MiniCorpus {
        let root =
            std::env::temp_dir().join(format!("lookout-eval-nab-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for dir in ["data/catA", "data/catB", "labels", "config"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        fs::write(root.join("data/README.md"), "not data").unwrap();
        fs::write(root.join("config/profiles.json"), PROFILES).unwrap();
        let mut crlf = String::from("timestamp,value\r\n");
        for minute in 0..30 {
            crlf.push_str(&format!("2014-04-10 07:{minute:02}:00,{}e-05\r\n", minute));
        }
        fs::write(root.join("data/catA/one.csv"), crlf).unwrap();
        let mut lf = String::from("timestamp,value\n");
        for minute in 0..10 {
            lf.push_str(&format!("2014-04-11 00:{minute:02}:00,{minute}\n"));
        }
        fs::write(root.join("data/catB/two.csv"), lf).unwrap();
        let corpus = MiniCorpus { root };
        corpus.write_labels(
            r#"{"catA/one.csv": [["2014-04-10 07:10:00.000000", "2014-04-10 07:14:00.000000"],
                                  ["2014-04-10 07:20:00.000000", "2014-04-10 07:20:00.000000"]],
                "catB/two.csv": []}"#,
        );
        corpus
    }

    fn write_labels(&self, json: &str) {
        fs::write(self.root.join("labels/combined_windows.json"), json).unwrap();
    }

    fn error(&self) -> String {
        NabCorpus::load(&self.root).unwrap_err().to_string()
    }
}

impl Drop for MiniCorpus {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

#[test]
fn loads_files_windows_and_profiles() {
    let mini = MiniCorpus::new("load");
    let corpus = NabCorpus::load(&mini.root).unwrap();
    let names: Vec<&str> = corpus.files.iter().map(|file| file.name.as_str()).collect();
    assert_eq!(names, ["catA/one.csv", "catB/two.csv"]);
    let one = &corpus.files[0];
    assert_eq!(one.len(), 30);
    assert_eq!(one.windows, [(10, 14), (20, 20)]);
    assert_eq!(one.timestamps[3], "2014-04-10 07:03:00");
    assert_eq!(one.values[3], 3e-5);
    assert_eq!((one.category(), one.file_name()), ("catA", "one.csv"));
    assert!(one.in_window(14) && !one.in_window(15));
    assert_eq!(one.probationary_rows(), 4);
    assert_eq!(corpus.window_count(), 2);
    assert_eq!(corpus.row_count(), 40);
    let profiles: Vec<&str> = corpus.profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(profiles, STANDARD_PROFILES);
    assert_eq!(corpus.profile("reward_low_FP_rate").unwrap().a_fp, 0.22);
    assert_eq!(corpus.profile("reward_low_FN_rate").unwrap().a_fn, 2.0);
}

#[test]
fn missing_pieces_are_named() {
    let absent = std::env::temp_dir().join("lookout-eval-nab-absent-dir");
    let message = NabCorpus::load(&absent).unwrap_err().to_string();
    assert_eq!(
        message,
        format!("{}: NAB corpus directory not found", absent.display())
    );

    let mini = MiniCorpus::new("missing");
    fs::remove_file(mini.root.join("config/profiles.json")).unwrap();
    assert_eq!(
        mini.error(),
        format!(
            "{}: file not found",
            mini.root.join("config/profiles.json").display()
        )
    );
    fs::write(mini.root.join("config/profiles.json"), "{").unwrap();
    assert!(mini.error().starts_with(&format!(
        "{}: invalid JSON: ",
        mini.root.join("config/profiles.json").display()
    )));
    fs::write(mini.root.join("config/profiles.json"), PROFILES).unwrap();
    fs::remove_dir_all(mini.root.join("data")).unwrap();
    assert_eq!(
        mini.error(),
        format!(
            "{}: NAB data directory not found",
            mini.root.join("data").display()
        )
    );
}

#[test]
fn window_bound_without_a_row_is_an_error_naming_file_and_bound() {
    let mini = MiniCorpus::new("bound");
    mini.write_labels(r#"{"catA/one.csv": [["2014-04-10 07:10:30.000000", "2014-04-10 07:14:00.000000"]], "catB/two.csv": []}"#);
    let labels = mini.root.join("labels/combined_windows.json");
    assert_eq!(
        mini.error(),
        format!("{}: window bound \"2014-04-10 07:10:30.000000\" of catA/one.csv matches no row of the data file", labels.display())
    );
}

#[test]
fn labels_and_data_must_agree() {
    let mini = MiniCorpus::new("agree");
    let labels = mini.root.join("labels/combined_windows.json");
    mini.write_labels(r#"{"catA/one.csv": []}"#);
    assert_eq!(
        mini.error(),
        format!("{}: no entry for data file catB/two.csv", labels.display())
    );
    mini.write_labels(r#"{"catA/one.csv": [], "catB/two.csv": [], "catC/three.csv": []}"#);
    assert_eq!(
        mini.error(),
        format!(
            "{}: entry catC/three.csv names no file under {}",
            labels.display(),
            mini.root.join("data").display()
        )
    );
    mini.write_labels(
        r#"{"catA/one.csv": [["2014-04-10 07:10:00", "2014-04-10 07:14:00"], ["2014-04-10 07:12:00", "2014-04-10 07:20:00"]], "catB/two.csv": []}"#,
    );
    assert_eq!(
        mini.error(),
        format!(
            "{}: catA/one.csv: window [\"2014-04-10 07:12:00\", \"2014-04-10 07:20:00\"] overlaps or precedes the previous window",
            labels.display()
        )
    );
}

#[test]
fn bad_data_rows_are_reported_with_file_and_line() {
    let mini = MiniCorpus::new("badrow");
    let path = mini.root.join("data/catB/two.csv");
    fs::write(
        &path,
        "timestamp,value\n2014-04-11 00:00:00,1\n2014-04-11 00:01:00,x\n",
    )
    .unwrap();
    assert_eq!(
        mini.error(),
        format!(
            "{}:3: column \"value\": \"x\" is not a number",
            path.display()
        )
    );
}

#[test]
fn results_round_trip_through_nab_layout() {
    let mini = MiniCorpus::new("results");
    let corpus = NabCorpus::load(&mini.root).unwrap();
    let scores: Vec<Vec<f64>> = corpus
        .files
        .iter()
        .map(|file| (0..file.len()).map(|row| row as f64 / 64.0).collect())
        .collect();
    let out = mini.root.join("out/mydetector");
    write_results_dir(&corpus, &out, "mydetector", &scores).unwrap();
    let written = fs::read_to_string(out.join("catA/mydetector_one.csv")).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines[0], "timestamp,value,anomaly_score,label");
    assert_eq!(lines[11], "2014-04-10 07:10:00,0.0001,0.15625,1");
    assert_eq!(lines[16], "2014-04-10 07:15:00,0.00015,0.234375,0");
    assert_eq!(lines[21], "2014-04-10 07:20:00,0.0002,0.3125,1");
    assert_eq!(load_results_dir(&corpus, &out).unwrap(), scores);

    // A directory named otherwise still finds the single *_<file>.csv match.
    let renamed = mini.root.join("out/renamed");
    fs::rename(&out, &renamed).unwrap();
    assert_eq!(load_results_dir(&corpus, &renamed).unwrap(), scores);
}

#[test]
fn results_must_line_up_with_the_data() {
    let mini = MiniCorpus::new("lineup");
    let corpus = NabCorpus::load(&mini.root).unwrap();
    let scores: Vec<Vec<f64>> = corpus
        .files
        .iter()
        .map(|file| vec![0.5; file.len()])
        .collect();
    let out = mini.root.join("out/det");
    write_results_dir(&corpus, &out, "det", &scores).unwrap();
    let path = out.join("catB/det_two.csv");

    let full = fs::read_to_string(&path).unwrap();
    let short: String = full
        .lines()
        .take(5)
        .map(|line| format!("{line}\n"))
        .collect();
    fs::write(&path, short).unwrap();
    assert_eq!(
        load_results_dir(&corpus, &out).unwrap_err().to_string(),
        format!(
            "{}: 4 rows, but data file catB/two.csv has 10",
            path.display()
        )
    );

    fs::write(&path, full.replace("00:03:00,3,0.5", "00:03:30,3,0.5")).unwrap();
    assert_eq!(
        load_results_dir(&corpus, &out).unwrap_err().to_string(),
        format!(
            "{}: line 5: timestamp \"2014-04-11 00:03:30\" does not match row 4 of catB/two.csv (\"2014-04-11 00:03:00\")",
            path.display()
        )
    );

    fs::write(&path, full.replace("00:03:00,3,0.5", "00:03:00,3,high")).unwrap();
    assert_eq!(
        load_results_dir(&corpus, &out).unwrap_err().to_string(),
        format!(
            "{}: line 5: anomaly_score \"high\" is not a number",
            path.display()
        )
    );

    fs::remove_file(&path).unwrap();
    assert_eq!(
        load_results_dir(&corpus, &out).unwrap_err().to_string(),
        format!(
            "{}: results file not found (nor any *_two.csv in the category)",
            path.display()
        )
    );
    let wrong = write_results_dir(&corpus, &out, "det", &scores[..1])
        .unwrap_err()
        .to_string();
    assert_eq!(wrong, "scores: 1 score series given for 2 corpus files");
}
