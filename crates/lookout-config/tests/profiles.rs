//! Every profile and detector of the detector registry is a valid `profile`.

use lookout_config::Config;

/// `knn` was missing from the list of detection profiles although the engine builds it.
#[test]
fn knn_is_a_valid_profile_everywhere() {
    let text =
        "[detection]\nprofile = \"knn\"\n[[detection.override]]\nmatch = 'x'\nprofile = \"knn\"\n";
    let config = Config::from_str_named(text, "lookout.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.detection.profile, "knn");
    assert_eq!(
        config.detection.overrides[0].profile.as_deref(),
        Some("knn")
    );
}

#[test]
fn every_registered_pipeline_name_is_accepted_and_others_are_listed() {
    for name in lookout_detect::registry::PIPELINE_NAMES {
        let text = format!("[detection]\nprofile = \"{name}\"\n");
        Config::from_str_named(&text, "lookout.toml").unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let errors = Config::from_str_named("[detection]\nprofile = \"fast\"\n", "lookout.toml")
        .unwrap_err()
        .to_string();
    assert!(
        errors.contains("unknown profile \"fast\" (known: default, thorough, robust_z"),
        "{errors}"
    );
    assert!(errors.contains("knn"), "{errors}");
}
