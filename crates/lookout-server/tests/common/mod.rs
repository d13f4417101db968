//! An in-process server on 127.0.0.1:0 over a temporary data directory.

#![allow(dead_code)]

use std::sync::Arc;

use lookout_detect::engine::{Engine, EngineConfig};
use lookout_detect::pipeline::{DetectorConfig, PipelineConfig};
use lookout_server::{Scorer, Server, ServerOptions};
use lookout_store::{Store, StoreConfig};
use tokio::sync::oneshot;

pub struct TestServer {
    pub base: String,
    pub server: Server,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    pub dir: tempfile::TempDir,
}

#[allow(unused_imports)] // not every test binary reads the clock
pub use lookout_model::clock::now_ms;

pub fn engine() -> Arc<dyn Scorer> {
    Arc::new(Engine::start(engine_config()).expect("engine starts"))
}

pub fn engine_config() -> EngineConfig {
    let pipeline = PipelineConfig {
        detectors: vec![
            DetectorConfig::Ewma(Default::default()),
            DetectorConfig::RobustZ(Default::default()),
        ],
        ..PipelineConfig::default()
    };
    EngineConfig {
        workers: 2,
        pipeline,
        ..EngineConfig::default()
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(ServerOptions::default(), engine()).await
    }

    pub async fn start_with(options: ServerOptions, scorer: Arc<dyn Scorer>) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        TestServer::start_in(dir, options, scorer).await
    }

    pub async fn start_in(
        dir: tempfile::TempDir,
        options: ServerOptions,
        scorer: Arc<dyn Scorer>,
    ) -> TestServer {
        let store = Arc::new(Store::open(dir.path(), StoreConfig::default()).expect("store opens"));
        let server = Server::new(options, store, scorer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let running = server.clone();
        let task = tokio::spawn(async move {
            running
                .run(listener, async move {
                    let _ = stopped.await;
                })
                .await
                .expect("server runs and stops cleanly");
        });
        TestServer {
            base,
            server,
            client: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POSTs `body` to `path`.
    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .body(body)
            .send()
            .await
            .unwrap_or_else(|error| panic!("POST {path}: {error}"))
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.expect("JSON answer")
    }

    pub async fn metrics(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Stops serving, drains the engine and flushes the store; gives the data dir back.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
        self.dir
    }
}

/// The value of one counter line such as `name{reason="x"}` in exposition text.
pub fn counter(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} not found in /metrics:\n{text}"))
}
