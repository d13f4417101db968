//! End to end with real attackers: a small application (tests/webinject_app.py, its
//! `/item?id=` deliberately injectable) behind a real nginx on loopback, probed by a real
//! **sqlmap** in a bounded run (boolean-blind and UNION techniques, level 1, one thread,
//! a time limit) from 127.0.0.1, and by curl with lists of XSS payloads from 127.0.0.2 and
//! path-traversal payloads from 127.0.0.3. `lookout serve` follows nginx's access log
//! with `[[source]] type = "access_log"`.
//!
//! The oracle is nginx's own access log, read independently here: every line of each
//! client that carries a payload (a query value, decoded, that is neither a number nor a
//! difference of two numbers: sqlmap's page-comparison probes `id=5821` and
//! `id=1741-1740` carry nothing an application could tell from a legitimate value) must be
//! flagged, with its kind, and nothing else: the closed incident of each client counts
//! exactly those lines, all of kind `sqli` for sqlmap, `xss` and `traversal` for the
//! lists; every line is counted in the derived series.

mod e2e_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use e2e_support::{eventually, find_peer, free_port, nginx, ChildGuard, Lookout};

const XSS: &[&str] = &[
    "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/search?q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
    "/search?q=%3Csvg%2Fonload%3Dalert(1)%3E",
    "/search?q=%22%3E%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E",
    "/search?q=javascript%3Aalert(1)",
    "/search?q=%3Ciframe%20src%3D%22javascript%3Aalert(1)%22%3E",
    "/search?q=%3Cbody%20onload%3Dalert(1)%3E",
    "/search?q=%27%3E%3Cimg%20src%3Dx%20onerror%3Dprompt(1)%3E",
    "/search?q=%253Cscript%253Ealert(1)%253C%252Fscript%253E",
    "/search?q=%3Cdetails%20open%20ontoggle%3Dalert(1)%3E",
];

const TRAVERSAL: &[&str] = &[
    "/download?file=../../../../etc/passwd",
    "/download?file=..%2F..%2F..%2Fetc%2Fpasswd",
    "/download?file=....%2F%2F....%2F%2F....%2F%2Fetc%2Fpasswd",
    "/download?file=..%5C..%5C..%5Cwindows%5Cwin.ini",
    "/download?file=%252e%252e%252f%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "/download?file=file%3A%2F%2F%2Fetc%2Fpasswd",
    "/download?file=..%2F..%2F..%2F..%2Fproc%2Fself%2Fenviron",
    "/static/..%2F..%2F..%2Fetc%2Fshadow",
    "/download?file=%2e%2e%2f%2e%2e%2f%2e%2e%2fboot.ini",
    "/download?file=..%c0%af..%c0%af..%c0%afetc%c0%afpasswd",
];

/// Clean requests each client also sends: none may be flagged.
const CLEAN: &[&str] = &[
    "/",
    "/search?q=blue+shoes",
    "/download?file=invoice-2026-11.pdf",
    "/item?id=7",
];

fn start_nginx(binary: &Path, dir: &Path, port: u16, app_port: u16) -> ChildGuard {
    let d = dir.display();
    nginx::start(
        binary,
        dir,
        &format!(
            "access_log {d}/access.log combined;\n\
             server {{\n\
               listen 127.0.0.1:{port};\n\
               location / {{ proxy_pass http://127.0.0.1:{app_port}; }}\n\
             }}"
        ),
    )
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a request target carries a payload; see the module documentation.
fn carries_payload(target: &str) -> bool {
    let Some((path, query)) = target.split_once('?') else {
        return target.contains("..") || target.contains('%');
    };
    if path.contains('%') || path.contains("..") {
        return true;
    }
    query.split('&').any(|pair| {
        let mut value = pair.split_once('=').map_or(pair, |(_, v)| v).to_string();
        for _ in 0..4 {
            value = percent_decode(&value);
        }
        let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let plain = number(&value)
            || value
                .split_once('-')
                .is_some_and(|(a, b)| number(a) && number(b));
        let clean = CLEAN.iter().any(|c| c.ends_with(pair));
        !plain && !clean
    })
}

/// (client, target) of each line of nginx's combined log.
fn nginx_lines(log: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|line| {
            let client = line.split_whitespace().next().unwrap().to_string();
            let request = line.split('"').nth(1).unwrap();
            let target = request.split(' ').nth(1).unwrap_or("-").to_string();
            (client, target)
        })
        .collect()
}

