//! Per-second traffic features in fixed memory.
//!
//! [`Features`] takes decoded packets of one second and yields a [`TrafficSecond`]:
//! packets and bytes by protocol, TCP flag counts, the half-open ratio (SYNs not
//! completed by an ACK, from [`HandshakeTable`]), ICMP by type, UDP by port, fragments,
//! new flows, distinct sources, heavy-hitter sources and destinations (Space-Saving), and
//! per attack [`Class`] the victim, its top sources and how many distinct sources and
//! source ports it saw (HyperLogLog) — what the flood detector and the series need.
//!
//! Memory is fixed at construction (about 170 KiB with the defaults, the flow tables
//! being most of it) whatever the traffic; per packet the cost is a few sketch updates.
//! What it misses: anything slower than its one-second window (a scan of one port a
//! minute), and exact per-key counts outside the heavy hitters.

use std::net::IpAddr;

use lookout_sketch::{HyperLogLog, SpaceSaving};

use crate::decode::{tcp_flags, PacketSummary, Protocol};
use crate::flows::{address_word, mix, FlowTable, HandshakeTable};

/// Attack classes: the packets a flood of each kind is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// SYN without ACK.
    Syn,
    /// SYN with ACK (what a reflector answers with).
    SynAck,
    /// FIN without SYN.
    Fin,
    /// RST.
    Rst,
    /// PSH with ACK.
    PushAck,
    /// UDP not from a known reflector port.
    Udp,
    /// UDP from a known reflector port (DNS, NTP, memcached, …).
    Amplification,
    Icmp,
    Fragment,
}

impl Class {
    pub const ALL: [Class; 9] = [
        Class::Syn,
        Class::SynAck,
        Class::Fin,
        Class::Rst,
        Class::PushAck,
        Class::Udp,
        Class::Amplification,
        Class::Icmp,
        Class::Fragment,
    ];

    /// The class of a packet; `None` for ordinary TCP segments (ACK, FIN-ACK, …).
    pub fn of(packet: &PacketSummary) -> Option<Class> {
        if packet.fragment {
            return Some(Class::Fragment);
        }
        match packet.protocol {
            Protocol::Tcp => {
                let flags = packet.flags;
                let syn = flags & tcp_flags::SYN != 0;
                let ack = flags & tcp_flags::ACK != 0;
                if flags & tcp_flags::RST != 0 {
                    Some(Class::Rst)
                } else if syn && ack {
                    Some(Class::SynAck)
                } else if syn {
                    Some(Class::Syn)
                } else if flags & tcp_flags::FIN != 0 && !ack {
                    Some(Class::Fin)
                } else if flags & tcp_flags::PSH != 0 && ack {
                    Some(Class::PushAck)
                } else {
                    None
                }
            }
            Protocol::Udp if reflector_service(packet.source_port).is_some() => {
                Some(Class::Amplification)
            }
            Protocol::Udp => Some(Class::Udp),
            Protocol::Icmp => Some(Class::Icmp),
            Protocol::Other(_) => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The service a UDP source port belongs to when it is a known amplification reflector.
pub fn reflector_service(port: u16) -> Option<&'static str> {
    Some(match port {
        17 => "qotd",
        19 => "chargen",
        53 => "dns",
        69 => "tftp",
        111 => "portmap",
        123 => "ntp",
        137 => "netbios",
        161 => "snmp",
        389 => "cldap",
        520 => "rip",
        1434 => "mssql",
        1900 => "ssdp",
        3283 => "ard",
        3702 => "ws_discovery",
        5353 => "mdns",
        5683 => "coap",
        10001 => "ubiquiti",
        11211 => "memcached",
        27015 => "steam",
        37810 => "dvr",
        _ => return None,
    })
}

/// Sizes of the summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureConfig {
    /// Counters per heavy-hitter summary.
    pub heavy_hitters: usize,
    /// Slots of each flow table.
    pub flow_slots: usize,
    /// A flow idle this long is new when it returns.
    pub flow_idle_s: i64,
    /// Example packets kept per class and second.
    pub examples: usize,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            heavy_hitters: 32,
            flow_slots: 1 << 13,
            flow_idle_s: 60,
            examples: 3,
        }
    }
}

