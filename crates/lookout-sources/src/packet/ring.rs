//! An `AF_PACKET` socket with a `TPACKET_V3` memory-mapped receive ring: the kernel
//! writes frames into blocks of a ring shared with this process and hands a block over
//! when it is full or [`RETIRE_TIMEOUT_MS`] after its first frame; the capture walks the
//! block's frames in place and gives the block back. No system call and no copy per
//! frame: one `poll` when the next block is not ready yet.
//!
//! Memory: `blocks` × [`BLOCK_SIZE`] (1 MiB) mapped for the life of the source (the
//! source's `ring_size_mib`, 32 by default: some 200,000 frames of a SYN flood, or about
//! 1.5 s of hping3's flood on a veth). When every block is held by the capture, the
//! kernel drops what comes and counts it (`PACKET_STATISTICS`, as for the plain socket).
//!
//! Safety: the unsafe code is the `mmap`/`munmap` pair, the atomic access to each
//! block's status word and the byte slice over a block the kernel has handed over
//! (it writes to a block only while the status says it owns it). Everything read from a
//! block — its length, the offset of its first frame, each frame's offsets and lengths —
//! is checked against the block's bounds by [`parse_block`], safe code unit-tested on
//! forged blocks; a block that lies is counted ([`RingStats::bad_blocks`]) and its
//! frames after the lie skipped.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{fence, AtomicU32, Ordering};

use super::socket::PacketSocket;

/// The size of one block of the ring (a power of two pages).
pub const BLOCK_SIZE: usize = 1 << 20;
/// A block is handed over at the latest this long after its first frame.
pub const RETIRE_TIMEOUT_MS: u32 = 50;
/// The nominal frame slot the kernel divides blocks by (`tp_frame_size`); `TPACKET_V3`
/// packs frames by their real size, so this only has to be valid.
const FRAME_SIZE: usize = 2048;
/// How long one `poll` waits for a block, so the loop can close quiet seconds.
const POLL_TIMEOUT_MS: i32 = 100;

// Offsets inside a block descriptor (`struct tpacket_block_desc`, `tpacket_hdr_v1`).
const BLOCK_STATUS: usize = 8;
const BLOCK_NUM_PKTS: usize = 12;
const BLOCK_FIRST_OFFSET: usize = 16;
const BLOCK_LEN: usize = 20;
const BLOCK_HEADER: usize = 48;
// Offsets inside a frame header (`struct tpacket3_hdr`, then `sockaddr_ll`).
const FRAME_NEXT: usize = 0;
const FRAME_SEC: usize = 4;
const FRAME_NSEC: usize = 8;
const FRAME_SNAPLEN: usize = 12;
const FRAME_LEN: usize = 16;
const FRAME_MAC: usize = 24;
/// `sll_pkttype`: the sockaddr_ll follows the 16-aligned header.
const FRAME_PKTTYPE: usize = 48 + 10;
const FRAME_MIN: usize = FRAME_PKTTYPE + 1;

/// One frame of a block, borrowed from the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingFrame<'a> {
    pub data: &'a [u8],
    pub wire_len: u32,
    pub timestamp_ns: i64,
    /// Sent by this host (`PACKET_OUTGOING`).
    pub outgoing: bool,
}

/// What [`parse_block`] found wrong in a block, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockError {
    /// The block's length or first-frame offset is outside the block.
    Header,
    /// A frame's header, data or next offset is outside the block; the frames before it
    /// were delivered.
    Frame { delivered: u32 },
}

/// Counts of the ring's own health, since it opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStats {
    pub blocks: u64,
    /// Blocks whose header or a frame's lengths pointed outside the block.
    pub bad_blocks: u64,
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let word = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes(word.try_into().ok()?))
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let word = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes(word.try_into().ok()?))
}

