//! Packet decoding: a captured frame of a known link type → a [`PacketSummary`].
//!
//! Only what the traffic features need is kept: addresses, protocol, ports, TCP flags,
//! ICMP type, whether the datagram is a fragment, and the length on the wire. Header
//! slicing is `etherparse`'s lax parser (bounds-checked, zero-copy, tolerant of frames cut
//! by the snapshot length), so a packet with lying length fields, IPv4 options, IPv6
//! extension headers, VLAN tags or a jumbo payload decodes as far as its bytes allow and
//! never reads out of bounds. What cannot be decoded is a [`DecodeError`] whose
//! [`DecodeError::reason`] is the label it is counted under.
//!
//! The common frame (Ethernet II, IPv4 without options, not a fragment, TCP or UDP) is
//! read directly by fixed offsets, with the lax parser's answers; everything else goes
//! through the parser.
//!
//! Cost: one pass over the headers, no allocation; about 5 ns for the common frame.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};

/// The link layers lookout decodes (pcap `LINKTYPE_*` values in parentheses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// Ethernet II, with 802.1Q/802.1ad VLAN tags (1).
    Ethernet,
    /// Linux "cooked" capture v1, as `tcpdump -i any` writes (113).
    LinuxSll,
    /// Linux "cooked" capture v2 (276).
    LinuxSll2,
    /// Raw IPv4 or IPv6, no link header (101, 228, 229; 12 and 14 on some systems).
    RawIp,
    /// BSD loopback: a 4-byte address family in host or network order (0, 108).
    Null,
}

impl LinkType {
    /// The link type of a pcap/pcapng `LINKTYPE_*` number, `None` when unsupported.
    pub fn from_linktype(value: i32) -> Option<LinkType> {
        Some(match value {
            1 => LinkType::Ethernet,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            12 | 14 | 101 | 228 | 229 => LinkType::RawIp,
            0 | 108 => LinkType::Null,
            _ => return None,
        })
    }
}

/// Transport protocol of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    /// Any other IP protocol (GRE, ESP, SCTP, …), or a fragment whose transport header is
    /// not in this packet.
    Other(u8),
}

impl Protocol {
    /// The `protocol` label of the traffic series.
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Other(_) => "other",
        }
    }
}

/// TCP flag bits as on the wire (byte 13 of the TCP header).
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    /// tcpdump's letters for a flag byte: `S`, `S.`, `F.`, `P.`, `R`, `.` (ACK alone).
    pub fn describe(flags: u8) -> String {
        let mut text = String::new();
        for (bit, letter) in [
            (SYN, 'S'),
            (FIN, 'F'),
            (PSH, 'P'),
            (RST, 'R'),
            (URG, 'U'),
            (ECE, 'E'),
            (CWR, 'W'),
        ] {
            if flags & bit != 0 {
                text.push(letter);
            }
        }
        if flags & ACK != 0 {
            text.push('.');
        }
        if text.is_empty() {
            text.push_str("none");
        }
        text
    }
}

/// What the traffic features need of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketSummary {
    pub source: IpAddr,
    pub destination: IpAddr,
    pub protocol: Protocol,
    /// TCP/UDP ports; 0 when the protocol has none or the header was not captured.
    pub source_port: u16,
    pub destination_port: u16,
    /// TCP flags (see [`tcp_flags`]); 0 for other protocols.
    pub flags: u8,
    /// ICMP (v4 or v6) type; `None` for other protocols.
    pub icmp_type: Option<u8>,
    /// An IPv4 or IPv6 fragment (first or later).
    pub fragment: bool,
    /// Length on the wire in bytes (the original length, not the captured one).
    pub wire_len: u32,
    /// Transport payload bytes by the IP header's length fields (so a frame cut by the
    /// snapshot length still counts its full payload): TCP or UDP data after their
    /// headers; the whole IP payload for ICMP, other protocols, later fragments and a
    /// transport header not captured.
    pub payload_len: u32,
}

/// Why a frame was not decoded into a [`PacketSummary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame is shorter than its link header")]
    Truncated,
    #[error("frame carries no IP packet (ARP, LLDP, …)")]
    NotIp,
    #[error("IP header is malformed")]
    Malformed,
}

impl DecodeError {
    /// The label this error is counted under (`reason="…"`).
    pub fn reason(self) -> &'static str {
        match self {
            DecodeError::Truncated => "truncated",
            DecodeError::NotIp => "not_ip",
            DecodeError::Malformed => "malformed",
        }
    }
}

