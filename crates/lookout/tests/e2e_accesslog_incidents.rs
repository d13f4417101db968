//! Incidents made for real, end to end: a real nginx (Debian) on loopback writes its
//! access log in the `combined` format and in a `log_format` with `$request_time`
//! (clients taken from `X-Forwarded-For` by `ngx_http_realip_module`); `lookout serve`
//! follows both, 1 s intervals. A steady background (40 requests/s from 20 clients,
//! 12/s of them through `proxy_pass` to a small local backend answering after 200 ms)
//! warms the baselines up, then:
//!
//! - the backend turns slow (1.5 s): `latency_degradation` on the timed log;
//! - a burst from `wrk` (two seconds, 250 clients): `traffic_spike`, and no
//!   `client_flood` (no client stands out);
//! - one client floods with `ab` (`X-Forwarded-For: 203.0.113.7`): `client_flood`
//!   naming it.
//!
//! Each is listed by `GET /api/v1/events` with its evidence, stamped at most two
//! intervals (plus one of slack) after its onset. Before them a real `logrotate -f`
//! rotates the combined log twice under the steady traffic, once by rename (`create`,
//! then `nginx -s reopen`) and once by `copytruncate`: the requests counted over all
//! stored intervals equal the lines nginx wrote across the rotated and current files
//! (`wc -l`), and the same for the timed log, never rotated. The one allowance: lines
//! nginx wrote between logrotate's copy and its truncation are in neither file (found
//! by comparing with the timed log; usually none), and may have been read before they
//! went. (`route_failing` and `error_rate_spike` are `e2e_accesslog.rs`'s.)

mod e2e_support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use e2e_support::{eventually, find_peer, free_port, nginx, now_ms, ChildGuard, Lookout};

const TIMED: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" rt=$request_time";

/// The backend's usual answer time, and its time while slow.
const USUAL_MS: u64 = 200;
const SLOW_MS: u64 = 1_500;
/// The longest onset-to-event delay allowed: 10 s, plus one interval of slack.
const MAX_DELAY_MS: i64 = 11_000;
const FLOODER: &str = "203.0.113.7";

/// An HTTP backend on loopback answering every request `ok` after `delay` ms, one
/// thread per connection (nginx opens one per proxied request; the paced clients bound
/// how many are open at once).
struct Backend {
    port: u16,
    delay: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Backend {
    fn start(delay_ms: u64) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let delay = Arc::new(AtomicU64::new(delay_ms));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (delay, stop) = (delay.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let delay = Duration::from_millis(delay.load(Ordering::SeqCst));
                    std::thread::spawn(move || answer(stream, delay));
                }
            })
        };
        Backend {
            port,
            delay,
            stop,
            thread: Some(thread),
        }
    }
}

/// Reads one request's head, waits, answers and closes.
fn answer(mut stream: TcpStream, delay: Duration) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    std::thread::sleep(delay);
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
    );
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Steady traffic: threads each sending `rate` requests a second on a schedule (a
/// thread that falls behind skips ahead instead of catching up in a burst).
struct Steady {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Steady {
    fn start(base: &str) -> Steady {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        // 28 requests/s answered by nginx itself, 12 through the backend.
        for thread in 0..2u64 {
            threads.push(paced(base, 14.0, thread, stop.clone(), |n| {
                format!("/users/{}", n % 50)
            }));
        }
        for thread in 0..12u64 {
            threads.push(paced(base, 1.0, 2 + thread, stop.clone(), |n| {
                format!("/api/items/{}", n % 30)
            }));
        }
        Steady { stop, threads }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads {
            thread.join().unwrap();
        }
    }
}

/// One paced client thread; its requests come from 20 addresses in turn.
fn paced(
    base: &str,
    rate: f64,
    thread: u64,
    stop: Arc<AtomicBool>,
    path: fn(u64) -> String,
) -> JoinHandle<()> {
    let base = base.to_string();
    std::thread::spawn(move || {
        let client = e2e_support::reqwest::blocking_client();
        let period = Duration::from_secs_f64(1.0 / rate);
        // Threads of one kind spread over the period.
        let mut next = Instant::now() + period.mul_f64((thread % 12) as f64 / 12.0);
        let mut n = 0u64;
        while !stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            } else if now - next > period {
                next = now;
            }
            next += period;
            n += 1;
            let client_address = format!("10.2.0.{}", 1 + (n * 7 + thread) % 20);
            let _ = client
                .get(format!("{base}{}", path(n)))
                .header("X-Forwarded-For", &client_address)
                .send();
        }
    })
}

