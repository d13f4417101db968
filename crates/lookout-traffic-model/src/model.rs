//! A trained traffic model: encoder + classifier + threshold, versioned on disk.
//!
//! File format: the 16 bytes `lookout-traffic\n`, the format version (u32, little
//! endian), then the bincode encoding of [`TrafficModel`], which repeats the version and
//! carries the feature schema (the 41 names) so a model trained on other columns is
//! refused on load rather than scoring garbage.

use serde::{Deserialize, Serialize};

use crate::encode::Encoder;
use crate::forest::{Forest, ForestConfig};
use crate::knn::{Knn, KnnConfig};
use crate::novelty::{NormalProfile, NoveltyConfig};
use crate::record::{ConnectionRecord, LabeledRecord, FEATURE_NAMES};
use crate::svm::{LinearSvm, SvmConfig};

pub const FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8; 16] = b"lookout-traffic\n";

/// The classifier kinds; [`ModelKind::DEFAULT`] is the one chosen by the
/// leave-attack-families-out evaluation (see the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    Knn,
    Svm,
    Forest,
}

impl ModelKind {
    pub const DEFAULT: ModelKind = ModelKind::Forest;
    pub const ALL: [ModelKind; 3] = [ModelKind::Knn, ModelKind::Svm, ModelKind::Forest];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Knn => "knn",
            ModelKind::Svm => "svm",
            ModelKind::Forest => "forest",
        }
    }

    pub fn parse(name: &str) -> Result<Self, ModelError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| ModelError::UnknownKind(name.to_string()))
    }
}

/// Parameters of every kind (only the chosen kind's are used).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    pub knn: KnnConfig,
    pub svm: SvmConfig,
    pub forest: ForestConfig,
    /// The novelty profile against normal traffic; `None` = classifier alone.
    pub novelty: Option<NoveltyConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Classifier {
    Knn(Knn),
    Svm(LinearSvm),
    Forest(Forest),
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            knn: KnnConfig::default(),
            svm: SvmConfig::default(),
            forest: ForestConfig::default(),
            novelty: Some(NoveltyConfig::default()),
        }
    }
}

/// What the model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    pub records: usize,
    pub attacks: usize,
    /// Each label seen and its count, sorted by label.
    pub labels: Vec<(String, usize)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficModel {
    pub format_version: u32,
    /// The feature schema: the 41 names in column order.
    pub features: Vec<String>,
    pub kind: ModelKind,
    /// A record is an attack when its score is ≥ this.
    pub threshold: f64,
    pub encoder: Encoder,
    pub classifier: Classifier,
    /// Distance from normal traffic, flagging what the classifier cannot know.
    pub novelty: Option<NormalProfile>,
    pub summary: TrainingSummary,
}

/// One record's verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub attack: bool,
    /// Probability-like attack score in 0..1.
    pub score: f64,
}

/// Why a record scored as it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub prediction: Prediction,
    /// `normal`, `known_attack` (the classifier flags it) or `novel` (only the distance
    /// from normal traffic does).
    pub kind: &'static str,
    /// The classifier's own score, before the novelty profile.
    pub classifier_score: f64,
    /// Share of normal calibration records nearer to normal traffic (with the profile).
    pub novelty: Option<f64>,
    /// Categorical values never seen in training: (feature, value).
    pub unseen: Vec<(&'static str, String)>,
    /// The numeric features farthest from the training mean: (feature, value, z-score).
    pub deviations: Vec<(&'static str, f64, f64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("no training records")]
    NoRecords,
    #[error("line {line}: training records need a label (column 42)")]
    Unlabelled { line: usize },
    #[error(
        "training records need both normal and attack records ({normal} normal, {attack} attack)"
    )]
    OneClass { normal: usize, attack: usize },
    #[error("unknown model kind {0:?} (known: knn, svm, forest)")]
    UnknownKind(String),
    #[error("not a lookout traffic model (bad magic bytes)")]
    BadMagic,
    #[error("traffic model format version {found} is not supported (this build reads version {supported})")]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error("the model's feature schema differs from the 41 NSL-KDD features")]
    SchemaMismatch,
    #[error("corrupt traffic model: {0}")]
    Corrupt(String),
}

