//! Test support for the cloudwatch source: moto's server mode as a process on a free
//! loopback port (killed on drop), the `fixture.py` helper, a scripted HTTP server for
//! answers moto never gives, and a runner that collects a source's batches.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lookout_config::{CloudWatchSourceConfig, Config, SourceConfig};
use lookout_sources::cloudwatch::{ClientOptions, CloudWatchSource, Credentials};
use lookout_sources::{shutdown_channel, SourceBatch};

pub fn venv() -> PathBuf {
    std::env::var_os("LOOKOUT_PEERS_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| PathBuf::from(home).join(".cache/lookout/peers-venv"))
        })
        .expect("LOOKOUT_PEERS_VENV or HOME")
}

/// moto_server from the peers venv; `None` (skip) when missing, a panic under CI=true.
pub fn moto_server() -> Option<PathBuf> {
    let program = venv().join("bin/moto_server");
    if program.exists() {
        return Some(program);
    }
    let message = format!(
        "moto_server not found at {}: run tests/peers/install-cloudwatch.sh (PyPI moto[server])",
        program.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}");
    }
    eprintln!("skipped: {message}");
    None
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running moto server, killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts moto; `envs` such as `INITIAL_NO_AUTH_ACTION_COUNT` turn on its IAM checks.
    pub fn start(program: &PathBuf, envs: &[(&str, &str)]) -> Moto {
        let port = free_port();
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(envs.iter().copied())
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
        moto
    }

    /// Runs `fixture.py <args> --endpoint <moto>` and returns its JSON answer.
    pub fn fixture(&self, args: &[&str]) -> serde_json::Value {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/moto/fixture.py");
        let output = Command::new(venv().join("bin/python"))
            .arg(script)
            .args(args)
            .args(["--endpoint", &self.endpoint])
            .output()
            .expect("running fixture.py");
        assert!(
            output.status.success(),
            "fixture.py {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("fixture.py prints JSON")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The cloudwatch table of a configuration text.
pub fn cloudwatch_config(toml: &str) -> CloudWatchSourceConfig {
    let config = Config::from_str_named(toml, "test.toml").expect("valid test configuration");
    match config.sources.into_iter().next() {
        Some(SourceConfig::CloudWatch(cloudwatch)) => cloudwatch,
        other => panic!("not a cloudwatch source: {other:?}"),
    }
}

/// Quick retries for tests, with fixed credentials.
pub fn test_options(config: &CloudWatchSourceConfig, key: &str, secret: &str) -> ClientOptions {
    let mut options = ClientOptions::new(config.region.clone(), config.endpoint.clone());
    options.max_attempts = 2;
    options.retry_base = Duration::from_millis(20);
    options.request_timeout = Duration::from_secs(5);
    options.static_credentials = Some(Credentials::new(key, secret, None));
    options
}

/// Runs `source` for `duration` (or until `done` holds for the batches so far).
pub fn run_source(
    source: CloudWatchSource,
    duration: Duration,
    done: impl Fn(&[SourceBatch]) -> bool,
) -> Vec<SourceBatch> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let (sender, mut receiver) = tokio::sync::mpsc::channel(16);
        let (trigger, shutdown) = shutdown_channel();
        let task = lookout_sources::spawn(Box::new(source), sender, shutdown);
        let mut batches = Vec::new();
        let deadline = tokio::time::Instant::now() + duration;
        // `done` is checked at every batch and every 100 ms (polls may send nothing).
        while !done(&batches) && tokio::time::Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_millis(100), receiver.recv()).await {
                Ok(Some(batch)) => batches.push(batch),
                Ok(None) => break,
                Err(_) => {}
            }
        }
        trigger.trigger();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the source stops on shutdown")
            .unwrap();
        batches
    })
}

pub fn errors(batches: &[SourceBatch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| b.errors.iter().cloned())
        .collect()
}

/// An HTTP server on a free loopback port answering each request with
/// `answer(request line + headers, body, count)` → (status, body). Records the request bodies. Stops when dropped (its thread ends at the
/// next connection or with the process).
pub struct Scripted {
    pub endpoint: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    pub fn start(answer: impl Fn(&str, usize) -> (u16, String) + Send + 'static) -> Scripted {
        Scripted::start_with_head(move |_, body, count| answer(body, count))
    }

    pub fn start_with_head(
        answer: impl Fn(&str, &str, usize) -> (u16, String) + Send + 'static,
    ) -> Scripted {
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
                let count = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(body.clone());
                    seen.len()
                };
                let (status, text) = answer(&head, &body, count);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        Scripted { endpoint, requests }
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
