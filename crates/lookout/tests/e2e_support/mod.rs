//! Helpers of the end-to-end tests: the real `lookout` binary and real peers as child
//! processes on loopback, each behind a guard that kills it when dropped.

#![allow(dead_code)]

pub mod netns;
pub mod nginx;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed (SIGKILL) and reaped when the guard is dropped.
pub struct ChildGuard {
    pub name: String,
    pub child: Option<Child>,
    /// stdout and stderr of the process (a file, so that a chatty child never blocks).
    pub log: PathBuf,
}

impl ChildGuard {
    pub fn spawn(name: &str, command: &mut Command, log: &Path) -> ChildGuard {
        let file = std::fs::File::create(log)
            .unwrap_or_else(|error| panic!("creating {}: {error}", log.display()));
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file handle"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|error| panic!("starting {name}: {error}"));
        ChildGuard {
            name: name.to_string(),
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    /// Everything the process printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL now, and wait for the process to be gone.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends a signal (e.g. "TERM") and waits up to `timeout` for the exit; returns
    /// (success, stderr).
    pub fn signal_and_wait(&mut self, signal: &str, timeout: Duration) -> (bool, String) {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .expect("kill command");
        assert!(status.success(), "kill -{signal} failed");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return (status.success(), self.output());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{} did not exit within {timeout:?} after SIGNAL {signal}",
                    self.name
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The output if the process has already exited (for failure messages).
    pub fn exited_output(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        child.try_wait().ok()?.map(|_| self.output())
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[allow(unused_imports)] // not every test binary reads the clock
pub use lookout_model::clock::now_ms;

pub fn lookout_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lookout"))
}

/// The real server on a free loopback port over `data_dir`, with `config` as its file.
pub struct Lookout {
    pub guard: ChildGuard,
    pub port: u16,
    pub base: String,
}

impl Lookout {
    pub fn start(data_dir: &Path, config: &str) -> Lookout {
        let port = free_port();
        Lookout::start_on(data_dir, config, port)
    }

    pub fn start_on(data_dir: &Path, config: &str, port: u16) -> Lookout {
        let mut lookout = Lookout::spawn_on(data_dir, config, port);
        lookout.wait_ready(Duration::from_secs(60));
        lookout
    }

    /// Starts the server without waiting for it to be ready over plain HTTP (a TLS
    /// listener, say: the caller polls it its own way).
    #[allow(dead_code)] // not every test binary starts one this way
    pub fn spawn_on(data_dir: &Path, config: &str, port: u16) -> Lookout {
        let config_path = data_dir.with_extension("toml");
        std::fs::write(&config_path, config).expect("writing the config");
        let log = data_dir.with_extension(format!("{port}.log"));
        let guard = ChildGuard::spawn(
            "lookout serve",
            Command::new(lookout_binary())
                .arg("serve")
                .arg("--config")
                .arg(&config_path)
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--data-dir")
                .arg(data_dir),
            &log,
        );
        Lookout {
            guard,
            port,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let client = reqwest::blocking_client();
        loop {
            if let Ok(response) = client.get(self.url("/readyz")).send() {
                if response.status().is_success() {
                    return;
                }
            }
            if let Some(output) = self.guard.exited_output() {
                panic!("lookout serve exited before it was ready:\n{output}");
            }
            assert!(
                Instant::now() < deadline,
                "lookout serve not ready on port {} after {timeout:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn metrics(&self) -> String {
        reqwest::blocking_client()
            .get(self.url("/metrics"))
            .send()
            .expect("GET /metrics")
            .text()
            .expect("text")
    }

    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let response = reqwest::blocking_client()
            .get(self.url(path))
            .send()
            .expect("GET");
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().expect("JSON")
    }

    /// The events of `kind` listed by `GET /api/v1/events` over the last hour.
    pub fn events(&self, kind: &str) -> Vec<serde_json::Value> {
        let listed = self.get_json(&format!("/api/v1/events?from=now-1h&kind={kind}"));
        listed["data"]["events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// A peer program: on PATH or in /usr/bin, /usr/sbin or /sbin (daemons such as sshd and
/// nginx live there, and a non-root PATH lacks them). When missing, under `CI=true` the
/// test fails naming the Debian package; elsewhere it is skipped with a message.
pub fn find_peer(program: &str, package: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .chain(["/usr/bin", "/usr/sbin", "/sbin"].map(|dir| PathBuf::from(dir).join(program)))
        .find(|candidate| candidate.is_file());
    if on_path.is_none() {
        let message = format!("{program} not found on PATH or in /usr/bin, /usr/sbin, /sbin: install the Debian package `{package}` (apt-get install -y {package})");
        if std::env::var("CI").is_ok_and(|value| value == "true") {
            panic!("{message}");
        }
        eprintln!("SKIPPED: {message}");
    }
    on_path
}

/// The shared peers virtual environment of the PyPI peers (`tests/peers/*.sh` install
/// into it): `$LOOKOUT_PEERS_VENV`, default `~/.cache/lookout/peers-venv`.
pub fn peers_venv() -> PathBuf {
    std::env::var_os("LOOKOUT_PEERS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/lookout/peers-venv")
        })
}

/// A program of a PyPI peer in the peers venv's `bin/`. When missing, under `CI=true` the
/// test fails naming the installer script; elsewhere it is skipped with a message.
pub fn find_venv_peer(program: &str, installer: &str) -> Option<PathBuf> {
    let path = peers_venv().join("bin").join(program);
    if path.is_file() {
        return Some(path);
    }
    let message = format!("{program} not found at {}: run {installer}", path.display());
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("{message}");
    }
    eprintln!("SKIPPED: {message}");
    None
}

/// Polls `check` every 250 ms until it returns `Some`, or panics after `timeout`.
pub fn eventually<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A minimal blocking HTTP client built on reqwest's async client and a private runtime.
pub mod reqwest {
    pub use ::reqwest::StatusCode;
    use std::sync::OnceLock;

    pub struct Client {
        inner: ::reqwest::Client,
    }

    pub struct RequestBuilder {
        inner: ::reqwest::RequestBuilder,
    }

    pub struct Response {
        status: StatusCode,
        headers: ::reqwest::header::HeaderMap,
        body: Vec<u8>,
    }

    fn runtime() -> &'static tokio::runtime::Runtime {
        static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
        RUNTIME.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime")
        })
    }

    pub fn blocking_client() -> Client {
        Client {
            inner: ::reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    impl Client {
        pub fn get(&self, url: impl AsRef<str>) -> RequestBuilder {
            RequestBuilder {
                inner: self.inner.get(url.as_ref()),
            }
        }
        pub fn post(&self, url: impl AsRef<str>) -> RequestBuilder {
            RequestBuilder {
                inner: self.inner.post(url.as_ref()),
            }
        }
        pub fn delete(&self, url: impl AsRef<str>) -> RequestBuilder {
            RequestBuilder {
                inner: self.inner.delete(url.as_ref()),
            }
        }
    }

    impl RequestBuilder {
        pub fn body(self, body: impl Into<::reqwest::Body>) -> Self {
            RequestBuilder {
                inner: self.inner.body(body),
            }
        }
        pub fn header(self, name: &str, value: &str) -> Self {
            RequestBuilder {
                inner: self.inner.header(name, value),
            }
        }
        pub fn send(self) -> Result<Response, ::reqwest::Error> {
            runtime().block_on(async move {
                let response = self.inner.send().await?;
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.bytes().await?.to_vec();
                Ok(Response {
                    status,
                    headers,
                    body,
                })
            })
        }
    }

    impl Response {
        pub fn status(&self) -> StatusCode {
            self.status
        }
        pub fn headers(&self) -> &::reqwest::header::HeaderMap {
            &self.headers
        }
        pub fn text(self) -> Result<String, std::string::FromUtf8Error> {
            String::from_utf8(self.body)
        }
        pub fn json(self) -> Result<serde_json::Value, serde_json::Error> {
            serde_json::from_slice(&self.body)
        }
    }
}

/// The NSL-KDD file `name` of `shared/datasets/nslkdd/` beside the repository: `None`
/// with a message when it is absent outside CI, a panic under `CI=true`.
pub fn nslkdd(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/nslkdd")
        .join(name);
    if path.exists() {
        return Some(path);
    }
    let message = format!("NSL-KDD not found at {}", path.display());
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("{message} (required when CI=true)");
    }
    eprintln!("SKIPPED: {message}");
    None
}

/// A moto server (PyPI `moto[server]` in the peers venv, installed by `installer`) on a
/// free loopback port, stopped on drop; `None` with a message when it is not installed
/// outside CI, a panic under `CI=true`.
pub struct MotoServer {
    child: Child,
    pub endpoint: String,
}

impl MotoServer {
    pub fn start(installer: &str) -> Option<MotoServer> {
        let program = find_venv_peer("moto_server", installer)?;
        let port = free_port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto_server");
        let server = MotoServer {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        eventually("moto listening", Duration::from_secs(60), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        Some(server)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
