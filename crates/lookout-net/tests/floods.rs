//! Every flood kind is named within two seconds of its onset on a generated capture,
//! and steady traffic with bursts raises nothing.

use lookout_model::{Event, Labels};
use lookout_net::synth::{traffic, write_pcap, Attack, Flood};
use lookout_net::{read_capture, Analyzer, FeatureConfig, FloodConfig};

const START_NS: i64 = 1_767_225_600_000_000_000;

fn analyze(attacks: &[Attack], seconds: u64) -> Vec<Event> {
    let frames = traffic(7, START_NS, seconds, 400, attacks);
    let mut bytes = Vec::new();
    write_pcap(&mut bytes, &frames).unwrap();
    let mut analyzer = Analyzer::new(
        FeatureConfig::default(),
        FloodConfig::default(),
        Labels::new(),
    );
    let mut events = Vec::new();
    read_capture(&bytes[..], |frame| {
        if let Some(second) = analyzer.frame(&frame) {
            events.extend(second.events);
        }
    })
    .unwrap();
    events.extend(analyzer.finish().into_iter().flat_map(|s| s.events));
    events
}

#[test]
fn steady_traffic_with_bursts_raises_no_event() {
    let events = analyze(&[], 600);
    assert!(
        events.is_empty(),
        "{:#?}",
        events.iter().map(|e| &e.summary).collect::<Vec<_>>()
    );
}

fn one_attack(flood: Flood, spoofed: bool, rate: u64) -> Vec<Event> {
    let attack = Attack {
        flood,
        start_s: 120.4,
        duration_s: 20.0,
        packets_per_second: rate,
        spoofed,
    };
    analyze(&[attack], 180)
}

fn assert_named(flood: Flood, spoofed: bool, rate: u64, kind: &str) -> Event {
    let events = one_attack(flood, spoofed, rate);
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec![kind],
        "{flood:?}: {:#?}",
        events.iter().map(|e| &e.summary).collect::<Vec<_>>()
    );
    let event = events.into_iter().next().unwrap();
    let onset_ms = START_NS / 1_000_000 + 120_400;
    // Raised at the close of the second it is seen in: at most two seconds after onset.
    let raised_ms = event.timestamp_ms + 1000;
    assert!(
        raised_ms - onset_ms <= 2000,
        "{kind} raised {} ms after onset",
        raised_ms - onset_ms
    );
    assert_eq!(event.evidence.fields["victim"], "10.0.0.80", "{kind}");
    event
}

#[test]
fn a_spoofed_syn_flood_is_named_with_its_victim_and_spoofing() {
    let event = assert_named(Flood::Syn, true, 5_000, "syn_flood");
    assert_eq!(event.evidence.fields["spoofed"], "likely");
    assert_eq!(event.evidence.fields["trigger"], "baseline");
    assert!(event.evidence.counts["distinct_sources"] > 1000);
    assert!(!event.evidence.examples.is_empty());
}

#[test]
fn a_syn_flood_from_few_sources_names_them() {
    let event = assert_named(Flood::Syn, false, 5_000, "syn_flood");
    assert_eq!(event.evidence.fields["spoofed"], "no");
    assert!(
        event.evidence.fields["top_sources"].contains("198.51.100."),
        "{:?}",
        event.evidence.fields
    );
}

#[test]
fn a_flood_above_the_ceiling_says_so() {
    let event = assert_named(Flood::Syn, true, 50_000, "syn_flood");
    assert_eq!(event.evidence.fields["trigger"], "ceiling");
}

#[test]
fn each_flood_kind_is_named() {
    for (flood, kind) in [
        (Flood::SynAck, "syn_ack_reflection"),
        (Flood::Udp, "udp_flood"),
        (Flood::Icmp, "icmp_flood"),
        (Flood::Fin, "fin_flood"),
        (Flood::Rst, "rst_flood"),
        (Flood::PushAck, "push_ack_flood"),
        (Flood::Fragment, "fragment_flood"),
    ] {
        assert_named(flood, true, 8_000, kind);
    }
}

#[test]
fn amplification_names_the_reflected_service() {
    for (port, service) in [
        (53, "dns"),
        (123, "ntp"),
        (11211, "memcached"),
        (1900, "ssdp"),
    ] {
        let event = assert_named(Flood::Amplification(port), true, 5_000, "udp_amplification");
        assert_eq!(event.evidence.fields["service"], service);
    }
}

#[test]
fn a_port_scan_names_its_source() {
    let events = one_attack(Flood::PortScan, false, 2_000);
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["port_scan"], "{events:#?}");
    assert_eq!(events[0].evidence.fields["source"], "198.51.100.7");
}
