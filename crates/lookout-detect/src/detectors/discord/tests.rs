use super::*;

/// A heartbeat-like pulse train of period 90 with a little deterministic jitter.
fn pulse(i: usize) -> f64 {
    let phase = (i % 90) as f64 / 90.0;
    let wobble = 0.01 * ((i as f64) * 0.37).sin();
    100.0
        + 5.0 * (-0.5 * ((phase - 0.4) / 0.02f64).powi(2)).exp()
        + 1.5 * (-0.5 * ((phase - 0.7) / 0.06f64).powi(2)).exp()
        + wobble
}

fn small() -> DiscordConfig {
    DiscordConfig {
        history: 1024,
        estimate_after: 512,
        max_window: 256,
        ..DiscordConfig::default()
    }
}

#[test]
fn finds_the_period_and_a_distorted_cycle_stands_out() {
    let mut detector = Discord::new(small()).unwrap();
    let mut familiar = 0.0f64;
    for i in 0..3000 {
        let raw = detector.update(i as i64, pulse(i)).raw;
        if i >= 1500 {
            familiar = familiar.max(raw);
        }
    }
    assert_eq!(detector.window(), 90);
    let mut distorted = 0.0f64;
    for i in 3000..3180 {
        // One cycle whose T wave is inverted.
        let value = if (3015..3105).contains(&i) && (i % 90) as f64 / 90.0 > 0.6 {
            2.0 * 100.0 - pulse(i) + 0.0
        } else {
            pulse(i)
        };
        distorted = distorted.max(detector.update(i as i64, value).raw);
    }
    assert!(
        distorted > 5.0 * familiar.max(0.01),
        "distorted {distorted} vs familiar {familiar}"
    );
}

#[test]
fn sliding_dot_products_match_a_rebuild() {
    let mut detector = Discord::new(small()).unwrap();
    for i in 0..2500 {
        detector.update(i as i64, pulse(i) + 0.3 * ((i * 7919 % 13) as f64));
    }
    let mut rebuilt = detector.clone();
    rebuilt.rebuild();
    let current = detector.filled - detector.window;
    for start in 0..=current {
        let (slid, exact) = (detector.dots[start], rebuilt.dots[start]);
        assert!(
            (slid - exact).abs() <= 1e-9 * exact.abs().max(1.0),
            "start {start}: {slid} vs {exact}"
        );
    }
    assert_eq!(
        detector.nearest_distance().map(|d| (d * 1e6).round()),
        rebuilt.nearest_distance().map(|d| (d * 1e6).round())
    );
}

#[test]
fn snapshot_restores_identically() {
    let mut detector = Discord::new(small()).unwrap();
    for i in 0..700 {
        detector.update(i as i64, pulse(i));
    }
    let mut restored: Discord =
        serde_json::from_str(&serde_json::to_string(&detector).unwrap()).unwrap();
    for i in 700..1500 {
        assert_eq!(
            detector.update(i as i64, pulse(i) * 1.1),
            restored.update(i as i64, pulse(i) * 1.1)
        );
    }
}

#[test]
fn huge_constant_and_aperiodic_inputs_stay_finite() {
    let mut detector = Discord::new(small()).unwrap();
    for i in 0..2000 {
        let value = match i % 7 {
            0 => f64::MAX,
            1 => -f64::MAX,
            _ => 1.0,
        };
        let score = detector.update(i, value);
        assert!(score.raw.is_finite() && score.raw >= 0.0);
    }
    let mut constant = Discord::new(small()).unwrap();
    for i in 0..2000 {
        assert_eq!(constant.update(i, 5.0).raw, 0.0);
    }
    let mut trend = Discord::new(small()).unwrap();
    for i in 0..2000 {
        assert_eq!(trend.update(i, i as f64 * 0.5).raw, 0.0);
    }
    assert_eq!(trend.window(), 0, "a trend has no period and is not scored");
}

#[test]
fn memory_stays_bounded() {
    let mut detector = Discord::new(small()).unwrap();
    let before = detector.state_bytes();
    for i in 0..20_000 {
        detector.update(i as i64, pulse(i));
    }
    assert_eq!(detector.state_bytes(), before);
}

#[test]
fn invalid_config_names_the_field() {
    let error = Discord::new(DiscordConfig {
        max_window: 1024,
        ..DiscordConfig::default()
    })
    .unwrap_err();
    assert_eq!(error.field, "max_window");
}