/// One class's packets in one second.
#[derive(Debug, Clone)]
pub struct ClassSecond {
    pub packets: u64,
    pub bytes: u64,
    /// Heaviest destinations (victims) and sources by packets.
    pub destinations: Vec<(IpAddr, u64)>,
    pub sources: Vec<(IpAddr, u64)>,
    pub distinct_sources: f64,
    pub distinct_source_ports: f64,
    /// Heaviest UDP source ports (for amplification: the reflected service).
    pub source_ports: Vec<(u16, u64)>,
    /// The first packets of the class in the second.
    pub examples: Vec<PacketSummary>,
}

/// The features of one second of traffic.
#[derive(Debug, Clone)]
pub struct TrafficSecond {
    /// Unix seconds.
    pub second: i64,
    pub packets: u64,
    pub bytes: u64,
    /// Packets and bytes by protocol: tcp, udp, icmp, other.
    pub protocol_packets: [u64; 4],
    pub protocol_bytes: [u64; 4],
    /// TCP flag counts, see [`FLAG_NAMES`].
    pub flags: [u64; 8],
    /// 1 − completed handshakes / SYNs, in [0, 1]; 0 without SYNs.
    pub half_open_ratio: f64,
    /// ICMP by type, see [`ICMP_NAMES`].
    pub icmp: [u64; 5],
    pub fragments: u64,
    pub new_flows: u64,
    pub distinct_sources: f64,
    pub top_sources: Vec<(IpAddr, u64)>,
    /// Heaviest destinations with their port (0 for ICMP and other protocols).
    pub top_destinations: Vec<((IpAddr, u16), u64)>,
    pub udp_source_ports: Vec<(u16, u64)>,
    pub udp_destination_ports: Vec<(u16, u64)>,
    /// Distinct destination ports the heaviest SYN senders tried (port scans).
    pub scanners: Vec<(IpAddr, f64)>,
    pub classes: Vec<(Class, ClassSecond)>,
}

/// Names of [`TrafficSecond::flags`], in order.
pub const FLAG_NAMES: [&str; 8] = [
    "syn", "syn_ack", "ack", "fin", "rst", "psh_ack", "ecn", "odd",
];
/// Names of [`TrafficSecond::icmp`], in order.
pub const ICMP_NAMES: [&str; 5] = [
    "echo_request",
    "echo_reply",
    "unreachable",
    "time_exceeded",
    "other",
];
/// Names of the protocol slots, in order.
pub const PROTOCOL_NAMES: [&str; 4] = ["tcp", "udp", "icmp", "other"];

struct ClassState {
    packets: u64,
    bytes: u64,
    destinations: SpaceSaving<IpAddr>,
    sources: SpaceSaving<IpAddr>,
    source_hll: HyperLogLog,
    port_hll: HyperLogLog,
    source_ports: SpaceSaving<u16>,
    examples: Vec<PacketSummary>,
}

/// Buckets of per-source destination-port sketches (a source's estimate is its
/// bucket's, so sources sharing a bucket add up: an overestimate, never an under).
const SCAN_BUCKETS: usize = 64;

/// The accumulator of one second; see the module documentation.
pub struct Features {
    config: FeatureConfig,
    second: Option<i64>,
    packets: u64,
    bytes: u64,
    protocol_packets: [u64; 4],
    protocol_bytes: [u64; 4],
    flags: [u64; 8],
    syns: u64,
    completed: u64,
    icmp: [u64; 5],
    fragments: u64,
    new_flows: u64,
    sources: HyperLogLog,
    top_sources: SpaceSaving<IpAddr>,
    top_destinations: SpaceSaving<(IpAddr, u16)>,
    udp_source_ports: SpaceSaving<u16>,
    udp_destination_ports: SpaceSaving<u16>,
    syn_senders: SpaceSaving<IpAddr>,
    scan_ports: Vec<HyperLogLog>,
    classes: Vec<ClassState>,
    flows: FlowTable,
    handshakes: HandshakeTable,
}

