//! Accuracy floors on the development web-attack corpus (`../shared/datasets/webattacks/
//! webattacks-dev.tar.xz` beside the repository, unpacked once into the cache directory):
//! detection ≥ 98 % of the attacks and false positives ≤ 0.5 % of the benign inputs, on
//! blazehttp's raw requests and on libinjection's lists. Skips when the archive is
//! absent, fails under `CI=true`.

use lookout_inject::{corpus, Classifier};
use std::path::{Path, PathBuf};

fn root() -> Option<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let archive = corpus::archive_beside(&repo);
    if !archive.exists() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "the web-attack corpus is missing: expected {}",
                archive.display()
            );
        }
        eprintln!(
            "skipping: web-attack corpus not found at {}",
            archive.display()
        );
        return None;
    }
    Some(corpus::unpack(&archive, &corpus::cache_dir()).expect("unpack the corpus"))
}

struct Rates {
    attacks: usize,
    detected: usize,
    benign: usize,
    false_positives: usize,
}

fn score(samples: &[corpus::Sample], lines: bool) -> Rates {
    let mut c = Classifier::default();
    let mut r = Rates {
        attacks: 0,
        detected: 0,
        benign: 0,
        false_positives: 0,
    };
    for s in samples {
        let attack = if lines {
            c.classify_input(&s.bytes).attack
        } else {
            c.classify_request(&s.bytes)
                .map(|v| v.attack)
                .unwrap_or(false)
        };
        if s.malicious {
            r.attacks += 1;
            r.detected += usize::from(attack);
        } else {
            r.benign += 1;
            r.false_positives += usize::from(attack);
        }
    }
    r
}

fn check_detection(name: &str, r: &Rates) {
    let rate = r.detected as f64 / r.attacks as f64;
    eprintln!(
        "{name}: detected {}/{} = {:.2} %",
        r.detected,
        r.attacks,
        100.0 * rate
    );
    assert!(r.attacks > 0, "{name}: no attacks read");
    assert!(
        rate >= 0.98,
        "{name}: detection {:.2} % < 98 %",
        100.0 * rate
    );
}

fn check_false_positives(name: &str, r: &Rates) {
    let rate = r.false_positives as f64 / r.benign as f64;
    eprintln!(
        "{name}: false positives {}/{} = {:.2} %",
        r.false_positives,
        r.benign,
        100.0 * rate
    );
    assert!(r.benign > 0, "{name}: no benign inputs read");
    assert!(
        rate <= 0.005,
        "{name}: false positives {:.2} % > 0.5 %",
        100.0 * rate
    );
}

#[test]
fn blazehttp_requests() {
    let Some(root) = root() else { return };
    let r = score(&corpus::blazehttp(&root).unwrap(), false);
    check_detection("blazehttp .black", &r);
    check_false_positives("blazehttp .white", &r);
}

#[test]
fn libinjection_lists() {
    let Some(root) = root() else { return };
    check_detection(
        "libinjection sqli-*",
        &score(&corpus::libinjection(&root, "sqli-").unwrap(), true),
    );
    check_detection(
        "libinjection xss-*",
        &score(&corpus::libinjection(&root, "xss-").unwrap(), true),
    );
    check_false_positives(
        "libinjection false_positives",
        &score(
            &corpus::libinjection(&root, "false_positives").unwrap(),
            true,
        ),
    );
}
