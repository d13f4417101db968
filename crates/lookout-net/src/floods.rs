//! Flood and scan detection on [`TrafficSecond`]s: events with evidence.
//!
//! Each attack kind watches one packet [`Class`] (SYN, SYN-ACK, FIN, RST, PSH-ACK, UDP,
//! UDP from reflector ports, ICMP, fragments) and its heaviest destination, the victim.
//! Two triggers apply, and the event says which fired:
//!
//! - **ceiling** (FastNetMon-style hard threshold): the victim receives at least
//!   `ceiling_pps` packets of the class in one second;
//! - **baseline** (learned): after `warmup_s` seconds, the class's rate is at least
//!   `min_pps`, at least `factor` times its learned mean and above the mean by
//!   `sigmas` standard deviations, and the victim receives at least half of it. The mean
//!   and variance are exponentially weighted (`half_life_s`) and stop learning while an
//!   attack of that kind is open, so a long flood does not become normal.
//!
//! A port scan is one source sending SYNs to at least `scan_ports` distinct
//! destination ports in a second. An open attack stays one event until its class rate
//! falls below half the trigger for `quiet_s` seconds; a later surge is a new event.
//!
//! Evidence: victim, rate (packets and bits per second), top sources with shares,
//! distinct sources and source ports, whether sources look spoofed (many sources, about
//! one packet each, random ports), the reflected service for amplification, and the
//! first packets' summaries. Misses: floods below `min_pps` (a few hundred packets a
//! second), attacks spread evenly over many victims, and scans slower than their window.
//! Cost: per second, a few comparisons per class; memory, a few numbers per class.

use std::collections::BTreeMap;

use lookout_model::{Domain, Event, Evidence, Labels, Severity};

use crate::decode::{PacketSummary, Protocol};
use crate::features::{reflector_service, Class, ClassSecond, TrafficSecond};

/// Thresholds of one attack kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloodRule {
    pub kind: &'static str,
    pub class: Class,
    /// Packets per second to one victim that always make an attack.
    pub ceiling_pps: u64,
    /// The least rate the baseline trigger considers.
    pub min_pps: u64,
}

/// The detector's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FloodConfig {
    pub rules: Vec<FloodRule>,
    pub warmup_s: u64,
    pub factor: f64,
    pub sigmas: f64,
    pub half_life_s: f64,
    pub quiet_s: i64,
    pub scan_ports: f64,
}

