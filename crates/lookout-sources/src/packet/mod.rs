//! The `packet_capture` source: live capture on one interface, analysed into
//! per-second traffic series and flood events by `lookout_net::Analyzer`, the same code
//! `lookout pcap FILE` runs on a capture file.
//!
//! Capture runs on a thread of its own, off the async runtime: an `AF_PACKET` socket
//! ([`socket`]) with an optional BPF filter compiled by the system's libpcap ([`bpf`]),
//! one receive per frame, packet time taken at receipt. Each second closes when a packet
//! of the next arrives or, on a quiet link, 200 ms after its end; its samples and events
//! go out as one batch. Besides the traffic series the source reports its own health:
//! `net_capture_kernel_drops_per_second` (frames the kernel dropped because the
//! capture fell behind) and `net_capture_dropped_batches_total` (seconds this source
//! could not hand over because ingestion was full: counted, never blocking the capture).
//! On loopback every frame is seen twice (out and in); the outgoing copy is skipped.
//!
//! Cost: one system call and one decode per frame, then the feature updates of
//! `lookout_net::features`; memory fixed (about 200 KiB plus the snapshot buffer).
//! Needs root or `CAP_NET_RAW`.

pub mod bpf;
pub mod socket;

use std::future::Future;
use std::pin::Pin;
use std::time::{SystemTime, UNIX_EPOCH};

use lookout_config::PacketCaptureConfig;
use lookout_model::{Sample, SeriesKey};
use lookout_net::{Analyzer, FeatureConfig, FloodConfig, Frame, SecondOutput};
use tokio::sync::mpsc;

use crate::{Delivery, Shutdown, Source, SourceBatch};
use socket::PacketSocket;

/// A quiet second closes this long after its end.
const QUIET_GRACE_NS: i64 = 200_000_000;

/// The packet capture source; see the module documentation.
pub struct PacketCaptureSource {
    name: String,
    config: PacketCaptureConfig,
}

impl crate::registry::BuildSource for PacketCaptureConfig {
    fn build_source(&self, index: usize) -> Result<(Box<dyn Source>, Delivery), String> {
        flood_config(self)?;
        Ok((
            Box::new(PacketCaptureSource {
                name: format!("packet_capture#{index}"),
                config: self.clone(),
            }),
            Delivery::Live,
        ))
    }
}

/// The flood thresholds: the defaults with the configured ceilings over them.
pub fn flood_config(config: &PacketCaptureConfig) -> Result<FloodConfig, String> {
    let mut floods = FloodConfig::default();
    for (kind, pps) in &config.ceilings {
        let rule = floods
            .rules
            .iter_mut()
            .find(|rule| rule.kind == kind)
            .ok_or_else(|| format!("no flood rule for attack kind {kind:?}"))?;
        rule.ceiling_pps = *pps;
    }
    Ok(floods)
}

impl Source for PacketCaptureSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn run(
        self: Box<Self>,
        batches: mpsc::Sender<SourceBatch>,
        shutdown: Shutdown,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let name = self.name.clone();
            let worker = std::thread::Builder::new()
                .name(format!("lookout-{name}"))
                .spawn(move || capture(self.name, self.config, batches, shutdown));
            match worker {
                Ok(handle) => {
                    let _ = tokio::task::spawn_blocking(move || handle.join()).await;
                }
                Err(error) => {
                    tracing::error!(source = %name, %error, "could not start the capture thread")
                }
            }
        })
    }
}

