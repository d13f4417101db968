//! The incidents the demo injects, and what each does to its machine's series.

use serde::Serialize;

use super::fleet::{series_key, Metric};

/// One kind of injected incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// CPU jumps to ~92 %.
    CpuSurge,
    /// CPU falls to ~3 % (a machine that cools hard: its work moved away).
    CoolDown,
    /// CPU and network fall to almost nothing (the service stopped).
    Idle,
    /// Memory use climbs steadily.
    MemoryLeak,
    /// The root disk fills quickly.
    DiskFill,
    /// Received and sent bytes jump eightfold.
    NetworkSpike,
    /// The status check fails (`status_check_failed` = 1).
    StatusCheckFailed,
}

impl IncidentKind {
    /// Every kind, in the order the demo injects them.
    pub const ALL: [IncidentKind; 7] = [
        IncidentKind::CpuSurge,
        IncidentKind::NetworkSpike,
        IncidentKind::CoolDown,
        IncidentKind::StatusCheckFailed,
        IncidentKind::MemoryLeak,
        IncidentKind::Idle,
        IncidentKind::DiskFill,
    ];

    /// The machine it hits and how long it lasts (minutes).
    fn plan(self) -> (&'static str, i64) {
        match self {
            IncidentKind::CpuSurge => ("web-2", 20),
            IncidentKind::NetworkSpike => ("web-1", 10),
            IncidentKind::CoolDown => ("db-2", 30),
            IncidentKind::StatusCheckFailed => ("batch-2", 10),
            IncidentKind::MemoryLeak => ("web-4", 60),
            IncidentKind::Idle => ("web-3", 45),
            IncidentKind::DiskFill => ("db-1", 45),
        }
    }

    /// The metrics it changes; an anomaly on any of them during the incident (or soon
    /// after it ends) is a detection, not a false alarm.
    pub fn metrics(self) -> &'static [Metric] {
        match self {
            IncidentKind::CpuSurge | IncidentKind::CoolDown => &[Metric::Cpu],
            IncidentKind::Idle => &[Metric::Cpu, Metric::NetworkReceive, Metric::NetworkTransmit],
            IncidentKind::MemoryLeak => &[Metric::Memory],
            IncidentKind::DiskFill => &[Metric::Disk],
            IncidentKind::NetworkSpike => &[Metric::NetworkReceive, Metric::NetworkTransmit],
            IncidentKind::StatusCheckFailed => &[Metric::StatusCheck],
        }
    }
}

/// One injected incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub kind: IncidentKind,
    pub machine: String,
    /// The series it changes (selector syntax), first the main one.
    pub series: Vec<String>,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// Incidents in time order; they repeat every `cycle_ms` after the first cycle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    pub incidents: Vec<Incident>,
    /// The first cycle's incidents repeat this much later, forever (0: no repeat).
    pub cycle_ms: i64,
}

impl Schedule {
    pub fn empty() -> Schedule {
        Schedule {
            incidents: Vec::new(),
            cycle_ms: 0,
        }
    }

    /// Every kind once, the first `lead_ms` after `start_ms`, then one every `gap_ms`;
    /// the whole set repeats every `cycle_ms` (at least the span of one set).
    pub fn standard(start_ms: i64, lead_ms: i64, gap_ms: i64, cycle_ms: i64) -> Schedule {
        let incidents: Vec<Incident> = IncidentKind::ALL
            .iter()
            .enumerate()
            .map(|(position, &kind)| {
                let (machine, minutes) = kind.plan();
                let start_ms = start_ms + lead_ms + position as i64 * gap_ms;
                Incident {
                    kind,
                    machine: machine.to_string(),
                    series: kind
                        .metrics()
                        .iter()
                        .map(|metric| series_key(machine, *metric).to_string())
                        .collect(),
                    start_ms,
                    end_ms: start_ms + minutes * 60_000,
                }
            })
            .collect();
        let span = incidents.last().map_or(0, |last| last.end_ms - start_ms);
        Schedule {
            incidents,
            cycle_ms: cycle_ms.max(span + gap_ms),
        }
    }

    /// The incident (of any cycle) active on `machine` at `t`, and its start in that cycle.
    fn active(&self, machine: &str, t: i64) -> Option<(&Incident, i64)> {
        self.incidents.iter().find_map(|incident| {
            if incident.machine != machine {
                return None;
            }
            let shift = match self.cycle_ms {
                0 => 0,
                cycle if t >= incident.start_ms => (t - incident.start_ms) / cycle * cycle,
                _ => 0,
            };
            let start = incident.start_ms + shift;
            (start <= t && t < incident.end_ms + shift).then_some((incident, start))
        })
    }

