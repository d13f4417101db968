#![no_main]
//! Content-injection classification: the input as one raw HTTP request
//! (`lookout_inject::Classifier::classify_request`: request line, headers, cookies,
//! forms, JSON and multipart bodies split into fields) and as one URL-encoded input
//! (`classify_input`), under limits the first four bytes pick (small, so that field
//! cuts and the field count are reached).
//!
//! Checked: the score is in [0, 1] and is the finding's; `attack` is the score at or
//! over the threshold; no more fields than `max_fields`; evidence within
//! `max_evidence_chars` (plus the `base64 ` label of an attack found inside base64).
use libfuzzer_sys::fuzz_target;
use lookout_inject::{Classifier, Limits, Verdict, ATTACK_THRESHOLD};

/// What a base64 finding's evidence starts with, on top of the limit.
const BASE64_LABEL: usize = "base64 ".len();

fn check(verdict: &Verdict, limits: &Limits) {
    assert!((0.0..=1.0).contains(&verdict.score), "{verdict:?}");
    assert_eq!(
        verdict.attack,
        verdict.score >= ATTACK_THRESHOLD,
        "{verdict:?}"
    );
    match &verdict.finding {
        Some(finding) => {
            assert_eq!(finding.score, verdict.score);
            assert!(
                finding.evidence.chars().count() <= limits.max_evidence_chars + BASE64_LABEL,
                "{verdict:?}"
            );
        }
        None => assert_eq!(verdict.score, 0.0, "{verdict:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((params, raw)) = data.split_first_chunk::<4>() else {
        return;
    };
    let max_field_bytes = 1 + usize::from(params[0]) * 64;
    let limits = Limits {
        max_field_bytes,
        max_raw_field_bytes: max_field_bytes * (1 + usize::from(params[1] % 4)),
        max_fields: 1 + usize::from(params[2] % 32),
        max_evidence_chars: usize::from(params[3]),
    };
    let mut classifier = Classifier::new(limits);
    if let Ok(verdict) = classifier.classify_request(raw) {
        check(&verdict, &limits);
        assert!(verdict.fields <= limits.max_fields, "{verdict:?}");
    }
    let verdict = classifier.classify_input(raw);
    check(&verdict, &limits);
    assert_eq!(verdict.fields, 1);
});
