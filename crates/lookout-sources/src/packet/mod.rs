//! The `packet_capture` source: live capture on one interface, analysed into
//! per-second traffic series and flood events by `lookout_net::Analyzer`, the same code
//! `lookout pcap FILE` runs on a capture file.
//!
//! Capture runs on a thread of its own, off the async runtime, which both takes the
//! frames and analyses them ([`capture`]): by default from an `AF_PACKET` `TPACKET_V3`
//! memory-mapped ring ([`ring`], `ring_size` bytes, 32 MiB by default, packet time from
//! the kernel), or with `capture = "socket"` a receive per frame on a plain socket
//! ([`socket`], packet time taken at receipt). Both take an optional BPF filter compiled
//! by the system's libpcap ([`bpf`]), and both cut frames to `snaplen` in the kernel.
//! The ring is the default because it costs less per frame (no system call, no copy;
//! `bench/capture.sh` measures both side by side on a veth under an hping3 flood); the
//! socket stays selectable because it is that benchmark's baseline, holds no memory
//! while the link is idle, and is a way out on a kernel that refuses the ring's
//! mapping (a locked-down container) — 150 lines sharing the ring's setup.
//!
//! Each second closes when a packet of the next arrives or, on a quiet link, 200 ms
//! after its end; its samples and events go out as one batch ([`outbox`]: a batch the
//! pipeline cannot take now waits, up to 60 seconds of them, so the capture never
//! blocks and a busy pipeline loses nothing). Besides the traffic series the source
//! reports its own health: `net_capture_kernel_drops_per_second` (frames the kernel
//! dropped because the capture fell behind: the ring or socket buffer was full) and
//! `net_capture_dropped_batches_total` (seconds dropped because the pipeline stayed
//! full for a minute: the source's own drops), with their totals on `/metrics`
//! (`lookout_packet_capture_frames_total{outcome="captured"|"kernel_dropped"}`,
//! `lookout_packet_capture_batches_total{outcome="delivered"|"dropped"}`).
//! On loopback every frame is seen twice (out and in); the outgoing copy is skipped.
//! Misses: VLAN tags the driver strips (both paths see the untagged frame), frames
//! the kernel dropped (counted, not analysed).
//!
//! With `model = "NAME"` the source also derives the capture's NSL-KDD connection
//! records (`lookout_net::connections`) and scores them with that trained traffic model
//! (loaded at start from the data directory; an unknown name is a build error naming
//! it). At each closed second up to [`SCORED_PER_SECOND`] records are scored and those
//! scored `attack` become `connection_attack` events in the second's batch, beside the
//! flood events, at most [`ATTACK_EVENTS_PER_SECOND`] of them; the series
//! `net_connection_records_per_second{outcome="scored"|"attack"|"unscored"}` counts them
//! all (`unscored`: over the budget or lost to a full record queue), so a flood of
//! connections costs a bounded share of the capture thread and of the pipeline.
//!
//! Cost: one decode per frame, then the feature updates of `lookout_net::features`;
//! with the ring one `poll` per block at most (none while blocks are waiting), with the
//! socket one system call and copy per frame. Memory fixed: the ring (`ring_size`) or
//! the socket's 32 MiB receive buffer (filled only while the capture is behind), about
//! 200 KiB of features, the batch backlog; the connection table and windows add some
//! tens of MiB when a model is set. Needs root or `CAP_NET_RAW`.

pub mod bpf;
pub mod capture;
mod outbox;
pub mod ring;
pub mod socket;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use lookout_config::PacketCaptureConfig;
use lookout_model::{Event, Labels, Sample, SeriesKey};
use lookout_net::{
    Analyzer, ConnectionConfig, ConnectionScorer, FeatureConfig, FloodConfig, Frame, SecondOutput,
};
use tokio::sync::mpsc;

use crate::registry::BuildContext;
use crate::{Delivery, Shutdown, Source, SourceBatch};
use capture::{Capture, CaptureTotals};
use outbox::Outbox;

