//! The series a [`TrafficSecond`] becomes, with bounded cardinality.
//!
//! | series | labels |
//! |---|---|
//! | `net_packets_per_second`, `net_bytes_per_second` | `protocol` = `all`, `tcp`, `udp`, `icmp`, `other` |
//! | `net_tcp_flags_per_second` | `flags` = `syn`, `syn_ack`, `ack`, `fin`, `rst`, `psh_ack`, `ecn`, `odd` |
//! | `net_tcp_half_open_ratio` | |
//! | `net_icmp_per_second` | `type` = `echo_request`, `echo_reply`, `unreachable`, `time_exceeded`, `other` |
//! | `net_udp_packets_per_second` | `direction` = `source`/`destination`, `port` (the port below 1024 or a known reflector, else `high`) |
//! | `net_fragments_per_second`, `net_new_flows_per_second`, `net_distinct_sources` | |
//! | `net_destination_packets_per_second` | `destination` (`address:port`) for the top destinations holding ≥ 1 % of packets and ≥ 100 packets |
//! | `net_source_packets_per_second` | `source` for the top sources under the same rule |
//!
//! Every series also carries the caller's labels (`source`, `interface`, …). The share
//! rule keeps a spoofed flood (a million sources, one packet each) from creating a
//! series per address.

use lookout_model::{Labels, Sample, SeriesKey};

use crate::features::{reflector_service, TrafficSecond, FLAG_NAMES, ICMP_NAMES, PROTOCOL_NAMES};

/// Heavy hitters become series when they hold this share of the second's packets…
const MIN_SHARE: f64 = 0.01;
/// …and at least this many packets.
const MIN_PACKETS: u64 = 100;
/// Heavy hitters per kind that may become series.
const TOP_SERIES: usize = 5;

/// The samples of one second, labelled with `base` plus each series' own labels.
pub fn samples(second: &TrafficSecond, base: &Labels) -> Vec<Sample> {
    let timestamp_ms = second.second * 1000;
    let mut out = Vec::with_capacity(48);
    let mut push = |name: &str, extra: &[(&str, String)], value: f64| {
        let mut labels = base.clone();
        for (key, val) in extra {
            labels.insert((*key).to_string(), val.clone());
        }
        out.push(Sample {
            key: SeriesKey {
                name: name.to_string(),
                labels,
            },
            timestamp_ms,
            value,
        });
    };
    push(
        "net_packets_per_second",
        &[("protocol", "all".into())],
        second.packets as f64,
    );
    push(
        "net_bytes_per_second",
        &[("protocol", "all".into())],
        second.bytes as f64,
    );
    for (slot, name) in PROTOCOL_NAMES.iter().enumerate() {
        push(
            "net_packets_per_second",
            &[("protocol", name.to_string())],
            second.protocol_packets[slot] as f64,
        );
        push(
            "net_bytes_per_second",
            &[("protocol", name.to_string())],
            second.protocol_bytes[slot] as f64,
        );
    }
    for (slot, name) in FLAG_NAMES.iter().enumerate() {
        push(
            "net_tcp_flags_per_second",
            &[("flags", name.to_string())],
            second.flags[slot] as f64,
        );
    }
    push("net_tcp_half_open_ratio", &[], second.half_open_ratio);
    for (slot, name) in ICMP_NAMES.iter().enumerate() {
        push(
            "net_icmp_per_second",
            &[("type", name.to_string())],
            second.icmp[slot] as f64,
        );
    }
    for (direction, ports) in [
        ("source", &second.udp_source_ports),
        ("destination", &second.udp_destination_ports),
    ] {
        let mut by_label: Vec<(String, u64)> = Vec::new();
        for (port, count) in ports.iter().take(TOP_SERIES) {
            let label = port_label(*port);
            match by_label.iter_mut().find(|(l, _)| *l == label) {
                Some(entry) => entry.1 += count,
                None => by_label.push((label, *count)),
            }
        }
        for (label, count) in by_label {
            push(
                "net_udp_packets_per_second",
                &[("direction", direction.into()), ("port", label)],
                count as f64,
            );
        }
    }
    push("net_fragments_per_second", &[], second.fragments as f64);
    push("net_new_flows_per_second", &[], second.new_flows as f64);
    push("net_distinct_sources", &[], second.distinct_sources.round());
    let heavy =
        |count: u64| count >= MIN_PACKETS && count as f64 >= MIN_SHARE * second.packets as f64;
    for ((address, port), count) in second.top_destinations.iter().take(TOP_SERIES) {
        if heavy(*count) {
            let destination = if address.is_ipv6() {
                format!("[{address}]:{port}")
            } else {
                format!("{address}:{port}")
            };
            push(
                "net_destination_packets_per_second",
                &[("destination", destination)],
                *count as f64,
            );
        }
    }
    for (address, count) in second.top_sources.iter().take(TOP_SERIES) {
        if heavy(*count) {
            push(
                "net_source_packets_per_second",
                &[("source", address.to_string())],
                *count as f64,
            );
        }
    }
    out
}

fn port_label(port: u16) -> String {
    if port < 1024 || reflector_service(port).is_some() {
        port.to_string()
    } else {
        "high".to_string()
    }
}