impl Features {
    pub fn new(config: FeatureConfig) -> Features {
        let hll = |precision| HyperLogLog::new(precision).expect("valid precision");
        let capacity = config.heavy_hitters.max(1);
        Features {
            config,
            second: None,
            packets: 0,
            bytes: 0,
            protocol_packets: [0; 4],
            protocol_bytes: [0; 4],
            flags: [0; 8],
            syns: 0,
            completed: 0,
            icmp: [0; 5],
            fragments: 0,
            new_flows: 0,
            sources: hll(10),
            top_sources: SpaceSaving::new(capacity),
            top_destinations: SpaceSaving::new(capacity),
            udp_source_ports: SpaceSaving::new(capacity),
            udp_destination_ports: SpaceSaving::new(capacity),
            syn_senders: SpaceSaving::new(capacity),
            scan_ports: (0..SCAN_BUCKETS).map(|_| hll(6)).collect(),
            classes: Class::ALL
                .iter()
                .map(|_| ClassState {
                    packets: 0,
                    bytes: 0,
                    destinations: SpaceSaving::new(capacity),
                    sources: SpaceSaving::new(capacity),
                    source_hll: hll(8),
                    port_hll: hll(8),
                    source_ports: SpaceSaving::new(8),
                    examples: Vec::with_capacity(config.examples),
                })
                .collect(),
            flows: FlowTable::new(config.flow_slots, config.flow_idle_s),
            handshakes: HandshakeTable::new(config.flow_slots),
        }
    }

    /// The second being accumulated, if any packet arrived.
    pub fn current_second(&self) -> Option<i64> {
        self.second
    }

    /// Adds a packet of `second` (the caller closes the previous second first).
    pub fn add(&mut self, packet: &PacketSummary, second: i64) {
        self.second.get_or_insert(second);
        let bytes = u64::from(packet.wire_len);
        self.packets += 1;
        self.bytes += bytes;
        let slot = match packet.protocol {
            Protocol::Tcp => 0,
            Protocol::Udp => 1,
            Protocol::Icmp => 2,
            Protocol::Other(_) => 3,
        };
        self.protocol_packets[slot] += 1;
        self.protocol_bytes[slot] += bytes;
        let source_word = address_word(packet.source);
        self.sources.insert_hash(mix(source_word));
        self.top_sources.insert(&packet.source);
        self.top_destinations
            .insert(&(packet.destination, packet.destination_port));
        if self.flows.observe(packet, second) {
            self.new_flows += 1;
        }
        if packet.fragment {
            self.fragments += 1;
        }
        match packet.protocol {
            Protocol::Tcp => self.add_tcp(packet, source_word),
            Protocol::Udp => {
                self.udp_source_ports.insert(&packet.source_port);
                self.udp_destination_ports.insert(&packet.destination_port);
            }
            Protocol::Icmp => self.icmp[icmp_slot(packet)] += 1,
            Protocol::Other(_) => {}
        }
        if let Some(class) = Class::of(packet) {
            let state = &mut self.classes[class.index()];
            state.packets += 1;
            state.bytes += bytes;
            state.destinations.insert(&packet.destination);
            state.sources.insert(&packet.source);
            state.source_hll.insert_hash(mix(source_word));
            state
                .port_hll
                .insert_hash(mix(u64::from(packet.source_port) ^ 0x5bd1_e995));
            if class == Class::Amplification {
                state.source_ports.insert(&packet.source_port);
            }
            if state.examples.len() < self.config.examples {
                state.examples.push(*packet);
            }
        }
    }

