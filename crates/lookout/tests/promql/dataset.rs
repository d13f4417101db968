//! The conformance test's data set (see `../e2e_promql.rs`).

use lookout_model::SeriesKey;

const MIN: i64 = 60_000;
const SCRAPE_MS: i64 = 15_000;

/// The data set: a few hosts' node_exporter-like series over two hours from `t0`, with
/// a counter reset, a series that stops, a gap, histograms and an info metric.
pub fn dataset(t0: i64) -> Vec<(SeriesKey, Vec<(i64, f64)>)> {
    let end = t0 + 120 * MIN;
    // Timestamps 15 s apart with a deterministic jitter of up to 0.9 s, like scrapes.
    let times = |from: i64, to: i64| -> Vec<i64> {
        let mut out = Vec::new();
        let mut i = 0i64;
        loop {
            let t = t0 + i * SCRAPE_MS + (i * 7919) % 900;
            if t >= to {
                break;
            }
            if t >= from {
                out.push(t);
            }
            i += 1;
        }
        out
    };
    let mut out = Vec::new();
    for host in 0..4i64 {
        let instance = format!("host-{host}");
        let key = |name: &str| {
            SeriesKey::new(name)
                .with_label("instance", instance.clone())
                .with_label("job", "node")
        };
        for cpu in 0..2i64 {
            for (mode_index, mode) in ["idle", "user", "system"].into_iter().enumerate() {
                let per_second =
                    [0.7, 0.2, 0.1][mode_index] * (1.0 + 0.1 * host as f64) + 0.01 * cpu as f64;
                let reset = host == 1 && cpu == 1 && mode == "user";
                let points = times(t0, end)
                    .into_iter()
                    .map(|t| {
                        let elapsed = (t - t0) as f64 / 1000.0;
                        let wobble = ((t / SCRAPE_MS) % 7) as f64 * 0.013;
                        let mut v = 1000.0 * (host + 1) as f64 + per_second * elapsed + wobble;
                        if reset && t >= t0 + 60 * MIN {
                            v = per_second * (t - t0 - 60 * MIN) as f64 / 1000.0 + wobble;
                        }
                        (t, v)
                    })
                    .collect();
                out.push((
                    key("node_cpu_seconds_total")
                        .with_label("cpu", cpu.to_string())
                        .with_label("mode", mode),
                    points,
                ));
            }
        }
        let total = 8e9 * (1 + host % 2) as f64;
        out.push((
            key("node_memory_MemTotal_bytes"),
            times(t0, end).into_iter().map(|t| (t, total)).collect(),
        ));
        out.push((
            key("node_memory_MemAvailable_bytes"),
            times(t0, end)
                .into_iter()
                .map(|t| {
                    (
                        t,
                        total * (0.5 + 0.3 * ((t - t0) as f64 / 600_000.0 + host as f64).sin()),
                    )
                })
                .collect(),
        ));
        // host-3 stops at 80 min; host-2 has a gap from 50 to 62 min.
        let load_times: Vec<i64> = match host {
            3 => times(t0, t0 + 80 * MIN),
            2 => times(t0, end)
                .into_iter()
                .filter(|t| *t < t0 + 50 * MIN || *t >= t0 + 62 * MIN)
                .collect(),
            _ => times(t0, end),
        };
        out.push((
            key("node_load1"),
            load_times
                .into_iter()
                .map(|t| {
                    let x = (t - t0) as f64 / 1000.0;
                    (
                        t,
                        (0.4 * host as f64
                            + 0.9
                            + 0.8 * (x / 900.0).sin()
                            + ((t / SCRAPE_MS) % 5) as f64 * 0.05)
                            .max(0.0),
                    )
                })
                .collect(),
        ));
        for (mountpoint, size) in [("/", 5e10), ("/home", 2e11)] {
            out.push((
                key("node_filesystem_avail_bytes")
                    .with_label("mountpoint", mountpoint)
                    .with_label("fstype", "ext4"),
                times(t0, end)
                    .into_iter()
                    .map(|t| {
                        (
                            t,
                            size - (t - t0) as f64 * (host + 1) as f64 * 10.0
                                + ((t / SCRAPE_MS) % 3) as f64 * 1e6,
                        )
                    })
                    .collect(),
            ));
        }
    }
    for host in 0..2i64 {
        let instance = format!("api-{host}");
        let bounds = ["0.05", "0.1", "0.5", "1", "+Inf"];
        let shares = [0.3, 0.55, 0.85, 0.97, 1.0];
        for (bound, share) in bounds.iter().zip(shares) {
            let key = SeriesKey::new("http_request_duration_seconds_bucket")
                .with_label("instance", instance.clone())
                .with_label("job", "api")
                .with_label("le", *bound);
            out.push((
                key,
                times(t0, end)
                    .into_iter()
                    .map(|t| {
                        let requests = ((t - t0) / 1000) as f64 * (3.0 + host as f64);
                        let drift = 1.0 + 0.1 * ((t - t0) as f64 / 1_800_000.0).sin();
                        (t, (requests * share * drift.min(1.0 / share)).floor())
                    })
                    .collect(),
            ));
        }
        for code in ["200", "500"] {
            let per_second = if code == "200" { 9.0 } else { 0.3 };
            out.push((
                SeriesKey::new("http_requests_total")
                    .with_label("instance", instance.clone())
                    .with_label("job", "api")
                    .with_label("code", code)
                    .with_label("method", "get"),
                times(t0, end)
                    .into_iter()
                    .map(|t| (t, (per_second * (t - t0) as f64 / 1000.0).floor()))
                    .collect(),
            ));
        }
    }
    for (job, team) in [("node", "infra"), ("api", "web")] {
        out.push((
            SeriesKey::new("job_info")
                .with_label("job", job)
                .with_label("team", team),
            times(t0, end).into_iter().map(|t| (t, 1.0)).collect(),
        ));
    }
    out
}