impl Default for FloodConfig {
    fn default() -> Self {
        let rule = |kind, class, ceiling_pps, min_pps| FloodRule {
            kind,
            class,
            ceiling_pps,
            min_pps,
        };
        FloodConfig {
            rules: vec![
                rule("syn_flood", Class::Syn, 20_000, 500),
                rule("syn_ack_reflection", Class::SynAck, 20_000, 500),
                rule("fin_flood", Class::Fin, 10_000, 300),
                rule("rst_flood", Class::Rst, 10_000, 300),
                rule("push_ack_flood", Class::PushAck, 50_000, 2_000),
                rule("udp_flood", Class::Udp, 50_000, 1_000),
                rule("udp_amplification", Class::Amplification, 20_000, 500),
                rule("icmp_flood", Class::Icmp, 10_000, 300),
                rule("fragment_flood", Class::Fragment, 10_000, 300),
            ],
            warmup_s: 20,
            factor: 5.0,
            sigmas: 6.0,
            half_life_s: 300.0,
            quiet_s: 5,
            scan_ports: 100.0,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Baseline {
    mean: f64,
    variance: f64,
    seconds: u64,
    /// Last second the attack of this kind was over its trigger.
    open_until: Option<i64>,
    /// The rate that opened the attack (half of it keeps it open).
    trigger_pps: f64,
}

/// Detects floods and scans; see the module documentation.
#[derive(Debug, Clone)]
pub struct FloodDetector {
    config: FloodConfig,
    baselines: Vec<Baseline>,
    scans: BTreeMap<String, i64>,
    last_second: Option<i64>,
}

impl FloodDetector {
    pub fn new(config: FloodConfig) -> FloodDetector {
        let baselines = vec![Baseline::default(); config.rules.len()];
        FloodDetector {
            config,
            baselines,
            scans: BTreeMap::new(),
            last_second: None,
        }
    }

    /// The events one second raises (attacks that start in it).
    pub fn observe(&mut self, second: &TrafficSecond) -> Vec<Event> {
        let mut events = Vec::new();
        // Seconds without packets are seconds of zero rate.
        let gap = self
            .last_second
            .map_or(0, |last| (second.second - last - 1).clamp(0, 3600));
        self.last_second = Some(second.second);
        let alpha = 1.0 - 0.5f64.powf(1.0 / self.config.half_life_s.max(1.0));
        for (index, rule) in self.config.rules.iter().enumerate() {
            let class = second
                .classes
                .iter()
                .find(|(c, _)| *c == rule.class)
                .map(|(_, s)| s);
            let rate = class.map_or(0, |c| c.packets) as f64;
            let victim_rate = class
                .and_then(|c| c.destinations.first())
                .map_or(0, |d| d.1) as f64;
            let baseline = &mut self.baselines[index];
            for _ in 0..gap {
                learn(baseline, 0.0, alpha);
            }
            if let Some(until) = baseline.open_until {
                if rate >= baseline.trigger_pps / 2.0 {
                    baseline.open_until = Some(second.second);
                    continue;
                }
                if second.second - until < self.config.quiet_s {
                    continue;
                }
                baseline.open_until = None;
            }
            let trigger = if victim_rate >= rule.ceiling_pps as f64 {
                Some("ceiling")
            } else if baseline.seconds >= self.config.warmup_s
                && rate >= rule.min_pps as f64
                && rate >= self.config.factor * baseline.mean
                && rate >= baseline.mean + self.config.sigmas * baseline.variance.sqrt()
                && victim_rate * 2.0 >= rate
            {
                Some("baseline")
            } else {
                None
            };
            match (trigger, class) {
                (Some(_), Some(class))
                    if rule.class == Class::Syn
                        && is_scan(second, class, self.config.scan_ports) =>
                {
                    // One source walking the ports: the port scan event says it.
                    learn(baseline, rate, alpha);
                }
                (Some(trigger), Some(class)) => {
                    let expected = baseline.mean;
                    baseline.open_until = Some(second.second);
                    baseline.trigger_pps = rate;
                    events.push(flood_event(rule, trigger, expected, second, class));
                }
                _ => learn(baseline, rate, alpha),
            }
        }
        self.scan_events(second, &mut events);
        events
    }

    fn scan_events(&mut self, second: &TrafficSecond, events: &mut Vec<Event>) {
        let quiet = self.config.quiet_s;
        self.scans.retain(|_, until| second.second - *until < quiet);
        for (source, ports) in &second.scanners {
            if *ports < self.config.scan_ports {
                continue;
            }
            let key = source.to_string();
            if self.scans.insert(key.clone(), second.second).is_some() {
                continue;
            }
            let mut evidence = Evidence {
                first_ms: Some(second.second * 1000),
                last_ms: Some(second.second * 1000 + 999),
                ..Evidence::default()
            };
            evidence.fields.insert("source".into(), key.clone());
            evidence.fields.insert("trigger".into(), "ceiling".into());
            evidence
                .counts
                .insert("distinct_ports".into(), ports.round() as u64);
            let mut entity = Labels::new();
            entity.insert("source".into(), key.clone());
            events.push(Event {
                timestamp_ms: second.second * 1000,
                kind: "port_scan".into(),
                domain: Domain::Traffic,
                entity,
                severity: Severity::Warning,
                score: None,
                summary: format!(
                    "port scan from {key}: about {ports:.0} destination ports in one second"
                ),
                evidence,
            });
        }
    }
}

/// True when most SYNs come from one source that tries many ports (a scan, not a flood).
fn is_scan(second: &TrafficSecond, class: &ClassSecond, scan_ports: f64) -> bool {
    let Some((top, count)) = class.sources.first() else {
        return false;
    };
    *count * 2 >= class.packets
        && second
            .scanners
            .iter()
            .any(|(source, ports)| source == top && *ports >= scan_ports)
}

fn learn(baseline: &mut Baseline, rate: f64, alpha: f64) {
    if baseline.seconds == 0 {
        baseline.mean = rate;
    } else {
        let delta = rate - baseline.mean;
        baseline.mean += alpha * delta;
        baseline.variance = (1.0 - alpha) * (baseline.variance + alpha * delta * delta);
    }
    baseline.seconds += 1;
}

fn flood_event(
    rule: &FloodRule,
    trigger: &str,
    expected: f64,
    second: &TrafficSecond,
    class: &ClassSecond,
) -> Event {
    let (victim, victim_packets) = class
        .destinations
        .first()
        .copied()
        .expect("a class with packets has a destination");
    // Random source ports are part of the picture only where the packets have ports.
    let has_ports = !matches!(rule.class, Class::Icmp | Class::Fragment);
    let spoofed = class.packets >= 100
        && class.distinct_sources >= 0.5 * class.packets as f64
        && (!has_ports || class.distinct_source_ports >= 0.3 * class.packets.min(60_000) as f64);
    let mut evidence = Evidence {
        first_ms: Some(second.second * 1000),
        last_ms: Some(second.second * 1000 + 999),
        ..Evidence::default()
    };
    let fields = &mut evidence.fields;
    fields.insert("victim".into(), victim.to_string());
    fields.insert("trigger".into(), trigger.into());
    fields.insert(
        "spoofed".into(),
        if spoofed { "likely" } else { "no" }.into(),
    );
    let top: Vec<String> = class
        .sources
        .iter()
        .take(5)
        .map(|(source, count)| {
            format!(
                "{source} ({:.1}%)",
                100.0 * *count as f64 / class.packets as f64
            )
        })
        .collect();
    fields.insert("top_sources".into(), top.join(", "));
    if rule.class == Class::Amplification {
        if let Some(service) = class
            .source_ports
            .first()
            .and_then(|(port, _)| reflector_service(*port))
        {
            fields.insert("service".into(), service.into());
        }
    }
    let counts = &mut evidence.counts;
    counts.insert("packets_per_second".into(), class.packets);
    counts.insert("victim_packets_per_second".into(), victim_packets);
    counts.insert("bits_per_second".into(), class.bytes * 8);
    counts.insert(
        "distinct_sources".into(),
        class.distinct_sources.round() as u64,
    );
    counts.insert(
        "distinct_source_ports".into(),
        class.distinct_source_ports.round() as u64,
    );
    counts.insert(
        "baseline_packets_per_second".into(),
        expected.round() as u64,
    );
    evidence.examples = class.examples.iter().map(describe).collect();
    let mut entity = Labels::new();
    entity.insert("victim".into(), victim.to_string());
    let service = evidence
        .fields
        .get("service")
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    Event {
        timestamp_ms: second.second * 1000,
        kind: rule.kind.into(),
        domain: Domain::Traffic,
        entity,
        severity: Severity::Critical,
        score: None,
        summary: format!(
            "{}{service} against {victim}: {} packets/s, {} sources{} ({trigger})",
            rule.kind,
            class.packets,
            class.distinct_sources.round(),
            if spoofed { ", likely spoofed" } else { "" },
        ),
        evidence,
    }
}

/// One line per packet, in the spirit of tcpdump: `1.2.3.4:1000 > 10.0.0.1:80 TCP [S] 60 B`.
pub fn describe(packet: &PacketSummary) -> String {
    let flags = crate::decode::tcp_flags::describe(packet.flags);
    match packet.protocol {
        Protocol::Tcp | Protocol::Udp => format!(
            "{} > {} {} {}{} B",
            socket(packet.source, packet.source_port),
            socket(packet.destination, packet.destination_port),
            packet.protocol.label().to_uppercase(),
            if packet.protocol == Protocol::Tcp {
                format!("[{flags}] ")
            } else {
                String::new()
            },
            packet.wire_len,
        ),
        Protocol::Icmp => format!(
            "{} > {} ICMP type {} {} B",
            packet.source,
            packet.destination,
            packet.icmp_type.unwrap_or(0),
            packet.wire_len
        ),
        Protocol::Other(n) => format!(
            "{} > {} proto {n} {} B",
            packet.source, packet.destination, packet.wire_len
        ),
    }
}

fn socket(address: std::net::IpAddr, port: u16) -> String {
    match address {
        std::net::IpAddr::V4(v4) => format!("{v4}:{port}"),
        std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}
