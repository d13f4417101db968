//! `lookout serve`: the store, the detection engine, the HTTP API and the sources.
//!
//! Configuration precedence: the file (`--config`, else the embedded default: this
//! host's metrics every second, data under `./lookout-data`, `127.0.0.1:8080`) <
//! `LOOKOUT_LISTEN` / `LOOKOUT_DATA_DIR` < `--listen` / `--data-dir`.
//!
//! SIGINT or SIGTERM stops it gracefully: no new connections, requests in flight are
//! answered, the engine's queued batches are scored and stored, the store is flushed.
//! Every acknowledged write was committed before its answer, so even `kill -9` loses
//! nothing that was acknowledged.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lookout_config::{Config, SourceConfig};

use super::detection::DetectionPipelines;
use lookout_detect::engine::{Engine, EngineConfig};
use lookout_server::warm::{WarmStart, WarmStartError, WarmStartReport};
use lookout_server::{Server, ServerOptions, TimeCheck};
use lookout_sources::SourceBatch;
use lookout_store::{Store, StoreConfig};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file; without it the embedded default runs.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on (overrides the file and LOOKOUT_LISTEN).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Data directory (overrides the file and LOOKOUT_DATA_DIR).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// Reads the configuration file (or the embedded default) and applies the environment.
pub(crate) fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let mut config = match path {
        Some(path) => super::check_config::load_checked(path)
            .map_err(|errors| anyhow::anyhow!("invalid configuration:\n{errors}"))?,
        None => Config::default(),
    };
    config
        .apply_process_env()
        .map_err(|errors| anyhow::anyhow!("invalid environment:\n{errors}"))?;
    Ok(config)
}

/// The store, engine and server of a configuration, ready to run.
pub(crate) fn open_server(config: &Config) -> anyhow::Result<Server> {
    let storage = &config.storage;
    let store_config = StoreConfig {
        raw_retention: storage.raw_retention,
        rollup_1m_retention: storage.rollup_1m_retention,
        rollup_1h_retention: storage.rollup_1h_retention,
        event_retention: storage.event_retention,
        ..StoreConfig::default()
    };
    let data_dir = &config.server.data_dir;
    let pipelines = DetectionPipelines::from_config(&config.detection)?;
    let store = Arc::new(
        Store::open(data_dir, store_config)
            .with_context(|| format!("opening the store in {}", data_dir.display()))?,
    );
    let max_series = usize::try_from(config.server.max_series).unwrap_or(usize::MAX);
    let (alternatives, choose) = pipelines.chooser(&store);
    let engine = Engine::start(EngineConfig {
        queue_capacity: config.server.ingest_queue.max(1),
        // The server enforces the limit per request; the engine's own limit is a backstop.
        max_series: max_series.saturating_add(max_series / 10 + 16),
        pipeline: pipelines.default,
        alternatives,
        choose,
        ..EngineConfig::default()
    })
    .context("starting the detection engine")?;
    let options = ServerOptions {
        max_body_bytes: usize::try_from(config.server.max_body_bytes).unwrap_or(usize::MAX),
        max_series,
        compaction_interval: Some(storage.compaction_interval),
        usage: super::usage::usage_options(&config.usage),
        ..ServerOptions::default()
    };
    Ok(Server::new(options, store, Arc::new(engine)))
}

pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let mut config = load_config(args.config.as_deref())?;
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(data_dir) = args.data_dir {
        config.server.data_dir = data_dir;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config))
}

/// What the warm start replays (see `lookout_server::warm`).
fn warm_plan(config: &Config) -> WarmStart {
    WarmStart {
        window: config.detection.warm_start,
        points: usize::try_from(config.detection.warm_start_points).unwrap_or(usize::MAX),
        budget: usize::try_from(config.detection.warm_start_budget).unwrap_or(usize::MAX),
        // Twice the span a right-sizing hint needs, so a hint survives a restart.
        usage_window: config.usage.rightsize_after.saturating_mul(2),
    }
}

