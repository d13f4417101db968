//! `lookout bench throughput`: points per second through the sharded engine and bytes
//! of state per series, for the default pipeline and each detector.

use lookout_detect::engine::{Engine, EngineConfig, Point, SampleOutcome};
use lookout_detect::pipeline::PipelineConfig;
use lookout_model::SeriesId;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct ThroughputArgs {
    /// Number of series.
    #[arg(long, default_value_t = 10_000)]
    series: usize,
    /// Points per series.
    #[arg(long, default_value_t = 200)]
    points: usize,
    /// Profiles or detectors to measure (repeatable); all when omitted.
    #[arg(long)]
    detector: Vec<String>,
    /// Samples per submitted batch.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, serde::Serialize)]
struct Measurement {
    detector: String,
    series: usize,
    points: usize,
    seconds: f64,
    points_per_second: f64,
    state_bytes_per_series: f64,
}

pub fn run(args: ThroughputArgs) -> anyhow::Result<()> {
    let names: Vec<String> = if args.detector.is_empty() {
        lookout_detect::registry::PIPELINE_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        args.detector.clone()
    };
    let batches = synthetic_batches(args.series, args.points, args.batch.max(1));
    for name in names {
        let measurement = measure(&name, &batches, args.series)?;
        if args.json {
            println!("{}", serde_json::to_string(&measurement)?);
        } else {
            println!(
                "{:<12} {:>12.0} points/s  {:>8.0} bytes/series  ({} points in {:.2} s)",
                measurement.detector,
                measurement.points_per_second,
                measurement.state_bytes_per_series,
                measurement.points,
                measurement.seconds
            );
        }
    }
    Ok(())
}

fn measure(name: &str, batches: &[Vec<Point>], series: usize) -> anyhow::Result<Measurement> {
    let pipeline = PipelineConfig::named(name)?;
    let engine = Engine::start(EngineConfig {
        pipeline,
        queue_capacity: 8,
        ..EngineConfig::default()
    })?;
    let (sender, receiver) = crossbeam_channel::unbounded();
    // Copies are made before the clock starts: the engine takes ownership of batches.
    let mut owned: Vec<Vec<Point>> = batches.to_vec();
    let started = Instant::now();
    let mut points = 0;
    for batch in owned.drain(..) {
        points += batch.len();
        let mut batch = Some(batch);
        loop {
            let sender = sender.clone();
            let submitted = engine.try_submit(
                &mut batch,
                Box::new(move |outcomes: Vec<SampleOutcome>| {
                    let _ = sender.send(outcomes.len());
                }),
            );
            match submitted {
                Ok(()) => break,
                Err(lookout_detect::engine::EngineError::Overloaded { .. }) => {
                    std::thread::sleep(std::time::Duration::from_micros(200))
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
    let mut answered = 0;
    while answered < points {
        answered += receiver.recv()?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let stats = engine.stats()?;
    engine.shutdown();
    Ok(Measurement {
        detector: name.to_string(),
        series,
        points,
        seconds,
        points_per_second: points as f64 / seconds,
        state_bytes_per_series: stats.state_bytes as f64 / stats.series.max(1) as f64,
    })
}

/// Seeded synthetic series: daily-ish sine plus noise, interleaved in time order.
fn synthetic_batches(series: usize, points: usize, batch: usize) -> Vec<Vec<Point>> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut all = Vec::with_capacity(series * points);
    for step in 0..points {
        for index in 0..series {
            let phase = (step as f64 + index as f64) / 60.0;
            all.push(Point {
                series: SeriesId(index as i64),
                timestamp_ms: 1_700_000_000_000 + step as i64 * 10_000,
                value: 50.0 + 20.0 * phase.sin() + 5.0 * noise(),
            });
        }
    }
    all.chunks(batch).map(<[Point]>::to_vec).collect()
}
