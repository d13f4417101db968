//! The two ways frames come in, behind one interface: the memory-mapped `TPACKET_V3`
//! ring ([`super::ring`], `capture = "ring"`, the default) and a receive per frame on a
//! plain socket ([`super::socket`], `capture = "socket"`). Both are opened the same way
//! (interface, promiscuous mode, the optional filter as a classic BPF program, which for
//! the ring also cuts each frame to the snapshot length in the kernel) and report the
//! kernel's counters the same way.

use std::io;

use lookout_config::{CaptureMethod, PacketCaptureConfig};
use lookout_net::decode::LinkType;

use super::ring::{PacketRing, RingStats};
use super::socket::{BpfInstruction, PacketSocket};

/// One frame as either path delivers it.
#[derive(Debug, Clone, Copy)]
pub struct CapturedFrame<'a> {
    pub data: &'a [u8],
    pub wire_len: u32,
    /// The kernel's receive time (ring); `None` when the frame is timed at receipt.
    pub timestamp_ns: Option<i64>,
    pub outgoing: bool,
}

/// Totals since the capture opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureTotals {
    /// Frames taken from the socket or ring.
    pub captured: u64,
    /// Frames the kernel dropped because the capture had no room for them.
    pub kernel_dropped: u64,
}

/// See the module documentation.
pub enum Capture {
    Socket {
        socket: PacketSocket,
        buffer: Vec<u8>,
    },
    Ring(PacketRing),
}

/// `BPF_RET | BPF_K`: accept the first `k` bytes.
const BPF_RET_K: u16 = 0x06;

fn accept_snaplen(snaplen: u32) -> Vec<BpfInstruction> {
    vec![BpfInstruction {
        code: BPF_RET_K,
        jt: 0,
        jf: 0,
        k: snaplen,
    }]
}

/// The program accepting whole frames where it accepted `snaplen` bytes: a plain socket
/// learns a frame's wire length from `recv(MSG_TRUNC)`, which a frame cut by the filter
/// would make the cut length. (The ring reports the wire length beside the cut.)
fn accept_whole(mut program: Vec<BpfInstruction>) -> Vec<BpfInstruction> {
    for instruction in &mut program {
        if instruction.code == BPF_RET_K && instruction.k != 0 {
            instruction.k = u32::MAX;
        }
    }
    program
}

impl Capture {
    /// Opens the configured path on the configured interface, with its filter.
    pub fn open(config: &PacketCaptureConfig, link: LinkType) -> Result<Capture, String> {
        let program = match (&config.filter, config.capture) {
            (Some(filter), CaptureMethod::Ring) => {
                super::bpf::compile(filter, link, config.snaplen)?
            }
            (Some(filter), CaptureMethod::Socket) => {
                accept_whole(super::bpf::compile(filter, link, config.snaplen)?)
            }
            (None, CaptureMethod::Ring) => accept_snaplen(config.snaplen),
            (None, CaptureMethod::Socket) => Vec::new(),
        };
        let place = |error: io::Error| format!("capture on {}: {error}", config.interface);
        let capture = match config.capture {
            CaptureMethod::Socket => Capture::Socket {
                socket: PacketSocket::open(&config.interface, config.promiscuous).map_err(place)?,
                buffer: vec![0u8; config.snaplen as usize],
            },
            CaptureMethod::Ring => Capture::Ring(
                PacketRing::open(
                    &config.interface,
                    config.promiscuous,
                    (config.ring_size / lookout_config::RING_BLOCK_SIZE) as usize,
                )
                .map_err(place)?,
            ),
        };
        if !program.is_empty() {
            capture
                .socket()
                .attach_filter(&program)
                .map_err(|error| match &config.filter {
                    Some(filter) => format!("attaching filter {filter:?}: {error}"),
                    None => format!("attaching the snapshot length filter: {error}"),
                })?;
        }
        Ok(capture)
    }

