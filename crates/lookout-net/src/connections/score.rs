//! Scoring connection records with a trained model, and the `connection_attack` event
//! of a record scored as an attack.
//!
//! The same code serves `lookout pcap FILE --model NAME` and the live `packet_capture`
//! source with `model = "NAME"`. The event's entity is the originator and the
//! responder (`source`, `destination` = `address:port`) with the source's labels; its
//! evidence holds the record as the CSV line `lookout score traffic` reads, its
//! protocol, service and flag, the model's name, and the byte and window counts.
//! Cost: one encoding and one model score per record (a forest: its trees' depth; k-NN:
//! a scan of its reference rows), no allocation beyond the event.

use std::sync::Arc;

use lookout_model::{Domain, Event, Labels, Severity};
use lookout_traffic_model::TrafficModel;

use super::ConnectionEnd;

/// A model ready to score records.
pub struct ConnectionScorer {
    name: String,
    model: Arc<TrafficModel>,
    row: Vec<f32>,
}

impl ConnectionScorer {
    /// `name` is the model's stored name, reported in events.
    pub fn new(name: impl Into<String>, model: Arc<TrafficModel>) -> ConnectionScorer {
        let row = vec![0.0; model.encoder.width()];
        ConnectionScorer {
            name: name.into(),
            model,
            row,
        }
    }

    /// The attack score in 0..1 of a record, and whether it is at or above the model's
    /// threshold.
    pub fn score(&mut self, end: &ConnectionEnd) -> (bool, f64) {
        self.model.encoder.encode_into(&end.record, &mut self.row);
        let score = self.model.score_encoded(&self.row);
        (score >= self.model.threshold, score)
    }

    /// The `connection_attack` event of a record scored `score`.
    pub fn event(&self, end: &ConnectionEnd, score: f64, labels: &Labels) -> Event {
        let record = &end.record;
        let source = endpoint(end.originator, end.originator_port, &record.protocol);
        let destination = endpoint(end.responder, end.responder_port, &record.protocol);
        let mut event = Event::new(
            end.end_ns.div_euclid(1_000_000),
            "connection_attack",
            Domain::Traffic,
            Severity::Warning,
        )
        .with_entity("source", source.clone())
        .with_entity("destination", destination.clone())
        .with_score(score)
        .with_summary(format!(
            "{} {} connection {source} → {destination} ({}) scored {score:.2} as an attack by model {}",
            record.protocol, record.flag, record.service, self.name
        ))
        .with_field("model", self.name.clone())
        .with_field("protocol", record.protocol.clone())
        .with_field("service", record.service.clone())
        .with_field("flag", record.flag.clone())
        .with_field("record", record.to_csv());
        for (name, index) in [
            ("src_bytes", 1),
            ("dst_bytes", 2),
            ("count", 19),
            ("srv_count", 20),
            ("dst_host_count", 28),
        ] {
            event = event.with_count(name, record.numeric[index] as u64);
        }
        event.evidence.first_ms = Some(end.start_ns.div_euclid(1_000_000));
        event.evidence.last_ms = Some(end.end_ns.div_euclid(1_000_000));
        for (key, value) in labels {
            event
                .entity
                .entry(key.clone())
                .or_insert_with(|| value.clone());
        }
        event
    }
}

fn endpoint(address: std::net::IpAddr, port: u16, protocol: &str) -> String {
    match (address, protocol) {
        (_, "icmp") => address.to_string(),
        (std::net::IpAddr::V6(v6), _) => format!("[{v6}]:{port}"),
        (v4, _) => format!("{v4}:{port}"),
    }
}