/// Decodes one captured frame; `wire_len` is its original length.
pub fn decode(link: LinkType, frame: &[u8], wire_len: u32) -> Result<PacketSummary, DecodeError> {
    if link == LinkType::Ethernet {
        if let Some(packet) = decode_ethernet_ipv4(frame, wire_len) {
            return Ok(packet);
        }
    }
    decode_general(link, frame, wire_len)
}

/// The common case without the general parser: Ethernet II, IPv4 without options and
/// not fragmented, a complete TCP or UDP header. Anything else is `None` and goes the
/// general way; where it answers, the answer is the general parser's (see the test
/// `the_fast_path_agrees_with_the_general_parser`).
#[inline]
fn decode_ethernet_ipv4(frame: &[u8], wire_len: u32) -> Option<PacketSummary> {
    // 14 bytes of Ethernet, then at least a 20-byte IPv4 header.
    let ip = frame.get(14..)?;
    if frame[12..14] != [0x08, 0x00] || ip.len() < 20 || ip[0] != 0x45 {
        return None;
    }
    // More-fragments flag or a fragment offset: the general way.
    if u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    // As the lax parser: a total length that is too short or too long gives way to
    // the captured length.
    let end = if total < 20 || total > ip.len() {
        ip.len()
    } else {
        total
    };
    let payload = &ip[20..end];
    // Bytes after the IP header as the header declares them (a short capture keeps the
    // true count), less the transport header: as the general parser counts them.
    let ip_payload = (total as u32).saturating_sub(20);
    let (protocol, flags, payload_len) = match ip[9] {
        6 => {
            let data_offset = usize::from(*payload.get(12)? >> 4);
            if data_offset < 5 || payload.len() < data_offset * 4 {
                return None;
            }
            let header = data_offset as u32 * 4;
            (
                Protocol::Tcp,
                payload[13],
                ip_payload.saturating_sub(header),
            )
        }
        17 if payload.len() >= 8 => (Protocol::Udp, 0, ip_payload.saturating_sub(8)),
        _ => return None,
    };
    Some(PacketSummary {
        source: IpAddr::V4(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15])),
        destination: IpAddr::V4(Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19])),
        protocol,
        source_port: u16::from_be_bytes([payload[0], payload[1]]),
        destination_port: u16::from_be_bytes([payload[2], payload[3]]),
        flags,
        icmp_type: None,
        fragment: false,
        wire_len,
        payload_len,
    })
}

/// Every frame the fast path leaves: `etherparse`'s lax parser.
fn decode_general(
    link: LinkType,
    frame: &[u8],
    wire_len: u32,
) -> Result<PacketSummary, DecodeError> {
    let sliced = match link {
        LinkType::Ethernet => {
            LaxSlicedPacket::from_ethernet(frame).map_err(|_| DecodeError::Truncated)?
        }
        LinkType::LinuxSll => {
            // 16 bytes: packet type, ARPHRD, address length, 8 address bytes, protocol.
            let protocol = u16::from_be_bytes(field(frame, 14)?);
            LaxSlicedPacket::from_ether_type(EtherType(protocol), &frame[16..])
        }
        LinkType::LinuxSll2 => {
            // 20 bytes: protocol first, then interface index, ARPHRD, type, address.
            let protocol = u16::from_be_bytes(field(frame, 0)?);
            if frame.len() < 20 {
                return Err(DecodeError::Truncated);
            }
            LaxSlicedPacket::from_ether_type(EtherType(protocol), &frame[20..])
        }
        LinkType::RawIp => ip_only(frame)?,
        LinkType::Null => {
            if frame.len() < 4 {
                return Err(DecodeError::Truncated);
            }
            ip_only(&frame[4..])?
        }
    };
    summarize(&sliced, wire_len)
}

fn field(frame: &[u8], at: usize) -> Result<[u8; 2], DecodeError> {
    frame
        .get(at..at + 2)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(DecodeError::Truncated)
}

fn ip_only(bytes: &[u8]) -> Result<LaxSlicedPacket<'_>, DecodeError> {
    match bytes.first().map(|b| b >> 4) {
        Some(4) | Some(6) => LaxSlicedPacket::from_ip(bytes).map_err(|_| DecodeError::Malformed),
        Some(_) => Err(DecodeError::NotIp),
        None => Err(DecodeError::Truncated),
    }
}