/// Walks the frames of one block handed over by the kernel, checking every length and
/// offset against the block's bounds before using it; returns the frames delivered.
pub fn parse_block(block: &[u8], visit: &mut dyn FnMut(&RingFrame<'_>)) -> Result<u32, BlockError> {
    let header = |at| u32_at(block, at).ok_or(BlockError::Header);
    let count = header(BLOCK_NUM_PKTS)?;
    let first = header(BLOCK_FIRST_OFFSET)? as usize;
    let length = header(BLOCK_LEN)? as usize;
    if length > block.len() || (count > 0 && (first < BLOCK_HEADER || first >= length)) {
        return Err(BlockError::Header);
    }
    let block = &block[..length];
    let mut at = first;
    for index in 0..count {
        let lie = BlockError::Frame { delivered: index };
        let frame = block
            .get(at..)
            .filter(|f| f.len() >= FRAME_MIN)
            .ok_or(lie)?;
        let field = |offset| u32_at(frame, offset).ok_or(lie);
        let snaplen = field(FRAME_SNAPLEN)? as usize;
        let mac = u16_at(frame, FRAME_MAC).ok_or(lie)? as usize;
        if mac < FRAME_MIN {
            return Err(lie);
        }
        let data = frame
            .get(mac..mac.checked_add(snaplen).ok_or(lie)?)
            .ok_or(lie)?;
        let timestamp_ns =
            i64::from(field(FRAME_SEC)?) * 1_000_000_000 + i64::from(field(FRAME_NSEC)?);
        visit(&RingFrame {
            data,
            wire_len: field(FRAME_LEN)?,
            timestamp_ns,
            outgoing: frame[FRAME_PKTTYPE] == libc::PACKET_OUTGOING,
        });
        let next = field(FRAME_NEXT)? as usize;
        if index + 1 < count {
            // Frames move forward and stay inside the block.
            if next < FRAME_MIN || next >= frame.len() {
                return Err(BlockError::Frame {
                    delivered: index + 1,
                });
            }
            at += next;
        }
    }
    Ok(count)
}

/// See the module documentation.
pub struct PacketRing {
    socket: PacketSocket,
    map: *mut u8,
    blocks: usize,
    next: usize,
    stats: RingStats,
}

// SAFETY: the mapping belongs to this value alone; moving it to another thread moves
// the only access to it.
unsafe impl Send for PacketRing {}

impl PacketRing {
    /// Opens a ring of `blocks` blocks of [`BLOCK_SIZE`] on `interface` (`any`: all).
    pub fn open(interface: &str, promiscuous: bool, blocks: usize) -> io::Result<PacketRing> {
        let socket = PacketSocket::unbound()?;
        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        socket.set_option(libc::SOL_PACKET, libc::PACKET_VERSION, &version)?;
        let blocks = blocks.max(1);
        let request = libc::tpacket_req3 {
            tp_block_size: BLOCK_SIZE as u32,
            tp_block_nr: blocks as u32,
            tp_frame_size: FRAME_SIZE as u32,
            tp_frame_nr: (BLOCK_SIZE / FRAME_SIZE * blocks) as u32,
            tp_retire_blk_tov: RETIRE_TIMEOUT_MS,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        socket.set_option(libc::SOL_PACKET, libc::PACKET_RX_RING, &request)?;
        // SAFETY: mapping the ring the kernel just allocated for this descriptor, at
        // the size it was asked for; the result is checked before use and unmapped on
        // drop.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                BLOCK_SIZE * blocks,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                socket.fd().as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            let error = io::Error::last_os_error();
            return Err(io::Error::new(
                error.kind(),
                format!("mmap of the {blocks} MiB capture ring: {error}"),
            ));
        }
        let ring = PacketRing {
            socket,
            map: map.cast(),
            blocks,
            next: 0,
            stats: RingStats::default(),
        };
        // Bound last: no frame arrives before the ring is there to take it.
        ring.socket.bind(interface, promiscuous)?;
        Ok(ring)
    }

    /// The socket (for the filter and the kernel's statistics).
    pub fn socket(&self) -> &PacketSocket {
        &self.socket
    }

    pub fn stats(&self) -> RingStats {
        self.stats
    }

    fn status(&self, block: usize) -> &AtomicU32 {
        debug_assert!(block < self.blocks);
        // SAFETY: the block starts inside the mapping and is page-aligned, so its status
        // word (offset 8) is an aligned u32 the kernel and this process share; it is
        // only accessed atomically.
        unsafe {
            &*self
                .map
                .add(block * BLOCK_SIZE + BLOCK_STATUS)
                .cast::<AtomicU32>()
        }
    }

    /// Waits up to 100 ms for the next block, hands its frames to `visit` and gives the
    /// block back; returns the frames delivered (0 when none came).
    pub fn receive(&mut self, visit: &mut dyn FnMut(&RingFrame<'_>)) -> io::Result<u32> {
        if self.status(self.next).load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
            let mut poll = libc::pollfd {
                fd: self.socket.fd().as_raw_fd(),
                events: libc::POLLIN | libc::POLLERR,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let result = unsafe { libc::poll(&mut poll, 1, POLL_TIMEOUT_MS) };
            if result < 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    return Ok(0);
                }
                return Err(error);
            }
            if self.status(self.next).load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
                return Ok(0);
            }
        }
        fence(Ordering::Acquire);
        // SAFETY: the block lies inside the mapping, and the kernel handed it over
        // (TP_STATUS_USER, read with Acquire): it does not write to it until the status
        // is set back below, after the slice's last use.
        let block =
            unsafe { std::slice::from_raw_parts(self.map.add(self.next * BLOCK_SIZE), BLOCK_SIZE) };
        let delivered = match parse_block(block, visit) {
            Ok(count) => count,
            Err(BlockError::Header) => {
                self.stats.bad_blocks += 1;
                0
            }
            Err(BlockError::Frame { delivered }) => {
                self.stats.bad_blocks += 1;
                delivered
            }
        };
        self.stats.blocks += 1;
        self.status(self.next)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.next = (self.next + 1) % self.blocks;
        Ok(delivered)
    }
}

