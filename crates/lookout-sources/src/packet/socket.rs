//! An `AF_PACKET` socket on one interface: frames with their length on the wire, a
//! classic BPF filter, promiscuous mode, and the kernel's drop counter.
//!
//! The plain receive path (`capture = "socket"`; the default is the memory-mapped ring
//! of [`super::ring`], which shares this socket's setup): a receive per frame, with a receive buffer of 32 MiB (`SO_RCVBUFFORCE` as
//! root) to ride out bursts, and a 100 ms timeout so the capture loop can close quiet
//! seconds and notice shutdown. `recv(MSG_TRUNC)` copies at most the snapshot length and
//! returns the frame's full length. Needs `CAP_NET_RAW` (root).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// One BPF instruction, as the kernel takes it (`struct sock_filter`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInstruction {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// A received frame's sizes and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub captured: usize,
    pub wire_len: usize,
    /// Sent by this host (`PACKET_OUTGOING`).
    pub outgoing: bool,
}

/// See the module documentation.
pub struct PacketSocket {
    fd: OwnedFd,
}

const ETH_P_ALL: u16 = 0x0003;

fn check(result: libc::c_int, what: &str) -> io::Result<()> {
    if result < 0 {
        let error = io::Error::last_os_error();
        return Err(io::Error::new(error.kind(), format!("{what}: {error}")));
    }
    Ok(())
}

impl PacketSocket {
    /// Opens a socket on `interface` (`any`: every interface).
    pub fn open(interface: &str, promiscuous: bool) -> io::Result<PacketSocket> {
        let socket = PacketSocket::unbound()?;
        let buffer: libc::c_int = 32 << 20;
        if socket
            .set_option(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &buffer)
            .is_err()
        {
            socket.set_option(libc::SOL_SOCKET, libc::SO_RCVBUF, &buffer)?;
        }
        let timeout = libc::timeval {
            tv_sec: 0,
            tv_usec: 100_000,
        };
        socket.set_option(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &timeout)?;
        socket.bind(interface, promiscuous)?;
        Ok(socket)
    }

    /// A socket that receives nothing until [`PacketSocket::bind`] (protocol 0), so it
    /// can be set up first.
    pub(crate) fn unbound() -> io::Result<PacketSocket> {
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        check(raw, "socket(AF_PACKET) (capture needs root or CAP_NET_RAW)")?;
        // SAFETY: `raw` is a fresh descriptor we own.
        Ok(PacketSocket {
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
        })
    }

    /// Starts receiving every protocol on `interface` (`any`: all interfaces).
    pub(crate) fn bind(&self, interface: &str, promiscuous: bool) -> io::Result<()> {
        let index = if interface == "any" {
            0
        } else {
            interface_index(interface)?
        };
        // SAFETY: sockaddr_ll is plain old data; zeroed is a valid value.
        let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        address.sll_family = libc::AF_PACKET as u16;
        address.sll_protocol = ETH_P_ALL.to_be();
        address.sll_ifindex = index;
        // SAFETY: the address is a valid sockaddr_ll of the size given.
        let result = unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                (&address as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        check(result, &format!("bind to interface {interface}"))?;
        if promiscuous && index != 0 {
            // SAFETY: packet_mreq is plain old data.
            let mut request: libc::packet_mreq = unsafe { std::mem::zeroed() };
            request.mr_ifindex = index;
            request.mr_type = libc::PACKET_MR_PROMISC as u16;
            self.set_option(libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &request)?;
        }
        Ok(())
    }

    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Attaches a classic BPF program (from `bpf::compile`).
    pub fn attach_filter(&self, program: &[BpfInstruction]) -> io::Result<()> {
        let fprog = libc::sock_fprog {
            len: program.len() as u16,
            filter: program.as_ptr() as *mut libc::sock_filter,
        };
        self.set_option(libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)
    }

    /// Receives one frame into `buffer`; `None` when the 100 ms timeout passed.
    pub fn receive(&self, buffer: &mut [u8]) -> io::Result<Option<Received>> {
        // SAFETY: sockaddr_ll is plain old data.
        let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut length = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: buffer and address are valid for the sizes given.
        let result = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                libc::MSG_TRUNC,
                (&mut address as *mut libc::sockaddr_ll).cast(),
                &mut length,
            )
        };
        if result < 0 {
            let error = io::Error::last_os_error();
            return match error.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(error),
            };
        }
        let wire_len = result as usize;
        Ok(Some(Received {
            captured: wire_len.min(buffer.len()),
            wire_len,
            outgoing: address.sll_pkttype == libc::PACKET_OUTGOING,
        }))
    }

    /// Frames received and dropped by the kernel since the last call (it resets them).
    /// The `TPACKET_V3` form of the counters; a plain socket fills its first two.
    pub fn statistics(&self) -> io::Result<(u64, u64)> {
        let mut stats = libc::tpacket_stats_v3 {
            tp_packets: 0,
            tp_drops: 0,
            tp_freeze_q_cnt: 0,
        };
        let mut length = std::mem::size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: stats is valid for the size given.
        let result = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut stats as *mut libc::tpacket_stats_v3).cast(),
                &mut length,
            )
        };
        check(result, "getsockopt(PACKET_STATISTICS)")?;
        Ok((u64::from(stats.tp_packets), u64::from(stats.tp_drops)))
    }

    pub(crate) fn set_option<T>(
        &self,
        level: libc::c_int,
        name: libc::c_int,
        value: &T,
    ) -> io::Result<()> {
        // SAFETY: value is a valid T of the size given.
        let result = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (value as *const T).cast(),
                std::mem::size_of::<T>() as libc::socklen_t,
            )
        };
        check(result, &format!("setsockopt({level}, {name})"))
    }
}

fn interface_index(interface: &str) -> io::Result<libc::c_int> {
    let name = CString::new(interface).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface name contains a NUL byte",
        )
    })?;
    // SAFETY: name is a valid C string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no network interface named {interface:?}"),
        ));
    }
    Ok(index as libc::c_int)
}

/// The link type of an interface's frames, from its ARPHRD type in sysfs.
pub fn link_type(interface: &str) -> lookout_net::decode::LinkType {
    use lookout_net::decode::LinkType;
    if interface == "any" {
        return LinkType::Ethernet;
    }
    let path = format!("/sys/class/net/{interface}/type");
    match std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
    {
        // ARPHRD_NONE (tun), ARPHRD_IPGRE/… without a link header: raw IP.
        Some(65534) | Some(778) | Some(776) => LinkType::RawIp,
        _ => LinkType::Ethernet,
    }
}