fn summarize(sliced: &LaxSlicedPacket<'_>, wire_len: u32) -> Result<PacketSummary, DecodeError> {
    let (source, destination, ip_number, fragment, ip_payload) = match &sliced.net {
        Some(LaxNetSlice::Ipv4(ip)) => {
            let header = ip.header();
            (
                IpAddr::V4(Ipv4Addr::from(header.source())),
                IpAddr::V4(Ipv4Addr::from(header.destination())),
                ip.payload().ip_number.0,
                ip.payload().fragmented,
                u32::from(header.total_len()).saturating_sub(u32::from(header.ihl()) * 4),
            )
        }
        Some(LaxNetSlice::Ipv6(ip)) => {
            let header = ip.header();
            (
                IpAddr::V6(Ipv6Addr::from(header.source())),
                IpAddr::V6(Ipv6Addr::from(header.destination())),
                ip.payload().ip_number.0,
                ip.payload().fragmented,
                u32::from(header.payload_length())
                    .saturating_sub(ip.extensions().slice().len() as u32),
            )
        }
        Some(LaxNetSlice::Arp(_)) => return Err(DecodeError::NotIp),
        None => {
            return Err(match sliced.stop_err {
                Some(_) if sliced.link.is_some() => DecodeError::Malformed,
                _ => DecodeError::NotIp,
            })
        }
    };
    let mut summary = PacketSummary {
        source,
        destination,
        protocol: Protocol::Other(ip_number),
        source_port: 0,
        destination_port: 0,
        flags: 0,
        icmp_type: None,
        fragment,
        wire_len,
        payload_len: ip_payload,
    };
    match &sliced.transport {
        Some(TransportSlice::Tcp(tcp)) => {
            summary.protocol = Protocol::Tcp;
            summary.source_port = tcp.source_port();
            summary.destination_port = tcp.destination_port();
            summary.flags = tcp.slice()[13];
            summary.payload_len = ip_payload.saturating_sub(u32::from(tcp.data_offset()) * 4);
        }
        Some(TransportSlice::Udp(udp)) => {
            summary.protocol = Protocol::Udp;
            summary.source_port = udp.source_port();
            summary.destination_port = udp.destination_port();
            summary.payload_len = ip_payload.saturating_sub(8);
        }
        Some(TransportSlice::Icmpv4(icmp)) => {
            summary.protocol = Protocol::Icmp;
            summary.icmp_type = Some(icmp.type_u8());
        }
        Some(TransportSlice::Icmpv6(icmp)) => {
            summary.protocol = Protocol::Icmp;
            summary.icmp_type = Some(icmp.type_u8());
        }
        _ => {
            // A transport header cut by the snapshot length or a later fragment: the
            // protocol is still known from the IP header.
            summary.protocol = match ip_number {
                6 => Protocol::Tcp,
                17 => Protocol::Udp,
                1 | 58 => Protocol::Icmp,
                other => Protocol::Other(other),
            };
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{
        ethernet_fragment, ethernet_icmp, ethernet_tcp, ethernet_udp, ipv4_tcp, Rng,
    };

    #[test]
    fn an_ethernet_syn_decodes_with_its_flags_and_ports() {
        let frame = ethernet_tcp([10, 0, 0, 1], [10, 0, 0, 2], 40000, 80, tcp_flags::SYN);
        let packet = decode(LinkType::Ethernet, &frame, frame.len() as u32).unwrap();
        assert_eq!(packet.source, IpAddr::from([10, 0, 0, 1]));
        assert_eq!(packet.destination, IpAddr::from([10, 0, 0, 2]));
        assert_eq!(packet.protocol, Protocol::Tcp);
        assert_eq!((packet.source_port, packet.destination_port), (40000, 80));
        assert_eq!(packet.flags, tcp_flags::SYN);
        assert!(!packet.fragment);
    }

    #[test]
    fn raw_ip_and_cooked_frames_decode_alike() {
        let ip = ipv4_tcp([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, tcp_flags::ACK);
        let raw = decode(LinkType::RawIp, &ip, 60).unwrap();
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&0x0800u16.to_be_bytes());
        sll.extend_from_slice(&ip);
        let cooked = decode(LinkType::LinuxSll, &sll, 60).unwrap();
        let mut sll2 = 0x0800u16.to_be_bytes().to_vec();
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&ip);
        let cooked2 = decode(LinkType::LinuxSll2, &sll2, 60).unwrap();
        assert_eq!(raw, cooked);
        assert_eq!(raw, cooked2);
    }

    #[test]
    fn a_udp_datagram_keeps_its_ports() {
        let frame = ethernet_udp([192, 168, 1, 9], [10, 0, 0, 2], 53, 33333, 400);
        let packet = decode(LinkType::Ethernet, &frame, 442).unwrap();
        assert_eq!(packet.protocol, Protocol::Udp);
        assert_eq!((packet.source_port, packet.destination_port), (53, 33333));
        assert_eq!(packet.wire_len, 442);
        assert_eq!(packet.payload_len, 400);
        let cut = decode(LinkType::Ethernet, &frame[..60], 442).unwrap();
        assert_eq!(
            cut.payload_len, 400,
            "lengths come from the header, not the capture"
        );
    }

    #[test]
    fn a_frame_cut_inside_the_tcp_header_still_names_tcp() {
        let frame = ethernet_tcp([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, tcp_flags::SYN);
        let cut = &frame[..14 + 20 + 6];
        let packet = decode(LinkType::Ethernet, cut, 60).unwrap();
        assert_eq!(packet.protocol, Protocol::Tcp);
        assert_eq!(packet.flags, 0);
    }

    #[test]
    fn short_and_foreign_frames_are_errors_with_reasons() {
        assert_eq!(
            decode(LinkType::Ethernet, &[0u8; 5], 5)
                .unwrap_err()
                .reason(),
            "truncated"
        );
        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&0x0806u16.to_be_bytes());
        arp.extend_from_slice(&[0u8; 28]);
        assert_eq!(
            decode(LinkType::Ethernet, &arp, 42).unwrap_err(),
            DecodeError::NotIp
        );
        assert_eq!(
            decode(LinkType::RawIp, &[0x20, 0, 0], 3).unwrap_err(),
            DecodeError::NotIp
        );
        assert_eq!(
            decode(LinkType::LinuxSll, &[0u8; 10], 10).unwrap_err(),
            DecodeError::Truncated
        );
    }

    #[test]
    fn no_byte_string_panics() {
        let frame = ethernet_tcp([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, tcp_flags::SYN);
        for link in [
            LinkType::Ethernet,
            LinkType::LinuxSll,
            LinkType::LinuxSll2,
            LinkType::RawIp,
            LinkType::Null,
        ] {
            for cut in 0..frame.len() {
                let _ = decode(link, &frame[..cut], cut as u32);
            }
        }
    }

    #[test]
    fn the_fast_path_agrees_with_the_general_parser() {
        let seeds = [
            ethernet_tcp([10, 0, 0, 1], [10, 0, 0, 2], 40000, 80, tcp_flags::SYN),
            ethernet_udp([192, 168, 1, 9], [10, 0, 0, 2], 53, 33333, 40),
            ethernet_icmp([10, 0, 0, 1], [10, 0, 0, 2], 8),
            ethernet_fragment([10, 0, 0, 1], [10, 0, 0, 2]),
        ];
        let mut rng = Rng::new(5);
        let mut fast = 0;
        for seed in &seeds {
            for _ in 0..20_000 {
                let mut frame = seed.clone();
                // A few bytes of the headers changed, and sometimes the frame cut.
                for _ in 0..rng.below(3) + 1 {
                    let at = rng.below(frame.len().min(54) as u64) as usize;
                    frame[at] = match rng.below(4) {
                        0 => 0,
                        1 => 0xff,
                        _ => rng.next_u64() as u8,
                    };
                }
                // The bytes the fast path looks at, set to what it accepts most often.
                if rng.below(2) == 0 {
                    frame[12] = 0x08;
                    frame[13] = 0x00;
                    frame[14] = 0x45;
                }
                if rng.below(4) == 0 {
                    frame.truncate(rng.below(frame.len() as u64 + 1) as usize);
                }
                let wire_len = frame.len() as u32 + 4;
                let general = decode_general(LinkType::Ethernet, &frame, wire_len);
                if let Some(packet) = decode_ethernet_ipv4(&frame, wire_len) {
                    fast += 1;
                    assert_eq!(Ok(packet), general, "frame {frame:02x?}");
                }
                assert_eq!(decode(LinkType::Ethernet, &frame, wire_len), general);
            }
        }
        assert!(fast > 10_000, "the fast path answered {fast} times");
    }
}
