//! Synthetic frames and captures, for tests and benchmarks.
//!
//! Builds Ethernet/IPv4 frames by hand (valid header checksums, no payload bytes beyond
//! what a test asks for), writes them as a classic pcap file, and generates seeded,
//! deterministic traffic: steady client–server TCP and DNS traffic with bursts, and the
//! floods lookout must name. Nothing here is used by the capture path itself.

use std::io::{self, Write};

use crate::decode::tcp_flags;

/// A seeded splitmix64 generator: deterministic, no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

fn checksum(header: &[u8]) -> u16 {
    let mut sum = 0u32;
    for pair in header.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 header for `payload_len` bytes of protocol `protocol`.
fn ipv4_header(
    source: [u8; 4],
    destination: [u8; 4],
    protocol: u8,
    payload_len: usize,
    fragment: u16,
) -> Vec<u8> {
    let total = (20 + payload_len) as u16;
    let mut header = vec![0x45, 0];
    header.extend_from_slice(&total.to_be_bytes());
    header.extend_from_slice(&[0x12, 0x34]);
    header.extend_from_slice(&fragment.to_be_bytes());
    header.extend_from_slice(&[64, protocol, 0, 0]);
    header.extend_from_slice(&source);
    header.extend_from_slice(&destination);
    let sum = checksum(&header);
    header[10..12].copy_from_slice(&sum.to_be_bytes());
    header
}

fn ethernet(mut ip: Vec<u8>) -> Vec<u8> {
    let mut frame = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    frame.append(&mut ip);
    frame
}

/// An IPv4 packet holding a TCP header with `flags` (no payload).
pub fn ipv4_tcp(
    source: [u8; 4],
    destination: [u8; 4],
    sport: u16,
    dport: u16,
    flags: u8,
) -> Vec<u8> {
    ipv4_tcp_data(source, destination, sport, dport, flags, 0)
}

/// An IPv4 packet holding a TCP segment with `flags` and `payload` zero bytes.
pub fn ipv4_tcp_data(
    source: [u8; 4],
    destination: [u8; 4],
    sport: u16,
    dport: u16,
    flags: u8,
    payload: usize,
) -> Vec<u8> {
    let mut packet = ipv4_header(source, destination, 6, 20 + payload, 0x4000);
    packet.extend_from_slice(&sport.to_be_bytes());
    packet.extend_from_slice(&dport.to_be_bytes());
    packet.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    packet.resize(packet.len() + payload, 0);
    packet
}

/// An Ethernet frame holding [`ipv4_tcp_data`].
pub fn ethernet_tcp_data(
    source: [u8; 4],
    destination: [u8; 4],
    sport: u16,
    dport: u16,
    flags: u8,
    payload: usize,
) -> Vec<u8> {
    ethernet(ipv4_tcp_data(
        source,
        destination,
        sport,
        dport,
        flags,
        payload,
    ))
}

/// An Ethernet frame holding [`ipv4_tcp`].
pub fn ethernet_tcp(
    source: [u8; 4],
    destination: [u8; 4],
    sport: u16,
    dport: u16,
    flags: u8,
) -> Vec<u8> {
    ethernet(ipv4_tcp(source, destination, sport, dport, flags))
}

/// An Ethernet frame holding a UDP datagram with `payload` zero bytes.
pub fn ethernet_udp(
    source: [u8; 4],
    destination: [u8; 4],
    sport: u16,
    dport: u16,
    payload: usize,
) -> Vec<u8> {
    let mut packet = ipv4_header(source, destination, 17, 8 + payload, 0x4000);
    packet.extend_from_slice(&sport.to_be_bytes());
    packet.extend_from_slice(&dport.to_be_bytes());
    packet.extend_from_slice(&((8 + payload) as u16).to_be_bytes());
    packet.extend_from_slice(&[0, 0]);
    packet.resize(packet.len() + payload, 0);
    ethernet(packet)
}

/// An Ethernet frame holding an ICMP message of `icmp_type` (code 0, 8 bytes).
pub fn ethernet_icmp(source: [u8; 4], destination: [u8; 4], icmp_type: u8) -> Vec<u8> {
    let mut packet = ipv4_header(source, destination, 1, 8, 0);
    packet.extend_from_slice(&[icmp_type, 0, 0, 0, 0, 1, 0, 1]);
    ethernet(packet)
}

/// An Ethernet frame holding a later IPv4 fragment (offset 185 × 8 bytes) of UDP.
pub fn ethernet_fragment(source: [u8; 4], destination: [u8; 4]) -> Vec<u8> {
    let mut packet = ipv4_header(source, destination, 17, 64, 185);
    packet.resize(packet.len() + 64, 0);
    ethernet(packet)
}

/// One frame with its capture time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedFrame {
    pub timestamp_ns: i64,
    pub frame: Vec<u8>,
}

