//! Accuracy floors and the model file on NSL-KDD's 20 % training file.
//!
//! Needs `shared/datasets/nslkdd/KDDTrain+_20Percent.txt` beside the repository; without
//! it each test prints a skip message and passes, except under `CI=true`, where it fails.

use std::io::BufReader;
use std::path::PathBuf;
use std::sync::OnceLock;

use lookout_traffic_model::eval::{evaluate, k_fold, leave_families_out, select};
use lookout_traffic_model::{
    read_records, LabeledRecord, ModelError, ModelKind, TrafficModel, TrainParams,
};

fn records() -> Option<&'static [LabeledRecord]> {
    static RECORDS: OnceLock<Option<Vec<LabeledRecord>>> = OnceLock::new();
    RECORDS
        .get_or_init(|| {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/datasets/nslkdd/KDDTrain+_20Percent.txt");
            if !path.exists() {
                let message = format!("NSL-KDD not found at {}", path.display());
                if std::env::var("CI").is_ok_and(|value| value == "true") {
                    panic!("{message} (required when CI=true)");
                }
                eprintln!("skipping: {message}");
                return None;
            }
            let file = std::fs::File::open(&path).unwrap();
            Some(read_records(BufReader::new(file)).unwrap())
        })
        .as_deref()
}

#[test]
fn every_kind_generalises_to_held_out_attack_types() {
    let Some(records) = records() else { return };
    assert_eq!(records.len(), 25_192);
    let split = leave_families_out(records, 42);
    let train = select(records, &split.train);
    let test: Vec<&LabeledRecord> = split.test.iter().map(|&i| &records[i]).collect();
    for (kind, floor) in [
        (ModelKind::Svm, 0.93),
        (ModelKind::Forest, 0.93),
        (ModelKind::Knn, 0.93),
    ] {
        let model = TrafficModel::train(kind, &TrainParams::default(), &train).unwrap();
        let confusion = evaluate(&model, test.iter().copied());
        assert!(
            confusion.accuracy() >= floor,
            "{}: leave-families-out accuracy {:.4} < {floor} ({confusion:?})",
            kind.name(),
            confusion.accuracy()
        );
        let unseen_recall = confusion.recall();
        assert!(
            unseen_recall >= 0.8,
            "{}: recall {unseen_recall}",
            kind.name()
        );
    }
}

#[test]
fn cross_validation_floor_on_known_attack_types() {
    let Some(records) = records() else { return };
    let split = k_fold(records.len(), 5, 1)
        .swap_remove(0)
        .limit_test(2000, 3);
    let train = select(records, &split.train);
    for kind in ModelKind::ALL {
        let model = TrafficModel::train(kind, &TrainParams::default(), &train).unwrap();
        let confusion = evaluate(&model, split.test.iter().map(|&i| &records[i]));
        assert!(
            confusion.accuracy() >= 0.97,
            "{}: {:.4}",
            kind.name(),
            confusion.accuracy()
        );
    }
}

#[test]
fn models_round_trip_and_refuse_bad_files() {
    let Some(records) = records() else { return };
    let train = &records[..5000];
    let model = TrafficModel::train(ModelKind::Forest, &TrainParams::default(), train).unwrap();
    let again = TrafficModel::train(ModelKind::Forest, &TrainParams::default(), train).unwrap();
    let bytes = model.to_bytes();
    assert_eq!(bytes, again.to_bytes(), "training is deterministic");
    let loaded = TrafficModel::from_bytes(&bytes).unwrap();
    for record in &records[5000..5500] {
        assert_eq!(
            model.predict(&record.record),
            loaded.predict(&record.record)
        );
    }
    assert!(matches!(
        TrafficModel::from_bytes(b"not a model at all"),
        Err(ModelError::BadMagic)
    ));
    let mut newer = bytes.clone();
    newer[16] = 9;
    assert!(matches!(
        TrafficModel::from_bytes(&newer),
        Err(ModelError::UnsupportedVersion {
            found: 9,
            supported: 1
        })
    ));
    assert!(matches!(
        TrafficModel::from_bytes(&bytes[..bytes.len() / 2]),
        Err(ModelError::Corrupt(_))
    ));
    let unlabelled = lookout_traffic_model::record::parse_line(
        "0,tcp,http,SF,1,1,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1,1,0,0,0,0,1,0,0,1,1,1,0,0,0,0,0,0,0",
        9,
    )
    .unwrap()
    .unwrap();
    let error =
        TrafficModel::train(ModelKind::Svm, &TrainParams::default(), &[unlabelled]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 9: training records need a label (column 42)"
    );
    let normal_only: Vec<LabeledRecord> = records
        .iter()
        .filter(|r| r.is_attack() == Some(false))
        .take(50)
        .cloned()
        .collect();
    assert!(matches!(
        TrafficModel::train(ModelKind::Svm, &TrainParams::default(), &normal_only),
        Err(ModelError::OneClass { attack: 0, .. })
    ));
}

#[test]
fn assessments_say_why() {
    let Some(records) = records() else { return };
    let model =
        TrafficModel::train(ModelKind::Svm, &TrainParams::default(), &records[..8000]).unwrap();
    let normal = records[8000..]
        .iter()
        .find(|r| r.label.as_deref() == Some("normal") && model.predict(&r.record).score < 0.1)
        .expect("a clearly normal record");
    let assessment = model.assess(&normal.record);
    assert_eq!(assessment.kind, "normal");
    assert!(!assessment.prediction.attack);
    assert!(assessment.unseen.is_empty());
    assert_eq!(assessment.deviations.len(), 3);
    assert_eq!(assessment.prediction, model.predict(&normal.record));

    // A normal-looking record with an impossible byte count and an unknown service: far
    // from all normal traffic, flagged by the novelty profile.
    let mut strange = normal.record.clone();
    strange.service = "quantum_rpc".into();
    strange.numeric[1] = 1e12; // src_bytes
    strange.numeric[4] = 3.0; // wrong_fragment
    let assessment = model.assess(&strange);
    assert!(assessment.prediction.attack, "{assessment:?}");
    assert_ne!(assessment.kind, "normal");
    assert!(assessment.novelty.unwrap() > 0.98, "{assessment:?}");
    assert_eq!(
        assessment.unseen,
        vec![("service", "quantum_rpc".to_string())]
    );
    assert!(assessment
        .deviations
        .iter()
        .any(|(name, _, _)| *name == "src_bytes"));
}
