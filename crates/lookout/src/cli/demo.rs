//! `lookout demo`: the server with a simulated fleet and injected incidents.
//!
//! Loads days of history of twelve simulated machines through the ingestion pipeline
//! (so detectors are warm), then replays the last hours at `--speed` with a CPU surge, a
//! network spike, a machine that cools hard, a failing status check, a memory leak, a
//! machine going idle and a disk filling; then goes on in real time. This host's own
//! metrics are collected too, and `--load` burns its CPU for a while so that the host
//! source sees a real surge. See `docs/demo.md`.
//!
//! The incidents of the replay are written to `<data dir>/demo-schedule.json`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use lookout_config::Config;
use lookout_model::clock::now_ms;
use lookout_server::TimeCheck;
use lookout_sources::demo::{DemoOptions, DemoPhase, DemoSource};
use lookout_sources::Source;
use lookout_sources::SourceBatch;

use super::assembly::configured_sources;
use super::feed::{feed_sources, Retry, SourceKinds};

fn duration(text: &str) -> Result<Duration, String> {
    lookout_config::values::parse_duration(text)
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Address of the dashboard and API.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Data directory; must be empty or absent. Default: a temporary directory removed at exit.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Also burn this machine's CPU (every core) for --load-for, --load-after the start.
    #[arg(long)]
    load: bool,
    /// How long --load burns the CPU.
    #[arg(long, default_value = "60s", value_parser = duration)]
    load_for: Duration,
    /// When --load starts, after the demo starts (this host's detectors warm up first).
    #[arg(long, default_value = "2m", value_parser = duration)]
    load_after: Duration,
    /// Simulated history loaded at start, before the replay.
    #[arg(long, default_value = "3d", value_parser = duration)]
    history: Duration,
    /// The span before now that is replayed with incidents.
    #[arg(long, default_value = "4h", value_parser = duration)]
    live_window: Duration,
    /// Simulated time per real time during the replay (60: a minute per second).
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
    /// Time between two incidents (simulated).
    #[arg(long, default_value = "30m", value_parser = duration)]
    gap: Duration,
    /// Seed of the fleet's noise.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// How long a machine must be idle or underused before a right-sizing hint.
    #[arg(long, default_value = "1d", value_parser = duration)]
    rightsize_after: Duration,
    /// Do not collect this host's metrics.
    #[arg(long)]
    no_host: bool,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    super::assembly::init_logging();
    if !(args.speed >= 1.0 && args.speed.is_finite()) {
        anyhow::bail!("--speed {} must be a number ≥ 1", args.speed);
    }
    let (data_dir, temporary) = match &args.data_dir {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("lookout-demo-{}", std::process::id())),
            true,
        ),
    };
    check_empty(&data_dir)?;
    let mut config = Config::default();
    config.server.listen = args.listen;
    config.server.data_dir = data_dir.clone();
    config.usage.rightsize_after = args.rightsize_after;
    if args.no_host {
        config.sources.clear();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(demo(config, &args));
    drop(runtime);
    if temporary {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    result
}

/// The demo's history must not collide with data already there.
fn check_empty(dir: &Path) -> anyhow::Result<()> {
    let has_entries = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if has_entries {
        anyhow::bail!(
            "the data directory {} is not empty; the demo needs an empty or new directory",
            dir.display()
        );
    }
    Ok(())
}

async fn demo(config: Config, args: &DemoArgs) -> anyhow::Result<()> {
    super::assembly::check_exposure(&config)?;
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("listening on {}", config.server.listen))?;
    let server = super::assembly::open_server(&config)?;
    let options = DemoOptions {
        seed: args.seed,
        history: args.history,
        live_window: args.live_window,
        speed: args.speed,
        gap: args.gap,
        ..DemoOptions::default()
    };
    let (progress, mut phases) = tokio::sync::mpsc::unbounded_channel();
    let source = DemoSource::new(options, now_ms()).with_progress(progress);
    write_schedule(&config.server.data_dir, &source, args)?;
    let machines = source.fleet().machines.len();
    let live_start = source.live_start_ms();

    let (trigger, shutdown) = lookout_sources::shutdown_channel();
    let (batches, receiver) = tokio::sync::mpsc::channel::<SourceBatch>(16);
    let mut kinds = SourceKinds::default();
    kinds.insert(source.name(), "demo");
    let mut tasks = vec![lookout_sources::spawn(
        Box::new(source),
        batches.clone(),
        shutdown.clone(),
    )];
    // Configured sources run beside the simulated fleet.
    for configured in configured_sources(&config, &server)? {
        kinds.insert(configured.source.name(), configured.kind);
        tasks.push(lookout_sources::spawn(
            configured.source,
            batches.clone(),
            shutdown.clone(),
        ));
    }
    drop(batches);
    // Every batch in order, as history (the replay's timestamps lie in the past).
    let feeder = tokio::spawn(feed_sources(
        server.pipeline().clone(),
        receiver,
        TimeCheck::History,
        kinds,
        Retry::BACKFILL,
        None,
    ));
    let address = listener
        .local_addr()
        .context("reading the listening address")?;
    eprintln!(
        "lookout demo: {machines} simulated machines; dashboard on http://{address}; data in {}",
        config.server.data_dir.display()
    );
    eprintln!(
        "lookout demo: loading {} of history, then replaying the last {} at {}× with incidents (schedule in demo-schedule.json)",
        lookout_config::values::format_duration(args.history),
        lookout_config::values::format_duration(args.live_window),
        args.speed
    );
    let started = Instant::now();
    tokio::spawn(async move {
        while let Some(phase) = phases.recv().await {
            match phase {
                DemoPhase::HistorySent { points } => eprintln!(
                    "lookout demo: history sent ({points} points in {:.1}s); replay from {} on",
                    started.elapsed().as_secs_f64(),
                    rfc3339(live_start)
                ),
                DemoPhase::CaughtUp => eprintln!(
                    "lookout demo: caught up with real time after {:.1}s; going on in real time",
                    started.elapsed().as_secs_f64()
                ),
            }
        }
    });
    let burning = Arc::new(AtomicBool::new(false));
    if args.load {
        spawn_load(args.load_after, args.load_for, Arc::clone(&burning));
    }
    let stop = async move {
        super::assembly::wait_for_signal().await;
        eprintln!("lookout demo: shutting down");
        trigger.trigger();
    };
    let result = server.run(listener, stop).await;
    burning.store(false, Ordering::Release);
    for task in tasks {
        let _ = task.await;
    }
    let _ = feeder.await;
    result.context("serving")?;
    Ok(())
}