fn start_nginx(binary: &Path, dir: &Path, port: u16, backend: u16) -> ChildGuard {
    let d = dir.display();
    nginx::start(
        binary,
        dir,
        &format!(
            "log_format timed '{TIMED}';\n\
             access_log {d}/combined.log combined;\n\
             access_log {d}/timed.log timed;\n\
             set_real_ip_from 127.0.0.1;\n\
             real_ip_header X-Forwarded-For;\n\
             server {{\n\
               listen 127.0.0.1:{port};\n\
               location / {{ return 200 \"ok\\n\"; }}\n\
               location /api/ {{ proxy_pass http://127.0.0.1:{backend}; }}\n\
             }}"
        ),
    )
}

/// Requests counted over every stored interval of `log` (1 s intervals: the sum of the
/// per-second rates is the count).
fn counted(lookout: &Lookout, log: &str) -> f64 {
    let answer = lookout.get_json(&format!(
        "/api/v1/query?query=sum(sum_over_time(log_http_requests_per_second{{log=%22access_log%23{log}%22}}[2h]))"
    ));
    answer["data"]["result"]
        .as_array()
        .and_then(|result| result.first())
        .and_then(|first| first["value"][1].as_str())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

/// Lines in the files, by `wc -l`.
fn lines_in(files: &[PathBuf]) -> u64 {
    let output = Command::new("wc")
        .arg("-l")
        .args(files)
        .output()
        .expect("wc");
    let text = String::from_utf8_lossy(&output.stdout);
    let last = text.lines().last().unwrap_or_default();
    last.split_whitespace()
        .next()
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("wc -l {files:?}: {text}"))
}

