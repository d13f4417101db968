//! Floor of the discord detector on a small generated set of periodic series with one
//! shape anomaly each (the same kinds as bench/shape/gen.py, smaller and in Rust so the
//! test needs nothing else): the top score after the training prefix (the first third)
//! must lie within the anomaly ±100 points, as `bench/shape.sh` counts it.

use lookout_detect::pipeline::{PipelineConfig, SeriesPipeline};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Floor of the default profile on this set (it finds 8 of the 12).
const FLOOR_DEFAULT: f64 = 0.6;

const KINDS: [&str; 6] = [
    "distorted",
    "missing",
    "noise",
    "stretched",
    "amplitude",
    "shifted",
];

fn bump(u: f64, centre: f64, width: f64, height: f64) -> f64 {
    height * (-0.5 * ((u - centre) / width).powi(2)).exp()
}

/// One cycle of a heartbeat-like (`gait` false) or two-step gait-like waveform.
fn cycle(u: f64, gait: bool, distorted: bool, shift: f64) -> f64 {
    if gait {
        let (height, width) = if distorted { (0.5, 0.06) } else { (0.8, 0.03) };
        bump(u, 0.1 + shift, 0.03, 1.0) + bump(u, 0.6, width, height) - bump(u, 0.7, 0.05, 0.25)
            + 0.15 * (std::f64::consts::TAU * u).sin()
    } else {
        let (width, t_wave) = if distorted {
            (0.03, -0.2)
        } else {
            (0.012, 0.3)
        };
        bump(u, 0.2, 0.025, 0.12) + bump(u, 0.4 + shift, width, 1.0)
            - bump(u, 0.43 + shift, 0.01, 0.2)
            + bump(u, 0.65, 0.05, t_wave)
    }
}

struct Series {
    values: Vec<f64>,
    train: usize,
    start: usize,
    end: usize,
}

fn series(seed: u64, kind: &str, gait: bool) -> Series {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let period = rng.gen_range(50..150) as f64;
    let length = 6000;
    let train = length / 3;
    let mut values = Vec::with_capacity(length);
    let target_start = rng.gen_range(train + 200..length - 600);
    let (mut start, mut end) = (0, 0);
    let mut in_target = false;
    while values.len() < length {
        let begin = values.len();
        let hit = !in_target && begin >= target_start && start == 0;
        let mut cycle_length = (period * (1.0 + 0.02 * rng.gen_range(-1.0..1.0))).round();
        if hit && kind == "stretched" {
            cycle_length *= 1.6;
        }
        let shift = if hit && kind == "shifted" { 0.12 } else { 0.0 };
        let amplitude = (1.0 + 0.03 * rng.gen_range(-1.0..1.0))
            * if hit && kind == "amplitude" { 0.6 } else { 1.0 };
        for k in 0..cycle_length as usize {
            let u = k as f64 / cycle_length;
            let value = if hit && kind == "missing" {
                0.0
            } else {
                amplitude * cycle(u, gait, hit && kind == "distorted", shift)
            };
            values.push(value);
        }
        if hit {
            in_target = true;
            start = begin;
            end = values.len() - 1;
        }
    }
    values.truncate(length);
    for (i, value) in values.iter_mut().enumerate() {
        *value += 0.02 * rng.gen_range(-1.0..1.0) + 0.05 * (i as f64 / (period * 9.0)).sin();
    }
    if kind == "noise" {
        let burst = (period * 0.5) as usize;
        for value in &mut values[start..start + burst] {
            *value += 0.15 * rng.gen_range(-1.0..1.0);
        }
        end = start + burst - 1;
    }
    Series {
        values,
        train,
        start,
        end,
    }
}

/// Share of the generated series whose top score after the prefix is within ±100 points.
fn accuracy(pipeline: &str) -> f64 {
    let config = PipelineConfig::named(pipeline).unwrap();
    let mut hits = 0;
    let mut total = 0;
    for (index, kind) in KINDS.iter().enumerate() {
        for gait in [false, true] {
            let series = series(100 + index as u64 * 2 + u64::from(gait), kind, gait);
            let mut pipeline = SeriesPipeline::new(&config, 7).unwrap();
            let mut top = (f64::MIN, 0);
            for (i, &value) in series.values.iter().enumerate() {
                let score = pipeline.update(i as i64 * 60_000, value).score;
                if i >= series.train && score > top.0 {
                    top = (score, i);
                }
            }
            let found = top.1 + 100 >= series.start && top.1 <= series.end + 100;
            hits += usize::from(found);
            total += 1;
        }
    }
    hits as f64 / total as f64
}

#[test]
fn discord_finds_most_shape_anomalies_in_periodic_series() {
    let found = accuracy("discord");
    assert!(found >= 0.75, "discord top-1 accuracy {found}");
}

/// The default profile turns the discord detector on for these periodic series (its period
/// probe finds them periodic) and its evidence carries the top score.
#[test]
fn default_pipeline_finds_most_shape_anomalies_in_periodic_series() {
    let found = accuracy("default");
    println!("default top-1 accuracy {found}");
    assert!(found >= FLOOR_DEFAULT, "default top-1 accuracy {found}");
}

/// A periodic series turns the discord on (its history is allocated); an aperiodic one
/// keeps only the probe, so the default pipeline stays within its memory budget there.
#[test]
fn default_pipeline_keeps_the_discord_history_only_on_periodic_series() {
    let config = PipelineConfig::named("default").unwrap();
    let periodic = series(100, "distorted", false);
    let mut pipeline = SeriesPipeline::new(&config, 7).unwrap();
    let before = pipeline.state_bytes();
    for (i, &value) in periodic.values.iter().enumerate() {
        pipeline.update(i as i64 * 60_000, value);
    }
    assert!(pipeline.state_bytes() > before + 60_000, "history kept");
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut walk = SeriesPipeline::new(&config, 7).unwrap();
    let mut level = 100.0;
    for i in 0..6000 {
        level += rng.gen_range(-1.0..1.0);
        walk.update(i * 60_000, level + rng.gen_range(-0.5..0.5));
    }
    assert!(
        walk.state_bytes() <= 8 * 1024,
        "an aperiodic series keeps {} bytes",
        walk.state_bytes()
    );
}
