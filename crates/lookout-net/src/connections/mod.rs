//! Connection records in the NSL-KDD format, derived from the capture, so that a model
//! trained with `lookout train traffic` scores live traffic and capture files.
//!
//! [`Connections`] follows TCP and UDP connections (both directions of a 5-tuple are one
//! connection; its originator is the sender of the first packet, or the receiver of a
//! first SYN-ACK) in a table of fixed capacity, and makes the record of a connection when
//! it ends: on the second FIN or a RST, after an idle timeout, when the table is full and
//! it is the oldest (evicted), or at the end of the capture ([`Connections::finish`]).
//! An ICMP message is a connection of its own, as in the dataset. A closed TCP
//! connection lingers in the table for [`ConnectionConfig::linger_ns`] so that its last
//! ACK or a retransmission does not open a new one; a new SYN does.
//!
//! The record ([`ConnectionEnd::record`], the 41 features of `lookout-traffic-model`):
//! - `duration` (whole seconds), `protocol_type`, `service` ([`service`]), `flag`
//!   ([`flag`]), `src_bytes`/`dst_bytes` (payload bytes by the IP header's lengths, from
//!   originator and responder), `land` (same address and port at both ends), `urgent`
//!   (segments with URG);
//! - `wrong_fragment` is 0: judging overlapping or oversized fragments takes reassembly,
//!   which lookout does not do; fragments after the first (no ports) are not followed;
//! - the content features (`hot`, `num_failed_logins`, `logged_in`, `num_compromised`,
//!   `root_shell`, `su_attempted`, `num_root`, `num_file_creations`, `num_shells`,
//!   `num_access_files`, `num_outbound_cmds`, `is_host_login`, `is_guest_login`) are 0:
//!   they need the payload (logins, commands), which the capture does not keep;
//! - the traffic features of the 2-second and host windows ([`windows`]).
//!
//! Cost per packet: one hash-table lookup (a splitmix hash of the 5-tuple) and a few
//! field updates; per record, the window updates (a few map operations and a scan of 255
//! entries) and the record's three strings. Once a second of packet time the table is
//! swept for idle connections (a walk of at most `capacity` entries). Memory is bounded:
//! the table (about 160 bytes per connection with the hash table's spare room, some 21
//! MiB at the default 65,536, plus the eviction order, at most twice as many keys), the
//! windows (at most 16,384 + 255 entries) and at most `pending` records not yet taken
//! ([`Connections::drain`]); records beyond it are counted in
//! [`ConnectionStats::dropped`]. On the bench capture (a spoofed flood keeping the table
//! full) `lookout pcap --connections` peaked at 106 MB resident against 8.6 MB without.

pub mod score;
pub mod service;
pub mod windows;

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::net::IpAddr;

use lookout_traffic_model::record::NUMERIC_FEATURES;
use lookout_traffic_model::ConnectionRecord;

use crate::decode::{tcp_flags, PacketSummary, Protocol};
use crate::flows::{address_word, mix};
pub use score::ConnectionScorer;
pub use service::service;
use windows::{HostWindow, TimeWindow, WindowEntry};

/// Sizes and timeouts of the connection table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// Connections followed at once; when full, the oldest is ended to make room.
    pub capacity: usize,
    /// An established TCP connection idle this long ends (flag S1, S2 or S3).
    pub tcp_idle_ns: i64,
    /// A TCP connection whose handshake never completed ends after this idle time (S0).
    pub attempt_idle_ns: i64,
    /// A UDP exchange idle this long ends.
    pub udp_idle_ns: i64,
    /// A closed TCP connection stays this long to absorb its last packets.
    pub linger_ns: i64,
    /// Records kept until taken by [`Connections::drain`].
    pub pending: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            capacity: 65_536,
            tcp_idle_ns: 60_000_000_000,
            attempt_idle_ns: 5_000_000_000,
            udp_idle_ns: 10_000_000_000,
            linger_ns: 2_000_000_000,
            pending: 65_536,
        }
    }
}

/// A finished connection: its endpoints, times and record.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionEnd {
    pub originator: IpAddr,
    pub originator_port: u16,
    pub responder: IpAddr,
    pub responder_port: u16,
    /// First and last packet (unix ns).
    pub start_ns: i64,
    pub end_ns: i64,
    pub record: ConnectionRecord,
}

/// What the table has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// Records made.
    pub records: u64,
    /// Connections ended because the table was full.
    pub evicted: u64,
    /// Records lost because `pending` were waiting to be taken.
    pub dropped: u64,
}

