//! Test support: free loopback ports, moto's server mode from the peers venv (killed on
//! drop), and a scripted HTTP server for the metadata and container endpoints.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn venv() -> PathBuf {
    std::env::var_os("LOOKOUT_PEERS_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(".cache/lookout/peers-venv"))
        })
        .expect("LOOKOUT_PEERS_VENV or HOME")
}

/// A running moto server, killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// moto_server from the peers venv; `None` (skip) when missing, a panic under CI=true.
    pub fn start() -> Option<Moto> {
        let program = venv().join("bin/moto_server");
        if !program.exists() {
            let message = format!(
                "moto_server not found at {}: run tests/peers/install-cloudwatch.sh (PyPI moto[server])",
                program.display()
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{message}");
            }
            eprintln!("skipped: {message}");
            return None;
        }
        let port = free_port();
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto_server");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP server on a free loopback port answering each request with
/// `answer(request line + headers, body)` → (status, body); records the request heads.
pub struct Scripted {
    pub endpoint: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    pub fn start(answer: impl Fn(&str, &str) -> (u16, String) + Send + 'static) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let Some((head, body)) = read_request(&mut stream) else {
                    continue;
                };
                seen.lock().unwrap().push(head.clone());
                let (status, text) = answer(&head, &body);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        Scripted { endpoint, requests }
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn read_request(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut length = 0usize;
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        head.push_str(line);
        head.push('\n');
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((head, String::from_utf8_lossy(&body).into_owned()))
}

/// A credentials document of the metadata and container endpoints.
pub fn credentials_document(key: &str, expires: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        r#"{{"Code":"Success","AccessKeyId":"{key}","SecretAccessKey":"{key}-secret","Token":"{key}-token","Expiration":"{}"}}"#,
        expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

pub const IMDS_TOKEN: &str = "imds-session-token";

/// An IMDSv2 service as documented: `PUT /latest/api/token` with a TTL header gives a
/// session token; every metadata `GET` without that token is answered 401.
pub fn imds(role_document: impl Fn() -> String + Send + 'static) -> Scripted {
    Scripted::start(move |head, _| {
        let first = head.lines().next().unwrap_or("");
        let has = |header: &str| {
            head.to_ascii_lowercase()
                .contains(&header.to_ascii_lowercase())
        };
        if first.starts_with("PUT /latest/api/token") {
            if !has("x-aws-ec2-metadata-token-ttl-seconds: 21600") {
                return (400, "missing TTL".into());
            }
            return (200, IMDS_TOKEN.into());
        }
        if first.starts_with("PUT ") {
            return (405, "method not allowed".into());
        }
        if !has(&format!("x-aws-ec2-metadata-token: {IMDS_TOKEN}")) {
            return (401, "no token".into());
        }
        match first.split_whitespace().nth(1) {
            Some("/latest/meta-data/iam/security-credentials/") => (200, "lookout-role\n".into()),
            Some("/latest/meta-data/iam/security-credentials/lookout-role") => {
                (200, role_document())
            }
            _ => (404, "not found".into()),
        }
    })
}