/// `logrotate -f` with a configuration and a state file of our own.
fn logrotate(binary: &Path, dir: &Path, name: &str, config: &str) {
    let path = dir.join(format!("logrotate-{name}.conf"));
    std::fs::write(&path, config).unwrap();
    let output = Command::new(binary)
        .arg("-f")
        .arg("-s")
        .arg(dir.join("logrotate.state"))
        .arg(&path)
        .output()
        .expect("logrotate");
    assert!(
        output.status.success(),
        "logrotate {name}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Waits for the first event of `kind` from `log` stamped after `onset` and checks it
/// came within [`MAX_DELAY_MS`].
fn incident(lookout: &Lookout, kind: &str, log: &str, onset: i64) -> serde_json::Value {
    let event = eventually(kind, Duration::from_secs(40), || {
        lookout.events(kind).into_iter().find(|event| {
            event["entity"]["log"] == log && event["timestamp_ms"].as_i64() >= Some(onset)
        })
    });
    let delay = event["timestamp_ms"].as_i64().unwrap() - onset;
    assert!(
        delay <= MAX_DELAY_MS,
        "{kind} {delay} ms after the onset: {event}"
    );
    eprintln!("{kind}: {delay} ms after the onset: {event}");
    event
}

fn count(event: &serde_json::Value, name: &str) -> u64 {
    event["evidence"]["counts"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no count {name}: {event}"))
}

fn field(event: &serde_json::Value, name: &str) -> f64 {
    event["evidence"]["fields"][name]
        .as_str()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no field {name}: {event}"))
}

#[test]
fn real_incidents_raise_their_events_and_rotations_lose_no_line() {
    let peers = (
        nginx::binary(),
        find_peer("curl", "curl"),
        find_peer("wrk", "wrk"),
        find_peer("ab", "apache2-utils"),
        find_peer("logrotate", "logrotate"),
    );
    let (Some(nginx_bin), Some(curl), Some(wrk), Some(ab), Some(logrotate_bin)) = peers else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web");
    std::fs::create_dir(&web).unwrap();
    let backend = Backend::start(USUAL_MS);
    let port = free_port();
    let _nginx = start_nginx(&nginx_bin, &web, port, backend.port);
    let base = format!("http://127.0.0.1:{port}");
    // curl through the proxied location, as a client behind a proxy: realip makes
    // `$remote_addr` the forwarded address.
    eventually("nginx answers", Duration::from_secs(20), || {
        Command::new(&curl)
            .args([
                "-sf",
                "-o",
                "/dev/null",
                "-H",
                "X-Forwarded-For: 198.51.100.1",
            ])
            .arg(format!("{base}/api/ready"))
            .status()
            .ok()
            .filter(|status| status.success())
    });
    let combined = web.join("combined.log");
    // nginx logs a request once it has answered it.
    let first = eventually("the first line", Duration::from_secs(10), || {
        std::fs::read_to_string(&combined)
            .ok()
            .filter(|text| text.ends_with('\n'))
    });
    assert!(first.starts_with("198.51.100.1 - - ["), "{first}");

    let steady = Steady::start(&base);
    let config = format!(
        "[[source]]\ntype = \"access_log\"\npath = \"{w}/combined.log\"\ninterval = \"1s\"\nread_from = \"beginning\"\n\
         [[source]]\ntype = \"access_log\"\npath = \"{w}/timed.log\"\ninterval = \"1s\"\nread_from = \"beginning\"\nformat = '{TIMED}'\n",
        w = web.display()
    );
    let lookout = Lookout::start(&dir.path().join("data"), &config);
    let kinds = ["latency_degradation", "traffic_spike", "client_flood"];

    // Warm-up (12 intervals of 1 s, plus margin), with the rotations: the file is small
    // then, so logrotate's copy is quick, and few lines if any are written between its
    // copy and its truncation (lines in neither file, that lookout may have read).
    std::thread::sleep(Duration::from_secs(5));
    let reopen = nginx::options(&web).join(" ");
    logrotate(
        &logrotate_bin,
        &web,
        "create",
        &format!(
            "{c} {{\n  rotate 5\n  create\n  postrotate\n    {n} {reopen} -s reopen\n  endscript\n}}\n",
            c = combined.display(),
            n = nginx_bin.display()
        ),
    );
    std::thread::sleep(Duration::from_secs(4));
    // A rotation by copytruncate under the steady traffic.
    logrotate(
        &logrotate_bin,
        &web,
        "copytruncate",
        &format!(
            "{c} {{\n  rotate 5\n  copytruncate\n}}\n",
            c = combined.display()
        ),
    );
    std::thread::sleep(Duration::from_secs(5));
    for kind in kinds {
        assert!(
            lookout.events(kind).is_empty(),
            "no {kind} on steady traffic: {:?}",
            lookout.events(kind)
        );
    }

    // The backend turns slow.
    let onset = now_ms();
    backend.delay.store(SLOW_MS, Ordering::SeqCst);
    let slow = incident(&lookout, "latency_degradation", "access_log#2", onset);
    backend.delay.store(USUAL_MS, Ordering::SeqCst);
    assert!(field(&slow, "during_p95_seconds") >= 1.0, "{slow}");
    assert!(field(&slow, "before_p95_seconds") < 0.5, "{slow}");
    assert!(count(&slow, "timed_requests") >= 20, "{slow}");
    let examples = slow["evidence"]["examples"].as_array().unwrap();
    assert!(
        examples
            .iter()
            .any(|line| line.as_str().unwrap().contains("/api/items/")),
        "{slow}"
    );
    std::thread::sleep(Duration::from_secs(3)); // back to usual

    // A burst from wrk, spread over 250 clients.
    let script = web.join("burst.lua");
    std::fs::write(
        &script,
        "local n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format(\"GET\", \"/burst/\" .. (n % 100), \
         {[\"X-Forwarded-For\"] = \"10.3.0.\" .. (n % 250)})\nend\n",
    )
    .unwrap();
    let onset = now_ms();
    let output = Command::new(&wrk)
        .args(["-t1", "-c8", "-d2s", "-s"])
        .arg(&script)
        .arg(format!("{base}/"))
        .output()
        .expect("wrk");
    assert!(output.status.success(), "wrk: {output:?}");
    let spike = incident(&lookout, "traffic_spike", "access_log#1", onset);
    let before = count(&spike, "before");
    assert!((20..=80).contains(&before), "{spike}");
    assert!(
        count(&spike, "during") as f64 >= 2.5 * before as f64,
        "{spike}"
    );
    assert_eq!(spike["entity"]["vhost"], "_", "{spike}");
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        lookout.events("client_flood").is_empty(),
        "a burst from many clients is no flood: {:?}",
        lookout.events("client_flood")
    );

    // One client floods.
    let onset = now_ms();
    let output = Command::new(&ab)
        .args(["-q", "-n", "1500", "-c", "4", "-H"])
        .arg(format!("X-Forwarded-For: {FLOODER}"))
        .arg(format!("{base}/flood/"))
        .output()
        .expect("ab");
    let report = String::from_utf8_lossy(&output.stdout);
    let reported = |name: &str| -> Option<u64> {
        let line = report.lines().find(|line| line.starts_with(name))?;
        line[name.len()..].trim().parse().ok()
    };
    assert!(
        output.status.success()
            && reported("Complete requests:") == Some(1500)
            && reported("Failed requests:") == Some(0),
        "ab: {report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let flood = incident(&lookout, "client_flood", "access_log#1", onset);
    assert_eq!(flood["entity"]["client"], FLOODER, "{flood}");
    assert!(count(&flood, "during") >= 50, "{flood}");
    assert!(field(&flood, "during_share") >= 0.3, "{flood}");
    assert!(field(&flood, "before_share") < 0.2, "{flood}");
    let examples = flood["evidence"]["examples"].as_array().unwrap();
    assert!(
        examples
            .iter()
            .all(|line| line.as_str().unwrap().starts_with(FLOODER)),
        "{flood}"
    );

    std::thread::sleep(Duration::from_secs(2));
    steady.stop();
    std::thread::sleep(Duration::from_secs(1)); // the last answers' lines logged
                                                // Every line nginx wrote, across the rotated files and the current one, is counted
                                                // once: wait for the last intervals to close, then check the count stays.
    let combined_files = vec![
        web.join("combined.log.2"),
        web.join("combined.log.1"),
        combined.clone(),
    ];
    for file in &combined_files {
        assert!(
            lines_in(std::slice::from_ref(file)) > 0,
            "{} is empty",
            file.display()
        );
    }
    let timed = web.join("timed.log");
    let written = (
        lines_in(&combined_files),
        lines_in(std::slice::from_ref(&timed)),
    );
    let lost = lost_by_copytruncate(&timed, &combined_files);
    let deadline = Instant::now() + Duration::from_secs(30);
    let read = || (counted(&lookout, "1"), counted(&lookout, "2"));
    let reached =
        |(combined, timed): (f64, f64)| combined >= written.0 as f64 && timed >= written.1 as f64;
    let mut last = read();
    while !reached(last) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        last = read();
    }
    std::thread::sleep(Duration::from_secs(3));
    let settled = read();
    eprintln!(
        "lines written (combined, timed) {written:?}, {lost} lost by copytruncate, counted {settled:?}"
    );
    assert_eq!(last, settled, "the counts stay");
    assert_eq!(settled.1, written.1 as f64, "timed log: every line once");
    // A line logrotate lost may have been read before it went: counted, in no file.
    assert!(
        settled.0 >= written.0 as f64 && settled.0 <= (written.0 + lost) as f64,
        "combined log: {} counted, {} lines in the rotated and current files, {lost} lost by copytruncate",
        settled.0,
        written.0
    );
}

/// The requests of the (never rotated) timed log whose line is in none of the combined
/// files: the ones nginx wrote between logrotate's copy and its truncation. Every
/// combined line is a timed line less its ` rt=` field.
fn lost_by_copytruncate(timed: &Path, combined: &[PathBuf]) -> u64 {
    let mut left: HashMap<String, i64> = HashMap::new();
    for line in std::fs::read_to_string(timed).unwrap().lines() {
        let request = line.rsplit_once(" rt=").map_or(line, |(head, _)| head);
        *left.entry(request.to_string()).or_default() += 1;
    }
    for file in combined {
        for line in std::fs::read_to_string(file).unwrap().lines() {
            *left.entry(line.to_string()).or_default() -= 1;
        }
    }
    let strays: Vec<_> = left
        .iter()
        .filter(|(_, count)| **count < 0)
        .take(3)
        .collect();
    assert!(
        strays.is_empty(),
        "combined lines with no timed line: {strays:?}"
    );
    left.values().map(|count| *count as u64).sum()
}