/// A hasher for keys that hash themselves into one well-mixed word (and small integers).
#[derive(Default)]
pub struct FoldHasher(u64);

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = mix(self.0 ^ u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = mix(self.0 ^ value);
    }
    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The hash-map state of the connection table and the windows.
pub type FastHash = BuildHasherDefault<FoldHasher>;

/// A 5-tuple with its lower endpoint first: both directions are one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    low: (IpAddr, u16),
    high: (IpAddr, u16),
    protocol: u8,
}

impl Key {
    fn of(packet: &PacketSummary, protocol: u8) -> Key {
        let a = (packet.source, packet.source_port);
        let b = (packet.destination, packet.destination_port);
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        Key {
            low,
            high,
            protocol,
        }
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(
            mix(address_word(self.low.0) ^ (u64::from(self.low.1) << 48))
                ^ address_word(self.high.0).rotate_left(21)
                ^ (u64::from(self.high.1) << 8)
                ^ u64::from(self.protocol),
        );
    }
}

/// TCP handshake and teardown bits of a connection, as [`tcp_step`] sets them.
pub mod state {
    pub const ORIG_SYN: u16 = 1;
    pub const RESP_SYN_ACK: u16 = 2;
    /// The originator acknowledged the SYN-ACK: the handshake completed.
    pub const ORIG_ACK: u16 = 4;
    pub const ORIG_FIN: u16 = 8;
    pub const RESP_FIN: u16 = 16;
    pub const ORIG_RST: u16 = 32;
    pub const RESP_RST: u16 = 64;
    /// The first RST came from the originator.
    pub const ORIG_RST_FIRST: u16 = 128;
}

/// The state after a TCP segment with `flags` from the originator (`from_originator`)
/// or the responder.
pub fn tcp_step(mut s: u16, from_originator: bool, flags: u8) -> u16 {
    use state::*;
    let syn = flags & tcp_flags::SYN != 0;
    let ack = flags & tcp_flags::ACK != 0;
    let reset = flags & tcp_flags::RST != 0;
    if from_originator {
        if syn && !ack {
            s |= ORIG_SYN;
        }
        if ack && !syn && !reset && s & (ORIG_SYN | RESP_SYN_ACK) == ORIG_SYN | RESP_SYN_ACK {
            s |= ORIG_ACK;
        }
        if flags & tcp_flags::FIN != 0 {
            s |= ORIG_FIN;
        }
        if reset {
            if s & (ORIG_RST | RESP_RST) == 0 {
                s |= ORIG_RST_FIRST;
            }
            s |= ORIG_RST;
        }
    } else {
        if syn && ack {
            s |= RESP_SYN_ACK;
        }
        if flags & tcp_flags::FIN != 0 {
            s |= RESP_FIN;
        }
        if reset {
            s |= RESP_RST;
        }
    }
    s
}

/// The dataset's `flag` of a TCP connection in state `s` (Bro's connection states):
///
/// - no SYN from the originator (picked up midstream, or a SYN-ACK alone): `OTH`;
/// - SYN not answered by a SYN-ACK: `REJ` when the responder reset it, `RSTOS0` when the
///   originator did, `SH` when the originator sent a FIN, else `S0`;
/// - SYN answered: `RSTO` or `RSTR` after a RST by the originator or the responder
///   (whichever came first); else `S0` while the originator never acknowledged the
///   SYN-ACK (a half-open handshake, what a SYN flood leaves); else `SF` after both FINs,
///   `S2` after the originator's FIN only, `S3` after the responder's only, `S1` with
///   neither (established, not terminated).
pub fn flag(s: u16) -> &'static str {
    use state::*;
    if s & ORIG_SYN == 0 {
        return "OTH";
    }
    if s & RESP_SYN_ACK == 0 {
        return if s & RESP_RST != 0 {
            "REJ"
        } else if s & ORIG_RST != 0 {
            "RSTOS0"
        } else if s & ORIG_FIN != 0 {
            "SH"
        } else {
            "S0"
        };
    }
    if s & (ORIG_RST | RESP_RST) != 0 {
        return if s & ORIG_RST_FIRST != 0 {
            "RSTO"
        } else {
            "RSTR"
        };
    }
    if s & ORIG_ACK == 0 {
        return "S0";
    }
    match (s & ORIG_FIN != 0, s & RESP_FIN != 0) {
        (true, true) => "SF",
        (true, false) => "S2",
        (false, true) => "S3",
        (false, false) => "S1",
    }
}