/// A quiet second closes this long after its end.
const QUIET_GRACE_NS: i64 = 200_000_000;
/// Connection records scored per second at most.
pub const SCORED_PER_SECOND: usize = 20_000;
/// `connection_attack` events published per second at most.
pub const ATTACK_EVENTS_PER_SECOND: usize = 100;

/// The packet capture source; see the module documentation.
pub struct PacketCaptureSource {
    name: String,
    config: PacketCaptureConfig,
    scorer: Option<ConnectionScorer>,
}

impl crate::registry::BuildSource for PacketCaptureConfig {
    fn build_source(&self, index: usize) -> Result<(Box<dyn Source>, Delivery), String> {
        if let Some(model) = &self.model {
            return Err(format!(
                "model {model:?} needs the data directory to be loaded from"
            ));
        }
        self.build_source_in(
            index,
            &BuildContext {
                data_dir: std::path::Path::new(""),
                objects: None,
            },
        )
    }

    fn build_source_in(
        &self,
        index: usize,
        context: &BuildContext<'_>,
    ) -> Result<(Box<dyn Source>, Delivery), String> {
        flood_config(self)?;
        let scorer = match &self.model {
            None => None,
            Some(name) => {
                let objects = context.objects.ok_or_else(|| {
                    format!("model {name:?}: no object store to read trained models from")
                })?;
                let (_, model) = lookout_traffic_model::store::load(objects, name, None)
                    .map_err(|error| format!("model {name:?}: {error}"))?;
                Some(ConnectionScorer::new(name.clone(), Arc::new(model)))
            }
        };
        Ok((
            Box::new(PacketCaptureSource {
                name: format!("packet_capture#{index}"),
                config: self.clone(),
                scorer,
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
                .spawn(move || capture(self.name, self.config, self.scorer, batches, shutdown));
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
    mut scorer: Option<ConnectionScorer>,
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
            receipt: None,
        });
    };
    let link = socket::link_type(&config.interface);
    let floods = match flood_config(&config) {
        Ok(floods) => floods,
        Err(error) => return report(error),
    };
    let mut capture = match Capture::open(&config, link) {
        Ok(capture) => capture,
        Err(error) => return report(error),
    };
    let mut labels = config.labels.clone();
    labels.insert("interface".into(), config.interface.clone());
    let mut analyzer = Analyzer::new(FeatureConfig::default(), floods, labels.clone());
    if scorer.is_some() {
        analyzer = analyzer.with_connections(ConnectionConfig::default());
    }
    let mut lost_records = 0;
    let loopback = config.interface == "lo";
    let mut outbox = Outbox::new(&name);
    let mut totals = CaptureTotals::default();
    let mut closed = Vec::new();
    tracing::info!(source = %name, interface = %config.interface, method = ?config.capture,
        "packet capture started");
    while !shutdown.is_triggered() && !batches.is_closed() {
        let received = capture.receive(&mut |frame| {
            if loopback && frame.outgoing {
                return;
            }
            let frame = Frame {
                timestamp_ns: frame.timestamp_ns.unwrap_or_else(now_ns),
                link,
                data: frame.data,
                wire_len: frame.wire_len,
            };
            closed.extend(analyzer.frame(&frame));
        });
        let count = match received {
            Ok(count) => count,
            Err(error) => return report(format!("receiving on {}: {error}", config.interface)),
        };
        totals.captured += count;
        // Only a capture that has caught up closes seconds by the clock: frames still
        // waiting in the ring may belong to the open second.
        if count == 0 {
            closed.extend(analyzer.tick(now_ns(), QUIET_GRACE_NS));
        }
        let closed_now = !closed.is_empty();
        for output in closed.drain(..) {
            let kernel_drops = capture.kernel_drops().ok();
            totals.kernel_dropped += kernel_drops.unwrap_or(0);
            let health = health_samples(&output, &labels, kernel_drops, outbox.dropped);
            let mut samples = output.samples;
            samples.extend(health);
            let mut events = output.events;
            if let Some(scorer) = scorer.as_mut() {
                let timestamp_ms = output.features.second * 1000;
                let (scored, attack_events) = score_records(
                    &mut analyzer,
                    scorer,
                    &labels,
                    timestamp_ms,
                    &mut lost_records,
                );
                samples.extend(scored);
                events.extend(attack_events);
            }
            outbox.push(SourceBatch {
                source: name.clone(),
                samples,
                events,
                errors: Vec::new(),
                read_offsets: Vec::new(),
                receipt: None,
            });
        }
        outbox.flush(&batches);
        if closed_now {
            outbox.publish(&totals, capture.ring_stats());
        }
    }
}

fn health_samples(
    output: &SecondOutput,
    labels: &lookout_model::Labels,
    kernel_drops: Option<u64>,
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
    if let Some(drops) = kernel_drops {
        samples.push(sample("net_capture_kernel_drops_per_second", drops as f64));
    }
    samples
}

/// Scores the records made since the last second, within the budgets; returns the
/// `net_connection_records_per_second` samples and the `connection_attack` events.
fn score_records(
    analyzer: &mut Analyzer,
    scorer: &mut ConnectionScorer,
    labels: &Labels,
    timestamp_ms: i64,
    lost_before: &mut u64,
) -> (Vec<Sample>, Vec<Event>) {
    let Some(connections) = analyzer.connections() else {
        return (Vec::new(), Vec::new());
    };
    let lost = connections.stats().dropped;
    let (mut scored, mut attacks, mut unscored) = (0u64, 0u64, lost - *lost_before);
    *lost_before = lost;
    let mut events = Vec::new();
    for end in connections.drain() {
        if scored as usize >= SCORED_PER_SECOND {
            unscored += 1;
            continue;
        }
        scored += 1;
        let (attack, score) = scorer.score(&end);
        if attack {
            attacks += 1;
            if events.len() < ATTACK_EVENTS_PER_SECOND {
                events.push(scorer.event(&end, score, labels));
            }
        }
    }
    let samples = [
        ("scored", scored),
        ("attack", attacks),
        ("unscored", unscored),
    ]
    .into_iter()
    .map(|(outcome, count)| {
        let mut labels = labels.clone();
        labels.insert("outcome".into(), outcome.into());
        Sample {
            key: SeriesKey {
                name: "net_connection_records_per_second".into(),
                labels,
            },
            timestamp_ms,
            value: count as f64,
        }
    })
    .collect();
    (samples, events)
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
            capture: Default::default(),
            ring_size: lookout_config::DEFAULT_RING_SIZE,
            ceilings: [("syn_flood".to_string(), 123)].into_iter().collect(),
            model: None,
            labels: Default::default(),
        };
        let floods = flood_config(&config).unwrap();
        let syn = floods.rules.iter().find(|r| r.kind == "syn_flood").unwrap();
        assert_eq!(syn.ceiling_pps, 123);
    }

    #[test]
    fn an_unknown_model_is_a_build_error_naming_it() {
        use crate::registry::BuildSource;
        let dir = tempfile::tempdir().unwrap();
        let config = PacketCaptureConfig {
            interface: "eth0".into(),
            filter: None,
            snaplen: 256,
            promiscuous: false,
            capture: Default::default(),
            ring_size: lookout_config::DEFAULT_RING_SIZE,
            ceilings: Default::default(),
            model: Some("kdd-missing".into()),
            labels: Default::default(),
        };
        let objects = lookout_objstore::DirStore::new(dir.path().join("objects"));
        let context = BuildContext {
            data_dir: dir.path(),
            objects: Some(&objects),
        };
        let error = match config.build_source_in(3, &context) {
            Err(error) => error,
            Ok(_) => panic!("built with a missing model"),
        };
        assert!(
            error.contains("no traffic model \"kdd-missing\""),
            "{error}"
        );
        assert!(error.contains("lookout train traffic"), "{error}");
    }
}
