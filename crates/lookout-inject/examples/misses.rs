//! Development aid: prints the misses and false positives of the classifier on the
//! corpus at the given `webattacks/` directory, with the rates per part.
use lookout_inject::{corpus, Classifier};
use std::path::Path;

fn main() {
    let root = std::env::args()
        .nth(1)
        .expect("usage: misses WEBATTACKS_DIR [part]");
    let part = std::env::args().nth(2).unwrap_or_default();
    let root = Path::new(&root);
    let mut c = Classifier::default();
    let parts: [(&str, Vec<corpus::Sample>, bool); 4] = [
        ("sqli", corpus::libinjection(root, "sqli-").unwrap(), true),
        ("xss", corpus::libinjection(root, "xss-").unwrap(), true),
        (
            "false_positives",
            corpus::libinjection(root, "false_positives").unwrap(),
            true,
        ),
        ("blazehttp", corpus::blazehttp(root).unwrap(), false),
    ];
    for (name, samples, lines) in parts {
        let (mut tp, mut fn_, mut fp, mut tn) = (0, 0, 0, 0);
        for s in &samples {
            let v = if lines {
                c.classify_input(&s.bytes)
            } else {
                c.classify_request(&s.bytes).unwrap_or_default()
            };
            match (s.malicious, v.attack) {
                (true, true) => tp += 1,
                (true, false) => {
                    fn_ += 1;
                    if part == name || part == "all" {
                        println!(
                            "MISS {} {:.2} {}",
                            s.source,
                            v.score,
                            String::from_utf8_lossy(&s.bytes[..s.bytes.len().min(300)])
                                .replace('\n', "\\n")
                        );
                    }
                }
                (false, true) => {
                    fp += 1;
                    if part == name || part == "all" {
                        let f = v.finding.unwrap();
                        println!(
                            "FP {} {:?} {} {} [{}]",
                            s.source, f.kind, f.rule, f.location, f.evidence
                        );
                    }
                }
                (false, false) => tn += 1,
            }
        }
        println!(
            "{name}: detection {}/{} = {:.2}%  false positives {}/{} = {:.2}%",
            tp,
            tp + fn_,
            100.0 * tp as f64 / (tp + fn_).max(1) as f64,
            fp,
            fp + tn,
            100.0 * fp as f64 / (fp + tn).max(1) as f64
        );
    }
}
