//! Scenario tests of the seasonal baseline: learned daily and weekly patterns, the
//! flat fallback, and automatic period selection.

use lookout_detect::detectors::seasonal::{SeasonalBaseline, SeasonalConfig};
use lookout_detect::Detector;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const HOUR_SECS: u64 = 3_600;
const DAY_SECS: u64 = 86_400;
const WEEK_SECS: u64 = 604_800;

/// `n` standard normal draws from a fixed seed (Box–Muller).
fn gaussian(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
            let u2: f64 = rng.gen::<f64>();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect()
}

const FIVE_MINUTES_MS: i64 = 300_000;
const DAY_MS: i64 = 86_400_000;

/// Five-minute samples: level 50, noise σ = 2, a peak at 100 from 09:00 to 10:00.
fn daily_peak_series(days: i64, seed: u64) -> Vec<(i64, f64)> {
    let points = days * DAY_MS / FIVE_MINUTES_MS;
    let noise = gaussian(seed, points as usize);
    (0..points)
        .map(|i| {
            let t = i * FIVE_MINUTES_MS;
            let hour = (t % DAY_MS) / 3_600_000;
            let base = if hour == 9 { 100.0 } else { 50.0 };
            (t, base + 2.0 * noise[i as usize])
        })
        .collect()
}

fn is_peak_time(t: i64) -> bool {
    (t % DAY_MS) / 3_600_000 == 9
}

fn peak_scores(detector: &mut SeasonalBaseline, series: &[(i64, f64)], from_day: i64) -> Vec<f64> {
    let mut scores = Vec::new();
    for &(t, v) in series {
        let score = detector.update(t, v);
        if t >= from_day * DAY_MS && is_peak_time(t) {
            scores.push(score.raw);
        }
    }
    scores
}

#[test]
fn learns_a_daily_peak_automatically_and_flags_an_off_schedule_one() {
    let mut detector = SeasonalBaseline::default();
    let series = daily_peak_series(8, 31);
    let first_day = peak_scores(&mut detector.clone(), &series[..288], 0);
    assert!(
        first_day.iter().any(|&raw| raw > 10.0),
        "flat baseline flags the first peak"
    );

    let learned = peak_scores(&mut detector, &series, 4);
    assert_eq!(detector.active_period_secs(), Some(DAY_SECS));
    let worst = learned.iter().cloned().fold(0.0, f64::max);
    assert!(worst < 5.0, "regular peak scored {worst}");

    let off_schedule = detector.update(8 * DAY_MS + 15 * 3_600_000, 100.0);
    assert!(
        off_schedule.raw > 10.0,
        "off-schedule peak scored {}",
        off_schedule.raw
    );
    let band = off_schedule.expected.expect("band");
    assert!(band.upper < 70.0, "{band:?}");
    let regular = detector.update(8 * DAY_MS + 15 * 3_600_000 + FIVE_MINUTES_MS, 50.0);
    assert!(regular.raw < 4.0, "ordinary value scored {}", regular.raw);
}

#[test]
fn prefers_a_weekly_period_when_weekends_differ() {
    let mut detector = SeasonalBaseline::default();
    let step_ms = 900_000;
    let noise = gaussian(34, 4 * 7 * 96);
    let mut weekend_day_scores = Vec::new();
    for (i, z) in noise.iter().enumerate() {
        let t = i as i64 * step_ms;
        let weekday = (t / DAY_MS) % 7 < 5;
        let hour = (t % DAY_MS) / 3_600_000;
        let busy = weekday && (8..18).contains(&hour);
        let score = detector.update(t, if busy { 80.0 } else { 20.0 } + z);
        if t >= 3 * 7 * DAY_MS && !weekday && (8..18).contains(&hour) {
            weekend_day_scores.push(score.raw);
        }
    }
    assert_eq!(detector.active_period_secs(), Some(WEEK_SECS));
    let worst = weekend_day_scores.iter().cloned().fold(0.0, f64::max);
    assert!(worst < 5.0, "quiet weekend scored {worst}");
}

#[test]
fn ignores_periods_with_too_few_points() {
    // Thirty-minute samples: an hour holds two, too few to call it a season.
    let mut detector = SeasonalBaseline::default();
    for i in 0..2000i64 {
        let value = if i % 2 == 0 { 10.0 } else { 30.0 };
        detector.update(i * 1_800_000, value);
    }
    assert_ne!(detector.active_period_secs(), Some(HOUR_SECS));
}

#[test]
fn configured_period_is_used_after_one_period() {
    let mut detector = SeasonalBaseline::new(SeasonalConfig {
        period_secs: Some(DAY_SECS),
        ..SeasonalConfig::default()
    })
    .unwrap();
    let series = daily_peak_series(3, 32);
    let day_two = peak_scores(&mut detector, &series, 1);
    assert_eq!(detector.active_period_secs(), Some(DAY_SECS));
    let late: Vec<f64> = day_two.iter().skip(12).cloned().collect();
    assert!(late.iter().all(|&raw| raw < 5.0), "{late:?}");
}

#[test]
fn stays_flat_on_non_seasonal_noise() {
    let mut detector = SeasonalBaseline::default();
    let noise = gaussian(33, 3 * 288);
    let mut high = 0;
    for (i, z) in noise.iter().enumerate() {
        if detector.update(i as i64 * FIVE_MINUTES_MS, 20.0 + z).raw > 5.0 {
            high += 1;
        }
    }
    assert_eq!(detector.active_period_secs(), None);
    assert!(high <= 2, "{high} noise points scored above 5");
    assert!(detector.update(3 * DAY_MS, 40.0).raw > 10.0);
}