impl TrafficModel {
    /// Trains a model of `kind` on labelled records.
    pub fn train(
        kind: ModelKind,
        params: &TrainParams,
        records: &[LabeledRecord],
    ) -> Result<Self, ModelError> {
        if records.is_empty() {
            return Err(ModelError::NoRecords);
        }
        let mut attack = Vec::with_capacity(records.len());
        let mut labels = std::collections::BTreeMap::<String, usize>::new();
        for record in records {
            let is_attack = record
                .is_attack()
                .ok_or(ModelError::Unlabelled { line: record.line })?;
            attack.push(is_attack);
            *labels
                .entry(record.label.clone().unwrap_or_default())
                .or_default() += 1;
        }
        let attacks = attack.iter().filter(|a| **a).count();
        if attacks == 0 || attacks == records.len() {
            return Err(ModelError::OneClass {
                normal: records.len() - attacks,
                attack: attacks,
            });
        }
        let plain: Vec<&ConnectionRecord> = records.iter().map(|r| &r.record).collect();
        let encoder = Encoder::fit(&plain);
        let x = encoder.encode_all(&plain);
        let classifier = match kind {
            ModelKind::Knn => Classifier::Knn(Knn::fit(
                &params.knn,
                (0..x.rows()).map(|i| (x.row(i).to_vec(), attack[i])),
            )),
            ModelKind::Svm => Classifier::Svm(LinearSvm::fit(&params.svm, &x, &attack)),
            ModelKind::Forest => Classifier::Forest(Forest::fit(&params.forest, &x, &attack)),
        };
        let novelty = params
            .novelty
            .as_ref()
            .and_then(|config| NormalProfile::fit(config, &x, &attack));
        Ok(TrafficModel {
            format_version: FORMAT_VERSION,
            features: FEATURE_NAMES.iter().map(|n| n.to_string()).collect(),
            kind,
            threshold: 0.5,
            encoder,
            classifier,
            novelty,
            summary: TrainingSummary {
                records: records.len(),
                attacks,
                labels: labels.into_iter().collect(),
            },
        })
    }

    /// Attack score in 0..1 of an encoded row.
    pub fn score_encoded(&self, row: &[f32]) -> f64 {
        let score = match &self.classifier {
            Classifier::Knn(model) => model.score(row),
            Classifier::Svm(model) => model.score(row),
            Classifier::Forest(model) => model.score(row),
        };
        let score = match &self.novelty {
            Some(profile) => profile.combine(score, profile.novelty(row)),
            None => score,
        };
        score.clamp(0.0, 1.0)
    }

    pub fn predict(&self, record: &ConnectionRecord) -> Prediction {
        let score = self.score_encoded(&self.encoder.encode(record));
        Prediction {
            attack: score >= self.threshold,
            score,
        }
    }

    /// Scores `record` and says why: classifier and novelty parts, unseen categories,
    /// the three most deviating numeric features.
    pub fn assess(&self, record: &ConnectionRecord) -> Assessment {
        let row = self.encoder.encode(record);
        let classifier_score = match &self.classifier {
            Classifier::Knn(model) => model.score(&row),
            Classifier::Svm(model) => model.score(&row),
            Classifier::Forest(model) => model.score(&row),
        }
        .clamp(0.0, 1.0);
        let novelty = self.novelty.as_ref().map(|profile| profile.novelty(&row));
        let score = match (&self.novelty, novelty) {
            (Some(profile), Some(novelty)) => profile.combine(classifier_score, novelty),
            _ => classifier_score,
        }
        .clamp(0.0, 1.0);
        let attack = score >= self.threshold;
        let kind = match (attack, classifier_score >= self.threshold) {
            (false, _) => "normal",
            (true, true) => "known_attack",
            (true, false) => "novel",
        };
        let mut unseen = Vec::new();
        for (name, vocabulary, value) in [
            ("protocol_type", &self.encoder.protocol, &record.protocol),
            ("service", &self.encoder.service, &record.service),
            ("flag", &self.encoder.flag, &record.flag),
        ] {
            if !vocabulary.knows(value) {
                unseen.push((name, value.clone()));
            }
        }
        let names: Vec<&'static str> = crate::record::numeric_names().collect();
        let mut deviations: Vec<(&'static str, f64, f64)> = (0..names.len())
            .map(|i| (names[i], record.numeric[i], f64::from(row[i])))
            .collect();
        deviations.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()).then(a.0.cmp(b.0)));
        deviations.truncate(3);
        Assessment {
            prediction: Prediction { attack, score },
            kind,
            classifier_score,
            novelty,
            unseen,
            deviations,
        }
    }

    /// The model file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bincode::serialize_into(&mut bytes, self).expect("in-memory serialisation cannot fail");
        bytes
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let Some(rest) = bytes.strip_prefix(MAGIC.as_slice()) else {
            return Err(ModelError::BadMagic);
        };
        let Some((version, body)) = rest.split_first_chunk::<4>() else {
            return Err(ModelError::Corrupt("truncated header".into()));
        };
        let found = u32::from_le_bytes(*version);
        if found != FORMAT_VERSION {
            return Err(ModelError::UnsupportedVersion {
                found,
                supported: FORMAT_VERSION,
            });
        }
        let model: TrafficModel =
            bincode::deserialize(body).map_err(|error| ModelError::Corrupt(error.to_string()))?;
        if model.format_version != FORMAT_VERSION {
            return Err(ModelError::Corrupt(
                "inner format version differs from the header".into(),
            ));
        }
        if model.features.iter().map(String::as_str).ne(FEATURE_NAMES) {
            return Err(ModelError::SchemaMismatch);
        }
        if model.encoder.width() != expected_width(&model) {
            return Err(ModelError::Corrupt(
                "encoder and classifier widths differ".into(),
            ));
        }
        Ok(model)
    }
}

fn expected_width(model: &TrafficModel) -> usize {
    match &model.classifier {
        Classifier::Svm(svm) => svm.weights.len(),
        _ => model.encoder.width(),
    }
}