fn capture(
    name: String,
    config: PacketCaptureConfig,
    batches: mpsc::Sender<SourceBatch>,
    shutdown: Shutdown,
) {
    let report = |error: String| {
        tracing::error!(source = %name, %error, "packet capture stopped");
        let _ = batches.blocking_send(SourceBatch {
            source: name.clone(),
            samples: Vec::new(),
            events: Vec::new(),
            errors: vec![error],
            read_offsets: Vec::new(),
        });
    };
    let link = socket::link_type(&config.interface);
    let socket = match open(&config, link) {
        Ok(socket) => socket,
        Err(error) => return report(error),
    };
    let floods = match flood_config(&config) {
        Ok(floods) => floods,
        Err(error) => return report(error),
    };
    let mut labels = config.labels.clone();
    labels.insert("interface".into(), config.interface.clone());
    let mut analyzer = Analyzer::new(FeatureConfig::default(), floods, labels.clone());
    let mut buffer = vec![0u8; config.snaplen as usize];
    let loopback = config.interface == "lo";
    let mut dropped_batches = 0u64;
    tracing::info!(source = %name, interface = %config.interface, "packet capture started");
    while !shutdown.is_triggered() && !batches.is_closed() {
        let received = match socket.receive(&mut buffer) {
            Ok(received) => received,
            Err(error) => return report(format!("receiving on {}: {error}", config.interface)),
        };
        let now_ns = now_ns();
        let mut closed = None;
        if let Some(received) = received {
            if !(loopback && received.outgoing) {
                let frame = Frame {
                    timestamp_ns: now_ns,
                    link,
                    data: &buffer[..received.captured],
                    wire_len: received.wire_len as u32,
                };
                closed = analyzer.frame(&frame);
            }
        }
        if closed.is_none() {
            closed = analyzer.tick(now_ns, QUIET_GRACE_NS);
        }
        if let Some(output) = closed {
            let health = health_samples(&socket, &output, &labels, dropped_batches);
            let mut samples = output.samples;
            samples.extend(health);
            let batch = SourceBatch {
                source: name.clone(),
                samples,
                events: output.events,
                errors: Vec::new(),
                read_offsets: Vec::new(),
            };
            if let Err(mpsc::error::TrySendError::Full(_)) = batches.try_send(batch) {
                dropped_batches += 1;
            }
        }
    }
}

fn open(
    config: &PacketCaptureConfig,
    link: lookout_net::decode::LinkType,
) -> Result<PacketSocket, String> {
    let socket = PacketSocket::open(&config.interface, config.promiscuous)
        .map_err(|error| format!("capture on {}: {error}", config.interface))?;
    if let Some(filter) = &config.filter {
        let program = bpf::compile(filter, link, config.snaplen)?;
        socket
            .attach_filter(&program)
            .map_err(|error| format!("attaching filter {filter:?}: {error}"))?;
    }
    Ok(socket)
}

fn health_samples(
    socket: &PacketSocket,
    output: &SecondOutput,
    labels: &lookout_model::Labels,
    dropped_batches: u64,
) -> Vec<Sample> {
    let timestamp_ms = output.features.second * 1000;
    let sample = |name: &str, value: f64| Sample {
        key: SeriesKey {
            name: name.to_string(),
            labels: labels.clone(),
        },
        timestamp_ms,
        value,
    };
    let mut samples = vec![sample(
        "net_capture_dropped_batches_total",
        dropped_batches as f64,
    )];
    if let Ok((_, drops)) = socket.statistics() {
        samples.push(sample("net_capture_kernel_drops_per_second", drops as f64));
    }
    samples
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_configurable_ceiling_names_a_flood_rule_and_every_rule_is_configurable() {
        let rules: Vec<&str> = FloodConfig::default()
            .rules
            .iter()
            .map(|r| r.kind)
            .collect();
        assert_eq!(rules, lookout_config::FLOOD_KINDS);
    }

    #[test]
    fn a_configured_ceiling_replaces_the_default() {
        let config = PacketCaptureConfig {
            interface: "eth0".into(),
            filter: None,
            snaplen: 256,
            promiscuous: false,
            ceilings: [("syn_flood".to_string(), 123)].into_iter().collect(),
            labels: Default::default(),
        };
        let floods = flood_config(&config).unwrap();
        let syn = floods.rules.iter().find(|r| r.kind == "syn_flood").unwrap();
        assert_eq!(syn.ceiling_pps, 123);
    }
}