/// Waits for the warm start (the server answers queries meanwhile, and 503 to
/// ingestion), says on stderr what it did, then marks the server ready and lets the
/// sources' batches in.
async fn finish_warm_start(
    server: Server,
    replay: impl std::future::Future<Output = Result<WarmStartReport, WarmStartError>>,
    warmed: tokio::sync::watch::Sender<bool>,
) {
    match replay.await {
        Ok(report) if report.points > 0 || report.false_positives > 0 || report.machines > 0 => {
            eprintln!(
                "lookout: detectors warmed up from stored history: {} series, {} points, {} false-positive labels, usage of {} machines in {:.1} s",
                report.series, report.points, report.false_positives, report.machines, report.seconds
            );
        }
        Ok(_) => {}
        Err(error) => eprintln!(
            "lookout: warm start failed (warming up the detectors from stored history: {error}); the detectors warm up on live data"
        ),
    }
    server
        .state()
        .ready
        .store(true, std::sync::atomic::Ordering::Release);
    let _ = warmed.send(true);
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("listening on {}", config.server.listen))?;
    let server = open_server(&config)?;
    // Not ready (and no ingestion) until the detectors have relearned stored history.
    server
        .state()
        .ready
        .store(false, std::sync::atomic::Ordering::Release);
    let (warmed, warmed_watch) = tokio::sync::watch::channel(false);
    let replay = server.warm_start(warm_plan(&config));
    let warm_up = tokio::spawn(finish_warm_start(server.clone(), replay, warmed));
    let alerting = super::alert::start_alerting(&config, &server)?;
    let (trigger, shutdown) = lookout_sources::shutdown_channel();
    let (batches, receiver) = tokio::sync::mpsc::channel::<SourceBatch>(64);
    // CloudWatch datapoints are minutes old and its backfill days old: stored as history.
    let (history_batches, history_receiver) = tokio::sync::mpsc::channel::<SourceBatch>(64);
    let mut tasks = Vec::new();
    for source in &config.sources {
        match source {
            SourceConfig::Host(host) => {
                let source = lookout_sources::host::host_source(host);
                tasks.push(lookout_sources::spawn(
                    Box::new(source),
                    batches.clone(),
                    shutdown.clone(),
                ));
            }
            SourceConfig::CloudWatch(cloudwatch) => {
                let name = format!("cloudwatch#{}", tasks.len() + 1);
                let source = lookout_sources::cloudwatch::CloudWatchSource::new(name, cloudwatch);
                tasks.push(lookout_sources::spawn(
                    Box::new(source),
                    history_batches.clone(),
                    shutdown.clone(),
                ));
            }
            SourceConfig::PrometheusScrape(scrape) => {
                let source = lookout_sources::scrape::ScrapeSource::new(
                    "prometheus_scrape",
                    scrape,
                    Default::default(),
                )?;
                tasks.push(lookout_sources::spawn(
                    Box::new(source),
                    batches.clone(),
                    shutdown.clone(),
                ));
            }
        }
    }
    drop(batches);
    drop(history_batches);
    let feeder = tokio::spawn(feed_sources(
        server.clone(),
        receiver,
        TimeCheck::Live,
        warmed_watch.clone(),
    ));
    let history_feeder = tokio::spawn(feed_sources(
        server.clone(),
        history_receiver,
        TimeCheck::History,
        warmed_watch,
    ));
    eprintln!(
        "lookout: listening on http://{} (data in {}, {} series known)",
        listener
            .local_addr()
            .context("reading the listening address")?,
        config.server.data_dir.display(),
        server.state().index.len()
    );
    let stop = async move {
        wait_for_signal().await;
        eprintln!("lookout: shutting down");
        trigger.trigger();
    };
    let result = server.run(listener, stop).await;
    // Undelivered alerts stay in the outbox for the next start.
    let _ = tokio::task::spawn_blocking(move || alerting.stop()).await;
    for task in tasks {
        let _ = task.await;
    }
    let _ = feeder.await;
    let _ = history_feeder.await;
    warm_up.abort();
    result.context("serving")?;
    eprintln!("lookout: stopped cleanly");
    Ok(())
}

/// Ingests the sources' batches once the warm start is done (until then the bounded
/// channel holds the sources back); an overloaded server is retried a few times.
async fn feed_sources(
    server: Server,
    mut receiver: tokio::sync::mpsc::Receiver<SourceBatch>,
    time_check: TimeCheck,
    mut warmed: tokio::sync::watch::Receiver<bool>,
) {
    let _ = warmed.wait_for(|done| *done).await;
    while let Some(batch) = receiver.recv().await {
        for error in &batch.errors {
            tracing::debug!(source = %batch.source, %error, "source collection problem");
        }
        if batch.samples.is_empty() {
            continue;
        }
        for attempt in 0..5u32 {
            match server
                .ingest(batch.samples.clone(), "host", time_check)
                .await
            {
                Ok(_) => break,
                Err(error) if error.retry_after.is_some() && attempt < 4 => {
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                }
                Err(error) => {
                    tracing::warn!(source = %batch.source, %error, "source batch not stored");
                    break;
                }
            }
        }
    }
}

pub(crate) async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
