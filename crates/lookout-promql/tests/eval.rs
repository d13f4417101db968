//! Queries over a small in-memory data set, each answer worked out by hand from
//! Prometheus' documented semantics.

use lookout_promql::memory::MemorySource;
use lookout_promql::{instant_query, range_query, EvalError, InstantValue, Labels, QueryOptions};

const MIN: i64 = 60_000;

/// `http_requests_total` counters (job api/web, instance a/b) every minute for 20
/// minutes, `up`, a histogram, and a gauge with a gap.
fn source() -> MemorySource {
    let mut s = MemorySource::new();
    let minutes = |f: &dyn Fn(i64) -> f64| (0..=20).map(|m| (m * MIN, f(m))).collect::<Vec<_>>();
    s.add(
        "http_requests_total",
        &[("job", "api"), ("instance", "a")],
        minutes(&|m| 10.0 * m as f64),
    );
    s.add(
        "http_requests_total",
        &[("job", "api"), ("instance", "b")],
        minutes(&|m| 20.0 * m as f64),
    );
    s.add(
        "http_requests_total",
        &[("job", "web"), ("instance", "a")],
        minutes(&|m| 5.0 * m as f64),
    );
    // A counter reset at minute 10: 100..190 then 0..
    s.add(
        "resetting_total",
        &[("job", "api")],
        minutes(&|m| {
            if m < 10 {
                100.0 + 10.0 * m as f64
            } else {
                10.0 * (m - 10) as f64
            }
        }),
    );
    s.add(
        "up",
        &[("job", "api"), ("instance", "a")],
        minutes(&|_| 1.0),
    );
    s.add(
        "up",
        &[("job", "api"), ("instance", "b")],
        minutes(&|_| 0.0),
    );
    s.add(
        "up",
        &[("job", "web"), ("instance", "a")],
        minutes(&|_| 1.0),
    );
    s.add(
        "job_info",
        &[("job", "api"), ("team", "core")],
        minutes(&|_| 1.0),
    );
    s.add(
        "job_info",
        &[("job", "web"), ("team", "front")],
        minutes(&|_| 1.0),
    );
    for (le, per_min) in [("0.1", 50.0), ("0.5", 90.0), ("+Inf", 100.0)] {
        s.add(
            "latency_bucket",
            &[("le", le), ("job", "api")],
            minutes(&|m| per_min * m as f64),
        );
    }
    // A gauge sampled at minutes 0..=5 only: gone after 10 (lookback 5 m).
    s.add(
        "gauge",
        &[("job", "api")],
        (0..=5).map(|m| (m * MIN, m as f64)).collect(),
    );
    s
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    )
}

fn vector(query: &str, time_ms: i64) -> Vec<(Labels, f64)> {
    match instant_query(&source(), query, time_ms, &QueryOptions::default()) {
        Ok(InstantValue::Vector(mut v)) => {
            if !query.starts_with("sort") {
                v.sort_by(|a, b| a.0.cmp(&b.0));
            }
            v
        }
        other => panic!("{query}: {other:?}"),
    }
}