/// True when a TCP connection in state `s` is over (both FINs, or a RST).
fn closed(s: u16) -> bool {
    use state::*;
    s & (ORIG_FIN | RESP_FIN) == ORIG_FIN | RESP_FIN || s & (ORIG_RST | RESP_RST) != 0
}

/// One followed connection.
#[derive(Debug, Clone, Copy)]
struct Connection {
    originator: (IpAddr, u16),
    responder: (IpAddr, u16),
    protocol: Protocol,
    start_ns: i64,
    last_ns: i64,
    src_bytes: u64,
    dst_bytes: u64,
    urgent: u32,
    state: u16,
    /// Its record is made; it only absorbs stragglers now.
    closed: bool,
    id: u64,
}

impl Connection {
    fn update(&mut self, packet: &PacketSummary, time_ns: i64) {
        let from_originator = (packet.source, packet.source_port) == self.originator;
        if from_originator {
            self.src_bytes += u64::from(packet.payload_len);
        } else {
            self.dst_bytes += u64::from(packet.payload_len);
        }
        if packet.flags & tcp_flags::URG != 0 {
            self.urgent += 1;
        }
        if self.protocol == Protocol::Tcp {
            self.state = tcp_step(self.state, from_originator, packet.flags);
        }
        self.last_ns = self.last_ns.max(time_ns);
    }
}

/// The connection table and the windows; see the module documentation.
pub struct Connections {
    config: ConnectionConfig,
    table: HashMap<Key, Connection, FastHash>,
    /// Keys in the order their connections began, for eviction (stale ones skipped).
    order: VecDeque<(Key, u64)>,
    next_id: u64,
    next_sweep_ns: i64,
    time: TimeWindow,
    hosts: HostWindow,
    pending: VecDeque<ConnectionEnd>,
    expired: Vec<Connection>,
    stats: ConnectionStats,
}

impl Connections {
    pub fn new(config: ConnectionConfig) -> Connections {
        Connections {
            table: HashMap::with_capacity_and_hasher(
                config.capacity.min(1 << 16),
                FastHash::default(),
            ),
            order: VecDeque::new(),
            next_id: 0,
            next_sweep_ns: i64::MIN,
            time: TimeWindow::default(),
            hosts: HostWindow::default(),
            pending: VecDeque::new(),
            expired: Vec::new(),
            stats: ConnectionStats::default(),
            config,
        }
    }

    /// Adds a decoded packet seen at `time_ns`.
    pub fn observe(&mut self, packet: &PacketSummary, time_ns: i64) {
        if time_ns >= self.next_sweep_ns {
            self.sweep(time_ns);
        }
        let protocol = match packet.protocol {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Icmp => {
                let connection = self.start(packet, time_ns);
                self.record(&connection, packet.icmp_type, time_ns);
                return;
            }
            Protocol::Other(_) => return,
        };
        if packet.fragment && packet.source_port == 0 && packet.destination_port == 0 {
            return;
        }
        let key = Key::of(packet, protocol);
        let new_syn = packet.flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN;
        if let Some(connection) = self.table.get_mut(&key) {
            if !connection.closed {
                connection.update(packet, time_ns);
                if connection.protocol == Protocol::Tcp && closed(connection.state) {
                    connection.closed = true;
                    let done = *connection;
                    self.record(&done, None, time_ns);
                }
                return;
            }
            if !(protocol == 6 && new_syn) {
                connection.last_ns = time_ns;
                return;
            }
            self.table.remove(&key);
        }
        if self.table.len() >= self.config.capacity.max(1) {
            self.evict(time_ns);
        }
        let connection = self.start(packet, time_ns);
        self.order.push_back((key, connection.id));
        self.table.insert(key, connection);
        if self.order.len() > 2 * self.config.capacity + 1024 {
            let table = &self.table;
            self.order
                .retain(|(key, id)| table.get(key).is_some_and(|c| c.id == *id));
        }
    }

    /// Ends connections idle past their timeout (called by [`Connections::observe`] once
    /// a second of packet time; call it on a quiet link with the clock).
    pub fn tick(&mut self, now_ns: i64) {
        if now_ns >= self.next_sweep_ns {
            self.sweep(now_ns);
        }
    }