    /// Incidents starting in `[from_ms, to_ms)`, including repetitions.
    pub fn occurrences(&self, from_ms: i64, to_ms: i64) -> Vec<Incident> {
        let mut out = Vec::new();
        for incident in &self.incidents {
            let mut shift = 0;
            loop {
                let start = incident.start_ms + shift;
                if start >= to_ms {
                    break;
                }
                if start >= from_ms {
                    out.push(Incident {
                        start_ms: start,
                        end_ms: incident.end_ms + shift,
                        ..incident.clone()
                    });
                }
                if self.cycle_ms <= 0 {
                    break;
                }
                shift += self.cycle_ms;
            }
        }
        out.sort_by_key(|incident| incident.start_ms);
        out
    }

    /// The value of `metric` on `machine` at `t`: `normal`, or the incident's value.
    /// `noise(salt)` is the fleet's standard normal noise for this point.
    pub fn apply(
        &self,
        machine: &str,
        metric: Metric,
        t: i64,
        normal: f64,
        noise: impl Fn(u64) -> f64,
    ) -> f64 {
        let Some((incident, start)) = self.active(machine, t) else {
            return normal;
        };
        if !incident.kind.metrics().contains(&metric) {
            return normal;
        }
        let minutes = (t - start) as f64 / 60_000.0;
        match incident.kind {
            IncidentKind::CpuSurge => (92.0 + 2.0 * noise(1)).clamp(0.0, 100.0),
            IncidentKind::CoolDown => (3.0 + 0.5 * noise(1)).max(0.5),
            IncidentKind::Idle => match metric {
                Metric::Cpu => 0.2 + 0.05 * noise(1).abs(),
                _ => normal * 0.01,
            },
            IncidentKind::MemoryLeak => (normal + 0.4 * minutes).min(98.0),
            IncidentKind::DiskFill => (normal + 1.0 * minutes).min(99.5),
            IncidentKind::NetworkSpike => normal * 8.0,
            IncidentKind::StatusCheckFailed => 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incidents_follow_each_other_and_repeat() {
        let schedule = Schedule::standard(0, 600_000, 1_800_000, 0);
        assert_eq!(schedule.incidents.len(), IncidentKind::ALL.len());
        assert_eq!(schedule.incidents[0].start_ms, 600_000);
        assert_eq!(schedule.incidents[1].start_ms, 2_400_000);
        let span = schedule.incidents.last().unwrap().end_ms;
        assert_eq!(schedule.cycle_ms, span + 1_800_000);
        let twice = schedule.occurrences(0, schedule.cycle_ms + 700_000);
        assert_eq!(twice.len(), IncidentKind::ALL.len() + 1);
        assert_eq!(twice.last().unwrap().start_ms, 600_000 + schedule.cycle_ms);
    }

    #[test]
    fn incidents_change_only_their_machine_and_metrics() {
        let schedule = Schedule::standard(0, 0, 1_800_000, 0);
        let surge = &schedule.incidents[0];
        assert_eq!(surge.kind, IncidentKind::CpuSurge);
        let during = surge.start_ms + 60_000;
        let no_noise = |_| 0.0;
        assert_eq!(
            schedule.apply("web-2", Metric::Cpu, during, 30.0, no_noise),
            92.0
        );
        assert_eq!(
            schedule.apply("web-2", Metric::Memory, during, 30.0, no_noise),
            30.0
        );
        assert_eq!(
            schedule.apply("web-1", Metric::Cpu, during, 30.0, no_noise),
            30.0
        );
        assert_eq!(
            schedule.apply("web-2", Metric::Cpu, surge.end_ms, 30.0, no_noise),
            30.0
        );
        let again = surge.start_ms + schedule.cycle_ms + 60_000;
        assert_eq!(
            schedule.apply("web-2", Metric::Cpu, again, 30.0, no_noise),
            92.0
        );
        let leak = schedule
            .incidents
            .iter()
            .find(|i| i.kind == IncidentKind::MemoryLeak)
            .unwrap();
        let later = leak.start_ms + 30 * 60_000;
        assert_eq!(
            schedule.apply("web-4", Metric::Memory, later, 50.0, no_noise),
            62.0
        );
        assert_eq!(
            leak.series,
            vec![r#"host_memory_used_percent{host="web-4",source="demo"}"#]
        );
    }
}
