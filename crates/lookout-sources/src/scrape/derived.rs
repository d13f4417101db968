//! Series derived from a scrape: node_exporter's CPU utilization in percent.
//!
//! `node_cpu_utilization_percent{instance, job}` = 100 × (1 − (idle + iowait seconds per
//! second, summed over CPUs) / number of CPUs), from the rates of
//! `node_cpu_seconds_total{cpu, mode}`; the same definition as the host source's
//! `host_cpu_utilization_percent`, so that usage states work on scraped machines too.

use lookout_model::{Labels, Sample, SeriesKey};

use super::rates::RATE_SUFFIX;

pub const NODE_CPU_UTILIZATION: &str = "node_cpu_utilization_percent";
const NODE_CPU_SECONDS: &str = "node_cpu_seconds_total";

/// The utilization sample, when the scrape held CPU rates.
pub fn node_cpu_utilization(samples: &[Sample], target: &Labels) -> Option<Sample> {
    let mut cpus = std::collections::BTreeSet::new();
    let mut idle = 0.0;
    let mut timestamp_ms = None;
    for sample in samples {
        let Some(base) = sample.key.name.strip_suffix(RATE_SUFFIX) else {
            continue;
        };
        if base != NODE_CPU_SECONDS {
            continue;
        }
        let labels = &sample.key.labels;
        if let Some(cpu) = labels.get("cpu") {
            cpus.insert(cpu.as_str());
        }
        if matches!(
            labels.get("mode").map(String::as_str),
            Some("idle" | "iowait")
        ) {
            idle += sample.value;
        }
        timestamp_ms.get_or_insert(sample.timestamp_ms);
    }
    if cpus.is_empty() {
        return None;
    }
    let utilization = 100.0 * (1.0 - idle / cpus.len() as f64);
    Some(Sample {
        key: SeriesKey {
            name: NODE_CPU_UTILIZATION.to_string(),
            labels: target.clone(),
        },
        timestamp_ms: timestamp_ms?,
        value: utilization.clamp(0.0, 100.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(cpu: &str, mode: &str, value: f64) -> Sample {
        Sample {
            key: SeriesKey::new(format!("{NODE_CPU_SECONDS}{RATE_SUFFIX}"))
                .with_label("cpu", cpu)
                .with_label("mode", mode),
            timestamp_ms: 7,
            value,
        }
    }

    #[test]
    fn utilization_is_the_share_not_idle_nor_waiting() {
        let samples = vec![
            rate("0", "idle", 0.5),
            rate("0", "user", 0.4),
            rate("0", "iowait", 0.1),
            rate("1", "idle", 0.9),
            rate("1", "system", 0.1),
        ];
        let target = Labels::from([("instance".to_string(), "a".to_string())]);
        let cpu = node_cpu_utilization(&samples, &target).unwrap();
        assert!((cpu.value - 25.0).abs() < 1e-9, "{}", cpu.value);
        assert_eq!(
            cpu.key.to_string(),
            r#"node_cpu_utilization_percent{instance="a"}"#
        );
        assert_eq!(cpu.timestamp_ms, 7);
        assert!(node_cpu_utilization(&samples[..0], &target).is_none());
    }
}
