//! Fixed-size flow tables: new flows per second and TCP handshakes left half open.
//!
//! Both are direct-mapped arrays indexed by a hash of the flow: no allocation after
//! construction, one slot read and write per packet, memory fixed by `slots`. The price
//! is that two flows sharing a slot evict each other: a returning flow may then count
//! as new again, and a SYN whose slot was taken cannot be completed (it stays half open).
//! Under a flood that is what happens anyway; in ordinary traffic, with 65,536 slots and
//! a few thousand live flows, it is rare.

use crate::decode::{tcp_flags, PacketSummary, Protocol};

/// A well-mixed 64-bit hash of a 64-bit word (splitmix64's finalizer).
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A 64-bit fold of an address (IPv4 addresses as their 32 bits, IPv6 folded).
pub fn address_word(address: std::net::IpAddr) -> u64 {
    match address {
        std::net::IpAddr::V4(v4) => u64::from(u32::from(v4)),
        std::net::IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            (bits as u64) ^ ((bits >> 64) as u64).rotate_left(17) ^ 0x6000_0000_0000_0000
        }
    }
}

/// The direction-independent hash of a packet's 5-tuple.
fn flow_hash(packet: &PacketSummary) -> u64 {
    let a = (address_word(packet.source), packet.source_port);
    let b = (address_word(packet.destination), packet.destination_port);
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    let protocol = match packet.protocol {
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
        Protocol::Icmp => 1,
        Protocol::Other(n) => u64::from(n),
    };
    mix(mix(low.0 ^ (u64::from(low.1) << 48) ^ protocol) ^ high.0 ^ (u64::from(high.1) << 32))
}

/// Counts flows not seen within `idle_s` seconds.
#[derive(Debug, Clone)]
pub struct FlowTable {
    slots: Vec<(u64, i64)>,
    idle_s: i64,
}

impl FlowTable {
    /// `slots` is rounded up to a power of two.
    pub fn new(slots: usize, idle_s: i64) -> FlowTable {
        FlowTable {
            slots: vec![(0, i64::MIN); slots.max(2).next_power_of_two()],
            idle_s,
        }
    }

    /// Records the packet at `second`; true when it starts a new flow.
    pub fn observe(&mut self, packet: &PacketSummary, second: i64) -> bool {
        let hash = flow_hash(packet) | 1;
        let index = (hash as usize) & (self.slots.len() - 1);
        let slot = &mut self.slots[index];
        let new = slot.0 != hash || second.saturating_sub(slot.1) > self.idle_s;
        *slot = (hash, second);
        new
    }

    pub fn memory_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<(u64, i64)>()
    }
}

/// Pending SYNs, completed by the client's first ACK.
#[derive(Debug, Clone)]
pub struct HandshakeTable {
    slots: Vec<u64>,
}

impl HandshakeTable {
    pub fn new(slots: usize) -> HandshakeTable {
        HandshakeTable {
            slots: vec![0; slots.max(2).next_power_of_two()],
        }
    }

    /// Records a TCP packet; true when it is the ACK completing a recorded SYN.
    pub fn observe(&mut self, packet: &PacketSummary) -> bool {
        let flags = packet.flags;
        let syn = flags & tcp_flags::SYN != 0;
        let ack = flags & tcp_flags::ACK != 0;
        if syn && !ack {
            let hash = self.hash(packet);
            let index = (hash as usize) & (self.slots.len() - 1);
            self.slots[index] = hash;
            return false;
        }
        if !ack || syn || flags & (tcp_flags::RST | tcp_flags::FIN) != 0 {
            return false;
        }
        let hash = self.hash(packet);
        let index = (hash as usize) & (self.slots.len() - 1);
        if self.slots[index] == hash {
            self.slots[index] = 0;
            return true;
        }
        false
    }

    /// The hash of the client → server direction (the SYN's direction).
    fn hash(&self, packet: &PacketSummary) -> u64 {
        mix(address_word(packet.source) ^ (u64::from(packet.source_port) << 48))
            ^ mix(address_word(packet.destination).rotate_left(7)
                ^ u64::from(packet.destination_port))
            | 1
    }

    pub fn memory_bytes(&self) -> usize {
        self.slots.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode, LinkType};
    use crate::synth::ethernet_tcp;

    fn tcp(
        source: [u8; 4],
        sport: u16,
        destination: [u8; 4],
        dport: u16,
        flags: u8,
    ) -> PacketSummary {
        let frame = ethernet_tcp(source, destination, sport, dport, flags);
        decode(LinkType::Ethernet, &frame, 60).unwrap()
    }

    #[test]
    fn both_directions_are_one_flow_until_it_idles() {
        let mut flows = FlowTable::new(1024, 60);
        let out = tcp([10, 0, 0, 1], 5000, [10, 0, 0, 2], 80, tcp_flags::SYN);
        let back = tcp(
            [10, 0, 0, 2],
            80,
            [10, 0, 0, 1],
            5000,
            tcp_flags::SYN | tcp_flags::ACK,
        );
        assert!(flows.observe(&out, 0));
        assert!(!flows.observe(&back, 0));
        assert!(!flows.observe(&out, 60));
        assert!(flows.observe(&out, 121));
    }

    #[test]
    fn a_handshake_completes_and_a_lone_syn_does_not() {
        let mut table = HandshakeTable::new(1024);
        let syn = tcp([10, 0, 0, 1], 5000, [10, 0, 0, 2], 80, tcp_flags::SYN);
        let synack = tcp(
            [10, 0, 0, 2],
            80,
            [10, 0, 0, 1],
            5000,
            tcp_flags::SYN | tcp_flags::ACK,
        );
        let ack = tcp([10, 0, 0, 1], 5000, [10, 0, 0, 2], 80, tcp_flags::ACK);
        assert!(!table.observe(&syn));
        assert!(!table.observe(&synack));
        assert!(table.observe(&ack));
        assert!(!table.observe(&ack), "a second ACK completes nothing");
        let other = tcp([10, 0, 0, 9], 5000, [10, 0, 0, 2], 80, tcp_flags::ACK);
        assert!(!table.observe(&other));
    }
}