fn scalar(query: &str, time_ms: i64) -> f64 {
    match instant_query(&source(), query, time_ms, &QueryOptions::default()) {
        Ok(InstantValue::Scalar(v)) => v,
        other => panic!("{query}: {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn values(query: &str, time_ms: i64) -> Vec<f64> {
    vector(query, time_ms).into_iter().map(|(_, v)| v).collect()
}

#[test]
fn selectors_take_the_newest_sample_in_the_lookback() {
    // At 10.5 minutes the newest sample is minute 10.
    let v = vector("http_requests_total{job=\"api\"}", 10 * MIN + 30_000);
    assert_eq!(v.len(), 2);
    assert_eq!(
        v[0].0,
        labels(&[
            ("__name__", "http_requests_total"),
            ("instance", "a"),
            ("job", "api")
        ])
    );
    assert_eq!(v[0].1, 100.0);
    assert_eq!(v[1].1, 200.0);
    // The gauge's last sample (minute 5) is seen up to minute 10 inclusive, not after.
    assert_eq!(values("gauge", 10 * MIN), [5.0]);
    assert!(values("gauge", 10 * MIN + 1).is_empty());
    // Regular expressions are anchored; != and !~ select too.
    assert_eq!(vector("up{job=~\"ap\"}", 5 * MIN).len(), 0);
    assert_eq!(
        vector("up{job=~\"ap.*\",instance!=\"b\"}", 5 * MIN).len(),
        1
    );
    assert_eq!(vector("{__name__=~\"u.\",job!~\"web\"}", 5 * MIN).len(), 2);
}

#[test]
fn offset_and_at_move_the_reference_time() {
    assert_eq!(
        values("http_requests_total{job=\"web\"} offset 5m", 10 * MIN),
        [25.0]
    );
    assert_eq!(
        values("http_requests_total{job=\"web\"} @ 120", 10 * MIN),
        [10.0]
    );
    assert_eq!(
        values("http_requests_total{job=\"web\"} @ 300 offset 1m", 10 * MIN),
        [20.0]
    );
    let r = range_query(
        &source(),
        "http_requests_total{job=\"web\"} @ end()",
        0,
        4 * MIN,
        MIN,
        &QueryOptions::default(),
    )
    .unwrap();
    assert_eq!(
        r[0].points,
        (0..=4).map(|m| (m * MIN, 20.0)).collect::<Vec<_>>()
    );
}

#[test]
fn rate_and_increase_extrapolate_like_prometheus() {
    // At 10 m, [5m] holds minutes 5..=10 (closed window): 6 samples, 50 apart for
    // instance a (10/min). sampled 300 s, both edges at 0 s → no extrapolation needed:
    // increase 50 * 300 / 300 = 50 → rate 50 / 300.
    let v = vector("rate(http_requests_total{job=\"api\"}[5m])", 10 * MIN);
    assert_eq!(v[0].0, labels(&[("instance", "a"), ("job", "api")]));
    assert!(close(v[0].1, 50.0 / 300.0), "{v:?}");
    assert!(close(v[1].1, 100.0 / 300.0));
    // At 10.5 m: window [5.5, 10.5] holds minutes 6..=10: sampled 240 s, 30 s to each
    // edge < 66 s → extrapolate to 300 s: 40 * 300 / 240 = 50.
    let inc = values(
        "increase(http_requests_total{job=\"api\",instance=\"a\"}[5m])",
        10 * MIN + 30_000,
    );
    assert!(close(inc[0], 50.0), "{inc:?}");
    // delta of a counter with a reset is the raw difference, increase corrects it.
    // At 12 m, [5m] = minutes 7..=12: 170, 180, 190, 0, 10, 20 → increase 20 - 170 + 190 = 40.
    assert!(close(
        values("increase(resetting_total[5m])", 12 * MIN)[0],
        40.0
    ));
    assert!(close(
        values("delta(resetting_total[5m])", 12 * MIN)[0],
        -150.0
    ));
    assert_eq!(values("resets(resetting_total[5m])", 12 * MIN), [1.0]);
    assert_eq!(values("changes(resetting_total[5m])", 12 * MIN), [5.0]);
    // irate over the last two samples: (100 - 90) / 60 s.
    assert!(close(
        values(
            "irate(http_requests_total{job=\"api\",instance=\"a\"}[5m])",
            10 * MIN
        )[0],
        10.0 / 60.0
    ));
    assert_eq!(values("idelta(resetting_total[5m])", 12 * MIN), [10.0]);
    // After the reset irate takes the new value: (0) / 60 s at minute 10.
    assert_eq!(values("irate(resetting_total[5m])", 10 * MIN), [0.0]);
}

#[test]
fn deriv_and_predict_linear_follow_the_regression() {
    assert!(close(
        values("deriv(http_requests_total{job=\"web\"}[5m])", 10 * MIN)[0],
        5.0 / 60.0
    ));
    // Line at 10 m is 50, 10 minutes later 100.
    assert!(close(
        values(
            "predict_linear(http_requests_total{job=\"web\"}[5m], 600)",
            10 * MIN
        )[0],
        100.0
    ));
}

#[test]
fn over_time_functions() {
    let at = 10 * MIN;
    let q = |f: &str| values(&format!("{f}(http_requests_total{{job=\"web\"}}[2m])"), at);
    // [2m] at 10 m: minutes 8, 9, 10 → 40, 45, 50.
    assert_eq!(q("avg_over_time"), [45.0]);
    assert_eq!(q("sum_over_time"), [135.0]);
    assert_eq!(q("count_over_time"), [3.0]);
    assert_eq!(q("min_over_time"), [40.0]);
    assert_eq!(q("max_over_time"), [50.0]);
    assert!(close(q("stdvar_over_time")[0], 50.0 / 3.0));
    assert!(close(q("stddev_over_time")[0], (50.0f64 / 3.0).sqrt()));
    assert_eq!(q("present_over_time"), [1.0]);
    assert_eq!(
        values(
            "quantile_over_time(0.5, http_requests_total{job=\"web\"}[2m])",
            at
        ),
        [45.0]
    );
    // last_over_time keeps the name.
    let last = vector("last_over_time(http_requests_total{job=\"web\"}[2m])", at);
    assert_eq!(last[0].0.get("__name__"), Some("http_requests_total"));
    assert_eq!(last[0].1, 50.0);
}

#[test]
fn aggregations_group_by_and_without() {
    let at = 10 * MIN;
    let sum = vector("sum by (job) (http_requests_total)", at);
    assert_eq!(
        sum,
        vec![
            (labels(&[("job", "api")]), 300.0),
            (labels(&[("job", "web")]), 50.0)
        ]
    );
    let without = vector("sum without (instance) (http_requests_total)", at);
    assert_eq!(without, sum, "without also drops the name");
    assert_eq!(values("avg(http_requests_total)", at), [350.0 / 3.0]);
    assert_eq!(values("min(http_requests_total)", at), [50.0]);
    assert_eq!(values("max(http_requests_total)", at), [200.0]);
    assert_eq!(values("count(http_requests_total)", at), [3.0]);
    assert_eq!(
        values("group by (job) (http_requests_total)", at),
        [1.0, 1.0]
    );
    // Population variance of 100, 200, 50: mean 116.67, var = (277.8 + 6944.4 + 4444.4)/3.
    let var = values("stdvar(http_requests_total)", at)[0];
    assert!(close(var, 35000.0 / 9.0 * 1.0), "{var}");
    assert!(close(
        values("stddev(http_requests_total)", at)[0],
        (35000.0f64 / 9.0).sqrt()
    ));
    // quantile 0.5 of 50, 100, 200 = 100; 0.75 → rank 1.5 → 150.
    assert_eq!(values("quantile(0.75, http_requests_total)", at), [150.0]);
    let top = vector("topk(2, http_requests_total)", at);
    assert_eq!(
        top.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
        [100.0, 200.0]
    );
    assert_eq!(
        top[0].0.get("__name__"),
        Some("http_requests_total"),
        "topk keeps labels"
    );
    assert_eq!(values("bottomk(1, http_requests_total)", at), [50.0]);
    assert_eq!(
        values("topk by (job) (1, http_requests_total)", at),
        [50.0, 200.0]
    );
    let cv = vector("count_values(\"value\", up)", at);
    assert_eq!(
        cv,
        vec![
            (labels(&[("value", "0")]), 1.0),
            (labels(&[("value", "1")]), 2.0)
        ]
    );
}

#[test]
fn binary_operators_match_and_filter() {
    let at = 10 * MIN;
    // Arithmetic drops the name; one-to-one on all labels.
    let ratio = vector("http_requests_total / http_requests_total", at);
    assert_eq!(ratio.len(), 3);
    assert!(ratio
        .iter()
        .all(|(l, v)| *v == 1.0 && l.get("__name__").is_none()));
    // Comparison filters and keeps the name; with bool it answers 0/1 without the name.
    assert_eq!(values("http_requests_total > 60", at), [100.0, 200.0]);
    assert_eq!(values("http_requests_total > bool 60", at), [1.0, 0.0, 1.0]);
    assert_eq!(values("60 < http_requests_total", at), [100.0, 200.0]);
    assert_eq!(scalar("2 > bool 1", at), 1.0);
    assert_eq!(scalar("2 ^ 10 % 7", at), 2.0);
    // many-to-one with group_left copies team from the one side.
    let joined = vector(
        "http_requests_total * on (job) group_left (team) job_info",
        at,
    );
    assert_eq!(joined.len(), 3);
    assert_eq!(
        joined[0].0,
        labels(&[("instance", "a"), ("job", "api"), ("team", "core")])
    );
    // one-to-many, the mirror.
    let mirrored = vector(
        "job_info * on (job) group_right (team) http_requests_total",
        at,
    );
    assert_eq!(mirrored.len(), 3);
    // Without group_left the many side is an error.
    let error = instant_query(
        &source(),
        "http_requests_total * on (job) job_info",
        at,
        &QueryOptions::default(),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("many-to-one matching must be explicit"),
        "{error}"
    );
    // ignoring and on for one-to-one.
    assert_eq!(
        values("up * ignoring (instance, team) group_left job_info", at).len(),
        3
    );
    assert_eq!(
        values("up * ignoring (instance) group_left job_info", at).len(),
        0,
        "team differs"
    );
    let on = vector(
        "sum by (job) (http_requests_total) / on (job) sum by (job) (up)",
        at,
    );
    assert_eq!(
        on,
        vec![
            (labels(&[("job", "api")]), 300.0),
            (labels(&[("job", "web")]), 50.0)
        ]
    );
    // Set operators.
    assert_eq!(
        vector("http_requests_total and on (instance) up == 0", at).len(),
        1
    );
    assert_eq!(
        vector(
            "http_requests_total unless on (job) job_info{team=\"core\"}",
            at
        )
        .len(),
        1
    );
    let or = vector("up == 0 or on (job) job_info", at);
    assert_eq!(or.len(), 2, "{or:?}");
    assert_eq!(values("-up", at).len(), 3);
}

#[test]
fn anomaly_style_queries() {
    let at = 10 * MIN;
    assert_eq!(values("max by (job) (up) > 0.9", at), [1.0, 1.0]);
}

#[test]
fn functions_on_instant_vectors() {
    let at = 10 * MIN;
    assert_eq!(values("abs(-up)", at), [1.0, 1.0, 0.0]);
    assert_eq!(
        values("ceil(http_requests_total / 3)", at),
        [34.0, 17.0, 67.0]
    );
    assert_eq!(
        values("floor(http_requests_total / 3)", at),
        [33.0, 16.0, 66.0]
    );
    assert_eq!(
        values("round(http_requests_total / 3)", at),
        [33.0, 17.0, 67.0]
    );
    assert_eq!(
        values("round(http_requests_total / 3, 5)", at),
        [35.0, 15.0, 65.0]
    );
    assert_eq!(
        values("clamp(http_requests_total, 60, 150)", at),
        [100.0, 60.0, 150.0]
    );
    assert!(values("clamp(http_requests_total, 150, 60)", at).is_empty());
    assert_eq!(
        values("clamp_min(http_requests_total, 60)", at),
        [100.0, 60.0, 200.0]
    );
    assert_eq!(
        values("clamp_max(http_requests_total, 60)", at),
        [60.0, 50.0, 60.0]
    );
    assert_eq!(
        values("sqrt(http_requests_total{job=\"web\"} / 2)", at),
        [5.0]
    );
    assert_eq!(
        values(
            "log2(http_requests_total{job=\"api\",instance=\"b\"} / 25)",
            at
        ),
        [3.0]
    );
    assert_eq!(
        values("log10(http_requests_total{job=\"api\",instance=\"a\"})", at),
        [2.0]
    );
    assert_eq!(values("ln(exp(up))", at), [1.0, 1.0, 0.0]);
    assert_eq!(scalar("time()", at), 600.0);
    assert_eq!(
        values("timestamp(up{instance=\"b\"})", at + 30_000),
        [600.0]
    );
    assert_eq!(values("vector(3)", at), [3.0]);
    assert_eq!(scalar("scalar(up{instance=\"b\"})", at), 0.0);
    assert!(scalar("scalar(up)", at).is_nan());
    assert_eq!(
        values("sort(http_requests_total)", at),
        [50.0, 100.0, 200.0]
    );
    assert_eq!(
        values("sort_desc(http_requests_total)", at),
        [200.0, 100.0, 50.0]
    );
    let replaced = vector(
        "label_replace(up{instance=\"b\"}, \"host\", \"$1-x\", \"instance\", \"(.*)\")",
        at,
    );
    assert_eq!(replaced[0].0.get("host"), Some("b-x"));
    assert_eq!(replaced[0].0.get("__name__"), Some("up"));
    let joined = vector(
        "label_join(up{instance=\"b\"}, \"both\", \"/\", \"job\", \"instance\")",
        at,
    );
    assert_eq!(joined[0].0.get("both"), Some("api/b"));
}

#[test]
fn absent_and_histograms() {
    let at = 10 * MIN;
    assert!(vector("absent(up)", at).is_empty());
    assert_eq!(
        vector("absent(nope{job=\"x\",a=~\"y\"})", at),
        vec![(labels(&[("job", "x")]), 1.0)]
    );
    assert_eq!(
        vector("absent_over_time(nope[5m])", at),
        vec![(Labels::default(), 1.0)]
    );
    assert!(vector("absent_over_time(up[5m])", at).is_empty());
    // Buckets grow 50, 90, 100 per minute; rate over [5m] is proportional, so
    // q 0.75 → 0.1 + 0.4 * (75 - 50) / 40 = 0.35.
    let q = vector("histogram_quantile(0.75, rate(latency_bucket[5m]))", at);
    assert_eq!(q[0].0, labels(&[("job", "api")]));
    assert!(close(q[0].1, 0.35), "{q:?}");
    let q = values(
        "histogram_quantile(0.75, sum by (le) (rate(latency_bucket[5m])))",
        at,
    );
    assert!(close(q[0], 0.35));
}

#[test]
fn subqueries_evaluate_on_their_own_step() {
    // max_over_time of rate at 1 m steps over the last 5 m: the rate is constant.
    let v = values(
        "max_over_time(rate(http_requests_total{job=\"web\"}[2m])[5m:1m])",
        10 * MIN,
    );
    assert!(close(v[0], 5.0 / 60.0));
    // The points of a subquery are at multiples of its step: [3m:1m] at 10.5 m holds
    // 8, 9, 10 → 40, 45, 50 for web.
    let s = values(
        "sum_over_time(http_requests_total{job=\"web\"}[3m:1m])",
        10 * MIN + 30_000,
    );
    assert_eq!(s, [135.0]);
}

#[test]
fn range_queries_never_show_a_later_sample() {
    // At 30 s steps, the value at 0:30 is the minute-0 sample, not minute 1.
    let r = range_query(
        &source(),
        "http_requests_total{job=\"web\"}",
        0,
        2 * MIN,
        30_000,
        &QueryOptions::default(),
    )
    .unwrap();
    assert_eq!(
        r[0].points,
        [
            (0, 0.0),
            (30_000, 0.0),
            (60_000, 5.0),
            (90_000, 5.0),
            (120_000, 10.0)
        ]
    );
    let r = range_query(
        &source(),
        "sum(rate(http_requests_total[5m]))",
        5 * MIN,
        10 * MIN,
        MIN,
        &QueryOptions::default(),
    )
    .unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].points.len(), 6);
    assert!(r[0].points.iter().all(|(_, v)| close(*v, 35.0 / 60.0)));
    // Scalars become one series without labels.
    let r = range_query(&source(), "time()", 0, MIN, MIN, &QueryOptions::default()).unwrap();
    assert_eq!(r[0].points, [(0, 0.0), (MIN, 60.0)]);
}

