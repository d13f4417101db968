//! A capture file analysed on two threads: one reads and decodes frames, the other
//! runs the [`Analyzer`]; the same seconds and events, in the same order, as feeding
//! [`Analyzer::frame`] frame by frame.
//!
//! The reader hands over batches of decoded packets through a bounded channel (at most
//! [`BATCHES`] batches of [`BATCH`] packets in flight, about 1 MiB) and gets the emptied
//! batches back, so nothing is allocated per packet or per batch once both are going.
//! What it gains: decoding and the file's parsing run beside the sketch updates, about
//! twice the packets per second of one thread on an idle two-core machine. What it
//! costs: a second thread while the file is read, and no gain on a single core.

use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use crate::analyzer::{Analyzer, SecondOutput};
use crate::capture::{read_capture, CaptureError, CaptureStats};
use crate::decode::{decode, DecodeError, PacketSummary};

/// Packets per batch.
pub const BATCH: usize = 4096;
/// Batches in flight between the threads.
pub const BATCHES: usize = 4;

type Decoded = (i64, Result<PacketSummary, DecodeError>);

/// Reads `input` on a second thread, decoding as it goes, and feeds `analyzer` here,
/// calling `after_packet` after each packet with the analyzer and the second that packet
/// closed, if any (the last one is left open: call [`Analyzer::finish`]); the analyzer is
/// passed so the caller can take what else it derived (its connection records).
pub fn analyze_capture<R, F>(
    input: R,
    analyzer: &mut Analyzer,
    mut after_packet: F,
) -> Result<CaptureStats, CaptureError>
where
    R: Read + Send,
    F: FnMut(&mut Analyzer, Option<SecondOutput>),
{
    let (full_tx, full_rx) = sync_channel::<Vec<Decoded>>(BATCHES);
    let (empty_tx, empty_rx) = sync_channel::<Vec<Decoded>>(BATCHES + 1);
    for _ in 0..BATCHES + 1 {
        empty_tx
            .send(Vec::with_capacity(BATCH))
            .expect("the receiver is here");
    }
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || read_batches(input, full_tx, empty_rx));
        for mut batch in full_rx.iter() {
            for (timestamp_ns, packet) in batch.drain(..) {
                let closed = analyzer.packet(timestamp_ns, packet);
                after_packet(analyzer, closed);
            }
            // The reader may have finished: then the batch is simply dropped.
            let _ = empty_tx.send(batch);
        }
        reader.join().expect("the capture reader does not panic")
    })
}

fn read_batches<R: Read + Send>(
    input: R,
    full: SyncSender<Vec<Decoded>>,
    empty: Receiver<Vec<Decoded>>,
) -> Result<CaptureStats, CaptureError> {
    let mut batch = empty.recv().expect("batches are handed out before reading");
    let stats = read_capture(input, |frame| {
        batch.push((
            frame.timestamp_ns,
            decode(frame.link, frame.data, frame.wire_len),
        ));
        if batch.len() == BATCH {
            let next = empty.recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
            let _ = full.send(std::mem::replace(&mut batch, next));
        }
    });
    if !batch.is_empty() {
        let _ = full.send(batch);
    }
    stats
}
