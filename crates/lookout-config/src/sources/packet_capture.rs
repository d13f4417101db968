//! `[[source]] type = "packet_capture"`: live capture on a network interface, turned
//! into per-second traffic series and flood events (`lookout-net`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::SourceType;
use crate::raw::{Field, StringMap};
use crate::validate::Checker;
use crate::values::parse_byte_size;

/// The attack kinds whose hard ceilings (packets per second to one victim) can be set.
pub const FLOOD_KINDS: &[&str] = &[
    "syn_flood",
    "syn_ack_reflection",
    "fin_flood",
    "rst_flood",
    "push_ack_flood",
    "udp_flood",
    "udp_amplification",
    "icmp_flood",
    "fragment_flood",
];

pub const DEFAULT_SNAPLEN: u64 = 256;
/// The default size of the memory-mapped receive ring (`ring_size`).
pub const DEFAULT_RING_SIZE: u64 = 32 << 20;
/// The ring is made of blocks of this size; `ring_size` is a whole number of them.
pub const RING_BLOCK_SIZE: u64 = 1 << 20;
const MAX_RING_SIZE: u64 = 1 << 30;

/// How frames come in (`capture`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaptureMethod {
    /// A `TPACKET_V3` memory-mapped receive ring of `ring_size` bytes: no system call
    /// or copy per frame.
    #[default]
    Ring,
    /// A receive system call per frame on a plain `AF_PACKET` socket.
    Socket,
}

impl CaptureMethod {
    pub const NAMES: &'static [&'static str] = &["ring", "socket"];
}

/// The `packet_capture` source type, for the registration list.
pub(crate) struct PacketCapture;

impl SourceType for PacketCapture {
    type Raw = RawPacketCaptureSource;
    type Config = PacketCaptureConfig;

    fn validate(
        raw: &RawPacketCaptureSource,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> PacketCaptureConfig {
        validate_packet_capture(checker, context, line, raw)
    }

    fn interval(_config: &PacketCaptureConfig) -> Duration {
        Duration::from_secs(1)
    }
}

/// `[[source]] type = "packet_capture"`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPacketCaptureSource {
    #[serde(rename = "type")]
    pub kind: Field<String>,
    pub interface: Field<String>,
    pub filter: Field<String>,
    pub snaplen: Field<i64>,
    pub promiscuous: Field<bool>,
    pub capture: Field<String>,
    pub ring_size: Field<toml::Value>,
    pub ceilings: Field<toml::Value>,
    pub model: Field<String>,
    pub labels: Field<StringMap>,
}

/// `[[source]] type = "packet_capture"`: what to capture and how floods are judged.
#[derive(Debug, Clone, PartialEq)]
pub struct PacketCaptureConfig {
    /// The interface to capture on (`eth0`, `ens5`, `any` for all).
    pub interface: String,
    /// A BPF filter in tcpdump's syntax, compiled by the system's libpcap at start.
    pub filter: Option<String>,
    /// Bytes kept of each packet (headers are all the features need).
    pub snaplen: u32,
    pub promiscuous: bool,
    /// How frames come in: the memory-mapped ring (default) or a receive per frame.
    pub capture: CaptureMethod,
    /// Bytes of the ring (`capture = "ring"`), a whole number of [`RING_BLOCK_SIZE`].
    pub ring_size: u64,
    /// Hard ceilings by attack kind (packets per second to one victim), over the defaults.
    pub ceilings: BTreeMap<String, u64>,
    /// A traffic model (`lookout train traffic --name NAME`) scoring the connection
    /// records the capture derives; those scored `attack` become `connection_attack`
    /// events. Loaded when the source starts; an unknown name stops the start.
    pub model: Option<String>,
    /// Extra labels on every series and event of this source.
    pub labels: BTreeMap<String, String>,
}

fn validate_packet_capture(
    checker: &mut Checker<'_, '_, '_>,
    context: &str,
    line: usize,
    raw: &RawPacketCaptureSource,
) -> PacketCaptureConfig {
    let interface = match &raw.interface {
        None => {
            checker.report_line(
                crate::ErrorKind::MissingKey,
                line,
                context,
                Some("interface"),
                "missing required key (e.g. interface = \"eth0\")".to_string(),
            );
            String::new()
        }
        Some(_) => checker.value(
            context,
            "interface",
            &raw.interface,
            String::new(),
            |name| {
                if name.is_empty() || name.len() > 15 || name.contains(['/', ' ']) {
                    Err(format!(
                        "{name:?} is not an interface name (1 to 15 characters, no '/' or space)"
                    ))
                } else {
                    Ok(name.clone())
                }
            },
        ),
    };
    PacketCaptureConfig {
        interface,
        filter: checker.optional_string(context, "filter", &raw.filter),
        snaplen: checker.integer_in(
            context,
            "snaplen",
            &raw.snaplen,
            DEFAULT_SNAPLEN,
            64,
            65_535,
        ) as u32,
        promiscuous: raw.promiscuous.as_ref().is_some_and(|v| *v.get_ref()),
        capture: checker.value(
            context,
            "capture",
            &raw.capture,
            CaptureMethod::default(),
            |name| match name.as_str() {
                "ring" => Ok(CaptureMethod::Ring),
                "socket" => Ok(CaptureMethod::Socket),
                _ => Err(format!(
                    "unknown capture method {name:?} (known: {})",
                    CaptureMethod::NAMES.join(", ")
                )),
            },
        ),
        ring_size: checker.value(
            context,
            "ring_size",
            &raw.ring_size,
            DEFAULT_RING_SIZE,
            ring_size_of,
        ),
        ceilings: checker.value(
            context,
            "ceilings",
            &raw.ceilings,
            BTreeMap::new(),
            ceilings_of,
        ),
        model: checker.value(context, "model", &raw.model, None, |name| {
            lookout_traffic_model::store::check_name(name)
                .map(|()| Some(name.clone()))
                .map_err(|error| error.to_string())
        }),
        labels: checker.labels(context, "labels", &raw.labels),
    }
}

fn ring_size_of(value: &toml::Value) -> Result<u64, String> {
    let bytes = parse_byte_size(value)?;
    if !(RING_BLOCK_SIZE..=MAX_RING_SIZE).contains(&bytes) {
        return Err(format!("{bytes} bytes is out of range (from 1MiB to 1GiB)"));
    }
    if bytes % RING_BLOCK_SIZE != 0 {
        return Err(format!(
            "{bytes} bytes is not a whole number of MiB (the ring is made of 1MiB blocks)"
        ));
    }
    Ok(bytes)
}

fn ceilings_of(value: &toml::Value) -> Result<BTreeMap<String, u64>, String> {
    let toml::Value::Table(table) = value else {
        return Err(format!("expected a table of packets per second by attack kind (e.g. {{ syn_flood = 50000 }}), found {}", value.type_str()));
    };
    let mut ceilings = BTreeMap::new();
    for (kind, rate) in table {
        if !FLOOD_KINDS.contains(&kind.as_str()) {
            return Err(format!(
                "unknown attack kind {kind:?} (known: {})",
                FLOOD_KINDS.join(", ")
            ));
        }
        match rate.as_integer() {
            Some(pps) if pps >= 1 => {
                ceilings.insert(kind.clone(), pps as u64);
            }
            _ => {
                return Err(format!(
                    "ceiling of {kind} must be a whole number of packets per second, at least 1"
                ))
            }
        }
    }
    Ok(ceilings)
}