/// Writes frames as a classic pcap file (microsecond timestamps, Ethernet).
pub fn write_pcap<W: Write>(out: &mut W, frames: &[TimedFrame]) -> io::Result<()> {
    out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
    out.write_all(&2u16.to_le_bytes())?;
    out.write_all(&4u16.to_le_bytes())?;
    out.write_all(&[0; 8])?;
    out.write_all(&65535u32.to_le_bytes())?;
    out.write_all(&1u32.to_le_bytes())?;
    for frame in frames {
        let seconds = frame.timestamp_ns.div_euclid(1_000_000_000) as u32;
        let micros = (frame.timestamp_ns.rem_euclid(1_000_000_000) / 1000) as u32;
        let len = frame.frame.len() as u32;
        for word in [seconds, micros, len, len] {
            out.write_all(&word.to_le_bytes())?;
        }
        out.write_all(&frame.frame)?;
    }
    Ok(())
}

/// A flood the generator can add to steady traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flood {
    Syn,
    SynAck,
    Udp,
    /// UDP responses from a reflector port (53 DNS, 123 NTP, 11211 memcached, …).
    Amplification(u16),
    Icmp,
    Fin,
    Rst,
    PushAck,
    Fragment,
    PortScan,
}

/// An attack in a generated capture: kind, start, length and rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attack {
    pub flood: Flood,
    pub start_s: f64,
    pub duration_s: f64,
    pub packets_per_second: u64,
    /// Random source addresses and ports (`--rand-source`), else a handful of sources.
    pub spoofed: bool,
}

/// The victim of every generated attack.
pub const VICTIM: [u8; 4] = [10, 0, 0, 80];

/// Steady traffic for `seconds` at about `rate` packets per second (with bursts of 3×
/// for a few seconds every minute and a slow daily-like swell), plus `attacks`; frames
/// in time order, starting at `start_ns`.
pub fn traffic(
    seed: u64,
    start_ns: i64,
    seconds: u64,
    rate: u64,
    attacks: &[Attack],
) -> Vec<TimedFrame> {
    let mut rng = Rng::new(seed);
    let mut frames = Vec::new();
    for second in 0..seconds {
        let swell = 1.0 + 0.3 * ((second as f64) / 600.0 * std::f64::consts::TAU).sin();
        let burst = if second % 60 < 3 { 3.0 } else { 1.0 };
        let packets = (rate as f64 * swell * burst) as u64;
        let base = start_ns + second as i64 * 1_000_000_000;
        let mut second_frames = Vec::with_capacity(packets as usize);
        for _ in 0..packets / 4 {
            let client = [172, 16, rng.below(4) as u8, 1 + rng.below(250) as u8];
            let port = 1024 + rng.below(60000) as u16;
            let at = base + rng.below(1_000_000_000) as i64;
            // A handshake, a request and a close: SYN, SYN-ACK, ACK, PSH-ACK spread over 3 ms.
            second_frames.push(TimedFrame {
                timestamp_ns: at,
                frame: ethernet_tcp(client, VICTIM, port, 443, tcp_flags::SYN),
            });
            second_frames.push(TimedFrame {
                timestamp_ns: at + 1_000_000,
                frame: ethernet_tcp(VICTIM, client, 443, port, tcp_flags::SYN | tcp_flags::ACK),
            });
            second_frames.push(TimedFrame {
                timestamp_ns: at + 2_000_000,
                frame: ethernet_tcp(client, VICTIM, port, 443, tcp_flags::ACK),
            });
            let last = if rng.below(8) == 0 {
                tcp_flags::FIN | tcp_flags::ACK
            } else {
                tcp_flags::PSH | tcp_flags::ACK
            };
            second_frames.push(TimedFrame {
                timestamp_ns: at + 3_000_000,
                frame: ethernet_tcp(client, VICTIM, port, 443, last),
            });
        }
        for _ in 0..(packets / 50).max(1) {
            let at = base + rng.below(1_000_000_000) as i64;
            second_frames.push(TimedFrame {
                timestamp_ns: at,
                frame: ethernet_udp(
                    VICTIM,
                    [10, 0, 0, 53],
                    40000 + rng.below(2000) as u16,
                    53,
                    40,
                ),
            });
            second_frames.push(TimedFrame {
                timestamp_ns: at + 500_000,
                frame: ethernet_udp(
                    [10, 0, 0, 53],
                    VICTIM,
                    53,
                    40000 + rng.below(2000) as u16,
                    120,
                ),
            });
        }
        if second % 10 == 0 {
            second_frames.push(TimedFrame {
                timestamp_ns: base + 1000,
                frame: ethernet_icmp([172, 16, 0, 9], VICTIM, 8),
            });
        }
        for attack in attacks {
            let t = second as f64;
            if t + 1.0 <= attack.start_s || t >= attack.start_s + attack.duration_s {
                continue;
            }
            let from = ((attack.start_s - t).max(0.0) * 1e9) as i64;
            let to = ((attack.start_s + attack.duration_s - t).min(1.0) * 1e9) as i64;
            let count = (attack.packets_per_second as f64 * (to - from) as f64 / 1e9) as u64;
            for i in 0..count {
                let at = base + from + ((to - from) as u64 * i / count.max(1)) as i64;
                second_frames.push(TimedFrame {
                    timestamp_ns: at,
                    frame: attack_frame(&mut rng, attack, i),
                });
            }
        }
        second_frames.sort_by_key(|frame| frame.timestamp_ns);
        frames.append(&mut second_frames);
    }
    frames
}

