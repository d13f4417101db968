//! Capture files: pcap (micro- and nanosecond, either byte order) and pcapng (several
//! sections and interfaces, each with its link type and time resolution), read as a
//! stream of [`Frame`]s through `pcap-parser`'s zero-copy streaming readers.
//!
//! A corrupt block, a file cut in the middle of a record or an interface of a link type
//! lookout does not decode ends or skips only what it must: what was read before is
//! kept, and each problem is counted in [`CaptureStats`] by reason. An input that is
//! neither pcap nor pcapng is a [`CaptureError`].
//!
//! Cost: one copy of the file through a 1 MiB buffer; per packet, a few header reads.

use std::io::Read;

use pcap_parser::pcapng::Block;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};

use crate::decode::LinkType;

/// One captured frame.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Capture time, unix nanoseconds.
    pub timestamp_ns: i64,
    pub link: LinkType,
    pub data: &'a [u8],
    /// Length on the wire (at least `data.len()`).
    pub wire_len: u32,
}

/// What reading a capture skipped, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureStats {
    pub frames: u64,
    /// Packets on interfaces of a link type lookout does not decode.
    pub unknown_link_type: u64,
    /// Packets naming an interface the section did not describe.
    pub unknown_interface: u64,
    /// The file ended inside a record (the rest of it is lost).
    pub truncated_file: bool,
    /// A block could not be parsed; reading stopped there.
    pub corrupt_block: bool,
}

/// Why a capture could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("not a pcap or pcapng capture (the first bytes match neither format)")]
    NotACapture,
    #[error("the capture is empty")]
    Empty,
    #[error("reading the capture failed: {0}")]
    Io(#[from] std::io::Error),
}

const BUFFER: usize = 1 << 20;

/// Per-interface decoding facts of a pcapng section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: Option<LinkType>,
    /// Units per second of the timestamps.
    resolution: u64,
    offset_s: i64,
}

/// Reads every frame of a capture, calling `on_frame` for each in file order.
pub fn read_capture<R, F>(input: R, mut on_frame: F) -> Result<CaptureStats, CaptureError>
where
    R: Read + Send,
    F: FnMut(Frame<'_>),
{
    let mut reader = match create_reader(BUFFER, input) {
        Ok(reader) => reader,
        Err(PcapError::Eof) => return Err(CaptureError::Empty),
        Err(PcapError::ReadError) => {
            return Err(CaptureError::Io(std::io::Error::other("read failed")))
        }
        Err(_) => return Err(CaptureError::NotACapture),
    };
    let mut stats = CaptureStats::default();
    let mut legacy_link: Option<LinkType> = None;
    let mut nanoseconds = false;
    let mut interfaces: Vec<Interface> = Vec::new();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(header) => {
                        legacy_link = LinkType::from_linktype(header.network.0);
                        nanoseconds = header.is_nanosecond_precision();
                    }
                    PcapBlockOwned::Legacy(packet) => match legacy_link {
                        Some(link) => {
                            let fraction = i64::from(packet.ts_usec);
                            let fraction_ns = if nanoseconds {
                                fraction
                            } else {
                                fraction * 1000
                            };
                            stats.frames += 1;
                            on_frame(Frame {
                                timestamp_ns: i64::from(packet.ts_sec) * 1_000_000_000
                                    + fraction_ns,
                                link,
                                data: clip(packet.data, packet.caplen),
                                wire_len: packet.origlen.max(packet.caplen),
                            });
                        }
                        None => stats.unknown_link_type += 1,
                    },
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => interfaces.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        interfaces.push(Interface {
                            link: LinkType::from_linktype(idb.linktype.0),
                            resolution: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                            offset_s: idb.ts_offset(),
                        });
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        match interfaces.get(epb.if_id as usize) {
                            Some(Interface {
                                link: Some(link),
                                resolution,
                                offset_s,
                            }) => {
                                let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                                stats.frames += 1;
                                on_frame(Frame {
                                    timestamp_ns: to_nanos(units, *resolution, *offset_s),
                                    link: *link,
                                    data: clip(epb.data, epb.caplen),
                                    wire_len: epb.origlen.max(epb.caplen),
                                });
                            }
                            Some(_) => stats.unknown_link_type += 1,
                            None => stats.unknown_interface += 1,
                        }
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => match interfaces.first() {
                        // Simple packets carry no time: they are given the epoch, and
                        // only their counts are meaningful.
                        Some(Interface {
                            link: Some(link), ..
                        }) => {
                            stats.frames += 1;
                            on_frame(Frame {
                                timestamp_ns: 0,
                                link: *link,
                                data: spb.data,
                                wire_len: spb.origlen,
                            });
                        }
                        Some(_) => stats.unknown_link_type += 1,
                        None => stats.unknown_interface += 1,
                    },
                    PcapBlockOwned::NG(_) => {}
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    stats.truncated_file = true;
                    break;
                }
            }
            Err(PcapError::UnexpectedEof) => {
                stats.truncated_file = true;
                break;
            }
            Err(PcapError::ReadError) => {
                return Err(CaptureError::Io(std::io::Error::other("read failed")))
            }
            Err(_) => {
                stats.corrupt_block = true;
                break;
            }
        }
    }
    Ok(stats)
}