    fn add_tcp(&mut self, packet: &PacketSummary, source_word: u64) {
        let flags = packet.flags;
        let syn = flags & tcp_flags::SYN != 0;
        let ack = flags & tcp_flags::ACK != 0;
        let fin = flags & tcp_flags::FIN != 0;
        let rst = flags & tcp_flags::RST != 0;
        let psh = flags & tcp_flags::PSH != 0;
        if syn && !ack {
            self.flags[0] += 1;
            self.syns += 1;
            self.syn_senders.insert(&packet.source);
            let bucket = (mix(source_word) as usize) % SCAN_BUCKETS;
            let target =
                mix(address_word(packet.destination) ^ (u64::from(packet.destination_port) << 40));
            self.scan_ports[bucket].insert_hash(target);
        }
        if syn && ack {
            self.flags[1] += 1;
        }
        if ack && !(syn || fin || rst || psh) {
            self.flags[2] += 1;
        }
        if fin {
            self.flags[3] += 1;
        }
        if rst {
            self.flags[4] += 1;
        }
        if psh && ack {
            self.flags[5] += 1;
        }
        if flags & (tcp_flags::ECE | tcp_flags::CWR) != 0 && !syn {
            self.flags[6] += 1;
        }
        let odd = flags & 0x3f == 0
            || (syn && (fin || rst))
            || (fin && psh && flags & tcp_flags::URG != 0 && !ack);
        if odd {
            self.flags[7] += 1;
        }
        if self.handshakes.observe(packet) {
            self.completed += 1;
        }
    }

    /// Ends the second: its features, and an empty accumulator for the next.
    pub fn close(&mut self, top: usize) -> Option<TrafficSecond> {
        let second = self.second.take()?;
        let half_open_ratio = if self.syns == 0 {
            0.0
        } else {
            (1.0 - self.completed as f64 / self.syns as f64).clamp(0.0, 1.0)
        };
        let pairs = |summary: &SpaceSaving<IpAddr>| -> Vec<(IpAddr, u64)> {
            summary
                .top(top)
                .into_iter()
                .map(|c| (c.key, c.count))
                .collect()
        };
        let scanners = self
            .syn_senders
            .top(top)
            .into_iter()
            .map(|c| {
                let bucket = (mix(address_word(c.key)) as usize) % SCAN_BUCKETS;
                // A source cannot try more ports than it sent SYNs: this undoes
                // most of what another source sharing the bucket added.
                (
                    c.key,
                    self.scan_ports[bucket].estimate().min(c.count as f64),
                )
            })
            .collect();
        let classes = Class::ALL
            .iter()
            .zip(&self.classes)
            .filter(|(_, state)| state.packets > 0)
            .map(|(class, state)| {
                (
                    *class,
                    ClassSecond {
                        packets: state.packets,
                        bytes: state.bytes,
                        destinations: pairs(&state.destinations),
                        sources: pairs(&state.sources),
                        distinct_sources: state.source_hll.estimate(),
                        distinct_source_ports: state.port_hll.estimate(),
                        source_ports: state
                            .source_ports
                            .top(3)
                            .into_iter()
                            .map(|c| (c.key, c.count))
                            .collect(),
                        examples: state.examples.clone(),
                    },
                )
            })
            .collect();
        let ports = |summary: &SpaceSaving<u16>| -> Vec<(u16, u64)> {
            summary
                .top(top)
                .into_iter()
                .map(|c| (c.key, c.count))
                .collect()
        };
        let result = TrafficSecond {
            second,
            packets: self.packets,
            bytes: self.bytes,
            protocol_packets: self.protocol_packets,
            protocol_bytes: self.protocol_bytes,
            flags: self.flags,
            half_open_ratio,
            icmp: self.icmp,
            fragments: self.fragments,
            new_flows: self.new_flows,
            distinct_sources: self.sources.estimate(),
            top_sources: pairs(&self.top_sources),
            top_destinations: self
                .top_destinations
                .top(top)
                .into_iter()
                .map(|c| (c.key, c.count))
                .collect(),
            udp_source_ports: ports(&self.udp_source_ports),
            udp_destination_ports: ports(&self.udp_destination_ports),
            scanners,
            classes,
        };
        self.reset();
        Some(result)
    }