fn attack_frame(rng: &mut Rng, attack: &Attack, index: u64) -> Vec<u8> {
    let source = if attack.spoofed {
        let bits = rng.next_u64() as u32;
        [
            1 + (bits >> 24) as u8 % 223,
            (bits >> 16) as u8,
            (bits >> 8) as u8,
            bits as u8,
        ]
    } else {
        [198, 51, 100, 1 + (index % 5) as u8]
    };
    let sport = if attack.spoofed {
        1024 + rng.below(64000) as u16
    } else {
        40000 + (index % 5) as u16
    };
    match attack.flood {
        Flood::Syn => ethernet_tcp(source, VICTIM, sport, 80, tcp_flags::SYN),
        Flood::SynAck => ethernet_tcp(source, VICTIM, 80, sport, tcp_flags::SYN | tcp_flags::ACK),
        Flood::Udp => ethernet_udp(source, VICTIM, sport, 1 + rng.below(65000) as u16, 512),
        Flood::Amplification(port) => {
            ethernet_udp(source, VICTIM, port, 1024 + rng.below(60000) as u16, 1200)
        }
        Flood::Icmp => ethernet_icmp(source, VICTIM, 8),
        Flood::Fin => ethernet_tcp(source, VICTIM, sport, 80, tcp_flags::FIN),
        Flood::Rst => ethernet_tcp(source, VICTIM, sport, 80, tcp_flags::RST),
        Flood::PushAck => ethernet_tcp(source, VICTIM, sport, 80, tcp_flags::PSH | tcp_flags::ACK),
        Flood::Fragment => ethernet_fragment(source, VICTIM),
        Flood::PortScan => ethernet_tcp(
            [198, 51, 100, 7],
            VICTIM,
            50000,
            1 + (index % 65000) as u16,
            tcp_flags::SYN,
        ),
    }
}

/// Web sessions for `seconds` at about `per_second` sessions a second, from a few
/// hundred clients to [`VICTIM`]:80: a full handshake, a request of 200-700 bytes, a
/// response of 1-20 KB in segments of up to 1,448 bytes, and a close by both sides, over
/// 5-60 ms; frames in time order, starting at `start_ns`. Merged with [`traffic`]'s
/// frames (sorted by time), it is a capture of ordinary connections beside a flood.
pub fn web_sessions(seed: u64, start_ns: i64, seconds: u64, per_second: u64) -> Vec<TimedFrame> {
    let mut rng = Rng::new(seed);
    let mut frames = Vec::new();
    let ack = tcp_flags::ACK;
    let push = tcp_flags::PSH | tcp_flags::ACK;
    let fin = tcp_flags::FIN | tcp_flags::ACK;
    for second in 0..seconds {
        let base = start_ns + second as i64 * 1_000_000_000;
        for _ in 0..per_second {
            let client = [172, 16, rng.below(2) as u8, 1 + rng.below(200) as u8];
            let port = 1024 + rng.below(60000) as u16;
            let step = 1_000_000 + rng.below(4_000_000) as i64;
            let mut at = base + rng.below(1_000_000_000) as i64;
            let mut push_frame = |frame: Vec<u8>, at: &mut i64| {
                frames.push(TimedFrame {
                    timestamp_ns: *at,
                    frame,
                });
                *at += step;
            };
            let out = |flags, payload| ethernet_tcp_data(client, VICTIM, port, 80, flags, payload);
            let back = |flags, payload| ethernet_tcp_data(VICTIM, client, 80, port, flags, payload);
            push_frame(out(tcp_flags::SYN, 0), &mut at);
            push_frame(back(tcp_flags::SYN | ack, 0), &mut at);
            push_frame(out(ack, 0), &mut at);
            push_frame(out(push, 200 + rng.below(500) as usize), &mut at);
            let mut response = 1000 + rng.below(19_000) as usize;
            while response > 0 {
                let segment = response.min(1448);
                push_frame(back(push, segment), &mut at);
                response -= segment;
            }
            push_frame(out(ack, 0), &mut at);
            push_frame(back(fin, 0), &mut at);
            push_frame(out(fin, 0), &mut at);
            push_frame(back(ack, 0), &mut at);
        }
    }
    frames.sort_by_key(|frame| frame.timestamp_ns);
    frames
}