    /// Ends every open connection (end of a capture, shutdown).
    pub fn finish(&mut self, now_ns: i64) {
        let mut open: Vec<Connection> = self
            .table
            .drain()
            .map(|(_, c)| c)
            .filter(|c| !c.closed)
            .collect();
        open.sort_by_key(|c| (c.last_ns, c.id));
        for connection in &open {
            self.record(connection, None, now_ns.max(connection.last_ns));
        }
        self.order.clear();
    }

    /// Takes the records made so far, oldest first.
    pub fn drain(&mut self) -> std::collections::vec_deque::Drain<'_, ConnectionEnd> {
        self.pending.drain(..)
    }

    /// Records waiting to be taken.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Connections in the table (closed ones lingering included).
    pub fn tracked(&self) -> usize {
        self.table.len()
    }

    pub fn stats(&self) -> ConnectionStats {
        self.stats
    }

    fn start(&mut self, packet: &PacketSummary, time_ns: i64) -> Connection {
        let sender = (packet.source, packet.source_port);
        let receiver = (packet.destination, packet.destination_port);
        let answer =
            packet.flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN | tcp_flags::ACK;
        let (originator, responder) = if answer && packet.protocol == Protocol::Tcp {
            (receiver, sender)
        } else {
            (sender, receiver)
        };
        self.next_id += 1;
        let mut connection = Connection {
            originator,
            responder,
            protocol: packet.protocol,
            start_ns: time_ns,
            last_ns: time_ns,
            src_bytes: 0,
            dst_bytes: 0,
            urgent: 0,
            state: 0,
            closed: false,
            id: self.next_id,
        };
        connection.update(packet, time_ns);
        connection
    }

    fn evict(&mut self, now_ns: i64) {
        while let Some((key, id)) = self.order.pop_front() {
            match self.table.get(&key) {
                Some(connection) if connection.id == id => {
                    let connection = *connection;
                    self.table.remove(&key);
                    if !connection.closed {
                        self.stats.evicted += 1;
                        self.record(&connection, None, now_ns);
                    }
                    return;
                }
                _ => continue,
            }
        }
    }

    fn sweep(&mut self, now_ns: i64) {
        self.next_sweep_ns = now_ns.saturating_add(1_000_000_000);
        let config = &self.config;
        let expired = &mut self.expired;
        self.table.retain(|_, connection| {
            let idle = if connection.closed {
                config.linger_ns
            } else if connection.protocol == Protocol::Udp {
                config.udp_idle_ns
            } else if connection.state & state::ORIG_ACK == 0 {
                config.attempt_idle_ns
            } else {
                config.tcp_idle_ns
            };
            if now_ns.saturating_sub(connection.last_ns) <= idle {
                return true;
            }
            if !connection.closed {
                expired.push(*connection);
            }
            false
        });
        let mut expired = std::mem::take(&mut self.expired);
        expired.sort_by_key(|c| (c.last_ns, c.id));
        for connection in &expired {
            self.record(connection, None, now_ns);
        }
        expired.clear();
        self.expired = expired;
    }

    /// Makes the record of a finished connection and queues it.
    fn record(&mut self, connection: &Connection, icmp_type: Option<u8>, now_ns: i64) {
        let flag = match connection.protocol {
            Protocol::Tcp => flag(connection.state),
            _ => "SF",
        };
        let service = service(connection.protocol, connection.responder.1, icmp_type);
        let entry = WindowEntry {
            time_ns: now_ns,
            host: address_word(connection.responder.0),
            service: service_word(service),
            source_port: connection.originator.1,
            serror: matches!(flag, "S0" | "S1" | "S2" | "S3"),
            rerror: flag == "REJ",
        };
        let time = self.time.add(entry);
        let hosts = self.hosts.add(entry);
        self.stats.records += 1;
        if self.pending.len() >= self.config.pending {
            self.stats.dropped += 1;
            return;
        }
        let mut numeric = [0.0; NUMERIC_FEATURES];
        numeric[0] = ((connection.last_ns - connection.start_ns).max(0) / 1_000_000_000) as f64;
        numeric[1] = connection.src_bytes as f64;
        numeric[2] = connection.dst_bytes as f64;
        numeric[3] = f64::from(u8::from(connection.originator == connection.responder));
        // numeric[4] wrong_fragment and [6..19] the content features stay 0.
        numeric[5] = f64::from(connection.urgent);
        numeric[19..28].copy_from_slice(&time);
        numeric[28..38].copy_from_slice(&hosts);
        self.pending.push_back(ConnectionEnd {
            originator: connection.originator.0,
            originator_port: connection.originator.1,
            responder: connection.responder.0,
            responder_port: connection.responder.1,
            start_ns: connection.start_ns,
            end_ns: connection.last_ns,
            record: ConnectionRecord {
                protocol: connection.protocol.label().to_string(),
                service: service.to_string(),
                flag: flag.to_string(),
                numeric,
            },
        });
    }
}

