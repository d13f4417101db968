//! End to end with the real binary: the listener's connection limits against idle and
//! slow clients (`max_connections`, `header_read_timeout`, `idle_timeout`,
//! `body_read_timeout`), over raw TCP connections.

mod e2e_support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use e2e_support::Lookout;

fn config(server: &str) -> String {
    format!("[server]\n{server}\n\n[detection]\nprofile = \"default\"\n")
}

fn connect(lookout: &Lookout) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", lookout.port)).expect("connecting");
    stream.set_nodelay(true).unwrap();
    stream
}

fn request(lookout: &Lookout, path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
        lookout.port
    )
}

/// Reads one response (head and a `Content-Length` body) within `timeout`; None if
/// nothing complete arrived by then.
fn read_response(stream: &mut TcpStream, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                return Some(text);
            }
        }
        let left = deadline.checked_duration_since(Instant::now())?;
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match stream.read(&mut buffer) {
            Ok(0) => return None,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None
            }
            Err(_) => return None,
        }
    }
}

/// Waits up to `timeout` for the server to close `stream`; the time it took, or None.
fn closed_within(stream: &mut TcpStream, timeout: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        let left = timeout.checked_sub(start.elapsed())?;
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match stream.read(&mut buffer) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => continue, // an error answer (408) before the close
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None
            }
            Err(_) => return Some(start.elapsed()), // reset
        }
    }
}

#[test]
fn slow_headers_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let lookout = Lookout::start(
        &dir.path().join("data"),
        &config("header_read_timeout = \"1s\"\nidle_timeout = \"60s\""),
    );
    let mut slow = connect(&lookout);
    let request = request(&lookout, "/healthz");
    // Everything but the blank line that ends the headers.
    slow.write_all(request.trim_end().as_bytes()).unwrap();
    let took = closed_within(&mut slow, Duration::from_secs(20))
        .expect("a connection with unfinished headers is closed");
    assert!(took < Duration::from_secs(15), "closed after {took:?}");
    // The server still answers.
    let mut fresh = connect(&lookout);
    fresh.write_all(request.as_bytes()).unwrap();
    let answer = read_response(&mut fresh, Duration::from_secs(20)).expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn idle_connections_do_not_exhaust_file_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    let lookout = Lookout::start(
        &dir.path().join("data"),
        &config("max_connections = 8\nheader_read_timeout = \"1s\""),
    );
    // Four times the limit of connections that never send a byte.
    let mut idle: Vec<TcpStream> = (0..32).map(|_| connect(&lookout)).collect();
    // Each is closed after header_read_timeout, making room for the next ones.
    for stream in &mut idle {
        assert!(
            closed_within(stream, Duration::from_secs(60)).is_some(),
            "an idle connection was kept open"
        );
    }
    let mut fresh = connect(&lookout);
    fresh
        .write_all(request(&lookout, "/healthz").as_bytes())
        .unwrap();
    let answer = read_response(&mut fresh, Duration::from_secs(20)).expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let lookout = Lookout::start(
        &dir.path().join("data"),
        &config("header_read_timeout = \"60s\"\nidle_timeout = \"1s\""),
    );
    let mut stream = connect(&lookout);
    stream
        .write_all(request(&lookout, "/healthz").as_bytes())
        .unwrap();
    let answer = read_response(&mut stream, Duration::from_secs(20)).expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Kept alive, then idle: closed after idle_timeout, well before header_read_timeout.
    let took = closed_within(&mut stream, Duration::from_secs(30))
        .expect("an idle kept-alive connection is closed");
    assert!(took < Duration::from_secs(30), "closed after {took:?}");
}

#[test]
fn connections_over_the_limit_wait_for_a_free_slot() {
    let dir = tempfile::tempdir().unwrap();
    let lookout = Lookout::start(
        &dir.path().join("data"),
        &config("max_connections = 2\nheader_read_timeout = \"60s\"\nidle_timeout = \"60s\""),
    );
    let request = request(&lookout, "/healthz");
    let slow = format!(
        "POST /api/v1/samples HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[",
        lookout.port
    );
    // Two connections in use (each in the middle of a request body) take both slots.
    let mut busy: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut stream = connect(&lookout);
            stream.write_all(slow.as_bytes()).unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let mut waiting = connect(&lookout);
    waiting.write_all(request.as_bytes()).unwrap();
    assert_eq!(
        read_response(&mut waiting, Duration::from_secs(2)),
        None,
        "a third connection was served over max_connections = 2 with both in use"
    );
    // Closing one frees a slot: the waiting connection is accepted and answered.
    drop(busy.pop());
    let answer = read_response(&mut waiting, Duration::from_secs(30)).expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Idle connections once held every slot, so `/healthz` went unanswered under an idle
/// flood: when all slots are taken, the connection idle the longest makes room.
#[test]
fn a_full_listener_closes_its_idlest_connection_for_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let lookout = Lookout::start(
        &dir.path().join("data"),
        &config("max_connections = 2\nheader_read_timeout = \"60s\"\nidle_timeout = \"60s\""),
    );
    let request = request(&lookout, "/healthz");
    // Two kept-alive connections, answered then idle, take both slots; the first is
    // idle the longest.
    let mut held: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut stream = connect(&lookout);
            stream.write_all(request.as_bytes()).unwrap();
            let answer = read_response(&mut stream, Duration::from_secs(20)).expect("an answer");
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            std::thread::sleep(Duration::from_millis(300));
            stream
        })
        .collect();
    let mut third = connect(&lookout);
    third.write_all(request.as_bytes()).unwrap();
    let answer = read_response(&mut third, Duration::from_secs(10)).expect("the third answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The idlest (the first) was closed; the other is still served.
    let mut first = held.remove(0);
    assert!(
        closed_within(&mut first, Duration::from_secs(5)).is_some(),
        "the idlest connection is closed"
    );
    let mut second = held.remove(0);
    second.write_all(request.as_bytes()).unwrap();
    let answer = read_response(&mut second, Duration::from_secs(20)).expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn slow_bodies_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let lookout = Lookout::start(
        &dir.path().join("data"),
        &config("body_read_timeout = \"1s\""),
    );
    let mut slow = connect(&lookout);
    let head = format!(
        "POST /api/v1/samples HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[",
        lookout.port
    );
    slow.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let answer =
        read_response(&mut slow, Duration::from_secs(30)).expect("an answer to the stalled body");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    assert!(
        answer.contains("body_read_timeout"),
        "the answer names the limit: {answer}"
    );
}

#[test]
fn requests_in_flight_outlive_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let lookout = Lookout::start(
        &dir.path().join("data"),
        &config("idle_timeout = \"1s\"\nbody_read_timeout = \"4s\""),
    );
    let mut slow = connect(&lookout);
    let head = format!(
        "POST /api/v1/samples HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[",
        lookout.port
    );
    slow.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    // Silent for longer than idle_timeout, but a request is being handled: it is
    // answered (at body_read_timeout), not dropped.
    let answer = read_response(&mut slow, Duration::from_secs(30))
        .expect("the request in flight is answered, not cut by idle_timeout");
    assert!(answer.contains("body_read_timeout"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "answered after {:?}",
        started.elapsed()
    );
}