impl Drop for PacketRing {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `open`, at its size; no slice of it outlives a
        // `receive` call.
        unsafe {
            libc::munmap(self.map.cast(), BLOCK_SIZE * self.blocks);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(block: &mut [u8], at: usize, value: u32) {
        block[at..at + 4].copy_from_slice(&value.to_ne_bytes());
    }

    /// A block as the kernel lays it out: header, then frames of `sizes` bytes each at
    /// 16-aligned offsets, data at offset 80 of each frame.
    fn forge(sizes: &[usize]) -> Vec<u8> {
        let mut block = vec![0u8; 4096];
        let mut at = BLOCK_HEADER;
        put(&mut block, BLOCK_NUM_PKTS, sizes.len() as u32);
        put(&mut block, BLOCK_FIRST_OFFSET, at as u32);
        for (index, size) in sizes.iter().enumerate() {
            let slot = (80 + size + 15) & !15;
            let next = if index + 1 < sizes.len() { slot } else { 0 };
            put(&mut block, at + FRAME_NEXT, next as u32);
            put(&mut block, at + FRAME_SEC, 1_700_000_000);
            put(&mut block, at + FRAME_NSEC, index as u32);
            put(&mut block, at + FRAME_SNAPLEN, *size as u32);
            put(&mut block, at + FRAME_LEN, *size as u32 + 1000);
            block[at + FRAME_MAC..at + FRAME_MAC + 2].copy_from_slice(&80u16.to_ne_bytes());
            block[at + FRAME_PKTTYPE] = if index == 1 { libc::PACKET_OUTGOING } else { 0 };
            for byte in &mut block[at + 80..at + 80 + size] {
                *byte = index as u8 + 1;
            }
            at += slot;
        }
        put(&mut block, BLOCK_LEN, at as u32);
        block
    }

    /// A frame's bytes, wire length, time and direction.
    type Seen = (Vec<u8>, u32, i64, bool);

    fn frames(block: &[u8]) -> (Result<u32, BlockError>, Vec<Seen>) {
        let mut seen = Vec::new();
        let result = parse_block(block, &mut |f| {
            seen.push((f.data.to_vec(), f.wire_len, f.timestamp_ns, f.outgoing))
        });
        (result, seen)
    }

    #[test]
    fn a_well_formed_block_yields_each_frame_with_its_lengths_time_and_direction() {
        let (result, seen) = frames(&forge(&[60, 54, 1514]));
        assert_eq!(result, Ok(3));
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0].0, vec![1u8; 60]);
        assert_eq!(seen[1].0, vec![2u8; 54]);
        assert_eq!(seen[2].0.len(), 1514);
        assert_eq!(seen[0].1, 1060);
        assert_eq!(seen[2].2, 1_700_000_000_000_000_002);
        assert_eq!(
            seen.iter().map(|s| s.3).collect::<Vec<_>>(),
            [false, true, false]
        );
    }

    #[test]
    fn an_empty_block_yields_nothing() {
        assert_eq!(frames(&forge(&[])), (Ok(0), Vec::new()));
    }

    #[test]
    fn a_block_length_or_first_offset_outside_the_block_is_refused() {
        let mut block = forge(&[60]);
        put(&mut block, BLOCK_LEN, 5000);
        assert_eq!(frames(&block).0, Err(BlockError::Header));
        let mut block = forge(&[60]);
        put(&mut block, BLOCK_FIRST_OFFSET, 4000);
        assert_eq!(frames(&block).0, Err(BlockError::Header));
        let mut block = forge(&[60]);
        put(&mut block, BLOCK_FIRST_OFFSET, 8);
        assert_eq!(frames(&block).0, Err(BlockError::Header));
        assert_eq!(frames(&block[..10]).0, Err(BlockError::Header));
    }

    #[test]
    fn a_frame_whose_lengths_lie_stops_the_walk_after_the_frames_before_it() {
        let second = BLOCK_HEADER + ((80 + 60 + 15) & !15);
        let mut block = forge(&[60, 60, 60]);
        put(&mut block, second + FRAME_SNAPLEN, 100_000);
        let (result, seen) = frames(&block);
        assert_eq!(result, Err(BlockError::Frame { delivered: 1 }));
        assert_eq!(seen.len(), 1);
        let mut block = forge(&[60, 60, 60]);
        block[second + FRAME_MAC..second + FRAME_MAC + 2].copy_from_slice(&4u16.to_ne_bytes());
        assert_eq!(frames(&block).0, Err(BlockError::Frame { delivered: 1 }));
        // A next offset pointing backwards or past the block.
        let mut block = forge(&[60, 60, 60]);
        put(&mut block, BLOCK_HEADER + FRAME_NEXT, 0);
        assert_eq!(frames(&block).0, Err(BlockError::Frame { delivered: 1 }));
        let mut block = forge(&[60, 60, 60]);
        put(&mut block, BLOCK_HEADER + FRAME_NEXT, u32::MAX);
        assert_eq!(frames(&block).0, Err(BlockError::Frame { delivered: 1 }));
        // More frames announced than the block holds.
        let mut block = forge(&[60, 60]);
        put(&mut block, BLOCK_NUM_PKTS, 50);
        assert!(matches!(frames(&block).0, Err(BlockError::Frame { .. })));
    }

    #[test]
    fn any_block_of_random_words_is_walked_without_reading_outside_it() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut random = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..2000 {
            let mut block = forge(&[60, 54, 200, 1514]);
            for _ in 0..1 + round % 4 {
                let at = (random() as usize) % (block.len() - 4);
                let value = random() as u32 % if round % 2 == 0 { 5000 } else { u32::MAX };
                put(&mut block, at & !3, value);
            }
            let mut total = 0;
            let _ = parse_block(&block, &mut |f| total += f.data.len());
            assert!(total <= block.len());
        }
    }
}
