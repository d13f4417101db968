//! Metric kinds: what a series' name says about it, used so that a new series does not
//! cry wolf before it has days of history (the cold-start policy).
//!
//! A new series knows nothing of its own noise, but its name says what it measures.
//! [`MetricKind::of`] reads the kind from the metric name (Prometheus conventions and
//! this project's host metrics), and [`MetricKind::apply`] adjusts a pipeline for it:
//!
//! | kind | names | an anomaly may open only when | persistence |
//! |---|---|---|---|
//! | `percent` | `*_percent`, `*_utilization` | the value is ≥ 5 percentage points outside the expected band | 1 |
//! | `byte_rate` | `*_bytes_per_second` | the value is ≥ 50 % of the band's width, and ≥ 1 MiB/s, outside the band | 10 points in a row |
//! | `packet_rate` | `*_packets_per_second` | the value is ≥ 50 % of the band's width, and ≥ 100/s, outside the band | 10 points in a row |
//! | `rate` | other `*_per_second`, `*_rate`, `*_total` | the value is ≥ 50 % of the band's width, and ≥ 1, outside the band | 10 points in a row |
//! | `load` | `*load1`, `*load5`, `*load15` | the value is ≥ 0.5 runnable tasks outside the band | 3 points in a row |
//! | `bytes` | `*_bytes` (gauges) | the value is ≥ 1 % of its level outside the band | 3 points in a row |
//! | `other` | anything else | (the pipeline's own settings) | 1 |
//!
//! The warm-up policy as a whole, for every series:
//! 1. the first `warmup` points (150 by default) of each detector's calibration open
//!    nothing: the calibration is learning what is normal for this series;
//! 2. from then on, the rarity score (see [`crate::combiner`]) says how rare a point
//!    is *given this series' own history*, so a noisy series needs rarer points;
//! 3. the kind's floor vetoes rare-but-immaterial points (a CPU mode going from 0 %
//!    to 0.5 %, a load average from 1.08 to 1.11), and the kind's persistence asks a
//!    bursty counter rate to stay abnormal for several points before it opens (one
//!    busy second of disk reads is not an incident; a minute of them is).
//!
//! Floors only ever add to the pipeline's own (`[detection] min_deviation` is kept when
//! larger). What it catches: the material incidents (a CPU burn, a disk filling, a
//! sustained I/O or traffic change). What it misses: a change smaller than the floor
//! (a CPU mode moving 3 points), and rate bursts shorter than the persistence.
//!
//! Cost: nothing per point (the floors are the combiner's existing veto); the kind is
//! read once per series, when its first point arrives.

use crate::pipeline::PipelineConfig;

/// What a series measures, from its metric name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    Percent,
    Rate,
    ByteRate,
    PacketRate,
    Load,
    Bytes,
    Other,
}

impl MetricKind {
    /// Every kind, in the order [`MetricKind::index`] numbers them.
    pub const ALL: [MetricKind; 7] = [
        MetricKind::Other,
        MetricKind::Percent,
        MetricKind::Rate,
        MetricKind::ByteRate,
        MetricKind::PacketRate,
        MetricKind::Load,
        MetricKind::Bytes,
    ];

    /// The kind of a metric name.
    pub fn of(name: &str) -> MetricKind {
        let name = name.to_ascii_lowercase();
        if name.ends_with("_percent") || name.ends_with("_utilization") {
            MetricKind::Percent
        } else if name.ends_with("_bytes_per_second") {
            MetricKind::ByteRate
        } else if name.ends_with("_packets_per_second") {
            MetricKind::PacketRate
        } else if name.ends_with("_per_second")
            || name.ends_with("_rate")
            || name.ends_with("_total")
        {
            MetricKind::Rate
        } else if ["load1", "load5", "load15"]
            .iter()
            .any(|load| name == *load || name.ends_with(&format!("_{load}")))
        {
            MetricKind::Load
        } else if name.ends_with("_bytes") {
            MetricKind::Bytes
        } else {
            MetricKind::Other
        }
    }

    /// Position in [`MetricKind::ALL`].
    pub fn index(self) -> usize {
        MetricKind::ALL
            .iter()
            .position(|kind| *kind == self)
            .unwrap_or(0)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Percent => "percent",
            MetricKind::Rate => "rate",
            MetricKind::ByteRate => "byte_rate",
            MetricKind::PacketRate => "packet_rate",
            MetricKind::Load => "load",
            MetricKind::Bytes => "bytes",
            MetricKind::Other => "other",
        }
    }

    /// `pipeline` with this kind's floors and persistence (never lowering its own).
    pub fn apply(self, mut pipeline: PipelineConfig) -> PipelineConfig {
        let combiner = &mut pipeline.combiner;
        let (absolute, relative, width, persistence) = match self {
            MetricKind::Percent => (5.0, 0.0, 0.0, 1),
            MetricKind::Rate => (1.0, 0.0, 0.5, 10),
            MetricKind::ByteRate => (1_048_576.0, 0.0, 0.5, 10),
            MetricKind::PacketRate => (100.0, 0.0, 0.5, 10),
            MetricKind::Load => (0.5, 0.0, 0.0, 3),
            MetricKind::Bytes => (0.0, 0.01, 0.0, 3),
            MetricKind::Other => return pipeline,
        };
        combiner.min_deviation = combiner.min_deviation.max(absolute);
        combiner.min_relative_deviation = combiner.min_relative_deviation.max(relative);
        combiner.min_band_deviation = combiner.min_band_deviation.max(width);
        combiner.hysteresis.persistence = combiner.hysteresis.persistence.max(persistence);
        pipeline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_host_metrics() {
        for (name, kind) in [
            ("host_cpu_mode_percent", MetricKind::Percent),
            ("node_cpu_utilization", MetricKind::Percent),
            ("host_disk_read_bytes_per_second", MetricKind::ByteRate),
            (
                "host_network_receive_packets_per_second",
                MetricKind::PacketRate,
            ),
            ("host_disk_reads_per_second", MetricKind::Rate),
            ("http_requests_total", MetricKind::Rate),
            ("host_load15", MetricKind::Load),
            ("node_load1", MetricKind::Load),
            ("host_memory_used_bytes", MetricKind::Bytes),
            ("temperature", MetricKind::Other),
            ("overload1x", MetricKind::Other),
        ] {
            assert_eq!(MetricKind::of(name), kind, "{name}");
        }
        for (index, kind) in MetricKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), index);
        }
    }

    #[test]
    fn floors_never_lower_the_pipelines_own() {
        let mut strict = PipelineConfig::named("default").unwrap();
        strict.combiner.min_deviation = 50.0;
        let applied = MetricKind::Percent.apply(strict.clone());
        assert_eq!(applied.combiner.min_deviation, 50.0);
        let rate = MetricKind::Rate.apply(strict.clone());
        assert_eq!(rate.combiner.hysteresis.persistence, 10);
        assert_eq!(MetricKind::Other.apply(strict.clone()), strict);
    }
}