#[test]
fn limits_and_unsupported_constructs_are_named() {
    let tight = QueryOptions {
        max_samples: 10,
        ..QueryOptions::default()
    };
    let error = instant_query(&source(), "http_requests_total[20m]", 20 * MIN, &tight).unwrap_err();
    assert!(
        matches!(error, EvalError::TooManySamples { limit: 10 }),
        "{error}"
    );
    let error = instant_query(
        &source(),
        "up + holt_winters(up[5m], 0.1, 0.1)",
        0,
        &QueryOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(error, EvalError::Parse(_) | EvalError::Unsupported { .. }),
        "{error}"
    );
    let error = instant_query(&source(), "up + sinh(up)", 0, &QueryOptions::default()).unwrap_err();
    match error {
        EvalError::Unsupported {
            construct,
            position,
        } => {
            assert_eq!(construct, "function sinh()");
            assert_eq!(position, 5);
        }
        other => panic!("{other}"),
    }
    let error = instant_query(&source(), "sum(", 0, &QueryOptions::default()).unwrap_err();
    assert!(matches!(error, EvalError::Parse(_)));
}

/// Regression: a `topk` with k > 1 among equal values kept other series than
/// Prometheus 2.x, which pops its heap's smallest element and pushes the newcomer
/// instead of overwriting the root. The values are a real conformance run's
/// `rate(node_cpu_seconds_total{mode="system"}[5m])` (two pairs exactly equal), in the
/// order the selector lists them; the kept sets are what Prometheus 2.42 answered.
#[test]
fn topk_among_equal_values_keeps_the_series_prometheus_keeps() {
    let values = [
        ("0", "0", 0.09990853476206667),
        ("0", "1", 0.10990853476206719),
        ("0", "2", 0.11990853476206771),
        ("0", "3", 0.12990853476206662),
        ("1", "0", 0.10990853476206638),
        ("1", "1", 0.11990853476206771),
        ("1", "2", 0.12990853476206662),
        ("1", "3", 0.13990853476206877),
    ];
    let mut s = MemorySource::new();
    for (cpu, host, v) in values {
        s.add("busy", &[("cpu", cpu), ("host", host)], vec![(0, v)]);
    }
    let kept = |query: &str| -> Vec<String> {
        let Ok(InstantValue::Vector(v)) = instant_query(&s, query, 0, &QueryOptions::default())
        else {
            panic!("{query}");
        };
        let mut kept: Vec<String> = v
            .iter()
            .map(|(l, _)| format!("c{}h{}", l.get("cpu").unwrap(), l.get("host").unwrap()))
            .collect();
        kept.sort();
        kept
    };
    assert_eq!(kept("topk(2, busy)"), ["c1h2", "c1h3"]);
    assert_eq!(kept("topk(3, busy)"), ["c0h3", "c1h2", "c1h3"]);
    assert_eq!(kept("topk(4, busy)"), ["c0h2", "c0h3", "c1h2", "c1h3"]);
    assert_eq!(kept("bottomk(2, busy * 0)"), ["c0h0", "c0h1"]);
}