/// FNV-1a of a service name.
fn service_word(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::state::*;
    use super::*;
    use crate::decode::{decode, LinkType};
    use crate::synth::{ethernet_tcp, ethernet_tcp_data, ethernet_udp};

    const SYN: u8 = tcp_flags::SYN;
    const SYN_ACK: u8 = tcp_flags::SYN | tcp_flags::ACK;
    const ACK: u8 = tcp_flags::ACK;
    const FIN_ACK: u8 = tcp_flags::FIN | tcp_flags::ACK;
    const RST: u8 = tcp_flags::RST;
    const RST_ACK: u8 = tcp_flags::RST | tcp_flags::ACK;

    /// The flag after segments (true: from the originator).
    fn flag_of(segments: &[(bool, u8)]) -> &'static str {
        flag(segments.iter().fold(0, |s, (from_originator, flags)| {
            tcp_step(s, *from_originator, *flags)
        }))
    }

    #[test]
    fn the_flag_follows_the_handshake_and_the_teardown() {
        let handshake = [(true, SYN), (false, SYN_ACK), (true, ACK)];
        let with = |tail: &[(bool, u8)]| {
            let mut all = handshake.to_vec();
            all.extend_from_slice(tail);
            flag_of(&all)
        };
        assert_eq!(
            with(&[(true, FIN_ACK), (false, FIN_ACK), (true, ACK)]),
            "SF"
        );
        assert_eq!(with(&[]), "S1");
        assert_eq!(with(&[(true, FIN_ACK)]), "S2");
        assert_eq!(with(&[(false, FIN_ACK)]), "S3");
        assert_eq!(with(&[(true, RST)]), "RSTO");
        assert_eq!(with(&[(false, RST)]), "RSTR");
        assert_eq!(
            with(&[(false, RST), (true, RST)]),
            "RSTR",
            "the first RST counts"
        );
        assert_eq!(flag_of(&[(true, SYN)]), "S0");
        assert_eq!(flag_of(&[(true, SYN), (true, SYN)]), "S0");
        assert_eq!(flag_of(&[(true, SYN), (false, SYN_ACK)]), "S0", "half open");
        assert_eq!(flag_of(&[(true, SYN), (false, RST_ACK)]), "REJ");
        assert_eq!(flag_of(&[(true, SYN), (true, RST)]), "RSTOS0");
        assert_eq!(flag_of(&[(true, SYN), (true, FIN_ACK)]), "SH");
        assert_eq!(
            flag_of(&[(true, SYN), (false, SYN_ACK), (true, RST)]),
            "RSTO"
        );
        assert_eq!(flag_of(&[(true, ACK), (false, ACK)]), "OTH");
        assert_eq!(flag_of(&[(false, SYN_ACK)]), "OTH");
        assert!(closed(tcp_step(0, true, RST)));
        assert!(!closed(tcp_step(ORIG_SYN | RESP_SYN_ACK, true, FIN_ACK)));
    }

    fn packet(frame: Vec<u8>) -> PacketSummary {
        decode(LinkType::Ethernet, &frame, frame.len() as u32).unwrap()
    }

    const CLIENT: [u8; 4] = [10, 0, 0, 1];
    const SERVER: [u8; 4] = [10, 0, 0, 2];

    #[test]
    fn a_closed_connection_makes_one_record_with_its_bytes_and_absorbs_its_last_ack() {
        let mut connections = Connections::new(ConnectionConfig::default());
        let s = 1_000_000_000;
        let segments = [
            ethernet_tcp_data(CLIENT, SERVER, 40000, 80, SYN, 0),
            ethernet_tcp_data(SERVER, CLIENT, 80, 40000, SYN_ACK, 0),
            ethernet_tcp_data(CLIENT, SERVER, 40000, 80, ACK, 0),
            ethernet_tcp_data(CLIENT, SERVER, 40000, 80, tcp_flags::PSH | ACK, 230),
            ethernet_tcp_data(SERVER, CLIENT, 80, 40000, tcp_flags::PSH | ACK, 1400),
            ethernet_tcp_data(SERVER, CLIENT, 80, 40000, FIN_ACK, 600),
            ethernet_tcp_data(CLIENT, SERVER, 40000, 80, FIN_ACK, 0),
            ethernet_tcp_data(SERVER, CLIENT, 80, 40000, ACK, 0),
        ];
        for (i, frame) in segments.into_iter().enumerate() {
            connections.observe(&packet(frame), 10 * s + i as i64 * 400_000_000);
        }
        let records: Vec<ConnectionEnd> = connections.drain().collect();
        assert_eq!(records.len(), 1);
        let end = &records[0];
        assert_eq!(end.originator, IpAddr::from(CLIENT));
        assert_eq!(end.responder_port, 80);
        let r = &end.record;
        assert_eq!(
            (r.protocol.as_str(), r.service.as_str(), r.flag.as_str()),
            ("tcp", "http", "SF")
        );
        assert_eq!(r.numeric[0], 2.0, "2.4 s is 2 whole seconds");
        assert_eq!((r.numeric[1], r.numeric[2]), (230.0, 2000.0));
        assert_eq!(
            (r.numeric[19], r.numeric[28]),
            (1.0, 1.0),
            "count and dst_host_count"
        );
        connections.finish(20 * s);
        assert_eq!(
            connections.drain().count(),
            0,
            "the last ACK opened nothing"
        );
    }

    #[test]
    fn unanswered_syns_end_as_s0_after_the_attempt_timeout_and_a_new_syn_reopens() {
        let mut connections = Connections::new(ConnectionConfig::default());
        let s = 1_000_000_000;
        for port in 0..50u16 {
            let syn = packet(ethernet_tcp(CLIENT, SERVER, 1000 + port, 80, SYN));
            connections.observe(&syn, s + i64::from(port) * 1_000_000);
        }
        connections.tick(3 * s);
        assert_eq!(connections.pending(), 0, "not idle long enough");
        connections.tick(7 * s);
        let records: Vec<ConnectionEnd> = connections.drain().collect();
        assert_eq!(records.len(), 50);
        let last = &records[49].record;
        assert_eq!(last.flag, "S0");
        assert_eq!(last.numeric[19], 50.0, "count");
        assert_eq!(last.numeric[21], 1.0, "serror_rate");
        assert_eq!(last.numeric[34], 1.0, "dst_host_serror_rate");
        // A refused connection, then the same ports again: a second record.
        connections.observe(&packet(ethernet_tcp(CLIENT, SERVER, 5, 22, SYN)), 8 * s);
        connections.observe(
            &packet(ethernet_tcp(SERVER, CLIENT, 22, 5, RST_ACK)),
            8 * s + 1,
        );
        connections.observe(&packet(ethernet_tcp(CLIENT, SERVER, 5, 22, SYN)), 8 * s + 2);
        connections.observe(
            &packet(ethernet_tcp(SERVER, CLIENT, 22, 5, RST_ACK)),
            8 * s + 3,
        );
        let flags: Vec<String> = connections.drain().map(|e| e.record.flag).collect();
        assert_eq!(flags, ["REJ", "REJ"]);
    }

    #[test]
    fn the_table_is_bounded_and_evicts_the_oldest() {
        let config = ConnectionConfig {
            capacity: 16,
            ..ConnectionConfig::default()
        };
        let mut connections = Connections::new(config);
        for port in 0..1000u16 {
            let datagram = packet(ethernet_udp(CLIENT, SERVER, 2000 + port, 53, 40));
            connections.observe(&datagram, 1_000_000_000 + i64::from(port));
            assert!(connections.tracked() <= 16);
        }
        assert_eq!(connections.stats().evicted, 1000 - 16);
        let first = connections.drain().next().unwrap();
        assert_eq!(first.originator_port, 2000, "the oldest went first");
        assert_eq!(first.record.service, "domain_u");
        assert_eq!(first.record.numeric[1], 40.0);
        assert!(connections.order.len() <= 2 * 16 + 1024);
    }

    #[test]
    fn icmp_messages_are_records_of_their_own() {
        let mut connections = Connections::new(ConnectionConfig::default());
        let echo = packet(crate::synth::ethernet_icmp(CLIENT, SERVER, 8));
        connections.observe(&echo, 1);
        connections.observe(&echo, 2);
        let records: Vec<ConnectionEnd> = connections.drain().collect();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].record.service, "eco_i");
        assert_eq!(records[1].record.numeric[1], 8.0);
        assert_eq!(records[1].record.numeric[19], 2.0);
    }
}