/// The incidents of the replay, for the reader and for tests.
fn write_schedule(dir: &Path, source: &DemoSource, args: &DemoArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let live_start = source.live_start_ms();
    let live_end = live_start + args.live_window.as_millis() as i64;
    let document = serde_json::json!({
        "history_start_ms": source.history_start_ms(),
        "live_start_ms": live_start,
        "live_end_ms": live_end,
        "step_ms": DemoOptions::default().step.as_millis() as i64,
        "cycle_ms": source.schedule().cycle_ms,
        "machines": source.fleet().machines,
        "incidents": source.schedule().occurrences(live_start, live_end),
    });
    let path = dir.join("demo-schedule.json");
    std::fs::write(&path, serde_json::to_string_pretty(&document)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// Spins every core for `duration` after `delay`, unless `burning` is cleared first.
fn spawn_load(delay: Duration, duration: Duration, burning: Arc<AtomicBool>) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        eprintln!(
            "lookout demo: --load: burning {cores} cores for {}",
            lookout_config::values::format_duration(duration)
        );
        burning.store(true, Ordering::Release);
        let deadline = Instant::now() + duration;
        let workers: Vec<_> = (0..cores)
            .map(|_| {
                let burning = Arc::clone(&burning);
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while burning.load(Ordering::Acquire) && Instant::now() < deadline {
                        for _ in 0..100_000 {
                            x = std::hint::black_box(
                                x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1),
                            );
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            let _ = worker.join();
        }
        eprintln!("lookout demo: --load: done");
    });
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}
