//! A `kill -9` of `lookout serve` while it follows an access log: after the restart it
//! resumes each file at its saved read offset, so the requests counted over all
//! intervals equal the lines written exactly. From the end (`read_from = "end"`), a
//! restart without saved offsets would skip the lines written while it was down (both
//! checked by hand: 4876 of 7076 lines counted), a resume past the open interval would
//! lose that interval's lines (7351 of 8051); lines of closed intervals read again
//! store those intervals again with the same values (the first write of a time is kept), so the sum over all
//! intervals would show any line counted twice.

mod e2e_support;

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e_support::{eventually, Lookout};

/// One combined-format line stamped now.
fn line(index: u64) -> String {
    let now = chrono::Utc::now().format("%d/%b/%Y:%H:%M:%S +0000");
    format!(
        "10.0.{}.{} - - [{now}] \"GET /users/{}/orders HTTP/1.1\" 200 {} \"-\" \"resume-test\"\n",
        index % 7,
        index % 200,
        index % 50,
        100 + index % 900
    )
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// Requests counted over every stored interval of the log.
fn counted(lookout: &Lookout) -> f64 {
    let answer = lookout.get_json(
        "/api/v1/query?query=sum(sum_over_time(log_http_requests_per_second{log=%22access_log%231%22}[2h]))",
    );
    answer["data"]["result"]
        .as_array()
        .and_then(|result| result.first())
        .and_then(|first| first["value"][1].as_str())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

/// Appends bursts of lines until stopped; counts the lines written.
fn writer(
    path: &Path,
    written: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            let mut burst = String::new();
            for _ in 0..25 {
                burst.push_str(&line(written.fetch_add(1, Ordering::SeqCst)));
            }
            append(&path, &burst);
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

#[test]
fn a_killed_server_resumes_the_access_log_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, &line(u64::MAX)); // before the start: not read (read_from = "end")
    let data = dir.path().join("data");
    let config = format!(
        "[[source]]\ntype = \"access_log\"\npath = \"{}\"\ninterval = \"1s\"\nread_from = \"end\"\n",
        log.display()
    );
    let mut first = Lookout::start(&data, &config);
    let written = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let appending = writer(&log, written.clone(), stop.clone());
    // Mid-stream: some intervals stored, the writer still going.
    eventually(
        "intervals stored before the kill",
        Duration::from_secs(60),
        || (counted(&first) >= 500.0).then_some(()),
    );
    first.guard.kill_hard(); // SIGKILL
                             // Lines written while the server is down, and a line cut in two by the restart.
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::SeqCst);
    appending.join().unwrap();
    let cut = line(written.fetch_add(1, Ordering::SeqCst));
    let (head, tail) = cut.split_at(cut.len() / 2);
    append(&log, head);
    let second = Lookout::start(&data, &config);
    append(&log, tail);
    stop.store(false, Ordering::SeqCst);
    let appending = writer(&log, written.clone(), stop.clone());
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::SeqCst);
    appending.join().unwrap();
    let total = written.load(Ordering::SeqCst) as f64;

    // Every interval closes within a few seconds of its end: wait for the count to
    // reach the lines written, then check it stays there.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = counted(&second);
    while last < total && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        last = counted(&second);
    }
    std::thread::sleep(Duration::from_secs(4));
    let settled = counted(&second);
    assert_eq!(
        (last, settled),
        (total, total),
        "requests counted over all intervals vs lines written ({total}): none skipped, none twice"
    );
}