    fn reset(&mut self) {
        self.packets = 0;
        self.bytes = 0;
        self.protocol_packets = [0; 4];
        self.protocol_bytes = [0; 4];
        self.flags = [0; 8];
        self.syns = 0;
        self.completed = 0;
        self.icmp = [0; 5];
        self.fragments = 0;
        self.new_flows = 0;
        self.sources.clear();
        self.top_sources.clear();
        self.top_destinations.clear();
        self.udp_source_ports.clear();
        self.udp_destination_ports.clear();
        self.syn_senders.clear();
        self.scan_ports.iter_mut().for_each(HyperLogLog::clear);
        for state in &mut self.classes {
            state.packets = 0;
            state.bytes = 0;
            state.destinations.clear();
            state.sources.clear();
            state.source_hll.clear();
            state.port_hll.clear();
            state.source_ports.clear();
            state.examples.clear();
        }
    }

    /// Bytes held by the flow tables (the rest is a few tens of KiB).
    pub fn table_bytes(&self) -> usize {
        self.flows.memory_bytes() + self.handshakes.memory_bytes()
    }
}

fn icmp_slot(packet: &PacketSummary) -> usize {
    let v6 = packet.destination.is_ipv6();
    match (packet.icmp_type, v6) {
        (Some(8), false) | (Some(128), true) => 0,
        (Some(0), false) | (Some(129), true) => 1,
        (Some(3), false) | (Some(1), true) => 2,
        (Some(11), false) | (Some(3), true) => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode, LinkType};
    use crate::synth::{ethernet_icmp, ethernet_tcp, ethernet_udp};

    fn packet(frame: Vec<u8>) -> PacketSummary {
        decode(LinkType::Ethernet, &frame, frame.len() as u32).unwrap()
    }

    #[test]
    fn a_second_counts_protocols_flags_and_handshakes() {
        let mut features = Features::new(FeatureConfig::default());
        let client = [10, 0, 0, 1];
        let server = [10, 0, 0, 2];
        features.add(
            &packet(ethernet_tcp(client, server, 5000, 80, tcp_flags::SYN)),
            7,
        );
        features.add(
            &packet(ethernet_tcp(
                server,
                client,
                80,
                5000,
                tcp_flags::SYN | tcp_flags::ACK,
            )),
            7,
        );
        features.add(
            &packet(ethernet_tcp(client, server, 5000, 80, tcp_flags::ACK)),
            7,
        );
        features.add(
            &packet(ethernet_tcp(client, server, 5001, 80, tcp_flags::SYN)),
            7,
        );
        features.add(&packet(ethernet_udp(server, client, 53, 4000, 100)), 7);
        features.add(&packet(ethernet_icmp(client, server, 8)), 7);
        let second = features.close(5).unwrap();
        assert_eq!(second.second, 7);
        assert_eq!(second.packets, 6);
        assert_eq!(second.protocol_packets, [4, 1, 1, 0]);
        assert_eq!(second.flags[..3], [2, 1, 1]);
        assert_eq!(second.half_open_ratio, 0.5);
        assert_eq!(second.icmp[0], 1);
        assert_eq!(second.new_flows, 4);
        let amplification = second
            .classes
            .iter()
            .find(|(c, _)| *c == Class::Amplification)
            .unwrap();
        assert_eq!(amplification.1.source_ports, vec![(53, 1)]);
        assert!(
            features.close(5).is_none(),
            "closing resets the accumulator"
        );
    }

    #[test]
    fn classes_follow_the_flags() {
        let p = |flags| packet(ethernet_tcp([1, 1, 1, 1], [2, 2, 2, 2], 1, 2, flags));
        assert_eq!(Class::of(&p(tcp_flags::SYN)), Some(Class::Syn));
        assert_eq!(
            Class::of(&p(tcp_flags::SYN | tcp_flags::ACK)),
            Some(Class::SynAck)
        );
        assert_eq!(Class::of(&p(tcp_flags::FIN)), Some(Class::Fin));
        assert_eq!(Class::of(&p(tcp_flags::FIN | tcp_flags::ACK)), None);
        assert_eq!(
            Class::of(&p(tcp_flags::RST | tcp_flags::ACK)),
            Some(Class::Rst)
        );
        assert_eq!(
            Class::of(&p(tcp_flags::PSH | tcp_flags::ACK)),
            Some(Class::PushAck)
        );
        assert_eq!(Class::of(&p(tcp_flags::ACK)), None);
    }
}