fn closed_incident(lookout: &Lookout, client: &str) -> Option<serde_json::Value> {
    let listed = lookout.get_json("/api/v1/events?from=now-1h&kind=content_injection&limit=1000");
    listed["data"]["events"]
        .as_array()?
        .iter()
        .find(|e| {
            e["entity"]["client"] == client && e["evidence"]["fields"]["incident"] == "closed"
        })
        .cloned()
}

fn query_scalar(lookout: &Lookout, promql: &str) -> f64 {
    let path = format!(
        "/api/v1/query?query={}",
        promql
            .replace('%', "%25")
            .replace(' ', "%20")
            .replace('{', "%7B")
            .replace('}', "%7D")
            .replace('"', "%22")
            .replace('[', "%5B")
            .replace(']', "%5D")
            .replace('+', "%2B")
    );
    let answer = lookout.get_json(&path);
    answer["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn curl(curl: &Path, from: &str, base: &str, target: &str) {
    let status = Command::new(curl)
        .args([
            "-s",
            "-o",
            "/dev/null",
            "--path-as-is",
            "--max-time",
            "5",
            "--interface",
            from,
        ])
        .arg(format!("{base}{target}"))
        .status()
        .unwrap();
    assert!(status.success(), "curl {target} from {from}: {status}");
}

#[test]
fn sqlmap_xss_and_traversal_probes_are_each_seen_and_named() {
    let (Some(nginx), Some(sqlmap), Some(python), Some(curl_bin)) = (
        nginx::binary(),
        find_peer("sqlmap", "sqlmap"),
        find_peer("python3", "python3"),
        find_peer("curl", "curl"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web");
    std::fs::create_dir(&web).unwrap();
    let app_port = free_port();
    let app_script: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webinject_app.py");
    let _app = ChildGuard::spawn(
        "application",
        Command::new(&python)
            .arg(&app_script)
            .arg(app_port.to_string()),
        &web.join("app.out"),
    );
    let port = free_port();
    let _nginx = start_nginx(&nginx, &web, port, app_port);
    let base = format!("http://127.0.0.1:{port}");
    let client = e2e_support::reqwest::blocking_client();
    eventually(
        "nginx and the application answer",
        Duration::from_secs(20),
        || {
            client
                .get(format!("{base}/item?id=1"))
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        },
    );
    let config = format!(
        "[[source]]\ntype = \"access_log\"\npath = \"{}/access.log\"\nread_from = \"beginning\"\n\
         interval = \"1s\"\ninjection_window = \"3s\"\n",
        web.display()
    );
    let lookout = Lookout::start(&dir.path().join("data"), &config);

    // sqlmap, bounded: two techniques, level and risk 1, one thread, a time limit.
    let started = Instant::now();
    let mut scan = ChildGuard::spawn(
        "sqlmap",
        Command::new(&sqlmap)
            .arg("-u")
            .arg(format!("{base}/item?id=1"))
            .args([
                "--batch",
                "--level",
                "1",
                "--risk",
                "1",
                "--technique=BU",
                "--threads",
                "1",
                "--timeout",
                "5",
                "--retries",
                "0",
                "--flush-session",
                "--disable-coloring",
            ])
            .arg(format!("--output-dir={}", web.join("sqlmap").display()))
            .env("HOME", dir.path()),
        &web.join("sqlmap.out"),
    );
    let finished = loop {
        if let Some(output) = scan.exited_output() {
            break output;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "sqlmap still running after 240 s:\n{}",
            scan.output()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        finished.contains("identified the following injection point"),
        "sqlmap found the injectable parameter (so it sent its payloads):\n{finished}"
    );
    for target in CLEAN.iter().chain(XSS) {
        curl(&curl_bin, "127.0.0.2", &base, target);
    }
    for target in CLEAN.iter().chain(TRAVERSAL) {
        curl(&curl_bin, "127.0.0.3", &base, target);
    }

    // The oracle: nginx's own lines, per client. nginx writes a request's line after it
    // has sent the answer, so the last lines may land a moment after curl returned.
    let expected_lines =
        |client: &str, probes: &[&str]| (client.to_string(), CLEAN.len() + probes.len());
    let wanted = [
        expected_lines("127.0.0.2", XSS),
        expected_lines("127.0.0.3", TRAVERSAL),
    ];
    let lines = eventually("nginx logged every probe", Duration::from_secs(20), || {
        let lines = nginx_lines(&web.join("access.log"));
        wanted
            .iter()
            .all(|(client, count)| lines.iter().filter(|(c, _)| c == client).count() >= *count)
            .then_some(lines)
    });
    let payloads = |client: &str| {
        lines
            .iter()
            .filter(|(c, t)| c == client && carries_payload(t))
            .count() as u64
    };
    let sqlmap_payloads = payloads("127.0.0.1");
    assert!(
        sqlmap_payloads >= 20,
        "sqlmap sent {sqlmap_payloads} payloads"
    );
    assert_eq!(payloads("127.0.0.2"), XSS.len() as u64);
    assert_eq!(payloads("127.0.0.3"), TRAVERSAL.len() as u64);

    for (client, kind, expected) in [
        ("127.0.0.1", "sqli", sqlmap_payloads),
        ("127.0.0.2", "xss", XSS.len() as u64),
        ("127.0.0.3", "traversal", TRAVERSAL.len() as u64),
    ] {
        let incident = eventually(
            &format!("the closed incident of {client}"),
            Duration::from_secs(60),
            || closed_incident(&lookout, client),
        );
        let evidence = &incident["evidence"];
        assert_eq!(evidence["fields"]["attack_kind"], kind, "{incident}");
        assert_eq!(evidence["fields"]["kinds"], kind, "only {kind}: {incident}");
        assert_eq!(
            evidence["counts"]["requests"], expected,
            "every payload line of {client} in nginx's log, and nothing else: {incident}"
        );
        assert_eq!(evidence["counts"][kind], expected, "{incident}");
        assert!(!evidence["examples"].as_array().unwrap().is_empty());
    }
    // The decoded fragment is the evidence.
    let listed = lookout.get_json("/api/v1/events?from=now-1h&kind=content_injection&limit=1000");
    let events = listed["data"]["events"].as_array().unwrap();
    let opened: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["evidence"]["fields"]["incident"] == "open")
        .collect();
    assert_eq!(opened.len(), 3, "one incident per client: {listed}");
    let xss = opened
        .iter()
        .find(|e| e["entity"]["client"] == "127.0.0.2")
        .unwrap();
    assert!(
        xss["evidence"]["fields"]["evidence"]
            .as_str()
            .unwrap()
            .contains("<script>"),
        "{xss}"
    );
    // Every line is counted in the derived series, the flagged ones by kind.
    let flagged = sqlmap_payloads + (XSS.len() + TRAVERSAL.len()) as u64;
    let total = lines.len() as f64;
    eventually(
        "all of nginx's lines in the series",
        Duration::from_secs(30),
        || {
            let seen = query_scalar(
                &lookout,
                "sum(sum_over_time(log_http_requests_per_second{vhost=\"_\"}[1h]))",
            );
            let injections = query_scalar(
                &lookout,
                "sum(sum_over_time(log_http_injection_requests_per_second[1h]))",
            );
            ((seen - total).abs() < 0.5 && (injections - flagged as f64).abs() < 0.5).then_some(())
        },
    );
}