    fn socket(&self) -> &PacketSocket {
        match self {
            Capture::Socket { socket, .. } => socket,
            Capture::Ring(ring) => ring.socket(),
        }
    }

    /// Waits up to 100 ms for frames and hands each to `visit`; returns how many came.
    pub fn receive(&mut self, visit: &mut dyn FnMut(&CapturedFrame<'_>)) -> io::Result<u64> {
        match self {
            Capture::Socket { socket, buffer } => match socket.receive(buffer)? {
                None => Ok(0),
                Some(received) => {
                    visit(&CapturedFrame {
                        data: &buffer[..received.captured],
                        wire_len: received.wire_len as u32,
                        timestamp_ns: None,
                        outgoing: received.outgoing,
                    });
                    Ok(1)
                }
            },
            Capture::Ring(ring) => {
                let count = ring.receive(&mut |frame| {
                    visit(&CapturedFrame {
                        data: frame.data,
                        wire_len: frame.wire_len,
                        timestamp_ns: Some(frame.timestamp_ns),
                        outgoing: frame.outgoing,
                    })
                })?;
                Ok(u64::from(count))
            }
        }
    }

    /// Frames the kernel dropped since the last call (reading resets its counter).
    pub fn kernel_drops(&self) -> io::Result<u64> {
        self.socket().statistics().map(|(_, drops)| drops)
    }

    /// The ring's block counts (`None` for the plain socket).
    pub fn ring_stats(&self) -> Option<RingStats> {
        match self {
            Capture::Socket { .. } => None,
            Capture::Ring(ring) => Some(ring.stats()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_root() -> bool {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() == 0 }
    }

    /// Both ways on loopback: each datagram seen once in each direction, cut to the
    /// snapshot length, with its length on the wire.
    #[test]
    fn both_ways_capture_the_same_frames_on_loopback() {
        if !is_root() {
            assert!(
                std::env::var("CI").is_err(),
                "capture tests need root under CI"
            );
            eprintln!("skipped: capture needs root");
            return;
        }
        let libpcap = super::super::bpf::compile("udp", LinkType::Ethernet, 100).is_ok();
        let filters = if libpcap {
            vec![None, Some("udp".to_string())]
        } else {
            vec![None]
        };
        let cases = filters
            .into_iter()
            .flat_map(|f| [(CaptureMethod::Ring, f.clone()), (CaptureMethod::Socket, f)]);
        for (method, filter) in cases {
            let config = PacketCaptureConfig {
                interface: "lo".into(),
                filter: filter.clone(),
                snaplen: 100,
                promiscuous: false,
                capture: method,
                ring_size: 2 << 20,
                ceilings: Default::default(),
                model: None,
                labels: Default::default(),
            };
            let mut capture = Capture::open(&config, LinkType::Ethernet).unwrap();
            let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = receiver.local_addr().unwrap().port();
            let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let payload = [0xabu8; 300];
            for _ in 0..50 {
                sender.send_to(&payload, ("127.0.0.1", port)).unwrap();
            }
            let (mut incoming, mut outgoing) = (0, 0);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while incoming + outgoing < 100 && std::time::Instant::now() < deadline {
                capture
                    .receive(&mut |frame| {
                        // Ethernet 14 + IPv4 20 + UDP 8 + 300.
                        let to_port = frame.data.get(36..38) == Some(&port.to_be_bytes()[..]);
                        if frame.wire_len == 342 && to_port {
                            assert_eq!(frame.data.len(), 100, "{method:?} {filter:?}");
                            assert_eq!(frame.timestamp_ns.is_some(), method == CaptureMethod::Ring);
                            if frame.outgoing {
                                outgoing += 1;
                            } else {
                                incoming += 1;
                            }
                        }
                    })
                    .unwrap();
            }
            assert_eq!((incoming, outgoing), (50, 50), "{method:?} {filter:?}");
            assert_eq!(capture.kernel_drops().unwrap(), 0, "{method:?}");
        }
    }
}
