//! `lookout serve`: the store, the detection engine, the pipeline, the HTTP API and the
//! sources (assembled by [`super::assembly`], fed by [`super::feed`]).
//!
//! Configuration precedence: the file (`--config`, else the embedded default: this
//! host's metrics every second, data under `./lookout-data`, `127.0.0.1:8080`) <
//! `LOOKOUT_LISTEN` / `LOOKOUT_DATA_DIR` < `--listen` / `--data-dir`.
//!
//! SIGINT or SIGTERM stops it gracefully: no new connections, requests in flight are
//! answered, the sources' last batches are ingested, the detectors' state is saved to
//! the object store (`snapshots/detectors`, restored at the next start, which then
//! replays only the history after it), the engine's queued batches are scored and
//! stored, the store is flushed.
//! Every acknowledged write was committed before its answer, so even `kill -9` loses
//! nothing that was acknowledged.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use lookout_config::Config;

use super::assembly::{
    configured_sources, init_logging, load_config, open_server, start_alerting, wait_for_signal,
};
use super::feed::{feed_sources, Retry, SourceKinds};
use lookout_server::snapshot::{SnapshotError, SnapshotReport};
use lookout_server::warm::{WarmStart, WarmStartError, WarmStartReport};
use lookout_server::{Server, TimeCheck};
use lookout_sources::SourceBatch;

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
    replay: impl std::future::Future<
        Output = (
            Result<Option<SnapshotReport>, SnapshotError>,
            Result<WarmStartReport, WarmStartError>,
        ),
    >,
    warmed: tokio::sync::watch::Sender<bool>,
) {
    let (restored, replayed) = replay.await;
    match restored {
        Ok(Some(report)) => eprintln!(
            "lookout: detectors restored from {} version {}: {} series up to {}{}; replaying the history after it",
            lookout_server::snapshot::SNAPSHOT_OBJECT,
            report.version,
            report.series,
            time_of(report.newest_sample_ms),
            match (report.unknown, report.false_positives) {
                (0, 0) => String::new(),
                (unknown, labels) => format!(
                    " ({unknown} series unknown to the store left out, {labels} newer false-positive labels applied)"
                ),
            }
        ),
        Ok(None) => {}
        Err(error) => eprintln!(
            "lookout: detector snapshot not restored ({error}); warming up from stored history"
        ),
    }
    match replayed {
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

/// A sample time for messages.
fn time_of(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|at| at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| "-".into())
}

/// Saves the detectors' state when the warm start had finished (a snapshot of
/// half-warmed detectors would stand for history they never saw).
async fn save_snapshot(server: &Server, warmed: bool) {
    if !warmed {
        eprintln!("lookout: detector snapshot not saved: the warm start had not finished");
        return;
    }
    let saver = server.clone();
    match tokio::task::spawn_blocking(move || saver.save_snapshot()).await {
        Ok(Ok(Some(report))) => eprintln!(
            "lookout: detector snapshot saved as {} version {}: {} series up to {}",
            lookout_server::snapshot::SNAPSHOT_OBJECT,
            report.version,
            report.series,
            time_of(report.newest_sample_ms)
        ),
        Ok(Ok(None)) => {}
        Ok(Err(error)) => eprintln!(
            "lookout: detector snapshot not saved ({error}); the next start warms up from stored history"
        ),
        Err(error) => eprintln!("lookout: detector snapshot not saved ({error})"),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    super::assembly::check_exposure(&config)?;
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("listening on {}", config.server.listen))?;
    let listen = super::listen::listen_options(&config)?;
    let server = open_server(&config)?;
    // Not ready (and no ingestion) until the detectors have relearned stored history.
    server
        .state()
        .ready
        .store(false, std::sync::atomic::Ordering::Release);
    let local = listener
        .local_addr()
        .context("reading the listening address")?;
    let cluster = super::cluster::start(&config, &server, local).await?;
    let (warmed, warmed_watch) = tokio::sync::watch::channel(false);
    let replay = server.restore_and_warm_start(warm_plan(&config));
    let warm_up = tokio::spawn(finish_warm_start(server.clone(), replay, warmed));
    let alerting = start_alerting(&config, &server)?;
    let (trigger, shutdown) = lookout_sources::shutdown_channel();
    let (batches, receiver) = tokio::sync::mpsc::channel::<SourceBatch>(64);
    let (history_batches, history_receiver) = tokio::sync::mpsc::channel::<SourceBatch>(64);
    let mut kinds = SourceKinds::default();
    let mut tasks = Vec::new();
    for mut configured in configured_sources(&config, &server)? {
        kinds.insert(configured.source.name(), configured.kind);
        // Files followed before resume where their lines stopped being accounted for.
        let name = configured.source.name().to_string();
        let offsets = server
            .pipeline()
            .store()
            .read_offsets(&name)
            .with_context(|| format!("reading the saved read offsets of source {name}"))?;
        configured.source.resume(offsets);
        let lane = match configured.time_check {
            TimeCheck::Live => batches.clone(),
            TimeCheck::History => history_batches.clone(),
        };
        tasks.push(lookout_sources::spawn(
            configured.source,
            lane,
            shutdown.clone(),
        ));
    }
    drop(batches);
    drop(history_batches);
    let feeder = tokio::spawn(feed_sources(
        server.pipeline().clone(),
        receiver,
        TimeCheck::Live,
        kinds.clone(),
        Retry::LIVE,
        Some(warmed_watch.clone()),
    ));
    let history_feeder = tokio::spawn(feed_sources(
        server.pipeline().clone(),
        history_receiver,
        TimeCheck::History,
        kinds,
        Retry::LIVE,
        Some(warmed_watch.clone()),
    ));
    eprintln!(
        "lookout: listening on {}://{} (data in {}, {} series known)",
        if listen.tls.is_some() {
            "https"
        } else {
            "http"
        },
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
    let served = server.serve_with(listener, listen, stop).await;
    // The sources' last batches go in before the snapshot.
    for task in tasks {
        let _ = task.await;
    }
    let _ = feeder.await;
    let _ = history_feeder.await;
    // Owned partitions stop scoring and are handed back before the engine stops.
    if let Some(cluster) = &cluster {
        cluster.shutdown().await;
    }
    save_snapshot(&server, *warmed_watch.borrow()).await;
    let flushed = server.stop().await;
    // Undelivered alerts stay in the outbox for the next start.
    let _ = tokio::task::spawn_blocking(move || alerting.stop()).await;
    warm_up.abort();
    served.context("serving")?;
    flushed.context("stopping")?;
    eprintln!("lookout: stopped cleanly");
    Ok(())
}
