//! The one path from frames to series and events, for files and live capture alike.
//!
//! [`Analyzer::frame`] decodes a frame, closes the previous second when the frame's
//! time has moved past it (time comes from the packets), and adds the packet; each
//! closed second yields its samples and the events it raises. [`Analyzer::tick`] closes
//! a second on the wall clock when no packet arrives (live capture on a quiet link), and
//! [`Analyzer::finish`] closes the last one at the end of a file.
//!
//! Packets older than the open second (reordered by a multi-queue capture) are counted
//! into it rather than reopening a closed second. Frames that do not decode are counted
//! by reason in [`AnalyzerStats`].

use std::collections::BTreeMap;

use lookout_model::{Event, Labels, Sample};

use crate::capture::Frame;
use crate::connections::{ConnectionConfig, Connections};
use crate::decode::{decode, DecodeError, PacketSummary};
use crate::features::{FeatureConfig, Features, TrafficSecond};
use crate::floods::{FloodConfig, FloodDetector};
use crate::series;

/// Heavy hitters reported per second (in events and the `pcap` output).
const TOP: usize = 10;

/// What an analyzer has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyzerStats {
    pub frames: u64,
    pub packets: u64,
    /// Frames not decoded, by reason (`truncated`, `not_ip`, `malformed`).
    pub undecoded: BTreeMap<&'static str, u64>,
    pub seconds: u64,
    pub events: u64,
    /// Capture time (unix ns) of the last frame, decoded or not.
    pub last_frame_ns: i64,
}

/// A closed second: its features, samples and events.
#[derive(Debug, Clone)]
pub struct SecondOutput {
    pub features: TrafficSecond,
    pub samples: Vec<Sample>,
    pub events: Vec<Event>,
}

/// Frames in, seconds out; see the module documentation.
pub struct Analyzer {
    features: Features,
    floods: FloodDetector,
    labels: Labels,
    stats: AnalyzerStats,
    /// Connection records, when asked for ([`Analyzer::with_connections`]).
    connections: Option<Connections>,
}

impl Analyzer {
    /// `labels` are added to every series and event entity (e.g. `interface="eth0"`).
    pub fn new(features: FeatureConfig, floods: FloodConfig, labels: Labels) -> Analyzer {
        Analyzer {
            features: Features::new(features),
            floods: FloodDetector::new(floods),
            labels,
            stats: AnalyzerStats::default(),
            connections: None,
        }
    }

    /// Also derives connection records; take them with [`Analyzer::connections`].
    pub fn with_connections(mut self, config: ConnectionConfig) -> Analyzer {
        self.connections = Some(Connections::new(config));
        self
    }

    /// The connection table, when records are derived.
    pub fn connections(&mut self) -> Option<&mut Connections> {
        self.connections.as_mut()
    }

    /// Adds a frame; returns the second it closed, if any.
    pub fn frame(&mut self, frame: &Frame<'_>) -> Option<SecondOutput> {
        let packet = decode(frame.link, frame.data, frame.wire_len);
        self.packet(frame.timestamp_ns, packet)
    }

    /// Adds a frame already decoded (by another thread: see [`crate::pipeline`]) with
    /// its capture time (unix ns); the same as [`Analyzer::frame`] on that frame.
    pub fn packet(
        &mut self,
        timestamp_ns: i64,
        decoded: Result<PacketSummary, DecodeError>,
    ) -> Option<SecondOutput> {
        self.stats.frames += 1;
        self.stats.last_frame_ns = timestamp_ns;
        let packet = match decoded {
            Ok(packet) => packet,
            Err(error) => {
                *self.stats.undecoded.entry(error.reason()).or_default() += 1;
                return None;
            }
        };
        self.stats.packets += 1;
        if let Some(connections) = self.connections.as_mut() {
            connections.observe(&packet, timestamp_ns);
        }
        let second = timestamp_ns.div_euclid(1_000_000_000);
        let closed = match self.features.current_second() {
            Some(open) if second > open => self.close(),
            _ => None,
        };
        let open = self.features.current_second().unwrap_or(second);
        self.features.add(&packet, open);
        closed
    }

    /// Closes the open second if the clock (unix ns) has passed its end by `grace_ns`.
    pub fn tick(&mut self, now_ns: i64, grace_ns: i64) -> Option<SecondOutput> {
        if let Some(connections) = self.connections.as_mut() {
            connections.tick(now_ns);
        }
        let open = self.features.current_second()?;
        if now_ns >= (open + 1) * 1_000_000_000 + grace_ns {
            return self.close();
        }
        None
    }

    /// Closes the last second (end of a file, shutdown).
    pub fn finish(&mut self) -> Option<SecondOutput> {
        self.close()
    }

    pub fn stats(&self) -> &AnalyzerStats {
        &self.stats
    }

    fn close(&mut self) -> Option<SecondOutput> {
        let features = self.features.close(TOP)?;
        let samples = series::samples(&features, &self.labels);
        let mut events = self.floods.observe(&features);
        for event in &mut events {
            for (key, value) in &self.labels {
                event
                    .entity
                    .entry(key.clone())
                    .or_insert_with(|| value.clone());
            }
        }
        self.stats.seconds += 1;
        self.stats.events += events.len() as u64;
        Some(SecondOutput {
            features,
            samples,
            events,
        })
    }
}