/// The captured bytes of a record: its data without block padding.
fn clip(data: &[u8], caplen: u32) -> &[u8] {
    &data[..data.len().min(caplen as usize)]
}

fn to_nanos(units: u64, resolution: u64, offset_s: i64) -> i64 {
    let seconds = units / resolution;
    let fraction = units % resolution;
    let fraction_ns = (u128::from(fraction) * 1_000_000_000 / u128::from(resolution)) as i64;
    (seconds as i64)
        .saturating_add(offset_s)
        .saturating_mul(1_000_000_000)
        .saturating_add(fraction_ns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{ethernet_tcp, write_pcap, TimedFrame};

    fn capture(count: usize) -> Vec<u8> {
        let frames: Vec<TimedFrame> = (0..count)
            .map(|i| TimedFrame {
                timestamp_ns: 1_700_000_000_000_000_000 + i as i64 * 1_000_000,
                frame: ethernet_tcp([10, 0, 0, 1], [10, 0, 0, 2], 1000 + i as u16, 80, 2),
            })
            .collect();
        let mut bytes = Vec::new();
        write_pcap(&mut bytes, &frames).unwrap();
        bytes
    }

    #[test]
    fn every_frame_of_a_pcap_is_read_with_its_time() {
        let bytes = capture(1000);
        let mut times = Vec::new();
        let stats = read_capture(&bytes[..], |frame| times.push(frame.timestamp_ns)).unwrap();
        assert_eq!(stats.frames, 1000);
        assert_eq!(times[0], 1_700_000_000_000_000_000);
        assert_eq!(times[999], 1_700_000_000_000_000_000 + 999 * 1_000_000);
        assert!(!stats.truncated_file && !stats.corrupt_block);
    }

    #[test]
    fn a_capture_cut_mid_record_keeps_what_came_before() {
        let bytes = capture(100);
        let cut = &bytes[..bytes.len() - 30];
        let stats = read_capture(cut, |_| {}).unwrap();
        assert_eq!(stats.frames, 99);
        assert!(stats.truncated_file);
    }

    #[test]
    fn text_is_not_a_capture() {
        let error = read_capture(&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], |_| {}).unwrap_err();
        assert!(matches!(error, CaptureError::NotACapture), "{error}");
        assert!(matches!(
            read_capture(&b""[..], |_| {}).unwrap_err(),
            CaptureError::Empty
        ));
    }

    #[test]
    fn nanosecond_timestamps_convert_exactly() {
        assert_eq!(
            to_nanos(1_500_000_000_123_456_789, 1_000_000_000, 0),
            1_500_000_000_123_456_789
        );
        assert_eq!(
            to_nanos(1_500_000_000_123_456, 1_000_000, 0),
            1_500_000_000_123_456_000
        );
        assert_eq!(to_nanos(10, 1, 5), 15_000_000_000);
    }
}
